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
 *   sched (rx)    the TX-kick handler starts -> each packet it hands to
 *                 recv_pkt; proto (rx) is recv_pkt itself (stages_core.c)
 *
 * The guest's kick itself arrives through an eventfd (vhost_poll_wakeup,
 * shared with every vhost device, and no vsock context reachable from it
 * without vhost's private headers), so notify (rx) is not measured here.
 */
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

	vstrace_hist_record(VSTRACE_STAGE_NOTIFY, VSTRACE_DIR_TX,
			    VSTRACE_TRANSPORT_VHOST, t0 - c->t0);
	vstrace_account(NULL, t0, false);
	return 0;
}

/* The worker handles the guest's TX kick: its packets' sched (rx) starts. */
int vstrace_vhost_tx_kick_pre(struct kprobe *kp, struct pt_regs *regs)
{
	u64 t0;

	if (!vstrace_active())
		return 0;
	t0 = vstrace_now();
	vstrace_inflight_put((unsigned long)current, VSTRACE_IF_WORKER,
			     VSTRACE_TRANSPORT_VHOST, t0, 0);
	vstrace_account(vstrace_probe_of_kp(kp), t0, true);
	return 0;
}
