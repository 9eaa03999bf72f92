/* rxclient: the C client library for rx-exchange.
 *
 * Builds and signs calls, sends them to rxd over a ZeroMQ DEALER socket, and
 * verifies what comes back: the broker's receipt signature, that the receipt
 * answers this request, and (STATUS) the prescriber's signature on the
 * prescription.  A request is resent with the same request id until a reply
 * arrives or the timeout passes, which is safe because rxd answers a retry
 * with its original reply.  Given the endpoints of both nodes of a cluster,
 * a resend goes to whichever of them serves, so a failover needs no one to
 * reconfigure the client.  One rxc_t per thread.
 *
 * This header is the public API.  The hooks that only the tests and the
 * benchmark use (raw frames, pipelining) are in rxclient_int.h. */
#ifndef RXCLIENT_H
#define RXCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "rx.pb-c.h"
#include "rx_crypto.h"
#include "rx_err.h"

typedef struct rxc rxc_t;

typedef struct {
	int timeout_ms; /* give up after this long (default 5000) */
	int resend_ms;  /* resend the same request this often (default 1000) */
	const uint8_t *broker_key; /* RX_KEY_LEN to pin, or NULL to accept any signer */
	/* CurveZMQ: the institution's key pair and the broker's public key
	 * (both required by rxd's client endpoint; NULL for the admin socket). */
	const rx_curve_t *curve;
	const uint8_t *server_key; /* 32 bytes */
} rxc_options_t;

/* Several endpoints of one cluster (proto/README 1.2): endpoint may be a
 * comma-separated list of at most RXC_ENDPOINTS_MAX endpoints, each
 * tcp://HOST:PORT or ipc://PATH (or inproc://NAME, a stand-in broker in the
 * same process) and at most RXC_ENDPOINT_LEN characters, no white space,
 * none twice.  The list names the nodes of ONE cluster (two nodes
 * over one replicated data dir, at most one of which serves): a request
 * and its resends go to whichever node has a live connection, which is
 * safe only because there the stored replies (5.7) are the same ones. */
#define RXC_ENDPOINTS_MAX 8
#define RXC_ENDPOINT_LEN 255

/* Check an endpoint list as rxc_new reads it, without connecting.  RX_OK,
 * or RX_INVALID with msg (msglen bytes) saying what is wrong with which
 * endpoint. */
rx_err_t rxc_endpoints_check(const char *list, char *msg, size_t msglen) RX_MUST_CHECK;

/* Connect to endpoint (one, or a list as above) acting as kp (copied; NULL
 * only for rxc_raw, in rxclient_int.h).  zctx: a ZeroMQ context to share,
 * or NULL for one of its own.  RX_INVALID if the list does not pass
 * rxc_endpoints_check or libzmq refuses an endpoint, RX_SYSTEM if a socket
 * cannot be made.  Caller owns *out; release with rxc_destroy. */
rx_err_t rxc_new(rxc_t **out, void *zctx, const char *endpoint, const rx_keypair_t *kp,
		 const rxc_options_t *opt) RX_MUST_CHECK;
void rxc_destroy(rxc_t **c);

/* The outcome of one call.  Owns everything it points to; release with
 * rxc_result_free. */
typedef struct {
	rx_err_t status;              /* the broker's code, or RX_UNREACHABLE/RX_SYSTEM */
	char message[256];            /* the broker's reason, or ours */
	uint8_t request_id[RX_REQUEST_ID_LEN];
	Rx__Reply *reply;             /* as received; NULL if none */
	Rx__Receipt *receipt;         /* verified receipt on OK; NULL otherwise */
	Rx__Prescription *prescription; /* STATUS: decoded, prescriber signature verified */
	/* STATUS: reply->dispenses[i].record decoded, each pharmacy's signature
	 * verified: every record of each use in order, the last of a use current
	 * and those before it superseded (proto/README 3.3, 5.12); at,
	 * institution, use and superseded are in reply->dispenses[i]. */
	Rx__DispenseRecord **dispenses;
	size_t n_dispenses;
	/* STATUS: reply->inquiries[i]'s signed calls decoded, each signature
	 * verified (3.3 step 8a): asked[i] the pharmacy's INQUIRE (its
	 * inquiry), answered[i] the prescriber's INQUIRY_REPLY (its
	 * inquiry_reply), NULL while the inquiry is open. */
	Rx__Call **asked, **answered;
	size_t n_inquiries;
} rxc_result_t;

void rxc_result_free(rxc_result_t *r);

/* A fresh request id (or card nonce): a UUIDv7, monotonic in this process
 * (rxclient_ids.c). */
void rxc_request_id(uint8_t rid[RX_REQUEST_ID_LEN]);

/* Release a Signed whose body and signature are heap memory (as
 * rxc_card_assertion makes them). */
void rxc_signed_free(Rx__Signed *s);

/* A card assertion, signed by the card's key as a card reader would: for
 * purpose (RX__PURPOSE__PURPOSE_ISSUE, _DISPENSE or _VIEW) at institution,
 * at time at, with a fresh random nonce.  On RX_OK out->body.data and
 * out->signature.data are heap memory the caller owns (rxc_signed_free). */
rx_err_t rxc_card_assertion(const rx_keypair_t *card, int purpose, const char *institution,
			    int64_t at, Rx__Signed *out) RX_MUST_CHECK;

/* Proof that the patient is present: a signed card assertion, or the access
 * code from the slip.  Either may be NULL. */
typedef struct {
	const Rx__Signed *card;
	const char *access_code;
} rxc_proof_t;

/* Send a call (request_id and op set by the caller) and wait for the reply.
 * Returns out->status. */
rx_err_t rxc_call(rxc_t *c, const Rx__Call *call, rxc_result_t *out);
/* rxc_call for a SUBMIT or DISPENSE: with its document, as rxc_frame takes it. */
rx_err_t rxc_call_doc(rxc_t *c, const Rx__Call *call, const ProtobufCMessage *doc,
		      rxc_result_t *out);

/* The Request frame for call, signed once by kp: the exact bytes to keep for
 * a later resend (an outbox).  doc is NULL, or for a SUBMIT the Prescription
 * and for a DISPENSE the DispenseRecord, unsigned: it is packed with its
 * call_hash set to the hash of the packed call (doc itself is not changed),
 * and kp's one signature covers it, and through it the call (proto/README
 * 3.2).  Without doc kp signs the call.  On RX_OK *frame is heap memory the
 * caller frees (free); RX_SYSTEM if memory runs out or doc is of another type. */
rx_err_t rxc_frame(const rx_keypair_t *kp, const Rx__Call *call, const ProtobufCMessage *doc,
		   uint8_t **frame, size_t *len) RX_MUST_CHECK;
/* rxc_frame, and the hash of the packed document (body_hash, if not NULL and
 * doc is given): what the receipt's body_hash must name. */
rx_err_t rxc_frame_hashed(const rx_keypair_t *kp, const Rx__Call *call, const ProtobufCMessage *doc,
			  uint8_t **frame, size_t *len, uint8_t body_hash[RX_HASH_LEN]) RX_MUST_CHECK;

/* What a kept frame says of itself: the signing key, request id, op and (if
 * id is not NULL) the prescription id, cut to idlen.  The bytes are read as
 * hostile: RX_INVALID unless they are a Request with a 32-byte key, a
 * 64-byte signature and a Call with a 16-byte request id. */
rx_err_t rxc_frame_parse(const uint8_t *frame, size_t len, uint8_t key[RX_KEY_LEN],
			 uint8_t rid[RX_REQUEST_ID_LEN], int *op, char *id,
			 size_t idlen) RX_MUST_CHECK;

/* Send a frame made earlier by rxc_frame (perhaps by another process, days
 * ago) byte for byte, and verify the reply as rxc_call does, against the
 * request id, op and signing key inside the frame (which may be another key
 * than c's).  Resending the same bytes is what makes this safe: rxd answers
 * a request it already applied with its stored reply.  A frame that does not
 * parse is RX_SYSTEM, not sent.  Returns out->status. */
rx_err_t rxc_call_frame(rxc_t *c, const uint8_t *frame, size_t len, rxc_result_t *out);

/* Fill call for a SUBMIT / CANCEL exactly as rxc_submit / rxc_cancel send
 * it, without sending (for rxc_frame, with the prescription as its doc).
 * call points into rid, card and id, which must outlive it; nothing is
 * allocated. */
void rxc_submit_fill(Rx__Call *call, const uint8_t rid[RX_REQUEST_ID_LEN], const Rx__Signed *card);
void rxc_cancel_fill(Rx__Call *call, const uint8_t rid[RX_REQUEST_ID_LEN], const char *id, int reason);

/* The calls, one per op.  rid: the request id to use (NULL: a fresh one).
 * SUBMIT and DISPENSE take their document unsigned (version 2, its
 * prescriber_key or pharmacy_key c's key): c's key signs it once, bound to
 * the call (rxc_frame), and the receipt must name its hash. */
rx_err_t rxc_submit(rxc_t *c, const uint8_t *rid, const Rx__Prescription *prescription,
		    const Rx__Signed *card, rxc_result_t *out);
rx_err_t rxc_claim(rxc_t *c, const uint8_t *rid, const char *id, const rxc_proof_t *proof,
		   rxc_result_t *out);
rx_err_t rxc_release(rxc_t *c, const uint8_t *rid, const char *id,
		     const uint8_t token[RX_TOKEN_LEN], rxc_result_t *out);
rx_err_t rxc_dispense(rxc_t *c, const uint8_t *rid, const char *id,
		      const uint8_t token[RX_TOKEN_LEN], const Rx__DispenseRecord *record,
		      rxc_result_t *out);
/* CANCEL with reason, an rx.CancelReason (1..5; 0: not stated), which the
 * cancel notice and later receipts show (proto/README 5.5). */
rx_err_t rxc_cancel(rxc_t *c, const uint8_t *rid, const char *id, int reason, rxc_result_t *out);
/* The dispensing pharmacy's latest record of its latest use (proto/README
 * 5.12): AMEND with a corrected record, WITHDRAW with a withdrawal (a
 * record with withdraw_reason and no lines), each naming in replaces the
 * hash of the record it replaces.  WITHDRAW's receipt holds the new claim. */
rx_err_t rxc_amend(rxc_t *c, const uint8_t *rid, const char *id, const Rx__DispenseRecord *record,
		   rxc_result_t *out);
rx_err_t rxc_withdraw(rxc_t *c, const uint8_t *rid, const char *id, const Rx__DispenseRecord *record,
		      rxc_result_t *out);

/* A dispense record's lines (proto/README 5.10) for the items of p, every one
 * handed over as written: the handed items copy p's without its
 * substitution marks, their strings borrowed from p (which must outlive
 * them).  A caller changes a line before signing (another product, a
 * reason, NOT_DISPENSED) and frees them with rxc_lines_free.  RX_SYSTEM if
 * memory ran out. */
rx_err_t rxc_lines_as_written(const Rx__Prescription *p, Rx__Line ***lines, size_t *n) RX_MUST_CHECK;
void rxc_lines_free(Rx__Line **lines, size_t n);
rx_err_t rxc_status(rxc_t *c, const char *id, const rxc_proof_t *proof, rxc_result_t *out);
/* INQUIRE: the pharmacy holding the claim (token) asks the prescriber
 * (疑義照会); the receipt's inquiry is its number.  INQUIRY_REPLY: a
 * prescriber of the issuing clinic answers it.  Both are kept as the signed
 * calls; STATUS returns them, verified (proto/README 5.14). */
rx_err_t rxc_inquire(rxc_t *c, const uint8_t *rid, const char *id, const uint8_t token[RX_TOKEN_LEN],
		     const Rx__Inquiry *inquiry, rxc_result_t *out);
rx_err_t rxc_inquiry_reply(rxc_t *c, const uint8_t *rid, const char *id, const Rx__InquiryReply *reply,
			   rxc_result_t *out);
/* LIST: with a card, the card's patient's open prescriptions (patient_id,
 * if not NULL, must be the card's); with id and an access code, that one. */
rx_err_t rxc_list(rxc_t *c, const char *patient_id, const char *id, const rxc_proof_t *proof,
		  rxc_result_t *out);

/* LOG: the patient's own access log.  c must act as the card (rxc_new with
 * the card's key pair) through a patient portal's connection; card is the
 * card's assertion (purpose view). */
rx_err_t rxc_log(rxc_t *c, const Rx__Signed *card, rxc_result_t *out);

/* PATIENT_LIST and PATIENT_STATUS (proto/README 5.6): the patient's own
 * prescriptions, issued in [from, until) (unix seconds, 0: unbounded), every
 * state, newest first; or one of them by id, with its dispense records
 * (verified as STATUS's).  Like rxc_log, c acts as the card through a
 * patient portal's connection; card is the card's assertion (purpose view). */
rx_err_t rxc_patient_list(rxc_t *c, const Rx__Signed *card, int64_t from, int64_t until, rxc_result_t *out);
rx_err_t rxc_patient_status(rxc_t *c, const Rx__Signed *card, const char *id, rxc_result_t *out);

/* NOMINATE: the patient nominates pharmacy (a pharmacy's institution code;
 * "" or NULL removes the nomination).  Like rxc_log, c acts as the card
 * through a patient portal's connection; card is the card's assertion
 * (purpose nominate).  The receipt's pharmacy_code is the nomination now. */
rx_err_t rxc_nominate(rxc_t *c, const Rx__Signed *card, const char *pharmacy, rxc_result_t *out);

/* WATCH: register this connection for the notices of the pharmacy c's key
 * belongs to; the receipt's notices is how many are waiting, which rxd
 * pushes next, then every new one as it is committed.  Repeat it at least
 * every 60 s (a heartbeat: rxd forgets a silent connection after 90 s and
 * sends the backlog again on each WATCH).  ACK: the notices with these seqs
 * were handled (1..256); rxd forgets them.  A notice not ACKed is sent
 * again, so a consumer must accept the same seq twice. */
rx_err_t rxc_watch(rxc_t *c, rxc_result_t *out);
rx_err_t rxc_ack(rxc_t *c, const uint64_t *seqs, size_t n, rxc_result_t *out);

/* The next notice pushed on this connection (kept aside if it came during
 * a call), waiting up to timeout_ms.  RX_OK: *out is the caller's
 * (rx__notice__free_unpacked), its broker signature checked against the
 * pinned key or the key of the last receipt verified here (so WATCH
 * first).  RX_UNREACHABLE: nothing within the timeout.  RX_BAD_SIGNATURE: a
 * notice that does not verify (dropped; call again). */
rx_err_t rxc_notice(rxc_t *c, int timeout_ms, Rx__Notice **out) RX_MUST_CHECK;

/* One request on the admin socket of the rxd serving data dir dir.  Returns
 * the reply's status, or RX_UNREACHABLE / RX_SYSTEM with msg set; on a reply
 * *out is the caller's (rx__admin_reply__free_unpacked). */
rx_err_t rxc_admin(const char *dir, int timeout_ms, const Rx__AdminRequest *q,
		   Rx__AdminReply **out, char *msg, size_t msglen);

#endif
