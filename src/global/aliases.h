/*
 * aliases - the aliases(5) file: parsing it, building its LMDB file, and
 * splitting a stored alias value back into its items.
 *
 *   # comment
 *   postmaster: root
 *   root:       alice, bob,
 *               carol                      (continuation: leading blank)
 *   "a b":      x                          (quoted name)
 *   log:        "|/usr/bin/logger -t mail, x", "/var/log/mail copy"
 *   staff:      :include:/etc/mail/staff
 *
 * A logical line (mapsrc.h rules) is "name: value, value, ...".  The name
 * is the text before the first ':' (or a "quoted string" before it),
 * folded to lower case.  Values are separated by commas outside double
 * quotes; an item that is one whole "quoted string" is unquoted (backslash
 * quotes the next character), any other item is kept as written (so
 * "john doe"@example.com stays an address).  Empty items are skipped.
 *
 * Errors, as "FILE, line N: text": no ':', an empty name, a name over 511
 * bytes, an unterminated quote, no value at all, ":include:" without a
 * file.  A name seen twice is a warning; the first entry is kept (as
 * Postfix's postalias does).
 */
#ifndef ULAK_ALIASES_H
#define ULAK_ALIASES_H

#include <stddef.h>

#include "str.h"

struct mapsrc;

struct aliases_entry {
	char *name;		/* lower case, unquoted */
	struct strlist items;	/* unquoted items, in order */
	unsigned long lineno;	/* where the entry starts */
};

struct aliases_list {
	struct aliases_entry *v;
	size_t n, cap;
};

/*
 * Called for each entry: NAME and ITEMS are only valid during the call.
 * Return 0 to go on, -1 with *error_r to stop the parse with that error.
 */
typedef int aliases_entry_fn(void *ctx, const char *name,
    const struct strlist *items, unsigned long lineno, const char **error_r);

/*
 * Parse every entry of SRC, calling FN for each (duplicates included: FN
 * decides).  Returns 0, or -1 with *error_r at the first error.
 */
int aliases_parse(struct mapsrc *src, aliases_entry_fn *fn, void *ctx,
    const char **error_r);

void aliases_list_init(struct aliases_list *l);
void aliases_list_release(struct aliases_list *l);
/*
 * Parse TEXT[0..LEN) (NAME names it in messages) / the file PATH into OUT
 * (appending), warning about and dropping later duplicates of a name.
 * Returns 0, or -1 with *error_r (OUT then holds the entries before the
 * error).  The text variant is the fuzzer's entry point.
 */
int aliases_parse_text(const char *name, const char *text, size_t len,
    struct aliases_list *out, const char **error_r);
int aliases_parse_file(const char *path, struct aliases_list *out,
    const char **error_r);

/*
 * Build PATH.db from the aliases file PATH: the same LMDB layout as
 * hash:PATH (so alias_maps = hash:PATH finds it), key = name, value =
 * aliases_join(items).  Atomic: readers see the old or the new file.  The
 * file gets PATH's mode (and owner, when run as root).  Returns 0, or -1
 * with *error_r leaving the old PATH.db in place.
 */
int aliases_build(const char *path, const char **error_r);

/*
 * The stored form of ITEMS: the items joined with ", ", each written as it
 * is when aliases_split_value would give it back unchanged, else as a
 * "quoted string".  Malloc'ed; the caller frees.
 */
char *aliases_join(const struct strlist *items);
/*
 * Split an alias value (a stored one, or any right-hand side) into its
 * items as the parser does, appending them to ITEMS.  Returns the number
 * of items added, or -1 with *error_r on an unterminated quote or a
 * ":include:" without a file.
 */
int aliases_split_value(const char *value, struct strlist *items,
    const char **error_r);

#endif
