/* conn: one client's CurveZMQ DEALER connection to rxd, sending the same
 * request bytes again until a reply naming the request arrives.
 *
 * Unlike rxc_call, it keeps the exact frame it was given (so every resend,
 * and the checker's deliberate re-send, carries the same bytes), counts the
 * copies it sent, and hands replies to earlier requests to the caller
 * instead of dropping them.  One conn_t per thread. */
#ifndef CONN_H
#define CONN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "rx.pb-c.h"
#include "rx_crypto.h"
#include "rx_types.h"

/* Where the clients reach the broker (rx-crash --failover): the endpoint
 * moves to the survivor's at each failover, as a virtual IP would.  The
 * controller changes it under mu, then sets node; a conn that follows it
 * sees node change and connects to the new endpoint. */
typedef struct {
	pthread_mutex_t mu;
	int node;               /* which rxd serves: 0 the first, n the survivor of failover n */
	char endpoint[256];     /* under mu */
	uint8_t server_key[32]; /* under mu */
} conn_route_t;

typedef struct {
	void *sock;
	int resend_ms;
	int give_up_ms;
	const int *abort; /* give up at once when *abort becomes non-zero (may be NULL) */
	/* Set by conn_follow: the route to follow, and what a new socket needs. */
	conn_route_t *route;
	int node; /* the node sock is connected to: the one that answered the last reply */
	void *zctx;
	rx_curve_t curve;
} conn_t;

/* A reply naming another request id (a late reply to an earlier request). */
typedef void (*conn_other_fn)(void *arg, const uint8_t *reply, size_t len);

/* Connect to endpoint with the institution's curve key pair and the broker's
 * curve public key.  0 on success. */
int conn_open(conn_t *c, void *zctx, const char *endpoint, const rx_curve_t *curve,
	      const uint8_t server_key[32], int resend_ms, int give_up_ms)
	__attribute__((warn_unused_result));
void conn_close(conn_t *c);
/* Follow route (borrowed for c's life): from now on, when route->node
 * changes, conn_exchange drops its socket (and whatever the old node sent
 * to it that was not read yet), connects to the new endpoint and sends the
 * request in hand there at once, the same bytes.  zctx and curve as for
 * conn_open.  0 on success. */
int conn_follow(conn_t *c, conn_route_t *route, void *zctx, const rx_curve_t *curve)
	__attribute__((warn_unused_result));

/* Send ["", frame] whenever the connection can take it, again every
 * resend_ms without a reply, until a reply whose request_id is rid (or empty:
 * a framing refusal) arrives.  On 0, *reply is a heap buffer the caller
 * frees, and c->node is the node that sent it.  -1 when give_up_ms passed (or *abort was set): the outcome is
 * unknown.  *sends: copies sent. */
int conn_exchange(conn_t *c, const uint8_t *frame, size_t len, const uint8_t rid[RX_REQUEST_ID_LEN],
		  uint8_t **reply, size_t *reply_len, int *sends, conn_other_fn other, void *arg);

/* The signed request frame for call by kp, as rxc_frame makes it: doc is
 * NULL, or a SUBMIT's Prescription / a DISPENSE's DispenseRecord, unsigned,
 * which kp's one signature covers bound to the call (protocol v2).  Ed25519
 * is deterministic, so the same call and doc always make the same bytes.
 * On 0, *frame is a heap buffer the caller frees. */
int conn_frame(const rx_keypair_t *kp, const Rx__Call *call, const ProtobufCMessage *doc,
	       uint8_t **frame, size_t *len) __attribute__((warn_unused_result));

#endif
