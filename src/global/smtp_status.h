/*
 * smtp_status - an SMTP reply a parser wants sent: the three-digit reply
 * code (RFC 5321 4.2), the enhanced status code (RFC 3463) and the text.
 *
 * The protocol parsers (smtp_addr, smtp_cmd) report a failure as a pointer
 * to one of their static, read-only smtp_status objects, so smtpd can send
 * status->reply as it is.  Nothing here allocates.
 */
#ifndef ULAK_SMTP_STATUS_H
#define ULAK_SMTP_STATUS_H

struct smtp_status {
	int code;		/* 501 */
	const char *enhanced;	/* "5.1.7" */
	const char *text;	/* "Bad sender address syntax" */
	const char *reply;	/* "501 5.1.7 Bad sender address syntax" */
};

/* Static initialiser; CODE must be a decimal literal. */
#define SMTP_STATUS_INIT(code, enhanced, text) \
	{ code, enhanced, text, #code " " enhanced " " text }

#endif
