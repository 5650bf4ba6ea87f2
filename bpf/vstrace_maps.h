/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The maps of vstrace.bpf.o as user space sees them: value layouts, pin
 * paths and the probe list.  Included by vstrace.bpf.c (after vmlinux.h)
 * and by user/vstrace_bpf.c (after <linux/types.h>), so only __u32/__u64
 * and the lists of include/uapi/vstrace.h.
 *
 * A session made by `bpftool prog loadall bpf/vstrace.bpf.o
 * /sys/fs/bpf/vstrace autoattach pinmaps /sys/fs/bpf/vstrace/maps` and one
 * made by vs_bpf_start() look the same: one pin per program (a link if it is
 * attached, the program itself if not) in VSTRACE_BPF_PIN_DIR, one pin per
 * map, named for the map, in VSTRACE_BPF_PIN_DIR/maps.
 */
#ifndef _VSTRACE_MAPS_H
#define _VSTRACE_MAPS_H

#include "vstrace.h"

#define VSTRACE_BPF_PIN_DIR	"/sys/fs/bpf/vstrace"
#define VSTRACE_BPF_MAP_SUBDIR	"maps"

/* Map names (at most 15 characters: BPF_OBJ_NAME_LEN). */
#define VSTRACE_BPF_STATS_MAP	"vstrace_stats"
#define VSTRACE_BPF_SESSION_MAP	"vstrace_session"

/* targ_cid and targ_port: match every CID or port (VMADDR_CID_ANY). */
#define VSTRACE_BPF_ANY		0xffffffffu

/*
 * Probe points, one program each, named for the function it probes; the
 * order is that of vstrace_bpf_stats.probe_hits[].
 */
#define VSTRACE_BPF_PROBES(X)					\
	X(LOOPBACK_SEND, "vsock_loopback_send_pkt")		\
	X(VIRTIO_SEND, "virtio_transport_send_pkt")		\
	X(VHOST_SEND, "vhost_transport_send_pkt")		\
	X(RECV, "virtio_transport_recv_pkt")

#define __VSTRACE_BPF_ENUM(id, ...)	VSTRACE_BPF_PROBE_##id,
enum vstrace_bpf_probe { VSTRACE_BPF_PROBES(__VSTRACE_BPF_ENUM) VSTRACE_BPF_NR_PROBES };
#undef __VSTRACE_BPF_ENUM

/* Packet counters are kept for TX and RX only, as in vstrace.ko. */
#define VSTRACE_BPF_PKT_DIRS	2

/*
 * The one value of the per-CPU array VSTRACE_BPF_STATS_MAP (key 0); readers
 * sum it over the possible CPUs.  Same meaning as the module's
 * struct vstrace_cpu_stats, plus hits per probe point.
 */
struct vstrace_bpf_stats {
	__u64 packets[VSTRACE_NR_TRANSPORTS][VSTRACE_BPF_PKT_DIRS][VSTRACE_NR_OPS];
	__u64 bytes[VSTRACE_NR_TRANSPORTS][VSTRACE_BPF_PKT_DIRS][VSTRACE_NR_OPS];
	__u64 counters[VSTRACE_NR_COUNTERS];
	__u64 probe_hits[VSTRACE_BPF_NR_PROBES];
};

/*
 * The one value of the array VSTRACE_BPF_SESSION_MAP (key 0), written by
 * user space only: CLOCK_REALTIME ns of the session's start and stop, 0 if
 * not known (bpftool leaves both 0).
 */
struct vstrace_bpf_session {
	__u64 start_ns;
	__u64 stop_ns;
};

#endif /* _VSTRACE_MAPS_H */
