/* Hostile input: the shared pieces the row builders assemble requests
 * from (the row arena, frames, signed calls, prescriptions, cards and
 * dispense records that are right but for the defect a row adds, and
 * doc_request, which binds a document to its call and signs it once as
 * protocol v2 does, or breaks exactly one part of that). */

#include "hostile.h"
#include "rxclient_int.h"

/* ---- memory that lives for one row ---- */

void *hx_alloc(hx_t *x, size_t n)
{
	ck_assert_int_lt(x->narena, ARENA_MAX);
	void *p = calloc(1, n ? n : 1);
	ck_assert_ptr_nonnull(p);
	x->arena[x->narena++] = p;
	return p;
}

void *hx_dup(hx_t *x, const void *src, size_t n)
{
	void *p = hx_alloc(x, n);
	if (n)
		memcpy(p, src, n);
	return p;
}

void hx_reset(hx_t *x)
{
	for (int i = 0; i < x->narena; i++)
		free(x->arena[i]);
	x->narena = 0;
	x->want = NULL;
	x->want_len = 0;
	x->check = NULL;
	x->say = NULL;
}

void frame(hx_t *x, frames_t *f, const void *p, size_t n)
{
	ck_assert_int_lt(f->n, MAX_FRAMES);
	f->data[f->n] = hx_dup(x, p, n);
	f->len[f->n++] = n;
}

/* ---- building requests ---- */

/* The group order L of Ed25519, little-endian. */
static const uint8_t ED25519_L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
				      0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
				      0,    0,    0,    0,    0,    0,    0,    0,
				      0,    0,    0,    0,    0,    0,    0,    0x10};

/* S += L: the same signature in a non-canonical form (S >= L), which a
 * lax verifier reducing S mod L would accept. */
void malleate(uint8_t sig[RX_SIG_LEN])
{
	unsigned carry = 0;
	for (int i = 0; i < 32; i++) {
		carry += (unsigned)sig[32 + i] + ED25519_L[i];
		sig[32 + i] = (uint8_t)carry;
		carry >>= 8;
	}
	ck_assert_uint_eq(carry, 0); /* S < L < 2^253: the sum fits */
}

size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	do {
		p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

void sign_msg(hx_t *x, const rx_keypair_t *kp, rx_sign_ctx_t ctx, const ProtobufCMessage *m,
	      Rx__Signed *out)
{
	rx__signed__init(out);
	out->body.len = protobuf_c_message_get_packed_size(m);
	out->body.data = hx_alloc(x, out->body.len);
	protobuf_c_message_pack(m, out->body.data);
	out->signature.len = RX_SIG_LEN;
	out->signature.data = hx_alloc(x, RX_SIG_LEN);
	ck_assert_int_eq(rx_sign(ctx, kp->sk, out->body.data, out->body.len, out->signature.data), RX_OK);
}

void resign(const rx_keypair_t *kp, rx_sign_ctx_t ctx, Rx__Signed *s)
{
	ck_assert_int_eq(rx_sign(ctx, kp->sk, s->body.data, s->body.len, s->signature.data), RX_OK);
}

/* Who signs who's requests: on a portal's connection, the patient's card. */
const rx_keypair_t *key_of(hx_t *x, int who)
{
	switch (who) {
	case AS_DOC:
		return &x->doc;
	case AS_PH2:
		return &x->ph2;
	case AS_CARD:
	case AS_SHUT:
		return &x->card;
	case AS_DOC2:
		return &x->doc2;
	default:
		return &x->ph;
	}
}

/* The table's connection of who. */
rxc_t *client_of(hx_t *x, int who)
{
	switch (who) {
	case AS_DOC:
		return x->cdoc;
	case AS_PH2:
		return x->cph2;
	case AS_CARD:
		return x->cportal;
	case AS_SHUT:
		return x->cshut;
	case AS_DOC2:
		return x->cdoc2;
	default:
		return x->cph;
	}
}

/* The institution of who's connection. */
const char *inst_of(hx_t *x, int who)
{
	if (who == AS_CARD)
		return PORTAL_CODE;
	if (who == AS_SHUT)
		return SHUT_CODE;
	return harness_institution_of(&x->h, key_of(x, who));
}

rx_keypair_t fresh_key(void)
{
	rx_keypair_t kp;
	uint8_t seed[RX_SEED_LEN];
	randombytes_buf(seed, sizeof seed);
	rx_keypair_from_seed(seed, &kp);
	return kp;
}

/* A card assertion of card, now, at inst; the caller may change it and sign. */
void card_init(hx_t *x, Rx__CardAssertion *a, const rx_keypair_t *card, int purpose,
	       const char *inst)
{
	rx__card_assertion__init(a);
	a->version = 1;
	a->purpose = (Rx__Purpose)purpose;
	a->institution_code = (char *)inst;
	a->at = x->now;
	a->nonce.len = 16;
	a->nonce.data = hx_alloc(x, 16);
	randombytes_buf(a->nonce.data, 16);
	a->card_key.data = (uint8_t *)card->pk;
	a->card_key.len = RX_KEY_LEN;
}

/* The patient's card, right for who's request (issue at the clinic,
 * dispense at the pharmacy, view at a portal), signed. */
void good_card(hx_t *x, int who, Rx__Signed *out)
{
	Rx__CardAssertion a;
	int purpose = RX__PURPOSE__PURPOSE_DISPENSE;
	if (who == AS_DOC)
		purpose = RX__PURPOSE__PURPOSE_ISSUE;
	else if (who == AS_CARD || who == AS_SHUT)
		purpose = RX__PURPOSE__PURPOSE_VIEW;
	card_init(x, &a, &x->card, purpose, inst_of(x, who));
	sign_msg(x, &x->card, RX_SIGN_CARD, &a.base, out);
}

/* One real item: amlodipine 5 mg, NHI code 2171022F2025. */
void item_init(Rx__Item *it)
{
	rx__item__init(it);
	it->drug_code = (char *)"2171022F2025";
	it->name = (char *)"Norvasc 5 mg tablet";
	it->dose = (char *)"1 tablet";
	it->unit = (char *)"tablet";
	it->usage = (char *)"once daily after breakfast";
	it->days = 28;
	it->quantity = 28;
}

/* A valid prescription by doc for the patient's card, issued now; notes
 * unique, so that it is never a resubmission of another. */
void presc_init(hx_t *x, presc_t *ps)
{
	rx__prescription__init(&ps->p);
	item_init(&ps->it);
	ps->items[0] = &ps->it;
	ps->p.version = RX_DOC_VERSION;
	ps->p.prescriber_key.data = x->doc.pk;
	ps->p.prescriber_key.len = RX_KEY_LEN;
	ps->p.issued_at = x->now;
	ps->p.valid_until = rx_valid_until(x->now, 4);
	ps->p.uses = 1;
	ps->p.n_items = 1;
	ps->p.items = ps->items;
	char *notes = hx_alloc(x, 32);
	snprintf(notes, 32, "hostile %08x", (unsigned)randombytes_random());
	ps->p.notes = notes;
	ps->p.patient_card.data = x->card.pk;
	ps->p.patient_card.len = RX_KEY_LEN;
}

void record_init(hx_t *x, record_t *r)
{
	rx__dispense_record__init(&r->d);
	item_init(&r->it);
	rx__line__init(&r->line);
	r->line.item = 1;
	r->line.outcome = RX__OUTCOME__AS_WRITTEN;
	r->line.handed = &r->it;
	r->lines[0] = &r->line;
	r->d.version = RX_DOC_VERSION;
	r->d.prescription_id = x->id;
	r->d.pharmacy_key.data = x->ph.pk;
	r->d.pharmacy_key.len = RX_KEY_LEN;
	r->d.n_lines = 1;
	r->d.lines = r->lines;
	r->d.notes = (char *)"";
}

/* A Call with a fresh request id (also into x->rid) and op. */
void call_init(hx_t *x, Rx__Call *c, int op)
{
	rx__call__init(c);
	randombytes_buf(x->rid, sizeof x->rid);
	c->request_id.data = x->rid;
	c->request_id.len = sizeof x->rid;
	c->op = (Rx__Op)op;
}

uint8_t *pack_call(hx_t *x, const Rx__Call *c, size_t *len)
{
	*len = rx__call__get_packed_size(c);
	uint8_t *b = hx_alloc(x, *len);
	rx__call__pack(c, b);
	return b;
}

/* Request{key, call, signature} with the lengths given, packed. */
uint8_t *pack_request(hx_t *x, const uint8_t *key, size_t klen, const uint8_t *call, size_t clen,
		      const uint8_t *sig, size_t slen, size_t *len)
{
	Rx__Request r = RX__REQUEST__INIT;
	r.key.data = (uint8_t *)key;
	r.key.len = klen;
	r.call.data = (uint8_t *)call;
	r.call.len = clen;
	r.signature.data = (uint8_t *)sig;
	r.signature.len = slen;
	*len = rx__request__get_packed_size(&r);
	uint8_t *b = hx_alloc(x, *len);
	rx__request__pack(&r, b);
	return b;
}

/* Call bytes signed by kp, as a packed Request. */
uint8_t *signed_bytes(hx_t *x, const rx_keypair_t *kp, const uint8_t *call, size_t clen,
		      size_t *len)
{
	uint8_t sig[RX_SIG_LEN];
	ck_assert_int_eq(rx_sign(RX_SIGN_CALL, kp->sk, call, clen, sig), RX_OK);
	return pack_request(x, kp->pk, RX_KEY_LEN, call, clen, sig, RX_SIG_LEN, len);
}

/* The frames a DEALER sends: ["", request]. */
void request_frames(hx_t *x, frames_t *f, const uint8_t *req, size_t len)
{
	frame(x, f, "", 0);
	frame(x, f, req, len);
}

/* c signed by kp, framed. */
void send_call(hx_t *x, frames_t *f, const rx_keypair_t *kp, const Rx__Call *c)
{
	size_t clen, len;
	uint8_t *call = pack_call(x, c, &clen);
	uint8_t *req = signed_bytes(x, kp, call, clen, &len);
	request_frames(x, f, req, len);
}

/* A good request: doc's STATUS of his own prescription (no proof needed,
 * nothing stored but its audit entry), as a packed Request. */
uint8_t *good_status(hx_t *x, size_t *len)
{
	Rx__Call c;
	size_t clen;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	uint8_t *call = pack_call(x, &c, &clen);
	return signed_bytes(x, &x->doc, call, clen, len);
}

/* req grown to exactly target bytes by an unknown bytes field (15), which
 * the broker ignores: only the size can make it wrong. */
uint8_t *pad_to(hx_t *x, const uint8_t *req, size_t len, size_t target)
{
	uint8_t *b = hx_alloc(x, target);
	for (size_t l = 1; l <= 5; l++) {
		ck_assert_uint_gt(target, len + 1 + l);
		size_t n = target - len - 1 - l;
		uint8_t v[10];
		if (put_varint(v, n) != l)
			continue;
		memcpy(b, req, len);
		b[len] = 15 << 3 | 2;
		memcpy(b + len + 1, v, l);
		memset(b + len + 1 + l, 'p', n);
		return b;
	}
	ck_abort_msg("cannot pad to %zu", target);
	return NULL;
}

/* ---- documents (protocol v2: one signature, over the document that
 * names its call by hash) ---- */

/* What the document's call_hash says of the packed call (r->bind). */
static ProtobufCBinaryData call_hash_of(hx_t *x, const doc_req_t *r, const uint8_t *call,
					size_t clen)
{
	uint8_t *h = hx_alloc(x, RX_HASH_LEN + 1);
	if (r->bind == BIND_OTHER) {
		/* The same call under another request id: a call its signer
		 * might well have sent, but not this one. */
		Rx__Call other = *r->call;
		uint8_t rid[RX_REQUEST_ID_LEN];
		randombytes_buf(rid, sizeof rid);
		other.request_id.data = rid;
		other.request_id.len = sizeof rid;
		size_t olen;
		uint8_t *o = pack_call(x, &other, &olen);
		rx_hash(o, olen, h);
	} else {
		rx_hash(call, clen, h);
	}
	size_t n = r->bind == BIND_NONE	 ? 0
		   : r->bind == BIND_SHORT ? RX_HASH_LEN - 1
		   : r->bind == BIND_LONG  ? RX_HASH_LEN + 1
					   : RX_HASH_LEN;
	return (ProtobufCBinaryData){n, n ? h : NULL};
}

/* r->msg packed with its call_hash set (a shallow copy: msg is unchanged). */
static uint8_t *bound_doc(hx_t *x, const doc_req_t *r, const uint8_t *call, size_t clen,
			  size_t *len)
{
	ProtobufCBinaryData ch = call_hash_of(x, r, call, clen);
	Rx__Prescription p;
	Rx__DispenseRecord d;
	const ProtobufCMessage *m;
	if (r->msg->descriptor == &rx__prescription__descriptor) {
		p = *(const Rx__Prescription *)r->msg;
		p.call_hash = ch;
		m = &p.base;
	} else {
		ck_assert_ptr_eq(r->msg->descriptor, &rx__dispense_record__descriptor);
		d = *(const Rx__DispenseRecord *)r->msg;
		d.call_hash = ch;
		m = &d.base;
	}
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *b = hx_alloc(x, *len);
	protobuf_c_message_pack(m, b);
	return b;
}

/* The Request r describes, packed (arena). */
uint8_t *doc_request(hx_t *x, const doc_req_t *r, size_t *len)
{
	size_t clen, dlen;
	uint8_t *call = pack_call(x, r->call, &clen), *doc;
	if (r->msg) {
		doc = bound_doc(x, r, call, clen, &dlen);
	} else {
		doc = hx_dup(x, r->bytes, r->nbytes);
		dlen = r->nbytes;
	}
	if (r->patch)
		r->patch(doc, dlen);
	int in = r->in;
	if (in == IN_OWN) {
		ck_assert_ptr_nonnull(r->msg);
		in = r->msg->descriptor == &rx__dispense_record__descriptor ? IN_DISPENSE
									     : IN_PRESCRIPTION;
	}
	rx_sign_ctx_t ctx = in == IN_DISPENSE ? RX_SIGN_DISPENSE : RX_SIGN_PRESCRIPTION;
	if (r->v1_context)
		ctx = rx_doc_context(ctx, 1);
	uint8_t *sig = hx_alloc(x, RX_SIG_LEN + 1); /* room for a 65-byte signature */
	ck_assert_int_eq(rx_sign(ctx, r->signer->sk, doc, dlen, sig), RX_OK);
	if (r->tweak)
		r->tweak(sig);

	Rx__Request q = RX__REQUEST__INIT;
	q.key.data = (uint8_t *)(r->key ? r->key : r->signer->pk);
	q.key.len = RX_KEY_LEN;
	q.call.data = call;
	q.call.len = clen;
	q.signature.data = sig;
	q.signature.len = r->sig_len ? r->sig_len : RX_SIG_LEN;
	ProtobufCBinaryData *mine = in == IN_DISPENSE ? &q.dispense : &q.prescription,
			    *theirs = in == IN_DISPENSE ? &q.prescription : &q.dispense;
	mine->data = doc;
	mine->len = dlen;
	theirs->data = (uint8_t *)r->other;
	theirs->len = r->nother;
	*len = rx__request__get_packed_size(&q);
	uint8_t *b = hx_alloc(x, *len);
	rx__request__pack(&q, b);
	return b;
}

void send_doc(hx_t *x, frames_t *f, const doc_req_t *r)
{
	size_t len;
	uint8_t *req = doc_request(x, r, &len);
	request_frames(x, f, req, len);
}

/* doc's SUBMIT call with the patient's card (the card is right, so the
 * prescription's defect is the one refused).  c points into card and x. */
void submit_call(hx_t *x, Rx__Call *c, Rx__Signed *card)
{
	good_card(x, AS_DOC, card);
	call_init(x, c, RX_OP_SUBMIT);
	c->card = card;
}

/* The pharmacy's DISPENSE call of x->id under token (random: no claim is
 * held, so the record's own checks come first, step P).  c points into
 * token and x. */
void dispense_call(hx_t *x, Rx__Call *c, uint8_t token[RX_TOKEN_LEN])
{
	randombytes_buf(token, RX_TOKEN_LEN);
	call_init(x, c, RX_OP_DISPENSE);
	c->prescription_id = x->id;
	c->claim_token.data = token;
	c->claim_token.len = RX_TOKEN_LEN;
}

/* r as doc's SUBMIT: r.call, if NULL, is submit_call's; the signer doc;
 * IN_OWN: Request.prescription. */
void submit_doc(hx_t *x, frames_t *f, doc_req_t r)
{
	Rx__Call c;
	Rx__Signed card;
	if (r.call == NULL) {
		submit_call(x, &c, &card);
		r.call = &c;
	}
	if (r.signer == NULL)
		r.signer = &x->doc;
	if (r.in == IN_OWN)
		r.in = IN_PRESCRIPTION;
	send_doc(x, f, &r);
}

/* r as the pharmacy's DISPENSE: r.call, if NULL, is dispense_call's; the
 * signer the pharmacy; IN_OWN: Request.dispense. */
void dispense_doc(hx_t *x, frames_t *f, doc_req_t r)
{
	Rx__Call c;
	uint8_t token[RX_TOKEN_LEN];
	if (r.call == NULL) {
		dispense_call(x, &c, token);
		r.call = &c;
	}
	if (r.signer == NULL)
		r.signer = &x->ph;
	if (r.in == IN_OWN)
		r.in = IN_DISPENSE;
	send_doc(x, f, &r);
}

void submit_presc(hx_t *x, frames_t *f, presc_t *ps)
{
	submit_doc(x, f, (doc_req_t){.msg = &ps->p.base});
}

/* A SUBMIT whose only defect is its item's name. */
void submit_name(hx_t *x, frames_t *f, const char *name)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.it.name = (char *)name;
	submit_presc(x, f, &ps);
}

/* LIST by the pharmacy with card c (a new request id). */
void list_card(hx_t *x, frames_t *f, Rx__Signed *card)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_LIST);
	c.card = card;
	send_call(x, f, &x->ph, &c);
}

/* LIST by the pharmacy with assertion a, signed by signer. */
void list_assertion(hx_t *x, frames_t *f, Rx__CardAssertion *a, const rx_keypair_t *signer)
{
	Rx__Signed card;
	sign_msg(x, signer, RX_SIGN_CARD, &a->base, &card);
	list_card(x, f, &card);
}

void list_card_at(hx_t *x, frames_t *f, int purpose, int64_t at)
{
	Rx__CardAssertion a;
	card_init(x, &a, &x->card, purpose, inst_of(x, AS_PH));
	a.at = at;
	list_assertion(x, f, &a, &x->card);
}

/* ---- the patient's own reads (PATIENT_LIST, PATIENT_STATUS; 5.6) ---- */

/* The patient's own read as the portal sends it: op (of id, for
 * PATIENT_STATUS) with the card's assertion for viewing, made at the
 * portal, into card.  The caller may change c, then has the card sign it
 * (send_call with &x->card).  c points into card and x. */
void patient_call(hx_t *x, Rx__Call *c, int op, const char *id, Rx__Signed *card)
{
	good_card(x, AS_CARD, card);
	call_init(x, c, op);
	c->prescription_id = (char *)(id ? id : "");
	c->card = card;
}

/* That read, signed by the card, framed (for AS_CARD rows). */
void patient_read(hx_t *x, frames_t *f, int op, const char *id)
{
	Rx__Call c;
	Rx__Signed card;
	patient_call(x, &c, op, id, &card);
	send_call(x, f, &x->card, &c);
}

/* PATIENT_LIST of what was issued in [from, until), which the reply must
 * keep to (check_patient_list). */
void patient_list(hx_t *x, frames_t *f, int64_t from, int64_t until)
{
	Rx__Call c;
	Rx__Signed card;
	patient_call(x, &c, RX_OP_PATIENT_LIST, NULL, &card);
	c.from = from;
	c.until = until;
	x->from = from;
	x->until = until;
	x->check = check_patient_list;
	send_call(x, f, &x->card, &c);
}

#define PATIENT_LIST_MAX 500 /* a PATIENT_LIST holds the newest 500 (5.6) */

/* A PATIENT_LIST reply: the card's patient's, at most the newest
 * PATIENT_LIST_MAX, no prescription outside [x->from, x->until), newest
 * first, and x->id among them exactly when the range holds x->issued and
 * the list was not full before it (x->id is the oldest of all). */
int check_patient_list(hx_t *x, const Rx__Reply *r, char *why, size_t wlen)
{
	Rx__Receipt *rc = rx__receipt__unpack(NULL, r->receipt.len, r->receipt.data);
	int ok = 0, listed = 0;
	int want = x->issued >= x->from && (x->until == 0 || x->issued < x->until);
	if (rc == NULL) {
		snprintf(why, wlen, "the reply carries no receipt");
		return 0;
	}
	if (rc->n_prescriptions > PATIENT_LIST_MAX) {
		snprintf(why, wlen, "%zu listed, more than %d", rc->n_prescriptions, PATIENT_LIST_MAX);
		goto out;
	}
	int64_t last = rc->n_prescriptions ? rc->prescriptions[rc->n_prescriptions - 1]->issued_at : 0;
	/* Full, its oldest issued after x->id: x->id was left out; in
	 * x->id's second, ids decide the order. */
	if (rc->n_prescriptions == PATIENT_LIST_MAX && last >= x->issued)
		want = last == x->issued ? -1 : 0;
	if (rc->op != RX__OP__PATIENT_LIST || strcmp(rc->patient_id, x->patient) != 0 ||
	    rc->caller_key.len != RX_KEY_LEN || memcmp(rc->caller_key.data, x->card.pk, RX_KEY_LEN) != 0) {
		snprintf(why, wlen, "the receipt is not the card's PATIENT_LIST of its patient");
		goto out;
	}
	for (size_t i = 0; i < rc->n_prescriptions; i++) {
		const Rx__Summary *s = rc->prescriptions[i];
		listed += strcmp(s->prescription_id, x->id) == 0;
		if (s->issued_at < x->from || (x->until && s->issued_at >= x->until)) {
			snprintf(why, wlen, "%s, issued at %lld, is outside [%lld, %lld)", s->prescription_id,
				 (long long)s->issued_at, (long long)x->from, (long long)x->until);
			goto out;
		}
		if (i && s->issued_at > rc->prescriptions[i - 1]->issued_at) {
			snprintf(why, wlen, "the list is not newest first at %zu", i);
			goto out;
		}
	}
	if (want >= 0 && listed != want) {
		snprintf(why, wlen, "x->id (issued at %lld) is %slisted for [%lld, %lld)", (long long)x->issued,
			 listed ? "" : "not ", (long long)x->from, (long long)x->until);
		goto out;
	}
	ok = 1;
out:
	rx__receipt__free_unpacked(rc, NULL);
	return ok;
}

/* DISPENSE of x->id by the pharmacy with record r (no claim is held: the
 * record's own checks come first, step P). */
void dispense_record(hx_t *x, frames_t *f, record_t *r)
{
	dispense_doc(x, f, (doc_req_t){.msg = &r->d.base});
}

/* An op on x->id by who with optional claim token and access code. */
void op_on(hx_t *x, frames_t *f, int who, int op, const char *id, const uint8_t *token,
	   size_t tlen, const char *code)
{
	Rx__Call c;
	call_init(x, &c, op);
	c.prescription_id = (char *)id;
	c.claim_token.data = (uint8_t *)token;
	c.claim_token.len = tlen;
	c.access_code = (char *)(code ? code : "");
	send_call(x, f, key_of(x, who), &c);
}

/* Send frames on c and return the reply (arena), or NULL on no reply. */
uint8_t *exchange(hx_t *x, rxc_t *c, const frames_t *f, size_t *len)
{
	uint8_t *rep = NULL;
	rx_err_t err = rxc_raw(c, (const void *const *)f->data, f->len, f->n, &rep, len);
	if (err != RX_OK)
		return NULL;
	uint8_t *copy = hx_dup(x, rep, *len);
	free(rep);
	return copy;
}

int status_of(const uint8_t *rep, size_t len)
{
	Rx__Reply *r = rx__reply__unpack(NULL, len, rep);
	ck_assert_ptr_nonnull(r);
	int s = (int)r->status;
	rx__reply__free_unpacked(r, NULL);
	return s;
}

/* A SUBMIT by doc through the client library; the new id and access code
 * into the arena. */
void submit_ok(hx_t *x, char **id, char **code)
{
	presc_t ps;
	Rx__Signed card;
	rxc_result_t r;
	presc_init(x, &ps);
	harness_assertion(&x->h, &x->card, &x->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	ck_assert_int_eq(rxc_submit(x->cdoc, NULL, &ps.p, &card, &r), RX_OK);
	*id = hx_dup(x, r.receipt->prescription_id, strlen(r.receipt->prescription_id) + 1);
	*code = hx_dup(x, r.receipt->access_code, strlen(r.receipt->access_code) + 1);
	rxc_result_free(&r);
	rxc_signed_free(&card);
}

void wrong_code(const char *right, char out[RX_ACCESS_CODE_LEN + 1])
{
	do
		rx_access_code_new(out);
	while (strcmp(out, right) == 0);
}
