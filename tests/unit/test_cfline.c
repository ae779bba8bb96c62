/* Unit tests for src/global/cfline (main.cf/master.cf line structure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "cfline.h"

/* The lines of TEXT as "N:+text|" (+ for a continuation) into OUT. */
static int
read_all(const char *text, size_t len, struct buf *out, const char **error_r)
{
	struct cfline_reader r;
	struct cfline cl;
	int rc;

	buf_reset(out);
	cfline_init(&r, text, len, "f.cf");
	while ((rc = cfline_next(&r, &cl, error_r)) > 0)
		(void)buf_printf(out, "%d:%s%.*s|", cl.line,
		    cl.continuation ? "+" : "", (int)cl.len, cl.s);
	return rc;
}

static void
test_lines(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "", "" },
		{ "\n\n", "" },
		{ "a = b", "1:a = b|" },
		{ "a = b\n", "1:a = b|" },
		{ "# c\n  # indented comment\n\t\n", "" },
		{ "a = b \r\n  c\t\nd=e", "1:a = b|2:+c|3:d=e|" },
		{ "x\n\n\f\v y \n#z\n w", "1:x|3:+y|5:+w|" },
		{ "a #not a comment", "1:a #not a comment|" },
	};
	struct buf b;
	const char *error;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(read_all(cases[i].in, strlen(cases[i].in),
		    &b, &error), 0);
		assert_string_equal(b.data, cases[i].out);
	}
	buf_release(&b);
}

static void
test_nul(void **state)
{
	static const char text[] = "a = b\n# ok\nc = \0d\ne = f\n";
	struct buf b;
	const char *error = NULL;

	buf_init(&b, 0);
	assert_int_equal(read_all(text, sizeof(text) - 1, &b, &error), -1);
	assert_string_equal(error, "f.cf, line 3: NUL byte in line");
	assert_string_equal(b.data, "1:a = b|");
	buf_release(&b);
}

static void
test_space(void **state)
{
	assert_true(cfline_space(' '));
	assert_true(cfline_space('\t'));
	assert_true(cfline_space('\r'));
	assert_true(cfline_space('\f'));
	assert_true(cfline_space('\v'));
	assert_false(cfline_space('\n'));
	assert_false(cfline_space('x'));
	assert_false(cfline_space('\0'));
}

static void
test_quote(void **state)
{
	char long_text[100];
	const char *q;

	assert_string_equal(cfline_quote("abc", 3), "\"abc\"");
	assert_string_equal(cfline_quote("abcdef", 2), "\"ab\"");
	assert_string_equal(cfline_quote("", 0), "\"\"");
	/* Control bytes are escaped as log.h escapes them. */
	q = cfline_quote("a\nb", 3);
	assert_null(strchr(q, '\n'));
	memset(long_text, 'x', sizeof(long_text));
	q = cfline_quote(long_text, sizeof(long_text));
	assert_int_equal(strlen(q), 1 + 60 + 3 + 1);
	assert_string_equal(q + 61, "...\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_space),
		cmocka_unit_test(test_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
