/*
 * selfpipe - signals for a poll(2) loop (the self-pipe trick).  A caught
 * signal sets a flag and writes one byte to a pipe whose read end the
 * loop polls, so that a signal that arrives just before poll() still
 * wakes it.  Signal handlers are process-wide: there is one self-pipe per
 * process (a forked child shares its parent's).
 */
#ifndef ULAK_SELFPIPE_H
#define ULAK_SELFPIPE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Catch each of the N signals in SIGS (SA_RESTART, nothing blocked in the
 * handler), making the pipe (close-on-exec, non-blocking) on the first
 * call.  Exits with a fatal log line when the pipe cannot be made;
 * panics on a signal number out of range.
 */
void selfpipe_catch(const int *sigs, size_t n);

/* The read end of the pipe, for poll(2) (-1 before selfpipe_catch). */
int selfpipe_fd(void);

/* True once SIG has been caught (never reset). */
bool selfpipe_caught(int sig);

/* Read away the bytes waiting in the pipe (it is non-blocking). */
void selfpipe_drain(void);

/* Wake the loop as a signal would (async-signal-safe; any thread). */
void selfpipe_wake(void);

#endif
