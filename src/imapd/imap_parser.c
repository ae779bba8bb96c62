/*
 * imap_parser - reads IMAP commands from the client (RFC 3501 9, RFC 7888
 * LITERAL+) and their typed arguments: sequence sets, FETCH attributes,
 * SEARCH keys.
 *
 * Distrusts every byte: the input is whatever a client sends, split
 * anywhere.  The reader first assembles a command - its lines (without the
 * line ends) and its literals, each literal followed by a NUL of our own
 * so that it can be used as a C string - and only then splits it into
 * arguments.  A line that is too long is skipped to its end without being
 * kept; a synchronising literal over the limit is refused before the
 * client sends it; a non-synchronising one over the limit ends the session
 * (its data cannot be told from commands).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "mem.h"
#include "parse.h"
#include "str.h"

#include "imap_parser.h"

/* One literal's data inside the command buffer. */
struct lit {
	size_t off, len;
};

enum reader_state {
	RS_LINE,		/* reading a line */
	RS_LITERAL,		/* reading literal data */
	RS_SKIP,		/* skipping the rest of a bad line */
};

struct imap_parser {
	struct imap_parser_limits lim;
	enum reader_state state;
	struct buf cmd;		/* lines and literal data of the command */
	size_t line_start;	/* offset of the current line in cmd */
	size_t line_len;	/* octets of the current line seen (skip too) */
	bool cr;		/* the last octet of the line was CR */
	size_t lit_left;	/* RS_LITERAL: octets still to come */
	struct lit *lits;
	size_t n_lits, cap_lits;
	bool is_append;		/* the command is APPEND (big literals) */
	bool literal_plus;
	const char *error;
	char tag[64];
	bool have_tag;
	/* The parsed command. */
	struct buf strs;	/* atoms and quoted strings, NUL-separated */
	struct imap_command command;
	size_t n_args_total;
	char *name;
};

#define CMD_KEEP_MAX (64 * 1024)

void
imap_parser_limits_default(struct imap_parser_limits *lim)
{
	lim->line_max = 64 * 1024;
	lim->literal_max = 64 * 1024 * 1024;
	lim->small_literal_max = 64 * 1024;
	lim->depth_max = 16;
	lim->args_max = 10000;
}

struct imap_parser *
imap_parser_new(const struct imap_parser_limits *lim)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	if (lim != NULL)
		p->lim = *lim;
	else
		imap_parser_limits_default(&p->lim);
	buf_init(&p->cmd, 0);
	buf_init(&p->strs, 0);
	return p;
}

static void
free_args(struct imap_arg *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].type == IMAP_ARG_LIST)
			free_args(v[i].list, v[i].n);
	free(v);
}

void
imap_parser_reset(struct imap_parser *p)
{
	free_args(p->command.args, p->command.n_args);
	memset(&p->command, 0, sizeof(p->command));
	free(p->name);
	p->name = NULL;
	if (p->cmd.cap > CMD_KEEP_MAX) {
		buf_release(&p->cmd);
		buf_init(&p->cmd, 0);
	} else
		buf_reset(&p->cmd);
	if (p->strs.cap > CMD_KEEP_MAX) {
		buf_release(&p->strs);
		buf_init(&p->strs, 0);
	} else
		buf_reset(&p->strs);
	if (p->cap_lits > 16) {
		free(p->lits);
		p->lits = NULL;
		p->cap_lits = 0;
	}
	p->n_lits = 0;
	p->state = RS_LINE;
	p->line_start = 0;
	p->line_len = 0;
	p->cr = false;
	p->lit_left = 0;
	p->is_append = false;
	p->literal_plus = false;
	p->error = NULL;
	p->have_tag = false;
	p->tag[0] = '\0';
	p->n_args_total = 0;
}

void
imap_parser_free(struct imap_parser *p)
{
	if (p == NULL)
		return;
	imap_parser_reset(p);
	buf_release(&p->cmd);
	buf_release(&p->strs);
	free(p->lits);
	free(p);
}

size_t
imap_parser_memory(const struct imap_parser *p)
{
	return sizeof(*p) + p->cmd.cap + p->strs.cap +
	    p->cap_lits * sizeof(struct lit);
}

const struct imap_command *
imap_parser_command(const struct imap_parser *p)
{
	return &p->command;
}

const char *
imap_parser_error(const struct imap_parser *p)
{
	return p->error != NULL ? p->error : "Invalid command";
}

const char *
imap_parser_tag(const struct imap_parser *p)
{
	return p->have_tag ? p->tag : "*";
}

/* RFC 3501 9: ATOM-CHAR is any CHAR except atom-specials. */
static bool
is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

/* tag = 1*<any ASTRING-CHAR except "+"> */
static bool
is_tag_char(unsigned char c)
{
	return c != '+' && (is_atom_char(c) || c == ']');
}

/* Take the tag from the start of the first line when it looks like one. */
static void
note_tag(struct imap_parser *p)
{
	const char *s = p->cmd.data;
	size_t n = 0, avail = p->n_lits > 0 ? p->lits[0].off : p->cmd.len;

	if (p->have_tag)
		return;
	while (n < avail && n < sizeof(p->tag) - 1 &&
	    is_tag_char((unsigned char)s[n]))
		n++;
	if (n == 0 || (n < avail && s[n] != ' '))
		return;
	if (n == avail && p->state != RS_LINE)
		return;
	memcpy(p->tag, s, n);
	p->tag[n] = '\0';
	p->have_tag = true;
}

/* Is the command on the first line APPEND (it may carry big literals)? */
static bool
first_line_is_append(const struct imap_parser *p)
{
	const char *s = p->cmd.data, *sp;
	size_t avail = p->n_lits > 0 ? p->lits[0].off : p->cmd.len;

	sp = memchr(s, ' ', avail);
	if (sp == NULL)
		return false;
	sp++;
	avail -= (size_t)(sp - s);
	return avail > 7 && str_ncasecmp(sp, "APPEND ", 7) == 0;
}

/*
 * Does the line LINE[0..LEN) end in a literal announcement "{n}" or
 * "{n+}" outside a quoted string?  Returns 1 with the size, 0 when not,
 * -1 when it tries to and the number is bad.
 */
static int
line_literal(const char *line, size_t len, uint64_t *size_r, bool *plus_r)
{
	bool quoted = false, esc = false;
	size_t open = 0, i;
	bool have_open = false;
	uint64_t n = 0;

	for (i = 0; i < len; i++) {
		char c = line[i];

		if (quoted) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				quoted = false;
			continue;
		}
		if (c == '"')
			quoted = true;
		else if (c == '{') {
			open = i;
			have_open = true;
		}
	}
	if (quoted || !have_open || len == 0 || line[len - 1] != '}')
		return 0;
	i = open + 1;
	*plus_r = false;
	if (i >= len - 1)
		return -1;
	for (; i < len - 1; i++) {
		char c = line[i];

		if (c == '+' && i == len - 2 && i > open + 1) {
			*plus_r = true;
			break;
		}
		if (c < '0' || c > '9')
			return -1;
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(c - '0');
		if (n > (uint64_t)1 << 40)
			return -1;
	}
	*size_r = n;
	return 1;
}

static enum imap_parse_result tokenize(struct imap_parser *p);

/* The line ending at the end of cmd is complete: a literal follows, or
 * the command is done. */
static enum imap_parse_result
line_done(struct imap_parser *p)
{
	const char *line = p->cmd.data + p->line_start;
	size_t len = p->cmd.len - p->line_start, limit, total_max;
	uint64_t size;
	bool plus;
	int r;

	if (p->n_lits == 0) {
		note_tag(p);
		p->is_append = first_line_is_append(p);
	}
	if (memchr(line, '\0', len) != NULL) {
		p->error = "NUL octet in command line";
		return IMAP_PARSE_BAD;
	}
	if (memchr(line, '\r', len) != NULL) {
		p->error = "CR octet in command line";
		return IMAP_PARSE_BAD;
	}
	r = line_literal(line, len, &size, &plus);
	if (r < 0) {
		p->error = "Invalid literal size";
		return IMAP_PARSE_BAD;
	}
	if (r == 0)
		return tokenize(p);
	limit = p->is_append ? p->lim.literal_max : p->lim.small_literal_max;
	total_max = p->is_append ? p->lim.literal_max + 4 * p->lim.line_max :
	    4 * p->lim.small_literal_max + 4 * p->lim.line_max;
	if (size > limit || p->cmd.len + size > total_max ||
	    p->n_lits >= p->lim.args_max) {
		p->error = "Literal too large";
		return plus ? IMAP_PARSE_FATAL : IMAP_PARSE_BAD;
	}
	if (plus)
		p->literal_plus = true;
	if (p->n_lits == p->cap_lits) {
		p->cap_lits = p->cap_lits ? p->cap_lits * 2 : 4;
		p->lits = xreallocarray(p->lits, p->cap_lits, sizeof(*p->lits));
	}
	p->lits[p->n_lits].off = p->cmd.len;
	p->lits[p->n_lits].len = (size_t)size;
	p->n_lits++;
	if (buf_reserve(&p->cmd, (size_t)size + 1) < 0) {
		p->error = "Literal too large";
		return IMAP_PARSE_FATAL;
	}
	p->lit_left = (size_t)size;
	p->state = RS_LITERAL;
	if (size == 0) {
		buf_append_char(&p->cmd, '\0');
		p->state = RS_LINE;
		p->line_start = p->cmd.len;
		p->line_len = 0;
	}
	return plus ? IMAP_PARSE_MORE : IMAP_PARSE_CONTINUE;
}

enum imap_parse_result
imap_parser_feed(struct imap_parser *p, const char *data, size_t len,
    size_t *used_r)
{
	size_t i = 0;
	enum imap_parse_result r;

	*used_r = 0;
	if (p->error != NULL || p->command.name != NULL)
		return p->command.name != NULL ? IMAP_PARSE_DONE :
		    IMAP_PARSE_BAD;
	while (i < len) {
		if (p->state == RS_LITERAL) {
			size_t n = len - i < p->lit_left ? len - i : p->lit_left;

			buf_append(&p->cmd, data + i, n);
			i += n;
			p->lit_left -= n;
			if (p->lit_left == 0) {
				buf_append_char(&p->cmd, '\0');
				p->state = RS_LINE;
				p->line_start = p->cmd.len;
				p->line_len = 0;
				p->cr = false;
			}
			continue;
		}
		/* A line (or skipping one): up to the next LF. */
		const char *lf = memchr(data + i, '\n', len - i);
		size_t n = lf != NULL ? (size_t)(lf - (data + i)) : len - i;

		if (p->state == RS_LINE) {
			size_t room = p->lim.line_max > p->line_len + 2 ?
			    p->lim.line_max - p->line_len - 2 : 0;

			if (n > room) {
				/* Keep the start for the tag, drop the rest. */
				buf_append(&p->cmd, data + i, room);
				note_tag(p);
				p->state = RS_SKIP;
				p->error = NULL;
			} else
				buf_append(&p->cmd, data + i, n);
		}
		p->line_len += n;
		i += n;
		if (lf == NULL)
			break;
		i++;		/* the LF */
		if (p->state == RS_SKIP) {
			*used_r = i;
			p->error = "Command line too long";
			return IMAP_PARSE_BAD;
		}
		/* CRLF or a bare LF end the line; drop the CR. */
		if (p->cmd.len > p->line_start &&
		    p->cmd.data[p->cmd.len - 1] == '\r')
			buf_truncate(&p->cmd, p->cmd.len - 1);
		r = line_done(p);
		if (r == IMAP_PARSE_MORE)
			continue;
		*used_r = i;
		if (r == IMAP_PARSE_BAD || r == IMAP_PARSE_FATAL)
			note_tag(p);
		return r;
	}
	*used_r = i;
	return IMAP_PARSE_MORE;
}

/*
 * Splitting an assembled command into arguments.
 */
struct tok {
	struct imap_parser *p;
	const char *s;		/* cmd.data */
	size_t pos, end;
	size_t lit;		/* next literal */
};

static const char *
tok_strdup(struct tok *t, const char *s, size_t n)
{
	struct buf *b = &t->p->strs;
	char *r;

	/* Storage was reserved up front: this never moves. */
	if (b->len + n + 1 > b->cap)
		return NULL;
	r = b->data + b->len;
	memcpy(r, s, n);
	r[n] = '\0';
	b->len += n + 1;
	return r;
}

static int parse_list(struct tok *t, struct imap_arg **v_r, size_t *n_r,
    size_t depth, bool top);

static int
add_arg(struct tok *t, struct imap_arg **v, size_t *n, size_t *cap,
    struct imap_arg **a_r)
{
	if (++t->p->n_args_total > t->p->lim.args_max) {
		t->p->error = "Too many arguments";
		return -1;
	}
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	*a_r = &(*v)[(*n)++];
	memset(*a_r, 0, sizeof(**a_r));
	return 0;
}

/* Where the current line ends (a literal's data or the command's end). */
static size_t
line_end(const struct tok *t)
{
	return t->lit < t->p->n_lits ? t->p->lits[t->lit].off : t->end;
}

static int
parse_quoted(struct tok *t, struct imap_arg *a)
{
	struct buf *b = &t->p->strs;
	char *out = b->data + b->len;
	size_t n = 0;

	t->pos++;		/* the opening quote */
	for (;;) {
		char c;

		if (t->pos >= t->end || t->pos == t->p->cmd.len ||
		    (t->lit < t->p->n_lits && t->pos >= t->p->lits[t->lit].off)) {
			t->p->error = "Missing '\"'";
			return -1;
		}
		c = t->s[t->pos++];
		if (c == '"')
			break;
		if (c == '\\') {
			if (t->pos >= line_end(t) ||
			    (t->s[t->pos] != '"' && t->s[t->pos] != '\\')) {
				t->p->error = "Invalid escape in quoted string";
				return -1;
			}
			c = t->s[t->pos++];
		}
		out[n++] = c;
	}
	out[n] = '\0';
	b->len += n + 1;
	a->type = IMAP_ARG_QUOTED;
	a->s = out;
	a->len = n;
	return 0;
}

static int
parse_literal(struct tok *t, struct imap_arg *a)
{
	struct imap_parser *p = t->p;
	size_t i = t->pos + 1;

	while (i < t->end && t->s[i] >= '0' && t->s[i] <= '9')
		i++;
	if (i < t->end && t->s[i] == '+')
		i++;
	if (i >= t->end || t->s[i] != '}' || t->lit >= p->n_lits ||
	    p->lits[t->lit].off != i + 1) {
		p->error = "Unexpected '{'";
		return -1;
	}
	a->type = IMAP_ARG_LITERAL;
	a->s = t->s + p->lits[t->lit].off;
	a->len = p->lits[t->lit].len;
	t->pos = p->lits[t->lit].off + p->lits[t->lit].len + 1;
	t->lit++;
	return 0;
}

static int
parse_atom(struct tok *t, struct imap_arg *a)
{
	size_t start = t->pos, end = line_end(t);
	bool bracket = false, quoted = false;

	while (t->pos < end) {
		unsigned char c = (unsigned char)t->s[t->pos];

		if (quoted) {
			if (c == '\\' && t->pos + 1 < end)
				t->pos++;
			else if (c == '"')
				quoted = false;
			t->pos++;
			continue;
		}
		if (bracket) {
			if (c == ']')
				bracket = false;
			else if (c == '"')
				quoted = true;
			else if (c == '[' || c == '{' || c < 0x20 ||
			    c == 0x7f) {
				t->p->error = "Invalid character in section";
				return -1;
			}
			t->pos++;
			continue;
		}
		if (c == ' ' || c == '(' || c == ')')
			break;
		if (c == '[') {
			bracket = true;
		} else if (c < 0x20 || c == 0x7f || c == '"' || c == '{') {
			t->p->error = "Invalid character in atom";
			return -1;
		}
		t->pos++;
	}
	if (bracket || quoted) {
		t->p->error = "Missing ']'";
		return -1;
	}
	a->type = IMAP_ARG_ATOM;
	a->len = t->pos - start;
	a->s = tok_strdup(t, t->s + start, a->len);
	if (a->s == NULL) {
		t->p->error = "Internal error";
		return -1;
	}
	return 0;
}

static int
parse_one(struct tok *t, struct imap_arg *a, size_t depth)
{
	char c = t->s[t->pos];

	if (c == '(') {
		if (depth >= t->p->lim.depth_max) {
			t->p->error = "Lists nested too deeply";
			return -1;
		}
		t->pos++;
		a->type = IMAP_ARG_LIST;
		return parse_list(t, &a->list, &a->n, depth + 1, false);
	}
	if (c == '"')
		return parse_quoted(t, a);
	if (c == '{')
		return parse_literal(t, a);
	return parse_atom(t, a);
}

/*
 * Elements up to ')' (or the end at the top level).  Elements are
 * separated by one or more spaces; none is needed after '(' or before ')'.
 */
static int
parse_list(struct tok *t, struct imap_arg **v_r, size_t *n_r, size_t depth,
    bool top)
{
	size_t cap = 0;
	bool need_sep = false;

	*v_r = NULL;
	*n_r = 0;
	for (;;) {
		struct imap_arg *a;
		bool sep = false;

		while (t->pos < t->end && t->s[t->pos] == ' ') {
			t->pos++;
			sep = true;
		}
		if (t->pos >= t->end) {
			if (!top) {
				t->p->error = "Missing ')'";
				return -1;
			}
			return 0;
		}
		if (t->s[t->pos] == ')') {
			if (top) {
				t->p->error = "Unexpected ')'";
				return -1;
			}
			t->pos++;
			return 0;
		}
		if (need_sep && !sep) {
			t->p->error = "Missing space between arguments";
			return -1;
		}
		if (add_arg(t, v_r, n_r, &cap, &a) < 0 ||
		    parse_one(t, a, depth) < 0)
			return -1;
		/* A literal's data is followed by the rest of its line. */
		need_sep = true;
	}
}

static bool
word(struct tok *t, char *out, size_t size)
{
	size_t n = 0, end = line_end(t);

	while (t->pos < end && is_atom_char((unsigned char)t->s[t->pos])) {
		if (n + 1 >= size)
			return false;
		out[n++] = t->s[t->pos++];
	}
	out[n] = '\0';
	return n > 0;
}

static enum imap_parse_result
tokenize(struct imap_parser *p)
{
	struct tok t = { .p = p, .s = p->cmd.data, .end = p->cmd.len };
	size_t text = p->cmd.len, reserve;
	char name[32], sub[32];

	for (size_t i = 0; i < p->n_lits; i++)
		text -= p->lits[i].len + 1;
	reserve = 2 * text + 16;
	buf_reset(&p->strs);
	if (buf_reserve(&p->strs, reserve) < 0) {
		p->error = "Command too large";
		return IMAP_PARSE_BAD;
	}
	note_tag(p);
	if (!p->have_tag) {
		p->error = p->cmd.len == 0 ? "Empty command line" :
		    "Invalid tag";
		return IMAP_PARSE_BAD;
	}
	t.pos = strlen(p->tag);
	if (t.pos >= t.end || t.s[t.pos] != ' ') {
		p->error = "Missing command";
		return IMAP_PARSE_BAD;
	}
	t.pos++;
	if (!word(&t, name, sizeof(name)) ||
	    (t.pos < t.end && t.s[t.pos] != ' ')) {
		p->error = "Invalid command name";
		return IMAP_PARSE_BAD;
	}
	for (char *c = name; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	if (strcmp(name, "UID") == 0) {
		if (t.pos >= t.end || t.s[t.pos] != ' ') {
			p->error = "Missing UID command";
			return IMAP_PARSE_BAD;
		}
		t.pos++;
		if (!word(&t, sub, sizeof(sub)) ||
		    (t.pos < t.end && t.s[t.pos] != ' ')) {
			p->error = "Invalid UID command";
			return IMAP_PARSE_BAD;
		}
		for (char *c = sub; *c; c++)
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
		p->name = xmemdup0("UID ", 4);
		p->name = xrealloc(p->name, 4 + strlen(sub) + 1);
		memcpy(p->name + 4, sub, strlen(sub) + 1);
	} else
		p->name = xstrdup(name);
	if (parse_list(&t, &p->command.args, &p->command.n_args, 0, true) < 0) {
		free_args(p->command.args, p->command.n_args);
		p->command.args = NULL;
		p->command.n_args = 0;
		free(p->name);
		p->name = NULL;
		return IMAP_PARSE_BAD;
	}
	p->command.tag = p->tag;
	p->command.name = p->name;
	p->command.literal_plus = p->literal_plus;
	return IMAP_PARSE_DONE;
}

bool
imap_arg_is_string(const struct imap_arg *a)
{
	return a->type != IMAP_ARG_LIST;
}

bool
imap_arg_is_nil(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_ATOM && str_casecmp(a->s, "NIL") == 0;
}

bool
imap_arg_is_cstring(const struct imap_arg *a)
{
	return a->type != IMAP_ARG_LIST && memchr(a->s, '\0', a->len) == NULL;
}

/*
 * Sequence sets.
 */
#define SEQSET_MAX 100000

static int
seq_number(const char **sp, uint32_t *n_r)
{
	const char *s = *sp;
	uint64_t n = 0;

	if (*s == '*') {
		*n_r = IMAP_SEQ_STAR;
		*sp = s + 1;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return -1;
		s++;
	}
	*n_r = (uint32_t)n;
	*sp = s;
	return 0;
}

int
imap_seqset_parse(const char *s, struct imap_seqset *set,
    const char **error_r)
{
	size_t cap = 0;

	set->v = NULL;
	set->n = 0;
	for (;;) {
		struct imap_seq_range r;

		if (seq_number(&s, &r.lo) < 0)
			goto bad;
		r.hi = r.lo;
		if (*s == ':') {
			s++;
			if (seq_number(&s, &r.hi) < 0)
				goto bad;
		}
		if (set->n == SEQSET_MAX) {
			*error_r = "Too many ranges in sequence set";
			imap_seqset_free(set);
			return -1;
		}
		if (set->n == cap) {
			cap = cap ? cap * 2 : 4;
			set->v = xreallocarray(set->v, cap, sizeof(*set->v));
		}
		set->v[set->n++] = r;
		if (*s == '\0')
			return 0;
		if (*s != ',')
			goto bad;
		s++;
	}
bad:
	*error_r = "Invalid sequence set";
	imap_seqset_free(set);
	return -1;
}

void
imap_seqset_free(struct imap_seqset *set)
{
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t n, uint32_t max)
{
	for (size_t i = 0; i < set->n; i++) {
		uint32_t lo = set->v[i].lo, hi = set->v[i].hi;

		if (lo == IMAP_SEQ_STAR)
			lo = max;
		if (hi == IMAP_SEQ_STAR)
			hi = max;
		if (lo > hi) {
			uint32_t x = lo;

			lo = hi;
			hi = x;
		}
		if (lo == 0 && (set->v[i].lo == IMAP_SEQ_STAR ||
		    set->v[i].hi == IMAP_SEQ_STAR) && max == 0)
			continue;
		if (n >= lo && n <= hi && n != 0)
			return true;
	}
	return false;
}

/*
 * FETCH attributes and sections.
 */
static bool
astring_atom_safe(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!is_atom_char((unsigned char)*s) && *s != ']')
			return false;
	return true;
}

void
imap_section_free(struct imap_section *sec)
{
	if (sec->fields != NULL) {
		strlist_release(sec->fields);
		free(sec->fields);
		sec->fields = NULL;
	}
}

static bool
take_word(const char **sp, const char *end, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(end - *sp) < n || str_ncasecmp(*sp, w, n) != 0)
		return false;
	*sp += n;
	return true;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")" */
static int
parse_header_list(const char **sp, const char *end, struct strlist *l,
    const char **error_r)
{
	const char *s = *sp;

	if (s >= end || *s != '(')
		goto bad;
	s++;
	for (;;) {
		struct buf b;

		buf_init(&b, 1024);
		if (s < end && *s == '"') {
			s++;
			while (s < end && *s != '"') {
				if (*s == '\\' && s + 1 < end)
					s++;
				if (buf_append_char(&b, *s) < 0)
					break;
				s++;
			}
			if (s >= end) {
				buf_release(&b);
				goto bad;
			}
			s++;
		} else {
			while (s < end && *s != ' ' && *s != ')') {
				if (!is_atom_char((unsigned char)*s) ||
				    buf_append_char(&b, *s) < 0) {
					buf_release(&b);
					goto bad;
				}
				s++;
			}
		}
		/* A field name is printable ASCII without ':' (RFC 5322). */
		for (size_t i = 0; i < b.len; i++) {
			unsigned char c = (unsigned char)b.data[i];

			if (c <= 0x20 || c >= 0x7f || c == ':') {
				buf_release(&b);
				goto bad;
			}
		}
		if (b.len == 0) {
			buf_release(&b);
			goto bad;
		}
		strlist_add_owned(l, buf_detach(&b, NULL));
		buf_release(&b);
		if (l->n > 1000) {
			*error_r = "Too many header fields";
			return -1;
		}
		if (s < end && *s == ')') {
			*sp = s + 1;
			return 0;
		}
		if (s >= end || *s != ' ')
			goto bad;
		s++;
	}
bad:
	*error_r = "Invalid header field list";
	return -1;
}

int
imap_section_parse(const char *s, size_t len, struct imap_section *sec,
    char **spec_r, const char **error_r)
{
	const char *end = s + len;
	struct buf spec;

	memset(sec, 0, sizeof(*sec));
	*spec_r = NULL;
	buf_init(&spec, 0);
	/* section-part = nz-number *("." nz-number) */
	while (s < end && *s >= '0' && *s <= '9') {
		uint64_t n = 0;

		if (*s == '0')
			goto bad;
		while (s < end && *s >= '0' && *s <= '9') {
			n = n * 10 + (uint64_t)(*s - '0');
			if (n > UINT32_MAX)
				goto bad;
			s++;
		}
		if (sec->n_part == IMAP_SECTION_DEPTH) {
			*error_r = "Section nested too deeply";
			goto fail;
		}
		sec->part[sec->n_part++] = (uint32_t)n;
		buf_printf(&spec, "%s%u", sec->n_part > 1 ? "." : "",
		    (unsigned)n);
		if (s == end)
			break;
		if (*s != '.')
			goto bad;
		s++;
		if (s == end)
			goto bad;
		if (*s < '0' || *s > '9')
			break;
	}
	if (s == end) {
		sec->kind = IMAP_SECTION_ALL;
		goto done;
	}
	if (sec->n_part > 0)
		buf_append_char(&spec, '.');
	if (take_word(&s, end, "HEADER.FIELDS.NOT")) {
		sec->kind = IMAP_SECTION_HEADER_FIELDS_NOT;
		buf_append_str(&spec, "HEADER.FIELDS.NOT");
	} else if (take_word(&s, end, "HEADER.FIELDS")) {
		sec->kind = IMAP_SECTION_HEADER_FIELDS;
		buf_append_str(&spec, "HEADER.FIELDS");
	} else if (take_word(&s, end, "HEADER")) {
		sec->kind = IMAP_SECTION_HEADER;
		buf_append_str(&spec, "HEADER");
	} else if (take_word(&s, end, "TEXT")) {
		sec->kind = IMAP_SECTION_TEXT;
		buf_append_str(&spec, "TEXT");
	} else if (sec->n_part > 0 && take_word(&s, end, "MIME")) {
		sec->kind = IMAP_SECTION_MIME;
		buf_append_str(&spec, "MIME");
	} else
		goto bad;
	if (sec->kind == IMAP_SECTION_HEADER_FIELDS ||
	    sec->kind == IMAP_SECTION_HEADER_FIELDS_NOT) {
		if (s >= end || *s != ' ')
			goto bad;
		s++;
		sec->fields = xmalloc(sizeof(*sec->fields));
		strlist_init(sec->fields);
		if (parse_header_list(&s, end, sec->fields, error_r) < 0)
			goto fail;
		buf_append_str(&spec, " (");
		for (size_t i = 0; i < sec->fields->n; i++) {
			const char *f = sec->fields->v[i];

			if (i > 0)
				buf_append_char(&spec, ' ');
			if (astring_atom_safe(f))
				buf_append_str(&spec, f);
			else
				buf_printf(&spec, "\"%s\"", f);
		}
		buf_append_char(&spec, ')');
	}
	if (s != end)
		goto bad;
done:
	*spec_r = buf_detach(&spec, NULL);
	buf_release(&spec);
	return 0;
bad:
	*error_r = "Invalid section";
fail:
	buf_release(&spec);
	imap_section_free(sec);
	return -1;
}

void
imap_fetch_free(struct imap_fetch *f)
{
	for (size_t i = 0; i < f->n_bodies; i++) {
		imap_section_free(&f->bodies[i].section);
		free(f->bodies[i].spec);
	}
	free(f->bodies);
	f->bodies = NULL;
	f->n_bodies = 0;
	f->items = 0;
}

static int
parse_partial(const char *s, const char *end, struct imap_fetch_body *b)
{
	uint64_t off = 0, cnt = 0;

	if (s == end)
		return 0;
	if (*s++ != '<')
		return -1;
	if (s == end || *s < '0' || *s > '9')
		return -1;
	while (s < end && *s >= '0' && *s <= '9') {
		off = off * 10 + (uint64_t)(*s++ - '0');
		if (off > UINT32_MAX)
			return -1;
	}
	if (s == end || *s++ != '.')
		return -1;
	if (s == end || *s < '1' || *s > '9')
		return -1;
	while (s < end && *s >= '0' && *s <= '9') {
		cnt = cnt * 10 + (uint64_t)(*s++ - '0');
		if (cnt > UINT32_MAX)
			return -1;
	}
	if (s == end || *s++ != '>' || s != end)
		return -1;
	b->partial = true;
	b->offset = (uint32_t)off;
	b->count = (uint32_t)cnt;
	return 0;
}

static int
fetch_att(const char *s, size_t len, struct imap_fetch *f, size_t *cap,
    const char **error_r)
{
	static const struct {
		const char *name;
		unsigned item;
	} simple[] = {
		{ "FLAGS", IMAP_FETCH_FLAGS },
		{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
		{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
		{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
		{ "BODY", IMAP_FETCH_BODY },
		{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
		{ "UID", IMAP_FETCH_UID },
		{ "RFC822", IMAP_FETCH_RFC822 },
		{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER },
		{ "RFC822.TEXT", IMAP_FETCH_RFC822_TEXT },
	};
	const char *end = s + len, *open, *close;
	struct imap_fetch_body b;

	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (str_casecmp(s, simple[i].name) == 0) {
			f->items |= simple[i].item;
			return 0;
		}
	memset(&b, 0, sizeof(b));
	if (str_ncasecmp(s, "BODY[", 5) == 0)
		open = s + 4;
	else if (str_ncasecmp(s, "BODY.PEEK[", 10) == 0) {
		open = s + 9;
		b.peek = true;
	} else
		goto bad;
	close = memchr(open, ']', (size_t)(end - open));
	if (close == NULL)
		goto bad;
	if (parse_partial(close + 1, end, &b) < 0) {
		*error_r = "Invalid partial range";
		return -1;
	}
	if (imap_section_parse(open + 1, (size_t)(close - open - 1),
	    &b.section, &b.spec, error_r) < 0)
		return -1;
	if (f->n_bodies >= 100) {
		imap_section_free(&b.section);
		free(b.spec);
		*error_r = "Too many body sections";
		return -1;
	}
	if (f->n_bodies == *cap) {
		*cap = *cap ? *cap * 2 : 2;
		f->bodies = xreallocarray(f->bodies, *cap, sizeof(*f->bodies));
	}
	f->bodies[f->n_bodies++] = b;
	return 0;
bad:
	*error_r = err_fmt("Invalid fetch attribute: %.40s", s);
	return -1;
}

int
imap_fetch_parse(const struct imap_arg *a, struct imap_fetch *f,
    const char **error_r)
{
	size_t cap = 0;

	memset(f, 0, sizeof(f[0]));
	if (a->type == IMAP_ARG_ATOM) {
		if (str_casecmp(a->s, "ALL") == 0) {
			f->items = IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
			    IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_ENVELOPE;
			return 0;
		}
		if (str_casecmp(a->s, "FAST") == 0) {
			f->items = IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
			    IMAP_FETCH_RFC822_SIZE;
			return 0;
		}
		if (str_casecmp(a->s, "FULL") == 0) {
			f->items = IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
			    IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_ENVELOPE |
			    IMAP_FETCH_BODY;
			return 0;
		}
		if (fetch_att(a->s, a->len, f, &cap, error_r) < 0) {
			imap_fetch_free(f);
			return -1;
		}
		return 0;
	}
	if (a->type != IMAP_ARG_LIST || a->n == 0) {
		*error_r = "Invalid fetch attributes";
		return -1;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (a->list[i].type != IMAP_ARG_ATOM) {
			*error_r = "Invalid fetch attribute";
			imap_fetch_free(f);
			return -1;
		}
		if (fetch_att(a->list[i].s, a->list[i].len, f, &cap,
		    error_r) < 0) {
			imap_fetch_free(f);
			return -1;
		}
	}
	return 0;
}

/*
 * SEARCH keys.
 */
#define SEARCH_DEPTH_MAX 64

int
imap_date_parse(const char *s, int64_t *days_r, const char **error_r)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
		31, 30, 31 };
	int day = 0, mon = -1, year = 0, nd = 0;
	int64_t y, m, days;

	while (*s >= '0' && *s <= '9' && nd < 2) {
		day = day * 10 + (*s++ - '0');
		nd++;
	}
	if (nd == 0 || *s++ != '-')
		goto bad;
	for (int i = 0; i < 12; i++)
		if (str_ncasecmp(s, months[i], 3) == 0)
			mon = i;
	if (mon < 0)
		goto bad;
	s += 3;
	if (*s++ != '-')
		goto bad;
	for (nd = 0; nd < 4; nd++) {
		if (s[nd] < '0' || s[nd] > '9')
			goto bad;
		year = year * 10 + (s[nd] - '0');
	}
	if (s[4] != '\0' || year < 1900)
		goto bad;
	{
		bool leap = (year % 4 == 0 && year % 100 != 0) ||
		    year % 400 == 0;
		int md = mdays[mon] + (mon == 1 && leap ? 1 : 0);

		if (day < 1 || day > md)
			goto bad;
	}
	/* Days from civil (proleptic Gregorian). */
	y = year;
	m = mon + 1;
	if (m <= 2)
		y--;
	{
		int64_t era = (y >= 0 ? y : y - 399) / 400;
		int64_t yoe = y - era * 400;
		int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
		int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = era * 146097 + doe - 719468;
	}
	*days_r = days;
	return 0;
bad:
	*error_r = "Invalid date";
	return -1;
}

struct sparse {
	const struct imap_arg *v;
	size_t n, i;
	const char *error;
};

static struct imap_search *
snew(enum imap_search_op op)
{
	struct imap_search *s = xcalloc(1, sizeof(*s));

	s->op = op;
	return s;
}

static void
sadd(struct imap_search *parent, struct imap_search *kid)
{
	parent->kids = xreallocarray(parent->kids, parent->n_kids + 1,
	    sizeof(*parent->kids));
	parent->kids[parent->n_kids++] = kid;
}

void
imap_search_free(struct imap_search *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_kids; i++)
		imap_search_free(s->kids[i]);
	free(s->kids);
	free(s->field);
	free(s->str);
	imap_seqset_free(&s->seq);
	free(s);
}

static const struct imap_arg *
snext(struct sparse *sp)
{
	if (sp->i >= sp->n) {
		sp->error = "Missing search argument";
		return NULL;
	}
	return &sp->v[sp->i++];
}

static char *
sstring(struct sparse *sp)
{
	const struct imap_arg *a = snext(sp);

	if (a == NULL)
		return NULL;
	if (!imap_arg_is_cstring(a)) {
		sp->error = "Invalid search string";
		return NULL;
	}
	return xstrdup(a->s);
}

static struct imap_search *skey(struct sparse *sp, size_t depth);

static struct imap_search *
skey_list(const struct imap_arg *v, size_t n, size_t depth,
    const char **error_r)
{
	struct sparse sub = { .v = v, .n = n };
	struct imap_search *and = snew(IMAP_SEARCH_AND);

	if (n == 0) {
		*error_r = "Empty search key list";
		imap_search_free(and);
		return NULL;
	}
	while (sub.i < sub.n) {
		struct imap_search *k = skey(&sub, depth + 1);

		if (k == NULL) {
			*error_r = sub.error;
			imap_search_free(and);
			return NULL;
		}
		sadd(and, k);
	}
	return and;
}

static struct imap_search *
skey(struct sparse *sp, size_t depth)
{
	static const struct {
		const char *name;
		enum imap_search_op op;
		const char *arg;	/* flag name, or header field */
		char kind;	/* 0 none, 's' string, 'd' date, 'n' number,
				 * 'h' header field + string, 'f' flag */
	} keys[] = {
		{ "ALL", IMAP_SEARCH_ALL, NULL, 0 },
		{ "ANSWERED", IMAP_SEARCH_FLAG, "\\Answered", 0 },
		{ "BCC", IMAP_SEARCH_HEADER, "Bcc", 's' },
		{ "BEFORE", IMAP_SEARCH_BEFORE, NULL, 'd' },
		{ "BODY", IMAP_SEARCH_BODY, NULL, 's' },
		{ "CC", IMAP_SEARCH_HEADER, "Cc", 's' },
		{ "DELETED", IMAP_SEARCH_FLAG, "\\Deleted", 0 },
		{ "DRAFT", IMAP_SEARCH_FLAG, "\\Draft", 0 },
		{ "FLAGGED", IMAP_SEARCH_FLAG, "\\Flagged", 0 },
		{ "FROM", IMAP_SEARCH_HEADER, "From", 's' },
		{ "HEADER", IMAP_SEARCH_HEADER, NULL, 'h' },
		{ "KEYWORD", IMAP_SEARCH_FLAG, NULL, 'f' },
		{ "LARGER", IMAP_SEARCH_LARGER, NULL, 'n' },
		{ "NEW", IMAP_SEARCH_NEW, NULL, 0 },
		{ "OLD", IMAP_SEARCH_OLD, NULL, 0 },
		{ "ON", IMAP_SEARCH_ON, NULL, 'd' },
		{ "RECENT", IMAP_SEARCH_RECENT, NULL, 0 },
		{ "SEEN", IMAP_SEARCH_FLAG, "\\Seen", 0 },
		{ "SENTBEFORE", IMAP_SEARCH_SENTBEFORE, NULL, 'd' },
		{ "SENTON", IMAP_SEARCH_SENTON, NULL, 'd' },
		{ "SENTSINCE", IMAP_SEARCH_SENTSINCE, NULL, 'd' },
		{ "SINCE", IMAP_SEARCH_SINCE, NULL, 'd' },
		{ "SMALLER", IMAP_SEARCH_SMALLER, NULL, 'n' },
		{ "SUBJECT", IMAP_SEARCH_HEADER, "Subject", 's' },
		{ "TEXT", IMAP_SEARCH_TEXT, NULL, 's' },
		{ "TO", IMAP_SEARCH_HEADER, "To", 's' },
		{ "UNANSWERED", IMAP_SEARCH_UNFLAG, "\\Answered", 0 },
		{ "UNDELETED", IMAP_SEARCH_UNFLAG, "\\Deleted", 0 },
		{ "UNDRAFT", IMAP_SEARCH_UNFLAG, "\\Draft", 0 },
		{ "UNFLAGGED", IMAP_SEARCH_UNFLAG, "\\Flagged", 0 },
		{ "UNKEYWORD", IMAP_SEARCH_UNFLAG, NULL, 'f' },
		{ "UNSEEN", IMAP_SEARCH_UNFLAG, "\\Seen", 0 },
	};
	const struct imap_arg *a;
	struct imap_search *s;

	if (depth > SEARCH_DEPTH_MAX) {
		sp->error = "Search keys nested too deeply";
		return NULL;
	}
	if ((a = snext(sp)) == NULL)
		return NULL;
	if (a->type == IMAP_ARG_LIST) {
		const char *e = NULL;

		s = skey_list(a->list, a->n, depth, &e);
		if (s == NULL)
			sp->error = e;
		return s;
	}
	if (a->type != IMAP_ARG_ATOM) {
		sp->error = "Invalid search key";
		return NULL;
	}
	if ((a->s[0] >= '0' && a->s[0] <= '9') || a->s[0] == '*') {
		s = snew(IMAP_SEARCH_SEQSET);
		if (imap_seqset_parse(a->s, &s->seq, &sp->error) < 0) {
			imap_search_free(s);
			return NULL;
		}
		return s;
	}
	if (str_casecmp(a->s, "NOT") == 0) {
		struct imap_search *k = skey(sp, depth + 1);

		if (k == NULL)
			return NULL;
		s = snew(IMAP_SEARCH_NOT);
		sadd(s, k);
		return s;
	}
	if (str_casecmp(a->s, "OR") == 0) {
		struct imap_search *k1, *k2;

		if ((k1 = skey(sp, depth + 1)) == NULL)
			return NULL;
		if ((k2 = skey(sp, depth + 1)) == NULL) {
			imap_search_free(k1);
			return NULL;
		}
		s = snew(IMAP_SEARCH_OR);
		sadd(s, k1);
		sadd(s, k2);
		return s;
	}
	if (str_casecmp(a->s, "UID") == 0) {
		const struct imap_arg *u = snext(sp);

		if (u == NULL)
			return NULL;
		if (u->type != IMAP_ARG_ATOM) {
			sp->error = "Invalid UID set";
			return NULL;
		}
		s = snew(IMAP_SEARCH_UID);
		if (imap_seqset_parse(u->s, &s->seq, &sp->error) < 0) {
			imap_search_free(s);
			return NULL;
		}
		return s;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct imap_arg *x;

		if (str_casecmp(a->s, keys[i].name) != 0)
			continue;
		s = snew(keys[i].op);
		switch (keys[i].kind) {
		case 0:
			if (keys[i].arg != NULL)
				s->str = xstrdup(keys[i].arg);
			return s;
		case 's':
			if (keys[i].arg != NULL)
				s->field = xstrdup(keys[i].arg);
			if ((s->str = sstring(sp)) == NULL)
				break;
			return s;
		case 'h':
			if ((s->field = sstring(sp)) == NULL ||
			    (s->str = sstring(sp)) == NULL)
				break;
			return s;
		case 'f':
			if ((x = snext(sp)) == NULL)
				break;
			if (x->type != IMAP_ARG_ATOM) {
				sp->error = "Invalid keyword";
				break;
			}
			s->str = xstrdup(x->s);
			return s;
		case 'd':
			if ((x = snext(sp)) == NULL)
				break;
			if (!imap_arg_is_cstring(x) ||
			    imap_date_parse(x->s, &s->num, &sp->error) < 0) {
				sp->error = "Invalid date";
				break;
			}
			return s;
		case 'n': {
			uint64_t n;

			if ((x = snext(sp)) == NULL)
				break;
			if (x->type != IMAP_ARG_ATOM ||
			    parse_uint(x->s, 0, UINT32_MAX, &n,
			    &sp->error) < 0) {
				sp->error = "Invalid number";
				break;
			}
			s->num = (int64_t)n;
			return s;
		}
		}
		imap_search_free(s);
		return NULL;
	}
	sp->error = err_fmt("Unknown search key: %.40s", a->s);
	return NULL;
}

struct imap_search *
imap_search_parse(const struct imap_arg *args, size_t n,
    const char **error_r)
{
	return skey_list(args, n, 0, error_r);
}
