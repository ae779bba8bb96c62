/*
 * resolve - which transport delivers a recipient, and to which next hop
 * (Postfix's trivial-rewrite "resolve" step, for qmgr and ulak queue).
 *
 * Order (docs/qmgr.md, "Routing"):
 *   1. the address class: a bare local part or a domain in mydestination
 *      is local (local_transport), a domain in relay_domains goes to
 *      relay_transport, anything else to default_transport, with relayhost
 *      as the next hop when it is set, else the recipient's domain;
 *   2. transport_maps, searched for the full address, the domain, each
 *      parent domain as ".parent", then "*", overrides the class: a value
 *      "transport:nexthop" where an empty part keeps what step 1 chose.
 * The transport "error" bounces the recipient with the next hop as text
 * (an optional leading "5.x.y" is its status code), "retry" defers it.
 *
 * Distrusts nothing: the inputs are main.cf and the queue file.
 */
#ifndef ULAK_RESOLVE_H
#define ULAK_RESOLVE_H

struct config;

/* What the resolver needs from main.cf (strings unexpanded or expanded). */
struct resolve_params {
	const char *mydestination;	/* list: commas and/or white space */
	const char *relay_domains;	/* list */
	const char *transport_maps;	/* list of type:name tables */
	const char *relayhost;		/* "" or [host]:port / host */
	const char *local_transport;	/* "local:$myhostname" expanded */
	const char *default_transport;	/* "smtp" */
	const char *relay_transport;	/* "relay" */
};

enum resolve_kind {
	RESOLVE_DELIVER,	/* hand to TRANSPORT for NEXTHOP */
	RESOLVE_BOUNCE,		/* "error:" transport: fail with DSN/TEXT */
	RESOLVE_DEFER,		/* "retry:" transport: defer with DSN/TEXT */
};

struct resolve_result {
	enum resolve_kind kind;
	char transport[64];	/* [a-z0-9_-]+ */
	char nexthop[256];	/* may be empty (local) */
	char dsn[16];		/* RESOLVE_BOUNCE / RESOLVE_DEFER */
	char text[512];		/* RESOLVE_BOUNCE / RESOLVE_DEFER */
	int local;		/* the recipient's domain is a local one */
};

struct resolve;

/*
 * A resolver from PARAMS (copied; tables opened now).  NULL with *error_r
 * when a table cannot be opened or a transport value is malformed.
 */
struct resolve *resolve_new(const struct resolve_params *params,
    const char **error_r);
/* The same from CFG's expanded parameters. */
struct resolve *resolve_from_config(struct config *cfg, const char **error_r);
void resolve_free(struct resolve *r);

/*
 * Resolve recipient ADDR ("user@domain" or a bare "user") into *RES.
 * Returns 0, or -1 with *error_r when a table lookup fails or a
 * transport_maps value is malformed (the caller defers the recipient).
 */
int resolve_addr(struct resolve *r, const char *addr,
    struct resolve_result *res, const char **error_r);

#endif
