// SPDX-License-Identifier: GPL-2.0
/*
 * vstrace show: the counters of a session as text (the per-stage table) or
 * as the one JSON object of the contract (Documentation/vstrace.rst).
 */
#include <stdbool.h>
#include <stdio.h>
#include <sys/utsname.h>
#include "json_writer.h"
#include "show.h"

static void sum_ops(const struct vs_stats *s, int op, uint64_t *pk, uint64_t *by)
{
	*pk = *by = 0;
	for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
		for (int d = 0; d < VSTRACE_NR_DIRS; d++) {
			*pk += s->packets[t][d][op];
			*by += s->bytes[t][d][op];
		}
}

static double ns_per_hit(const struct vs_stats *s)
{
	uint64_t hits = s->counters[VSTRACE_CTR_PROBE_HITS];

	return hits ? (double)s->counters[VSTRACE_CTR_PROBE_NS] / (double)hits : 0.0;
}

void vs_show_json(FILE *out, bool pretty, const char *backend, const struct vs_status *st,
		  const struct vs_stats *s)
{
	struct utsname u;
	json_writer_t w;

	uname(&u);
	jsonw_init(&w, out, pretty);
	jsonw_start_object(&w);
	jsonw_string_field(&w, "kernel", u.release);
	jsonw_string_field(&w, "backend", backend);
	jsonw_name(&w, "session");
	jsonw_start_object(&w);
	jsonw_bool_field(&w, "active", st->active);
	jsonw_uint_field(&w, "start_ns", st->start_ns);
	jsonw_uint_field(&w, "duration_ns", st->duration_ns);
	jsonw_name(&w, "filter");
	jsonw_start_object(&w);
	if (st->filter_cid >= 0)
		jsonw_int_field(&w, "cid", st->filter_cid);
	if (st->filter_port >= 0)
		jsonw_int_field(&w, "port", st->filter_port);
	if (st->filter_transport >= 0 && st->filter_transport < VSTRACE_NR_TRANSPORTS)
		jsonw_string_field(&w, "transport", vs_transport_names[st->filter_transport]);
	jsonw_end_object(&w);
	jsonw_end_object(&w);

	/*
	 * One entry per non-empty (class, stage, dir, transport) histogram:
	 * data packets first, then control packets (class "control").
	 */
	jsonw_name(&w, "stages");
	jsonw_start_array(&w);
	for (int c = 0; c < VSTRACE_NR_CLASSES; c++)
		for (int d = 0; d < VSTRACE_NR_DIRS; d++)
			for (int st = 0; st < VSTRACE_NR_STAGES; st++)
				for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++) {
					const struct vs_hist *h = vs_stats_hist_class(s, c, st, d, t);

					if (!h->count)
						continue;
					jsonw_start_object(&w);
					jsonw_string_field(&w, "stage", vs_stage_names[st]);
					jsonw_string_field(&w, "dir", vs_dir_names[d]);
					jsonw_string_field(&w, "transport", vs_transport_names[t]);
					jsonw_string_field(&w, "class", vs_class_names[c]);
					jsonw_uint_field(&w, "count", h->count);
					jsonw_uint_field(&w, "mean_ns", (uint64_t)(vs_hist_mean(h) + 0.5));
					jsonw_uint_field(&w, "p50_ns", vs_hist_percentile(h, 50.0));
					jsonw_uint_field(&w, "p90_ns", vs_hist_percentile(h, 90.0));
					jsonw_uint_field(&w, "p99_ns", vs_hist_percentile(h, 99.0));
					jsonw_uint_field(&w, "p999_ns", vs_hist_percentile(h, 99.9));
					jsonw_uint_field(&w, "max_ns", h->max);
					jsonw_end_object(&w);
				}
	jsonw_end_array(&w);

	/* Every packet this kernel saw, sent or received, per op. */
	jsonw_name(&w, "ops");
	jsonw_start_object(&w);
	for (int op = 0; op < VSTRACE_NR_OPS; op++) {
		uint64_t pk, by;

		if (op == VSTRACE_OP_INVALID)
			continue;
		sum_ops(s, op, &pk, &by);
		jsonw_name(&w, vs_op_names[op]);
		jsonw_start_object(&w);
		jsonw_uint_field(&w, "packets", pk);
		jsonw_uint_field(&w, "bytes", by);
		jsonw_end_object(&w);
	}
	jsonw_end_object(&w);

	jsonw_name(&w, "packets");
	jsonw_start_array(&w);
	for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
		for (int d = 0; d < VSTRACE_NR_DIRS; d++)
			for (int op = 0; op < VSTRACE_NR_OPS; op++) {
				if (!s->packets[t][d][op])
					continue;
				jsonw_start_object(&w);
				jsonw_string_field(&w, "transport", vs_transport_names[t]);
				jsonw_string_field(&w, "dir", vs_dir_names[d]);
				jsonw_string_field(&w, "op", vs_op_names[op]);
				jsonw_uint_field(&w, "packets", s->packets[t][d][op]);
				jsonw_uint_field(&w, "bytes", s->bytes[t][d][op]);
				jsonw_end_object(&w);
			}
	jsonw_end_array(&w);

	jsonw_name(&w, "credit");
	jsonw_start_object(&w);
	jsonw_uint_field(&w, "stalls", s->counters[VSTRACE_CTR_CREDIT_STALLS]);
	jsonw_uint_field(&w, "stall_ns", s->counters[VSTRACE_CTR_CREDIT_STALL_NS]);
	jsonw_end_object(&w);
	jsonw_uint_field(&w, "drops", s->counters[VSTRACE_CTR_DROPS]);
	jsonw_uint_field(&w, "tx_queue_max", s->counters[VSTRACE_CTR_TX_QUEUE_MAX]);
	jsonw_name(&w, "overhead");
	jsonw_start_object(&w);
	jsonw_uint_field(&w, "probe_hits", s->counters[VSTRACE_CTR_PROBE_HITS]);
	jsonw_float_field(&w, "ns_per_hit", ns_per_hit(s));
	jsonw_end_object(&w);
	jsonw_name(&w, "counters");
	jsonw_start_object(&w);
	for (int c = 0; c < VSTRACE_NR_COUNTERS; c++)
		jsonw_uint_field(&w, vs_counter_names[c], s->counters[c]);
	jsonw_end_object(&w);

	vs_show_probes_json(&w, st);
	jsonw_end_object(&w);
}

/*
 * The "probes" list of status and show: each point, whether and how it is
 * attached (kind: disarmed, ftrace, optimized, int3; return probe or not),
 * hits and missed hits.
 */
void vs_show_probes_json(json_writer_t *w, const struct vs_status *st)
{
	jsonw_name(w, "probes");
	jsonw_start_array(w);
	for (unsigned int i = 0; i < st->nr_probes; i++) {
		const struct vs_probe_status *p = &st->probes[i];

		jsonw_start_object(w);
		jsonw_string_field(w, "point", p->point);
		jsonw_bool_field(w, "attached", p->attached);
		jsonw_name(w, "fallback");
		if (p->fallback[0])
			jsonw_string(w, p->fallback);
		else
			jsonw_null(w);
		/* An attached point of a backend that does not say: null. */
		jsonw_name(w, "kind");
		if (p->attached && p->kind == VSTRACE_PROBE_KIND_NONE)
			jsonw_null(w);
		else
			jsonw_string(w, vs_probe_kind_names[p->kind]);
		jsonw_bool_field(w, "return", p->is_return);
		if (p->kind_why[0])
			jsonw_string_field(w, "kind_why", p->kind_why);
		jsonw_int_field(w, "error", p->error);
		jsonw_uint_field(w, "hits", p->hits);
		jsonw_uint_field(w, "missed", p->missed);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
}

void vs_probe_kind_text(const struct vs_probe_status *p, char *buf, size_t len)
{
	if (p->attached && p->kind == VSTRACE_PROBE_KIND_NONE)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s%s", vs_probe_kind_names[p->kind],
			 p->is_return ? ", return" : "");
}

void vs_print_filters(const struct vs_status *st)
{
	if (st->filter_cid < 0 && st->filter_port < 0 && st->filter_transport < 0) {
		printf("none");
		return;
	}
	if (st->filter_cid >= 0)
		printf("cid %lld ", (long long)st->filter_cid);
	if (st->filter_port >= 0)
		printf("port %lld ", (long long)st->filter_port);
	if (st->filter_transport >= 0 && st->filter_transport < VSTRACE_NR_TRANSPORTS)
		printf("transport %s", vs_transport_names[st->filter_transport]);
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

/*
 * The rows of one class, a block per direction (tx, rx, wakeup), latencies
 * in microseconds; returns the sum of the means, 0 if there are none.
 */
static double show_stage_rows(const struct vs_stats *s, int cls, bool *any)
{
	double total = 0.0;

	for (int d = 0; d < VSTRACE_NR_DIRS; d++) {
		bool block = false;

		for (int st = 0; st < VSTRACE_NR_STAGES; st++)
			for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++) {
				const struct vs_hist *h = vs_stats_hist_class(s, cls, st, d, t);

				if (!h->count)
					continue;
				if (*any && !block)
					printf("\n");
				*any = block = true;
				total += vs_hist_mean(h);
				printf("%-7s %-6s %-9s %9llu %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f\n",
				       vs_stage_names[st], vs_dir_names[d], vs_transport_names[t],
				       (unsigned long long)h->count, vs_hist_mean(h) / 1000.0,
				       us(vs_hist_percentile(h, 50.0)),
				       us(vs_hist_percentile(h, 90.0)),
				       us(vs_hist_percentile(h, 99.0)),
				       us(vs_hist_percentile(h, 99.9)), us(h->max));
			}
	}
	return total;
}

/*
 * The per-stage table of this side: data packets (RW), with the sum of
 * their stage means, then control packets apart (not in the sum).
 */
static void show_stages(const struct vs_stats *s)
{
	static const char head[] = "%-7s %-6s %-9s %9s %10s %10s %10s %10s %10s %10s\n";
	double total;
	bool any = false, ctl = false;

	printf("\n");
	printf(head, "STAGE", "DIR", "TRANSPORT", "COUNT", "MEAN(us)", "P50", "P90",
	       "P99", "P999", "MAX");
	total = show_stage_rows(s, VSTRACE_CLASS_DATA, &any);
	if (!any)
		printf("(no stage latencies)\n");
	else
		printf("\nsum of data stage means %.2f us\n", total / 1000.0);

	for (int st = 0; st < VSTRACE_NR_STAGES; st++)
		for (int d = 0; d < VSTRACE_NR_DIRS; d++)
			for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
				ctl |= vs_stats_hist_class(s, VSTRACE_CLASS_CONTROL, st, d, t)->count;
	if (!ctl)
		return;
	printf("\ncontrol packets (requests, responses, credit updates, shutdowns, resets):\n");
	printf(head, "STAGE", "DIR", "TRANSPORT", "COUNT", "MEAN(us)", "P50", "P90",
	       "P99", "P999", "MAX");
	any = false;
	show_stage_rows(s, VSTRACE_CLASS_CONTROL, &any);
}

void vs_show_text(const char *backend, const struct vs_status *st, const struct vs_stats *s)
{
	struct utsname u;
	bool any = false;

	uname(&u);
	printf("kernel %s  backend %s  session %s, %.3f s  filters: ",
	       u.release, backend, st->active ? "running" : "stopped",
	       (double)st->duration_ns / 1e9);
	vs_print_filters(st);
	printf("\n\n%-10s %-4s %-15s %12s %14s\n", "TRANSPORT", "DIR", "OP",
	       "PACKETS", "BYTES");
	for (int t = 0; t < VSTRACE_NR_TRANSPORTS; t++)
		for (int d = 0; d < VSTRACE_NR_DIRS; d++)
			for (int op = 0; op < VSTRACE_NR_OPS; op++) {
				if (!s->packets[t][d][op])
					continue;
				any = true;
				printf("%-10s %-4s %-15s %12llu %14llu\n",
				       vs_transport_names[t], vs_dir_names[d],
				       vs_op_names[op],
				       (unsigned long long)s->packets[t][d][op],
				       (unsigned long long)s->bytes[t][d][op]);
			}
	if (!any)
		printf("(no packets)\n");
	show_stages(s);
	printf("\ncredit stalls %llu (%llu ns)  drops %llu  filtered out %llu  tx queue max %llu\n",
	       (unsigned long long)s->counters[VSTRACE_CTR_CREDIT_STALLS],
	       (unsigned long long)s->counters[VSTRACE_CTR_CREDIT_STALL_NS],
	       (unsigned long long)s->counters[VSTRACE_CTR_DROPS],
	       (unsigned long long)s->counters[VSTRACE_CTR_FILTERED],
	       (unsigned long long)s->counters[VSTRACE_CTR_TX_QUEUE_MAX]);
	printf("tracer cost: %llu probe hits, %.0f ns per hit; %llu in-flight entries expired\n",
	       (unsigned long long)s->counters[VSTRACE_CTR_PROBE_HITS],
	       ns_per_hit(s),
	       (unsigned long long)s->counters[VSTRACE_CTR_INFLIGHT_EXPIRED]);
}
