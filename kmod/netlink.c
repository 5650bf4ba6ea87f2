// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "vstrace": session control and counter dumps.
 * Commands and attributes are declared once in include/uapi/vstrace.h.
 *
 * One hand-written policy and ops table (instead of YAML-generated split
 * ops) because 4.14 knows only per-op policies; compat.h places the policy
 * where each kernel wants it.
 */
#include <linux/capability.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <linux/vm_sockets.h>
#include <net/genetlink.h>
#include "vstrace_internal.h"

static struct genl_family vstrace_genl_family;

#define __VSTRACE_POLICY(id, nla, ...) [VSTRACE_A_##id] = { .type = NLA_##nla },
static const struct nla_policy vstrace_policy[VSTRACE_A_MAX + 1] = {
	VSTRACE_ATTRS(__VSTRACE_POLICY)
};
#undef __VSTRACE_POLICY

/*
 * Every command needs CAP_NET_ADMIN or CAP_PERFMON: the counters time every
 * VSOCK flow of the machine, a side channel on the services behind them.
 * Checked in each handler (GENL_ADMIN_PERM alone would refuse CAP_PERFMON).
 */
static int vstrace_nl_permitted(const struct sk_buff *skb,
				struct netlink_ext_ack *extack)
{
	if (netlink_capable(skb, CAP_NET_ADMIN) || perfmon_capable())
		return 0;
	NL_SET_ERR_MSG(extack, "needs CAP_NET_ADMIN or CAP_PERFMON");
	return -EPERM;
}

static int vstrace_put_probe(struct sk_buff *skb, unsigned int i)
{
	struct vstrace_probe_info info;
	struct nlattr *nest;

	vstrace_probe_info(i, &info);
	nest = nla_nest_start(skb, VSTRACE_A_PROBE);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_string(skb, VSTRACE_PROBE_A_POINT, info.point) ||
	    (info.fallback &&
	     nla_put_string(skb, VSTRACE_PROBE_A_FALLBACK, info.fallback)) ||
	    nla_put_u8(skb, VSTRACE_PROBE_A_ATTACHED, info.attached) ||
	    nla_put_u64_64bit(skb, VSTRACE_PROBE_A_HITS, info.hits,
			      VSTRACE_A_PAD) ||
	    nla_put_u64_64bit(skb, VSTRACE_PROBE_A_MISSED, info.missed,
			      VSTRACE_A_PAD) ||
	    nla_put_s32(skb, VSTRACE_PROBE_A_ERROR, info.error) ||
	    nla_put_u32(skb, VSTRACE_PROBE_A_KIND, info.kind) ||
	    nla_put_u8(skb, VSTRACE_PROBE_A_RETURN, info.is_return) ||
	    (info.kind_why &&
	     nla_put_string(skb, VSTRACE_PROBE_A_KIND_WHY, info.kind_why))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* Caller holds vstrace_session_lock. */
static int __vstrace_fill_status(struct sk_buff *skb)
{
	const struct vstrace_session *s = &vstrace_session;
	u64 end = s->active ? ktime_get_boottime_ns() : s->stop_ns;
	unsigned int i;

	if (nla_put_u32(skb, VSTRACE_A_VERSION, VSTRACE_ABI_VERSION) ||
	    nla_put_u8(skb, VSTRACE_A_ACTIVE, s->active) ||
	    nla_put_u64_64bit(skb, VSTRACE_A_START_NS, s->start_real_ns,
			      VSTRACE_A_PAD) ||
	    nla_put_u64_64bit(skb, VSTRACE_A_DURATION_NS,
			      s->start_ns ? end - s->start_ns : 0,
			      VSTRACE_A_PAD))
		return -EMSGSIZE;
	if ((s->filter_cid != VMADDR_CID_ANY &&
	     nla_put_u32(skb, VSTRACE_A_FILTER_CID, s->filter_cid)) ||
	    (s->filter_port != VMADDR_PORT_ANY &&
	     nla_put_u32(skb, VSTRACE_A_FILTER_PORT, s->filter_port)) ||
	    (s->filter_transport != VSTRACE_NR_TRANSPORTS &&
	     nla_put_u32(skb, VSTRACE_A_FILTER_TRANSPORT, s->filter_transport)))
		return -EMSGSIZE;
	for (i = 0; i < vstrace_probes_count(); i++)
		if (vstrace_put_probe(skb, i))
			return -EMSGSIZE;
	return 0;
}

static int vstrace_nl_get_status_doit(struct sk_buff *skb,
				      struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;
	int err;

	err = vstrace_nl_permitted(skb, info->extack);
	if (err)
		return err;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vstrace_genl_family, 0,
				VSTRACE_CMD_GET_STATUS);
	if (!hdr) {
		err = -EMSGSIZE;
		goto out_free;
	}
	mutex_lock(&vstrace_session_lock);
	err = __vstrace_fill_status(msg);
	mutex_unlock(&vstrace_session_lock);
	if (err)
		goto out_free;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

out_free:
	nlmsg_free(msg);
	return err;
}

/*
 * GET_STATS dump: one message per non-zero (transport, dir, op) packet
 * counter, then one per scalar counter, then one per non-empty histogram.
 * cb->args[0] is the next item.
 */
#define VSTRACE_NR_PKT_ITEMS \
	(VSTRACE_NR_TRANSPORTS * VSTRACE_PKT_DIRS * VSTRACE_NR_OPS)
#define VSTRACE_NR_HIST_ITEMS \
	(VSTRACE_NR_CLASSES * VSTRACE_NR_STAGES * VSTRACE_NR_DIRS * \
	 VSTRACE_NR_TRANSPORTS)
#define VSTRACE_HIST_ITEM0	(VSTRACE_NR_PKT_ITEMS + VSTRACE_NR_COUNTERS)

/* A histogram message: its buckets alone are 4.3 KiB. */
#define VSTRACE_HIST_MSG_SIZE \
	NLMSG_ALIGN(NLMSG_HDRLEN + GENL_HDRLEN + 7 * nla_total_size_64bit(8) + \
		    nla_total_size_64bit(sizeof(u64) * VSTRACE_HIST_BUCKETS))

/* Dump buffers must hold a histogram message, more than NLMSG_GOODSIZE. */
static int vstrace_nl_get_stats_start(struct netlink_callback *cb)
{
	/* No extack for a dump's start on every kernel: the errno says it. */
	int err = vstrace_nl_permitted(cb->skb, NULL);

	if (err)
		return err;
	cb->min_dump_alloc = max_t(u32, cb->min_dump_alloc,
				   VSTRACE_HIST_MSG_SIZE);
	return 0;
}

static int vstrace_put_hist_item(struct sk_buff *skb, long item,
				 struct vstrace_hist *h)
{
	long i = item - VSTRACE_HIST_ITEM0;
	int t = i % VSTRACE_NR_TRANSPORTS;
	int dir = (i / VSTRACE_NR_TRANSPORTS) % VSTRACE_NR_DIRS;
	int stage = (i / (VSTRACE_NR_TRANSPORTS * VSTRACE_NR_DIRS)) %
		    VSTRACE_NR_STAGES;
	int cls = i / (VSTRACE_NR_TRANSPORTS * VSTRACE_NR_DIRS *
		       VSTRACE_NR_STAGES);

	if (!vstrace_hist_sum(cls, stage, dir, t, h))
		return 1;
	if (nla_put_u32(skb, VSTRACE_A_STAGE, stage) ||
	    nla_put_u32(skb, VSTRACE_A_DIR, dir) ||
	    nla_put_u32(skb, VSTRACE_A_TRANSPORT, t) ||
	    nla_put_u32(skb, VSTRACE_A_CLASS, cls) ||
	    nla_put_64bit(skb, VSTRACE_A_HIST, sizeof(h->buckets), h->buckets,
			  VSTRACE_A_PAD) ||
	    nla_put_u64_64bit(skb, VSTRACE_A_HIST_SUM, h->sum, VSTRACE_A_PAD) ||
	    nla_put_u64_64bit(skb, VSTRACE_A_HIST_MAX, h->max, VSTRACE_A_PAD))
		return -EMSGSIZE;
	return 0;
}

static int vstrace_put_stat_item(struct sk_buff *skb,
				 struct netlink_callback *cb,
				 const struct vstrace_cpu_stats *sum,
				 struct vstrace_hist *h, long item)
{
	void *hdr;
	int t, dir, op, ctr, err;

	if (item < VSTRACE_NR_PKT_ITEMS) {
		op = item % VSTRACE_NR_OPS;
		dir = (item / VSTRACE_NR_OPS) % VSTRACE_PKT_DIRS;
		t = item / (VSTRACE_NR_OPS * VSTRACE_PKT_DIRS);
		if (!sum->packets[t][dir][op])
			return 0;
	}
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &vstrace_genl_family, NLM_F_MULTI,
			  VSTRACE_CMD_GET_STATS);
	if (!hdr)
		return -EMSGSIZE;
	if (item < VSTRACE_NR_PKT_ITEMS) {
		if (nla_put_u32(skb, VSTRACE_A_TRANSPORT, t) ||
		    nla_put_u32(skb, VSTRACE_A_DIR, dir) ||
		    nla_put_u32(skb, VSTRACE_A_OP, op) ||
		    nla_put_u64_64bit(skb, VSTRACE_A_PACKETS,
				      sum->packets[t][dir][op], VSTRACE_A_PAD) ||
		    nla_put_u64_64bit(skb, VSTRACE_A_BYTES,
				      sum->bytes[t][dir][op], VSTRACE_A_PAD))
			goto err_cancel;
	} else if (item < VSTRACE_HIST_ITEM0) {
		ctr = item - VSTRACE_NR_PKT_ITEMS;
		if (nla_put_u32(skb, VSTRACE_A_COUNTER, ctr) ||
		    nla_put_u64_64bit(skb, VSTRACE_A_VALUE, sum->counters[ctr],
				      VSTRACE_A_PAD))
			goto err_cancel;
	} else {
		err = vstrace_put_hist_item(skb, item, h);
		if (err > 0) {
			/* Empty: no message. */
			genlmsg_cancel(skb, hdr);
			return 0;
		}
		if (err)
			goto err_cancel;
	}
	genlmsg_end(skb, hdr);
	return 0;

err_cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int vstrace_nl_get_stats_dumpit(struct sk_buff *skb,
				       struct netlink_callback *cb)
{
	const long nr_items = VSTRACE_HIST_ITEM0 + VSTRACE_NR_HIST_ITEMS;
	struct vstrace_cpu_stats *sum;
	struct vstrace_hist *h;
	long item;

	sum = kmalloc(sizeof(*sum), GFP_KERNEL);
	h = kmalloc(sizeof(*h), GFP_KERNEL);
	if (!sum || !h) {
		kfree(sum);
		kfree(h);
		return -ENOMEM;
	}
	/* The baseline a reset writes is read under the same lock. */
	mutex_lock(&vstrace_session_lock);
	vstrace_stats_sum(sum);
	for (item = cb->args[0]; item < nr_items; item++)
		if (vstrace_put_stat_item(skb, cb, sum, h, item))
			break;
	mutex_unlock(&vstrace_session_lock);
	kfree(h);
	kfree(sum);
	cb->args[0] = item;
	return skb->len;
}

static int vstrace_nl_start_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vstrace_session *s = &vstrace_session;
	struct nlattr **attrs = info->attrs;
	u32 transport = VSTRACE_NR_TRANSPORTS;
	int err;

	if (vstrace_nl_permitted(skb, info->extack))
		return -EPERM;

	if (attrs[VSTRACE_A_FILTER_TRANSPORT]) {
		transport = nla_get_u32(attrs[VSTRACE_A_FILTER_TRANSPORT]);
		if (transport >= VSTRACE_NR_TRANSPORTS) {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    attrs[VSTRACE_A_FILTER_TRANSPORT],
					    "unknown transport");
			return -EINVAL;
		}
	}

	mutex_lock(&vstrace_session_lock);
	err = -EBUSY;
	if (s->active) {
		NL_SET_ERR_MSG(info->extack, "a session is already running");
		goto out_unlock;
	}
	/* Modules loaded since the last attempt may now have the points. */
	vstrace_probes_retry();
	vstrace_stats_reset();
	vstrace_hist_reset();
	vstrace_inflight_reset();
	s->filter_cid = attrs[VSTRACE_A_FILTER_CID] ?
		nla_get_u32(attrs[VSTRACE_A_FILTER_CID]) : VMADDR_CID_ANY;
	s->filter_port = attrs[VSTRACE_A_FILTER_PORT] ?
		nla_get_u32(attrs[VSTRACE_A_FILTER_PORT]) : VMADDR_PORT_ANY;
	s->filter_transport = transport;
	s->start_real_ns = ktime_get_real_ns();
	s->start_ns = ktime_get_boottime_ns();
	s->stop_ns = 0;
	/* Filters are visible before handlers see the session active. */
	smp_wmb();
	WRITE_ONCE(s->active, true);
	vstrace_probes_arm(true);
	err = 0;
out_unlock:
	mutex_unlock(&vstrace_session_lock);
	return err;
}

static int vstrace_nl_stop_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vstrace_session *s = &vstrace_session;
	int err = 0;

	if (vstrace_nl_permitted(skb, info->extack))
		return -EPERM;

	mutex_lock(&vstrace_session_lock);
	if (!s->active) {
		NL_SET_ERR_MSG(info->extack, "no session is running");
		err = -ENOENT;
		goto out_unlock;
	}
	WRITE_ONCE(s->active, false);
	s->stop_ns = ktime_get_boottime_ns();
	vstrace_probes_arm(false);
out_unlock:
	mutex_unlock(&vstrace_session_lock);
	return err;
}

static int vstrace_nl_reset_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vstrace_session *s = &vstrace_session;

	if (vstrace_nl_permitted(skb, info->extack))
		return -EPERM;

	mutex_lock(&vstrace_session_lock);
	vstrace_stats_reset();
	vstrace_hist_reset();
	vstrace_inflight_reset();
	if (s->active) {
		s->start_real_ns = ktime_get_real_ns();
		s->start_ns = ktime_get_boottime_ns();
	}
	mutex_unlock(&vstrace_session_lock);
	return 0;
}

static const struct genl_ops vstrace_genl_ops[] = {
	{
		.cmd	= VSTRACE_CMD_GET_STATUS,
		.doit	= vstrace_nl_get_status_doit,
		VSTRACE_GENL_OP_POLICY(vstrace_policy)
	},
	{
		.cmd	= VSTRACE_CMD_GET_STATS,
		.start	= vstrace_nl_get_stats_start,
		.dumpit	= vstrace_nl_get_stats_dumpit,
		VSTRACE_GENL_OP_POLICY(vstrace_policy)
	},
	{
		.cmd	= VSTRACE_CMD_START,
		.doit	= vstrace_nl_start_doit,
		VSTRACE_GENL_OP_POLICY(vstrace_policy)
	},
	{
		.cmd	= VSTRACE_CMD_STOP,
		.doit	= vstrace_nl_stop_doit,
		VSTRACE_GENL_OP_POLICY(vstrace_policy)
	},
	{
		.cmd	= VSTRACE_CMD_RESET,
		.doit	= vstrace_nl_reset_doit,
		VSTRACE_GENL_OP_POLICY(vstrace_policy)
	},
};

static struct genl_family vstrace_genl_family __ro_after_init = {
	.name		= VSTRACE_GENL_NAME,
	.version	= VSTRACE_GENL_VERSION,
	.maxattr	= VSTRACE_A_MAX,
	.netnsok	= false,
	.module		= THIS_MODULE,
	.ops		= vstrace_genl_ops,
	.n_ops		= ARRAY_SIZE(vstrace_genl_ops),
	VSTRACE_GENL_FAMILY_POLICY(vstrace_policy)
	/* Strict validation from the first command on. */
	VSTRACE_GENL_RESV_START_OP(VSTRACE_CMD_GET_STATUS)
};

int vstrace_netlink_init(void)
{
	return genl_register_family(&vstrace_genl_family);
}

void vstrace_netlink_exit(void)
{
	genl_unregister_family(&vstrace_genl_family);
}
