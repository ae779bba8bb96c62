/*
 * base64 - base64 encoding and decoding under the strictness each caller
 * needs; see base64.h.
 *
 * Distrusts its input (SASL responses from the network, DKIM tags of
 * strangers' mail and DNS records, MIME bodies): each byte is checked,
 * the output goes through struct buf and its maximum, and a failed
 * decode wipes what it had appended.
 */
#include "base64.h"

#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "err.h"

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of C, or -1 when C is not in the alphabet. */
static int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool
base64_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
base64_encode(const void *in, size_t len, struct buf *out)
{
	const unsigned char *p = in;
	char q[4];

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		size_t n = len - i;

		if (n > 1)
			v |= (unsigned)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		q[0] = base64_alphabet[v >> 18 & 63];
		q[1] = base64_alphabet[v >> 12 & 63];
		q[2] = n > 1 ? base64_alphabet[v >> 6 & 63] : '=';
		q[3] = n > 2 ? base64_alphabet[v & 63] : '=';
		if (buf_append(out, q, 4) < 0)
			return -1;
	}
	return 0;
}

int
base64_decode(const char *in, size_t len, enum base64_mode mode,
    struct buf *out, const char **error_r)
{
	bool strict = mode == BASE64_STRICT;
	size_t start = out->len, nchars = 0, npad = 0;
	unsigned acc = 0, nbits = 0;
	const char *error;

	if (strict) {
		if (len % 4 != 0) {
			*error_r = "invalid base64: length is not a "
			    "multiple of 4";
			return -1;
		}
		if (buf_reserve(out, len / 4 * 3) < 0) {
			*error_r = "invalid base64: too long";
			return -1;
		}
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (mode == BASE64_SPACE && base64_is_space(c))
			continue;
		/* STRICT: "=" only in the last two places ("xx==", "xxx="). */
		if (c == '=' && (!strict || i + 2 >= len)) {
			if (strict && i + 2 == len && in[i + 1] != '=')
				goto bad_padding;
			npad++;
			continue;
		}
		v = base64_value(c);
		if (v < 0) {
			error = strict ? "invalid base64: character outside "
			    "the alphabet" : err_fmt("bad base64 character "
			    "0x%02x", c);
			goto fail;
		}
		if (npad > 0) {
			error = "base64 text after \"=\" padding";
			goto fail;
		}
		nchars++;
		acc = ((acc << 6) | (unsigned)v) & 0xffffffu;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			if (buf_append_char(out, (char)(acc >> nbits &
			    0xff)) < 0) {
				error = "base64 text too long";
				goto fail;
			}
		}
	}
	switch (mode) {
	case BASE64_STRICT:
		/* Canonical form: the bits the padding leaves over are 0. */
		if (npad > 0 && (acc & ((1u << nbits) - 1)) != 0)
			goto bad_padding;
		break;
	case BASE64_SPACE:
		/*
		 * A group of 4 characters makes 3 octets; 1 leftover
		 * character cannot be; padding, when present, must fill
		 * the last group.
		 */
		if (nchars % 4 == 1 || npad > 2 ||
		    (npad > 0 && (nchars + npad) % 4 != 0)) {
			error = "bad base64 length or padding";
			goto fail;
		}
		break;
	case BASE64_LOOSE:
		break;
	}
	return 0;
bad_padding:
	error = "invalid base64: bad padding";
fail:
	explicit_bzero(out->data + start, out->len - start);
	buf_truncate(out, start);
	*error_r = error;
	return -1;
}

void
base64_stream_init(struct base64_stream *st)
{
	st->acc = 0;
	st->bits = 0;
}

int
base64_stream_decode(struct base64_stream *st, const char *in, size_t len,
    struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		int v;

		if (in[i] == '=') {
			/* Padding ends the quantum. */
			base64_stream_init(st);
			continue;
		}
		v = base64_value((unsigned char)in[i]);
		if (v < 0)
			continue;
		st->acc = ((st->acc << 6) | (unsigned)v) & 0xffffffu;
		st->bits += 6;
		if (st->bits >= 8) {
			st->bits -= 8;
			if (buf_append_char(out, (char)(st->acc >> st->bits &
			    0xff)) < 0)
				return -1;
		}
	}
	return 0;
}
