// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/time.h>
#include <linux/vm_sockets.h>
#include "sock.h"

int vs_socket(int family, int flags)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC |
			(flags & VS_SOCK_NONBLOCK ? SOCK_NONBLOCK : 0), 0);

	return fd < 0 ? -errno : fd;
}

int vs_listen(const struct sockaddr *sa, socklen_t len, int flags, int backlog,
	      const char **step)
{
	int fd, one = 1, zero = 0, e;

	*step = "socket";
	fd = vs_socket(sa->sa_family, flags);
	if (fd < 0)
		return fd;
	*step = "setsockopt";
	if (sa->sa_family != AF_VSOCK &&
	    (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	     (flags & VS_SOCK_REUSEPORT &&
	      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))))
		goto fail;
	if (sa->sa_family == AF_INET6 && flags & VS_SOCK_DUALSTACK)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	*step = "bind";
	if (bind(fd, sa, len))
		goto fail;
	*step = "listen";
	if (listen(fd, backlog))
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	return -e;
}

int vs_connect(int fd, const struct vs_addr *to, uint64_t timeout_ns)
{
	struct timeval tv = {
		.tv_sec = (time_t)(timeout_ns / 1000000000ull),
		.tv_usec = (suseconds_t)(timeout_ns % 1000000000ull / 1000),
	};
	bool nonblock = fcntl(fd, F_GETFL) & O_NONBLOCK;

	if (timeout_ns && !tv.tv_sec && !tv.tv_usec)
		tv.tv_usec = 1;		/* zero would mean "wait forever" */
	if (timeout_ns && to->family == AF_VSOCK) {
		/* Best effort: without it the kernel's default (2 s) bounds us. */
		setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv));
	} else if (timeout_ns && !nonblock &&
		   setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		return -errno;
	}
	if (!connect(fd, (const struct sockaddr *)&to->ss, to->len))
		return 0;
	if (nonblock && errno == EINPROGRESS)
		return -EINPROGRESS;
	/* A blocking TCP connect cut short by SO_SNDTIMEO says EINPROGRESS. */
	if (!nonblock && (errno == EINPROGRESS || errno == EAGAIN))
		return -ETIMEDOUT;
	return -errno;
}
