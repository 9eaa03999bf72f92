/* The operator's functions (store/operator.c: stats, release, expire) and
 * the room the store keeps (store/space.c: prune, space): counts by state
 * follow every change, the expiry sweep goes through its index, stored
 * replies and card nonces are pruned after their lifetime. */

#include "store_world.h"

/* ---- counts by state and the expiry index ---- */

/* Every change moves its prescription's count in its own transaction:
 * submit, claim, release, dispense (last use and refill), cancel (and a
 * cancel pending completed by a release), the operator's release, the
 * sweep; and the counts survive a reopen. */
START_TEST(counts_follow_every_change)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1], c[RX_ID_LEN + 1], d[RX_ID_LEN + 1],
		e[RX_ID_LEN + 1], f[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN], tf[RX_TOKEN_LEN];
	uint64_t n = 0;
	world_open(&w);
	expect_counts(&w, T0, 0, 0, 0, 0, 0);
	submit(&w, w.doc, w.patient, 1, T0, a);
	submit(&w, w.doc, w.patient, 1, T0, b);
	submit(&w, w.doc, w.patient, 1, T0, c);
	submit(&w, w.doc, w.patient, 1, T0, d);
	submit(&w, w.doc, w.patient, 1, T0, e);
	submit(&w, w.doc, w.patient, 2, T0, f);
	expect_counts(&w, T0, 6, 0, 0, 0, 0);

	claim(&w, w.pharm, a, T0 + 10, token);
	expect_counts(&w, T0 + 10, 5, 1, 0, 0, 0);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, a, token, T0 + 20), &out), RX_OK);
	expect_counts(&w, T0 + 20, 5, 0, 1, 0, 0);
	/* a refill's first use: CLAIMED -> ISSUED */
	claim(&w, w.pharm, f, T0 + 21, tf);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, f, tf, T0 + 22), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	expect_counts(&w, T0 + 22, 5, 0, 1, 0, 0);

	claim(&w, w.pharm, b, T0 + 30, token);
	expect_counts(&w, T0 + 30, 4, 1, 1, 0, 0);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, b, token, T0 + 40), &out), RX_OK);
	expect_counts(&w, T0 + 40, 5, 0, 1, 0, 0);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, c, T0 + 50), &out), RX_OK);
	expect_counts(&w, T0 + 50, 4, 0, 1, 1, 0);
	/* a refused change moves nothing */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, c, T0 + 51), &out), RX_CANCELLED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, a, T0 + 52), &out), RX_ALREADY_DISPENSED);
	expect_counts(&w, T0 + 52, 4, 0, 1, 1, 0);

	/* cancel while claimed: pending (still CLAIMED), then the operator's
	 * release completes the cancel */
	claim(&w, w.pharm, d, T0 + 60, token);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, d, T0 + 61), &out), RX_OK);
	expect_counts(&w, T0 + 61, 3, 1, 1, 1, 0);
	ck_assert_int_eq(store_rx_release(w.s, d, T0 + 62, "pharmacy closed"), RX_OK);
	expect_counts(&w, T0 + 62, 3, 0, 1, 2, 0);

	/* the operator's release of a plain claim */
	claim(&w, w.pharm, e, T0 + 70, token);
	expect_counts(&w, T0 + 70, 2, 1, 1, 2, 0);
	ck_assert_int_eq(store_rx_release(w.s, e, T0 + 71, "pharmacy closed"), RX_OK);
	expect_counts(&w, T0 + 71, 3, 0, 1, 2, 0);

	/* past valid_until: EXPIRED before the sweep (as every read says), and
	 * after it, which writes them EXPIRED */
	claim(&w, w.pharm, e, T0 + 80, token);
	const int64_t until = rx_valid_until(T0, RX_DEFAULT_VALID_DAYS);
	expect_counts(&w, until - 1, 2, 1, 1, 2, 0);
	/* f's second use has its own window (proto/README 5.11): it stays open */
	expect_counts(&w, until, 1, 0, 1, 2, 2);
	ck_assert_int_eq(store_expire(w.s, until, &n), RX_OK);
	ck_assert_uint_eq(n, 2);
	expect_counts(&w, until, 1, 0, 1, 2, 2);
	/* asked about an earlier time afterwards, the stored state stands */
	expect_counts(&w, until - 1, 1, 0, 1, 2, 2);

	store_close(&w.s);
	store_open_in(&w);
	expect_counts(&w, until, 1, 0, 1, 2, 2);
	/* until that window ends: then the sweep lapses it through its new entry */
	int64_t opens, ends;
	rx_next_window(T0 + 22, 7, &opens, &ends);
	expect_counts(&w, ends - 1, 1, 0, 1, 2, 2);
	ck_assert_int_eq(store_expire(w.s, ends, &n), RX_OK);
	ck_assert_uint_eq(n, 1);
	expect_counts(&w, ends, 0, 0, 1, 2, 3);
	world_close(&w);
}
END_TEST

/* The sweep reaches what is due through the index, in time order, and only
 * that; it passes a dispensed or cancelled one's entry without writing, and
 * audits each expiry. */
START_TEST(sweep_uses_the_index)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1], c[RX_ID_LEN + 1], d[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	uint64_t n = 99;
	world_open(&w);
	/* The clinic watches, so it is told (clinic_told_only_while_watching). */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_WATCH, w.doc, NULL, T0), &out), RX_OK);
	/* In time order: a card's assertion is never older than what the store
	 * has already seen (cards_and_assertions). */
	submit(&w, w.doc, w.patient, 1, T0, a);           /* expires first */
	submit(&w, w.doc, w.patient, 1, T0, b);           /* dispensed before */
	claim(&w, w.pharm, b, T0 + 10, token);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, b, token, T0 + 20), &out), RX_OK);
	submit(&w, w.doc, w.patient, 1, T0 + DAY, c);     /* a day later */
	submit(&w, w.doc, w.patient, 1, T0 + 2 * DAY, d); /* cancelled */
	const int64_t u0 = rx_valid_until(T0, RX_DEFAULT_VALID_DAYS),
		      u1 = rx_valid_until(T0 + DAY, RX_DEFAULT_VALID_DAYS),
		      u2 = rx_valid_until(T0 + 2 * DAY, RX_DEFAULT_VALID_DAYS);
	ck_assert_int_lt(u0, u1);
	ck_assert_int_lt(u1, u2);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, d, T0 + 2 * DAY + 30), &out), RX_OK);

	ck_assert_int_eq(store_expire(w.s, u0 - 1, &n), RX_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_expire(w.s, u0, &n), RX_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(status_of(&w, w.doc, a, u0 - 1).state, RX_STATE_EXPIRED); /* stored now */
	ck_assert_int_eq(status_of(&w, w.doc, b, u0).state, RX_STATE_DISPENSED);
	ck_assert_int_eq(has_action(&w, a, "EXPIRE"), 1);
	ck_assert_int_eq(has_action(&w, b, "EXPIRE"), 0);
	ck_assert_int_eq(store_expire(w.s, u0, &n), RX_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(status_of(&w, w.doc, c, u1 - 1).state, RX_STATE_ISSUED);

	ck_assert_int_eq(store_expire(w.s, u2 + DAY, &n), RX_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(has_action(&w, c, "EXPIRE"), 1);
	ck_assert_int_eq(has_action(&w, a, "EXPIRE"), 1);
	ck_assert_int_eq(status_of(&w, w.doc, d, u2 + DAY).state, RX_STATE_CANCELLED);
	ck_assert_int_eq(has_action(&w, d, "EXPIRE"), 0);
	expect_counts(&w, u2 + DAY, 0, 0, 1, 1, 2);
	/* The issuing clinic is told of the two that expired unclaimed (and
	 * of b's dispense), and of nothing else (5.9). */
	store_notice_t *ns = NULL;
	size_t nn = 0, expired = 0, dispensed = 0;
	ck_assert_int_eq(store_notices(w.s, INST, 0, 100, &ns, &nn), RX_OK);
	for (size_t i = 0; i < nn; i++) {
		expired += ns[i].kind == STORE_NOTICE_EXPIRED &&
			   (strcmp(ns[i].id, a) == 0 || strcmp(ns[i].id, c) == 0);
		dispensed += ns[i].kind == STORE_NOTICE_DISPENSED && strcmp(ns[i].id, b) == 0 && ns[i].use == 1;
	}
	free(ns);
	ck_assert_uint_eq(expired, 2);
	ck_assert_uint_eq(dispensed, 1);
	ck_assert_uint_eq(nn, 3);
	world_close(&w);
}
END_TEST

/* How many of the clinic's notices are waiting. */
static size_t clinic_notices(world_t *w)
{
	store_notice_t *ns = NULL;
	size_t n = 0;
	ck_assert_int_eq(store_notices(w->s, INST, 0, 100, &ns, &n), RX_OK);
	free(ns);
	return n;
}

/* Submit, claim and dispense one prescription at t. */
static void dispensed_at(world_t *w, int64_t t)
{
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	submit(w, w->doc, w->patient, 1, t, id);
	claim(w, w->pharm, id, t + 10, token);
	ck_assert_int_eq(apply(w, mk_tok(&k, RX_OP_DISPENSE, w->pharm, id, token, t + 20), &out), RX_OK);
}

/* A clinic is told what became of its prescriptions only while it watches
 * (5.9): nothing queued before its first WATCH, every dispense after, and
 * nothing again once STORE_WATCH_DAYS pass without one, so the notices of
 * a clinic that never reads them do not pile up.  A pharmacy's WATCH marks
 * nothing. */
START_TEST(clinic_told_only_while_watching)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	world_open(&w);
	dispensed_at(&w, T0);
	ck_assert_uint_eq(clinic_notices(&w), 0);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_WATCH, w.pharm, NULL, T0 + 60), &out), RX_OK);
	dispensed_at(&w, T0 + 100);
	ck_assert_uint_eq(clinic_notices(&w), 0);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_WATCH, w.doc, NULL, T0 + 200), &out), RX_OK);
	dispensed_at(&w, T0 + 300);
	ck_assert_uint_eq(clinic_notices(&w), 1);
	/* Heartbeats within the day do not move the mark; one a day later does. */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_WATCH, w.doc, NULL, T0 + 400), &out), RX_OK);
	dispensed_at(&w, T0 + (int64_t)STORE_WATCH_DAYS * DAY + 150);
	ck_assert_uint_eq(clinic_notices(&w), 2);
	dispensed_at(&w, T0 + (int64_t)STORE_WATCH_DAYS * DAY + 300);
	ck_assert_uint_eq(clinic_notices(&w), 2); /* 30 days since its last mark */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_WATCH, w.doc, NULL, T0 + (int64_t)STORE_WATCH_DAYS * DAY + 400),
			     &out), RX_OK);
	dispensed_at(&w, T0 + (int64_t)STORE_WATCH_DAYS * DAY + 500);
	ck_assert_uint_eq(clinic_notices(&w), 3);
	world_close(&w);
}
END_TEST

/* ---- pruning and space ---- */

/* Stored replies live STORE_REPLY_KEEP, then the sweep prunes them (with
 * card nonces no assertion can reuse); a retry after that is evaluated
 * again, and exactly-once still holds. */
START_TEST(replies_pruned_after_their_lifetime)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	uint64_t replies, due, nonces, ndue, pr, pn;
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);
	claim(&w, w.pharm, id, T0 + 1, token);
	store_change_t *d = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 2);
	d->use = 1;
	ck_assert_int_eq(apply(&w, d, &out), RX_OK);
	ck_assert_int_eq(apply(&w, d, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 1);

	ck_assert_int_eq(store_prunable(w.s, T0 + 3, &replies, &due, &nonces, &ndue), RX_OK);
	ck_assert_uint_eq(replies, 3);
	ck_assert_uint_eq(due, 0);
	ck_assert_uint_eq(nonces, 2);
	ck_assert_int_eq(store_prune(w.s, T0 + 3, 100, &pr, &pn), RX_OK);
	ck_assert_uint_eq(pr, 0);
	/* Just before the lifetime ends nothing goes; after it, all of it, a
	 * bounded slice at a time. */
	const int64_t end = T0 + 2 + STORE_REPLY_KEEP;
	ck_assert_int_eq(store_prunable(w.s, end - 3, &replies, &due, &nonces, &ndue), RX_OK);
	ck_assert_uint_eq(due, 0);
	ck_assert_int_eq(store_prunable(w.s, end + 1, &replies, &due, &nonces, &ndue), RX_OK);
	ck_assert_uint_eq(due, 3);
	ck_assert_uint_eq(ndue, 2);
	ck_assert_int_eq(store_prune(w.s, end + 1, 2, &pr, &pn), RX_OK);
	ck_assert_uint_eq(pr, 2);
	ck_assert_uint_eq(pn, 2);
	ck_assert_int_eq(store_prune(w.s, end + 1, 2, &pr, &pn), RX_OK);
	ck_assert_uint_eq(pr, 1);
	ck_assert_uint_eq(pn, 0);
	ck_assert_int_eq(store_prunable(w.s, end + 1, &replies, &due, &nonces, &ndue), RX_OK);
	ck_assert_uint_eq(replies, 0);
	ck_assert_uint_eq(nonces, 0);
	/* The same DISPENSE again: no stored reply now, and the use was
	 * dispensed once. */
	d->now = end + 2;
	ck_assert_int_eq(apply(&w, d, &out), RX_ALREADY_DISPENSED);
	store_space_t sp;
	ck_assert_int_eq(store_space(w.s, &sp), RX_OK);
	ck_assert_uint_gt(sp.map_size, 0);
	ck_assert_uint_gt(sp.high_water, 0);
	ck_assert_uint_eq(sp.used + sp.free, sp.high_water);
	ck_assert_uint_eq(sp.reserve, sp.map_size / 8);
	ck_assert_int_eq(sp.nearly_full, 0);
	world_close(&w);
}
END_TEST

TCase *store_operator_tcase(void)
{
	TCase *tc = world_tcase("operator");
	tcase_add_test(tc, counts_follow_every_change);
	tcase_add_test(tc, sweep_uses_the_index);
	tcase_add_test(tc, clinic_told_only_while_watching);
	tcase_add_test(tc, replies_pruned_after_their_lifetime);
	return tc;
}
