/*
 * hbc - header and body check actions and tables; see hbc.h.
 *
 * The values parsed here come from the administrator's tables, but they
 * may carry $1.. text captured from a message (anyone's), so every length
 * is checked and nothing in a value can make parsing overrun.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dict.h"
#include "err.h"
#include "mem.h"
#include "str.h"

#include "hbc.h"

static const struct {
	const char *name;
	enum hbc_type type;
	bool needs_text;
} actions[] = {
	{ "DUNNO", HBC_DUNNO, false },
	{ "OK", HBC_DUNNO, false },
	{ "REJECT", HBC_REJECT, false },
	{ "DISCARD", HBC_DISCARD, false },
	{ "HOLD", HBC_HOLD, false },
	{ "WARN", HBC_WARN, false },
	{ "INFO", HBC_INFO, false },
	{ "IGNORE", HBC_IGNORE, false },
	{ "PREPEND", HBC_PREPEND, true },
	{ "REPLACE", HBC_REPLACE, true },
	{ "REDIRECT", HBC_REDIRECT, true },
	{ "BCC", HBC_BCC, true },
	{ "FILTER", HBC_FILTER, true },
};

#define N_ACTIONS (sizeof(actions) / sizeof(actions[0]))

static bool
is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of an RFC 3463 code "C.SSS.DDD" at S followed by space or end. */
static size_t
dsn_len(const char *s)
{
	size_t i = 0, n;

	if (s[0] != '4' && s[0] != '5')
		return 0;
	if (s[1] != '.')
		return 0;
	i = 2;
	for (n = 0; is_digit(s[i]) && n < 3; n++)
		i++;
	if (n == 0 || s[i] != '.')
		return 0;
	i++;
	for (n = 0; is_digit(s[i]) && n < 3; n++)
		i++;
	if (n == 0 || (s[i] != '\0' && !is_space(s[i])))
		return 0;
	return i;
}

static void
set_reject(struct hbc_action *a, int status, const char *text)
{
	size_t n = dsn_len(text);

	a->type = HBC_REJECT;
	a->status = status;
	if (n > 0 && text[0] - '0' == status) {
		memcpy(a->dsn, text, n);
		a->dsn[n] = '\0';
		text += n;
		while (is_space(*text))
			text++;
	} else {
		(void)str_copy(a->dsn, sizeof(a->dsn),
		    status == 4 ? "4.7.1" : "5.7.1");
	}
	a->text = text;
}

static bool
filter_valid(const char *t)
{
	const char *colon = strchr(t, ':');

	if (colon == NULL || colon == t || colon - t > 63)
		return false;
	for (const char *p = t; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    is_digit(*p) || *p == '-' || *p == '_' || *p == '.'))
			return false;
	for (const char *p = colon + 1; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return strlen(colon + 1) < 256;
}

int
hbc_parse_action(const char *value, struct hbc_action *a,
    const char **error_r)
{
	const char *p = value, *word;
	size_t wlen;

	memset(a, 0, sizeof(*a));
	a->text = "";
	while (is_space(*p))
		p++;
	word = p;
	while (*p != '\0' && !is_space(*p))
		p++;
	wlen = (size_t)(p - word);
	while (is_space(*p))
		p++;
	if (wlen == 0) {
		*error_r = "empty action";
		return -1;
	}
	/* Postfix: "4NN text" / "5NN text" reject with that class. */
	if (wlen == 3 && (word[0] == '4' || word[0] == '5') &&
	    is_digit(word[1]) && is_digit(word[2])) {
		set_reject(a, word[0] - '0', p);
		return 0;
	}
	for (size_t i = 0; i < N_ACTIONS; i++) {
		if (strlen(actions[i].name) != wlen ||
		    str_ncasecmp(word, actions[i].name, wlen) != 0)
			continue;
		if (actions[i].needs_text && *p == '\0') {
			*error_r = err_fmt("%s needs an argument",
			    actions[i].name);
			return -1;
		}
		if (actions[i].type == HBC_REJECT) {
			set_reject(a, 5, p);
			return 0;
		}
		if (actions[i].type == HBC_FILTER && !filter_valid(p)) {
			*error_r = "FILTER needs transport:nexthop";
			return -1;
		}
		if ((actions[i].type == HBC_REDIRECT ||
		    actions[i].type == HBC_BCC) && (strpbrk(p, " \t<>") !=
		    NULL)) {
			*error_r = err_fmt("%s needs one bare address",
			    actions[i].name);
			return -1;
		}
		a->type = actions[i].type;
		a->text = p;
		return 0;
	}
	*error_r = err_fmt("unknown action %.*s", (int)(wlen > 64 ? 64 : wlen),
	    word);
	return -1;
}

const char *
hbc_type_log(enum hbc_type type)
{
	switch (type) {
	case HBC_DUNNO:
		return "dunno";
	case HBC_REJECT:
		return "reject";
	case HBC_DISCARD:
		return "discard";
	case HBC_HOLD:
		return "hold";
	case HBC_WARN:
		return "warning";
	case HBC_INFO:
		return "info";
	case HBC_IGNORE:
		return "ignore";
	case HBC_PREPEND:
		return "prepend";
	case HBC_REPLACE:
		return "replace";
	case HBC_REDIRECT:
		return "redirect";
	case HBC_BCC:
		return "bcc";
	case HBC_FILTER:
		return "filter";
	}
	return "unknown";
}

bool
hbc_is_header_text(const char *text)
{
	size_t i = 0;

	while ((unsigned char)text[i] > 32 && (unsigned char)text[i] < 127 &&
	    text[i] != ':')
		i++;
	if (i == 0 || text[i] != ':')
		return false;
	for (; text[i] != '\0'; i++)
		if (text[i] == '\r' || text[i] == '\n')
			return false;
	return true;
}

enum hbc_table
hbc_header_table(enum mime_stream_class cls, const char *name, size_t len)
{
	if ((len > 8 && str_ncasecmp(name, "Content-", 8) == 0) ||
	    (len == 12 && str_ncasecmp(name, "MIME-Version", 12) == 0))
		return HBC_TABLE_MIME;
	switch (cls) {
	case MIME_STREAM_PRIMARY:
		return HBC_TABLE_HEADER;
	case MIME_STREAM_NESTED:
		return HBC_TABLE_NESTED;
	case MIME_STREAM_MULTIPART:
		break;
	}
	return HBC_TABLE_MIME;
}

struct hbc_tables {
	pthread_mutex_t lock;
	struct maps *maps[HBC_TABLE_COUNT];
	bool owner[HBC_TABLE_COUNT];	/* closes maps[i] (not shared) */
};

struct hbc_tables *
hbc_tables_open(const char *const specs[HBC_TABLE_COUNT],
    const char **error_r)
{
	struct hbc_tables *t = xcalloc(1, sizeof(*t));

	pthread_mutex_init(&t->lock, NULL);
	for (int i = 0; i < HBC_TABLE_COUNT; i++) {
		const char *s = specs[i];
		const char *err;
		int j;

		if (s == NULL || s[strspn(s, " \t,")] == '\0')
			continue;
		for (j = 0; j < i; j++)
			if (specs[j] != NULL && strcmp(specs[j], s) == 0)
				break;
		if (j < i) {
			t->maps[i] = t->maps[j];
			continue;
		}
		t->maps[i] = maps_open(s, &err);
		if (t->maps[i] == NULL) {
			*error_r = err_fmt("%s", err);
			hbc_tables_free(t);
			return NULL;
		}
		t->owner[i] = true;
	}
	return t;
}

bool
hbc_tables_empty(const struct hbc_tables *t, enum hbc_table which)
{
	return t == NULL || t->maps[which] == NULL;
}

int
hbc_lookup(struct hbc_tables *t, enum hbc_table which, const char *key,
    struct buf *value, const char **error_r)
{
	const char *v, *err;
	int rc;

	if (hbc_tables_empty(t, which))
		return 0;
	/* dict results live in the table until its next lookup. */
	pthread_mutex_lock(&t->lock);
	rc = maps_lookup(t->maps[which], key, &v, &err);
	if (rc > 0)
		buf_set_str(value, v);
	else if (rc < 0)
		*error_r = err_fmt("%s", err);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void
hbc_tables_free(struct hbc_tables *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < HBC_TABLE_COUNT; i++)
		if (t->owner[i])
			maps_close(t->maps[i]);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
