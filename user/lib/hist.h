/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space latency histogram with the bucket layout of the module
 * (VSTRACE_HIST_* in include/uapi/vstrace.h): bounded relative error, no
 * sample storage, mergeable.
 */
#ifndef VS_HIST_H
#define VS_HIST_H

#include <stdint.h>
#include "vstrace.h"

struct vs_hist {
	uint64_t buckets[VSTRACE_HIST_BUCKETS];
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
};

void vs_hist_init(struct vs_hist *h);
void vs_hist_record(struct vs_hist *h, uint64_t v);
void vs_hist_merge(struct vs_hist *dst, const struct vs_hist *src);
/* Value at percentile pct (0..100], clamped to [min, max]; 0 if empty. */
uint64_t vs_hist_percentile(const struct vs_hist *h, double pct);
double vs_hist_mean(const struct vs_hist *h);
/* Rebuild count/min/max from buckets, for histograms read from the kernel. */
void vs_hist_from_buckets(struct vs_hist *h, const uint64_t *buckets,
			  uint64_t sum, uint64_t max);

#endif
