/*
 * err - per-thread ring of error texts; see err.h.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *
err_fmt(const char *fmt, ...)
{
	static _Thread_local char ring[ERR_RING][ERR_MAX];
	static _Thread_local unsigned next;
	char *s = ring[next++ % ERR_RING];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(s, ERR_MAX, fmt, ap) < 0)
		(void)snprintf(s, ERR_MAX, "(bad error format)");
	va_end(ap);
	return s;
}
