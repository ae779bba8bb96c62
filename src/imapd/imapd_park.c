/*
 * imapd_park - closed folder views kept for the next SELECT (see
 * imapd_park.h).  A plain list, newest first: it holds a few dozen views
 * at most.  The views hold nothing a client sent; their keys are the
 * Maildir root from the password table and a folder name that
 * mailstore_folder_open already checked.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailstore.h"
#include "mem.h"

#include "imapd_park.h"

struct parked {
	struct parked *next;
	struct mailstore *store;
	struct mailstore_folder *folder;
	unsigned flags;
	size_t messages;
	time_t since;
};

static struct parked *list;
static size_t n_views, n_messages;

static void
drop(struct parked **pp)
{
	struct parked *p = *pp;

	*pp = p->next;
	n_views--;
	n_messages -= p->messages;
	mailstore_folder_close(p->folder);
	mailstore_close(p->store);
	free(p);
}

static bool
same(const struct parked *p, const char *root, const char *name,
    unsigned flags)
{
	const char *pn = mailstore_folder_name(p->folder);

	if (p->flags != flags || strcmp(mailstore_root(p->store), root) != 0)
		return false;
	if (mailstore_name_is_inbox(name))
		return mailstore_name_is_inbox(pn);
	return strcmp(pn, name) == 0;
}

/* Drop views too old, then the oldest while over the limits. */
static void
trim(size_t add_views, size_t add_messages)
{
	time_t now = time(NULL);
	struct parked **pp = &list;

	while (*pp != NULL) {
		if (now - (*pp)->since > IMAPD_PARK_SECONDS ||
		    (*pp)->since > now)
			drop(pp);
		else
			pp = &(*pp)->next;
	}
	while (list != NULL && (n_views + add_views > IMAPD_PARK_VIEWS ||
	    n_messages + add_messages > IMAPD_PARK_MESSAGES)) {
		/* The last one is the oldest. */
		for (pp = &list; (*pp)->next != NULL; pp = &(*pp)->next)
			;
		drop(pp);
	}
}

void
imapd_park_put(struct mailstore *store, struct mailstore_folder *folder,
    unsigned flags)
{
	size_t count = mailstore_folder_count(folder);
	struct parked *p, **pp;

	/* One view per folder is enough: the newer one replaces it. */
	for (pp = &list; *pp != NULL;) {
		if (same(*pp, mailstore_root(store),
		    mailstore_folder_name(folder), flags))
			drop(pp);
		else
			pp = &(*pp)->next;
	}
	if (count > IMAPD_PARK_MESSAGES) {
		mailstore_folder_close(folder);
		mailstore_close(store);
		return;
	}
	trim(1, count);
	p = xcalloc(1, sizeof(*p));
	p->store = store;
	p->folder = folder;
	p->flags = flags;
	p->messages = count;
	p->since = time(NULL);
	p->next = list;
	list = p;
	n_views++;
	n_messages += count;
}

bool
imapd_park_take(const char *root, const char *name, unsigned flags,
    struct mailstore **store_r, struct mailstore_folder **folder_r)
{
	trim(0, 0);
	for (struct parked **pp = &list; *pp != NULL; pp = &(*pp)->next) {
		struct parked *p = *pp;

		if (!same(p, root, name, flags))
			continue;
		*pp = p->next;
		n_views--;
		n_messages -= p->messages;
		*store_r = p->store;
		*folder_r = p->folder;
		free(p);
		return true;
	}
	return false;
}

void
imapd_park_drop(const char *root)
{
	for (struct parked **pp = &list; *pp != NULL;) {
		if (strcmp(mailstore_root((*pp)->store), root) == 0)
			drop(pp);
		else
			pp = &(*pp)->next;
	}
}

void
imapd_park_clear(void)
{
	while (list != NULL)
		drop(&list);
}
