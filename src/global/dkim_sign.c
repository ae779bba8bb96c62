/*
 * dkim_sign - DKIM signing (RFC 6376 5, RFC 8463): private keys, key
 * generation with the record to publish, and a streaming signer that
 * produces the DKIM-Signature field to prepend, folded, with the
 * recommended fields signed and the important ones over-signed.  Also the
 * dkim_signing_key_maps lookup.
 *
 * Reads private keys from files the administrator names (never from
 * mail); a passphrase-protected PEM is refused rather than prompted for.
 * The message being signed is only hashed, never trusted.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "dict.h"
#include "dkim_private.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "mem.h"
#include "str.h"

/* RFC 6376 5.4.1's list, with the MIME fields and Sender. */
const char dkim_sign_default_headers[] =
    "From:Reply-To:Subject:Date:To:Cc:Resent-Date:Resent-From:Resent-To:"
    "Resent-Cc:In-Reply-To:References:List-Id:List-Help:List-Unsubscribe:"
    "List-Subscribe:List-Post:List-Owner:List-Archive:Message-ID:Sender:"
    "MIME-Version:Content-Type:Content-Transfer-Encoding";
/* Fields nobody on the way should add (RFC 6376 8.15); not List-*. */
const char dkim_sign_default_oversign[] =
    "From:To:Cc:Subject:Date:Reply-To:Sender:Message-ID:In-Reply-To:"
    "References:MIME-Version:Content-Type:Content-Transfer-Encoding";

struct dkim_privkey {
	EVP_PKEY *pkey;
	enum dkim_key_type type;
};

/* No passphrase prompt, ever: an encrypted key simply fails. */
static int
dkim_no_passphrase(char *b, int size, int rw, void *u)
{
	return 0;
}

static struct dkim_privkey *
dkim_privkey_wrap(EVP_PKEY *pk, const char **error_r)
{
	struct dkim_privkey *k;
	int bits;

	if (EVP_PKEY_is_a(pk, "ED25519")) {
		k = xcalloc(1, sizeof(*k));
		k->type = DKIM_KEY_ED25519;
	} else if (EVP_PKEY_is_a(pk, "RSA")) {
		bits = EVP_PKEY_get_bits(pk);
		if (bits < DKIM_RSA_MIN_BITS || bits > DKIM_RSA_MAX_BITS) {
			*error_r = err_fmt("RSA key of %d bits (%d..%d "
			    "accepted)", bits, DKIM_RSA_MIN_BITS,
			    DKIM_RSA_MAX_BITS);
			EVP_PKEY_free(pk);
			return NULL;
		}
		k = xcalloc(1, sizeof(*k));
		k->type = DKIM_KEY_RSA;
	} else {
		*error_r = "the key is neither RSA nor Ed25519";
		EVP_PKEY_free(pk);
		return NULL;
	}
	k->pkey = pk;
	return k;
}

struct dkim_privkey *
dkim_privkey_parse(const char *text, size_t len, const char **error_r)
{
	EVP_PKEY *pk = NULL;
	struct buf raw;

	if (len > 64 * 1024) {
		*error_r = "the key is too large";
		return NULL;
	}
	if (memmem(text, len, "-----BEGIN", 10) != NULL) {
		BIO *bio = BIO_new_mem_buf(text, (int)len);

		if (bio != NULL)
			pk = PEM_read_bio_PrivateKey(bio, NULL,
			    dkim_no_passphrase, NULL);
		BIO_free(bio);
		if (pk == NULL) {
			*error_r = "not a readable PEM private key "
			    "(or one protected by a passphrase)";
			return NULL;
		}
		return dkim_privkey_wrap(pk, error_r);
	}
	/* dkimpy's Ed25519 format: the base64 of the 32-octet seed. */
	buf_init(&raw, 64);
	if (base64_decode(text, len, BASE64_SPACE, &raw, error_r) < 0 ||
	    raw.len != 32) {
		buf_release(&raw);
		*error_r = "neither a PEM private key nor a base64 Ed25519 seed";
		return NULL;
	}
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    (const unsigned char *)raw.data, 32);
	OPENSSL_cleanse(raw.data, raw.len);
	buf_release(&raw);
	if (pk == NULL) {
		*error_r = "bad Ed25519 seed";
		return NULL;
	}
	return dkim_privkey_wrap(pk, error_r);
}

struct dkim_privkey *
dkim_privkey_load(const char *path, const char **error_r)
{
	struct dkim_privkey *k;
	struct buf text;

	buf_init(&text, 0);
	if (file_read_all(path, &text, 64 * 1024, error_r) < 0) {
		buf_release(&text);
		return NULL;
	}
	k = dkim_privkey_parse(text.data, text.len, error_r);
	if (k == NULL)
		*error_r = err_fmt("%s: %s", path, *error_r);
	OPENSSL_cleanse(text.data, text.len);
	buf_release(&text);
	return k;
}

void
dkim_privkey_free(struct dkim_privkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

enum dkim_key_type
dkim_privkey_type(const struct dkim_privkey *k)
{
	return k->type;
}

int
dkim_keygen(enum dkim_key_type type, unsigned bits, struct buf *pem,
    struct buf *record, const char **error_r)
{
	EVP_PKEY *pk;
	BIO *bio;
	BUF_MEM *mem = NULL;
	unsigned char *der = NULL, raw[32];
	size_t rawlen = sizeof(raw);
	int n;

	if (type == DKIM_KEY_RSA) {
		if (bits < DKIM_RSA_MIN_BITS || bits > DKIM_RSA_MAX_BITS) {
			*error_r = err_fmt("RSA keys have %d to %d bits",
			    DKIM_RSA_MIN_BITS, DKIM_RSA_MAX_BITS);
			return -1;
		}
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	} else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pk == NULL) {
		*error_r = "key generation failed";
		return -1;
	}
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0,
	    NULL, NULL) != 1) {
		BIO_free(bio);
		EVP_PKEY_free(pk);
		*error_r = "cannot write the private key";
		return -1;
	}
	BIO_get_mem_ptr(bio, &mem);
	buf_append(pem, mem->data, mem->length);
	BIO_free(bio);
	if (type == DKIM_KEY_RSA) {
		n = i2d_PUBKEY(pk, &der);
		if (n <= 0) {
			EVP_PKEY_free(pk);
			*error_r = "cannot encode the public key";
			return -1;
		}
		buf_append_str(record, "v=DKIM1; k=rsa; p=");
		(void)base64_encode(der, (size_t)n, record);
		OPENSSL_free(der);
	} else {
		if (EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) != 1 ||
		    rawlen != 32) {
			EVP_PKEY_free(pk);
			*error_r = "cannot encode the public key";
			return -1;
		}
		buf_append_str(record, "v=DKIM1; k=ed25519; p=");
		(void)base64_encode(raw, rawlen, record);
	}
	EVP_PKEY_free(pk);
	return 0;
}

/* ---- the signer ---- */

struct dkim_sign {
	struct dkim_sign_params p;
	char *domain, *selector, *headers, *oversign, *identity;
	struct dkim_msg msg;
	struct dkim_body *body;
};

static void
dkim_sign_body_fn(void *ctx, const char *data, size_t len)
{
	struct dkim_sign *s = ctx;

	dkim_body_update(s->body, data, len);
}

static char *
dkim_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct dkim_sign *
dkim_sign_new(const struct dkim_sign_params *params)
{
	struct dkim_sign *s = xcalloc(1, sizeof(*s));

	s->p = *params;
	s->domain = dkim_dup(params->domain);
	s->selector = dkim_dup(params->selector);
	s->headers = xstrdup(params->headers != NULL ? params->headers :
	    dkim_sign_default_headers);
	s->oversign = xstrdup(params->oversign != NULL ? params->oversign :
	    dkim_sign_default_oversign);
	s->identity = dkim_dup(params->identity);
	if (s->p.now == 0)
		s->p.now = time(NULL);
	dkim_msg_init(&s->msg, params->header_max, NULL, dkim_sign_body_fn, s);
	s->body = dkim_body_new(params->bcanon, UINT64_MAX);
	return s;
}

void
dkim_sign_free(struct dkim_sign *s)
{
	if (s == NULL)
		return;
	free(s->domain);
	free(s->selector);
	free(s->headers);
	free(s->oversign);
	free(s->identity);
	dkim_msg_release(&s->msg);
	dkim_body_free(s->body);
	free(s);
}

void
dkim_sign_feed(struct dkim_sign *s, const char *data, size_t len)
{
	dkim_msg_feed(&s->msg, data, len);
}

/* i=: [local]@domain, domain d= or below it, local part plain text. */
static bool
dkim_sign_identity_ok(const char *i, const char *d)
{
	const char *at = strrchr(i, '@');
	size_t il, dl = strlen(d);

	if (at == NULL)
		return false;
	for (const char *p = i; p < at; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ';' || *p == '=')
			return false;
	at++;
	il = strlen(at);
	if (!dkim_name_valid(at))
		return false;
	return str_casecmp(at, d) == 0 || (il > dl && at[il - dl - 1] == '.' &&
	    str_casecmp(at + il - dl, d) == 0);
}

/* Split a colon list into lower-case names, without duplicates. */
static void
dkim_names(const char *list, struct strlist *out)
{
	struct strlist tmp;

	strlist_init(&tmp);
	strlist_split(&tmp, list, ": \t,");
	for (size_t i = 0; i < tmp.n; i++) {
		str_lower(tmp.v[i]);
		if (strlist_find(out, tmp.v[i]) < 0)
			strlist_add(out, tmp.v[i]);
	}
	strlist_release(&tmp);
}

/* The h= list: each wanted name as often as present, over-signed +1. */
static void
dkim_sign_h(struct dkim_sign *s, struct strlist *h)
{
	struct strlist want, over;

	strlist_init(&want);
	strlist_init(&over);
	dkim_names(s->headers, &want);
	dkim_names(s->oversign, &over);
	if (strlist_find(&over, "from") < 0)
		strlist_add(&over, "from");
	for (size_t i = 0; i < over.n; i++)
		if (strlist_find(&want, over.v[i]) < 0)
			strlist_add(&want, over.v[i]);
	for (size_t i = 0; i < want.n; i++) {
		size_t count = 0;

		for (size_t j = 0; j < s->msg.n_fields; j++)
			if (dkim_field_is(&s->msg.fields[j], want.v[i]))
				count++;
		if (strlist_find(&over, want.v[i]) >= 0)
			count++;
		while (count-- > 0)
			strlist_add(h, want.v[i]);
	}
	strlist_release(&want);
	strlist_release(&over);
}

/* Append PIECE to the field in OUT, folding before it when the line is full. */
static void
dkim_fold_add(struct buf *out, size_t *col, const char *piece, size_t n,
    const char *sep)
{
	size_t seplen = strlen(sep);

	if (*col + seplen + n > 76) {
		/* A ":" between h= names stays; white space becomes the fold. */
		if (sep[0] != ' ')
			buf_append(out, sep, seplen);
		buf_append(out, "\r\n\t", 3);
		*col = 8;
	} else {
		buf_append(out, sep, seplen);
		*col += seplen;
	}
	buf_append(out, piece, n);
	*col += n;
}

static int
dkim_do_sign(const struct dkim_privkey *k, const unsigned char hash[32],
    struct buf *sig, const char **error_r)
{
	unsigned char out[1100];
	size_t outlen = sizeof(out);
	EVP_PKEY_CTX *pctx;
	EVP_MD_CTX *mctx;
	int rc = 0;

	if (k->type == DKIM_KEY_ED25519) {
		mctx = EVP_MD_CTX_new();
		if (mctx != NULL && EVP_DigestSignInit(mctx, NULL, NULL, NULL,
		    k->pkey) == 1)
			rc = EVP_DigestSign(mctx, out, &outlen, hash, 32);
		EVP_MD_CTX_free(mctx);
	} else {
		pctx = EVP_PKEY_CTX_new(k->pkey, NULL);
		if (pctx != NULL && EVP_PKEY_sign_init(pctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1)
			rc = EVP_PKEY_sign(pctx, out, &outlen, hash, 32);
		EVP_PKEY_CTX_free(pctx);
	}
	if (rc != 1) {
		*error_r = "signing failed";
		return -1;
	}
	(void)base64_encode(out, outlen, sig);
	return 0;
}

int
dkim_sign_finish(struct dkim_sign *s, const char *eol, struct buf *out,
    const char **error_r)
{
	static const char *const canon[] = { "simple", "relaxed" };
	struct strlist h;
	struct buf f, data, b64, piece;
	unsigned char bh[32], hash[32];
	unsigned hlen = 0;
	uint64_t total = 0;
	size_t col;
	bool from = false;
	int rc = -1;

	dkim_msg_end(&s->msg);
	if (s->msg.too_big) {
		*error_r = "the header is too large to sign";
		return -1;
	}
	if (s->domain == NULL || !dkim_name_valid(s->domain) ||
	    s->selector == NULL || !dkim_name_valid(s->selector)) {
		*error_r = "bad signing domain or selector";
		return -1;
	}
	if (s->p.key == NULL) {
		*error_r = "no signing key";
		return -1;
	}
	if (s->identity != NULL && !dkim_sign_identity_ok(s->identity,
	    s->domain)) {
		*error_r = "the identity i= is not LOCAL@DOMAIN with DOMAIN the "
		    "signing domain or a subdomain of it";
		return -1;
	}
	for (size_t j = 0; j < s->msg.n_fields; j++)
		if (dkim_field_is(&s->msg.fields[j], "from"))
			from = true;
	if (!from) {
		*error_r = "the message has no From: field to sign";
		return -1;
	}
	dkim_body_end(s->body, bh, &total);
	strlist_init(&h);
	dkim_sign_h(s, &h);
	buf_init(&f, 0);
	buf_init(&data, 0);
	buf_init(&b64, 0);
	buf_init(&piece, 0);

	/* The field with an empty b=, folded as it will be sent. */
	buf_printf(&f, "DKIM-Signature: v=1; a=%s; c=%s/%s; d=%s; s=%s;",
	    s->p.key->type == DKIM_KEY_ED25519 ? "ed25519-sha256" :
	    "rsa-sha256", canon[s->p.hcanon == DKIM_CANON_RELAXED],
	    canon[s->p.bcanon == DKIM_CANON_RELAXED], s->domain, s->selector);
	col = f.len;
	if (s->identity != NULL) {
		buf_printf(&piece, "i=%s;", s->identity);
		dkim_fold_add(&f, &col, piece.data, piece.len, " ");
	}
	buf_reset(&piece);
	buf_printf(&piece, "t=%lld;", (long long)s->p.now);
	dkim_fold_add(&f, &col, piece.data, piece.len, " ");
	if (s->p.ttl > 0) {
		buf_reset(&piece);
		buf_printf(&piece, "x=%llu;", (unsigned long long)s->p.now +
		    (unsigned long long)s->p.ttl);
		dkim_fold_add(&f, &col, piece.data, piece.len, " ");
	}
	if (s->p.body_length) {
		buf_reset(&piece);
		buf_printf(&piece, "l=%llu;", (unsigned long long)total);
		dkim_fold_add(&f, &col, piece.data, piece.len, " ");
	}
	for (size_t i = 0; i < h.n; i++) {
		buf_reset(&piece);
		buf_printf(&piece, "%s%s%s", i == 0 ? "h=" : "", h.v[i],
		    i + 1 == h.n ? ";" : "");
		dkim_fold_add(&f, &col, piece.data, piece.len, i == 0 ? " " :
		    ":");
	}
	buf_reset(&piece);
	buf_append_str(&piece, "bh=");
	(void)base64_encode(bh, sizeof(bh), &piece);
	buf_append_char(&piece, ';');
	dkim_fold_add(&f, &col, piece.data, piece.len, " ");
	dkim_fold_add(&f, &col, "b=", 2, " ");

	/* RFC 6376 5.5: signed fields, then this one without its b= value. */
	dkim_msg_select(&s->msg, h.v, h.n, (size_t)-1, s->p.hcanon, &data);
	dkim_sig_field_for_hash(f.data, f.len, s->p.hcanon, &data);
	if (EVP_Digest(data.data, data.len, hash, &hlen, EVP_sha256(),
	    NULL) != 1 || hlen != 32)
		log_panic("dkim: EVP_Digest failed");
	if (dkim_do_sign(s->p.key, hash, &b64, error_r) < 0)
		goto out;
	/* The signature, folded; white space in b= is not signed. */
	for (size_t pos = 0; pos < b64.len;) {
		size_t room = col < 76 ? 76 - col : 0, n;

		if (room < 8) {
			buf_append(&f, "\r\n\t", 3);
			col = 8;
			room = 76 - col;
		}
		n = b64.len - pos < room ? b64.len - pos : room;
		buf_append(&f, b64.data + pos, n);
		col += n;
		pos += n;
	}
	for (size_t i = 0; i < f.len; i++) {
		if (f.data[i] == '\r' && i + 1 < f.len && f.data[i + 1] == '\n') {
			buf_append_str(out, eol);
			i++;
		} else
			buf_append_char(out, f.data[i]);
	}
	buf_append_str(out, eol);
	rc = 0;
out:
	strlist_release(&h);
	buf_release(&f);
	buf_release(&data);
	buf_release(&b64);
	buf_release(&piece);
	return rc;
}

/* ---- dkim_signing_key_maps ---- */

int
dkim_signing_keys(struct maps *maps, const char *domain,
    struct strlist *selectors, struct strlist *paths, const char **error_r)
{
	struct strlist items;
	const char *value;
	char *key;
	int rc, n = 0;

	key = str_lower(xstrdup(domain));
	rc = maps_lookup(maps, key, &value, error_r);
	free(key);
	if (rc <= 0)
		return rc;
	strlist_init(&items);
	strlist_split(&items, value, ", \t\r\n");
	for (size_t i = 0; i < items.n; i++) {
		char *colon = strchr(items.v[i], ':');

		if (colon == NULL || colon[1] != '/') {
			*error_r = err_fmt("dkim_signing_key_maps: %s: \"%s\" "
			    "is not selector:/path/to/key", domain,
			    items.v[i]);
			strlist_release(&items);
			return -1;
		}
		*colon = '\0';
		if (!dkim_name_valid(items.v[i])) {
			*error_r = err_fmt("dkim_signing_key_maps: %s: bad "
			    "selector \"%s\"", domain, items.v[i]);
			strlist_release(&items);
			return -1;
		}
		strlist_add(selectors, items.v[i]);
		strlist_add(paths, colon + 1);
		n++;
	}
	strlist_release(&items);
	return n;
}
