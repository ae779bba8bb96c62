/*
 * Unit tests for src/smtpd/smtpd_data: dot-unstuffing, the end of DATA,
 * bare CR/LF detection, and the same results however the input is split.
 * The module belongs to the smtpd executable, so it is compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../../src/smtpd/smtpd_data.c"

#include "buf.h"

static void
emit_buf(void *ctx, const void *data, size_t len)
{
	assert_true(len > 0);
	assert_int_equal(buf_append(ctx, data, len), 0);
}

struct data_case {
	enum smtpd_data_mode mode;
	enum smtpd_data_newline nl;
	const char *in;
	const char *out;
	int consumed;		/* -1: all of it */
	bool done;
	unsigned flags;
	size_t in_len, out_len;	/* 0: strlen */
};

#define N SMTPD_DATA_NL_NORMALIZE
#define R SMTPD_DATA_NL_REJECT
#define K SMTPD_DATA_NL_KEEP
#define LF SMTPD_DATA_BARE_LF
#define CR SMTPD_DATA_BARE_CR

static const struct data_case cases[] = {
	/* The end of data and what follows it. */
	{ SMTPD_DATA_DOT, N, ".\r\n", "", 3, true, 0, 0, 0 },
	{ SMTPD_DATA_DOT, N, "a\r\n.\r\nQUIT\r\n", "a\r\n", 6, true, 0, 0, 0 },
	{ SMTPD_DATA_DOT, N, "a\r\nb\r\n.\r\n", "a\r\nb\r\n", -1, true, 0, 0, 0 },
	{ SMTPD_DATA_DOT, N, "a\r\n", "a\r\n", -1, false, 0, 0, 0 },
	/* RFC 5321 4.5.2 dot-unstuffing. */
	{ SMTPD_DATA_DOT, N, "..\r\n.\r\n", ".\r\n", -1, true, 0, 0, 0 },
	{ SMTPD_DATA_DOT, N, "..x\r\n...\r\n.\r\n", ".x\r\n..\r\n", -1, true, 0, 0, 0 },
	{ SMTPD_DATA_DOT, N, ".x\r\n.\r\n", "x\r\n", -1, true, 0, 0, 0 },
	{ SMTPD_DATA_DOT, N, "a.\r\n.b\r\n.\r\n", "a.\r\nb\r\n", -1, true, 0, 0, 0 },
	{ SMTPD_DATA_DOT, N, "a\r\n. \r\n.\r\n", "a\r\n \r\n", -1, true, 0, 0, 0 },
	/* Smuggling attempts: none of these end the message. */
	{ SMTPD_DATA_DOT, N, "a\n.\nMAIL", "a\r\n.\r\nMAIL", -1, false, LF, 0, 0 },
	{ SMTPD_DATA_DOT, R, "a\n.\nMAIL", "a\n.\nMAIL", -1, false, LF, 0, 0 },
	{ SMTPD_DATA_DOT, K, "a\n.\nMAIL", "a\n.\nMAIL", -1, false, LF, 0, 0 },
	{ SMTPD_DATA_DOT, N, "a\r.\rMAIL", "a\r.\rMAIL", -1, false, CR, 0, 0 },
	{ SMTPD_DATA_DOT, R, "a\r\n.\nMAIL", "a\r\n.\nMAIL", -1, false, LF, 0, 0 },
	{ SMTPD_DATA_DOT, N, "a\n.\r\nMAIL", "a\r\n.\r\nMAIL", -1, false, LF, 0, 0 },
	{ SMTPD_DATA_DOT, N, "a\r\n.\rMAIL", "a\r\n\rMAIL", -1, false, CR, 0, 0 },
	{ SMTPD_DATA_DOT, N, "a\r\r\n.\r\n", "a\r\r\n", -1, true, CR, 0, 0 },
	{ SMTPD_DATA_DOT, R, "a\n\r\n.\r\n", "a\n\r\n", -1, true, LF, 0, 0 },
	/* Binary content is passed through. */
	{ SMTPD_DATA_DOT, N, "\0\xff\r\n.\r\n", "\0\xff\r\n", -1, true, 0, 7, 4 },
	/* BDAT: no dots, no end marker. */
	{ SMTPD_DATA_RAW, N, ".\r\n", ".\r\n", -1, false, 0, 0, 0 },
	{ SMTPD_DATA_RAW, N, "..\r\na\nb", "..\r\na\r\nb", -1, false, LF, 0, 0 },
	{ SMTPD_DATA_RAW, R, "a\rb", "a\rb", -1, false, CR, 0, 0 },
};

static size_t
in_len(const struct data_case *c)
{
	return c->in_len ? c->in_len : strlen(c->in);
}

static size_t
out_len(const struct data_case *c)
{
	return c->out_len ? c->out_len : strlen(c->out);
}

static void
run_case(const struct data_case *c, size_t split, bool bytewise)
{
	struct smtpd_data d;
	struct buf got;
	size_t len = in_len(c), used = 0;
	bool done = false;

	buf_init(&got, 0);
	smtpd_data_init(&d, c->mode, c->nl, emit_buf, &got);
	if (bytewise) {
		for (size_t i = 0; i < len && !done; i++)
			used += smtpd_data_feed(&d, c->in + i, 1, &done);
	} else {
		used = smtpd_data_feed(&d, c->in, split, &done);
		if (!done)
			used += smtpd_data_feed(&d, c->in + split, len - split,
			    &done);
	}
	if (c->mode == SMTPD_DATA_RAW)
		smtpd_data_finish(&d);
	assert_int_equal(done, c->done);
	assert_int_equal(used, c->consumed < 0 ? len : (size_t)c->consumed);
	assert_int_equal(got.len, out_len(c));
	assert_memory_equal(got.data, c->out, got.len);
	assert_int_equal(d.flags, c->flags);
	assert_int_equal(d.out_bytes, got.len);
	buf_release(&got);
}

static void
test_cases(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = in_len(&cases[i]);

		run_case(&cases[i], len, false);
		run_case(&cases[i], 0, true);
		for (size_t split = 0; split <= len; split++)
			run_case(&cases[i], split, false);
	}
}

static void
test_bdat_chunks(void **state)
{
	struct smtpd_data d;
	struct buf got;
	bool done;

	/* A CR at the end of one chunk and LF at the start of the next. */
	buf_init(&got, 0);
	smtpd_data_init(&d, SMTPD_DATA_RAW, SMTPD_DATA_NL_REJECT, emit_buf,
	    &got);
	assert_int_equal(smtpd_data_feed(&d, "ab\r", 3, &done), 3);
	assert_int_equal(got.len, 2);
	assert_int_equal(smtpd_data_feed(&d, "\ncd", 3, &done), 3);
	smtpd_data_finish(&d);
	assert_string_equal(got.data, "ab\r\ncd");
	assert_int_equal(d.flags, 0);

	/* A CR left at the very end is a bare CR. */
	buf_reset(&got);
	smtpd_data_init(&d, SMTPD_DATA_RAW, SMTPD_DATA_NL_REJECT, emit_buf,
	    &got);
	assert_int_equal(smtpd_data_feed(&d, "x\r", 2, &done), 2);
	smtpd_data_finish(&d);
	assert_string_equal(got.data, "x\r");
	assert_int_equal(d.flags, SMTPD_DATA_BARE_CR);
	buf_release(&got);
}

static void
test_newline_parse(void **state)
{
	static const struct {
		const char *in;
		int ret;
		enum smtpd_data_newline nl;
	} t[] = {
		{ "normalize", 0, SMTPD_DATA_NL_NORMALIZE },
		{ "Reject", 0, SMTPD_DATA_NL_REJECT },
		{ "yes", 0, SMTPD_DATA_NL_REJECT },
		{ "no", 0, SMTPD_DATA_NL_KEEP },
		{ "", -1, 0 },
		{ "maybe", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum smtpd_data_newline nl = SMTPD_DATA_NL_KEEP;

		assert_int_equal(smtpd_data_newline_parse(t[i].in, &nl),
		    t[i].ret);
		if (t[i].ret == 0)
			assert_int_equal(nl, t[i].nl);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_bdat_chunks),
		cmocka_unit_test(test_newline_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
