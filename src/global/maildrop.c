/*
 * maildrop - reading the envelope of a maildrop file; see maildrop.h.
 *
 * Distrusts its input: the file was written by any local user.
 */
#include "maildrop.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

/*
 * Read and check the envelope of the maildrop file FD.  -1 with error_r
 * when it is not a valid maildrop file.
 */
int
maildrop_read_envelope(int fd, struct maildrop_env *env, const char **error_r)
{
	struct attr_decoder *dec = attr_decoder_new();
	char chunk[8192];
	uint64_t off = 0;
	bool magic_ok = false;
	int rc = -1;

	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));
		size_t start = 0, used;
		int r;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			*error_r = err_fmt("read: %s", strerror(errno));
			goto done;
		}
		if (got == 0) {
			*error_r = "the file ends inside its envelope";
			goto done;
		}
		if (!magic_ok) {
			size_t m = sizeof(MAILDROP_MAGIC) - 1;

			if ((size_t)got < m || memcmp(chunk, MAILDROP_MAGIC,
			    m) != 0) {
				*error_r = "not a maildrop file (bad first line)";
				goto done;
			}
			magic_ok = true;
			start = m;
		}
		r = attr_decoder_feed(dec, chunk + start, (size_t)got - start,
		    &used, &env->attrs, error_r);
		if (r < 0)
			goto done;
		if (r == 1) {
			env->content_offset = off + start + used;
			break;
		}
		off += (uint64_t)got;
		if (off > MAILDROP_ENVELOPE_MAX) {
			*error_r = "envelope too large";
			goto done;
		}
	}
	for (size_t i = 0; i < env->attrs.n; i++) {
		const struct attr *a = &env->attrs.v[i];
		const char **slot = NULL;

		if (strlen(a->value) != a->value_len) {
			*error_r = err_fmt("attribute %s contains a NUL byte",
			    a->name);
			goto done;
		}
		if (strcmp(a->name, "rcpt") == 0) {
			if (a->value[0] == '\0') {
				*error_r = "empty recipient";
				goto done;
			}
			env->n_rcpts++;
			continue;
		}
		if (strcmp(a->name, "sender") == 0)
			slot = &env->sender;
		else if (strcmp(a->name, "full_name") == 0)
			slot = &env->full_name;
		else if (strcmp(a->name, "ret") == 0)
			slot = &env->ret;
		else if (strcmp(a->name, "envid") == 0)
			slot = &env->envid;
		else if (strcmp(a->name, "notify") == 0)
			slot = &env->notify;
		if (slot == NULL) {
			*error_r = err_fmt("unknown attribute %s", a->name);
			goto done;
		}
		if (*slot != NULL) {
			*error_r = err_fmt("repeated attribute %s", a->name);
			goto done;
		}
		*slot = a->value;
	}
	if (env->sender == NULL) {
		*error_r = "no sender";
		goto done;
	}
	if (env->n_rcpts == 0) {
		*error_r = "no recipient";
		goto done;
	}
	if (env->ret != NULL && strcmp(env->ret, "full") != 0 &&
	    strcmp(env->ret, "hdrs") != 0) {
		*error_r = "bad ret value";
		goto done;
	}
	rc = 0;
done:
	attr_decoder_free(dec);
	return rc;
}

