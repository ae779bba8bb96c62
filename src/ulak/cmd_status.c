/*
 * cmd_status - `ulak status`: say whether the master daemon of an instance
 * is running, from its pid file.
 */
#include <getopt.h>

#include "buf.h"
#include "config.h"
#include "ulak.h"

static int
status_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg;
	struct buf pidfile;
	long pid;
	int c, status;

	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_status, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_status,
			    "option %s needs an argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_status, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ulak_usage(&ulak_cmd_status, "unexpected argument %s",
		    argv[optind]);
	cfg = ulak_config_load("status", true);
	if (cfg == NULL)
		return ULAK_EXIT_FAIL;
	buf_init(&pidfile, 0);
	if (ulak_master_pid(cfg, &pidfile, &pid) == 1) {
		printf("ulak: the mail system is running: PID: %ld\n", pid);
		status = ULAK_EXIT_OK;
	} else {
		printf("ulak: the mail system is not running\n");
		status = ULAK_EXIT_FAIL;
	}
	buf_release(&pidfile);
	config_free(cfg);
	return status;
}

const struct ulak_cmd ulak_cmd_status = {
	.name = "status",
	.summary = "tell whether the mail system is running",
	.synopsis = "ulak status [-c CONFIG_DIR]",
	.help =
	    "DESCRIPTION\n"
	    "    Prints \"ulak: the mail system is running: PID: N\" when the\n"
	    "    master daemon named by $queue_directory/pid/master.pid is\n"
	    "    alive, else \"ulak: the mail system is not running\".\n"
	    "\n"
	    "OPTIONS\n"
	    "    -c CONFIG_DIR\n"
	    "        The instance folder (default $ULAK_CONFIG_DIR, else\n"
	    "        " ULAK_DEFAULT_CONFIG_DIR ").\n"
	    "    -h, --help\n"
	    "        Print this page and exit.\n"
	    "\n"
	    "EXAMPLES\n"
	    "    ulak -c ./run status || ulak -c ./run start\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 when running, 1 when not running (or main.cf cannot be\n"
	    "    read), 2 on a usage error.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    ulak start, ulak stop\n",
	.run = status_run,
};
