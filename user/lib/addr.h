/* SPDX-License-Identifier: GPL-2.0 */
/* Endpoint strings shared by the tools: "tcp:HOST:PORT" or "vsock:CID:PORT". */
#ifndef VS_ADDR_H
#define VS_ADDR_H

#include <sys/socket.h>

struct vs_addr {
	int family;			/* AF_INET, AF_INET6 or AF_VSOCK */
	struct sockaddr_storage ss;
	socklen_t len;
	char text[128];			/* as given, for messages */
};

/*
 * Parse "tcp:HOST:PORT", "tcp:[V6]:PORT" or "vsock:CID:PORT".  HOST may be a
 * name (resolved with getaddrinfo); CID may be a number or "any", "local",
 * "host".  Numbers (CID, PORT) are decimal, or hex with 0x ("010" is ten).
 * Returns 0, or -1 with a message naming the problem in err.
 */
int vs_addr_parse(const char *s, struct vs_addr *a, char *err, size_t errlen);

/* "vsock" or "tcp". */
const char *vs_addr_proto(const struct vs_addr *a);

#endif
