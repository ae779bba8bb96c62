/*
 * mailstore - a user's Maildir++ tree: folder names and their paths,
 * listing, creating, deleting and renaming folders, subscriptions, and
 * storing new messages (append, copy, move); see mailstore.h.  Open
 * folders and message access are in mailstore_folder.c, the per-folder
 * UID list and keyword table in mailstore_index.c.
 *
 * Distrusts folder names (they come from IMAP clients): every name goes
 * through mailstore_name_check before it becomes a path, so a client can
 * never reach outside the root it was given ("../", "/", absolute paths,
 * wildcards and control characters are refused).  Directory entries
 * found under the root are checked the same way before they are listed.
 * Runs with the caller's privileges; never follows a symbolic link when
 * removing a folder.
 */
#include "mailstore_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "maildir.h"
#include "mem.h"
#include "parse.h"
#include "str.h"

static int
fail_errno(const char **error_r, int err, const char *text)
{
	*error_r = text;
	errno = err;
	return -1;
}

struct mailstore *
mailstore_open(const char *root, const char **error_r)
{
	struct mailstore *s;
	size_t len = strlen(root);

	if (len == 0 || root[0] != '/') {
		*error_r = err_fmt("mail store root must be an absolute path: "
		    "%s", root);
		errno = EINVAL;
		return NULL;
	}
	while (len > 1 && root[len - 1] == '/')
		len--;
	s = xcalloc(1, sizeof(*s));
	s->root = xstrndup(root, len);
	if (maildir_create(s->root, 0700, error_r) < 0) {
		int err = errno;

		mailstore_close(s);
		errno = err;
		return NULL;
	}
	if (gethostname(s->host, sizeof(s->host)) < 0)
		s->host[0] = '\0';
	s->host[sizeof(s->host) - 1] = '\0';
	return s;
}

void
mailstore_close(struct mailstore *s)
{
	if (s == NULL)
		return;
	free(s->root);
	free(s);
}

const char *
mailstore_root(const struct mailstore *s)
{
	return s->root;
}

/* Names. */

bool
mailstore_name_is_inbox(const char *name)
{
	return str_casecmp(name, "INBOX") == 0;
}

int
mailstore_name_check(const char *name, const char **error_r)
{
	size_t len = strlen(name);

	if (len == 0)
		return fail_errno(error_r, EINVAL, "empty folder name");
	if (len > MAILSTORE_NAME_MAX)
		return fail_errno(error_r, EINVAL, "folder name too long");
	if (mailstore_name_is_inbox(name))
		return 0;
	if (name[0] == '.' || name[len - 1] == '.' || strstr(name, "..") !=
	    NULL)
		return fail_errno(error_r, EINVAL,
		    "empty level in folder name");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c >= 0x7f)
			return fail_errno(error_r, EINVAL, "folder name has "
			    "control or 8-bit characters (use modified "
			    "UTF-7)");
		if (c == '/' || c == '\\')
			return fail_errno(error_r, EINVAL,
			    "folder name has a slash");
		if (c == '%' || c == '*')
			return fail_errno(error_r, EINVAL,
			    "folder name has a wildcard");
	}
	return 0;
}

int
mailstore_folder_path(const struct mailstore *s, const char *name,
    struct buf *out, const char **error_r)
{
	if (mailstore_name_check(name, error_r) < 0)
		return -1;
	if (mailstore_name_is_inbox(name))
		(void)buf_append_str(out, s->root);
	else
		(void)buf_printf(out, "%s/.%s", s->root, name);
	return 0;
}

static bool
dir_exists(const char *path, const char *sub)
{
	struct buf p;
	struct stat st;
	bool yes;

	buf_init(&p, 0);
	(void)buf_printf(&p, "%s%s%s", path, sub ? "/" : "", sub ? sub : "");
	yes = lstat(p.data, &st) == 0 && S_ISDIR(st.st_mode);
	buf_release(&p);
	return yes;
}

bool
mailstore_folder_exists(const struct mailstore *s, const char *name)
{
	struct buf p;
	const char *error;
	bool yes = false;

	buf_init(&p, 0);
	if (mailstore_folder_path(s, name, &p, &error) == 0)
		yes = dir_exists(p.data, "cur");
	buf_release(&p);
	return yes;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
mailstore_list(struct mailstore *s, struct strlist *out, const char **error_r)
{
	struct strlist found;
	DIR *d;
	struct dirent *de;
	const char *error;

	d = opendir(s->root);
	if (d == NULL)
		return ms_fail(error_r, errno, "open folder", s->root);
	strlist_init(&found);
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name + 1;
		struct buf p;

		if (de->d_name[0] != '.' || name[0] == '\0' ||
		    mailstore_name_check(name, &error) < 0 ||
		    mailstore_name_is_inbox(name))
			continue;
		buf_init(&p, 0);
		(void)buf_printf(&p, "%s/%s", s->root, de->d_name);
		if (dir_exists(p.data, "cur"))
			strlist_add(&found, name);
		buf_release(&p);
	}
	closedir(d);
	qsort(found.v, found.n, sizeof(char *), cmp_str);
	strlist_add(out, "INBOX");
	for (size_t i = 0; i < found.n; i++)
		strlist_add(out, found.v[i]);
	strlist_release(&found);
	return 0;
}

const char *
mailstore_special_use(const char *name)
{
	static const char *const map[][2] = {
		{ "Sent", "\\Sent" }, { "Drafts", "\\Drafts" },
		{ "Trash", "\\Trash" }, { "Junk", "\\Junk" },
		{ "Archive", "\\Archive" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(name, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

int
mailstore_create_defaults(struct mailstore *s, const char **error_r)
{
	static const char *const names[] = { "Drafts", "Sent", "Trash",
		"Junk", "Archive" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (mailstore_folder_exists(s, names[i]))
			continue;
		if (mailstore_folder_create(s, names[i], error_r) < 0 &&
		    errno != EEXIST)
			return -1;
		if (mailstore_subscribe(s, names[i], true, error_r) < 0)
			return -1;
	}
	return 0;
}

int
mailstore_folder_create(struct mailstore *s, const char *name,
    const char **error_r)
{
	struct buf p, mf;
	int fd, rc = -1;

	buf_init(&p, 0);
	buf_init(&mf, 0);
	if (mailstore_folder_path(s, name, &p, error_r) < 0)
		goto out;
	if (mailstore_name_is_inbox(name)) {
		fail_errno(error_r, EEXIST, "folder already exists");
		goto out;
	}
	if (mkdir(p.data, 0700) < 0) {
		if (errno == EEXIST)
			fail_errno(error_r, EEXIST, "folder already exists");
		else
			ms_fail(error_r, errno, "create folder", p.data);
		goto out;
	}
	if (maildir_create(p.data, 0700, error_r) < 0)
		goto out;
	(void)buf_printf(&mf, "%s/maildirfolder", p.data);
	fd = open(mf.data, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ms_fail(error_r, errno, "create", mf.data);
		goto out;
	}
	close(fd);
	rc = file_fsync_parent(p.data, error_r);
out:
	buf_release(&p);
	buf_release(&mf);
	return rc;
}

/*
 * Remove DIR (relative to the descriptor AT) and what it holds, at most
 * DEPTH levels down, never following symbolic links.
 */
static int
remove_tree(int at, const char *dir, int depth, const char **error_r)
{
	int fd;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	fd = openat(at, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ms_fail(error_r, errno, "open folder", dir);
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return ms_fail(error_r, errno, "open folder", dir);
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth <= 0 || remove_tree(fd, de->d_name,
			    depth - 1, error_r) < 0)
				rc = -1;
		} else if (unlinkat(fd, de->d_name, 0) < 0 && errno != ENOENT) {
			rc = ms_fail(error_r, errno, "remove", de->d_name);
		}
	}
	closedir(d);
	if (rc == 0 && unlinkat(at, dir, AT_REMOVEDIR) < 0)
		rc = ms_fail(error_r, errno, "remove folder", dir);
	return rc;
}

int
mailstore_folder_delete(struct mailstore *s, const char *name,
    const char **error_r)
{
	struct buf p, gone;
	int rc = -1;

	buf_init(&p, 0);
	buf_init(&gone, 0);
	if (mailstore_folder_path(s, name, &p, error_r) < 0)
		goto out;
	if (mailstore_name_is_inbox(name)) {
		fail_errno(error_r, EPERM, "INBOX cannot be deleted");
		goto out;
	}
	if (!dir_exists(p.data, "cur")) {
		fail_errno(error_r, ENOENT, "no such folder");
		goto out;
	}
	/*
	 * Rename it out of sight first (".." names are never listed), so the
	 * folder disappears at once even when removing takes a while.
	 */
	(void)buf_printf(&gone, "..ulak-deleted.%ld.%lu", (long)getpid(),
	    ++s->counter);
	{
		struct buf full;

		buf_init(&full, 0);
		(void)buf_printf(&full, "%s/%s", s->root, gone.data);
		if (rename(p.data, full.data) < 0) {
			ms_fail(error_r, errno, "rename", p.data);
			buf_release(&full);
			goto out;
		}
		buf_release(&full);
	}
	{
		int at = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (at < 0) {
			ms_fail(error_r, errno, "open folder", s->root);
			goto out;
		}
		rc = remove_tree(at, gone.data, 3, error_r);
		close(at);
		if (rc < 0)
			log_warning("folder %s deleted but not all removed: %s",
			    name, *error_r);
		rc = 0;
	}
out:
	buf_release(&p);
	buf_release(&gone);
	return rc;
}

/* Copy DIR_FROM/FILE to DIR_TO/FILE when it exists. */
static int
copy_small_file(const char *from, const char *to, const char *file,
    const char **error_r)
{
	struct buf a, b, text;
	const char *error;
	int rc = 0;

	buf_init(&a, 0);
	buf_init(&b, 0);
	buf_init(&text, 0);
	(void)buf_printf(&a, "%s/%s", from, file);
	(void)buf_printf(&b, "%s/%s", to, file);
	if (file_read_all(a.data, &text, MS_UIDLIST_MAX, &error) == 0)
		rc = file_write_atomic(b.data, text.data, text.len, 0600,
		    error_r);
	else if (errno != ENOENT)
		rc = ms_fail(error_r, errno, "read", a.data);
	buf_release(&a);
	buf_release(&b);
	buf_release(&text);
	return rc;
}

/* RFC 3501 6.3.5: renaming INBOX moves its messages to a new folder. */
static int
rename_inbox(struct mailstore *s, const char *newname, const char **error_r)
{
	struct buf np, a, b;
	struct ms_idx x;
	bool damaged;
	int lock, rc = -1;

	buf_init(&np, 0);
	buf_init(&a, 0);
	buf_init(&b, 0);
	ms_idx_init(&x);
	(void)mailstore_folder_path(s, newname, &np, error_r);
	if (mailstore_folder_create(s, newname, error_r) < 0)
		goto out;
	lock = ms_lock(s->root, error_r);
	if (lock < 0)
		goto out;
	if (copy_small_file(s->root, np.data, MS_UIDLIST, error_r) < 0 ||
	    copy_small_file(s->root, np.data, MS_KEYWORDS, error_r) < 0)
		goto unlock;
	for (int sub = 0; sub < 2; sub++) {
		const char *dir = sub == 0 ? "new" : "cur";
		DIR *d;
		struct dirent *de;

		buf_reset(&a);
		(void)buf_printf(&a, "%s/%s", s->root, dir);
		d = opendir(a.data);
		if (d == NULL) {
			ms_fail(error_r, errno, "open folder", a.data);
			goto unlock;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			buf_reset(&a);
			buf_reset(&b);
			(void)buf_printf(&a, "%s/%s/%s", s->root, dir,
			    de->d_name);
			(void)buf_printf(&b, "%s/%s/%s", np.data, dir,
			    de->d_name);
			if (rename(a.data, b.data) < 0 && errno != ENOENT) {
				ms_fail(error_r, errno, "rename", a.data);
				closedir(d);
				goto unlock;
			}
		}
		closedir(d);
	}
	/* INBOX keeps its UIDVALIDITY and next UID, with no messages. */
	if (ms_idx_load(&x, s->root, &damaged, error_r) > 0) {
		bool *keep = xcalloc(x.n + 1, sizeof(bool));

		ms_idx_filter(&x, keep);
		free(keep);
		if (ms_idx_write(&x, s->root, error_r) < 0)
			goto unlock;
	}
	rc = 0;
unlock:
	ms_unlock(lock);
out:
	ms_idx_release(&x);
	buf_release(&np);
	buf_release(&a);
	buf_release(&b);
	return rc;
}

/* The name with OLD's prefix replaced by NEW's, when NAME is OLD or below. */
static char *
renamed(const char *name, const char *oldname, const char *newname)
{
	size_t ol = strlen(oldname);
	struct buf b;
	char *r;

	if (strncmp(name, oldname, ol) != 0 ||
	    (name[ol] != '\0' && name[ol] != '.'))
		return NULL;
	buf_init(&b, 0);
	(void)buf_printf(&b, "%s%s", newname, name + ol);
	r = buf_detach(&b, NULL);
	buf_release(&b);
	return r;
}

static int
rename_subscriptions(struct mailstore *s, const char *oldname,
    const char *newname, const char **error_r)
{
	struct strlist subs;
	int rc = 0;

	strlist_init(&subs);
	if (mailstore_subscriptions(s, &subs, error_r) < 0) {
		strlist_release(&subs);
		return -1;
	}
	for (size_t i = 0; i < subs.n && rc == 0; i++) {
		char *to = renamed(subs.v[i], oldname, newname);

		if (to == NULL)
			continue;
		if (mailstore_subscribe(s, subs.v[i], false, error_r) < 0 ||
		    mailstore_subscribe(s, to, true, error_r) < 0)
			rc = -1;
		free(to);
	}
	strlist_release(&subs);
	return rc;
}

int
mailstore_folder_rename(struct mailstore *s, const char *oldname,
    const char *newname, const char **error_r)
{
	struct strlist all, from, to;
	struct buf a, b;
	int rc = -1;

	if (mailstore_name_check(oldname, error_r) < 0 ||
	    mailstore_name_check(newname, error_r) < 0)
		return -1;
	if (mailstore_name_is_inbox(newname) ||
	    mailstore_folder_exists(s, newname))
		return fail_errno(error_r, EEXIST, "folder already exists");
	if (!mailstore_folder_exists(s, oldname))
		return fail_errno(error_r, ENOENT, "no such folder");
	if (mailstore_name_is_inbox(oldname))
		return rename_inbox(s, newname, error_r);
	{
		char *inside = renamed(newname, oldname, oldname);

		if (inside != NULL) {
			free(inside);
			return fail_errno(error_r, EINVAL,
			    "cannot move a folder into itself");
		}
	}
	strlist_init(&all);
	strlist_init(&from);
	strlist_init(&to);
	buf_init(&a, 0);
	buf_init(&b, 0);
	if (mailstore_list(s, &all, error_r) < 0)
		goto out;
	for (size_t i = 1; i < all.n; i++) {
		char *t = renamed(all.v[i], oldname, newname);

		if (t == NULL)
			continue;
		if (mailstore_name_check(t, error_r) < 0) {
			free(t);
			goto out;
		}
		if (mailstore_folder_exists(s, t)) {
			free(t);
			fail_errno(error_r, EEXIST, "folder already exists");
			goto out;
		}
		strlist_add(&from, all.v[i]);
		strlist_add_owned(&to, t);
	}
	for (size_t i = 0; i < from.n; i++) {
		buf_reset(&a);
		buf_reset(&b);
		(void)buf_printf(&a, "%s/.%s", s->root, from.v[i]);
		(void)buf_printf(&b, "%s/.%s", s->root, to.v[i]);
		if (rename(a.data, b.data) < 0) {
			ms_fail(error_r, errno, "rename", a.data);
			goto out;
		}
	}
	rc = rename_subscriptions(s, oldname, newname, error_r);
out:
	strlist_release(&all);
	strlist_release(&from);
	strlist_release(&to);
	buf_release(&a);
	buf_release(&b);
	return rc;
}

/* Subscriptions. */

static int
subs_read(struct mailstore *s, struct strlist *out, const char **error_r)
{
	struct buf p, text;
	const char *error;
	int rc = 0;

	buf_init(&p, 0);
	buf_init(&text, 0);
	(void)buf_printf(&p, "%s/%s", s->root, MS_SUBSCRIPTIONS);
	if (file_read_all(p.data, &text, 1024 * 1024, &error) < 0) {
		if (errno != ENOENT) {
			*error_r = error;
			rc = -1;
		}
	} else {
		struct strlist lines;

		strlist_init(&lines);
		strlist_split(&lines, text.data, "\n");
		for (size_t i = 0; i < lines.n; i++)
			if (mailstore_name_check(lines.v[i], &error) == 0)
				strlist_add(out, lines.v[i]);
		strlist_release(&lines);
	}
	buf_release(&p);
	buf_release(&text);
	return rc;
}

int
mailstore_subscriptions(struct mailstore *s, struct strlist *out,
    const char **error_r)
{
	return subs_read(s, out, error_r);
}

int
mailstore_subscribe(struct mailstore *s, const char *name, bool on,
    const char **error_r)
{
	struct strlist subs;
	struct buf p, text;
	long pos;
	int lock, rc = -1;

	if (mailstore_name_check(name, error_r) < 0)
		return -1;
	if (mailstore_name_is_inbox(name))
		name = "INBOX";
	lock = ms_lock(s->root, error_r);
	if (lock < 0)
		return -1;
	strlist_init(&subs);
	buf_init(&p, 0);
	buf_init(&text, 0);
	if (subs_read(s, &subs, error_r) < 0)
		goto out;
	pos = strlist_find(&subs, name);
	if ((pos >= 0) == on) {
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < subs.n; i++)
		if ((long)i != pos)
			(void)buf_printf(&text, "%s\n", subs.v[i]);
	if (on)
		(void)buf_printf(&text, "%s\n", name);
	(void)buf_printf(&p, "%s/%s", s->root, MS_SUBSCRIPTIONS);
	rc = file_write_atomic(p.data, text.data, text.len, 0600, error_r);
out:
	ms_unlock(lock);
	strlist_release(&subs);
	buf_release(&p);
	buf_release(&text);
	return rc;
}

/* Flags and names of messages. */

void
ms_parse_info(const char *info, unsigned *flags_r, uint32_t *kw_r,
    struct buf *extra)
{
	unsigned flags = 0;
	uint32_t kw = 0;

	for (const char *q = info; *q; q++) {
		switch (*q) {
		case 'D': flags |= MAILSTORE_DRAFT; break;
		case 'F': flags |= MAILSTORE_FLAGGED; break;
		case 'P': flags |= MAILSTORE_PASSED; break;
		case 'R': flags |= MAILSTORE_ANSWERED; break;
		case 'S': flags |= MAILSTORE_SEEN; break;
		case 'T': flags |= MAILSTORE_DELETED; break;
		default:
			if (*q >= 'a' && *q <= 'z')
				kw |= 1u << (*q - 'a');
			else if (extra != NULL && *q > 0x20 && *q < 0x7f &&
			    *q != ',' && strchr(extra->data, *q) == NULL)
				(void)buf_append_char(extra, *q);
			break;
		}
	}
	*flags_r = flags;
	*kw_r = kw;
}

void
mailstore_flags_to_letters(unsigned flags, uint32_t keywords,
    struct buf *out)
{
	static const struct {
		char c;
		unsigned f;
	} map[] = {
		{ 'D', MAILSTORE_DRAFT }, { 'F', MAILSTORE_FLAGGED },
		{ 'P', MAILSTORE_PASSED }, { 'R', MAILSTORE_ANSWERED },
		{ 'S', MAILSTORE_SEEN }, { 'T', MAILSTORE_DELETED },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (flags & map[i].f)
			(void)buf_append_char(out, map[i].c);
	for (int k = 0; k < MAILSTORE_KEYWORDS_MAX; k++)
		if (keywords & (1u << k))
			(void)buf_append_char(out, (char)('a' + k));
}

void
ms_letters(unsigned flags, uint32_t keywords, const char *extra,
    struct buf *out)
{
	bool have[128] = { false };

	if (extra == NULL) {
		/* Already sorted: D F P R S T, then a..z. */
		mailstore_flags_to_letters(flags, keywords, out);
		return;
	}
	{
		struct buf known;

		buf_init(&known, 0);
		mailstore_flags_to_letters(flags, keywords, &known);
		for (const char *q = known.data; *q; q++)
			have[(unsigned char)*q & 127] = true;
		buf_release(&known);
	}
	for (const char *q = extra; *q; q++)
		have[(unsigned char)*q & 127] = true;
	for (int c = 33; c < 127; c++)
		if (have[c])
			(void)buf_append_char(out, (char)c);
}

void
mailstore_flags_from_letters(const char *letters, unsigned *flags_r,
    uint32_t *keywords_r)
{
	ms_parse_info(letters, flags_r, keywords_r, NULL);
}

uint64_t
ms_base_size(const char *base, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++) {
		if (base[i] == ',' && base[i + 1] == 'S' && base[i + 2] == '=') {
			char digits[21];
			size_t n = 0;
			uint64_t v;
			const char *error;

			for (i += 3; i < len && n < sizeof(digits) - 1 &&
			    base[i] >= '0' && base[i] <= '9'; i++)
				digits[n++] = base[i];
			digits[n] = '\0';
			if (n > 0 && (i == len || base[i] == ',') &&
			    parse_uint(digits, 1, UINT64_MAX / 2, &v,
			    &error) == 0)
				return v;
			return 0;
		}
	}
	return 0;
}

void
ms_unique_base(struct mailstore *s, uint64_t size, struct buf *out)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	(void)maildir_unique_name(out, tv.tv_sec, (long)tv.tv_usec, getpid(),
	    ++s->counter, s->host);
	(void)maildir_size_suffix(out, size);
}

/* Letters a..z of KEYWORDS (names) in folder DIR; -1 on error. */
static int
keyword_bits(const char *dir, const struct strlist *keywords,
    uint32_t *bits_r, const char **error_r)
{
	char *names[MAILSTORE_KEYWORDS_MAX] = { NULL };
	int rc = 0;

	*bits_r = 0;
	if (keywords == NULL || keywords->n == 0)
		return 0;
	if (ms_kw_load(dir, names, error_r) < 0)
		return -1;
	for (size_t i = 0; i < keywords->n && rc == 0; i++) {
		int k = ms_kw_add(dir, names, keywords->v[i], error_r);

		if (k < 0)
			rc = -1;
		else
			*bits_r |= 1u << k;
	}
	ms_kw_release(names);
	return rc;
}

static int
sync_dir(const char *dir, const char *sub, const char **error_r)
{
	struct buf p;
	int rc;

	buf_init(&p, 0);
	(void)buf_printf(&p, "%s/%s", dir, sub);
	rc = file_fsync_dir(p.data, error_r);
	buf_release(&p);
	return rc;
}

int
mailstore_append(struct mailstore *s, const char *name, const void *data,
    size_t len, unsigned flags, const struct strlist *keywords, time_t date,
    uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r)
{
	struct buf dir, base, tmp, dst, letters;
	uint32_t kw, uid, validity;
	char *bases[1];
	int fd = -1, rc = -1;

	buf_init(&dir, 0);
	buf_init(&base, 0);
	buf_init(&tmp, 0);
	buf_init(&dst, 0);
	buf_init(&letters, 0);
	if (mailstore_folder_path(s, name, &dir, error_r) < 0)
		goto out;
	if (!dir_exists(dir.data, "cur")) {
		fail_errno(error_r, ENOENT, "no such folder");
		goto out;
	}
	if (keyword_bits(dir.data, keywords, &kw, error_r) < 0)
		goto out;
	ms_unique_base(s, len, &base);
	(void)buf_printf(&tmp, "%s/tmp/%s", dir.data, base.data);
	mailstore_flags_to_letters(flags & MAILSTORE_FLAGS_STORED, kw,
	    &letters);
	(void)buf_printf(&dst, "%s/cur/%s:2,%s", dir.data, base.data,
	    letters.data);
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd < 0) {
		ms_fail(error_r, errno, "create", tmp.data);
		goto out;
	}
	if (file_write_full(fd, data, len) < 0 || fsync(fd) < 0) {
		ms_fail(error_r, errno, "write", tmp.data);
		goto fail;
	}
	if (date > 0) {
		struct timespec ts[2] = { { date, 0 }, { date, 0 } };

		(void)futimens(fd, ts);
	}
	if (close(fd) < 0) {
		fd = -1;
		ms_fail(error_r, errno, "close", tmp.data);
		goto fail;
	}
	fd = -1;
	if (rename(tmp.data, dst.data) < 0) {
		ms_fail(error_r, errno, "rename", tmp.data);
		goto fail;
	}
	if (sync_dir(dir.data, "cur", error_r) < 0)
		goto fail_dst;
	bases[0] = base.data;
	if (ms_idx_assign(s->root, dir.data, bases, NULL, 1, true, &uid,
	    &validity,
	    error_r) < 0)
		goto fail_dst;
	if (uid_r != NULL)
		*uid_r = uid;
	if (uidvalidity_r != NULL)
		*uidvalidity_r = validity;
	rc = 0;
	goto out;
fail_dst:
	(void)unlink(dst.data);
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp.data);
out:
	buf_release(&dir);
	buf_release(&base);
	buf_release(&tmp);
	buf_release(&dst);
	buf_release(&letters);
	return rc;
}

/* Copy the open file FD into PATH (a new file), fsynced. */
static int
copy_fd_to(int fd, const char *path, const char **error_r)
{
	char block[65536];
	int out;

	out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (out < 0)
		return ms_fail(error_r, errno, "create", path);
	for (;;) {
		ssize_t r = read(fd, block, sizeof(block));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r > 0 && file_write_full(out, block,
		    (size_t)r) < 0)) {
			int err = errno;

			close(out);
			(void)unlink(path);
			return ms_fail(error_r, err, "copy to", path);
		}
		if (r == 0)
			break;
	}
	if (fsync(out) < 0 || close(out) < 0) {
		int err = errno;

		(void)unlink(path);
		return ms_fail(error_r, err, "write", path);
	}
	return 0;
}

int
mailstore_copy(struct mailstore_folder *src, const size_t *indexes,
    size_t n, const char *dest, bool move, uint32_t *uidvalidity_r,
    uint32_t *dest_uids_r, const char **error_r)
{
	struct mailstore *s = src->s;
	struct buf dir, from, to, base, letters;
	char **bases = xcalloc(n + 1, sizeof(char *));
	char **made = xcalloc(n + 1, sizeof(char *));
	uint32_t *uids = xcalloc(n + 1, sizeof(uint32_t));
	size_t k = 0;
	uint32_t validity = 0;
	int rc = -1;

	buf_init(&dir, 0);
	buf_init(&from, 0);
	buf_init(&to, 0);
	buf_init(&base, 0);
	buf_init(&letters, 0);
	if (mailstore_folder_path(s, dest, &dir, error_r) < 0)
		goto out;
	if (!dir_exists(dir.data, "cur")) {
		fail_errno(error_r, ENOENT, "no such folder");
		goto out;
	}
	for (size_t j = 0; j < n; j++) {
		const struct mailstore_msg *m;
		struct strlist kwnames;
		uint32_t kw = 0;
		uint64_t size;
		int fd, r;

		if (indexes[j] >= src->n)
			log_panic("mailstore_copy: index %zu of %zu",
			    indexes[j], src->n);
		/* Opening finds the file even when it was just renamed. */
		r = mailstore_msg_open(src, indexes[j], &fd, error_r);
		if (r == 1)
			continue;	/* gone: UID 0 */
		if (r < 0)
			goto fail;
		m = &src->msgs[indexes[j]];
		strlist_init(&kwnames);
		for (int b = 0; b < MAILSTORE_KEYWORDS_MAX; b++)
			if ((m->keywords & (1u << b)) && src->keywords[b])
				strlist_add(&kwnames, src->keywords[b]);
		r = keyword_bits(dir.data, &kwnames, &kw, error_r);
		strlist_release(&kwnames);
		if (r < 0 || mailstore_msg_size(src, indexes[j], &size,
		    error_r) < 0) {
			close(fd);
			goto fail;
		}
		buf_reset(&base);
		buf_reset(&letters);
		buf_reset(&from);
		buf_reset(&to);
		ms_unique_base(s, size, &base);
		mailstore_flags_to_letters(m->flags & MAILSTORE_FLAGS_STORED,
		    kw, &letters);
		mailstore_msg_path(src, indexes[j], &from);
		(void)buf_printf(&to, "%s/cur/%s:2,%s", dir.data, base.data,
		    letters.data);
		if (link(from.data, to.data) < 0) {
			/* Another file system, or links not allowed. */
			buf_reset(&from);
			(void)buf_printf(&from, "%s/tmp/%s", dir.data,
			    base.data);
			if (copy_fd_to(fd, from.data, error_r) < 0) {
				close(fd);
				goto fail;
			}
			if (rename(from.data, to.data) < 0) {
				ms_fail(error_r, errno, "rename", from.data);
				(void)unlink(from.data);
				close(fd);
				goto fail;
			}
		}
		close(fd);
		made[k] = buf_detach(&to, NULL);
		bases[k] = buf_detach(&base, NULL);
		/* Remember which request this was: uids[] is by request. */
		uids[j] = (uint32_t)(k + 1);
		k++;
	}
	if (k > 0) {
		uint32_t *got = xcalloc(k, sizeof(uint32_t));

		if (sync_dir(dir.data, "cur", error_r) < 0 ||
		    ms_idx_assign(s->root, dir.data, bases, NULL, k, true,
		    got, &validity, error_r) < 0) {
			free(got);
			goto fail;
		}
		for (size_t j = 0; j < n; j++)
			uids[j] = uids[j] ? got[uids[j] - 1] : 0;
		free(got);
	} else {
		struct ms_idx x;
		bool damaged;

		ms_idx_init(&x);
		if (ms_idx_load(&x, dir.data, &damaged, error_r) > 0)
			validity = x.uidvalidity;
		ms_idx_release(&x);
	}
	if (move) {
		for (size_t j = 0; j < n; j++)
			if (uids[j] != 0 && mailstore_msg_expunge(src,
			    indexes[j], error_r) < 0)
				log_warning("move: %s", *error_r);
	}
	if (dest_uids_r != NULL)
		memcpy(dest_uids_r, uids, n * sizeof(uint32_t));
	if (uidvalidity_r != NULL)
		*uidvalidity_r = validity;
	rc = 0;
	goto out;
fail:
	for (size_t j = 0; j < k; j++)
		(void)unlink(made[j]);
out:
	for (size_t j = 0; j < k; j++) {
		free(made[j]);
		free(bases[j]);
	}
	free(made);
	free(bases);
	free(uids);
	buf_release(&dir);
	buf_release(&from);
	buf_release(&to);
	buf_release(&base);
	buf_release(&letters);
	return rc;
}

int
mailstore_folder_status(struct mailstore *s, const char *name,
    struct mailstore_status *st, const char **error_r)
{
	struct mailstore_folder *f;

	memset(st, 0, sizeof(*st));
	f = mailstore_folder_open(s, name, MAILSTORE_OPEN_READONLY, error_r);
	if (f == NULL)
		return -1;
	for (size_t i = 0; i < f->n; i++) {
		st->messages++;
		if (f->msgs[i].ms_bits & MS_MSG_NEW)
			st->recent++;
		if (!(f->msgs[i].flags & MAILSTORE_SEEN))
			st->unseen++;
	}
	st->uidnext = mailstore_folder_uidnext(f);
	st->uidvalidity = mailstore_folder_uidvalidity(f);
	mailstore_folder_close(f);
	return 0;
}
