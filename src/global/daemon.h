/*
 * daemon - what every ulak daemon does before its event loop: read its
 * command line (as master passes it), load main.cf with master.cf's
 * -o overrides, set up logging, find its listening socket, and drop
 * privileges.
 *
 * Command line, as master builds it (docs/protocols.md, "Starting a
 * daemon"):
 *
 *   PROGRAM -c CONFIG_DIR -n SERVICE -t TYPE [-o name=value]... [args...]
 *
 * The listening sockets, when the service has any, are file descriptors
 * DAEMON_LISTEN_FD, DAEMON_LISTEN_FD+1, ... and the environment variable
 * ULAK_LISTEN_FDS holds their count (an inet service bound on several
 * addresses, e.g. 0.0.0.0 and ::, has several).  A daemon
 * started by hand (tests) may omit -n/-t; -c defaults to ULAK_CONFIG_DIR
 * or /etc/ulak.
 *
 * Signals from master: SIGTERM means stop now (transactions without a
 * final reply are abandoned: nothing that was acknowledged is lost);
 * SIGUSR1 means drain: stop accepting, finish the current sessions, exit
 * (used by reload so that established connections are not dropped).
 */
#ifndef ULAK_DAEMON_H
#define ULAK_DAEMON_H

#include <stdbool.h>

#include "str.h"

#define DAEMON_LISTEN_FD 3
#define DAEMON_LISTEN_MAX 16

struct config;

struct daemon {
	const char *program;	/* "smtpd" */
	char *service;		/* master.cf service name, e.g. "submission" */
	char *type;		/* master.cf type: inet, unix, ... ("" by hand) */
	char *config_dir;
	struct config *cfg;
	int listen_fds[DAEMON_LISTEN_MAX];
	int n_listen;		/* 0 when there is none */
	struct strlist args;	/* arguments after the options */
};

/*
 * Parse the command line, load the configuration (main.cf, then the -o
 * overrides), and point logging at maillog_file (syslog when empty) with
 * the program name.  Exits with a fatal log line on any error.
 */
void daemon_init(struct daemon *d, const char *program, int argc,
    char **argv);

/*
 * When running as root: become mail_owner (its uid, gid and supplementary
 * groups) for good and check that root cannot be regained.  When not
 * root: nothing.  Fatal on failure, and fatal when mail_owner is root.
 */
void daemon_drop_privileges(struct daemon *d);

/* Free what daemon_init allocated (for leak-clean exits under ASan). */
void daemon_release(struct daemon *d);

#endif
