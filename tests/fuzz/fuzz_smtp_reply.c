/*
 * libFuzzer target for smtp_reply_parse(): the input is a server's
 * reply stream, split into lines at "\n"; the first byte sets a small
 * line limit so that the limit paths are reached too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	const char *s = (const char *)data + 1, *error;
	size_t len, i = 0, eol;
	int ret;

	if (size < 1)
		return 0;
	len = size - 1;
	smtp_reply_init(&r, data[0] ? data[0] : 0, 4096);
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);

		eol = nl != NULL ? (size_t)(nl - s) : len;
		ret = smtp_reply_parse(&r, s + i, eol - i, &error);
		if (ret < 0)
			break;
		if (ret == 1) {
			if (r.code < 200 || r.code > 559 || !r.complete ||
			    strlen(r.enhanced) >= sizeof(r.enhanced) ||
			    (r.enhanced[0] != '\0' &&
			    r.enhanced[0] != '0' + r.code / 100))
				abort();
			smtp_reply_reset(&r);
		}
		i = eol + 1;
	}
	smtp_reply_release(&r);
	return 0;
}
