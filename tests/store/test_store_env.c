/* The environment (store/env.c): open and reopen, the format and its
 * upgrade, sealing, the key-file checks. */
#include <lmdb.h>

#include "store_int.h"
#include "store_world.h"

/* ---- durability ---- */

START_TEST(survives_reopen)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	store_buf_t first = {0}, again = {0};
	char id[RX_ID_LEN + 1], id2[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	world_open(&w);

	store_change_t *c = mk(&k, RX_OP_CLAIM, w.pharm, NULL, T0 + 10);
	submit(&w, w.doc, w.patient, 2, T0, id);
	submit(&w, w.doc, w.patient, 1, T0, id2);
	c->id = id;
	ck_assert_int_eq(apply_reply(&w, c, &out, &first), RX_OK);
	memcpy(token, out.rx.claim_token, RX_TOKEN_LEN);
	call_t kc;
	ck_assert_int_eq(apply(&w, mk(&kc, RX_OP_CANCEL, w.doc, id2, T0 + 20), &out), RX_OK);
	store_stats_t before = stats_of(&w, T0 + 30);

	store_close(&w.s);
	store_close(&w.s); /* closing twice is harmless */
	store_open_in(&w);

	store_rx_t rx;
	const char *why;
	ck_assert_int_eq(store_status(w.s, w.pharm, "P-0001", id, T0 + 30, &rx, NULL, NULL, &why), RX_OK);
	ck_assert_int_eq(rx.state, RX_STATE_CLAIMED);
	ck_assert_mem_eq(rx.claim_token, token, RX_TOKEN_LEN);
	ck_assert_uint_eq(rx.uses_left, 2);
	ck_assert_int_eq(status_of(&w, w.doc, id2, T0 + 30).state, RX_STATE_CANCELLED);
	store_stats_t after = stats_of(&w, T0 + 30);
	ck_assert_uint_eq(after.prescriptions, before.prescriptions);
	ck_assert_uint_eq(after.keys, before.keys);
	ck_assert_uint_eq(after.patients, before.patients);
	ck_assert_mem_eq(after.by_state, before.by_state, sizeof after.by_state);

	/* the stored reply survived too */
	int calls = w.calls;
	ck_assert_int_eq(apply_reply(&w, c, &out, &again), RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_int_eq(w.calls, calls);
	ck_assert_uint_eq(again.len, first.len);
	ck_assert_mem_eq(again.data, first.data, first.len);
	store_buf_free(&first);
	store_buf_free(&again);

	/* and the state machine carries on from where it was */
	store_key_t key;
	ck_assert_int_eq(store_key_get(w.s, w.revoked, &key), RX_OK);
	ck_assert_int_eq(key.revoked, 1);
	int created = -1;
	ck_assert_int_eq(store_patient_enroll(w.s, w.patient, T0, &created), RX_OK);
	ck_assert_int_eq(created, 0);
	store_change_t *d = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 40);
	d->use = 1;
	ck_assert_int_eq(apply(&w, d, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	ck_assert_uint_eq(out.rx.uses_left, 1);
	world_close(&w);

	store_open_in(&w);
	ck_assert_uint_eq(stats_of(&w, T0).dispense_records, 1);
	ck_assert_uint_eq(status_of(&w, w.pharm, id, T0 + 50).uses_left, 1);
	world_close(&w);
}
END_TEST

START_TEST(open_refuses)
{
	char dir[TU_PATH_MAX], path[256];
	store_t *s = (store_t *)&s;
	world_subdir(dir);

	snprintf(path, sizeof path, "%s/missing", dir);
	ck_assert_int_eq(store_open(&s, path, &test_opt), RX_SYSTEM);
	ck_assert_ptr_null(s);
	/* No data key, no store: nothing is ever written in clear. */
	s = (store_t *)&s;
	ck_assert_int_eq(store_open(&s, dir, NULL), RX_INVALID);
	ck_assert_ptr_null(s);

	/* A store written by a future format is refused, not misread. */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint32_t future = 6;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 16), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
	MDB_val k = {6, (void *)"format"}, v = {sizeof future, &future};
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	s = (store_t *)&s;
	ck_assert_int_eq(store_open(&s, dir, &test_opt), RX_INVALID);
	ck_assert_ptr_null(s);
}
END_TEST

/* A read-only open (a backup's check): the store's own reads work, every
 * write is refused, key checks only compare, and nothing in the directory
 * changes: data.mdb keeps its bytes and no lock.mdb appears.  An empty
 * directory is NOT_FOUND, a file that is not LMDB or an LMDB file that is
 * not a store INVALID. */
static void file_hash(const char *path, uint8_t out[RX_HASH_LEN])
{
	static uint8_t buf[16u << 20];
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof buf, f);
	ck_assert(feof(f));
	fclose(f);
	rx_hash(buf, n, out);
}

START_TEST(read_only_open)
{
	world_t w;
	char id[RX_ID_LEN + 1], path[TU_PATH_MAX + 16], lock[TU_PATH_MAX + 16];
	uint8_t before[RX_HASH_LEN], after[RX_HASH_LEN];
	store_key_check_t c[2] = {{.name = "data.key"}, {.name = "broker.key"}};
	memset(c[0].value, 1, sizeof c[0].value);
	memset(c[1].value, 2, sizeof c[1].value);
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);
	ck_assert_int_eq(store_key_checks(w.s, c, 1), RX_OK); /* data.key only */
	store_stats_t was = stats_of(&w, T0 + 10);
	world_close(&w);
	snprintf(path, sizeof path, "%s/data.mdb", w.dir);
	snprintf(lock, sizeof lock, "%s/lock.mdb", w.dir);
	ck_assert_int_eq(unlink(lock), 0); /* as a backup's copy: data.mdb alone */
	file_hash(path, before);

	store_options_t ro = test_opt;
	ro.read_only = 1;
	ck_assert_int_eq(store_open(&w.s, w.dir, &ro), RX_OK);
	store_stats_t st;
	ck_assert_int_eq(store_stats(w.s, T0 + 10, &st), RX_OK);
	ck_assert_uint_eq(st.prescriptions, was.prescriptions);
	ck_assert_uint_eq(st.audit_entries, was.audit_entries);
	store_verdict_t v;
	uint8_t pk[RX_KEY_LEN] = {0};
	ck_assert_int_eq(store_audit_verify(w.s, pk, &v), RX_OK);
	ck_assert_int_eq(v.ok, 1);
	ck_assert_uint_eq(v.checked, was.audit_entries);
	int which = -1;
	ck_assert_int_eq(store_keys_probe(w.s, pk, &which), RX_OK);
	/* compared, never recorded */
	ck_assert_int_eq(store_key_checks(w.s, c, 2), RX_OK);
	ck_assert_int_eq(c[0].outcome, STORE_KEY_MATCHED);
	ck_assert_int_eq(c[1].outcome, STORE_KEY_UNRECORDED);
	c[0].value[0] ^= 1;
	c[1].replace = 1;
	ck_assert_int_eq(store_key_checks(w.s, c, 2), RX_CONFLICT);
	ck_assert_int_eq(c[0].outcome, STORE_KEY_MISMATCHED);
	/* writes fail */
	ck_assert_int_eq(store_audit_operator(w.s, T0 + 20, "BACKUP", NULL, NULL, NULL), RX_UNAVAILABLE);
	uint64_t n = 0;
	ck_assert_int_eq(store_expire(w.s, T0 + 30 * 86400, &n), RX_UNAVAILABLE);
	store_close(&w.s);
	file_hash(path, after);
	ck_assert_mem_eq(before, after, RX_HASH_LEN);
	ck_assert_int_eq(access(lock, F_OK), -1);
	/* the writer's open records broker.key now: the read-only one did not */
	store_options_t rw = test_opt;
	ck_assert_int_eq(store_open(&w.s, w.dir, &rw), RX_OK);
	c[0].value[0] ^= 1;
	c[1].replace = 0;
	ck_assert_int_eq(store_key_checks(w.s, c, 2), RX_OK);
	ck_assert_int_eq(c[1].outcome, STORE_KEY_RECORDED);
	store_close(&w.s);

	/* A copy an older rxd wrote, before the "watching" table, still checks. */
	MDB_env *old;
	MDB_txn *t;
	MDB_dbi d;
	ck_assert_int_eq(mdb_env_create(&old), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(old, 32), 0);
	ck_assert_int_eq(mdb_env_open(old, w.dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(old, NULL, 0, &t), 0);
	ck_assert_int_eq(mdb_dbi_open(t, "watching", 0, &d), 0);
	ck_assert_int_eq(mdb_drop(t, d, 1), 0);
	ck_assert_int_eq(mdb_txn_commit(t), 0);
	mdb_env_close(old);
	ck_assert_int_eq(store_open(&w.s, w.dir, &ro), RX_OK);
	ck_assert_int_eq(store_audit_verify(w.s, pk, &v), RX_OK);
	ck_assert_int_eq(v.ok, 1);
	store_close(&w.s);

	/* what is not a store */
	char empty[TU_PATH_MAX];
	world_subdir(empty);
	store_t *s = (store_t *)&s;
	ck_assert_int_eq(store_open(&s, empty, &ro), RX_NOT_FOUND);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(access(empty, F_OK), 0);
	snprintf(path, sizeof path, "%s/data.mdb", empty);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 20000; i++)
		fputc(i * 7 & 0xff, f);
	fclose(f);
	ck_assert_int_eq(store_open(&s, empty, &ro), RX_INVALID);
	/* LMDB's, but with none of the store's databases */
	char bare[TU_PATH_MAX];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	world_subdir(bare);
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_open(env, bare, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	MDB_val k = {5, (void *)"hello"}, val = {5, (void *)"world"};
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &val, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	ck_assert_int_eq(store_open(&s, bare, &ro), RX_INVALID);
	ck_assert_ptr_null(s);
}
END_TEST

/* Key checks: recorded on first sight, matched after, a differing value
 * refused with nothing recorded (not even the new ones beside it), replaced
 * only when asked; they survive a reopen. */
START_TEST(key_checks)
{
	char dir[TU_PATH_MAX];
	store_t *s;
	store_key_check_t c[2] = {{.name = "data.key"}, {.name = "broker.key"}};
	memset(c[0].value, 1, sizeof c[0].value);
	memset(c[1].value, 2, sizeof c[1].value);
	world_subdir(dir);
	ck_assert_int_eq(store_open(&s, dir, &test_opt), RX_OK);
	ck_assert_int_eq(store_key_checks(s, c, 1), RX_OK);
	ck_assert_int_eq(c[0].outcome, STORE_KEY_RECORDED);
	ck_assert_int_eq(store_key_checks(s, c, 1), RX_OK);
	ck_assert_int_eq(c[0].outcome, STORE_KEY_MATCHED);
	store_close(&s);

	ck_assert_int_eq(store_open(&s, dir, &test_opt), RX_OK);
	c[0].value[31] ^= 1;
	ck_assert_int_eq(store_key_checks(s, c, 2), RX_CONFLICT);
	ck_assert_int_eq(c[0].outcome, STORE_KEY_MISMATCHED);
	c[0].value[31] ^= 1;
	/* broker.key was not recorded by the refused call */
	ck_assert_int_eq(store_key_checks(s, c, 2), RX_OK);
	ck_assert_int_eq(c[0].outcome, STORE_KEY_MATCHED);
	ck_assert_int_eq(c[1].outcome, STORE_KEY_RECORDED);
	/* a deliberate replacement */
	c[1].value[0] = 9;
	c[1].replace = 1;
	ck_assert_int_eq(store_key_checks(s, c + 1, 1), RX_OK);
	ck_assert_int_eq(c[1].outcome, STORE_KEY_REPLACED);
	c[1].replace = 0;
	ck_assert_int_eq(store_key_checks(s, c + 1, 1), RX_OK);
	ck_assert_int_eq(c[1].outcome, STORE_KEY_MATCHED);
	c[1].value[0] = 2;
	ck_assert_int_eq(store_key_checks(s, c + 1, 1), RX_CONFLICT);
	store_close(&s);
}
END_TEST

/* Sealed values: the body is not on disk in clear; a value moved to another
 * key, or read with another data key, does not open. */
START_TEST(values_are_sealed)
{
	world_t w;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1];
	call_t k;
	store_outcome_t out;
	world_open(&w);
	store_change_t *c = mk_submit(&k, w.doc, w.patient, 1, T0);
	/* in the notes, which pad the body to its end */
	static const char mark[] = "DISTINCTIVE-BODY-BYTES";
	memcpy(k.body + sizeof k.body - (sizeof mark - 1), mark, sizeof mark - 1);
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	memcpy(a, out.rx.id, sizeof a);
	submit(&w, w.doc, w.patient, 1, T0, b);
	store_close(&w.s);

	/* Scan the LMDB file for the body and the patient id. */
	char path[300];
	snprintf(path, sizeof path, "%s/data.mdb", w.dir);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	static uint8_t file[1 << 20];
	size_t n = fread(file, 1, sizeof file, f);
	fclose(f);
	ck_assert_uint_gt(n, 0);
	ck_assert_ptr_null(memmem(file, n, "DISTINCTIVE-BODY", 16));
	ck_assert_ptr_null(memmem(file, n, k.sig, 16));

	/* Copy prescription a's sealed value over b's key. */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 16), 0);
	ck_assert_int_eq(mdb_env_open(env, w.dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "rx", 0, &dbi), 0);
	uint8_t ra[RX_ID_LEN], rb[RX_ID_LEN];
	MDB_val ka = {world_rx_key(a, ra), ra}, kb = {world_rx_key(b, rb), rb}, v;
	ck_assert_int_eq(mdb_get(txn, dbi, &ka, &v), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &kb, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	store_open_in(&w);
	store_rx_t rx;
	const char *why;
	ck_assert_int_eq(store_status(w.s, w.doc, peer_of(w.doc), a, T0, &rx, NULL, NULL, &why), RX_OK);
	ck_assert_int_eq(store_status(w.s, w.doc, peer_of(w.doc), b, T0, &rx, NULL, NULL, &why), RX_UNAVAILABLE);
	/* One damaged record is not a wrong data key (no audit head signed yet). */
	int which = -1;
	uint8_t broker[RX_KEY_LEN] = {0};
	ck_assert_int_eq(store_keys_probe(w.s, broker, &which), RX_OK);
	ck_assert_int_eq(which, 0);
	store_close(&w.s);

	/* Another data key opens nothing. */
	uint8_t other[RX_DATA_KEY_LEN] = {1};
	store_options_t o = {.map_size = 16u << 20, .data_key = other};
	ck_assert_int_eq(store_open(&w.s, w.dir, &o), RX_OK);
	/* (its ids do not even number the same records) */
	ck_assert_int_eq(store_status(w.s, w.doc, peer_of(w.doc), a, T0, &rx, NULL, NULL, &why), RX_NOT_FOUND);
	/* and the probe says so before anything is served */
	ck_assert_int_eq(store_keys_probe(w.s, broker, &which), RX_CONFLICT);
	ck_assert_int_eq(which, STORE_PROBE_DATA_KEY);
	world_close(&w);
}
END_TEST

/* The format a closed store in dir records. */
static uint32_t format_of(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	MDB_val fk = {6, (void *)"format"}, fv;
	uint32_t f = 0;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 32), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	ck_assert_int_eq(mdb_get(txn, meta, &fk, &fv), 0);
	ck_assert_uint_eq(fv.mv_size, sizeof f);
	memcpy(&f, fv.mv_data, sizeof f);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return f;
}

/* A store written before the counts and the expiry index (format 1) gets
 * both at open: the counts are right and the sweep finds what is due. */
START_TEST(format_1_store_upgrades)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1], c[RX_ID_LEN + 1], d[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN], td[RX_TOKEN_LEN];
	uint64_t n = 0;
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, a);
	submit(&w, w.doc, w.patient, 1, T0, b);
	submit(&w, w.doc, w.patient, 1, T0, c);
	submit(&w, w.doc, w.patient, 1, T0, d);
	claim(&w, w.pharm, b, T0 + 10, token);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, c, T0 + 20), &out), RX_OK);
	claim(&w, w.pharm, d, T0 + 30, td);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, d, td, T0 + 40), &out), RX_OK);
	store_close(&w.s);

	/* Make it format 1: no counts record, no expiry index. */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, idx;
	uint32_t one = 1;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 32), 0);
	ck_assert_int_eq(mdb_env_open(env, w.dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "rx_expiry", 0, &idx), 0);
	ck_assert_int_eq(mdb_drop(txn, idx, 1), 0);
	MDB_val key = {9, (void *)"rx_counts"}, fk = {6, (void *)"format"}, fv = {sizeof one, &one};
	ck_assert_int_eq(mdb_del(txn, meta, &key, NULL), 0);
	ck_assert_int_eq(mdb_put(txn, meta, &fk, &fv, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	store_open_in(&w);
	expect_counts(&w, T0 + 40, 1, 1, 1, 1, 0);
	const int64_t until = rx_valid_until(T0, RX_DEFAULT_VALID_DAYS);
	ck_assert_int_eq(store_expire(w.s, until, &n), RX_OK);
	ck_assert_uint_eq(n, 2);
	expect_counts(&w, until, 0, 0, 1, 1, 2);
	ck_assert_int_eq(has_action(&w, a, "EXPIRE"), 1);
	ck_assert_int_eq(has_action(&w, b, "EXPIRE"), 1);
	store_close(&w.s);

	/* The format is 4 now: a build that knows only 1 refuses the store
	 * rather than let its counts and index go stale. */
	ck_assert_uint_eq(format_of(w.dir), 5);
}
END_TEST

/* A day's prescriptions share their valid_until: the expiry index orders
 * them by submission after it, so each new entry lands at the end of its
 * day's run (format 3), whatever its random id. */
START_TEST(expiry_keys_in_submission_order)
{
	world_t w;
	char ids[6][RX_ID_LEN + 1];
	uint8_t keys[8][64];
	size_t sizes[8];
	world_open(&w);
	for (int i = 0; i < 6; i++)
		submit(&w, w.doc, w.patient, 1, T0 + i, ids[i]);
	store_close(&w.s);
	ck_assert_uint_eq(world_raw_keys(w.dir, "rx_expiry", keys, sizes, 8), 6);
	const int64_t until = rx_valid_until(T0, RX_DEFAULT_VALID_DAYS);
	for (int i = 0; i < 6; i++) {
		uint8_t want[8];
		ck_assert_uint_eq(sizes[i], 8 + 8 + RX_ID_LEN);
		for (int b = 0; b < 8; b++)
			want[b] = (uint8_t)((uint64_t)until >> (56 - 8 * b));
		ck_assert_mem_eq(keys[i], want, 8);
		ck_assert_mem_eq(keys[i] + 16, ids[i], RX_ID_LEN); /* in the order submitted */
		if (i)
			ck_assert_int_lt(memcmp(keys[i - 1] + 8, keys[i] + 8, 8), 0);
	}
	world_close(&w);
}
END_TEST

/* A patient's prescription is filed in audit_patient just before the
 * SUBMIT's own audit entry (patient + order + id, order one less than the
 * entry's seq), so one page takes both; the patient's log still reads only
 * log entries. */
START_TEST(patient_rx_beside_its_audit_entry)
{
	world_t w;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1];
	uint8_t keys[32][64];
	size_t sizes[32];
	store_audit_t *log = NULL;
	size_t nlog = 0, before;
	world_open(&w);
	ck_assert_int_eq(store_audit_patient(w.s, w.patient, 100, &log, &before), RX_OK);
	free(log);
	submit(&w, w.doc, w.patient, 1, T0, a);
	submit(&w, w.doc, w.patient2, 1, T0 + 1, b);
	ck_assert_int_eq(store_audit_patient(w.s, w.patient, 100, &log, &nlog), RX_OK);
	ck_assert_uint_eq(nlog, before + 1); /* the SUBMIT's entry, not the filing */
	ck_assert_str_eq(log[nlog - 1].action, "SUBMIT");
	ck_assert_str_eq(log[nlog - 1].id, a);
	uint64_t seq = log[nlog - 1].seq;
	free(log);
	store_close(&w.s);

	size_t n = world_raw_keys(w.dir, "audit_patient", keys, sizes, 32), found = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (sizes[i] != RX_PATIENT_ID_LEN + 8 + RX_ID_LEN ||
		    memcmp(keys[i], w.patient, RX_PATIENT_ID_LEN) != 0)
			continue;
		found++;
		ck_assert_mem_eq(keys[i] + RX_PATIENT_ID_LEN + 8, a, RX_ID_LEN);
		uint64_t order = 0, next = 0;
		for (int j = 0; j < 8; j++) {
			order = order << 8 | keys[i][RX_PATIENT_ID_LEN + j];
			next = next << 8 | keys[i + 1][RX_PATIENT_ID_LEN + j];
		}
		/* the next key is the SUBMIT's own entry in the patient's log */
		ck_assert_uint_eq(sizes[i + 1], RX_PATIENT_ID_LEN + 8);
		ck_assert_mem_eq(keys[i + 1], w.patient, RX_PATIENT_ID_LEN);
		ck_assert_uint_eq(next, seq);
		ck_assert_uint_eq(order + 1, seq);
	}
	ck_assert_uint_eq(found, 1);
	ck_assert_uint_eq(world_raw_keys(w.dir, "rx_patient", keys, sizes, 32), 0);

	store_open_in(&w);
	ck_assert_int_eq(list_with(&w, w.pharm, w.card, T0 + 2), RX_OK);
	ck_assert_uint_eq(w.nseen, 1);
	ck_assert_str_eq(w.seen[0].id, a);
	world_close(&w);
}
END_TEST

static void make_format_2(const char *dir);

/* An audit entry about a prescription (but its SUBMIT) is filed for the
 * patient's log beside the prescription's record in rx (format 4), not by
 * patient; the log reads both, in seq order, and stats count no row twice. */
START_TEST(log_entries_beside_their_prescription)
{
	world_t w;
	char a[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN], keys[32][64], rk[RX_ID_LEN];
	size_t sizes[32];
	store_audit_t *log = NULL;
	size_t nlog = 0;
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, a);
	store_close(&w.s);
	size_t by_patient = world_raw_keys(w.dir, "audit_patient", keys, sizes, 32);
	store_open_in(&w);
	claim(&w, w.pharm, a, T0 + 10, token);
	ck_assert_int_eq(store_audit_patient(w.s, w.patient, 100, &log, &nlog), RX_OK);
	ck_assert_uint_ge(nlog, 2);
	ck_assert_str_eq(log[nlog - 2].action, "SUBMIT");
	ck_assert_str_eq(log[nlog - 1].action, "CLAIM");
	ck_assert_str_eq(log[nlog - 1].id, a);
	ck_assert_uint_lt(log[nlog - 2].seq, log[nlog - 1].seq);
	uint64_t seq = log[nlog - 1].seq;
	free(log);
	ck_assert_uint_eq(stats_of(&w, T0 + 10).prescriptions, 1);
	store_close(&w.s);
	/* nothing more by patient; the CLAIM's entry beside a's record */
	ck_assert_uint_eq(world_raw_keys(w.dir, "audit_patient", keys, sizes, 32), by_patient);
	size_t rl = world_rx_key(a, rk), n = world_raw_keys(w.dir, "rx", keys, sizes, 32), found = 0;
	for (size_t i = 0; i < n; i++)
		if (sizes[i] == rl + 8 && memcmp(keys[i], rk, rl) == 0) {
			uint64_t at = 0;
			for (int j = 0; j < 8; j++)
				at = at << 8 | keys[i][rl + j];
			found += at == seq;
		}
	ck_assert_uint_eq(found, 1);
	world_close(&w);
}
END_TEST

/* A prescription is filed under its number, in the order made, and its
 * id is that number under the store's permutation (format 4); those a
 * format-3 store filed under their ids are found, claimed and dispensed
 * where they are, and a new one never takes one of their ids. */
START_TEST(prescriptions_filed_by_number)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1], c[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN], keys[16][64], ka[RX_ID_LEN], kb[RX_ID_LEN];
	size_t sizes[16];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, a);
	submit(&w, w.doc, w.patient, 1, T0, b);
	/* Numbers 1 and 2, in rx in that order; the ids do not show it. */
	ck_assert_uint_eq(world_rx_key(a, ka), 8);
	ck_assert_uint_eq(world_rx_key(b, kb), 8);
	ck_assert_uint_eq(ka[7], 1);
	ck_assert_uint_eq(kb[7], 2);
	ck_assert_str_ne(a, b);
	store_close(&w.s);
	ck_assert_uint_eq(world_raw_keys(w.dir, "rx", keys, sizes, 16), 2);
	ck_assert_mem_eq(keys[0], ka, 8);
	ck_assert_mem_eq(keys[1], kb, 8);

	/* As a format-3 store kept them: under their ids. */
	world_refile_under_ids(w.dir);
	ck_assert_uint_eq(world_raw_keys(w.dir, "rx", keys, sizes, 16), 2);
	ck_assert_uint_eq(sizes[0], RX_ID_LEN);
	store_open_in(&w);
	claim(&w, w.pharm, a, T0 + 10, token);
	store_change_t *ch = mk_tok(&k, RX_OP_DISPENSE, w.pharm, a, token, T0 + 20);
	ck_assert_int_eq(apply(&w, ch, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_DISPENSED);
	/* numbering starts again at 1, but its id (a's) is taken: 2's is b's
	 * too, so the new one is number 3 */
	submit(&w, w.doc, w.patient, 1, T0 + 30, c);
	ck_assert_str_ne(c, a);
	ck_assert_str_ne(c, b);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, b, T0 + 40), &out), RX_OK);
	expect_counts(&w, T0 + 40, 1, 0, 1, 1, 0);
	store_close(&w.s);
	ck_assert_uint_eq(format_of(w.dir), 5);
	/* a's record and its dispense row under a's id, b's under b's id, c's
	 * under its number 3, first */
	size_t n = world_raw_keys(w.dir, "rx", keys, sizes, 16), rows = 0;
	for (size_t i = 0; i < n; i++) /* but the audit entries about them */
		rows += sizes[i] != 8 + 8 && sizes[i] != RX_ID_LEN + 8;
	ck_assert_uint_eq(rows, 4);
	ck_assert_uint_eq(sizes[0], 8);
	ck_assert_uint_eq(keys[0][7], 3);
	world_close(&w);
}
END_TEST

/* A dispense record is kept beside its prescription's record in rx (id +
 * use), not in dispenses (format 3); those a format-2 store kept in
 * dispenses still count, still show, and their use cannot be dispensed
 * again. */
START_TEST(dispense_rows_beside_their_prescription)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1], other[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN], keys[16][64];
	size_t sizes[16];
	store_rx_t rx;
	const char *why;
	world_open(&w);
	submit(&w, w.doc, w.patient, 2, T0, id);
	submit(&w, w.doc, w.patient, 1, T0, other);
	claim(&w, w.pharm, id, T0 + 10, token);
	store_change_t *c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 20);
	c->use = 1;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	store_stats_t st = stats_of(&w, T0 + 20);
	ck_assert_uint_eq(st.prescriptions, 2);
	ck_assert_uint_eq(st.dispense_records, 1);
	store_close(&w.s);
	ck_assert_uint_eq(world_raw_keys(w.dir, "dispenses", keys, sizes, 16), 0);
	size_t n = world_raw_keys(w.dir, "rx", keys, sizes, 16), rows = 0, records = 0;
	uint8_t rk[RX_ID_LEN];
	size_t rl = world_rx_key(id, rk);
	for (size_t i = 0; i < n; i++) {
		records += sizes[i] == 8;
		if (sizes[i] == rl + 1) {
			rows++;
			ck_assert_mem_eq(keys[i], rk, rl);
			ck_assert_uint_eq(keys[i][rl], 1);
			/* among its prescription's rows: the record, then the
			 * audit entries about it (key + seq), then this */
			ck_assert_mem_eq(keys[i - 1], rk, rl);
		}
	}
	ck_assert_uint_eq(records, 2);
	ck_assert_uint_eq(rows, 1);

	/* The same store as format 2 kept it. */
	make_format_2(w.dir);
	ck_assert_uint_eq(world_raw_keys(w.dir, "dispenses", keys, sizes, 16), 1);
	store_open_in(&w);
	st = stats_of(&w, T0 + 30);
	ck_assert_uint_eq(st.prescriptions, 2);
	ck_assert_uint_eq(st.dispense_records, 1);
	/* the pharmacy that dispensed it may still look (its record is found) */
	ck_assert_int_eq(store_status(w.s, w.pharm, "P-0001", id, T0 + 30, &rx, NULL, NULL, &why), RX_OK);
	ck_assert_uint_eq(rx.uses_left, 1);
	/* the same claim's dispense again, and use 1 again: refused */
	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 30);
	c->use = 1;
	ck_assert_int_eq(apply(&w, c, &out), RX_ALREADY_DISPENSED);
	claim(&w, w.pharm, id, T0 + 40, token);
	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 50);
	c->use = 1;
	ck_assert_int_eq(apply(&w, c, &out), RX_ALREADY_DISPENSED);
	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 50);
	c->use = 2;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_DISPENSED);
	st = stats_of(&w, T0 + 60);
	ck_assert_uint_eq(st.prescriptions, 2);
	ck_assert_uint_eq(st.dispense_records, 2);
	store_close(&w.s);
	ck_assert_uint_eq(world_raw_keys(w.dir, "dispenses", keys, sizes, 16), 1);
	n = world_raw_keys(w.dir, "rx", keys, sizes, 16);
	rows = 0;
	for (size_t i = 0; i < n; i++) /* but the audit entries about them */
		rows += sizes[i] != RX_ID_LEN + 8;
	ck_assert_uint_eq(rows, 3);
	world_close(&w);
}
END_TEST

/* Rewrite a closed store to format 2's keys, as a store of the previous
 * version: the expiry index's without order (valid_until, id), and the
 * patients' prescriptions in rx_patient (patient -> id, dupsort) instead of
 * among their audit entries, the dispense records in dispenses instead of
 * beside their prescriptions in rx; then set format 2. */
static void make_format_2(const char *dir)
{
	world_refile_under_ids(dir);
	uint8_t keys[16][64], pkeys[32][64];
	size_t sizes[16], psizes[32];
	size_t n = world_raw_keys(dir, "rx_expiry", keys, sizes, 16);
	size_t np = world_raw_keys(dir, "audit_patient", pkeys, psizes, 32);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, idx, by_patient, rx_patient;
	uint32_t two = 2;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 32), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "rx_expiry", 0, &idx), 0);
	ck_assert_int_eq(mdb_drop(txn, idx, 0), 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t old[8 + RX_ID_LEN];
		ck_assert_uint_eq(sizes[i], 8 + 8 + RX_ID_LEN);
		memcpy(old, keys[i], 8);
		memcpy(old + 8, keys[i] + 16, RX_ID_LEN);
		MDB_val k = {sizeof old, old}, v = {0, (void *)""};
		ck_assert_int_eq(mdb_put(txn, idx, &k, &v, 0), 0);
	}
	uint8_t rkeys[32][64];
	size_t rsizes[32], nr = world_raw_keys(dir, "rx", rkeys, rsizes, 32);
	MDB_dbi rx, dispenses;
	ck_assert_int_eq(mdb_dbi_open(txn, "rx", 0, &rx), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "dispenses", 0, &dispenses), 0);
	for (size_t i = 0; i < nr; i++) {
		if (rsizes[i] != RX_ID_LEN + 1)
			continue;
		MDB_val k = {rsizes[i], rkeys[i]}, v;
		ck_assert_int_eq(mdb_get(txn, rx, &k, &v), 0);
		uint8_t *copy = malloc(v.mv_size);
		memcpy(copy, v.mv_data, v.mv_size);
		MDB_val nv = {v.mv_size, copy};
		ck_assert_int_eq(mdb_del(txn, rx, &k, NULL), 0);
		ck_assert_int_eq(mdb_put(txn, dispenses, &k, &nv, 0), 0);
		free(copy);
	}
	MDB_val dk = {12, (void *)"rx_dispensed"};
	int rc = mdb_del(txn, meta, &dk, NULL);
	ck_assert(rc == 0 || rc == MDB_NOTFOUND);
	ck_assert_int_eq(mdb_dbi_open(txn, "audit_patient", 0, &by_patient), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "rx_patient", MDB_DUPSORT, &rx_patient), 0);
	for (size_t i = 0; i < np; i++) {
		if (psizes[i] != RX_PATIENT_ID_LEN + 8 + RX_ID_LEN)
			continue;
		MDB_val k = {psizes[i], pkeys[i]}, pk = {RX_PATIENT_ID_LEN, pkeys[i]},
			id = {RX_ID_LEN, pkeys[i] + RX_PATIENT_ID_LEN + 8};
		ck_assert_int_eq(mdb_del(txn, by_patient, &k, NULL), 0);
		ck_assert_int_eq(mdb_put(txn, rx_patient, &pk, &id, 0), 0);
	}
	MDB_val fk = {6, (void *)"format"}, fv = {sizeof two, &two};
	ck_assert_int_eq(mdb_put(txn, meta, &fk, &fv, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* A format-2 store opens as it is: its expiry entries (no order) are
 * counted and swept beside the new ones, its patients' prescriptions in
 * rx_patient are listed beside those filed since, and it is format 3
 * after. */
START_TEST(format_2_store_reads_old_keys)
{
	world_t w;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1], c[RX_ID_LEN + 1];
	uint8_t keys[8][64];
	size_t sizes[8];
	uint64_t n = 0;
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, a);
	submit(&w, w.doc, w.patient, 1, T0 + 1, b);
	store_close(&w.s);
	make_format_2(w.dir);

	store_open_in(&w);
	submit(&w, w.doc, w.patient, 1, T0 + 2, c); /* a new key beside the old */
	ck_assert_int_eq(list_with(&w, w.pharm, w.card, T0 + 3), RX_OK);
	ck_assert_uint_eq(w.nseen, 3);
	int listed = 0;
	for (size_t i = 0; i < w.nseen; i++)
		listed += !strcmp(w.seen[i].id, a) + !strcmp(w.seen[i].id, b) + !strcmp(w.seen[i].id, c);
	ck_assert_int_eq(listed, 3);
	const int64_t until = rx_valid_until(T0, RX_DEFAULT_VALID_DAYS);
	expect_counts(&w, T0 + 2, 3, 0, 0, 0, 0);
	store_stats_t st = stats_of(&w, until); /* past due, not swept yet */
	ck_assert_uint_eq(st.by_state[RX_STATE_EXPIRED], 3);
	store_close(&w.s);
	ck_assert_uint_eq(world_raw_keys(w.dir, "rx_expiry", keys, sizes, 8), 3);
	int old = 0;
	for (int i = 0; i < 3; i++)
		old += sizes[i] == 8 + RX_ID_LEN;
	ck_assert_int_eq(old, 2);

	store_open_in(&w);
	ck_assert_int_eq(store_expire(w.s, until, &n), RX_OK);
	ck_assert_uint_eq(n, 3);
	expect_counts(&w, until, 0, 0, 0, 0, 3);
	ck_assert_int_eq(has_action(&w, a, "EXPIRE"), 1);
	ck_assert_int_eq(has_action(&w, c, "EXPIRE"), 1);
	store_close(&w.s);
	ck_assert_uint_eq(world_raw_keys(w.dir, "rx_expiry", keys, sizes, 8), 0);
	ck_assert_uint_eq(format_of(w.dir), 5);
	world_close(&w);
}
END_TEST

/* A stored reply of a store from before format 5, keyed caller first, still
 * answers its retry after the upgrade; replies since are keyed request id
 * first.  Once the sweep has pruned the last reply keyed the old way, the
 * store stops looking for such keys (meta "requests_old" goes). */
START_TEST(replies_keyed_caller_first_still_found)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	world_open(&w);
	store_change_t *c = mk_submit(&k, w.doc, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);

	/* Re-key the stored reply as format 4 did, sealed again under that key. */
	store_t *s = w.s;
	MDB_txn *txn;
	uint8_t nk[RX_REQUEST_ID_LEN + RX_KEY_LEN], ok[RX_KEY_LEN + RX_REQUEST_ID_LEN];
	memcpy(nk, k.request_id, RX_REQUEST_ID_LEN);
	memcpy(nk + RX_REQUEST_ID_LEN, w.doc, RX_KEY_LEN);
	memcpy(ok, w.doc, RX_KEY_LEN);
	memcpy(ok + RX_KEY_LEN, k.request_id, RX_REQUEST_ID_LEN);
	MDB_val key = {sizeof nk, nk}, okey = {sizeof ok, ok}, v;
	ck_assert_int_eq(mdb_txn_begin(s->env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_get(txn, s->requests, &key, &v), 0);
	ProtobufCMessage *row = st_open_sealed(s, "requests", &key, &v, &rxstore__request_row__descriptor);
	ck_assert_ptr_nonnull(row);
	ck_assert_int_eq(mdb_del(txn, s->requests, &key, NULL), 0);
	ck_assert_int_eq(st_put_sealed(s, txn, s->requests, "requests", &okey, row, 0), 0);
	protobuf_c_message_free_unpacked(row, NULL);
	uint8_t tk[8 + sizeof ok];
	MDB_cursor *cur;
	MDB_val tkey, none = {0, ""};
	ck_assert_int_eq(mdb_cursor_open(txn, s->requests_at, &cur), 0);
	ck_assert_int_eq(mdb_cursor_get(cur, &tkey, &v, MDB_LAST), 0);
	ck_assert_uint_eq(tkey.mv_size, sizeof tk);
	memcpy(tk, tkey.mv_data, 8);
	memcpy(tk + 8, ok, sizeof ok);
	ck_assert_int_eq(mdb_cursor_del(cur, 0), 0);
	mdb_cursor_close(cur);
	tkey = (MDB_val){sizeof tk, tk};
	ck_assert_int_eq(mdb_put(txn, s->requests_at, &tkey, &none, 0), 0);
	uint32_t four = 4;
	MDB_val fk = {6, (void *)"format"}, fv = {sizeof four, &four};
	ck_assert_int_eq(mdb_put(txn, s->meta, &fk, &fv, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	store_close(&w.s);

	store_open_in(&w);
	int calls = w.calls;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_int_eq(w.calls, calls);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 1);
	store_close(&w.s);
	ck_assert_uint_eq(format_of(w.dir), 5);
	/* and once more after the open that made it format 5 */
	store_open_in(&w);
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 1);

	/* A newer reply, then a sweep that prunes nothing: still looked up. */
	call_t k2;
	uint64_t pr, pn;
	ck_assert_int_eq(apply(&w, mk_submit(&k2, w.doc, w.patient, 1, T0 + DAY), &out), RX_OK);
	ck_assert_int_eq(store_prune(w.s, T0 + 60, 100, &pr, &pn), RX_OK);
	ck_assert_uint_eq(pr, 0);
	ck_assert_int_eq(w.s->old_replies, 1);
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	/* The sweep prunes the old reply (the newer one is kept): no more lookups
	 * of old keys, then or after the next open. */
	ck_assert_int_eq(store_prune(w.s, T0 + STORE_REPLY_KEEP + 1, 100, &pr, &pn), RX_OK);
	ck_assert_uint_eq(pr, 1);
	ck_assert_int_eq(w.s->old_replies, 0);
	store_close(&w.s);
	store_open_in(&w);
	ck_assert_int_eq(w.s->old_replies, 0);
	world_close(&w);
}
END_TEST

TCase *store_env_tcase(void)
{
	TCase *tc = world_tcase("env");
	tcase_add_test(tc, survives_reopen);
	tcase_add_test(tc, open_refuses);
	tcase_add_test(tc, key_checks);
	tcase_add_test(tc, read_only_open);
	tcase_add_test(tc, replies_keyed_caller_first_still_found);
	tcase_add_test(tc, values_are_sealed);
	tcase_add_test(tc, format_1_store_upgrades);
	tcase_add_test(tc, expiry_keys_in_submission_order);
	tcase_add_test(tc, format_2_store_reads_old_keys);
	tcase_add_test(tc, patient_rx_beside_its_audit_entry);
	tcase_add_test(tc, dispense_rows_beside_their_prescription);
	tcase_add_test(tc, prescriptions_filed_by_number);
	tcase_add_test(tc, log_entries_beside_their_prescription);
	return tc;
}
