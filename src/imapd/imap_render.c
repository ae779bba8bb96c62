/*
 * imap_render - ENVELOPE and BODYSTRUCTURE from a parsed message.
 *
 * Everything rendered comes from message headers written by anyone: every
 * string goes out as a correctly quoted string or as a literal, so that no
 * header text can end a response early or inject protocol elements.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "header.h"
#include "mem.h"
#include "mime.h"
#include "smtp_addr.h"
#include "str.h"

#include "imap_render.h"

#define QUOTED_MAX 1024

void
imap_render_string(struct buf *out, const char *s, size_t len)
{
	bool quoted = len <= QUOTED_MAX;
	size_t start;

	if (s == NULL) {
		buf_append_str(out, "NIL");
		return;
	}
	for (size_t i = 0; quoted && i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0 || c == '\r' || c == '\n' || c >= 0x80)
			quoted = false;
	}
	if (!quoted) {
		buf_printf(out, "{%zu}\r\n", len);
		buf_append(out, s, len);
		return;
	}
	/* Runs without '"' or '\\' in one copy (ENVELOPE of thousands of
	 * messages is mostly this). */
	buf_reserve(out, len + 2);
	buf_append_char(out, '"');
	start = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		buf_append(out, s + start, i - start);
		buf_append_char(out, '\\');
		start = i;
	}
	buf_append(out, s + start, len - start);
	buf_append_char(out, '"');
}

void
imap_render_cstring(struct buf *out, const char *s)
{
	imap_render_string(out, s, s != NULL ? strlen(s) : 0);
}

const char *const imap_envelope_names[IMAP_ENV_FIELDS] = { "Date",
	"Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"In-Reply-To", "Message-ID" };

int
imap_envelope_field(const char *name)
{
	for (int i = 0; i < IMAP_ENV_FIELDS; i++)
		if (str_casecmp(name, imap_envelope_names[i]) == 0)
			return i;
	return -1;
}

static int
env_cb(void *ctx, const struct header_field *f)
{
	struct imap_envelope *e = ctx;

	for (int i = 0; i < IMAP_ENV_FIELDS; i++) {
		struct buf b;

		if (!header_field_is(f, imap_envelope_names[i]))
			continue;
		if (e->v[i] != NULL) {
			e->dup |= 1u << i;
			return 0;
		}
		buf_init(&b, 64 * 1024);
		(void)header_unfold(f->value, f->value_len, true, &b);
		/* A NUL would cut the C string: make it a '?'. */
		for (size_t k = 0; k < b.len; k++)
			if (b.data[k] == '\0')
				b.data[k] = '?';
		e->v[i] = buf_detach(&b, NULL);
		buf_release(&b);
		return 0;
	}
	return 0;
}

void
imap_envelope_parse(const char *hdr, size_t len, struct imap_envelope *e)
{
	size_t body;
	const char *error;

	memset(e, 0, sizeof(*e));
	(void)header_parse_message(hdr, len, 0, env_cb, e, &body, &error);
}

void
imap_envelope_release(struct imap_envelope *e)
{
	for (int i = 0; i < IMAP_ENV_FIELDS; i++) {
		free(e->v[i]);
		e->v[i] = NULL;
	}
}

static void
render_addresses(struct buf *out, const char *v)
{
	struct smtp_addr_list l;
	const char *error;
	const char *group = NULL;
	size_t n;

	if (v == NULL) {
		buf_append_str(out, "NIL");
		return;
	}
	smtp_addr_list_init(&l);
	(void)smtp_addr_list_parse(v, strlen(v), &l, &error);
	if (l.n == 0) {
		smtp_addr_list_release(&l);
		buf_append_str(out, "NIL");
		return;
	}
	buf_append_char(out, '(');
	n = l.n > 1000 ? 1000 : l.n;
	for (size_t i = 0; i < n; i++) {
		const struct smtp_addr_entry *a = &l.v[i];

		if (group != NULL && (a->group == NULL ||
		    strcmp(a->group, group) != 0)) {
			buf_append_str(out, "(NIL NIL NIL NIL)");
			group = NULL;
		}
		if (a->group != NULL && group == NULL) {
			buf_append_str(out, "(NIL NIL ");
			imap_render_cstring(out, a->group);
			buf_append_str(out, " NIL)");
			group = a->group;
		}
		buf_append_char(out, '(');
		imap_render_cstring(out, a->display_name);
		buf_append_str(out, " NIL ");
		imap_render_cstring(out, a->localpart);
		buf_append_char(out, ' ');
		imap_render_cstring(out, a->domain[0] != '\0' ? a->domain :
		    NULL);
		buf_append_char(out, ')');
	}
	if (group != NULL)
		buf_append_str(out, "(NIL NIL NIL NIL)");
	buf_append_char(out, ')');
	smtp_addr_list_release(&l);
}

void
imap_render_envelope_fields(struct buf *out, const char *const *v)
{
	buf_append_char(out, '(');
	imap_render_cstring(out, v[IMAP_ENV_DATE]);
	buf_append_char(out, ' ');
	imap_render_cstring(out, v[IMAP_ENV_SUBJECT]);
	buf_append_char(out, ' ');
	render_addresses(out, v[IMAP_ENV_FROM]);
	buf_append_char(out, ' ');
	/* RFC 3501 7.4.2: Sender and Reply-To default to From. */
	render_addresses(out, v[IMAP_ENV_SENDER] != NULL ?
	    v[IMAP_ENV_SENDER] : v[IMAP_ENV_FROM]);
	buf_append_char(out, ' ');
	render_addresses(out, v[IMAP_ENV_REPLY_TO] != NULL ?
	    v[IMAP_ENV_REPLY_TO] : v[IMAP_ENV_FROM]);
	for (int i = IMAP_ENV_TO; i <= IMAP_ENV_BCC; i++) {
		buf_append_char(out, ' ');
		render_addresses(out, v[i]);
	}
	buf_append_char(out, ' ');
	imap_render_cstring(out, v[IMAP_ENV_IN_REPLY_TO]);
	buf_append_char(out, ' ');
	imap_render_cstring(out, v[IMAP_ENV_MESSAGE_ID]);
	buf_append_char(out, ')');
}

void
imap_render_envelope(struct buf *out, const char *msg,
    const struct mime_part *p)
{
	struct imap_envelope e;

	imap_envelope_parse(msg + p->hdr_off, p->hdr_len, &e);
	imap_render_envelope_fields(out, (const char *const *)e.v);
	imap_envelope_release(&e);
}

static void
render_params(struct buf *out, const struct mime_params *ps,
    const char *def_name, const char *def_value)
{
	if (ps->n == 0) {
		if (def_name == NULL) {
			buf_append_str(out, "NIL");
			return;
		}
		buf_append_char(out, '(');
		imap_render_cstring(out, def_name);
		buf_append_char(out, ' ');
		imap_render_cstring(out, def_value);
		buf_append_char(out, ')');
		return;
	}
	buf_append_char(out, '(');
	for (size_t i = 0; i < ps->n; i++) {
		if (i > 0)
			buf_append_char(out, ' ');
		imap_render_cstring(out, ps->v[i].name);
		buf_append_char(out, ' ');
		imap_render_cstring(out, ps->v[i].value);
	}
	buf_append_char(out, ')');
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
static void
render_ext_tail(struct buf *out, const struct mime_part *p)
{
	buf_append_char(out, ' ');
	if (p->disposition != NULL) {
		buf_append_char(out, '(');
		imap_render_cstring(out, p->disposition);
		buf_append_char(out, ' ');
		render_params(out, &p->disp_params, NULL, NULL);
		buf_append_char(out, ')');
	} else
		buf_append_str(out, "NIL");
	buf_append_char(out, ' ');
	imap_render_cstring(out, p->language);
	buf_append_char(out, ' ');
	imap_render_cstring(out, p->location);
}

void
imap_render_body(struct buf *out, const char *msg,
    const struct mime_part *p, bool extended)
{
	buf_append_char(out, '(');
	if (p->is_multipart) {
		for (size_t i = 0; i < p->n_kids; i++)
			imap_render_body(out, msg, &p->kids[i], extended);
		buf_append_char(out, ' ');
		imap_render_cstring(out, p->subtype);
		if (extended) {
			buf_append_char(out, ' ');
			render_params(out, &p->params, NULL, NULL);
			render_ext_tail(out, p);
		}
		buf_append_char(out, ')');
		return;
	}
	imap_render_cstring(out, p->type);
	buf_append_char(out, ' ');
	imap_render_cstring(out, p->subtype);
	buf_append_char(out, ' ');
	if (strcmp(p->type, "text") == 0)
		render_params(out, &p->params, "charset", "us-ascii");
	else
		render_params(out, &p->params, NULL, NULL);
	buf_append_char(out, ' ');
	imap_render_cstring(out, p->id);
	buf_append_char(out, ' ');
	imap_render_cstring(out, p->description);
	buf_append_char(out, ' ');
	imap_render_cstring(out, p->encoding != NULL ? p->encoding : "7bit");
	buf_printf(out, " %zu", p->body_len);
	if (p->is_message) {
		buf_append_char(out, ' ');
		imap_render_envelope(out, msg, &p->kids[0]);
		buf_append_char(out, ' ');
		imap_render_body(out, msg, &p->kids[0], extended);
		buf_printf(out, " %zu", p->body_lines);
	} else if (strcmp(p->type, "text") == 0)
		buf_printf(out, " %zu", p->body_lines);
	if (extended) {
		buf_append_char(out, ' ');
		imap_render_cstring(out, p->md5);
		render_ext_tail(out, p);
	}
	buf_append_char(out, ')');
}
