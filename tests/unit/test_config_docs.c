/*
 * Keeps docs/parameters.md in step with the compiled-in parameter table:
 * every parameter must have its row, with its current default.  Fix a
 * failure with scripts/gen-parameters-doc.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "file.h"
#include "str.h"

/* The default cell as gen-parameters-doc.sh writes it. */
static void
default_cell(const struct config_param_def *d, struct buf *out)
{
	const char *s = d->def;

	if (config_param_is_computed(d)) {
		buf_append_str(out, "*computed*: ");
		s += strlen(CONFIG_DEF_COMPUTED);
	} else if (*s == '\0') {
		buf_append_str(out, "(empty)");
		return;
	} else
		buf_append_char(out, '`');
	for (; *s != '\0'; s++) {
		if (*s == '|')
			buf_append_char(out, '\\');
		buf_append_char(out, *s);
	}
	if (!config_param_is_computed(d))
		buf_append_char(out, '`');
}

/*
 * Append to MISSING the name of every parameter of DEFS[0..N) whose row
 * (with its default) is not in the page TEXT.
 */
static void
docs_missing(const char *text, const struct config_param_def *defs, size_t n,
    struct strlist *missing)
{
	struct buf row, cell;

	buf_init(&row, 0);
	buf_init(&cell, 0);
	for (size_t i = 0; i < n; i++) {
		const char *p, *eol;
		bool ok = false;

		buf_reset(&row);
		buf_printf(&row, "\n| `%s` | ", defs[i].name);
		buf_reset(&cell);
		default_cell(&defs[i], &cell);
		p = strstr(text, row.data);
		if (p != NULL) {
			p++;
			eol = strchr(p, '\n');
			if (eol == NULL)
				eol = p + strlen(p);
			/* The default must be in that row. */
			for (const char *q = p; (q = strstr(q, cell.data)) !=
			    NULL && q < eol; q++)
				if (q[-1] == ' ' && q[cell.len] == ' ') {
					ok = true;
					break;
				}
		}
		if (!ok)
			strlist_add(missing, defs[i].name);
	}
	buf_release(&row);
	buf_release(&cell);
}

static char *
read_page(void)
{
	const char *top = getenv("ULAK_SOURCE_DIR");
	struct buf path, text;
	const char *error;
	char *s;

	buf_init(&path, 0);
	buf_init(&text, 0);
	buf_printf(&path, "%s/docs/parameters.md",
	    top != NULL && *top != '\0' ? top : ".");
	if (file_read_all(path.data, &text, 0, &error) < 0)
		fail_msg("%s (run from the source root or set "
		    "ULAK_SOURCE_DIR)", error);
	buf_release(&path);
	s = buf_detach(&text, NULL);
	buf_release(&text);
	return s;
}

static void
test_every_parameter_documented(void **state)
{
	size_t n;
	const struct config_param_def *defs = config_param_defs(&n);
	char *text = read_page();
	struct strlist missing;

	strlist_init(&missing);
	docs_missing(text, defs, n, &missing);
	if (missing.n > 0)
		fail_msg("docs/parameters.md lacks %zu parameter(s) or has an "
		    "old default, first: %s (run scripts/gen-parameters-doc.sh)",
		    missing.n, missing.v[0]);
	strlist_release(&missing);
	free(text);
}

/* The check itself can fail: a page without a row or with an old default. */
static void
test_check_detects_gaps(void **state)
{
	static const struct config_param_def defs[] = {
		{ "alpha", CONFIG_TYPE_STR, "a|b", 0, "doc" },
		{ "beta", CONFIG_TYPE_INT, "5", 0, "doc" },
		{ "gamma", CONFIG_TYPE_STR, "", 0, "doc" },
		{ "delta", CONFIG_TYPE_STR, CONFIG_DEF_COMPUTED "magic", 0,
		    "doc" },
	};
	struct strlist missing;

	strlist_init(&missing);
	docs_missing("x\n| `alpha` | string | `a\\|b` | doc |\n"
	    "| `beta` | integer | `6` | doc |\n"
	    "| `gamma` | string | (empty) | doc |\n"
	    "| `delta` | string | *computed*: magic | doc |\n",
	    defs, 4, &missing);
	assert_int_equal(missing.n, 1);
	assert_string_equal(missing.v[0], "beta");
	strlist_release(&missing);
	strlist_init(&missing);
	docs_missing("x\n| `alphabet` | string | `a\\|b` | doc |\n", defs, 1,
	    &missing);
	assert_int_equal(missing.n, 1);
	strlist_release(&missing);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_parameter_documented),
		cmocka_unit_test(test_check_detects_gaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
