// SPDX-License-Identifier: GPL-2.0
/*
 * Event loops: one thread and one epoll set per loop, listening sockets,
 * accepting (with the limits), handing VSOCK connections round-robin,
 * connect deadlines, and the drain on stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>
#include "sock.h"
#include "vsproxy.h"

#define MAX_EVENTS	256
#define ACCEPT_BATCH	64
#define PAUSE_MS	100	/* retry a listener paused on the fd limit */
#define LISTEN_BACKLOG	4096	/* clamped by net.core.somaxconn */

struct vsp_loop *vsp_loops;
int vsp_nr_loops;
volatile int vsp_stopping;
volatile int vsp_force;
long vsp_active;
int vsp_running;

/* ---- listening sockets ---- */

static const char *sockname_text(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		snprintf(out, len, "?");
	else if (ss.ss_family == AF_INET)
		snprintf(out, len, "tcp:%s:%u",
			 inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
				   host, sizeof(host)),
			 ntohs(((struct sockaddr_in *)&ss)->sin_port));
	else if (ss.ss_family == AF_INET6)
		snprintf(out, len, "tcp:[%s]:%u",
			 inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
				   host, sizeof(host)),
			 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	else
		snprintf(out, len, "vsock:%u:%u",
			 ((struct sockaddr_vm *)&ss)->svm_cid,
			 ((struct sockaddr_vm *)&ss)->svm_port);
	return out;
}

/*
 * After binding port 0 (any), give the other loops the port the kernel
 * chose, so that their SO_REUSEPORT sockets join the same group.
 */
static void fix_any_port(struct vs_addr *a, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return;
	if (a->family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = ((struct sockaddr_in *)&ss)->sin_port;
	else if (a->family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port = ((struct sockaddr_in6 *)&ss)->sin6_port;
	else if (a->family == AF_VSOCK)
		((struct sockaddr_vm *)&a->ss)->svm_port = ((struct sockaddr_vm *)&ss)->svm_port;
}

static int listener_open(struct vsp_loop *l, int map, bool announce)
{
	struct vsp_map *m = &vsp_opts.maps[map];
	struct vsp_listener *lis;
	struct epoll_event ev = { .events = EPOLLIN };
	const char *step;
	char name[128];
	int fd;

	fd = vs_listen((const struct sockaddr *)&m->listen.ss, m->listen.len,
		       VS_SOCK_NONBLOCK | VS_SOCK_REUSEPORT, LISTEN_BACKLOG, &step);
	if (fd < 0) {
		p_err("%s: %s %s: %s", m->where, step, m->listen.text, strerror(-fd));
		return -1;
	}
	fix_any_port(&m->listen, fd);

	lis = calloc(1, sizeof(*lis));
	if (!lis) {
		p_err("%s: %s", m->where, strerror(errno));
		goto err_close;
	}
	lis->ev.type = VSP_EV_LISTENER;
	lis->fd = fd;
	lis->map = map;
	lis->handoff = m->listen.family == AF_VSOCK && vsp_nr_loops > 1;
	ev.data.ptr = lis;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		p_err("epoll_ctl(listener): %s", strerror(errno));
		free(lis);
		goto err_close;
	}
	lis->next = l->listeners;
	l->listeners = lis;

	if (announce)
		p_info("listening on %s -> %s", sockname_text(fd, name, sizeof(name)),
		       m->target.text);
	return 0;

err_close:
	close(fd);
	return -1;
}

static void listeners_close(struct vsp_loop *l)
{
	struct vsp_listener *lis;

	while ((lis = l->listeners)) {
		l->listeners = lis->next;
		close(lis->fd);
		free(lis);
	}
}

/* ---- accepting ---- */

static void close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void listener_pause(struct vsp_loop *l, struct vsp_listener *lis, bool pause)
{
	struct epoll_event ev = { .events = pause ? 0 : EPOLLIN, .data.ptr = lis };

	if (lis->paused == pause)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_MOD, lis->fd, &ev);
	lis->paused = pause;
}

/*
 * Out of descriptors: the pending client would stay in the backlog (and
 * the level-triggered listener would spin), so use the reserve descriptor
 * to accept it and close it at once.  Connections already open go on.
 */
static void accept_fd_limit(struct vsp_loop *l, struct vsp_listener *lis, int err)
{
	int fd;

	STAT_ADD(l->stats.errors[VSP_E_FD_LIMIT], 1);
	STAT_ADD(l->stats.refused, 1);
	if (vsp_ratelimit(&l->rl_accept))
		p_err("accept on %s: %s: refusing new connections (%ld open)",
		      vsp_opts.maps[lis->map].listen.text, strerror(err),
		      __atomic_load_n(&vsp_active, __ATOMIC_RELAXED));
	if (l->reserve_fd >= 0) {
		close(l->reserve_fd);
		fd = accept4(lis->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close_reset(fd);
		l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (l->reserve_fd < 0)
		listener_pause(l, lis, true);
}

static bool handoff_push(struct vsp_loop *to, int fd, int map)
{
	uint64_t one = 1;
	bool ok = true;

	pthread_mutex_lock(&to->lock);
	if (to->nr_handoff == to->max_handoff) {
		int max = to->max_handoff ? to->max_handoff * 2 : 64;
		struct vsp_handoff *n = realloc(to->handoff, max * sizeof(*n));

		if (n) {
			to->handoff = n;
			to->max_handoff = max;
		} else {
			ok = false;
		}
	}
	if (ok)
		to->handoff[to->nr_handoff++] = (struct vsp_handoff){ fd, map };
	pthread_mutex_unlock(&to->lock);
	if (ok && write(to->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		p_err("handoff wake: %s", strerror(errno));
	return ok;
}

static void handoff_take(struct vsp_loop *l)
{
	struct vsp_handoff *h;
	uint64_t v;
	int i, n;

	if (read(l->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		p_err("eventfd read: %s", strerror(errno));

	pthread_mutex_lock(&l->lock);
	h = l->handoff;
	n = l->nr_handoff;
	l->handoff = NULL;
	l->nr_handoff = l->max_handoff = 0;
	pthread_mutex_unlock(&l->lock);

	for (i = 0; i < n; i++)
		vsp_conn_new(l, h[i].fd, h[i].map);
	free(h);
}

static void accept_one(struct vsp_loop *l, struct vsp_listener *lis, int fd)
{
	static unsigned int rr;
	struct vsp_loop *to = l;
	long active;

	if (vsp_stopping) {		/* raced with the stop: refuse */
		close_reset(fd);
		return;
	}
	if (vsp_opts.max_conns) {
		active = __atomic_load_n(&vsp_active, __ATOMIC_RELAXED);
		if (active >= vsp_opts.max_conns) {
			STAT_ADD(l->stats.errors[VSP_E_MAX_CONNS], 1);
			STAT_ADD(l->stats.refused, 1);
			if (vsp_ratelimit(&l->rl_accept))
				p_err("%ld connections open (--max-conns): refusing new ones",
				      active);
			close_reset(fd);
			return;
		}
	}
	__atomic_fetch_add(&vsp_active, 1, __ATOMIC_RELAXED);

	if (lis->handoff)
		to = &vsp_loops[__atomic_fetch_add(&rr, 1, __ATOMIC_RELAXED) % vsp_nr_loops];
	if (to != l && handoff_push(to, fd, lis->map))
		return;
	vsp_conn_new(l, fd, lis->map);
}

static void accept_ready(struct vsp_loop *l, struct vsp_listener *lis)
{
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(lis->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			accept_one(l, lis, fd);
			continue;
		}
		switch (errno) {
		case EAGAIN:
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			accept_fd_limit(l, lis, errno);
			continue;
		default:
			STAT_ADD(l->stats.errors[VSP_E_ACCEPT], 1);
			if (vsp_ratelimit(&l->rl_accept))
				p_err("accept on %s: %s", vsp_opts.maps[lis->map].listen.text,
				      strerror(errno));
			return;
		}
	}
}

/* ---- the loop ---- */

void vsp_loop_add_ready(struct vsp_loop *l, struct vsp_conn *c)
{
	if (c->on_ready)
		return;
	c->on_ready = true;
	c->rnext = l->ready;
	l->ready = c;
}

static void run_ready(struct vsp_loop *l)
{
	struct vsp_conn *c = l->ready, *next;

	l->ready = NULL;
	for (; c; c = next) {
		next = c->rnext;
		c->on_ready = false;
		if (c->state == VSP_CLOSED)
			vsp_conn_free(c);
		else
			vsp_conn_run(c);
	}
}

static void free_dead(struct vsp_loop *l)
{
	struct vsp_conn *c;

	while ((c = l->dead)) {
		l->dead = c->rnext;
		vsp_conn_free(c);
	}
}

static int loop_timeout(struct vsp_loop *l, int64_t now)
{
	struct vsp_listener *lis;
	int64_t t = -1;

	if (l->ready)
		return 0;
	if (l->flushing)
		t = 1;		/* the kernel path's EOFs: see conn.c */
	if (l->connecting) {
		int64_t d = l->connecting->deadline > now ? l->connecting->deadline - now : 0;

		if (t < 0 || d < t)
			t = d;
	}
	for (lis = l->listeners; lis; lis = lis->next)
		if (lis->paused && (t < 0 || t > PAUSE_MS))
			t = PAUSE_MS;
	if (vsp_stopping && (t < 0 || t > PAUSE_MS))
		t = PAUSE_MS;
	return (int)t;
}

static void expire_connecting(struct vsp_loop *l, int64_t now)
{
	while (l->connecting && l->connecting->deadline <= now)
		vsp_conn_timeout(l->connecting);
}

static void resume_listeners(struct vsp_loop *l)
{
	struct vsp_listener *lis;

	if (l->reserve_fd < 0)
		l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (lis = l->listeners; lis; lis = lis->next)
		if (lis->paused)
			listener_pause(l, lis, false);
}

static void *loop_main(void *arg)
{
	struct vsp_loop *l = arg;
	struct epoll_event evs[MAX_EVENTS];
	int i, n;

	for (;;) {
		if (vsp_force) {
			if (l->nr_conns)
				p_info("loop %d: closing %ld connections (drain timeout)",
				       l->id, l->nr_conns);
			while (l->conns)
				vsp_conn_abort(l->conns);
			run_ready(l);
			free_dead(l);
			break;
		}
		if (vsp_stopping) {
			listeners_close(l);
			if (!l->nr_conns && !l->nr_handoff)
				break;
		}

		n = epoll_wait(l->epfd, evs, MAX_EVENTS, loop_timeout(l, vsp_now_ms()));
		if (n < 0 && errno != EINTR) {
			p_err("epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			struct vsp_ev *ev = evs[i].data.ptr;

			switch (ev->type) {
			case VSP_EV_SIDE:
				vsp_conn_event((struct vsp_side *)ev, evs[i].events);
				break;
			case VSP_EV_LISTENER:
				accept_ready(l, (struct vsp_listener *)ev);
				break;
			case VSP_EV_WAKE:
				handoff_take(l);
				break;
			}
		}
		run_ready(l);
		vsp_conn_flush_all(l);
		expire_connecting(l, vsp_now_ms());
		free_dead(l);
		resume_listeners(l);
	}
	listeners_close(l);
	__atomic_fetch_sub(&vsp_running, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- set-up and tear-down (main thread) ---- */

static int loop_init(struct vsp_loop *l, int id)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &l->wake_ev };

	l->id = id;
	l->wake_ev.type = VSP_EV_WAKE;
	l->rl_connect.window = l->rl_accept.window = -1;
	pthread_mutex_init(&l->lock, NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		p_err("epoll_create1: %s", strerror(errno));
		return -1;
	}
	l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->wakefd < 0) {
		p_err("eventfd: %s", strerror(errno));
		return -1;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev)) {
		p_err("epoll_ctl(eventfd): %s", strerror(errno));
		return -1;
	}
	l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

int vsp_loops_init(void)
{
	int i, m;

	vsp_nr_loops = vsp_opts.threads;
	vsp_loops = calloc(vsp_nr_loops, sizeof(*vsp_loops));
	if (!vsp_loops) {
		p_err("%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < vsp_nr_loops; i++)
		if (loop_init(&vsp_loops[i], i) || vsp_splice_loop_init(&vsp_loops[i]))
			return -1;

	for (m = 0; m < vsp_opts.nr_maps; m++) {
		if (vsp_opts.maps[m].listen.family == AF_VSOCK) {
			/* No SO_REUSEPORT: one loop accepts and deals out. */
			if (listener_open(&vsp_loops[m % vsp_nr_loops], m, true))
				return -1;
			continue;
		}
		for (i = 0; i < vsp_nr_loops; i++)
			if (listener_open(&vsp_loops[i], m, i == 0))
				return -1;
	}
	return 0;
}

int vsp_loops_start(void)
{
	int i, err;

	vsp_running = vsp_nr_loops;
	for (i = 0; i < vsp_nr_loops; i++) {
		err = pthread_create(&vsp_loops[i].thread, NULL, loop_main, &vsp_loops[i]);
		if (err) {
			p_err("pthread_create: %s", strerror(err));
			return -1;
		}
	}
	return 0;
}

void vsp_loops_wake(void)
{
	uint64_t one = 1;
	int i;

	for (i = 0; i < vsp_nr_loops; i++)
		if (write(vsp_loops[i].wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			p_err("wake loop %d: %s", i, strerror(errno));
}

void vsp_loops_join(void)
{
	int i, j;

	for (i = 0; i < vsp_nr_loops; i++)
		pthread_join(vsp_loops[i].thread, NULL);
	for (i = 0; i < vsp_nr_loops; i++) {
		struct vsp_loop *l = &vsp_loops[i];

		/* Handed over after that loop had stopped: refuse them. */
		for (j = 0; j < l->nr_handoff; j++)
			close_reset(l->handoff[j].fd);
		free(l->handoff);
		free(l->free_slots);
		vsp_pools_free(l);
		close(l->epfd);
		close(l->wakefd);
		if (l->reserve_fd >= 0)
			close(l->reserve_fd);
	}
}
