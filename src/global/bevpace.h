/*
 * bevpace - output accounting and pacing for libevent bufferevents that
 * may sit on a TLS filter (bufferevent_openssl_filter_new: STARTTLS).
 *
 * A TLS filter encrypts everything written to it into the socket
 * bufferevent below at once.  So the filter's own output buffer is empty
 * almost at once, whatever the peer reads: a writer that paces itself on
 * it (a write callback at a low mark, "output full" checks) would queue
 * all it has in the layer below.  Used by imapd, pop3d, the smtp agent
 * and the mailuser relay.
 */
#ifndef ULAK_BEVPACE_H
#define ULAK_BEVPACE_H

#include <stddef.h>

struct bufferevent;

/*
 * Bytes written to BEV and not yet handed to the kernel: its output
 * buffer and, when BEV is a filter, that of the bufferevent below.
 */
size_t bev_unsent(struct bufferevent *bev);

/*
 * When BEV is a filter, give the bufferevent below it the write marks LOW
 * and HIGH: the filter then stops moving data down while HIGH bytes wait
 * there, its own output fills, and the writer above waits as it would on
 * a plain socket.  Nothing happens for a plain socket bufferevent.
 */
void bev_pace_below(struct bufferevent *bev, size_t low, size_t high);

#endif
