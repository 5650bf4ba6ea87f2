// SPDX-License-Identifier: GPL-2.0
/*
 * The "vstrace show --json" contract (design: kernel, backend, session
 * {start, duration_ns}, stages [{stage, dir, transport, class, count, mean_ns,
 * p50_ns, p90_ns, p99_ns, p999_ns, max_ns}], ops {OP: {packets, bytes}},
 * credit {stalls, stall_ns}, drops, overhead {probe_hits, ns_per_hit},
 * probes [{point, attached, fallback, kind, return, kind_why}]): a statistics object built here
 * goes through vstrace's printer (user/vstrace/show.c), and every field is
 * read back and compared.  No kernel module, no root.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include "kselftest_harness.h"
#include "hist.h"
#include "json_check.h"
#include "vstrace_nl.h"
#include "vstrace/show.h"

static char *print(const struct vs_status *st, const struct vs_stats *s, bool pretty)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	vs_show_json(f, pretty, "kmod", st, s);
	fclose(f);
	return buf;
}

/* A session: two probe points, one fallen back; RW and CREDIT_UPDATE traffic. */
static void recorded(struct vs_status *st, struct vs_stats *s)
{
	struct vs_hist *h;

	memset(st, 0, sizeof(*st));
	memset(s, 0, sizeof(*s));
	st->version = 1;
	st->active = false;
	st->start_ns = 1700000000123456789ull;
	st->duration_ns = 2500000000ull;
	st->filter_cid = -1;
	st->filter_port = 5201;
	st->filter_transport = VSTRACE_TRANSPORT_LOOPBACK;
	st->nr_probes = 2;
	snprintf(st->probes[0].point, sizeof(st->probes[0].point), "virtio_transport_send_pkt_info");
	st->probes[0].attached = true;
	st->probes[0].hits = 1000;
	st->probes[0].kind = VSTRACE_PROBE_KIND_INT3;
	snprintf(st->probes[0].kind_why, sizeof(st->probes[0].kind_why),
		 "another probe shares the address");
	snprintf(st->probes[1].point, sizeof(st->probes[1].point), "virtio_transport_recv_pkt");
	st->probes[1].attached = true;
	snprintf(st->probes[1].fallback, sizeof(st->probes[1].fallback),
		 "virtio_transport_stream_dequeue");
	st->probes[1].kind = VSTRACE_PROBE_KIND_FTRACE;
	st->probes[1].is_return = true;

	s->packets[VSTRACE_TRANSPORT_LOOPBACK][VSTRACE_DIR_TX][VSTRACE_OP_RW] = 10;
	s->bytes[VSTRACE_TRANSPORT_LOOPBACK][VSTRACE_DIR_TX][VSTRACE_OP_RW] = 640;
	s->packets[VSTRACE_TRANSPORT_LOOPBACK][VSTRACE_DIR_RX][VSTRACE_OP_RW] = 7;
	s->bytes[VSTRACE_TRANSPORT_LOOPBACK][VSTRACE_DIR_RX][VSTRACE_OP_RW] = 448;
	s->packets[VSTRACE_TRANSPORT_VIRTIO][VSTRACE_DIR_TX][VSTRACE_OP_CREDIT_UPDATE] = 3;
	s->counters[VSTRACE_CTR_CREDIT_STALLS] = 4;
	s->counters[VSTRACE_CTR_CREDIT_STALL_NS] = 40000;
	s->counters[VSTRACE_CTR_DROPS] = 2;
	s->counters[VSTRACE_CTR_PROBE_HITS] = 1000;
	s->counters[VSTRACE_CTR_PROBE_NS] = 250000;

	/*
	 * copy/tx/loopback, data: 100 samples 1000..1099 ns; proto/rx/loopback,
	 * control: one.
	 */
	for (int c = 0; c < VSTRACE_NR_CLASSES; c++)
		for (int st_ = 0; st_ < VSTRACE_NR_STAGES; st_++)
			for (int d = 0; d < VSTRACE_NR_DIRS; d++)
				for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
					vs_hist_init(&s->hist[c][st_][d][t].h);
	h = &s->hist[VSTRACE_CLASS_DATA][VSTRACE_STAGE_COPY][VSTRACE_DIR_TX]
		    [VSTRACE_TRANSPORT_LOOPBACK].h;
	for (int i = 0; i < 100; i++)
		vs_hist_record(h, 1000 + i);
	h = &s->hist[VSTRACE_CLASS_CONTROL][VSTRACE_STAGE_PROTO][VSTRACE_DIR_RX]
		    [VSTRACE_TRANSPORT_LOOPBACK].h;
	vs_hist_record(h, 12);
	/* Empty histograms read from the kernel have min 0. */
	for (int c = 0; c < VSTRACE_NR_CLASSES; c++)
		for (int st_ = 0; st_ < VSTRACE_NR_STAGES; st_++)
			for (int d = 0; d < VSTRACE_NR_DIRS; d++)
				for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
					if (!s->hist[c][st_][d][t].h.count)
						s->hist[c][st_][d][t].h.min = 0;
}

static const struct jv *find_stage(const struct jv *stages, const char *stage, const char *dir,
				   const char *transport)
{
	for (int i = 0; i < stages->n; i++) {
		const struct jv *e = &stages->kids[i];
		const char *a = jv_str(e, "stage"), *b = jv_str(e, "dir"), *c = jv_str(e, "transport");

		if (a && b && c && !strcmp(a, stage) && !strcmp(b, dir) && !strcmp(c, transport))
			return e;
	}
	return NULL;
}

static void check_contract(struct __test_metadata *_metadata, const char *text)
{
	const struct jv *session, *stages, *e, *ops, *credit, *overhead, *probes, *p, *f;
	static const char *const stage_fields[] = {
		"count", "mean_ns", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns",
	};
	const struct vs_hist *h;
	struct vs_status st;
	struct vs_stats s;
	struct utsname u;
	struct jv doc;

	recorded(&st, &s);
	uname(&u);
	ASSERT_TRUE(jv_parse(text, &doc)) TH_LOG("not JSON: %s", text);
	ASSERT_EQ(JV_OBJ, doc.type);

	EXPECT_STREQ(u.release, jv_str(&doc, "kernel"));
	EXPECT_STREQ("kmod", jv_str(&doc, "backend"));

	session = jv_get(&doc, "session");
	ASSERT_NE(NULL, session);
	EXPECT_EQ(1700000000123456789.0, jv_uint(session, "start_ns"));
	EXPECT_STREQ("1700000000123456789", jv_get(session, "start_ns")->str);
	EXPECT_EQ(2500000000.0, jv_uint(session, "duration_ns"));

	/* stages: exactly the two non-empty histograms, every field. */
	stages = jv_get(&doc, "stages");
	ASSERT_NE(NULL, stages);
	ASSERT_EQ(JV_ARR, stages->type);
	EXPECT_EQ(2, stages->n);
	e = find_stage(stages, "copy", "tx", "loopback");
	ASSERT_NE(NULL, e);
	for (size_t i = 0; i < sizeof(stage_fields) / sizeof(stage_fields[0]); i++) {
		EXPECT_LE(0, jv_uint(e, stage_fields[i])) TH_LOG("copy: no %s", stage_fields[i]);
	}
	h = vs_stats_hist(&s, VSTRACE_STAGE_COPY, VSTRACE_DIR_TX, VSTRACE_TRANSPORT_LOOPBACK);
	EXPECT_EQ(100, jv_uint(e, "count"));
	EXPECT_EQ(1050, jv_uint(e, "mean_ns"));	/* 1049.5, rounded */
	EXPECT_EQ(vs_hist_percentile(h, 50.0), jv_uint(e, "p50_ns"));
	EXPECT_EQ(vs_hist_percentile(h, 90.0), jv_uint(e, "p90_ns"));
	EXPECT_EQ(vs_hist_percentile(h, 99.0), jv_uint(e, "p99_ns"));
	EXPECT_EQ(vs_hist_percentile(h, 99.9), jv_uint(e, "p999_ns"));
	EXPECT_EQ(1099, jv_uint(e, "max_ns"));
	EXPECT_STREQ("data", jv_str(e, "class"));
	/* The percentiles are near the truth (1049, 1089, 1098, 1099). */
	EXPECT_LE(fabs(jv_uint(e, "p50_ns") - 1049), 1049 / 32 + 1);
	EXPECT_LE(fabs(jv_uint(e, "p90_ns") - 1089), 1089 / 32 + 1);
	e = find_stage(stages, "proto", "rx", "loopback");
	ASSERT_NE(NULL, e);
	EXPECT_EQ(1, jv_uint(e, "count"));
	EXPECT_EQ(12, jv_uint(e, "mean_ns"));
	EXPECT_EQ(12, jv_uint(e, "p50_ns"));
	EXPECT_EQ(12, jv_uint(e, "p999_ns"));
	EXPECT_EQ(12, jv_uint(e, "max_ns"));
	EXPECT_STREQ("control", jv_str(e, "class"));
	for (int i = 0; i < stages->n; i++) {
		const char *stage = jv_str(&stages->kids[i], "stage");
		const char *dir = jv_str(&stages->kids[i], "dir");

		ASSERT_NE(NULL, stage);
		ASSERT_NE(NULL, dir);
		EXPECT_TRUE(!strcmp(stage, "copy") || !strcmp(stage, "notify") ||
			    !strcmp(stage, "sched") || !strcmp(stage, "proto")) TH_LOG("%s", stage);
		EXPECT_TRUE(!strcmp(dir, "tx") || !strcmp(dir, "rx") || !strcmp(dir, "wakeup"));
	}

	/* ops: every op name but INVALID, summed over transports and directions. */
	ops = jv_get(&doc, "ops");
	ASSERT_NE(NULL, ops);
	ASSERT_EQ(JV_OBJ, ops->type);
	EXPECT_EQ(VSTRACE_NR_OPS - 1, ops->n);
	EXPECT_EQ(NULL, jv_get(ops, "INVALID"));
	for (int op = 1; op < VSTRACE_NR_OPS; op++) {
		EXPECT_LE(0, jv_uint(jv_get(ops, vs_op_names[op]), "packets"))
			TH_LOG("ops.%s.packets", vs_op_names[op]);
		EXPECT_LE(0, jv_uint(jv_get(ops, vs_op_names[op]), "bytes"))
			TH_LOG("ops.%s.bytes", vs_op_names[op]);
	}
	EXPECT_EQ(17, jv_uint(jv_get(ops, "RW"), "packets"));
	EXPECT_EQ(1088, jv_uint(jv_get(ops, "RW"), "bytes"));
	EXPECT_EQ(3, jv_uint(jv_get(ops, "CREDIT_UPDATE"), "packets"));
	EXPECT_EQ(0, jv_uint(jv_get(ops, "REQUEST"), "packets"));

	credit = jv_get(&doc, "credit");
	ASSERT_NE(NULL, credit);
	EXPECT_EQ(4, jv_uint(credit, "stalls"));
	EXPECT_EQ(40000, jv_uint(credit, "stall_ns"));
	EXPECT_EQ(2, jv_uint(&doc, "drops"));

	overhead = jv_get(&doc, "overhead");
	ASSERT_NE(NULL, overhead);
	EXPECT_EQ(1000, jv_uint(overhead, "probe_hits"));
	ASSERT_NE(NULL, jv_get(overhead, "ns_per_hit"));
	EXPECT_EQ(JV_NUM, jv_get(overhead, "ns_per_hit")->type);
	EXPECT_EQ(250.0, jv_get(overhead, "ns_per_hit")->num);

	probes = jv_get(&doc, "probes");
	ASSERT_NE(NULL, probes);
	ASSERT_EQ(JV_ARR, probes->type);
	ASSERT_EQ(2, probes->n);
	p = &probes->kids[0];
	EXPECT_STREQ("virtio_transport_send_pkt_info", jv_str(p, "point"));
	ASSERT_NE(NULL, jv_get(p, "attached"));
	EXPECT_EQ(JV_BOOL, jv_get(p, "attached")->type);
	EXPECT_TRUE(jv_get(p, "attached")->b);
	f = jv_get(p, "fallback");
	ASSERT_NE(NULL, f);
	EXPECT_EQ(JV_NULL, f->type);
	EXPECT_STREQ("int3", jv_str(p, "kind"));
	EXPECT_STREQ("another probe shares the address", jv_str(p, "kind_why"));
	ASSERT_NE(NULL, jv_get(p, "return"));
	EXPECT_FALSE(jv_get(p, "return")->b);
	p = &probes->kids[1];
	EXPECT_STREQ("virtio_transport_recv_pkt", jv_str(p, "point"));
	EXPECT_STREQ("virtio_transport_stream_dequeue", jv_str(p, "fallback"));
	EXPECT_STREQ("ftrace", jv_str(p, "kind"));
	EXPECT_EQ(NULL, jv_get(p, "kind_why"));
	ASSERT_NE(NULL, jv_get(p, "return"));
	EXPECT_TRUE(jv_get(p, "return")->b);
	jv_free(&doc);
}

TEST(show_json_contract)
{
	struct vs_status st;
	struct vs_stats s;
	char *text;

	recorded(&st, &s);
	text = print(&st, &s, false);
	ASSERT_NE(NULL, text);
	/* One object on one line. */
	EXPECT_EQ(strlen(text) - 1, (size_t)(strchr(text, '\n') - text));
	check_contract(_metadata, text);
	free(text);
}

TEST(show_json_contract_pretty)
{
	struct vs_status st;
	struct vs_stats s;
	char *text;

	recorded(&st, &s);
	text = print(&st, &s, true);
	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, strstr(text, "\n  \"kernel\": "));
	check_contract(_metadata, text);
	free(text);
}

TEST(show_json_empty_session)
{
	struct vs_status st = { .filter_cid = -1, .filter_port = -1, .filter_transport = -1 };
	struct vs_stats *s = calloc(1, sizeof(*s));
	const struct jv *stages, *probes;
	struct jv doc;
	char *text;

	ASSERT_NE(NULL, s);
	text = print(&st, s, false);
	ASSERT_NE(NULL, text);
	ASSERT_TRUE(jv_parse(text, &doc)) TH_LOG("not JSON: %s", text);
	stages = jv_get(&doc, "stages");
	probes = jv_get(&doc, "probes");
	ASSERT_NE(NULL, stages);
	ASSERT_NE(NULL, probes);
	EXPECT_EQ(JV_ARR, stages->type);
	EXPECT_EQ(0, stages->n);
	EXPECT_EQ(JV_ARR, probes->type);
	EXPECT_EQ(0, probes->n);
	EXPECT_EQ(0, jv_uint(jv_get(&doc, "credit"), "stalls"));
	EXPECT_EQ(0.0, jv_get(jv_get(&doc, "overhead"), "ns_per_hit")->num);
	jv_free(&doc);
	free(text);
	free(s);
}

TEST_HARNESS_MAIN
