/* reply: what rxd answers and pushes, signed by the broker (see reply.h). */
#include "reply.h"

#include <stdlib.h>
#include <string.h>

#include "rx.pb-c.h"
#include "rx_check.h"
#include "rx_ops.h"
#include "rx_wire.h"
#include "wire.h"

static rx_err_t pack_reply(const Rx__Reply *r, store_buf_t *out)
{
	out->len = rx__reply__get_packed_size(r);
	if ((out->data = malloc(out->len ? out->len : 1)) == NULL)
		return RX_SYSTEM;
	rx__reply__pack(r, out->data);
	return RX_OK;
}

/* The check's findings as rx.Warning messages: w[i] points into the store's,
 * and ptrs[i] at w[i]. */
typedef struct {
	Rx__Warning w[STORE_MAX_WARNINGS];
	Rx__Warning *ptrs[STORE_MAX_WARNINGS];
} warnings_pb_t;

static size_t warnings_pb(const store_outcome_t *o, warnings_pb_t *pb)
{
	size_t n = o->nwarnings < STORE_MAX_WARNINGS ? o->nwarnings : STORE_MAX_WARNINGS;
	for (size_t i = 0; i < n; i++) {
		const store_warning_t *sw = &o->warnings[i];
		Rx__Warning *w = &pb->w[i];
		rx__warning__init(w);
		w->kind = sw->kind == STORE_WARN_DUPLICATE ? RX__WARNING_KIND__DUPLICATE_INGREDIENT
							   : RX__WARNING_KIND__UNKNOWN_DRUG;
		w->item = sw->item;
		w->drug_code = (char *)sw->drug_code;
		w->other_prescription_id = (char *)sw->other_id;
		w->other_drug_code = (char *)sw->other_code;
		w->ingredient = (char *)sw->ingredient;
		w->overlap_days = sw->overlap_days;
		w->message = (char *)sw->message;
		pb->ptrs[i] = w;
	}
	return n;
}

/* See reply.h. */
rx_err_t reply_refusal_warned(const uint8_t *request_id, size_t rid_len, rx_err_t status, const char *why,
			const store_outcome_t *o, store_buf_t *reply)
{
	Rx__Reply r = RX__REPLY__INIT;
	warnings_pb_t *pb = NULL;
	if (o && o->nwarnings) {
		if ((pb = malloc(sizeof *pb)) == NULL)
			return RX_SYSTEM;
		r.n_warnings = warnings_pb(o, pb);
		r.warnings = pb->ptrs;
	}
	if (request_id && rid_len == RX_REQUEST_ID_LEN) {
		r.request_id.data = (uint8_t *)request_id;
		r.request_id.len = rid_len;
	}
	r.status = (Rx__Status)status;
	r.message = (char *)(why ? why : rx_strerror(status));
	rx_err_t err = pack_reply(&r, reply);
	free(pb);
	return err;
}

/* See reply.h. */
rx_err_t reply_refusal(const uint8_t *request_id, size_t rid_len, rx_err_t status, const char *why,
		       store_buf_t *reply)
{
	return reply_refusal_warned(request_id, rid_len, status, why, NULL, reply);
}

/* The receipt signature of a reply not signed yet. */
static const uint8_t unsigned_yet[RX_SIG_LEN];

/* Pack an OK reply around the receipt: r, with whatever the op carries
 * beside the receipt already set, gets the receipt, the status, and a
 * signature of zeros that reply_sign fills in.  The store keeps the reply
 * with the zeros (the change and its reply commit together, before any
 * signature is made), so the signature need not be made on the store
 * thread: Ed25519 is deterministic, and the broker's key is the store's for
 * its life (keys.c), so signing the kept bytes again gives the bytes sent. */
static rx_err_t ok_reply_with(Rx__Receipt *rc, Rx__Reply *r, store_buf_t *out)
{
	size_t n = rx__receipt__get_packed_size(rc);
	uint8_t *buf = malloc(n ? n : 1);
	rx_err_t err;

	if (buf == NULL)
		return RX_SYSTEM;
	rx__receipt__pack(rc, buf);
	r->request_id = rc->request_id;
	r->status = RX__STATUS__OK;
	r->receipt.data = buf;
	r->receipt.len = n;
	r->receipt_signature.data = (uint8_t *)unsigned_yet;
	r->receipt_signature.len = RX_SIG_LEN;
	err = pack_reply(r, out);
	free(buf);
	return err;
}

/* See reply.h. */
rx_err_t reply_sign(const rx_keypair_t *key, store_buf_t *reply)
{
	const uint8_t *p = reply->data, *end = p + reply->len;
	const uint8_t *receipt = NULL;
	size_t receipt_len = 0;
	uint8_t *slot = NULL;
	rx_wire_field_t f;

	while (p < end) {
		if (!rx_wire_next(&p, end, &f))
			return RX_SYSTEM;
		if (f.type != RX_WIRE_LEN)
			continue;
		if (f.number == 4) { /* Reply.receipt */
			receipt = f.data;
			receipt_len = f.len;
		} else if (f.number == 5 && f.len == RX_SIG_LEN) { /* Reply.receipt_signature */
			slot = reply->data + (f.data - reply->data);
		}
	}
	/* A refusal or a notice has no slot; a reply kept by an rxd that
	 * signed on the store thread has its signature already. */
	if (receipt == NULL || slot == NULL || memcmp(slot, unsigned_yet, RX_SIG_LEN) != 0)
		return RX_OK;
	/* Only a receipt naming this key (keys.c never lets it change; this
	 * says so where a client would otherwise find out). */
	const uint8_t *q = receipt;
	int named = 0;
	while (q < receipt + receipt_len) {
		if (!rx_wire_next(&q, receipt + receipt_len, &f))
			return RX_SYSTEM;
		if (f.number == 1 && f.type == RX_WIRE_LEN) /* Receipt.broker_key */
			named = f.len == RX_KEY_LEN && memcmp(f.data, key->pk, RX_KEY_LEN) == 0;
	}
	if (!named)
		return RX_SYSTEM;
	return rx_sign(RX_SIGN_RECEIPT, key->sk, receipt, receipt_len, slot);
}

static rx_err_t ok_reply(Rx__Receipt *rc, Rx__Signed *prescription,
			 store_buf_t *out)
{
	Rx__Reply r = RX__REPLY__INIT;
	r.prescription = prescription;
	return ok_reply_with(rc, &r, out);
}

/* STATUS: the prescriber's signed prescription and one DispenseInfo per
 * dispensed use, beside the receipt. */
static rx_err_t status_reply(Rx__Receipt *rc, const store_outcome_t *o,
			     store_buf_t *out)
{
	Rx__Reply r = RX__REPLY__INIT;
	enum { MAX = RX_MAX_USES * STORE_USE_RECORDS };
	Rx__Signed sp = RX__SIGNED__INIT, recs[MAX];
	Rx__DispenseInfo infos[MAX], *ptrs[MAX];
	Rx__Signed calls[RX_MAX_INQUIRIES], replies[RX_MAX_INQUIRIES];
	Rx__InquiryInfo qs[RX_MAX_INQUIRIES], *qptrs[RX_MAX_INQUIRIES];
	sp.body.data = (uint8_t *)o->body;
	sp.body.len = o->body_len;
	sp.signature.data = (uint8_t *)o->signature;
	sp.signature.len = o->signature ? RX_SIG_LEN : 0;
	r.prescription = &sp;
	for (size_t i = 0; i < o->ndispenses && i < MAX; i++) {
		const store_dispense_t *x = &o->dispenses[i];
		rx__signed__init(&recs[i]);
		recs[i].body.data = (uint8_t *)x->body;
		recs[i].body.len = x->body_len;
		recs[i].signature.data = (uint8_t *)x->signature;
		recs[i].signature.len = RX_SIG_LEN;
		rx__dispense_info__init(&infos[i]);
		infos[i].record = &recs[i];
		infos[i].at = x->at;
		infos[i].institution_code = (char *)x->institution;
		infos[i].use = x->use;
		infos[i].superseded = x->superseded;
		ptrs[i] = &infos[i];
		r.n_dispenses = i + 1;
	}
	r.dispenses = ptrs;
	/* The broker's word on when and where each use was dispensed goes under
	 * its signature, not only the channel's protection. */
	uint8_t h[RX_HASH_LEN], hq[RX_HASH_LEN];
	if (r.n_dispenses) {
		rx_dispenses_hash(ptrs, r.n_dispenses, h);
		rc->dispenses_hash.data = h;
		rc->dispenses_hash.len = RX_HASH_LEN;
	}
	/* Each inquiry and answer as signed, the broker's times and the
	 * pharmacy's institution bound by the receipt as the dispenses are. */
	for (size_t i = 0; i < o->ninquiries && i < RX_MAX_INQUIRIES; i++) {
		const store_inquiry_t *x = &o->inquiries[i];
		rx__inquiry_info__init(&qs[i]);
		rx__signed__init(&calls[i]);
		calls[i].body.data = (uint8_t *)x->call;
		calls[i].body.len = x->call_len;
		calls[i].signature.data = (uint8_t *)x->signature;
		calls[i].signature.len = RX_SIG_LEN;
		qs[i].number = x->number;
		qs[i].call = &calls[i];
		qs[i].pharmacy_key.data = (uint8_t *)x->pharmacy_key;
		qs[i].pharmacy_key.len = RX_KEY_LEN;
		qs[i].at = x->at;
		qs[i].institution_code = (char *)x->institution;
		if (x->reply) {
			rx__signed__init(&replies[i]);
			replies[i].body.data = (uint8_t *)x->reply;
			replies[i].body.len = x->reply_len;
			replies[i].signature.data = (uint8_t *)x->reply_signature;
			replies[i].signature.len = RX_SIG_LEN;
			qs[i].reply = &replies[i];
			qs[i].prescriber_key.data = (uint8_t *)x->prescriber_key;
			qs[i].prescriber_key.len = RX_KEY_LEN;
			qs[i].replied_at = x->replied_at;
		}
		qptrs[i] = &qs[i];
		r.n_inquiries = i + 1;
	}
	r.inquiries = qptrs;
	if (r.n_inquiries) {
		rx_inquiries_hash(qptrs, r.n_inquiries, hq);
		rc->inquiries_hash.data = hq;
		rc->inquiries_hash.len = RX_HASH_LEN;
	}
	return ok_reply_with(rc, &r, out);
}

static void receipt_init(const rx_keypair_t *key, Rx__Receipt *rc, const uint8_t *rid,
			 const uint8_t *caller, int op, int64_t now)
{
	rx__receipt__init(rc);
	rc->broker_key.data = (uint8_t *)key->pk;
	rc->broker_key.len = RX_KEY_LEN;
	rc->request_id.data = (uint8_t *)rid;
	rc->request_id.len = RX_REQUEST_ID_LEN;
	rc->caller_key.data = (uint8_t *)caller;
	rc->caller_key.len = RX_KEY_LEN;
	rc->op = (Rx__Op)op;
	rc->at = now;
}

static void receipt_rx(Rx__Receipt *rc, const store_rx_t *rx)
{
	rc->prescription_id = (char *)rx->id;
	rc->state = (Rx__State)rx->state;
	rc->uses_left = rx->uses_left;
	rc->cancel_pending = rx->cancel_pending;
	rc->cancel_reason = (Rx__CancelReason)rx->cancel_reason;
	rc->inquiry_open = rx->inquiry_open;
	rc->valid_until = rx->valid_until;
	rc->opens_at = rx->opens_at;
	rc->institution_code = (char *)rx->institution;
	rc->uses = rx->uses;
	rc->issued_at = rx->issued_at;
}

/* An OK reply whose receipt carries the drug master's findings. */
static rx_err_t warned_reply(Rx__Receipt *rc, const store_outcome_t *o,
			     store_buf_t *reply)
{
	warnings_pb_t *pb = NULL;
	if (o->nwarnings) {
		if ((pb = malloc(sizeof *pb)) == NULL)
			return RX_SYSTEM;
		rc->n_warnings = warnings_pb(o, pb);
		rc->warnings = pb->ptrs;
	}
	rx_err_t err = ok_reply(rc, NULL, reply);
	free(pb);
	return err;
}

/* See reply.h. */
rx_err_t reply_change(const rx_keypair_t *key, const store_change_t *c, const store_outcome_t *o,
		      const reply_extra_t *x, store_buf_t *reply)
{
	Rx__Receipt rc;
	uint8_t token[RX_TOKEN_LEN];
	Rx__Summary **sums = NULL;
	rx_err_t err;

	receipt_init(key, &rc, c->request_id, c->actor, c->op, c->now);
	if (o->rx.id[0])
		receipt_rx(&rc, &o->rx);
	switch (c->op) {
	case RX_OP_SUBMIT:
		rc.patient_id = (char *)o->rx.patient_id;
		rc.body_hash.data = (uint8_t *)o->rx.body_hash;
		rc.body_hash.len = RX_HASH_LEN;
		rc.access_code = (char *)x->access_code;
		return warned_reply(&rc, o, reply);
	case RX_OP_NOMINATE:
		rc.patient_id = (char *)o->rx.patient_id;
		rc.pharmacy_code = (char *)o->pharmacy;
		break;
	case RX_OP_WATCH:
	case RX_OP_ACK:
		rc.notices = o->count;
		break;
	case RX_OP_INQUIRE:
	case RX_OP_INQUIRY_REPLY:
		rc.inquiry = o->inquiry;
		break;
	case RX_OP_CLAIM:
		memcpy(token, o->rx.claim_token, RX_TOKEN_LEN);
		rc.claim_token.data = token;
		rc.claim_token.len = RX_TOKEN_LEN;
		rc.use = o->use;
		return warned_reply(&rc, o, reply);
	case RX_OP_DISPENSE:
	case RX_OP_AMEND:
		rc.use = o->use;
		rc.body_hash.data = (uint8_t *)x->dispense_hash;
		rc.body_hash.len = RX_HASH_LEN;
		/* a handed product the drug master does not list */
		return warned_reply(&rc, o, reply);
	case RX_OP_WITHDRAW:
		/* the use is back, claimed by the caller under a new token */
		memcpy(token, o->rx.claim_token, RX_TOKEN_LEN);
		rc.claim_token.data = token;
		rc.claim_token.len = RX_TOKEN_LEN;
		rc.use = o->use;
		rc.body_hash.data = (uint8_t *)x->dispense_hash;
		rc.body_hash.len = RX_HASH_LEN;
		break;
	case RX_OP_STATUS:
	case RX_OP_PATIENT_STATUS:
		rc.body_hash.data = (uint8_t *)o->rx.body_hash;
		rc.body_hash.len = RX_HASH_LEN;
		return status_reply(&rc, o, reply);
	case RX_OP_LOG: {
		Rx__AuditInfo **log = wire_audit_infos(o->log, o->nlog);
		if (log == NULL)
			return RX_SYSTEM;
		rc.patient_id = (char *)o->rx.patient_id;
		rc.n_log = o->nlog;
		rc.log = log;
		err = ok_reply(&rc, NULL, reply);
		free(log);
		return err;
	}
	case RX_OP_LIST:
	case RX_OP_PATIENT_LIST:
		/* A list is about a patient, not one prescription. */
		rc.prescription_id = (char *)"";
		rc.state = RX__STATE__STATE_NONE;
		rc.uses_left = rc.uses = 0;
		rc.valid_until = rc.issued_at = 0;
		rc.institution_code = (char *)"";
		rc.cancel_pending = 0;
		rc.cancel_reason = 0;
		rc.patient_id = (char *)(o->n ? o->list[0].patient_id : o->rx.patient_id);
		if ((sums = wire_summaries(o->list, o->n)) == NULL)
			return RX_SYSTEM;
		rc.n_prescriptions = o->n;
		rc.prescriptions = sums;
		err = ok_reply(&rc, NULL, reply);
		free(sums);
		return err;
	default:
		break;
	}
	return ok_reply(&rc, NULL, reply);
}

/* See reply.h. */
rx_err_t reply_notice(const rx_keypair_t *key, const store_notice_t *n, store_buf_t *frame)
{
	Rx__Notice m = RX__NOTICE__INIT;
	Rx__Reply r = RX__REPLY__INIT;
	uint8_t sig[RX_SIG_LEN];
	m.seq = n->seq;
	m.kind = (Rx__NoticeKind)n->kind;
	m.pharmacy_code = (char *)n->pharmacy;
	m.prescription_id = (char *)n->id;
	m.patient_id = (char *)n->patient_id;
	m.institution_code = (char *)n->institution;
	m.at = n->at;
	m.state = (Rx__State)n->state;
	m.cancel_pending = n->cancel_pending;
	m.cancel_reason = (Rx__CancelReason)n->cancel_reason;
	m.inquiry = n->inquiry;
	m.use = n->use;
	m.part = n->part;
	m.broker_key.data = (uint8_t *)key->pk;
	m.broker_key.len = RX_KEY_LEN;
	size_t len = rx__notice__get_packed_size(&m);
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		return RX_SYSTEM;
	rx__notice__pack(&m, buf);
	rx_err_t err = rx_sign(RX_SIGN_NOTICE, key->sk, buf, len, sig);
	if (err == RX_OK) {
		r.status = RX__STATUS__OK;
		r.notice.data = buf;
		r.notice.len = len;
		r.notice_signature.data = sig;
		r.notice_signature.len = RX_SIG_LEN;
		err = pack_reply(&r, frame);
	}
	free(buf);
	return err;
}

