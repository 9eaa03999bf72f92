/* The request path around a change (store_change_begin, _commit and
 * _abort, store/change.c): a retry gets its stored reply, request ids are
 * the caller's own, a reply that cannot be built leaves nothing behind,
 * alone or in a batch. */

#include <lmdb.h>

#include "store_int.h" /* the resubmission guard's table, to watch a merge's chunks */
#include "store_world.h"

/* ---- retries and replays ---- */

START_TEST(retry_returns_stored_reply)
{
	world_t w;
	call_t k, k2;
	store_outcome_t out;
	store_buf_t first = {0}, again = {0};
	world_open(&w);

	store_change_t *c = mk_submit(&k, w.doc, w.patient, 1, T0);
	ck_assert_int_eq(apply_reply(&w, c, &out, &first), RX_OK);
	ck_assert_int_eq(w.calls, 1);
	char id[RX_ID_LEN + 1];
	memcpy(id, out.rx.id, sizeof id);

	/* the same request again, a minute later */
	c->now = T0 + 60;
	ck_assert_int_eq(apply_reply(&w, c, &out, &again), RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_int_eq(w.calls, 1);
	ck_assert_uint_eq(again.len, first.len);
	ck_assert_mem_eq(again.data, first.data, first.len);
	store_buf_free(&again);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 1);

	/* ... still, after the prescription has moved on and the key is revoked */
	uint8_t token[RX_TOKEN_LEN];
	claim(&w, w.pharm, id, T0 + 120, token);
	ck_assert_int_eq(store_key_revoke(w.s, w.doc, T0 + 180), RX_OK);
	c->now = T0 + 240;
	ck_assert_int_eq(apply_reply(&w, c, &out, &again), RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_mem_eq(again.data, first.data, first.len);
	store_buf_free(&again);
	/* but a new request from the revoked key is refused */
	ck_assert_int_eq(apply(&w, mk(&k2, RX_OP_CANCEL, w.doc, id, T0 + 240), &out), RX_KEY_REVOKED);

	/* A pharmacy's claim retried returns the original claim reply too. */
	store_change_t *cl = mk(&k2, RX_OP_RELEASE, w.pharm, id, T0 + 300);
	memcpy(k2.token, token, RX_TOKEN_LEN);
	ck_assert_int_eq(apply_reply(&w, cl, &out, &again), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	store_buf_free(&first);
	first = again;
	again.data = NULL;
	int calls = w.calls;
	ck_assert_int_eq(apply_reply(&w, cl, &out, &again), RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_int_eq(w.calls, calls);
	ck_assert_mem_eq(again.data, first.data, first.len);
	store_buf_free(&again);
	store_buf_free(&first);
	world_close(&w);
}
END_TEST

/* store_replay: the read-only lookup the broker makes before its clock checks. */
START_TEST(replay_lookup)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	store_buf_t first = {0}, again = {0};
	uint8_t other_hash[RX_HASH_LEN];
	world_open(&w);

	store_change_t *c = mk_submit(&k, w.doc, w.patient, 1, T0);
	/* Not yet a retry. */
	ck_assert_int_eq(store_replay(w.s, c->actor, c->peer, c->request_id, c->call_hash, &out, &again),
			 RX_NOT_FOUND);
	ck_assert_ptr_null(again.data);
	ck_assert_int_eq(apply_reply(&w, c, &out, &first), RX_OK);
	/* Now it is: the same bytes as stored, without calling the builder. */
	int calls = w.calls;
	ck_assert_int_eq(store_replay(w.s, c->actor, c->peer, c->request_id, c->call_hash, &out, &again),
			 RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_int_eq(w.calls, calls);
	ck_assert_uint_eq(again.len, first.len);
	ck_assert_mem_eq(again.data, first.data, first.len);
	store_buf_free(&again);
	/* Other bytes under the same request id conflict; another caller's same
	 * request id is none of this one's business. */
	memcpy(other_hash, c->call_hash, RX_HASH_LEN);
	other_hash[0] ^= 1;
	ck_assert_int_eq(store_replay(w.s, c->actor, c->peer, c->request_id, other_hash, &out, &again),
			 RX_CONFLICT);
	ck_assert_ptr_nonnull(out.why);
	ck_assert_ptr_null(again.data);
	ck_assert_int_eq(store_replay(w.s, w.doc2, c->peer, c->request_id, c->call_hash, &out, &again),
			 RX_NOT_FOUND);
	/* The same key through another institution's connection is refused
	 * before its stored reply is looked up. */
	ck_assert_int_eq(store_replay(w.s, c->actor, INST_OTHER, c->request_id, c->call_hash, &out,
				      &again),
			 RX_PERMISSION_DENIED);
	ck_assert_ptr_null(again.data);
	ck_assert_int_eq(store_replay(w.s, c->actor, NULL, c->request_id, c->call_hash, &out, &again),
			 RX_PERMISSION_DENIED);
	store_buf_free(&first);
	world_close(&w);
}
END_TEST

START_TEST(request_id_reuse_conflicts)
{
	world_t w;
	call_t k, k2;
	store_outcome_t out;
	world_open(&w);

	store_change_t *c = mk_submit(&k, w.doc, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	int calls = w.calls;

	/* same caller, same request id, other call bytes */
	store_change_t *c2 = mk_submit(&k2, w.doc, w.patient, 1, T0);
	memcpy(k2.request_id, k.request_id, RX_REQUEST_ID_LEN);
	ck_assert_int_eq(apply(&w, c2, &out), RX_CONFLICT);
	ck_assert_int_eq(out.replayed, 0);
	ck_assert_int_eq(w.calls, calls);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 1);

	/* A request id is the caller's own: another key may use the same one. */
	c2 = mk_submit(&k2, w.doc2, w.patient, 1, T0);
	memcpy(k2.request_id, k.request_id, RX_REQUEST_ID_LEN);
	memcpy(k2.call_hash, k.call_hash, RX_HASH_LEN);
	ck_assert_int_eq(apply(&w, c2, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 0);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 2);
	world_close(&w);
}
END_TEST

START_TEST(resubmitted_body_conflicts)
{
	world_t w;
	call_t k, k2;
	store_outcome_t out;
	world_open(&w);

	ck_assert_int_eq(apply(&w, mk_submit(&k, w.doc, w.patient, 1, T0), &out), RX_OK);
	/* the same signed prescription under a new request id (its fields, as
	 * dispatch reads them from the body, are the first one's) */
	store_change_t *c2 = mk_submit(&k2, w.doc, w.patient, 1, T0 + 5);
	memcpy(k2.body, k.body, sizeof k.body);
	memcpy(k2.sig, k.sig, sizeof k.sig);
	c2->issued_at = T0;
	ck_assert_int_eq(apply(&w, c2, &out), RX_CONFLICT);
	/* ... even by another prescriber who got hold of the bytes */
	c2 = mk_submit(&k2, w.doc2, w.patient, 1, T0 + 5);
	memcpy(k2.body, k.body, sizeof k.body);
	c2->issued_at = T0;
	ck_assert_int_eq(apply(&w, c2, &out), RX_CONFLICT);
	/* A store from before (format 2) keyed the guard by the hash alone:
	 * such an entry refuses the bytes too.  (The guard is merged into
	 * rx_hash first: a commit with one in memory, at a threshold of one.) */
	w.guard_merge_at = 1;
	store_close(&w.s);
	store_open_in(&w);
	ck_assert_int_eq(store_batch_begin(w.s), RX_OK);
	ck_assert_int_eq(store_batch_end(w.s), RX_OK);
	store_close(&w.s);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi idx;
	MDB_cursor *cur;
	MDB_val key, v;
	uint8_t old[RX_HASH_LEN], id[RX_ID_LEN];
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 32), 0);
	ck_assert_int_eq(mdb_env_open(env, w.dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "rx_hash", 0, &idx), 0);
	ck_assert_int_eq(mdb_cursor_open(txn, idx, &cur), 0);
	ck_assert_int_eq(mdb_cursor_get(cur, &key, &v, MDB_FIRST), 0);
	ck_assert_uint_eq(key.mv_size, 8 + RX_HASH_LEN);
	memcpy(old, (uint8_t *)key.mv_data + 8, RX_HASH_LEN);
	memcpy(id, v.mv_data, RX_ID_LEN);
	mdb_cursor_close(cur);
	ck_assert_int_eq(mdb_drop(txn, idx, 0), 0);
	key.mv_size = RX_HASH_LEN;
	key.mv_data = old;
	v.mv_size = RX_ID_LEN;
	v.mv_data = id;
	ck_assert_int_eq(mdb_put(txn, idx, &key, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	store_open_in(&w);
	c2 = mk_submit(&k2, w.doc, w.patient, 1, T0 + 6);
	memcpy(k2.body, k.body, sizeof k.body);
	memcpy(k2.sig, k.sig, sizeof k.sig);
	c2->issued_at = T0;
	ck_assert_int_eq(apply(&w, c2, &out), RX_CONFLICT);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 1);
	world_close(&w);
}
END_TEST

/* ---- a reply that cannot be built ---- */

/* The entries of rx_hash, read with the store closed. */
static size_t guards_merged(world_t *w)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi idx;
	MDB_stat st;
	store_close(&w->s);
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 32), 0);
	ck_assert_int_eq(mdb_env_open(env, w->dir, MDB_RDONLY, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "rx_hash", 0, &idx), 0);
	ck_assert_int_eq(mdb_stat(txn, idx, &st), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	store_open_in(w);
	return st.ms_entries;
}

/* prescription k submitted again under a new request id, at now */
static rx_err_t resubmit(world_t *w, const call_t *k, int64_t now)
{
	call_t again;
	store_outcome_t out;
	store_change_t *c = mk_submit(&again, w->doc, w->patient, 1, now);
	memcpy(again.body, k->body, sizeof k->body);
	memcpy(again.sig, k->sig, sizeof k->sig);
	c->issued_at = k->c.issued_at;
	return apply(w, c, &out);
}

/* The guards of the newest prescriptions are in memory until enough have
 * gathered to be merged into rx_hash at once (store/guard.c): a
 * resubmission is refused from either place, across a reopen (the ones in
 * memory are read again from their records), and inside a batch for one
 * earlier in it; a SUBMIT that did not commit leaves no guard. */
START_TEST(resubmission_guard_in_memory_and_merged)
{
	world_t w;
	call_t k[6];
	store_outcome_t out;
	world_open(&w);
	w.guard_merge_at = 3;
	store_close(&w.s);
	store_open_in(&w);

	ck_assert_int_eq(apply(&w, mk_submit(&k[0], w.doc, w.patient, 1, T0), &out), RX_OK);
	ck_assert_int_eq(resubmit(&w, &k[0], T0 + 1), RX_CONFLICT);
	ck_assert_uint_eq(guards_merged(&w), 0); /* and the store was reopened */
	ck_assert_int_eq(resubmit(&w, &k[0], T0 + 2), RX_CONFLICT);

	ck_assert_int_eq(apply(&w, mk_submit(&k[1], w.doc, w.patient, 1, T0 + 3), &out), RX_OK);
	ck_assert_int_eq(apply(&w, mk_submit(&k[2], w.doc, w.patient, 1, T0 + 4), &out), RX_OK);
	ck_assert_uint_eq(guards_merged(&w), 0);
	/* the fourth SUBMIT's commit merges the three before it */
	ck_assert_int_eq(apply(&w, mk_submit(&k[3], w.doc, w.patient, 1, T0 + 5), &out), RX_OK);
	ck_assert_uint_eq(guards_merged(&w), 3);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(resubmit(&w, &k[i], T0 + 6), RX_CONFLICT);

	/* a SUBMIT whose reply could not be built took its guard with it */
	store_buf_t reply = {0};
	store_change_t *c = mk_submit(&k[4], w.doc, w.patient, 1, T0 + 7);
	ck_assert_int_eq(world_change_failing_reply(&w, c, &out, &reply), RX_SYSTEM);
	ck_assert_int_eq(resubmit(&w, &k[4], T0 + 8), RX_OK);
	ck_assert_int_eq(resubmit(&w, &k[4], T0 + 9), RX_CONFLICT);

	/* in a group commit, one earlier in the batch is found; the next batch
	 * begins with three in memory and merges them with its commit */
	ck_assert_int_eq(store_batch_begin(w.s), RX_OK);
	ck_assert_int_eq(apply(&w, mk_submit(&k[5], w.doc, w.patient, 1, T0 + 10), &out), RX_OK);
	ck_assert_int_eq(resubmit(&w, &k[5], T0 + 10), RX_CONFLICT);
	ck_assert_int_eq(store_batch_end(w.s), RX_OK);
	ck_assert_uint_eq(guards_merged(&w), 3);
	ck_assert_int_eq(store_batch_begin(w.s), RX_OK);
	ck_assert_int_eq(store_batch_end(w.s), RX_OK);
	ck_assert_uint_eq(guards_merged(&w), 6);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(resubmit(&w, &k[i], T0 + 11), RX_CONFLICT);
	ck_assert_uint_eq(stats_of(&w, T0 + 11).prescriptions, 6);
	world_close(&w);
}
END_TEST

/* A merge is put into rx_hash a chunk a write transaction (store/guard.c):
 * the guards are found throughout, the mark moves only with the last chunk,
 * and a reopen in the middle starts the merge over with nothing lost. */
START_TEST(resubmission_guard_merged_in_chunks)
{
	world_t w;
	call_t k[6];
	store_outcome_t out;
	world_open(&w);
	w.guard_merge_at = 4;
	w.guard_merge_chunk = 2;
	store_close(&w.s);
	store_open_in(&w);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(apply(&w, mk_submit(&k[i], w.doc, w.patient, 1, T0 + i), &out), RX_OK);
	ck_assert_uint_eq(guards_merged(&w), 0);

	/* the next write transaction puts the first chunk only */
	ck_assert_int_eq(store_batch_begin(w.s), RX_OK);
	ck_assert_int_eq(store_batch_end(w.s), RX_OK);
	ck_assert_uint_eq(w.s->guard.put, 2);
	ck_assert_uint_eq(w.s->guard.merged, 0);
	ck_assert_uint_eq(w.s->guard.n, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(resubmit(&w, &k[i], T0 + 10), RX_CONFLICT);

	/* reopened in the middle: the four are in memory again, none lost */
	store_close(&w.s);
	store_open_in(&w);
	ck_assert_uint_eq(w.s->guard.n, 4);
	ck_assert_uint_eq(w.s->guard.merged, 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(resubmit(&w, &k[i], T0 + 11), RX_CONFLICT);

	/* two transactions put them all; the mark moves with the second, which
	 * drops them from memory (the two SUBMITs since stay) */
	ck_assert_int_eq(apply(&w, mk_submit(&k[4], w.doc, w.patient, 1, T0 + 12), &out), RX_OK);
	ck_assert_uint_eq(w.s->guard.put, 2);
	ck_assert_uint_eq(w.s->guard.merged, 0);
	ck_assert_int_eq(apply(&w, mk_submit(&k[5], w.doc, w.patient, 1, T0 + 13), &out), RX_OK);
	ck_assert_uint_eq(w.s->guard.n, 2);
	ck_assert_uint_gt(w.s->guard.merged, 0);
	ck_assert_ptr_null(w.s->guard.sorted);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(resubmit(&w, &k[i], T0 + 14), RX_CONFLICT);
	ck_assert_uint_eq(guards_merged(&w), 4);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(resubmit(&w, &k[i], T0 + 15), RX_CONFLICT);
	ck_assert_uint_eq(stats_of(&w, T0 + 15).prescriptions, 6);
	world_close(&w);
}
END_TEST

START_TEST(reply_failure_changes_nothing)
{
	world_t w;
	call_t k, k2;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	w.fail_reply = 1;
	store_change_t *c = mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 10);
	store_buf_t reply = {0};
	ck_assert_int_eq(world_change_failing_reply(&w, c, &out, &reply), RX_SYSTEM);
	ck_assert_ptr_null(reply.data);
	ck_assert_int_eq(status_of(&w, w.pharm, id, T0 + 10).state, RX_STATE_ISSUED);
	ck_assert_int_eq(apply(&w, mk_submit(&k2, w.doc, w.patient, 1, T0), &out), RX_SYSTEM);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 1);

	/* nothing was stored under the request id either */
	w.fail_reply = 0;
	int calls = w.calls;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 0);
	ck_assert_int_eq(w.calls, calls + 1);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	world_close(&w);
}
END_TEST

/* In a group commit, a change refused after it wrote (here: its reply could
 * not be built) takes its count with its nested transaction; the others'
 * counts commit with the batch. */
START_TEST(counts_in_a_batch)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, a);

	ck_assert_int_eq(store_batch_begin(w.s), RX_OK);
	submit(&w, w.doc, w.patient, 1, T0 + 1, b);
	w.fail_reply = 1;
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, a, T0 + 2), &out), RX_SYSTEM);
	ck_assert_int_eq(apply(&w, mk_submit(&k, w.doc, w.patient, 1, T0 + 3), &out), RX_SYSTEM);
	w.fail_reply = 0;
	claim(&w, w.pharm, b, T0 + 4, token);
	ck_assert_int_eq(store_batch_end(w.s), RX_OK);
	expect_counts(&w, T0 + 4, 1, 1, 0, 0, 0);
	ck_assert_int_eq(status_of(&w, w.doc, a, T0 + 4).state, RX_STATE_ISSUED);

	store_close(&w.s);
	store_open_in(&w);
	expect_counts(&w, T0 + 4, 1, 1, 0, 0, 0);
	world_close(&w);
}
END_TEST

TCase *store_change_tcase(void)
{
	TCase *tc = world_tcase("change");
	tcase_add_test(tc, retry_returns_stored_reply);
	tcase_add_test(tc, replay_lookup);
	tcase_add_test(tc, request_id_reuse_conflicts);
	tcase_add_test(tc, resubmitted_body_conflicts);
	tcase_add_test(tc, resubmission_guard_in_memory_and_merged);
	tcase_add_test(tc, resubmission_guard_merged_in_chunks);
	tcase_add_test(tc, reply_failure_changes_nothing);
	tcase_add_test(tc, counts_in_a_batch);
	return tc;
}
