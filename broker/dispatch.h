/* dispatch: one request frame in, one reply frame out.
 *
 * The single request path of rxd: decode (sizes capped before unpacking),
 * verify every signature over the exact bytes received, check content,
 * apply to the store, and build the reply with a receipt signed by the
 * broker's key.  No sockets here, so a fuzzer or a test can drive it. */
#ifndef DISPATCH_H
#define DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "rx_crypto.h"
#include "rx_err.h"
#include "store.h"

typedef struct {
	store_t *store;          /* borrowed */
	const rx_keypair_t *key; /* borrowed: the broker's receipt key */
} dispatch_t;

/* What happened, for the log line: never patient data. */
typedef struct {
	int op;                       /* 0 if the request did not decode */
	rx_err_t status;
	char request_id[2 * RX_REQUEST_ID_LEN + 1]; /* hex, "" if none */
	char id[RX_ID_LEN + 1];       /* prescription id, "" if none */
	const char *why;              /* static reason on refusal */
	int replayed;                 /* a retry answered from the store (durable) */
	int batch_replay;             /* a retry of a request earlier in the open batch:
				       * its reply is durable only with the batch */
	int audit_lost;               /* a read answered whose audit entry the disk refused */
	/* For the broker, not the log line: notices the request queued, to push
	 * to watching pharmacies once committed; WATCH: the pharmacy watching. */
	store_notice_t notices[2];
	size_t nnotices;
	char watcher[RX_INSTITUTION_MAX + 1];
} dispatch_log_t;

/* Handle one request that arrived on a connection authenticated as
 * institution peer (the ZAP user id; NULL if none, which every request
 * needing a caller then fails).  On RX_OK *reply holds the reply frame (the
 * caller owns it, store_buf_free) whatever the request's outcome, which
 * log->status gives.  RX_SYSTEM only if memory ran out and no reply could
 * be built. */
rx_err_t dispatch_request(const dispatch_t *d, const char *peer, const uint8_t *frame, size_t len,
			  int64_t now, store_buf_t *reply, dispatch_log_t *log) RX_MUST_CHECK;

/* The frame pushing notice n to its pharmacy: a Reply with no request id
 * whose notice field is the serialized rx.Notice, signed by the broker's
 * key.  The caller owns *frame (store_buf_free). */
rx_err_t dispatch_notice_frame(const dispatch_t *d, const store_notice_t *n,
			       store_buf_t *frame) RX_MUST_CHECK;

/* A refusal reply frame with no receipt (also used for bad framing). */
rx_err_t dispatch_refusal(const uint8_t *request_id, size_t rid_len, rx_err_t status,
			  const char *why, store_buf_t *reply) RX_MUST_CHECK;

#endif
