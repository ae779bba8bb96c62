/* Unit tests for src/global/dnsbl (entries, filters, query names, score). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "dnsbl.h"

static void
test_parse_and_match(void **state)
{
	static const struct {
		const char *entry;
		bool weighted;
		const char *zone;
		long weight;
		const char *addr;
		bool match;
	} cases[] = {
		{ "zen.example", false, "zen.example", 1, "127.0.0.2", true },
		{ "Zen.Example.", false, "zen.example", 1, "127.0.0.9", true },
		/* answers outside 127/8 are never listings */
		{ "zen.example", false, "zen.example", 1, "192.0.2.1", false },
		{ "bl.example=127.0.0.2", false, "bl.example", 1, "127.0.0.2",
		  true },
		{ "bl.example=127.0.0.2", false, "bl.example", 1, "127.0.0.3",
		  false },
		{ "bl.example=127.0.0.[2..11]", false, "bl.example", 1,
		  "127.0.0.11", true },
		{ "bl.example=127.0.0.[2..11]", false, "bl.example", 1,
		  "127.0.0.12", false },
		{ "bl.example=127.0.[0;1].[2;4..5]", false, "bl.example", 1,
		  "127.0.1.5", true },
		{ "bl.example=127.0.[0;1].[2;4..5]", false, "bl.example", 1,
		  "127.0.1.3", false },
		{ "bl.example*3", true, "bl.example", 3, "127.0.0.2", true },
		{ "bl.example=127.0.0.2*2", true, "bl.example", 2, "127.0.0.2",
		  true },
		{ "wl.example=127.0.0.[0..255]*-5", true, "wl.example", -5,
		  "127.0.0.7", true },
		{ "bl.example", false, "bl.example", 1, "not-an-address",
		  false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dnsbl_site s;
		const char *error = NULL;

		assert_int_equal(dnsbl_site_parse(cases[i].entry,
		    cases[i].weighted, &s, &error), 0);
		assert_string_equal(s.zone, cases[i].zone);
		assert_int_equal(s.weight, cases[i].weight);
		assert_int_equal(dnsbl_site_match(&s, cases[i].addr),
		    cases[i].match);
		dnsbl_site_release(&s);
	}
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *entry;
		bool weighted;
		const char *error;
	} cases[] = {
		{ "bl.example=127.0.0", false, "bad DNSBL filter \"127.0.0\"" },
		{ "bl.example=127.0.0.256", false,
		  "bad DNSBL filter \"127.0.0.256\"" },
		{ "bl.example=127.0.0.[5..2]", false,
		  "bad DNSBL filter \"127.0.0.[5..2]\"" },
		{ "bl.example=127.0.0.[2;]", false,
		  "bad DNSBL filter \"127.0.0.[2;]\"" },
		{ "bl.example*2", false, "\"bl.example*2\": a weight is "
		  "allowed only in postscreen_dnsbl_sites" },
		{ "bl.example*x", true, "bad DNSBL weight in \"bl.example*x\"" },
		{ "", false, "bad DNSBL zone in \"\"" },
		{ "bad zone", false, "bad DNSBL zone in \"bad zone\"" },
		{ "a..b", false, "bad DNSBL zone in \"a..b\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dnsbl_site s;
		const char *error = NULL;

		assert_int_equal(dnsbl_site_parse(cases[i].entry,
		    cases[i].weighted, &s, &error), -1);
		assert_string_equal(error, cases[i].error);
	}
}

static void
test_query_name(void **state)
{
	char out[128];

	assert_int_equal(dnsbl_query_name("192.0.2.1", "bl.example", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "1.2.0.192.bl.example");
	assert_int_equal(dnsbl_query_name("2001:db8::1", "bl.example", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
	assert_int_equal(dnsbl_query_name("192.0.2.1", "bl.example", out, 10),
	    -1);
	assert_int_equal(dnsbl_query_name("nope", "bl.example", out,
	    sizeof(out)), -1);
}

static void
test_score(void **state)
{
	const char *entries[] = { "a.example*3", "b.example=127.0.0.2*2",
	    "c.example", "wl.example*-4" };
	struct dnsbl_site sites[4];
	static const struct {
		bool listed[4];
		long score;
	} cases[] = {
		{ { false, false, false, false }, 0 },
		{ { true, false, false, false }, 3 },
		{ { true, true, false, false }, 5 },
		{ { true, true, true, false }, 6 },
		{ { true, true, true, true }, 2 },
		{ { false, false, false, true }, -4 },
	};

	for (int i = 0; i < 4; i++) {
		const char *error;

		assert_int_equal(dnsbl_site_parse(entries[i], true, &sites[i],
		    &error), 0);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(dnsbl_score(sites, cases[i].listed, 4),
		    cases[i].score);
	for (int i = 0; i < 4; i++)
		dnsbl_site_release(&sites[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_match),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_query_name),
		cmocka_unit_test(test_score),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
