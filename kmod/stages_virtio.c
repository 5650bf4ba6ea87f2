// SPDX-License-Identifier: GPL-2.0
/*
 * Stages of the virtio guest driver (net/vmw_vsock/virtio_transport.c),
 * the transport of both Nitro sides and of the testbed's inner guest:
 *
 *   sched (tx)    virtio_transport_send_pkt -> the packet is on the TX
 *                 virtqueue: virtqueue_add_sgs(vq, ..., data = pkt)
 *                 returned 0 in the send worker.  A full ring makes the
 *                 add fail and the worker requeue the packet: the wait
 *                 goes on until an add succeeds.
 *   proto (tx)    the same interval for a packet the sender put on the
 *                 ring itself, in its own send_pkt call (the 6.12 TX fast
 *                 path): no scheduling happened; counted as tx_fast_path.
 *                 Senders that are workqueue workers are not told apart
 *                 from the send worker and count as sched (tx)
 *   notify (tx)   the virtqueue_kick() call on a vsock TX virtqueue (the
 *                 exit to the device)
 *   notify (rx)   the device's interrupt reaches the virtqueue layer
 *                 (vring_interrupt) -> the vsock RX callback runs
 *                 (virtio_vsock_rx_done), on the same CPU
 *   sched (rx)    the RX virtqueue callback (virtio_vsock_rx_done, in the
 *                 interrupt) -> the RX worker starts
 *
 * virtqueue_add_sgs(), virtqueue_kick() and vring_interrupt() serve every
 * virtio device; a packet found in the in-flight table marks its
 * virtqueue as a vsock one, and only those virtqueues' kicks are timed.
 */
#include <linux/percpu.h>
#include <linux/sched.h>
#include "vstrace_internal.h"

#define VSTRACE_VSOCK_VQS	4

/* vsock TX virtqueues seen so far; slots claimed with cmpxchg, never freed. */
static unsigned long vstrace_vsock_vqs[VSTRACE_VSOCK_VQS];

/* One key for the RX path: a guest has one virtio-vsock device. */
static const char vstrace_virtio_rx_key;

static bool vstrace_vsock_vq(unsigned long vq)
{
	int i;

	for (i = 0; i < VSTRACE_VSOCK_VQS; i++)
		if (READ_ONCE(vstrace_vsock_vqs[i]) == vq)
			return true;
	return false;
}

static void vstrace_vsock_vq_add(unsigned long vq)
{
	int i;

	for (i = 0; i < VSTRACE_VSOCK_VQS; i++) {
		unsigned long old = cmpxchg(&vstrace_vsock_vqs[i], 0, vq);

		if (!old || old == vq)
			return;
	}
}

/*
 * virtqueue_add_sgs(vq, sgs, out, in, data, gfp) of a packet handed to
 * the virtio transport: its return says whether it is on the ring.
 */
int vstrace_vq_add_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	unsigned long pkt = vstrace_arg5(regs);
	struct vstrace_inflight e;
	int skip = 1;
	u64 t0;

	if (!vstrace_active())
		return 1;
	t0 = vstrace_now();
	if (vstrace_inflight_get(pkt, VSTRACE_IF_QUEUED_VIRTIO, t0, &e)) {
		c->key = pkt;
		c->obj = vstrace_arg(regs, 1);	/* the virtqueue */
		/*
		 * Added by the task that handed it over: the fast path.  A
		 * workqueue worker is left out: send_pkt_work runs in one, and
		 * the kworker that handed a packet over (the RX worker sending
		 * a RESPONSE, say) may be the one that runs it next, also on
		 * 6.1, which has no fast path.
		 */
		c->arg = e.extra == (unsigned long)current &&
			 !(current->flags & PF_WQ_WORKER);
		skip = 0;
	}
	vstrace_account(vstrace_probe_of_ri(ri), t0, true);
	return skip;
}

int vstrace_vq_add_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	struct vstrace_inflight e;
	u64 t0 = vstrace_now();

	if (!regs_return_value(regs) &&
	    vstrace_inflight_take(c->key, VSTRACE_IF_QUEUED_VIRTIO, t0, &e)) {
		vstrace_hist_record(vstrace_tc_class(e.val),
				    c->arg ? VSTRACE_STAGE_PROTO :
					     VSTRACE_STAGE_SCHED,
				    VSTRACE_DIR_TX, VSTRACE_TRANSPORT_VIRTIO,
				    t0 - e.ts);
		if (c->arg)
			vstrace_count(VSTRACE_CTR_TX_FAST_PATH, 1);
		if (!vstrace_vsock_vq(c->obj))
			vstrace_vsock_vq_add(c->obj);
	}
	vstrace_account(NULL, t0, false);
	return 0;
}

int vstrace_vq_kick_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	int skip = 1;
	u64 t0;

	if (!vstrace_active())
		return 1;
	t0 = vstrace_now();
	if (vstrace_vsock_vq(vstrace_arg(regs, 1))) {
		c->t0 = t0;
		/* A kick for a credit update sent by a reader is control. */
		c->arg = vstrace_in_credit_send(t0) ? VSTRACE_CLASS_CONTROL :
						      VSTRACE_CLASS_DATA;
		skip = 0;
	}
	vstrace_account(vstrace_probe_of_ri(ri), t0, true);
	return skip;
}

int vstrace_vq_kick_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	u64 t0 = vstrace_now();

	vstrace_hist_record(c->arg, VSTRACE_STAGE_NOTIFY, VSTRACE_DIR_TX,
			    VSTRACE_TRANSPORT_VIRTIO, t0 - c->t0);
	vstrace_account(NULL, t0, false);
	return 0;
}

/*
 * The last virtqueue interrupt per CPU (any virtio device): the vsock RX
 * callback, called from it on the same CPU, ends notify (rx).
 */
struct vstrace_vring_irq {
	unsigned long vq;
	u64 ts;
};
static DEFINE_PER_CPU(struct vstrace_vring_irq, vstrace_vring_irq);

/* vring_interrupt(irq, vq): a device signalled one of its virtqueues. */
int vstrace_vring_interrupt_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct vstrace_vring_irq *v;
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	v = this_cpu_ptr(&vstrace_vring_irq);
	v->vq = vstrace_arg(regs, 2);
	v->ts = t0;
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}

/*
 * virtio_vsock_rx_done(vq): the device used RX buffers; notify (rx) ends
 * and the callback queues the worker (sched (rx) starts).
 */
int vstrace_virtio_rx_done_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct vstrace_vring_irq *v;
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	v = this_cpu_ptr(&vstrace_vring_irq);
	if (v->ts && v->vq == vstrace_arg(regs, 1))
		vstrace_hist_record(VSTRACE_CLASS_DATA, VSTRACE_STAGE_NOTIFY,
				    VSTRACE_DIR_RX, VSTRACE_TRANSPORT_VIRTIO,
				    t0 - v->ts);
	v->ts = 0;
	vstrace_inflight_mark((unsigned long)&vstrace_virtio_rx_key,
			      VSTRACE_IF_RX_DONE, VSTRACE_TRANSPORT_VIRTIO, t0);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}

/* The RX worker runs: sched (rx) from the callback. */
int vstrace_virtio_rx_work_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct vstrace_inflight e;
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	if (vstrace_inflight_consume((unsigned long)&vstrace_virtio_rx_key,
				     VSTRACE_IF_RX_DONE, t0, &e) && e.ts)
		vstrace_hist_record(VSTRACE_CLASS_DATA, VSTRACE_STAGE_SCHED,
				    VSTRACE_DIR_RX, VSTRACE_TRANSPORT_VIRTIO,
				    t0 - e.ts);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}
