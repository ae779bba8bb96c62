/*
 * selfpipe - a pipe that signal handlers write to, so that a poll(2)
 * loop notices signals without races (selfpipe.h).  The handler only
 * sets a flag and writes a byte: both are async-signal-safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "selfpipe.h"

/* Signal numbers above this are not caught (Linux has 64). */
#define SELFPIPE_SIG_MAX 64

static int pipe_fds[2] = { -1, -1 };
static volatile sig_atomic_t caught[SELFPIPE_SIG_MAX + 1];

void
selfpipe_wake(void)
{
	char c = 0;

	if (write(pipe_fds[1], &c, 1) < 0) {
		/* The pipe is full: a wake-up is already pending. */
	}
}

static void
on_signal(int sig)
{
	int saved = errno;

	if (sig > 0 && sig <= SELFPIPE_SIG_MAX)
		caught[sig] = 1;
	selfpipe_wake();
	errno = saved;
}

void
selfpipe_catch(const int *sigs, size_t n)
{
	struct sigaction sa;

	if (pipe_fds[0] < 0 && pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0)
		log_fatal("pipe: %m");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < n; i++) {
		if (sigs[i] <= 0 || sigs[i] > SELFPIPE_SIG_MAX)
			log_panic("selfpipe_catch: signal %d", sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
}

int
selfpipe_fd(void)
{
	return pipe_fds[0];
}

bool
selfpipe_caught(int sig)
{
	return sig > 0 && sig <= SELFPIPE_SIG_MAX && caught[sig];
}

void
selfpipe_drain(void)
{
	char junk[64];

	while (read(pipe_fds[0], junk, sizeof(junk)) > 0)
		;
}
