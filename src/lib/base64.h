/*
 * base64 - the one base64 (RFC 4648 4) encoder and decoder of ulak.
 *
 * The alphabet is always the standard one ("+/", "=" padding); what
 * differs between users is how much a decoder forgives, so each caller
 * names the rules it needs:
 *
 *   BASE64_STRICT  the canonical form only: alphabet, length a multiple
 *                  of four, padding exactly at the end, unused bits zero
 *                  (SASL, RFC 4422/4954 - client responses).
 *   BASE64_SPACE   SP, HT, CR and LF anywhere are skipped; padding may be
 *                  left out, but when present it must complete the last
 *                  group, and a lone trailing character is an error
 *                  (RFC 6376 base64string - DKIM b=, bh=, p=).
 *   BASE64_LOOSE   alphabet characters, then nothing but "=" (any number,
 *                  or none); the length is not checked and left-over bits
 *                  are dropped (RFC 2047 "B" words as real mailers write
 *                  them).
 *   base64_stream  RFC 2045 6.8 bodies, arriving line by line: bytes
 *                  outside the alphabet are ignored, "=" ends a quantum,
 *                  nothing is ever an error.
 *
 * The input is distrusted: every byte is checked and nothing is read past
 * the given length.  Nothing here exits except when memory runs out.
 */
#ifndef ULAK_BASE64_H
#define ULAK_BASE64_H

#include <stddef.h>

struct buf;

enum base64_mode {
	BASE64_STRICT,
	BASE64_SPACE,
	BASE64_LOOSE,
};

/*
 * Append the base64 of IN[0..LEN) to OUT, with padding and without line
 * breaks.  -1 when OUT's maximum is reached (OUT then holds the groups
 * that fitted).
 */
int base64_encode(const void *in, size_t len, struct buf *out);

/*
 * Decode IN[0..LEN) under MODE's rules, appending to OUT.  0, or -1 with
 * *error_r on bad input or when OUT's maximum would be exceeded; OUT is
 * then as before (what was decoded so far is wiped first: it may be a
 * secret).  The error texts are those the protocols already show:
 * BASE64_STRICT says "invalid base64: ..." (length is not a multiple of
 * 4, too long, character outside the alphabet, bad padding), the others
 * "bad base64 character 0xNN", "base64 text after \"=\" padding", "bad
 * base64 length or padding", "base64 text too long".  For BASE64_STRICT
 * the maximum is checked up front against LEN / 4 * 3.
 */
int base64_decode(const char *in, size_t len, enum base64_mode mode,
    struct buf *out, const char **error_r);

/* State of a lenient RFC 2045 decoder fed piece by piece. */
struct base64_stream {
	unsigned acc;	/* the bits not yet output */
	unsigned bits;	/* how many of them (0..18) */
};

/* Start (or restart, at a new body part) ST with no pending bits. */
void base64_stream_init(struct base64_stream *st);
/*
 * Decode the next piece IN[0..LEN) leniently (see above), appending to
 * OUT; bits of an incomplete group wait in ST for the next piece.  -1
 * only when OUT's maximum is reached (the octets that fitted are kept).
 */
int base64_stream_decode(struct base64_stream *st, const char *in,
    size_t len, struct buf *out);

#endif
