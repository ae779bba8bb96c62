/*
 * queue_list - mailq formatting; see queue_list.h.
 *
 * Addresses and reasons come from queue files and logs that outsiders
 * influenced (an SMTP client chose them): control bytes are replaced
 * before they reach the administrator's terminal.
 */
#include "queue_list.h"

#include <string.h>

#include "buf.h"

#define QUEUE_LIST_ID_WIDTH 11
#define QUEUE_LIST_SENDER_COL 42

static void
append_clean(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		buf_append_char(out, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
}

static void
pad(struct buf *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_append_char(out, ' ');
}

void
queue_list_header(struct buf *out)
{
	buf_append_str(out, "-Queue ID-  --Size-- ----Arrival Time---- "
	    "-Sender/Recipient-------\n");
}

void
queue_list_entry(struct buf *out, const struct queue_list_entry *e)
{
	char when[64];
	struct tm tm;
	size_t start = out->len, col;
	const char *last_reason = NULL;

	if (localtime_r(&e->arrival, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm) == 0)
		when[0] = '\0';
	buf_append_str(out, e->id);
	if (e->flag != ' ')
		buf_append_char(out, e->flag);
	if (out->len - start < QUEUE_LIST_ID_WIDTH)
		pad(out, QUEUE_LIST_ID_WIDTH - (out->len - start));
	buf_printf(out, " %8llu %-20.20s ", (unsigned long long)e->size,
	    when);
	/* Long IDs push the sender right; recipients follow it. */
	col = out->len - start;
	if (col < QUEUE_LIST_SENDER_COL) {
		pad(out, QUEUE_LIST_SENDER_COL - col);
		col = QUEUE_LIST_SENDER_COL;
	}
	append_clean(out, e->sender[0] != '\0' ? e->sender : "MAILER-DAEMON");
	buf_append_char(out, '\n');
	for (size_t i = 0; i < e->n_rcpts; i++) {
		const struct queue_list_rcpt *r = &e->rcpts[i];

		if (r->reason != NULL && (last_reason == NULL ||
		    strcmp(last_reason, r->reason) != 0)) {
			pad(out, col);
			buf_append_char(out, '(');
			append_clean(out, r->reason);
			buf_append_str(out, ")\n");
		}
		last_reason = r->reason;
		pad(out, col);
		append_clean(out, r->address);
		buf_append_char(out, '\n');
	}
	buf_append_char(out, '\n');
}

void
queue_list_total(struct buf *out, uint64_t total_bytes, size_t n_requests)
{
	if (n_requests == 0) {
		buf_append_str(out, "Mail queue is empty\n");
		return;
	}
	buf_printf(out, "-- %llu Kbytes in %zu Request%s.\n",
	    (unsigned long long)((total_bytes + 1023) / 1024), n_requests,
	    n_requests == 1 ? "" : "s");
}
