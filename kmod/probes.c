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
 * Probes are registered at load, disarmed: they are armed at session
 * start and disarmed at stop, so a loaded module with no session costs
 * nothing on the traced paths.  A point that is missing (its module not
 * loaded, or inlined by the compiler) is reported then and retried at every
 * session start and whenever a module comes up; a probe whose module went
 * away (the kernel marks it gone) is registered again the same way.  A
 * point with a fallback neighbour (Debian inlines some statics) uses it
 * when the point itself is missing, and says so.  All registration and
 * arming happens under vstrace_session_lock.
 *
 * Placement: on the function's entry.  Where the kernel has
 * KPROBES_ON_FTRACE (6.x) that is the ftrace call site, and the probe runs
 * from ftrace, several times cheaper than a trap; where it has not (the
 * enclave kernels) it is a plain kprobe, which OPTPROBES turns into a jump
 * once armed.  vstrace_probe_info() says which each point got.
 */
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kprobes.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/rculist.h>
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
		.addr_out	= &vstrace_send_pkt_addr[VSTRACE_TRANSPORT_LOOPBACK],
	},
	{
		.symbol		= "virtio_transport_send_pkt",
		.transport	= VSTRACE_TRANSPORT_VIRTIO,
		.handler	= vstrace_send_pkt_pre,
		.addr_out	= &vstrace_send_pkt_addr[VSTRACE_TRANSPORT_VIRTIO],
	},
	{
		.symbol		= "vhost_transport_send_pkt",
		.transport	= VSTRACE_TRANSPORT_VHOST,
		.handler	= vstrace_send_pkt_pre,
		.addr_out	= &vstrace_send_pkt_addr[VSTRACE_TRANSPORT_VHOST],
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
	/* sched (wakeup) of poll, select and epoll readers. */
	VSTRACE_KPROBE("vsock_poll", vstrace_poll_pre),
	/* A credit update sent from a dequeue ends copy (rx). */
	VSTRACE_KPROBE("virtio_transport_send_pkt_info",
		       vstrace_send_pkt_info_pre),
	/* A socket's pending intervals end with it. */
	VSTRACE_KPROBE("vsock_sk_destruct", vstrace_sk_destruct_pre),
	/*
	 * Credit stalls: the sender blocks for space, or a non-blocking one
	 * gets EAGAIN or a short write; it enqueues again.
	 */
	VSTRACE_KPROBE("virtio_transport_notify_send_pre_block",
		       vstrace_send_pre_block_pre),
	VSTRACE_KRETPROBE(VSTRACE_SYM_SENDMSG, vstrace_sendmsg_entry,
			  vstrace_sendmsg_ret),
	VSTRACE_KPROBE("virtio_transport_stream_enqueue",
		       vstrace_stream_enqueue_pre),
	/* vhost: a packet reaches the guest's ring: sched (tx) end. */
	VSTRACE_KPROBE("virtio_transport_deliver_tap_pkt",
		       vstrace_deliver_tap_pre),
	/* virtio guest driver. */
	VSTRACE_KRETPROBE("virtqueue_add_sgs", vstrace_vq_add_entry,
			  vstrace_vq_add_ret),
	VSTRACE_KRETPROBE("virtqueue_kick", vstrace_vq_kick_entry,
			  vstrace_vq_kick_ret),
	VSTRACE_KPROBE("vring_interrupt", vstrace_vring_interrupt_pre),
	VSTRACE_KPROBE("virtio_vsock_rx_done", vstrace_virtio_rx_done_pre),
	VSTRACE_KPROBE("virtio_transport_rx_work", vstrace_virtio_rx_work_pre),
	/* vhost. */
	VSTRACE_KRETPROBE("vhost_signal", vstrace_vhost_signal_entry,
			  vstrace_vhost_signal_ret),
	{
		.symbol		= "vhost_vsock_handle_tx_kick",
		.handler	= vstrace_vhost_tx_kick_pre,
		.addr_out	= &vstrace_vhost_tx_kick_addr,
	},
	{
		.symbol		= "vhost_vq_work_queue",
		.fallback	= "vhost_work_queue",
		.fallback_why	= "vhost_work_queue: the kernel queues vhost work per device, not per virtqueue",
		.handler	= vstrace_vhost_work_queue_pre,
	},
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

/* The kprobe that carries @p: its own, or its kretprobe's. */
static struct kprobe *vstrace_kprobe_of(struct vstrace_probe *p)
{
	return p->ret_handler ? &p->rp.kp : &p->kp;
}

/* Registered disarmed; vstrace_probes_arm() arms it for a session. */
static int __vstrace_attach_symbol(struct vstrace_probe *p, const char *sym)
{
	/* Switched off, but a missing function is still reported as missing. */
	if (p->ret_handler && !ret_probes)
		return vstrace_symbol_exists(sym) ? -EOPNOTSUPP : -ENOENT;
	if (p->ret_handler) {
		memset(&p->rp, 0, sizeof(p->rp));
		p->rp.kp.symbol_name = sym;
		p->rp.kp.flags = KPROBE_FLAG_DISABLED;
		p->rp.entry_handler = vstrace_kret_entry;
		p->rp.handler = vstrace_kret_ret;
		p->rp.data_size = p->data_size;
		p->rp.maxactive = VSTRACE_MAXACTIVE;
		return register_kretprobe(&p->rp);
	}
	memset(&p->kp, 0, sizeof(p->kp));
	p->kp.symbol_name = sym;
	p->kp.flags = KPROBE_FLAG_DISABLED;
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
	if (p->addr_out)
		WRITE_ONCE(*p->addr_out, err ? 0 :
			   (unsigned long)vstrace_kprobe_of(p)->addr);
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
	p->armed = false;
	if (p->addr_out)
		WRITE_ONCE(*p->addr_out, 0);
}

/*
 * Try every probe that is not attached, and again every probe whose
 * module was unloaded since (the kernel marked it gone); armed if a
 * session runs.  Returns how many are missing.  Caller holds
 * vstrace_session_lock.
 */
int vstrace_probes_retry(void)
{
	int i, missing = 0;

	for (i = 0; i < ARRAY_SIZE(vstrace_probes); i++) {
		struct vstrace_probe *p = &vstrace_probes[i];

		if (p->attached && kprobe_gone(vstrace_kprobe_of(p)))
			__vstrace_probe_detach(p);
		if (!p->attached && __vstrace_probe_attach(p))
			missing++;
	}
	vstrace_probes_arm(vstrace_session.active);
	return missing;
}

/*
 * Arm (@on) or disarm every attached probe.  Disarming leaves return
 * probes already armed to return through their handlers, which keeps
 * vstrace_ret_pending balanced.  Caller holds vstrace_session_lock.
 */
void vstrace_probes_arm(bool on)
{
	int i, err;

	for (i = 0; i < ARRAY_SIZE(vstrace_probes); i++) {
		struct vstrace_probe *p = &vstrace_probes[i];
		struct kprobe *kp = vstrace_kprobe_of(p);

		if (!p->attached || p->armed == on || kprobe_gone(kp))
			continue;
		err = on ? enable_kprobe(kp) : disable_kprobe(kp);
		if (err)
			pr_warn("cannot %s probe on %s: error %d\n",
				on ? "arm" : "disarm", p->attached_symbol, err);
		else
			p->armed = on;
	}
}

/*
 * A module coming up may carry points (vsock_loopback, vhost_vsock, the
 * virtio transport); one going away takes its probes with it, and the
 * kernel marks them gone.  Both are caught up with once the module is live.
 */
static int vstrace_module_event(struct notifier_block *nb,
				unsigned long state, void *data)
{
	if (state != MODULE_STATE_LIVE)
		return NOTIFY_DONE;
	mutex_lock(&vstrace_session_lock);
	vstrace_probes_retry();
	mutex_unlock(&vstrace_session_lock);
	return NOTIFY_DONE;
}

static struct notifier_block vstrace_module_nb = {
	.notifier_call	= vstrace_module_event,
};

int vstrace_probes_init(void)
{
	int i, err;

	vstrace_ret_pending = alloc_percpu(long);
	if (!vstrace_ret_pending)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(vstrace_probes); i++) {
		struct vstrace_probe *p = &vstrace_probes[i];

		p->hits = alloc_percpu(u64);
		err = -ENOMEM;
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
	err = register_module_notifier(&vstrace_module_nb);
	if (err)
		goto err_detach;
	return 0;

err_detach:
	mutex_lock(&vstrace_session_lock);
	for (i = 0; i < ARRAY_SIZE(vstrace_probes); i++)
		__vstrace_probe_detach(&vstrace_probes[i]);
	mutex_unlock(&vstrace_session_lock);
	i = ARRAY_SIZE(vstrace_probes);
err_free_hits:
	while (i--)
		free_percpu(vstrace_probes[i].hits);
	free_percpu(vstrace_ret_pending);
	return err;
}

void vstrace_probes_exit(void)
{
	long pending;
	int i;

	unregister_module_notifier(&vstrace_module_nb);
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

/*
 * How an attached, armed kprobe runs, and for a trap why it is not a jump.
 * OPTPROBES wraps an optimizable probe in an aggregator that carries the
 * OPTIMIZED flag; the probe is then the only entry on the aggregator's
 * list, so the list's other node is the aggregator.
 */
static enum vstrace_probe_kind vstrace_kprobe_kind(struct kprobe *kp,
						   const char **why)
{
	struct kprobe *ap = NULL;
	struct list_head *next;

	*why = NULL;
	if (kprobe_gone(kp))
		return VSTRACE_PROBE_KIND_NONE;
	if (kprobe_disabled(kp))
		return VSTRACE_PROBE_KIND_DISARMED;
	if (kprobe_ftrace(kp))
		return VSTRACE_PROBE_KIND_FTRACE;
	if (!IS_ENABLED(CONFIG_OPTPROBES)) {
		*why = "the kernel has no OPTPROBES";
		return VSTRACE_PROBE_KIND_INT3;
	}
	rcu_read_lock();
	next = READ_ONCE(kp->list.next);
	if (next != &kp->list && next == READ_ONCE(kp->list.prev))
		ap = list_entry(next, struct kprobe, list);
	if (ap && kprobe_optimized(ap)) {
		rcu_read_unlock();
		return VSTRACE_PROBE_KIND_OPTIMIZED;
	}
	rcu_read_unlock();
	if (next == &kp->list)
		*why = "the kernel cannot put a jump on this instruction";
	else if (!ap)
		*why = "another probe shares the address";
	else
		*why = "optimization pending or switched off (debug.kprobes-optimization)";
	return VSTRACE_PROBE_KIND_INT3;
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
	info->is_return = p->ret_handler != NULL;
	info->error = p->error;
	info->missed = 0;
	info->kind = VSTRACE_PROBE_KIND_NONE;
	info->kind_why = NULL;
	if (p->attached) {
		struct kprobe *kp = vstrace_kprobe_of(p);

		info->kind = vstrace_kprobe_kind(kp, &info->kind_why);
		info->missed = kp->nmissed;
		if (p->ret_handler)
			info->missed += p->rp.nmissed;
	}
	info->hits = 0;
	for_each_possible_cpu(cpu)
		info->hits += *per_cpu_ptr(p->hits, cpu);
}
