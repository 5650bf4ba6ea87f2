// SPDX-License-Identifier: GPL-2.0
/*
 * The in-flight table: intervals that begin in one probe and end in another
 * (a packet queued by send_pkt and picked up by a worker, data made ready
 * on a socket and dequeued by its reader, ...).
 *
 * A fixed hash table, allocated once at load: VSTRACE_INFLIGHT_BUCKETS
 * buckets of VSTRACE_INFLIGHT_WAYS slots, each bucket under its own raw
 * spinlock.  Handlers never allocate.  An entry is keyed on (pointer, kind);
 * pointers are only compared, never dereferenced, so an entry outliving its
 * object is harmless: it is overwritten when the address comes back, or
 * reclaimed when its bucket is full.  A full bucket gives up an idle entry
 * first, else its oldest (normally one that is long stale: a packet dropped
 * on its way, a socket closed); losing an interval that was still being
 * timed counts VSTRACE_CTR_INFLIGHT_EXPIRED.  Live packet entries give the
 * TX queue depth (VSTRACE_CTR_TX_QUEUE_MAX).
 *
 * Locking: a bucket lock is taken with interrupts off, because handlers run
 * in any context (the virtqueue callback in hard IRQ) and the reset runs in
 * process context.  No other lock is taken under it.
 */
#include <linux/hash.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include "vstrace_internal.h"

#define VSTRACE_INFLIGHT_BITS		10
#define VSTRACE_INFLIGHT_BUCKETS	(1u << VSTRACE_INFLIGHT_BITS)
#define VSTRACE_INFLIGHT_WAYS		4	/* 4096 slots */

/*
 * A packet is in flight for microseconds, and for seconds only behind a
 * full ring; one older than this was dropped on its way and its address
 * may now belong to another packet.  Socket intervals (a reader that does
 * not read, a sender without credit) may legitimately last longer, have no
 * age limit, and are dropped when their socket is destroyed.
 */
#define VSTRACE_INFLIGHT_MAX_AGE_NS	(10 * NSEC_PER_SEC)

struct vstrace_inflight_bucket {
	raw_spinlock_t lock;
	struct vstrace_inflight slot[VSTRACE_INFLIGHT_WAYS];	/* under @lock */
};

/* Allocated at init, freed at exit after the probes are gone. */
static struct vstrace_inflight_bucket *vstrace_inflight_table;

/*
 * TX queue depth: packets handed to a transport's send_pkt and not yet
 * taken by its worker or virtqueue, i.e. live VSTRACE_IF_QUEUED_* entries,
 * counted where such an entry appears or goes (taken, stale, evicted,
 * reset), over all transports.  The deepest is kept for the session.
 */
static atomic_t vstrace_tx_queued = ATOMIC_INIT(0);
static atomic_t vstrace_tx_queued_max = ATOMIC_INIT(0);

static bool vstrace_queued_kind(u32 kind)
{
	return kind == VSTRACE_IF_QUEUED_LOOPBACK ||
	       kind == VSTRACE_IF_QUEUED_VIRTIO ||
	       kind == VSTRACE_IF_QUEUED_VHOST;
}

/* An entry of @kind appears (+1) or goes (-1). */
static void vstrace_queue_account(u32 kind, int delta)
{
	int depth, max;

	if (!vstrace_queued_kind(kind))
		return;
	depth = atomic_add_return(delta, &vstrace_tx_queued);
	max = atomic_read(&vstrace_tx_queued_max);
	while (depth > max) {
		int old = atomic_cmpxchg(&vstrace_tx_queued_max, max, depth);

		if (old == max)
			break;
		max = old;
	}
}

/* Deepest TX queue since the last reset, in packets. */
u64 vstrace_inflight_tx_queue_max(void)
{
	return atomic_read(&vstrace_tx_queued_max);
}

/* Empty slot @e, accounting for what it held. */
static void vstrace_slot_clear(struct vstrace_inflight *e)
{
	if (e->key)
		vstrace_queue_account(e->kind, -1);
	memset(e, 0, sizeof(*e));
}

int vstrace_inflight_init(void)
{
	unsigned int i;

	vstrace_inflight_table = kvcalloc(VSTRACE_INFLIGHT_BUCKETS,
					  sizeof(*vstrace_inflight_table),
					  GFP_KERNEL);
	if (!vstrace_inflight_table)
		return -ENOMEM;
	for (i = 0; i < VSTRACE_INFLIGHT_BUCKETS; i++)
		raw_spin_lock_init(&vstrace_inflight_table[i].lock);
	return 0;
}

void vstrace_inflight_exit(void)
{
	kvfree(vstrace_inflight_table);
	vstrace_inflight_table = NULL;
}

void vstrace_inflight_reset(void)
{
	struct vstrace_inflight_bucket *b;
	unsigned long flags;
	unsigned int i;

	for (i = 0; i < VSTRACE_INFLIGHT_BUCKETS; i++) {
		b = &vstrace_inflight_table[i];
		raw_spin_lock_irqsave(&b->lock, flags);
		memset(b->slot, 0, sizeof(b->slot));
		raw_spin_unlock_irqrestore(&b->lock, flags);
	}
	/* Handlers racing with the reset may leave the depth off by a few. */
	atomic_set(&vstrace_tx_queued, 0);
	atomic_set(&vstrace_tx_queued_max, 0);
}

static struct vstrace_inflight_bucket *vstrace_bucket(unsigned long key,
						      u32 kind)
{
	return &vstrace_inflight_table[hash_long(key ^ kind,
						 VSTRACE_INFLIGHT_BITS)];
}

/* Caller holds @b->lock. */
static struct vstrace_inflight *__vstrace_find(struct vstrace_inflight_bucket *b,
					       unsigned long key, u32 kind)
{
	int i;

	for (i = 0; i < VSTRACE_INFLIGHT_WAYS; i++)
		if (b->slot[i].key == key && b->slot[i].kind == kind)
			return &b->slot[i];
	return NULL;
}

/*
 * A slot for a new entry: a free one, else the oldest idle one (ts == 0: a
 * socket with no data pending, say), else the oldest.  Dropping an entry
 * that was timing something loses that interval: count it.
 * Caller holds @b->lock.
 */
static struct vstrace_inflight *__vstrace_claim(struct vstrace_inflight_bucket *b)
{
	struct vstrace_inflight *e, *idle = NULL, *oldest = NULL;
	int i;

	for (i = 0; i < VSTRACE_INFLIGHT_WAYS; i++) {
		e = &b->slot[i];
		if (!e->key)
			return e;
		if (!e->ts && (!idle || e->stamp < idle->stamp))
			idle = e;
		if (!oldest || e->stamp < oldest->stamp)
			oldest = e;
	}
	if (idle) {
		vstrace_slot_clear(idle);
		return idle;
	}
	vstrace_count(VSTRACE_CTR_INFLIGHT_EXPIRED, 1);
	vstrace_slot_clear(oldest);
	return oldest;
}

static bool vstrace_stale(const struct vstrace_inflight *e, u64 now)
{
	switch (e->kind) {
	case VSTRACE_IF_WAKEUP:
	case VSTRACE_IF_CREDIT:
		return false;
	}
	return e->ts && now - e->ts > VSTRACE_INFLIGHT_MAX_AGE_NS;
}

/*
 * (@key, @kind) if present and not stale; a stale entry is dropped and
 * counted.  Caller holds @b->lock.
 */
static struct vstrace_inflight *__vstrace_lookup(struct vstrace_inflight_bucket *b,
						 unsigned long key, u32 kind,
						 u64 now)
{
	struct vstrace_inflight *e = __vstrace_find(b, key, kind);

	if (e && vstrace_stale(e, now)) {
		vstrace_count(VSTRACE_CTR_INFLIGHT_EXPIRED, 1);
		vstrace_slot_clear(e);
		e = NULL;
	}
	return e;
}

/* Insert or overwrite (@key, @kind). */
void vstrace_inflight_put(unsigned long key, u32 kind, u32 val, u64 ts,
			  u64 extra)
{
	struct vstrace_inflight_bucket *b = vstrace_bucket(key, kind);
	struct vstrace_inflight *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	e = __vstrace_find(b, key, kind);
	if (!e) {
		e = __vstrace_claim(b);
		vstrace_queue_account(kind, 1);
	}
	e->key = key;
	e->kind = kind;
	e->val = val;
	e->ts = ts;
	e->extra = extra;
	e->stamp = ts;
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/* Remove (@key, @kind) into @out; false if there is none. */
bool vstrace_inflight_take(unsigned long key, u32 kind, u64 now,
			   struct vstrace_inflight *out)
{
	struct vstrace_inflight_bucket *b = vstrace_bucket(key, kind);
	struct vstrace_inflight *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	e = __vstrace_lookup(b, key, kind, now);
	if (e) {
		*out = *e;
		vstrace_slot_clear(e);
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
	return e;
}

/* Copy (@key, @kind) into @out, leaving it in place. */
bool vstrace_inflight_get(unsigned long key, u32 kind, u64 now,
			  struct vstrace_inflight *out)
{
	struct vstrace_inflight_bucket *b = vstrace_bucket(key, kind);
	struct vstrace_inflight *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	e = __vstrace_lookup(b, key, kind, now);
	if (e)
		*out = *e;
	raw_spin_unlock_irqrestore(&b->lock, flags);
	return e;
}

/*
 * Start an interval at @now unless one is already pending (the earliest
 * start wins); the entry stays when the interval is consumed, keeping @val.
 * True if a new interval started.
 */
bool vstrace_inflight_mark(unsigned long key, u32 kind, u32 val, u64 now)
{
	struct vstrace_inflight_bucket *b = vstrace_bucket(key, kind);
	struct vstrace_inflight *e;
	unsigned long flags;
	bool started = false;

	raw_spin_lock_irqsave(&b->lock, flags);
	e = __vstrace_find(b, key, kind);
	if (!e) {
		e = __vstrace_claim(b);
		e->key = key;
		e->kind = kind;
	}
	if (!e->ts) {
		e->ts = now;
		started = true;
	}
	e->val = val;
	e->stamp = now;
	raw_spin_unlock_irqrestore(&b->lock, flags);
	return started;
}

/* Move a pending interval's start to @now. */
void vstrace_inflight_restart(unsigned long key, u32 kind, u64 now)
{
	struct vstrace_inflight_bucket *b = vstrace_bucket(key, kind);
	struct vstrace_inflight *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	e = __vstrace_find(b, key, kind);
	if (e && e->ts) {
		e->ts = now;
		e->stamp = now;
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
}

/*
 * Copy the entry into @out and end its pending interval (ts = 0), keeping
 * the entry and its @val.  True if the entry exists, pending or not.
 */
bool vstrace_inflight_consume(unsigned long key, u32 kind, u64 now,
			      struct vstrace_inflight *out)
{
	struct vstrace_inflight_bucket *b = vstrace_bucket(key, kind);
	struct vstrace_inflight *e;
	unsigned long flags;

	raw_spin_lock_irqsave(&b->lock, flags);
	e = __vstrace_lookup(b, key, kind, now);
	if (e) {
		*out = *e;
		e->ts = 0;
	}
	raw_spin_unlock_irqrestore(&b->lock, flags);
	return e;
}
