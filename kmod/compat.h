/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel version difference vstrace.ko absorbs, in one place.
 * Force-included before each source file (Kbuild: -include compat.h).
 * Features are detected from the kernel's headers by Kbuild (-DVSTRACE_HAVE_*)
 * where a header shows them, by version where it cannot.
 *
 * Supported: 4.14 (Nitro enclave kernel), Debian 6.1 and 6.12.
 */
#ifndef _VSTRACE_COMPAT_H
#define _VSTRACE_COMPAT_H

/* Included before anything else, so it sets every message's prefix. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(4, 14, 0)
#error "vstrace needs Linux 4.14 or later"
#endif

#include <linux/kprobes.h>
#include <linux/uaccess.h>
#include <linux/ptrace.h>
#include <linux/skbuff.h>
#include <linux/virtio_vsock.h>
#include <net/genetlink.h>

/*
 * The packet carrier: struct sk_buff since 6.2 (and 6.1.63 stable), with the
 * header at skb->head; struct virtio_vsock_pkt before, header inline.
 */
#ifdef VSTRACE_HAVE_VSOCK_SKB
static inline struct virtio_vsock_hdr *vstrace_pkt_hdr(void *pkt)
{
	return virtio_vsock_hdr((struct sk_buff *)pkt);
}
#else
static inline struct virtio_vsock_hdr *vstrace_pkt_hdr(void *pkt)
{
	return &((struct virtio_vsock_pkt *)pkt)->hdr;
}
#endif

/*
 * virtio_transport_recv_pkt(struct virtio_transport *t, pkt) since 5.5, and
 * in later 4.14 stable releases too (4.14.325 has it); plain
 * virtio_transport_recv_pkt(pkt) in 4.14.0.  Kbuild reads the prototype.
 */
#ifdef VSTRACE_HAVE_RECV_PKT_TRANSPORT
#define VSTRACE_RECV_PKT_ARG	2
#else
#define VSTRACE_RECV_PKT_ARG	1
#endif

/* probe_kernel_read() became copy_from_kernel_nofault() in 5.8. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 8, 0)
#define probe_kernel_read_compat(dst, src, len) \
	copy_from_kernel_nofault(dst, src, len)
#else
#define probe_kernel_read_compat(dst, src, len) probe_kernel_read(dst, src, len)
#endif

/* kvcalloc() since 4.18 (in mm.h, later slab.h); kvmalloc_array() since 4.12. */
#ifndef VSTRACE_HAVE_KVCALLOC
static inline void *kvcalloc(size_t n, size_t size, gfp_t flags)
{
	return kvmalloc_array(n, size, flags | __GFP_ZERO);
}
#endif

/*
 * Function arguments and return address at a kprobe on a function's first
 * instruction (or after ENDBR).  regs_get_kernel_argument() is 5.x+ only.
 */
#if defined(CONFIG_X86_64)
static inline unsigned long vstrace_arg(struct pt_regs *regs, int n)
{
	switch (n) {
	case 1: return regs->di;
	case 2: return regs->si;
	case 3: return regs->dx;
	case 4: return regs->cx;
	}
	return 0;
}

/* At entry the return address is the word at the stack pointer. */
static inline unsigned long vstrace_entry_ret_addr(struct pt_regs *regs)
{
	unsigned long ret = 0;

	if (probe_kernel_read_compat(&ret, (void *)regs->sp, sizeof(ret)))
		return 0;
	return ret;
}
#elif defined(CONFIG_ARM64)
static inline unsigned long vstrace_arg(struct pt_regs *regs, int n)
{
	return n >= 1 && n <= 8 ? regs->regs[n - 1] : 0;
}

static inline unsigned long vstrace_entry_ret_addr(struct pt_regs *regs)
{
	return regs->regs[30];
}
#else
#error "vstrace supports x86_64 and arm64"
#endif

/*
 * Reading vstrace's counters and timings takes CAP_NET_ADMIN or
 * CAP_PERFMON; perfmon_capable() (CAP_PERFMON or CAP_SYS_ADMIN) since 5.8.
 */
#include <linux/capability.h>
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 8, 0)
static inline bool perfmon_capable(void)
{
	return capable(CAP_SYS_ADMIN);
}
#endif

#ifndef VSTRACE_HAVE_KTIME_GET_BOOTTIME_NS
#define ktime_get_boottime_ns() ktime_get_boot_ns()
#endif

/*
 * Generic netlink.  4.14 validates with a policy per op; 5.2+ with one
 * policy per family; 6.1+ also wants resv_start_op so that new commands
 * get strict validation.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 2, 0)
#define VSTRACE_GENL_FAMILY_POLICY(p)	.policy = (p),
#define VSTRACE_GENL_OP_POLICY(p)
#else
#define VSTRACE_GENL_FAMILY_POLICY(p)
#define VSTRACE_GENL_OP_POLICY(p)	.policy = (p),
#endif

#ifdef VSTRACE_HAVE_GENL_RESV_START_OP
#define VSTRACE_GENL_RESV_START_OP(op)	.resv_start_op = (op),
#else
#define VSTRACE_GENL_RESV_START_OP(op)
#endif

/* genl_info.extack exists since 4.12; NL_SET_ERR_MSG_ATTR since 4.15. */
#ifndef VSTRACE_HAVE_NL_SET_ERR_MSG_ATTR
#define NL_SET_ERR_MSG_ATTR(extack, attr, msg) NL_SET_ERR_MSG(extack, msg)
#endif

#ifndef VSTRACE_HAVE_GENL_REQ_ATTR_CHECK
#define GENL_REQ_ATTR_CHECK(info, attr) ({				\
	bool __missing = !(info)->attrs[attr];				\
	if (__missing)							\
		NL_SET_ERR_MSG((info)->extack, "missing required attribute"); \
	__missing;							\
})
#endif

/*
 * register_kretprobe() on a symbol the kernel does not have: -ENOENT where
 * kprobe_on_func_entry() returns an error (6.x), -EINVAL where it returns
 * bool (4.14), which would hide a missing point from the fallback logic and
 * misreport it.  A disabled kprobe on the same symbol tells the two apart.
 */
#ifndef VSTRACE_HAVE_KRETPROBE_ENOENT
static inline int vstrace_register_kretprobe(struct kretprobe *rp)
{
	struct kprobe kp = {
		.symbol_name	= rp->kp.symbol_name,
		.offset		= rp->kp.offset,
		.flags		= KPROBE_FLAG_DISABLED,
	};
	int err = register_kretprobe(rp), kerr;

	if (err != -EINVAL || !rp->kp.symbol_name)
		return err;
	kerr = register_kprobe(&kp);
	if (!kerr)
		unregister_kprobe(&kp);
	return kerr == -ENOENT ? -ENOENT : err;
}
#define register_kretprobe(rp)	vstrace_register_kretprobe(rp)
#endif

/* ---- Stage probes: latency histograms and in-flight tracking ---- */

/* A kretprobe instance's kretprobe: get_kretprobe() since 5.11. */
#ifdef VSTRACE_HAVE_GET_KRETPROBE
static inline struct kretprobe *vstrace_kretprobe_of(struct kretprobe_instance *ri)
{
	return get_kretprobe(ri);
}
#else
static inline struct kretprobe *vstrace_kretprobe_of(struct kretprobe_instance *ri)
{
	return ri->rp;
}
#endif

/* The fifth argument at a function's entry (virtqueue_add_sgs()'s data). */
#if defined(CONFIG_X86_64)
static inline unsigned long vstrace_arg5(struct pt_regs *regs)
{
	return regs->r8;
}
#elif defined(CONFIG_ARM64)
static inline unsigned long vstrace_arg5(struct pt_regs *regs)
{
	return regs->regs[4];
}
#endif

/* Building a packet: alloc_pkt (pkt) before the sk_buff conversion. */
#ifdef VSTRACE_HAVE_VSOCK_SKB
#define VSTRACE_SYM_ALLOC_PKT	"virtio_transport_alloc_skb"
#else
#define VSTRACE_SYM_ALLOC_PKT	"virtio_transport_alloc_pkt"
#endif

/*
 * The stream socket's recvmsg: vsock_connectible_recvmsg() since 5.14
 * (SOCK_SEQPACKET support), vsock_stream_recvmsg() before.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 14, 0)
#define VSTRACE_SYM_RECVMSG	"vsock_connectible_recvmsg"
#else
#define VSTRACE_SYM_RECVMSG	"vsock_stream_recvmsg"
#endif

/*
 * Data ready on a vsock socket: virtio transports call vsock_data_ready()
 * where it exists, else sk->sk_data_ready() (sock_def_readable) directly;
 * the probe table falls back at load time.
 */
#define VSTRACE_SYM_DATA_READY			"vsock_data_ready"
#define VSTRACE_SYM_DATA_READY_FALLBACK		"sock_def_readable"

/*
 * The stream socket's sendmsg, whose return shows a non-blocking sender
 * that found no credit: vsock_connectible_sendmsg() since 5.14,
 * vsock_stream_sendmsg() before.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 14, 0)
#define VSTRACE_SYM_SENDMSG	"vsock_connectible_sendmsg"
#else
#define VSTRACE_SYM_SENDMSG	"vsock_stream_sendmsg"
#endif

/*
 * The send_pkt function of a socket's transport, or 0 if the kernel does
 * not say.  Since 5.5 each socket has its transport (vsk->transport), the
 * first member of a struct virtio_transport for loopback, virtio and
 * vhost; another family's pointer reads something that matches none of
 * them.  4.14 has one global transport and no vsk->transport.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 5, 0)
static inline unsigned long vstrace_vsk_send_pkt(struct vsock_sock *vsk)
{
	const struct vsock_transport *t = READ_ONCE(vsk->transport);
	const struct virtio_transport *vt;
	unsigned long fn = 0;

	if (!t)
		return 0;
	vt = container_of(t, struct virtio_transport, transport);
	if (probe_kernel_read_compat(&fn, (void *)&vt->send_pkt, sizeof(fn)))
		return 0;
	return fn;
}
#else
static inline unsigned long vstrace_vsk_send_pkt(struct vsock_sock *vsk)
{
	return 0;
}
#endif

/* ---- end of stage probes ---- */

#endif /* _VSTRACE_COMPAT_H */
