/*
 * libFuzzer target: the attribute-protocol decoder on arbitrary bytes, fed
 * in chunks whose sizes come from the input itself.  Every decoded request
 * is re-encoded and decoded again: the result must be identical.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "attr.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_round_trip(const struct attr_list *l)
{
	struct attr_decoder *d = attr_decoder_new();
	struct attr_list back;
	struct buf enc;
	const char *err;
	size_t used;

	attr_list_init(&back);
	buf_init(&enc, 0);
	if (attr_encode_list(&enc, l, &err) < 0)
		__builtin_trap();
	if (attr_decoder_feed(d, enc.data, enc.len, &used, &back, &err) != 1 ||
	    used != enc.len || back.n != l->n)
		__builtin_trap();
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(back.v[i].name, l->v[i].name) != 0 ||
		    back.v[i].value_len != l->v[i].value_len ||
		    memcmp(back.v[i].value, l->v[i].value, l->v[i].value_len))
			__builtin_trap();
	}
	buf_release(&enc);
	attr_list_release(&back);
	attr_decoder_free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attr_decoder *d;
	struct attr_list l;
	const char *err;
	size_t chunk, off = 0;

	if (size < 1)
		return 0;
	/* The first byte picks the chunk size: 1..256. */
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	d = attr_decoder_new();
	attr_list_init(&l);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk, used;
		int r = attr_decoder_feed(d, data + off, n, &used, &l, &err);

		if (used > n)
			__builtin_trap();
		off += used;
		if (r < 0)
			break;
		if (r == 1) {
			check_round_trip(&l);
			(void)attr_get(&l, "request");
		} else if (used != n) {
			__builtin_trap();
		}
	}
	attr_list_release(&l);
	attr_decoder_free(d);
	return 0;
}
