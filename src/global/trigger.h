/*
 * trigger - a one-way request to a daemon's local socket: connect,
 * send "request=NAME", close.  Used for qmgr wake-ups (cleanup, master,
 * the `ulak queue` command) and by a draining qmgr to hand a request on
 * to its successor.  Best effort: the receiver rescans its folders
 * anyway, so a lost trigger only costs latency.
 */
#ifndef ULAK_TRIGGER_H
#define ULAK_TRIGGER_H

/*
 * Send request=REQUEST to the stream socket at PATH without waiting for
 * an answer.  Never blocks: the socket is non-blocking and the request
 * fits any socket buffer.  Returns 0 when the request was handed to the
 * kernel, -1 (errno set) otherwise.
 */
int trigger_send(const char *path, const char *request);

#endif
