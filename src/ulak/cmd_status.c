/*
 * cmd_status - `ulak status`: say whether the master daemon of an instance
 * is running, from its pid file.
 */

#include "buf.h"
#include "config.h"
#include "ulak.h"

static int
status_run(int argc, char **argv)
{
	struct config *cfg;
	struct buf pidfile;
	long pid;
	int c, status;

	if ((c = ulak_options_plain(&ulak_cmd_status, argc, argv, false)) >= 0)
		return c;
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
	    ULAK_HELP_OPT_C
	    ULAK_HELP_OPT_H
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
