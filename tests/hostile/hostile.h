/* Hostile input: what the runner (hostile_run.c), the shared request
 * builders (hostile_build.c) and the classes of hostile input (one file
 * each: hostile_framing.c, hostile_encoding.c, ...) share: the world a row
 * runs in, its frames, the row itself and the helpers that build requests.
 * Everything a helper returns lives in the row's arena (hx_alloc) and is
 * freed by hx_reset after the row. */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <check.h>
#include <dirent.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "harness.h"
#include "rx_check.h"
#include "rx_ids.h"
#include "testutil.h"

#define DROPPED (-1)        /* expected outcome: no reply, connection dropped */
#define ARENA_MAX 128
#define MAX_FRAMES 12

enum { RID_EMPTY, RID_ECHO }; /* what Reply.request_id must be */
/* Whose connection carries the row: AS_PH2 a second pharmacy, of another
 * institution; AS_CARD the patient portal's, whose requests the patient's
 * card signs itself (proto/README 5.6); AS_SHUT another portal's, made
 * before that portal was revoked (the card signs there too). */
enum { AS_DOC, AS_PH, AS_PH2, AS_CARD, AS_SHUT, AS_DOC2 };
/* AS_DOC2: a prescriber of another clinic (set up by inquiries_up). */
#define PORTAL_CODE "PORTAL"     /* the portal's institution code */
#define SHUT_CODE "PORTAL-SHUT" /* the revoked portal's */

typedef struct hx hx_t;
/* What an OK reply must show beside its status; 1 if it does (why set
 * otherwise). */
typedef int (*check_fn)(hx_t *x, const Rx__Reply *r, char *why, size_t wlen);

struct hx {
	harness_t h;
	void *zctx;
	rx_keypair_t doc, ph, ph2, card;
	char patient[RX_PATIENT_ID_LEN + 1];
	char id[RX_ID_LEN + 1]; /* issued by doc: his STATUS of it needs no proof */
	int64_t issued;         /* x->id's issued_at: no prescription is older */
	rxc_t *cdoc, *cph, *cph2;
	int64_t now;
	/* The patient portal (PORTAL_CODE) and its connection, on which the
	 * patient's card signs its own reads; the connection of a portal
	 * revoked since (SHUT_CODE); a second patient's card, and a card of
	 * the patient's that was revoked.  Set up last. */
	harness_inst_t *portal;
	rxc_t *cportal, *cshut;
	rx_keypair_t card2, lost;
	char patient2[RX_PATIENT_ID_LEN + 1];
	/* A use handed over in parts (proto/README 5.13), set up by parts_up:
	 * doc's prescription of two items, 28 units each, claimed by ph, whose
	 * part 1 handed over item 1 and 10 units of item 2: 18 units of item 2
	 * are owed.  No row may change that. */
	char part_id[RX_ID_LEN + 1];
	uint8_t part_token[RX_TOKEN_LEN];
	uint8_t part_rid[RX_REQUEST_ID_LEN]; /* part 1's request, */
	uint8_t *part_frame, *part_reply;     /* its frame and reply (heap) */
	size_t part_frame_len, part_reply_len;
	/* The pharmacist's inquiries (proto/README 5.14), set up by
	 * inquiries_up, after the rest: doc's prescriptions, each claimed by
	 * ph: inq_open with inquiry 1 open (its INQUIRE frame and reply kept);
	 * inq_claimed with none; inq_kept with inquiry 1 answered KEEP;
	 * inq_full with the 16 inquiries it may keep, all settled by
	 * telephone, the first ACCEPT (item 1 to amlodipine 2.5 mg), the rest
	 * KEEP.  A prescriber of another clinic, doc2.  No row may change
	 * any of it. */
	rx_keypair_t doc2;
	rxc_t *cdoc2;
	char inq_open[RX_ID_LEN + 1], inq_claimed[RX_ID_LEN + 1], inq_kept[RX_ID_LEN + 1],
		inq_full[RX_ID_LEN + 1];
	uint8_t inq_open_token[RX_TOKEN_LEN], inq_claimed_token[RX_TOKEN_LEN],
		inq_kept_token[RX_TOKEN_LEN], inq_full_token[RX_TOKEN_LEN];
	uint8_t inq_rid[RX_REQUEST_ID_LEN];
	uint8_t *inq_frame, *inq_reply; /* heap */
	size_t inq_frame_len, inq_reply_len;
	/* per row */
	uint8_t rid[RX_REQUEST_ID_LEN]; /* the request id the row's request carries */
	const uint8_t *want;            /* if set: the exact reply bytes expected */
	size_t want_len;
	check_fn check;                 /* if set: what else the OK reply must show */
	const char *say;                /* if set: a refusal's message must contain it
					 * (the refusal came from the check meant) */
	int64_t from, until;            /* a PATIENT_LIST row's range (check reads it) */
	void *arena[ARENA_MAX];
	int narena;
};

typedef struct {
	int n;
	void *data[MAX_FRAMES];
	size_t len[MAX_FRAMES];
} frames_t;

typedef void (*build_fn)(hx_t *x, frames_t *f);

typedef struct {
	const char *category;
	const char *name;
	build_fn build;
	int who;
	int expect; /* an rx_err_t, or DROPPED */
	int rid;
} row_t;

typedef struct {
	Rx__Prescription p;
	Rx__Item it;
	Rx__Item *items[1];
} presc_t;

typedef struct {
	Rx__DispenseRecord d;
	Rx__Item it;
	Rx__Line line;
	Rx__Line *lines[1];
} record_t;

/* A request built by hand around a document (doc_request), for the rows
 * that break what protocol v2 binds together (proto/README 5.4 steps 5-7a,
 * 9a and P): by default it is right, the document (msg, with its call_hash
 * set to the hash of the packed call on a copy) in its field and signed
 * once, by signer, under that field's context, with signer's key as
 * Request.key.  Each other field, left zero, changes nothing; set, it is the
 * one defect the row adds. */
/* Which Request field the document is in; IN_OWN: the one its op carries
 * (submit_doc, dispense_doc) or, in doc_request, the one of msg's type. */
enum { IN_OWN, IN_PRESCRIPTION, IN_DISPENSE };
typedef enum {
	BIND_CALL,  /* call_hash: the hash of the call sent (right) */
	BIND_OTHER, /* the hash of another call: the same but for its request id */
	BIND_NONE,  /* no call_hash */
	BIND_SHORT, /* the right hash cut to 31 bytes */
	BIND_LONG,  /* the right hash and one byte more */
} bind_t;
typedef struct {
	const Rx__Call *call;        /* packed here; a NULL call: submit_doc and
				      * dispense_doc make a good one */
	const ProtobufCMessage *msg; /* an Rx__Prescription or Rx__DispenseRecord */
	const uint8_t *bytes;        /* if msg is NULL: the document bytes, signed as
				      * they are (no call_hash is set) */
	size_t nbytes;
	int in;                           /* IN_OWN, IN_PRESCRIPTION or IN_DISPENSE */
	const rx_keypair_t *signer;       /* signs the document; NULL: the row's caller */
	const uint8_t *key;               /* Request.key (RX_KEY_LEN) if not signer's */
	bind_t bind;
	int v1_context;                   /* signed under the field's v1 context */
	void (*patch)(uint8_t *doc, size_t len); /* the packed document, before signing */
	void (*tweak)(uint8_t sig[RX_SIG_LEN]);  /* the signature, once made */
	size_t sig_len;                   /* Request.signature's length; 0: RX_SIG_LEN */
	const uint8_t *other;             /* unsigned bytes for the other document field */
	size_t nother;
} doc_req_t;

/* A row of a class's table: category, builder b_NAME, whose connection,
 * the status expected (or DROPPED) and what Reply.request_id must be. */
#define ROW(cat, fn, who, expect, rid) {cat, #fn, b_##fn, who, expect, rid}

/* ---- building requests (hostile_build.c) ---- */

void *hx_alloc(hx_t *x, size_t n);
void *hx_dup(hx_t *x, const void *src, size_t n);
void hx_reset(hx_t *x);
void frame(hx_t *x, frames_t *f, const void *p, size_t n);
void malleate(uint8_t sig[RX_SIG_LEN]);
size_t put_varint(uint8_t *p, uint64_t v);
void sign_msg(hx_t *x, const rx_keypair_t *kp, rx_sign_ctx_t ctx, const ProtobufCMessage *m,
	      Rx__Signed *out);
void resign(const rx_keypair_t *kp, rx_sign_ctx_t ctx, Rx__Signed *s);
const rx_keypair_t *key_of(hx_t *x, int who);
rxc_t *client_of(hx_t *x, int who);
const char *inst_of(hx_t *x, int who);
rx_keypair_t fresh_key(void);
void card_init(hx_t *x, Rx__CardAssertion *a, const rx_keypair_t *card, int purpose,
	       const char *inst);
void good_card(hx_t *x, int who, Rx__Signed *out);
void item_init(Rx__Item *it);
void presc_init(hx_t *x, presc_t *ps);
void record_init(hx_t *x, record_t *r);
void call_init(hx_t *x, Rx__Call *c, int op);
uint8_t *pack_call(hx_t *x, const Rx__Call *c, size_t *len);
uint8_t *pack_request(hx_t *x, const uint8_t *key, size_t klen, const uint8_t *call, size_t clen,
		      const uint8_t *sig, size_t slen, size_t *len);
uint8_t *signed_bytes(hx_t *x, const rx_keypair_t *kp, const uint8_t *call, size_t clen,
		      size_t *len);
void request_frames(hx_t *x, frames_t *f, const uint8_t *req, size_t len);
void send_call(hx_t *x, frames_t *f, const rx_keypair_t *kp, const Rx__Call *c);
uint8_t *good_status(hx_t *x, size_t *len);
uint8_t *pad_to(hx_t *x, const uint8_t *req, size_t len, size_t target);
uint8_t *doc_request(hx_t *x, const doc_req_t *r, size_t *len);
void send_doc(hx_t *x, frames_t *f, const doc_req_t *r);
void submit_call(hx_t *x, Rx__Call *c, Rx__Signed *card);
void dispense_call(hx_t *x, Rx__Call *c, uint8_t token[RX_TOKEN_LEN]);
void submit_doc(hx_t *x, frames_t *f, doc_req_t r);
void dispense_doc(hx_t *x, frames_t *f, doc_req_t r);
void submit_presc(hx_t *x, frames_t *f, presc_t *ps);
void submit_name(hx_t *x, frames_t *f, const char *name);
void list_card(hx_t *x, frames_t *f, Rx__Signed *card);
void list_assertion(hx_t *x, frames_t *f, Rx__CardAssertion *a, const rx_keypair_t *signer);
void list_card_at(hx_t *x, frames_t *f, int purpose, int64_t at);
void patient_call(hx_t *x, Rx__Call *c, int op, const char *id, Rx__Signed *card);
void patient_read(hx_t *x, frames_t *f, int op, const char *id);
void patient_list(hx_t *x, frames_t *f, int64_t from, int64_t until);
int check_patient_list(hx_t *x, const Rx__Reply *r, char *why, size_t wlen);
void dispense_record(hx_t *x, frames_t *f, record_t *r);
void op_on(hx_t *x, frames_t *f, int who, int op, const char *id, const uint8_t *token,
	   size_t tlen, const char *code);
uint8_t *exchange(hx_t *x, rxc_t *c, const frames_t *f, size_t *len);
int status_of(const uint8_t *rep, size_t len);
void submit_ok(hx_t *x, char **id, char **code);
void wrong_code(const char *right, char out[RX_ACCESS_CODE_LEN + 1]);

/* From hostile_encoding.c: hand-made call bytes, signed by doc, framed (the
 * text rows use it too). */
void signed_call_bytes(hx_t *x, frames_t *f, const uint8_t *call, size_t clen);

/* From hostile_replays.c: parts_up makes the use handed over in parts
 * (x->part_*) the "owing" rows send their requests about, once, before the
 * table runs; parts_down frees what it kept. */
void parts_up(hx_t *x);
void parts_down(hx_t *x);
/* From hostile_replays.c: inquiries_up sets up x->inq_* and doc2 (four
 * prescriptions), last; inquiries_down frees what it kept. */
#define INQUIRY_SUBMITS 4
void inquiries_up(hx_t *x);
void inquiries_down(hx_t *x);

/* ---- the classes of hostile input, one file each; the runner runs
 * them in this order (a row may rely on those before it in a pass) ---- */

extern const row_t hostile_rows_framing[];
extern const int hostile_rows_framing_n;
extern const row_t hostile_rows_encoding[];
extern const int hostile_rows_encoding_n;
extern const row_t hostile_rows_signatures[];
extern const int hostile_rows_signatures_n;
extern const row_t hostile_rows_card[];
extern const int hostile_rows_card_n;
extern const row_t hostile_rows_text[];
extern const int hostile_rows_text_n;
extern const row_t hostile_rows_time[];
extern const int hostile_rows_time_n;
extern const row_t hostile_rows_ids[];
extern const int hostile_rows_ids_n;
extern const row_t hostile_rows_replays[];
extern const int hostile_rows_replays_n;

#endif
