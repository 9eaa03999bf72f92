/* rxclient_int: the client library's hooks for tests/ and bench/ only, not
 * part of the public API (rxclient.h): frames sent as given, bypassing the
 * checks a call makes, and several requests in flight on one connection. */
#ifndef RXCLIENT_INT_H
#define RXCLIENT_INT_H

#include "rxclient.h"

/* Send raw frames and wait for one reply frame (tests of hostile input).
 * On RX_OK *reply is a heap buffer the caller frees.  RX_UNREACHABLE on
 * timeout. */
rx_err_t rxc_raw(rxc_t *c, const void *const *frames, const size_t *lens, int n,
		 uint8_t **reply, size_t *reply_len) RX_MUST_CHECK;

/* Pipelining (rx-bench): several requests in flight on one connection.
 * rxc_send_frame queues [empty][frame] without waiting for a reply (RX_OK,
 * or RX_UNREACHABLE if it could not be queued within the timeout);
 * rxc_recv_frame takes the next reply, whichever request it answers, waiting
 * at most timeout_ms (RX_UNREACHABLE if none came); on RX_OK *reply is heap
 * memory the caller frees.  rxc_socket is the connection's ZeroMQ socket,
 * borrowed, only to zmq_poll several connections at once. */
rx_err_t rxc_send_frame(rxc_t *c, const uint8_t *frame, size_t len) RX_MUST_CHECK;
rx_err_t rxc_recv_frame(rxc_t *c, int timeout_ms, uint8_t **reply, size_t *reply_len) RX_MUST_CHECK;
void *rxc_socket(rxc_t *c);

#endif
