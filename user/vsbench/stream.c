// SPDX-License-Identifier: GPL-2.0
/*
 * vsbench stream: bulk throughput over --threads connections, one thread
 * each.  forward: the client sends for --seconds; backward: the server does.
 * Both ends count: the receiver's count comes back in its REPORT, the
 * sender's in its TRAILER (protocol: vsbench.h), so a lost byte shows up as
 * a difference even without --verify.  The main thread samples the byte
 * counters every --interval for the iperf3-like intervals.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "vsbench.h"

#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY	0x4000000
#endif

struct st_run {
	const struct vsb_opts *o;
	const struct vs_addr *to;
	uint64_t deadline;
	uint64_t origin;
	uint32_t seed;
	pthread_barrier_t ready, go;
	unsigned int finished;
};

struct st_conn {
	struct st_run *run;
	unsigned int idx;
	int fd;
	pthread_t tid;
	uint64_t progress;		/* client-side bytes so far (atomic) */
	struct vsb_stream_conn res;
	uint8_t *pat;
	char what[160];
};

static void io_fail(struct st_conn *c, const char *step, int rc)
{
	if (rc == -ECANCELED)
		return;
	if (rc == VSB_EOF)
		vsb_fail("%s: %s: the server closed the connection", c->what, step);
	else if (rc == -ETIMEDOUT)
		vsb_fail("%s: %s: timeout (--timeout %g s)", c->what, step, c->run->o->timeout);
	else if (c->run->to->family == AF_VSOCK && (rc == -EPIPE || rc == -ECONNRESET))
		/* The usual cause; the server's log has the kernel's reason. */
		vsb_fail("%s: %s: %s (the server closed or reset the connection; a VSOCK receiver is reset with ENOBUFS when small packets overflow its queue)",
			 c->what, step, strerror(-rc));
	else
		vsb_fail("%s: %s: %s%s", c->what, step, strerror(-rc), vsb_errno_hint(-rc));
}

static int send_forward(struct st_conn *c)
{
	const struct vsb_opts *o = c->run->o;
	uint64_t t0 = vsb_now_ns(), end = c->run->origin + (uint64_t)(o->seconds * 1e9);
	int flags = o->zerocopy ? MSG_ZEROCOPY : 0;
	uint8_t tbuf[VSB_TRAILER_LEN], rbuf[VSB_REPORT_LEN];
	struct vsb_trailer tr = { 0 };
	struct vsb_report rep;
	uint64_t n = 0;
	int rc;

	while (vsb_now_ns() < end && !vsb_stop) {
		rc = vsb_send_all(c->fd, c->pat, o->size, flags, c->run->deadline);
		if (rc) {
			io_fail(c, "sending", rc);
			return rc;
		}
		tr.bytes += o->size;
		__atomic_store_n(&c->progress, tr.bytes, __ATOMIC_RELAXED);
		if (flags && !(++n % 16))
			vsb_zc_reap(c->fd);
	}
	if (vsb_stop && vsb_failed())
		return -ECANCELED;
	tr.ns = vsb_now_ns() - t0;
	c->res.sent_bytes = tr.bytes;
	c->res.sent_ns = tr.ns;
	vsb_trailer_encode(&tr, tbuf);
	rc = vsb_send_all(c->fd, tbuf, sizeof(tbuf), 0, c->run->deadline);
	if (!rc && shutdown(c->fd, SHUT_WR))
		rc = -errno;
	if (!rc)
		rc = vsb_recv_all(c->fd, rbuf, sizeof(rbuf), c->run->deadline, NULL);
	if (rc == VSB_EOF) {
		vsb_fail("%s: short transfer: the server closed the connection without reporting what it received",
			 c->what);
		return rc;
	}
	if (rc) {
		io_fail(c, "reading the server's report", rc);
		return rc;
	}
	if (vsb_report_decode(rbuf, &rep)) {
		vsb_fail("%s: the server's report is malformed", c->what);
		return -EPROTO;
	}
	c->res.recv_bytes = rep.bytes;
	c->res.recv_ns = rep.ns;
	if (rep.verify_errors) {
		vsb_fail("%s: verify: the server found %u bad byte(s), first at stream offset %llu",
			 c->what, rep.verify_errors, (unsigned long long)rep.first_bad);
		return -EBADMSG;
	}
	if (rep.bytes != tr.bytes || !(rep.flags & VSB_REPORT_F_TRAILER)) {
		vsb_fail("%s: short transfer: sent %llu bytes, the server received %llu",
			 c->what, (unsigned long long)tr.bytes, (unsigned long long)rep.bytes);
		return -EBADMSG;
	}
	return 0;
}

static int recv_backward(struct st_conn *c)
{
	const struct vsb_opts *o = c->run->o;
	struct vsb_rx rx = {
		.fd = c->fd,
		.pattern = o->verify ? c->pat : NULL,
		.plen = o->size,
		.deadline = c->run->deadline,
		.progress = &c->progress,
	};
	uint8_t rbuf[VSB_REPORT_LEN];
	int rc;

	rc = vsb_rx_stream(&rx);
	if (rc) {
		io_fail(c, "receiving", rc);
		return rc;
	}
	c->res.recv_bytes = rx.rep.bytes;
	c->res.recv_ns = rx.rep.ns;
	c->res.sent_bytes = rx.trailer.bytes;
	c->res.sent_ns = rx.trailer.ns;
	/* Tell the server; it closes after reading this. */
	vsb_report_encode(&rx.rep, rbuf);
	vsb_send_all(c->fd, rbuf, sizeof(rbuf), 0, c->run->deadline);
	if (!(rx.rep.flags & VSB_REPORT_F_TRAILER)) {
		vsb_fail("%s: short transfer: the server's stream ended after %llu bytes without its end marker",
			 c->what, (unsigned long long)rx.rep.bytes);
		return -EBADMSG;
	}
	if (rx.rep.verify_errors) {
		vsb_fail("%s: verify: %u bad byte(s) received, first at stream offset %llu",
			 c->what, rx.rep.verify_errors, (unsigned long long)rx.rep.first_bad);
		return -EBADMSG;
	}
	if (rx.rep.bytes != rx.trailer.bytes) {
		vsb_fail("%s: short transfer: the server sent %llu bytes, received %llu",
			 c->what, (unsigned long long)rx.trailer.bytes,
			 (unsigned long long)rx.rep.bytes);
		return -EBADMSG;
	}
	return 0;
}

static int conn_setup(struct st_conn *c)
{
	const struct vsb_opts *o = c->run->o;
	struct vsb_hello h = {
		.mode = VSB_MODE_STREAM,
		.flags = (o->verify ? VSB_F_VERIFY : 0) | (o->backward ? VSB_F_BACKWARD : 0) |
			 (o->zerocopy ? VSB_F_ZEROCOPY : 0),
		.msg_size = o->size,
		.duration_ms = (uint32_t)(o->seconds * 1000),
		.seed = c->run->seed + c->idx,
		.sndbuf = o->sndbuf,
		.rcvbuf = o->rcvbuf,
		.vsock_buf = o->vsock_buf,
		.conn_id = c->idx,
	};
	char err[256];
	int rc;

	c->pat = malloc(o->size);
	if (!c->pat) {
		vsb_fail("%s: out of memory for %u-byte messages", c->what, o->size);
		return -ENOMEM;
	}
	vsb_pattern_fill(c->pat, o->size, h.seed);
	rc = vsb_pin_self(o->cpus, o->nr_cpus, c->idx);
	if (rc) {
		vsb_fail("--cpu %d: pinning: %s", o->cpus[c->idx % o->nr_cpus], strerror(-rc));
		return rc;
	}
	rc = vsb_connect(c->run->to, o, c->run->deadline, &c->fd);
	if (rc)
		return rc;
	if (o->zerocopy && !o->backward &&
	    vsb_sock_tune(c->fd, c->run->to->family, 0, 0, 0, true, err, sizeof(err))) {
		vsb_fail("%s", err);
		return -EOPNOTSUPP;
	}
	return vsb_handshake(c->fd, &h, c->run->deadline, c->what);
}

static void *conn_thread(void *arg)
{
	struct st_conn *c = arg;
	int rc;

	rc = conn_setup(c);
	pthread_barrier_wait(&c->run->ready);
	pthread_barrier_wait(&c->run->go);
	if (!rc && !vsb_stop)
		c->run->o->backward ? recv_backward(c) : send_forward(c);
	__atomic_add_fetch(&c->run->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static uint64_t total_bytes(struct st_conn *conns, unsigned int n)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < n; i++)
		sum += __atomic_load_n(&conns[i].progress, __ATOMIC_RELAXED);
	return sum;
}

static void add_interval(struct vsb_stream_result *res, double start, double end,
			 uint64_t bytes)
{
	struct vsb_interval *iv;

	iv = realloc(res->intervals, (res->nr_intervals + 1) * sizeof(*iv));
	if (!iv)
		return;
	res->intervals = iv;
	iv[res->nr_intervals++] = (struct vsb_interval){ start, end, bytes };
}

/* Main thread: intervals, progress line, deadline; until all finish. */
static void supervise(struct st_run *run, struct st_conn *conns, struct vsb_stream_result *res)
{
	const struct vsb_opts *o = run->o;
	bool tty = vsb_progress_enabled();
	uint64_t step = (uint64_t)(o->interval * 1e9), next = run->origin + step, last = 0;
	double prev = 0;

	while (__atomic_load_n(&run->finished, __ATOMIC_ACQUIRE) < o->threads) {
		uint64_t now, bytes;
		double t;

		usleep(20000);
		now = vsb_now_ns();
		if (now >= run->deadline && !vsb_stop)
			vsb_fail("timeout: the run did not finish within --timeout %g s",
				 o->timeout);
		vsb_watchdog(run->deadline);
		if (now < next || now < run->origin)
			continue;
		bytes = total_bytes(conns, o->threads);
		t = (double)(now - run->origin) / 1e9;
		add_interval(res, prev, t, bytes - last);
		if (tty)
			fprintf(stderr, "\rstream %s: %5.1f s %8.3f Gbit/s ", run->to->text, t,
				(double)(bytes - last) * 8 / (t - prev) / 1e9);
		prev = t;
		last = bytes;
		next += step;
	}
	if (tty)
		fprintf(stderr, "\r\033[K");
}

int vsb_stream_run(const struct vsb_opts *o, const struct vs_addr *to,
		   struct vsb_stream_result *res)
{
	struct st_run run = {
		.o = o,
		.to = to,
		.seed = (uint32_t)vsb_now_ns(),
	};
	pthread_attr_t attr;
	struct st_conn *conns;
	int rc;

	memset(res, 0, sizeof(*res));
	conns = calloc(o->threads, sizeof(*conns));
	res->conns = calloc(o->threads, sizeof(*res->conns));
	if (!conns || !res->conns) {
		free(conns);
		vsb_fail("out of memory for %u connections", o->threads);
		return -ENOMEM;
	}
	res->nr_conns = o->threads;
	run.deadline = vsb_now_ns() + (uint64_t)(o->timeout * 1e9);
	pthread_barrier_init(&run.ready, NULL, o->threads + 1);
	pthread_barrier_init(&run.go, NULL, o->threads + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (unsigned int i = 0; i < o->threads; i++) {
		struct st_conn *c = &conns[i];

		c->run = &run;
		c->idx = i;
		c->fd = -1;
		if (o->threads > 1)
			snprintf(c->what, sizeof(c->what), "%s (connection %u)", to->text, i);
		else
			snprintf(c->what, sizeof(c->what), "%s", to->text);
		rc = pthread_create(&c->tid, &attr, conn_thread, c);
		if (rc) {
			p_err("pthread_create for connection %u: %s", i, strerror(rc));
			exit(VSB_EXIT_ERROR);	/* the barriers count on every thread */
		}
	}
	pthread_attr_destroy(&attr);
	pthread_barrier_wait(&run.ready);
	run.origin = vsb_now_ns();
	pthread_barrier_wait(&run.go);
	supervise(&run, conns, res);
	res->elapsed_s = (double)(vsb_now_ns() - run.origin) / 1e9;

	for (unsigned int i = 0; i < o->threads; i++) {
		pthread_join(conns[i].tid, NULL);
		res->conns[i] = conns[i].res;
		if (conns[i].fd >= 0)
			close(conns[i].fd);
		free(conns[i].pat);
	}
	pthread_barrier_destroy(&run.ready);
	pthread_barrier_destroy(&run.go);
	free(conns);
	return vsb_failed() ? -1 : 0;
}

void vsb_stream_result_free(struct vsb_stream_result *res)
{
	free(res->conns);
	free(res->intervals);
	memset(res, 0, sizeof(*res));
}
