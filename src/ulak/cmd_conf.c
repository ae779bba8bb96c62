/*
 * cmd_conf - `ulak conf`: show main.cf parameters (all, defaults, changed
 * ones, named ones, raw or expanded) and edit main.cf (-e), as postconf(1)
 * does.
 *
 * Values to store come from the command line; config_edit writes them
 * durably and keeps every other line of main.cf.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "mem.h"
#include "str.h"
#include "ulak.h"

#define CONF_DEFAULTS 0x01	/* -d */
#define CONF_CHANGED 0x02	/* -n */
#define CONF_EXPAND 0x04	/* -x */
#define CONF_VALUES 0x08	/* -h */

/* Print one parameter as postconf does ("name =" when empty). */
static void
conf_print(const char *name, const char *value, int mode)
{
	if (mode & CONF_VALUES)
		printf("%s\n", value);
	else if (*value == '\0')
		printf("%s =\n", name);
	else
		printf("%s = %s\n", name, value);
}

/*
 * Show NAME from CFG (with -d the default).  Returns 0, or 1 when NAME is
 * unknown (a warning has been printed), -1 on an expansion error.
 */
static int
conf_show(struct config *cfg, const char *name, int mode)
{
	const char *raw, *error;
	struct buf out;

	if (mode & CONF_DEFAULTS) {
		raw = config_default(cfg, name);
	} else {
		raw = config_raw(cfg, name);
	}
	if (raw == NULL) {
		ulak_warn("conf", "%s: unknown parameter", name);
		return 1;
	}
	if (!(mode & CONF_EXPAND)) {
		conf_print(name, raw, mode);
		return 0;
	}
	buf_init(&out, 0);
	if (config_expand(cfg, raw, &out, &error) < 0) {
		ulak_err("conf", "%s: %s", name, error);
		buf_release(&out);
		return -1;
	}
	conf_print(name, out.data, mode);
	buf_release(&out);
	return 0;
}

static int
conf_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* `-e name=value...`: edit main.cf. */
static int
conf_edit(int argc, char **argv)
{
	struct buf path;
	int status = ULAK_EXIT_OK;

	if (argc == 0)
		return ulak_usage(&ulak_cmd_conf, "-e needs name=value "
		    "arguments");
	buf_init(&path, 0);
	(void)buf_printf(&path, "%s/main.cf", ulak_config_dir());
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		const char *error;
		char *name, *value, *n, *v;

		if (eq == NULL || eq == argv[i]) {
			ulak_err("conf", "bad argument \"%s\": expected "
			    "name=value", argv[i]);
			status = ULAK_EXIT_FAIL;
			continue;
		}
		name = xstrndup(argv[i], (size_t)(eq - argv[i]));
		value = xstrdup(eq + 1);
		n = str_trim(name);
		v = str_trim(value);
		if (!config_name_valid(n) ||
		    strpbrk(v, "\r\n") != NULL) {
			ulak_err("conf", "bad argument \"%s\": expected "
			    "name=value on one line", argv[i]);
			status = ULAK_EXIT_FAIL;
		} else {
			if (config_param_find(n) == NULL)
				ulak_warn("conf", "%s: unknown parameter "
				    "(written anyway)", n);
			if (config_edit(path.data, n, v, &error) < 0) {
				ulak_err("conf", "fatal: %s", error);
				status = ULAK_EXIT_FAIL;
			}
		}
		free(name);
		free(value);
	}
	buf_release(&path);
	return status;
}

static int
conf_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg;
	bool edit = false;
	int mode = 0, c, status = ULAK_EXIT_OK;

	while ((c = getopt_long(argc, argv, ":c:dehnx", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'd':
			mode |= CONF_DEFAULTS;
			break;
		case 'e':
			edit = true;
			break;
		case 'h':
			mode |= CONF_VALUES;
			break;
		case 'n':
			mode |= CONF_CHANGED;
			break;
		case 'x':
			mode |= CONF_EXPAND;
			break;
		case 'H':
			ulak_help_print(&ulak_cmd_conf, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_conf,
			    "option %s needs an argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_conf, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (edit) {
		if (mode != 0)
			return ulak_usage(&ulak_cmd_conf, "-e cannot be "
			    "combined with -d, -h, -n or -x");
		return conf_edit(argc - optind, argv + optind);
	}
	if ((mode & CONF_DEFAULTS) && (mode & CONF_CHANGED))
		return ulak_usage(&ulak_cmd_conf, "-d and -n exclude each "
		    "other");

	if (mode & CONF_DEFAULTS) {
		/* Defaults only: main.cf is not read (it may not exist). */
		cfg = config_new(ulak_config_dir());
	} else {
		cfg = ulak_config_load("conf", false);
		if (cfg == NULL)
			return ULAK_EXIT_FAIL;
	}

	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			if (conf_show(cfg, argv[i], mode) < 0)
				status = ULAK_EXIT_FAIL;
	} else if (mode & CONF_CHANGED) {
		struct strlist names;

		strlist_init(&names);
		config_set_names(cfg, &names);
		qsort(names.v, names.n, sizeof(names.v[0]), conf_cmp);
		for (size_t i = 0; i < names.n; i++)
			if (conf_show(cfg, names.v[i], mode) < 0)
				status = ULAK_EXIT_FAIL;
		strlist_release(&names);
	} else {
		struct strlist names;
		const struct config_param_def *defs;
		size_t n;

		/* Every known parameter, and names main.cf adds. */
		strlist_init(&names);
		defs = config_param_defs(&n);
		for (size_t i = 0; i < n; i++)
			strlist_add(&names, defs[i].name);
		if (!(mode & CONF_DEFAULTS)) {
			struct strlist set;

			strlist_init(&set);
			config_set_names(cfg, &set);
			for (size_t i = 0; i < set.n; i++)
				if (config_param_find(set.v[i]) == NULL)
					strlist_add(&names, set.v[i]);
			strlist_release(&set);
		}
		qsort(names.v, names.n, sizeof(names.v[0]), conf_cmp);
		for (size_t i = 0; i < names.n; i++)
			if (conf_show(cfg, names.v[i], mode) < 0)
				status = ULAK_EXIT_FAIL;
		strlist_release(&names);
	}
	fflush(stdout);
	config_free(cfg);
	return status;
}

const struct ulak_cmd ulak_cmd_conf = {
	.name = "conf",
	.summary = "show or change main.cf parameters (as postconf)",
	.synopsis = "ulak conf [-c CONFIG_DIR] [-d | -n] [-h] [-x] [NAME...]\n"
	    "ulak conf [-c CONFIG_DIR] -e NAME=VALUE...",
	.help =
	    "DESCRIPTION\n"
	    "    Without -e, prints main.cf parameters one per line as\n"
	    "    \"name = value\" (\"name =\" when the value is empty), sorted by\n"
	    "    name: every parameter ulak knows, with its compiled-in default\n"
	    "    unless main.cf sets it, plus the names main.cf adds of its own.\n"
	    "    Values are shown as written ($name references unexpanded)\n"
	    "    unless -x is given.  NAME arguments limit the output to those\n"
	    "    parameters, in the order given.\n"
	    "\n"
	    "    With -e, sets each NAME to VALUE in main.cf: where NAME is\n"
	    "    already set its whole (possibly continued) line is replaced,\n"
	    "    else the setting is appended; every comment, every other line\n"
	    "    and their order stay as they were.  The file is replaced\n"
	    "    atomically.  Quote an argument that holds white space or $.\n"
	    "    A running system sees the change after `ulak reload`.\n"
	    "\n"
	    "    main.cf problems (unknown names, syntax errors) are reported\n"
	    "    on stderr with the file and line.\n"
	    "\n"
	    "OPTIONS\n"
	    "    -c CONFIG_DIR\n"
	    "        The instance folder (default $ULAK_CONFIG_DIR, else\n"
	    "        " ULAK_DEFAULT_CONFIG_DIR ").\n"
	    "    -d  Print the compiled-in defaults; main.cf is not read.\n"
	    "    -n  Print only the parameters main.cf sets.\n"
	    "    -h  Print values only, without \"name = \".\n"
	    "    -x  Expand $name, ${name}, ${name?text} and ${name:text}\n"
	    "        references in the values shown.\n"
	    "    -e  Edit main.cf: each argument is NAME=VALUE (white space\n"
	    "        around = is allowed).  An unknown NAME is written but\n"
	    "        warned about.\n"
	    "    --help\n"
	    "        Print this page and exit (-h means values only, as in\n"
	    "        postconf).\n"
	    "\n"
	    "EXAMPLES\n"
	    "    ulak conf -c ./run -n              what this instance changes\n"
	    "    ulak conf -d message_size_limit    the default\n"
	    "    ulak conf -x -h queue_directory    one value, expanded\n"
	    "    ulak conf -e 'relayhost = [smtp.example.net]:587' "
	    "mynetworks=127.0.0.0/8\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 on success, also when a NAME is unknown (as postconf: a\n"
	    "    warning \"ulak conf: warning: NAME: unknown parameter\" is\n"
	    "    printed and the name skipped); 1 when main.cf cannot be read,\n"
	    "    a value cannot be expanded or an edit failed; 2 on a usage\n"
	    "    error.\n"
	    "\n"
	    "FILES\n"
	    "    CONFIG_DIR/main.cf\n"
	    "\n"
	    "SEE ALSO\n"
	    "    docs/parameters.md (every parameter and its meaning),\n"
	    "    ulak check, ulak reload\n",
	.run = conf_run,
};
