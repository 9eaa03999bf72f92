/* dispenses: a prescription's dispense records, beside its record in rx
 * (store_int.h): what a record's lines may say against the prescription
 * and what a part leaves owed; the current one of each use, written once by a DISPENSE,
 * and, kept in order before it, the parts of a use handed over in parts
 * (proto/README 5.13) and those an AMEND or WITHDRAW replaced (5.12); what
 * STATUS reads of them; the AMEND and WITHDRAW steps. */
#include "store_int.h"

#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "drugs.h"
#include "records.pb-c.h"
#include "rx.pb-c.h"
#include "rx_check.h"
#include "rx_crypto.h"

/* ---- a record's lines against the prescription (5.10, 5.13) ---- */

/* The units of prescribed item i (from 0) the record at hand accounts
 * for: all of it, but in a part after the first what is still owed.  r is
 * NULL for a whole record (AMEND's, while the next use may be owed). */
static uint32_t owed_of(const Rxstore__RxRecord *r, const Rx__Item *it, size_t i)
{
	return r && r->parts ? (i < r->n_owed ? r->owed[i] : 0) : it->quantity;
}

/* See store_int.h.  A DISPENSE's lines against the prescribed items
 * (proto/README 5.10): one line per item, in order, or in a part after the
 * first one per item still owed (5.13); as written is the prescribed
 * product; a substitution, or a part of another product, passes
 * drugs_substitution; a part hands over less than is owed.  A code the
 * master does not know is a warning in out. */
rx_err_t st_check_lines(store_pending_t *ch, const Rx__Prescription *p)
{
	const store_change_t *c = ch->c;
	const Rxstore__RxRecord *r = c->op == RX_OP_DISPENSE ? ch->r : NULL;
	store_outcome_t *out = ch->out;
	rx_err_t err = RX_OK;
	size_t want = 0;
	for (size_t i = 0; i < p->n_items; i++)
		want += owed_of(r, p->items[i], i) > 0;
	/* A record that follows an inquiry cites one answered with agreed
	 * changes (5.14). */
	if ((err = st_inquiry_cited(ch)) != RX_OK)
		return err;
	if (c->n_lines != want) {
		out->why = r && r->parts ? "this part needs one line for each item still owed, and no other"
				    : "the dispense record needs one line for each prescribed item";
		err = RX_INVALID;
	}
	for (size_t j = 0; j < c->n_lines && err == RX_OK; j++) {
		const store_line_t *l = &c->lines[j];
		size_t i = l->item - 1;
		if (l->item < 1 || i >= p->n_items || owed_of(r, p->items[i], i) == 0) {
			snprintf(out->why_text, sizeof out->why_text,
				 "line %zu names item %u, which this record does not account for", j + 1, l->item);
			err = RX_INVALID;
			break;
		}
		const Rx__Item *it = p->items[i];
		int same = strcmp(l->drug_code, it->drug_code) == 0;
		/* the prescriber agreed to this very change in the cited inquiry */
		int agreed = c->inquiry && st_agreed(ch, l->item, l);
		if (l->reason == RX__LINE_REASON__INQUIRY && !agreed) {
			snprintf(out->why_text, sizeof out->why_text,
				 "item %zu: no change agreed in the cited inquiry covers it", i + 1);
			err = RX_NOT_AGREED;
		} else if (l->outcome == STORE_LINE_AS_WRITTEN && !same) {
			snprintf(out->why_text, sizeof out->why_text,
				 "item %zu is marked as written but names another product: mark it SUBSTITUTED",
				 i + 1);
			err = RX_INVALID;
		} else if (l->outcome == STORE_LINE_SUBSTITUTED && same) {
			snprintf(out->why_text, sizeof out->why_text,
				 "item %zu is marked substituted but names the prescribed product: mark it "
				 "AS_WRITTEN", i + 1);
			err = RX_INVALID;
		} else if (l->outcome == STORE_LINE_PARTIAL && l->quantity >= owed_of(r, it, i)) {
			snprintf(out->why_text, sizeof out->why_text,
				 "item %zu: a part hands over less than the %u units still owed; all of them "
				 "is AS_WRITTEN or SUBSTITUTED", i + 1, owed_of(r, it, i));
			err = RX_INVALID;
		} else if (r && r->parts && l->outcome == STORE_LINE_AS_WRITTEN && l->quantity > owed_of(r, it, i)) {
			/* the rest of the prescribed product: no more than is owed */
			snprintf(out->why_text, sizeof out->why_text,
				 "item %zu: %u units handed over, but only %u are still owed", i + 1, l->quantity,
				 owed_of(r, it, i));
			err = RX_INVALID;
		} else if (!same && !agreed &&
			   (l->outcome == STORE_LINE_SUBSTITUTED || l->outcome == STORE_LINE_PARTIAL)) {
			unsigned marks = (it->no_change ? DRUGS_NO_CHANGE : 0) |
					 (it->medical_necessity ? DRUGS_MEDICAL_NECESSITY : 0) |
					 (it->no_form_change ? DRUGS_NO_FORM_CHANGE : 0) |
					 (it->no_strength_change ? DRUGS_NO_STRENGTH_CHANGE : 0);
			err = drugs_substitution(ch->txn, &ch->s->drugs, (uint32_t)i, it->drug_code, marks,
						 l->drug_code, out->why_text, sizeof out->why_text,
						 out->warnings, STORE_MAX_WARNINGS, &out->nwarnings);
			if (err == RX_UNAVAILABLE || err == RX_SYSTEM)
				out->why = "storage error reading the drug master";
		}
	}
	if (err != RX_OK && out->why == NULL)
		out->why = out->why_text;
	return err;
}

/* See store_int.h. */
int st_owed_after(store_pending_t *ch, const Rx__Prescription *p)
{
	Rxstore__RxRecord *r = ch->r;
	int open = 0;
	memset(ch->owed, 0, sizeof ch->owed);
	for (size_t j = 0; j < ch->c->n_lines; j++) {
		const store_line_t *l = &ch->c->lines[j];
		size_t i = l->item - 1; /* st_check_lines: an item of p still owed */
		if (l->outcome == STORE_LINE_PARTIAL) {
			ch->owed[i] = owed_of(r, p->items[i], i) - l->quantity;
			open = 1;
		}
	}
	r->owed = ch->owed;
	r->n_owed = open ? p->n_items : 0;
	return open;
}

/* ---- the records of a use ---- */

/* The stored dispense row of (id, use) into *v, from rx or, written
 * before format 3, from dispenses; with k its key.  An LMDB code:
 * MDB_NOTFOUND if the use has none. */
int st_get_dispense(MDB_txn *txn, store_t *s, const char *id, uint32_t use,
		    uint8_t dkey[RX_ID_LEN + 1], MDB_val *k, MDB_val *v)
{
	st_rxkey_t rk;
	int rc = st_rx_key(txn, s, id, &rk);
	if (rc != 0)
		return rc;
	memcpy(dkey, rk.b, rk.len);
	dkey[rk.len] = (uint8_t)use;
	*k = val(dkey, rk.len + 1);
	rc = mdb_get(txn, s->rx, k, v);
	/* dispenses holds rows of prescriptions filed under their ids only. */
	return rc == MDB_NOTFOUND && rk.len == RX_ID_LEN ? mdb_get(txn, s->dispenses, k, v) : rc;
}

/* See store_int.h. */
Rxstore__DispenseRow *st_dispense_row(MDB_txn *txn, store_t *s, const char *id, uint32_t use)
{
	uint8_t dkey[RX_ID_LEN + 1];
	MDB_val k, v;
	if (st_get_dispense(txn, s, id, use, dkey, &k, &v) != 0)
		return NULL;
	/* Sealed as "dispenses" wherever it is kept: a row and a record never
	 * open as each other. */
	return (Rxstore__DispenseRow *)st_open_sealed(s, "dispenses", &k, &v,
						   &rxstore__dispense_row__descriptor);
}

/* A use's kept record number n (1..STORE_USE_RECORDS - 1), superseded or
 * a part: its key, prescription + use + n, beside the current one. */
static int history_key(MDB_txn *txn, store_t *s, const char *id, uint32_t use, uint32_t n,
		       uint8_t hkey[RX_ID_LEN + 2], MDB_val *k)
{
	st_rxkey_t rk;
	int rc = st_rx_key(txn, s, id, &rk);
	if (rc != 0)
		return rc;
	memcpy(hkey, rk.b, rk.len);
	hkey[rk.len] = (uint8_t)use;
	hkey[rk.len + 1] = (uint8_t)n;
	*k = val(hkey, rk.len + 2);
	return 0;
}

/* The use's kept record n, or NULL (none, or it does not open). */
static Rxstore__DispenseRow *history_row(MDB_txn *txn, store_t *s, const char *id, uint32_t use,
					 uint32_t n)
{
	uint8_t hkey[RX_ID_LEN + 2];
	MDB_val k, v;
	if (history_key(txn, s, id, use, n, hkey, &k) != 0 || mdb_get(txn, s->rx, &k, &v) != 0)
		return NULL;
	return (Rxstore__DispenseRow *)st_open_sealed(s, "dispenses", &k, &v,
						   &rxstore__dispense_row__descriptor);
}

/* How many records the use keeps before its current one (the next one's
 * number is this + 1); an LMDB code. */
static int history_count(MDB_txn *txn, store_t *s, const char *id, uint32_t use, uint32_t *n)
{
	uint8_t hkey[RX_ID_LEN + 2];
	MDB_val k, v;
	int rc = 0;
	for (*n = 0; *n + 1 < STORE_USE_RECORDS; (*n)++) {
		if ((rc = history_key(txn, s, id, use, *n + 1, hkey, &k)) != 0 ||
		    (rc = mdb_get(txn, s->rx, &k, &v)) != 0)
			break;
	}
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Keep row as the use's record number n: superseded, or (row->part) an
 * open part. */
static int history_put(MDB_txn *txn, store_t *s, const char *id, uint32_t use, uint32_t n,
		       Rxstore__DispenseRow *row)
{
	uint8_t hkey[RX_ID_LEN + 2];
	MDB_val k;
	int rc = history_key(txn, s, id, use, n, hkey, &k);
	if (rc == 0)
		rc = st_put_sealed(s, txn, s->rx, "dispenses", &k, &row->base, MDB_NOOVERWRITE);
	return rc == 0 ? st_rows_add(txn, s, row->part ? "rx_parts" : "rx_superseded") : rc;
}

/* See store_int.h. */
Rxstore__DispenseRow *st_part_row(MDB_txn *txn, store_t *s, const char *id, uint32_t use, uint32_t *n)
{
	for ((*n)++; *n < STORE_USE_RECORDS; (*n)++) {
		Rxstore__DispenseRow *row = history_row(txn, s, id, use, *n);
		if (row == NULL)
			break;
		if (row->part)
			return row;
		rxstore__dispense_row__free_unpacked(row, NULL);
	}
	return NULL;
}

/* See store_int.h. */
int st_part_put(MDB_txn *txn, store_t *s, const char *id, uint32_t use, Rxstore__DispenseRow *row)
{
	uint32_t kept = 0;
	int rc = history_count(txn, s, id, use, &kept);
	if (rc != 0)
		return rc;
	/* room for the completing record after it */
	if (kept + 2 >= STORE_USE_RECORDS)
		return MDB_MAP_FULL;
	return history_put(txn, s, id, use, kept + 1, row);
}

/* See store_int.h. */
int st_dispensed_by(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r,
		    const uint8_t *actor, const uint8_t *token)
{
	for (uint32_t use = 1; use <= r->uses && use <= RX_MAX_USES; use++) {
		Rxstore__DispenseRow *row = st_dispense_row(txn, s, id, use);
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


/* See store_int.h.  STATUS: the records of the uses dispensed so far
 * (1..uses - uses_left), each with the institution of the pharmacy key that
 * signed it.  ch->drows keeps what protobuf-c allocated (st_free_dispenses);
 * ch->disp points into it.  A dispensed use whose record is missing or does
 * not open is a storage fault. */
rx_err_t st_load_dispenses(store_pending_t *ch)
{
	const Rxstore__RxRecord *r = ch->r;
	uint8_t dkey[RX_ID_LEN + 1];
	/* Uses 1..done have a current record; a use after them may keep the
	 * records of a withdrawal (5.12). */
	uint32_t done = r->uses_left <= r->uses ? r->uses - r->uses_left : 0;
	ch->ndrows = 0;
	for (uint32_t use = 1; use <= r->uses && use <= RX_MAX_USES; use++) {
		size_t first = ch->ndrows;
		uint32_t kept = 0;
		if (history_count(ch->txn, ch->s, ch->id, use, &kept) != 0)
			return RX_UNAVAILABLE;
		/* superseded records in order, then the current one if any */
		for (uint32_t n = 1; n <= kept + 1; n++) {
			MDB_val k, v;
			Rxstore__DispenseRow *row;
			if (n <= kept) {
				if ((row = history_row(ch->txn, ch->s, ch->id, use, n)) == NULL)
					return RX_UNAVAILABLE;
			} else {
				if (use > done)
					break;
				if (st_get_dispense(ch->txn, ch->s, ch->id, use, dkey, &k, &v) != 0 ||
				    (row = (Rxstore__DispenseRow *)st_open_sealed(
					     ch->s, "dispenses", &k, &v,
					     &rxstore__dispense_row__descriptor)) == NULL)
					return RX_UNAVAILABLE;
			}
			ch->drows[ch->ndrows++] = row;
			store_key_t key;
			if (row->version != 1 || row->pharmacy_key.len != RX_KEY_LEN ||
			    row->signature.len != RX_SIG_LEN ||
			    st_get_key(ch->txn, ch->s, row->pharmacy_key.data, &key) != RX_OK)
				return RX_UNAVAILABLE;
			store_dispense_t *d = &ch->disp[ch->ndrows - 1];
			memset(d, 0, sizeof *d);
			d->use = use;
			d->at = row->at;
			copy_str(d->institution, sizeof d->institution, key.institution);
			d->body = row->body.data;
			d->body_len = row->body.len;
			d->signature = row->signature.data;
		}
		/* the last record of a use is current; those before it are
		 * superseded, but for the parts that left items owing (5.13) */
		for (size_t i = first; i + 1 < ch->ndrows; i++)
			ch->disp[i].superseded = ch->drows[i]->part == 0;
	}
	return RX_OK;
}

/* See store_int.h. */
void st_free_dispenses(store_pending_t *ch)
{
	for (size_t i = 0; i < ch->ndrows; i++)
		rxstore__dispense_row__free_unpacked(ch->drows[i], NULL);
	ch->ndrows = 0;
}

/* ---- AMEND and WITHDRAW (proto/README 5.12) ---- */

/* The current record of the latest dispensed use, which an AMEND or a
 * WITHDRAW replaces: into *row (the caller frees it) with its use and key,
 * once the caller is shown to be of the institution that dispensed it (before
 * anything else is told), the record named is that one, and its window is
 * open.  Refusals: PERMISSION_DENIED, NOT_LATEST, AMEND_WINDOW_CLOSED, INVALID
 * (a use at its STORE_USE_RECORDS). */
static rx_err_t latest_record(store_pending_t *ch, uint32_t *use, uint32_t *kept,
			      Rxstore__DispenseRow **row, uint8_t dkey[RX_ID_LEN + 1], MDB_val *k)
{
	const store_change_t *c = ch->c;
	const Rxstore__RxRecord *r = ch->r;
	store_outcome_t *out = ch->out;
	MDB_val v;
	store_key_t key;
	*row = NULL;
	*use = r->uses - r->uses_left;
	/* Nothing dispensed yet but part of use 1, and the caller holds it:
	 * what it handed over stands (5.13).  Anyone else learns nothing. */
	if (*use == 0 && r->state == RX_STATE_PARTIAL && r->claimer_key.len == RX_KEY_LEN &&
	    memcmp(r->claimer_key.data, c->actor, RX_KEY_LEN) == 0)
		RETURN_REFUSAL(RX_PARTLY_DISPENSED, "this use is being handed over in parts: its next part completes it");
	if (*use == 0 || st_get_dispense(ch->txn, ch->s, ch->id, *use, dkey, k, &v) != 0 ||
	    (*row = (Rxstore__DispenseRow *)st_open_sealed(ch->s, "dispenses", k, &v,
							     &rxstore__dispense_row__descriptor)) == NULL ||
	    st_get_key(ch->txn, ch->s, (*row)->pharmacy_key.data, &key) != RX_OK ||
	    strcmp(key.institution, ch->actor.institution) != 0)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "only the pharmacy that dispensed may amend or withdraw the dispense");
	uint8_t h[RX_HASH_LEN];
	rx_hash((*row)->body.data, (*row)->body.len, h);
	if ((c->use && c->use != *use) || sodium_memcmp(h, c->replaces, RX_HASH_LEN) != 0)
		RETURN_REFUSAL(RX_NOT_LATEST, "the record named is not the current record of the latest dispensed use");
	if ((*row)->part)
		RETURN_REFUSAL(RX_PARTLY_DISPENSED, "this use was handed over in parts: its records stand as they are");
	if (c->now >= rx_valid_until((*row)->at, (int)(1 + ch->s->amend_days)))
		RETURN_REFUSAL(RX_AMEND_WINDOW_CLOSED, "the time to amend or withdraw this dispense has passed (the end of the day after it, Japan time)");
	if (history_count(ch->txn, ch->s, ch->id, *use, kept) != 0)
		RETURN_REFUSAL(RX_UNAVAILABLE, "storage error");
	if (*kept + 2 >= STORE_USE_RECORDS)
		RETURN_REFUSAL(RX_INVALID, "this use keeps no more records: it was amended too often");
	return RX_OK;
}

/* A new row for the caller's record of use, dispensed now. */
static void new_row(const store_change_t *c, const Rxstore__DispenseRow *old, Rxstore__DispenseRow *row)
{
	rxstore__dispense_row__init(row);
	row->version = 1;
	set_bytes(&row->pharmacy_key, (uint8_t *)c->actor, RX_KEY_LEN);
	row->at = c->now;
	set_bytes(&row->body, (uint8_t *)c->body, c->body_len);
	set_bytes(&row->signature, (uint8_t *)c->signature, RX_SIG_LEN);
	row->claim_token = old->claim_token;
	row->use_opens_at = old->use_opens_at;
	row->use_valid_until = old->use_valid_until;
}

/* AMEND: the dispensing pharmacy's corrected record of its latest use
 * becomes current; the one it replaces is kept, superseded. */
rx_err_t st_amend(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	rx_err_t err = st_load_rx(ch);
	Rxstore__DispenseRow *old = NULL, row;
	uint8_t dkey[RX_ID_LEN + 1];
	uint32_t use = 0, kept = 0;
	MDB_val k;
	int rc;
	if (err == RX_OK)
		err = latest_record(ch, &use, &kept, &old, dkey, &k);
	Rx__Prescription *p = err == RX_OK ? rx__prescription__unpack(NULL, ch->r->body.len, ch->r->body.data) : NULL;
	if (err == RX_OK && p == NULL) {
		out->why = "the stored prescription does not decode";
		err = RX_UNAVAILABLE;
	}
	if (err == RX_OK)
		err = st_check_lines(ch, p);
	if (err == RX_OK) {
		new_row(ch->c, old, &row);
		if ((rc = history_put(ch->txn, ch->s, ch->id, use, kept + 1, old)) != 0 ||
		    (rc = st_put_sealed(ch->s, ch->txn, ch->s->rx, "dispenses", &k, &row.base, 0)) != 0) {
			out->why = "storage error writing the amended record";
			err = from_mdb(rc);
		}
	}
	if (err == RX_OK) {
		out->use = use;
		ch->dirty = 1; /* its updated_at, and the reply's state */
		err = st_notify_clinic(ch, STORE_NOTICE_AMENDED, use, 0);
	}
	if (p)
		rx__prescription__free_unpacked(p, NULL);
	if (old)
		rxstore__dispense_row__free_unpacked(old, NULL);
	return err;
}

/* WITHDRAW: the dispensing pharmacy takes its latest use back: the record
 * and the withdrawal are kept, superseded and current; the use is open
 * again, in its window, and claimed by the caller with a new token. */
rx_err_t st_withdraw(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	rx_err_t err = st_load_rx(ch);
	Rxstore__DispenseRow *old = NULL, row;
	Rxstore__RxRecord *r = ch->r;
	uint8_t dkey[RX_ID_LEN + 1], order_head[RX_HASH_LEN];
	uint32_t use = 0, kept = 0;
	uint64_t order;
	MDB_val k;
	int rc;
	if (err == RX_OK)
		err = latest_record(ch, &use, &kept, &old, dkey, &k);
	/* The use comes back claimed by the caller: not over a cancel, and not
	 * from under another pharmacy's claim of the next use (found by the
	 * crash harness). */
	if (err == RX_OK && (r->state == RX_STATE_CANCELLED || r->cancel_pending)) {
		out->why = "the prescriber cancelled this prescription: its dispense can be amended, not withdrawn";
		err = RX_CANCELLED;
	} else if (err == RX_OK && r->state == RX_STATE_PARTIAL) {
		out->why = "the next use is being handed over in parts: it must be completed first";
		err = RX_PARTLY_DISPENSED;
	} else if (err == RX_OK && r->state == RX_STATE_CLAIMED &&
		   (r->claimer_key.len != RX_KEY_LEN || memcmp(r->claimer_key.data, ch->c->actor, RX_KEY_LEN) != 0)) {
		out->why = "another pharmacy has claimed the next use: it must release it first";
		err = RX_ALREADY_CLAIMED;
	}
	if (err != RX_OK) {
		if (old)
			rxstore__dispense_row__free_unpacked(old, NULL);
		return err;
	}
	new_row(ch->c, old, &row);
	if ((rc = history_put(ch->txn, ch->s, ch->id, use, kept + 1, old)) == 0 &&
	    (rc = history_put(ch->txn, ch->s, ch->id, use, kept + 2, &row)) == 0 &&
	    (rc = mdb_del(ch->txn, ch->s->rx, &k, NULL)) == 0)
		rc = st_rows_add_n(ch->txn, ch->s, "rx_dispensed", -1);
	if (rc == 0 && old->use_valid_until) {
		r->opens_at = old->use_opens_at;
		r->valid_until = old->use_valid_until;
		if ((rc = audit_head(ch->txn, &ch->s->audit, &order, order_head)) == 0)
			rc = st_expiry_put(ch->txn, ch->s, r->valid_until, order, ch->id);
	}
	rxstore__dispense_row__free_unpacked(old, NULL);
	if (rc != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error withdrawing the dispense");
	r->uses_left++;
	r->state = RX_STATE_CLAIMED;
	randombytes_buf(ch->token, RX_TOKEN_LEN);
	set_bytes(&r->claimer_key, (uint8_t *)ch->c->actor, RX_KEY_LEN);
	set_bytes(&r->claim_token, ch->token, RX_TOKEN_LEN);
	out->use = use;
	ch->dirty = 1;
	return st_notify_clinic(ch, STORE_NOTICE_WITHDRAWN, use, 0);
}
