/*
 * bevpace - output accounting and pacing below TLS filters (bevpace.h).
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bevpace.h"

size_t
bev_unsent(struct bufferevent *bev)
{
	struct bufferevent *under = bufferevent_get_underlying(bev);
	size_t n = evbuffer_get_length(bufferevent_get_output(bev));

	if (under != NULL)
		n += evbuffer_get_length(bufferevent_get_output(under));
	return n;
}

void
bev_pace_below(struct bufferevent *bev, size_t low, size_t high)
{
	struct bufferevent *under = bufferevent_get_underlying(bev);

	if (under != NULL)
		bufferevent_setwatermark(under, EV_WRITE, low, high);
}
