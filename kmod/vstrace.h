/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vstrace.ko internals shared between its files: the session, the per-CPU
 * statistics and the probe table.
 */
#ifndef _VSTRACE_KMOD_H
#define _VSTRACE_KMOD_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <uapi/vstrace.h>

#define VSTRACE_ABI_VERSION	1

/* Directions a packet counter is kept for (a subset of enum vstrace_dir). */
#define VSTRACE_PKT_DIRS	2	/* VSTRACE_DIR_TX, VSTRACE_DIR_RX */

/*
 * The tracing session.  Written under vstrace_session_lock by netlink
 * handlers; probe handlers read @active and the filters locklessly
 * (READ_ONCE), so a filter change may apply a few packets late.
 */
struct vstrace_session {
	bool active;		/* handlers record only while set */
	u64 start_real_ns;	/* CLOCK_REALTIME at start */
	u64 start_ns;		/* boottime at start */
	u64 stop_ns;		/* boottime at stop, 0 while active */
	u32 filter_cid;		/* VMADDR_CID_ANY: all */
	u32 filter_port;	/* VMADDR_PORT_ANY: all */
	u32 filter_transport;	/* VSTRACE_NR_TRANSPORTS: all */
};

extern struct vstrace_session vstrace_session;
extern struct mutex vstrace_session_lock;

/* Per-CPU counters; summed over CPUs when read. */
struct vstrace_cpu_stats {
	u64 packets[VSTRACE_NR_TRANSPORTS][VSTRACE_PKT_DIRS][VSTRACE_NR_OPS];
	u64 bytes[VSTRACE_NR_TRANSPORTS][VSTRACE_PKT_DIRS][VSTRACE_NR_OPS];
	u64 counters[VSTRACE_NR_COUNTERS];
};

DECLARE_PER_CPU(struct vstrace_cpu_stats, vstrace_stats);

void vstrace_stats_reset(void);
void vstrace_stats_sum(struct vstrace_cpu_stats *sum);
void vstrace_count_pkt(enum vstrace_transport t, enum vstrace_dir dir,
		       void *pkt);

/* Probe points. */
struct vstrace_probe_info {
	const char *point;	/* function probed */
	bool attached;
	int error;		/* register_kprobe() result, 0 if attached */
	u64 hits;
	u64 missed;
};

int vstrace_probes_init(void);
void vstrace_probes_exit(void);
int vstrace_probes_retry(void);
unsigned int vstrace_probes_count(void);
void vstrace_probe_info(unsigned int i, struct vstrace_probe_info *info);

int vstrace_netlink_init(void);
void vstrace_netlink_exit(void);

#endif /* _VSTRACE_KMOD_H */
