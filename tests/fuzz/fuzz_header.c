/*
 * libFuzzer target for header: the whole-message splitter (and so the
 * incremental parser), unfolding and RFC 2047 decoding of every field.
 * The first two input bytes give the header size limit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
each_field(void *ctx, const struct header_field *f)
{
	struct buf b;

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
	(void)ctx;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *error;
	size_t max, off;

	if (size < 2)
		return 0;
	max = (size_t)data[0] << 8 | data[1];
	if (header_parse_message((const char *)data + 2, size - 2, max,
	    each_field, NULL, &off, &error) == 0 && off > size - 2)
		abort();
	return 0;
}
