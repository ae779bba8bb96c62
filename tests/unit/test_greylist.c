/* Unit tests for src/global/greylist (the LMDB greylisting store). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "greylist.h"

static char dir[64];
static char path[128];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_greylist.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/greylist.lmdb", dir);
	return 0;
}

static int
teardown(void **state)
{
	char lock[160];

	snprintf(lock, sizeof(lock), "%s-lock", path);
	unlink(path);
	unlink(lock);
	rmdir(dir);
	return 0;
}

static struct greylist *
open_store(uint64_t delay, uint64_t window, uint64_t awl)
{
	struct greylist_params p = { delay, window, awl, 0 };
	const char *error = NULL;
	struct greylist *g = greylist_open(path, &p, &error);

	assert_non_null(g);
	return g;
}

static enum greylist_verdict
check(struct greylist *g, const char *net, const char *s, const char *r,
    time_t now, uint64_t *wait)
{
	enum greylist_verdict v = GREYLIST_PASS;
	const char *error = NULL;

	assert_int_equal(greylist_check(g, net, s, r, now, &v, wait, &error),
	    0);
	return v;
}

/* Each step: time offset, triplet, expected verdict, expected wait. */
static void
test_sequence(void **state)
{
	static const struct {
		time_t t;
		const char *net, *s, *r;
		enum greylist_verdict v;
		uint64_t wait;
	} steps[] = {
		{ 0, "192.0.2.0/24", "a@x.example", "u@y.example",
		  GREYLIST_NEW, 60 },
		{ 10, "192.0.2.0/24", "a@x.example", "u@y.example",
		  GREYLIST_EARLY, 50 },
		/* case does not make another triplet */
		{ 59, "192.0.2.0/24", "A@X.example", "u@Y.example",
		  GREYLIST_EARLY, 1 },
		{ 60, "192.0.2.0/24", "a@x.example", "u@y.example",
		  GREYLIST_PASS, 0 },
		{ 5000, "192.0.2.0/24", "a@x.example", "u@y.example",
		  GREYLIST_PASS, 0 },
		/* another recipient, another network: new triplets */
		{ 70, "192.0.2.0/24", "a@x.example", "v@y.example",
		  GREYLIST_NEW, 60 },
		{ 70, "198.51.100.0/24", "a@x.example", "u@y.example",
		  GREYLIST_NEW, 60 },
		/* null sender */
		{ 70, "192.0.2.0/24", "", "u@y.example", GREYLIST_NEW, 60 },
		/* a retry after the window (100 s) starts over */
		{ 71 + 100 + 1, "192.0.2.0/24", "a@x.example", "v@y.example",
		  GREYLIST_NEW, 60 },
	};
	struct greylist *g = open_store(60, 100, 0);
	time_t base = 1700000000;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		uint64_t wait = 99;

		assert_int_equal(check(g, steps[i].net, steps[i].s,
		    steps[i].r, base + steps[i].t, &wait), steps[i].v);
		assert_int_equal(wait, steps[i].wait);
	}
	greylist_close(g);
}

static void
test_auto_whitelist(void **state)
{
	struct greylist *g = open_store(60, 1000, 2);
	time_t t = 1700000000;

	assert_int_equal(check(g, "192.0.2.0/24", "a@x", "u@y", t, NULL),
	    GREYLIST_NEW);
	assert_int_equal(check(g, "192.0.2.0/24", "a@x", "u@y", t + 61, NULL),
	    GREYLIST_PASS);
	/* a second pass of the same triplet does not count again */
	assert_int_equal(check(g, "192.0.2.0/24", "a@x", "u@y", t + 62, NULL),
	    GREYLIST_PASS);
	assert_int_equal(check(g, "192.0.2.0/24", "b@x", "u@y", t + 63, NULL),
	    GREYLIST_NEW);
	assert_int_equal(check(g, "192.0.2.0/24", "b@x", "u@y", t + 130,
	    NULL), GREYLIST_PASS);
	/* two passes: the network is through */
	assert_int_equal(check(g, "192.0.2.0/24", "c@x", "u@y", t + 131,
	    NULL), GREYLIST_WHITELISTED);
	assert_int_equal(check(g, "198.51.100.0/24", "c@x", "u@y", t + 131,
	    NULL), GREYLIST_NEW);
	greylist_close(g);
	/* It is on disk: a new handle (another smtpd) sees it. */
	g = open_store(60, 1000, 2);
	assert_int_equal(check(g, "192.0.2.0/24", "d@x", "u@y", t + 200,
	    NULL), GREYLIST_WHITELISTED);
	greylist_close(g);
}

static void
test_expire(void **state)
{
	struct greylist *g = open_store(60, 100, 1);
	time_t t = 1700000000;
	size_t removed = 99;
	const char *error = NULL;

	check(g, "192.0.2.0/24", "a@x", "u@y", t, NULL);	/* never passes */
	check(g, "198.51.100.0/24", "a@x", "u@y", t, NULL);
	check(g, "198.51.100.0/24", "a@x", "u@y", t + 60, NULL); /* passes */
	assert_int_equal(greylist_expire(g, t + 50, &removed, &error), 0);
	assert_int_equal(removed, 0);
	/* after the window: the unpassed triplet goes */
	assert_int_equal(greylist_expire(g, t + 101, &removed, &error), 0);
	assert_int_equal(removed, 1);
	/* after max_age: the passed triplet and the network count go */
	assert_int_equal(greylist_expire(g, t + 60 + GREYLIST_MAX_AGE + 1,
	    &removed, &error), 0);
	assert_int_equal(removed, 2);
	greylist_close(g);
}

static void
test_long_keys(void **state)
{
	struct greylist *g = open_store(60, 100, 0);
	char s[2000], r[2000];

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	memcpy(r, s, sizeof(r));
	r[0] = 'b';
	assert_int_equal(check(g, "192.0.2.0/24", s, "u@y", 1000, NULL),
	    GREYLIST_NEW);
	assert_int_equal(check(g, "192.0.2.0/24", s, "u@y", 1070, NULL),
	    GREYLIST_PASS);
	assert_int_equal(check(g, "192.0.2.0/24", r, "u@y", 1070, NULL),
	    GREYLIST_NEW);
	greylist_close(g);
}

static void
test_open_fails(void **state)
{
	struct greylist_params p = { 60, 100, 0, 0 };
	const char *error = NULL;

	assert_null(greylist_open("/nonexistent-dir/x/greylist.lmdb", &p,
	    &error));
	assert_non_null(error);
	assert_non_null(strstr(error, "greylist_database "
	    "/nonexistent-dir/x/greylist.lmdb: "));
}

static void
test_client_net(void **state)
{
	unsigned char a[16];
	char out[64];

	memset(a, 0, sizeof(a));
	inet_pton(AF_INET, "192.0.2.77", a);
	assert_int_equal(greylist_client_net(AF_INET, a, out, sizeof(out)), 0);
	assert_string_equal(out, "192.0.2.0/24");
	inet_pton(AF_INET6, "2001:db8:1:2:3:4:5:6", a);
	assert_int_equal(greylist_client_net(AF_INET6, a, out, sizeof(out)),
	    0);
	assert_string_equal(out, "2001:db8:1:2::/64");
	assert_int_equal(greylist_client_net(AF_INET6, a, out, 8), -1);
	assert_int_equal(greylist_client_net(99, a, out, sizeof(out)), -1);
	assert_string_equal(greylist_verdict_name(GREYLIST_EARLY), "early");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_whitelist, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_keys, setup,
		    teardown),
		cmocka_unit_test(test_open_fails),
		cmocka_unit_test(test_client_net),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
