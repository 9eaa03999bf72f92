/* inquiries: the pharmacist's inquiry to the prescriber (疑義照会) and its
 * answer (proto/README 5.14), kept beside the prescription's record in rx
 * (key: the record's + 0x80 + number): INQUIRY and INQUIRY_REPLY, what
 * STATUS reads of them, and what a dispense record may follow. */
#include "store_int.h"

#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "records.pb-c.h"
#include "rx.pb-c.h"

#define INQUIRY_TAG 0x80 /* after the record's key: not a use (1..3), not a log row's seq */

static int inquiry_key(MDB_txn *txn, store_t *s, const char *id, uint32_t n, uint8_t key[RX_ID_LEN + 2],
		       MDB_val *k)
{
	st_rxkey_t rk;
	int rc = st_rx_key(txn, s, id, &rk);
	if (rc != 0)
		return rc;
	memcpy(key, rk.b, rk.len);
	key[rk.len] = INQUIRY_TAG;
	key[rk.len + 1] = (uint8_t)n;
	*k = val(key, rk.len + 2);
	return 0;
}

/* Inquiry n of id, opened; NULL if there is none or it does not open. */
static Rxstore__InquiryRow *inquiry_row(MDB_txn *txn, store_t *s, const char *id, uint32_t n)
{
	uint8_t key[RX_ID_LEN + 2];
	MDB_val k, v;
	if (inquiry_key(txn, s, id, n, key, &k) != 0 || mdb_get(txn, s->rx, &k, &v) != 0)
		return NULL;
	return (Rxstore__InquiryRow *)st_open_sealed(s, "inquiries", &k, &v, &rxstore__inquiry_row__descriptor);
}

static int inquiry_put(MDB_txn *txn, store_t *s, const char *id, const Rxstore__InquiryRow *row, unsigned flags)
{
	uint8_t key[RX_ID_LEN + 2];
	MDB_val k;
	int rc = inquiry_key(txn, s, id, row->number, key, &k);
	return rc ? rc : st_put_sealed(s, txn, s->rx, "inquiries", &k, &row->base, flags);
}

/* The changes name items of p, else INVALID with why. */
static rx_err_t changes_fit(Rx__Change *const *ch, size_t n, const Rx__Prescription *p, store_outcome_t *out)
{
	for (size_t i = 0; i < n; i++)
		if (ch[i]->item > p->n_items)
			RETURN_REFUSAL(RX_INVALID, "a change names an item the prescription does not have");
	return RX_OK;
}

/* The signed call of this INQUIRY or INQUIRY_REPLY, decoded (the broker
 * checked it); NULL if it does not decode. */
static Rx__Call *signed_call(const store_change_t *c)
{
	return rx__call__unpack(NULL, c->body_len, c->body);
}

/* INQUIRY: the pharmacy holding the claim asks the prescriber; an inquiry
 * not settled by telephone stays open, and DISPENSE waits for its answer.
 * The issuing clinic is told.  Refusals: ALREADY_DISPENSED, CANCELLED,
 * EXPIRED, PERMISSION_DENIED, INQUIRY_PENDING, INVALID. */
rx_err_t st_inquiry(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	rx_err_t err = st_load_rx(ch);
	if (err != RX_OK)
		return err;
	Rxstore__RxRecord *r = ch->r;
	int st = effective_state(r, ch->c->now);
	if (st == RX_STATE_DISPENSED)
		RETURN_REFUSAL(RX_ALREADY_DISPENSED, "every use of this prescription has been dispensed");
	if (st == RX_STATE_CANCELLED)
		RETURN_REFUSAL(RX_CANCELLED, "the prescriber cancelled this prescription");
	if (st == RX_STATE_EXPIRED)
		RETURN_REFUSAL(RX_EXPIRED, "this prescription is past its validity");
	if ((err = st_check_claim(ch->c, r, out)) != RX_OK)
		return err;
	if (r->cancel_pending)
		RETURN_REFUSAL(RX_CANCELLED, "the prescriber is cancelling this prescription");
	Rx__Call *call = signed_call(ch->c);
	Rx__Prescription *p = rx__prescription__unpack(NULL, r->body.len, r->body.data);
	if (call == NULL || call->inquiry == NULL || p == NULL) {
		out->why = "the inquiry or the stored prescription does not decode";
		err = RX_UNAVAILABLE;
	} else if (!call->inquiry->by_phone && r->inquiry_open) {
		out->why = "an inquiry to the prescriber is already open: wait for its answer";
		err = RX_INQUIRY_PENDING;
	} else if (r->inquiries >= RX_MAX_INQUIRIES) {
		out->why = "this prescription keeps no more inquiries";
		err = RX_INVALID;
	} else if ((err = changes_fit(call->inquiry->proposed, call->inquiry->n_proposed, p, out)) == RX_OK) {
		err = changes_fit(call->inquiry->agreed, call->inquiry->n_agreed, p, out);
	}
	int by_phone = call && call->inquiry && call->inquiry->by_phone;
	if (call)
		rx__call__free_unpacked(call, NULL);
	if (p)
		rx__prescription__free_unpacked(p, NULL);
	if (err != RX_OK)
		return err;

	Rxstore__InquiryRow row = RXSTORE__INQUIRY_ROW__INIT;
	row.version = 1;
	row.number = r->inquiries + 1;
	set_bytes(&row.pharmacy_key, (uint8_t *)ch->c->actor, RX_KEY_LEN);
	row.at = ch->c->now;
	row.institution_code = ch->actor.institution;
	set_bytes(&row.call, (uint8_t *)ch->c->body, ch->c->body_len);
	set_bytes(&row.signature, (uint8_t *)ch->c->signature, RX_SIG_LEN);
	int rc = inquiry_put(ch->txn, ch->s, ch->id, &row, MDB_NOOVERWRITE);
	if (rc == 0)
		rc = st_rows_add(ch->txn, ch->s, "rx_inquiries");
	if (rc != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error writing the inquiry");
	r->inquiries = row.number;
	if (!by_phone) {
		r->inquiry_open = row.number;
		if ((err = st_notify_inquiry(ch, STORE_NOTICE_INQUIRY, r->institution_code, row.number)) != RX_OK)
			return err;
	}
	out->inquiry = row.number;
	ch->dirty = 1;
	return RX_OK;
}

/* INQUIRY_REPLY: a prescriber of the issuing clinic answers the open
 * inquiry: accept (with the agreed changes), keep as written, or cancel
 * the prescription (as CANCEL would).  The asking pharmacy is told.
 * Refusals: PERMISSION_DENIED, INVALID (none open, another one, a change of
 * an item it does not have). */
rx_err_t st_inquiry_reply(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	rx_err_t err = st_load_rx(ch);
	if (err != RX_OK)
		return err;
	Rxstore__RxRecord *r = ch->r;
	if (strcmp(ch->actor.institution, r->institution_code) != 0)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "only the clinic that issued the prescription answers its inquiries");
	if (r->inquiry_open == 0)
		RETURN_REFUSAL(RX_INVALID, "no inquiry of this prescription waits for an answer");
	Rx__Call *call = signed_call(ch->c);
	Rx__Prescription *p = rx__prescription__unpack(NULL, r->body.len, r->body.data);
	Rxstore__InquiryRow *row = inquiry_row(ch->txn, ch->s, ch->id, r->inquiry_open);
	int answer = 0, cancel_reason = 0;
	if (call == NULL || call->inquiry_reply == NULL || p == NULL || row == NULL) {
		out->why = "the answer, the stored prescription or its inquiry does not decode";
		err = RX_UNAVAILABLE;
	} else if (call->inquiry_reply->inquiry != r->inquiry_open) {
		snprintf(out->why_text, sizeof out->why_text, "the inquiry waiting for an answer is number %u",
			 r->inquiry_open);
		out->why = out->why_text;
		err = RX_INVALID;
	} else {
		err = changes_fit(call->inquiry_reply->agreed, call->inquiry_reply->n_agreed, p, out);
		answer = call->inquiry_reply->answer;
		cancel_reason = call->inquiry_reply->cancel_reason;
	}
	if (call)
		rx__call__free_unpacked(call, NULL);
	if (p)
		rx__prescription__free_unpacked(p, NULL);
	int rc = 0;
	if (err == RX_OK) {
		set_bytes(&row->prescriber_key, (uint8_t *)ch->c->actor, RX_KEY_LEN);
		row->replied_at = ch->c->now;
		set_bytes(&row->reply, (uint8_t *)ch->c->body, ch->c->body_len);
		set_bytes(&row->reply_signature, (uint8_t *)ch->c->signature, RX_SIG_LEN);
		rc = inquiry_put(ch->txn, ch->s, ch->id, row, 0);
	}
	char pharmacy[RX_INSTITUTION_MAX + 1] = "";
	if (row) {
		copy_str(pharmacy, sizeof pharmacy, row->institution_code);
		/* its byte fields now point at ours: give protobuf-c back only its own */
		row->prescriber_key.data = row->reply.data = row->reply_signature.data = NULL;
		row->prescriber_key.len = row->reply.len = row->reply_signature.len = 0;
		rxstore__inquiry_row__free_unpacked(row, NULL);
	}
	if (err != RX_OK)
		return err;
	if (rc != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error writing the answer");
	out->inquiry = r->inquiry_open;
	r->inquiry_open = 0;
	if (answer == RX__ANSWER__ANSWER_CANCEL) {
		/* as the issuer's CANCEL: a held prescription's cancel waits for its release */
		if (st_held((int)r->state))
			r->cancel_pending = 1;
		else
			r->state = RX_STATE_CANCELLED;
		r->cancel_reason = (uint32_t)cancel_reason;
	}
	ch->dirty = 1;
	return st_notify_inquiry(ch, STORE_NOTICE_INQUIRY_REPLY, pharmacy, out->inquiry);
}

/* See store_int.h. */
rx_err_t st_load_inquiries(store_pending_t *ch)
{
	ch->ninq = 0;
	for (uint32_t n = 1; n <= ch->r->inquiries && n <= RX_MAX_INQUIRIES; n++) {
		Rxstore__InquiryRow *row = inquiry_row(ch->txn, ch->s, ch->id, n);
		if (row == NULL || row->pharmacy_key.len != RX_KEY_LEN || row->signature.len != RX_SIG_LEN) {
			if (row)
				rxstore__inquiry_row__free_unpacked(row, NULL);
			return RX_UNAVAILABLE;
		}
		ch->inq_rows[ch->ninq] = row;
		store_inquiry_t *q = &ch->inq[ch->ninq++];
		memset(q, 0, sizeof *q);
		q->number = row->number;
		q->call = row->call.data;
		q->call_len = row->call.len;
		q->signature = row->signature.data;
		q->pharmacy_key = row->pharmacy_key.data;
		q->at = row->at;
		copy_str(q->institution, sizeof q->institution, row->institution_code);
		if (row->reply.len && row->reply_signature.len == RX_SIG_LEN && row->prescriber_key.len == RX_KEY_LEN) {
			q->reply = row->reply.data;
			q->reply_len = row->reply.len;
			q->reply_signature = row->reply_signature.data;
			q->prescriber_key = row->prescriber_key.data;
			q->replied_at = row->replied_at;
		}
	}
	return RX_OK;
}

/* See store_int.h. */
void st_free_inquiries(store_pending_t *ch)
{
	for (size_t i = 0; i < ch->ninq; i++)
		rxstore__inquiry_row__free_unpacked(ch->inq_rows[i], NULL);
	ch->ninq = 0;
	if (ch->agreed_call)
		rx__call__free_unpacked(ch->agreed_call, NULL);
	ch->agreed_call = NULL;
	ch->agreed = NULL;
	ch->nagreed = 0;
}

/* The agreed changes of inquiry n: its accepted answer's, or those of a
 * telephone inquiry settled ACCEPT; into *call (the caller frees it) and
 * *ch, *nch.  RX_NOT_AGREED if it has none. */
static rx_err_t agreed_of(store_pending_t *ch, uint32_t n, Rx__Call **call, Rx__Change ***changes, size_t *nch)
{
	Rxstore__InquiryRow *row = n ? inquiry_row(ch->txn, ch->s, ch->id, n) : NULL;
	*call = NULL;
	if (row == NULL)
		return RX_NOT_AGREED;
	Rx__Call *q = rx__call__unpack(NULL, row->call.len, row->call.data);
	Rx__Call *a = row->reply.len ? rx__call__unpack(NULL, row->reply.len, row->reply.data) : NULL;
	rxstore__inquiry_row__free_unpacked(row, NULL);
	if (q && q->inquiry && q->inquiry->by_phone && q->inquiry->outcome == RX__ANSWER__ANSWER_ACCEPT) {
		*changes = q->inquiry->agreed;
		*nch = q->inquiry->n_agreed;
		*call = q;
		q = NULL;
	} else if (a && a->inquiry_reply && a->inquiry_reply->answer == RX__ANSWER__ANSWER_ACCEPT) {
		*changes = a->inquiry_reply->agreed;
		*nch = a->inquiry_reply->n_agreed;
		*call = a;
		a = NULL;
	}
	if (q)
		rx__call__free_unpacked(q, NULL);
	if (a)
		rx__call__free_unpacked(a, NULL);
	return *call ? RX_OK : RX_NOT_AGREED;
}

/* See store_int.h.  The changes st_inquiry_cited read. */
int st_agreed(store_pending_t *ch, uint32_t item, const store_line_t *l)
{
	for (size_t i = 0; i < ch->nagreed; i++) {
		const Rx__Change *g = ch->agreed[i];
		if (g->item == item)
			return g->to == NULL ? l->outcome == STORE_LINE_NOT_DISPENSED
					     : l->outcome != STORE_LINE_NOT_DISPENSED &&
						       strcmp(g->to->drug_code, l->drug_code) == 0;
	}
	return 0;
}

/* See store_int.h. */
rx_err_t st_inquiry_cited(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	if (ch->c->inquiry == 0 || ch->agreed_call)
		return RX_OK;
	if (agreed_of(ch, ch->c->inquiry, &ch->agreed_call, &ch->agreed, &ch->nagreed) != RX_OK) {
		snprintf(out->why_text, sizeof out->why_text,
			 "inquiry %u of this prescription was not answered with agreed changes", ch->c->inquiry);
		RETURN_REFUSAL(RX_NOT_AGREED, out->why_text);
	}
	return RX_OK;
}
