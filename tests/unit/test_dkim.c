/*
 * Unit tests for src/global/dkim*: base64, tag lists, DKIM-Signature and
 * key record parsing (errors included), canonicalization (RFC 6376
 * 3.4.5), the RFC 8463 Appendix A vectors, sign/verify round trips,
 * tampering, bad keys and the result texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base64.h"
#include "buf.h"
#include "dict.h"
#include "dkim.h"
#include "dkim_private.h"
#include "file.h"
#include "str.h"

/* A file of tests/data/dkim/ into OUT. */
static void
read_data(const char *name, struct buf *out)
{
	const char *top = getenv("ULAK_SOURCE_DIR");
	char path[512];
	const char *error;

	snprintf(path, sizeof(path), "%s/tests/data/dkim/%s",
	    top != NULL ? top : ".", name);
	buf_reset(out);
	if (file_read_all(path, out, 0, &error) < 0)
		fail_msg("%s", error);
}

/* ---- base64 ---- */

static void
test_base64(void **state)
{
	static const struct {
		const char *in;
		const char *out;	/* NULL: error */
		size_t out_len;
	} cases[] = {
		{ "", "", 0 },
		{ "Zm9v", "foo", 3 },
		{ "Zm9vYg==", "foob", 4 },
		{ "Zm9vYg", "foob", 4 },		/* padding left out */
		{ "Zm9vYmE=", "fooba", 5 },
		{ " Zm 9v\r\n\tYmFy ", "foobar", 6 },	/* folding */
		{ "Zm9vY", NULL, 0 },			/* 1 char left over */
		{ "Zm9v!", NULL, 0 },			/* bad character */
		{ "Zm=9v", NULL, 0 },			/* text after "=" */
		{ "Zm9vYg=", NULL, 0 },			/* half padding */
		{ "Zm9v===", NULL, 0 },
		{ "Zm9v\x80", NULL, 0 },
	};
	struct buf b;
	const char *error;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		buf_reset(&b);
		error = NULL;
		rc = base64_decode(cases[i].in, strlen(cases[i].in),
		    BASE64_SPACE, &b, &error);
		if (cases[i].out == NULL) {
			assert_int_equal(rc, -1);
			assert_non_null(error);
			assert_int_equal(b.len, 0);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(b.len, cases[i].out_len);
			assert_memory_equal(b.data, cases[i].out, b.len);
		}
	}
	{
		enum dkim_canon h, bc;

		assert_int_equal(dkim_canon_parse("relaxed", &h, &bc, &error),
		    0);
		assert_int_equal(h, DKIM_CANON_RELAXED);
		assert_int_equal(bc, DKIM_CANON_SIMPLE);
		assert_int_equal(dkim_canon_parse("simple/relaxed", &h, &bc,
		    &error), 0);
		assert_int_equal(h, DKIM_CANON_SIMPLE);
		assert_int_equal(bc, DKIM_CANON_RELAXED);
		assert_int_equal(dkim_canon_parse("relaxed/", &h, &bc, &error),
		    -1);
		assert_string_equal(error, "unknown canonicalization "
		    "c=relaxed/");
	}
	buf_reset(&b);
	(void)base64_encode("fooba", 5, &b);
	assert_string_equal(b.data, "Zm9vYmE=");
	buf_release(&b);
}

/* ---- tag lists ---- */

static int
collect_tag(void *ctx, const char *name, size_t nl, const char *v, size_t n,
    const char **error_r)
{
	buf_printf(ctx, "[%.*s=%.*s]", (int)nl, name, (int)n, v);
	return 0;
}

static void
test_tags(void **state)
{
	static const struct {
		const char *in;
		const char *out;	/* collected tags, or the error */
		int rc;
	} cases[] = {
		{ "a=1; b=2", "[a=1][b=2]", 0 },
		{ " a = 1 ;b=\r\n\t2 2;", "[a=1][b=2 2]", 0 },
		{ "", "", 0 },
		{ "a=", "[a=]", 0 },
		{ "A=1; a=2", "[A=1][a=2]", 0 },	/* case-sensitive */
		{ "a=1;;b=2", "empty tag in tag list", -1 },
		{ "a=1; a=2", "duplicate tag a=", -1 },
		{ "a", "tag a without \"=\"", -1 },
		{ "1a=2", "bad tag name", -1 },
		{ "a=b;c", "tag c without \"=\"", -1 },
		{ "a=b\x01", "bad character 0x01 in tag a=", -1 },
		{ "a=b;c=\xc3\xa9", "bad character 0xc3 in tag c=", -1 },
		{ "a=x;y", "tag y without \"=\"", -1 },
	};
	struct buf b;
	const char *error;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		buf_reset(&b);
		error = NULL;
		rc = dkim_tags_parse(cases[i].in, strlen(cases[i].in),
		    collect_tag, &b, &error);
		assert_int_equal(rc, cases[i].rc);
		if (rc == 0)
			assert_string_equal(b.data, cases[i].out);
		else
			assert_string_equal(error, cases[i].out);
	}
	buf_release(&b);
}

/* ---- DKIM-Signature ---- */

#define SIG_OK "v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; " \
	"bh=MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=; b=AAAA"

static void
test_sig_parse(void **state)
{
	static const struct {
		const char *in;
		const char *error;	/* NULL: parses */
	} cases[] = {
		{ SIG_OK, NULL },
		{ SIG_OK "; c=relaxed; l=10; t=5; x=6; q=dns/txt; z=a|b; "
		    "i=u@sub.example.com; foo=bar", NULL },
		{ SIG_OK "; i=@EXAMPLE.com", NULL },
		{ SIG_OK "; v=1", "duplicate tag v=" },
		{ SIG_OK "; b=AAAA", "duplicate tag b=" },
		{ "a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA",
		    "missing tag v=" },
		{ "v=1; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA",
		    "missing tag a=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA",
		    "missing tag b=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; b=AAAA",
		    "missing tag bh=" },
		{ "v=1; a=rsa-sha256; s=sel; h=from; bh=AAAA; b=AAAA",
		    "missing tag d=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; bh=AAAA; b=AAAA",
		    "missing tag h=" },
		{ "v=1; a=rsa-sha256; d=example.com; h=from; bh=AAAA; b=AAAA",
		    "missing tag s=" },
		{ "v=2; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; "
		    "b=AAAA", "unknown version v= (not 1)" },
		{ "v=1; a=rsa-md5; d=example.com; s=sel; h=from; bh=AAAA; "
		    "b=AAAA", "unknown algorithm a=rsa-md5" },
		{ SIG_OK "; c=relaxed/fancy", "unknown canonicalization "
		    "c=relaxed/fancy" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=to:subject; "
		    "bh=AAAA; b=AAAA", "h= does not include From" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from::to; "
		    "bh=AAAA; b=AAAA", "empty field name in h=" },
		{ SIG_OK "; i=user@example.org", "i= domain is not d= or a "
		    "subdomain of it" },
		{ SIG_OK "; i=user@badexample.com", "i= domain is not d= or a "
		    "subdomain of it" },
		{ SIG_OK "; i=user", "bad identity i= (no \"@\")" },
		{ SIG_OK "; l=12a", "bad or out of range body length l=" },
		{ SIG_OK "; l=999999999999999999999999", "bad or out of range "
		    "body length l=" },
		{ SIG_OK "; t=-1", "bad timestamp t=" },
		{ SIG_OK "; x=1234567890123", "bad expiry x=" },
		{ SIG_OK "; t=10; x=9", "x= is before t=" },
		{ SIG_OK "; q=http/well-known", "no supported query method "
		    "q= (dns/txt)" },
		{ "v=1; a=rsa-sha256; d=exa mple.com; s=sel; h=from; bh=AAAA; "
		    "b=AAAA", "bad domain name in d=" },
		{ "v=1; a=rsa-sha256; d=example..com; s=sel; h=from; bh=AAAA; "
		    "b=AAAA", "bad domain name in d=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=se/l; h=from; bh=AAAA; "
		    "b=AAAA", "bad selector s=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; "
		    "b=AA!A", "bad base64 character 0x21 in b=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAA=A; "
		    "b=AAAA", "base64 text after \"=\" padding in bh=" },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; "
		    "b=", "empty signature b=" },
		{ "garbage", "tag garbage without \"=\"" },
	};
	struct dkim_sig sig;
	const char *error;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		error = NULL;
		rc = dkim_sig_parse(cases[i].in, strlen(cases[i].in), &sig,
		    &error);
		if (cases[i].error == NULL) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, error);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(error, cases[i].error);
		}
		dkim_sig_release(&sig);
	}

	/* The values of a good one. */
	{
		const char *good = SIG_OK "; c=relaxed; l=10; t=100; x=200";

		assert_int_equal(dkim_sig_parse(good, strlen(good), &sig,
		    &error), 0);
	}
	assert_int_equal(sig.alg, DKIM_ALG_RSA_SHA256);
	assert_int_equal(sig.hcanon, DKIM_CANON_RELAXED);
	assert_int_equal(sig.bcanon, DKIM_CANON_SIMPLE);
	assert_string_equal(sig.d, "example.com");
	assert_string_equal(sig.s, "sel");
	assert_string_equal(sig.i, "@example.com");
	assert_int_equal(sig.n_h, 2);
	assert_string_equal(sig.h[1], "to");
	assert_int_equal(sig.bh_len, 32);
	assert_int_equal(sig.b_len, 3);
	assert_true(sig.has_l);
	assert_int_equal(sig.l, 10);
	assert_int_equal(dkim_sig_check_time(&sig, 150, &error), 0);
	assert_int_equal(dkim_sig_check_time(&sig, 201, &error), -1);
	assert_string_equal(error, "signature expired (x=)");
	assert_int_equal(dkim_sig_check_time(&sig, 0, &error), 0);
	sig.x = 100000;
	sig.t = 50000;
	assert_int_equal(dkim_sig_check_time(&sig, 50000 - DKIM_CLOCK_SKEW,
	    &error), 0);
	assert_int_equal(dkim_sig_check_time(&sig, 50000 - DKIM_CLOCK_SKEW - 1,
	    &error), -1);
	assert_string_equal(error, "signature timestamp t= in the future");
	dkim_sig_release(&sig);
}

/* ---- key records ---- */

static void
test_key_parse(void **state)
{
	static const struct {
		const char *in;
		const char *error;
	} cases[] = {
		{ "v=DKIM1; k=rsa; p=AAAA", NULL },
		{ "p=AAAA", NULL },
		{ "k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		    NULL },
		{ "v=DKIM1; p=", NULL },		/* revoked */
		{ "v=DKIM1; s=email:other; t=y:s; n=notes; h=sha1:sha256; "
		    "p=AAAA; new=tag", NULL },
		{ "v=DKIM2; p=AAAA", "key record version v= is not DKIM1" },
		{ "p=AAAA; v=DKIM1", "v= is not the first tag of the key "
		    "record" },
		{ "k=dsa; p=AAAA", "unknown key type k=dsa" },
		{ "s=other; p=AAAA", "key service type s= excludes email" },
		{ "v=DKIM1; k=rsa", "no public key p= in the key record" },
		{ "p=A*AA", "bad base64 character 0x2a in p=" },
		{ "p=AAAA; p=BBBB", "duplicate tag p=" },
		{ "v=DKIM1; p=AA AA; junk", "tag junk without \"=\"" },
	};
	struct dkim_key key;
	const char *error;
	struct buf big;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		error = NULL;
		rc = dkim_key_parse(cases[i].in, strlen(cases[i].in), &key,
		    &error);
		if (cases[i].error == NULL) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, error);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(error, cases[i].error);
		}
		dkim_key_release(&key);
	}
	assert_int_equal(dkim_key_parse("v=DKIM1; p=", 11, &key, &error), 0);
	assert_true(key.revoked);
	dkim_key_release(&key);
	assert_int_equal(dkim_key_parse("t=y:s; h=sha1; k=ed25519; p=AAAA",
	    32, &key, &error), 0);
	assert_true(key.testing);
	assert_true(key.strict);
	assert_false(key.sha256_ok);
	assert_int_equal(key.type, DKIM_KEY_ED25519);
	dkim_key_release(&key);

	/* An absurd key: 100 KB of p=. */
	buf_init(&big, 0);
	buf_append_str(&big, "v=DKIM1; k=rsa; p=");
	for (int i = 0; i < 25000; i++)
		buf_append_str(&big, "AAAA");
	assert_int_equal(dkim_key_parse(big.data, big.len, &key, &error), -1);
	assert_string_equal(error, "public key p= too large");
	dkim_key_release(&key);
	buf_release(&big);
}

/* ---- canonicalization ---- */

static void
sha256_of(const char *data, size_t len, unsigned char out[32])
{
	unsigned n = 0;

	assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
}

/* Body hash of IN with C and LIMIT, fed in chunks of CHUNK octets. */
static void
body_hash(enum dkim_canon c, const char *in, size_t chunk, uint64_t limit,
    unsigned char out[32], uint64_t *total_r)
{
	struct dkim_body *b = dkim_body_new(c, limit);
	size_t len = strlen(in);

	for (size_t pos = 0; pos < len; pos += chunk)
		dkim_body_update(b, in + pos, len - pos < chunk ? len - pos :
		    chunk);
	dkim_body_end(b, out, total_r);
	dkim_body_free(b);
}

static void
test_canon(void **state)
{
	/* RFC 6376 3.4.5 */
	static const struct {
		enum dkim_canon c;
		const char *in;
		const char *out;
	} bodies[] = {
		{ DKIM_CANON_RELAXED, " C \r\nD \t E\r\n\r\n\r\n",
		    " C\r\nD E\r\n" },
		{ DKIM_CANON_SIMPLE, " C \r\nD \t E\r\n\r\n\r\n",
		    " C \r\nD \t E\r\n" },
		/* LF line ends count as CRLF. */
		{ DKIM_CANON_RELAXED, " C \nD \t E\n\n\n", " C\r\nD E\r\n" },
		{ DKIM_CANON_SIMPLE, " C \nD \t E\n\n", " C \r\nD \t E\r\n" },
		/* Empty bodies (RFC 6376 3.4.3, 3.4.4 with erratum 1384). */
		{ DKIM_CANON_SIMPLE, "", "\r\n" },
		{ DKIM_CANON_SIMPLE, "\r\n\r\n", "\r\n" },
		{ DKIM_CANON_RELAXED, "", "" },
		{ DKIM_CANON_RELAXED, " \r\n\t\r\n", "" },
		/* No final line end: one is added. */
		{ DKIM_CANON_SIMPLE, "a", "a\r\n" },
		{ DKIM_CANON_RELAXED, "a  b  ", "a b\r\n" },
		/* A bare CR is content. */
		{ DKIM_CANON_SIMPLE, "a\rb\r\n", "a\rb\r\n" },
		{ DKIM_CANON_SIMPLE, "a\r", "a\r\r\n" },
		/* Empty lines inside the body stay. */
		{ DKIM_CANON_RELAXED, "a\r\n\r\n \r\nb\r\n\r\n",
		    "a\r\n\r\n\r\nb\r\n" },
	};
	static const size_t chunks[] = { 1, 2, 3, 1000 };
	unsigned char want[32], got[32];
	uint64_t total;
	struct buf out;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		sha256_of(bodies[i].out, strlen(bodies[i].out), want);
		for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]);
		    k++) {
			body_hash(bodies[i].c, bodies[i].in, chunks[k],
			    UINT64_MAX, got, &total);
			if (memcmp(want, got, 32) != 0)
				fail_msg("body case %zu chunk %zu", i,
				    chunks[k]);
			assert_int_equal(total, strlen(bodies[i].out));
		}
	}
	/* l=: only the first octets are hashed, the total counts all. */
	sha256_of(" C\r\nD", 5, want);
	body_hash(DKIM_CANON_RELAXED, " C \r\nD \t E\r\n\r\n", 1, 5, got,
	    &total);
	assert_memory_equal(want, got, 32);
	assert_int_equal(total, 9);

	/* Header fields, RFC 6376 3.4.5. */
	buf_init(&out, 0);
	dkim_canon_header(DKIM_CANON_RELAXED, "A: X", 4, &out);
	dkim_canon_header(DKIM_CANON_RELAXED, "B : Y\t\r\n\tZ  ", 12, &out);
	assert_string_equal(out.data, "a:X\r\nb:Y Z\r\n");
	buf_reset(&out);
	dkim_canon_header(DKIM_CANON_SIMPLE, "A: X", 4, &out);
	dkim_canon_header(DKIM_CANON_SIMPLE, "B : Y\t\r\n\tZ  ", 12, &out);
	assert_string_equal(out.data, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
	buf_reset(&out);
	dkim_canon_header(DKIM_CANON_SIMPLE, "B: Y\n Z", 7, &out);
	assert_string_equal(out.data, "B: Y\r\n Z\r\n");
	buf_reset(&out);
	dkim_canon_header(DKIM_CANON_RELAXED, "SUBJect:\t  ", 11, &out);
	assert_string_equal(out.data, "subject:\r\n");

	/* b= loses its value, bh= does not. */
	buf_reset(&out);
	{
		const char *f = "DKIM-Signature: v=1; bh=AB; b=CD\r\n\t EF; s=x";

		dkim_sig_field_for_hash(f, strlen(f), DKIM_CANON_SIMPLE, &out);
	}
	assert_string_equal(out.data, "DKIM-Signature: v=1; bh=AB; b=; s=x");
	buf_reset(&out);
	{
		const char *f = "DKIM-Signature: a=1;\r\n b = CD";

		dkim_sig_field_for_hash(f, strlen(f), DKIM_CANON_RELAXED, &out);
	}
	assert_string_equal(out.data, "dkim-signature:a=1; b =");
	buf_release(&out);
}

/* ---- verification ---- */

/* Hand the records of tests/data/dkim/keys.txt (or KEYS) to V. */
static void
give_keys(struct dkim_verify *v, const char *keys)
{
	struct buf text;

	buf_init(&text, 0);
	if (keys == NULL)
		read_data("keys.txt", &text);
	else
		buf_append_str(&text, keys);
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const char *name = dkim_verify_key_name(v, i), *p, *rec = NULL;
		size_t nl = 0, len = 0;

		if (name == NULL)
			continue;
		for (p = text.data; *p; p += nl + 1) {
			nl = strcspn(p, "\n");
			if (nl > strlen(name) && p[strlen(name)] == ' ' &&
			    str_ncasecmp(p, name, strlen(name)) == 0) {
				rec = p + strlen(name) + 1;
				len = nl - strlen(name) - 1;
				break;
			}
			if (p[nl] == '\0')
				break;
		}
		if (rec != NULL)
			dkim_verify_key_answer(v, i, DNS_OK, &rec, &len, 1,
			    NULL);
		else
			dkim_verify_key_answer(v, i, DNS_NXDOMAIN, NULL, NULL,
			    0, NULL);
	}
	buf_release(&text);
}

/* Verify MSG (in chunks of CHUNK) with KEYS; the results as A-R text. */
static void
verify_msg(const char *msg, size_t len, size_t chunk, const char *keys,
    time_t now, struct buf *out)
{
	struct dkim_verify_params p = { .now = now };
	struct dkim_verify *v = dkim_verify_new(&p);
	const struct dkim_result *r;
	size_t n;

	for (size_t pos = 0; pos < len; pos += chunk)
		dkim_verify_feed(v, msg + pos, len - pos < chunk ? len - pos :
		    chunk);
	dkim_verify_end(v);
	give_keys(v, keys);
	r = dkim_verify_results(v, &n);
	buf_reset(out);
	for (size_t i = 0; i < n; i++) {
		dkim_result_format(&r[i], out);
		buf_append_char(out, '\n');
	}
	dkim_verify_free(v);
}

static void
test_rfc8463(void **state)
{
	struct buf msg, out, lf;
	static const size_t chunks[] = { 1, 7, 64, 100000 };

	buf_init(&msg, 0);
	buf_init(&out, 0);
	buf_init(&lf, 0);
	read_data("rfc8463-signed.msg", &msg);
	for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		verify_msg(msg.data, msg.len, chunks[k], NULL, 0, &out);
		assert_string_equal(out.data,
		    "dkim=pass header.d=football.example.com "
		    "header.s=brisbane header.b=9/dsDChY\n"
		    "dkim=pass header.d=football.example.com "
		    "header.s=test header.b=icKcLSEZ\n");
	}
	/* The same with CRLF line ends. */
	for (size_t i = 0; i < msg.len; i++) {
		if (msg.data[i] == '\n')
			buf_append_char(&lf, '\r');
		buf_append_char(&lf, msg.data[i]);
	}
	verify_msg(lf.data, lf.len, 5, NULL, 0, &out);
	assert_string_equal(out.data,
	    "dkim=pass header.d=football.example.com "
	    "header.s=brisbane header.b=9/dsDChY\n"
	    "dkim=pass header.d=football.example.com "
	    "header.s=test header.b=icKcLSEZ\n");

	/* Exim's prototype signer (relaxed/relaxed, CRLF, tab folding). */
	read_data("exim-ed25519.msg", &msg);
	verify_msg(msg.data, msg.len, 3, NULL, 0, &out);
	assert_string_equal(out.data, "dkim=pass header.d=test.ex "
	    "header.s=sed header.b=5fhyD3EI\n");
	buf_release(&msg);
	buf_release(&out);
	buf_release(&lf);
}

/* Sign MSG with KEY and the given settings; the signed message into OUT. */
static void
sign_msg(const char *msg, const struct dkim_privkey *key, const char *sel,
    enum dkim_canon hc, enum dkim_canon bc, bool l, uint64_t ttl,
    struct buf *out)
{
	struct dkim_sign_params p = {
		.domain = "football.example.com",
		.selector = sel,
		.key = key,
		.hcanon = hc,
		.bcanon = bc,
		.body_length = l,
		.ttl = ttl,
	};
	struct dkim_sign *s = dkim_sign_new(&p);
	const char *error;

	dkim_sign_feed(s, msg, strlen(msg));
	buf_reset(out);
	if (dkim_sign_finish(s, "\n", out, &error) < 0)
		fail_msg("%s", error);
	buf_append_str(out, msg);
	dkim_sign_free(s);
}

static struct dkim_privkey *
load_key(const char *name)
{
	struct buf text;
	struct dkim_privkey *k;
	const char *error;

	buf_init(&text, 0);
	read_data(name, &text);
	k = dkim_privkey_parse(text.data, text.len, &error);
	if (k == NULL)
		fail_msg("%s: %s", name, error);
	buf_release(&text);
	return k;
}

static void
test_roundtrip(void **state)
{
	struct dkim_privkey *rsa = load_key("rfc8463-rsa.key");
	struct dkim_privkey *ed = load_key("rfc8463-ed25519.seed");
	struct buf msg, out, res;

	buf_init(&msg, 0);
	buf_init(&out, 0);
	buf_init(&res, 0);
	read_data("rfc8463-unsigned.msg", &msg);
	assert_int_equal(dkim_privkey_type(rsa), DKIM_KEY_RSA);
	assert_int_equal(dkim_privkey_type(ed), DKIM_KEY_ED25519);
	for (int hc = 0; hc < 2; hc++)
		for (int bc = 0; bc < 2; bc++)
			for (int k = 0; k < 2; k++) {
				sign_msg(msg.data, k ? ed : rsa, k ? "brisbane" :
				    "test", (enum dkim_canon)hc,
				    (enum dkim_canon)bc, hc == bc, 3600, &out);
				verify_msg(out.data, out.len, 11, NULL, 0,
				    &res);
				assert_true(str_has_prefix(res.data,
				    "dkim=pass header.d=football.example.com "));
			}

	/* Tampering: the body. */
	sign_msg(msg.data, ed, "brisbane", DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, false, 0, &out);
	buf_append_str(&out, "P.S. send money\n");
	verify_msg(out.data, out.len, 100, NULL, 0, &res);
	assert_true(str_has_prefix(res.data, "dkim=fail reason=\"body hash "
	    "did not verify\""));
	/* ... white space only changes nothing under relaxed. */
	sign_msg(msg.data, ed, "brisbane", DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, false, 0, &out);
	buf_append_str(&out, "\n\n");
	verify_msg(out.data, out.len, 100, NULL, 0, &res);
	assert_true(str_has_prefix(res.data, "dkim=pass "));

	/* A header field. */
	sign_msg(msg.data, rsa, "test", DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, false, 0, &out);
	{
		char *p = strstr(out.data, "Subject: Is dinner ready?");

		assert_non_null(p);
		memcpy(p + 9, "IS", 2);
	}
	verify_msg(out.data, out.len, 100, NULL, 0, &res);
	assert_true(str_has_prefix(res.data, "dkim=fail reason=\"signature "
	    "did not verify\""));
	/* An added (over-signed) field: a second From, or a Cc. */
	for (int i = 0; i < 2; i++) {
		sign_msg(msg.data, rsa, "test", DKIM_CANON_RELAXED,
		    DKIM_CANON_RELAXED, false, 0, &out);
		buf_reset(&res);
		buf_append_str(&res, i == 0 ? "From: evil@example.org\n" :
		    "Cc: evil@example.org\n");
		buf_append(&res, out.data, out.len);
		buf_reset(&out);
		buf_append(&out, res.data, res.len);
		verify_msg(out.data, out.len, 100, NULL, 0, &res);
		assert_true(str_has_prefix(res.data, "dkim=fail reason="
		    "\"signature did not verify\""));
	}
	/* An added field that is not signed (Received) changes nothing. */
	sign_msg(msg.data, rsa, "test", DKIM_CANON_SIMPLE, DKIM_CANON_SIMPLE,
	    false, 0, &out);
	buf_reset(&res);
	buf_append_str(&res, "Received: from x by y; today\n");
	buf_append(&res, out.data, out.len);
	verify_msg(res.data, res.len, 100, NULL, 0, &out);
	assert_true(str_has_prefix(out.data, "dkim=pass "));

	/*
	 * l=: text appended after the signed length still passes (the
	 * known weakness of l=, RFC 6376 8.2); a body cut short fails.
	 */
	sign_msg(msg.data, ed, "brisbane", DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, true, 0, &out);
	assert_non_null(strstr(out.data, "; l=54;"));
	buf_append_str(&out, "appended\n");
	verify_msg(out.data, out.len, 100, NULL, 0, &res);
	assert_true(str_has_prefix(res.data, "dkim=pass "));
	sign_msg(msg.data, ed, "brisbane", DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, true, 0, &out);
	buf_truncate(&out, out.len - 7);	/* "Joe.\n\n" and one more */
	verify_msg(out.data, out.len, 100, NULL, 0, &res);
	assert_true(str_has_prefix(res.data, "dkim=fail reason=\"body "
	    "shorter than l=\" header.d=football.example.com "
	    "header.s=brisbane header.b="));
	buf_release(&msg);
	buf_release(&out);
	buf_release(&res);
	dkim_privkey_free(rsa);
	dkim_privkey_free(ed);
}

/* A message signed by the RSA key of RFC 8463 with tags TAGS added. */
static void
forged(const char *sig_tags, struct buf *out)
{
	buf_reset(out);
	buf_printf(out, "DKIM-Signature: v=1; d=football.example.com; "
	    "s=test; h=from; bh=MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=; "
	    "b=AAAA; %s\nFrom: joe@football.example.com\n\nHi.\n", sig_tags);
}

static void
test_verify_errors(void **state)
{
	static const struct {
		const char *tags;	/* more tags of the signature */
		const char *keys;	/* key records; NULL: keys.txt */
		const char *want;	/* start of the result */
	} cases[] = {
		{ "a=rsa-sha1", NULL, "dkim=permerror reason=\"rsa-sha1 is "
		    "not accepted (RFC 8301)\" header.d=football.example.com "
		    "header.s=test header.b=AAAA" },
		{ "a=rsa-sha256; x=1000", NULL, "dkim=permerror "
		    "reason=\"signature expired (x=)\"" },
		{ "a=rsa-sha256; t=99999999999", NULL, "dkim=permerror "
		    "reason=\"signature timestamp t= in the future\"" },
		{ "a=rsa-sha256", "test._domainkey.football.example.com "
		    "v=DKIM1; p=", "dkim=permerror reason=\"key revoked "
		    "(empty p=)\"" },
		{ "a=rsa-sha256", "x._domainkey.football.example.com p=",
		    "dkim=permerror reason=\"no key for signature "
		    "(test._domainkey.football.example.com)\"" },
		{ "a=rsa-sha256", "test._domainkey.football.example.com "
		    "k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		    "dkim=permerror reason=\"key type k= does not match a=\"" },
		{ "a=rsa-sha256", "test._domainkey.football.example.com "
		    "h=sha1; p=AAAA", "dkim=permerror reason=\"key h= does not "
		    "allow sha256\"" },
		{ "a=rsa-sha256", "test._domainkey.football.example.com "
		    "p=AAAA", "dkim=permerror reason=\"bad RSA public key\"" },
		{ "a=rsa-sha256", "test._domainkey.football.example.com "
		    "v=DKIM1; k=rsa; p=AA!A", "dkim=permerror reason=\"bad key "
		    "record: bad base64 character 0x21 in p=\"" },
		{ "a=ed25519-sha256", "test._domainkey.football.example.com "
		    "k=ed25519; p=AAAA", "dkim=permerror reason=\"bad ed25519 "
		    "public key (not 32 octets)\"" },
		{ "a=rsa-sha256; i=@sub.football.example.com",
		    "test._domainkey.football.example.com t=s; p=AAAA",
		    "dkim=permerror reason=\"i= is a subdomain of d=, which "
		    "the key's t=s forbids\"" },
		/* Syntax: no d= etc. to report. */
		{ "a=rsa-sha256; b=AAAA", NULL, "dkim=permerror "
		    "reason=\"duplicate tag b=\"\n" },
		{ "a=rsa-sha256; l=x", NULL, "dkim=permerror reason=\"bad or "
		    "out of range body length l=\"\n" },
		/* A good key, a wrong body hash. */
		{ "a=rsa-sha256", NULL, "dkim=fail reason=\"body hash did not "
		    "verify\"" },
		/* Testing mode is shown. */
		{ "a=ed25519-sha256", "test._domainkey.football.example.com "
		    "k=ed25519; t=y; "
		    "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		    "dkim=fail (test mode) reason=\"body hash" },
	};
	struct buf msg, out;

	buf_init(&msg, 0);
	buf_init(&out, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		forged(cases[i].tags, &msg);
		verify_msg(msg.data, msg.len, 10, cases[i].keys, 0, &out);
		if (!str_has_prefix(out.data, cases[i].want))
			fail_msg("case %zu: %s", i, out.data);
	}
	buf_release(&msg);
	buf_release(&out);
}

/* A key record of a fresh RSA key of BITS bits (outside the limits too). */
static void
rsa_record(unsigned bits, struct buf *rec)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	unsigned char *der = NULL;
	int n;

	assert_non_null(pk);
	n = i2d_PUBKEY(pk, &der);
	assert_true(n > 0);
	buf_reset(rec);
	buf_append_str(rec, "test._domainkey.football.example.com v=DKIM1; "
	    "p=");
	(void)base64_encode(der, (size_t)n, rec);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
}

static void
test_key_sizes(void **state)
{
	struct buf msg, out, rec, pem;
	const char *error;
	struct dkim_privkey *k;

	buf_init(&msg, 0);
	buf_init(&out, 0);
	buf_init(&rec, 0);
	buf_init(&pem, 0);
	forged("a=rsa-sha256", &msg);
	rsa_record(512, &rec);
	verify_msg(msg.data, msg.len, 10, rec.data, 0, &out);
	assert_true(str_has_prefix(out.data, "dkim=permerror reason=\"RSA key "
	    "of 512 bits (1024..8192 accepted)\""));
	rsa_record(1024, &rec);
	verify_msg(msg.data, msg.len, 10, rec.data, 0, &out);
	assert_true(str_has_prefix(out.data, "dkim=fail reason=\"body hash"));

	/* Private keys: too small, garbage, PEM and seed. */
	{
		EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)512);
		BIO *bio = BIO_new(BIO_s_mem());
		BUF_MEM *mem;

		assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL,
		    0, NULL, NULL), 1);
		BIO_get_mem_ptr(bio, &mem);
		buf_append(&pem, mem->data, mem->length);
		BIO_free(bio);
		EVP_PKEY_free(pk);
	}
	assert_null(dkim_privkey_parse(pem.data, pem.len, &error));
	assert_string_equal(error, "RSA key of 512 bits (1024..8192 "
	    "accepted)");
	assert_null(dkim_privkey_parse("junk", 4, &error));
	assert_string_equal(error, "neither a PEM private key nor a base64 "
	    "Ed25519 seed");
	assert_null(dkim_privkey_parse("-----BEGIN PRIVATE KEY-----\nAAAA\n"
	    "-----END PRIVATE KEY-----\n", 58, &error));
	assert_true(str_has_prefix(error, "not a readable PEM private key"));
	assert_null(dkim_privkey_load("/nonexistent/key", &error));
	buf_reset(&pem);
	buf_reset(&rec);
	assert_int_equal(dkim_keygen(DKIM_KEY_ED25519, 0, &pem, &rec, &error),
	    0);
	assert_true(str_has_prefix(rec.data, "v=DKIM1; k=ed25519; p="));
	k = dkim_privkey_parse(pem.data, pem.len, &error);
	assert_non_null(k);
	assert_int_equal(dkim_privkey_type(k), DKIM_KEY_ED25519);
	dkim_privkey_free(k);
	assert_int_equal(dkim_keygen(DKIM_KEY_RSA, 512, &pem, &rec, &error),
	    -1);
	assert_int_equal(dkim_keygen(DKIM_KEY_RSA, 100000, &pem, &rec,
	    &error), -1);
	buf_release(&msg);
	buf_release(&out);
	buf_release(&rec);
	buf_release(&pem);
}

static void
test_limits(void **state)
{
	struct dkim_verify_params p = { .max_signatures = 2,
	    .header_max = 4096 };
	struct dkim_verify *v;
	const struct dkim_result *r;
	struct buf msg, out;
	size_t n;

	buf_init(&msg, 0);
	buf_init(&out, 0);
	/* Three signatures, limit two: the third is neutral, no key asked. */
	for (int i = 0; i < 3; i++)
		buf_append_str(&msg, "DKIM-Signature: v=1; a=rsa-sha256; "
		    "d=example.com; s=s; h=from; bh=AAAA; b=AAAA\n");
	buf_append_str(&msg, "From: a@example.com\n\nbody\n");
	v = dkim_verify_new(&p);
	dkim_verify_feed(v, msg.data, msg.len);
	assert_true(dkim_verify_header_done(v));
	assert_int_equal(dkim_verify_count(v), 3);
	assert_string_equal(dkim_verify_key_name(v, 0),
	    "s._domainkey.example.com");
	assert_null(dkim_verify_key_name(v, 2));
	dkim_verify_end(v);
	/* No key answer at all: temperror. */
	r = dkim_verify_results(v, &n);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].status, DKIM_TEMPERROR);
	assert_string_equal(r[0].reason, "key not looked up");
	assert_int_equal(r[2].status, DKIM_NEUTRAL);
	assert_string_equal(r[2].reason, "not evaluated: more than 2 "
	    "signatures");
	dkim_verify_key_answer(v, 1, DNS_TEMPFAIL, NULL, NULL, 0, "SERVFAIL");
	dkim_verify_free(v);

	v = dkim_verify_new(&p);
	dkim_verify_feed(v, msg.data, msg.len);
	dkim_verify_key_answer(v, 0, DNS_TEMPFAIL, NULL, NULL, 0, "SERVFAIL");
	r = dkim_verify_results(v, &n);
	assert_int_equal(r[0].status, DKIM_TEMPERROR);
	assert_string_equal(r[0].reason, "key lookup failed: SERVFAIL");
	dkim_verify_free(v);

	/* A header over the limit: every signature is permerror. */
	buf_reset(&msg);
	buf_append_str(&msg, "DKIM-Signature: v=1; a=rsa-sha256; "
	    "d=example.com; s=s; h=from; bh=AAAA; b=AAAA\n");
	for (int i = 0; i < 100; i++)
		buf_append_str(&msg, "X-Filler: 0123456789012345678901234567"
		    "8901234567890123456789\n");
	buf_append_str(&msg, "From: a@example.com\n\nbody\n");
	v = dkim_verify_new(&p);
	dkim_verify_feed(v, msg.data, msg.len);
	dkim_verify_end(v);
	r = dkim_verify_results(v, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].status, DKIM_PERMERROR);
	assert_string_equal(r[0].reason, "header too large to verify");
	dkim_verify_free(v);

	/* Too many fields (quadratic selection work): the same. */
	buf_reset(&msg);
	buf_append_str(&msg, "DKIM-Signature: v=1; a=rsa-sha256; "
	    "d=example.com; s=s; h=from; bh=AAAA; b=AAAA\n");
	for (int i = 0; i < 2000; i++)
		buf_append_str(&msg, "a:\n");
	buf_append_str(&msg, "From: a@example.com\n\nbody\n");
	v = dkim_verify_new(NULL);
	dkim_verify_feed(v, msg.data, msg.len);
	dkim_verify_end(v);
	r = dkim_verify_results(v, &n);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].reason, "header too large to verify");
	dkim_verify_free(v);

	/* No signature: none; a message without header and body. */
	v = dkim_verify_new(NULL);
	dkim_verify_feed(v, "From: a@b\n", 10);
	r = dkim_verify_results(v, &n);
	assert_int_equal(n, 0);
	dkim_verify_free(v);
	v = dkim_verify_new(NULL);
	r = dkim_verify_results(v, &n);
	assert_int_equal(n, 0);
	dkim_verify_free(v);
	assert_string_equal(dkim_status_name(DKIM_NONE), "none");
	assert_string_equal(dkim_status_name(DKIM_POLICY), "policy");
	assert_string_equal(dkim_alg_name(DKIM_ALG_ED25519_SHA256),
	    "ed25519-sha256");
	buf_release(&msg);
	buf_release(&out);
}

static void
test_select_and_oversign(void **state)
{
	struct dkim_msg m;
	struct buf out;
	char *h[] = { "from", "x", "x", "x", "to" };
	struct dkim_privkey *ed = load_key("rfc8463-ed25519.seed");
	struct dkim_sign_params p = {
		.domain = "example.com", .selector = "s", .key = ed,
		.hcanon = DKIM_CANON_RELAXED, .bcanon = DKIM_CANON_RELAXED,
		.headers = "From:To:X-A", .oversign = "Subject", .now = 1000,
		.ttl = 60, .identity = "joe@example.com",
	};
	struct dkim_sign *s;
	const char *error;

	buf_init(&out, 0);
	dkim_msg_init(&m, 0, NULL, NULL, NULL);
	dkim_msg_feed(&m, "X: 1\nFrom: f\nX: 2\n", 18);
	dkim_msg_end(&m);
	assert_int_equal(m.n_fields, 3);
	/* RFC 6376 5.4.2: bottom-up; a third x= finds nothing. */
	dkim_msg_select(&m, h, 5, (size_t)-1, DKIM_CANON_RELAXED, &out);
	assert_string_equal(out.data, "from:f\r\nx:2\r\nx:1\r\n");
	dkim_msg_release(&m);

	s = dkim_sign_new(&p);
	{
		const char *m2 = "From: a@example.com\r\nX-A: 1\r\n"
		    "X-A: 2\r\n\r\nb\r\n";

		dkim_sign_feed(s, m2, strlen(m2));
	}
	buf_reset(&out);
	assert_int_equal(dkim_sign_finish(s, "\r\n", &out, &error), 0);
	dkim_sign_free(s);
	assert_true(str_has_prefix(out.data, "DKIM-Signature: v=1; "
	    "a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=s;\r\n"
	    "\ti=joe@example.com; t=1000; x=1060; h=from:from:x-a:x-a:"
	    "subject;\r\n"));
	assert_non_null(strstr(out.data, "\r\n\tbh="));
	for (char *p2 = out.data; (p2 = strchr(p2, '\n')) != NULL; p2++)
		assert_int_equal(p2[-1], '\r');

	/* No From: no signature. */
	s = dkim_sign_new(&p);
	dkim_sign_feed(s, "To: a@example.com\n\nb\n", 21);
	assert_int_equal(dkim_sign_finish(s, "\n", &out, &error), -1);
	assert_string_equal(error, "the message has no From: field to sign");
	dkim_sign_free(s);
	p.identity = "joe@example.org";
	s = dkim_sign_new(&p);
	dkim_sign_feed(s, "From: a@example.com\n\nb\n", 23);
	assert_int_equal(dkim_sign_finish(s, "\n", &out, &error), -1);
	assert_true(str_has_prefix(error, "the identity i= is not"));
	dkim_sign_free(s);
	p.identity = "@mail.example.com";
	s = dkim_sign_new(&p);
	dkim_sign_feed(s, "From: a@example.com\n\nb\n", 23);
	assert_int_equal(dkim_sign_finish(s, "\n", &out, &error), 0);
	dkim_sign_free(s);
	p.selector = "bad/selector";
	s = dkim_sign_new(&p);
	dkim_sign_feed(s, "From: a@example.com\n\nb\n", 23);
	assert_int_equal(dkim_sign_finish(s, "\n", &out, &error), -1);
	assert_string_equal(error, "bad signing domain or selector");
	dkim_sign_free(s);
	dkim_privkey_free(ed);
	buf_release(&out);
}

static void
test_signing_keys(void **state)
{
	struct maps *m;
	struct strlist sel, path;
	const char *error;

	m = maps_open("inline:{ example.com=s1:/k/1.pem, "
	    "example.org=bad, example.net=b/d:/k }", &error);
	assert_non_null(m);
	strlist_init(&sel);
	strlist_init(&path);
	assert_int_equal(dkim_signing_keys(m, "EXAMPLE.com", &sel, &path,
	    &error), 1);
	assert_string_equal(sel.v[0], "s1");
	assert_string_equal(path.v[0], "/k/1.pem");
	assert_int_equal(dkim_signing_keys(m, "other.com", &sel, &path,
	    &error), 0);
	assert_int_equal(dkim_signing_keys(m, "example.org", &sel, &path,
	    &error), -1);
	assert_string_equal(error, "dkim_signing_key_maps: example.org: "
	    "\"bad\" is not selector:/path/to/key");
	assert_int_equal(dkim_signing_keys(m, "example.net", &sel, &path,
	    &error), -1);
	assert_string_equal(error, "dkim_signing_key_maps: example.net: bad "
	    "selector \"b/d\"");
	strlist_release(&sel);
	strlist_release(&path);
	maps_close(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_sig_parse),
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_canon),
		cmocka_unit_test(test_rfc8463),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_verify_errors),
		cmocka_unit_test(test_key_sizes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_select_and_oversign),
		cmocka_unit_test(test_signing_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
