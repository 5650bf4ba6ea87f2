// SPDX-License-Identifier: GPL-2.0
/*
 * The three tools speak one dialect: the same bad argument, bad address
 * and --json error give the same shape of message in vstrace, vsbench and
 * vsproxy ("Error: ..." on stderr and exit 2; {"error": ...} on stdout
 * with -j), all take -j and --version, verbs match by prefix and list the
 * candidates when ambiguous, every verb has its own --help, and an option
 * of another verb is refused by name.  Every case fails while the
 * arguments are parsed: no root, module or network needed.
 *
 * The binaries: $VSTRACE, $VSBENCH, $VSPROXY, else ../../user/TOOL/TOOL
 * next to this test binary.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "json_check.h"
#include "vstrace.h"		/* VSTRACE_VERSION */

struct out {
	int status;		/* exit status, or -1 */
	char out[8192];
	char err[8192];
};

static const char *tool_path(const char *tool)
{
	static char paths[3][PATH_MAX];
	static int next;
	char env[32], exe[PATH_MAX], *p;
	ssize_t n;

	snprintf(env, sizeof(env), "%s", tool);
	for (p = env; *p; p++)
		*p = (char)(*p - 'a' + 'A');
	if (getenv(env))
		return getenv(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return tool;
	exe[n] = '\0';
	p = paths[next++ % 3];
	snprintf(p, PATH_MAX, "%s/../../user/%s/%s", dirname(exe), tool, tool);
	return p;
}

static void slurp(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Run TOOL ARGS... (NULL-terminated) for at most 10 s; capture both streams. */
static int run(struct out *o, const char *tool, const char *const *args)
{
	const char *argv[32];
	int fo, fe, st = 0, n = 0;
	pid_t pid, w = 0;

	memset(o, 0, sizeof(*o));
	o->status = -1;
	argv[n++] = tool_path(tool);
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (access(argv[0], X_OK))
		return -1;
	fo = memfd_create("stdout", 0);
	fe = memfd_create("stderr", 0);
	if (fo < 0 || fe < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(fo, 1);
		dup2(fe, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 1000 && (w = waitpid(pid, &st, WNOHANG)) == 0; i++)
		usleep(10000);
	if (w != pid) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	if (WIFEXITED(st))
		o->status = WEXITSTATUS(st);
	slurp(fo, o->out, sizeof(o->out));
	slurp(fe, o->err, sizeof(o->err));
	return 0;
}

#define RUN(o, tool, ...) ({						\
	const char *const __a[] = { __VA_ARGS__, NULL };		\
	int __rc = run(o, tool, __a);					\
	ASSERT_EQ(0, __rc) TH_LOG("cannot run %s (make user?)", tool_path(tool)); \
})

static const char *const tools[] = { "vstrace", "vsbench", "vsproxy" };

/* A usage error in text mode: "Error: WANT..." first on stderr, exit 2, nothing on stdout. */
static void expect_usage_error(struct __test_metadata *_metadata, const struct out *o,
			       const char *tool, const char *want)
{
	char line[512];

	snprintf(line, sizeof(line), "Error: %s", want);
	EXPECT_EQ(2, o->status) TH_LOG("%s: exit %d, stderr: %s", tool, o->status, o->err);
	EXPECT_EQ(0, strncmp(o->err, line, strlen(line)))
		TH_LOG("%s: want '%s' at the start of stderr, got: %s", tool, line, o->err);
	EXPECT_STREQ("", o->out) TH_LOG("%s: stdout: %s", tool, o->out);
}

/* A usage error in JSON mode: one {"error": "WANT..."} on stdout, nothing on stderr. */
static void expect_json_error(struct __test_metadata *_metadata, const struct out *o,
			      const char *tool, const char *want)
{
	const char *msg;
	struct jv doc;

	EXPECT_EQ(2, o->status) TH_LOG("%s: exit %d", tool, o->status);
	EXPECT_STREQ("", o->err) TH_LOG("%s: stderr: %s", tool, o->err);
	ASSERT_TRUE(jv_parse(o->out, &doc)) TH_LOG("%s: not JSON: '%s'", tool, o->out);
	ASSERT_EQ(JV_OBJ, doc.type);
	EXPECT_EQ(1, doc.n);
	msg = jv_str(&doc, "error");
	ASSERT_NE(NULL, msg) TH_LOG("%s: no \"error\" string: %s", tool, o->out);
	EXPECT_EQ(0, strncmp(msg, want, strlen(want))) TH_LOG("%s: error is '%s'", tool, msg);
	jv_free(&doc);
}

TEST(same_bad_number_in_all_three)
{
	struct out o;

	RUN(&o, "vstrace", "start", "--port", "12Q");
	expect_usage_error(_metadata, &o, "vstrace", "--port: '12Q' is not a number\n");
	RUN(&o, "vsbench", "server", "--port", "12Q");
	expect_usage_error(_metadata, &o, "vsbench", "--port: '12Q' is not a number\n");
	RUN(&o, "vsproxy", "--max-conns", "12Q", "tcp:127.0.0.1:1", "tcp:127.0.0.1:2");
	expect_usage_error(_metadata, &o, "vsproxy", "--max-conns: '12Q' is not a number\n");

	/* 010 is ten everywhere: in range where 8 would not be, and the reverse. */
	RUN(&o, "vsbench", "rr", "--to", "vsock:1:2", "--size", "64", "--count", "010",
	    "--conns", "09999");
	expect_usage_error(_metadata, &o, "vsbench", "--conns: 09999 is out of range (1..4096)");
}

TEST(same_bad_address_in_both_that_take_one)
{
	struct out o;

	/* vstrace takes no address; the two that do say the same. */
	RUN(&o, "vsbench", "rr", "--to", "udp:1:2", "--size", "64");
	expect_usage_error(_metadata, &o, "vsbench",
			   "--to: 'udp:1:2': expected tcp:HOST:PORT or vsock:CID:PORT");
	RUN(&o, "vsproxy", "tcp:127.0.0.1:1", "udp:1:2");
	EXPECT_EQ(2, o.status);
	EXPECT_EQ(0, strncmp(o.err, "Error: ", 7)) TH_LOG("%s", o.err);
	EXPECT_NE(NULL, strstr(o.err, "'udp:1:2': expected tcp:HOST:PORT or vsock:CID:PORT"));
	RUN(&o, "vsbench", "rr", "--to", "vsock:1:0x1g", "--size", "64");
	expect_usage_error(_metadata, &o, "vsbench", "--to: 'vsock:1:0x1g': bad port '0x1g'");
	RUN(&o, "vsproxy", "vsock:1:0x1g", "tcp:127.0.0.1:2");
	EXPECT_EQ(2, o.status);
	EXPECT_NE(NULL, strstr(o.err, "'vsock:1:0x1g': bad port '0x1g'"));
}

TEST(json_errors_in_all_three)
{
	struct out o;

	RUN(&o, "vstrace", "-j", "start", "--port", "12Q");
	expect_json_error(_metadata, &o, "vstrace", "--port: '12Q' is not a number");
	RUN(&o, "vsbench", "server", "--port", "12Q", "-j");
	expect_json_error(_metadata, &o, "vsbench", "--port: '12Q' is not a number");
	RUN(&o, "vsproxy", "-j", "--max-conns", "12Q", "tcp:127.0.0.1:1", "tcp:127.0.0.1:2");
	expect_json_error(_metadata, &o, "vsproxy", "--max-conns: '12Q' is not a number");

	/* --json after the bad argument, and --pretty, too. */
	RUN(&o, "vstrace", "stop", "--port", "5", "--json");
	expect_json_error(_metadata, &o, "vstrace", "--port is not an option of 'stop'");
	RUN(&o, "vsbench", "rr", "--to", "udp:1:2", "--size", "64", "--pretty");
	expect_json_error(_metadata, &o, "vsbench", "--to: 'udp:1:2'");
	RUN(&o, "vsproxy", "--pretty", "tcp:127.0.0.1:1");
	expect_json_error(_metadata, &o, "vsproxy", "missing TARGET");
	/* vsbench's old -J still means --json. */
	RUN(&o, "vsbench", "-J", "rr", "--size", "64");
	expect_json_error(_metadata, &o, "vsbench", "--to is required");
}

TEST(version_in_all_three)
{
	char want[64];
	struct out o;

	for (size_t i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "%s %s\n", tools[i], VSTRACE_VERSION);
		RUN(&o, tools[i], "--version");
		EXPECT_EQ(0, o.status) TH_LOG("%s", tools[i]);
		EXPECT_STREQ(want, o.out);
		RUN(&o, tools[i], "-j", "-V");
		EXPECT_EQ(0, o.status) TH_LOG("%s", tools[i]);
		EXPECT_STREQ(want, o.out);
	}
}

TEST(unknown_and_ambiguous_verbs)
{
	struct out o;

	RUN(&o, "vstrace", "st");
	expect_usage_error(_metadata, &o, "vstrace", "'st' is ambiguous: start, stop, status\n");
	RUN(&o, "vsbench", "s");
	expect_usage_error(_metadata, &o, "vsbench", "'s' is ambiguous: server, stream, sweep\n");
	RUN(&o, "vstrace", "frob");
	expect_usage_error(_metadata, &o, "vstrace",
			   "unknown verb 'frob' (start, stop, reset, status, show, top, help)\n");
	RUN(&o, "vsbench", "frob");
	expect_usage_error(_metadata, &o, "vsbench",
			   "unknown verb 'frob' (server, rr, stream, sweep, help)\n");
	RUN(&o, "vstrace", "sta", "--help");
	expect_usage_error(_metadata, &o, "vstrace", "'sta' is ambiguous: start, status\n");
	/* A unique prefix is the verb. */
	RUN(&o, "vstrace", "star", "--help");
	EXPECT_EQ(0, o.status);
	EXPECT_EQ(0, strncmp(o.out, "Usage: vstrace start", 20)) TH_LOG("%s", o.out);
	RUN(&o, "vsbench", "str", "--help");
	EXPECT_EQ(0, o.status);
	EXPECT_EQ(0, strncmp(o.out, "Usage: vsbench stream", 21)) TH_LOG("%s", o.out);
}

TEST(help_per_verb)
{
	static const char *const vstrace_verbs[] = {
		"start", "stop", "reset", "status", "show", "top", "help",
	};
	static const char *const vsbench_verbs[] = { "server", "rr", "stream", "sweep", "help" };
	char want[64];
	struct out o;

	for (size_t i = 0; i < sizeof(vstrace_verbs) / sizeof(vstrace_verbs[0]); i++) {
		snprintf(want, sizeof(want), "Usage: vstrace %s", vstrace_verbs[i]);
		RUN(&o, "vstrace", vstrace_verbs[i], "--help");
		EXPECT_EQ(0, o.status) TH_LOG("%s", vstrace_verbs[i]);
		EXPECT_EQ(0, strncmp(o.out, want, strlen(want))) TH_LOG("%s: %s", want, o.out);
		RUN(&o, "vstrace", "help", vstrace_verbs[i]);
		EXPECT_EQ(0, strncmp(o.out, want, strlen(want))) TH_LOG("%s: %s", want, o.out);
	}
	for (size_t i = 0; i < sizeof(vsbench_verbs) / sizeof(vsbench_verbs[0]); i++) {
		snprintf(want, sizeof(want), "Usage: vsbench %s", vsbench_verbs[i]);
		RUN(&o, "vsbench", vsbench_verbs[i], "-h");
		EXPECT_EQ(0, o.status) TH_LOG("%s", vsbench_verbs[i]);
		EXPECT_EQ(0, strncmp(o.out, want, strlen(want))) TH_LOG("%s: %s", want, o.out);
	}
	/* The global usage is not a verb's. */
	RUN(&o, "vstrace", "--help");
	EXPECT_EQ(0, o.status);
	EXPECT_EQ(0, strncmp(o.out, "Usage: vstrace [OPTIONS] VERB", 29)) TH_LOG("%s", o.out);
	RUN(&o, "vsproxy", "--help");
	EXPECT_EQ(0, o.status);
	EXPECT_EQ(0, strncmp(o.out, "Usage: vsproxy", 14)) TH_LOG("%s", o.out);
}

TEST(option_of_another_verb_refused_by_name)
{
	struct out o;

	RUN(&o, "vstrace", "stop", "--port", "5");
	expect_usage_error(_metadata, &o, "vstrace", "--port is not an option of 'stop'\n");
	RUN(&o, "vstrace", "--port", "5", "stop");
	expect_usage_error(_metadata, &o, "vstrace", "--port is not an option of 'stop'\n");
	RUN(&o, "vstrace", "show", "--interval", "1");
	expect_usage_error(_metadata, &o, "vstrace", "--interval is not an option of 'show'\n");
	RUN(&o, "vsbench", "rr", "--to", "tcp:127.0.0.1:9", "--size", "64", "--threads", "2");
	expect_usage_error(_metadata, &o, "vsbench", "--threads is not an option of 'rr'\n");
	RUN(&o, "vsbench", "server", "--to", "tcp:127.0.0.1:9");
	expect_usage_error(_metadata, &o, "vsbench", "--to is not an option of 'server'\n");
}

TEST(unknown_options_and_missing_arguments)
{
	struct out o;

	RUN(&o, "vstrace", "show", "--frob");
	expect_usage_error(_metadata, &o, "vstrace", "unknown option '--frob'\n");
	RUN(&o, "vsbench", "rr", "--frob");
	expect_usage_error(_metadata, &o, "vsbench", "unknown option '--frob'\n");
	RUN(&o, "vsproxy", "--frob");
	expect_usage_error(_metadata, &o, "vsproxy", "unknown option '--frob'\n");
	RUN(&o, "vstrace", "start", "--port");
	expect_usage_error(_metadata, &o, "vstrace", "--port needs an argument\n");
	RUN(&o, "vsbench", "server", "--port");
	expect_usage_error(_metadata, &o, "vsbench", "--port needs an argument\n");
	RUN(&o, "vsproxy", "--stats");
	expect_usage_error(_metadata, &o, "vsproxy", "--stats needs an argument\n");
}

TEST(b_means_backend_only)
{
	struct out o;

	RUN(&o, "vstrace", "-b", "nope", "status");
	expect_usage_error(_metadata, &o, "vstrace", "--backend: unknown backend 'nope'");
	RUN(&o, "vsproxy", "-b", "64K", "tcp:127.0.0.1:1", "tcp:127.0.0.1:2");
	expect_usage_error(_metadata, &o, "vsproxy", "unknown option '-b'\n");
}

TEST(sizes_and_durations_same_rules)
{
	struct out o;

	RUN(&o, "vsbench", "rr", "--to", "tcp:127.0.0.1:9", "--size", "1.1K");
	expect_usage_error(_metadata, &o, "vsbench", "--size: '1.1K' is not a whole number of bytes");
	RUN(&o, "vsproxy", "--buffer", "4.1K", "tcp:127.0.0.1:1", "tcp:127.0.0.1:2");
	expect_usage_error(_metadata, &o, "vsproxy", "--buffer: '4.1K' is not a whole number of bytes");
	RUN(&o, "vstrace", "top", "--interval", "soon");
	expect_usage_error(_metadata, &o, "vstrace", "--interval: 'soon' is not a duration");
	RUN(&o, "vsbench", "stream", "--to", "tcp:127.0.0.1:9", "--size", "1K", "--seconds", "soon");
	expect_usage_error(_metadata, &o, "vsbench", "--seconds: 'soon' is not a duration");
	RUN(&o, "vsproxy", "--drain-timeout", "soon", "tcp:127.0.0.1:1", "tcp:127.0.0.1:2");
	expect_usage_error(_metadata, &o, "vsproxy", "--drain-timeout: 'soon' is not a duration");
}

TEST_HARNESS_MAIN
