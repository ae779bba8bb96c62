/*
 * backoff - retry times of deferred mail; see backoff.h.
 */
#include "backoff.h"

/* Ages are capped so that time_t arithmetic cannot overflow. */
#define BACKOFF_CAP ((uint64_t)100 * 365 * 24 * 3600)

static uint64_t
age_of(time_t now, time_t arrival)
{
	if (arrival >= now)
		return 0;
	if ((uint64_t)(now - arrival) > BACKOFF_CAP)
		return BACKOFF_CAP;
	return (uint64_t)(now - arrival);
}

time_t
backoff_next(time_t now, time_t arrival, uint64_t min_backoff,
    uint64_t max_backoff)
{
	uint64_t delay = age_of(now, arrival);

	if (min_backoff > BACKOFF_CAP)
		min_backoff = BACKOFF_CAP;
	if (max_backoff > BACKOFF_CAP)
		max_backoff = BACKOFF_CAP;
	if (max_backoff < min_backoff)
		max_backoff = min_backoff;
	if (delay > max_backoff)
		delay = max_backoff;
	if (delay < min_backoff)
		delay = min_backoff;
	if (delay < 1)
		delay = 1;
	return now + (time_t)delay;
}

bool
backoff_expired(time_t now, time_t arrival, uint64_t lifetime)
{
	return age_of(now, arrival) >= lifetime;
}

bool
backoff_warning_due(time_t now, time_t arrival, uint64_t warning_time)
{
	return warning_time > 0 && age_of(now, arrival) >= warning_time;
}
