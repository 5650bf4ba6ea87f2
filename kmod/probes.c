// SPDX-License-Identifier: GPL-2.0
/*
 * The probe table: one kprobe per traced function, with the transport it
 * belongs to and what it records.
 *
 * Transports are told apart by which function fires (4.14 has a single
 * global transport and no vsk->transport).  virtio_transport_recv_pkt() is
 * common to all transports, so its caller decides: the loopback worker, the
 * virtio guest driver's RX worker or vhost's TX-kick handler.  The caller is
 * resolved from the return address once per call site and cached.
 *
 * Probes are registered at load; a point that is missing (its module not
 * loaded, or inlined by the compiler) is reported then and retried at every
 * session start.  All registration happens under vstrace_session_lock.
 */
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/string.h>
#include "vstrace.h"

struct vstrace_probe {
	const char *symbol;
	enum vstrace_transport transport;	/* for send_pkt points */
	kprobe_pre_handler_t handler;
	struct kprobe kp;
	bool attached;		/* under vstrace_session_lock */
	int error;		/* last register_kprobe() result */
	u64 __percpu *hits;
};

/* Account the handler's own cost, so the overhead can be reported. */
static void vstrace_account(struct vstrace_probe *p, u64 t0)
{
	struct vstrace_cpu_stats *s = this_cpu_ptr(&vstrace_stats);

	this_cpu_inc(*p->hits);
	s->counters[VSTRACE_CTR_PROBE_HITS]++;
	s->counters[VSTRACE_CTR_PROBE_NS] += ktime_get_ns() - t0;
}

static int vstrace_send_pkt_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct vstrace_probe *p = container_of(kp, struct vstrace_probe, kp);
	u64 t0;

	if (!READ_ONCE(vstrace_session.active))
		return 0;
	t0 = ktime_get_ns();
	vstrace_count_pkt(p->transport, VSTRACE_DIR_TX,
			  (void *)vstrace_arg(regs, 1));
	vstrace_account(p, t0);
	return 0;
}

/* Callers of virtio_transport_recv_pkt() and the transport each implies. */
static const struct {
	const char *caller;
	enum vstrace_transport transport;
} vstrace_rx_callers[] = {
	{ "vsock_loopback_work",	VSTRACE_TRANSPORT_LOOPBACK },
	{ "virtio_transport_rx_work",	VSTRACE_TRANSPORT_VIRTIO },
	{ "vhost_vsock_handle_tx_kick",	VSTRACE_TRANSPORT_VHOST },
};

#define VSTRACE_CALLSITE_CACHE	8
#define VSTRACE_TRANSPORT_UNKNOWN	VSTRACE_NR_TRANSPORTS

/*
 * Return address -> transport.  A slot is claimed with cmpxchg on @ret, then
 * @transport1 (transport + 1) is published; a reader that finds @ret but not
 * yet @transport1 resolves the slow way.
 */
static struct {
	unsigned long ret;
	int transport1;
} vstrace_callsites[VSTRACE_CALLSITE_CACHE];

static int vstrace_resolve_caller(unsigned long ret)
{
	char name[KSYM_SYMBOL_LEN];
	int i, t1, t = VSTRACE_TRANSPORT_UNKNOWN;

	for (i = 0; i < VSTRACE_CALLSITE_CACHE; i++) {
		unsigned long r = READ_ONCE(vstrace_callsites[i].ret);

		if (r == ret) {
			t1 = READ_ONCE(vstrace_callsites[i].transport1);
			if (t1)
				return t1 - 1;
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
	for (i = 0; i < ARRAY_SIZE(vstrace_rx_callers); i++)
		if (!strcmp(name, vstrace_rx_callers[i].caller))
			t = vstrace_rx_callers[i].transport;

	for (i = 0; i < VSTRACE_CALLSITE_CACHE; i++) {
		unsigned long old = cmpxchg(&vstrace_callsites[i].ret, 0, ret);

		if (!old) {
			WRITE_ONCE(vstrace_callsites[i].transport1, t + 1);
			break;
		}
		if (old == ret)
			break;
	}
	return t;
}

static int vstrace_recv_pkt_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct vstrace_probe *p = container_of(kp, struct vstrace_probe, kp);
	u64 t0;
	int t;

	if (!READ_ONCE(vstrace_session.active))
		return 0;
	t0 = ktime_get_ns();
	t = vstrace_resolve_caller(vstrace_entry_ret_addr(regs));
	if (t != VSTRACE_TRANSPORT_UNKNOWN)
		vstrace_count_pkt(t, VSTRACE_DIR_RX,
				  (void *)vstrace_arg(regs, VSTRACE_RECV_PKT_ARG));
	vstrace_account(p, t0);
	return 0;
}

static struct vstrace_probe vstrace_probes[] = {
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
	{
		.symbol		= "virtio_transport_recv_pkt",
		.handler	= vstrace_recv_pkt_pre,
	},
};

/*
 * Find the entry with a disabled probe (which arms nothing), then place the
 * real one there or, if that is an ftrace call site, just after it.
 */
static int __vstrace_probe_attach(struct vstrace_probe *p)
{
	kprobe_opcode_t *addr;
	int err;

	memset(&p->kp, 0, sizeof(p->kp));
	p->kp.symbol_name = p->symbol;
	p->kp.flags = KPROBE_FLAG_DISABLED;
	err = register_kprobe(&p->kp);
	if (!err) {
		addr = vstrace_skip_fentry(&p->kp);
		unregister_kprobe(&p->kp);
		memset(&p->kp, 0, sizeof(p->kp));
		p->kp.addr = addr;
		p->kp.pre_handler = p->handler;
		err = register_kprobe(&p->kp);
	}
	p->error = err;
	p->attached = !err;
	return err;
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
				"register_kprobe failed");
	}
	mutex_unlock(&vstrace_session_lock);
	return 0;

err_free_hits:
	while (i--)
		free_percpu(vstrace_probes[i].hits);
	return -ENOMEM;
}

void vstrace_probes_exit(void)
{
	int i;

	mutex_lock(&vstrace_session_lock);
	for (i = 0; i < ARRAY_SIZE(vstrace_probes); i++) {
		struct vstrace_probe *p = &vstrace_probes[i];

		if (p->attached)
			unregister_kprobe(&p->kp);
		p->attached = false;
	}
	mutex_unlock(&vstrace_session_lock);
	/* unregister_kprobe() waits for running handlers (synchronize_rcu). */
	for (i = 0; i < ARRAY_SIZE(vstrace_probes); i++)
		free_percpu(vstrace_probes[i].hits);
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
	info->attached = p->attached;
	info->error = p->error;
	info->missed = p->attached ? p->kp.nmissed : 0;
	info->hits = 0;
	for_each_possible_cpu(cpu)
		info->hits += *per_cpu_ptr(p->hits, cpu);
}
