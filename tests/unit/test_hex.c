/* Unit tests for src/lib/hex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hex.h"

static void
test_digits(void **state)
{
	static const struct {
		char c;
		int value;
	} cases[] = {
		{ '0', 0 }, { '9', 9 }, { 'A', 10 }, { 'F', 15 },
		{ 'a', 10 }, { 'f', 15 }, { 'c', 12 }, { 'D', 13 },
		{ 'G', -1 }, { 'g', -1 }, { '/', -1 }, { ':', -1 },
		{ '@', -1 }, { '`', -1 }, { ' ', -1 }, { '\0', -1 },
		{ (char)0xb0, -1 }, { (char)0xff, -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(hex_digit_value(cases[i].c), cases[i].value);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
