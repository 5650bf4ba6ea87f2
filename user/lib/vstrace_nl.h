/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client of the "vstrace" generic netlink family (libnl-genl-3): used by the
 * vstrace CLI and the selftests, so both read the module the same way.
 */
#ifndef VS_VSTRACE_NL_H
#define VS_VSTRACE_NL_H

#include <stdbool.h>
#include <stdint.h>
#include "vstrace.h"
#include "hist.h"

#define VS_MAX_PROBES	64

struct vs_probe_status {
	char point[VSTRACE_POINT_NAME_MAX];
	char fallback[128];
	bool attached;
	bool is_return;			/* a return probe (kretprobe) */
	uint32_t kind;			/* enum vstrace_probe_kind */
	char kind_why[128];		/* why a trap is not a jump, or "" */
	int error;
	uint64_t hits;
	uint64_t missed;
};

struct vs_status {
	uint32_t version;
	bool active;
	uint64_t start_ns;		/* CLOCK_REALTIME */
	uint64_t duration_ns;
	int64_t filter_cid;		/* -1: none */
	int64_t filter_port;
	int64_t filter_transport;
	unsigned int nr_probes;
	struct vs_probe_status probes[VS_MAX_PROBES];
};

/* One stage's latency distribution, in ns; count 0 if the module sent none. */
struct vs_stage_hist {
	struct vs_hist h;
};

struct vs_stats {
	uint64_t packets[VSTRACE_NR_TRANSPORTS][VSTRACE_NR_DIRS][VSTRACE_NR_OPS];
	uint64_t bytes[VSTRACE_NR_TRANSPORTS][VSTRACE_NR_DIRS][VSTRACE_NR_OPS];
	uint64_t counters[VSTRACE_NR_COUNTERS];
	/* [class][stage][dir][transport] */
	struct vs_stage_hist hist[VSTRACE_NR_CLASSES][VSTRACE_NR_STAGES][VSTRACE_NR_DIRS]
				 [VSTRACE_NR_TRANSPORTS];
};

/* The histogram of (class, stage, dir, transport); count 0 when empty. */
static inline const struct vs_hist *vs_stats_hist_class(const struct vs_stats *s, int cls,
							int stage, int dir, int transport)
{
	return &s->hist[cls][stage][dir][transport].h;
}

/* The data-packet histogram of (stage, dir, transport). */
static inline const struct vs_hist *vs_stats_hist(const struct vs_stats *s, int stage,
						  int dir, int transport)
{
	return vs_stats_hist_class(s, VSTRACE_CLASS_DATA, stage, dir, transport);
}

struct vs_filter {
	int64_t cid;			/* -1: any */
	int64_t port;
	int64_t transport;
};

struct vs_nl;

/*
 * Every call returns 0 or a negative errno; on failure vs_nl_error() holds
 * a message (the kernel's extack text when there is one).
 */
int vs_nl_open(struct vs_nl **nl);
void vs_nl_close(struct vs_nl *nl);
const char *vs_nl_error(const struct vs_nl *nl);

int vs_nl_status(struct vs_nl *nl, struct vs_status *st);
int vs_nl_stats(struct vs_nl *nl, struct vs_stats *stats);
int vs_nl_start(struct vs_nl *nl, const struct vs_filter *f);
int vs_nl_stop(struct vs_nl *nl);
int vs_nl_reset(struct vs_nl *nl);

/*
 * Send command @cmd with raw attributes (already laid out as netlink
 * attributes, @len bytes) and wait for the ack: for tests of malformed input.
 */
int vs_nl_raw(struct vs_nl *nl, uint8_t cmd, const void *attrs, size_t len);

/* Name tables generated from the X-macros. */
extern const char *const vs_transport_names[VSTRACE_NR_TRANSPORTS];
extern const char *const vs_stage_names[VSTRACE_NR_STAGES];
extern const char *const vs_dir_names[VSTRACE_NR_DIRS];
extern const char *const vs_op_names[VSTRACE_NR_OPS];
extern const char *const vs_counter_names[VSTRACE_NR_COUNTERS];
extern const char *const vs_probe_kind_names[VSTRACE_NR_PROBE_KINDS];
extern const char *const vs_class_names[VSTRACE_NR_CLASSES];

int vs_transport_parse(const char *s);

#endif
