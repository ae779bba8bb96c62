/*
 * imap_parser - the IMAP command reader of imapd (RFC 3501 9, RFC 7888).
 *
 * Two layers.  The command reader takes bytes as they arrive from the
 * client, assembles one command (its lines and the literals between them)
 * and splits it into a tree of arguments: atoms, quoted strings, literals
 * ({n} with a "+" continuation, {n+} without one) and nested
 * parenthesized lists.  The typed parsers then read argument trees as
 * sequence sets, FETCH attribute lists (with BODY[section]<partial>) and
 * SEARCH keys.
 *
 * Everything comes from the network and is distrusted: every line, literal,
 * list depth and argument count has a hard limit, and every malformed input
 * ends in IMAP_PARSE_BAD with a reason to put after "BAD", never in an
 * over-read or a reader that waits for input that will not come.
 */
#ifndef ULAK_IMAP_PARSER_H
#define ULAK_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strlist;

struct imap_parser_limits {
	size_t line_max;	/* octets of one line, CRLF included */
	size_t literal_max;	/* one literal of APPEND */
	size_t small_literal_max; /* one literal of any other command */
	size_t depth_max;	/* nesting of parenthesized lists */
	size_t args_max;	/* arguments of one command, in all lists */
};

/* The defaults: 64 KiB lines, 64 MiB APPEND literals, 64 KiB others,
 * depth 16, 10000 arguments. */
void imap_parser_limits_default(struct imap_parser_limits *lim);

enum imap_arg_type {
	IMAP_ARG_ATOM,		/* includes NIL, numbers, flags, BODY[...]<..> */
	IMAP_ARG_QUOTED,	/* "text", unescaped */
	IMAP_ARG_LITERAL,	/* {n} or {n+} */
	IMAP_ARG_LIST,		/* ( ... ) */
};

struct imap_arg {
	enum imap_arg_type type;
	/* Atom, quoted and literal: the text, NUL-terminated (a literal may
	 * also hold NUL bytes; LEN counts them). */
	const char *s;
	size_t len;
	/* List: the elements. */
	struct imap_arg *list;
	size_t n;
};

struct imap_command {
	const char *tag;
	const char *name;	/* upper-cased command name; "UID FETCH" etc. */
	struct imap_arg *args;	/* after the name */
	size_t n_args;
	bool literal_plus;	/* some literal was {n+} */
};

enum imap_parse_result {
	IMAP_PARSE_MORE,	/* all input used; feed more */
	IMAP_PARSE_CONTINUE,	/* send "+ Ready for literal data", then feed */
	IMAP_PARSE_DONE,	/* a command is ready: imap_parser_command */
	IMAP_PARSE_BAD,		/* malformed: reply "TAG BAD reason" */
	IMAP_PARSE_FATAL,	/* cannot resynchronise: BYE and close */
};

struct imap_parser;

/* New command reader with the limits LIM (NULL: defaults).  Never NULL;
 * exits only when memory runs out.  Free with imap_parser_free. */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *lim);
void imap_parser_free(struct imap_parser *p);

/*
 * Take input DATA[0..LEN).  *USED_R gets the number of octets consumed;
 * the reader never consumes past the end of a command, so what follows
 * (a pipelined command, IDLE's DONE, a TLS handshake after STARTTLS)
 * stays with the caller.  Returns:
 *   MORE      everything was used and the command is not complete;
 *   CONTINUE  a synchronising literal was announced and accepted: the
 *             caller sends the continuation request, then feeds on;
 *   DONE      a command is complete (imap_parser_command);
 *   BAD       the command was malformed or over a limit;
 *             imap_parser_error gives the reason and imap_parser_tag the
 *             tag ("*" when there was none); the input was consumed up to
 *             the end of the bad line;
 *   FATAL     the client announced a non-synchronising literal over the
 *             limit: its data cannot be told from commands any more.
 * After DONE, BAD or FATAL, call imap_parser_reset before feeding again.
 */
enum imap_parse_result imap_parser_feed(struct imap_parser *p,
    const char *data, size_t len, size_t *used_r);

/* The complete command after DONE; owned by P, valid until reset. */
const struct imap_command *imap_parser_command(const struct imap_parser *p);
/* The reason after BAD or FATAL (static or owned by P). */
const char *imap_parser_error(const struct imap_parser *p);
/* The tag of the command being read after BAD ("*" when none is known;
 * owned by P). */
const char *imap_parser_tag(const struct imap_parser *p);
/* Forget the command; keep the buffers' storage for the next one, but
 * give back what a large literal took. */
void imap_parser_reset(struct imap_parser *p);
/* Octets of memory the reader holds now (for the idle-memory budget). */
size_t imap_parser_memory(const struct imap_parser *p);

/* True when A is an atom, quoted string or literal (an IMAP astring). */
bool imap_arg_is_string(const struct imap_arg *a);
/* True when A is the atom NIL. */
bool imap_arg_is_nil(const struct imap_arg *a);
/* True when A is a string (see above) with no NUL byte. */
bool imap_arg_is_cstring(const struct imap_arg *a);

/*
 * Sequence sets (RFC 3501 9 sequence-set).  A range's bounds are 1-based
 * numbers; IMAP_SEQ_STAR stands for "*", the largest number in use.
 */
#define IMAP_SEQ_STAR 0u

struct imap_seq_range {
	uint32_t lo, hi;	/* as written; may be lo > hi, or STAR */
};

struct imap_seqset {
	struct imap_seq_range *v;
	size_t n;
};

/* Parse S (e.g. "1:4,7,9:*") into *SET (allocated; free with
 * imap_seqset_free).  -1 with *error_r on a syntax error; no more than
 * 100000 ranges. */
int imap_seqset_parse(const char *s, struct imap_seqset *set,
    const char **error_r);
void imap_seqset_free(struct imap_seqset *set);
/* True when N is in SET, where "*" means MAX (MAX 0: empty mailbox, then
 * "*" matches nothing). */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
    uint32_t max);

/*
 * FETCH attributes (RFC 3501 6.4.5).
 */
enum {
	IMAP_FETCH_FLAGS = 1 << 0,
	IMAP_FETCH_INTERNALDATE = 1 << 1,
	IMAP_FETCH_RFC822_SIZE = 1 << 2,
	IMAP_FETCH_ENVELOPE = 1 << 3,
	IMAP_FETCH_BODY = 1 << 4,		/* BODY without [] */
	IMAP_FETCH_BODYSTRUCTURE = 1 << 5,
	IMAP_FETCH_UID = 1 << 6,
	IMAP_FETCH_RFC822 = 1 << 7,
	IMAP_FETCH_RFC822_HEADER = 1 << 8,
	IMAP_FETCH_RFC822_TEXT = 1 << 9,
};

enum imap_section_kind {
	IMAP_SECTION_ALL,		/* BODY[] or BODY[1.2] */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,
};

#define IMAP_SECTION_DEPTH 32

struct imap_section {
	uint32_t part[IMAP_SECTION_DEPTH];	/* 1-based part numbers */
	size_t n_part;
	enum imap_section_kind kind;
	struct strlist *fields;		/* HEADER.FIELDS[.NOT]; else NULL */
};

struct imap_fetch_body {
	bool peek;			/* BODY.PEEK: \Seen is not set */
	struct imap_section section;
	char *spec;			/* section text for the reply, e.g.
					 * "1.HEADER.FIELDS (FROM TO)" */
	bool partial;
	uint32_t offset, count;		/* <offset.count> */
};

struct imap_fetch {
	unsigned items;			/* IMAP_FETCH_* */
	struct imap_fetch_body *bodies;
	size_t n_bodies;
};

/*
 * Parse the FETCH argument A (an atom, a macro ALL/FAST/FULL, or a
 * list of attributes) into *F (free with imap_fetch_free).  -1 with
 * *error_r naming the bad attribute.
 */
int imap_fetch_parse(const struct imap_arg *a, struct imap_fetch *f,
    const char **error_r);
void imap_fetch_free(struct imap_fetch *f);

/*
 * Parse a section text such as "1.2.HEADER.FIELDS (From To)" or "TEXT"
 * (what is between the brackets).  *SPEC_R gets the canonical text for the
 * reply (caller frees).  -1 with *error_r.
 */
int imap_section_parse(const char *s, size_t len, struct imap_section *sec,
    char **spec_r, const char **error_r);
void imap_section_free(struct imap_section *sec);

/*
 * SEARCH keys (RFC 3501 6.4.4).
 */
enum imap_search_op {
	IMAP_SEARCH_AND,	/* all of kids: the top level and ( ... ) */
	IMAP_SEARCH_OR,		/* kids[0] or kids[1] */
	IMAP_SEARCH_NOT,	/* not kids[0] */
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_SEQSET,	/* message numbers in seq */
	IMAP_SEARCH_UID,	/* UIDs in seq */
	IMAP_SEARCH_FLAG,	/* str is a system flag (\Seen) or keyword */
	IMAP_SEARCH_UNFLAG,
	IMAP_SEARCH_NEW,	/* \Recent and not \Seen */
	IMAP_SEARCH_OLD,	/* not \Recent */
	IMAP_SEARCH_RECENT,
	IMAP_SEARCH_BEFORE,	/* internal date, day granularity: num */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE,	/* Date: header */
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_LARGER,	/* RFC822.SIZE > num */
	IMAP_SEARCH_SMALLER,
	IMAP_SEARCH_HEADER,	/* field: header name, str: substring */
	IMAP_SEARCH_BODY,	/* str in the body */
	IMAP_SEARCH_TEXT,	/* str in header or body */
};

struct imap_search {
	enum imap_search_op op;
	struct imap_search **kids;
	size_t n_kids;
	char *field;		/* HEADER field name (FROM, TO, ... too) */
	char *str;		/* FLAG keyword, string to find */
	int64_t num;		/* size, or a date as days since 1970-01-01 */
	struct imap_seqset seq;
};

/*
 * Parse the SEARCH arguments ARGS[0..N) (after CHARSET, which the caller
 * has taken off) into a tree (free with imap_search_free).  Strings are
 * kept as given (UTF-8).  NULL with *error_r on a bad key.
 */
struct imap_search *imap_search_parse(const struct imap_arg *args, size_t n,
    const char **error_r);
void imap_search_free(struct imap_search *s);

/* Parse an IMAP date "1-Feb-1994" (RFC 3501 date) into days since
 * 1970-01-01.  -1 with *error_r. */
int imap_date_parse(const char *s, int64_t *days_r, const char **error_r);

#endif
