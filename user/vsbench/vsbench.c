// SPDX-License-Identifier: GPL-2.0
/*
 * vsbench: load generator for VSOCK and TCP stream sockets.
 *
 *   vsbench server [--vsock] [--tcp] [--port N]
 *   vsbench rr     --to ADDR --size BYTES [...]
 *   vsbench stream --to ADDR --size BYTES [--threads N] [--seconds S] [...]
 *   vsbench sweep  --to ADDR [--to ADDR...] [...]
 *
 * This file: verbs, argument parsing and the run state shared by the
 * client threads (first error wins and stops the others).  Exit status: 0
 * ok, 1 run failed, 2 bad arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "vsbench.h"

volatile int vsb_stop;
const char *vsb_prog = "vsbench";

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char fail_msg[1024];
static bool failed;
static bool json_mode;
static volatile sig_atomic_t interrupted;
static const char *verb_name = "";

void vsb_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: error: ", vsb_prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

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
	vsb_err("%s", vsb_failed() ? fail_msg : "timeout: the run did not finish");
	vsb_err("threads did not stop 5 s after the deadline; giving up");
	_exit(VSB_EXIT_ERROR);
}

/* Print the run's error: stderr always, and {"error": ...} under --json. */
static int report_failure(void)
{
	json_writer_t w;

	vsb_err("%s", fail_msg);
	if (json_mode) {
		jsonw_init(&w, stdout, false);
		jsonw_start_object(&w);
		jsonw_string_field(&w, "error", fail_msg);
		jsonw_end_object(&w);
	}
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

/* ---- argument errors: name the argument, exit 2 ---- */

static void __attribute__((noreturn, format(printf, 1, 2))) usage_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: %s%s", vsb_prog, verb_name, *verb_name ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s%s--help'.\n", vsb_prog, verb_name, *verb_name ? " " : "");
	exit(VSB_EXIT_USAGE);
}

static uint64_t parse_u64(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!*arg || *arg == '-' || *arg == '+')
		usage_err("%s: '%s' is not a number", opt, arg);
	v = strtoull(arg, &end, 10);
	if (errno || *end)
		usage_err("%s: '%s' is not a number", opt, arg);
	if (v < min || v > max)
		usage_err("%s: %s is out of range (%llu..%llu)", opt, arg,
			  (unsigned long long)min, (unsigned long long)max);
	return v;
}

/* BYTES: a number with an optional K, M or G (binary) suffix. */
static uint64_t parse_size(const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	errno = 0;
	if (!*arg || *arg == '-' || *arg == '+')
		usage_err("%s: '%s' is not a size in bytes (e.g. 64, 4K, 1M)", opt, arg);
	v = strtoull(arg, &end, 10);
	if (errno || end == arg)
		usage_err("%s: '%s' is not a size in bytes (e.g. 64, 4K, 1M)", opt, arg);
	switch (*end) {
	case 'k': case 'K': mult = 1ull << 10; end++; break;
	case 'm': case 'M': mult = 1ull << 20; end++; break;
	case 'g': case 'G': mult = 1ull << 30; end++; break;
	}
	if (mult > 1 && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	else if (mult == 1 && !strcmp(end, "B"))
		end++;
	if (*end)
		usage_err("%s: '%s' is not a size in bytes (e.g. 64, 4K, 1M)", opt, arg);
	if (v > max / mult || v * mult < min || v * mult > max)
		usage_err("%s: %s is out of range (%llu..%llu bytes)", opt, arg,
			  (unsigned long long)min, (unsigned long long)max);
	return v * mult;
}

static double parse_double(const char *opt, const char *arg, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v))
		usage_err("%s: '%s' is not a number", opt, arg);
	if (v < min || v > max)
		usage_err("%s: %s is out of range (%g..%g)", opt, arg, min, max);
	return v;
}

/* "N" or "N,M,..." */
static unsigned int parse_cpus(const char *arg, int *cpus)
{
	char buf[256], *save, *tok;
	unsigned int n = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	if (strlen(arg) >= sizeof(buf))
		usage_err("--cpu: list too long");
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == VSB_MAX_CPUS)
			usage_err("--cpu: more than %d CPUs", VSB_MAX_CPUS);
		cpus[n++] = (int)parse_u64("--cpu", tok, 0, ncpu > 0 ? ncpu - 1 : 1023);
	}
	if (!n)
		usage_err("--cpu: '%s' names no CPU", arg);
	return n;
}

/* ---- options ---- */

enum {
	O_HELP = 'h', O_VERBOSE = 'v', O_JSON = 'J',
	O_TO = 256, O_SIZE, O_RSP_SIZE, O_COUNT, O_WARMUP, O_CONNS, O_RATE,
	O_THREADS, O_SECONDS, O_DIRECTION, O_INTERVAL, O_CPU, O_SNDBUF, O_RCVBUF,
	O_VSOCK_BUF, O_ZEROCOPY, O_VERIFY, O_TIMEOUT, O_PRETTY, O_CSV, O_NO_HEADER,
	O_SCENARIO, O_MIN_SIZE, O_MAX_SIZE, O_ONLY,
	O_VSOCK, O_TCP, O_PORT, O_BIND, O_INJECT_CORRUPT, O_INJECT_SHORT,
};

static const struct option all_options[] = {
	{ "help",	no_argument,		NULL, O_HELP },
	{ "verbose",	no_argument,		NULL, O_VERBOSE },
	{ "json",	no_argument,		NULL, O_JSON },
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
	{ "pretty",	no_argument,		NULL, O_PRETTY },
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

#define CLIENT_COMMON	O_TO, O_CPU, O_SNDBUF, O_RCVBUF, O_VSOCK_BUF, O_VERIFY, \
			O_TIMEOUT, O_JSON, O_PRETTY, O_CSV, O_NO_HEADER, O_SCENARIO, O_HELP

static const int rr_allowed[] = { CLIENT_COMMON, O_SIZE, O_RSP_SIZE, O_COUNT, O_WARMUP,
				  O_CONNS, O_RATE, 0 };
static const int stream_allowed[] = { CLIENT_COMMON, O_SIZE, O_THREADS, O_SECONDS,
				      O_DIRECTION, O_INTERVAL, O_ZEROCOPY, 0 };
static const int sweep_allowed[] = { CLIENT_COMMON, O_COUNT, O_WARMUP, O_CONNS, O_THREADS,
				     O_SECONDS, O_DIRECTION, O_ZEROCOPY, O_MIN_SIZE,
				     O_MAX_SIZE, O_ONLY, 0 };
static const int server_allowed[] = { O_VSOCK, O_TCP, O_PORT, O_BIND, O_CPU, O_TIMEOUT,
				      O_INJECT_CORRUPT, O_INJECT_SHORT, O_VERBOSE, O_HELP, 0 };

static const char *opt_name(int id)
{
	for (const struct option *o = all_options; o->name; o++)
		if (o->val == id)
			return o->name;
	return "?";
}

static void check_allowed(const int *allowed, int id)
{
	for (const int *a = allowed; *a; a++)
		if (*a == id)
			return;
	usage_err("--%s is not an option of '%s'", opt_name(id), verb_name);
}

/*
 * getopt_long over all options, then reject the ones this verb lacks, so
 * the message can say "not an option of rr" rather than "unrecognized".
 */
static int next_opt(int argc, char **argv, const int *allowed)
{
	int id;

	opterr = 0;
	id = getopt_long(argc, argv, ":hvJ", all_options, NULL);
	if (id == -1)
		return -1;
	if (id == '?') {
		if (optopt)
			usage_err("unknown option '-%c'", optopt);
		usage_err("unknown option '%s'", argv[optind - 1]);
	}
	if (id == ':')
		usage_err("%s needs an argument", argv[optind - 1]);
	check_allowed(allowed, id);
	return id;
}

/* ---- help ---- */

static const char *const help_common =
	"  --to ADDR           tcp:HOST:PORT or vsock:CID:PORT\n"
	"  --cpu N[,M...]      pin connection threads to these CPUs, round robin\n"
	"  --sndbuf BYTES      SO_SNDBUF (client, and the server's side)\n"
	"  --rcvbuf BYTES      SO_RCVBUF (client, and the server's side)\n"
	"  --vsock-buf BYTES   SO_VM_SOCKETS_BUFFER_SIZE on both sides (VSOCK only)\n"
	"  --verify            check every payload byte; a lost or corrupted byte fails the run\n"
	"  --timeout SEC       deadline for the whole run (default: rr 60, stream SECONDS+30)\n"
	"  -J, --json          one JSON object on stdout  (--pretty: indented)\n"
	"  --csv               CSV with the paper's column names  (--no-header: rows only)\n"
	"  --scenario NAME     value of the CSV 'scenario' column\n"
	"  -h, --help          this help\n";

static void help_rr(void)
{
	printf("Usage: %s rr --to ADDR --size BYTES [OPTIONS]\n"
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
	       vsb_prog, help_common, vsb_prog);
}

static void help_stream(void)
{
	printf("Usage: %s stream --to ADDR --size BYTES [OPTIONS]\n"
	       "Throughput, per connection and in total, as counted by sender and receiver.\n\n"
	       "  --size BYTES        bytes per send()\n"
	       "  --threads N         connections, one thread each (default 1)\n"
	       "  --seconds S         how long to send (default 10)\n"
	       "  --direction D       forward: client sends (default); backward: server sends\n"
	       "  --interval S        JSON interval length (default 1)\n"
	       "  --zerocopy          the sender uses MSG_ZEROCOPY (VSOCK: Linux 6.7 and later)\n%s"
	       "\nExample: %s stream --to vsock:3:5201 --size 64K --threads 4 --seconds 10\n",
	       vsb_prog, help_common, vsb_prog);
}

static void help_sweep(void)
{
	printf("Usage: %s sweep --to ADDR [--to ADDR...] [OPTIONS]\n"
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
	       vsb_prog, help_common, vsb_prog);
}

static void help_server(void)
{
	printf("Usage: %s server [--vsock] [--tcp] [--port N] [OPTIONS]\n"
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
	       vsb_prog, VSB_DEFAULT_PORT, vsb_prog);
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
		"'%s VERB --help' lists a verb's options.\n", vsb_prog, vsb_prog);
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
			 void (*help)(void), bool *count_set, bool *seconds_set)
{
	char err[256];
	int id;

	while ((id = next_opt(argc, argv, allowed)) != -1) {
		switch (id) {
		case O_HELP:
			help();
			exit(0);
		case O_TO:
			if (o->nr_to && allowed != sweep_allowed)
				usage_err("--to given twice");
			if (o->nr_to == VSB_MAX_TARGETS)
				usage_err("--to: at most %d targets", VSB_MAX_TARGETS);
			if (vs_addr_parse(optarg, &o->to[o->nr_to], err, sizeof(err)))
				usage_err("--to: %s", err);
			o->nr_to++;
			break;
		case O_SIZE:
			o->size = (uint32_t)parse_size("--size", optarg, 1, VSB_MAX_MSG);
			break;
		case O_RSP_SIZE:
			o->rsp_size = (uint32_t)parse_size("--rsp-size", optarg, 1, VSB_MAX_MSG);
			break;
		case O_COUNT:
			o->count = parse_u64("--count", optarg, 1, 1ull << 40);
			*count_set = true;
			break;
		case O_WARMUP:
			o->warmup = parse_u64("--warmup", optarg, 0, 1ull << 40);
			break;
		case O_CONNS:
			o->conns = (unsigned int)parse_u64("--conns", optarg, 1, 4096);
			break;
		case O_RATE:
			o->rate = parse_double("--rate", optarg, 0.001, 1e8);
			break;
		case O_THREADS:
			o->threads = (unsigned int)parse_u64("--threads", optarg, 1, 4096);
			break;
		case O_SECONDS:
			o->seconds = parse_double("--seconds", optarg, 0.01, 86400);
			*seconds_set = true;
			break;
		case O_DIRECTION:
			if (!strcmp(optarg, "forward"))
				o->backward = false;
			else if (!strcmp(optarg, "backward"))
				o->backward = true;
			else
				usage_err("--direction: '%s': expected forward or backward", optarg);
			break;
		case O_INTERVAL:
			o->interval = parse_double("--interval", optarg, 0.05, 3600);
			break;
		case O_CPU:
			o->nr_cpus = parse_cpus(optarg, o->cpus);
			break;
		case O_SNDBUF:
			o->sndbuf = (uint32_t)parse_size("--sndbuf", optarg, 1, INT_MAX);
			break;
		case O_RCVBUF:
			o->rcvbuf = (uint32_t)parse_size("--rcvbuf", optarg, 1, INT_MAX);
			break;
		case O_VSOCK_BUF:
			o->vsock_buf = parse_size("--vsock-buf", optarg, 1, 1ull << 32);
			break;
		case O_ZEROCOPY:
			o->zerocopy = true;
			break;
		case O_VERIFY:
			o->verify = true;
			break;
		case O_TIMEOUT:
			o->timeout = parse_double("--timeout", optarg, 0.1, 86400 * 7);
			break;
		case O_JSON:
			o->json = json_mode = true;
			break;
		case O_PRETTY:
			o->pretty = true;
			break;
		case O_CSV:
			o->csv = true;
			break;
		case O_NO_HEADER:
			o->csv_no_header = true;
			break;
		case O_SCENARIO:
			if (strchr(optarg, ',') || strchr(optarg, '"') || strchr(optarg, '\n'))
				usage_err("--scenario: '%s': no commas, quotes or newlines", optarg);
			o->scenario = optarg;
			break;
		case O_MIN_SIZE:
			o->min_size = (uint32_t)parse_size("--min-size", optarg, 1, VSB_MAX_MSG);
			break;
		case O_MAX_SIZE:
			o->max_size = (uint32_t)parse_size("--max-size", optarg, 1, VSB_MAX_MSG);
			break;
		case O_ONLY:
			if (!strcmp(optarg, "rr"))
				o->sweep_stream = false;
			else if (!strcmp(optarg, "stream"))
				o->sweep_rr = false;
			else
				usage_err("--only: '%s': expected rr or stream", optarg);
			break;
		}
	}
	if (optind < argc)
		usage_err("unexpected argument '%s'", argv[optind]);
	if (!o->nr_to)
		usage_err("--to is required (tcp:HOST:PORT or vsock:CID:PORT)");
	if (o->json && o->csv)
		usage_err("--json and --csv exclude each other");
	if (o->vsock_buf)
		for (unsigned int i = 0; i < o->nr_to; i++)
			if (o->to[i].family != AF_VSOCK)
				usage_err("--vsock-buf: applies to vsock: targets only, not '%s'",
					  o->to[i].text);
}

static int do_rr(int argc, char **argv)
{
	struct vsb_rr_result res;
	struct vsb_opts o;
	bool cset = false, sset = false;
	json_writer_t w;

	client_defaults(&o);
	parse_client(argc, argv, &o, rr_allowed, help_rr, &cset, &sset);
	if (!o.size)
		usage_err("--size is required");
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
	parse_client(argc, argv, &o, stream_allowed, help_stream, &cset, &sset);
	if (!o.size)
		usage_err("--size is required");
	if (o.seconds * 1000 > UINT32_MAX)
		usage_err("--seconds: too long");
	if (!o.timeout)
		o.timeout = o.seconds + 30;
	else if (o.timeout <= o.seconds)
		usage_err("--timeout %g: must exceed --seconds %g", o.timeout, o.seconds);
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
	parse_client(argc, argv, &o, sweep_allowed, help_sweep, &cset, &sset);
	if (!cset)
		o.count = 1000;
	if (o.warmup == 1000)
		o.warmup = 100;
	if (!sset)
		o.seconds = 1;
	if (o.min_size & (o.min_size - 1) || o.max_size & (o.max_size - 1))
		usage_err("--min-size/--max-size: must be powers of two");
	if (o.min_size > o.max_size)
		usage_err("--min-size %u exceeds --max-size %u", o.min_size, o.max_size);
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

	while ((id = next_opt(argc, argv, server_allowed)) != -1) {
		switch (id) {
		case O_HELP:
			help_server();
			exit(0);
		case O_VSOCK:
			so.vsock = true;
			break;
		case O_TCP:
			so.tcp = true;
			break;
		case O_PORT:
			so.port = (unsigned int)parse_u64("--port", optarg, 0, UINT32_MAX - 1);
			break;
		case O_BIND:
			so.bind = optarg;
			break;
		case O_CPU:
			so.nr_cpus = parse_cpus(optarg, so.cpus);
			break;
		case O_TIMEOUT:
			so.idle_timeout = parse_double("--timeout", optarg, 0.1, 86400);
			break;
		case O_INJECT_CORRUPT:
			so.inject_corrupt = parse_u64("--inject-corrupt", optarg, 1, UINT64_MAX);
			break;
		case O_INJECT_SHORT:
			so.inject_short = parse_u64("--inject-short", optarg, 1, UINT64_MAX);
			break;
		case O_VERBOSE:
			so.verbose = true;
			break;
		}
	}
	if (optind < argc)
		usage_err("unexpected argument '%s'", argv[optind]);
	if (!so.vsock && !so.tcp)
		so.vsock = true;
	if (so.tcp && so.port > 65535)
		usage_err("--port: %u is out of range for TCP (0..65535)", so.port);
	if (so.bind && !so.tcp)
		usage_err("--bind: applies to --tcp only");
	return vsb_server_main(&so);
}

static int do_help(int argc, char **argv)
{
	help_main(stdout);
	return 0;
}

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "server",	do_server },
	{ "rr",		do_rr },
	{ "stream",	do_stream },
	{ "sweep",	do_sweep },
	{ "help",	do_help },
};

/* Exact name, or a prefix of exactly one verb (as bpftool matches). */
static const struct cmd *cmd_select(const char *arg)
{
	const struct cmd *found = NULL;
	size_t len = strlen(arg);

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(arg, cmds[i].name))
			return &cmds[i];
		if (len && !strncmp(arg, cmds[i].name, len)) {
			if (found)
				usage_err("'%s' is ambiguous: %s or %s?", arg, found->name,
					  cmds[i].name);
			found = &cmds[i];
		}
	}
	return found;
}

int main(int argc, char **argv)
{
	const struct cmd *cmd;
	struct sigaction sa = { .sa_handler = on_sigint };

	if (argc < 2) {
		help_main(stderr);
		return VSB_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return do_help(argc, argv);
	cmd = cmd_select(argv[1]);
	if (!cmd)
		usage_err("unknown verb '%s' (server, rr, stream, sweep, help)", argv[1]);
	verb_name = cmd->name;
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmd->fn(argc - 1, argv + 1);
}
