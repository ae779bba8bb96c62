/*
 * libFuzzer target for src/imapd/imap_parser: the input is fed as a
 * client's byte stream, once whole and once in pieces of a size the first
 * byte picks; both runs must give the same sequence of results.  Every
 * complete command's arguments also go through the sequence-set, FETCH
 * and SEARCH parsers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/imapd/imap_parser.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
typed(const struct imap_command *c)
{
	struct imap_fetch f;
	struct imap_seqset set;
	struct imap_search *s;
	const char *error;

	for (size_t i = 0; i < c->n_args; i++) {
		if (imap_fetch_parse(&c->args[i], &f, &error) == 0)
			imap_fetch_free(&f);
		if (imap_arg_is_cstring(&c->args[i]) &&
		    imap_seqset_parse(c->args[i].s, &set, &error) == 0) {
			(void)imap_seqset_contains(&set, 5, 10);
			imap_seqset_free(&set);
		}
	}
	s = imap_search_parse(c->args, c->n_args, &error);
	imap_search_free(s);
}

/* Run the input; the results go to OUT as one byte each. */
static void
run(const uint8_t *data, size_t size, size_t step, struct buf *out)
{
	struct imap_parser_limits lim;
	struct imap_parser *p;
	size_t off = 0;

	imap_parser_limits_default(&lim);
	lim.line_max = 512;
	lim.small_literal_max = 256;
	lim.literal_max = 4096;
	lim.args_max = 200;
	p = imap_parser_new(&lim);
	while (off < size) {
		size_t n = step == 0 || size - off < step ? size - off : step;
		size_t used;
		enum imap_parse_result r;

		r = imap_parser_feed(p, (const char *)data + off, n, &used);
		if (used > n)
			abort();
		off += used;
		if (r == IMAP_PARSE_MORE) {
			if (used != n)
				abort();
			continue;
		}
		buf_append_char(out, (char)('0' + r));
		if (r == IMAP_PARSE_CONTINUE)
			continue;
		if (r == IMAP_PARSE_DONE)
			typed(imap_parser_command(p));
		else if (imap_parser_error(p) == NULL)
			abort();
		if (r == IMAP_PARSE_FATAL)
			break;
		imap_parser_reset(p);
	}
	imap_parser_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a, b;
	size_t step;

	if (size < 1)
		return 0;
	step = data[0] % 17 + 1;
	buf_init(&a, 0);
	buf_init(&b, 0);
	run(data + 1, size - 1, 0, &a);
	run(data + 1, size - 1, step, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		abort();
	buf_release(&a);
	buf_release(&b);
	return 0;
}
