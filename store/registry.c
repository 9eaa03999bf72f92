/* registry: the store's four registries, read and written by the operator
 * (store.h): signing keys, institutions (and their CurveZMQ keys), patient
 * cards, and patient enrolment.  Each write is one synced transaction with
 * its audit entry.  The request paths read keys and institutions through
 * st_get_key and st_get_institution (store_int.h). */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#include "records.pb-c.h"

rx_err_t st_get_key(MDB_txn *txn, store_t *s, const uint8_t key[RX_KEY_LEN], store_key_t *out)
{
	MDB_val k = val(key, RX_KEY_LEN), v;
	int rc = mdb_get(txn, s->keys, &k, &v);
	if (rc != 0)
		return from_mdb(rc);
	Rxstore__KeyRecord *r = rxstore__key_record__unpack(NULL, v.mv_size, v.mv_data);
	if (r == NULL || r->version != 1) {
		if (r)
			rxstore__key_record__free_unpacked(r, NULL);
		return RX_UNAVAILABLE;
	}
	memset(out, 0, sizeof *out);
	memcpy(out->key, key, RX_KEY_LEN);
	out->role = (int)r->role;
	copy_str(out->institution, sizeof out->institution, r->institution_code);
	copy_str(out->name, sizeof out->name, r->name);
	out->revoked = r->revoked;
	out->added_at = r->added_at;
	out->revoked_at = r->revoked_at;
	rxstore__key_record__free_unpacked(r, NULL);
	return RX_OK;
}

rx_err_t st_get_institution(MDB_txn *txn, store_t *s, const char *code, store_institution_t *out)
{
	size_t n = strlen(code);
	if (n == 0 || n > RX_INSTITUTION_MAX)
		return RX_NOT_FOUND;
	MDB_val k = val(code, n), v;
	int rc = mdb_get(txn, s->institutions, &k, &v);
	if (rc != 0)
		return from_mdb(rc);
	Rxstore__InstitutionRecord *r = rxstore__institution_record__unpack(NULL, v.mv_size, v.mv_data);
	if (r == NULL || r->version != 1 || r->curve_key.len != 32) {
		if (r)
			rxstore__institution_record__free_unpacked(r, NULL);
		return RX_UNAVAILABLE;
	}
	memset(out, 0, sizeof *out);
	copy_str(out->code, sizeof out->code, code);
	out->kind = (int)r->kind;
	copy_str(out->name, sizeof out->name, r->name);
	memcpy(out->curve_key, r->curve_key.data, 32);
	out->revoked = r->revoked;
	out->added_at = r->added_at;
	out->revoked_at = r->revoked_at;
	rxstore__institution_record__free_unpacked(r, NULL);
	return RX_OK;
}

static int put_key(MDB_txn *txn, store_t *s, const store_key_t *k, unsigned flags)
{
	Rxstore__KeyRecord r = RXSTORE__KEY_RECORD__INIT;
	r.version = 1;
	r.role = (uint32_t)k->role;
	r.institution_code = (char *)k->institution;
	r.name = (char *)k->name;
	r.revoked = k->revoked;
	r.added_at = k->added_at;
	r.revoked_at = k->revoked_at;
	MDB_val key = val(k->key, RX_KEY_LEN);
	return put_msg(txn, s->keys, &key, &r.base, flags);
}

rx_err_t store_key_add(store_t *s, const store_key_t *k)
{
	MDB_txn *txn;
	store_institution_t inst;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return from_mdb(rc);
	rx_err_t err = st_get_institution(txn, s, k->institution, &inst);
	if (err == RX_OK && inst.kind != (k->role == RX_ROLE_PRESCRIBER ? STORE_CLINIC : STORE_PHARMACY))
		err = RX_INVALID;
	if (err != RX_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	rc = put_key(txn, s, k, MDB_NOOVERWRITE);
	if (rc == 0)
		rc = st_audit_operator(txn, s, k->added_at, "KEY_ADD", NULL, NULL, k->institution);
	return commit_or_abort(txn, rc);
}

static int put_institution(MDB_txn *txn, store_t *s, const store_institution_t *in, unsigned flags)
{
	Rxstore__InstitutionRecord r = RXSTORE__INSTITUTION_RECORD__INIT;
	r.version = 1;
	r.kind = (uint32_t)in->kind;
	r.name = (char *)in->name;
	r.curve_key.data = (uint8_t *)in->curve_key;
	r.curve_key.len = 32;
	r.revoked = in->revoked;
	r.added_at = in->added_at;
	r.revoked_at = in->revoked_at;
	MDB_val k = val(in->code, strlen(in->code));
	return put_msg(txn, s->institutions, &k, &r.base, flags);
}

rx_err_t store_institution_add(store_t *s, const store_institution_t *in)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return from_mdb(rc);
	MDB_val ck = val(in->curve_key, 32), code = val(in->code, strlen(in->code));
	/* One curve key, one institution: the key is what names the peer. */
	if ((rc = mdb_put(txn, s->curve_keys, &ck, &code, MDB_NOOVERWRITE)) == 0)
		rc = put_institution(txn, s, in, MDB_NOOVERWRITE);
	if (rc == 0)
		rc = st_audit_operator(txn, s, in->added_at, "INSTITUTION_ADD", NULL, NULL, in->code);
	return commit_or_abort(txn, rc);
}

rx_err_t store_institution_revoke(store_t *s, const char *code, int64_t now)
{
	MDB_txn *txn;
	store_institution_t in;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return from_mdb(rc);
	rx_err_t err = st_get_institution(txn, s, code, &in);
	if (err != RX_OK || in.revoked) {
		mdb_txn_abort(txn);
		return err;
	}
	in.revoked = 1;
	in.revoked_at = now;
	rc = put_institution(txn, s, &in, 0);
	if (rc == 0)
		rc = st_audit_operator(txn, s, now, "INSTITUTION_REVOKE", NULL, NULL, code);
	return commit_or_abort(txn, rc);
}

rx_err_t store_institution_by_curve(store_t *s, const uint8_t curve_key[32], store_institution_t *out)
{
	MDB_txn *txn;
	rx_err_t err = read_begin(s, &txn);
	if (err != RX_OK)
		return err;
	MDB_val k = val(curve_key, 32), v;
	int rc = mdb_get(txn, s->curve_keys, &k, &v);
	if (rc == 0) {
		char code[RX_INSTITUTION_MAX + 1];
		if (v.mv_size > RX_INSTITUTION_MAX) {
			err = RX_UNAVAILABLE;
		} else {
			memcpy(code, v.mv_data, v.mv_size);
			code[v.mv_size] = '\0';
			err = st_get_institution(txn, s, code, out);
		}
	} else {
		err = from_mdb(rc);
	}
	mdb_txn_abort(txn);
	return err;
}

/* Every record of one registry (keys, institutions, cards) into a heap
 * array of elem-sized entries, decoded by get; the caller frees *out. */
typedef rx_err_t (*get_fn)(MDB_txn *txn, store_t *s, const MDB_val *k, void *elem);

static rx_err_t list_all(store_t *s, MDB_dbi dbi, size_t elem, get_fn get, void **out, size_t *n)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_stat st;
	MDB_val k, v;
	rx_err_t err = read_begin(s, &txn);
	int rc;

	*out = NULL;
	*n = 0;
	if (err != RX_OK)
		return err;
	if ((rc = mdb_stat(txn, dbi, &st)) != 0 || (rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return from_mdb(rc);
	}
	*out = calloc(st.ms_entries ? st.ms_entries : 1, elem);
	if (*out == NULL)
		err = RX_SYSTEM;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); err == RX_OK && rc == 0 && *n < st.ms_entries;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		rx_err_t e = get(txn, s, &k, (uint8_t *)*out + *n * elem);
		if (e == RX_OK)
			(*n)++;
		else if (e != RX_NOT_FOUND) /* NOT_FOUND: a key of another shape, skipped */
			err = e;
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

static rx_err_t key_at(MDB_txn *txn, store_t *s, const MDB_val *k, void *elem)
{
	return k->mv_size == RX_KEY_LEN ? st_get_key(txn, s, k->mv_data, elem) : RX_NOT_FOUND;
}

static rx_err_t institution_at(MDB_txn *txn, store_t *s, const MDB_val *k, void *elem)
{
	char code[RX_INSTITUTION_MAX + 1];
	if (k->mv_size == 0 || k->mv_size > RX_INSTITUTION_MAX)
		return RX_NOT_FOUND;
	memcpy(code, k->mv_data, k->mv_size);
	code[k->mv_size] = '\0';
	return st_get_institution(txn, s, code, elem);
}

rx_err_t store_institution_list(store_t *s, store_institution_t **out, size_t *n)
{
	return list_all(s, s->institutions, sizeof **out, institution_at, (void **)out, n);
}

rx_err_t store_key_get(store_t *s, const uint8_t key[RX_KEY_LEN], store_key_t *out)
{
	MDB_txn *txn;
	rx_err_t err = read_begin(s, &txn);
	if (err != RX_OK)
		return err;
	err = st_get_key(txn, s, key, out);
	mdb_txn_abort(txn);
	return err;
}

rx_err_t store_key_revoke(store_t *s, const uint8_t key[RX_KEY_LEN], int64_t now)
{
	MDB_txn *txn;
	store_key_t k;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return from_mdb(rc);
	rx_err_t err = st_get_key(txn, s, key, &k);
	if (err != RX_OK || k.revoked) {
		mdb_txn_abort(txn);
		return err;
	}
	k.revoked = 1;
	k.revoked_at = now;
	rc = put_key(txn, s, &k, 0);
	if (rc == 0)
		rc = st_audit_operator(txn, s, now, "KEY_REVOKE", NULL, NULL, k.institution);
	return commit_or_abort(txn, rc);
}

rx_err_t store_key_list(store_t *s, store_key_t **out, size_t *n)
{
	return list_all(s, s->keys, sizeof **out, key_at, (void **)out, n);
}

static int put_card(MDB_txn *txn, store_t *s, const uint8_t card[RX_KEY_LEN], const store_card_t *in,
		    unsigned flags)
{
	Rxstore__CardRecord r = RXSTORE__CARD_RECORD__INIT;
	r.version = 1;
	r.patient_id = (char *)in->patient_id;
	r.revoked = in->revoked;
	r.enrolled_at = in->enrolled_at;
	r.revoked_at = in->revoked_at;
	MDB_val k = val(card, RX_KEY_LEN);
	return st_put_sealed(s, txn, s->cards, "cards", &k, &r.base, flags);
}

static rx_err_t get_card(MDB_txn *txn, store_t *s, const uint8_t card[RX_KEY_LEN], store_card_t *out)
{
	MDB_val k = val(card, RX_KEY_LEN), v;
	int rc = mdb_get(txn, s->cards, &k, &v);
	if (rc != 0)
		return from_mdb(rc);
	Rxstore__CardRecord *r =
		(Rxstore__CardRecord *)st_open_sealed(s, "cards", &k, &v, &rxstore__card_record__descriptor);
	if (r == NULL)
		return RX_UNAVAILABLE;
	memset(out, 0, sizeof *out);
	memcpy(out->card, card, RX_KEY_LEN);
	copy_str(out->patient_id, sizeof out->patient_id, r->patient_id);
	out->revoked = r->revoked;
	out->enrolled_at = r->enrolled_at;
	out->revoked_at = r->revoked_at;
	rxstore__card_record__free_unpacked(r, NULL);
	return RX_OK;
}

rx_err_t store_card_enroll(store_t *s, const uint8_t card[RX_KEY_LEN], const char *patient_id,
			   int64_t now)
{
	MDB_txn *txn;
	MDB_val pk = val(patient_id, strlen(patient_id)), v;
	store_card_t in = {0};
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return from_mdb(rc);
	if ((rc = mdb_get(txn, s->patients, &pk, &v)) != 0) {
		mdb_txn_abort(txn);
		return from_mdb(rc);
	}
	copy_str(in.patient_id, sizeof in.patient_id, patient_id);
	in.enrolled_at = now;
	rc = put_card(txn, s, card, &in, MDB_NOOVERWRITE);
	if (rc == 0)
		rc = st_audit_operator(txn, s, now, "CARD_ENROLL", NULL, patient_id, NULL);
	return commit_or_abort(txn, rc);
}

rx_err_t store_card_revoke(store_t *s, const uint8_t card[RX_KEY_LEN], int64_t now)
{
	MDB_txn *txn;
	store_card_t in;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return from_mdb(rc);
	rx_err_t err = get_card(txn, s, card, &in);
	if (err != RX_OK || in.revoked) {
		mdb_txn_abort(txn);
		return err;
	}
	in.revoked = 1;
	in.revoked_at = now;
	rc = put_card(txn, s, card, &in, 0);
	if (rc == 0)
		rc = st_audit_operator(txn, s, now, "CARD_REVOKE", NULL, in.patient_id, NULL);
	return commit_or_abort(txn, rc);
}

static rx_err_t card_at(MDB_txn *txn, store_t *s, const MDB_val *k, void *elem)
{
	return k->mv_size == RX_KEY_LEN ? get_card(txn, s, k->mv_data, elem) : RX_NOT_FOUND;
}

rx_err_t store_card_list(store_t *s, store_card_t **out, size_t *n)
{
	return list_all(s, s->cards, sizeof **out, card_at, (void **)out, n);
}

rx_err_t store_patient_enroll(store_t *s, const char *patient_id, int64_t now, int *created)
{
	MDB_txn *txn;
	Rxstore__PatientRecord r = RXSTORE__PATIENT_RECORD__INIT;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return from_mdb(rc);
	r.version = 1;
	r.enrolled_at = now;
	MDB_val k = val(patient_id, strlen(patient_id));
	rc = put_msg(txn, s->patients, &k, &r.base, MDB_NOOVERWRITE);
	*created = rc == 0;
	if (rc == MDB_KEYEXIST) {
		mdb_txn_abort(txn);
		return RX_OK;
	}
	if (rc == 0)
		rc = st_audit_operator(txn, s, now, "PATIENT_ENROLL", NULL, patient_id, NULL);
	return commit_or_abort(txn, rc);
}
