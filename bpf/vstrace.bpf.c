// SPDX-License-Identifier: GPL-2.0
/*
 * vstrace eBPF programs: the counters of vstrace.ko - packets and payload
 * bytes per (transport, direction, op), probe hits and their cost - for the
 * kernels with BPF tracing (Debian 6.1 and 6.12).
 *
 * TX is counted at each transport's send_pkt, which names the transport.
 * RX is counted at virtio_transport_recv_pkt(t, pkt), which all three share.
 * The module tells them apart by the caller (vsock_loopback_work,
 * virtio_transport_rx_work, vhost_vsock_handle_tx_kick); each caller passes
 * its own struct virtio_transport as @t, and t->transport.module is the
 * module that registered it, so here the module's name decides.  A transport
 * built into the kernel has no module and is not counted (its probe hit is).
 *
 * Every program is a kprobe, so `bpftool prog loadall ... autoattach` attaches
 * them all; a program whose function is absent (its module not loaded) fails
 * only to attach, and bpftool then pins the program instead of a link.
 *
 * Filters are read-only globals set before load (targ_*); the defaults
 * count everything.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "core_fixes.bpf.h"

/* vmlinux.h has the types <linux/types.h> would bring. */
#define _LINUX_TYPES_H
#include "vstrace.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the virtio-vsock header is little endian; big-endian hosts need conversions"
#endif

const volatile __u32 targ_cid = VSTRACE_BPF_ANY;
const volatile __u32 targ_port = VSTRACE_BPF_ANY;
const volatile __u32 targ_transport = VSTRACE_NR_TRANSPORTS;	/* all */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vstrace_bpf_stats);
} vstrace_stats SEC(".maps");

/* Written by user space only; see struct vstrace_bpf_session. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vstrace_bpf_session);
} vstrace_session SEC(".maps");

#define VSTRACE_TRANSPORT_UNKNOWN	VSTRACE_NR_TRANSPORTS

static __always_inline bool filtered_out(__u32 t, const struct virtio_vsock_hdr *hdr)
{
	if (targ_transport != VSTRACE_NR_TRANSPORTS && targ_transport != t)
		return true;
	if (targ_cid != VSTRACE_BPF_ANY && hdr->src_cid != targ_cid &&
	    hdr->dst_cid != targ_cid)
		return true;
	if (targ_port != VSTRACE_BPF_ANY && hdr->src_port != targ_port &&
	    hdr->dst_port != targ_port)
		return true;
	return false;
}

/* Count one packet crossing transport @t in direction @dir (TX or RX). */
static __always_inline void count_pkt(struct vstrace_bpf_stats *s, __u32 t,
				      __u32 dir, void *pkt)
{
	struct virtio_vsock_hdr hdr;
	const void *p = vstrace_pkt_hdr(pkt);
	__u32 op;

	if (!p || bpf_probe_read_kernel(&hdr, sizeof(hdr), p))
		return;
	if (filtered_out(t, &hdr)) {
		s->counters[VSTRACE_CTR_FILTERED]++;
		return;
	}
	op = hdr.op;
	if (op >= VSTRACE_NR_OPS)
		op = VSTRACE_OP_INVALID;
	if (t >= VSTRACE_NR_TRANSPORTS || dir >= VSTRACE_BPF_PKT_DIRS)
		return;
	s->packets[t][dir][op]++;
	s->bytes[t][dir][op] += hdr.len;
}

static __always_inline struct vstrace_bpf_stats *stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&vstrace_stats, &zero);
}

/* Account one hit of @probe and the handler's own cost since @t0. */
static __always_inline void account(struct vstrace_bpf_stats *s, __u32 probe,
				    __u64 t0)
{
	if (probe < VSTRACE_BPF_NR_PROBES)
		s->probe_hits[probe]++;
	s->counters[VSTRACE_CTR_PROBE_HITS]++;
	s->counters[VSTRACE_CTR_PROBE_NS] += bpf_ktime_get_ns() - t0;
}

static __always_inline int handle_send(__u32 probe, __u32 t, void *pkt)
{
	struct vstrace_bpf_stats *s = stats();
	__u64 t0 = bpf_ktime_get_ns();

	if (!s)
		return 0;
	count_pkt(s, t, VSTRACE_DIR_TX, pkt);
	account(s, probe, t0);
	return 0;
}

SEC("kprobe/vsock_loopback_send_pkt")
int BPF_KPROBE(vsock_loopback_send_pkt, void *pkt)
{
	return handle_send(VSTRACE_BPF_PROBE_LOOPBACK_SEND,
			   VSTRACE_TRANSPORT_LOOPBACK, pkt);
}

SEC("kprobe/virtio_transport_send_pkt")
int BPF_KPROBE(virtio_transport_send_pkt, void *pkt)
{
	return handle_send(VSTRACE_BPF_PROBE_VIRTIO_SEND,
			   VSTRACE_TRANSPORT_VIRTIO, pkt);
}

SEC("kprobe/vhost_transport_send_pkt")
int BPF_KPROBE(vhost_transport_send_pkt, void *pkt)
{
	return handle_send(VSTRACE_BPF_PROBE_VHOST_SEND,
			   VSTRACE_TRANSPORT_VHOST, pkt);
}

/* Bytes of a module name read: enough for the names compared, with NUL. */
#define MOD_NAME_LEN	32

static __always_inline bool name_is(const char *name, const char *want, int len)
{
	for (int i = 0; i < len && i < MOD_NAME_LEN; i++)
		if (name[i] != want[i])
			return false;
	return true;
}

/* The transport whose module registered @t, or VSTRACE_TRANSPORT_UNKNOWN. */
static __always_inline __u32 transport_of(struct virtio_transport *t)
{
	char name[MOD_NAME_LEN] = {};
	struct module *mod;

	mod = BPF_CORE_READ(t, transport.module);
	if (!mod || bpf_core_read_str(name, sizeof(name), &mod->name) < 0)
		return VSTRACE_TRANSPORT_UNKNOWN;
	if (name_is(name, "vsock_loopback", sizeof("vsock_loopback")))
		return VSTRACE_TRANSPORT_LOOPBACK;
	if (name_is(name, "vmw_vsock_virtio_transport",
		    sizeof("vmw_vsock_virtio_transport")))
		return VSTRACE_TRANSPORT_VIRTIO;
	if (name_is(name, "vhost_vsock", sizeof("vhost_vsock")))
		return VSTRACE_TRANSPORT_VHOST;
	return VSTRACE_TRANSPORT_UNKNOWN;
}

SEC("kprobe/virtio_transport_recv_pkt")
int BPF_KPROBE(virtio_transport_recv_pkt, struct virtio_transport *t, void *pkt)
{
	struct vstrace_bpf_stats *s = stats();
	__u64 t0 = bpf_ktime_get_ns();
	__u32 tr;

	if (!s)
		return 0;
	tr = transport_of(t);
	if (tr != VSTRACE_TRANSPORT_UNKNOWN)
		count_pkt(s, tr, VSTRACE_DIR_RX, pkt);
	account(s, VSTRACE_BPF_PROBE_RECV, t0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
