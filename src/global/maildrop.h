/*
 * maildrop - the envelope of a maildrop file (docs/queue-format.md,
 * "Maildrop files"): written by `ulak sendmail`, read by pickup.
 *
 * A maildrop file is written by any local user, so pickup trusts nothing
 * in it: the reader checks every attribute and refuses anything unknown,
 * repeated or malformed.
 */
#ifndef ULAK_MAILDROP_H
#define ULAK_MAILDROP_H

#include <stddef.h>
#include <stdint.h>

#include "attr.h"

/* The first line of every maildrop file. */
#define MAILDROP_MAGIC "ulak-maildrop 1\n"
/* The largest envelope pickup reads. */
#define MAILDROP_ENVELOPE_MAX (16u * 1024 * 1024)

/* The parsed envelope of a maildrop file; values point into attrs. */
struct maildrop_env {
	struct attr_list attrs;
	const char *sender, *full_name, *ret, *envid, *notify;
	size_t n_rcpts;
	uint64_t content_offset;	/* where the message starts */
};

/*
 * Read and check the envelope of the maildrop file open on FD (read from
 * its current offset).  ENV->attrs must have been initialised with
 * attr_list_init (the caller releases it).  Returns 0, or -1 with
 * *error_r when it is not a valid maildrop file.  Never exits.
 */
int maildrop_read_envelope(int fd, struct maildrop_env *env,
    const char **error_r);

#endif
