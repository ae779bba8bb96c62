/*
 * Unit tests for src/global/rate: counting per key and kind, the window
 * roll-over, expiry, the entry cap with oldest-first eviction, and a
 * flood of distinct keys; all on a fake clock (milliseconds passed in).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rate.h"

enum { C_CONN, C_MAIL, C_RCPT, N_C };

static void
test_counts_per_key_and_kind(void **state)
{
	struct rate_table *t = rate_table_new(N_C, 60000, 100);

	(void)state;
	assert_int_equal(rate_table_add(t, "192.0.2.1", C_CONN, 1000), 1);
	assert_int_equal(rate_table_add(t, "192.0.2.1", C_CONN, 1001), 2);
	assert_int_equal(rate_table_add(t, "192.0.2.1", C_MAIL, 1002), 1);
	assert_int_equal(rate_table_add(t, "192.0.2.2", C_CONN, 1003), 1);
	assert_int_equal(rate_table_get(t, "192.0.2.1", C_CONN, 1004), 2);
	assert_int_equal(rate_table_get(t, "192.0.2.1", C_RCPT, 1004), 0);
	assert_int_equal(rate_table_get(t, "192.0.2.9", C_CONN, 1004), 0);
	/* get does not create an entry */
	assert_int_equal(rate_table_count(t), 2);
	rate_table_free(t);
	rate_table_free(NULL);
}

static void
test_window_roll_over(void **state)
{
	struct rate_table *t = rate_table_new(N_C, 2000, 100);

	(void)state;
	/* The window starts at the first event (t=10000) ... */
	for (unsigned i = 1; i <= 5; i++)
		assert_int_equal(rate_table_add(t, "a", C_RCPT, 10000 + i * 300),
		    i);
	/* ... still open 1 ms before its end, at 10300 + 1999 ... */
	assert_int_equal(rate_table_add(t, "a", C_RCPT, 12299), 6);
	/* ... and a fresh one begins at its end: every kind back to 0. */
	assert_int_equal(rate_table_get(t, "a", C_RCPT, 12300), 0);
	assert_int_equal(rate_table_add(t, "a", C_MAIL, 12300), 1);
	assert_int_equal(rate_table_add(t, "a", C_RCPT, 12301), 1);
	assert_int_equal(rate_table_add(t, "a", C_RCPT, 14299), 2);
	assert_int_equal(rate_table_add(t, "a", C_RCPT, 14300), 1);
	rate_table_free(t);
}

static void
test_expiry(void **state)
{
	struct rate_table *t = rate_table_new(N_C, 1000, 100);

	(void)state;
	rate_table_add(t, "old", C_CONN, 0);
	rate_table_add(t, "mid", C_CONN, 500);
	rate_table_add(t, "new", C_CONN, 900);
	assert_int_equal(rate_table_count(t), 3);
	rate_table_expire(t, 999);
	assert_int_equal(rate_table_count(t), 3);
	rate_table_expire(t, 1000);
	assert_int_equal(rate_table_count(t), 2);
	/* Any call expires too. */
	assert_int_equal(rate_table_get(t, "new", C_CONN, 1500), 1);
	assert_int_equal(rate_table_count(t), 1);
	rate_table_expire(t, 1900);
	assert_int_equal(rate_table_count(t), 0);
	/* A clock that went back keeps windows open. */
	rate_table_add(t, "x", C_CONN, 5000);
	rate_table_expire(t, 4000);
	assert_int_equal(rate_table_count(t), 1);
	assert_int_equal(rate_table_evictions(t), 0);
	rate_table_free(t);
}

static void
test_cap_evicts_oldest(void **state)
{
	struct rate_table *t = rate_table_new(N_C, 60000, 3);

	(void)state;
	rate_table_add(t, "a", C_CONN, 1);
	rate_table_add(t, "b", C_CONN, 2);
	rate_table_add(t, "c", C_CONN, 3);
	/* Counting an existing key evicts nothing. */
	assert_int_equal(rate_table_add(t, "a", C_CONN, 4), 2);
	assert_int_equal(rate_table_evictions(t), 0);
	/* A fourth key: "a" (oldest window) goes, whatever its count. */
	assert_int_equal(rate_table_add(t, "d", C_CONN, 5), 1);
	assert_int_equal(rate_table_count(t), 3);
	assert_int_equal(rate_table_evictions(t), 1);
	assert_int_equal(rate_table_get(t, "a", C_CONN, 6), 0);
	assert_int_equal(rate_table_get(t, "b", C_CONN, 6), 1);
	assert_int_equal(rate_table_add(t, "e", C_CONN, 7), 1);
	assert_int_equal(rate_table_get(t, "b", C_CONN, 8), 0);
	assert_int_equal(rate_table_get(t, "c", C_CONN, 8), 1);
	assert_int_equal(rate_table_evictions(t), 2);
	rate_table_free(t);
}

static void
test_flood_is_bounded(void **state)
{
	enum { CAP = 1000, KEYS = 50000 };
	struct rate_table *t = rate_table_new(N_C, 60000, CAP);
	char key[64];

	(void)state;
	/* Distinct IPv6 addresses, one event each, all in one window. */
	for (unsigned i = 0; i < KEYS; i++) {
		(void)snprintf(key, sizeof(key), "2001:db8::%x:%x", i >> 16,
		    i & 0xffff);
		assert_int_equal(rate_table_add(t, key, C_CONN, 100 + i / 100),
		    1);
		assert_true(rate_table_count(t) <= CAP);
	}
	assert_int_equal(rate_table_count(t), CAP);
	assert_int_equal(rate_table_evictions(t), KEYS - CAP);
	/* The newest CAP keys are the ones held. */
	(void)snprintf(key, sizeof(key), "2001:db8::%x:%x", (KEYS - 1) >> 16,
	    (KEYS - 1) & 0xffff);
	assert_int_equal(rate_table_get(t, key, C_CONN, 1000), 1);
	(void)snprintf(key, sizeof(key), "2001:db8::%x:%x",
	    (KEYS - CAP - 1) >> 16, (KEYS - CAP - 1) & 0xffff);
	assert_int_equal(rate_table_get(t, key, C_CONN, 1000), 0);
	/* When the unit has passed, all is gone. */
	rate_table_expire(t, 100 + KEYS / 100 + 60000);
	assert_int_equal(rate_table_count(t), 0);
	rate_table_free(t);
}

static void
test_degenerate_settings(void **state)
{
	/* unit 0 and cap 0 are taken as 1 */
	struct rate_table *t = rate_table_new(1, 0, 0);

	(void)state;
	assert_int_equal(rate_table_add(t, "a", 0, 10), 1);
	assert_int_equal(rate_table_add(t, "a", 0, 10), 2);
	assert_int_equal(rate_table_add(t, "a", 0, 11), 1);
	assert_int_equal(rate_table_add(t, "b", 0, 11), 1);
	assert_int_equal(rate_table_count(t), 1);
	assert_int_equal(rate_table_add(t, "", 0, 11), 1);
	rate_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_per_key_and_kind),
		cmocka_unit_test(test_window_roll_over),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_cap_evicts_oldest),
		cmocka_unit_test(test_flood_is_bounded),
		cmocka_unit_test(test_degenerate_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
