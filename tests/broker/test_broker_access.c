/* Integration: who gets through to rxd: CurveZMQ and ZAP admit registered
 * institutions only, a key only through its own institution's connection;
 * every card refusal over the real socket; the slip's access code. */
#include <stdio.h>

#include "broker_world.h"

/* Count lines of the test broker's log that contain needle. */
static int log_count(const harness_t *h, const char *needle)
{
	char path[300], line[1024];
	int n = 0;
	snprintf(path, sizeof path, "%s/rxd.log", h->dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* CurveZMQ and ZAP: an institution whose curve key is not registered never
 * gets a request through; a stolen signing key is useless through another
 * institution's connection; a revoked institution is shut out. */
START_TEST(transport_admits_only_registered_institutions)
{
	world_t w;
	rxc_result_t r;
	char id[RX_ID_LEN + 1];
	world_up(&w, 0);
	submit(&w, 1, id);
	/* No STATUS was asked before: any STATUS line in the log would be one
	 * of the shut-out clients' (rxd writes a line just after its reply, so
	 * counting all lines here would race with the submit's). */

	/* A registered pharmacy key, but a curve key rxd does not know. */
	rx_curve_t rogue;
	randombytes_buf(rogue.sk, 32);
	crypto_scalarmult_base(rogue.pk, rogue.sk);
	rxc_t *c = harness_client_curve(&w.h, NULL, &w.ph1, &rogue, 1500);
	ck_assert_int_eq(rxc_status(c, id, NULL, &r), RX_UNREACHABLE);
	rxc_result_free(&r);
	rxc_destroy(&c);
	/* ...nor without CurveZMQ at all. */
	rxc_options_t plain = {.timeout_ms = 1500};
	ck_assert_int_eq(rxc_new(&c, NULL, w.h.endpoint, &w.ph1, &plain), RX_OK);
	ck_assert_int_eq(rxc_status(c, id, NULL, &r), RX_UNREACHABLE);
	rxc_result_free(&r);
	rxc_destroy(&c);
	ck_assert_int_eq(log_count(&w.h, " op=STATUS"), 0);
	ck_assert_int_ge(log_count(&w.h, "zap=refuse"), 1);

	/* Dr. Sato's key, stolen and used through the other clinic's connection. */
	harness_inst_t *other = harness_institution(&w.h, "1300000001", 1);
	ck_assert_ptr_nonnull(other);
	c = harness_client_curve(&w.h, NULL, &w.doc, &other->curve, 0);
	ck_assert_int_eq(rxc_cancel(c, NULL, id, RX__CANCEL_REASON__CANCEL_OTHER, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	/* ...or through a pharmacy's. */
	rxc_destroy(&c);
	c = harness_client_curve(&w.h, NULL, &w.doc, &harness_institution(&w.h, "1398765432", 2)->curve, 0);
	ck_assert_int_eq(rxc_status(c, id, NULL, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	rxc_destroy(&c);
	ck_assert_int_eq(state_of(w.cdoc, id), RX_STATE_ISSUED);

	/* Revoke the pharmacy: its open connection is refused at the next
	 * request, and a new one is not admitted at all. */
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__InstitutionInfo ii = RX__INSTITUTION_INFO__INIT;
	Rx__AdminReply *rep;
	ii.code = (char *)"1398765432";
	q.op = RX__ADMIN_OP__INSTITUTION_REVOKE;
	q.institution = &ii;
	ck_assert_int_eq(harness_admin(&w.h, &q, &rep), 0);
	ck_assert_int_eq(rep->status, RX__STATUS__OK);
	rx__admin_reply__free_unpacked(rep, NULL);
	ck_assert_int_eq(rxc_status(w.cph1, id, NULL, &r), RX_KEY_REVOKED);
	rxc_result_free(&r);
	c = harness_client(&w.h, NULL, &w.ph1, 1500);
	ck_assert_int_eq(rxc_status(c, id, NULL, &r), RX_UNREACHABLE);
	rxc_result_free(&r);
	rxc_destroy(&c);
	world_down(&w);
}
END_TEST

/* A signed card assertion with every field chosen by the test. */
static void assertion(const rx_keypair_t *card, int purpose, const char *inst, int64_t at,
		      const uint8_t nonce[16], Rx__Signed *out)
{
	Rx__CardAssertion a = RX__CARD_ASSERTION__INIT;
	a.version = 1;
	a.purpose = (Rx__Purpose)purpose;
	a.institution_code = (char *)inst;
	a.at = at;
	a.nonce.data = (uint8_t *)nonce;
	a.nonce.len = 16;
	a.card_key.data = (uint8_t *)card->pk;
	a.card_key.len = RX_KEY_LEN;
	size_t n = rx__card_assertion__get_packed_size(&a);
	rx__signed__init(out);
	out->body.data = malloc(n);
	out->body.len = n;
	rx__card_assertion__pack(&a, out->body.data);
	out->signature.data = malloc(RX_SIG_LEN);
	out->signature.len = RX_SIG_LEN;
	ck_assert_int_eq(rx_sign(RX_SIGN_CARD, card->sk, out->body.data, n, out->signature.data), RX_OK);
}

static rx_err_t list_with(rxc_t *c, const Rx__Signed *card)
{
	rxc_result_t r;
	rxc_proof_t proof = {.card = card};
	rx_err_t err = rxc_list(c, NULL, NULL, &proof, &r);
	rxc_result_free(&r);
	return err;
}

/* Every card refusal over the real socket. */
START_TEST(card_refusals)
{
	world_t w;
	Rx__Signed a;
	uint8_t nonce[16];
	int64_t now = (int64_t)time(NULL);
	const char *here = "1398765432"; /* ph1's pharmacy */
	world_up(&w, 0);

	/* A card nobody enrolled. */
	rx_keypair_t stray;
	uint8_t seed[RX_SEED_LEN];
	randombytes_buf(seed, sizeof seed);
	rx_keypair_from_seed(seed, &stray);
	randombytes_buf(nonce, 16);
	assertion(&stray, RX__PURPOSE__PURPOSE_DISPENSE, here, now, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_CARD_UNKNOWN);
	rxc_signed_free(&a);

	/* Stale: six minutes off either way. */
	randombytes_buf(nonce, 16);
	assertion(&w.card, RX__PURPOSE__PURPOSE_DISPENSE, here, now - 360, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_ASSERTION_STALE);
	rxc_signed_free(&a);
	assertion(&w.card, RX__PURPOSE__PURPOSE_DISPENSE, here, now + 360, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_ASSERTION_STALE);
	rxc_signed_free(&a);

	/* Mismatch: made at another pharmacy; made for another purpose. */
	assertion(&w.card, RX__PURPOSE__PURPOSE_DISPENSE, "1311112222", now, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_ASSERTION_MISMATCH);
	rxc_signed_free(&a);
	assertion(&w.card, RX__PURPOSE__PURPOSE_ISSUE, here, now, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_ASSERTION_MISMATCH);
	rxc_signed_free(&a);

	/* A forged assertion: another key signed it. */
	assertion(&stray, RX__PURPOSE__PURPOSE_DISPENSE, here, now, nonce, &a);
	Rx__CardAssertion *body = rx__card_assertion__unpack(NULL, a.body.len, a.body.data);
	memcpy(body->card_key.data, w.card.pk, RX_KEY_LEN);
	rx__card_assertion__pack(body, a.body.data);
	rx__card_assertion__free_unpacked(body, NULL);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_BAD_SIGNATURE);
	rxc_signed_free(&a);

	/* The good one works once; the same assertion again is a replay. */
	assertion(&w.card, RX__PURPOSE__PURPOSE_DISPENSE, here, now, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_OK);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_ASSERTION_REPLAYED);
	rxc_signed_free(&a);

	/* A revoked (lost) card. */
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *rep;
	q.op = RX__ADMIN_OP__CARD_REVOKE;
	q.card.data = w.card.pk;
	q.card.len = RX_KEY_LEN;
	ck_assert_int_eq(harness_admin(&w.h, &q, &rep), 0);
	ck_assert_int_eq(rep->status, RX__STATUS__OK);
	rx__admin_reply__free_unpacked(rep, NULL);
	randombytes_buf(nonce, 16);
	assertion(&w.card, RX__PURPOSE__PURPOSE_DISPENSE, here, now, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_CARD_REVOKED);
	rxc_signed_free(&a);

	/* The re-issued card: the same patient id. */
	rx_keypair_t reissued;
	ck_assert_int_eq(harness_card(&w.h, w.patient, &reissued), 0);
	w.card = reissued;
	char id[RX_ID_LEN + 1];
	submit(&w, 1, id);
	rxc_result_t r;
	ck_assert_int_eq(look_as(w.cph1, &w.ph1, NULL, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->n_prescriptions, 1);
	ck_assert_str_eq(r.receipt->patient_id, w.patient);
	rxc_result_free(&r);
	world_down(&w);
}
END_TEST

/* The slip's access code: claim without the card; five wrong codes lock. */
START_TEST(access_code_path)
{
	world_t w;
	harness_rx_t sp;
	rxc_result_t r;
	char id[RX_ID_LEN + 1], code[RX_ACCESS_CODE_LEN + 1], wrong[RX_ACCESS_CODE_LEN + 1];
	world_up(&w, 0);
	harness_prescription(&w.doc, "", 1, 0, 0, "slip", &sp);
	ck_assert_int_eq(SUBMIT(w.cdoc, NULL, &sp.p, &r), RX_OK);
	strcpy(id, r.receipt->prescription_id);
	ck_assert_int_eq(rx_access_code_parse(r.receipt->access_code, code), RX_OK);
	ck_assert_str_eq(r.receipt->patient_id, w.patient);
	rxc_result_free(&r);

	/* No card, no code: a pharmacy may not even look. */
	ck_assert_int_eq(rxc_status(w.cph2, id, NULL, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	rxc_proof_t right = {.access_code = code}, bad = {.access_code = wrong};
	/* A malformed code is INVALID (and not counted); a well-formed wrong
	 * one is BAD_ACCESS_CODE, five of them lock. */
	rxc_proof_t typo = {.access_code = "ABCD-EFGH-JK0"};
	ck_assert_int_eq(rxc_claim(w.cph2, NULL, id, &typo, &r), RX_INVALID);
	rxc_result_free(&r);
	do
		rx_access_code_new(wrong);
	while (strcmp(wrong, code) == 0);
	ck_assert_int_eq(rxc_list(w.cph2, NULL, id, &right, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->n_prescriptions, 1);
	rxc_result_free(&r);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(rxc_claim(w.cph2, NULL, id, &bad, &r), RX_BAD_ACCESS_CODE);
		rxc_result_free(&r);
	}
	ck_assert_int_eq(rxc_claim(w.cph2, NULL, id, &right, &r), RX_ACCESS_LOCKED);
	rxc_result_free(&r);
	/* The operator unlocks it; the right code claims. */
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *rep;
	q.op = RX__ADMIN_OP__RX_UNLOCK;
	q.prescription_id = id;
	ck_assert_int_eq(harness_admin(&w.h, &q, &rep), 0);
	ck_assert_int_eq(rep->status, RX__STATUS__OK);
	rx__admin_reply__free_unpacked(rep, NULL);
	ck_assert_int_eq(rxc_claim(w.cph2, NULL, id, &right, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__CLAIMED);
	rxc_result_free(&r);
	world_down(&w);
}
END_TEST

TCase *broker_access_tcase(void)
{
	TCase *tc = world_tcase("access");
	tcase_add_test(tc, transport_admits_only_registered_institutions);
	tcase_add_test(tc, card_refusals);
	tcase_add_test(tc, access_code_path);
	return tc;
}
