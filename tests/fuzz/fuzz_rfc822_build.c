/*
 * libFuzzer target for rfc822_build: the $myorigin completion of header
 * address lists (rfc822_qualify_header, which walks untrusted header
 * values) and the headers built from peer text (Received:, From:).
 * Checks invariants: a value without completions comes back unchanged,
 * and removing the inserted "@ORIGIN" texts gives the input back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rfc822_build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORIGIN "\x01origin\x01"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct buf out, back;
	struct rfc822_received r;
	char *text;
	int n;

	buf_init(&out, 0);
	n = rfc822_qualify_header(&out, s, size, ORIGIN);
	if (n < 0)
		abort();
	if (memmem(s, size, ORIGIN, sizeof(ORIGIN) - 1) == NULL) {
		/* Strip every "@ORIGIN": the input must come back. */
		const char *p = out.data, *end = out.data + out.len, *hit;
		int seen = 0;

		buf_init(&back, 0);
		while ((hit = memmem(p, (size_t)(end - p), "@" ORIGIN,
		    sizeof(ORIGIN))) != NULL) {
			buf_append(&back, p, (size_t)(hit - p));
			p = hit + sizeof(ORIGIN);
			seen++;
		}
		buf_append(&back, p, (size_t)(end - p));
		if (seen != n || back.len != size || memcmp(back.data, s,
		    size) != 0)
			abort();
		buf_release(&back);
	}
	buf_release(&out);

	/* Peer text in built headers: no line break may get through. */
	text = strndup(s, size);
	if (text == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	r.helo = text;
	r.client_name = text;
	r.client_addr = text;
	r.hostname = "mx.test";
	r.queue_id = "ID";
	buf_init(&out, 0);
	if (rfc822_build_received(&out, &r) < 0)
		abort();
	/* Every LF is part of a CRLF fold (CRLF TAB) or the final CRLF. */
	for (size_t i = 0; i < out.len; i++)
		if (out.data[i] == '\n' && (i == 0 || out.data[i - 1] != '\r' ||
		    (i + 1 < out.len && out.data[i + 1] != '\t')))
			abort();
	if (out.len < 2 || memcmp(out.data + out.len - 2, "\r\n", 2) != 0)
		abort();
	buf_reset(&out);
	if (rfc822_build_from(&out, "a@b", text) < 0)
		abort();
	/* Exactly one line end, at the end. */
	if (strstr(out.data, "\r\n") != out.data + out.len - 2 ||
	    memchr(out.data, '\n', out.len - 1) != NULL)
		abort();
	buf_release(&out);
	free(text);
	return 0;
}
