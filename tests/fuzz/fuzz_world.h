/* fuzz_world: the fixed world the fuzz targets, the corpus generator and the
 * corpus replay test all run in.
 *
 * One temp dir per process ($TMPDIR, else /tmp) holds a store seeded once
 * with institutions, keys, patients, cards and prescriptions in every state
 * (made through dispatch_request itself), compacted into a template.
 * fw_reset() puts the template back before each input and reseeds a
 * deterministic randombytes, so every input meets the same world and the
 * same "random" numbers: an input that crashes once crashes every time, on
 * its own, and a seed request reaches as deep in the hundredth run as in
 * the first.  The clock is fixed at FW_NOW.
 *
 * Test-only: the key pairs come from fixed seeds and the data key is a
 * constant. */
#ifndef FUZZ_WORLD_H
#define FUZZ_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"
#include "rx.pb-c.h"
#include "rx_crypto.h"
#include "rx_ids.h"
#include "store.h"

/* 2026-03-02 03:00:00 UTC (12:00 in Japan): every request is judged then. */
#define FW_NOW INT64_C(1772420400)

/* The keys of the world.  The harness knows every secret key, so the
 * dispatch target can re-sign a mutated request (see fuzz_dispatch.c). */
enum {
	FW_PRESCRIBER,         /* CLINIC-1: issues every prescription below */
	FW_PRESCRIBER_REVOKED, /* CLINIC-1, key revoked */
	FW_PRESCRIBER_OTHER,   /* CLINIC-2: another clinic's doctor */
	FW_PHARMACY,           /* PHARM-1: holds the claims below */
	FW_PHARMACY_OTHER,     /* PHARM-2 */
	FW_PHARMACY_SHUT,      /* PHARM-X, an institution that was revoked */
	FW_CARD,               /* patient 1's card */
	FW_CARD_REVOKED,       /* patient 1's lost card */
	FW_CARD_OTHER,         /* patient 2's card */
	FW_STRANGER,           /* a key nobody registered */
	FW_STOLEN,             /* CLINIC-2's key, used through CLINIC-1's connection */
	FW_NO_SUCH_PEER,       /* CLINIC-1's key, through an unregistered institution */
	FW_NKEYS
};

/* The prescriptions of the world, all by FW_PRESCRIBER.  Patient 1 unless
 * said otherwise. */
enum {
	FW_RX_ISSUED,         /* ISSUED */
	FW_RX_CLAIMED,        /* CLAIMED by FW_PHARMACY */
	FW_RX_REFILL,         /* 3 uses, CLAIMED by FW_PHARMACY (use 1) */
	FW_RX_DISPENSED,      /* DISPENSED by FW_PHARMACY */
	FW_RX_CANCELLED,      /* CANCELLED */
	FW_RX_CANCEL_PENDING, /* CLAIMED by FW_PHARMACY, cancel pending */
	FW_RX_LOCKED,         /* ISSUED, code access locked after 5 wrong codes */
	FW_RX_EXPIRED,        /* past valid_until at FW_NOW */
	FW_RX_EXPIRED_CLAIMED, /* CLAIMED by FW_PHARMACY, then past valid_until */
	FW_RX_OTHER_PATIENT,  /* ISSUED, patient 2 */
	FW_RX_PARTIAL,        /* two items, 28 units each, CLAIMED by FW_PHARMACY and
			       * PARTIALLY_DISPENSED: its part 1 (fw_part) handed over
			       * item 1 and 10 units of item 2, 18 owed */
	/* The inquiry (5.14).  Patient 2, whose prescriptions no seed lists,
	 * one item (amlodipine 5 mg, 2171022F2025) marked no_change, CLAIMED by
	 * FW_PHARMACY; each asked inquiry 1, proposing item 1 as amlodipine
	 * 2.5 mg (2171022F1029): */
	FW_RX_INQUIRING,      /* ... still open */
	FW_RX_AGREED,         /* ... answered ANSWER_ACCEPT by FW_PRESCRIBER, agreeing
			       * to that change */
	FW_NRX
};

typedef struct {
	rx_keypair_t kp;
	const char *institution; /* the connection it uses (its ZAP identity) */
} fw_key_t;

/* What FW_RX_INQUIRING's and FW_RX_AGREED's inquiry proposes for item 1,
 * and FW_RX_AGREED's answer agreed to: amlodipine 2.5 mg. */
#define FW_AGREED_DRUG "2171022F1029"

typedef struct {
	fw_key_t keys[FW_NKEYS];
	rx_keypair_t broker;
	char patient[RX_PATIENT_ID_LEN + 1];       /* patient 1 */
	char patient_other[RX_PATIENT_ID_LEN + 1]; /* patient 2 */
	char rx[FW_NRX][RX_ID_LEN + 1];
	char code[FW_NRX][RX_ACCESS_CODE_LEN + 1]; /* each one's access code */
	uint8_t token[FW_NRX][RX_TOKEN_LEN];       /* claim tokens of the claimed */
	store_buf_t retry;                         /* the frame of the CANCEL of
						    * FW_RX_CANCEL_PENDING, the last request
						    * before the inquiries */
	uint8_t retry_rid;                         /* its request id: 16 bytes of this */
	store_buf_t retry_dispense;                /* the frame of the world's DISPENSE
						    * (of FW_RX_DISPENSED) */
	store_buf_t retry_part;                    /* the frame of FW_RX_PARTIAL's part 1 */
	uint8_t card_nonce;                        /* a LIST by FW_CARD (purpose dispense,
						    * PHARM-1) at FW_NOW - 60 used this
						    * nonce: 16 bytes of it */
	char dir[256];                             /* the per-process temp dir */
	char work[300];                            /* where the live store is */
} fw_t;

/* Build the world once per process (later calls return it at once).  Aborts
 * with a message if it cannot be built: fuzzing without it is meaningless.
 * The temp dir is removed at exit. */
const fw_t *fw_get(void);

/* The world's store as the template left it, and the random numbers reset.
 * Valid until the next fw_reset. */
store_t *fw_reset(void);

/* The key pair whose public key is pk (RX_KEY_LEN bytes), or NULL. */
const fw_key_t *fw_key(const uint8_t *pk, size_t len);

/* The institution a connection signing with pk would be: the key's own
 * (ZAP ties a connection to one institution), or CLINIC-1 for a key the
 * world does not know. */
const char *fw_peer(const uint8_t *pk, size_t len);

/* ---- building real requests (heap buffers: the caller frees .data) ---- */

/* m packed and signed under ctx by kp into out (body and signature on the heap). */
void fw_sign(rx_sign_ctx_t ctx, const rx_keypair_t *kp, const ProtobufCMessage *m, Rx__Signed *out);
void fw_signed_free(Rx__Signed *s);
/* A card assertion by card for purpose at institution, time at; the nonce is
 * 16 bytes of n. */
void fw_assertion(const rx_keypair_t *card, int purpose, const char *institution, int64_t at,
		  uint8_t n, Rx__Signed *out);

/* A prescription or dispense record as a client hands it to rxc_frame:
 * version 2, unsigned, no call_hash (rxc_frame binds it to its call).  The
 * message points into the struct: fill it where it stays, do not copy it.
 * Nothing is on the heap. */
typedef struct {
	Rx__Prescription p;
	Rx__Item item[RX_MAX_ITEMS];
	Rx__Item *items[RX_MAX_ITEMS];
} fw_rx_t;
typedef struct {
	Rx__DispenseRecord d;
	Rx__Item item;
	Rx__Line line;
	Rx__Line *lines[1];
} fw_rec_t;
/* A part of a use of two items (proto/README 5.13), as fw_rec_t. */
typedef struct {
	Rx__DispenseRecord d;
	Rx__Item item[2];
	Rx__Line line[2];
	Rx__Line *lines[2];
} fw_part_t;
/* A prescription by FW_PRESCRIBER (items: how many, 1..32). */
void fw_prescription(const fw_t *w, const rx_keypair_t *card, int64_t issued_at, int days,
		     uint32_t uses, size_t items, const char *notes, fw_rx_t *out);
/* A dispense record of one item by pharmacy for id, use. */
void fw_dispense(const rx_keypair_t *pharmacy, const char *id, uint32_t use, fw_rec_t *out);
/* Part part of FW_RX_PARTIAL's use (id) by pharmacy: part 1 as the world
 * recorded it (item 1 as written, 10 units of item 2 PARTIAL, OUT_OF_STOCK);
 * a later part the 18 units of item 2 owed, as written, in its one line. */
void fw_part(const rx_keypair_t *pharmacy, const char *id, uint32_t part, fw_part_t *out);

/* The request frame as every client makes it (rxc_frame): call packed; with
 * doc (a SUBMIT's &fw_rx_t.p.base, a DISPENSE's &fw_rec_t.d.base) the
 * document bound to the call by its call_hash and signed by kp, else the
 * call signed by kp. */
store_buf_t fw_request(const rx_keypair_t *kp, const Rx__Call *call, const ProtobufCMessage *doc);
/* m packed as it is. */
store_buf_t fw_pack(const ProtobufCMessage *m);
/* A Prescription or DispenseRecord packed with its call_hash set to the
 * hash of call (the packed call it is to travel with); doc is not changed. */
store_buf_t fw_bind(const ProtobufCMessage *doc, const store_buf_t *call);
/* An envelope around bytes as given, for the shapes no client makes:
 * Request{key, call, signature, prescription, dispense} (a NULL or empty
 * document is left out), kp signing what rxd verifies: the prescription if
 * there is one, else the dispense record, else the call, each under its
 * context.  Nothing given is re-encoded. */
store_buf_t fw_envelope(const rx_keypair_t *kp, const store_buf_t *call, const store_buf_t *prescription,
			const store_buf_t *dispense);
/* A call with request id rid (16 bytes of n) and op. */
void fw_call(Rx__Call *call, uint8_t rid[RX_REQUEST_ID_LEN], uint8_t n, int op);

/* Run frame through dispatch_request against store s as if it came from
 * kp's institution; *receipt (if not NULL) gets the decoded receipt of an
 * OK reply (the caller frees it).  Returns the reply's status.  With
 * FW_DEBUG set in the environment, prints each status and reason. */
rx_err_t fw_dispatch(store_t *s, const store_buf_t *frame, int64_t now, Rx__Receipt **receipt);

/* Run an admin frame through admin_request against s at FW_NOW (the
 * operator's socket: no peer, no signatures).  Returns the reply's status;
 * RX_SYSTEM if no reply could be built. */
rx_err_t fw_admin(store_t *s, const uint8_t *frame, size_t len);

#endif
