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
 *
 * Kernel path (splice.c, --splice kernel|auto): once the target is
 * connected, both sockets join the sockmap of bpf/vsproxy_splice.bpf.c,
 * held: the verdict passes every skb up and the connection runs as above
 * (copying, never splice(), which would bypass the sockmap's queue).  Each
 * direction then hands itself over when user space holds none of its bytes
 * (protocol in include/uapi/vsproxy_splice.h): from then on its bytes go
 * from one socket's receive path to the other's send path in the kernel.
 * Once both directions are over, the sockets stay registered for EPOLLRDHUP
 * only: user space still sees EOF, reset and errors, and passes an EOF on
 * (shutdown) only once every byte before it has reached the other socket:
 * the source has no byte left before the verdict (TCP: SIOCINQ is 0), and
 * the bytes the kernel sent into the destination (counted by the fexit
 * program) have caught up with the bytes redirected to it.
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

enum vsp_splice_mode { VSP_SPLICE_AUTO, VSP_SPLICE_KERNEL, VSP_SPLICE_USER };

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
	enum vsp_splice_mode splice;
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

/* Why a connection stayed in user space with --splice kernel|auto. */
#define VSP_FALLBACKS(X)						\
	X(UNSUPPORTED,	"unsupported")	/* the kernel cannot (said at start) */ \
	X(FAMILY,	"vsock_vsock")	/* no TCP side to order the EOF by */ \
	X(SLOTS,	"slots")	/* no free sockmap slot */	\
	X(INSERT,	"insert")	/* the kernel refused a socket */ \
	X(NEVER_IDLE,	"never_idle")	/* ended before a direction could switch */

enum vsp_fallback {
#define X(id, name) VSP_F_##id,
	VSP_FALLBACKS(X)
#undef X
	VSP_F_NR
};

struct vsp_stats {
	uint64_t accepted;
	uint64_t closed;
	uint64_t failed;		/* never reached the target */
	uint64_t refused;		/* closed at once: limits */
	uint64_t bytes[2];		/* per direction, delivered */
	int64_t queued[2];		/* per direction, held by us now */
	uint64_t errors[VSP_E_NR];
	uint64_t path_kernel;		/* closed; a direction went through the kernel */
	uint64_t path_user;		/* closed; all in user space */
	uint64_t fallbacks[VSP_F_NR];
};

#define STAT_ADD(field, n)						\
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)

void vsp_stats_print(const char *why);
const char *vsp_error_name(enum vsp_error e);
const char *vsp_fallback_name(enum vsp_fallback f);

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
	struct vsp_conn *flushing;	/* kernel path: EOF waits for its bytes */

	int *free_slots;		/* sockmap slots of this loop */
	int nr_free_slots;

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

/* A direction's path, kernel side (see "Kernel path" at the top). */
enum vsp_kstate {
	VSP_K_OFF,			/* user space only */
	VSP_K_BASE,			/* in the sockmap, held: no baseline yet */
	VSP_K_SWITCH,			/* held or handing over */
	VSP_K_ON,			/* in the kernel */
};

struct vsp_dir {
	/* copy mode: ring buffer */
	char *buf;
	uint32_t head, len;
	/* splice mode: pipe */
	int pfd[2];
	uint32_t plen;
	bool done;			/* EOF forwarded */
	/* kernel path */
	enum vsp_kstate kstate;
	bool released;			/* ctl written without hold once */
	bool flush;			/* EOF seen, waits for its bytes */
	bool eof_wait;			/* EOF read, passed bytes not yet up */
	uint64_t p0;			/* passed, read before the last read */
	uint64_t pb;			/* passed at the baseline */
	uint64_t rb;			/* bytes read since the baseline */
	uint64_t written;		/* bytes user space wrote on */
};

enum vsp_conn_state { VSP_CONNECTING, VSP_OPEN, VSP_CLOSED };

struct vsp_conn {
	struct vsp_loop *loop;
	struct vsp_side side[2];
	struct vsp_dir dir[2];
	enum vsp_conn_state state;
	bool splice;
	bool on_ready;
	bool on_flush;
	bool ksplice;			/* kernel path tried for this one */
	bool kevents;			/* registered for EPOLLRDHUP only */
	bool kcounted;			/* counted as kernel path */
	int8_t fallback;		/* enum vsp_fallback, or -1 */
	int slot[2];			/* sockmap slots, -1 if none */
	int map;
	uint64_t id;
	int64_t deadline;		/* connect deadline, ms */
	struct vsp_conn *next, *prev;	/* loop->conns */
	struct vsp_conn *cnext, *cprev;	/* loop->connecting */
	struct vsp_conn *rnext;		/* loop->ready or loop->dead */
	struct vsp_conn *fnext;		/* loop->flushing */
};

void vsp_conn_new(struct vsp_loop *l, int fd, int map);
void vsp_conn_event(struct vsp_side *s, uint32_t events);
void vsp_conn_run(struct vsp_conn *c);
void vsp_conn_timeout(struct vsp_conn *c);
void vsp_conn_abort(struct vsp_conn *c);
void vsp_conn_free(struct vsp_conn *c);
void vsp_pools_free(struct vsp_loop *l);
void vsp_conn_flush_all(struct vsp_loop *l);

/* ---- kernel path (splice.c) ---- */

extern bool vsp_splice_on;		/* the kernel path may be tried */

/* Probe once at start; -1 if --splice kernel cannot be had (said why). */
int vsp_splice_init(void);
int vsp_splice_loop_init(struct vsp_loop *l);
/* Both sockets into the sockmap, held; 0 or -enum vsp_fallback. */
int vsp_splice_attach(struct vsp_conn *c);
/* Close-time: give the slots back; bytes[i] the kernel moved per direction. */
void vsp_splice_detach(struct vsp_conn *c, uint64_t bytes[2]);
int vsp_splice_counts(int slot, uint64_t *passed, uint64_t *redirected);
void vsp_splice_ctl(int slot, uint64_t acked, bool hold);
/* Has everything before the source's EOF reached the destination? */
bool vsp_splice_flushed(struct vsp_conn *c, int i);

#endif
