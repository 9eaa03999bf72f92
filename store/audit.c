/* audit: the hash-chained audit log (see audit.h). */
#include "audit.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "records.pb-c.h"
#include "rx_crypto.h"
#include "store.h"

static void be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)(v & 0xff);
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int audit_head(MDB_txn *txn, const audit_dbs_t *d, uint64_t *seq, uint8_t hash[RX_HASH_LEN])
{
	MDB_val k = {10, (void *)"audit_head"}, v;
	int rc = mdb_get(txn, d->meta, &k, &v);
	*seq = 0;
	memset(hash, 0, RX_HASH_LEN);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size != 8 + RX_HASH_LEN)
		return MDB_CORRUPTED;
	*seq = get_be64(v.mv_data);
	memcpy(hash, (uint8_t *)v.mv_data + 8, RX_HASH_LEN);
	return 0;
}

int audit_append(MDB_txn *txn, const audit_dbs_t *d, const audit_event_t *e, uint64_t *seq_out)
{
	uint64_t seq;
	uint8_t prev[RX_HASH_LEN], key[8], head[8 + RX_HASH_LEN];
	int rc = audit_head(txn, d, &seq, prev);
	if (rc != 0)
		return rc;
	seq++;
	Rxstore__AuditEntry a = RXSTORE__AUDIT_ENTRY__INIT;
	a.version = 1;
	a.seq = seq;
	a.at = e->at;
	if (e->actor) {
		a.actor_key.data = (uint8_t *)e->actor;
		a.actor_key.len = RX_KEY_LEN;
	}
	a.institution_code = (char *)(e->institution ? e->institution : "");
	a.action = (char *)(e->action ? e->action : "");
	a.prescription_id = (char *)(e->id ? e->id : "");
	a.patient_id = (char *)(e->patient ? e->patient : "");
	a.outcome = (uint32_t)e->outcome;
	a.detail = (char *)(e->detail ? e->detail : "");
	a.prev_hash.data = prev;
	a.prev_hash.len = RX_HASH_LEN;

	be64(key, seq);
	MDB_val k = {sizeof key, key}, v = {rxstore__audit_entry__get_packed_size(&a), NULL};
	if ((rc = mdb_put(txn, d->log, &k, &v, MDB_NOOVERWRITE | MDB_RESERVE)) != 0)
		return rc;
	rxstore__audit_entry__pack(&a, v.mv_data);
	be64(head, seq);
	rx_hash(v.mv_data, v.mv_size, head + 8);
	MDB_val hk = {10, (void *)"audit_head"}, hv = {sizeof head, head};
	if ((rc = mdb_put(txn, d->meta, &hk, &hv, 0)) != 0)
		return rc;
	if (seq_out)
		*seq_out = seq;
	/* The patient's own log is an index over the same entries. */
	if (a.patient_id[0] && !e->indexed_elsewhere) {
		uint8_t pk[RX_PATIENT_ID_LEN + 8];
		size_t n = strlen(a.patient_id);
		if (n > RX_PATIENT_ID_LEN)
			n = RX_PATIENT_ID_LEN;
		memcpy(pk, a.patient_id, n);
		be64(pk + n, seq);
		MDB_val pkv = {n + 8, pk}, none = {0, (void *)""};
		if ((rc = mdb_put(txn, d->by_patient, &pkv, &none, 0)) != 0)
			return rc;
	}
	return 0;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

int audit_decode(const MDB_val *v, struct store_audit *out)
{
	Rxstore__AuditEntry *a = rxstore__audit_entry__unpack(NULL, v->mv_size, v->mv_data);
	if (a == NULL)
		return 0;
	memset(out, 0, sizeof *out);
	out->seq = a->seq;
	out->at = a->at;
	if (a->actor_key.len == RX_KEY_LEN) {
		memcpy(out->actor, a->actor_key.data, RX_KEY_LEN);
		out->has_actor = 1;
	}
	copy_str(out->institution, sizeof out->institution, a->institution_code);
	copy_str(out->action, sizeof out->action, a->action);
	copy_str(out->id, sizeof out->id, a->prescription_id);
	copy_str(out->patient, sizeof out->patient, a->patient_id);
	out->outcome = (int)a->outcome;
	copy_str(out->detail, sizeof out->detail, a->detail);
	rxstore__audit_entry__free_unpacked(a, NULL);
	return 1;
}

/* The bytes the broker signs for a head. */
static void head_message(uint64_t seq, const uint8_t hash[RX_HASH_LEN], int64_t at,
			 uint8_t out[8 + RX_HASH_LEN + 8])
{
	be64(out, seq);
	memcpy(out + 8, hash, RX_HASH_LEN);
	be64(out + 8 + RX_HASH_LEN, (uint64_t)at);
}

static Rxstore__AuditHead *signed_head(MDB_txn *txn, const audit_dbs_t *d)
{
	MDB_val k = {12, (void *)"audit_signed"}, v;
	if (mdb_get(txn, d->meta, &k, &v) != 0)
		return NULL;
	return rxstore__audit_head__unpack(NULL, v.mv_size, v.mv_data);
}

int audit_signed_by(MDB_txn *txn, const audit_dbs_t *d, const uint8_t pk[RX_KEY_LEN])
{
	uint8_t msg[8 + RX_HASH_LEN + 8];
	Rxstore__AuditHead *sh = signed_head(txn, d);
	int ok = sh == NULL;
	if (sh && sh->hash.len == RX_HASH_LEN && sh->signature.len == RX_SIG_LEN) {
		head_message(sh->seq, sh->hash.data, sh->at, msg);
		ok = rx_verify(RX_SIGN_AUDIT, pk, msg, sizeof msg, sh->signature.data) == RX_OK;
	}
	if (sh)
		rxstore__audit_head__free_unpacked(sh, NULL);
	return ok;
}

#define BAD(seq_, text)                 \
	do {                            \
		v->ok = 0;              \
		v->first_bad = (seq_);  \
		v->why = (text);        \
		goto done;              \
	} while (0)

int audit_verify(MDB_txn *txn, const audit_dbs_t *d, const uint8_t broker_pk[RX_KEY_LEN],
		 struct store_verdict *v)
{
	MDB_cursor *cur;
	MDB_val k, val;
	uint8_t prev[RX_HASH_LEN] = {0}, head_hash[RX_HASH_LEN], signed_hash[RX_HASH_LEN];
	uint64_t expect = 1, head_seq;
	int rc, have_signed_hash = 0;
	Rxstore__AuditHead *sh = NULL;

	memset(v, 0, sizeof *v);
	v->ok = 1;
	if ((rc = audit_head(txn, d, &head_seq, head_hash)) != 0)
		return rc;
	sh = signed_head(txn, d);
	if (sh) {
		v->signed_seq = sh->seq;
		v->signed_at = sh->at;
	}
	if ((rc = mdb_cursor_open(txn, d->log, &cur)) != 0) {
		if (sh)
			rxstore__audit_head__free_unpacked(sh, NULL);
		return rc;
	}
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT), expect++) {
		if (k.mv_size != 8)
			BAD(expect, "an audit key is malformed");
		uint64_t seq = get_be64(k.mv_data);
		if (seq != expect)
			BAD(expect, "an entry is missing: the sequence has a gap");
		Rxstore__AuditEntry *a = rxstore__audit_entry__unpack(NULL, val.mv_size, val.mv_data);
		int good = a && a->seq == seq && a->prev_hash.len == RX_HASH_LEN &&
			   memcmp(a->prev_hash.data, prev, RX_HASH_LEN) == 0;
		if (a == NULL || a->seq != seq) {
			if (a)
				rxstore__audit_entry__free_unpacked(a, NULL);
			BAD(seq, "the entry was altered: it does not decode or names another seq");
		}
		if (!good) {
			rxstore__audit_entry__free_unpacked(a, NULL);
			/* Entry seq holds the hash of what entry seq-1 was: that one changed
			 * (or this link was rewritten, which is a change to this one). */
			BAD(seq - 1, "the entry was altered: the next entry's link no longer matches it");
		}
		rxstore__audit_entry__free_unpacked(a, NULL);
		rx_hash(val.mv_data, val.mv_size, prev);
		if (sh && seq == sh->seq) {
			memcpy(signed_hash, prev, RX_HASH_LEN);
			have_signed_hash = 1;
		}
		v->checked++;
	}
	if (rc != MDB_NOTFOUND)
		BAD(expect, "the audit log cannot be read");
	if (expect - 1 != head_seq)
		BAD(expect, "entries after the last one were deleted (the head names more)");
	if (memcmp(prev, head_hash, RX_HASH_LEN) != 0)
		BAD(head_seq, "the last entry was altered (it does not match the head)");
	if (sh) {
		uint8_t msg[8 + RX_HASH_LEN + 8];
		if (sh->hash.len != RX_HASH_LEN || sh->signature.len != RX_SIG_LEN)
			BAD(sh->seq, "the signed head is malformed");
		head_message(sh->seq, sh->hash.data, sh->at, msg);
		if (rx_verify(RX_SIGN_AUDIT, broker_pk, msg, sizeof msg, sh->signature.data) != RX_OK)
			BAD(sh->seq, "the signed head's signature does not verify with the broker key");
		if (!have_signed_hash || memcmp(signed_hash, sh->hash.data, RX_HASH_LEN) != 0)
			BAD(sh->seq, "the chain no longer matches the head the broker signed");
	}
done:
	mdb_cursor_close(cur);
	if (sh)
		rxstore__audit_head__free_unpacked(sh, NULL);
	return 0;
}

int audit_sign(MDB_txn *txn, const audit_dbs_t *d, const uint8_t pk[RX_KEY_LEN],
	       const uint8_t sk[RX_SECRET_LEN], int64_t now, int *signed_now)
{
	uint64_t seq;
	uint8_t hash[RX_HASH_LEN], msg[8 + RX_HASH_LEN + 8], sig[RX_SIG_LEN];
	int rc = audit_head(txn, d, &seq, hash);
	*signed_now = 0;
	if (rc != 0 || seq == 0)
		return rc;
	Rxstore__AuditHead *old = signed_head(txn, d);
	int same = old && old->seq == seq;
	if (old)
		rxstore__audit_head__free_unpacked(old, NULL);
	if (same)
		return 0;
	head_message(seq, hash, now, msg);
	if (rx_sign(RX_SIGN_AUDIT, sk, msg, sizeof msg, sig) != RX_OK)
		return ENOMEM;
	Rxstore__AuditHead h = RXSTORE__AUDIT_HEAD__INIT;
	h.version = 1;
	h.seq = seq;
	h.hash.data = hash;
	h.hash.len = RX_HASH_LEN;
	h.at = now;
	h.signature.data = sig;
	h.signature.len = RX_SIG_LEN;
	h.broker_key.data = (uint8_t *)pk;
	h.broker_key.len = RX_KEY_LEN;
	MDB_val k = {12, (void *)"audit_signed"}, v = {rxstore__audit_head__get_packed_size(&h), NULL};
	if ((rc = mdb_put(txn, d->meta, &k, &v, MDB_RESERVE)) != 0)
		return rc;
	rxstore__audit_head__pack(&h, v.mv_data);
	*signed_now = 1;
	return 0;
}
