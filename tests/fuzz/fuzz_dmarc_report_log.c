/*
 * libFuzzer target for the reader of $data_directory/dmarc-reports.log
 * (src/global/dmarc_report.c): the input is read as log text; every
 * report grouped from it is written as XML, which must stay well-formed
 * enough that no raw '<' or '&' comes from the data, and its rua= is
 * parsed.  The input is also parsed as one line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dmarc_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmarc_report_meta meta = { .org_name = "o", .email = "e@x",
	    .report_id = "1" };
	struct dmarc_report_set s;
	struct dmarc_report_entry e;
	struct dmarc_report_uri uris[4];
	struct buf xml, w;
	const char *err;
	size_t used, n;

	if (size > 200000)
		return 0;
	dmarc_report_set_init(&s);
	used = dmarc_report_set_read(&s, (const char *)data, size, NULL, NULL);
	if (used > size || (used > 0 && data[used - 1] != '\n'))
		abort();
	buf_init(&xml, 0);
	buf_init(&w, 0);
	for (size_t i = 0; i < s.n; i++) {
		buf_reset(&xml);
		dmarc_report_xml(&s.reports[i], &meta, &xml);
		for (size_t j = 0; j < xml.len; j++)
			if ((unsigned char)xml.data[j] >= 0x7f ||
			    ((unsigned char)xml.data[j] < 0x20 &&
			    xml.data[j] != '\n'))
				abort();
		if (s.reports[i].rua != NULL) {
			dmarc_report_rua_parse(s.reports[i].rua, uris, 4, &n,
			    &w);
			for (size_t j = 0; j < n; j++) {
				if (strchr(uris[j].address, '@') == NULL)
					abort();
				free(uris[j].address);
			}
		}
	}
	if (dmarc_report_line_parse((const char *)data, size, &e, &err) == 0)
		dmarc_report_entry_release(&e);
	buf_release(&xml);
	buf_release(&w);
	dmarc_report_set_release(&s);
	return 0;
}
