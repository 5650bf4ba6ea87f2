// SPDX-License-Identifier: GPL-2.0
/*
 * vstrace.ko: where the time of a VSOCK packet goes.
 *
 * Implementation notes.
 *
 * Objects: one global session (struct vstrace_session), per-CPU counters
 * (struct vstrace_cpu_stats, stats.c), per-CPU latency histograms per
 * (stage, dir, transport) (hist.c), the in-flight table of intervals that
 * span two probes (inflight.c), and a static table of kprobes and
 * kretprobes (probes.c) whose handlers are in stages_{core,virtio,vhost}.c.
 * Nothing is allocated per packet: the histograms and the in-flight table
 * are allocated at load and freed at unload.
 *
 * Locking: vstrace_session_lock (a mutex) serialises the netlink commands
 * and probe (un)registration.  Probe handlers never take it: they read the
 * session's active flag and filters with READ_ONCE and update only their
 * own CPU's counters and histograms.  The only lock handlers take is one
 * in-flight bucket lock (raw spinlock, IRQs off), with nothing nested
 * inside it; the reset takes the same bucket locks one at a time, under
 * vstrace_session_lock:
 *
 *	mutex_lock(&vstrace_session_lock);
 *	raw_spin_lock_irqsave(&bucket->lock, flags);
 *
 * Lifetime: the histograms and the in-flight table exist before the first
 * probe and outlive the last one; probes are registered before the netlink
 * family, so a command never sees a half-built table; exit unregisters the
 * family first, then the probes: return probes stop being armed and the
 * armed ones are waited for (probes.c, vstrace_probes_drain()) before
 * anything is unregistered, and unregister_k(ret)probe waits for running
 * handlers; then frees.  Probes are registered disarmed and armed only
 * while a session runs (probes.c, vstrace_probes_arm()).  The module never
 * depends on ftrace: probes sit on the function entry, which the kernel
 * runs from ftrace where it has KPROBES_ON_FTRACE and as a plain (jump-
 * optimizable) kprobe where it has no ftrace at all (4.14 enclaves).
 */
#include <linux/module.h>
#include <linux/vm_sockets.h>
#include "vstrace_internal.h"

DEFINE_MUTEX(vstrace_session_lock);
struct vstrace_session vstrace_session = {
	.filter_cid		= VMADDR_CID_ANY,
	.filter_port		= VMADDR_PORT_ANY,
	.filter_transport	= VSTRACE_NR_TRANSPORTS,
};

static int __init vstrace_init(void)
{
	struct vstrace_probe_info info;
	unsigned int i, attached = 0;
	int err;

	err = vstrace_hist_init();
	if (err)
		return err;
	err = vstrace_inflight_init();
	if (err)
		goto err_hist;
	err = vstrace_probes_init();
	if (err)
		goto err_inflight;

	/* ORDER: the family goes last, once everything it reads exists. */
	err = vstrace_netlink_init();
	if (err) {
		pr_err("cannot register generic netlink family: %d\n", err);
		goto err_probes;
	}

	mutex_lock(&vstrace_session_lock);
	for (i = 0; i < vstrace_probes_count(); i++) {
		vstrace_probe_info(i, &info);
		attached += info.attached;
	}
	mutex_unlock(&vstrace_session_lock);
	pr_info("loaded: %u of %u probe points attached\n", attached,
		vstrace_probes_count());
	return 0;

err_probes:
	vstrace_probes_exit();
err_inflight:
	vstrace_inflight_exit();
err_hist:
	vstrace_hist_exit();
	return err;
}

static void __exit vstrace_exit(void)
{
	vstrace_netlink_exit();
	vstrace_probes_exit();
	vstrace_inflight_exit();
	vstrace_hist_exit();
}

module_init(vstrace_init);
module_exit(vstrace_exit);

MODULE_AUTHOR("vstrace developers");
MODULE_DESCRIPTION("VSOCK latency tracer: copy, notify and scheduling stages");
MODULE_LICENSE("GPL");
MODULE_VERSION(VSTRACE_VERSION);
