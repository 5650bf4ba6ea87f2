/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vsproxy: TCP <-> VSOCK stream proxy.
 *
 * Implementation notes
 *
 * Objects: one struct vsp_loop per thread (an epoll set, its connections,
 * its own TCP listening sockets bound with SO_REUSEPORT, a handoff queue),
 * struct vsp_conn for a proxied connection (two sides, two directions).
 * A connection lives on exactly one loop and is only touched by that loop's
 * thread; nothing in it is locked.  VSOCK has no SO_REUSEPORT, so a VSOCK
 * listener belongs to one loop, which accepts and hands the new descriptor
 * to the loops in turn through their handoff queue (mutex + eventfd).
 *
 * Every socket is non-blocking and registered once, edge-triggered, for
 * input and output; the loop keeps "readable"/"writable" flags per side and
 * clears them only on EAGAIN, so no epoll_ctl() is needed per transfer.
 *
 * Direction 0 carries client -> target, direction 1 target -> client.  A
 * direction moves bytes through a pipe with splice() when both ends are TCP,
 * otherwise through a user-space ring buffer; either is taken from a
 * per-loop pool when the first byte arrives and given back when it drains,
 * so idle connections hold no memory beyond their struct.
 *
 * Counters are per loop, written only by the owning thread with relaxed
 * atomic stores, and summed by the main thread when it prints them.
 */
#ifndef VSPROXY_H
#define VSPROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include "addr.h"
#include "cli.h"

#define VSP_NAME	"vsproxy"

/* ---- options and mappings (vsproxy.c, config.c) ---- */

struct vsp_map {
	struct vs_addr listen;
	struct vs_addr target;
	const char *where;		/* "CONFIG:LINE" or "command line" */
};

struct vsp_opts {
	struct vsp_map *maps;
	int nr_maps;
	int threads;
	uint32_t bufsize;		/* per direction */
	int connect_timeout_ms;
	int drain_timeout_ms;
	long max_conns;			/* 0: no limit */
	int stats_interval_ms;		/* 0: only on SIGUSR1 */
	bool json;
	const char *stats_file;
	bool no_splice;
	int verbose;
};

extern struct vsp_opts vsp_opts;

int vsp_config_load(const char *path, struct vsp_opts *o);
int vsp_map_add(struct vsp_opts *o, const char *listen, const char *target,
		const char *where);

/*
 * ---- messages: p_err() and p_info() of cli.h (one line, one write, so
 * the lines of different threads do not mix); p_dbg() with -v only ----
 */
#define p_dbg(...)	do { if (vsp_opts.verbose) p_info(__VA_ARGS__); } while (0)

/* At most burst messages per second per limiter; says how many it dropped. */
struct vsp_ratelimit {
	int64_t window;
	int printed;
	int missed;
};
bool vsp_ratelimit(struct vsp_ratelimit *rl);

int64_t vsp_now_ms(void);

/* ---- counters (stats.c) ---- */

#define VSP_ERRORS(X)						\
	X(ACCEPT,	"accept")	/* accept() failed */		\
	X(FD_LIMIT,	"fd_limit")	/* EMFILE/ENFILE: refused */	\
	X(MAX_CONNS,	"max_conns")	/* --max-conns: refused */	\
	X(CONNECT,	"connect")	/* target refused/unreachable */ \
	X(TIMEOUT,	"connect_timeout")				\
	X(RESET,	"reset")	/* a peer reset, propagated */	\
	X(IO,		"io")		/* other read/write errors */	\
	X(NOMEM,	"nomem")	/* no buffer or pipe */

enum vsp_error {
#define X(id, name) VSP_E_##id,
	VSP_ERRORS(X)
#undef X
	VSP_E_NR
};

struct vsp_stats {
	uint64_t accepted;
	uint64_t closed;
	uint64_t failed;		/* never reached the target */
	uint64_t refused;		/* closed at once: limits */
	uint64_t bytes[2];		/* per direction, delivered */
	int64_t queued[2];		/* per direction, held by us now */
	uint64_t errors[VSP_E_NR];
};

#define STAT_ADD(field, n)						\
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)

void vsp_stats_print(const char *why);
const char *vsp_error_name(enum vsp_error e);

/* ---- event loop (loop.c) ---- */

enum vsp_ev_type { VSP_EV_SIDE, VSP_EV_LISTENER, VSP_EV_WAKE };

/* First member of everything registered with epoll. */
struct vsp_ev {
	enum vsp_ev_type type;
};

struct vsp_listener {
	struct vsp_ev ev;
	int fd;
	int map;			/* index in vsp_opts.maps */
	bool handoff;			/* VSOCK: share accepted fds round-robin */
	bool paused;			/* fd limit hit: retry on the next tick */
	struct vsp_listener *next;
};

struct vsp_handoff {
	int fd;
	int map;
};

struct vsp_conn;

struct vsp_pool {
	void **items;
	int nr, max;
};

struct vsp_loop {
	struct vsp_ev wake_ev;
	int id;
	int epfd;
	int wakefd;			/* eventfd: handoff and stop */
	int reserve_fd;			/* spare fd for accept-and-close */
	pthread_t thread;

	struct vsp_listener *listeners;

	pthread_mutex_t lock;		/* protects handoff[] */
	struct vsp_handoff *handoff;
	int nr_handoff, max_handoff;

	struct vsp_conn *conns;		/* all live connections */
	long nr_conns;
	struct vsp_conn *connecting;	/* FIFO by deadline: one timeout for all */
	struct vsp_conn *connecting_tail;
	struct vsp_conn *ready;		/* ran out of budget: continue soon */
	struct vsp_conn *dead;		/* freed after the current batch */

	struct vsp_pool bufs;		/* free ring buffers */
	struct vsp_pool pipes;		/* free pipes (two fds packed) */
	uint32_t pipe_cap;

	struct vsp_ratelimit rl_connect, rl_accept;
	struct vsp_stats stats;
};

extern struct vsp_loop *vsp_loops;
extern int vsp_nr_loops;
extern volatile int vsp_stopping;	/* stop accepting, drain */
extern volatile int vsp_force;		/* drain timed out: close all */
extern long vsp_active;			/* all loops, atomic */
extern int vsp_running;			/* loops not yet returned, atomic */

int vsp_loops_init(void);
int vsp_loops_start(void);
void vsp_loops_wake(void);
void vsp_loops_join(void);
void vsp_loop_accepted(struct vsp_loop *l, int fd, int map);
void vsp_loop_add_ready(struct vsp_loop *l, struct vsp_conn *c);

/* ---- connections (conn.c) ---- */

struct vsp_side {
	struct vsp_ev ev;
	struct vsp_conn *conn;
	int fd;
	uint8_t idx;			/* 0 client, 1 target */
	bool tcp;
	bool readable, writable;
	bool hup;			/* peer closed or failed: read to the end */
	bool eof;			/* read returned 0 */
	bool shut_wr;			/* we shut down its write side */
};

struct vsp_dir {
	/* copy mode: ring buffer */
	char *buf;
	uint32_t head, len;
	/* splice mode: pipe */
	int pfd[2];
	uint32_t plen;
	bool done;			/* EOF forwarded */
};

enum vsp_conn_state { VSP_CONNECTING, VSP_OPEN, VSP_CLOSED };

struct vsp_conn {
	struct vsp_loop *loop;
	struct vsp_side side[2];
	struct vsp_dir dir[2];
	enum vsp_conn_state state;
	bool splice;
	bool on_ready;
	int map;
	uint64_t id;
	int64_t deadline;		/* connect deadline, ms */
	struct vsp_conn *next, *prev;	/* loop->conns */
	struct vsp_conn *cnext, *cprev;	/* loop->connecting */
	struct vsp_conn *rnext;		/* loop->ready or loop->dead */
};

void vsp_conn_new(struct vsp_loop *l, int fd, int map);
void vsp_conn_event(struct vsp_side *s, uint32_t events);
void vsp_conn_run(struct vsp_conn *c);
void vsp_conn_timeout(struct vsp_conn *c);
void vsp_conn_abort(struct vsp_conn *c);
void vsp_conn_free(struct vsp_conn *c);
void vsp_pools_free(struct vsp_loop *l);

#endif
