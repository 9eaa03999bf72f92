/* Hostile input, replays and reuse (5.7), and code guessing (4.7): requests whose
 * parts were each valid once (a patient's own reads through the portal,
 * 5.6, among them); and a use handed over in parts (5.13), which
 * refuses what was valid before its first part: that part again, a
 * RELEASE, another pharmacy's CLAIM, a record that is not the next part or
 * does not name what is owed; the pharmacist's inquiry (5.14): its
 * content, who may ask and answer and when, its resend, and the dispense
 * that follows it; and the cancel reason (5.5). */

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

/* ---- the pharmacist's inquiry (5.14) and the cancel reason (5.5) ---- */

#define AMLODIPINE_25 "2171022F1029" /* Norvasc 2.5 mg: the agreed change */

/* What an inquiry or an answer points into: up to 33 changes, change k
 * naming item k + 1, each to amlodipine 2.5 mg. */
typedef struct {
	Rx__Inquiry q;
	Rx__InquiryReply a;
	Rx__Change ch[RX_MAX_ITEMS + 1], *chs[RX_MAX_ITEMS + 1];
	Rx__Item to[RX_MAX_ITEMS + 1];
	char text[2100];
} ask_t;

static void amlodipine_25(Rx__Item *it)
{
	item_init(it);
	it->drug_code = (char *)AMLODIPINE_25;
	it->name = (char *)"Norvasc 2.5 mg tablet";
}

/* A dose question proposing item 1 as 2.5 mg; and an answer to inquiry 1
 * accepting that. */
static void ask_init(ask_t *a)
{
	rx__inquiry__init(&a->q);
	rx__inquiry_reply__init(&a->a);
	for (int i = 0; i <= RX_MAX_ITEMS; i++) {
		amlodipine_25(&a->to[i]);
		rx__change__init(&a->ch[i]);
		a->ch[i].item = (uint32_t)i + 1;
		a->ch[i].to = &a->to[i];
		a->chs[i] = &a->ch[i];
	}
	a->q.reason = RX__INQUIRY_REASON__INQUIRY_DOSE;
	a->q.text = (char *)"5 mg for an 82-year-old with low blood pressure: 2.5 mg?";
	a->q.n_proposed = 1;
	a->q.proposed = a->chs;
	a->a.inquiry = 1;
	a->a.answer = RX__ANSWER__ANSWER_ACCEPT;
	a->a.text = (char *)"yes, 2.5 mg";
	a->a.n_agreed = 1;
	a->a.agreed = a->chs;
}

/* The question settled on the telephone a minute ago: outcome (ACCEPT:
 * item 1 agreed as 2.5 mg; KEEP: nothing). */
static void ask_phoned(hx_t *x, ask_t *a, int outcome)
{
	ask_init(a);
	a->q.n_proposed = 0;
	a->q.by_phone = 1;
	a->q.phoned = (char *)"Dr. Sato, by telephone";
	a->q.phoned_at = x->now - 60;
	a->q.outcome = (Rx__Answer)outcome;
	if (outcome == RX__ANSWER__ANSWER_ACCEPT) {
		a->q.n_agreed = 1;
		a->q.agreed = a->chs;
	}
}

/* INQUIRE of id under token with q, signed by who. */
static void inquire(hx_t *x, frames_t *f, int who, const char *id, const uint8_t *token, Rx__Inquiry *q)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_INQUIRE);
	c.prescription_id = (char *)id;
	c.claim_token.data = (uint8_t *)token;
	c.claim_token.len = RX_TOKEN_LEN;
	c.inquiry = q;
	send_call(x, f, key_of(x, who), &c);
}

/* INQUIRY_REPLY of id with a, signed by who. */
static void answer(hx_t *x, frames_t *f, int who, const char *id, Rx__InquiryReply *a)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_INQUIRY_REPLY);
	c.prescription_id = (char *)id;
	c.inquiry_reply = a;
	send_call(x, f, key_of(x, who), &c);
}

/* The content rows: ph's INQUIRE of inq_claimed, whose claim it holds,
 * right but for a's defect, which must be refused with say. */
static void ask_claimed(hx_t *x, frames_t *f, ask_t *a, const char *say)
{
	x->say = say;
	inquire(x, f, AS_PH, x->inq_claimed, x->inq_claimed_token, &a->q);
}

/* ... and doc's answer to inq_open's inquiry 1, right but for a's defect
 * (without it, it would be answered). */
static void answer_open(hx_t *x, frames_t *f, ask_t *a, const char *say)
{
	x->say = say;
	answer(x, f, AS_DOC, x->inq_open, &a->a);
}

/* ph's DISPENSE of id under token with r (its prescription_id set to id). */
static void dispense_inq(hx_t *x, frames_t *f, const char *id, const uint8_t *token, record_t *r)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_DISPENSE);
	c.prescription_id = (char *)id;
	c.claim_token.data = (uint8_t *)token;
	c.claim_token.len = RX_TOKEN_LEN;
	r->d.prescription_id = (char *)id;
	dispense_doc(x, f, (doc_req_t){.msg = &r->d.base, .call = &c});
}

/* r hands over item 1 as drug instead, SUBSTITUTED for reason INQUIRY,
 * citing inquiry n (0: none). */
static void record_inquiry(hx_t *x, record_t *r, const char *drug, uint32_t n)
{
	record_init(x, r);
	r->it.drug_code = (char *)drug;
	r->it.name = (char *)"substitute";
	r->line.outcome = RX__OUTCOME__SUBSTITUTED;
	r->line.reason = RX__LINE_REASON__INQUIRY;
	r->d.inquiry = n;
}

/* A prescription of doc's, claimed by ph: its id and claim token. */
static void issued_and_claimed(hx_t *x, char id[RX_ID_LEN + 1], uint8_t token[RX_TOKEN_LEN])
{
	char *nid, *code;
	Rx__Signed card;
	rxc_result_t r;
	submit_ok(x, &nid, &code);
	snprintf(id, RX_ID_LEN + 1, "%s", nid);
	harness_assertion(&x->h, &x->card, &x->ph, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	ck_assert_int_eq(rxc_claim(x->cph, NULL, id, &proof, &r), RX_OK);
	memcpy(token, r.receipt->claim_token.data, RX_TOKEN_LEN);
	rxc_result_free(&r);
	rxc_signed_free(&card);
	hx_reset(x);
}

void inquiries_up(hx_t *x)
{
	ask_t a;
	rxc_result_t r;
	frames_t f = {0};
	size_t len;
	x->now = (int64_t)time(NULL);

	/* inq_open: inquiry 1 open, its frame and reply kept */
	issued_and_claimed(x, x->inq_open, x->inq_open_token);
	ask_init(&a);
	inquire(x, &f, AS_PH, x->inq_open, x->inq_open_token, &a.q);
	memcpy(x->inq_rid, x->rid, sizeof x->inq_rid);
	uint8_t *rep = exchange(x, x->cph, &f, &len);
	ck_assert_ptr_nonnull(rep);
	Rx__Reply *reply = rx__reply__unpack(NULL, len, rep);
	ck_assert_ptr_nonnull(reply);
	ck_assert_msg(reply->status == RX__STATUS__OK, "INQUIRE: %s", reply->message);
	Rx__Receipt *rc = rx__receipt__unpack(NULL, reply->receipt.len, reply->receipt.data);
	ck_assert_ptr_nonnull(rc);
	ck_assert_uint_eq(rc->inquiry, 1);
	ck_assert(rc->inquiry_open);
	rx__receipt__free_unpacked(rc, NULL);
	rx__reply__free_unpacked(reply, NULL);
	x->inq_reply = malloc(len);
	x->inq_frame = malloc(f.len[1]);
	ck_assert(x->inq_reply && x->inq_frame);
	memcpy(x->inq_reply, rep, len);
	x->inq_reply_len = len;
	memcpy(x->inq_frame, f.data[1], f.len[1]);
	x->inq_frame_len = f.len[1];
	hx_reset(x);

	/* inq_claimed: none */
	issued_and_claimed(x, x->inq_claimed, x->inq_claimed_token);

	/* inq_kept: inquiry 1 answered KEEP */
	issued_and_claimed(x, x->inq_kept, x->inq_kept_token);
	ask_init(&a);
	ck_assert_int_eq(rxc_inquire(x->cph, NULL, x->inq_kept, x->inq_kept_token, &a.q, &r), RX_OK);
	rxc_result_free(&r);
	a.a.answer = RX__ANSWER__ANSWER_KEEP;
	a.a.n_agreed = 0;
	ck_assert_int_eq(rxc_inquiry_reply(x->cdoc, NULL, x->inq_kept, &a.a, &r), RX_OK);
	ck_assert(!r.receipt->inquiry_open);
	rxc_result_free(&r);

	/* inq_full: 16 settled by telephone, the first ACCEPT */
	issued_and_claimed(x, x->inq_full, x->inq_full_token);
	for (int i = 0; i < RX_MAX_INQUIRIES; i++) {
		ask_phoned(x, &a, i ? RX__ANSWER__ANSWER_KEEP : RX__ANSWER__ANSWER_ACCEPT);
		ck_assert_int_eq(rxc_inquire(x->cph, NULL, x->inq_full, x->inq_full_token, &a.q, &r), RX_OK);
		ck_assert_uint_eq(r.receipt->inquiry, (unsigned)i + 1);
		rxc_result_free(&r);
	}
}

void inquiries_down(hx_t *x)
{
	free(x->inq_frame);
	free(x->inq_reply);
	x->inq_frame = x->inq_reply = NULL;
}

/* -- the inquiry's content (dispatch step 20c, rx_check_inquiry) -- */

static void b_inquire_without_inquiry(hx_t *x, frames_t *f)
{
	x->say = "INQUIRE carries its inquiry";
	inquire(x, f, AS_PH, x->inq_claimed, x->inq_claimed_token, NULL);
}

/* A good inquiry on ph's STATUS of inq_claimed. */
static void b_inquiry_on_status(hx_t *x, frames_t *f)
{
	ask_t a;
	Rx__Call c;
	ask_init(&a);
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->inq_claimed;
	c.inquiry = &a.q;
	x->say = "an inquiry travels only with INQUIRE";
	send_call(x, f, &x->ph, &c);
}

/* A good inquiry on an INQUIRY_REPLY that carries its answer too. */
static void b_inquiry_on_reply(hx_t *x, frames_t *f)
{
	ask_t a;
	Rx__Call c;
	ask_init(&a);
	call_init(x, &c, RX_OP_INQUIRY_REPLY);
	c.prescription_id = x->inq_open;
	c.inquiry_reply = &a.a;
	c.inquiry = &a.q;
	x->say = "an inquiry travels only with INQUIRE";
	send_call(x, f, &x->doc, &c);
}

/* A good answer on an INQUIRE that carries its inquiry too. */
static void b_reply_on_inquire(hx_t *x, frames_t *f)
{
	ask_t a;
	Rx__Call c;
	ask_init(&a);
	call_init(x, &c, RX_OP_INQUIRE);
	c.prescription_id = x->inq_claimed;
	c.claim_token.data = x->inq_claimed_token;
	c.claim_token.len = RX_TOKEN_LEN;
	c.inquiry = &a.q;
	c.inquiry_reply = &a.a;
	x->say = "an inquiry travels only with INQUIRE";
	send_call(x, f, &x->ph, &c);
}

static void b_reply_without_answer(hx_t *x, frames_t *f)
{
	x->say = "INQUIRY_REPLY carries its answer";
	answer(x, f, AS_DOC, x->inq_open, NULL);
}

static void b_inquire_no_reason(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.q.reason = RX__INQUIRY_REASON__INQUIRY_REASON_NONE;
	ask_claimed(x, f, &a, "its reason, 1..7");
}

static void b_inquire_reason_8(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.q.reason = (Rx__InquiryReason)8;
	ask_claimed(x, f, &a, "its reason, 1..7");
}

static void b_inquire_no_text(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.q.text = (char *)"";
	ask_claimed(x, f, &a, "text is missing, too long");
}

static void b_inquire_text_2001(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	memset(a.text, 'a', 2001);
	a.text[2001] = '\0';
	a.q.text = a.text;
	ask_claimed(x, f, &a, "text is missing, too long");
}

static void b_inquire_text_control(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.q.text = (char *)"2.5 mg?\x1b[2J";
	ask_claimed(x, f, &a, "text is missing, too long");
}

static void b_inquire_change_item_0(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.ch[0].item = 0;
	ask_claimed(x, f, &a, "changes name prescribed items 1..32");
}

static void b_inquire_changes_not_rising(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.ch[0].item = 2;
	a.ch[1].item = 1;
	a.q.n_proposed = 2;
	ask_claimed(x, f, &a, "changes name prescribed items 1..32");
}

static void b_inquire_changes_twice(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.ch[1].item = 1;
	a.q.n_proposed = 2;
	ask_claimed(x, f, &a, "changes name prescribed items 1..32");
}

static void b_inquire_33_changes(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.q.n_proposed = RX_MAX_ITEMS + 1;
	ask_claimed(x, f, &a, "more than 32 changes");
}

/* A change to an item with no drug code. */
static void b_inquire_change_bad_item(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.to[0].drug_code = (char *)"";
	ask_claimed(x, f, &a, NULL);
}

static void b_inquire_change_marked(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.to[0].no_change = 1;
	ask_claimed(x, f, &a, "no substitution marks");
}

/* Who was phoned, not settled by telephone. */
static void b_inquire_phoned_not_by_phone(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.q.phoned = (char *)"Dr. Sato";
	ask_claimed(x, f, &a, "for an inquiry settled by telephone");
}

static void b_inquire_outcome_not_by_phone(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.q.outcome = RX__ANSWER__ANSWER_KEEP;
	ask_claimed(x, f, &a, "for an inquiry settled by telephone");
}

static void b_inquire_by_phone_no_one(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_phoned(x, &a, RX__ANSWER__ANSWER_KEEP);
	a.q.phoned = (char *)"";
	ask_claimed(x, f, &a, "names who was called");
}

static void b_inquire_phoned_at_0(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_phoned(x, &a, RX__ANSWER__ANSWER_KEEP);
	a.q.phoned_at = 0;
	ask_claimed(x, f, &a, "says when the call was");
}

static void b_inquire_phoned_later(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_phoned(x, &a, RX__ANSWER__ANSWER_KEEP);
	a.q.phoned_at = x->now + 3600;
	ask_claimed(x, f, &a, "says when the call was");
}

static void b_inquire_phoned_cancel(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_phoned(x, &a, RX__ANSWER__ANSWER_CANCEL);
	ask_claimed(x, f, &a, "ACCEPT or KEEP");
}

static void b_inquire_accept_nothing(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_phoned(x, &a, RX__ANSWER__ANSWER_ACCEPT);
	a.q.n_agreed = 0;
	ask_claimed(x, f, &a, "an accepted outcome names its agreed changes");
}

static void b_inquire_keep_with_changes(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_phoned(x, &a, RX__ANSWER__ANSWER_KEEP);
	a.q.n_agreed = 1;
	a.q.agreed = a.chs;
	ask_claimed(x, f, &a, "an accepted outcome names its agreed changes");
}

/* Item 2 of a prescription of one (the store's check). */
static void b_inquire_item_missing(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.q.proposed = &a.chs[1];
	ask_claimed(x, f, &a, "a change names an item the prescription does not have");
}

/* -- the answer's content (rx_check_inquiry_reply, and the store) -- */

static void b_reply_number_0(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.a.inquiry = 0;
	answer_open(x, f, &a, "names its inquiry, 1..16");
}

static void b_reply_number_17(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.a.inquiry = RX_MAX_INQUIRIES + 1;
	answer_open(x, f, &a, "names its inquiry, 1..16");
}

static void b_reply_no_answer(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.a.answer = RX__ANSWER__ANSWER_NONE;
	a.a.n_agreed = 0;
	answer_open(x, f, &a, "ACCEPT, KEEP or CANCEL");
}

static void b_reply_answer_4(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.a.answer = (Rx__Answer)4;
	a.a.n_agreed = 0;
	answer_open(x, f, &a, "ACCEPT, KEEP or CANCEL");
}

static void b_reply_text_2001(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	memset(a.text, 'a', 2001);
	a.text[2001] = '\0';
	a.a.text = a.text;
	answer_open(x, f, &a, "text is too long");
}

static void b_reply_accept_nothing(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.a.n_agreed = 0;
	answer_open(x, f, &a, "ACCEPT names the agreed changes");
}

static void b_reply_keep_with_changes(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.a.answer = RX__ANSWER__ANSWER_KEEP;
	answer_open(x, f, &a, "ACCEPT names the agreed changes");
}

static void b_reply_cancel_no_reason(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.a.answer = RX__ANSWER__ANSWER_CANCEL;
	a.a.n_agreed = 0;
	answer_open(x, f, &a, "CANCEL gives its cancel reason");
}

static void b_reply_cancel_reason_6(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.a.answer = RX__ANSWER__ANSWER_CANCEL;
	a.a.n_agreed = 0;
	a.a.cancel_reason = (Rx__CancelReason)6;
	answer_open(x, f, &a, "CANCEL gives its cancel reason");
}

static void b_reply_keep_with_reason(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.a.answer = RX__ANSWER__ANSWER_KEEP;
	a.a.n_agreed = 0;
	a.a.cancel_reason = RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR;
	answer_open(x, f, &a, "CANCEL gives its cancel reason");
}

static void b_reply_change_marked(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.to[0].no_strength_change = 1;
	answer_open(x, f, &a, "no substitution marks");
}

/* An agreed change of item 2 of a prescription of one (the store's check). */
static void b_reply_item_missing(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.a.agreed = &a.chs[1];
	answer_open(x, f, &a, "a change names an item the prescription does not have");
}

/* -- who may ask and answer, and when (the store) -- */

/* doc asks about his own prescription (INQUIRE is a pharmacy's). */
static void b_inquire_by_prescriber(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	inquire(x, f, AS_DOC, x->inq_claimed, x->inq_claimed_token, &a.q);
}

/* ph answers the inquiry it asked (INQUIRY_REPLY is a prescriber's). */
static void b_reply_by_pharmacy(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	answer(x, f, AS_PH, x->inq_open, &a.a);
}

/* The other pharmacy, with the holder's token. */
static void b_inquire_not_holder(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	x->say = "not claimed by you";
	inquire(x, f, AS_PH2, x->inq_claimed, x->inq_claimed_token, &a.q);
}

static void b_inquire_wrong_token(hx_t *x, frames_t *f)
{
	ask_t a;
	uint8_t token[RX_TOKEN_LEN];
	ask_init(&a);
	memcpy(token, x->inq_claimed_token, RX_TOKEN_LEN);
	token[0] ^= 1;
	x->say = "claim token does not match";
	inquire(x, f, AS_PH, x->inq_claimed, token, &a.q);
}

/* A prescription nobody claimed: x->id. */
static void b_inquire_unclaimed(hx_t *x, frames_t *f)
{
	ask_t a;
	uint8_t token[RX_TOKEN_LEN];
	ask_init(&a);
	randombytes_buf(token, sizeof token);
	x->say = "not claimed by you";
	inquire(x, f, AS_PH, x->id, token, &a.q);
}

/* A second inquiry while the first waits. */
static void b_inquire_while_open(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.q.reason = RX__INQUIRY_REASON__INQUIRY_INTERACTION;
	x->say = "already open";
	inquire(x, f, AS_PH, x->inq_open, x->inq_open_token, &a.q);
}

/* A good record while the inquiry waits. */
static void b_dispense_while_open(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	x->say = "waits for its answer";
	dispense_inq(x, f, x->inq_open, x->inq_open_token, &r);
}

/* A 17th inquiry, settled by telephone (never pending). */
static void b_inquire_seventeenth(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_phoned(x, &a, RX__ANSWER__ANSWER_KEEP);
	x->say = "keeps no more inquiries";
	inquire(x, f, AS_PH, x->inq_full, x->inq_full_token, &a.q);
}

/* A good answer from a prescriber of another clinic. */
static void b_reply_other_clinic(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	x->say = "only the clinic that issued";
	answer(x, f, AS_DOC2, x->inq_open, &a.a);
}

/* An answer to inquiry 2; 1 is open. */
static void b_reply_wrong_number(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	a.a.inquiry = 2;
	x->say = "is number 1";
	answer(x, f, AS_DOC, x->inq_open, &a.a);
}

/* An answer to inq_kept, whose inquiry was answered. */
static void b_reply_none_open(hx_t *x, frames_t *f)
{
	ask_t a;
	ask_init(&a);
	x->say = "no inquiry of this prescription waits";
	answer(x, f, AS_DOC, x->inq_kept, &a.a);
}

/* inq_open's INQUIRE frame byte for byte: its stored reply. */
static void b_inquire_identical_resend(hx_t *x, frames_t *f)
{
	request_frames(x, f, x->inq_frame, x->inq_frame_len);
	memcpy(x->rid, x->inq_rid, sizeof x->rid);
	x->want = x->inq_reply;
	x->want_len = x->inq_reply_len;
}

/* Its request id on another inquiry. */
static void b_inquire_request_id_reused(hx_t *x, frames_t *f)
{
	ask_t a;
	Rx__Call c;
	ask_init(&a);
	a.q.text = (char *)"another question";
	call_init(x, &c, RX_OP_INQUIRE);
	memcpy(x->rid, x->inq_rid, sizeof x->rid);
	c.prescription_id = x->inq_open;
	c.claim_token.data = x->inq_open_token;
	c.claim_token.len = RX_TOKEN_LEN;
	c.inquiry = &a.q;
	send_call(x, f, &x->ph, &c);
}

/* -- dispensing after an inquiry (NOT_AGREED) -- */

/* As written, citing inquiry 1 of inq_kept, answered KEEP: nothing agreed. */
static void b_dispense_cites_kept(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.inquiry = 1;
	x->say = "inquiry 1 of this prescription was not answered with agreed changes";
	dispense_inq(x, f, x->inq_kept, x->inq_kept_token, &r);
}

/* ... citing inquiry 9, which was never asked. */
static void b_dispense_cites_unasked(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.inquiry = 9;
	x->say = "inquiry 9 of this prescription was not answered";
	dispense_inq(x, f, x->inq_kept, x->inq_kept_token, &r);
}

/* Item 1 changed for reason INQUIRY, citing no inquiry. */
static void b_dispense_inquiry_uncited(hx_t *x, frames_t *f)
{
	record_t r;
	record_inquiry(x, &r, AMLODIPINE_25, 0);
	x->say = "no change agreed in the cited inquiry covers it";
	dispense_inq(x, f, x->inq_kept, x->inq_kept_token, &r);
}

/* inq_full's inquiry 1 agreed 2.5 mg; the record hands over valsartan. */
static void b_dispense_inquiry_uncovered(hx_t *x, frames_t *f)
{
	record_t r;
	record_inquiry(x, &r, "2149041F1020", 1);
	x->say = "no change agreed in the cited inquiry covers it";
	dispense_inq(x, f, x->inq_full, x->inq_full_token, &r);
}

/* inq_full's inquiry 2, settled KEEP on the telephone, cited for 2.5 mg. */
static void b_dispense_cites_phoned_keep(hx_t *x, frames_t *f)
{
	record_t r;
	record_inquiry(x, &r, AMLODIPINE_25, 2);
	x->say = "inquiry 2 of this prescription was not answered";
	dispense_inq(x, f, x->inq_full, x->inq_full_token, &r);
}

/* -- the cancel reason (dispatch step 20b) -- */

static void cancel_with(hx_t *x, frames_t *f, int op, const char *id, int reason, const char *say)
{
	Rx__Call c;
	call_init(x, &c, op);
	c.prescription_id = (char *)id;
	c.cancel_reason = (Rx__CancelReason)reason;
	x->say = say;
	send_call(x, f, &x->doc, &c);
}

/* doc's STATUS of x->id with a reason. */
static void b_cancel_reason_on_status(hx_t *x, frames_t *f)
{
	cancel_with(x, f, RX_OP_STATUS, x->id, RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR,
		    "a cancel reason is given only with CANCEL");
}

/* doc's CANCEL of x->id with reason 6, or -1 (without it, x->id would be
 * cancelled). */
static void b_cancel_reason_6(hx_t *x, frames_t *f)
{
	cancel_with(x, f, RX_OP_CANCEL, x->id, 6, "the cancel reason must be 1..5");
}

static void b_cancel_reason_negative(hx_t *x, frames_t *f)
{
	cancel_with(x, f, RX_OP_CANCEL, x->id, -1, "the cancel reason must be 1..5");
}

/* The receipt of a CANCEL with reason 3: the prescription cancelled for it. */
static int check_cancelled(hx_t *x, const Rx__Reply *r, char *why, size_t wlen)
{
	(void)x;
	Rx__Receipt *rc = rx__receipt__unpack(NULL, r->receipt.len, r->receipt.data);
	int ok = rc && rc->state == RX__STATE__CANCELLED_STATE &&
		 rc->cancel_reason == RX__CANCEL_REASON__CANCEL_THERAPY_CHANGED;
	if (!ok)
		snprintf(why, wlen, "the receipt does not show the prescription cancelled for reason 3");
	if (rc)
		rx__receipt__free_unpacked(rc, NULL);
	return ok;
}

/* A new prescription of doc's, cancelled with reason 3 (the treatment
 * changed). */
static void b_cancel_with_reason(hx_t *x, frames_t *f)
{
	char *id, *code;
	submit_ok(x, &id, &code);
	cancel_with(x, f, RX_OP_CANCEL, id, RX__CANCEL_REASON__CANCEL_THERAPY_CHANGED, NULL);
	x->check = check_cancelled;
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
	ROW("inquiry", inquire_without_inquiry, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquiry_on_status, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquiry_on_reply, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_on_inquire, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_without_answer, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_no_reason, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_reason_8, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_no_text, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_text_2001, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_text_control, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_change_item_0, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_changes_not_rising, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_changes_twice, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_33_changes, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_change_bad_item, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_change_marked, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_phoned_not_by_phone, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_outcome_not_by_phone, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_by_phone_no_one, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_phoned_at_0, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_phoned_later, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_phoned_cancel, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_accept_nothing, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_keep_with_changes, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_item_missing, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_number_0, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_number_17, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_no_answer, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_answer_4, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_text_2001, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_accept_nothing, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_keep_with_changes, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_cancel_no_reason, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_cancel_reason_6, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_keep_with_reason, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_change_marked, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_item_missing, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_by_prescriber, AS_DOC, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("inquiry", reply_by_pharmacy, AS_PH, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("inquiry", inquire_not_holder, AS_PH2, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("inquiry", inquire_wrong_token, AS_PH, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("inquiry", inquire_unclaimed, AS_PH, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("inquiry", inquire_while_open, AS_PH, RX_INQUIRY_PENDING, RID_ECHO),
	ROW("inquiry", dispense_while_open, AS_PH, RX_INQUIRY_PENDING, RID_ECHO),
	ROW("inquiry", inquire_seventeenth, AS_PH, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_other_clinic, AS_DOC2, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("inquiry", reply_wrong_number, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", reply_none_open, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("inquiry", inquire_identical_resend, AS_PH, RX_OK, RID_ECHO),
	ROW("inquiry", inquire_request_id_reused, AS_PH, RX_CONFLICT, RID_ECHO),
	ROW("inquiry", dispense_cites_kept, AS_PH, RX_NOT_AGREED, RID_ECHO),
	ROW("inquiry", dispense_cites_unasked, AS_PH, RX_NOT_AGREED, RID_ECHO),
	ROW("inquiry", dispense_inquiry_uncited, AS_PH, RX_NOT_AGREED, RID_ECHO),
	ROW("inquiry", dispense_inquiry_uncovered, AS_PH, RX_NOT_AGREED, RID_ECHO),
	ROW("inquiry", dispense_cites_phoned_keep, AS_PH, RX_NOT_AGREED, RID_ECHO),
	ROW("cancel", cancel_reason_on_status, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("cancel", cancel_reason_6, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("cancel", cancel_reason_negative, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("cancel", cancel_with_reason, AS_DOC, RX_OK, RID_ECHO),
};

const int hostile_rows_replays_n =
	(int)(sizeof hostile_rows_replays / sizeof hostile_rows_replays[0]);
