/*
 * libFuzzer target: the aliases(5) parser on arbitrary bytes.  For every
 * entry, the stored form (aliases_join) must split back into exactly the
 * same items, and names must be non-empty and lower case.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aliases.h"
#include "log.h"
#include "str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int log_ready;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aliases_list l;
	const char *err;

	if (!log_ready) {
		log_init("fuzz", "/dev/null");
		log_ready = 1;
	}
	aliases_list_init(&l);
	(void)aliases_parse_text("fuzz", (const char *)data, size, &l, &err);
	for (size_t i = 0; i < l.n; i++) {
		const struct aliases_entry *e = &l.v[i];
		struct strlist back;
		char *joined;

		if (e->name[0] == '\0' || e->items.n == 0)
			__builtin_trap();
		for (const char *p = e->name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				__builtin_trap();
		joined = aliases_join(&e->items);
		strlist_init(&back);
		if (aliases_split_value(joined, &back, &err) !=
		    (int)e->items.n)
			__builtin_trap();
		for (size_t j = 0; j < back.n; j++)
			if (strcmp(back.v[j], e->items.v[j]) != 0)
				__builtin_trap();
		strlist_release(&back);
		free(joined);
	}
	aliases_list_release(&l);
	return 0;
}
