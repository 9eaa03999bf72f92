/* operator: the operator's view of the prescriptions and hands on them
 * (store.h): read one (store_rx_get) or those in a state (store_rx_list),
 * give a claim back (store_rx_release), lift a code lock (store_rx_unlock),
 * the expiry sweep (store_expire), the counts (store_stats) and the
 * compacted copy (store_backup); a prescription for a caller who needs no
 * proof (store_status); loading and reading the drug master.  Each write
 * is one synced transaction with its audit entry. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rx_ops.h"

rx_err_t store_rx_get(store_t *s, const char *id, int64_t now, store_rx_t *out, store_buf_t *body,
		      store_buf_t *sig)
{
	MDB_txn *txn;
	Rxstore__RxRecord *r = NULL;
	rx_err_t err = read_begin(s, &txn);
	if (err != RX_OK)
		return err;
	if ((err = st_get_rx(txn, s, id, &r)) == RX_OK) {
		st_rx_from_record(id, r, now, out);
		memset(out->claim_token, 0, RX_TOKEN_LEN);
		if ((err = st_dup_buf(body, r->body)) != RX_OK || (err = st_dup_buf(sig, r->signature)) != RX_OK)
			store_buf_free(body);
		rxstore__rx_record__free_unpacked(r, NULL);
	}
	mdb_txn_abort(txn);
	return err;
}

rx_err_t store_rx_unlock(store_t *s, const char *id, int64_t now)
{
	MDB_txn *txn;
	Rxstore__RxRecord *r = NULL;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return from_mdb(rc);
	rx_err_t err = st_get_rx(txn, s, id, &r);
	if (err != RX_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	r->code_failures = 0;
	r->code_locked = 0;
	r->updated_at = now;
	rc = st_put_rx(txn, s, id, r, (int)r->state);
	if (rc == 0)
		rc = st_audit_operator(txn, s, now, "RX_UNLOCK", id, r->patient_id, NULL);
	rxstore__rx_record__free_unpacked(r, NULL);
	return commit_or_abort(txn, rc);
}

/* No walk over the prescriptions: entry counts come from mdb_stat and the
 * states from the counts each change keeps; only those past valid_until
 * that the sweep has not reached yet (at most about a minute's worth in
 * rxd) are read, to report them EXPIRED as every other read does. */
rx_err_t store_stats(store_t *s, int64_t now, store_stats_t *out)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_stat st;
	MDB_envinfo info;
	MDB_val k, v;
	counts_t c;
	rx_err_t err = read_begin(s, &txn);
	int rc;

	memset(out, 0, sizeof *out);
	if (err != RX_OK)
		return err;
	/* The rows kept in rx beside the records (format 3). */
	uint64_t dispensed = 0, attempts = 0, logged = 0, superseded = 0, parts = 0, inquiries = 0, beside;
	if ((rc = st_rows_count(txn, s, "rx_dispensed", &dispensed)) != 0 ||
	    (rc = st_rows_count(txn, s, "rx_attempts", &attempts)) != 0 ||
	    (rc = st_rows_count(txn, s, "rx_logged", &logged)) != 0 ||
	    (rc = st_rows_count(txn, s, "rx_superseded", &superseded)) != 0 ||
	    (rc = st_rows_count(txn, s, "rx_parts", &parts)) != 0 ||
	    (rc = st_rows_count(txn, s, "rx_inquiries", &inquiries)) != 0) {
		mdb_txn_abort(txn);
		return from_mdb(rc);
	}
	beside = dispensed + attempts + logged + superseded + parts + inquiries;
	if (mdb_stat(txn, s->dispenses, &st) == 0)
		out->dispense_records = st.ms_entries + dispensed + parts;
	if (mdb_stat(txn, s->patients, &st) == 0)
		out->patients = st.ms_entries;
	if (mdb_stat(txn, s->keys, &st) == 0)
		out->keys = st.ms_entries;
	if (mdb_stat(txn, s->institutions, &st) == 0)
		out->institutions = st.ms_entries;
	if (mdb_stat(txn, s->cards, &st) == 0)
		out->cards = st.ms_entries;
	if (mdb_stat(txn, s->audit.log, &st) == 0)
		out->audit_entries = st.ms_entries;
	if (mdb_stat(txn, s->notices, &st) == 0)
		out->notices = st.ms_entries;
	if (mdb_stat(txn, s->nominations, &st) == 0)
		out->nominations = st.ms_entries;
	if (mdb_stat(txn, s->rx, &st) == 0)
		out->prescriptions = st.ms_entries >= beside ? st.ms_entries - beside : 0;
	if ((rc = st_counts_get(txn, s, &c)) != 0 || (rc = mdb_cursor_open(txn, s->rx_expiry, &cur)) != 0) {
		mdb_txn_abort(txn);
		return from_mdb(rc);
	}
	memcpy(out->by_state, c.by_state, sizeof out->by_state);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char id[RX_ID_LEN + 1];
		Rxstore__RxRecord *r = NULL;
		if (!st_expiry_id(&k, id))
			continue;
		if (be64_get(k.mv_data) > now)
			break;
		if (st_get_rx(txn, s, id, &r) != RX_OK)
			continue;
		int stored = (int)r->state, state = effective_state(r, now);
		if (state != stored && out->by_state[stored]) {
			out->by_state[stored]--;
			out->by_state[state]++;
		}
		rxstore__rx_record__free_unpacked(r, NULL);
	}
	mdb_cursor_close(cur);
	if (mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &st) == 0) {
		out->map_size = info.me_mapsize;
		out->map_used = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
	}
	mdb_txn_abort(txn);
	if (store_space(s, &out->space) != RX_OK ||
	    store_prunable(s, now, &out->replies, &out->replies_due, &out->nonces, &out->nonces_due) !=
		    RX_OK)
		return RX_UNAVAILABLE;
	return RX_OK;
}

rx_err_t store_rx_list(store_t *s, int state, int64_t now, size_t max, store_rx_t **out, size_t *n)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	rx_err_t err = read_cursor(s, s->rx, &txn, &cur);
	if (err != RX_OK)
		return err;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && *n < max && err == RX_OK;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char id[RX_ID_LEN + 1];
		if (!st_rx_key_id(s, &k, id))
			continue;
		Rxstore__RxRecord *r = (Rxstore__RxRecord *)st_open_sealed(s, "rx", &k, &v,
									&rxstore__rx_record__descriptor);
		if (r == NULL)
			continue;
		if (effective_state(r, now) == state) {
			err = st_push_rx(out, n, &cap, id, r, now);
		}
		rxstore__rx_record__free_unpacked(r, NULL);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (err != RX_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}

rx_err_t store_rx_release(store_t *s, const char *id, int64_t now, const char *reason)
{
	MDB_txn *txn;
	Rxstore__RxRecord *r = NULL;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return from_mdb(rc);
	rx_err_t err = st_get_rx(txn, s, id, &r);
	if (err == RX_OK && r->state != RX_STATE_CLAIMED)
		err = r->state == RX_STATE_PARTIAL ? RX_PARTLY_DISPENSED : RX_INVALID;
	if (err != RX_OK) {
		if (r)
			rxstore__rx_record__free_unpacked(r, NULL);
		mdb_txn_abort(txn);
		return err;
	}
	Rxstore__RxRecord w = *r; /* re-pointed fields stay ours; r is freed as unpacked */
	w.state = r->cancel_pending ? RX_STATE_CANCELLED : RX_STATE_ISSUED;
	w.cancel_pending = 0;
	st_clear_claim(&w);
	w.updated_at = now;
	rc = st_put_rx(txn, s, id, &w, (int)r->state);
	if (rc == 0)
		rc = st_audit_operator(txn, s, now, "RX_RELEASE", id, r->patient_id, reason);
	rxstore__rx_record__free_unpacked(r, NULL);
	return commit_or_abort(txn, rc);
}

rx_err_t store_expire(store_t *s, int64_t now, uint64_t *count)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t passed = 0;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	*count = 0;
	if (rc != 0)
		return from_mdb(rc);
	if ((rc = mdb_cursor_open(txn, s->rx_expiry, &cur)) != 0) {
		mdb_txn_abort(txn);
		return from_mdb(rc);
	}
	/* The index in time order, from its start up to now: each entry passed
	 * is deleted, whether its prescription was still open (it expires
	 * now) or dispensed or cancelled meanwhile (nothing to do).  One
	 * transaction for the sweep: all of it or none of it. */
	while (passed < STORE_EXPIRE_MAX && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
		uint8_t key[8 + 8 + RX_ID_LEN];
		size_t klen = k.mv_size;
		char id[RX_ID_LEN + 1];
		Rxstore__RxRecord *r = NULL;
		if (!st_expiry_id(&k, id)) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(key, k.mv_data, klen);
		if (be64_get(key) > now)
			break;
		rx_err_t err = st_get_rx(txn, s, id, &r);
		if (err != RX_OK && err != RX_NOT_FOUND) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (r && (r->state == RX_STATE_ISSUED || r->state == RX_STATE_CLAIMED) &&
		    now >= r->valid_until) {
			Rxstore__RxRecord w = *r;
			w.state = RX_STATE_EXPIRED;
			w.cancel_pending = 0;
			st_clear_claim(&w);
			w.updated_at = now;
			rc = st_put_rx(txn, s, id, &w, (int)r->state);
			if (rc == 0)
				rc = st_audit_operator(txn, s, now, "EXPIRE", id, r->patient_id, NULL);
			/* unclaimed: the clinic may want to know the patient never came */
			if (rc == 0 && r->state == RX_STATE_ISSUED)
				rc = st_notify_expired(txn, s, id, &w, now);
			(*count)++;
		}
		if (r)
			rxstore__rx_record__free_unpacked(r, NULL);
		MDB_val dk = val(key, klen);
		if (rc == 0)
			rc = mdb_del(txn, s->rx_expiry, &dk, NULL);
		if (rc != 0)
			break;
		passed++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		*count = 0;
		return from_mdb(rc);
	}
	if (passed == 0) {
		mdb_txn_abort(txn);
		return RX_OK;
	}
	rc = mdb_txn_commit(txn);
	if (rc != 0)
		*count = 0;
	return from_mdb(rc);
}

rx_err_t store_backup(store_t *s, const char *dest, uint64_t *bytes)
{
	char path[4096];
	struct stat st;
	*bytes = 0;
	if (mkdir(dest, 0700) != 0 && errno != EEXIST)
		return RX_SYSTEM;
	snprintf(path, sizeof path, "%s/data.mdb", dest);
	if (stat(path, &st) == 0)
		return RX_CONFLICT;
	/* A read transaction's snapshot, written compacted: consistent while
	 * writers go on. */
	int rc = mdb_env_copy2(s->env, dest, MDB_CP_COMPACT);
	if (rc != 0)
		return RX_SYSTEM;
	if (stat(path, &st) == 0)
		*bytes = (uint64_t)st.st_size;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd) != 0)
			rc = -1;
		close(fd);
	}
	return rc == 0 ? RX_OK : RX_SYSTEM;
}

rx_err_t store_health(store_t *s, int64_t now)
{
	MDB_txn *txn;
	uint8_t at[8];
	MDB_val k = {sizeof "health_at" - 1, "health_at"}, v = {sizeof at, at};
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return from_mdb(rc);
	be64(at, now);
	if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return from_mdb(rc);
	}
	return from_mdb(mdb_txn_commit(txn));
}

/* See store.h.  The STATUS step's proof, in a read transaction of its own. */
rx_err_t store_status(store_t *s, const uint8_t actor[RX_KEY_LEN], const char *peer,
		      const char *id, int64_t now, store_rx_t *out_rx, store_buf_t *body, store_buf_t *sig,
		      const char **why)
{
	store_outcome_t o = {0};
	store_change_t c = {.op = RX_OP_STATUS, .actor = actor, .peer = peer, .id = id, .now = now};
	store_pending_t ch = {.s = s, .c = &c, .out = &o};
	rx_err_t err;

	if ((err = read_begin(s, &ch.txn)) != RX_OK) {
		*why = "storage unavailable";
		return err;
	}
	if ((err = st_check_actor(ch.txn, s, actor, peer, RX_CALLER_PRESCRIBER | RX_CALLER_PHARMACY,
				  &ch.actor, 0, &o)) != RX_OK ||
	    (err = st_load_rx(&ch)) != RX_OK || (err = st_may_access(&ch)) != RX_OK)
		goto done;
	st_rx_from_record(id, ch.r, now, out_rx);
	/* The claim token is the claimer's secret. */
	if (memcmp(out_rx->claimer, actor, RX_KEY_LEN) != 0)
		memset(out_rx->claim_token, 0, RX_TOKEN_LEN);
	if ((err = st_dup_buf(body, ch.r->body)) != RX_OK || (err = st_dup_buf(sig, ch.r->signature)) != RX_OK) {
		store_buf_free(body);
		o.why = "out of memory";
	}
done:
	if (ch.stored)
		rxstore__rx_record__free_unpacked(ch.stored, NULL);
	mdb_txn_abort(ch.txn);
	*why = o.why;
	return err;
}

/* ---- the drug master (drugs.c) ---- */


rx_err_t store_drugs_load(store_t *s, const uint8_t load_id[16], const rx_drug_row_t *rows, size_t n,
			  int commit, uint64_t expected, int64_t now, uint64_t *count, size_t *bad)
{
	MDB_txn *txn;
	char detail[64];
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	*count = 0;
	*bad = 0;
	if (rc != 0)
		return from_mdb(rc);
	rx_err_t err = drugs_load(txn, &s->drugs, load_id, rows, n, commit, expected, now, count, bad);
	if (err != RX_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	if (commit) {
		snprintf(detail, sizeof detail, "%llu drugs", (unsigned long long)*count);
		rc = st_audit_operator(txn, s, now, "DRUGS_LOAD", NULL, NULL, detail);
	}
	err = commit_or_abort(txn, rc);
	if (err != RX_OK)
		*count = 0;
	return err;
}

rx_err_t store_drugs_find(store_t *s, const char *prefix, size_t max, store_drug_t **out, size_t *n)
{
	MDB_txn *txn;
	rx_err_t err = read_begin(s, &txn);
	*out = NULL;
	*n = 0;
	if (err != RX_OK)
		return err;
	err = drugs_find(txn, &s->drugs, prefix, max, out, n);
	mdb_txn_abort(txn);
	return err;
}

rx_err_t store_drugs_info(store_t *s, uint64_t *count, int64_t *loaded_at)
{
	MDB_txn *txn;
	rx_err_t err = read_begin(s, &txn);
	*count = 0;
	*loaded_at = 0;
	if (err != RX_OK)
		return err;
	err = drugs_info(txn, &s->drugs, count, loaded_at);
	mdb_txn_abort(txn);
	return err;
}
