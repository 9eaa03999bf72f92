/* Who may see and change a prescription (store/store.c's proofs; proof.c
 * once the store is split): the actor's key and institution, the patient's
 * card and its nonces, the slip's access code. */

#include "store_world.h"

/* ---- status: who may look ---- */

START_TEST(status_permissions)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	store_rx_t rx;
	store_buf_t body = {0};
	const char *why = NULL;
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);
	claim(&w, w.pharm, id, T0 + 10, token);

	ck_assert_int_eq(store_status(w.s, w.doc2, peer_of(w.doc2), id, T0 + 20, &rx, &body, NULL, &why),
			 RX_PERMISSION_DENIED);
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_null(body.data);
	ck_assert_int_eq(store_status(w.s, w.doc_far, peer_of(w.doc_far), id, T0 + 20, &rx, NULL, NULL, &why),
			 RX_PERMISSION_DENIED);

	/* the claim token is for the claimer's eyes only; another pharmacy
	 * needs the patient's card or code even to look */
	ck_assert_int_eq(store_status(w.s, w.pharm, "P-0001", id, T0 + 20, &rx, NULL, NULL, &why), RX_OK);
	ck_assert_int_eq(rx.state, RX_STATE_CLAIMED);
	ck_assert_mem_eq(rx.claim_token, token, RX_TOKEN_LEN);
	ck_assert_int_eq(store_status(w.s, w.pharm2, "P-0002", id, T0 + 20, &rx, NULL, NULL, &why),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(store_status(w.s, w.doc, INST, id, T0 + 20, &rx, NULL, NULL, &why), RX_OK);
	ck_assert_int_eq(rx.state, RX_STATE_CLAIMED);
	ck_assert_mem_eq(rx.claimer, w.pharm, RX_KEY_LEN);
	ck_assert_mem_eq(rx.claim_token, zero_token, RX_TOKEN_LEN);
	world_close(&w);
}
END_TEST

/* ---- the patient's card and the slip's access code ---- */

START_TEST(cards_and_assertions)
{
	world_t w;
	call_t k, k2;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	/* A card nobody enrolled, and the patient's lost card. */
	store_change_t *c = mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 10);
	uint8_t stray[RX_KEY_LEN];
	new_key(stray);
	k.assertion.card = stray;
	ck_assert_int_eq(apply(&w, c, &out), RX_CARD_UNKNOWN);
	k.assertion.card = w.lost;
	ck_assert_int_eq(apply(&w, c, &out), RX_CARD_REVOKED);
	/* Another patient's card; the right card for the wrong purpose. */
	k.assertion.card = w.card2;
	ck_assert_int_eq(apply(&w, c, &out), RX_ASSERTION_MISMATCH);
	k.assertion.card = w.card;
	k.assertion.purpose = STORE_PURPOSE_ISSUE;
	ck_assert_int_eq(apply(&w, c, &out), RX_ASSERTION_MISMATCH);
	/* A refused request used up nothing: the same assertion still works. */
	k.assertion.purpose = STORE_PURPOSE_DISPENSE;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	/* The same assertion (its signed time and nonce) under a new request id
	 * is a replay. */
	store_change_t *c2 = mk(&k2, RX_OP_LIST, w.pharm, NULL, T0 + 11);
	c2->patient_id = "";
	memcpy(k2.nonce, k.nonce, sizeof k.nonce);
	k2.assertion.at = k.assertion.at;
	ck_assert_int_eq(apply(&w, c2, &out), RX_ASSERTION_REPLAYED);
	/* Nonces older than any assertion rxd accepts are forgotten, and an
	 * assertion older than them is refused as stale... */
	ck_assert_int_eq(list_with(&w, w.pharm, w.card, T0 + 11 + 601), RX_OK);
	c2 = mk(&k2, RX_OP_LIST, w.pharm, NULL, T0 + 11 + 602);
	c2->patient_id = "";
	memcpy(k2.nonce, k.nonce, sizeof k.nonce);
	k2.assertion.at = k.assertion.at;
	ck_assert_int_eq(apply(&w, c2, &out), RX_ASSERTION_STALE);
	/* ...even when the clock is stepped back so far that the broker's own
	 * clock check (within 300 s) lets the old assertion through: the nonces
	 * were pruned by the time already seen, not by the clock now. */
	c2 = mk(&k2, RX_OP_LIST, w.pharm, NULL, T0 + 20);
	c2->patient_id = "";
	memcpy(k2.nonce, k.nonce, sizeof k.nonce);
	k2.assertion.at = k.assertion.at;
	ck_assert_int_eq(apply(&w, c2, &out), RX_ASSERTION_STALE);

	/* The card registry. */
	char nobody[RX_PATIENT_ID_LEN + 1];
	patient_id("999999999996", nobody);
	ck_assert_int_eq(store_card_enroll(w.s, stray, nobody, T0), RX_NOT_FOUND);
	ck_assert_int_eq(store_card_enroll(w.s, w.lost, w.patient, T0), RX_CONFLICT);
	ck_assert_int_eq(store_card_revoke(w.s, stray, T0), RX_NOT_FOUND);
	store_card_t *cards;
	size_t n;
	ck_assert_int_eq(store_card_list(w.s, &cards, &n), RX_OK);
	ck_assert_uint_eq(n, 3);
	int revoked = 0;
	for (size_t i = 0; i < n; i++)
		revoked += cards[i].revoked;
	ck_assert_int_eq(revoked, 1);
	free(cards);
	ck_assert_uint_eq(stats_of(&w, T0).cards, 3);
	world_close(&w);
}
END_TEST

/* A CLAIM (or STATUS, LIST) by access code instead of a card. */
static store_change_t *by_code(call_t *k, int op, const uint8_t *pharm, const char *id,
			       const char *code, int64_t now)
{
	store_change_t *c = mk(k, op, pharm, id, now);
	c->card = NULL;
	c->access_code = code;
	c->patient_id = "";
	return c;
}

START_TEST(access_codes)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	const char *right = "ABCD-EFGH-JK5", *wrong = "ABCD-EFGH-JK6";
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	/* The right code lets a pharmacy look and list without the card. */
	ck_assert_int_eq(apply(&w, by_code(&k, RX_OP_STATUS, w.pharm2, id, right, T0 + 1), &out), RX_OK);
	ck_assert_int_eq(apply(&w, by_code(&k, RX_OP_LIST, w.pharm2, id, right, T0 + 2), &out), RX_OK);
	ck_assert_uint_eq(w.nseen, 1);
	ck_assert_str_eq(w.seen[0].id, id);
	/* No proof at all: refused. */
	store_change_t *c = by_code(&k, RX_OP_CLAIM, w.pharm2, id, right, T0 + 3);
	c->access_code = NULL;
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED);

	/* Four wrong codes are refused and counted; the fifth locks. */
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(apply(&w, by_code(&k, RX_OP_CLAIM, w.pharm2, id, wrong, T0 + 10 + i), &out),
				 RX_BAD_ACCESS_CODE);
	ck_assert_ptr_nonnull(strstr(out.why, "locked"));
	/* Locked, even for the right code, and the lock survives a restart. */
	store_close(&w.s);
	store_open_in(&w);
	ck_assert_int_eq(apply(&w, by_code(&k, RX_OP_CLAIM, w.pharm2, id, right, T0 + 20), &out),
			 RX_ACCESS_LOCKED);
	/* The card still works: the lock is on the code only. */
	c = mk(&k, RX_OP_LIST, w.pharm, NULL, T0 + 21);
	c->patient_id = "";
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_uint_eq(w.nseen, 1);
	/* The operator unlocks; the right code claims. */
	ck_assert_int_eq(store_rx_unlock(w.s, id, T0 + 30), RX_OK);
	ck_assert_int_eq(apply(&w, by_code(&k, RX_OP_CLAIM, w.pharm2, id, right, T0 + 31), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	ck_assert_int_eq(store_rx_unlock(w.s, "0000-0000-0000", T0), RX_NOT_FOUND);
	ck_assert_uint_eq(stats_of(&w, T0 + 31).prescriptions, 1);
	store_close(&w.s);

	/* Every code tried (two right, five wrong, one locked out, one right
	 * again) is kept beside the prescription's record in rx (id + time +
	 * random; the prescription's key: its number), none in the access_log of
	 * before (format 3). */
	uint8_t keys[32][64];
	size_t sizes[32], n = world_raw_keys(w.dir, "rx", keys, sizes, 32), attempts = 0, logged = 0;
	uint8_t rk[RX_ID_LEN];
	size_t rl = world_rx_key(id, rk);
	for (size_t i = 0; i < n; i++) {
		ck_assert_mem_eq(keys[i], rk, rl);
		attempts += sizes[i] == rl + 8 + 4;
		logged += sizes[i] == rl + 8; /* the audit entries about it (format 4) */
	}
	ck_assert_uint_lt(n, 32);
	ck_assert_uint_eq(n, 1 + attempts + logged);
	ck_assert_uint_eq(attempts, 9);
	ck_assert_uint_ge(logged, 9);
	ck_assert_uint_eq(world_raw_keys(w.dir, "access_log", keys, sizes, 16), 0);
	store_open_in(&w);
	ck_assert_uint_eq(stats_of(&w, T0 + 32).prescriptions, 1);
	world_close(&w);
}
END_TEST

TCase *store_proof_tcase(void)
{
	TCase *tc = world_tcase("proof");
	tcase_add_test(tc, status_permissions);
	tcase_add_test(tc, cards_and_assertions);
	tcase_add_test(tc, access_codes);
	return tc;
}
