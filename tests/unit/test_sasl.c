/* Unit tests for src/global/sasl (strict base64, SASL PLAIN). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base64.h"
#include "buf.h"
#include "sasl.h"

static void
test_base64_decode(void **state)
{
	static const struct {
		const char *in;
		const char *out;	/* NULL: refused */
		size_t out_len;
		const char *error;
	} cases[] = {
		{ "", "", 0, NULL },
		{ "=", "", 0, NULL },
		{ "Zg==", "f", 1, NULL },
		{ "Zm8=", "fo", 2, NULL },
		{ "Zm9v", "foo", 3, NULL },
		{ "Zm9vYmFy", "foobar", 6, NULL },
		{ "AGRlbW8Ac2VjcmV0", "\0demo\0secret", 12, NULL },
		{ "+/+/", "\xfb\xff\xbf", 3, NULL },
		{ "Zg", NULL, 0, "invalid base64: length is not a multiple "
		    "of 4" },
		{ "Zm9vY", NULL, 0, "invalid base64: length is not a "
		    "multiple of 4" },
		{ "Zm 9", NULL, 0, "invalid base64: character outside the "
		    "alphabet" },
		{ "Zm9\n", NULL, 0, "invalid base64: character outside the "
		    "alphabet" },
		{ "Z-9v", NULL, 0, "invalid base64: character outside the "
		    "alphabet" },
		{ "====", NULL, 0, "invalid base64: character outside the "
		    "alphabet" },
		{ "Zg==Zm9v", NULL, 0, "invalid base64: character outside "
		    "the alphabet" },
		{ "Zm=v", NULL, 0, "invalid base64: bad padding" },
		{ "Zh==", NULL, 0, "invalid base64: bad padding" },
		{ "Zm9=", NULL, 0, "invalid base64: bad padding" },
		{ "==", NULL, 0, "invalid base64: length is not a multiple "
		    "of 4" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		const char *error = NULL;
		int rc;

		buf_init(&b, 0);
		(void)buf_append_str(&b, "x");
		rc = sasl_base64_decode(cases[i].in, strlen(cases[i].in), &b,
		    &error);
		if (cases[i].out != NULL) {
			assert_int_equal(rc, 0);
			assert_int_equal(b.len, 1 + cases[i].out_len);
			assert_memory_equal(b.data + 1, cases[i].out,
			    cases[i].out_len);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(error, cases[i].error);
			assert_int_equal(b.len, 1);	/* unchanged */
		}
		buf_release(&b);
	}
}

static void
test_base64_limit_and_roundtrip(void **state)
{
	struct buf b, enc;
	const char *error;
	unsigned char all[256];

	buf_init(&b, 4);
	assert_int_equal(sasl_base64_decode("Zm9vYmFy", 8, &b, &error), -1);
	assert_string_equal(error, "invalid base64: too long");
	buf_release(&b);

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (size_t n = 0; n <= 256; n += 1) {
		buf_init(&enc, 0);
		buf_init(&b, 0);
		(void)base64_encode(all, n, &enc);
		assert_int_equal(enc.len, (n + 2) / 3 * 4);
		assert_int_equal(sasl_base64_decode(enc.data, enc.len, &b,
		    &error), 0);
		assert_int_equal(b.len, n);
		assert_memory_equal(b.data, all, n);
		buf_release(&enc);
		buf_release(&b);
	}
}

static void
test_plain(void **state)
{
	static const struct {
		const char *msg;
		size_t len;
		const char *z, *c, *p;	/* NULL c: refused */
		const char *error;
	} cases[] = {
		{ "\0demo\0secret", 12, "", "demo", "secret", NULL },
		{ "admin\0demo\0s", 12, "admin", "demo", "s", NULL },
		{ "demo secret", 11, NULL, NULL, NULL,
		    "PLAIN message without NUL separators" },
		{ "\0demo", 5, NULL, NULL, NULL,
		    "PLAIN message with one NUL separator" },
		{ "\0demo\0se\0cret", 13, NULL, NULL, NULL,
		    "PLAIN message with more than three parts" },
		{ "\0\0secret", 8, NULL, NULL, NULL,
		    "PLAIN message with an empty user name or password" },
		{ "\0demo\0", 6, NULL, NULL, NULL,
		    "PLAIN message with an empty user name or password" },
		{ "", 0, NULL, NULL, NULL,
		    "PLAIN message without NUL separators" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sasl_plain p = { NULL, NULL, NULL };
		const char *error = NULL;
		int rc = sasl_plain_parse(cases[i].msg, cases[i].len, &p,
		    &error);

		if (cases[i].c != NULL) {
			assert_int_equal(rc, 0);
			assert_string_equal(p.authzid, cases[i].z);
			assert_string_equal(p.authcid, cases[i].c);
			assert_string_equal(p.passwd, cases[i].p);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(error, cases[i].error);
			assert_null(p.authcid);
		}
		sasl_plain_release(&p);
		sasl_plain_release(&p);
	}
}

static void
test_plain_decode(void **state)
{
	struct sasl_plain p = { NULL, NULL, NULL };
	struct buf b, enc;
	const char *error;
	char big[300];

	assert_int_equal(sasl_plain_decode("AGRlbW8Ac2VjcmV0", 16, &p,
	    &error), 0);
	assert_string_equal(p.authcid, "demo");
	assert_string_equal(p.passwd, "secret");
	sasl_plain_release(&p);
	assert_int_equal(sasl_plain_decode("AGRlbW8Ac2VjcmV0=", 17, &p,
	    &error), -1);
	assert_string_equal(error, "invalid base64: length is not a multiple "
	    "of 4");

	/* A part over 255 bytes. */
	memset(big, 'a', sizeof(big));
	buf_init(&b, 0);
	buf_init(&enc, 0);
	(void)buf_append(&b, "\0", 1);
	(void)buf_append(&b, big, 256);
	(void)buf_append(&b, "\0pw", 3);
	(void)base64_encode(b.data, b.len, &enc);
	assert_int_equal(sasl_plain_decode(enc.data, enc.len, &p, &error),
	    -1);
	assert_string_equal(error, "PLAIN message part too long");
	/* Far too long: refused before decoding. */
	buf_reset(&enc);
	for (int i = 0; i < 400; i++)
		(void)buf_append_str(&enc, "AAAA");
	assert_int_equal(sasl_plain_decode(enc.data, enc.len, &p, &error),
	    -1);
	assert_string_equal(error, "PLAIN message too long");
	buf_release(&b);
	buf_release(&enc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_decode),
		cmocka_unit_test(test_base64_limit_and_roundtrip),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_plain_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
