// SPDX-License-Identifier: GPL-2.0
/*
 * One proxied connection: connect to the target, then move bytes both ways
 * with back-pressure, half-close and reset propagation.
 *
 * Per direction (src -> dst) the rule is the same:
 *   - write what is queued while dst is writable;
 *   - read while there is room and src is readable (a full queue is the
 *     back-pressure: src is simply not read, so its peer's window closes);
 *   - once src said EOF and the queue is empty, shutdown(dst, SHUT_WR).
 * The connection is closed when both directions have forwarded their EOF,
 * or at once when either side fails: a reset on one side is passed on as a
 * reset (SO_LINGER 0) on the other, queued bytes are dropped as TCP would.
 *
 * With the kernel path (splice.c), a direction in the kernel skips all of
 * the above but the EOF: it is passed on once vsp_splice_flushed() says so,
 * checked from the loop's flushing list every millisecond.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/vm_sockets.h>
#include "sock.h"
#include "vsproxy.h"

#define POOL_MAX	64
/* Bytes one direction may move per run before others get a turn. */
#define BUDGET(bufsize)	(4 * (size_t)(bufsize))

static uint64_t next_id;

/* ---- buffer and pipe pools (per loop, no locking) ---- */

static void *pool_get(struct vsp_pool *p)
{
	return p->nr ? p->items[--p->nr] : NULL;
}

static bool pool_put(struct vsp_pool *p, void *item)
{
	if (p->nr == p->max) {
		void **n;
		int max = p->max ? p->max * 2 : 8;

		if (max > POOL_MAX)
			return false;
		n = realloc(p->items, max * sizeof(*n));
		if (!n)
			return false;
		p->items = n;
		p->max = max;
	}
	p->items[p->nr++] = item;
	return true;
}

#define PIPE_PACK(r, w)	((void *)(uintptr_t)(((uint64_t)(r) << 32) | (uint32_t)(w) | (1ULL << 63)))
#define PIPE_RFD(v)	((int)(((uintptr_t)(v) >> 32) & 0x7fffffff))
#define PIPE_WFD(v)	((int)(uint32_t)(uintptr_t)(v))

static int pipe_get(struct vsp_loop *l, int pfd[2])
{
	void *v = pool_get(&l->pipes);
	int sz;

	if (v) {
		pfd[0] = PIPE_RFD(v);
		pfd[1] = PIPE_WFD(v);
		return 0;
	}
	if (pipe2(pfd, O_NONBLOCK | O_CLOEXEC))
		return -1;
	if (!l->pipe_cap) {
		sz = fcntl(pfd[1], F_SETPIPE_SZ, vsp_opts.bufsize);
		if (sz < 0) {
			p_info("pipe size %u not granted (%s), using the default",
			       vsp_opts.bufsize, strerror(errno));
			sz = fcntl(pfd[1], F_GETPIPE_SZ);
		}
		l->pipe_cap = sz > 0 ? (uint32_t)sz : 65536;
	} else if (l->pipe_cap != 65536) {
		fcntl(pfd[1], F_SETPIPE_SZ, l->pipe_cap);
	}
	return 0;
}

static void pipe_put(struct vsp_loop *l, int pfd[2])
{
	if (!pool_put(&l->pipes, PIPE_PACK(pfd[0], pfd[1]))) {
		close(pfd[0]);
		close(pfd[1]);
	}
	pfd[0] = pfd[1] = -1;
}

static char *buf_get(struct vsp_loop *l)
{
	char *b = pool_get(&l->bufs);

	return b ? b : malloc(vsp_opts.bufsize);
}

static void buf_put(struct vsp_loop *l, char *b)
{
	if (!pool_put(&l->bufs, b))
		free(b);
}

void vsp_pools_free(struct vsp_loop *l)
{
	void *v;

	while ((v = pool_get(&l->bufs)))
		free(v);
	while ((v = pool_get(&l->pipes))) {
		close(PIPE_RFD(v));
		close(PIPE_WFD(v));
	}
	free(l->bufs.items);
	free(l->pipes.items);
}

/* ---- per-direction queue ---- */

static uint32_t dir_queued(const struct vsp_dir *d)
{
	return d->buf ? d->len : d->plen;
}

static uint32_t dir_cap(const struct vsp_conn *c, const struct vsp_dir *d)
{
	return d->pfd[0] >= 0 ? c->loop->pipe_cap : vsp_opts.bufsize;
}

static bool dir_has_store(const struct vsp_dir *d)
{
	return d->buf || d->pfd[0] >= 0;
}

/* Take a pipe (both ends TCP) or a buffer for an empty direction. */
static int dir_acquire(struct vsp_conn *c, struct vsp_dir *d)
{
	if (c->splice && !pipe_get(c->loop, d->pfd))
		return 0;
	d->buf = buf_get(c->loop);
	d->head = d->len = 0;
	return d->buf ? 0 : -1;
}

/* Give an empty direction's store back to the loop. */
static void dir_release(struct vsp_conn *c, struct vsp_dir *d)
{
	int i = d - c->dir;

	STAT_ADD(c->loop->stats.queued[i], -(int64_t)dir_queued(d));
	if (d->buf) {
		buf_put(c->loop, d->buf);
		d->buf = NULL;
	}
	if (d->pfd[0] >= 0) {
		if (d->plen) {		/* holds stale bytes: do not reuse */
			close(d->pfd[0]);
			close(d->pfd[1]);
			d->pfd[0] = d->pfd[1] = -1;
		} else {
			pipe_put(c->loop, d->pfd);
		}
	}
	d->head = d->len = d->plen = 0;
}

/*
 * Read from src into the queue: >0 bytes, 0 EOF, -1 errno.  *drained says
 * that a short read emptied the socket: edge-triggered epoll reports the
 * next arrival, so the extra read that would only say EAGAIN is saved.  Not
 * for a pipe, which may be short of slots rather than of bytes.
 */
static ssize_t dir_fill(struct vsp_conn *c, struct vsp_dir *d, int fd, bool *drained)
{
	uint32_t cap = vsp_opts.bufsize;
	uint32_t tail, room;
	struct iovec iov[2];
	ssize_t ret;
	int n = 1;

	*drained = false;

	if (d->pfd[0] >= 0)
		return splice(fd, NULL, d->pfd[1], NULL, c->loop->pipe_cap - d->plen,
			      SPLICE_F_NONBLOCK | SPLICE_F_MOVE);

	tail = (d->head + d->len) % cap;
	room = cap - d->len;
	iov[0].iov_base = d->buf + tail;
	iov[0].iov_len = room < cap - tail ? room : cap - tail;
	/*
	 * One segment at a time from a socket in the sockmap: its recvmsg
	 * (6.12) hands a read spread over two segments wrong bytes past the
	 * first.
	 */
	if (iov[0].iov_len < room && d->kstate == VSP_K_OFF) {
		iov[1].iov_base = d->buf;
		iov[1].iov_len = room - iov[0].iov_len;
		n = 2;
	}
	ret = readv(fd, iov, n);
	*drained = ret > 0 && (uint32_t)ret < room;
	return ret;
}

/* Write the queue to dst: >0 bytes, -1 errno. */
static ssize_t dir_flush(struct vsp_conn *c, struct vsp_dir *d, int fd)
{
	uint32_t cap = vsp_opts.bufsize;
	struct iovec iov[2];
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 1 };

	if (d->pfd[0] >= 0)
		return splice(d->pfd[0], NULL, fd, NULL, d->plen,
			      SPLICE_F_NONBLOCK | SPLICE_F_MOVE);

	iov[0].iov_base = d->buf + d->head;
	iov[0].iov_len = d->len < cap - d->head ? d->len : cap - d->head;
	if (iov[0].iov_len < d->len) {
		iov[1].iov_base = d->buf;
		iov[1].iov_len = d->len - iov[0].iov_len;
		msg.msg_iovlen = 2;
	}
	return sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* ---- addresses for messages ---- */

static const char *peer_text(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (getpeername(fd, (struct sockaddr *)&ss, &sl)) {
		snprintf(out, len, "?");
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
		snprintf(out, len, "tcp:%s:%u", host, ntohs(s->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
		snprintf(out, len, "tcp:[%s]:%u", host, ntohs(s->sin6_port));
	} else if (ss.ss_family == AF_VSOCK) {
		struct sockaddr_vm *s = (struct sockaddr_vm *)&ss;

		snprintf(out, len, "vsock:%u:%u", s->svm_cid, s->svm_port);
	} else {
		snprintf(out, len, "family %d", ss.ss_family);
	}
	return out;
}

static const char *target_text(const struct vsp_conn *c)
{
	return vsp_opts.maps[c->map].target.text;
}

/* ---- closing ---- */

static void side_close(struct vsp_side *s, bool reset)
{
	if (s->fd < 0)
		return;
	if (reset && s->tcp) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(s->fd);
	s->fd = -1;
}

static void connecting_del(struct vsp_conn *c)
{
	struct vsp_loop *l = c->loop;

	if (c->cprev)
		c->cprev->cnext = c->cnext;
	else if (l->connecting == c)
		l->connecting = c->cnext;
	if (c->cnext)
		c->cnext->cprev = c->cprev;
	else if (l->connecting_tail == c)
		l->connecting_tail = c->cprev;
	c->cnext = c->cprev = NULL;
}

/*
 * Close both sides; reset[i] sends a reset to side i instead of a FIN.
 * The struct stays allocated until the loop finishes its event batch, as
 * later events of the batch may still point at it.
 */
static void flushing_del(struct vsp_conn *c)
{
	struct vsp_conn **pp;

	for (pp = &c->loop->flushing; *pp; pp = &(*pp)->fnext) {
		if (*pp == c) {
			*pp = c->fnext;
			break;
		}
	}
	c->on_flush = false;
}

/* Which path the connection took, and why not the kernel's. */
static void conn_count_path(struct vsp_conn *c)
{
	struct vsp_loop *l = c->loop;

	if (c->kcounted) {
		STAT_ADD(l->stats.path_kernel, 1);
		return;
	}
	STAT_ADD(l->stats.path_user, 1);
	if (c->fallback >= 0)
		STAT_ADD(l->stats.fallbacks[c->fallback], 1);
	else if (c->dir[0].kstate != VSP_K_OFF || c->dir[1].kstate != VSP_K_OFF)
		STAT_ADD(l->stats.fallbacks[VSP_F_NEVER_IDLE], 1);
}

static void conn_close(struct vsp_conn *c, bool reset0, bool reset1)
{
	struct vsp_loop *l = c->loop;
	uint64_t kbytes[2];
	int i;

	if (c->state == VSP_CLOSED)
		return;
	if (c->state == VSP_CONNECTING)
		connecting_del(c);
	else
		conn_count_path(c);
	c->state = VSP_CLOSED;
	if (c->on_flush)
		flushing_del(c);
	if (c->slot[0] >= 0 || c->slot[1] >= 0) {
		vsp_splice_detach(c, kbytes);
		for (i = 0; i < 2; i++)
			STAT_ADD(l->stats.bytes[i], kbytes[i]);
	}

	side_close(&c->side[0], reset0);
	side_close(&c->side[1], reset1);
	for (i = 0; i < 2; i++)
		dir_release(c, &c->dir[i]);

	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	l->nr_conns--;
	__atomic_fetch_sub(&vsp_active, 1, __ATOMIC_RELAXED);
	STAT_ADD(l->stats.closed, 1);

	if (!c->on_ready) {		/* the ready list frees it otherwise */
		c->rnext = l->dead;
		l->dead = c;
	}
	p_dbg("conn %llu: closed%s", (unsigned long long)c->id,
	      reset0 || reset1 ? " (reset)" : "");
}

void vsp_conn_free(struct vsp_conn *c)
{
	free(c);
}

void vsp_conn_abort(struct vsp_conn *c)
{
	conn_close(c, true, true);
}

/* Side idx failed with err: pass a reset on to the other side. */
static void conn_fail(struct vsp_conn *c, int idx, int err, const char *op)
{
	struct vsp_loop *l = c->loop;
	bool reset = err == ECONNRESET || err == EPIPE;

	STAT_ADD(l->stats.errors[reset ? VSP_E_RESET : VSP_E_IO], 1);
	if (vsp_opts.verbose)
		p_info("conn %llu: %s %s: %s, resetting %s", (unsigned long long)c->id,
		       op, idx ? "target" : "client", strerror(err),
		       idx ? "client" : "target");
	conn_close(c, true, true);
}

/* The target cannot be reached: count it, say so, reset the client. */
static void conn_refuse(struct vsp_conn *c, enum vsp_error why, const char *what)
{
	struct vsp_loop *l = c->loop;
	char peer[80];

	STAT_ADD(l->stats.errors[why], 1);
	STAT_ADD(l->stats.failed, 1);
	if (vsp_ratelimit(&l->rl_connect))
		p_err("connect to %s: %s (client %s closed)", target_text(c), what,
		      peer_text(c->side[0].fd, peer, sizeof(peer)));
	conn_close(c, true, false);
}

/* ---- the kernel path ---- */

static void flushing_add(struct vsp_conn *c)
{
	if (c->on_flush)
		return;
	c->on_flush = true;
	c->fnext = c->loop->flushing;
	c->loop->flushing = c;
}

static const char *const dir_names[2] = { "c2t", "t2c" };

/*
 * A read said EOF: is it the end?  A socket whose other direction is in
 * the kernel shares its sockmap queue between the bytes sent on into it and
 * the bytes passed up from it, and the latter may still wait there, behind
 * the former, when the EOF is already known: then the count of bytes passed
 * up is ahead of what user space has read.
 */
static bool eof_complete(struct vsp_conn *c, int i)
{
	struct vsp_dir *d = &c->dir[i];
	uint64_t passed;

	if (d->kstate != VSP_K_SWITCH)
		return true;
	if (vsp_splice_counts(c->slot[i], &passed, NULL))
		return true;
	return passed == d->pb + d->rb;
}

/*
 * Direction i holds nothing in user space: let the kernel have it, if it
 * has passed up no byte that user space has not written on yet.
 */
static void dir_switch(struct vsp_conn *c, int i)
{
	struct vsp_dir *d = &c->dir[i];
	uint64_t acked = d->pb + d->rb, passed;

	vsp_splice_ctl(c->slot[i], acked, false);
	d->released = true;
	if (vsp_splice_counts(c->slot[i], &passed, NULL) || passed != acked)
		return;		/* more came up meanwhile: read it, try again */
	d->kstate = VSP_K_ON;
	dir_release(c, d);
	if (!c->kcounted) {
		c->kcounted = true;
		c->fallback = -1;
	}
	if (vsp_opts.verbose)
		p_dbg("conn %llu: %s in the kernel after %llu bytes in user space",
		      (unsigned long long)c->id, dir_names[i], (unsigned long long)d->written);
}

/* Both directions in the kernel (or ended): only EOF and errors matter now. */
static void conn_kernel_events(struct vsp_conn *c)
{
	struct epoll_event ev = { .events = EPOLLRDHUP | EPOLLET };
	int i;

	for (i = 0; i < 2; i++)
		if (c->dir[i].kstate != VSP_K_ON && !c->dir[i].done)
			return;
	for (i = 0; i < 2; i++) {
		ev.data.ptr = &c->side[i];
		epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->side[i].fd, &ev);
	}
	c->kevents = true;
}

/* Pass on the EOFs whose bytes have all gone through. */
static void conn_flush(struct vsp_conn *c)
{
	int i, waiting = 0, reread = 0;

	for (i = 0; i < 2; i++) {
		struct vsp_dir *d = &c->dir[i];
		struct vsp_side *dst = &c->side[!i];

		if (d->eof_wait) {
			/* Read again: the bytes may have come up unannounced. */
			d->eof_wait = false;
			c->side[i].readable = true;
			reread++;
		}

		if (!d->flush || d->done)
			continue;
		if (!vsp_splice_flushed(c, i)) {
			waiting++;
			continue;
		}
		if (shutdown(dst->fd, SHUT_WR) && errno != ENOTCONN) {
			conn_fail(c, !i, errno, "shutdown");
			return;
		}
		dst->shut_wr = true;
		d->done = true;
		d->flush = false;
	}
	if (c->dir[0].done && c->dir[1].done) {
		conn_close(c, false, false);
		return;
	}
	if (waiting)
		flushing_add(c);
	if (reread)
		vsp_conn_run(c);
}

void vsp_conn_flush_all(struct vsp_loop *l)
{
	struct vsp_conn *c = l->flushing, *next;

	l->flushing = NULL;
	for (; c; c = next) {
		next = c->fnext;
		c->on_flush = false;
		if (c->state == VSP_OPEN)
			conn_flush(c);
	}
}

/* ---- moving bytes ---- */

enum { PUMP_IDLE, PUMP_MORE, PUMP_CLOSED };

static int pump(struct vsp_conn *c, int i)
{
	struct vsp_dir *d = &c->dir[i];
	struct vsp_side *src = &c->side[i], *dst = &c->side[!i];
	bool open = c->state == VSP_OPEN;
	size_t moved = 0;
	ssize_t n;

	for (;;) {
		bool progress = false;

		if (dir_queued(d) && dst->writable && open) {
			n = dir_flush(c, d, dst->fd);
			if (n > 0) {
				if (d->buf) {
					d->head = (d->head + n) % vsp_opts.bufsize;
					d->len -= n;
				} else {
					d->plen -= n;
				}
				STAT_ADD(c->loop->stats.queued[i], -n);
				STAT_ADD(c->loop->stats.bytes[i], n);
				d->written += n;
				moved += n;
				progress = true;
				if (!dir_queued(d))
					dir_release(c, d);
			} else if (errno == EAGAIN || errno == EINTR) {
				dst->writable = errno == EINTR;
			} else {
				conn_fail(c, !i, errno, "write to");
				return PUMP_CLOSED;
			}
		}

		if (src->readable && !src->eof && d->kstate != VSP_K_ON &&
		    (!dir_has_store(d) || dir_queued(d) < dir_cap(c, d))) {
			bool drained;

			if (!dir_has_store(d) && dir_acquire(c, d)) {
				STAT_ADD(c->loop->stats.errors[VSP_E_NOMEM], 1);
				p_err("conn %llu: no buffer: %s", (unsigned long long)c->id,
				      strerror(errno));
				conn_close(c, true, true);
				return PUMP_CLOSED;
			}
			/* The baseline needs a read that found nothing (splice.c). */
			if (d->kstate == VSP_K_BASE &&
			    vsp_splice_counts(c->slot[i], &d->p0, NULL))
				d->p0 = UINT64_MAX;
			n = dir_fill(c, d, src->fd, &drained);
			if (n > 0) {
				if (d->buf)
					d->len += n;
				else
					d->plen += n;
				d->rb += n;
				if (drained && !src->hup && d->kstate != VSP_K_BASE)
					src->readable = false;
				STAT_ADD(c->loop->stats.queued[i], n);
				progress = true;
			} else if (n == 0 && !eof_complete(c, i)) {
				/* Bytes passed up are still on their way: wait for them. */
				src->readable = false;
				d->eof_wait = true;
				flushing_add(c);
			} else if (n == 0) {
				src->eof = true;
				progress = true;
			} else if (errno == EAGAIN) {
				/*
				 * A pipe fills by slots, not bytes: with bytes in it, EAGAIN
				 * may mean "pipe full" rather than "socket empty", so keep
				 * trying after the next flush.
				 */
				if (!d->plen)
					src->readable = false;
				if (d->kstate == VSP_K_BASE && d->p0 != UINT64_MAX) {
					d->kstate = VSP_K_SWITCH;
					d->pb = d->p0;
					d->rb = 0;
				}
			} else if (errno != EINTR) {
				conn_fail(c, i, errno, "read from");
				return PUMP_CLOSED;
			}
			if (!dir_queued(d))
				dir_release(c, d);
		}

		if (!progress)
			break;
		if (moved >= BUDGET(vsp_opts.bufsize))
			return PUMP_MORE;
	}

	/*
	 * Not while the other direction has no baseline: bytes this one
	 * redirected would share the other socket's queue with bytes passed
	 * up there, and delay those past the read that sets the baseline.
	 */
	if (d->kstate == VSP_K_SWITCH && c->dir[!i].kstate != VSP_K_BASE &&
	    !dir_queued(d) && !src->readable && !src->eof && open)
		dir_switch(c, i);

	if (src->eof && !d->done && !dir_queued(d) && open && d->released) {
		/* The kernel may still hold bytes from before the EOF. */
		if (!d->flush) {
			d->flush = true;
			flushing_add(c);
		}
	} else if (src->eof && !d->done && !dir_queued(d) && open) {
		/* Half-close: pass the EOF on, keep the other direction open. */
		if (shutdown(dst->fd, SHUT_WR) && errno != ENOTCONN) {
			conn_fail(c, !i, errno, "shutdown");
			return PUMP_CLOSED;
		}
		dst->shut_wr = true;
		d->done = true;
	}
	return PUMP_IDLE;
}

void vsp_conn_run(struct vsp_conn *c)
{
	int i, r, more = 0;

	for (i = 0; i < 2; i++) {
		r = pump(c, i);
		if (r == PUMP_CLOSED)
			return;
		more |= r == PUMP_MORE;
	}
	if (!c->kevents && c->kcounted)
		conn_kernel_events(c);
	if (c->dir[0].done && c->dir[1].done) {
		if (vsp_opts.verbose > 1)
			p_dbg("conn %llu: both directions done", (unsigned long long)c->id);
		conn_close(c, false, false);
		return;
	}
	if (more)
		vsp_loop_add_ready(c->loop, c);
}

/* ---- connecting ---- */

static void connect_done(struct vsp_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->side[1].fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		conn_refuse(c, VSP_E_CONNECT, strerror(err));
		return;
	}
	connecting_del(c);
	c->state = VSP_OPEN;
	c->side[1].writable = true;
	if (vsp_opts.verbose > 1)
		p_dbg("conn %llu: connected to %s", (unsigned long long)c->id,
		      target_text(c));
	if (c->ksplice) {
		int r = vsp_splice_attach(c);

		if (r == -VSP_F_NR) {
			/* Bytes lost with a socket taken out of the sockmap. */
			conn_fail(c, 0, EPIPE, "sockmap removal on");
			return;
		}
		if (r < 0) {
			c->fallback = -r;
			p_dbg("conn %llu: user space (%s)", (unsigned long long)c->id,
			      vsp_fallback_name(-r));
		} else {
			/* A read that finds nothing sets each baseline. */
			c->side[0].readable = c->side[1].readable = true;
		}
	}
}

void vsp_conn_timeout(struct vsp_conn *c)
{
	char what[64];

	snprintf(what, sizeof(what), "timed out after %d ms",
		 vsp_opts.connect_timeout_ms);
	conn_refuse(c, VSP_E_TIMEOUT, what);
}

void vsp_conn_event(struct vsp_side *s, uint32_t events)
{
	struct vsp_conn *c = s->conn;

	if (c->state == VSP_CLOSED)
		return;
	if (c->state == VSP_CONNECTING && s->idx == 1) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		connect_done(c);
		if (c->state == VSP_CLOSED)
			return;
	}
	if ((events & EPOLLERR) && (c->dir[0].released || c->dir[1].released)) {
		/* Nothing reads this socket: ask for the error. */
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_fail(c, s->idx, err, "error on");
			return;
		}
	}
	if (c->dir[s->idx].kstate == VSP_K_ON && (events & (EPOLLRDHUP | EPOLLHUP)))
		s->eof = true;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		s->readable = true;
	/* The EOF or error is already queued: no later edge will say so. */
	if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		s->hup = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		s->writable = true;
	vsp_conn_run(c);
}

static int side_setup(struct vsp_conn *c, int idx, int fd, int family)
{
	struct vsp_side *s = &c->side[idx];
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = s,
	};
	int one = 1;

	s->ev.type = VSP_EV_SIDE;
	s->conn = c;
	s->idx = idx;
	s->fd = fd;
	s->tcp = family != AF_VSOCK;
	if (s->tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return epoll_ctl(c->loop->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int target_socket(const struct vs_addr *t)
{
	int fd = vs_socket(t->family, VS_SOCK_NONBLOCK);

	if (fd < 0)
		errno = -fd;
	return fd;
}

/*
 * Take over an accepted client fd (already counted in vsp_active) and start
 * connecting to the mapping's target.
 */
void vsp_conn_new(struct vsp_loop *l, int fd, int map)
{
	const struct vsp_map *m = &vsp_opts.maps[map];
	struct vsp_conn *c = calloc(1, sizeof(*c));
	int tfd, i, rc;

	STAT_ADD(l->stats.accepted, 1);
	if (!c) {
		STAT_ADD(l->stats.errors[VSP_E_NOMEM], 1);
		STAT_ADD(l->stats.failed, 1);
		STAT_ADD(l->stats.closed, 1);
		__atomic_fetch_sub(&vsp_active, 1, __ATOMIC_RELAXED);
		close(fd);
		return;
	}
	c->loop = l;
	c->map = map;
	c->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	c->state = VSP_CONNECTING;
	c->side[0].fd = c->side[1].fd = -1;
	c->slot[0] = c->slot[1] = -1;
	c->fallback = -1;
	for (i = 0; i < 2; i++)
		c->dir[i].pfd[0] = c->dir[i].pfd[1] = -1;
	c->splice = !vsp_opts.no_splice && m->listen.family != AF_VSOCK &&
		    m->target.family != AF_VSOCK;
	if (vsp_opts.splice != VSP_SPLICE_USER) {
		if (m->listen.family == AF_VSOCK && m->target.family == AF_VSOCK)
			c->fallback = VSP_F_FAMILY;
		else if (!vsp_splice_on)
			c->fallback = VSP_F_UNSUPPORTED;
		else
			c->ksplice = true;
		/* splice() would read around the sockmap's queue. */
		if (c->ksplice)
			c->splice = false;
	}

	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	l->nr_conns++;

	/* On the connecting list first, so that failures below unlink it. */
	c->deadline = vsp_now_ms() + vsp_opts.connect_timeout_ms;
	c->cprev = l->connecting_tail;
	if (l->connecting_tail)
		l->connecting_tail->cnext = c;
	else
		l->connecting = c;
	l->connecting_tail = c;

	if (side_setup(c, 0, fd, m->listen.family)) {
		c->side[0].fd = fd;
		STAT_ADD(l->stats.errors[VSP_E_IO], 1);
		STAT_ADD(l->stats.failed, 1);
		p_err("epoll_ctl(client): %s", strerror(errno));
		conn_close(c, true, true);
		return;
	}

	tfd = target_socket(&m->target);
	if (tfd < 0) {
		enum vsp_error e = errno == EMFILE || errno == ENFILE ?
				   VSP_E_FD_LIMIT : VSP_E_CONNECT;
		char what[96];

		snprintf(what, sizeof(what), "socket: %s", strerror(errno));
		conn_refuse(c, e, what);
		return;
	}
	/* VSOCK's own connect timer would fire first (2 s by default). */
	rc = vs_connect(tfd, &m->target, (uint64_t)vsp_opts.connect_timeout_ms * 1000000ull);
	if (rc && rc != -EINPROGRESS) {
		char what[96];

		snprintf(what, sizeof(what), "%s", strerror(-rc));
		close(tfd);
		conn_refuse(c, VSP_E_CONNECT, what);
		return;
	}
	if (side_setup(c, 1, tfd, m->target.family)) {
		char what[96];

		snprintf(what, sizeof(what), "epoll_ctl: %s", strerror(errno));
		c->side[1].fd = tfd;
		conn_refuse(c, VSP_E_IO, what);
		return;
	}
	/* Completion (or failure) arrives as EPOLLOUT/EPOLLERR on the target. */
	if (vsp_opts.verbose) {
		char peer[80];

		p_dbg("conn %llu: %s -> %s", (unsigned long long)c->id,
		      peer_text(fd, peer, sizeof(peer)), m->target.text);
	}
}
