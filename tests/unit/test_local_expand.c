/* Unit tests for src/local/local_expand: aliases, .forward, extensions,
 * loops and duplicates, with fake tables and files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../../src/local/local_expand.c"

struct kv {
	const char *k, *v;
};

/* The fake world: aliases, passwd lines, files. */
static const struct kv *fake_aliases, *fake_files;
static bool fail_lookups;
static const struct local_user *last_read_as;	/* of /etc/inc */

static const struct kv users[] = {
	{ "bob", "bob:x:1001:1001::/home/bob:/bin/sh" },
	{ "alice", "alice:x:1002:1002::/home/alice:/bin/bash" },
	{ "root", "root:x:0:0::/root:/bin/sh" },
	{ NULL, NULL },
};

static const char *
find(const struct kv *t, const char *k)
{
	for (; t != NULL && t->k != NULL; t++)
		if (strcmp(t->k, k) == 0)
			return t->v;
	return NULL;
}

static int
f_alias(void *ctx, const char *name, char **value_r, const char **error_r)
{
	const char *v;

	if (fail_lookups) {
		*error_r = "table is broken";
		return -1;
	}
	v = find(fake_aliases, name);
	if (v == NULL)
		return 0;
	*value_r = xstrdup(v);
	return 1;
}

static int
f_user(void *ctx, const char *name, struct local_user *u,
    const char **error_r)
{
	const char *v = find(users, name);

	if (v == NULL)
		return 0;
	return local_user_parse(v, u, error_r) < 0 ? -1 : 1;
}

static int
f_read(void *ctx, const struct local_user *as, const char *path,
    struct buf *out, const char **error_r)
{
	const char *v = find(fake_files, path);

	if (strcmp(path, "/etc/inc") == 0)
		last_read_as = as;
	if (v == NULL)
		return 0;
	if (strcmp(v, "EIO") == 0) {
		*error_r = "Input/output error";
		return -1;
	}
	(void)buf_append_str(out, v);
	return 1;
}

static bool
f_is_local(void *ctx, const char *domain)
{
	return str_casecmp(domain, "example.org") == 0 ||
	    str_casecmp(domain, "localhost") == 0;
}

static const struct local_expand_ops fops = {
	f_alias, f_user, f_read, f_is_local
};

static struct local_user nobody = { (char *)"nobody", 65534, 65534,
	(char *)"/nonexistent", (char *)"/bin/false" };

static struct local_expand_cfg fcfg;

static int
reset(void **state)
{
	memset(&fcfg, 0, sizeof(fcfg));
	fcfg.recipient_delimiter = "+";
	fcfg.owner_request_special = true;
	fcfg.allow_commands = LOCAL_SRC_ALIAS | LOCAL_SRC_FORWARD;
	fcfg.allow_files = LOCAL_SRC_ALIAS | LOCAL_SRC_FORWARD;
	fcfg.forward_path = "$home/.forward${recipient_delimiter}${extension}, "
	    "$home/.forward";
	fcfg.myorigin = "example.org";
	fcfg.default_privs = &nobody;
	fake_aliases = NULL;
	fake_files = NULL;
	fail_lookups = false;
	last_read_as = NULL;
	return 0;
}

/*
 * Expand RCPT and describe the result: "kind:target@address[sender]"
 * joined with " | ", then " => dsn reason" when it failed.
 */
static char *
run(const char *rcpt, const char *sender, const char *delivered)
{
	static const char *const kinds[] = { "mailbox", "command", "file",
		"remote" };
	struct local_expansion e;
	struct strlist dt;
	struct buf out;

	strlist_init(&dt);
	if (delivered != NULL)
		strlist_add(&dt, delivered);
	local_expansion_init(&e);
	local_expand(&fcfg, &fops, NULL, rcpt, sender, &dt, &e);
	buf_init(&out, 0);
	for (size_t i = 0; i < e.n; i++)
		(void)buf_printf(&out, "%s%s:%s@%s[%s]", i ? " | " : "",
		    kinds[e.v[i].kind], e.v[i].target, e.v[i].address,
		    e.v[i].sender);
	if (e.dsn[0])
		(void)buf_printf(&out, " => %s %s", e.dsn, e.reason);
	char *r = xstrdup(out.data);

	buf_release(&out);
	local_expansion_release(&e);
	strlist_release(&dt);
	return r;
}

static void
check(const char *rcpt, const char *sender, const char *delivered,
    const char *expect)
{
	char *got = run(rcpt, sender, delivered);

	if (strcmp(got, expect) != 0)
		fail_msg("%s:\n got    %s\n expect %s", rcpt, got, expect);
	free(got);
}

static void
test_user_and_extension(void **state)
{
	check("bob@example.org", "s@x", NULL,
	    "mailbox:bob@bob@example.org[s@x]");
	check("Bob+Tag@Example.ORG", "s@x", NULL,
	    "mailbox:bob@bob+tag@example.org[s@x]");
	check("nobody-such@example.org", "s@x", NULL,
	    " => 5.1.1 unknown user: \"nobody-such\"");
	fcfg.recipient_delimiter = "";
	check("bob+tag@example.org", "s@x", NULL,
	    " => 5.1.1 unknown user: \"bob+tag\"");
}

static void
test_split_extension(void **state)
{
	static const struct {
		const char *local, *delims, *user, *ext;
	} t[] = {
		{ "bob+x", "+", "bob", "x" },
		{ "bob+x+y", "+", "bob", "x+y" },
		{ "bob-x", "+-", "bob", "x" },
		{ "owner-list", "-", "owner-list", "" },
		{ "list-request", "-", "list-request", "" },
		{ "owner-list+x", "+-", "owner-list", "x" },
		{ "+x", "+", "+x", "" },
		{ "bob", "", "bob", "" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *u, *e, d;

		local_split_extension(t[i].local, t[i].delims, true, &u, &e,
		    &d);
		assert_string_equal(u, t[i].user);
		assert_string_equal(e, t[i].ext);
		free(u);
		free(e);
	}
}

static void
test_aliases_every_kind(void **state)
{
	static const struct kv al[] = {
		{ "team", "bob, alice@example.org, \"|/bin/prog -x\", "
		  "/var/log/mailcopy, friend@remote.example, :include:/etc/inc" },
		{ "postmaster", "root" },
		{ "root", "bob" },
		{ NULL, NULL },
	};
	static const struct kv files[] = {
		{ "/etc/inc", "# staff\nbob, other@remote.example\n" },
		{ NULL, NULL },
	};

	fake_aliases = al;
	fake_files = files;
	check("team@example.org", "s@x", NULL,
	    "mailbox:bob@bob@example.org[s@x] | "
	    "mailbox:alice@alice@example.org[s@x] | "
	    "command:/bin/prog -x@team@example.org[s@x] | "
	    "file:/var/log/mailcopy@team@example.org[s@x] | "
	    "remote:friend@remote.example@team@example.org[s@x] | "
	    "remote:other@remote.example@team@example.org[s@x]");
	/* The include file was read as default_privs. */
	assert_ptr_equal(last_read_as, &nobody);
	check("postmaster@example.org", "s@x", NULL,
	    "mailbox:bob@bob@example.org[s@x]");
	/* The alias with its extension first, then without. */
	check("root+x@example.org", "s@x", NULL,
	    "mailbox:bob@bob@example.org[s@x]");
}

static void
test_alias_loops_and_duplicates(void **state)
{
	static const struct kv al[] = {
		{ "root", "root, bob" },
		{ "a", "b" },
		{ "b", "a" },
		{ "all", "x1, x2, bob" },
		{ "x1", "bob, alice" },
		{ "x2", "x1, alice, BOB@example.org" },
		{ "deep0", "deep1" }, { "deep1", "deep2" }, { "deep2", "deep3" },
		{ "deep3", "deep4" }, { "deep4", "deep5" }, { "deep5", "deep6" },
		{ "deep6", "deep7" }, { "deep7", "deep8" }, { "deep8", "deep9" },
		{ "deep9", "deep10" }, { "deep10", "deep11" },
		{ "deep11", "deep0" },
		{ "bs", "\\bob, bob" },
		{ NULL, NULL },
	};

	fake_aliases = al;
	check("root@example.org", "s@x", NULL,
	    "mailbox:root@root@example.org[s@x] | "
	    "mailbox:bob@bob@example.org[s@x]");
	check("a@example.org", "s@x", NULL,
	    " => 5.1.1 unknown user: \"a\"");
	check("all@example.org", "s@x", NULL,
	    "mailbox:bob@bob@example.org[s@x] | "
	    "mailbox:alice@alice@example.org[s@x]");
	check("deep0@example.org", "s@x", NULL,
	    " => 5.1.1 unknown user: \"deep0\"");
	check("bs@example.org", "s@x", NULL,
	    "mailbox:bob@bob@example.org[s@x]");
}

static void
test_owner_alias(void **state)
{
	static const struct kv al[] = {
		{ "list", "far@remote.example, bob" },
		{ "owner-list", "alice" },
		{ NULL, NULL },
	};

	fake_aliases = al;
	check("list@example.org", "s@x", NULL,
	    "remote:far@remote.example@list@example.org"
	    "[owner-list@example.org] | "
	    "mailbox:bob@bob@example.org[owner-list@example.org]");
	/* Never for the null sender. */
	check("list@example.org", "", NULL,
	    "remote:far@remote.example@list@example.org[] | "
	    "mailbox:bob@bob@example.org[]");
	fcfg.owner_request_special = false;
	check("list@example.org", "s@x", NULL,
	    "remote:far@remote.example@list@example.org[s@x] | "
	    "mailbox:bob@bob@example.org[s@x]");
}

static void
test_restrictions(void **state)
{
	static const struct kv al[] = {
		{ "prog", "|/bin/prog, bob" },
		{ "file", "/tmp/x" },
		{ "inc", ":include:/etc/inc" },
		{ NULL, NULL },
	};
	static const struct kv files[] = {
		{ "/etc/inc", "\"|/bin/evil\", /tmp/evil, bob" },
		{ NULL, NULL },
	};

	fake_aliases = al;
	fake_files = files;
	/* Commands and files in include files are not allowed by default. */
	check("inc@example.org", "s@x", NULL,
	    "mailbox:bob@bob@example.org[s@x] => 5.7.1 mail to command is "
	    "restricted (allow_mail_to_commands) for inc@example.org");
	fcfg.allow_commands = LOCAL_SRC_FORWARD;
	check("prog@example.org", "s@x", NULL,
	    "mailbox:bob@bob@example.org[s@x] => 5.7.1 mail to command is "
	    "restricted (allow_mail_to_commands) for prog@example.org");
	fcfg.allow_files = 0;
	check("file@example.org", "s@x", NULL,
	    " => 5.7.1 mail to file is restricted (allow_mail_to_files) for "
	    "file@example.org");
}

static void
test_forward(void **state)
{
	static const struct kv files[] = {
		{ "/home/bob/.forward", "\\bob\nbob@remote.example\n"
		  "\"|/usr/bin/procmail\"\n" },
		{ "/home/bob/.forward+lists", "/home/bob/lists\n" },
		{ "/root/.forward", "|/bin/rootprog\n" },
		{ "/home/alice/.forward", "EIO" },
		{ NULL, NULL },
	};
	struct local_expansion e;
	struct strlist dt;

	fake_files = files;
	check("bob@example.org", "s@x", NULL,
	    "mailbox:bob@bob@example.org[s@x] | "
	    "remote:bob@remote.example@bob@example.org[s@x] | "
	    "command:/usr/bin/procmail@bob@example.org[s@x]");
	check("bob+lists@example.org", "s@x", NULL,
	    "file:/home/bob/lists@bob+lists@example.org[s@x]");
	/* An unknown extension falls back to the plain .forward. */
	check("bob+other@example.org", "s@x", NULL,
	    "mailbox:bob@bob@example.org[s@x] | "
	    "remote:bob@remote.example@bob+other@example.org[s@x] | "
	    "command:/usr/bin/procmail@bob+other@example.org[s@x]");
	check("alice@example.org", "s@x", NULL,
	    " => 4.3.0 cannot read /home/alice/.forward: Input/output error");
	/* Commands from a .forward run as its user; root's as default_privs. */
	strlist_init(&dt);
	local_expansion_init(&e);
	local_expand(&fcfg, &fops, NULL, "bob@example.org", "s@x", &dt, &e);
	assert_int_equal(e.n, 3);
	assert_int_equal(e.v[2].user.uid, 1001);
	local_expansion_release(&e);
	local_expansion_init(&e);
	local_expand(&fcfg, &fops, NULL, "root@example.org", "s@x", &dt, &e);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.v[0].kind, LOCAL_DEST_COMMAND);
	assert_int_equal(e.v[0].user.uid, 65534);
	local_expansion_release(&e);
	strlist_release(&dt);
}

static void
test_delivered_to_loop(void **state)
{
	static const struct kv al[] = {
		{ "list", "bob" },
		{ NULL, NULL },
	};

	fake_aliases = al;
	check("bob@example.org", "s@x", "BOB@example.org",
	    " => 5.4.6 mail forwarding loop for bob@example.org");
	check("list@example.org", "s@x", "bob@example.org",
	    " => 5.4.6 mail forwarding loop for bob@example.org");
	check("bob@example.org", "s@x", "other@example.org",
	    "mailbox:bob@bob@example.org[s@x]");
}

static void
test_lookup_failure_defers(void **state)
{
	fail_lookups = true;
	check("bob@example.org", "s@x", NULL,
	    " => 4.3.0 alias_maps lookup of bob failed: table is broken");
}

static void
test_expand_path(void **state)
{
	const char *names[] = { "home", "user", "extension",
		"recipient_delimiter" };
	const char *with[] = { "/h", "bob", "x", "+" };
	const char *without[] = { "/h", "bob", "", "+" };
	char *p;

	p = local_expand_path("$home/.forward${recipient_delimiter}"
	    "${extension}", names, with, 4);
	assert_string_equal(p, "/h/.forward+x");
	free(p);
	assert_null(local_expand_path("$home/.forward${recipient_delimiter}"
	    "${extension}", names, without, 4));
	p = local_expand_path("$home/.f${extension?+}${extension:-none}$$",
	    names, without, 4);
	assert_string_equal(p, "/h/.f-none$");
	free(p);
	assert_null(local_expand_path("$nosuch/x", names, with, 4));
	assert_null(local_expand_path("${home", names, with, 4));
}

static void
test_user_parse(void **state)
{
	struct local_user u;
	const char *error;

	memset(&u, 0, sizeof(u));
	assert_int_equal(local_user_parse("a:x:1:2:G:/h:", &u, &error), 0);
	assert_string_equal(u.name, "a");
	assert_int_equal(u.uid, 1);
	assert_int_equal(u.gid, 2);
	assert_string_equal(u.home, "/h");
	assert_string_equal(u.shell, "/bin/sh");
	local_user_release(&u);
	assert_int_equal(local_user_parse("a:x:1:2:G:/h", &u, &error), -1);
	assert_non_null(strstr(error, "fewer than 7"));
	assert_int_equal(local_user_parse("a:x:-1:2:G:/h:/s", &u, &error), -1);
	assert_non_null(strstr(error, "bad uid"));
	assert_int_equal(local_user_parse("a:x:1:2:G:h:/s", &u, &error), -1);
	assert_non_null(strstr(error, "absolute"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_user_and_extension, reset),
		cmocka_unit_test_setup(test_split_extension, reset),
		cmocka_unit_test_setup(test_aliases_every_kind, reset),
		cmocka_unit_test_setup(test_alias_loops_and_duplicates, reset),
		cmocka_unit_test_setup(test_owner_alias, reset),
		cmocka_unit_test_setup(test_restrictions, reset),
		cmocka_unit_test_setup(test_forward, reset),
		cmocka_unit_test_setup(test_delivered_to_loop, reset),
		cmocka_unit_test_setup(test_lookup_failure_defers, reset),
		cmocka_unit_test_setup(test_expand_path, reset),
		cmocka_unit_test_setup(test_user_parse, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
