/*
 * cmd_sendmail.h - `ulak sendmail` (also run when ulak is called as
 * sendmail): the sendmail-compatible submission command.  See
 * docs/sendmail.md.
 */
#ifndef ULAK_CMD_SENDMAIL_H
#define ULAK_CMD_SENDMAIL_H

/* Exit statuses of sysexits.h that sendmail callers look at. */
#define SENDMAIL_EX_USAGE 64
#define SENDMAIL_EX_DATAERR 65
#define SENDMAIL_EX_NOUSER 67
#define SENDMAIL_EX_SOFTWARE 70
#define SENDMAIL_EX_TEMPFAIL 75

/*
 * Run sendmail with ARGV[0] == "sendmail": read a message from standard
 * input (or speak SMTP there with -bs) and write it to
 * $queue_directory/maildrop/ for pickup.  Returns the exit status: 0, or
 * one of the SENDMAIL_EX_* codes.
 */
int cmd_sendmail(int argc, char **argv);

#endif
