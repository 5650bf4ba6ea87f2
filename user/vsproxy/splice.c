// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel path: load bpf/vsproxy_splice.bpf.o through its skeleton, probe
 * once whether this kernel lets a VSOCK socket join a sockmap (a TCP one,
 * when no mapping has VSOCK: then VSOCK is never touched), and put the two
 * sockets of a connection in (see "Kernel path" in vsproxy.h and the
 * protocol in include/uapi/vsproxy_splice.h).
 *
 * Slots: the last one is the probe's; the others are dealt out to the loops
 * in equal ranges, so that each loop takes and gives back its own without
 * locking.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <linux/sockios.h>
#include <linux/vm_sockets.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vsproxy.h"
#include "vsproxy_splice.h"
#include "vsproxy_splice.skel.h"

#ifndef SO_COOKIE
#define SO_COOKIE	57
#endif

#define PROBE_SLOT	(VSP_SPLICE_SLOTS - 1)

bool vsp_splice_on;

static struct vsproxy_splice *skel;
static int socks_fd = -1, slot_of_fd = -1, cnt_fd = -1;

/* libbpf's last warning, to explain a failed load. */
static char libbpf_msg[256];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t n;

	if (vsp_opts.verbose > 1)
		return vfprintf(stderr, fmt, ap);
	if (level != LIBBPF_WARN)
		return 0;
	vsnprintf(libbpf_msg, sizeof(libbpf_msg), fmt, ap);
	n = strlen(libbpf_msg);
	if (n && libbpf_msg[n - 1] == '\n')
		libbpf_msg[n - 1] = '\0';
	return 0;
}

/* Is the running kernel at least major.minor? */
static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int a = 0, b = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a > major || (a == major && b >= minor);
}

/*
 * A connected VSOCK pair over loopback (CID 1): the accepted end in *fd,
 * the others closed by the caller through *lfd and *cfd.  0 or -errno.
 */
static int vsock_pair(int *lfd, int *cfd, int *fd)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_ANY,
		.svm_port = VMADDR_PORT_ANY,
	};
	socklen_t sl = sizeof(sa);
	struct timeval tv = { .tv_sec = 1 };

	*lfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*lfd < 0)
		return -errno;
	if (bind(*lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(*lfd, 1) ||
	    getsockname(*lfd, (struct sockaddr *)&sa, &sl))
		return -errno;
	*cfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*cfd < 0)
		return -errno;
	setsockopt(*cfd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv));
	sa.svm_cid = VMADDR_CID_LOCAL;
	if (connect(*cfd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	*fd = accept4(*lfd, NULL, NULL, SOCK_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

/* A connected TCP pair over 127.0.0.1, as vsock_pair(). */
static int tcp_pair(int *lfd, int *cfd, int *fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*lfd < 0)
		return -errno;
	if (bind(*lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(*lfd, 1) ||
	    getsockname(*lfd, (struct sockaddr *)&sa, &sl))
		return -errno;
	*cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*cfd < 0)
		return -errno;
	if (connect(*cfd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	*fd = accept4(*lfd, NULL, NULL, SOCK_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

/*
 * Can a connected VSOCK socket join the sockmap?  1 yes, 0 no (why in
 * @why), -1 could not tell (no loopback transport).
 */
static int probe_vsock(char *why, size_t len, bool vsock)
{
	int lfd = -1, cfd = -1, fd = -1, err, ret;
	__u32 key = PROBE_SLOT;
	__u64 val;

	err = vsock ? vsock_pair(&lfd, &cfd, &fd) : tcp_pair(&lfd, &cfd, &fd);
	if (err) {
		snprintf(why, len, "no %s loopback pair to test with (%s)",
			 vsock ? "VSOCK" : "TCP", strerror(-err));
		ret = -1;
	} else if (val = fd, bpf_map_update_elem(socks_fd, &key, &val, BPF_ANY)) {
		err = errno;
		if (vsock && (err == EOPNOTSUPP || err == EINVAL || err == EPROTONOSUPPORT))
			snprintf(why, len, "this kernel cannot put VSOCK sockets in a sockmap "
				 "(%s; Linux 6.4 or later can)", strerror(err));
		else
			snprintf(why, len, "sockmap insert: %s", strerror(err));
		ret = 0;
	} else {
		bpf_map_delete_elem(socks_fd, &key);
		ret = 1;
	}
	if (fd >= 0)
		close(fd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	return ret;
}

static int load(char *why, size_t len)
{
	int err;

	libbpf_set_print(libbpf_print);
	skel = vsproxy_splice__open_and_load();
	if (!skel) {
		err = errno;
		snprintf(why, len, "loading bpf/vsproxy_splice.bpf.o: %s%s%s", strerror(err),
			 libbpf_msg[0] ? ": " : "", libbpf_msg);
		return -1;
	}
	socks_fd = bpf_map__fd(skel->maps.vsp_socks);
	slot_of_fd = bpf_map__fd(skel->maps.vsp_slot_of);
	cnt_fd = bpf_map__fd(skel->maps.vsp_cnt);
	if (bpf_prog_attach(bpf_program__fd(skel->progs.vsp_splice_verdict), socks_fd,
			    BPF_SK_SKB_STREAM_VERDICT, 0)) {
		snprintf(why, len, "attaching the stream verdict: %s", strerror(errno));
		return -1;
	}
	skel->links.vsp_splice_sent = bpf_program__attach(skel->progs.vsp_splice_sent);
	if (!skel->links.vsp_splice_sent) {
		err = errno;
		snprintf(why, len, "attaching fexit/skb_send_sock: %s%s%s", strerror(err),
			 libbpf_msg[0] ? ": " : "", libbpf_msg);
		return -1;
	}
	return 0;
}

static bool any_vsock(void)
{
	int m;

	for (m = 0; m < vsp_opts.nr_maps; m++)
		if (vsp_opts.maps[m].listen.family == AF_VSOCK ||
		    vsp_opts.maps[m].target.family == AF_VSOCK)
			return true;
	return false;
}

int vsp_splice_init(void)
{
	bool kernel = vsp_opts.splice == VSP_SPLICE_KERNEL;
	char why[512];
	int ok;

	if (vsp_opts.splice == VSP_SPLICE_USER)
		return 0;
	if (load(why, sizeof(why))) {
		ok = 0;
	} else {
		/* Only VSOCK's support is in question; TCP's only with no VSOCK. */
		ok = probe_vsock(why, sizeof(why), any_vsock());
		if (ok > 0 && !kernel_at_least(6, 4)) {
			snprintf(why, sizeof(why), "kernels before 6.4 cannot put VSOCK "
				 "sockets in a sockmap, and their TCP path is not trusted");
			ok = 0;
		}
		if (ok < 0) {
			/* Decided by the version; the first insert tells for sure. */
			ok = kernel_at_least(6, 4);
			if (ok)
				p_dbg("splice: %s; trusting the kernel version", why);
			else
				snprintf(why + strlen(why), sizeof(why) - strlen(why),
					 ", and kernels before 6.4 cannot put VSOCK sockets in a sockmap");
		}
	}
	if (!ok) {
		if (kernel) {
			p_err("--splice kernel: %s", why);
			return -1;
		}
		p_info("splice: user space (%s)", why);
		if (skel) {
			vsproxy_splice__destroy(skel);
			skel = NULL;
		}
		return 0;
	}
	vsp_splice_on = true;
	p_info("splice: kernel (sockmap stream verdict), user space where it cannot");
	return 0;
}

int vsp_splice_loop_init(struct vsp_loop *l)
{
	int per = (VSP_SPLICE_SLOTS - 1) / vsp_nr_loops, i;

	if (!vsp_splice_on)
		return 0;
	l->free_slots = malloc(per * sizeof(int));
	if (!l->free_slots) {
		p_err("%s", strerror(errno));
		return -1;
	}
	/* Lowest slots on top of the stack. */
	for (i = 0; i < per; i++)
		l->free_slots[i] = l->id * per + per - 1 - i;
	l->nr_free_slots = per;
	return 0;
}

void vsp_splice_ctl(int slot, uint64_t acked, bool hold)
{
	__atomic_store_n(&skel->bss->vsp_ctl[slot], VSP_SPLICE_CTL(acked, hold),
			 __ATOMIC_SEQ_CST);
}

int vsp_splice_counts(int slot, uint64_t *passed, uint64_t *redirected)
{
	struct vsp_splice_cnt v;
	__u32 key = slot;

	if (bpf_map_lookup_elem_flags(cnt_fd, &key, &v, BPF_F_LOCK))
		return -errno;
	if (passed)
		*passed = v.passed;
	if (redirected)
		*redirected = v.redirected;
	return 0;
}

static int sock_cookie(int fd, __u64 *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) ? -errno : 0;
}

/* Slot @slot for the socket @fd, whose peer is in @peer: set up, not inserted. */
static int slot_prepare(int slot, int peer, int fd)
{
	struct vsp_splice_cnt v = { .peer = peer };
	__u32 key = slot;
	__u64 cookie;
	int err;

	vsp_splice_ctl(slot, 0, true);
	__atomic_store_n(&skel->bss->vsp_sent[slot], 0, __ATOMIC_RELAXED);
	if (bpf_map_update_elem(cnt_fd, &key, &v, BPF_ANY))
		return -errno;
	err = sock_cookie(fd, &cookie);
	if (err)
		return err;
	if (bpf_map_update_elem(slot_of_fd, &cookie, &key, BPF_ANY))
		return -errno;
	return 0;
}

static void slot_forget(int fd)
{
	__u64 cookie;

	if (fd >= 0 && !sock_cookie(fd, &cookie))
		bpf_map_delete_elem(slot_of_fd, &cookie);
}

static void slots_put(struct vsp_conn *c)
{
	struct vsp_loop *l = c->loop;
	int i;

	for (i = 1; i >= 0; i--) {
		if (c->slot[i] < 0)
			continue;
		vsp_splice_ctl(c->slot[i], 0, true);
		l->free_slots[l->nr_free_slots++] = c->slot[i];
		c->slot[i] = -1;
	}
}

int vsp_splice_attach(struct vsp_conn *c)
{
	static struct vsp_ratelimit rl = { .window = -1 };
	struct vsp_loop *l = c->loop;
	int i, n, first, err = 0, inserted = 0;
	__u32 key;
	__u64 val;

	if (!vsp_splice_on)
		return -VSP_F_UNSUPPORTED;
	if (!c->side[0].tcp && !c->side[1].tcp)
		return -VSP_F_FAMILY;
	if (l->nr_free_slots < 2)
		return -VSP_F_SLOTS;
	c->slot[0] = l->free_slots[--l->nr_free_slots];
	c->slot[1] = l->free_slots[--l->nr_free_slots];
	for (i = 0; i < 2 && !err; i++)
		err = slot_prepare(c->slot[i], c->slot[!i], c->side[i].fd);
	/*
	 * A TCP socket first (the client's if both are): a TCP socket joins
	 * only while established, so it is the one a peer's early FIN keeps
	 * out, and then nothing is in.  A VSOCK socket stays established
	 * through its peer's shutdown.
	 */
	first = c->side[0].tcp ? 0 : 1;
	for (n = 0; n < 2 && !err; n++) {
		i = n ? !first : first;
		key = c->slot[i];
		val = c->side[i].fd;	/* the map's value is 64 bits wide */
		if (bpf_map_update_elem(socks_fd, &key, &val, BPF_NOEXIST))
			err = -errno;
		else
			inserted++;
	}
	if (!err) {
		/*
		 * What user space reads from now on came through the verdict
		 * (passed), except from a VSOCK socket, which hands out bytes
		 * queued before its insertion directly: its count starts only
		 * after a read that found nothing (VSP_K_BASE).
		 */
		for (i = 0; i < 2; i++) {
			c->dir[i].kstate = c->side[i].tcp ? VSP_K_SWITCH : VSP_K_BASE;
			c->dir[i].pb = c->dir[i].rb = 0;
		}
		return 0;
	}

	if (vsp_opts.verbose || vsp_ratelimit(&rl))
		p_info("conn %llu: %s joins no sockmap: %s (user space for this one)",
		       (unsigned long long)c->id,
		       (inserted ? !first : first) ? "target" : "client", strerror(-err));
	/* An auto start that could not test: the first refusal decides. */
	if (vsp_opts.splice == VSP_SPLICE_AUTO && !inserted && !c->side[first].tcp &&
	    (err == -EOPNOTSUPP || err == -EPROTONOSUPPORT)) {
		vsp_splice_on = false;
		p_info("splice: user space from now on (this kernel cannot put VSOCK "
		       "sockets in a sockmap: %s)", strerror(-err));
	}
	if (inserted) {
		uint64_t passed = 0;

		/*
		 * Out again, and the connection stays in user space.  Bytes the
		 * program passed up meanwhile went with the socket's sockmap
		 * state: then the stream has a hole, and only a reset is right.
		 */
		key = c->slot[first];
		bpf_map_delete_elem(socks_fd, &key);
		if (!vsp_splice_counts(c->slot[first], &passed, NULL) && passed)
			err = -EPIPE;
	}
	slot_forget(c->side[0].fd);
	slot_forget(c->side[1].fd);
	slots_put(c);
	return err == -EPIPE ? -VSP_F_NR : -VSP_F_INSERT;
}

void vsp_splice_detach(struct vsp_conn *c, uint64_t bytes[2])
{
	uint64_t red = 0;
	int i;

	for (i = 0; i < 2; i++) {
		bytes[i] = 0;
		if (c->slot[i] >= 0 && !vsp_splice_counts(c->slot[i], NULL, &red))
			bytes[i] = red;
	}
	for (i = 0; i < 2; i++)
		if (c->slot[i] >= 0)
			slot_forget(c->side[i].fd);
	slots_put(c);
}

/*
 * Everything the kernel took from side i before its EOF has reached side
 * !i's socket: then a shutdown(SHUT_WR) there comes after the last byte.
 */
bool vsp_splice_flushed(struct vsp_conn *c, int i)
{
	struct vsp_side *src = &c->side[i];
	uint64_t red = 0, sent;
	int inq = 0;

	/*
	 * A TCP FIN wakes us before the bytes queued ahead of it have been
	 * through the verdict; VSOCK's shutdown comes after them, in order.
	 */
	if (src->tcp && (ioctl(src->fd, SIOCINQ, &inq) || inq))
		return false;
	if (vsp_splice_counts(c->slot[i], NULL, &red))
		return true;
	sent = __atomic_load_n(&skel->bss->vsp_sent[c->slot[!i]], __ATOMIC_ACQUIRE);
	return sent >= red;
}
