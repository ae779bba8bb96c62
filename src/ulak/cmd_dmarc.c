/*
 * cmd_dmarc - `ulak dmarc DOMAIN`: find the DMARC policy (RFC 7489) that
 * applies to mail from DOMAIN, with the instance's resolver
 * (dns_servers) and Public Suffix List (dmarc_public_suffix_list), and
 * print it.
 *
 * Distrusts its input: the domain is checked by dmarc.c; record text from
 * DNS is printed with control bytes replaced.  Runs with the invoking
 * user's privileges.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cmd_sendmail.h"
#include "config.h"
#include "dmarc.h"
#include "dmarc_report.h"
#include "dns.h"
#include "file.h"
#include "psl.h"
#include "str.h"
#include "ulak.h"

static void
dmarc_print_safe(const char *key, const char *s)
{
	if (key != NULL)
		printf("%s: ", key);
	if (s == NULL)
		s = "-";
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e ?
		    '?' : *s);
	putchar('\n');
}

struct dmarc_wait {
	struct dmarc_outcome out;
	bool done;
};

static void
dmarc_done(struct dmarc_outcome *o, void *arg)
{
	struct dmarc_wait *w = arg;

	dmarc_outcome_move(&w->out, o);
	w->done = true;
}

static int
dmarc_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "psl", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dmarc_wait w;
	struct dmarc_input in;
	struct config *cfg = NULL;
	struct event_base *base = NULL;
	struct dns_resolver *dns = NULL;
	struct psl *psl = NULL;
	struct buf path, pslfile;
	const char *err, *psl_opt = NULL;
	bool exists;
	int c, status = ULAK_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'p':
			psl_opt = optarg;
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_dmarc, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_dmarc,
			    "option %s needs an argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_dmarc, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return ulak_usage(&ulak_cmd_dmarc, argc == optind ?
		    "no domain named" : "only one domain may be named");

	memset(&w, 0, sizeof(w));
	memset(&in, 0, sizeof(in));
	buf_init(&path, 0);
	buf_init(&pslfile, 0);
	buf_printf(&path, "%s/main.cf", ulak_config_dir());
	exists = access(path.data, F_OK) == 0 || errno != ENOENT;
	cfg = exists ? ulak_config_load("dmarc", false) :
	    config_new(ulak_config_dir());
	if (cfg == NULL)
		goto out;
	if (psl_opt == NULL) {
		if (ulak_config_value(cfg, "dmarc_public_suffix_list",
		    &pslfile, &err) < 0) {
			ulak_err("dmarc", "dmarc_public_suffix_list: %s", err);
			goto out;
		}
		psl_opt = pslfile.len > 0 ? pslfile.data : NULL;
	}
	psl = psl_load(psl_opt, &err);
	if (psl == NULL) {
		ulak_err("dmarc", "public suffix list: %s", err);
		goto out;
	}
	base = event_base_new();
	if (base == NULL) {
		ulak_err("dmarc", "cannot create an event base");
		goto out;
	}
	dns = dns_resolver_from_config(base, cfg, &err);
	if (dns == NULL) {
		ulak_err("dmarc", "resolver: %s", err);
		goto out;
	}
	in.from_domain = argv[optind];
	in.spf_result = SPF_NONE;
	(void)dmarc_check_start(base, dns, psl, &in, dmarc_done, &w);
	while (!w.done)
		if (event_base_loop(base, EVLOOP_ONCE) < 0) {
			ulak_err("dmarc", "event loop failed");
			goto out;
		}
	if (!w.out.have_record) {
		printf("%s\n", w.out.result == DMARC_RESULT_NONE ? "none" :
		    dmarc_result_name(w.out.result));
		dmarc_print_safe("domain", w.out.from_domain);
		dmarc_print_safe("organizational-domain", w.out.org_domain);
		dmarc_print_safe("problem", w.out.problem);
		status = w.out.result == DMARC_RESULT_TEMPERROR ?
		    ULAK_EXIT_TEMPFAIL : ULAK_EXIT_FAIL;
		goto out;
	}
	printf("policy: %s\n", dmarc_policy_name(w.out.policy));
	dmarc_print_safe("domain", w.out.from_domain);
	dmarc_print_safe("organizational-domain", w.out.org_domain);
	printf("record: _dmarc.");
	dmarc_print_safe(NULL, w.out.policy_domain);
	printf("p: %s%s\n", dmarc_policy_name(w.out.rec.p),
	    w.out.rec.p_from_rua ? " (no valid p=; rua= given)" : "");
	printf("sp: %s\npct: %u\nadkim: %s\naspf: %s\n",
	    dmarc_policy_name(w.out.rec.sp), w.out.rec.pct,
	    w.out.rec.adkim_strict ? "s" : "r",
	    w.out.rec.aspf_strict ? "s" : "r");
	dmarc_print_safe("rua", w.out.rec.rua);
	dmarc_print_safe("ruf", w.out.rec.ruf);
	dmarc_print_safe("fo", w.out.rec.fo);
	printf("ri: %lu\n", w.out.rec.ri);
	if (w.out.rec.warnings != NULL)
		dmarc_print_safe("warnings", w.out.rec.warnings);
	status = ULAK_EXIT_OK;
out:
	dmarc_outcome_release(&w.out);
	dns_resolver_free(dns);
	if (base != NULL)
		event_base_free(base);
	psl_free(psl);
	if (cfg != NULL)
		config_free(cfg);
	buf_release(&path);
	buf_release(&pslfile);
	return status;
}

/* ---- ulak dmarc report ---- */

#define REPORT_LOG "dmarc-reports.log"
#define REPORT_WORK "dmarc-reports.log.work"
#define REPORT_LOG_MAX ((size_t)512 << 20)
#define REPORT_URIS_MAX 10

struct report_ctx {
	struct config *cfg;
	const char *confdir;
	bool dry_run;
	struct buf data_dir, hostname, from, org_name;
	struct event_base *base;
	struct dns_resolver *dns;
	struct psl *psl;
	unsigned long sent, skipped;
	bool failed;
};

static void
report_bad_line(unsigned long lineno, const char *error, void *arg)
{
	ulak_warn("dmarc", "%s, line %lu: %s (skipped)", (const char *)arg,
	    lineno, error);
}

/* Read PATH (missing: empty) into S; the bytes consumed in *USED_R. */
static int
report_read(const char *path, struct dmarc_report_set *s, struct buf *text,
    size_t *used_r)
{
	const char *err;

	buf_reset(text);
	*used_r = 0;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (file_read_all(path, text, REPORT_LOG_MAX, &err) < 0) {
		ulak_err("dmarc", "%s", err);
		return -1;
	}
	*used_r = dmarc_report_set_read(s, text->data, text->len,
	    report_bad_line, (void *)path);
	if (*used_r < text->len)
		ulak_warn("dmarc", "%s: %zu bytes of an unfinished line left "
		    "for the next run", path, text->len - *used_r);
	return 0;
}

struct report_txt_wait {
	bool done;
	int verdict;		/* 1: v=DMARC1 found, 0: none, -1: DNS failed */
	char why[128];
};

static void
report_txt_done(const struct dns_answer *a, void *arg)
{
	struct report_txt_wait *w = arg;

	w->done = true;
	w->verdict = 0;
	if (a->status == DNS_TEMPFAIL) {
		w->verdict = -1;
		snprintf(w->why, sizeof(w->why), "%s", a->error != NULL ?
		    a->error : "temporary DNS failure");
		return;
	}
	for (size_t i = 0; a->status == DNS_OK && i < a->n_rr; i++)
		if (a->rr[i].data != NULL &&
		    dmarc_record_is_dmarc(a->rr[i].data, a->rr[i].data_len))
			w->verdict = 1;
	if (w->verdict == 0)
		snprintf(w->why, sizeof(w->why), "no v=DMARC1 record");
}

/*
 * External destination verification (RFC 7489 7.1): may reports about
 * POLICY_DOMAIN go to an address in RUA_DOMAIN?  1 yes, 0 no (WHY says
 * why), -1 DNS failed.
 */
static int
report_dest_ok(struct report_ctx *c, const char *policy_domain,
    const char *rua_domain, struct buf *name, struct report_txt_wait *w)
{
	buf_reset(name);
	memset(w, 0, sizeof(*w));
	if (str_casecmp(psl_org_domain(c->psl, policy_domain),
	    psl_org_domain(c->psl, rua_domain)) == 0)
		return 1;
	buf_printf(name, "%s._report._dmarc.%s", policy_domain, rua_domain);
	if (!dns_query_name_ok(name->data, false)) {
		snprintf(w->why, sizeof(w->why), "not a name DNS can ask for");
		return 0;
	}
	(void)dns_lookup(c->dns, name->data, DNS_T_TXT, report_txt_done, w);
	while (!w->done)
		if (event_base_loop(c->base, EVLOOP_ONCE) < 0) {
			snprintf(w->why, sizeof(w->why), "event loop failed");
			return -1;
		}
	return w->verdict;
}

/* Submit MSG to TO through `ulak sendmail` (the maildrop).  0 or -1. */
static int
report_submit(struct report_ctx *c, const char *to, const struct buf *msg)
{
	char *args[] = { "ulak", "-c", (char *)c->confdir, "sendmail", "-i",
	    "-f", c->from.data, "--", (char *)to, NULL };
	int fds[2], status;
	pid_t pid;
	void (*old)(int);
	bool wrote;

	if (pipe(fds) < 0) {
		ulak_err("dmarc", "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		ulak_err("dmarc", "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		if (dup2(fds[0], 0) < 0)
			_exit(SENDMAIL_EX_SOFTWARE);
		close(fds[0]);
		close(fds[1]);
		execv("/proc/self/exe", args);
		_exit(SENDMAIL_EX_SOFTWARE);
	}
	close(fds[0]);
	old = signal(SIGPIPE, SIG_IGN);
	wrote = file_write_full(fds[1], msg->data, msg->len) == 0;
	close(fds[1]);
	signal(SIGPIPE, old);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			ulak_err("dmarc", "waitpid: %s", strerror(errno));
			return -1;
		}
	if (!wrote || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		ulak_err("dmarc", "sendmail to <%s> failed (status %d)", to,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	return 0;
}

static void
report_one(struct report_ctx *c, const struct dmarc_report *r, size_t idx,
    time_t now)
{
	struct dmarc_report_uri uris[REPORT_URIS_MAX];
	struct dmarc_report_meta meta;
	struct dmarc_report_mail mail;
	struct report_txt_wait w;
	struct buf warn, xml, gz, msg, id, bound, name;
	char date[64];
	size_t n = 0;
	const char *err;

	buf_init(&warn, 0);
	buf_init(&xml, 0);
	buf_init(&gz, 0);
	buf_init(&msg, 0);
	buf_init(&id, 0);
	buf_init(&bound, 0);
	buf_init(&name, 0);
	if (r->rua != NULL)
		dmarc_report_rua_parse(r->rua, uris, REPORT_URIS_MAX, &n, &warn);
	if (warn.len > 0)
		ulak_warn("dmarc", "%s: rua=: %s", r->policy_domain, warn.data);
	if (n == 0) {
		if (c->dry_run)
			printf("%s: no mailto: rua=, nothing to send "
			    "(%lu messages)\n", r->policy_domain, r->messages);
		goto out;
	}
	buf_printf(&id, "%lld.%ld.%zu", (long long)now, (long)getpid(), idx);
	buf_printf(&bound, "=_ulak_dmarc_%lld_%ld_%zu", (long long)now,
	    (long)getpid(), idx);
	memset(&meta, 0, sizeof(meta));
	meta.org_name = c->org_name.data;
	meta.email = c->from.data;
	meta.report_id = id.data;
	dmarc_report_xml(r, &meta, &xml);
	if (dmarc_report_gzip(xml.data, xml.len, &gz, &err) < 0) {
		ulak_err("dmarc", "%s: %s", r->policy_domain, err);
		c->failed = true;
		goto out;
	}
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
	    gmtime(&now));
	for (size_t i = 0; i < n; i++) {
		const char *dom = strrchr(uris[i].address, '@') + 1;
		int ok = report_dest_ok(c, r->policy_domain, dom, &name, &w);

		if (ok < 0)
			ulak_warn("dmarc", "%s: rua <%s> skipped: external "
			    "destination check %s failed: %s",
			    r->policy_domain, uris[i].address, name.data,
			    w.why);
		else if (ok == 0)
			ulak_warn("dmarc", "%s: rua <%s> skipped: external "
			    "destination not authorized: %s: %s",
			    r->policy_domain, uris[i].address, name.data,
			    w.why);
		if (ok <= 0) {
			c->skipped++;
			continue;
		}
		memset(&mail, 0, sizeof(mail));
		mail.from = c->from.data;
		mail.to = uris[i].address;
		mail.submitter = c->hostname.data;
		mail.report_id = id.data;
		mail.date = date;
		mail.boundary = bound.data;
		buf_reset(&msg);
		dmarc_report_message(r, &mail, gz.data, gz.len, &msg);
		if (uris[i].max_size > 0 && msg.len > uris[i].max_size) {
			ulak_warn("dmarc", "%s: rua <%s> skipped: the report "
			    "(%zu bytes) is over its limit of %llu bytes",
			    r->policy_domain, uris[i].address, msg.len,
			    (unsigned long long)uris[i].max_size);
			c->skipped++;
			continue;
		}
		if (c->dry_run) {
			printf("%s: would send to <%s>: %zu records, %lu "
			    "messages, %lld-%lld\n", r->policy_domain,
			    uris[i].address, r->n_rows, r->messages,
			    (long long)r->begin, (long long)r->end);
			continue;
		}
		if (report_submit(c, uris[i].address, &msg) < 0) {
			c->failed = true;
			continue;
		}
		c->sent++;
		printf("%s: sent to <%s>: %zu records, %lu messages, "
		    "report-id %s\n", r->policy_domain, uris[i].address,
		    r->n_rows, r->messages, id.data);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(uris[i].address);
	buf_release(&warn);
	buf_release(&xml);
	buf_release(&gz);
	buf_release(&msg);
	buf_release(&id);
	buf_release(&bound);
	buf_release(&name);
}

/*
 * After the reports of WORK went out: lines a late writer (one that
 * opened the log before the rename) added after byte USED, and an
 * unfinished tail, go back to the log for the next run; then WORK goes.
 */
static int
report_finish(const char *work, const char *log, size_t used)
{
	struct buf text;
	const char *err;
	int fd, rc = -1;

	buf_init(&text, 0);
	if (file_read_all(work, &text, REPORT_LOG_MAX, &err) < 0) {
		ulak_err("dmarc", "%s", err);
		goto out;
	}
	if (text.len > used) {
		buf_consume(&text, used);
		if (text.data[text.len - 1] != '\n')
			buf_append_char(&text, '\n');
		fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0 || file_write_full(fd, text.data, text.len) < 0) {
			ulak_err("dmarc", "%s: %s (%s kept)", log,
			    strerror(errno), work);
			if (fd >= 0)
				close(fd);
			goto out;
		}
		if (close(fd) < 0) {
			ulak_err("dmarc", "%s: %s (%s kept)", log,
			    strerror(errno), work);
			goto out;
		}
	}
	if (unlink(work) < 0) {
		ulak_err("dmarc", "%s: %s", work, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_release(&text);
	return rc;
}

static int
report_conf(struct report_ctx *c, const char *name, struct buf *out)
{
	const char *err;

	if (ulak_config_value(c->cfg, name, out, &err) < 0) {
		ulak_err("dmarc", "%s: %s", name, err);
		return -1;
	}
	return 0;
}

static int
dmarc_report_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "keep", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct report_ctx c;
	struct dmarc_report_set set;
	struct buf log, work, text, pslfile;
	const char *err;
	bool keep = false, have_work;
	size_t used = 0, used_log;
	time_t now = time(NULL);
	int ch, status = ULAK_EXIT_FAIL;

	memset(&c, 0, sizeof(c));
	while ((ch = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'n':
			c.dry_run = true;
			break;
		case 'k':
			keep = true;
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_dmarc, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_dmarc,
			    "option %s needs an argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_dmarc, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return ulak_usage(&ulak_cmd_dmarc, "report takes no operands");

	dmarc_report_set_init(&set);
	buf_init(&log, 0);
	buf_init(&work, 0);
	buf_init(&text, 0);
	buf_init(&pslfile, 0);
	buf_init(&c.data_dir, 0);
	buf_init(&c.hostname, 0);
	buf_init(&c.from, 0);
	buf_init(&c.org_name, 0);
	c.confdir = ulak_config_dir();
	c.cfg = ulak_config_load("dmarc", false);
	if (c.cfg == NULL)
		goto out;
	if (report_conf(&c, "data_directory", &c.data_dir) < 0 ||
	    report_conf(&c, "myhostname", &c.hostname) < 0 ||
	    report_conf(&c, "dmarc_report_from", &c.from) < 0 ||
	    report_conf(&c, "dmarc_report_org_name", &c.org_name) < 0 ||
	    report_conf(&c, "dmarc_public_suffix_list", &pslfile) < 0)
		goto out;
	buf_printf(&log, "%s/" REPORT_LOG, c.data_dir.data);
	buf_printf(&work, "%s/" REPORT_WORK, c.data_dir.data);
	c.psl = psl_load(pslfile.len > 0 ? pslfile.data : NULL, &err);
	if (c.psl == NULL) {
		ulak_err("dmarc", "public suffix list: %s", err);
		goto out;
	}
	c.base = event_base_new();
	if (c.base == NULL) {
		ulak_err("dmarc", "cannot create an event base");
		goto out;
	}
	c.dns = dns_resolver_from_config(c.base, c.cfg, &err);
	if (c.dns == NULL) {
		ulak_err("dmarc", "resolver: %s", err);
		goto out;
	}

	/*
	 * Rotate: smtpd opens the log for each line, so after the rename its
	 * next line starts a new log.  A work file left by an earlier run
	 * (--keep, a failed submission) is reported first, and the log waits
	 * for the next run.
	 */
	have_work = access(work.data, F_OK) == 0;
	if (have_work)
		ulak_warn("dmarc", "%s left by an earlier run: reporting it; "
		    "%s waits for the next run", work.data, log.data);
	else if (!c.dry_run && rename(log.data, work.data) < 0) {
		if (errno != ENOENT) {
			ulak_err("dmarc", "rename %s: %s", log.data,
			    strerror(errno));
			goto out;
		}
	} else if (!c.dry_run)
		have_work = true;
	if (report_read(work.data, &set, &text, &used) < 0)
		goto out;
	/* --dry-run renames nothing: it reads the log where it is. */
	if (c.dry_run && !have_work &&
	    report_read(log.data, &set, &text, &used_log) < 0)
		goto out;

	for (size_t i = 0; i < set.n; i++)
		report_one(&c, &set.reports[i], i, now);
	if (c.dry_run)
		printf("%lu lines, %lu skipped, %zu reports\n", set.lines,
		    set.bad, set.n);
	if (c.failed) {
		if (have_work && !c.dry_run)
			ulak_err("dmarc", "%s kept: the next run sends its "
			    "reports again", work.data);
		goto out;
	}
	if (have_work && !c.dry_run && !keep &&
	    report_finish(work.data, log.data, used) < 0)
		goto out;
	status = ULAK_EXIT_OK;
out:
	dmarc_report_set_release(&set);
	dns_resolver_free(c.dns);
	if (c.base != NULL)
		event_base_free(c.base);
	psl_free(c.psl);
	if (c.cfg != NULL)
		config_free(c.cfg);
	buf_release(&log);
	buf_release(&work);
	buf_release(&text);
	buf_release(&pslfile);
	buf_release(&c.data_dir);
	buf_release(&c.hostname);
	buf_release(&c.from);
	buf_release(&c.org_name);
	return status;
}

/*
 * `ulak dmarc [-c DIR] report ...` or `ulak dmarc [options] DOMAIN`:
 * "report" is never a domain DMARC could ask for (one label).
 */
static int
dmarc_main(int argc, char **argv)
{
	int i = 1;

	while (i + 1 < argc && strcmp(argv[i], "-c") == 0)
		i += 2;
	if (i < argc && strcmp(argv[i], "report") == 0) {
		for (int j = 1; j < i; j += 2)
			ulak_config_dir_set(argv[j + 1]);
		optind = 0;
		return dmarc_report_run(argc - i, argv + i);
	}
	return dmarc_run(argc, argv);
}

const struct ulak_cmd ulak_cmd_dmarc = {
	.name = "dmarc",
	.summary = "show DMARC policies, send aggregate reports (RFC 7489)",
	.synopsis = "ulak dmarc [-c CONFIG_DIR] [--psl FILE] DOMAIN\n"
	    "ulak dmarc [-c CONFIG_DIR] report [--dry-run] [--keep]",
	.help =
	    "DESCRIPTION\n"
	    "    Finds the DMARC policy that applies to mail whose From:\n"
	    "    address is in DOMAIN, as smtpd does (RFC 7489 6.6.3): the TXT\n"
	    "    record at _dmarc.DOMAIN, else at _dmarc.ORG where ORG is the\n"
	    "    organizational domain of DOMAIN by the Public Suffix List.\n"
	    "    The first line is \"policy: P\", the policy for DOMAIN (p=, or\n"
	    "    sp= when the record is the organizational domain's); the\n"
	    "    record's tags follow, one per line, defaults filled in:\n"
	    "\n"
	    "        policy: reject\n"
	    "        domain: mail.example.com\n"
	    "        organizational-domain: example.com\n"
	    "        record: _dmarc.example.com\n"
	    "        p: reject\n"
	    "        sp: reject\n"
	    "        pct: 100\n"
	    "        adkim: r\n"
	    "        aspf: r\n"
	    "        rua: mailto:dmarc@example.com\n"
	    "        ruf: -\n"
	    "        fo: 0\n"
	    "        ri: 86400\n"
	    "\n"
	    "    Tags with bad values are ignored (their defaults apply) and\n"
	    "    listed on a \"warnings:\" line.  When no policy applies the\n"
	    "    first line is \"none\" (or \"temperror\", \"permerror\") and a\n"
	    "    \"problem:\" line says why: no record, several records, a\n"
	    "    record without a valid p= (and no rua=), a bad domain.\n"
	    "\n"
	    "    DNS goes through the instance's resolver (dns_servers,\n"
	    "    dns_timeout); the suffix list is dmarc_public_suffix_list (a\n"
	    "    missing main.cf means the defaults).\n"
	    "\n"
	    "    report sends the DMARC aggregate reports (RFC 7489 7.2) of\n"
	    "    the data smtpd recorded in $data_directory/dmarc-reports.log\n"
	    "    (dmarc_report_data).  It renames the log to\n"
	    "    dmarc-reports.log.work (smtpd starts a new log), groups the\n"
	    "    lines per policy domain and UTC day, and mails each group's\n"
	    "    report (appendix C XML, gzipped, as an attachment named\n"
	    "    RECEIVER!DOMAIN!BEGIN!END.xml.gz) through ulak sendmail to\n"
	    "    each mailto: address of the domain's rua=, from\n"
	    "    dmarc_report_from.  An address outside the domain's\n"
	    "    organizational domain gets reports only when\n"
	    "    DOMAIN._report._dmarc.ADDRESS-DOMAIN has a v=DMARC1 TXT\n"
	    "    record (RFC 7489 7.1); a report over a URI's !size limit is\n"
	    "    not sent to it.  Damaged lines are skipped with a warning.\n"
	    "    Run it once a day (cron).  A work file left by an earlier\n"
	    "    run is reported before the log is rotated again.\n"
	    "\n"
	    "OPTIONS\n"
	    "    --psl FILE\n"
	    "        Read the Public Suffix List from FILE.\n"
	    "    --dry-run\n"
	    "        report: print what would be sent (domain, address,\n"
	    "        records, messages); rename and send nothing.\n"
	    "    --keep\n"
	    "        report: keep dmarc-reports.log.work after sending (the\n"
	    "        next run then reports it again).\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 when a policy was found, 1 when none applies (or on\n"
	    "    failure), 75 when DNS failed temporarily, 2 on a usage error.\n"
	    "    report: 0 when every report that could go was submitted,\n"
	    "    1 on a failure (the work file is then kept).\n"
	    "\n"
	    "EXAMPLES\n"
	    "    ulak dmarc example.com\n"
	    "    ulak -c ./run dmarc mail.example.org\n"
	    "    ulak -c ./run dmarc report --dry-run\n"
	    "\n"
	    "SEE ALSO\n"
	    "    docs/spf-dmarc.md, RFC 7489\n",
	.run = dmarc_main,
};
