/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VSOCK traffic for the selftests: an echo server thread and a ping-pong
 * client with bounded waits, shared by the module and eBPF tests.
 */
#ifndef VSTRACE_SELFTEST_VSOCK_UTIL_H
#define VSTRACE_SELFTEST_VSOCK_UTIL_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#ifndef VMADDR_CID_LOCAL
#define VMADDR_CID_LOCAL 1
#endif

static inline int set_timeouts(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -1;
	return 0;
}

static inline int xfer_all(int fd, char *buf, size_t len, bool send_it)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = send_it ? send(fd, buf + done, len - done, MSG_NOSIGNAL) :
			      recv(fd, buf + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		done += (size_t)n;
	}
	return 0;
}

static inline int vsock_listen(unsigned int port)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_ANY,
		.svm_port = port,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * Connect, retrying while the peer has no listener yet (RST) or is too slow
 * to answer (a nested guest under emulation): up to 120 s in all.
 */
static inline int vsock_connect(unsigned int cid, unsigned int port)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK,
		.svm_cid = cid,
		.svm_port = port,
	};
	struct timeval connect_timeout = { .tv_sec = 30 };
	int fd, err, tries;

	for (tries = 0; tries < 240; tries++) {
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		set_timeouts(fd, 30);
		setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT,
			   &connect_timeout, sizeof(connect_timeout));
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		err = -errno;
		close(fd);
		if (err != -ECONNRESET && err != -ETIMEDOUT)
			break;
		usleep(500000);
	}
	return err;
}

/* Echo everything received on one accepted connection until EOF. */
static inline int echo_one(int lfd)
{
	char buf[65536];
	ssize_t n;
	int fd;

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return -errno;
	set_timeouts(fd, 60);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		if (xfer_all(fd, buf, (size_t)n, true))
			break;
	close(fd);
	return 0;
}

struct server {
	pthread_t thread;
	int lfd;
	unsigned int port;
	bool forever;
	volatile bool stop;
};

static inline void *server_main(void *arg)
{
	struct server *s = arg;

	do {
		if (echo_one(s->lfd))
			break;
	} while (s->forever && !s->stop);
	return NULL;
}

static inline int server_start(struct server *s, unsigned int port, bool forever)
{
	s->lfd = vsock_listen(port);
	if (s->lfd < 0)
		return s->lfd;
	s->forever = forever;
	s->port = port;
	s->stop = false;
	return pthread_create(&s->thread, NULL, server_main, s) ? -EAGAIN : 0;
}

static inline void server_stop(struct server *s)
{
	int fd;

	/* shutdown() does not wake a vsock accept(): connect once more. */
	s->stop = true;
	if (s->forever) {
		fd = vsock_connect(VMADDR_CID_LOCAL, s->port);
		if (fd >= 0)
			close(fd);
	}
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->lfd);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * @count round trips of @size bytes each way on the connected socket @fd;
 * if @rtt_ns, the time they took in all.
 */
static inline int round_trips(int fd, int count, size_t size, uint64_t *rtt_ns)
{
	char *out = malloc(size), *in = malloc(size);
	int i, err = 0;

	if (!out || !in) {
		free(out);
		free(in);
		return -ENOMEM;
	}
	if (rtt_ns)
		*rtt_ns = mono_ns();
	for (i = 0; i < count && !err; i++) {
		memset(out, 'a' + i % 26, size);
		err = xfer_all(fd, out, size, true);
		if (!err)
			err = xfer_all(fd, in, size, false);
		if (!err && memcmp(in, out, size))
			err = -EBADMSG;
	}
	if (rtt_ns)
		*rtt_ns = mono_ns() - *rtt_ns;
	free(out);
	free(in);
	return err;
}

/* round_trips() on a new connection (its set-up not timed), then close it. */
static inline int ping_pong_timed(unsigned int cid, unsigned int port, int count,
				  size_t size, uint64_t *rtt_ns)
{
	int fd = vsock_connect(cid, port), err;

	if (fd < 0)
		return fd;
	err = round_trips(fd, count, size, rtt_ns);
	close(fd);
	return err;
}

static inline int ping_pong(unsigned int cid, unsigned int port, int count, size_t size)
{
	return ping_pong_timed(cid, port, count, size, NULL);
}

/*
 * Run a shell command in the nested inner guest (tools/testbed/guest, under
 * `tools/testbed/run --nested`) and return its exit status, -1 if it did
 * not exit.  @project is the project directory, the same path in both VMs.
 */
static inline int guest_vrun(const char *project, const char *fmt, va_list ap)
{
	char cmd[2048], line[PATH_MAX + 2200];
	int st;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	snprintf(line, sizeof(line), "%s/tools/testbed/guest sh -c '%s'", project, cmd);
	st = system(line);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline int __attribute__((format(printf, 2, 3)))
guest_run(const char *project, const char *fmt, ...)
{
	va_list ap;
	int st;

	va_start(ap, fmt);
	st = guest_vrun(project, fmt, ap);
	va_end(ap);
	return st;
}

/* The inner guest's CID, or 0 without one. */
static inline unsigned int guest_cid(void)
{
	const char *s = getenv("VSTRACE_GUEST_CID");

	return s ? (unsigned int)atoi(s) : 0;
}

#endif
