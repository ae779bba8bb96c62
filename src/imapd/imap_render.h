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

/* Append BODYSTRUCTURE (EXTENDED) or BODY of P in message MSG. */
void imap_render_body(struct buf *out, const char *msg,
    const struct mime_part *p, bool extended);

#endif
