/*
 * smtp_cmd - SMTP command lines (server side) and replies (client side).
 *
 * smtp_cmd_parse() splits one command line from an SMTP client into the
 * verb, the argument, the MAIL/RCPT path and the ESMTP parameters, and
 * checks each against RFC 5321 and the extensions ulak offers.  On
 * failure it names the reply to send, with the codes Postfix uses.
 * smtp_reply_parse() assembles a (multi-line) reply of an SMTP server for
 * the smtp delivery agent, one line at a time.  Both distrust every byte
 * they are given.  Neither does any I/O: the caller reads lines (with a
 * length limit and a timeout) and removes the CRLF.
 */
#ifndef ULAK_SMTP_CMD_H
#define ULAK_SMTP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "smtp_addr.h"
#include "smtp_status.h"

enum smtp_verb {
	SMTP_VERB_NONE = 0,
	SMTP_VERB_EHLO,
	SMTP_VERB_HELO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
};

/* BODY= (RFC 6152 2, RFC 3030 3) */
enum smtp_body {
	SMTP_BODY_NONE = 0,	/* not given */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME,
};

/* RET= (RFC 3461 4.3) */
enum smtp_ret {
	SMTP_RET_NONE = 0,	/* not given */
	SMTP_RET_FULL,
	SMTP_RET_HDRS,
};

/* NOTIFY= bits (RFC 3461 4.1); 0 when not given. */
enum {
	SMTP_NOTIFY_NEVER = 1 << 0,
	SMTP_NOTIFY_SUCCESS = 1 << 1,
	SMTP_NOTIFY_FAILURE = 1 << 2,
	SMTP_NOTIFY_DELAY = 1 << 3,
};

/* Flags for smtp_cmd_parse(). */
enum {
	/* Accept MAIL FROM:user@x without < > (strict_rfc821_envelopes = no). */
	SMTP_CMD_LENIENT = 1 << 0,
	/* The transaction declared SMTPUTF8: RCPT paths may hold UTF-8. */
	SMTP_CMD_SMTPUTF8 = 1 << 1,
	/* Accept paths without @domain (see SMTP_ADDR_NODOMAIN). */
	SMTP_CMD_NODOMAIN = 1 << 2,
};

/* RFC 3461 4.4 and 4.2: limits on the encoded values. */
#define SMTP_CMD_ENVID_MAX 100
#define SMTP_CMD_ORCPT_MAX 500

struct smtp_cmd {
	enum smtp_verb verb;
	const char *name;	/* canonical upper-case verb, static */
	/*
	 * Everything after the verb, white space trimmed, NULL when empty:
	 * the HELO/EHLO host name, the VRFY/EXPN/HELP/NOOP argument, the
	 * whole AUTH argument.  For MAIL and RCPT too (path and parameters).
	 */
	char *arg;

	/* MAIL and RCPT */
	struct smtp_addr path;

	/* MAIL parameters */
	bool has_size;
	uint64_t size;		/* SIZE= (RFC 1870); UINT64_MAX if larger */
	enum smtp_body body;
	bool smtputf8;		/* SMTPUTF8 (RFC 6531 3.4) */
	enum smtp_ret ret;
	char *envid;		/* ENVID=, xtext decoded; NULL if absent */
	char *auth;		/* AUTH= (RFC 4954 5), decoded; "<>" as is */

	/* RCPT parameters */
	unsigned notify;	/* SMTP_NOTIFY_* bits */
	char *orcpt_type;	/* ORCPT= address type ("rfc822"); NULL if absent */
	char *orcpt;		/* ORCPT= address, xtext decoded */

	/* BDAT (RFC 3030 2) */
	uint64_t chunk_size;
	bool last;

	/* AUTH command (RFC 4954 4) */
	char *auth_mech;	/* upper case */
	char *auth_initial;	/* initial response as given ("=" for empty); NULL if none */

	char *storage_;		/* private: holds the strings above */
};

/*
 * Parse the command line LINE[0..LEN) (without CRLF; a trailing CR left
 * in it is dropped) into *CMD_R.  FLAGS
 * are SMTP_CMD_*.  Returns 0, or -1 with *STATUS_R set to the reply to
 * send (e.g. "502 5.5.2 Error: command not recognized", "501 5.5.4
 * Syntax: MAIL FROM:<address>", "555 5.5.4 Unsupported option") and
 * *REASON_R to a detail for the log (it may quote the offending parameter:
 * escape it before logging).  *CMD_R must be released with
 * smtp_cmd_release() in either case; after a failure its verb is set when
 * the verb was recognised.  Policy (size limits, which extensions are
 * offered, the order of commands) is the caller's.  Exits only when
 * memory runs out.
 */
int smtp_cmd_parse(const char *line, size_t len, unsigned flags,
    struct smtp_cmd *cmd_r, const struct smtp_status **status_r,
    const char **reason_r);

/* Free what smtp_cmd_parse() allocated; the struct may be reused. */
void smtp_cmd_release(struct smtp_cmd *cmd);

/* Upper-case name of VERB ("MAIL"), "" for SMTP_VERB_NONE. */
const char *smtp_verb_name(enum smtp_verb verb);

/*
 * Decode the xtext S[0..LEN) (RFC 3461 4: "+" and two hex digits stand
 * for one octet; lower-case hex is tolerated) and append it to OUT.
 * Fails (-1, OUT unchanged) on bad syntax, on characters outside
 * %d33-126, on '=' and when the decoded text would hold anything but
 * printable ASCII and space, or when OUT's maximum is exceeded.
 */
int smtp_xtext_decode(const char *s, size_t len, struct buf *out);

/* Append S encoded as xtext to OUT; -1 when OUT's maximum is exceeded. */
int smtp_xtext_encode(const char *s, size_t len, struct buf *out);

/* A reply from an SMTP server, assembled line by line (RFC 5321 4.2). */
struct smtp_reply {
	int code;		/* e.g. 250; 0 before the first line */
	char enhanced[16];	/* RFC 3463 code of the first line, "" if none */
	struct buf text;	/* texts of all lines, codes removed, '\n' between */
	size_t lines;
	bool complete;
	size_t max_line;	/* longest line accepted, in octets */
};

/* RFC 5321 4.5.3.1.5: 512 octets with CRLF; servers exceed it in practice. */
#define SMTP_REPLY_LINE_MAX 2048
#define SMTP_REPLY_TEXT_MAX 65536

/*
 * Prepare R for a reply whose lines may be up to MAX_LINE octets (without
 * CRLF; 0 means SMTP_REPLY_LINE_MAX) and whose text may total MAX_TEXT
 * octets (0: SMTP_REPLY_TEXT_MAX).
 */
void smtp_reply_init(struct smtp_reply *r, size_t max_line, size_t max_text);
/* Forget the reply, keep the limits: ready for the next one. */
void smtp_reply_reset(struct smtp_reply *r);
void smtp_reply_release(struct smtp_reply *r);

/*
 * Feed one reply line LINE[0..LEN) (without CRLF; a trailing CR is
 * dropped).  Returns 1 when this line completed the reply (R->code,
 * R->enhanced, R->text are then final), 0 when more lines must follow
 * ("250-..."), -1 with *ERROR_R when the line is malformed (no valid
 * three-digit code, bad separator, a code different from the first
 * line's, a line or text over the limit, a NUL byte) or the reply was
 * already complete.  After -1 the connection's replies are out of step:
 * the caller should give up on it.
 */
int smtp_reply_parse(struct smtp_reply *r, const char *line, size_t len,
    const char **error_r);

#endif
