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

/* The same signed prescription under a new request id and card. */
static void b_resubmitted_prescription(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	frames_t first = {0};
	size_t len;
	presc_init(x, &ps);
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	submit_signed(x, &first, &sp);
	uint8_t *rep = exchange(x, x->cdoc, &first, &len);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(status_of(rep, len), RX_OK);
	submit_signed(x, f, &sp);
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
	ROW("replay", wrong_access_code, AS_PH, RX_BAD_ACCESS_CODE, RID_ECHO),
	ROW("replay", locked_access_code, AS_PH, RX_ACCESS_LOCKED, RID_ECHO),
};

const int hostile_rows_replays_n =
	(int)(sizeof hostile_rows_replays / sizeof hostile_rows_replays[0]);
