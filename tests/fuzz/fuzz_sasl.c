/*
 * libFuzzer target for src/global/sasl: strict base64 decoding and the
 * SASL PLAIN message, as a client sends them to smtpd, pop3d and imapd.
 * Invariants: whatever decodes re-encodes to the same text (base64 is
 * canonical), and a parsed PLAIN message has a non-empty user name and
 * password without NUL of at most 255 bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf raw, enc;
	struct sasl_plain p = { NULL, NULL, NULL };
	const char *error;

	buf_init(&raw, 0);
	buf_init(&enc, 0);
	if (sasl_base64_decode((const char *)data, size, &raw, &error) == 0) {
		(void)base64_encode(raw.data, raw.len, &enc);
		if (!(size == 1 && data[0] == '=') && (enc.len != size ||
		    memcmp(enc.data, data, size) != 0))
			abort();
	}
	if (sasl_plain_parse(data, size, &p, &error) == 0) {
		size_t c = strlen(p.authcid), w = strlen(p.passwd);

		if (c == 0 || w == 0 || c > SASL_PLAIN_FIELD_MAX ||
		    w > SASL_PLAIN_FIELD_MAX)
			abort();
	}
	sasl_plain_release(&p);
	if (sasl_plain_decode((const char *)data, size, &p, &error) == 0 &&
	    (p.authcid[0] == '\0' || p.passwd[0] == '\0'))
		abort();
	sasl_plain_release(&p);
	buf_release(&raw);
	buf_release(&enc);
	return 0;
}
