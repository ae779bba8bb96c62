/* Unit tests for src/global/header: header parser, unfolding, RFC 2047. */
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
#include "header.h"

/* Collects "name=value|" per field, with the value's "\n" shown as "\\n". */
static int
collect(void *ctx, const struct header_field *f)
{
	struct buf *b = ctx;

	buf_append(b, f->name, f->name_len);
	buf_append_char(b, '=');
	for (size_t k = 0; k < f->value_len; k++) {
		if (f->value[k] == '\n')
			buf_append_str(b, "\\n");
		else if (f->value[k] == '\0')
			buf_append_str(b, "\\0");
		else
			buf_append_char(b, f->value[k]);
	}
	if (f->has_8bit)
		buf_append_str(b, "<8>");
	if (f->has_nul)
		buf_append_str(b, "<nul>");
	if (f->obs_space)
		buf_append_str(b, "<obs>");
	buf_append_char(b, '|');
	return 0;
}

struct msg_case {
	const char *msg;
	size_t max;
	int ret;
	const char *fields;
	const char *body;	/* text at the body offset */
};

static const struct msg_case msg_cases[] = {
	{ "From: a@b\nTo: c@d\n\nbody\n", 0, 0, "From= a@b|To= c@d|", "body\n" },
	{ "From: a@b\r\nTo: c@d\r\n\r\nbody\r\n", 0, 0, "From= a@b|To= c@d|",
	  "body\r\n" },
	{ "Subject: one\n two\n\tthree\n\nx", 0, 0,
	  "Subject= one\\n two\\n\tthree|", "x" },
	{ "Subject: a\r\n b\r\n\r\n", 0, 0, "Subject= a\\n b|", "" },
	{ "X-Empty:\nY:v\n\n", 0, 0, "X-Empty=|Y=v|", "" },
	{ "Subject : obsolete\n\n", 0, 0, "Subject= obsolete<obs>|", "" },
	{ "Subject\t: obsolete\n\n", 0, 0, "Subject= obsolete<obs>|", "" },
	{ "Subject: caf\xc3\xa9\n\n", 0, 0, "Subject= caf\xc3\xa9<8>|", "" },
	{ "Subject: a\n \xe9\n\n", 0, 0, "Subject= a\\n \xe9<8>|", "" },
	/* Only white space on a line continues the field (obs-FWS). */
	{ "Subject: a\n   \nTo: b\n\n", 0, 0, "Subject= a\\n   |To= b|", "" },
	/* No separator: the first non-header line starts the body. */
	{ "From: a@b\nthis is body\n", 0, 0, "From= a@b|", "this is body\n" },
	{ "From: a@b\nno colon here\nTo: x\n", 0, 0, "From= a@b|",
	  "no colon here\nTo: x\n" },
	{ "From a@b Mon Jan 1\nTo: x\n\n", 0, 0, "", "From a@b Mon Jan 1\nTo: x\n\n" },
	{ " leading space\nTo: x\n\n", 0, 0, "", " leading space\nTo: x\n\n" },
	{ "\nbody only\n", 0, 0, "", "body only\n" },
	{ "", 0, 0, "", "" },
	{ "To: x", 0, 0, "To= x|", "" },
	{ "To: x\n", 0, 0, "To= x|", "" },
	{ "To: x\n y", 0, 0, "To= x\\n y|", "" },
	{ ":no name\n\n", 0, 0, "", ":no name\n\n" },
	{ "Na\xe9me: v\n\n", 0, 0, "", "Na\xe9me: v\n\n" },
	{ "Name\x01: v\n\n", 0, 0, "", "Name\x01: v\n\n" },
	{ "Name v: x\n\n", 0, 0, "", "Name v: x\n\n" },
	{ "A:\n\n", 0, 0, "A=|", "" },
	{ "X-Weird!#$%&'*+-/=?^_`{|}~: v\n\n", 0, 0,
	  "X-Weird!#$%&'*+-/=?^_`{|}~= v|", "" },
	{ "A: 1\nA: 2\n\n", 0, 0, "A= 1|A= 2|", "" },
	/* The size limit: each line counts with one terminator octet. */
	{ "A: 1\nB: 2\n\nbody", 10, 0, "A= 1|B= 2|", "body" },
	{ "A: 1\nB: 22\n\nbody", 10, -1, "", "A: 1\nB: 22\n\nbody" },
	{ "A: 1\n 2345\n\n", 10, -1, "", "A: 1\n 2345\n\n" },
	{ "A: 1\n 234\n\n", 10, 0, "A= 1\\n 234|", "" },
	{ "A: 123456789\n\n", 10, -1, "", "A: 123456789\n\n" },
	/* The body is not charged. */
	{ "A: 1\n\n0123456789012345", 6, 0, "A= 1|", "0123456789012345" },
	{ "A: 1\nbody line that is long\n", 6, 0, "A= 1|",
	  "body line that is long\n" },
};

static void
test_message_table(void **state)
{
	struct buf got;
	const char *error;

	buf_init(&got, 0);
	for (size_t k = 0; k < sizeof(msg_cases) / sizeof(msg_cases[0]); k++) {
		const struct msg_case *c = &msg_cases[k];
		size_t len = strlen(c->msg), off = 12345;
		int ret;

		buf_reset(&got);
		error = NULL;
		ret = header_parse_message(c->msg, len, c->max, collect, &got,
		    &off, &error);
		if (ret != c->ret)
			fail_msg("case %zu: ret %d", k, ret);
		if (strcmp(got.data, c->fields) != 0)
			fail_msg("case %zu: fields '%s'", k, got.data);
		if (ret == 0 && strcmp(c->msg + off, c->body) != 0)
			fail_msg("case %zu: body '%s'", k, c->msg + off);
		if (ret == -1) {
			char want[64];

			snprintf(want, sizeof(want),
			    "header exceeds the limit of %zu octets", c->max);
			assert_string_equal(error, want);
		}
	}
	buf_release(&got);
}

static void
test_incremental(void **state)
{
	struct header_parser *p = header_parser_new(0);
	const struct header_field *f;
	const char *error;

	assert_int_equal(header_parser_feed(p, "Received: from a", 16, &f,
	    &error), HEADER_MORE);
	assert_null(f);
	assert_int_equal(header_parser_feed(p, "\tby b\r", 6, &f, &error),
	    HEADER_MORE);
	assert_null(f);
	assert_int_equal(header_parser_feed(p, "subject: hi", 11, &f, &error),
	    HEADER_MORE);
	assert_non_null(f);
	assert_true(header_field_is(f, "RECEIVED"));
	assert_false(header_field_is(f, "Receive"));
	assert_string_equal(f->name, "Received");
	assert_string_equal(f->value, " from a\n\tby b");
	assert_int_equal(f->lines, 2);
	assert_int_equal(header_parser_size(p), 17 + 6 + 12);
	assert_int_equal(header_parser_feed(p, "\r", 1, &f, &error), HEADER_END);
	assert_non_null(f);
	assert_string_equal(f->name, "subject");
	assert_string_equal(f->value, " hi");
	assert_int_equal(f->lines, 1);
	/* After the end, the parser refuses more lines. */
	assert_int_equal(header_parser_feed(p, "X: y", 4, &f, &error),
	    HEADER_ERROR);
	assert_null(f);
	assert_string_equal(error, "header already ended");
	header_parser_finish(p, &f);
	assert_null(f);
	header_parser_free(p);
	header_parser_free(NULL);

	/* finish() hands out the pending field. */
	p = header_parser_new(0);
	assert_int_equal(header_parser_feed(p, "A: 1", 4, &f, &error),
	    HEADER_MORE);
	header_parser_finish(p, &f);
	assert_non_null(f);
	assert_string_equal(f->value, " 1");
	header_parser_finish(p, &f);
	assert_null(f);
	header_parser_free(p);

	/* A line that is not a header completes the field before it. */
	p = header_parser_new(0);
	assert_int_equal(header_parser_feed(p, "A: 1", 4, &f, &error),
	    HEADER_MORE);
	assert_int_equal(header_parser_feed(p, "body", 4, &f, &error),
	    HEADER_BODY);
	assert_non_null(f);
	assert_string_equal(f->name, "A");
	header_parser_free(p);

	/* After the limit is hit, the parser stays over. */
	p = header_parser_new(8);
	assert_int_equal(header_parser_feed(p, "A: 1", 4, &f, &error),
	    HEADER_MORE);
	assert_int_equal(header_parser_feed(p, "B: 2", 4, &f, &error),
	    HEADER_ERROR);
	assert_null(f);
	assert_string_equal(error, "header exceeds the limit of 8 octets");
	assert_int_equal(header_parser_feed(p, "", 0, &f, &error),
	    HEADER_ERROR);
	assert_string_equal(error, "header already ended");
	header_parser_free(p);

	/* NUL bytes and a limit of exactly the size. */
	p = header_parser_new(7);
	assert_int_equal(header_parser_feed(p, "A: \0x", 5, &f, &error),
	    HEADER_MORE);
	assert_int_equal(header_parser_feed(p, "", 0, &f, &error), HEADER_END);
	assert_non_null(f);
	assert_true(f->has_nul);
	assert_int_equal(f->value_len, 3);
	assert_memory_equal(f->value, " \0x", 3);
	header_parser_free(p);
}

/* Many long fields: the two buffers swap and grow without leaks. */
static void
test_large(void **state)
{
	struct header_parser *p = header_parser_new(0);
	const struct header_field *f;
	const char *error;
	char line[3000];
	size_t n = 0;

	memset(line, 'v', sizeof(line));
	memcpy(line, "X-Long: ", 8);
	for (int k = 0; k < 50; k++) {
		assert_int_equal(header_parser_feed(p, line, sizeof(line) - k, &f,
		    &error), HEADER_MORE);
		if (k > 0) {
			/* The field before: its line, "\n", "  more". */
			assert_non_null(f);
			assert_int_equal(f->value_len, sizeof(line) - (k - 1));
			assert_int_equal(f->lines, 2);
			n++;
		}
		assert_int_equal(header_parser_feed(p, "  more", 6, &f, &error),
		    HEADER_MORE);
		assert_null(f);
	}
	assert_int_equal(n, 49);
	header_parser_free(p);
}

static void
test_unfold(void **state)
{
	static const struct {
		const char *in;
		bool trim;
		const char *out;
	} cases[] = {
		{ " a\n b", false, " a b" },
		{ " a\n b", true, "a b" },
		{ " a\r\n\tb", false, " a\tb" },
		{ "a\nb", false, "a\nb" },
		{ "a\n", false, "a\n" },
		{ "a\n", true, "a" },
		{ "  x  \n  ", true, "x" },
		{ "", true, "" },
		{ "\n \n ", false, "  " },
		{ "a\r b", false, "a\r b" },
		{ "a\rb", false, "a\rb" },
	};
	struct buf b;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		buf_init(&b, 0);
		assert_int_equal(header_unfold(cases[k].in, strlen(cases[k].in),
		    cases[k].trim, &b), 0);
		if (strcmp(b.data, cases[k].out) != 0)
			fail_msg("unfold case %zu: '%s'", k, b.data);
		buf_release(&b);
	}
	buf_init(&b, 4);
	buf_append_str(&b, "ab");
	assert_int_equal(header_unfold("cde", 3, false, &b), -1);
	assert_string_equal(b.data, "ab");
	buf_release(&b);
}

static void
test_rfc2047(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "plain text", "plain text" },
		{ "=?UTF-8?Q?J=C3=B6rg?=", "J\xc3\xb6rg" },
		{ "=?utf-8?q?a_b?=", "a b" },
		{ "=?ISO-8859-1?Q?J=F6rg?=", "J\xc3\xb6rg" },
		{ "=?iso-8859-1?B?SvZyZw==?=", "J\xc3\xb6rg" },
		{ "=?UTF-8?B?SsO2cmc=?=", "J\xc3\xb6rg" },
		{ "=?UTF-8?B?SsO2cmc?=", "J\xc3\xb6rg" },
		{ "=?US-ASCII?Q?Keith_Moore?=", "Keith Moore" },
		{ "=?UTF-8*en?Q?hi?=", "hi" },
		/* RFC 2047 8 examples */
		{ "(=?ISO-8859-1?Q?a?=)", "(a)" },
		{ "(=?ISO-8859-1?Q?a?= b)", "(a b)" },
		{ "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)" },
		{ "(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)" },
		{ "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)" },
		{ "(=?ISO-8859-1?Q?a_b?=)", "(a b)" },
		{ "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)" },
		{ "x =?UTF-8?Q?y?= z", "x y z" },
		{ "=?UTF-8?Q?a?= plain =?UTF-8?Q?b?=", "a plain b" },
		/* not encoded-words, or broken ones: kept as they are */
		{ "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=" },
		{ "=?NO-SUCH-CHARSET-XYZ?Q?abc?=", "=?NO-SUCH-CHARSET-XYZ?Q?abc?=" },
		{ "=?UTF-8?Q?abc", "=?UTF-8?Q?abc" },
		{ "=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?=" },
		{ "=??Q?abc?=", "=??Q?abc?=" },
		{ "=?UTF-8?Q?=ZZ?=", "=?UTF-8?Q?=ZZ?=" },
		{ "=?UTF-8?B?!!!!?=", "=?UTF-8?B?!!!!?=" },
		{ "=?UTF-8?B?ab=c?=", "=?UTF-8?B?ab=c?=" },
		{ "=?UTF-8?Q?=FF?=", "=?UTF-8?Q?=FF?=" },
		{ "=?UTF/8?Q?a?=", "=?UTF/8?Q?a?=" },
		{ "=?UTF-8?Q?a?= =?bad", "a =?bad" },
		{ "=?", "=?" },
		{ "a=?b", "a=?b" },
		/* decoded line breaks and NUL become '?' */
		{ "=?UTF-8?Q?a=0D=0Ab=00c?=", "a??b?c" },
		{ "=?UTF-8?Q?" "?=", "" },
	};
	struct buf b;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		buf_init(&b, 0);
		assert_int_equal(header_decode_2047(cases[k].in,
		    strlen(cases[k].in), &b), 0);
		if (strcmp(b.data, cases[k].out) != 0)
			fail_msg("2047 case %zu '%s': '%s'", k, cases[k].in,
			    b.data);
		buf_release(&b);
	}
	/* Long words: 1000 octets are the most. */
	{
		char word[1001];
		size_t n;

		for (n = 980; n <= 1001; n += 21) {
			memset(word, 'a', sizeof(word));
			memcpy(word, "=?UTF-8?Q?", 10);
			memcpy(word + n - 2, "?=", 2);
			buf_init(&b, 0);
			assert_int_equal(header_decode_2047(word, n, &b), 0);
			assert_int_equal(b.len, n == 980 ? 980 - 12 : n);
			buf_release(&b);
		}
	}
	buf_init(&b, 5);
	assert_int_equal(header_decode_2047("abcdefgh", 8, &b), -1);
	assert_string_equal(b.data, "abcde");
	buf_release(&b);
}

struct spans {
	const char *msg;
	char got[512];
	size_t used;
};

/* Each field as "NAME=[offset,length)" plus the text it covers. */
static int
record_span(void *ctx, const struct header_field *f)
{
	struct spans *sp = ctx;
	int n = snprintf(sp->got + sp->used, sizeof(sp->got) - sp->used,
	    "%.*s@%zu+%zu{%.*s}", (int)f->name_len, f->name, f->offset,
	    f->length, (int)f->length, sp->msg + f->offset);

	assert_true(n > 0 && (size_t)n < sizeof(sp->got) - sp->used);
	sp->used += (size_t)n;
	/* The span starts with the field's name. */
	assert_memory_equal(sp->msg + f->offset, f->name, f->name_len);
	return 0;
}

static void
test_offsets(void **state)
{
	static const struct {
		const char *msg, *want;
	} t[] = {
		{ "A: 1\r\nB: 2\r\n\r\nbody",
		  "A@0+6{A: 1\r\n}B@6+6{B: 2\r\n}" },
		/* Continuation lines belong to their field. */
		{ "A: 1\n  more\nB: 2\n\n",
		  "A@0+12{A: 1\n  more\n}B@12+5{B: 2\n}" },
		/* No separator, no final line end. */
		{ "A: 1\nB: 2", "A@0+5{A: 1\n}B@5+4{B: 2}" },
		/* A body line ends the header (Postfix's rule). */
		{ "A: 1\nnot a header\nB: 2\n", "A@0+5{A: 1\n}" },
		{ "\nA: 1\n", "" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct spans sp = { .msg = t[i].msg };
		const char *error;
		size_t body;

		assert_int_equal(header_parse_message(t[i].msg,
		    strlen(t[i].msg), 0, record_span, &sp, &body, &error), 0);
		sp.got[sp.used] = '\0';
		assert_string_equal(sp.got, t[i].want);
	}
}

static void
test_authserv_id(void **state)
{
	static const char host[] = "mail.example.test";

	assert_true(header_authserv_id_is(" mail.example.test; spf=pass",
	    28, host));
	assert_true(header_authserv_id_is("\n\tMAIL.Example.TEST;", 20,
	    host));
	assert_true(header_authserv_id_is(" mail.example.test 1; none", 26,
	    host));
	assert_false(header_authserv_id_is(" mail.example.test.evil; x", 26,
	    host));
	assert_false(header_authserv_id_is(" other.test; x", 14, host));
	assert_false(header_authserv_id_is("", 0, host));
	assert_false(header_authserv_id_is("   ", 3, host));
	/* Only LEN bytes count. */
	assert_false(header_authserv_id_is(" mail.example.test", 10, host));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_table),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_unfold),
		cmocka_unit_test(test_rfc2047),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_authserv_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
