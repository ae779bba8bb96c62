/*
 * cmd_later - the command table entry of `ulak queue` (also run when ulak
 * is called as mailq); the command itself is in cmd_queue.c.
 */
#include "cmd_queue.h"
#include "ulak.h"

const struct ulak_cmd ulak_cmd_queue = {
	.name = "queue",
	.summary = "list and manage the mail queue (mailq, postsuper)",
	.synopsis = cmd_queue_synopsis,
	.help = cmd_queue_help,
	.run = cmd_queue,
};
