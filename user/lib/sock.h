/* SPDX-License-Identifier: GPL-2.0 */
/* Listening and connecting stream sockets, for vsbench and vsproxy. */
#ifndef VS_SOCK_H
#define VS_SOCK_H

#include <stdint.h>
#include <sys/socket.h>
#include "addr.h"

#define VS_SOCK_NONBLOCK	0x1	/* O_NONBLOCK on the new socket */
#define VS_SOCK_REUSEPORT	0x2	/* SO_REUSEPORT (not VSOCK) */
#define VS_SOCK_DUALSTACK	0x4	/* IPv6 wildcard takes IPv4 too */

/*
 * A listening stream socket on @sa: SO_REUSEADDR (not VSOCK), the @flags
 * above, bind, listen.  Returns the descriptor, or -errno with the failed
 * step ("socket", "setsockopt", "bind", "listen") in *@step.
 */
int vs_listen(const struct sockaddr *sa, socklen_t len, int flags, int backlog,
	      const char **step);

/*
 * A stream socket for @family, close-on-exec, with VS_SOCK_NONBLOCK if
 * asked.  Returns the descriptor or -errno.
 */
int vs_socket(int family, int flags);

/*
 * Connect @fd to @to, giving up after @timeout_ns (0: the kernel's
 * default): VSOCK through SO_VM_SOCKETS_CONNECT_TIMEOUT, TCP on a blocking
 * socket through SO_SNDTIMEO.  Returns 0; -EINPROGRESS on a non-blocking
 * socket (completion comes as writability); -ETIMEDOUT; or -errno.
 */
int vs_connect(int fd, const struct vs_addr *to, uint64_t timeout_ns);

#endif
