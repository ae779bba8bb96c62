/*
 * config - main.cf: parameters, defaults, parsing, $name expansion.
 *
 * Syntax (as Postfix): "name = value" lines, '#' comments on lines of their
 * own, a line starting with white space continues the previous one,
 * $name, ${name} and $(name) expand (also ${name?text} and ${name:text}:
 * text when name is non-empty / empty), "$$" is a literal "$".  Expansion
 * is lazy (at lookup) and detects loops.
 *
 * Every parameter ulak knows is in the compiled-in table (config_params.c)
 * with a type and a default; docs/parameters.md documents each one, and a
 * unit test keeps the two in step.  A name that is not in the table is
 * kept (it may be used as $name elsewhere, as Postfix allows) but a
 * warning names the file and line, unless it is referenced somewhere.
 *
 * Reads only files named by the caller; trusts nothing in them.
 */
#ifndef ULAK_CONFIG_H
#define ULAK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct strlist;

enum config_type {
	CONFIG_TYPE_STR,
	CONFIG_TYPE_INT,	/* unsigned decimal */
	CONFIG_TYPE_BOOL,	/* yes/no */
	CONFIG_TYPE_TIME,	/* number + unit s/m/h/d/w; default unit per param */
	CONFIG_TYPE_SIZE,	/* bytes */
	CONFIG_TYPE_LIST,	/* separated by comma and/or white space */
};

struct config_param_def {
	const char *name;
	enum config_type type;
	const char *def;	/* default value, unexpanded, may hold $name */
	char time_unit;		/* CONFIG_TYPE_TIME: unit when none is given */
	const char *doc;	/* one-line meaning, as in docs/parameters.md */
};

/* The compiled-in table, sorted by name; *n_r gets its length. */
const struct config_param_def *config_param_defs(size_t *n_r);
/* The definition of NAME, or NULL when ulak does not know it. */
const struct config_param_def *config_param_find(const char *name);

struct config;

/*
 * A configuration holding only the defaults, with config_directory set to
 * CONFIG_DIR (not read yet).  Never NULL.
 */
struct config *config_new(const char *config_dir);
void config_free(struct config *cfg);

/*
 * Read CONFIG_DIR/main.cf into CFG.  A missing main.cf is an error.
 * Unknown names give a warning (log_warning, "FILE, line N: ...").
 * Syntax errors are errors: -1 with *error_r = "FILE, line N: text".
 */
int config_load(struct config *cfg, const char **error_r);
/* Same, from an explicit file name (used by config_load and tests). */
int config_load_file(struct config *cfg, const char *path, const char **error_r);

/* Set NAME to VALUE (unexpanded) above whatever main.cf says (-o name=value). */
void config_set(struct config *cfg, const char *name, const char *value);
/* Unexpanded value: set value, else the default; NULL when NAME is unknown and unset. */
const char *config_raw(const struct config *cfg, const char *name);
/* True when main.cf or config_set gave NAME a value. */
bool config_is_set(const struct config *cfg, const char *name);
/* File and line where NAME was set (file NULL when not from a file). */
void config_origin(const struct config *cfg, const char *name,
    const char **file_r, int *line_r);
/* Every name that main.cf or config_set gave a value, in file order. */
void config_set_names(const struct config *cfg, struct strlist *out);

/*
 * Expand $name references in TEXT into OUT (appended).  -1 with *error_r
 * on a loop, an unterminated ${, or a result larger than 1 MiB.
 * Unknown names expand to "".
 */
int config_expand(struct config *cfg, const char *text, struct buf *out,
    const char **error_r);

/*
 * Typed accessors: the expanded value of NAME converted to the type.
 * NAME must be in the table with that type, else log_panic (our bug).
 * An invalid value is fatal (log_fatal with file and line), as in Postfix;
 * config_check reports such problems before a daemon starts.
 * config_str's result is owned by CFG and valid until the next
 * config_load/config_set/config_free.
 */
const char *config_str(struct config *cfg, const char *name);
uint64_t config_int(struct config *cfg, const char *name);
bool config_bool(struct config *cfg, const char *name);
uint64_t config_time(struct config *cfg, const char *name);	/* seconds */
uint64_t config_size(struct config *cfg, const char *name);	/* bytes */
/* Split the expanded value at commas and white space; appends to OUT. */
void config_list(struct config *cfg, const char *name, struct strlist *out);

/*
 * Check every set value: its type, that its expansion works.  Appends one
 * "FILE, line N: problem" text per problem to PROBLEMS (warnings about
 * unknown names included, prefixed "warning: ").  Returns the number of
 * errors (not counting warnings).
 */
int config_check(struct config *cfg, struct strlist *problems);

/*
 * Edit the main.cf at PATH: set NAME = VALUE where it is already set
 * (replacing the whole logical line, continuation lines included) or
 * append it at the end; every other line, comment and the order are kept.
 * Written durably (file_write_atomic).  A missing file is created.
 */
int config_edit(const char *path, const char *name, const char *value,
    const char **error_r);

/*
 * Additions (kept apart so the interface above stays as committed).
 */

/*
 * A table default that code computes at run time starts with this marker;
 * the rest of the text describes it for people (docs/parameters.md).
 * Computed are config_directory (CFG's folder), myhostname (the machine's
 * fully-qualified name; a name without a dot gets ".$mydomain" when
 * mydomain is set, else ".localdomain") and mydomain ($myhostname minus its
 * first label, "localdomain" when that leaves nothing).  config_raw(),
 * config_default() and expansion give the computed value.
 */
#define CONFIG_DEF_COMPUTED "(computed) "

/*
 * Expansion also takes Postfix 3's braced forms: ${name?{text}},
 * ${name:{text}} and ${name?{text1}:{text2}}.
 */

/* True when DEF's default is computed at run time (CONFIG_DEF_COMPUTED). */
bool config_param_is_computed(const struct config_param_def *def);

/* The folder given to config_new (owned by CFG). */
const char *config_dir(const struct config *cfg);

/*
 * The default of NAME with a computed default resolved, unexpanded
 * otherwise: what `ulak conf -d` prints.  NULL when NAME is not in the
 * table.  Owned by CFG, valid until the next config_load/config_set/
 * config_free.
 */
const char *config_default(struct config *cfg, const char *name);

/*
 * Like config_load_file, from TEXT[0..LEN) (a NUL byte in it is an error);
 * FILENAME names it in messages and origins.  On error CFG is unchanged.
 * The entry point of the main.cf fuzzer.
 */
int config_load_text(struct config *cfg, const char *text, size_t len,
    const char *filename, const char **error_r);

/*
 * Split S as Postfix splits list values: at commas and white space, but
 * never inside {...} (so "inline:{ a=b, c=d }" stays one item).  Appends
 * copies to OUT.
 */
void config_list_split(const char *s, struct strlist *out);

/*
 * Check VALUE as a value of NAME (master.cf -o overrides): it must expand
 * in CFG and, when NAME is in the table, convert to NAME's type.  -1 with
 * *error_r otherwise.  CFG's values are not changed.
 */
int config_check_value(struct config *cfg, const char *name,
    const char *value, const char **error_r);

/* True when S is a valid parameter name: letters, digits and '_' only. */
bool config_name_valid(const char *s);

#endif
