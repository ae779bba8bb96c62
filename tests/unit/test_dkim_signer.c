/*
 * Unit tests for src/global/dkim_signer: the origin decision (local,
 * authenticated, mynetworks, untrusted), the signing domain (From domain
 * or its nearest parent with a key), signing a message read in chunks
 * (verified here with the verifier and the published key record), and
 * the failures: a missing key, a malformed table value, a read error, bad
 * configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "dkim.h"
#include "dkim_signer.h"
#include "file.h"
#include "log.h"
#include "str.h"

struct fixture {
	char dir[64];
	struct buf com_rec;	/* key record of ed._domainkey.example.com */
	struct buf org_ed_rec, org_rsa_rec;
	struct buf cf;		/* main.cf text */
	struct buf log;		/* what the last make_signer logged */
};

static struct fixture fx;

static void
write_key(const char *name, enum dkim_key_type type, struct buf *rec)
{
	struct buf pem, path;
	const char *error;

	buf_init(&pem, 0);
	buf_init(&path, 0);
	buf_init(rec, 0);
	assert_int_equal(dkim_keygen(type, 1024, &pem, rec, &error), 0);
	buf_printf(&path, "%s/%s", fx.dir, name);
	assert_int_equal(file_write_atomic(path.data, pem.data, pem.len, 0600,
	    &error), 0);
	buf_release(&pem);
	buf_release(&path);
}

static int
setup(void **state)
{
	struct buf t, path;
	const char *error;

	str_copy(fx.dir, sizeof(fx.dir), "/tmp/test_dkim_signer.XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	write_key("com.key", DKIM_KEY_ED25519, &fx.com_rec);
	write_key("org-ed.key", DKIM_KEY_ED25519, &fx.org_ed_rec);
	write_key("org-rsa.key", DKIM_KEY_RSA, &fx.org_rsa_rec);
	buf_init(&t, 0);
	buf_printf(&t,
	    "example.com  ed:%s/com.key\n"
	    "example.org  ed:%s/org-ed.key, rsa:%s/org-rsa.key\n"
	    "broken.test  s1:%s/missing.key\n"
	    "bad.test     no-path-here\n",
	    fx.dir, fx.dir, fx.dir, fx.dir);
	buf_init(&path, 0);
	buf_printf(&path, "%s/keys", fx.dir);
	assert_int_equal(file_write_atomic(path.data, t.data, t.len, 0600,
	    &error), 0);
	buf_init(&fx.log, 0);
	buf_init(&fx.cf, 0);
	buf_printf(&fx.cf, "dkim_signing_key_maps = texthash:%s\n"
	    "mynetworks = 127.0.0.0/8, !192.0.2.1, 192.0.2.0/24, "
	    "[2001:db8::]/32, inline:{ 198.51.100.7=ok }\n", path.data);
	buf_release(&t);
	buf_release(&path);
	return 0;
}

static int
teardown(void **state)
{
	const char *names[] = { "com.key", "org-ed.key", "org-rsa.key",
		"keys" };
	char p[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", fx.dir, names[i]);
		unlink(p);
	}
	rmdir(fx.dir);
	buf_release(&fx.com_rec);
	buf_release(&fx.org_ed_rec);
	buf_release(&fx.org_rsa_rec);
	buf_release(&fx.cf);
	buf_release(&fx.log);
	return 0;
}

/* A signer from the fixture's main.cf plus EXTRA lines. */
static struct dkim_signer *
make_signer(const char *extra, const char **error_r)
{
	struct config *cfg = config_new(fx.dir);
	struct dkim_signer *s;
	struct buf text;

	buf_init(&text, 0);
	buf_append(&text, fx.cf.data, fx.cf.len);
	if (extra != NULL)
		buf_append_str(&text, extra);
	buf_reset(&fx.log);
	log_capture(&fx.log);
	assert_int_equal(config_load_text(cfg, text.data, text.len, "main.cf",
	    error_r), 0);
	s = dkim_signer_new(cfg, error_r);
	log_capture(NULL);
	config_free(cfg);
	buf_release(&text);
	return s;
}

/* Content from memory, at most CHUNK octets a read; FAIL_AT: read error. */
struct mem {
	const char *data;
	size_t len, chunk;
	uint64_t fail_at;
	size_t reads;
};

static int
mem_read(void *ctx, uint64_t offset, void *data, size_t len, size_t *got_r,
    const char **error_r)
{
	struct mem *m = ctx;

	m->reads++;
	if (offset >= m->fail_at) {
		*error_r = "boom";
		return -1;
	}
	if (offset >= m->len) {
		*got_r = 0;
		return 0;
	}
	*got_r = m->len - (size_t)offset;
	if (*got_r > len)
		*got_r = len;
	if (m->chunk && *got_r > m->chunk)
		*got_r = m->chunk;
	memcpy(data, m->data + offset, *got_r);
	return 0;
}

static const struct dkim_signer_envelope env_local = { "local", NULL, NULL };

static int
sign(struct dkim_signer *s, const struct dkim_signer_envelope *env,
    const char *msg, size_t chunk, struct buf *out, const char **note_r,
    const char **error_r)
{
	struct mem m = { msg, strlen(msg), chunk, UINT64_MAX, 0 };

	return dkim_signer_sign(s, env, mem_read, &m, out, note_r, error_r);
}

/* Verify SIG + MSG with the fixture's key records; A-R lines into OUT. */
static void
verify(const struct buf *sig, const char *msg, struct buf *out)
{
	struct dkim_verify *v = dkim_verify_new(NULL);
	const struct dkim_result *r;
	size_t n;

	dkim_verify_feed(v, sig->data, sig->len);
	dkim_verify_feed(v, msg, strlen(msg));
	dkim_verify_end(v);
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const char *name = dkim_verify_key_name(v, i);
		const struct buf *rec = NULL;
		const char *recp;
		size_t len;

		if (name == NULL)
			continue;
		if (strcmp(name, "ed._domainkey.example.com") == 0)
			rec = &fx.com_rec;
		else if (strcmp(name, "ed._domainkey.example.org") == 0)
			rec = &fx.org_ed_rec;
		else if (strcmp(name, "rsa._domainkey.example.org") == 0)
			rec = &fx.org_rsa_rec;
		if (rec == NULL) {
			dkim_verify_key_answer(v, i, DNS_NXDOMAIN, NULL, NULL,
			    0, NULL);
			continue;
		}
		recp = rec->data;
		len = rec->len;
		dkim_verify_key_answer(v, i, DNS_OK, &recp, &len, 1, NULL);
	}
	r = dkim_verify_results(v, &n);
	buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		dkim_result_format(&r[i], out);
		buf_append_char(out, '\n');
	}
	dkim_verify_free(v);
}

static void
test_origin(void **state)
{
	static const struct {
		const char *protocol, *sasl, *addr;
		enum dkim_signer_origin want;
	} cases[] = {
		{ "local", NULL, NULL, DKIM_SIGNER_LOCAL },
		{ "LOCAL", NULL, "", DKIM_SIGNER_LOCAL },
		/* Forwarded by local: judged by the original's client. */
		{ "LOCAL", NULL, "203.0.113.9", DKIM_SIGNER_UNTRUSTED },
		{ "local", "demo", "203.0.113.9", DKIM_SIGNER_AUTHENTICATED },
		{ "local", NULL, "127.0.0.1", DKIM_SIGNER_MYNETWORKS },
		{ "ESMTPSA", "demo", "203.0.113.9", DKIM_SIGNER_AUTHENTICATED },
		{ "ESMTPA", "demo", NULL, DKIM_SIGNER_AUTHENTICATED },
		{ "ESMTP", NULL, "127.0.0.1", DKIM_SIGNER_MYNETWORKS },
		{ "ESMTP", "", "127.0.0.2", DKIM_SIGNER_MYNETWORKS },
		{ "ESMTP", NULL, "::ffff:127.0.0.1", DKIM_SIGNER_MYNETWORKS },
		{ "ESMTP", NULL, "192.0.2.7", DKIM_SIGNER_MYNETWORKS },
		{ "ESMTP", NULL, "2001:db8::25", DKIM_SIGNER_MYNETWORKS },
		{ "ESMTP", NULL, "198.51.100.7", DKIM_SIGNER_MYNETWORKS },
		{ "ESMTP", NULL, "198.51.100.8", DKIM_SIGNER_UNTRUSTED },
		/* Outside clients that did not authenticate: never. */
		{ "ESMTP", NULL, "192.0.2.1", DKIM_SIGNER_UNTRUSTED },
		{ "ESMTPS", "", "203.0.113.9", DKIM_SIGNER_UNTRUSTED },
		{ "SMTP", NULL, "2001:db9::1", DKIM_SIGNER_UNTRUSTED },
		{ "ESMTP", NULL, "not-an-address", DKIM_SIGNER_UNTRUSTED },
		{ "ESMTP", NULL, "", DKIM_SIGNER_UNTRUSTED },
		{ "localhost", NULL, NULL, DKIM_SIGNER_UNTRUSTED },
		{ NULL, NULL, NULL, DKIM_SIGNER_UNTRUSTED },
	};
	const char *error;
	struct dkim_signer *s = make_signer(NULL, &error);

	assert_non_null(s);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dkim_signer_envelope env = { cases[i].protocol,
			cases[i].sasl, cases[i].addr };

		if (dkim_signer_origin(s, &env) != cases[i].want)
			fail_msg("case %zu (%s, %s, %s): got %s", i,
			    cases[i].protocol ? cases[i].protocol : "-",
			    cases[i].sasl ? cases[i].sasl : "-",
			    cases[i].addr ? cases[i].addr : "-",
			    dkim_signer_origin_name(dkim_signer_origin(s,
			    &env)));
	}
	assert_string_equal(dkim_signer_origin_name(DKIM_SIGNER_UNTRUSTED),
	    "untrusted");
	assert_string_equal(dkim_signer_origin_name(DKIM_SIGNER_MYNETWORKS),
	    "mynetworks");
	dkim_signer_free(s);
}

static void
test_domain(void **state)
{
	static const struct {
		const char *from;
		int rc;
		const char *domain;
	} cases[] = {
		{ "example.com", 1, "example.com" },
		{ "EXAMPLE.Com", 1, "example.com" },
		{ "mail.example.com", 1, "example.com" },
		{ "a.b.Example.ORG", 1, "example.org" },
		{ "example.net", 0, NULL },
		{ "com", 0, NULL },
		{ "notexample.com", 0, NULL },
	};
	const char *error;
	struct dkim_signer *s = make_signer(NULL, &error);
	char *d;

	assert_non_null(s);
	assert_true(dkim_signer_enabled(s));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d = NULL;
		assert_int_equal(dkim_signer_domain(s, cases[i].from, &d,
		    &error), cases[i].rc);
		if (cases[i].domain != NULL)
			assert_string_equal(d, cases[i].domain);
		free(d);
	}
	assert_int_equal(dkim_signer_domain(s, "x.bad.test", &d, &error), -1);
	assert_true(strstr(error, "is not selector:/path/to/key") != NULL);
	dkim_signer_free(s);
}

static void
test_preload_and_warnings(void **state)
{
	const char *error;
	struct dkim_signer *s = make_signer(NULL, &error);

	assert_non_null(s);
	/* Three keys loaded at start; the missing one and bad.test warned. */
	assert_int_equal(dkim_signer_key_count(s), 3);
	assert_non_null(strstr(fx.log.data, "broken.test: DKIM key "));
	assert_non_null(strstr(fx.log.data, "missing.key"));
	assert_non_null(strstr(fx.log.data, "bad.test: \"no-path-here\""));
	dkim_signer_free(s);
}

/* From is not the first field: the header must be read to its end. */
static const char msg_crlf[] =
    "Received: from x by y;\r\n"
    "\tMon, 1 Jan 2024 10:00:00 +0000\r\n"
    "To: bob@remote.test\r\n"
    "Subject: hello\r\n"
    "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
    "Message-ID: <1@example.com>\r\n"
    "From: Jane <jane@example.com>\r\n"
    "\r\n"
    "Hello Bob.\r\n"
    ".a line with a dot\r\n"
    "\r\n";

static void
test_sign_and_verify(void **state)
{
	static const size_t chunks[] = { 0, 1, 2, 3, 7, 64 };
	const char *error, *note;
	struct dkim_signer *s = make_signer(NULL, &error);
	struct buf out, res;

	assert_non_null(s);
	buf_init(&out, 0);
	buf_init(&res, 0);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		buf_reset(&out);
		assert_int_equal(sign(s, &env_local, msg_crlf, chunks[i], &out,
		    &note, &error), 1);
		assert_string_equal(note, "d=example.com s=ed (local sender)");
		assert_true(str_has_prefix(out.data, "DKIM-Signature: v=1; "));
		assert_true(str_has_suffix_nocase(out.data, "\r\n"));
		assert_non_null(strstr(out.data, "a=ed25519-sha256"));
		assert_non_null(strstr(out.data, "c=relaxed/relaxed"));
		assert_null(strstr(out.data, "x="));
		verify(&out, msg_crlf, &res);
		assert_true(str_has_prefix(res.data, "dkim=pass "
		    "header.d=example.com header.s=ed "));
	}
	/* The same message with LF line ends (as a queue file may hold). */
	{
		struct buf lf;

		buf_init(&lf, 0);
		for (const char *p = msg_crlf; *p; p++)
			if (*p != '\r')
				buf_append_char(&lf, *p);
		buf_reset(&out);
		assert_int_equal(sign(s, &env_local, lf.data, 5, &out, &note,
		    &error), 1);
		verify(&out, msg_crlf, &res);
		assert_true(str_has_prefix(res.data, "dkim=pass "));
		buf_release(&lf);
	}
	/* Tampering after signing fails. */
	{
		char *bad = strdup(msg_crlf);

		bad[strlen(bad) - 5] = 'X';
		verify(&out, bad, &res);
		assert_true(str_has_prefix(res.data, "dkim=fail "));
		free(bad);
	}
	dkim_signer_free(s);
	buf_release(&out);
	buf_release(&res);
}

/* h= of the first signature in SIG, white space removed, lower case. */
static void
h_tag(const char *sig, struct buf *h)
{
	const char *p = strstr(sig, " h=");

	buf_reset(h);
	assert_non_null(p);
	for (p += 3; *p && *p != ';'; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			buf_append_char(h, (char)(*p >= 'A' && *p <= 'Z' ?
			    *p + 32 : *p));
}

static void
test_oversign_params_two_selectors(void **state)
{
	static const char msg[] =
	    "From: x@mail.example.org\n"
	    "Subject: s\n"
	    "List-Id: <l.example.org>\n"
	    "\n"
	    "body\n";
	const char *error, *note;
	struct dkim_signer *s;
	struct buf out, res, h;

	buf_init(&out, 0);
	buf_init(&res, 0);
	buf_init(&h, 0);
	s = make_signer("dkim_canonicalization = simple/simple\n"
	    "dkim_signature_ttl = 1h\n"
	    "dkim_signing_headers = From, Subject, List-Id\n"
	    "dkim_oversign_headers = Subject\n", &error);
	assert_non_null(s);
	assert_int_equal(sign(s, &env_local, msg, 3, &out, &note, &error), 1);
	assert_string_equal(note, "d=example.org s=ed,rsa (local sender)");
	assert_non_null(strstr(out.data, "c=simple/simple"));
	assert_non_null(strstr(out.data, "x="));
	assert_non_null(strstr(out.data, "a=rsa-sha256"));
	h_tag(out.data, &h);
	/* From always over-signed, Subject as asked, List-Id once. */
	assert_string_equal(h.data, "from:from:subject:subject:list-id");
	verify(&out, msg, &res);
	assert_true(str_has_prefix(res.data, "dkim=pass header.d=example.org"
	    " header.s=ed "));
	assert_non_null(strstr(res.data, "\ndkim=pass header.d=example.org "
	    "header.s=rsa "));
	dkim_signer_free(s);

	/* Defaults: From, To, Subject, ... over-signed. */
	s = make_signer(NULL, &error);
	buf_reset(&out);
	assert_int_equal(sign(s, &env_local, msg_crlf, 0, &out, &note,
	    &error), 1);
	h_tag(out.data, &h);
	assert_true(str_has_prefix(h.data, "from:from:"));
	assert_non_null(strstr(h.data, "subject:subject"));
	assert_non_null(strstr(h.data, "to:to"));
	dkim_signer_free(s);
	buf_release(&out);
	buf_release(&res);
	buf_release(&h);
}

static void
test_not_signed(void **state)
{
	static const struct {
		const char *protocol, *sasl, *addr;
		const char *msg;
		const char *note;
	} cases[] = {
		{ "ESMTP", NULL, "203.0.113.9",
		  "From: a@example.com\n\nx\n",
		  "not from a local, authenticated or mynetworks sender" },
		{ "ESMTP", NULL, "192.0.2.1",
		  "From: a@example.com\n\nx\n",
		  "not from a local, authenticated or mynetworks sender" },
		{ "local", NULL, NULL, "Subject: no from\n\nx\n",
		  "not signed: no From: header field" },
		{ "local", NULL, NULL, "", "not signed: no From: header field" },
		{ "local", NULL, NULL,
		  "From: a@example.com\nFrom: b@example.com\n\nx\n",
		  "not signed: 2 From: header fields" },
		{ "ESMTPSA", "demo", "203.0.113.9",
		  "From: a@example.net\n\nx\n", "no key for example.net" },
		{ "ESMTP", NULL, "127.0.0.1",
		  "From: a@com\n\nx\n", "no key for com" },
	};
	const char *error, *note;
	struct dkim_signer *s = make_signer(NULL, &error);
	struct buf out;

	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dkim_signer_envelope env = { cases[i].protocol,
			cases[i].sasl, cases[i].addr };

		note = NULL;
		assert_int_equal(sign(s, &env, cases[i].msg, 0, &out, &note,
		    &error), 0);
		assert_non_null(note);
		if (strcmp(note, cases[i].note) != 0)
			fail_msg("case %zu: note \"%s\"", i, note);
		assert_int_equal(out.len, 0);
	}
	/* A header over DKIM_HEADER_MAX: sent unsigned, never a failure. */
	{
		struct buf big;

		buf_init(&big, 0);
		buf_append_str(&big, "From: a@example.com\n");
		while (big.len <= DKIM_HEADER_MAX)
			buf_append_str(&big, "X-Filler: 0123456789012345678901234"
			    "5678901234567890123456789\n");
		buf_append_str(&big, "\nbody\n");
		assert_int_equal(sign(s, &env_local, big.data, 0, &out, &note,
		    &error), 0);
		assert_true(str_has_prefix(note, "not signed: "));
		assert_int_equal(out.len, 0);
		buf_release(&big);
	}
	dkim_signer_free(s);
	buf_release(&out);
}

static void
test_failures(void **state)
{
	const char *error = NULL, *note;
	struct dkim_signer *s = make_signer(NULL, &error);
	struct buf out;
	struct mem m = { msg_crlf, sizeof(msg_crlf) - 1, 10, 30, 0 };

	buf_init(&out, 0);
	/* A key that is configured but cannot be read: defer. */
	assert_int_equal(sign(s, &env_local, "From: a@broken.test\n\nx\n", 0,
	    &out, &note, &error), -1);
	assert_true(str_has_prefix(error, "DKIM key "));
	assert_non_null(strstr(error, "missing.key"));
	assert_int_equal(sign(s, &env_local, "From: a@bad.test\n\nx\n", 0,
	    &out, &note, &error), -1);
	assert_non_null(strstr(error, "is not selector:/path/to/key"));
	/* Read errors in the header and in the body. */
	assert_int_equal(dkim_signer_sign(s, &env_local, mem_read, &m, &out,
	    &note, &error), -1);
	assert_string_equal(error, "queue file read error: boom");
	m.fail_at = sizeof(msg_crlf) - 5;
	m.chunk = 0;
	assert_int_equal(dkim_signer_sign(s, &env_local, mem_read, &m, &out,
	    &note, &error), -1);
	assert_string_equal(error, "queue file read error: boom");
	assert_int_equal(out.len, 0);
	dkim_signer_free(s);

	/* Configuration errors. */
	assert_null(make_signer("dkim_canonicalization = fancy\n", &error));
	assert_true(str_has_prefix(error, "dkim_canonicalization: "));
	assert_null(make_signer("mynetworks = 10.0.0.1/40\n", &error));
	assert_true(str_has_prefix(error, "mynetworks: "));
	assert_null(make_signer("dkim_signing_key_maps = texthash:/nonexistent"
	    "/keys\n", &error));
	assert_true(str_has_prefix(error, "dkim_signing_key_maps: "));
	/* No table: nothing signed, nothing read. */
	s = make_signer("dkim_signing_key_maps =\n", &error);
	assert_non_null(s);
	assert_false(dkim_signer_enabled(s));
	m.reads = 0;
	assert_int_equal(dkim_signer_sign(s, &env_local, mem_read, &m, &out,
	    &note, &error), 0);
	assert_string_equal(note, "no dkim_signing_key_maps");
	assert_int_equal(m.reads, 0);
	dkim_signer_free(s);
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_preload_and_warnings),
		cmocka_unit_test(test_sign_and_verify),
		cmocka_unit_test(test_oversign_params_two_selectors),
		cmocka_unit_test(test_not_signed),
		cmocka_unit_test(test_failures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
