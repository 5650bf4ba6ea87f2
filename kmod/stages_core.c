// SPDX-License-Identifier: GPL-2.0
/*
 * Stages every transport shares, measured in virtio_transport_common and
 * the socket layer (Documentation/vstrace-stages.rst has the table per
 * kernel), and loopback's own one:
 *
 *   copy (tx)      building a packet with payload: from the sender's
 *                  stream_enqueue (for its first packet; the previous
 *                  packet's hand-off for the next ones) to the end of the
 *                  alloc_pkt/alloc_skb call that copies the user data in;
 *                  attributed to the transport whose send_pkt receives the
 *                  packet next
 *   sched (tx)     send_pkt -> the packet leaves the transport's queue: for
 *                  loopback, the worker's virtio_transport_recv_pkt() of
 *                  the same packet (virtio: stages_virtio.c, vhost: below)
 *   proto (rx)     virtio_transport_recv_pkt() entry -> the data made ready
 *                  on the socket (sk_data_ready) for a data packet, so that
 *                  the rest of the call, which may run beside the woken
 *                  reader, is not counted twice; the whole call for a
 *                  control packet
 *   sched (wakeup) data made ready on the socket (inside recv_pkt) -> its
 *                  reader runs: the first vsock_poll() of the socket (poll,
 *                  select, epoll readers) or its dequeue (blocking readers);
 *                  if the reader only asks later (recvmsg entry), from
 *                  then: time the reader was not waiting is not wakeup
 *   copy (rx)      the dequeue call (kernel to user copy), up to the credit
 *                  update it may send (virtio_transport_send_pkt_info() with
 *                  op CREDIT_UPDATE, from inside the dequeue)
 *   credit stalls  a sender blocks for peer credit, or a non-blocking one
 *                  gets EAGAIN or a short write -> it enqueues again
 *   drops          an RW packet that recv_pkt returns from without making
 *                  it ready on a socket: no socket (answered with RST), a
 *                  socket not connected (closing, connecting) or of
 *                  another transport
 *
 * Every interval tied to a packet is kept under the packet's class: data
 * (RW) or control (every other op).  The reader's work to send a credit
 * update is control proto (tx), never copy.
 *
 * Intervals that span two probes go through the in-flight table, keyed on
 * the packet, the socket or the task (inflight.c).  Socket keys are dropped
 * when the socket is destroyed (vsock_sk_destruct), so a later socket at
 * the same address never ends an interval of an earlier one.  Every
 * handler returns at once while no session is active; kretprobe entry
 * handlers then return 1 so that no return probe is armed.
 */
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <net/sock.h>
#include <net/af_vsock.h>
#include "vstrace_internal.h"

/* Where a packet sent on each transport is queued until it goes on. */
static const u32 vstrace_queued_kind[VSTRACE_NR_TRANSPORTS] = {
	[VSTRACE_TRANSPORT_LOOPBACK]	= VSTRACE_IF_QUEUED_LOOPBACK,
	[VSTRACE_TRANSPORT_VIRTIO]	= VSTRACE_IF_QUEUED_VIRTIO,
	[VSTRACE_TRANSPORT_VHOST]	= VSTRACE_IF_QUEUED_VHOST,
};

/* End a packet's sched (tx) interval of kind @kind, if it has one. */
void vstrace_sched_tx_end(void *pkt, u32 kind, u64 now)
{
	struct vstrace_inflight e;

	if (vstrace_inflight_take((unsigned long)pkt, kind, now, &e))
		vstrace_hist_record(vstrace_tc_class(e.val),
				    VSTRACE_STAGE_SCHED, VSTRACE_DIR_TX,
				    vstrace_tc_transport(e.val), now - e.ts);
}

/* send_pkt(pkt) of a transport: count, end copy (tx), start sched (tx). */
int vstrace_send_pkt_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct vstrace_probe *p = vstrace_probe_of_kp(kp);
	void *pkt = (void *)vstrace_arg(regs, 1);
	struct vstrace_inflight e;
	bool built;
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	built = vstrace_inflight_take((unsigned long)pkt, VSTRACE_IF_COPY, t0,
				      &e);
	if (vstrace_count_pkt(p->transport, VSTRACE_DIR_TX, pkt)) {
		/* Control packets (credit updates, ...) copy nothing. */
		if (built && vstrace_pkt_hdr(pkt)->len)
			vstrace_hist_record(VSTRACE_CLASS_DATA,
					    VSTRACE_STAGE_COPY, VSTRACE_DIR_TX,
					    p->transport, e.extra);
		/* The sending task tells the 6.12 TX fast path apart. */
		vstrace_inflight_put((unsigned long)pkt,
				     vstrace_queued_kind[p->transport],
				     vstrace_tc_val(p->transport,
							vstrace_pkt_class(pkt)),
				     t0, (unsigned long)current);
	}
	/* The sender's next packet, if any, starts here. */
	vstrace_inflight_restart((unsigned long)current, VSTRACE_IF_SENDING, t0);
	vstrace_account(p, t0, true);
	return 0;
}

int vstrace_alloc_pkt_entry(struct kretprobe_instance *ri,
			    struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	struct vstrace_inflight e;
	u64 t0;

	if (!vstrace_active())
		return 1;
	t0 = vstrace_now();
	/* Inside a stream_enqueue, the packet's copy (tx) began earlier. */
	c->t0 = vstrace_inflight_get((unsigned long)current, VSTRACE_IF_SENDING,
				     t0, &e) && e.ts ? e.ts : t0;
	vstrace_account(vstrace_probe_of_ri(ri), t0, true);
	return 0;
}

/*
 * The packet is built; its transport is known only at send_pkt, so the
 * copy time waits in the in-flight table until then.
 */
int vstrace_alloc_pkt_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	unsigned long pkt = regs_return_value(regs);
	u64 t0 = vstrace_now();

	if (pkt)
		vstrace_inflight_put(pkt, VSTRACE_IF_COPY, 0, t0, t0 - c->t0);
	vstrace_account(NULL, t0, false);
	return 0;
}

/*
 * virtio_transport_recv_pkt(): count, end loopback's sched (tx), and note
 * which transport this task is receiving for, so that a data-ready inside
 * can be attributed.
 */
int vstrace_recv_pkt_entry(struct kretprobe_instance *ri,
			   struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	struct vstrace_probe *p = vstrace_probe_of_ri(ri);
	void *pkt = (void *)vstrace_arg(regs, VSTRACE_RECV_PKT_ARG);
	int t, skip = 1;
	u64 t0;

	if (!vstrace_active())
		return 1;
	t0 = vstrace_now();
	t = vstrace_resolve_caller(vstrace_entry_ret_addr(regs));
	if (t != VSTRACE_TRANSPORT_UNKNOWN &&
	    vstrace_count_pkt(t, VSTRACE_DIR_RX, pkt)) {
		if (t == VSTRACE_TRANSPORT_LOOPBACK)
			vstrace_sched_tx_end(pkt, VSTRACE_IF_QUEUED_LOOPBACK, t0);
		vstrace_inflight_put((unsigned long)current, VSTRACE_IF_RX_CTX,
				     vstrace_tc_val(t, vstrace_pkt_class(pkt)),
				     t0, 0);
		c->t0 = t0;
		c->transport = t;
		c->arg = vstrace_pkt_class(pkt);
		skip = 0;
	}
	vstrace_account(p, t0, true);
	return skip;
}

int vstrace_recv_pkt_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	struct vstrace_inflight e;
	u64 t0 = vstrace_now();

	/* A data packet's proto (rx) ended at its data-ready, if it had one. */
	if (!vstrace_inflight_take((unsigned long)current, VSTRACE_IF_RX_CTX,
				   t0, &e)) {
		vstrace_hist_record(c->arg, VSTRACE_STAGE_PROTO, VSTRACE_DIR_RX,
				    c->transport, t0 - c->t0);
	} else if (!e.extra) {
		vstrace_hist_record(c->arg, VSTRACE_STAGE_PROTO, VSTRACE_DIR_RX,
				    c->transport, t0 - c->t0);
		/* Data that reached no socket's queue. */
		if (c->arg == VSTRACE_CLASS_DATA)
			vstrace_count(VSTRACE_CTR_DROPS, 1);
	}
	vstrace_account(NULL, t0, false);
	return 0;
}

/*
 * Data ready on a vsock socket, inside a traced recv_pkt: a data packet's
 * proto (rx) ends and the reader's wakeup starts.  (A REQUEST makes its
 * listener ready too: a control packet, whose proto (rx) goes on.)
 */
int vstrace_data_ready_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct sock *sk = (struct sock *)vstrace_arg(regs, 1);
	struct vstrace_inflight e;
	u32 t;
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	if (sk && sk->sk_family == AF_VSOCK &&
	    vstrace_inflight_get((unsigned long)current, VSTRACE_IF_RX_CTX, t0,
				 &e)) {
		t = vstrace_tc_transport(e.val);
		if (vstrace_tc_class(e.val) == VSTRACE_CLASS_DATA && !e.extra) {
			vstrace_hist_record(VSTRACE_CLASS_DATA,
					    VSTRACE_STAGE_PROTO, VSTRACE_DIR_RX,
					    t, t0 - e.ts);
			vstrace_inflight_put((unsigned long)current,
					     VSTRACE_IF_RX_CTX, e.val, e.ts, 1);
		}
		vstrace_inflight_mark((unsigned long)sk, VSTRACE_IF_WAKEUP, t,
				      t0);
	}
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}

/* recvmsg(sock, ...): data that is already there waited for the reader. */
int vstrace_recvmsg_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct socket *sock = (struct socket *)vstrace_arg(regs, 1);
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	if (sock && sock->sk)
		vstrace_inflight_restart((unsigned long)sock->sk,
					 VSTRACE_IF_WAKEUP, t0);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}

/*
 * End the socket's pending wakeup, if any, at @now.  True if a traced
 * recv_pkt ever made data ready on it (@e then holds its transport).
 */
static bool vstrace_wakeup_end(struct sock *sk, u64 now,
			       struct vstrace_inflight *e)
{
	if (!vstrace_inflight_consume((unsigned long)sk, VSTRACE_IF_WAKEUP,
				      now, e))
		return false;
	if (e->ts)
		vstrace_hist_record(VSTRACE_CLASS_DATA, VSTRACE_STAGE_SCHED,
				    VSTRACE_DIR_WAKEUP, e->val, now - e->ts);
	return true;
}

/*
 * vsock_poll(file, sock, wait): a reader that waits in poll, select or
 * epoll runs again and looks at the socket; its wakeup ends here.
 */
int vstrace_poll_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct socket *sock = (struct socket *)vstrace_arg(regs, 2);
	struct vstrace_inflight e;
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	if (sock && sock->sk)
		vstrace_wakeup_end(sock->sk, t0, &e);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}

/*
 * The reader dequeues (vsk, msg, len, ...): wakeup ends (if no poll ended
 * it), copy (rx) starts.  Only sockets whose data a traced recv_pkt made
 * ready are timed; the socket's entry remembers their transport.  The task
 * is marked as dequeuing, so that a credit update it sends from inside
 * ends copy (rx) there (vstrace_send_pkt_info_pre).
 */
int vstrace_dequeue_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	struct vsock_sock *vsk = (struct vsock_sock *)vstrace_arg(regs, 1);
	struct vstrace_inflight e;
	int skip = 1;
	u64 t0;

	if (!vstrace_active())
		return 1;
	t0 = vstrace_now();
	if (vsk && vstrace_wakeup_end(sk_vsock(vsk), t0, &e)) {
		vstrace_inflight_put((unsigned long)current, VSTRACE_IF_DEQUEUE,
				     e.val, t0, 0);
		c->t0 = t0;
		c->transport = e.val;
		skip = 0;
	}
	vstrace_account(vstrace_probe_of_ri(ri), t0, true);
	return skip;
}

int vstrace_dequeue_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	long copied = (long)regs_return_value(regs);
	struct vstrace_inflight e;
	u64 t0 = vstrace_now();

	if (vstrace_inflight_take((unsigned long)current, VSTRACE_IF_CREDIT_SEND,
				  t0, &e))
		vstrace_hist_record(VSTRACE_CLASS_CONTROL, VSTRACE_STAGE_PROTO,
				    VSTRACE_DIR_TX, e.val, t0 - e.ts);
	else if (vstrace_inflight_take((unsigned long)current,
				       VSTRACE_IF_DEQUEUE, t0, &e) && copied > 0)
		vstrace_hist_record(VSTRACE_CLASS_DATA, VSTRACE_STAGE_COPY,
				    VSTRACE_DIR_RX, c->transport, t0 - c->t0);
	vstrace_account(NULL, t0, false);
	return 0;
}

/*
 * virtio_transport_send_pkt_info(vsk, info): a credit update sent from
 * inside a traced dequeue ends that dequeue's copy (rx); what follows,
 * building and sending the update, is control proto (tx).
 */
int vstrace_send_pkt_info_pre(struct kprobe *kp, struct pt_regs *regs)
{
	const struct virtio_vsock_pkt_info *info =
		(const struct virtio_vsock_pkt_info *)vstrace_arg(regs, 2);
	struct vstrace_inflight e;
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	/* @info is the caller's live struct: read it directly. */
	if (info && READ_ONCE(info->op) == VIRTIO_VSOCK_OP_CREDIT_UPDATE &&
	    vstrace_inflight_take((unsigned long)current, VSTRACE_IF_DEQUEUE,
				  t0, &e)) {
		vstrace_hist_record(VSTRACE_CLASS_DATA, VSTRACE_STAGE_COPY,
				    VSTRACE_DIR_RX, e.val, t0 - e.ts);
		vstrace_inflight_put((unsigned long)current,
				     VSTRACE_IF_CREDIT_SEND, e.val, t0, 0);
	}
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}

/* True while the current task sends a credit update from a dequeue. */
bool vstrace_in_credit_send(u64 now)
{
	struct vstrace_inflight e;

	return vstrace_inflight_get((unsigned long)current,
				    VSTRACE_IF_CREDIT_SEND, now, &e);
}

/*
 * vsock_sk_destruct(sk): the socket is freed and its address may come
 * back as another socket; its pending intervals go with it.
 */
int vstrace_sk_destruct_pre(struct kprobe *kp, struct pt_regs *regs)
{
	unsigned long sk = vstrace_arg(regs, 1);
	struct vstrace_inflight e;
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	vstrace_inflight_take(sk, VSTRACE_IF_WAKEUP, t0, &e);
	vstrace_inflight_take(sk, VSTRACE_IF_CREDIT, t0, &e);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}

/* A credit stall on @vsk starts at @now, unless one is pending. */
static void vstrace_credit_stall_start(struct vsock_sock *vsk, u64 now)
{
	if (vstrace_sock_wanted(vsk) &&
	    vstrace_inflight_mark((unsigned long)sk_vsock(vsk),
				  VSTRACE_IF_CREDIT, 0, now))
		vstrace_count(VSTRACE_CTR_CREDIT_STALLS, 1);
}

/* notify_send_pre_block(vsk, ...): the sender is about to wait for space. */
int vstrace_send_pre_block_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct vsock_sock *vsk = (struct vsock_sock *)vstrace_arg(regs, 1);
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	if (vsk)
		vstrace_credit_stall_start(vsk, t0);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}

/* sendmsg(sock, msg, len): note the socket and the length asked for. */
int vstrace_sendmsg_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	struct socket *sock = (struct socket *)vstrace_arg(regs, 1);
	u64 t0;

	if (!vstrace_active())
		return 1;
	t0 = vstrace_now();
	c->obj = sock ? (unsigned long)sock->sk : 0;
	c->key = vstrace_arg(regs, 3);
	vstrace_account(vstrace_probe_of_ri(ri), t0, true);
	return c->obj ? 0 : 1;
}

/*
 * A non-blocking sender that finds no credit never reaches pre_block: it
 * gets EAGAIN, or a short write once the credit ran out part way.  Its
 * stall lasts until it enqueues again, as a blocking one's.
 */
int vstrace_sendmsg_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	struct vstrace_inflight e;
	/* sendmsg() returns an int: the upper half of the register is not its. */
	int ret = (int)regs_return_value(regs);
	u64 t0 = vstrace_now();

	if (ret == -EAGAIN || (ret >= 0 && (unsigned long)ret < c->key))
		vstrace_credit_stall_start(vsock_sk((struct sock *)c->obj), t0);
	vstrace_inflight_take((unsigned long)current, VSTRACE_IF_SENDING, t0, &e);
	vstrace_account(NULL, t0, false);
	return 0;
}

/*
 * stream_enqueue(vsk, msg, len): the sender found space and builds packets,
 * so a stall on its socket is over (virtio_transport_get_credit() would
 * say so more directly, but its one caller inlines it), and its first
 * packet's copy (tx) starts.
 */
int vstrace_stream_enqueue_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct vsock_sock *vsk = (struct vsock_sock *)vstrace_arg(regs, 1);
	struct vstrace_inflight e;
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	if (vsk && vstrace_inflight_take((unsigned long)sk_vsock(vsk),
					 VSTRACE_IF_CREDIT, t0, &e) && e.ts)
		vstrace_count(VSTRACE_CTR_CREDIT_STALL_NS, t0 - e.ts);
	vstrace_inflight_put((unsigned long)current, VSTRACE_IF_SENDING, 0, t0,
			     0);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}
