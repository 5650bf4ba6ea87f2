// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include "hist.h"

void vs_hist_init(struct vs_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void vs_hist_record(struct vs_hist *h, uint64_t v)
{
	h->buckets[vstrace_hist_bucket(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void vs_hist_merge(struct vs_hist *dst, const struct vs_hist *src)
{
	for (unsigned int i = 0; i < VSTRACE_HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t vs_hist_percentile(const struct vs_hist *h, double pct)
{
	uint64_t rank, seen = 0, v;

	if (!h->count)
		return 0;
	if (pct >= 100.0)
		return h->max;
	/* Nearest rank: the smallest value with at least pct % at or below. */
	rank = (uint64_t)(pct / 100.0 * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	for (unsigned int i = 0; i < VSTRACE_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen < rank)
			continue;
		/* Report the bucket's midpoint: error <= half a bucket. */
		v = vstrace_hist_bucket_low(i) +
		    (vstrace_hist_bucket_high(i) - vstrace_hist_bucket_low(i)) / 2;
		if (v < h->min)
			v = h->min;
		if (v > h->max)
			v = h->max;
		return v;
	}
	return h->max;
}

double vs_hist_mean(const struct vs_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}

void vs_hist_from_buckets(struct vs_hist *h, const uint64_t *buckets,
			  uint64_t sum, uint64_t max)
{
	vs_hist_init(h);
	memcpy(h->buckets, buckets, sizeof(h->buckets));
	for (unsigned int i = 0; i < VSTRACE_HIST_BUCKETS; i++) {
		h->count += buckets[i];
		if (buckets[i] && h->min == UINT64_MAX)
			h->min = vstrace_hist_bucket_low(i);
	}
	h->sum = sum;
	h->max = max;
	if (!h->count)
		h->min = 0;
}
