/* Unit tests for src/global/smtp_client (the pure parts of the smtp agent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "buf.h"
#include "dns.h"
#include "smtp_client.h"
#include "smtp_cmd.h"

static void
test_nexthop(void **state)
{
	static const struct {
		const char *in, *host;
		unsigned port;
		bool mx, literal;
	} good[] = {
		{ "example.org", "example.org", 25, true, false },
		{ "example.org:2525", "example.org", 2525, true, false },
		{ "[mail.example.org]", "mail.example.org", 25, false, false },
		{ "[mail.example.org]:587", "mail.example.org", 587, false,
		    false },
		{ "[127.0.0.1]:10025", "127.0.0.1", 10025, false, true },
		{ "127.0.0.1", "127.0.0.1", 25, false, true },
		{ "[IPv6:::1]:26", "::1", 26, false, true },
		{ "[::1]", "::1", 25, false, true },
	};
	static const struct {
		const char *in, *err;
	} bad[] = {
		{ "", "empty host" },
		{ "[]", "empty host" },
		{ ":25", "empty host" },
		{ "[host", "missing ']'" },
		{ "[host]x", "garbage" },
		{ "host:0", "bad port" },
		{ "host:99999", "bad port" },
		{ "[host]:", "bad port" },
	};
	struct smtp_nexthop nh;
	const char *err;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(smtp_nexthop_parse(good[i].in, 25, &nh, &err),
		    0);
		assert_string_equal(nh.host, good[i].host);
		assert_int_equal(nh.port, good[i].port);
		assert_int_equal(nh.mx, good[i].mx);
		assert_int_equal(nh.literal, good[i].literal);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(smtp_nexthop_parse(bad[i].in, 25, &nh, &err),
		    -1);
		assert_non_null(strstr(err, bad[i].err));
	}
	{
		char longhost[400];

		memset(longhost, 'a', sizeof(longhost) - 1);
		longhost[sizeof(longhost) - 1] = '\0';
		assert_int_equal(smtp_nexthop_parse(longhost, 25, &nh, &err),
		    -1);
		assert_non_null(strstr(err, "too long"));
	}
}

static size_t
rnd_last(size_t n)
{
	return n - 1;
}

static size_t
rnd_first(size_t n)
{
	return 0;
}

static void
mx_fill(struct dns_rr *rr, const unsigned *prefs, const char *const *names,
    size_t n)
{
	memset(rr, 0, n * sizeof(*rr));
	for (size_t i = 0; i < n; i++) {
		rr[i].type = DNS_T_MX;
		rr[i].pref = prefs[i];
		rr[i].host = (char *)names[i];
	}
}

static void
test_mx_sort(void **state)
{
	static const unsigned prefs[] = { 20, 10, 10, 5, 20, 10 };
	static const char *const names[] = { "d", "a", "b", "z", "e", "c" };
	struct dns_rr rr[6];
	bool seen_first[3] = { false, false, false };

	mx_fill(rr, prefs, names, 6);
	smtp_mx_sort(rr, 6, rnd_last);
	/* Preference order holds whatever the random choices. */
	assert_string_equal(rr[0].host, "z");
	for (size_t i = 1; i < 6; i++)
		assert_true(rr[i - 1].pref <= rr[i].pref);
	mx_fill(rr, prefs, names, 6);
	smtp_mx_sort(rr, 6, rnd_first);
	assert_string_equal(rr[0].host, "z");
	assert_int_equal(rr[1].pref, 10);
	assert_int_equal(rr[4].pref, 20);
	/* With real randomness every preference-10 host comes first sometimes. */
	for (int round = 0; round < 200; round++) {
		mx_fill(rr, prefs, names, 6);
		smtp_mx_sort(rr, 6, NULL);
		assert_string_equal(rr[0].host, "z");
		seen_first[rr[1].host[0] - 'a'] = true;
	}
	assert_true(seen_first[0] && seen_first[1] && seen_first[2]);
	smtp_mx_sort(rr, 0, NULL);
}

static void
reply_of(struct smtp_reply *r, const char *const *lines)
{
	const char *err;

	smtp_reply_init(r, 0, 0);
	for (; *lines; lines++)
		assert_true(smtp_reply_parse(r, *lines, strlen(*lines),
		    &err) >= 0);
	assert_true(r->complete);
}

static void
test_reply_dsn(void **state)
{
	static const struct {
		const char *lines[3];
		const char *dsn, *oneline;
	} cases[] = {
		{ { "250 2.0.0 Ok: queued as X", NULL }, "2.0.0",
		    "250 2.0.0 Ok: queued as X" },
		{ { "450 4.2.0 <a@b>: Recipient address rejected", NULL },
		    "4.2.0", "450 4.2.0 <a@b>: Recipient address rejected" },
		{ { "550 No such user", NULL }, "5.0.0", "550 No such user" },
		{ { "421 Service not available", NULL }, "4.0.0",
		    "421 Service not available" },
		/* An enhanced code of the wrong class is not believed. */
		{ { "550 4.1.1 confused", NULL }, "5.0.0", "550 4.1.1 confused" },
		{ { "552-5.3.4 Message too big", "552 5.3.4 for us", NULL },
		    "5.3.4", "552 5.3.4 Message too big for us" },
		{ { "354 go ahead", NULL }, "5.5.0", "354 go ahead" },
	};
	struct smtp_reply r;
	char dsn[16];
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reply_of(&r, cases[i].lines);
		smtp_reply_dsn(&r, dsn);
		assert_string_equal(dsn, cases[i].dsn);
		buf_reset(&b);
		smtp_reply_oneline(&r, 200, &b);
		assert_string_equal(b.data, cases[i].oneline);
		smtp_reply_release(&r);
	}
	{
		const char *l[] = { "550 5.7.1 a\tb very long text here", NULL };

		reply_of(&r, l);
		buf_reset(&b);
		smtp_reply_oneline(&r, 20, &b);
		assert_string_equal(b.data, "550 5.7.1 a?b ver...");
		smtp_reply_release(&r);
	}
	buf_release(&b);
}

static void
test_dot_encode(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", ".\r\n" },
		{ "a\r\n", "a\r\n.\r\n" },
		{ "a", "a\r\n.\r\n" },
		{ ".\r\n", "..\r\n.\r\n" },
		{ "a\r\n.b\r\n..\r\n", "a\r\n..b\r\n...\r\n.\r\n" },
		{ "bare\nlf\n", "bare\r\nlf\r\n.\r\n" },
		{ "bare\rcr", "bare\r\ncr\r\n.\r\n" },
		{ "x\n.\n", "x\r\n..\r\n.\r\n" },
		{ "end\r", "end\r\n.\r\n" },
		{ "a\r\r\n", "a\r\n\r\n.\r\n" },
		{ "\r\n.\r\n", "\r\n..\r\n.\r\n" },
	};
	struct smtp_dot d;
	struct buf out, small;

	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);

		/* Whole, and byte by byte: chunk borders change nothing. */
		for (int split = 0; split < 2; split++) {
			buf_reset(&out);
			smtp_dot_init(&d);
			if (split) {
				for (size_t k = 0; k < len; k++)
					assert_int_equal(smtp_dot_encode(&d,
					    cases[i].in + k, 1, &out), 0);
			} else {
				assert_int_equal(smtp_dot_encode(&d,
				    cases[i].in, len, &out), 0);
			}
			assert_int_equal(smtp_dot_finish(&d, &out), 0);
			assert_string_equal(out.data, cases[i].out);
		}
	}
	buf_release(&out);
	buf_init(&small, 4);
	smtp_dot_init(&d);
	assert_int_equal(smtp_dot_encode(&d, "abcdef", 6, &small), -1);
	buf_release(&small);
}

static void
test_tls_policy(void **state)
{
	enum smtp_tls_level level;
	struct buf match;
	const char *err;

	buf_init(&match, 0);
	assert_int_equal(smtp_tls_level_parse("may", &level, &err), 0);
	assert_int_equal(level, SMTP_TLS_MAY);
	assert_int_equal(smtp_tls_level_parse("VERIFY", &level, &err), 0);
	assert_int_equal(level, SMTP_TLS_VERIFY);
	assert_int_equal(smtp_tls_level_parse("", &level, &err), 0);
	assert_int_equal(level, SMTP_TLS_NONE);
	assert_int_equal(smtp_tls_level_parse("maybe", &level, &err), -1);
	assert_non_null(strstr(err, "unknown TLS security level \"maybe\""));
	assert_int_equal(smtp_tls_policy_parse("encrypt", &level, &match,
	    &err), 0);
	assert_int_equal(level, SMTP_TLS_ENCRYPT);
	assert_int_equal(smtp_tls_policy_parse("verify match=a.test:b.test "
	    "protocols=!SSLv3", &level, &match, &err), 0);
	assert_int_equal(level, SMTP_TLS_VERIFY);
	assert_string_equal(match.data, "a.test:b.test");
	assert_int_equal(smtp_tls_policy_parse("  ", &level, &match, &err),
	    -1);
	assert_string_equal(err, "empty TLS policy");
	assert_int_equal(smtp_tls_policy_parse("may junk", &level, &match,
	    &err), -1);
	assert_non_null(strstr(err, "expected name=value"));
	assert_string_equal(smtp_tls_level_name(SMTP_TLS_ENCRYPT), "encrypt");
	assert_true(smtp_is_utf8("j\xc3\xb6rg@example.org"));
	assert_false(smtp_is_utf8("joerg@example.org"));
	buf_release(&match);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nexthop),
		cmocka_unit_test(test_mx_sort),
		cmocka_unit_test(test_reply_dsn),
		cmocka_unit_test(test_dot_encode),
		cmocka_unit_test(test_tls_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
