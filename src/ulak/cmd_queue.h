/*
 * cmd_queue.h - `ulak queue` (also mailq): list and manage the mail queue.
 * Internal to src/ulak.
 */
#ifndef ULAK_CMD_QUEUE_H
#define ULAK_CMD_QUEUE_H

/* The manual page text after the synopsis (DESCRIPTION...). */
extern const char cmd_queue_help[];
/* The synopsis lines. */
extern const char cmd_queue_synopsis[];

/*
 * Run `ulak queue ARGV[1..]` (ARGV[0] is "queue" or "mailq"); returns the
 * exit status: 0 success, 1 failure (some ID not found, qmgr not running
 * for flush), 2 usage error.
 */
int cmd_queue(int argc, char **argv);

#endif
