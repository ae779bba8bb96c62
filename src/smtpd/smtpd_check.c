/*
 * smtpd_check - smtpd's access policy; see smtpd_check.h.
 *
 * Distrusts: addresses and names from the SMTP client (syntax already
 * checked), results of lookup tables (any text).  Runs inside smtpd,
 * unprivileged.
 */
#include "smtpd_check.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "cidr.h"
#include "config.h"
#include "dict.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "parse.h"
#include "dnsbl.h"
#include "greylist.h"
#include "smtp_addr.h"
#include "str.h"

enum rtype {
	R_PERMIT,
	R_REJECT,
	R_DEFER,
	R_PERMIT_MYNETWORKS,
	R_PERMIT_SASL,
	R_PERMIT_AUTH_DEST,
	R_REJECT_UNAUTH_DEST,
	R_DEFER_UNAUTH_DEST,
	R_REJECT_UNAUTH_LOCAL_SENDER,
	R_REJECT_SENDER_LOGIN_MISMATCH,
	R_REJECT_AUTH_SENDER_LOGIN_MISMATCH,
	R_REJECT_UNAUTH_SENDER_LOGIN_MISMATCH,
	R_REJECT_NON_FQDN_HELO,
	R_REJECT_INVALID_HELO,
	R_REJECT_NON_FQDN_SENDER,
	R_REJECT_NON_FQDN_RCPT,
	R_REJECT_UNLISTED_RCPT,
	R_CHECK_CLIENT,
	R_CHECK_HELO,
	R_CHECK_SENDER,
	R_CHECK_RCPT,
	R_REJECT_UNKNOWN_CLIENT,
	R_REJECT_UNKNOWN_REVERSE,
	R_REJECT_UNKNOWN_HELO,
	R_REJECT_UNKNOWN_SENDER_DOMAIN,
	R_REJECT_UNKNOWN_RCPT_DOMAIN,
	R_REJECT_RBL_CLIENT,
	R_REJECT_RHSBL_CLIENT,
	R_REJECT_RHSBL_SENDER,
	R_REJECT_RHSBL_HELO,
	R_CHECK_DNSBL_SCORE,
	R_CHECK_SPF,
	R_CHECK_GREYLIST,
};

/* What a restriction name takes after it. */
enum rarg {
	ARG_NONE,
	ARG_TABLE,	/* type:table */
	ARG_ZONE,	/* a DNSBL zone[=filter] */
};

static const struct {
	const char *name;
	enum rtype type;
	enum rarg arg;
} rnames[] = {
	{ "permit", R_PERMIT, ARG_NONE },
	{ "reject", R_REJECT, ARG_NONE },
	{ "defer", R_DEFER, ARG_NONE },
	{ "permit_mynetworks", R_PERMIT_MYNETWORKS, ARG_NONE },
	{ "permit_sasl_authenticated", R_PERMIT_SASL, ARG_NONE },
	{ "permit_auth_destination", R_PERMIT_AUTH_DEST, ARG_NONE },
	{ "reject_unauth_destination", R_REJECT_UNAUTH_DEST, ARG_NONE },
	{ "defer_unauth_destination", R_DEFER_UNAUTH_DEST, ARG_NONE },
	{ "reject_unauth_local_sender", R_REJECT_UNAUTH_LOCAL_SENDER, ARG_NONE },
	{ "reject_sender_login_mismatch", R_REJECT_SENDER_LOGIN_MISMATCH,
	  ARG_NONE },
	{ "reject_authenticated_sender_login_mismatch",
	  R_REJECT_AUTH_SENDER_LOGIN_MISMATCH, ARG_NONE },
	{ "reject_unauthenticated_sender_login_mismatch",
	  R_REJECT_UNAUTH_SENDER_LOGIN_MISMATCH, ARG_NONE },
	{ "reject_non_fqdn_helo_hostname", R_REJECT_NON_FQDN_HELO, ARG_NONE },
	{ "reject_non_fqdn_hostname", R_REJECT_NON_FQDN_HELO, ARG_NONE },
	{ "reject_invalid_helo_hostname", R_REJECT_INVALID_HELO, ARG_NONE },
	{ "reject_invalid_hostname", R_REJECT_INVALID_HELO, ARG_NONE },
	{ "reject_non_fqdn_sender", R_REJECT_NON_FQDN_SENDER, ARG_NONE },
	{ "reject_non_fqdn_recipient", R_REJECT_NON_FQDN_RCPT, ARG_NONE },
	{ "reject_unlisted_recipient", R_REJECT_UNLISTED_RCPT, ARG_NONE },
	{ "check_client_access", R_CHECK_CLIENT, ARG_TABLE },
	{ "check_helo_access", R_CHECK_HELO, ARG_TABLE },
	{ "check_sender_access", R_CHECK_SENDER, ARG_TABLE },
	{ "check_recipient_access", R_CHECK_RCPT, ARG_TABLE },
	{ "reject_unknown_client_hostname", R_REJECT_UNKNOWN_CLIENT,
	  ARG_NONE },
	{ "reject_unknown_client", R_REJECT_UNKNOWN_CLIENT, ARG_NONE },
	{ "reject_unknown_reverse_client_hostname", R_REJECT_UNKNOWN_REVERSE,
	  ARG_NONE },
	{ "reject_unknown_helo_hostname", R_REJECT_UNKNOWN_HELO, ARG_NONE },
	{ "reject_unknown_hostname", R_REJECT_UNKNOWN_HELO, ARG_NONE },
	{ "reject_unknown_sender_domain", R_REJECT_UNKNOWN_SENDER_DOMAIN,
	  ARG_NONE },
	{ "reject_unknown_recipient_domain", R_REJECT_UNKNOWN_RCPT_DOMAIN,
	  ARG_NONE },
	{ "reject_rbl_client", R_REJECT_RBL_CLIENT, ARG_ZONE },
	{ "reject_rhsbl_client", R_REJECT_RHSBL_CLIENT, ARG_ZONE },
	{ "reject_rhsbl_sender", R_REJECT_RHSBL_SENDER, ARG_ZONE },
	{ "reject_rhsbl_helo", R_REJECT_RHSBL_HELO, ARG_ZONE },
	{ "check_dnsbl_score", R_CHECK_DNSBL_SCORE, ARG_NONE },
	{ "check_spf", R_CHECK_SPF, ARG_NONE },
	{ "check_greylist", R_CHECK_GREYLIST, ARG_NONE },
};

/* Known to Postfix, but they need address verification (not yet). */
static const char *const rnames_later[] = {
	"reject_unverified_recipient", "reject_unverified_sender",
};

static const char *const list_params[SMTPD_CHECK_LIST_COUNT] = {
	"smtpd_client_restrictions",
	"smtpd_helo_restrictions",
	"smtpd_sender_restrictions",
	"smtpd_relay_restrictions",
	"smtpd_recipient_restrictions",
};

struct restriction {
	enum rtype type;
	struct maps *maps;
	char *spec;
	struct dnsbl_site site;		/* ARG_ZONE */
};

struct rlist {
	struct restriction *v;
	size_t n;
};

struct netitem {
	bool negate;
	struct cidr cidr;
	struct maps *maps;	/* type:table item, else NULL */
};

struct smtpd_check {
	struct rlist lists[SMTPD_CHECK_LIST_COUNT];
	struct netitem *nets;
	size_t n_nets;
	struct netitem *nl_excl;	/* smtpd_forbid_bare_newline_exclusions */
	size_t n_nl_excl;
	struct netitem *ev_excl;	/* smtpd_client_event_limit_exceptions */
	size_t n_ev_excl;
	struct strlist mydest;		/* lower-case domain names */
	struct maps *mydest_maps;	/* type:table items, or NULL */
	struct strlist relay;
	struct maps *relay_maps;
	struct strlist valias;		/* virtual_alias_domains */
	struct maps *valias_maps;
	char *myorigin;			/* lower case */
	struct maps *sender_login;	/* smtpd_sender_login_maps, or NULL */
	struct maps *local_rcpt;	/* NULL: check off or broken */
	char *local_rcpt_error;		/* set when the tables did not open */
	char *delimiter;
	bool delay_reject;
	bool reject_unlisted_rcpt;
	unsigned reject_code, defer_code, relay_code, non_fqdn_code;
	unsigned invalid_hostname_code, unknown_local_code;
	unsigned access_reject_code, access_defer_code;
	unsigned unknown_client_code, unknown_address_code;
	unsigned unknown_hostname_code, rbl_code;
	/* check_dnsbl_score: postscreen_dnsbl_sites and the threshold */
	struct dnsbl_site *score_sites;
	size_t n_score_sites;
	long score_threshold;
	/* check_spf */
	enum spf_reject_mode spf_mode;
	char *myhostname;
	/* check_greylist */
	bool uses_greylist;
	struct greylist_params gl_params;
	char *gl_path;
	struct greylist *greylist;
	struct maps *gl_exempt;
};

/* Result of one restriction. */
enum verdict {
	V_DUNNO,
	V_PERMIT,
	V_REJECT,
	V_PENDING,	/* a DNS answer is needed first */
};

static bool
is_table(const char *s)
{
	const char *colon = strchr(s, ':');

	/* "type:name" with a plain type word; not an IPv6 address. */
	if (colon == NULL || colon == s)
		return false;
	for (const char *p = s; p < colon; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
	return true;
}

static unsigned
code_param(struct config *cfg, const char *name)
{
	uint64_t v = config_int(cfg, name);

	if (v < 400 || v > 599)
		log_fatal("%s = %llu: must be a 4xx or 5xx code", name,
		    (unsigned long long)v);
	return (unsigned)v;
}

static int
compile_list(struct smtpd_check *c, struct config *cfg,
    enum smtpd_check_list which, const char **error_r)
{
	struct strlist items;
	struct rlist *l = &c->lists[which];
	const char *param = list_params[which];

	strlist_init(&items);
	config_list(cfg, param, &items);
	l->v = xcalloc(items.n + 1, sizeof(*l->v));
	for (size_t i = 0; i < items.n; i++) {
		const char *name = items.v[i];
		size_t k, nr = sizeof(rnames) / sizeof(rnames[0]);
		struct restriction *r;

		for (k = 0; k < nr; k++)
			if (str_casecmp(name, rnames[k].name) == 0)
				break;
		if (k == nr) {
			for (size_t j = 0; j < sizeof(rnames_later) /
			    sizeof(rnames_later[0]); j++) {
				if (str_casecmp(name, rnames_later[j]) == 0) {
					*error_r = err_fmt("%s: restriction %s "
					    "is not supported yet (it needs "
					    "address verification)", param,
					    name);
					strlist_release(&items);
					return -1;
				}
			}
			*error_r = err_fmt("%s: unknown restriction: %s",
			    param, name);
			strlist_release(&items);
			return -1;
		}
		r = &l->v[l->n++];
		r->type = rnames[k].type;
		if (rnames[k].arg == ARG_ZONE) {
			if (i + 1 >= items.n) {
				*error_r = err_fmt("%s: %s needs a DNS list "
				    "domain", param, name);
				strlist_release(&items);
				return -1;
			}
			i++;
			r->spec = xstrdup(items.v[i]);
			if (dnsbl_site_parse(r->spec, false, &r->site,
			    error_r) < 0) {
				*error_r = err_fmt("%s: %s: %s", param, name,
				    *error_r);
				strlist_release(&items);
				return -1;
			}
			continue;
		}
		if (rnames[k].arg != ARG_TABLE)
			continue;
		if (i + 1 >= items.n || !is_table(items.v[i + 1])) {
			*error_r = err_fmt("%s: %s needs a type:table argument",
			    param, name);
			strlist_release(&items);
			return -1;
		}
		i++;
		r->spec = xstrdup(items.v[i]);
		r->maps = maps_open(r->spec, error_r);
		if (r->maps == NULL) {
			*error_r = err_fmt("%s: %s %s: %s", param, name,
			    r->spec, *error_r);
			strlist_release(&items);
			return -1;
		}
	}
	strlist_release(&items);
	return 0;
}

static bool
list_blocks_relay(const struct rlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		switch (l->v[i].type) {
		case R_REJECT:
		case R_DEFER:
		case R_REJECT_UNAUTH_DEST:
		case R_DEFER_UNAUTH_DEST:
			return true;
		default:
			break;
		}
	}
	return false;
}

static int
compile_domains(struct config *cfg, const char *param, struct strlist *out,
    struct maps **maps_r, const char **error_r)
{
	struct strlist items;
	struct buf tables;

	strlist_init(&items);
	buf_init(&tables, 0);
	config_list(cfg, param, &items);
	for (size_t i = 0; i < items.n; i++) {
		if (is_table(items.v[i])) {
			if (tables.len > 0)
				buf_append_str(&tables, ", ");
			buf_append_str(&tables, items.v[i]);
		} else {
			strlist_add(out, items.v[i]);
			str_lower(out->v[out->n - 1]);
		}
	}
	strlist_release(&items);
	*maps_r = NULL;
	if (tables.len > 0) {
		*maps_r = maps_open(tables.data, error_r);
		if (*maps_r == NULL) {
			*error_r = err_fmt("%s: %s", param, *error_r);
			buf_release(&tables);
			return -1;
		}
	}
	buf_release(&tables);
	return 0;
}

static int
compile_nets(struct config *cfg, const char *param, struct netitem **nets_r,
    size_t *n_r, const char **error_r)
{
	struct strlist items;

	strlist_init(&items);
	config_list(cfg, param, &items);
	*nets_r = xcalloc(items.n + 1, sizeof(**nets_r));
	*n_r = 0;
	for (size_t i = 0; i < items.n; i++) {
		const char *s = items.v[i];
		struct netitem *ni = &(*nets_r)[*n_r];

		if (*s == '!') {
			ni->negate = true;
			s++;
		}
		if (is_table(s)) {
			ni->maps = maps_open(s, error_r);
			if (ni->maps == NULL) {
				*error_r = err_fmt("%s: %s: %s", param, s,
				    *error_r);
				strlist_release(&items);
				return -1;
			}
		} else if (cidr_parse(s, &ni->cidr, error_r) < 0) {
			*error_r = err_fmt("%s: %s", param, *error_r);
			strlist_release(&items);
			return -1;
		}
		(*n_r)++;
	}
	strlist_release(&items);
	return 0;
}

static bool
is_login_mismatch(enum rtype t)
{
	return t == R_REJECT_SENDER_LOGIN_MISMATCH ||
	    t == R_REJECT_AUTH_SENDER_LOGIN_MISMATCH ||
	    t == R_REJECT_UNAUTH_SENDER_LOGIN_MISMATCH;
}

/*
 * smtpd_sender_login_maps.  A *_sender_login_mismatch restriction
 * without the table could only refuse every authenticated sender (or
 * none): that is a configuration error, not a guess.
 */
static int
compile_sender_login(struct smtpd_check *c, struct config *cfg,
    const char **error_r)
{
	const char *spec = config_str(cfg, "smtpd_sender_login_maps");
	const char *user = NULL;

	for (int i = 0; i < SMTPD_CHECK_LIST_COUNT && user == NULL; i++)
		for (size_t k = 0; k < c->lists[i].n; k++)
			if (is_login_mismatch(c->lists[i].v[k].type)) {
				user = list_params[i];
				break;
			}
	if (*spec == '\0') {
		if (user != NULL) {
			*error_r = err_fmt("%s: the *_sender_login_mismatch "
			    "restrictions need smtpd_sender_login_maps", user);
			return -1;
		}
		return 0;
	}
	c->sender_login = maps_open(spec, error_r);
	if (c->sender_login == NULL) {
		*error_r = err_fmt("smtpd_sender_login_maps: %s", *error_r);
		return -1;
	}
	return 0;
}

static bool
uses(const struct smtpd_check *c, enum rtype t)
{
	for (int i = 0; i < SMTPD_CHECK_LIST_COUNT; i++)
		for (size_t k = 0; k < c->lists[i].n; k++)
			if (c->lists[i].v[k].type == t)
				return true;
	return false;
}

/* check_dnsbl_score, check_spf and check_greylist settings. */
static int
compile_dns_checks(struct smtpd_check *c, struct config *cfg,
    const char **error_r)
{
	const char *mode = config_str(cfg, "spf_reject_on");

	if (spf_reject_mode_parse(mode, &c->spf_mode, error_r) < 0) {
		*error_r = err_fmt("spf_reject_on: %s", *error_r);
		return -1;
	}
	if (uses(c, R_CHECK_DNSBL_SCORE)) {
		struct strlist items;

		strlist_init(&items);
		config_list(cfg, "postscreen_dnsbl_sites", &items);
		c->score_sites = xcalloc(items.n + 1, sizeof(*c->score_sites));
		for (size_t i = 0; i < items.n; i++) {
			if (dnsbl_site_parse(items.v[i], true,
			    &c->score_sites[c->n_score_sites], error_r) < 0) {
				*error_r = err_fmt("postscreen_dnsbl_sites: %s",
				    *error_r);
				strlist_release(&items);
				return -1;
			}
			c->n_score_sites++;
		}
		strlist_release(&items);
		c->score_threshold = (long)config_int(cfg,
		    "postscreen_dnsbl_threshold");
	}
	c->uses_greylist = uses(c, R_CHECK_GREYLIST);
	if (c->uses_greylist) {
		const char *ex = config_str(cfg, "greylist_exempt_maps");

		c->gl_params.delay = config_time(cfg, "greylist_delay");
		c->gl_params.retry_window = config_time(cfg,
		    "greylist_retry_window");
		c->gl_params.auto_whitelist = config_int(cfg,
		    "greylist_auto_whitelist");
		c->gl_path = xstrdup(config_str(cfg, "greylist_database"));
		if (*ex != '\0') {
			c->gl_exempt = maps_open(ex, error_r);
			if (c->gl_exempt == NULL) {
				*error_r = err_fmt("greylist_exempt_maps: %s",
				    *error_r);
				return -1;
			}
		}
	}
	return 0;
}

int
smtpd_check_open_state(struct smtpd_check *c, struct config *cfg,
    const char **error_r)
{
	if (!c->uses_greylist || c->greylist != NULL)
		return 0;
	c->greylist = greylist_open(c->gl_path, &c->gl_params, error_r);
	return c->greylist != NULL ? 0 : -1;
}

void
smtpd_check_greylist_expire(struct smtpd_check *c)
{
	const char *error;
	size_t removed = 0;

	if (c->greylist == NULL)
		return;
	if (greylist_expire(c->greylist, time(NULL), &removed, &error) < 0)
		log_warning("%s", error);
	else if (removed > 0)
		log_info("greylist: %zu expired entries removed", removed);
}

struct smtpd_check *
smtpd_check_new(struct config *cfg, const char **error_r)
{
	struct smtpd_check *c = xcalloc(1, sizeof(*c));
	const char *lrm;

	strlist_init(&c->mydest);
	strlist_init(&c->relay);
	c->delay_reject = config_bool(cfg, "smtpd_delay_reject");
	c->reject_unlisted_rcpt = config_bool(cfg,
	    "smtpd_reject_unlisted_recipient");
	c->delimiter = xstrdup(config_str(cfg, "recipient_delimiter"));
	c->reject_code = code_param(cfg, "reject_code");
	c->defer_code = code_param(cfg, "defer_code");
	c->relay_code = code_param(cfg, "relay_domains_reject_code");
	c->non_fqdn_code = code_param(cfg, "non_fqdn_reject_code");
	c->invalid_hostname_code = code_param(cfg,
	    "invalid_hostname_reject_code");
	c->unknown_local_code = code_param(cfg,
	    "unknown_local_recipient_reject_code");
	c->access_reject_code = code_param(cfg, "access_map_reject_code");
	c->access_defer_code = code_param(cfg, "access_map_defer_code");
	c->unknown_client_code = code_param(cfg, "unknown_client_reject_code");
	c->unknown_address_code = code_param(cfg,
	    "unknown_address_reject_code");
	c->unknown_hostname_code = code_param(cfg,
	    "unknown_hostname_reject_code");
	c->rbl_code = code_param(cfg, "maps_rbl_reject_code");
	c->myhostname = xstrdup(config_str(cfg, "myhostname"));

	for (int i = 0; i < SMTPD_CHECK_LIST_COUNT; i++) {
		if (compile_list(c, cfg, (enum smtpd_check_list)i,
		    error_r) < 0)
			goto fail;
	}
	if (!list_blocks_relay(&c->lists[SMTPD_CHECK_RELAY]) &&
	    !list_blocks_relay(&c->lists[SMTPD_CHECK_RECIPIENT])) {
		*error_r = "smtpd_relay_restrictions and "
		    "smtpd_recipient_restrictions: specify at least one of "
		    "reject_unauth_destination, defer_unauth_destination, "
		    "reject or defer (ulak refuses to be an open relay)";
		goto fail;
	}
	if (compile_nets(cfg, "mynetworks", &c->nets, &c->n_nets,
	    error_r) < 0)
		goto fail;
	if (compile_nets(cfg, "smtpd_forbid_bare_newline_exclusions",
	    &c->nl_excl, &c->n_nl_excl, error_r) < 0)
		goto fail;
	if (compile_nets(cfg, "smtpd_client_event_limit_exceptions",
	    &c->ev_excl, &c->n_ev_excl, error_r) < 0)
		goto fail;
	if (compile_domains(cfg, "mydestination", &c->mydest,
	    &c->mydest_maps, error_r) < 0)
		goto fail;
	if (compile_domains(cfg, "relay_domains", &c->relay, &c->relay_maps,
	    error_r) < 0)
		goto fail;
	strlist_init(&c->valias);
	{
		const char *verr;

		/*
		 * Only reject_unauth_local_sender looks at these: a broken
		 * table weakens that check but must not stop receiving.
		 */
		if (compile_domains(cfg, "virtual_alias_domains", &c->valias,
		    &c->valias_maps, &verr) < 0)
			log_warning("%s: not counted as our own domains", verr);
	}
	c->myorigin = xstrdup(config_str(cfg, "myorigin"));
	str_lower(c->myorigin);
	if (compile_sender_login(c, cfg, error_r) < 0)
		goto fail;
	if (compile_dns_checks(c, cfg, error_r) < 0)
		goto fail;
	lrm = config_str(cfg, "local_recipient_maps");
	if (*lrm != '\0') {
		const char *lerr;

		/*
		 * A missing table (say, /etc/aliases never built) must not
		 * stop the whole daemon: local recipients get a 451 and the
		 * log says why, as Postfix defers on a failed lookup.
		 */
		c->local_rcpt = maps_open(lrm, &lerr);
		if (c->local_rcpt == NULL) {
			c->local_rcpt_error = xstrdup(lerr);
			log_warning("local_recipient_maps: %s: local "
			    "recipients will be deferred", lerr);
		}
	}
	return c;
fail:
	smtpd_check_free(c);
	return NULL;
}

void
smtpd_check_free(struct smtpd_check *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < SMTPD_CHECK_LIST_COUNT; i++) {
		for (size_t k = 0; k < c->lists[i].n; k++) {
			if (c->lists[i].v[k].maps != NULL)
				maps_close(c->lists[i].v[k].maps);
			free(c->lists[i].v[k].spec);
			dnsbl_site_release(&c->lists[i].v[k].site);
		}
		free(c->lists[i].v);
	}
	for (size_t i = 0; i < c->n_nets; i++)
		if (c->nets[i].maps != NULL)
			maps_close(c->nets[i].maps);
	free(c->nets);
	for (size_t i = 0; i < c->n_nl_excl; i++)
		if (c->nl_excl[i].maps != NULL)
			maps_close(c->nl_excl[i].maps);
	free(c->nl_excl);
	for (size_t i = 0; i < c->n_ev_excl; i++)
		if (c->ev_excl[i].maps != NULL)
			maps_close(c->ev_excl[i].maps);
	free(c->ev_excl);
	strlist_release(&c->mydest);
	strlist_release(&c->relay);
	strlist_release(&c->valias);
	if (c->valias_maps != NULL)
		maps_close(c->valias_maps);
	if (c->sender_login != NULL)
		maps_close(c->sender_login);
	free(c->myorigin);
	if (c->mydest_maps != NULL)
		maps_close(c->mydest_maps);
	if (c->relay_maps != NULL)
		maps_close(c->relay_maps);
	if (c->local_rcpt != NULL)
		maps_close(c->local_rcpt);
	free(c->local_rcpt_error);
	free(c->delimiter);
	for (size_t i = 0; i < c->n_score_sites; i++)
		dnsbl_site_release(&c->score_sites[i]);
	free(c->score_sites);
	free(c->myhostname);
	free(c->gl_path);
	greylist_close(c->greylist);
	if (c->gl_exempt != NULL)
		maps_close(c->gl_exempt);
	free(c);
}

bool
smtpd_check_delay_reject(const struct smtpd_check *c)
{
	return c->delay_reject;
}

static bool
nets_match(const struct netitem *nets, size_t n,
    const struct smtpd_check_ctx *ctx)
{
	for (size_t i = 0; i < n; i++) {
		const struct netitem *ni = &nets[i];
		bool hit;

		if (ni->maps != NULL) {
			const char *v, *error;

			hit = maps_lookup(ni->maps, ctx->client_addr, &v,
			    &error) > 0;
		} else {
			hit = cidr_match(&ni->cidr, ctx->family, ctx->addr);
		}
		if (hit)
			return !ni->negate;
	}
	return false;
}

bool
smtpd_check_mynetworks(struct smtpd_check *c,
    const struct smtpd_check_ctx *ctx)
{
	return nets_match(c->nets, c->n_nets, ctx);
}

bool
smtpd_check_bare_newline_excluded(struct smtpd_check *c,
    const struct smtpd_check_ctx *ctx)
{
	return nets_match(c->nl_excl, c->n_nl_excl, ctx);
}

bool
smtpd_check_event_limit_exempt(struct smtpd_check *c,
    const struct smtpd_check_ctx *ctx)
{
	return nets_match(c->ev_excl, c->n_ev_excl, ctx);
}

/* Replies. */

static void
reply_set(struct buf *reply, unsigned code, const char *enh,
    const char *subject, const char *what, const char *text)
{
	buf_reset(reply);
	if (what != NULL)
		buf_printf(reply, "%u %s <%s>: %s rejected: %s", code, enh,
		    subject, what, text);
	else
		buf_printf(reply, "%u %s <%s>: %s", code, enh, subject, text);
}

/* Enhanced code class digit for CODE (4 or 5) with DETAIL ("7.1"). */
static const char *
enh_for(unsigned code, const char *detail)
{
	return err_fmt("%u.%s", code / 100, detail);
}

/* What a restriction is about: names for the reply and the table keys. */
struct subject {
	const char *what;	/* "Client host", "Recipient address", ... */
	const char *text;	/* "unknown[192.0.2.1]", "a@b", ... */
};

static void
addr_text(const struct smtp_addr *a, struct buf *out)
{
	buf_reset(out);
	if (a->is_null)
		return;
	smtp_addr_externalize(a->addr, out);
}

static bool
domain_in(const struct strlist *names, struct maps *maps, const char *domain,
    bool subdomains, int *failed_r)
{
	const char *v, *error;

	for (size_t i = 0; i < names->n; i++) {
		const char *n = names->v[i];
		size_t dl = strlen(domain), nl = strlen(n);

		if (strcmp(n, domain) == 0 && *n != '.')
			return true;
		if (!subdomains || dl <= nl)
			continue;
		/* "example.com" and ".example.com" match sub.example.com. */
		if (*n == '.' && strcmp(domain + dl - nl, n) == 0)
			return true;
		if (*n != '.' && domain[dl - nl - 1] == '.' &&
		    strcmp(domain + dl - nl, n) == 0)
			return true;
	}
	if (maps == NULL)
		return false;
	for (const char *d = domain; d != NULL && *d;) {
		int r = maps_lookup(maps, d, &v, &error);

		if (r < 0) {
			log_warning("lookup of %s: %s", d, error);
			*failed_r = 1;
			return false;
		}
		if (r > 0)
			return true;
		if (!subdomains)
			break;
		d = strchr(d + 1, '.');
		if (d != NULL)
			d++;
	}
	return false;
}

static bool
is_local_domain(struct smtpd_check *c, const struct smtpd_check_ctx *ctx,
    const struct smtp_addr *a, int *failed_r)
{
	if (a->domain_lower[0] == '\0')
		return true;	/* <postmaster>, or an unqualified address */
	if (a->is_literal) {
		int fa, fb;
		unsigned char ba[16], bb[16];

		return ctx->local_addr != NULL &&
		    cidr_addr_parse(a->domain, &fa, ba) == 0 &&
		    cidr_addr_parse(ctx->local_addr, &fb, bb) == 0 &&
		    fa == fb && memcmp(ba, bb, 16) == 0;
	}
	return domain_in(&c->mydest, c->mydest_maps, a->domain_lower, false,
	    failed_r);
}

static bool
is_relay_domain(struct smtpd_check *c, const struct smtp_addr *a,
    int *failed_r)
{
	if (a->domain_lower[0] == '\0' || a->is_literal)
		return false;
	return domain_in(&c->relay, c->relay_maps, a->domain_lower, true,
	    failed_r);
}

/*
 * A sender domain that is this server's own: mydestination,
 * virtual_alias_domains or $myorigin.  Only a client in mynetworks or an
 * authenticated one may use it (reject_unauth_local_sender).
 */
static bool
is_own_domain(struct smtpd_check *c, const struct smtpd_check_ctx *ctx,
    const struct smtp_addr *a, int *failed_r)
{
	if (a->domain_lower[0] == '\0')
		return false;
	if (is_local_domain(c, ctx, a, failed_r))
		return true;
	if (strcmp(a->domain_lower, c->myorigin) == 0)
		return true;
	return domain_in(&c->valias, c->valias_maps, a->domain_lower, false,
	    failed_r);
}

/*
 * The logins that own address A in smtpd_sender_login_maps: the keys are
 * the address, the address without its extension, and @domain (the first
 * found decides).  1 with the table's value in OWNERS, 0 when no key is
 * found, -1 when a lookup failed (logged).
 */
static int
sender_owners(struct smtpd_check *c, const struct smtp_addr *a,
    struct buf *owners)
{
	struct strlist keys;
	struct buf k;
	int ret = 0;

	strlist_init(&keys);
	buf_init(&k, 0);
	buf_append_str(&k, a->addr);
	strlist_add(&keys, str_lower(k.data));
	if (*c->delimiter) {
		size_t cut = strcspn(a->localpart, c->delimiter);

		if (cut > 0 && a->localpart[cut] != '\0') {
			buf_reset(&k);
			buf_append(&k, a->localpart, cut);
			if (a->domain[0]) {
				buf_append_char(&k, '@');
				buf_append_str(&k, a->domain);
			}
			strlist_add(&keys, str_lower(k.data));
		}
	}
	if (a->domain_lower[0]) {
		buf_reset(&k);
		buf_printf(&k, "@%s", a->domain_lower);
		strlist_add(&keys, k.data);
	}
	for (size_t i = 0; i < keys.n; i++) {
		const char *v, *error;
		int r = maps_lookup(c->sender_login, keys.v[i], &v, &error);

		if (r < 0) {
			log_warning("smtpd_sender_login_maps: lookup of %s: %s",
			    keys.v[i], error);
			ret = -1;
			break;
		}
		if (r > 0) {
			buf_reset(owners);
			buf_append_str(owners, v);
			ret = 1;
			break;
		}
	}
	buf_release(&k);
	strlist_release(&keys);
	return ret;
}

/* True when USER is one of the logins in OWNERS ("a, b c"). */
static bool
owner_listed(const char *owners, const char *user)
{
	size_t ul = strlen(user);

	for (const char *p = owners; *p;) {
		size_t n;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == ul && n > 0 && str_ncasecmp(p, user, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/*
 * reject_{,authenticated_,unauthenticated_}sender_login_mismatch: an
 * authenticated client may use only the sender addresses that the table
 * gives to its login; an unauthenticated one none that the table gives
 * to anyone.  The null sender is never checked (bounces).
 */
static enum verdict
sender_login_check(struct smtpd_check *c, enum rtype type,
    const struct smtpd_check_ctx *ctx, struct buf *reply)
{
	const char *user = ctx->sasl_username;
	struct buf owners, t;
	enum verdict v = V_DUNNO;
	int r;

	if (c->sender_login == NULL || ctx->sender == NULL ||
	    ctx->sender->is_null)
		return V_DUNNO;
	if ((user != NULL && type == R_REJECT_UNAUTH_SENDER_LOGIN_MISMATCH) ||
	    (user == NULL && type == R_REJECT_AUTH_SENDER_LOGIN_MISMATCH))
		return V_DUNNO;
	buf_init(&owners, 0);
	buf_init(&t, 0);
	addr_text(ctx->sender, &t);
	r = sender_owners(c, ctx->sender, &owners);
	if (r < 0) {
		reply_set(reply, 451, "4.3.0", t.data, "Sender address",
		    "Temporary lookup failure");
		v = V_REJECT;
	} else if (user != NULL && (r == 0 ||
	    !owner_listed(owners.data, user))) {
		reply_set(reply, 553, "5.7.1", t.data, "Sender address",
		    err_fmt("not owned by user %s", user));
		v = V_REJECT;
	} else if (user == NULL && r > 0) {
		reply_set(reply, 553, "5.7.1", t.data, "Sender address",
		    "not logged in");
		v = V_REJECT;
	}
	buf_release(&owners);
	buf_release(&t);
	return v;
}

/* 1: the recipient is ours to accept from anyone, 0: not, -1: lookup failed. */
static int
auth_destination(struct smtpd_check *c, const struct smtpd_check_ctx *ctx)
{
	int failed = 0;
	bool ours;

	ours = is_local_domain(c, ctx, ctx->rcpt, &failed) ||
	    is_relay_domain(c, ctx->rcpt, &failed);
	if (failed)
		return -1;
	/*
	 * user%other@ours, other!user@ours, "user@other"@ours and
	 * @ours:user@other route onward: never ours to accept
	 * (allow_untrusted_routing = no).
	 */
	if (ours && smtp_addr_has_routing(ctx->rcpt))
		return 0;
	return ours ? 1 : 0;
}

static bool
valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;
	bool all_digits = true;

	if (len == 0 || len > 255)
		return false;
	for (const char *p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(ch) && ch != '-' && ch != '_')
			return false;
		if (ch == '-' && label == 0)
			return false;
		if (!isdigit(ch))
			all_digits = false;
		if (++label > 63)
			return false;
	}
	if (s[len - 1] == '-' || all_digits)
		return false;
	return true;
}

static bool
valid_literal(const char *s)
{
	int f;
	unsigned char b[16];

	return s[0] == '[' && cidr_addr_parse(s, &f, b) == 0;
}

static enum verdict eval_one(struct smtpd_check *c, enum rtype type,
    struct maps *maps, const char *spec, const struct dnsbl_site *site,
    const struct smtpd_check_ctx *ctx,
    const struct subject *subj, struct buf *reply, int depth);

/*
 * Act on the result V of an access table for subject SUBJ.  Postfix's
 * access(5) actions that ulak knows; the rest are logged and ignored.
 */
static enum verdict
access_action(struct smtpd_check *c, const char *table, const char *v,
    const struct smtpd_check_ctx *ctx, const struct subject *subj,
    struct buf *reply, int depth)
{
	char word[64];
	size_t n = 0;
	const char *text;

	while (*v == ' ' || *v == '\t')
		v++;
	while (v[n] && v[n] != ' ' && v[n] != '\t' && n < sizeof(word) - 1) {
		word[n] = v[n];
		n++;
	}
	word[n] = '\0';
	text = v + n;
	while (*text == ' ' || *text == '\t')
		text++;
	if (str_casecmp(word, "OK") == 0 || str_casecmp(word, "PERMIT") == 0)
		return V_PERMIT;
	if (str_casecmp(word, "DUNNO") == 0 || word[0] == '\0')
		return V_DUNNO;
	if (str_casecmp(word, "REJECT") == 0) {
		reply_set(reply, c->access_reject_code,
		    enh_for(c->access_reject_code, "7.1"), subj->text,
		    subj->what, *text ? text : "Access denied");
		return V_REJECT;
	}
	if (str_casecmp(word, "DEFER") == 0) {
		reply_set(reply, c->access_defer_code,
		    enh_for(c->access_defer_code, "7.1"), subj->text,
		    subj->what, *text ? text : "Access denied");
		return V_REJECT;
	}
	if (strspn(word, "0123456789") == n) {
		uint64_t code;
		const char *perr;
		char enh[16];

		if (n != 3 || parse_uint(word, 400, 599, &code, &perr) < 0)
			return V_PERMIT;	/* all digits: OK (Postfix) */
		/* "550 5.7.1 text" keeps its enhanced code. */
		if (text[0] == word[0] && text[1] == '.' &&
		    isdigit((unsigned char)text[2])) {
			size_t el = strcspn(text, " \t");

			if (el < sizeof(enh)) {
				memcpy(enh, text, el);
				enh[el] = '\0';
				text += el;
				while (*text == ' ' || *text == '\t')
					text++;
			} else {
				str_copy(enh, sizeof(enh),
				    enh_for((unsigned)code, "7.1"));
			}
		} else {
			str_copy(enh, sizeof(enh),
			    enh_for((unsigned)code, "7.1"));
		}
		reply_set(reply, (unsigned)code, enh, subj->text, subj->what,
		    *text ? text : "Access denied");
		return V_REJECT;
	}
	if (depth == 0) {
		for (size_t k = 0; k < sizeof(rnames) / sizeof(rnames[0]);
		    k++) {
			if (rnames[k].arg == ARG_NONE &&
			    str_casecmp(word, rnames[k].name) == 0)
				return eval_one(c, rnames[k].type, NULL, NULL,
				    NULL,
				    ctx, subj, reply, depth + 1);
		}
	}
	log_warning("%s: unsupported access action \"%s\"; ignored", table,
	    word);
	return V_DUNNO;
}

/* Look KEYS up in order; the first key found decides. */
static enum verdict
access_keys(struct smtpd_check *c, struct maps *maps, const char *table,
    const struct strlist *keys, const struct smtpd_check_ctx *ctx,
    const struct subject *subj, struct buf *reply, int depth)
{
	for (size_t i = 0; i < keys->n; i++) {
		const char *v, *error;
		int r = maps_lookup(maps, keys->v[i], &v, &error);

		if (r < 0) {
			log_warning("%s: lookup of %s: %s", table, keys->v[i],
			    error);
			reply_set(reply, 451, "4.3.0", subj->text, NULL,
			    "Temporary lookup failure");
			return V_REJECT;
		}
		if (r > 0)
			return access_action(c, table, v, ctx, subj, reply,
			    depth);
	}
	return V_DUNNO;
}

/* NAME, then each parent domain ("a.b.c": "b.c", ".b.c", "c", ".c"). */
static void
keys_domain(struct strlist *keys, const char *name)
{
	strlist_add(keys, name);
	for (const char *d = strchr(name, '.'); d != NULL && d[1];
	    d = strchr(d + 1, '.')) {
		strlist_add(keys, d + 1);
		strlist_add(keys, d);
	}
}

static void
keys_client(struct strlist *keys, const struct smtpd_check_ctx *ctx)
{
	char tmp[64];

	if (ctx->client_name != NULL && strcmp(ctx->client_name, "unknown"))
		keys_domain(keys, ctx->client_name);
	strlist_add(keys, ctx->client_addr);
	/* 192.0.2.1 -> 192.0.2, 192.0, 192; 2001:db8::1 -> 2001:db8:, ... */
	if (str_copy(tmp, sizeof(tmp), ctx->client_addr) < 0)
		return;
	for (;;) {
		char *cut = strrchr(tmp, ctx->family == AF_INET ? '.' : ':');

		if (cut == NULL || cut == tmp)
			break;
		*cut = '\0';
		if (tmp[0] != '\0' && tmp[strlen(tmp) - 1] != ':')
			strlist_add(keys, tmp);
	}
}

static void
keys_address(struct smtpd_check *c, struct strlist *keys,
    const struct smtp_addr *a)
{
	struct buf b;

	if (a->is_null) {
		strlist_add(keys, "<>");
		return;
	}
	buf_init(&b, 0);
	buf_append_str(&b, a->addr);
	str_lower(b.data);
	strlist_add(keys, b.data);
	if (*c->delimiter) {
		size_t cut = strcspn(a->localpart, c->delimiter);

		if (cut > 0 && a->localpart[cut] != '\0') {
			buf_reset(&b);
			buf_append(&b, a->localpart, cut);
			if (a->domain[0]) {
				buf_append_char(&b, '@');
				buf_append_str(&b, a->domain);
			}
			str_lower(b.data);
			strlist_add(keys, b.data);
		}
	}
	if (a->domain_lower[0])
		keys_domain(keys, a->domain_lower);
	buf_reset(&b);
	buf_append_str(&b, a->localpart);
	buf_append_char(&b, '@');
	str_lower(b.data);
	strlist_add(keys, b.data);
	buf_release(&b);
}

static enum verdict
eval_access(struct smtpd_check *c, enum rtype type, struct maps *maps,
    const char *table, const struct smtpd_check_ctx *ctx,
    struct buf *reply, int depth)
{
	struct strlist keys;
	struct subject subj;
	struct buf text;
	enum verdict v;

	strlist_init(&keys);
	buf_init(&text, 0);
	switch (type) {
	case R_CHECK_CLIENT:
		buf_printf(&text, "%s[%s]", ctx->client_name, ctx->client_addr);
		subj.what = "Client host";
		keys_client(&keys, ctx);
		break;
	case R_CHECK_HELO:
		if (ctx->helo == NULL)
			goto done;
		buf_append_str(&text, ctx->helo);
		subj.what = "Helo command";
		str_lower(text.data);
		keys_domain(&keys, text.data);
		break;
	case R_CHECK_SENDER:
		if (ctx->sender == NULL)
			goto done;
		addr_text(ctx->sender, &text);
		subj.what = "Sender address";
		keys_address(c, &keys, ctx->sender);
		break;
	default:
		if (ctx->rcpt == NULL)
			goto done;
		addr_text(ctx->rcpt, &text);
		subj.what = "Recipient address";
		keys_address(c, &keys, ctx->rcpt);
		break;
	}
	subj.text = text.data;
	v = access_keys(c, maps, table, &keys, ctx, &subj, reply, depth);
	strlist_release(&keys);
	buf_release(&text);
	return v;
done:
	strlist_release(&keys);
	buf_release(&text);
	return V_DUNNO;
}

/* ---- DNS-based restrictions ---- */

/* The DNS answer for NAME/TYPE, or NULL when pending (*pending set). */
static const struct smtpd_dnsfact_answer *
dns_fact(const struct smtpd_check_ctx *ctx, const char *name,
    enum dns_type type, bool *pending)
{
	const struct smtpd_dnsfact_answer *a;

	if (smtpd_dnsfact_dns(ctx->dns, name, type, &a) == 0) {
		*pending = true;
		return NULL;
	}
	return a;
}

/* reject_unknown_client_hostname, reject_unknown_reverse_client_hostname */
static enum verdict
unknown_client(struct smtpd_check *c, enum rtype type,
    const struct smtpd_check_ctx *ctx, struct buf *reply)
{
	enum smtpd_name_status st = type == R_REJECT_UNKNOWN_CLIENT ?
	    ctx->name_status : ctx->reverse_status;
	unsigned code;

	if (st == SMTPD_NAME_OK || ctx->dns == NULL)
		return V_DUNNO;
	/* RFC 7372: 4.7.25/5.7.25, reverse DNS validation failed. */
	code = st == SMTPD_NAME_TEMP ? 450 : c->unknown_client_code;
	buf_reset(reply);
	buf_printf(reply, "%u %u.7.25 Client host rejected: cannot find your "
	    "%shostname, [%s]", code, code / 100,
	    type == R_REJECT_UNKNOWN_CLIENT ? "" : "reverse ",
	    ctx->client_addr);
	return V_REJECT;
}

/*
 * Does DOMAIN receive mail / exist?  MX first (a null MX counts as no
 * mail), then A, then AAAA.  1 yes, 0 no, -1 temporary failure, 2
 * pending.  HOST: an A/AAAA/MX of the name itself (HELO).
 */
static int
domain_resolves(const struct smtpd_check_ctx *ctx, const char *domain)
{
	static const enum dns_type types[] = { DNS_T_MX, DNS_T_A, DNS_T_AAAA };
	bool pending = false, temp = false;

	for (size_t i = 0; i < 3; i++) {
		const struct smtpd_dnsfact_answer *a = dns_fact(ctx, domain,
		    types[i], &pending);

		if (a == NULL)
			return 2;
		if (a->status == DNS_OK) {
			if (types[i] == DNS_T_MX && a->values.n == 1 &&
			    a->values.v[0][0] == '\0')
				return 0;	/* null MX, RFC 7505 */
			return 1;
		}
		if (a->status == DNS_TEMPFAIL)
			temp = true;
		if (a->status == DNS_NXDOMAIN)
			break;
	}
	return temp ? -1 : 0;
}

static enum verdict
unknown_domain(struct smtpd_check *c, enum rtype type,
    const struct smtpd_check_ctx *ctx, struct buf *reply)
{
	const struct smtp_addr *a = type == R_REJECT_UNKNOWN_SENDER_DOMAIN ?
	    ctx->sender : type == R_REJECT_UNKNOWN_RCPT_DOMAIN ? ctx->rcpt :
	    NULL;
	const char *name;
	struct buf t;
	int r, failed = 0;
	unsigned code;

	if (ctx->dns == NULL)
		return V_DUNNO;
	if (type == R_REJECT_UNKNOWN_HELO) {
		if (ctx->helo == NULL || valid_literal(ctx->helo) ||
		    !valid_hostname(ctx->helo))
			return V_DUNNO;
		name = ctx->helo;
	} else {
		if (a == NULL || a->is_null || a->is_literal ||
		    a->domain_lower[0] == '\0')
			return V_DUNNO;
		/* Our own domains are known without asking DNS. */
		if (type == R_REJECT_UNKNOWN_RCPT_DOMAIN &&
		    (is_local_domain(c, ctx, a, &failed) ||
		    is_relay_domain(c, a, &failed)))
			return V_DUNNO;
		name = a->domain_lower;
	}
	r = domain_resolves(ctx, name);
	if (r == 2)
		return V_PENDING;
	if (r == 1)
		return V_DUNNO;
	buf_init(&t, 0);
	if (type == R_REJECT_UNKNOWN_HELO) {
		code = r < 0 ? 450 : c->unknown_hostname_code;
		buf_reset(reply);
		buf_printf(reply, "%u %u.7.1 <%s>: Helo command rejected: "
		    "Host not found", code, code / 100, ctx->helo);
	} else {
		code = r < 0 ? 450 : c->unknown_address_code;
		addr_text(a, &t);
		reply_set(reply, code, enh_for(code,
		    type == R_REJECT_UNKNOWN_SENDER_DOMAIN ? "1.8" : "1.2"),
		    t.data, type == R_REJECT_UNKNOWN_SENDER_DOMAIN ?
		    "Sender address" : "Recipient address", r < 0 ?
		    "Domain not found (temporary DNS failure)" :
		    "Domain not found");
	}
	buf_release(&t);
	return V_REJECT;
}

/* Printable ASCII of a TXT record, for a reply (at most 200 bytes). */
static void
safe_text(const char *in, struct buf *out)
{
	size_t n = 0;

	for (; *in && n < 200; in++, n++)
		buf_append_char(out, *in >= 0x20 && *in < 0x7f ? *in : '?');
}

/*
 * Is the name QNAME listed by SITE?  1 listed, 0 not (or DNS failed: a
 * blocklist that does not answer blocks nothing, as in Postfix), 2
 * pending.  For a listing, TEXT gets the TXT record (when there is one).
 */
static int
dnsbl_listed(const struct smtpd_check_ctx *ctx, const struct dnsbl_site *site,
    const char *qname, struct buf *text)
{
	const struct smtpd_dnsfact_answer *a, *txt;
	bool pending = false, hit = false;

	a = dns_fact(ctx, qname, DNS_T_A, &pending);
	if (a == NULL)
		return 2;
	if (a->status == DNS_TEMPFAIL)
		log_warning("%s: DNS blocklist lookup failed: %s", qname,
		    a->error != NULL ? a->error : "temporary failure");
	for (size_t i = 0; a->status == DNS_OK && i < a->values.n; i++)
		if (dnsbl_site_match(site, a->values.v[i]))
			hit = true;
	if (!hit)
		return 0;
	if (text == NULL)
		return 1;
	txt = dns_fact(ctx, qname, DNS_T_TXT, &pending);
	if (txt == NULL)
		return 2;
	if (txt->status == DNS_OK && txt->values.n > 0)
		safe_text(txt->values.v[0], text);
	return 1;
}

static enum verdict
rbl(struct smtpd_check *c, enum rtype type, const struct dnsbl_site *site,
    const struct smtpd_check_ctx *ctx, struct buf *reply)
{
	char qname[512];
	const char *cls, *what;
	struct buf text;
	int r, n;

	if (ctx->dns == NULL)
		return V_DUNNO;
	switch (type) {
	case R_REJECT_RBL_CLIENT:
		cls = "Client host";
		what = ctx->client_addr;
		if (dnsbl_query_name(what, site->zone, qname,
		    sizeof(qname)) < 0)
			return V_DUNNO;
		break;
	case R_REJECT_RHSBL_CLIENT:
		cls = "Client host";
		what = ctx->client_name;
		if (what == NULL || strcmp(what, "unknown") == 0)
			return V_DUNNO;
		break;
	case R_REJECT_RHSBL_SENDER:
		cls = "Sender address";
		if (ctx->sender == NULL || ctx->sender->is_null ||
		    ctx->sender->is_literal ||
		    ctx->sender->domain_lower[0] == '\0')
			return V_DUNNO;
		what = ctx->sender->domain_lower;
		break;
	default:
		cls = "Helo command";
		what = ctx->helo;
		if (what == NULL || valid_literal(what) ||
		    !valid_hostname(what))
			return V_DUNNO;
		break;
	}
	if (type != R_REJECT_RBL_CLIENT) {
		n = snprintf(qname, sizeof(qname), "%s.%s", what, site->zone);
		if (n < 0 || (size_t)n >= sizeof(qname))
			return V_DUNNO;
	}
	buf_init(&text, 0);
	r = dnsbl_listed(ctx, site, qname, &text);
	if (r != 1) {
		buf_release(&text);
		return r == 2 ? V_PENDING : V_DUNNO;
	}
	buf_reset(reply);
	buf_printf(reply, "%u %u.7.1 Service unavailable; %s [%s] blocked "
	    "using %s%s%s", c->rbl_code, c->rbl_code / 100, cls, what,
	    site->zone, text.len > 0 ? "; " : "", text.data);
	buf_release(&text);
	return V_REJECT;
}

static enum verdict
dnsbl_score_check(struct smtpd_check *c, const struct smtpd_check_ctx *ctx,
    struct buf *reply)
{
	bool *listed, pending = false;
	struct buf names;
	long score;

	if (ctx->dns == NULL || c->n_score_sites == 0)
		return V_DUNNO;
	listed = xcalloc(c->n_score_sites, sizeof(*listed));
	/* Ask every list at once: one round of lookups. */
	for (size_t i = 0; i < c->n_score_sites; i++) {
		char qname[512];
		int r;

		if (dnsbl_query_name(ctx->client_addr, c->score_sites[i].zone,
		    qname, sizeof(qname)) < 0)
			continue;
		r = dnsbl_listed(ctx, &c->score_sites[i], qname, NULL);
		if (r == 2)
			pending = true;
		listed[i] = r == 1;
	}
	if (pending) {
		free(listed);
		return V_PENDING;
	}
	score = dnsbl_score(c->score_sites, listed, c->n_score_sites);
	if (score < c->score_threshold) {
		free(listed);
		return V_DUNNO;
	}
	buf_init(&names, 0);
	for (size_t i = 0; i < c->n_score_sites; i++)
		if (listed[i])
			buf_printf(&names, "%s%s", names.len ? ", " : "",
			    c->score_sites[i].zone);
	buf_reset(reply);
	buf_printf(reply, "%u %u.7.1 Service unavailable; Client host [%s] "
	    "blocked using DNSBL score %ld (threshold %ld): %s", c->rbl_code,
	    c->rbl_code / 100, ctx->client_addr, score, c->score_threshold,
	    names.data);
	buf_release(&names);
	free(listed);
	return V_REJECT;
}

void
smtpd_check_spf_request(const struct smtpd_check *c,
    const struct smtpd_check_ctx *ctx, struct spf_request *req)
{
	memset(req, 0, sizeof(*req));
	req->client_ip = ctx->client_addr;
	req->helo = ctx->helo;
	req->receiver = c->myhostname;
	/* RFC 7208 2.4: the null sender is checked as postmaster@HELO. */
	if (ctx->sender == NULL || ctx->sender->is_null) {
		req->sender = NULL;
		req->helo_identity = true;
	} else {
		req->sender = ctx->sender->addr;
	}
}

static enum verdict
spf_check(struct smtpd_check *c, const struct smtpd_check_ctx *ctx,
    struct buf *reply)
{
	struct spf_request req;
	const struct spf_outcome *o;
	struct buf t;
	const char *subject;

	if (ctx->dns == NULL || ctx->sender == NULL)
		return V_DUNNO;
	if (ctx->sender->is_null && (ctx->helo == NULL ||
	    valid_literal(ctx->helo)))
		return V_DUNNO;
	smtpd_check_spf_request(c, ctx, &req);
	if (smtpd_dnsfact_spf(ctx->dns, &req, &o) == 0)
		return V_PENDING;
	buf_init(&t, 0);
	if (ctx->sender->is_null)
		buf_append_str(&t, ctx->helo);
	else
		addr_text(ctx->sender, &t);
	subject = ctx->sender->is_null ? "Helo command" : "Sender address";
	buf_reset(reply);
	if (spf_rejects(c->spf_mode, o->result)) {
		/* RFC 7372 3.2: 5.7.23, SPF validation failed. */
		buf_printf(reply, "550 5.7.23 <%s>: %s rejected: SPF %s - %s",
		    t.data, subject, spf_result_name(o->result),
		    o->explanation != NULL ? o->explanation :
		    "not authorized");
	} else if (o->result == SPF_TEMPERROR &&
	    c->spf_mode != SPF_REJECT_NEVER) {
		/* RFC 7372 3.2: 4.7.24, SPF validation error (policyd-spf). */
		buf_printf(reply, "451 4.7.24 <%s>: %s rejected: SPF "
		    "temperror - %s", t.data, subject, o->problem != NULL ?
		    o->problem : "temporary DNS failure");
	} else {
		buf_release(&t);
		return V_DUNNO;
	}
	buf_release(&t);
	return V_REJECT;
}

bool
smtpd_check_trusted(struct smtpd_check *c, const struct smtpd_check_ctx *ctx)
{
	return ctx->sasl_username != NULL || smtpd_check_mynetworks(c, ctx);
}

/* greylist_exempt_maps: client address/name, sender, recipient domains. */
static bool
greylist_exempt(struct smtpd_check *c, const struct smtpd_check_ctx *ctx)
{
	struct strlist keys;
	bool hit = false;

	if (c->gl_exempt == NULL)
		return false;
	strlist_init(&keys);
	keys_client(&keys, ctx);
	if (ctx->sender != NULL)
		keys_address(c, &keys, ctx->sender);
	if (ctx->rcpt != NULL)
		keys_address(c, &keys, ctx->rcpt);
	for (size_t i = 0; i < keys.n && !hit; i++) {
		const char *v, *error;
		int r = maps_lookup(c->gl_exempt, keys.v[i], &v, &error);

		if (r < 0)
			log_warning("greylist_exempt_maps: lookup of %s: %s",
			    keys.v[i], error);
		hit = r > 0 && str_casecmp(v, "DUNNO") != 0;
	}
	strlist_release(&keys);
	return hit;
}

static enum verdict
greylist_check_rcpt(struct smtpd_check *c, const struct smtpd_check_ctx *ctx,
    struct buf *reply)
{
	char net[64];
	enum greylist_verdict gv;
	uint64_t wait = 0;
	const char *error;
	struct buf t;

	if (c->greylist == NULL || ctx->rcpt == NULL || ctx->sender == NULL ||
	    smtpd_check_trusted(c, ctx) || greylist_exempt(c, ctx))
		return V_DUNNO;
	if (greylist_client_net(ctx->family, ctx->addr, net, sizeof(net)) < 0)
		return V_DUNNO;
	if (greylist_check(c->greylist, net, ctx->sender->addr,
	    ctx->rcpt->addr, time(NULL), &gv, &wait, &error) < 0) {
		/* A broken store must not stop mail: let it pass. */
		log_warning("%s", error);
		return V_DUNNO;
	}
	if (gv == GREYLIST_PASS || gv == GREYLIST_WHITELISTED)
		return V_DUNNO;
	buf_init(&t, 0);
	addr_text(ctx->rcpt, &t);
	reply_set(reply, 450, "4.7.1", t.data, "Recipient address",
	    err_fmt("Greylisted, try again in %llu seconds",
	    (unsigned long long)(wait > 0 ? wait : 1)));
	buf_release(&t);
	return V_REJECT;
}

static enum verdict
eval_one(struct smtpd_check *c, enum rtype type, struct maps *maps,
    const char *spec, const struct dnsbl_site *site,
    const struct smtpd_check_ctx *ctx, const struct subject *subj,
    struct buf *reply, int depth)
{
	struct buf t;
	enum verdict v = V_DUNNO;
	int r, failed = 0;

	buf_init(&t, 0);
	switch (type) {
	case R_PERMIT:
		v = V_PERMIT;
		break;
	case R_REJECT:
		reply_set(reply, c->reject_code, enh_for(c->reject_code,
		    "7.1"), subj->text, subj->what, "Access denied");
		v = V_REJECT;
		break;
	case R_DEFER:
		reply_set(reply, c->defer_code, enh_for(c->defer_code, "7.1"),
		    subj->text, subj->what, "Try again later");
		v = V_REJECT;
		break;
	case R_PERMIT_MYNETWORKS:
		if (smtpd_check_mynetworks(c, ctx))
			v = V_PERMIT;
		break;
	case R_PERMIT_SASL:
		/* Hook for SMTP AUTH (issue 6): set ctx->sasl_username. */
		if (ctx->sasl_username != NULL)
			v = V_PERMIT;
		break;
	case R_PERMIT_AUTH_DEST:
	case R_REJECT_UNAUTH_DEST:
	case R_DEFER_UNAUTH_DEST:
		if (ctx->rcpt == NULL)
			break;
		r = auth_destination(c, ctx);
		addr_text(ctx->rcpt, &t);
		if (r < 0) {
			reply_set(reply, 451, "4.3.0", t.data, NULL,
			    "Temporary lookup failure");
			v = V_REJECT;
		} else if (r > 0 && type == R_PERMIT_AUTH_DEST) {
			v = V_PERMIT;
		} else if (r == 0 && type == R_REJECT_UNAUTH_DEST) {
			reply_set(reply, c->relay_code, enh_for(c->relay_code,
			    "7.1"), t.data, NULL, "Relay access denied");
			v = V_REJECT;
		} else if (r == 0 && type == R_DEFER_UNAUTH_DEST) {
			reply_set(reply, 454, "4.7.1", t.data, NULL,
			    "Relay access denied");
			v = V_REJECT;
		}
		break;
	case R_REJECT_UNAUTH_LOCAL_SENDER:
		if (ctx->sender == NULL || ctx->sender->is_null ||
		    ctx->sasl_username != NULL ||
		    smtpd_check_mynetworks(c, ctx))
			break;
		if (!is_own_domain(c, ctx, ctx->sender, &failed))
			break;
		addr_text(ctx->sender, &t);
		reply_set(reply, 553, "5.7.1", t.data, "Sender address",
		    "not logged in");
		v = V_REJECT;
		break;
	case R_REJECT_SENDER_LOGIN_MISMATCH:
	case R_REJECT_AUTH_SENDER_LOGIN_MISMATCH:
	case R_REJECT_UNAUTH_SENDER_LOGIN_MISMATCH:
		v = sender_login_check(c, type, ctx, reply);
		break;
	case R_REJECT_NON_FQDN_HELO:
	case R_REJECT_INVALID_HELO:
		if (ctx->helo == NULL)
			break;
		if (valid_literal(ctx->helo))
			break;
		if (!valid_hostname(ctx->helo)) {
			if (type == R_REJECT_INVALID_HELO) {
				reply_set(reply, c->invalid_hostname_code,
				    enh_for(c->invalid_hostname_code, "5.2"),
				    ctx->helo, "Helo command", "Invalid name");
				v = V_REJECT;
			}
			break;
		}
		if (type == R_REJECT_NON_FQDN_HELO &&
		    strchr(ctx->helo, '.') == NULL) {
			reply_set(reply, c->non_fqdn_code,
			    enh_for(c->non_fqdn_code, "5.2"), ctx->helo,
			    "Helo command", "need fully-qualified hostname");
			v = V_REJECT;
		}
		break;
	case R_REJECT_NON_FQDN_SENDER:
	case R_REJECT_NON_FQDN_RCPT: {
		const struct smtp_addr *a = type == R_REJECT_NON_FQDN_SENDER ?
		    ctx->sender : ctx->rcpt;

		if (a == NULL || a->is_null || a->is_literal)
			break;
		if (a->domain[0] != '\0' && strchr(a->domain, '.') != NULL &&
		    valid_hostname(a->domain))
			break;
		addr_text(a, &t);
		reply_set(reply, c->non_fqdn_code, enh_for(c->non_fqdn_code,
		    "5.2"), t.data, type == R_REJECT_NON_FQDN_SENDER ?
		    "Sender address" : "Recipient address",
		    "need fully-qualified address");
		v = V_REJECT;
		break;
	}
	case R_REJECT_UNLISTED_RCPT:
		if (ctx->rcpt != NULL && smtpd_check_local_recipient(c, ctx,
		    ctx->rcpt, NULL, reply) < 0)
			v = V_REJECT;
		break;
	case R_CHECK_CLIENT:
	case R_CHECK_HELO:
	case R_CHECK_SENDER:
	case R_CHECK_RCPT:
		v = eval_access(c, type, maps, spec != NULL ? spec : "",
		    ctx, reply, depth);
		break;
	case R_REJECT_UNKNOWN_CLIENT:
	case R_REJECT_UNKNOWN_REVERSE:
		v = unknown_client(c, type, ctx, reply);
		break;
	case R_REJECT_UNKNOWN_HELO:
	case R_REJECT_UNKNOWN_SENDER_DOMAIN:
	case R_REJECT_UNKNOWN_RCPT_DOMAIN:
		v = unknown_domain(c, type, ctx, reply);
		break;
	case R_REJECT_RBL_CLIENT:
	case R_REJECT_RHSBL_CLIENT:
	case R_REJECT_RHSBL_SENDER:
	case R_REJECT_RHSBL_HELO:
		/* Access-table actions cannot name a zone: no site then. */
		if (site != NULL)
			v = rbl(c, type, site, ctx, reply);
		break;
	case R_CHECK_DNSBL_SCORE:
		v = dnsbl_score_check(c, ctx, reply);
		break;
	case R_CHECK_SPF:
		v = spf_check(c, ctx, reply);
		break;
	case R_CHECK_GREYLIST:
		v = greylist_check_rcpt(c, ctx, reply);
		break;
	}
	buf_release(&t);
	return v;
}

/* smtpd_check_list; *DECIDER_R gets the type of the rejecting restriction. */
static int
list_eval(struct smtpd_check *c, enum smtpd_check_list which,
    const struct smtpd_check_ctx *ctx, struct buf *reply,
    enum rtype *decider_r)
{
	const struct rlist *l = &c->lists[which];
	struct subject subj;
	struct buf text;
	int ret = 0;

	/* What a plain "reject" in this list names in its reply. */
	buf_init(&text, 0);
	switch (which) {
	case SMTPD_CHECK_CLIENT:
		buf_printf(&text, "%s[%s]", ctx->client_name, ctx->client_addr);
		subj.what = "Client host";
		break;
	case SMTPD_CHECK_HELO:
		buf_append_str(&text, ctx->helo != NULL ? ctx->helo : "");
		subj.what = "Helo command";
		break;
	case SMTPD_CHECK_SENDER:
		if (ctx->sender != NULL)
			addr_text(ctx->sender, &text);
		subj.what = "Sender address";
		break;
	default:
		if (ctx->rcpt != NULL)
			addr_text(ctx->rcpt, &text);
		subj.what = "Recipient address";
		break;
	}
	subj.text = text.data;
	for (size_t i = 0; i < l->n; i++) {
		enum verdict v = eval_one(c, l->v[i].type, l->v[i].maps,
		    l->v[i].spec, l->v[i].type >= R_REJECT_RBL_CLIENT &&
		    l->v[i].type <= R_REJECT_RHSBL_HELO ? &l->v[i].site : NULL,
		    ctx, &subj, reply, 0);

		if (v == V_PERMIT)
			break;
		if (v == V_PENDING) {
			buf_reset(reply);
			ret = 1;
			break;
		}
		if (v == V_REJECT) {
			*decider_r = l->v[i].type;
			ret = -1;
			break;
		}
	}
	buf_release(&text);
	return ret;
}

int
smtpd_check_list(struct smtpd_check *c, enum smtpd_check_list which,
    const struct smtpd_check_ctx *ctx, struct buf *reply)
{
	enum rtype decider;

	return list_eval(c, which, ctx, reply, &decider);
}

int
smtpd_check_mail(struct smtpd_check *c, const struct smtpd_check_ctx *ctx,
    struct buf *reply)
{
	enum rtype decider = R_PERMIT;

	int r;

	if (!c->delay_reject) {
		r = smtpd_check_list(c, SMTPD_CHECK_CLIENT, ctx, reply);
		if (r == 0)
			r = smtpd_check_list(c, SMTPD_CHECK_SENDER, ctx, reply);
		return r;
	}
	/*
	 * Anti-forgery does not wait for RCPT TO: a forged sender of our own
	 * domains (or one the client's login does not own) is refused at
	 * MAIL FROM.  Any other verdict of the sender list is left to RCPT
	 * time, where the list is evaluated again in full.
	 */
	/* Pending DNS answers: the full evaluation at RCPT TO waits. */
	if (list_eval(c, SMTPD_CHECK_SENDER, ctx, reply, &decider) >= 0) {
		buf_reset(reply);
		return 0;
	}
	if (decider == R_REJECT_UNAUTH_LOCAL_SENDER ||
	    is_login_mismatch(decider))
		return -1;
	buf_reset(reply);
	return 0;
}

int
smtpd_check_rcpt(struct smtpd_check *c, const struct smtpd_check_ctx *ctx,
    struct buf *reply)
{
	int first = c->delay_reject ? SMTPD_CHECK_CLIENT : SMTPD_CHECK_RELAY;

	for (int i = first; i < SMTPD_CHECK_LIST_COUNT; i++) {
		int r = smtpd_check_list(c, (enum smtpd_check_list)i, ctx,
		    reply);

		if (r != 0)
			return r;
	}
	if (c->reject_unlisted_rcpt &&
	    smtpd_check_local_recipient(c, ctx, ctx->rcpt, NULL, reply) < 0)
		return -1;
	return 0;
}

int
smtpd_check_local_recipient(struct smtpd_check *c,
    const struct smtpd_check_ctx *ctx, const struct smtp_addr *a,
    bool *local_r, struct buf *reply)
{
	struct strlist keys;
	struct buf t;
	int failed = 0, ret = 0;
	bool local = is_local_domain(c, ctx, a, &failed);

	if (local_r != NULL)
		*local_r = local;
	buf_init(&t, 0);
	addr_text(a, &t);
	if (failed) {
		reply_set(reply, 451, "4.3.0", t.data, NULL,
		    "Temporary lookup failure");
		buf_release(&t);
		return -1;
	}
	/* RFC 5321 4.5.1: postmaster is always accepted. */
	if (!local || (c->local_rcpt == NULL && c->local_rcpt_error == NULL) ||
	    str_casecmp(a->localpart, "postmaster") == 0) {
		buf_release(&t);
		return 0;
	}
	if (c->local_rcpt == NULL) {
		reply_set(reply, 451, "4.3.0", t.data, "Recipient address",
		    "Temporary lookup failure");
		buf_release(&t);
		return -1;
	}
	strlist_init(&keys);
	{
		struct buf k;
		size_t cut = *c->delimiter ?
		    strcspn(a->localpart, c->delimiter) : strlen(a->localpart);

		buf_init(&k, 0);
		buf_append_str(&k, a->addr);
		strlist_add(&keys, str_lower(k.data));
		buf_reset(&k);
		buf_append_str(&k, a->localpart);
		strlist_add(&keys, str_lower(k.data));
		if (cut > 0 && a->localpart[cut] != '\0') {
			buf_reset(&k);
			buf_append(&k, a->localpart, cut);
			if (a->domain[0]) {
				buf_append_char(&k, '@');
				buf_append_str(&k, a->domain);
			}
			strlist_add(&keys, str_lower(k.data));
			buf_reset(&k);
			buf_append(&k, a->localpart, cut);
			strlist_add(&keys, str_lower(k.data));
		}
		buf_release(&k);
	}
	ret = -1;
	reply_set(reply, c->unknown_local_code,
	    enh_for(c->unknown_local_code, "1.1"), t.data,
	    "Recipient address", "User unknown in local recipient table");
	for (size_t i = 0; i < keys.n; i++) {
		const char *v, *error;
		int r = maps_lookup(c->local_rcpt, keys.v[i], &v, &error);

		if (r > 0) {
			ret = 0;
			break;
		}
		if (r < 0) {
			log_warning("local_recipient_maps: lookup of %s: %s",
			    keys.v[i], error);
			reply_set(reply, 451, "4.3.0", t.data,
			    "Recipient address", "Temporary lookup failure");
			break;
		}
	}
	if (ret == 0)
		buf_reset(reply);
	strlist_release(&keys);
	buf_release(&t);
	return ret;
}
