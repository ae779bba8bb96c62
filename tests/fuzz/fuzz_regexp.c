/*
 * libFuzzer target: regexp: and pcre: table text (the first byte chooses
 * the type), compiled and then matched against a few fixed keys and
 * against each line of the input itself.  PCRE2's match limits keep
 * pathological patterns bounded.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "log.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int log_ready;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
		"", "a", "user@example.com", "POSTMASTER@Example.COM",
		"line1\nline2", "$1${2}$$",
	};
	const char *err, *v;
	struct dict *d;

	if (size < 1)
		return 0;
	if (!log_ready) {
		log_init("fuzz", "/dev/null");
		log_ready = 1;
	}
	d = dict_open_text(data[0] & 1 ? "pcre" : "regexp", "fuzz",
	    (const char *)data + 1, size - 1, &err);
	if (d == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (dict_lookup(d, keys[i], &v, &err) < 0)
			__builtin_trap();
	if (size < 4096) {
		char *text = xmemdup0(data + 1, size - 1);

		for (char *line = text, *nl; line != NULL; line = nl) {
			nl = strchr(line, '\n');
			if (nl != NULL)
				*nl++ = '\0';
			if (dict_lookup(d, line, &v, &err) < 0)
				__builtin_trap();
		}
		free(text);
	}
	dict_close(d);
	return 0;
}
