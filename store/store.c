/* store: LMDB persistence (see store.h for the contract).
 *
 * This file holds the request paths: record conversion, proofs, the state
 * machine, patient lists, notices and the change orchestrator; then the
 * audit reads and the drug master's entry points.  The environment and
 * sealing are env.c, the registries registry.c, space and pruning space.c,
 * the operator's functions operator.c; what the store's files share, the
 * list of databases included, is store_int.h. */
#include "store_int.h"

#include <errno.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "drugs.h"
#include "records.pb-c.h"
#include "rx.pb-c.h"
#include "rx_check.h"
#include "rx_crypto.h"
#include "rx_ids.h"
#include "rx_ops.h"

void store_buf_free(store_buf_t *b)
{
	if (b) {
		free(b->data);
		b->data = NULL;
		b->len = 0;
	}
}

/* ---- record conversion ---- */

static int copy_bytes(uint8_t *dst, size_t n, ProtobufCBinaryData b)
{
	if (b.len != n)
		return 0;
	memcpy(dst, b.data, n);
	return 1;
}

/* See store_int.h. */
void st_rx_from_record(const char *id, const Rxstore__RxRecord *r, int64_t now, store_rx_t *o)
{
	memset(o, 0, sizeof *o);
	copy_str(o->id, sizeof o->id, id);
	o->state = effective_state(r, now);
	o->uses = r->uses;
	o->uses_left = r->uses_left;
	o->cancel_pending = r->cancel_pending;
	copy_bytes(o->claimer, RX_KEY_LEN, r->claimer_key);
	copy_bytes(o->claim_token, RX_TOKEN_LEN, r->claim_token);
	copy_str(o->patient_id, sizeof o->patient_id, r->patient_id);
	copy_bytes(o->prescriber, RX_KEY_LEN, r->prescriber_key);
	copy_str(o->institution, sizeof o->institution, r->institution_code);
	o->issued_at = r->issued_at;
	o->valid_until = r->valid_until;
	o->created_at = r->created_at;
	o->updated_at = r->updated_at;
	copy_bytes(o->body_hash, RX_HASH_LEN, r->body_hash);
}

/* See store_int.h. */
rx_err_t st_get_rx(MDB_txn *txn, store_t *s, const char *id, Rxstore__RxRecord **rec)
{
	MDB_val k = val(id, strlen(id)), v;
	int rc = mdb_get(txn, s->rx, &k, &v);
	if (rc != 0)
		return from_mdb(rc);
	*rec = (Rxstore__RxRecord *)st_open_sealed(s, "rx", &k, &v, &rxstore__rx_record__descriptor);
	if (*rec == NULL || (*rec)->version != 1 || (*rec)->prescriber_key.len != RX_KEY_LEN) {
		if (*rec)
			rxstore__rx_record__free_unpacked(*rec, NULL);
		*rec = NULL;
		return RX_UNAVAILABLE; /* a record we cannot read is a storage fault */
	}
	return RX_OK;
}

/* Refuse: say why in the outcome and return the code (the caller, not
 * this macro, decides what a refusal leaves behind). */
#define RETURN_REFUSAL(code, text)  \
	do {                        \
		out->why = (text);  \
		return (code);      \
	} while (0)

/* The caller's key must be registered, unrevoked, of a role in mask, and
 * used through its own institution's connection (peer), which must not be
 * revoked either. */
static rx_err_t check_actor(MDB_txn *txn, store_t *s, const uint8_t *actor, const char *peer,
			    unsigned mask, store_key_t *k, store_outcome_t *out)
{
	rx_err_t err = st_get_key(txn, s, actor, k);
	if (err == RX_NOT_FOUND)
		RETURN_REFUSAL(RX_UNKNOWN_KEY, "the signing key is not registered");
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the key registry");
	if (k->revoked)
		RETURN_REFUSAL(RX_KEY_REVOKED, "the signing key has been revoked");
	if (!(mask & (1u << k->role)))
		RETURN_REFUSAL(RX_PERMISSION_DENIED, k->role == RX_ROLE_PHARMACY
						     ? "a pharmacy key may not do this"
						     : "a prescriber key may not do this");
	/* A stolen signing key is useless through another institution's
	 * connection: the transport key and the signing key must agree. */
	if (peer == NULL || strcmp(peer, k->institution) != 0)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "this key belongs to another institution than this connection's");
	store_institution_t inst;
	err = st_get_institution(txn, s, peer, &inst);
	if (err == RX_NOT_FOUND)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "the connection's institution is not registered");
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the institution registry");
	if (inst.revoked)
		RETURN_REFUSAL(RX_KEY_REVOKED, "the institution has been revoked");
	return RX_OK;
}


static uint32_t current_use(const Rxstore__RxRecord *r)
{
	return r->uses - r->uses_left + 1;
}

static void set_bytes(ProtobufCBinaryData *b, uint8_t *p, size_t n)
{
	b->data = p;
	b->len = n;
}

/* ---- proof that the patient is present: a card, or the slip's code ---- */


/* ---- prescriptions by stored state (counts_t, store_int.h), and the
 * expiry index ---- */

/* See store_int.h. */
int st_counts_get(MDB_txn *txn, store_t *s, counts_t *c)
{
	MDB_val k = val("rx_counts", 9), v;
	int rc = mdb_get(txn, s->meta, &k, &v);
	if (rc != 0)
		return rc;
	if (v.mv_size != 8 + sizeof c->by_state || ((const uint8_t *)v.mv_data)[0] != COUNTS_VERSION)
		return MDB_CORRUPTED;
	memcpy(c->by_state, (const uint8_t *)v.mv_data + 8, sizeof c->by_state);
	return 0;
}

/* See store_int.h. */
int st_counts_put(MDB_txn *txn, store_t *s, const counts_t *c)
{
	uint8_t buf[8 + sizeof c->by_state] = {COUNTS_VERSION};
	memcpy(buf + 8, c->by_state, sizeof c->by_state);
	MDB_val k = val("rx_counts", 9), v = val(buf, sizeof buf);
	return mdb_put(txn, s->meta, &k, &v, 0);
}

/* See store_int.h. */
int st_counts_init(MDB_txn *txn, store_t *s)
{
	counts_t c = {{0}};
	return st_counts_put(txn, s, &c);
}

/* See store_int.h. */
int st_counts_move(MDB_txn *txn, store_t *s, int from, int to)
{
	counts_t c;
	if (from == to)
		return 0;
	if (from < 0 || from >= COUNTS_N || to < 1 || to >= COUNTS_N)
		return MDB_CORRUPTED;
	int rc = st_counts_get(txn, s, &c);
	if (rc != 0)
		return rc;
	if (from && c.by_state[from])
		c.by_state[from]--;
	c.by_state[to]++;
	return st_counts_put(txn, s, &c);
}

/* See store_int.h. */
int st_expiry_put(MDB_txn *txn, store_t *s, int64_t valid_until, const char *id)
{
	uint8_t key[8 + RX_ID_LEN];
	be64(key, valid_until);
	memcpy(key + 8, id, RX_ID_LEN);
	MDB_val k = val(key, sizeof key), v = val("", 0);
	return mdb_put(txn, s->rx_expiry, &k, &v, 0);
}

/* The card must be enrolled and not revoked, its purpose fit the request,
 * and its nonce be new (then recorded).  The card's patient into patient. */
static rx_err_t use_card(MDB_txn *txn, store_t *s, const store_change_t *c,
			 const store_key_t *actor, char patient[RX_PATIENT_ID_LEN + 1],
			 store_outcome_t *out)
{
	const store_assertion_t *a = c->card;
	MDB_val k = val(a->card, RX_KEY_LEN), v;
	int rc = mdb_get(txn, s->cards, &k, &v);
	if (rc == MDB_NOTFOUND)
		RETURN_REFUSAL(RX_CARD_UNKNOWN, "this card is not enrolled");
	if (rc != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error reading the card registry");
	Rxstore__CardRecord *card =
		(Rxstore__CardRecord *)st_open_sealed(s, "cards", &k, &v, &rxstore__card_record__descriptor);
	if (card == NULL)
		RETURN_REFUSAL(RX_UNAVAILABLE, "a card record cannot be read");
	int revoked = card->revoked;
	copy_str(patient, RX_PATIENT_ID_LEN + 1, card->patient_id);
	rxstore__card_record__free_unpacked(card, NULL);
	if (revoked)
		RETURN_REFUSAL(RX_CARD_REVOKED, "this card has been revoked");

	int fits;
	if (c->op == RX_OP_SUBMIT)
		fits = a->purpose == STORE_PURPOSE_ISSUE;
	else if (c->op == RX_OP_LOG)
		fits = a->purpose == STORE_PURPOSE_VIEW;
	else if (c->op == RX_OP_NOMINATE)
		fits = a->purpose == STORE_PURPOSE_NOMINATE;
	else if (actor->role == RX_ROLE_PHARMACY)
		fits = a->purpose == STORE_PURPOSE_DISPENSE;
	else
		fits = a->purpose == STORE_PURPOSE_ISSUE || a->purpose == STORE_PURPOSE_VIEW;
	if (!fits)
		RETURN_REFUSAL(RX_ASSERTION_MISMATCH, "the card assertion was made for another purpose");

	/* The card signed its time with the nonce, so the same assertion always
	 * comes back under the same (time, nonce) key: one index, in time
	 * order, both refuses replays and prunes, and a new entry lands at its
	 * end instead of on a random page (earlier versions also kept a nonces
	 * index, which st_prune_nonces empties). */
	uint8_t tkey[24];
	MDB_val none = val("", 0);
	if (c->now > s->time_hw)
		s->time_hw = c->now;
	/* Older than the nonces still kept: it could be a replay of a pruned
	 * one (the clock was stepped back since). */
	if (a->at < s->time_hw - NONCE_KEEP)
		RETURN_REFUSAL(RX_ASSERTION_STALE, "the card assertion is older than the broker's clock has already been");
	be64(tkey, a->at);
	memcpy(tkey + 8, a->nonce, 16);
	MDB_val tk = val(tkey, sizeof tkey);
	if ((rc = mdb_put(txn, s->nonce_times, &tk, &none, MDB_NOOVERWRITE)) == MDB_KEYEXIST)
		RETURN_REFUSAL(RX_ASSERTION_REPLAYED, "this card assertion was already used");
	if (rc != 0 || (rc = st_prune_nonces(txn, s, 16, NULL)) != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error recording the card assertion");
	return RX_OK;
}

static void code_hash(store_t *s, const char *id, const char *code, uint8_t out[RX_HASH_LEN])
{
	rx_access_code_hash(s->code_key, id, code, out);
}

/* Record one access-code attempt; every one is kept. */
static int log_attempt(MDB_txn *txn, store_t *s, const store_change_t *c, const char *id, int ok)
{
	uint8_t key[RX_ID_LEN + 8 + 4];
	memcpy(key, id, RX_ID_LEN);
	be64(key + RX_ID_LEN, c->now);
	randombytes_buf(key + RX_ID_LEN + 8, 4);
	Rxstore__AccessAttempt a = RXSTORE__ACCESS_ATTEMPT__INIT;
	a.version = 1;
	a.at = c->now;
	a.pharmacy_key.data = (uint8_t *)c->actor;
	a.pharmacy_key.len = RX_KEY_LEN;
	a.institution_code = (char *)(c->peer ? c->peer : "");
	a.ok = ok;
	MDB_val k = val(key, sizeof key);
	return put_msg(txn, s->access_log, &k, &a.base, 0);
}

/* The slip's code for prescription id.  A wrong code counts against the
 * prescription; the fifth locks code access to it until an operator
 * unlocks it.  Refusals set out->commit: the count and the record of the
 * attempt are kept although the request is refused.  *dirty is set when
 * the record changed. */
static rx_err_t check_code(MDB_txn *txn, store_t *s, const store_change_t *c, const char *id,
			   Rxstore__RxRecord *r, int *dirty, store_outcome_t *out)
{
	uint8_t h[RX_HASH_LEN];
	int rc;
	if (r->code_locked) {
		if ((rc = log_attempt(txn, s, c, id, 0)) != 0)
			RETURN_REFUSAL(from_mdb(rc), "storage error recording the attempt");
		out->commit = 1;
		RETURN_REFUSAL(RX_ACCESS_LOCKED, "code access to this prescription is locked; an operator must unlock it");
	}
	code_hash(s, id, c->access_code, h);
	int ok = r->access_hash.len == RX_HASH_LEN && sodium_memcmp(h, r->access_hash.data, RX_HASH_LEN) == 0;
	if ((rc = log_attempt(txn, s, c, id, ok)) != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error recording the attempt");
	if (ok)
		return RX_OK;
	r->code_failures++;
	if (r->code_failures >= STORE_MAX_CODE_FAILURES)
		r->code_locked = 1;
	*dirty = 1;
	out->commit = 1;
	RETURN_REFUSAL(RX_BAD_ACCESS_CODE, r->code_locked ? "wrong access code; code access is now locked"
						  : "wrong access code");
}

/* The dispense record of one use of a prescription, opened; NULL if that
 * use has none (or it cannot be read).  The caller frees it. */
static Rxstore__DispenseRow *dispense_row(MDB_txn *txn, store_t *s, const char *id, uint32_t use)
{
	uint8_t dkey[RX_ID_LEN + 1];
	memcpy(dkey, id, RX_ID_LEN);
	dkey[RX_ID_LEN] = (uint8_t)use;
	MDB_val k = val(dkey, sizeof dkey), v;
	if (mdb_get(txn, s->dispenses, &k, &v) != 0)
		return NULL;
	return (Rxstore__DispenseRow *)st_open_sealed(s, "dispenses", &k, &v,
						   &rxstore__dispense_row__descriptor);
}

/* Has the caller dispensed some use of this prescription (with this claim
 * token, if token is not NULL)? */
static int dispensed_by(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r,
			const uint8_t *actor, const uint8_t *token)
{
	for (uint32_t use = 1; use <= r->uses && use <= RX_MAX_USES; use++) {
		Rxstore__DispenseRow *row = dispense_row(txn, s, id, use);
		int mine = row && row->pharmacy_key.len == RX_KEY_LEN &&
			   memcmp(row->pharmacy_key.data, actor, RX_KEY_LEN) == 0 &&
			   (token == NULL || (row->claim_token.len == RX_TOKEN_LEN &&
					      sodium_memcmp(row->claim_token.data, token, RX_TOKEN_LEN) == 0));
		if (row)
			rxstore__dispense_row__free_unpacked(row, NULL);
		if (mine)
			return 1;
	}
	return 0;
}

static rx_err_t get_nomination(MDB_txn *txn, store_t *s, const char *patient,
			       char code[RX_INSTITUTION_MAX + 1]);
/* STATUS: the records of the uses dispensed so far (1..uses - uses_left),
 * each with the institution of the pharmacy key that signed it.  rows keeps
 * what protobuf-c allocated (free_dispenses); out points into it.  A
 * dispensed use whose record is missing or does not open is a storage fault. */
static rx_err_t load_dispenses(MDB_txn *txn, store_t *s, const char *id,
			       const Rxstore__RxRecord *r, Rxstore__DispenseRow *rows[RX_MAX_USES],
			       store_dispense_t out[RX_MAX_USES], size_t *n)
{
	uint8_t dkey[RX_ID_LEN + 1];
	uint32_t done = r->uses_left <= r->uses ? r->uses - r->uses_left : 0;
	memcpy(dkey, id, RX_ID_LEN);
	*n = 0;
	for (uint32_t use = 1; use <= done && use <= RX_MAX_USES; use++) {
		MDB_val k = val(dkey, sizeof dkey), v;
		store_key_t key;
		dkey[RX_ID_LEN] = (uint8_t)use;
		if (mdb_get(txn, s->dispenses, &k, &v) != 0)
			return RX_UNAVAILABLE;
		Rxstore__DispenseRow *row = (Rxstore__DispenseRow *)st_open_sealed(
			s, "dispenses", &k, &v, &rxstore__dispense_row__descriptor);
		if (row == NULL)
			return RX_UNAVAILABLE;
		rows[(*n)++] = row;
		if (row->version != 1 || row->pharmacy_key.len != RX_KEY_LEN ||
		    row->signature.len != RX_SIG_LEN ||
		    st_get_key(txn, s, row->pharmacy_key.data, &key) != RX_OK)
			return RX_UNAVAILABLE;
		store_dispense_t *d = &out[*n - 1];
		d->use = use;
		d->at = row->at;
		copy_str(d->institution, sizeof d->institution, key.institution);
		d->body = row->body.data;
		d->body_len = row->body.len;
		d->signature = row->signature.data;
	}
	return RX_OK;
}

static void free_dispenses(Rxstore__DispenseRow *rows[RX_MAX_USES], size_t n)
{
	for (size_t i = 0; i < n; i++)
		rxstore__dispense_row__free_unpacked(rows[i], NULL);
}

/* May the caller act on (CLAIM) or look at (STATUS) this prescription?
 * patient: the card's patient if a card was used, else "".  Without proof:
 * the issuer may look; the claimer may look and claim again; a pharmacy
 * that dispensed it may look; the patient's nominated pharmacy may look and
 * claim.  With the card: the card's patient must be the prescription's.
 * With the code: it must be right. */
static rx_err_t may_access(MDB_txn *txn, store_t *s, const store_change_t *c,
			   const store_key_t *actor, const char *patient, const char *id,
			   Rxstore__RxRecord *r, int *dirty, int *wrote, store_outcome_t *out)
{
	int claimer = r->state == RX_STATE_CLAIMED && r->claimer_key.len == RX_KEY_LEN &&
		      memcmp(r->claimer_key.data, c->actor, RX_KEY_LEN) == 0;
	if (patient[0]) {
		if (strcmp(patient, r->patient_id) != 0)
			RETURN_REFUSAL(RX_ASSERTION_MISMATCH, "the card is another patient's");
		return RX_OK;
	}
	if (c->access_code) {
		rx_err_t err = check_code(txn, s, c, id, r, dirty, out);
		/* Every attempt is kept, even when the request is refused later. */
		*wrote = 1;
		out->commit = 1;
		return err;
	}
	if (actor->role == RX_ROLE_PRESCRIBER) {
		if (memcmp(r->prescriber_key.data, c->actor, RX_KEY_LEN) == 0 && c->op == RX_OP_STATUS)
			return RX_OK;
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "a prescriber may only look at prescriptions they issued");
	}
	if (claimer || (c->op == RX_OP_STATUS && dispensed_by(txn, s, id, r, c->actor, NULL)))
		return RX_OK;
	/* The patient chose this pharmacy with their card: it may prepare the
	 * medicine before they come in. */
	char nominated[RX_INSTITUTION_MAX + 1];
	rx_err_t err = get_nomination(txn, s, r->patient_id, nominated);
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the patient's nomination");
	if (nominated[0] && strcmp(nominated, actor->institution) == 0)
		return RX_OK;
	RETURN_REFUSAL(RX_PERMISSION_DENIED, "present the patient's card or the access code on the slip");
}

/* ---- the state machine: each returns RX_OK with *r updated for writing,
 * or a refusal with out->why.  They run inside the write transaction. ---- */

/* CLAIM ID: ISSUED -> CLAIMED by the caller, with a fresh claim token.
 * The holder claiming again gets its own claim back (a lost reply).
 * Refusals: ALREADY_CLAIMED, ALREADY_DISPENSED, CANCELLED, EXPIRED. */
static rx_err_t do_claim(const store_change_t *c, Rxstore__RxRecord *r, uint8_t *token,
			 store_outcome_t *out)
{
	switch (effective_state(r, c->now)) {
	case RX_STATE_DISPENSED:
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "every use of this prescription has been dispensed");
	case RX_STATE_CANCELLED:
		RETURN_REFUSAL(RX_CANCELLED, "the prescriber cancelled this prescription");
	case RX_STATE_EXPIRED:
		RETURN_REFUSAL(RX_EXPIRED, "this prescription is past its validity");
	case RX_STATE_CLAIMED:
		if (r->cancel_pending)
			RETURN_REFUSAL(RX_CANCELLED, "the prescriber is cancelling this prescription");
		if (r->claimer_key.len == RX_KEY_LEN &&
		    memcmp(r->claimer_key.data, c->actor, RX_KEY_LEN) == 0)
			return RX_OK;
		RETURN_REFUSAL(RX_ALREADY_CLAIMED, "another pharmacy has claimed this prescription");
	default:
		break;
	}
	randombytes_buf(token, RX_TOKEN_LEN);
	r->state = RX_STATE_CLAIMED;
	set_bytes(&r->claimer_key, (uint8_t *)c->actor, RX_KEY_LEN);
	set_bytes(&r->claim_token, token, RX_TOKEN_LEN);
	return RX_OK;
}

/* Claim held by the caller with this token?  PERMISSION_DENIED if not. */
static rx_err_t check_claim(const store_change_t *c, const Rxstore__RxRecord *r,
			    store_outcome_t *out)
{
	if (r->state != RX_STATE_CLAIMED || r->claimer_key.len != RX_KEY_LEN ||
	    memcmp(r->claimer_key.data, c->actor, RX_KEY_LEN) != 0)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "this prescription is not claimed by you");
	if (r->claim_token.len != RX_TOKEN_LEN ||
	    sodium_memcmp(r->claim_token.data, c->claim_token, RX_TOKEN_LEN) != 0)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "the claim token does not match your claim");
	return RX_OK;
}

/* See store_int.h. */
void st_clear_claim(Rxstore__RxRecord *r)
{
	set_bytes(&r->claimer_key, NULL, 0);
	set_bytes(&r->claim_token, NULL, 0);
}

/* RELEASE ID --claim TOKEN: the claimer gives it back: CLAIMED -> ISSUED, or
 * -> CANCELLED if the prescriber cancelled meanwhile.  Allowed past expiry.
 * Refusals: PERMISSION_DENIED, ALREADY_DISPENSED, CANCELLED. */
static rx_err_t do_release(const store_change_t *c, Rxstore__RxRecord *r, store_outcome_t *out)
{
	if (r->state == RX_STATE_DISPENSED)
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "every use of this prescription has been dispensed");
	if (r->state == RX_STATE_CANCELLED)
		RETURN_REFUSAL(RX_CANCELLED, "the prescriber cancelled this prescription");
	if (r->state == RX_STATE_EXPIRED)
		RETURN_REFUSAL(RX_EXPIRED, "this prescription expired and its claim was dropped");
	rx_err_t err = check_claim(c, r, out);
	if (err != RX_OK)
		return err;
	r->state = r->cancel_pending ? RX_STATE_CANCELLED : RX_STATE_ISSUED;
	r->cancel_pending = 0;
	st_clear_claim(r);
	return RX_OK;
}

/* DISPENSE ID --claim TOKEN RECORD: CLAIMED -> DISPENSED, or ISSUED with one
 * use fewer for a refill.  Refusals: ALREADY_DISPENSED, CANCELLED, EXPIRED,
 * PERMISSION_DENIED, INVALID (record names another use). */
static rx_err_t do_dispense(MDB_txn *txn, store_t *s, const store_change_t *c,
			    Rxstore__RxRecord *r, store_outcome_t *out)
{
	uint8_t dkey[RX_ID_LEN + 1];
	uint32_t use = c->use ? c->use : current_use(r);
	memcpy(dkey, c->id, RX_ID_LEN);
	dkey[RX_ID_LEN] = (uint8_t)use;
	MDB_val k = val(dkey, sizeof dkey), v;

	if (use >= 1 && use <= RX_MAX_USES && mdb_get(txn, s->dispenses, &k, &v) == 0)
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "this use of the prescription was already dispensed");
	/* The same claim dispensed again under a new request id, after the
	 * claim is gone (a refill then has its next use open). */
	if (dispensed_by(txn, s, c->id, r, c->actor, c->claim_token))
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "this claim was already dispensed");
	if (r->state == RX_STATE_DISPENSED)
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "every use of this prescription has been dispensed");
	if (r->state == RX_STATE_CANCELLED)
		RETURN_REFUSAL(RX_CANCELLED, "the prescriber cancelled this prescription");
	if (r->state == RX_STATE_EXPIRED)
		RETURN_REFUSAL(RX_EXPIRED, "this prescription is past its validity");
	rx_err_t err = check_claim(c, r, out);
	if (err != RX_OK)
		return err;
	if (r->cancel_pending)
		RETURN_REFUSAL(RX_CANCELLED, "the prescriber cancelled this prescription; release it");
	if (c->now >= r->valid_until)
		RETURN_REFUSAL(RX_EXPIRED, "this prescription is past its validity");
	if (use != current_use(r))
		RETURN_REFUSAL(RX_INVALID, "the dispense record names a use other than the one claimed");

	Rxstore__DispenseRow row = RXSTORE__DISPENSE_ROW__INIT;
	row.version = 1;
	set_bytes(&row.pharmacy_key, (uint8_t *)c->actor, RX_KEY_LEN);
	row.at = c->now;
	set_bytes(&row.body, (uint8_t *)c->body, c->body_len);
	set_bytes(&row.signature, (uint8_t *)c->signature, RX_SIG_LEN);
	set_bytes(&row.claim_token, (uint8_t *)c->claim_token, RX_TOKEN_LEN);
	int rc = st_put_sealed(s, txn, s->dispenses, "dispenses", &k, &row.base, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "this use of the prescription was already dispensed");
	if (rc != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error writing the dispense record");
	out->use = use;
	r->uses_left--;
	r->state = r->uses_left ? RX_STATE_ISSUED : RX_STATE_DISPENSED;
	st_clear_claim(r);
	return RX_OK;
}

/* CANCEL ID: the issuing prescriber withdraws it: ISSUED -> CANCELLED;
 * CLAIMED -> cancel pending (the claimer's dispense is refused, its release
 * completes the cancel).  Refusals: PERMISSION_DENIED, ALREADY_DISPENSED,
 * CANCELLED, EXPIRED. */
static rx_err_t do_cancel(const store_change_t *c, Rxstore__RxRecord *r, store_outcome_t *out)
{
	if (r->prescriber_key.len != RX_KEY_LEN ||
	    memcmp(r->prescriber_key.data, c->actor, RX_KEY_LEN) != 0)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "only the issuing prescriber may cancel");
	switch (effective_state(r, c->now)) {
	case RX_STATE_DISPENSED:
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "every use of this prescription has been dispensed");
	case RX_STATE_CANCELLED:
		RETURN_REFUSAL(RX_CANCELLED, "this prescription is already cancelled");
	case RX_STATE_EXPIRED:
		RETURN_REFUSAL(RX_EXPIRED, "this prescription is past its validity");
	case RX_STATE_CLAIMED:
		if (r->cancel_pending)
			RETURN_REFUSAL(RX_CANCELLED, "a cancel is already pending");
		r->cancel_pending = 1;
		return RX_OK;
	default:
		r->state = RX_STATE_CANCELLED;
		return RX_OK;
	}
}

/* SUBMIT: a new prescription, ISSUED.  The store picks its id.
 * Refusals: PERMISSION_DENIED (institution is not the key's), NOT_FOUND
 * (patient not enrolled), CONFLICT (this signed prescription was submitted
 * before). */
static rx_err_t do_submit(MDB_txn *txn, store_t *s, const store_change_t *c, const store_key_t *k,
			  const char *patient, Rxstore__RxRecord *r, char id[RX_ID_LEN + 1],
			  uint8_t hash[RX_HASH_LEN], uint8_t code[RX_HASH_LEN], store_outcome_t *out)
{
	MDB_val key, v;
	int rc;

	/* Filed under the card's patient, never under an id the clinic typed. */
	if (c->patient_id && c->patient_id[0] && strcmp(c->patient_id, patient) != 0)
		RETURN_REFUSAL(RX_ASSERTION_MISMATCH, "the prescription names another patient than the card's");
	if (c->new_access_code == NULL)
		RETURN_REFUSAL(RX_INVALID, "no access code for the slip");

	/* An empty institution means the key's own; any other must match it. */
	if (c->institution[0] && strcmp(c->institution, k->institution) != 0)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "the prescription names another institution than the key's");
	key = val(patient, strlen(patient));
	if ((rc = mdb_get(txn, s->patients, &key, &v)) != 0)
		RETURN_REFUSAL(rc == MDB_NOTFOUND ? RX_NOT_FOUND : from_mdb(rc), "the patient is not enrolled");
	rx_hash(c->body, c->body_len, hash);
	key = val(hash, RX_HASH_LEN);
	if ((rc = mdb_get(txn, s->rx_hash, &key, &v)) == 0)
		RETURN_REFUSAL(RX_CONFLICT, "this signed prescription was already submitted");
	if (rc != MDB_NOTFOUND)
		RETURN_REFUSAL(from_mdb(rc), "storage error");
	/* 55 random bits: a collision is rare, but never overwrite one. */
	for (int tries = 0;; tries++) {
		rx_rxid_new(id);
		key = val(id, RX_ID_LEN);
		if ((rc = mdb_get(txn, s->rx, &key, &v)) == MDB_NOTFOUND)
			break;
		if (rc != 0 || tries > 16)
			RETURN_REFUSAL(RX_UNAVAILABLE, "could not allocate a prescription id");
	}
	r->version = 1;
	r->state = RX_STATE_ISSUED;
	r->uses = r->uses_left = c->uses;
	r->patient_id = (char *)patient;
	set_bytes(&r->prescriber_key, (uint8_t *)c->actor, RX_KEY_LEN);
	r->institution_code = (char *)k->institution;
	r->issued_at = c->issued_at;
	r->valid_until = c->valid_until;
	r->created_at = c->now;
	set_bytes(&r->body, (uint8_t *)c->body, c->body_len);
	set_bytes(&r->signature, (uint8_t *)c->signature, RX_SIG_LEN);
	set_bytes(&r->body_hash, hash, RX_HASH_LEN);
	code_hash(s, id, c->new_access_code, code);
	set_bytes(&r->access_hash, code, RX_HASH_LEN);

	MDB_val idv = val(id, RX_ID_LEN);
	key = val(hash, RX_HASH_LEN);
	if ((rc = mdb_put(txn, s->rx_hash, &key, &idv, MDB_NOOVERWRITE)) != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error");
	key = val(patient, strlen(patient));
	if ((rc = mdb_put(txn, s->rx_patient, &key, &idv, 0)) != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error");
	if ((rc = st_expiry_put(txn, s, r->valid_until, id)) != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error");
	return RX_OK;
}

/* A retry returns what was sent the first time, even if the key has been
 * revoked or the prescription has moved on since.  RX_NOT_FOUND if this
 * (caller, request id) has no stored reply. */
static rx_err_t replay(MDB_txn *txn, store_t *s, const uint8_t rkey[RX_KEY_LEN + RX_REQUEST_ID_LEN],
		       const char *peer, const uint8_t call_hash[RX_HASH_LEN], store_outcome_t *out,
		       store_buf_t *reply)
{
	MDB_val k = val(rkey, RX_KEY_LEN + RX_REQUEST_ID_LEN), v;
	int rc = mdb_get(txn, s->requests, &k, &v);
	if (rc != 0) {
		out->why = rc == MDB_NOTFOUND ? NULL : "storage error";
		return from_mdb(rc);
	}
	Rxstore__RequestRow *row = (Rxstore__RequestRow *)st_open_sealed(
		s, "requests", &k, &v, &rxstore__request_row__descriptor);
	rx_err_t err = RX_UNAVAILABLE;
	out->why = "storage error reading a stored reply";
	if (row && row->call_hash.len == RX_HASH_LEN) {
		if (row->institution[0] && (peer == NULL || strcmp(row->institution, peer) != 0)) {
			/* Earned through another institution's connection: not a
			 * retry of this caller's (the key check refuses key callers
			 * before this; a card's resend goes on to its own checks). */
			err = RX_NOT_FOUND;
			out->why = NULL;
		} else if (sodium_memcmp(row->call_hash.data, call_hash, RX_HASH_LEN) != 0) {
			err = RX_CONFLICT;
			out->why = "this request id was already used for a different request";
		} else if ((reply->data = malloc(row->reply.len ? row->reply.len : 1))) {
			memcpy(reply->data, row->reply.data, row->reply.len);
			reply->len = row->reply.len;
			err = RX_OK;
			out->why = NULL;
			out->replayed = 1;
		}
	}
	if (row)
		rxstore__request_row__free_unpacked(row, NULL);
	return err;
}

/* A key is used only through a connection of its own institution: checked
 * before anything else is looked up for the caller (its stored replies
 * included).  RX_OK if the actor is no registered key (a card: LOG,
 * NOMINATE; or unknown, which check_actor refuses later), or the key's
 * institution is peer; else PERMISSION_DENIED. */
static rx_err_t check_institution(MDB_txn *txn, store_t *s, const uint8_t *actor, const char *peer,
				  store_outcome_t *out)
{
	store_key_t k;
	rx_err_t err = st_get_key(txn, s, actor, &k);
	if (err == RX_NOT_FOUND)
		return RX_OK;
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the key registry");
	if (peer == NULL || strcmp(peer, k.institution) != 0)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "this key belongs to another institution than this connection's");
	return RX_OK;
}

rx_err_t store_replay(store_t *s, const uint8_t actor[RX_KEY_LEN], const char *peer,
		      const uint8_t request_id[RX_REQUEST_ID_LEN], const uint8_t call_hash[RX_HASH_LEN],
		      store_outcome_t *out, store_buf_t *reply)
{
	MDB_txn *txn;
	uint8_t rkey[RX_KEY_LEN + RX_REQUEST_ID_LEN];
	memset(out, 0, sizeof *out);
	reply->data = NULL;
	reply->len = 0;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		out->why = "storage unavailable";
		return from_mdb(rc);
	}
	memcpy(rkey, actor, RX_KEY_LEN);
	memcpy(rkey + RX_KEY_LEN, request_id, RX_REQUEST_ID_LEN);
	rx_err_t err = check_institution(txn, s, actor, peer, out);
	if (err == RX_OK)
		err = replay(txn, s, rkey, peer, call_hash, out, reply);
	mdb_txn_abort(txn);
	return err;
}

/* See store_int.h. */
rx_err_t st_push_rx(store_rx_t **list, size_t *n, size_t *cap, const char *id,
		    const Rxstore__RxRecord *r, int64_t now)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		store_rx_t *grown = realloc(*list, ncap * sizeof **list);
		if (grown == NULL)
			return RX_SYSTEM;
		*list = grown;
		*cap = ncap;
	}
	st_rx_from_record(id, r, now, &(*list)[*n]);
	memset((*list)[*n].claim_token, 0, RX_TOKEN_LEN);
	(*n)++;
	return RX_OK;
}

/* Call fn for each of the patient's prescriptions but skip (NULL: none; it
 * may not be written yet), in id order, until fn returns other than RX_OK,
 * which is then returned. */
typedef rx_err_t (*patient_rx_fn)(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r,
				  void *arg);

static rx_err_t each_of_patient(MDB_txn *txn, store_t *s, const char *patient, const char *skip,
				patient_rx_fn fn, void *arg)
{
	MDB_cursor *cur;
	MDB_val pk = val(patient, strlen(patient)), v;
	rx_err_t err = RX_OK;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->rx_patient, &cur)) != 0)
		return from_mdb(rc);
	for (rc = mdb_cursor_get(cur, &pk, &v, MDB_SET_KEY); rc == 0 && err == RX_OK;
	     rc = mdb_cursor_get(cur, &pk, &v, MDB_NEXT_DUP)) {
		char id[RX_ID_LEN + 1];
		Rxstore__RxRecord *r;
		if (v.mv_size != RX_ID_LEN || (skip && memcmp(v.mv_data, skip, RX_ID_LEN) == 0))
			continue;
		memcpy(id, v.mv_data, RX_ID_LEN);
		id[RX_ID_LEN] = '\0';
		if ((err = st_get_rx(txn, s, id, &r)) != RX_OK)
			break;
		err = fn(txn, s, id, r, arg);
		rxstore__rx_record__free_unpacked(r, NULL);
	}
	mdb_cursor_close(cur);
	if (err == RX_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = from_mdb(rc);
	return err;
}

typedef struct {
	int64_t now;
	store_rx_t **list;
	size_t *n, cap;
} open_list_t;

static rx_err_t add_if_open(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r,
			    void *arg)
{
	open_list_t *o = arg;
	int st = effective_state(r, o->now);
	(void)txn;
	(void)s;
	return st == RX_STATE_ISSUED || st == RX_STATE_CLAIMED ? st_push_rx(o->list, o->n, &o->cap, id, r, o->now)
							       : RX_OK;
}

/* A patient's open prescriptions (ISSUED or CLAIMED, not expired), into a
 * heap array the caller frees. */
static rx_err_t open_for_patient(MDB_txn *txn, store_t *s, const char *patient, int64_t now,
				 store_rx_t **list, size_t *n)
{
	open_list_t o = {.now = now, .list = list, .n = n};
	*list = NULL;
	*n = 0;
	rx_err_t err = each_of_patient(txn, s, patient, NULL, add_if_open, &o);
	if (err != RX_OK) {
		free(*list);
		*list = NULL;
		*n = 0;
	}
	return err;
}

/* ---- duplicate medication (the rule is drugs.c's) ---- */

static rx_err_t push_taken(drugs_taken_t **list, size_t *n, size_t *cap, const char *id,
			   const char *code, uint32_t days_left)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		drugs_taken_t *grown = realloc(*list, ncap * sizeof **list);
		if (grown == NULL)
			return RX_SYSTEM;
		*list = grown;
		*cap = ncap;
	}
	drugs_taken_t *t = &(*list)[(*n)++];
	copy_str(t->id, sizeof t->id, id);
	copy_str(t->code, sizeof t->code, code);
	t->days_left = days_left;
	return RX_OK;
}

/* The items of a prescription's dispenses whose days of supply still run
 * at now, with the days left (a started day counts). */
static rx_err_t dispensed_taken(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r,
				int64_t now, drugs_taken_t **list, size_t *n, size_t *cap)
{
	rx_err_t err = RX_OK;
	for (uint32_t use = 1; use <= r->uses && use <= RX_MAX_USES && err == RX_OK; use++) {
		Rxstore__DispenseRow *row = dispense_row(txn, s, id, use);
		Rx__DispenseRecord *rec =
			row ? rx__dispense_record__unpack(NULL, row->body.len, row->body.data) : NULL;
		for (size_t i = 0; rec && i < rec->n_items && err == RX_OK; i++) {
			int64_t end = row->at + (int64_t)rec->items[i]->days * 86400;
			if (end > now)
				err = push_taken(list, n, cap, id, rec->items[i]->drug_code,
						 (uint32_t)((end - now + 86399) / 86400));
		}
		if (rec)
			rx__dispense_record__free_unpacked(rec, NULL);
		if (row)
			rxstore__dispense_row__free_unpacked(row, NULL);
	}
	return err;
}

typedef struct {
	int64_t now;
	drugs_taken_t **list;
	size_t *n, cap;
} taken_t;

static rx_err_t add_taken(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r,
			  void *arg)
{
	taken_t *t = arg;
	rx_err_t err = RX_OK;
	int st = effective_state(r, t->now);
	if ((st == RX_STATE_ISSUED || st == RX_STATE_CLAIMED) && !r->cancel_pending) {
		/* Verified when it was submitted; one that does not decode has nothing to compare. */
		Rx__Prescription *p = rx__prescription__unpack(NULL, r->body.len, r->body.data);
		for (size_t i = 0; p && i < p->n_items && err == RX_OK; i++)
			err = push_taken(t->list, t->n, &t->cap, id, p->items[i]->drug_code, p->items[i]->days);
		if (p)
			rx__prescription__free_unpacked(p, NULL);
	}
	/* No supply runs past 365 days from its dispense, and a dispense is the
	 * prescription's last change but for an expiry or a cancel. */
	if (err == RX_OK && r->uses_left < r->uses && r->updated_at + 366 * 86400 > t->now)
		err = dispensed_taken(txn, s, id, r, t->now, t->list, t->n, &t->cap);
	return err;
}

/* What the patient has besides prescription self: the items of their other
 * open prescriptions (ISSUED or CLAIMED, no cancel pending: all their days
 * to come), and of every dispense whose days of supply still run, whatever
 * became of its prescription since.  A heap array the caller frees. */
static rx_err_t patient_taken(MDB_txn *txn, store_t *s, const char *patient, const char *self,
			      int64_t now, drugs_taken_t **list, size_t *n)
{
	taken_t t = {.now = now, .list = list, .n = n};
	*list = NULL;
	*n = 0;
	rx_err_t err = each_of_patient(txn, s, patient, self, add_taken, &t);
	if (err != RX_OK) {
		free(*list);
		*list = NULL;
		*n = 0;
	}
	return err;
}

/* SUBMIT, CLAIM: the duplicate-medication check of prescription id (record
 * r), its findings into out->warnings.  A SUBMIT with a duplicate and no
 * override reason is refused DUPLICATE_MEDICATION; a CLAIM never is.
 * *detail: what the request's audit entry says about it (static). */
static rx_err_t check_medication(MDB_txn *txn, store_t *s, const store_change_t *c,
				 const Rxstore__RxRecord *r, const char *id, const char **detail,
				 store_outcome_t *out)
{
	store_item_t stored[RX_MAX_ITEMS];
	const store_item_t *items = c->items;
	size_t n = c->n_items, ntaken = 0, dups = 0;
	Rx__Prescription *p = NULL;
	drugs_taken_t *taken = NULL;

	if (c->op == RX_OP_CLAIM) {
		/* Verified when it was submitted; one that does not decode has nothing to compare. */
		if ((p = rx__prescription__unpack(NULL, r->body.len, r->body.data)) == NULL)
			return RX_OK;
		for (n = 0; n < p->n_items && n < RX_MAX_ITEMS; n++) {
			stored[n].drug_code = p->items[n]->drug_code;
			stored[n].days = p->items[n]->days;
		}
		items = stored;
	}
	rx_err_t err = patient_taken(txn, s, r->patient_id, id, c->now, &taken, &ntaken);
	if (err == RX_OK)
		err = drugs_check(txn, &s->drugs, items, items ? n : 0, taken, ntaken, out->warnings,
				  STORE_MAX_WARNINGS, &out->nwarnings);
	free(taken);
	if (p)
		rx__prescription__free_unpacked(p, NULL);
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error comparing the patient's medicines");
	for (size_t i = 0; i < out->nwarnings; i++)
		dups += out->warnings[i].kind == STORE_WARN_DUPLICATE;
	if (dups == 0)
		return RX_OK;
	if (c->op == RX_OP_CLAIM) {
		*detail = "claimed with duplicate-medication warnings";
		return RX_OK;
	}
	if (c->override_reason && c->override_reason[0]) {
		*detail = "duplicate medication overridden; the reason is in the signed prescription";
		return RX_OK;
	}
	RETURN_REFUSAL(RX_DUPLICATE_MEDICATION,
	       "the patient already takes an ingredient of this prescription; resubmit with an override reason");
}

/* STATUS ID and LIST, inside store_change's transaction.  LIST with the
 * card: the card's patient's open prescriptions; LIST with an id and its
 * access code: that one, if open. */
static rx_err_t do_list(MDB_txn *txn, store_t *s, const store_change_t *c, const char *patient,
			store_rx_t **list, size_t *n, store_outcome_t *out)
{
	MDB_val k, v;
	int rc;
	if (patient[0]) {
		if (c->patient_id && c->patient_id[0] && strcmp(c->patient_id, patient) != 0)
			RETURN_REFUSAL(RX_ASSERTION_MISMATCH, "the card is another patient's");
		k = val(patient, strlen(patient));
		if ((rc = mdb_get(txn, s->patients, &k, &v)) != 0)
			RETURN_REFUSAL(rc == MDB_NOTFOUND ? RX_NOT_FOUND : from_mdb(rc), "the patient is not enrolled");
		rx_err_t err = open_for_patient(txn, s, patient, c->now, list, n);
		if (err != RX_OK)
			RETURN_REFUSAL(err, "storage error listing prescriptions");
		return RX_OK;
	}
	RETURN_REFUSAL(RX_PERMISSION_DENIED,
	       "LIST needs the patient's card, or a prescription id and its access code");
}

static rx_err_t patient_entries(MDB_txn *txn, store_t *s, const char *patient, size_t max,
				store_audit_t **out, size_t *count);


/* ---- nominated pharmacy and its notices ----
 * A patient may nominate one pharmacy.  New prescriptions for the patient,
 * and cancels of prescriptions a pharmacy holds or was sent, become notices
 * kept per pharmacy until it acknowledges them: key = pharmacy code, NUL,
 * seq (8, big-endian), so a pharmacy's notices are one ordered range. */

/* The patient's nominated pharmacy into code ("" if none). */
static rx_err_t get_nomination(MDB_txn *txn, store_t *s, const char *patient,
			       char code[RX_INSTITUTION_MAX + 1])
{
	code[0] = '\0';
	MDB_val k = val(patient, strlen(patient)), v;
	int rc = mdb_get(txn, s->nominations, &k, &v);
	if (rc == MDB_NOTFOUND)
		return RX_OK;
	if (rc != 0)
		return from_mdb(rc);
	Rxstore__NominationRecord *n = (Rxstore__NominationRecord *)st_open_sealed(
		s, "nominations", &k, &v, &rxstore__nomination_record__descriptor);
	if (n == NULL)
		return RX_UNAVAILABLE;
	copy_str(code, RX_INSTITUTION_MAX + 1, n->pharmacy_code);
	rxstore__nomination_record__free_unpacked(n, NULL);
	return RX_OK;
}

static size_t notice_key(uint8_t *key, const char *pharmacy, uint64_t seq)
{
	size_t n = strlen(pharmacy);
	memcpy(key, pharmacy, n);
	key[n] = 0;
	be64(key + n + 1, (int64_t)seq);
	return n + 9;
}

/* Queue a notice of kind about prescription id for pharmacy, in txn, and
 * note it in out for the broker to push once the change is committed. */
static int add_notice(MDB_txn *txn, store_t *s, int kind, const char *pharmacy, const char *id,
		      const Rxstore__RxRecord *r, int64_t now, store_outcome_t *out)
{
	uint8_t key[RX_INSTITUTION_MAX + 9];
	uint64_t seq = 0;
	MDB_val mk = val("notice_seq", 10), mv;
	int rc = mdb_get(txn, s->meta, &mk, &mv);
	if (rc == 0 && mv.mv_size == sizeof seq)
		memcpy(&seq, mv.mv_data, sizeof seq);
	else if (rc != MDB_NOTFOUND)
		return rc ? rc : MDB_CORRUPTED;
	seq++;
	mv = val(&seq, sizeof seq);
	if ((rc = mdb_put(txn, s->meta, &mk, &mv, 0)) != 0)
		return rc;

	Rxstore__NoticeRow row = RXSTORE__NOTICE_ROW__INIT;
	row.version = 1;
	row.kind = (uint32_t)kind;
	row.prescription_id = (char *)id;
	row.patient_id = r->patient_id;
	row.institution_code = r->institution_code;
	row.at = now;
	row.state = (uint32_t)effective_state(r, now);
	row.cancel_pending = r->cancel_pending;
	MDB_val k = val(key, notice_key(key, pharmacy, seq));
	if ((rc = st_put_sealed(s, txn, s->notices, "notices", &k, &row.base, MDB_NOOVERWRITE)) != 0)
		return rc;
	if (out->nnotices < sizeof out->notices / sizeof out->notices[0]) {
		store_notice_t *n = &out->notices[out->nnotices++];
		memset(n, 0, sizeof *n);
		n->seq = seq;
		n->kind = kind;
		copy_str(n->pharmacy, sizeof n->pharmacy, pharmacy);
		copy_str(n->id, sizeof n->id, id);
		copy_str(n->patient_id, sizeof n->patient_id, r->patient_id);
		copy_str(n->institution, sizeof n->institution, r->institution_code);
		n->at = now;
		n->state = (int)row.state;
		n->cancel_pending = r->cancel_pending;
	}
	return 0;
}

/* May this pharmacy receive notices (registered, a pharmacy, not revoked)? */
static int pharmacy_open(MDB_txn *txn, store_t *s, const char *code)
{
	store_institution_t inst;
	return code[0] && st_get_institution(txn, s, code, &inst) == RX_OK &&
	       inst.kind == STORE_PHARMACY && !inst.revoked;
}

/* After a SUBMIT: tell the patient's nominated pharmacy, and remember whom
 * we told (notified, which r->notified_pharmacy then points at). */
static rx_err_t notify_submit(MDB_txn *txn, store_t *s, const store_change_t *c, const char *id,
			      Rxstore__RxRecord *r, char notified[RX_INSTITUTION_MAX + 1],
			      store_outcome_t *out)
{
	rx_err_t err = get_nomination(txn, s, r->patient_id, notified);
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the patient's nomination");
	if (!pharmacy_open(txn, s, notified))
		return RX_OK;
	int rc = add_notice(txn, s, STORE_NOTICE_NEW, notified, id, r, c->now, out);
	if (rc != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error queueing the notice");
	r->notified_pharmacy = notified;
	return RX_OK;
}

/* After a CANCEL: tell the pharmacy holding the claim, and the nominated
 * pharmacy that was sent the prescription, so neither dispenses it. */
static rx_err_t notify_cancel(MDB_txn *txn, store_t *s, const store_change_t *c, const char *id,
			      const Rxstore__RxRecord *r, store_outcome_t *out)
{
	char to[2][RX_INSTITUTION_MAX + 1] = {"", ""};
	store_key_t k;
	if (r->state == RX_STATE_CLAIMED && r->claimer_key.len == RX_KEY_LEN &&
	    st_get_key(txn, s, r->claimer_key.data, &k) == RX_OK)
		copy_str(to[0], sizeof to[0], k.institution);
	if (r->notified_pharmacy && strcmp(r->notified_pharmacy, to[0]) != 0)
		copy_str(to[1], sizeof to[1], r->notified_pharmacy);
	for (int i = 0; i < 2; i++) {
		if (!pharmacy_open(txn, s, to[i]))
			continue;
		int rc = add_notice(txn, s, STORE_NOTICE_CANCEL, to[i], id, r, c->now, out);
		if (rc != 0)
			RETURN_REFUSAL(from_mdb(rc), "storage error queueing the notice");
	}
	return RX_OK;
}

/* The patient's card, signing the request itself through a patient portal's
 * connection (LOG, NOMINATE).  The card's patient into patient.  Refusals:
 * PERMISSION_DENIED (not a portal's connection), KEY_REVOKED (portal
 * revoked), INVALID (no card), ASSERTION_MISMATCH (signed by another card),
 * and the card's own refusals. */
static rx_err_t portal_card(MDB_txn *txn, store_t *s, const store_change_t *c,
			    char patient[RX_PATIENT_ID_LEN + 1], store_outcome_t *out)
{
	store_institution_t inst;
	store_key_t nobody;
	rx_err_t err = c->peer ? st_get_institution(txn, s, c->peer, &inst) : RX_NOT_FOUND;
	if (err == RX_NOT_FOUND || (err == RX_OK && inst.kind != STORE_PORTAL))
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "a patient's own requests come through a patient portal");
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the institution registry");
	if (inst.revoked)
		RETURN_REFUSAL(RX_KEY_REVOKED, "the portal has been revoked");
	if (c->card == NULL)
		RETURN_REFUSAL(RX_INVALID, c->op == RX_OP_LOG
					   ? "LOG needs the patient's card assertion (purpose view)"
					   : "NOMINATE needs the patient's card assertion (purpose nominate)");
	if (memcmp(c->card->card, c->actor, RX_KEY_LEN) != 0)
		RETURN_REFUSAL(RX_ASSERTION_MISMATCH, "the request must be signed by the card it presents");
	memset(&nobody, 0, sizeof nobody);
	return use_card(txn, s, c, &nobody, patient, out);
}

/* NOMINATE CODE: the card's patient nominates pharmacy CODE, replacing any
 * earlier nomination; "" removes it.  Refusals: portal_card's, NOT_FOUND (no
 * such institution), INVALID (not a pharmacy), KEY_REVOKED (revoked). */
static rx_err_t do_nominate(MDB_txn *txn, store_t *s, const store_change_t *c,
			    char patient[RX_PATIENT_ID_LEN + 1], store_outcome_t *out)
{
	store_institution_t inst;
	rx_err_t err = portal_card(txn, s, c, patient, out);
	if (err != RX_OK)
		return err;
	MDB_val k = val(patient, strlen(patient));
	int rc;
	if (c->pharmacy == NULL || c->pharmacy[0] == '\0') {
		rc = mdb_del(txn, s->nominations, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			RETURN_REFUSAL(from_mdb(rc), "storage error removing the nomination");
		return RX_OK;
	}
	err = st_get_institution(txn, s, c->pharmacy, &inst);
	if (err == RX_NOT_FOUND)
		RETURN_REFUSAL(RX_NOT_FOUND, "no institution has this code");
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the institution registry");
	if (inst.kind != STORE_PHARMACY)
		RETURN_REFUSAL(RX_INVALID, "only a pharmacy can be nominated");
	if (inst.revoked)
		RETURN_REFUSAL(RX_KEY_REVOKED, "this pharmacy has been revoked");
	Rxstore__NominationRecord n = RXSTORE__NOMINATION_RECORD__INIT;
	n.version = 1;
	n.pharmacy_code = (char *)c->pharmacy;
	n.at = c->now;
	if ((rc = st_put_sealed(s, txn, s->nominations, "nominations", &k, &n.base, 0)) != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error writing the nomination");
	copy_str(out->pharmacy, sizeof out->pharmacy, c->pharmacy);
	return RX_OK;
}

/* Decode the notice at cursor position (k, v) into n; 0 if it does not open. */
static int notice_from(store_t *s, const MDB_val *k, const MDB_val *v, store_notice_t *n)
{
	const uint8_t *p = k->mv_data;
	size_t klen = k->mv_size;
	if (klen < 10 || klen > RX_INSTITUTION_MAX + 9 || p[klen - 9] != 0)
		return 0;
	Rxstore__NoticeRow *row = (Rxstore__NoticeRow *)st_open_sealed(
		s, "notices", k, v, &rxstore__notice_row__descriptor);
	if (row == NULL)
		return 0;
	memset(n, 0, sizeof *n);
	for (int i = 0; i < 8; i++)
		n->seq = n->seq << 8 | p[klen - 8 + i];
	memcpy(n->pharmacy, p, klen - 9);
	n->kind = (int)row->kind;
	copy_str(n->id, sizeof n->id, row->prescription_id);
	copy_str(n->patient_id, sizeof n->patient_id, row->patient_id);
	copy_str(n->institution, sizeof n->institution, row->institution_code);
	n->at = row->at;
	n->state = (int)row->state;
	n->cancel_pending = row->cancel_pending;
	rxstore__notice_row__free_unpacked(row, NULL);
	return 1;
}

/* Walk pharmacy's notices with seq > after, oldest first: fn each (up to
 * max; max 0 only counts them into *n). */
static rx_err_t each_notice(MDB_txn *txn, store_t *s, const char *pharmacy, uint64_t after,
			    size_t max, store_notice_t *out, size_t *n)
{
	uint8_t key[RX_INSTITUTION_MAX + 9];
	size_t plen = strlen(pharmacy) + 1;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;
	*n = 0;
	if (plen - 1 == 0 || plen - 1 > RX_INSTITUTION_MAX)
		return RX_OK;
	if ((rc = mdb_cursor_open(txn, s->notices, &cur)) != 0)
		return from_mdb(rc);
	k = val(key, notice_key(key, pharmacy, after + 1));
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != plen + 8 || memcmp(k.mv_data, key, plen) != 0)
			break;
		if (max == 0) {
			(*n)++;
			continue;
		}
		if (*n == max)
			break;
		if (notice_from(s, &k, &v, &out[*n]))
			(*n)++;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? RX_OK : from_mdb(rc);
}

rx_err_t store_notices(store_t *s, const char *pharmacy, uint64_t after, size_t max,
		       store_notice_t **out, size_t *n)
{
	MDB_txn *txn;
	rx_err_t err;
	*out = NULL;
	*n = 0;
	if ((*out = calloc(max ? max : 1, sizeof **out)) == NULL)
		return RX_SYSTEM;
	if ((err = read_begin(s, &txn)) == RX_OK) {
		err = max ? each_notice(txn, s, pharmacy, after, max, *out, n) : RX_OK;
		mdb_txn_abort(txn);
	}
	if (err != RX_OK) {
		free(*out);
		*out = NULL;
	}
	return err;
}

/* WATCH: the pharmacy's count of waiting notices (the broker pushes them
 * after the reply).  ACK seq...: remove the pharmacy's notices with these
 * seqs; one already removed counts as done. */
static rx_err_t do_watch_ack(MDB_txn *txn, store_t *s, const store_change_t *c,
			     const store_key_t *actor, store_outcome_t *out)
{
	size_t n = 0;
	if (c->op == RX_OP_WATCH) {
		rx_err_t err = each_notice(txn, s, actor->institution, 0, 0, NULL, &n);
		if (err != RX_OK)
			RETURN_REFUSAL(err, "storage error reading the notices");
		out->count = (uint32_t)n;
		return RX_OK;
	}
	if (c->nacks == 0 || c->nacks > STORE_MAX_ACKS)
		RETURN_REFUSAL(RX_INVALID, "ACK names 1 to 256 notice seqs");
	for (size_t i = 0; i < c->nacks; i++) {
		uint8_t key[RX_INSTITUTION_MAX + 9];
		MDB_val k = val(key, notice_key(key, actor->institution, c->acks[i]));
		int rc = mdb_del(txn, s->notices, &k, NULL);
		if (rc == 0)
			n++;
		else if (rc != MDB_NOTFOUND)
			RETURN_REFUSAL(from_mdb(rc), "storage error removing the notice");
	}
	out->count = (uint32_t)n;
	return RX_OK;
}

/* LOG: the patient's own access log.  The card itself signs the request,
 * through a patient portal's connection (portal_card); no clinic or
 * pharmacy key is involved. */
static rx_err_t do_log(MDB_txn *txn, store_t *s, const store_change_t *c,
		       char patient[RX_PATIENT_ID_LEN + 1], store_audit_t **log, size_t *n,
		       store_outcome_t *out)
{
	rx_err_t err = portal_card(txn, s, c, patient, out);
	if (err != RX_OK)
		return err;
	if ((err = patient_entries(txn, s, patient, 500, log, n)) != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the audit log");
	return RX_OK;
}

/* Past the reserve only what finishes a claimed prescription goes on:
 * DISPENSE, RELEASE, and CANCEL (of a claimed one, checked where its state
 * is known).  Everything else, reads and refusals included (each would add
 * an audit entry), is refused first, and not audited. */
static int finishing(const store_change_t *c)
{
	return c->op == RX_OP_DISPENSE || c->op == RX_OP_RELEASE || c->op == RX_OP_CANCEL;
}

/* The audit entry for a request: who (key and connection), what, on whose
 * prescription, and how it ended. */
static int audit_request(MDB_txn *txn, store_t *s, const store_change_t *c, rx_err_t outcome,
			 const char *why, const char *id, const char *patient)
{
	audit_event_t e = {
		.at = c->now,
		.actor = c->actor,
		.institution = c->peer,
		.action = rx_op_name(c->op),
		.id = id,
		.patient = patient,
		.outcome = outcome,
		.detail = why,
	};
	return audit_append(txn, &s->audit, &e);
}

/* See store_int.h. */
int st_audit_operator(MDB_txn *txn, store_t *s, int64_t now, const char *action, const char *id,
		      const char *patient, const char *detail)
{
	audit_event_t e = {.at = now, .action = action, .id = id, .patient = patient,
			   .outcome = RX_OK, .detail = detail};
	return audit_append(txn, &s->audit, &e);
}

rx_err_t store_change(store_t *s, const store_change_t *c, store_reply_fn fn, void *arg,
		      store_outcome_t *out, store_buf_t *reply)
{
	MDB_txn *txn = NULL;
	Rxstore__RxRecord *stored = NULL;
	Rxstore__RxRecord fresh = RXSTORE__RX_RECORD__INIT, *r = &fresh;
	store_key_t actor;
	store_rx_t *list = NULL, one;
	store_audit_t *log = NULL;
	Rxstore__DispenseRow *drows[RX_MAX_USES];
	store_dispense_t disp[RX_MAX_USES];
	size_t ndrows = 0;
	uint8_t rkey[RX_KEY_LEN + RX_REQUEST_ID_LEN], token[RX_TOKEN_LEN], hash[RX_HASH_LEN],
		code[RX_HASH_LEN];
	char id[RX_ID_LEN + 1] = "", patient[RX_PATIENT_ID_LEN + 1] = "",
	     notified[RX_INSTITUTION_MAX + 1] = "";
	const char *detail = NULL;
	const rx_op_info_t *info = rx_op_info(c->op);
	int reading = info ? info->read : 0, dirty = info ? info->rewrites_rx : 0, wrote = 0;
	rx_err_t err;
	int rc;

	memset(out, 0, sizeof *out);
	reply->data = NULL;
	reply->len = 0;
	if (info == NULL) {
		out->why = "unknown op";
		return RX_INVALID;
	}
	/* In a batch, a nested transaction: its changes join the batch's, which
	 * one commit makes durable; a refusal discards only its own. */
	if ((rc = mdb_txn_begin(s->env, s->batch, 0, &txn)) != 0) {
		out->why = "storage unavailable";
		return from_mdb(rc);
	}

	MDB_val k;
	memcpy(rkey, c->actor, RX_KEY_LEN);
	memcpy(rkey + RX_KEY_LEN, c->request_id, RX_REQUEST_ID_LEN);
	k = val(rkey, sizeof rkey);
	/* Authorise before looking anything up for the caller: a refusal here
	 * is audited like any other. */
	if ((err = check_institution(txn, s, c->actor, c->peer, out)) != RX_OK)
		goto fail;
	err = replay(txn, s, rkey, c->peer, c->call_hash, out, reply);
	if (err != RX_NOT_FOUND) {
		mdb_txn_abort(txn);
		return err;
	}
	if (!finishing(c) && st_map_nearly_full(s)) {
		err = RX_STORAGE_FULL;
		out->why = "storage reached its dispensing reserve: only dispensing, releasing or cancelling claimed prescriptions is accepted";
		goto fail;
	}

	if (c->op == RX_OP_LOG) {
		if ((err = do_log(txn, s, c, patient, &log, &out->nlog, out)) != RX_OK)
			goto fail;
		out->log = log;
		copy_str(out->rx.patient_id, sizeof out->rx.patient_id, patient);
		wrote = 1;
	} else if (c->op == RX_OP_NOMINATE) {
		if ((err = do_nominate(txn, s, c, patient, out)) != RX_OK)
			goto fail;
		copy_str(out->rx.patient_id, sizeof out->rx.patient_id, patient);
	} else {
		unsigned mask = info->callers & (RX_CALLER_PRESCRIBER | RX_CALLER_PHARMACY);
		if ((err = check_actor(txn, s, c->actor, c->peer, mask, &actor, out)) != RX_OK)
			goto fail;
		if (c->card) {
			if ((err = use_card(txn, s, c, &actor, patient, out)) != RX_OK)
				goto fail;
			wrote = 1;
		}
	}

	if (c->op == RX_OP_LOG || c->op == RX_OP_NOMINATE) {
		/* done above */
	} else if (c->op == RX_OP_WATCH || c->op == RX_OP_ACK) {
		err = do_watch_ack(txn, s, c, &actor, out);
	} else if (c->op == RX_OP_SUBMIT) {
		if (!patient[0]) {
			err = RX_INVALID;
			out->why = "SUBMIT needs the patient's card assertion (purpose issue)";
			goto fail;
		}
		err = do_submit(txn, s, c, &actor, patient, r, id, hash, code, out);
	} else if (c->op == RX_OP_LIST && !(c->id && c->access_code)) {
		err = do_list(txn, s, c, patient, &list, &out->n, out);
		out->list = list;
		copy_str(out->rx.patient_id, sizeof out->rx.patient_id, patient);
	} else {
		if ((err = st_get_rx(txn, s, c->id, &stored)) != RX_OK) {
			out->why = err == RX_NOT_FOUND ? "no prescription has this id" : "storage error";
			goto fail;
		}
		/* Change a shallow copy: its fields may be re-pointed at our own
		 * buffers, while stored keeps what protobuf-c allocated and frees. */
		fresh = *stored;
		copy_str(id, sizeof id, c->id);
		switch (c->op) {
		case RX_OP_CLAIM:
			if ((err = may_access(txn, s, c, &actor, patient, id, r, &dirty, &wrote, out)) ==
			    RX_OK)
				err = do_claim(c, r, token, out);
			out->use = current_use(r);
			break;
		case RX_OP_STATUS:
			err = may_access(txn, s, c, &actor, patient, id, r, &dirty, &wrote, out);
			if (err == RX_OK &&
			    (err = load_dispenses(txn, s, id, r, drows, disp, &ndrows)) != RX_OK)
				out->why = "storage error reading a dispense record of this prescription";
			out->dispenses = disp;
			out->ndispenses = ndrows;
			out->body = r->body.data;
			out->body_len = r->body.len;
			out->signature = r->signature.data;
			break;
		case RX_OP_LIST: /* one prescription, by its id and access code */
			err = may_access(txn, s, c, &actor, patient, id, r, &dirty, &wrote, out);
			st_rx_from_record(id, r, c->now, &one);
			memset(one.claim_token, 0, RX_TOKEN_LEN);
			if (one.state == RX_STATE_ISSUED || one.state == RX_STATE_CLAIMED) {
				out->list = &one;
				out->n = 1;
			}
			break;
		case RX_OP_RELEASE:
			err = do_release(c, r, out);
			break;
		case RX_OP_DISPENSE:
			err = do_dispense(txn, s, c, r, out);
			break;
		case RX_OP_CANCEL:
			if (effective_state(r, c->now) != RX_STATE_CLAIMED && st_map_nearly_full(s)) {
				err = RX_STORAGE_FULL;
				out->why = "storage reached its dispensing reserve: only a claimed prescription may be cancelled";
			} else if ((err = do_cancel(c, r, out)) == RX_OK)
				err = notify_cancel(txn, s, c, id, r, out);
			break;
		default:
			err = RX_INVALID;
			out->why = "unknown op";
		}
	}
	if (err == RX_OK && (c->op == RX_OP_SUBMIT || c->op == RX_OP_CLAIM) && drugs_active(txn, &s->drugs))
		err = check_medication(txn, s, c, r, id, &detail, out);
	/* Only a submit that stands is announced to the nominated pharmacy. */
	if (err == RX_OK && c->op == RX_OP_SUBMIT)
		err = notify_submit(txn, s, c, id, r, notified, out);
	if (err != RX_OK)
		goto fail;

	if (dirty) {
		r->updated_at = c->now;
		MDB_val idk = val(id, RX_ID_LEN);
		if ((rc = st_put_sealed(s, txn, s->rx, "rx", &idk, &r->base, 0)) != 0 ||
		    (rc = st_counts_move(txn, s, stored ? (int)stored->state : 0, (int)r->state)) != 0) {
			err = from_mdb(rc);
			out->why = "storage error writing the prescription";
			goto fail;
		}
	}
	if (id[0])
		st_rx_from_record(id, r, c->now, &out->rx);
	if (c->op == RX_OP_STATUS && memcmp(out->rx.claimer, c->actor, RX_KEY_LEN) != 0)
		memset(out->rx.claim_token, 0, RX_TOKEN_LEN); /* the claimer's secret */

	if ((err = fn(arg, c, out, reply)) != RX_OK) {
		out->why = "could not build the reply";
		goto fail;
	}
	out->body = out->signature = NULL;
	out->list = NULL;
	out->log = NULL;
	out->dispenses = NULL;
	out->ndispenses = 0;
	/* A plain read changes nothing and its reply is not kept; but it read
	 * patient data, so its audit entry is committed like any other. */
	if (!(reading && !wrote)) {
		Rxstore__RequestRow row = RXSTORE__REQUEST_ROW__INIT;
		row.version = 1;
		set_bytes(&row.call_hash, (uint8_t *)c->call_hash, RX_HASH_LEN);
		row.at = c->now;
		row.institution = (char *)(c->peer ? c->peer : "");
		set_bytes(&row.reply, reply->data, reply->len);
		uint8_t tkey[8 + RX_KEY_LEN + RX_REQUEST_ID_LEN];
		be64(tkey, c->now);
		memcpy(tkey + 8, rkey, sizeof rkey);
		MDB_val tk = val(tkey, sizeof tkey), none = val("", 0);
		if ((rc = st_put_sealed(s, txn, s->requests, "requests", &k, &row.base, MDB_NOOVERWRITE)) !=
			    0 ||
		    (rc = mdb_put(txn, s->requests_at, &tk, &none, 0)) != 0) {
			err = from_mdb(rc);
			out->why = "storage error writing the reply";
			goto fail;
		}
	}
	rc = c->heartbeat && c->op == RX_OP_WATCH
		     ? 0
		     : audit_request(txn, s, c, RX_OK, detail, id, out->rx.patient_id);
	if (rc != 0 && !(reading && !wrote)) {
		err = from_mdb(rc);
		out->why = "storage error writing the audit log";
		goto fail;
	}
	/* A plain read is answered even when the disk refuses its audit entry:
	 * a pharmacist must see a prescription while storage is failing.  The
	 * broker's log records the read instead (out->audit_lost). */
	if (reading && !wrote) {
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		txn = NULL;
		out->audit_lost = rc != 0;
		rc = 0;
	} else {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc != 0) {
		err = from_mdb(rc);
		out->why = "storage error committing the change";
		goto fail;
	}
	if (stored)
		rxstore__rx_record__free_unpacked(stored, NULL);
	free_dispenses(drows, ndrows);
	free(list);
	free(log);
	return RX_OK;
fail:
	/* A refusal changes nothing but the audit log, which records it, and,
	 * for a refused access code, the count and the record of the attempt. */
	if (txn && !out->commit) {
		mdb_txn_abort(txn);
		txn = NULL;
	}
	/* Past the reserve a refusal is recorded only for what finishes a claim:
	 * a flood of refusals must not spend the room a DISPENSE needs.  (Step F
	 * refused everything else before any code attempt could be counted;
	 * should one be, it is not sent unrecorded.) */
	int record = finishing(c) || !st_map_nearly_full(s);
	if (!record && out->commit) {
		err = RX_UNAVAILABLE;
		out->why = "storage reached its dispensing reserve: the attempt could not be recorded";
	}
	if (err != RX_UNAVAILABLE && err != RX_SYSTEM && err != RX_STORAGE_FULL && record &&
	    (txn || mdb_txn_begin(s->env, s->batch, 0, &txn) == 0)) {
		MDB_val idk = val(id, RX_ID_LEN);
		const char *whose = stored ? stored->patient_id : patient;
		rc = 0;
		if (out->commit && dirty && id[0])
			rc = st_put_sealed(s, txn, s->rx, "rx", &idk, &r->base, 0);
		if (rc == 0 && out->commit && dirty && id[0] && stored)
			rc = st_counts_move(txn, s, (int)stored->state, (int)r->state);
		if (rc == 0)
			rc = audit_request(txn, s, c, err, out->why, c->id ? c->id : id, whose);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		txn = NULL;
		/* A refusal, too, states only what is durable: its record (and
		 * any code attempt) was not kept, so it is not sent. */
		if (rc != 0) {
			err = from_mdb(rc);
			out->why = out->commit ? "storage error recording the attempt"
					       : "storage error recording the refusal";
		}
	}
	if (txn)
		mdb_txn_abort(txn);
	if (stored)
		rxstore__rx_record__free_unpacked(stored, NULL);
	free_dispenses(drows, ndrows);
	out->dispenses = NULL;
	out->ndispenses = 0;
	free(list);
	free(log);
	store_buf_free(reply);
	return err;
}

/* See store_int.h. */
rx_err_t st_dup_buf(store_buf_t *b, ProtobufCBinaryData d)
{
	if (b == NULL)
		return RX_OK;
	if ((b->data = malloc(d.len ? d.len : 1)) == NULL)
		return RX_SYSTEM;
	memcpy(b->data, d.data, d.len);
	b->len = d.len;
	return RX_OK;
}

rx_err_t store_status(store_t *s, const uint8_t actor[RX_KEY_LEN], const char *peer,
		      const char *id, int64_t now, store_rx_t *out_rx, store_buf_t *body, store_buf_t *sig,
		      const char **why)
{
	MDB_txn *txn;
	store_key_t k;
	Rxstore__RxRecord *r = NULL;
	store_outcome_t o = {0}, *out = &o;
	store_change_t c = {.op = RX_OP_STATUS, .actor = actor, .peer = peer, .id = id, .now = now};
	int dirty = 0, wrote = 0;
	rx_err_t err;

	if ((err = read_begin(s, &txn)) != RX_OK) {
		*why = "storage unavailable";
		return err;
	}
	if ((err = check_actor(txn, s, actor, peer, RX_CALLER_PRESCRIBER | RX_CALLER_PHARMACY, &k,
			       out)) != RX_OK)
		goto done;
	if ((err = st_get_rx(txn, s, id, &r)) != RX_OK) {
		o.why = err == RX_NOT_FOUND ? "no prescription has this id" : "storage error";
		goto done;
	}
	if ((err = may_access(txn, s, &c, &k, "", id, r, &dirty, &wrote, out)) != RX_OK)
		goto done;
	st_rx_from_record(id, r, now, out_rx);
	/* The claim token is the claimer's secret. */
	if (memcmp(out_rx->claimer, actor, RX_KEY_LEN) != 0)
		memset(out_rx->claim_token, 0, RX_TOKEN_LEN);
	if ((err = st_dup_buf(body, r->body)) != RX_OK || (err = st_dup_buf(sig, r->signature)) != RX_OK) {
		store_buf_free(body);
		o.why = "out of memory";
	}
done:
	if (r)
		rxstore__rx_record__free_unpacked(r, NULL);
	mdb_txn_abort(txn);
	*why = o.why;
	return err;
}

/* ---- the audit log, for the operator and the patient ---- */

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
	rx_err_t err = read_begin(s, &txn);
	int rc;
	*out = NULL;
	*count = 0;
	if (err != RX_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, s->audit.log, &cur)) != 0) {
		mdb_txn_abort(txn);
		return from_mdb(rc);
	}
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

/* A patient's audit entries inside txn, the newest max, oldest first. */
static rx_err_t patient_entries(MDB_txn *txn, store_t *s, const char *patient, size_t max,
				store_audit_t **out, size_t *count)
{
	MDB_cursor *cur;
	size_t cap = 0, plen = strlen(patient);
	rx_err_t err = RX_OK;
	int rc;
	*out = NULL;
	*count = 0;
	if (plen == 0 || plen > RX_PATIENT_ID_LEN)
		return RX_INVALID;
	if ((rc = mdb_cursor_open(txn, s->audit.by_patient, &cur)) != 0)
		return from_mdb(rc);
	MDB_val k = val(patient, plen), v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == plen + 8 && memcmp(k.mv_data, patient, plen) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		MDB_val sk = val((uint8_t *)k.mv_data + plen, 8), ev;
		if (mdb_get(txn, s->audit.log, &sk, &ev) != 0)
			continue;
		if (push_entry(out, count, &cap, &ev) != 0) {
			err = RX_SYSTEM;
			break;
		}
	}
	mdb_cursor_close(cur);
	if (err == RX_OK && *count > max) { /* keep the newest max */
		memmove(*out, *out + (*count - max), max * sizeof **out);
		*count = max;
	}
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
	err = patient_entries(txn, s, patient, max, out, count);
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
	rx_err_t err = read_begin(s, &txn);
	int rc;
	if (err != RX_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, s->audit.log, &cur)) != 0) {
		mdb_txn_abort(txn);
		return from_mdb(rc);
	}
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
