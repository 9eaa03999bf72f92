/* zap: who may connect to the client endpoint (ZeroMQ RFC 27, ZAP).
 *
 * libzmq asks, for every CURVE handshake on a socket with a ZAP domain,
 * whether to admit the client's public key.  Only a registered, unrevoked
 * institution's key is admitted, and the institution's code becomes the
 * connection's User-Id, which every request is checked against.  Anything
 * else is refused and the handshake fails: unknown key or not CURVE (400),
 * a revoked institution (400), a malformed ZAP request (500), the registry
 * unreadable (300, temporary).  Each answer is counted in the metrics and
 * logged (zap=admit|refuse institution= reason=); the key never is. */
#ifndef ZAP_H
#define ZAP_H

#include "metrics.h"
#include "store.h"

/* Answer one ZAP request waiting on sock, the REP socket bound to
 * inproc://zeromq.zap.01 (nothing if none is waiting).  Reads the registry
 * from store; counts the outcome in m. */
void zap_serve(void *sock, store_t *store, metrics_t *m);

#endif
