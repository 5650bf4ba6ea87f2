// SPDX-License-Identifier: GPL-2.0
/*
 * vsbench sweep: rr and stream for every power-of-two message size from
 * --min-size to --max-size, against one or more --to targets.  Targets are
 * interleaved per size, so load that drifts during the sweep hits them
 * alike, and each table row is printed as soon as its size is done.  A run
 * that fails is reported at once and marked in the results; the sweep goes
 * on, and exits 1 at the end.
 */
#include <stdlib.h>
#include <string.h>
#include "vsbench.h"

struct sweep_cell {
	struct vsb_rr_result rr;
	struct vsb_stream_result st;	/* only the totals are kept */
	double tx_gbps, rx_gbps;
	bool have_rr, have_st;
	char rr_err[256], st_err[256];	/* why a run failed */
};

static void fmt_size(uint32_t v, char *buf, size_t len)
{
	if (v >= (1u << 20) && !(v % (1u << 20)))
		snprintf(buf, len, "%uM", v >> 20);
	else if (v >= 1024 && !(v % 1024))
		snprintf(buf, len, "%uK", v >> 10);
	else
		snprintf(buf, len, "%u", v);
}

static void human_header(const struct vsb_opts *o)
{
	printf("sweep:%s%s (1 row per message size)\n",
	       o->sweep_rr ? " rr round trip p50/p999 in us (request = response size)" : "",
	       o->sweep_stream ? (o->backward ? ", stream backward Gbit/s" :
				  ", stream forward Gbit/s") : "");
	printf("%-6s", "");
	for (unsigned int t = 0; t < o->nr_to; t++)
		printf(" | %-29.29s", o->to[t].text);
	printf("\n%-6s", "size");
	for (unsigned int t = 0; t < o->nr_to; t++)
		printf(" | %9s %9s %9s", "p50", "p999", "Gbit/s");
	printf("\n");
	fflush(stdout);
}

static void human_row(const struct vsb_opts *o, uint32_t size, const struct sweep_cell *row)
{
	char s[16];

	fmt_size(size, s, sizeof(s));
	printf("%-6s", s);
	for (unsigned int t = 0; t < o->nr_to; t++) {
		const struct sweep_cell *c = &row[t];

		if (c->have_rr)
			printf(" | %9.1f %9.1f",
			       vs_hist_percentile(&c->rr.hist, 50) / 1000.0,
			       vs_hist_percentile(&c->rr.hist, 99.9) / 1000.0);
		else
			printf(" | %9s %9s", c->rr_err[0] ? "failed" : "-", "-");
		if (c->have_st)
			printf(" %9.3f", c->rx_gbps);
		else
			printf(" %9s", c->st_err[0] ? "failed" : "-");
	}
	printf("\n");
	fflush(stdout);
}

static void step_opts(const struct vsb_opts *o, struct vsb_opts *so, uint32_t size, bool rr)
{
	*so = *o;
	so->size = size;
	so->rsp_size = 0;
	if (!o->timeout)
		so->timeout = rr ? 60 : o->seconds + 30;
}

/* Report a failed run, keep its reason, and clear the way for the next. */
static int cell_failed(const char *kind, uint32_t size, char *err, size_t len)
{
	snprintf(err, len, "%s", vsb_error_text());
	p_err("sweep: %s %u B: %s", kind, size, err);
	vsb_clear_failure();
	return 1;
}

/* Returns the number of failed runs. */
static int run_cell(const struct vsb_opts *o, unsigned int t, uint32_t size,
		    struct sweep_cell *c)
{
	struct vsb_opts so;
	int failed = 0;

	if (o->sweep_rr && !vsb_stop) {
		step_opts(o, &so, size, true);
		if (vsb_rr_run(&so, &o->to[t], &c->rr))
			failed += cell_failed("rr", size, c->rr_err, sizeof(c->rr_err));
		else
			c->have_rr = true;
	}
	if (o->sweep_stream && !vsb_stop) {
		step_opts(o, &so, size, false);
		if (vsb_stream_run(&so, &o->to[t], &c->st)) {
			failed += cell_failed("stream", size, c->st_err, sizeof(c->st_err));
		} else {
			c->tx_gbps = vsb_stream_gbps(&c->st, false);
			c->rx_gbps = vsb_stream_gbps(&c->st, true);
			c->have_st = true;
		}
	}
	return failed;
}

static void print_json(const struct vsb_opts *o, struct sweep_cell *cells, unsigned int nr)
{
	json_writer_t w;

	jsonw_init(&w, stdout, o->pretty);
	jsonw_start_object(&w);
	jsonw_name(&w, "start");
	jsonw_start_object(&w);
	jsonw_string_field(&w, "verb", "sweep");
	jsonw_name(&w, "targets");
	jsonw_start_array(&w);
	for (unsigned int t = 0; t < o->nr_to; t++)
		jsonw_string(&w, o->to[t].text);
	jsonw_end_array(&w);
	jsonw_uint_field(&w, "min_size", o->min_size);
	jsonw_uint_field(&w, "max_size", o->max_size);
	jsonw_uint_field(&w, "count", o->count);
	jsonw_uint_field(&w, "warmup", o->warmup);
	jsonw_float_field(&w, "seconds", o->seconds);
	jsonw_uint_field(&w, "threads", o->threads);
	jsonw_string_field(&w, "direction", o->backward ? "backward" : "forward");
	jsonw_end_object(&w);
	jsonw_name(&w, "results");
	jsonw_start_array(&w);
	for (unsigned int i = 0; i < nr; i++) {
		const struct sweep_cell *c = &cells[i];
		const struct vs_addr *to = &o->to[i % o->nr_to];
		uint32_t size = o->min_size << (i / o->nr_to);

		if (!c->have_rr && !c->have_st && !c->rr_err[0] && !c->st_err[0])
			continue;
		jsonw_start_object(&w);
		jsonw_string_field(&w, "target", to->text);
		jsonw_string_field(&w, "protocol", vs_addr_proto(to));
		jsonw_uint_field(&w, "size", size);
		if (c->have_rr) {
			const struct vs_hist *h = &c->rr.hist;

			jsonw_name(&w, "rr");
			jsonw_start_object(&w);
			jsonw_uint_field(&w, "samples", c->rr.samples);
			jsonw_float_field(&w, "p50_us", vs_hist_percentile(h, 50) / 1000.0);
			jsonw_float_field(&w, "p99_us", vs_hist_percentile(h, 99) / 1000.0);
			jsonw_float_field(&w, "p999_us", vs_hist_percentile(h, 99.9) / 1000.0);
			jsonw_float_field(&w, "mean_us", vs_hist_mean(h) / 1000.0);
			jsonw_float_field(&w, "max_us", h->max / 1000.0);
			jsonw_end_object(&w);
		}
		if (c->rr_err[0]) {
			jsonw_name(&w, "rr");
			jsonw_start_object(&w);
			jsonw_string_field(&w, "error", c->rr_err);
			jsonw_end_object(&w);
		}
		if (c->have_st || c->st_err[0]) {
			jsonw_name(&w, "stream");
			jsonw_start_object(&w);
			if (c->have_st) {
				jsonw_float_field(&w, "sender_gbps", c->tx_gbps);
				jsonw_float_field(&w, "receiver_gbps", c->rx_gbps);
			} else {
				jsonw_string_field(&w, "error", c->st_err);
			}
			jsonw_end_object(&w);
		}
		jsonw_end_object(&w);
	}
	jsonw_end_array(&w);
	jsonw_end_object(&w);
}

/* Two CSV tables (latency, then throughput) apart by one empty line. */
static void print_csv(const struct vsb_opts *o, struct sweep_cell *cells, unsigned int nr)
{
	struct vsb_opts so;

	if (o->sweep_rr) {
		if (!o->csv_no_header)
			vsb_rr_csv_header(stdout);
		for (unsigned int i = 0; i < nr; i++) {
			if (!cells[i].have_rr)
				continue;
			step_opts(o, &so, o->min_size << (i / o->nr_to), true);
			vsb_rr_csv_row(stdout, &so, &o->to[i % o->nr_to], &cells[i].rr);
		}
	}
	if (o->sweep_rr && o->sweep_stream)
		printf("\n");
	if (o->sweep_stream) {
		if (!o->csv_no_header)
			vsb_stream_csv_header(stdout);
		for (unsigned int i = 0; i < nr; i++) {
			if (!cells[i].have_st)
				continue;
			step_opts(o, &so, o->min_size << (i / o->nr_to), false);
			vsb_stream_csv_row(stdout, &so, &o->to[i % o->nr_to], &cells[i].st);
		}
	}
	fflush(stdout);
}

int vsb_sweep_run(const struct vsb_opts *o)
{
	unsigned int nsizes = 0, nr;
	struct sweep_cell *cells;
	int failed = 0;

	for (uint64_t s = o->min_size; s <= o->max_size; s <<= 1)
		nsizes++;
	nr = nsizes * o->nr_to;
	cells = calloc(nr, sizeof(*cells));
	if (!cells) {
		vsb_fail("out of memory");
		return -1;
	}
	if (!o->json && !o->csv)
		human_header(o);
	for (unsigned int s = 0; s < nsizes && !vsb_stop; s++) {
		uint32_t size = o->min_size << s;

		for (unsigned int t = 0; t < o->nr_to; t++)
			failed += run_cell(o, t, size, &cells[s * o->nr_to + t]);
		if (!o->json && !o->csv)
			human_row(o, size, &cells[s * o->nr_to]);
	}
	if (o->json)
		print_json(o, cells, nr);
	else if (o->csv)
		print_csv(o, cells, nr);
	if (failed)
		p_err("sweep: %d run%s failed", failed, failed == 1 ? "" : "s");
	for (unsigned int i = 0; i < nr; i++)
		vsb_stream_result_free(&cells[i].st);
	free(cells);
	return failed;
}
