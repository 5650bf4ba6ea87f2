/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vsproxy's kernel-spliced mode: what bpf/vsproxy_splice.bpf.c and
 * user/vsproxy/splice.c agree on.
 *
 * Every proxied socket in the kernel path has a slot: its index in the
 * sockmap and in the per-slot arrays below.  The verdict program finds the
 * slot of an skb's socket by the socket's cookie, and either passes the
 * skb up to the socket's own receive queue (user space reads it) or
 * redirects it to the egress of the peer slot's socket.
 *
 * The switch from user space to the kernel is per direction and lossless:
 *
 *   ctl[slot]  written by user space only: (acked << 1) | hold, where acked
 *              is how many of the passed bytes user space has read and
 *              written on, and hold keeps every skb in user space;
 *   cnt[slot]  written by the program only, under its spin lock: bytes
 *              passed up and bytes redirected.
 *
 * An skb is redirected only if !hold and passed == acked, that is once user
 * space holds no byte that came before it; both are read under the lock
 * that also guards the counters, and user space confirms the switch with a
 * locked lookup (BPF_F_LOCK) after writing ctl.  Include <linux/bpf.h> (user
 * space) or vmlinux.h (BPF) first, for struct bpf_spin_lock.
 */
#ifndef _UAPI_VSPROXY_SPLICE_H
#define _UAPI_VSPROXY_SPLICE_H

/* Sockets in the kernel path at once (two per connection); a power of 2. */
#define VSP_SPLICE_SLOTS	32768

#define VSP_SPLICE_HOLD		1ULL
#define VSP_SPLICE_CTL(acked, hold)	(((__u64)(acked) << 1) | ((hold) ? VSP_SPLICE_HOLD : 0))

struct vsp_splice_cnt {
	struct bpf_spin_lock lock;
	__u32 peer;			/* the other socket's slot, set before insertion */
	__u64 passed;			/* bytes passed up to user space */
	__u64 redirected;		/* bytes sent to the peer's egress */
};

#endif
