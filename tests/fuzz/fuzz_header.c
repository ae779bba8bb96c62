/*
 * libFuzzer target for header: the whole-message splitter (and so the
 * incremental parser) with the fields' offsets (smtpd cuts fields out by
 * them), unfolding, RFC 2047 decoding and the Authentication-Results
 * authserv-id check of every field.  The first two input bytes give the
 * header size limit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct msg {
	const char *p;
	size_t len, end;	/* END: where the previous field ended */
};

static int
each_field(void *ctx, const struct header_field *f)
{
	struct msg *m = ctx;
	struct buf b;

	/* Fields come in order, do not overlap, start with their name. */
	if (f->offset < m->end || f->length > m->len - f->offset ||
	    f->length < f->name_len ||
	    memcmp(m->p + f->offset, f->name, f->name_len) != 0)
		abort();
	m->end = f->offset + f->length;
	(void)header_authserv_id_is(f->value, f->value_len, "mx.example");

	if (f->name_len == 0 || strlen(f->name) != f->name_len ||
	    f->value[f->value_len] != '\0')
		abort();
	buf_init(&b, 0);
	if (header_unfold(f->value, f->value_len, true, &b) != 0)
		abort();
	if (b.len > f->value_len)
		abort();
	buf_reset(&b);
	if (header_decode_2047(f->value, f->value_len, &b) != 0)
		abort();
	buf_release(&b);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg m = { (const char *)data + 2, 0, 0 };
	const char *error;
	size_t max, off;

	if (size < 2)
		return 0;
	m.len = size - 2;
	max = (size_t)data[0] << 8 | data[1];
	if (header_parse_message(m.p, m.len, max, each_field, &m, &off,
	    &error) == 0 && off > m.len)
		abort();
	return 0;
}
