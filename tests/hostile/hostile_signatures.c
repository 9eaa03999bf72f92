/* Hostile input, signatures: the caller's key and signature, the
 * prescriber's (since protocol v2 the same one: the request's signature over
 * the prescription), wrong lengths, forged, non-canonical and misplaced; and
 * the v2 binding of a document to its call (call_hash, contexts, versions,
 * v1 frames). */

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

/* ---- the prescriber's signature and key (SUBMIT) ----
 * Since protocol v2 the prescriber's signature is the request's one
 * signature (Request.signature by Request.key, step 7), over the
 * prescription that names the call; what was a defect of a separate
 * Signed{body, signature} is now one of the request. */

static void b_presc_key_31(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.prescriber_key.len = 31;
	submit_presc(x, f, &ps);
}

/* v1: the prescription's own signature of 63 bytes (INVALID at P).  v2:
 * that signature is Request.signature, so INVALID at step 6; the call is
 * not yet decoded, the request id is read off the wire. */
static void b_presc_sig_63(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	submit_doc(x, f, (doc_req_t){.msg = &ps.p.base, .sig_len = 63});
}

static void random_sig(uint8_t sig[RX_SIG_LEN])
{
	randombytes_buf(sig, RX_SIG_LEN);
}

/* The all-zero (small-order) key as the prescriber's, with a random
 * signature.  v2: the key the prescription's signature is checked with is
 * Request.key, so both are zero: BAD_SIGNATURE at step 7 (as in v1 at P). */
static void b_presc_zero_key(hx_t *x, frames_t *f)
{
	presc_t ps;
	static const uint8_t zero[RX_KEY_LEN];
	presc_init(x, &ps);
	ps.p.prescriber_key.data = (uint8_t *)zero;
	submit_doc(x, f, (doc_req_t){.msg = &ps.p.base, .key = zero, .tweak = random_sig});
}

/* Non-canonical S: BAD_SIGNATURE, now at step 7. */
static void b_presc_s_plus_l(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	submit_doc(x, f, (doc_req_t){.msg = &ps.p.base, .tweak = malleate});
}

/* doc's prescription and Request.key, signed by another key: v1 refused the
 * prescriber's signature at P; v2 refuses the request signature, which
 * does not verify with Request.key: BAD_SIGNATURE at step 7. */
static void b_presc_other_signer(hx_t *x, frames_t *f)
{
	presc_t ps;
	rx_keypair_t other = fresh_key();
	presc_init(x, &ps);
	submit_doc(x, f, (doc_req_t){.msg = &ps.p.base, .signer = &other, .key = x->doc.pk});
}

/* A prescription naming another (unregistered) prescriber, signed and
 * submitted by doc: the signature holds (step 7), but a prescription is
 * submitted by its prescriber only: PERMISSION_DENIED at P, as in v1 (P5),
 * where the other prescriber had signed it. */
static void b_presc_not_callers(hx_t *x, frames_t *f)
{
	presc_t ps;
	rx_keypair_t other = fresh_key();
	presc_init(x, &ps);
	ps.p.prescriber_key.data = other.pk;
	submit_presc(x, f, &ps);
}

/* Garbage as Request.prescription, validly signed by doc: the signature
 * holds (step 7), the document does not decode: INVALID at 7a, the request
 * id off the wire (the call is not decoded before the document names it). */
static void b_presc_body_garbage(hx_t *x, frames_t *f)
{
	submit_doc(x, f, (doc_req_t){.bytes = (const uint8_t *)"\xff\xff\xff", .nbytes = 3});
}

static void b_patient_card_31(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.patient_card.len = 31;
	submit_presc(x, f, &ps);
}

/* An unsupported version.  v1 used 2 here; 2 is now the current version
 * (RX_DOC_VERSION), so the next one. */
static void b_presc_version_3(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.version = RX_DOC_VERSION + 1;
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
	Rx__Call c;
	presc_init(x, &ps);
	call_init(x, &c, RX_OP_SUBMIT);
	submit_doc(x, f, (doc_req_t){.call = &c, .msg = &ps.p.base});
}

/* No Request.prescription: the signature is over the call and holds; a
 * SUBMIT without its document is INVALID at 9a. */
static void b_submit_without_prescription(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	submit_call(x, &c, &card);
	send_call(x, f, &x->doc, &c);
}

/* ---- binding (v2, steps 7 and 7a): the document names its call by
 * call_hash, and the one signature covers both ---- */

/* A prescription bound to another call of doc's (same card, another request
 * id), validly signed by doc: BAD_SIGNATURE at 7a, the request id off the
 * wire. */
static void b_call_hash_other_call(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	submit_doc(x, f, (doc_req_t){.msg = &ps.p.base, .bind = BIND_OTHER});
}

static void b_call_hash_missing(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	submit_doc(x, f, (doc_req_t){.msg = &ps.p.base, .bind = BIND_NONE});
}

static void b_call_hash_31(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	submit_doc(x, f, (doc_req_t){.msg = &ps.p.base, .bind = BIND_SHORT});
}

static void b_call_hash_33(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	submit_doc(x, f, (doc_req_t){.msg = &ps.p.base, .bind = BIND_LONG});
}

/* The same for a dispense record (7a checks Request.dispense alike). */
static void b_record_call_hash_other_call(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	dispense_doc(x, f, (doc_req_t){.msg = &r.d.base, .bind = BIND_OTHER});
}

static void b_record_call_hash_missing(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	dispense_doc(x, f, (doc_req_t){.msg = &r.d.base, .bind = BIND_NONE});
}

/* Garbage as Request.dispense, validly signed: INVALID at 7a. */
static void b_record_body_garbage(hx_t *x, frames_t *f)
{
	dispense_doc(x, f, (doc_req_t){.bytes = (const uint8_t *)"\xff\xff\xff", .nbytes = 3});
}

/* A version-1 prescription, bound to its call and signed under the v1
 * context ("rx-exchange v1 prescription"), as a v1 client upgraded half way
 * would: rxd verifies a request's document under the v2 context only
 * (v1 contexts are for documents stored before v2): BAD_SIGNATURE at 7. */
static void b_presc_v1_context(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.version = 1;
	submit_doc(x, f, (doc_req_t){.msg = &ps.p.base, .v1_context = 1});
}

/* The same signed under the v2 context: bound and signed, but version 1 is
 * no longer accepted at SUBMIT: INVALID at P (rx_check_prescription). */
static void b_presc_version_1(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.version = 1;
	submit_presc(x, f, &ps);
}

/* A version-1 dispense record, bound and signed under the v2 context:
 * INVALID at P (rx_check_dispense). */
static void b_record_version_1(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.version = 1;
	dispense_record(x, f, &r);
}

/* c packed with a v1 document appended as its old field (5: SUBMIT's
 * Signed prescription, 6: DISPENSE's Signed record), which v2 reserves:
 * the call bytes as a v1 client sent them. */
static uint8_t *v1_call(hx_t *x, const Rx__Call *c, int field, const Rx__Signed *s, size_t *len)
{
	size_t clen, slen = rx__signed__get_packed_size(s);
	uint8_t *call = pack_call(x, c, &clen), v[10];
	size_t vl = put_varint(v, slen);
	uint8_t *b = hx_alloc(x, clen + 1 + vl + slen);
	memcpy(b, call, clen);
	b[clen] = (uint8_t)(field << 3 | 2);
	memcpy(b + clen + 1, v, vl);
	rx__signed__pack(s, b + clen + 1 + vl);
	*len = clen + 1 + vl + slen;
	return b;
}

/* A v1 SUBMIT frame: the version-1 prescription signed by doc under the v1
 * context inside the call (field 5), the request signature over the call.
 * The signature holds (no document in the Request: it is over the call),
 * field 5 is an unknown field to v2, and a SUBMIT without
 * Request.prescription is INVALID at 9a. */
static void b_v1_submit_frame(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp, card;
	Rx__Call c;
	size_t clen, n;
	presc_init(x, &ps);
	ps.p.version = 1;
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION_V1, &ps.p.base, &sp);
	submit_call(x, &c, &card);
	uint8_t *call = v1_call(x, &c, 5, &sp, &clen);
	uint8_t *req = signed_bytes(x, &x->doc, call, clen, &n);
	request_frames(x, f, req, n);
}

/* A v1 DISPENSE frame (the record in the call's field 6): INVALID at 9a. */
static void b_v1_dispense_frame(hx_t *x, frames_t *f)
{
	record_t r;
	Rx__Signed sd;
	Rx__Call c;
	uint8_t token[RX_TOKEN_LEN];
	size_t clen, n;
	record_init(x, &r);
	r.d.version = 1;
	sign_msg(x, &x->ph, RX_SIGN_DISPENSE_V1, &r.d.base, &sd);
	dispense_call(x, &c, token);
	uint8_t *call = v1_call(x, &c, 6, &sd, &clen);
	uint8_t *req = signed_bytes(x, &x->ph, call, clen, &n);
	request_frames(x, f, req, n);
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
	ROW("prescriber", presc_version_3, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", presc_uses_4, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", submit_without_card, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", submit_without_prescription, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("binding", call_hash_other_call, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("binding", call_hash_missing, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("binding", call_hash_31, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("binding", call_hash_33, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("binding", record_call_hash_other_call, AS_PH, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("binding", record_call_hash_missing, AS_PH, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("binding", record_body_garbage, AS_PH, RX_INVALID, RID_ECHO),
	ROW("binding", presc_v1_context, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("binding", presc_version_1, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("binding", record_version_1, AS_PH, RX_INVALID, RID_ECHO),
	ROW("binding", v1_submit_frame, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("binding", v1_dispense_frame, AS_PH, RX_INVALID, RID_ECHO),
};

const int hostile_rows_signatures_n =
	(int)(sizeof hostile_rows_signatures / sizeof hostile_rows_signatures[0]);
