/*
 * libFuzzer target for the mbox content filter (mbox.h): message bytes
 * from the queue (any bytes) fed in chunks whose size the first input byte
 * chooses.  Checks: the result does not depend on the chunking, no CR LF
 * survives (unless the input has CR CR LF: the first CR is content), every line that starts with "From " was quoted, and the
 * output ends with LF.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
run(const uint8_t *data, size_t size, size_t chunk, struct buf *out)
{
	struct mbox_filter f;

	mbox_filter_init(&f, true);
	for (size_t i = 0; i < size; i += chunk)
		if (mbox_filter_feed(&f, data + i, size - i < chunk ? size - i :
		    chunk, out) != 0)
			abort();
	if (mbox_filter_finish(&f, true, out) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a, b;
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 16 + 1;
	data++;
	size--;
	buf_init(&a, 0);
	buf_init(&b, 0);
	run(data, size, chunk, &a);
	run(data, size, size ? size : 1, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		abort();
	if (memmem(data, size, "\r\r", 2) == NULL)
		for (size_t i = 0; i + 1 < a.len; i++)
			if (a.data[i] == '\r' && a.data[i + 1] == '\n')
				abort();
	for (size_t i = 0; i < a.len; i++)
		if ((i == 0 || a.data[i - 1] == '\n') &&
		    a.len - i >= 5 && memcmp(a.data + i, "From ", 5) == 0)
			abort();
	if (a.len > 0 && a.data[a.len - 1] != '\n')
		abort();
	buf_release(&a);
	buf_release(&b);
	return 0;
}
