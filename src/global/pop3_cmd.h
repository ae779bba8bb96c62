/*
 * pop3_cmd - the POP3 command reader (RFC 1939, RFC 2449) and the
 * encoding of a message for RETR/TOP (CRLF line ends, dot-stuffing,
 * RFC 1939 3), kept apart from pop3d so that both can be unit-tested and
 * fuzzed.
 *
 * Everything parsed here comes from the network before and after login:
 * a line longer than POP3_LINE_MAX, a NUL, an unknown keyword, a missing,
 * extra or over-long argument, or a number that is not a plain decimal
 * in range gives an error text for a "-ERR" reply, never a crash.
 */
#ifndef ULAK_POP3_CMD_H
#define ULAK_POP3_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/*
 * The longest line pop3d reads (CRLF not counted): RFC 2449 allows 255
 * octets for a command, more is needed for an AUTH PLAIN initial
 * response or a SASL continuation line.
 */
#define POP3_LINE_MAX 1024
#define POP3_ARG_MAX 1020

enum pop3_cmd_name {
	POP3_CMD_USER, POP3_CMD_PASS, POP3_CMD_AUTH, POP3_CMD_STAT,
	POP3_CMD_LIST, POP3_CMD_UIDL, POP3_CMD_RETR, POP3_CMD_TOP,
	POP3_CMD_DELE, POP3_CMD_RSET, POP3_CMD_NOOP, POP3_CMD_QUIT,
	POP3_CMD_CAPA, POP3_CMD_STLS, POP3_CMD_APOP,
};

struct pop3_cmd {
	enum pop3_cmd_name name;
	int argc;		/* 0..2 */
	/*
	 * Arguments.  PASS takes the rest of the line as one argument
	 * (passwords may hold spaces, RFC 1939 7).  For LIST, UIDL, RETR,
	 * DELE and TOP the numbers are also in num[].
	 */
	char arg[2][POP3_ARG_MAX + 1];
	uint32_t num[2];
};

/*
 * Parse the command line LINE[0..LEN) (without CRLF).  0, or -1 with
 * *error_r: a text for "-ERR <text>" ("unknown command", "LIST takes at
 * most one argument", "invalid message number", ...).
 */
int pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *out,
    const char **error_r);
/* The command's keyword in upper case ("RETR"). */
const char *pop3_cmd_keyword(enum pop3_cmd_name name);

/*
 * Message encoder for RETR and TOP: a message file's bytes in, the
 * multi-line response's body out (CRLF line ends: a bare LF becomes
 * CRLF; a line starting with '.' gets a second '.').  Feed it the file in
 * pieces of any size.
 */
struct pop3_encode {
	bool bol;		/* at the beginning of a line */
	bool last_cr;
	bool in_body;		/* past the empty line after the header */
	bool done;		/* TOP's line count reached: ignore the rest */
	size_t line_len;
	long lines_left;	/* body lines still to send; -1: all */
};

/* Start; BODY_LINES is TOP's count, or -1 for RETR (everything). */
void pop3_encode_init(struct pop3_encode *e, long body_lines);
/* Append the encoding of IN[0..LEN) to OUT (nothing once e->done). */
void pop3_encode(struct pop3_encode *e, const char *in, size_t len,
    struct buf *out);
/* Append the end: a CRLF when the message did not end a line, then ".\r\n". */
void pop3_encode_finish(struct pop3_encode *e, struct buf *out);

#endif
