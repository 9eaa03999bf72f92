/* store/auditlog.c: the store's side of the audit log.
 *
 * The chain itself (entries, hashes, signed heads) is audit.c's; here are
 * the entries the store writes for operators, and the reads: the newest
 * entries, a patient's own, one prescription's history, a walk by time,
 * verifying and signing the chain. */
#include "store_int.h"

#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

/* See store_int.h. */
int st_audit_operator(MDB_txn *txn, store_t *s, int64_t now, const char *action, const char *id,
		      const char *patient, const char *detail)
{
	audit_event_t e = {.at = now, .action = action, .id = id, .patient = patient,
			   .outcome = RX_OK, .detail = detail};
	return audit_append(txn, &s->audit, &e, NULL);
}

rx_err_t store_audit_verify(store_t *s, const uint8_t broker_pk[RX_KEY_LEN], store_verdict_t *v)
{
	MDB_txn *txn;
	rx_err_t err = read_begin(s, &txn);
	if (err != RX_OK)
		return err;
	int rc = audit_verify(txn, &s->audit, broker_pk, v);
	mdb_txn_abort(txn);
	return from_mdb(rc);
}

/* Collect entries from a cursor walk into a growing array. */
static int push_entry(store_audit_t **out, size_t *n, size_t *cap, const MDB_val *v)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		store_audit_t *g = realloc(*out, ncap * sizeof **out);
		if (g == NULL)
			return -1;
		*out = g;
		*cap = ncap;
	}
	if (audit_decode(v, &(*out)[*n]))
		(*n)++;
	return 0;
}

rx_err_t store_audit_tail(store_t *s, size_t want, store_audit_t **out, size_t *count)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t cap = 0;
	int rc;
	*out = NULL;
	*count = 0;
	rx_err_t err = read_cursor(s, s->audit.log, &txn, &cur);
	if (err != RX_OK)
		return err;
	/* Walk back from the end, then put them oldest first. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_LAST); rc == 0 && *count < want;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_PREV))
		if (push_entry(out, count, &cap, &v) != 0) {
			err = RX_SYSTEM;
			break;
		}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	for (size_t i = 0; err == RX_OK && i < *count / 2; i++) {
		store_audit_t t = (*out)[i];
		(*out)[i] = (*out)[*count - 1 - i];
		(*out)[*count - 1 - i] = t;
	}
	if (err != RX_OK) {
		free(*out);
		*out = NULL;
		*count = 0;
	}
	return err;
}

/* The seqs of a patient's log, gathered from where they are filed. */
typedef struct {
	uint64_t *seq;
	size_t n, cap;
} seqs_t;

static int add_seq(uint64_t seq, void *arg)
{
	seqs_t *q = arg;
	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 64;
		uint64_t *g = realloc(q->seq, ncap * sizeof *g);
		if (g == NULL)
			return ENOMEM;
		q->seq = g;
		q->cap = ncap;
	}
	q->seq[q->n++] = seq;
	return 0;
}

static rx_err_t add_rx_seqs(MDB_txn *txn, store_t *s, const char *id, void *arg)
{
	return from_mdb(st_rx_log_each(txn, s, id, add_seq, arg));
}

static int cmp_seq(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* See store_int.h.  A patient's log is filed in two places: by patient in
 * audit_patient (what names no prescription of theirs, a SUBMIT, and all
 * entries before format 4), and beside each of their prescriptions in rx
 * (st_rx_log_put); merged here in seq order. */
rx_err_t st_patient_entries(MDB_txn *txn, store_t *s, const char *patient, size_t max,
			    store_audit_t **out, size_t *count)
{
	MDB_cursor *cur;
	size_t cap = 0, plen = strlen(patient);
	seqs_t q = {NULL, 0, 0};
	rx_err_t err = RX_OK;
	int rc;
	*out = NULL;
	*count = 0;
	if (plen == 0 || plen > RX_PATIENT_ID_LEN)
		return RX_INVALID;
	if ((rc = mdb_cursor_open(txn, s->audit.by_patient, &cur)) != 0)
		return from_mdb(rc);
	MDB_val k = val(patient, plen), v;
	/* The patient's prescriptions are filed among these (longer keys:
	 * store_int.h): passed over here. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size >= plen + 8 && memcmp(k.mv_data, patient, plen) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (k.mv_size == plen + 8 && add_seq((uint64_t)be64_get((const uint8_t *)k.mv_data + plen), &q) != 0) {
			err = RX_SYSTEM;
			break;
		}
	mdb_cursor_close(cur);
	if (err == RX_OK)
		err = st_each_patient_id(txn, s, patient, add_rx_seqs, &q);
	if (err == RX_OK) {
		if (q.n) /* q.seq is NULL when there is none: qsort must not see it */
			qsort(q.seq, q.n, sizeof *q.seq, cmp_seq);
		/* the newest max, oldest first */
		for (size_t i = q.n > max ? q.n - max : 0; i < q.n && err == RX_OK; i++) {
			uint8_t key[8];
			be64(key, (int64_t)q.seq[i]);
			MDB_val sk = val(key, 8), ev;
			if (i > 0 && q.seq[i] == q.seq[i - 1])
				continue;
			if (mdb_get(txn, s->audit.log, &sk, &ev) != 0)
				continue;
			if (push_entry(out, count, &cap, &ev) != 0)
				err = RX_SYSTEM;
		}
	}
	free(q.seq);
	if (err != RX_OK) {
		free(*out);
		*out = NULL;
		*count = 0;
	}
	return err;
}

rx_err_t store_audit_patient(store_t *s, const char *patient, size_t max, store_audit_t **out,
			     size_t *count)
{
	MDB_txn *txn;
	rx_err_t err = read_begin(s, &txn);
	*out = NULL;
	*count = 0;
	if (err != RX_OK)
		return err;
	err = st_patient_entries(txn, s, patient, max, out, count);
	mdb_txn_abort(txn);
	return err;
}

typedef struct {
	const char *id;
	store_audit_t **out;
	size_t *count, cap;
	int failed;
} rx_history_t;

static int history_of(void *arg, const store_audit_t *e)
{
	rx_history_t *h = arg;
	if (strcmp(e->id, h->id) != 0)
		return 0;
	if (*h->count == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 16;
		store_audit_t *g = realloc(*h->out, ncap * sizeof **h->out);
		if (g == NULL) {
			h->failed = 1;
			return 1;
		}
		*h->out = g;
		h->cap = ncap;
	}
	(*h->out)[(*h->count)++] = *e;
	return 0;
}

rx_err_t store_audit_rx(store_t *s, const char *id, store_audit_t **out, size_t *count)
{
	rx_history_t h = {.id = id, .out = out, .count = count};
	*out = NULL;
	*count = 0;
	/* A scan of the log: for the operator looking at one prescription, not a
	 * hot path. */
	rx_err_t err = store_audit_each(s, INT64_MIN, INT64_MAX, history_of, &h);
	if (err == RX_OK && h.failed)
		err = RX_SYSTEM;
	if (err != RX_OK) {
		free(*out);
		*out = NULL;
		*count = 0;
	}
	return err;
}

rx_err_t store_audit_each(store_t *s, int64_t from, int64_t to, store_audit_fn fn, void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	store_audit_t e;
	int rc;
	rx_err_t err = read_cursor(s, s->audit.log, &txn, &cur);
	if (err != RX_OK)
		return err;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (!audit_decode(&v, &e) || e.at < from || e.at >= to)
			continue;
		if (fn(arg, &e) != 0)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return RX_OK;
}

rx_err_t store_audit_sign(store_t *s, const uint8_t pk[RX_KEY_LEN], const uint8_t sk[RX_SECRET_LEN],
			  int64_t now, int *signed_now)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	*signed_now = 0;
	if (rc != 0)
		return from_mdb(rc);
	rc = audit_sign(txn, &s->audit, pk, sk, now, signed_now);
	if (rc != 0 || !*signed_now) {
		mdb_txn_abort(txn);
		return from_mdb(rc);
	}
	return from_mdb(mdb_txn_commit(txn));
}

rx_err_t store_audit_operator(store_t *s, int64_t now, const char *action, const char *id,
			      const char *patient, const char *detail)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return from_mdb(rc);
	return commit_or_abort(txn, st_audit_operator(txn, s, now, action, id, patient, detail));
}
