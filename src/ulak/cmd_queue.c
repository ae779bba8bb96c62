/*
 * cmd_queue - `ulak queue` (mailq, postqueue and postsuper in one): list
 * the queue, show a message, ask qmgr to flush, hold, release, delete or
 * requeue messages.  Works while the system runs: every change is one
 * rename(2) or unlink(2) (qmgr copes with a file leaving active/), and qmgr
 * is woken up afterwards so it notices at once.
 *
 * Reads queue files and logs that carry text from SMTP clients: the
 * listing replaces control bytes (queue_list.c); `show` prints the
 * message as stored, like postcat.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "buf.h"
#include "cmd_queue.h"
#include "config.h"
#include "mem.h"
#include "queue.h"
#include "queue_file.h"
#include "queue_id.h"
#include "queue_list.h"
#include "queue_log.h"
#include "str.h"
#include "ulak.h"

#define QUEUE_CMD_TIMEOUT_MS 10000

const char cmd_queue_synopsis[] =
    "ulak queue [-c CONFIG_DIR] [list]\n"
    "ulak queue [-c CONFIG_DIR] show ID\n"
    "ulak queue [-c CONFIG_DIR] flush\n"
    "ulak queue [-c CONFIG_DIR] hold|release|delete|requeue ID...|ALL\n"
    "mailq";

const char cmd_queue_help[] =
    "DESCRIPTION\n"
    "    Lists and manages the messages in the queue, as Postfix's mailq,\n"
    "    postqueue and postsuper do.  It works while the mail system\n"
    "    runs: each change is one atomic rename or removal, and the queue\n"
    "    manager is told about it.  Called by the name mailq, ulak runs\n"
    "    `ulak queue list`.\n"
    "\n"
    "ACTIONS\n"
    "    list (the default)\n"
    "        Print every message of incoming/, active/, deferred/ and\n"
    "        hold/ in mailq's format: queue ID (followed by * while it is\n"
    "        being delivered, ! while on hold), size, arrival time, sender\n"
    "        (MAILER-DAEMON for the null sender), then each recipient not\n"
    "        yet delivered, after the reason of its last deferral in\n"
    "        parentheses.  The last line is \"-- N Kbytes in M Requests.\"\n"
    "        or \"Mail queue is empty\".\n"
    "    show ID\n"
    "        Print the envelope of message ID (sender, recipients with\n"
    "        their state and last deferral reason) and the message itself.\n"
    "    flush\n"
    "        Ask the queue manager to try every deferred message now.\n"
    "        Fails when the queue manager is not running.\n"
    "    hold ID...|ALL\n"
    "        Put messages on hold (folder hold/): they are not delivered\n"
    "        until released.  A message being delivered is held after\n"
    "        the deliveries in flight.\n"
    "    release ID...|ALL\n"
    "        Take messages off hold; they are delivered at once.\n"
    "    delete ID...|ALL\n"
    "        Remove messages for good, from any folder (corrupt/ too),\n"
    "        with their bounce and defer logs.  No notice is sent.\n"
    "    requeue ID...|ALL\n"
    "        Move messages (also held ones) back to incoming/, so that\n"
    "        their recipients are routed again (after a change of\n"
    "        transport_maps or relayhost, for example).\n"
    "\n"
    "OPTIONS\n"
    "    -c CONFIG_DIR\n"
    "        The instance folder (see `ulak --help`).\n"
    "    --help\n"
    "        Print this page and exit.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 1 when a message is not found, the queue cannot\n"
    "    be read, or (flush) the queue manager is not running; 2 on a\n"
    "    usage error.\n";

/* Folders in the order the listing and lookups visit them. */
static const char *const list_folders[] = { QUEUE_INCOMING, QUEUE_ACTIVE,
	QUEUE_DEFERRED, QUEUE_HOLD, NULL };
static const char *const all_folders[] = { QUEUE_INCOMING, QUEUE_ACTIVE,
	QUEUE_DEFERRED, QUEUE_HOLD, QUEUE_CORRUPT, NULL };

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Queue IDs in QDIR/FOLDER, sorted.  -1 when the folder cannot be read. */
static int
folder_ids(const char *qdir, const char *folder, struct strlist *out)
{
	struct buf path;
	DIR *dir;
	struct dirent *de;

	buf_init(&path, 0);
	buf_printf(&path, "%s/%s", qdir, folder);
	dir = opendir(path.data);
	if (dir == NULL) {
		ulak_err("queue", "cannot read %s: %s", path.data,
		    strerror(errno));
		buf_release(&path);
		return -1;
	}
	while ((de = readdir(dir)) != NULL)
		if (queue_id_valid(de->d_name))
			strlist_add(out, de->d_name);
	(void)closedir(dir);
	buf_release(&path);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
	return 0;
}

/* The folder of FOLDERS that holds ID, or NULL. */
static const char *
find_msg(const char *qdir, const char *id, const char *const *folders)
{
	struct buf path;
	const char *found = NULL;

	buf_init(&path, 0);
	for (size_t i = 0; folders[i] != NULL && found == NULL; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s/%s", qdir, folders[i], id);
		if (access(path.data, F_OK) == 0)
			found = folders[i];
	}
	buf_release(&path);
	return found;
}

/* Tell qmgr to look (best effort: it may not run). */
static void
qmgr_tell(const char *qdir, const char *request, bool wait,
    const char **error_r)
{
	struct sockaddr_un sun;
	struct buf req;
	struct attr_list reply;
	const char *error;
	int fd;

	*error_r = NULL;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s/qmgr", qdir,
	    QUEUE_PRIVATE) >= (int)sizeof(sun.sun_path)) {
		*error_r = "socket path too long";
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = "cannot create a socket";
		return;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		static char why[600];

		(void)snprintf(why, sizeof(why), "connect to %s: %s",
		    sun.sun_path, strerror(errno));
		*error_r = why;
		(void)close(fd);
		return;
	}
	buf_init(&req, 0);
	attr_encode(&req, "request", request, &error);
	attr_encode_end(&req);
	attr_list_init(&reply);
	if (attr_send(fd, req.data, req.len, QUEUE_CMD_TIMEOUT_MS,
	    &error) < 0)
		*error_r = error;
	else if (wait) {
		int ret = attr_recv(fd, QUEUE_CMD_TIMEOUT_MS, &reply, &error);
		const char *st = ret > 0 ? attr_get(&reply, "status") : NULL;

		if (ret < 0)
			*error_r = error;
		else if (ret == 0)
			*error_r = "the queue manager closed the connection "
			    "without an answer";
		else if (st == NULL || strcmp(st, "0") != 0) {
			static char why[300];
			const char *reason = attr_get(&reply, "reason");

			(void)snprintf(why, sizeof(why), "the queue manager "
			    "refused the request: %s", reason != NULL ?
			    reason : "(no reason given)");
			*error_r = why;
		}
	}
	attr_list_release(&reply);
	buf_release(&req);
	(void)close(fd);
}

/* list */

struct entry {
	char *id;
	struct queue_list_entry e;
	struct queue_list_rcpt *rcpts;
	struct strlist strings;
};

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->id,
	    ((const struct entry *)b)->id);
}

static const char *
keep(struct strlist *l, const char *s)
{
	strlist_add(l, s);
	return l->v[l->n - 1];
}

/* Read one message into E; -1 when it cannot be read (gone or corrupt). */
static int
entry_read(const char *qdir, const char *folder, const char *id,
    struct entry *e)
{
	struct buf path;
	struct queue_file *qf;
	struct queue_log log;
	const char *error;
	size_t n;

	buf_init(&path, 0);
	buf_printf(&path, "%s/%s/%s", qdir, folder, id);
	qf = queue_file_open(path.data, false, &error);
	if (qf == NULL) {
		if (access(path.data, F_OK) == 0)
			ulak_warn("queue", "%s", error);
		buf_release(&path);
		return -1;
	}
	memset(e, 0, sizeof(*e));
	strlist_init(&e->strings);
	e->id = xstrdup(id);
	e->e.id = e->id;
	e->e.flag = strcmp(folder, QUEUE_ACTIVE) == 0 ? '*' :
	    strcmp(folder, QUEUE_HOLD) == 0 ? '!' : ' ';
	e->e.size = queue_file_content_length(qf);
	e->e.arrival = queue_file_arrival(qf);
	e->e.sender = keep(&e->strings, queue_file_get(qf, QUEUE_SENDER));
	n = queue_file_rcpt_count(qf);
	e->rcpts = xcalloc(n, sizeof(*e->rcpts));
	queue_log_path(&path, qdir, QUEUE_DEFER, id, "");
	if (queue_log_read(path.data, &log, NULL, &error) < 0) {
		ulak_warn("queue", "%s", error);
		queue_log_release(&log);
		memset(&log, 0, sizeof(log));
	}
	for (size_t i = 0; i < n; i++) {
		const struct queue_rcpt *r = queue_file_rcpt(qf, i);
		const struct queue_log_entry *le;
		struct queue_list_rcpt *out;

		if (r->status != QUEUE_RCPT_OPEN)
			continue;
		out = &e->rcpts[e->e.n_rcpts++];
		out->address = keep(&e->strings, r->address);
		le = queue_log_last(&log, i);
		if (le != NULL)
			out->reason = keep(&e->strings, le->reason);
	}
	e->e.rcpts = e->rcpts;
	queue_log_release(&log);
	queue_file_close(qf);
	buf_release(&path);
	return 0;
}

static int
do_list(const char *qdir)
{
	struct entry *v = NULL;
	size_t n = 0;
	uint64_t total = 0;
	struct buf out;
	int status = ULAK_EXIT_OK;

	for (size_t f = 0; list_folders[f] != NULL; f++) {
		struct strlist ids;

		strlist_init(&ids);
		if (folder_ids(qdir, list_folders[f], &ids) < 0)
			status = ULAK_EXIT_FAIL;
		for (size_t i = 0; i < ids.n; i++) {
			struct entry e;
			const char *folder = list_folders[f];

			if (entry_read(qdir, folder, ids.v[i], &e) < 0) {
				/* Moved meanwhile (qmgr at work): look again. */
				folder = find_msg(qdir, ids.v[i], list_folders);
				if (folder == NULL || entry_read(qdir, folder,
				    ids.v[i], &e) < 0)
					continue;
			}
			/* Seen twice when it moved to a later folder. */
			bool dup = false;
			for (size_t k = 0; k < n && !dup; k++)
				dup = strcmp(v[k].id, e.id) == 0;
			if (dup) {
				free(e.id);
				free(e.rcpts);
				strlist_release(&e.strings);
				continue;
			}
			v = xreallocarray(v, n + 1, sizeof(*v));
			v[n++] = e;
		}
		strlist_release(&ids);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_entry);
	buf_init(&out, 0);
	if (n > 0)
		queue_list_header(&out);
	for (size_t i = 0; i < n; i++) {
		/* The entries point into V[i], which no longer moves. */
		v[i].e.id = v[i].id;
		v[i].e.rcpts = v[i].rcpts;
		queue_list_entry(&out, &v[i].e);
		total += v[i].e.size;
	}
	queue_list_total(&out, total, n);
	fwrite(out.data, 1, out.len, stdout);
	buf_release(&out);
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].rcpts);
		strlist_release(&v[i].strings);
	}
	free(v);
	return status;
}

/* show */

static int
do_show(const char *qdir, const char *id)
{
	static const char *const names[QUEUE_FIELD_COUNT] = {
		[QUEUE_SENDER] = "sender", [QUEUE_ENVID] = "envid",
		[QUEUE_CLIENT_NAME] = "client_name",
		[QUEUE_CLIENT_ADDRESS] = "client_address",
		[QUEUE_CLIENT_PORT] = "client_port",
		[QUEUE_HELO_NAME] = "helo_name",
		[QUEUE_PROTOCOL] = "protocol",
		[QUEUE_SASL_USERNAME] = "sasl_username",
	};
	const char *folder = find_msg(qdir, id, all_folders);
	struct buf path;
	struct queue_file *qf;
	struct queue_log defer, bounce;
	const char *error;
	char when[64], data[65536];
	time_t arrival;
	struct tm tm;
	uint64_t off = 0;
	size_t got;
	int status = ULAK_EXIT_OK;

	if (folder == NULL) {
		ulak_err("queue", "%s: no such message in the queue", id);
		return ULAK_EXIT_FAIL;
	}
	buf_init(&path, 0);
	buf_printf(&path, "%s/%s/%s", qdir, folder, id);
	qf = queue_file_open(path.data, false, &error);
	if (qf == NULL) {
		ulak_err("queue", "%s", error);
		buf_release(&path);
		return ULAK_EXIT_FAIL;
	}
	arrival = queue_file_arrival(qf);
	if (localtime_r(&arrival, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		when[0] = '\0';
	printf("*** ENVELOPE RECORDS %s/%s ***\n", folder, id);
	printf("arrival_time: %s (%lld)\n", when, (long long)arrival);
	printf("message_size: %llu\n",
	    (unsigned long long)queue_file_content_length(qf));
	for (int f = 0; f < QUEUE_FIELD_COUNT; f++) {
		const char *v = queue_file_get(qf, (enum queue_field)f);

		if (v != NULL && names[f] != NULL)
			printf("%s: %s\n", names[f], f == QUEUE_SENDER &&
			    *v == '\0' ? "<>" : v);
	}
	if (queue_file_ret(qf) != QUEUE_RET_NONE)
		printf("ret: %s\n", queue_file_ret(qf) == QUEUE_RET_FULL ?
		    "full" : "hdrs");
	buf_reset(&path);
	queue_log_path(&path, qdir, QUEUE_DEFER, id, "");
	(void)queue_log_read(path.data, &defer, NULL, &error);
	queue_log_path(&path, qdir, QUEUE_BOUNCE, id, "");
	(void)queue_log_read(path.data, &bounce, NULL, &error);
	for (size_t i = 0; i < queue_file_rcpt_count(qf); i++) {
		const struct queue_rcpt *r = queue_file_rcpt(qf, i);
		const struct queue_log_entry *le;

		printf("recipient: %s\n", r->address);
		if (r->orcpt != NULL)
			printf("    orcpt: %s\n", r->orcpt);
		if (r->notify != 0)
			printf("    notify: %s\n", queue_notify_str(r->notify));
		printf("    status: %s\n", r->status == QUEUE_RCPT_OPEN ?
		    "open" : r->status == QUEUE_RCPT_DELIVERED ? "delivered" :
		    "bounced");
		if (r->status == QUEUE_RCPT_BOUNCED &&
		    (le = queue_log_last(&bounce, i)) != NULL)
			printf("    bounced: %s %s\n", le->dsn, le->reason);
		if (r->status == QUEUE_RCPT_OPEN &&
		    (le = queue_log_last(&defer, i)) != NULL)
			printf("    deferred: %s %s\n", le->dsn, le->reason);
	}
	queue_log_release(&defer);
	queue_log_release(&bounce);
	printf("*** MESSAGE CONTENTS %s/%s ***\n", folder, id);
	for (;;) {
		if (queue_file_read_content(qf, off, data, sizeof(data), &got,
		    &error) < 0) {
			ulak_err("queue", "%s", error);
			status = ULAK_EXIT_FAIL;
			break;
		}
		if (got == 0)
			break;
		/* CRLF as stored becomes the terminal's LF. */
		for (size_t i = 0; i < got; i++)
			if (!(data[i] == '\r' && (i + 1 < got ?
			    data[i + 1] == '\n' : false)))
				putchar(data[i]);
		off += got;
	}
	printf("*** END OF MESSAGE ***\n");
	queue_file_close(qf);
	buf_release(&path);
	return status;
}

/* hold, release, delete, requeue */

enum action { ACT_HOLD, ACT_RELEASE, ACT_DELETE, ACT_REQUEUE };

static const char *const hold_from[] = { QUEUE_INCOMING, QUEUE_ACTIVE,
	QUEUE_DEFERRED, NULL };
static const char *const release_from[] = { QUEUE_HOLD, NULL };
static const char *const requeue_from[] = { QUEUE_ACTIVE, QUEUE_DEFERRED,
	QUEUE_HOLD, NULL };

static const char *const *
action_folders(enum action a)
{
	switch (a) {
	case ACT_HOLD:
		return hold_from;
	case ACT_RELEASE:
		return release_from;
	case ACT_REQUEUE:
		return requeue_from;
	default:
		return all_folders;
	}
}

static void
remove_logs(const char *qdir, const char *id)
{
	struct buf p;

	buf_init(&p, 0);
	queue_log_path(&p, qdir, QUEUE_BOUNCE, id, "");
	(void)unlink(p.data);
	queue_log_path(&p, qdir, QUEUE_DEFER, id, "");
	(void)unlink(p.data);
	queue_log_path(&p, qdir, QUEUE_DEFER, id, ".warned");
	(void)unlink(p.data);
	buf_release(&p);
}

/* Apply A to ID in FOLDER: 1 done, 0 gone meanwhile, -1 error. */
static int
act_one(const char *qdir, enum action a, const char *folder, const char *id)
{
	const char *error;
	const char *to = a == ACT_HOLD ? QUEUE_HOLD : QUEUE_INCOMING;

	if (a == ACT_DELETE) {
		struct buf p;
		int ret = 1;

		buf_init(&p, 0);
		buf_printf(&p, "%s/%s/%s", qdir, folder, id);
		if (unlink(p.data) < 0) {
			ret = errno == ENOENT ? 0 : -1;
			if (ret < 0)
				ulak_err("queue", "cannot delete %s: %s",
				    p.data, strerror(errno));
		} else
			remove_logs(qdir, id);
		buf_release(&p);
		return ret;
	}
	if (queue_move(qdir, id, folder, to, true, &error) < 0) {
		if (errno == ENOENT)
			return 0;
		ulak_err("queue", "%s", error);
		return -1;
	}
	return 1;
}

static int
do_action(const char *qdir, enum action a, int argc, char **argv)
{
	static const char *const done_text[] = {
		[ACT_HOLD] = "Placed on hold", [ACT_RELEASE] = "Released from hold",
		[ACT_DELETE] = "Deleted", [ACT_REQUEUE] = "Requeued",
	};
	const char *const *folders = action_folders(a);
	const char *error;
	size_t done = 0;
	int status = ULAK_EXIT_OK;
	bool all = argc == 1 && strcmp(argv[0], "ALL") == 0;

	if (all) {
		for (size_t f = 0; folders[f] != NULL; f++) {
			struct strlist ids;

			strlist_init(&ids);
			if (folder_ids(qdir, folders[f], &ids) < 0)
				status = ULAK_EXIT_FAIL;
			for (size_t i = 0; i < ids.n; i++) {
				int ret = act_one(qdir, a, folders[f],
				    ids.v[i]);

				if (ret > 0)
					done++;
				else if (ret < 0)
					status = ULAK_EXIT_FAIL;
			}
			strlist_release(&ids);
		}
	} else {
		for (int i = 0; i < argc; i++) {
			const char *folder;
			int ret = 0;

			if (!queue_id_valid(argv[i])) {
				ulak_err("queue", "%s: not a queue ID", argv[i]);
				status = ULAK_EXIT_FAIL;
				continue;
			}
			/* Retry once: qmgr may move it between two looks. */
			for (int tries = 0; tries < 2 && ret == 0; tries++) {
				folder = find_msg(qdir, argv[i], folders);
				if (folder == NULL)
					break;
				ret = act_one(qdir, a, folder, argv[i]);
			}
			if (ret > 0)
				done++;
			else {
				if (ret == 0)
					ulak_err("queue", "%s: no such message"
					    "%s", argv[i], a == ACT_RELEASE ?
					    " on hold" : a == ACT_HOLD ?
					    " to hold" : "");
				status = ULAK_EXIT_FAIL;
			}
		}
	}
	printf("%s: %zu message%s\n", done_text[a], done,
	    done == 1 ? "" : "s");
	if (done > 0)
		qmgr_tell(qdir, "wakeup", false, &error);
	return status;
}

int
cmd_queue(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ulak_cmd *self = ulak_cmd_find("queue");
	struct config *cfg;
	struct buf qdir;
	const char *error, *action;
	int c, status;
	bool mailq = strcmp(argv[0], "mailq") == 0 ||
	    str_has_suffix_nocase(argv[0], "/mailq");

	while ((c = getopt_long(argc, argv, mailq ? ":c:hv" : ":c:h",
	    longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'h':
			ulak_help_print(self, stdout);
			return ULAK_EXIT_OK;
		case 'v':
			break;
		case ':':
			return ulak_usage(self, "option %s needs an argument",
			    argv[optind - 1]);
		default:
			return ulak_usage(self, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	action = optind < argc ? argv[optind++] : "list";
	if (mailq && strcmp(action, "list") != 0)
		return ulak_usage(self, "mailq takes no arguments");
	if (strcmp(action, "list") == 0 || strcmp(action, "flush") == 0) {
		if (optind < argc)
			return ulak_usage(self, "unexpected argument %s",
			    argv[optind]);
	} else if (strcmp(action, "show") == 0) {
		if (argc - optind != 1)
			return ulak_usage(self, "show takes one queue ID");
	} else if (strcmp(action, "hold") == 0 ||
	    strcmp(action, "release") == 0 ||
	    strcmp(action, "delete") == 0 ||
	    strcmp(action, "requeue") == 0) {
		if (optind >= argc)
			return ulak_usage(self, "%s needs queue IDs or ALL",
			    action);
		for (int i = optind; i < argc; i++)
			if (strcmp(argv[i], "ALL") == 0 && argc - optind != 1)
				return ulak_usage(self, "ALL stands alone");
	} else
		return ulak_usage(self, "unknown action %s", action);

	cfg = ulak_config_load("queue", true);
	if (cfg == NULL)
		return ULAK_EXIT_FAIL;
	buf_init(&qdir, 0);
	if (ulak_config_value(cfg, "queue_directory", &qdir, &error) < 0) {
		ulak_err("queue", "queue_directory: %s", error);
		buf_release(&qdir);
		config_free(cfg);
		return ULAK_EXIT_FAIL;
	}
	if (strcmp(action, "list") == 0)
		status = do_list(qdir.data);
	else if (strcmp(action, "show") == 0) {
		if (!queue_id_valid(argv[optind])) {
			ulak_err("queue", "%s: not a queue ID", argv[optind]);
			status = ULAK_EXIT_FAIL;
		} else
			status = do_show(qdir.data, argv[optind]);
	} else if (strcmp(action, "flush") == 0) {
		qmgr_tell(qdir.data, "flush", true, &error);
		if (error != NULL) {
			ulak_err("queue", "cannot flush the queue: the queue "
			    "manager is not running (%s)", error);
			status = ULAK_EXIT_FAIL;
		} else
			status = ULAK_EXIT_OK;
	} else {
		enum action a = strcmp(action, "hold") == 0 ? ACT_HOLD :
		    strcmp(action, "release") == 0 ? ACT_RELEASE :
		    strcmp(action, "delete") == 0 ? ACT_DELETE : ACT_REQUEUE;

		status = do_action(qdir.data, a, argc - optind, argv + optind);
	}
	buf_release(&qdir);
	config_free(cfg);
	return status;
}
