/*
 * queue_id - queue IDs: time-sortable, unique among live queue files, safe
 * as file names; see queue_id.h and docs/queue-format.md.
 *
 * queue_id_valid distrusts its input: it checks names read from queue
 * folders and typed by administrators (ulak queue delete ID).
 */
#include "queue_id.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/time.h>

/* Crockford's base 32: digits, then letters without I L O U; ASCII order. */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int
digit_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(alphabet, c);
	return p == NULL ? -1 : (int)(p - alphabet);
}

void
queue_id_make(char id[QUEUE_ID_SIZE], uint64_t usec, uint64_t uniq)
{
	char tmp[16];
	size_t n = 0, o = 0;

	/* 11 digits hold 55 bits: microseconds until the year 3111. */
	for (int i = QUEUE_ID_TIME_LEN - 1; i >= 0; i--) {
		id[i] = alphabet[usec & 31];
		usec >>= 5;
	}
	o = QUEUE_ID_TIME_LEN;
	do {
		tmp[n++] = alphabet[uniq & 31];
		uniq >>= 5;
	} while (uniq != 0);
	while (n > 0)
		id[o++] = tmp[--n];
	id[o] = '\0';
}

void
queue_id_new(char id[QUEUE_ID_SIZE], uint64_t uniq)
{
	static _Atomic uint64_t last;
	struct timeval tv;
	uint64_t now, prev;

	gettimeofday(&tv, NULL);
	now = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
	prev = atomic_load(&last);
	/* Strictly increasing within the process, even if the clock steps back. */
	do {
		if (now <= prev)
			now = prev + 1;
	} while (!atomic_compare_exchange_weak(&last, &prev, now));
	queue_id_make(id, now, uniq);
}

bool
queue_id_valid(const char *id)
{
	size_t n = strnlen(id, QUEUE_ID_MAX + 1);

	if (n <= QUEUE_ID_TIME_LEN || n > QUEUE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (digit_value(id[i]) < 0)
			return false;
	/* The uniquifier has no leading zeros (queue_id_make never writes them). */
	if (id[QUEUE_ID_TIME_LEN] == '0' && n > QUEUE_ID_TIME_LEN + 1)
		return false;
	/* 13 digits hold 65 bits; a 64-bit number starts with at most F. */
	if (n == QUEUE_ID_MAX && digit_value(id[QUEUE_ID_TIME_LEN]) > 15)
		return false;
	return true;
}

int
queue_id_time(const char *id, uint64_t *usec_r)
{
	uint64_t v = 0;

	if (!queue_id_valid(id))
		return -1;
	for (int i = 0; i < QUEUE_ID_TIME_LEN; i++)
		v = v << 5 | (uint64_t)digit_value(id[i]);
	*usec_r = v;
	return 0;
}
