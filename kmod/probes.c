// SPDX-License-Identifier: GPL-2.0
/*
 * The probe table: one kprobe or kretprobe per traced function, with the
 * transport it belongs to and the handlers (stages_*.c) that record it.
 *
 * Transports are told apart by which function fires (4.14 has a single
 * global transport and no vsk->transport).  virtio_transport_recv_pkt() is
 * common to all transports, so its caller decides: the loopback worker, the
 * virtio guest driver's RX worker or vhost's TX-kick handler.  The caller is
 * resolved from the return address once per call site and cached.
 *
 * Probes are registered at load; a point that is missing (its module not
 * loaded, or inlined by the compiler) is reported then and retried at every
 * session start.  A point with a fallback neighbour (Debian inlines some
 * statics) uses it when the point itself is missing, and says so.  All
 * registration happens under vstrace_session_lock.
 *
 * Plain kprobes sit just after the entry's ftrace call site (see
 * vstrace_skip_fentry()), so they never run through ftrace.  A kretprobe
 * must sit on the function's first instruction, which on kernels with
 * KPROBES_ON_FTRACE is the ftrace call site: there it is ftrace-based.
 */
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kprobes.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/string.h>
#include "vstrace_internal.h"

/*
 * Return probes in flight per point.  4.14's default on PREEMPT_NONE is
 * only the number of CPUs; the dequeue and recv_pkt points sleep with an
 * instance held, one per waiting reader.
 */
#define VSTRACE_MAXACTIVE	(64 + 8 * num_possible_cpus())

#define VSTRACE_KPROBE(sym, fn)					\
	{ .symbol = (sym), .handler = (fn) }
#define VSTRACE_KRETPROBE(sym, entry, ret)			\
	{ .symbol = (sym), .entry_handler = (entry),		\
	  .ret_handler = (ret), .data_size = sizeof(struct vstrace_call) }

static struct vstrace_probe vstrace_probes[] = {
	/* Hand-off to a transport: packet counters, copy (tx) end, sched (tx) start. */
	{
		.symbol		= "vsock_loopback_send_pkt",
		.transport	= VSTRACE_TRANSPORT_LOOPBACK,
		.handler	= vstrace_send_pkt_pre,
	},
	{
		.symbol		= "virtio_transport_send_pkt",
		.transport	= VSTRACE_TRANSPORT_VIRTIO,
		.handler	= vstrace_send_pkt_pre,
	},
	{
		.symbol		= "vhost_transport_send_pkt",
		.transport	= VSTRACE_TRANSPORT_VHOST,
		.handler	= vstrace_send_pkt_pre,
	},
	/* Every transport's receive path: packet counters, proto (rx). */
	VSTRACE_KRETPROBE("virtio_transport_recv_pkt", vstrace_recv_pkt_entry,
			  vstrace_recv_pkt_ret),
	/* Building a packet, with the user data: copy (tx). */
	VSTRACE_KRETPROBE(VSTRACE_SYM_ALLOC_PKT, vstrace_alloc_pkt_entry,
			  vstrace_alloc_pkt_ret),
	/* sched (wakeup): data ready, reader asks, reader dequeues. */
	{
		.symbol		= VSTRACE_SYM_DATA_READY,
		.fallback	= VSTRACE_SYM_DATA_READY_FALLBACK,
		.fallback_why	= VSTRACE_SYM_DATA_READY_FALLBACK
				  ": no vsock_data_ready() in this kernel, the socket's default sk_data_ready is timed instead",
		.handler	= vstrace_data_ready_pre,
	},
	VSTRACE_KPROBE(VSTRACE_SYM_RECVMSG, vstrace_recvmsg_pre),
	{
		.symbol		= "virtio_transport_stream_do_dequeue",
		.fallback	= "virtio_transport_stream_dequeue",
		.fallback_why	= "virtio_transport_stream_dequeue: stream_do_dequeue is inlined, so copy (rx) is timed by its exported caller and includes any credit update sent",
		.entry_handler	= vstrace_dequeue_entry,
		.ret_handler	= vstrace_dequeue_ret,
		.data_size	= sizeof(struct vstrace_call),
	},
	/* Credit stalls: the sender blocks for space, then enqueues again. */
	VSTRACE_KPROBE("virtio_transport_notify_send_pre_block",
		       vstrace_send_pre_block_pre),
	VSTRACE_KPROBE("virtio_transport_stream_enqueue",
		       vstrace_stream_enqueue_pre),
	/* vhost: a packet reaches the guest's ring: sched (tx) end. */
	VSTRACE_KPROBE("virtio_transport_deliver_tap_pkt",
		       vstrace_deliver_tap_pre),
	/* virtio guest driver. */
	VSTRACE_KPROBE("virtqueue_add_sgs", vstrace_vq_add_pre),
	VSTRACE_KRETPROBE("virtqueue_kick", vstrace_vq_kick_entry,
			  vstrace_vq_kick_ret),
	VSTRACE_KPROBE("virtio_vsock_rx_done", vstrace_virtio_rx_done_pre),
	VSTRACE_KPROBE("virtio_transport_rx_work", vstrace_virtio_rx_work_pre),
	/* vhost. */
	VSTRACE_KRETPROBE("vhost_signal", vstrace_vhost_signal_entry,
			  vstrace_vhost_signal_ret),
	VSTRACE_KPROBE("vhost_vsock_handle_tx_kick", vstrace_vhost_tx_kick_pre),
};

struct vstrace_probe *vstrace_probe_of_kp(struct kprobe *kp)
{
	return container_of(kp, struct vstrace_probe, kp);
}

/* NULL while the kretprobe is being unregistered. */
struct vstrace_probe *vstrace_probe_of_ri(struct kretprobe_instance *ri)
{
	struct kretprobe *rp = vstrace_kretprobe_of(ri);

	return rp ? container_of(rp, struct vstrace_probe, rp) : NULL;
}

/*
 * Return probes armed and not yet returned, per CPU (an instance may
 * return on another CPU than it was armed on, so only the sum means
 * anything).  Unloading waits for the sum to reach zero before it
 * unregisters, so that no task is left holding a return trampoline whose
 * kretprobe is gone: see vstrace_probes_drain().
 */
static long __percpu *vstrace_ret_pending;
static bool vstrace_draining;	/* WRITE_ONCE at exit, READ_ONCE in handlers */

static int vstrace_kret_entry(struct kretprobe_instance *ri,
			      struct pt_regs *regs)
{
	struct vstrace_probe *p = vstrace_probe_of_ri(ri);

	/* 1: do not arm the return probe. */
	if (!p || READ_ONCE(vstrace_draining) || p->entry_handler(ri, regs))
		return 1;
	this_cpu_inc(*vstrace_ret_pending);
	return 0;
}

static int vstrace_kret_ret(struct kretprobe_instance *ri,
			    struct pt_regs *regs)
{
	struct vstrace_probe *p = vstrace_probe_of_ri(ri);

	if (p)
		p->ret_handler(ri, regs);
	this_cpu_dec(*vstrace_ret_pending);
	return 0;
}

static long vstrace_ret_pending_sum(void)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(vstrace_ret_pending, cpu);
	return sum;
}

/*
 * Stop arming return probes and wait until every armed one has returned
 * (the probed functions are short; a few may sleep in an allocation or a
 * page fault).  Returns the number still pending after the deadline.
 */
static long vstrace_probes_drain(void)
{
	unsigned long deadline = jiffies + 10 * HZ;
	long pending;

	WRITE_ONCE(vstrace_draining, true);
	/* Entry handlers already past the check finish first. */
	synchronize_rcu();
	while ((pending = vstrace_ret_pending_sum()) > 0 &&
	       time_before(jiffies, deadline))
		msleep(10);
	return pending;
}

/* Callers of probed functions, and the transport each implies. */
static const struct {
	const char *caller;
	enum vstrace_transport transport;
} vstrace_callers[] = {
	{ "vsock_loopback_work",		VSTRACE_TRANSPORT_LOOPBACK },
	{ "virtio_transport_rx_work",		VSTRACE_TRANSPORT_VIRTIO },
	/* 4.14: packets to the guest's own CID loop back through here. */
	{ "virtio_transport_loopback_work",	VSTRACE_TRANSPORT_VIRTIO },
	{ "vhost_vsock_handle_tx_kick",		VSTRACE_TRANSPORT_VHOST },
	{ "vhost_transport_do_send_pkt",	VSTRACE_TRANSPORT_VHOST },
};

#define VSTRACE_CALLSITE_CACHE	16

/*
 * Return address -> index in vstrace_callers + 1 (0: none of them).  A
 * slot is claimed with cmpxchg on @ret, then @caller1 is published; a
 * reader that finds @ret but not yet @caller1 resolves the slow way.
 */
static struct {
	unsigned long ret;
	int caller1;
} vstrace_callsites[VSTRACE_CALLSITE_CACHE];

/* Index in vstrace_callers of the function containing @ret, or -1. */
static int vstrace_caller_index(unsigned long ret)
{
	char name[KSYM_SYMBOL_LEN];
	int i, c1, c = -1;

	for (i = 0; i < VSTRACE_CALLSITE_CACHE; i++) {
		unsigned long r = READ_ONCE(vstrace_callsites[i].ret);

		if (r == ret) {
			c1 = READ_ONCE(vstrace_callsites[i].caller1);
			if (c1)
				return c1 - 2;
			break;
		}
		if (!r)
			break;
	}

	/*
	 * Slow path, once per call site: "%ps" prints the name without offset,
	 * followed by " [module]" for module code.
	 */
	snprintf(name, sizeof(name), "%ps", (void *)ret);
	name[strcspn(name, " ")] = '\0';
	for (i = 0; i < ARRAY_SIZE(vstrace_callers); i++)
		if (!strcmp(name, vstrace_callers[i].caller))
			c = i;

	for (i = 0; i < VSTRACE_CALLSITE_CACHE; i++) {
		unsigned long old = cmpxchg(&vstrace_callsites[i].ret, 0, ret);

		if (!old) {
			WRITE_ONCE(vstrace_callsites[i].caller1, c + 2);
			break;
		}
		if (old == ret)
			break;
	}
	return c;
}

/* Transport whose code calls from @ret, or VSTRACE_TRANSPORT_UNKNOWN. */
int vstrace_resolve_caller(unsigned long ret)
{
	int c = vstrace_caller_index(ret);

	return c < 0 ? VSTRACE_TRANSPORT_UNKNOWN : vstrace_callers[c].transport;
}

/* True if @ret is inside function @caller (one of vstrace_callers). */
bool vstrace_called_from(unsigned long ret, const char *caller)
{
	int c = vstrace_caller_index(ret);

	return c >= 0 && !strcmp(vstrace_callers[c].caller, caller);
}

/*
 * Return probes sit on a function's first instruction, which on kernels
 * with KPROBES_ON_FTRACE is the ftrace call site.  ret_probes=0 leaves them
 * out, and with them the copy, proto (rx) and notify durations: for a
 * kernel where even ftrace-based probes must be avoided.
 */
static bool ret_probes = true;
module_param(ret_probes, bool, 0444);
MODULE_PARM_DESC(ret_probes, "attach return probes (durations of copy, proto rx, notify); default 1");

/* False only if the kernel has no probe-able function @sym. */
static bool vstrace_symbol_exists(const char *sym)
{
	struct kprobe kp = {
		.symbol_name	= sym,
		.flags		= KPROBE_FLAG_DISABLED,
	};
	int err = register_kprobe(&kp);

	if (!err)
		unregister_kprobe(&kp);
	return err != -ENOENT;
}

static int __vstrace_attach_symbol(struct vstrace_probe *p, const char *sym)
{
	kprobe_opcode_t *addr;
	int err;

	/* Switched off, but a missing function is still reported as missing. */
	if (p->ret_handler && !ret_probes)
		return vstrace_symbol_exists(sym) ? -EOPNOTSUPP : -ENOENT;
	if (p->ret_handler) {
		memset(&p->rp, 0, sizeof(p->rp));
		p->rp.kp.symbol_name = sym;
		p->rp.entry_handler = vstrace_kret_entry;
		p->rp.handler = vstrace_kret_ret;
		p->rp.data_size = p->data_size;
		p->rp.maxactive = VSTRACE_MAXACTIVE;
		return register_kretprobe(&p->rp);
	}

	/*
	 * Find the entry with a disabled probe (which arms nothing), then
	 * place the real one there or, if that is an ftrace call site, just
	 * after it.
	 */
	memset(&p->kp, 0, sizeof(p->kp));
	p->kp.symbol_name = sym;
	p->kp.flags = KPROBE_FLAG_DISABLED;
	err = register_kprobe(&p->kp);
	if (err)
		return err;
	addr = vstrace_skip_fentry(&p->kp);
	unregister_kprobe(&p->kp);
	memset(&p->kp, 0, sizeof(p->kp));
	p->kp.addr = addr;
	p->kp.pre_handler = p->handler;
	return register_kprobe(&p->kp);
}

/* The point itself, else its fallback neighbour. */
static int __vstrace_probe_attach(struct vstrace_probe *p)
{
	int err;

	p->attached_symbol = p->symbol;
	err = __vstrace_attach_symbol(p, p->symbol);
	if (err == -ENOENT && p->fallback) {
		p->attached_symbol = p->fallback;
		err = __vstrace_attach_symbol(p, p->fallback);
		if (err)
			p->attached_symbol = p->symbol;
	}
	p->error = err;
	p->attached = !err;
	return err;
}

static void __vstrace_probe_detach(struct vstrace_probe *p)
{
	if (!p->attached)
		return;
	if (p->ret_handler)
		unregister_kretprobe(&p->rp);
	else
		unregister_kprobe(&p->kp);
	p->attached = false;
}

/*
 * Try every probe that is not attached; returns how many are missing.
 * Caller holds vstrace_session_lock.
 */
int vstrace_probes_retry(void)
{
	int i, missing = 0;

	for (i = 0; i < ARRAY_SIZE(vstrace_probes); i++) {
		struct vstrace_probe *p = &vstrace_probes[i];

		if (!p->attached && __vstrace_probe_attach(p))
			missing++;
	}
	return missing;
}

int vstrace_probes_init(void)
{
	int i;

	vstrace_ret_pending = alloc_percpu(long);
	if (!vstrace_ret_pending)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(vstrace_probes); i++) {
		struct vstrace_probe *p = &vstrace_probes[i];

		p->hits = alloc_percpu(u64);
		if (!p->hits)
			goto err_free_hits;
	}

	mutex_lock(&vstrace_session_lock);
	for (i = 0; i < ARRAY_SIZE(vstrace_probes); i++) {
		struct vstrace_probe *p = &vstrace_probes[i];

		if (__vstrace_probe_attach(p))
			pr_info("cannot probe %s: error %d (%s)\n", p->symbol,
				p->error, p->error == -ENOENT ?
				"module not loaded or function inlined" :
				p->error == -EOPNOTSUPP ?
				"return probes off: ret_probes=0" :
				"register_kprobe failed");
		else if (p->attached_symbol != p->symbol)
			pr_info("%s is missing, using %s\n", p->symbol,
				p->fallback_why);
	}
	mutex_unlock(&vstrace_session_lock);
	return 0;

err_free_hits:
	while (i--)
		free_percpu(vstrace_probes[i].hits);
	free_percpu(vstrace_ret_pending);
	return -ENOMEM;
}

void vstrace_probes_exit(void)
{
	long pending;
	int i;

	pending = vstrace_probes_drain();
	if (pending)
		pr_warn("%ld return probes still pending at unload\n", pending);
	mutex_lock(&vstrace_session_lock);
	for (i = 0; i < ARRAY_SIZE(vstrace_probes); i++)
		__vstrace_probe_detach(&vstrace_probes[i]);
	mutex_unlock(&vstrace_session_lock);
	/* unregister_k(ret)probe() waits for running handlers. */
	for (i = 0; i < ARRAY_SIZE(vstrace_probes); i++)
		free_percpu(vstrace_probes[i].hits);
	free_percpu(vstrace_ret_pending);
}

unsigned int vstrace_probes_count(void)
{
	return ARRAY_SIZE(vstrace_probes);
}

/* Caller holds vstrace_session_lock. */
void vstrace_probe_info(unsigned int i, struct vstrace_probe_info *info)
{
	struct vstrace_probe *p = &vstrace_probes[i];
	int cpu;

	info->point = p->symbol;
	info->fallback = p->attached && p->attached_symbol != p->symbol ?
			 p->fallback_why : NULL;
	info->attached = p->attached;
	info->error = p->error;
	info->missed = 0;
	if (p->attached && p->ret_handler)
		info->missed = p->rp.nmissed + p->rp.kp.nmissed;
	else if (p->attached)
		info->missed = p->kp.nmissed;
	info->hits = 0;
	for_each_possible_cpu(cpu)
		info->hits += *per_cpu_ptr(p->hits, cpu);
}
