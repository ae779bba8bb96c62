/*
 * libFuzzer target for the mail store's per-folder files, which sit in
 * the user's Maildir where the user (or any program) may write them: the
 * UID list (ulak-uidlist) and the keyword table (ulak-keywords).  The
 * input is written as both files in a scratch folder and read back.
 * Invariants: a list that loads has UIDs strictly ascending and below
 * the next UID, and bases without '/' or ':'; keywords are IMAP atoms.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mailstore_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void
put(const char *name, const uint8_t *data, size_t size)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL || (size > 0 && fwrite(data, size, 1, f) != 1) ||
	    fclose(f) != 0)
		abort();
}

static void
cleanup(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, MS_UIDLIST);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, MS_KEYWORDS);
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *names[MAILSTORE_KEYWORDS_MAX] = { NULL };
	struct ms_idx x;
	const char *error;
	bool damaged;

	if (dir[0] == '\0') {
		log_init("fuzz", "/dev/null");
		snprintf(dir, sizeof(dir), "/tmp/fuzz_mailstore.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(cleanup);
	}
	put(MS_UIDLIST, data, size);
	put(MS_KEYWORDS, data, size);
	ms_idx_init(&x);
	if (ms_idx_load(&x, dir, &damaged, &error) == 1) {
		for (size_t i = 0; i < x.n; i++) {
			if (x.e[i].uid >= x.nextuid ||
			    (i > 0 && x.e[i].uid <= x.e[i - 1].uid) ||
			    strchr(x.e[i].base, '/') != NULL ||
			    strchr(x.e[i].base, ':') != NULL ||
			    ms_idx_find(&x, x.e[i].base,
			    strlen(x.e[i].base)) != (long)i)
				abort();
		}
	}
	ms_idx_release(&x);
	if (ms_kw_load(dir, names, &error) == 0)
		for (int k = 0; k < MAILSTORE_KEYWORDS_MAX; k++)
			if (names[k] != NULL && !ms_kw_name_ok(names[k]))
				abort();
	ms_kw_release(names);
	return 0;
}
