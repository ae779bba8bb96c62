/* Unit tests for src/global/smtp_cmd: command lines, xtext, replies. */
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
#include "smtp_cmd.h"

/*
 * A one-line summary of a parsed command, so that each table row can say
 * everything it expects in one string.
 */
static void
describe(const struct smtp_cmd *c, struct buf *b)
{
	static const char *bodies[] = { "", "7BIT", "8BITMIME", "BINARYMIME" };
	static const char *rets[] = { "", "FULL", "HDRS" };

	buf_reset(b);
	buf_append_str(b, c->name);
	if (c->verb == SMTP_VERB_MAIL || c->verb == SMTP_VERB_RCPT) {
		buf_printf(b, " <%s>", c->path.addr);
		if (c->path.no_brackets)
			buf_append_str(b, " nobrackets");
		if (c->path.had_route)
			buf_append_str(b, " route");
	} else if (c->arg != NULL) {
		buf_printf(b, " [%s]", c->arg);
	}
	if (c->has_size)
		buf_printf(b, " size=%llu", (unsigned long long)c->size);
	if (c->body)
		buf_printf(b, " body=%s", bodies[c->body]);
	if (c->smtputf8)
		buf_append_str(b, " smtputf8");
	if (c->ret)
		buf_printf(b, " ret=%s", rets[c->ret]);
	if (c->envid)
		buf_printf(b, " envid=%s", c->envid);
	if (c->auth)
		buf_printf(b, " auth=%s", c->auth);
	if (c->notify)
		buf_printf(b, " notify=%s%s%s%s",
		    c->notify & SMTP_NOTIFY_NEVER ? "N" : "",
		    c->notify & SMTP_NOTIFY_SUCCESS ? "S" : "",
		    c->notify & SMTP_NOTIFY_FAILURE ? "F" : "",
		    c->notify & SMTP_NOTIFY_DELAY ? "D" : "");
	if (c->orcpt)
		buf_printf(b, " orcpt=%s;%s", c->orcpt_type, c->orcpt);
	if (c->verb == SMTP_VERB_BDAT)
		buf_printf(b, " chunk=%llu%s", (unsigned long long)c->chunk_size,
		    c->last ? " last" : "");
	if (c->auth_mech)
		buf_printf(b, " mech=%s", c->auth_mech);
	if (c->auth_initial)
		buf_printf(b, " ir=%s", c->auth_initial);
}

struct cmd_case {
	const char *line;
	unsigned flags;
	const char *summary;	/* on success */
	const char *reply;	/* on failure */
	const char *reason;
};

#define OK(l, f, s) { l, f, s, NULL, NULL }
#define BAD(l, f, r, why) { l, f, NULL, r, why }

#define E_SYNTAX "500 5.5.2 Error: bad syntax"
#define E_UNKNOWN "502 5.5.2 Error: command not recognized"
#define E_MAIL "501 5.5.4 Syntax: MAIL FROM:<address>"
#define E_RCPT "501 5.5.4 Syntax: RCPT TO:<address>"
#define E_FROM "501 5.1.7 Bad sender address syntax"
#define E_TO "501 5.1.3 Bad recipient address syntax"
#define E_UNSUP "555 5.5.4 Unsupported option"
#define E_PARAM "501 5.5.4 Bad ESMTP parameter syntax"
#define E_DUP "501 5.5.4 Duplicate ESMTP parameter"

static const struct cmd_case cmd_cases[] = {
	/* verbs, any case */
	OK("EHLO client.example", 0, "EHLO [client.example]"),
	OK("ehlo client.example", 0, "EHLO [client.example]"),
	OK("HeLo  client.example  ", 0, "HELO [client.example]"),
	OK("HELO [192.0.2.1]", 0, "HELO [[192.0.2.1]]"),
	OK("HELO two words", 0, "HELO [two words]"),
	OK("DATA", 0, "DATA"),
	OK("data ", 0, "DATA"),
	OK("RSET", 0, "RSET"),
	OK("NOOP", 0, "NOOP"),
	OK("NOOP anything at all", 0, "NOOP [anything at all]"),
	OK("QUIT", 0, "QUIT"),
	OK("VRFY user", 0, "VRFY [user]"),
	OK("EXPN list", 0, "EXPN [list]"),
	OK("HELP", 0, "HELP"),
	OK("HELP MAIL", 0, "HELP [MAIL]"),
	OK("STARTTLS", 0, "STARTTLS"),
	OK("starttls", 0, "STARTTLS"),
	OK("  QUIT", 0, "QUIT"),
	OK("\tNOOP\t", 0, "NOOP"),
	OK("QUIT\r", 0, "QUIT"),
	OK("MAIL FROM:<a@x> SIZE=1\r", 0, "MAIL <a@x> size=1"),
	BAD("QUIT\r\r", 0, E_UNKNOWN, "unknown command"),
	BAD("", 0, E_SYNTAX, "empty command"),
	BAD("   ", 0, E_SYNTAX, "empty command"),
	BAD("FOO bar", 0, E_UNKNOWN, "unknown command"),
	BAD("MAILFROM:<a@b>", 0, E_UNKNOWN, "unknown command"),
	BAD("EHL", 0, E_UNKNOWN, "unknown command"),
	BAD("STARTTLSX", 0, E_UNKNOWN, "unknown command"),
	BAD("GET / HTTP/1.0", 0, E_UNKNOWN, "unknown command"),
	BAD("HELO", 0, "501 5.5.2 Syntax: HELO hostname", "missing argument"),
	BAD("EHLO   ", 0, "501 5.5.2 Syntax: EHLO hostname", "missing argument"),
	BAD("DATA now", 0, "501 5.5.4 Syntax: DATA", "unexpected argument"),
	BAD("RSET x", 0, "501 5.5.4 Syntax: RSET", "unexpected argument"),
	BAD("QUIT now", 0, "501 5.5.4 Syntax: QUIT", "unexpected argument"),
	BAD("STARTTLS x", 0, "501 5.5.4 Syntax: STARTTLS", "unexpected argument"),
	BAD("VRFY", 0, "501 5.5.4 Syntax: VRFY address", "missing argument"),
	BAD("EXPN", 0, "501 5.5.4 Syntax: EXPN address", "missing argument"),

	/* MAIL */
	OK("MAIL FROM:<a@b.example>", 0, "MAIL <a@b.example>"),
	OK("mail from:<a@b.example>", 0, "MAIL <a@b.example>"),
	OK("MAIL FROM: <a@b.example>", 0, "MAIL <a@b.example>"),
	OK("MAIL  FROM:<a@b.example>", 0, "MAIL <a@b.example>"),
	OK("MAIL FROM:<>", 0, "MAIL <>"),
	OK("MAIL FROM:<> SIZE=0", 0, "MAIL <> size=0"),
	OK("MAIL FROM:a@b.example", SMTP_CMD_LENIENT,
	   "MAIL <a@b.example> nobrackets"),
	OK("MAIL FROM:a@b.example SIZE=5", SMTP_CMD_LENIENT,
	   "MAIL <a@b.example> nobrackets size=5"),
	OK("MAIL FROM:<@r.example:a@b.example>", 0, "MAIL <a@b.example> route"),
	OK("MAIL FROM:<\"a b\"@x> BODY=8BITMIME", 0,
	   "MAIL <a b@x> body=8BITMIME"),
	OK("MAIL FROM:<\"a>b\"@x> BODY=7bit", 0, "MAIL <a>b@x> body=7BIT"),
	OK("MAIL FROM:<a@x> body=binarymime", 0, "MAIL <a@x> body=BINARYMIME"),
	OK("MAIL FROM:<a@x> SIZE=12345", 0, "MAIL <a@x> size=12345"),
	OK("MAIL FROM:<a@x> SIZE=18446744073709551615", 0,
	   "MAIL <a@x> size=18446744073709551615"),
	OK("MAIL FROM:<a@x> SIZE=99999999999999999999", 0,
	   "MAIL <a@x> size=18446744073709551615"),
	OK("MAIL FROM:<a@x>   SIZE=1   BODY=8BITMIME  ", 0,
	   "MAIL <a@x> size=1 body=8BITMIME"),
	OK("MAIL FROM:<a@x> SMTPUTF8", 0, "MAIL <a@x> smtputf8"),
	OK("MAIL FROM:<\xc3\xa9@x> SMTPUTF8", 0, "MAIL <\xc3\xa9@x> smtputf8"),
	OK("MAIL FROM:<a@x> RET=FULL ENVID=QQ314159", 0,
	   "MAIL <a@x> ret=FULL envid=QQ314159"),
	OK("MAIL FROM:<a@x> ret=hdrs envid=a+2Bb+3Dc+20d", 0,
	   "MAIL <a@x> ret=HDRS envid=a+b=c d"),
	OK("MAIL FROM:<a@x> AUTH=<>", 0, "MAIL <a@x> auth=<>"),
	OK("MAIL FROM:<a@x> AUTH=e+2Bf@x.example", 0,
	   "MAIL <a@x> auth=e+f@x.example"),
	BAD("MAIL", 0, E_MAIL, "missing FROM:"),
	BAD("MAIL FROM", 0, E_MAIL, "missing FROM:"),
	BAD("MAIL TO:<a@b>", 0, E_MAIL, "missing FROM:"),
	BAD("MAIL FROM:", 0, E_MAIL, "missing address"),
	BAD("MAIL FROM:   ", 0, E_MAIL, "missing address"),
	BAD("MAIL FROM <a@b>", 0, E_MAIL, "missing FROM:"),
	BAD("MAIL FROM:<a@b>SIZE=1", 0, E_MAIL, "garbage after address"),
	BAD("MAIL FROM:a@b.example", 0, E_FROM, "missing '<'"),
	BAD("MAIL FROM:<a@b.example", 0, E_FROM, "missing '>'"),
	BAD("MAIL FROM:<a@b.example SIZE=10", 0, E_FROM, "missing '>'"),
	BAD("MAIL FROM:<a@@b>", 0, E_FROM, "bad character in domain"),
	BAD("MAIL FROM:<\xc3\xa9@x>", 0,
	    "553 5.6.7 Must declare SMTPUTF8 to send unicode address",
	    "non-ASCII address without SMTPUTF8"),
	BAD("MAIL FROM:<a@x> FOO=bar", 0, E_UNSUP, "unsupported option: FOO=bar"),
	BAD("MAIL FROM:<a@x> NOTIFY=NEVER", 0, E_UNSUP,
	    "unsupported option: NOTIFY=NEVER"),
	BAD("MAIL FROM:<a@x> X-FOO", 0, E_UNSUP, "unsupported option: X-FOO"),
	BAD("MAIL FROM:<a@x> -FOO", 0, E_PARAM, "bad parameter syntax: -FOO"),
	BAD("MAIL FROM:<a@x> SIZE=", 0, E_PARAM, "bad parameter syntax: SIZE="),
	BAD("MAIL FROM:<a@x> =1", 0, E_PARAM, "bad parameter syntax: =1"),
	BAD("MAIL FROM:<a@x> SI_ZE=1", 0, E_PARAM,
	    "bad parameter syntax: SI_ZE=1"),
	BAD("MAIL FROM:<a@x> SIZE=1=2", 0, E_PARAM, "bad parameter value: SIZE"),
	BAD("MAIL FROM:<a@x> ENVID=\xc3\xa9", 0, E_PARAM,
	    "bad parameter value: ENVID"),
	BAD("MAIL FROM:<a@x> SIZE", 0, "501 5.5.4 Bad message size syntax",
	    "bad SIZE value"),
	BAD("MAIL FROM:<a@x> SIZE=12k", 0, "501 5.5.4 Bad message size syntax",
	    "bad SIZE value"),
	BAD("MAIL FROM:<a@x> SIZE=-1", 0, "501 5.5.4 Bad message size syntax",
	    "bad SIZE value"),
	BAD("MAIL FROM:<a@x> SIZE=123456789012345678901", 0,
	    "501 5.5.4 Bad message size syntax", "bad SIZE value"),
	BAD("MAIL FROM:<a@x> SIZE=1 SIZE=2", 0, E_DUP, "duplicate SIZE parameter"),
	BAD("MAIL FROM:<a@x> BODY=8BIT", 0, "501 5.5.4 Bad BODY keyword value",
	    "bad BODY value"),
	BAD("MAIL FROM:<a@x> BODY", 0, "501 5.5.4 Bad BODY keyword value",
	    "bad BODY value"),
	BAD("MAIL FROM:<a@x> BODY=7BIT body=7BIT", 0, E_DUP,
	    "duplicate body parameter"),
	BAD("MAIL FROM:<a@x> SMTPUTF8=yes", 0, E_PARAM,
	    "SMTPUTF8 takes no value"),
	BAD("MAIL FROM:<a@x> SMTPUTF8 SMTPUTF8", 0, E_DUP,
	    "duplicate SMTPUTF8 parameter"),
	BAD("MAIL FROM:<a@x> RET=ALL", 0, "501 5.5.4 Bad RET parameter syntax",
	    "bad RET value"),
	BAD("MAIL FROM:<a@x> RET", 0, "501 5.5.4 Bad RET parameter syntax",
	    "bad RET value"),
	BAD("MAIL FROM:<a@x> RET=FULL RET=HDRS", 0, E_DUP,
	    "duplicate RET parameter"),
	BAD("MAIL FROM:<a@x> ENVID=a+2", 0, "501 5.5.4 Bad ENVID parameter syntax",
	    "bad ENVID value"),
	BAD("MAIL FROM:<a@x> ENVID=a+ZZb", 0,
	    "501 5.5.4 Bad ENVID parameter syntax", "bad ENVID value"),
	BAD("MAIL FROM:<a@x> ENVID=a+00b", 0,
	    "501 5.5.4 Bad ENVID parameter syntax", "bad ENVID value"),
	BAD("MAIL FROM:<a@x> ENVID=a+0Ab", 0,
	    "501 5.5.4 Bad ENVID parameter syntax", "bad ENVID value"),
	BAD("MAIL FROM:<a@x> ENVID=a+C3+A9", 0,
	    "501 5.5.4 Bad ENVID parameter syntax", "bad ENVID value"),
	BAD("MAIL FROM:<a@x> ENVID", 0, "501 5.5.4 Bad ENVID parameter syntax",
	    "bad ENVID value"),
	BAD("MAIL FROM:<a@x> ENVID=12345678901234567890123456789012345678901"
	    "234567890123456789012345678901234567890123456789012345678901", 0,
	    "501 5.5.4 Bad ENVID parameter syntax", "bad ENVID value"),
	BAD("MAIL FROM:<a@x> ENVID=a ENVID=b", 0, E_DUP,
	    "duplicate ENVID parameter"),
	BAD("MAIL FROM:<a@x> AUTH=a+", 0, "501 5.5.4 Bad AUTH parameter syntax",
	    "bad AUTH value"),
	BAD("MAIL FROM:<a@x> AUTH", 0, "501 5.5.4 Bad AUTH parameter syntax",
	    "bad AUTH value"),
	BAD("MAIL FROM:<a@x> AUTH=<> AUTH=<>", 0, E_DUP,
	    "duplicate AUTH parameter"),

	/* RCPT */
	OK("RCPT TO:<a@b.example>", 0, "RCPT <a@b.example>"),
	OK("rcpt to: <a@b.example>", 0, "RCPT <a@b.example>"),
	OK("RCPT TO:<Postmaster>", 0, "RCPT <Postmaster>"),
	OK("RCPT TO:<user>", SMTP_CMD_NODOMAIN, "RCPT <user>"),
	OK("RCPT TO:<\xc3\xa9@x>", SMTP_CMD_SMTPUTF8, "RCPT <\xc3\xa9@x>"),
	OK("RCPT TO:a@x", SMTP_CMD_LENIENT, "RCPT <a@x> nobrackets"),
	OK("RCPT TO:\"a b\"@x NOTIFY=NEVER", SMTP_CMD_LENIENT,
	   "RCPT <a b@x> nobrackets notify=N"),
	OK("RCPT TO:<a@x> NOTIFY=SUCCESS,FAILURE,DELAY", 0,
	   "RCPT <a@x> notify=SFD"),
	OK("RCPT TO:<a@x> notify=delay", 0, "RCPT <a@x> notify=D"),
	OK("RCPT TO:<a@x> ORCPT=rfc822;a+2Bb@x", 0,
	   "RCPT <a@x> orcpt=rfc822;a+b@x"),
	OK("RCPT TO:<a@x> NOTIFY=FAILURE ORCPT=rfc822;a@x", 0,
	   "RCPT <a@x> notify=F orcpt=rfc822;a@x"),
	OK("RCPT TO:<a@x> ORCPT=utf-8;a\\x{E9}@x", 0,
	   "RCPT <a@x> orcpt=utf-8;a\\x{E9}@x"),
	BAD("RCPT", 0, E_RCPT, "missing TO:"),
	BAD("RCPT FROM:<a@b>", 0, E_RCPT, "missing TO:"),
	BAD("RCPT TO:", 0, E_RCPT, "missing address"),
	BAD("RCPT TO:<>", 0, E_TO, "empty address"),
	BAD("RCPT TO:<user>", 0, E_TO, "missing domain"),
	/* found by fuzz_smtp_cmd */
	BAD("MAIL FROM:<\"aMTPUTF?8@ AU b(\"> SMTPUTF8 AUTH=<>",
	    SMTP_CMD_NODOMAIN, E_FROM,
	    "'@' in local part of an address without domain"),
	BAD("RCPT TO:a@x", 0, E_TO, "missing '<'"),
	BAD("RCPT TO:<\xc3\xa9@x>", 0,
	    "553 5.6.7 Must declare SMTPUTF8 to send unicode address",
	    "non-ASCII address without SMTPUTF8"),
	BAD("RCPT TO:<a@x> SIZE=1", 0, E_UNSUP, "unsupported option: SIZE=1"),
	BAD("RCPT TO:<a@x> SMTPUTF8", 0, E_UNSUP, "unsupported option: SMTPUTF8"),
	BAD("RCPT TO:<a@x> NOTIFY=NEVER,SUCCESS", 0,
	    "501 5.5.4 Error: Bad NOTIFY parameter syntax", "bad NOTIFY value"),
	BAD("RCPT TO:<a@x> NOTIFY=SUCCESS,SUCCESS", 0,
	    "501 5.5.4 Error: Bad NOTIFY parameter syntax", "bad NOTIFY value"),
	BAD("RCPT TO:<a@x> NOTIFY=SUCCESS,", 0,
	    "501 5.5.4 Error: Bad NOTIFY parameter syntax", "bad NOTIFY value"),
	BAD("RCPT TO:<a@x> NOTIFY=ALWAYS", 0,
	    "501 5.5.4 Error: Bad NOTIFY parameter syntax", "bad NOTIFY value"),
	BAD("RCPT TO:<a@x> NOTIFY", 0,
	    "501 5.5.4 Error: Bad NOTIFY parameter syntax", "bad NOTIFY value"),
	BAD("RCPT TO:<a@x> NOTIFY=DELAY NOTIFY=DELAY", 0, E_DUP,
	    "duplicate NOTIFY parameter"),
	BAD("RCPT TO:<a@x> ORCPT=rfc822", 0,
	    "501 5.5.4 Error: Bad ORCPT parameter syntax",
	    "bad ORCPT address type"),
	BAD("RCPT TO:<a@x> ORCPT=rfc822;", 0,
	    "501 5.5.4 Error: Bad ORCPT parameter syntax",
	    "bad ORCPT address type"),
	BAD("RCPT TO:<a@x> ORCPT=;a@x", 0,
	    "501 5.5.4 Error: Bad ORCPT parameter syntax",
	    "bad ORCPT address type"),
	BAD("RCPT TO:<a@x> ORCPT=rfc.822;a@x", 0,
	    "501 5.5.4 Error: Bad ORCPT parameter syntax",
	    "bad ORCPT address type"),
	BAD("RCPT TO:<a@x> ORCPT=rfc822;a+0@x", 0,
	    "501 5.5.4 Error: Bad ORCPT parameter syntax", "bad ORCPT address"),
	BAD("RCPT TO:<a@x> ORCPT", 0,
	    "501 5.5.4 Error: Bad ORCPT parameter syntax", "bad ORCPT value"),
	BAD("RCPT TO:<a@x> ORCPT=rfc822;a@x ORCPT=rfc822;b@x", 0, E_DUP,
	    "duplicate ORCPT parameter"),

	/* BDAT */
	OK("BDAT 100", 0, "BDAT [100] chunk=100"),
	OK("BDAT 0 LAST", 0, "BDAT [0 LAST] chunk=0 last"),
	OK("bdat 42  last", 0, "BDAT [42  last] chunk=42 last"),
	OK("BDAT 18446744073709551615", 0,
	   "BDAT [18446744073709551615] chunk=18446744073709551615"),
	BAD("BDAT", 0, "501 5.5.4 Syntax: BDAT count [LAST]", "bad chunk size"),
	BAD("BDAT x", 0, "501 5.5.4 Syntax: BDAT count [LAST]", "bad chunk size"),
	BAD("BDAT -1", 0, "501 5.5.4 Syntax: BDAT count [LAST]", "bad chunk size"),
	BAD("BDAT 10x", 0, "501 5.5.4 Syntax: BDAT count [LAST]",
	    "bad chunk size"),
	BAD("BDAT 10 FIRST", 0, "501 5.5.4 Syntax: BDAT count [LAST]",
	    "garbage after chunk size"),
	BAD("BDAT 10 LAST x", 0, "501 5.5.4 Syntax: BDAT count [LAST]",
	    "garbage after chunk size"),
	BAD("BDAT 18446744073709551616", 0,
	    "501 5.5.4 Syntax: BDAT count [LAST]", "chunk size too large"),
	BAD("BDAT 123456789012345678901", 0,
	    "501 5.5.4 Syntax: BDAT count [LAST]", "bad chunk size"),

	/* AUTH */
	OK("AUTH PLAIN", 0, "AUTH [PLAIN] mech=PLAIN"),
	OK("auth plain AGFsaWNlAHNlY3JldA==", 0,
	   "AUTH [plain AGFsaWNlAHNlY3JldA==] mech=PLAIN ir=AGFsaWNlAHNlY3JldA=="),
	OK("AUTH LOGIN =", 0, "AUTH [LOGIN =] mech=LOGIN ir=="),
	OK("AUTH SCRAM-SHA-256", 0, "AUTH [SCRAM-SHA-256] mech=SCRAM-SHA-256"),
	BAD("AUTH", 0, "501 5.5.4 Syntax: AUTH mechanism", "missing argument"),
	BAD("AUTH PL@IN", 0, "501 5.5.4 Syntax: AUTH mechanism",
	    "bad mechanism name"),
	BAD("AUTH ABCDEFGHIJKLMNOPQRSTU", 0, "501 5.5.4 Syntax: AUTH mechanism",
	    "bad mechanism name"),
	BAD("AUTH PLAIN a b", 0, "501 5.5.4 Syntax: AUTH mechanism",
	    "bad initial response"),
	BAD("AUTH PLAIN a*b", 0, "501 5.5.4 Syntax: AUTH mechanism",
	    "bad initial response"),
};

static void
test_cmd_table(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t k = 0; k < sizeof(cmd_cases) / sizeof(cmd_cases[0]); k++) {
		const struct cmd_case *c = &cmd_cases[k];
		const struct smtp_status *status = NULL;
		const char *reason = NULL;
		struct smtp_cmd cmd;
		int ret;

		ret = smtp_cmd_parse(c->line, strlen(c->line), c->flags, &cmd,
		    &status, &reason);
		if (c->summary != NULL) {
			if (ret != 0)
				fail_msg("case %zu '%s': %s (%s)", k, c->line,
				    status->reply, reason);
			describe(&cmd, &b);
			if (strcmp(b.data, c->summary) != 0)
				fail_msg("case %zu '%s': got '%s'", k, c->line,
				    b.data);
		} else {
			if (ret != -1)
				fail_msg("case %zu '%s' accepted", k, c->line);
			if (strcmp(status->reply, c->reply) != 0 ||
			    strcmp(reason, c->reason) != 0)
				fail_msg("case %zu '%s': got '%s' (%s)", k, c->line,
				    status->reply, reason);
		}
		smtp_cmd_release(&cmd);
	}
	buf_release(&b);
}

static void
test_cmd_details(void **state)
{
	const struct smtp_status *status;
	const char *reason;
	struct smtp_cmd cmd;
	static const char nul[] = "MAIL FROM:<a@x>\0 SIZE=1";

	/* NUL bytes in the line. */
	assert_int_equal(smtp_cmd_parse(nul, sizeof(nul) - 1, 0, &cmd, &status,
	    &reason), -1);
	assert_string_equal(status->reply, "500 5.5.2 Error: bad syntax");
	assert_string_equal(reason, "NUL byte in command");
	assert_int_equal(cmd.verb, SMTP_VERB_MAIL);
	smtp_cmd_release(&cmd);
	assert_int_equal(smtp_cmd_parse("NO\0OP", 5, 0, &cmd, &status,
	    &reason), -1);
	assert_string_equal(status->reply, "502 5.5.2 Error: command not recognized");
	smtp_cmd_release(&cmd);

	/* The line need not be NUL-terminated: only LEN bytes count. */
	assert_int_equal(smtp_cmd_parse("QUITXYZ", 4, 0, &cmd, &status,
	    &reason), 0);
	assert_int_equal(cmd.verb, SMTP_VERB_QUIT);
	assert_string_equal(cmd.name, "QUIT");
	smtp_cmd_release(&cmd);
	assert_int_equal(smtp_cmd_parse("RCPT TO:<a@x>>>", 13, 0, &cmd,
	    &status, &reason), 0);
	assert_string_equal(cmd.path.addr, "a@x");
	assert_string_equal(cmd.arg, "TO:<a@x>");
	smtp_cmd_release(&cmd);

	/* Status fields. */
	assert_int_equal(smtp_cmd_parse("FOO", 3, 0, &cmd, &status, &reason),
	    -1);
	assert_int_equal(status->code, 502);
	assert_string_equal(status->enhanced, "5.5.2");
	assert_string_equal(status->text, "Error: command not recognized");
	assert_int_equal(cmd.verb, SMTP_VERB_NONE);
	smtp_cmd_release(&cmd);

	/* Each verb has its name. */
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_VERB_BDAT), "BDAT");
	assert_string_equal(smtp_verb_name(SMTP_VERB_NONE), "");

	/* A reused struct after release. */
	assert_int_equal(smtp_cmd_parse("MAIL FROM:<a@X.ORG> SIZE=7", 26, 0,
	    &cmd, &status, &reason), 0);
	assert_string_equal(cmd.path.domain_lower, "x.org");
	assert_true(cmd.has_size);
	smtp_cmd_release(&cmd);
	assert_false(cmd.has_size);
	assert_null(cmd.arg);
}

static void
test_xtext(void **state)
{
	static const struct {
		const char *in;
		const char *out;	/* NULL: invalid */
	} cases[] = {
		{ "", "" },
		{ "abc", "abc" },
		{ "a+2Bb", "a+b" },
		{ "+3D", "=" },
		{ "+20", " " },
		{ "+7E", "~" },
		{ "+2b", "+" },
		{ "+7F", NULL },
		{ "+1F", NULL },
		{ "+", NULL },
		{ "+2", NULL },
		{ "+G0", NULL },
		{ "a=b", NULL },
		{ "a b", NULL },
		{ "\x7f", NULL },
		{ "\xc3\xa9", NULL },
	};
	struct buf b;

	buf_init(&b, 0);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		buf_reset(&b);
		buf_append_str(&b, "pre:");
		if (cases[k].out == NULL) {
			assert_int_equal(smtp_xtext_decode(cases[k].in,
			    strlen(cases[k].in), &b), -1);
			assert_string_equal(b.data, "pre:");
		} else {
			assert_int_equal(smtp_xtext_decode(cases[k].in,
			    strlen(cases[k].in), &b), 0);
			assert_string_equal(b.data + 4, cases[k].out);
		}
	}
	buf_reset(&b);
	assert_int_equal(smtp_xtext_encode("a+b=c d\xe9", 8, &b), 0);
	assert_string_equal(b.data, "a+2Bb+3Dc+20d+E9");
	buf_release(&b);
	/* Round trip of every printable character. */
	{
		char all[95];
		struct buf enc, dec;

		for (int c = 32; c < 127; c++)
			all[c - 32] = (char)c;
		buf_init(&enc, 0);
		buf_init(&dec, 0);
		assert_int_equal(smtp_xtext_encode(all, sizeof(all), &enc), 0);
		assert_int_equal(smtp_xtext_decode(enc.data, enc.len, &dec), 0);
		assert_int_equal(dec.len, sizeof(all));
		assert_memory_equal(dec.data, all, sizeof(all));
		buf_release(&enc);
		buf_release(&dec);
	}
	buf_init(&b, 3);
	assert_int_equal(smtp_xtext_encode("+", 1, &b), 0);
	assert_int_equal(smtp_xtext_encode("+", 1, &b), -1);
	assert_string_equal(b.data, "+2B");
	buf_release(&b);
}

struct reply_case {
	const char *lines[6];	/* NULL-terminated */
	int last_ret;		/* of the last line */
	int code;
	const char *enhanced;
	const char *text;
	const char *error;
};

static const struct reply_case reply_cases[] = {
	{ { "250 OK", NULL }, 1, 250, "", "OK", NULL },
	{ { "250 2.1.0 Ok", NULL }, 1, 250, "2.1.0", "Ok", NULL },
	{ { "250", NULL }, 1, 250, "", "", NULL },
	{ { "250 ", NULL }, 1, 250, "", "", NULL },
	{ { "220 mx.example ESMTP\r", NULL }, 1, 220, "", "mx.example ESMTP",
	  NULL },
	{ { "250-mx.example", "250-PIPELINING", "250-SIZE 10240000",
	    "250 8BITMIME", NULL }, 1, 250, "",
	  "mx.example\nPIPELINING\nSIZE 10240000\n8BITMIME", NULL },
	{ { "550-5.1.1 No such user", "550-5.1.1 here, sorry",
	    "550 5.1.1 bye", NULL }, 1, 550, "5.1.1",
	  "No such user\nhere, sorry\nbye", NULL },
	{ { "250-", "250 ", NULL }, 1, 250, "", "\n", NULL },
	{ { "451 4.7.1 Try later", NULL }, 1, 451, "4.7.1", "Try later", NULL },
	{ { "554 5.7.1", NULL }, 1, 554, "5.7.1", "", NULL },
	{ { "250 5.1.0 class mismatch", NULL }, 1, 250, "",
	  "5.1.0 class mismatch", NULL },
	{ { "550 5.1.1234 long detail", NULL }, 1, 550, "",
	  "5.1.1234 long detail", NULL },
	{ { "550 5.1.1x", NULL }, 1, 550, "", "5.1.1x", NULL },
	{ { "550 5..1 x", NULL }, 1, 550, "", "5..1 x", NULL },
	{ { "550 5.999.999 ok", NULL }, 1, 550, "5.999.999", "ok", NULL },
	{ { "250-2.0.0 a", "250 b", NULL }, 1, 250, "2.0.0", "a\nb", NULL },
	{ { "250-a", "250-2.0.0 b", "250 c", NULL }, 1, 250, "",
	  "a\n2.0.0 b\nc", NULL },
	/* errors */
	{ { "", NULL }, -1, 0, "", "", "malformed reply code" },
	{ { "25", NULL }, -1, 0, "", "", "malformed reply code" },
	{ { "abc", NULL }, -1, 0, "", "", "malformed reply code" },
	{ { "150 x", NULL }, -1, 0, "", "", "malformed reply code" },
	{ { "260 x", NULL }, -1, 0, "", "", "malformed reply code" },
	{ { "600 x", NULL }, -1, 0, "", "", "malformed reply code" },
	{ { "25x", NULL }, -1, 0, "", "", "malformed reply code" },
	{ { "250x", NULL }, -1, 0, "", "",
	  "malformed reply: bad separator after code" },
	{ { "2500 x", NULL }, -1, 0, "", "",
	  "malformed reply: bad separator after code" },
	{ { "250-a", "251 b", NULL }, -1, 250, "", "a",
	  "inconsistent reply codes in multi-line reply" },
	{ { "250-a", "x", NULL }, -1, 250, "", "a", "malformed reply code" },
};

static void
test_reply_table(void **state)
{
	struct smtp_reply r;

	for (size_t k = 0; k < sizeof(reply_cases) / sizeof(reply_cases[0]); k++) {
		const struct reply_case *c = &reply_cases[k];
		const char *error = NULL;
		int ret = 0;
		size_t n;

		smtp_reply_init(&r, 0, 0);
		for (n = 0; c->lines[n] != NULL; n++) {
			ret = smtp_reply_parse(&r, c->lines[n],
			    strlen(c->lines[n]), &error);
			if (c->lines[n + 1] != NULL && ret != 0)
				fail_msg("reply case %zu line %zu: %d", k, n, ret);
		}
		if (ret != c->last_ret)
			fail_msg("reply case %zu: ret %d (%s)", k, ret,
			    error ? error : "");
		if (c->error != NULL)
			assert_string_equal(error, c->error);
		assert_int_equal(r.code, c->code);
		assert_string_equal(r.enhanced, c->enhanced);
		assert_string_equal(r.text.data, c->text);
		assert_int_equal(r.complete, ret == 1);
		smtp_reply_release(&r);
	}
}

static void
test_reply_limits(void **state)
{
	struct smtp_reply r;
	const char *error;
	char line[600];

	/* Line limit. */
	smtp_reply_init(&r, 10, 0);
	assert_int_equal(smtp_reply_parse(&r, "250 123456", 10, &error), 1);
	smtp_reply_reset(&r);
	assert_int_equal(smtp_reply_parse(&r, "250 1234567", 11, &error), -1);
	assert_string_equal(error, "reply line too long");
	/* A trailing CR does not count. */
	assert_int_equal(smtp_reply_parse(&r, "250 123456\r", 11, &error), 1);
	/* Feeding a complete reply again is refused until reset. */
	assert_int_equal(smtp_reply_parse(&r, "250 x", 5, &error), -1);
	assert_string_equal(error, "reply already complete");
	smtp_reply_reset(&r);
	assert_int_equal(r.code, 0);
	assert_int_equal(smtp_reply_parse(&r, "354 go", 6, &error), 1);
	assert_int_equal(r.code, 354);
	assert_int_equal(r.lines, 1);
	smtp_reply_release(&r);

	/* Text limit. */
	smtp_reply_init(&r, 0, 1000);
	memset(line, 'a', sizeof(line));
	memcpy(line, "250-", 4);
	assert_int_equal(smtp_reply_parse(&r, line, sizeof(line), &error), 0);
	assert_int_equal(smtp_reply_parse(&r, line, sizeof(line), &error), -1);
	assert_string_equal(error, "reply text too long");
	smtp_reply_release(&r);

	/* Default line limit and NUL. */
	smtp_reply_init(&r, 0, 0);
	assert_int_equal(r.max_line, SMTP_REPLY_LINE_MAX);
	assert_int_equal(smtp_reply_parse(&r, "250 a\0b", 7, &error), -1);
	assert_string_equal(error, "NUL byte in reply");
	/* Only LEN bytes are read. */
	assert_int_equal(smtp_reply_parse(&r, "250 abc", 5, &error), 1);
	assert_string_equal(r.text.data, "a");
	smtp_reply_release(&r);

	/* Many lines. */
	smtp_reply_init(&r, 0, 0);
	for (int k = 0; k < 100; k++)
		assert_int_equal(smtp_reply_parse(&r, "250-x", 5, &error), 0);
	assert_int_equal(smtp_reply_parse(&r, "250 y", 5, &error), 1);
	assert_int_equal(r.lines, 101);
	assert_int_equal(r.text.len, 201);
	smtp_reply_release(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_table),
		cmocka_unit_test(test_cmd_details),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_reply_table),
		cmocka_unit_test(test_reply_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
