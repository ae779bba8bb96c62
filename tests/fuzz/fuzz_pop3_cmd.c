/*
 * libFuzzer target for src/global/pop3_cmd: the POP3 command reader and
 * the RETR/TOP encoder.  The first byte picks the TOP line count (255:
 * RETR), the rest is both a command line and a message file.
 * Invariants: a parsed command has at most two arguments that fit their
 * arrays; the encoded message has only CRLF line ends and no line that is
 * a lone "." before the final one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pop3_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pop3_cmd c;
	struct pop3_encode e;
	struct buf out;
	const char *error;
	long lines;

	if (size == 0)
		return 0;
	lines = data[0] == 255 ? -1 : data[0];
	data++;
	size--;
	if (pop3_cmd_parse((const char *)data, size, &c, &error) == 0) {
		if (c.argc < 0 || c.argc > 2 ||
		    strlen(c.arg[0]) > POP3_ARG_MAX ||
		    strlen(c.arg[1]) > POP3_ARG_MAX)
			abort();
	}
	buf_init(&out, 0);
	pop3_encode_init(&e, lines);
	/* In two pieces, to cross a boundary somewhere. */
	pop3_encode(&e, (const char *)data, size / 2, &out);
	pop3_encode(&e, (const char *)data + size / 2, size - size / 2, &out);
	pop3_encode_finish(&e, &out);
	for (size_t i = 0; i < out.len; i++)
		if (out.data[i] == '\n' && (i == 0 || out.data[i - 1] != '\r'))
			abort();
	if (out.len < 3 || memcmp(out.data + out.len - 3, ".\r\n", 3) != 0)
		abort();
	{
		/* "\r\n.\r\n" may appear only at the very end. */
		const char *p = out.data;
		size_t left = out.len;
		const char *hit;

		if (out.len > 3 && memcmp(out.data, ".\r\n", 3) == 0)
			abort();
		while ((hit = memmem(p, left, "\r\n.\r\n", 5)) != NULL) {
			if ((size_t)(hit - out.data) + 5 != out.len)
				abort();
			left -= (size_t)(hit - p) + 1;
			p = hit + 1;
		}
	}
	buf_release(&out);
	return 0;
}
