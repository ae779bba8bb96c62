/*
 * cmd_map - `ulak map`: build hash:/lmdb: lookup tables from their text
 * source, or query any table, as postmap(1) does.
 *
 * The table files and keys come from the command line; every parse and
 * build error is the dict module's, reported with file and line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "dict.h"
#include "mem.h"
#include "str.h"
#include "ulak.h"

/* Exit statuses of -q, as grep's. */
#define MAP_FOUND 0
#define MAP_NOT_FOUND 1
#define MAP_TROUBLE 2

/*
 * default_database_type of the instance, when its main.cf can be read;
 * else "hash", as postmap's default.  Malloc'ed.
 */
static char *
map_default_type(void)
{
	struct config *cfg = config_new(ulak_config_dir());
	const char *error;
	struct buf v;
	char *type;

	buf_init(&v, 0);
	ulak_quiet_begin();
	if (config_load(cfg, &error) < 0 ||
	    ulak_config_value(cfg, "default_database_type", &v, &error) < 0 ||
	    v.len == 0)
		(void)buf_set_str(&v, "hash");
	ulak_quiet_discard();
	(void)ulak_quiet_end("map");
	type = buf_detach(&v, NULL);
	buf_release(&v);	/* buf_detach leaves V with fresh storage */
	config_free(cfg);
	return type;
}

/* "type:name" for ARG: a bare file name gets default_database_type. */
static char *
map_spec(const char *arg)
{
	static char *def_type;
	struct buf b;
	char *spec;

	if (ulak_is_table_spec(arg))
		return xstrdup(arg);
	if (def_type == NULL)
		def_type = map_default_type();
	buf_init(&b, 0);
	(void)buf_printf(&b, "%s:%s", def_type, arg);
	spec = buf_detach(&b, NULL);
	buf_release(&b);
	return spec;
}

static bool
map_is_built(const char *spec)
{
	return str_has_prefix(spec, "hash:") || str_has_prefix(spec, "lmdb:");
}

/* Build (or, for types without a built form, just check) SPEC. */
static int
map_build(const char *spec)
{
	const char *error;
	struct dict *d;
	int rc;

	ulak_quiet_begin();
	if (map_is_built(spec)) {
		rc = dict_build(spec, &error);
	} else {
		/* Nothing to build; opening it checks the syntax. */
		d = dict_open(spec, &error);
		rc = d != NULL ? 0 : -1;
		if (d != NULL)
			dict_close(d);
	}
	(void)ulak_quiet_end("map");
	if (rc < 0) {
		ulak_err("map", "fatal: %s", error);
		return -1;
	}
	return 0;
}

/* Look KEY up in D, printing the value (with KEY first when SHOW_KEY). */
static int
map_query_one(struct dict *d, const char *key, bool show_key)
{
	const char *value, *error;
	int rc;

	ulak_quiet_begin();
	rc = dict_lookup(d, key, &value, &error);
	(void)ulak_quiet_end("map");
	if (rc < 0) {
		ulak_err("map", "%s: lookup of \"%s\" failed: %s",
		    dict_spec(d), key, error);
		return MAP_TROUBLE;
	}
	if (rc == 0)
		return MAP_NOT_FOUND;
	if (show_key)
		printf("%s\t%s\n", key, value);
	else
		printf("%s\n", value);
	return MAP_FOUND;
}

static int
map_query(const char *key, const char *spec)
{
	const char *error, *why;
	struct dict *d;
	int status = MAP_NOT_FOUND;

	ulak_quiet_begin();
	d = dict_open(spec, &error);
	(void)ulak_quiet_end("map");
	if (d == NULL) {
		ulak_err("map", "fatal: %s", error);
		return MAP_TROUBLE;
	}
	if (dict_is_stale(d, &why))
		ulak_warn("map", "table %s is older than its source: run "
		    "ulak map %s (%s)", spec, spec, why);
	if (strcmp(key, "-") != 0) {
		status = map_query_one(d, key, false);
	} else {
		/* Keys from stdin, one a line; found ones print "key\tvalue". */
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		while ((n = getline(&line, &cap, stdin)) > 0) {
			int rc;

			if (line[n - 1] == '\n')
				line[n - 1] = '\0';
			rc = map_query_one(d, line, true);
			if (rc == MAP_TROUBLE)
				status = MAP_TROUBLE;
			else if (rc == MAP_FOUND && status == MAP_NOT_FOUND)
				status = MAP_FOUND;
		}
		free(line);
	}
	dict_close(d);
	return status;
}

static int
map_show_entry(void *ctx, const char *key, const char *value)
{
	(void)ctx;
	printf("%s\t%s\n", key, value);
	return 0;
}

/* -s: every entry of SPEC as "key<TAB>value". */
static int
map_show(const char *spec)
{
	const char *error, *why;
	struct dict *d;
	int rc;

	ulak_quiet_begin();
	d = dict_open(spec, &error);
	(void)ulak_quiet_end("map");
	if (d == NULL) {
		ulak_err("map", "fatal: %s", error);
		return MAP_TROUBLE;
	}
	if (dict_is_stale(d, &why))
		ulak_warn("map", "table %s is older than its source: run "
		    "ulak map %s (%s)", spec, spec, why);
	ulak_quiet_begin();
	rc = dict_iterate(d, map_show_entry, NULL, &error);
	(void)ulak_quiet_end("map");
	dict_close(d);
	fflush(stdout);
	if (rc < 0) {
		ulak_err("map", "%s", error);
		return MAP_TROUBLE;
	}
	return ULAK_EXIT_OK;
}

static int
map_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL;
	bool show = false;
	int c, status = ULAK_EXIT_OK;

	while ((c = getopt_long(argc, argv, ":c:q:sh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'q':
			key = optarg;
			break;
		case 's':
			show = true;
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_map, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_map,
			    "option %s needs an argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_map, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return ulak_usage(&ulak_cmd_map, "no table named");
	if (key != NULL && show)
		return ulak_usage(&ulak_cmd_map, "-q and -s exclude each other");
	if (show) {
		for (int i = optind; i < argc && status == ULAK_EXIT_OK; i++) {
			char *spec = map_spec(argv[i]);

			status = map_show(spec);
			free(spec);
		}
		return status;
	}
	if (key != NULL) {
		char *spec;

		if (argc - optind != 1)
			return ulak_usage(&ulak_cmd_map, "-q takes exactly "
			    "one table");
		spec = map_spec(argv[optind]);
		status = map_query(key, spec);
		free(spec);
		fflush(stdout);
		return status;
	}
	for (int i = optind; i < argc; i++) {
		char *spec = map_spec(argv[i]);

		if (map_build(spec) < 0)
			status = ULAK_EXIT_FAIL;
		free(spec);
	}
	return status;
}

const struct ulak_cmd ulak_cmd_map = {
	.name = "map",
	.summary = "build or query lookup tables (as postmap)",
	.synopsis = "ulak map [TYPE:]FILE...\n"
	    "ulak map -q KEY [TYPE:]FILE\n"
	    "ulak map -q - [TYPE:]FILE < KEYS\n"
	    "ulak map -s [TYPE:]FILE...",
	.help =
	    "DESCRIPTION\n"
	    "    Without -q, builds each hash: or lmdb: table from its text\n"
	    "    source FILE into FILE.db (hash:) or FILE.lmdb (lmdb:), both\n"
	    "    LMDB files.  The new file replaces the old one atomically: a\n"
	    "    daemon reading the table sees the old or the new contents,\n"
	    "    never a mix.  On a syntax error the old file is kept and the\n"
	    "    error names FILE and the line.  Tables of other types have no\n"
	    "    built form; for them the source is only checked.  A FILE\n"
	    "    without TYPE: gets the instance's default_database_type\n"
	    "    (hash, unless main.cf says otherwise).\n"
	    "\n"
	    "    The text source has one \"key value\" per line (white space\n"
	    "    between key and value); # starts a comment line; a line that\n"
	    "    starts with white space continues the previous one.  Keys are\n"
	    "    folded to lower case.\n"
	    "\n"
	    "    With -q KEY, looks KEY up in the table, which may be of any\n"
	    "    type ulak knows: hash, lmdb, texthash, inline, static, regexp,\n"
	    "    pcre, unix, passwd-file; and prints the value.  With -q -,\n"
	    "    reads keys from stdin, one a line, and prints \"key<TAB>value\"\n"
	    "    for each one found.  A hash:/lmdb: table whose source is newer\n"
	    "    than its built file gets a warning: it needs `ulak map`.\n"
	    "\n"
	    "    With -s, prints every entry of each table as \"key<TAB>value\"\n"
	    "    (hash and lmdb in key order, texthash, inline and\n"
	    "    passwd-file in file order).  regexp, pcre, static and unix\n"
	    "    tables cannot be listed.\n"
	    "\n"
	    "OPTIONS\n"
	    "    -q KEY\n"
	    "        Query instead of build.\n"
	    "    -s  List every entry instead of building.\n"
	    "    -c CONFIG_DIR\n"
	    "        The instance whose default_database_type applies to a\n"
	    "        FILE without TYPE: (tables are named by their own paths).\n"
	    "    -h, --help\n"
	    "        Print this page and exit.\n"
	    "\n"
	    "EXAMPLES\n"
	    "    ulak map hash:/etc/ulak/transport\n"
	    "    ulak map -q example.net hash:/etc/ulak/transport\n"
	    "    ulak map -q 'user@example.test' pcre:/etc/ulak/rewrite.pcre\n"
	    "    ulak map -q demo passwd-file:./run/users\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    Building: 0 when every table was built, 1 when one failed.\n"
	    "    Querying: 0 when the key was found (with -q -, at least one),\n"
	    "    1 when not found, 2 when the table could not be opened or\n"
	    "    read.  Listing: 0, or 2 when a table could not be opened,\n"
	    "    read or listed.  2 on a usage error.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    ulak aliases, ulak check, ulak conf (default_database_type)\n",
	.run = map_run,
};
