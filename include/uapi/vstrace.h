/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vstrace: the one ABI shared by vstrace.ko, the eBPF programs and the
 * user-space tools.  Everything the three must agree on is declared here
 * once, as X-macros that expand into enums and name tables.
 *
 * Only __u32/__u64 and no kernel types, so this header is included
 * unchanged by kernel, BPF and user code.
 *
 * Every list is part of the uAPI: append only, never reorder.  The last
 * section is the eBPF backend's: the maps user space reads from
 * vstrace.bpf.o, laid out for vmlinux.h and <linux/types.h> alike.
 */
#ifndef _UAPI_VSTRACE_H
#define _UAPI_VSTRACE_H

#include <linux/types.h>

/*
 * Release of the module, the BPF programs and the tools, in one place:
 * MODULE_VERSION(), the tools' --version and dkms.conf's PACKAGE_VERSION
 * (which reads this line) all come from it.
 */
#define VSTRACE_VERSION		"0.1"

#define VSTRACE_GENL_NAME	"vstrace"
#define VSTRACE_GENL_VERSION	1

/* Transports, told apart by which function fires (design.md section 3). */
#define VSTRACE_TRANSPORTS(X)	\
	X(LOOPBACK, "loopback")	\
	X(VIRTIO, "virtio")	\
	X(VHOST, "vhost")

/* Stages of the latency model (design.md section 2). */
#define VSTRACE_STAGES(X)	\
	X(COPY, "copy")		\
	X(NOTIFY, "notify")	\
	X(SCHED, "sched")	\
	X(PROTO, "proto")

/*
 * What a timed interval carried: a data packet (RW) or a control packet
 * (REQUEST, RESPONSE, CREDIT_UPDATE, CREDIT_REQUEST, SHUTDOWN, RST, and
 * the reader's work to send a credit update).  Control time is kept apart
 * so that it never inflates a data stage.
 */
#define VSTRACE_CLASSES(X)	\
	X(DATA, "data")		\
	X(CONTROL, "control")

#define VSTRACE_DIRS(X)		\
	X(TX, "tx")		\
	X(RX, "rx")		\
	X(WAKEUP, "wakeup")

/* virtio-vsock packet ops; the value is the wire value of hdr.op. */
#define VSTRACE_OPS(X)					\
	X(INVALID, "INVALID", 0)			\
	X(REQUEST, "REQUEST", 1)			\
	X(RESPONSE, "RESPONSE", 2)			\
	X(RST, "RST", 3)				\
	X(SHUTDOWN, "SHUTDOWN", 4)			\
	X(RW, "RW", 5)					\
	X(CREDIT_UPDATE, "CREDIT_UPDATE", 6)		\
	X(CREDIT_REQUEST, "CREDIT_REQUEST", 7)

/* Scalar counters kept besides the per-op ones. */
#define VSTRACE_COUNTERS(X)				\
	X(PROBE_HITS, "probe_hits")			\
	X(PROBE_NS, "probe_ns")				\
	X(CREDIT_STALLS, "credit_stalls")		\
	X(CREDIT_STALL_NS, "credit_stall_ns")		\
	X(DROPS, "drops")				\
	X(INFLIGHT_EXPIRED, "inflight_expired")		\
	X(FILTERED, "filtered")				\
	X(TX_QUEUE_MAX, "tx_queue_max")				\
	X(TX_FAST_PATH, "tx_fast_path")

#define __VSTRACE_ENUM(id, ...)		VSTRACE_TRANSPORT_##id,
enum vstrace_transport { VSTRACE_TRANSPORTS(__VSTRACE_ENUM) VSTRACE_NR_TRANSPORTS };
#undef __VSTRACE_ENUM
#define __VSTRACE_ENUM(id, ...)		VSTRACE_STAGE_##id,
enum vstrace_stage { VSTRACE_STAGES(__VSTRACE_ENUM) VSTRACE_NR_STAGES };
#undef __VSTRACE_ENUM
#define __VSTRACE_ENUM(id, ...)		VSTRACE_CLASS_##id,
enum vstrace_class { VSTRACE_CLASSES(__VSTRACE_ENUM) VSTRACE_NR_CLASSES };
#undef __VSTRACE_ENUM
#define __VSTRACE_ENUM(id, ...)		VSTRACE_DIR_##id,
enum vstrace_dir { VSTRACE_DIRS(__VSTRACE_ENUM) VSTRACE_NR_DIRS };
#undef __VSTRACE_ENUM
#define __VSTRACE_ENUM(id, name, val)	VSTRACE_OP_##id = val,
enum vstrace_op { VSTRACE_OPS(__VSTRACE_ENUM) VSTRACE_NR_OPS };
#undef __VSTRACE_ENUM
#define __VSTRACE_ENUM(id, ...)		VSTRACE_CTR_##id,
enum vstrace_counter { VSTRACE_COUNTERS(__VSTRACE_ENUM) VSTRACE_NR_COUNTERS };
#undef __VSTRACE_ENUM

/*
 * Generic netlink family "vstrace".
 *
 * Commands, each for callers with CAP_NET_ADMIN or CAP_PERFMON (timings
 * of every VSOCK flow are a side channel on the services behind them):
 *   GET_STATUS  doit: session state, filters, probe points (nested PROBE)
 *   GET_STATS   dumpit: one message per (transport, op) counter set, per
 *               histogram, and one with the scalar counters
 *   START       doit: start a session; optional CID, PORT, TRANSPORT filters
 *   STOP        doit: stop the session (counters stay readable)
 *   RESET       doit: zero every counter and histogram
 */
#define VSTRACE_CMDS(X)		\
	X(UNSPEC)		\
	X(GET_STATUS)		\
	X(GET_STATS)		\
	X(START)		\
	X(STOP)			\
	X(RESET)

#define __VSTRACE_ENUM(id)	VSTRACE_CMD_##id,
enum vstrace_cmd { VSTRACE_CMDS(__VSTRACE_ENUM) __VSTRACE_CMD_MAX };
#undef __VSTRACE_ENUM
#define VSTRACE_CMD_MAX (__VSTRACE_CMD_MAX - 1)

/* Top-level attributes: (id, netlink type, meaning). */
#define VSTRACE_ATTRS(X)						\
	X(UNSPEC,	UNSPEC,	"")					\
	X(VERSION,	U32,	"module ABI version")			\
	X(ACTIVE,	U8,	"1 while a session is running")		\
	X(START_NS,	U64,	"session start, CLOCK_REALTIME ns")	\
	X(DURATION_NS,	U64,	"session length so far, ns")		\
	X(FILTER_CID,	U32,	"only packets to or from this CID")	\
	X(FILTER_PORT,	U32,	"only packets to or from this port")	\
	X(FILTER_TRANSPORT, U32, "only this enum vstrace_transport")	\
	X(PROBE,	NESTED,	"one probe point (PROBE_*)")		\
	X(TRANSPORT,	U32,	"enum vstrace_transport")		\
	X(OP,		U32,	"enum vstrace_op")			\
	X(PACKETS,	U64,	"packets")				\
	X(BYTES,	U64,	"payload bytes")			\
	X(STAGE,	U32,	"enum vstrace_stage")			\
	X(DIR,		U32,	"enum vstrace_dir")			\
	X(HIST,		BINARY,	"__u64[] buckets, see VSTRACE_HIST_*")	\
	X(HIST_SUM,	U64,	"sum of recorded values, ns")		\
	X(HIST_MAX,	U64,	"largest recorded value, ns")		\
	X(COUNTER,	U32,	"enum vstrace_counter")			\
	X(VALUE,	U64,	"counter value")			\
	X(PAD,		UNSPEC,	"64-bit alignment")			\
	X(CLASS,	U32,	"enum vstrace_class of a histogram")

#define __VSTRACE_ENUM(id, ...)	VSTRACE_A_##id,
enum vstrace_attr { VSTRACE_ATTRS(__VSTRACE_ENUM) __VSTRACE_A_MAX };
#undef __VSTRACE_ENUM
#define VSTRACE_A_MAX (__VSTRACE_A_MAX - 1)

/* Attributes nested in VSTRACE_A_PROBE. */
#define VSTRACE_PROBE_ATTRS(X)						\
	X(UNSPEC,	UNSPEC,	"")					\
	X(POINT,	STRING,	"function probed (or wanted)")		\
	X(ATTACHED,	U8,	"1 if the kprobe is registered")	\
	X(FALLBACK,	STRING,	"neighbour used instead, and why")	\
	X(HITS,		U64,	"times the probe fired")		\
	X(MISSED,	U64,	"kprobe nmissed")			\
	X(ERROR,	S32,	"register_kprobe() error, 0 if none")	\
	X(KIND,		U32,	"enum vstrace_probe_kind")		\
	X(RETURN,	U8,	"1 for a return probe (kretprobe)")	\
	X(KIND_WHY,	STRING,	"why a trap is not a jump")

#define __VSTRACE_ENUM(id, ...)	VSTRACE_PROBE_A_##id,
enum vstrace_probe_attr { VSTRACE_PROBE_ATTRS(__VSTRACE_ENUM) __VSTRACE_PROBE_A_MAX };
#undef __VSTRACE_ENUM
#define VSTRACE_PROBE_A_MAX (__VSTRACE_PROBE_A_MAX - 1)

#define VSTRACE_POINT_NAME_MAX	64

/*
 * How a probe point runs (VSTRACE_PROBE_A_KIND): not attached; attached
 * but disarmed (no session runs); a breakpoint trap; a jump (OPTPROBES);
 * called from the function's ftrace site (KPROBES_ON_FTRACE).
 */
#define VSTRACE_PROBE_KINDS(X)	\
	X(NONE, "none")		\
	X(DISARMED, "disarmed")	\
	X(INT3, "int3")		\
	X(OPTIMIZED, "optimized") \
	X(FTRACE, "ftrace")

#define __VSTRACE_ENUM(id, ...)	VSTRACE_PROBE_KIND_##id,
enum vstrace_probe_kind { VSTRACE_PROBE_KINDS(__VSTRACE_ENUM) VSTRACE_NR_PROBE_KINDS };
#undef __VSTRACE_ENUM

/*
 * Latency histograms: log-linear buckets (HDR style).  Values below
 * 2^SUB_BITS ns get one bucket each; above, every power of two is split
 * into 2^SUB_BITS equal buckets, so a bucket is at most 1/16 of its value
 * wide (midpoint error <= 3.2 %).  Values >= 2^(MAX_EXP+1) ns (~137 s) land
 * in the last bucket.  Kernel, BPF and user space index with the same
 * function.
 */
#define VSTRACE_HIST_SUB_BITS	4
#define VSTRACE_HIST_SUB	(1u << VSTRACE_HIST_SUB_BITS)
#define VSTRACE_HIST_MAX_EXP	36
#define VSTRACE_HIST_BUCKETS	\
	((VSTRACE_HIST_MAX_EXP - VSTRACE_HIST_SUB_BITS + 2) * VSTRACE_HIST_SUB)

/* Index of the highest set bit, v != 0; no builtins (BPF has no clz). */
static inline __u32 vstrace_hist_log2(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

static inline __u32 vstrace_hist_bucket(__u64 v)
{
	__u32 e, shift;

	if (v < VSTRACE_HIST_SUB)
		return (__u32)v;
	e = vstrace_hist_log2(v);
	if (e > VSTRACE_HIST_MAX_EXP)
		return VSTRACE_HIST_BUCKETS - 1;
	shift = e - VSTRACE_HIST_SUB_BITS;
	return ((shift + 1) << VSTRACE_HIST_SUB_BITS) +
	       (__u32)((v >> shift) & (VSTRACE_HIST_SUB - 1));
}

/* Smallest value that falls into bucket b. */
static inline __u64 vstrace_hist_bucket_low(__u32 b)
{
	__u32 shift;

	if (b < VSTRACE_HIST_SUB)
		return b;
	shift = (b >> VSTRACE_HIST_SUB_BITS) - 1;
	return (__u64)(VSTRACE_HIST_SUB + (b & (VSTRACE_HIST_SUB - 1))) << shift;
}

/* Largest value that falls into bucket b. */
static inline __u64 vstrace_hist_bucket_high(__u32 b)
{
	__u32 shift;

	if (b < VSTRACE_HIST_SUB)
		return b;
	shift = (b >> VSTRACE_HIST_SUB_BITS) - 1;
	return vstrace_hist_bucket_low(b) + ((__u64)1 << shift) - 1;
}

/*
 * eBPF backend: the maps of vstrace.bpf.o as user space sees them - pin
 * paths, map names, value layouts and the probe list.  vstrace.bpf.c
 * includes this header after vmlinux.h, user space after <linux/types.h>.
 *
 * A session made by `bpftool prog loadall bpf/vstrace.bpf.o
 * /sys/fs/bpf/vstrace autoattach pinmaps /sys/fs/bpf/vstrace/maps` and one
 * made by vs_bpf_start() look the same: one pin per program (a link if it is
 * attached, the program itself if not) in VSTRACE_BPF_PIN_DIR, one pin per
 * map, named for the map, in VSTRACE_BPF_PIN_DIR/maps.
 */
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

#endif /* _UAPI_VSTRACE_H */
