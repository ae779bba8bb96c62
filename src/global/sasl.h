/*
 * sasl - the server side of the SASL pieces that smtpd, pop3d and imapd
 * share: strict base64 (RFC 4648 4) and the PLAIN mechanism's message
 * (RFC 4616).
 *
 * Everything here decodes bytes a network client sent: base64 is accepted
 * only in its canonical form (alphabet, padding at the end only, length a
 * multiple of four, unused bits zero), a PLAIN message must have exactly
 * three parts with a non-empty user name and password of at most
 * SASL_PLAIN_FIELD_MAX bytes each and no NUL inside.  Passwords are wiped
 * from memory when released and never logged.  Nothing here exits except
 * when memory runs out.
 */
#ifndef ULAK_SASL_H
#define ULAK_SASL_H

#include <stddef.h>

struct buf;

#define SASL_PLAIN_FIELD_MAX 255	/* RFC 4616 2: 1*SAFE up to 255 */

/*
 * Decode base64 IN[0..LEN) strictly (base64_decode's BASE64_STRICT),
 * appending to OUT.  "=" alone is the empty response (RFC 4954 4,
 * RFC 5034 4) and decodes to nothing.  Encode with base64_encode.
 * -1 with *error_r ("invalid base64 ...") and OUT unchanged on bad input
 * or when OUT's maximum would be exceeded.
 */
int sasl_base64_decode(const char *in, size_t len, struct buf *out,
    const char **error_r);

/* The three parts of a PLAIN message, each NUL-terminated and owned. */
struct sasl_plain {
	char *authzid;		/* "" when the client sent none */
	char *authcid;		/* the login name */
	char *passwd;
};

/*
 * Split the decoded PLAIN message MSG[0..LEN) (RFC 4616 2:
 * [authzid] NUL authcid NUL passwd).  0, or -1 with *error_r; OUT is
 * filled only on success (release it with sasl_plain_release).
 */
int sasl_plain_parse(const void *msg, size_t len, struct sasl_plain *out,
    const char **error_r);
/* Base64 text B64[0..LEN) to the three parts: decode, then parse. */
int sasl_plain_decode(const char *b64, size_t len, struct sasl_plain *out,
    const char **error_r);
/* Wipe the password and free the parts; OUT may be released twice. */
void sasl_plain_release(struct sasl_plain *out);

#endif
