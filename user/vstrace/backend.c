// SPDX-License-Identifier: GPL-2.0
/* The two tracers behind struct vs_backend. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "backend.h"
#include "bpf.h"

/* kmod: one netlink socket per call; commands are rare. */
static int kmod_open(struct vs_nl **nl, char *err, size_t errlen)
{
	int ret = vs_nl_open(nl);

	if (ret == -ENOENT)
		snprintf(err, errlen,
			 "vstrace.ko is not loaded (no generic netlink family '%s')",
			 VSTRACE_GENL_NAME);
	else if (ret)
		snprintf(err, errlen, "cannot open generic netlink socket: %s",
			 strerror(-ret));
	return ret;
}

static int kmod_done(struct vs_nl *nl, int ret, char *err, size_t errlen)
{
	if (ret)
		snprintf(err, errlen, "%s", vs_nl_error(nl));
	vs_nl_close(nl);
	return ret;
}

static int kmod_read(struct vs_status *st, struct vs_stats *stats, char *err,
		     size_t errlen)
{
	struct vs_nl *nl;
	int ret = kmod_open(&nl, err, errlen);

	if (ret)
		return ret;
	if (st)
		ret = vs_nl_status(nl, st);
	if (!ret && stats)
		ret = vs_nl_stats(nl, stats);
	return kmod_done(nl, ret, err, errlen);
}

static int kmod_start(const struct vs_filter *f, char *err, size_t errlen)
{
	struct vs_nl *nl;
	int ret = kmod_open(&nl, err, errlen);

	return ret ? ret : kmod_done(nl, vs_nl_start(nl, f), err, errlen);
}

static int kmod_stop(char *err, size_t errlen)
{
	struct vs_nl *nl;
	int ret = kmod_open(&nl, err, errlen);

	return ret ? ret : kmod_done(nl, vs_nl_stop(nl), err, errlen);
}

static int kmod_reset(char *err, size_t errlen)
{
	struct vs_nl *nl;
	int ret = kmod_open(&nl, err, errlen);

	return ret ? ret : kmod_done(nl, vs_nl_reset(nl), err, errlen);
}

/* bpf: the loader's argument order differs (stats first). */
static int bpf_read(struct vs_status *st, struct vs_stats *stats, char *err,
		    size_t errlen)
{
	if (st)
		memset(st, 0, sizeof(*st));
	return vs_bpf_read(stats, st, err, errlen);
}

static const struct vs_backend backends[] = {
	{
		.name	= "kmod",
		.read	= kmod_read,
		.start	= kmod_start,
		.stop	= kmod_stop,
		.reset	= kmod_reset,
	},
	{
		.name	= "bpf",
		.read	= bpf_read,
		.start	= vs_bpf_start,
		.stop	= vs_bpf_stop,
		.reset	= vs_bpf_reset,
	},
};

const struct vs_backend *vs_backend_get(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i].name, name))
			return &backends[i];
	return NULL;
}
