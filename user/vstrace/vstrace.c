// SPDX-License-Identifier: GPL-2.0
/*
 * vstrace: start, stop and read VSOCK tracing sessions of vstrace.ko.
 *
 *   vstrace start [--cid N] [--port N] [--transport loopback|virtio|vhost]
 *   vstrace stop | reset | status | show [--json] | top
 *
 * Commands are matched by prefix, as in bpftool and ip.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "json_writer.h"
#include "backend.h"
#include "vstrace_nl.h"

static struct {
	bool json;
	bool pretty;
	const char *backend;
	struct vs_filter filter;
	double interval;
	long iterations;
} env = {
	.backend = "kmod",
	.filter = { .cid = -1, .port = -1, .transport = -1 },
	.interval = 1.0,
	.iterations = -1,
};

static const char *prog = "vstrace";

static void p_err(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (env.json) {
		json_writer_t w;

		jsonw_init(&w, stdout, env.pretty);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "error", buf);
		jsonw_end_object(&w);
	} else {
		fprintf(stderr, "Error: %s\n", buf);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
"Usage: %s [OPTIONS] COMMAND\n"
"\n"
"Trace where the time of VSOCK packets goes (vstrace.ko; needs root).\n"
"\n"
"Commands:\n"
"  start [--cid N] [--port N] [--transport loopback|virtio|vhost]\n"
"                   start a session (resets the counters); filters match\n"
"                   packets whose source or destination is N\n"
"  stop             stop the session; its counters stay readable\n"
"  reset            zero the counters\n"
"  status           session state and every probe point\n"
"  show [--json]    the counters of the current or last session\n"
"  top [--interval S] [--count N]\n"
"                   refresh 'show' every S seconds\n"
"\n"
"Options:\n"
"  -j, --json       JSON output\n"
"  -p, --pretty     indented JSON (implies --json)\n"
"  -b, --backend kmod|bpf\n"
"                   the tracer: vstrace.ko (default) or bpf/vstrace.bpf.o\n"
"  -h, --help       this text\n"
"\n"
"Examples:\n"
"  vstrace start --port 5201 && vsbench rr --to vsock:1:5201 --size 64\n"
"  vstrace show --json | jq .ops.RW\n", prog);
}

static void sum_ops(const struct vs_stats *s, int op, uint64_t *pk, uint64_t *by)
{
	*pk = *by = 0;
	for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
		for (int d = 0; d < VSTRACE_NR_DIRS; d++) {
			*pk += s->packets[t][d][op];
			*by += s->bytes[t][d][op];
		}
}

static double ns_per_hit(const struct vs_stats *s)
{
	uint64_t hits = s->counters[VSTRACE_CTR_PROBE_HITS];

	return hits ? (double)s->counters[VSTRACE_CTR_PROBE_NS] / (double)hits : 0.0;
}

static void show_json(const struct vs_status *st, const struct vs_stats *s)
{
	struct utsname u;
	json_writer_t w;

	uname(&u);
	jsonw_init(&w, stdout, env.pretty);
	jsonw_start_object(&w);
	jsonw_string_field(&w, "kernel", u.release);
	jsonw_string_field(&w, "backend", env.backend);
	jsonw_name(&w, "session");
	jsonw_start_object(&w);
	jsonw_bool_field(&w, "active", st->active);
	jsonw_uint_field(&w, "start_ns", st->start_ns);
	jsonw_uint_field(&w, "duration_ns", st->duration_ns);
	jsonw_name(&w, "filter");
	jsonw_start_object(&w);
	if (st->filter_cid >= 0)
		jsonw_int_field(&w, "cid", st->filter_cid);
	if (st->filter_port >= 0)
		jsonw_int_field(&w, "port", st->filter_port);
	if (st->filter_transport >= 0 && st->filter_transport < VSTRACE_NR_TRANSPORTS)
		jsonw_string_field(&w, "transport", vs_transport_names[st->filter_transport]);
	jsonw_end_object(&w);
	jsonw_end_object(&w);

	/* One entry per non-empty (stage, dir, transport) histogram. */
	jsonw_name(&w, "stages");
	jsonw_start_array(&w);
	for (int d = 0; d < VSTRACE_NR_DIRS; d++)
		for (int st = 0; st < VSTRACE_NR_STAGES; st++)
			for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++) {
				const struct vs_hist *h = vs_stats_hist(s, st, d, t);

				if (!h->count)
					continue;
				jsonw_start_object(&w);
				jsonw_string_field(&w, "stage", vs_stage_names[st]);
				jsonw_string_field(&w, "dir", vs_dir_names[d]);
				jsonw_string_field(&w, "transport", vs_transport_names[t]);
				jsonw_uint_field(&w, "count", h->count);
				jsonw_uint_field(&w, "mean_ns", (uint64_t)(vs_hist_mean(h) + 0.5));
				jsonw_uint_field(&w, "p50_ns", vs_hist_percentile(h, 50.0));
				jsonw_uint_field(&w, "p90_ns", vs_hist_percentile(h, 90.0));
				jsonw_uint_field(&w, "p99_ns", vs_hist_percentile(h, 99.0));
				jsonw_uint_field(&w, "p999_ns", vs_hist_percentile(h, 99.9));
				jsonw_uint_field(&w, "max_ns", h->max);
				jsonw_end_object(&w);
			}
	jsonw_end_array(&w);

	/* Every packet this kernel saw, sent or received, per op. */
	jsonw_name(&w, "ops");
	jsonw_start_object(&w);
	for (int op = 0; op < VSTRACE_NR_OPS; op++) {
		uint64_t pk, by;

		if (op == VSTRACE_OP_INVALID)
			continue;
		sum_ops(s, op, &pk, &by);
		jsonw_name(&w, vs_op_names[op]);
		jsonw_start_object(&w);
		jsonw_uint_field(&w, "packets", pk);
		jsonw_uint_field(&w, "bytes", by);
		jsonw_end_object(&w);
	}
	jsonw_end_object(&w);

	jsonw_name(&w, "packets");
	jsonw_start_array(&w);
	for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
		for (int d = 0; d < VSTRACE_NR_DIRS; d++)
			for (int op = 0; op < VSTRACE_NR_OPS; op++) {
				if (!s->packets[t][d][op])
					continue;
				jsonw_start_object(&w);
				jsonw_string_field(&w, "transport", vs_transport_names[t]);
				jsonw_string_field(&w, "dir", vs_dir_names[d]);
				jsonw_string_field(&w, "op", vs_op_names[op]);
				jsonw_uint_field(&w, "packets", s->packets[t][d][op]);
				jsonw_uint_field(&w, "bytes", s->bytes[t][d][op]);
				jsonw_end_object(&w);
			}
	jsonw_end_array(&w);

	jsonw_name(&w, "credit");
	jsonw_start_object(&w);
	jsonw_uint_field(&w, "stalls", s->counters[VSTRACE_CTR_CREDIT_STALLS]);
	jsonw_uint_field(&w, "stall_ns", s->counters[VSTRACE_CTR_CREDIT_STALL_NS]);
	jsonw_end_object(&w);
	jsonw_uint_field(&w, "drops", s->counters[VSTRACE_CTR_DROPS]);
	jsonw_uint_field(&w, "tx_queue_max", s->counters[VSTRACE_CTR_TX_QUEUE_MAX]);
	jsonw_name(&w, "overhead");
	jsonw_start_object(&w);
	jsonw_uint_field(&w, "probe_hits", s->counters[VSTRACE_CTR_PROBE_HITS]);
	jsonw_float_field(&w, "ns_per_hit", ns_per_hit(s));
	jsonw_end_object(&w);
	jsonw_name(&w, "counters");
	jsonw_start_object(&w);
	for (int c = 0; c < VSTRACE_NR_COUNTERS; c++)
		jsonw_uint_field(&w, vs_counter_names[c], s->counters[c]);
	jsonw_end_object(&w);

	jsonw_name(&w, "probes");
	jsonw_start_array(&w);
	for (unsigned int i = 0; i < st->nr_probes; i++) {
		const struct vs_probe_status *p = &st->probes[i];

		jsonw_start_object(&w);
		jsonw_string_field(&w, "point", p->point);
		jsonw_bool_field(&w, "attached", p->attached);
		if (p->fallback[0])
			jsonw_string_field(&w, "fallback", p->fallback);
		else {
			jsonw_name(&w, "fallback");
			jsonw_null(&w);
		}
		jsonw_int_field(&w, "error", p->error);
		jsonw_uint_field(&w, "hits", p->hits);
		jsonw_uint_field(&w, "missed", p->missed);
		jsonw_end_object(&w);
	}
	jsonw_end_array(&w);
	jsonw_end_object(&w);
}

static void print_filters(const struct vs_status *st)
{
	if (st->filter_cid < 0 && st->filter_port < 0 && st->filter_transport < 0) {
		printf("none");
		return;
	}
	if (st->filter_cid >= 0)
		printf("cid %lld ", (long long)st->filter_cid);
	if (st->filter_port >= 0)
		printf("port %lld ", (long long)st->filter_port);
	if (st->filter_transport >= 0 && st->filter_transport < VSTRACE_NR_TRANSPORTS)
		printf("transport %s", vs_transport_names[st->filter_transport]);
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

/*
 * The per-stage table of this side: one block per direction (tx, rx,
 * wakeup), latencies in microseconds, and the sum of the stage means.
 */
static void show_stages(const struct vs_stats *s)
{
	double total = 0.0;
	bool any = false;

	printf("\n%-7s %-6s %-9s %9s %10s %10s %10s %10s %10s %10s\n", "STAGE", "DIR",
	       "TRANSPORT", "COUNT", "MEAN(us)", "P50", "P90", "P99", "P999", "MAX");
	for (int d = 0; d < VSTRACE_NR_DIRS; d++) {
		bool block = false;

		for (int st = 0; st < VSTRACE_NR_STAGES; st++)
			for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++) {
				const struct vs_hist *h = vs_stats_hist(s, st, d, t);

				if (!h->count)
					continue;
				if (any && !block)
					printf("\n");
				any = block = true;
				total += vs_hist_mean(h);
				printf("%-7s %-6s %-9s %9llu %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f\n",
				       vs_stage_names[st], vs_dir_names[d], vs_transport_names[t],
				       (unsigned long long)h->count, vs_hist_mean(h) / 1000.0,
				       us(vs_hist_percentile(h, 50.0)),
				       us(vs_hist_percentile(h, 90.0)),
				       us(vs_hist_percentile(h, 99.0)),
				       us(vs_hist_percentile(h, 99.9)), us(h->max));
			}
	}
	if (!any)
		printf("(no stage latencies)\n");
	else
		printf("\nsum of stage means %.2f us\n", total / 1000.0);
}

static void show_text(const struct vs_status *st, const struct vs_stats *s)
{
	struct utsname u;
	bool any = false;

	uname(&u);
	printf("kernel %s  backend %s  session %s, %.3f s  filters: ",
	       u.release, env.backend, st->active ? "running" : "stopped",
	       (double)st->duration_ns / 1e9);
	print_filters(st);
	printf("\n\n%-10s %-4s %-15s %12s %14s\n", "TRANSPORT", "DIR", "OP",
	       "PACKETS", "BYTES");
	for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
		for (int d = 0; d < VSTRACE_NR_DIRS; d++)
			for (int op = 0; op < VSTRACE_NR_OPS; op++) {
				if (!s->packets[t][d][op])
					continue;
				any = true;
				printf("%-10s %-4s %-15s %12llu %14llu\n",
				       vs_transport_names[t], vs_dir_names[d],
				       vs_op_names[op],
				       (unsigned long long)s->packets[t][d][op],
				       (unsigned long long)s->bytes[t][d][op]);
			}
	if (!any)
		printf("(no packets)\n");
	show_stages(s);
	printf("\ncredit stalls %llu (%llu ns)  drops %llu  filtered out %llu  tx queue max %llu\n",
	       (unsigned long long)s->counters[VSTRACE_CTR_CREDIT_STALLS],
	       (unsigned long long)s->counters[VSTRACE_CTR_CREDIT_STALL_NS],
	       (unsigned long long)s->counters[VSTRACE_CTR_DROPS],
	       (unsigned long long)s->counters[VSTRACE_CTR_FILTERED],
	       (unsigned long long)s->counters[VSTRACE_CTR_TX_QUEUE_MAX]);
	printf("tracer cost: %llu probe hits, %.0f ns per hit; %llu in-flight entries expired\n",
	       (unsigned long long)s->counters[VSTRACE_CTR_PROBE_HITS],
	       ns_per_hit(s),
	       (unsigned long long)s->counters[VSTRACE_CTR_INFLIGHT_EXPIRED]);
}

static const struct vs_backend *backend(void)
{
	return vs_backend_get(env.backend);
}

static int read_all(struct vs_status *st, struct vs_stats *s)
{
	char err[256] = "";
	int ret = backend()->read(st, s, err, sizeof(err));

	if (ret)
		p_err("cannot read counters: %s", err);
	return ret;
}

static int do_show(int argc, char **argv)
{
	struct vs_status st;
	struct vs_stats s;

	(void)argc; (void)argv;
	if (read_all(&st, &s))
		return 1;
	if (!st.active && !st.start_ns) {
		p_err("no tracing session (start one with 'vstrace start')");
		return 1;
	}
	if (env.json)
		show_json(&st, &s);
	else
		show_text(&st, &s);
	return 0;
}

static int do_top(int argc, char **argv)
{
	struct timespec ts = {
		.tv_sec = (time_t)env.interval,
		.tv_nsec = (long)((env.interval - (double)(time_t)env.interval) * 1e9),
	};
	bool tty = isatty(STDOUT_FILENO);
	struct vs_status st;
	struct vs_stats s;
	long i;

	(void)argc; (void)argv;
	for (i = 0; env.iterations < 0 || i < env.iterations; i++) {
		if (read_all(&st, &s))
			return 1;
		if (tty && !env.json)
			printf("\033[H\033[2J");
		if (env.json)
			show_json(&st, &s);
		else
			show_text(&st, &s);
		fflush(stdout);
		if (env.iterations < 0 || i + 1 < env.iterations)
			nanosleep(&ts, NULL);
	}
	return 0;
}

static int do_status(int argc, char **argv)
{
	struct vs_status st;
	json_writer_t w;

	(void)argc; (void)argv;
	if (read_all(&st, NULL))
		return 1;
	if (env.json) {
		jsonw_init(&w, stdout, env.pretty);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "backend", env.backend);
		jsonw_uint_field(&w, "version", st.version);
		jsonw_bool_field(&w, "active", st.active);
		jsonw_uint_field(&w, "start_ns", st.start_ns);
		jsonw_uint_field(&w, "duration_ns", st.duration_ns);
		jsonw_name(&w, "probes");
		jsonw_start_array(&w);
		for (unsigned int i = 0; i < st.nr_probes; i++) {
			jsonw_start_object(&w);
			jsonw_string_field(&w, "point", st.probes[i].point);
			jsonw_bool_field(&w, "attached", st.probes[i].attached);
			jsonw_name(&w, "fallback");
			if (st.probes[i].fallback[0])
				jsonw_string(&w, st.probes[i].fallback);
			else
				jsonw_null(&w);
			jsonw_int_field(&w, "error", st.probes[i].error);
			jsonw_uint_field(&w, "hits", st.probes[i].hits);
			jsonw_uint_field(&w, "missed", st.probes[i].missed);
			jsonw_end_object(&w);
		}
		jsonw_end_array(&w);
		jsonw_end_object(&w);
		return 0;
	}
	printf("backend %s (ABI %u)\nsession %s", env.backend, st.version,
	       st.active ? "running" : (st.start_ns ? "stopped" : "none"));
	if (st.start_ns)
		printf(", %.3f s", (double)st.duration_ns / 1e9);
	printf("\nfilters ");
	print_filters(&st);
	printf("\n\n%-38s %-9s %10s %8s  %s\n", "PROBE POINT", "ATTACHED", "HITS",
	       "MISSED", "NOTE");
	for (unsigned int i = 0; i < st.nr_probes; i++) {
		const struct vs_probe_status *p = &st.probes[i];
		char note[200] = "";

		if (p->fallback[0])
			snprintf(note, sizeof(note), "fallback: %s", p->fallback);
		else if (!p->attached)
			snprintf(note, sizeof(note), "%s", p->error == -ENOENT ?
				 "not in this kernel (module not loaded or inlined)" :
				 strerror(-p->error));
		printf("%-38s %-9s %10llu %8llu  %s\n", p->point,
		       p->attached ? "yes" : "no",
		       (unsigned long long)p->hits,
		       (unsigned long long)p->missed, note);
	}
	return 0;
}

static int do_start(int argc, char **argv)
{
	char err[512] = "";

	(void)argc; (void)argv;
	if (backend()->start(&env.filter, err, sizeof(err))) {
		p_err("cannot start session: %s", err);
		return 1;
	}
	if (err[0] && !env.json)
		fprintf(stderr, "Note: %s\n", err);
	return 0;
}

static int do_stop(int argc, char **argv)
{
	char err[256] = "";

	(void)argc; (void)argv;
	if (backend()->stop(err, sizeof(err))) {
		p_err("cannot stop session: %s", err);
		return 1;
	}
	return 0;
}

static int do_reset(int argc, char **argv)
{
	char err[256] = "";

	(void)argc; (void)argv;
	if (backend()->reset(err, sizeof(err))) {
		p_err("cannot reset counters: %s", err);
		return 1;
	}
	return 0;
}

static int do_help(int argc, char **argv)
{
	(void)argc; (void)argv;
	usage(stdout);
	return 0;
}

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "start",	do_start },
	{ "stop",	do_stop },
	{ "reset",	do_reset },
	{ "status",	do_status },
	{ "show",	do_show },
	{ "top",	do_top },
	{ "help",	do_help },
};

/* Unique prefix match; exact names win ("st" is ambiguous). */
static const struct cmd *cmd_select(const char *name)
{
	const struct cmd *found = NULL;
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
		if (!strncmp(cmds[i].name, name, len)) {
			if (found)
				return NULL;
			found = &cmds[i];
		}
	}
	return found;
}

static int parse_num(const char *opt, const char *s, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || *end || !*s || v < 0 || v > max) {
		p_err("%s: invalid value '%s' (0..%lld)", opt, s, max);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "backend",	required_argument,	NULL, 'b' },
		{ "cid",	required_argument,	NULL, 'C' },
		{ "port",	required_argument,	NULL, 'P' },
		{ "transport",	required_argument,	NULL, 'T' },
		{ "interval",	required_argument,	NULL, 'i' },
		{ "count",	required_argument,	NULL, 'n' },
		{ "help",	no_argument,		NULL, 'h' },
		{ 0 }
	};
	const struct cmd *cmd;
	long long v;
	char *end;
	int c, t;

	/* Options may come before or after the command (GNU getopt permutes). */
	while ((c = getopt_long(argc, argv, "jpb:hi:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			env.json = true;
			break;
		case 'p':
			env.json = env.pretty = true;
			break;
		case 'b':
			if (!vs_backend_get(optarg)) {
				p_err("--backend: unknown backend '%s' (kmod, bpf)", optarg);
				return 2;
			}
			env.backend = optarg;
			break;
		case 'C':
			if (parse_num("--cid", optarg, UINT32_MAX, &v))
				return 2;
			env.filter.cid = v;
			break;
		case 'P':
			if (parse_num("--port", optarg, UINT32_MAX, &v))
				return 2;
			env.filter.port = v;
			break;
		case 'T':
			t = vs_transport_parse(optarg);
			if (t < 0) {
				p_err("--transport: unknown transport '%s' (loopback, virtio, vhost)",
				      optarg);
				return 2;
			}
			env.filter.transport = t;
			break;
		case 'i':
			env.interval = strtod(optarg, &end);
			if (*end || env.interval <= 0 || env.interval > 3600) {
				p_err("--interval: invalid value '%s' (seconds, >0)", optarg);
				return 2;
			}
			break;
		case 'n':
			if (parse_num("--count", optarg, LONG_MAX, &v))
				return 2;
			env.iterations = v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = cmd_select(argv[optind]);
	if (!cmd) {
		p_err("unknown or ambiguous command '%s'; try '%s --help'",
		      argv[optind], prog);
		return 2;
	}
	if (optind + 1 < argc) {
		p_err("%s: unexpected argument '%s'", cmd->name, argv[optind + 1]);
		return 2;
	}
	return cmd->fn(argc - optind, argv + optind);
}
