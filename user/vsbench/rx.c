// SPDX-License-Identifier: GPL-2.0
/*
 * Receiving a stream (either side): count and check bytes until EOF.  The
 * sender ends with a VSB_TRAILER_LEN-byte trailer, so the last that many
 * bytes seen are always held back: at EOF they are the trailer if its magic
 * is there, data otherwise (a sender that died mid-stream).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vsbench.h"

#define RX_BUF		(256u << 10)

static uint64_t rx_deadline(const struct vsb_rx *rx)
{
	return rx->idle_ns ? vsb_now_ns() + rx->idle_ns : rx->deadline;
}

/*
 * Returns 0 at EOF (rx->rep filled in), a negative errno if a receive
 * failed, or 1 when the short_at fault fired (the caller closes).
 */
int vsb_rx_stream(struct vsb_rx *rx)
{
	struct vsb_report *rep = &rx->rep;
	uint64_t reads = 0, t_first = 0;
	size_t hold = 0;
	uint8_t *buf;
	int rc = 0;

	memset(rep, 0, sizeof(*rep));
	rep->first_bad = VSB_NO_OFFSET;
	buf = malloc(VSB_TRAILER_LEN + RX_BUF);
	if (!buf)
		return -ENOMEM;

	for (;;) {
		/* buf[T - hold, T) holds back the last bytes: maybe the trailer. */
		uint8_t *start = buf + VSB_TRAILER_LEN - hold;
		ssize_t n = vsb_recv_some(rx->fd, buf + VSB_TRAILER_LEN, RX_BUF,
					  rx_deadline(rx));
		size_t have, data;

		if (n == 0)
			break;
		if (n < 0) {
			rc = (int)n;
			goto out_free;
		}
		if (!t_first)
			t_first = vsb_now_ns();
		reads++;
		if (reads == rx->corrupt_at)
			buf[VSB_TRAILER_LEN + n / 2] ^= 0x40;
		if (reads == rx->short_at) {
			rc = 1;
			goto out_free;
		}
		have = hold + (size_t)n;
		data = have > VSB_TRAILER_LEN ? have - VSB_TRAILER_LEN : 0;
		if (rx->pattern && data)
			rep->verify_errors += vsb_stream_check(start, data, rx->pattern,
							       rx->plen, rep->bytes,
							       &rep->first_bad);
		rep->bytes += data;
		if (rx->progress)
			__atomic_store_n(rx->progress, rep->bytes, __ATOMIC_RELAXED);
		hold = have - data;
		memmove(buf + VSB_TRAILER_LEN - hold, start + data, hold);
	}
	rep->ns = t_first ? vsb_now_ns() - t_first : 0;
	if (hold == VSB_TRAILER_LEN && !vsb_trailer_decode(buf, &rx->trailer)) {
		rep->flags |= VSB_REPORT_F_TRAILER;
		rep->claimed = rx->trailer.bytes;
	} else {
		/* No trailer: what was held back is data too (unchecked). */
		rep->bytes += hold;
	}
out_free:
	free(buf);
	return rc;
}
