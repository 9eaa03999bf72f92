/* dispatch: the request path (see dispatch.h). */
#include "dispatch.h"
#include "reply.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "rx.pb-c.h"
#include "rx_check.h"
#include "rx_ids.h"
#include "rx_ops.h"
#include "rx_wire.h"
#include "wire.h"

/* Refuse the request: record why in the log and jump to the refusal reply. */
#define GOTO_REFUSE(code, text)             \
	do {                                \
		log->status = (code);       \
		log->why = (text);          \
		goto refuse;                \
	} while (0)

static int is_signed(const Rx__Signed *s)
{
	return s != NULL && s->body.len > 0 && s->signature.len == RX_SIG_LEN;
}

/* Decoding draws on the request's budget (see dispatch.h): what protobuf-c
 * holds at once, its scratch space included, never exceeds it.  Each block
 * carries its size in front so that freeing gives it back. */
#define BLOCK_HEAD 16 /* keeps malloc's alignment */

static void *budget_alloc(void *data, size_t size)
{
	size_t *left = data;
	if (size > *left || *left - size < BLOCK_HEAD)
		return NULL;
	uint8_t *b = malloc(size + BLOCK_HEAD);
	if (b == NULL)
		return NULL;
	*left -= size + BLOCK_HEAD;
	memcpy(b, &size, sizeof size);
	return b + BLOCK_HEAD;
}

static void budget_free(void *data, void *ptr)
{
	size_t *left = data, size;
	if (ptr == NULL)
		return;
	uint8_t *b = (uint8_t *)ptr - BLOCK_HEAD;
	memcpy(&size, b, sizeof size);
	*left += size + BLOCK_HEAD;
	free(b);
}

/* Call.request_id (field 1, 16 bytes) read off the call's bytes without
 * decoding them: a refusal before the signature holds still names the
 * request it answers.  0 if there is none or the bytes do not parse. */
static int raw_request_id(const uint8_t *b, size_t len, uint8_t rid[RX_REQUEST_ID_LEN])
{
	if (b == NULL || len == 0) /* an empty call: protobuf-c leaves data NULL */
		return 0;
	const uint8_t *p = b, *end = b + len;
	rx_wire_field_t f;
	int found = 0;
	while (p < end) {
		if (!rx_wire_next(&p, end, &f))
			return 0;
		if (f.number == 1 && f.type == RX_WIRE_LEN) {
			found = f.len == RX_REQUEST_ID_LEN;
			if (found)
				memcpy(rid, f.data, RX_REQUEST_ID_LEN);
		}
	}
	return found;
}

void dispatch_prepare(const uint8_t *frame, size_t len, dispatch_prep_t *p)
{
	memset(p, 0, sizeof *p);
	p->frame = frame;
	p->len = len;
	p->budget = DISPATCH_DECODE_MAX;
	p->alloc.alloc = budget_alloc;
	p->alloc.free = budget_free;
	p->alloc.allocator_data = &p->budget;
	if (len == 0 || len > RX_MAX_FRAME ||
	    (p->req = rx__request__unpack(&p->alloc, len, frame)) == NULL)
		return;
	Rx__Request *req = p->req;
	/* The request's one signature first, over the document a SUBMIT or
	 * DISPENSE carries, else over the call: nothing is decoded for a caller
	 * whose signature does not hold. */
	rx_sign_ctx_t ctx;
	const ProtobufCBinaryData *signed_bytes = rx_request_signed(req, &ctx);
	p->signed_ok = req->key.len == RX_KEY_LEN && req->signature.len == RX_SIG_LEN &&
		       req->call.len > 0 &&
		       rx_verify(ctx, req->key.data, signed_bytes->data, signed_bytes->len,
				 req->signature.data) == RX_OK;
	if (!p->signed_ok)
		return;
	rx_hash(signed_bytes->data, signed_bytes->len, p->request_hash);
	/* A signed document is decoded; the call only once the document names
	 * it by its hash: until then it is bytes nobody signed. */
	const ProtobufCBinaryData *named = NULL;
	if (ctx == RX_SIGN_PRESCRIPTION &&
	    (p->prescription = rx__prescription__unpack(&p->alloc, signed_bytes->len, signed_bytes->data)))
		named = &p->prescription->call_hash;
	if (ctx == RX_SIGN_DISPENSE &&
	    (p->rec = rx__dispense_record__unpack(&p->alloc, signed_bytes->len, signed_bytes->data)))
		named = &p->rec->call_hash;
	if (ctx == RX_SIGN_CALL) {
		p->call_ok = 1;
	} else if (named && named->len == RX_HASH_LEN) {
		uint8_t h[RX_HASH_LEN];
		rx_hash(req->call.data, req->call.len, h);
		p->call_ok = memcmp(h, named->data, RX_HASH_LEN) == 0;
	}
	if (!p->call_ok ||
	    (p->call = rx__call__unpack(&p->alloc, req->call.len, req->call.data)) == NULL)
		return;
	Rx__Call *call = p->call;
	if (is_signed(call->card) &&
	    (p->card = rx__card_assertion__unpack(&p->alloc, call->card->body.len,
						  call->card->body.data)))
		p->card_ok = p->card->card_key.len == RX_KEY_LEN &&
			     rx_verify(RX_SIGN_CARD, p->card->card_key.data, call->card->body.data,
				       call->card->body.len, call->card->signature.data) == RX_OK;
}

size_t dispatch_prep_used(const dispatch_prep_t *p)
{
	return p->alloc.alloc ? DISPATCH_DECODE_MAX - p->budget : 0;
}

void dispatch_prep_free(dispatch_prep_t *p)
{
	if (p->card)
		rx__card_assertion__free_unpacked(p->card, &p->alloc);
	if (p->rec)
		rx__dispense_record__free_unpacked(p->rec, &p->alloc);
	if (p->prescription)
		rx__prescription__free_unpacked(p->prescription, &p->alloc);
	if (p->call)
		rx__call__free_unpacked(p->call, &p->alloc);
	if (p->req)
		rx__request__free_unpacked(p->req, &p->alloc);
	memset(p, 0, sizeof *p);
}

rx_err_t dispatch_request(const dispatch_t *d, const char *peer, const uint8_t *frame, size_t len,
			  int64_t now, store_buf_t *reply, dispatch_log_t *log)
{
	dispatch_prep_t p;
	dispatch_prepare(frame, len, &p);
	rx_err_t err = dispatch_apply(d, peer, &p, now, reply, log);
	if (err == RX_OK && (err = reply_sign(d->key, reply)) != RX_OK)
		store_buf_free(reply);
	return err;
}

rx_err_t dispatch_apply(const dispatch_t *d, const char *peer, dispatch_prep_t *pr, int64_t now,
			store_buf_t *reply, dispatch_log_t *log)
{
	Rx__Request *req = pr->req;
	Rx__Call *call = pr->call;
	Rx__Prescription *p = NULL;
	Rx__DispenseRecord *rec = NULL;
	store_change_t c = {0};
	store_outcome_t out;
	store_pending_t *pending = NULL;
	reply_extra_t extra = {.access_code = NULL};
	const uint8_t *request_hash = pr->request_hash;
	const size_t len = pr->len;
	char id[RX_ID_LEN + 1], pid[RX_PATIENT_ID_LEN + 1], code[RX_ACCESS_CODE_LEN + 1],
		new_code[RX_ACCESS_CODE_LEN + 1];
	Rx__CardAssertion *card = NULL;
	store_assertion_t assertion;
	store_item_t items[RX_MAX_ITEMS]; /* SUBMIT: rx_check_prescription allows no more */
	store_line_t lines[RX_MAX_ITEMS]; /* DISPENSE: rx_check_dispense allows no more */
	uint8_t content_hash[RX_HASH_LEN];
	const uint8_t *rid = NULL;
	rx_err_t err = RX_OK;

	memset(log, 0, sizeof *log);
	reply->data = NULL;
	reply->len = 0;

	/* The checks below run in the order they always did; the decoding and
	 * the signature checks were done by dispatch_prepare. */
	if (len == 0)
		GOTO_REFUSE(RX_INVALID, "empty request frame");
	if (len > RX_MAX_FRAME)
		GOTO_REFUSE(RX_INVALID, "request frame larger than the maximum");
	if (req == NULL)
		GOTO_REFUSE(RX_INVALID, "request is not a valid rx.Request protobuf (or needs more memory to decode than rxd allows)");
	/* Until the signature holds, the reply names the request id read from
	 * the wire (if it is one), and nothing inside the call is decoded. */
	if (req->call.len == 0)
		GOTO_REFUSE(RX_INVALID, "request.call is empty");
	uint8_t wire_rid[RX_REQUEST_ID_LEN];
	if (call == NULL && raw_request_id(req->call.data, req->call.len, wire_rid)) {
		rid = wire_rid;
		rx_hex(rid, RX_REQUEST_ID_LEN, log->request_id);
	}
	if (req->key.len != RX_KEY_LEN)
		GOTO_REFUSE(RX_INVALID, "caller key must be 32 bytes");
	if (req->signature.len != RX_SIG_LEN)
		GOTO_REFUSE(RX_INVALID, "request signature must be 64 bytes");
	if (!pr->signed_ok)
		GOTO_REFUSE(RX_BAD_SIGNATURE, "request signature does not verify");
	/* Step 7a: the signed document names this call. */
	if (req->prescription.len && pr->prescription == NULL)
		GOTO_REFUSE(RX_INVALID, "Request.prescription is not a valid rx.Prescription protobuf");
	if (!req->prescription.len && req->dispense.len && pr->rec == NULL)
		GOTO_REFUSE(RX_INVALID, "Request.dispense is not a valid rx.DispenseRecord protobuf");
	if (!pr->call_ok)
		GOTO_REFUSE(RX_BAD_SIGNATURE, "the signed document names another call (its call_hash is not the hash of Request.call)");
	if (call == NULL) {
		/* As ever: a call that does not decode names no request. */
		rid = NULL;
		log->request_id[0] = '\0';
		GOTO_REFUSE(RX_INVALID, "request.call is not a valid rx.Call protobuf (or needs more memory to decode than rxd allows)");
	}
	if (call->request_id.len != RX_REQUEST_ID_LEN)
		GOTO_REFUSE(RX_INVALID, "request id must be 16 bytes");
	rid = call->request_id.data;
	rx_hex(rid, RX_REQUEST_ID_LEN, log->request_id);
	log->op = (int)call->op >= RX_OP_SUBMIT && (int)call->op <= RX_OP_LAST ? (int)call->op : 0;
	if (log->op == 0)
		GOTO_REFUSE(RX_INVALID, "unknown op");
	/* Step 9a: the one document a SUBMIT, DISPENSE, AMEND or WITHDRAW
	 * carries, and no other. */
	int doc = rx_op_info(log->op)->doc;
	if (doc == RX_DOC_PRESCRIPTION && req->prescription.len == 0)
		GOTO_REFUSE(RX_INVALID, "SUBMIT carries its prescription in Request.prescription (protocol v2)");
	if (doc == RX_DOC_DISPENSE && req->dispense.len == 0)
		GOTO_REFUSE(RX_INVALID, "DISPENSE, AMEND and WITHDRAW carry their dispense record in Request.dispense (protocol v2)");
	if ((doc != RX_DOC_PRESCRIPTION && req->prescription.len) ||
	    (doc != RX_DOC_DISPENSE && req->dispense.len))
		GOTO_REFUSE(RX_INVALID, "a request carries no document but its own op's (a prescription only for SUBMIT, a dispense record only for DISPENSE, AMEND and WITHDRAW)");

	c.op = log->op;
	c.actor = req->key.data;
	c.peer = peer;
	c.request_id = rid;
	c.call_hash = request_hash;
	c.now = now;
	c.heartbeat = c.op == RX_OP_WATCH && pr->watching;

	/* An id, code or patient id with a NUL in it does not canonicalize
	 * (steps 10, 13, 15), though the decoded C string, cut at the NUL, would. */
	if (rx_check_strings(&rx__call__descriptor, req->call.data, req->call.len) != RX_OK)
		GOTO_REFUSE(RX_INVALID, "a text field of the call holds a NUL byte");

	/* What the op takes comes from the table of ops; LIST takes an id only
	 * together with its access code. */
	const rx_op_info_t *info = rx_op_info(c.op);
	if (info->prescription_id == RX_FIELD_MUST ||
	    (info->prescription_id == RX_FIELD_MAY && call->prescription_id[0])) {
		if (rx_rxid_parse(call->prescription_id, id) != RX_OK)
			GOTO_REFUSE(RX_INVALID, "prescription id is malformed or its check character is wrong");
		memcpy(log->id, id, sizeof id);
		c.id = id;
	}
	if (info->claim_token == RX_FIELD_MUST) {
		if (call->claim_token.len != RX_TOKEN_LEN)
			GOTO_REFUSE(RX_INVALID, "claim token must be 16 bytes");
		c.claim_token = call->claim_token.data;
	}
	if (call->access_code[0]) {
		if (info->access_code == RX_FIELD_NO)
			GOTO_REFUSE(RX_INVALID, "an access code is used only to CLAIM, STATUS or LIST");
		if (rx_access_code_parse(call->access_code, code) != RX_OK)
			GOTO_REFUSE(RX_INVALID, "the access code is malformed or its check character is wrong");
		c.access_code = code;
	}
	if (c.op == RX_OP_LIST) {
		if (c.id && !c.access_code)
			GOTO_REFUSE(RX_INVALID, "LIST by prescription id needs its access code");
		if (call->patient_id[0] && rx_patient_id_parse(call->patient_id, pid) != RX_OK)
			GOTO_REFUSE(RX_INVALID, "patient id is malformed or its check character is wrong");
		c.patient_id = call->patient_id[0] ? pid : "";
	}
	if (call->card && info->card == RX_FIELD_NO)
		GOTO_REFUSE(RX_INVALID, "a card assertion is used only to SUBMIT, CLAIM, STATUS, LIST, LOG, NOMINATE, PATIENT_LIST or PATIENT_STATUS");
	if (call->pharmacy_code[0] && c.op != RX_OP_NOMINATE)
		GOTO_REFUSE(RX_INVALID, "a pharmacy code is used only to NOMINATE");
	if (c.op == RX_OP_NOMINATE) {
		if (call->pharmacy_code[0] && rx_institution_valid(call->pharmacy_code) != RX_OK)
			GOTO_REFUSE(RX_INVALID, "the pharmacy code is malformed");
		c.pharmacy = call->pharmacy_code;
	}
	if (call->n_ack && c.op != RX_OP_ACK)
		GOTO_REFUSE(RX_INVALID, "notice seqs are acknowledged only with ACK");
	if (c.op == RX_OP_ACK) {
		if (call->n_ack == 0 || call->n_ack > STORE_MAX_ACKS)
			GOTO_REFUSE(RX_INVALID, "ACK names 1 to 256 notice seqs");
		c.acks = call->ack;
		c.nacks = call->n_ack;
	}
	if ((call->from || call->until) && c.op != RX_OP_PATIENT_LIST)
		GOTO_REFUSE(RX_INVALID, "a date range is used only with PATIENT_LIST");
	if (call->from < 0 || call->until < 0 || (call->until && call->until <= call->from))
		GOTO_REFUSE(RX_INVALID, "the date range must run forward: from before until, both unix seconds");
	c.from = call->from;
	c.until = call->until;
	if (call->cancel_reason && c.op != RX_OP_CANCEL)
		GOTO_REFUSE(RX_INVALID, "a cancel reason is given only with CANCEL");
	if (call->cancel_reason < 0 || call->cancel_reason > RX__CANCEL_REASON__CANCEL_OTHER)
		GOTO_REFUSE(RX_INVALID, "the cancel reason must be 1..5 (or 0, not stated)");
	c.cancel_reason = (int)call->cancel_reason;
	/* Step 20c: an inquiry or an answer, with its own op only; the signed
	 * call is what the store keeps of it (5.14). */
	if ((call->inquiry && c.op != RX_OP_INQUIRE) || (call->inquiry_reply && c.op != RX_OP_INQUIRY_REPLY))
		GOTO_REFUSE(RX_INVALID, "an inquiry travels only with INQUIRE, an answer only with INQUIRY_REPLY");
	if (c.op == RX_OP_INQUIRE || c.op == RX_OP_INQUIRY_REPLY) {
		const char *why = NULL;
		if (c.op == RX_OP_INQUIRE && call->inquiry == NULL)
			GOTO_REFUSE(RX_INVALID, "INQUIRE carries its inquiry (Call.inquiry)");
		if (c.op == RX_OP_INQUIRY_REPLY && call->inquiry_reply == NULL)
			GOTO_REFUSE(RX_INVALID, "INQUIRY_REPLY carries its answer (Call.inquiry_reply)");
		if ((err = c.op == RX_OP_INQUIRE ? rx_check_inquiry(call->inquiry, now, &why)
						 : rx_check_inquiry_reply(call->inquiry_reply, &why)) != RX_OK)
			GOTO_REFUSE(err, why);
		c.body = req->call.data;
		c.body_len = req->call.len;
		c.signature = req->signature.data;
	}

	/* A retry is answered from the store before any check whose outcome moves
	 * with the clock (issued_at, valid_until, the card's time), so it gets
	 * its original reply however late it comes; but only to its own caller:
	 * a key used through another institution's connection goes straight to
	 * the store, which refuses it (audited) before looking anything up. */
	err = store_replay(d->store, c.actor, peer, rid, request_hash, &out, reply);
	if (err == RX_OK) {
		log->replayed = 1;
		goto done;
	}
	if (err == RX_PERMISSION_DENIED)
		goto apply;
	if (err != RX_NOT_FOUND)
		GOTO_REFUSE(err, out.why);

	/* The patient's card, as the reader at the counter signed it. */
	if (call->card) {
		const char *why = NULL;
		if ((card = pr->card) == NULL)
			GOTO_REFUSE(RX_INVALID, "the card assertion is not a signed rx.CardAssertion");
		if ((err = rx_check_assertion(card, &why)) != RX_OK)
			GOTO_REFUSE(err, why);
		if (rx_check_strings(&rx__card_assertion__descriptor, call->card->body.data,
				     call->card->body.len) != RX_OK)
			GOTO_REFUSE(RX_INVALID, "card assertion institution code is malformed");
		if (!pr->card_ok)
			GOTO_REFUSE(RX_BAD_SIGNATURE, "the card's signature on the assertion does not verify");
		if (card->at > now + RX_CLOCK_SKEW || card->at < now - RX_CLOCK_SKEW)
			GOTO_REFUSE(RX_ASSERTION_STALE, "the card assertion is more than 5 minutes off the broker's clock");
		if (peer == NULL || strcmp(card->institution_code, peer) != 0)
			GOTO_REFUSE(RX_ASSERTION_MISMATCH, "the card assertion was made at another institution");
		assertion.card = card->card_key.data;
		assertion.purpose = (int)card->purpose;
		assertion.at = card->at;
		assertion.nonce = card->nonce.data;
		c.card = &assertion;
	}

	switch (c.op) {
	case RX_OP_SUBMIT: {
		/* Step P: decoded and signed at 7a; its content now. */
		p = pr->prescription;
		if (p->prescriber_key.len != RX_KEY_LEN)
			GOTO_REFUSE(RX_INVALID, "prescriber key must be 32 bytes");
		if (memcmp(p->prescriber_key.data, c.actor, RX_KEY_LEN) != 0)
			GOTO_REFUSE(RX_PERMISSION_DENIED, "a prescription must be submitted by its prescriber");
		const char *why = NULL;
		if (rx_check_strings(&rx__prescription__descriptor, req->prescription.data,
				     req->prescription.len) != RX_OK)
			GOTO_REFUSE(RX_INVALID, "a text field of the prescription holds a NUL byte");
		if ((err = rx_check_prescription(p, now, &why)) != RX_OK)
			GOTO_REFUSE(err, why);
		if (card == NULL)
			GOTO_REFUSE(RX_INVALID, "SUBMIT needs the patient's card assertion (purpose issue)");
		if (p->patient_card.len && memcmp(p->patient_card.data, card->card_key.data, RX_KEY_LEN) != 0)
			GOTO_REFUSE(RX_ASSERTION_MISMATCH, "the prescription names another card than the one presented");
		c.patient_id = p->patient_id;
		c.institution = p->institution_code;
		c.issued_at = p->issued_at;
		c.valid_until = p->valid_until;
		c.uses = p->uses;
		c.body = req->prescription.data;
		c.body_len = req->prescription.len;
		c.signature = req->signature.data;
		if (rx_hash_without_field(req->prescription.data, req->prescription.len,
					  RX_PRESCRIPTION_CALL_HASH_FIELD, content_hash) != RX_OK)
			GOTO_REFUSE(RX_INVALID, "Request.prescription is not a valid rx.Prescription protobuf");
		c.content_hash = content_hash;
		for (size_t i = 0; i < p->n_items; i++) {
			items[i].drug_code = p->items[i]->drug_code;
			items[i].days = p->items[i]->days;
		}
		c.items = items;
		c.n_items = p->n_items;
		c.override_reason = p->override_reason;
		c.divided = p->n_part_days > 0;
		rx_access_code_new(new_code);
		c.new_access_code = new_code;
		extra.access_code = new_code;
		break;
	}
	case RX_OP_DISPENSE:
	case RX_OP_AMEND:
	case RX_OP_WITHDRAW: {
		rec = pr->rec;
		if (rec->pharmacy_key.len != RX_KEY_LEN)
			GOTO_REFUSE(RX_INVALID, "pharmacy key must be 32 bytes");
		if (memcmp(rec->pharmacy_key.data, c.actor, RX_KEY_LEN) != 0)
			GOTO_REFUSE(RX_PERMISSION_DENIED, "a dispense record must be signed by the dispensing pharmacy");
		const char *why = NULL;
		if (rx_check_strings(&rx__dispense_record__descriptor, req->dispense.data,
				     req->dispense.len) != RX_OK)
			GOTO_REFUSE(RX_INVALID, "a text field of the dispense record holds a NUL byte");
		if ((err = rx_check_dispense_op(rec, c.op, &why)) != RX_OK)
			GOTO_REFUSE(err, why);
		if (strcmp(rec->prescription_id, id) != 0)
			GOTO_REFUSE(RX_INVALID, "the dispense record names another prescription");
		for (size_t i = 0; i < rec->n_lines; i++) {
			const Rx__Line *l = rec->lines[i];
			lines[i].item = l->item;
			lines[i].outcome = (int)l->outcome;
			lines[i].drug_code = l->handed ? l->handed->drug_code : "";
			lines[i].quantity = l->handed ? l->handed->quantity : 0;
			lines[i].reason = (int)l->reason;
		}
		c.lines = lines;
		c.n_lines = rec->n_lines;
		c.replaces = rec->replaces.len ? rec->replaces.data : NULL;
		c.use = rec->use;
		c.part = rec->part;
		c.inquiry = rec->inquiry;
		c.body = req->dispense.data;
		c.body_len = req->dispense.len;
		c.signature = req->signature.data;
		memcpy(extra.dispense_hash, request_hash, RX_HASH_LEN);
		break;
	}
	default:
		break;
	}

apply:
	log->applied = 1;
	log->plain_read = rx_op_is_read(c.op) && !c.card && !c.access_code;
	/* Apply (the store) -> reply (signed here) -> keep the reply with the
	 * change (the store); the batch's commit makes it durable (front.c). */
	err = store_change_begin(d->store, &c, &out, reply, &pending);
	if (err == RX_OK && pending) {
		err = reply_change(d->key, &c, &out, &extra, reply);
		err = err == RX_OK ? store_change_commit(&pending, reply)
				   : store_change_abort(&pending, err, "could not build the reply");
		if (err != RX_OK)
			store_buf_free(reply);
	}
	if (err != RX_OK) {
		log->status = err;
		/* out goes with this call; a reason written into it is kept. */
		if (out.why == out.why_text) {
			memcpy(log->why_text, out.why_text, sizeof log->why_text);
			log->why = log->why_text;
		} else {
			log->why = out.why;
		}
		/* DUPLICATE_MEDICATION: the prescriber sees what was found. */
		err = reply_refusal_warned(rid, RX_REQUEST_ID_LEN, err, out.why, &out, reply);
		goto cleanup;
	}
	/* store_replay above saw only what is committed; a retry found here is
	 * of a request earlier in the open batch. */
	log->batch_replay = out.replayed;
	log->audit_lost = out.audit_lost;
	if (!out.replayed) {
		memcpy(log->notices, out.notices, sizeof log->notices);
		log->nnotices = out.nnotices;
	}
	if (c.op == RX_OP_WATCH && peer)
		snprintf(log->watcher, sizeof log->watcher, "%s", peer);
	if (!out.replayed && c.op == RX_OP_SUBMIT)
		memcpy(log->id, out.rx.id, sizeof log->id);
	goto done;

refuse:
	err = reply_refusal(rid, rid ? RX_REQUEST_ID_LEN : 0, log->status, log->why, reply);
	goto cleanup;
done:
	log->status = RX_OK;
cleanup:
	sodium_memzero(new_code, sizeof new_code);
	dispatch_prep_free(pr);
	return err;
}
