// SPDX-License-Identifier: GPL-2.0
/*
 * vstrace: start, stop and read VSOCK tracing sessions of vstrace.ko (or of
 * the eBPF tracer, --backend bpf).
 *
 *   vstrace [OPTIONS] start [--cid N] [--port N] [--transport T]
 *   vstrace [OPTIONS] { stop | reset | status | show | top [--interval D] [--count N] }
 *
 * Verbs are matched by prefix (user/lib/cli.h).  Exit status: 0 ok, 1
 * failed (or no session), 2 bad arguments.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "backend.h"
#include "cli.h"
#include "json_writer.h"
#include "show.h"
#include "vstrace_nl.h"

static struct {
	const char *backend;
	struct vs_filter filter;
	uint64_t interval_ns;
	long iterations;
} env = {
	.backend = "kmod",
	.filter = { .cid = -1, .port = -1, .transport = -1 },
	.interval_ns = 1000000000ull,
	.iterations = -1,
};

enum {
	O_BACKEND = 'b',
	O_CID = 256, O_PORT, O_TRANSPORT, O_INTERVAL, O_COUNT,
};

static const struct option options[] = {
	CLI_COMMON_OPTIONS,
	{ "backend",	required_argument,	NULL, O_BACKEND },
	{ "cid",	required_argument,	NULL, O_CID },
	{ "port",	required_argument,	NULL, O_PORT },
	{ "transport",	required_argument,	NULL, O_TRANSPORT },
	{ "interval",	required_argument,	NULL, O_INTERVAL },
	{ "count",	required_argument,	NULL, O_COUNT },
	{ NULL, 0, NULL, 0 },
};

/* Every verb takes --backend (and the common options). */
static const int plain_opts[] = { O_BACKEND, 0 };
static const int start_opts[] = { O_BACKEND, O_CID, O_PORT, O_TRANSPORT, 0 };
static const int top_opts[] = { O_BACKEND, O_INTERVAL, O_COUNT, 0 };

static const char *const common_help =
"Options of every verb:\n"
"  -b, --backend kmod|bpf  the tracer: vstrace.ko (default) or bpf/vstrace.bpf.o\n"
"  -j, --json              JSON output (errors too: {\"error\": ...} on stdout)\n"
"  -p, --pretty            indented JSON (implies --json)\n"
"  -h, --help              this text\n"
"  -V, --version           print the version\n";

static void usage(FILE *out)
{
	fprintf(out,
"Usage: vstrace [OPTIONS] VERB [VERB OPTIONS]\n"
"\n"
"Trace where the time of VSOCK packets goes (vstrace.ko; needs root).\n"
"\n"
"Verbs (any unique prefix):\n"
"  start [--cid N] [--port N] [--transport loopback|virtio|vhost]\n"
"                   start a session (resets the counters); filters match\n"
"                   packets whose source or destination is N\n"
"  stop             stop the session; its counters stay readable\n"
"  reset            zero the counters\n"
"  status           session state and every probe point\n"
"  show             the counters of the current or last session\n"
"  top [--interval DURATION] [--count N]\n"
"                   refresh 'show' every DURATION (default 1 s)\n"
"  help             this text\n"
"\n"
"%s"
"\n"
"'vstrace VERB --help' shows a verb's options.\n"
"\n"
"Examples:\n"
"  vstrace start --port 5201 && vsbench rr --to vsock:1:5201 --size 64\n"
"  vstrace show --json | jq .ops.RW\n", common_help);
}

static void help_start(FILE *out)
{
	fprintf(out,
"Usage: vstrace start [--cid N] [--port N] [--transport loopback|virtio|vhost]\n"
"Start a session; the counters start from zero.  A filter keeps the packets\n"
"whose source or destination matches.\n\n"
"  --cid N          only packets from or to CID N\n"
"  --port N         only packets from or to port N\n"
"  --transport T    only packets of transport T (loopback, virtio, vhost)\n"
"\n%s", common_help);
}

static void help_plain(FILE *out, const char *verb, const char *what)
{
	fprintf(out, "Usage: vstrace %s\n%s\n\n%s", verb, what, common_help);
}

static void help_stop(FILE *out)
{
	help_plain(out, "stop", "Stop the session; its counters stay readable.");
}

static void help_reset(FILE *out)
{
	help_plain(out, "reset", "Zero the counters of the session, running or stopped.");
}

static void help_status(FILE *out)
{
	help_plain(out, "status",
		   "The backend, the session, and every probe point: attached, fallen back\n"
		   "to a neighbour (and why), hits and misses.");
}

static void help_show(FILE *out)
{
	help_plain(out, "show",
		   "The counters of the current or last session: packets per op, the\n"
		   "per-stage latency table, credit stalls, drops, tracer cost.");
}

static void help_top(FILE *out)
{
	fprintf(out,
"Usage: vstrace top [--interval DURATION] [--count N]\n"
"Print 'show' again every DURATION, until interrupted.\n\n"
"  --interval D     time between refreshes (default 1 s; e.g. 2, 500ms)\n"
"  --count N        stop after N refreshes\n"
"\n%s", common_help);
}

/* Options every verb takes; the others are the verb's business. */
static bool common_verb_opt(int id)
{
	if (id != O_BACKEND)
		return false;
	if (!vs_backend_get(optarg))
		cli_usage_err("--backend: unknown backend '%s' (kmod, bpf)", optarg);
	env.backend = optarg;
	return true;
}

/* A verb that takes only the options of every verb, and no arguments. */
static void plain_args(int argc, char **argv)
{
	int id;

	while ((id = cli_next_opt(argc, argv, plain_opts)) != -1)
		common_verb_opt(id);
	if (optind < argc)
		cli_usage_err("unexpected argument '%s'", argv[optind]);
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

	plain_args(argc, argv);
	if (read_all(&st, &s))
		return 1;
	if (!st.active && !st.start_ns) {
		p_err("no tracing session (start one with 'vstrace start')");
		return 1;
	}
	if (cli.json)
		vs_show_json(stdout, cli.pretty, env.backend, &st, &s);
	else
		vs_show_text(env.backend, &st, &s);
	return 0;
}

static int do_top(int argc, char **argv)
{
	struct timespec ts;
	bool tty = isatty(STDOUT_FILENO);
	struct vs_status st;
	struct vs_stats s;
	long i;
	int id;

	while ((id = cli_next_opt(argc, argv, top_opts)) != -1) {
		if (common_verb_opt(id))
			continue;
		if (id == O_INTERVAL)
			env.interval_ns = cli_duration_ns("--interval", optarg, 1000000ull,
							  3600000000000ull);
		else if (id == O_COUNT)
			env.iterations = (long)cli_u64("--count", optarg, 1, LONG_MAX);
	}
	if (optind < argc)
		cli_usage_err("unexpected argument '%s'", argv[optind]);
	ts.tv_sec = (time_t)(env.interval_ns / 1000000000ull);
	ts.tv_nsec = (long)(env.interval_ns % 1000000000ull);
	for (i = 0; env.iterations < 0 || i < env.iterations; i++) {
		if (read_all(&st, &s))
			return 1;
		if (tty && !cli.json)
			printf("\033[H\033[2J");
		if (cli.json)
			vs_show_json(stdout, cli.pretty, env.backend, &st, &s);
		else
			vs_show_text(env.backend, &st, &s);
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

	plain_args(argc, argv);
	if (read_all(&st, NULL))
		return 1;
	if (cli.json) {
		jsonw_init(&w, stdout, cli.pretty);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "backend", env.backend);
		jsonw_uint_field(&w, "version", st.version);
		jsonw_bool_field(&w, "active", st.active);
		jsonw_uint_field(&w, "start_ns", st.start_ns);
		jsonw_uint_field(&w, "duration_ns", st.duration_ns);
		vs_show_probes_json(&w, &st);
		jsonw_end_object(&w);
		return 0;
	}
	printf("backend %s (ABI %u)\nsession %s", env.backend, st.version,
	       st.active ? "running" : (st.start_ns ? "stopped" : "none"));
	if (st.start_ns)
		printf(", %.3f s", (double)st.duration_ns / 1e9);
	printf("\nfilters ");
	vs_print_filters(&st);
	printf("\n\n%-38s %-9s %-17s %10s %8s  %s\n", "PROBE POINT", "ATTACHED",
	       "KIND", "HITS", "MISSED", "NOTE");
	for (unsigned int i = 0; i < st.nr_probes; i++) {
		const struct vs_probe_status *p = &st.probes[i];
		char note[200] = "", kind[32];

		if (p->fallback[0])
			snprintf(note, sizeof(note), "fallback: %s", p->fallback);
		else if (!p->attached)
			snprintf(note, sizeof(note), "%s", p->error == -ENOENT ?
				 "not in this kernel (module not loaded or inlined)" :
				 strerror(-p->error));
		else if (p->kind_why[0])
			snprintf(note, sizeof(note), "not a jump: %s", p->kind_why);
		vs_probe_kind_text(p, kind, sizeof(kind));
		printf("%-38s %-9s %-17s %10llu %8llu  %s\n", p->point,
		       p->attached ? "yes" : "no", kind,
		       (unsigned long long)p->hits,
		       (unsigned long long)p->missed, note);
	}
	if (!st.active)
		printf("\nProbes are armed only while a session runs.\n");
	return 0;
}

static int do_start(int argc, char **argv)
{
	char err[512] = "";
	int id, t;

	while ((id = cli_next_opt(argc, argv, start_opts)) != -1) {
		switch (id) {
		case O_CID:
			env.filter.cid = (int64_t)cli_u64("--cid", optarg, 0, UINT32_MAX);
			break;
		case O_PORT:
			env.filter.port = (int64_t)cli_u64("--port", optarg, 0, UINT32_MAX);
			break;
		case O_TRANSPORT:
			t = vs_transport_parse(optarg);
			if (t < 0)
				cli_usage_err("--transport: unknown transport '%s' (loopback, virtio, vhost)",
					      optarg);
			env.filter.transport = t;
			break;
		default:
			common_verb_opt(id);
		}
	}
	if (optind < argc)
		cli_usage_err("unexpected argument '%s'", argv[optind]);
	if (backend()->start(&env.filter, err, sizeof(err))) {
		p_err("cannot start session: %s", err);
		return 1;
	}
	if (err[0])
		p_info("Note: %s", err);
	return 0;
}

static int do_stop(int argc, char **argv)
{
	char err[256] = "";

	plain_args(argc, argv);
	if (backend()->stop(err, sizeof(err))) {
		p_err("cannot stop session: %s", err);
		return 1;
	}
	return 0;
}

static int do_reset(int argc, char **argv)
{
	char err[256] = "";

	plain_args(argc, argv);
	if (backend()->reset(err, sizeof(err))) {
		p_err("cannot reset counters: %s", err);
		return 1;
	}
	return 0;
}

static int do_help(int argc, char **argv);

static const struct cli_cmd cmds[] = {
	{ "start",	do_start,	help_start },
	{ "stop",	do_stop,	help_stop },
	{ "reset",	do_reset,	help_reset },
	{ "status",	do_status,	help_status },
	{ "show",	do_show,	help_show },
	{ "top",	do_top,		help_top },
	{ "help",	do_help,	cli_help_help },
	{ NULL, NULL, NULL },
};

static int do_help(int argc, char **argv)
{
	return cli_do_help(cmds, usage, argc, argv);
}

int main(int argc, char **argv)
{
	cli_init("vstrace", options, CLI_COMMON_SHORT "b:", usage, argc, argv);
	return cli_dispatch(cmds, argc, argv);
}
