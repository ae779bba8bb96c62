/* Unit tests for src/global/attr: the daemon protocol codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "attr.h"
#include "buf.h"

/* Feed S[0..LEN) in chunks of CHUNK bytes; collect every request. */
static int
feed_all(struct attr_decoder *d, const char *s, size_t len, size_t chunk,
    struct attr_list *reqs, size_t max_reqs, size_t *nreqs,
    const char **error_r)
{
	size_t off = 0;

	*nreqs = 0;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk, used;
		int r;

		while (n > 0) {
			r = attr_decoder_feed(d, s + off, n, &used,
			    &reqs[*nreqs], error_r);
			if (r < 0)
				return -1;
			assert_true(used <= n);
			off += used;
			n -= used;
			if (r == 1) {
				(*nreqs)++;
				assert_true(*nreqs <= max_reqs);
			} else {
				assert_int_equal(n, 0);
			}
		}
	}
	return 0;
}

static void
test_escape_table(void **state)
{
	static const struct {
		const char *raw;
		size_t len;
		const char *enc;
	} t[] = {
		{ "", 0, "" },
		{ "plain text", 10, "plain text" },
		{ "100%", 4, "100%25" },
		{ "a\r\nb", 4, "a%0D%0Ab" },
		{ "nul\0x", 5, "nul%00x" },
		{ "tab\tdel\x7f", 8, "tab%09del%7F" },
		{ "utf8 \xc3\xa9\xff", 8, "utf8 \xc3\xa9\xff" },
		{ "a=b c", 5, "a=b c" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf b, back;
		const char *err;

		buf_init(&b, 0);
		buf_init(&back, 0);
		assert_int_equal(attr_escape(&b, t[i].raw, t[i].len), 0);
		assert_string_equal(b.data, t[i].enc);
		assert_int_equal(attr_unescape(&back, b.data, b.len, &err), 0);
		assert_int_equal(back.len, t[i].len);
		assert_memory_equal(back.data, t[i].raw, t[i].len);
		buf_release(&b);
		buf_release(&back);
	}
}

static void
test_unescape_errors(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		const char *error;
	} t[] = {
		{ "%", 1, "bad % escape in value" },
		{ "%4", 2, "bad % escape in value" },
		{ "%4a", 3, "bad % escape in value" },
		{ "%G0", 3, "bad % escape in value" },
		{ "a\rb", 3, "raw CR byte in value" },
		{ "a\nb", 3, "raw LF byte in value" },
		{ "a\0b", 3, "raw NUL byte in value" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf b;
		const char *err = NULL;

		buf_init(&b, 0);
		assert_int_equal(attr_unescape(&b, t[i].s, t[i].len, &err), -1);
		assert_string_equal(err, t[i].error);
		assert_int_equal(b.len, 0);
		buf_release(&b);
	}
}

static void
test_encode(void **state)
{
	struct buf b;
	const char *err = NULL;
	char *big;

	buf_init(&b, 0);
	assert_int_equal(attr_encode(&b, "request", "open", &err), 0);
	assert_int_equal(attr_encode_uint(&b, "length", 18446744073709551615ull,
	    &err), 0);
	assert_int_equal(attr_encode_bin(&b, "v", "a\0%\n", 4, &err), 0);
	assert_int_equal(attr_encode_end(&b), 0);
	assert_string_equal(b.data,
	    "request=open\nlength=18446744073709551615\nv=a%00%25%0A\n\n");

	/* A line of exactly ATTR_LINE_MAX bytes is fine, one more is not. */
	buf_reset(&b);
	big = malloc(ATTR_LINE_MAX + 1);
	memset(big, 'x', ATTR_LINE_MAX);
	big[ATTR_LINE_MAX - 2] = '\0';	/* "v=" + value */
	assert_int_equal(attr_encode(&b, "v", big, &err), 0);
	assert_int_equal(b.len, ATTR_LINE_MAX + 1);
	big[ATTR_LINE_MAX - 2] = 'x';
	big[ATTR_LINE_MAX - 1] = '\0';
	assert_int_equal(attr_encode(&b, "v", big, &err), -1);
	assert_string_equal(err, "attribute v: value too long");
	assert_int_equal(b.len, ATTR_LINE_MAX + 1);
	free(big);
	buf_release(&b);

	/* The output buffer's maximum is respected; nothing half-written. */
	buf_init(&b, 12);
	assert_int_equal(attr_encode(&b, "name", "value", &err), 0);
	assert_int_equal(attr_encode(&b, "x", "too much", &err), -1);
	assert_string_equal(err, "attribute x: output buffer full");
	assert_string_equal(b.data, "name=value\n");
	buf_release(&b);

	assert_true(attr_name_valid("client_address"));
	assert_true(attr_name_valid("a1_"));
	assert_false(attr_name_valid(""));
	assert_false(attr_name_valid("Sender"));
	assert_false(attr_name_valid("a-b"));
	assert_false(attr_name_valid(
	    "x2345678901234567890123456789012345678901234567890123456789012345"));
}

static void
test_decode_simple(void **state)
{
	static const char in[] = "request=open\nsender=\nrcpt=a@b\n"
	    "rcpt=c@d\nsize=42\n\nstatus=0\n\nRAW";
	struct attr_decoder *d = attr_decoder_new();
	struct attr_list l, l2;
	const char *err = NULL, *v;
	size_t used, len;
	uint64_t n;

	attr_list_init(&l);
	attr_list_init(&l2);
	assert_int_equal(attr_decoder_feed(d, in, sizeof(in) - 1, &used, &l,
	    &err), 1);
	assert_int_equal(used, strlen("request=open\nsender=\nrcpt=a@b\n"
	    "rcpt=c@d\nsize=42\n\n"));
	assert_false(attr_decoder_pending(d));
	assert_int_equal(l.n, 5);
	assert_string_equal(attr_get(&l, "request"), "open");
	assert_string_equal(attr_get(&l, "sender"), "");
	assert_string_equal(attr_get(&l, "rcpt"), "a@b");
	assert_int_equal(attr_count(&l, "rcpt"), 2);
	assert_string_equal(l.v[3].value, "c@d");
	assert_null(attr_get(&l, "missing"));
	assert_int_equal(attr_get_uint(&l, "size", 0, 100, &n, &err), 0);
	assert_int_equal(n, 42);
	assert_int_equal(attr_get_uint(&l, "size", 50, 100, &n, &err), -1);
	assert_string_equal(err, "attribute size: number 42 out of range 50..100");
	assert_int_equal(attr_get_uint(&l, "rcpt", 0, 100, &n, &err), -1);
	assert_string_equal(err, "attribute rcpt: not a number: \"a@b\"");
	assert_int_equal(attr_get_uint(&l, "nope", 0, 100, &n, &err), -1);
	assert_string_equal(err, "missing attribute nope");
	assert_int_equal(attr_require(&l, "sender", &v, &err), 0);
	assert_string_equal(v, "");

	/* Second request from the rest; the raw bytes after it are left. */
	{
		size_t off = used;

		assert_int_equal(attr_decoder_feed(d, in + off,
		    sizeof(in) - 1 - off, &used, &l2, &err), 1);
		assert_string_equal(attr_get(&l2, "status"), "0");
		off += used;
		assert_string_equal(in + off, "RAW");
	}
	/* Binary values: attr_get refuses a NUL, attr_get_bin gives it. */
	attr_list_reset(&l);
	attr_list_add(&l, "bin", "a\0b", 3);
	assert_null(attr_get(&l, "bin"));
	assert_non_null(attr_get_bin(&l, "bin", &len));
	assert_int_equal(len, 3);
	assert_int_equal(attr_require(&l, "bin", &v, &err), -1);
	assert_string_equal(err, "attribute bin contains a NUL byte");
	attr_list_release(&l);
	attr_list_release(&l2);
	attr_decoder_free(d);
}

static void
test_random_round_trip(void **state)
{
	srand(12345);
	for (int round = 0; round < 200; round++) {
		struct attr_list in, out[2];
		struct buf enc;
		const char *err = NULL;
		size_t nattrs = 1 + (size_t)rand() % 20, nreqs;
		size_t chunk = round % 3 == 0 ? 1 : 1 + (size_t)rand() % 200;
		struct attr_decoder *d = attr_decoder_new();

		attr_list_init(&in);
		attr_list_init(&out[0]);
		attr_list_init(&out[1]);
		for (size_t i = 0; i < nattrs; i++) {
			char name[32], value[300];
			size_t vlen = (size_t)rand() % sizeof(value);

			(void)snprintf(name, sizeof(name), "a_%zu", i);
			for (size_t j = 0; j < vlen; j++)
				value[j] = (char)(rand() & 0xff);
			attr_list_add(&in, name, value, vlen);
		}
		buf_init(&enc, 0);
		assert_int_equal(attr_encode_list(&enc, &in, &err), 0);
		/* Encoded form: only the end line is empty; no raw CR or NUL. */
		assert_null(memchr(enc.data, '\r', enc.len));
		assert_null(memchr(enc.data, '\0', enc.len));
		assert_int_equal(feed_all(d, enc.data, enc.len, chunk, out, 1,
		    &nreqs, &err), 0);
		assert_int_equal(nreqs, 1);
		assert_int_equal(out[0].n, in.n);
		for (size_t i = 0; i < in.n; i++) {
			assert_string_equal(out[0].v[i].name, in.v[i].name);
			assert_int_equal(out[0].v[i].value_len,
			    in.v[i].value_len);
			assert_memory_equal(out[0].v[i].value, in.v[i].value,
			    in.v[i].value_len);
			assert_int_equal(out[0].v[i].value[in.v[i].value_len],
			    '\0');
		}
		buf_release(&enc);
		attr_list_release(&in);
		attr_list_release(&out[0]);
		attr_list_release(&out[1]);
		attr_decoder_free(d);
	}
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *error;
	} t[] = {
		{ "=x\n", 3, "line 1: bad attribute name" },
		{ "a=1\nb=2\nSender=x\n", 17, "line 3: bad attribute name" },
		{ "a-b=1\n", 6, "line 1: bad attribute name" },
		{ "noequals\n", 9, "line 1: missing '=' after name" },
		{ "a=%4\n", 5, "line 1: bad % escape in value" },
		{ "a=%zz\n", 6, "line 1: bad % escape in value" },
		{ "a=1\nb=x\ry\n", 10, "line 2: raw CR byte in value" },
		{ "a=x\0y\n", 6, "line 1: raw NUL byte in value" },
		{ "a=1\r\n\r\n", 7, "line 1: raw CR byte in value" },
		{ "\n", 1, "line 1: empty request" },
		{ "x2345678901234567890123456789012345678901234567890123456789012345=1\n",
		    68, "line 1: bad attribute name" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct attr_decoder *d = attr_decoder_new();
		struct attr_list l;
		const char *err = NULL;
		size_t used;
		int r;

		attr_list_init(&l);
		r = attr_decoder_feed(d, t[i].in, t[i].len, &used, &l, &err);
		assert_int_equal(r, -1);
		assert_string_equal(err, t[i].error);
		/* The decoder stays failed. */
		err = NULL;
		assert_int_equal(attr_decoder_feed(d, "a=1\n\n", 5, &used, &l,
		    &err), -1);
		assert_string_equal(err, t[i].error);
		attr_list_release(&l);
		attr_decoder_free(d);
	}
}

static void
test_limits(void **state)
{
	struct attr_decoder *d;
	struct attr_list l;
	struct buf b;
	const char *err = NULL;
	size_t used;

	attr_list_init(&l);
	/* A line of ATTR_LINE_MAX bytes passes; one more byte fails. */
	buf_init(&b, 0);
	buf_append_str(&b, "v=");
	while (b.len < ATTR_LINE_MAX)
		buf_append_char(&b, 'x');
	buf_append_str(&b, "\n\n");
	d = attr_decoder_new();
	assert_int_equal(attr_decoder_feed(d, b.data, b.len, &used, &l, &err), 1);
	assert_int_equal(l.v[0].value_len, ATTR_LINE_MAX - 2);
	attr_decoder_free(d);
	buf_truncate(&b, ATTR_LINE_MAX);
	buf_append_str(&b, "y\n\n");
	d = attr_decoder_new();
	/* Also when fed a byte at a time: the limit holds without a LF. */
	for (size_t i = 0;; i++) {
		int r = attr_decoder_feed(d, b.data + i, 1, &used, &l, &err);

		assert_true(i <= ATTR_LINE_MAX);
		if (r < 0)
			break;
		assert_int_equal(r, 0);
	}
	assert_string_equal(err, "line 1: line too long");
	attr_decoder_free(d);

	/* ATTR_COUNT_MAX attributes pass, one more fails. */
	buf_reset(&b);
	for (int i = 0; i < ATTR_COUNT_MAX; i++)
		buf_printf(&b, "a=%d\n", i);
	d = attr_decoder_new();
	assert_int_equal(attr_decoder_feed(d, b.data, b.len, &used, &l, &err), 0);
	assert_true(attr_decoder_pending(d));
	assert_int_equal(attr_decoder_feed(d, "\n", 1, &used, &l, &err), 1);
	assert_int_equal(l.n, ATTR_COUNT_MAX);
	attr_decoder_free(d);
	buf_append_str(&b, "b=1\n\n");
	d = attr_decoder_new();
	assert_int_equal(attr_decoder_feed(d, b.data, b.len, &used, &l, &err), -1);
	assert_string_equal(err, "line 1001: too many attributes");
	attr_decoder_free(d);
	buf_release(&b);
	attr_list_release(&l);
}

static void
test_send_recv(void **state)
{
	int sv[2];
	struct attr_list l;
	struct buf b;
	const char *err = NULL;
	char raw[16];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	attr_list_init(&l);
	buf_init(&b, 0);
	attr_encode(&b, "request", "data", &err);
	attr_encode_uint(&b, "length", 5, &err);
	attr_encode_end(&b);
	buf_append_str(&b, "HELLO");
	attr_encode(&b, "request", "end", &err);
	attr_encode_end(&b);
	assert_int_equal(attr_send(sv[0], b.data, b.len, 1000, &err), 0);
	assert_int_equal(attr_recv(sv[1], 1000, &l, &err), 1);
	assert_string_equal(attr_get(&l, "request"), "data");
	/* attr_recv did not read past the request: the raw data is there. */
	assert_int_equal(read(sv[1], raw, 5), 5);
	assert_memory_equal(raw, "HELLO", 5);
	assert_int_equal(attr_recv(sv[1], 1000, &l, &err), 1);
	assert_string_equal(attr_get(&l, "request"), "end");

	/* Nothing to read: a timeout. */
	assert_int_equal(attr_recv(sv[1], 30, &l, &err), -1);
	assert_string_equal(err, "timeout");
	/* EOF inside a request, then clean EOF. */
	assert_int_equal(attr_send(sv[0], "a=1\n", 4, 1000, &err), 0);
	close(sv[0]);
	assert_int_equal(attr_recv(sv[1], 1000, &l, &err), -1);
	assert_string_equal(err, "unexpected EOF inside a request");
	assert_int_equal(attr_recv(sv[1], 1000, &l, &err), 0);
	close(sv[1]);

	/* Malformed input: the error text survives the decoder. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(attr_send(sv[0], "a=1\nB=2\n\n", 9, 1000, &err), 0);
	assert_int_equal(attr_recv(sv[1], 1000, &l, &err), -1);
	assert_string_equal(err, "line 2: bad attribute name");
	close(sv[1]);
	/* Writing to a closed peer is an error, not a SIGPIPE. */
	assert_int_equal(attr_send(sv[0], "a=1\n\n", 5, 1000, &err), -1);
	assert_non_null(strstr(err, "write: "));
	close(sv[0]);
	buf_release(&b);
	attr_list_release(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_unescape_errors),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode_simple),
		cmocka_unit_test(test_random_round_trip),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_send_recv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
