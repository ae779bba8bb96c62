/*
 * smtpd_data - decoder of DATA and BDAT content; see smtpd_data.h.
 *
 * Input: raw bytes from an SMTP client, any size, any content (NUL bytes,
 * bare CR and LF, lines of any length).  Nothing is allocated and nothing
 * can fail; the state between calls is one small enum.
 */
#include "smtpd_data.h"

#include <string.h>

#include "str.h"

enum {
	ST_LINE_START,	/* at the start of a line */
	ST_MID,		/* inside a line */
	ST_CR,		/* a CR is held back (is it CR LF?) */
	ST_DOT,		/* a '.' at the start of a line is held back */
	ST_DOT_CR,	/* ".\r" at the start of a line is held back */
};

void
smtpd_data_init(struct smtpd_data *d, enum smtpd_data_mode mode,
    enum smtpd_data_newline newline, smtpd_data_emit_fn *emit, void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->mode = mode;
	d->newline = newline;
	d->state = ST_LINE_START;
	/* RFC 5321 4.1.1.4: "DATA<CRLF>.<CRLF>" is an empty message. */
	d->start_real = true;
	d->emit = emit;
	d->ctx = ctx;
}

static void
out(struct smtpd_data *d, const void *p, size_t n)
{
	d->out_bytes += n;
	d->emit(d->ctx, p, n);
}

static void
bare_lf(struct smtpd_data *d)
{
	d->flags |= SMTPD_DATA_BARE_LF;
	if (d->newline == SMTPD_DATA_NL_NORMALIZE)
		out(d, "\r\n", 2);
	else
		out(d, "\n", 1);
	d->state = ST_LINE_START;
	d->start_real = false;
}

static void
bare_cr(struct smtpd_data *d)
{
	d->flags |= SMTPD_DATA_BARE_CR;
	out(d, "\r", 1);
	d->state = ST_MID;
}

size_t
smtpd_data_feed(struct smtpd_data *d, const void *in, size_t len,
    bool *done_r)
{
	const unsigned char *p = in;
	size_t i = 0;

	*done_r = false;
	while (i < len) {
		unsigned char c = p[i];

		switch (d->state) {
		case ST_LINE_START:
			if (c == '.' && d->mode == SMTPD_DATA_DOT) {
				d->state = ST_DOT;
				i++;
				continue;
			}
			d->state = ST_MID;
			continue;
		case ST_MID: {
			size_t j = i;

			while (j < len && p[j] != '\r' && p[j] != '\n')
				j++;
			if (j > i)
				out(d, p + i, j - i);
			i = j;
			if (i == len)
				break;
			if (p[i] == '\r')
				d->state = ST_CR;
			else
				bare_lf(d);
			i++;
			continue;
		}
		case ST_CR:
			if (c == '\n') {
				out(d, "\r\n", 2);
				d->state = ST_LINE_START;
				d->start_real = true;
				i++;
				continue;
			}
			/* Not consumed: C is looked at again in ST_MID. */
			bare_cr(d);
			continue;
		case ST_DOT:
			if (c == '\r') {
				d->state = ST_DOT_CR;
				i++;
				continue;
			}
			if (c == '\n') {
				/* A "." line ended by a bare LF: content. */
				out(d, ".", 1);
				bare_lf(d);
				i++;
				continue;
			}
			/* RFC 5321 4.5.2: drop the first '.' of a longer line. */
			d->state = ST_MID;
			continue;
		case ST_DOT_CR:
			if (c == '\n') {
				i++;
				if (d->start_real) {
					/* <CR><LF>.<CR><LF>: the end. */
					d->state = ST_LINE_START;
					*done_r = true;
					return i;
				}
				out(d, ".\r\n", 3);
				d->state = ST_LINE_START;
				d->start_real = true;
				continue;
			}
			/* ".<CR>x": a longer line, so the '.' was stuffing. */
			bare_cr(d);
			continue;
		}
	}
	return i;
}

void
smtpd_data_finish(struct smtpd_data *d)
{
	switch (d->state) {
	case ST_CR:
		bare_cr(d);
		break;
	case ST_DOT:
		out(d, ".", 1);
		break;
	case ST_DOT_CR:
		out(d, ".", 1);
		bare_cr(d);
		break;
	}
	d->state = ST_LINE_START;
}

int
smtpd_data_newline_parse(const char *value,
    enum smtpd_data_newline *newline_r)
{
	/*
	 * Postfix 3.9 names; "yes" (Postfix 3.8's "refuse bare LF") is taken
	 * as the stricter reading, reject, as docs/parameters.md says.
	 */
	if (str_casecmp(value, "normalize") == 0)
		*newline_r = SMTPD_DATA_NL_NORMALIZE;
	else if (str_casecmp(value, "reject") == 0 ||
	    str_casecmp(value, "yes") == 0)
		*newline_r = SMTPD_DATA_NL_REJECT;
	else if (str_casecmp(value, "no") == 0)
		*newline_r = SMTPD_DATA_NL_KEEP;
	else
		return -1;
	return 0;
}
