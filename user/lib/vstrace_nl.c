// SPDX-License-Identifier: GPL-2.0
/* Client of the "vstrace" generic netlink family, on libnl-genl-3. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/vm_sockets.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <netlink/attr.h>
#include "vstrace_nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct vs_nl {
	struct nl_sock *sk;
	int family;
	char error[256];
};

/* State of one request: its reply handler and how it ended. */
struct vs_req {
	struct vs_nl *nl;
	int (*parse)(struct nlattr **tb, void *data);
	void *data;
	int err;
	int done;
};

const char *vs_nl_error(const struct vs_nl *nl)
{
	return nl->error;
}

static int vs_set_error(struct vs_nl *nl, int err, const char *fmt, const char *what)
{
	snprintf(nl->error, sizeof(nl->error), fmt, what);
	return err;
}

int vs_nl_open(struct vs_nl **out)
{
	struct vs_nl *nl;
	int one = 1;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sk = nl_socket_alloc();
	if (!nl->sk) {
		free(nl);
		return -ENOMEM;
	}
	if (genl_connect(nl->sk)) {
		nl_socket_free(nl->sk);
		free(nl);
		return -ECONNREFUSED;
	}
	/* Extended acks carry the kernel's error text; capped acks keep them short. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	/* Histogram messages are 4.4 KiB: let libnl size its buffer to each read. */
	nl_socket_enable_msg_peek(nl->sk);
	nl->family = genl_ctrl_resolve(nl->sk, VSTRACE_GENL_NAME);
	if (nl->family < 0) {
		nl_socket_free(nl->sk);
		free(nl);
		return -ENOENT;
	}
	*out = nl;
	return 0;
}

void vs_nl_close(struct vs_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

static int vs_valid_cb(struct nl_msg *msg, void *arg)
{
	struct vs_req *req = arg;
	struct nlattr *tb[VSTRACE_A_MAX + 1];
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	if (nla_parse(tb, VSTRACE_A_MAX, genlmsg_attrdata(gh, 0),
		      genlmsg_attrlen(gh, 0), NULL))
		return NL_SKIP;
	if (req->parse)
		req->err = req->parse(tb, req->data);
	return NL_OK;
}

static int vs_finish_cb(struct nl_msg *msg, void *arg)
{
	((struct vs_req *)arg)->done = 1;
	return NL_STOP;
}

/* The error message's TLVs follow struct nlmsgerr (and, uncapped, the request). */
static int vs_error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct vs_req *req = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	size_t off = sizeof(*e);
	struct nlattr *a;
	int rem;

	req->err = e->error;
	req->done = 1;
	if (e->error == 0)
		return NL_STOP;
	snprintf(req->nl->error, sizeof(req->nl->error), "%s", strerror(-e->error));
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	rem = (int)nlh->nlmsg_len - NLMSG_HDRLEN - (int)off;
	for (a = (struct nlattr *)((char *)e + off); rem > 0 && nla_ok(a, rem);
	     a = nla_next(a, &rem)) {
		if (nla_type(a) == NLMSGERR_ATTR_MSG)
			snprintf(req->nl->error, sizeof(req->nl->error), "%s (%s)",
				 (char *)nla_data(a), strerror(-e->error));
	}
	return NL_STOP;
}

static int vs_ack_cb(struct nl_msg *msg, void *arg)
{
	((struct vs_req *)arg)->done = 1;
	return NL_STOP;
}

/* Send @msg (consumed) and run @req's parser over every reply until done. */
static int vs_transact(struct vs_nl *nl, struct nl_msg *msg, struct vs_req *req)
{
	struct nl_cb *cb;
	int err;

	req->nl = nl;
	nl->error[0] = '\0';
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, vs_valid_cb, req);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, vs_finish_cb, req);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, vs_ack_cb, req);
	nl_cb_err(cb, NL_CB_CUSTOM, vs_error_cb, req);

	err = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (err < 0) {
		nl_cb_put(cb);
		return vs_set_error(nl, -EIO, "netlink send failed: %s", nl_geterror(err));
	}
	while (!req->done) {
		err = nl_recvmsgs(nl->sk, cb);
		if (err < 0 && !req->done) {
			nl_cb_put(cb);
			if (!nl->error[0])
				vs_set_error(nl, 0, "netlink receive failed: %s",
					     nl_geterror(err));
			return req->err ? req->err : -EIO;
		}
	}
	nl_cb_put(cb);
	if (req->err && !nl->error[0])
		snprintf(nl->error, sizeof(nl->error), "%s", strerror(-req->err));
	return req->err;
}

static struct nl_msg *vs_msg(struct vs_nl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
				flags, cmd, VSTRACE_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

static uint64_t get_u64(struct nlattr *a)
{
	return a ? nla_get_u64(a) : 0;
}

static int vs_parse_probe(struct nlattr *nest, struct vs_probe_status *p)
{
	struct nlattr *tb[VSTRACE_PROBE_A_MAX + 1];

	memset(p, 0, sizeof(*p));
	if (nla_parse_nested(tb, VSTRACE_PROBE_A_MAX, nest, NULL))
		return -EINVAL;
	if (tb[VSTRACE_PROBE_A_POINT])
		snprintf(p->point, sizeof(p->point), "%s",
			 nla_get_string(tb[VSTRACE_PROBE_A_POINT]));
	if (tb[VSTRACE_PROBE_A_FALLBACK])
		snprintf(p->fallback, sizeof(p->fallback), "%s",
			 nla_get_string(tb[VSTRACE_PROBE_A_FALLBACK]));
	p->attached = tb[VSTRACE_PROBE_A_ATTACHED] &&
		      nla_get_u8(tb[VSTRACE_PROBE_A_ATTACHED]);
	p->error = tb[VSTRACE_PROBE_A_ERROR] ?
		   (int)nla_get_u32(tb[VSTRACE_PROBE_A_ERROR]) : 0;
	p->hits = get_u64(tb[VSTRACE_PROBE_A_HITS]);
	p->missed = get_u64(tb[VSTRACE_PROBE_A_MISSED]);
	p->kind = tb[VSTRACE_PROBE_A_KIND] ?
		  nla_get_u32(tb[VSTRACE_PROBE_A_KIND]) : VSTRACE_PROBE_KIND_NONE;
	if (p->kind >= VSTRACE_NR_PROBE_KINDS)
		p->kind = VSTRACE_PROBE_KIND_NONE;
	p->is_return = tb[VSTRACE_PROBE_A_RETURN] &&
		       nla_get_u8(tb[VSTRACE_PROBE_A_RETURN]);
	if (tb[VSTRACE_PROBE_A_KIND_WHY])
		snprintf(p->kind_why, sizeof(p->kind_why), "%s",
			 nla_get_string(tb[VSTRACE_PROBE_A_KIND_WHY]));
	return 0;
}

static int vs_parse_status(struct nlattr **tb, void *data)
{
	struct vs_status *st = data;

	st->version = tb[VSTRACE_A_VERSION] ? nla_get_u32(tb[VSTRACE_A_VERSION]) : 0;
	st->active = tb[VSTRACE_A_ACTIVE] && nla_get_u8(tb[VSTRACE_A_ACTIVE]);
	st->start_ns = get_u64(tb[VSTRACE_A_START_NS]);
	st->duration_ns = get_u64(tb[VSTRACE_A_DURATION_NS]);
	st->filter_cid = tb[VSTRACE_A_FILTER_CID] ?
			 (int64_t)nla_get_u32(tb[VSTRACE_A_FILTER_CID]) : -1;
	st->filter_port = tb[VSTRACE_A_FILTER_PORT] ?
			  (int64_t)nla_get_u32(tb[VSTRACE_A_FILTER_PORT]) : -1;
	st->filter_transport = tb[VSTRACE_A_FILTER_TRANSPORT] ?
			       (int64_t)nla_get_u32(tb[VSTRACE_A_FILTER_TRANSPORT]) : -1;
	return 0;
}

/* PROBE is repeated, so nla_parse keeps only the last: walk the message. */
static int vs_status_cb(struct nl_msg *msg, void *arg)
{
	struct vs_req *req = arg;
	struct vs_status *st = req->data;
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *a;
	int rem;

	vs_valid_cb(msg, arg);
	st->nr_probes = 0;
	nla_for_each_attr(a, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), rem) {
		if (nla_type(a) != VSTRACE_A_PROBE || st->nr_probes >= VS_MAX_PROBES)
			continue;
		if (!vs_parse_probe(a, &st->probes[st->nr_probes]))
			st->nr_probes++;
	}
	return NL_OK;
}

int vs_nl_status(struct vs_nl *nl, struct vs_status *st)
{
	struct vs_req req = { .parse = vs_parse_status, .data = st };
	struct nl_msg *msg = vs_msg(nl, VSTRACE_CMD_GET_STATUS, 0);
	struct nl_cb *cb;
	int err;

	memset(st, 0, sizeof(*st));
	if (!msg)
		return -ENOMEM;
	/* Same as vs_transact, with a handler that sees repeated attributes. */
	req.nl = nl;
	nl->error[0] = '\0';
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, vs_status_cb, &req);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, vs_ack_cb, &req);
	nl_cb_err(cb, NL_CB_CUSTOM, vs_error_cb, &req);
	err = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	while (err >= 0 && !req.done)
		err = nl_recvmsgs(nl->sk, cb);
	nl_cb_put(cb);
	if (req.err)
		return req.err;
	if (err < 0)
		return vs_set_error(nl, -EIO, "netlink: %s", nl_geterror(err));
	return 0;
}

/*
 * A histogram message: STAGE, DIR, TRANSPORT, HIST, HIST_SUM, HIST_MAX and
 * CLASS (data when absent: a module from before the classes).
 */
static void vs_parse_hist(struct nlattr **tb, struct vs_stats *s)
{
	uint64_t buckets[VSTRACE_HIST_BUCKETS] = { 0 };
	uint32_t cls = tb[VSTRACE_A_CLASS] ? nla_get_u32(tb[VSTRACE_A_CLASS]) :
					      VSTRACE_CLASS_DATA;
	uint32_t st = nla_get_u32(tb[VSTRACE_A_STAGE]);
	uint32_t d = nla_get_u32(tb[VSTRACE_A_DIR]);
	uint32_t t = nla_get_u32(tb[VSTRACE_A_TRANSPORT]);
	size_t len = (size_t)nla_len(tb[VSTRACE_A_HIST]);

	if (cls >= VSTRACE_NR_CLASSES || st >= VSTRACE_NR_STAGES || d >= VSTRACE_NR_DIRS ||
	    t >= VSTRACE_NR_TRANSPORTS)
		return;
	/* A shorter array (an older or trimming module) means zero buckets. */
	if (len > sizeof(buckets))
		len = sizeof(buckets);
	memcpy(buckets, nla_data(tb[VSTRACE_A_HIST]), len);
	vs_hist_from_buckets(&s->hist[cls][st][d][t].h, buckets,
			     get_u64(tb[VSTRACE_A_HIST_SUM]), get_u64(tb[VSTRACE_A_HIST_MAX]));
}

static int vs_parse_stats(struct nlattr **tb, void *data)
{
	struct vs_stats *s = data;
	uint32_t t, d, op, c;

	if (tb[VSTRACE_A_HIST] && tb[VSTRACE_A_STAGE] && tb[VSTRACE_A_DIR] &&
	    tb[VSTRACE_A_TRANSPORT]) {
		vs_parse_hist(tb, s);
	} else if (tb[VSTRACE_A_OP] && tb[VSTRACE_A_TRANSPORT] && tb[VSTRACE_A_DIR]) {
		t = nla_get_u32(tb[VSTRACE_A_TRANSPORT]);
		d = nla_get_u32(tb[VSTRACE_A_DIR]);
		op = nla_get_u32(tb[VSTRACE_A_OP]);
		if (t < VSTRACE_NR_TRANSPORTS && d < VSTRACE_NR_DIRS &&
		    op < VSTRACE_NR_OPS) {
			s->packets[t][d][op] = get_u64(tb[VSTRACE_A_PACKETS]);
			s->bytes[t][d][op] = get_u64(tb[VSTRACE_A_BYTES]);
		}
	} else if (tb[VSTRACE_A_COUNTER]) {
		c = nla_get_u32(tb[VSTRACE_A_COUNTER]);
		if (c < VSTRACE_NR_COUNTERS)
			s->counters[c] = get_u64(tb[VSTRACE_A_VALUE]);
	}
	return 0;
}

int vs_nl_stats(struct vs_nl *nl, struct vs_stats *stats)
{
	struct vs_req req = { .parse = vs_parse_stats, .data = stats };
	struct nl_msg *msg = vs_msg(nl, VSTRACE_CMD_GET_STATS, NLM_F_DUMP);

	/* All zero: every histogram empty (count, min and max 0). */
	memset(stats, 0, sizeof(*stats));
	if (!msg)
		return -ENOMEM;
	return vs_transact(nl, msg, &req);
}

static int vs_simple(struct vs_nl *nl, uint8_t cmd, struct nl_msg *msg)
{
	struct vs_req req = { 0 };

	if (!msg)
		msg = vs_msg(nl, cmd, 0);
	if (!msg)
		return -ENOMEM;
	return vs_transact(nl, msg, &req);
}

int vs_nl_start(struct vs_nl *nl, const struct vs_filter *f)
{
	struct nl_msg *msg = vs_msg(nl, VSTRACE_CMD_START, 0);

	if (!msg)
		return -ENOMEM;
	if ((f->cid >= 0 && nla_put_u32(msg, VSTRACE_A_FILTER_CID, (uint32_t)f->cid)) ||
	    (f->port >= 0 && nla_put_u32(msg, VSTRACE_A_FILTER_PORT, (uint32_t)f->port)) ||
	    (f->transport >= 0 &&
	     nla_put_u32(msg, VSTRACE_A_FILTER_TRANSPORT, (uint32_t)f->transport))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return vs_simple(nl, VSTRACE_CMD_START, msg);
}

int vs_nl_stop(struct vs_nl *nl)
{
	return vs_simple(nl, VSTRACE_CMD_STOP, NULL);
}

int vs_nl_reset(struct vs_nl *nl)
{
	return vs_simple(nl, VSTRACE_CMD_RESET, NULL);
}

int vs_nl_raw(struct vs_nl *nl, uint8_t cmd, const void *attrs, size_t len)
{
	struct nl_msg *msg = vs_msg(nl, cmd, 0);

	if (!msg)
		return -ENOMEM;
	if (len && nlmsg_append(msg, (void *)attrs, len, NLMSG_ALIGNTO)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return vs_simple(nl, cmd, msg);
}
