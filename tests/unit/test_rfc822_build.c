/* Unit tests for src/global/rfc822_build: the headers cleanup adds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "buf.h"
#include "rfc822_build.h"

/* 2025-02-04 10:11:12 UTC */
#define WHEN ((time_t)1738663872)

static int
setup_utc(void **state)
{
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static void
test_date(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(rfc822_build_date(&b, WHEN), 0);
	assert_string_equal(b.data, "Tue, 4 Feb 2025 10:11:12 +0000 (UTC)");
	buf_release(&b);

	setenv("TZ", "CET-1", 1);
	tzset();
	buf_init(&b, 0);
	assert_int_equal(rfc822_build_date(&b, WHEN), 0);
	assert_string_equal(b.data, "Tue, 4 Feb 2025 11:11:12 +0100 (CET)");
	buf_release(&b);
	setenv("TZ", "UTC", 1);
	tzset();
}

static void
test_received(void **state)
{
	static const struct {
		struct rfc822_received r;
		const char *want;
	} cases[] = {
		{ { false, -1, "client.example", "mail.example", "192.0.2.1",
		    "ESMTPS", "mx.test", "ABC", "u@test", WHEN },
		  "Received: from client.example (mail.example [192.0.2.1])\r\n"
		  "\tby mx.test (ulak) with ESMTPS id ABC\r\n"
		  "\tfor <u@test>; Tue, 4 Feb 2025 10:11:12 +0000 (UTC)\r\n" },
		{ { false, -1, NULL, NULL, "::1", NULL, "mx.test", "ABC", NULL,
		    WHEN },
		  "Received: from unknown (unknown [IPv6:::1])\r\n"
		  "\tby mx.test (ulak) with SMTP id ABC; "
		  "Tue, 4 Feb 2025 10:11:12 +0000 (UTC)\r\n" },
		/* A hostile HELO cannot break out of the header. */
		{ { false, -1, "evil)\r\nX-Bad: 1", "unknown", "127.0.0.1",
		    "ESMTP", "mx.test", "ABC", NULL, WHEN },
		  "Received: from evil???X-Bad: 1 (unknown [127.0.0.1])\r\n"
		  "\tby mx.test (ulak) with ESMTP id ABC; "
		  "Tue, 4 Feb 2025 10:11:12 +0000 (UTC)\r\n" },
		{ { true, 1000, NULL, NULL, NULL, NULL, "mx.test", "ABC", NULL,
		    WHEN },
		  "Received: by mx.test (ulak, from userid 1000)\r\n"
		  "\tid ABC; Tue, 4 Feb 2025 10:11:12 +0000 (UTC)\r\n" },
		{ { true, 0, NULL, NULL, NULL, NULL, "mx.test", "ABC", "a@b",
		    WHEN },
		  "Received: by mx.test (ulak, from userid 0)\r\n"
		  "\tid ABC; Tue, 4 Feb 2025 10:11:12 +0000 (UTC)\r\n" },
	};
	struct buf b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_init(&b, 0);
		assert_int_equal(rfc822_build_received(&b, &cases[i].r), 0);
		assert_string_equal(b.data, cases[i].want);
		buf_release(&b);
	}
	/* Over the maximum: -1 and nothing appended. */
	buf_init(&b, 20);
	buf_append_str(&b, "x");
	assert_int_equal(rfc822_build_received(&b, &cases[0].r), -1);
	assert_string_equal(b.data, "x");
	buf_release(&b);
}

static void
test_from(void **state)
{
	static const struct {
		const char *addr, *name, *want;
	} cases[] = {
		{ "joe@example.com", NULL, "From: joe@example.com\r\n" },
		{ "joe@example.com", "", "From: joe@example.com\r\n" },
		{ "joe@example.com", "Joe User",
		  "From: Joe User <joe@example.com>\r\n" },
		{ "joe@example.com", "User, Joe \"J\"",
		  "From: \"User, Joe \\\"J\\\"\" <joe@example.com>\r\n" },
		{ "joe@example.com", "J\xc3\xb6rg",
		  "From: =?UTF-8?B?SsO2cmc=?= <joe@example.com>\r\n" },
		{ "a b@example.com", NULL, "From: \"a b\"@example.com\r\n" },
		{ "", NULL, "From: MAILER-DAEMON\r\n" },
		{ "x@y", "bad\r\nX-Evil: 1",
		  "From: \"bad  X-Evil: 1\" <x@y>\r\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;

		buf_init(&b, 0);
		assert_int_equal(rfc822_build_from(&b, cases[i].addr,
		    cases[i].name), 0);
		assert_string_equal(b.data, cases[i].want);
		buf_release(&b);
	}
}

static void
test_qualify_addr(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_true(rfc822_qualify_addr(&b, "root", "example.com"));
	assert_string_equal(b.data, "root@example.com");
	buf_reset(&b);
	assert_false(rfc822_qualify_addr(&b, "root@x", "example.com"));
	assert_string_equal(b.data, "root@x");
	buf_reset(&b);
	assert_false(rfc822_qualify_addr(&b, "", "example.com"));
	assert_string_equal(b.data, "");
	buf_release(&b);
}

static void
test_qualify_header(void **state)
{
	static const struct {
		const char *in, *want;
		int count;
	} cases[] = {
		{ "root", "root@ex.org", 1 },
		{ " root ", " root@ex.org ", 1 },
		{ "root, joe@x.y", "root@ex.org, joe@x.y", 1 },
		{ "Root User <root>", "Root User <root@ex.org>", 1 },
		{ "\"Doe, John\" <john>, jane (Jane D.)",
		  "\"Doe, John\" <john@ex.org>, jane@ex.org (Jane D.)", 2 },
		{ "team: a, b@c;", "team: a@ex.org, b@c;", 1 },
		{ "undisclosed-recipients:;", "undisclosed-recipients:;", 0 },
		{ "a@b.c", "a@b.c", 0 },
		{ "<>", "<>", 0 },
		{ "\"a b\"", "\"a b\"@ex.org", 1 },
		{ "x@[127.0.0.1]", "x@[127.0.0.1]", 0 },
		{ "John Doe", "John Doe", 0 },
		{ "first.last", "first.last@ex.org", 1 },
		{ "<@r1,@r2:u@h>", "<@r1,@r2:u@h>", 0 },
		{ "a,\r\n\tb", "a@ex.org,\r\n\tb@ex.org", 2 },
		{ "", "", 0 },
		{ "(only a comment)", "(only a comment)", 0 },
		{ "<unterminated", "<unterminated@ex.org", 1 },
		{ "\"unterminated", "\"unterminated@ex.org", 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;

		buf_init(&b, 0);
		assert_int_equal(rfc822_qualify_header(&b, cases[i].in,
		    strlen(cases[i].in), "ex.org"), cases[i].count);
		assert_string_equal(b.data, cases[i].want);
		buf_release(&b);
	}
}

static void
test_header_names(void **state)
{
	assert_int_equal(rfc822_header_name_len("Subject: x", 10), 7);
	assert_int_equal(rfc822_header_name_len("Subject : x", 11), 7);
	assert_int_equal(rfc822_header_name_len("X-A:", 4), 3);
	assert_int_equal(rfc822_header_name_len("no colon here", 13), 0);
	assert_int_equal(rfc822_header_name_len(": empty", 7), 0);
	assert_int_equal(rfc822_header_name_len("two words: x", 12), 0);
	assert_int_equal(rfc822_header_name_len("\tcontinued", 10), 0);
	assert_true(rfc822_is_address_header("To", 2));
	assert_true(rfc822_is_address_header("RESENT-CC", 9));
	assert_true(rfc822_is_address_header("from", 4));
	assert_false(rfc822_is_address_header("Subject", 7));
	assert_false(rfc822_is_address_header("T", 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_received),
		cmocka_unit_test(test_from),
		cmocka_unit_test(test_qualify_addr),
		cmocka_unit_test(test_qualify_header),
		cmocka_unit_test(test_header_names),
	};

	return cmocka_run_group_tests(tests, setup_utc, NULL);
}
