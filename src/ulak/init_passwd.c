/*
 * init_passwd - password hashes for the passwd-file of mail users that
 * `ulak init` writes: yescrypt through libcrypt (libxcrypt), with a salt
 * from the kernel's random source.  Passwords are never logged.
 */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "ulak.h"

char *
ulak_password_hash(const char *password, const char **error_r)
{
	char *salt, *hash, *result;
	void *data = NULL;
	int size = 0;

	/* NULL random bytes: libcrypt reads them from the OS itself. */
	salt = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (salt == NULL) {
		*error_r = err_fmt("cannot make a yescrypt salt: %s",
		    strerror(errno));
		return NULL;
	}
	hash = crypt_ra(password, salt, &data, &size);
	free(salt);
	/* libcrypt marks failure with a hash starting with '*'. */
	if (hash == NULL || hash[0] == '*') {
		*error_r = err_fmt("cannot hash the password: %s",
		    strerror(errno));
		free(data);
		return NULL;
	}
	result = xstrdup(hash);
	explicit_bzero(data, (size_t)size);
	free(data);
	return result;
}
