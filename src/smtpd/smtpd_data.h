/*
 * smtpd_data - the decoder of message content as a client sends it after
 * DATA (RFC 5321 4.1.1.4, 4.5.2) or in BDAT chunks (RFC 3030).
 *
 * It is fed the raw bytes from the network in pieces of any size and
 * emits the message content: dot-unstuffed, with line endings checked.
 * Only <CR><LF>.<CR><LF> ends a DATA message (the line start counts only
 * after a real <CR><LF>, and the very start of the content counts as one):
 * <LF>.<LF>, <CR>.<CR>, <CR><LF>.<LF> and the like never do, which makes
 * SMTP smuggling impossible.  A bare <LF> or bare <CR> is recorded in the
 * flags; what becomes of it follows smtpd_forbid_bare_newline:
 *   NORMALIZE  a bare <LF> is emitted as <CR><LF>; a bare <CR> is kept
 *   REJECT     both are emitted unchanged; the caller rejects the message
 *   KEEP       both are emitted unchanged (and tolerated)
 *
 * The decoder distrusts its input completely and never allocates; it
 * keeps at most three held-back bytes of state between calls.
 */
#ifndef ULAK_SMTPD_DATA_H
#define ULAK_SMTPD_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtpd_data_mode {
	SMTPD_DATA_DOT,		/* DATA: dot-unstuffing, end at CRLF.CRLF */
	SMTPD_DATA_RAW,		/* BDAT: bytes as they are, no end marker */
};

enum smtpd_data_newline {
	SMTPD_DATA_NL_NORMALIZE,
	SMTPD_DATA_NL_REJECT,
	SMTPD_DATA_NL_KEEP,
};

/* Flags: what the content held so far. */
#define SMTPD_DATA_BARE_LF 0x01u
#define SMTPD_DATA_BARE_CR 0x02u

/* Receives a piece of decoded content (never with LEN 0). */
typedef void smtpd_data_emit_fn(void *ctx, const void *data, size_t len);

struct smtpd_data {
	enum smtpd_data_mode mode;
	enum smtpd_data_newline newline;
	int state;
	bool start_real;	/* the current line began after a real CRLF */
	unsigned flags;		/* SMTPD_DATA_BARE_* seen so far */
	uint64_t out_bytes;	/* content bytes emitted so far */
	smtpd_data_emit_fn *emit;
	void *ctx;
};

/*
 * Start decoding one message (DATA) or one series of BDAT chunks (RAW).
 * EMIT is called with every piece of content; it must not be NULL.
 */
void smtpd_data_init(struct smtpd_data *d, enum smtpd_data_mode mode,
    enum smtpd_data_newline newline, smtpd_data_emit_fn *emit, void *ctx);

/*
 * Decode IN[0..LEN).  Returns the number of bytes consumed: all of them,
 * except in DOT mode when the end of the message is found: then *DONE_R is
 * set to true and the count includes the final <CR><LF>.<CR><LF> (the
 * rest belongs to the next command).  Never fails: problems are recorded
 * in d->flags.
 */
size_t smtpd_data_feed(struct smtpd_data *d, const void *in, size_t len,
    bool *done_r);

/*
 * RAW mode, after the last chunk (BDAT ... LAST): a <CR> still held back
 * was a bare <CR>; it is emitted (and flagged) now.
 */
void smtpd_data_finish(struct smtpd_data *d);

/* Parse a smtpd_forbid_bare_newline value; -1 when it is none we know. */
int smtpd_data_newline_parse(const char *value,
    enum smtpd_data_newline *newline_r);

#endif
