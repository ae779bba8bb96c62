/*
 * backoff - when qmgr tries a deferred message again, and when it gives
 * up (docs/qmgr.md, "Retries").
 *
 * The wait after a failed attempt is the message's age (so the waits
 * roughly double from attempt to attempt), kept between
 * minimal_backoff_time and maximal_backoff_time.  A message older than its
 * lifetime (maximal_queue_lifetime; bounce_queue_lifetime for a message
 * from the null sender) bounces its deferred recipients.
 *
 * Pure arithmetic on times; nothing here reads files or the clock.
 */
#ifndef ULAK_BACKOFF_H
#define ULAK_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/*
 * The time of the next attempt of a message that arrived at ARRIVAL and
 * failed at NOW: NOW + its age, the age kept in [MIN_BACKOFF, MAX_BACKOFF]
 * (MAX_BACKOFF below MIN_BACKOFF counts as MIN_BACKOFF; an arrival in the
 * future counts as age 0).  Never before NOW + 1.
 */
time_t backoff_next(time_t now, time_t arrival, uint64_t min_backoff,
    uint64_t max_backoff);

/*
 * True when a message that arrived at ARRIVAL has been queued for at least
 * LIFETIME seconds at NOW (its deferred recipients must bounce).  A
 * LIFETIME of 0 means: after the first failed attempt (Postfix).
 */
bool backoff_expired(time_t now, time_t arrival, uint64_t lifetime);

/*
 * True when a delay warning is due: WARNING_TIME is non-zero and the
 * message is at least that old at NOW.
 */
bool backoff_warning_due(time_t now, time_t arrival, uint64_t warning_time);

#endif
