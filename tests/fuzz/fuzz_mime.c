/*
 * libFuzzer target for src/global/mime and the IMAP rendering of its
 * result (src/imapd/imap_render): any message must parse; every part's
 * positions must lie inside the message; BODYSTRUCTURE and ENVELOPE must
 * render; part addressing and header filtering must stay in bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/imapd/imap_render.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
walk(const char *msg, size_t len, const struct mime_part *p, size_t depth)
{
	if (p->hdr_off + p->hdr_len > len || p->body_off + p->body_len > len ||
	    p->hdr_off + p->hdr_len != p->body_off || depth > 200)
		abort();
	if (p->is_multipart && p->n_kids == 0)
		abort();
	for (size_t i = 0; i < p->n_kids; i++)
		walk(msg, len, &p->kids[i], depth + 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	struct mime_limits lim;
	struct mime_part *top;
	struct buf b;
	static char *names[] = { "subject", "content-type" };

	mime_limits_default(&lim);
	lim.depth_max = 8;
	lim.parts_max = 200;
	top = mime_parse(msg, size, &lim);
	walk(msg, size, top, 0);
	buf_init(&b, 0);
	imap_render_body(&b, msg, top, true);
	imap_render_envelope(&b, msg, top);
	for (uint32_t a = 1; a < 4; a++)
		for (uint32_t c = 1; c < 4; c++) {
			uint32_t part[2] = { a, c };
			const struct mime_part *p = mime_part_find(top, part, 2);

			if (p != NULL) {
				const struct mime_part *m =
				    mime_part_message(p, false);

				mime_header_filter(msg + p->hdr_off, p->hdr_len,
				    names, 2, c & 1, &b);
				if (m != NULL)
					imap_render_envelope(&b, msg, m);
			}
		}
	buf_release(&b);
	mime_free(top);
	return 0;
}
