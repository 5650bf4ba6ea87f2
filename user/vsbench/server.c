// SPDX-License-Identifier: GPL-2.0
/*
 * vsbench server: accepts connections on VSOCK and/or TCP, one thread per
 * connection, and serves whatever the client's HELLO asks for.  Every call
 * on a connection is bounded by the idle timeout, so a vanished client
 * costs a thread for at most that long.
 *
 * Test-only faults (--inject-corrupt N, --inject-short N) act on each
 * connection's N-th message; see serve_rr() and the stream functions.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>
#include "sock.h"
#include "vsbench.h"

#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY	0x4000000
#endif

#define SRV_TICK_NS	200000000ull
#define RSP_SEED_XOR	0xa5a5a5a5u

struct srv_conn {
	int fd;
	int family;
	unsigned int idx;
	const struct vsb_server_opts *so;
	char peer[96];
};

static void srv_err(const struct srv_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void srv_err(const struct srv_conn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p_err("connection %u from %s: %s", c->idx, c->peer, msg);
}

static uint64_t idle_deadline(const struct srv_conn *c)
{
	return vsb_now_ns() + (uint64_t)(c->so->idle_timeout * 1e9);
}

static const char *rc_text(int rc)
{
	if (rc == VSB_EOF)
		return "the client closed the connection";
	if (rc == -ETIMEDOUT)
		return "idle timeout";
	return strerror(-rc);
}

static void send_report(struct srv_conn *c, const struct vsb_report *r)
{
	uint8_t buf[VSB_REPORT_LEN];
	int rc;

	vsb_report_encode(r, buf);
	rc = vsb_send_all(c->fd, buf, sizeof(buf), 0, idle_deadline(c));
	if (rc)
		srv_err(c, "sending the report: %s", rc_text(rc));
}

static void flip(uint8_t *buf, size_t len)
{
	buf[len / 2] ^= 0x40;
}

static int serve_rr(struct srv_conn *c, const struct vsb_hello *h)
{
	const struct vsb_server_opts *so = c->so;
	bool verify = h->flags & VSB_F_VERIFY;
	uint8_t *req, *req_pat, *rsp, *rsp_pat;
	struct vsb_report rep = { .first_bad = VSB_NO_OFFSET };
	uint64_t seq = 0, t0 = vsb_now_ns();
	int rc = 0, one = 1;

	if (c->family != AF_VSOCK)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	req = malloc(h->msg_size);
	req_pat = malloc(h->msg_size);
	rsp = malloc(h->rsp_size);
	rsp_pat = malloc(h->rsp_size);
	if (!req || !req_pat || !rsp || !rsp_pat) {
		srv_err(c, "out of memory for %u/%u-byte messages", h->msg_size, h->rsp_size);
		rc = -ENOMEM;
		goto out_free;
	}
	vsb_pattern_fill(req_pat, h->msg_size, h->seed);
	vsb_pattern_fill(rsp_pat, h->rsp_size, h->seed ^ RSP_SEED_XOR);
	memcpy(rsp, rsp_pat, h->rsp_size);

	for (;;) {
		size_t got, len = h->rsp_size;
		uint64_t bad, off;

		rc = vsb_recv_all(c->fd, req, h->msg_size, idle_deadline(c), &got);
		if (rc == VSB_EOF && !got)
			break;		/* the client is done */
		if (rc) {
			srv_err(c, "receiving request %llu: %s", (unsigned long long)seq,
				rc_text(rc));
			goto out_free;
		}
		if (verify) {
			bad = vsb_msg_check(req, req_pat, h->msg_size, seq, &off);
			if (bad) {
				srv_err(c, "verify: request %llu has %llu bad byte(s), first at offset %llu",
					(unsigned long long)seq, (unsigned long long)bad,
					(unsigned long long)off);
				rep.verify_errors += bad;
				if (rep.first_bad == VSB_NO_OFFSET)
					rep.first_bad = seq;
			}
			vsb_msg_stamp(rsp, rsp_pat, h->rsp_size, seq);
		}
		seq++;
		if (so->inject_corrupt == seq)
			flip(rsp, h->rsp_size);
		if (so->inject_short == seq)
			len--;
		rc = vsb_send_all(c->fd, rsp, len, 0, idle_deadline(c));
		if (so->inject_corrupt == seq)
			flip(rsp, h->rsp_size);
		if (rc) {
			srv_err(c, "sending response %llu: %s", (unsigned long long)seq - 1,
				rc_text(rc));
			goto out_free;
		}
		if (so->inject_short == seq)
			goto out_free;	/* close mid-message, as a crash would */
	}
	rep.bytes = seq;
	rep.ns = vsb_now_ns() - t0;
	send_report(c, &rep);
	rc = 0;
out_free:
	free(req);
	free(req_pat);
	free(rsp);
	free(rsp_pat);
	return rc;
}

/* Stream, client -> server: count (and check) until EOF, then report. */
static int serve_stream_recv(struct srv_conn *c, const struct vsb_hello *h)
{
	struct vsb_rx rx = {
		.fd		= c->fd,
		.plen		= h->msg_size,
		.idle_ns	= (uint64_t)(c->so->idle_timeout * 1e9),
		.corrupt_at	= c->so->inject_corrupt,
		.short_at	= c->so->inject_short,
	};
	uint8_t *pat = NULL;
	int rc;

	if (h->flags & VSB_F_VERIFY) {
		pat = malloc(h->msg_size);
		if (!pat) {
			srv_err(c, "out of memory for %u-byte messages", h->msg_size);
			return -ENOMEM;
		}
		vsb_pattern_fill(pat, h->msg_size, h->seed);
		rx.pattern = pat;
	}
	rc = vsb_rx_stream(&rx);
	if (rc == 1)
		goto out_free;	/* injected: close without reading the rest */
	if (rc) {
		srv_err(c, "stream receive after %llu bytes: %s",
			(unsigned long long)rx.rep.bytes, rc_text(rc));
		goto out_free;
	}
	if (!(rx.rep.flags & VSB_REPORT_F_TRAILER))
		srv_err(c, "stream ended without the sender's end marker after %llu bytes",
			(unsigned long long)rx.rep.bytes);
	if (rx.rep.verify_errors)
		srv_err(c, "verify: %u bad byte(s), first at stream offset %llu",
			rx.rep.verify_errors, (unsigned long long)rx.rep.first_bad);
	send_report(c, &rx.rep);
out_free:
	free(pat);
	return rc;
}

/* Stream, server -> client: send for duration_ms, trailer, read report. */
static int serve_stream_send(struct srv_conn *c, const struct vsb_hello *h)
{
	const struct vsb_server_opts *so = c->so;
	int flags = (h->flags & VSB_F_ZEROCOPY) ? MSG_ZEROCOPY : 0;
	uint8_t *pat, tbuf[VSB_TRAILER_LEN], rbuf[VSB_REPORT_LEN];
	uint64_t t0 = vsb_now_ns(), end = t0 + (uint64_t)h->duration_ms * 1000000ull;
	struct vsb_trailer tr = { 0 };
	struct vsb_report rep;
	uint64_t nsend = 0;
	int rc = 0;

	pat = malloc(h->msg_size);
	if (!pat) {
		srv_err(c, "out of memory for %u-byte messages", h->msg_size);
		return -ENOMEM;
	}
	vsb_pattern_fill(pat, h->msg_size, h->seed);
	while (vsb_now_ns() < end) {
		size_t len = h->msg_size;

		nsend++;
		if (so->inject_corrupt == nsend)
			flip(pat, h->msg_size);
		if (so->inject_short == nsend)
			len--;
		rc = vsb_send_all(c->fd, pat, len, flags, idle_deadline(c));
		if (so->inject_corrupt == nsend)
			flip(pat, h->msg_size);
		if (rc) {
			srv_err(c, "stream send after %llu bytes: %s",
				(unsigned long long)tr.bytes, rc_text(rc));
			goto out_free;
		}
		tr.bytes += len;
		if (so->inject_short == nsend)
			goto out_free;	/* stop early: no trailer, as a crash would */
		if (flags && !(nsend % 16))
			vsb_zc_reap(c->fd);
	}
	tr.ns = vsb_now_ns() - t0;
	vsb_trailer_encode(&tr, tbuf);
	rc = vsb_send_all(c->fd, tbuf, sizeof(tbuf), 0, idle_deadline(c));
	if (!rc && shutdown(c->fd, SHUT_WR))
		rc = -errno;
	if (!rc)
		rc = vsb_recv_all(c->fd, rbuf, sizeof(rbuf), idle_deadline(c), NULL);
	if (rc) {
		srv_err(c, "ending the stream: %s", rc_text(rc));
		goto out_free;
	}
	if (vsb_report_decode(rbuf, &rep))
		srv_err(c, "the client's report is malformed");
	else if (so->verbose)
		p_err("connection %u: sent %llu bytes, client received %llu",
			c->idx, (unsigned long long)tr.bytes, (unsigned long long)rep.bytes);
out_free:
	free(pat);
	return rc;
}

static void *conn_thread(void *arg)
{
	struct srv_conn *c = arg;
	const struct vsb_server_opts *so = c->so;
	uint8_t hbuf[VSB_HELLO_LEN], ack[VSB_ACK_LEN];
	struct vsb_hello h;
	uint32_t status;
	char err[256];
	int rc;

	vsb_pin_self(so->cpus, so->nr_cpus, c->idx);
	rc = vsb_recv_all(c->fd, hbuf, sizeof(hbuf), idle_deadline(c), NULL);
	if (rc) {
		if (rc != VSB_EOF)
			srv_err(c, "reading the set-up message: %s", rc_text(rc));
		goto out_close;
	}
	status = (uint32_t)vsb_hello_decode(hbuf, &h);
	if (status == EPROTO) {
		srv_err(c, "not a vsbench client (bad magic)");
		goto out_close;
	}
	if (!status && vsb_sock_tune(c->fd, c->family, h.sndbuf, h.rcvbuf, h.vsock_buf,
				     (h.flags & VSB_F_ZEROCOPY) &&
				     (h.flags & VSB_F_BACKWARD), err, sizeof(err))) {
		srv_err(c, "%s", err);
		status = (h.flags & VSB_F_ZEROCOPY) ? EOPNOTSUPP : EINVAL;
	}
	vsb_ack_encode(status, ack);
	rc = vsb_send_all(c->fd, ack, sizeof(ack), 0, idle_deadline(c));
	if (rc || status)
		goto out_close;
	if (so->verbose)
		p_err("connection %u from %s: %s msg %u rsp %u%s%s", c->idx, c->peer,
			h.mode == VSB_MODE_RR ? "rr" : "stream", h.msg_size, h.rsp_size,
			h.flags & VSB_F_BACKWARD ? " backward" : "",
			h.flags & VSB_F_VERIFY ? " verify" : "");
	if (h.mode == VSB_MODE_RR)
		serve_rr(c, &h);
	else if (h.flags & VSB_F_BACKWARD)
		serve_stream_send(c, &h);
	else
		serve_stream_recv(c, &h);
out_close:
	close(c->fd);
	free(c);
	return NULL;
}

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_VSOCK) {
		const struct sockaddr_vm *vm = (const void *)ss;

		if (vm->svm_cid == VMADDR_CID_ANY)
			snprintf(buf, len, "vsock:any:%u", vm->svm_port);
		else
			snprintf(buf, len, "vsock:%u:%u", vm->svm_cid, vm->svm_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "tcp:[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "tcp:%s:%u", host, ntohs(s4->sin_port));
	}
}

static int listen_on(const struct sockaddr_storage *ss, socklen_t len)
{
	const char *step;

	return vs_listen((const struct sockaddr *)ss, len, VS_SOCK_DUALSTACK, 1024, &step);
}

static int open_tcp(const struct vsb_server_opts *so)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *s6 = (void *)&ss;
	struct sockaddr_in *s4 = (void *)&ss;
	struct vs_addr a;
	char spec[160], err[256];
	int fd;

	if (so->bind) {
		snprintf(spec, sizeof(spec), "tcp:%s:%u", so->bind, so->port);
		if (vs_addr_parse(spec, &a, err, sizeof(err))) {
			p_err("--bind: %s", err);
			return -EINVAL;
		}
		fd = listen_on(&a.ss, a.len);
		if (fd < 0)
			p_err("listen on %s: %s", spec, strerror(-fd));
		return fd;
	}
	/* Dual-stack wildcard; plain IPv4 where IPv6 is off. */
	s6->sin6_family = AF_INET6;
	s6->sin6_addr = in6addr_any;
	s6->sin6_port = htons(so->port);
	fd = listen_on(&ss, sizeof(*s6));
	if (fd >= 0 || fd == -EADDRINUSE)
		goto out;
	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(INADDR_ANY);
	s4->sin_port = htons(so->port);
	fd = listen_on(&ss, sizeof(*s4));
out:
	if (fd < 0)
		p_err("listen on tcp port %u: %s", so->port, strerror(-fd));
	return fd;
}

static int open_vsock(const struct vsb_server_opts *so)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_vm *vm = (void *)&ss;
	int fd;

	vm->svm_family = AF_VSOCK;
	vm->svm_cid = VMADDR_CID_ANY;
	vm->svm_port = so->port ? so->port : VMADDR_PORT_ANY;
	fd = listen_on(&ss, sizeof(*vm));
	if (fd < 0)
		p_err("listen on vsock port %u: %s%s", so->port, strerror(-fd),
			vsb_errno_hint(-fd));
	return fd;
}

static void announce(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char text[128];

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return;
	addr_text(&ss, text, sizeof(text));
	printf("listening on %s\n", text);
	fflush(stdout);
}

static void spawn(const struct vsb_server_opts *so, int lfd, unsigned int idx)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	pthread_attr_t attr;
	struct srv_conn *c;
	pthread_t tid;
	int fd, rc;

	fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			p_err("accept: %s", strerror(errno));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || vsb_set_tick(fd, SRV_TICK_NS)) {
		p_err("connection set-up: %s", c ? strerror(errno) : "out of memory");
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->family = ss.ss_family;
	c->idx = idx;
	c->so = so;
	addr_text(&ss, c->peer, sizeof(c->peer));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, conn_thread, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		p_err("connection %u: pthread_create: %s", idx, strerror(rc));
		close(fd);
		free(c);
	}
}

/* Runs until killed; returns only on a set-up error. */
int vsb_server_main(const struct vsb_server_opts *so)
{
	struct pollfd pfd[2];
	unsigned int n = 0, idx = 0;

	if (so->tcp) {
		pfd[n].fd = open_tcp(so);
		if (pfd[n].fd < 0)
			return VSB_EXIT_ERROR;
		pfd[n++].events = POLLIN;
	}
	if (so->vsock) {
		pfd[n].fd = open_vsock(so);
		if (pfd[n].fd < 0)
			return VSB_EXIT_ERROR;
		pfd[n++].events = POLLIN;
	}
	for (unsigned int i = 0; i < n; i++)
		announce(pfd[i].fd);

	for (;;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			p_err("poll: %s", strerror(errno));
			return VSB_EXIT_ERROR;
		}
		for (unsigned int i = 0; i < n; i++)
			if (pfd[i].revents & POLLIN)
				spawn(so, pfd[i].fd, idx++);
	}
}
