/*
 * hbc - header and body checks (Postfix header_checks(5)): the actions a
 * check table's value names, and the four tables cleanup consults
 * (header_checks, mime_header_checks, nested_header_checks, body_checks),
 * compiled once and shared by every thread.
 *
 * A value is "ACTION [text]" with the action in any case: REJECT, 4NN/5NN
 * (reject with that class), DISCARD, HOLD, WARN, INFO, IGNORE, PREPEND,
 * REPLACE, REDIRECT, BCC, FILTER, DUNNO, OK.  The tables are written by
 * the administrator, but the keys looked up are message text from anyone.
 */
#ifndef ULAK_HBC_H
#define ULAK_HBC_H

#include <stdbool.h>
#include <stddef.h>

#include "mime_stream.h"

struct buf;

enum hbc_type {
	HBC_DUNNO,	/* DUNNO, OK: stop checking this line, change nothing */
	HBC_REJECT,	/* REJECT, 4NN, 5NN: refuse the message */
	HBC_DISCARD,	/* accept and throw away */
	HBC_HOLD,	/* queue into hold/ */
	HBC_WARN,	/* log only */
	HBC_INFO,	/* log only, as info */
	HBC_IGNORE,	/* delete the line */
	HBC_PREPEND,	/* put text before the line */
	HBC_REPLACE,	/* put text instead of the line */
	HBC_REDIRECT,	/* all recipients become the address */
	HBC_BCC,	/* add the address as a recipient */
	HBC_FILTER,	/* route through transport:nexthop */
};

struct hbc_action {
	enum hbc_type type;
	/* REJECT: 4 or 5 and the RFC 3463 code ("5.7.1" unless the text
	 * starts with one of the same class). */
	int status;
	char dsn[16];
	/* The text after the action (and after a leading status code for
	 * REJECT), "" when none; points into the value given to
	 * hbc_parse_action. */
	const char *text;
};

/*
 * Parse VALUE (a table's result) into *A.  -1 with *error_r for an
 * unknown action or a missing required argument (PREPEND, REPLACE,
 * REDIRECT, BCC, FILTER need one; FILTER's must be transport:nexthop with
 * a transport name of letters, digits, '-', '_' and '.').  A->text stays
 * valid as long as VALUE.  Never exits.
 */
int hbc_parse_action(const char *value, struct hbc_action *a,
    const char **error_r);
/* The lower-case name of TYPE as Postfix logs it ("reject", "warning"). */
const char *hbc_type_log(enum hbc_type type);
/* True when TEXT is "Name: value" (a header PREPEND/REPLACE may add). */
bool hbc_is_header_text(const char *text);

enum hbc_table {
	HBC_TABLE_HEADER,	/* header_checks */
	HBC_TABLE_MIME,		/* mime_header_checks */
	HBC_TABLE_NESTED,	/* nested_header_checks */
	HBC_TABLE_BODY,		/* body_checks */
	HBC_TABLE_COUNT
};

/*
 * Which table checks header field NAME[0..LEN) of class CLS (as Postfix's
 * cleanup): MIME fields (Content-*, MIME-Version) in any header and every
 * field of a multipart part header go to mime_header_checks, other fields
 * of the primary header to header_checks, of an attached message to
 * nested_header_checks.
 */
enum hbc_table hbc_header_table(enum mime_stream_class cls, const char *name,
    size_t len);

struct hbc_tables;

/*
 * Open the table lists SPECS[HBC_TABLE_COUNT] (main.cf values, already
 * expanded; "" or NULL: no table); equal lists share one compiled copy.
 * NULL with *error_r when a table cannot be opened or has a syntax error.
 */
struct hbc_tables *hbc_tables_open(const char *const specs[HBC_TABLE_COUNT],
    const char **error_r);
/* True when table T has no table at all (its checks cost nothing). */
bool hbc_tables_empty(const struct hbc_tables *t, enum hbc_table which);
/*
 * Look KEY up in table WHICH (serialised by a mutex: any thread may
 * call).  1 with the result copied into VALUE, 0 when nothing matches,
 * -1 with *error_r when a table fails (the message should be deferred).
 */
int hbc_lookup(struct hbc_tables *t, enum hbc_table which, const char *key,
    struct buf *value, const char **error_r);
void hbc_tables_free(struct hbc_tables *t);

#endif
