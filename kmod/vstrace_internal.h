/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vstrace.ko internals shared between its files: the session, the per-CPU
 * statistics and histograms, the in-flight table and the probe table.
 */
#ifndef _VSTRACE_INTERNAL_H
#define _VSTRACE_INTERNAL_H

#include <linux/types.h>
#include <linux/kprobes.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <uapi/vstrace.h>

#define VSTRACE_ABI_VERSION	1

/* Directions a packet counter is kept for (a subset of enum vstrace_dir). */
#define VSTRACE_PKT_DIRS	2	/* VSTRACE_DIR_TX, VSTRACE_DIR_RX */

/* "No transport known": one past the last enum vstrace_transport. */
#define VSTRACE_TRANSPORT_UNKNOWN	VSTRACE_NR_TRANSPORTS

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

static inline bool vstrace_active(void)
{
	return READ_ONCE(vstrace_session.active);
}

/*
 * Per-CPU counters; summed over CPUs when read.  Only probe handlers write
 * them (each its own CPU's copy, preemption disabled, and kprobes never
 * nest on a CPU), besides the reset.
 */
struct vstrace_cpu_stats {
	u64 packets[VSTRACE_NR_TRANSPORTS][VSTRACE_PKT_DIRS][VSTRACE_NR_OPS];
	u64 bytes[VSTRACE_NR_TRANSPORTS][VSTRACE_PKT_DIRS][VSTRACE_NR_OPS];
	u64 counters[VSTRACE_NR_COUNTERS];
};

DECLARE_PER_CPU(struct vstrace_cpu_stats, vstrace_stats);

void vstrace_stats_reset(void);
void vstrace_stats_sum(struct vstrace_cpu_stats *sum);
bool vstrace_count_pkt(enum vstrace_transport t, enum vstrace_dir dir,
		       void *pkt);
bool vstrace_transport_wanted(enum vstrace_transport t);
bool vstrace_sock_wanted(struct vsock_sock *vsk);

/* Where each transport's send_pkt was probed (0: not attached). */
extern unsigned long vstrace_send_pkt_addr[VSTRACE_NR_TRANSPORTS];

static inline void vstrace_count(enum vstrace_counter c, u64 v)
{
	this_cpu_ptr(&vstrace_stats)->counters[c] += v;
}

/* Latency histograms (hist.c): one per (class, stage, dir, transport). */
struct vstrace_hist {
	u64 buckets[VSTRACE_HIST_BUCKETS];
	u64 sum;		/* ns */
	u64 max;		/* ns */
};

int vstrace_hist_init(void);
void vstrace_hist_exit(void);
void vstrace_hist_reset(void);
void vstrace_hist_record(enum vstrace_class cls, enum vstrace_stage stage,
			 enum vstrace_dir dir, unsigned int transport, u64 ns);
u64 vstrace_hist_sum(enum vstrace_class cls, enum vstrace_stage stage,
		     enum vstrace_dir dir, enum vstrace_transport t,
		     struct vstrace_hist *sum);

/* The class of a packet by its op: RW is data, every other op control. */
static inline enum vstrace_class vstrace_pkt_class(void *pkt)
{
	return le16_to_cpu(vstrace_pkt_hdr(pkt)->op) == VIRTIO_VSOCK_OP_RW ?
	       VSTRACE_CLASS_DATA : VSTRACE_CLASS_CONTROL;
}

/*
 * In-flight table (inflight.c): intervals that start in one probe and end
 * in another, keyed on the object both see (packet, socket, task,
 * virtqueue) and on what is being timed.
 */
enum vstrace_inflight_kind {
	VSTRACE_IF_COPY = 1,	/* pkt: built, copy time in @extra, not yet sent */
	VSTRACE_IF_QUEUED_LOOPBACK,	/* pkt: sent, until recv_pkt */
	VSTRACE_IF_QUEUED_VIRTIO,	/* pkt: sent, until on the virtqueue */
	VSTRACE_IF_QUEUED_VHOST,	/* pkt: sent, until in the guest's ring */
	VSTRACE_IF_RX_CTX,	/* task: in recv_pkt since @ts, @val packed as
				 * below; @extra 1 once proto (rx) ended */
	VSTRACE_IF_WAKEUP,	/* sock: data ready at @ts (0: none pending) */
	VSTRACE_IF_CREDIT,	/* sock: sender waits for credit since @ts */
	VSTRACE_IF_RX_DONE,	/* virtio rx path: virtqueue callback at @ts */
	VSTRACE_IF_DEQUEUE,	/* task: dequeuing for transport @val since @ts */
	VSTRACE_IF_CREDIT_SEND,	/* task: sending a credit update since @ts */
	VSTRACE_IF_KICK_QUEUED,	/* vhost work: TX kick queued at @ts */
	VSTRACE_IF_SENDING,	/* task: in stream_enqueue; its next packet's
				 * copy (tx) starts at @ts */
};

/*
 * The @val of a VSTRACE_IF_QUEUED_* or VSTRACE_IF_RX_CTX entry: the
 * transport, and the class of the packet.  A queued entry's @extra holds
 * the task that handed it to the transport.
 */
static inline u32 vstrace_tc_val(enum vstrace_transport t,
				     enum vstrace_class cls)
{
	return t | cls << 8;
}

static inline enum vstrace_transport vstrace_tc_transport(u32 val)
{
	return val & 0xff;
}

static inline enum vstrace_class vstrace_tc_class(u32 val)
{
	return val >> 8;
}

struct vstrace_inflight {
	unsigned long key;	/* 0: free slot */
	u32 kind;		/* enum vstrace_inflight_kind */
	u32 val;		/* usually an enum vstrace_transport */
	u64 ts;			/* start of the timed interval, 0: none */
	u64 extra;
	u64 stamp;		/* last update, for reclaiming stale slots */
};

int vstrace_inflight_init(void);
void vstrace_inflight_exit(void);
void vstrace_inflight_reset(void);
void vstrace_inflight_put(unsigned long key, u32 kind, u32 val, u64 ts,
			  u64 extra);
bool vstrace_inflight_take(unsigned long key, u32 kind, u64 now,
			   struct vstrace_inflight *out);
bool vstrace_inflight_get(unsigned long key, u32 kind, u64 now,
			  struct vstrace_inflight *out);
bool vstrace_inflight_mark(unsigned long key, u32 kind, u32 val, u64 now);
void vstrace_inflight_restart(unsigned long key, u32 kind, u64 now);
bool vstrace_inflight_consume(unsigned long key, u32 kind, u64 now,
			      struct vstrace_inflight *out);
u64 vstrace_inflight_tx_queue_max(void);

/*
 * Probe points (probes.c).  A point is a plain kprobe (@handler) or a
 * kretprobe (@entry_handler, @ret_handler, @data_size bytes of per-call
 * data).  If @symbol is missing (module not loaded, or inlined), @fallback
 * is tried, and @fallback_why is reported with it.
 */
struct vstrace_probe {
	const char *symbol;
	const char *fallback;
	const char *fallback_why;
	enum vstrace_transport transport;	/* for per-transport points */
	kprobe_pre_handler_t handler;
	kretprobe_handler_t entry_handler;
	kretprobe_handler_t ret_handler;
	size_t data_size;
	unsigned long *addr_out;	/* set to the probed address, or 0 */

	/* Registration state, under vstrace_session_lock. */
	struct kprobe kp;
	struct kretprobe rp;
	const char *attached_symbol;	/* @symbol or @fallback */
	bool attached;
	bool armed;		/* enabled for the running session */
	int error;		/* last register_k(ret)probe() result */
	u64 __percpu *hits;	/* per-CPU, written by the handlers */
};

struct vstrace_probe_info {
	const char *point;	/* function probed */
	const char *fallback;	/* neighbour probed instead, and why; or NULL */
	bool attached;
	bool is_return;		/* a kretprobe */
	enum vstrace_probe_kind kind;
	const char *kind_why;	/* why a trap is not a jump, or NULL */
	int error;		/* register_kprobe() result, 0 if attached */
	u64 hits;
	u64 missed;
};

int vstrace_probes_init(void);
void vstrace_probes_exit(void);
int vstrace_probes_retry(void);
void vstrace_probes_arm(bool on);
unsigned int vstrace_probes_count(void);
void vstrace_probe_info(unsigned int i, struct vstrace_probe_info *info);

struct vstrace_probe *vstrace_probe_of_kp(struct kprobe *kp);
struct vstrace_probe *vstrace_probe_of_ri(struct kretprobe_instance *ri);

/*
 * Every handler measures its own cost: t0 = vstrace_now() first, then
 * vstrace_account() last (@entry: count a hit of the point too).
 */
static inline u64 vstrace_now(void)
{
	return ktime_get_ns();
}

static inline void vstrace_account(struct vstrace_probe *p, u64 t0,
				   bool entry)
{
	struct vstrace_cpu_stats *s = this_cpu_ptr(&vstrace_stats);

	if (entry && p)
		this_cpu_inc(*p->hits);
	s->counters[VSTRACE_CTR_PROBE_HITS]++;
	s->counters[VSTRACE_CTR_PROBE_NS] += ktime_get_ns() - t0;
}

/* Which transport calls from return address @ret; and is it @caller. */
int vstrace_resolve_caller(unsigned long ret);
bool vstrace_called_from(unsigned long ret, const char *caller);

/* Handlers, per transport (stages_*.c). */
void vstrace_sched_tx_end(void *pkt, u32 kind, u64 now);
int vstrace_send_pkt_pre(struct kprobe *kp, struct pt_regs *regs);
int vstrace_recv_pkt_entry(struct kretprobe_instance *ri,
			   struct pt_regs *regs);
int vstrace_recv_pkt_ret(struct kretprobe_instance *ri, struct pt_regs *regs);
int vstrace_alloc_pkt_entry(struct kretprobe_instance *ri,
			    struct pt_regs *regs);
int vstrace_alloc_pkt_ret(struct kretprobe_instance *ri, struct pt_regs *regs);
int vstrace_data_ready_pre(struct kprobe *kp, struct pt_regs *regs);
int vstrace_recvmsg_pre(struct kprobe *kp, struct pt_regs *regs);
int vstrace_dequeue_entry(struct kretprobe_instance *ri,
			  struct pt_regs *regs);
int vstrace_dequeue_ret(struct kretprobe_instance *ri, struct pt_regs *regs);
int vstrace_send_pre_block_pre(struct kprobe *kp, struct pt_regs *regs);
int vstrace_sendmsg_entry(struct kretprobe_instance *ri, struct pt_regs *regs);
int vstrace_sendmsg_ret(struct kretprobe_instance *ri, struct pt_regs *regs);
int vstrace_poll_pre(struct kprobe *kp, struct pt_regs *regs);
int vstrace_send_pkt_info_pre(struct kprobe *kp, struct pt_regs *regs);
int vstrace_sk_destruct_pre(struct kprobe *kp, struct pt_regs *regs);
bool vstrace_in_credit_send(u64 now);
int vstrace_stream_enqueue_pre(struct kprobe *kp, struct pt_regs *regs);
int vstrace_deliver_tap_pre(struct kprobe *kp, struct pt_regs *regs);

int vstrace_vq_add_entry(struct kretprobe_instance *ri, struct pt_regs *regs);
int vstrace_vq_add_ret(struct kretprobe_instance *ri, struct pt_regs *regs);
int vstrace_vring_interrupt_pre(struct kprobe *kp, struct pt_regs *regs);
int vstrace_vq_kick_entry(struct kretprobe_instance *ri,
			  struct pt_regs *regs);
int vstrace_vq_kick_ret(struct kretprobe_instance *ri, struct pt_regs *regs);
int vstrace_virtio_rx_done_pre(struct kprobe *kp, struct pt_regs *regs);
int vstrace_virtio_rx_work_pre(struct kprobe *kp, struct pt_regs *regs);

int vstrace_vhost_signal_entry(struct kretprobe_instance *ri,
			       struct pt_regs *regs);
int vstrace_vhost_signal_ret(struct kretprobe_instance *ri,
			     struct pt_regs *regs);
int vstrace_vhost_tx_kick_pre(struct kprobe *kp, struct pt_regs *regs);
int vstrace_vhost_work_queue_pre(struct kprobe *kp, struct pt_regs *regs);

/* Where vhost_vsock_handle_tx_kick() was probed (0: not attached). */
extern unsigned long vstrace_vhost_tx_kick_addr;

/* Per-call data of the timing kretprobes. */
struct vstrace_call {
	u64 t0;
	unsigned long key;
	unsigned long obj;	/* a second object, e.g. the virtqueue */
	u32 transport;
	u32 arg;
};

int vstrace_netlink_init(void);
void vstrace_netlink_exit(void);

#endif /* _VSTRACE_INTERNAL_H */
