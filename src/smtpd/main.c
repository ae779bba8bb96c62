/*
 * smtpd - receive mail over SMTP and hand each message to cleanup.
 * (Placeholder while the server is being written.)
 */
#include "daemon.h"
#include "log.h"

int
main(int argc, char **argv)
{
	struct daemon d;

	daemon_init(&d, "smtpd", argc, argv);
	log_fatal("smtpd: not implemented yet");
}
