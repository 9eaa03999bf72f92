/* store/rx.c: prescriptions and the state machine.
 *
 * A prescription's record and what is kept beside it (its counts by state,
 * its expiry, the dispense record of each use), and the steps that change
 * it: SUBMIT, CLAIM, STATUS, RELEASE, DISPENSE, CANCEL.  Each step runs
 * inside the change's transaction (change.c) once the caller is known, and
 * returns RX_OK with ch->r changed for writing, or a refusal with out->why;
 * who may see or claim a prescription is proof.c's to say. */
#include "store_int.h"

#include <lmdb.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drugs.h"
#include "records.pb-c.h"
#include "rx.pb-c.h"
#include "rx_check.h"
#include "rx_crypto.h"
#include "rx_ids.h"

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
	o->cancel_reason = (int)r->cancel_reason;
	o->inquiry_open = r->inquiry_open != 0;
	copy_bytes(o->claimer, RX_KEY_LEN, r->claimer_key);
	copy_bytes(o->claim_token, RX_TOKEN_LEN, r->claim_token);
	copy_str(o->patient_id, sizeof o->patient_id, r->patient_id);
	copy_bytes(o->prescriber, RX_KEY_LEN, r->prescriber_key);
	copy_str(o->institution, sizeof o->institution, r->institution_code);
	o->issued_at = r->issued_at;
	o->valid_until = r->valid_until;
	o->opens_at = r->opens_at;
	o->created_at = r->created_at;
	o->updated_at = r->updated_at;
	copy_bytes(o->body_hash, RX_HASH_LEN, r->body_hash);
}

/* See store_int.h.  The number is the id's value undone by the store's
 * permutation (always below 2^55, so a key that sorts before every id). */
int st_rx_key(MDB_txn *txn, store_t *s, const char *id, st_rxkey_t *k)
{
	be64(k->b, (int64_t)rx_id_unpermute(s->id_key, rx_rxid_value(id)));
	k->len = 8;
	if (!s->legacy_ids)
		return 0;
	/* A store that holds prescriptions filed under their ids: the number
	 * if it is filed, else the id if that is. */
	MDB_val nk = val(k->b, 8), ik = val(id, RX_ID_LEN), v;
	int rc = mdb_get(txn, s->rx, &nk, &v);
	if (rc != MDB_NOTFOUND)
		return rc;
	if ((rc = mdb_get(txn, s->rx, &ik, &v)) == 0) {
		memcpy(k->b, id, RX_ID_LEN);
		k->len = RX_ID_LEN;
	}
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* See store_int.h. */
int st_rx_key_id(const store_t *s, const MDB_val *k, char id[RX_ID_LEN + 1])
{
	const uint8_t *b = k->mv_data;
	if (k->mv_size == 8) {
		rx_rxid_of_seq(s->id_key, (uint64_t)be64_get(b), id);
		return 1;
	}
	if (k->mv_size != RX_ID_LEN)
		return 0;
	memcpy(id, b, RX_ID_LEN);
	id[RX_ID_LEN] = '\0';
	return 1;
}

/* See store_int.h. */
rx_err_t st_get_rx(MDB_txn *txn, store_t *s, const char *id, Rxstore__RxRecord **rec)
{
	st_rxkey_t rk;
	int rc = st_rx_key(txn, s, id, &rk);
	if (rc != 0)
		return from_mdb(rc);
	MDB_val k = val(rk.b, rk.len), v;
	rc = mdb_get(txn, s->rx, &k, &v);
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


static uint32_t current_use(const Rxstore__RxRecord *r)
{
	return r->uses - r->uses_left + 1;
}

/* Refuse EXPIRED: the prescription's validity, or (a later use of a refill
 * or divided prescription) that use's window, has passed. */
static rx_err_t refuse_expired(const Rxstore__RxRecord *r, store_outcome_t *out)
{
	if (r->uses_left == r->uses)
		RETURN_REFUSAL(RX_EXPIRED, "this prescription is past its validity");
	snprintf(out->why_text, sizeof out->why_text,
		 "use %u of this prescription lapsed: it was not dispensed within its window",
		 current_use(r));
	RETURN_REFUSAL(RX_EXPIRED, out->why_text);
}

/* Refuse NOT_YET_DUE if the current use's window has not opened. */
static rx_err_t check_window(const store_change_t *c, const Rxstore__RxRecord *r, store_outcome_t *out)
{
	if (c->now >= r->opens_at)
		return RX_OK;
	char day[16];
	time_t jst = (time_t)(r->opens_at + 9 * 3600); /* Japan has no daylight saving time */
	struct tm tm;
	gmtime_r(&jst, &tm);
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	snprintf(out->why_text, sizeof out->why_text,
		 "use %u of this prescription opens on %s (Japan time)", current_use(r), day);
	RETURN_REFUSAL(RX_NOT_YET_DUE, out->why_text);
}



/* ---- prescriptions by stored state (counts_t, store_int.h), and the
 * expiry index ---- */

/* See store_int.h. */
int st_counts_get(MDB_txn *txn, store_t *s, counts_t *c)
{
	MDB_val k = val("rx_counts", 9), v;
	int rc = mdb_get(txn, s->meta, &k, &v);
	if (rc != 0)
		return rc;
	const uint8_t *p = v.mv_data;
	size_t n = v.mv_size == 8 + sizeof c->by_state && p[0] == COUNTS_VERSION ? COUNTS_N
		   : v.mv_size == 8 + 8 * (size_t)(RX_STATE_EXPIRED + 1) && p[0] == 1 ? RX_STATE_EXPIRED + 1
											   : 0;
	if (n == 0)
		return MDB_CORRUPTED;
	memset(c->by_state, 0, sizeof c->by_state);
	memcpy(c->by_state, p + 8, n * sizeof c->by_state[0]);
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
int st_expiry_put(MDB_txn *txn, store_t *s, int64_t valid_until, uint64_t order, const char *id)
{
	uint8_t key[8 + 8 + RX_ID_LEN];
	be64(key, valid_until);
	be64(key + 8, (int64_t)order);
	memcpy(key + 16, id, RX_ID_LEN);
	MDB_val k = val(key, sizeof key), v = val("", 0);
	return mdb_put(txn, s->rx_expiry, &k, &v, 0);
}

/* See store_int.h. */
int st_expiry_id(const MDB_val *k, char id[RX_ID_LEN + 1])
{
	if (k->mv_size != 8 + RX_ID_LEN && k->mv_size != 8 + 8 + RX_ID_LEN)
		return 0;
	memcpy(id, (const uint8_t *)k->mv_data + k->mv_size - RX_ID_LEN, RX_ID_LEN);
	id[RX_ID_LEN] = '\0';
	return 1;
}

/* See store_int.h. */
int st_rows_count(MDB_txn *txn, store_t *s, const char *name, uint64_t *n)
{
	MDB_val k = val(name, strlen(name)), v;
	int rc = mdb_get(txn, s->meta, &k, &v);
	*n = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size != sizeof *n)
		return MDB_CORRUPTED;
	memcpy(n, v.mv_data, sizeof *n);
	return 0;
}

/* See store_int.h. */
int st_rows_add(MDB_txn *txn, store_t *s, const char *name)
{
	return st_rows_add_n(txn, s, name, 1);
}

/* See store_int.h. */
int st_rows_add_n(MDB_txn *txn, store_t *s, const char *name, int delta)
{
	uint64_t n;
	int rc = st_rows_count(txn, s, name, &n);
	if (rc != 0)
		return rc;
	n += (uint64_t)(int64_t)delta;
	MDB_val k = val(name, strlen(name)), v = val(&n, sizeof n);
	return mdb_put(txn, s->meta, &k, &v, 0);
}

/* See store_int.h. */
rx_err_t st_load_rx(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	rx_err_t err = st_get_rx(ch->txn, ch->s, ch->c->id, &ch->stored);
	if (err != RX_OK)
		RETURN_REFUSAL(err, err == RX_NOT_FOUND ? "no prescription has this id" : "storage error");
	/* Change a shallow copy: its fields may be re-pointed at our own
	 * buffers, while stored keeps what protobuf-c allocated and frees. */
	ch->fresh = *ch->stored;
	ch->r = &ch->fresh;
	copy_str(ch->id, sizeof ch->id, ch->c->id);
	return RX_OK;
}

/* ---- the state machine: each returns RX_OK with *r updated for writing,
 * or a refusal with out->why.  They run inside the write transaction. ---- */

/* CLAIM ID: ISSUED -> CLAIMED by the caller, with a fresh claim token.
 * The holder claiming again gets its own claim back (a lost reply), also
 * while it hands the use over in parts.
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
		return refuse_expired(r, out);
	case RX_STATE_CLAIMED:
	case RX_STATE_PARTIAL:
		if (r->cancel_pending)
			RETURN_REFUSAL(RX_CANCELLED, "the prescriber is cancelling this prescription");
		if (r->claimer_key.len == RX_KEY_LEN &&
		    memcmp(r->claimer_key.data, c->actor, RX_KEY_LEN) == 0)
			return RX_OK;
		RETURN_REFUSAL(RX_ALREADY_CLAIMED, "another pharmacy has claimed this prescription");
	default:
		break;
	}
	rx_err_t err = check_window(c, r, out);
	if (err != RX_OK)
		return err;
	randombytes_buf(token, RX_TOKEN_LEN);
	r->state = RX_STATE_CLAIMED;
	set_bytes(&r->claimer_key, (uint8_t *)c->actor, RX_KEY_LEN);
	set_bytes(&r->claim_token, token, RX_TOKEN_LEN);
	return RX_OK;
}

/* See store_int.h. */
rx_err_t st_check_claim(const store_change_t *c, const Rxstore__RxRecord *r, store_outcome_t *out)
{
	if (!st_held((int)r->state) || r->claimer_key.len != RX_KEY_LEN ||
	    memcmp(r->claimer_key.data, c->actor, RX_KEY_LEN) != 0)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "this prescription is not claimed by you");
	if (r->claim_token.len != RX_TOKEN_LEN ||
	    sodium_memcmp(r->claim_token.data, c->claim_token, RX_TOKEN_LEN) != 0)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "the claim token does not match your claim");
	return RX_OK;
}

/* See store_int.h. */
int st_put_rx(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r, int from)
{
	st_rxkey_t rk;
	int rc = st_rx_key(txn, s, id, &rk);
	if (rc != 0)
		return rc;
	MDB_val k = val(rk.b, rk.len);
	rc = st_put_sealed(s, txn, s->rx, "rx", &k, &r->base, 0);
	return rc != 0 ? rc : st_counts_move(txn, s, from, (int)r->state);
}

/* See store_int.h. */
void st_clear_claim(Rxstore__RxRecord *r)
{
	set_bytes(&r->claimer_key, NULL, 0);
	set_bytes(&r->claim_token, NULL, 0);
}

/* RELEASE ID --claim TOKEN: the claimer gives it back: CLAIMED -> ISSUED, or
 * -> CANCELLED if the prescriber cancelled meanwhile.  Allowed past expiry.
 * Part of a use handed over, only the prescriber's cancel ends the claim
 * (5.13).  Refusals: PERMISSION_DENIED, ALREADY_DISPENSED, CANCELLED,
 * PARTLY_DISPENSED. */
static rx_err_t do_release(const store_change_t *c, Rxstore__RxRecord *r, store_outcome_t *out)
{
	if (r->state == RX_STATE_DISPENSED)
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "every use of this prescription has been dispensed");
	if (r->state == RX_STATE_CANCELLED)
		RETURN_REFUSAL(RX_CANCELLED, "the prescriber cancelled this prescription");
	if (r->state == RX_STATE_EXPIRED)
		RETURN_REFUSAL(RX_EXPIRED, "this prescription expired and its claim was dropped");
	rx_err_t err = st_check_claim(c, r, out);
	if (err != RX_OK)
		return err;
	if (r->state == RX_STATE_PARTIAL && !r->cancel_pending)
		RETURN_REFUSAL(RX_PARTLY_DISPENSED, "part of this use has been handed over: dispense the rest, "
						    "or close the items owed as not dispensed");
	r->state = r->cancel_pending ? RX_STATE_CANCELLED : RX_STATE_ISSUED;
	r->cancel_pending = 0;
	r->parts = 0;
	r->n_owed = 0;
	st_clear_claim(r);
	return RX_OK;
}

/* The checks of a DISPENSE that belong to parts (5.13): while a use is
 * handed over in parts the record must be its next part (one recorded
 * already is ALREADY_DISPENSED: exactly once per part), and the use's
 * window no longer applies; else a record is the whole use (part 0) or its
 * first part, inside the window. */
static rx_err_t check_part(const store_change_t *c, const Rxstore__RxRecord *r, store_outcome_t *out)
{
	if (r->state == RX_STATE_PARTIAL) {
		if (c->part && c->part <= r->parts) {
			snprintf(out->why_text, sizeof out->why_text,
				 "part %u of this use was already recorded", c->part);
			RETURN_REFUSAL(RX_ALREADY_DISPENSED, out->why_text);
		}
		if (c->part != r->parts + 1) {
			snprintf(out->why_text, sizeof out->why_text,
				 "this use is being handed over in parts: the next record is part %u", r->parts + 1);
			RETURN_REFUSAL(RX_INVALID, out->why_text);
		}
		return RX_OK;
	}
	if (c->part > 1)
		RETURN_REFUSAL(RX_INVALID, "a use's first part is part 1");
	if (c->now >= r->valid_until)
		return refuse_expired(r, out);
	return check_window(c, r, out);
}

/* DISPENSE ID --claim TOKEN RECORD: CLAIMED -> DISPENSED, or ISSUED with one
 * use fewer for a refill; a part that leaves items owed -> PARTIALLY_DISPENSED,
 * the claim kept.  Refusals: ALREADY_DISPENSED, CANCELLED, EXPIRED,
 * NOT_YET_DUE, PERMISSION_DENIED, INVALID (record names another use, or is
 * not the next part). */
static rx_err_t do_dispense(store_pending_t *ch)
{
	MDB_txn *txn = ch->txn;
	store_t *s = ch->s;
	const store_change_t *c = ch->c;
	Rxstore__RxRecord *r = ch->r;
	store_outcome_t *out = ch->out;
	uint8_t dkey[RX_ID_LEN + 1];
	uint32_t use = c->use ? c->use : current_use(r);
	MDB_val k, v;

	/* In either tree: a use dispensed before format 3 stays dispensed.  Not
	 * found, k is where this use's row goes, beside the record. */
	int rc = st_get_dispense(txn, s, c->id, use, dkey, &k, &v);
	if (rc == 0)
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "this use of the prescription was already dispensed");
	if (rc != MDB_NOTFOUND)
		RETURN_REFUSAL(from_mdb(rc), "storage error");
	/* The same claim dispensed again under a new request id, after the
	 * claim is gone (a refill then has its next use open). */
	if (st_dispensed_by(txn, s, c->id, r, c->actor, c->claim_token))
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "this claim was already dispensed");
	if (r->state == RX_STATE_DISPENSED)
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "every use of this prescription has been dispensed");
	if (r->state == RX_STATE_CANCELLED)
		RETURN_REFUSAL(RX_CANCELLED, "the prescriber cancelled this prescription");
	if (r->state == RX_STATE_EXPIRED)
		RETURN_REFUSAL(RX_EXPIRED, "this prescription is past its validity");
	rx_err_t err = st_check_claim(c, r, out);
	if (err != RX_OK)
		return err;
	if (r->cancel_pending)
		RETURN_REFUSAL(RX_CANCELLED, "the prescriber cancelled this prescription; release it");
	if (r->inquiry_open)
		RETURN_REFUSAL(RX_INQUIRY_PENDING, "an inquiry to the prescriber waits for its answer");
	if ((err = check_part(c, r, out)) != RX_OK)
		return err;
	if (use != current_use(r))
		RETURN_REFUSAL(RX_INVALID, "the dispense record names a use other than the one claimed");
	/* Verified when it was submitted, and stored verbatim. */
	Rx__Prescription *p = rx__prescription__unpack(NULL, r->body.len, r->body.data);
	if (p == NULL)
		RETURN_REFUSAL(RX_UNAVAILABLE, "the stored prescription does not decode");
	err = st_check_lines(ch, p);
	uint32_t days = rx_use_days(p, use);
	int open = err == RX_OK && st_owed_after(ch, p);
	rx__prescription__free_unpacked(p, NULL);
	if (err != RX_OK)
		return err;

	Rxstore__DispenseRow row = RXSTORE__DISPENSE_ROW__INIT;
	row.version = 1;
	set_bytes(&row.pharmacy_key, (uint8_t *)c->actor, RX_KEY_LEN);
	row.at = c->now;
	set_bytes(&row.body, (uint8_t *)c->body, c->body_len);
	set_bytes(&row.signature, (uint8_t *)c->signature, RX_SIG_LEN);
	set_bytes(&row.claim_token, (uint8_t *)c->claim_token, RX_TOKEN_LEN);
	row.use_opens_at = r->opens_at;
	row.use_valid_until = r->valid_until;
	row.part = c->part;
	out->use = use;
	if (open) {
		/* Kept before the use's current record; the claim stays. */
		if ((rc = st_part_put(txn, s, c->id, use, &row)) == MDB_MAP_FULL)
			RETURN_REFUSAL(RX_INVALID, "this use keeps no more parts: dispense the rest or close it");
		if (rc != 0)
			RETURN_REFUSAL(from_mdb(rc), "storage error writing the part");
		r->state = RX_STATE_PARTIAL;
		r->parts = c->part;
		ch->detail = "a part: items still owed";
		return RX_OK;
	}
	rc = st_put_sealed(s, txn, s->rx, "dispenses", &k, &row.base, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "this use of the prescription was already dispensed");
	if (rc == 0)
		rc = st_rows_add(txn, s, "rx_dispensed");
	if (rc != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error writing the dispense record");
	if (c->part)
		ch->detail = "the last part: nothing owed";
	r->uses_left--;
	r->state = r->uses_left ? RX_STATE_ISSUED : RX_STATE_DISPENSED;
	r->parts = 0;
	st_clear_claim(r);
	if (r->uses_left == 0)
		return RX_OK;
	/* The next use's window (proto/README 5.11), due from this dispense,
	 * and its place in the expiry index (the old entry is passed over). */
	uint64_t order;
	uint8_t head[RX_HASH_LEN];
	rx_next_window(c->now, days, &r->opens_at, &r->valid_until);
	if ((rc = audit_head(txn, &s->audit, &order, head)) != 0 ||
	    (rc = st_expiry_put(txn, s, r->valid_until, order, c->id)) != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error");
	return RX_OK;
}

/* CANCEL ID: the issuing prescriber withdraws it: ISSUED -> CANCELLED;
 * CLAIMED or PARTIALLY_DISPENSED -> cancel pending (the claimer's dispense is refused, its release
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
	case RX_STATE_PARTIAL:
		if (r->cancel_pending)
			RETURN_REFUSAL(RX_CANCELLED, "a cancel is already pending");
		r->cancel_pending = 1;
		r->cancel_reason = (uint32_t)c->cancel_reason;
		r->inquiry_open = 0; /* moot: the prescription is withdrawn */
		return RX_OK;
	default:
		r->state = RX_STATE_CANCELLED;
		r->cancel_reason = (uint32_t)c->cancel_reason;
		r->inquiry_open = 0;
		return RX_OK;
	}
}

/* SUBMIT: a new prescription, ISSUED.  The store picks its id.
 * Refusals: PERMISSION_DENIED (institution is not the key's), NOT_FOUND
 * (patient not enrolled), CONFLICT (this signed prescription was submitted
 * before). */
static rx_err_t do_submit(store_pending_t *ch)
{
	MDB_txn *txn = ch->txn;
	store_t *s = ch->s;
	const store_change_t *c = ch->c;
	const store_key_t *k = &ch->actor;
	const char *patient = ch->patient;
	Rxstore__RxRecord *r = ch->r;
	char *id = ch->id;
	uint8_t *hash = ch->hash, *code = ch->code;
	store_outcome_t *out = ch->out;
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
	/* The resubmission guard: found in rx_hash or among the prescriptions
	 * not merged into it yet (guard.c); this one's is added once it has
	 * committed into the batch (store_change_commit). */
	rx_hash(c->body, c->body_len, hash);
	if ((rc = st_guard_find(txn, s, c->issued_at, c->content_hash)) == MDB_KEYEXIST)
		RETURN_REFUSAL(RX_CONFLICT, "this prescription was already submitted (under another request id)");
	if (rc != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error");
	if (st_guard_reserve(s) != 0)
		RETURN_REFUSAL(RX_SYSTEM, "out of memory");
	/* The next number (meta "rx_seq" is the last given) and its id: the
	 * record appends at the end of rx, and the id, the number under the
	 * store's permutation, is as hard to guess as 55 random bits.  In a
	 * store that also holds prescriptions filed under their ids, a number
	 * whose id is one of them is passed over. */
	uint64_t seq;
	if ((rc = st_rows_count(txn, s, "rx_seq", &seq)) != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error");
	for (;;) {
		if (++seq >> RX_ID_VALUE_BITS)
			RETURN_REFUSAL(RX_UNAVAILABLE, "the store has given every prescription id");
		rx_rxid_of_seq(s->id_key, seq, id);
		if (!s->legacy_ids)
			break;
		key = val(id, RX_ID_LEN);
		if ((rc = mdb_get(txn, s->rx, &key, &v)) == MDB_NOTFOUND)
			break;
		if (rc != 0)
			RETURN_REFUSAL(from_mdb(rc), "storage error");
	}
	key = val("rx_seq", 6);
	MDB_val seqv = val(&seq, sizeof seq);
	if ((rc = mdb_put(txn, s->meta, &key, &seqv, 0)) != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error");
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
	st_code_hash(s, id, c->new_access_code, code);
	set_bytes(&r->access_hash, code, RX_HASH_LEN);

	ch->seq = seq;
	/* Every change that stands appends to the audit log before the next
	 * begins: its length orders a day's expiries, and a patient's
	 * prescriptions, by submission. */
	uint64_t order;
	uint8_t head[RX_HASH_LEN];
	if ((rc = audit_head(txn, &s->audit, &order, head)) != 0 ||
	    (rc = st_patient_rx_put(txn, s, patient, order, id)) != 0 ||
	    (rc = st_expiry_put(txn, s, r->valid_until, order, id)) != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error");
	return RX_OK;
}

/* ---- the steps: one per op that reads or changes a prescription ---- */

/* See store_int.h.  SUBMIT: the card's patient's new prescription, checked
 * for duplicate medication, then announced to the nominated pharmacy
 * (only a submit that stands is). */
rx_err_t st_submit(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	rx_err_t err;
	if (!ch->patient[0])
		RETURN_REFUSAL(RX_INVALID, "SUBMIT needs the patient's card assertion (purpose issue)");
	if ((err = do_submit(ch)) == RX_OK && (err = st_check_medication(ch)) == RX_OK)
		err = st_notify_submit(ch);
	return err;
}

/* See store_int.h.  CLAIM: proof, the claim, then the duplicate check
 * (findings are warnings for a claim, never a refusal). */
rx_err_t st_claim(store_pending_t *ch)
{
	rx_err_t err = st_load_rx(ch);
	if (err != RX_OK)
		return err;
	if ((err = st_may_access(ch)) == RX_OK)
		err = do_claim(ch->c, ch->r, ch->token, ch->out);
	ch->out->use = current_use(ch->r);
	if (err == RX_OK)
		err = st_check_medication(ch);
	return err;
}

/* See store_int.h.  STATUS: proof, then the prescription with its signed
 * body and the dispense record of every use dispensed. */
rx_err_t st_status(store_pending_t *ch)
{
	rx_err_t err = st_load_rx(ch);
	if (err != RX_OK)
		return err;
	return (err = st_may_access(ch)) == RX_OK ? st_status_body(ch) : err;
}

/* See store_int.h. */
rx_err_t st_status_body(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	rx_err_t err = st_load_dispenses(ch);
	if (err != RX_OK)
		out->why = "storage error reading a dispense record of this prescription";
	else if ((err = st_load_inquiries(ch)) != RX_OK)
		out->why = "storage error reading an inquiry of this prescription";
	out->inquiries = ch->inq;
	out->ninquiries = ch->ninq;
	out->dispenses = ch->disp;
	out->ndispenses = ch->ndrows;
	out->body = ch->r->body.data;
	out->body_len = ch->r->body.len;
	out->signature = ch->r->signature.data;
	return err;
}

/* See store_int.h. */
rx_err_t st_release(store_pending_t *ch)
{
	rx_err_t err = st_load_rx(ch);
	return err == RX_OK ? do_release(ch->c, ch->r, ch->out) : err;
}

/* See store_int.h.  The issuing clinic is told (5.9). */
rx_err_t st_dispense(store_pending_t *ch)
{
	rx_err_t err = st_load_rx(ch);
	if (err == RX_OK && (err = do_dispense(ch)) == RX_OK)
		err = st_notify_clinic(ch, STORE_NOTICE_DISPENSED, ch->out->use, ch->c->part);
	return err;
}

/* See store_int.h.  CANCEL: past the reserve only a claimed prescription
 * may be cancelled (it finishes a claim); the pharmacies that hold or were
 * sent it are told. */
rx_err_t st_cancel(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	rx_err_t err = st_load_rx(ch);
	if (err != RX_OK)
		return err;
	if (!st_held(effective_state(ch->r, ch->c->now)) && st_map_nearly_full(ch->s))
		RETURN_REFUSAL(RX_STORAGE_FULL, "storage reached its dispensing reserve: only a claimed prescription may be cancelled");
	if ((err = do_cancel(ch->c, ch->r, out)) == RX_OK)
		err = st_notify_cancel(ch);
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

/* See store_int.h. */
int st_rx_log_put(MDB_txn *txn, store_t *s, const char *id, uint64_t seq)
{
	st_rxkey_t rk;
	uint8_t key[RX_ID_LEN + 8];
	int rc = st_rx_key(txn, s, id, &rk);
	if (rc != 0)
		return rc;
	memcpy(key, rk.b, rk.len);
	be64(key + rk.len, (int64_t)seq);
	MDB_val k = val(key, rk.len + 8), none = val("", 0);
	if ((rc = mdb_put(txn, s->rx, &k, &none, MDB_NOOVERWRITE)) != 0)
		return rc;
	return st_rows_add(txn, s, "rx_logged");
}

/* See store_int.h. */
int st_rx_log_each(MDB_txn *txn, store_t *s, const char *id, int (*fn)(uint64_t seq, void *arg),
		   void *arg)
{
	st_rxkey_t rk;
	MDB_cursor *cur;
	int rc = st_rx_key(txn, s, id, &rk);
	if (rc != 0 || (rc = mdb_cursor_open(txn, s->rx, &cur)) != 0)
		return rc;
	MDB_val k = val(rk.b, rk.len), v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size >= rk.len && memcmp(k.mv_data, rk.b, rk.len) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != rk.len + 8)
			continue; /* the record, a dispense row, a code tried */
		if ((rc = fn((uint64_t)be64_get((const uint8_t *)k.mv_data + rk.len), arg)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}
