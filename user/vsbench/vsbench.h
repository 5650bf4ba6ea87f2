/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vsbench: load generator for VSOCK and TCP stream sockets.
 *
 * Wire protocol (all integers big-endian).  The client opens a connection
 * and sends one HELLO; the server needs no options that match the client's.
 *
 *   HELLO, client -> server, 64 bytes
 *     0  u32 magic      "VSB1" (0x56534231)
 *     4  u16 version    1
 *     6  u8  mode       1 = rr, 2 = stream
 *     7  u8  flags      bit 0 verify, bit 1 backward (server sends),
 *                       bit 2 zerocopy (the data sender uses MSG_ZEROCOPY)
 *     8  u32 msg_size   rr: request bytes; stream: bytes per send()
 *    12  u32 rsp_size   rr: response bytes
 *    16  u32 duration_ms  stream backward: how long the server sends
 *    20  u32 seed       payload pattern seed
 *    24  u32 sndbuf     SO_SNDBUF for the server's socket, 0 = default
 *    28  u32 rcvbuf     SO_RCVBUF, 0 = default
 *    32  u64 vsock_buf  SO_VM_SOCKETS_BUFFER_SIZE, 0 = default
 *    40  u32 conn_id    client's connection index, for server messages
 *    44  24 bytes zero
 *
 *   ACK, server -> client, 16 bytes: u32 magic "VSBA", u32 status (0, or
 *   an errno saying why the server refuses), 8 bytes zero.
 *
 * rr: the client sends msg_size bytes, the server answers rsp_size bytes,
 * until the client shuts down its sending side; the server then sends a
 * REPORT and closes.
 *
 * stream: the sender (client forward, server backward) sends msg_size-byte
 * writes, then a 32-byte TRAILER and shuts down its sending side.  The
 * receiver holds the last 32 bytes back until EOF, so the trailer is never
 * counted as data.  The receiver then sends a REPORT and closes.  A stream
 * that ends without a trailer was cut short.
 *
 *   TRAILER, sender -> receiver, 32 bytes: u32 magic "VSBE", u32 zero,
 *   u64 bytes sent, u64 sending time ns, u64 zero.
 *
 *   REPORT, receiver -> sender (rr: server -> client), 48 bytes:
 *     0  u32 magic "VSBR"    4  u32 verify_errors (bad bytes seen)
 *     8  u64 bytes received (rr: requests received)
 *    16  u64 receiving time ns
 *    24  u64 first bad offset (rr: request index), ~0 if none
 *    32  u64 bytes the sender's trailer claimed (rr: 0)
 *    40  u32 flags (bit 0: trailer seen)  44  u32 zero
 *
 * Payload: with a pattern P of msg_size bytes derived from the seed, the
 * stream byte at offset o is P[o % msg_size].  rr message i is its pattern
 * with i xor-ed into the first 8 bytes, so a lost, duplicated or corrupted
 * message is told apart from a good one.
 */
#ifndef VSBENCH_H
#define VSBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "addr.h"
#include "cli.h"
#include "hist.h"
#include "json_writer.h"

#define VSB_MAGIC_HELLO		0x56534231u	/* "VSB1" */
#define VSB_MAGIC_ACK		0x56534241u	/* "VSBA" */
#define VSB_MAGIC_TRAILER	0x56534245u	/* "VSBE" */
#define VSB_MAGIC_REPORT	0x56534252u	/* "VSBR" */
#define VSB_VERSION		1

#define VSB_HELLO_LEN		64
#define VSB_ACK_LEN		16
#define VSB_TRAILER_LEN		32
#define VSB_REPORT_LEN		48

#define VSB_MODE_RR		1
#define VSB_MODE_STREAM		2

#define VSB_F_VERIFY		0x01
#define VSB_F_BACKWARD		0x02
#define VSB_F_ZEROCOPY		0x04

#define VSB_REPORT_F_TRAILER	0x01

#define VSB_MAX_MSG		(64u << 20)
#define VSB_NO_OFFSET		UINT64_MAX
#define VSB_DEFAULT_PORT	5201
#define VSB_MAX_CPUS		64
#define VSB_MAX_TARGETS		4

#define VSB_EXIT_ERROR		CLI_EXIT_FAIL
#define VSB_EXIT_USAGE		CLI_EXIT_USAGE

struct vsb_hello {
	uint8_t mode;
	uint8_t flags;
	uint32_t msg_size;
	uint32_t rsp_size;
	uint32_t duration_ms;
	uint32_t seed;
	uint32_t sndbuf;
	uint32_t rcvbuf;
	uint64_t vsock_buf;
	uint32_t conn_id;
};

struct vsb_trailer {
	uint64_t bytes;
	uint64_t ns;
};

struct vsb_report {
	uint32_t verify_errors;
	uint64_t bytes;
	uint64_t ns;
	uint64_t first_bad;
	uint64_t claimed;
	uint32_t flags;
};

/* Options shared by the client verbs; filled by argument parsing. */
struct vsb_opts {
	struct vs_addr to[VSB_MAX_TARGETS];
	unsigned int nr_to;
	uint32_t size;
	uint32_t rsp_size;		/* 0: same as size */
	uint64_t count;
	uint64_t warmup;
	unsigned int conns;
	double rate;			/* requests/s in total; 0: closed loop */
	unsigned int threads;
	double seconds;
	double interval;		/* stream: seconds between interval reports */
	bool backward;
	int cpus[VSB_MAX_CPUS];
	unsigned int nr_cpus;
	uint32_t sndbuf, rcvbuf;
	uint64_t vsock_buf;
	bool zerocopy;
	bool verify;
	double timeout;			/* whole-run deadline, seconds */
	bool json, pretty, csv;
	bool csv_no_header;
	const char *scenario;
	/* sweep */
	uint32_t min_size, max_size;
	bool sweep_rr, sweep_stream;
};

/* Server options. */
struct vsb_server_opts {
	bool vsock, tcp;
	unsigned int port;
	const char *bind;
	int cpus[VSB_MAX_CPUS];
	unsigned int nr_cpus;
	double idle_timeout;
	uint64_t inject_corrupt;	/* 0: off; else 1-based message index */
	uint64_t inject_short;
	bool verbose;
};

/* Results of one rr run. */
struct vsb_rr_result {
	struct vs_hist hist;		/* round trip, ns */
	uint64_t samples, warmup_done;
	double elapsed_s;
	uint64_t server_requests;	/* as the server's report counted them */
};

struct vsb_interval {
	double start, end;		/* seconds since the run started */
	uint64_t bytes;
};

struct vsb_stream_conn {
	uint64_t sent_bytes, recv_bytes;
	uint64_t sent_ns, recv_ns;
};

struct vsb_stream_result {
	unsigned int nr_conns;
	struct vsb_stream_conn *conns;
	struct vsb_interval *intervals;
	unsigned int nr_intervals;
	double elapsed_s;
};

/* vsbench.c: run state shared by the client threads */
extern volatile int vsb_stop;		/* set on failure or SIGINT */
void vsb_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool vsb_failed(void);
void vsb_clear_failure(void);
bool vsb_interrupted(void);
const char *vsb_error_text(void);
bool vsb_progress_enabled(void);
void vsb_watchdog(uint64_t deadline);

/* proto.c */
void vsb_hello_encode(const struct vsb_hello *h, uint8_t *buf);
int vsb_hello_decode(const uint8_t *buf, struct vsb_hello *h);
void vsb_ack_encode(uint32_t status, uint8_t *buf);
int vsb_ack_decode(const uint8_t *buf, uint32_t *status);
void vsb_trailer_encode(const struct vsb_trailer *t, uint8_t *buf);
int vsb_trailer_decode(const uint8_t *buf, struct vsb_trailer *t);
void vsb_report_encode(const struct vsb_report *r, uint8_t *buf);
int vsb_report_decode(const uint8_t *buf, struct vsb_report *r);
void vsb_pattern_fill(uint8_t *buf, size_t len, uint32_t seed);
void vsb_msg_stamp(uint8_t *buf, const uint8_t *pattern, size_t len, uint64_t seq);
uint64_t vsb_msg_check(const uint8_t *buf, const uint8_t *pattern, size_t len,
		       uint64_t seq, uint64_t *bad);
uint64_t vsb_stream_check(const uint8_t *buf, size_t len, const uint8_t *pattern,
			  size_t plen, uint64_t offset, uint64_t *first_bad);

/* net.c */
uint64_t vsb_now_ns(void);
int vsb_connect(const struct vs_addr *to, const struct vsb_opts *o, uint64_t deadline,
		int *fd);
int vsb_sock_tune(int fd, int family, uint32_t sndbuf, uint32_t rcvbuf,
		  uint64_t vsock_buf, bool zerocopy, char *err, size_t errlen);
int vsb_set_tick(int fd, uint64_t ns);
int vsb_send_all(int fd, const void *buf, size_t len, int flags, uint64_t deadline);
int vsb_recv_all(int fd, void *buf, size_t len, uint64_t deadline, size_t *got);
ssize_t vsb_recv_some(int fd, void *buf, size_t len, uint64_t deadline);
void vsb_zc_reap(int fd);
int vsb_pin_self(const int *cpus, unsigned int nr, unsigned int idx);
const char *vsb_errno_hint(int err);
int vsb_handshake(int fd, const struct vsb_hello *h, uint64_t deadline,
		  const char *what);

#define VSB_EOF		(-100000)	/* vsb_*_all: peer closed the connection */

/* rx.c: the receiving end of a stream */
struct vsb_rx {
	int fd;
	const uint8_t *pattern;		/* NULL: do not verify */
	uint32_t plen;
	uint64_t deadline;		/* fixed deadline, or ... */
	uint64_t idle_ns;		/* ... if set, each call may wait this long */
	uint64_t corrupt_at, short_at;	/* test faults: on the N-th read */
	uint64_t *progress;		/* bytes so far, read by another thread */
	/* results */
	struct vsb_report rep;
	struct vsb_trailer trailer;	/* valid if rep.flags has TRAILER */
};
int vsb_rx_stream(struct vsb_rx *rx);

/* server.c */
int vsb_server_main(const struct vsb_server_opts *so);

/* rr.c */
int vsb_rr_run(const struct vsb_opts *o, const struct vs_addr *to,
	       struct vsb_rr_result *res);
/* stream.c */
int vsb_stream_run(const struct vsb_opts *o, const struct vs_addr *to,
		   struct vsb_stream_result *res);
void vsb_stream_result_free(struct vsb_stream_result *res);

/* output.c */
const char *vsb_csv_proto(const struct vs_addr *a);
void vsb_rr_print(const struct vsb_opts *o, const struct vs_addr *to,
		  const struct vsb_rr_result *r);
void vsb_rr_json(json_writer_t *w, const struct vsb_opts *o, const struct vs_addr *to,
		 const struct vsb_rr_result *r);
void vsb_rr_csv_header(FILE *out);
void vsb_rr_csv_row(FILE *out, const struct vsb_opts *o, const struct vs_addr *to,
		    const struct vsb_rr_result *r);
void vsb_stream_print(const struct vsb_opts *o, const struct vs_addr *to,
		      const struct vsb_stream_result *r);
void vsb_stream_json_start(json_writer_t *w, const struct vsb_opts *o,
			   const struct vs_addr *to);
void vsb_stream_json(json_writer_t *w, const struct vsb_opts *o, const struct vs_addr *to,
		     const struct vsb_stream_result *r);
void vsb_stream_csv_header(FILE *out);
void vsb_stream_csv_row(FILE *out, const struct vsb_opts *o, const struct vs_addr *to,
			const struct vsb_stream_result *r);
double vsb_stream_gbps(const struct vsb_stream_result *r, bool receiver);

/* sweep.c */
int vsb_sweep_run(const struct vsb_opts *o);

#endif
