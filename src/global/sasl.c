/*
 * sasl - strict base64 and the SASL PLAIN message; see sasl.h.
 *
 * Distrusts all input (it comes from the network before
 * authentication); each decoder checks every byte and never reads past
 * the length it was given.  Decoded passwords live only in memory that
 * is wiped before it is freed.
 */
#include "sasl.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "mem.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(unsigned char c)
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

int
sasl_base64_decode(const char *in, size_t len, struct buf *out,
    const char **error_r)
{
	size_t start = out->len;

	if (len == 1 && in[0] == '=')
		return 0;
	if (len % 4 != 0) {
		*error_r = "invalid base64: length is not a multiple of 4";
		return -1;
	}
	if (buf_reserve(out, len / 4 * 3) < 0) {
		*error_r = "invalid base64: too long";
		return -1;
	}
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		bool last = i + 4 == len;
		unsigned char bytes[3];

		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && last && k >= 2) {
				/* "xx==" or "xxx=": no data after padding */
				if (k == 2 && in[i + 3] != '=')
					goto bad_pad;
				pad = 4 - k;
				break;
			}
			v[k] = b64_value(c);
			if (v[k] < 0) {
				*error_r = "invalid base64: character "
				    "outside the alphabet";
				goto fail;
			}
		}
		bytes[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad == 2) {
			/* Canonical form: the unused bits are zero. */
			if (v[1] & 0x0f)
				goto bad_pad;
			(void)buf_append(out, bytes, 1);
			continue;
		}
		bytes[1] = (unsigned char)((v[1] & 0x0f) << 4 | v[2] >> 2);
		if (pad == 1) {
			if (v[2] & 0x03)
				goto bad_pad;
			(void)buf_append(out, bytes, 2);
			continue;
		}
		bytes[2] = (unsigned char)((v[2] & 0x03) << 6 | v[3]);
		(void)buf_append(out, bytes, 3);
	}
	return 0;
bad_pad:
	*error_r = "invalid base64: bad padding";
fail:
	/* The partial result may hold secrets: wipe it. */
	explicit_bzero(out->data + start, out->len - start);
	buf_truncate(out, start);
	return -1;
}

void
sasl_base64_encode(const void *in, size_t len, struct buf *out)
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
		q[0] = b64_alphabet[v >> 18 & 63];
		q[1] = b64_alphabet[v >> 12 & 63];
		q[2] = n > 1 ? b64_alphabet[v >> 6 & 63] : '=';
		q[3] = n > 2 ? b64_alphabet[v & 63] : '=';
		(void)buf_append(out, q, 4);
	}
}

int
sasl_plain_parse(const void *msg, size_t len, struct sasl_plain *out,
    const char **error_r)
{
	const char *p = msg, *nul1, *nul2;
	size_t zlen, clen, plen;

	nul1 = memchr(p, '\0', len);
	if (nul1 == NULL) {
		*error_r = "PLAIN message without NUL separators";
		return -1;
	}
	nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - p));
	if (nul2 == NULL) {
		*error_r = "PLAIN message with one NUL separator";
		return -1;
	}
	zlen = (size_t)(nul1 - p);
	clen = (size_t)(nul2 - nul1 - 1);
	plen = len - (size_t)(nul2 + 1 - p);
	if (memchr(nul2 + 1, '\0', plen) != NULL) {
		*error_r = "PLAIN message with more than three parts";
		return -1;
	}
	if (clen == 0 || plen == 0) {
		*error_r = "PLAIN message with an empty user name or password";
		return -1;
	}
	if (zlen > SASL_PLAIN_FIELD_MAX || clen > SASL_PLAIN_FIELD_MAX ||
	    plen > SASL_PLAIN_FIELD_MAX) {
		*error_r = "PLAIN message part too long";
		return -1;
	}
	out->authzid = xmemdup0(p, zlen);
	out->authcid = xmemdup0(nul1 + 1, clen);
	out->passwd = xmemdup0(nul2 + 1, plen);
	return 0;
}

int
sasl_plain_decode(const char *b64, size_t len, struct sasl_plain *out,
    const char **error_r)
{
	struct buf raw;
	int rc;

	/* Three fields of 255 bytes and two NULs, in base64. */
	if (len > (3 * SASL_PLAIN_FIELD_MAX + 2 + 2) / 3 * 4) {
		*error_r = "PLAIN message too long";
		return -1;
	}
	buf_init(&raw, 0);
	rc = sasl_base64_decode(b64, len, &raw, error_r);
	if (rc == 0)
		rc = sasl_plain_parse(raw.data, raw.len, out, error_r);
	explicit_bzero(raw.data, raw.len);
	buf_release(&raw);
	return rc;
}

void
sasl_plain_release(struct sasl_plain *out)
{
	if (out->passwd != NULL)
		explicit_bzero(out->passwd, strlen(out->passwd));
	free(out->authzid);
	free(out->authcid);
	free(out->passwd);
	out->authzid = out->authcid = out->passwd = NULL;
}
