// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of user/lib: the histogram against a sorted reference, every
 * value parser of cli.h (good values, bad ones, overflow, empty strings,
 * "010", "0x10"), addresses, and the JSON writer read back by a strict
 * parser.  No VM, no root, no network.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/vm_sockets.h>
#include "kselftest_harness.h"
#include "cli.h"
#include "hist.h"
#include "json_writer.h"
#include "json_check.h"

/* ---- histogram ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* xorshift64*: the same data on every run. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/*
 * Buckets: values below VSTRACE_HIST_SUB (16) exactly; above, a power of
 * two [2^e, 2^(e+1)) is cut into 16 buckets of width 2^(e-4), so a bucket
 * is at most 1/16 of its lowest value wide.  vs_hist_percentile() reports
 * the middle of the bucket that holds the nearest-rank value, so it is off
 * by at most half a bucket: |estimate - exact| <= exact / 32.
 */
TEST(hist_percentiles_within_bucket_bound)
{
	static const unsigned int pct_x10[] = { 10, 100, 250, 500, 750, 900, 990, 999 };
	enum { N = 100000 };
	uint64_t *v = malloc(N * sizeof(*v)), seed = 0x5eed1234abcdull, sum = 0;
	struct vs_hist h, a, b;

	ASSERT_NE(NULL, v);
	vs_hist_init(&h);
	vs_hist_init(&a);
	vs_hist_init(&b);
	for (int i = 0; i < N; i++) {
		/* Log-uniform over 1 ns .. 2^30 ns, so every bucket layout is hit. */
		unsigned int e = (unsigned int)(rnd(&seed) % 31);

		v[i] = (1ull << e) + rnd(&seed) % (1ull << e);
		sum += v[i];
		vs_hist_record(&h, v[i]);
		vs_hist_record(i % 2 ? &a : &b, v[i]);
	}
	qsort(v, N, sizeof(*v), cmp_u64);

	EXPECT_EQ(N, h.count);
	EXPECT_EQ(v[0], h.min);
	EXPECT_EQ(v[N - 1], h.max);
	EXPECT_EQ(sum, h.sum);
	EXPECT_TRUE(fabs(vs_hist_mean(&h) - (double)sum / N) < 1e-6 * (double)sum / N);
	EXPECT_EQ(v[N - 1], vs_hist_percentile(&h, 100.0));

	for (size_t i = 0; i < sizeof(pct_x10) / sizeof(pct_x10[0]); i++) {
		/* Nearest rank, in integers: ceil(pct * N / 100). */
		uint64_t rank = ((uint64_t)pct_x10[i] * N + 999) / 1000;
		uint64_t exact = v[rank - 1];
		uint64_t est = vs_hist_percentile(&h, pct_x10[i] / 10.0);
		uint64_t diff = est > exact ? est - exact : exact - est;

		EXPECT_LE(diff * 32, exact)
			TH_LOG("p%.1f: estimate %llu, exact %llu", pct_x10[i] / 10.0,
			       (unsigned long long)est, (unsigned long long)exact);
	}

	/* Two halves merged are the whole. */
	vs_hist_merge(&a, &b);
	EXPECT_EQ(h.count, a.count);
	EXPECT_EQ(h.sum, a.sum);
	EXPECT_EQ(h.min, a.min);
	EXPECT_EQ(h.max, a.max);
	EXPECT_EQ(0, memcmp(h.buckets, a.buckets, sizeof(h.buckets)));
	free(v);
}

TEST(hist_small_values_exact_and_empty)
{
	struct vs_hist h;

	vs_hist_init(&h);
	EXPECT_EQ(0, vs_hist_percentile(&h, 50.0));
	EXPECT_EQ(0.0, vs_hist_mean(&h));
	for (uint64_t x = 0; x < 16; x++)
		vs_hist_record(&h, x);
	/* Below 16 every value has its own bucket: percentiles are exact. */
	EXPECT_EQ(7, vs_hist_percentile(&h, 50.0));
	EXPECT_EQ(0, vs_hist_percentile(&h, 1.0));
	EXPECT_EQ(15, vs_hist_percentile(&h, 99.0));
	/* One sample: every percentile is that sample (clamped to min/max). */
	vs_hist_init(&h);
	vs_hist_record(&h, 123456789);
	EXPECT_EQ(123456789, vs_hist_percentile(&h, 50.0));
	EXPECT_EQ(123456789, vs_hist_percentile(&h, 99.9));
}

/* ---- value parsers ---- */

struct u64_case {
	const char *s;
	uint64_t min, max;
	int ok;
	uint64_t want;
	const char *says;	/* part of the message when !ok */
};

TEST(parse_numbers)
{
	static const struct u64_case cases[] = {
		{ "0", 0, 10, 1, 0, NULL },
		{ "10", 0, 100, 1, 10, NULL },
		{ "010", 0, 100, 1, 10, NULL },		/* decimal, not octal */
		{ "0x10", 0, 100, 1, 16, NULL },
		{ "0X1f", 0, 100, 1, 31, NULL },
		{ "18446744073709551615", 0, UINT64_MAX, 1, UINT64_MAX, NULL },
		{ "18446744073709551616", 0, UINT64_MAX, 0, 0, "out of range" },
		{ "99999999999999999999999", 0, UINT64_MAX, 0, 0, "out of range" },
		{ "0x10000000000000000", 0, UINT64_MAX, 0, 0, "out of range" },
		{ "65536", 0, 65535, 0, 0, "65536 is out of range (0..65535)" },
		{ "0", 1, 10, 0, 0, "0 is out of range (1..10)" },
		{ "", 0, 10, 0, 0, "'' is not a number" },
		{ "12Q", 0, 100, 0, 0, "'12Q' is not a number" },
		{ "-1", 0, 100, 0, 0, "'-1' is not a number" },
		{ "+1", 0, 100, 0, 0, "'+1' is not a number" },
		{ " 1", 0, 100, 0, 0, "is not a number" },
		{ "1 ", 0, 100, 0, 0, "is not a number" },
		{ "0x", 0, 100, 0, 0, "'0x' is not a number" },
		{ "0xg", 0, 100, 0, 0, "is not a number" },
		{ "1.5", 0, 100, 0, 0, "is not a number" },
		{ "08", 0, 100, 1, 8, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct u64_case *c = &cases[i];
		char err[256] = "";
		uint64_t v = 777;
		int rc = vs_parse_u64(c->s, c->min, c->max, &v, err, sizeof(err));

		EXPECT_EQ(c->ok ? 0 : -1, rc) TH_LOG("'%s': %s", c->s, err);
		if (c->ok) {
			EXPECT_EQ(c->want, v) TH_LOG("'%s'", c->s);
		} else {
			EXPECT_NE(NULL, strstr(err, c->says))
				TH_LOG("'%s': want '%s' in '%s'", c->s, c->says, err);
		}
	}
}

TEST(parse_sizes)
{
	static const struct u64_case cases[] = {
		{ "64", 1, UINT64_MAX, 1, 64, NULL },
		{ "064", 1, UINT64_MAX, 1, 64, NULL },
		{ "0x40", 1, UINT64_MAX, 1, 64, NULL },
		{ "4K", 1, UINT64_MAX, 1, 4096, NULL },
		{ "4k", 1, UINT64_MAX, 1, 4096, NULL },
		{ "4KiB", 1, UINT64_MAX, 1, 4096, NULL },
		{ "4KB", 1, UINT64_MAX, 1, 4096, NULL },
		{ "64B", 1, UINT64_MAX, 1, 64, NULL },
		{ "1M", 1, UINT64_MAX, 1, 1 << 20, NULL },
		{ "2G", 1, UINT64_MAX, 1, 2ull << 30, NULL },
		/* Fractions: accepted when the result is a whole number of bytes. */
		{ "1.5K", 1, UINT64_MAX, 1, 1536, NULL },
		{ "4.5K", 1, UINT64_MAX, 1, 4608, NULL },
		{ "0.5M", 1, UINT64_MAX, 1, 512 << 10, NULL },
		{ "1.0", 1, UINT64_MAX, 1, 1, NULL },
		{ "1.1K", 1, UINT64_MAX, 0, 0, "'1.1K' is not a whole number of bytes" },
		{ "1.5", 1, UINT64_MAX, 0, 0, "not a whole number of bytes" },
		{ "", 1, UINT64_MAX, 0, 0, "'' is not a size" },
		{ "K", 1, UINT64_MAX, 0, 0, "'K' is not a size" },
		{ "12Q", 1, UINT64_MAX, 0, 0, "'12Q' is not a size" },
		{ "12x", 1, UINT64_MAX, 0, 0, "'12x' is not a size" },
		{ "-1K", 1, UINT64_MAX, 0, 0, "is not a size" },
		{ "1.K", 1, UINT64_MAX, 0, 0, "is not a size" },
		{ ".5K", 1, UINT64_MAX, 0, 0, "is not a size" },
		{ "4KK", 1, UINT64_MAX, 0, 0, "is not a size" },
		{ "4iB", 1, UINT64_MAX, 0, 0, "is not a size" },
		{ "0", 1, 100, 0, 0, "0 is out of range (1..100 bytes)" },
		{ "17179869184G", 1, UINT64_MAX, 0, 0, "out of range" },	/* 2^64 */
		{ "99999999999999999999", 1, UINT64_MAX, 0, 0, "out of range" },
		{ "65M", 1, 64 << 20, 0, 0, "out of range" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct u64_case *c = &cases[i];
		char err[256] = "";
		uint64_t v = 777;
		int rc = vs_parse_size(c->s, c->min, c->max, &v, err, sizeof(err));

		EXPECT_EQ(c->ok ? 0 : -1, rc) TH_LOG("'%s': %s", c->s, err);
		if (c->ok) {
			EXPECT_EQ(c->want, v) TH_LOG("'%s'", c->s);
		} else {
			EXPECT_NE(NULL, strstr(err, c->says))
				TH_LOG("'%s': want '%s' in '%s'", c->s, c->says, err);
		}
	}
}

TEST(parse_durations)
{
	static const uint64_t S = 1000000000ull;
	static const struct u64_case cases[] = {
		{ "5", 0, UINT64_MAX, 1, 5 * S, NULL },
		{ "010", 0, UINT64_MAX, 1, 10 * S, NULL },
		{ "0.5", 0, UINT64_MAX, 1, S / 2, NULL },
		{ "500ms", 0, UINT64_MAX, 1, S / 2, NULL },
		{ "1.5s", 0, UINT64_MAX, 1, 3 * S / 2, NULL },
		{ "250us", 0, UINT64_MAX, 1, 250000, NULL },
		{ "7ns", 0, UINT64_MAX, 1, 7, NULL },
		{ "2m", 0, UINT64_MAX, 1, 120 * S, NULL },
		{ "1h", 0, UINT64_MAX, 1, 3600 * S, NULL },
		{ "0.000000001", 0, UINT64_MAX, 1, 1, NULL },
		{ "0.0000000001", 0, UINT64_MAX, 0, 0, "finer than a nanosecond" },
		{ "1.5ns", 0, UINT64_MAX, 0, 0, "finer than a nanosecond" },
		{ "", 0, UINT64_MAX, 0, 0, "'' is not a duration" },
		{ "soon", 0, UINT64_MAX, 0, 0, "'soon' is not a duration" },
		{ "5 s", 0, UINT64_MAX, 0, 0, "is not a duration" },
		{ "5sec", 0, UINT64_MAX, 0, 0, "is not a duration" },
		{ "-1", 0, UINT64_MAX, 0, 0, "is not a duration" },
		{ "0x10", 0, UINT64_MAX, 0, 0, "is not a duration" },
		{ "1e3", 0, UINT64_MAX, 0, 0, "is not a duration" },
		{ "inf", 0, UINT64_MAX, 0, 0, "is not a duration" },
		{ "99999999999h", 0, UINT64_MAX, 0, 0, "out of range" },
		{ "99999999999999999999", 0, UINT64_MAX, 0, 0, "out of range" },
		{ "0", 1000000, 10 * S, 0, 0, "0 is out of range (0.001s..10s)" },
		{ "11", 0, 10 * S, 0, 0, "out of range" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct u64_case *c = &cases[i];
		char err[256] = "";
		uint64_t v = 777;
		int rc = vs_parse_duration(c->s, c->min, c->max, &v, err, sizeof(err));

		EXPECT_EQ(c->ok ? 0 : -1, rc) TH_LOG("'%s': %s", c->s, err);
		if (c->ok) {
			EXPECT_EQ(c->want, v) TH_LOG("'%s'", c->s);
		} else {
			EXPECT_NE(NULL, strstr(err, c->says))
				TH_LOG("'%s': want '%s' in '%s'", c->s, c->says, err);
		}
	}
}

TEST(parse_decimals)
{
	char err[256];
	double v;

	ASSERT_EQ(0, vs_parse_double("2.5", 0, 10, &v, err, sizeof(err)));
	EXPECT_EQ(2.5, v);
	ASSERT_EQ(0, vs_parse_double("010", 0, 100, &v, err, sizeof(err)));
	EXPECT_EQ(10.0, v);
	EXPECT_EQ(-1, vs_parse_double("", 0, 10, &v, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "'' is not a number"));
	EXPECT_EQ(-1, vs_parse_double("0x10", 0, 100, &v, err, sizeof(err)));
	EXPECT_EQ(-1, vs_parse_double("nan", 0, 100, &v, err, sizeof(err)));
	EXPECT_EQ(-1, vs_parse_double("1e3", 0, 1e9, &v, err, sizeof(err)));
	EXPECT_EQ(-1, vs_parse_double("11", 0, 10, &v, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "11 is out of range (0..10)"));
}

TEST(parse_addresses)
{
	struct vs_addr a;
	char err[256];

	ASSERT_EQ(0, vs_addr_parse("vsock:1:010", &a, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(AF_VSOCK, a.family);
	EXPECT_EQ(1, ((struct sockaddr_vm *)&a.ss)->svm_cid);
	EXPECT_EQ(10, ((struct sockaddr_vm *)&a.ss)->svm_port);	/* not 8 */

	ASSERT_EQ(0, vs_addr_parse("vsock:0x10:0x10", &a, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(16, ((struct sockaddr_vm *)&a.ss)->svm_cid);
	EXPECT_EQ(16, ((struct sockaddr_vm *)&a.ss)->svm_port);

	ASSERT_EQ(0, vs_addr_parse("vsock:any:5201", &a, err, sizeof(err)));
	EXPECT_EQ(VMADDR_CID_ANY, ((struct sockaddr_vm *)&a.ss)->svm_cid);
	ASSERT_EQ(0, vs_addr_parse("vsock:host:1", &a, err, sizeof(err)));
	EXPECT_EQ(VMADDR_CID_HOST, ((struct sockaddr_vm *)&a.ss)->svm_cid);
	ASSERT_EQ(0, vs_addr_parse("vsock:local:1", &a, err, sizeof(err)));
	EXPECT_EQ(1, ((struct sockaddr_vm *)&a.ss)->svm_cid);

	ASSERT_EQ(0, vs_addr_parse("tcp:127.0.0.1:010", &a, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(AF_INET, a.family);
	EXPECT_EQ(10, ntohs(((struct sockaddr_in *)&a.ss)->sin_port));
	EXPECT_EQ(htonl(INADDR_LOOPBACK), ((struct sockaddr_in *)&a.ss)->sin_addr.s_addr);
	EXPECT_STREQ("tcp:127.0.0.1:010", a.text);

	ASSERT_EQ(0, vs_addr_parse("tcp:[::1]:0x50", &a, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(AF_INET6, a.family);
	EXPECT_EQ(80, ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port));

	EXPECT_EQ(-1, vs_addr_parse("", &a, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "expected tcp:HOST:PORT or vsock:CID:PORT"));
	EXPECT_EQ(-1, vs_addr_parse("udp:1:2", &a, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "'udp:1:2'"));
	EXPECT_EQ(-1, vs_addr_parse("vsock:x:2", &a, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "bad CID 'x'"));
	EXPECT_EQ(-1, vs_addr_parse("vsock:1:", &a, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "bad port ''"));
	EXPECT_EQ(-1, vs_addr_parse("vsock:1", &a, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "expected vsock:CID:PORT"));
	EXPECT_EQ(-1, vs_addr_parse("vsock:4294967296:1", &a, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "bad CID"));
	EXPECT_EQ(-1, vs_addr_parse("tcp:127.0.0.1:65536", &a, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "bad port '65536'"));
	EXPECT_EQ(-1, vs_addr_parse("tcp:127.0.0.1:-1", &a, err, sizeof(err)));
	EXPECT_EQ(-1, vs_addr_parse("tcp:127.0.0.1", &a, err, sizeof(err)));
	EXPECT_EQ(-1, vs_addr_parse("tcp:[::1:80", &a, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "expected tcp:[V6ADDR]:PORT"));
}

static int dummy(int argc, char **argv)
{
	return 0;
}

TEST(verb_prefixes)
{
	static const struct cli_cmd cmds[] = {
		{ "start", dummy, NULL }, { "stop", dummy, NULL }, { "status", dummy, NULL },
		{ "show", dummy, NULL }, { "top", dummy, NULL }, { NULL, NULL, NULL },
	};
	char err[256];

	EXPECT_EQ(&cmds[0], cli_cmd_find(cmds, "start", err, sizeof(err)));
	EXPECT_EQ(&cmds[0], cli_cmd_find(cmds, "star", err, sizeof(err)));
	EXPECT_EQ(&cmds[3], cli_cmd_find(cmds, "sh", err, sizeof(err)));
	EXPECT_EQ(&cmds[4], cli_cmd_find(cmds, "t", err, sizeof(err)));
	EXPECT_EQ(NULL, cli_cmd_find(cmds, "st", err, sizeof(err)));
	EXPECT_STREQ("'st' is ambiguous: start, stop, status", err);
	EXPECT_EQ(NULL, cli_cmd_find(cmds, "", err, sizeof(err)));
	EXPECT_EQ(NULL, cli_cmd_find(cmds, "starts", err, sizeof(err)));
	EXPECT_STREQ("unknown verb 'starts' (start, stop, status, show, top)", err);
	EXPECT_TRUE(cli_is_prefix("sto", "stop"));
	EXPECT_FALSE(cli_is_prefix("", "stop"));
	EXPECT_FALSE(cli_is_prefix("stopp", "stop"));
}

/* ---- JSON writer ---- */

static char *write_doc(bool pretty)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_writer_t w;

	if (!f)
		return NULL;
	jsonw_init(&w, f, pretty);
	jsonw_start_object(&w);
	jsonw_string_field(&w, "plain", "abc");
	jsonw_string_field(&w, "escapes", "q\"b\\n\nt\tc\001");
	jsonw_uint_field(&w, "big", UINT64_MAX);
	jsonw_int_field(&w, "neg", -42);
	jsonw_float_field(&w, "half", 0.5);
	jsonw_float_field(&w, "nan", NAN);
	jsonw_bool_field(&w, "yes", true);
	jsonw_name(&w, "nothing");
	jsonw_null(&w);
	jsonw_name(&w, "empty_obj");
	jsonw_start_object(&w);
	jsonw_end_object(&w);
	jsonw_name(&w, "empty_arr");
	jsonw_start_array(&w);
	jsonw_end_array(&w);
	jsonw_name(&w, "list");
	jsonw_start_array(&w);
	for (int i = 0; i < 3; i++) {
		jsonw_start_object(&w);
		jsonw_int_field(&w, "i", i);
		jsonw_name(&w, "inner");
		jsonw_start_array(&w);
		jsonw_uint(&w, 7);
		jsonw_string(&w, "x");
		jsonw_end_array(&w);
		jsonw_end_object(&w);
	}
	jsonw_end_array(&w);
	jsonw_end_object(&w);
	fclose(f);
	return buf;
}

static void check_doc(struct __test_metadata *_metadata, const char *text)
{
	const struct jv *list, *e;
	struct jv doc;

	ASSERT_TRUE(jv_parse(text, &doc)) TH_LOG("not JSON: %s", text);
	ASSERT_EQ(JV_OBJ, doc.type);
	EXPECT_EQ(11, doc.n);
	EXPECT_STREQ("abc", jv_str(&doc, "plain"));
	EXPECT_STREQ("q\"b\\n\nt\tc\\u0001", jv_str(&doc, "escapes"));
	ASSERT_NE(NULL, jv_get(&doc, "big"));
	EXPECT_STREQ("18446744073709551615", jv_get(&doc, "big")->str);
	EXPECT_STREQ("-42", jv_get(&doc, "neg")->str);
	EXPECT_EQ(0.5, jv_get(&doc, "half")->num);
	EXPECT_EQ(JV_NULL, jv_get(&doc, "nan")->type);
	EXPECT_EQ(JV_BOOL, jv_get(&doc, "yes")->type);
	EXPECT_TRUE(jv_get(&doc, "yes")->b);
	EXPECT_EQ(JV_NULL, jv_get(&doc, "nothing")->type);
	EXPECT_EQ(JV_OBJ, jv_get(&doc, "empty_obj")->type);
	EXPECT_EQ(0, jv_get(&doc, "empty_obj")->n);
	EXPECT_EQ(JV_ARR, jv_get(&doc, "empty_arr")->type);
	EXPECT_EQ(0, jv_get(&doc, "empty_arr")->n);
	list = jv_get(&doc, "list");
	ASSERT_NE(NULL, list);
	ASSERT_EQ(JV_ARR, list->type);
	ASSERT_EQ(3, list->n);
	for (int i = 0; i < 3; i++) {
		e = &list->kids[i];
		EXPECT_EQ(i, jv_uint(e, "i"));
		ASSERT_NE(NULL, jv_get(e, "inner"));
		EXPECT_EQ(2, jv_get(e, "inner")->n);
		EXPECT_EQ(7, jv_get(e, "inner")->kids[0].num);
		EXPECT_STREQ("x", jv_get(e, "inner")->kids[1].str);
	}
	jv_free(&doc);
}

TEST(json_writer_round_trip)
{
	char *compact = write_doc(false), *pretty = write_doc(true);

	ASSERT_NE(NULL, compact);
	ASSERT_NE(NULL, pretty);
	/* One line compact, ended by a newline; indented when pretty. */
	EXPECT_EQ(strlen(compact) - 1, (size_t)(strchr(compact, '\n') - compact));
	EXPECT_NE(NULL, strstr(pretty, "\n  \"plain\": \"abc\""));
	check_doc(_metadata, compact);
	check_doc(_metadata, pretty);
	free(compact);
	free(pretty);
}

/* The checker itself refuses what is not JSON, or the tests above prove nothing. */
TEST(json_checker_is_strict)
{
	static const char *const bad[] = {
		"", "{", "{\"a\":1,}", "[1,]", "{a:1}", "{\"a\" 1}", "01", "1.", "-",
		"\"\\x\"", "\"a\nb\"", "nul", "[1] 2", "{\"a\":NaN}", "'a'",
	};
	struct jv v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_FALSE(jv_parse(bad[i], &v)) TH_LOG("accepted: %s", bad[i]);
	}
	ASSERT_TRUE(jv_parse(" {\"a\": [1, -2.5e3, true, null, \"\\u0041\"]} ", &v));
	jv_free(&v);
}

TEST_HARNESS_MAIN
