// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets for vsbench: connect, tune, and send/receive with a deadline.
 *
 * Every blocking call is bounded: sockets get SO_RCVTIMEO/SO_SNDTIMEO of one
 * "tick", and the loops below re-check the run's deadline and the stop flag
 * each time a call returns EAGAIN.  So a silent peer costs at most a tick
 * past the deadline, and a failure in one thread stops the others.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/errqueue.h>
#include <linux/vm_sockets.h>
#include "sock.h"
#include "vsbench.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY	60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY	0x4000000
#endif

#define TICK_NS		200000000ull	/* 200 ms */
#define CONNECT_MAX_NS	30000000000ull	/* a connect never waits longer */

uint64_t vsb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct timeval ns_to_tv(uint64_t ns)
{
	struct timeval tv = {
		.tv_sec = ns / 1000000000ull,
		.tv_usec = (ns % 1000000000ull) / 1000,
	};

	if (!tv.tv_sec && !tv.tv_usec)
		tv.tv_usec = 1000;	/* zero would mean "wait forever" */
	return tv;
}

int vsb_set_tick(int fd, uint64_t ns)
{
	struct timeval tv = ns_to_tv(ns);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	return 0;
}

const char *vsb_errno_hint(int err)
{
	switch (err) {
	case ENODEV:
		return " (no such CID, or no transport reaches it)";
	case EHOSTUNREACH:
	case ENETUNREACH:
		return " (no such CID or host unreachable)";
	case ECONNREFUSED:
		return " (is 'vsbench server' listening there?)";
	case ECONNRESET:
		return " (the peer reset the connection mid-run)";
	case EPIPE:
		return " (the peer closed the connection mid-run)";
	case ETIMEDOUT:
		return " (no answer before the deadline; see --timeout)";
	case ENOBUFS:
		return " (the VSOCK receive queue overflowed with small packets and the kernel reset the connection)";
	case EAFNOSUPPORT:
		return " (no AF_VSOCK in this kernel: modprobe vsock?)";
	default:
		return "";
	}
}

static int set_vsock_buf(int fd, uint64_t size, char *err, size_t errlen)
{
	unsigned long long v = size;

	/* The size is clamped to [MIN, MAX]: raise the bound first. */
	if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &v, sizeof(v)) ||
	    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &v, sizeof(v))) {
		snprintf(err, errlen, "--vsock-buf %llu: setsockopt(SO_VM_SOCKETS_BUFFER_SIZE): %s",
			 v, strerror(errno));
		return -1;
	}
	return 0;
}

int vsb_sock_tune(int fd, int family, uint32_t sndbuf, uint32_t rcvbuf,
		  uint64_t vsock_buf, bool zerocopy, char *err, size_t errlen)
{
	int one = 1, v;

	if (sndbuf) {
		v = (int)sndbuf;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v))) {
			snprintf(err, errlen, "--sndbuf %u: setsockopt(SO_SNDBUF): %s",
				 sndbuf, strerror(errno));
			return -1;
		}
	}
	if (rcvbuf) {
		v = (int)rcvbuf;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v))) {
			snprintf(err, errlen, "--rcvbuf %u: setsockopt(SO_RCVBUF): %s",
				 rcvbuf, strerror(errno));
			return -1;
		}
	}
	if (vsock_buf && family == AF_VSOCK && set_vsock_buf(fd, vsock_buf, err, errlen))
		return -1;
	if (zerocopy && setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one))) {
		int e = errno;

		snprintf(err, errlen, "--zerocopy: setsockopt(SO_ZEROCOPY): %s%s", strerror(e),
			 e == EOPNOTSUPP || e == ENOPROTOOPT ?
			 " (this kernel has no MSG_ZEROCOPY for this socket type;"
			 " VSOCK gained it in Linux 6.7)" : "");
		return -1;
	}
	return 0;
}

static int connect_bounded(int fd, const struct vs_addr *to, uint64_t deadline)
{
	uint64_t now = vsb_now_ns(), wait;

	if (now >= deadline)
		return -ETIMEDOUT;
	wait = deadline - now;
	if (wait > CONNECT_MAX_NS)
		wait = CONNECT_MAX_NS;
	return vs_connect(fd, to, wait);
}

/*
 * Open a tuned, connected socket to 'to'.  On failure, vsb_fail() has the
 * reason and the return value is negative.
 */
int vsb_connect(const struct vs_addr *to, const struct vsb_opts *o, uint64_t deadline,
		int *fdp)
{
	char err[256];
	int fd, rc, one = 1;

	fd = vs_socket(to->family, 0);
	if (fd < 0) {
		rc = -fd;
		vsb_fail("socket(%s): %s%s", vs_addr_proto(to), strerror(rc),
			 vsb_errno_hint(rc));
		return -rc;
	}
	if (vsb_sock_tune(fd, to->family, o->sndbuf, o->rcvbuf, o->vsock_buf,
			  false, err, sizeof(err))) {
		vsb_fail("%s", err);
		close(fd);
		return -EINVAL;
	}
	rc = connect_bounded(fd, to, deadline);
	if (rc) {
		/* VSOCK answers a port nobody listens on with a reset. */
		vsb_fail("connect to %s: %s%s", to->text, strerror(-rc),
			 rc == -ECONNRESET ? " (connection refused: is 'vsbench server' listening there?)" :
			 vsb_errno_hint(-rc));
		close(fd);
		return rc;
	}
	if (to->family != AF_VSOCK)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = vsb_set_tick(fd, TICK_NS);
	if (rc) {
		vsb_fail("setsockopt(SO_RCVTIMEO) on %s: %s", to->text, strerror(-rc));
		close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}

/* After a call returned EAGAIN: give up, or go round again? */
static int again_or_give_up(uint64_t deadline)
{
	if (vsb_stop)
		return -ECANCELED;
	if (vsb_now_ns() >= deadline)
		return -ETIMEDOUT;
	return 0;
}

int vsb_send_all(int fd, const void *buf, size_t len, int flags, uint64_t deadline)
{
	size_t off = 0;
	int rc;

	while (off < len) {
		ssize_t n = send(fd, (const char *)buf + off, len - off, flags | MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == ENOBUFS && (flags & MSG_ZEROCOPY)) {
			/* Completions pile up in the error queue: drain it. */
			vsb_zc_reap(fd);
			usleep(100);
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			return -errno;
		}
		rc = again_or_give_up(deadline);
		if (rc)
			return rc;
	}
	return 0;
}

ssize_t vsb_recv_some(int fd, void *buf, size_t len, uint64_t deadline)
{
	for (;;) {
		ssize_t n = recv(fd, buf, len, 0);
		int rc;

		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		rc = again_or_give_up(deadline);
		if (rc)
			return rc;
	}
}

int vsb_recv_all(int fd, void *buf, size_t len, uint64_t deadline, size_t *got)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = vsb_recv_some(fd, (char *)buf + off, len - off, deadline);

		if (n <= 0) {
			if (got)
				*got = off;
			return n ? (int)n : VSB_EOF;
		}
		off += (size_t)n;
	}
	if (got)
		*got = off;
	return 0;
}

/* Drop MSG_ZEROCOPY completion notices; the buffers are never reused for
 * other data, so which sends completed does not matter. */
void vsb_zc_reap(int fd)
{
	char control[256];

	for (;;) {
		struct msghdr msg = {
			.msg_control = control,
			.msg_controllen = sizeof(control),
		};

		if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
	}
}

int vsb_pin_self(const int *cpus, unsigned int nr, unsigned int idx)
{
	cpu_set_t set;

	if (!nr)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpus[idx % nr], &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Send HELLO, wait for the ACK.  On failure vsb_fail() says why. */
int vsb_handshake(int fd, const struct vsb_hello *h, uint64_t deadline, const char *what)
{
	uint8_t hello[VSB_HELLO_LEN], ack[VSB_ACK_LEN];
	uint32_t status;
	int rc;

	vsb_hello_encode(h, hello);
	rc = vsb_send_all(fd, hello, sizeof(hello), 0, deadline);
	if (!rc)
		rc = vsb_recv_all(fd, ack, sizeof(ack), deadline, NULL);
	if (rc == VSB_EOF) {
		vsb_fail("%s: the server closed the connection during set-up", what);
		return rc;
	}
	if (rc == -ETIMEDOUT) {
		vsb_fail("%s: timeout: no answer from the server during set-up (see --timeout)",
			 what);
		return rc;
	}
	if (rc) {
		if (rc != -ECANCELED)
			vsb_fail("%s: set-up: %s%s", what, strerror(-rc), vsb_errno_hint(-rc));
		return rc;
	}
	if (vsb_ack_decode(ack, &status)) {
		vsb_fail("%s: set-up: the peer does not speak the vsbench protocol", what);
		return -EPROTO;
	}
	if (status) {
		vsb_fail("%s: the server refused the run: %s", what, strerror((int)status));
		return -(int)status;
	}
	return 0;
}
