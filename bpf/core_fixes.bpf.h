/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel difference vstrace.bpf.c absorbs with CO-RE, in one place,
 * each with the upstream commit that made it.  Kernels: Debian 6.1 and 6.12
 * (4.14, the enclave kernel, has no BPF tracing; design.md section 3).
 *
 * Not here because they do not differ between 6.1 and 6.12: the argument
 * lists of the send_pkt functions and of virtio_transport_recv_pkt(t, pkt),
 * and vsock_transport.module, which vstrace.bpf.c reads to tell transports
 * apart (there since the multi-transport rework of v5.5).
 */
#ifndef __VSTRACE_CORE_FIXES_BPF_H
#define __VSTRACE_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/*
 * The packet carrier.  71dc9ec9ac7d ("virtio/vsock: replace virtio_vsock_pkt
 * with sk_buff"), v6.2, also in 6.1 stable since 6.1.63: packets are
 * struct sk_buff with the virtio-vsock header at skb->head.  Before it they
 * were struct virtio_vsock_pkt with the header inline (pkt->hdr), and the
 * functions vstrace probes took that pointer in the same argument.  The type
 * lives in module BTF (vmw_vsock_virtio_transport_common), which libbpf
 * searches when vmlinux BTF has no candidate.
 */
struct virtio_vsock_pkt___pre_skb {
	struct virtio_vsock_hdr hdr;
} __attribute__((preserve_access_index));

/* Kernel address of the virtio-vsock header of packet @pkt. */
static __always_inline const void *vstrace_pkt_hdr(void *pkt)
{
	if (bpf_core_type_exists(struct virtio_vsock_pkt___pre_skb))
		return &((struct virtio_vsock_pkt___pre_skb *)pkt)->hdr;
	return BPF_CORE_READ((struct sk_buff *)pkt, head);
}

#endif /* __VSTRACE_CORE_FIXES_BPF_H */
