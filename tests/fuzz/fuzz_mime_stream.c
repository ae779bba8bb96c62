/*
 * libFuzzer target: the streaming MIME walk (src/global/mime_stream.c) on
 * arbitrary messages.  The first two input bytes choose the options and a
 * chunk size; the message is walked once whole and once in chunks, and
 * the two event traces must be the same (chunking must never change what
 * the checks see).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mime_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FNV-1a over every event, so a trace costs no memory. */
struct trace {
	uint64_t h;
	size_t events;
};

static void
mix(struct trace *t, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		t->h ^= c[i];
		t->h *= 1099511628211ull;
	}
	t->events++;
}

static void
on_header(void *ctx, enum mime_stream_class cls, const char *hdr, size_t len,
    unsigned flags)
{
	unsigned char tag[2] = { (unsigned char)('H' + cls),
	    (unsigned char)flags };

	mix(ctx, tag, 2);
	mix(ctx, hdr, len);
}

static void
on_header_end(void *ctx, enum mime_stream_class cls, enum mime_stream_end how)
{
	unsigned char tag[2] = { (unsigned char)('E' + cls),
	    (unsigned char)how };

	mix(ctx, tag, 2);
}

static void
on_line(void *ctx, enum mime_stream_line kind, const char *line, size_t len,
    size_t eol, bool check)
{
	unsigned char tag[3] = { (unsigned char)('L' + kind),
	    (unsigned char)eol, check };

	if (eol > 2 || (eol == 1 && line[len] != '\n') ||
	    (eol == 2 && memcmp(line + len, "\r\n", 2) != 0))
		abort();
	mix(ctx, tag, 3);
	mix(ctx, line, len);
}

static void
on_text(void *ctx, const char *text, size_t len)
{
	mix(ctx, "T", 1);
	mix(ctx, text, len);
}

static const struct mime_stream_callbacks cb = {
	.header = on_header,
	.header_end = on_header_end,
	.line = on_line,
	.text = on_text,
};

static struct trace
walk(const struct mime_stream_opts *o, const uint8_t *msg, size_t len,
    size_t step)
{
	struct trace t = { 1469598103934665603ull, 0 };
	struct mime_stream *s = mime_stream_new(o, &cb, &t);

	for (size_t i = 0; i < len; i += step)
		mime_stream_feed(s, msg + i, len - i < step ? len - i : step);
	mime_stream_finish(s);
	mime_stream_free(s);
	return t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_stream_opts o;
	struct trace a, b;
	size_t step;

	if (size < 2)
		return 0;
	mime_stream_opts_default(&o);
	o.no_mime = (data[0] & 1) != 0;
	o.header_max = (data[0] & 2) ? 1024 : 102400;
	o.body_limit = (data[0] & 4) ? 64 : 51200;
	o.depth_max = 1 + (data[0] >> 4);
	step = 1 + data[1];
	data += 2;
	size -= 2;
	a = walk(&o, data, size, size > 0 ? size : 1);
	b = walk(&o, data, size, step);
	if (a.h != b.h || a.events != b.events)
		abort();
	/* headers_only must not crash either (its RAW events follow chunks). */
	o.headers_only = true;
	(void)walk(&o, data, size, step);
	return 0;
}
