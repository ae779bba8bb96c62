/*
 * dkim_msg - the message splitter shared by DKIM verification and
 * signing: keeps the header fields as received (bounded by a size limit)
 * and hands the body on as it streams, plus field selection for h= and
 * the removal of b= from a signature field (RFC 6376 3.7, 5.4.2).
 *
 * Reads untrusted message bytes: lines of any length and content are
 * taken, but the header is never kept beyond its limit.
 */
#include <stdlib.h>
#include <string.h>

#include "dkim_private.h"
#include "mem.h"
#include "str.h"

/*
 * Field selection costs (names in h=) x (fields) per signature: a header
 * of a million one-letter fields must not make that quadratic work.
 */
#define DKIM_MAX_FIELDS 2000

void
dkim_msg_init(struct dkim_msg *m, size_t header_max,
    dkim_msg_header_fn *header_fn, dkim_msg_body_fn *body_fn, void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->header_max = header_max > 0 ? header_max : DKIM_HEADER_MAX;
	buf_init(&m->line, 0);
	buf_init(&m->field, 0);
	m->header_fn = header_fn;
	m->body_fn = body_fn;
	m->ctx = ctx;
}

void
dkim_msg_release(struct dkim_msg *m)
{
	for (size_t i = 0; i < m->n_fields; i++)
		free(m->fields[i].raw);
	free(m->fields);
	buf_release(&m->line);
	buf_release(&m->field);
	memset(m, 0, sizeof(*m));
}

static void
dkim_msg_field_done(struct dkim_msg *m)
{
	struct dkim_field *f;
	const char *colon;

	if (!m->have_field)
		return;
	m->have_field = false;
	if (m->n_fields >= DKIM_MAX_FIELDS) {
		m->too_big = true;
		buf_reset(&m->field);
		return;
	}
	m->fields = xreallocarray(m->fields, m->n_fields + 1,
	    sizeof(*m->fields));
	f = &m->fields[m->n_fields++];
	f->len = m->field.len;
	f->raw = buf_detach(&m->field, NULL);
	colon = memchr(f->raw, ':', f->len);
	f->name_len = 0;
	if (colon != NULL) {
		f->name_len = (size_t)(colon - f->raw);
		while (f->name_len > 0 && (f->raw[f->name_len - 1] == ' ' ||
		    f->raw[f->name_len - 1] == '\t'))
			f->name_len--;
	}
}

static void
dkim_msg_header_end(struct dkim_msg *m)
{
	dkim_msg_field_done(m);
	m->header_done = true;
	if (m->header_fn != NULL)
		m->header_fn(m->ctx);
}

/* One complete physical header line (without its line end). */
static void
dkim_msg_line(struct dkim_msg *m, const char *line, size_t len)
{
	if (len == 0) {
		dkim_msg_header_end(m);
		return;
	}
	if ((line[0] == ' ' || line[0] == '\t') && m->have_field) {
		buf_append(&m->field, "\r\n", 2);
		buf_append(&m->field, line, len);
		return;
	}
	dkim_msg_field_done(m);
	buf_append(&m->field, line, len);
	m->have_field = true;
}

void
dkim_msg_feed(struct dkim_msg *m, const char *data, size_t len)
{
	while (len > 0 && !m->header_done) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - data) + 1 : len;

		m->header_size += n;
		if (m->header_size > m->header_max) {
			/* Past the limit nothing more is kept or hashed. */
			m->too_big = true;
			m->header_done = true;
			if (m->header_fn != NULL)
				m->header_fn(m->ctx);
			return;
		}
		buf_append(&m->line, data, nl != NULL ? n - 1 : n);
		data += n;
		len -= n;
		if (nl != NULL) {
			size_t l = m->line.len;

			if (l > 0 && m->line.data[l - 1] == '\r')
				l--;
			dkim_msg_line(m, m->line.data, l);
			if (!m->header_done)
				buf_reset(&m->line);
		}
	}
	if (len > 0 && !m->too_big && m->body_fn != NULL)
		m->body_fn(m->ctx, data, len);
}

void
dkim_msg_end(struct dkim_msg *m)
{
	if (m->ended)
		return;
	m->ended = true;
	if (!m->header_done) {
		/* No empty line: the header is all there is (no body). */
		size_t l = m->line.len;

		if (l > 0 && m->line.data[l - 1] == '\r')
			l--;
		if (l > 0)
			dkim_msg_line(m, m->line.data, l);
		dkim_msg_header_end(m);
	}
}

bool
dkim_field_is(const struct dkim_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->name_len == n && str_ncasecmp(f->raw, name, n) == 0;
}

const char *
dkim_field_value(const struct dkim_field *f, size_t *len_r)
{
	const char *colon = memchr(f->raw, ':', f->len);

	if (colon == NULL) {
		*len_r = 0;
		return "";
	}
	*len_r = f->len - (size_t)(colon + 1 - f->raw);
	return colon + 1;
}

void
dkim_msg_select(const struct dkim_msg *m, char *const *h, size_t n,
    size_t skip, enum dkim_canon c, struct buf *out)
{
	bool *used = xcalloc(m->n_fields + 1, sizeof(*used));

	if (skip < m->n_fields)
		used[skip] = true;
	for (size_t i = 0; i < n; i++) {
		/* RFC 6376 5.4.2: instances are taken from the bottom up. */
		for (size_t j = m->n_fields; j-- > 0;) {
			if (used[j] || !dkim_field_is(&m->fields[j], h[i]))
				continue;
			used[j] = true;
			dkim_canon_header(c, m->fields[j].raw,
			    m->fields[j].len, out);
			break;
		}
	}
	free(used);
}

static bool
dkim_msg_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void
dkim_sig_field_for_hash(const char *field, size_t len, enum dkim_canon c,
    struct buf *out)
{
	const char *colon = memchr(field, ':', len);
	size_t pos = colon != NULL ? (size_t)(colon + 1 - field) : len;
	struct buf tmp;

	buf_init(&tmp, 0);
	buf_append(&tmp, field, pos);
	/* Copy tag by tag; the value of b= (and white space) is dropped. */
	while (pos < len) {
		size_t end = pos, s = pos, e;

		while (end < len && field[end] != ';')
			end++;
		while (s < end && dkim_msg_ws(field[s]))
			s++;
		e = s;
		while (e < end && field[e] != '=' && !dkim_msg_ws(field[e]))
			e++;
		if (e - s == 1 && field[s] == 'b') {
			const char *eq = memchr(field + e, '=', end - e);

			if (eq != NULL) {
				buf_append(&tmp, field + pos,
				    (size_t)(eq + 1 - (field + pos)));
				pos = end;
				if (pos < len)
					buf_append_char(&tmp, ';');
				pos++;
				continue;
			}
		}
		buf_append(&tmp, field + pos, end - pos);
		if (end < len)
			buf_append_char(&tmp, ';');
		pos = end + 1;
	}
	dkim_canon_header(c, tmp.data, tmp.len, out);
	buf_truncate(out, out->len - 2);	/* no CRLF after the signature */
	buf_release(&tmp);
}
