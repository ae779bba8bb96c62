/*
 * libFuzzer target: main.cf text (config_load_text) on arbitrary bytes,
 * then expansion and checking of every parameter.  Invariants: a loaded
 * file reloads to the same raw values when written back as
 * "name = value" lines; config_check counts exactly its non-warning
 * problems; expansion results stay within 1 MiB.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "str.h"

/*
 * meson.build compiles only this file with -fsanitize=fuzzer, so the
 * library code would give libFuzzer no coverage feedback; including the
 * modules under test here instruments them (their objects in the static
 * library are then never pulled in).
 */
#include "../../src/global/config.c"
#include "../../src/global/config_params.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_roundtrip(struct config *cfg, const struct strlist *names)
{
	struct config *again = config_new("/nonexistent");
	struct buf text;
	const char *error;

	buf_init(&text, 0);
	for (size_t i = 0; i < names->n; i++)
		buf_printf(&text, "%s = %s\n", names->v[i],
		    config_raw(cfg, names->v[i]));
	if (config_load_text(again, text.data, text.len, "again.cf",
	    &error) < 0)
		__builtin_trap();
	for (size_t i = 0; i < names->n; i++)
		if (strcmp(config_raw(cfg, names->v[i]),
		    config_raw(again, names->v[i])) != 0)
			__builtin_trap();
	buf_release(&text);
	config_free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = config_new("/nonexistent");
	struct strlist names, problems, items;
	const struct config_param_def *defs;
	const char *error = NULL;
	size_t ndefs;
	int errors, counted = 0;

	static bool log_done;

	if (!log_done) {
		log_init("fuzz", "/dev/null");
		log_done = true;
	}
	if (config_load_text(cfg, (const char *)data, size, "fuzz.cf",
	    &error) < 0) {
		if (error == NULL || strncmp(error, "fuzz.cf, line ", 14) != 0)
			__builtin_trap();
		config_free(cfg);
		return 0;
	}
	strlist_init(&names);
	config_set_names(cfg, &names);
	for (size_t i = 0; i < names.n; i++) {
		const char *raw = config_raw(cfg, names.v[i]), *file;
		struct buf out;
		int line;

		if (raw == NULL || !config_is_set(cfg, names.v[i]))
			__builtin_trap();
		config_origin(cfg, names.v[i], &file, &line);
		if (file == NULL || line <= 0)
			__builtin_trap();
		buf_init(&out, 0);
		if (config_expand(cfg, raw, &out, &error) == 0) {
			if (out.len > 1024 * 1024)
				__builtin_trap();
			strlist_init(&items);
			config_list_split(out.data, &items);
			for (size_t k = 0; k < items.n; k++)
				if (items.v[k][0] == '\0')
					__builtin_trap();
			strlist_release(&items);
		} else if (error == NULL)
			__builtin_trap();
		buf_release(&out);
	}
	check_roundtrip(cfg, &names);
	strlist_init(&problems);
	errors = config_check(cfg, &problems);
	for (size_t i = 0; i < problems.n; i++)
		if (strncmp(problems.v[i], "warning: ", 9) != 0)
			counted++;
	if (errors != counted)
		__builtin_trap();
	/* Typed access is safe for whatever config_check accepted. */
	if (errors == 0) {
		defs = config_param_defs(&ndefs);
		for (size_t i = 0; i < ndefs; i++) {
			switch (defs[i].type) {
			case CONFIG_TYPE_INT:
				(void)config_int(cfg, defs[i].name);
				break;
			case CONFIG_TYPE_BOOL:
				(void)config_bool(cfg, defs[i].name);
				break;
			case CONFIG_TYPE_TIME:
				(void)config_time(cfg, defs[i].name);
				break;
			case CONFIG_TYPE_SIZE:
				(void)config_size(cfg, defs[i].name);
				break;
			case CONFIG_TYPE_LIST:
				strlist_init(&items);
				config_list(cfg, defs[i].name, &items);
				strlist_release(&items);
				break;
			case CONFIG_TYPE_STR:
				(void)config_str(cfg, defs[i].name);
				break;
			}
		}
	}
	strlist_release(&problems);
	strlist_release(&names);
	config_free(cfg);
	return 0;
}
