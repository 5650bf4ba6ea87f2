/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel differences for emptyprobe.c, kept out of the .c file.
 */
#ifndef EMPTYPROBE_H
#define EMPTYPROBE_H

#include <linux/kprobes.h>

/*
 * Where a probe on @kp's function goes at the after-ftrace placement: past
 * the ftrace call site when the kernel put @kp (registered by symbol) there,
 * else where @kp is.  MCOUNT_INSN_SIZE exists only with a function tracer.
 */
#if defined(CONFIG_X86_64) && defined(CONFIG_KPROBES_ON_FTRACE)
#include <asm/ftrace.h>
static inline kprobe_opcode_t *emptyprobe_past_ftrace(const struct kprobe *kp)
{
	if (kp->flags & KPROBE_FLAG_FTRACE)
		return (kprobe_opcode_t *)((unsigned long)kp->addr + MCOUNT_INSN_SIZE);
	return kp->addr;
}
#else
static inline kprobe_opcode_t *emptyprobe_past_ftrace(const struct kprobe *kp)
{
	return kp->addr;
}
#endif

#endif /* EMPTYPROBE_H */
