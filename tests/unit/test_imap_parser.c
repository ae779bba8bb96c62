/*
 * Unit tests for src/imapd/imap_parser: commands with atoms, quoted
 * strings, literals (sync and LITERAL+), nested lists, every error and
 * limit, the same result however the input is split; sequence sets,
 * FETCH attributes with sections and partial ranges, SEARCH keys, dates.
 * The module belongs to the imapd executable, so it is compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../../src/imapd/imap_parser.c"

/* Render arguments as  A "q" {3}abc (x y)  for comparison. */
static void
render(struct buf *out, const struct imap_arg *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_append_char(out, ' ');
		switch (v[i].type) {
		case IMAP_ARG_ATOM:
			buf_append(out, v[i].s, v[i].len);
			break;
		case IMAP_ARG_QUOTED:
			buf_append_char(out, '"');
			buf_append(out, v[i].s, v[i].len);
			buf_append_char(out, '"');
			break;
		case IMAP_ARG_LITERAL:
			buf_printf(out, "{%zu}", v[i].len);
			buf_append(out, v[i].s, v[i].len);
			assert_int_equal(v[i].s[v[i].len], '\0');
			break;
		case IMAP_ARG_LIST:
			buf_append_char(out, '(');
			render(out, v[i].list, v[i].n);
			buf_append_char(out, ')');
			break;
		}
	}
}

struct run {
	enum imap_parse_result last;
	int continues;
	size_t used;
	char text[512];
	char error[128];
	char tag[64];
};

/* Feed IN in pieces of STEP octets (0: all at once), answering every
 * continuation, until DONE/BAD/FATAL or the end of input. */
static void
run_parser(const char *in, size_t len, size_t step,
    const struct imap_parser_limits *lim, struct run *r)
{
	struct imap_parser *p = imap_parser_new(lim);
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	r->last = IMAP_PARSE_MORE;
	while (off < len) {
		size_t n = step == 0 || len - off < step ? len - off : step;
		size_t used;

		r->last = imap_parser_feed(p, in + off, n, &used);
		assert_true(used <= n);
		off += used;
		if (r->last == IMAP_PARSE_CONTINUE) {
			r->continues++;
			continue;
		}
		if (r->last != IMAP_PARSE_MORE)
			break;
		assert_int_equal(used, n);
	}
	r->used = off;
	if (r->last == IMAP_PARSE_DONE) {
		const struct imap_command *c = imap_parser_command(p);
		struct buf b;

		buf_init(&b, 0);
		buf_printf(&b, "%s %s", c->tag, c->name);
		if (c->n_args > 0) {
			buf_append_char(&b, ' ');
			render(&b, c->args, c->n_args);
		}
		str_copy(r->text, sizeof(r->text), b.data);
		buf_release(&b);
	} else if (r->last == IMAP_PARSE_BAD || r->last == IMAP_PARSE_FATAL) {
		str_copy(r->error, sizeof(r->error), imap_parser_error(p));
	}
	str_copy(r->tag, sizeof(r->tag), imap_parser_tag(p));
	imap_parser_free(p);
}

static void
test_commands(void **state)
{
	static const struct {
		const char *in;
		const char *out;
		int continues;
	} t[] = {
		{ "a1 NOOP\r\n", "a1 NOOP", 0 },
		{ "a1 noop\n", "a1 NOOP", 0 },
		{ "a2 LOGIN joe \"pass word\"\r\n",
		  "a2 LOGIN joe \"pass word\"", 0 },
		{ "a3 LOGIN \"a\\\"b\\\\c\" x\r\n", "a3 LOGIN \"a\"b\\c\" x", 0 },
		{ "a4 LOGIN {3}\r\njoe {4}\r\npass\r\n",
		  "a4 LOGIN {3}joe {4}pass", 2 },
		{ "a5 LOGIN {3+}\r\njoe {4+}\r\npass\r\n",
		  "a5 LOGIN {3}joe {4}pass", 0 },
		{ "a6 SELECT {0}\r\n\r\n", "a6 SELECT {0}", 1 },
		{ "a7 FETCH 1:* (FLAGS (X (Y Z)) UID)\r\n",
		  "a7 FETCH 1:* (FLAGS (X (Y Z)) UID)", 0 },
		{ "a8 uid fetch 1,2 (BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.10>)\r\n",
		  "a8 UID FETCH 1,2 (BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.10>)", 0 },
		{ "a9 STORE 1 +FLAGS (\\Seen \\Deleted)\r\n",
		  "a9 STORE 1 +FLAGS (\\Seen \\Deleted)", 0 },
		{ "b1 LIST \"\" %\r\n", "b1 LIST \"\" %", 0 },
		{ "b2 LIST \"\" *\r\n", "b2 LIST \"\" *", 0 },
		{ "b3 APPEND INBOX (\\Seen) {5}\r\nhello\r\n",
		  "b3 APPEND INBOX (\\Seen) {5}hello", 1 },
		{ "b4 APPEND x {4}\r\na\0\r\n\r\n", "b4 APPEND x {4}a", 1 },
		{ "b5 SEARCH ()\r\n", "b5 SEARCH ()", 0 },
		{ "b6 SEARCH  ALL \r\n", "b6 SEARCH ALL", 0 },
		{ "b7 X \"{3}\"\r\n", "b7 X \"{3}\"", 0 },
		{ "b8 X (a{b\r\n", NULL, 0 },
		{ "b9 LIST \"\" \"\xc3\xa4\"\r\n", "b9 LIST \"\" \"\xc3\xa4\"", 0 },
		{ "c1 LOGIN (\"a\" {2}\r\nxy)\r\n", "c1 LOGIN (\"a\" {2}xy)", 1 },
	};
	static const size_t steps[] = { 0, 1, 2, 3, 7 };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = strlen(t[i].in);

		/* b4 holds a NUL: count up to the known end. */
		if (strncmp(t[i].in, "b4", 2) == 0)
			len = strlen("b4 APPEND x {4}\r\n") + 4 + 2;
		for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			struct run r;

			run_parser(t[i].in, len, steps[s], NULL, &r);
			if (t[i].out == NULL) {
				assert_int_equal(r.last, IMAP_PARSE_BAD);
				continue;
			}
			if (r.last != IMAP_PARSE_DONE)
				fail_msg("%s: %d %s", t[i].in, r.last, r.error);
			if (strncmp(t[i].in, "b4", 2) != 0)
				assert_string_equal(r.text, t[i].out);
			assert_int_equal(r.continues, t[i].continues);
			assert_int_equal(r.used, len);
		}
	}
}

static void
test_errors(void **state)
{
	static const struct {
		const char *in;
		const char *error;
		const char *tag;
	} t[] = {
		{ "\r\n", "Empty command line", "*" },
		{ "a1\r\n", "Missing command", "a1" },
		{ "+x NOOP\r\n", "Invalid tag", "*" },
		{ "a1 NO\"OP\r\n", "Invalid command name", "a1" },
		{ "a1 UID\r\n", "Missing UID command", "a1" },
		{ "a1 UID (\r\n", "Invalid UID command", "a1" },
		{ "a1 X \"abc\r\n", "Missing '\"'", "a1" },
		{ "a1 X \"a\\bc\"\r\n", "Invalid escape in quoted string", "a1" },
		{ "a1 X (a b\r\n", "Missing ')'", "a1" },
		{ "a1 X a)\r\n", "Unexpected ')'", "a1" },
		{ "a1 X (a)(b)\r\n", "Missing space between arguments", "a1" },
		{ "a1 X a\"b\r\n", "Invalid character in atom", "a1" },
		{ "a1 X BODY[HEADER\r\n", "Missing ']'", "a1" },
		{ "a1 X BODY[a\x01]\r\n", "Invalid character in section", "a1" },
		{ "a1 X {x}\r\n", "Invalid literal size", "a1" },
		{ "a1 X {}\r\n", "Invalid literal size", "a1" },
		{ "a1 X {+}\r\n", "Invalid literal size", "a1" },
		{ "a1 X {99999999999999999999}\r\n", "Invalid literal size", "a1" },
		{ "a1 X {65537}\r\n", "Literal too large", "a1" },
		{ "a1 X a{3}b\r\n", "Invalid character in atom", "a1" },
		{ "a1 X a\rb\r\n", "CR octet in command line", "a1" },
		{ "a1 X (((((((((((((((((x)))))))))))))))))\r\n",
		  "Lists nested too deeply", "a1" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct run r;

		run_parser(t[i].in, strlen(t[i].in), 0, NULL, &r);
		if (r.last != IMAP_PARSE_BAD)
			fail_msg("%s: result %d", t[i].in, r.last);
		assert_string_equal(r.error, t[i].error);
		assert_string_equal(r.tag, t[i].tag);
		assert_int_equal(r.used, strlen(t[i].in));
	}
}

static void
test_nul_in_line(void **state)
{
	static const char in[] = "a1 X a\0b\r\n";
	struct run r;

	run_parser(in, sizeof(in) - 1, 0, NULL, &r);
	assert_int_equal(r.last, IMAP_PARSE_BAD);
	assert_string_equal(r.error, "NUL octet in command line");
}

static void
test_limits(void **state)
{
	struct imap_parser_limits lim;
	struct buf b;
	struct run r;

	imap_parser_limits_default(&lim);
	lim.line_max = 100;
	lim.args_max = 5;
	lim.small_literal_max = 10;
	lim.literal_max = 20;
	buf_init(&b, 0);

	/* A long line is skipped to its end, then BAD with the tag. */
	buf_append_str(&b, "tag7 X ");
	for (int i = 0; i < 1000; i++)
		buf_append_str(&b, "aaaaaaaaaa");
	buf_append_str(&b, "\r\nnext NOOP\r\n");
	for (size_t step = 0; step < 4; step++) {
		run_parser(b.data, b.len, step * 13, &lim, &r);
		assert_int_equal(r.last, IMAP_PARSE_BAD);
		assert_string_equal(r.error, "Command line too long");
		assert_string_equal(r.tag, "tag7");
		/* The next command is not consumed. */
		assert_int_equal(r.used, b.len - strlen("next NOOP\r\n"));
	}

	run_parser("a X 1 2 3 4 5 6\r\n", 17, 0, &lim, &r);
	assert_int_equal(r.last, IMAP_PARSE_BAD);
	assert_string_equal(r.error, "Too many arguments");
	run_parser("a X 1 2 3 4 5\r\n", 15, 0, &lim, &r);
	assert_int_equal(r.last, IMAP_PARSE_DONE);

	/* Literal size: APPEND gets literal_max, others small_literal_max. */
	run_parser("a X {11}\r\n", 10, 0, &lim, &r);
	assert_int_equal(r.last, IMAP_PARSE_BAD);
	assert_string_equal(r.error, "Literal too large");
	assert_int_equal(r.continues, 0);
	run_parser("a X {11+}\r\n", 11, 0, &lim, &r);
	assert_int_equal(r.last, IMAP_PARSE_FATAL);
	run_parser("a APPEND x {11}\r\n01234567890\r\n", 30, 0, &lim, &r);
	assert_int_equal(r.last, IMAP_PARSE_DONE);
	assert_int_equal(r.continues, 1);
	run_parser("a APPEND x {21}\r\n", 17, 0, &lim, &r);
	assert_int_equal(r.last, IMAP_PARSE_BAD);
	buf_release(&b);
}

static void
test_pipelined_rest_kept(void **state)
{
	struct imap_parser *p = imap_parser_new(NULL);
	const char in[] = "a1 IDLE\r\nDONE\r\n";
	size_t used;

	assert_int_equal(imap_parser_feed(p, in, strlen(in), &used),
	    IMAP_PARSE_DONE);
	assert_int_equal(used, 9);
	assert_string_equal(imap_parser_command(p)->name, "IDLE");
	/* Without a reset, a finished reader keeps its answer. */
	assert_int_equal(imap_parser_feed(p, in + used, 6, &used),
	    IMAP_PARSE_DONE);
	assert_int_equal(used, 0);
	imap_parser_reset(p);
	assert_int_equal(imap_parser_feed(p, "b NOOP\r\n", 8, &used),
	    IMAP_PARSE_DONE);
	assert_string_equal(imap_parser_command(p)->tag, "b");
	assert_true(imap_parser_memory(p) < 8192);
	imap_parser_free(p);
}

static void
test_seqset(void **state)
{
	static const struct {
		const char *in;
		uint32_t max;
		const char *members;	/* of 1..10, as "1,2," */
	} t[] = {
		{ "1", 10, "1," },
		{ "1:3", 10, "1,2,3," },
		{ "3:1", 10, "1,2,3," },
		{ "9:*", 10, "9,10," },
		{ "*", 10, "10," },
		{ "*:9", 10, "9,10," },
		{ "12:*", 10, "10," },
		{ "2,4:5,7", 10, "2,4,5,7," },
		{ "1:*", 0, "" },
		{ "*", 0, "" },
		{ "4294967295", 10, "" },
	};
	static const char *const bad[] = { "", "0", "1:", ":1", "1,,2", "a",
		"1:2:3", "4294967296", "01", "1,", "**", "-1" };
	struct imap_seqset set;
	const char *error;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char got[64] = "";
		size_t n = 0;

		assert_int_equal(imap_seqset_parse(t[i].in, &set, &error), 0);
		for (uint32_t k = 1; k <= 10; k++)
			if (imap_seqset_contains(&set, k, t[i].max))
				n += (size_t)snprintf(got + n, sizeof(got) - n,
				    "%u,", k);
		assert_string_equal(got, t[i].members);
		imap_seqset_free(&set);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(imap_seqset_parse(bad[i], &set, &error), -1);
		assert_string_equal(error, "Invalid sequence set");
	}
}

/* Parse a FETCH argument given as command text. */
static int
fetch_of(const char *text, struct imap_fetch *f, const char **error_r)
{
	struct imap_parser *p = imap_parser_new(NULL);
	struct buf b;
	size_t used;
	int r;

	buf_init(&b, 0);
	buf_printf(&b, "a FETCH 1 %s\r\n", text);
	assert_int_equal(imap_parser_feed(p, b.data, b.len, &used),
	    IMAP_PARSE_DONE);
	r = imap_fetch_parse(&imap_parser_command(p)->args[1], f, error_r);
	imap_parser_free(p);
	buf_release(&b);
	return r;
}

static void
test_fetch(void **state)
{
	struct imap_fetch f;
	const char *error;

	assert_int_equal(fetch_of("ALL", &f, &error), 0);
	assert_int_equal(f.items, IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
	    IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_ENVELOPE);
	imap_fetch_free(&f);
	assert_int_equal(fetch_of("FULL", &f, &error), 0);
	assert_true(f.items & IMAP_FETCH_BODY);
	imap_fetch_free(&f);
	assert_int_equal(fetch_of("fast", &f, &error), 0);
	assert_false(f.items & IMAP_FETCH_ENVELOPE);
	imap_fetch_free(&f);
	assert_int_equal(fetch_of("(uid rfc822.size BODYSTRUCTURE RFC822 "
	    "RFC822.HEADER RFC822.TEXT body)", &f, &error), 0);
	assert_int_equal(f.items, IMAP_FETCH_UID | IMAP_FETCH_RFC822_SIZE |
	    IMAP_FETCH_BODYSTRUCTURE | IMAP_FETCH_RFC822 |
	    IMAP_FETCH_RFC822_HEADER | IMAP_FETCH_RFC822_TEXT |
	    IMAP_FETCH_BODY);
	imap_fetch_free(&f);

	assert_int_equal(fetch_of("(BODY[] body.peek[1.2.HEADER.FIELDS.NOT "
	    "(Subject \"X-A\")]<5.10> BODY[2.MIME] BODY[TEXT]<0.1>)", &f,
	    &error), 0);
	assert_int_equal(f.n_bodies, 4);
	assert_string_equal(f.bodies[0].spec, "");
	assert_false(f.bodies[0].peek);
	assert_int_equal(f.bodies[0].section.kind, IMAP_SECTION_ALL);
	assert_true(f.bodies[1].peek);
	assert_string_equal(f.bodies[1].spec,
	    "1.2.HEADER.FIELDS.NOT (Subject X-A)");
	assert_int_equal(f.bodies[1].section.n_part, 2);
	assert_int_equal(f.bodies[1].section.part[1], 2);
	assert_int_equal(f.bodies[1].section.fields->n, 2);
	assert_true(f.bodies[1].partial);
	assert_int_equal(f.bodies[1].offset, 5);
	assert_int_equal(f.bodies[1].count, 10);
	assert_int_equal(f.bodies[2].section.kind, IMAP_SECTION_MIME);
	assert_int_equal(f.bodies[3].section.kind, IMAP_SECTION_TEXT);
	imap_fetch_free(&f);

	{
		static const struct {
			const char *in, *error;
		} bad[] = {
			{ "FOO", "Invalid fetch attribute: FOO" },
			{ "(FLAGS \"UID\")", "Invalid fetch attribute" },
			{ "()", "Invalid fetch attributes" },
			{ "BODY[MIME]", "Invalid section" },
			{ "BODY[0]", "Invalid section" },
			{ "BODY[1.]", "Invalid section" },
			{ "BODY[HEADER.FIELDS]", "Invalid section" },
			{ "BODY[HEADER.FIELDS ()]", "Invalid header field list" },
			{ "BODY[HEADER.FIELDS (a:b)]", "Invalid header field list" },
			{ "BODY[TEXTX]", "Invalid section" },
			{ "BODY[]<1>", "Invalid partial range" },
			{ "BODY[]<1.0>", "Invalid partial range" },
			{ "BODY[]<x.1>", "Invalid partial range" },
			{ "BODY[]<1.2>x", "Invalid partial range" },
			{ "BODY[]<4294967296.1>", "Invalid partial range" },
			{ "BODY.PEEK", "Invalid fetch attribute: BODY.PEEK" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (fetch_of(bad[i].in, &f, &error) != -1)
				fail_msg("%s accepted", bad[i].in);
			assert_string_equal(error, bad[i].error);
		}
	}
}

/* Render a search tree in prefix form. */
static void
srender(struct buf *b, const struct imap_search *s)
{
	static const char *const names[] = { "AND", "OR", "NOT", "ALL",
		"SEQ", "UID", "FLAG", "UNFLAG", "NEW", "OLD", "RECENT",
		"BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE",
		"LARGER", "SMALLER", "HEADER", "BODY", "TEXT" };

	buf_printf(b, "%s", names[s->op]);
	if (s->field != NULL)
		buf_printf(b, ":%s", s->field);
	if (s->str != NULL)
		buf_printf(b, "=%s", s->str);
	if (s->op >= IMAP_SEARCH_BEFORE && s->op <= IMAP_SEARCH_SMALLER)
		buf_printf(b, "=%lld", (long long)s->num);
	if (s->op == IMAP_SEARCH_SEQSET || s->op == IMAP_SEARCH_UID)
		buf_printf(b, "=%zu", s->seq.n);
	if (s->n_kids > 0) {
		buf_append_char(b, '(');
		for (size_t i = 0; i < s->n_kids; i++) {
			if (i > 0)
				buf_append_char(b, ' ');
			srender(b, s->kids[i]);
		}
		buf_append_char(b, ')');
	}
}

static void
test_search(void **state)
{
	static const struct {
		const char *in, *out, *error;
	} t[] = {
		{ "ALL", "AND(ALL)", NULL },
		{ "1:3,5 UID 7:* unseen", "AND(SEQ=2 UID=1 UNFLAG=\\Seen)", NULL },
		{ "OR FROM joe NOT (SEEN DELETED)",
		  "AND(OR(HEADER:From=joe NOT(AND(FLAG=\\Seen FLAG=\\Deleted))))",
		  NULL },
		{ "HEADER X-Spam \"yes\" SUBJECT {3}\r\nabc",
		  "AND(HEADER:X-Spam=yes HEADER:Subject=abc)", NULL },
		{ "SINCE 1-Jan-1970 BEFORE \"2-Jan-1970\" ON 29-feb-2000",
		  "AND(SINCE=0 BEFORE=1 ON=11016)", NULL },
		{ "LARGER 100 SMALLER 0", "AND(LARGER=100 SMALLER=0)", NULL },
		{ "KEYWORD $Junk UNKEYWORD foo NEW OLD RECENT DRAFT UNDRAFT",
		  "AND(FLAG=$Junk UNFLAG=foo NEW OLD RECENT FLAG=\\Draft "
		  "UNFLAG=\\Draft)", NULL },
		{ "TEXT x BODY y TO a CC b BCC c ANSWERED FLAGGED UNFLAGGED "
		  "UNANSWERED UNDELETED SENTON 1-Jan-2000 SENTSINCE 1-Jan-2000 "
		  "SENTBEFORE 1-Jan-2000",
		  "AND(TEXT=x BODY=y HEADER:To=a HEADER:Cc=b HEADER:Bcc=c "
		  "FLAG=\\Answered FLAG=\\Flagged UNFLAG=\\Flagged "
		  "UNFLAG=\\Answered UNFLAG=\\Deleted SENTON=10957 "
		  "SENTSINCE=10957 SENTBEFORE=10957)", NULL },
		{ "", NULL, "Empty search key list" },
		{ "FOO", NULL, "Unknown search key: FOO" },
		{ "FROM", NULL, "Missing search argument" },
		{ "OR SEEN", NULL, "Missing search argument" },
		{ "SINCE 30-Feb-2000", NULL, "Invalid date" },
		{ "SINCE 1-Foo-2000", NULL, "Invalid date" },
		{ "SINCE 1-Jan-20", NULL, "Invalid date" },
		{ "LARGER x", NULL, "Invalid number" },
		{ "LARGER 4294967296", NULL, "Invalid number" },
		{ "UID x", NULL, "Invalid sequence set" },
		{ "UID (1)", NULL, "Invalid UID set" },
		{ "1:x", NULL, "Invalid sequence set" },
		{ "()", NULL, "Empty search key list" },
		{ "FROM (x)", NULL, "Invalid search string" },
		{ "KEYWORD \"x\"", NULL, "Invalid keyword" },
		{ "\"ALL\"", NULL, "Invalid search key" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct imap_parser *p = imap_parser_new(NULL);
		const struct imap_command *c;
		struct imap_search *s;
		const char *error = NULL;
		struct buf in, out;
		size_t used, off = 0;
		enum imap_parse_result r;

		buf_init(&in, 0);
		buf_init(&out, 0);
		buf_printf(&in, "a SEARCH %s\r\n", t[i].in);
		do {
			r = imap_parser_feed(p, in.data + off, in.len - off,
			    &used);
			off += used;
		} while (r == IMAP_PARSE_CONTINUE);
		assert_int_equal(r, IMAP_PARSE_DONE);
		c = imap_parser_command(p);
		s = imap_search_parse(c->args, c->n_args, &error);
		if (t[i].out != NULL) {
			if (s == NULL)
				fail_msg("%s: %s", t[i].in, error);
			srender(&out, s);
			assert_string_equal(out.data, t[i].out);
		} else {
			assert_null(s);
			assert_string_equal(error, t[i].error);
		}
		imap_search_free(s);
		imap_parser_free(p);
		buf_release(&in);
		buf_release(&out);
	}
}

static void
test_search_depth(void **state)
{
	struct imap_parser *p = imap_parser_new(NULL);
	const struct imap_command *c;
	const char *error = NULL;
	struct buf in;
	size_t used;

	buf_init(&in, 0);
	buf_append_str(&in, "a SEARCH");
	for (int i = 0; i < 200; i++)
		buf_append_str(&in, " NOT");
	buf_append_str(&in, " ALL\r\n");
	assert_int_equal(imap_parser_feed(p, in.data, in.len, &used),
	    IMAP_PARSE_DONE);
	c = imap_parser_command(p);
	assert_null(imap_search_parse(c->args, c->n_args, &error));
	assert_string_equal(error, "Search keys nested too deeply");
	imap_parser_free(p);
	buf_release(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul_in_line),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_pipelined_rest_kept),
		cmocka_unit_test(test_seqset),
		cmocka_unit_test(test_fetch),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_search_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
