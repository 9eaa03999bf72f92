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

#include "rx.pb-c.h"
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
	const char *why;              /* reason on refusal: static, or why_text */
	char why_text[160];           /* a reason naming an item (store_outcome_t) */
	int replayed;                 /* a retry answered from the store (durable) */
	int batch_replay;             /* a retry of a request earlier in the open batch:
				       * its reply is durable only with the batch */
	int audit_lost;               /* a read answered whose audit entry the disk refused */
	/* For the broker's group commit: the request was applied in the store
	 * (its reply, whatever it says, was evaluated against the open batch),
	 * and whether it is a plain read (STATUS or WATCH with no card or code),
	 * which may be evaluated again against committed state if the batch
	 * does not commit. */
	int applied;
	int plain_read;
	/* For the broker, not the log line: notices the request queued, to push
	 * to watching pharmacies once committed; WATCH: the pharmacy watching. */
	store_notice_t notices[2];
	size_t nnotices;
	char watcher[RX_INSTITUTION_MAX + 1];
} dispatch_log_t;

/* The pure half of a request: decoded, and every signature in it checked,
 * with no store and no clock, so that any thread can do it (rxd's verify
 * workers) while the store thread applies earlier requests.  Owns the
 * decoded messages; dispatch_prep_free releases them.  Nothing is refused
 * here: dispatch_apply refuses, in protocol order, from what this found (a
 * signature is only ever verified over the exact bytes received).
 *
 * No memory is spent on bytes nobody signed: only the envelope is decoded
 * before the request's one signature is checked (over the SUBMIT's
 * prescription or the DISPENSE's record, else over the call), and the call
 * is decoded only once it is signed or named by the signed document.  Every
 * allocation of the decoding draws on one budget (DISPATCH_DECODE_MAX at any
 * moment, scratch space included; the largest valid request needs under a
 * tenth of it): a frame that would need more does not decode.
 * dispatch_prep_used says how much a prepared request holds, for the
 * broker's bound on what is in flight. */
#define DISPATCH_DECODE_MAX ((size_t)4 << 20)
typedef struct {
	const uint8_t *frame;          /* borrowed: the request frame */
	size_t len;
	ProtobufCAllocator alloc;      /* draws on budget; frees with free() */
	size_t budget;                 /* bytes decoding may still hold */
	Rx__Request *req;      /* NULL if the frame is empty, too big or does not decode */
	int signed_ok;                 /* Request.signature verifies over what it signs */
	int call_ok;                   /* the call is the one signed: itself, or named
					* by the signed document's call_hash */
	Rx__Call *call;        /* NULL if req->call does not decode or call_ok is 0 */
	int watching;                  /* set by the caller before apply: the connection
					* already watches for its institution, so a
					* WATCH is a heartbeat (not audited again) */
	uint8_t request_hash[RX_HASH_LEN]; /* of the signed bytes: the request's identity
					    * for retries, and a document's body hash */
	Rx__CardAssertion *card; /* the call's card, if signed and it decodes */
	int card_ok;                   /* its signature verifies by its card key */
	Rx__Prescription *prescription; /* Request.prescription, once signed, if it decodes */
	Rx__DispenseRecord *rec; /* Request.dispense, once signed, if it decodes */
} dispatch_prep_t;

/* Fill *p from frame (borrowed: it must outlive *p).  Any thread. */
void dispatch_prepare(const uint8_t *frame, size_t len, dispatch_prep_t *p);
void dispatch_prep_free(dispatch_prep_t *p);
/* Bytes the decoded messages of p took (any thread, once prepared). */
size_t dispatch_prep_used(const dispatch_prep_t *p);

/* The store half: every check and refusal, the store change and the reply,
 * from a prepared request (consumed: freed here).  Contract as
 * dispatch_request's; on the store's thread only. */
rx_err_t dispatch_apply(const dispatch_t *d, const char *peer, dispatch_prep_t *p, int64_t now,
			store_buf_t *reply, dispatch_log_t *log) RX_MUST_CHECK;

/* Handle one request that arrived on a connection authenticated as
 * institution peer (the ZAP user id; NULL if none, which every request
 * needing a caller then fails).  On RX_OK *reply holds the reply frame (the
 * caller owns it, store_buf_free) whatever the request's outcome, which
 * log->status gives.  RX_SYSTEM only if memory ran out and no reply could
 * be built. */
rx_err_t dispatch_request(const dispatch_t *d, const char *peer, const uint8_t *frame, size_t len,
			  int64_t now, store_buf_t *reply, dispatch_log_t *log) RX_MUST_CHECK;
/* (dispatch_request is dispatch_prepare, dispatch_apply, then reply_sign:
 * rxd signs apart, while the batch commits; front.c.) */

/* The replies themselves (receipts, refusals, notices) are reply.h's. */

#endif
