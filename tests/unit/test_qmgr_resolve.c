/* Unit tests for src/global/resolve (qmgr's routing) and backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "backoff.h"
#include "resolve.h"

static const struct resolve_params base = {
	.mydestination = "mail.example.test, localhost.example.test, localhost",
	.relay_domains = "relayed.example",
	.transport_maps = "",
	.relayhost = "",
	.local_transport = "local:mail.example.test",
	.default_transport = "smtp",
	.relay_transport = "relay",
};

struct route_case {
	const char *addr;
	enum resolve_kind kind;
	const char *transport;
	const char *nexthop;
	const char *dsn;	/* BOUNCE/DEFER */
	const char *text;
};

static void
check_cases(struct resolve *r, const struct route_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct resolve_result res;
		const char *error = NULL;

		if (resolve_addr(r, c[i].addr, &res, &error) != 0)
			fail_msg("%s: %s", c[i].addr, error);
		if (res.kind != c[i].kind || strcmp(res.transport,
		    c[i].transport) != 0 || strcmp(res.nexthop,
		    c[i].nexthop) != 0)
			fail_msg("%s: got %d %s:%s, want %d %s:%s", c[i].addr,
			    res.kind, res.transport, res.nexthop, c[i].kind,
			    c[i].transport, c[i].nexthop);
		if (c[i].dsn != NULL) {
			assert_string_equal(res.dsn, c[i].dsn);
			assert_string_equal(res.text, c[i].text);
		}
	}
}

static void
test_classes(void **state)
{
	static const struct route_case cases[] = {
		{ "bob@mail.example.test", RESOLVE_DELIVER, "local",
		    "mail.example.test", NULL, NULL },
		{ "bob@MAIL.Example.TEST", RESOLVE_DELIVER, "local",
		    "mail.example.test", NULL, NULL },
		{ "root@localhost", RESOLVE_DELIVER, "local",
		    "mail.example.test", NULL, NULL },
		{ "root@localhost.", RESOLVE_DELIVER, "local",
		    "mail.example.test", NULL, NULL },
		{ "postmaster", RESOLVE_DELIVER, "local",
		    "mail.example.test", NULL, NULL },
		{ "a@Remote.Example", RESOLVE_DELIVER, "smtp",
		    "remote.example", NULL, NULL },
		{ "a@sub.mail.example.test", RESOLVE_DELIVER, "smtp",
		    "sub.mail.example.test", NULL, NULL },
		{ "a@relayed.example", RESOLVE_DELIVER, "relay",
		    "relayed.example", NULL, NULL },
		{ "\"odd@user\"@remote.example", RESOLVE_DELIVER, "smtp",
		    "remote.example", NULL, NULL },
	};
	const char *error = NULL;
	struct resolve *r = resolve_new(&base, &error);

	assert_non_null(r);
	check_cases(r, cases, sizeof(cases) / sizeof(cases[0]));
	resolve_free(r);
}

static void
test_relayhost(void **state)
{
	static const struct route_case cases[] = {
		{ "a@remote.example", RESOLVE_DELIVER, "smtp",
		    "[127.0.0.1]:2525", NULL, NULL },
		{ "bob@mail.example.test", RESOLVE_DELIVER, "local",
		    "mail.example.test", NULL, NULL },
		/* relay_domains keep their own transport and next hop. */
		{ "a@relayed.example", RESOLVE_DELIVER, "relay",
		    "relayed.example", NULL, NULL },
	};
	struct resolve_params p = base;
	const char *error = NULL;
	struct resolve *r;

	p.relayhost = "[127.0.0.1]:2525";
	r = resolve_new(&p, &error);
	assert_non_null(r);
	check_cases(r, cases, sizeof(cases) / sizeof(cases[0]));
	resolve_free(r);
}

static void
test_transport_maps(void **state)
{
	static const struct route_case cases[] = {
		{ "x@special.example", RESOLVE_DELIVER, "relay",
		    "[127.0.0.1]:2626", NULL, NULL },
		{ "y@gone.example", RESOLVE_BOUNCE, "error",
		    "5.1.2 this domain is gone", "5.1.2",
		    "this domain is gone" },
		{ "y@plain-error.example", RESOLVE_BOUNCE, "error",
		    "no mail here", "5.0.0", "no mail here" },
		{ "y@bare-error.example", RESOLVE_BOUNCE, "error", "",
		    "5.0.0", "user unknown" },
		{ "w@wait.example", RESOLVE_DEFER, "retry", "4.4.9 not today",
		    "4.4.9", "not today" },
		/* The full address before the domain. */
		{ "bob@mail.example.test", RESOLVE_DELIVER, "smtp",
		    "[127.0.0.1]:2727", NULL, NULL },
		{ "alice@mail.example.test", RESOLVE_DELIVER, "local",
		    "mail.example.test", NULL, NULL },
		/* .parent matches subdomains, not the domain itself. */
		{ "z@deep.sub.example", RESOLVE_DELIVER, "local",
		    "mail.example.test", NULL, NULL },
		{ "z@sub.example", RESOLVE_DELIVER, "smtp", "mx.sub.example",
		    NULL, NULL },
		/* An empty next hop keeps the class's. */
		{ "q@keep.example", RESOLVE_DELIVER, "relay", "keep.example",
		    NULL, NULL },
		/* An empty transport keeps the class's. */
		{ "q@hop.example", RESOLVE_DELIVER, "smtp",
		    "[10.0.0.1]", NULL, NULL },
		/* Leaving local without a next hop: the domain. */
		{ "q@localhost", RESOLVE_DELIVER, "smtp", "localhost", NULL,
		    NULL },
	};
	char dir[] = "/tmp/test_resolve.XXXXXX";
	char path[256], spec[300];
	struct resolve_params p = base;
	const char *error = NULL;
	struct resolve *r;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/transport", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("special.example  relay:[127.0.0.1]:2626\n"
	    "gone.example     error:5.1.2 this domain is gone\n"
	    "plain-error.example error:no mail here\n"
	    "bare-error.example error:\n"
	    "wait.example     retry:4.4.9 not today\n"
	    "bob@mail.example.test  smtp:[127.0.0.1]:2727\n"
	    ".sub.example     local:\n"
	    "sub.example      smtp:mx.sub.example\n"
	    "keep.example     relay\n"
	    "hop.example      :[10.0.0.1]\n"
	    "localhost        smtp\n", f);
	fclose(f);
	snprintf(spec, sizeof(spec), "texthash:%s", path);
	p.transport_maps = spec;
	r = resolve_new(&p, &error);
	if (r == NULL)
		fail_msg("%s", error);
	check_cases(r, cases, sizeof(cases) / sizeof(cases[0]));
	resolve_free(r);
	unlink(path);
	rmdir(dir);
}

static void
test_wildcard(void **state)
{
	/* "*" matches every address, local ones too (as in Postfix). */
	static const struct route_case cases[] = {
		{ "q@anything.example", RESOLVE_DELIVER, "smtp",
		    "[192.0.2.9]:25", NULL, NULL },
		{ "alice@mail.example.test", RESOLVE_DELIVER, "smtp",
		    "[192.0.2.9]:25", NULL, NULL },
		{ "x@special.example", RESOLVE_DELIVER, "relay",
		    "special.example", NULL, NULL },
	};
	struct resolve_params p = base;
	const char *error = NULL;
	struct resolve *r;

	p.transport_maps = "inline:{ *=smtp:[192.0.2.9]:25, "
	    "special.example=relay }";
	r = resolve_new(&p, &error);
	if (r == NULL)
		fail_msg("%s", error);
	check_cases(r, cases, sizeof(cases) / sizeof(cases[0]));
	resolve_free(r);
}

static void
test_bad_values(void **state)
{
	char dir[] = "/tmp/test_resolve.XXXXXX";
	char path[256], spec[300];
	struct resolve_params p = base;
	struct resolve_result res;
	const char *error = NULL;
	struct resolve *r;
	FILE *f;

	/* A transport name that would escape private/. */
	p.default_transport = "../smtp";
	assert_null(resolve_new(&p, &error));
	assert_string_equal(error, "bad transport name in \"../smtp\"");
	p = base;
	p.local_transport = ":mail.example.test";
	assert_null(resolve_new(&p, &error));
	assert_string_equal(error,
	    "no transport name in \":mail.example.test\"");
	p = base;
	p.transport_maps = "hash:/nonexistent/transport";
	assert_null(resolve_new(&p, &error));
	assert_non_null(strstr(error, "/nonexistent/transport"));

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/transport", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("evil.example  ../../bin/sh:x\n"
	    "upper.example SMTP:x\n", f);
	fclose(f);
	snprintf(spec, sizeof(spec), "texthash:%s", path);
	p = base;
	p.transport_maps = spec;
	r = resolve_new(&p, &error);
	assert_non_null(r);
	assert_int_equal(resolve_addr(r, "a@evil.example", &res, &error), -1);
	assert_string_equal(error, "bad transport name in \"../../bin/sh:x\"");
	assert_int_equal(resolve_addr(r, "a@upper.example", &res, &error),
	    -1);
	assert_int_equal(resolve_addr(r, "a@fine.example", &res, &error), 0);
	assert_string_equal(res.transport, "smtp");
	resolve_free(r);
	unlink(path);
	rmdir(dir);
}

struct backoff_case {
	time_t now, arrival;
	uint64_t min, max;
	time_t want;
};

static void
test_backoff_next(void **state)
{
	static const struct backoff_case cases[] = {
		/* Young message: the minimum. */
		{ 1000, 990, 300, 4000, 1300 },
		/* Age in between: the age (waits double). */
		{ 10000, 9000, 300, 4000, 11000 },
		/* Old: the maximum. */
		{ 100000, 0, 300, 4000, 104000 },
		/* Arrival in the future: age 0. */
		{ 1000, 5000, 60, 4000, 1060 },
		/* max below min: min. */
		{ 1000, 0, 500, 100, 1500 },
		/* Zero backoff never gives "now". */
		{ 1000, 1000, 0, 0, 1001 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct backoff_case *c = &cases[i];

		assert_int_equal(backoff_next(c->now, c->arrival, c->min,
		    c->max), c->want);
	}
	/* Huge values do not overflow. */
	assert_true(backoff_next(1000, 0, UINT64_MAX, UINT64_MAX) > 1000);
}

static void
test_backoff_expiry_and_warning(void **state)
{
	assert_false(backoff_expired(1000, 900, 101));
	assert_true(backoff_expired(1000, 900, 100));
	assert_true(backoff_expired(1000, 1000, 0));
	assert_false(backoff_expired(1000, 2000, 10));
	assert_false(backoff_warning_due(5000, 0, 0));
	assert_false(backoff_warning_due(1000, 500, 501));
	assert_true(backoff_warning_due(1000, 500, 500));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_relayhost),
		cmocka_unit_test(test_transport_maps),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_backoff_next),
		cmocka_unit_test(test_backoff_expiry_and_warning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
