/* Hostile input, the card assertion (C1-C5, D1-D4): broken keys, signatures, bodies,
 * institutions and purposes. */

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
};

const int hostile_rows_card_n =
	(int)(sizeof hostile_rows_card / sizeof hostile_rows_card[0]);
