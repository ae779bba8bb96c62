/*
 * pop3_cmd - POP3 command lines and the RETR/TOP encoding; see
 * pop3_cmd.h.
 *
 * Distrusts every byte of a command line: only the bytes given are read,
 * each argument is copied with a bounded copy whose truncation is an
 * error, and numbers go through parse_uint.
 */
#include "pop3_cmd.h"

#include <string.h>

#include "buf.h"
#include "parse.h"
#include "str.h"

static const struct {
	const char *kw;
	enum pop3_cmd_name name;
	int min, max;		/* arguments */
	bool numeric;		/* arguments are message numbers/counts */
} commands[] = {
	{ "USER", POP3_CMD_USER, 1, 1, false },
	{ "PASS", POP3_CMD_PASS, 1, 1, false },
	{ "AUTH", POP3_CMD_AUTH, 0, 2, false },
	{ "STAT", POP3_CMD_STAT, 0, 0, false },
	{ "LIST", POP3_CMD_LIST, 0, 1, true },
	{ "UIDL", POP3_CMD_UIDL, 0, 1, true },
	{ "RETR", POP3_CMD_RETR, 1, 1, true },
	{ "TOP", POP3_CMD_TOP, 2, 2, true },
	{ "DELE", POP3_CMD_DELE, 1, 1, true },
	{ "RSET", POP3_CMD_RSET, 0, 0, false },
	{ "NOOP", POP3_CMD_NOOP, 0, 0, false },
	{ "QUIT", POP3_CMD_QUIT, 0, 0, false },
	{ "CAPA", POP3_CMD_CAPA, 0, 0, false },
	{ "STLS", POP3_CMD_STLS, 0, 0, false },
	{ "APOP", POP3_CMD_APOP, 2, 2, false },
};

const char *
pop3_cmd_keyword(enum pop3_cmd_name name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].name == name)
			return commands[i].kw;
	return "?";
}

int
pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *out,
    const char **error_r)
{
	char kw[8];
	size_t kwlen, pos, ci;
	const char *p;

	memset(out, 0, sizeof(*out));
	if (len > POP3_LINE_MAX) {
		*error_r = "line too long";
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL in command line";
		return -1;
	}
	p = memchr(line, ' ', len);
	kwlen = p ? (size_t)(p - line) : len;
	if (kwlen < 3 || kwlen > 4) {
		*error_r = "unknown command";
		return -1;
	}
	memcpy(kw, line, kwlen);
	kw[kwlen] = '\0';
	for (ci = 0; ci < sizeof(commands) / sizeof(commands[0]); ci++)
		if (str_casecmp(kw, commands[ci].kw) == 0)
			break;
	if (ci == sizeof(commands) / sizeof(commands[0])) {
		*error_r = "unknown command";
		return -1;
	}
	out->name = commands[ci].name;
	pos = kwlen;
	if (out->name == POP3_CMD_PASS) {
		/* RFC 1939 7: the rest of the line, spaces included. */
		if (pos + 1 >= len) {
			*error_r = "PASS needs a password";
			return -1;
		}
		memcpy(out->arg[0], line + pos + 1, len - pos - 1);
		out->arg[0][len - pos - 1] = '\0';
		out->argc = 1;
		return 0;
	}
	while (pos < len) {
		size_t start, alen;
		const char *sp;

		/* One space separates arguments (RFC 1939 3). */
		if (line[pos] != ' ' || pos + 1 >= len || line[pos + 1] == ' ') {
			*error_r = "bad spacing in command line";
			return -1;
		}
		start = pos + 1;
		sp = memchr(line + start, ' ', len - start);
		alen = sp ? (size_t)(sp - line) - start : len - start;
		if (out->argc == commands[ci].max) {
			*error_r = commands[ci].max == 0 ?
			    "this command takes no argument" :
			    "too many arguments";
			return -1;
		}
		memcpy(out->arg[out->argc], line + start, alen);
		out->arg[out->argc][alen] = '\0';
		if (commands[ci].numeric) {
			uint64_t v;
			const char *error;
			/* TOP's second argument (lines) may be 0. */
			uint64_t min = out->name == POP3_CMD_TOP &&
			    out->argc == 1 ? 0 : 1;

			if (parse_uint(out->arg[out->argc], min, UINT32_MAX,
			    &v, &error) < 0) {
				*error_r = "invalid message number";
				return -1;
			}
			out->num[out->argc] = (uint32_t)v;
		}
		out->argc++;
		pos = start + alen;
	}
	if (out->argc < commands[ci].min) {
		*error_r = "missing argument";
		return -1;
	}
	return 0;
}

void
pop3_encode_init(struct pop3_encode *e, long body_lines)
{
	memset(e, 0, sizeof(*e));
	e->bol = true;
	e->lines_left = body_lines;
}

void
pop3_encode(struct pop3_encode *e, const char *in, size_t len,
    struct buf *out)
{
	size_t i = 0;

	while (i < len && !e->done) {
		size_t j = i;

		/* Copy the plain run up to the next byte that needs care. */
		if (!e->bol) {
			while (j < len && in[j] != '\n' && in[j] != '\r')
				j++;
			if (j > i) {
				(void)buf_append(out, in + i, j - i);
				e->line_len += j - i;
				e->last_cr = false;
				i = j;
				continue;
			}
		}
		if (e->bol && in[i] == '.')
			(void)buf_append_char(out, '.');
		if (in[i] == '\n') {
			(void)buf_append_str(out, e->last_cr ? "\n" : "\r\n");
			if (!e->in_body) {
				if (e->line_len == 0) {
					e->in_body = true;
					if (e->lines_left == 0)
						e->done = true;
				}
			} else if (e->lines_left > 0 && --e->lines_left == 0) {
				e->done = true;
			}
			e->bol = true;
			e->last_cr = false;
			e->line_len = 0;
		} else {
			(void)buf_append_char(out, in[i]);
			if (in[i] == '\r') {
				e->last_cr = true;
			} else {
				e->last_cr = false;
				e->line_len++;
			}
			e->bol = false;
		}
		i++;
	}
}

void
pop3_encode_finish(struct pop3_encode *e, struct buf *out)
{
	if (!e->bol)
		(void)buf_append_str(out, e->last_cr ? "\n" : "\r\n");
	(void)buf_append_str(out, ".\r\n");
}
