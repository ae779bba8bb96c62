/*
 * sys_exits - what the exit status of a delivery command means, by
 * sysexits.h, as Postfix maps it: each EX_* code has an enhanced status
 * code (RFC 3463) and a text; a 4.x.x code means "try again later"
 * (EX_TEMPFAIL, EX_OSERR), a 5.x.x code means "bounce".
 */
#ifndef ULAK_SYS_EXITS_H
#define ULAK_SYS_EXITS_H

#include <stdbool.h>

struct sys_exits_detail {
	int status;		/* the exit status */
	const char *dsn;	/* "5.1.1" */
	const char *text;	/* "user unknown" */
};

/*
 * The meaning of exit status STATUS (1..255).  A status that is not an
 * EX_* code (e.g. 1) gives dsn "5.3.0", text "unknown mail system error"
 * (a hard error, as Postfix treats it).  Never NULL; static storage.
 */
const struct sys_exits_detail *sys_exits_detail(int status);
/* True when STATUS is one of the EX_* codes of sysexits.h (64..78). */
bool sys_exits_known(int status);
/* True when STATUS means a temporary failure (its dsn starts with '4'). */
bool sys_exits_soft(int status);

#endif
