/*
 * cmd_dkim - `ulak dkim keygen|sign|verify`: make a DKIM key and the DNS
 * record to publish, sign a message read from standard input, or verify
 * every DKIM signature of one (keys from the configured resolver,
 * dns_servers, or from a file for offline use).
 *
 * Distrusts the message it reads (it goes through the same verifier as
 * incoming mail) and its arguments (domain and selector are checked
 * before they become a file name).  Runs with the invoking user's
 * privileges; private keys are written with mode 0600 and never printed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "dkim.h"
#include "dns.h"
#include "err.h"
#include "file.h"
#include "mem.h"
#include "parse.h"
#include "str.h"
#include "ulak.h"

#define DKIM_MSG_MAX (512u * 1024 * 1024)

/* A DKIM domain or selector: labels of letters, digits, '-', '_'. */
static bool
dkim_cmd_name_ok(const char *s)
{
	size_t label = 0, n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

/* ---- keygen ---- */

static int
dkim_keygen_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "bits", required_argument, NULL, 'b' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum dkim_key_type type = DKIM_KEY_RSA;
	uint64_t bits = 2048;
	const char *dir = NULL, *error, *selector;
	char *domain;
	struct buf pem, record, path, defdir;
	struct stat st;
	int c, status = ULAK_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, ":c:t:b:d:h", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 't':
			if (strcmp(optarg, "rsa") == 0)
				type = DKIM_KEY_RSA;
			else if (strcmp(optarg, "ed25519") == 0)
				type = DKIM_KEY_ED25519;
			else
				return ulak_usage(&ulak_cmd_dkim, "--type is "
				    "rsa or ed25519, not \"%s\"", optarg);
			break;
		case 'b':
			if (parse_uint(optarg, DKIM_RSA_MIN_BITS,
			    DKIM_RSA_MAX_BITS, &bits, &error) < 0)
				return ulak_usage(&ulak_cmd_dkim, "--bits: %s "
				    "(%d..%d)", error, DKIM_RSA_MIN_BITS,
				    DKIM_RSA_MAX_BITS);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_dkim, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_dkim, "option %s needs an "
			    "argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_dkim, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return ulak_usage(&ulak_cmd_dkim, "keygen needs DOMAIN and "
		    "SELECTOR");
	domain = argv[optind];
	selector = argv[optind + 1];
	if (!dkim_cmd_name_ok(domain) || !dkim_cmd_name_ok(selector))
		return ulak_usage(&ulak_cmd_dkim, "bad domain or selector "
		    "(letters, digits, '-', '_' in dot-separated labels)");
	buf_init(&pem, 0);
	buf_init(&record, 0);
	buf_init(&path, 0);
	buf_init(&defdir, 0);
	if (dir == NULL) {
		buf_printf(&defdir, "%s/dkim", ulak_config_dir());
		dir = defdir.data;
	}
	buf_printf(&path, "%s/%s.%s.key", dir, str_lower(domain),
	    selector);
	if (stat(path.data, &st) == 0) {
		ulak_err("dkim", "%s exists; remove it first or choose another "
		    "selector", path.data);
		goto out;
	}
	if (file_mkdirs(dir, 0750, &error) < 0) {
		ulak_err("dkim", "%s", error);
		goto out;
	}
	if (dkim_keygen(type, (unsigned)bits, &pem, &record, &error) < 0) {
		ulak_err("dkim", "%s", error);
		goto out;
	}
	if (file_write_atomic(path.data, pem.data, pem.len, 0600,
	    &error) < 0) {
		ulak_err("dkim", "%s", error);
		goto out;
	}
	/* One TXT record of 255-octet strings (RFC 1035 3.3.14). */
	printf("%s._domainkey.%s. IN TXT", selector, domain);
	for (size_t pos = 0; pos < record.len; pos += 255)
		printf(" \"%.*s\"", (int)(record.len - pos < 255 ?
		    record.len - pos : 255), record.data + pos);
	printf("\n");
	fprintf(stderr, "ulak dkim: private key written to %s\n"
	    "ulak dkim: dkim_signing_key_maps entry: %s %s:%s\n", path.data,
	    domain, selector, path.data);
	status = ULAK_EXIT_OK;
out:
	explicit_bzero(pem.data, pem.len);
	buf_release(&pem);
	buf_release(&record);
	buf_release(&path);
	buf_release(&defdir);
	return status;
}

/* ---- reading the message ---- */

static int
dkim_read_stdin(struct buf *msg, const char **error_r)
{
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		if (buf_append(msg, chunk, n) < 0) {
			*error_r = "the message is larger than 512 MiB";
			return -1;
		}
	if (ferror(stdin)) {
		*error_r = err_fmt("reading standard input: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- sign ---- */

static int
dkim_sign_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "selector", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "canon", required_argument, NULL, 'C' },
		{ "headers", required_argument, NULL, 'H' },
		{ "oversign", required_argument, NULL, 'O' },
		{ "identity", required_argument, NULL, 'i' },
		{ "ttl", required_argument, NULL, 'x' },
		{ "body-length", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dkim_sign_params p;
	struct dkim_privkey *key = NULL;
	struct dkim_sign *signer = NULL;
	const char *keyfile = NULL, *error, *eol = "\n", *nl;
	struct buf msg, sig;
	uint64_t ttl;
	int c, status = ULAK_EXIT_FAIL;

	memset(&p, 0, sizeof(p));
	p.hcanon = p.bcanon = DKIM_CANON_RELAXED;
	while ((c = getopt_long(argc, argv, ":c:d:s:k:h", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'd':
			p.domain = optarg;
			break;
		case 's':
			p.selector = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'C':
			if (dkim_canon_parse(optarg, &p.hcanon, &p.bcanon,
			    &error) < 0)
				return ulak_usage(&ulak_cmd_dkim, "--canon: %s "
				    "(simple|relaxed[/simple|relaxed])", error);
			break;
		case 'H':
			p.headers = optarg;
			break;
		case 'O':
			p.oversign = optarg;
			break;
		case 'i':
			p.identity = optarg;
			break;
		case 'x':
			if (parse_time(optarg, 's', &ttl, &error) < 0)
				return ulak_usage(&ulak_cmd_dkim, "--ttl: %s",
				    error);
			p.ttl = ttl;
			break;
		case 'l':
			p.body_length = true;
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_dkim, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_dkim, "option %s needs an "
			    "argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_dkim, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return ulak_usage(&ulak_cmd_dkim, "sign reads the message from "
		    "standard input; no arguments");
	if (p.domain == NULL || p.selector == NULL || keyfile == NULL)
		return ulak_usage(&ulak_cmd_dkim, "sign needs --domain, "
		    "--selector and --key");
	if (!dkim_cmd_name_ok(p.domain) || !dkim_cmd_name_ok(p.selector))
		return ulak_usage(&ulak_cmd_dkim, "bad domain or selector");
	buf_init(&msg, DKIM_MSG_MAX);
	buf_init(&sig, 0);
	key = dkim_privkey_load(keyfile, &error);
	if (key == NULL) {
		ulak_err("dkim", "%s", error);
		goto out;
	}
	p.key = key;
	if (dkim_read_stdin(&msg, &error) < 0) {
		ulak_err("dkim", "%s", error);
		goto out;
	}
	/* The signature's line ends follow the message's first line. */
	nl = memchr(msg.data, '\n', msg.len);
	if (nl != NULL && nl > msg.data && nl[-1] == '\r')
		eol = "\r\n";
	signer = dkim_sign_new(&p);
	dkim_sign_feed(signer, msg.data, msg.len);
	if (dkim_sign_finish(signer, eol, &sig, &error) < 0) {
		ulak_err("dkim", "%s", error);
		goto out;
	}
	if (fwrite(sig.data, 1, sig.len, stdout) != sig.len ||
	    fwrite(msg.data, 1, msg.len, stdout) != msg.len ||
	    fflush(stdout) != 0) {
		ulak_err("dkim", "writing standard output: %s",
		    strerror(errno));
		goto out;
	}
	status = ULAK_EXIT_OK;
out:
	dkim_sign_free(signer);
	dkim_privkey_free(key);
	buf_release(&msg);
	buf_release(&sig);
	return status;
}

/* ---- verify ---- */

/*
 * --key-file: either one key record (used for every signature) or lines
 * "NAME RECORD" with NAME = selector._domainkey.domain; '#' comments.
 */
static int
dkim_keyfile_apply(struct dkim_verify *v, const char *path,
    const char **error_r)
{
	struct buf text;
	struct strlist names, records;
	char *line, *next;
	bool single = true;

	buf_init(&text, 0);
	if (file_read_all(path, &text, 1024 * 1024, error_r) < 0) {
		buf_release(&text);
		return -1;
	}
	strlist_init(&names);
	strlist_init(&records);
	for (line = text.data; line != NULL; line = next) {
		char *sp;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		line = str_trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		sp = line + strcspn(line, " \t");
		if (memchr(line, '=', (size_t)(sp - line)) == NULL &&
		    *sp != '\0') {
			single = false;
			*sp++ = '\0';
			strlist_add(&names, str_lower(line));
			strlist_add(&records, str_trim(sp));
		} else
			strlist_add(&records, line);
	}
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const char *name = dkim_verify_key_name(v, i);
		const char *rec = NULL;
		size_t len;
		long k;

		if (name == NULL)
			continue;
		if (single && records.n > 0)
			rec = records.v[0];
		else if (!single) {
			struct buf lower;

			buf_init(&lower, 0);
			buf_append_str(&lower, name);
			str_lower(lower.data);
			k = strlist_find(&names, lower.data);
			buf_release(&lower);
			if (k >= 0)
				rec = records.v[k];
		}
		if (rec == NULL) {
			dkim_verify_key_answer(v, i, DNS_NXDOMAIN, NULL, NULL,
			    0, NULL);
			continue;
		}
		len = strlen(rec);
		dkim_verify_key_answer(v, i, DNS_OK, &rec, &len, 1, NULL);
	}
	strlist_release(&names);
	strlist_release(&records);
	buf_release(&text);
	return 0;
}

/* dns_servers etc. of the instance; resolv.conf when there is no main.cf. */
static int
dkim_dns_lookup(struct dkim_verify *v, const char **error_r)
{
	struct dns_config dc;
	struct config *cfg = NULL;
	struct buf servers, anchor, timeout, path;
	uint64_t secs = 30;
	int rc = -1;

	memset(&dc, 0, sizeof(dc));
	buf_init(&servers, 0);
	buf_init(&anchor, 0);
	buf_init(&timeout, 0);
	buf_init(&path, 0);
	buf_printf(&path, "%s/main.cf", ulak_config_dir());
	if (access(path.data, F_OK) == 0) {
		cfg = ulak_config_load("dkim", true);
		if (cfg == NULL) {
			*error_r = "cannot read main.cf";
			goto out;
		}
		if (ulak_config_value(cfg, "dns_servers", &servers,
		    error_r) < 0 || ulak_config_value(cfg,
		    "dnssec_trust_anchor_file", &anchor, error_r) < 0 ||
		    ulak_config_value(cfg, "dns_timeout", &timeout,
		    error_r) < 0)
			goto out;
		if (timeout.len > 0 && parse_time(timeout.data, 's', &secs,
		    error_r) < 0)
			goto out;
	}
	dc.servers = servers.data;
	dc.trust_anchor_file = anchor.data;
	dc.timeout_ms = (unsigned)(secs > 3600 ? 3600000 : secs * 1000);
	rc = dkim_verify_lookup_sync(v, &dc, error_r);
out:
	config_free(cfg);
	buf_release(&servers);
	buf_release(&anchor);
	buf_release(&timeout);
	buf_release(&path);
	return rc;
}

static int
dkim_verify_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key-file", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keyfile = NULL, *error;
	struct dkim_verify *v;
	const struct dkim_result *res;
	struct buf line;
	char chunk[65536];
	size_t n, pass = 0;
	int c, status = ULAK_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, ":c:k:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ulak_config_dir_set(optarg);
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'h':
			ulak_help_print(&ulak_cmd_dkim, stdout);
			return ULAK_EXIT_OK;
		case ':':
			return ulak_usage(&ulak_cmd_dkim, "option %s needs an "
			    "argument", argv[optind - 1]);
		default:
			return ulak_usage(&ulak_cmd_dkim, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return ulak_usage(&ulak_cmd_dkim, "verify reads the message "
		    "from standard input; no arguments");
	v = dkim_verify_new(NULL);
	buf_init(&line, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		dkim_verify_feed(v, chunk, n);
	if (ferror(stdin)) {
		ulak_err("dkim", "reading standard input: %s",
		    strerror(errno));
		goto out;
	}
	dkim_verify_end(v);
	if (dkim_verify_count(v) > 0) {
		if (keyfile != NULL) {
			if (dkim_keyfile_apply(v, keyfile, &error) < 0) {
				ulak_err("dkim", "%s", error);
				goto out;
			}
		} else if (dkim_dns_lookup(v, &error) < 0) {
			ulak_err("dkim", "%s", error);
			goto out;
		}
	}
	res = dkim_verify_results(v, &n);
	if (n == 0)
		printf("dkim=none (no signatures)\n");
	for (size_t i = 0; i < n; i++) {
		buf_reset(&line);
		dkim_result_format(&res[i], &line);
		printf("%s\n", line.data);
		if (res[i].status == DKIM_PASS)
			pass++;
	}
	if (n > 0 && pass == n)
		status = ULAK_EXIT_OK;
out:
	dkim_verify_free(v);
	buf_release(&line);
	return status;
}

static int
dkim_run(int argc, char **argv)
{
	int i;

	/* -c and --help may come before the action word. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			ulak_help_print(&ulak_cmd_dkim, stdout);
			return ULAK_EXIT_OK;
		}
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			ulak_config_dir_set(argv[++i]);
			continue;
		}
		break;
	}
	if (i >= argc)
		return ulak_usage(&ulak_cmd_dkim, "no action (keygen, sign or "
		    "verify)");
	argc -= i;
	argv += i;
	optind = 0;
	if (strcmp(argv[0], "keygen") == 0)
		return dkim_keygen_run(argc, argv);
	if (strcmp(argv[0], "sign") == 0)
		return dkim_sign_run(argc, argv);
	if (strcmp(argv[0], "verify") == 0)
		return dkim_verify_run(argc, argv);
	return ulak_usage(&ulak_cmd_dkim, "unknown action \"%s\"", argv[0]);
}

const struct ulak_cmd ulak_cmd_dkim = {
	.name = "dkim",
	.summary = "make DKIM keys, sign and verify messages",
	.synopsis =
	    "ulak dkim keygen DOMAIN SELECTOR [--type rsa|ed25519] "
	    "[--bits N] [--dir DIR]\n"
	    "ulak dkim sign --domain DOMAIN --selector SELECTOR --key FILE\n"
	    "          [--canon H/B] [--headers LIST] [--oversign LIST]\n"
	    "          [--identity I] [--ttl TIME] [--body-length] < MESSAGE\n"
	    "ulak [-c CONFIG_DIR] dkim verify [--key-file FILE] < MESSAGE",
	.help =
	    "DESCRIPTION\n"
	    "    DomainKeys Identified Mail (RFC 6376; Ed25519 keys, RFC 8463).\n"
	    "\n"
	    "    keygen writes a new private key (PEM, mode 0600) to\n"
	    "    DIR/DOMAIN.SELECTOR.key (DIR: CONFIG_DIR/dkim unless --dir is\n"
	    "    given; an existing file is never overwritten) and prints the\n"
	    "    TXT record to publish on standard output, in zone-file\n"
	    "    syntax, split into strings of 255 octets:\n"
	    "        SELECTOR._domainkey.DOMAIN. IN TXT \"v=DKIM1; k=rsa; p=...\"\n"
	    "    It says on standard error which dkim_signing_key_maps line\n"
	    "    makes ulak sign with the key.\n"
	    "\n"
	    "    sign reads a message from standard input and prints it with a\n"
	    "    DKIM-Signature field prepended (line ends as the message's\n"
	    "    own).  The key is a PEM private key (RSA of 1024 to 8192\n"
	    "    bits, or Ed25519) or the base64 of a raw Ed25519 seed.  By\n"
	    "    default the fields RFC 6376 5.4.1 recommends are signed, and\n"
	    "    From, To, Cc, Subject, Date, Reply-To, Sender, Message-ID,\n"
	    "    In-Reply-To, References and the MIME fields are over-signed\n"
	    "    (signed once more than present, so none can be added).\n"
	    "\n"
	    "    verify reads a message from standard input and prints one\n"
	    "    line per DKIM-Signature, in the order of the header, as\n"
	    "    Authentication-Results writes it (RFC 8601):\n"
	    "        dkim=pass header.d=DOMAIN header.s=SELECTOR header.b=XXXXXXXX\n"
	    "        dkim=fail reason=\"body hash did not verify\" header.d=...\n"
	    "    Results are pass, fail, neutral, policy, temperror and\n"
	    "    permerror; \"dkim=none (no signatures)\" when there is none.\n"
	    "    Keys are looked up in DNS with the instance's resolver\n"
	    "    settings (dns_servers, dns_timeout; /etc/resolv.conf when\n"
	    "    CONFIG_DIR has no main.cf), or read from --key-file.\n"
	    "\n"
	    "OPTIONS\n"
	    "    -c CONFIG_DIR\n"
	    "        The instance folder (resolver settings, keygen's folder).\n"
	    "    --type rsa|ed25519, --bits N\n"
	    "        keygen: the key type (rsa) and RSA size (2048).\n"
	    "    --dir DIR\n"
	    "        keygen: where the key file goes.\n"
	    "    --domain D, --selector S, --key FILE\n"
	    "        sign: d=, s= and the private key.\n"
	    "    --canon H/B\n"
	    "        sign: header/body canonicalization, simple or relaxed\n"
	    "        (relaxed/relaxed).\n"
	    "    --headers LIST, --oversign LIST\n"
	    "        sign: colon-separated field names to sign as often as\n"
	    "        present, and to sign once more than present.\n"
	    "    --identity I, --ttl TIME, --body-length\n"
	    "        sign: add i=I, x= (TIME after t=), l= (the body length).\n"
	    "    --key-file FILE\n"
	    "        verify: use this key record for every signature instead\n"
	    "        of DNS, or, when its lines read \"NAME RECORD\", the\n"
	    "        record whose NAME is SELECTOR._domainkey.DOMAIN.\n"
	    "    -h, --help\n"
	    "        Print this page and exit.\n"
	    "\n"
	    "EXAMPLES\n"
	    "    ulak -c ./run dkim keygen example.test mail --type ed25519\n"
	    "    ulak dkim sign --domain example.test --selector mail \\\n"
	    "        --key ./run/dkim/example.test.mail.key < msg > signed\n"
	    "    ulak -c ./run dkim verify < signed\n"
	    "\n"
	    "EXIT STATUS\n"
	    "    keygen, sign: 0 on success, 1 on failure.  verify: 0 when the\n"
	    "    message has signatures and every one passes, 1 otherwise.\n"
	    "    2 on a usage error.\n"
	    "\n"
	    "SEE ALSO\n"
	    "    docs/dkim.md, dkim_signing_key_maps in docs/parameters.md\n",
	.run = dkim_run,
};
