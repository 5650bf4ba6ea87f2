// SPDX-License-Identifier: GPL-2.0
/*
 * vsproxy: event-driven TCP <-> VSOCK proxy.
 *
 * This file: arguments, logging, limits, and the main thread, which owns
 * the signals (SIGTERM/SIGINT drain, SIGUSR1 counters) and the periodic
 * counters while the loops (loop.c) do the work.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include "vsproxy.h"

struct vsp_opts vsp_opts = {
	.bufsize		= 64 * 1024,
	.connect_timeout_ms	= 5000,
	.drain_timeout_ms	= 30000,
};

int64_t vsp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define RATELIMIT_BURST	10

bool vsp_ratelimit(struct vsp_ratelimit *rl)
{
	int64_t sec = vsp_now_ms() / 1000;

	if (sec != rl->window) {
		if (rl->missed)
			p_err("%d similar messages suppressed", rl->missed);
		rl->window = sec;
		rl->printed = rl->missed = 0;
	}
	if (rl->printed < RATELIMIT_BURST) {
		rl->printed++;
		return true;
	}
	rl->missed++;
	return false;
}

/* ---- arguments ---- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: " VSP_NAME " [OPTIONS] LISTEN TARGET\n"
"       " VSP_NAME " [OPTIONS] -c CONFIG\n"
"       " VSP_NAME " { -h | --help | -V | --version }\n"
"\n"
"Forward every connection accepted on LISTEN to TARGET, both ways.\n"
"\n"
"  LISTEN, TARGET := { tcp:HOST:PORT | tcp:[V6ADDR]:PORT | vsock:CID:PORT }\n"
"  CID            := { NUMBER | any | local | host }\n"
"  NUMBER         := decimal, or hex with 0x\n"
"  BYTES          := NUMBER[K|M|G], fractions allowed when whole (1.5K)\n"
"  DURATION       := seconds, or with a unit: 500ms, 2m, 1h\n"
"  CONFIG         := a file of 'LISTEN TARGET' lines, '#' comments\n"
"\n"
"Options:\n"
"  -c, --config FILE          read mappings from FILE (with or without LISTEN TARGET)\n"
"  -t, --threads N            event loops (default: number of CPUs)\n"
"      --buffer BYTES         queue per direction (default 64K)\n"
"      --connect-timeout DURATION  give up connecting to TARGET (default 5)\n"
"      --drain-timeout DURATION    on SIGTERM/SIGINT, wait for open connections\n"
"                             (default 30)\n"
"  -m, --max-conns N          refuse connections beyond N open (default: no limit)\n"
"  -s, --stats DURATION       print counters every DURATION (and on SIGUSR1)\n"
"  -j, --json                 counters as JSON lines, errors as {\"error\": ...}\n"
"                             on stdout, no notes\n"
"  -p, --pretty               indented error objects (implies --json)\n"
"      --stats-file FILE      append counters to FILE instead of stderr\n"
"      --splice MODE          kernel: splice each direction in the kernel once\n"
"                             user space holds none of its bytes (sockmap; exit\n"
"                             if the kernel cannot); user: through user space;\n"
"                             auto: kernel where it can (default)\n"
"      --no-splice            user path: copy even between TCP sockets\n"
"  -v, --verbose              log each connection (-vv: more)\n"
"  -V, --version              print the version\n"
"  -h, --help                 this text\n"
"\n"
"Examples:\n"
"  " VSP_NAME " tcp:0.0.0.0:8000 vsock:16:8000     # host: TCP in, enclave out\n"
"  " VSP_NAME " vsock:any:8001 tcp:127.0.0.1:8001  # enclave: VSOCK in, TCP out\n"
"  " VSP_NAME " -c /etc/vsproxy.conf --stats 60 --json\n");
}

/* A DURATION (cli.h) of at least @min_ms and at most a week, in ms. */
static int duration_ms(const char *opt, const char *arg, int min_ms)
{
	uint64_t ns = cli_duration_ns(opt, arg, (uint64_t)min_ms * 1000000ull,
				      7 * 86400 * 1000000000ull);

	return (int)((ns + 500000) / 1000000);
}

static int default_threads(void)
{
	cpu_set_t set;
	long n;

	if (!sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

enum {
	OPT_CONNECT_TIMEOUT = 0x100,
	OPT_DRAIN_TIMEOUT,
	OPT_STATS_FILE,
	OPT_NO_SPLICE,
	OPT_BUFFER,
	OPT_SPLICE,
};

static const struct option long_opts[] = {
	CLI_COMMON_OPTIONS,
	{ "config",		required_argument,	NULL, 'c' },
	{ "threads",		required_argument,	NULL, 't' },
	{ "buffer",		required_argument,	NULL, OPT_BUFFER },
	{ "connect-timeout",	required_argument,	NULL, OPT_CONNECT_TIMEOUT },
	{ "drain-timeout",	required_argument,	NULL, OPT_DRAIN_TIMEOUT },
	{ "max-conns",		required_argument,	NULL, 'm' },
	{ "stats",		required_argument,	NULL, 's' },
	{ "stats-file",		required_argument,	NULL, OPT_STATS_FILE },
	{ "no-splice",		no_argument,		NULL, OPT_NO_SPLICE },
	{ "splice",		required_argument,	NULL, OPT_SPLICE },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ 0 }
};

static void parse_args(int argc, char **argv)
{
	const char *config = NULL;
	int c;

	cli_init(VSP_NAME, long_opts, CLI_COMMON_SHORT "c:t:m:s:v", usage, argc, argv);
	while ((c = cli_next_opt(argc, argv, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (config)
				cli_usage_err("--config given twice");
			config = optarg;
			break;
		case 't':
			vsp_opts.threads = (int)cli_u64("--threads", optarg, 1, 1024);
			break;
		case OPT_BUFFER:
			vsp_opts.bufsize = (uint32_t)cli_size("--buffer", optarg, 4096, 64 << 20);
			break;
		case OPT_CONNECT_TIMEOUT:
			vsp_opts.connect_timeout_ms = duration_ms("--connect-timeout", optarg, 1);
			break;
		case OPT_DRAIN_TIMEOUT:
			vsp_opts.drain_timeout_ms = duration_ms("--drain-timeout", optarg, 0);
			break;
		case 'm':
			vsp_opts.max_conns = (long)cli_u64("--max-conns", optarg, 0, 100000000);
			break;
		case 's':
			vsp_opts.stats_interval_ms = duration_ms("--stats", optarg, 0);
			break;
		case OPT_STATS_FILE:
			vsp_opts.stats_file = optarg;
			break;
		case OPT_NO_SPLICE:
			vsp_opts.no_splice = true;
			break;
		case OPT_SPLICE:
			if (!strcmp(optarg, "kernel"))
				vsp_opts.splice = VSP_SPLICE_KERNEL;
			else if (!strcmp(optarg, "user"))
				vsp_opts.splice = VSP_SPLICE_USER;
			else if (!strcmp(optarg, "auto"))
				vsp_opts.splice = VSP_SPLICE_AUTO;
			else
				cli_usage_err("--splice: unknown mode '%s' (kernel, user, auto)",
					      optarg);
			break;
		case 'v':
			vsp_opts.verbose++;
			break;
		}
	}
	vsp_opts.json = cli.json;

	argc -= optind;
	argv += optind;
	if (argc == 1)
		cli_usage_err("missing TARGET after LISTEN '%s'", argv[0]);
	if (argc > 2)
		cli_usage_err("too many arguments: '%s' (several mappings go in -c CONFIG)",
			  argv[2]);
	if (argc == 0 && !config)
		cli_usage_err("missing LISTEN TARGET (or -c CONFIG)");
	if (argc == 2 && vsp_map_add(&vsp_opts, argv[0], argv[1], "command line"))
		exit(CLI_EXIT_USAGE);
	if (config && vsp_config_load(config, &vsp_opts))
		exit(CLI_EXIT_USAGE);
	if (!vsp_opts.threads)
		vsp_opts.threads = default_threads();
}

/* ---- start-up ---- */

/* Thousands of clients need two descriptors each (four more with splice). */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		p_err("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		p_err("setrlimit(RLIMIT_NOFILE, %llu): %s",
		      (unsigned long long)rl.rlim_max, strerror(errno));
	else
		p_dbg("open file limit raised to %llu", (unsigned long long)rl.rlim_max);
}

static void signals_block(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
	/* Threads inherit the mask: only the main thread takes signals. */
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- main thread: signals, counters, drain ---- */

static int run(const sigset_t *set)
{
	int64_t now = vsp_now_ms(), next_stats = 0, deadline = 0;
	int interval_ms = vsp_opts.stats_interval_ms;

	if (interval_ms)
		next_stats = now + interval_ms;

	for (;;) {
		int64_t wait = 1000;
		struct timespec ts;
		int sig;

		if (interval_ms && next_stats - now < wait)
			wait = next_stats - now;
		if (vsp_stopping && wait > 50)
			wait = 50;
		if (wait < 0)
			wait = 0;
		ts.tv_sec = wait / 1000;
		ts.tv_nsec = wait % 1000 * 1000000;

		sig = sigtimedwait(set, NULL, &ts);
		now = vsp_now_ms();
		if (sig == SIGTERM || sig == SIGINT) {
			if (!vsp_stopping) {
				p_info("%s: stopping, draining %ld connections (up to %d ms)",
				       strsignal(sig), __atomic_load_n(&vsp_active, __ATOMIC_RELAXED),
				       vsp_opts.drain_timeout_ms);
				deadline = now + vsp_opts.drain_timeout_ms;
				vsp_stopping = 1;
			} else {
				p_info("%s again: closing all connections", strsignal(sig));
				vsp_force = 1;
			}
			vsp_loops_wake();
		} else if (sig == SIGUSR1) {
			vsp_stats_print("signal");
		}

		if (interval_ms && now >= next_stats) {
			vsp_stats_print("interval");
			next_stats += interval_ms;
			if (next_stats <= now)
				next_stats = now + interval_ms;
		}

		if (!__atomic_load_n(&vsp_running, __ATOMIC_ACQUIRE))
			break;
		if (!vsp_stopping && vsp_running < vsp_nr_loops) {
			p_err("an event loop failed: stopping");
			vsp_force = vsp_stopping = 1;
			vsp_loops_wake();
			vsp_loops_join();
			return 1;
		}
		if (vsp_stopping && !vsp_force && now >= deadline) {
			vsp_force = 1;
			vsp_loops_wake();
		}
	}
	vsp_loops_join();
	if (vsp_opts.stats_interval_ms || vsp_opts.stats_file)
		vsp_stats_print("exit");
	p_info("stopped");
	return 0;
}

int main(int argc, char **argv)
{
	sigset_t set;

	parse_args(argc, argv);
	raise_nofile();
	signals_block(&set);

	if (vsp_splice_init())
		return 1;
	if (vsp_loops_init())
		return 1;
	p_dbg("%d event loop%s, %u-byte queues, %s", vsp_opts.threads,
	      vsp_opts.threads == 1 ? "" : "s", vsp_opts.bufsize,
	      vsp_opts.no_splice ? "no splice" : "splice between TCP sockets");
	if (vsp_loops_start())
		return 1;
	return run(&set);
}
