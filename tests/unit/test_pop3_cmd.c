/* Unit tests for src/global/pop3_cmd (POP3 command lines, RETR/TOP encoding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "pop3_cmd.h"

static void
test_parse(void **state)
{
	static const struct {
		const char *line;
		int name;	/* -1: refused */
		int argc;
		const char *a0, *a1;
		uint32_t n0, n1;
		const char *error;
	} cases[] = {
		{ "USER demo", POP3_CMD_USER, 1, "demo", NULL, 0, 0, NULL },
		{ "user demo", POP3_CMD_USER, 1, "demo", NULL, 0, 0, NULL },
		{ "PASS two words ", POP3_CMD_PASS, 1, "two words ", NULL, 0,
		    0, NULL },
		{ "STAT", POP3_CMD_STAT, 0, NULL, NULL, 0, 0, NULL },
		{ "LIST", POP3_CMD_LIST, 0, NULL, NULL, 0, 0, NULL },
		{ "LIST 7", POP3_CMD_LIST, 1, "7", NULL, 7, 0, NULL },
		{ "uidl 4294967295", POP3_CMD_UIDL, 1, "4294967295", NULL,
		    4294967295u, 0, NULL },
		{ "RETR 1", POP3_CMD_RETR, 1, "1", NULL, 1, 0, NULL },
		{ "TOP 2 0", POP3_CMD_TOP, 2, "2", "0", 2, 0, NULL },
		{ "TOP 2 10", POP3_CMD_TOP, 2, "2", "10", 2, 10, NULL },
		{ "DELE 3", POP3_CMD_DELE, 1, "3", NULL, 3, 0, NULL },
		{ "AUTH", POP3_CMD_AUTH, 0, NULL, NULL, 0, 0, NULL },
		{ "AUTH PLAIN AGRlbW8AcHc=", POP3_CMD_AUTH, 2, "PLAIN",
		    "AGRlbW8AcHc=", 0, 0, NULL },
		{ "CAPA", POP3_CMD_CAPA, 0, NULL, NULL, 0, 0, NULL },
		{ "STLS", POP3_CMD_STLS, 0, NULL, NULL, 0, 0, NULL },
		{ "QUIT", POP3_CMD_QUIT, 0, NULL, NULL, 0, 0, NULL },
		{ "", -1, 0, NULL, NULL, 0, 0, "unknown command" },
		{ "XY", -1, 0, NULL, NULL, 0, 0, "unknown command" },
		{ "RETRIEVE 1", -1, 0, NULL, NULL, 0, 0, "unknown command" },
		{ "HELO x", -1, 0, NULL, NULL, 0, 0, "unknown command" },
		{ " STAT", -1, 0, NULL, NULL, 0, 0, "unknown command" },
		{ "STAT ", -1, 0, NULL, NULL, 0, 0,
		    "bad spacing in command line" },
		{ "LIST  1", -1, 0, NULL, NULL, 0, 0,
		    "bad spacing in command line" },
		{ "STAT 1", -1, 0, NULL, NULL, 0, 0,
		    "this command takes no argument" },
		{ "LIST 1 2", -1, 0, NULL, NULL, 0, 0, "too many arguments" },
		{ "RETR", -1, 0, NULL, NULL, 0, 0, "missing argument" },
		{ "TOP 1", -1, 0, NULL, NULL, 0, 0, "missing argument" },
		{ "USER", -1, 0, NULL, NULL, 0, 0, "missing argument" },
		{ "PASS", -1, 0, NULL, NULL, 0, 0, "PASS needs a password" },
		{ "PASS ", -1, 0, NULL, NULL, 0, 0, "PASS needs a password" },
		{ "RETR 0", -1, 0, NULL, NULL, 0, 0,
		    "invalid message number" },
		{ "RETR -1", -1, 0, NULL, NULL, 0, 0,
		    "invalid message number" },
		{ "RETR +1", -1, 0, NULL, NULL, 0, 0,
		    "invalid message number" },
		{ "RETR 01x", -1, 0, NULL, NULL, 0, 0,
		    "invalid message number" },
		{ "DELE 4294967296", -1, 0, NULL, NULL, 0, 0,
		    "invalid message number" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pop3_cmd c;
		const char *error = NULL;
		int rc = pop3_cmd_parse(cases[i].line, strlen(cases[i].line),
		    &c, &error);

		if (cases[i].name < 0) {
			assert_int_equal(rc, -1);
			assert_string_equal(error, cases[i].error);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(c.name, cases[i].name);
		assert_int_equal(c.argc, cases[i].argc);
		if (cases[i].a0 != NULL)
			assert_string_equal(c.arg[0], cases[i].a0);
		if (cases[i].a1 != NULL)
			assert_string_equal(c.arg[1], cases[i].a1);
		assert_int_equal(c.num[0], cases[i].n0);
		assert_int_equal(c.num[1], cases[i].n1);
	}
	assert_string_equal(pop3_cmd_keyword(POP3_CMD_TOP), "TOP");
}

static void
test_parse_limits(void **state)
{
	char line[POP3_LINE_MAX + 10];
	struct pop3_cmd c;
	const char *error;

	memset(line, 'a', sizeof(line));
	memcpy(line, "USER ", 5);
	assert_int_equal(pop3_cmd_parse(line, POP3_LINE_MAX, &c, &error), 0);
	assert_int_equal(strlen(c.arg[0]), POP3_LINE_MAX - 5);
	assert_int_equal(pop3_cmd_parse(line, POP3_LINE_MAX + 1, &c, &error),
	    -1);
	assert_string_equal(error, "line too long");
	assert_int_equal(pop3_cmd_parse("USER a\0b", 8, &c, &error), -1);
	assert_string_equal(error, "NUL in command line");
}

/* Encode IN (in pieces of STEP bytes) with TOP count LINES. */
static void
encode(const char *in, long lines, size_t step, struct buf *out)
{
	struct pop3_encode e;
	size_t len = strlen(in);

	pop3_encode_init(&e, lines);
	for (size_t i = 0; i < len; i += step)
		pop3_encode(&e, in + i, len - i < step ? len - i : step, out);
	pop3_encode_finish(&e, out);
}

static void
test_encode(void **state)
{
	static const struct {
		const char *in;
		long lines;
		const char *out;
	} cases[] = {
		{ "A: b\n\nbody\n", -1, "A: b\r\n\r\nbody\r\n.\r\n" },
		{ "A: b\r\n\r\nbody\r\n", -1, "A: b\r\n\r\nbody\r\n.\r\n" },
		{ "A: b\n\n.\n..x\n", -1, "A: b\r\n\r\n..\r\n...x\r\n.\r\n" },
		{ ".A: b\n\nno end", -1, "..A: b\r\n\r\nno end\r\n.\r\n" },
		{ "", -1, ".\r\n" },
		{ "A: b\n\nl1\nl2\nl3\n", 0, "A: b\r\n\r\n.\r\n" },
		{ "A: b\n\nl1\nl2\nl3\n", 2, "A: b\r\n\r\nl1\r\nl2\r\n.\r\n" },
		{ "A: b\n\nl1\nl2\nl3\n", 9,
		    "A: b\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n" },
		{ "A: b\r\n\r\nl1\r\nl2\r\n", 1, "A: b\r\n\r\nl1\r\n.\r\n" },
		{ "A: b\nC: d\n", 0, "A: b\r\nC: d\r\n.\r\n" },
		{ "x\ry\n", -1, "x\ry\r\n.\r\n" },
		{ "end\r", -1, "end\r\n.\r\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* Every split must give the same bytes. */
		for (size_t step = 1; step <= 7; step++) {
			struct buf out;

			buf_init(&out, 0);
			encode(cases[i].in, cases[i].lines, step, &out);
			assert_string_equal(out.data, cases[i].out);
			buf_release(&out);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
