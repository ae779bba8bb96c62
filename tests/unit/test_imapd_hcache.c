/*
 * Unit tests for src/imapd/imapd_hcache (the process-wide cache of
 * ENVELOPE header fields) and the envelope field parser of imap_render:
 * round trips with absent, empty and duplicated fields, keys (folder,
 * UIDVALIDITY, UID), a UIDVALIDITY change, and the memory bound (a small
 * IMAPD_HCACHE_MAX here) dropping the least recently used folder first.
 * Both modules belong to the imapd executable, so they are compiled in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#define IMAPD_HCACHE_MAX (64u * 1024)
#include "../../src/imapd/imap_render.c"
#include "../../src/imapd/imapd_hcache.c"

static const char HDR[] =
    "From: Ann <ann@example.test>\r\n"
    "Subject: first\r\n"
    "Subject: second\r\n"
    "To: bob@example.test,\r\n carol@example.test\r\n"
    "Cc:\r\n"
    "X-Other: x\r\n"
    "\r\n";

static void
test_parse(void **state)
{
	struct imap_envelope e;

	imap_envelope_parse(HDR, sizeof(HDR) - 1, &e);
	assert_string_equal(e.v[IMAP_ENV_FROM], "Ann <ann@example.test>");
	assert_string_equal(e.v[IMAP_ENV_SUBJECT], "first");
	assert_string_equal(e.v[IMAP_ENV_TO],
	    "bob@example.test, carol@example.test");
	assert_string_equal(e.v[IMAP_ENV_CC], "");
	assert_null(e.v[IMAP_ENV_DATE]);
	assert_null(e.v[IMAP_ENV_MESSAGE_ID]);
	assert_int_equal(e.dup, 1u << IMAP_ENV_SUBJECT);
	assert_int_equal(imap_envelope_field("reply-TO"), IMAP_ENV_REPLY_TO);
	assert_int_equal(imap_envelope_field("X-Other"), -1);
	imap_envelope_release(&e);
}

static void
test_round_trip(void **state)
{
	struct imap_envelope e;
	struct imapd_hcache_env got;

	imap_envelope_parse(HDR, sizeof(HDR) - 1, &e);
	assert_false(imapd_hcache_get("/m/a", 7, 1, &got));
	imapd_hcache_put("/m/a", 7, 1, &e);
	assert_true(imapd_hcache_get("/m/a", 7, 1, &got));
	for (int i = 0; i < IMAP_ENV_FIELDS; i++) {
		if (e.v[i] == NULL)
			assert_null(got.v[i]);
		else
			assert_string_equal(got.v[i], e.v[i]);
	}
	assert_int_equal(got.dup, e.dup);
	/* Other keys miss. */
	assert_false(imapd_hcache_get("/m/a", 7, 2, &got));
	assert_false(imapd_hcache_get("/m/a", 8, 1, &got));
	assert_false(imapd_hcache_get("/m/b", 7, 1, &got));
	/* A second put of the same UID keeps the first. */
	imapd_hcache_put("/m/a", 7, 1, &(struct imap_envelope){ { NULL },
	    0 });
	assert_true(imapd_hcache_get("/m/a", 7, 1, &got));
	assert_string_equal(got.v[IMAP_ENV_SUBJECT], "first");
	/* A new UIDVALIDITY drops the folder's entries. */
	imapd_hcache_put("/m/a", 9, 2, &e);
	assert_false(imapd_hcache_get("/m/a", 9, 1, &got));
	assert_true(imapd_hcache_get("/m/a", 9, 2, &got));
	/* Dropping a user's root drops its folders only. */
	imapd_hcache_put("/m/ab", 1, 1, &e);
	imapd_hcache_put("/n/a", 1, 1, &e);
	imapd_hcache_drop_root("/m/");
	assert_false(imapd_hcache_get("/m/a", 9, 2, &got));
	assert_false(imapd_hcache_get("/m/ab", 1, 1, &got));
	assert_true(imapd_hcache_get("/n/a", 1, 1, &got));
	imap_envelope_release(&e);
	imapd_hcache_clear();
	assert_int_equal(imapd_hcache_size(), 0);
}

static void
test_many_and_growth(void **state)
{
	struct imap_envelope e;
	struct imapd_hcache_env got;
	char subj[32];

	memset(&e, 0, sizeof(e));
	e.v[IMAP_ENV_SUBJECT] = subj;
	for (uint32_t uid = 1; uid <= 300; uid++) {
		snprintf(subj, sizeof(subj), "s%u", uid);
		imapd_hcache_put("/m/a", 1, uid * 7, &e);
	}
	for (uint32_t uid = 1; uid <= 300; uid++) {
		snprintf(subj, sizeof(subj), "s%u", uid);
		assert_true(imapd_hcache_get("/m/a", 1, uid * 7, &got));
		assert_string_equal(got.v[IMAP_ENV_SUBJECT], subj);
	}
	assert_true(imapd_hcache_size() <= IMAPD_HCACHE_MAX);
	imapd_hcache_clear();
}

static void
test_bound(void **state)
{
	struct imap_envelope e;
	struct imapd_hcache_env got;
	char big[2000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(&e, 0, sizeof(e));
	e.v[IMAP_ENV_SUBJECT] = big;
	imapd_hcache_put("/m/old", 1, 1, &e);
	imapd_hcache_put("/m/new", 1, 1, &e);
	/* Touch "old": "new" is now the least recently used. */
	assert_true(imapd_hcache_get("/m/old", 1, 1, &got));
	for (uint32_t uid = 1; uid <= 20; uid++)
		imapd_hcache_put("/m/third", 1, uid, &e);
	assert_true(imapd_hcache_size() <= IMAPD_HCACHE_MAX);
	/* Filling "third" past the bound drops "new", then "old". */
	for (uint32_t uid = 21; uid <= 40; uid++)
		imapd_hcache_put("/m/third", 1, uid, &e);
	assert_true(imapd_hcache_size() <= IMAPD_HCACHE_MAX);
	assert_false(imapd_hcache_get("/m/new", 1, 1, &got));
	assert_true(imapd_hcache_get("/m/third", 1, 40, &got));
	assert_string_equal(got.v[IMAP_ENV_SUBJECT], big);
	/* One folder larger than the bound starts over. */
	for (uint32_t uid = 41; uid <= 100; uid++)
		imapd_hcache_put("/m/third", 1, uid, &e);
	assert_true(imapd_hcache_size() <= IMAPD_HCACHE_MAX);
	assert_false(imapd_hcache_get("/m/old", 1, 1, &got));
	assert_true(imapd_hcache_get("/m/third", 1, 100, &got));
	assert_false(imapd_hcache_get("/m/third", 1, 41, &got));
	imapd_hcache_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_many_and_growth),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
