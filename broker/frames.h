/* frames: reading and answering multipart ZeroMQ messages on rxd's sockets.
 *
 * Nothing here blocks: every receive and send is ZMQ_DONTWAIT, so a peer
 * that does not read can never hold the store thread.  What cannot be sent
 * at once is dropped (the client resends). */
#ifndef FRAMES_H
#define FRAMES_H

#include <zmq.h>

#include "store.h"

/* Parts rxd keeps of one message (a request is [identity][empty][body]). */
#define FRAMES_MAX 4

/* Receive every part of one message waiting on sock; keep at most max parts
 * in parts[], each initialised and the caller's (frames_close).  Returns the
 * number of parts received (more than max means the rest were dropped; 0
 * if none was waiting). */
int frames_recv(void *sock, zmq_msg_t *parts, int max);
/* Close the parts frames_recv kept of its n (given the same max). */
void frames_close(zmq_msg_t *parts, int n, int max);
/* Send [identity][empty][body] on a ROUTER socket; identity and body stay
 * the caller's. */
void frames_send_reply(void *sock, zmq_msg_t *identity, const store_buf_t *body);

#endif
