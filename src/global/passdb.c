/*
 * passdb - user name and password checks against passwd-file tables; see
 * passdb.h.
 *
 * Distrusts the user name and password (network input before login) and,
 * to a lesser degree, the table (an administrator's file): every field is
 * parsed strictly and a bad entry is a temporary failure, not a login.
 */
#include "passdb.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "dict.h"
#include "err.h"
#include "mem.h"
#include "parse.h"
#include "str.h"

struct passdb {
	struct maps *maps;	/* NULL: no tables */
	/*
	 * A yescrypt hash of a fixed text with a random salt: checked
	 * against when the user is unknown, so that an unknown name takes
	 * as long as a wrong password.  NULL when it could not be made.
	 */
	char *dummy_hash;
};



struct passdb *
passdb_open(const char *maps, const char **error_r)
{
	struct passdb *db = xcalloc(1, sizeof(*db));
	const char *p = maps;
	char *salt;

	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (*p != '\0') {
		db->maps = maps_open(maps, error_r);
		if (db->maps == NULL) {
			free(db);
			return NULL;
		}
	}
	salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (salt != NULL) {
		struct crypt_data *cd = xcalloc(1, sizeof(*cd));
		/*
		 * crypt_rn, not crypt_r: AddressSanitizer intercepts crypt_r,
		 * which lets --as-needed drop libcrypt and leaves the real
		 * function NULL in sanitizer builds.
		 */
		const char *h = crypt_rn("ulak dummy password", salt, cd,
		    (int)sizeof(*cd));

		if (h != NULL && h[0] == '$')
			db->dummy_hash = xstrdup(h);
		free(cd);
		free(salt);
	}
	return db;
}

void
passdb_close(struct passdb *db)
{
	if (db == NULL)
		return;
	if (db->maps != NULL)
		maps_close(db->maps);
	free(db->dummy_hash);
	free(db);
}

void
passdb_user_release(struct passdb_user *u)
{
	free(u->name);
	free(u->home);
	u->name = u->home = NULL;
}

static int
parse_id(const char *s, size_t len, unsigned long *out)
{
	char tmp[16];
	uint64_t v;
	const char *error;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (parse_uint(tmp, 0, 4294967294u, &v, &error) < 0)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

int
passdb_parse_line(const char *line, struct passdb_user *out,
    const char **hash_r, size_t *hash_len_r, const char **error_r)
{
	const char *f[8];
	size_t n = 0;
	unsigned long uid, gid;
	const char *p = line;

	f[n++] = p;
	for (; *p && n < 8; p++)
		if (*p == ':')
			f[n++] = p + 1;
	if (n != 7 || strchr(f[6], ':') != NULL) {
		*error_r = "passwd-file entry without seven fields";
		return -1;
	}
	if (parse_id(f[2], (size_t)(f[3] - f[2] - 1), &uid) < 0 ||
	    parse_id(f[3], (size_t)(f[4] - f[3] - 1), &gid) < 0) {
		*error_r = "passwd-file entry with a bad uid or gid";
		return -1;
	}
	if (f[5][0] != '/') {
		*error_r = "passwd-file entry whose home is not an absolute "
		    "path";
		return -1;
	}
	out->name = xstrndup(f[0], (size_t)(f[1] - f[0] - 1));
	out->home = xstrndup(f[5], (size_t)(f[6] - f[5] - 1));
	out->uid = (uid_t)uid;
	out->gid = (gid_t)gid;
	*hash_r = f[1];
	*hash_len_r = (size_t)(f[2] - f[1] - 1);
	return 0;
}

bool
passdb_check_hash(const char *password, const char *hash)
{
	struct crypt_data *cd;
	const char *got;
	size_t hl = strlen(hash);
	bool ok = false;

	if (hl == 0 || hash[0] == '!' || hash[0] == '*')
		return false;
	cd = xcalloc(1, sizeof(*cd));
	got = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	/* libcrypt marks failure with NULL or a "*" result. */
	if (got != NULL && got[0] != '*' && strlen(got) == hl &&
	    CRYPTO_memcmp(got, hash, hl) == 0)
		ok = true;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

enum passdb_result
passdb_lookup(struct passdb *db, const char *user, struct passdb_user *user_r,
    char **hash_r, const char **error_r)
{
	struct passdb_user u = { NULL, NULL, 0, 0 };
	const char *line, *hash;
	size_t hlen;
	int rc;

	*hash_r = NULL;
	if (db->maps == NULL || *user == '\0' || strchr(user, ':') != NULL ||
	    strchr(user, '\n') != NULL)
		goto unknown;
	rc = maps_lookup(db->maps, user, &line, error_r);
	if (rc < 0)
		return PASSDB_TEMPFAIL;
	if (rc == 0)
		goto unknown;
	if (passdb_parse_line(line, &u, &hash, &hlen, error_r) < 0) {
		*error_r = err_fmt("user %s: %s", user, *error_r);
		return PASSDB_TEMPFAIL;
	}
	*hash_r = xstrndup(hash, hlen);
	*user_r = u;
	return PASSDB_OK;
unknown:
	*hash_r = xstrdup(db->dummy_hash != NULL ? db->dummy_hash : "!");
	return PASSDB_FAIL;
}

enum passdb_result
passdb_verify(struct passdb *db, const char *user, const char *password,
    struct passdb_user *user_r, const char **error_r)
{
	struct passdb_user u = { NULL, NULL, 0, 0 };
	enum passdb_result r;
	char *hash;
	bool ok;

	r = passdb_lookup(db, user, &u, &hash, error_r);
	if (r == PASSDB_TEMPFAIL)
		return r;
	ok = passdb_check_hash(password, hash);
	free(hash);
	if (r != PASSDB_OK || !ok) {
		passdb_user_release(&u);
		return PASSDB_FAIL;
	}
	*user_r = u;
	return PASSDB_OK;
}

int
passdb_mailbox_path(const char *template, const struct passdb_user *u,
    struct buf *out, const char **error_r)
{
	size_t start = out->len;
	const char *p = template;

	while (*p) {
		const char *val = NULL;
		size_t skip = 0;

		if (*p != '$') {
			(void)buf_append_char(out, *p++);
			continue;
		}
		if (p[1] == '$') {
			val = "$";
			skip = 2;
		} else if (strncmp(p, "${home}", 7) == 0) {
			val = u->home;
			skip = 7;
		} else if (strncmp(p, "${user}", 7) == 0) {
			val = u->name;
			skip = 7;
		} else if (strncmp(p, "$home", 5) == 0 && !(p[5] == '_' ||
		    (p[5] >= 'a' && p[5] <= 'z') ||
		    (p[5] >= '0' && p[5] <= '9'))) {
			val = u->home;
			skip = 5;
		} else if (strncmp(p, "$user", 5) == 0 && !(p[5] == '_' ||
		    (p[5] >= 'a' && p[5] <= 'z') ||
		    (p[5] >= '0' && p[5] <= '9'))) {
			val = u->name;
			skip = 5;
		} else {
			*error_r = err_fmt("mailbox template %s: only $home "
			    "and $user may be used", template);
			buf_truncate(out, start);
			return -1;
		}
		(void)buf_append_str(out, val);
		p += skip;
	}
	if (out->data[start] != '/' || strstr(out->data + start, "/../") !=
	    NULL || str_has_suffix_nocase(out->data + start, "/..")) {
		*error_r = err_fmt("mailbox %s is not a clean absolute path",
		    out->data + start);
		buf_truncate(out, start);
		return -1;
	}
	return 0;
}
