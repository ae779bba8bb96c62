/*
 * ulak - the administration command of the ulak mail system: finds the
 * subcommand named on the command line (or implied by the name it was
 * called by: sendmail, mailq, newaliases) and runs it.
 *
 * Runs with the invoking user's privileges; trusts its arguments no more
 * than any command does (every subcommand checks its own).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ulak.h"

const struct ulak_cmd *const ulak_cmds[] = {
	&ulak_cmd_init,
	&ulak_cmd_conf,
	&ulak_cmd_map,
	&ulak_cmd_aliases,
	&ulak_cmd_check,
	&ulak_cmd_start,
	&ulak_cmd_stop,
	&ulak_cmd_reload,
	&ulak_cmd_status,
	&ulak_cmd_queue,
	&ulak_cmd_sendmail,
	&ulak_cmd_passwd,
	&ulak_cmd_dkim,
	&ulak_cmd_spf,
	&ulak_cmd_dmarc,
	NULL,
};

static const char main_usage[] =
    "usage: ulak [-c CONFIG_DIR] COMMAND [ARGUMENTS...]\n"
    "       ulak help [COMMAND]\n"
    "       ulak COMMAND --help\n";

static const char main_help_head[] =
    "NAME\n"
    "    ulak - administer the ulak mail system\n"
    "\n"
    "SYNOPSIS\n"
    "    ulak [-c CONFIG_DIR] COMMAND [ARGUMENTS...]\n"
    "    ulak help [COMMAND]\n"
    "    ulak COMMAND --help\n"
    "    sendmail [OPTIONS...] | mailq | newaliases\n"
    "\n"
    "DESCRIPTION\n"
    "    ulak is the one command an administrator needs: it writes a new\n"
    "    instance (init), shows and edits main.cf (conf), builds and queries\n"
    "    lookup tables (map, aliases), checks an instance (check) and\n"
    "    starts, stops and watches its daemons (start, stop, reload,\n"
    "    status).  Called as sendmail, mailq or newaliases (by a link or a\n"
    "    copy of that name) it behaves as `ulak sendmail`, `ulak queue` and\n"
    "    `ulak aliases`.\n"
    "\n"
    "COMMANDS\n";

static const char main_help_tail[] =
    "\n"
    "    Run `ulak help COMMAND` or `ulak COMMAND --help` for the manual\n"
    "    page of one command.\n"
    "\n"
    "OPTIONS\n"
    "    -c CONFIG_DIR\n"
    "        The instance folder holding main.cf and master.cf.  Every\n"
    "        command but init accepts it, before or after the command name.\n"
    "    -h, --help\n"
    "        Print this page and exit.\n"
    "    -V, --version\n"
    "        Print the version and exit.\n"
    "\n"
    "ENVIRONMENT\n"
    "    ULAK_CONFIG_DIR\n"
    "        The instance folder when -c is not given (default "
    ULAK_DEFAULT_CONFIG_DIR ").\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success, 1 when the command failed (its message says why),\n"
    "    2 on a usage error.  Commands document their own further codes.\n"
    "\n"
    "EXAMPLES\n"
    "    ulak init ./run --domain example.test\n"
    "    ulak -c ./run check\n"
    "    ulak -c ./run start -f\n"
    "\n"
    "SEE ALSO\n"
    "    docs/ulak.md, docs/parameters.md\n";

static void
main_help(FILE *f)
{
	fputs(main_help_head, f);
	for (size_t i = 0; ulak_cmds[i] != NULL; i++)
		fprintf(f, "    %-10s %s\n", ulak_cmds[i]->name,
		    ulak_cmds[i]->summary);
	fputs(main_help_tail, f);
}

const struct ulak_cmd *
ulak_cmd_find(const char *name)
{
	for (size_t i = 0; ulak_cmds[i] != NULL; i++)
		if (strcmp(ulak_cmds[i]->name, name) == 0)
			return ulak_cmds[i];
	return NULL;
}

/* `ulak help [COMMAND]` */
static int
main_help_cmd(int argc, char **argv)
{
	const struct ulak_cmd *cmd;

	if (argc < 2) {
		main_help(stdout);
		return ULAK_EXIT_OK;
	}
	if (argc > 2) {
		fprintf(stderr, "ulak help: too many arguments\n%s", main_usage);
		return ULAK_EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0) {
		main_help(stdout);
		return ULAK_EXIT_OK;
	}
	cmd = ulak_cmd_find(argv[1]);
	if (cmd == NULL) {
		fprintf(stderr, "ulak help: unknown command \"%s\"; run "
		    "`ulak --help` for the list\n", argv[1]);
		return ULAK_EXIT_USAGE;
	}
	ulak_help_print(cmd, stdout);
	return ULAK_EXIT_OK;
}

/* The subcommand implied by the name we were called by, or NULL. */
static const struct ulak_cmd *
main_alias(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base != NULL ? base + 1 : argv0;
	if (strcmp(base, "sendmail") == 0)
		return &ulak_cmd_sendmail;
	if (strcmp(base, "mailq") == 0)
		return &ulak_cmd_queue;
	if (strcmp(base, "newaliases") == 0)
		return &ulak_cmd_aliases;
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ulak_cmd *cmd;
	int c;

	log_init("ulak", "stderr");
	if (argc < 1 || argv[0] == NULL)
		return ULAK_EXIT_USAGE;
	cmd = main_alias(argv[0]);
	if (cmd != NULL) {
		/*
		 * sendmail/mailq/newaliases take their own options (sendmail's
		 * are many and not ulak's), so hand over everything.
		 */
		argv[0] = (char *)cmd->name;
		return cmd->run(argc, argv);
	}

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'h':
			main_help(stdout);
			return ULAK_EXIT_OK;
		case 'V':
			printf("ulak %s\n", ULAK_VERSION);
			return ULAK_EXIT_OK;
		default:
			fprintf(stderr, "ulak: unknown option or missing "
			    "argument: %s\n%s", argv[optind - 1], main_usage);
			return ULAK_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(main_usage, stderr);
		fputs("Run `ulak --help` for the list of commands.\n", stderr);
		return ULAK_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	/* Each subcommand starts its own option parsing afresh. */
	optind = 0;
	if (strcmp(argv[0], "help") == 0)
		return main_help_cmd(argc, argv);
	cmd = ulak_cmd_find(argv[0]);
	if (cmd == NULL) {
		fprintf(stderr, "ulak: unknown command \"%s\"\n%s"
		    "Run `ulak --help` for the list of commands.\n", argv[0],
		    main_usage);
		return ULAK_EXIT_USAGE;
	}
	return cmd->run(argc, argv);
}
