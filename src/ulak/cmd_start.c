/*
 * cmd_start - `ulak start [-f]`: start the mail system of an instance by
 * executing its master daemon (master -c CONFIG_DIR [-f]).
 *
 * Runs with the invoking user's privileges; master decides what it can do
 * with them.  The pid file is read only to refuse a second start.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "daemon_dir.h"
#include "ulak.h"

static int
start_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "foreground", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg;
	struct buf dir, pidfile, master, value;
	const char *error;
	bool foreground = false;
	long pid;
	int c;

	while ((c = getopt_long(argc, argv, ":c:fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'f':
			foreground = true;
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_start, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_start,
			    "option %s needs an argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_start, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ulak_usage(&ulak_cmd_start, "unexpected argument %s",
		    argv[optind]);
	cfg = ulak_config_load("start", false);
	if (cfg == NULL)
		return ULAK_EXIT_FAIL;
	buf_init(&dir, 0);
	buf_init(&pidfile, 0);
	buf_init(&master, 0);
	buf_init(&value, 0);
	if (ulak_master_pid(cfg, &pidfile, &pid) == 1) {
		ulak_err("start", "the mail system is already running "
		    "(pid %ld)", pid);
		goto fail;
	}
	if (ulak_config_value(cfg, "daemon_directory", &value, &error) < 0) {
		ulak_err("start", "fatal: daemon_directory: %s", error);
		goto fail;
	}
	if (daemon_dir_find(config_is_set(cfg, "daemon_directory") ?
	    value.data : NULL, &dir, &error) < 0) {
		ulak_err("start", "fatal: %s", error);
		goto fail;
	}
	(void)buf_printf(&master, "%s/%s", dir.data, DAEMON_DIR_PROBE);
	if (access(master.data, X_OK) != 0) {
		ulak_err("start", "master daemon not found in %s", dir.data);
		goto fail;
	}
	config_free(cfg);
	{
		char *args[] = { master.data, (char *)"-c",
			(char *)ulak_config_dir(), foreground ? (char *)"-f" :
			NULL, NULL };

		fflush(stdout);
		execv(master.data, args);
		ulak_err("start", "cannot run %s: %s", master.data,
		    strerror(errno));
	}
	buf_release(&dir);
	buf_release(&pidfile);
	buf_release(&master);
	buf_release(&value);
	return ULAK_EXIT_FAIL;
fail:
	config_free(cfg);
	buf_release(&dir);
	buf_release(&pidfile);
	buf_release(&master);
	buf_release(&value);
	return ULAK_EXIT_FAIL;
}

const struct ulak_cmd ulak_cmd_start = {
	.name = "start",
	.summary = "start the mail system",
	.synopsis = "ulak start [-c CONFIG_DIR] [-f]",
	.help =
	    "DESCRIPTION\n"
	    "    Starts the mail system of the instance: runs its master daemon,\n"
	    "    which binds the listeners of master.cf and starts and watches\n"
	    "    every other daemon.  Refuses when the master named by\n"
	    "    $queue_directory/pid/master.pid is already running.\n"
	    "\n"
	    "    The daemons are looked for in daemon_directory when main.cf\n"
	    "    sets it; else in ../libexec/ulak next to the ulak executable\n"
	    "    (an installed tree); else next to the ulak executable itself\n"
	    "    (a build folder).\n"
	    "\n"
	    "OPTIONS\n"
	    "    -c CONFIG_DIR\n"
	    "        The instance folder (default $ULAK_CONFIG_DIR, else\n"
	    "        " ULAK_DEFAULT_CONFIG_DIR ").\n"
	    "    -f, --foreground\n"
	    "        Stay in the foreground and log to stderr (for a terminal,\n"
	    "        a container or a service manager).  Stop with Ctrl-C.\n"
	    "    -h, --help\n"
	    "        Print this page and exit.\n"
	    "\n"
	    "EXAMPLES\n"
	    "    ulak -c ./run start -f\n"
	    "    ulak start -c /etc/ulak\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    That of the master daemon when it was started (0 once it runs\n"
	    "    in the background; with -f, when it ends).  1 when main.cf\n"
	    "    cannot be read, the system is already running or the master\n"
	    "    daemon is not found; 2 on a usage error.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    ulak stop, ulak status, ulak check\n",
	.run = start_run,
};
