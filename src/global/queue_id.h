/*
 * queue_id - names of queue files (docs/queue-format.md, "Queue IDs").
 *
 * A queue ID is the arrival time in microseconds since the epoch, written
 * as QUEUE_ID_TIME_LEN base-32 digits (fixed width, so IDs sort by time
 * with strcmp), followed by 1..13 base-32 digits of a number that no other
 * live queue file can share: the inode number of the queue file.  The
 * alphabet is 0-9 and upper-case letters without I, L, O and U, in ASCII
 * order: an ID is a safe file name on every file system.
 */
#ifndef ULAK_QUEUE_ID_H
#define ULAK_QUEUE_ID_H

#include <stdbool.h>
#include <stdint.h>

#define QUEUE_ID_TIME_LEN 11
/* Longest ID, without the NUL. */
#define QUEUE_ID_MAX (QUEUE_ID_TIME_LEN + 13)
/* Size of a buffer that holds any ID with its NUL. */
#define QUEUE_ID_SIZE (QUEUE_ID_MAX + 1)

/*
 * Make the ID for USEC (microseconds since the epoch) and UNIQ into
 * ID[QUEUE_ID_SIZE].  Cannot fail.
 */
void queue_id_make(char id[QUEUE_ID_SIZE], uint64_t usec, uint64_t uniq);
/*
 * Make a new ID from the current time and UNIQ, a number no other live
 * queue file has (its inode number).  Within one process the time part
 * strictly increases from call to call (thread-safe), so two calls never
 * return the same ID even for the same UNIQ.  Cannot fail.
 */
void queue_id_new(char id[QUEUE_ID_SIZE], uint64_t uniq);
/* True when ID is a well-formed queue ID (only such names are queue files). */
bool queue_id_valid(const char *id);
/* The time part of a valid ID, in microseconds since the epoch. -1 when ID is not valid. */
int queue_id_time(const char *id, uint64_t *usec_r);

#endif
