/*
 * cmd_reload - `ulak reload`: tell the master daemon to read main.cf and
 * master.cf again (SIGHUP).
 *
 * The pid comes from a file: it is range-checked and the process must
 * exist before the signal is sent.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "ulak.h"

static int
reload_run(int argc, char **argv)
{
	struct config *cfg;
	struct buf pidfile;
	long pid;
	int c, status = ULAK_EXIT_FAIL;

	if ((c = ulak_options_plain(&ulak_cmd_reload, argc, argv, false)) >= 0)
		return c;
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
	    ULAK_HELP_OPT_C
	    ULAK_HELP_OPT_H
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
