/* The prescription state machine (store/store.c's SUBMIT, CLAIM, RELEASE,
 * DISPENSE and CANCEL; rx.c once the store is split): what each change does
 * to a prescription, who may make it, and what expiry leaves. */

#include "store_world.h"

/* ---- submit ---- */

START_TEST(submit_issues)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	world_open(&w);

	store_change_t *c = mk_submit(&k, w.doc, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 0);
	ck_assert_ptr_null(out.why);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	ck_assert_int_eq(rx_rxid_parse(out.rx.id, id), RX_OK);
	ck_assert_str_eq(id, out.rx.id);
	ck_assert_uint_eq(out.rx.uses, 1);
	ck_assert_uint_eq(out.rx.uses_left, 1);
	ck_assert_str_eq(out.rx.patient_id, w.patient);
	ck_assert_str_eq(out.rx.institution, INST);
	ck_assert_mem_eq(out.rx.prescriber, w.doc, RX_KEY_LEN);
	ck_assert_int_eq(out.rx.issued_at, T0);
	ck_assert_int_eq(out.rx.valid_until, rx_valid_until(T0, 4));
	ck_assert_int_eq(out.rx.created_at, T0);
	ck_assert_int_eq(out.rx.cancel_pending, 0);
	uint8_t h[RX_HASH_LEN];
	rx_hash(k.body, sizeof k.body, h);
	ck_assert_mem_eq(out.rx.body_hash, h, RX_HASH_LEN);

	/* The signed bytes come back verbatim. */
	store_rx_t rx;
	store_buf_t body = {0}, sig = {0};
	const char *why = NULL;
	ck_assert_int_eq(store_status(w.s, w.doc, peer_of(w.doc), id, T0, &rx, &body, &sig, &why), RX_OK);
	ck_assert_uint_eq(body.len, sizeof k.body);
	ck_assert_mem_eq(body.data, k.body, sizeof k.body);
	ck_assert_uint_eq(sig.len, RX_SIG_LEN);
	ck_assert_mem_eq(sig.data, k.sig, RX_SIG_LEN);
	ck_assert_int_eq(rx.state, RX_STATE_ISSUED);
	store_buf_free(&body);
	store_buf_free(&sig);
	ck_assert_ptr_null(body.data);

	store_stats_t st = stats_of(&w, T0);
	ck_assert_uint_eq(st.prescriptions, 1);
	ck_assert_uint_eq(st.by_state[RX_STATE_ISSUED], 1);
	ck_assert_uint_eq(st.patients, 2);
	ck_assert_uint_eq(st.keys, 6);
	ck_assert_uint_eq(st.dispense_records, 0);

	/* An empty institution is the key's own. */
	c = mk_submit(&k, w.doc_far, w.patient, 1, T0);
	c->institution = "";
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_str_eq(out.rx.institution, INST_OTHER);
	ck_assert_str_ne(out.rx.id, id);
	world_close(&w);
}
END_TEST

START_TEST(submit_refusals)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	store_change_t *c;
	world_open(&w);

	c = mk_submit(&k, w.stranger, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_UNKNOWN_KEY);
	c = mk_submit(&k, w.revoked, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_KEY_REVOKED);
	c = mk_submit(&k, w.pharm, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED);
	c = mk_submit(&k, w.doc, w.patient, 1, T0);
	c->institution = INST_OTHER;
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED);
	c = mk_submit(&k, w.doc_far, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED); /* names INST */
	/* Filed under the card's patient: naming another is a mismatch. */
	c = mk_submit(&k, w.doc, w.unenrolled, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_ASSERTION_MISMATCH);
	c = mk_submit(&k, w.doc, w.patient2, 1, T0);
	k.assertion.card = w.card;
	ck_assert_int_eq(apply(&w, c, &out), RX_ASSERTION_MISMATCH);
	/* No card, no prescription. */
	c = mk_submit(&k, w.doc, w.patient, 1, T0);
	c->card = NULL;
	ck_assert_int_eq(apply(&w, c, &out), RX_INVALID);
	ck_assert_int_eq(w.calls, 0);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 0);

	/* A refused request id is not burnt: the corrected request may reuse it. */
	c = mk_submit(&k, w.doc, w.unenrolled, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_ASSERTION_MISMATCH);
	c->patient_id = w.patient;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 0);
	world_close(&w);
}
END_TEST

/* ---- claim and release ---- */

START_TEST(claim_and_release)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN], token2[RX_TOKEN_LEN];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	/* prescribers do not claim */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.doc, id, T0 + 5), &out), RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.stranger, id, T0 + 5), &out), RX_UNKNOWN_KEY);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 10), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	ck_assert_uint_eq(out.use, 1);
	ck_assert_mem_eq(out.rx.claimer, w.pharm, RX_KEY_LEN);
	ck_assert_mem_ne(out.rx.claim_token, zero_token, RX_TOKEN_LEN);
	ck_assert_int_eq(out.rx.updated_at, T0 + 10);
	memcpy(token, out.rx.claim_token, RX_TOKEN_LEN);

	/* another pharmacy */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm2, id, T0 + 20), &out),
			 RX_ALREADY_CLAIMED);
	/* the holder again, with a new request id: the same claim back */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 30), &out), RX_OK);
	ck_assert_int_eq(out.replayed, 0);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	ck_assert_mem_eq(out.rx.claim_token, token, RX_TOKEN_LEN);

	/* release: wrong token, other pharmacy with the right token, the prescriber */
	memcpy(token2, token, sizeof token2);
	token2[0] ^= 1;
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, token2, T0 + 40), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, zero_token, T0 + 40), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm2, id, token, T0 + 40), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.doc, id, token, T0 + 40), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(status_of(&w, w.pharm, id, T0 + 40).state, RX_STATE_CLAIMED);

	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, token, T0 + 50), &out),
			 RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	ck_assert_mem_eq(out.rx.claim_token, zero_token, RX_TOKEN_LEN);
	uint8_t zero_key[RX_KEY_LEN] = {0};
	ck_assert_mem_eq(out.rx.claimer, zero_key, RX_KEY_LEN);

	/* released: a second release is refused, the old token is dead */
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, token, T0 + 55), &out),
			 RX_PERMISSION_DENIED);

	/* now the other pharmacy may claim, and gets a token of its own */
	claim(&w, w.pharm2, id, T0 + 60, token2);
	ck_assert_mem_ne(token2, token, RX_TOKEN_LEN);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 70), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm2, id, token, T0 + 70), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(status_of(&w, w.pharm, id, T0 + 70).state, RX_STATE_CLAIMED);
	world_close(&w);
}
END_TEST

/* ---- dispense ---- */

START_TEST(dispense_once)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	store_change_t *c;
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	/* not claimed */
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, zero_token, T0 + 5), &out),
			 RX_PERMISSION_DENIED);
	claim(&w, w.pharm, id, T0 + 10, token);

	/* the record names a use other than the one claimed */
	static const uint32_t wrong[] = {2, 3, 4, 255, 256 + 1};
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 20);
		c->use = wrong[i];
		ck_assert_msg(apply(&w, c, &out) == RX_INVALID, "use %u", wrong[i]);
	}
	ck_assert_uint_eq(stats_of(&w, T0).dispense_records, 0);

	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 30);
	c->use = 1;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_DISPENSED);
	ck_assert_uint_eq(out.rx.uses_left, 0);
	ck_assert_uint_eq(out.use, 1);
	ck_assert_mem_eq(out.rx.claim_token, zero_token, RX_TOKEN_LEN);
	store_stats_t st = stats_of(&w, T0 + 30);
	ck_assert_uint_eq(st.dispense_records, 1);
	ck_assert_uint_eq(st.by_state[RX_STATE_DISPENSED], 1);
	ck_assert_uint_eq(st.by_state[RX_STATE_CLAIMED], 0);

	/* a second dispense under a new request id, with and without a use */
	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 40);
	c->use = 1;
	ck_assert_int_eq(apply(&w, c, &out), RX_ALREADY_DISPENSED);
	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 40);
	ck_assert_int_eq(apply(&w, c, &out), RX_ALREADY_DISPENSED);
	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm2, id, zero_token, T0 + 40);
	ck_assert_int_eq(apply(&w, c, &out), RX_ALREADY_DISPENSED);
	ck_assert_uint_eq(stats_of(&w, T0).dispense_records, 1);

	/* and nothing else moves it */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 50), &out),
			 RX_ALREADY_DISPENSED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm2, id, T0 + 50), &out),
			 RX_ALREADY_DISPENSED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, token, T0 + 50), &out),
			 RX_ALREADY_DISPENSED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, T0 + 50), &out),
			 RX_ALREADY_DISPENSED);
	/* nor does expiry change what happened */
	ck_assert_int_eq(status_of(&w, w.doc, id, T0 + 40 * DAY).state, RX_STATE_DISPENSED);
	world_close(&w);
}
END_TEST

START_TEST(dispense_use_zero_means_claimed)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	world_open(&w);
	submit(&w, w.doc, w.patient, 2, T0, id);
	claim(&w, w.pharm, id, T0 + 10, token);
	store_change_t *c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 20);
	c->use = 0;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_uint_eq(out.use, 1);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	claim(&w, w.pharm, id, T0 + 30, token);
	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 40);
	c->use = 0;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_uint_eq(out.use, 2);
	ck_assert_int_eq(out.rx.state, RX_STATE_DISPENSED);
	ck_assert_uint_eq(stats_of(&w, T0).dispense_records, 2);
	world_close(&w);
}
END_TEST

START_TEST(refill_three_uses)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	store_change_t *c;
	const uint8_t *who[3];
	world_open(&w);
	who[0] = w.pharm;
	who[1] = w.pharm2;
	who[2] = w.pharm;
	submit(&w, w.doc, w.patient, 3, T0, id);

	for (uint32_t use = 1; use <= 3; use++) {
		int64_t t = T0 + (int64_t)use * 3600;
		ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, who[use - 1], id, t), &out), RX_OK);
		ck_assert_uint_eq(out.use, use);
		memcpy(token, out.rx.claim_token, RX_TOKEN_LEN);
		/* a use already dispensed cannot be named again */
		if (use > 1) {
			c = mk_tok(&k, RX_OP_DISPENSE, who[use - 1], id, token, t + 1);
			c->use = use - 1;
			ck_assert_int_eq(apply(&w, c, &out), RX_ALREADY_DISPENSED);
		}
		c = mk_tok(&k, RX_OP_DISPENSE, who[use - 1], id, token, t + 2);
		c->use = use;
		ck_assert_int_eq(apply(&w, c, &out), RX_OK);
		ck_assert_uint_eq(out.use, use);
		ck_assert_uint_eq(out.rx.uses_left, 3 - use);
		ck_assert_int_eq(out.rx.state, use < 3 ? RX_STATE_ISSUED : RX_STATE_DISPENSED);
		ck_assert_uint_eq(stats_of(&w, t).dispense_records, use);
	}
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 5 * 3600), &out),
			 RX_ALREADY_DISPENSED);
	ck_assert_uint_eq(stats_of(&w, T0).dispense_records, 3);
	world_close(&w);
}
END_TEST

/* ---- cancel ---- */

START_TEST(cancel_issued)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc2, id, T0 + 5), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc_far, id, T0 + 5), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.pharm, id, T0 + 5), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.revoked, id, T0 + 5), &out),
			 RX_KEY_REVOKED);
	ck_assert_int_eq(status_of(&w, w.doc, id, T0 + 5).state, RX_STATE_ISSUED);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, T0 + 10), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CANCELLED);
	ck_assert_int_eq(out.rx.cancel_pending, 0);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 20), &out), RX_CANCELLED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, T0 + 20), &out), RX_CANCELLED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, zero_token, T0 + 20), &out),
			 RX_CANCELLED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, zero_token, T0 + 20), &out),
			 RX_CANCELLED);
	/* cancelled stays cancelled past expiry */
	ck_assert_int_eq(status_of(&w, w.doc, id, T0 + 40 * DAY).state, RX_STATE_CANCELLED);
	ck_assert_uint_eq(stats_of(&w, T0).by_state[RX_STATE_CANCELLED], 1);
	world_close(&w);
}
END_TEST

START_TEST(cancel_while_claimed)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);
	claim(&w, w.pharm, id, T0 + 10, token);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, T0 + 20), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	ck_assert_int_eq(out.rx.cancel_pending, 1);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, T0 + 25), &out), RX_CANCELLED);

	/* the claimer may not dispense; nobody may claim */
	store_change_t *c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 30);
	c->use = 1;
	ck_assert_int_eq(apply(&w, c, &out), RX_CANCELLED);
	ck_assert_uint_eq(stats_of(&w, T0).dispense_records, 0);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm2, id, T0 + 30), &out), RX_CANCELLED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 30), &out), RX_CANCELLED);
	/* only the claimer's release completes it */
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm2, id, token, T0 + 35), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, token, T0 + 40), &out),
			 RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CANCELLED);
	ck_assert_int_eq(out.rx.cancel_pending, 0);
	ck_assert_int_eq(status_of(&w, w.doc, id, T0 + 50).state, RX_STATE_CANCELLED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 50), &out), RX_CANCELLED);
	world_close(&w);
}
END_TEST

/* ---- expiry ---- */

START_TEST(expiry)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1], id2[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);
	submit(&w, w.doc, w.patient, 1, T0, id2);
	const int64_t until = rx_valid_until(T0, RX_DEFAULT_VALID_DAYS);

	/* the last second of validity still works, the first after does not */
	claim(&w, w.pharm, id2, until - 1, token);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, until), &out), RX_EXPIRED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, until + DAY), &out), RX_EXPIRED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, until), &out), RX_EXPIRED);

	store_rx_t rx = status_of(&w, w.doc, id, until);
	ck_assert_int_eq(rx.state, RX_STATE_EXPIRED);
	ck_assert_int_eq(status_of(&w, w.doc, id, until - 1).state, RX_STATE_ISSUED);

	/* claimed, then expired: no dispense, but the claimer may release */
	ck_assert_int_eq(status_of(&w, w.pharm, id2, until).state, RX_STATE_EXPIRED);
	store_change_t *c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id2, token, until);
	c->use = 1;
	ck_assert_int_eq(apply(&w, c, &out), RX_EXPIRED);
	ck_assert_uint_eq(stats_of(&w, until).dispense_records, 0);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id2, token, until + 60), &out),
			 RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_EXPIRED);

	store_stats_t st = stats_of(&w, until);
	ck_assert_uint_eq(st.by_state[RX_STATE_EXPIRED], 2);
	ck_assert_uint_eq(st.by_state[RX_STATE_ISSUED], 0);
	st = stats_of(&w, until - 1);
	ck_assert_uint_eq(st.by_state[RX_STATE_ISSUED], 2);
	world_close(&w);
}
END_TEST

START_TEST(unknown_id_not_found)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1], other[RX_ID_LEN + 1];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);
	do
		rx_rxid_new(other);
	while (strcmp(other, id) == 0);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, other, T0), &out), RX_NOT_FOUND);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, other, zero_token, T0), &out),
			 RX_NOT_FOUND);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, other, zero_token, T0), &out),
			 RX_NOT_FOUND);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, other, T0), &out), RX_NOT_FOUND);
	store_rx_t rx;
	const char *why = NULL;
	ck_assert_int_eq(store_status(w.s, w.pharm, peer_of(w.pharm), other, T0, &rx, NULL, NULL, &why), RX_NOT_FOUND);
	ck_assert_ptr_nonnull(why);
	/* and a key check comes first: strangers learn nothing */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.stranger, other, T0), &out), RX_UNKNOWN_KEY);
	ck_assert_int_eq(store_status(w.s, w.stranger, peer_of(w.stranger), id, T0, &rx, NULL, NULL, &why), RX_UNKNOWN_KEY);
	ck_assert_int_eq(store_status(w.s, w.revoked, peer_of(w.revoked), id, T0, &rx, NULL, NULL, &why), RX_KEY_REVOKED);
	world_close(&w);
}
END_TEST

TCase *store_rx_tcase(void)
{
	TCase *tc = world_tcase("rx");
	tcase_add_test(tc, submit_issues);
	tcase_add_test(tc, submit_refusals);
	tcase_add_test(tc, claim_and_release);
	tcase_add_test(tc, dispense_once);
	tcase_add_test(tc, dispense_use_zero_means_claimed);
	tcase_add_test(tc, refill_three_uses);
	tcase_add_test(tc, cancel_issued);
	tcase_add_test(tc, cancel_while_claimed);
	tcase_add_test(tc, expiry);
	tcase_add_test(tc, unknown_id_not_found);
	return tc;
}
