// SPDX-License-Identifier: GPL-2.0
/*
 * A stage number is only as good as the test that moves it.  Each variant
 * names a stage of vstrace.ko and a kernel function that runs strictly
 * inside it; vstrace_delay.ko (selftests/delay/) spins a known time there,
 * and the test checks that this stage's mean per message grows by the time
 * really spun (the module's spun_ns, spread over the stage's messages)
 * within 25 %, and that every other stage of the path grows by less than
 * 10 % of the time spun per hit.
 *
 * Traffic: N 64-byte round trips on VSOCK loopback (CID 1), both ends
 * pinned to CPU 0 (cross-vCPU wakeups under TCG are slow and bimodal) and
 * run SCHED_FIFO, traced with a port filter.  With both ends real-time,
 * the loopback worker (a CFS kworker) runs exactly when both ends wait
 * and never preempts them: each packet's path is the same sequence of
 * context switches in every run, whatever a spin did to the worker's
 * vruntime.  Under CFS alone a worker that had spun was let preempt the
 * sender later, and sched (tx) grew by 11-23 % of a spin put in proto
 * (rx).  The baseline runs with the delay module loaded and its delay at
 * 0, so that the probe's own cost is in both runs and only the spin
 * differs.  Baseline and delayed runs alternate, and the per-stage means
 * are taken over all runs of each kind.
 *
 * Nested rows (vhost sched (rx) at vhost_vsock_handle_tx_kick entry, a
 * 5 ms spin, the inner guest as client) moved their stage by 99-107 % on
 * 6.1 but vhost sched (tx) by up to 10.5 % once: at the limit, so not run
 * until the reply's work is kept off the spinning worker.
 *
 * To add a row: a FIXTURE_VARIANT_ADD with the stage, the direction, the
 * candidate functions (the first that the traffic hits is used, so one row
 * can name each kernel's function) and where the spin goes.  On a function
 * that vstrace.ko itself probes, the probe registered last runs first: a
 * spin there lies before vstrace.ko's point only if the delay module was
 * loaded after vstrace.ko (the nested row relies on this).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "testbed_util.h"
#include "vsock_util.h"
#include "delay_util.h"
#include "vstrace_nl.h"

#define RTT_COUNT	200		/* round trips per run */
#define RTT_SIZE	64		/* bytes each way */
#define RUNS		4		/* runs of each kind, alternating */
#define DELAY_NS	500000ull	/* injected per hit */
#define GROW_TOLERANCE	0.25		/* the delayed stage: +-25 % of the spin */
#define OTHER_LIMIT	0.10		/* any other stage: < 10 % of the spin */

static char project[PATH_MAX];

/* A data stage of one transport, as the module reports it. */
struct path_stage {
	int transport;
	int stage;
	int dir;
};

#define L	VSTRACE_TRANSPORT_LOOPBACK

/* The stages a loopback message crosses (stages_core.c). */
static const struct path_stage loopback_stages[] = {
	{ L, VSTRACE_STAGE_COPY,	VSTRACE_DIR_TX },
	{ L, VSTRACE_STAGE_SCHED,	VSTRACE_DIR_TX },
	{ L, VSTRACE_STAGE_PROTO,	VSTRACE_DIR_RX },
	{ L, VSTRACE_STAGE_SCHED,	VSTRACE_DIR_WAKEUP },
	{ L, VSTRACE_STAGE_COPY,	VSTRACE_DIR_RX },
};
#define NR_LOOPBACK_STAGES	(sizeof(loopback_stages) / sizeof(loopback_stages[0]))

/* Index of (@transport, @stage, @dir) in @list, or -1. */
static int stage_index(const struct path_stage *list, size_t n, int transport, int stage,
		       int dir)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].transport == transport && list[i].stage == stage &&
		    list[i].dir == dir)
			return (int)i;
	return -1;
}

/*
 * The verdict: the @target stage's mean per message grew by the time spun
 * spread over its messages (+-GROW_TOLERANCE), every other stage by less
 * than OTHER_LIMIT of one spin.
 */
static void check_growth(struct __test_metadata *_metadata, const struct path_stage *list,
			 size_t n, const struct vs_hist *base, const struct vs_hist *slow,
			 int target, const struct delay_count *spun)
{
	double spin_per_hit, expect, growth;
	char what[64];

	ASSERT_LT(0, spun->hits) TH_LOG("the delay was never hit in the delayed runs");
	EXPECT_EQ(0, spun->missed);
	spin_per_hit = (double)spun->spun_ns / (double)spun->hits;
	/*
	 * The stage's mean per message grows by all the time spun spread over
	 * its messages: spin_per_hit when every message is delayed once, less
	 * when match_op= leaves some of them alone.
	 */
	ASSERT_LT(0, slow[target].count);
	expect = (double)spun->spun_ns / (double)slow[target].count;
	TH_LOG("%llu hits, %.0f ns spun per hit, %.0f ns per message of the stage",
	       (unsigned long long)spun->hits, spin_per_hit, expect);

	for (size_t i = 0; i < n; i++) {
		double m0 = vs_hist_mean(&base[i]), m1 = vs_hist_mean(&slow[i]);

		snprintf(what, sizeof(what), "%s %s", vs_stage_names[list[i].stage],
			 vs_dir_names[list[i].dir]);
		growth = m1 - m0;
		TH_LOG("%-20s mean %8.0f -> %8.0f ns (%+8.0f ns, %+6.1f %% of the spin; %llu/%llu samples)%s",
		       what, m0, m1, growth, 100.0 * growth / ((int)i == target ? expect : spin_per_hit),
		       (unsigned long long)base[i].count, (unsigned long long)slow[i].count,
		       (int)i == target ? "  <- delayed" : "");
		EXPECT_LT(0, base[i].count) TH_LOG("%s: no samples", what);
		if ((int)i == target) {
			EXPECT_GE(growth, (1.0 - GROW_TOLERANCE) * expect)
				TH_LOG("%s grew by %.0f ns, less than the %.0f ns spun", what,
				       growth, expect);
			EXPECT_LE(growth, (1.0 + GROW_TOLERANCE) * expect)
				TH_LOG("%s grew by %.0f ns, more than the %.0f ns spun", what,
				       growth, expect);
		} else {
			EXPECT_LT(growth, OTHER_LIMIT * spin_per_hit)
				TH_LOG("%s grew by %.0f ns, though the delay is elsewhere", what,
				       growth);
		}
	}
}

static int load_vstrace(void)
{
	return vstrace_ko_load(project, "");
}

/* Pinned to CPU 0 and SCHED_FIFO (see above); root in the testbed. */
static int pin_realtime(pthread_t thread)
{
	struct sched_param sp = { .sched_priority = 10 };
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	err = pthread_setaffinity_np(thread, sizeof(set), &set);
	if (!err)
		err = pthread_setschedparam(thread, SCHED_FIFO, &sp);
	return -err;
}

FIXTURE(stage_delay) {
	struct vs_nl *nl;
	int trouble;
	struct server srv;
	bool serving;
};

FIXTURE_VARIANT(stage_delay) {
	int stage;
	int dir;
	const char *funcs[4];	/* candidates, NULL-terminated */
	const char *where;	/* "entry" or "return" */
	const char *caller;	/* spin only when called from it, or NULL */
	int match_op;		/* spin only for packets of this op, or 0 */
	int match_arg;		/* the op of func's argument N, not recv_pkt's */
	unsigned int port_off;
};

/*
 * copy (tx) is the alloc_skb call that copies the user's data in: 6.12
 * copies with skb_copy_datagram_from_iter_full(), 6.1 with
 * memcpy_from_msg(), inlined down to _copy_from_iter().  Both are shared
 * by the whole network stack, hence caller=.
 */
FIXTURE_VARIANT_ADD(stage_delay, copy_tx_alloc_skb_copy) {
	.stage = VSTRACE_STAGE_COPY,
	.dir = VSTRACE_DIR_TX,
	.funcs = { "skb_copy_datagram_from_iter_full", "_copy_from_iter" },
	.where = "entry",
	.caller = "virtio_transport_alloc_skb",
	.port_off = 1,
};

/*
 * sched (wakeup) runs from the data being made ready to the reader's
 * dequeue; the reader waits in vsock_connectible_wait_data() and calls the
 * dequeue once it returns, so a spin at its return lies in between.
 */
FIXTURE_VARIANT_ADD(stage_delay, sched_wakeup_wait_data_return) {
	.stage = VSTRACE_STAGE_SCHED,
	.dir = VSTRACE_DIR_WAKEUP,
	.funcs = { "vsock_connectible_wait_data" },
	.where = "return",
	.port_off = 3,
};

/*
 * sched (tx) on loopback runs from send_pkt to the worker's recv_pkt of
 * the same packet; the worker hands each packet to the tap first, so a
 * spin in vsock_deliver_tap() for data packets (its second argument is
 * the packet) lies in between.
 */
FIXTURE_VARIANT_ADD(stage_delay, sched_tx_deliver_tap) {
	.stage = VSTRACE_STAGE_SCHED,
	.dir = VSTRACE_DIR_TX,
	.funcs = { "vsock_deliver_tap" },
	.where = "entry",
	.match_op = 5,
	.match_arg = 2,
	.port_off = 2,
};

/*
 * proto (rx) runs from recv_pkt entry to the data being made ready; the
 * lookup of the packet's socket comes first, for data packets only.
 */
FIXTURE_VARIANT_ADD(stage_delay, proto_rx_find_connected_socket) {
	.stage = VSTRACE_STAGE_PROTO,
	.dir = VSTRACE_DIR_RX,
	.funcs = { "vsock_find_connected_socket" },
	.where = "entry",
	.match_op = 5,
	.port_off = 4,
};

/*
 * copy (rx) runs from the dequeue to the credit update it sends; the copy
 * out to the user's buffer lies in between: 6.12 copies with
 * skb_copy_datagram_iter(), 6.1 with memcpy_to_msg(), inlined down to
 * _copy_to_iter().
 */
FIXTURE_VARIANT_ADD(stage_delay, copy_rx_copy_to_user) {
	.stage = VSTRACE_STAGE_COPY,
	.dir = VSTRACE_DIR_RX,
	.funcs = { "skb_copy_datagram_iter", "_copy_to_iter" },
	.where = "entry",
	.caller = "virtio_transport_stream_dequeue",
	.port_off = 5,
};

FIXTURE_SETUP(stage_delay)
{
	int err;

	if (!in_testbed())
		SKIP(return, "needs the testbed (VSTRACE_TESTBED=1): loads kernel modules");
	self->trouble = kernel_trouble();
	system("modprobe vsock_loopback 2>/dev/null");
	delay_unload();		/* a left-over from an earlier test */
	err = load_vstrace();
	ASSERT_EQ(0, err) TH_LOG("cannot load vstrace.ko: %s", strerror(-err));
	ASSERT_EQ(0, vs_nl_open(&self->nl));
	vs_nl_stop(self->nl);
	err = pin_realtime(pthread_self());
	ASSERT_EQ(0, err) TH_LOG("cannot run SCHED_FIFO on CPU 0: %s", strerror(-err));
	/* The echo server's thread inherits CPU 0 and SCHED_FIFO. */
	err = server_start(&self->srv, 22000 + (unsigned int)(getpid() % 1000) * 10 +
			   variant->port_off, true);
	ASSERT_EQ(0, err) TH_LOG("echo server: %s", strerror(-err));
	self->serving = true;
}

FIXTURE_TEARDOWN(stage_delay)
{
	if (!in_testbed())
		return;
	if (self->serving)
		server_stop(&self->srv);
	EXPECT_EQ(0, delay_unload());
	if (self->nl) {
		vs_nl_stop(self->nl);
		vs_nl_close(self->nl);
	}
	EXPECT_EQ(self->trouble, kernel_trouble())
		TH_LOG("the kernel logged a warning, BUG or oops (see dmesg)");
}

/* One traced run of RTT_COUNT round trips; per-stage sums and counts added to @acc. */
static int traced_run(struct vs_nl *nl, unsigned int port, struct vs_stats *s,
		      struct vs_hist acc[NR_LOOPBACK_STAGES])
{
	struct vs_filter f = { .cid = -1, .port = port, .transport = -1 };
	int err;

	err = vs_nl_start(nl, &f);
	if (err)
		return err;
	err = ping_pong(VMADDR_CID_LOCAL, port, RTT_COUNT, RTT_SIZE);
	if (!err)
		err = vs_nl_stop(nl);
	if (!err)
		err = vs_nl_stats(nl, s);
	if (err)
		return err;
	for (size_t i = 0; i < NR_LOOPBACK_STAGES; i++) {
		const struct vs_hist *h = vs_stats_hist(s, loopback_stages[i].stage,
							loopback_stages[i].dir,
							loopback_stages[i].transport);

		acc[i].count += h->count;
		acc[i].sum += h->sum;
	}
	return 0;
}

/*
 * Under TCG a spin takes 1-2 ms: RUNS x 2 x RTT_COUNT of them take seconds
 * (a variant took 7 s on 6.1 with one emulator running); the timeout stays
 * below the binary's budget in tools/run-tests.
 */
TEST_F_TIMEOUT(stage_delay, moves_one_stage, 100)
{
	struct vs_hist base[NR_LOOPBACK_STAGES] = {}, slow[NR_LOOPBACK_STAGES] = {};
	struct delay_count before = {}, after = {}, d, spun = {};
	struct delay_spec spec = { .where = variant->where, .caller = variant->caller,
				   .match_op = variant->match_op,
				   .match_arg = variant->match_arg };
	struct vs_stats *s = malloc(sizeof(*s));
	unsigned int port = self->srv.port;
	int err = -ENOENT, target;

	ASSERT_NE(NULL, s);
	target = stage_index(loopback_stages, NR_LOOPBACK_STAGES, L, variant->stage,
			     variant->dir);
	ASSERT_LE(0, target) TH_LOG("%s %s is not a loopback stage",
				    vs_stage_names[variant->stage], vs_dir_names[variant->dir]);

	/* Untraced warm-up: the first connections are slower. */
	ASSERT_EQ(0, ping_pong(VMADDR_CID_LOCAL, port, 20, RTT_SIZE));

	/* The first candidate that loads and that the traffic reaches. */
	for (int c = 0; c < 4 && variant->funcs[c]; c++) {
		spec.func = variant->funcs[c];
		spec.delay_ns = 1;
		err = delay_load(project, &spec);
		if (err) {
			TH_LOG("%s: not probe-able here (%s)", spec.func, strerror(-err));
			continue;
		}
		ASSERT_EQ(0, ping_pong(VMADDR_CID_LOCAL, port, 5, RTT_SIZE));
		ASSERT_EQ(0, delay_read(&after));
		if (after.hits)
			break;
		TH_LOG("%s: loaded, but never hit by the traffic%s%s", spec.func,
		       spec.caller ? " from " : "", spec.caller ? spec.caller : "");
		ASSERT_EQ(0, delay_unload());
		err = -ENOENT;
	}
	ASSERT_EQ(0, err) TH_LOG("no candidate function for %s %s could be delayed",
				 vs_stage_names[variant->stage], vs_dir_names[variant->dir]);

	for (int run = 0; run < RUNS; run++) {
		ASSERT_EQ(0, delay_set_ns(0));
		err = traced_run(self->nl, port, s, base);
		ASSERT_EQ(0, err) TH_LOG("baseline run: %s", vs_nl_error(self->nl));
		EXPECT_EQ(2ull * RTT_COUNT,
			  s->packets[VSTRACE_TRANSPORT_LOOPBACK][VSTRACE_DIR_TX][VSTRACE_OP_RW]);

		ASSERT_EQ(0, delay_read(&before));
		ASSERT_EQ(0, delay_set_ns(DELAY_NS));
		err = traced_run(self->nl, port, s, slow);
		ASSERT_EQ(0, delay_set_ns(0));
		ASSERT_EQ(0, err) TH_LOG("delayed run: %s", vs_nl_error(self->nl));
		ASSERT_EQ(0, delay_read(&after));
		EXPECT_EQ(2ull * RTT_COUNT,
			  s->packets[VSTRACE_TRANSPORT_LOOPBACK][VSTRACE_DIR_TX][VSTRACE_OP_RW]);
		d = delay_diff(&after, &before);
		spun.hits += d.hits;
		spun.spun_ns += d.spun_ns;
		spun.missed += d.missed;
	}
	free(s);

	TH_LOG("%s %s <- %s at %s%s%s%s (asked %llu ns per hit)",
	       vs_stage_names[variant->stage], vs_dir_names[variant->dir], spec.func,
	       spec.where, spec.caller ? " from " : "", spec.caller ? spec.caller : "",
	       spec.match_op ? ", data packets only" : "", DELAY_NS);
	check_growth(_metadata, loopback_stages, NR_LOOPBACK_STAGES, base, slow, target, &spun);
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
	return test_harness_run(argc, argv);
}
