// SPDX-License-Identifier: GPL-2.0
/*
 * vstrace.ko: where the time of a VSOCK packet goes.
 *
 * Implementation notes.
 *
 * Objects: one global session (struct vstrace_session), per-CPU counters
 * (struct vstrace_cpu_stats), and a static table of kprobes (probes.c).
 * Nothing is allocated per packet.
 *
 * Locking: vstrace_session_lock (a mutex) serialises the netlink commands
 * and probe (un)registration.  Probe handlers never take it: they read the
 * session's active flag and filters with READ_ONCE and update only their
 * own CPU's counters.  There is no nested locking.
 *
 * Lifetime: probes are registered before the netlink family, so a command
 * never sees a half-built table; exit unregisters the family first, then
 * the probes (unregister_kprobe waits for running handlers), then frees.
 * The module never depends on ftrace: plain kprobes only.
 */
#include <linux/module.h>
#include <linux/vm_sockets.h>
#include "vstrace.h"

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

	err = vstrace_probes_init();
	if (err)
		return err;

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
	return err;
}

static void __exit vstrace_exit(void)
{
	vstrace_netlink_exit();
	vstrace_probes_exit();
}

module_init(vstrace_init);
module_exit(vstrace_exit);

MODULE_AUTHOR("vstrace developers");
MODULE_DESCRIPTION("VSOCK latency tracer: copy, notify and scheduling stages");
MODULE_LICENSE("GPL");
