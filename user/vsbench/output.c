// SPDX-License-Identifier: GPL-2.0
/*
 * Printing results: a human table (default), one JSON object (--json) or
 * CSV (--csv).  CSV columns carry the names of the paper's latency.csv and
 * throughput-*.csv where a column has a counterpart, in the same order;
 * columns of our own follow them.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "vsbench.h"

/* The paper's protocol column says "inet" for TCP. */
const char *vsb_csv_proto(const struct vs_addr *a)
{
	return a->family == AF_VSOCK ? "vsock" : "inet";
}

static const char *timestamp(void)
{
	static char buf[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static uint32_t rsp_size(const struct vsb_opts *o)
{
	return o->rsp_size ? o->rsp_size : o->size;
}

static double rr_rate(const struct vsb_rr_result *r)
{
	return r->elapsed_s > 0 ? (double)(r->samples + r->warmup_done) / r->elapsed_s : 0;
}

void vsb_rr_print(const struct vsb_opts *o, const struct vs_addr *to,
		  const struct vsb_rr_result *r)
{
	const struct vs_hist *h = &r->hist;

	printf("rr %s: request %u B, response %u B, %u connection%s, %s\n", to->text,
	       o->size, rsp_size(o), o->conns, o->conns == 1 ? "" : "s",
	       o->rate > 0 ? "open loop" : "closed loop");
	if (o->rate > 0)
		printf("rate %.1f requests/s; latency from each request's intended send time\n",
		       o->rate);
	printf("%llu round trips measured after %llu warm-up, %.3f s, %.0f round trips/s%s\n",
	       (unsigned long long)r->samples, (unsigned long long)r->warmup_done,
	       r->elapsed_s, rr_rate(r), vsb_stop && !vsb_failed() ? " (interrupted)" : "");
	printf("%-14s %10s %10s %10s %10s %10s %10s %10s\n", "latency (us)", "min", "mean",
	       "p50", "p90", "p99", "p999", "max");
	printf("%-14s %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f\n", "",
	       us(h->count ? h->min : 0), vs_hist_mean(h) / 1000.0,
	       us(vs_hist_percentile(h, 50)), us(vs_hist_percentile(h, 90)),
	       us(vs_hist_percentile(h, 99)), us(vs_hist_percentile(h, 99.9)), us(h->max));
}

static void latency_json(json_writer_t *w, const struct vs_hist *h)
{
	jsonw_name(w, "latency_us");
	jsonw_start_object(w);
	jsonw_float_field(w, "min", us(h->count ? h->min : 0));
	jsonw_float_field(w, "mean", vs_hist_mean(h) / 1000.0);
	jsonw_float_field(w, "q25", us(vs_hist_percentile(h, 25)));
	jsonw_float_field(w, "p50", us(vs_hist_percentile(h, 50)));
	jsonw_float_field(w, "q75", us(vs_hist_percentile(h, 75)));
	jsonw_float_field(w, "p90", us(vs_hist_percentile(h, 90)));
	jsonw_float_field(w, "p99", us(vs_hist_percentile(h, 99)));
	jsonw_float_field(w, "p999", us(vs_hist_percentile(h, 99.9)));
	jsonw_float_field(w, "max", us(h->max));
	jsonw_end_object(w);
}

static void common_start_json(json_writer_t *w, const struct vsb_opts *o,
			      const struct vs_addr *to, const char *verb)
{
	jsonw_string_field(w, "verb", verb);
	jsonw_string_field(w, "target", to->text);
	jsonw_string_field(w, "protocol", vs_addr_proto(to));
	jsonw_string_field(w, "timestamp", timestamp());
	jsonw_float_field(w, "timeout_s", o->timeout);
	jsonw_bool_field(w, "verify", o->verify);
	jsonw_uint_field(w, "sndbuf", o->sndbuf);
	jsonw_uint_field(w, "rcvbuf", o->rcvbuf);
	jsonw_uint_field(w, "vsock_buf", o->vsock_buf);
	if (o->scenario)
		jsonw_string_field(w, "scenario", o->scenario);
}

/* rr result as the fields of an already open object. */
static void rr_end_fields(json_writer_t *w, const struct vsb_rr_result *r)
{
	jsonw_uint_field(w, "samples", r->samples);
	jsonw_uint_field(w, "warmup", r->warmup_done);
	jsonw_float_field(w, "elapsed_s", r->elapsed_s);
	jsonw_float_field(w, "round_trips_per_second", rr_rate(r));
	jsonw_bool_field(w, "interrupted", vsb_stop && !vsb_failed());
	latency_json(w, &r->hist);
}

void vsb_rr_json(json_writer_t *w, const struct vsb_opts *o, const struct vs_addr *to,
		 const struct vsb_rr_result *r)
{
	jsonw_start_object(w);
	jsonw_name(w, "start");
	jsonw_start_object(w);
	common_start_json(w, o, to, "rr");
	jsonw_uint_field(w, "msg_size", o->size);
	jsonw_uint_field(w, "rsp_size", rsp_size(o));
	jsonw_uint_field(w, "conns", o->conns);
	jsonw_uint_field(w, "count", o->count);
	jsonw_uint_field(w, "warmup", o->warmup);
	jsonw_float_field(w, "rate", o->rate);
	jsonw_end_object(w);
	jsonw_name(w, "end");
	jsonw_start_object(w);
	rr_end_fields(w, r);
	jsonw_end_object(w);
	jsonw_end_object(w);
}

void vsb_rr_csv_header(FILE *out)
{
	fputs("protocol,server.rsp_size,client.msg_size,num_samples,num_warmup_rounds,"
	      "timeout_sec,act_sample_count,act_warmup_rounds,min,max,p99,p999,avg,median,"
	      "q25,q75,scenario,timestamp,p90,conns,rate,target\n", out);
}

void vsb_rr_csv_row(FILE *out, const struct vsb_opts *o, const struct vs_addr *to,
		    const struct vsb_rr_result *r)
{
	const struct vs_hist *h = &r->hist;

	fprintf(out, "%s,%u,%u,%llu,%llu,%g,%llu,%llu,%.3f,%.3f,%.3f,%.3f,%.6f,%.3f,%.3f,%.3f,"
		"%s,%s,%.3f,%u,%g,%s\n",
		vsb_csv_proto(to), rsp_size(o), o->size,
		(unsigned long long)o->count, (unsigned long long)o->warmup, o->timeout,
		(unsigned long long)r->samples, (unsigned long long)r->warmup_done,
		us(h->count ? h->min : 0), us(h->max), us(vs_hist_percentile(h, 99)),
		us(vs_hist_percentile(h, 99.9)), vs_hist_mean(h) / 1000.0,
		us(vs_hist_percentile(h, 50)), us(vs_hist_percentile(h, 25)),
		us(vs_hist_percentile(h, 75)), o->scenario ? o->scenario : "", timestamp(),
		us(vs_hist_percentile(h, 90)), o->conns, o->rate, to->text);
}

static double gbps(uint64_t bytes, uint64_t ns)
{
	return ns ? (double)bytes * 8.0 / (double)ns : 0.0;
}

/* Total: all bytes over the longest connection's time, as iperf3 sums. */
double vsb_stream_gbps(const struct vsb_stream_result *r, bool receiver)
{
	uint64_t bytes = 0, ns = 0;

	for (unsigned int i = 0; i < r->nr_conns; i++) {
		const struct vsb_stream_conn *c = &r->conns[i];
		uint64_t b = receiver ? c->recv_bytes : c->sent_bytes;
		uint64_t t = receiver ? c->recv_ns : c->sent_ns;

		bytes += b;
		if (t > ns)
			ns = t;
	}
	return gbps(bytes, ns);
}

static const char *direction(const struct vsb_opts *o)
{
	return o->backward ? "backward" : "forward";
}

void vsb_stream_print(const struct vsb_opts *o, const struct vs_addr *to,
		      const struct vsb_stream_result *r)
{
	uint64_t sent = 0, recv = 0;

	printf("stream %s: %s (%s), %u B per send, %u connection%s, %g s\n", to->text,
	       direction(o), o->backward ? "server sends" : "client sends", o->size,
	       r->nr_conns, r->nr_conns == 1 ? "" : "s", o->seconds);
	printf("%-6s %16s %16s %14s %14s\n", "conn", "sender Gbit/s", "receiver Gbit/s",
	       "bytes sent", "bytes received");
	for (unsigned int i = 0; i < r->nr_conns; i++) {
		const struct vsb_stream_conn *c = &r->conns[i];

		printf("%-6u %16.3f %16.3f %14llu %14llu\n", i, gbps(c->sent_bytes, c->sent_ns),
		       gbps(c->recv_bytes, c->recv_ns), (unsigned long long)c->sent_bytes,
		       (unsigned long long)c->recv_bytes);
		sent += c->sent_bytes;
		recv += c->recv_bytes;
	}
	printf("%-6s %16.3f %16.3f %14llu %14llu\n", "total", vsb_stream_gbps(r, false),
	       vsb_stream_gbps(r, true), (unsigned long long)sent, (unsigned long long)recv);
}

static void side_json(json_writer_t *w, const char *name, uint64_t bytes, uint64_t ns)
{
	jsonw_name(w, name);
	jsonw_start_object(w);
	jsonw_uint_field(w, "bytes", bytes);
	jsonw_float_field(w, "seconds", (double)ns / 1e9);
	jsonw_float_field(w, "bits_per_second", gbps(bytes, ns) * 1e9);
	jsonw_float_field(w, "gbps", gbps(bytes, ns));
	jsonw_end_object(w);
}

void vsb_stream_json_start(json_writer_t *w, const struct vsb_opts *o,
			   const struct vs_addr *to)
{
	jsonw_name(w, "start");
	jsonw_start_object(w);
	common_start_json(w, o, to, "stream");
	jsonw_string_field(w, "direction", direction(o));
	jsonw_uint_field(w, "message_size", o->size);
	jsonw_uint_field(w, "threads", o->threads);
	jsonw_float_field(w, "seconds", o->seconds);
	jsonw_bool_field(w, "zerocopy", o->zerocopy);
	jsonw_end_object(w);
}

static void stream_sum_json(json_writer_t *w, const char *name,
			    const struct vsb_stream_result *r, bool receiver)
{
	uint64_t bytes = 0, ns = 0;

	for (unsigned int i = 0; i < r->nr_conns; i++) {
		const struct vsb_stream_conn *c = &r->conns[i];
		uint64_t t = receiver ? c->recv_ns : c->sent_ns;

		bytes += receiver ? c->recv_bytes : c->sent_bytes;
		if (t > ns)
			ns = t;
	}
	side_json(w, name, bytes, ns);
}

void vsb_stream_json(json_writer_t *w, const struct vsb_opts *o, const struct vs_addr *to,
		     const struct vsb_stream_result *r)
{
	jsonw_start_object(w);
	vsb_stream_json_start(w, o, to);
	jsonw_name(w, "intervals");
	jsonw_start_array(w);
	for (unsigned int i = 0; i < r->nr_intervals; i++) {
		const struct vsb_interval *iv = &r->intervals[i];
		double s = iv->end - iv->start;

		jsonw_start_object(w);
		jsonw_float_field(w, "start", iv->start);
		jsonw_float_field(w, "end", iv->end);
		jsonw_uint_field(w, "bytes", iv->bytes);
		jsonw_float_field(w, "bits_per_second", s > 0 ? (double)iv->bytes * 8 / s : 0);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_name(w, "end");
	jsonw_start_object(w);
	jsonw_name(w, "streams");
	jsonw_start_array(w);
	for (unsigned int i = 0; i < r->nr_conns; i++) {
		const struct vsb_stream_conn *c = &r->conns[i];

		jsonw_start_object(w);
		jsonw_uint_field(w, "id", i);
		side_json(w, "sender", c->sent_bytes, c->sent_ns);
		side_json(w, "receiver", c->recv_bytes, c->recv_ns);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	stream_sum_json(w, "sum_sent", r, false);
	stream_sum_json(w, "sum_received", r, true);
	jsonw_bool_field(w, "interrupted", vsb_stop && !vsb_failed());
	jsonw_end_object(w);
	jsonw_end_object(w);
}

void vsb_stream_csv_header(FILE *out)
{
	fputs("cores,direction,threads,message_size,throughput,unit,protocol,"
	      "sender_throughput,seconds,bytes,scenario,timestamp,target\n", out);
}

void vsb_stream_csv_row(FILE *out, const struct vsb_opts *o, const struct vs_addr *to,
			const struct vsb_stream_result *r)
{
	uint64_t bytes = 0;

	for (unsigned int i = 0; i < r->nr_conns; i++)
		bytes += r->conns[i].recv_bytes;
	fprintf(out, "%ld,%s,%u,%u,%.3f,Gbits/sec,%s,%.3f,%g,%llu,%s,%s,%s\n",
		sysconf(_SC_NPROCESSORS_ONLN), direction(o), r->nr_conns, o->size,
		vsb_stream_gbps(r, true), vsb_csv_proto(to), vsb_stream_gbps(r, false),
		o->seconds, (unsigned long long)bytes, o->scenario ? o->scenario : "",
		timestamp(), to->text);
}
