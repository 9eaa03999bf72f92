/* broker_world: the broker tests' shared fixture (see broker_world.h). */
#include <stdio.h>

#include "broker_world.h"

TCase *world_tcase(const char *name)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, 120);
	return tc;
}

/* The world of the running test (one per forked test process), set by
 * world_up. */
static world_t *W;

/* The signing key behind one of the world's clients. */
const rx_keypair_t *key_of(rxc_t *c)
{
	return c == W->cdoc ? &W->doc : c == W->cdoc2 ? &W->doc2 : c == W->cph1 ? &W->ph1 : &W->ph2;
}

/* SUBMIT with the patient's card in the reader at kp's clinic. */
rx_err_t submit_as(rxc_t *c, const rx_keypair_t *kp, const uint8_t *rid, const Rx__Prescription *sp,
		   rxc_result_t *r)
{
	Rx__Signed card;
	harness_assertion(&W->h, &W->card, kp, RX__PURPOSE__PURPOSE_ISSUE, &card);
	rx_err_t err = rxc_submit(c, rid, sp, &card, r);
	rxc_signed_free(&card);
	return err;
}

/* CLAIM, STATUS and LIST with the patient's card at kp's pharmacy. */
rx_err_t claim_as(rxc_t *c, const rx_keypair_t *kp, const uint8_t *rid, const char *id,
		  rxc_result_t *r)
{
	Rx__Signed card;
	harness_assertion(&W->h, &W->card, kp, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	rx_err_t err = rxc_claim(c, rid, id, &proof, r);
	rxc_signed_free(&card);
	return err;
}

rx_err_t look_as(rxc_t *c, const rx_keypair_t *kp, const char *id, rxc_result_t *r)
{
	Rx__Signed card;
	harness_assertion(&W->h, &W->card, kp, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	rx_err_t err = id ? rxc_status(c, id, &proof, r) : rxc_list(c, NULL, NULL, &proof, r);
	rxc_signed_free(&card);
	return err;
}

void world_up(world_t *w, int map_mib)
{
	memset(w, 0, sizeof *w);
	W = w;
	ck_assert_msg(harness_start(&w->h, map_mib) == 0, "rxd did not start (is $RXD set?)");
	ck_assert_int_eq(harness_key(&w->h, &w->doc, RX_ROLE_PRESCRIBER, "1312345678"), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->doc2, RX_ROLE_PRESCRIBER, "1300000001"), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph1, RX_ROLE_PHARMACY, "1398765432"), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph2, RX_ROLE_PHARMACY, "1311112222"), 0);
	ck_assert_int_eq(harness_enroll(&w->h, "123456789018", w->patient), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient, &w->card), 0);
	w->cdoc = harness_client(&w->h, NULL, &w->doc, 0);
	w->cdoc2 = harness_client(&w->h, NULL, &w->doc2, 0);
	w->cph1 = harness_client(&w->h, NULL, &w->ph1, 0);
	w->cph2 = harness_client(&w->h, NULL, &w->ph2, 0);
}

void world_down(world_t *w)
{
	rxc_destroy(&w->cdoc);
	rxc_destroy(&w->cdoc2);
	rxc_destroy(&w->cph1);
	rxc_destroy(&w->cph2);
	harness_cleanup(&w->h);
}

/* Submit a prescription; its id into id.  Asserts OK. */
void submit(world_t *w, uint32_t uses, char id[RX_ID_LEN + 1])
{
	harness_rx_t sp;
	rxc_result_t r;
	char notes[64];
	/* Distinct notes, so two submits are two prescriptions, not a resubmit. */
	snprintf(notes, sizeof notes, "n%u", (unsigned)randombytes_random());
	harness_prescription(&w->doc, w->patient, uses, 0, 0, notes, &sp);
	ck_assert_int_eq(SUBMIT(w->cdoc, NULL, &sp.p, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__ISSUED);
	ck_assert_str_eq(r.receipt->patient_id, w->patient);
	strcpy(id, r.receipt->prescription_id);
	ck_assert_int_eq(rx_rxid_parse(id, id), RX_OK);
	rxc_result_free(&r);
}

void claim(rxc_t *c, const char *id, uint8_t token[RX_TOKEN_LEN])
{
	rxc_result_t r;
	ck_assert_int_eq(CLAIM(c, NULL, id, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__CLAIMED);
	ck_assert_int_eq(r.receipt->claim_token.len, RX_TOKEN_LEN);
	memcpy(token, r.receipt->claim_token.data, RX_TOKEN_LEN);
	rxc_result_free(&r);
}

rx_err_t dispense(rxc_t *c, const rx_keypair_t *kp, const char *id,
		  const uint8_t token[RX_TOKEN_LEN], uint32_t use, int *state)
{
	harness_rec_t rec;
	rxc_result_t r;
	harness_dispense_record(kp, id, use, &rec);
	rx_err_t err = rxc_dispense(c, NULL, id, token, &rec.d, &r);
	if (err == RX_OK && state)
		*state = r.receipt->state;
	rxc_result_free(&r);
	return err;
}

/* The state as the issuer sees it (every test prescription is Dr. doc's). */
int state_of(rxc_t *c, const char *id)
{
	rxc_result_t r;
	(void)c;
	ck_assert_int_eq(rxc_status(W->cdoc, id, NULL, &r), RX_OK);
	int s = r.receipt->state;
	rxc_result_free(&r);
	return s;
}
