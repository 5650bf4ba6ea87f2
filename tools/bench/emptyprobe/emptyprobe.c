// SPDX-License-Identifier: GPL-2.0
/*
 * emptyprobe.ko: kprobes and kretprobes whose handlers do nothing, on the
 * functions named at load, so that a benchmark can tell what probes alone
 * cost from what vstrace.ko's handlers add.  Benchmark only: never part of
 * the product, never loaded by vstrace.
 *
 *   insmod emptyprobe.ko points=f1,f2,f3 ret=f2 placement=entry|after-ftrace
 *
 * Implementation notes
 *
 * Objects: one struct emptyprobe per name in points=, in the array
 * emptyprobes (allocated at init, freed at exit), each holding a kprobe or,
 * for a name also in ret=, a kretprobe (entry and return handlers both
 * empty).  The names point into emptyprobe_names, a copy of points= split
 * in place.
 *
 * Placement: "entry" registers every probe by symbol; where the kernel has
 * KPROBES_ON_FTRACE and the function an ftrace call site, the kernel puts
 * the probe there and ftrace calls it.  "after-ftrace" is where vstrace.ko
 * used to put its plain kprobes: a disabled probe registered by symbol
 * finds the entry and, if that is an ftrace site (KPROBE_FLAG_FTRACE), the
 * real probe goes MCOUNT_INSN_SIZE past it, as a breakpoint (a jump once
 * the optimizer gets to it).  A kretprobe sits on the entry either way.
 *
 * A function that cannot be probed is reported and skipped: the module
 * loads with whatever it could attach.  /sys/module/emptyprobe/parameters/
 * kinds lists every attached probe: where it sits and how it runs now.
 *
 * Locking: emptyprobe_lock orders reads of kinds against exit's teardown;
 * init fills the table before the parameter files appear.  Handlers touch
 * nothing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "emptyprobe.h"

/* As vstrace.ko: return probes in flight per point. */
#define EMPTYPROBE_MAXACTIVE	(64 + 8 * num_possible_cpus())

static char *points = "";
module_param(points, charp, 0444);
MODULE_PARM_DESC(points, "comma-separated functions to probe");

static char *ret_points = "";
module_param_named(ret, ret_points, charp, 0444);
MODULE_PARM_DESC(ret, "the subset of points= that get a kretprobe instead of a kprobe");

static char *placement = "entry";
module_param(placement, charp, 0444);
MODULE_PARM_DESC(placement, "entry (by symbol, ftrace-based where possible; default) or after-ftrace");

struct emptyprobe {
	const char *sym;
	bool is_ret;		/* rp, not kp */
	bool attached;
	struct kprobe kp;
	struct kretprobe rp;
};

static DEFINE_MUTEX(emptyprobe_lock);
static char *emptyprobe_names;		/* points=, split at the commas */
static struct emptyprobe *emptyprobes;	/* emptyprobe_lock at exit */
static unsigned int emptyprobe_count;	/* emptyprobe_lock at exit */

static int emptyprobe_pre(struct kprobe *kp, struct pt_regs *regs)
{
	return 0;
}

static int emptyprobe_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return 0;
}

static int emptyprobe_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return 0;
}

/* True if @name is one of the comma-separated names in @list. */
static bool emptyprobe_listed(const char *list, const char *name, size_t len)
{
	const char *p = list, *end;

	while (*p) {
		end = strchrnul(p, ',');
		if (end - p == len && !strncmp(p, name, len))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

static int emptyprobe_attach(struct emptyprobe *e, bool after_ftrace)
{
	kprobe_opcode_t *addr;
	int err;

	if (e->is_ret) {
		e->rp.kp.symbol_name = e->sym;
		e->rp.entry_handler = emptyprobe_entry;
		e->rp.handler = emptyprobe_ret;
		e->rp.maxactive = EMPTYPROBE_MAXACTIVE;
		return register_kretprobe(&e->rp);
	}

	e->kp.symbol_name = e->sym;
	e->kp.pre_handler = emptyprobe_pre;
	if (!after_ftrace)
		return register_kprobe(&e->kp);

	/* A disabled probe arms nothing; it only finds the entry. */
	e->kp.flags = KPROBE_FLAG_DISABLED;
	err = register_kprobe(&e->kp);
	if (err)
		return err;
	addr = emptyprobe_past_ftrace(&e->kp);
	unregister_kprobe(&e->kp);
	memset(&e->kp, 0, sizeof(e->kp));
	e->kp.addr = addr;
	e->kp.pre_handler = emptyprobe_pre;
	return register_kprobe(&e->kp);
}

static const char *emptyprobe_kind(const struct kprobe *kp)
{
	if (kp->flags & KPROBE_FLAG_FTRACE)
		return "ftrace";
	if (kp->flags & KPROBE_FLAG_OPTIMIZED)
		return "optimized";
	return "int3";
}

/* kinds: one line per attached probe, "ADDRESS KIND kprobe|kretprobe". */
static int emptyprobe_kinds_get(char *buf, const struct kernel_param *param)
{
	unsigned int i;
	int len = 0;

	mutex_lock(&emptyprobe_lock);
	for (i = 0; i < emptyprobe_count; i++) {
		const struct emptyprobe *e = &emptyprobes[i];
		const struct kprobe *kp = e->is_ret ? &e->rp.kp : &e->kp;

		if (!e->attached)
			continue;
		len += scnprintf(buf + len, PAGE_SIZE - len, "%pS %s %s\n",
				 kp->addr, emptyprobe_kind(kp),
				 e->is_ret ? "kretprobe" : "kprobe");
	}
	mutex_unlock(&emptyprobe_lock);
	return len;
}

static int emptyprobe_kinds_set(const char *val, const struct kernel_param *param)
{
	return -EPERM;
}

static const struct kernel_param_ops emptyprobe_kinds_ops = {
	.set	= emptyprobe_kinds_set,
	.get	= emptyprobe_kinds_get,
};
module_param_cb(kinds, &emptyprobe_kinds_ops, NULL, 0444);
MODULE_PARM_DESC(kinds, "read only: each attached probe, where it sits and how it runs");

/* Names in ret= that are not in points= are ignored, and said so. */
static void emptyprobe_check_ret(void)
{
	const char *p = ret_points, *end;

	while (*p) {
		end = strchrnul(p, ',');
		if (end > p && !emptyprobe_listed(points, p, end - p))
			pr_info("ret: %.*s is not in points, ignored\n",
				(int)(end - p), p);
		p = *end ? end + 1 : end;
	}
}

static int __init emptyprobe_init(void)
{
	unsigned int n = 1, attached = 0;
	bool after_ftrace;
	char *s, *name;
	int err;

	if (!strcmp(placement, "entry")) {
		after_ftrace = false;
	} else if (!strcmp(placement, "after-ftrace")) {
		after_ftrace = true;
	} else {
		pr_err("placement=%s: not entry or after-ftrace\n", placement);
		return -EINVAL;
	}

	emptyprobe_names = kstrdup(points, GFP_KERNEL);
	if (!emptyprobe_names)
		return -ENOMEM;
	for (s = emptyprobe_names; *s; s++)
		n += *s == ',';
	emptyprobes = kcalloc(n, sizeof(*emptyprobes), GFP_KERNEL);
	if (!emptyprobes) {
		err = -ENOMEM;
		goto err_free_names;
	}
	emptyprobe_check_ret();

	s = emptyprobe_names;
	while ((name = strsep(&s, ",")) != NULL) {
		struct emptyprobe *e;

		if (!*name)
			continue;
		e = &emptyprobes[emptyprobe_count++];
		e->sym = name;
		e->is_ret = emptyprobe_listed(ret_points, name, strlen(name));
		err = emptyprobe_attach(e, after_ftrace);
		if (err) {
			pr_info("cannot probe %s: error %d%s\n", name, err,
				err == -ENOENT ? " (no such function)" : "");
			continue;
		}
		e->attached = true;
		attached++;
	}
	pr_info("%u of %u points probed, placement %s\n", attached,
		emptyprobe_count, placement);
	return 0;

err_free_names:
	kfree(emptyprobe_names);
	return err;
}

static void __exit emptyprobe_exit(void)
{
	unsigned long missed = 0;
	unsigned int i;

	mutex_lock(&emptyprobe_lock);
	for (i = 0; i < emptyprobe_count; i++) {
		struct emptyprobe *e = &emptyprobes[i];

		if (!e->attached)
			continue;
		if (e->is_ret) {
			unregister_kretprobe(&e->rp);
			missed += e->rp.nmissed + e->rp.kp.nmissed;
		} else {
			unregister_kprobe(&e->kp);
			missed += e->kp.nmissed;
		}
	}
	emptyprobe_count = 0;
	mutex_unlock(&emptyprobe_lock);
	if (missed)
		pr_info("%lu probe hits missed\n", missed);
	kfree(emptyprobes);
	kfree(emptyprobe_names);
}

module_init(emptyprobe_init);
module_exit(emptyprobe_exit);
MODULE_DESCRIPTION("Empty kprobes and kretprobes: the floor of a tracer's cost (benchmark only)");
MODULE_LICENSE("GPL");
