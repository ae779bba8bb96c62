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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "dmarc.h"
#include "dns.h"
#include "psl.h"
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

const struct ulak_cmd ulak_cmd_dmarc = {
	.name = "dmarc",
	.summary = "show the DMARC policy (RFC 7489) of a domain",
	.synopsis = "ulak dmarc [-c CONFIG_DIR] [--psl FILE] DOMAIN",
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
	    "OPTIONS\n"
	    "    --psl FILE\n"
	    "        Read the Public Suffix List from FILE.\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 when a policy was found, 1 when none applies (or on\n"
	    "    failure), 75 when DNS failed temporarily, 2 on a usage error.\n"
	    "\n"
	    "EXAMPLES\n"
	    "    ulak dmarc example.com\n"
	    "    ulak -c ./run dmarc mail.example.org\n"
	    "\n"
	    "SEE ALSO\n"
	    "    docs/spf-dmarc.md, RFC 7489\n",
	.run = dmarc_run,
};
