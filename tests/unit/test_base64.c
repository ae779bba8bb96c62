/* Unit tests for src/lib/base64 (every decoding mode, errors included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base64.h"
#include "buf.h"

#define S BASE64_STRICT
#define W BASE64_SPACE
#define L BASE64_LOOSE

static void
test_decode(void **state)
{
	static const struct {
		enum base64_mode mode;
		const char *in;
		const char *out;	/* NULL: refused */
		size_t out_len;
		const char *error;
	} cases[] = {
		/* BASE64_STRICT: the canonical form only */
		{ S, "", "", 0, NULL },
		{ S, "Zg==", "f", 1, NULL },
		{ S, "Zm8=", "fo", 2, NULL },
		{ S, "Zm9vYmFy", "foobar", 6, NULL },
		{ S, "AGRlbW8Ac2VjcmV0", "\0demo\0secret", 12, NULL },
		{ S, "+/+/", "\xfb\xff\xbf", 3, NULL },
		{ S, "=", NULL, 0, "invalid base64: length is not a multiple "
		    "of 4" },
		{ S, "Zm9vYg", NULL, 0, "invalid base64: length is not a "
		    "multiple of 4" },
		{ S, "Zm 9", NULL, 0, "invalid base64: character outside the "
		    "alphabet" },
		{ S, "Zg==Zm9v", NULL, 0, "invalid base64: character outside "
		    "the alphabet" },
		{ S, "Z===", NULL, 0, "invalid base64: character outside the "
		    "alphabet" },
		{ S, "Zm=v", NULL, 0, "invalid base64: bad padding" },
		{ S, "Zh==", NULL, 0, "invalid base64: bad padding" },
		{ S, "Zm9=", NULL, 0, "invalid base64: bad padding" },
		/* BASE64_SPACE: white space skipped, padding optional */
		{ W, "", "", 0, NULL },
		{ W, "Zm9vYg==", "foob", 4, NULL },
		{ W, "Zm9vYg", "foob", 4, NULL },
		{ W, " Zm 9v\r\n\tYmFy ", "foobar", 6, NULL },
		{ W, "Zm9vYg= =", "foob", 4, NULL },
		{ W, "Zh", "f", 1, NULL },		/* stray bits dropped */
		{ W, "Zm9vY", NULL, 0, "bad base64 length or padding" },
		{ W, "Zm9vYg=", NULL, 0, "bad base64 length or padding" },
		{ W, "Zm9v===", NULL, 0, "bad base64 length or padding" },
		{ W, "Zm9v!", NULL, 0, "bad base64 character 0x21" },
		{ W, "Zm9v\x80", NULL, 0, "bad base64 character 0x80" },
		{ W, "Zm=9v", NULL, 0, "base64 text after \"=\" padding" },
		/* BASE64_LOOSE: "=" only at the end, any length */
		{ L, "", "", 0, NULL },
		{ L, "Zm9vYg", "foob", 4, NULL },
		{ L, "Zm9vYg=", "foob", 4, NULL },
		{ L, "Zm9vYg====", "foob", 4, NULL },
		{ L, "Zm9vY", "foo", 3, NULL },
		{ L, "===", "", 0, NULL },
		{ L, "Zm 9v", NULL, 0, "bad base64 character 0x20" },
		{ L, "Zm=9v", NULL, 0, "base64 text after \"=\" padding" },
		{ L, "Zg=?", NULL, 0, "bad base64 character 0x3f" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		const char *error = NULL;
		int rc;

		buf_init(&b, 0);
		(void)buf_append_str(&b, "x");
		rc = base64_decode(cases[i].in, strlen(cases[i].in),
		    cases[i].mode, &b, &error);
		if (cases[i].out != NULL) {
			assert_int_equal(rc, 0);
			assert_int_equal(b.len, 1 + cases[i].out_len);
			assert_memory_equal(b.data + 1, cases[i].out,
			    cases[i].out_len);
		} else {
			assert_int_equal(rc, -1);
			assert_non_null(error);
			assert_string_equal(error, cases[i].error);
			assert_int_equal(b.len, 1);	/* unchanged */
			assert_string_equal(b.data, "x");
		}
		buf_release(&b);
	}
}

static void
test_decode_limit(void **state)
{
	struct buf b;
	const char *error;

	/* STRICT checks the room up front, even for what padding saves. */
	buf_init(&b, 4);
	assert_int_equal(base64_decode("Zm9vYg==", 8, S, &b, &error), -1);
	assert_string_equal(error, "invalid base64: too long");
	assert_int_equal(base64_decode("Zm9vYg==", 8, W, &b, &error), 0);
	assert_int_equal(b.len, 4);
	buf_reset(&b);
	assert_int_equal(base64_decode("Zm9vYmFy", 8, W, &b, &error), -1);
	assert_string_equal(error, "base64 text too long");
	assert_int_equal(b.len, 0);
	assert_int_equal(base64_decode("Zm9vYmFy", 8, L, &b, &error), -1);
	assert_string_equal(error, "base64 text too long");
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
test_encode(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
		{ "\xfb\xff\xbf", "+/+/" },
	};
	struct buf b, d;
	const char *error;
	unsigned char all[256];

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		assert_int_equal(base64_encode(cases[i].in,
		    strlen(cases[i].in), &b), 0);
		assert_string_equal(b.data, cases[i].out);
	}
	/* Every length and byte value decodes back in every mode. */
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	buf_init(&d, 0);
	for (size_t n = 0; n <= 256; n++) {
		buf_reset(&b);
		assert_int_equal(base64_encode(all, n, &b), 0);
		assert_int_equal(b.len, (n + 2) / 3 * 4);
		for (int m = S; m <= L; m++) {
			buf_reset(&d);
			assert_int_equal(base64_decode(b.data, b.len,
			    (enum base64_mode)m, &d, &error), 0);
			assert_int_equal(d.len, n);
			assert_memory_equal(d.data, all, n);
		}
	}
	buf_release(&d);
	buf_release(&b);

	/* A full buffer: -1, and only whole groups went in. */
	buf_init(&b, 6);
	assert_int_equal(base64_encode("foobar", 6, &b), -1);
	assert_string_equal(b.data, "Zm9v");
	buf_release(&b);
}

static void
test_stream(void **state)
{
	static const struct {
		const char *pieces[4];
		const char *out;
		size_t out_len;
	} cases[] = {
		{ { "Zm9vYmFy", NULL }, "foobar", 6 },
		/* groups split over lines; line breaks and junk skipped */
		{ { "Zm9\r\n", "vYm", "Fy\n", NULL }, "foobar", 6 },
		{ { "Z*m9v!Y m F y", NULL }, "foobar", 6 },
		/* "=" ends a quantum; text after it starts afresh */
		{ { "Zg==Zm8=", "Zm9v", NULL }, "ffofoo", 6 },
		{ { "Zg", "=", "=Zm9v", NULL }, "ffoo", 4 },
		{ { "", "====", "!!!", NULL }, "", 0 },
	};
	struct base64_stream st;
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		base64_stream_init(&st);
		for (size_t k = 0; cases[i].pieces[k] != NULL; k++)
			assert_int_equal(base64_stream_decode(&st,
			    cases[i].pieces[k], strlen(cases[i].pieces[k]),
			    &b), 0);
		assert_int_equal(b.len, cases[i].out_len);
		assert_memory_equal(b.data, cases[i].out, b.len);
	}
	buf_release(&b);

	/* Restarting drops pending bits (a new body part). */
	buf_init(&b, 0);
	base64_stream_init(&st);
	assert_int_equal(base64_stream_decode(&st, "Zm9", 3, &b), 0);
	assert_string_equal(b.data, "fo");
	base64_stream_init(&st);
	assert_int_equal(base64_stream_decode(&st, "vYmFy", 5, &b), 0);
	assert_int_equal(b.len, 2 + 3);
	buf_release(&b);

	/* A full buffer: -1, what fitted stays. */
	buf_init(&b, 2);
	base64_stream_init(&st);
	assert_int_equal(base64_stream_decode(&st, "Zm9v", 4, &b), -1);
	assert_string_equal(b.data, "fo");
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_limit),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
