/*
 * cmd_stop - `ulak stop`: ask the master daemon to stop (SIGTERM) and wait,
 * within a bound, until it is gone.
 *
 * The pid comes from a file: it is range-checked and the process must
 * exist before a signal is sent.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "parse.h"
#include "ulak.h"

static int
stop_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg;
	struct buf pidfile;
	uint64_t wait_secs = 30;
	const char *error;
	struct timespec start, now;
	long pid;
	int c, status = ULAK_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, ":c:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 't':
			if (parse_time(optarg, 's', &wait_secs, &error) < 0 ||
			    wait_secs > 3600)
				return ulak_usage(&ulak_cmd_stop,
				    "bad time for -t: %s", optarg);
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_stop, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_stop,
			    "option %s needs an argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_stop, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ulak_usage(&ulak_cmd_stop, "unexpected argument %s",
		    argv[optind]);
	cfg = ulak_config_load("stop", true);
	if (cfg == NULL)
		return ULAK_EXIT_FAIL;
	buf_init(&pidfile, 0);
	if (ulak_master_pid(cfg, &pidfile, &pid) != 1) {
		ulak_err("stop", "the mail system is not running");
		goto out;
	}
	if (kill((pid_t)pid, SIGTERM) < 0) {
		ulak_err("stop", "cannot signal the master (pid %ld): %s", pid,
		    strerror(errno));
		goto out;
	}
	printf("ulak: stopping the mail system (pid %ld)\n", pid);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (!ulak_pid_alive(pid)) {
			status = ULAK_EXIT_OK;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((uint64_t)(now.tv_sec - start.tv_sec) >= wait_secs) {
			ulak_err("stop", "the master (pid %ld) is still running "
			    "after %llu seconds", pid,
			    (unsigned long long)wait_secs);
			break;
		}
		/* Poll for the process to go; there is nothing to wait on. */
		(void)poll(NULL, 0, 50);
	}
out:
	buf_release(&pidfile);
	config_free(cfg);
	return status;
}

const struct ulak_cmd ulak_cmd_stop = {
	.name = "stop",
	.summary = "stop the mail system",
	.synopsis = "ulak stop [-c CONFIG_DIR] [-t SECONDS]",
	.help =
	    "DESCRIPTION\n"
	    "    Stops the mail system of the instance: sends SIGTERM to the\n"
	    "    master daemon named by $queue_directory/pid/master.pid, which\n"
	    "    stops every daemon it started, and waits until the master is\n"
	    "    gone.  Mail that was accepted stays safe in the queue.\n"
	    "\n"
	    "OPTIONS\n"
	    ULAK_HELP_OPT_C
	    "    -t SECONDS\n"
	    "        How long to wait for the master to end (default 30s; a\n"
	    "        unit s, m or h may follow the number).\n"
	    ULAK_HELP_OPT_H
	    "\n"
	    "EXAMPLES\n"
	    "    ulak -c ./run stop\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 when the mail system has stopped; 1 when it was not running,\n"
	    "    could not be signalled or did not stop in time; 2 on a usage\n"
	    "    error.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    ulak start, ulak status\n",
	.run = stop_run,
};
