/* Unit tests for src/lib/buf and src/lib/str. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "buf.h"
#include "str.h"

static void
test_append_and_nul(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_append(&b, "ab\0c", 4), 0);
	assert_int_equal(b.len, 4);
	assert_true(buf_has_nul(&b));
	assert_int_equal(b.data[4], '\0');
	buf_reset(&b);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_append_str(&b, "0123456789"), 0);
	assert_int_equal(b.len, 10000);
	assert_int_equal(b.data[10000], '\0');
	assert_false(buf_has_nul(&b));
	buf_release(&b);
}

static void
test_max_enforced(void **state)
{
	struct buf *b = buf_new(8);

	assert_int_equal(buf_append_str(b, "12345678"), 0);
	assert_int_equal(buf_append_char(b, 'x'), -1);
	assert_int_equal(b->len, 8);
	assert_string_equal(b->data, "12345678");
	buf_reset(b);
	assert_int_equal(buf_printf(b, "%s", "123456789"), -1);
	assert_int_equal(b->len, 0);
	assert_string_equal(b->data, "");
	assert_int_equal(buf_set_str(b, "too long text"), -1);
	assert_int_equal(buf_reserve(b, SIZE_MAX), -1);
	buf_free(b);
	buf_free(NULL);
}

static void
test_printf_grows(void **state)
{
	struct buf b;
	char big[5000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 0);
	assert_int_equal(buf_printf(&b, "<%s>%d", big, 42), 0);
	assert_int_equal(b.len, sizeof(big) - 1 + 4);
	assert_int_equal(b.data[0], '<');
	assert_string_equal(b.data + b.len - 3, ">42");
	buf_release(&b);
}

static void
test_consume_truncate_detach(void **state)
{
	struct buf b;
	size_t n;
	char *s;

	buf_init(&b, 0);
	buf_append_str(&b, "hello world");
	buf_consume(&b, 6);
	assert_string_equal(b.data, "world");
	buf_truncate(&b, 3);
	assert_string_equal(b.data, "wor");
	buf_truncate(&b, 10);
	assert_string_equal(b.data, "wor");
	s = buf_detach(&b, &n);
	assert_int_equal(n, 3);
	assert_string_equal(s, "wor");
	assert_int_equal(b.len, 0);
	free(s);
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
test_str_helpers(void **state)
{
	char small[4], s[] = "  MiXed Case\t\n";
	struct strlist l;

	assert_int_equal(str_copy(small, sizeof(small), "abc"), 0);
	assert_string_equal(small, "abc");
	assert_int_equal(str_copy(small, sizeof(small), "abcd"), -1);
	assert_string_equal(small, "");
	assert_string_equal(str_lower(str_trim(s)), "mixed case");
	assert_true(str_has_prefix_nocase("MAIL FROM:", "mail from:"));
	assert_false(str_has_prefix("MAIL", "mail"));
	assert_true(str_has_suffix_nocase("user@Example.COM", "example.com"));
	assert_false(str_has_suffix_nocase("com", "example.com"));
	assert_int_equal(str_casecmp("ABC", "abc"), 0);
	assert_true(str_casecmp("abc", "abd") < 0);
	assert_int_equal(str_ncasecmp("abcX", "ABCy", 3), 0);

	strlist_init(&l);
	strlist_split(&l, " a, b,,c\t d ,", ", \t");
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0], "a");
	assert_string_equal(l.v[3], "d");
	assert_null(l.v[4]);
	assert_int_equal(strlist_find(&l, "c"), 2);
	assert_int_equal(strlist_find(&l, "C"), -1);
	assert_int_equal(strlist_find_nocase(&l, "C"), 2);
	strlist_split(&l, "", ", ");
	strlist_split(&l, ",,,", ", ");
	assert_int_equal(l.n, 4);
	strlist_release(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_nul),
		cmocka_unit_test(test_max_enforced),
		cmocka_unit_test(test_printf_grows),
		cmocka_unit_test(test_consume_truncate_detach),
		cmocka_unit_test(test_str_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
