/*
 * cmd_spf - `ulak spf`: evaluate SPF (RFC 7208) for a client address, a
 * MAIL FROM address and a HELO name with the instance's resolver
 * (dns_servers), and print the result; `--batch` evaluates many queries
 * read from standard input at once (the RFC 7208 test suite uses it).
 *
 * Distrusts its input: addresses and names are checked by spf.c; text
 * that came from DNS (the explanation) is printed with control bytes
 * replaced.  Runs with the invoking user's privileges.
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
#include "dns.h"
#include "mem.h"
#include "spf.h"
#include "str.h"
#include "ulak.h"

#define SPF_BATCH_LINE_MAX 4096
#define SPF_BATCH_IN_FLIGHT 64

/* Print S with bytes outside printable ASCII (and tabs) as '?'. */
static void
spf_print_safe(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e ?
		    '?' : *s, f);
}

/* The configuration: main.cf of the instance, or the defaults. */
static struct config *
spf_config(const char *cmd)
{
	struct buf path;
	struct config *cfg;
	bool exists;

	buf_init(&path, 0);
	buf_printf(&path, "%s/main.cf", ulak_config_dir());
	exists = access(path.data, F_OK) == 0 || errno != ENOENT;
	buf_release(&path);
	if (!exists)
		return config_new(ulak_config_dir());
	cfg = ulak_config_load(cmd, false);
	return cfg;
}

struct spf_batch_item {
	char *line;			/* the input line, split in place */
	struct spf_request req;
	struct spf_check *check;
	struct spf_outcome out;
	bool done;
	bool bad;			/* bad input: printed as "error" */
};

struct spf_batch {
	struct spf_batch_item *items;
	size_t n, started, printed, running;
	struct event_base *base;
	struct dns_resolver *dns;
	const char *receiver;
	const char *default_exp;
};

static void spf_batch_fill(struct spf_batch *b);

static void
spf_batch_print(struct spf_batch *b)
{
	while (b->printed < b->n && b->items[b->printed].done) {
		struct spf_batch_item *it = &b->items[b->printed++];

		if (it->bad)
			fputs("error\t", stdout);
		else {
			printf("%s\t", spf_result_name(it->out.result));
			if (it->out.explanation != NULL)
				spf_print_safe(stdout, it->out.explanation);
		}
		fputc('\n', stdout);
		spf_outcome_release(&it->out);
		free(it->line);
		it->line = NULL;
	}
	fflush(stdout);
}

static void
spf_batch_done(struct spf_outcome *o, void *arg)
{
	struct spf_batch_item *it = arg;

	spf_outcome_move(&it->out, o);
	it->done = true;
	it->check = NULL;
}

/* Start checks until SPF_BATCH_IN_FLIGHT run. */
static void
spf_batch_fill(struct spf_batch *b)
{
	while (b->started < b->n && b->started - b->printed <
	    SPF_BATCH_IN_FLIGHT) {
		struct spf_batch_item *it = &b->items[b->started++];
		const char *err;

		if (it->bad) {
			it->done = true;
			continue;
		}
		it->req.receiver = b->receiver;
		it->req.default_explanation = b->default_exp;
		it->check = spf_check_start(b->base, b->dns, &it->req,
		    spf_batch_done, it, &err);
		if (it->check == NULL) {
			it->bad = true;
			it->done = true;
		}
	}
}

/* Split "IP<TAB>SENDER<TAB>HELO" in place. */
static void
spf_batch_parse(struct spf_batch_item *it)
{
	char *f[3] = { NULL, NULL, NULL };
	char *p = it->line;
	int n = 0;

	it->line[strcspn(it->line, "\r\n")] = '\0';
	f[n++] = p;
	while (n < 3 && (p = strchr(p, '\t')) != NULL) {
		*p++ = '\0';
		f[n++] = p;
	}
	if (n < 2 || f[0][0] == '\0') {
		it->bad = true;
		return;
	}
	it->req.client_ip = f[0];
	it->req.sender = f[1];
	it->req.helo = f[2];
}

static int
spf_batch_run(struct event_base *base, struct dns_resolver *dns,
    const char *receiver, const char *default_exp)
{
	struct spf_batch b;
	char line[SPF_BATCH_LINE_MAX];
	size_t cap = 0;

	memset(&b, 0, sizeof(b));
	b.base = base;
	b.dns = dns;
	b.receiver = receiver;
	b.default_exp = default_exp;
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (b.n == cap) {
			cap = cap ? cap * 2 : 64;
			b.items = xreallocarray(b.items, cap, sizeof(*b.items));
		}
		memset(&b.items[b.n], 0, sizeof(b.items[b.n]));
		b.items[b.n].line = xstrdup(line);
		spf_batch_parse(&b.items[b.n]);
		b.n++;
	}
	for (;;) {
		spf_batch_fill(&b);
		spf_batch_print(&b);
		if (b.printed == b.n)
			break;
		if (event_base_loop(base, EVLOOP_ONCE) < 0) {
			ulak_err("spf", "event loop failed");
			break;
		}
	}
	free(b.items);
	return b.printed == b.n ? ULAK_EXIT_OK : ULAK_EXIT_FAIL;
}

struct spf_single {
	struct spf_outcome out;
	bool done;
};

static void
spf_single_done(struct spf_outcome *o, void *arg)
{
	struct spf_single *s = arg;

	spf_outcome_move(&s->out, o);
	s->done = true;
}

static int
spf_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "sender", required_argument, NULL, 's' },
		{ "helo", required_argument, NULL, 'H' },
		{ "check-helo", no_argument, NULL, 'E' },
		{ "receiver", required_argument, NULL, 'r' },
		{ "default-explanation", required_argument, NULL, 'D' },
		{ "batch", no_argument, NULL, 'b' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct spf_request req;
	struct spf_single single;
	struct config *cfg = NULL;
	struct event_base *base = NULL;
	struct dns_resolver *dns = NULL;
	struct buf receiver;
	const char *err;
	bool batch = false, verbose = false;
	int c, status = ULAK_EXIT_FAIL;

	memset(&req, 0, sizeof(req));
	memset(&single, 0, sizeof(single));
	while ((c = getopt_long(argc, argv, ":c:hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'i':
			req.client_ip = optarg;
			break;
		case 's':
			req.sender = optarg;
			break;
		case 'H':
			req.helo = optarg;
			break;
		case 'E':
			req.helo_identity = true;
			break;
		case 'r':
			req.receiver = optarg;
			break;
		case 'D':
			req.default_explanation = optarg;
			break;
		case 'b':
			batch = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_spf, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_spf,
			    "option %s needs an argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_spf, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return ulak_usage(&ulak_cmd_spf, "unexpected argument \"%s\"",
		    argv[optind]);
	if (!batch && req.client_ip == NULL)
		return ulak_usage(&ulak_cmd_spf, "--ip is required");
	if (!batch && req.sender == NULL && req.helo == NULL)
		return ulak_usage(&ulak_cmd_spf, "--sender or --helo is "
		    "required");
	if (req.sender != NULL && strcmp(req.sender, "<>") == 0)
		req.sender = "";

	buf_init(&receiver, 0);
	cfg = spf_config("spf");
	if (cfg == NULL)
		goto out;
	if (req.receiver == NULL) {
		if (ulak_config_value(cfg, "myhostname", &receiver, &err) == 0 &&
		    receiver.len > 0)
			req.receiver = receiver.data;
	}
	base = event_base_new();
	if (base == NULL) {
		ulak_err("spf", "cannot create an event base");
		goto out;
	}
	dns = dns_resolver_from_config(base, cfg, &err);
	if (dns == NULL) {
		ulak_err("spf", "resolver: %s", err);
		goto out;
	}
	if (batch) {
		status = spf_batch_run(base, dns, req.receiver,
		    req.default_explanation);
		goto out;
	}
	if (spf_check_start(base, dns, &req, spf_single_done, &single,
	    &err) == NULL) {
		status = ulak_usage(&ulak_cmd_spf, "%s", err);
		goto out;
	}
	while (!single.done)
		if (event_base_loop(base, EVLOOP_ONCE) < 0) {
			ulak_err("spf", "event loop failed");
			goto out;
		}
	printf("%s\n", spf_result_name(single.out.result));
	if (single.out.explanation != NULL) {
		spf_print_safe(stdout, single.out.explanation);
		fputc('\n', stdout);
	}
	if (verbose) {
		struct buf h;

		buf_init(&h, 0);
		printf("identity: %s\ndomain: ", single.out.identity);
		spf_print_safe(stdout, single.out.domain);
		printf("\nmechanism: %s\n", single.out.mechanism != NULL ?
		    single.out.mechanism : "-");
		if (single.out.problem != NULL) {
			fputs("problem: ", stdout);
			spf_print_safe(stdout, single.out.problem);
			fputc('\n', stdout);
		}
		printf("dns-terms: %u\nvoid-lookups: %u\n",
		    single.out.dns_terms, single.out.void_lookups);
		spf_received_spf(&single.out, &h);
		fputs("Received-SPF: ", stdout);
		spf_print_safe(stdout, h.data);
		buf_reset(&h);
		spf_auth_results(&single.out, &h);
		fputs("\nAuthentication-Results: ", stdout);
		spf_print_safe(stdout, h.data);
		fputc('\n', stdout);
		buf_release(&h);
	}
	status = ULAK_EXIT_OK;
out:
	spf_outcome_release(&single.out);
	dns_resolver_free(dns);
	if (base != NULL)
		event_base_free(base);
	if (cfg != NULL)
		config_free(cfg);
	buf_release(&receiver);
	return status;
}

const struct ulak_cmd ulak_cmd_spf = {
	.name = "spf",
	.summary = "evaluate SPF (RFC 7208) for a client and a sender",
	.synopsis =
	    "ulak spf [-c CONFIG_DIR] [-v] --ip IP --sender ADDR [--helo NAME]\n"
	    "ulak spf [-c CONFIG_DIR] [-v] --ip IP --helo NAME --check-helo\n"
	    "ulak spf [-c CONFIG_DIR] --batch < QUERIES",
	.help =
	    "DESCRIPTION\n"
	    "    Evaluates the SPF policy (RFC 7208 check_host()) of the domain\n"
	    "    of ADDR for a client at address IP, as smtpd does for MAIL\n"
	    "    FROM, and prints the result on the first line: none, neutral,\n"
	    "    pass, fail, softfail, temperror or permerror.  For fail the\n"
	    "    explanation follows on the second line: the domain's exp=\n"
	    "    text, or the default one.\n"
	    "\n"
	    "    An empty sender (--sender '' or '<>') or --check-helo checks\n"
	    "    the HELO identity instead: the policy of NAME, with\n"
	    "    postmaster@NAME as the sender.  NAME is also the value of the\n"
	    "    %{h} macro.\n"
	    "\n"
	    "    DNS goes through the instance's resolver: dns_servers,\n"
	    "    dns_timeout (a missing main.cf means the defaults: the\n"
	    "    servers of /etc/resolv.conf).  myhostname is the receiver\n"
	    "    name (%{r}).\n"
	    "\n"
	    "OPTIONS\n"
	    "    --ip IP\n"
	    "        The client's IPv4 or IPv6 address.\n"
	    "    --sender ADDR\n"
	    "        The MAIL FROM address (without <>); a missing local part\n"
	    "        means postmaster.\n"
	    "    --helo NAME\n"
	    "        The HELO/EHLO name.\n"
	    "    --check-helo\n"
	    "        Check the HELO identity even when a sender is given.\n"
	    "    --receiver NAME\n"
	    "        The receiver's name for %{r} (default: myhostname).\n"
	    "    --default-explanation TEXT\n"
	    "        The explanation (a macro string) of a fail when the domain\n"
	    "        gives none.\n"
	    "    -v, --verbose\n"
	    "        Also print the identity, domain, deciding mechanism,\n"
	    "        problem, lookup counts and the Received-SPF: and\n"
	    "        Authentication-Results: texts smtpd would write.\n"
	    "    --batch\n"
	    "        Read queries from standard input, one per line:\n"
	    "        IP<TAB>SENDER<TAB>HELO (SENDER may be empty), evaluate them\n"
	    "        concurrently and print one line per query, in input\n"
	    "        order: RESULT<TAB>EXPLANATION (\"error\" for a line that\n"
	    "        is not a query).  Answers are cached for the whole run.\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    0 when a result was printed (whatever it is), 1 when the\n"
	    "    configuration or the resolver failed, 2 on a usage error.\n"
	    "\n"
	    "EXAMPLES\n"
	    "    ulak spf --ip 192.0.2.1 --sender alice@example.com --helo mx.example.com\n"
	    "    printf '192.0.2.1\\tbob@example.org\\tmx\\n' | ulak spf --batch\n"
	    "\n"
	    "SEE ALSO\n"
	    "    docs/spf-dmarc.md, RFC 7208\n",
	.run = spf_run,
};
