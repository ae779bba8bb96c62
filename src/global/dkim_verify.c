/*
 * dkim_verify - verification of every DKIM-Signature of a message (RFC
 * 6376 6, RFC 8463, RFC 8301): the message streams in, each signature's
 * body hash is computed as it passes, the keys are looked up
 * asynchronously (dns.h) while the body arrives, and the results are
 * computed at the end.
 *
 * Distrusts the message and the key records: every signature is
 * evaluated on its own, with its own reason; one bad signature never
 * affects another.  Crypto is OpenSSL 3's EVP: RSASSA-PKCS1-v1_5 with
 * SHA-256, and pure Ed25519 over the SHA-256 of the header data (RFC 8463
 * 3).
 */
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_private.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "str.h"

struct dkim_vsig {
	struct dkim_verify *v;
	size_t field;			/* index into msg.fields */
	struct dkim_sig sig;
	bool parsed;
	bool limited;			/* beyond max_signatures */
	char *error;			/* reason decided before the end */
	enum dkim_status pre;		/* status decided before the end */
	char *key_name;
	struct dkim_body *body;
	unsigned char bh[32];
	uint64_t body_total;
	bool key_done;
	bool key_ok;
	struct dkim_key key;
	struct dns_query *q;
	char b8[9];
};

struct dkim_verify {
	struct dkim_verify_params params;
	struct dkim_msg msg;
	struct dkim_vsig *sigs;
	size_t n_sigs;
	bool body_done;
	bool computed;
	struct dkim_result *results;
	size_t pending;
	dkim_verify_cb *cb;
	void *cb_arg;
};

static void
dkim_vsig_fail(struct dkim_vsig *s, enum dkim_status st, const char *why)
{
	if (s->error != NULL)
		return;		/* the first reason stands */
	s->pre = st;
	s->error = xstrdup(why);
}

static void
dkim_verify_header_fn(void *ctx)
{
	struct dkim_verify *v = ctx;
	size_t n = 0;

	for (size_t i = 0; i < v->msg.n_fields; i++)
		if (dkim_field_is(&v->msg.fields[i], "dkim-signature"))
			n++;
	v->sigs = xcalloc(n + 1, sizeof(*v->sigs));
	for (size_t i = 0; i < v->msg.n_fields; i++) {
		const struct dkim_field *f = &v->msg.fields[i];
		struct dkim_vsig *s;
		const char *value, *error;
		size_t len;

		if (!dkim_field_is(f, "dkim-signature"))
			continue;
		s = &v->sigs[v->n_sigs++];
		s->v = v;
		s->field = i;
		if (v->n_sigs > v->params.max_signatures) {
			s->limited = true;
			dkim_vsig_fail(s, DKIM_NEUTRAL, err_fmt("not evaluated: "
			    "more than %zu signatures",
			    v->params.max_signatures));
			continue;
		}
		value = dkim_field_value(f, &len);
		if (dkim_sig_parse(value, len, &s->sig, &error) < 0) {
			dkim_vsig_fail(s, DKIM_PERMERROR, error);
			continue;
		}
		s->parsed = true;
		str_copy(s->b8, sizeof(s->b8), "");
		memcpy(s->b8, s->sig.b_text, strlen(s->sig.b_text) < 8 ?
		    strlen(s->sig.b_text) : 8);
		if (v->msg.too_big) {
			dkim_vsig_fail(s, DKIM_PERMERROR, "header too large "
			    "to verify");
			continue;
		}
		if (s->sig.alg == DKIM_ALG_RSA_SHA1) {
			dkim_vsig_fail(s, DKIM_PERMERROR, "rsa-sha1 is not "
			    "accepted (RFC 8301)");
			continue;
		}
		if (dkim_sig_check_time(&s->sig, v->params.now, &error) < 0) {
			dkim_vsig_fail(s, DKIM_PERMERROR, error);
			continue;
		}
		s->key_name = xmalloc(strlen(s->sig.s) + strlen(s->sig.d) + 13);
		memcpy(s->key_name, s->sig.s, strlen(s->sig.s));
		memcpy(s->key_name + strlen(s->sig.s), "._domainkey.", 12);
		memcpy(s->key_name + strlen(s->sig.s) + 12, s->sig.d,
		    strlen(s->sig.d) + 1);
		s->body = dkim_body_new(s->sig.bcanon, s->sig.has_l ?
		    s->sig.l : UINT64_MAX);
	}
}

static void
dkim_verify_body_fn(void *ctx, const char *data, size_t len)
{
	struct dkim_verify *v = ctx;

	for (size_t i = 0; i < v->n_sigs; i++)
		if (v->sigs[i].body != NULL)
			dkim_body_update(v->sigs[i].body, data, len);
}

struct dkim_verify *
dkim_verify_new(const struct dkim_verify_params *params)
{
	struct dkim_verify *v = xcalloc(1, sizeof(*v));

	if (params != NULL)
		v->params = *params;
	if (v->params.now == 0)
		v->params.now = time(NULL);
	if (v->params.max_signatures == 0)
		v->params.max_signatures = DKIM_MAX_SIGNATURES;
	dkim_msg_init(&v->msg, v->params.header_max, dkim_verify_header_fn,
	    dkim_verify_body_fn, v);
	return v;
}

void
dkim_verify_free(struct dkim_verify *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n_sigs; i++) {
		struct dkim_vsig *s = &v->sigs[i];

		if (s->q != NULL)
			dns_cancel(s->q);
		dkim_sig_release(&s->sig);
		dkim_key_release(&s->key);
		dkim_body_free(s->body);
		free(s->error);
		free(s->key_name);
	}
	free(v->sigs);
	free(v->results);
	dkim_msg_release(&v->msg);
	free(v);
}

void
dkim_verify_feed(struct dkim_verify *v, const char *data, size_t len)
{
	if (!v->body_done)
		dkim_msg_feed(&v->msg, data, len);
}

bool
dkim_verify_header_done(const struct dkim_verify *v)
{
	return v->msg.header_done;
}

void
dkim_verify_end(struct dkim_verify *v)
{
	if (v->body_done)
		return;
	dkim_msg_end(&v->msg);
	v->body_done = true;
	for (size_t i = 0; i < v->n_sigs; i++) {
		struct dkim_vsig *s = &v->sigs[i];

		if (s->body == NULL)
			continue;
		dkim_body_end(s->body, s->bh, &s->body_total);
		dkim_body_free(s->body);
		s->body = NULL;
	}
}

size_t
dkim_verify_count(const struct dkim_verify *v)
{
	return v->n_sigs;
}

const char *
dkim_verify_key_name(const struct dkim_verify *v, size_t i)
{
	if (i >= v->n_sigs || v->sigs[i].error != NULL)
		return NULL;
	return v->sigs[i].key_name;
}

void
dkim_verify_key_answer(struct dkim_verify *v, size_t i,
    enum dns_status status, const char *const *records, const size_t *lens,
    size_t n, const char *error)
{
	struct dkim_vsig *s;
	const char *first_error = NULL;

	if (i >= v->n_sigs)
		return;
	s = &v->sigs[i];
	if (s->key_done || s->error != NULL)
		return;
	s->key_done = true;
	switch (status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		/* RFC 6376 6.1.2: no key record is a permanent failure. */
		dkim_vsig_fail(s, DKIM_PERMERROR, err_fmt("no key for "
		    "signature (%s)", s->key_name));
		return;
	case DNS_TEMPFAIL:
	default:
		dkim_vsig_fail(s, DKIM_TEMPERROR, err_fmt("key lookup failed: "
		    "%s", error != NULL ? error : "temporary DNS failure"));
		return;
	}
	/* RFC 6376 3.6.2.2: use the first record that parses. */
	for (size_t k = 0; k < n; k++) {
		const char *e;

		if (dkim_key_parse(records[k], lens[k], &s->key, &e) == 0) {
			s->key_ok = true;
			return;
		}
		dkim_key_release(&s->key);
		if (first_error == NULL)
			first_error = e;
	}
	dkim_vsig_fail(s, DKIM_PERMERROR, first_error != NULL ?
	    err_fmt("bad key record: %s", first_error) :
	    "no key for signature");
}

/* ---- asynchronous lookups ---- */

static void
dkim_verify_dns_cb(const struct dns_answer *a, void *arg)
{
	struct dkim_vsig *s = arg;
	struct dkim_verify *v = s->v;
	const char **recs = xcalloc(a->n_rr + 1, sizeof(*recs));
	size_t *lens = xcalloc(a->n_rr + 1, sizeof(*lens));
	size_t n = 0;

	s->q = NULL;
	for (size_t i = 0; i < a->n_rr; i++)
		if (a->rr[i].type == DNS_T_TXT) {
			recs[n] = (const char *)a->rr[i].data;
			lens[n++] = a->rr[i].data_len;
		}
	dkim_verify_key_answer(v, (size_t)(s - v->sigs),
	    a->status == DNS_OK && n == 0 ? DNS_NODATA : a->status, recs, lens,
	    n, a->error);
	free(recs);
	free(lens);
	if (--v->pending == 0 && v->cb != NULL)
		v->cb(v, v->cb_arg);	/* last: it may free V */
}

int
dkim_verify_lookup(struct dkim_verify *v, struct dns_resolver *r,
    dkim_verify_cb *cb, void *arg)
{
	size_t start = 0;

	v->cb = cb;
	v->cb_arg = arg;
	for (size_t i = 0; i < v->n_sigs; i++) {
		struct dkim_vsig *s = &v->sigs[i];

		if (s->error != NULL || s->key_done || s->q != NULL ||
		    s->key_name == NULL)
			continue;
		v->pending++;
		start++;
	}
	if (start == 0)
		return 0;
	/* Counted first: a callback can only run from the loop, later. */
	for (size_t i = 0; i < v->n_sigs; i++) {
		struct dkim_vsig *s = &v->sigs[i];

		if (s->error != NULL || s->key_done || s->q != NULL ||
		    s->key_name == NULL)
			continue;
		s->q = dns_lookup(r, s->key_name, DNS_T_TXT,
		    dkim_verify_dns_cb, s);
	}
	return 1;
}

static void
dkim_verify_sync_cb(struct dkim_verify *v, void *arg)
{
	*(bool *)arg = true;
}

int
dkim_verify_lookup_sync(struct dkim_verify *v,
    const struct dns_config *dns_cfg, const char **error_r)
{
	struct event_base *base;
	struct dns_resolver *r;
	bool done = false;

	base = event_base_new();
	if (base == NULL) {
		*error_r = "cannot make an event loop";
		return -1;
	}
	r = dns_resolver_new(base, dns_cfg, error_r);
	if (r == NULL) {
		event_base_free(base);
		return -1;
	}
	if (dkim_verify_lookup(v, r, dkim_verify_sync_cb, &done) == 1)
		while (!done)
			if (event_base_loop(base, EVLOOP_ONCE) < 0)
				break;
	dns_resolver_free(r);
	event_base_free(base);
	return 0;
}

/* ---- the results ---- */

/* The public key of S's record, or NULL with the reason in S. */
static EVP_PKEY *
dkim_vsig_pkey(struct dkim_vsig *s, unsigned *bits_r)
{
	const unsigned char *p = s->key.p;
	EVP_PKEY *pk = NULL;
	int bits;

	if (s->key.type == DKIM_KEY_ED25519) {
		if (s->key.p_len != 32) {
			dkim_vsig_fail(s, DKIM_PERMERROR, "bad ed25519 public "
			    "key (not 32 octets)");
			return NULL;
		}
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, p, 32);
		if (pk == NULL)
			dkim_vsig_fail(s, DKIM_PERMERROR, "bad ed25519 public "
			    "key");
		*bits_r = 256;
		return pk;
	}
	/* SubjectPublicKeyInfo as RFC 6376 says, or a bare RSAPublicKey. */
	pk = d2i_PUBKEY(NULL, &p, (long)s->key.p_len);
	if (pk == NULL) {
		p = s->key.p;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)s->key.p_len);
	}
	if (pk == NULL || !EVP_PKEY_is_a(pk, "RSA")) {
		EVP_PKEY_free(pk);
		dkim_vsig_fail(s, DKIM_PERMERROR, "bad RSA public key");
		return NULL;
	}
	bits = EVP_PKEY_get_bits(pk);
	*bits_r = bits > 0 ? (unsigned)bits : 0;
	if (bits < DKIM_RSA_MIN_BITS || bits > DKIM_RSA_MAX_BITS) {
		EVP_PKEY_free(pk);
		dkim_vsig_fail(s, DKIM_PERMERROR, err_fmt("RSA key of %d bits "
		    "(%d..%d accepted)", bits, DKIM_RSA_MIN_BITS,
		    DKIM_RSA_MAX_BITS));
		return NULL;
	}
	return pk;
}

static bool
dkim_check_sig(EVP_PKEY *pk, enum dkim_alg alg, const unsigned char *hash,
    const unsigned char *sig, size_t sig_len)
{
	EVP_PKEY_CTX *pctx;
	EVP_MD_CTX *mctx;
	int rc = 0;

	if (alg == DKIM_ALG_ED25519_SHA256) {
		/* RFC 8463 3: pure Ed25519 over the SHA-256 hash. */
		mctx = EVP_MD_CTX_new();
		if (mctx != NULL && EVP_DigestVerifyInit(mctx, NULL, NULL, NULL,
		    pk) == 1)
			rc = EVP_DigestVerify(mctx, sig, sig_len, hash, 32);
		EVP_MD_CTX_free(mctx);
		return rc == 1;
	}
	pctx = EVP_PKEY_CTX_new(pk, NULL);
	if (pctx != NULL && EVP_PKEY_verify_init(pctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1)
		rc = EVP_PKEY_verify(pctx, sig, sig_len, hash, 32);
	EVP_PKEY_CTX_free(pctx);
	return rc == 1;
}

/* Decide S; the reason, if any, lands in S->error. */
static enum dkim_status
dkim_vsig_evaluate(struct dkim_verify *v, struct dkim_vsig *s, unsigned *bits_r)
{
	const struct dkim_field *f = &v->msg.fields[s->field];
	unsigned char hash[32];
	unsigned len = 0;
	struct buf data;
	EVP_PKEY *pk;
	bool ok;

	if (s->error != NULL)
		return s->pre;
	if (!s->key_done) {
		dkim_vsig_fail(s, DKIM_TEMPERROR, "key not looked up");
		return s->pre;
	}
	if (s->key.revoked) {
		dkim_vsig_fail(s, DKIM_PERMERROR, "key revoked (empty p=)");
		return s->pre;
	}
	if (!s->key.sha256_ok) {
		dkim_vsig_fail(s, DKIM_PERMERROR, "key h= does not allow "
		    "sha256");
		return s->pre;
	}
	if ((s->key.type == DKIM_KEY_ED25519) !=
	    (s->sig.alg == DKIM_ALG_ED25519_SHA256)) {
		dkim_vsig_fail(s, DKIM_PERMERROR, "key type k= does not match "
		    "a=");
		return s->pre;
	}
	if (s->key.strict) {
		/* t=s: i= must be in d= itself, no subdomain (RFC 6376 3.6.1). */
		const char *idom = strrchr(s->sig.i, '@') + 1;

		if (str_casecmp(idom, s->sig.d) != 0) {
			dkim_vsig_fail(s, DKIM_PERMERROR, "i= is a subdomain "
			    "of d=, which the key's t=s forbids");
			return s->pre;
		}
	}
	pk = dkim_vsig_pkey(s, bits_r);
	if (pk == NULL)
		return s->pre;
	/* RFC 6376 6.1.3: the body hash first. */
	if (s->sig.has_l && s->body_total < s->sig.l) {
		EVP_PKEY_free(pk);
		dkim_vsig_fail(s, DKIM_FAIL, "body shorter than l=");
		return s->pre;
	}
	if (s->sig.bh_len != 32 || memcmp(s->sig.bh, s->bh, 32) != 0) {
		EVP_PKEY_free(pk);
		dkim_vsig_fail(s, DKIM_FAIL, "body hash did not verify");
		return s->pre;
	}
	buf_init(&data, 0);
	dkim_msg_select(&v->msg, s->sig.h, s->sig.n_h, s->field,
	    s->sig.hcanon, &data);
	dkim_sig_field_for_hash(f->raw, f->len, s->sig.hcanon, &data);
	if (EVP_Digest(data.data, data.len, hash, &len, EVP_sha256(),
	    NULL) != 1 || len != 32)
		log_panic("dkim: EVP_Digest failed");
	buf_release(&data);
	ok = dkim_check_sig(pk, s->sig.alg, hash, s->sig.b, s->sig.b_len);
	EVP_PKEY_free(pk);
	if (!ok) {
		dkim_vsig_fail(s, DKIM_FAIL, "signature did not verify");
		return s->pre;
	}
	return DKIM_PASS;
}

const struct dkim_result *
dkim_verify_results(struct dkim_verify *v, size_t *n_r)
{
	*n_r = v->n_sigs;
	if (v->computed)
		return v->results;
	dkim_verify_end(v);
	v->computed = true;
	v->results = xcalloc(v->n_sigs + 1, sizeof(*v->results));
	for (size_t i = 0; i < v->n_sigs; i++) {
		struct dkim_vsig *s = &v->sigs[i];
		struct dkim_result *r = &v->results[i];
		unsigned bits = 0;

		r->status = dkim_vsig_evaluate(v, s, &bits);
		r->reason = s->error;
		r->key_bits = bits;
		if (s->parsed) {
			r->domain = s->sig.d;
			r->selector = s->sig.s;
			r->identity = s->sig.i;
			r->b8 = s->b8;
			r->alg = dkim_alg_name(s->sig.alg);
			r->testing = s->key_ok && s->key.testing;
		}
	}
	return v->results;
}

/* TEXT as an RFC 8601 quoted-string body: no quotes, backslashes, controls. */
static void
dkim_quoted(struct buf *out, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		buf_append_char(out, *p < 0x20 || *p >= 0x7f || *p == '"' ||
		    *p == '\\' ? '?' : (char)*p);
}

void
dkim_result_format(const struct dkim_result *r, struct buf *out)
{
	buf_printf(out, "dkim=%s", dkim_status_name(r->status));
	if (r->testing)
		buf_append_str(out, " (test mode)");
	if (r->status != DKIM_PASS && r->reason != NULL) {
		buf_append_str(out, " reason=\"");
		dkim_quoted(out, r->reason);
		buf_append_char(out, '"');
	}
	if (r->domain != NULL)
		buf_printf(out, " header.d=%s header.s=%s header.b=%s",
		    r->domain, r->selector, r->b8);
}
