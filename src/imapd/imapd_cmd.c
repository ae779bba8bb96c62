/*
 * imapd_cmd - IMAP commands other than FETCH, STORE and SEARCH: the
 * any-state and not-authenticated commands (RFC 3501 6.1, 6.2), mailbox
 * management (6.3), SELECT/EXAMINE, APPEND, COPY/MOVE, EXPUNGE, CLOSE,
 * and the extensions IDLE, UIDPLUS, MOVE, NAMESPACE, ENABLE, UNSELECT, ID.
 *
 * Every mailbox name is client text: it only ever reaches the file
 * system through mailstore, whose name check refuses anything that could
 * leave the user's Maildir ("..", "/", wildcards, empty levels).  The
 * Maildir itself comes from the password table of the user who logged
 * in, never from the client.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "mailstore.h"
#include "mem.h"
#include "str.h"

#include "imapd.h"
#include "imapd_cmd.h"
#include "imapd_hcache.h"
#include "imapd_park.h"
#include "mailstore_reuse.h"

#define CAPS_COMMON "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE " \
	"UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE LIST-EXTENDED ESEARCH"

static void
capabilities(struct imapd_session *s, struct buf *b)
{
	bool plain_ok = s->tls || !s->srv->tls_auth_only;

	buf_append_str(b, CAPS_COMMON);
	if (s->state == IMAPD_NOT_AUTH) {
		if (!s->tls && s->srv->tls != NULL)
			buf_append_str(b, " STARTTLS");
		if (plain_ok)
			buf_append_str(b, " AUTH=PLAIN");
		else
			buf_append_str(b, " LOGINDISABLED");
	}
}

void
imapd_greeting(struct imapd_session *s)
{
	struct buf b;

	buf_init(&b, 0);
	capabilities(s, &b);
	imapd_printf(s, "* OK [CAPABILITY %s] %s\r\n", b.data, s->srv->banner);
	buf_release(&b);
}

/*
 * The selected folder's view goes to imapd_park for the next SELECT of
 * the same folder (by this session or another).
 */
static void
park_folder(struct imapd_session *s)
{
	if (s->folder == NULL)
		return;
	imapd_park_put(s->fstore, s->folder, s->readonly ?
	    MAILSTORE_OPEN_READONLY : 0);
	s->folder = NULL;
	s->fstore = NULL;
}

/*
 * Open folder NAME for SELECT/EXAMINE into s->folder and s->fstore: a
 * kept view brought up to date, or a new one from its own store.
 */
static int
open_folder(struct imapd_session *s, const char *name, unsigned flags,
    const char **error_r)
{
	const char *root = mailstore_root(s->store);
	struct mailstore *st;
	struct mailstore_folder *f;
	struct mailstore_sync sy;
	int err;

	if (imapd_park_take(root, name, flags, &st, &f)) {
		bool ok;

		/* \Recent was the earlier session's; what this sync moves
		 * out of new/ is this one's. */
		mailstore_folder_forget_recent(f);
		ok = mailstore_folder_sync(f, 0, &sy, error_r) == 0 &&
		    !sy.uidvalidity_changed;
		mailstore_sync_release(&sy);
		if (ok) {
			s->fstore = st;
			s->folder = f;
			return 0;
		}
		/* Gone or rebuilt: open it afresh. */
		mailstore_folder_close(f);
		mailstore_close(st);
	}
	st = mailstore_open(root, error_r);
	if (st == NULL)
		return -1;
	f = mailstore_folder_open(st, name, flags, error_r);
	if (f == NULL) {
		err = errno;
		mailstore_close(st);
		errno = err;
		return -1;
	}
	s->fstore = st;
	s->folder = f;
	return 0;
}

void
imapd_cmd_release(struct imapd_session *s)
{
	imapd_fetch_release(s);
	if (s->login != NULL) {
		imapd_login_cancel(s->login);
		s->login = NULL;
	}
	free(s->login_tag);
	free(s->login_user);
	s->login_tag = s->login_user = NULL;
	park_folder(s);
	if (s->store != NULL) {
		mailstore_close(s->store);
		s->store = NULL;
	}
	free(s->user);
	s->user = NULL;
}

int
imapd_folder_path(struct imapd_session *s, struct buf *out)
{
	const char *error;

	if (s->folder == NULL)
		return -1;
	return mailstore_folder_path(s->store,
	    mailstore_folder_name(s->folder), out, &error);
}

/* A mailbox name argument as a C string, or NULL. */
static const char *
mailbox_arg(const struct imap_arg *a)
{
	if (!imap_arg_is_cstring(a))
		return NULL;
	return a->s;
}

/* "NO" text for a mailstore error. */
static void
store_error(struct imapd_session *s, const char *tag, const char *what,
    const char *error)
{
	switch (errno) {
	case ENOENT:
		imapd_printf(s, "%s NO [NONEXISTENT] %s: no such mailbox.\r\n",
		    tag, what);
		break;
	case EEXIST:
		imapd_printf(s, "%s NO [ALREADYEXISTS] %s: mailbox already "
		    "exists.\r\n", tag, what);
		break;
	case EINVAL:
		imapd_printf(s, "%s NO [CANNOT] %s: invalid mailbox name.\r\n",
		    tag, what);
		break;
	case EPERM:
		imapd_printf(s, "%s NO [CANNOT] %s: not allowed.\r\n", tag,
		    what);
		break;
	default:
		log_warning("user=%s: %s: %s", s->user, what, error);
		imapd_printf(s, "%s NO [SERVERBUG] %s failed: internal "
		    "error.\r\n", tag, what);
	}
}

void
imapd_render_flags(struct imapd_session *s, size_t i, struct buf *out)
{
	static const struct {
		unsigned bit;
		const char *name;
	} sys[] = {
		{ MAILSTORE_SEEN, "\\Seen" },
		{ MAILSTORE_ANSWERED, "\\Answered" },
		{ MAILSTORE_FLAGGED, "\\Flagged" },
		{ MAILSTORE_DELETED, "\\Deleted" },
		{ MAILSTORE_DRAFT, "\\Draft" },
		{ MAILSTORE_RECENT, "\\Recent" },
		{ MAILSTORE_PASSED, "$Forwarded" },
	};
	const struct mailstore_msg *m = mailstore_folder_msg(s->folder, i);
	bool first = true;

	buf_append_char(out, '(');
	for (size_t k = 0; k < sizeof(sys) / sizeof(sys[0]); k++)
		if (m->flags & sys[k].bit) {
			buf_printf(out, "%s%s", first ? "" : " ", sys[k].name);
			first = false;
		}
	for (unsigned k = 0; k < MAILSTORE_KEYWORDS_MAX; k++) {
		const char *kw;

		if (!(m->keywords & (1u << k)))
			continue;
		kw = mailstore_folder_keyword_name(s->folder, k);
		if (kw == NULL)
			continue;
		buf_printf(out, "%s%s", first ? "" : " ", kw);
		first = false;
	}
	buf_append_char(out, ')');
}

size_t
imapd_resolve_set(struct imapd_session *s, const struct imap_seqset *set,
    bool uid, size_t **v_r)
{
	size_t count = mailstore_folder_count(s->folder), n = 0;
	uint32_t max_uid = 0;

	*v_r = xcalloc(count > 0 ? count : 1, sizeof(**v_r));
	if (count > 0)
		max_uid = mailstore_folder_msg(s->folder, count - 1)->uid;
	for (size_t i = 0; i < count; i++) {
		bool in = uid ? imap_seqset_contains(set,
		    mailstore_folder_msg(s->folder, i)->uid, max_uid) :
		    imap_seqset_contains(set, (uint32_t)(i + 1),
		    (uint32_t)count);

		if (in)
			(*v_r)[n++] = i;
	}
	return n;
}

void
imapd_report_updates(struct imapd_session *s, unsigned flags)
{
	struct mailstore_sync sy;
	const char *error;
	struct buf b;

	if (s->folder == NULL)
		return;
	if (mailstore_folder_sync(s->folder, flags, &sy, &error) < 0) {
		log_warning("user=%s: sync %s: %s", s->user,
		    mailstore_folder_name(s->folder), error);
		return;
	}
	if (sy.uidvalidity_changed) {
		mailstore_sync_release(&sy);
		imapd_printf(s, "* BYE The mailbox was rebuilt; please "
		    "reconnect.\r\n");
		imapd_close_after_output(s);
		return;
	}
	for (size_t i = 0; i < sy.n_expunged; i++)
		imapd_printf(s, "* %u EXPUNGE\r\n", sy.expunged[i]);
	if (sy.n_new > 0 || sy.n_expunged > 0)
		imapd_printf(s, "* %zu EXISTS\r\n",
		    mailstore_folder_count(s->folder));
	if (sy.n_new > 0)
		imapd_printf(s, "* %zu RECENT\r\n", sy.n_recent);
	buf_init(&b, 0);
	for (size_t i = 0; i < sy.n_changed; i++) {
		uint32_t seq = sy.changed[i];

		if (seq == 0 || seq > mailstore_folder_count(s->folder))
			continue;
		buf_reset(&b);
		imapd_render_flags(s, seq - 1, &b);
		imapd_printf(s, "* %u FETCH (UID %u FLAGS %s)\r\n", seq,
		    mailstore_folder_msg(s->folder, seq - 1)->uid, b.data);
	}
	buf_release(&b);
	mailstore_sync_release(&sy);
}

/*
 * Login (RFC 3501 6.2.2, 6.2.3).
 */
static bool
plain_allowed(struct imapd_session *s, const char *tag)
{
	if (s->tls || !s->srv->tls_auth_only)
		return true;
	imapd_printf(s, "%s NO [PRIVACYREQUIRED] Plaintext authentication "
	    "is disallowed without TLS; use STARTTLS.\r\n", tag);
	return false;
}

void
imapd_login_finish(struct imapd_session *s, const char *tag,
    const char *user, const char *maildir)
{
	struct buf esc, caps;
	const char *error;

	buf_init(&esc, 0);
	log_escape(&esc, user, strlen(user) > 100 ? 100 : strlen(user));
	s->store = mailstore_open(maildir, &error);
	if (s->store == NULL) {
		log_warning("user=%s: open %s: %s", esc.data, maildir, error);
		imapd_printf(s, "%s NO [UNAVAILABLE] Mailbox unavailable.\r\n",
		    tag);
		buf_release(&esc);
		return;
	}
	s->user = xstrdup(user);
	s->state = IMAPD_AUTH;
	log_info("login user=%s from %s%s", esc.data, s->addr,
	    s->tls ? " (TLS)" : "");
	buf_init(&caps, 0);
	capabilities(s, &caps);
	imapd_printf(s, "%s OK [CAPABILITY %s] Logged in.\r\n", tag,
	    caps.data);
	buf_release(&caps);
	buf_release(&esc);
}

/* The password check of do_login is over (imapd_login_start). */
static void
login_done(void *ctx, int r, char *maildir, uid_t uid, const char *error)
{
	struct imapd_session *s = ctx;
	const char *tag = s->login_tag, *user = s->login_user;
	struct buf esc;

	s->login = NULL;
	buf_init(&esc, 0);
	log_escape(&esc, user, strlen(user) > 100 ? 100 : strlen(user));
	if (r < 0) {
		log_warning("login user=%s from %s: %s", esc.data, s->addr,
		    error);
		imapd_printf(s, "%s NO [UNAVAILABLE] Temporary authentication "
		    "failure.\r\n", tag);
		goto out;
	}
	if (r == 0) {
		log_info("login failed user=%s from %s", esc.data, s->addr);
		imapd_printf(s, "%s NO [AUTHENTICATIONFAILED] Authentication "
		    "failed.\r\n", tag);
		goto out;
	}
	if (uid != geteuid()) {
		/* The user's mail is not ours: a worker of its uid serves
		 * it; imapd_handoff answers and resumes. */
		free(maildir);
		buf_release(&esc);
		imapd_handoff(s);
		return;
	}
	imapd_login_finish(s, tag, user, maildir);
out:
	free(maildir);
	buf_release(&esc);
	free(s->login_tag);
	free(s->login_user);
	s->login_tag = s->login_user = NULL;
	imapd_input_resume(s);
}

/*
 * Check the password on a worker thread; the session reads no command
 * until login_done has answered (RFC 3501 5.5: LOGIN changes the state,
 * so nothing after it may run before it is done).
 */
static void
do_login(struct imapd_session *s, const char *tag, const char *user,
    const char *password)
{
	free(s->login_tag);
	free(s->login_user);
	s->login_tag = xstrdup(tag);
	s->login_user = xstrdup(user);
	imapd_input_pause(s);
	s->login = imapd_login_start(s->srv, user, password, login_done, s);
}

static void
sasl_plain(struct imapd_session *s, const char *tag, const char *b64)
{
	char *user, *password;

	if (strcmp(b64, "*") == 0) {
		imapd_printf(s, "%s BAD Authentication cancelled.\r\n", tag);
		return;
	}
	if (imapd_sasl_plain(b64, &user, &password) < 0) {
		imapd_printf(s, "%s BAD Invalid SASL PLAIN response.\r\n", tag);
		return;
	}
	do_login(s, tag, user, password);
	explicit_bzero(password, strlen(password));
	free(user);
	free(password);
}

void
imapd_auth_response(struct imapd_session *s, const char *tag,
    const char *line)
{
	sasl_plain(s, tag, line);
}

/*
 * LIST / LSUB (RFC 3501 6.3.8, 6.3.9; RFC 6154 SPECIAL-USE; RFC 3348
 * CHILDREN).  Patterns: '*' matches anything, '%' anything but '.'.
 */
static bool
pattern_match(const char *p, const char *n)
{
	/* Iterative wildcard match with one back-track point per '*'/'%';
	 * '%' cannot cross '.', so it gets its own back-track. */
	const char *star_p = NULL, *star_n = NULL;

	while (*n != '\0') {
		if (*p == '*' || *p == '%') {
			star_p = p++;
			star_n = n;
			continue;
		}
		if (*p == *n) {
			p++;
			n++;
			continue;
		}
		if (star_p != NULL && (*star_p == '*' || *star_n != '.')) {
			p = star_p + 1;
			n = ++star_n;
			if (*star_p == '%' && n[-1] == '.')
				return false;
			continue;
		}
		return false;
	}
	while (*p == '*' || *p == '%')
		p++;
	return *p == '\0';
}

static bool
name_matches(const char *pattern, const char *name)
{
	if (mailstore_name_is_inbox(name) && str_ncasecmp(pattern, "INBOX",
	    5) == 0) {
		/* INBOX is case-insensitive. */
		struct buf b;
		bool r;

		buf_init(&b, 0);
		buf_append_str(&b, "INBOX");
		buf_append_str(&b, pattern + 5);
		r = pattern_match(b.data, "INBOX");
		buf_release(&b);
		return r;
	}
	return pattern_match(pattern, name);
}

static bool
has_children(const struct strlist *all, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < all->n; i++)
		if (strncmp(all->v[i], name, n) == 0 && all->v[i][n] == '.')
			return true;
	return false;
}

static void
list_line(struct imapd_session *s, const char *cmd, const char *attrs,
    const char *name)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "* %s (%s) \".\" ", cmd, attrs);
	if (strchr(name, '"') == NULL && strchr(name, '\\') == NULL)
		buf_printf(&b, "\"%s\"\r\n", name);
	else
		buf_printf(&b, "{%zu}\r\n%s\r\n", strlen(name), name);
	imapd_write(s, b.data, b.len);
	buf_release(&b);
}

static void
cmd_list(struct imapd_session *s, const char *tag, bool lsub,
    const struct imap_arg *args, size_t n)
{
	struct strlist all, subs, shown;
	const char *ref, *pat, *error;
	struct buf full, attrs;
	const char *cmd = lsub ? "LSUB" : "LIST";
	bool special_only = false;

	/* LIST-EXTENDED's selection options: only (SPECIAL-USE) and
	 * (SUBSCRIBED) are understood; the rest is taken as plain LIST. */
	if (!lsub && n == 3 && args[0].type == IMAP_ARG_LIST) {
		for (size_t i = 0; i < args[0].n; i++)
			if (args[0].list[i].type == IMAP_ARG_ATOM &&
			    str_casecmp(args[0].list[i].s, "SPECIAL-USE") == 0)
				special_only = true;
		args++;
		n--;
	}
	if (n < 2 || (ref = mailbox_arg(&args[0])) == NULL ||
	    args[1].type == IMAP_ARG_LIST || (pat = args[1].s) == NULL) {
		imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
		return;
	}
	if (!lsub && ref[0] == '\0' && pat[0] == '\0') {
		imapd_printf(s, "* LIST (\\Noselect) \".\" \"\"\r\n");
		imapd_printf(s, "%s OK List completed.\r\n", tag);
		return;
	}
	strlist_init(&all);
	strlist_init(&subs);
	strlist_init(&shown);
	if (mailstore_list(s->store, &all, &error) < 0 ||
	    mailstore_subscriptions(s->store, &subs, &error) < 0) {
		store_error(s, tag, cmd, error);
		goto out;
	}
	buf_init(&full, 0);
	buf_init(&attrs, 0);
	buf_append_str(&full, ref);
	if (ref[0] != '\0' && ref[strlen(ref) - 1] != '.' && pat[0] != '\0')
		buf_append_char(&full, '.');
	buf_append_str(&full, pat);
	{
		const struct strlist *src = lsub ? &subs : &all;

		for (size_t i = 0; i < src->n; i++) {
			const char *name = src->v[i];
			const char *su = mailstore_special_use(name);
			bool exists = !lsub ||
			    strlist_find(&all, name) >= 0 ||
			    mailstore_name_is_inbox(name);

			if (!name_matches(full.data, name))
				continue;
			if (special_only && su == NULL)
				continue;
			buf_reset(&attrs);
			if (!exists)
				buf_append_str(&attrs, "\\NonExistent");
			else
				buf_append_str(&attrs, has_children(&all,
				    name) ? "\\HasChildren" :
				    "\\HasNoChildren");
			if (su != NULL)
				buf_printf(&attrs, " %s", su);
			if (!lsub && strlist_find(&subs, name) >= 0)
				buf_append_str(&attrs, " \\Subscribed");
			list_line(s, cmd, attrs.data, name);
			strlist_add(&shown, name);
		}
		/* Parents that are not folders themselves but have
		 * matching children ("a" of "a.b" with pattern "%"). */
		for (size_t i = 0; !lsub && i < all.n; i++) {
			char *dot, *p = xstrdup(all.v[i]);

			while ((dot = strrchr(p, '.')) != NULL) {
				*dot = '\0';
				if (strlist_find(&all, p) < 0 &&
				    strlist_find(&shown, p) < 0 &&
				    name_matches(full.data, p)) {
					list_line(s, cmd, "\\Noselect "
					    "\\HasChildren", p);
					strlist_add(&shown, p);
				}
			}
			free(p);
		}
	}
	imapd_printf(s, "%s OK %s completed.\r\n", tag, lsub ? "Lsub" : "List");
	buf_release(&full);
	buf_release(&attrs);
out:
	strlist_release(&all);
	strlist_release(&subs);
	strlist_release(&shown);
}

static void
cmd_status(struct imapd_session *s, const char *tag,
    const struct imap_arg *args, size_t n)
{
	struct mailstore_status st;
	const char *name, *error;
	struct buf b;

	if (n != 2 || (name = mailbox_arg(&args[0])) == NULL ||
	    args[1].type != IMAP_ARG_LIST || args[1].n == 0) {
		imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
		return;
	}
	if (mailstore_folder_status(s->store, name, &st, &error) < 0) {
		store_error(s, tag, "STATUS", error);
		return;
	}
	buf_init(&b, 0);
	buf_append_str(&b, "* STATUS ");
	if (strchr(name, '"') == NULL && strchr(name, '\\') == NULL)
		buf_printf(&b, "\"%s\" (", name);
	else
		buf_printf(&b, "{%zu}\r\n%s (", strlen(name), name);
	for (size_t i = 0; i < args[1].n; i++) {
		const struct imap_arg *a = &args[1].list[i];
		const char *k = a->type == IMAP_ARG_ATOM ? a->s : "";
		uint32_t v;

		if (str_casecmp(k, "MESSAGES") == 0)
			v = st.messages;
		else if (str_casecmp(k, "RECENT") == 0)
			v = st.recent;
		else if (str_casecmp(k, "UIDNEXT") == 0)
			v = st.uidnext;
		else if (str_casecmp(k, "UIDVALIDITY") == 0)
			v = st.uidvalidity;
		else if (str_casecmp(k, "UNSEEN") == 0)
			v = st.unseen;
		else {
			imapd_printf(s, "%s BAD Invalid status item.\r\n",
			    tag);
			buf_release(&b);
			return;
		}
		buf_printf(&b, "%s%s %u", i > 0 ? " " : "", k, v);
	}
	buf_append_str(&b, ")\r\n");
	imapd_write(s, b.data, b.len);
	imapd_printf(s, "%s OK Status completed.\r\n", tag);
	buf_release(&b);
}

static void
close_folder(struct imapd_session *s, bool expunge)
{
	const char *error;

	if (s->folder == NULL)
		return;
	if (expunge && !s->readonly) {
		size_t count = mailstore_folder_count(s->folder);

		for (size_t i = 0; i < count; i++) {
			const struct mailstore_msg *m =
			    mailstore_folder_msg(s->folder, i);

			if ((m->flags & MAILSTORE_DELETED) && !m->expunged &&
			    mailstore_msg_expunge(s->folder, i, &error) < 0)
				log_warning("user=%s: expunge: %s", s->user,
				    error);
		}
	}
	park_folder(s);
	s->state = IMAPD_AUTH;
}

static void
cmd_select(struct imapd_session *s, const char *tag, bool examine,
    const struct imap_arg *args, size_t n)
{
	const char *name, *error;
	size_t count, first_unseen = 0;
	struct buf b;

	if (n < 1 || (name = mailbox_arg(&args[0])) == NULL) {
		imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
		return;
	}
	if (s->folder != NULL) {
		close_folder(s, false);
		/* RFC 7162 3.2.11 / common practice: tell the client. */
		imapd_printf(s, "* OK [CLOSED] Previous mailbox closed.\r\n");
	}
	if (open_folder(s, name, examine ? MAILSTORE_OPEN_READONLY : 0,
	    &error) < 0) {
		store_error(s, tag, examine ? "EXAMINE" : "SELECT", error);
		return;
	}
	s->readonly = examine;
	s->state = IMAPD_SELECTED;
	count = mailstore_folder_count(s->folder);
	buf_init(&b, 0);
	buf_append_str(&b, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
	    "\\Draft $Forwarded");
	for (unsigned k = 0; k < MAILSTORE_KEYWORDS_MAX; k++) {
		const char *kw = mailstore_folder_keyword_name(s->folder, k);

		if (kw != NULL)
			buf_printf(&b, " %s", kw);
	}
	buf_append_str(&b, ")\r\n");
	imapd_write(s, b.data, b.len);
	{
		size_t recent = 0;

		for (size_t i = 0; i < count; i++) {
			const struct mailstore_msg *m =
			    mailstore_folder_msg(s->folder, i);

			if (m->flags & MAILSTORE_RECENT)
				recent++;
			if (!(m->flags & MAILSTORE_SEEN) && first_unseen == 0)
				first_unseen = i + 1;
		}
		imapd_printf(s, "* %zu EXISTS\r\n* %zu RECENT\r\n", count,
		    recent);
	}
	if (first_unseen > 0)
		imapd_printf(s, "* OK [UNSEEN %zu] First unseen.\r\n",
		    first_unseen);
	buf_reset(&b);
	buf_append_str(&b, "* OK [PERMANENTFLAGS (");
	if (!examine)
		buf_append_str(&b, "\\Answered \\Flagged \\Deleted \\Seen "
		    "\\Draft $Forwarded \\*");
	buf_append_str(&b, ")] Flags permitted.\r\n");
	imapd_write(s, b.data, b.len);
	buf_release(&b);
	imapd_printf(s, "* OK [UIDVALIDITY %u] UIDs valid.\r\n",
	    mailstore_folder_uidvalidity(s->folder));
	imapd_printf(s, "* OK [UIDNEXT %u] Predicted next UID.\r\n",
	    mailstore_folder_uidnext(s->folder));
	imapd_printf(s, "%s OK [%s] %s completed.\r\n", tag,
	    examine ? "READ-ONLY" : "READ-WRITE",
	    examine ? "Examine" : "Select");
}

/* "dd-Mon-yyyy hh:mm:ss +zzzz" (RFC 3501 date-time). */
static int
parse_date_time(const char *s, time_t *t_r)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int day, year, hh, mm, ss, zh, zm, mon = -1;
	char mname[4], sign;
	struct tm tm;
	int used = 0;
	time_t t;

	if (s[0] == ' ')
		s++;
	if (sscanf(s, "%2d-%3s-%4d %2d:%2d:%2d %c%2d%2d%n", &day, mname,
	    &year, &hh, &mm, &ss, &sign, &zh, &zm, &used) != 9 ||
	    s[used] != '\0' || (sign != '+' && sign != '-'))
		return -1;
	for (int i = 0; i < 12; i++)
		if (str_casecmp(mname, months[i]) == 0)
			mon = i;
	if (mon < 0 || day < 1 || day > 31 || year < 1970 || hh > 23 ||
	    mm > 59 || ss > 60 || zm > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = day;
	tm.tm_mon = mon;
	tm.tm_year = year - 1900;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	t -= (sign == '+' ? 1 : -1) * (zh * 3600 + zm * 60);
	*t_r = t;
	return 0;
}

/* Flag list of APPEND/STORE into stored flags and keyword names. */
static int
parse_flags(const struct imap_arg *a, unsigned *flags_r,
    struct strlist *keywords)
{
	static const struct {
		const char *name;
		unsigned bit;
	} sys[] = {
		{ "\\Seen", MAILSTORE_SEEN },
		{ "\\Answered", MAILSTORE_ANSWERED },
		{ "\\Flagged", MAILSTORE_FLAGGED },
		{ "\\Deleted", MAILSTORE_DELETED },
		{ "\\Draft", MAILSTORE_DRAFT },
		{ "$Forwarded", MAILSTORE_PASSED },
		{ "\\Recent", 0 },
	};
	const struct imap_arg *v = a->type == IMAP_ARG_LIST ? a->list : a;
	size_t n = a->type == IMAP_ARG_LIST ? a->n : 1;

	*flags_r = 0;
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		if (v[i].type != IMAP_ARG_ATOM)
			return -1;
		for (size_t k = 0; k < sizeof(sys) / sizeof(sys[0]); k++)
			if (str_casecmp(v[i].s, sys[k].name) == 0) {
				*flags_r |= sys[k].bit;
				found = true;
			}
		if (found)
			continue;
		if (v[i].s[0] == '\\')
			return -1;
		for (const char *c = v[i].s; *c; c++)
			if (strchr("%*]", *c) != NULL)
				return -1;
		if (strlist_find_nocase(keywords, v[i].s) < 0)
			strlist_add(keywords, v[i].s);
	}
	return 0;
}

int
imapd_parse_flags(const struct imap_arg *a, unsigned *flags_r,
    struct strlist *keywords)
{
	return parse_flags(a, flags_r, keywords);
}

static void
cmd_append(struct imapd_session *s, const char *tag,
    const struct imap_arg *args, size_t n)
{
	const char *name, *error;
	unsigned flags = 0;
	struct strlist kw;
	time_t date = 0;
	size_t i = 1;
	uint32_t uv, uid;

	if (n < 2 || (name = mailbox_arg(&args[0])) == NULL) {
		imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
		return;
	}
	strlist_init(&kw);
	if (i < n && args[i].type == IMAP_ARG_LIST) {
		if (parse_flags(&args[i], &flags, &kw) < 0) {
			imapd_printf(s, "%s BAD Invalid flags.\r\n", tag);
			strlist_release(&kw);
			return;
		}
		i++;
	}
	if (i < n && args[i].type == IMAP_ARG_QUOTED && i + 1 < n) {
		if (parse_date_time(args[i].s, &date) < 0) {
			imapd_printf(s, "%s BAD Invalid date-time.\r\n", tag);
			strlist_release(&kw);
			return;
		}
		i++;
	}
	if (i + 1 != n || args[i].type == IMAP_ARG_LIST) {
		imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
		strlist_release(&kw);
		return;
	}
	if (mailstore_append(s->store, name, args[i].s, args[i].len, flags,
	    kw.n > 0 ? &kw : NULL, date, &uv, &uid, &error) < 0) {
		if (errno == ENOENT)
			imapd_printf(s, "%s NO [TRYCREATE] No such mailbox."
			    "\r\n", tag);
		else
			store_error(s, tag, "APPEND", error);
		strlist_release(&kw);
		return;
	}
	strlist_release(&kw);
	if (s->folder != NULL)
		imapd_report_updates(s, 0);
	imapd_printf(s, "%s OK [APPENDUID %u %u] Append completed.\r\n", tag,
	    uv, uid);
}

/* Append a compact UID set "1:3,5" of the N values V (in order). */
static void
uid_set(struct buf *b, const uint32_t *v, size_t n)
{
	bool first = true;

	for (size_t i = 0; i < n;) {
		size_t j = i;

		if (v[i] == 0) {
			i++;
			continue;
		}
		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		buf_printf(b, "%s%u", first ? "" : ",", v[i]);
		if (j > i)
			buf_printf(b, ":%u", v[j]);
		first = false;
		i = j + 1;
	}
}

static void
cmd_copy(struct imapd_session *s, const char *tag, bool uid, bool move,
    const struct imap_arg *args, size_t n)
{
	struct imap_seqset set;
	const char *name, *error;
	size_t *idx, count;
	uint32_t uv = 0, *src_uids, *dst_uids;
	struct buf b;

	if (n != 2 || args[0].type != IMAP_ARG_ATOM ||
	    (name = mailbox_arg(&args[1])) == NULL) {
		imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
		return;
	}
	if (imap_seqset_parse(args[0].s, &set, &error) < 0) {
		imapd_printf(s, "%s BAD %s.\r\n", tag, error);
		return;
	}
	if (move && s->readonly) {
		imap_seqset_free(&set);
		imapd_printf(s, "%s NO [READ-ONLY] Mailbox is read-only.\r\n",
		    tag);
		return;
	}
	count = imapd_resolve_set(s, &set, uid, &idx);
	imap_seqset_free(&set);
	if (count == 0) {
		free(idx);
		imapd_printf(s, "%s OK %s completed (no messages).\r\n", tag,
		    move ? "Move" : "Copy");
		return;
	}
	src_uids = xcalloc(count, sizeof(*src_uids));
	dst_uids = xcalloc(count, sizeof(*dst_uids));
	for (size_t i = 0; i < count; i++)
		src_uids[i] = mailstore_folder_msg(s->folder, idx[i])->uid;
	if (mailstore_copy(s->folder, idx, count, name, move, &uv, dst_uids,
	    &error) < 0) {
		if (errno == ENOENT)
			imapd_printf(s, "%s NO [TRYCREATE] No such mailbox."
			    "\r\n", tag);
		else
			store_error(s, tag, move ? "MOVE" : "COPY", error);
		goto out;
	}
	buf_init(&b, 0);
	{
		/* Gone messages got UID 0: leave them out of both sets. */
		size_t k = 0;

		for (size_t i = 0; i < count; i++)
			if (dst_uids[i] != 0) {
				src_uids[k] = src_uids[i];
				dst_uids[k] = dst_uids[i];
				k++;
			}
		if (k > 0) {
			buf_printf(&b, "[COPYUID %u ", uv);
			uid_set(&b, src_uids, k);
			buf_append_char(&b, ' ');
			uid_set(&b, dst_uids, k);
			buf_append_str(&b, "] ");
		}
	}
	if (move) {
		/* RFC 6851 4.3: COPYUID in an untagged OK, then EXPUNGEs. */
		if (b.len > 0)
			imapd_printf(s, "* OK %sMoved.\r\n", b.data);
		imapd_report_updates(s, 0);
		imapd_printf(s, "%s OK Move completed.\r\n", tag);
	} else {
		imapd_report_updates(s, uid ? 0 : MAILSTORE_SYNC_KEEP_EXPUNGED);
		imapd_printf(s, "%s OK %sCopy completed.\r\n", tag, b.data);
	}
	buf_release(&b);
out:
	free(idx);
	free(src_uids);
	free(dst_uids);
}

static void
cmd_expunge(struct imapd_session *s, const char *tag, bool uid,
    const struct imap_arg *args, size_t n)
{
	struct imap_seqset set = { NULL, 0 };
	const char *error;
	size_t count;

	if (s->readonly) {
		imapd_printf(s, "%s NO [READ-ONLY] Mailbox is read-only.\r\n",
		    tag);
		return;
	}
	if (uid) {
		if (n != 1 || args[0].type != IMAP_ARG_ATOM ||
		    imap_seqset_parse(args[0].s, &set, &error) < 0) {
			imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
			return;
		}
	} else if (n != 0) {
		imapd_printf(s, "%s BAD Unexpected arguments.\r\n", tag);
		return;
	}
	count = mailstore_folder_count(s->folder);
	for (size_t i = 0; i < count; i++) {
		const struct mailstore_msg *m = mailstore_folder_msg(s->folder,
		    i);

		if (!(m->flags & MAILSTORE_DELETED) || m->expunged)
			continue;
		if (uid && !imap_seqset_contains(&set, m->uid,
		    mailstore_folder_msg(s->folder, count - 1)->uid))
			continue;
		if (mailstore_msg_expunge(s->folder, i, &error) < 0)
			log_warning("user=%s: expunge: %s", s->user, error);
	}
	imap_seqset_free(&set);
	imapd_report_updates(s, 0);
	imapd_printf(s, "%s OK Expunge completed.\r\n", tag);
}

static void
cmd_mailbox(struct imapd_session *s, const char *tag, const char *cmd,
    const struct imap_arg *args, size_t n)
{
	const char *name, *error;
	int r;

	if (n < 1 || (name = mailbox_arg(&args[0])) == NULL ||
	    (strcmp(cmd, "RENAME") == 0 ? n != 2 : n != 1)) {
		imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
		return;
	}
	if (strcmp(cmd, "CREATE") == 0) {
		/* RFC 3501 6.3.3: a trailing separator asks for a folder
		 * that will have children; Maildir++ needs no difference. */
		char *nm = xstrdup(name);
		size_t len = strlen(nm);

		if (len > 1 && nm[len - 1] == '.')
			nm[len - 1] = '\0';
		r = mailstore_folder_create(s->store, nm, &error);
		free(nm);
	} else if (strcmp(cmd, "DELETE") == 0) {
		if (s->folder != NULL &&
		    strcmp(mailstore_folder_name(s->folder), name) == 0) {
			imapd_printf(s, "%s NO [INUSE] Mailbox is selected."
			    "\r\n", tag);
			return;
		}
		imapd_park_drop(mailstore_root(s->store));
		imapd_hcache_drop_root(mailstore_root(s->store));
		r = mailstore_folder_delete(s->store, name, &error);
	} else if (strcmp(cmd, "RENAME") == 0) {
		const char *to = mailbox_arg(&args[1]);

		if (to == NULL) {
			imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
			return;
		}
		imapd_park_drop(mailstore_root(s->store));
		imapd_hcache_drop_root(mailstore_root(s->store));
		r = mailstore_folder_rename(s->store, name, to, &error);
	} else {
		bool on = strcmp(cmd, "SUBSCRIBE") == 0;

		if (mailstore_name_check(name, &error) < 0)
			r = -1;
		else
			r = mailstore_subscribe(s->store, name, on, &error);
	}
	if (r < 0) {
		store_error(s, tag, cmd, error);
		return;
	}
	imapd_printf(s, "%s OK %c%s completed.\r\n", tag, cmd[0],
	    cmd + 1);
}

static void
cmd_id(struct imapd_session *s, const char *tag)
{
	imapd_printf(s, "* ID (\"name\" \"ulak\" \"version\" \"%s\")\r\n",
	    ULAK_VERSION);
	imapd_printf(s, "%s OK ID completed.\r\n", tag);
}

enum {
	ANY = 1 << 0,		/* every state */
	NOTAUTH = 1 << 1,
	AUTH = 1 << 2,		/* authenticated or selected */
	SEL = 1 << 3,		/* selected only */
};

static const struct {
	const char *name;
	unsigned states;
} commands[] = {
	{ "CAPABILITY", ANY }, { "NOOP", ANY }, { "LOGOUT", ANY },
	{ "ID", ANY },
	{ "STARTTLS", NOTAUTH }, { "AUTHENTICATE", NOTAUTH },
	{ "LOGIN", NOTAUTH },
	{ "ENABLE", AUTH }, { "SELECT", AUTH }, { "EXAMINE", AUTH },
	{ "CREATE", AUTH }, { "DELETE", AUTH }, { "RENAME", AUTH },
	{ "SUBSCRIBE", AUTH }, { "UNSUBSCRIBE", AUTH }, { "LIST", AUTH },
	{ "LSUB", AUTH }, { "STATUS", AUTH }, { "APPEND", AUTH },
	{ "NAMESPACE", AUTH }, { "IDLE", AUTH },
	{ "CHECK", SEL }, { "CLOSE", SEL }, { "UNSELECT", SEL },
	{ "EXPUNGE", SEL }, { "SEARCH", SEL }, { "FETCH", SEL },
	{ "STORE", SEL }, { "COPY", SEL }, { "MOVE", SEL },
	{ "UID FETCH", SEL }, { "UID SEARCH", SEL }, { "UID STORE", SEL },
	{ "UID COPY", SEL }, { "UID MOVE", SEL }, { "UID EXPUNGE", SEL },
};

void
imapd_execute(struct imapd_session *s, const struct imap_command *c)
{
	const char *tag = c->tag, *name = c->name;
	const struct imap_arg *args = c->args;
	size_t n = c->n_args, k;
	bool uid = strncmp(name, "UID ", 4) == 0;
	const char *base = uid ? name + 4 : name;
	unsigned states = 0;

	for (k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(commands[k].name, name) == 0) {
			states = commands[k].states;
			break;
		}
	if (states == 0) {
		imapd_printf(s, "%s BAD Unknown command.\r\n", tag);
		return;
	}
	if (((states & NOTAUTH) && s->state != IMAPD_NOT_AUTH) ||
	    ((states & AUTH) && s->state == IMAPD_NOT_AUTH) ||
	    ((states & SEL) && s->state != IMAPD_SELECTED)) {
		imapd_printf(s, "%s BAD Command not allowed in this state."
		    "\r\n", tag);
		return;
	}
	if (strcmp(name, "CAPABILITY") == 0) {
		struct buf b;

		buf_init(&b, 0);
		capabilities(s, &b);
		imapd_printf(s, "* CAPABILITY %s\r\n%s OK Capability "
		    "completed.\r\n", b.data, tag);
		buf_release(&b);
	} else if (strcmp(name, "NOOP") == 0 || strcmp(name, "CHECK") == 0) {
		imapd_report_updates(s, 0);
		imapd_printf(s, "%s OK %s completed.\r\n", tag,
		    name[0] == 'N' ? "Noop" : "Check");
	} else if (strcmp(name, "LOGOUT") == 0) {
		imapd_printf(s, "* BYE Logging out.\r\n%s OK Logout "
		    "completed.\r\n", tag);
		log_info("logout user=%s from %s", s->user != NULL ? s->user :
		    "-", s->addr);
		imapd_close_after_output(s);
	} else if (strcmp(name, "ID") == 0) {
		cmd_id(s, tag);
	} else if (strcmp(name, "STARTTLS") == 0) {
		if (s->tls || s->srv->tls == NULL) {
			imapd_printf(s, "%s BAD TLS is %s.\r\n", tag, s->tls ?
			    "already active" : "not available");
			return;
		}
		imapd_printf(s, "%s OK Begin TLS negotiation now.\r\n", tag);
		imapd_starttls(s);
	} else if (strcmp(name, "LOGIN") == 0) {
		if (n != 2 || !imap_arg_is_cstring(&args[0]) ||
		    !imap_arg_is_cstring(&args[1])) {
			imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
			return;
		}
		if (plain_allowed(s, tag))
			do_login(s, tag, args[0].s, args[1].s);
	} else if (strcmp(name, "AUTHENTICATE") == 0) {
		if (n < 1 || args[0].type != IMAP_ARG_ATOM || n > 2 ||
		    (n == 2 && !imap_arg_is_cstring(&args[1]))) {
			imapd_printf(s, "%s BAD Invalid arguments.\r\n", tag);
			return;
		}
		if (str_casecmp(args[0].s, "PLAIN") != 0) {
			imapd_printf(s, "%s NO Unsupported authentication "
			    "mechanism.\r\n", tag);
			return;
		}
		if (!plain_allowed(s, tag))
			return;
		if (n == 2)	/* RFC 4959 SASL-IR; "=" is empty */
			sasl_plain(s, tag, strcmp(args[1].s, "=") == 0 ? "" :
			    args[1].s);
		else
			imapd_enter_auth(s, tag);
	} else if (strcmp(name, "ENABLE") == 0) {
		/* Nothing this server does changes with ENABLE. */
		imapd_printf(s, "* ENABLED\r\n%s OK Enabled.\r\n", tag);
	} else if (strcmp(name, "SELECT") == 0 ||
	    strcmp(name, "EXAMINE") == 0) {
		cmd_select(s, tag, name[0] == 'E', args, n);
	} else if (strcmp(name, "CREATE") == 0 || strcmp(name, "DELETE") == 0 ||
	    strcmp(name, "RENAME") == 0 || strcmp(name, "SUBSCRIBE") == 0 ||
	    strcmp(name, "UNSUBSCRIBE") == 0) {
		cmd_mailbox(s, tag, name, args, n);
	} else if (strcmp(name, "LIST") == 0 || strcmp(name, "LSUB") == 0) {
		cmd_list(s, tag, name[1] == 'S', args, n);
	} else if (strcmp(name, "STATUS") == 0) {
		cmd_status(s, tag, args, n);
	} else if (strcmp(name, "APPEND") == 0) {
		cmd_append(s, tag, args, n);
	} else if (strcmp(name, "NAMESPACE") == 0) {
		imapd_printf(s, "* NAMESPACE ((\"\" \".\")) NIL NIL\r\n"
		    "%s OK Namespace completed.\r\n", tag);
	} else if (strcmp(name, "IDLE") == 0) {
		imapd_enter_idle(s, tag);
	} else if (strcmp(name, "CLOSE") == 0 ||
	    strcmp(name, "UNSELECT") == 0) {
		close_folder(s, name[0] == 'C');
		imapd_printf(s, "%s OK %s completed.\r\n", tag,
		    name[0] == 'C' ? "Close" : "Unselect");
	} else if (strcmp(base, "EXPUNGE") == 0) {
		cmd_expunge(s, tag, uid, args, n);
	} else if (strcmp(base, "FETCH") == 0) {
		imapd_cmd_fetch(s, tag, uid, args, n);
	} else if (strcmp(base, "STORE") == 0) {
		imapd_cmd_store(s, tag, uid, args, n);
	} else if (strcmp(base, "SEARCH") == 0) {
		imapd_cmd_search(s, tag, uid, args, n);
	} else if (strcmp(base, "COPY") == 0 || strcmp(base, "MOVE") == 0) {
		cmd_copy(s, tag, uid, base[0] == 'M', args, n);
	}
}
