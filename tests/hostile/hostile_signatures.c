/* Hostile input, signatures: the caller's key and signature, and the prescriber's
 * (SUBMIT, step P): wrong lengths, forged, non-canonical and misplaced. */

#include "hostile.h"

/* ---- the caller's key and signature ---- */

/* doc's STATUS with the key and signature given (lengths as given). */
static void status_keysig(hx_t *x, frames_t *f, const uint8_t *key, size_t klen, const uint8_t *sig,
			  size_t slen)
{
	Rx__Call c;
	size_t clen, n;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	uint8_t *call = pack_call(x, &c, &clen);
	uint8_t *req = pack_request(x, key, klen, call, clen, sig, slen, &n);
	request_frames(x, f, req, n);
}

/* doc's STATUS call signed with signer's key under ctx; sig transformed. */
static void status_signed(hx_t *x, frames_t *f, const rx_keypair_t *signer, rx_sign_ctx_t ctx,
			  size_t klen, size_t slen, void (*tweak)(uint8_t *))
{
	Rx__Call c;
	size_t clen, n;
	uint8_t sig[RX_SIG_LEN + 1], key[RX_KEY_LEN + 1];
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	uint8_t *call = pack_call(x, &c, &clen);
	ck_assert_int_eq(rx_sign(ctx, signer->sk, call, clen, sig), RX_OK);
	sig[RX_SIG_LEN] = 0x5a;
	memcpy(key, x->doc.pk, RX_KEY_LEN);
	key[RX_KEY_LEN] = 0xa5;
	if (tweak)
		tweak(sig);
	uint8_t *req = pack_request(x, key, klen, call, clen, sig, slen, &n);
	request_frames(x, f, req, n);
}

static void b_key_31(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, 31, RX_SIG_LEN, NULL);
}

static void b_key_33(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, 33, RX_SIG_LEN, NULL);
}

static void b_key_empty(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, 0, RX_SIG_LEN, NULL);
}

static void b_sig_63(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, RX_KEY_LEN, 63, NULL);
}

static void b_sig_65(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, RX_KEY_LEN, 65, NULL);
}

static void b_sig_empty(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, RX_KEY_LEN, 0, NULL);
}

static void b_zero_key(hx_t *x, frames_t *f)
{
	uint8_t key[RX_KEY_LEN] = {0}, sig[RX_SIG_LEN];
	randombytes_buf(sig, sizeof sig);
	status_keysig(x, f, key, sizeof key, sig, sizeof sig);
}

/* The identity point as key and R = identity, S = 0: the cofactorless
 * equation holds for any message, so only a verifier that refuses
 * small-order keys and points refuses it. */
static void b_identity_key(hx_t *x, frames_t *f)
{
	uint8_t key[RX_KEY_LEN] = {1}, sig[RX_SIG_LEN] = {1};
	status_keysig(x, f, key, sizeof key, sig, sizeof sig);
}

static void b_sig_s_plus_l(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, RX_KEY_LEN, RX_SIG_LEN, malleate);
}

static void b_sig_other_key(hx_t *x, frames_t *f)
{
	rx_keypair_t other = fresh_key();
	status_signed(x, f, &other, RX_SIGN_CALL, RX_KEY_LEN, RX_SIG_LEN, NULL);
}

static void b_sig_other_context(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_PRESCRIPTION, RX_KEY_LEN, RX_SIG_LEN, NULL);
}

static void flip_bit(uint8_t *sig)
{
	sig[40] ^= 0x04;
}

static void b_sig_bit_flipped(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, RX_KEY_LEN, RX_SIG_LEN, flip_bit);
}

static void b_unknown_key(hx_t *x, frames_t *f)
{
	rx_keypair_t other = fresh_key();
	Rx__Call c;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	send_call(x, f, &other, &c);
}

/* doc's key through the pharmacy's connection: a stolen key (K4). */
static void b_stolen_key(hx_t *x, frames_t *f)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	send_call(x, f, &x->doc, &c);
}

/* ---- the prescriber's signature and key (SUBMIT, step P) ---- */

static void b_presc_key_31(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.prescriber_key.len = 31;
	submit_presc(x, f, &ps);
}

static void b_presc_sig_63(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	presc_init(x, &ps);
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	sp.signature.len = 63;
	submit_signed(x, f, &sp);
}

static void b_presc_zero_key(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	uint8_t zero[RX_KEY_LEN] = {0};
	presc_init(x, &ps);
	ps.p.prescriber_key.data = zero;
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	randombytes_buf(sp.signature.data, RX_SIG_LEN);
	submit_signed(x, f, &sp);
}

static void b_presc_s_plus_l(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	presc_init(x, &ps);
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	malleate(sp.signature.data);
	submit_signed(x, f, &sp);
}

static void b_presc_other_signer(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	rx_keypair_t other = fresh_key();
	presc_init(x, &ps);
	sign_msg(x, &other, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	submit_signed(x, f, &sp);
}

/* Signed by its own (unregistered) prescriber, submitted by doc (P5). */
static void b_presc_not_callers(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	rx_keypair_t other = fresh_key();
	presc_init(x, &ps);
	ps.p.prescriber_key.data = other.pk;
	sign_msg(x, &other, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	submit_signed(x, f, &sp);
}

static void b_presc_body_garbage(hx_t *x, frames_t *f)
{
	Rx__Signed sp = RX__SIGNED__INIT;
	sp.body.data = hx_dup(x, "\xff\xff\xff", 3);
	sp.body.len = 3;
	sp.signature.data = hx_alloc(x, RX_SIG_LEN);
	sp.signature.len = RX_SIG_LEN;
	resign(&x->doc, RX_SIGN_PRESCRIPTION, &sp);
	submit_signed(x, f, &sp);
}

static void b_patient_card_31(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.patient_card.len = 31;
	submit_presc(x, f, &ps);
}

static void b_presc_version_2(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.version = 2;
	submit_presc(x, f, &ps);
}

static void b_presc_uses_4(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.uses = 4;
	submit_presc(x, f, &ps);
}

static void b_submit_without_card(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	Rx__Call c;
	presc_init(x, &ps);
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	call_init(x, &c, RX_OP_SUBMIT);
	c.prescription = &sp;
	send_call(x, f, &x->doc, &c);
}

static void b_submit_without_prescription(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	good_card(x, AS_DOC, &card);
	call_init(x, &c, RX_OP_SUBMIT);
	c.card = &card;
	send_call(x, f, &x->doc, &c);
}

const row_t hostile_rows_signatures[] = {
	ROW("caller key", key_31, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("caller key", key_33, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("caller key", key_empty, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("caller key", sig_63, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("caller key", sig_65, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("caller key", sig_empty, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("caller key", zero_key, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("caller key", identity_key, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("caller key", sig_s_plus_l, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("caller key", sig_other_key, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("caller key", sig_other_context, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("caller key", sig_bit_flipped, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("caller key", unknown_key, AS_PH, RX_UNKNOWN_KEY, RID_ECHO),
	ROW("caller key", stolen_key, AS_PH, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("prescriber", presc_key_31, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", presc_sig_63, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", presc_zero_key, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("prescriber", presc_s_plus_l, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("prescriber", presc_other_signer, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("prescriber", presc_not_callers, AS_DOC, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("prescriber", presc_body_garbage, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", patient_card_31, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", presc_version_2, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", presc_uses_4, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", submit_without_card, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", submit_without_prescription, AS_DOC, RX_INVALID, RID_ECHO),
};

const int hostile_rows_signatures_n =
	(int)(sizeof hostile_rows_signatures / sizeof hostile_rows_signatures[0]);
