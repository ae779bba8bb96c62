/*
 * resolve - recipient to (transport, next hop); see resolve.h.
 *
 * The transport name becomes a socket path (private/TRANSPORT), so it is
 * checked to be a plain name ([a-z0-9_-], not starting with '-') whatever
 * transport_maps says.
 */
#include "resolve.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "dict.h"
#include "err.h"
#include "mem.h"
#include "str.h"

struct resolve {
	struct strlist mydestination;	/* lower case */
	struct strlist relay_domains;	/* lower case */
	struct maps *transport_maps;	/* NULL when none */
	char *relayhost;
	char *local_transport;
	char *default_transport;
	char *relay_transport;
};

static bool
transport_name_valid(const char *s, size_t len)
{
	if (len == 0 || len >= 64 || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-'))
			return false;
	}
	return true;
}

/*
 * Split "transport:nexthop" into its parts; an absent colon means the
 * whole value is the transport.  An empty part is returned empty.
 */
static int
split_transport(const char *value, char *transport, size_t tsize,
    char *nexthop, size_t nsize, const char **error_r)
{
	const char *colon = strchr(value, ':');
	size_t tlen = colon != NULL ? (size_t)(colon - value) : strlen(value);

	if (tlen >= tsize) {
		*error_r = err_fmt("transport name too long in \"%s\"", value);
		return -1;
	}
	memcpy(transport, value, tlen);
	transport[tlen] = '\0';
	if (tlen > 0 && !transport_name_valid(transport, tlen)) {
		*error_r = err_fmt("bad transport name in \"%s\"", value);
		return -1;
	}
	if (str_copy(nexthop, nsize, colon != NULL ? colon + 1 : "") < 0) {
		*error_r = err_fmt("next hop too long in \"%s\"", value);
		return -1;
	}
	return 0;
}

static void
list_lower(struct strlist *out, const char *text)
{
	struct strlist tmp;

	strlist_init(&tmp);
	config_list_split(text, &tmp);
	for (size_t i = 0; i < tmp.n; i++)
		strlist_add(out, str_lower(tmp.v[i]));
	strlist_release(&tmp);
}

struct resolve *
resolve_new(const struct resolve_params *p, const char **error_r)
{
	struct resolve *r = xcalloc(1, sizeof(*r));
	char t[64], n[256];
	const char *checks[3] = { p->local_transport, p->default_transport,
	    p->relay_transport };

	strlist_init(&r->mydestination);
	strlist_init(&r->relay_domains);
	list_lower(&r->mydestination, p->mydestination);
	list_lower(&r->relay_domains, p->relay_domains);
	r->relayhost = xstrdup(p->relayhost);
	r->local_transport = xstrdup(p->local_transport);
	r->default_transport = xstrdup(p->default_transport);
	r->relay_transport = xstrdup(p->relay_transport);
	for (size_t i = 0; i < 3; i++) {
		if (split_transport(checks[i], t, sizeof(t), n, sizeof(n),
		    error_r) < 0 || t[0] == '\0') {
			if (t[0] == '\0')
				*error_r = err_fmt("no transport name in "
				    "\"%s\"", checks[i]);
			resolve_free(r);
			return NULL;
		}
	}
	if (p->transport_maps[strspn(p->transport_maps, " \t\r\n,")] != '\0') {
		r->transport_maps = maps_open(p->transport_maps, error_r);
		if (r->transport_maps == NULL) {
			resolve_free(r);
			return NULL;
		}
	}
	return r;
}

static char *
expanded(struct config *cfg, const char *name, struct buf *tmp)
{
	const char *error;

	buf_reset(tmp);
	if (config_expand(cfg, config_raw(cfg, name), tmp, &error) < 0)
		return NULL;
	return xstrdup(tmp->data);
}

struct resolve *
resolve_from_config(struct config *cfg, const char **error_r)
{
	static const char *const names[] = { "mydestination",
	    "relay_domains", "transport_maps", "relayhost", "local_transport",
	    "default_transport", "relay_transport" };
	char *v[7];
	struct resolve_params p;
	struct resolve *r = NULL;
	struct buf tmp;
	size_t i;

	buf_init(&tmp, 0);
	for (i = 0; i < 7; i++) {
		v[i] = expanded(cfg, names[i], &tmp);
		if (v[i] == NULL) {
			*error_r = err_fmt("cannot expand %s", names[i]);
			break;
		}
	}
	if (i == 7) {
		p.mydestination = v[0];
		p.relay_domains = v[1];
		p.transport_maps = v[2];
		p.relayhost = v[3];
		p.local_transport = v[4];
		p.default_transport = v[5];
		p.relay_transport = v[6];
		r = resolve_new(&p, error_r);
	}
	while (i-- > 0)
		free(v[i]);
	buf_release(&tmp);
	return r;
}

void
resolve_free(struct resolve *r)
{
	if (r == NULL)
		return;
	strlist_release(&r->mydestination);
	strlist_release(&r->relay_domains);
	if (r->transport_maps != NULL)
		maps_close(r->transport_maps);
	free(r->relayhost);
	free(r->local_transport);
	free(r->default_transport);
	free(r->relay_transport);
	free(r);
}

/* Look KEY up in transport_maps: 1 found (*value_r), 0 not, -1 error. */
static int
tmap_lookup(struct resolve *r, const char *key, const char **value_r,
    const char **error_r)
{
	return maps_lookup(r->transport_maps, key, value_r, error_r);
}

/* transport_maps: address, domain, .parent..., "*". */
static int
tmap_search(struct resolve *r, const char *addr, const char *domain,
    const char **value_r, const char **error_r)
{
	int ret;

	if ((ret = tmap_lookup(r, addr, value_r, error_r)) != 0)
		return ret;
	if (domain[0] != '\0') {
		const char *d = domain;

		if ((ret = tmap_lookup(r, domain, value_r, error_r)) != 0)
			return ret;
		while ((d = strchr(d, '.')) != NULL) {
			if ((ret = tmap_lookup(r, d, value_r, error_r)) != 0)
				return ret;
			d++;
		}
	}
	return tmap_lookup(r, "*", value_r, error_r);
}

/* "5.1.1 text" -> dsn "5.1.1", text "text"; else DEF_DSN and all of S. */
static void
split_dsn(const char *s, const char *def_dsn, char cls,
    struct resolve_result *res)
{
	size_t n = 0;

	if (s[0] == cls && s[1] == '.') {
		n = 2 + strspn(s + 2, "0123456789");
		if (n > 2 && n < 6 && s[n] == '.') {
			size_t m = strspn(s + n + 1, "0123456789");

			if (m > 0 && m < 4 && (s[n + 1 + m] == ' ' ||
			    s[n + 1 + m] == '\0'))
				n += 1 + m;
			else
				n = 0;
		} else
			n = 0;
	}
	if (n > 0) {
		memcpy(res->dsn, s, n);
		res->dsn[n] = '\0';
		s += n;
		while (*s == ' ')
			s++;
	} else
		(void)str_copy(res->dsn, sizeof(res->dsn), def_dsn);
	if (str_copy(res->text, sizeof(res->text), s) < 0) {
		/* Cut at a byte boundary: this text is only shown to people. */
		memcpy(res->text, s, sizeof(res->text) - 1);
		res->text[sizeof(res->text) - 1] = '\0';
	}
}

int
resolve_addr(struct resolve *r, const char *addr, struct resolve_result *res,
    const char **error_r)
{
	const char *at = strrchr(addr, '@');
	char domain[256];
	char t[64], n[256];
	const char *value, *class_transport;
	bool transport_changed = false;
	int ret;

	memset(res, 0, sizeof(*res));
	res->kind = RESOLVE_DELIVER;
	if (str_copy(domain, sizeof(domain), at != NULL ? at + 1 : "") < 0) {
		*error_r = err_fmt("domain too long in <%s>", addr);
		return -1;
	}
	str_lower(domain);
	/* A trailing dot names the same domain. */
	if (domain[0] != '\0' && domain[strlen(domain) - 1] == '.')
		domain[strlen(domain) - 1] = '\0';

	/* Step 1: the address class. */
	if (at == NULL || domain[0] == '\0' ||
	    strlist_find(&r->mydestination, domain) >= 0) {
		res->local = 1;
		class_transport = r->local_transport;
	} else if (strlist_find(&r->relay_domains, domain) >= 0)
		class_transport = r->relay_transport;
	else
		class_transport = r->default_transport;
	if (split_transport(class_transport, res->transport,
	    sizeof(res->transport), res->nexthop, sizeof(res->nexthop),
	    error_r) < 0)
		return -1;
	if (!res->local && res->nexthop[0] == '\0') {
		const char *hop = class_transport == r->default_transport &&
		    r->relayhost[0] != '\0' ? r->relayhost : domain;

		if (str_copy(res->nexthop, sizeof(res->nexthop), hop) < 0) {
			*error_r = err_fmt("next hop too long: %s", hop);
			return -1;
		}
	}

	/* Step 2: transport_maps overrides. */
	if (r->transport_maps != NULL) {
		char key[1024];

		if (str_copy(key, sizeof(key), addr) < 0) {
			*error_r = err_fmt("address too long for a lookup");
			return -1;
		}
		str_lower(key);
		ret = tmap_search(r, key, domain, &value, error_r);
		if (ret < 0)
			return -1;
		if (ret > 0) {
			if (split_transport(value, t, sizeof(t), n, sizeof(n),
			    error_r) < 0)
				return -1;
			if (t[0] != '\0' && strcmp(t, res->transport) != 0) {
				transport_changed = true;
				memcpy(res->transport, t, sizeof(t));
			}
			if (n[0] != '\0' || strcmp(t, "error") == 0 ||
			    strcmp(t, "retry") == 0)
				/* For error/retry the "next hop" is the text. */
				memcpy(res->nexthop, n, sizeof(n));
			else if (transport_changed) {
				char lt[64], ln[256];

				/*
				 * Into the local transport: its own next hop
				 * ($myhostname); out of it: the domain, as
				 * $myhostname is no next hop elsewhere.
				 */
				(void)split_transport(r->local_transport, lt,
				    sizeof(lt), ln, sizeof(ln), error_r);
				(void)str_copy(res->nexthop,
				    sizeof(res->nexthop), strcmp(lt,
				    res->transport) == 0 ? ln : domain);
			}
		}
	}

	if (strcmp(res->transport, "error") == 0) {
		res->kind = RESOLVE_BOUNCE;
		split_dsn(res->nexthop[0] != '\0' ? res->nexthop :
		    "user unknown", "5.0.0", '5', res);
	} else if (strcmp(res->transport, "retry") == 0) {
		res->kind = RESOLVE_DEFER;
		split_dsn(res->nexthop[0] != '\0' ? res->nexthop :
		    "delivery temporarily suspended", "4.0.0", '4', res);
	}
	return 0;
}
