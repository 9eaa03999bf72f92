/* Hostile input, replays and reuse (5.7), and code guessing (4.7): requests whose
 * parts were each valid once. */

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
};

const int hostile_rows_replays_n =
	(int)(sizeof hostile_rows_replays / sizeof hostile_rows_replays[0]);
