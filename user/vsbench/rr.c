// SPDX-License-Identifier: GPL-2.0
/*
 * vsbench rr: request/response round trips over --conns connections.
 *
 * Closed loop (default): each connection sends a request, waits for the
 * response, repeats; the round trip is measured from send to receive.
 *
 * Open loop (--rate R): requests go out on a fixed schedule whether or not
 * earlier responses came back (a sender thread per connection), and each
 * latency is taken from the request's intended send time, so a stall
 * shows up in every request it delayed (no coordinated omission).
 *
 * Threads meet at two barriers: after connecting (main then fixes the
 * schedule's origin) and before the first request.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "vsbench.h"

#define RSP_SEED_XOR	0xa5a5a5a5u

struct rr_run {
	const struct vsb_opts *o;
	const struct vs_addr *to;
	uint64_t deadline;
	uint64_t origin;		/* schedule start, set between the barriers */
	uint64_t period_ns;		/* open loop: per connection */
	uint32_t seed, rsp_size;
	pthread_barrier_t ready, go;
	unsigned int finished;		/* threads done (atomic) */
};

struct rr_conn {
	struct rr_run *run;
	unsigned int idx;
	int fd;
	pthread_t tid;
	struct vs_hist hist;
	uint64_t done;			/* round trips so far (atomic) */
	uint64_t server_requests;
	uint8_t *req, *req_pat, *rsp, *rsp_pat;
	char what[160];
	/* open loop */
	pthread_t tx_tid;
	int tx_rc;
};

static uint64_t total_msgs(const struct vsb_opts *o)
{
	return o->warmup + o->count;
}

static uint64_t intended(const struct rr_conn *c, uint64_t k)
{
	const struct rr_run *run = c->run;

	/* Connections interleave: conn i starts i / rate after the origin. */
	return run->origin + (uint64_t)((double)c->idx * 1e9 / run->o->rate) +
	       k * run->period_ns;
}

static void io_fail(struct rr_conn *c, const char *step, uint64_t k, int rc, size_t got,
		    size_t want)
{
	if (rc == -ECANCELED)
		return;
	if (rc == VSB_EOF && got)
		vsb_fail("%s: short transfer: the server closed the connection after %zu of %zu bytes of %s %llu",
			 c->what, got, want, step, (unsigned long long)k);
	else if (rc == VSB_EOF)
		vsb_fail("%s: the server closed the connection before %s %llu",
			 c->what, step, (unsigned long long)k);
	else if (rc == -ETIMEDOUT)
		vsb_fail("%s: timeout (--timeout %g s) during %s %llu", c->what,
			 c->run->o->timeout, step, (unsigned long long)k);
	else
		vsb_fail("%s: %s %llu: %s%s", c->what, step, (unsigned long long)k,
			 strerror(-rc), vsb_errno_hint(-rc));
}

static int send_req(struct rr_conn *c, uint64_t k)
{
	const struct vsb_opts *o = c->run->o;
	int rc;

	if (o->verify)
		vsb_msg_stamp(c->req, c->req_pat, o->size, k);
	rc = vsb_send_all(c->fd, c->req, o->size, 0, c->run->deadline);
	if (rc)
		io_fail(c, "sending request", k, rc, 0, o->size);
	return rc;
}

static int recv_rsp(struct rr_conn *c, uint64_t k)
{
	uint32_t len = c->run->rsp_size;
	uint64_t bad, nbad;
	size_t got;
	int rc;

	rc = vsb_recv_all(c->fd, c->rsp, len, c->run->deadline, &got);
	if (rc) {
		io_fail(c, "response", k, rc, got, len);
		return rc;
	}
	if (!c->run->o->verify)
		return 0;
	nbad = vsb_msg_check(c->rsp, c->rsp_pat, len, k, &bad);
	if (nbad) {
		vsb_fail("%s: verify: response %llu has %llu bad byte(s), first at offset %llu",
			 c->what, (unsigned long long)k, (unsigned long long)nbad,
			 (unsigned long long)bad);
		return -EBADMSG;
	}
	return 0;
}

static int closed_loop(struct rr_conn *c)
{
	const struct vsb_opts *o = c->run->o;
	uint64_t t0, t1;
	int rc;

	for (uint64_t k = 0; k < total_msgs(o) && !vsb_stop; k++) {
		t0 = vsb_now_ns();
		rc = send_req(c, k);
		if (!rc)
			rc = recv_rsp(c, k);
		if (rc)
			return rc;
		t1 = vsb_now_ns();
		if (k >= o->warmup)
			vs_hist_record(&c->hist, t1 - t0);
		__atomic_store_n(&c->done, k + 1, __ATOMIC_RELAXED);
	}
	return 0;
}

/* Sleep until t in slices, so a stop is noticed within 200 ms. */
static void sleep_until(uint64_t t)
{
	while (!vsb_stop) {
		uint64_t now = vsb_now_ns(), wake = t;
		struct timespec ts;

		if (now >= t)
			return;
		if (wake - now > 200000000ull)
			wake = now + 200000000ull;
		ts.tv_sec = wake / 1000000000ull;
		ts.tv_nsec = wake % 1000000000ull;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
}

static void *open_loop_tx(void *arg)
{
	struct rr_conn *c = arg;
	const struct vsb_opts *o = c->run->o;

	for (uint64_t k = 0; k < total_msgs(o) && !vsb_stop; k++) {
		sleep_until(intended(c, k));
		if (vsb_stop)
			break;
		c->tx_rc = send_req(c, k);
		if (c->tx_rc)
			break;
	}
	return NULL;
}

static int open_loop(struct rr_conn *c)
{
	const struct vsb_opts *o = c->run->o;
	int rc = 0;

	rc = pthread_create(&c->tx_tid, NULL, open_loop_tx, c);
	if (rc) {
		vsb_fail("%s: pthread_create: %s", c->what, strerror(rc));
		return -rc;
	}
	for (uint64_t k = 0; k < total_msgs(o) && !vsb_stop; k++) {
		rc = recv_rsp(c, k);
		if (rc)
			break;
		if (k >= o->warmup) {
			uint64_t now = vsb_now_ns(), t = intended(c, k);

			vs_hist_record(&c->hist, now > t ? now - t : 0);
		}
		__atomic_store_n(&c->done, k + 1, __ATOMIC_RELAXED);
	}
	pthread_join(c->tx_tid, NULL);
	return rc ? rc : c->tx_rc;
}

/* Tell the server we are done and read its count and verify result. */
static int finish(struct rr_conn *c)
{
	uint8_t buf[VSB_REPORT_LEN];
	struct vsb_report rep;
	int rc;

	if (shutdown(c->fd, SHUT_WR)) {
		rc = -errno;
		io_fail(c, "ending round trip", c->done, rc, 0, 0);
		return rc;
	}
	rc = vsb_recv_all(c->fd, buf, sizeof(buf), c->run->deadline, NULL);
	if (rc) {
		io_fail(c, "reading the server's report after round trip", c->done, rc, 0, 0);
		return rc;
	}
	if (vsb_report_decode(buf, &rep)) {
		vsb_fail("%s: the server's report is malformed", c->what);
		return -EPROTO;
	}
	c->server_requests = rep.bytes;
	if (rep.verify_errors) {
		vsb_fail("%s: verify: the server saw %u bad byte(s), first in request %llu",
			 c->what, rep.verify_errors, (unsigned long long)rep.first_bad);
		return -EBADMSG;
	}
	if (rep.bytes != c->done) {
		vsb_fail("%s: verify: sent %llu requests, the server received %llu",
			 c->what, (unsigned long long)c->done, (unsigned long long)rep.bytes);
		return -EBADMSG;
	}
	return 0;
}

static int conn_setup(struct rr_conn *c)
{
	const struct vsb_opts *o = c->run->o;
	struct vsb_hello h = {
		.mode = VSB_MODE_RR,
		.flags = o->verify ? VSB_F_VERIFY : 0,
		.msg_size = o->size,
		.rsp_size = c->run->rsp_size,
		.seed = c->run->seed + c->idx,
		.sndbuf = o->sndbuf,
		.rcvbuf = o->rcvbuf,
		.vsock_buf = o->vsock_buf,
		.conn_id = c->idx,
	};
	int rc;

	c->req = malloc(o->size);
	c->req_pat = malloc(o->size);
	c->rsp = malloc(c->run->rsp_size);
	c->rsp_pat = malloc(c->run->rsp_size);
	if (!c->req || !c->req_pat || !c->rsp || !c->rsp_pat) {
		vsb_fail("%s: out of memory for %u/%u-byte messages", c->what, o->size,
			 c->run->rsp_size);
		return -ENOMEM;
	}
	vsb_pattern_fill(c->req_pat, o->size, h.seed);
	memcpy(c->req, c->req_pat, o->size);
	vsb_pattern_fill(c->rsp_pat, c->run->rsp_size, h.seed ^ RSP_SEED_XOR);

	rc = vsb_pin_self(o->cpus, o->nr_cpus, c->idx);
	if (rc) {
		vsb_fail("--cpu %d: pinning: %s", o->cpus[c->idx % o->nr_cpus], strerror(-rc));
		return rc;
	}
	rc = vsb_connect(c->run->to, o, c->run->deadline, &c->fd);
	if (rc)
		return rc;
	return vsb_handshake(c->fd, &h, c->run->deadline, c->what);
}

static void *conn_thread(void *arg)
{
	struct rr_conn *c = arg;
	int rc;

	rc = conn_setup(c);
	pthread_barrier_wait(&c->run->ready);
	pthread_barrier_wait(&c->run->go);
	if (rc || vsb_stop)
		goto out;
	rc = c->run->o->rate > 0 ? open_loop(c) : closed_loop(c);
	if (!rc && !vsb_stop)
		finish(c);
out:
	__atomic_add_fetch(&c->run->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static uint64_t progress(struct rr_conn *conns, unsigned int n)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < n; i++)
		sum += __atomic_load_n(&conns[i].done, __ATOMIC_RELAXED);
	return sum;
}

/* Main thread: progress line and the run's deadline, until all finish. */
static void supervise(struct rr_run *run, struct rr_conn *conns)
{
	const struct vsb_opts *o = run->o;
	bool tty = vsb_progress_enabled();
	uint64_t total = total_msgs(o) * o->conns;

	while (__atomic_load_n(&run->finished, __ATOMIC_ACQUIRE) < o->conns) {
		usleep(50000);
		if (vsb_now_ns() >= run->deadline && !vsb_stop)
			vsb_fail("timeout: the run did not finish within --timeout %g s",
				 o->timeout);
		vsb_watchdog(run->deadline);
		if (tty)
			fprintf(stderr, "\rrr %s size %u: %llu/%llu round trips ", run->to->text,
				o->size, (unsigned long long)progress(conns, o->conns),
				(unsigned long long)total);
	}
	if (tty)
		fprintf(stderr, "\r\033[K");
}

static int start_threads(struct rr_run *run, struct rr_conn *conns)
{
	const struct vsb_opts *o = run->o;
	pthread_attr_t attr;
	int rc = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (unsigned int i = 0; i < o->conns; i++) {
		struct rr_conn *c = &conns[i];

		c->run = run;
		c->idx = i;
		c->fd = -1;
		vs_hist_init(&c->hist);
		if (o->conns > 1)
			snprintf(c->what, sizeof(c->what), "%s (connection %u)", run->to->text, i);
		else
			snprintf(c->what, sizeof(c->what), "%s", run->to->text);
		rc = pthread_create(&c->tid, &attr, conn_thread, c);
		if (rc) {
			p_err("pthread_create for connection %u: %s", i, strerror(rc));
			/* The barriers count on o->conns threads: cannot go on. */
			exit(VSB_EXIT_ERROR);
		}
	}
	pthread_attr_destroy(&attr);
	return 0;
}

int vsb_rr_run(const struct vsb_opts *o, const struct vs_addr *to, struct vsb_rr_result *res)
{
	struct rr_run run = {
		.o = o,
		.to = to,
		.rsp_size = o->rsp_size ? o->rsp_size : o->size,
		.seed = (uint32_t)vsb_now_ns(),
	};
	struct rr_conn *conns;
	uint64_t t_end;

	memset(res, 0, sizeof(*res));
	vs_hist_init(&res->hist);
	conns = calloc(o->conns, sizeof(*conns));
	if (!conns) {
		vsb_fail("out of memory for %u connections", o->conns);
		return -ENOMEM;
	}
	run.deadline = vsb_now_ns() + (uint64_t)(o->timeout * 1e9);
	if (o->rate > 0)
		run.period_ns = (uint64_t)(1e9 * o->conns / o->rate);
	pthread_barrier_init(&run.ready, NULL, o->conns + 1);
	pthread_barrier_init(&run.go, NULL, o->conns + 1);
	start_threads(&run, conns);

	pthread_barrier_wait(&run.ready);
	run.origin = vsb_now_ns() + 1000000;	/* 1 ms: every sender is awake */
	pthread_barrier_wait(&run.go);
	supervise(&run, conns);
	t_end = vsb_now_ns();

	for (unsigned int i = 0; i < o->conns; i++) {
		struct rr_conn *c = &conns[i];

		pthread_join(c->tid, NULL);
		vs_hist_merge(&res->hist, &c->hist);
		res->server_requests += c->server_requests;
		res->warmup_done += c->done < o->warmup ? c->done : o->warmup;
		if (c->fd >= 0)
			close(c->fd);
		free(c->req);
		free(c->req_pat);
		free(c->rsp);
		free(c->rsp_pat);
	}
	res->samples = res->hist.count;
	res->elapsed_s = t_end > run.origin ? (double)(t_end - run.origin) / 1e9 : 0;
	pthread_barrier_destroy(&run.ready);
	pthread_barrier_destroy(&run.go);
	free(conns);
	return vsb_failed() ? -1 : 0;
}
