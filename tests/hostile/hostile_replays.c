/* Hostile input, replays and reuse (5.7), and code guessing (4.7): requests whose
 * parts were each valid once (a patient's own reads through the portal,
 * 5.6, among them); and a use handed over in parts (5.13), which
 * refuses what was valid before its first part: that part again, a
 * RELEASE, another pharmacy's CLAIM, a record that is not the next part or
 * does not name what is owed. */

#include "hostile.h"

/* ---- replays and reuse (5.7), and code guessing (4.7) ---- */

/* A LIST by card that succeeds; its frames and reply kept. */
static void list_ok(hx_t *x, Rx__Signed *card, frames_t *f, uint8_t **rep, size_t *len)
{
	list_card(x, f, card);
	*rep = exchange(x, x->cph, f, len);
	ck_assert_ptr_nonnull(*rep);
	ck_assert_int_eq(status_of(*rep, *len), RX_OK);
}

static void b_replayed_assertion(hx_t *x, frames_t *f)
{
	Rx__Signed card;
	frames_t first = {0};
	uint8_t *rep;
	size_t len;
	good_card(x, AS_PH, &card);
	list_ok(x, &card, &first, &rep, &len);
	list_card(x, f, &card); /* a new request id, the same assertion */
}

static void b_request_id_reused(hx_t *x, frames_t *f)
{
	Rx__Signed card, card2;
	frames_t first = {0};
	uint8_t *rep, rid[RX_REQUEST_ID_LEN];
	size_t len;
	Rx__Call c;
	good_card(x, AS_PH, &card);
	list_ok(x, &card, &first, &rep, &len);
	memcpy(rid, x->rid, sizeof rid);
	good_card(x, AS_PH, &card2);
	call_init(x, &c, RX_OP_LIST);
	memcpy(x->rid, rid, sizeof rid); /* the same id, other bytes */
	c.card = &card2;
	send_call(x, f, &x->ph, &c);
}

/* The identical bytes again: the stored reply, byte for byte. */
static void b_identical_resend(hx_t *x, frames_t *f)
{
	Rx__Signed card;
	uint8_t *rep;
	size_t len;
	good_card(x, AS_PH, &card);
	list_ok(x, &card, f, &rep, &len);
	x->want = rep;
	x->want_len = len;
}

/* Send frames on doc's connection: it must be filed (OK); its reply. */
static uint8_t *submitted(hx_t *x, const frames_t *f, size_t *len)
{
	uint8_t *rep = exchange(x, x->cdoc, f, len);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(status_of(rep, *len), RX_OK);
	return rep;
}

/* The same prescription under a new request id and card.  Since v2 its
 * bytes name their call, so the prescriber binds it to the new call and
 * signs it again (the one way it gets past 7a); what is refused is the
 * prescription itself, filed before: CONFLICT (the store knows it by its
 * content, call_hash left out). */
static void b_resubmitted_prescription(hx_t *x, frames_t *f)
{
	presc_t ps;
	frames_t first = {0};
	size_t len;
	presc_init(x, &ps);
	submit_presc(x, &first, &ps);
	submitted(x, &first, &len);
	submit_presc(x, f, &ps);
}

/* A filed SUBMIT's document and signature, exactly as sent, with another
 * call: a new request id and a new card assertion (what a thief of the
 * frame would try, to file the prescription again or for another card).
 * The document names the first call: BAD_SIGNATURE at 7a, the request id
 * off the wire. */
static void b_document_other_call(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Call c;
	Rx__Signed card;
	size_t len, rlen, clen;
	presc_init(x, &ps);
	submit_call(x, &c, &card);
	uint8_t *first = doc_request(x, &(doc_req_t){.call = &c, .msg = &ps.p.base, .signer = &x->doc},
				     &len);
	frames_t ff = {0};
	request_frames(x, &ff, first, len);
	submitted(x, &ff, &rlen);

	Rx__Request *q = rx__request__unpack(NULL, len, first);
	ck_assert_ptr_nonnull(q);
	Rx__Request again = *q; /* key, prescription and signature as sent */
	submit_call(x, &c, &card); /* a new request id (x->rid) and card */
	uint8_t *call = pack_call(x, &c, &clen);
	again.call.data = call;
	again.call.len = clen;
	len = rx__request__get_packed_size(&again);
	uint8_t *b = hx_alloc(x, len);
	rx__request__pack(&again, b);
	rx__request__free_unpacked(q, NULL);
	request_frames(x, f, b, len);
}

/* The same call bytes (request id, card) sent again with another
 * prescription, validly bound to that call and signed, after the first was
 * filed: a request's identity is the hash of its signed document, so this
 * is another request under a used request id: CONFLICT. */
static void b_second_document_same_call(hx_t *x, frames_t *f)
{
	presc_t ps, ps2;
	Rx__Call c;
	Rx__Signed card;
	frames_t first = {0};
	size_t len;
	presc_init(x, &ps);
	presc_init(x, &ps2); /* other notes: another document */
	submit_call(x, &c, &card);
	submit_doc(x, &first, (doc_req_t){.call = &c, .msg = &ps.p.base});
	submitted(x, &first, &len);
	submit_doc(x, f, (doc_req_t){.call = &c, .msg = &ps2.p.base});
}

/* The identical SUBMIT frame again (same call, same document): the stored
 * reply, byte for byte, access code and all. */
static void b_identical_submit_resend(hx_t *x, frames_t *f)
{
	presc_t ps;
	size_t len;
	presc_init(x, &ps);
	submit_presc(x, f, &ps);
	x->want = submitted(x, f, &len);
	x->want_len = len;
}

static void b_wrong_access_code(hx_t *x, frames_t *f)
{
	char *id, *code, wrong[RX_ACCESS_CODE_LEN + 1];
	submit_ok(x, &id, &code);
	wrong_code(code, wrong);
	op_on(x, f, AS_PH, RX_OP_CLAIM, id, NULL, 0, wrong);
}

/* Five wrong codes lock it; then even the right one is refused. */
static void b_locked_access_code(hx_t *x, frames_t *f)
{
	char *id, *code, wrong[RX_ACCESS_CODE_LEN + 1];
	submit_ok(x, &id, &code);
	for (int i = 0; i < 5; i++) {
		rxc_result_t r;
		wrong_code(code, wrong);
		rxc_proof_t proof = {.access_code = wrong};
		ck_assert_int_eq(rxc_claim(x->cph, NULL, id, &proof, &r), RX_BAD_ACCESS_CODE);
		rxc_result_free(&r);
	}
	op_on(x, f, AS_PH, RX_OP_CLAIM, id, NULL, 0, code);
}

/* ---- a patient's own reads again (5.6, 5.7) ---- */

/* A patient's own list of the second x->id was issued in: the lists
 * these rows have stored stay small however many prescriptions the passes
 * file.  c points into card and x. */
static void narrow_list(hx_t *x, Rx__Call *c, Rx__Signed *card)
{
	patient_call(x, c, RX_OP_PATIENT_LIST, NULL, card);
	c->from = x->issued;
	c->until = x->issued + 1;
}

/* A patient's own read that succeeds on the portal's connection; its
 * reply kept. */
static uint8_t *patient_ok(hx_t *x, const frames_t *f, size_t *len)
{
	uint8_t *rep = exchange(x, x->cportal, f, len);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(status_of(rep, *len), RX_OK);
	return rep;
}

/* The same assertion under a new request id (D4). */
static void b_patient_list_replayed_assertion(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	frames_t first = {0};
	size_t len;
	narrow_list(x, &c, &card);
	send_call(x, &first, &x->card, &c);
	patient_ok(x, &first, &len);
	call_init(x, &c, RX_OP_PATIENT_LIST);
	c.card = &card;
	c.from = x->issued;
	c.until = x->issued + 1;
	send_call(x, f, &x->card, &c);
}

static void b_patient_status_replayed_assertion(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	frames_t first = {0};
	size_t len;
	patient_call(x, &c, RX_OP_PATIENT_STATUS, x->id, &card);
	send_call(x, &first, &x->card, &c);
	patient_ok(x, &first, &len);
	call_init(x, &c, RX_OP_PATIENT_STATUS);
	c.prescription_id = x->id;
	c.card = &card;
	send_call(x, f, &x->card, &c);
}

/* The identical bytes again: the stored reply, byte for byte. */
static void b_patient_status_identical_resend(hx_t *x, frames_t *f)
{
	size_t len;
	patient_read(x, f, RX_OP_PATIENT_STATUS, x->id);
	x->want = patient_ok(x, f, &len);
	x->want_len = len;
}

/* The request id again with other bytes (a new assertion, a range): CONFLICT. */
static void b_patient_list_request_id_reused(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card, card2;
	frames_t first = {0};
	uint8_t rid[RX_REQUEST_ID_LEN];
	size_t len;
	narrow_list(x, &c, &card);
	send_call(x, &first, &x->card, &c);
	patient_ok(x, &first, &len);
	memcpy(rid, x->rid, sizeof rid);
	narrow_list(x, &c, &card2);
	memcpy(x->rid, rid, sizeof rid); /* the same id, other bytes */
	send_call(x, f, &x->card, &c);
}

/* A stored PATIENT_LIST frame resent byte for byte through the pharmacy's
 * connection: the reply was earned through the portal, so it is no retry
 * there (5.7); as a new request its assertion was made at another
 * institution (C5), and the pharmacy sees nothing of the list. */
static void b_patient_list_resent_via_pharmacy(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	size_t len;
	narrow_list(x, &c, &card);
	send_call(x, f, &x->card, &c);
	patient_ok(x, f, &len);
}

/* ---- a use handed over in parts (5.13) ---- */

#define VALSARTAN "2149041F1020" /* Diovan 20 mg */
#define PART1_UNITS 10             /* of item 2's 28, in part 1: 18 owed */
#define OWED (28 - PART1_UNITS)

/* A record of x->part_id by the pharmacy with up to two lines, each
 * handing over its item as written (item 1: amlodipine, item 2:
 * valsartan, 28 units). */
typedef struct {
	Rx__DispenseRecord d;
	Rx__Item it[2];
	Rx__Line line[2];
	Rx__Line *lines[2];
} part_rec_t;

static void valsartan(Rx__Item *it)
{
	item_init(it);
	it->drug_code = (char *)VALSARTAN;
	it->name = (char *)"Diovan 20 mg tablet";
	it->usage = (char *)"once daily after dinner";
}

/* Part part of x->part_id: line k names item items[k] (1 or 2), as written. */
static void part_init(hx_t *x, part_rec_t *r, uint32_t part, const uint32_t *items, size_t n)
{
	rx__dispense_record__init(&r->d);
	for (size_t k = 0; k < n; k++) {
		if (items[k] == 2)
			valsartan(&r->it[k]);
		else
			item_init(&r->it[k]);
		rx__line__init(&r->line[k]);
		r->line[k].item = items[k];
		r->line[k].outcome = RX__OUTCOME__AS_WRITTEN;
		r->line[k].handed = &r->it[k];
		r->lines[k] = &r->line[k];
	}
	r->d.version = RX_DOC_VERSION;
	r->d.prescription_id = x->part_id;
	r->d.pharmacy_key.data = x->ph.pk;
	r->d.pharmacy_key.len = RX_KEY_LEN;
	r->d.n_lines = n;
	r->d.lines = r->lines;
	r->d.notes = (char *)"";
	r->d.part = part;
}

/* Line k of r is PARTIAL (OUT_OF_STOCK): units of its item handed over. */
static void partial(part_rec_t *r, size_t k, uint32_t units)
{
	r->line[k].outcome = RX__OUTCOME__PARTIAL;
	r->line[k].reason = RX__LINE_REASON__OUT_OF_STOCK;
	r->it[k].quantity = units;
}

/* A DISPENSE of r under the part's claim (a new request id), by signer
 * (NULL: the pharmacy that holds the claim). */
static void send_part(hx_t *x, frames_t *f, part_rec_t *r, const rx_keypair_t *signer)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_DISPENSE);
	c.prescription_id = x->part_id;
	c.claim_token.data = x->part_token;
	c.claim_token.len = RX_TOKEN_LEN;
	dispense_doc(x, f, (doc_req_t){.msg = &r->d.base, .call = &c, .signer = signer});
}

/* Part 1 as parts_up sent it: item 1 in full, PART1_UNITS of item 2. */
static void part_one(hx_t *x, part_rec_t *r)
{
	static const uint32_t both[] = {1, 2};
	part_init(x, r, 1, both, 2);
	partial(r, 1, PART1_UNITS);
}

void parts_up(hx_t *x)
{
	presc_t ps;
	Rx__Item its[2], *items[2];
	Rx__Signed card;
	rxc_result_t r;
	part_rec_t p1;
	frames_t f = {0};
	size_t len;

	/* doc's prescription of amlodipine and valsartan, claimed by ph */
	x->now = (int64_t)time(NULL);
	presc_init(x, &ps);
	item_init(&its[0]);
	valsartan(&its[1]);
	items[0] = &its[0];
	items[1] = &its[1];
	ps.p.items = items;
	ps.p.n_items = 2;
	harness_assertion(&x->h, &x->card, &x->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	ck_assert_int_eq(rxc_submit(x->cdoc, NULL, &ps.p, &card, &r), RX_OK);
	snprintf(x->part_id, sizeof x->part_id, "%s", r.receipt->prescription_id);
	rxc_result_free(&r);
	rxc_signed_free(&card);
	harness_assertion(&x->h, &x->card, &x->ph, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	ck_assert_int_eq(rxc_claim(x->cph, NULL, x->part_id, &proof, &r), RX_OK);
	memcpy(x->part_token, r.receipt->claim_token.data, RX_TOKEN_LEN);
	rxc_result_free(&r);
	rxc_signed_free(&card);

	/* part 1, its frame and reply kept for the resend row */
	part_one(x, &p1);
	send_part(x, &f, &p1, NULL);
	memcpy(x->part_rid, x->rid, sizeof x->part_rid);
	uint8_t *rep = exchange(x, x->cph, &f, &len);
	ck_assert_ptr_nonnull(rep);
	Rx__Reply *reply = rx__reply__unpack(NULL, len, rep);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(reply->status, RX__STATUS__OK);
	Rx__Receipt *rc = rx__receipt__unpack(NULL, reply->receipt.len, reply->receipt.data);
	ck_assert_ptr_nonnull(rc);
	ck_assert_int_eq(rc->state, RX__STATE__PARTIALLY_DISPENSED);
	rx__receipt__free_unpacked(rc, NULL);
	rx__reply__free_unpacked(reply, NULL);
	x->part_reply = malloc(len);
	x->part_frame = malloc(f.len[1]);
	ck_assert(x->part_reply && x->part_frame);
	memcpy(x->part_reply, rep, len);
	x->part_reply_len = len;
	memcpy(x->part_frame, f.data[1], f.len[1]);
	x->part_frame_len = f.len[1];
	hx_reset(x);
}

void parts_down(hx_t *x)
{
	free(x->part_frame);
	free(x->part_reply);
	x->part_frame = x->part_reply = NULL;
}

/* Part 1 again, signed again for a new call: a part recorded is
 * ALREADY_DISPENSED whatever its request id. */
static void b_part_again_new_id(hx_t *x, frames_t *f)
{
	part_rec_t r;
	part_one(x, &r);
	send_part(x, f, &r, NULL);
}

/* Part 1's frame byte for byte: its stored reply. */
static void b_part_identical_resend(hx_t *x, frames_t *f)
{
	request_frames(x, f, x->part_frame, x->part_frame_len);
	memcpy(x->rid, x->part_rid, sizeof x->rid);
	x->want = x->part_reply;
	x->want_len = x->part_reply_len;
}

/* The next part is 2: part 3 skips one. */
static void b_part_skips_one(hx_t *x, frames_t *f)
{
	static const uint32_t owed[] = {2};
	part_rec_t r;
	part_init(x, &r, 3, owed, 1);
	r.it[0].quantity = OWED;
	send_part(x, f, &r, NULL);
}

/* A whole record (part 0) while item 2 is owed. */
static void b_part_whole_while_owed(hx_t *x, frames_t *f)
{
	static const uint32_t both[] = {1, 2};
	part_rec_t r;
	part_init(x, &r, 0, both, 2);
	send_part(x, f, &r, NULL);
}

/* Part 2 names item 1, handed over in full in part 1 (item 2, owed, left out). */
static void b_part_item_not_owed(hx_t *x, frames_t *f)
{
	static const uint32_t done[] = {1};
	part_rec_t r;
	part_init(x, &r, 2, done, 1);
	send_part(x, f, &r, NULL);
}

/* Part 2 names the items in decreasing order. */
static void b_part_items_descending(hx_t *x, frames_t *f)
{
	static const uint32_t down[] = {2, 1};
	part_rec_t r;
	part_init(x, &r, 2, down, 2);
	r.it[0].quantity = OWED;
	send_part(x, f, &r, NULL);
}

/* Part 2 hands over all 18 units owed and calls it PARTIAL. */
static void b_part_partial_all_owed(hx_t *x, frames_t *f)
{
	static const uint32_t owed[] = {2};
	part_rec_t r;
	part_init(x, &r, 2, owed, 1);
	partial(&r, 0, OWED);
	send_part(x, f, &r, NULL);
}

/* ... and more than is owed. */
static void b_part_partial_over_owed(hx_t *x, frames_t *f)
{
	static const uint32_t owed[] = {2};
	part_rec_t r;
	part_init(x, &r, 2, owed, 1);
	partial(&r, 0, OWED + 1);
	send_part(x, f, &r, NULL);
}

/* The right part 2, by the other pharmacy with the claim's token. */
static void b_part_other_pharmacy(hx_t *x, frames_t *f)
{
	static const uint32_t owed[] = {2};
	part_rec_t r;
	part_init(x, &r, 2, owed, 1);
	r.it[0].quantity = OWED;
	r.d.pharmacy_key.data = x->ph2.pk;
	send_part(x, f, &r, &x->ph2);
}

/* The claimer gives it back: it owes the rest. */
static void b_release_partly_dispensed(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_PH, RX_OP_RELEASE, x->part_id, x->part_token, RX_TOKEN_LEN, NULL);
}

/* Another pharmacy with the patient's card. */
static void b_claim_partly_dispensed(hx_t *x, frames_t *f)
{
	Rx__Signed card;
	Rx__Call c;
	good_card(x, AS_PH2, &card);
	call_init(x, &c, RX_OP_CLAIM);
	c.prescription_id = x->part_id;
	c.card = &card;
	send_call(x, f, &x->ph2, &c);
}

const row_t hostile_rows_replays[] = {
	ROW("replay", replayed_assertion, AS_PH, RX_ASSERTION_REPLAYED, RID_ECHO),
	ROW("replay", request_id_reused, AS_PH, RX_CONFLICT, RID_ECHO),
	ROW("replay", identical_resend, AS_PH, RX_OK, RID_ECHO),
	ROW("replay", resubmitted_prescription, AS_DOC, RX_CONFLICT, RID_ECHO),
	ROW("replay", document_other_call, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("replay", second_document_same_call, AS_DOC, RX_CONFLICT, RID_ECHO),
	ROW("replay", identical_submit_resend, AS_DOC, RX_OK, RID_ECHO),
	ROW("replay", wrong_access_code, AS_PH, RX_BAD_ACCESS_CODE, RID_ECHO),
	ROW("replay", locked_access_code, AS_PH, RX_ACCESS_LOCKED, RID_ECHO),
	ROW("replay", patient_list_replayed_assertion, AS_CARD, RX_ASSERTION_REPLAYED, RID_ECHO),
	ROW("replay", patient_status_replayed_assertion, AS_CARD, RX_ASSERTION_REPLAYED, RID_ECHO),
	ROW("replay", patient_status_identical_resend, AS_CARD, RX_OK, RID_ECHO),
	ROW("replay", patient_list_request_id_reused, AS_CARD, RX_CONFLICT, RID_ECHO),
	ROW("replay", patient_list_resent_via_pharmacy, AS_PH, RX_ASSERTION_MISMATCH, RID_ECHO),
	ROW("owing", part_again_new_id, AS_PH, RX_ALREADY_DISPENSED, RID_ECHO),
	ROW("owing", part_identical_resend, AS_PH, RX_OK, RID_ECHO),
	ROW("owing", part_skips_one, AS_PH, RX_INVALID, RID_ECHO),
	ROW("owing", part_whole_while_owed, AS_PH, RX_INVALID, RID_ECHO),
	ROW("owing", part_item_not_owed, AS_PH, RX_INVALID, RID_ECHO),
	ROW("owing", part_items_descending, AS_PH, RX_INVALID, RID_ECHO),
	ROW("owing", part_partial_all_owed, AS_PH, RX_INVALID, RID_ECHO),
	ROW("owing", part_partial_over_owed, AS_PH, RX_INVALID, RID_ECHO),
	ROW("owing", part_other_pharmacy, AS_PH2, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("owing", release_partly_dispensed, AS_PH, RX_PARTLY_DISPENSED, RID_ECHO),
	ROW("owing", claim_partly_dispensed, AS_PH2, RX_ALREADY_CLAIMED, RID_ECHO),
};

const int hostile_rows_replays_n =
	(int)(sizeof hostile_rows_replays / sizeof hostile_rows_replays[0]);
