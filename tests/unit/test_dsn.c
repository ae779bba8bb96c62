/*
 * Unit tests for src/global/dsn: the notices are taken apart with a small
 * MIME splitter and checked part by part (headers, the text part, every
 * field of message/delivery-status, the returned original), plus the
 * NOTIFY rules, RET, the size cap, 8-bit content and hostile strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "dsn.h"
#include "queue_file.h"
#include "str.h"

/* The original message, served by mem_read. */
struct mem {
	const char *data;
	size_t len;
	bool fail;
	size_t max_chunk;	/* 0: as much as asked */
};

static int
mem_read(void *ctx, uint64_t offset, void *data, size_t len, size_t *got_r,
    const char **error_r)
{
	struct mem *m = ctx;

	if (m->fail) {
		*error_r = "disk on fire";
		return -1;
	}
	if (offset >= m->len) {
		*got_r = 0;
		return 0;
	}
	if (len > m->len - offset)
		len = m->len - offset;
	if (m->max_chunk > 0 && len > m->max_chunk)
		len = m->max_chunk;
	memcpy(data, m->data + offset, len);
	*got_r = len;
	return 0;
}

/* A MIME entity split into its header (unfolded fields) and body. */
struct entity {
	char *header;		/* raw header block, CRLF lines */
	char *body;
	size_t body_len;
};

/* Split TEXT[0..LEN) at the first empty line. */
static void
entity_split(const char *text, size_t len, struct entity *e)
{
	const char *sep = NULL;

	if (len >= 2 && memcmp(text, "\r\n", 2) == 0) {
		e->header = strdup("");
		e->body = malloc(len - 1);
		memcpy(e->body, text + 2, len - 2);
		e->body[len - 2] = '\0';
		e->body_len = len - 2;
		return;
	}
	for (size_t i = 0; i + 4 <= len; i++)
		if (memcmp(text + i, "\r\n\r\n", 4) == 0) {
			sep = text + i;
			break;
		}
	assert_non_null(sep);
	e->header = strndup(text, (size_t)(sep - text) + 2);
	e->body_len = len - (size_t)(sep - text) - 4;
	e->body = malloc(e->body_len + 1);
	memcpy(e->body, sep + 4, e->body_len);
	e->body[e->body_len] = '\0';
}

static void
entity_free(struct entity *e)
{
	free(e->header);
	free(e->body);
}

/*
 * The unfolded value of field NAME in the CRLF header block HDR (the
 * N-th one, counting from 0), in a static buffer; NULL when absent.
 */
static const char *
hfield(const char *hdr, const char *name, int nth)
{
	static char val[4096];
	size_t nl = strlen(name);
	const char *p = hdr;

	while (*p != '\0') {
		const char *eol = strstr(p, "\r\n");

		assert_non_null(eol);
		if (str_ncasecmp(p, name, nl) == 0 && p[nl] == ':' &&
		    nth-- == 0) {
			size_t n = 0;
			const char *v = p + nl + 1;

			while (*v == ' ')
				v++;
			for (;;) {
				const char *e = strstr(v, "\r\n");

				assert_true(n + (size_t)(e - v) < sizeof(val));
				memcpy(val + n, v, (size_t)(e - v));
				n += (size_t)(e - v);
				if (e[2] != ' ' && e[2] != '\t')
					break;
				v = e + 2;
				while (*v == ' ' || *v == '\t')
					v++;
				val[n++] = ' ';
			}
			val[n] = '\0';
			return val;
		}
		p = eol + 2;
	}
	return NULL;
}

/* A parsed notice: the top entity and its parts. */
struct notice {
	struct entity top;
	struct entity part[4];
	size_t n_parts;
	char boundary[128];
};

/* Every line ends in CRLF, no bare CR or LF, none longer than 998. */
static void
check_lines(const char *s, size_t len)
{
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r') {
			assert_true(i + 1 < len && s[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_true(s[i] != '\n');
		col++;
		assert_true(col <= 998);
	}
	assert_true(len >= 2 && s[len - 2] == '\r' && s[len - 1] == '\n');
}

static void
notice_parse(const struct buf *b, struct notice *n)
{
	const char *ct, *bp, *p, *end;
	char delim[160];

	memset(n, 0, sizeof(*n));
	entity_split(b->data, b->len, &n->top);
	ct = hfield(n->top.header, "Content-Type", 0);
	assert_non_null(ct);
	assert_non_null(strstr(ct, "multipart/report;"));
	assert_non_null(strstr(ct, "report-type=delivery-status"));
	bp = strstr(ct, "boundary=\"");
	assert_non_null(bp);
	bp += 10;
	end = strchr(bp, '"');
	assert_non_null(end);
	assert_true((size_t)(end - bp) <= 70);
	memcpy(n->boundary, bp, (size_t)(end - bp));
	n->boundary[end - bp] = '\0';
	snprintf(delim, sizeof(delim), "\r\n--%s", n->boundary);
	p = strstr(n->top.body, delim);
	assert_non_null(p);
	for (;;) {
		const char *start = p + strlen(delim), *next;

		if (strncmp(start, "--\r\n", 4) == 0) {
			assert_string_equal(start + 4, "");
			break;
		}
		assert_true(strncmp(start, "\r\n", 2) == 0);
		start += 2;
		next = memmem(start, (size_t)(n->top.body + n->top.body_len -
		    start), delim, strlen(delim));
		assert_non_null(next);
		assert_true(n->n_parts < 4);
		entity_split(start, (size_t)(next - start),
		    &n->part[n->n_parts++]);
		p = next;
	}
}

static void
notice_free(struct notice *n)
{
	entity_free(&n->top);
	for (size_t i = 0; i < n->n_parts; i++)
		entity_free(&n->part[i]);
}

/*
 * The groups of a message/delivery-status body (separated by empty
 * lines): group G's raw text copied into OUT (CRLF lines).
 */
static size_t
status_groups(const char *body, char out[][2048], size_t max)
{
	size_t n = 0;
	const char *p = body;

	while (*p != '\0' && n < max) {
		const char *e = strstr(p, "\r\n\r\n");
		size_t len = e != NULL ? (size_t)(e - p) + 2 : strlen(p);

		assert_true(len < 2048);
		memcpy(out[n], p, len);
		out[n][len] = '\0';
		n++;
		if (e == NULL)
			break;
		p = e + 4;
	}
	return n;
}

static const char msg_plain[] =
    "Received: by mail.example.test (ulak) id X; Mon, 1 Jan 2024\r\n"
    "From: Jane <jane@example.org>\r\n"
    "To: bob@example.test\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "Hello Bob.\r\n"
    "Second line.\r\n";

static const struct dsn_rcpt two_rcpts[] = {
	{ "bob@example.test", "rfc822;Bob@Example.test", "failed", "5.1.1",
	  "unknown user: \"bob\"", 1700000100 },
	{ "carol@remote.example", NULL, "failed", "5.7.1",
	  "host mx.remote.example[192.0.2.9] said: 550 5.7.1 <carol@remote."
	  "example>: Recipient address rejected: Access denied (in reply to "
	  "RCPT TO command)", 1700000200 },
};

static void
base_notice(struct dsn_notice *n, struct mem *m, const char *msg)
{
	memset(n, 0, sizeof(*n));
	memset(m, 0, sizeof(*m));
	m->data = msg;
	m->len = strlen(msg);
	n->kind = DSN_KIND_FAILURE;
	n->hostname = "mail.example.test";
	n->queue_id = "1GA4GC208J03NQK8N";
	n->sender = "jane@example.org";
	n->to = "jane@example.org";
	n->envid = "QQ314159";
	n->arrival = 1700000000;
	n->now = 1700000300;
	n->rcpts = two_rcpts;
	n->n_rcpts = 2;
	n->read = mem_read;
	n->read_ctx = m;
	n->length = m->len;
	n->ret = QUEUE_RET_NONE;
	n->size_limit = 50000;
}

static void
test_failure_full(void **state)
{
	struct dsn_notice dn;
	struct dsn_result res;
	struct mem m;
	struct buf out;
	struct notice nt;
	const char *error = NULL, *v;
	char groups[4][2048];

	base_notice(&dn, &m, msg_plain);
	buf_init(&out, 0);
	assert_int_equal(dsn_build(&dn, &out, &res, &error), 0);
	assert_true(res.returned_full);
	assert_false(res.headers_cut);
	assert_false(res.eight_bit);
	check_lines(out.data, out.len);
	notice_parse(&out, &nt);

	/* The top header. */
	assert_string_equal(hfield(nt.top.header, "From", 0),
	    "MAILER-DAEMON@mail.example.test (Mail Delivery System)");
	assert_string_equal(hfield(nt.top.header, "To", 0),
	    "jane@example.org");
	assert_string_equal(hfield(nt.top.header, "Subject", 0),
	    "Undelivered Mail Returned to Sender");
	assert_string_equal(hfield(nt.top.header, "Auto-Submitted", 0),
	    "auto-replied");
	assert_string_equal(hfield(nt.top.header, "MIME-Version", 0), "1.0");
	assert_non_null(hfield(nt.top.header, "Date", 0));
	assert_null(hfield(nt.top.header, "Message-ID", 0));
	assert_null(hfield(nt.top.header, "Content-Transfer-Encoding", 0));
	assert_int_equal(nt.n_parts, 3);

	/* 1: the text for a person. */
	assert_string_equal(hfield(nt.part[0].header, "Content-Type", 0),
	    "text/plain; charset=us-ascii");
	assert_true(str_has_prefix(nt.part[0].body,
	    "This is the mail system at host mail.example.test.\r\n"));
	assert_non_null(strstr(nt.part[0].body,
	    "<bob@example.test>: unknown user: \"bob\"\r\n"));
	assert_non_null(strstr(nt.part[0].body,
	    "<carol@remote.example>: host mx.remote.example[192.0.2.9] said:"));
	assert_non_null(strstr(nt.part[0].body, "the message itself is "
	    "attached"));

	/* 2: message/delivery-status: per message, then per recipient. */
	assert_string_equal(hfield(nt.part[1].header, "Content-Type", 0),
	    "message/delivery-status");
	assert_int_equal(status_groups(nt.part[1].body, groups, 4), 3);
	assert_string_equal(hfield(groups[0], "Reporting-MTA", 0),
	    "dns; mail.example.test");
	assert_string_equal(hfield(groups[0], "X-Ulak-Queue-ID", 0),
	    "1GA4GC208J03NQK8N");
	assert_string_equal(hfield(groups[0], "X-Ulak-Sender", 0),
	    "rfc822; jane@example.org");
	assert_string_equal(hfield(groups[0], "Original-Envelope-Id", 0),
	    "QQ314159");
	assert_non_null(hfield(groups[0], "Arrival-Date", 0));
	assert_null(hfield(groups[0], "Final-Recipient", 0));

	assert_string_equal(hfield(groups[1], "Final-Recipient", 0),
	    "rfc822; bob@example.test");
	assert_string_equal(hfield(groups[1], "Original-Recipient", 0),
	    "rfc822;Bob@Example.test");
	assert_string_equal(hfield(groups[1], "Action", 0), "failed");
	assert_string_equal(hfield(groups[1], "Status", 0), "5.1.1");
	assert_string_equal(hfield(groups[1], "Diagnostic-Code", 0),
	    "X-Ulak; unknown user: \"bob\"");
	assert_null(hfield(groups[1], "Remote-MTA", 0));
	assert_non_null(hfield(groups[1], "Last-Attempt-Date", 0));
	assert_null(hfield(groups[1], "Will-Retry-Until", 0));

	assert_string_equal(hfield(groups[2], "Final-Recipient", 0),
	    "rfc822; carol@remote.example");
	assert_null(hfield(groups[2], "Original-Recipient", 0));
	assert_string_equal(hfield(groups[2], "Status", 0), "5.7.1");
	assert_string_equal(hfield(groups[2], "Remote-MTA", 0),
	    "dns; mx.remote.example");
	v = hfield(groups[2], "Diagnostic-Code", 0);
	assert_string_equal(v, "smtp; 550 5.7.1 <carol@remote.example>: "
	    "Recipient address rejected: Access denied");

	/* 3: the whole original, byte for byte. */
	assert_string_equal(hfield(nt.part[2].header, "Content-Type", 0),
	    "message/rfc822");
	assert_string_equal(hfield(nt.part[2].header, "Content-Description",
	    0), "Undelivered Message");
	assert_null(hfield(nt.part[2].header, "Content-Transfer-Encoding", 0));
	assert_int_equal(nt.part[2].body_len, strlen(msg_plain));
	assert_memory_equal(nt.part[2].body, msg_plain, strlen(msg_plain));

	/* The boundary occurs nowhere but in the delimiters. */
	assert_null(strstr(msg_plain, nt.boundary));
	notice_free(&nt);
	buf_release(&out);
}

/* RET=HDRS, a big message, postmaster copies, delay and success notices:
 * the header block only, as text/rfc822-headers. */
static void
test_headers_only(void **state)
{
	static const struct {
		const char *what;
		enum dsn_kind kind;
		enum queue_ret ret;
		bool postmaster;
		uint64_t limit;
		const char *description;
		bool cut;
	} cases[] = {
		{ "RET=HDRS", DSN_KIND_FAILURE, QUEUE_RET_HDRS, false, 50000,
		  "Undelivered Message Headers", false },
		{ "bigger than the limit", DSN_KIND_FAILURE, QUEUE_RET_FULL,
		  false, 140, "Undelivered Message Headers", true },
		{ "postmaster copy", DSN_KIND_FAILURE, QUEUE_RET_FULL, true,
		  50000, "Undelivered Message Headers", false },
		{ "delay", DSN_KIND_DELAY, QUEUE_RET_FULL, false, 50000,
		  "Delayed Message Headers", false },
		{ "success", DSN_KIND_SUCCESS, QUEUE_RET_FULL, false, 50000,
		  "Message Headers", false },
	};
	const char *hdr_end = strstr(msg_plain, "\r\n\r\n") + 2;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dsn_notice dn;
		struct dsn_result res;
		struct mem m;
		struct buf out;
		struct notice nt;
		const char *error = NULL;

		print_message("case %s\n", cases[i].what);
		base_notice(&dn, &m, msg_plain);
		dn.kind = cases[i].kind;
		dn.ret = cases[i].ret;
		dn.postmaster = cases[i].postmaster;
		dn.size_limit = cases[i].limit;
		buf_init(&out, 0);
		assert_int_equal(dsn_build(&dn, &out, &res, &error), 0);
		assert_false(res.returned_full);
		assert_int_equal(res.headers_cut, cases[i].cut);
		check_lines(out.data, out.len);
		notice_parse(&out, &nt);
		assert_int_equal(nt.n_parts, 3);
		assert_string_equal(hfield(nt.part[2].header, "Content-Type",
		    0), "text/rfc822-headers");
		assert_string_equal(hfield(nt.part[2].header,
		    "Content-Description", 0), cases[i].description);
		assert_int_equal(nt.part[2].body_len, hdr_end - msg_plain);
		assert_memory_equal(nt.part[2].body, msg_plain,
		    (size_t)(hdr_end - msg_plain));
		assert_int_equal(strstr(nt.part[0].body, "larger than 140 "
		    "bytes") != NULL, cases[i].cut);
		notice_free(&nt);
		buf_release(&out);
	}
}

static void
test_subjects_and_actions(void **state)
{
	static const struct {
		enum dsn_kind kind;
		bool postmaster;
		const char *sender;
		const char *action, *status;
		const char *subject;
		const char *text;
	} cases[] = {
		{ DSN_KIND_FAILURE, false, "jane@example.org", "failed",
		  "5.1.1", "Undelivered Mail Returned to Sender",
		  "could not be delivered" },
		{ DSN_KIND_FAILURE, true, "jane@example.org", "failed",
		  "5.1.1", "Postmaster Copy: Undelivered Mail",
		  "This is a copy, for the postmaster" },
		{ DSN_KIND_FAILURE, true, "", "failed", "5.1.1",
		  "Postmaster Copy: Undelivered Mail", "null sender" },
		{ DSN_KIND_DELAY, false, "jane@example.org", "delayed",
		  "4.4.1", "Delayed Mail (still being retried)",
		  "THIS IS A WARNING ONLY" },
		{ DSN_KIND_DELAY, true, "jane@example.org", "delayed",
		  "4.4.1", "Postmaster Warning: Delayed Mail",
		  "delay warning" },
		{ DSN_KIND_SUCCESS, false, "jane@example.org", "delivered",
		  "2.0.0", "Successful Mail Delivery Report",
		  "was delivered to the recipients" },
		{ DSN_KIND_SUCCESS, false, "jane@example.org", "relayed",
		  "2.0.0", "Successful Mail Delivery Report",
		  "was delivered to the recipients" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dsn_rcpt r = { "bob@example.test", NULL,
			cases[i].action, cases[i].status,
			"connect to mx.example.test: Connection refused",
			1700000100 };
		struct dsn_notice dn;
		struct dsn_result res;
		struct mem m;
		struct buf out;
		struct notice nt;
		const char *error = NULL;
		char groups[3][2048];

		print_message("case %zu\n", i);
		base_notice(&dn, &m, msg_plain);
		dn.kind = cases[i].kind;
		dn.postmaster = cases[i].postmaster;
		dn.sender = cases[i].sender;
		dn.rcpts = &r;
		dn.n_rcpts = 1;
		dn.retry_until = 1700000000 + 5 * 86400;
		buf_init(&out, 0);
		assert_int_equal(dsn_build(&dn, &out, &res, &error), 0);
		check_lines(out.data, out.len);
		notice_parse(&out, &nt);
		assert_string_equal(hfield(nt.top.header, "Subject", 0),
		    cases[i].subject);
		assert_non_null(strstr(nt.part[0].body, cases[i].text));
		assert_int_equal(status_groups(nt.part[1].body, groups, 3), 2);
		assert_string_equal(hfield(groups[1], "Action", 0),
		    cases[i].action);
		assert_string_equal(hfield(groups[1], "Status", 0),
		    cases[i].status);
		if (cases[i].kind == DSN_KIND_DELAY) {
			assert_non_null(hfield(groups[1], "Will-Retry-Until",
			    0));
		} else {
			assert_null(hfield(groups[1], "Will-Retry-Until", 0));
		}
		if (cases[i].kind == DSN_KIND_DELAY && !cases[i].postmaster) {
			/* 300 s in the queue, 5 days minus that to go. */
			assert_non_null(strstr(nt.part[0].body, "5 minutes"));
			assert_non_null(strstr(nt.part[0].body, "4 days"));
		}
		notice_free(&nt);
		buf_release(&out);
	}
}

/* 8-bit original: the part and the whole notice say 8bit. */
static void
test_eight_bit(void **state)
{
	static const char msg8[] = "Subject: caf\xc3\xa9\r\n\r\n"
	    "R\xc3\xa9sum\xc3\xa9\r\n";
	static const char body8[] = "Subject: plain\r\n\r\n"
	    "R\xc3\xa9sum\xc3\xa9\r\n";
	struct {
		const char *msg;
		enum queue_ret ret;
		bool eight;
	} cases[] = {
		{ msg8, QUEUE_RET_FULL, true },
		{ msg8, QUEUE_RET_HDRS, true },
		/* Headers only: the 8-bit body is not returned. */
		{ body8, QUEUE_RET_HDRS, false },
		{ body8, QUEUE_RET_FULL, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dsn_notice dn;
		struct dsn_result res;
		struct mem m;
		struct buf out;
		struct notice nt;
		const char *error = NULL, *cte;

		print_message("case %zu\n", i);
		base_notice(&dn, &m, cases[i].msg);
		dn.ret = cases[i].ret;
		buf_init(&out, 0);
		assert_int_equal(dsn_build(&dn, &out, &res, &error), 0);
		assert_int_equal(res.eight_bit, cases[i].eight);
		notice_parse(&out, &nt);
		cte = hfield(nt.part[2].header, "Content-Transfer-Encoding", 0);
		if (cases[i].eight) {
			assert_string_equal(hfield(nt.top.header,
			    "Content-Transfer-Encoding", 0), "8bit");
			assert_non_null(cte);
			assert_string_equal(cte, "8bit");
		} else {
			assert_null(hfield(nt.top.header,
			    "Content-Transfer-Encoding", 0));
			assert_null(cte);
		}
		/* The text part stays ASCII. */
		assert_string_equal(hfield(nt.part[0].header, "Content-Type",
		    0), "text/plain; charset=us-ascii");
		notice_free(&nt);
		buf_release(&out);
	}
}

/* Headers bigger than the limit are cut at a line end. */
static void
test_header_cut(void **state)
{
	struct dsn_notice dn;
	struct dsn_result res;
	struct mem m;
	struct buf msg, out;
	struct notice nt;
	const char *error = NULL;

	buf_init(&msg, 0);
	for (int i = 0; i < 200; i++)
		buf_printf(&msg, "X-Filler-%03d: %s\r\n", i,
		    "some text to make the header large");
	buf_append_str(&msg, "\r\nbody\r\n");
	base_notice(&dn, &m, msg.data);
	m.max_chunk = 333;	/* odd chunks: the CRLF CRLF search spans them */
	dn.size_limit = 1000;
	buf_init(&out, 0);
	assert_int_equal(dsn_build(&dn, &out, &res, &error), 0);
	assert_true(res.headers_cut);
	notice_parse(&out, &nt);
	assert_true(nt.part[2].body_len <= 1000);
	assert_true(nt.part[2].body_len > 900);
	/* A whole number of lines, a prefix of the original. */
	assert_memory_equal(nt.part[2].body, msg.data, nt.part[2].body_len);
	assert_true(str_has_prefix(msg.data + nt.part[2].body_len,
	    "X-Filler-"));
	notice_free(&nt);
	buf_release(&out);

	/* No header at all: an empty headers part. */
	base_notice(&dn, &m, "\r\nonly a body\r\n");
	dn.ret = QUEUE_RET_HDRS;
	buf_init(&out, 0);
	assert_int_equal(dsn_build(&dn, &out, &res, &error), 0);
	notice_parse(&out, &nt);
	assert_int_equal(nt.part[2].body_len, 0);
	notice_free(&nt);
	buf_release(&out);

	/* A message with no empty line: all of it is header. */
	base_notice(&dn, &m, "Subject: x\r\nTo: y\r\n");
	dn.ret = QUEUE_RET_HDRS;
	buf_init(&out, 0);
	assert_int_equal(dsn_build(&dn, &out, &res, &error), 0);
	notice_parse(&out, &nt);
	assert_string_equal(nt.part[2].body, "Subject: x\r\nTo: y\r\n");
	notice_free(&nt);
	buf_release(&out);
	buf_release(&msg);
}

/* The original holds the boundary we would choose: another one is taken. */
static void
test_boundary_collision(void **state)
{
	struct dsn_notice dn;
	struct dsn_result res;
	struct mem m;
	struct buf msg, out, first;
	struct notice nt;
	const char *error = NULL;

	/* Find the boundary of a plain notice. */
	base_notice(&dn, &m, msg_plain);
	buf_init(&out, 0);
	assert_int_equal(dsn_build(&dn, &out, &res, &error), 0);
	notice_parse(&out, &nt);
	buf_init(&first, 0);
	buf_append_str(&first, nt.boundary);
	notice_free(&nt);
	buf_reset(&out);

	buf_init(&msg, 0);
	buf_printf(&msg, "Subject: trap\r\n\r\n--%s\r\nContent-Type: "
	    "text/plain\r\n\r\nfake\r\n--%s--\r\n", first.data, first.data);
	base_notice(&dn, &m, msg.data);
	assert_int_equal(dsn_build(&dn, &out, &res, &error), 0);
	notice_parse(&out, &nt);
	assert_string_not_equal(nt.boundary, first.data);
	assert_null(strstr(msg.data, nt.boundary));
	assert_int_equal(nt.n_parts, 3);
	assert_memory_equal(nt.part[2].body, msg.data, msg.len);
	notice_free(&nt);
	buf_release(&out);
	buf_release(&msg);
	buf_release(&first);
}

/* Control characters and huge texts never break the structure. */
static void
test_hostile_strings(void **state)
{
	struct buf big;
	struct dsn_rcpt r[2];
	struct dsn_notice dn;
	struct dsn_result res;
	struct mem m;
	struct buf out;
	struct notice nt;
	const char *error = NULL;
	char groups[4][2048];

	buf_init(&big, 0);
	for (int i = 0; i < 400; i++)
		buf_append_str(&big, "word ");
	for (int i = 0; i < 1500; i++)
		buf_append_char(&big, 'x');
	memset(r, 0, sizeof(r));
	r[0].address = "evil\r\nBcc: victim@example.org";
	r[0].orcpt = "rfc822;a\nb";
	r[0].action = "failed";
	r[0].status = "5.0.0";
	r[0].reason = "line one\r\nline two\x01";
	r[1].address = "b@example.test";
	r[1].action = "failed";
	r[1].status = "5.0.0";
	r[1].reason = big.data;
	base_notice(&dn, &m, msg_plain);
	dn.envid = "env\r\nX-Injected: 1";
	dn.to = "jane\n@example.org";
	dn.rcpts = r;
	dn.n_rcpts = 2;
	buf_init(&out, 0);
	assert_int_equal(dsn_build(&dn, &out, &res, &error), 0);
	check_lines(out.data, out.len);
	notice_parse(&out, &nt);
	assert_null(hfield(nt.top.header, "Bcc", 0));
	assert_int_equal(status_groups(nt.part[1].body, groups, 4), 3);
	assert_null(hfield(groups[0], "X-Injected", 0));
	assert_string_equal(hfield(groups[0], "Original-Envelope-Id", 0),
	    "env X-Injected: 1");
	assert_null(hfield(groups[1], "Bcc", 0));
	assert_string_equal(hfield(groups[1], "Diagnostic-Code", 0),
	    "X-Ulak; line one line two?");
	/* The long reason is cut and folded. */
	assert_true(strlen(hfield(groups[2], "Diagnostic-Code", 0)) < 1000);
	notice_free(&nt);
	buf_release(&out);
	buf_release(&big);
}

static void
test_failures(void **state)
{
	struct dsn_notice dn;
	struct dsn_result res;
	struct mem m;
	struct buf out;
	const char *error = NULL;

	base_notice(&dn, &m, msg_plain);
	buf_init(&out, 0);
	buf_append_str(&out, "keep");
	m.fail = true;
	assert_int_equal(dsn_build(&dn, &out, &res, &error), -1);
	assert_string_equal(error, "disk on fire");
	dn.ret = QUEUE_RET_HDRS;
	assert_int_equal(dsn_build(&dn, &out, &res, &error), -1);
	assert_string_equal(error, "disk on fire");
	m.fail = false;
	dn.n_rcpts = 0;
	assert_int_equal(dsn_build(&dn, &out, &res, &error), -1);
	assert_string_equal(error, "no recipient to report on");
	assert_string_equal(out.data, "keep");
	buf_release(&out);
}

static void
test_notify_rules(void **state)
{
	static const struct {
		unsigned notify;
		const char *action;
		bool wants;
	} cases[] = {
		{ 0, "failed", true },
		{ 0, "delayed", true },
		{ 0, "delivered", false },
		{ 0, "relayed", false },
		{ 0, "expanded", false },
		{ QUEUE_NOTIFY_NEVER, "failed", false },
		{ QUEUE_NOTIFY_NEVER, "delayed", false },
		{ QUEUE_NOTIFY_NEVER, "delivered", false },
		{ QUEUE_NOTIFY_SUCCESS, "failed", false },
		{ QUEUE_NOTIFY_SUCCESS, "delayed", false },
		{ QUEUE_NOTIFY_SUCCESS, "delivered", true },
		{ QUEUE_NOTIFY_SUCCESS, "relayed", true },
		{ QUEUE_NOTIFY_SUCCESS, "expanded", true },
		{ QUEUE_NOTIFY_FAILURE, "failed", true },
		{ QUEUE_NOTIFY_FAILURE, "delayed", false },
		{ QUEUE_NOTIFY_FAILURE, "delivered", false },
		{ QUEUE_NOTIFY_DELAY, "delayed", true },
		{ QUEUE_NOTIFY_DELAY, "failed", false },
		{ QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE, "failed", true },
		{ QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_DELAY, "delayed", true },
		{ QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY, "delivered",
		  false },
		{ 0, "bogus", false },
		{ QUEUE_NOTIFY_SUCCESS, "", false },
		{ 0, NULL, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(dsn_notify_wants(cases[i].notify,
		    cases[i].action), cases[i].wants);
	}
	assert_int_equal(dsn_action_kind("failed"), DSN_KIND_FAILURE);
	assert_int_equal(dsn_action_kind("delayed"), DSN_KIND_DELAY);
	assert_int_equal(dsn_action_kind("delivered"), DSN_KIND_SUCCESS);
	assert_int_equal(dsn_action_kind("relayed"), DSN_KIND_SUCCESS);
	assert_int_equal(dsn_action_kind("expanded"), DSN_KIND_SUCCESS);
	assert_int_equal(dsn_action_kind("Failed"), -1);
	assert_int_equal(dsn_action_kind(NULL), -1);
}

static void
test_remote_reply(void **state)
{
	static const struct {
		const char *reason;
		const char *mta, *diag;
	} cases[] = {
		{ "host mx.example.com[192.0.2.1] said: 550 5.1.1 <b@x>: "
		  "unknown (in reply to RCPT TO command)", "mx.example.com",
		  "550 5.1.1 <b@x>: unknown" },
		{ "host mx.example.com[2001:db8::1] said: 452 too many "
		  "recipients", "mx.example.com", "452 too many recipients" },
		{ "host a[b] said: 554", "a", "554" },
		{ "host a[b] said: 554-first line", "a", "554-first line" },
		/* Not a remote reply. */
		{ "unknown user: \"bob\"", NULL, NULL },
		{ "host mx said: 550 no brackets", NULL, NULL },
		{ "host [1.2.3.4] said: 550 no name", NULL, NULL },
		{ "host a b[c] said: 550 space in name", NULL, NULL },
		{ "host a[b] said: hello", NULL, NULL },
		{ "host a[b] said: 650 bad code", NULL, NULL },
		{ "host a[b] answered 550", NULL, NULL },
		{ "", NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf mta, diag;
		bool r;

		print_message("case %zu\n", i);
		buf_init(&mta, 0);
		buf_init(&diag, 0);
		r = dsn_remote_reply(cases[i].reason, &mta, &diag);
		assert_int_equal(r, cases[i].mta != NULL);
		if (r) {
			assert_string_equal(mta.data, cases[i].mta);
			assert_string_equal(diag.data, cases[i].diag);
		} else {
			assert_int_equal(mta.len + diag.len, 0);
		}
		buf_release(&mta);
		buf_release(&diag);
	}
	assert_false(dsn_remote_reply(NULL, NULL, NULL));
}

/* The queue-file reader, on a file written by the queue writer. */
static void
test_queue_file_reader(void **state)
{
	char dir[] = "/tmp/test_dsn.XXXXXX", id[QUEUE_ID_SIZE];
	struct queue_writer *w;
	struct queue_file *qf;
	struct dsn_notice dn;
	struct dsn_result res;
	struct mem m;
	struct buf path, out;
	struct notice nt;
	const char *error = NULL;
	const struct queue_rcpt *qr;
	struct dsn_rcpt r;

	assert_non_null(mkdtemp(dir));
	buf_init(&path, 0);
	buf_printf(&path, "%s/incoming", dir);
	assert_int_equal(mkdir(path.data, 0700), 0);
	w = queue_writer_open(dir, &error);
	assert_non_null(w);
	assert_int_equal(queue_writer_set(w, QUEUE_SENDER, "jane@example.org",
	    &error), 0);
	assert_int_equal(queue_writer_add_rcpt(w, "bob@example.test",
	    "rfc822;bob@example.test", QUEUE_NOTIFY_FAILURE, &error), 0);
	assert_int_equal(queue_writer_write_content(w, msg_plain,
	    strlen(msg_plain), &error), 0);
	assert_int_equal(queue_writer_commit(w, id, &error), 0);
	buf_printf(&path, "/%s", id);
	qf = queue_file_open(path.data, false, &error);
	assert_non_null(qf);

	base_notice(&dn, &m, msg_plain);
	qr = queue_file_rcpt(qf, 0);
	memset(&r, 0, sizeof(r));
	r.address = qr->address;
	r.orcpt = qr->orcpt;
	r.action = "failed";
	r.status = "5.1.1";
	r.reason = "no such user";
	dn.rcpts = &r;
	dn.n_rcpts = 1;
	dn.queue_id = queue_file_id(qf);
	dn.read = dsn_queue_file_reader;
	dn.read_ctx = qf;
	dn.length = queue_file_content_length(qf);
	buf_init(&out, 0);
	assert_int_equal(dsn_build(&dn, &out, &res, &error), 0);
	notice_parse(&out, &nt);
	assert_int_equal(nt.part[2].body_len, strlen(msg_plain));
	assert_memory_equal(nt.part[2].body, msg_plain, strlen(msg_plain));
	assert_non_null(strstr(nt.part[1].body, id));
	notice_free(&nt);
	buf_release(&out);
	queue_file_close(qf);
	assert_int_equal(unlink(path.data), 0);
	buf_reset(&path);
	buf_printf(&path, "%s/incoming", dir);
	assert_int_equal(rmdir(path.data), 0);
	assert_int_equal(rmdir(dir), 0);
	buf_release(&path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_full),
		cmocka_unit_test(test_headers_only),
		cmocka_unit_test(test_subjects_and_actions),
		cmocka_unit_test(test_eight_bit),
		cmocka_unit_test(test_header_cut),
		cmocka_unit_test(test_boundary_collision),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_notify_rules),
		cmocka_unit_test(test_remote_reply),
		cmocka_unit_test(test_queue_file_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
