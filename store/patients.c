/* store/patients.c: a patient's prescriptions.
 *
 * What is read across one patient's prescriptions (their entries in
 * audit_patient, and in rx_patient for those filed before format 3):
 * LIST (their open prescriptions, or one by its id and the slip's code),
 * what the patient reads of their own through a patient portal, signed by
 * the card itself (LOG, their access log; PATIENT_LIST and PATIENT_STATUS,
 * their prescriptions), and the duplicate-medication check's input (what
 * the patient takes besides the prescription at hand; the rule is
 * drugs.c's). */
#include "store_int.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "drugs.h"
#include "records.pb-c.h"
#include "rx.pb-c.h"

/* See store_int.h. */
int st_patient_rx_put(MDB_txn *txn, store_t *s, const char *patient, uint64_t order,
		      const char *id)
{
	uint8_t key[RX_PATIENT_ID_LEN + 8 + RX_ID_LEN];
	size_t n = strlen(patient);
	if (n > RX_PATIENT_ID_LEN)
		n = RX_PATIENT_ID_LEN; /* as audit_append files the patient's log */
	memcpy(key, patient, n);
	be64(key + n, (int64_t)order);
	memcpy(key + n + 8, id, RX_ID_LEN);
	MDB_val k = val(key, n + 8 + RX_ID_LEN), none = val("", 0);
	return mdb_put(txn, s->audit.by_patient, &k, &none, 0);
}

/* Call fn for each of the patient's prescriptions but skip (NULL: none; it
 * may not be written yet): those filed before format 3 (rx_patient, in id
 * order), then the others (audit_patient, in the order submitted), until
 * fn returns other than RX_OK, which is then returned. */
typedef rx_err_t (*patient_rx_fn)(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r,
				  void *arg);

typedef struct {
	const char *skip;
	patient_rx_fn fn;
	void *arg;
} visit_t;

/* The record of one of the patient's prescriptions, for a visit_t's fn. */
static rx_err_t visit(MDB_txn *txn, store_t *s, const char *id, void *arg)
{
	const visit_t *x = arg;
	Rxstore__RxRecord *r;
	if (x->skip && memcmp(id, x->skip, RX_ID_LEN) == 0)
		return RX_OK;
	rx_err_t err = st_get_rx(txn, s, id, &r);
	if (err != RX_OK)
		return err;
	err = x->fn(txn, s, id, r, x->arg);
	rxstore__rx_record__free_unpacked(r, NULL);
	return err;
}

/* Call fn with id copied out of raw. */
static rx_err_t with_id(MDB_txn *txn, store_t *s, const uint8_t *raw, st_patient_id_fn fn, void *arg)
{
	char id[RX_ID_LEN + 1];
	memcpy(id, raw, RX_ID_LEN);
	id[RX_ID_LEN] = '\0';
	return fn(txn, s, id, arg);
}

/* See store_int.h. */
rx_err_t st_each_patient_id(MDB_txn *txn, store_t *s, const char *patient, st_patient_id_fn fn,
			    void *arg)
{
	MDB_cursor *cur;
	size_t n = strlen(patient);
	MDB_val pk = val(patient, n), v;
	rx_err_t err = RX_OK;
	int rc;

	if (n == 0 || n > RX_PATIENT_ID_LEN)
		return RX_OK; /* no patient: none filed */
	if ((rc = mdb_cursor_open(txn, s->rx_patient, &cur)) != 0)
		return from_mdb(rc);
	for (rc = mdb_cursor_get(cur, &pk, &v, MDB_SET_KEY); rc == 0 && err == RX_OK;
	     rc = mdb_cursor_get(cur, &pk, &v, MDB_NEXT_DUP))
		if (v.mv_size == RX_ID_LEN)
			err = with_id(txn, s, v.mv_data, fn, arg);
	mdb_cursor_close(cur);
	if (err == RX_OK && rc != 0 && rc != MDB_NOTFOUND)
		return from_mdb(rc);
	if (err != RX_OK)
		return err;
	/* The patient's range of audit_patient: their log's entries (patient
	 * + seq) with their prescriptions' (patient + order + id) among them. */
	if ((rc = mdb_cursor_open(txn, s->audit.by_patient, &cur)) != 0)
		return from_mdb(rc);
	pk = val(patient, n);
	for (rc = mdb_cursor_get(cur, &pk, &v, MDB_SET_RANGE);
	     rc == 0 && err == RX_OK && pk.mv_size >= n + 8 && memcmp(pk.mv_data, patient, n) == 0;
	     rc = mdb_cursor_get(cur, &pk, &v, MDB_NEXT))
		if (pk.mv_size == n + 8 + RX_ID_LEN)
			err = with_id(txn, s, (const uint8_t *)pk.mv_data + n + 8, fn, arg);
	mdb_cursor_close(cur);
	if (err == RX_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = from_mdb(rc);
	return err;
}

static rx_err_t each_of_patient(MDB_txn *txn, store_t *s, const char *patient, const char *skip,
				patient_rx_fn fn, void *arg)
{
	visit_t x = {skip, fn, arg};
	return st_each_patient_id(txn, s, patient, visit, &x);
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
	return st == RX_STATE_ISSUED || st_held(st) ? st_push_rx(o->list, o->n, &o->cap, id, r, o->now) : RX_OK;
}

/* A patient's open prescriptions (ISSUED, CLAIMED or PARTIALLY_DISPENSED, not expired), into a
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

/* The items row handed over whose days of supply still run at now, with
 * the days left (a started day counts); row is freed. */
static rx_err_t row_taken(Rxstore__DispenseRow *row, const char *id, int64_t now, drugs_taken_t **list,
			  size_t *n, size_t *cap)
{
	rx_err_t err = RX_OK;
	Rx__DispenseRecord *rec = rx__dispense_record__unpack(NULL, row->body.len, row->body.data);
	/* What was handed over: a record's lines (an item not dispensed has
	 * none), or the items of a record stored before lines. */
	size_t count = rec ? (rec->n_lines ? rec->n_lines : rec->n_items) : 0;
	for (size_t i = 0; i < count && err == RX_OK; i++) {
		const Rx__Item *it = rec->n_lines ? rec->lines[i]->handed : rec->items[i];
		int64_t end = it ? row->at + (int64_t)it->days * 86400 : 0;
		if (end > now)
			err = push_taken(list, n, cap, id, it->drug_code, (uint32_t)((end - now + 86399) / 86400));
	}
	if (rec)
		rx__dispense_record__free_unpacked(rec, NULL);
	rxstore__dispense_row__free_unpacked(row, NULL);
	return err;
}

/* The items of a prescription's dispenses, current records and the parts
 * before them (5.13), whose days of supply still run at now. */
static rx_err_t dispensed_taken(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r,
				int64_t now, drugs_taken_t **list, size_t *n, size_t *cap)
{
	rx_err_t err = RX_OK;
	for (uint32_t use = 1; use <= r->uses && use <= RX_MAX_USES && err == RX_OK; use++) {
		Rxstore__DispenseRow *row = st_dispense_row(txn, s, id, use);
		uint32_t k = 0;
		if (row == NULL) /* not dispensed yet, or not at all */
			continue;
		err = row_taken(row, id, now, list, n, cap);
		while (err == RX_OK && (row = st_part_row(txn, s, id, use, &k)) != NULL)
			err = row_taken(row, id, now, list, n, cap);
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
	if ((st == RX_STATE_ISSUED || st_held(st)) && !r->cancel_pending) {
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
 * open prescriptions (ISSUED, CLAIMED or PARTIALLY_DISPENSED, no cancel pending: all their days
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

/* See store_int.h.  While the drug master holds any row: the check of
 * prescription ch->id (record ch->r), its findings into out->warnings.  A
 * SUBMIT with a duplicate and no override reason is refused
 * DUPLICATE_MEDICATION; a CLAIM never is.  ch->detail: what the request's
 * audit entry says about it. */
rx_err_t st_check_medication(store_pending_t *ch)
{
	MDB_txn *txn = ch->txn;
	store_t *s = ch->s;
	const store_change_t *c = ch->c;
	const Rxstore__RxRecord *r = ch->r;
	const char *id = ch->id, **detail = &ch->detail;
	store_outcome_t *out = ch->out;
	store_item_t stored[RX_MAX_ITEMS];
	const store_item_t *items = c->items;
	size_t n = c->n_items, ntaken = 0, dups = 0;
	Rx__Prescription *p = NULL;
	drugs_taken_t *taken = NULL;

	if (!drugs_active(txn, &s->drugs))
		return RX_OK;
	/* A refill may not carry a drug the master marks no_refill (5.11). */
	if (c->op == RX_OP_SUBMIT && c->uses > 1 && !c->divided) {
		rx_err_t err = drugs_refillable(txn, &s->drugs, items, n, out->why_text, sizeof out->why_text);
		if (err == RX_NOT_REFILLABLE)
			RETURN_REFUSAL(err, out->why_text);
		if (err != RX_OK)
			RETURN_REFUSAL(err, "storage error reading the drug master");
	}
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

/* LIST with the card: the card's patient's open prescriptions. */
static rx_err_t list_by_card(store_pending_t *ch)
{
	const store_change_t *c = ch->c;
	const char *patient = ch->patient;
	store_outcome_t *out = ch->out;
	MDB_val k, v;
	int rc;
	if (patient[0]) {
		if (c->patient_id && c->patient_id[0] && strcmp(c->patient_id, patient) != 0)
			RETURN_REFUSAL(RX_ASSERTION_MISMATCH, "the card is another patient's");
		k = val(patient, strlen(patient));
		if ((rc = mdb_get(ch->txn, ch->s->patients, &k, &v)) != 0)
			RETURN_REFUSAL(rc == MDB_NOTFOUND ? RX_NOT_FOUND : from_mdb(rc), "the patient is not enrolled");
		rx_err_t err = open_for_patient(ch->txn, ch->s, patient, c->now, &ch->list, &out->n);
		if (err != RX_OK)
			RETURN_REFUSAL(err, "storage error listing prescriptions");
		return RX_OK;
	}
	RETURN_REFUSAL(RX_PERMISSION_DENIED,
	       "LIST needs the patient's card, or a prescription id and its access code");
}

/* See store_int.h.  LIST with the card: the card's patient's open
 * prescriptions; LIST with an id and its access code: that one, if open
 * (never its claim token). */
rx_err_t st_list(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	rx_err_t err;
	if (!(ch->c->id && ch->c->access_code)) {
		err = list_by_card(ch);
		out->list = ch->list;
		copy_str(out->rx.patient_id, sizeof out->rx.patient_id, ch->patient);
		return err;
	}
	if ((err = st_load_rx(ch)) != RX_OK)
		return err;
	err = st_may_access(ch);
	st_rx_from_record(ch->id, ch->r, ch->c->now, &ch->one);
	memset(ch->one.claim_token, 0, RX_TOKEN_LEN);
	if (ch->one.state == RX_STATE_ISSUED || st_held(ch->one.state)) {
		out->list = &ch->one;
		out->n = 1;
	}
	return err;
}

/* See store_int.h.  LOG: the patient's own access log.  The card itself
 * signs the request, through a patient portal's connection
 * (st_portal_card); no clinic or pharmacy key is involved. */
rx_err_t st_log(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	rx_err_t err = st_portal_card(ch);
	if (err != RX_OK)
		return err;
	if ((err = st_patient_entries(ch->txn, ch->s, ch->patient, 500, &ch->log, &out->nlog)) != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the audit log");
	out->log = ch->log;
	copy_str(out->rx.patient_id, sizeof out->rx.patient_id, ch->patient);
	ch->wrote = 1;
	return RX_OK;
}

/* ---- a patient's own prescriptions (PATIENT_LIST, PATIENT_STATUS, 5.6) ---- */

typedef struct {
	int64_t now, from, until;
	store_rx_t **list;
	size_t *n, cap;
} in_range_t;

static rx_err_t add_if_in_range(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r,
				void *arg)
{
	in_range_t *o = arg;
	(void)txn;
	(void)s;
	if (r->issued_at < o->from || (o->until && r->issued_at >= o->until))
		return RX_OK;
	return st_push_rx(o->list, o->n, &o->cap, id, r, o->now);
}

/* Newest first; the same second, by id. */
static int newest_first(const void *a, const void *b)
{
	const store_rx_t *x = a, *y = b;
	if (x->issued_at != y->issued_at)
		return x->issued_at < y->issued_at ? 1 : -1;
	return strcmp(x->id, y->id);
}

/* See store_int.h.  PATIENT_LIST: the card's patient's prescriptions
 * issued in [from, until), every state, the newest STORE_PATIENT_LIST_MAX
 * first; never a claim token. */
rx_err_t st_patient_list(store_pending_t *ch)
{
	const store_change_t *c = ch->c;
	store_outcome_t *out = ch->out;
	rx_err_t err = st_portal_card(ch);
	if (err != RX_OK)
		return err;
	in_range_t o = {c->now, c->from, c->until, &ch->list, &out->n, 0};
	if ((err = each_of_patient(ch->txn, ch->s, ch->patient, NULL, add_if_in_range, &o)) != RX_OK)
		RETURN_REFUSAL(err, "storage error listing the patient's prescriptions");
	if (out->n)
		qsort(ch->list, out->n, sizeof *ch->list, newest_first);
	if (out->n > STORE_PATIENT_LIST_MAX)
		out->n = STORE_PATIENT_LIST_MAX;
	for (size_t i = 0; i < out->n; i++)
		memset(ch->list[i].claim_token, 0, RX_TOKEN_LEN);
	out->list = ch->list;
	copy_str(out->rx.patient_id, sizeof out->rx.patient_id, ch->patient);
	ch->wrote = 1;
	return RX_OK;
}

/* See store_int.h.  PATIENT_STATUS: one of the card's patient's
 * prescriptions, as STATUS returns it.  Another patient's reads as none:
 * the card learns nothing of prescriptions not its patient's. */
rx_err_t st_patient_status(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	rx_err_t err = st_portal_card(ch);
	if (err != RX_OK)
		return err;
	ch->wrote = 1;
	if ((err = st_get_rx(ch->txn, ch->s, ch->c->id, &ch->stored)) == RX_OK &&
	    strcmp(ch->stored->patient_id, ch->patient) != 0) {
		/* Forget it: the refusal is audited as for an unknown id, in the
		 * asking card's own log, not in the other patient's (found by
		 * the hostile suite: the difference told the card it exists). */
		rxstore__rx_record__free_unpacked(ch->stored, NULL);
		ch->stored = NULL;
		err = RX_NOT_FOUND;
	}
	if (err != RX_OK)
		RETURN_REFUSAL(err, err == RX_NOT_FOUND ? "you have no prescription with this id" : "storage error");
	ch->fresh = *ch->stored;
	ch->r = &ch->fresh;
	copy_str(ch->id, sizeof ch->id, ch->c->id);
	return st_status_body(ch);
}
