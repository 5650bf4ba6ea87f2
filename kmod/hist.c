// SPDX-License-Identifier: GPL-2.0
/*
 * Latency histograms, one per (class, stage, direction, transport), per CPU.
 *
 * The whole set is ~315 KiB per CPU, above alloc_percpu()'s 32 KiB limit
 * per allocation, so each possible CPU gets one kvzalloc()ed set, found
 * through an array indexed by CPU number.  Handlers update their own CPU's
 * set without locks or atomics: they run with preemption disabled, and
 * kprobes never nest on one CPU (a probe hit inside a handler is counted
 * as missed and not run).  Readers sum over CPUs; a read racing with an
 * update may miss that one update.
 *
 * A reset records the sums as a baseline that readers subtract, rather
 * than zeroing counts a handler on another CPU may be incrementing (see
 * stats.c).  Only the maxima are zeroed in place: a racing handler can at
 * worst put back one value recorded just before the reset.
 *
 * Buckets are the log-linear ones of include/uapi/vstrace.h, so user space
 * computes percentiles with the same bucket bounds.
 */
#include <linux/cpumask.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "vstrace_internal.h"

struct vstrace_hist_set {
	struct vstrace_hist h[VSTRACE_NR_CLASSES][VSTRACE_NR_STAGES]
			     [VSTRACE_NR_DIRS][VSTRACE_NR_TRANSPORTS];
};

/* [cpu] for every possible CPU; set at init, freed at exit, never changed. */
static struct vstrace_hist_set **vstrace_hist_cpu;
/* Bucket counts and sums at the last reset, under vstrace_session_lock. */
static struct vstrace_hist_set *vstrace_hist_base;

int vstrace_hist_init(void)
{
	int cpu;

	vstrace_hist_base = kvzalloc(sizeof(*vstrace_hist_base), GFP_KERNEL);
	if (!vstrace_hist_base)
		return -ENOMEM;
	vstrace_hist_cpu = kcalloc(nr_cpu_ids, sizeof(*vstrace_hist_cpu),
				   GFP_KERNEL);
	if (!vstrace_hist_cpu)
		goto err_free_sets;
	for_each_possible_cpu(cpu) {
		vstrace_hist_cpu[cpu] = kvzalloc(sizeof(struct vstrace_hist_set),
						 GFP_KERNEL);
		if (!vstrace_hist_cpu[cpu])
			goto err_free_sets;
	}
	return 0;

err_free_sets:
	vstrace_hist_exit();
	return -ENOMEM;
}

/* After every probe is gone: nothing records any more. */
void vstrace_hist_exit(void)
{
	int cpu;

	kvfree(vstrace_hist_base);
	vstrace_hist_base = NULL;
	if (!vstrace_hist_cpu)
		return;
	for_each_possible_cpu(cpu)
		kvfree(vstrace_hist_cpu[cpu]);
	kfree(vstrace_hist_cpu);
	vstrace_hist_cpu = NULL;
}

/* Sum one histogram over all CPUs since load into @sum. */
static void vstrace_hist_sum_raw(enum vstrace_class cls,
				 enum vstrace_stage stage, enum vstrace_dir dir,
				 enum vstrace_transport t, struct vstrace_hist *sum)
{
	const struct vstrace_hist *h;
	u64 v;
	int cpu, i;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		h = &vstrace_hist_cpu[cpu]->h[cls][stage][dir][t];
		for (i = 0; i < VSTRACE_HIST_BUCKETS; i++)
			sum->buckets[i] += READ_ONCE(h->buckets[i]);
		sum->sum += READ_ONCE(h->sum);
		v = READ_ONCE(h->max);
		if (v > sum->max)
			sum->max = v;
	}
}

/* Caller holds vstrace_session_lock. */
void vstrace_hist_reset(void)
{
	struct vstrace_hist *base = &vstrace_hist_base->h[0][0][0][0];
	const int n = VSTRACE_NR_CLASSES * VSTRACE_NR_STAGES * VSTRACE_NR_DIRS *
		      VSTRACE_NR_TRANSPORTS;
	int i, cpu;

	for (i = 0; i < n; i++) {
		int t = i % VSTRACE_NR_TRANSPORTS;
		int dir = i / VSTRACE_NR_TRANSPORTS % VSTRACE_NR_DIRS;
		int stage = i / (VSTRACE_NR_TRANSPORTS * VSTRACE_NR_DIRS) %
			    VSTRACE_NR_STAGES;
		int cls = i / (VSTRACE_NR_TRANSPORTS * VSTRACE_NR_DIRS *
			       VSTRACE_NR_STAGES);

		vstrace_hist_sum_raw(cls, stage, dir, t, &base[i]);
		for_each_possible_cpu(cpu)
			WRITE_ONCE((&vstrace_hist_cpu[cpu]->h[0][0][0][0])[i].max, 0);
	}
}

/* Record @ns; from a probe handler (preemption disabled). */
void vstrace_hist_record(enum vstrace_class cls, enum vstrace_stage stage,
			 enum vstrace_dir dir, unsigned int transport, u64 ns)
{
	struct vstrace_hist *h;

	if (cls >= VSTRACE_NR_CLASSES || stage >= VSTRACE_NR_STAGES ||
	    dir >= VSTRACE_NR_DIRS || transport >= VSTRACE_NR_TRANSPORTS)
		return;
	if (!vstrace_transport_wanted(transport))
		return;
	h = &vstrace_hist_cpu[smp_processor_id()]->h[cls][stage][dir][transport];
	h->buckets[vstrace_hist_bucket(ns)]++;
	h->sum += ns;
	if (ns > h->max)
		h->max = ns;
}

/*
 * One histogram since the last reset into @sum; returns its count.
 * Caller holds vstrace_session_lock.
 */
u64 vstrace_hist_sum(enum vstrace_class cls, enum vstrace_stage stage,
		     enum vstrace_dir dir, enum vstrace_transport t,
		     struct vstrace_hist *sum)
{
	const struct vstrace_hist *base =
		&vstrace_hist_base->h[cls][stage][dir][t];
	u64 count = 0;
	int i;

	vstrace_hist_sum_raw(cls, stage, dir, t, sum);
	for (i = 0; i < VSTRACE_HIST_BUCKETS; i++) {
		sum->buckets[i] -= base->buckets[i];
		count += sum->buckets[i];
	}
	sum->sum -= base->sum;
	return count;
}
