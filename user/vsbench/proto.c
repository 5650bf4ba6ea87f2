// SPDX-License-Identifier: GPL-2.0
/*
 * vsbench wire messages (layout: the comment at the top of vsbench.h) and
 * the payload pattern that --verify checks.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include "vsbench.h"

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

void vsb_hello_encode(const struct vsb_hello *h, uint8_t *buf)
{
	memset(buf, 0, VSB_HELLO_LEN);
	put32(buf, VSB_MAGIC_HELLO);
	buf[4] = VSB_VERSION >> 8;
	buf[5] = VSB_VERSION & 0xff;
	buf[6] = h->mode;
	buf[7] = h->flags;
	put32(buf + 8, h->msg_size);
	put32(buf + 12, h->rsp_size);
	put32(buf + 16, h->duration_ms);
	put32(buf + 20, h->seed);
	put32(buf + 24, h->sndbuf);
	put32(buf + 28, h->rcvbuf);
	put64(buf + 32, h->vsock_buf);
	put32(buf + 40, h->conn_id);
}

/* Returns 0, or an errno for the ACK: EPROTO (not vsbench), EINVAL. */
int vsb_hello_decode(const uint8_t *buf, struct vsb_hello *h)
{
	if (get32(buf) != VSB_MAGIC_HELLO)
		return EPROTO;
	if (((buf[4] << 8) | buf[5]) != VSB_VERSION)
		return EPROTONOSUPPORT;
	h->mode = buf[6];
	h->flags = buf[7];
	h->msg_size = get32(buf + 8);
	h->rsp_size = get32(buf + 12);
	h->duration_ms = get32(buf + 16);
	h->seed = get32(buf + 20);
	h->sndbuf = get32(buf + 24);
	h->rcvbuf = get32(buf + 28);
	h->vsock_buf = get64(buf + 32);
	h->conn_id = get32(buf + 40);
	if (h->mode != VSB_MODE_RR && h->mode != VSB_MODE_STREAM)
		return EINVAL;
	if (!h->msg_size || h->msg_size > VSB_MAX_MSG)
		return EMSGSIZE;
	if (h->mode == VSB_MODE_RR && (!h->rsp_size || h->rsp_size > VSB_MAX_MSG))
		return EMSGSIZE;
	return 0;
}

void vsb_ack_encode(uint32_t status, uint8_t *buf)
{
	memset(buf, 0, VSB_ACK_LEN);
	put32(buf, VSB_MAGIC_ACK);
	put32(buf + 4, status);
}

int vsb_ack_decode(const uint8_t *buf, uint32_t *status)
{
	if (get32(buf) != VSB_MAGIC_ACK)
		return -1;
	*status = get32(buf + 4);
	return 0;
}

void vsb_trailer_encode(const struct vsb_trailer *t, uint8_t *buf)
{
	memset(buf, 0, VSB_TRAILER_LEN);
	put32(buf, VSB_MAGIC_TRAILER);
	put64(buf + 8, t->bytes);
	put64(buf + 16, t->ns);
}

int vsb_trailer_decode(const uint8_t *buf, struct vsb_trailer *t)
{
	if (get32(buf) != VSB_MAGIC_TRAILER)
		return -1;
	t->bytes = get64(buf + 8);
	t->ns = get64(buf + 16);
	return 0;
}

void vsb_report_encode(const struct vsb_report *r, uint8_t *buf)
{
	memset(buf, 0, VSB_REPORT_LEN);
	put32(buf, VSB_MAGIC_REPORT);
	put32(buf + 4, r->verify_errors);
	put64(buf + 8, r->bytes);
	put64(buf + 16, r->ns);
	put64(buf + 24, r->first_bad);
	put64(buf + 32, r->claimed);
	put32(buf + 40, r->flags);
}

int vsb_report_decode(const uint8_t *buf, struct vsb_report *r)
{
	if (get32(buf) != VSB_MAGIC_REPORT)
		return -1;
	r->verify_errors = get32(buf + 4);
	r->bytes = get64(buf + 8);
	r->ns = get64(buf + 16);
	r->first_bad = get64(buf + 24);
	r->claimed = get64(buf + 32);
	r->flags = get32(buf + 40);
	return 0;
}

/* xorshift64*: cheap, and no two nearby offsets repeat a byte pattern. */
void vsb_pattern_fill(uint8_t *buf, size_t len, uint32_t seed)
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 17) ^ len;

	for (size_t i = 0; i < len; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		buf[i] = (uint8_t)((x * 0x2545f4914f6cdd1dull) >> 56);
	}
}

/* buf holds the pattern; make it message seq (first 8 bytes xor seq). */
void vsb_msg_stamp(uint8_t *buf, const uint8_t *pattern, size_t len, uint64_t seq)
{
	for (size_t i = 0; i < len && i < 8; i++)
		buf[i] = pattern[i] ^ (uint8_t)(seq >> (8 * i));
}

/* Bad bytes in message seq; *bad gets the first one's offset. */
uint64_t vsb_msg_check(const uint8_t *buf, const uint8_t *pattern, size_t len,
		       uint64_t seq, uint64_t *bad)
{
	uint64_t n = 0;
	size_t head = len < 8 ? len : 8;

	*bad = VSB_NO_OFFSET;
	for (size_t i = 0; i < head; i++) {
		if (buf[i] != (uint8_t)(pattern[i] ^ (uint8_t)(seq >> (8 * i)))) {
			if (*bad == VSB_NO_OFFSET)
				*bad = i;
			n++;
		}
	}
	if (len == head || !memcmp(buf + head, pattern + head, len - head))
		return n;
	for (size_t i = head; i < len; i++) {
		if (buf[i] != pattern[i]) {
			if (*bad == VSB_NO_OFFSET)
				*bad = i;
			n++;
		}
	}
	return n;
}

/*
 * Check len stream bytes starting at stream offset 'offset' against the
 * repeating pattern.  Returns the number of bad bytes; the first one's
 * stream offset goes to *first_bad unless that is already set.
 */
uint64_t vsb_stream_check(const uint8_t *buf, size_t len, const uint8_t *pattern,
			  size_t plen, uint64_t offset, uint64_t *first_bad)
{
	size_t pos = offset % plen, done = 0;
	uint64_t n = 0;

	while (done < len) {
		size_t chunk = plen - pos;

		if (chunk > len - done)
			chunk = len - done;
		if (memcmp(buf + done, pattern + pos, chunk)) {
			for (size_t i = 0; i < chunk; i++) {
				if (buf[done + i] == pattern[pos + i])
					continue;
				if (*first_bad == VSB_NO_OFFSET)
					*first_bad = offset + done + i;
				n++;
			}
		}
		done += chunk;
		pos = 0;
	}
	return n;
}
