/*
 * dict - lookup tables behind one small API, written "type:name" as in
 * Postfix:
 *
 *   hash:/path, lmdb:/path  LMDB files built from the text file /path by
 *                           `ulak map` (/path.db for hash:, /path.lmdb for
 *                           lmdb:, both LMDB)
 *   texthash:/path          the same text format, read into memory
 *   inline:{ k=v, k2=v2 }   a table in the parameter value itself
 *   static:value            every key maps to value
 *   regexp:/path, pcre:/path  "/pattern/flags result" lines (PCRE2 both),
 *                           $1.. substitution; "!/pattern/" negation;
 *                           if/endif blocks
 *   unix:passwd.byname      the system's users (getpwnam)
 *   passwd-file:/path       a passwd(5)-format file (users without system
 *                           accounts); the value is the whole line
 *
 * The text source format of hash/lmdb/texthash is Postfix's (postmap(1)):
 * "key<white space>value", '#' comments, empty lines ignored, a line
 * starting with white space continues the previous one.
 *
 * Keys fold to lower case where Postfix folds them (hash, lmdb, texthash,
 * inline, unix, passwd-file); regexp/pcre match case-insensitively unless
 * the "i" flag turns that off, as Postfix does.
 */
#ifndef ULAK_DICT_H
#define ULAK_DICT_H

#include <stdbool.h>

struct strlist;
struct dict;

/*
 * Open SPEC ("type:name").  Returns NULL with *error_r on an unknown type,
 * a missing or unreadable file, or a syntax error ("FILE, line N: ...").
 */
struct dict *dict_open(const char *spec, const char **error_r);
/*
 * Look KEY up.  Returns 1 and sets *value_r (owned by D, valid until the
 * next lookup or close), 0 when not found, -1 with *error_r on a failure
 * that should defer (I/O error, corrupt file).
 */
int dict_lookup(struct dict *d, const char *key, const char **value_r,
    const char **error_r);
void dict_close(struct dict *d);
/* The "type:name" this table was opened with. */
const char *dict_spec(const struct dict *d);
/*
 * For hash:/lmdb:: true (and *error_r explains) when the text source is
 * newer than the built file, i.e. `ulak map` was forgotten.  False for
 * every other type.
 */
bool dict_is_stale(const struct dict *d, const char **error_r);

/*
 * Build the LMDB file for "hash:/path" or "lmdb:/path" from its text
 * source, atomically (a reader sees the old or the new table, never half).
 * Syntax errors fail with "FILE, line N: ..." and leave the old file.
 */
int dict_build(const char *spec, const char **error_r);

/*
 * A list of tables searched in order, as a Postfix parameter such as
 * alias_maps names them ("hash:/etc/aliases, texthash:/x").
 */
struct maps;
struct maps *maps_open(const char *list, const char **error_r);
/* As dict_lookup, over each table in order; the first hit wins. */
int maps_lookup(struct maps *m, const char *key, const char **value_r,
    const char **error_r);
void maps_close(struct maps *m);

#endif
