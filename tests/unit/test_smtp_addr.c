/* Unit tests for src/global/smtp_addr: envelope paths and header lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "smtp_addr.h"

#define S SMTP_ADDR_SENDER
#define U SMTP_ADDR_SMTPUTF8
#define L SMTP_ADDR_LENIENT
#define N SMTP_ADDR_NODOMAIN

#define BAD_FROM "501 5.1.7 Bad sender address syntax"
#define BAD_RCPT "501 5.1.3 Bad recipient address syntax"
#define NEED_UTF8 "553 5.6.7 Must declare SMTPUTF8 to send unicode address"

struct path_case {
	const char *in;
	unsigned flags;
	/* On success: the internal address, local part, lower-case domain. */
	const char *addr;
	const char *local;
	const char *domain_lower;
	/* On failure: the reply and the reason. */
	const char *reply;
	const char *reason;
};

static const struct path_case path_cases[] = {
	/* good */
	{ "<user@example.com>", S, "user@example.com", "user", "example.com", NULL, NULL },
	{ "<user@example.com>", 0, "user@example.com", "user", "example.com", NULL, NULL },
	{ "<User.Name+tag@Example.COM>", 0, "User.Name+tag@Example.COM",
	  "User.Name+tag", "example.com", NULL, NULL },
	{ "<>", S, "", "", "", NULL, NULL },
	{ "<a@b>", 0, "a@b", "a", "b", NULL, NULL },
	{ "<!#$%&'*+-/=?^_`{|}~@x.y>", 0, "!#$%&'*+-/=?^_`{|}~@x.y",
	  "!#$%&'*+-/=?^_`{|}~", "x.y", NULL, NULL },
	{ "<\"a b\"@x.org>", 0, "a b@x.org", "a b", "x.org", NULL, NULL },
	{ "<\"abc\"@x.org>", 0, "abc@x.org", "abc", "x.org", NULL, NULL },
	{ "<\"a\\\"b\\\\c\"@x.org>", 0, "a\"b\\c@x.org", "a\"b\\c", "x.org", NULL, NULL },
	{ "<\"\"@x.org>", 0, "@x.org", "", "x.org", NULL, NULL },
	{ "<\"user@other\"@local.test>", 0, "user@other@local.test",
	  "user@other", "local.test", NULL, NULL },
	{ "<@a.example,@b.example:user@c.example>", 0, "user@c.example",
	  "user", "c.example", NULL, NULL },
	{ "<@a.example:user@c.example>", S, "user@c.example", "user",
	  "c.example", NULL, NULL },
	{ "<user@[192.0.2.1]>", 0, "user@[192.0.2.1]", "user", "[192.0.2.1]", NULL, NULL },
	{ "<user@[IPv6:2001:db8::1]>", 0, "user@[IPv6:2001:db8::1]", "user",
	  "[ipv6:2001:db8::1]", NULL, NULL },
	{ "<user@[ipv6:::1]>", 0, "user@[ipv6:::1]", "user", "[ipv6:::1]", NULL, NULL },
	{ "<Postmaster>", 0, "Postmaster", "Postmaster", "", NULL, NULL },
	{ "<postmaster>", 0, "postmaster", "postmaster", "", NULL, NULL },
	{ "<user>", N, "user", "user", "", NULL, NULL },
	{ "<user>", S | N, "user", "user", "", NULL, NULL },
	{ "user@example.com", L, "user@example.com", "user", "example.com", NULL, NULL },
	{ "user@example.com", S | L, "user@example.com", "user", "example.com", NULL, NULL },
	{ "<user@host_name.example>", 0, "user@host_name.example", "user",
	  "host_name.example", NULL, NULL },
	{ "<user@a-b.c-d.example>", 0, "user@a-b.c-d.example", "user",
	  "a-b.c-d.example", NULL, NULL },
	{ "<user%other@local>", 0, "user%other@local", "user%other", "local", NULL, NULL },
	{ "<other!user@local>", 0, "other!user@local", "other!user", "local", NULL, NULL },
	{ "<\xc3\xbcser@b\xc3\xbc\x63her.example>", U,
	  "\xc3\xbcser@b\xc3\xbc\x63her.example", "\xc3\xbcser",
	  "b\xc3\xbc\x63her.example", NULL, NULL },
	{ "<\"\xe2\x82\xac x\"@x>", U, "\xe2\x82\xac x@x", "\xe2\x82\xac x", "x", NULL, NULL },
	{ "<1234567890123456789012345678901234567890123456789012345678901234@x>",
	  0, "1234567890123456789012345678901234567890123456789012345678901234@x",
	  "1234567890123456789012345678901234567890123456789012345678901234",
	  "x", NULL, NULL },

	/* bad: brackets and emptiness */
	{ "<>", 0, NULL, NULL, NULL, BAD_RCPT, "empty address" },
	{ "", S, NULL, NULL, NULL, BAD_FROM, "missing '<'" },
	{ "", S | L, NULL, NULL, NULL, BAD_FROM, "empty address" },
	{ "user@example.com", S, NULL, NULL, NULL, BAD_FROM, "missing '<'" },
	{ "user@example.com", 0, NULL, NULL, NULL, BAD_RCPT, "missing '<'" },
	{ "<user@example.com", 0, NULL, NULL, NULL, BAD_RCPT, "missing '>'" },
	{ "<", S, NULL, NULL, NULL, BAD_FROM, "missing '>'" },
	{ "<<a@b>>", 0, NULL, NULL, NULL, BAD_RCPT, "empty local part" },
	{ "<user>", 0, NULL, NULL, NULL, BAD_RCPT, "missing domain" },
	{ "<user>", S, NULL, NULL, NULL, BAD_FROM, "missing domain" },
	{ "<postmaster>", S, NULL, NULL, NULL, BAD_FROM, "missing domain" },
	{ "<@a.example:postmaster>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "missing domain" },
	/* found by fuzz_smtp_cmd: the internal form would be a@b */
	{ "<\"a@b\">", N, NULL, NULL, NULL, BAD_RCPT,
	  "'@' in local part of an address without domain" },
	{ "<\"aMTPUTF?8@ AU b(\">", S | N, NULL, NULL, NULL, BAD_FROM,
	  "'@' in local part of an address without domain" },
	/* bad: local part */
	{ "<@example.com>", 0, NULL, NULL, NULL, BAD_RCPT, "bad source route" },
	{ "<.user@x>", 0, NULL, NULL, NULL, BAD_RCPT, "empty atom in local part" },
	{ "<us..er@x>", 0, NULL, NULL, NULL, BAD_RCPT, "empty atom in local part" },
	{ "<user.@x>", 0, NULL, NULL, NULL, BAD_RCPT, "local part ends in '.'" },
	{ "<us er@x>", 0, NULL, NULL, NULL, BAD_RCPT, "bad character in local part" },
	{ "<us(er@x>", 0, NULL, NULL, NULL, BAD_RCPT, "bad character in local part" },
	{ "<user@other@local>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "bad character in domain" },
	{ "<\"abc@x>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "unterminated quoted local part" },
	{ "<\"a\tb\"@x>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "bad character in quoted local part" },
	{ "<\"a\\\x01\"@x>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "bad quoted pair in local part" },
	{ "<\"ab\"c@x>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "bad character in local part" },
	{ "<12345678901234567890123456789012345678901234567890123456789012345@x>",
	  0, NULL, NULL, NULL, BAD_RCPT, "local part longer than 64 octets" },
	{ "<\"123456789012345678901234567890123456789012345678901234567890123\"@x>",
	  0, NULL, NULL, NULL, BAD_RCPT, "local part longer than 64 octets" },
	/* bad: domain */
	{ "<user@>", 0, NULL, NULL, NULL, BAD_RCPT, "empty domain" },
	{ "<user@.x>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "empty domain label or label ends in '-'" },
	{ "<user@x..y>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "empty domain label or label ends in '-'" },
	{ "<user@x.>", 0, NULL, NULL, NULL, BAD_RCPT, "domain ends in '.' or '-'" },
	{ "<user@x->", 0, NULL, NULL, NULL, BAD_RCPT, "domain ends in '.' or '-'" },
	{ "<user@x-.y>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "empty domain label or label ends in '-'" },
	{ "<user@-x.y>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "domain label starts with '-'" },
	{ "<user@x y>", 0, NULL, NULL, NULL, BAD_RCPT, "bad character in domain" },
	{ "<user@a234567890123456789012345678901234567890123456789012345678901234.x>",
	  0, NULL, NULL, NULL, BAD_RCPT, "domain label longer than 63 octets" },
	{ "<user@[1.2.3]>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "bad IPv4 address literal" },
	{ "<user@[1.2.3.256]>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "bad IPv4 address literal" },
	{ "<user@[IPv6:2001:db8::g]>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "bad IPv6 address literal" },
	{ "<user@[x400:foo]>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "unsupported address literal" },
	{ "<user@[]>", 0, NULL, NULL, NULL, BAD_RCPT, "bad address literal" },
	{ "<user@[1.2.3.4>", 0, NULL, NULL, NULL, BAD_RCPT, "bad address literal" },
	{ "<@a.example,b.example:user@c>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "bad source route" },
	{ "<@a..example:user@c>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "empty domain label or label ends in '-'" },
	{ "<@a.example user@c>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "bad source route" },
	/* 8-bit */
	{ "<\xc3\xbcser@x>", 0, NULL, NULL, NULL, NEED_UTF8,
	  "non-ASCII address without SMTPUTF8" },
	{ "<\xc3\xbcser@x>", S, NULL, NULL, NULL, NEED_UTF8,
	  "non-ASCII address without SMTPUTF8" },
	{ "<user@b\xc3\xbc\x63her.example>", 0, NULL, NULL, NULL, NEED_UTF8,
	  "non-ASCII address without SMTPUTF8" },
	{ "<\xfcser@x>", 0, NULL, NULL, NULL, BAD_RCPT,
	  "malformed UTF-8 or 8-bit byte" },
	{ "<\xfcser@x>", U, NULL, NULL, NULL, BAD_RCPT,
	  "malformed UTF-8 or 8-bit byte" },
	{ "<\xc0\xafuser@x>", U, NULL, NULL, NULL, BAD_RCPT,
	  "malformed UTF-8 or 8-bit byte" },
	{ "<\xed\xa0\x80@x>", U, NULL, NULL, NULL, BAD_RCPT,
	  "malformed UTF-8 or 8-bit byte" },
	{ "<\xc3>", U, NULL, NULL, NULL, BAD_RCPT,
	  "malformed UTF-8 or 8-bit byte" },
	{ "<user@[\xc3\xbc]>", U, NULL, NULL, NULL, BAD_RCPT,
	  "bad IPv4 address literal" },
	{ "<\xe2\x80\xa8@x>", U, "\xe2\x80\xa8@x", "\xe2\x80\xa8", "x", NULL, NULL },
};

static void
test_path_table(void **state)
{
	size_t k;

	for (k = 0; k < sizeof(path_cases) / sizeof(path_cases[0]); k++) {
		const struct path_case *c = &path_cases[k];
		const struct smtp_status *status = NULL;
		const char *reason = NULL;
		struct smtp_addr a;
		int ret;

		ret = smtp_addr_parse_path(c->in, strlen(c->in), c->flags, &a,
		    &status, &reason);
		if (c->addr != NULL) {
			if (ret != 0)
				fail_msg("case %zu <%s>: %s", k, c->in, reason);
			assert_string_equal(a.addr, c->addr);
			assert_string_equal(a.localpart, c->local);
			assert_string_equal(a.domain_lower, c->domain_lower);
		} else {
			if (ret != -1)
				fail_msg("case %zu <%s> accepted", k, c->in);
			assert_non_null(status);
			assert_string_equal(status->reply, c->reply);
			if (strcmp(reason, c->reason) != 0)
				fail_msg("case %zu <%s>: reason '%s'", k, c->in,
				    reason);
		}
	}
}

static void
test_path_flags(void **state)
{
	const struct smtp_status *status;
	const char *reason;
	struct smtp_addr a;

	assert_int_equal(smtp_addr_parse_path("<>", 2, S, &a, &status,
	    &reason), 0);
	assert_true(a.is_null);
	assert_string_equal(a.addr, "");

	assert_int_equal(smtp_addr_parse_path("a@b", 3, L, &a, &status,
	    &reason), 0);
	assert_true(a.no_brackets);
	assert_false(a.had_route);

	assert_int_equal(smtp_addr_parse_path("<@r:a@B>", 8, 0, &a, &status,
	    &reason), 0);
	assert_true(a.had_route);
	assert_string_equal(a.domain, "B");
	assert_string_equal(a.domain_lower, "b");

	assert_int_equal(smtp_addr_parse_path("<\"x\"@[1.2.3.4]>", 15, 0, &a,
	    &status, &reason), 0);
	assert_true(a.quoted);
	assert_true(a.is_literal);
	assert_false(a.utf8);

	assert_int_equal(smtp_addr_parse_path("<\xc3\xa9@x>", 6, U, &a,
	    &status, &reason), 0);
	assert_true(a.utf8);
	assert_int_equal(status->code, 501);
	assert_string_equal(status->enhanced, "5.1.3");
	assert_string_equal(status->text, "Bad recipient address syntax");
}

static void
test_path_nul_and_length(void **state)
{
	const struct smtp_status *status;
	const char *reason;
	struct smtp_addr a;
	char big[400];

	assert_int_equal(smtp_addr_parse_path("<a\0b@x>", 7, 0, &a, &status,
	    &reason), -1);
	assert_string_equal(reason, "bad character in local part");
	assert_int_equal(smtp_addr_parse_path("<a@x\0>", 6, 0, &a, &status,
	    &reason), -1);
	assert_string_equal(reason, "bad character in domain");
	assert_int_equal(smtp_addr_parse_path("<\"a\0\"@x>", 8, 0, &a, &status,
	    &reason), -1);
	assert_int_equal(smtp_addr_parse_path("<a@[1.2.3.4\0]>", 14, 0, &a,
	    &status, &reason), -1);
	assert_string_equal(reason, "bad address literal");

	/* 256 octets is the limit (RFC 5321 4.5.3.1.3). */
	big[0] = '<';
	memcpy(big + 1, "u@", 2);
	for (size_t k = 3; k < 255; k++)
		big[k] = (k % 60 == 0) ? '.' : 'a';
	big[255] = '>';
	assert_int_equal(smtp_addr_parse_path(big, 256, 0, &a, &status,
	    &reason), 0);
	assert_int_equal(strlen(a.domain), 252);
	memmove(big + 2, big + 1, 255);
	big[1] = 'v';
	assert_int_equal(smtp_addr_parse_path(big, 257, 0, &a, &status,
	    &reason), -1);
	assert_string_equal(reason, "path longer than 256 octets");
	/* Without brackets too. */
	memset(big, 'a', sizeof(big));
	big[0] = 'u';
	big[1] = '@';
	for (size_t k = 50; k < 256; k += 50)
		big[k] = '.';
	assert_int_equal(smtp_addr_parse_path(big, 257, L, &a, &status,
	    &reason), -1);
	assert_string_equal(reason, "path longer than 256 octets");
	assert_int_equal(smtp_addr_parse_path(big, 256, L, &a, &status,
	    &reason), 0);
	assert_int_equal(strlen(a.domain), 254);
}

static void
test_routing(void **state)
{
	static const struct {
		const char *path;
		bool routing;
	} cases[] = {
		{ "<user@local>", false },
		{ "<user%other@local>", true },
		{ "<@local:user@other>", true },
		{ "<\"user@other\"@local>", true },
		{ "<other!user@local>", true },
		{ "<\"user other\"@local>", false },
		{ "<>", false },
	};
	const struct smtp_status *status;
	const char *reason;
	struct smtp_addr a;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		assert_int_equal(smtp_addr_parse_path(cases[k].path,
		    strlen(cases[k].path), S, &a, &status, &reason), 0);
		assert_int_equal(smtp_addr_has_routing(&a), cases[k].routing);
	}
	/* user@other@local is no address at all. */
	assert_int_equal(smtp_addr_parse_path("<user@other@local>", 18, 0, &a,
	    &status, &reason), -1);
	assert_true(smtp_addr_internal_has_routing("user@other@local"));
	assert_true(smtp_addr_internal_has_routing("user%other@local"));
	assert_true(smtp_addr_internal_has_routing("other!user@local"));
	assert_true(smtp_addr_internal_has_routing("a!b"));
	assert_false(smtp_addr_internal_has_routing("user@local"));
	assert_false(smtp_addr_internal_has_routing("user"));
	assert_false(smtp_addr_internal_has_routing("user@a%b"));
}

static void
test_quote(void **state)
{
	static const struct {
		const char *internal;
		const char *external;
	} cases[] = {
		{ "user@x", "user@x" },
		{ "a.b.c@x", "a.b.c@x" },
		{ "a b@x", "\"a b\"@x" },
		{ "user@other@local", "\"user@other\"@local" },
		{ "a\"b\\c@x", "\"a\\\"b\\\\c\"@x" },
		{ "@x", "\"\"@x" },
		{ ".a@x", "\".a\"@x" },
		{ "a.@x", "\"a.\"@x" },
		{ "a..b@x", "\"a..b\"@x" },
		{ "postmaster", "postmaster" },
		{ "\xc3\xbc@x", "\xc3\xbc@x" },
		{ "a(b)@x", "\"a(b)\"@x" },
	};
	struct buf b;
	struct smtp_addr a;
	const struct smtp_status *status;
	const char *reason;

	buf_init(&b, 0);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		buf_reset(&b);
		assert_int_equal(smtp_addr_externalize(cases[k].internal, &b), 0);
		assert_string_equal(b.data, cases[k].external);
	}
	/* Round trip: parse the external form, get the internal one back. */
	buf_reset(&b);
	buf_append_str(&b, "<");
	smtp_addr_externalize("a \"q\" b@x", &b);
	buf_append_str(&b, ">");
	assert_int_equal(smtp_addr_parse_path(b.data, b.len, 0, &a, &status,
	    &reason), 0);
	assert_string_equal(a.addr, "a \"q\" b@x");
	buf_release(&b);

	/* A buffer maximum is honoured and leaves the buffer unchanged. */
	buf_init(&b, 6);
	buf_append_str(&b, "ab");
	assert_int_equal(smtp_addr_quote_local("a b c", &b), -1);
	assert_string_equal(b.data, "ab");
	assert_int_equal(smtp_addr_externalize("abc@xyz", &b), -1);
	assert_string_equal(b.data, "ab");
	assert_int_equal(smtp_addr_quote_local("abcd", &b), 0);
	assert_string_equal(b.data, "ababcd");
	buf_release(&b);
	assert_true(smtp_addr_local_needs_quotes(""));
	assert_false(smtp_addr_local_needs_quotes("a+b"));
}

struct list_case {
	const char *in;
	int ret;
	const char *error;
	/* "addr|display|group" per entry, ";"-less; "-" for NULL */
	const char *expect[5];
};

static const struct list_case list_cases[] = {
	{ "user@example.com", 0, NULL, { "user@example.com|-|-" } },
	{ "  a@b ,c@d  ", 0, NULL, { "a@b|-|-", "c@d|-|-" } },
	{ "John Doe <jd@example.com>", 0, NULL,
	  { "jd@example.com|John Doe|-" } },
	{ "\"Doe, John\" <jd@x>, x@y", 0, NULL,
	  { "jd@x|Doe, John|-", "x@y|-|-" } },
	{ "<jd@x>", 0, NULL, { "jd@x|-|-" } },
	{ "jd@x (John Doe)", 0, NULL, { "jd@x|-|-" } },
	{ "(c) jd (c) @ (c) x (c) . (c) org (c)", 0, NULL, { "jd@x.org|-|-" } },
	{ "John (the (nested) one) Doe <jd@x>", 0, NULL,
	  { "jd@x|John Doe|-" } },
	{ "John Q. Public <jqp@x>", 0, NULL, { "jqp@x|John Q. Public|-" } },
	{ "\"a b\"@x", 0, NULL, { "a b@x|-|-" } },
	{ "\"a\\\"b\"@x", 0, NULL, { "a\"b@x|-|-" } },
	{ "a.\"b c\".d@x", 0, NULL, { "a.b c.d@x|-|-" } },
	{ "user@[192.0.2.1]", 0, NULL, { "user@[192.0.2.1]|-|-" } },
	{ "team: a@x, B <b@y>;", 0, NULL, { "a@x|-|team", "b@y|B|team" } },
	{ "Undisclosed recipients:;", 0, NULL, { NULL } },
	{ "Undisclosed recipients:;, z@q", 0, NULL, { "z@q|-|-" } },
	{ "g: a@x", 0, NULL, { "a@x|-|g" } },
	{ "a@x, , ,b@y,", 0, NULL, { "a@x|-|-", "b@y|-|-" } },
	{ "<@r1,@r2:u@x>", 0, NULL, { "u@x|-|-" } },
	{ "root", 0, NULL, { "root|-|-" } },
	{ "root, admin@x", 0, NULL, { "root|-|-", "admin@x|-|-" } },
	{ "john.@docomo.example", 0, NULL, { "john.@docomo.example|-|-" } },
	{ "a..b@x", 0, NULL, { "a..b@x|-|-" } },
	{ "user@host <user@host>", 0, NULL, { "user@host|user@host|-" } },
	{ "<>", 0, NULL, { "|-|-" } },
	{ "=?UTF-8?Q?J=C3=B6rg?= <j@x>", 0, NULL,
	  { "j@x|=?UTF-8?Q?J=C3=B6rg?=|-" } },
	{ "J\xc3\xb6rg <j\xc3\xb6@x>", 0, NULL,
	  { "j\xc3\xb6@x|J\xc3\xb6rg|-" } },
	{ "a@X.ORG", 0, NULL, { "a@X.ORG|-|-" } },
	{ "first\r\n second <a@b>", 0, NULL, { "a@b|first second|-" } },
	{ "\"fol\r\n ded\" <a@b>", 0, NULL, { "a@b|fol ded|-" } },
	{ "", 0, NULL, { NULL } },
	/* errors: the good parts are kept */
	{ "a b@x", -1, "two words in a row in local part", { NULL } },
	{ "a b@x, c@d", -1, "two words in a row in local part",
	  { "c@d|-|-" } },
	{ "John <jd@x", -1, "missing '>'", { NULL } },
	{ "x@y, John <jd@x, c@d>, e@f", -1, "missing '>'",
	  { "x@y|-|-", "e@f|-|-" } },
	{ "a@", -1, "bad or missing domain", { NULL } },
	{ "a@x.", -1, "bad or missing domain", { NULL } },
	{ "@x", -1, "missing local part", { NULL } },
	{ ": a@b;", -1, "group without a name", { NULL } },
	{ "a@b c@d, e@f", -1, "garbage after address", { "e@f|-|-" } },
	{ "g: a@b, c@d e@f;, x@y", -1, "garbage after address in group",
	  { "x@y|-|-" } },
	{ "g: h: a@b;;", -1, "garbage after address in group", { NULL } },
	{ "a@b (unterminated", -1, "unterminated comment", { NULL } },
	{ "a@b, c (unterminated", -1, "unterminated comment", { "a@b|-|-" } },
	{ "\"unterminated@x", -1, "unterminated quoted string", { NULL } },
	{ "a@[1.2.3.4", -1, "unterminated domain literal", { NULL } },
	{ "<@r1 u@x>", -1, "bad route in angle address", { NULL } },
	{ "a@b, \x01@c, d@e", -1, "missing local part",
	  { "a@b|-|-", "d@e|-|-" } },
	{ "> a@b", -1, "missing local part", { NULL } },
	{ "\"a@b\", c@d", -1, "'@' in local part of an address without domain",
	  { "c@d|-|-" } },
};

static void
check_entry(size_t k, const struct smtp_addr_entry *e, const char *expect)
{
	char got[512];

	(void)snprintf(got, sizeof(got), "%s|%s|%s", e->addr,
	    e->display_name ? e->display_name : "-",
	    e->group ? e->group : "-");
	if (strcmp(got, expect) != 0)
		fail_msg("list case %zu: got '%s', want '%s'", k, got, expect);
}

static void
test_list_table(void **state)
{
	struct smtp_addr_list list;
	const char *error;

	for (size_t k = 0; k < sizeof(list_cases) / sizeof(list_cases[0]); k++) {
		const struct list_case *c = &list_cases[k];
		size_t n = 0;
		int ret;

		smtp_addr_list_init(&list);
		error = NULL;
		ret = smtp_addr_list_parse(c->in, strlen(c->in), &list, &error);
		if (ret != c->ret)
			fail_msg("list case %zu '%s': ret %d (%s)", k, c->in, ret,
			    error ? error : "");
		if (c->error != NULL)
			assert_string_equal(error, c->error);
		while (n < 5 && c->expect[n] != NULL)
			n++;
		if (list.n != n)
			fail_msg("list case %zu '%s': %zu entries, want %zu", k,
			    c->in, list.n, n);
		for (size_t j = 0; j < n; j++)
			check_entry(k, &list.v[j], c->expect[j]);
		smtp_addr_list_release(&list);
	}
}

static void
test_list_fields(void **state)
{
	struct smtp_addr_list list;
	const char *error;
	const char *in = "Ann <\"a.b c\"@Ex.ORG>, [x]";

	smtp_addr_list_init(&list);
	assert_int_equal(smtp_addr_list_parse(in, strlen(in), &list, &error),
	    -1);
	assert_string_equal(error, "missing local part");
	assert_int_equal(list.n, 1);
	assert_string_equal(list.v[0].localpart, "a.b c");
	assert_string_equal(list.v[0].domain, "Ex.ORG");
	assert_string_equal(list.v[0].domain_lower, "ex.org");
	/* Appends: a second parse adds to the list. */
	assert_int_equal(smtp_addr_list_parse("b@c", 3, &list, &error), 0);
	assert_int_equal(list.n, 2);
	smtp_addr_list_release(&list);
	assert_int_equal(list.n, 0);
	/* NUL bytes inside the value are not atext. */
	assert_int_equal(smtp_addr_list_parse("a\0b@c, d@e", 10, &list,
	    &error), -1);
	assert_int_equal(list.n, 1);
	assert_string_equal(list.v[0].addr, "d@e");
	smtp_addr_list_release(&list);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_table),
		cmocka_unit_test(test_path_flags),
		cmocka_unit_test(test_path_nul_and_length),
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_list_table),
		cmocka_unit_test(test_list_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
