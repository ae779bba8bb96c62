/*
 * cmd_reload - `ulak reload`: tell the master daemon to read main.cf and
 * master.cf again (SIGHUP).
 *
 * The pid comes from a file: it is range-checked and the process must
 * exist before the signal is sent.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "file.h"
#include "ulak.h"

/* How long `ulak reload` waits for the master to confirm. */
#define RELOAD_WAIT_MS 15000

/* The text of master.reload beside PIDFILE into OUT ("" when absent). */
static void
reload_report_read(const char *pidfile, struct buf *out)
{
	struct buf path;
	const char *slash = strrchr(pidfile, '/'), *error;

	buf_reset(out);
	buf_init(&path, 0);
	buf_append(&path, pidfile, slash != NULL ? (size_t)(slash - pidfile) :
	    0);
	buf_append_str(&path, slash != NULL ? "/master.reload" :
	    "master.reload");
	if (file_read_all(path.data, out, 4096, &error) < 0)
		buf_reset(out);
	buf_release(&path);
}

/*
 * Wait until master.reload changes: the master has read the new
 * configuration, started the new daemons and told the old ones to drain.
 * Returns 0 (reloaded), 1 (the master refused: *why_r is its reason) or
 * -1 (no answer in time).
 */
static int
reload_wait(const char *pidfile, const char *before, long pid,
    struct buf *now, const char **why_r)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };
	char *sp;

	for (int waited = 0; waited < RELOAD_WAIT_MS; waited += 10) {
		reload_report_read(pidfile, now);
		if (now->len > 0 && strcmp(now->data, before) != 0) {
			if (now->data[now->len - 1] == '\n')
				now->data[--now->len] = '\0';
			/* "PID COUNT ok" or "PID COUNT failed: WHY" */
			sp = strchr(now->data, ' ');
			sp = sp != NULL ? strchr(sp + 1, ' ') : NULL;
			if (sp != NULL && strcmp(sp + 1, "ok") == 0)
				return 0;
			*why_r = sp != NULL ? sp + 1 : now->data;
			if (strncmp(*why_r, "failed: ", 8) == 0)
				*why_r += 8;
			return 1;
		}
		if (!ulak_pid_alive(pid)) {
			*why_r = "the master daemon exited";
			return 1;
		}
		(void)nanosleep(&step, NULL);
	}
	return -1;
}

static int
reload_run(int argc, char **argv)
{
	struct config *cfg;
	struct buf pidfile, before, now;
	const char *why;
	long pid;
	int c, status = ULAK_EXIT_FAIL;

	if ((c = ulak_options_plain(&ulak_cmd_reload, argc, argv, false)) >= 0)
		return c;
	/* Refuse to reload into a main.cf the daemons could not read. */
	cfg = ulak_config_load("reload", false);
	if (cfg == NULL)
		return ULAK_EXIT_FAIL;
	buf_init(&pidfile, 0);
	buf_init(&before, 0);
	buf_init(&now, 0);
	if (ulak_master_pid(cfg, &pidfile, &pid) != 1) {
		ulak_err("reload", "the mail system is not running");
		goto out;
	}
	reload_report_read(pidfile.data, &before);
	if (kill((pid_t)pid, SIGHUP) < 0) {
		ulak_err("reload", "cannot signal the master (pid %ld): %s",
		    pid, strerror(errno));
		goto out;
	}
	printf("ulak: refreshing the mail system (pid %ld)\n", pid);
	fflush(stdout);
	switch (reload_wait(pidfile.data, before.data, pid, &now, &why)) {
	case 0:
		status = ULAK_EXIT_OK;
		break;
	case 1:
		ulak_err("reload", "the master kept its running configuration: "
		    "%s", why);
		break;
	default:
		ulak_err("reload", "the master (pid %ld) has not confirmed the "
		    "reload after %d s; it may still be busy", pid,
		    RELOAD_WAIT_MS / 1000);
		break;
	}
out:
	buf_release(&now);
	buf_release(&before);
	buf_release(&pidfile);
	config_free(cfg);
	return status;
}

const struct ulak_cmd ulak_cmd_reload = {
	.name = "reload",
	.summary = "make the running system read its configuration again",
	.synopsis = "ulak reload [-c CONFIG_DIR]",
	.help =
	    "DESCRIPTION\n"
	    "    Sends SIGHUP to the running master daemon: it reads main.cf and\n"
	    "    master.cf again, opens and closes listeners as master.cf now\n"
	    "    says, and replaces its daemons as they finish their current\n"
	    "    sessions, so no connection is dropped.  main.cf is read first:\n"
	    "    when it has an error nothing is signalled.  The command returns\n"
	    "    once the master has started the new daemons (at most 15 s), so\n"
	    "    what follows it, such as `ulak queue flush`, meets the new\n"
	    "    configuration.\n"
	    "\n"
	    "OPTIONS\n"
	    ULAK_HELP_OPT_C
	    ULAK_HELP_OPT_H
	    "\n"
	    "EXAMPLES\n"
	    "    ulak conf -c ./run -e message_size_limit=20480000\n"
	    "    ulak -c ./run reload\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 when the master has reloaded; 1 when it is not running, main.cf\n"
	    "    or master.cf has an error (the master keeps its running\n"
	    "    configuration) or the master did not confirm in time; 2 on a\n"
	    "    usage error.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    ulak check, ulak start\n",
	.run = reload_run,
};
