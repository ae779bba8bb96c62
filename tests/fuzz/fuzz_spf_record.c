/*
 * libFuzzer target for the SPF record parser and the macro expander
 * (src/global/spf_parse.c).  The input is a record: it is parsed as one,
 * and every domain-spec of the parsed record, and the whole input as an
 * explanation string, go through the macro expander.  A parsed record
 * must satisfy its invariants; nothing may crash or read out of bounds.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "mem.h"
#include "spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
expand(const char *s, enum spf_macro_ctx ctx, bool v6)
{
	struct spf_macro_vars v;
	struct buf out;
	const char *err;
	int check;

	memset(&v, 0, sizeof(v));
	v.sender = "strong-bad@email.example.com";
	v.local = "strong-bad";
	v.sender_domain = "email.example.com";
	v.domain = "email.example.com";
	v.helo = "mx.example.org";
	v.family = v6 ? AF_INET6 : AF_INET;
	v.addr[0] = 192;
	v.addr[3] = 3;
	buf_init(&out, 0);
	check = spf_macro_check(s, ctx, &err);
	if (spf_macro_expand(s, ctx, &v, &out, &err) == 0) {
		if (check != 0 || out.len > SPF_MAX_EXPANSION + 16)
			abort();
	} else if (out.len != 0)
		abort();
	buf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spf_record *rec;
	const char *err;
	char *text;

	if (size > 65536)
		return 0;
	if (spf_record_parse(data, size, &rec, &err) == 0) {
		if (!spf_record_is_spf(data, size))
			abort();
		for (size_t i = 0; i < rec->n_terms; i++) {
			const struct spf_term *t = &rec->terms[i];

			if (t->cidr4 > 32 || t->cidr6 > 128 || t->text == NULL)
				abort();
			if (t->domain_spec != NULL)
				expand(t->domain_spec, SPF_MACRO_DOMAIN,
				    i & 1);
		}
		if (rec->redirect != NULL)
			expand(rec->redirect, SPF_MACRO_DOMAIN, false);
		if (rec->exp != NULL)
			expand(rec->exp, SPF_MACRO_DOMAIN, true);
		spf_record_free(rec);
	}
	text = xmemdup0(data, size);
	if (strlen(text) == size) {
		expand(text, SPF_MACRO_EXPLAIN, size & 1);
		expand(text, SPF_MACRO_DOMAIN, false);
	}
	free(text);
	return 0;
}
