// SPDX-License-Identifier: GPL-2.0
/*
 * vstrace.ko selftests, run inside the testbed (tools/testbed/run) as root:
 * load/unload, exact packet counts for known traffic over vsock loopback,
 * filters, netlink input checking, unload under traffic, and - with
 * --nested - counts on both sides of a vhost <-> virtio link.
 *
 * Every test fails if the kernel logged a warning, BUG or oops meanwhile.
 *
 * Extra modes for the nested tests (run in the inner guest):
 *   vstrace_test --echo-server PORT   echo every byte on one connection
 *                                     (prints "listening" once it does)
 *   vstrace_test --expect T D OP PACKETS BYTES
 *                                     exit 0 if the module counted exactly so
 *   vstrace_test --expect-stage T D STAGE MIN
 *                                     exit 0 if that stage's histogram has
 *                                     at least MIN samples
 *   vstrace_test --stage-means-sum    print the sum of every stage's mean, ns
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/vm_sockets.h>
#include "kselftest_harness.h"
#include "delay_util.h"
#include "testbed_util.h"
#include "vsock_util.h"
#include "vstrace_nl.h"

static char project[PATH_MAX];

static int load_module_params(const char *params)
{
	return vstrace_ko_load(project, params);
}

static int load_module(void)
{
	return load_module_params("");
}

static int unload_module(void)
{
	return vstrace_ko_unload();
}

static unsigned int test_port(int n)
{
	return 20000 + (unsigned int)(getpid() % 1000) * 10 + (unsigned int)n;
}

/* ---- fixture: module loaded, netlink open, dmesg watched ---- */

FIXTURE(vstrace) {
	struct vs_nl *nl;
	int trouble;
};

FIXTURE_SETUP(vstrace)
{
	int err;

	if (!in_testbed())
		SKIP(return, "needs the testbed (VSTRACE_TESTBED=1): loads a kernel module");
	self->trouble = kernel_trouble();
	system("modprobe vsock_loopback 2>/dev/null");
	err = load_module();
	ASSERT_EQ(0, err) TH_LOG("cannot load vstrace.ko: %s", strerror(-err));
	ASSERT_EQ(0, vs_nl_open(&self->nl));
	vs_nl_stop(self->nl);	/* a left-over session from an earlier test */
}

FIXTURE_TEARDOWN(vstrace)
{
	if (!in_testbed())
		return;
	if (self->nl) {
		vs_nl_stop(self->nl);
		vs_nl_close(self->nl);
	}
	EXPECT_EQ(self->trouble, kernel_trouble())
		TH_LOG("the kernel logged a warning, BUG or oops (see dmesg)");
}

static const struct vs_probe_status *find_probe(const struct vs_status *st,
						const char *point)
{
	for (unsigned int i = 0; i < st->nr_probes; i++)
		if (!strcmp(st->probes[i].point, point))
			return &st->probes[i];
	return NULL;
}

TEST_F(vstrace, status_lists_loopback_probes)
{
	const struct vs_probe_status *p;
	struct vs_status st;

	ASSERT_EQ(0, vs_nl_status(self->nl, &st));
	EXPECT_EQ(1, st.version);
	EXPECT_FALSE(st.active);
	p = find_probe(&st, "vsock_loopback_send_pkt");
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(p->attached);
	p = find_probe(&st, "virtio_transport_recv_pkt");
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(p->attached);
}

/* N round trips of S bytes: exactly 2N RW packets and 2NS bytes each way. */
static void check_rw(struct __test_metadata *_metadata, struct vs_nl *nl,
		     int n, size_t size, unsigned int port)
{
	struct vs_filter f = { .cid = -1, .port = port, .transport = -1 };
	const int L = VSTRACE_TRANSPORT_LOOPBACK;
	struct server srv;
	struct vs_stats s;

	ASSERT_EQ(0, vs_nl_start(nl, &f)) TH_LOG("%s", vs_nl_error(nl));
	ASSERT_EQ(0, server_start(&srv, port, false));
	ASSERT_EQ(0, ping_pong(VMADDR_CID_LOCAL, port, n, size));
	server_stop(&srv);
	ASSERT_EQ(0, vs_nl_stop(nl));
	ASSERT_EQ(0, vs_nl_stats(nl, &s));

	EXPECT_EQ(2ull * n, s.packets[L][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
	EXPECT_EQ(2ull * n * size, s.bytes[L][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
	EXPECT_EQ(2ull * n, s.packets[L][VSTRACE_DIR_RX][VSTRACE_OP_RW]);
	EXPECT_EQ(2ull * n * size, s.bytes[L][VSTRACE_DIR_RX][VSTRACE_OP_RW]);
	EXPECT_EQ(1, s.packets[L][VSTRACE_DIR_TX][VSTRACE_OP_REQUEST]);
	EXPECT_EQ(1, s.packets[L][VSTRACE_DIR_TX][VSTRACE_OP_RESPONSE]);
	EXPECT_EQ(1, s.packets[L][VSTRACE_DIR_RX][VSTRACE_OP_REQUEST]);
	/* Nothing was attributed to a transport that is not in the path. */
	EXPECT_EQ(0, s.packets[VSTRACE_TRANSPORT_VIRTIO][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
	EXPECT_EQ(0, s.packets[VSTRACE_TRANSPORT_VHOST][VSTRACE_DIR_RX][VSTRACE_OP_RW]);
	EXPECT_GE(s.counters[VSTRACE_CTR_PROBE_HITS], 8ull * n);
	/* A normal close's RSTs are no drops. */
	EXPECT_EQ(0, s.counters[VSTRACE_CTR_DROPS]);
	/* One message in flight at a time: a shallow, non-empty TX queue. */
	EXPECT_GE(s.counters[VSTRACE_CTR_TX_QUEUE_MAX], 1);
	EXPECT_LE(s.counters[VSTRACE_CTR_TX_QUEUE_MAX], 16);
}

TEST_F(vstrace, loopback_rw_exact_1b)
{
	check_rw(_metadata, self->nl, 50, 1, test_port(1));
}

TEST_F(vstrace, loopback_rw_exact_64b)
{
	check_rw(_metadata, self->nl, 100, 64, test_port(2));
}

TEST_F(vstrace, loopback_rw_exact_4k)
{
	check_rw(_metadata, self->nl, 50, 4096, test_port(3));
}

TEST_F(vstrace, loopback_rw_exact_64k)
{
	check_rw(_metadata, self->nl, 10, 65536, test_port(4));
}

TEST_F(vstrace, port_filter_excludes_other_traffic)
{
	struct vs_filter f = { .cid = -1, .port = test_port(5), .transport = -1 };
	struct server srv;
	struct vs_stats s;
	int t, d;

	ASSERT_EQ(0, vs_nl_start(self->nl, &f));
	ASSERT_EQ(0, server_start(&srv, test_port(6), false));
	ASSERT_EQ(0, ping_pong(VMADDR_CID_LOCAL, test_port(6), 20, 64));
	server_stop(&srv);
	ASSERT_EQ(0, vs_nl_stats(self->nl, &s));
	for (t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
		for (d = 0; d < VSTRACE_NR_DIRS; d++)
			EXPECT_EQ(0, s.packets[t][d][VSTRACE_OP_RW]);
	EXPECT_GE(s.counters[VSTRACE_CTR_FILTERED], 80);
}

TEST_F(vstrace, transport_filter_excludes_loopback)
{
	struct vs_filter f = { .cid = -1, .port = -1,
			       .transport = VSTRACE_TRANSPORT_VHOST };
	struct server srv;
	struct vs_stats s;

	ASSERT_EQ(0, vs_nl_start(self->nl, &f));
	ASSERT_EQ(0, server_start(&srv, test_port(7), false));
	ASSERT_EQ(0, ping_pong(VMADDR_CID_LOCAL, test_port(7), 10, 64));
	server_stop(&srv);
	ASSERT_EQ(0, vs_nl_stats(self->nl, &s));
	EXPECT_EQ(0, s.packets[VSTRACE_TRANSPORT_LOOPBACK][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
	EXPECT_GE(s.counters[VSTRACE_CTR_FILTERED], 40);
}

TEST_F(vstrace, session_state_errors)
{
	struct vs_filter f = { .cid = -1, .port = -1, .transport = -1 };
	struct vs_status st;

	EXPECT_EQ(-ENOENT, vs_nl_stop(self->nl));
	EXPECT_NE(NULL, strstr(vs_nl_error(self->nl), "no session"));
	ASSERT_EQ(0, vs_nl_start(self->nl, &f));
	EXPECT_EQ(-EBUSY, vs_nl_start(self->nl, &f));
	EXPECT_NE(NULL, strstr(vs_nl_error(self->nl), "already running"));
	ASSERT_EQ(0, vs_nl_status(self->nl, &st));
	EXPECT_TRUE(st.active);
	EXPECT_EQ(0, vs_nl_reset(self->nl));
	EXPECT_EQ(0, vs_nl_stop(self->nl));
	ASSERT_EQ(0, vs_nl_status(self->nl, &st));
	EXPECT_FALSE(st.active);
}

/* A netlink attribute, laid out by hand so it can be malformed. */
static size_t put_attr(char *buf, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)buf;

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy(buf + NLA_HDRLEN, data, len);
	return NLA_ALIGN(a->nla_len);
}

TEST_F(vstrace, bad_attributes_rejected)
{
	char buf[256] = { 0 };
	uint32_t bad_transport = VSTRACE_NR_TRANSPORTS;
	uint8_t small = 1;
	uint64_t big = 1;
	struct vs_status st;
	size_t len;
	int err;

	/* Out of range. */
	len = put_attr(buf, VSTRACE_A_FILTER_TRANSPORT, &bad_transport, 4);
	EXPECT_EQ(-EINVAL, vs_nl_raw(self->nl, VSTRACE_CMD_START, buf, len));
	EXPECT_NE(NULL, strstr(vs_nl_error(self->nl), "transport"));
	/* Wrong type: a u8 where a u32 belongs. */
	len = put_attr(buf, VSTRACE_A_FILTER_PORT, &small, 1);
	err = vs_nl_raw(self->nl, VSTRACE_CMD_START, buf, len);
	EXPECT_TRUE(err == -EINVAL || err == -ERANGE) TH_LOG("got %d", err);
	/* Oversized: a u64 where a u32 belongs (strict validation). */
	len = put_attr(buf, VSTRACE_A_FILTER_CID, &big, 8);
	EXPECT_EQ(-EINVAL, vs_nl_raw(self->nl, VSTRACE_CMD_START, buf, len));
	/* Unknown attribute type. */
	len = put_attr(buf, VSTRACE_A_MAX + 5, &bad_transport, 4);
	EXPECT_NE(0, vs_nl_raw(self->nl, VSTRACE_CMD_START, buf, len));
	/* Unknown command. */
	EXPECT_NE(0, vs_nl_raw(self->nl, VSTRACE_CMD_MAX + 1, NULL, 0));
	/* None of this started a session, and the module still answers. */
	ASSERT_EQ(0, vs_nl_status(self->nl, &st));
	EXPECT_FALSE(st.active);
}

/*
 * Every command, reads included, needs CAP_NET_ADMIN or CAP_PERFMON: the
 * timings of every VSOCK flow are a side channel.  Root still works after.
 */
TEST_F(vstrace, unprivileged_caller_refused)
{
	pid_t pid = fork();
	int status;

	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct vs_filter f = { .cid = -1, .port = -1, .transport = -1 };
		struct vs_stats *s = malloc(sizeof(*s));
		struct vs_status st;
		struct vs_nl *nl;

		if (!s || setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(10);
		if (vs_nl_open(&nl))
			_exit(11);
		if (vs_nl_start(nl, &f) != -EPERM)
			_exit(12);
		if (vs_nl_reset(nl) != -EPERM)
			_exit(13);
		if (vs_nl_stop(nl) != -EPERM)
			_exit(14);
		if (vs_nl_status(nl, &st) != -EPERM)
			_exit(15);
		if (vs_nl_stats(nl, s) != -EPERM)
			_exit(16);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("step %d failed", WEXITSTATUS(status));

	struct vs_filter f = { .cid = -1, .port = -1, .transport = -1 };
	struct vs_status st;

	EXPECT_EQ(0, vs_nl_status(self->nl, &st));
	EXPECT_EQ(0, vs_nl_start(self->nl, &f));
	EXPECT_EQ(0, vs_nl_stop(self->nl));
}

/*
 * Probes are armed only while a session runs; armed, a point runs from
 * ftrace where the kernel can (every 6.x testbed kernel), else as a jump
 * or a trap.
 */
static void check_probe_kinds(struct __test_metadata *_metadata,
			      struct vs_nl *nl, bool active)
{
	struct vs_status st;
	unsigned int armed = 0;

	ASSERT_EQ(0, vs_nl_status(nl, &st));
	for (unsigned int i = 0; i < st.nr_probes; i++) {
		const struct vs_probe_status *p = &st.probes[i];

		if (!p->attached) {
			EXPECT_EQ(VSTRACE_PROBE_KIND_NONE, p->kind) TH_LOG("%s", p->point);
			continue;
		}
		if (!active) {
			EXPECT_EQ(VSTRACE_PROBE_KIND_DISARMED, p->kind)
				TH_LOG("%s is %s with no session", p->point,
				       vs_probe_kind_names[p->kind]);
			continue;
		}
		EXPECT_EQ(VSTRACE_PROBE_KIND_FTRACE, p->kind)
			TH_LOG("%s is %s (%s) in a session", p->point,
			       vs_probe_kind_names[p->kind], p->kind_why);
		armed++;
	}
	if (active)
		EXPECT_GE(armed, 5);
}

TEST_F(vstrace, probes_armed_only_during_session)
{
	struct vs_filter f = { .cid = -1, .port = -1, .transport = -1 };

	check_probe_kinds(_metadata, self->nl, false);
	ASSERT_EQ(0, vs_nl_start(self->nl, &f));
	check_probe_kinds(_metadata, self->nl, true);
	ASSERT_EQ(0, vs_nl_stop(self->nl));
	check_probe_kinds(_metadata, self->nl, false);
}

/*
 * vsock_loopback unloaded and loaded again during a session: its probe is
 * attached again (the kernel marked the old one gone) and counts again.
 */
TEST_F(vstrace, loopback_reload_reattaches)
{
	struct vs_filter f = { .cid = -1, .port = test_port(14), .transport = -1 };
	const int L = VSTRACE_TRANSPORT_LOOPBACK, T = VSTRACE_DIR_TX;
	const struct vs_probe_status *p;
	struct vs_stats *s = malloc(sizeof(*s));
	struct vs_status st;
	struct server srv;

	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, vs_nl_start(self->nl, &f));
	ASSERT_EQ(0, system("rmmod vsock_loopback"));
	ASSERT_EQ(0, vs_nl_status(self->nl, &st));
	p = find_probe(&st, "vsock_loopback_send_pkt");
	ASSERT_NE(NULL, p);
	EXPECT_EQ(VSTRACE_PROBE_KIND_NONE, p->kind);
	ASSERT_EQ(0, system("modprobe vsock_loopback"));
	ASSERT_EQ(0, vs_nl_status(self->nl, &st));
	p = find_probe(&st, "vsock_loopback_send_pkt");
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(p->attached);
	EXPECT_EQ(VSTRACE_PROBE_KIND_FTRACE, p->kind);

	ASSERT_EQ(0, server_start(&srv, test_port(14), false));
	ASSERT_EQ(0, ping_pong(VMADDR_CID_LOCAL, test_port(14), 10, 64));
	server_stop(&srv);
	ASSERT_EQ(0, vs_nl_stats(self->nl, s));
	EXPECT_EQ(20, s->packets[L][T][VSTRACE_OP_RW]);
	free(s);
}

/* ---- per-stage latency histograms ---- */

/* Stages a loopback round trip crosses on its way (design.md section 2). */
static const struct {
	int stage, dir;
} loopback_stages[] = {
	{ VSTRACE_STAGE_COPY,	VSTRACE_DIR_TX },
	{ VSTRACE_STAGE_SCHED,	VSTRACE_DIR_TX },
	{ VSTRACE_STAGE_PROTO,	VSTRACE_DIR_RX },
	{ VSTRACE_STAGE_SCHED,	VSTRACE_DIR_WAKEUP },
	{ VSTRACE_STAGE_COPY,	VSTRACE_DIR_RX },
};

/* Percentiles ordered, mean between the lowest bucket and the maximum. */
static void check_hist_shape(struct __test_metadata *_metadata,
			     const struct vs_hist *h, const char *what)
{
	uint64_t p50 = vs_hist_percentile(h, 50.0);
	uint64_t p90 = vs_hist_percentile(h, 90.0);
	uint64_t p99 = vs_hist_percentile(h, 99.0);
	uint64_t p999 = vs_hist_percentile(h, 99.9);
	double mean = vs_hist_mean(h);

	EXPECT_LE(p50, p90) TH_LOG("%s", what);
	EXPECT_LE(p90, p99) TH_LOG("%s", what);
	EXPECT_LE(p99, p999) TH_LOG("%s", what);
	EXPECT_LE(p999, h->max) TH_LOG("%s", what);
	EXPECT_GE(mean, (double)h->min) TH_LOG("%s: mean %.0f min %llu", what, mean,
					       (unsigned long long)h->min);
	EXPECT_LE(mean, (double)h->max) TH_LOG("%s: mean %.0f max %llu", what, mean,
					       (unsigned long long)h->max);
}

/* Both ends on one CPU: cross-CPU wakeups under TCG are slow and bimodal. */
static void pin_to_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void check_stages(struct __test_metadata *_metadata, struct vs_nl *nl,
			 int n, size_t size, unsigned int port)
{
	struct vs_filter f = { .cid = -1, .port = port, .transport = -1 };
	const int L = VSTRACE_TRANSPORT_LOOPBACK;
	double sum_means = 0.0, rtt_mean;
	struct vs_stats *s = malloc(sizeof(*s));
	struct server srv;
	uint64_t rtt_ns;
	char what[64];

	ASSERT_NE(NULL, s);
	pin_to_cpu0();
	ASSERT_EQ(0, vs_nl_start(nl, &f)) TH_LOG("%s", vs_nl_error(nl));
	ASSERT_EQ(0, server_start(&srv, port, false));
	ASSERT_EQ(0, ping_pong_timed(VMADDR_CID_LOCAL, port, n, size, &rtt_ns));
	server_stop(&srv);
	ASSERT_EQ(0, vs_nl_stop(nl));
	ASSERT_EQ(0, vs_nl_stats(nl, s));
	rtt_mean = (double)rtt_ns / n;

	/* Op counts stay exact with the stage probes on. */
	EXPECT_EQ(2ull * n, s->packets[L][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
	EXPECT_EQ(2ull * n * size, s->bytes[L][VSTRACE_DIR_RX][VSTRACE_OP_RW]);

	for (size_t i = 0; i < sizeof(loopback_stages) / sizeof(loopback_stages[0]); i++) {
		const struct vs_hist *h = vs_stats_hist(s, loopback_stages[i].stage,
							loopback_stages[i].dir, L);

		snprintf(what, sizeof(what), "%s %s",
			 vs_stage_names[loopback_stages[i].stage],
			 vs_dir_names[loopback_stages[i].dir]);
		EXPECT_GE(h->count, (uint64_t)n) TH_LOG("%s: %llu samples for %d round trips",
						      what, (unsigned long long)h->count, n);
		check_hist_shape(_metadata, h, what);
		sum_means += vs_hist_mean(h);
	}
	/* Each stage is crossed twice per round trip: its means fit in one. */
	EXPECT_LE(sum_means, rtt_mean)
		TH_LOG("stage means sum to %.0f ns, round trip %.0f ns", sum_means, rtt_mean);
	/* Nothing landed on a transport that is not in the path. */
	for (int st = 0; st < VSTRACE_NR_STAGES; st++)
		for (int d = 0; d < VSTRACE_NR_DIRS; d++) {
			EXPECT_EQ(0, vs_stats_hist(s, st, d, VSTRACE_TRANSPORT_VIRTIO)->count);
			EXPECT_EQ(0, vs_stats_hist(s, st, d, VSTRACE_TRANSPORT_VHOST)->count);
		}
	if (getenv("VSTRACE_DEBUG"))
		TH_LOG("%d x %zu B: round trip %.0f ns, stage means %.0f ns", n, size,
		       rtt_mean, sum_means);
	free(s);
}

TEST_F(vstrace, loopback_stages_cover_round_trips_64b)
{
	check_stages(_metadata, self->nl, 100, 64, test_port(10));
}

TEST_F(vstrace, loopback_stages_cover_round_trips_16k)
{
	check_stages(_metadata, self->nl, 30, 16384, test_port(11));
}

TEST_F(vstrace, histograms_reset)
{
	struct vs_filter f = { .cid = -1, .port = test_port(12), .transport = -1 };
	const int L = VSTRACE_TRANSPORT_LOOPBACK;
	struct vs_stats *s = malloc(sizeof(*s));
	struct server srv;

	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, vs_nl_start(self->nl, &f));
	ASSERT_EQ(0, server_start(&srv, test_port(12), false));
	ASSERT_EQ(0, ping_pong(VMADDR_CID_LOCAL, test_port(12), 10, 64));
	server_stop(&srv);
	ASSERT_EQ(0, vs_nl_stats(self->nl, s));
	EXPECT_GE(vs_stats_hist(s, VSTRACE_STAGE_PROTO, VSTRACE_DIR_RX, L)->count, 10);
	ASSERT_EQ(0, vs_nl_reset(self->nl));
	ASSERT_EQ(0, vs_nl_stats(self->nl, s));
	for (int st = 0; st < VSTRACE_NR_STAGES; st++)
		for (int d = 0; d < VSTRACE_NR_DIRS; d++)
			for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++) {
				EXPECT_EQ(0, vs_stats_hist(s, st, d, t)->count)
					TH_LOG("%s %s %s", vs_stage_names[st], vs_dir_names[d],
					       vs_transport_names[t]);
			}
	EXPECT_EQ(0, s->counters[VSTRACE_CTR_CREDIT_STALLS]);
	free(s);
}

/*
 * Control packets are timed apart: on loopback the data class holds the
 * RW packets exactly, the control class every other packet, and a reader's
 * credit updates (one per drained read on 6.x, per read on 4.14) are
 * control proto (tx), not copy (rx).
 */
TEST_F(vstrace, control_packets_apart)
{
	struct vs_filter f = { .cid = -1, .port = test_port(15), .transport = -1 };
	const int L = VSTRACE_TRANSPORT_LOOPBACK, C = VSTRACE_CLASS_CONTROL;
	const int n = 50;
	struct vs_stats *s = malloc(sizeof(*s));
	uint64_t ctl_rx = 0;
	struct server srv;

	ASSERT_NE(NULL, s);
	pin_to_cpu0();
	ASSERT_EQ(0, vs_nl_start(self->nl, &f));
	ASSERT_EQ(0, server_start(&srv, test_port(15), false));
	ASSERT_EQ(0, ping_pong(VMADDR_CID_LOCAL, test_port(15), n, 64));
	server_stop(&srv);
	ASSERT_EQ(0, vs_nl_stop(self->nl));
	ASSERT_EQ(0, vs_nl_stats(self->nl, s));
	for (int op = 0; op < VSTRACE_NR_OPS; op++)
		if (op != VSTRACE_OP_RW)
			ctl_rx += s->packets[L][VSTRACE_DIR_RX][op];

	EXPECT_EQ(2ull * n, vs_stats_hist(s, VSTRACE_STAGE_PROTO, VSTRACE_DIR_RX, L)->count);
	EXPECT_EQ(2ull * n, vs_stats_hist(s, VSTRACE_STAGE_SCHED, VSTRACE_DIR_TX, L)->count);
	EXPECT_EQ(2ull * n, vs_stats_hist(s, VSTRACE_STAGE_COPY, VSTRACE_DIR_RX, L)->count);
	EXPECT_EQ(ctl_rx, vs_stats_hist_class(s, C, VSTRACE_STAGE_PROTO, VSTRACE_DIR_RX,
					      L)->count);
	EXPECT_GE(s->packets[L][VSTRACE_DIR_TX][VSTRACE_OP_CREDIT_UPDATE], (uint64_t)n);
	EXPECT_GE(vs_stats_hist_class(s, C, VSTRACE_STAGE_PROTO, VSTRACE_DIR_TX, L)->count,
		  (uint64_t)n) TH_LOG("credit updates sent from a dequeue are control");
	free(s);
}

/* Echo one connection's bytes, waiting for them in epoll_wait(). */
static void *epoll_echo_main(void *arg)
{
	int lfd = *(int *)arg, fd, ep;
	struct epoll_event ev = { .events = EPOLLIN };
	char buf[4096];
	ssize_t n;

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	ep = epoll_create1(0);
	ev.data.fd = fd;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		goto out;
	for (;;) {
		if (epoll_wait(ep, &ev, 1, 60000) != 1)
			break;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0 || xfer_all(fd, buf, (size_t)n, true))
			break;
	}
out:
	if (ep >= 0)
		close(ep);
	close(fd);
	return NULL;
}

/* One epoll-echo run of @n round trips; the wakeup histogram's count and sum. */
static int epoll_run(struct vs_nl *nl, unsigned int port, int n, uint64_t *count,
		     uint64_t *sum)
{
	struct vs_filter f = { .cid = -1, .port = port, .transport = -1 };
	struct vs_stats *s = malloc(sizeof(*s));
	const struct vs_hist *h;
	pthread_t thread;
	int lfd, err;

	*count = *sum = 0;
	if (!s)
		return -ENOMEM;
	lfd = vsock_listen(port);
	if (lfd < 0) {
		free(s);
		return lfd;
	}
	if (pthread_create(&thread, NULL, epoll_echo_main, &lfd)) {
		close(lfd);
		free(s);
		return -EAGAIN;
	}
	err = vs_nl_start(nl, &f);
	/* The echo thread ends when the client closes: connect even on error. */
	if (!err)
		err = ping_pong(VMADDR_CID_LOCAL, port, n, 64);
	else
		close(vsock_connect(VMADDR_CID_LOCAL, port));
	vs_nl_stop(nl);
	pthread_join(thread, NULL);
	close(lfd);
	if (!err)
		err = vs_nl_stats(nl, s);
	if (!err) {
		h = vs_stats_hist(s, VSTRACE_STAGE_SCHED, VSTRACE_DIR_WAKEUP,
				  VSTRACE_TRANSPORT_LOOPBACK);
		*count = h->count;
		*sum = h->sum;
	}
	free(s);
	return err;
}

/*
 * A reader that waits in epoll gets its wakeup measured: data ready -> its
 * first vsock_poll.  Proved by moving it: vstrace_delay.ko spins in
 * ep_poll_callback(), which runs between the two (sk_data_ready wakes the
 * epoll waiter through it), for RW packets only (the same callback also
 * runs for write-space wakeups, outside any wakeup interval), and the
 * wakeup total must grow by the time spun.  Were the epoll reader's wakeup restarted at its recvmsg, after
 * the spin, it would not grow at all.
 */
TEST_F(vstrace, epoll_reader_gets_wakeup)
{
	/* Only inside the recv_pkt of an RW packet: its data-ready wakeup. */
	struct delay_spec spec = { .func = "ep_poll_callback", .where = "entry",
				   .match_op = VSTRACE_OP_RW, .delay_ns = 200000 };
	struct delay_count before = { 0 }, after = { 0 }, spun;
	uint64_t c0, s0, c1, s1;
	const int n = 100;
	double grew;

	pin_to_cpu0();
	ASSERT_EQ(0, epoll_run(self->nl, test_port(16), n, &c0, &s0));
	ASSERT_EQ(0, delay_load(project, &spec)) TH_LOG("cannot load vstrace_delay.ko");
	ASSERT_EQ(0, delay_read(&before));
	EXPECT_EQ(0, epoll_run(self->nl, test_port(17), n, &c1, &s1));
	EXPECT_EQ(0, delay_read(&after));
	EXPECT_EQ(0, delay_unload());
	spun = delay_diff(&after, &before);

	grew = (double)s1 - (double)s0;
	TH_LOG("wakeup: %llu samples, %.0f ns in all; with %llu spins of %.0f ns: %llu samples, "
	       "%.0f ns (grew %.0f ns, %.0f%% of the time spun)",
	       (unsigned long long)c0, (double)s0, (unsigned long long)spun.hits,
	       spun.hits ? (double)spun.spun_ns / spun.hits : 0.0, (unsigned long long)c1,
	       (double)s1, grew, spun.spun_ns ? 100.0 * grew / spun.spun_ns : 0.0);
	EXPECT_GE(c0, 2ull * n);
	EXPECT_GE(c1, 2ull * n);
	ASSERT_GE(spun.hits, (uint64_t)n);
	EXPECT_GE(grew, 0.6 * n * ((double)spun.spun_ns / spun.hits))
		TH_LOG("the epoll reader's wakeup misses the spin");
	EXPECT_LE(grew, (double)spun.spun_ns + 0.25 * s0);
}

TEST_F(vstrace, status_reports_dequeue_fallback)
{
	const struct vs_probe_status *p;
	struct vs_status st;

	ASSERT_EQ(0, vs_nl_status(self->nl, &st));
	p = find_probe(&st, "virtio_transport_stream_do_dequeue");
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(p->attached);
	/* Debian inlines it: then the exported caller is timed, and said so. */
	if (p->fallback[0])
		EXPECT_NE(NULL, strstr(p->fallback, "virtio_transport_stream_dequeue"));
	p = find_probe(&st, "virtio_transport_recv_pkt");
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(p->attached);
}

/* A receiver that reads only after a pause: the sender runs out of credit. */
struct slow_reader {
	pthread_t thread;
	int lfd;
	size_t total;
	int err;
};

static void *slow_reader_main(void *arg)
{
	struct slow_reader *r = arg;
	char buf[65536];
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = accept(r->lfd, NULL, NULL);
	if (fd < 0) {
		r->err = -errno;
		return NULL;
	}
	set_timeouts(fd, 30);
	usleep(300000);
	while (got < r->total && (n = recv(fd, buf, sizeof(buf), 0)) > 0)
		got += (size_t)n;
	r->err = got == r->total ? 0 : -EIO;
	close(fd);
	return NULL;
}

TEST_F(vstrace, credit_stall_counted)
{
	struct vs_filter f = { .cid = -1, .port = test_port(13), .transport = -1 };
	struct slow_reader r = { .total = 2u << 20 };
	struct vs_stats *s = malloc(sizeof(*s));
	char *buf = calloc(1, r.total);
	int fd;

	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, buf);
	r.lfd = vsock_listen(test_port(13));
	ASSERT_GE(r.lfd, 0);
	ASSERT_EQ(0, vs_nl_start(self->nl, &f));
	ASSERT_EQ(0, pthread_create(&r.thread, NULL, slow_reader_main, &r));
	fd = vsock_connect(VMADDR_CID_LOCAL, test_port(13));
	ASSERT_GE(fd, 0);
	/* More than the peer's buffer (256 KiB by default). */
	EXPECT_EQ(0, xfer_all(fd, buf, r.total, true));
	close(fd);
	pthread_join(r.thread, NULL);
	close(r.lfd);
	EXPECT_EQ(0, r.err);
	ASSERT_EQ(0, vs_nl_stop(self->nl));
	ASSERT_EQ(0, vs_nl_stats(self->nl, s));
	EXPECT_GE(s->counters[VSTRACE_CTR_CREDIT_STALLS], 1);
	/* The first stall lasts about as long as the reader's pause. */
	EXPECT_GE(s->counters[VSTRACE_CTR_CREDIT_STALL_NS], 100000000ull)
		TH_LOG("%llu stalls, %llu ns",
		       (unsigned long long)s->counters[VSTRACE_CTR_CREDIT_STALLS],
		       (unsigned long long)s->counters[VSTRACE_CTR_CREDIT_STALL_NS]);
	free(buf);
	free(s);
}

/*
 * A normal close ends in RSTs (the side that closes last answers the
 * other's SHUTDOWN with one): they count as RST packets, not as drops.
 * (A real drop, an RW packet that reaches no socket's queue, cannot be
 * made from user space on loopback: the one queue keeps a close's
 * SHUTDOWN, any data sent before it was seen, and the peer's RST in
 * order, so data always finds the closed socket still there.)
 */
TEST_F(vstrace, close_counts_rst_not_drops)
{
	struct vs_filter f = { .cid = -1, .port = test_port(18), .transport = -1 };
	const int L = VSTRACE_TRANSPORT_LOOPBACK;
	char buf[64] = "last";
	struct vs_stats *s = malloc(sizeof(*s));
	int lfd, cfd, afd;

	ASSERT_NE(NULL, s);
	lfd = vsock_listen(test_port(18));
	ASSERT_LE(0, lfd);
	cfd = vsock_connect(VMADDR_CID_LOCAL, test_port(18));
	ASSERT_LE(0, cfd);
	afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	set_timeouts(afd, 10);
	ASSERT_EQ(0, vs_nl_start(self->nl, &f)) TH_LOG("%s", vs_nl_error(self->nl));
	EXPECT_EQ(0, xfer_all(cfd, buf, sizeof(buf), true));
	EXPECT_EQ(0, xfer_all(afd, buf, sizeof(buf), false));
	close(afd);
	close(cfd);
	/* Let the worker deliver the SHUTDOWNs and RSTs. */
	usleep(300000);
	close(lfd);
	ASSERT_EQ(0, vs_nl_stop(self->nl));
	ASSERT_EQ(0, vs_nl_stats(self->nl, s));
	EXPECT_EQ(1, s->packets[L][VSTRACE_DIR_RX][VSTRACE_OP_RW]);
	EXPECT_LE(1, s->packets[L][VSTRACE_DIR_RX][VSTRACE_OP_RST]);
	EXPECT_EQ(0, s->counters[VSTRACE_CTR_DROPS])
		TH_LOG("%llu drops, %llu RST received",
		       (unsigned long long)s->counters[VSTRACE_CTR_DROPS],
		       (unsigned long long)s->packets[L][VSTRACE_DIR_RX][VSTRACE_OP_RST]);
	free(s);
}

/*
 * A non-blocking sender that runs out of credit gets EAGAIN: a stall,
 * which ends when it enqueues again after the reader drained the queue.
 * The same traffic in a session filtered to another port shows no stall.
 */
static void nonblocking_stall(struct __test_metadata *_metadata, struct vs_nl *nl,
			      unsigned int port, unsigned int session_port,
			      struct vs_stats *s)
{
	struct vs_filter f = { .cid = -1, .port = session_port, .transport = -1 };
	char *buf = calloc(1, 65536);
	int lfd, cfd, afd, eagain = 0;
	size_t queued = 0;
	ssize_t n;

	ASSERT_NE(NULL, buf);
	lfd = vsock_listen(port);
	ASSERT_LE(0, lfd);
	cfd = vsock_connect(VMADDR_CID_LOCAL, port);
	ASSERT_LE(0, cfd);
	afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	set_timeouts(afd, 30);
	ASSERT_EQ(0, vs_nl_start(nl, &f)) TH_LOG("%s", vs_nl_error(nl));
	/* Fill the peer's buffer (256 KiB by default) until EAGAIN. */
	while (queued < (8u << 20)) {
		n = send(cfd, buf, 65536, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN) {
			eagain = 1;
			break;
		}
		ASSERT_LT(0, n) TH_LOG("send: %s", strerror(errno));
		queued += (size_t)n;
	}
	EXPECT_TRUE(eagain) TH_LOG("%zu bytes queued without EAGAIN", queued);
	usleep(200000);
	/* Drain what is queued; the sender then has credit and sends again. */
	while (queued > 0) {
		n = recv(afd, buf, 65536, 0);
		ASSERT_LT(0, n) TH_LOG("recv: %s", strerror(errno));
		queued -= (size_t)n;
	}
	usleep(100000);
	EXPECT_EQ(1, send(cfd, buf, 1, MSG_DONTWAIT));
	EXPECT_EQ(1, recv(afd, buf, 1, 0));
	ASSERT_EQ(0, vs_nl_stop(nl));
	ASSERT_EQ(0, vs_nl_stats(nl, s));
	close(cfd);
	close(afd);
	close(lfd);
	free(buf);
}

TEST_F(vstrace, credit_stall_counted_for_nonblocking_sender)
{
	struct vs_stats *s = malloc(sizeof(*s));

	ASSERT_NE(NULL, s);
	nonblocking_stall(_metadata, self->nl, test_port(19), test_port(19), s);
	EXPECT_LE(1, s->counters[VSTRACE_CTR_CREDIT_STALLS]);
	/* From the EAGAIN to the send after the 200 ms pause. */
	EXPECT_LE(200000000ull, s->counters[VSTRACE_CTR_CREDIT_STALL_NS])
		TH_LOG("%llu stalls, %llu ns",
		       (unsigned long long)s->counters[VSTRACE_CTR_CREDIT_STALLS],
		       (unsigned long long)s->counters[VSTRACE_CTR_CREDIT_STALL_NS]);
	free(s);
}

TEST_F(vstrace, credit_stall_obeys_port_filter)
{
	struct vs_stats *s = malloc(sizeof(*s));

	ASSERT_NE(NULL, s);
	nonblocking_stall(_metadata, self->nl, test_port(19), test_port(18), s);
	/* The traffic was seen, and left out. */
	EXPECT_LT(0, s->counters[VSTRACE_CTR_FILTERED]);
	EXPECT_EQ(0, s->counters[VSTRACE_CTR_CREDIT_STALLS]);
	EXPECT_EQ(0, s->counters[VSTRACE_CTR_CREDIT_STALL_NS]);
	free(s);
}

struct traffic {
	pthread_t thread;
	unsigned int port;
	volatile bool stop;
	int rounds;
	int err;
};

static void *traffic_main(void *arg)
{
	struct traffic *t = arg;

	while (!t->stop && !t->err) {
		t->err = ping_pong(VMADDR_CID_LOCAL, t->port, 20, 512);
		t->rounds++;
	}
	return NULL;
}

/*
 * Load/unload cycles while a session counts live traffic (VSTRACE_CYCLES,
 * default 100; 1000 for a stress run by hand), return probes included
 * (VSTRACE_RET_PROBES=0 leaves them out).  Every cycle registers the
 * probes disarmed, arms them all at start (on 6.x each on its function's
 * ftrace site) and unregisters them under traffic, so the kernel patches
 * the probed functions' text twice a cycle.  A cycle takes about two
 * seconds under TCG on 6.12 (insmod, start and rmmod 0.4-0.8 s each), up
 * to five on a loaded machine: the timeout holds the default 100 on a
 * machine running one emulator and stays inside the test run's budget
 * (tools/run-tests).  A 1000-cycle stress run is ten runs of
 * "vstrace_test -t unload_reload_under_traffic".
 */
TEST_F_TIMEOUT(vstrace, unload_reload_under_traffic, 480)
{
	struct vs_filter f = { .cid = -1, .port = -1, .transport = -1 };
	const char *env = getenv("VSTRACE_CYCLES");
	const char *ret = getenv("VSTRACE_RET_PROBES");
	const char *params = ret && !strcmp(ret, "0") ? "ret_probes=0" : "";
	int cycles = env ? atoi(env) : 100;
	struct traffic tr = { .port = test_port(8) };
	struct server srv;
	int i;

	vs_nl_close(self->nl);
	self->nl = NULL;
	ASSERT_EQ(0, unload_module());
	ASSERT_EQ(0, load_module_params(params));
	ASSERT_EQ(0, vs_nl_open(&self->nl));
	ASSERT_EQ(0, server_start(&srv, tr.port, true));
	ASSERT_EQ(0, pthread_create(&tr.thread, NULL, traffic_main, &tr));
	for (i = 0; i < cycles; i++) {
		ASSERT_EQ(0, vs_nl_start(self->nl, &f)) TH_LOG("cycle %d", i);
		usleep(20000);
		vs_nl_close(self->nl);
		self->nl = NULL;
		ASSERT_EQ(0, unload_module()) TH_LOG("cycle %d: rmmod", i);
		ASSERT_EQ(0, load_module_params(params)) TH_LOG("cycle %d: insmod", i);
		ASSERT_EQ(0, vs_nl_open(&self->nl));
		if (getenv("VSTRACE_DEBUG"))
			TH_LOG("cycle %d done, %d traffic rounds", i, tr.rounds);
	}
	tr.stop = true;
	pthread_join(tr.thread, NULL);
	server_stop(&srv);
	EXPECT_EQ(0, tr.err) TH_LOG("traffic broke: %s", strerror(-tr.err));
	EXPECT_GT(tr.rounds, 0);
	/* Leave the module as the other tests expect it: default parameters. */
	vs_nl_close(self->nl);
	self->nl = NULL;
	ASSERT_EQ(0, unload_module());
	ASSERT_EQ(0, load_module());
	ASSERT_EQ(0, vs_nl_open(&self->nl));
}

/*
 * Session commands racing each other and live traffic: start/stop, reset,
 * stats dumps and status reads from four threads, each on its own netlink
 * socket.  Only "already running" / "no session" may fail; afterwards the
 * module must still count a known pattern exactly.
 */
struct racer {
	pthread_t thread;
	int which;
	volatile bool *stop;
	unsigned long ops;
	int err;		/* first unexpected error */
};

static void *racer_main(void *arg)
{
	struct vs_filter f = { .cid = -1, .port = -1, .transport = -1 };
	struct racer *r = arg;
	struct vs_stats *s = malloc(sizeof(*s));
	struct vs_status st;
	struct vs_nl *nl;
	int err = 0;

	if (!s || vs_nl_open(&nl)) {
		r->err = -ENOMEM;
		free(s);
		return NULL;
	}
	while (!*r->stop && !r->err) {
		switch (r->which) {
		case 0:
			err = vs_nl_start(nl, &f);
			if (err == -EBUSY)
				err = 0;
			break;
		case 1:
			err = vs_nl_stop(nl);
			if (err == -ENOENT)
				err = 0;
			break;
		case 2:
			err = vs_nl_reset(nl);
			break;
		case 3:
			err = r->ops & 1 ? vs_nl_status(nl, &st) : vs_nl_stats(nl, s);
			break;
		}
		if (err)
			r->err = err;
		r->ops++;
	}
	vs_nl_close(nl);
	free(s);
	return NULL;
}

TEST_F_TIMEOUT(vstrace, control_races_under_traffic, 300)
{
	const char *env = getenv("VSTRACE_RACE_SECONDS");
	int seconds = env ? atoi(env) : 5;
	struct traffic tr = { .port = test_port(14) };
	volatile bool stop = false;
	struct racer r[4];
	struct server srv;
	int i;

	ASSERT_EQ(0, server_start(&srv, tr.port, true));
	ASSERT_EQ(0, pthread_create(&tr.thread, NULL, traffic_main, &tr));
	for (i = 0; i < 4; i++) {
		r[i] = (struct racer){ .which = i, .stop = &stop };
		ASSERT_EQ(0, pthread_create(&r[i].thread, NULL, racer_main, &r[i]));
	}
	sleep(seconds);
	stop = true;
	for (i = 0; i < 4; i++) {
		pthread_join(r[i].thread, NULL);
		EXPECT_EQ(0, r[i].err) TH_LOG("racer %d: %s after %lu commands", i,
					      strerror(-r[i].err), r[i].ops);
		EXPECT_GT(r[i].ops, 0);
	}
	tr.stop = true;
	pthread_join(tr.thread, NULL);
	server_stop(&srv);
	EXPECT_EQ(0, tr.err) TH_LOG("traffic broke: %s", strerror(-tr.err));
	EXPECT_GT(tr.rounds, 0);
	/* The module still works: exact counts for a fresh session. */
	vs_nl_stop(self->nl);
	check_rw(_metadata, self->nl, 20, 64, test_port(15));
}

/* A /proc/meminfo field, in KiB; -1 if missing. */
static long meminfo_kib(const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

struct mem_snapshot {
	long vmalloc, sunreclaim, percpu;
};

static void mem_snapshot(struct mem_snapshot *m)
{
	/* Let deferred frees (RCU, lazy vunmap) run before reading. */
	sync();
	system("echo 2 > /proc/sys/vm/drop_caches 2>/dev/null");
	usleep(300000);
	m->vmalloc = meminfo_kib("VmallocUsed");
	m->sunreclaim = meminfo_kib("SUnreclaim");
	m->percpu = meminfo_kib("Percpu");
}

/*
 * Every load allocates ~0.5 MiB (per-CPU histogram sets, the in-flight
 * table, per-CPU counters): a leak of any of it over 20 load / trace /
 * unload cycles grows the kernel's memory by megabytes.  21 cycles of a
 * second or two each under TCG.
 */
TEST_F_TIMEOUT(vstrace, no_leak_over_load_cycles, 300)
{
	struct vs_filter f = { .cid = -1, .port = test_port(16), .transport = -1 };
	const long limit_kib = 2048;
	struct mem_snapshot before, after;
	const int cycles = 20;
	struct server srv;
	int i;

	vs_nl_close(self->nl);
	self->nl = NULL;
	ASSERT_EQ(0, server_start(&srv, test_port(16), true));
	/* One warm-up cycle: first-use allocations are not leaks. */
	for (i = -1; i < cycles; i++) {
		if (i == 0)
			mem_snapshot(&before);
		ASSERT_EQ(0, unload_module()) TH_LOG("cycle %d: rmmod", i);
		ASSERT_EQ(0, load_module()) TH_LOG("cycle %d: insmod", i);
		ASSERT_EQ(0, vs_nl_open(&self->nl));
		ASSERT_EQ(0, vs_nl_start(self->nl, &f));
		ASSERT_EQ(0, ping_pong(VMADDR_CID_LOCAL, test_port(16), 10, 256));
		ASSERT_EQ(0, vs_nl_stop(self->nl));
		vs_nl_close(self->nl);
		self->nl = NULL;
	}
	ASSERT_EQ(0, unload_module());
	mem_snapshot(&after);
	server_stop(&srv);
	ASSERT_GE(before.vmalloc, 0);
	ASSERT_GE(before.sunreclaim, 0);
	EXPECT_LT(after.vmalloc - before.vmalloc, limit_kib)
		TH_LOG("VmallocUsed grew %ld KiB over %d cycles", after.vmalloc - before.vmalloc,
		       cycles);
	EXPECT_LT(after.sunreclaim - before.sunreclaim, limit_kib)
		TH_LOG("SUnreclaim grew %ld KiB over %d cycles",
		       after.sunreclaim - before.sunreclaim, cycles);
	if (before.percpu >= 0)
		EXPECT_LT(after.percpu - before.percpu, limit_kib / 4)
			TH_LOG("Percpu grew %ld KiB over %d cycles", after.percpu - before.percpu,
			       cycles);
	if (getenv("VSTRACE_DEBUG"))
		TH_LOG("over %d cycles: vmalloc %+ld KiB, SUnreclaim %+ld KiB, Percpu %+ld KiB",
		       cycles, after.vmalloc - before.vmalloc,
		       after.sunreclaim - before.sunreclaim, after.percpu - before.percpu);
	ASSERT_EQ(0, load_module());
	ASSERT_EQ(0, vs_nl_open(&self->nl));
}

/* ---- nested: vhost in the outer VM, virtio guest driver in the inner ---- */

#define guest(...)	guest_run(project, __VA_ARGS__)

/* Sum of the means of every non-empty stage histogram, ns. */
static double stage_means_sum(const struct vs_stats *s)
{
	double sum = 0.0;

	for (int st = 0; st < VSTRACE_NR_STAGES; st++)
		for (int d = 0; d < VSTRACE_NR_DIRS; d++)
			for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
				if (vs_stats_hist(s, st, d, t)->count)
					sum += vs_hist_mean(vs_stats_hist(s, st, d, t));
	return sum;
}

/* The inner guest's stage_means_sum(), or -1. */
static double guest_stage_means_sum(void)
{
	char cmd[PATH_MAX * 2 + 64];
	double v = -1.0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s/tools/testbed/guest %s/selftests/vstrace_test --stage-means-sum",
		 project, project);
	f = popen(cmd, "r");
	if (!f)
		return -1.0;
	if (fscanf(f, "%lf", &v) != 1)
		v = -1.0;
	pclose(f);
	return v;
}

TEST_F_TIMEOUT(vstrace, nested_vhost_and_virtio_count_both_sides, 840)
{
	const char *cid_env = getenv("VSTRACE_GUEST_CID");
	struct vs_filter f = { .cid = -1, .port = -1, .transport = -1 };
	const int V = VSTRACE_TRANSPORT_VHOST;
	const int n = 500, warmup = 20, size = 256;
	unsigned int cid, port = test_port(9);
	double host_means, guest_means, rtt_mean;
	struct vs_stats *s;
	uint64_t rtt_ns;
	int fd;

	if (!cid_env)
		SKIP(return, "no inner guest (tools/testbed/run --nested)");
	s = malloc(sizeof(*s));
	ASSERT_NE(NULL, s);
	cid = (unsigned int)atoi(cid_env);
	f.port = port;
	/*
	 * Both sessions cover the timed round trips only: the connection is
	 * set up and warmed up before they start and closed after they stop,
	 * so that connect, accept and close (whose wakeups take far longer
	 * under emulation) do not weigh on the stage means compared with the
	 * round trip below.
	 */
	ASSERT_EQ(0, guest("modprobe vmw_vsock_virtio_transport; insmod %s/build/kmod-$(uname -r)/vstrace.ko 2>/dev/null; "
			   "%s/user/vstrace/vstrace stop >/dev/null 2>&1; "
			   "(%s/selftests/vstrace_test --echo-server %u >/tmp/echo-%u.log 2>&1 &); "
			   "i=0; until grep -q listening /tmp/echo-%u.log; do "
			   "i=$((i + 1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done",
			   project, project, project, port, port, port));
	fd = vsock_connect(cid, port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, round_trips(fd, warmup, size, NULL));
	ASSERT_EQ(0, guest("%s/user/vstrace/vstrace start --port %u", project, port));
	ASSERT_EQ(0, vs_nl_start(self->nl, &f));
	ASSERT_EQ(0, round_trips(fd, n, size, &rtt_ns));
	ASSERT_EQ(0, vs_nl_stop(self->nl));
	ASSERT_EQ(0, guest("%s/user/vstrace/vstrace stop", project));
	close(fd);
	ASSERT_EQ(0, vs_nl_stats(self->nl, s));
	/* Host side: every RW packet crossed vhost once each way. */
	EXPECT_EQ(n, s->packets[V][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
	EXPECT_EQ(n * size, s->bytes[V][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
	EXPECT_EQ(n, s->packets[V][VSTRACE_DIR_RX][VSTRACE_OP_RW]);
	EXPECT_EQ(n * size, s->bytes[V][VSTRACE_DIR_RX][VSTRACE_OP_RW]);
	/* Guest side: the same packets through the virtio guest driver. */
	EXPECT_EQ(0, guest("%s/selftests/vstrace_test --expect virtio rx RW %d %d",
			   project, n, n * size));
	EXPECT_EQ(0, guest("%s/selftests/vstrace_test --expect virtio tx RW %d %d",
			   project, n, n * size));

	/* Host side: vhost's copy, sched and notify stages, once per packet sent. */
	EXPECT_GE(vs_stats_hist(s, VSTRACE_STAGE_COPY, VSTRACE_DIR_TX, V)->count, n);
	EXPECT_GE(vs_stats_hist(s, VSTRACE_STAGE_SCHED, VSTRACE_DIR_TX, V)->count, n);
	EXPECT_GE(vs_stats_hist(s, VSTRACE_STAGE_NOTIFY, VSTRACE_DIR_TX, V)->count, n);
	EXPECT_GE(vs_stats_hist(s, VSTRACE_STAGE_PROTO, VSTRACE_DIR_RX, V)->count, n);
	EXPECT_GE(vs_stats_hist(s, VSTRACE_STAGE_SCHED, VSTRACE_DIR_RX, V)->count, n);
	/* Guest side: the virtio guest driver's. */
	EXPECT_EQ(0, guest("%s/selftests/vstrace_test --expect-stage virtio tx copy %d",
			   project, n));
	EXPECT_EQ(0, guest("%s/selftests/vstrace_test --expect-stage virtio tx sched %d",
			   project, n));
	EXPECT_EQ(0, guest("%s/selftests/vstrace_test --expect-stage virtio tx notify %d",
			   project, n));
	/*
	 * sched (rx) on virtio is sampled per RX worker run, from the
	 * virtqueue callback, not per packet: a request that lands while the
	 * worker still handles the previous credit update rides along
	 * without one (199 samples for 200 round trips in one run).  Most
	 * round trips find the worker idle: ask for half.
	 */
	EXPECT_EQ(0, guest("%s/selftests/vstrace_test --expect-stage virtio rx sched %d",
			   project, n / 2));
	EXPECT_EQ(0, guest("%s/selftests/vstrace_test --expect-stage virtio rx proto %d",
			   project, n));
	/*
	 * Both sides' stage means fit in the round trip the client measured.
	 * Under nested emulation the stage times are heavy-tailed, and one
	 * emulator stall can sit in two stages at once (a reply waiting in
	 * sched (tx) while a credit update waits in sched (rx)): over 20
	 * round trips the sum of means ranged from 0.67 to 1.03 round trips,
	 * over 200 from 0.58 to 0.82.  500 dilute a single stall further.
	 */
	rtt_mean = (double)rtt_ns / n;
	host_means = stage_means_sum(s);
	guest_means = guest_stage_means_sum();
	EXPECT_GT(host_means, 0.0);
	EXPECT_GT(guest_means, 0.0);
	EXPECT_LE(host_means + guest_means, rtt_mean);
	TH_LOG("round trip %.0f ns; stage means host %.0f ns, guest %.0f ns",
	       rtt_mean, host_means, guest_means);
	guest("%s/user/vstrace/vstrace show", project);
	if (getenv("VSTRACE_DEBUG")) {
		char cmd[PATH_MAX + 64];

		snprintf(cmd, sizeof(cmd), "%s/user/vstrace/vstrace show | sed 's/^/# /'", project);
		if (system(cmd))
			TH_LOG("vstrace show failed");
	}
	free(s);
}

/* ---- helper modes for the inner guest ---- */

static int echo_server_main(unsigned int port)
{
	int lfd = vsock_listen(port);

	if (lfd < 0) {
		fprintf(stderr, "echo-server: listen on port %u: %s\n", port, strerror(-lfd));
		return 1;
	}
	printf("listening on vsock port %u\n", port);
	fflush(stdout);
	echo_one(lfd);
	close(lfd);
	return 0;
}

static int expect_main(char **argv)
{
	int t = vs_transport_parse(argv[0]), d = -1, op = -1;
	unsigned long long pk = strtoull(argv[3], NULL, 0);
	unsigned long long by = strtoull(argv[4], NULL, 0);
	struct vs_stats s;
	struct vs_nl *nl;

	for (int i = 0; i < VSTRACE_NR_DIRS; i++)
		if (!strcmp(argv[1], vs_dir_names[i]))
			d = i;
	for (int i = 0; i < VSTRACE_NR_OPS; i++)
		if (!strcmp(argv[2], vs_op_names[i]))
			op = i;
	if (t < 0 || d < 0 || op < 0) {
		fprintf(stderr, "expect: bad transport, dir or op\n");
		return 2;
	}
	if (vs_nl_open(&nl) || vs_nl_stats(nl, &s)) {
		fprintf(stderr, "expect: cannot read the module's counters\n");
		return 1;
	}
	vs_nl_close(nl);
	if (s.packets[t][d][op] != pk || s.bytes[t][d][op] != by) {
		fprintf(stderr, "expect: %s %s %s: got %llu packets %llu bytes, want %llu %llu\n",
			argv[0], argv[1], argv[2],
			(unsigned long long)s.packets[t][d][op],
			(unsigned long long)s.bytes[t][d][op], pk, by);
		return 1;
	}
	return 0;
}

/* Exit 0 if the (transport, dir, stage) histogram holds at least MIN samples. */
static int expect_stage_main(char **argv)
{
	int t = vs_transport_parse(argv[0]), d = -1, st = -1;
	unsigned long long min = strtoull(argv[3], NULL, 0);
	struct vs_stats *s = malloc(sizeof(*s));
	const struct vs_hist *h;
	struct vs_nl *nl;

	for (int i = 0; i < VSTRACE_NR_DIRS; i++)
		if (!strcmp(argv[1], vs_dir_names[i]))
			d = i;
	for (int i = 0; i < VSTRACE_NR_STAGES; i++)
		if (!strcmp(argv[2], vs_stage_names[i]))
			st = i;
	if (!s || t < 0 || d < 0 || st < 0) {
		fprintf(stderr, "expect-stage: bad transport, dir or stage\n");
		return 2;
	}
	if (vs_nl_open(&nl) || vs_nl_stats(nl, s)) {
		fprintf(stderr, "expect-stage: cannot read the module's histograms\n");
		return 1;
	}
	vs_nl_close(nl);
	h = vs_stats_hist(s, st, d, t);
	if (h->count < min) {
		fprintf(stderr, "expect-stage: %s %s %s: %llu samples, want >= %llu\n",
			argv[0], argv[1], argv[2], (unsigned long long)h->count, min);
		return 1;
	}
	return 0;
}

/* Print stage_means_sum() of the module's current counters. */
static int stage_means_sum_main(void)
{
	struct vs_stats *s = malloc(sizeof(*s));
	struct vs_nl *nl;

	if (!s || vs_nl_open(&nl) || vs_nl_stats(nl, s)) {
		fprintf(stderr, "stage-means-sum: cannot read the module's histograms\n");
		return 1;
	}
	vs_nl_close(nl);
	printf("%.0f\n", stage_means_sum(s));
	free(s);
	return 0;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		/* The project is the parent of selftests/. */
		snprintf(project, sizeof(project), "%s", dirname(dirname(self)));
	}
	if (argc == 3 && !strcmp(argv[1], "--echo-server"))
		return echo_server_main((unsigned int)atoi(argv[2]));
	if (argc == 7 && !strcmp(argv[1], "--expect"))
		return expect_main(argv + 2);
	if (argc == 2 && !strcmp(argv[1], "--stage-means-sum"))
		return stage_means_sum_main();
	if (argc == 6 && !strcmp(argv[1], "--expect-stage"))
		return expect_stage_main(argv + 2);
	return test_harness_run(argc, argv);
}
