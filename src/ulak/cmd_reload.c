/*
 * cmd_reload - `ulak reload`: tell the master daemon to read main.cf and
 * master.cf again (SIGHUP).
 *
 * The pid comes from a file: it is range-checked and the process must
 * exist before the signal is sent.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "ulak.h"

static int
reload_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg;
	struct buf pidfile;
	long pid;
	int c, status = ULAK_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_reload, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_reload,
			    "option %s needs an argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_reload, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ulak_usage(&ulak_cmd_reload, "unexpected argument %s",
		    argv[optind]);
	/* Refuse to reload into a main.cf the daemons could not read. */
	cfg = ulak_config_load("reload", false);
	if (cfg == NULL)
		return ULAK_EXIT_FAIL;
	buf_init(&pidfile, 0);
	if (ulak_master_pid(cfg, &pidfile, &pid) != 1) {
		ulak_err("reload", "the mail system is not running");
	} else if (kill((pid_t)pid, SIGHUP) < 0) {
		ulak_err("reload", "cannot signal the master (pid %ld): %s",
		    pid, strerror(errno));
	} else {
		printf("ulak: refreshing the mail system (pid %ld)\n", pid);
		status = ULAK_EXIT_OK;
	}
	buf_release(&pidfile);
	config_free(cfg);
	return status;
}

const struct ulak_cmd ulak_cmd_reload = {
	.name = "reload",
	.summary = "make the running system read its configuration again",
	.synopsis = "ulak reload [-c CONFIG_DIR]",
	.help =
	    "DESCRIPTION\n"
	    "    Sends SIGHUP to the running master daemon: it reads main.cf and\n"
	    "    master.cf again, opens and closes listeners as master.cf now\n"
	    "    says, and replaces its daemons as they finish their current\n"
	    "    sessions, so no connection is dropped.  main.cf is read first:\n"
	    "    when it has an error nothing is signalled.\n"
	    "\n"
	    "OPTIONS\n"
	    "    -c CONFIG_DIR\n"
	    "        The instance folder (default $ULAK_CONFIG_DIR, else\n"
	    "        " ULAK_DEFAULT_CONFIG_DIR ").\n"
	    "    -h, --help\n"
	    "        Print this page and exit.\n"
	    "\n"
	    "EXAMPLES\n"
	    "    ulak conf -c ./run -e message_size_limit=20480000\n"
	    "    ulak -c ./run reload\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 when the master was signalled; 1 when it is not running or\n"
	    "    main.cf has an error; 2 on a usage error.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    ulak check, ulak start\n",
	.run = reload_run,
};
