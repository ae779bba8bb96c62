/*
 * cmd_later - `ulak queue` (also run when ulak is called as mailq;
 * `ulak sendmail` is in cmd_sendmail.c).  It belongs to the mail receiving work
 * that comes later; until then they say so and exit with EX_TEMPFAIL (75),
 * so that a program that hands mail to sendmail retries instead of losing
 * it.
 *
 * TODO(receive issue): implement sendmail (write the message to
 * $queue_directory/maildrop for pickup, with the usual -t, -f, -i, -oi,
 * -bs, -bp, -bi options) and queue (list/show/flush/hold/release/delete/
 * requeue, and mailq's listing), replacing this file with cmd_sendmail.c
 * and cmd_queue.c.
 */
#include "ulak.h"

static int
later_run(const char *name)
{
	ulak_err(name, "not yet available in this version of ulak");
	return ULAK_EXIT_TEMPFAIL;
}

static int
queue_run(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] == '-' &&
		    argv[i][2] == 'h') {
			ulak_help_print(&ulak_cmd_queue, stdout);
			return ULAK_EXIT_OK;
		}
	return later_run("queue");
}

const struct ulak_cmd ulak_cmd_queue = {
	.name = "queue",
	.summary = "list and manage the mail queue (not yet available)",
	.synopsis = "ulak queue [-c CONFIG_DIR] [ACTION...]\n"
	    "mailq",
	.help =
	    "DESCRIPTION\n"
	    "    Lists the messages waiting in the queue and lets the\n"
	    "    administrator flush, hold, release, delete or requeue them.\n"
	    "    It is run as `ulak queue` or when ulak is called by the name\n"
	    "    mailq.\n"
	    "\n"
	    "    Not yet available: this version prints a message and exits\n"
	    "    with status 75 (EX_TEMPFAIL).\n"
	    "\n"
	    "OPTIONS\n"
	    "    --help\n"
	    "        Print this page and exit.\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    75 (EX_TEMPFAIL) for now.\n",
	.run = queue_run,
};
