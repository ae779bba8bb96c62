/*
 * cmd_aliases - `ulak aliases` (also run as newaliases): build the alias
 * database from aliases(5) files, or query it, as postalias(1) and
 * newaliases(1) do.
 *
 * The files come from main.cf (alias_database) or the command line;
 * every syntax error is the aliases parser's, with file and line.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "aliases.h"
#include "buf.h"
#include "config.h"
#include "dict.h"
#include "mem.h"
#include "str.h"
#include "ulak.h"

#define ALIASES_FOUND 0
#define ALIASES_NOT_FOUND 1
#define ALIASES_TROUBLE 2

/* Build the table SPEC ("hash:/path" or a bare path). */
static int
aliases_build_one(const char *spec)
{
	const char *path = spec, *error;
	int rc;

	if (ulak_is_table_spec(spec)) {
		if (!str_has_prefix(spec, "hash:")) {
			ulak_err("aliases", "%s: only hash: alias databases can "
			    "be built", spec);
			return -1;
		}
		path = spec + 5;
	}
	ulak_quiet_begin();
	rc = aliases_build(path, &error);
	(void)ulak_quiet_end("aliases");
	if (rc < 0) {
		ulak_err("aliases", "fatal: %s", error);
		return -1;
	}
	return 0;
}

/* The alias_database list of main.cf into OUT; -1 when unreadable. */
static int
aliases_from_config(const char *name, struct strlist *out)
{
	struct config *cfg = ulak_config_load("aliases", false);
	struct buf v;
	const char *error;
	int rc = 0;

	if (cfg == NULL)
		return -1;
	buf_init(&v, 0);
	if (ulak_config_value(cfg, name, &v, &error) < 0) {
		ulak_err("aliases", "fatal: %s: %s", name, error);
		rc = -1;
	} else {
		config_list_split(v.data, out);
		if (out->n == 0) {
			ulak_err("aliases", "%s is empty in %s/main.cf: nothing "
			    "to do", name, ulak_config_dir());
			rc = -1;
		}
	}
	buf_release(&v);
	config_free(cfg);
	return rc;
}

static int
aliases_query(const char *key, int n_files, char **files)
{
	struct strlist specs;
	struct buf list;
	const char *value, *error;
	struct maps *m;
	int rc;

	strlist_init(&specs);
	buf_init(&list, 0);
	if (n_files == 0) {
		if (aliases_from_config("alias_maps", &specs) < 0) {
			rc = ALIASES_TROUBLE;
			goto out;
		}
	} else {
		for (int i = 0; i < n_files; i++)
			strlist_add(&specs, files[i]);
	}
	for (size_t i = 0; i < specs.n; i++) {
		if (i > 0)
			(void)buf_append_str(&list, ", ");
		if (!ulak_is_table_spec(specs.v[i]))
			(void)buf_append_str(&list, "hash:");
		(void)buf_append_str(&list, specs.v[i]);
	}
	ulak_quiet_begin();
	m = maps_open(list.data, &error);
	(void)ulak_quiet_end("aliases");
	if (m == NULL) {
		ulak_err("aliases", "fatal: %s", error);
		rc = ALIASES_TROUBLE;
		goto out;
	}
	ulak_quiet_begin();
	rc = maps_lookup(m, key, &value, &error);
	(void)ulak_quiet_end("aliases");
	if (rc < 0) {
		ulak_err("aliases", "lookup of \"%s\" failed: %s", key, error);
		rc = ALIASES_TROUBLE;
	} else if (rc == 0) {
		rc = ALIASES_NOT_FOUND;
	} else {
		printf("%s\n", value);
		rc = ALIASES_FOUND;
	}
	maps_close(m);
out:
	strlist_release(&specs);
	buf_release(&list);
	return rc;
}

static int
aliases_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct strlist specs;
	const char *key = NULL;
	int c, status = ULAK_EXIT_OK;

	while ((c = getopt_long(argc, argv, ":c:q:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'q':
			key = optarg;
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_aliases, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_aliases,
			    "option %s needs an argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_aliases,
			    "unknown option %s", argv[optind - 1]);
		}
	}
	if (key != NULL) {
		status = aliases_query(key, argc - optind, argv + optind);
		fflush(stdout);
		return status;
	}
	strlist_init(&specs);
	if (optind == argc) {
		if (aliases_from_config("alias_database", &specs) < 0)
			status = ULAK_EXIT_FAIL;
	} else {
		for (int i = optind; i < argc; i++)
			strlist_add(&specs, argv[i]);
	}
	for (size_t i = 0; i < specs.n; i++)
		if (aliases_build_one(specs.v[i]) < 0)
			status = ULAK_EXIT_FAIL;
	strlist_release(&specs);
	return status;
}

const struct ulak_cmd ulak_cmd_aliases = {
	.name = "aliases",
	.summary = "build or query the alias database (as newaliases)",
	.synopsis = "ulak aliases [-c CONFIG_DIR] [[hash:]FILE...]\n"
	    "ulak aliases [-c CONFIG_DIR] -q NAME [[TYPE:]FILE...]\n"
	    "newaliases",
	.help =
	    "DESCRIPTION\n"
	    "    Without -q, builds each aliases(5) FILE into FILE.db, the\n"
	    "    LMDB file that alias_maps = hash:FILE reads.  Without FILE,\n"
	    "    builds every table main.cf names in alias_database.  The new\n"
	    "    file replaces the old one atomically; on a syntax error the\n"
	    "    old one is kept and the error names the file and line.  A\n"
	    "    name given twice is a warning and its first entry wins.\n"
	    "\n"
	    "    An aliases file has lines \"name: address, address, ...\";\n"
	    "    an address may also be \"|command\", /file/name or\n"
	    "    :include:/path/name.  # starts a comment line; a line that\n"
	    "    starts with white space continues the previous one.  Names\n"
	    "    are folded to lower case.\n"
	    "\n"
	    "    With -q NAME, prints the value NAME has in the FILEs given\n"
	    "    (searched in order; a bare FILE means hash:FILE), or in the\n"
	    "    tables of alias_maps when none is given.\n"
	    "\n"
	    "    Called as newaliases, ulak runs this command.\n"
	    "\n"
	    "OPTIONS\n"
	    "    -c CONFIG_DIR\n"
	    "        The instance folder (default $ULAK_CONFIG_DIR, else\n"
	    "        " ULAK_DEFAULT_CONFIG_DIR ").\n"
	    "    -q NAME\n"
	    "        Query instead of build.\n"
	    "    -h, --help\n"
	    "        Print this page and exit.\n"
	    "\n"
	    "EXAMPLES\n"
	    "    ulak aliases -c ./run\n"
	    "    ulak aliases -c ./run -q postmaster\n"
	    "    ulak aliases /etc/ulak/aliases\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    Building: 0 when every table was built, 1 otherwise.\n"
	    "    Querying: 0 when NAME was found, 1 when not, 2 when a table\n"
	    "    could not be opened or read.  2 on a usage error.\n"
	    "\n"
	    "FILES\n"
	    "    CONFIG_DIR/aliases, CONFIG_DIR/aliases.db (as ulak init\n"
	    "    writes them)\n"
	    "\n"
	    "SEE ALSO\n"
	    "    ulak map, ulak check\n",
	.run = aliases_run,
};
