// SPDX-License-Identifier: GPL-2.0
/*
 * vsbench selftests: spawn user/vsbench/vsbench (server and clients) and check
 * results, fault detection, errors and output formats.
 *
 * Each test runs once per transport (FIXTURE_VARIANT): tcp over 127.0.0.1
 * anywhere, vsock over loopback (CID 1) only inside the testbed
 * (VSTRACE_TESTBED=1): elsewhere the host's AF_VSOCK is not ours to use.
 * Servers listen on port 0 (any free port) and print the port they got.
 *
 * The binary: $VSBENCH, else ../user/vsbench/vsbench next to this test binary.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/vm_sockets.h>

#include "kselftest_harness.h"
#include "testbed_util.h"
#include "vsock_util.h"

#define OUT_MAX		(256 << 10)
#define MAX_SERVERS	4

struct run_out {
	int status;			/* exit status, or 128 + signal */
	char out[OUT_MAX];
	char err[OUT_MAX];
	double seconds;
};

static const char *vsbench_path(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n;

	if (getenv("VSBENCH"))
		return getenv("VSBENCH");
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return "user/vsbench/vsbench";
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/../user/vsbench/vsbench", dirname(exe));
	return path;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Append what fd has to buf; returns false at EOF. */
static bool drain(int fd, char *buf, size_t *len)
{
	ssize_t n;

	if (*len >= OUT_MAX - 1) {
		char sink[4096];

		return read(fd, sink, sizeof(sink)) > 0;
	}
	n = read(fd, buf + *len, OUT_MAX - 1 - *len);
	if (n <= 0)
		return false;
	*len += (size_t)n;
	buf[*len] = '\0';
	return true;
}

/*
 * Run vsbench with args (NULL-terminated), collect stdout and stderr, kill
 * it after limit seconds.  Returns 0, or -1 if it could not be started.
 */
static int run_vsbench(const char *const *args, double limit, struct run_out *r)
{
	int po[2], pe[2];
	size_t lo = 0, le = 0;
	const char *argv[64];
	double t0 = now_s();
	bool open_o = true, open_e = true;
	pid_t pid;
	int st, i;

	memset(r, 0, sizeof(*r));
	argv[0] = vsbench_path();
	for (i = 0; args[i] && i < 62; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	while (open_o || open_e) {
		struct pollfd pfd[2] = {
			{ .fd = open_o ? po[0] : -1, .events = POLLIN },
			{ .fd = open_e ? pe[0] : -1, .events = POLLIN },
		};
		double left = limit - (now_s() - t0);

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(pfd, 2, (int)(left * 1000) + 1) <= 0)
			continue;
		if (pfd[0].revents && !drain(po[0], r->out, &lo))
			open_o = false;
		if (pfd[1].revents && !drain(pe[0], r->err, &le))
			open_e = false;
	}
	close(po[0]);
	close(pe[0]);
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->seconds = now_s() - t0;
	return 0;
}

/* ---- a minimal JSON syntax check (RFC 8259 grammar, no semantics) ---- */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (!*p || !strchr("\"\\/bfnrtu", *p))
				return NULL;
		}
		p++;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *json_number(const char *p)
{
	const char *s = p;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return NULL;
	while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
	       ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E')))
		p++;
	return p > s ? p : NULL;
}

static const char *json_list(const char *p, char close, bool object, int depth)
{
	p = json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = json_string(json_ws(p));
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = json_value(p, depth + 1);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p, int depth)
{
	if (depth > 64)
		return NULL;
	p = json_ws(p);
	switch (*p) {
	case '{': return json_list(p, '}', true, depth);
	case '[': return json_list(p, ']', false, depth);
	case '"': return json_string(p);
	case 't': return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f': return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n': return strncmp(p, "null", 4) ? NULL : p + 4;
	default:  return json_number(p);
	}
}

/* One JSON object and nothing else but white space. */
static bool json_valid(const char *s)
{
	const char *end;

	if (*json_ws(s) != '{')
		return false;
	end = json_value(s, 0);
	return end && !*json_ws(end);
}

static bool has_key(const char *json, const char *key)
{
	char pat[128];

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	return strstr(json, pat);
}

/* ---- fixture: a server per test, more on demand ---- */

FIXTURE(vsbench) {
	pid_t servers[MAX_SERVERS];
	int nr_servers;
	char to[64];			/* the plain server's address */
};

FIXTURE_VARIANT(vsbench) {
	bool vsock;
};

FIXTURE_VARIANT_ADD(vsbench, tcp) {
	.vsock = false,
};

FIXTURE_VARIANT_ADD(vsbench, vsock) {
	.vsock = true,
};

/*
 * Start "vsbench server --tcp|--vsock --port 0 EXTRA..." and put the
 * client address for it in to.  Returns 0 or -1.
 */
static int start_server(FIXTURE_DATA(vsbench) *self, bool vsock, const char *extra1,
			const char *extra2, char *to, size_t tolen)
{
	const char *argv[] = { vsbench_path(), "server", vsock ? "--vsock" : "--tcp",
			       "--port", "0", extra1, extra2, NULL };
	char line[256] = "";
	size_t len = 0;
	double t0 = now_s();
	unsigned int port;
	int p[2], devnull;
	pid_t pid;

	if (self->nr_servers == MAX_SERVERS || pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		devnull = open("/dev/null", O_WRONLY);
		dup2(p[1], 1);
		dup2(devnull, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	self->servers[self->nr_servers++] = pid;
	/* First line: "listening on tcp:[::]:PORT" or "listening on vsock:any:PORT". */
	while (!strchr(line, '\n') && now_s() - t0 < 10 && len < sizeof(line) - 1) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 500) <= 0)
			continue;
		n = read(p[0], line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		line[len] = '\0';
	}
	close(p[0]);
	if (!strchr(line, '\n') || sscanf(strrchr(line, ':') + 1, "%u", &port) != 1)
		return -1;
	if (vsock)
		snprintf(to, tolen, "vsock:1:%u", port);
	else
		snprintf(to, tolen, "tcp:127.0.0.1:%u", port);
	return 0;
}

FIXTURE_SETUP(vsbench)
{
	if (variant->vsock && !in_testbed())
		SKIP(return, "VSOCK runs in the testbed only (VSTRACE_TESTBED=1)");
	if (access(vsbench_path(), X_OK))
		SKIP(return, "%s not built", vsbench_path());
	ASSERT_EQ(0, start_server(self, variant->vsock, NULL, NULL, self->to,
				  sizeof(self->to)));
}

FIXTURE_TEARDOWN(vsbench)
{
	for (int i = 0; i < self->nr_servers; i++) {
		kill(self->servers[i], SIGTERM);
		waitpid(self->servers[i], NULL, 0);
	}
}

#define RUN(limit, r, ...) do {						\
	const char *const _args[] = { __VA_ARGS__, NULL };		\
	ASSERT_EQ(0, run_vsbench(_args, limit, r));			\
} while (0)

/* Exit status, with vsbench's stderr in the log if it is not the one wanted. */
#define ASSERT_STATUS(want, r) \
	ASSERT_EQ(want, (r)->status) TH_LOG("after %.1f s, stderr: %s", (r)->seconds, (r)->err)
#define EXPECT_STATUS(want, r) \
	EXPECT_EQ(want, (r)->status) TH_LOG("after %.1f s, stderr: %s", (r)->seconds, (r)->err)

static struct run_out r_buf;

/* A vsbench VSOCK server on @port in the inner guest, once it listens. */
static int guest_run_bg(const char *project, unsigned int port)
{
	return guest_run(project,
			"(%s/user/vsbench/vsbench server --vsock --port %u >/tmp/vsbench-%u.log 2>&1 &); "
			"i=0; until grep -q listening /tmp/vsbench-%u.log; do "
			"i=$((i + 1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done",
			project, port, port, port);
}

static void guest_stop_bg(const char *project, unsigned int port)
{
	/* "[v]" keeps the pattern from matching the shell that runs pkill. */
	guest_run(project, "pkill -f \"[v]sbench server --vsock --port %u\"", port);
}

TEST_F(vsbench, rr_closed_loop)
{
	struct run_out *r = &r_buf;

	RUN(30, r, "rr", "--to", self->to, "--size", "64", "--count", "200",
	    "--warmup", "20", "--verify");
	ASSERT_STATUS(0, r);
	EXPECT_NE(NULL, strstr(r->out, "200 round trips measured after 20 warm-up"));
	EXPECT_NE(NULL, strstr(r->out, "p999"));
}

TEST_F(vsbench, rr_open_loop_conns_json)
{
	struct run_out *r = &r_buf;
	const char *keys[] = { "start", "end", "latency_us", "min", "mean", "p50", "p90",
			       "p99", "p999", "max", "samples", "msg_size", "rsp_size" };

	RUN(30, r, "rr", "--to", self->to, "--size", "100", "--rsp-size", "1K",
	    "--count", "25", "--warmup", "5", "--conns", "4", "--rate", "200", "--json",
	    "--verify");
	ASSERT_STATUS(0, r);
	ASSERT_TRUE(json_valid(r->out));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		EXPECT_TRUE(has_key(r->out, keys[i])) TH_LOG("no key %s", keys[i]);
	}
	EXPECT_NE(NULL, strstr(r->out, "\"samples\":100"));
	EXPECT_NE(NULL, strstr(r->out, "\"rsp_size\":1024"));
}

TEST_F(vsbench, rr_many_conns)
{
	struct run_out *r = &r_buf;

	RUN(60, r, "rr", "--to", self->to, "--size", "64", "--count", "5",
	    "--warmup", "1", "--conns", "100");
	ASSERT_STATUS(0, r);
	EXPECT_NE(NULL, strstr(r->out, "500 round trips measured"));
}

TEST_F(vsbench, stream_forward_verify)
{
	struct run_out *r = &r_buf;

	RUN(30, r, "stream", "--to", self->to, "--size", "16K", "--seconds", "1",
	    "--threads", "2", "--verify");
	ASSERT_STATUS(0, r);
	EXPECT_NE(NULL, strstr(r->out, "total"));
}

TEST_F(vsbench, stream_backward_json)
{
	struct run_out *r = &r_buf;
	const char *keys[] = { "start", "intervals", "end", "streams", "sender", "receiver",
			       "sum_sent", "sum_received", "bits_per_second", "direction" };

	RUN(30, r, "stream", "--to", self->to, "--size", "8K", "--seconds", "1",
	    "--direction", "backward", "--verify", "--json", "--interval", "0.25");
	ASSERT_STATUS(0, r);
	ASSERT_TRUE(json_valid(r->out));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		EXPECT_TRUE(has_key(r->out, keys[i])) TH_LOG("no key %s", keys[i]);
	}
	EXPECT_NE(NULL, strstr(r->out, "\"direction\":\"backward\""));
}

/* A server that corrupts or cuts short its 3rd message, and a client run. */
static void fault_run(struct __test_metadata *_metadata, FIXTURE_DATA(vsbench) *self,
		      bool vsock, const char *fault, const char *const *args,
		      struct run_out *r)
{
	const char *argv[32];
	char to[64];
	int n = 0;

	ASSERT_EQ(0, start_server(self, vsock, fault, "3", to, sizeof(to)));
	for (; args[n]; n++)
		argv[n] = args[n];
	argv[n++] = "--to";
	argv[n++] = to;
	argv[n] = NULL;
	ASSERT_EQ(0, run_vsbench(argv, 30, r));
}

TEST_F(vsbench, verify_catches_corrupt_rr)
{
	const char *args[] = { "rr", "--size", "256", "--count", "20", "--warmup", "0",
			       "--verify", NULL };
	struct run_out *r = &r_buf;

	fault_run(_metadata, self, variant->vsock, "--inject-corrupt", args, r);
	EXPECT_STATUS(1, r);
	EXPECT_NE(NULL, strstr(r->err, "Error:"));
	EXPECT_NE(NULL, strstr(r->err, "verify: response 2 has 1 bad byte(s)"));
}

TEST_F(vsbench, verify_catches_corrupt_stream)
{
	const char *fwd[] = { "stream", "--size", "4K", "--seconds", "0.5", "--verify", NULL };
	const char *bwd[] = { "stream", "--size", "4K", "--seconds", "0.5", "--verify",
			      "--direction", "backward", NULL };
	struct run_out *r = &r_buf;

	fault_run(_metadata, self, variant->vsock, "--inject-corrupt", fwd, r);
	EXPECT_STATUS(1, r);
	EXPECT_NE(NULL, strstr(r->err, "verify: the server found 1 bad byte(s)"));
	fault_run(_metadata, self, variant->vsock, "--inject-corrupt", bwd, r);
	EXPECT_STATUS(1, r);
	/* 3rd send of 4 KiB, byte 2048 of it. */
	EXPECT_NE(NULL, strstr(r->err, "verify: 1 bad byte(s) received, first at stream offset 10240"));
}

TEST_F(vsbench, verify_catches_short)
{
	const char *rr[] = { "rr", "--size", "64", "--count", "20", "--warmup", "0",
			     "--verify", NULL };
	const char *bwd[] = { "stream", "--size", "4K", "--seconds", "0.5", "--verify",
			      "--direction", "backward", NULL };
	struct run_out *r = &r_buf;

	fault_run(_metadata, self, variant->vsock, "--inject-short", rr, r);
	EXPECT_STATUS(1, r);
	EXPECT_NE(NULL, strstr(r->err, "short transfer: the server closed the connection after 63 of 64 bytes of response 2"));
	fault_run(_metadata, self, variant->vsock, "--inject-short", bwd, r);
	EXPECT_STATUS(1, r);
	EXPECT_NE(NULL, strstr(r->err, "short transfer"));
}

TEST_F(vsbench, csv_header)
{
	/* The paper's latency.csv / throughput-*.csv names, in their order. */
	static const char rr_hdr[] =
		"protocol,server.rsp_size,client.msg_size,num_samples,num_warmup_rounds,"
		"timeout_sec,act_sample_count,act_warmup_rounds,min,max,p99,p999,avg,"
		"median,q25,q75,scenario,timestamp,";
	static const char st_hdr[] = "cores,direction,threads,message_size,throughput,unit,";
	struct run_out *r = &r_buf;
	char want[32];

	RUN(30, r, "rr", "--to", self->to, "--size", "64", "--count", "10", "--warmup",
	    "1", "--csv", "--scenario", "selftest");
	ASSERT_STATUS(0, r);
	EXPECT_EQ(0, strncmp(r->out, rr_hdr, strlen(rr_hdr)));
	snprintf(want, sizeof(want), "\n%s,64,64,10,1,", variant->vsock ? "vsock" : "inet");
	EXPECT_NE(NULL, strstr(r->out, want));
	EXPECT_NE(NULL, strstr(r->out, ",selftest,"));

	RUN(30, r, "stream", "--to", self->to, "--size", "1K", "--seconds", "0.3", "--csv");
	ASSERT_STATUS(0, r);
	EXPECT_EQ(0, strncmp(r->out, st_hdr, strlen(st_hdr)));
	EXPECT_NE(NULL, strstr(r->out, ",forward,1,1024,"));
	EXPECT_NE(NULL, strstr(r->out, ",Gbits/sec,"));
}

/*
 * Sizes of 1 KiB and up: a VSOCK stream of smaller writes may be reset by
 * the receiving kernel (ENOBUFS) when packets queue faster than it reads,
 * which is the kernel's doing, not what this test is about.
 */
TEST_F(vsbench, sweep_small)
{
	struct run_out *r = &r_buf;

	RUN(60, r, "sweep", "--to", self->to, "--min-size", "1K", "--max-size", "4K",
	    "--count", "20", "--warmup", "2", "--seconds", "0.2", "--json");
	ASSERT_STATUS(0, r);
	ASSERT_TRUE(json_valid(r->out));
	EXPECT_NE(NULL, strstr(r->out, "\"size\":4096"));
	EXPECT_TRUE(has_key(r->out, "p999_us"));
	EXPECT_TRUE(has_key(r->out, "receiver_gbps"));
}

TEST_F(vsbench, connect_refused)
{
	struct run_out *r = &r_buf;
	char to[64];

	/* Port 1: nobody listens there, in or out of the testbed. */
	snprintf(to, sizeof(to), "%s", variant->vsock ? "vsock:1:1" : "tcp:127.0.0.1:1");
	RUN(30, r, "rr", "--to", to, "--size", "64", "--count", "1");
	EXPECT_STATUS(1, r);
	EXPECT_NE(NULL, strstr(r->err, "Error: connect to"));
	EXPECT_NE(NULL, strstr(r->err, "refused"));
}

TEST_F(vsbench, no_such_cid)
{
	struct run_out *r = &r_buf;

	if (!variant->vsock)
		SKIP(return, "VSOCK only");
	RUN(30, r, "rr", "--to", "vsock:4000000:5201", "--size", "64", "--count", "1",
	    "--timeout", "5");
	EXPECT_STATUS(1, r);
	EXPECT_NE(NULL, strstr(r->err, "Error: connect to vsock:4000000:5201"));
	EXPECT_TRUE(strstr(r->err, "CID") || strstr(r->err, "timeout"));
	EXPECT_LT(r->seconds, 15);
}

/* A listener that never accepts: the client must give up at --timeout. */
TEST_F(vsbench, timeout_no_hang)
{
	struct run_out *r = &r_buf;
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);
	char to[64];
	int fd;

	if (variant->vsock) {
		struct sockaddr_vm *vm = (void *)&ss;

		vm->svm_family = AF_VSOCK;
		vm->svm_cid = VMADDR_CID_ANY;
		vm->svm_port = VMADDR_PORT_ANY;
		len = sizeof(*vm);
	} else {
		struct sockaddr_in *in = (void *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&ss, len));
	ASSERT_EQ(0, listen(fd, 16));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&ss, &len));
	if (variant->vsock)
		snprintf(to, sizeof(to), "vsock:1:%u", ((struct sockaddr_vm *)&ss)->svm_port);
	else
		snprintf(to, sizeof(to), "tcp:127.0.0.1:%u",
			 ntohs(((struct sockaddr_in *)&ss)->sin_port));
	RUN(30, r, "rr", "--to", to, "--size", "64", "--timeout", "2");
	close(fd);
	EXPECT_STATUS(1, r);
	EXPECT_NE(NULL, strstr(r->err, "timeout"));
	EXPECT_LT(r->seconds, 8);
}

/* Is the running kernel at least major.minor? */
static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma, mi;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * MSG_ZEROCOPY: TCP has had it since Linux 4.14, VSOCK since 6.7.  Where the
 * kernel has it the stream runs and verifies both ways; where it has not,
 * the sender says which option failed and the server refuses a backward run.
 */
TEST_F(vsbench, zerocopy_works_or_says_why)
{
	struct run_out *r = &r_buf;
	bool works = !variant->vsock || kernel_at_least(6, 7);

	RUN(30, r, "stream", "--to", self->to, "--size", "64K", "--seconds", "0.5",
	    "--zerocopy", "--verify");
	if (works) {
		EXPECT_STATUS(0, r);
		EXPECT_NE(NULL, strstr(r->out, "total"));
	} else {
		EXPECT_STATUS(1, r);
		EXPECT_NE(NULL, strstr(r->err, "--zerocopy"));
	}
	RUN(30, r, "stream", "--to", self->to, "--size", "64K", "--seconds", "0.5",
	    "--zerocopy", "--verify", "--direction", "backward");
	if (works) {
		EXPECT_STATUS(0, r);
		EXPECT_NE(NULL, strstr(r->out, "total"));
	} else {
		EXPECT_STATUS(1, r);
		EXPECT_NE(NULL, strstr(r->err, "refused the run"));
	}
}

/* ---- arguments: exit 2, and the message names the argument ---- */

struct bad_arg {
	const char *args[8];
	const char *says;
};

static const struct bad_arg bad_args[] = {
	{ { "rr", "--size", "64" }, "--to is required" },
	{ { "rr", "--to", "tcp:127.0.0.1:9" }, "--size is required" },
	{ { "rr", "--to", "udp:1:2", "--size", "64" }, "--to: 'udp:1:2'" },
	{ { "rr", "--to", "vsock:x:2", "--size", "64" }, "bad CID 'x'" },
	{ { "rr", "--to", "tcp:127.0.0.1:9", "--size", "12Q" }, "--size: '12Q'" },
	{ { "rr", "--to", "tcp:127.0.0.1:9", "--size", "0" }, "--size: 0 is out of range" },
	{ { "rr", "--to", "tcp:127.0.0.1:9", "--size", "64", "--count", "-3" }, "--count: '-3'" },
	{ { "rr", "--to", "tcp:127.0.0.1:9", "--size", "64", "--threads", "2" },
	  "--threads is not an option of 'rr'" },
	{ { "rr", "--to", "tcp:127.0.0.1:9", "--size", "64", "--frob" }, "unknown option '--frob'" },
	{ { "rr", "--to", "tcp:127.0.0.1:9", "--size", "64", "--vsock-buf", "1M" }, "--vsock-buf" },
	{ { "stream", "--to", "tcp:127.0.0.1:9", "--size", "1K", "--direction", "up" },
	  "--direction: 'up'" },
	{ { "stream", "--to", "tcp:127.0.0.1:9", "--size" }, "--size needs an argument" },
	{ { "stream", "--to", "tcp:127.0.0.1:9", "--size", "1K", "--json", "--csv" }, "--json and --csv" },
	{ { "sweep", "--to", "tcp:127.0.0.1:9", "--max-size", "1000" }, "powers of two" },
	{ { "server", "--port", "70000", "--tcp" }, "--port" },
	{ { "server", "--inject-corrupt", "x" }, "--inject-corrupt: 'x'" },
	{ { "frobnicate" }, "unknown verb 'frobnicate'" },
	{ { "sweep", "--to", "tcp:127.0.0.1:9", "--only", "both" }, "--only: 'both'" },
};

TEST(bad_arguments)
{
	struct run_out *r = &r_buf;

	for (size_t i = 0; i < sizeof(bad_args) / sizeof(bad_args[0]); i++) {
		bool json = false;
		const char *msg;

		/* Under --json the error is {"error": ...} on stdout instead. */
		for (size_t a = 0; bad_args[i].args[a]; a++)
			json |= !strcmp(bad_args[i].args[a], "--json");
		msg = json ? r->out : r->err;
		ASSERT_EQ(0, run_vsbench(bad_args[i].args, 10, r));
		EXPECT_EQ(2, r->status) TH_LOG("case %zu: %s", i, r->err);
		EXPECT_NE(NULL, strstr(msg, bad_args[i].says))
			TH_LOG("case %zu: want '%s' in: %s", i, bad_args[i].says, msg);
		EXPECT_EQ(0, strncmp(msg, json ? "{\"error\":" : "Error: ", json ? 9 : 7));
		EXPECT_EQ('\0', (json ? r->err : r->out)[0]);
	}
}

TEST(help_on_every_verb)
{
	static const char *const verbs[] = { "server", "rr", "stream", "sweep" };
	struct run_out *r = &r_buf;

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		const char *args[] = { verbs[i], "--help", NULL };

		ASSERT_EQ(0, run_vsbench(args, 10, r));
		EXPECT_STATUS(0, r);
		EXPECT_NE(NULL, strstr(r->out, "Usage: vsbench"));
	}
	{
		const char *args[] = { "--help", NULL };

		ASSERT_EQ(0, run_vsbench(args, 10, r));
		EXPECT_EQ(0, r->status);
		EXPECT_NE(NULL, strstr(r->out, "sweep"));
	}
}

/* Nested testbed: nothing to set up beyond what the test does itself. */
FIXTURE(guest) {
	int unused;
};

FIXTURE_SETUP(guest)
{
}

FIXTURE_TEARDOWN(guest)
{
}

/*
 * Nested testbed: rr and stream in both directions between the outer VM and
 * a server in the inner guest, across vhost and the virtio guest driver.
 * Guest commands take seconds each under nested emulation.
 */
TEST_F_TIMEOUT(guest, nested_rr_and_stream_to_guest, 420)
{
	struct run_out *r = &r_buf;
	unsigned int cid = guest_cid(), port = 24000 + (unsigned int)(getpid() % 1000);
	char path[PATH_MAX], project[PATH_MAX], to[64];

	if (!cid)
		SKIP(return, "no inner guest (tools/testbed/run --nested)");
	/* .../user/vsbench/vsbench -> the project directory. */
	snprintf(path, sizeof(path), "%s", vsbench_path());
	snprintf(project, sizeof(project), "%s", dirname(dirname(dirname(path))));
	snprintf(to, sizeof(to), "vsock:%u:%u", cid, port);
	ASSERT_EQ(0, guest_run_bg(project, port));

	RUN(120, r, "rr", "--to", to, "--size", "256", "--count", "50", "--warmup", "5",
	    "--verify", "--timeout", "120");
	EXPECT_STATUS(0, r);
	EXPECT_NE(NULL, strstr(r->out, "50 round trips measured after 5 warm-up"));
	RUN(120, r, "stream", "--to", to, "--size", "64K", "--seconds", "2", "--verify",
	    "--timeout", "120");
	EXPECT_STATUS(0, r);
	EXPECT_NE(NULL, strstr(r->out, "total"));
	RUN(120, r, "stream", "--to", to, "--size", "16K", "--seconds", "2", "--verify",
	    "--direction", "backward", "--timeout", "120");
	EXPECT_STATUS(0, r);
	EXPECT_NE(NULL, strstr(r->out, "total"));
	guest_stop_bg(project, port);
}

TEST_HARNESS_MAIN
