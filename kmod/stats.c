// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU packet counters and the session's filters.  Handlers update
 * their own CPU's copy without locks or atomics (they run with preemption
 * disabled inside a kprobe); readers sum over all possible CPUs.
 *
 * A reset never writes the per-CPU copies, which a handler on another CPU
 * may be updating (a zero written between its load and its store would be
 * undone): it records the sums as a baseline instead, and readers report
 * the sums minus the baseline.  Baseline and readers are serialised by
 * vstrace_session_lock.
 */
#include <linux/cpumask.h>
#include <linux/string.h>
#include <linux/virtio_vsock.h>
#include <linux/vm_sockets.h>
#include "vstrace_internal.h"

DEFINE_PER_CPU(struct vstrace_cpu_stats, vstrace_stats);

/* Sums at the last reset, under vstrace_session_lock. */
static struct vstrace_cpu_stats vstrace_stats_base;

/* Every counter summed over CPUs since load. */
static void vstrace_stats_sum_raw(struct vstrace_cpu_stats *sum)
{
	const u64 *src;
	u64 *dst = (u64 *)sum;
	size_t i, n = sizeof(*sum) / sizeof(u64);
	int cpu;

	BUILD_BUG_ON(sizeof(*sum) % sizeof(u64));
	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		src = (const u64 *)per_cpu_ptr(&vstrace_stats, cpu);
		for (i = 0; i < n; i++)
			dst[i] += READ_ONCE(src[i]);
	}
}

/* Caller holds vstrace_session_lock. */
void vstrace_stats_reset(void)
{
	vstrace_stats_sum_raw(&vstrace_stats_base);
}

/* Counters since the last reset.  Caller holds vstrace_session_lock. */
void vstrace_stats_sum(struct vstrace_cpu_stats *sum)
{
	const u64 *base = (const u64 *)&vstrace_stats_base;
	u64 *dst = (u64 *)sum;
	size_t i, n = sizeof(*sum) / sizeof(u64);

	vstrace_stats_sum_raw(sum);
	for (i = 0; i < n; i++)
		dst[i] -= base[i];
	/* A gauge, not a per-CPU sum. */
	sum->counters[VSTRACE_CTR_TX_QUEUE_MAX] = vstrace_inflight_tx_queue_max();
}

/* False if the session traces only another transport than @t. */
bool vstrace_transport_wanted(enum vstrace_transport t)
{
	u32 tr = READ_ONCE(vstrace_session.filter_transport);

	return tr == VSTRACE_NR_TRANSPORTS || tr == t;
}

static bool vstrace_filtered_out(enum vstrace_transport t,
				 const struct virtio_vsock_hdr *hdr)
{
	u32 cid = READ_ONCE(vstrace_session.filter_cid);
	u32 port = READ_ONCE(vstrace_session.filter_port);

	if (!vstrace_transport_wanted(t))
		return true;
	if (cid != VMADDR_CID_ANY && le64_to_cpu(hdr->src_cid) != cid &&
	    le64_to_cpu(hdr->dst_cid) != cid)
		return true;
	if (port != VMADDR_PORT_ANY && le32_to_cpu(hdr->src_port) != port &&
	    le32_to_cpu(hdr->dst_port) != port)
		return true;
	return false;
}

/*
 * Count one packet crossing transport @t in direction @dir (TX or RX).
 * False if the session's filters leave it out: its stages are not timed.
 */
bool vstrace_count_pkt(enum vstrace_transport t, enum vstrace_dir dir,
		       void *pkt)
{
	struct vstrace_cpu_stats *s = this_cpu_ptr(&vstrace_stats);
	const struct virtio_vsock_hdr *hdr = vstrace_pkt_hdr(pkt);
	u16 op = le16_to_cpu(hdr->op);

	if (vstrace_filtered_out(t, hdr)) {
		s->counters[VSTRACE_CTR_FILTERED]++;
		return false;
	}
	if (op >= VSTRACE_NR_OPS)
		op = VSTRACE_OP_INVALID;
	s->packets[t][dir][op]++;
	s->bytes[t][dir][op] += le32_to_cpu(hdr->len);
	return true;
}

unsigned long vstrace_send_pkt_addr[VSTRACE_NR_TRANSPORTS];

/*
 * The transport of socket @vsk: its send_pkt function is one of the
 * probed ones (a probe sits at most a few bytes into its function, past
 * the ftrace or IBT prologue); VSTRACE_TRANSPORT_UNKNOWN where the kernel
 * does not say (4.14) or the socket has none yet.
 */
static int vstrace_sock_transport(struct vsock_sock *vsk)
{
	unsigned long fn = vstrace_vsk_send_pkt(vsk), addr;
	int t;

	for (t = 0; fn && t < VSTRACE_NR_TRANSPORTS; t++) {
		addr = READ_ONCE(vstrace_send_pkt_addr[t]);
		if (addr && fn <= addr && addr - fn < 32)
			return t;
	}
	return VSTRACE_TRANSPORT_UNKNOWN;
}

/*
 * False if the session's filters leave socket @vsk out: the same rules as
 * for its packets, on its local and remote addresses.  A socket whose
 * transport is unknown passes the transport filter.
 */
bool vstrace_sock_wanted(struct vsock_sock *vsk)
{
	u32 cid = READ_ONCE(vstrace_session.filter_cid);
	u32 port = READ_ONCE(vstrace_session.filter_port);
	int t;

	if (READ_ONCE(vstrace_session.filter_transport) != VSTRACE_NR_TRANSPORTS) {
		t = vstrace_sock_transport(vsk);
		if (t != VSTRACE_TRANSPORT_UNKNOWN && !vstrace_transport_wanted(t))
			return false;
	}
	if (cid != VMADDR_CID_ANY && vsk->local_addr.svm_cid != cid &&
	    vsk->remote_addr.svm_cid != cid)
		return false;
	if (port != VMADDR_PORT_ANY && vsk->local_addr.svm_port != port &&
	    vsk->remote_addr.svm_port != port)
		return false;
	return true;
}
