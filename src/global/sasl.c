/*
 * sasl - the SASL base64 rules and the PLAIN message; see sasl.h.
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

#include "base64.h"
#include "buf.h"
#include "err.h"
#include "mem.h"

int
sasl_base64_decode(const char *in, size_t len, struct buf *out,
    const char **error_r)
{
	if (len == 1 && in[0] == '=')
		return 0;
	return base64_decode(in, len, BASE64_STRICT, out, error_r);
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
