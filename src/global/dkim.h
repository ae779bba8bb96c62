/*
 * dkim - DomainKeys Identified Mail (RFC 6376, with Ed25519 from RFC
 * 8463 and the crypto updates of RFC 8301): the DKIM-Signature and key
 * record parsers, canonicalization, streaming verification of every
 * signature of a message with asynchronous key lookups through dns.h,
 * and streaming signing.
 *
 * Both the verifier and the signer are fed the message as raw bytes in
 * chunks of any size (header first, then body, as it arrives): lines end
 * in CRLF or a bare LF, and a bare LF counts as CRLF, so a queue file
 * with LF line ends verifies the same as the SMTP stream.  The message
 * is never kept in memory, only its header (bounded).
 *
 * Results are RFC 8601's: pass, fail, neutral, policy, temperror,
 * permerror (and none for a message without signatures).  Policy
 * decisions of this module, also written down in docs/dkim.md:
 *   - rsa-sha1 signatures are permerror (RFC 8301 3.1: never valid);
 *   - RSA keys below 1024 bits are permerror (RFC 8301 3.2), and so are
 *     keys above DKIM_RSA_MAX_BITS;
 *   - x= in the past is permerror ("signature expired", RFC 6376 6.1.1);
 *     t= more than DKIM_CLOCK_SKEW seconds in the future is permerror;
 *   - a missing key (NXDOMAIN / no TXT) is permerror, a DNS failure
 *     temperror; a key in testing mode (t=y) keeps its result but is
 *     marked "testing".
 *
 * Distrusts everything it reads: header fields, tags and key records
 * come from strangers.  Every tag is syntax-checked, duplicate tags are
 * permerror, base64 is decoded strictly (only white space may be mixed
 * in), lengths are bounded (header size, signature count, key size)
 * before any work is done, and a failure of one signature never affects
 * another.
 */
#ifndef ULAK_DKIM_H
#define ULAK_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dns.h"

struct buf;
struct config;

#define DKIM_RSA_MIN_BITS 1024
#define DKIM_RSA_MAX_BITS 8192
#define DKIM_CLOCK_SKEW 3600		/* seconds a t= may lie ahead */
#define DKIM_HEADER_MAX (1024 * 1024)	/* default header limit, octets */
#define DKIM_MAX_SIGNATURES 10		/* default signatures evaluated */

enum dkim_status {
	DKIM_NONE,		/* no signature at all (message level only) */
	DKIM_PASS,
	DKIM_FAIL,		/* hash or signature did not verify */
	DKIM_NEUTRAL,		/* not evaluated (limit), RFC 8601 2.7.1 */
	DKIM_POLICY,		/* valid, but not acceptable to us */
	DKIM_TEMPERROR,		/* key lookup failed for now */
	DKIM_PERMERROR,		/* bad signature/key syntax, no key, ... */
};

enum dkim_alg {
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256,
	DKIM_ALG_RSA_SHA1,	/* recognised, never accepted (RFC 8301) */
};

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

enum dkim_key_type {
	DKIM_KEY_RSA,
	DKIM_KEY_ED25519,
};

/*
 * Parse "simple", "relaxed", "H/B" (dkim_canonicalization, --canon) into
 * *H and *B (a lone word is the header's; the body's is then simple, as
 * in c=).  -1 with *error_r otherwise.
 */
int dkim_canon_parse(const char *text, enum dkim_canon *h, enum dkim_canon *b,
    const char **error_r);

/* "pass", "fail", ... as in Authentication-Results (RFC 8601). */
const char *dkim_status_name(enum dkim_status s);
/* "rsa-sha256", "ed25519-sha256", "rsa-sha1". */
const char *dkim_alg_name(enum dkim_alg a);

/*
 * The generic tag=value list of RFC 6376 3.2: calls FN once per tag with
 * the name and the value (white space around both trimmed; inner folding
 * kept).  -1 with *error_r on a syntax error (a tag without "=", a bad tag
 * name, a byte not allowed in a value), a duplicate tag, or when FN
 * returns -1 (its own *error_r then stands).  An empty list, and a final
 * ";", are allowed.
 */
typedef int dkim_tag_fn(void *ctx, const char *name, size_t name_len,
    const char *value, size_t value_len, const char **error_r);
int dkim_tags_parse(const char *text, size_t len, dkim_tag_fn *fn, void *ctx,
    const char **error_r);

/* A parsed DKIM-Signature header field (RFC 6376 3.5). */
struct dkim_sig {
	enum dkim_alg alg;
	enum dkim_canon hcanon, bcanon;
	unsigned char *b;		/* the signature */
	size_t b_len;
	char *b_text;			/* b= as written, white space removed */
	unsigned char *bh;		/* the body hash */
	size_t bh_len;
	char *d;			/* signing domain, lower case */
	char *s;			/* selector */
	char *i;			/* identity ("@d" when absent) */
	char **h;			/* signed field names, lower case */
	size_t n_h;
	bool has_l;
	uint64_t l;
	bool has_t, has_x;
	uint64_t t, x;
};

/*
 * Parse the value of a DKIM-Signature field (everything after the colon,
 * folding included) into *SIG, which the caller releases with
 * dkim_sig_release (also after a failure).  -1 with *error_r (a
 * permerror reason such as "duplicate tag b=", "missing tag d=", "h=
 * does not include From", "bad base64 in bh=") when any tag is missing,
 * malformed, duplicated or impossible.  Checks that need the time (x=,
 * t=) are left to dkim_sig_check_time.
 */
int dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
    const char **error_r);
void dkim_sig_release(struct dkim_sig *sig);
/* x= before t=, x= past NOW, t= too far after NOW: -1 with *error_r. */
int dkim_sig_check_time(const struct dkim_sig *sig, time_t now,
    const char **error_r);

/* A parsed key record (RFC 6376 3.6.1). */
struct dkim_key {
	enum dkim_key_type type;
	bool revoked;		/* p= empty */
	bool testing;		/* t=y */
	bool strict;		/* t=s: i= must be in d= itself */
	bool sha256_ok;		/* h= absent or lists sha256 */
	unsigned char *p;	/* public key data as published */
	size_t p_len;
};

/*
 * Parse the key record TEXT[0..LEN) (the joined TXT strings) into *KEY
 * (release with dkim_key_release, also after a failure).  -1 with
 * *error_r on a syntax error, v= other than DKIM1 or not first, an
 * unknown k=, a service type (s=) that excludes email, a missing p=, bad
 * base64 or a p= longer than a DKIM_RSA_MAX_BITS key needs.  A revoked
 * key (empty p=) parses; the caller sees key->revoked.
 */
int dkim_key_parse(const char *text, size_t len, struct dkim_key *key,
    const char **error_r);
void dkim_key_release(struct dkim_key *key);

/*
 * Canonicalize one header field FIELD[0..LEN) ("Name: value", folding
 * lines joined with CRLF or LF, no final line end) per RFC 6376 3.4.1 /
 * 3.4.2 and append it, with a final CRLF, to OUT.  Exits only when memory
 * runs out.
 */
void dkim_canon_header(enum dkim_canon c, const char *field, size_t len,
    struct buf *out);

/*
 * Streaming body canonicalization (RFC 6376 3.4.3 / 3.4.4) and hash.
 * Bytes go in as they come; lines end in CRLF or LF.  LIMIT is l= (the
 * octets of canonical body to hash; UINT64_MAX: all).  dkim_body_end
 * writes the SHA-256 (32 octets) to HASH and the total canonical length
 * (all of it, not only what l= counted) to *TOTAL_R.
 */
struct dkim_body;
struct dkim_body *dkim_body_new(enum dkim_canon c, uint64_t limit);
void dkim_body_update(struct dkim_body *b, const char *data, size_t len);
void dkim_body_end(struct dkim_body *b, unsigned char hash[32],
    uint64_t *total_r);
void dkim_body_free(struct dkim_body *b);

/* ---- verification ---- */

/* The outcome for one signature. */
struct dkim_result {
	enum dkim_status status;
	const char *reason;	/* why, for all but pass; owned by the verifier */
	const char *domain;	/* d= (NULL when the field did not parse) */
	const char *selector;	/* s= */
	const char *identity;	/* i= */
	const char *b8;		/* first 8 characters of b= (RFC 6008) */
	const char *alg;	/* a= name, NULL when unknown */
	bool testing;		/* the key is in testing mode (t=y) */
	unsigned key_bits;	/* RSA modulus size, 256 for Ed25519, 0 */
};

struct dkim_verify_params {
	time_t now;		/* 0: time(NULL) at dkim_verify_new */
	size_t header_max;	/* 0: DKIM_HEADER_MAX */
	size_t max_signatures;	/* 0: DKIM_MAX_SIGNATURES; the rest neutral */
};

struct dkim_verify;

/* A verifier for one message; PARAMS may be NULL.  Never NULL. */
struct dkim_verify *dkim_verify_new(const struct dkim_verify_params *params);
/* Cancel pending key lookups (no callback) and free V.  NULL allowed. */
void dkim_verify_free(struct dkim_verify *v);

/*
 * Feed the next DATA[0..LEN) of the message (after SMTP dot-unstuffing).
 * Never fails: a header over the limit makes every signature permerror.
 */
void dkim_verify_feed(struct dkim_verify *v, const char *data, size_t len);
/* True once the header is complete (the key lookups may start). */
bool dkim_verify_header_done(const struct dkim_verify *v);
/* The message is complete (ends the header too when it had no body). */
void dkim_verify_end(struct dkim_verify *v);

/*
 * Signatures found in the header (valid only after the header is done);
 * dkim_verify_key_name gives the DNS name to query for the I-th
 * ("sel._domainkey.example.com"), NULL when it needs no key (it did not
 * parse, or is beyond the limit).
 */
size_t dkim_verify_count(const struct dkim_verify *v);
const char *dkim_verify_key_name(const struct dkim_verify *v, size_t i);
/*
 * Hand in the key for signature I: the lookup's STATUS and, for DNS_OK,
 * the TXT records RECORDS[0..N) (each with its strings joined), of which
 * the first that parses as a key record is used.  ERROR is the DNS error
 * text for the reason (may be NULL).
 */
void dkim_verify_key_answer(struct dkim_verify *v, size_t i,
    enum dns_status status, const char *const *records, const size_t *lens,
    size_t n, const char *error);

/*
 * Look every needed key up with R (after the header is done).  Returns
 * 0 when nothing needs looking up (CB is not called), 1 when lookups
 * started: CB(V, ARG) then runs once from the event loop when every
 * answer is in (never from within this call).
 */
typedef void dkim_verify_cb(struct dkim_verify *v, void *arg);
int dkim_verify_lookup(struct dkim_verify *v, struct dns_resolver *r,
    dkim_verify_cb *cb, void *arg);

/*
 * The results, after dkim_verify_end and once every key is in (a
 * signature whose key never came is temperror).  Computes them on the
 * first call; the array has dkim_verify_count() entries and is owned by
 * V.
 */
const struct dkim_result *dkim_verify_results(struct dkim_verify *v,
    size_t *n_r);

/*
 * Synchronous key lookups for the admin command and tests: run an event
 * loop of its own with a resolver made from DNS_CFG until every key is in.
 * -1 with *error_r when the resolver cannot be made.
 */
int dkim_verify_lookup_sync(struct dkim_verify *v,
    const struct dns_config *dns_cfg, const char **error_r);

/*
 * Append one RFC 8601 result for R to OUT:
 * "dkim=pass header.d=example.com header.s=sel header.b=abcdEFGH", with
 * reason="..." for all but pass and a "(test mode)" comment for t=y keys.
 */
void dkim_result_format(const struct dkim_result *r, struct buf *out);

/* ---- signing ---- */

struct dkim_privkey;

/*
 * Read a private key: PEM (PKCS#8, or PKCS#1 RSA) for RSA or Ed25519, or
 * the base64 of a raw 32-octet Ed25519 seed (dkimpy's format).  NULL with
 * *error_r when it is none of these, or an RSA key outside 1024..8192
 * bits.  Free with dkim_privkey_free.
 */
struct dkim_privkey *dkim_privkey_parse(const char *text, size_t len,
    const char **error_r);
/* The same from the file PATH (at most 64 KiB). */
struct dkim_privkey *dkim_privkey_load(const char *path, const char **error_r);
void dkim_privkey_free(struct dkim_privkey *k);
enum dkim_key_type dkim_privkey_type(const struct dkim_privkey *k);

/*
 * A new key of TYPE (BITS for RSA, 1024..8192; ignored for Ed25519): its
 * PEM (PKCS#8) into PEM and the key record to publish ("v=DKIM1; k=rsa;
 * p=...") into RECORD (both appended).  -1 with *error_r.
 */
int dkim_keygen(enum dkim_key_type type, unsigned bits, struct buf *pem,
    struct buf *record, const char **error_r);

struct dkim_sign_params {
	const char *domain;	/* d= */
	const char *selector;	/* s= */
	const struct dkim_privkey *key;	/* stays the caller's */
	enum dkim_canon hcanon, bcanon;	/* 0/0 = simple/simple: set them */
	/*
	 * Colon-separated field names to sign, each as often as present;
	 * NULL: the set of RFC 6376 5.4.1 (dkim_sign_default_headers).
	 */
	const char *headers;
	/*
	 * Colon-separated names signed once more than present, so that none
	 * can be added (RFC 6376 8.15); NULL: dkim_sign_default_oversign.
	 * From is always over-signed.
	 */
	const char *oversign;
	const char *identity;	/* i=, NULL: none */
	uint64_t ttl;		/* x= = t= + ttl; 0: no x= */
	bool body_length;	/* add l= */
	time_t now;		/* t=; 0: time(NULL) */
	size_t header_max;	/* 0: DKIM_HEADER_MAX */
};

extern const char dkim_sign_default_headers[];
extern const char dkim_sign_default_oversign[];

struct dkim_sign;

/* A signer for one message; copies what it needs of PARAMS. Never NULL. */
struct dkim_sign *dkim_sign_new(const struct dkim_sign_params *params);
void dkim_sign_free(struct dkim_sign *s);
/* Feed message bytes, as dkim_verify_feed. */
void dkim_sign_feed(struct dkim_sign *s, const char *data, size_t len);
/*
 * End the message and append the DKIM-Signature field to prepend to OUT,
 * folded, lines ending in EOL ("\r\n" or "\n"), with a final EOL.  -1
 * with *error_r when the header was over its limit, has no From field,
 * the domain or selector is not a valid name, or the signing failed.
 */
int dkim_sign_finish(struct dkim_sign *s, const char *eol, struct buf *out,
    const char **error_r);

/*
 * dkim_signing_key_maps: look up DOMAIN in MAPS; the value is one or
 * more "selector:/path/to/key" items (separated by commas or white
 * space).  Appends the selectors and paths to SELECTORS and PATHS.
 * Returns the number found (0: DOMAIN is not signed), or -1 with *error_r
 * on a table error or a malformed value.
 */
struct maps;
struct strlist;
int dkim_signing_keys(struct maps *maps, const char *domain,
    struct strlist *selectors, struct strlist *paths, const char **error_r);

#endif
