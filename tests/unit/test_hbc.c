/*
 * Unit tests for header and body checks: src/global/hbc (action parser,
 * table choice, shared tables), src/global/mime_stream (the streaming
 * MIME walk, fed whole and byte by byte) and the late envelope changes
 * of src/global/queue_file that REDIRECT, BCC, FILTER and HOLD use.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "file.h"
#include "hbc.h"
#include "mime_stream.h"
#include "queue.h"
#include "queue_file.h"

/* Action parser. */

static void
test_parse_action(void **state)
{
	static const struct {
		const char *value;
		enum hbc_type type;
		int status;
		const char *dsn, *text;
	} t[] = {
		{ "REJECT", HBC_REJECT, 5, "5.7.1", "" },
		{ "reject go away", HBC_REJECT, 5, "5.7.1", "go away" },
		{ "REJECT 5.7.0 no thanks", HBC_REJECT, 5, "5.7.0", "no thanks" },
		{ "REJECT 4.7.0 x", HBC_REJECT, 5, "5.7.1", "4.7.0 x" },
		{ "REJECT 5.7.1x y", HBC_REJECT, 5, "5.7.1", "5.7.1x y" },
		{ "550 bad", HBC_REJECT, 5, "5.7.1", "bad" },
		{ "451 4.3.0 later", HBC_REJECT, 4, "4.3.0", "later" },
		{ "421", HBC_REJECT, 4, "4.7.1", "" },
		{ "DISCARD", HBC_DISCARD, 0, "", "" },
		{ "discard  why not", HBC_DISCARD, 0, "", "why not" },
		{ "HOLD look at it", HBC_HOLD, 0, "", "look at it" },
		{ "  warn  spaced", HBC_WARN, 0, "", "spaced" },
		{ "INFO i", HBC_INFO, 0, "", "i" },
		{ "IGNORE", HBC_IGNORE, 0, "", "" },
		{ "PREPEND X-A: b", HBC_PREPEND, 0, "", "X-A: b" },
		{ "REPLACE X-B: c", HBC_REPLACE, 0, "", "X-B: c" },
		{ "REDIRECT a@b.example", HBC_REDIRECT, 0, "", "a@b.example" },
		{ "BCC c@d.example", HBC_BCC, 0, "", "c@d.example" },
		{ "FILTER smtp:[127.0.0.1]:10025", HBC_FILTER, 0, "",
		    "smtp:[127.0.0.1]:10025" },
		{ "FILTER scan:", HBC_FILTER, 0, "", "scan:" },
		{ "DUNNO", HBC_DUNNO, 0, "", "" },
		{ "ok", HBC_DUNNO, 0, "", "" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct hbc_action a;
		const char *err = NULL;

		if (hbc_parse_action(t[i].value, &a, &err) != 0)
			fail_msg("case %zu (%s): %s", i, t[i].value, err);
		assert_int_equal(a.type, t[i].type);
		assert_int_equal(a.status, t[i].status);
		assert_string_equal(a.dsn, t[i].dsn);
		assert_string_equal(a.text, t[i].text);
	}
}

static void
test_parse_action_errors(void **state)
{
	static const struct {
		const char *value, *error;
	} t[] = {
		{ "", "empty action" },
		{ "   ", "empty action" },
		{ "PREPEND", "PREPEND needs an argument" },
		{ "replace  ", "REPLACE needs an argument" },
		{ "REDIRECT", "REDIRECT needs an argument" },
		{ "REDIRECT a@b c@d", "REDIRECT needs one bare address" },
		{ "BCC <a@b>", "BCC needs one bare address" },
		{ "FILTER", "FILTER needs an argument" },
		{ "FILTER nocolon", "FILTER needs transport:nexthop" },
		{ "FILTER :x", "FILTER needs transport:nexthop" },
		{ "FILTER a/b:x", "FILTER needs transport:nexthop" },
		{ "FROB x", "unknown action FROB" },
		{ "5x0 text", "unknown action 5x0" },
		{ "2000 text", "unknown action 2000" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct hbc_action a;
		const char *err = NULL;

		if (hbc_parse_action(t[i].value, &a, &err) != -1)
			fail_msg("case %zu (%s) accepted", i, t[i].value);
		assert_string_equal(err, t[i].error);
	}
}

static void
test_header_table_and_text(void **state)
{
	static const struct {
		enum mime_stream_class cls;
		const char *name;
		enum hbc_table want;
	} t[] = {
		{ MIME_STREAM_PRIMARY, "Subject", HBC_TABLE_HEADER },
		{ MIME_STREAM_PRIMARY, "content-type", HBC_TABLE_MIME },
		{ MIME_STREAM_PRIMARY, "MIME-Version", HBC_TABLE_MIME },
		{ MIME_STREAM_PRIMARY, "Content-", HBC_TABLE_HEADER },
		{ MIME_STREAM_MULTIPART, "X-Anything", HBC_TABLE_MIME },
		{ MIME_STREAM_MULTIPART, "Content-Type", HBC_TABLE_MIME },
		{ MIME_STREAM_NESTED, "Subject", HBC_TABLE_NESTED },
		{ MIME_STREAM_NESTED, "Content-Disposition", HBC_TABLE_MIME },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(hbc_header_table(t[i].cls, t[i].name,
		    strlen(t[i].name)), t[i].want);
	assert_true(hbc_is_header_text("X-A: b"));
	assert_true(hbc_is_header_text("X-A:"));
	assert_false(hbc_is_header_text("X A: b"));
	assert_false(hbc_is_header_text(": b"));
	assert_false(hbc_is_header_text("no colon"));
	assert_string_equal(hbc_type_log(HBC_WARN), "warning");
	assert_string_equal(hbc_type_log(HBC_REJECT), "reject");
}

/* Tables. */

struct tmp {
	char dir[64];
};

static void
rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d == NULL) {
		unlink(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char sub[512];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		(void)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		rm_rf(sub);
	}
	closedir(d);
	rmdir(path);
}

static int
setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	(void)snprintf(t->dir, sizeof(t->dir), "/tmp/test_hbc.XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	*state = t;
	return 0;
}

static int
teardown_tmp(void **state)
{
	struct tmp *t = *state;

	rm_rf(t->dir);
	free(t);
	return 0;
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_tables(void **state)
{
	struct tmp *t = *state;
	char path[256], spec[300], bad[300];
	const char *specs[HBC_TABLE_COUNT];
	struct hbc_tables *tabs;
	struct buf v;
	const char *err = NULL;

	(void)snprintf(path, sizeof(path), "%s/header_checks", t->dir);
	write_text(path, "/^Subject: .*viagra/ REJECT no spam: $0\n"
	    "/^X-Hold:/ HOLD\n");
	(void)snprintf(spec, sizeof(spec), "regexp:%s", path);
	specs[HBC_TABLE_HEADER] = spec;
	specs[HBC_TABLE_MIME] = spec;	/* shared, as $header_checks */
	specs[HBC_TABLE_NESTED] = "";
	specs[HBC_TABLE_BODY] = NULL;
	tabs = hbc_tables_open(specs, &err);
	assert_non_null(tabs);
	assert_false(hbc_tables_empty(tabs, HBC_TABLE_HEADER));
	assert_false(hbc_tables_empty(tabs, HBC_TABLE_MIME));
	assert_true(hbc_tables_empty(tabs, HBC_TABLE_NESTED));
	assert_true(hbc_tables_empty(tabs, HBC_TABLE_BODY));
	buf_init(&v, 0);
	assert_int_equal(hbc_lookup(tabs, HBC_TABLE_HEADER,
	    "Subject: cheap VIAGRA", &v, &err), 1);
	assert_string_equal(v.data, "REJECT no spam: Subject: cheap VIAGRA");
	assert_int_equal(hbc_lookup(tabs, HBC_TABLE_MIME, "X-Hold: 1", &v,
	    &err), 1);
	assert_string_equal(v.data, "HOLD");
	assert_int_equal(hbc_lookup(tabs, HBC_TABLE_HEADER, "Subject: hi",
	    &v, &err), 0);
	assert_int_equal(hbc_lookup(tabs, HBC_TABLE_BODY, "anything", &v,
	    &err), 0);
	buf_release(&v);
	hbc_tables_free(tabs);
	assert_true(hbc_tables_empty(NULL, HBC_TABLE_HEADER));

	/* A syntax error names the file and line. */
	(void)snprintf(path, sizeof(path), "%s/bad", t->dir);
	write_text(path, "/ok/ DUNNO\n/unclosed REJECT\n");
	(void)snprintf(bad, sizeof(bad), "regexp:%s", path);
	specs[HBC_TABLE_BODY] = bad;
	assert_null(hbc_tables_open(specs, &err));
	assert_non_null(strstr(err, "line 2"));
	specs[HBC_TABLE_BODY] = "nosuchtype:/x";
	assert_null(hbc_tables_open(specs, &err));
	assert_non_null(err);
}

/* MIME walk: every event as one trace line. */

struct trace {
	struct buf b;
};

static void
tr_header(void *ctx, enum mime_stream_class cls, const char *hdr, size_t len,
    unsigned flags)
{
	struct trace *t = ctx;

	buf_printf(&t->b, "H%d%s%s:", (int)cls,
	    (flags & MIME_STREAM_HDR_TRUNCATED) ? "t" : "",
	    (flags & MIME_STREAM_HDR_NUL) ? "z" : "");
	buf_append(&t->b, hdr, len);
}

static void
tr_header_end(void *ctx, enum mime_stream_class cls, enum mime_stream_end how)
{
	struct trace *t = ctx;

	buf_printf(&t->b, "E%d%c\n", (int)cls,
	    how == MIME_STREAM_END_SEPARATOR ? 's' :
	    how == MIME_STREAM_END_BODY ? 'b' : 'e');
}

static void
tr_line(void *ctx, enum mime_stream_line kind, const char *line, size_t len,
    size_t eol, bool check)
{
	struct trace *t = ctx;
	static const char kinds[] = "SBDOR";

	buf_printf(&t->b, "%c%c", kinds[kind], check ? '+' : '-');
	buf_append(&t->b, line, len);
	buf_printf(&t->b, "|%s\n", eol == 0 ? "" : eol == 1 ? "n" : "rn");
	if (eol == 1)
		assert_int_equal(line[len], '\n');
	if (eol == 2)
		assert_memory_equal(line + len, "\r\n", 2);
}

static void
tr_text(void *ctx, const char *text, size_t len)
{
	struct trace *t = ctx;

	buf_append_str(&t->b, "T:");
	buf_append(&t->b, text, len);
	buf_append_str(&t->b, "\n");
}

static const struct mime_stream_callbacks tr_cb = {
	.header = tr_header,
	.header_end = tr_header_end,
	.line = tr_line,
	.text = tr_text,
};

/* Walk MSG with O, fed in chunks of STEP bytes (0: all at once). */
static char *
walk(const struct mime_stream_opts *o, const char *msg, size_t len,
    size_t step)
{
	struct trace t;
	struct mime_stream *s;

	buf_init(&t.b, 0);
	s = mime_stream_new(o, &tr_cb, &t);
	if (step == 0)
		mime_stream_feed(s, msg, len);
	else
		for (size_t i = 0; i < len; i += step)
			mime_stream_feed(s, msg + i, len - i < step ? len - i :
			    step);
	mime_stream_finish(s);
	mime_stream_free(s);
	{
		char *r = buf_detach(&t.b, NULL);

		buf_release(&t.b);
		return r;
	}
}

static void
test_mime_walk(void **state)
{
	static const struct {
		const char *name;
		const char *msg;
		const char *trace;
	} t[] = {
		{ "plain",
		  "Subject: a\r\n b\r\nX: y\r\n\r\nbody1\r\nbody2",
		  "H0:Subject: a\r\n b\r\n" "H0:X: y\r\n" "E0s\n" "S-|rn\n"
		  "B+body1|rn\n" "B+body2|\n" },
		{ "no separator, bare LF",
		  "Subject: a\nnot a header\nx\n",
		  "H0:Subject: a\r\n" "E0b\n" "B+not a header|n\n" "B+x|n\n" },
		{ "header only",
		  "Subject: a\r\nX : b",
		  "H0:Subject: a\r\n" "H0:X : b\r\n" "E0e\n" },
		{ "empty", "", "E0e\n" },
		{ "mbox From line at the top",
		  "From a@b Mon\nSubject: x\n",
		  "E0b\n" "B+From a@b Mon|n\n" "B+Subject: x|n\n" },
		{ "multipart, base64 text, attachment",
		  "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
		  "\r\n"
		  "preamble\r\n"
		  "--XX\r\n"
		  "Content-Type: text/plain\r\n"
		  "Content-Transfer-Encoding: base64\r\n"
		  "\r\n"
		  "aGVsbG8Kd29y\r\n"
		  "bGQ=\r\n"
		  "--XX  \r\n"
		  "Content-Type: application/octet-stream; name=\"a.exe\"\r\n"
		  "\r\n"
		  "TVqQ\r\n"
		  "--XX--\r\n"
		  "epilogue\r\n",
		  "H0:Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
		  "E0s\n" "S-|rn\n" "O-preamble|rn\n" "D---XX|rn\n"
		  "H1:Content-Type: text/plain\r\n"
		  "H1:Content-Transfer-Encoding: base64\r\n"
		  "E1s\n" "S-|rn\n"
		  "T:hello\n" "B-aGVsbG8Kd29y|rn\n" "B-bGQ=|rn\n"
		  "T:world\n" "D---XX  |rn\n"
		  "H1:Content-Type: application/octet-stream; name=\"a.exe\"\r\n"
		  "E1s\n" "S-|rn\n" "B+TVqQ|rn\n" "D---XX--|rn\n"
		  "O-epilogue|rn\n" },
		{ "message/rfc822 with a nested multipart, quoted-printable",
		  "Content-Type: multipart/mixed; boundary=a\n"
		  "\n"
		  "--a\n"
		  "Content-Type: message/rfc822\n"
		  "\n"
		  "Subject: inner\n"
		  "Content-Type: multipart/alternative;\n"
		  "\tboundary=b\n"
		  "\n"
		  "--b\n"
		  "Content-Type: TEXT/plain\n"
		  "Content-Transfer-Encoding: Quoted-Printable\n"
		  "\n"
		  "caf=C3=A9 soft=\n"
		  "break =3D=zz  \n"
		  "--b--\n"
		  "--a--\n",
		  "H0:Content-Type: multipart/mixed; boundary=a\r\n"
		  "E0s\n" "S-|n\n" "D---a|n\n"
		  "H1:Content-Type: message/rfc822\r\n"
		  "E1s\n" "S-|n\n"
		  "H2:Subject: inner\r\n"
		  "H2:Content-Type: multipart/alternative;\r\n\tboundary=b\r\n"
		  "E2s\n" "S-|n\n" "D---b|n\n"
		  "H1:Content-Type: TEXT/plain\r\n"
		  "H1:Content-Transfer-Encoding: Quoted-Printable\r\n"
		  "E1s\n" "S-|n\n"
		  "B-caf=C3=A9 soft=|n\n"
		  "T:caf\xc3\xa9 softbreak ==zz\n"
		  "B-break =3D=zz  |n\n"
		  "D---b--|n\n" "D---a--|n\n" },
		{ "digest parts are messages",
		  "Content-Type: multipart/digest; boundary=d\n\n--d\n\n"
		  "Subject: in digest\n\nhi\n--d--\n",
		  "H0:Content-Type: multipart/digest; boundary=d\r\n"
		  "E0s\n" "S-|n\n" "D---d|n\n" "E1s\n" "S-|n\n"
		  "H2:Subject: in digest\r\n" "E2s\n" "S-|n\n" "B+hi|n\n"
		  "D---d--|n\n" },
		{ "missing close delimiter, outer boundary closes inner",
		  "Content-Type: multipart/mixed; boundary=o\n\n--o\n"
		  "Content-Type: multipart/mixed; boundary=i\n\n--i\n\n"
		  "inner\n--o\nContent-Type: text/html\n\n<p>\n",
		  "H0:Content-Type: multipart/mixed; boundary=o\r\n"
		  "E0s\n" "S-|n\n" "D---o|n\n"
		  "H1:Content-Type: multipart/mixed; boundary=i\r\n"
		  "E1s\n" "S-|n\n" "D---i|n\n" "E1s\n" "S-|n\n"
		  "B+inner|n\n" "D---o|n\n" "H1:Content-Type: text/html\r\n"
		  "E1s\n" "S-|n\n" "B+<p>|n\n" },
		{ "part header cut by a boundary; base64 message is a leaf",
		  "Content-Type: multipart/mixed; boundary=q\n\n--q\n"
		  "Content-Type: message/rfc822\n--q\n"
		  "Content-Type: message/rfc822\n"
		  "Content-Transfer-Encoding: base64\n\nU3ViamVjdDogeA==\n"
		  "--q--\n",
		  "H0:Content-Type: multipart/mixed; boundary=q\r\n"
		  "E0s\n" "S-|n\n" "D---q|n\n"
		  "H1:Content-Type: message/rfc822\r\n" "E1b\n" "D---q|n\n"
		  "H1:Content-Type: message/rfc822\r\n"
		  "H1:Content-Transfer-Encoding: base64\r\n" "E1s\n" "S-|n\n"
		  "B+U3ViamVjdDogeA==|n\n" "D---q--|n\n" },
		{ "multipart without boundary is a leaf",
		  "Content-Type: multipart/mixed\n\n--x\nbody\n",
		  "H0:Content-Type: multipart/mixed\r\n" "E0s\n" "S-|n\n"
		  "B+--x|n\n" "B+body|n\n" },
	};
	struct mime_stream_opts o;

	mime_stream_opts_default(&o);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = strlen(t[i].msg);
		char *whole, *bytes, *sevens;

		whole = walk(&o, t[i].msg, len, 0);
		if (strcmp(whole, t[i].trace) != 0)
			fail_msg("case %s:\n%s\nwanted:\n%s", t[i].name, whole,
			    t[i].trace);
		/* Chunking changes nothing. */
		bytes = walk(&o, t[i].msg, len, 1);
		sevens = walk(&o, t[i].msg, len, 7);
		assert_string_equal(whole, bytes);
		assert_string_equal(whole, sevens);
		free(whole);
		free(bytes);
		free(sevens);
	}
}

static void
test_mime_options(void **state)
{
	struct mime_stream_opts o;
	char *tr;
	const char *mp = "Content-Type: multipart/mixed; boundary=XX\n\n"
	    "--XX\nContent-Type: message/rfc822\n\nSubject: in\n\nx\n--XX--\n";

	/* headers_only: the rest comes as it was fed. */
	mime_stream_opts_default(&o);
	o.headers_only = true;
	tr = walk(&o, "Subject: a\r\n\r\nbody\r\nmore", 24, 0);
	assert_string_equal(tr, "H0:Subject: a\r\n" "E0s\n" "S-|rn\n"
	    "R-body\r\nmore|\n");
	free(tr);
	tr = walk(&o, "Subject: a\nbody\nmore", 20, 0);
	assert_string_equal(tr, "H0:Subject: a\r\n" "E0b\n" "R-body\n|\n"
	    "R-more|\n");
	free(tr);

	/* no_mime: one plain body. */
	mime_stream_opts_default(&o);
	o.no_mime = true;
	tr = walk(&o, mp, strlen(mp), 0);
	assert_string_equal(tr,
	    "H0:Content-Type: multipart/mixed; boundary=XX\r\n" "E0s\n"
	    "S-|n\n" "B+--XX|n\n" "B+Content-Type: message/rfc822|n\n"
	    "B+|n\n" "B+Subject: in|n\n" "B+|n\n" "B+x|n\n" "B+--XX--|n\n");
	free(tr);

	/* depth_max 1: the attached message is a leaf. */
	mime_stream_opts_default(&o);
	o.depth_max = 1;
	tr = walk(&o, mp, strlen(mp), 3);
	assert_string_equal(tr,
	    "H0:Content-Type: multipart/mixed; boundary=XX\r\n" "E0s\n"
	    "S-|n\n" "D---XX|n\n" "H1:Content-Type: message/rfc822\r\n"
	    "E1s\n" "S-|n\n" "B+Subject: in|n\n" "B+|n\n" "B+x|n\n"
	    "D---XX--|n\n");
	free(tr);

	/* body_limit: checks stop after 10 octets of a part. */
	mime_stream_opts_default(&o);
	o.body_limit = 10;
	tr = walk(&o, "\n0123456789\nabc\n", 16, 0);
	assert_string_equal(tr, "E0s\n" "S-|n\n" "B+0123456789|n\n"
	    "B-abc|n\n");
	free(tr);
	{
		const char *b64 = "Content-Transfer-Encoding: base64\n\n"
		    "MDEyMzQ1Njc4OQphYmMK\n";

		tr = walk(&o, b64, strlen(b64), 0);
		assert_string_equal(tr, "H0:Content-Transfer-Encoding: "
		    "base64\r\n" "E0s\n" "S-|n\n" "B-MDEyMzQ1Njc4OQphYmMK|n\n"
		    "T:0123456789\n");
		free(tr);
	}
	/* A NUL in a header is flagged. */
	mime_stream_opts_default(&o);
	tr = walk(&o, "Subject: a\0b\n\n", 14, 0);
	assert_memory_equal(tr, "H0z:Subject: a\0b\r\nE0s\nS-|n\n", 27);
	free(tr);
}

static void
test_mime_long_lines(void **state)
{
	struct mime_stream_opts o;
	struct buf msg, want;
	char *tr;

	mime_stream_opts_default(&o);
	o.header_max = 1024;
	buf_init(&msg, 0);
	buf_init(&want, 0);
	/* A header line over the limit is cut, the next field survives. */
	buf_append_str(&msg, "Subject: ");
	for (int i = 0; i < 3000; i++)
		buf_append_char(&msg, 'x');
	buf_append(&msg, "\0z\nX-After: 1\n\n", 15);
	/* A body line longer than the line buffer comes in pieces. */
	for (int i = 0; i < 5000; i++)
		buf_append_char(&msg, 'b');
	buf_append_str(&msg, "\n--not-a-boundary\n");
	for (size_t step = 0; step < 3; step++) {
		tr = walk(&o, msg.data, msg.len, step == 0 ? 0 : step == 1 ?
		    1 : 4096);
		buf_reset(&want);
		buf_append_str(&want, "H0tz:Subject: ");
		for (int i = 0; i < 1024 - 2 - 9; i++)
			buf_append_char(&want, 'x');
		buf_append_str(&want, "\r\nH0:X-After: 1\r\nE0s\nS-|n\nB+");
		for (int i = 0; i < 4096; i++)
			buf_append_char(&want, 'b');
		buf_append_str(&want, "|\nB+");
		for (int i = 0; i < 5000 - 4096; i++)
			buf_append_char(&want, 'b');
		buf_append_str(&want, "|n\nB+--not-a-boundary|n\n");
		assert_string_equal(tr, want.data);
		free(tr);
	}
	buf_release(&msg);
	buf_release(&want);
}

/* Garbage in any chunking never crashes and gives every body byte back. */
static void
test_mime_random(void **state)
{
	static const char *const pieces[] = {
		"Content-Type: multipart/mixed; boundary=a\n", "--a\n",
		"--a--\n", "\n", "\r\n", "Content-Type: message/rfc822\n",
		"Content-Transfer-Encoding: base64\n", "x: y\n", " cont\n",
		"QUJD\n", "=4", "1=\n", "Content-Type: text/plain\n",
		"Content-Transfer-Encoding: quoted-printable\n", "\0", "zz",
		"Content-Type: multipart/digest; boundary=\"a b\"\n", "--a b\n",
	};
	struct mime_stream_opts o;
	unsigned seed = 12345;

	mime_stream_opts_default(&o);
	o.depth_max = 4;
	for (int round = 0; round < 300; round++) {
		struct buf msg;
		char *a, *b;

		buf_init(&msg, 0);
		for (int k = 0; k < 40; k++) {
			const char *p;

			seed = seed * 1103515245u + 12345u;
			p = pieces[(seed >> 16) % (sizeof(pieces) /
			    sizeof(pieces[0]))];
			buf_append(&msg, p, p[0] == '\0' ? 1 : strlen(p));
		}
		a = walk(&o, msg.data, msg.len, 0);
		b = walk(&o, msg.data, msg.len, 1 + round % 5);
		assert_string_equal(a, b);
		free(a);
		free(b);
		buf_release(&msg);
	}
}

/* Late envelope changes of the queue writer. */

static void
read_content(struct queue_file *qf, struct buf *out)
{
	char chunk[4096];
	uint64_t off = 0;
	size_t got;
	const char *err;

	for (;;) {
		assert_int_equal(queue_file_read_content(qf, off, chunk,
		    sizeof(chunk), &got, &err), 0);
		if (got == 0)
			break;
		buf_append(out, chunk, got);
		off += got;
	}
}

static size_t
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
		else if (strncmp(de->d_name, ".tmp-", 5) == 0)
			n += 1000;	/* a leftover temporary file */
	closedir(d);
	return n;
}

static void
test_queue_late_changes(void **state)
{
	struct tmp *t = *state;
	struct queue_writer *w;
	struct queue_file *qf;
	struct buf content, got, path;
	char id[QUEUE_ID_SIZE], first[32];
	const char *err;
	FILE *f;

	assert_int_equal(queue_dirs_create(t->dir, &err), 0);
	buf_init(&content, 0);
	buf_init(&got, 0);
	buf_init(&path, 0);
	buf_append_str(&content, "Subject: x\r\n\r\n");
	for (int i = 0; i < 20000; i++)
		buf_append_str(&content, "0123456789\r\n");

	/* REDIRECT + BCC + FILTER + HOLD after the content started. */
	w = queue_writer_open(t->dir, &err);
	assert_non_null(w);
	assert_int_equal(queue_writer_set(w, QUEUE_SENDER, "s@x.example",
	    &err), 0);
	assert_int_equal(queue_writer_add_rcpt(w, "a@x.example", "rfc822;a@x",
	    QUEUE_NOTIFY_SUCCESS, &err), 0);
	assert_int_equal(queue_writer_write_content(w, content.data, 70000,
	    &err), 0);
	queue_writer_clear_rcpts(w);
	assert_int_equal(queue_writer_rcpt_count(w), 0);
	assert_int_equal(queue_writer_add_rcpt(w, "r@y.example", NULL, 0,
	    &err), 0);
	assert_int_equal(queue_writer_add_rcpt(w, "b@y.example", NULL,
	    QUEUE_NOTIFY_NEVER, &err), 0);
	assert_int_equal(queue_writer_set_filter(w, "nocolon", &err), -1);
	assert_int_equal(queue_writer_set_filter(w, "scan:[127.0.0.1]:10025",
	    &err), 0);
	assert_int_equal(queue_writer_write_content(w, content.data + 70000,
	    content.len - 70000, &err), 0);
	queue_writer_set_folder(w, "hold");
	assert_int_equal(queue_writer_commit(w, id, &err), 0);
	buf_printf(&path, "%s/hold/%s", t->dir, id);
	qf = queue_file_open(path.data, false, &err);
	if (qf == NULL)
		fail_msg("%s", err);
	assert_int_equal(queue_file_rcpt_count(qf), 2);
	assert_string_equal(queue_file_rcpt(qf, 0)->address, "r@y.example");
	assert_string_equal(queue_file_rcpt(qf, 1)->address, "b@y.example");
	assert_int_equal(queue_file_rcpt(qf, 1)->notify, QUEUE_NOTIFY_NEVER);
	assert_string_equal(queue_file_filter(qf), "scan:[127.0.0.1]:10025");
	assert_string_equal(queue_file_get(qf, QUEUE_SENDER), "s@x.example");
	read_content(qf, &got);
	assert_int_equal(got.len, content.len);
	assert_memory_equal(got.data, content.data, content.len);
	queue_file_close(qf);
	f = fopen(path.data, "r");
	assert_non_null(fgets(first, sizeof(first), f));
	fclose(f);
	assert_string_equal(first, "ulak-queue-file 2\n");
	buf_reset(&path);
	buf_printf(&path, "%s/incoming", t->dir);
	assert_int_equal(count_files(path.data), 0);

	/* HOLD alone: no rewrite, still version 1, no filter. */
	w = queue_writer_open(t->dir, &err);
	assert_non_null(w);
	assert_int_equal(queue_writer_set(w, QUEUE_SENDER, "", &err), 0);
	assert_int_equal(queue_writer_add_rcpt(w, "a@x.example", NULL, 0,
	    &err), 0);
	assert_int_equal(queue_writer_write_content(w, "S: y\r\n\r\n", 8,
	    &err), 0);
	queue_writer_set_folder(w, "hold");
	assert_int_equal(queue_writer_commit(w, id, &err), 0);
	buf_reset(&path);
	buf_printf(&path, "%s/hold/%s", t->dir, id);
	qf = queue_file_open(path.data, false, &err);
	assert_non_null(qf);
	assert_null(queue_file_filter(qf));
	queue_file_close(qf);
	f = fopen(path.data, "r");
	assert_non_null(fgets(first, sizeof(first), f));
	fclose(f);
	assert_string_equal(first, "ulak-queue-file 1\n");

	/* A rewritten file that is aborted leaves nothing behind. */
	w = queue_writer_open(t->dir, &err);
	assert_non_null(w);
	assert_int_equal(queue_writer_set(w, QUEUE_SENDER, "", &err), 0);
	assert_int_equal(queue_writer_write_content(w, "x", 1, &err), 0);
	/* No recipient at all: commit fails (after no rewrite work). */
	assert_int_equal(queue_writer_commit(w, id, &err), -1);
	buf_reset(&path);
	buf_printf(&path, "%s/incoming", t->dir);
	assert_int_equal(count_files(path.data), 0);

	buf_release(&content);
	buf_release(&got);
	buf_release(&path);
}

/* A content_filter line is refused in a version 1 file. */
static void
test_queue_filter_needs_v2(void **state)
{
	struct tmp *t = *state;
	static const char v1[] = "ulak-queue-file 1\narrival_time=1\n"
	    "sender=\ncontent_filter=a:b\nrcpt=x\norcpt=\nnotify=\ndone=-\n"
	    "content_length=00000000000000000000\n\n"
	    "end=00000000000000000000\n";
	char path[256];
	const char *err = NULL;
	struct queue_file *qf;

	(void)snprintf(path, sizeof(path), "%s/1GA4GC208J03NQK8N", t->dir);
	assert_int_equal(file_write_atomic(path, v1, sizeof(v1) - 1, 0600,
	    &err), 0);
	assert_null(queue_file_open(path, false, &err));
	assert_non_null(strstr(err, "content_filter in a version 1 file"));
	{
		char v2[sizeof(v1)];

		memcpy(v2, v1, sizeof(v1));
		v2[16] = '2';
		assert_int_equal(file_write_atomic(path, v2, sizeof(v2) - 1,
		    0600, &err), 0);
		qf = queue_file_open(path, false, &err);
		if (qf == NULL)
			fail_msg("%s", err);
		assert_string_equal(queue_file_filter(qf), "a:b");
		queue_file_close(qf);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_action),
		cmocka_unit_test(test_parse_action_errors),
		cmocka_unit_test(test_header_table_and_text),
		cmocka_unit_test_setup_teardown(test_tables, setup_tmp,
		    teardown_tmp),
		cmocka_unit_test(test_mime_walk),
		cmocka_unit_test(test_mime_options),
		cmocka_unit_test(test_mime_long_lines),
		cmocka_unit_test(test_mime_random),
		cmocka_unit_test_setup_teardown(test_queue_late_changes,
		    setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_queue_filter_needs_v2,
		    setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
