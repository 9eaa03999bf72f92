/* tamper: faults for the checker to find (see tamper.h). */
#include "tamper.h"

#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "records.pb-c.h"
#include "rx.pb-c.h"
#include "rx_crypto.h"
#include "seal.h"

/* How many requests of js name id (other than the one at skip). */
static int naming(const journal_set_t *js, const char *id, size_t skip)
{
	int n = 0;
	for (size_t i = 0; i < js->n; i++)
		n += i != skip && strcmp(js->req[i].rxid, id) == 0;
	return n;
}

static int taken(const tamper_t *t, const char *id)
{
	return strcmp(t->submit_lost, id) == 0 || strcmp(t->dispense_lost, id) == 0 ||
	       strcmp(t->dispense_extra, id) == 0 || strcmp(t->claim_refused, id) == 0 ||
	       strcmp(t->superseded, id) == 0 || strcmp(t->part_twice, id) == 0 ||
	       strcmp(t->unanswered, id) == 0 || strcmp(t->not_agreed, id) == 0;
}

/* How many requests of js name id with op. */
static int naming_op(const journal_set_t *js, const char *id, int op)
{
	int n = 0;
	for (size_t i = 0; i < js->n; i++)
		n += js->req[i].op == op && strcmp(js->req[i].rxid, id) == 0;
	return n;
}

/* How many requests of client in js name id with op. */
static int client_naming_op(const journal_set_t *js, int client, const char *id, int op)
{
	int n = 0;
	for (size_t i = 0; i < js->n; i++)
		n += js->req[i].client == client && js->req[i].op == op && strcmp(js->req[i].rxid, id) == 0;
	return n;
}

static int acked(const jreq_t *r, int op)
{
	return r->op == op && r->outcome == JR_REPLIED && r->status == RX_OK && strlen(r->rxid) == RX_ID_LEN;
}

/* The use an acknowledged DISPENSE's or AMEND's receipt names; 0 if none. */
static uint32_t use_of(const jreq_t *r)
{
	uint32_t use = 0;
	Rx__Reply *rep = rx__reply__unpack(NULL, r->reply_len, r->reply);
	Rx__Receipt *rc = rep ? rx__receipt__unpack(NULL, rep->receipt.len, rep->receipt.data) : NULL;
	if (rc)
		use = rc->use;
	if (rc)
		rx__receipt__free_unpacked(rc, NULL);
	if (rep)
		rx__reply__free_unpacked(rep, NULL);
	return use;
}

/* The part (0: the whole use) of the dispense record r's journaled frame
 * carries, and whether a line of it is PARTIAL; -1 if it has none. */
static int part_of(const jreq_t *r, int *owing)
{
	int part = -1;
	*owing = 0;
	Rx__Request *req = r->frame ? rx__request__unpack(NULL, r->frame_len, r->frame) : NULL;
	Rx__DispenseRecord *rec = req && req->dispense.len
					  ? rx__dispense_record__unpack(NULL, req->dispense.len, req->dispense.data)
					  : NULL;
	if (rec) {
		part = (int)rec->part;
		for (size_t k = 0; k < rec->n_lines; k++)
			*owing |= rec->lines[k]->outcome == RX__OUTCOME__PARTIAL;
		rx__dispense_record__free_unpacked(rec, NULL);
	}
	if (req)
		rx__request__free_unpacked(req, NULL);
	return part;
}

/* The state, use and body hash an OK receipt of r gives; 0 if it has none. */
static int receipt_of(const jreq_t *r, int *state, uint32_t *use, uint8_t hash[RX_HASH_LEN])
{
	int ok = 0;
	Rx__Reply *rep = rx__reply__unpack(NULL, r->reply_len, r->reply);
	Rx__Receipt *rc = rep ? rx__receipt__unpack(NULL, rep->receipt.len, rep->receipt.data) : NULL;
	if (rc && rc->body_hash.len == RX_HASH_LEN) {
		*state = (int)rc->state;
		*use = rc->use;
		memcpy(hash, rc->body_hash.data, RX_HASH_LEN);
		ok = 1;
	}
	if (rc)
		rx__receipt__free_unpacked(rc, NULL);
	if (rep)
		rx__reply__free_unpacked(rep, NULL);
	return ok;
}

/* 1 if use of prescription id has a current record in the store in dir
 * (rxd stopped) and, if kept, a kept one too (its number 1). */
static int has_records(const char *dir, const char *id, uint32_t use, int kept)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi rx_db;
	uint8_t key[10];
	int has = 0;
	if (crash_rx_key(dir, id, key) != 0 || mdb_env_create(&env) != 0)
		return 0;
	mdb_env_set_maxdbs(env, 32);
	if (mdb_env_open(env, dir, MDB_RDONLY, 0600) == 0 && mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0 &&
	    mdb_dbi_open(txn, "rx", 0, &rx_db) == 0) {
		MDB_val k = {9, key}, v;
		key[8] = (uint8_t)use;
		key[9] = 1;
		has = mdb_get(txn, rx_db, &k, &v) == 0;
		k.mv_size = 10;
		has = has && (!kept || mdb_get(txn, rx_db, &k, &v) == 0);
	}
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return has;
}

/* The use the dispense record in r's frame names; 0 if none. */
static uint32_t record_use(const jreq_t *r)
{
	uint32_t use = 0;
	Rx__Request *req = r->frame ? rx__request__unpack(NULL, r->frame_len, r->frame) : NULL;
	Rx__DispenseRecord *rec = req && req->dispense.len
					  ? rx__dispense_record__unpack(NULL, req->dispense.len, req->dispense.data)
					  : NULL;
	if (rec)
		use = rec->use;
	if (rec)
		rx__dispense_record__free_unpacked(rec, NULL);
	if (req)
		rx__request__free_unpacked(req, NULL);
	return use;
}

/* Choose a prescription for each fault from what the journals say (and,
 * for the record made current, the store in dir). */
static int choose(const char *dir, const journal_set_t *js, tamper_t *t, const jreq_t **claim, uint32_t *use,
		  const jreq_t **refused)
{
	for (size_t i = 0; i < js->n && !t->submit_lost[0]; i++)
		if (acked(&js->req[i], RX_OP_SUBMIT) && naming(js, js->req[i].rxid, i) == 0)
			memcpy(t->submit_lost, js->req[i].rxid, RX_ID_LEN + 1);
	/* A DISPENSE refused NOT_AGREED (5.14) whose use has a current record
	 * (the pharmacy dispensed it as agreed after): that record replaced by
	 * the refused one.  Whatever else happened, no request can excuse a
	 * record that follows no agreed change. */
	for (size_t i = 0; i < js->n && !t->not_agreed[0]; i++) {
		const jreq_t *r = &js->req[i];
		if (r->op == RX_OP_DISPENSE && r->outcome == JR_REPLIED && r->status == RX_NOT_AGREED &&
		    r->frame && strlen(r->rxid) == RX_ID_LEN && !taken(t, r->rxid) &&
		    (t->not_agreed_use = record_use(r)) >= 1 && t->not_agreed_use <= RX_MAX_USES &&
		    has_records(dir, r->rxid, t->not_agreed_use, 0)) {
			memcpy(t->not_agreed, r->rxid, RX_ID_LEN + 1);
			*refused = r;
		}
	}
	/* Its current record is the DISPENSE's: a whole use (a part's may be
	 * kept before it), never amended or withdrawn. */
	int owing;
	for (size_t i = 0; i < js->n && !t->dispense_lost[0]; i++)
		if (acked(&js->req[i], RX_OP_DISPENSE) && !taken(t, js->req[i].rxid) &&
		    part_of(&js->req[i], &owing) == 0 &&
		    naming_op(js, js->req[i].rxid, RX_OP_AMEND) == 0 &&
		    naming_op(js, js->req[i].rxid, RX_OP_WITHDRAW) == 0 &&
		    (*use = use_of(&js->req[i])) >= 1 && *use <= RX_MAX_USES)
			memcpy(t->dispense_lost, js->req[i].rxid, RX_ID_LEN + 1);
	/* An amended use that has a current record and the one the AMEND
	 * replaced, as the store says: one never withdrawn if there is one;
	 * else one withdrawn and dispensed again (its last kept record, the
	 * withdrawal, then copied over the current one is as plain a fault).
	 * A short run can have every AMEND's prescription withdrawn (seed
	 * 1879441366, 8 AMENDs), and one withdrawn last keeps no current
	 * record. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < js->n && !t->superseded[0]; i++) {
			const jreq_t *r = &js->req[i];
			if (acked(r, RX_OP_AMEND) && !taken(t, r->rxid) &&
			    (pass || naming_op(js, r->rxid, RX_OP_WITHDRAW) == 0) &&
			    (t->superseded_use = use_of(r)) >= 1 && t->superseded_use <= RX_MAX_USES &&
			    has_records(dir, r->rxid, t->superseded_use, 1))
				memcpy(t->superseded, r->rxid, RX_ID_LEN + 1);
		}
	/* An acknowledged part that left items owed (its receipt says so): kept
	 * among its use's records before the current one, which its copy
	 * follows.  Whatever else happened, no request can excuse a part
	 * stored twice. */
	for (size_t i = 0; i < js->n && !t->part_twice[0]; i++) {
		const jreq_t *r = &js->req[i];
		int state, part = acked(r, RX_OP_DISPENSE) ? part_of(r, &owing) : -1;
		if (part > 0 && owing && !taken(t, r->rxid) && receipt_of(r, &state, &t->part_use, t->part_hash) &&
		    state == RX_STATE_PARTIAL && t->part_use >= 1 && t->part_use <= RX_MAX_USES) {
			memcpy(t->part_twice, r->rxid, RX_ID_LEN + 1);
			t->part = (uint32_t)part;
		}
	}
	/* An acknowledged INQUIRY_REPLY (5.14): its answer removed from the
	 * inquiry it names, the inquiry left as if still open.  No request
	 * excuses it: the acknowledged answer must be kept, whatever else
	 * happened to the prescription. */
	for (size_t i = 0; i < js->n && !t->unanswered[0]; i++) {
		const jreq_t *r = &js->req[i];
		if (!acked(r, RX_OP_INQUIRY_REPLY) || taken(t, r->rxid))
			continue;
		Rx__Reply *rp = rx__reply__unpack(NULL, r->reply_len, r->reply);
		Rx__Receipt *rc = rp ? rx__receipt__unpack(NULL, rp->receipt.len, rp->receipt.data) : NULL;
		if (rc && rc->inquiry >= 1 && rc->inquiry <= RX_MAX_INQUIRIES) {
			memcpy(t->unanswered, r->rxid, RX_ID_LEN + 1);
			t->inquiry = rc->inquiry;
		}
		if (rc)
			rx__receipt__free_unpacked(rc, NULL);
		if (rp)
			rx__reply__free_unpacked(rp, NULL);
	}
	/* A prescription nobody tried to dispense: a record for it is extra. */
	for (size_t i = 0; i < js->n && !t->dispense_extra[0]; i++) {
		const jreq_t *s = &js->req[i];
		int tried = 0;
		if (!acked(s, RX_OP_SUBMIT) || taken(t, s->rxid))
			continue;
		for (size_t k = 0; k < js->n && !tried; k++)
			tried = js->req[k].op == RX_OP_DISPENSE && strcmp(js->req[k].rxid, s->rxid) == 0;
		if (!tried)
			memcpy(t->dispense_extra, s->rxid, RX_ID_LEN + 1);
	}
	/* An accepted CLAIM sent once and answered once, the only CLAIM its
	 * client sent for that prescription: nothing but its journal line can
	 * make it read as refused, and no other request of that client can
	 * count as of unknown outcome and so excuse the accepted one. */
	for (size_t i = 0; i < js->n && !t->claim_refused[0]; i++) {
		const jreq_t *r = &js->req[i];
		if (acked(r, RX_OP_CLAIM) && r->sends == 1 && r->late == 0 && !taken(t, r->rxid) &&
		    client_naming_op(js, r->client, r->rxid, RX_OP_CLAIM) == 1) {
			memcpy(t->claim_refused, r->rxid, RX_ID_LEN + 1);
			*claim = r;
		}
	}
	int all = t->submit_lost[0] && t->dispense_lost[0] && t->dispense_extra[0] && t->claim_refused[0] &&
		  t->superseded[0] && t->part_twice[0] && t->unanswered[0] && t->not_agreed[0];
	return all ? 0 : -1;
}

/* Copy t's part, a kept record of its use found by its body hash, to the
 * number after the use's last kept record.  0 when done. */
static int part_again(MDB_txn *txn, MDB_dbi rx_db, const char *dir, const tamper_t *t)
{
	uint8_t hkey[10], dk[SEAL_KEY_LEN], *found = NULL, *sealed = NULL;
	size_t flen = 0, slen = 0;
	int top = 0, ret = -1;
	if (crash_rx_key(dir, t->part_twice, hkey) != 0 || seal_key_load(dir, dk) != 0)
		return -1;
	hkey[8] = (uint8_t)t->part_use;
	MDB_val hk = {sizeof hkey, hkey}, hv;
	for (int n = 1; n < 16; n++) {
		uint8_t *plain = NULL, h[RX_HASH_LEN];
		size_t plen = 0;
		hkey[9] = (uint8_t)n;
		if (mdb_get(txn, rx_db, &hk, &hv) != 0)
			break;
		top = n;
		if (found ||
		    seal_open(dk, "dispenses", hkey, sizeof hkey, hv.mv_data, hv.mv_size, &plain, &plen) != 0)
			continue;
		Rxstore__DispenseRow *row = rxstore__dispense_row__unpack(NULL, plen, plain);
		if (row) {
			rx_hash(row->body.data, row->body.len, h);
			if (memcmp(h, t->part_hash, RX_HASH_LEN) == 0) {
				found = plain;
				flen = plen;
				plain = NULL;
			}
			rxstore__dispense_row__free_unpacked(row, NULL);
		}
		free(plain);
	}
	hkey[9] = (uint8_t)(top + 1);
	if (found && top + 1 < 16 &&
	    seal_close(dk, "dispenses", hkey, sizeof hkey, found, flen, &sealed, &slen) == 0) {
		MDB_val sv = {slen, sealed};
		ret = mdb_put(txn, rx_db, &hk, &sv, MDB_NOOVERWRITE) == 0 ? 0 : -1;
	}
	free(found);
	free(sealed);
	sodium_memzero(dk, sizeof dk);
	return ret;
}

/* Remove the answer of t's inquiry from its row (sealed again for its
 * key).  0 when done. */
static int unanswer(MDB_txn *txn, MDB_dbi rx_db, const char *dir, const tamper_t *t)
{
	uint8_t key[10], dk[SEAL_KEY_LEN], *plain = NULL, *sealed = NULL, *packed = NULL;
	size_t plen = 0, slen = 0;
	int ret = -1;
	if (crash_rx_key(dir, t->unanswered, key) != 0 || seal_key_load(dir, dk) != 0)
		return -1;
	key[8] = 0x80; /* the inquiry tag (store/inquiries.c) */
	key[9] = (uint8_t)t->inquiry;
	MDB_val k = {sizeof key, key}, v;
	Rxstore__InquiryRow *row = NULL;
	if (mdb_get(txn, rx_db, &k, &v) == 0 &&
	    seal_open(dk, "inquiries", key, sizeof key, v.mv_data, v.mv_size, &plain, &plen) == 0 &&
	    (row = rxstore__inquiry_row__unpack(NULL, plen, plain)) != NULL && row->reply.len) {
		Rxstore__InquiryRow cut = *row;
		cut.prescriber_key.len = cut.reply.len = cut.reply_signature.len = 0;
		cut.replied_at = 0;
		size_t n = rxstore__inquiry_row__get_packed_size(&cut);
		if ((packed = malloc(n ? n : 1)) != NULL) {
			rxstore__inquiry_row__pack(&cut, packed);
			if (seal_close(dk, "inquiries", key, sizeof key, packed, n, &sealed, &slen) == 0) {
				MDB_val sv = {slen, sealed};
				ret = mdb_put(txn, rx_db, &k, &sv, 0) == 0 ? 0 : -1;
			}
		}
	}
	if (row)
		rxstore__inquiry_row__free_unpacked(row, NULL);
	free(plain);
	free(packed);
	free(sealed);
	sodium_memzero(dk, sizeof dk);
	return ret;
}

/* Make the record of refused (a DISPENSE refused NOT_AGREED) the current
 * record of its use: the row rxd would have written had it taken effect,
 * its body and signature the request's own, the rest the row it replaces;
 * sealed for that key.  0 when done. */
static int not_agreed_kept(MDB_txn *txn, MDB_dbi rx_db, const char *dir, const tamper_t *t, const jreq_t *refused)
{
	uint8_t key[9], dk[SEAL_KEY_LEN], *plain = NULL, *sealed = NULL, *packed = NULL;
	size_t plen = 0, slen = 0;
	int ret = -1;
	Rx__Request *req = rx__request__unpack(NULL, refused->frame_len, refused->frame);
	Rx__DispenseRecord *rec = req && req->dispense.len
					  ? rx__dispense_record__unpack(NULL, req->dispense.len, req->dispense.data)
					  : NULL;
	Rxstore__DispenseRow *row = NULL;
	if (rec == NULL || crash_rx_key(dir, t->not_agreed, key) != 0 || seal_key_load(dir, dk) != 0)
		goto out;
	key[8] = (uint8_t)t->not_agreed_use;
	MDB_val k = {sizeof key, key}, v;
	if (mdb_get(txn, rx_db, &k, &v) == 0 &&
	    seal_open(dk, "dispenses", key, sizeof key, v.mv_data, v.mv_size, &plain, &plen) == 0 &&
	    (row = rxstore__dispense_row__unpack(NULL, plen, plain)) != NULL) {
		Rxstore__DispenseRow made = *row;
		made.pharmacy_key = req->key;
		made.body = req->dispense;
		made.signature = req->signature;
		made.part = rec->part;
		size_t n = rxstore__dispense_row__get_packed_size(&made);
		if ((packed = malloc(n ? n : 1)) != NULL) {
			rxstore__dispense_row__pack(&made, packed);
			if (seal_close(dk, "dispenses", key, sizeof key, packed, n, &sealed, &slen) == 0) {
				MDB_val sv = {slen, sealed};
				ret = mdb_put(txn, rx_db, &k, &sv, 0) == 0 ? 0 : -1;
			}
		}
	}
out:
	if (row)
		rxstore__dispense_row__free_unpacked(row, NULL);
	if (rec)
		rx__dispense_record__free_unpacked(rec, NULL);
	if (req)
		rx__request__free_unpacked(req, NULL);
	free(plain);
	free(packed);
	free(sealed);
	sodium_memzero(dk, sizeof dk);
	return ret;
}

static int tamper_store(const char *dir, tamper_t *t, uint32_t use, const jreq_t *refused)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi rx_db, disp_db, audit_db;
	MDB_val k, v;
	uint8_t dkey[RX_ID_LEN + 1], *copy = NULL;
	int ret = -1;

	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_maxdbs(env, 32);
	if (mdb_env_open(env, dir, 0, 0600) != 0 || mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
	    mdb_dbi_open(txn, "rx", 0, &rx_db) != 0 || mdb_dbi_open(txn, "dispenses", 0, &disp_db) != 0 ||
	    mdb_dbi_open(txn, "audit", 0, &audit_db) != 0)
		goto out;

	uint8_t rk[8];
	if (crash_rx_key(dir, t->submit_lost, rk) != 0)
		goto out;
	k.mv_size = sizeof rk;
	k.mv_data = rk;
	if (mdb_del(txn, rx_db, &k, NULL) != 0)
		goto out;

	/* Any dispense record's value, under a key it was not made for.  The
	 * records are kept beside their prescriptions in "rx" (under their
	 * numbers: format 4), or in "dispenses" by a store of before. */
	if (crash_rx_key(dir, t->dispense_lost, dkey) != 0)
		goto out;
	dkey[8] = (uint8_t)use;
	k.mv_size = 9;
	k.mv_data = dkey;
	MDB_dbi held = rx_db;
	if (mdb_get(txn, held, &k, &v) != 0 && mdb_get(txn, held = disp_db, &k, &v) != 0)
		goto out;
	if ((copy = malloc(v.mv_size)) == NULL)
		goto out;
	memcpy(copy, v.mv_data, v.mv_size);
	MDB_val nv = {v.mv_size, copy};
	if (mdb_del(txn, held, &k, NULL) != 0)
		goto out;
	if (crash_rx_key(dir, t->dispense_extra, dkey) != 0)
		goto out;
	dkey[8] = 1;
	if (mdb_put(txn, held, &k, &nv, MDB_NOOVERWRITE) != 0)
		goto out;

	/* The use's last kept record (the one the AMEND replaced, or a
	 * withdrawal since) over its current record, sealed again under the
	 * current key, as rxd would have written it: only what it says can
	 * give it away. */
	uint8_t ckey[9], hkey[10], dk[SEAL_KEY_LEN], *plain = NULL, *sealed = NULL;
	size_t plen = 0, slen = 0;
	int top = 0;
	if (crash_rx_key(dir, t->superseded, ckey) != 0 || seal_key_load(dir, dk) != 0)
		goto out;
	ckey[8] = (uint8_t)t->superseded_use;
	memcpy(hkey, ckey, 9);
	MDB_val ck = {sizeof ckey, ckey}, hk = {sizeof hkey, hkey}, hv;
	for (int n = 1; n < 16; n++) {
		hkey[9] = (uint8_t)n;
		if (mdb_get(txn, rx_db, &hk, &hv) != 0)
			break;
		top = n;
	}
	hkey[9] = (uint8_t)top;
	int made = top > 0 && mdb_get(txn, rx_db, &ck, &v) == 0 && mdb_get(txn, rx_db, &hk, &hv) == 0 &&
		   seal_open(dk, "dispenses", hkey, sizeof hkey, hv.mv_data, hv.mv_size, &plain, &plen) == 0 &&
		   seal_close(dk, "dispenses", ckey, sizeof ckey, plain, plen, &sealed, &slen) == 0;
	MDB_val sv = {slen, sealed};
	if (made)
		made = mdb_put(txn, rx_db, &ck, &sv, 0) == 0;
	free(plain);
	free(sealed);
	sodium_memzero(dk, sizeof dk);
	if (!made)
		goto out;

	/* The part again, after the use's last kept record (sealed for that
	 * key, as rxd would write a record there): a part stored twice. */
	if (part_again(txn, rx_db, dir, t) != 0)
		goto out;
	/* An acknowledged answer taken from its inquiry. */
	if (unanswer(txn, rx_db, dir, t) != 0)
		goto out;
	/* A record refused NOT_AGREED, kept as if it had taken effect. */
	if (not_agreed_kept(txn, rx_db, dir, t, refused) != 0)
		goto out;

	/* One byte of one entry's institution code: it still decodes, names
	 * the same action and outcome; only the chain can tell. */
	if (mdb_cursor_open(txn, audit_db, &cur) != 0)
		goto out;
	while (!t->audit_altered && mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		uint8_t *p = memmem(v.mv_data, v.mv_size, "CRASH-pharmacy", 14), *e;
		if (p == NULL)
			continue;
		if ((e = malloc(v.mv_size)) == NULL)
			goto out;
		memcpy(e, v.mv_data, v.mv_size);
		e[(p - (uint8_t *)v.mv_data) + 6] = 'P';
		MDB_val ev = {v.mv_size, e};
		MDB_val ek = {k.mv_size, k.mv_data};
		int rc = mdb_cursor_put(cur, &ek, &ev, MDB_CURRENT);
		free(e);
		if (rc != 0)
			goto out;
		t->audit_altered = 1;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	if (t->audit_altered && mdb_txn_commit(txn) == 0)
		ret = 0;
	txn = NULL;
out:
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	free(copy);
	return ret;
}

/* Rewrite the A line of claim in its client's journal as a refusal. */
static int tamper_journal(const crash_world_t *w, const jreq_t *claim)
{
	char path[600], tmp[620], rid[2 * RX_REQUEST_ID_LEN + 1], prefix[64];
	Rx__Reply refusal = RX__REPLY__INIT;
	uint8_t rbuf[256];
	char rhex[2 * sizeof rbuf + 1];
	int ret = -1, done = 0;

	refusal.request_id.data = (uint8_t *)claim->rid;
	refusal.request_id.len = RX_REQUEST_ID_LEN;
	refusal.status = RX__STATUS__ALREADY_CLAIMED;
	refusal.message = (char *)"another pharmacy has claimed this prescription";
	size_t rlen = rx__reply__pack(&refusal, rbuf);
	rx_hex(rbuf, rlen, rhex);
	rx_hex(claim->rid, RX_REQUEST_ID_LEN, rid);
	snprintf(prefix, sizeof prefix, "A CLAIM %s ", rid);
	snprintf(path, sizeof path, "%s/%s.log", w->journals, w->client[claim->client].name);
	snprintf(tmp, sizeof tmp, "%s.tamper", path);
	FILE *in = fopen(path, "r"), *out = fopen(tmp, "w");
	char *line = NULL;
	size_t cap = 0;
	if (in == NULL || out == NULL)
		goto out;
	while (getline(&line, &cap, in) > 0) {
		if (strncmp(line, prefix, strlen(prefix)) == 0) {
			fprintf(out, "A CLAIM %s %s 1 %d %d ALREADY_CLAIMED - %s\n", rid, claim->rxid,
				claim->epoch0, claim->epoch1, rhex);
			done = 1;
		} else {
			fputs(line, out);
		}
	}
	ret = done ? 0 : -1;
out:
	free(line);
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		ret = -1;
	if (ret == 0 && rename(tmp, path) != 0)
		ret = -1;
	return ret;
}

int tamper_apply(const crash_world_t *w, tamper_t *t)
{
	journal_set_t js;
	const char *names[CRASH_MAX_CLIENTS];
	const jreq_t *claim = NULL, *refused = NULL;
	char why[300];
	uint32_t use = 0;
	int ret = -1;

	memset(t, 0, sizeof *t);
	for (int c = 0; c < w->nclients; c++)
		names[c] = w->client[c].name;
	if (journal_load(w->journals, names, w->nclients, &js, why, sizeof why) != 0) {
		printf("crash: tamper: %s\n", why);
	} else if (choose(w->h.dir, &js, t, &claim, &use, &refused) != 0) {
		printf("crash: tamper: no prescription for each fault:%s%s%s%s%s%s%s%s\n",
		       t->not_agreed[0] ? "" : " a DISPENSE refused NOT_AGREED whose use has a current record",
		       t->unanswered[0] ? "" : " an acknowledged INQUIRY_REPLY",
		       t->submit_lost[0] ? "" : " a lone acknowledged SUBMIT",
		       t->dispense_lost[0] ? "" : " a whole DISPENSE never amended or withdrawn",
		       t->superseded[0] ? "" : " an amended use with a current record",
		       t->part_twice[0] ? "" : " a part that left items owed",
		       t->dispense_extra[0] ? "" : " a prescription nobody dispensed",
		       t->claim_refused[0] ? "" : " a lone CLAIM answered once");
	} else if (tamper_store(w->h.dir, t, use, refused) != 0) {
		printf("crash: tamper: could not alter the store\n");
	} else if (tamper_journal(w, claim) != 0) {
		printf("crash: tamper: could not rewrite the journal\n");
	} else {
		printf("crash: tamper: deleted %s, deleted a dispense record of %s, added one to %s, made a "
		       "replaced record of %s use %u current, stored part %u of %s use %u twice, altered an "
		       "audit entry, journaled an accepted CLAIM of %s as refused, removed the answer to inquiry %u of %s, "
		       "kept a DISPENSE refused NOT_AGREED as %s use %u's record\n",
		       t->submit_lost, t->dispense_lost, t->dispense_extra, t->superseded, t->superseded_use,
		       t->part, t->part_twice, t->part_use, t->claim_refused, t->inquiry, t->unanswered, t->not_agreed,
		       t->not_agreed_use);
		ret = 0;
	}
	journal_set_free(&js);
	return ret;
}

static int named(const check_report_t *rep, violation_kind_t kind, const char *id)
{
	for (int i = 0; i < rep->nnamed; i++)
		if (rep->named[i].kind == kind && (id == NULL || strcmp(rep->named[i].id, id) == 0))
			return 1;
	return 0;
}

int tamper_found(const tamper_t *t, const check_report_t *rep)
{
	struct {
		const char *what;
		int found;
	} f[] = {
		{"the lost submit", named(rep, V_SUBMIT_LOST, t->submit_lost)},
		{"the lost dispense record", named(rep, V_DISPENSE_LOST, t->dispense_lost)},
		{"the extra dispense record", named(rep, V_DISPENSE_RECORDS, t->dispense_extra)},
		{"the record both current and superseded", named(rep, V_CHAIN, t->superseded)},
		{"the part stored twice", named(rep, V_PARTS, t->part_twice)},
		{"the altered audit entry", named(rep, V_AUDIT, NULL)},
		{"the refusal that took effect", named(rep, V_REFUSED_EFFECT, t->claim_refused)},
		{"the answer removed from its inquiry", named(rep, V_INQUIRY, t->unanswered)},
		{"the record refused NOT_AGREED kept as taken effect", named(rep, V_NOT_AGREED, t->not_agreed)},
	};
	int missed = 0;
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		printf("crash: tamper: %s %s\n", f[i].what, f[i].found ? "found" : "MISSED");
		missed += !f[i].found;
	}
	return missed ? -1 : 0;
}
