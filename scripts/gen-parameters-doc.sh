#!/bin/sh
# Writes docs/parameters.md from the compiled-in parameter table
# (src/global/config_params.c): compiles that file with a small printer
# and runs it.  Usage: scripts/gen-parameters-doc.sh [OUTPUT]
# (default docs/parameters.md).  tests/unit/test_config_docs.c fails when
# the committed page lacks a parameter of the table.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/docs/parameters.md}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/gen.c" <<'CEOF'
#include <stdio.h>
#include <string.h>
#include "config.h"

/* Markdown table cell text: '|' must be escaped. */
static void
cell(const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			putchar('\\');
		putchar(*s);
	}
}

int
main(void)
{
	static const char *const types[] = { "string", "integer", "yes/no",
	    "time", "size", "list" };
	size_t n;
	const struct config_param_def *d = config_param_defs(&n);

	fputs(
"# main.cf parameters\n"
"\n"
"This page lists every parameter ulak knows, with its type, its compiled-in\n"
"default and its meaning.  It is generated from the table in\n"
"`src/global/config_params.c` by `scripts/gen-parameters-doc.sh`; a unit test\n"
"(`tests/unit/test_config_docs.c`) fails when a parameter is missing here.\n"
"`ulak conf -d` prints the defaults, `ulak conf -n` what main.cf changes.\n"
"\n"
"## Syntax of main.cf\n"
"\n"
"- `name = value`, one per line; white space around `=` and at the ends is\n"
"  ignored.  A name holds letters, digits and `_` only.\n"
"- A line whose first non-blank character is `#` is a comment.  A `#` after\n"
"  text is part of the value.  Blank lines are ignored.\n"
"- A line that starts with white space continues the previous value (comment\n"
"  and blank lines in between are skipped); the pieces are joined with one\n"
"  space.\n"
"- `$name`, `${name}` and `$(name)` are replaced by the value of `name` when\n"
"  the value is used (lazily), so the order of lines does not matter.\n"
"  `${name?text}` gives `text` when `name` is not empty, `${name:text}` when it\n"
"  is empty (`text` may contain further `$` references); as in Postfix 3,\n"
"  `text` may be written `{text}`, and `${name?{text1}:{text2}}` chooses\n"
"  between two texts.  `$$` is a literal `$`.\n"
"  An unknown name expands to nothing.  A loop (`a = $b`, `b = $a`), an\n"
"  unterminated `${`, a `$` that is not followed by a name, or a result larger\n"
"  than 1 MiB is an error that `ulak check` reports with file and line.\n"
"- A name that is set twice: the later line wins (with a warning).  A name\n"
"  ulak does not know is kept (other values may use it as `$name`); when\n"
"  nothing uses it, a warning names the file and line.\n"
"- Errors name the place: `/etc/ulak/main.cf, line 12: ...`.\n"
"\n"
"## Types\n"
"\n"
"- **string**: any text.\n"
"- **integer**: a decimal number without sign.\n"
"- **yes/no**: `yes` or `no` (also `true`/`false`, `on`/`off`, `1`/`0`).\n"
"- **time**: a number with an optional unit `s`, `m`, `h`, `d` or `w`; without\n"
"  a unit the parameter's own unit applies: seconds unless the type column\n"
"  says otherwise, e.g. \"time (d)\".\n"
"- **size**: bytes, optionally with `k`, `m` or `g` (1024-based; Postfix takes\n"
"  plain numbers only).\n"
"- **list**: items separated by commas and/or white space; `{ ... }` keeps\n"
"  commas and spaces inside one item, as in `inline:{ a=b, c=d }`.\n"
"\n"
"## Where ulak differs from Postfix\n"
"\n"
"Names and defaults are Postfix's wherever Postfix has the parameter, so a\n"
"Postfix tutorial applies.  **[ulak]** marks a parameter Postfix does not\n"
"have; **[ulak meaning]** one whose meaning differs.  A few Postfix\n"
"parameters are accepted and ignored so that an existing main.cf loads\n"
"without warnings (`compatibility_level`, `biff`, `readme_directory`, the TLS\n"
"session caches).  A default written *computed* is worked out at run time:\n"
"`ulak conf -d` shows the value.  `mynetworks` is loopback only by default\n"
"(`127.0.0.0/8 [::1]/128`), a stricter reading of Postfix's\n"
"`mynetworks_style = host`: ulak never trusts other machines unless told to.\n"
"\n"
"## Parameters\n"
"\n"
"| Parameter | Type | Default | Meaning |\n"
"| --- | --- | --- | --- |\n", stdout);
	for (size_t i = 0; i < n; i++) {
		printf("| `%s` | %s", d[i].name, types[d[i].type]);
		if (d[i].type == CONFIG_TYPE_TIME && d[i].time_unit != 's')
			printf(" (%c)", d[i].time_unit);
		fputs(" | ", stdout);
		if (config_param_is_computed(&d[i])) {
			fputs("*computed*: ", stdout);
			cell(d[i].def + strlen(CONFIG_DEF_COMPUTED));
		} else if (d[i].def[0] == '\0')
			fputs("(empty)", stdout);
		else {
			putchar('`');
			cell(d[i].def);
			putchar('`');
		}
		fputs(" | ", stdout);
		if (strncmp(d[i].doc, "[ulak meaning] ", 15) == 0) {
			fputs("**[ulak meaning]** ", stdout);
			cell(d[i].doc + 15);
		} else if (strncmp(d[i].doc, "[ulak] ", 7) == 0) {
			fputs("**[ulak]** ", stdout);
			cell(d[i].doc + 7);
		} else
			cell(d[i].doc);
		fputs(" |\n", stdout);
	}
	return 0;
}
CEOF
${CC:-cc} -std=c17 -Wall -Werror -I"$top/src/lib" -I"$top/src/global" \
	-o "$tmp/gen" "$tmp/gen.c" "$top/src/global/config_params.c"
"$tmp/gen" >"$tmp/out.md"
mv "$tmp/out.md" "$out"
