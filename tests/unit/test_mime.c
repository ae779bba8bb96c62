/*
 * Unit tests for src/global/mime: structure of tricky messages (no
 * Content-Type, broken ones, boundaries in preambles, missing final
 * boundary, deep nesting, digests, embedded messages), parameters,
 * IMAP part addressing and header filtering.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "buf.h"
#include "mime.h"

/* Render the tree as  type/subtype[n lines](kids...) . */
static void
render(struct buf *b, const char *msg, const struct mime_part *p)
{
	buf_printf(b, "%s/%s", p->type, p->subtype);
	if (p->is_multipart || p->is_message) {
		buf_append_char(b, '(');
		for (size_t i = 0; i < p->n_kids; i++) {
			if (i > 0)
				buf_append_char(b, ' ');
			render(b, msg, &p->kids[i]);
		}
		buf_append_char(b, ')');
	} else {
		buf_printf(b, "[%zu:", p->body_lines);
		buf_append(b, msg + p->body_off, p->body_len);
		buf_append_char(b, ']');
	}
}

static void
test_structures(void **state)
{
	static const struct {
		const char *msg, *tree;
	} t[] = {
		/* No Content-Type at all. */
		{ "Subject: x\r\n\r\nhello\r\n", "text/plain[1:hello\r\n]" },
		/* No header, no blank line: all header, empty body. */
		{ "Subject: x", "text/plain[0:]" },
		{ "", "text/plain[0:]" },
		/* Broken Content-Type falls back to text/plain. */
		{ "Content-Type: garbage\n\nbody", "text/plain[1:body]" },
		{ "Content-Type: /x\n\nb", "text/plain[1:b]" },
		{ "Content-Type: Text/HTML (comment) ; charset=utf-8\n\n<p>",
		  "text/html[1:<p>]" },
		/* Simple multipart, LF only. */
		{ "Content-Type: multipart/mixed; boundary=b\n\n"
		  "preamble\n--b\n\none\n--b\nContent-Type: text/html\n\n"
		  "two\n--b--\nepilogue\n",
		  "multipart/mixed(text/plain[1:one] text/html[1:two])" },
		/* A line that only starts like the boundary in the preamble,
		 * and the inner boundary in the outer preamble. */
		{ "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
		  "--inner\r\n-- outer\r\n--outer\r\n"
		  "Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
		  "--inner\r\n\r\na\r\n--inner\r\n\r\nb\r\n--inner--\r\n"
		  "--outer--\r\n",
		  "multipart/mixed(multipart/alternative(text/plain[1:a] "
		  "text/plain[1:b]))" },
		/* Missing final boundary: the last part runs to the end. */
		{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n"
		  "--b\n\ntwo\nlast",
		  "multipart/mixed(text/plain[1:one] text/plain[2:two\nlast])" },
		/* No boundary parameter / no delimiter: one empty part. */
		{ "Content-Type: multipart/mixed\n\nbody",
		  "multipart/mixed(text/plain[0:])" },
		{ "Content-Type: multipart/mixed; boundary=zz\n\nbody",
		  "multipart/mixed(text/plain[0:])" },
		/* Empty parts. */
		{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\n--b--",
		  "multipart/mixed(text/plain[0:] text/plain[0:])" },
		/* Embedded message and digest defaults. */
		{ "Content-Type: multipart/digest; boundary=d\n\n--d\n\n"
		  "Subject: inner\n\nin body\n--d\nContent-Type: text/plain\n\n"
		  "t\n--d--\n",
		  "multipart/digest(message/rfc822(text/plain[1:in body]) "
		  "text/plain[1:t])" },
		{ "Content-Type: message/rfc822\n\nContent-Type: multipart/"
		  "mixed; boundary=q\n\n--q\n\nx\n--q--\n",
		  "message/rfc822(multipart/mixed(text/plain[1:x]))" },
		/* An encoded message/rfc822 is a leaf. */
		{ "Content-Type: message/rfc822\nContent-Transfer-Encoding: "
		  "base64\n\nU3ViamVjdDogeA==\n",
		  "message/rfc822[1:U3ViamVjdDogeA==\n]" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct mime_part *top = mime_parse(t[i].msg, strlen(t[i].msg),
		    NULL);
		struct buf b;

		buf_init(&b, 0);
		render(&b, t[i].msg, top);
		if (strcmp(b.data, t[i].tree) != 0)
			fail_msg("case %zu: got %s", i, b.data);
		buf_release(&b);
		mime_free(top);
	}
}

static void
test_depth_and_parts_limit(void **state)
{
	struct mime_limits lim;
	struct mime_part *top;
	const struct mime_part *p;
	struct buf m;
	size_t depth = 0;

	buf_init(&m, 0);
	for (int i = 0; i < 100; i++)
		buf_printf(&m, "Content-Type: multipart/mixed; boundary=x%dx\n\n"
		    "--x%dx\n", i, i);
	buf_append_str(&m, "\ndeep\n");
	top = mime_parse(m.data, m.len, NULL);
	for (p = top; p->is_multipart; p = &p->kids[0])
		depth++;
	assert_int_equal(depth, 30);
	assert_true(p->truncated);
	mime_free(top);

	mime_limits_default(&lim);
	lim.parts_max = 3;
	buf_reset(&m);
	buf_append_str(&m, "Content-Type: multipart/mixed; boundary=x\n\n");
	for (int i = 0; i < 10; i++)
		buf_append_str(&m, "--x\n\npart\n");
	top = mime_parse(m.data, m.len, &lim);
	assert_int_equal(top->n_kids, 3);
	assert_true(top->truncated);
	mime_free(top);
	buf_release(&m);
}

static void
test_fields_and_params(void **state)
{
	static const char msg[] =
	    "Content-Type: text/plain; charset=\"utf-8\" (c);\r\n"
	    " format=flowed; name=\"a \\\"q\\\" b.txt\"; junk; x = y\r\n"
	    "Content-Transfer-Encoding: Quoted-Printable\r\n"
	    "Content-ID: <id@x>\r\n"
	    "Content-Description: the\r\n  text\r\n"
	    "Content-Disposition: attachment; filename=a.txt\r\n"
	    "Content-Language: en\r\nContent-Location: http://x/\r\n"
	    "Content-MD5: abc=\r\n"
	    "\r\nbody=\r\n";
	struct mime_part *top = mime_parse(msg, strlen(msg), NULL);

	assert_string_equal(top->type, "text");
	assert_string_equal(top->subtype, "plain");
	assert_int_equal(top->params.n, 4);
	assert_string_equal(mime_param_get(&top->params, "CHARSET"), "utf-8");
	assert_string_equal(mime_param_get(&top->params, "format"), "flowed");
	assert_string_equal(mime_param_get(&top->params, "name"),
	    "a \"q\" b.txt");
	assert_string_equal(mime_param_get(&top->params, "x"), "y");
	assert_null(mime_param_get(&top->params, "junk"));
	assert_string_equal(top->encoding, "quoted-printable");
	assert_string_equal(top->id, "<id@x>");
	assert_string_equal(top->description, "the  text");
	assert_string_equal(top->disposition, "attachment");
	assert_string_equal(mime_param_get(&top->disp_params, "filename"),
	    "a.txt");
	assert_string_equal(top->language, "en");
	assert_string_equal(top->location, "http://x/");
	assert_string_equal(top->md5, "abc=");
	assert_int_equal(top->hdr_len, strlen(msg) - strlen("body=\r\n"));
	assert_int_equal(top->body_lines, 1);
	mime_free(top);
}

static void
test_part_find(void **state)
{
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=o\n\n"
	    "--o\n\nfirst\n"
	    "--o\nContent-Type: message/rfc822\n\n"
	    "Subject: inner\nContent-Type: multipart/alternative; "
	    "boundary=i\n\n--i\n\nalt1\n--i\n\nalt2\n--i--\n"
	    "--o\nContent-Type: message/rfc822\n\nSubject: simple\n\nsbody\n"
	    "--o--\n";
	struct mime_part *top = mime_parse(msg, strlen(msg), NULL);
	static const struct {
		uint32_t part[4];
		size_t n;
		const char *body;	/* NULL: not found */
	} t[] = {
		{ { 1 }, 1, "first" },
		{ { 2, 1 }, 2, "alt1" },
		{ { 2, 2 }, 2, "alt2" },
		{ { 2, 3 }, 2, NULL },
		{ { 3, 1 }, 2, "sbody" },
		{ { 3, 2 }, 2, NULL },
		{ { 1, 1 }, 2, "first" },
		{ { 1, 2 }, 2, NULL },
		{ { 4 }, 1, NULL },
		{ { 0 }, 1, NULL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const struct mime_part *p = mime_part_find(top, t[i].part,
		    t[i].n);

		if (t[i].body == NULL) {
			assert_null(p);
			continue;
		}
		assert_non_null(p);
		assert_int_equal(p->body_len, strlen(t[i].body));
		assert_memory_equal(msg + p->body_off, t[i].body,
		    p->body_len);
	}
	{
		uint32_t two = 2;
		const struct mime_part *p = mime_part_find(top, &two, 1), *m;

		m = mime_part_message(p, false);
		assert_non_null(m);
		assert_memory_equal(msg + m->hdr_off, "Subject: inner\n", 15);
		assert_null(mime_part_message(&top->kids[0], false));
		assert_ptr_equal(mime_part_message(top, true), top);
	}
	assert_ptr_equal(mime_part_find(top, NULL, 0), top);
	mime_free(top);

	/* "1" of a single-part message is its body. */
	top = mime_parse("S: x\n\nb\n", 8, NULL);
	{
		uint32_t one = 1, two = 2;

		assert_ptr_equal(mime_part_find(top, &one, 1), top);
		assert_null(mime_part_find(top, &two, 1));
	}
	mime_free(top);
}

static void
test_header_filter(void **state)
{
	static const char hdr[] = "From: a\r\nTo: b,\r\n c\r\nSubject: s\r\n"
	    "X-Odd : y\r\nbroken line\r\n\r\nbody";
	char *names[] = { "to", "x-odd" };
	struct buf b;

	buf_init(&b, 0);
	mime_header_filter(hdr, strlen(hdr), names, 2, true, &b);
	assert_string_equal(b.data, "To: b,\r\n c\r\nX-Odd : y\r\n\r\n");
	buf_reset(&b);
	mime_header_filter(hdr, strlen(hdr), names, 2, false, &b);
	assert_string_equal(b.data, "From: a\r\nSubject: s\r\n\r\n");
	buf_reset(&b);
	mime_header_filter("To: x", 5, names, 1, true, &b);
	assert_string_equal(b.data, "To: x\r\n\r\n");
	buf_release(&b);
}

static void
test_parse_value(void **state)
{
	struct mime_params ps = { NULL, 0 };
	char *main;

	mime_parse_value(" (x) Inline ;filename*0=\"a\"; filename*1=b;",
	    41, &main, &ps);
	assert_string_equal(main, "inline");
	assert_int_equal(ps.n, 2);
	assert_string_equal(ps.v[0].name, "filename*0");
	assert_string_equal(ps.v[1].value, "b");
	free(main);
	mime_params_release(&ps);
	mime_parse_value("", 0, &main, &ps);
	assert_null(main);
	assert_int_equal(ps.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structures),
		cmocka_unit_test(test_depth_and_parts_limit),
		cmocka_unit_test(test_fields_and_params),
		cmocka_unit_test(test_part_find),
		cmocka_unit_test(test_header_filter),
		cmocka_unit_test(test_parse_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
