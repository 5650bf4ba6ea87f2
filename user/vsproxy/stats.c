// SPDX-License-Identifier: GPL-2.0
/*
 * Counters: summed over the loops and printed as one text line or one JSON
 * object per line, on stderr or appended to --stats-file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "vsproxy.h"

static const char *const error_names[VSP_E_NR] = {
#define X(id, name) [VSP_E_##id] = name,
	VSP_ERRORS(X)
#undef X
};

_Static_assert(sizeof(error_names) / sizeof(error_names[0]) == VSP_E_NR,
	       "one name per error kind");

static const char *const fallback_names[VSP_F_NR] = {
#define X(id, name) [VSP_F_##id] = name,
	VSP_FALLBACKS(X)
#undef X
};

_Static_assert(sizeof(fallback_names) / sizeof(fallback_names[0]) == VSP_F_NR,
	       "one name per fallback reason");

const char *vsp_fallback_name(enum vsp_fallback f)
{
	return f < VSP_F_NR ? fallback_names[f] : "?";
}

/* Direction names, as printed: 0 is client -> target. */
static const char *const dir_names[2] = { "c2t", "t2c" };

const char *vsp_error_name(enum vsp_error e)
{
	return e < VSP_E_NR ? error_names[e] : "?";
}

#define LOAD(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)

static void stats_sum(struct vsp_stats *sum)
{
	int i, j;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < vsp_nr_loops; i++) {
		struct vsp_stats *s = &vsp_loops[i].stats;

		sum->accepted += LOAD(s->accepted);
		sum->closed += LOAD(s->closed);
		sum->failed += LOAD(s->failed);
		sum->refused += LOAD(s->refused);
		for (j = 0; j < 2; j++) {
			sum->bytes[j] += LOAD(s->bytes[j]);
			sum->queued[j] += LOAD(s->queued[j]);
		}
		for (j = 0; j < VSP_E_NR; j++)
			sum->errors[j] += LOAD(s->errors[j]);
		sum->path_kernel += LOAD(s->path_kernel);
		sum->path_user += LOAD(s->path_user);
		for (j = 0; j < VSP_F_NR; j++)
			sum->fallbacks[j] += LOAD(s->fallbacks[j]);
	}
}

/* Append to buf at *off, never past len. */
static void put(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += n;
}

static FILE *stats_out(void)
{
	static FILE *f;

	if (!vsp_opts.stats_file)
		return stderr;
	if (!f) {
		f = fopen(vsp_opts.stats_file, "a");
		if (!f) {
			p_err("open --stats-file %s: %s", vsp_opts.stats_file,
			      strerror(errno));
			vsp_opts.stats_file = NULL;
			return stderr;
		}
		setvbuf(f, NULL, _IOLBF, 0);
	}
	return f;
}

/* The path new connections take: kernel, or user (asked for, or the only one). */
static const char *splice_name(void)
{
	return vsp_splice_on ? "kernel" : "user";
}

/* why: "interval", "signal" or "exit". */
void vsp_stats_print(const char *why)
{
	long active = __atomic_load_n(&vsp_active, __ATOMIC_RELAXED);
	struct vsp_stats s;
	struct timespec ts;
	char line[1024];
	size_t off = 0;
	int j;

	stats_sum(&s);
	clock_gettime(CLOCK_REALTIME, &ts);

	if (vsp_opts.json) {
		put(line, sizeof(line), &off,
		    "{\"time\":%lld.%03ld,\"reason\":\"%s\",\"accepted\":%llu,"
		    "\"active\":%ld,\"closed\":%llu,\"failed\":%llu,\"refused\":%llu",
		    (long long)ts.tv_sec, ts.tv_nsec / 1000000, why,
		    (unsigned long long)s.accepted, active,
		    (unsigned long long)s.closed, (unsigned long long)s.failed,
		    (unsigned long long)s.refused);
		put(line, sizeof(line), &off, ",\"bytes\":{\"%s\":%llu,\"%s\":%llu}",
		    dir_names[0], (unsigned long long)s.bytes[0],
		    dir_names[1], (unsigned long long)s.bytes[1]);
		put(line, sizeof(line), &off, ",\"queued\":{\"%s\":%lld,\"%s\":%lld}",
		    dir_names[0], (long long)s.queued[0],
		    dir_names[1], (long long)s.queued[1]);
		put(line, sizeof(line), &off, ",\"errors\":{");
		for (j = 0; j < VSP_E_NR; j++)
			put(line, sizeof(line), &off, "%s\"%s\":%llu", j ? "," : "",
			    error_names[j], (unsigned long long)s.errors[j]);
		put(line, sizeof(line), &off, "},\"splice\":\"%s\",\"paths\":{\"kernel\":%llu,"
		    "\"user\":%llu},\"fallbacks\":{", splice_name(),
		    (unsigned long long)s.path_kernel, (unsigned long long)s.path_user);
		for (j = 0; j < VSP_F_NR; j++)
			put(line, sizeof(line), &off, "%s\"%s\":%llu", j ? "," : "",
			    fallback_names[j], (unsigned long long)s.fallbacks[j]);
		put(line, sizeof(line), &off, "}}");
	} else {
		put(line, sizeof(line), &off,
		    VSP_NAME ": stats (%s): accepted %llu active %ld closed %llu "
		    "failed %llu refused %llu",
		    why, (unsigned long long)s.accepted, active,
		    (unsigned long long)s.closed, (unsigned long long)s.failed,
		    (unsigned long long)s.refused);
		put(line, sizeof(line), &off, " bytes %s %llu %s %llu",
		    dir_names[0], (unsigned long long)s.bytes[0],
		    dir_names[1], (unsigned long long)s.bytes[1]);
		put(line, sizeof(line), &off, " queued %s %lld %s %lld errors",
		    dir_names[0], (long long)s.queued[0],
		    dir_names[1], (long long)s.queued[1]);
		for (j = 0; j < VSP_E_NR; j++)
			put(line, sizeof(line), &off, " %s %llu", error_names[j],
			    (unsigned long long)s.errors[j]);
		put(line, sizeof(line), &off, " splice %s paths kernel %llu user %llu fallbacks",
		    splice_name(), (unsigned long long)s.path_kernel,
		    (unsigned long long)s.path_user);
		for (j = 0; j < VSP_F_NR; j++)
			put(line, sizeof(line), &off, " %s %llu", fallback_names[j],
			    (unsigned long long)s.fallbacks[j]);
	}
	if (off >= sizeof(line) - 1)
		off = sizeof(line) - 2;
	line[off++] = '\n';
	line[off] = '\0';
	fputs(line, stats_out());
	fflush(stats_out());
}
