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
#include <stddef.h>

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

/*
 * Additions (kept apart so the interface above stays as committed).
 */

/*
 * Open a table of type TYPE ("texthash", "regexp", "pcre" or
 * "passwd-file") from TEXT[0..LEN) instead of a file; NAME stands for the
 * file name in error texts and in dict_spec().  The entry point of the
 * table fuzzers and of tests.  NULL with *error_r as dict_open.
 */
struct dict *dict_open_text(const char *type, const char *name,
    const char *text, size_t len, const char **error_r);
/*
 * Call FN for every entry (hash, lmdb: in key order; texthash, inline,
 * passwd-file: in file order); stop when FN returns non-zero and return
 * that.  -1 with *error_r for a table that cannot be listed (static,
 * regexp, pcre, unix) or on a read error.
 */
int dict_iterate(struct dict *d,
    int (*fn)(void *ctx, const char *key, const char *value), void *ctx,
    const char **error_r);
/*
 * For hash:/lmdb:: true when the built file was replaced (rebuilt by
 * `ulak map`) since D opened it; D keeps reading the old one until it is
 * closed and opened again.  False for every other type.
 */
bool dict_file_changed(const struct dict *d);
/*
 * The file dict_build writes for SPEC ("/path.db" for hash:/path,
 * "/path.lmdb" for lmdb:/path); malloc'ed, caller frees.  NULL with
 * *error_r for other types.
 */
char *dict_build_path(const char *spec, const char **error_r);

/* Number of tables in M, and the I-th of them (owned by M). */
size_t maps_count(const struct maps *m);
struct dict *maps_dict(const struct maps *m, size_t i);

#endif
