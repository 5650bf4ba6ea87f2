// SPDX-License-Identifier: GPL-2.0
/*
 * vsbench: load generator for VSOCK and TCP stream sockets.
 *
 *   vsbench server [--vsock] [--tcp] [--port N]
 *   vsbench rr     --to ADDR --size BYTES [...]
 *   vsbench stream --to ADDR --size BYTES [--threads N] [--seconds S] [...]
 *   vsbench sweep  --to ADDR [--to ADDR...] [...]
 *
 * This file: verbs, argument parsing (user/lib/cli.h) and the run state
 * shared by the client threads (first error wins and stops the others).
 * Exit status: 0 ok, 1 run failed, 2 bad arguments.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "vsbench.h"

volatile int vsb_stop;

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char fail_msg[1024];
static bool failed;
static volatile sig_atomic_t interrupted;

void vsb_fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&fail_lock);
	if (!failed) {
		va_start(ap, fmt);
		vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
		va_end(ap);
		failed = true;
	}
	vsb_stop = 1;
	pthread_mutex_unlock(&fail_lock);
}

/* Between the runs of a sweep; an interrupt (^C) stays in force. */
void vsb_clear_failure(void)
{
	pthread_mutex_lock(&fail_lock);
	failed = false;
	fail_msg[0] = '\0';
	vsb_stop = interrupted;
	pthread_mutex_unlock(&fail_lock);
}

bool vsb_interrupted(void)
{
	return interrupted;
}

bool vsb_failed(void)
{
	return __atomic_load_n(&failed, __ATOMIC_ACQUIRE);
}

const char *vsb_error_text(void)
{
	return fail_msg;
}

bool vsb_progress_enabled(void)
{
	return isatty(STDERR_FILENO);
}

/* Last resort if a thread ignores the deadline: never hang. */
void vsb_watchdog(uint64_t deadline)
{
	if (vsb_now_ns() < deadline + 5000000000ull)
		return;
	p_err("%s", vsb_failed() ? fail_msg : "timeout: the run did not finish");
	p_err("threads did not stop 5 s after the deadline; giving up");
	_exit(VSB_EXIT_ERROR);
}

static int report_failure(void)
{
	p_err("%s", fail_msg);
	return VSB_EXIT_ERROR;
}

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
	vsb_stop = 1;
	/* A second ^C kills at once. */
	signal(SIGINT, SIG_DFL);
}

/* A DURATION (cli.h), in seconds. */
static double cli_seconds(const char *opt, const char *arg, double min, double max)
{
	return (double)cli_duration_ns(opt, arg, (uint64_t)(min * 1e9 + 0.5),
				       (uint64_t)(max * 1e9 + 0.5)) / 1e9;
}

/* "N" or "N,M,..." */
static unsigned int parse_cpus(const char *arg, int *cpus)
{
	char buf[256], *save, *tok;
	unsigned int n = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	if (strlen(arg) >= sizeof(buf))
		cli_usage_err("--cpu: list too long");
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == VSB_MAX_CPUS)
			cli_usage_err("--cpu: more than %d CPUs", VSB_MAX_CPUS);
		cpus[n++] = (int)cli_u64("--cpu", tok, 0, ncpu > 0 ? ncpu - 1 : 1023);
	}
	if (!n)
		cli_usage_err("--cpu: '%s' names no CPU", arg);
	return n;
}

/* ---- options ---- */

enum {
	O_VERBOSE = 'v',
	O_TO = 256, O_SIZE, O_RSP_SIZE, O_COUNT, O_WARMUP, O_CONNS, O_RATE,
	O_THREADS, O_SECONDS, O_DIRECTION, O_INTERVAL, O_CPU, O_SNDBUF, O_RCVBUF,
	O_VSOCK_BUF, O_ZEROCOPY, O_VERIFY, O_TIMEOUT, O_CSV, O_NO_HEADER,
	O_SCENARIO, O_MIN_SIZE, O_MAX_SIZE, O_ONLY,
	O_VSOCK, O_TCP, O_PORT, O_BIND, O_INJECT_CORRUPT, O_INJECT_SHORT,
};

static const struct option all_options[] = {
	CLI_COMMON_OPTIONS,
	{ "verbose",	no_argument,		NULL, O_VERBOSE },
	{ "to",		required_argument,	NULL, O_TO },
	{ "size",	required_argument,	NULL, O_SIZE },
	{ "rsp-size",	required_argument,	NULL, O_RSP_SIZE },
	{ "count",	required_argument,	NULL, O_COUNT },
	{ "warmup",	required_argument,	NULL, O_WARMUP },
	{ "conns",	required_argument,	NULL, O_CONNS },
	{ "rate",	required_argument,	NULL, O_RATE },
	{ "threads",	required_argument,	NULL, O_THREADS },
	{ "seconds",	required_argument,	NULL, O_SECONDS },
	{ "direction",	required_argument,	NULL, O_DIRECTION },
	{ "interval",	required_argument,	NULL, O_INTERVAL },
	{ "cpu",	required_argument,	NULL, O_CPU },
	{ "sndbuf",	required_argument,	NULL, O_SNDBUF },
	{ "rcvbuf",	required_argument,	NULL, O_RCVBUF },
	{ "vsock-buf",	required_argument,	NULL, O_VSOCK_BUF },
	{ "zerocopy",	no_argument,		NULL, O_ZEROCOPY },
	{ "verify",	no_argument,		NULL, O_VERIFY },
	{ "timeout",	required_argument,	NULL, O_TIMEOUT },
	{ "csv",	no_argument,		NULL, O_CSV },
	{ "no-header",	no_argument,		NULL, O_NO_HEADER },
	{ "scenario",	required_argument,	NULL, O_SCENARIO },
	{ "min-size",	required_argument,	NULL, O_MIN_SIZE },
	{ "max-size",	required_argument,	NULL, O_MAX_SIZE },
	{ "only",	required_argument,	NULL, O_ONLY },
	{ "vsock",	no_argument,		NULL, O_VSOCK },
	{ "tcp",	no_argument,		NULL, O_TCP },
	{ "port",	required_argument,	NULL, O_PORT },
	{ "bind",	required_argument,	NULL, O_BIND },
	{ "inject-corrupt", required_argument,	NULL, O_INJECT_CORRUPT },
	{ "inject-short", required_argument,	NULL, O_INJECT_SHORT },
	{ NULL, 0, NULL, 0 },
};

/* -j/--json, -p/--pretty, -h/--help and -V/--version go with every verb. */
#define CLIENT_COMMON	O_TO, O_CPU, O_SNDBUF, O_RCVBUF, O_VSOCK_BUF, O_VERIFY, \
			O_TIMEOUT, O_CSV, O_NO_HEADER, O_SCENARIO

static const int rr_allowed[] = { CLIENT_COMMON, O_SIZE, O_RSP_SIZE, O_COUNT, O_WARMUP,
				  O_CONNS, O_RATE, 0 };
static const int stream_allowed[] = { CLIENT_COMMON, O_SIZE, O_THREADS, O_SECONDS,
				      O_DIRECTION, O_INTERVAL, O_ZEROCOPY, 0 };
static const int sweep_allowed[] = { CLIENT_COMMON, O_COUNT, O_WARMUP, O_CONNS, O_THREADS,
				     O_SECONDS, O_DIRECTION, O_ZEROCOPY, O_MIN_SIZE,
				     O_MAX_SIZE, O_ONLY, 0 };
static const int server_allowed[] = { O_VSOCK, O_TCP, O_PORT, O_BIND, O_CPU, O_TIMEOUT,
				      O_INJECT_CORRUPT, O_INJECT_SHORT, O_VERBOSE, 0 };

/* ---- help ---- */

static const char *const help_common =
	"  --to ADDR           tcp:HOST:PORT or vsock:CID:PORT\n"
	"  --cpu N[,M...]      pin connection threads to these CPUs, round robin\n"
	"  --sndbuf BYTES      SO_SNDBUF (client, and the server's side)\n"
	"  --rcvbuf BYTES      SO_RCVBUF (client, and the server's side)\n"
	"  --vsock-buf BYTES   SO_VM_SOCKETS_BUFFER_SIZE on both sides (VSOCK only)\n"
	"  --verify            check every payload byte; a lost or corrupted byte fails the run\n"
	"  --timeout SEC       deadline for the whole run (default: rr 60, stream SECONDS+30)\n"
	"  -j, --json          one JSON object on stdout (-J too); errors: {\"error\": ...}\n"
	"  -p, --pretty        indented JSON (implies --json)\n"
	"  --csv               CSV with the paper's column names  (--no-header: rows only)\n"
	"  --scenario NAME     value of the CSV 'scenario' column\n"
	"  -h, --help          this help\n"
	"  -V, --version       print the version\n";

static void help_rr(FILE *out)
{
	fprintf(out, "Usage: %s rr --to ADDR --size BYTES [OPTIONS]\n"
	       "Round trips: the client sends --size bytes, the server answers --rsp-size.\n"
	       "Prints min, mean, p50, p90, p99, p999 and max round trip in microseconds.\n\n"
	       "  --size BYTES        request size (K, M, G suffixes: binary)\n"
	       "  --rsp-size BYTES    response size (default: --size)\n"
	       "  --count N           measured round trips per connection (default 10000)\n"
	       "  --warmup N          unmeasured round trips first (default 1000)\n"
	       "  --conns N           connections at once, one thread each (default 1)\n"
	       "  --rate R            open loop: R requests/s in total, latency measured from\n"
	       "                      each request's intended send time\n%s"
	       "\nExample: %s rr --to vsock:3:5201 --size 64 --count 100000\n",
	       "vsbench", help_common, "vsbench");
}

static void help_stream(FILE *out)
{
	fprintf(out, "Usage: %s stream --to ADDR --size BYTES [OPTIONS]\n"
	       "Throughput, per connection and in total, as counted by sender and receiver.\n\n"
	       "  --size BYTES        bytes per send()\n"
	       "  --threads N         connections, one thread each (default 1)\n"
	       "  --seconds S         how long to send (default 10)\n"
	       "  --direction D       forward: client sends (default); backward: server sends\n"
	       "  --interval S        JSON interval length (default 1)\n"
	       "  --zerocopy          the sender uses MSG_ZEROCOPY (VSOCK: Linux 6.7 and later)\n%s"
	       "\nExample: %s stream --to vsock:3:5201 --size 64K --threads 4 --seconds 10\n",
	       "vsbench", help_common, "vsbench");
}

static void help_sweep(FILE *out)
{
	fprintf(out, "Usage: %s sweep --to ADDR [--to ADDR...] [OPTIONS]\n"
	       "rr and stream for every power-of-two size, one row per size, targets side by side.\n\n"
	       "  --min-size BYTES    first size (default 64)\n"
	       "  --max-size BYTES    last size (default 1M)\n"
	       "  --only rr|stream    run one of the two\n"
	       "  --count N           rr round trips per size (default 1000; --warmup: 100)\n"
	       "  --conns N           rr connections (default 1)\n"
	       "  --seconds S         stream seconds per size (default 1)\n"
	       "  --threads N         stream connections (default 1)\n"
	       "  --direction D       stream direction (default forward)\n"
	       "  --zerocopy          stream sender uses MSG_ZEROCOPY\n%s"
	       "\nWith --csv and both kinds: the latency table, an empty line, the throughput table.\n"
	       "Example: %s sweep --to vsock:1:5201 --to tcp:127.0.0.1:5201\n",
	       "vsbench", help_common, "vsbench");
}

static void help_server(FILE *out)
{
	fprintf(out, "Usage: %s server [--vsock] [--tcp] [--port N] [OPTIONS]\n"
	       "Serve rr and stream clients; the client says what to do.  Prints\n"
	       "'listening on ADDR' per socket on stdout, then runs until killed.\n\n"
	       "  --vsock             listen on VSOCK, any CID (the default)\n"
	       "  --tcp               listen on TCP (both: listen on both)\n"
	       "  --port N            port (default %u; 0: any free port)\n"
	       "  --bind HOST         TCP address to listen on (default: all)\n"
	       "  --cpu N[,M...]      pin connection threads, round robin\n"
	       "  --timeout SEC       drop a connection idle this long (default 60)\n"
	       "  -v, --verbose       one line per connection on stderr\n"
	       "Test-only faults, on every connection:\n"
	       "  --inject-corrupt N  flip a byte in the N-th message sent (a forward stream:\n"
	       "                      in the N-th read)\n"
	       "  --inject-short N    send the N-th message one byte short and close (a forward\n"
	       "                      stream: close after the N-th read)\n"
	       "\nExample: %s server --vsock --tcp --port 5201\n",
	       "vsbench", VSB_DEFAULT_PORT, "vsbench");
}

static void help_main(FILE *out)
{
	fprintf(out,
		"Usage: %s VERB [OPTIONS]\n"
		"Load generator for VSOCK and TCP stream sockets.\n\n"
		"Verbs:\n"
		"  server   answer clients (VSOCK and/or TCP)\n"
		"  rr       request/response round trip latency\n"
		"  stream   bulk throughput\n"
		"  sweep    rr and stream over message sizes 64 B .. 1 MiB\n"
		"  help     this text\n\n"
		"Verbs match by unique prefix.  Every verb takes -j/--json (-J),\n"
		"-p/--pretty, -h/--help and -V/--version.\n"
		"'%s VERB --help' lists a verb's options.\n", "vsbench", "vsbench");
}

/* ---- verbs ---- */

static void client_defaults(struct vsb_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->count = 10000;
	o->warmup = 1000;
	o->conns = 1;
	o->threads = 1;
	o->seconds = 10;
	o->interval = 1;
	o->min_size = 64;
	o->max_size = 1u << 20;
	o->sweep_rr = o->sweep_stream = true;
}

static void parse_client(int argc, char **argv, struct vsb_opts *o, const int *allowed,
			 bool *count_set, bool *seconds_set)
{
	int id;

	while ((id = cli_next_opt(argc, argv, allowed)) != -1) {
		switch (id) {
		case O_TO:
			if (o->nr_to && allowed != sweep_allowed)
				cli_usage_err("--to given twice");
			if (o->nr_to == VSB_MAX_TARGETS)
				cli_usage_err("--to: at most %d targets", VSB_MAX_TARGETS);
			cli_addr("--to", optarg, &o->to[o->nr_to]);
			o->nr_to++;
			break;
		case O_SIZE:
			o->size = (uint32_t)cli_size("--size", optarg, 1, VSB_MAX_MSG);
			break;
		case O_RSP_SIZE:
			o->rsp_size = (uint32_t)cli_size("--rsp-size", optarg, 1, VSB_MAX_MSG);
			break;
		case O_COUNT:
			o->count = cli_u64("--count", optarg, 1, 1ull << 40);
			*count_set = true;
			break;
		case O_WARMUP:
			o->warmup = cli_u64("--warmup", optarg, 0, 1ull << 40);
			break;
		case O_CONNS:
			o->conns = (unsigned int)cli_u64("--conns", optarg, 1, 4096);
			break;
		case O_RATE:
			o->rate = cli_double("--rate", optarg, 0.001, 1e8);
			break;
		case O_THREADS:
			o->threads = (unsigned int)cli_u64("--threads", optarg, 1, 4096);
			break;
		case O_SECONDS:
			o->seconds = cli_seconds("--seconds", optarg, 0.01, 86400);
			*seconds_set = true;
			break;
		case O_DIRECTION:
			if (!strcmp(optarg, "forward"))
				o->backward = false;
			else if (!strcmp(optarg, "backward"))
				o->backward = true;
			else
				cli_usage_err("--direction: '%s': expected forward or backward", optarg);
			break;
		case O_INTERVAL:
			o->interval = cli_seconds("--interval", optarg, 0.05, 3600);
			break;
		case O_CPU:
			o->nr_cpus = parse_cpus(optarg, o->cpus);
			break;
		case O_SNDBUF:
			o->sndbuf = (uint32_t)cli_size("--sndbuf", optarg, 1, INT_MAX);
			break;
		case O_RCVBUF:
			o->rcvbuf = (uint32_t)cli_size("--rcvbuf", optarg, 1, INT_MAX);
			break;
		case O_VSOCK_BUF:
			o->vsock_buf = cli_size("--vsock-buf", optarg, 1, 1ull << 32);
			break;
		case O_ZEROCOPY:
			o->zerocopy = true;
			break;
		case O_VERIFY:
			o->verify = true;
			break;
		case O_TIMEOUT:
			o->timeout = cli_seconds("--timeout", optarg, 0.1, 86400 * 7);
			break;
		case O_CSV:
			o->csv = true;
			break;
		case O_NO_HEADER:
			o->csv_no_header = true;
			break;
		case O_SCENARIO:
			if (strchr(optarg, ',') || strchr(optarg, '"') || strchr(optarg, '\n'))
				cli_usage_err("--scenario: '%s': no commas, quotes or newlines", optarg);
			o->scenario = optarg;
			break;
		case O_MIN_SIZE:
			o->min_size = (uint32_t)cli_size("--min-size", optarg, 1, VSB_MAX_MSG);
			break;
		case O_MAX_SIZE:
			o->max_size = (uint32_t)cli_size("--max-size", optarg, 1, VSB_MAX_MSG);
			break;
		case O_ONLY:
			if (!strcmp(optarg, "rr"))
				o->sweep_stream = false;
			else if (!strcmp(optarg, "stream"))
				o->sweep_rr = false;
			else
				cli_usage_err("--only: '%s': expected rr or stream", optarg);
			break;
		}
	}
	if (optind < argc)
		cli_usage_err("unexpected argument '%s'", argv[optind]);
	o->json = cli.json;
	o->pretty = cli.pretty;
	if (!o->nr_to)
		cli_usage_err("--to is required (tcp:HOST:PORT or vsock:CID:PORT)");
	if (o->json && o->csv)
		cli_usage_err("--json and --csv exclude each other");
	if (o->vsock_buf)
		for (unsigned int i = 0; i < o->nr_to; i++)
			if (o->to[i].family != AF_VSOCK)
				cli_usage_err("--vsock-buf: applies to vsock: targets only, not '%s'",
					  o->to[i].text);
}

static int do_rr(int argc, char **argv)
{
	struct vsb_rr_result res;
	struct vsb_opts o;
	bool cset = false, sset = false;
	json_writer_t w;

	client_defaults(&o);
	parse_client(argc, argv, &o, rr_allowed, &cset, &sset);
	if (!o.size)
		cli_usage_err("--size is required");
	if (!o.timeout)
		o.timeout = 60;
	if (vsb_rr_run(&o, &o.to[0], &res))
		return report_failure();
	if (o.json) {
		jsonw_init(&w, stdout, o.pretty);
		vsb_rr_json(&w, &o, &o.to[0], &res);
	} else if (o.csv) {
		if (!o.csv_no_header)
			vsb_rr_csv_header(stdout);
		vsb_rr_csv_row(stdout, &o, &o.to[0], &res);
	} else {
		vsb_rr_print(&o, &o.to[0], &res);
	}
	return 0;
}

static int do_stream(int argc, char **argv)
{
	struct vsb_stream_result res;
	struct vsb_opts o;
	bool cset = false, sset = false;
	json_writer_t w;
	int rc = 0;

	client_defaults(&o);
	parse_client(argc, argv, &o, stream_allowed, &cset, &sset);
	if (!o.size)
		cli_usage_err("--size is required");
	if (o.seconds * 1000 > UINT32_MAX)
		cli_usage_err("--seconds: too long");
	if (!o.timeout)
		o.timeout = o.seconds + 30;
	else if (o.timeout <= o.seconds)
		cli_usage_err("--timeout %g: must exceed --seconds %g", o.timeout, o.seconds);
	if (vsb_stream_run(&o, &o.to[0], &res)) {
		rc = report_failure();
		goto out;
	}
	if (o.json) {
		jsonw_init(&w, stdout, o.pretty);
		vsb_stream_json(&w, &o, &o.to[0], &res);
	} else if (o.csv) {
		if (!o.csv_no_header)
			vsb_stream_csv_header(stdout);
		vsb_stream_csv_row(stdout, &o, &o.to[0], &res);
	} else {
		vsb_stream_print(&o, &o.to[0], &res);
	}
out:
	vsb_stream_result_free(&res);
	return rc;
}

static int do_sweep(int argc, char **argv)
{
	struct vsb_opts o;
	bool cset = false, sset = false;

	client_defaults(&o);
	parse_client(argc, argv, &o, sweep_allowed, &cset, &sset);
	if (!cset)
		o.count = 1000;
	if (o.warmup == 1000)
		o.warmup = 100;
	if (!sset)
		o.seconds = 1;
	if (o.min_size & (o.min_size - 1) || o.max_size & (o.max_size - 1))
		cli_usage_err("--min-size/--max-size: must be powers of two");
	if (o.min_size > o.max_size)
		cli_usage_err("--min-size %u exceeds --max-size %u", o.min_size, o.max_size);
	/* Failed cells were reported as they happened; the rest is printed. */
	return vsb_sweep_run(&o) ? VSB_EXIT_ERROR : 0;
}

static int do_server(int argc, char **argv)
{
	struct vsb_server_opts so = {
		.port = VSB_DEFAULT_PORT,
		.idle_timeout = 60,
	};
	int id;

	while ((id = cli_next_opt(argc, argv, server_allowed)) != -1) {
		switch (id) {
		case O_VSOCK:
			so.vsock = true;
			break;
		case O_TCP:
			so.tcp = true;
			break;
		case O_PORT:
			so.port = (unsigned int)cli_u64("--port", optarg, 0, UINT32_MAX - 1);
			break;
		case O_BIND:
			so.bind = optarg;
			break;
		case O_CPU:
			so.nr_cpus = parse_cpus(optarg, so.cpus);
			break;
		case O_TIMEOUT:
			so.idle_timeout = cli_seconds("--timeout", optarg, 0.1, 86400);
			break;
		case O_INJECT_CORRUPT:
			so.inject_corrupt = cli_u64("--inject-corrupt", optarg, 1, UINT64_MAX);
			break;
		case O_INJECT_SHORT:
			so.inject_short = cli_u64("--inject-short", optarg, 1, UINT64_MAX);
			break;
		case O_VERBOSE:
			so.verbose = true;
			break;
		}
	}
	if (optind < argc)
		cli_usage_err("unexpected argument '%s'", argv[optind]);
	if (!so.vsock && !so.tcp)
		so.vsock = true;
	if (so.tcp && so.port > 65535)
		cli_usage_err("--port: %u is out of range for TCP (0..65535)", so.port);
	if (so.bind && !so.tcp)
		cli_usage_err("--bind: applies to --tcp only");
	return vsb_server_main(&so);
}

static int do_help(int argc, char **argv);

static const struct cli_cmd cmds[] = {
	{ "server",	do_server,	help_server },
	{ "rr",		do_rr,		help_rr },
	{ "stream",	do_stream,	help_stream },
	{ "sweep",	do_sweep,	help_sweep },
	{ "help",	do_help,	cli_help_help },
	{ NULL, NULL, NULL },
};

static int do_help(int argc, char **argv)
{
	return cli_do_help(cmds, help_main, argc, argv);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sigint };

	cli_init("vsbench", all_options, CLI_COMMON_SHORT "Jv", help_main, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cli_dispatch(cmds, argc, argv);
}
