// SPDX-License-Identifier: GPL-2.0
/*
 * Stages of vhost_vsock (drivers/vhost/vsock.c), the host side of the
 * testbed's nested link (on Nitro the hypervisor stands there, untraced):
 *
 *   sched (tx)    vhost_transport_send_pkt -> the vhost worker has put the
 *                 packet into the guest's RX ring (it then passes it to
 *                 virtio_transport_deliver_tap_pkt(), which vhost_vsock_alloc_skb
 *                 and the ring copy are inlined around)
 *   notify (tx)   vhost_signal() from vhost_transport_do_send_pkt (the
 *                 interrupt injected into the guest)
 *   sched (rx)    the guest's TX kick is queued for the vhost worker
 *                 (vhost_vq_work_queue on 6.12, vhost_work_queue before,
 *                 with the work's function the TX-kick handler) -> the
 *                 worker runs vhost_vsock_handle_tx_kick()
 *   proto (rx)    recv_pkt itself (stages_core.c)
 *
 * The guest's kick itself arrives through an eventfd (vhost_poll_wakeup,
 * shared with every vhost device, and no vsock context reachable from it
 * without vhost's private headers), so notify (rx) is not measured here;
 * nor is the handler's read of each packet from the guest's ring, between
 * the handler's start and recv_pkt.
 */
#include <linux/llist.h>
#include <linux/sched.h>
#include "vstrace_internal.h"

/* deliver_tap_pkt(pkt): vhost has copied the packet to the guest. */
int vstrace_deliver_tap_pre(struct kprobe *kp, struct pt_regs *regs)
{
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	vstrace_sched_tx_end((void *)vstrace_arg(regs, 1),
			     VSTRACE_IF_QUEUED_VHOST, t0);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}

int vstrace_vhost_signal_entry(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	int skip = 1;
	u64 t0;

	if (!vstrace_active())
		return 1;
	t0 = vstrace_now();
	if (vstrace_called_from(vstrace_entry_ret_addr(regs),
				"vhost_transport_do_send_pkt")) {
		c->t0 = t0;
		skip = 0;
	}
	vstrace_account(vstrace_probe_of_ri(ri), t0, true);
	return skip;
}

int vstrace_vhost_signal_ret(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	struct vstrace_call *c = (struct vstrace_call *)ri->data;
	u64 t0 = vstrace_now();

	vstrace_hist_record(VSTRACE_CLASS_DATA, VSTRACE_STAGE_NOTIFY,
			    VSTRACE_DIR_TX, VSTRACE_TRANSPORT_VHOST, t0 - c->t0);
	vstrace_account(NULL, t0, false);
	return 0;
}

unsigned long vstrace_vhost_tx_kick_addr;

/*
 * struct vhost_work (drivers/vhost/vhost.h, not in include/) starts with an
 * llist_node followed by the work function, in 4.14, 6.1 and 6.12 alike.
 */
#define VSTRACE_VHOST_WORK_FN_OFFSET	sizeof(struct llist_node)

/*
 * vhost_vq_work_queue(vq, work) / vhost_work_queue(dev, work): a kick of
 * the guest's TX queue is queued for the worker: sched (rx) starts.  The
 * probe on the handler sits at most past its ENDBR and ftrace site.
 */
int vstrace_vhost_work_queue_pre(struct kprobe *kp, struct pt_regs *regs)
{
	unsigned long work = vstrace_arg(regs, 2);
	unsigned long fn = 0, kick = READ_ONCE(vstrace_vhost_tx_kick_addr);
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	if (kick && work &&
	    !probe_kernel_read_compat(&fn, (void *)(work +
				      VSTRACE_VHOST_WORK_FN_OFFSET), sizeof(fn)) &&
	    fn && fn <= kick && kick - fn < 32)
		vstrace_inflight_mark(work, VSTRACE_IF_KICK_QUEUED,
				      VSTRACE_TRANSPORT_VHOST, t0);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}

/* vhost_vsock_handle_tx_kick(work): the worker runs: sched (rx) ends. */
int vstrace_vhost_tx_kick_pre(struct kprobe *kp, struct pt_regs *regs)
{
	unsigned long work = vstrace_arg(regs, 1);
	struct vstrace_inflight e;
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	if (vstrace_inflight_take(work, VSTRACE_IF_KICK_QUEUED, t0, &e) && e.ts)
		vstrace_hist_record(VSTRACE_CLASS_DATA, VSTRACE_STAGE_SCHED,
				    VSTRACE_DIR_RX, VSTRACE_TRANSPORT_VHOST,
				    t0 - e.ts);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}
