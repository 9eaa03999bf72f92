/* Hostile input, the card assertion (C1-C5, D1-D4): broken keys, signatures, bodies,
 * institutions and purposes; and the requests a card signs itself through a
 * patient portal, PATIENT_LIST and PATIENT_STATUS (L1-L4, 5.6): from
 * anywhere but the portal, without the card, for another purpose, signed
 * by another key than the card presented. */

#include "hostile.h"

/* ---- the card assertion (C1-C5, D1-D4) ---- */

static void b_card_key_33(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	uint8_t key[RX_KEY_LEN + 1];
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_PH));
	memcpy(key, x->card.pk, RX_KEY_LEN);
	key[RX_KEY_LEN] = 0;
	a.card_key.data = key;
	a.card_key.len = sizeof key;
	list_assertion(x, f, &a, &x->card);
}

static void b_card_zero_key(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	Rx__Signed card;
	uint8_t zero[RX_KEY_LEN] = {0};
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_PH));
	a.card_key.data = zero;
	sign_msg(x, &x->card, RX_SIGN_CARD, &a.base, &card);
	randombytes_buf(card.signature.data, RX_SIG_LEN);
	list_card(x, f, &card);
}

static void b_card_sig_65(hx_t *x, frames_t *f)
{
	Rx__Signed card;
	good_card(x, AS_PH, &card);
	uint8_t *sig = hx_alloc(x, 65);
	memcpy(sig, card.signature.data, RX_SIG_LEN);
	card.signature.data = sig;
	card.signature.len = 65;
	list_card(x, f, &card);
}

static void b_card_s_plus_l(hx_t *x, frames_t *f)
{
	Rx__Signed card;
	good_card(x, AS_PH, &card);
	malleate(card.signature.data);
	list_card(x, f, &card);
}

static void b_card_other_signer(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	rx_keypair_t other = fresh_key();
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_PH));
	list_assertion(x, f, &a, &other);
}

static void b_card_empty(hx_t *x, frames_t *f)
{
	Rx__Signed card = RX__SIGNED__INIT;
	(void)x;
	list_card(x, f, &card);
}

static void b_card_body_garbage(hx_t *x, frames_t *f)
{
	Rx__Signed card = RX__SIGNED__INIT;
	card.body.data = hx_dup(x, "\x08\x01\x12", 3);
	card.body.len = 3;
	card.signature.data = hx_alloc(x, RX_SIG_LEN);
	card.signature.len = RX_SIG_LEN;
	resign(&x->card, RX_SIGN_CARD, &card);
	list_card(x, f, &card);
}

static void b_card_version_2(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_PH));
	a.version = 2;
	list_assertion(x, f, &a, &x->card);
}

static void b_card_nonce_15(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_PH));
	a.nonce.len = 15;
	list_assertion(x, f, &a, &x->card);
}

static void b_card_institution_text(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, "1398\xe2\x80\xae" "765432");
	list_assertion(x, f, &a, &x->card);
}

static void b_card_other_institution(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_DOC));
	list_assertion(x, f, &a, &x->card);
}

static void b_card_unknown(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	rx_keypair_t stray = fresh_key();
	card_init(x, &a, &stray, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_PH));
	list_assertion(x, f, &a, &stray);
}

static void b_card_wrong_purpose(hx_t *x, frames_t *f)
{
	list_card_at(x, f, RX__PURPOSE__PURPOSE_ISSUE, x->now);
}

static void b_card_on_release(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	uint8_t token[RX_TOKEN_LEN] = {7};
	good_card(x, AS_PH, &card);
	call_init(x, &c, RX_OP_RELEASE);
	c.prescription_id = x->id;
	c.claim_token.data = token;
	c.claim_token.len = sizeof token;
	c.card = &card;
	send_call(x, f, &x->ph, &c);
}

/* ---- the patient's own reads: who may send them (L1-L4, D1-D4; 5.6) ---- */

/* op (of x->id for PATIENT_STATUS) signed by signer, presenting the
 * assertion card_init makes of card for purpose at inst, signed by card. */
static void patient_by(hx_t *x, frames_t *f, int op, const rx_keypair_t *signer, const rx_keypair_t *card,
		       int purpose, const char *inst)
{
	Rx__CardAssertion a;
	Rx__Signed signed_card;
	Rx__Call c;
	card_init(x, &a, card, purpose, inst);
	sign_msg(x, card, RX_SIGN_CARD, &a.base, &signed_card);
	call_init(x, &c, op);
	c.prescription_id = op == RX_OP_PATIENT_STATUS ? x->id : (char *)"";
	c.card = &signed_card;
	send_call(x, f, signer, &c);
}

/* Signed by the card, through the pharmacy's connection (the assertion
 * made there, so C5 holds): not a portal, L1. */
static void b_patient_list_via_pharmacy(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_LIST, &x->card, &x->card, RX__PURPOSE__PURPOSE_VIEW, inst_of(x, AS_PH));
}

static void b_patient_status_via_pharmacy(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_STATUS, &x->card, &x->card, RX__PURPOSE__PURPOSE_VIEW, inst_of(x, AS_PH));
}

/* The pharmacy's own key with the card through its own connection: L1. */
static void b_patient_list_by_pharmacy(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_LIST, &x->ph, &x->card, RX__PURPOSE__PURPOSE_VIEW, inst_of(x, AS_PH));
}

/* The pharmacy's key through the portal's connection: another
 * institution's key, step I, before anything of the card is looked at. */
static void b_patient_status_pharmacy_key(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_STATUS, &x->ph, &x->card, RX__PURPOSE__PURPOSE_VIEW, PORTAL_CODE);
}

/* L3: no card at all. */
static void b_patient_list_no_card(hx_t *x, frames_t *f)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_PATIENT_LIST);
	send_call(x, f, &x->card, &c);
}

static void b_patient_status_no_card(hx_t *x, frames_t *f)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_PATIENT_STATUS);
	c.prescription_id = x->id;
	send_call(x, f, &x->card, &c);
}

/* L4: the second patient's card signs the call, presenting this card's
 * assertion (each signature good). */
static void b_patient_list_other_signer(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_LIST, &x->card2, &x->card, RX__PURPOSE__PURPOSE_VIEW, PORTAL_CODE);
}

static void b_patient_status_other_signer(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_STATUS, &x->card2, &x->card, RX__PURPOSE__PURPOSE_VIEW, PORTAL_CODE);
}

/* C3: the assertion says it is this card's but the second card signed it
 * (the call too, so L4 would hold). */
static void b_patient_status_forged_assertion(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	Rx__Signed card;
	Rx__Call c;
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_VIEW, PORTAL_CODE);
	sign_msg(x, &x->card2, RX_SIGN_CARD, &a.base, &card);
	call_init(x, &c, RX_OP_PATIENT_STATUS);
	c.prescription_id = x->id;
	c.card = &card;
	send_call(x, f, &x->card, &c);
}

/* C5: made at the pharmacy, sent through the portal. */
static void b_patient_list_assertion_elsewhere(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_LIST, &x->card, &x->card, RX__PURPOSE__PURPOSE_VIEW, inst_of(x, AS_PH));
}

/* D3: an assertion for dispensing, or for issuing, is no view. */
static void b_patient_list_purpose_dispense(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_LIST, &x->card, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, PORTAL_CODE);
}

static void b_patient_status_purpose_issue(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_STATUS, &x->card, &x->card, RX__PURPOSE__PURPOSE_ISSUE, PORTAL_CODE);
}

static void b_patient_status_purpose_nominate(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_STATUS, &x->card, &x->card, RX__PURPOSE__PURPOSE_NOMINATE, PORTAL_CODE);
}

/* D1, D2: a card nobody enrolled, signing for itself; the patient's card
 * that was revoked. */
static void b_patient_list_unknown_card(hx_t *x, frames_t *f)
{
	rx_keypair_t stray = fresh_key();
	patient_by(x, f, RX_OP_PATIENT_LIST, &stray, &stray, RX__PURPOSE__PURPOSE_VIEW, PORTAL_CODE);
}

static void b_patient_status_revoked_card(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_STATUS, &x->lost, &x->lost, RX__PURPOSE__PURPOSE_VIEW, PORTAL_CODE);
}

/* L2: on a connection of a portal revoked since it was made. */
static void b_patient_list_portal_revoked(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_LIST, &x->card, &x->card, RX__PURPOSE__PURPOSE_VIEW, SHUT_CODE);
}

static void b_patient_status_portal_revoked(hx_t *x, frames_t *f)
{
	patient_by(x, f, RX_OP_PATIENT_STATUS, &x->card, &x->card, RX__PURPOSE__PURPOSE_VIEW, SHUT_CODE);
}

/* The read that passes all of it: x->id, as STATUS returns it, without
 * the claim token. */
static int check_patient_status(hx_t *x, const Rx__Reply *r, char *why, size_t wlen)
{
	Rx__Receipt *rc = rx__receipt__unpack(NULL, r->receipt.len, r->receipt.data);
	int ok = rc && rc->op == RX__OP__PATIENT_STATUS && strcmp(rc->prescription_id, x->id) == 0 &&
		 rc->claim_token.len == 0 && rc->body_hash.len == RX_HASH_LEN && r->prescription &&
		 r->prescription->body.len > 0;
	if (!ok)
		snprintf(why, wlen, "the reply is not x->id's status without a claim token");
	if (rc)
		rx__receipt__free_unpacked(rc, NULL);
	return ok;
}

static void b_patient_status_own(hx_t *x, frames_t *f)
{
	patient_read(x, f, RX_OP_PATIENT_STATUS, x->id);
	x->check = check_patient_status;
}

/* The use owed (parts_up): claimed by the pharmacy, part 1 recorded.  The
 * patient sees the part handed over, never the pharmacy's claim token. */
static int check_patient_status_owed(hx_t *x, const Rx__Reply *r, char *why, size_t wlen)
{
	Rx__Receipt *rc = rx__receipt__unpack(NULL, r->receipt.len, r->receipt.data);
	int ok = rc && rc->op == RX__OP__PATIENT_STATUS && strcmp(rc->prescription_id, x->part_id) == 0 &&
		 rc->state == RX__STATE__PARTIALLY_DISPENSED && rc->claim_token.len == 0 &&
		 r->n_dispenses == 1 && rc->dispenses_hash.len == RX_HASH_LEN;
	if (!ok)
		snprintf(why, wlen, "the reply is not the owed use's status, its part 1 and no claim token");
	if (rc)
		rx__receipt__free_unpacked(rc, NULL);
	return ok;
}

static void b_patient_status_owed(hx_t *x, frames_t *f)
{
	patient_read(x, f, RX_OP_PATIENT_STATUS, x->part_id);
	x->check = check_patient_status_owed;
}

const row_t hostile_rows_card[] = {
	ROW("card", card_key_33, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_zero_key, AS_PH, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("card", card_sig_65, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_s_plus_l, AS_PH, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("card", card_other_signer, AS_PH, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("card", card_empty, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_body_garbage, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_version_2, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_nonce_15, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_institution_text, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_other_institution, AS_PH, RX_ASSERTION_MISMATCH, RID_ECHO),
	ROW("card", card_unknown, AS_PH, RX_CARD_UNKNOWN, RID_ECHO),
	ROW("card", card_wrong_purpose, AS_PH, RX_ASSERTION_MISMATCH, RID_ECHO),
	ROW("card", card_on_release, AS_PH, RX_INVALID, RID_ECHO),
	ROW("portal", patient_list_via_pharmacy, AS_PH, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("portal", patient_status_via_pharmacy, AS_PH, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("portal", patient_list_by_pharmacy, AS_PH, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("portal", patient_status_pharmacy_key, AS_CARD, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("portal", patient_list_portal_revoked, AS_SHUT, RX_KEY_REVOKED, RID_ECHO),
	ROW("portal", patient_status_portal_revoked, AS_SHUT, RX_KEY_REVOKED, RID_ECHO),
	ROW("portal", patient_list_no_card, AS_CARD, RX_INVALID, RID_ECHO),
	ROW("portal", patient_status_no_card, AS_CARD, RX_INVALID, RID_ECHO),
	ROW("portal", patient_list_other_signer, AS_CARD, RX_ASSERTION_MISMATCH, RID_ECHO),
	ROW("portal", patient_status_other_signer, AS_CARD, RX_ASSERTION_MISMATCH, RID_ECHO),
	ROW("portal", patient_status_forged_assertion, AS_CARD, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("portal", patient_list_assertion_elsewhere, AS_CARD, RX_ASSERTION_MISMATCH, RID_ECHO),
	ROW("portal", patient_list_purpose_dispense, AS_CARD, RX_ASSERTION_MISMATCH, RID_ECHO),
	ROW("portal", patient_status_purpose_issue, AS_CARD, RX_ASSERTION_MISMATCH, RID_ECHO),
	ROW("portal", patient_status_purpose_nominate, AS_CARD, RX_ASSERTION_MISMATCH, RID_ECHO),
	ROW("portal", patient_list_unknown_card, AS_CARD, RX_CARD_UNKNOWN, RID_ECHO),
	ROW("portal", patient_status_revoked_card, AS_CARD, RX_CARD_REVOKED, RID_ECHO),
	ROW("portal", patient_status_own, AS_CARD, RX_OK, RID_ECHO),
	ROW("portal", patient_status_owed, AS_CARD, RX_OK, RID_ECHO),
};

const int hostile_rows_card_n =
	(int)(sizeof hostile_rows_card / sizeof hostile_rows_card[0]);
