/*
 * dkim_private - what the dkim*.c files share and nobody else uses: the
 * message splitter that keeps the header fields and streams the body,
 * field selection for h=, and small helpers.
 */
#ifndef ULAK_DKIM_PRIVATE_H
#define ULAK_DKIM_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "dkim.h"

/* One header field as received; folds joined with CRLF, no final CRLF. */
struct dkim_field {
	char *raw;
	size_t len;
	size_t name_len;	/* octets of the name (before the colon, without
				   white space); 0 for a line without a colon */
};

typedef void dkim_msg_body_fn(void *ctx, const char *data, size_t len);
typedef void dkim_msg_header_fn(void *ctx);

struct dkim_msg {
	size_t header_max;
	size_t header_size;
	bool header_done;	/* the empty line was seen (or input ended) */
	bool too_big;		/* the header went over header_max */
	bool ended;
	struct buf line;	/* the current physical header line */
	struct buf field;	/* the field being put together */
	bool have_field;
	struct dkim_field *fields;
	size_t n_fields;
	dkim_msg_header_fn *header_fn;	/* called once when the header ends */
	dkim_msg_body_fn *body_fn;	/* body octets as they come */
	void *ctx;
};

void dkim_msg_init(struct dkim_msg *m, size_t header_max,
    dkim_msg_header_fn *header_fn, dkim_msg_body_fn *body_fn, void *ctx);
void dkim_msg_feed(struct dkim_msg *m, const char *data, size_t len);
void dkim_msg_end(struct dkim_msg *m);
void dkim_msg_release(struct dkim_msg *m);

/* True when field F is named NAME (ASCII case ignored). */
bool dkim_field_is(const struct dkim_field *f, const char *name);
/* The value of F: what follows the colon ("" without one). */
const char *dkim_field_value(const struct dkim_field *f, size_t *len_r);

/*
 * The header hash input of RFC 6376 5.4.2: for each name of H[0..N), the
 * bottom-most not yet used field of that name, canonicalized with C;
 * names with no field left add nothing.  Field SKIP (the signature
 * itself; (size_t)-1 for none) is never chosen.  Appended to OUT.
 */
void dkim_msg_select(const struct dkim_msg *m, char *const *h, size_t n,
    size_t skip, enum dkim_canon c, struct buf *out);

/*
 * The DKIM-Signature field FIELD[0..LEN) with the value of its b= tag
 * removed (RFC 6376 3.7), canonicalized with C, without the final CRLF,
 * appended to OUT.
 */
void dkim_sig_field_for_hash(const char *field, size_t len, enum dkim_canon c,
    struct buf *out);

/* A domain name or selector DKIM can use (labels of [A-Za-z0-9_-]). */
bool dkim_name_valid(const char *s);

#endif
