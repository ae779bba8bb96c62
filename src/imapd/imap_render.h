/*
 * imap_render - IMAP response data from message text: strings (quoted
 * or literal), ENVELOPE and BODY/BODYSTRUCTURE (RFC 3501 7.4.2).
 */
#ifndef ULAK_IMAP_RENDER_H
#define ULAK_IMAP_RENDER_H

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct mime_part;

/* Append S[0..LEN) as an IMAP string: quoted when it is short 7-bit text
 * without CR/LF/NUL, else a literal.  S NULL: NIL. */
void imap_render_string(struct buf *out, const char *s, size_t len);
/* Same for a C string (NULL: NIL). */
void imap_render_cstring(struct buf *out, const char *s);

/* Append the ENVELOPE of the entity P of message MSG (P's header). */
void imap_render_envelope(struct buf *out, const char *msg,
    const struct mime_part *p);

/*
 * The header fields an ENVELOPE is made of (RFC 3501 7.4.2), in its
 * order: their first occurrence, unfolded and trimmed, a NUL made '?'
 * (NULL when absent).  DUP has bit i set when field i occurs more than
 * once (header SEARCH keys must then look at every occurrence).
 */
enum {
	IMAP_ENV_DATE, IMAP_ENV_SUBJECT, IMAP_ENV_FROM, IMAP_ENV_SENDER,
	IMAP_ENV_REPLY_TO, IMAP_ENV_TO, IMAP_ENV_CC, IMAP_ENV_BCC,
	IMAP_ENV_IN_REPLY_TO, IMAP_ENV_MESSAGE_ID, IMAP_ENV_FIELDS
};
struct imap_envelope {
	char *v[IMAP_ENV_FIELDS];
	unsigned dup;
};
/* The field names, e.g. "Reply-To" for IMAP_ENV_REPLY_TO. */
extern const char *const imap_envelope_names[IMAP_ENV_FIELDS];
/* Index of header field NAME (ASCII case-insensitive), or -1. */
int imap_envelope_field(const char *name);
/* Collect the fields of header HDR[0..LEN) into E (release it). */
void imap_envelope_parse(const char *hdr, size_t len,
    struct imap_envelope *e);
void imap_envelope_release(struct imap_envelope *e);
/* Append the ENVELOPE made of field values V[IMAP_ENV_FIELDS]. */
void imap_render_envelope_fields(struct buf *out,
    const char *const *v);

/* Append BODYSTRUCTURE (EXTENDED) or BODY of P in message MSG. */
void imap_render_body(struct buf *out, const char *msg,
    const struct mime_part *p, bool extended);

#endif
