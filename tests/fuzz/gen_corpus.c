/* gen_corpus: the seed corpus of the fuzz targets, made from real requests.
 *
 *   gen_corpus DIR    writes DIR/dispatch/NAME and DIR/decode/NAME (request
 *                     frames) and DIR/admin/NAME (admin frames)
 *
 * Every request is built and signed as a client builds it (rxc_frame: a
 * SUBMIT's prescription or a DISPENSE's record bound to its call and signed
 * once, protocol v2), by the world's keys, about the world's prescriptions,
 * at FW_NOW.  Of the seeds for the steps v2 added, those no client makes (a
 * document naming another call, both documents, bytes that are no document)
 * are put together from their parts (fw_envelope); a document on an op that
 * takes none is rxc_frame's own (it does not look at the op).  Each is run
 * against a fresh world here and must end as listed (OK, or the refusal it
 * was made to provoke), so a seed that stopped reaching where it should
 * fails the generator instead of silently fuzzing less.  The output is deterministic: running it again
 * rewrites the same bytes.  It writes only its own seed names; any other
 * file in the corpus (a crash's input, kept as a regression) is left alone.
 *
 * Regenerate after changing the world or the protocol:
 *   build/tests/fuzz/gen_corpus tests/fuzz/corpus */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_world.h"
#include "rx.pb-c.h"

static const fw_t *w;
static const char *root;
static int failures, written;
static uint8_t serial = 0x40; /* request ids and nonces of the seeds */

static const rx_keypair_t *kp(int which)
{
	return &w->keys[which].kp;
}

static void write_file(const char *target, const char *name, const uint8_t *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", root, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	written++;
}

static void judge(const char *name, rx_err_t got, rx_err_t want)
{
	printf("%-28s %-20s%s\n", name, rx_err_name(got), got == want ? "" : "  <- expected another code");
	if (got != want) {
		fprintf(stderr, "gen_corpus: %s: got %s, want %s\n", name, rx_err_name(got), rx_err_name(want));
		failures++;
	}
}

/* A frame tried on a fresh world and written for the decode and dispatch
 * targets; frees it. */
static void keep(const char *name, store_buf_t *frame, rx_err_t want)
{
	judge(name, fw_dispatch(fw_reset(), frame, FW_NOW, NULL), want);
	write_file("dispatch", name, frame->data, frame->len);
	write_file("decode", name, frame->data, frame->len);
	store_buf_free(frame);
}

/* One request seed: signed by signer as a client signs it (doc: the SUBMIT's
 * prescription or the DISPENSE's record, or NULL), tried and written.  Frees
 * the call's card. */
static void seed(const char *name, int signer, Rx__Call *call, const ProtobufCMessage *doc, rx_err_t want)
{
	store_buf_t frame = fw_request(kp(signer), call, doc);
	keep(name, &frame, want);
	if (call->card)
		fw_signed_free(call->card);
}

/* A frame with its request signature broken (one bit of the signature
 * itself: since protocol v2 it is not the frame's last field). */
static void seed_bad_signature(const char *name, int signer, Rx__Call *call, const ProtobufCMessage *doc)
{
	store_buf_t frame = fw_request(kp(signer), call, doc);
	Rx__Request *req = rx__request__unpack(NULL, frame.len, frame.data);
	uint8_t *at = req && req->signature.len == RX_SIG_LEN
			      ? memmem(frame.data, frame.len, req->signature.data, RX_SIG_LEN)
			      : NULL;
	if (at == NULL) {
		fprintf(stderr, "gen_corpus: %s: no signature to break\n", name);
		exit(1);
	}
	at[RX_SIG_LEN - 1] ^= 1;
	rx__request__free_unpacked(req, NULL);
	keep(name, &frame, RX_BAD_SIGNATURE);
	if (call->card)
		fw_signed_free(call->card);
}

/* ---- the calls ---- */

typedef struct {
	Rx__Call call;
	uint8_t rid[RX_REQUEST_ID_LEN];
	fw_rx_t prescription;
	fw_rec_t dispense;
	fw_part_t part;
	Rx__Signed card;
	const ProtobufCMessage *doc; /* &prescription.p.base, &dispense.d.base or NULL */
} req_t;

static Rx__Call *start(req_t *r, int op)
{
	fw_call(&r->call, r->rid, ++serial, op);
	r->doc = NULL;
	return &r->call;
}

static void with_card(req_t *r, int card, int purpose, const char *institution, int64_t at)
{
	fw_assertion(kp(card), purpose, institution, at, serial, &r->card);
	r->call.card = &r->card;
}

/* A SUBMIT of a prescription by FW_PRESCRIBER, not yet signed. */
static void submit_call(req_t *r, int signer, int card, uint32_t uses, size_t items, const char *notes)
{
	start(r, RX_OP_SUBMIT);
	fw_prescription(w, kp(card), FW_NOW - 60, 4, uses, items, notes, &r->prescription);
	r->doc = &r->prescription.p.base;
	with_card(r, card, RX__PURPOSE__PURPOSE_ISSUE, w->keys[signer].institution, FW_NOW);
}

static void submit(const char *name, int signer, int card, uint32_t uses, size_t items, const char *notes,
		   rx_err_t want)
{
	req_t r;
	submit_call(&r, signer, card, uses, items, notes);
	seed(name, signer, &r.call, r.doc, want);
}

/* An op on one of the world's prescriptions (a DISPENSE with its record),
 * with a card, a code or neither; not yet signed. */
static void about_call(req_t *r, int signer, int op, int rx, int card, int purpose, const char *code)
{
	start(r, op);
	r->call.prescription_id = (char *)w->rx[rx];
	if (op == RX_OP_RELEASE || op == RX_OP_DISPENSE) {
		r->call.claim_token.data = (uint8_t *)w->token[rx];
		r->call.claim_token.len = RX_TOKEN_LEN;
	}
	if (op == RX_OP_DISPENSE) {
		fw_dispense(kp(signer), w->rx[rx], rx == FW_RX_REFILL ? 1 : 0, &r->dispense);
		r->doc = &r->dispense.d.base;
	}
	if (card >= 0)
		with_card(r, card, purpose, w->keys[signer].institution, FW_NOW);
	if (code)
		r->call.access_code = (char *)code;
}

static void about(const char *name, int signer, int op, int rx, int card, int purpose, const char *code,
		  rx_err_t want)
{
	req_t r;
	about_call(&r, signer, op, rx, card, purpose, code);
	seed(name, signer, &r.call, r.doc, want);
}

/* Seeds for the steps protocol v2 added (proto/README 5.4: 7, 7a, 9a, P):
 * shapes no client makes, built from their parts with fw_envelope. */
static void v2_seeds(void)
{
	req_t r, o;
	store_buf_t call, other, doc, doc2, frame;
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f}; /* a truncated varint */
	const store_buf_t not_protobuf = {(uint8_t *)junk, sizeof junk};

	/* 7a: the signed prescription names another call (the same SUBMIT
	 * under another request id): BAD_SIGNATURE, though the signature holds. */
	submit_call(&r, FW_PRESCRIBER, FW_CARD, 1, 1, "");
	call = fw_pack(&r.call.base);
	r.rid[0] ^= 0xff;
	other = fw_pack(&r.call.base);
	doc = fw_bind(r.doc, &other);
	frame = fw_envelope(kp(FW_PRESCRIBER), &call, &doc, NULL);
	keep("submit-names-another-call", &frame, RX_BAD_SIGNATURE);
	store_buf_free(&other);
	store_buf_free(&doc);
	/* ... and one that names no call at all (no call_hash). */
	doc = fw_pack(r.doc);
	frame = fw_envelope(kp(FW_PRESCRIBER), &call, &doc, NULL);
	keep("submit-names-no-call", &frame, RX_BAD_SIGNATURE);
	store_buf_free(&doc);
	/* 7a: signed bytes that are no Prescription: INVALID. */
	frame = fw_envelope(kp(FW_PRESCRIBER), &call, &not_protobuf, NULL);
	keep("submit-prescription-not-protobuf", &frame, RX_INVALID);
	store_buf_free(&call);
	fw_signed_free(&r.card);

	/* 7a for a DISPENSE: its record bound to another claim token's call. */
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	call = fw_pack(&r.call.base);
	uint8_t token[RX_TOKEN_LEN];
	memset(token, 0x5a, sizeof token);
	r.call.claim_token.data = token;
	other = fw_pack(&r.call.base);
	doc = fw_bind(r.doc, &other);
	frame = fw_envelope(kp(FW_PHARMACY), &call, NULL, &doc);
	keep("dispense-names-another-call", &frame, RX_BAD_SIGNATURE);
	store_buf_free(&other);
	store_buf_free(&doc);
	frame = fw_envelope(kp(FW_PHARMACY), &call, NULL, &not_protobuf);
	keep("dispense-record-not-protobuf", &frame, RX_INVALID);
	store_buf_free(&call);

	/* 9a: both documents, each bound to the call: a SUBMIT carrying a
	 * dispense record too, and a DISPENSE carrying a prescription too (the
	 * prescription is what is signed then). */
	submit_call(&r, FW_PRESCRIBER, FW_CARD, 1, 1, "");
	about_call(&o, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	call = fw_pack(&r.call.base);
	doc = fw_bind(r.doc, &call);
	doc2 = fw_bind(o.doc, &call);
	frame = fw_envelope(kp(FW_PRESCRIBER), &call, &doc, &doc2);
	keep("submit-both-documents", &frame, RX_INVALID);
	store_buf_free(&call);
	store_buf_free(&doc);
	store_buf_free(&doc2);
	call = fw_pack(&o.call.base);
	doc = fw_bind(r.doc, &call);
	doc2 = fw_bind(o.doc, &call);
	frame = fw_envelope(kp(FW_PHARMACY), &call, &doc, &doc2);
	keep("dispense-both-documents", &frame, RX_INVALID);
	store_buf_free(&call);
	store_buf_free(&doc);
	store_buf_free(&doc2);
	fw_signed_free(&r.card);

	/* 9a: a document on an op that takes none, or takes the other one;
	 * each bound to its call and signed as a client would (rxc_frame does
	 * not look at the op). */
	fw_prescription(w, kp(FW_CARD), FW_NOW - 60, 4, 1, 1, "", &o.prescription);
	about_call(&r, FW_PRESCRIBER, RX_OP_CANCEL, FW_RX_ISSUED, -1, 0, NULL);
	seed("cancel-with-prescription", FW_PRESCRIBER, &r.call, &o.prescription.p.base, RX_INVALID);
	fw_dispense(kp(FW_PHARMACY), w->rx[FW_RX_CLAIMED], 0, &o.dispense);
	about_call(&r, FW_PHARMACY, RX_OP_STATUS, FW_RX_CLAIMED, -1, 0, NULL);
	seed("status-with-dispense-record", FW_PHARMACY, &r.call, &o.dispense.d.base, RX_INVALID);
	about_call(&r, FW_PHARMACY, RX_OP_CLAIM, FW_RX_ISSUED, FW_CARD, RX__PURPOSE__PURPOSE_DISPENSE, NULL);
	seed("claim-with-dispense-record", FW_PHARMACY, &r.call, &o.dispense.d.base, RX_INVALID);
	submit_call(&r, FW_PRESCRIBER, FW_CARD, 1, 1, "");
	seed("submit-with-dispense-record", FW_PRESCRIBER, &r.call, &o.dispense.d.base, RX_INVALID);
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	seed("dispense-with-prescription", FW_PHARMACY, &r.call, &o.prescription.p.base, RX_INVALID);
	/* ... and the two ops that need one, without: the call signed alone. */
	submit_call(&r, FW_PRESCRIBER, FW_CARD, 1, 1, "");
	seed("submit-without-prescription", FW_PRESCRIBER, &r.call, NULL, RX_INVALID);

	/* AMEND and WITHDRAW (5.12): the content rules, then a prescription
	 * nothing was dispensed of (claimed, not dispensed): not the caller's. */
	uint8_t replaced[RX_HASH_LEN] = {7};
	about_call(&r, FW_PHARMACY, RX_OP_AMEND, FW_RX_CLAIMED, -1, 0, NULL);
	fw_dispense(kp(FW_PHARMACY), w->rx[FW_RX_CLAIMED], 0, &r.dispense);
	r.doc = &r.dispense.d.base;
	seed("amend-without-replaces", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	r.dispense.d.replaces.data = replaced;
	r.dispense.d.replaces.len = RX_HASH_LEN;
	seed("amend-not-dispensed", FW_PHARMACY, &r.call, r.doc, RX_PERMISSION_DENIED);
	about_call(&r, FW_PHARMACY, RX_OP_WITHDRAW, FW_RX_CLAIMED, -1, 0, NULL);
	fw_dispense(kp(FW_PHARMACY), w->rx[FW_RX_CLAIMED], 0, &r.dispense);
	r.doc = &r.dispense.d.base;
	r.dispense.d.replaces.data = replaced;
	r.dispense.d.replaces.len = RX_HASH_LEN;
	r.dispense.d.withdraw_reason = RX__WITHDRAW_REASON__NOT_COLLECTED;
	seed("withdraw-with-lines", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	r.dispense.d.n_lines = 0;
	seed("withdraw-not-dispensed", FW_PHARMACY, &r.call, r.doc, RX_PERMISSION_DENIED);

	/* Divided dispensing (5.11): each use's days; as many parts as uses. */
	uint32_t parts[2] = {14, 14};
	submit_call(&r, FW_PRESCRIBER, FW_CARD, 2, 1, "divided");
	r.prescription.p.part_days = parts;
	r.prescription.p.n_part_days = 2;
	seed("submit-divided", FW_PRESCRIBER, &r.call, r.doc, RX_OK);
	submit_call(&r, FW_PRESCRIBER, FW_CARD, 3, 1, "divided wrong");
	r.prescription.p.part_days = parts;
	r.prescription.p.n_part_days = 2;
	seed("submit-parts-not-uses", FW_PRESCRIBER, &r.call, r.doc, RX_INVALID);
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	seed("dispense-without-record", FW_PHARMACY, &r.call, NULL, RX_INVALID);

	/* P: documents of version 1, bound and signed as in v2. */
	submit_call(&r, FW_PRESCRIBER, FW_CARD, 1, 1, "");
	r.prescription.p.version = 1;
	seed("submit-prescription-v1", FW_PRESCRIBER, &r.call, r.doc, RX_INVALID);
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	r.dispense.d.version = 1;
	seed("dispense-record-v1", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	/* P: a record signed by the caller but naming another pharmacy. */
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	fw_dispense(kp(FW_PHARMACY_OTHER), w->rx[FW_RX_CLAIMED], 0, &r.dispense);
	seed("dispense-not-pharmacy", FW_PHARMACY, &r.call, r.doc, RX_PERMISSION_DENIED);

	/* P: a record's lines (proto/README 2.5): the items of a record stored
	 * before lines; a handed item with a mark; a substitution without its
	 * reason.  S (5.10): a product of another ingredient. */
	Rx__Item *legacy[1];
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	legacy[0] = &r.dispense.item;
	r.dispense.d.items = legacy;
	r.dispense.d.n_items = 1;
	seed("dispense-legacy-items", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	r.dispense.item.no_change = 1;
	seed("dispense-handed-marked", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	r.dispense.line.outcome = RX__OUTCOME__SUBSTITUTED;
	seed("dispense-substituted-no-reason", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	r.dispense.line.outcome = RX__OUTCOME__SUBSTITUTED;
	r.dispense.line.reason = RX__LINE_REASON__GENERIC;
	r.dispense.item.drug_code = (char *)"1124009F1010"; /* brotizolam */
	seed("dispense-other-ingredient", FW_PHARMACY, &r.call, r.doc, RX_DIFFERENT_INGREDIENT);

	/* 7: a DISPENSE whose one signature is broken. */
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	seed_bad_signature("dispense-bad-signature", FW_PHARMACY, &r.call, r.doc);

	/* A retried DISPENSE (the world's) gets its stored reply: its identity
	 * is the hash of its record, which binds the call; its request id on
	 * another record (other notes, the same call) is CONFLICT. */
	store_buf_t again = {w->retry_dispense.data, w->retry_dispense.len};
	judge("retry-dispense", fw_dispatch(fw_reset(), &again, FW_NOW, NULL), RX_OK);
	write_file("dispatch", "retry-dispense", again.data, again.len);
	write_file("decode", "retry-dispense", again.data, again.len);
	Rx__Request *req = rx__request__unpack(NULL, again.len, again.data);
	Rx__DispenseRecord *d = req ? rx__dispense_record__unpack(NULL, req->dispense.len, req->dispense.data)
				    : NULL;
	if (d == NULL) {
		fprintf(stderr, "gen_corpus: the world's DISPENSE does not decode\n");
		exit(1);
	}
	call.data = req->call.data;
	call.len = req->call.len;
	char *notes = d->notes;
	d->notes = (char *)"a second record";
	doc = fw_bind(&d->base, &call);
	frame = fw_envelope(kp(FW_PHARMACY), &call, NULL, &doc);
	keep("dispense-request-id-reused", &frame, RX_CONFLICT);
	store_buf_free(&doc);
	d->notes = notes; /* the unpacked message's own, freed with it */
	rx__dispense_record__free_unpacked(d, NULL);
	rx__request__free_unpacked(req, NULL);
}

/* DISPENSE of FW_RX_PARTIAL by signer under its claim, with part part
 * (fw_part's), not yet signed. */
static void part_call(req_t *r, int signer, uint32_t part)
{
	about_call(r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_PARTIAL, -1, 0, NULL);
	fw_part(kp(signer), w->rx[FW_RX_PARTIAL], part, &r->part);
	r->doc = &r->part.d.base;
}

/* Partial fills (proto/README 5.13): the content rules (P) on the claimed
 * prescription's record; then the use owed (FW_RX_PARTIAL): its next part
 * in each form, the ones refused, and what its claim refuses. */
static void partial_seeds(void)
{
	const int none = -1, give = RX__PURPOSE__PURPOSE_DISPENSE;
	req_t r;

	/* P: a part of the claimed use: part 1 hands over 10 of 28 */
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, none, 0, NULL);
	r.dispense.d.part = 1;
	r.dispense.line.outcome = RX__OUTCOME__PARTIAL;
	r.dispense.line.reason = RX__LINE_REASON__OUT_OF_STOCK;
	r.dispense.item.quantity = 10;
	seed("dispense-part-1", FW_PHARMACY, &r.call, r.doc, RX_OK);
	r.dispense.line.reason = RX__LINE_REASON__GENERIC;
	seed("dispense-partial-bad-reason", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	r.dispense.line.reason = RX__LINE_REASON__PATIENT_REQUEST;
	r.dispense.d.part = 0;
	seed("dispense-partial-in-part-0", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	r.dispense.d.part = RX_MAX_PARTS;
	seed("dispense-partial-in-part-8", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	r.dispense.d.part = 2;
	seed("dispense-part-2-first", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	r.dispense.d.part = 1;
	r.dispense.item.quantity = 28;
	seed("dispense-partial-all", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, none, 0, NULL);
	r.dispense.d.part = 1;
	seed("dispense-part-1-nothing-owed", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	r.dispense.d.part = RX_MAX_PARTS + 1;
	seed("dispense-part-9", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	uint8_t replaced[RX_HASH_LEN] = {7};
	about_call(&r, FW_PHARMACY, RX_OP_AMEND, FW_RX_DISPENSED, none, 0, NULL);
	fw_dispense(kp(FW_PHARMACY), w->rx[FW_RX_DISPENSED], 0, &r.dispense);
	r.doc = &r.dispense.d.base;
	r.dispense.d.replaces.data = replaced;
	r.dispense.d.replaces.len = RX_HASH_LEN;
	r.dispense.d.part = 1;
	seed("amend-with-part", FW_PHARMACY, &r.call, r.doc, RX_INVALID);

	/* S: the use owed.  Its next part: the rest, some of it, or none of it */
	part_call(&r, FW_PHARMACY, 2);
	seed("dispense-part-2", FW_PHARMACY, &r.call, r.doc, RX_OK);
	r.part.line[0].outcome = RX__OUTCOME__PARTIAL;
	r.part.line[0].reason = RX__LINE_REASON__OTHER_REASON;
	r.part.item[0].quantity = 8;
	seed("dispense-part-2-partial", FW_PHARMACY, &r.call, r.doc, RX_OK);
	r.part.item[0].quantity = 18;
	seed("dispense-part-2-all-owed", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	r.part.line[0].outcome = RX__OUTCOME__NOT_DISPENSED;
	r.part.line[0].reason = RX__LINE_REASON__PATIENT_DECLINED;
	r.part.line[0].handed = NULL;
	seed("dispense-part-2-closed", FW_PHARMACY, &r.call, r.doc, RX_OK);
	/* ... refused: a part recorded, one that skips, a whole record, an
	 * item not owed, items out of order, another pharmacy */
	part_call(&r, FW_PHARMACY, 1);
	seed("dispense-part-again", FW_PHARMACY, &r.call, r.doc, RX_ALREADY_DISPENSED);
	r.part.d.part = 0;
	r.part.line[1].outcome = RX__OUTCOME__AS_WRITTEN;
	r.part.line[1].reason = RX__LINE_REASON__REASON_NONE;
	seed("dispense-part-whole", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	r.part.d.part = 2;
	r.part.d.n_lines = 1; /* item 1 alone: handed over in part 1 */
	seed("dispense-part-not-owed", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	r.part.lines[0] = &r.part.line[1];
	r.part.lines[1] = &r.part.line[0];
	r.part.d.n_lines = 2;
	seed("dispense-part-descending", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	part_call(&r, FW_PHARMACY, 3);
	seed("dispense-part-skips", FW_PHARMACY, &r.call, r.doc, RX_INVALID);
	part_call(&r, FW_PHARMACY_OTHER, 2);
	seed("dispense-part-other-pharmacy", FW_PHARMACY_OTHER, &r.call, r.doc, RX_PERMISSION_DENIED);
	/* the claim stays */
	about("release-partial", FW_PHARMACY, RX_OP_RELEASE, FW_RX_PARTIAL, none, 0, NULL, RX_PARTLY_DISPENSED);
	about("claim-partial-holder", FW_PHARMACY, RX_OP_CLAIM, FW_RX_PARTIAL, FW_CARD, give, NULL, RX_OK);
	about("claim-partial-other", FW_PHARMACY_OTHER, RX_OP_CLAIM, FW_RX_PARTIAL, FW_CARD, give, NULL,
	      RX_ALREADY_CLAIMED);
	about("cancel-partial", FW_PRESCRIBER, RX_OP_CANCEL, FW_RX_PARTIAL, none, 0, NULL, RX_OK);
	about("status-partial", FW_PHARMACY, RX_OP_STATUS, FW_RX_PARTIAL, none, 0, NULL, RX_OK);

	/* part 1 retried: its stored reply */
	store_buf_t again = {w->retry_part.data, w->retry_part.len};
	judge("retry-part", fw_dispatch(fw_reset(), &again, FW_NOW, NULL), RX_OK);
	write_file("dispatch", "retry-part", again.data, again.len);
	write_file("decode", "retry-part", again.data, again.len);
}

/* A patient's own list through PORTAL-1 (5.6), signed by FW_CARD with its
 * view assertion, of [from, until): OK, listing n of patient 1's
 * prescriptions (the world's are issued at FW_NOW - 3660, the two expired
 * ones at FW_NOW - 3 days - 60); tried and written. */
static void patient_list_seed(const char *name, int64_t from, int64_t until, size_t n)
{
	req_t r;
	Rx__Receipt *rc = NULL;
	start(&r, RX_OP_PATIENT_LIST);
	with_card(&r, FW_CARD, RX__PURPOSE__PURPOSE_VIEW, "PORTAL-1", FW_NOW);
	r.call.from = from;
	r.call.until = until;
	store_buf_t frame = fw_request(kp(FW_CARD), &r.call, NULL);
	rx_err_t got = fw_dispatch(fw_reset(), &frame, FW_NOW, &rc);
	if (got == RX_OK && (rc == NULL || rc->n_prescriptions != n)) {
		fprintf(stderr, "gen_corpus: %s: listed %zu, want %zu\n", name, rc ? rc->n_prescriptions : 0, n);
		got = RX_SYSTEM;
	}
	if (rc)
		rx__receipt__free_unpacked(rc, NULL);
	judge(name, got, RX_OK);
	write_file("dispatch", name, frame.data, frame.len);
	write_file("decode", name, frame.data, frame.len);
	store_buf_free(&frame);
	fw_signed_free(&r.card);
}

/* A patient's own read (PATIENT_LIST, or PATIENT_STATUS of id) signed by
 * signer, presenting card's assertion for purpose at PORTAL-1 (card < 0:
 * none); not yet signed. */
static void patient_call(req_t *r, int op, const char *id, int card, int purpose)
{
	start(r, op);
	r->call.prescription_id = (char *)(id ? id : "");
	if (card >= 0)
		with_card(r, card, purpose, "PORTAL-1", FW_NOW);
}

/* A patient's own reads (proto/README 5.6): the ranges a list keeps to
 * (from inclusive, until exclusive), one prescription with what was
 * dispensed of it, and what is refused: another patient's or an unknown
 * id, a range anywhere else or backwards, an access code, anywhere but a
 * portal, without the card or with another purpose, signed by another
 * card, a revoked card, an assertion used before. */
static void patient_seeds(void)
{
	const int none = -1, view = RX__PURPOSE__PURPOSE_VIEW;
	const int64_t issued = FW_NOW - 3660;
	req_t r;

	patient_list_seed("patient-list", 0, 0, 10);
	patient_list_seed("patient-list-range", FW_NOW - 86400, FW_NOW, 8);
	patient_list_seed("patient-list-from-inclusive", issued, issued + 1, 8);
	patient_list_seed("patient-list-until-exclusive", 0, issued, 2);
	patient_list_seed("patient-list-future", FW_NOW, 0, 0);

	patient_call(&r, RX_OP_PATIENT_STATUS, w->rx[FW_RX_DISPENSED], FW_CARD, view);
	seed("patient-status", FW_CARD, &r.call, NULL, RX_OK);
	patient_call(&r, RX_OP_PATIENT_STATUS, w->rx[FW_RX_PARTIAL], FW_CARD, view);
	seed("patient-status-partial", FW_CARD, &r.call, NULL, RX_OK);
	patient_call(&r, RX_OP_PATIENT_STATUS, w->rx[FW_RX_OTHER_PATIENT], FW_CARD, view);
	seed("patient-status-other-patient", FW_CARD, &r.call, NULL, RX_NOT_FOUND);
	char nobody[RX_ID_LEN + 1], raw[12] = "00000000000";
	raw[11] = rx_check37(raw, 11);
	snprintf(nobody, sizeof nobody, "%.4s-%.4s-%.4s", raw, raw + 4, raw + 8);
	patient_call(&r, RX_OP_PATIENT_STATUS, nobody, FW_CARD, view);
	seed("patient-status-not-found", FW_CARD, &r.call, NULL, RX_NOT_FOUND);
	nobody[RX_ID_LEN - 1] = nobody[RX_ID_LEN - 1] == '0' ? '1' : '0';
	patient_call(&r, RX_OP_PATIENT_STATUS, nobody, FW_CARD, view);
	seed("patient-status-bad-id", FW_CARD, &r.call, NULL, RX_INVALID);
	patient_call(&r, RX_OP_PATIENT_STATUS, w->rx[FW_RX_ISSUED], FW_CARD, view);
	r.call.access_code = (char *)w->code[FW_RX_ISSUED];
	seed("patient-status-access-code", FW_CARD, &r.call, NULL, RX_INVALID);
	patient_call(&r, RX_OP_PATIENT_STATUS, w->rx[FW_RX_ISSUED], FW_CARD, view);
	r.call.from = issued;
	seed("patient-status-range", FW_CARD, &r.call, NULL, RX_INVALID);
	about_call(&r, FW_PRESCRIBER, RX_OP_STATUS, FW_RX_ISSUED, none, 0, NULL);
	r.call.until = FW_NOW;
	seed("status-range", FW_PRESCRIBER, &r.call, NULL, RX_INVALID);
	patient_call(&r, RX_OP_PATIENT_LIST, NULL, FW_CARD, view);
	r.call.from = FW_NOW;
	r.call.until = issued;
	seed("patient-list-backwards", FW_CARD, &r.call, NULL, RX_INVALID);
	patient_call(&r, RX_OP_PATIENT_LIST, NULL, FW_CARD, view);
	r.call.from = -1;
	seed("patient-list-negative", FW_CARD, &r.call, NULL, RX_INVALID);

	/* Who may read: the card itself, through a portal, for viewing. */
	start(&r, RX_OP_PATIENT_LIST);
	with_card(&r, FW_CARD, view, "PHARM-1", FW_NOW);
	seed("patient-list-via-pharmacy", FW_PHARMACY, &r.call, NULL, RX_PERMISSION_DENIED);
	patient_call(&r, RX_OP_PATIENT_LIST, NULL, none, 0);
	seed("patient-list-no-card", FW_CARD, &r.call, NULL, RX_INVALID);
	patient_call(&r, RX_OP_PATIENT_LIST, NULL, FW_CARD, RX__PURPOSE__PURPOSE_DISPENSE);
	seed("patient-list-wrong-purpose", FW_CARD, &r.call, NULL, RX_ASSERTION_MISMATCH);
	patient_call(&r, RX_OP_PATIENT_STATUS, w->rx[FW_RX_ISSUED], FW_CARD, view);
	seed("patient-status-other-signer", FW_CARD_OTHER, &r.call, NULL, RX_ASSERTION_MISMATCH);
	patient_call(&r, RX_OP_PATIENT_LIST, NULL, FW_CARD_REVOKED, view);
	seed("patient-list-revoked-card", FW_CARD_REVOKED, &r.call, NULL, RX_CARD_REVOKED);
	/* the world's LIST at FW_NOW - 60 used this assertion's time and nonce */
	start(&r, RX_OP_PATIENT_LIST);
	fw_assertion(kp(FW_CARD), view, "PORTAL-1", FW_NOW - 60, w->card_nonce, &r.card);
	r.call.card = &r.card;
	seed("patient-list-replayed-card", FW_CARD, &r.call, NULL, RX_ASSERTION_REPLAYED);
}

static void request_seeds(void)
{
	const int none = -1, issue = RX__PURPOSE__PURPOSE_ISSUE, give = RX__PURPOSE__PURPOSE_DISPENSE,
		  view = RX__PURPOSE__PURPOSE_VIEW;
	char wrong[RX_ACCESS_CODE_LEN + 1];
	req_t r;

	/* Every op, as it succeeds. */
	submit("submit", FW_PRESCRIBER, FW_CARD, 1, 1, "", RX_OK);
	submit("submit-refill-notes", FW_PRESCRIBER, FW_CARD, 3, 3,
	       "一包化してください.\nGeneric substitution allowed.", RX_OK);
	submit("submit-32-items", FW_PRESCRIBER, FW_CARD, 1, RX_MAX_ITEMS, "", RX_OK);
	about("claim-card", FW_PHARMACY, RX_OP_CLAIM, FW_RX_ISSUED, FW_CARD, give, NULL, RX_OK);
	about("claim-code", FW_PHARMACY, RX_OP_CLAIM, FW_RX_ISSUED, none, 0, w->code[FW_RX_ISSUED], RX_OK);
	about("release", FW_PHARMACY, RX_OP_RELEASE, FW_RX_CLAIMED, none, 0, NULL, RX_OK);
	about("release-cancel-pending", FW_PHARMACY, RX_OP_RELEASE, FW_RX_CANCEL_PENDING, none, 0, NULL, RX_OK);
	about("dispense", FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, none, 0, NULL, RX_OK);
	about("dispense-refill", FW_PHARMACY, RX_OP_DISPENSE, FW_RX_REFILL, none, 0, NULL, RX_OK);
	about("cancel", FW_PRESCRIBER, RX_OP_CANCEL, FW_RX_ISSUED, none, 0, NULL, RX_OK);
	about("cancel-claimed", FW_PRESCRIBER, RX_OP_CANCEL, FW_RX_CLAIMED, none, 0, NULL, RX_OK);
	about("status-prescriber", FW_PRESCRIBER, RX_OP_STATUS, FW_RX_ISSUED, none, 0, NULL, RX_OK);
	about("status-claimer", FW_PHARMACY, RX_OP_STATUS, FW_RX_CLAIMED, none, 0, NULL, RX_OK);
	about("status-card", FW_PHARMACY_OTHER, RX_OP_STATUS, FW_RX_ISSUED, FW_CARD, give, NULL, RX_OK);
	about("status-code", FW_PHARMACY_OTHER, RX_OP_STATUS, FW_RX_ISSUED, none, 0, w->code[FW_RX_ISSUED],
	      RX_OK);

	start(&r, RX_OP_LIST);
	r.call.patient_id = (char *)w->patient;
	with_card(&r, FW_CARD, give, "PHARM-1", FW_NOW);
	seed("list-card", FW_PHARMACY, &r.call, NULL, RX_OK);
	start(&r, RX_OP_LIST);
	with_card(&r, FW_CARD, view, "CLINIC-1", FW_NOW);
	seed("list-view", FW_PRESCRIBER, &r.call, NULL, RX_OK);
	about("list-code", FW_PHARMACY_OTHER, RX_OP_LIST, FW_RX_ISSUED, none, 0, w->code[FW_RX_ISSUED], RX_OK);
	start(&r, RX_OP_LOG);
	with_card(&r, FW_CARD, view, "PORTAL-1", FW_NOW);
	seed("log", FW_CARD, &r.call, NULL, RX_OK);
	start(&r, RX_OP_NOMINATE);
	r.call.pharmacy_code = (char *)"PHARM-1";
	with_card(&r, FW_CARD, RX__PURPOSE__PURPOSE_NOMINATE, "PORTAL-1", FW_NOW);
	seed("nominate", FW_CARD, &r.call, NULL, RX_OK);
	start(&r, RX_OP_WATCH);
	seed("watch", FW_PHARMACY, &r.call, NULL, RX_OK);
	static uint64_t seqs[] = {1, 2};
	start(&r, RX_OP_ACK);
	r.call.ack = seqs;
	r.call.n_ack = 2;
	seed("ack", FW_PHARMACY, &r.call, NULL, RX_OK);

	/* Refusals deep in the path, one per code the store decides. */
	about("claim-taken", FW_PHARMACY_OTHER, RX_OP_CLAIM, FW_RX_CLAIMED, FW_CARD, give, NULL,
	      RX_ALREADY_CLAIMED);
	about("claim-dispensed", FW_PHARMACY_OTHER, RX_OP_CLAIM, FW_RX_DISPENSED, FW_CARD, give, NULL,
	      RX_ALREADY_DISPENSED);
	about("claim-cancelled", FW_PHARMACY, RX_OP_CLAIM, FW_RX_CANCELLED, FW_CARD, give, NULL, RX_CANCELLED);
	about("claim-expired", FW_PHARMACY, RX_OP_CLAIM, FW_RX_EXPIRED, FW_CARD, give, NULL, RX_EXPIRED);
	about("claim-locked", FW_PHARMACY, RX_OP_CLAIM, FW_RX_LOCKED, none, 0, w->code[FW_RX_LOCKED],
	      RX_ACCESS_LOCKED);
	snprintf(wrong, sizeof wrong, "%s", w->code[FW_RX_LOCKED]);
	about("claim-wrong-code", FW_PHARMACY, RX_OP_CLAIM, FW_RX_ISSUED, none, 0, wrong, RX_BAD_ACCESS_CODE);
	about("claim-revoked-card", FW_PHARMACY, RX_OP_CLAIM, FW_RX_ISSUED, FW_CARD_REVOKED, give, NULL,
	      RX_CARD_REVOKED);
	about("claim-other-patient", FW_PHARMACY, RX_OP_CLAIM, FW_RX_OTHER_PATIENT, FW_CARD, give, NULL,
	      RX_ASSERTION_MISMATCH);
	about("claim-wrong-purpose", FW_PHARMACY, RX_OP_CLAIM, FW_RX_ISSUED, FW_CARD, issue, NULL,
	      RX_ASSERTION_MISMATCH);
	about("claim-shut-institution", FW_PHARMACY_SHUT, RX_OP_CLAIM, FW_RX_ISSUED, FW_CARD, give, NULL,
	      RX_KEY_REVOKED);
	about("cancel-other-clinic", FW_PRESCRIBER_OTHER, RX_OP_CANCEL, FW_RX_ISSUED, none, 0, NULL,
	      RX_PERMISSION_DENIED);
	about("release-not-claimer", FW_PHARMACY_OTHER, RX_OP_RELEASE, FW_RX_CLAIMED, none, 0, NULL,
	      RX_PERMISSION_DENIED);
	submit("submit-not-prescriber", FW_PRESCRIBER_OTHER, FW_CARD, 1, 1, "", RX_PERMISSION_DENIED);
	about("status-revoked-key", FW_PRESCRIBER_REVOKED, RX_OP_STATUS, FW_RX_ISSUED, none, 0, NULL,
	      RX_KEY_REVOKED);
	about("status-stranger", FW_STRANGER, RX_OP_STATUS, FW_RX_ISSUED, none, 0, NULL, RX_UNKNOWN_KEY);

	start(&r, RX_OP_CLAIM);
	r.call.prescription_id = (char *)w->rx[FW_RX_ISSUED];
	with_card(&r, FW_CARD, give, "PHARM-1", FW_NOW - 1000);
	seed("claim-stale-card", FW_PHARMACY, &r.call, NULL, RX_ASSERTION_STALE);
	about("dispense-again", FW_PHARMACY, RX_OP_DISPENSE, FW_RX_DISPENSED, none, 0, NULL,
	      RX_ALREADY_DISPENSED);
	about("dispense-cancel-pending", FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CANCEL_PENDING, none, 0, NULL,
	      RX_CANCELLED);
	about("dispense-expired", FW_PHARMACY, RX_OP_DISPENSE, FW_RX_EXPIRED_CLAIMED, none, 0, NULL,
	      RX_EXPIRED);
	about("release-expired", FW_PHARMACY, RX_OP_RELEASE, FW_RX_EXPIRED_CLAIMED, none, 0, NULL, RX_OK);
	about("claim-cancel-pending", FW_PHARMACY_OTHER, RX_OP_CLAIM, FW_RX_CANCEL_PENDING, FW_CARD, give,
	      NULL, RX_CANCELLED);
	about("cancel-dispensed", FW_PRESCRIBER, RX_OP_CANCEL, FW_RX_DISPENSED, none, 0, NULL,
	      RX_ALREADY_DISPENSED);
	about("cancel-cancelled", FW_PRESCRIBER, RX_OP_CANCEL, FW_RX_CANCELLED, none, 0, NULL, RX_CANCELLED);
	about("cancel-expired", FW_PRESCRIBER, RX_OP_CANCEL, FW_RX_EXPIRED, none, 0, NULL, RX_EXPIRED);
	about("cancel-pending-again", FW_PRESCRIBER, RX_OP_CANCEL, FW_RX_CANCEL_PENDING, none, 0, NULL,
	      RX_CANCELLED);
	about("status-other-prescriber", FW_PRESCRIBER_OTHER, RX_OP_STATUS, FW_RX_ISSUED, none, 0, NULL,
	      RX_PERMISSION_DENIED);
	about("status-dispenser", FW_PHARMACY, RX_OP_STATUS, FW_RX_DISPENSED, none, 0, NULL, RX_OK);
	about("status-stolen-key", FW_STOLEN, RX_OP_STATUS, FW_RX_ISSUED, none, 0, NULL, RX_PERMISSION_DENIED);
	about("status-unregistered-peer", FW_NO_SUCH_PEER, RX_OP_STATUS, FW_RX_ISSUED, none, 0, NULL,
	      RX_PERMISSION_DENIED);

	/* A retry of the world's last request gets its stored reply; its
	 * request id on other bytes is CONFLICT. */
	store_buf_t retry = {w->retry.data, w->retry.len};
	judge("retry", fw_dispatch(fw_reset(), &retry, FW_NOW, NULL), RX_OK);
	write_file("dispatch", "retry", retry.data, retry.len);
	write_file("decode", "retry", retry.data, retry.len);
	fw_call(&r.call, r.rid, w->retry_rid, RX_OP_CANCEL);
	r.call.prescription_id = (char *)w->rx[FW_RX_ISSUED];
	seed("request-id-reused", FW_PRESCRIBER, &r.call, NULL, RX_CONFLICT);

	/* A card assertion the world has recorded (its LIST at FW_NOW - 60). */
	start(&r, RX_OP_CLAIM);
	r.call.prescription_id = (char *)w->rx[FW_RX_ISSUED];
	fw_assertion(kp(FW_CARD), give, "PHARM-1", FW_NOW - 60, w->card_nonce, &r.card);
	r.call.card = &r.card;
	seed("claim-replayed-card", FW_PHARMACY, &r.call, NULL, RX_ASSERTION_REPLAYED);

	char nobody[RX_ID_LEN + 1], raw[12] = "00000000000";
	raw[11] = rx_check37(raw, 11);
	snprintf(nobody, sizeof nobody, "%.4s-%.4s-%.4s", raw, raw + 4, raw + 8);
	start(&r, RX_OP_STATUS);
	r.call.prescription_id = nobody;
	seed("status-not-found", FW_PRESCRIBER, &r.call, NULL, RX_NOT_FOUND);

	submit_call(&r, FW_PRESCRIBER, FW_CARD, 1, 1, "");
	seed_bad_signature("submit-bad-signature", FW_PRESCRIBER, &r.call, r.doc);

	v2_seeds();
	partial_seeds();
	/* Last: each seed's request id and nonce come from a serial, so the
	 * seeds before keep their bytes. */
	patient_seeds();
}

/* ---- admin ---- */

static void admin(const char *name, const Rx__AdminRequest *q, rx_err_t want)
{
	size_t n = rx__admin_request__get_packed_size(q);
	uint8_t *buf = malloc(n ? n : 1);
	if (buf == NULL)
		exit(1);
	rx__admin_request__pack(q, buf);
	judge(name, fw_admin(fw_reset(), buf, n), want);
	write_file("admin", name, buf, n);
	free(buf);
}

static void admin_seeds(void)
{
	Rx__AdminRequest q;
	Rx__KeyInfo ki;
	Rx__InstitutionInfo ii;
	uint8_t fresh[32];
	const uint8_t *card = w->keys[FW_CARD].kp.pk;
	memset(fresh, 0x77, sizeof fresh);

#define Q(op_)                                    \
	do {                                      \
		rx__admin_request__init(&q);      \
		q.op = (op_);                     \
	} while (0)

	Q(RX__ADMIN_OP__KEY_ADD);
	rx__key_info__init(&ki);
	ki.key.data = fresh;
	ki.key.len = 32;
	ki.role = RX__ROLE__PHARMACY;
	ki.institution_code = (char *)"PHARM-2";
	ki.name = (char *)"薬局 2 の新しい鍵";
	q.key = &ki;
	admin("key-add", &q, RX_OK);
	ki.key.data = (uint8_t *)w->keys[FW_PHARMACY].kp.pk;
	admin("key-add-taken", &q, RX_CONFLICT);
	ki.key.data = fresh;
	ki.institution_code = (char *)"CLINIC-1";
	admin("key-add-wrong-kind", &q, RX_INVALID);
	Q(RX__ADMIN_OP__KEY_LIST);
	admin("key-list", &q, RX_OK);
	Q(RX__ADMIN_OP__KEY_REVOKE);
	rx__key_info__init(&ki);
	ki.key.data = (uint8_t *)w->keys[FW_PRESCRIBER].kp.pk;
	ki.key.len = 32;
	q.key = &ki;
	admin("key-revoke", &q, RX_OK);
	Q(RX__ADMIN_OP__PATIENT_ENROLL);
	q.patient_id = (char *)w->patient;
	admin("patient-enroll", &q, RX_OK);
	Q(RX__ADMIN_OP__STATS);
	admin("stats", &q, RX_OK);
	Q(RX__ADMIN_OP__INSTITUTION_ADD);
	rx__institution_info__init(&ii);
	ii.code = (char *)"PHARM-3";
	ii.kind = RX__INSTITUTION_KIND__PHARMACY_SITE;
	ii.name = (char *)"さくら薬局";
	ii.curve_key.data = fresh;
	ii.curve_key.len = 32;
	q.institution = &ii;
	admin("institution-add", &q, RX_OK);
	Q(RX__ADMIN_OP__INSTITUTION_LIST);
	admin("institution-list", &q, RX_OK);
	Q(RX__ADMIN_OP__INSTITUTION_REVOKE);
	rx__institution_info__init(&ii);
	ii.code = (char *)"PHARM-1";
	q.institution = &ii;
	admin("institution-revoke", &q, RX_OK);
	Q(RX__ADMIN_OP__CARD_ENROLL);
	q.card.data = fresh;
	q.card.len = 32;
	q.patient_id = (char *)w->patient;
	admin("card-enroll", &q, RX_OK);
	Q(RX__ADMIN_OP__CARD_REVOKE);
	q.card.data = (uint8_t *)card;
	q.card.len = 32;
	admin("card-revoke", &q, RX_OK);
	Q(RX__ADMIN_OP__CARD_LIST);
	admin("card-list", &q, RX_OK);
	Q(RX__ADMIN_OP__RX_UNLOCK);
	q.prescription_id = (char *)w->rx[FW_RX_LOCKED];
	admin("rx-unlock", &q, RX_OK);
	Q(RX__ADMIN_OP__AUDIT_VERIFY);
	admin("audit-verify", &q, RX_OK);
	Q(RX__ADMIN_OP__AUDIT_TAIL);
	q.count = 50;
	admin("audit-tail", &q, RX_OK);
	Q(RX__ADMIN_OP__AUDIT_PATIENT);
	q.patient_id = (char *)w->patient;
	admin("audit-patient", &q, RX_OK);
	/* patient 2's: the world's inquiries, and FW_RX_AGREED, the last
	 * prescription filed, walked to the end of the table */
	q.patient_id = (char *)w->patient_other;
	admin("audit-patient-inquiries", &q, RX_OK);
	Q(RX__ADMIN_OP__AUDIT_REPORT);
	q.day = (char *)"2026-03-02";
	admin("audit-report", &q, RX_OK);
	q.day = (char *)"2026-03-01"; /* the day the operator revoked a key, a card, an institution */
	admin("audit-report-operator", &q, RX_OK);
	Q(RX__ADMIN_OP__RX_SHOW);
	q.prescription_id = (char *)w->rx[FW_RX_DISPENSED];
	q.body = 1;
	admin("rx-show-body", &q, RX_OK);
	Q(RX__ADMIN_OP__RX_LIST);
	q.state = RX__STATE__CLAIMED;
	admin("rx-list", &q, RX_OK);
	Q(RX__ADMIN_OP__RX_RELEASE);
	q.prescription_id = (char *)w->rx[FW_RX_CANCEL_PENDING];
	q.reason = (char *)"pharmacy closed for the day";
	admin("rx-release", &q, RX_OK);
	q.prescription_id = (char *)w->rx[FW_RX_PARTIAL]; /* its rest is the claimer's to hand over */
	admin("rx-release-partial", &q, RX_PARTLY_DISPENSED);
	Q(RX__ADMIN_OP__EXPIRE);
	admin("expire", &q, RX_OK);
	Q(RX__ADMIN_OP__METRICS);
	admin("metrics", &q, RX_OK);
	Q((Rx__AdminOp)99);
	admin("unknown-op", &q, RX_INVALID);
#undef Q
}

/* ---- the pharmacist's inquiry (5.14) and the cancel reason (5.5) ----
 * On the world as it is: FW_RX_CLAIMED, held by FW_PHARMACY, has no
 * inquiry, so an answer finds none open and a dispense citing one finds
 * nothing agreed. */

typedef struct {
	Rx__Inquiry q;
	Rx__InquiryReply a;
	Rx__Change ch[2], *chs[2];
	Rx__Item to[2];
} ask_t;

/* A dose question proposing item 1 as amlodipine 2.5 mg (by telephone,
 * settled with outcome, if outcome is set); an answer to inquiry 1
 * accepting that. */
static void ask_init(ask_t *a, int outcome)
{
	rx__inquiry__init(&a->q);
	rx__inquiry_reply__init(&a->a);
	for (int i = 0; i < 2; i++) {
		rx__item__init(&a->to[i]);
		a->to[i].drug_code = (char *)FW_AGREED_DRUG;
		a->to[i].name = (char *)"ノルバスク錠2.5mg";
		a->to[i].dose = (char *)"1 tablet";
		a->to[i].unit = (char *)"tablet";
		a->to[i].usage = (char *)"once daily after breakfast";
		a->to[i].days = a->to[i].quantity = 28;
		rx__change__init(&a->ch[i]);
		a->ch[i].item = (uint32_t)i + 1;
		a->ch[i].to = &a->to[i];
		a->chs[i] = &a->ch[i];
	}
	a->q.reason = RX__INQUIRY_REASON__INQUIRY_DOSE;
	a->q.text = (char *)"5 mg for an 82-year-old with low blood pressure: 2.5 mg?";
	if (outcome) {
		a->q.by_phone = 1;
		a->q.phoned = (char *)"Dr. Sato, by telephone";
		a->q.phoned_at = FW_NOW - 60;
		a->q.outcome = (Rx__Answer)outcome;
		if (outcome == RX__ANSWER__ANSWER_ACCEPT) {
			a->q.n_agreed = 1;
			a->q.agreed = a->chs;
		}
	} else {
		a->q.n_proposed = 1;
		a->q.proposed = a->chs;
	}
	a->a.inquiry = 1;
	a->a.answer = RX__ANSWER__ANSWER_ACCEPT;
	a->a.text = (char *)"yes, 2.5 mg";
	a->a.n_agreed = 1;
	a->a.agreed = a->chs;
}

/* INQUIRE of prescription rx under its claim token, with q, signed by signer. */
static void inquire(const char *name, int signer, int rx, Rx__Inquiry *q, rx_err_t want)
{
	req_t r;
	start(&r, RX_OP_INQUIRE);
	r.call.prescription_id = (char *)w->rx[rx];
	r.call.claim_token.data = (uint8_t *)w->token[rx];
	r.call.claim_token.len = RX_TOKEN_LEN;
	r.call.inquiry = q;
	seed(name, signer, &r.call, NULL, want);
}

/* INQUIRY_REPLY of prescription rx with a, signed by signer. */
static void answer(const char *name, int signer, int rx, Rx__InquiryReply *a, rx_err_t want)
{
	req_t r;
	start(&r, RX_OP_INQUIRY_REPLY);
	r.call.prescription_id = (char *)w->rx[rx];
	r.call.inquiry_reply = a;
	seed(name, signer, &r.call, NULL, want);
}

/* op of rx by FW_PRESCRIBER with a cancel reason. */
static void cancel_reason(const char *name, int op, int rx, int reason, rx_err_t want)
{
	req_t r;
	start(&r, op);
	r.call.prescription_id = (char *)w->rx[rx];
	r.call.cancel_reason = (Rx__CancelReason)reason;
	seed(name, FW_PRESCRIBER, &r.call, NULL, want);
}

static void inquiry_seeds(void)
{
	ask_t a;
	req_t r;

	ask_init(&a, 0);
	inquire("inquire", FW_PHARMACY, FW_RX_CLAIMED, &a.q, RX_OK);
	ask_init(&a, RX__ANSWER__ANSWER_ACCEPT);
	inquire("inquire-by-phone", FW_PHARMACY, FW_RX_CLAIMED, &a.q, RX_OK);
	ask_init(&a, RX__ANSWER__ANSWER_KEEP);
	inquire("inquire-by-phone-keep", FW_PHARMACY, FW_RX_CLAIMED, &a.q, RX_OK);
	ask_init(&a, 0);
	a.q.reason = RX__INQUIRY_REASON__INQUIRY_REASON_NONE;
	inquire("inquire-no-reason", FW_PHARMACY, FW_RX_CLAIMED, &a.q, RX_INVALID);
	ask_init(&a, 0);
	a.q.phoned_at = FW_NOW - 60;
	inquire("inquire-phoned-not-by-phone", FW_PHARMACY, FW_RX_CLAIMED, &a.q, RX_INVALID);
	ask_init(&a, RX__ANSWER__ANSWER_CANCEL);
	inquire("inquire-phoned-cancel", FW_PHARMACY, FW_RX_CLAIMED, &a.q, RX_INVALID);
	ask_init(&a, 0);
	a.q.proposed = &a.chs[1]; /* item 2 of a prescription of one */
	inquire("inquire-item-missing", FW_PHARMACY, FW_RX_CLAIMED, &a.q, RX_INVALID);
	ask_init(&a, 0);
	a.to[0].no_change = 1;
	inquire("inquire-change-marked", FW_PHARMACY, FW_RX_CLAIMED, &a.q, RX_INVALID);
	ask_init(&a, 0);
	inquire("inquire-by-prescriber", FW_PRESCRIBER, FW_RX_CLAIMED, &a.q, RX_PERMISSION_DENIED);
	inquire("inquire-not-holder", FW_PHARMACY_OTHER, FW_RX_CLAIMED, &a.q, RX_PERMISSION_DENIED);
	inquire("inquire-dispensed", FW_PHARMACY, FW_RX_DISPENSED, &a.q, RX_ALREADY_DISPENSED);
	inquire("inquire-cancel-pending", FW_PHARMACY, FW_RX_CANCEL_PENDING, &a.q, RX_CANCELLED);
	inquire("inquire-without-inquiry", FW_PHARMACY, FW_RX_CLAIMED, NULL, RX_INVALID);
	start(&r, RX_OP_STATUS);
	r.call.prescription_id = (char *)w->rx[FW_RX_CLAIMED];
	r.call.inquiry = &a.q;
	seed("status-with-inquiry", FW_PHARMACY, &r.call, NULL, RX_INVALID);

	ask_init(&a, 0);
	answer("inquiry-reply-none-open", FW_PRESCRIBER, FW_RX_CLAIMED, &a.a, RX_INVALID);
	answer("inquiry-reply-other-clinic", FW_PRESCRIBER_OTHER, FW_RX_CLAIMED, &a.a, RX_PERMISSION_DENIED);
	answer("inquiry-reply-by-pharmacy", FW_PHARMACY, FW_RX_CLAIMED, &a.a, RX_PERMISSION_DENIED);
	a.a.answer = RX__ANSWER__ANSWER_CANCEL;
	a.a.n_agreed = 0;
	answer("inquiry-reply-cancel-no-reason", FW_PRESCRIBER, FW_RX_CLAIMED, &a.a, RX_INVALID);
	a.a.cancel_reason = RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR;
	answer("inquiry-reply-cancel", FW_PRESCRIBER, FW_RX_CLAIMED, &a.a, RX_INVALID);
	answer("inquiry-reply-without-answer", FW_PRESCRIBER, FW_RX_CLAIMED, NULL, RX_INVALID);

	/* A dispense citing an inquiry never asked; one changing item 1 for
	 * reason INQUIRY, citing none. */
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	r.dispense.d.inquiry = 1;
	seed("dispense-cites-inquiry", FW_PHARMACY, &r.call, r.doc, RX_NOT_AGREED);
	about_call(&r, FW_PHARMACY, RX_OP_DISPENSE, FW_RX_CLAIMED, -1, 0, NULL);
	r.dispense.item.drug_code = (char *)"2171022F1029";
	r.dispense.line.outcome = RX__OUTCOME__SUBSTITUTED;
	r.dispense.line.reason = RX__LINE_REASON__INQUIRY;
	seed("dispense-reason-inquiry", FW_PHARMACY, &r.call, r.doc, RX_NOT_AGREED);

	cancel_reason("cancel-reason", RX_OP_CANCEL, FW_RX_ISSUED, RX__CANCEL_REASON__CANCEL_PATIENT_REQUEST, RX_OK);
	cancel_reason("cancel-reason-6", RX_OP_CANCEL, FW_RX_ISSUED, 6, RX_INVALID);
	cancel_reason("cancel-reason-negative", RX_OP_CANCEL, FW_RX_ISSUED, -1, RX_INVALID);
	cancel_reason("status-cancel-reason", RX_OP_STATUS, FW_RX_ISSUED, RX__CANCEL_REASON__CANCEL_OTHER, RX_INVALID);
}

/* A DISPENSE of rx under its claim handing item 1 over as drug, SUBSTITUTED
 * for reason, citing inquiry cite (0: none); not yet signed. */
static void dispense_changed(req_t *r, int rx, const char *drug, const char *name, int reason, uint32_t cite)
{
	about_call(r, FW_PHARMACY, RX_OP_DISPENSE, rx, -1, 0, NULL);
	r->dispense.item.drug_code = (char *)drug;
	r->dispense.item.name = (char *)name;
	r->dispense.line.outcome = RX__OUTCOME__SUBSTITUTED;
	r->dispense.line.reason = (Rx__LineReason)reason;
	r->dispense.d.inquiry = cite;
}

/* ---- the inquiries the world holds (5.14) ----
 * FW_RX_INQUIRING's inquiry 1 is open; FW_RX_AGREED's was answered ACCEPT,
 * agreeing to item 1 as FW_AGREED_DRUG.  Both items are marked no_change,
 * so only an agreed change lets another product through. */
static void inquiry_world_seeds(void)
{
	const int none = -1, inquiry = RX__LINE_REASON__INQUIRY, generic = RX__LINE_REASON__GENERIC;
	static const char agreed_name[] = "ノルバスク錠２．５ｍｇ";
	/* another maker's 2.5 mg: the same change, but not the product agreed */
	static const char other[] = "2171022F1045", other_name[] = "アムロジン錠２．５ｍｇ";
	ask_t a;
	req_t r;

	/* The open one: answered (each answer), waited for, still released or
	 * cancelled. */
	ask_init(&a, 0);
	answer("inquiry-reply-open", FW_PRESCRIBER, FW_RX_INQUIRING, &a.a, RX_OK);
	a.a.answer = RX__ANSWER__ANSWER_KEEP;
	a.a.n_agreed = 0;
	answer("inquiry-reply-open-keep", FW_PRESCRIBER, FW_RX_INQUIRING, &a.a, RX_OK);
	a.a.answer = RX__ANSWER__ANSWER_CANCEL;
	a.a.cancel_reason = RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR;
	answer("inquiry-reply-open-cancel", FW_PRESCRIBER, FW_RX_INQUIRING, &a.a, RX_OK);
	about("dispense-inquiry-pending", FW_PHARMACY, RX_OP_DISPENSE, FW_RX_INQUIRING, none, 0, NULL,
	      RX_INQUIRY_PENDING);
	ask_init(&a, 0);
	inquire("inquire-while-open", FW_PHARMACY, FW_RX_INQUIRING, &a.q, RX_INQUIRY_PENDING);
	ask_init(&a, RX__ANSWER__ANSWER_KEEP);
	inquire("inquire-by-phone-while-open", FW_PHARMACY, FW_RX_INQUIRING, &a.q, RX_OK);
	about("release-inquiring", FW_PHARMACY, RX_OP_RELEASE, FW_RX_INQUIRING, none, 0, NULL, RX_OK);
	about("cancel-inquiring", FW_PRESCRIBER, RX_OP_CANCEL, FW_RX_INQUIRING, none, 0, NULL, RX_OK);

	/* The answered one: no second answer; a new inquiry; its STATUS. */
	ask_init(&a, 0);
	answer("inquiry-reply-answered", FW_PRESCRIBER, FW_RX_AGREED, &a.a, RX_INVALID);
	inquire("inquire-after-answer", FW_PHARMACY, FW_RX_AGREED, &a.q, RX_OK);
	about("status-inquiries", FW_PHARMACY, RX_OP_STATUS, FW_RX_AGREED, none, 0, NULL, RX_OK);

	/* Following the answer: the agreed product citing it passes the mark
	 * (for reason INQUIRY or any other); without the citation the mark
	 * refuses it; another product is covered by nothing: NOT_AGREED for
	 * reason INQUIRY, the mark's refusal for any other. */
	dispense_changed(&r, FW_RX_AGREED, FW_AGREED_DRUG, agreed_name, inquiry, 1);
	seed("dispense-agreed", FW_PHARMACY, &r.call, r.doc, RX_OK);
	dispense_changed(&r, FW_RX_AGREED, FW_AGREED_DRUG, agreed_name, generic, 1);
	seed("dispense-agreed-generic", FW_PHARMACY, &r.call, r.doc, RX_OK);
	dispense_changed(&r, FW_RX_AGREED, FW_AGREED_DRUG, agreed_name, generic, 0);
	seed("dispense-agreed-uncited", FW_PHARMACY, &r.call, r.doc, RX_SUBSTITUTION_NOT_ALLOWED);
	dispense_changed(&r, FW_RX_AGREED, other, other_name, inquiry, 1);
	seed("dispense-agreed-uncovered", FW_PHARMACY, &r.call, r.doc, RX_NOT_AGREED);
	dispense_changed(&r, FW_RX_AGREED, other, other_name, generic, 1);
	seed("dispense-agreed-uncovered-generic", FW_PHARMACY, &r.call, r.doc, RX_SUBSTITUTION_NOT_ALLOWED);
	about("dispense-agreed-as-written", FW_PHARMACY, RX_OP_DISPENSE, FW_RX_AGREED, none, 0, NULL, RX_OK);

	/* Patient 2's own log: its inquiries and answers; and, FW_RX_AGREED
	 * being the last prescription filed, the walk of a prescription's log
	 * to the end of the table, which patient 1's LOG ("log") reached before
	 * these two were filed after FW_RX_PARTIAL. */
	start(&r, RX_OP_LOG);
	with_card(&r, FW_CARD_OTHER, RX__PURPOSE__PURPOSE_VIEW, "PORTAL-1", FW_NOW);
	seed("log-inquiries", FW_CARD_OTHER, &r.call, NULL, RX_OK);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	if (mkdir(root, 0755) != 0 && errno != EEXIST) {
		perror(root);
		return 1;
	}
	w = fw_get();
	request_seeds();
	admin_seeds();
	/* After every other seed, so that theirs keep their bytes. */
	inquiry_seeds();
	/* After those: the world's inquiries came later. */
	inquiry_world_seeds();
	if (serial < 0x40) {
		fprintf(stderr, "gen_corpus: the seeds' serial wrapped: request ids repeat\n");
		failures++;
	}
	/* The empty frame: refused INVALID by both paths. */
	write_file("decode", "empty", (const uint8_t *)"", 0);
	write_file("dispatch", "empty", (const uint8_t *)"", 0);
	write_file("admin", "empty", (const uint8_t *)"", 0);
	printf("gen_corpus: %d files in %s, %d seeds off target\n", written, root, failures);
	return failures ? 1 : 0;
}
