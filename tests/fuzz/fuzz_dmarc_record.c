/*
 * libFuzzer target for the DMARC record parser (src/global/dmarc.c) and
 * the Public Suffix List parser and matcher (src/global/psl.c).  The
 * input is parsed as a DMARC record; it is also read as a suffix list
 * whose org-domain lookups must return a suffix of the name asked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dmarc.h"
#include "mem.h"
#include "psl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "a.b.example.co.uk", "com",
	    "x.y.z", "", "a..b", "xn--p1ai", "www.ck", "..." };
	struct dmarc_record rec;
	struct dmarc_outcome o;
	struct dmarc_input in;
	struct psl *l;
	struct buf b;
	const char *err;

	if (size > 100000)
		return 0;
	l = psl_parse((const char *)data, size);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *org = psl_org_domain(l, names[i]);
		const char *ps = psl_public_suffix(l, names[i]);

		if (org < names[i] || org > names[i] + strlen(names[i]) ||
		    ps < org || ps > names[i] + strlen(names[i]))
			abort();
	}
	if (dmarc_record_parse(data, size, &rec, &err) == 0) {
		if (rec.pct > 100 || rec.fo == NULL || rec.rf == NULL)
			abort();
		memset(&in, 0, sizeof(in));
		in.from_domain = "mail.example.co.uk";
		in.spf_result = SPF_PASS;
		in.spf_domain = "example.co.uk";
		dmarc_evaluate(l, &in, &rec, "example.co.uk", (unsigned)size % 100,
		    &o);
		buf_init(&b, 0);
		dmarc_auth_results(&o, &b);
		buf_release(&b);
		dmarc_outcome_release(&o);
		dmarc_record_release(&rec);
	}
	psl_free(l);
	return 0;
}
