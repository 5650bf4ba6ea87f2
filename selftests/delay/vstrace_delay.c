// SPDX-License-Identifier: GPL-2.0
/*
 * vstrace_delay.ko: a known busy delay at one kernel function, so that a
 * selftest can move one stage of vstrace.ko by a known amount and check
 * that exactly that stage grows by it (style.md section 8).  Test only:
 * never part of the product, never installed.
 *
 *   insmod vstrace_delay.ko func=F delay_ns=N [where=entry|return] [caller=C]
 *
 *   func=      the function to delay, probed by name (on 6.x the kernel
 *              puts the probe on the function's ftrace site)
 *   delay_ns=  how long each hit spins; writable at run time, 0 disables
 *   where=     entry: a kprobe whose pre-handler spins, before the body;
 *              return: a kretprobe whose return handler spins, just before
 *              the function returns to its caller
 *   caller=    spin only when F was called from this function (its return
 *              address lies inside it): for a function shared by many
 *              paths, such as _copy_from_iter
 *   match_op=  spin only for packets of this virtio-vsock op (5: RW), as
 *              seen by the virtio_transport_recv_pkt() call F runs inside:
 *              a second kprobe there notes each packet's op for its task,
 *              so F must be a callee of recv_pkt (not recv_pkt itself) and
 *              need not take the packet as an argument.  0: any (default)
 *   match_arg= with match_op=, take the op from F's own argument N (1 or 2)
 *              instead, a packet: for a function outside recv_pkt, such as
 *              the loopback worker's tap delivery before it
 *   relax=     1: cpu_relax() in the spin loop (default); 0: a compiler
 *              barrier only.  Under TCG a 200 us spin took 0.4-2 ms with
 *              either (4x-6x with relax=0, 5x-10x with relax=1), hence
 *              spun_ns
 *
 * Read only, in /sys/module/vstrace_delay/parameters/:
 *   hits       calls that spun
 *   spun_ns    the time those spins really took, by the clock, in all
 *   missed     kprobe misses (nmissed), which did not spin
 *
 * The spin is a ktime_get_ns() loop, not udelay(): under emulation udelay
 * overshoots by 5-20 %, and a test compares the stage's growth with
 * spun_ns / hits, the time really spent.  Timer interrupts that land in a
 * spin count in it, as they count in the stage around it.
 *
 * Loading fails, with the reason in the kernel log, if func= cannot be
 * probed, caller= cannot be found, or where= is neither value.
 *
 * Builds on 4.14 (the enclave kernel) as on 6.x: only kprobes, kretprobes,
 * module_param and sprint_symbol are used; the packet's layout (sk_buff or
 * 4.14's virtio_vsock_pkt) is told apart by one #ifdef.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/ptrace.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/virtio_vsock.h>

/* probe_kernel_read() became copy_from_kernel_nofault() in 5.8. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 8, 0)
#define delay_read_nofault(dst, src, len) copy_from_kernel_nofault(dst, src, len)
#else
#define delay_read_nofault(dst, src, len) probe_kernel_read(dst, src, len)
#endif

/* Longest single spin: a mistyped delay must not hang a CPU for long. */
#define DELAY_MAX_NS	(100ull * NSEC_PER_MSEC)

static char *func;
module_param(func, charp, 0444);
MODULE_PARM_DESC(func, "the function to delay (required)");

static unsigned long delay_ns;
module_param(delay_ns, ulong, 0644);
MODULE_PARM_DESC(delay_ns, "busy delay per hit, ns (at most 100 ms; 0: none)");

static char *where = "entry";
module_param(where, charp, 0444);
MODULE_PARM_DESC(where, "entry (kprobe, default) or return (kretprobe)");

static char *caller;
module_param(caller, charp, 0444);
MODULE_PARM_DESC(caller, "spin only when func is called from this function");

static int match_op;
module_param(match_op, int, 0444);
MODULE_PARM_DESC(match_op, "spin only inside a recv_pkt() of a packet with this op (0: any)");

static int match_arg;
module_param(match_arg, int, 0444);
MODULE_PARM_DESC(match_arg, "with match_op: the op is that of func's own argument N (1 or 2), a packet");

static bool relax = true;
module_param(relax, bool, 0644);
MODULE_PARM_DESC(relax, "cpu_relax() in the spin loop (default); 0: a compiler barrier only");

static atomic64_t delay_hits = ATOMIC64_INIT(0);
static atomic64_t delay_spun_ns = ATOMIC64_INIT(0);

static bool delay_is_return;
static struct kprobe delay_kp;
static struct kretprobe delay_rp;
static unsigned long caller_start, caller_end;	/* [start, end) */

/*
 * match_op=: the op of the packet the task on this CPU last passed to
 * virtio_transport_recv_pkt().  F runs inside that call, in the same task,
 * with no sleep in between on the paths probed (the lookup comes before
 * lock_sock()); a slot of another task does not match.
 */
struct delay_recv_ctx {
	struct task_struct *task;
	int op;
};
static DEFINE_PER_CPU(struct delay_recv_ctx, delay_recv_ctx);
static struct kprobe delay_recv_kp;

/*
 * The packet argument of virtio_transport_recv_pkt(): an sk_buff with the
 * header at its head since 6.2 and 6.1.63 (where VIRTIO_VSOCK_SKB_HEADROOM
 * came with it), the 2nd argument after the transport since 5.5; a struct
 * virtio_vsock_pkt with the header inside, the only argument, in 4.14.
 */
#ifdef VIRTIO_VSOCK_SKB_HEADROOM
#define DELAY_RECV_PKT_ARG	2
static const void *delay_pkt_hdr_addr(unsigned long pkt)
{
	return virtio_vsock_hdr((struct sk_buff *)pkt);
}
#else
#define DELAY_RECV_PKT_ARG	1
static const void *delay_pkt_hdr_addr(unsigned long pkt)
{
	return &((struct virtio_vsock_pkt *)pkt)->hdr;
}
#endif

static int delay_get_u64(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%llu\n",
			 (unsigned long long)atomic64_read(kp->arg));
}

static int delay_get_missed(char *buf, const struct kernel_param *kp)
{
	unsigned long missed = delay_is_return ? delay_rp.nmissed :
						 delay_kp.nmissed;

	return scnprintf(buf, PAGE_SIZE, "%lu\n", missed);
}

static const struct kernel_param_ops delay_u64_ops = {
	.get = delay_get_u64,
};

static const struct kernel_param_ops delay_missed_ops = {
	.get = delay_get_missed,
};

module_param_cb(hits, &delay_u64_ops, &delay_hits, 0444);
MODULE_PARM_DESC(hits, "calls that spun (read only)");
module_param_cb(spun_ns, &delay_u64_ops, &delay_spun_ns, 0444);
MODULE_PARM_DESC(spun_ns, "time really spun, ns, in all (read only)");
module_param_cb(missed, &delay_missed_ops, NULL, 0444);
MODULE_PARM_DESC(missed, "probe hits missed by the kernel, not delayed (read only)");

static void delay_spin(void)
{
	u64 want = READ_ONCE(delay_ns), t0, now;

	if (!want)
		return;
	if (want > DELAY_MAX_NS)
		want = DELAY_MAX_NS;
	t0 = ktime_get_ns();
	do {
		if (relax)
			cpu_relax();
		else
			barrier();
		now = ktime_get_ns();
	} while (now - t0 < want);
	atomic64_inc(&delay_hits);
	atomic64_add(now - t0, &delay_spun_ns);
}

/* At a probe on the function's entry, the address it will return to. */
static unsigned long delay_entry_ret_addr(struct pt_regs *regs)
{
#if defined(CONFIG_X86_64)
	unsigned long ret = 0;

	if (delay_read_nofault(&ret, (void *)regs->sp, sizeof(ret)))
		return 0;
	return ret;
#elif defined(CONFIG_ARM64)
	return regs->regs[30];
#else
	return 0;
#endif
}

/* Argument @n (1-based) at a probe on a function's entry. */
static unsigned long delay_entry_arg(struct pt_regs *regs, int n)
{
#if defined(CONFIG_X86_64)
	switch (n) {
	case 1: return regs->di;
	case 2: return regs->si;
	}
	return 0;
#elif defined(CONFIG_ARM64)
	return regs->regs[n - 1];
#else
	return 0;
#endif
}

/* The op of the packet at @pkt, or -1. */
static int delay_pkt_op(unsigned long pkt)
{
	struct virtio_vsock_hdr hdr;

	if (!pkt || delay_read_nofault(&hdr, delay_pkt_hdr_addr(pkt), sizeof(hdr)))
		return -1;
	return le16_to_cpu(hdr.op);
}

static int delay_recv_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct delay_recv_ctx *ctx = this_cpu_ptr(&delay_recv_ctx);

	ctx->op = delay_pkt_op(delay_entry_arg(regs, DELAY_RECV_PKT_ARG));
	ctx->task = ctx->op >= 0 ? current : NULL;
	return 0;
}

static bool delay_caller_matches(struct pt_regs *regs)
{
	unsigned long ret;

	if (match_op && match_arg) {
		if (delay_pkt_op(delay_entry_arg(regs, match_arg)) != match_op)
			return false;
	} else if (match_op) {
		struct delay_recv_ctx *ctx = this_cpu_ptr(&delay_recv_ctx);

		if (ctx->task != current || ctx->op != match_op)
			return false;
	}
	if (!caller_start)
		return true;
	ret = delay_entry_ret_addr(regs);
	return ret >= caller_start && ret < caller_end;
}

static int delay_pre(struct kprobe *kp, struct pt_regs *regs)
{
	if (delay_caller_matches(regs))
		delay_spin();
	return 0;
}

/* 1: this call does not concern us, arm no return probe. */
static int delay_ret_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return delay_caller_matches(regs) ? 0 : 1;
}

static int delay_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	delay_spin();
	return 0;
}

/*
 * The address range of function @name: a kprobe registered on it for a
 * moment finds its address (kallsyms_lookup_name() is not exported since
 * 5.7), and sprint_symbol() reads "name+off/size [module]" back.
 */
static int delay_find_range(const char *name, unsigned long *start,
			    unsigned long *end)
{
	struct kprobe kp = { .symbol_name = name };
	char sym[KSYM_SYMBOL_LEN], *p;
	unsigned long addr, off, size;
	int err;

	err = register_kprobe(&kp);
	if (err)
		return err;
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);

	sprint_symbol(sym, addr);
	p = strchr(sym, '+');
	if (!p || sscanf(p, "+%lx/%lx", &off, &size) != 2 || !size)
		return -ENOENT;
	*start = addr - off;
	*end = *start + size;
	return 0;
}

static int __init delay_init(void)
{
	int err;

	if (!func || !*func) {
		pr_err("func= is required: the function to delay\n");
		return -EINVAL;
	}
	if (!strcmp(where, "return")) {
		delay_is_return = true;
	} else if (strcmp(where, "entry")) {
		pr_err("where=%s: must be entry or return\n", where);
		return -EINVAL;
	}
	if (caller && *caller) {
		err = delay_find_range(caller, &caller_start, &caller_end);
		if (err) {
			pr_err("caller=%s: cannot find that function (%d)\n",
			       caller, err);
			return err;
		}
	}

	if (match_arg < 0 || match_arg > 2) {
		pr_err("match_arg=%d: must be 1 or 2 (0: the op of recv_pkt's packet)\n",
		       match_arg);
		return -EINVAL;
	}
	if (match_op && !match_arg) {
		delay_recv_kp.symbol_name = "virtio_transport_recv_pkt";
		delay_recv_kp.pre_handler = delay_recv_pre;
		err = register_kprobe(&delay_recv_kp);
		if (err) {
			pr_err("match_op=%d: cannot probe virtio_transport_recv_pkt (%d): is a vsock transport loaded?\n",
			       match_op, err);
			return err;
		}
	}

	if (delay_is_return) {
		delay_rp.kp.symbol_name = func;
		delay_rp.entry_handler = delay_ret_entry;
		delay_rp.handler = delay_ret;
		delay_rp.maxactive = 64 + 8 * num_possible_cpus();
		err = register_kretprobe(&delay_rp);
	} else {
		delay_kp.symbol_name = func;
		delay_kp.pre_handler = delay_pre;
		err = register_kprobe(&delay_kp);
	}
	if (err) {
		pr_err("cannot put a %s on %s (%d): no such function, inlined, or not probe-able\n",
		       delay_is_return ? "kretprobe" : "kprobe", func, err);
		if (match_op && !match_arg)
			unregister_kprobe(&delay_recv_kp);
		return err;
	}
	pr_info("%lu ns at the %s of %s%s%s%s\n", delay_ns, where, func,
		caller_start ? " when called from " : "",
		caller_start ? caller : "",
		match_op ? " for packets of the op given" : "");
	return 0;
}

static void __exit delay_exit(void)
{
	if (delay_is_return)
		unregister_kretprobe(&delay_rp);
	else
		unregister_kprobe(&delay_kp);
	if (match_op && !match_arg)
		unregister_kprobe(&delay_recv_kp);
}

module_init(delay_init);
module_exit(delay_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vstrace selftests: a known busy delay at one kernel function");
