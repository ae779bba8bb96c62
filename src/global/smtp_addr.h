/*
 * smtp_addr - mail addresses as they arrive from outside.
 *
 * Two parsers: smtp_addr_parse_path() reads the reverse-path or
 * forward-path of MAIL FROM / RCPT TO (RFC 5321 4.1.2), and
 * smtp_addr_list_parse() reads an address-list of a To/Cc/From header
 * (RFC 5322 3.4).  Both distrust every byte: the input is peer data of any
 * length and content (NUL bytes included).  The path parser does not
 * allocate; the list parser allocates only its results.
 *
 * Addresses are kept in the internal (unquoted) form Postfix uses:
 * <"a b"@example.com> becomes the local part `a b`.  smtp_addr_quote_local()
 * makes the external form again where the local part needs quotes.
 */
#ifndef ULAK_SMTP_ADDR_H
#define ULAK_SMTP_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "smtp_status.h"

struct buf;

/* RFC 5321 4.5.3.1.1 - 4.5.3.1.3, in octets. */
#define SMTP_ADDR_LOCAL_MAX 64
#define SMTP_ADDR_DOMAIN_MAX 255
#define SMTP_ADDR_PATH_MAX 256

/* Flags for smtp_addr_parse_path(). */
enum {
	/* A reverse-path (MAIL FROM): <> is allowed, errors say 5.1.7. */
	SMTP_ADDR_SENDER = 1 << 0,
	/* UTF-8 in local part and domain is allowed (RFC 6531 3.3). */
	SMTP_ADDR_SMTPUTF8 = 1 << 1,
	/*
	 * Accept a path without angle brackets (MAIL FROM:user@example.com),
	 * as Postfix does unless strict_rfc821_envelopes = yes.
	 */
	SMTP_ADDR_LENIENT = 1 << 2,
	/*
	 * Accept a mailbox without @domain (RCPT TO:<user>); cleanup later
	 * qualifies it.  Without it only <postmaster> (any case) is accepted
	 * bare, and only as a forward-path (RFC 5321 4.1.1.3).
	 */
	SMTP_ADDR_NODOMAIN = 1 << 3,
};

struct smtp_addr {
	/* Unquoted local part ("" for <>). */
	char localpart[SMTP_ADDR_LOCAL_MAX + 1];
	/* Domain as given, [1.2.3.4] and [IPv6:...] with brackets; "" if none. */
	char domain[SMTP_ADDR_DOMAIN_MAX + 1];
	/* Domain with ASCII letters folded to lower case. */
	char domain_lower[SMTP_ADDR_DOMAIN_MAX + 1];
	/* Internal form: localpart "@" domain, or localpart alone; "" for <>. */
	char addr[SMTP_ADDR_LOCAL_MAX + 1 + SMTP_ADDR_DOMAIN_MAX + 1];
	bool is_null;		/* the null reverse-path <> */
	bool no_brackets;	/* lenient form without < > was accepted */
	bool had_route;		/* a source route @a,@b: was stripped */
	bool quoted;		/* the local part was a quoted string */
	bool is_literal;	/* the domain is an address literal [...] */
	bool utf8;		/* some byte is non-ASCII (valid UTF-8) */
};

/*
 * Parse the path S[0..LEN) (exactly the path: "<user@example.com>", no
 * surrounding space, no ESMTP parameters) into *ADDR_R.  FLAGS are
 * SMTP_ADDR_*.  Returns 0, or -1 with *STATUS_R set to the reply to send
 * (e.g. "501 5.1.7 Bad sender address syntax", "501 5.1.3 Bad recipient
 * address syntax", "553 5.6.7 Must declare SMTPUTF8 to send unicode
 * address") and *REASON_R to a short detail for the log ("local part
 * longer than 64 octets"; static text).  Never allocates; never exits.
 * *ADDR_R is undefined after a failure.
 */
int smtp_addr_parse_path(const char *s, size_t len, unsigned flags,
    struct smtp_addr *addr_r, const struct smtp_status **status_r,
    const char **reason_r);

/*
 * True when the address tries to route mail onward through this host:
 * a stripped source route (<@local:user@other>), or '@', '%' or '!' in
 * the local part (<"user@other"@local>, <user%other@local>,
 * <other!user@local>).  <user@other@local> never gets here: the parser
 * rejects it as a syntax error.  The relay check uses it so that such a
 * recipient in a domain we relay for cannot be used to reach another
 * host (Postfix: allow_untrusted_routing = no).
 */
bool smtp_addr_has_routing(const struct smtp_addr *addr);

/*
 * The same check on an address in internal form ("local@domain", split
 * at the last '@'): true when the local part holds '@', '%' or '!'.
 * For addresses that come from elsewhere (aliases, headers).
 */
bool smtp_addr_internal_has_routing(const char *addr);

/*
 * Append LOCAL (an unquoted local part) to OUT in the external form:
 * unchanged when it is a dot-string (RFC 5321 4.1.2; non-ASCII bytes
 * count as atext, RFC 6531), else as a quoted string with '"' and '\'
 * escaped.  Returns 0, or -1 when OUT's maximum is exceeded.
 */
int smtp_addr_quote_local(const char *local, struct buf *out);

/* True when LOCAL needs quoting to be sent in a path. */
bool smtp_addr_local_needs_quotes(const char *local);

/*
 * Append the external form of an internal address ("local@domain": the
 * local part quoted as needed) to OUT, without angle brackets.  The split
 * is at the last '@'.  Returns 0, or -1 when OUT's maximum is exceeded.
 */
int smtp_addr_externalize(const char *internal, struct buf *out);

/* One address from a header address-list. */
struct smtp_addr_entry {
	char *addr;		/* internal form, "" for <> */
	char *localpart;	/* unquoted; words of obs-local-part joined by "." */
	char *domain;		/* as given ("" when there was none) */
	char *domain_lower;
	char *display_name;	/* phrase before <...>, unquoted; NULL if none */
	char *group;		/* name of the enclosing group; NULL if none */
};

struct smtp_addr_list {
	struct smtp_addr_entry *v;
	size_t n;
	size_t cap;
};

void smtp_addr_list_init(struct smtp_addr_list *list);
/* Free every entry; the list is empty (and reusable) afterwards. */
void smtp_addr_list_release(struct smtp_addr_list *list);

/*
 * Parse an RFC 5322 address-list (the value of To, Cc, Bcc, From,
 * Reply-To, Sender; folding may still be in it) and append one entry per
 * mailbox to LIST: plain addr-specs, name-addrs with display names,
 * groups ("team: a@x, b@y;", also empty ones), comments, quoted strings,
 * domain literals.  Obsolete forms of RFC 5322 4.4 are tolerated: empty
 * list elements, source routes in angle brackets, CFWS around dots, and
 * also a missing domain ("To: root", for sendmail -t), a missing final
 * ';' of a group and an unquoted '@' in a display name.  Non-ASCII bytes
 * are taken as they are (RFC 6532).
 *
 * An element (a mailbox, or a whole group) that does not parse is
 * skipped up to the next ','; the
 * function then returns -1 with *ERROR_R describing the first such
 * element, but LIST still gets every element that did parse.  Returns 0
 * when all parsed.  Entries are owned by LIST.  Never exits except when
 * memory runs out.
 */
int smtp_addr_list_parse(const char *s, size_t len,
    struct smtp_addr_list *list, const char **error_r);

#endif
