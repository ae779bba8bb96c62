/*
 * libFuzzer target for smtp_addr: envelope paths and RFC 5322
 * address-lists.  The first input byte chooses: bit 7 set parses an
 * address-list, else a path with the low four bits as SMTP_ADDR_* flags.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smtp_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1, *reason, *error;
	const struct smtp_status *status;
	struct smtp_addr a, again;
	struct smtp_addr_list list;
	struct buf b;

	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		smtp_addr_list_init(&list);
		(void)smtp_addr_list_parse(s, size - 1, &list, &error);
		for (size_t k = 0; k < list.n; k++) {
			const struct smtp_addr_entry *e = &list.v[k];

			if (e->addr == NULL || e->localpart == NULL ||
			    e->domain == NULL || e->domain_lower == NULL ||
			    strlen(e->domain) != strlen(e->domain_lower))
				abort();
			buf_init(&b, 0);
			smtp_addr_externalize(e->addr, &b);
			(void)smtp_addr_internal_has_routing(e->addr);
			buf_release(&b);
		}
		smtp_addr_list_release(&list);
		return 0;
	}
	if (smtp_addr_parse_path(s, size - 1, data[0] & 0x0f, &a, &status,
	    &reason) != 0) {
		if (status == NULL || reason == NULL)
			abort();
		return 0;
	}
	if (strlen(a.localpart) > SMTP_ADDR_LOCAL_MAX ||
	    strlen(a.domain) > SMTP_ADDR_DOMAIN_MAX)
		abort();
	(void)smtp_addr_has_routing(&a);
	if (a.is_null)
		return 0;
	/* The external form parses back to the same internal form. */
	buf_init(&b, 0);
	buf_append_char(&b, '<');
	smtp_addr_externalize(a.addr, &b);
	buf_append_char(&b, '>');
	if (smtp_addr_parse_path(b.data, b.len, (data[0] & 0x0f) |
	    SMTP_ADDR_NODOMAIN, &again, &status, &reason) != 0 ||
	    strcmp(a.addr, again.addr) != 0)
		abort();
	buf_release(&b);
	return 0;
}
