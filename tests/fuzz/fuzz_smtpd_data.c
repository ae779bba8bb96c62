/*
 * libFuzzer target for src/smtpd/smtpd_data (DATA/BDAT decoder).  The
 * first input byte picks the mode and newline policy; the rest is fed in
 * one piece and again byte by byte, and both runs must agree.  In
 * NORMALIZE mode no bare LF may come out, and the end of a DATA message is
 * only ever found right after <CR><LF>.<CR><LF>.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/smtpd/smtpd_data.c"

#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
emit(void *ctx, const void *p, size_t n)
{
	buf_append(ctx, p, n);
}

static size_t
run(const uint8_t *in, size_t len, enum smtpd_data_mode mode,
    enum smtpd_data_newline nl, bool bytewise, struct buf *out,
    unsigned *flags_r, bool *done_r)
{
	struct smtpd_data d;
	size_t used = 0;
	bool done = false;

	smtpd_data_init(&d, mode, nl, emit, out);
	if (bytewise) {
		for (size_t i = 0; i < len && !done; i++)
			used += smtpd_data_feed(&d, in + i, 1, &done);
	} else {
		used = smtpd_data_feed(&d, in, len, &done);
	}
	if (mode == SMTPD_DATA_RAW)
		smtpd_data_finish(&d);
	if (d.out_bytes != out->len)
		abort();
	*flags_r = d.flags;
	*done_r = done;
	return used;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a, b;
	enum smtpd_data_mode mode;
	enum smtpd_data_newline nl;
	unsigned fa, fb;
	bool da, db;
	size_t ua, ub;

	if (size < 1)
		return 0;
	mode = (data[0] & 1) ? SMTPD_DATA_RAW : SMTPD_DATA_DOT;
	nl = (enum smtpd_data_newline)((data[0] >> 1) % 3);
	data++;
	size--;
	buf_init(&a, 0);
	buf_init(&b, 0);
	ua = run(data, size, mode, nl, false, &a, &fa, &da);
	ub = run(data, size, mode, nl, true, &b, &fb, &db);
	if (ua != ub || fa != fb || da != db || a.len != b.len ||
	    memcmp(a.data, b.data, a.len) != 0)
		abort();
	if (ua > size || (!da && ua != size))
		abort();
	if (da && (ua < 3 || memcmp(data + ua - 3, ".\r\n", 3) != 0 ||
	    (ua > 3 && (ua < 5 || memcmp(data + ua - 5, "\r\n", 2) != 0))))
		abort();
	if (nl == SMTPD_DATA_NL_NORMALIZE) {
		for (size_t i = 0; i < a.len; i++)
			if (a.data[i] == '\n' && (i == 0 || a.data[i - 1] != '\r'))
				abort();
	}
	buf_release(&a);
	buf_release(&b);
	return 0;
}
