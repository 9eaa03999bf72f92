/* Integration: hostile input over the real CurveZMQ socket.
 *
 * One rxd, a clinic and a pharmacy (registered institutions connecting with
 * their curve keys), and a table of broken requests: bad framing, sizes
 * around both caps, malformed protobuf, unknown enum values, wrong lengths,
 * forged and non-canonical signatures, invalid text, stale times, bad
 * identifiers and replays.  Each row names the status proto/README.md gives
 * it and whether the reply carries the request id (section 5.4: not before
 * a 16-byte id was read).  The table runs once to warm up, then 20 times
 * more; rxd's resident memory and open files must not grow, and good
 * requests, on old and new connections, must still succeed. */
#include <check.h>
#include <dirent.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "harness.h"
#include "rx_check.h"
#include "rx_ids.h"
#include "testutil.h"

#define PASSES 20           /* table runs measured after the warm-up run */
#define RSS_BOUND_KB 4096   /* VmRSS growth allowed; see hostile_table */
#define ANON_BOUND_KB 2048  /* RssAnon growth allowed; see hostile_table */
#define DROPPED (-1)        /* expected outcome: no reply, connection dropped */
#define ARENA_MAX 128
#define MAX_FRAMES 12

enum { RID_EMPTY, RID_ECHO }; /* what Reply.request_id must be */
enum { AS_DOC, AS_PH };       /* whose connection carries the row */

typedef struct {
	harness_t h;
	void *zctx;
	rx_keypair_t doc, ph, card;
	char patient[RX_PATIENT_ID_LEN + 1];
	char id[RX_ID_LEN + 1]; /* issued by doc: his STATUS of it needs no proof */
	rxc_t *cdoc, *cph;
	int64_t now;
	/* per row */
	uint8_t rid[RX_REQUEST_ID_LEN]; /* the request id the row's request carries */
	const uint8_t *want;            /* if set: the exact reply bytes expected */
	size_t want_len;
	void *arena[ARENA_MAX];
	int narena;
} hx_t;

typedef struct {
	int n;
	void *data[MAX_FRAMES];
	size_t len[MAX_FRAMES];
} frames_t;

typedef void (*build_fn)(hx_t *x, frames_t *f);

typedef struct {
	const char *category;
	const char *name;
	build_fn build;
	int who;
	int expect; /* an rx_err_t, or DROPPED */
	int rid;
} row_t;

/* ---- memory that lives for one row ---- */

static void *hx_alloc(hx_t *x, size_t n)
{
	ck_assert_int_lt(x->narena, ARENA_MAX);
	void *p = calloc(1, n ? n : 1);
	ck_assert_ptr_nonnull(p);
	x->arena[x->narena++] = p;
	return p;
}

static void *hx_dup(hx_t *x, const void *src, size_t n)
{
	void *p = hx_alloc(x, n);
	if (n)
		memcpy(p, src, n);
	return p;
}

static void hx_reset(hx_t *x)
{
	for (int i = 0; i < x->narena; i++)
		free(x->arena[i]);
	x->narena = 0;
	x->want = NULL;
	x->want_len = 0;
}

static void frame(hx_t *x, frames_t *f, const void *p, size_t n)
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
static void malleate(uint8_t sig[RX_SIG_LEN])
{
	unsigned carry = 0;
	for (int i = 0; i < 32; i++) {
		carry += (unsigned)sig[32 + i] + ED25519_L[i];
		sig[32 + i] = (uint8_t)carry;
		carry >>= 8;
	}
	ck_assert_uint_eq(carry, 0); /* S < L < 2^253: the sum fits */
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	do {
		p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

static void sign_msg(hx_t *x, const rx_keypair_t *kp, rx_sign_ctx_t ctx, const ProtobufCMessage *m,
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

static void resign(const rx_keypair_t *kp, rx_sign_ctx_t ctx, Rx__Signed *s)
{
	ck_assert_int_eq(rx_sign(ctx, kp->sk, s->body.data, s->body.len, s->signature.data), RX_OK);
}

static const rx_keypair_t *key_of(hx_t *x, int who)
{
	return who == AS_DOC ? &x->doc : &x->ph;
}

static const char *inst_of(hx_t *x, int who)
{
	return harness_institution_of(&x->h, key_of(x, who));
}

static rx_keypair_t fresh_key(void)
{
	rx_keypair_t kp;
	uint8_t seed[RX_SEED_LEN];
	randombytes_buf(seed, sizeof seed);
	rx_keypair_from_seed(seed, &kp);
	return kp;
}

/* A card assertion of card, now, at inst; the caller may change it and sign. */
static void card_init(hx_t *x, Rx__CardAssertion *a, const rx_keypair_t *card, int purpose,
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
 * dispense at the pharmacy), signed. */
static void good_card(hx_t *x, int who, Rx__Signed *out)
{
	Rx__CardAssertion a;
	card_init(x, &a, &x->card,
		  who == AS_DOC ? RX__PURPOSE__PURPOSE_ISSUE : RX__PURPOSE__PURPOSE_DISPENSE,
		  inst_of(x, who));
	sign_msg(x, &x->card, RX_SIGN_CARD, &a.base, out);
}

/* One real item: amlodipine 5 mg, NHI code 2171022F2025. */
static void item_init(Rx__Item *it)
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

typedef struct {
	Rx__Prescription p;
	Rx__Item it;
	Rx__Item *items[1];
} presc_t;

/* A valid prescription by doc for the patient's card, issued now; notes
 * unique, so that it is never a resubmission of another. */
static void presc_init(hx_t *x, presc_t *ps)
{
	rx__prescription__init(&ps->p);
	item_init(&ps->it);
	ps->items[0] = &ps->it;
	ps->p.version = 1;
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

typedef struct {
	Rx__DispenseRecord d;
	Rx__Item it;
	Rx__Item *items[1];
} record_t;

static void record_init(hx_t *x, record_t *r)
{
	rx__dispense_record__init(&r->d);
	item_init(&r->it);
	r->items[0] = &r->it;
	r->d.version = 1;
	r->d.prescription_id = x->id;
	r->d.pharmacy_key.data = x->ph.pk;
	r->d.pharmacy_key.len = RX_KEY_LEN;
	r->d.n_items = 1;
	r->d.items = r->items;
	r->d.notes = (char *)"";
}

/* A Call with a fresh request id (also into x->rid) and op. */
static void call_init(hx_t *x, Rx__Call *c, int op)
{
	rx__call__init(c);
	randombytes_buf(x->rid, sizeof x->rid);
	c->request_id.data = x->rid;
	c->request_id.len = sizeof x->rid;
	c->op = (Rx__Op)op;
}

static uint8_t *pack_call(hx_t *x, const Rx__Call *c, size_t *len)
{
	*len = rx__call__get_packed_size(c);
	uint8_t *b = hx_alloc(x, *len);
	rx__call__pack(c, b);
	return b;
}

/* Request{key, call, signature} with the lengths given, packed. */
static uint8_t *pack_request(hx_t *x, const uint8_t *key, size_t klen, const uint8_t *call, size_t clen,
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
static uint8_t *signed_bytes(hx_t *x, const rx_keypair_t *kp, const uint8_t *call, size_t clen,
			     size_t *len)
{
	uint8_t sig[RX_SIG_LEN];
	ck_assert_int_eq(rx_sign(RX_SIGN_CALL, kp->sk, call, clen, sig), RX_OK);
	return pack_request(x, kp->pk, RX_KEY_LEN, call, clen, sig, RX_SIG_LEN, len);
}

/* The frames a DEALER sends: ["", request]. */
static void request_frames(hx_t *x, frames_t *f, const uint8_t *req, size_t len)
{
	frame(x, f, "", 0);
	frame(x, f, req, len);
}

/* c signed by kp, framed. */
static void send_call(hx_t *x, frames_t *f, const rx_keypair_t *kp, const Rx__Call *c)
{
	size_t clen, len;
	uint8_t *call = pack_call(x, c, &clen);
	uint8_t *req = signed_bytes(x, kp, call, clen, &len);
	request_frames(x, f, req, len);
}

/* A good request: doc's STATUS of his own prescription (no proof needed,
 * nothing stored but its audit entry), as a packed Request. */
static uint8_t *good_status(hx_t *x, size_t *len)
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
static uint8_t *pad_to(hx_t *x, const uint8_t *req, size_t len, size_t target)
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

/* SUBMIT of sp by doc with the patient's card (the card is right, so the
 * prescription's defect is the one refused). */
static void submit_signed(hx_t *x, frames_t *f, Rx__Signed *sp)
{
	Rx__Call c;
	Rx__Signed card;
	good_card(x, AS_DOC, &card);
	call_init(x, &c, RX_OP_SUBMIT);
	c.prescription = sp;
	c.card = &card;
	send_call(x, f, &x->doc, &c);
}

static void submit_presc(hx_t *x, frames_t *f, presc_t *ps)
{
	Rx__Signed sp;
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps->p.base, &sp);
	submit_signed(x, f, &sp);
}

/* A SUBMIT whose only defect is its item's name. */
static void submit_name(hx_t *x, frames_t *f, const char *name)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.it.name = (char *)name;
	submit_presc(x, f, &ps);
}

/* LIST by the pharmacy with card c (a new request id). */
static void list_card(hx_t *x, frames_t *f, Rx__Signed *card)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_LIST);
	c.card = card;
	send_call(x, f, &x->ph, &c);
}

/* LIST by the pharmacy with assertion a, signed by signer. */
static void list_assertion(hx_t *x, frames_t *f, Rx__CardAssertion *a, const rx_keypair_t *signer)
{
	Rx__Signed card;
	sign_msg(x, signer, RX_SIGN_CARD, &a->base, &card);
	list_card(x, f, &card);
}

static void list_card_at(hx_t *x, frames_t *f, int purpose, int64_t at)
{
	Rx__CardAssertion a;
	card_init(x, &a, &x->card, purpose, inst_of(x, AS_PH));
	a.at = at;
	list_assertion(x, f, &a, &x->card);
}

/* DISPENSE of x->id by the pharmacy with record r (no claim is held: the
 * record's own checks come first, step P). */
static void dispense_record(hx_t *x, frames_t *f, record_t *r)
{
	Rx__Call c;
	Rx__Signed sd;
	uint8_t token[RX_TOKEN_LEN];
	randombytes_buf(token, sizeof token);
	sign_msg(x, &x->ph, RX_SIGN_DISPENSE, &r->d.base, &sd);
	call_init(x, &c, RX_OP_DISPENSE);
	c.prescription_id = x->id;
	c.claim_token.data = token;
	c.claim_token.len = sizeof token;
	c.dispense = &sd;
	send_call(x, f, &x->ph, &c);
}

/* An op on x->id by who with optional claim token and access code. */
static void op_on(hx_t *x, frames_t *f, int who, int op, const char *id, const uint8_t *token,
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
static uint8_t *exchange(hx_t *x, rxc_t *c, const frames_t *f, size_t *len)
{
	uint8_t *rep = NULL;
	rx_err_t err = rxc_raw(c, (const void *const *)f->data, f->len, f->n, &rep, len);
	if (err != RX_OK)
		return NULL;
	uint8_t *copy = hx_dup(x, rep, *len);
	free(rep);
	return copy;
}

static int status_of(const uint8_t *rep, size_t len)
{
	Rx__Reply *r = rx__reply__unpack(NULL, len, rep);
	ck_assert_ptr_nonnull(r);
	int s = (int)r->status;
	rx__reply__free_unpacked(r, NULL);
	return s;
}

/* A SUBMIT by doc through the client library; the new id and access code
 * into the arena. */
static void submit_ok(hx_t *x, char **id, char **code)
{
	presc_t ps;
	Rx__Signed sp, card;
	rxc_result_t r;
	presc_init(x, &ps);
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	harness_assertion(&x->h, &x->card, &x->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	ck_assert_int_eq(rxc_submit(x->cdoc, NULL, &sp, &card, &r), RX_OK);
	*id = hx_dup(x, r.receipt->prescription_id, strlen(r.receipt->prescription_id) + 1);
	*code = hx_dup(x, r.receipt->access_code, strlen(r.receipt->access_code) + 1);
	rxc_result_free(&r);
	rxc_signed_free(&card);
}

static void wrong_code(const char *right, char out[RX_ACCESS_CODE_LEN + 1])
{
	do
		rx_access_code_new(out);
	while (strcmp(out, right) == 0);
}

/* ================= the rows ================= */

/* ---- framing (section 1: exactly [identity][empty][payload]) ---- */

static void b_empty_payload(hx_t *x, frames_t *f)
{
	(void)x;
	frame(x, f, "", 0);
	frame(x, f, "", 0);
}

static void b_one_frame(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	frame(x, f, req, n);
}

static void b_one_empty_frame(hx_t *x, frames_t *f)
{
	frame(x, f, "", 0);
}

static void b_nonempty_delimiter(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	frame(x, f, "x", 1);
	frame(x, f, req, n);
}

static void b_delimiter_last(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	frame(x, f, req, n);
	frame(x, f, "", 0);
}

static void b_three_frames(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	request_frames(x, f, req, n);
	frame(x, f, req, n);
}

static void b_two_delimiters(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	frame(x, f, "", 0);
	request_frames(x, f, req, n);
}

/* More parts than rxd keeps (it holds 4 and drops the rest). */
static void b_eleven_frames(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	frame(x, f, "", 0);
	for (int i = 0; i < 10; i++)
		frame(x, f, req, n);
}

/* ---- sizes: RX_MAX_FRAME, and the socket's cap of twice that ---- */

static void padded(hx_t *x, frames_t *f, size_t target)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	request_frames(x, f, pad_to(x, req, n, target), target);
}

static void b_frame_at_max(hx_t *x, frames_t *f)
{
	padded(x, f, RX_MAX_FRAME);
}

static void b_frame_over_max(hx_t *x, frames_t *f)
{
	padded(x, f, RX_MAX_FRAME + 1);
}

static void b_frame_under_cap(hx_t *x, frames_t *f)
{
	padded(x, f, 2 * RX_MAX_FRAME - 4096);
}

/* Not in the table: frames of 524256..524288 bytes, which proto/README.md
 * says are refused INVALID, are dropped like bigger ones: libzmq applies
 * ZMQ_MAXMSGSIZE to the CURVE-encrypted frame, 33 bytes longer.  The rows
 * keep clear of that band (frame_under_cap is 4 KiB below it). */
static void b_frame_over_cap(hx_t *x, frames_t *f)
{
	padded(x, f, 2 * RX_MAX_FRAME + 1);
}

static void b_frame_4x_cap(hx_t *x, frames_t *f)
{
	padded(x, f, 8 * RX_MAX_FRAME);
}

/* ---- protobuf encoding ---- */

static void raw_payload(hx_t *x, frames_t *f, const void *p, size_t n)
{
	request_frames(x, f, p, n);
}

static void b_garbage(hx_t *x, frames_t *f)
{
	raw_payload(x, f, "\x01\x02garbage", 9);
}

static void b_all_ff(hx_t *x, frames_t *f)
{
	uint8_t b[64];
	memset(b, 0xff, sizeof b);
	raw_payload(x, f, b, sizeof b);
}

static void b_truncated_by_one(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	raw_payload(x, f, req, n - 1);
}

static void b_truncated_half(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	raw_payload(x, f, req, n / 2);
}

static void b_dangling_varint(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	uint8_t *b = hx_alloc(x, n + 2);
	memcpy(b, req, n);
	b[n] = 0x0a; /* field 1, length-delimited, then a length cut short */
	b[n + 1] = 0x80;
	raw_payload(x, f, b, n + 2);
}

static void b_overlong_varint(hx_t *x, frames_t *f)
{
	static const uint8_t b[] = {0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
				    0x80, 0x80, 0x80, 0x80, 0x00, 'k'};
	raw_payload(x, f, b, sizeof b);
}

static void b_length_past_end(hx_t *x, frames_t *f)
{
	static const uint8_t b[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8};
	raw_payload(x, f, b, sizeof b);
}

/* Prefix a good request with a field of the wrong wire type. */
static void prefixed(hx_t *x, frames_t *f, const uint8_t *pre, size_t plen)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	uint8_t *b = hx_alloc(x, plen + n);
	memcpy(b, pre, plen);
	memcpy(b + plen, req, n);
	raw_payload(x, f, b, plen + n);
}

static void b_key_as_varint(hx_t *x, frames_t *f)
{
	prefixed(x, f, (const uint8_t *)"\x08\x01", 2);
}

static void b_call_as_fixed32(hx_t *x, frames_t *f)
{
	prefixed(x, f, (const uint8_t *)"\x15\x00\x00\x00\x00", 5);
}

static void b_signature_as_fixed64(hx_t *x, frames_t *f)
{
	prefixed(x, f, (const uint8_t *)"\x19\x01\x02\x03\x04\x05\x06\x07\x08", 9);
}

static void b_group_wire_type(hx_t *x, frames_t *f)
{
	prefixed(x, f, (const uint8_t *)"\x7b\x7c", 2); /* field 15: start and end group */
}

static void b_field_number_zero(hx_t *x, frames_t *f)
{
	prefixed(x, f, (const uint8_t *)"\x02\x00", 2);
}

/* Hand-made call bytes, signed by doc. */
static void signed_call_bytes(hx_t *x, frames_t *f, const uint8_t *call, size_t clen)
{
	size_t n;
	uint8_t *req = signed_bytes(x, &x->doc, call, clen, &n);
	request_frames(x, f, req, n);
}

static void b_op_as_bytes(hx_t *x, frames_t *f)
{
	uint8_t b[64];
	size_t n = 0;
	b[n++] = 0x0a;
	b[n++] = 16;
	randombytes_buf(b + n, 16);
	n += 16;
	b[n++] = 0x12; /* op, length-delimited */
	b[n++] = 1;
	b[n++] = RX_OP_STATUS;
	signed_call_bytes(x, f, b, n);
}

static void b_request_id_as_varint(hx_t *x, frames_t *f)
{
	static const uint8_t b[] = {0x08, 0x05, 0x10, RX_OP_STATUS};
	signed_call_bytes(x, f, b, sizeof b);
}

static void b_no_call(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t sig[RX_SIG_LEN];
	randombytes_buf(sig, sizeof sig);
	uint8_t *req = pack_request(x, x->doc.pk, RX_KEY_LEN, NULL, 0, sig, RX_SIG_LEN, &n);
	raw_payload(x, f, req, n);
}

static void b_call_garbage(hx_t *x, frames_t *f)
{
	signed_call_bytes(x, f, (const uint8_t *)"\xff\xff\xff\xff", 4);
}

static void b_call_truncated(hx_t *x, frames_t *f)
{
	Rx__Call c;
	size_t clen;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id; /* the last field packed: cut inside it */
	uint8_t *call = pack_call(x, &c, &clen);
	signed_call_bytes(x, f, call, clen - 1);
}

/* 20000 unknown fields in the signed call: ignored (section 2), so this
 * good STATUS is answered OK; what it must not do is leak or stall. */
static void b_unknown_field_flood(hx_t *x, frames_t *f)
{
	Rx__Call c;
	size_t clen;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	uint8_t *call = pack_call(x, &c, &clen);
	size_t extra = 20000 * 3, n = clen + extra;
	uint8_t *b = hx_alloc(x, n);
	memcpy(b, call, clen);
	for (size_t i = 0; i < 20000; i++) {
		b[clen + 3 * i] = 0xa0; /* field 100, varint */
		b[clen + 3 * i + 1] = 0x06;
		b[clen + 3 * i + 2] = 0x01;
	}
	ck_assert_uint_lt(n, RX_MAX_FRAME - 200);
	signed_call_bytes(x, f, b, n);
}

/* Request.key repeated 5000 times: protobuf keeps the last; still a good
 * request, and rxd must free every copy it decoded. */
static void b_repeated_key_field(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	size_t one = 2 + RX_KEY_LEN, total = 5000 * one + n;
	uint8_t *b = hx_alloc(x, total);
	for (size_t i = 0; i < 5000; i++) {
		b[i * one] = 0x0a;
		b[i * one + 1] = RX_KEY_LEN;
		memcpy(b + i * one + 2, x->doc.pk, RX_KEY_LEN);
	}
	memcpy(b + 5000 * one, req, n);
	raw_payload(x, f, b, total);
}

/* ---- enum values outside the schema ---- */

static void op_value(hx_t *x, frames_t *f, int op)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_STATUS);
	c.op = (Rx__Op)op;
	c.prescription_id = x->id;
	send_call(x, f, &x->doc, &c);
}

static void b_op_99(hx_t *x, frames_t *f)
{
	op_value(x, f, 99);
}

static void b_op_none(hx_t *x, frames_t *f)
{
	op_value(x, f, 0);
}

static void b_op_negative(hx_t *x, frames_t *f)
{
	op_value(x, f, -1);
}

static void b_op_int32_max(hx_t *x, frames_t *f)
{
	op_value(x, f, INT32_MAX);
}

static void b_purpose_99(hx_t *x, frames_t *f)
{
	list_card_at(x, f, 99, x->now);
}

static void b_purpose_none(hx_t *x, frames_t *f)
{
	list_card_at(x, f, 0, x->now);
}

/* ---- request id length ---- */

static void rid_len(hx_t *x, frames_t *f, size_t len)
{
	Rx__Call c;
	uint8_t rid[32];
	call_init(x, &c, RX_OP_STATUS);
	randombytes_buf(rid, sizeof rid);
	c.request_id.data = rid;
	c.request_id.len = len;
	c.prescription_id = x->id;
	send_call(x, f, &x->doc, &c);
}

static void b_rid_15(hx_t *x, frames_t *f)
{
	rid_len(x, f, 15);
}

static void b_rid_17(hx_t *x, frames_t *f)
{
	rid_len(x, f, 17);
}

static void b_rid_empty(hx_t *x, frames_t *f)
{
	rid_len(x, f, 0);
}

/* ---- the caller's key and signature ---- */

/* doc's STATUS with the key and signature given (lengths as given). */
static void status_keysig(hx_t *x, frames_t *f, const uint8_t *key, size_t klen, const uint8_t *sig,
			  size_t slen)
{
	Rx__Call c;
	size_t clen, n;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	uint8_t *call = pack_call(x, &c, &clen);
	uint8_t *req = pack_request(x, key, klen, call, clen, sig, slen, &n);
	request_frames(x, f, req, n);
}

/* doc's STATUS call signed with signer's key under ctx; sig transformed. */
static void status_signed(hx_t *x, frames_t *f, const rx_keypair_t *signer, rx_sign_ctx_t ctx,
			  size_t klen, size_t slen, void (*tweak)(uint8_t *))
{
	Rx__Call c;
	size_t clen, n;
	uint8_t sig[RX_SIG_LEN + 1], key[RX_KEY_LEN + 1];
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	uint8_t *call = pack_call(x, &c, &clen);
	ck_assert_int_eq(rx_sign(ctx, signer->sk, call, clen, sig), RX_OK);
	sig[RX_SIG_LEN] = 0x5a;
	memcpy(key, x->doc.pk, RX_KEY_LEN);
	key[RX_KEY_LEN] = 0xa5;
	if (tweak)
		tweak(sig);
	uint8_t *req = pack_request(x, key, klen, call, clen, sig, slen, &n);
	request_frames(x, f, req, n);
}

static void b_key_31(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, 31, RX_SIG_LEN, NULL);
}

static void b_key_33(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, 33, RX_SIG_LEN, NULL);
}

static void b_key_empty(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, 0, RX_SIG_LEN, NULL);
}

static void b_sig_63(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, RX_KEY_LEN, 63, NULL);
}

static void b_sig_65(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, RX_KEY_LEN, 65, NULL);
}

static void b_sig_empty(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, RX_KEY_LEN, 0, NULL);
}

static void b_zero_key(hx_t *x, frames_t *f)
{
	uint8_t key[RX_KEY_LEN] = {0}, sig[RX_SIG_LEN];
	randombytes_buf(sig, sizeof sig);
	status_keysig(x, f, key, sizeof key, sig, sizeof sig);
}

/* The identity point as key and R = identity, S = 0: the cofactorless
 * equation holds for any message, so only a verifier that refuses
 * small-order keys and points refuses it. */
static void b_identity_key(hx_t *x, frames_t *f)
{
	uint8_t key[RX_KEY_LEN] = {1}, sig[RX_SIG_LEN] = {1};
	status_keysig(x, f, key, sizeof key, sig, sizeof sig);
}

static void b_sig_s_plus_l(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, RX_KEY_LEN, RX_SIG_LEN, malleate);
}

static void b_sig_other_key(hx_t *x, frames_t *f)
{
	rx_keypair_t other = fresh_key();
	status_signed(x, f, &other, RX_SIGN_CALL, RX_KEY_LEN, RX_SIG_LEN, NULL);
}

static void b_sig_other_context(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_PRESCRIPTION, RX_KEY_LEN, RX_SIG_LEN, NULL);
}

static void flip_bit(uint8_t *sig)
{
	sig[40] ^= 0x04;
}

static void b_sig_bit_flipped(hx_t *x, frames_t *f)
{
	status_signed(x, f, &x->doc, RX_SIGN_CALL, RX_KEY_LEN, RX_SIG_LEN, flip_bit);
}

static void b_unknown_key(hx_t *x, frames_t *f)
{
	rx_keypair_t other = fresh_key();
	Rx__Call c;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	send_call(x, f, &other, &c);
}

/* doc's key through the pharmacy's connection: a stolen key (K4). */
static void b_stolen_key(hx_t *x, frames_t *f)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	send_call(x, f, &x->doc, &c);
}

/* ---- the prescriber's signature and key (SUBMIT, step P) ---- */

static void b_presc_key_31(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.prescriber_key.len = 31;
	submit_presc(x, f, &ps);
}

static void b_presc_sig_63(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	presc_init(x, &ps);
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	sp.signature.len = 63;
	submit_signed(x, f, &sp);
}

static void b_presc_zero_key(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	uint8_t zero[RX_KEY_LEN] = {0};
	presc_init(x, &ps);
	ps.p.prescriber_key.data = zero;
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	randombytes_buf(sp.signature.data, RX_SIG_LEN);
	submit_signed(x, f, &sp);
}

static void b_presc_s_plus_l(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	presc_init(x, &ps);
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	malleate(sp.signature.data);
	submit_signed(x, f, &sp);
}

static void b_presc_other_signer(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	rx_keypair_t other = fresh_key();
	presc_init(x, &ps);
	sign_msg(x, &other, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	submit_signed(x, f, &sp);
}

/* Signed by its own (unregistered) prescriber, submitted by doc (P5). */
static void b_presc_not_callers(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	rx_keypair_t other = fresh_key();
	presc_init(x, &ps);
	ps.p.prescriber_key.data = other.pk;
	sign_msg(x, &other, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	submit_signed(x, f, &sp);
}

static void b_presc_body_garbage(hx_t *x, frames_t *f)
{
	Rx__Signed sp = RX__SIGNED__INIT;
	sp.body.data = hx_dup(x, "\xff\xff\xff", 3);
	sp.body.len = 3;
	sp.signature.data = hx_alloc(x, RX_SIG_LEN);
	sp.signature.len = RX_SIG_LEN;
	resign(&x->doc, RX_SIGN_PRESCRIPTION, &sp);
	submit_signed(x, f, &sp);
}

static void b_patient_card_31(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.patient_card.len = 31;
	submit_presc(x, f, &ps);
}

static void b_presc_version_2(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.version = 2;
	submit_presc(x, f, &ps);
}

static void b_presc_uses_4(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.uses = 4;
	submit_presc(x, f, &ps);
}

static void b_submit_without_card(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	Rx__Call c;
	presc_init(x, &ps);
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	call_init(x, &c, RX_OP_SUBMIT);
	c.prescription = &sp;
	send_call(x, f, &x->doc, &c);
}

static void b_submit_without_prescription(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	good_card(x, AS_DOC, &card);
	call_init(x, &c, RX_OP_SUBMIT);
	c.card = &card;
	send_call(x, f, &x->doc, &c);
}

/* ---- the card assertion (C1-C5, D1-D4) ---- */

static void b_card_key_33(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	uint8_t key[RX_KEY_LEN + 1];
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_PH));
	memcpy(key, x->card.pk, RX_KEY_LEN);
	key[RX_KEY_LEN] = 0;
	a.card_key.data = key;
	a.card_key.len = sizeof key;
	list_assertion(x, f, &a, &x->card);
}

static void b_card_zero_key(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	Rx__Signed card;
	uint8_t zero[RX_KEY_LEN] = {0};
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_PH));
	a.card_key.data = zero;
	sign_msg(x, &x->card, RX_SIGN_CARD, &a.base, &card);
	randombytes_buf(card.signature.data, RX_SIG_LEN);
	list_card(x, f, &card);
}

static void b_card_sig_65(hx_t *x, frames_t *f)
{
	Rx__Signed card;
	good_card(x, AS_PH, &card);
	uint8_t *sig = hx_alloc(x, 65);
	memcpy(sig, card.signature.data, RX_SIG_LEN);
	card.signature.data = sig;
	card.signature.len = 65;
	list_card(x, f, &card);
}

static void b_card_s_plus_l(hx_t *x, frames_t *f)
{
	Rx__Signed card;
	good_card(x, AS_PH, &card);
	malleate(card.signature.data);
	list_card(x, f, &card);
}

static void b_card_other_signer(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	rx_keypair_t other = fresh_key();
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_PH));
	list_assertion(x, f, &a, &other);
}

static void b_card_empty(hx_t *x, frames_t *f)
{
	Rx__Signed card = RX__SIGNED__INIT;
	(void)x;
	list_card(x, f, &card);
}

static void b_card_body_garbage(hx_t *x, frames_t *f)
{
	Rx__Signed card = RX__SIGNED__INIT;
	card.body.data = hx_dup(x, "\x08\x01\x12", 3);
	card.body.len = 3;
	card.signature.data = hx_alloc(x, RX_SIG_LEN);
	card.signature.len = RX_SIG_LEN;
	resign(&x->card, RX_SIGN_CARD, &card);
	list_card(x, f, &card);
}

static void b_card_version_2(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_PH));
	a.version = 2;
	list_assertion(x, f, &a, &x->card);
}

static void b_card_nonce_15(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_PH));
	a.nonce.len = 15;
	list_assertion(x, f, &a, &x->card);
}

static void b_card_institution_text(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, "1398\xe2\x80\xae" "765432");
	list_assertion(x, f, &a, &x->card);
}

static void b_card_other_institution(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_DOC));
	list_assertion(x, f, &a, &x->card);
}

static void b_card_unknown(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	rx_keypair_t stray = fresh_key();
	card_init(x, &a, &stray, RX__PURPOSE__PURPOSE_DISPENSE, inst_of(x, AS_PH));
	list_assertion(x, f, &a, &stray);
}

static void b_card_wrong_purpose(hx_t *x, frames_t *f)
{
	list_card_at(x, f, RX__PURPOSE__PURPOSE_ISSUE, x->now);
}

static void b_card_on_release(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	uint8_t token[RX_TOKEN_LEN] = {7};
	good_card(x, AS_PH, &card);
	call_init(x, &c, RX_OP_RELEASE);
	c.prescription_id = x->id;
	c.claim_token.data = token;
	c.claim_token.len = sizeof token;
	c.card = &card;
	send_call(x, f, &x->ph, &c);
}

/* ---- text (section 2.5: UTF-8, no controls, no bidi overrides) ---- */

static void b_text_overlong_2(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xc0\xaf 5 mg");
}

static void b_text_overlong_3(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xe0\x80\xaf 5 mg");
}

static void b_text_overlong_4(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xf0\x80\x80\xaf 5 mg");
}

static void b_text_surrogate(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xed\xa0\x80 5 mg");
}

static void b_text_truncated(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc 5 mg \xe3\x81");
}

static void b_text_above_max(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xf4\x90\x80\x80 5 mg");
}

static void b_text_lone_continuation(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \x80 5 mg");
}

static void b_text_five_byte(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xf8\x88\x80\x80\x80 5 mg");
}

static void b_text_escape(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \x1b[2J 5 mg");
}

static void b_text_del(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \x7f 5 mg");
}

static void b_text_c1_csi(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xc2\x9b" "2J 5 mg");
}

static void b_text_bidi_override(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xe2\x80\xae" "gm 05");
}

static void b_text_carriage_return(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc 5 mg\r10 mg");
}

/* A NUL inside a string: protobuf-c ends the decoded string there, so
 * the signed bytes would say more than what a C reader checks and shows
 * ("Norvasc 5 mg" to one pharmacy system, "Norvasc 5 mg\0 x 100 tablets"
 * to another).  The marker is long enough never to match random key bytes. */
#define NUL_MARK "#NUL#"

static void patch_nul(uint8_t *buf, size_t len)
{
	uint8_t *m = memmem(buf, len, NUL_MARK, strlen(NUL_MARK));
	ck_assert_ptr_nonnull(m);
	*m = 0;
}

/* Submit ps with its NUL_MARK made a NUL byte, signed after the patch. */
static void submit_nul(hx_t *x, frames_t *f, presc_t *ps)
{
	Rx__Signed sp;
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps->p.base, &sp);
	patch_nul(sp.body.data, sp.body.len);
	resign(&x->doc, RX_SIGN_PRESCRIPTION, &sp);
	submit_signed(x, f, &sp);
}

static void b_text_embedded_nul(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.it.name = (char *)"Norvasc 5 mg" NUL_MARK " x 100 tablets";
	submit_nul(x, f, &ps);
}

static void b_notes_embedded_nul(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.notes = (char *)NUL_MARK "double the dose";
	submit_nul(x, f, &ps);
}

static void b_record_notes_nul(hx_t *x, frames_t *f)
{
	record_t r;
	Rx__Call c;
	Rx__Signed sd;
	uint8_t token[RX_TOKEN_LEN] = {3};
	record_init(x, &r);
	r.d.notes = (char *)"generic" NUL_MARK " substituted";
	sign_msg(x, &x->ph, RX_SIGN_DISPENSE, &r.d.base, &sd);
	patch_nul(sd.body.data, sd.body.len);
	resign(&x->ph, RX_SIGN_DISPENSE, &sd);
	call_init(x, &c, RX_OP_DISPENSE);
	c.prescription_id = x->id;
	c.claim_token.data = token;
	c.claim_token.len = sizeof token;
	c.dispense = &sd;
	send_call(x, f, &x->ph, &c);
}

/* The pharmacy's code, a NUL, more: equal to the connection's in C. */
static void b_card_institution_nul(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	Rx__Signed card;
	char *inst = hx_alloc(x, 64);
	snprintf(inst, 64, "%s" NUL_MARK, inst_of(x, AS_PH));
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst);
	sign_msg(x, &x->card, RX_SIGN_CARD, &a.base, &card);
	patch_nul(card.body.data, card.body.len);
	resign(&x->card, RX_SIGN_CARD, &card);
	list_card(x, f, &card);
}

/* A prescription id, a NUL, more: the id alone canonicalizes. */
static void b_rxid_embedded_nul(hx_t *x, frames_t *f)
{
	Rx__Call c;
	size_t clen;
	char *id = hx_alloc(x, 64);
	snprintf(id, 64, "%s" NUL_MARK, x->id);
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = id;
	uint8_t *call = pack_call(x, &c, &clen);
	patch_nul(call, clen);
	signed_call_bytes(x, f, call, clen);
}

static void b_notes_2001(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	char *notes = hx_alloc(x, 2002);
	memset(notes, 'n', 2001);
	ps.p.notes = notes;
	submit_presc(x, f, &ps);
}

static void b_empty_required_text(hx_t *x, frames_t *f)
{
	submit_name(x, f, "");
}

static void b_drug_code_check(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.it.drug_code = (char *)"2171022F2020";
	submit_presc(x, f, &ps);
}

/* override_reason (the prescriber's reason to prescribe a duplicate medication):
 * 501 characters, blank, a control character, a NUL inside. */

static void submit_override(hx_t *x, frames_t *f, const char *why)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.override_reason = (char *)why;
	submit_presc(x, f, &ps);
}

static void b_override_501(hx_t *x, frames_t *f)
{
	char *why = hx_alloc(x, 3 * 501 + 1);
	why[0] = '\0';
	for (int i = 0; i < 501; i++)
		strcat(why, "重");
	submit_override(x, f, why);
}

static void b_override_blank(hx_t *x, frames_t *f)
{
	submit_override(x, f, "  \n ");
}

static void b_override_escape(hx_t *x, frames_t *f)
{
	submit_override(x, f, "known duplicate \x1b[2J");
}

static void b_override_nul(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.override_reason = (char *)"known" NUL_MARK " duplicate";
	submit_nul(x, f, &ps);
}

static void b_dispense_notes_invalid(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.notes = (char *)"generic \xed\xbf\xbf substituted";
	dispense_record(x, f, &r);
}

/* ---- counts ---- */

static void presc_items(hx_t *x, frames_t *f, size_t n, int compact)
{
	presc_t ps;
	presc_init(x, &ps);
	if (compact) { /* short text, so thousands fit under the frame cap */
		ps.it.name = (char *)"N";
		ps.it.dose = (char *)"1";
		ps.it.unit = (char *)"t";
		ps.it.usage = (char *)"u";
	}
	Rx__Item **items = hx_alloc(x, (n ? n : 1) * sizeof *items);
	for (size_t i = 0; i < n; i++)
		items[i] = &ps.it;
	ps.p.items = items;
	ps.p.n_items = n;
	submit_presc(x, f, &ps);
	ck_assert_uint_lt(f->len[f->n - 1], RX_MAX_FRAME);
}

static void b_items_0(hx_t *x, frames_t *f)
{
	presc_items(x, f, 0, 0);
}

static void b_items_33(hx_t *x, frames_t *f)
{
	presc_items(x, f, 33, 0);
}

static void b_items_4000(hx_t *x, frames_t *f)
{
	presc_items(x, f, 4000, 1);
}

static void b_dispense_items_33(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	Rx__Item **items = hx_alloc(x, 33 * sizeof *items);
	for (size_t i = 0; i < 33; i++)
		items[i] = &r.it;
	r.d.items = items;
	r.d.n_items = 33;
	dispense_record(x, f, &r);
}

/* ---- times ---- */

static void presc_times(hx_t *x, frames_t *f, int64_t issued_at, int64_t valid_until)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.issued_at = issued_at;
	ps.p.valid_until = valid_until;
	submit_presc(x, f, &ps);
}

static void b_issued_10y_ago(hx_t *x, frames_t *f)
{
	int64_t t = x->now - 3650 * 86400LL;
	presc_times(x, f, t, t + 86400);
}

static void b_issued_2d_ago(hx_t *x, frames_t *f)
{
	int64_t t = x->now - 2 * 86400;
	presc_times(x, f, t, t + 10 * 86400);
}

static void b_issued_in_1h(hx_t *x, frames_t *f)
{
	int64_t t = x->now + 3600;
	presc_times(x, f, t, t + 86400);
}

static void b_issued_in_10y(hx_t *x, frames_t *f)
{
	int64_t t = x->now + 3650 * 86400LL;
	presc_times(x, f, t, t + 86400);
}

static void b_issued_int64_min(hx_t *x, frames_t *f)
{
	presc_times(x, f, INT64_MIN, x->now + 86400);
}

static void b_issued_int64_max(hx_t *x, frames_t *f)
{
	presc_times(x, f, INT64_MAX, INT64_MAX);
}

static void b_valid_int64_max(hx_t *x, frames_t *f)
{
	presc_times(x, f, x->now, INT64_MAX);
}

static void b_valid_32_days(hx_t *x, frames_t *f)
{
	presc_times(x, f, x->now, x->now + 32 * 86400);
}

static void b_valid_before_issued(hx_t *x, frames_t *f)
{
	presc_times(x, f, x->now, x->now - 1);
}

static void b_valid_until_passed(hx_t *x, frames_t *f)
{
	presc_times(x, f, x->now - 7200, x->now - 3600);
}

static void b_card_1h_ago(hx_t *x, frames_t *f)
{
	list_card_at(x, f, RX__PURPOSE__PURPOSE_DISPENSE, x->now - 3600);
}

static void b_card_in_1h(hx_t *x, frames_t *f)
{
	list_card_at(x, f, RX__PURPOSE__PURPOSE_DISPENSE, x->now + 3600);
}

static void b_card_int64_min(hx_t *x, frames_t *f)
{
	list_card_at(x, f, RX__PURPOSE__PURPOSE_DISPENSE, INT64_MIN);
}

static void b_card_int64_max(hx_t *x, frames_t *f)
{
	list_card_at(x, f, RX__PURPOSE__PURPOSE_DISPENSE, INT64_MAX);
}

static void b_card_at_zero(hx_t *x, frames_t *f)
{
	list_card_at(x, f, RX__PURPOSE__PURPOSE_DISPENSE, 0);
}

/* ---- identifiers and tokens ---- */

/* x->id with its check character changed. */
static char *bad_check(hx_t *x)
{
	char *id = hx_dup(x, x->id, sizeof x->id);
	char *last = &id[RX_ID_LEN - 1];
	*last = *last == '0' ? '1' : '0';
	return id;
}

static void b_rxid_bad_check(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_DOC, RX_OP_STATUS, bad_check(x), NULL, 0, NULL);
}

static void b_rxid_letter_o(hx_t *x, frames_t *f)
{
	char *id = hx_dup(x, x->id, sizeof x->id);
	id[0] = 'O'; /* not Crockford base32; never read as 0 */
	op_on(x, f, AS_DOC, RX_OP_STATUS, id, NULL, 0, NULL);
}

static void b_rxid_tab(hx_t *x, frames_t *f)
{
	char *id = hx_alloc(x, 32);
	snprintf(id, 32, "%.4s\t%s", x->id, x->id + 5);
	op_on(x, f, AS_DOC, RX_OP_STATUS, id, NULL, 0, NULL);
}

static void b_rxid_too_long(hx_t *x, frames_t *f)
{
	char *id = hx_alloc(x, 32);
	snprintf(id, 32, "%s0", x->id);
	op_on(x, f, AS_DOC, RX_OP_STATUS, id, NULL, 0, NULL);
}

static void b_rxid_missing(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_DOC, RX_OP_CANCEL, "", NULL, 0, NULL);
}

static void b_token_15(hx_t *x, frames_t *f)
{
	uint8_t tok[RX_TOKEN_LEN + 1] = {1};
	op_on(x, f, AS_PH, RX_OP_RELEASE, x->id, tok, 15, NULL);
}

static void b_token_17(hx_t *x, frames_t *f)
{
	uint8_t tok[RX_TOKEN_LEN + 1] = {1};
	op_on(x, f, AS_PH, RX_OP_RELEASE, x->id, tok, 17, NULL);
}

static void b_token_missing(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_PH, RX_OP_RELEASE, x->id, NULL, 0, NULL);
}

static void b_code_bad_check(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_PH, RX_OP_CLAIM, x->id, NULL, 0, "H4TK-9W2Q-XMX");
}

static void b_code_too_short(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_PH, RX_OP_CLAIM, x->id, NULL, 0, "H4TK-9W2Q-XM");
}

static void b_code_on_release(hx_t *x, frames_t *f)
{
	uint8_t tok[RX_TOKEN_LEN] = {1};
	op_on(x, f, AS_PH, RX_OP_RELEASE, x->id, tok, sizeof tok, "H4TK-9W2Q-XMW");
}

static void b_code_on_submit(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp, card;
	Rx__Call c;
	presc_init(x, &ps);
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	good_card(x, AS_DOC, &card);
	call_init(x, &c, RX_OP_SUBMIT);
	c.prescription = &sp;
	c.card = &card;
	c.access_code = (char *)"H4TK-9W2Q-XMW";
	send_call(x, f, &x->doc, &c);
}

/* The notice and nomination fields on ops that do not take them, and out of
 * bounds on the ops that do. */
static void b_pharmacy_code_on_claim(hx_t *x, frames_t *f)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_CLAIM);
	c.prescription_id = x->id;
	c.pharmacy_code = (char *)"1398765432";
	send_call(x, f, &x->ph, &c);
}

static void b_ack_on_status(hx_t *x, frames_t *f)
{
	uint64_t seq = 1;
	Rx__Call c;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	c.ack = &seq;
	c.n_ack = 1;
	send_call(x, f, &x->ph, &c);
}

static void b_ack_none(hx_t *x, frames_t *f)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_ACK);
	send_call(x, f, &x->ph, &c);
}

static void b_ack_257(hx_t *x, frames_t *f)
{
	static uint64_t seqs[257];
	Rx__Call c;
	call_init(x, &c, RX_OP_ACK);
	c.ack = seqs;
	c.n_ack = 257;
	send_call(x, f, &x->ph, &c);
}

static void b_nominate_bad_code(hx_t *x, frames_t *f)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_NOMINATE);
	c.pharmacy_code = (char *)"no spaces allowed";
	send_call(x, f, &x->ph, &c);
}

static void b_watch_as_prescriber(hx_t *x, frames_t *f)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_WATCH);
	send_call(x, f, &x->doc, &c);
}

static void b_list_id_without_code(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_PH, RX_OP_LIST, x->id, NULL, 0, NULL);
}

static void b_list_bad_patient(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	char *pid = hx_dup(x, x->patient, sizeof x->patient);
	pid[RX_PATIENT_ID_LEN - 1] = pid[RX_PATIENT_ID_LEN - 1] == '0' ? '1' : '0';
	good_card(x, AS_PH, &card);
	call_init(x, &c, RX_OP_LIST);
	c.card = &card;
	c.patient_id = pid;
	send_call(x, f, &x->ph, &c);
}

static void b_record_other_id(hx_t *x, frames_t *f)
{
	record_t r;
	char *other = hx_alloc(x, RX_ID_LEN + 1);
	do
		rx_rxid_new(other);
	while (strcmp(other, x->id) == 0);
	record_init(x, &r);
	r.d.prescription_id = other;
	dispense_record(x, f, &r);
}

static void b_record_id_lower_case(hx_t *x, frames_t *f)
{
	record_t r;
	char *id = hx_dup(x, x->id, sizeof x->id);
	for (char *p = id; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	record_init(x, &r);
	r.d.prescription_id = id;
	dispense_record(x, f, &r);
}

static void b_record_use_4(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.use = 4;
	dispense_record(x, f, &r);
}

static void b_dispense_without_record(hx_t *x, frames_t *f)
{
	uint8_t tok[RX_TOKEN_LEN] = {1};
	op_on(x, f, AS_PH, RX_OP_DISPENSE, x->id, tok, sizeof tok, NULL);
}

/* ---- replays and reuse (5.7), and code guessing (4.7) ---- */

/* A LIST by card that succeeds; its frames and reply kept. */
static void list_ok(hx_t *x, Rx__Signed *card, frames_t *f, uint8_t **rep, size_t *len)
{
	list_card(x, f, card);
	*rep = exchange(x, x->cph, f, len);
	ck_assert_ptr_nonnull(*rep);
	ck_assert_int_eq(status_of(*rep, *len), RX_OK);
}

static void b_replayed_assertion(hx_t *x, frames_t *f)
{
	Rx__Signed card;
	frames_t first = {0};
	uint8_t *rep;
	size_t len;
	good_card(x, AS_PH, &card);
	list_ok(x, &card, &first, &rep, &len);
	list_card(x, f, &card); /* a new request id, the same assertion */
}

static void b_request_id_reused(hx_t *x, frames_t *f)
{
	Rx__Signed card, card2;
	frames_t first = {0};
	uint8_t *rep, rid[RX_REQUEST_ID_LEN];
	size_t len;
	Rx__Call c;
	good_card(x, AS_PH, &card);
	list_ok(x, &card, &first, &rep, &len);
	memcpy(rid, x->rid, sizeof rid);
	good_card(x, AS_PH, &card2);
	call_init(x, &c, RX_OP_LIST);
	memcpy(x->rid, rid, sizeof rid); /* the same id, other bytes */
	c.card = &card2;
	send_call(x, f, &x->ph, &c);
}

/* The identical bytes again: the stored reply, byte for byte. */
static void b_identical_resend(hx_t *x, frames_t *f)
{
	Rx__Signed card;
	uint8_t *rep;
	size_t len;
	good_card(x, AS_PH, &card);
	list_ok(x, &card, f, &rep, &len);
	x->want = rep;
	x->want_len = len;
}

/* The same signed prescription under a new request id and card. */
static void b_resubmitted_prescription(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed sp;
	frames_t first = {0};
	size_t len;
	presc_init(x, &ps);
	sign_msg(x, &x->doc, RX_SIGN_PRESCRIPTION, &ps.p.base, &sp);
	submit_signed(x, &first, &sp);
	uint8_t *rep = exchange(x, x->cdoc, &first, &len);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(status_of(rep, len), RX_OK);
	submit_signed(x, f, &sp);
}

static void b_wrong_access_code(hx_t *x, frames_t *f)
{
	char *id, *code, wrong[RX_ACCESS_CODE_LEN + 1];
	submit_ok(x, &id, &code);
	wrong_code(code, wrong);
	op_on(x, f, AS_PH, RX_OP_CLAIM, id, NULL, 0, wrong);
}

/* Five wrong codes lock it; then even the right one is refused. */
static void b_locked_access_code(hx_t *x, frames_t *f)
{
	char *id, *code, wrong[RX_ACCESS_CODE_LEN + 1];
	submit_ok(x, &id, &code);
	for (int i = 0; i < 5; i++) {
		rxc_result_t r;
		wrong_code(code, wrong);
		rxc_proof_t proof = {.access_code = wrong};
		ck_assert_int_eq(rxc_claim(x->cph, NULL, id, &proof, &r), RX_BAD_ACCESS_CODE);
		rxc_result_free(&r);
	}
	op_on(x, f, AS_PH, RX_OP_CLAIM, id, NULL, 0, code);
}

#define ROW(cat, fn, who, expect, rid) {cat, #fn, b_##fn, who, expect, rid}

static const row_t rows[] = {
	ROW("framing", empty_payload, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", one_frame, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", one_empty_frame, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", nonempty_delimiter, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", delimiter_last, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", three_frames, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", two_delimiters, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", eleven_frames, AS_DOC, RX_INVALID, RID_EMPTY),

	ROW("size", frame_at_max, AS_DOC, RX_OK, RID_ECHO),
	ROW("size", frame_over_max, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("size", frame_under_cap, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("size", frame_over_cap, AS_DOC, DROPPED, RID_EMPTY),
	ROW("size", frame_4x_cap, AS_DOC, DROPPED, RID_EMPTY),

	ROW("protobuf", garbage, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", all_ff, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", truncated_by_one, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", truncated_half, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", dangling_varint, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", overlong_varint, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", length_past_end, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", key_as_varint, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", call_as_fixed32, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", signature_as_fixed64, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", group_wire_type, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", field_number_zero, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", op_as_bytes, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", request_id_as_varint, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", no_call, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", call_garbage, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", call_truncated, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", unknown_field_flood, AS_DOC, RX_OK, RID_ECHO),
	ROW("protobuf", repeated_key_field, AS_DOC, RX_OK, RID_ECHO),

	ROW("enum", op_99, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("enum", op_none, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("enum", op_negative, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("enum", op_int32_max, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("enum", purpose_99, AS_PH, RX_INVALID, RID_ECHO),
	ROW("enum", purpose_none, AS_PH, RX_INVALID, RID_ECHO),

	ROW("request id", rid_15, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("request id", rid_17, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("request id", rid_empty, AS_DOC, RX_INVALID, RID_EMPTY),

	ROW("caller key", key_31, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("caller key", key_33, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("caller key", key_empty, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("caller key", sig_63, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("caller key", sig_65, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("caller key", sig_empty, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("caller key", zero_key, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("caller key", identity_key, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("caller key", sig_s_plus_l, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("caller key", sig_other_key, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("caller key", sig_other_context, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("caller key", sig_bit_flipped, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("caller key", unknown_key, AS_PH, RX_UNKNOWN_KEY, RID_ECHO),
	ROW("caller key", stolen_key, AS_PH, RX_PERMISSION_DENIED, RID_ECHO),

	ROW("prescriber", presc_key_31, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", presc_sig_63, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", presc_zero_key, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("prescriber", presc_s_plus_l, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("prescriber", presc_other_signer, AS_DOC, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("prescriber", presc_not_callers, AS_DOC, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("prescriber", presc_body_garbage, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", patient_card_31, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", presc_version_2, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", presc_uses_4, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", submit_without_card, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("prescriber", submit_without_prescription, AS_DOC, RX_INVALID, RID_ECHO),

	ROW("card", card_key_33, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_zero_key, AS_PH, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("card", card_sig_65, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_s_plus_l, AS_PH, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("card", card_other_signer, AS_PH, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("card", card_empty, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_body_garbage, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_version_2, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_nonce_15, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_institution_text, AS_PH, RX_INVALID, RID_ECHO),
	ROW("card", card_other_institution, AS_PH, RX_ASSERTION_MISMATCH, RID_ECHO),
	ROW("card", card_unknown, AS_PH, RX_CARD_UNKNOWN, RID_ECHO),
	ROW("card", card_wrong_purpose, AS_PH, RX_ASSERTION_MISMATCH, RID_ECHO),
	ROW("card", card_on_release, AS_PH, RX_INVALID, RID_ECHO),

	ROW("text", text_overlong_2, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_overlong_3, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_overlong_4, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_surrogate, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_truncated, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_above_max, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_lone_continuation, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_five_byte, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_escape, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_del, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_c1_csi, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_bidi_override, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_carriage_return, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_embedded_nul, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", notes_embedded_nul, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", record_notes_nul, AS_PH, RX_INVALID, RID_ECHO),
	ROW("text", card_institution_nul, AS_PH, RX_INVALID, RID_ECHO),
	ROW("text", rxid_embedded_nul, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", notes_2001, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", empty_required_text, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", drug_code_check, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", override_501, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", override_blank, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", override_escape, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", override_nul, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", dispense_notes_invalid, AS_PH, RX_INVALID, RID_ECHO),

	ROW("count", items_0, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("count", items_33, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("count", items_4000, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("count", dispense_items_33, AS_PH, RX_INVALID, RID_ECHO),

	ROW("time", issued_10y_ago, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", issued_2d_ago, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", issued_in_1h, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", issued_in_10y, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", issued_int64_min, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", issued_int64_max, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", valid_int64_max, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", valid_32_days, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", valid_before_issued, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", valid_until_passed, AS_DOC, RX_EXPIRED, RID_ECHO),
	ROW("time", card_1h_ago, AS_PH, RX_ASSERTION_STALE, RID_ECHO),
	ROW("time", card_in_1h, AS_PH, RX_ASSERTION_STALE, RID_ECHO),
	ROW("time", card_int64_min, AS_PH, RX_ASSERTION_STALE, RID_ECHO),
	ROW("time", card_int64_max, AS_PH, RX_ASSERTION_STALE, RID_ECHO),
	ROW("time", card_at_zero, AS_PH, RX_ASSERTION_STALE, RID_ECHO),

	ROW("identifier", rxid_bad_check, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("identifier", rxid_letter_o, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("identifier", rxid_tab, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("identifier", rxid_too_long, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("identifier", rxid_missing, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("identifier", token_15, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", token_17, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", token_missing, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", code_bad_check, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", code_too_short, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", code_on_release, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", code_on_submit, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("notices", pharmacy_code_on_claim, AS_PH, RX_INVALID, RID_ECHO),
	ROW("notices", ack_on_status, AS_PH, RX_INVALID, RID_ECHO),
	ROW("notices", ack_none, AS_PH, RX_INVALID, RID_ECHO),
	ROW("notices", ack_257, AS_PH, RX_INVALID, RID_ECHO),
	ROW("notices", nominate_bad_code, AS_PH, RX_INVALID, RID_ECHO),
	ROW("notices", watch_as_prescriber, AS_DOC, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("identifier", list_id_without_code, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", list_bad_patient, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", record_other_id, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", record_id_lower_case, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", record_use_4, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", dispense_without_record, AS_PH, RX_INVALID, RID_ECHO),

	ROW("replay", replayed_assertion, AS_PH, RX_ASSERTION_REPLAYED, RID_ECHO),
	ROW("replay", request_id_reused, AS_PH, RX_CONFLICT, RID_ECHO),
	ROW("replay", identical_resend, AS_PH, RX_OK, RID_ECHO),
	ROW("replay", resubmitted_prescription, AS_DOC, RX_CONFLICT, RID_ECHO),
	ROW("replay", wrong_access_code, AS_PH, RX_BAD_ACCESS_CODE, RID_ECHO),
	ROW("replay", locked_access_code, AS_PH, RX_ACCESS_LOCKED, RID_ECHO),
};

#define NROWS ((int)(sizeof rows / sizeof rows[0]))

/* ================= running the table ================= */

static rxc_t *raw_client(hx_t *x, const rx_keypair_t *kp)
{
	rxc_t *c = NULL;
	/* No resends within the timeout: every row gets exactly one reply, so
	 * the next row's reply can never be a late answer to this one. */
	rxc_options_t o = {.timeout_ms = 5000, .resend_ms = 60000};
	harness_curve_options(&x->h, kp, &o);
	ck_assert_int_eq(rxc_new(&c, x->zctx, x->h.endpoint, kp, &o), RX_OK);
	return c;
}

static int monitor_wait(void *mon, int want, int ms)
{
	int64_t deadline = harness_ms() + ms;
	while (harness_ms() < deadline) {
		zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
		if (zmq_poll(&it, 1, (long)(deadline - harness_ms())) <= 0)
			continue;
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, mon, 0) < 0) {
			zmq_msg_close(&m);
			continue;
		}
		uint16_t ev = 0;
		if (zmq_msg_size(&m) >= 2)
			memcpy(&ev, zmq_msg_data(&m), 2);
		int more = zmq_msg_more(&m);
		zmq_msg_close(&m);
		if (more) { /* the second frame: the endpoint */
			zmq_msg_init(&m);
			(void)zmq_msg_recv(&m, mon, 0);
			zmq_msg_close(&m);
		}
		if (ev == want)
			return 1;
	}
	return 0;
}

/* Above the socket's cap: on a connection of its own, rxd must drop the
 * peer (the monitor sees the disconnect) and never answer. */
static int send_dropped(hx_t *x, int who, const frames_t *f, char *why, size_t wlen)
{
	static int seq;
	char mon_ep[64];
	rxc_options_t o = {0};
	int one = 1, zero = 0, ok = 0;
	harness_curve_options(&x->h, key_of(x, who), &o);
	void *s = zmq_socket(x->zctx, ZMQ_DEALER), *mon = zmq_socket(x->zctx, ZMQ_PAIR);
	snprintf(mon_ep, sizeof mon_ep, "inproc://hostile-monitor-%d", seq++);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(s, ZMQ_IMMEDIATE, &one, sizeof one);
	zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, o.server_key, 32);
	zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, o.curve->pk, 32);
	zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, o.curve->sk, 32);
	ck_assert_int_eq(zmq_socket_monitor(s, mon_ep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED), 0);
	ck_assert_int_eq(zmq_connect(mon, mon_ep), 0);
	ck_assert_int_eq(zmq_connect(s, x->h.endpoint), 0);
	if (!monitor_wait(mon, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 5000)) {
		snprintf(why, wlen, "no CurveZMQ handshake");
		goto out;
	}
	for (int i = 0; i < f->n; i++)
		if (zmq_send(s, f->data[i], f->len[i], i + 1 < f->n ? ZMQ_SNDMORE : 0) < 0) {
			snprintf(why, wlen, "send failed: %s", zmq_strerror(zmq_errno()));
			goto out;
		}
	if (!monitor_wait(mon, ZMQ_EVENT_DISCONNECTED, 5000)) {
		snprintf(why, wlen, "rxd did not drop the connection");
		goto out;
	}
	zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
	if (zmq_poll(&it, 1, 200) > 0) {
		snprintf(why, wlen, "rxd answered a frame above its socket cap");
		goto out;
	}
	ok = 1;
out:
	zmq_socket_monitor(s, NULL, 0);
	zmq_close(mon);
	zmq_close(s);
	return ok;
}

/* A good request on a new connection of the pharmacy: LIST by card. */
static void new_connection_works(hx_t *x)
{
	rxc_t *c = raw_client(x, &x->ph);
	Rx__Signed card;
	rxc_result_t r;
	harness_assertion(&x->h, &x->card, &x->ph, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	ck_assert_int_eq(rxc_list(c, NULL, NULL, &proof, &r), RX_OK);
	rxc_result_free(&r);
	rxc_signed_free(&card);
	rxc_destroy(&c);
}

/* One row; 1 if rxd answered as the row says (why set otherwise). */
static int run_row(hx_t *x, const row_t *row, char *why, size_t wlen)
{
	frames_t f = {0};
	size_t len = 0;
	int ok = 0;
	x->now = (int64_t)time(NULL);
	row->build(x, &f);
	if (row->expect == DROPPED) {
		ok = send_dropped(x, row->who, &f, why, wlen);
		if (ok)
			new_connection_works(x);
		hx_reset(x);
		return ok;
	}
	uint8_t *rep = exchange(x, row->who == AS_DOC ? x->cdoc : x->cph, &f, &len);
	Rx__Reply *r = rep ? rx__reply__unpack(NULL, len, rep) : NULL;
	if (rep == NULL)
		snprintf(why, wlen, "no reply");
	else if (r == NULL)
		snprintf(why, wlen, "the reply is not an rx.Reply");
	else if ((int)r->status != row->expect)
		snprintf(why, wlen, "expected %s, got %s (%s)", rx_err_name((rx_err_t)row->expect),
			 rx_err_name((rx_err_t)r->status), r->message);
	else if (row->rid == RID_EMPTY && r->request_id.len != 0)
		snprintf(why, wlen, "the reply names a request id; none was readable");
	else if (row->rid == RID_ECHO && (r->request_id.len != RX_REQUEST_ID_LEN ||
					  memcmp(r->request_id.data, x->rid, RX_REQUEST_ID_LEN) != 0))
		snprintf(why, wlen, "the reply does not name the request id sent");
	else if (r->status != RX__STATUS__OK && (r->message == NULL || r->message[0] == '\0'))
		snprintf(why, wlen, "a refusal without a reason");
	else if (x->want && (len != x->want_len || memcmp(rep, x->want, len) != 0))
		snprintf(why, wlen, "the resend did not get the stored reply byte for byte");
	else
		ok = 1;
	if (r)
		rx__reply__free_unpacked(r, NULL);
	hx_reset(x);
	return ok;
}

/* Every row once; returns how many failed (each named on stderr). */
static int run_table(hx_t *x, int pass)
{
	int failed = 0;
	for (int i = 0; i < NROWS; i++) {
		char why[512] = "";
		if (!run_row(x, &rows[i], why, sizeof why)) {
			fprintf(stderr, "hostile: pass %d row %s/%s: %s\n", pass, rows[i].category,
				rows[i].name, why);
			failed++;
		}
	}
	return failed;
}

/* A field of /proc/PID/status in kB, or -1. */
static long proc_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	long kb = -1;
	size_t n = strlen(field);
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static int proc_fds(pid_t pid)
{
	char path[64];
	int n = 0;
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* rxd's open files once closed connections are gone: the count after it
 * has held still for 300 ms (rxd closes a dropped peer's socket on its own
 * I/O thread, a moment after the client sees the disconnect). */
static int settled_fds(pid_t pid, int want)
{
	int64_t deadline = harness_ms() + 5000;
	int last = proc_fds(pid), still = 0;
	while (harness_ms() < deadline && !(still >= 3 && (want < 0 || last <= want))) {
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
		int now = proc_fds(pid);
		still = now == last ? still + 1 : 0;
		last = now;
	}
	return last;
}

static void world_up(hx_t *x)
{
	memset(x, 0, sizeof *x);
	ck_assert_msg(harness_start(&x->h, 0) == 0, "rxd did not start (is $RXD set?)");
	ck_assert_int_eq(harness_key(&x->h, &x->doc, RX_ROLE_PRESCRIBER, "1312345678"), 0);
	ck_assert_int_eq(harness_key(&x->h, &x->ph, RX_ROLE_PHARMACY, "1398765432"), 0);
	ck_assert_int_eq(harness_enroll(&x->h, "123456789018", x->patient), 0);
	ck_assert_int_eq(harness_card(&x->h, x->patient, &x->card), 0);
	x->zctx = zmq_ctx_new();
	ck_assert_ptr_nonnull(x->zctx);
	x->cdoc = raw_client(x, &x->doc);
	x->cph = raw_client(x, &x->ph);
	x->now = (int64_t)time(NULL);
	char *id, *code;
	submit_ok(x, &id, &code);
	snprintf(x->id, sizeof x->id, "%s", id);
	hx_reset(x);
}

static void world_down(hx_t *x)
{
	rxc_destroy(&x->cdoc);
	rxc_destroy(&x->cph);
	zmq_ctx_term(x->zctx);
	harness_cleanup(&x->h);
}

/* A whole story on the connections the table used: submit, claim with the
 * card, dispense. */
static void good_story(hx_t *x)
{
	char *id, *code;
	rxc_result_t r;
	Rx__Signed card, rec;
	uint8_t tok[RX_TOKEN_LEN];
	x->now = (int64_t)time(NULL);
	submit_ok(x, &id, &code);
	harness_assertion(&x->h, &x->card, &x->ph, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	ck_assert_int_eq(rxc_claim(x->cph, NULL, id, &proof, &r), RX_OK);
	memcpy(tok, r.receipt->claim_token.data, RX_TOKEN_LEN);
	rxc_result_free(&r);
	rxc_signed_free(&card);
	harness_dispense_record(&x->ph, id, 0, &rec);
	ck_assert_int_eq(rxc_dispense(x->cph, NULL, id, tok, &rec, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__DISPENSED);
	rxc_result_free(&r);
	rxc_signed_free(&rec);
	hx_reset(x);
}

START_TEST(hostile_table)
{
	hx_t *x = calloc(1, sizeof *x);
	ck_assert_ptr_nonnull(x);
	world_up(x);
	pid_t pid = x->h.pid;

	/* Warm-up: every row once, checked like the rest.  It also brings
	 * rxd's allocator, LMDB's pages and libzmq's buffers to their working
	 * size, so what is measured next is growth, not first use. */
	int failed = run_table(x, 0);
	ck_assert_msg(failed == 0, "%d of %d rows failed on the first pass (see the log)", failed, NROWS);
	good_story(x);

	int fd0 = settled_fds(pid, -1);
	long rss0 = proc_kb(pid, "VmRSS"), anon0 = proc_kb(pid, "RssAnon");
	ck_assert_int_gt(fd0, 0);
	ck_assert_int_gt(rss0, 0);

	int64_t t0 = harness_ms();
	for (int pass = 1; pass <= PASSES; pass++)
		failed += run_table(x, pass);
	int64_t took = harness_ms() - t0;
	ck_assert_msg(failed == 0, "%d row runs failed in %d passes (see the log)", failed, PASSES);

	/* Still serving: a good story on the table's own connections, and a
	 * new connection. */
	good_story(x);
	new_connection_works(x);

	int fd1 = settled_fds(pid, fd0);
	long rss1 = proc_kb(pid, "VmRSS"), anon1 = proc_kb(pid, "RssAnon");
	fprintf(stderr,
		"hostile: %d rows x %d passes in %lld ms; rxd VmRSS %ld -> %ld kB (%+ld), "
		"RssAnon %ld -> %ld kB (%+ld), open fds %d -> %d\n",
		NROWS, PASSES, (long long)took, rss0, rss1, rss1 - rss0, anon0, anon1, anon1 - anon0, fd0,
		fd1);

	/* The bounds.  Each pass makes rxd decode a 256 KiB request (the
	 * frame_at_max row), 20000 unknown fields, 5000 copies of a key and
	 * 4000 items: leaking any one of those decodes costs at least 256 KiB a
	 * pass, over 5 MiB in 20 passes, so VmRSS may grow by 4 MiB at most.
	 * What grows legitimately is LMDB's file-backed map, which VmRSS
	 * counts: every pass commits about 60 kB of audit entries, nonces,
	 * stored replies and prescriptions (measured: VmRSS +1.1 MiB in 20
	 * passes, and rising by the same 60 kB a pass in a 100-pass run).
	 * RssAnon leaves the map out: it is rxd's heap and libzmq's buffers,
	 * whose free space malloc keeps while it warms up (+0.4..0.7 MiB in 20
	 * passes, flat from the 50th pass of a 100-pass run); 2 MiB also
	 * catches a leak of some 700 bytes in every row of every pass.  Under
	 * AddressSanitizer freed memory sits in its quarantine, so RSS says
	 * nothing there (LeakSanitizer does that job) and only the figures are
	 * printed. */
#if !defined(__SANITIZE_ADDRESS__)
	ck_assert_msg(rss1 - rss0 <= RSS_BOUND_KB, "rxd's VmRSS grew by %ld kB", rss1 - rss0);
	ck_assert_msg(anon1 - anon0 <= ANON_BOUND_KB, "rxd's RssAnon grew by %ld kB", anon1 - anon0);
#endif
	ck_assert_msg(fd1 == fd0, "rxd's open files went from %d to %d", fd0, fd1);

	/* No hostile SUBMIT was filed: only the setup submits of three rows
	 * per pass, the world's first and the two good stories exist; and
	 * only the good stories dispensed. */
	Rx__Stats st;
	ck_assert_int_eq(harness_stats(&x->h, &st), 0);
	ck_assert_uint_eq(st.prescriptions, 1 + 3 * (PASSES + 1) + 2);
	ck_assert_uint_eq(st.dispense_records, 2);
	world_down(x);
	free(x);
}
END_TEST

/* A stored reply goes only to the caller that earned it: a SUBMIT frame
 * (whose receipt carries the access code) resent byte for byte through
 * another clinic's connection, or a pharmacy's, is refused
 * PERMISSION_DENIED, audited, with nothing of the receipt in it; through
 * its own clinic it still gets its original reply. */
START_TEST(replay_only_to_its_caller)
{
	hx_t *x = calloc(1, sizeof *x);
	ck_assert_ptr_nonnull(x);
	world_up(x);
	Rx__Signed sp, card;
	Rx__Call call;
	uint8_t rid[RX_REQUEST_ID_LEN], *frame;
	size_t len;
	rxc_result_t r;
	char code[RX_ACCESS_CODE_LEN + 1], out[65536];
	harness_prescription(&x->doc, "", 1, 0, 0, "replay-elsewhere", &sp);
	harness_assertion(&x->h, &x->card, &x->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	rxc_request_id(rid);
	rxc_submit_fill(&call, rid, &sp, &card);
	ck_assert_int_eq(rxc_frame(&x->doc, &call, &frame, &len), RX_OK);
	ck_assert_int_eq(rxc_call_frame(x->cdoc, frame, len, &r), RX_OK);
	snprintf(code, sizeof code, "%s", r.receipt->access_code);
	ck_assert_int_gt((int)strlen(code), 0);
	rxc_result_free(&r);

	rx_keypair_t other;
	ck_assert_int_eq(harness_key(&x->h, &other, RX_ROLE_PRESCRIBER, "1311111111"), 0);
	rxc_t *elsewhere[2] = {raw_client(x, &other), x->cph};
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(rxc_call_frame(elsewhere[i], frame, len, &r), RX_PERMISSION_DENIED);
		ck_assert_ptr_null(r.receipt);
		ck_assert_ptr_nonnull(r.reply);
		ck_assert_uint_eq(r.reply->receipt.len, 0);
		rxc_result_free(&r);
	}
	rxc_destroy(&elsewhere[0]);
	ck_assert_int_eq(harness_rxctl(&x->h, out, sizeof out, "audit tail -n 5"), 0);
	int denied = 0;
	for (const char *p = out; (p = strstr(p, "PERMISSION_DENIED")) != NULL; p++)
		denied++;
	ck_assert_int_ge(denied, 2);

	ck_assert_int_eq(rxc_call_frame(x->cdoc, frame, len, &r), RX_OK);
	ck_assert_str_eq(r.receipt->access_code, code);
	rxc_result_free(&r);
	free(frame);
	rxc_signed_free(&sp);
	rxc_signed_free(&card);
	world_down(x);
	free(x);
}
END_TEST

/* A request frame of ~240 KB: a SUBMIT whose prescription holds 120,000
 * empty items (decoded, some 10 MiB of heap), as caller kp, signed with
 * 64 zero bytes unless sign. */
static uint8_t *item_bomb(const rx_keypair_t *kp, int sign, size_t *len)
{
	enum { ITEMS = 120000 };
	uint8_t rid[RX_REQUEST_ID_LEN];
	uint8_t *body = malloc(2 * ITEMS);
	ck_assert_ptr_nonnull(body);
	for (size_t i = 0; i < ITEMS; i++) {
		body[2 * i] = (8 << 3) | 2; /* Prescription.items, empty */
		body[2 * i + 1] = 0;
	}
	uint8_t sig[RX_SIG_LEN] = {0};
	Rx__Signed sp = RX__SIGNED__INIT;
	sp.body.data = body;
	sp.body.len = 2 * ITEMS;
	sp.signature.data = sig;
	sp.signature.len = RX_SIG_LEN;
	Rx__Call call = RX__CALL__INIT;
	rxc_request_id(rid);
	call.request_id.data = rid;
	call.request_id.len = RX_REQUEST_ID_LEN;
	call.op = RX__OP__SUBMIT;
	call.prescription = &sp;
	uint8_t *frame;
	if (sign) {
		ck_assert_int_eq(rxc_frame(kp, &call, &frame, len), RX_OK);
	} else {
		size_t clen = rx__call__get_packed_size(&call);
		uint8_t *cb = malloc(clen);
		ck_assert_ptr_nonnull(cb);
		rx__call__pack(&call, cb);
		Rx__Request req = RX__REQUEST__INIT;
		req.key.data = (uint8_t *)kp->pk;
		req.key.len = RX_KEY_LEN;
		req.call.data = cb;
		req.call.len = clen;
		req.signature.data = sig;
		req.signature.len = RX_SIG_LEN;
		*len = rx__request__get_packed_size(&req);
		frame = malloc(*len);
		ck_assert_ptr_nonnull(frame);
		rx__request__pack(&req, frame);
		free(cb);
	}
	free(body);
	ck_assert_uint_le(*len, RX_MAX_FRAME);
	return frame;
}

/* n frames on c, at most window in flight; every reply must be want. */
static void burst(rxc_t *c, const uint8_t *frame, size_t len, int n, int window, rx_err_t want)
{
	int sent = 0, got = 0;
	while (got < n) {
		while (sent < n && sent - got < window) {
			ck_assert_int_eq(rxc_send_frame(c, frame, len), RX_OK);
			sent++;
		}
		uint8_t *rep;
		size_t rlen;
		ck_assert_int_eq(rxc_recv_frame(c, 10000, &rep, &rlen), RX_OK);
		Rx__Reply *r = rx__reply__unpack(NULL, rlen, rep);
		free(rep);
		ck_assert_ptr_nonnull(r);
		ck_assert_int_eq(r->status, want);
		rx__reply__free_unpacked(r, NULL);
		got++;
	}
}

/* No memory is spent on bytes nobody signed: a burst of 240 KB frames whose
 * call would decode into ~10 MiB each, with bad signatures, leaves rxd's
 * peak resident size where it was; signed by a registered key, the same
 * call is refused for needing more memory than a request may take. */
START_TEST(unsigned_bytes_cost_no_memory)
{
	hx_t *x = calloc(1, sizeof *x);
	ck_assert_ptr_nonnull(x);
	world_up(x);
	pid_t pid = x->h.pid;
	size_t len, glen;
	uint8_t *bomb = item_bomb(&x->doc, 0, &len);
	/* Warm-up with frames of the same size whose call is garbage (nothing
	 * in them decodes, before or after this change): ZeroMQ's and malloc's
	 * buffers for big messages reach their working size. */
	uint8_t *garbage = malloc(len);
	ck_assert_ptr_nonnull(garbage);
	memcpy(garbage, bomb, len);
	for (size_t i = 64; i + 64 < len; i++)
		garbage[i] = 0xff;
	glen = len;
	burst(x->cdoc, garbage, glen, 16, 4, RX_INVALID);
	long hwm0 = proc_kb(pid, "VmHWM");
	burst(x->cdoc, bomb, len, 200, 4, RX_BAD_SIGNATURE);
	long hwm1 = proc_kb(pid, "VmHWM");
	fprintf(stderr, "hostile: 200 unsigned 240 KB item bombs: rxd VmHWM %ld -> %ld kB (%+ld)\n",
		hwm0, hwm1, hwm1 - hwm0);
#if !defined(__SANITIZE_ADDRESS__)
	ck_assert_msg(hwm1 - hwm0 <= 6 * 1024, "rxd's peak RSS grew by %ld kB", hwm1 - hwm0);
#endif
	free(bomb);
	bomb = item_bomb(&x->doc, 1, &len);
	burst(x->cdoc, bomb, len, 4, 2, RX_INVALID);
	free(bomb);
	free(garbage);
	good_story(x);
	world_down(x);
	free(x);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("integration");
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, hostile_table);
	tcase_add_test(tc, replay_only_to_its_caller);
	tcase_add_test(tc, unsigned_bytes_cost_no_memory);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
