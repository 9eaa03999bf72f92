/* env: the LMDB environment and what every record on disk passes through.
 * store_open (the databases, the format and its upgrade, the indexes built
 * once at open) and store_close; the sealing of the records encrypted on
 * disk (st_put_sealed, st_open_sealed); the checks of the key files against
 * the store (store_key_checks, store_keys_probe); and the group-commit
 * batch (store_batch_begin, store_batch_end).  The databases themselves are
 * listed in store_int.h. */
#include "store_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "records.pb-c.h"
#include "rx_check.h"
#include "rx_ids.h"

/* 2: rx_expiry and the rx_counts record; a format-1 store gets them once,
 * at open (upgrade_layout).  3: keys in the time order of their writing
 * (rx_expiry's order; a patient's prescriptions filed in audit_patient
 * instead of rx_patient, dispense rows and code attempts in rx beside
 * their prescription instead of in dispenses and access_log: see
 * store_int.h).  4: a new prescription is filed in rx under its sequence
 * number, its id that number under the store's permutation (st_rx_key).
 * 5: the resubmission guards of the newest prescriptions are not in
 * rx_hash yet but in memory, rebuilt at open from their records
 * (guard.c; meta "rx_hash_merged" says which), and stored replies are
 * keyed request id first (those of before are looked up too: meta
 * "requests_old").
 * A store of format 2 to 4 is read as it is, so it becomes format 5 at
 * open with nothing rewritten, and an older rxd, which would not read the
 * new keys or know of the unmerged guards, no longer opens it. */
#define FORMAT_VERSION 5u
#define DEFAULT_MAP_SIZE (1ull << 30)

/* ---- sealed values ----
 * Prescriptions, dispense records and stored replies are encrypted on disk:
 * byte 0 is the seal version (1), then a random 24-byte nonce, then the
 * XChaCha20-Poly1305 ciphertext of the protobuf record.  The additional data
 * is the database's name and the record's LMDB key, so a value copied under
 * another key, or into another database, fails to open. */

#define SEAL_VERSION 1
#define SEAL_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_OVERHEAD (1 + SEAL_NONCE + crypto_aead_xchacha20poly1305_ietf_ABYTES)

static size_t seal_ad(uint8_t *ad, const char *dbname, const MDB_val *k)
{
	size_t n = strlen(dbname) + 1;
	memcpy(ad, dbname, n);
	memcpy(ad + n, k->mv_data, k->mv_size);
	return n + k->mv_size;
}

/* See store_int.h. */
int st_put_sealed(store_t *s, MDB_txn *txn, MDB_dbi dbi, const char *dbname, MDB_val *k,
		  const ProtobufCMessage *msg, unsigned flags)
{
	uint8_t ad[32 + 512];
	size_t plen = protobuf_c_message_get_packed_size(msg);
	uint8_t *plain = malloc(plen ? plen : 1);
	if (plain == NULL || k->mv_size > 511) {
		free(plain);
		return ENOMEM;
	}
	protobuf_c_message_pack(msg, plain);
	MDB_val v = {plen + SEAL_OVERHEAD, NULL};
	int rc = mdb_put(txn, dbi, k, &v, flags | MDB_RESERVE);
	if (rc == 0) {
		uint8_t *out = v.mv_data;
		out[0] = SEAL_VERSION;
		randombytes_buf(out + 1, SEAL_NONCE);
		crypto_aead_xchacha20poly1305_ietf_encrypt(out + 1 + SEAL_NONCE, NULL, plain, plen, ad,
							   seal_ad(ad, dbname, k), NULL, out + 1,
							   s->data_key);
	}
	sodium_memzero(plain, plen);
	free(plain);
	return rc;
}

/* See store_int.h. */
ProtobufCMessage *st_open_sealed(store_t *s, const char *dbname, const MDB_val *k,
				 const MDB_val *v, const ProtobufCMessageDescriptor *desc)
{
	uint8_t ad[32 + 512];
	const uint8_t *in = v->mv_data;
	if (v->mv_size < SEAL_OVERHEAD || in[0] != SEAL_VERSION || k->mv_size > 511)
		return NULL;
	size_t clen = v->mv_size - 1 - SEAL_NONCE;
	unsigned long long plen;
	uint8_t *plain = malloc(clen);
	if (plain == NULL)
		return NULL;
	ProtobufCMessage *msg = NULL;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, in + 1 + SEAL_NONCE, clen, ad,
						       seal_ad(ad, dbname, k), in + 1, s->data_key) == 0)
		msg = protobuf_c_message_unpack(desc, NULL, (size_t)plen, plain);
	sodium_memzero(plain, clen);
	free(plain);
	return msg;
}

/* Stored replies written before requests_at existed get their index entry
 * once, at the first open by this version (meta "requests_at" marks it
 * done), so the sweep prunes them too. */
static int index_old_replies(store_t *s, MDB_txn *txn)
{
	MDB_val mk = val("requests_at", 11), mv, k, v, none = val("", 0);
	MDB_cursor *cur;
	int rc = mdb_get(txn, s->meta, &mk, &mv);
	if (rc != MDB_NOTFOUND)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->requests, &cur)) != 0)
		return rc;
	for (int op = MDB_FIRST; (rc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		if (k.mv_size != RX_KEY_LEN + RX_REQUEST_ID_LEN)
			continue;
		Rxstore__RequestRow *row = (Rxstore__RequestRow *)st_open_sealed(
			s, "requests", &k, &v, &rxstore__request_row__descriptor);
		uint8_t tkey[8 + RX_KEY_LEN + RX_REQUEST_ID_LEN];
		be64(tkey, row ? row->at : 0); /* unreadable: first to go */
		memcpy(tkey + 8, k.mv_data, k.mv_size);
		if (row)
			rxstore__request_row__free_unpacked(row, NULL);
		MDB_val tk = val(tkey, sizeof tkey);
		if ((rc = mdb_put(txn, s->requests_at, &tk, &none, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND && rc != 0)
		return rc;
	uint32_t one = 1;
	mv = val(&one, sizeof one);
	return mdb_put(txn, s->meta, &mk, &mv, 0);
}

static int upgrade_layout(store_t *s);

/* Where LMDB refuses what it finds, the store says what it is; everything
 * else stays RX_SYSTEM, as before. */
static rx_err_t open_error(int rc)
{
	switch (rc) {
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
		return RX_INVALID;
	default:
		return RX_SYSTEM;
	}
}

/* The environment flags of a read-only open of dir (see store.h): data.mdb
 * must be there (asked here, so that its absence is RX_NOT_FOUND, not an
 * LMDB error), and lock.mdb is used if it is there, never created. */
static unsigned read_only_flags(const char *dir, rx_err_t *err)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	if (stat(path, &st) != 0) {
		*err = errno == ENOENT || errno == ENOTDIR ? RX_NOT_FOUND : RX_SYSTEM;
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = RX_INVALID;
		return 0;
	}
	snprintf(path, sizeof path, "%s/lock.mdb", dir);
	*err = RX_OK;
	return MDB_RDONLY | (stat(path, &st) == 0 ? 0 : MDB_NOLOCK);
}

rx_err_t store_open(store_t **out, const char *dir, const store_options_t *opt)
{
	store_t *s = calloc(1, sizeof *s);
	MDB_txn *txn = NULL;
	int rc;
	rx_err_t err = RX_SYSTEM;
	unsigned env_flags = MDB_NOTLS, create = MDB_CREATE;

	*out = NULL;
	if (s == NULL)
		return RX_SYSTEM;
	if (opt == NULL || opt->data_key == NULL) {
		free(s);
		return RX_INVALID;
	}
	memcpy(s->data_key, opt->data_key, RX_DATA_KEY_LEN);
	s->amend_days = opt->amend_days ? opt->amend_days : 1;
	s->read_only = opt->read_only != 0;
	rx_access_code_key(s->data_key, s->code_key);
	rx_id_perm_key(s->data_key, s->id_key);
	if (s->read_only) {
		env_flags |= read_only_flags(dir, &err);
		if (err != RX_OK)
			goto fail;
		err = RX_SYSTEM;
		create = 0;
	}
	if ((rc = mdb_env_create(&s->env)) != 0)
		goto fail;
	mdb_env_set_maxdbs(s->env, 32);
	/* A read-only open maps what the file says it holds (LMDB takes the
	 * size recorded in it when none is set). */
	if (!s->read_only)
		mdb_env_set_mapsize(s->env, opt && opt->map_size ? opt->map_size : DEFAULT_MAP_SIZE);
	/* MDB_NOTLS: read transactions may later move between worker threads.
	 * No MDB_NOSYNC/MDB_NOMETASYNC: every commit is fsync'd (durability contract). */
	if ((rc = mdb_env_open(s->env, dir, env_flags, 0600)) != 0) {
		err = open_error(rc);
		goto fail;
	}
	if ((rc = mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &txn)) != 0)
		goto fail;
	struct {
		const char *name;
		MDB_dbi *dbi;
		unsigned flags;
		int later; /* added after copies were first checked: see below */
	} dbs[] = {
		{"meta", &s->meta, 0, 0},           {"keys", &s->keys, 0, 0},
		{"patients", &s->patients, 0, 0},   {"rx", &s->rx, 0, 0},
		{"rx_patient", &s->rx_patient, MDB_DUPSORT, 0},
		{"rx_hash", &s->rx_hash, 0, 0},     {"dispenses", &s->dispenses, 0, 0},
		{"rx_expiry", &s->rx_expiry, 0, 0},
		{"requests", &s->requests, 0, 0},
		{"institutions", &s->institutions, 0, 0}, {"curve_keys", &s->curve_keys, 0, 0},
		{"cards", &s->cards, 0, 0},         {"nonces", &s->nonces, 0, 0},
		{"nonce_times", &s->nonce_times, 0, 0}, {"access_log", &s->access_log, 0, 0},
		{"audit", &s->audit.log, 0, 0},     {"audit_patient", &s->audit.by_patient, 0, 0},
		{"nominations", &s->nominations, 0, 0}, {"notices", &s->notices, 0, 0},
		{"watching", &s->watching, 0, 1},
		{"requests_at", &s->requests_at, 0, 0},
		{"drugs", &s->drugs.master, 0, 0},  {"drugs_load", &s->drugs.staging, 0, 0},
	};
	for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++)
		if ((rc = mdb_dbi_open(txn, dbs[i].name, dbs[i].flags | create, dbs[i].dbi)) != 0) {
			/* A copy written by an rxd from before such a database still
			 * checks: read-only, only the change paths use it, and they
			 * are refused. */
			if (rc == MDB_NOTFOUND && s->read_only && dbs[i].later) {
				*dbs[i].dbi = 0;
				continue;
			}
			/* Read-only: one of the store's databases is not there. */
			if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
				err = RX_INVALID;
			goto fail;
		}

	MDB_val k = val("format", 6), v;
	uint32_t f = FORMAT_VERSION;
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND && s->read_only) {
		err = RX_INVALID; /* databases, but never a format: not a store */
		goto fail;
	}
	if (rc == MDB_NOTFOUND) {
		if ((rc = st_counts_init(txn, s)) != 0)
			goto fail;
		v = val(&f, sizeof f);
		if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
			goto fail;
	} else if (rc != 0) {
		goto fail;
	} else {
		if (v.mv_size != sizeof f) {
			err = RX_INVALID;
			goto fail;
		}
		memcpy(&f, v.mv_data, sizeof f);
		/* Format 1 lacks the counts and the expiry index that only a
		 * writer can build (upgrade_layout). */
		if (f < 1 || f > FORMAT_VERSION || (f == 1 && s->read_only)) {
			err = RX_INVALID;
			goto fail;
		}
		uint32_t now_f = FORMAT_VERSION;
		v = val(&now_f, sizeof now_f);
		if (f >= 2 && f < FORMAT_VERSION && !s->read_only &&
		    (rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
			goto fail;
	}
	/* Prescriptions filed under their ids (before format 4) sort after
	 * every number: is there any? */
	MDB_cursor *rc_cur;
	if ((rc = mdb_cursor_open(txn, s->rx, &rc_cur)) != 0)
		goto fail;
	MDB_val first_id = val("0", 1), fv;
	s->legacy_ids = mdb_cursor_get(rc_cur, &first_id, &fv, MDB_SET_RANGE) == 0;
	mdb_cursor_close(rc_cur);
	if (!s->read_only && (rc = index_old_replies(s, txn)) != 0)
		goto fail;
	if ((rc = st_guard_open(txn, s, f, opt->guard_merge_at, opt->guard_merge_chunk)) != 0)
		goto fail;
	/* In a store upgraded from before format 5, stored replies keyed caller
	 * first are looked up too (a miss costs a read, no write), until the
	 * sweep has pruned the last of them (space.c).  Meta "requests_old"
	 * holds the time of the newest stored reply at the upgrade: every reply
	 * keyed the old way is no newer.  A store upgraded by the version that
	 * marked it with a flag (4 bytes) gets the newest reply's time now, which
	 * is later still. */
	MDB_val ok = val("requests_old", 12), ov;
	if ((rc = mdb_get(txn, s->meta, &ok, &ov)) != 0 && rc != MDB_NOTFOUND)
		goto fail;
	int marked = rc == 0;
	if (marked && ov.mv_size == 8) {
		s->old_replies = 1;
		s->old_replies_until = be64_get(ov.mv_data);
	} else if (s->read_only) {
		s->old_replies = marked || f < 5;
		s->old_replies_until = INT64_MAX;
	} else if (marked || f < 5) {
		uint8_t at[8];
		int64_t newest;
		if ((rc = st_reply_time(txn, s, MDB_LAST, &newest)) == MDB_NOTFOUND) {
			rc = marked ? mdb_del(txn, s->meta, &ok, NULL) : 0;
		} else if (rc == 0) {
			be64(at, newest);
			ov = val(at, sizeof at);
			rc = mdb_put(txn, s->meta, &ok, &ov, 0);
			s->old_replies = 1;
			s->old_replies_until = newest;
		}
		if (rc != 0)
			goto fail;
	}
	/* The newest assertion kept was checked no earlier than its time less
	 * the clock skew allowed: time_hw starts there. */
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, s->nonce_times, &cur)) != 0)
		goto fail;
	if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 24) {
		int64_t at = 0;
		for (int i = 0; i < 8; i++)
			at = (int64_t)((uint64_t)at << 8 | ((const uint8_t *)k.mv_data)[i]);
		s->time_hw = at - RX_CLOCK_SKEW;
	}
	mdb_cursor_close(cur);
	/* A read-only transaction's commit writes nothing: it keeps the
	 * database handles opened in it for the transactions to come. */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	/* A format-1 store has neither the counts nor the expiry index: build
	 * them, once; the new format then keeps an older rxd (which would not
	 * maintain them) from opening the store. */
	if (f == 1 && (rc = upgrade_layout(s)) != 0)
		goto fail;
	s->audit.meta = s->meta;
	s->drugs.meta = s->meta;
	*out = s;
	return RX_OK;
fail:
	if (txn)
		mdb_txn_abort(txn);
	if (s->env)
		mdb_env_close(s->env);
	st_guard_close(s);
	sodium_memzero(s->data_key, sizeof s->data_key);
	sodium_memzero(s->code_key, sizeof s->code_key);
	free(s);
	return err;
}

void store_close(store_t **sp)
{
	if (sp && *sp) {
		mdb_env_close((*sp)->env);
		st_guard_close(*sp);
		sodium_memzero((*sp)->data_key, sizeof (*sp)->data_key);
		sodium_memzero((*sp)->code_key, sizeof (*sp)->code_key);
		free(*sp);
		*sp = NULL;
	}
}

rx_err_t store_key_checks(store_t *s, store_key_check_t *checks, size_t n)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &txn), mismatched = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char name[128];
		int len = snprintf(name, sizeof name, "key_check/%s", checks[i].name);
		if (len < 0 || (size_t)len >= sizeof name) {
			rc = EINVAL;
			break;
		}
		MDB_val k = val(name, (size_t)len), v;
		rc = mdb_get(txn, s->meta, &k, &v);
		if (rc == MDB_NOTFOUND && s->read_only) {
			checks[i].outcome = STORE_KEY_UNRECORDED;
			rc = 0;
		} else if (rc == MDB_NOTFOUND || (rc == 0 && checks[i].replace && !s->read_only)) {
			checks[i].outcome = rc == 0 ? STORE_KEY_REPLACED : STORE_KEY_RECORDED;
			v = val(checks[i].value, STORE_KEY_CHECK_LEN);
			rc = mdb_put(txn, s->meta, &k, &v, 0);
		} else if (rc == 0) {
			/* Not secret, but compared in constant time all the same. */
			int same = v.mv_size == STORE_KEY_CHECK_LEN &&
				   sodium_memcmp(v.mv_data, checks[i].value, STORE_KEY_CHECK_LEN) == 0;
			checks[i].outcome = same ? STORE_KEY_MATCHED : STORE_KEY_MISMATCHED;
			mismatched |= !same;
		}
	}
	if (rc != 0 || mismatched || s->read_only) {
		if (txn)
			mdb_txn_abort(txn);
		return rc != 0 ? from_mdb(rc == EINVAL ? EIO : rc) : mismatched ? RX_CONFLICT : RX_OK;
	}
	return from_mdb(mdb_txn_commit(txn));
}

rx_err_t store_keys_probe(store_t *s, const uint8_t broker_pk[RX_KEY_LEN], int *which)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	*which = 0;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return from_mdb(rc);
	if ((rc = mdb_cursor_open(txn, s->rx, &cur)) != 0) {
		mdb_txn_abort(txn);
		return from_mdb(rc);
	}
	/* The first few prescriptions: a wrong key opens none of them, and one
	 * damaged record must not pass for a wrong key. */
	int tried = 0, opened = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && tried < 8 && !opened;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 && k.mv_size != RX_ID_LEN)
			continue; /* a dispense row, a code attempt */
		ProtobufCMessage *m = st_open_sealed(s, "rx", &k, &v, &rxstore__rx_record__descriptor);
		tried++;
		opened = m != NULL;
		if (m)
			protobuf_c_message_free_unpacked(m, NULL);
	}
	if (tried && !opened)
		*which = STORE_PROBE_DATA_KEY;
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return from_mdb(rc);
	}
	if (*which == 0 && !audit_signed_by(txn, &s->audit, broker_pk))
		*which = STORE_PROBE_BROKER_KEY;
	mdb_txn_abort(txn);
	return *which ? RX_CONFLICT : RX_OK;
}

rx_err_t store_batch_begin(store_t *s)
{
	if (s->batch)
		return RX_INVALID;
	int rc = mdb_txn_begin(s->env, NULL, 0, &s->batch);
	if (rc == 0)
		st_guard_begin(s, s->batch);
	return from_mdb(rc);
}

rx_err_t store_batch_end(store_t *s)
{
	MDB_txn *txn = s->batch;
	if (txn == NULL)
		return RX_INVALID;
	s->batch = NULL;
	int rc = mdb_txn_commit(txn);
	st_guard_end(s, rc == 0);
	return from_mdb(rc);
}

/* Build what format 2 adds to a format-1 store: the counts by stored state
 * and the expiry index of the prescriptions still open (the others never
 * expire), then set format 2, at open.  In transactions of UPGRADE_CHUNK
 * records: one for ten million could outgrow LMDB's dirty-page limit.
 * Nothing else writes meanwhile (rxd opens the store under its lock, before
 * serving), and one interrupted leaves format 1, so the next open starts it
 * over (putting an index entry twice is harmless).  A record that does not
 * open is left out, as store_stats always did. */
#define UPGRADE_CHUNK 100000
static int upgrade_layout(store_t *s)
{
	counts_t c = {{0}};
	uint8_t last[RX_ID_LEN];
	size_t last_len = 0;
	int have_last = 0;
	for (;;) {
		MDB_txn *txn;
		MDB_cursor *cur;
		MDB_val k, v;
		size_t n = 0;
		int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
		if (rc != 0)
			return rc;
		if ((rc = mdb_cursor_open(txn, s->rx, &cur)) != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
		if (have_last) {
			k = val(last, last_len);
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
			if (rc == 0 && k.mv_size == last_len && memcmp(k.mv_data, last, last_len) == 0)
				rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		} else {
			rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		}
		for (; rc == 0 && n < UPGRADE_CHUNK; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
			char id[RX_ID_LEN + 1];
			if (!st_rx_key_id(s, &k, id))
				continue;
			memcpy(last, k.mv_data, k.mv_size);
			last_len = k.mv_size;
			have_last = 1;
			Rxstore__RxRecord *r = (Rxstore__RxRecord *)st_open_sealed(
				s, "rx", &k, &v, &rxstore__rx_record__descriptor);
			if (r == NULL)
				continue;
			if (r->state >= RX_STATE_ISSUED && r->state <= RX_STATE_LAST)
				c.by_state[r->state]++;
			if (r->state == RX_STATE_ISSUED || r->state == RX_STATE_CLAIMED)
				rc = st_expiry_put(txn, s, r->valid_until, 0, id);
			rxstore__rx_record__free_unpacked(r, NULL);
			if (rc != 0)
				break;
		}
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND) { /* the last chunk: counts and format with it */
			uint32_t f = FORMAT_VERSION;
			MDB_val fk = val("format", 6), fv = val(&f, sizeof f);
			if ((rc = st_counts_put(txn, s, &c)) != 0 ||
			    (rc = mdb_put(txn, s->meta, &fk, &fv, 0)) != 0) {
				mdb_txn_abort(txn);
				return rc;
			}
			return mdb_txn_commit(txn);
		}
		if (rc != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
		if ((rc = mdb_txn_commit(txn)) != 0)
			return rc;
	}
}
