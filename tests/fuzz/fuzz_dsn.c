/*
 * libFuzzer target for dsn: the notice builder fed a hostile reason,
 * address and original message, and the remote-reply splitter.
 *
 * Input: byte 0 chooses kind, RET and postmaster; bytes 1-2 the size
 * limit; then a NUL-terminated reason, a NUL-terminated address, and the
 * original content (any bytes).  Invariants: the boundary occurs exactly
 * in its five places (header and four delimiters), and everything before
 * the original part is CRLF lines of at most 998 bytes with no other
 * control character than TAB.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dsn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t n;
};

static int
mem_read(void *ctx, uint64_t offset, void *out, size_t len, size_t *got_r,
    const char **error_r)
{
	struct mem *m = ctx;

	(void)error_r;
	if (offset >= m->n) {
		*got_r = 0;
		return 0;
	}
	if (len > m->n - offset)
		len = m->n - offset;
	/* Odd chunk sizes exercise the header-end search across chunks. */
	if (len > 7 + offset % 13)
		len = 7 + offset % 13;
	memcpy(out, m->p + offset, len);
	*got_r = len;
	return 0;
}

static size_t
count(const char *hay, size_t n, const char *needle)
{
	size_t c = 0, nl = strlen(needle);

	for (const char *p = hay; (p = memmem(p, n - (size_t)(p - hay),
	    needle, nl)) != NULL; p += nl)
		c++;
	return c;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *reason, *addr, *error, *bp, *be, *orig;
	struct dsn_rcpt r;
	struct dsn_notice n;
	struct dsn_result res;
	struct mem m;
	struct buf out, mta, diag, delim;
	size_t off = 3, col = 0;

	if (size < 3)
		return 0;
	reason = (const char *)data + off;
	if (memchr(reason, '\0', size - off) == NULL)
		return 0;
	off += strlen(reason) + 1;
	addr = (const char *)data + off;
	if (off >= size || memchr(addr, '\0', size - off) == NULL)
		return 0;
	off += strlen(addr) + 1;
	m.p = data + off;
	m.n = size - off;

	buf_init(&mta, 0);
	buf_init(&diag, 0);
	if (dsn_remote_reply(reason, &mta, &diag) &&
	    (mta.len == 0 || diag.len < 3))
		abort();
	buf_release(&mta);
	buf_release(&diag);

	memset(&r, 0, sizeof(r));
	r.address = addr;
	r.orcpt = addr;
	r.action = (data[0] & 0x10) ? "delivered" : "failed";
	r.status = "5.1.1";
	r.reason = reason;
	r.last_attempt = 1700000000;
	memset(&n, 0, sizeof(n));
	n.kind = (enum dsn_kind)(data[0] % 3);
	n.postmaster = (data[0] & 0x04) != 0;
	n.ret = (data[0] & 0x08) ? QUEUE_RET_HDRS : QUEUE_RET_NONE;
	n.hostname = "mail.example.test";
	n.queue_id = "1GA4GC208J03NQK8N";
	n.sender = (data[0] & 0x20) ? "" : addr;
	n.to = addr;
	n.envid = reason;
	n.arrival = 1700000000;
	n.now = 1700000300;
	n.retry_until = 1700400000;
	n.rcpts = &r;
	n.n_rcpts = 1;
	n.read = mem_read;
	n.read_ctx = &m;
	n.length = m.n;
	n.size_limit = (uint64_t)data[1] << 8 | data[2];

	buf_init(&out, 0);
	if (dsn_build(&n, &out, &res, &error) != 0)
		abort();
	/* The Content-Type continuation line (a To: address could hold
	 * "boundary=" too, but never a line break). */
	bp = strstr(out.data, "\r\n\tboundary=\"");
	if (bp == NULL)
		abort();
	bp += 13;
	be = strchr(bp, '"');
	if (be == NULL || be - bp > 70 || be == bp)
		abort();
	buf_init(&delim, 0);
	buf_append_str(&delim, "\r\n--");
	buf_append(&delim, bp, (size_t)(be - bp));
	if (count(out.data, out.len, delim.data + 4) != 5 ||
	    count(out.data, out.len, delim.data) != 4)
		abort();
	/* The third delimiter starts the original part. */
	orig = out.data;
	for (int i = 0; i < 3; i++) {
		orig = memmem(orig, out.len - (size_t)(orig - out.data),
		    delim.data, delim.len);
		if (orig == NULL)
			abort();
		orig += delim.len;
	}
	for (const char *p = out.data; p < orig - delim.len; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\r') {
			if (p[1] != '\n')
				abort();
			p++;
			col = 0;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			abort();
		if (++col > 998)
			abort();
	}
	buf_release(&delim);
	buf_release(&out);
	return 0;
}
