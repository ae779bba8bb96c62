/*
 * dkim_signer - which outgoing messages get a DKIM signature, with which
 * key, and the signing of a message read from the queue file (for the
 * smtp delivery agent; docs/dkim.md, "Signing outgoing mail").
 *
 * The rules:
 *   - only mail from a trusted origin is signed: submitted on this host
 *     (protocol "local": sendmail/pickup, bounces, forwarding by local),
 *     by an authenticated SMTP client (sasl_username), or by a client in
 *     mynetworks (OpenDKIM's InternalHosts).  Mail merely relayed for a
 *     stranger is never signed;
 *   - the signing domain is the RFC5322.From domain (RFC 7489 6.6.1: one
 *     From field with one mailbox) when dkim_signing_key_maps has a key
 *     for it, else the nearest parent domain that has one (a parent
 *     domain is aligned with From in DMARC's relaxed mode).  The envelope
 *     sender plays no part: a d= that does not align with From helps no
 *     DMARC check;
 *   - no key for that domain, no From or several: not signed.
 *
 * Keys are loaded once, when the signer is made (before the daemon drops
 * its privileges): every key of every table that can be listed (texthash,
 * inline, hash, lmdb).  Keys of other tables (regexp, pcre) are loaded
 * when first needed, with the daemon's privileges then.  A configured key
 * that cannot be loaded makes dkim_signer_sign fail, so the caller defers
 * the message rather than send it unsigned.
 *
 * The message is read once, in chunks, and never kept whole in memory:
 * the header first (bounded by DKIM_HEADER_MAX), then the body is fed to
 * the signers as it is read.
 */
#ifndef ULAK_DKIM_SIGNER_H
#define ULAK_DKIM_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct config;
struct queue_file;
struct dkim_signer;

enum dkim_signer_origin {
	DKIM_SIGNER_UNTRUSTED = 0,	/* relayed for a stranger: never sign */
	DKIM_SIGNER_LOCAL,		/* protocol=local */
	DKIM_SIGNER_AUTHENTICATED,	/* sasl_username set */
	DKIM_SIGNER_MYNETWORKS,		/* client address in mynetworks */
};

/* What the queue file says about where a message came from. */
struct dkim_signer_envelope {
	const char *protocol;		/* NULL when absent */
	const char *sasl_username;	/* NULL or "" when not authenticated */
	const char *client_address;	/* NULL when absent */
};

/*
 * A signer from CFG: dkim_signing_key_maps, dkim_canonicalization,
 * dkim_signing_headers, dkim_oversign_headers, dkim_signature_ttl and
 * mynetworks.  Loads every key it can list (a key that cannot be loaded
 * is logged with log_warning and reported again when a message needs
 * it).  NULL with *error_r on a configuration error (a table that cannot
 * be opened, a bad canonicalization or mynetworks item).  With an empty
 * dkim_signing_key_maps the signer signs nothing.  Free with
 * dkim_signer_free.
 */
struct dkim_signer *dkim_signer_new(struct config *cfg, const char **error_r);
void dkim_signer_free(struct dkim_signer *s);

/* True when the signer has a dkim_signing_key_maps at all. */
bool dkim_signer_enabled(const struct dkim_signer *s);
/* Keys loaded so far (for the start-up log line and tests). */
size_t dkim_signer_key_count(const struct dkim_signer *s);

/*
 * Where ENV's message came from, in the order local, authenticated,
 * mynetworks; DKIM_SIGNER_UNTRUSTED when none applies (also for a
 * client address that does not parse, or a mynetworks table that fails).
 */
enum dkim_signer_origin dkim_signer_origin(const struct dkim_signer *s,
    const struct dkim_signer_envelope *env);
/* "untrusted", "local", "authenticated", "mynetworks". */
const char *dkim_signer_origin_name(enum dkim_signer_origin o);

/*
 * The signing domain for FROM_DOMAIN: FROM_DOMAIN or its nearest parent
 * (of at least two labels) with a key in dkim_signing_key_maps.  1 with
 * *DOMAIN_R (malloc'ed, lower case; the caller frees), 0 when there is
 * none, -1 with *error_r on a table error or a malformed table value.
 */
int dkim_signer_domain(struct dkim_signer *s, const char *from_domain,
    char **domain_r, const char **error_r);

/*
 * Reads content bytes: as queue_file_read_content (*GOT_R 0 at the end).
 */
typedef int dkim_signer_read_fn(void *ctx, uint64_t offset, void *data,
    size_t len, size_t *got_r, const char **error_r);

/*
 * Decide and sign one message whose content READ gives.  Returns 1 when
 * signed: one DKIM-Signature field per selector of the domain was
 * appended to OUT (folded, CRLF line ends, to be sent before the
 * content) and *NOTE_R says what ("d=example.com s=mail"); 0 when the
 * message is not to be signed, *NOTE_R says why ("untrusted origin",
 * "no key for example.org", "no From: header field", ...); -1 with
 * *error_r when it should be signed but cannot be now (a key that does
 * not load, a table or read error): the caller defers.  NOTE_R and
 * ERROR_R texts are err_fmt's (short-lived).
 */
int dkim_signer_sign(struct dkim_signer *s,
    const struct dkim_signer_envelope *env, dkim_signer_read_fn *read,
    void *ctx, struct buf *out, const char **note_r, const char **error_r);

/* The same for a queue file (its envelope and content). */
int dkim_signer_sign_queue_file(struct dkim_signer *s, struct queue_file *qf,
    struct buf *out, const char **note_r, const char **error_r);

#endif
