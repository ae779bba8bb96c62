/*
 * sys_exits - the sysexits.h table; see sys_exits.h.  Pure data.
 */
#include "sys_exits.h"

#include <stddef.h>

static const struct sys_exits_detail table[] = {
	{ 64, "5.3.0", "command line usage error" },	/* EX_USAGE */
	{ 65, "5.6.0", "data format error" },		/* EX_DATAERR */
	{ 66, "5.3.0", "cannot open input" },		/* EX_NOINPUT */
	{ 67, "5.1.1", "user unknown" },		/* EX_NOUSER */
	{ 68, "5.1.2", "host name unknown" },		/* EX_NOHOST */
	{ 69, "5.3.0", "service unavailable" },		/* EX_UNAVAILABLE */
	{ 70, "5.3.0", "internal software error" },	/* EX_SOFTWARE */
	{ 71, "4.3.0", "system resource problem" },	/* EX_OSERR */
	{ 72, "5.3.0", "critical OS file missing" },	/* EX_OSFILE */
	{ 73, "5.2.0", "can't create user output file" },	/* EX_CANTCREAT */
	{ 74, "5.3.0", "input/output error" },		/* EX_IOERR */
	{ 75, "4.3.0", "temporary failure" },		/* EX_TEMPFAIL */
	{ 76, "5.5.0", "remote error in protocol" },	/* EX_PROTOCOL */
	{ 77, "5.7.0", "permission denied" },		/* EX_NOPERM */
	{ 78, "5.3.5", "local configuration error" },	/* EX_CONFIG */
};

static const struct sys_exits_detail unknown = {
	0, "5.3.0", "unknown mail system error"
};

bool
sys_exits_known(int status)
{
	return status >= 64 && status <= 78;
}

const struct sys_exits_detail *
sys_exits_detail(int status)
{
	if (!sys_exits_known(status))
		return &unknown;
	return &table[status - 64];
}

bool
sys_exits_soft(int status)
{
	return sys_exits_detail(status)->dsn[0] == '4';
}
