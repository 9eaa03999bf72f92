/* store/notices.c: a patient's nominated pharmacy and the notices kept
 * for pharmacies.
 *
 * A patient may nominate one pharmacy (NOMINATE, by the card through a
 * patient portal).  New prescriptions for the patient, and cancels of
 * prescriptions a pharmacy holds or was sent, become notices kept per
 * pharmacy until it acknowledges them (ACK); WATCH counts them, and the
 * broker pushes them once the change that made them is committed. */
#include "store_int.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "records.pb-c.h"
#include "rx_ops.h"

/* See store_int.h. */
rx_err_t st_get_nomination(MDB_txn *txn, store_t *s, const char *patient,
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

/* A notice's key: pharmacy code, NUL, seq (8, big-endian), so a
 * pharmacy's notices are one ordered range. */
static size_t notice_key(uint8_t *key, const char *pharmacy, uint64_t seq)
{
	size_t n = strlen(pharmacy);
	memcpy(key, pharmacy, n);
	key[n] = 0;
	be64(key + n + 1, (int64_t)seq);
	return n + 9;
}

/* What a notice says besides its prescription: the inquiry's number, or
 * the use (and part) a dispense notice is about. */
typedef struct {
	uint32_t inquiry, use, part;
} about_t;

/* Queue a notice of kind about prescription id for institution pharmacy,
 * in txn, and note it in out (if not NULL) for the broker to push once the
 * change is committed. */
static int add_notice(MDB_txn *txn, store_t *s, int kind, const char *pharmacy, const char *id,
		      const Rxstore__RxRecord *r, int64_t now, about_t about, store_outcome_t *out)
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
	row.cancel_reason = r->cancel_reason;
	row.inquiry = about.inquiry;
	row.use = about.use;
	row.part = about.part;
	MDB_val k = val(key, notice_key(key, pharmacy, seq));
	if ((rc = st_put_sealed(s, txn, s->notices, "notices", &k, &row.base, MDB_NOOVERWRITE)) != 0)
		return rc;
	if (out && out->nnotices < sizeof out->notices / sizeof out->notices[0]) {
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
		n->cancel_reason = (int)r->cancel_reason;
		n->inquiry = about.inquiry;
		n->use = about.use;
		n->part = about.part;
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

/* See store_int.h.  Whom we told is remembered (ch->notified, which
 * r->notified_pharmacy then points at), for a cancel to tell them too. */
rx_err_t st_notify_submit(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	Rxstore__RxRecord *r = ch->r;
	rx_err_t err = st_get_nomination(ch->txn, ch->s, r->patient_id, ch->notified);
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the patient's nomination");
	if (!pharmacy_open(ch->txn, ch->s, ch->notified))
		return RX_OK;
	int rc = add_notice(ch->txn, ch->s, STORE_NOTICE_NEW, ch->notified, ch->id, r, ch->c->now, (about_t){0, 0, 0}, out);
	if (rc != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error queueing the notice");
	r->notified_pharmacy = ch->notified;
	return RX_OK;
}

/* See store_int.h.  The pharmacy holding the claim, and the nominated
 * pharmacy that was sent the prescription, so neither dispenses it. */
rx_err_t st_notify_cancel(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	const Rxstore__RxRecord *r = ch->r;
	char to[2][RX_INSTITUTION_MAX + 1] = {"", ""};
	store_key_t k;
	if (st_held((int)r->state) && r->claimer_key.len == RX_KEY_LEN &&
	    st_get_key(ch->txn, ch->s, r->claimer_key.data, &k) == RX_OK)
		copy_str(to[0], sizeof to[0], k.institution);
	if (r->notified_pharmacy && strcmp(r->notified_pharmacy, to[0]) != 0)
		copy_str(to[1], sizeof to[1], r->notified_pharmacy);
	for (int i = 0; i < 2; i++) {
		if (!pharmacy_open(ch->txn, ch->s, to[i]))
			continue;
		int rc = add_notice(ch->txn, ch->s, STORE_NOTICE_CANCEL, to[i], ch->id, r, ch->c->now, (about_t){0, 0, 0}, out);
		if (rc != 0)
			RETURN_REFUSAL(from_mdb(rc), "storage error queueing the notice");
	}
	return RX_OK;
}

/* May institution code receive notices (registered, not revoked)? */
static int institution_open(MDB_txn *txn, store_t *s, const char *code)
{
	store_institution_t inst;
	return code && code[0] && st_get_institution(txn, s, code, &inst) == RX_OK && !inst.revoked;
}

/* Does clinic code watch: a WATCH by one of its prescribers within
 * STORE_WATCH_DAYS?  What a clinic is told of its prescriptions (dispensed,
 * amended, withdrawn, expired) is queued only then: kept until ACKed, it
 * would otherwise pile up for ever for the clinics that never read it, one
 * sealed row per dispense.  Looked up before the institution, so a clinic
 * that does not watch costs a DISPENSE one read of a small table. */
static int clinic_watches(MDB_txn *txn, store_t *s, const char *code, int64_t now)
{
	MDB_val k = val(code, strlen(code)), v;
	return code[0] && mdb_get(txn, s->watching, &k, &v) == 0 && v.mv_size == 8 &&
	       now - be64_get(v.mv_data) <= (int64_t)STORE_WATCH_DAYS * 86400;
}

/* A prescriber's WATCH: its clinic watches from now on.  Written when the
 * clinic has no mark or one older than a day, so a heartbeat every 30 s
 * writes it once a day, not at every beat. */
static int mark_watching(MDB_txn *txn, store_t *s, const char *code, int64_t now)
{
	uint8_t at[8];
	MDB_val k = val(code, strlen(code)), v;
	int rc = mdb_get(txn, s->watching, &k, &v);
	if (rc == 0 && v.mv_size == 8 && now - be64_get(v.mv_data) < 86400 && now >= be64_get(v.mv_data))
		return 0;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	be64(at, now);
	v = val(at, sizeof at);
	return mdb_put(txn, s->watching, &k, &v, 0);
}

/* See store_int.h. */
rx_err_t st_notify_clinic(store_pending_t *ch, int kind, uint32_t use, uint32_t part)
{
	store_outcome_t *out = ch->out;
	if (!clinic_watches(ch->txn, ch->s, ch->r->institution_code, ch->c->now) ||
	    !institution_open(ch->txn, ch->s, ch->r->institution_code))
		return RX_OK;
	int rc = add_notice(ch->txn, ch->s, kind, ch->r->institution_code, ch->id, ch->r, ch->c->now,
			    (about_t){0, use, part}, out);
	if (rc != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error queueing the notice");
	return RX_OK;
}

/* See store_int.h. */
int st_notify_expired(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r, int64_t now)
{
	if (!clinic_watches(txn, s, r->institution_code, now) || !institution_open(txn, s, r->institution_code))
		return 0;
	return add_notice(txn, s, STORE_NOTICE_EXPIRED, r->institution_code, id, r, now, (about_t){0, 0, 0},
			  NULL);
}

/* See store_int.h. */
rx_err_t st_notify_inquiry(store_pending_t *ch, int kind, const char *to, uint32_t number)
{
	store_outcome_t *out = ch->out;
	store_institution_t inst;
	if (to == NULL || to[0] == '\0' || st_get_institution(ch->txn, ch->s, to, &inst) != RX_OK || inst.revoked)
		return RX_OK; /* nobody to tell */
	int rc = add_notice(ch->txn, ch->s, kind, to, ch->id, ch->r, ch->c->now, (about_t){number, 0, 0}, out);
	if (rc != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error queueing the notice");
	return RX_OK;
}

/* See store_int.h.  NOMINATE CODE: the card's patient nominates pharmacy
 * CODE, replacing any earlier nomination; "" removes it.  Refusals:
 * st_portal_card's, NOT_FOUND (no such institution), INVALID (not a
 * pharmacy), KEY_REVOKED (revoked). */
rx_err_t st_nominate(store_pending_t *ch)
{
	MDB_txn *txn = ch->txn;
	store_t *s = ch->s;
	const store_change_t *c = ch->c;
	store_outcome_t *out = ch->out;
	store_institution_t inst;
	rx_err_t err = st_portal_card(ch);
	if (err != RX_OK)
		return err;
	MDB_val k = val(ch->patient, strlen(ch->patient));
	int rc;
	if (c->pharmacy == NULL || c->pharmacy[0] == '\0') {
		rc = mdb_del(txn, s->nominations, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			RETURN_REFUSAL(from_mdb(rc), "storage error removing the nomination");
		copy_str(out->rx.patient_id, sizeof out->rx.patient_id, ch->patient);
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
	copy_str(out->rx.patient_id, sizeof out->rx.patient_id, ch->patient);
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
	n->cancel_reason = (int)row->cancel_reason;
	n->inquiry = row->inquiry;
	n->use = row->use;
	n->part = row->part;
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

/* See store_int.h.  WATCH: the pharmacy's count of waiting notices (the broker pushes them
 * after the reply).  ACK seq...: remove the pharmacy's notices with these
 * seqs; one already removed counts as done. */
rx_err_t st_watch_ack(store_pending_t *ch)
{
	MDB_txn *txn = ch->txn;
	store_t *s = ch->s;
	const store_change_t *c = ch->c;
	const store_key_t *actor = &ch->actor;
	store_outcome_t *out = ch->out;
	size_t n = 0;
	if (c->op == RX_OP_WATCH) {
		int rc = actor->role == RX_ROLE_PRESCRIBER ? mark_watching(txn, s, actor->institution, c->now) : 0;
		if (rc != 0)
			RETURN_REFUSAL(from_mdb(rc), "storage error recording the watch");
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
