/*
 * libFuzzer target for dns_rr_parse(): record data from DNS answers (the
 * data of MX, PTR, CNAME, TXT, TLSA, A, AAAA records).  The first byte
 * picks the record type, the rest is the record data.  Checks that a
 * parsed name never holds a byte a later lookup could misread (only
 * letters, digits, '-', '_', '.' and \DDD escapes).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dns_type types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX,
	    DNS_T_PTR, DNS_T_CNAME, DNS_T_TXT, DNS_T_TLSA };
	struct dns_rr rr;
	const char *error;

	if (size < 1)
		return 0;
	if (dns_rr_parse(types[data[0] % 7], data + 1, size - 1, &rr,
	    &error) == 0) {
		if (rr.host != NULL) {
			for (const char *p = rr.host; *p; p++) {
				if (strchr("abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.\\",
				    *p) == NULL)
					abort();
			}
			if (strlen(rr.host) > 4 * 255)
				abort();
		}
		if (rr.data != NULL && rr.data_len >= size)
			abort();
		dns_rr_release(&rr);
	}
	return 0;
}
