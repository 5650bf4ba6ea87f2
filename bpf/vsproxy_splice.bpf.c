// SPDX-License-Identifier: GPL-2.0
/*
 * vsproxy's kernel path: one stream-verdict program on one sockmap that
 * holds both sockets of every spliced connection (TCP and VSOCK alike), and
 * sends each socket's data to the other socket's egress.
 *
 * No stream parser: with a verdict program alone the kernel reads whole
 * skbs through the socket's read_skb (TCP since 6.0, VSOCK since 6.4); a
 * parser would need the strparser, which only TCP has.  Redirects go to
 * egress only: redirecting into a VSOCK socket's ingress is refused by the
 * kernel, and nothing here needs it.
 *
 * A second program counts, per slot, the bytes the kernel has sent on into
 * each socket (fexit of skb_send_sock(), which the sockmap's egress work
 * calls): an EOF may be passed on once that count has reached what was
 * redirected before it.  The kernel keeps no such count that user space
 * can read: the skbs on their way are charged to no socket.
 *
 * Only vmlinux types are used (struct __sk_buff, struct sock), never the
 * vsock modules': the object loads before or without them, and the kernel
 * decides at insertion whether a socket may join the map.  See
 * include/uapi/vsproxy_splice.h for the hand-over protocol.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define _LINUX_TYPES_H
#include "vsproxy_splice.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, VSP_SPLICE_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} vsp_socks SEC(".maps");

/* Socket cookie -> slot, written by user space before insertion. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VSP_SPLICE_SLOTS);
	__type(key, __u64);
	__type(value, __u32);
} vsp_slot_of SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VSP_SPLICE_SLOTS);
	__type(key, __u32);
	__type(value, struct vsp_splice_cnt);
} vsp_cnt SEC(".maps");

/* Per slot (acked << 1) | hold; memory-mapped, written by user space. */
__u64 vsp_ctl[VSP_SPLICE_SLOTS];

/* Per slot: bytes the kernel sent on into that slot's socket. */
__u64 vsp_sent[VSP_SPLICE_SLOTS];

/* skbs the kernel refused to redirect (the peer left the map): dropped. */
__u64 vsp_redirect_drops;

SEC("sk_skb/stream_verdict")
int vsp_splice_verdict(struct __sk_buff *skb)
{
	__u64 cookie = bpf_get_socket_cookie(skb);
	struct vsp_splice_cnt *c;
	__u32 *slotp, slot, peer, len = skb->len;
	volatile __u64 *ctlp;
	__u64 ctl;
	bool pass;

	/* A bare TCP FIN: nothing to forward, and EOF is user space's job. */
	if (!len)
		return SK_DROP;
	slotp = bpf_map_lookup_elem(&vsp_slot_of, &cookie);
	if (!slotp)
		return SK_PASS;
	slot = *slotp;
	if (slot >= VSP_SPLICE_SLOTS)
		return SK_PASS;
	c = bpf_map_lookup_elem(&vsp_cnt, &slot);
	if (!c)
		return SK_PASS;
	/* Bounded here: the verifier forgets a spilled bound. */
	ctlp = &vsp_ctl[slot & (VSP_SPLICE_SLOTS - 1)];

	bpf_spin_lock(&c->lock);
	ctl = *ctlp;
	pass = (ctl & VSP_SPLICE_HOLD) || c->passed != ctl >> 1;
	if (pass)
		c->passed += len;
	else
		c->redirected += len;
	peer = c->peer;
	bpf_spin_unlock(&c->lock);

	if (pass)
		return SK_PASS;
	if (bpf_sk_redirect_map(skb, &vsp_socks, peer, 0) != SK_PASS) {
		__sync_fetch_and_add(&vsp_redirect_drops, 1);
		return SK_DROP;
	}
	return SK_PASS;
}

SEC("fexit/skb_send_sock")
int BPF_PROG(vsp_splice_sent, struct sock *sk, struct sk_buff *skb, int offset, int len,
	     int ret)
{
	__u64 cookie;
	__u32 *slotp;

	if (ret <= 0)
		return 0;
	/* Set: user space asked for it (SO_COOKIE) before insertion. */
	cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	slotp = bpf_map_lookup_elem(&vsp_slot_of, &cookie);
	if (slotp)
		__sync_fetch_and_add(&vsp_sent[*slotp & (VSP_SPLICE_SLOTS - 1)], ret);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
