/*
 * libFuzzer target: the table source reader (mapsrc) on arbitrary bytes,
 * and the tables built from such text in memory: texthash and passwd-file
 * (dict_open_text); inputs starting with '{' are also tried as inline: and
 * static: specs and as a table list (when it names no file).  Checks the reader's promises: a key
 * is non-empty and holds no white space, a value is non-empty and neither
 * starts nor ends with white space, and every key read can be looked up.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dict.h"
#include "log.h"
#include "mapsrc.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int log_ready;

static int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

static void
try_spec(const char *prefix, const char *text)
{
	struct buf spec;
	const char *err, *v;
	struct dict *d;
	struct maps *m;

	buf_init(&spec, 0);
	(void)buf_printf(&spec, "%s%s", prefix, text);
	d = dict_open(spec.data, &err);
	if (d != NULL) {
		(void)dict_lookup(d, "k", &v, &err);
		dict_close(d);
	}
	/* As a list it could name other tables: never files (a FIFO or a
	 * device would hang the fuzzer). */
	m = strchr(spec.data, '/') == NULL ? maps_open(spec.data, &err) : NULL;
	if (m != NULL) {
		(void)maps_lookup(m, "key", &v, &err);
		maps_close(m);
	}
	buf_release(&spec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mapsrc *src;
	struct dict *d;
	const char *err, *v;
	char *key, *value, *first = NULL;
	unsigned long lineno, last = 0;
	int r;

	if (!log_ready) {
		log_init("fuzz", "/dev/null");
		log_ready = 1;
	}
	src = mapsrc_open_text("fuzz", (const char *)data, size);
	while ((r = mapsrc_read_entry(src, &key, &value, &lineno, &err)) > 0) {
		size_t vl = strlen(value);

		if (*key == '\0' || vl == 0 || is_blank((unsigned char)*value) ||
		    is_blank((unsigned char)value[vl - 1]) || lineno <= last)
			__builtin_trap();
		for (const char *p = key; *p; p++)
			if (is_blank((unsigned char)*p))
				__builtin_trap();
		if (first == NULL)
			first = xstrdup(key);
		last = lineno;
	}
	if (r < 0 && strncmp(err, "fuzz", 4) != 0)
		__builtin_trap();
	mapsrc_close(src);

	d = dict_open_text("texthash", "fuzz", (const char *)data, size, &err);
	if (d != NULL) {
		if (first != NULL && dict_lookup(d, first, &v, &err) != 1)
			__builtin_trap();
		dict_close(d);
	} else if (r >= 0) {
		__builtin_trap();	/* the reader accepted it */
	}
	d = dict_open_text("passwd-file", "fuzz", (const char *)data, size,
	    &err);
	dict_close(d);
	free(first);

	if (size > 0 && data[0] == '{' && memchr(data, '\0', size) == NULL) {
		char *text = xmemdup0(data, size);

		try_spec("inline:", text);
		try_spec("static:", text);
		free(text);
	}
	return 0;
}
