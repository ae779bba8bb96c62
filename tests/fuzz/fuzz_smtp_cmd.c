/*
 * libFuzzer target for smtp_cmd_parse() and the xtext codec.
 * The first input byte selects the SMTP_CMD_* flags; the rest is one
 * command line.  Besides memory errors it checks that a parsed path
 * survives a round trip through its external form.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smtp_addr.h"
#include "smtp_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_path(const struct smtp_addr *a, unsigned aflags)
{
	const struct smtp_status *status;
	const char *reason;
	struct smtp_addr again;
	struct buf b;

	if (a->is_null)
		return;
	buf_init(&b, 0);
	buf_append_char(&b, '<');
	smtp_addr_externalize(a->addr, &b);
	buf_append_char(&b, '>');
	if (smtp_addr_parse_path(b.data, b.len, aflags, &again, &status,
	    &reason) != 0 || strcmp(again.addr, a->addr) != 0)
		abort();
	buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct smtp_status *status;
	const char *reason;
	struct smtp_cmd cmd;
	unsigned flags;
	struct buf dec, enc, dec2;

	if (size < 1)
		return 0;
	flags = data[0] & 7;
	if (smtp_cmd_parse((const char *)data + 1, size - 1, flags, &cmd,
	    &status, &reason) == 0) {
		if (cmd.verb == SMTP_VERB_MAIL || cmd.verb == SMTP_VERB_RCPT) {
			unsigned aflags = SMTP_ADDR_NODOMAIN;

			if (cmd.verb == SMTP_VERB_MAIL)
				aflags |= SMTP_ADDR_SENDER;
			if (cmd.path.utf8)
				aflags |= SMTP_ADDR_SMTPUTF8;
			check_path(&cmd.path, aflags);
		}
		if (cmd.arg != NULL)
			(void)strlen(cmd.arg);
	} else if (status == NULL || status->reply == NULL || reason == NULL) {
		abort();
	}
	smtp_cmd_release(&cmd);

	/* xtext: decode, encode, decode again gives the same. */
	buf_init(&dec, 0);
	if (smtp_xtext_decode((const char *)data + 1, size - 1, &dec) == 0) {
		buf_init(&enc, 0);
		buf_init(&dec2, 0);
		smtp_xtext_encode(dec.data, dec.len, &enc);
		if (smtp_xtext_decode(enc.data, enc.len, &dec2) != 0 ||
		    dec2.len != dec.len || memcmp(dec.data, dec2.data, dec.len))
			abort();
		buf_release(&enc);
		buf_release(&dec2);
	}
	buf_release(&dec);
	return 0;
}
