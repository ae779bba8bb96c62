/*
 * libFuzzer target: master.cf text (mastercf_parse) on arbitrary bytes.
 * Invariants: errors name the file and line; every service is found
 * again by name and type; inet services have a port, others none;
 * override names are valid parameter names; -o values check without
 * crashing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "mastercf.h"

/*
 * meson.build compiles only this file with -fsanitize=fuzzer, so the
 * library code would give libFuzzer no coverage feedback; including the
 * modules under test here instruments them (their objects in the static
 * library are then never pulled in).
 */
#include "../../src/global/config.c"
#include "../../src/global/config_params.c"
#include "../../src/global/mastercf.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config *cfg;
	const char *error = NULL;
	struct mastercf *m;

	static bool log_done;

	if (!log_done) {
		log_init("fuzz", "/dev/null");
		log_done = true;
	}
	if (cfg == NULL)
		cfg = config_new("/nonexistent");
	m = mastercf_parse((const char *)data, size, "fuzz.cf", &error);
	if (m == NULL) {
		if (error == NULL || strncmp(error, "fuzz.cf, line ", 14) != 0)
			__builtin_trap();
		return 0;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct mastercf_service *s = &m->services[i];

		if (mastercf_find(m, s->name, s->type) != s || s->line <= 0)
			__builtin_trap();
		if (mastercf_type_name(s->type) == NULL || s->command[0] == '\0')
			__builtin_trap();
		if ((s->type == MASTERCF_INET) != (s->port != NULL))
			__builtin_trap();
		if (s->port != NULL && s->port[0] == '\0')
			__builtin_trap();
		if (s->type == MASTERCF_INET && s->private_service)
			__builtin_trap();
		for (size_t k = 0; k < s->n_overrides; k++) {
			const struct mastercf_override *o = &s->overrides[k];

			if (!config_name_valid(o->name) || o->line < s->line)
				__builtin_trap();
			if (mastercf_override(s, o->name) == NULL)
				__builtin_trap();
			(void)config_check_value(cfg, o->name, o->value,
			    &error);
		}
	}
	mastercf_free(m);
	return 0;
}
