/*
 * mailstore_reuse - handing an open folder view to another session (see
 * mailstore_reuse.h).  Touches only the flags of the view in memory.
 */
#include "mailstore_private.h"
#include "mailstore_reuse.h"

void
mailstore_folder_forget_recent(struct mailstore_folder *f)
{
	for (size_t i = 0; i < f->n; i++)
		f->msgs[i].flags &= ~MAILSTORE_RECENT;
}
