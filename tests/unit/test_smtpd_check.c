/*
 * Unit tests for src/smtpd/smtpd_check: compiling restriction lists
 * (and refusing bad ones), mynetworks, the relay check with the classic
 * relay tricks, access tables, HELO/sender/recipient checks and the
 * local recipient table.  The module belongs to the smtpd executable, so
 * it is compiled in here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/smtpd/smtpd_check.c"
#include "../../src/smtpd/smtpd_dnsfact.c"
#include "file.h"

static struct config *
cfg_with(const char *const *kv)
{
	struct config *cfg = config_new("/nonexistent");

	config_set(cfg, "myhostname", "mail.example.com");
	config_set(cfg, "mydomain", "example.com");
	config_set(cfg, "mydestination", "example.com, localhost");
	config_set(cfg, "local_recipient_maps", "");
	for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2)
		config_set(cfg, kv[i], kv[i + 1]);
	return cfg;
}

static void
test_config_errors(void **state)
{
	static const struct {
		const char *name, *value, *error;
	} t[] = {
		{ "smtpd_recipient_restrictions", "permit, reject_foo",
		  "smtpd_recipient_restrictions: unknown restriction: "
		  "reject_foo" },
		{ "smtpd_sender_restrictions", "reject_unverified_sender",
		  "smtpd_sender_restrictions: restriction "
		  "reject_unverified_sender is not supported yet (it "
		  "needs address verification)" },
		{ "smtpd_client_restrictions", "reject_rbl_client",
		  "smtpd_client_restrictions: reject_rbl_client needs a DNS "
		  "list domain" },
		{ "smtpd_client_restrictions", "reject_rbl_client bl.example=1.2",
		  "smtpd_client_restrictions: reject_rbl_client: bad DNSBL "
		  "filter \"1.2\"" },
		{ "spf_reject_on", "sometimes",
		  "spf_reject_on: bad spf_reject_on value \"sometimes\" "
		  "(fail, softfail or never)" },
		{ "smtpd_client_restrictions", "check_client_access",
		  "smtpd_client_restrictions: check_client_access needs a "
		  "type:table argument" },
		{ "smtpd_client_restrictions", "check_client_access permit",
		  "smtpd_client_restrictions: check_client_access needs a "
		  "type:table argument" },
		{ "mynetworks", "127.0.0.1/8",
		  "mynetworks: 127.0.0.1/8: non-null host address bits" },
		{ "mynetworks", "localhost",
		  "mynetworks: localhost: bad network address" },
		{ "smtpd_relay_restrictions", "permit_mynetworks",
		  "smtpd_relay_restrictions and smtpd_recipient_restrictions: "
		  "specify at least one of reject_unauth_destination, "
		  "defer_unauth_destination, reject or defer (ulak refuses "
		  "to be an open relay)" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *kv[] = { t[i].name, t[i].value, NULL };
		struct config *cfg = cfg_with(kv);
		const char *error = NULL;

		assert_null(smtpd_check_new(cfg, &error));
		assert_string_equal(error, t[i].error);
		config_free(cfg);
	}
}

static void
set_client(struct smtpd_check_ctx *ctx, const char *addr)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->client_name = "unknown";
	ctx->client_addr = addr;
	assert_int_equal(cidr_addr_parse(addr, &ctx->family, ctx->addr), 0);
	ctx->local_addr = "127.0.0.1";
	ctx->helo = "client.example.net";
}

static void
parse(const char *path, unsigned flags, struct smtp_addr *a)
{
	const struct smtp_status *st;
	const char *reason;

	assert_int_equal(smtp_addr_parse_path(path, strlen(path), flags, a,
	    &st, &reason), 0);
}

struct rcpt_case {
	const char *client;
	const char *sender;
	const char *rcpt;
	const char *reply;	/* NULL: accepted */
};

static void
run_rcpt_cases(struct smtpd_check *c, const struct rcpt_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct smtpd_check_ctx ctx;
		struct smtp_addr sender, rcpt;
		struct buf reply;
		int r;

		buf_init(&reply, 0);
		set_client(&ctx, t[i].client);
		parse(t[i].sender, SMTP_ADDR_SENDER, &sender);
		parse(t[i].rcpt, 0, &rcpt);
		ctx.sender = &sender;
		ctx.rcpt = &rcpt;
		r = smtpd_check_rcpt(c, &ctx, &reply);
		if (t[i].reply == NULL) {
			if (r != 0)
				fail_msg("case %zu (%s): got %s", i, t[i].rcpt,
				    reply.data);
		} else {
			assert_int_equal(r, -1);
			assert_string_equal(reply.data, t[i].reply);
		}
		buf_release(&reply);
	}
}

static void
test_relay_defaults(void **state)
{
	/* The built-in defaults: defer_unauth_destination, local sender. */
	static const struct rcpt_case t[] = {
		{ "192.0.2.1", "<a@other.net>", "<u@example.com>", NULL },
		{ "192.0.2.1", "<>", "<u@EXAMPLE.com>", NULL },
		{ "192.0.2.1", "<a@other.net>", "<u@other.org>",
		  "554 5.7.1 <u@other.org>: Relay access denied" },
		{ "192.0.2.1", "<a@other.net>", "<u%other.org@example.com>",
		  "554 5.7.1 <u%other.org@example.com>: Relay access denied" },
		{ "192.0.2.1", "<a@other.net>", "<other.org!u@example.com>",
		  "554 5.7.1 <other.org!u@example.com>: Relay access denied" },
		{ "192.0.2.1", "<a@other.net>", "<\"u@other.org\"@example.com>",
		  "554 5.7.1 <\"u@other.org\"@example.com>: Relay access "
		  "denied" },
		{ "192.0.2.1", "<a@other.net>", "<@example.com:u@other.org>",
		  "554 5.7.1 <u@other.org>: Relay access denied" },
		{ "192.0.2.1", "<a@example.com>", "<u@example.com>",
		  "553 5.7.1 <a@example.com>: Sender address rejected: not "
		  "logged in" },
		{ "127.0.0.1", "<a@example.com>", "<u@other.org>", NULL },
		{ "::1", "<a@example.com>", "<u@other.org>", NULL },
		{ "192.0.2.1", "<a@other.net>", "<postmaster>", NULL },
		{ "192.0.2.1", "<a@other.net>", "<u@[127.0.0.1]>", NULL },
		{ "192.0.2.1", "<a@other.net>", "<u@[127.0.0.2]>",
		  "554 5.7.1 <u@[127.0.0.2]>: Relay access denied" },
	};
	struct config *cfg = cfg_with(NULL);
	const char *error = NULL;
	struct smtpd_check *c = smtpd_check_new(cfg, &error);

	assert_non_null(c);
	run_rcpt_cases(c, t, sizeof(t) / sizeof(t[0]));
	smtpd_check_free(c);
	config_free(cfg);
}

static void
test_relay_postfix_style(void **state)
{
	static const char *const kv[] = {
		"smtpd_relay_restrictions",
		"permit_mynetworks, reject_unauth_destination",
		"smtpd_sender_restrictions", "",
		"relay_domains", "relay.example, .sub.example",
		"mynetworks", "!127.0.0.2, 127.0.0.0/8, [2001:db8::]/32",
		NULL,
	};
	static const struct rcpt_case t[] = {
		{ "192.0.2.1", "<>", "<u@other.org>",
		  "554 5.7.1 <u@other.org>: Relay access denied" },
		{ "192.0.2.1", "<>", "<u@relay.example>", NULL },
		{ "192.0.2.1", "<>", "<u@x.relay.example>", NULL },
		{ "192.0.2.1", "<>", "<u@x.sub.example>", NULL },
		{ "192.0.2.1", "<>", "<u@sub.example>",
		  "554 5.7.1 <u@sub.example>: Relay access denied" },
		{ "192.0.2.1", "<>", "<u%x@relay.example>",
		  "554 5.7.1 <u%x@relay.example>: Relay access denied" },
		{ "127.0.0.2", "<>", "<u@other.org>",
		  "554 5.7.1 <u@other.org>: Relay access denied" },
		{ "127.0.0.3", "<>", "<u@other.org>", NULL },
		{ "2001:db8::5", "<>", "<u@other.org>", NULL },
		{ "2001:db9::5", "<>", "<u@other.org>",
		  "554 5.7.1 <u@other.org>: Relay access denied" },
	};
	struct config *cfg = cfg_with(kv);
	const char *error = NULL;
	struct smtpd_check *c = smtpd_check_new(cfg, &error);

	assert_non_null(c);
	run_rcpt_cases(c, t, sizeof(t) / sizeof(t[0]));
	smtpd_check_free(c);
	config_free(cfg);
}

static void
test_access_tables(void **state)
{
	static const char *const kv[] = {
		"smtpd_client_restrictions",
		"check_client_access inline:{ 192.0.2.66=REJECT, "
		"{ 198.51.100 = 450 4.7.0 come back later } }",
		"smtpd_helo_restrictions",
		"reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname",
		"smtpd_sender_restrictions",
		"check_sender_access inline:{ { bad@x.example=REJECT go away }, "
		"{ y.example=550 5.7.0 nope }, ok.example=OK, "
		"dunno.example=DUNNO, <>=reject }, reject_non_fqdn_sender",
		"smtpd_recipient_restrictions",
		"check_recipient_access inline:{ abuse@=OK, "
		"blocked@example.com=REJECT }, reject_non_fqdn_recipient",
		NULL,
	};
	static const struct rcpt_case t[] = {
		{ "192.0.2.66", "<a@b.example>", "<u@example.com>",
		  "554 5.7.1 <unknown[192.0.2.66]>: Client host rejected: "
		  "Access denied" },
		{ "198.51.100.7", "<a@b.example>", "<u@example.com>",
		  "450 4.7.0 <unknown[198.51.100.7]>: Client host rejected: "
		  "come back later" },
		{ "192.0.2.1", "<bad@x.example>", "<u@example.com>",
		  "554 5.7.1 <bad@x.example>: Sender address rejected: go "
		  "away" },
		{ "192.0.2.1", "<a@sub.y.example>", "<u@example.com>",
		  "550 5.7.0 <a@sub.y.example>: Sender address rejected: "
		  "nope" },
		{ "192.0.2.1", "<a@ok.example>", "<u@example.com>", NULL },
		{ "192.0.2.1", "<>", "<u@example.com>",
		  "554 5.7.1 <>: Sender address rejected: Access denied" },
		{ "192.0.2.1", "<a@dunno>", "<u@example.com>",
		  "504 5.5.2 <a@dunno>: Sender address rejected: need "
		  "fully-qualified address" },
		{ "192.0.2.1", "<a@b.example>", "<blocked@example.com>",
		  "554 5.7.1 <blocked@example.com>: Recipient address "
		  "rejected: Access denied" },
		{ "192.0.2.1", "<a@b.example>", "<abuse@example.com>", NULL },
	};
	struct config *cfg = cfg_with(kv);
	const char *error = NULL;
	struct smtpd_check *c = smtpd_check_new(cfg, &error);
	struct smtpd_check_ctx ctx;
	struct buf reply;
	static const struct {
		const char *helo, *reply;
	} h[] = {
		{ "mail.example.net", NULL },
		{ "[192.0.2.1]", NULL },
		{ "localhost", "504 5.5.2 <localhost>: Helo command rejected: "
		  "need fully-qualified hostname" },
		{ "bad_-.", "501 5.5.2 <bad_-.>: Helo command rejected: "
		  "Invalid name" },
		{ "a..b", "501 5.5.2 <a..b>: Helo command rejected: Invalid "
		  "name" },
		{ "1.2.3.4", "501 5.5.2 <1.2.3.4>: Helo command rejected: "
		  "Invalid name" },
	};

	if (c == NULL)
		fail_msg("%s", error);
	run_rcpt_cases(c, t, sizeof(t) / sizeof(t[0]));

	buf_init(&reply, 0);
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		set_client(&ctx, "192.0.2.1");
		ctx.helo = h[i].helo;
		if (h[i].reply == NULL) {
			assert_int_equal(smtpd_check_list(c, SMTPD_CHECK_HELO,
			    &ctx, &reply), 0);
		} else {
			assert_int_equal(smtpd_check_list(c, SMTPD_CHECK_HELO,
			    &ctx, &reply), -1);
			assert_string_equal(reply.data, h[i].reply);
		}
	}
	buf_release(&reply);
	smtpd_check_free(c);
	config_free(cfg);
}

static void
test_local_recipients(void **state)
{
	static const char *const kv[] = {
		"local_recipient_maps", "inline:{ alice=x, bob@example.com=y }",
		"recipient_delimiter", "+",
		NULL,
	};
	static const struct rcpt_case t[] = {
		{ "192.0.2.1", "<>", "<alice@example.com>", NULL },
		{ "192.0.2.1", "<>", "<Alice+tag@Example.COM>", NULL },
		{ "192.0.2.1", "<>", "<bob@localhost>",
		  "550 5.1.1 <bob@localhost>: Recipient address rejected: "
		  "User unknown in local recipient table" },
		{ "192.0.2.1", "<>", "<bob@example.com>", NULL },
		{ "192.0.2.1", "<>", "<Postmaster@example.com>", NULL },
		{ "192.0.2.1", "<>", "<carol@example.com>",
		  "550 5.1.1 <carol@example.com>: Recipient address rejected: "
		  "User unknown in local recipient table" },
		{ "192.0.2.1", "<>", "<carol+alice@example.com>",
		  "550 5.1.1 <carol+alice@example.com>: Recipient address "
		  "rejected: User unknown in local recipient table" },
		{ "127.0.0.1", "<>", "<carol@example.com>",
		  "550 5.1.1 <carol@example.com>: Recipient address rejected: "
		  "User unknown in local recipient table" },
		{ "127.0.0.1", "<>", "<carol@other.example>", NULL },
	};
	struct config *cfg = cfg_with(kv);
	const char *error = NULL;
	struct smtpd_check *c = smtpd_check_new(cfg, &error);

	assert_non_null(c);
	run_rcpt_cases(c, t, sizeof(t) / sizeof(t[0]));
	smtpd_check_free(c);
	config_free(cfg);
}

static void
test_local_recipients_broken_table(void **state)
{
	static const char *const kv[] = {
		"local_recipient_maps", "hash:/nonexistent/aliases",
		NULL,
	};
	static const struct rcpt_case t[] = {
		{ "192.0.2.1", "<>", "<alice@example.com>",
		  "451 4.3.0 <alice@example.com>: Recipient address rejected: "
		  "Temporary lookup failure" },
		{ "127.0.0.1", "<>", "<carol@other.example>", NULL },
	};
	struct buf logged;
	struct config *cfg = cfg_with(kv);
	const char *error = NULL;
	struct smtpd_check *c;

	buf_init(&logged, 0);
	log_capture(&logged);
	c = smtpd_check_new(cfg, &error);
	log_capture(NULL);
	assert_non_null(c);
	assert_non_null(strstr(logged.data, "warning: local_recipient_maps: "));
	run_rcpt_cases(c, t, sizeof(t) / sizeof(t[0]));
	smtpd_check_free(c);
	config_free(cfg);
	buf_release(&logged);
}

static void
test_unsupported_action_warns(void **state)
{
	static const char *const kv[] = {
		"smtpd_sender_restrictions",
		"check_sender_access inline:{ held.example=HOLD }",
		NULL,
	};
	static const struct rcpt_case t[] = {
		{ "192.0.2.1", "<a@held.example>", "<u@example.com>", NULL },
	};
	struct config *cfg = cfg_with(kv);
	const char *error = NULL;
	struct smtpd_check *c = smtpd_check_new(cfg, &error);
	struct buf logged;

	assert_non_null(c);
	buf_init(&logged, 0);
	log_capture(&logged);
	run_rcpt_cases(c, t, sizeof(t) / sizeof(t[0]));
	log_capture(NULL);
	assert_non_null(strstr(logged.data, "warning: inline:{ "
	    "held.example=HOLD }: unsupported access action \"HOLD\"; "
	    "ignored"));
	buf_release(&logged);
	smtpd_check_free(c);
	config_free(cfg);
}

struct mail_case {
	const char *client;
	const char *login;	/* SASL user name, or NULL */
	const char *sender;
	const char *reply;	/* NULL: accepted at MAIL FROM */
};

static void
run_mail_cases(struct smtpd_check *c, const struct mail_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct smtpd_check_ctx ctx;
		struct smtp_addr sender;
		struct buf reply;
		int r;

		buf_init(&reply, 0);
		set_client(&ctx, t[i].client);
		parse(t[i].sender, SMTP_ADDR_SENDER, &sender);
		ctx.sender = &sender;
		ctx.sasl_username = t[i].login;
		r = smtpd_check_mail(c, &ctx, &reply);
		if (t[i].reply == NULL) {
			if (r != 0)
				fail_msg("case %zu (%s): got %s", i,
				    t[i].sender, reply.data);
		} else {
			if (r == 0)
				fail_msg("case %zu (%s): accepted", i,
				    t[i].sender);
			assert_string_equal(reply.data, t[i].reply);
		}
		buf_release(&reply);
	}
}

/*
 * reject_unauth_local_sender decides at MAIL FROM even with
 * smtpd_delay_reject = yes; other sender verdicts wait for RCPT TO.
 */
static void
test_forged_local_sender_at_mail(void **state)
{
	static const char *const kv[] = {
		"myorigin", "origin.example",
		"virtual_alias_domains", "valias.example, "
		"inline:{ vtab.example=x }",
		"smtpd_sender_restrictions", "check_sender_access "
		"inline:{ spam.example=REJECT }, reject_unauth_local_sender",
		NULL,
	};
	static const struct mail_case t[] = {
		{ "192.0.2.1", NULL, "<boss@example.com>",
		  "553 5.7.1 <boss@example.com>: Sender address rejected: "
		  "not logged in" },
		{ "192.0.2.1", NULL, "<boss@EXAMPLE.com>",
		  "553 5.7.1 <boss@EXAMPLE.com>: Sender address rejected: "
		  "not logged in" },
		{ "192.0.2.1", NULL, "<boss@localhost>",
		  "553 5.7.1 <boss@localhost>: Sender address rejected: "
		  "not logged in" },
		{ "192.0.2.1", NULL, "<boss@origin.example>",
		  "553 5.7.1 <boss@origin.example>: Sender address "
		  "rejected: not logged in" },
		{ "192.0.2.1", NULL, "<boss@valias.example>",
		  "553 5.7.1 <boss@valias.example>: Sender address "
		  "rejected: not logged in" },
		{ "192.0.2.1", NULL, "<boss@vtab.example>",
		  "553 5.7.1 <boss@vtab.example>: Sender address "
		  "rejected: not logged in" },
		/* Not ours, null sender, trusted or authenticated: fine. */
		{ "192.0.2.1", NULL, "<boss@sub.example.com>", NULL },
		{ "192.0.2.1", NULL, "<a@other.example>", NULL },
		{ "192.0.2.1", NULL, "<>", NULL },
		{ "127.0.0.1", NULL, "<boss@example.com>", NULL },
		{ "192.0.2.1", "boss", "<boss@example.com>", NULL },
		/* Another restriction's verdict is left to RCPT TO. */
		{ "192.0.2.1", NULL, "<a@spam.example>", NULL },
	};
	struct config *cfg = cfg_with(kv);
	const char *error = NULL;
	struct smtpd_check *c = smtpd_check_new(cfg, &error);

	assert_non_null(c);
	run_mail_cases(c, t, sizeof(t) / sizeof(t[0]));
	smtpd_check_free(c);
	config_free(cfg);
}

/* With smtpd_delay_reject = no, the client and sender lists run at MAIL. */
static void
test_mail_without_delay(void **state)
{
	static const char *const kv[] = {
		"smtpd_delay_reject", "no",
		"smtpd_client_restrictions",
		"check_client_access inline:{ 192.0.2.66=REJECT }",
		"smtpd_sender_restrictions", "check_sender_access "
		"inline:{ spam.example=REJECT }, reject_unauth_local_sender",
		NULL,
	};
	static const struct mail_case t[] = {
		{ "192.0.2.66", NULL, "<a@other.example>",
		  "554 5.7.1 <unknown[192.0.2.66]>: Client host rejected: "
		  "Access denied" },
		{ "192.0.2.1", NULL, "<a@spam.example>",
		  "554 5.7.1 <a@spam.example>: Sender address rejected: "
		  "Access denied" },
		{ "192.0.2.1", NULL, "<a@example.com>",
		  "553 5.7.1 <a@example.com>: Sender address rejected: "
		  "not logged in" },
		{ "192.0.2.1", NULL, "<a@other.example>", NULL },
	};
	struct config *cfg = cfg_with(kv);
	const char *error = NULL;
	struct smtpd_check *c = smtpd_check_new(cfg, &error);

	assert_non_null(c);
	run_mail_cases(c, t, sizeof(t) / sizeof(t[0]));
	smtpd_check_free(c);
	config_free(cfg);
}

static void
test_sender_login_mismatch(void **state)
{
	char dir[] = "/tmp/test_smtpd_check.XXXXXX";
	struct buf maps, re;
	const char *kv[] = {
		"recipient_delimiter", "+",
		"smtpd_sender_login_maps", NULL,
		"smtpd_sender_restrictions", "reject_sender_login_mismatch",
		NULL,
	};
	static const struct mail_case t[] = {
		{ "192.0.2.1", "demo", "<demo@example.com>", NULL },
		{ "192.0.2.1", "demo", "<demo+tag@example.com>", NULL },
		{ "192.0.2.1", "demo", "<DEMO@example.com>", NULL },
		{ "192.0.2.1", "demo", "<shared@example.com>", NULL },
		{ "192.0.2.1", "alice", "<shared@example.com>", NULL },
		{ "192.0.2.1", "bob", "<anyone@club.example>", NULL },
		{ "192.0.2.1", "carol", "<carol@example.org>", NULL },
		{ "192.0.2.1", "demo", "<>", NULL },
		{ "192.0.2.1", "demo", "<alice@example.org>",
		  "553 5.7.1 <alice@example.org>: Sender address rejected: "
		  "not owned by user demo" },
		{ "192.0.2.1", "demo", "<boss@example.com>",
		  "553 5.7.1 <boss@example.com>: Sender address rejected: "
		  "not owned by user demo" },
		{ "192.0.2.1", "demo", "<elon@tesla.example>",
		  "553 5.7.1 <elon@tesla.example>: Sender address rejected: "
		  "not owned by user demo" },
		{ "192.0.2.1", "bob", "<demo@example.com>",
		  "553 5.7.1 <demo@example.com>: Sender address rejected: "
		  "not owned by user bob" },
		/* Unauthenticated: an address someone owns is refused. */
		{ "192.0.2.1", NULL, "<demo@example.com>",
		  "553 5.7.1 <demo@example.com>: Sender address rejected: "
		  "not logged in" },
		{ "192.0.2.1", NULL, "<x@tesla.example>", NULL },
	};
	static const char *const kinds[] = {
		"reject_authenticated_sender_login_mismatch",
		"reject_unauthenticated_sender_login_mismatch",
	};
	struct config *cfg;
	const char *error = NULL;
	struct smtpd_check *c;
	static const char rules[] = "/^(.+)@example\\.org$/ ${1}\n";

	/* As `ulak init` does it: each user owns user@domain. */
	assert_non_null(mkdtemp(dir));
	buf_init(&re, 0);
	buf_printf(&re, "%s/sender_login", dir);
	assert_int_equal(file_write_atomic(re.data, rules, sizeof(rules) - 1,
	    0644, &error), 0);
	buf_init(&maps, 0);
	buf_printf(&maps, "inline:{ demo@example.com=demo, "
	    "{ shared@example.com = demo, Alice }, @club.example=bob }, "
	    "regexp:%s", re.data);
	kv[3] = maps.data;
	cfg = cfg_with(kv);
	c = smtpd_check_new(cfg, &error);
	if (c == NULL)
		fail_msg("%s", error);
	run_mail_cases(c, t, sizeof(t) / sizeof(t[0]));
	smtpd_check_free(c);
	/* Each half of the check alone. */
	for (size_t k = 0; k < 2; k++) {
		struct mail_case half[sizeof(t) / sizeof(t[0])];

		config_set(cfg, "smtpd_sender_restrictions", kinds[k]);
		c = smtpd_check_new(cfg, &error);
		assert_non_null(c);
		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			half[i] = t[i];
			if ((k == 0) != (t[i].login != NULL))
				half[i].reply = NULL;
		}
		run_mail_cases(c, half, sizeof(t) / sizeof(t[0]));
		smtpd_check_free(c);
	}
	/* Without the table the restriction cannot work: refused. */
	config_set(cfg, "smtpd_sender_login_maps", "");
	assert_null(smtpd_check_new(cfg, &error));
	assert_string_equal(error, "smtpd_sender_restrictions: the "
	    "*_sender_login_mismatch restrictions need "
	    "smtpd_sender_login_maps");
	config_free(cfg);
	unlink(re.data);
	rmdir(dir);
	buf_release(&re);
	buf_release(&maps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_relay_defaults),
		cmocka_unit_test(test_relay_postfix_style),
		cmocka_unit_test(test_access_tables),
		cmocka_unit_test(test_local_recipients),
		cmocka_unit_test(test_local_recipients_broken_table),
		cmocka_unit_test(test_unsupported_action_warns),
		cmocka_unit_test(test_forged_local_sender_at_mail),
		cmocka_unit_test(test_mail_without_delay),
		cmocka_unit_test(test_sender_login_mismatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
