/*
 * dict_regexp - the rules of regexp: and pcre: tables (regexp_table(5),
 * pcre_table(5)), both compiled with PCRE2:
 *
 *   /pattern/flags result      first matching rule wins
 *   !/pattern/flags result     matches when the pattern does not
 *   if /pattern/flags          the rules up to the matching endif apply
 *   if !/pattern/flags         only when the key matches (does not match)
 *   endif
 *
 * The delimiter is any character but white space and backslash ("/" is
 * usual); a backslash in the pattern quotes the character after it.
 * Flags: i toggles case-insensitive matching (on by default), m multi-line,
 * s dot-all, x extended (white space and # comments in the pattern); pcre:
 * also takes A (anchored), E (dollar end-only) and U (ungreedy).  "if" and
 * "endif" are recognised in any case.
 *
 * Results may use $1..$9 (any number up to the pattern's groups), ${n} or
 * $(n) for captured text and $$ for a dollar; a group that did not take
 * part substitutes as empty.  A negated rule cannot use $n.  A rule with no
 * result gets an empty one (with a warning, as in Postfix).
 */
#ifndef ULAK_DICT_REGEXP_H
#define ULAK_DICT_REGEXP_H

#include <stdbool.h>

struct buf;
struct mapsrc;

struct dict_regexp;

/*
 * Read and compile every rule of SRC.  PCRE selects the pcre: flag set.
 * NULL with *error_r ("NAME, line N: ...") on any syntax error, bad
 * pattern, out-of-range $n or unbalanced if/endif.
 */
struct dict_regexp *dict_regexp_parse(struct mapsrc *src, bool pcre,
    const char **error_r);
/*
 * Match KEY against the rules: 1 with the expanded result in RESULT, 0
 * when no rule matches.  A pattern whose matching fails (e.g. it hits the
 * backtracking limit) is logged and treated as not matching.  Never -1.
 */
int dict_regexp_lookup(struct dict_regexp *re, const char *key,
    struct buf *result);
/* Number of rules (including if/endif lines). */
unsigned dict_regexp_count(const struct dict_regexp *re);
void dict_regexp_free(struct dict_regexp *re);

#endif
