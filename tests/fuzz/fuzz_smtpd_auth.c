/*
 * libFuzzer target for src/smtpd/smtpd_auth: an SMTP AUTH exchange as a
 * client drives it.  The input is lines: the first is "MECH [initial]"
 * as after AUTH, the rest are responses.  The password table is empty,
 * so every check fails; what is checked is that no sequence of lines
 * crashes, that a challenge is only ever one of the expected ones, and
 * that an exchange never reaches a check without a user name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/smtpd/smtpd_auth.c"

#include "buf.h"
#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smtpd_auth *auth;
static struct config *cfg;	/* kept: AUTH's settings were read from it */
static struct buf quiet;	/* log lines, dropped after each input */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpd_auth_exchange ex;
	struct buf reply, line;
	enum smtpd_auth_result r = SMTPD_AUTH_BAD_MECH;
	size_t pos = 0;
	bool first = true;

	if (auth == NULL) {
		const char *error;

		cfg = config_new("/nonexistent");
		buf_init(&quiet, 0);
		log_capture(&quiet);
		config_set(cfg, "smtpd_sasl_password_maps", "");
		auth = smtpd_auth_new(cfg, &error);
		if (auth == NULL)
			abort();
	}
	buf_reset(&quiet);
	memset(&ex, 0, sizeof(ex));
	buf_init(&reply, 0);
	buf_init(&line, 0);
	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t n = nl != NULL ? (size_t)(nl - (data + pos)) : size - pos;

		buf_reset(&line);
		buf_append(&line, data + pos, n);
		pos += n + (nl != NULL ? 1 : 0);
		/* The session never passes a line with a NUL. */
		if (memchr(line.data, '\0', line.len) != NULL)
			break;
		if (first) {
			char *sp = strchr(line.data, ' ');

			if (sp != NULL)
				*sp++ = '\0';
			r = smtpd_auth_start(auth, &ex, line.data, sp, &reply);
			first = false;
		} else {
			r = smtpd_auth_step(auth, &ex, line.data, &reply);
		}
		if (r == SMTPD_AUTH_CHECK) {
			if (ex.user == NULL || ex.user[0] == '\0' ||
			    ex.password == NULL || ex.password[0] == '\0')
				abort();
			if (smtpd_auth_verify(auth, &ex) != SMTPD_AUTH_FAILED)
				abort();
			break;
		}
		if (r != SMTPD_AUTH_CHALLENGE)
			break;
		if (reply.len != 0 && strcmp(reply.data, "VXNlcm5hbWU6") != 0 &&
		    strcmp(reply.data, "UGFzc3dvcmQ6") != 0)
			abort();
	}
	smtpd_auth_exchange_release(&ex);
	buf_release(&reply);
	buf_release(&line);
	return 0;
}
