// SPDX-License-Identifier: GPL-2.0
/*
 * Stages of the virtio guest driver (net/vmw_vsock/virtio_transport.c),
 * the transport of both Nitro sides and of the testbed's inner guest:
 *
 *   sched (tx)    virtio_transport_send_pkt -> the packet is added to the
 *                 TX virtqueue (virtqueue_add_sgs(vq, ..., data = pkt)),
 *                 by the send worker or, on 6.12, directly
 *   notify (tx)   the virtqueue_kick() call on a vsock TX virtqueue (the
 *                 exit to the device)
 *   sched (rx)    the RX virtqueue callback (virtio_vsock_rx_done, in the
 *                 interrupt) -> the RX worker starts, and the worker start
 *                 -> each packet it hands to recv_pkt
 *
 * virtqueue_add_sgs() and virtqueue_kick() serve every virtio device; a
 * packet found in the in-flight table marks its virtqueue as a vsock one,
 * and only those virtqueues' kicks are timed.
 */
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

/* virtqueue_add_sgs(vq, sgs, out, in, data, gfp): sched (tx) ends. */
int vstrace_vq_add_pre(struct kprobe *kp, struct pt_regs *regs)
{
	unsigned long vq = vstrace_arg(regs, 1);
	unsigned long pkt = vstrace_arg5(regs);
	struct vstrace_inflight e;
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	if (vstrace_inflight_take(pkt, VSTRACE_IF_QUEUED_VIRTIO, t0, &e)) {
		vstrace_hist_record(VSTRACE_STAGE_SCHED, VSTRACE_DIR_TX,
				    VSTRACE_TRANSPORT_VIRTIO, t0 - e.ts);
		if (!vstrace_vsock_vq(vq))
			vstrace_vsock_vq_add(vq);
	}
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
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
		skip = 0;
	}
	vstrace_account(vstrace_probe_of_ri(ri), t0, true);
	return skip;
}

int vstrace_vq_kick_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	u64 t0 = vstrace_now();

	vstrace_hist_record(VSTRACE_STAGE_NOTIFY, VSTRACE_DIR_TX,
			    VSTRACE_TRANSPORT_VIRTIO, t0 - c->t0);
	vstrace_account(NULL, t0, false);
	return 0;
}

/* The device used RX buffers: the interrupt's callback queues the worker. */
int vstrace_virtio_rx_done_pre(struct kprobe *kp, struct pt_regs *regs)
{
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	vstrace_inflight_mark((unsigned long)&vstrace_virtio_rx_key,
			      VSTRACE_IF_RX_DONE, VSTRACE_TRANSPORT_VIRTIO, t0);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}

/* The RX worker runs: sched (rx) from the callback, and per packet. */
int vstrace_virtio_rx_work_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct vstrace_inflight e;
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	if (vstrace_inflight_consume((unsigned long)&vstrace_virtio_rx_key,
				     VSTRACE_IF_RX_DONE, t0, &e) && e.ts)
		vstrace_hist_record(VSTRACE_STAGE_SCHED, VSTRACE_DIR_RX,
				    VSTRACE_TRANSPORT_VIRTIO, t0 - e.ts);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}
