/*
 * smtpd_auth - SMTP AUTH for smtpd: PLAIN and LOGIN exchanges, password
 * checks and failed-login bookkeeping; see smtpd_auth.h.
 *
 * Distrusts every byte from the client: base64 is decoded strictly and
 * with a length limit, decoded names and passwords are checked for NUL
 * and length.  Runs unprivileged inside smtpd; the password tables were
 * opened before privileges were dropped.  Passwords live only in buffers
 * that are wiped before they are freed; they are never logged.
 */
#include "smtpd_auth.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "config.h"
#include "dict.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "str.h"

/* Longest user name and password accepted (decoded). */
#define AUTH_USER_MAX 256
#define AUTH_PASS_MAX 1024

/* LOGIN's prompts (base64 of "Username:" and "Password:"). */
#define LOGIN_USER_PROMPT "VXNlcm5hbWU6"
#define LOGIN_PASS_PROMPT "UGFzc3dvcmQ6"

/* Failed logins per client address, within anvil_rate_time_unit. */
struct fail_entry {
	struct fail_entry *next;
	time_t start;		/* the window began */
	unsigned count;
	char addr[];
};

#define FAIL_BUCKETS 256

struct smtpd_auth {
	struct maps *maps;		/* smtpd_sasl_password_maps, or NULL */
	char *maps_spec;
	uint64_t delay;			/* smtpd_sasl_failure_delay, s */
	uint64_t delay_limit;		/* smtpd_sasl_failure_delay_limit, s */
	uint64_t limit;			/* smtpd_sasl_failure_limit */
	uint64_t window;		/* anvil_rate_time_unit, s */
	struct fail_entry *fails[FAIL_BUCKETS];
	size_t n_fails;
	/*
	 * A yescrypt setting for users that do not exist: an unknown name
	 * costs as much time as a known one, so timing does not tell which
	 * names exist.
	 */
	char *dummy;
};

/* Base64. */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
smtpd_auth_base64_decode(const char *in, size_t len, size_t max,
    struct buf *out)
{
	if (len == 1 && in[0] == '=')
		return 0;
	if (len % 4 != 0 || len / 4 * 3 > max + 2)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		size_t pad = 0;
		unsigned char o[3];

		for (size_t k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			/* Data after padding, or padding too early. */
			if (pad > 0)
				return -1;
			v[k] = b64val(c);
			if (v[k] < 0)
				return -1;
		}
		/* RFC 4648 3.5: the unused bits must be zero (canonical). */
		if ((pad == 1 && (v[2] & 0x03) != 0) ||
		    (pad == 2 && (v[1] & 0x0f) != 0))
			return -1;
		o[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		o[1] = (unsigned char)((v[1] & 0x0f) << 4 | v[2] >> 2);
		o[2] = (unsigned char)((v[2] & 0x03) << 6 | v[3]);
		if (out->len + 3 - pad > max)
			return -1;
		buf_append(out, o, 3 - pad);
	}
	return 0;
}

void
smtpd_auth_base64_encode(const void *in, size_t len, struct buf *out)
{
	const unsigned char *p = in;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		size_t n = len - i;

		if (n > 1)
			v |= (unsigned)p[i + 1] << 8;
		if (n > 2)
			v |= p[i + 2];
		buf_append_char(out, b64chars[v >> 18 & 63]);
		buf_append_char(out, b64chars[v >> 12 & 63]);
		buf_append_char(out, n > 1 ? b64chars[v >> 6 & 63] : '=');
		buf_append_char(out, n > 2 ? b64chars[v & 63] : '=');
	}
}

/* The service. */

struct smtpd_auth *
smtpd_auth_new(struct config *cfg, const char **error_r)
{
	struct smtpd_auth *a = xcalloc(1, sizeof(*a));
	const char *spec = config_str(cfg, "smtpd_sasl_password_maps");

	a->delay = config_time(cfg, "smtpd_sasl_failure_delay");
	a->delay_limit = config_time(cfg, "smtpd_sasl_failure_delay_limit");
	a->limit = config_int(cfg, "smtpd_sasl_failure_limit");
	a->window = config_time(cfg, "anvil_rate_time_unit");
	if (a->window == 0)
		a->window = 1;
	a->maps_spec = xstrdup(spec);
	a->dummy = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (a->dummy == NULL)
		a->dummy = xstrdup("$6$ulakdummysalt$");
	if (*spec != '\0') {
		a->maps = maps_open(spec, error_r);
		if (a->maps == NULL) {
			*error_r = err_fmt("smtpd_sasl_password_maps: %s",
			    *error_r);
			smtpd_auth_free(a);
			return NULL;
		}
	}
	return a;
}

void
smtpd_auth_free(struct smtpd_auth *a)
{
	if (a == NULL)
		return;
	if (a->maps != NULL)
		maps_close(a->maps);
	for (size_t i = 0; i < FAIL_BUCKETS; i++) {
		while (a->fails[i] != NULL) {
			struct fail_entry *e = a->fails[i];

			a->fails[i] = e->next;
			free(e);
		}
	}
	free(a->maps_spec);
	free(a->dummy);
	free(a);
}

const char *
smtpd_auth_mechanisms(void)
{
	return "PLAIN LOGIN";
}

const char *
smtpd_auth_mech_name(enum smtpd_auth_mech mech)
{
	switch (mech) {
	case SMTPD_AUTH_MECH_PLAIN:
		return "PLAIN";
	case SMTPD_AUTH_MECH_LOGIN:
		return "LOGIN";
	default:
		return "";
	}
}

void
smtpd_auth_exchange_release(struct smtpd_auth_exchange *ex)
{
	free(ex->user);
	memset(ex, 0, sizeof(*ex));
}


/* The hash field of a passwd-file line "name:hash:...", into OUT. */
static bool
line_hash(const char *line, struct buf *out)
{
	const char *p = strchr(line, ':'), *e;

	if (p == NULL)
		return false;
	p++;
	e = strchr(p, ':');
	buf_reset(out);
	buf_append(out, p, e != NULL ? (size_t)(e - p) : strlen(p));
	/* Empty, locked ("!...", "*...") or not a crypt(3) hash. */
	return out->len > 0 && out->data[0] == '$';
}

/*
 * Check USER and PASS: 1 when right, 0 when wrong or unknown, -1 when the
 * table could not be read (logged).
 */
static int
auth_verify(struct smtpd_auth *a, const char *user, const char *pass)
{
	struct crypt_data *cd;
	struct buf key, hash;
	const char *v, *error, *setting = a->dummy, *got;
	bool known = false;
	int r, ok = 0;

	if (a->maps == NULL) {
		log_warning("SASL authentication: smtpd_sasl_password_maps is "
		    "empty");
		return -1;
	}
	buf_init(&key, 0);
	buf_init(&hash, 0);
	buf_append_str(&key, user);
	str_lower(key.data);
	r = maps_lookup(a->maps, key.data, &v, &error);
	if (r < 0) {
		log_warning("smtpd_sasl_password_maps: lookup of %s: %s",
		    key.data, error);
		buf_release(&key);
		buf_release(&hash);
		return -1;
	}
	if (r > 0 && line_hash(v, &hash)) {
		setting = hash.data;
		known = true;
	}
	cd = xcalloc(1, sizeof(*cd));
	got = crypt_r(pass, setting, cd);
	if (got != NULL && got[0] != '*' && known &&
	    strlen(got) == hash.len &&
	    CRYPTO_memcmp(got, hash.data, hash.len) == 0)
		ok = 1;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	buf_release(&key);
	buf_release(&hash);
	return ok;
}

/* Strict decode of one response; NUL bytes are allowed (PLAIN uses them). */
static int
decode(const char *line, size_t max, struct buf *out)
{
	return smtpd_auth_base64_decode(line, strlen(line), max, out);
}

static void
wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);
	buf_release(b);
}

static bool
clean_name(const char *s, size_t len)
{
	if (len == 0 || len > AUTH_USER_MAX || memchr(s, '\0', len) != NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == ':')
			return false;
	return true;
}

static enum smtpd_auth_result
finish(struct smtpd_auth *a, struct smtpd_auth_exchange *ex,
    const char *pass)
{
	int r = auth_verify(a, ex->user, pass);

	if (r < 0)
		return SMTPD_AUTH_TEMPFAIL;
	return r > 0 ? SMTPD_AUTH_OK : SMTPD_AUTH_FAILED;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd. */
static enum smtpd_auth_result
plain(struct smtpd_auth *a, struct smtpd_auth_exchange *ex, const char *line)
{
	struct buf d;
	const char *z1, *z2, *authcid, *pass;
	size_t zlen, clen, plen;
	enum smtpd_auth_result res;

	buf_init(&d, 0);
	if (decode(line, AUTH_USER_MAX * 2 + AUTH_PASS_MAX + 2, &d) < 0) {
		wipe(&d);
		return SMTPD_AUTH_BAD_BASE64;
	}
	z1 = memchr(d.data, '\0', d.len);
	z2 = z1 != NULL ? memchr(z1 + 1, '\0', d.len - (size_t)(z1 + 1 -
	    d.data)) : NULL;
	if (z2 == NULL) {
		/* Not a PLAIN message: a failed login all the same. */
		wipe(&d);
		ex->user = xstrdup("");
		return SMTPD_AUTH_FAILED;
	}
	zlen = (size_t)(z1 - d.data);
	authcid = z1 + 1;
	clen = (size_t)(z2 - authcid);
	pass = z2 + 1;
	plen = d.len - (size_t)(pass - d.data);
	ex->user = xstrndup(authcid, clen);
	/* No proxy logins: an authzid must name the user itself. */
	if (!clean_name(authcid, clen) || plen == 0 || plen > AUTH_PASS_MAX ||
	    memchr(pass, '\0', plen) != NULL ||
	    (zlen > 0 && (zlen != clen || memcmp(d.data, authcid, clen) != 0))) {
		wipe(&d);
		return SMTPD_AUTH_FAILED;
	}
	res = finish(a, ex, pass);
	wipe(&d);
	return res;
}

enum smtpd_auth_result
smtpd_auth_start(struct smtpd_auth *a, struct smtpd_auth_exchange *ex,
    const char *mech, const char *initial, struct buf *reply)
{
	smtpd_auth_exchange_release(ex);
	buf_reset(reply);
	if (str_casecmp(mech, "PLAIN") == 0) {
		ex->mech = SMTPD_AUTH_MECH_PLAIN;
		if (initial != NULL)
			return plain(a, ex, initial);
		ex->step = 1;
		return SMTPD_AUTH_CHALLENGE;
	}
	if (str_casecmp(mech, "LOGIN") == 0) {
		ex->mech = SMTPD_AUTH_MECH_LOGIN;
		ex->step = 1;
		/* Some clients send the user name at once. */
		if (initial != NULL)
			return smtpd_auth_step(a, ex, initial, reply);
		buf_append_str(reply, LOGIN_USER_PROMPT);
		return SMTPD_AUTH_CHALLENGE;
	}
	return SMTPD_AUTH_BAD_MECH;
}

enum smtpd_auth_result
smtpd_auth_step(struct smtpd_auth *a, struct smtpd_auth_exchange *ex,
    const char *line, struct buf *reply)
{
	struct buf d;
	enum smtpd_auth_result res;

	buf_reset(reply);
	if (strcmp(line, "*") == 0)
		return SMTPD_AUTH_ABORTED;
	if (ex->mech == SMTPD_AUTH_MECH_PLAIN)
		return plain(a, ex, line);
	buf_init(&d, 0);
	if (decode(line, ex->step == 1 ? AUTH_USER_MAX : AUTH_PASS_MAX,
	    &d) < 0) {
		wipe(&d);
		return SMTPD_AUTH_BAD_BASE64;
	}
	if (ex->step == 1) {
		free(ex->user);
		ex->user = xstrndup(d.data, d.len);
		ex->step = 2;
		buf_append_str(reply, LOGIN_PASS_PROMPT);
		res = SMTPD_AUTH_CHALLENGE;
		if (!clean_name(d.data, d.len)) {
			/* Ask for the password all the same, then fail. */
			free(ex->user);
			ex->user = xstrdup("");
		}
		wipe(&d);
		return res;
	}
	if (ex->user == NULL || ex->user[0] == '\0' || d.len == 0 ||
	    memchr(d.data, '\0', d.len) != NULL)
		res = SMTPD_AUTH_FAILED;
	else
		res = finish(a, ex, d.data);
	wipe(&d);
	return res;
}

/* Failed logins. */

static unsigned
fail_hash(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % FAIL_BUCKETS;
}

/* Drop the entries whose window has passed (keeps the table small). */
static void
fail_expire(struct smtpd_auth *a, time_t now)
{
	for (size_t i = 0; i < FAIL_BUCKETS; i++) {
		struct fail_entry **pp = &a->fails[i], *e;

		while ((e = *pp) != NULL) {
			if (now - e->start >= (time_t)a->window ||
			    now < e->start) {
				*pp = e->next;
				free(e);
				a->n_fails--;
			} else {
				pp = &e->next;
			}
		}
	}
}

static struct fail_entry *
fail_find(struct smtpd_auth *a, const char *addr, time_t now)
{
	struct fail_entry *e;

	for (e = a->fails[fail_hash(addr)]; e != NULL; e = e->next) {
		if (strcmp(e->addr, addr) != 0)
			continue;
		if (now - e->start >= (time_t)a->window || now < e->start) {
			e->start = now;
			e->count = 0;
		}
		return e;
	}
	return NULL;
}

unsigned
smtpd_auth_failures(struct smtpd_auth *a, const char *addr, time_t now)
{
	struct fail_entry *e = fail_find(a, addr, now);

	return e != NULL ? e->count : 0;
}

unsigned
smtpd_auth_fail_count(struct smtpd_auth *a, const char *addr, time_t now)
{
	struct fail_entry *e = fail_find(a, addr, now);

	if (e == NULL) {
		size_t len = strlen(addr);

		if (a->n_fails >= 4096)
			fail_expire(a, now);
		e = xmalloc(sizeof(*e) + len + 1);
		memcpy(e->addr, addr, len + 1);
		e->start = now;
		e->count = 0;
		e->next = a->fails[fail_hash(addr)];
		a->fails[fail_hash(addr)] = e;
		a->n_fails++;
	}
	if (e->count < 1000000)
		e->count++;
	return e->count;
}

uint64_t
smtpd_auth_delay_ms(const struct smtpd_auth *a, unsigned n)
{
	uint64_t d = a->delay * 1000, cap = a->delay_limit * 1000;

	if (n == 0)
		return 0;
	for (unsigned i = 1; i < n && d < cap; i++)
		d *= 2;
	return d > cap ? cap : d;
}

bool
smtpd_auth_over_limit(const struct smtpd_auth *a, unsigned n)
{
	return a->limit > 0 && n >= a->limit;
}
