/*
 * libFuzzer target for dkim: the DKIM-Signature tag parser and the key
 * record parser (the two parsers of text from strangers), and the whole
 * verifier on a message (header splitting, field selection, b= removal,
 * canonicalization), with fixed RSA and Ed25519 key records.  The first
 * input byte picks what is fed the rest.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {
	"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
	"iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3Fut"
	"ACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2"
	"EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
};

static void
fuzz_sig(const char *p, size_t n)
{
	struct dkim_sig sig;
	const char *error;

	if (dkim_sig_parse(p, n, &sig, &error) == 0) {
		/* What a parsed signature promises. */
		if (sig.d == NULL || sig.s == NULL || sig.i == NULL ||
		    sig.n_h == 0 || sig.b_len == 0 || sig.bh_len == 0 ||
		    strchr(sig.i, '@') == NULL)
			abort();
		(void)dkim_sig_check_time(&sig, 1700000000, &error);
	} else if (error == NULL)
		abort();
	dkim_sig_release(&sig);
}

static void
fuzz_key(const char *p, size_t n)
{
	struct dkim_key key;
	const char *error;

	if (dkim_key_parse(p, n, &key, &error) == 0) {
		if (key.revoked != (key.p_len == 0))
			abort();
	} else if (error == NULL)
		abort();
	dkim_key_release(&key);
}

static void
fuzz_message(const char *p, size_t n, size_t chunk)
{
	struct dkim_verify_params params = { .now = 1700000000,
	    .header_max = 65536, .max_signatures = 4 };
	struct dkim_verify *v = dkim_verify_new(&params);
	const struct dkim_result *r;
	struct buf out;
	size_t count;

	for (size_t pos = 0; pos < n; pos += chunk)
		dkim_verify_feed(v, p + pos, n - pos < chunk ? n - pos : chunk);
	dkim_verify_end(v);
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const char *rec = keys[i % 2];
		size_t len = strlen(rec);

		if (dkim_verify_key_name(v, i) != NULL)
			dkim_verify_key_answer(v, i, DNS_OK, &rec, &len, 1,
			    NULL);
	}
	r = dkim_verify_results(v, &count);
	buf_init(&out, 0);
	for (size_t i = 0; i < count; i++) {
		if (r[i].status == DKIM_PASS && r[i].reason != NULL)
			abort();
		dkim_result_format(&r[i], &out);
	}
	buf_release(&out);
	dkim_verify_free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;
	struct buf b;
	const char *error;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_sig(p, size - 1);
		break;
	case 1:
		fuzz_key(p, size - 1);
		break;
	case 2:
		fuzz_message(p, size - 1, (size_t)(data[0] >> 2) + 1);
		break;
	default:
		buf_init(&b, 0);
		(void)base64_decode(p, size - 1, BASE64_SPACE, &b, &error);
		buf_reset(&b);
		dkim_canon_header(DKIM_CANON_RELAXED, p, size - 1, &b);
		buf_release(&b);
		break;
	}
	return 0;
}
