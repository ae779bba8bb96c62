/*
 * Unit tests for src/imapd/imap_render: IMAP strings, ENVELOPE (defaults,
 * groups, hostile header text) and BODY/BODYSTRUCTURE of single-part,
 * multipart and embedded messages.  The module belongs to the imapd
 * executable, so it is compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../../src/imapd/imap_render.c"

static void
test_strings(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "abc", "\"abc\"" },
		{ "", "\"\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "a\r\n* BYE", "{8}\r\na\r\n* BYE" },
		{ "\xc3\xa4", "{2}\r\n\xc3\xa4" },
	};
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_reset(&b);
		imap_render_cstring(&b, t[i].in);
		assert_string_equal(b.data, t[i].out);
	}
	buf_reset(&b);
	imap_render_cstring(&b, NULL);
	assert_string_equal(b.data, "NIL");
	buf_release(&b);
}

static void
check(const char *msg, bool envelope, bool extended, const char *want)
{
	struct mime_part *top = mime_parse(msg, strlen(msg), NULL);
	struct buf b;

	buf_init(&b, 0);
	if (envelope)
		imap_render_envelope(&b, msg, top);
	else
		imap_render_body(&b, msg, top, extended);
	if (strcmp(b.data, want) != 0)
		fail_msg("got  %s\nwant %s", b.data, want);
	buf_release(&b);
	mime_free(top);
}

static void
test_envelope(void **state)
{
	check("Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: hi \"x\"\r\n"
	    "From: Joe <joe@example.com>\r\nTo: a@x, team: b@y, c@z;\r\n"
	    "Message-ID: <1@x>\r\n\r\nbody\r\n", true, false,
	    "(\"Mon, 1 Jan 2024 00:00:00 +0000\" \"hi \\\"x\\\"\" "
	    "((\"Joe\" NIL \"joe\" \"example.com\")) "
	    "((\"Joe\" NIL \"joe\" \"example.com\")) "
	    "((\"Joe\" NIL \"joe\" \"example.com\")) "
	    "((NIL NIL \"a\" \"x\")(NIL NIL \"team\" NIL)"
	    "(NIL NIL \"b\" \"y\")(NIL NIL \"c\" \"z\")(NIL NIL NIL NIL)) "
	    "NIL NIL NIL \"<1@x>\")");
	check("Subject: a\r\n\tb\r\nSender: s@x\r\nReply-To: r@x\r\n"
	    "Cc: c@x\r\nBcc: b@x\r\nIn-Reply-To: <0@x>\r\n\r\n", true, false,
	    "(NIL \"a\tb\" NIL ((NIL NIL \"s\" \"x\")) ((NIL NIL \"r\" \"x\")) "
	    "NIL ((NIL NIL \"c\" \"x\")) ((NIL NIL \"b\" \"x\")) \"<0@x>\" NIL)");
	check("", true, false, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

static void
test_body(void **state)
{
	check("Subject: x\r\n\r\nline1\r\nline2\r\n", false, false,
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "14 2)");
	check("Content-Type: image/png; name=a.png\r\nContent-Transfer-"
	    "Encoding: base64\r\nContent-Disposition: attachment; "
	    "filename=a.png\r\nContent-ID: <i>\r\n\r\nAAAA\r\n", false, true,
	    "(\"image\" \"png\" (\"name\" \"a.png\") \"<i>\" NIL \"base64\" 6 "
	    "NIL (\"attachment\" (\"filename\" \"a.png\")) NIL NIL)");
	check("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"
	    "one\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: in"
	    "\r\n\r\nx\r\n--b--\r\n", false, true,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "3 1 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" "
	    "16 (NIL \"in\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" "
	    "\"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 1 NIL NIL "
	    "NIL NIL) 3 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL "
	    "NIL NIL)");
	check("Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
	    "\r\none\r\n--b--\r\n", false, false,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "3 1) \"alternative\")");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
