/*
 * rfc822_build - building and completing RFC 5322 message headers: the
 * Received: trace header, Date:, From: and Message-ID: that cleanup adds,
 * and the $myorigin completion of unqualified addresses in envelope and
 * header addresses (local submissions).  Shared by cleanup and, later,
 * bounce (which builds whole messages).
 *
 * Every text that came from outside (HELO names, client names, full
 * names, header values) is treated as untrusted: control characters are
 * replaced before they go into a header we write, and folding uses CRLF
 * followed by a TAB, the form the queue content keeps.
 *
 * Nothing here keeps state; every function is thread-safe.
 */
#ifndef ULAK_RFC822_BUILD_H
#define ULAK_RFC822_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct buf;

/* What goes into a Received: header (RFC 5321 4.4). */
struct rfc822_received {
	bool local;		/* a local submission (sendmail/pickup) */
	long uid;		/* local: the submitting user's uid (-1: unknown) */
	const char *helo;	/* HELO/EHLO argument or NULL */
	const char *client_name;	/* verified name or NULL ("unknown") */
	const char *client_addr;	/* IP address or NULL */
	const char *protocol;	/* "ESMTPS"...; NULL: "SMTP" */
	const char *hostname;	/* $myhostname */
	const char *queue_id;
	const char *rcpt;	/* the one recipient, or NULL when not one */
	time_t when;
};

/*
 * Append the whole Received: header, folded and ending in CRLF:
 *   Received: from HELO (NAME [ADDR])\r\n\tby HOST (ulak) with PROTO id ID
 *   \r\n\tfor <RCPT>; DATE\r\n
 * or for a local submission
 *   Received: by HOST (ulak, from userid UID)\r\n\tid ID; DATE\r\n
 * (RCPT is not used for a local submission, as in Postfix).
 * IPv6 addresses are written [IPv6:...].  Returns 0, or -1 when OUT's
 * maximum would be exceeded.
 */
int rfc822_build_received(struct buf *out, const struct rfc822_received *r);

/*
 * Append an RFC 5322 3.3 date-time for WHEN in local time, as Postfix
 * writes it: "Tue, 4 Feb 2025 10:11:12 +0100 (CET)".  Independent of the
 * locale.  Returns 0, or -1 when OUT's maximum would be exceeded.
 */
int rfc822_build_date(struct buf *out, time_t when);

/*
 * Append "From: FULLNAME <ADDR>\r\n", or "From: ADDR\r\n" when FULLNAME is
 * NULL or empty.  ADDR is an internal-form address (quoted as needed); ""
 * (the null sender) gives "MAILER-DAEMON".  FULLNAME is written as an
 * RFC 5322 phrase: as it is when it is only atext and spaces, as a
 * quoted-string when it holds specials, RFC 2047 encoded (UTF-8, base64)
 * when it holds non-ASCII bytes; control characters become spaces.
 * Returns 0, or -1 when OUT's maximum would be exceeded.
 */
int rfc822_build_from(struct buf *out, const char *addr,
    const char *fullname);

/*
 * Append ADDR completed with "@ORIGIN" when it has no '@' (the null
 * address "" stays empty).  Returns true when something was appended.
 */
bool rfc822_qualify_addr(struct buf *out, const char *addr,
    const char *origin);

/*
 * The address headers whose addresses a local submission gets completed
 * with $myorigin (From, Sender, Reply-To, To, Cc, Bcc and their Resent-
 * forms, Return-Receipt-To, Errors-To).  NAME is the field name without
 * the colon; case is ignored.
 */
bool rfc822_is_address_header(const char *name, size_t len);

/*
 * Rewrite the value of an address header (VALUE[0..LEN), folding
 * allowed): every addr-spec without a domain gets "@ORIGIN" inserted right
 * after it; everything else (display names, comments, groups, folding) is
 * kept byte for byte.  Appends the result to OUT and returns the number of
 * addresses completed (0: OUT got VALUE unchanged), or -1 when OUT's
 * maximum would be exceeded.  Never fails on bad syntax: what it cannot
 * parse it leaves alone.
 */
int rfc822_qualify_header(struct buf *out, const char *value, size_t len,
    const char *origin);

/*
 * Length of the field name when LINE[0..LEN) starts a header field
 * ("Name:" with a name of printable ASCII other than ':', optional white
 * space before the colon as obsolete syntax allows), else 0.
 */
size_t rfc822_header_name_len(const char *line, size_t len);

#endif
