/*
 * dkim - the parsing half of DKIM (RFC 6376): the tag=value lists,
 * DKIM-Signature fields and key records (base64 through base64.h's
 * BASE64_SPACE rules), and the header and body canonicalizations.
 * Verification is in dkim_verify.c, signing in dkim_sign.c.
 *
 * Everything here reads text from strangers (header fields of incoming
 * mail, TXT records of any domain): each byte is checked against the
 * RFC's grammar, each length is bounded before memory is given to it, and
 * every problem comes back as a permerror reason, never a crash.
 */
#include "dkim.h"
#include "dkim_private.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "parse.h"
#include "str.h"

#define DKIM_MAX_TAGS 64

static int dkim_sig_canon(struct dkim_sig *sig, const char *v, size_t n,
    const char **error_r);
/* DER SubjectPublicKeyInfo of an 8192-bit RSA key, with room to spare. */
#define DKIM_KEY_P_MAX 1200

const char *
dkim_status_name(enum dkim_status s)
{
	switch (s) {
	case DKIM_NONE: return "none";
	case DKIM_PASS: return "pass";
	case DKIM_FAIL: return "fail";
	case DKIM_NEUTRAL: return "neutral";
	case DKIM_POLICY: return "policy";
	case DKIM_TEMPERROR: return "temperror";
	case DKIM_PERMERROR: return "permerror";
	}
	return "permerror";
}

int
dkim_canon_parse(const char *text, enum dkim_canon *h, enum dkim_canon *b,
    const char **error_r)
{
	struct dkim_sig sig;

	memset(&sig, 0, sizeof(sig));
	if (dkim_sig_canon(&sig, text, strlen(text), error_r) < 0)
		return -1;
	*h = sig.hcanon;
	*b = sig.bcanon;
	return 0;
}

const char *
dkim_alg_name(enum dkim_alg a)
{
	switch (a) {
	case DKIM_ALG_RSA_SHA256: return "rsa-sha256";
	case DKIM_ALG_ED25519_SHA256: return "ed25519-sha256";
	case DKIM_ALG_RSA_SHA1: return "rsa-sha1";
	}
	return "?";
}

static bool
dkim_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ---- tag=value lists (RFC 6376 3.2) ---- */

static bool
dkim_valchar(unsigned char c)
{
	return (c >= 0x21 && c <= 0x3a) || (c >= 0x3c && c <= 0x7e);
}

static bool
dkim_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
dkim_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

int
dkim_tags_parse(const char *text, size_t len, dkim_tag_fn *fn, void *ctx,
    const char **error_r)
{
	struct {
		const char *p;
		size_t n;
	} seen[DKIM_MAX_TAGS];
	size_t nseen = 0, pos = 0;

	while (pos <= len) {
		size_t end = pos, ns, ne, vs, ve;

		while (end < len && text[end] != ';')
			end++;
		/* [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS] */
		ns = pos;
		while (ns < end && dkim_is_ws((unsigned char)text[ns]))
			ns++;
		if (ns == end) {
			/* Only an empty last spec is allowed ("a=b;"). */
			if (end == len)
				break;
			*error_r = "empty tag in tag list";
			return -1;
		}
		ne = ns;
		if (!dkim_alpha((unsigned char)text[ne])) {
			*error_r = "bad tag name";
			return -1;
		}
		while (ne < end && (dkim_alpha((unsigned char)text[ne]) ||
		    dkim_digit((unsigned char)text[ne]) || text[ne] == '_'))
			ne++;
		vs = ne;
		while (vs < end && dkim_is_ws((unsigned char)text[vs]))
			vs++;
		if (vs == end || text[vs] != '=') {
			*error_r = err_fmt("tag %.*s without \"=\"",
			    (int)(ne - ns > 20 ? 20 : ne - ns), text + ns);
			return -1;
		}
		vs++;
		while (vs < end && dkim_is_ws((unsigned char)text[vs]))
			vs++;
		ve = end;
		while (ve > vs && dkim_is_ws((unsigned char)text[ve - 1]))
			ve--;
		for (size_t i = vs; i < ve; i++)
			if (!dkim_valchar((unsigned char)text[i]) &&
			    !dkim_is_ws((unsigned char)text[i])) {
				*error_r = err_fmt("bad character 0x%02x in "
				    "tag %.*s=", (unsigned char)text[i],
				    (int)(ne - ns > 20 ? 20 : ne - ns),
				    text + ns);
				return -1;
			}
		for (size_t i = 0; i < nseen; i++)
			if (seen[i].n == ne - ns &&
			    memcmp(seen[i].p, text + ns, ne - ns) == 0) {
				*error_r = err_fmt("duplicate tag %.*s=",
				    (int)(ne - ns > 20 ? 20 : ne - ns),
				    text + ns);
				return -1;
			}
		if (nseen == DKIM_MAX_TAGS) {
			*error_r = "too many tags";
			return -1;
		}
		seen[nseen].p = text + ns;
		seen[nseen].n = ne - ns;
		nseen++;
		if (fn(ctx, text + ns, ne - ns, text + vs, ve - vs,
		    error_r) < 0)
			return -1;
		pos = end + 1;
	}
	return 0;
}

static bool
dkim_tag_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(name, want, n) == 0;
}

/* VALUE without white space (folding inside base64 and lists). */
static char *
dkim_strip_ws(const char *value, size_t len)
{
	char *s = xmalloc(len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++)
		if (!dkim_is_ws((unsigned char)value[i]))
			s[o++] = value[i];
	s[o] = '\0';
	return s;
}

/*
 * A domain name or selector as DKIM uses them: dot-separated labels of
 * letters, digits, '-' and '_' (selectors and _domainkey use '_'), each
 * 1..63 octets, 253 at most in all.
 */
bool
dkim_name_valid(const char *s)
{
	size_t label = 0, total = strlen(s);

	if (total == 0 || total > 253)
		return false;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!dkim_alpha(c) && !dkim_digit(c) && c != '-' && c != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

/* Digits only, at most MAXDIG of them, into *OUT. */
static int
dkim_number(const char *value, size_t len, size_t maxdig, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > maxdig)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!dkim_digit((unsigned char)value[i]))
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(value[i] - '0');
	}
	*out = v;
	return 0;
}

/* ---- DKIM-Signature (RFC 6376 3.5) ---- */

struct dkim_sig_ctx {
	struct dkim_sig *sig;
	bool v, a, b, bh, d, h, s;
};

static int
dkim_sig_canon(struct dkim_sig *sig, const char *v, size_t n,
    const char **error_r)
{
	const char *slash = memchr(v, '/', n);
	size_t hn = slash != NULL ? (size_t)(slash - v) : n;
	enum dkim_canon *out[2] = { &sig->hcanon, &sig->bcanon };
	const char *part[2] = { v, slash != NULL ? slash + 1 : NULL };
	size_t plen[2] = { hn, slash != NULL ? n - hn - 1 : 0 };

	sig->hcanon = sig->bcanon = DKIM_CANON_SIMPLE;
	for (int i = 0; i < 2; i++) {
		if (part[i] == NULL)
			break;
		if (dkim_tag_is(part[i], plen[i], "simple"))
			*out[i] = DKIM_CANON_SIMPLE;
		else if (dkim_tag_is(part[i], plen[i], "relaxed"))
			*out[i] = DKIM_CANON_RELAXED;
		else {
			*error_r = err_fmt("unknown canonicalization c=%.*s",
			    (int)(n > 40 ? 40 : n), v);
			return -1;
		}
	}
	return 0;
}

/* h=: colon-separated field names (ftext), white space around them. */
static int
dkim_sig_h(struct dkim_sig *sig, const char *v, size_t n,
    const char **error_r)
{
	size_t pos = 0;

	while (pos <= n) {
		size_t end = pos, s, e;

		while (end < n && v[end] != ':')
			end++;
		s = pos;
		e = end;
		while (s < e && dkim_is_ws((unsigned char)v[s]))
			s++;
		while (e > s && dkim_is_ws((unsigned char)v[e - 1]))
			e--;
		if (s == e) {
			*error_r = "empty field name in h=";
			return -1;
		}
		for (size_t i = s; i < e; i++) {
			unsigned char c = (unsigned char)v[i];

			if (c < 33 || c > 126 || c == ':') {
				*error_r = "bad field name in h=";
				return -1;
			}
		}
		if (sig->n_h >= 512) {
			*error_r = "too many field names in h=";
			return -1;
		}
		sig->h = xreallocarray(sig->h, sig->n_h + 1, sizeof(*sig->h));
		sig->h[sig->n_h++] = str_lower(xstrndup(v + s, e - s));
		pos = end + 1;
	}
	return 0;
}

static int
dkim_sig_tag(void *ctx, const char *name, size_t nl, const char *v, size_t n,
    const char **error_r)
{
	struct dkim_sig_ctx *c = ctx;
	struct dkim_sig *sig = c->sig;
	struct buf tmp;
	char *s;

	if (dkim_tag_is(name, nl, "v")) {
		c->v = true;
		if (!dkim_tag_is(v, n, "1")) {
			*error_r = "unknown version v= (not 1)";
			return -1;
		}
	} else if (dkim_tag_is(name, nl, "a")) {
		c->a = true;
		if (dkim_tag_is(v, n, "rsa-sha256"))
			sig->alg = DKIM_ALG_RSA_SHA256;
		else if (dkim_tag_is(v, n, "ed25519-sha256"))
			sig->alg = DKIM_ALG_ED25519_SHA256;
		else if (dkim_tag_is(v, n, "rsa-sha1"))
			sig->alg = DKIM_ALG_RSA_SHA1;
		else {
			*error_r = err_fmt("unknown algorithm a=%.*s",
			    (int)(n > 40 ? 40 : n), v);
			return -1;
		}
	} else if (dkim_tag_is(name, nl, "b") || dkim_tag_is(name, nl, "bh")) {
		bool is_b = nl == 1;

		/* 8192-bit signatures are 1 KiB; anything far longer is junk. */
		buf_init(&tmp, 4096);
		if (base64_decode(v, n, BASE64_SPACE, &tmp, error_r) < 0) {
			*error_r = err_fmt("%s in %s=", *error_r,
			    is_b ? "b" : "bh");
			buf_release(&tmp);
			return -1;
		}
		if (tmp.len == 0) {
			*error_r = is_b ? "empty signature b=" :
			    "empty body hash bh=";
			buf_release(&tmp);
			return -1;
		}
		if (is_b) {
			c->b = true;
			sig->b_len = tmp.len;
			sig->b = (unsigned char *)buf_detach(&tmp, NULL);
			sig->b_text = dkim_strip_ws(v, n);
		} else {
			c->bh = true;
			sig->bh_len = tmp.len;
			sig->bh = (unsigned char *)buf_detach(&tmp, NULL);
		}
		buf_release(&tmp);
	} else if (dkim_tag_is(name, nl, "c")) {
		return dkim_sig_canon(sig, v, n, error_r);
	} else if (dkim_tag_is(name, nl, "d")) {
		c->d = true;
		s = str_lower(xstrndup(v, n));
		if (strlen(s) != n || !dkim_name_valid(s)) {
			free(s);
			*error_r = "bad domain name in d=";
			return -1;
		}
		sig->d = s;
	} else if (dkim_tag_is(name, nl, "h")) {
		c->h = true;
		return dkim_sig_h(sig, v, n, error_r);
	} else if (dkim_tag_is(name, nl, "i")) {
		/* [local-part] "@" domain; the local part is dkim-quoted-printable. */
		const char *at = memrchr(v, '@', n);
		bool ok;

		if (at == NULL) {
			*error_r = "bad identity i= (no \"@\")";
			return -1;
		}
		s = xmemdup0(at + 1, n - (size_t)(at + 1 - v));
		ok = strlen(s) == n - (size_t)(at + 1 - v) && dkim_name_valid(s);
		free(s);
		if (!ok) {
			*error_r = "bad domain in identity i=";
			return -1;
		}
		sig->i = dkim_strip_ws(v, n);
	} else if (dkim_tag_is(name, nl, "l")) {
		sig->has_l = true;
		if (dkim_number(v, n, 76, &sig->l) < 0) {
			*error_r = "bad or out of range body length l=";
			return -1;
		}
	} else if (dkim_tag_is(name, nl, "q")) {
		bool dns = false;

		s = dkim_strip_ws(v, n);
		for (char *p = s; p != NULL;) {
			char *colon = strchr(p, ':');

			if (colon != NULL)
				*colon = '\0';
			if (str_casecmp(p, "dns/txt") == 0)
				dns = true;
			p = colon != NULL ? colon + 1 : NULL;
		}
		free(s);
		if (!dns) {
			*error_r = "no supported query method q= (dns/txt)";
			return -1;
		}
	} else if (dkim_tag_is(name, nl, "s")) {
		c->s = true;
		s = xstrndup(v, n);
		if (strlen(s) != n || !dkim_name_valid(s)) {
			free(s);
			*error_r = "bad selector s=";
			return -1;
		}
		sig->s = s;
	} else if (dkim_tag_is(name, nl, "t")) {
		sig->has_t = true;
		if (dkim_number(v, n, 12, &sig->t) < 0) {
			*error_r = "bad timestamp t=";
			return -1;
		}
	} else if (dkim_tag_is(name, nl, "x")) {
		sig->has_x = true;
		if (dkim_number(v, n, 12, &sig->x) < 0) {
			*error_r = "bad expiry x=";
			return -1;
		}
	}
	/* z= (copied fields, diagnostic only) and unknown tags: ignored. */
	return 0;
}

int
dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
    const char **error_r)
{
	struct dkim_sig_ctx c;
	const char *missing = NULL;

	memset(sig, 0, sizeof(*sig));
	memset(&c, 0, sizeof(c));
	c.sig = sig;
	if (dkim_tags_parse(value, len, dkim_sig_tag, &c, error_r) < 0)
		return -1;
	if (!c.v)
		missing = "v";
	else if (!c.a)
		missing = "a";
	else if (!c.b)
		missing = "b";
	else if (!c.bh)
		missing = "bh";
	else if (!c.d)
		missing = "d";
	else if (!c.h)
		missing = "h";
	else if (!c.s)
		missing = "s";
	if (missing != NULL) {
		*error_r = err_fmt("missing tag %s=", missing);
		return -1;
	}
	/* RFC 6376 5.4: From MUST be signed. */
	{
		bool from = false;

		for (size_t i = 0; i < sig->n_h; i++)
			if (strcmp(sig->h[i], "from") == 0)
				from = true;
		if (!from) {
			*error_r = "h= does not include From";
			return -1;
		}
	}
	if (sig->i == NULL) {
		sig->i = xmalloc(strlen(sig->d) + 2);
		sig->i[0] = '@';
		memcpy(sig->i + 1, sig->d, strlen(sig->d) + 1);
	} else {
		const char *idom = strrchr(sig->i, '@') + 1;
		size_t il = strlen(idom), dl = strlen(sig->d);

		/* RFC 6376 3.5 i=: the same domain as d= or a subdomain. */
		if (!(str_casecmp(idom, sig->d) == 0 || (il > dl &&
		    idom[il - dl - 1] == '.' &&
		    str_casecmp(idom + il - dl, sig->d) == 0))) {
			*error_r = "i= domain is not d= or a subdomain of it";
			return -1;
		}
	}
	if (strlen(sig->s) + strlen(sig->d) + 12 > 253) {
		*error_r = "s=._domainkey.d= is too long a name";
		return -1;
	}
	if (sig->has_t && sig->has_x && sig->x < sig->t) {
		*error_r = "x= is before t=";
		return -1;
	}
	return 0;
}

void
dkim_sig_release(struct dkim_sig *sig)
{
	free(sig->b);
	free(sig->b_text);
	free(sig->bh);
	free(sig->d);
	free(sig->s);
	free(sig->i);
	for (size_t i = 0; i < sig->n_h; i++)
		free(sig->h[i]);
	free(sig->h);
	memset(sig, 0, sizeof(*sig));
}

int
dkim_sig_check_time(const struct dkim_sig *sig, time_t now,
    const char **error_r)
{
	uint64_t n = now < 0 ? 0 : (uint64_t)now;

	if (sig->has_x && sig->x < n) {
		*error_r = "signature expired (x=)";
		return -1;
	}
	if (sig->has_t && sig->t > n + DKIM_CLOCK_SKEW) {
		*error_r = "signature timestamp t= in the future";
		return -1;
	}
	return 0;
}

/* ---- key records (RFC 6376 3.6.1) ---- */

struct dkim_key_ctx {
	struct dkim_key *key;
	bool p;
	bool first;
};

/* Does the colon-separated LIST[0..N) hold WANT (or "*" when STAR)? */
static bool
dkim_list_has(const char *list, size_t n, const char *want, bool star)
{
	char *s = dkim_strip_ws(list, n);
	bool found = false;

	for (char *p = s; p != NULL;) {
		char *colon = strchr(p, ':');

		if (colon != NULL)
			*colon = '\0';
		if (strcmp(p, want) == 0 || (star && strcmp(p, "*") == 0))
			found = true;
		p = colon != NULL ? colon + 1 : NULL;
	}
	free(s);
	return found;
}

static int
dkim_key_tag(void *ctx, const char *name, size_t nl, const char *v, size_t n,
    const char **error_r)
{
	struct dkim_key_ctx *c = ctx;
	struct dkim_key *key = c->key;
	bool first = c->first;

	c->first = false;
	if (dkim_tag_is(name, nl, "v")) {
		if (!first) {
			*error_r = "v= is not the first tag of the key record";
			return -1;
		}
		if (!dkim_tag_is(v, n, "DKIM1")) {
			*error_r = "key record version v= is not DKIM1";
			return -1;
		}
	} else if (dkim_tag_is(name, nl, "h")) {
		key->sha256_ok = dkim_list_has(v, n, "sha256", false);
	} else if (dkim_tag_is(name, nl, "k")) {
		if (dkim_tag_is(v, n, "rsa"))
			key->type = DKIM_KEY_RSA;
		else if (dkim_tag_is(v, n, "ed25519"))
			key->type = DKIM_KEY_ED25519;
		else {
			*error_r = err_fmt("unknown key type k=%.*s",
			    (int)(n > 40 ? 40 : n), v);
			return -1;
		}
	} else if (dkim_tag_is(name, nl, "p")) {
		struct buf tmp;

		c->p = true;
		buf_init(&tmp, DKIM_KEY_P_MAX);
		if (base64_decode(v, n, BASE64_SPACE, &tmp, error_r) < 0) {
			if (tmp.len >= DKIM_KEY_P_MAX || n > DKIM_KEY_P_MAX * 2)
				*error_r = "public key p= too large";
			else
				*error_r = err_fmt("%s in p=", *error_r);
			buf_release(&tmp);
			return -1;
		}
		key->p_len = tmp.len;
		key->revoked = tmp.len == 0;
		key->p = (unsigned char *)buf_detach(&tmp, NULL);
		buf_release(&tmp);
	} else if (dkim_tag_is(name, nl, "s")) {
		if (!dkim_list_has(v, n, "email", true)) {
			*error_r = "key service type s= excludes email";
			return -1;
		}
	} else if (dkim_tag_is(name, nl, "t")) {
		key->testing = dkim_list_has(v, n, "y", false);
		key->strict = dkim_list_has(v, n, "s", false);
	}
	/* n= (notes) and unknown tags: ignored. */
	return 0;
}

int
dkim_key_parse(const char *text, size_t len, struct dkim_key *key,
    const char **error_r)
{
	struct dkim_key_ctx c;

	memset(key, 0, sizeof(*key));
	key->type = DKIM_KEY_RSA;
	key->sha256_ok = true;
	memset(&c, 0, sizeof(c));
	c.key = key;
	c.first = true;
	if (dkim_tags_parse(text, len, dkim_key_tag, &c, error_r) < 0)
		return -1;
	if (!c.p) {
		*error_r = "no public key p= in the key record";
		return -1;
	}
	return 0;
}

void
dkim_key_release(struct dkim_key *key)
{
	free(key->p);
	memset(key, 0, sizeof(*key));
}

/* ---- canonicalization (RFC 6376 3.4) ---- */

void
dkim_canon_header(enum dkim_canon c, const char *field, size_t len,
    struct buf *out)
{
	const char *colon;
	size_t nlen, i;
	bool ws = false, any = false;

	if (c == DKIM_CANON_SIMPLE) {
		/* As is; a bare LF of a fold becomes CRLF. */
		for (i = 0; i < len; i++) {
			if (field[i] == '\n' && (i == 0 || field[i - 1] != '\r'))
				buf_append_char(out, '\r');
			buf_append_char(out, field[i]);
		}
		buf_append(out, "\r\n", 2);
		return;
	}
	/* RFC 6376 3.4.2 */
	colon = memchr(field, ':', len);
	nlen = colon != NULL ? (size_t)(colon - field) : len;
	while (nlen > 0 && (field[nlen - 1] == ' ' || field[nlen - 1] == '\t'))
		nlen--;
	for (i = 0; i < nlen; i++) {
		char ch = field[i];

		buf_append_char(out, ch >= 'A' && ch <= 'Z' ?
		    (char)(ch - 'A' + 'a') : ch);
	}
	buf_append_char(out, ':');
	if (colon != NULL)
		for (i = (size_t)(colon - field) + 1; i < len; i++) {
			char ch = field[i];

			if (ch == '\r' || ch == '\n')
				continue;	/* unfold */
			if (ch == ' ' || ch == '\t') {
				ws = true;
				continue;
			}
			/* White space after the colon goes, inner runs are one SP. */
			if (ws && any)
				buf_append_char(out, ' ');
			ws = false;
			any = true;
			buf_append_char(out, ch);
		}
	buf_append(out, "\r\n", 2);
}

struct dkim_body {
	enum dkim_canon canon;
	EVP_MD_CTX *md;
	uint64_t limit;		/* octets still to hash (l=) */
	uint64_t total;		/* canonical octets produced */
	uint64_t empty_lines;	/* empty lines not yet known not to be last */
	bool line_started;	/* the current line produced output */
	bool ws;		/* relaxed: white space pending in the line */
	bool cr;		/* a CR was seen, maybe of a CRLF */
	size_t out_len;
	unsigned char out[4096];
};

static void
dkim_body_flush(struct dkim_body *b)
{
	if (b->out_len > 0 && EVP_DigestUpdate(b->md, b->out, b->out_len) != 1)
		log_panic("dkim: EVP_DigestUpdate failed");
	b->out_len = 0;
}

static void
dkim_body_emit(struct dkim_body *b, const char *p, size_t n)
{
	b->total += n;
	if ((uint64_t)n > b->limit)
		n = (size_t)b->limit;
	b->limit -= n;
	while (n > 0) {
		size_t k = sizeof(b->out) - b->out_len;

		if (k > n)
			k = n;
		memcpy(b->out + b->out_len, p, k);
		b->out_len += k;
		p += k;
		n -= k;
		if (b->out_len == sizeof(b->out))
			dkim_body_flush(b);
	}
}

struct dkim_body *
dkim_body_new(enum dkim_canon c, uint64_t limit)
{
	struct dkim_body *b = xcalloc(1, sizeof(*b));

	b->canon = c;
	b->limit = limit;
	b->md = EVP_MD_CTX_new();
	if (b->md == NULL || EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) != 1)
		log_panic("dkim: cannot start SHA-256");
	return b;
}

/* A line ended: line breaks are held back until a non-empty line follows. */
static void
dkim_body_eol(struct dkim_body *b)
{
	if (b->line_started)
		dkim_body_emit(b, "\r\n", 2);
	else
		b->empty_lines++;
	b->line_started = false;
	b->ws = false;
}

/* An octet of line content (not CR or LF of a line end). */
static void
dkim_body_octet(struct dkim_body *b, char c)
{
	if (b->canon == DKIM_CANON_RELAXED && (c == ' ' || c == '\t')) {
		b->ws = true;
		return;
	}
	if (!b->line_started) {
		for (; b->empty_lines > 0; b->empty_lines--)
			dkim_body_emit(b, "\r\n", 2);
		b->line_started = true;
	}
	if (b->ws) {
		dkim_body_emit(b, " ", 1);
		b->ws = false;
	}
	dkim_body_emit(b, &c, 1);
}

void
dkim_body_update(struct dkim_body *b, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (b->cr) {
			b->cr = false;
			if (c == '\n') {
				dkim_body_eol(b);
				continue;
			}
			dkim_body_octet(b, '\r');	/* a bare CR */
		}
		if (c == '\r')
			b->cr = true;
		else if (c == '\n')
			dkim_body_eol(b);	/* a bare LF counts as CRLF */
		else
			dkim_body_octet(b, c);
	}
}

void
dkim_body_end(struct dkim_body *b, unsigned char hash[32], uint64_t *total_r)
{
	unsigned len = 0;

	if (b->cr) {
		b->cr = false;
		dkim_body_octet(b, '\r');
	}
	/* A last line without its line end gets one (RFC 6376 3.4.3). */
	if (b->line_started)
		dkim_body_eol(b);
	/* simple: an empty body is one CRLF; relaxed: nothing (erratum 1384). */
	if (b->canon == DKIM_CANON_SIMPLE && b->total == 0)
		dkim_body_emit(b, "\r\n", 2);
	dkim_body_flush(b);
	if (EVP_DigestFinal_ex(b->md, hash, &len) != 1 || len != 32)
		log_panic("dkim: EVP_DigestFinal failed");
	*total_r = b->total;
}

void
dkim_body_free(struct dkim_body *b)
{
	if (b == NULL)
		return;
	EVP_MD_CTX_free(b->md);
	free(b);
}
