// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/vm_sockets.h>
#include "addr.h"
#include "cli.h"

/* A NUMBER of cli.h: decimal, or 0x hex. */
static int parse_u32(const char *s, unsigned long max, unsigned int *out)
{
	char err[128];
	uint64_t v;

	if (vs_parse_u64(s, 0, max, &v, err, sizeof(err)))
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static int parse_cid(const char *s, unsigned int *cid)
{
	if (!strcmp(s, "any"))
		*cid = VMADDR_CID_ANY;
	else if (!strcmp(s, "local"))
		*cid = 1;	/* VMADDR_CID_LOCAL, not in older headers */
	else if (!strcmp(s, "host"))
		*cid = VMADDR_CID_HOST;
	else
		return parse_u32(s, UINT_MAX, cid);
	return 0;
}

int vs_addr_parse(const char *s, struct vs_addr *a, char *err, size_t errlen)
{
	char buf[128], *host, *port;
	unsigned int cid, portnum;

	memset(a, 0, sizeof(*a));
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "address too long: '%.32s...'", s);
		return -1;
	}
	snprintf(a->text, sizeof(a->text), "%s", s);
	strcpy(buf, s);

	if (!strncmp(buf, "vsock:", 6)) {
		struct sockaddr_vm *svm = (struct sockaddr_vm *)&a->ss;

		host = buf + 6;
		port = strrchr(host, ':');
		if (!port) {
			snprintf(err, errlen, "'%s': expected vsock:CID:PORT", s);
			return -1;
		}
		*port++ = '\0';
		if (parse_cid(host, &cid)) {
			snprintf(err, errlen, "'%s': bad CID '%s'", s, host);
			return -1;
		}
		if (parse_u32(port, UINT_MAX, &portnum)) {
			snprintf(err, errlen, "'%s': bad port '%s'", s, port);
			return -1;
		}
		svm->svm_family = AF_VSOCK;
		svm->svm_cid = cid;
		svm->svm_port = portnum;
		a->family = AF_VSOCK;
		a->len = sizeof(*svm);
		return 0;
	}

	if (!strncmp(buf, "tcp:", 4)) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
		char service[16];
		int rc;

		host = buf + 4;
		if (*host == '[') {
			char *close = strchr(host, ']');

			if (!close || close[1] != ':') {
				snprintf(err, errlen, "'%s': expected tcp:[V6ADDR]:PORT", s);
				return -1;
			}
			*close = '\0';
			host++;
			port = close + 2;
		} else {
			port = strrchr(host, ':');
			if (!port) {
				snprintf(err, errlen, "'%s': expected tcp:HOST:PORT", s);
				return -1;
			}
			*port++ = '\0';
		}
		if (parse_u32(port, 65535, &portnum)) {
			snprintf(err, errlen, "'%s': bad port '%s' (0-65535)", s, port);
			return -1;
		}
		hints.ai_flags = AI_NUMERICSERV | (*host ? 0 : AI_PASSIVE);
		snprintf(service, sizeof(service), "%u", portnum);
		rc = getaddrinfo(*host ? host : NULL, service, &hints, &res);
		if (rc) {
			snprintf(err, errlen, "'%s': cannot resolve '%s': %s", s,
				 host, gai_strerror(rc));
			return -1;
		}
		memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
		a->len = res->ai_addrlen;
		a->family = res->ai_family;
		freeaddrinfo(res);
		return 0;
	}

	snprintf(err, errlen, "'%s': expected tcp:HOST:PORT or vsock:CID:PORT", s);
	return -1;
}

const char *vs_addr_proto(const struct vs_addr *a)
{
	return a->family == AF_VSOCK ? "vsock" : "tcp";
}
