/* fuzz_world: the seeded store every fuzz input meets (see fuzz_world.h). */
#include "fuzz_world.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "metrics.h"
#include "rx_check.h"
#include "rxclient.h"

/* ---- deterministic randombytes ----
 * splitmix64: the ids, claim tokens, access codes and sealing nonces the
 * store draws come out the same in every process, which is what makes an
 * input reproduce (and the world the generator saw the world the fuzzer
 * sees).  Never for anything but tests. */
static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
	rng_state = seed;
}

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static const char *rng_name(void)
{
	return "rx-fuzz-splitmix64";
}

static uint32_t rng_random(void)
{
	return (uint32_t)rng_next();
}

static void rng_buf(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n > 0) {
		uint64_t v = rng_next();
		size_t k = n < sizeof v ? n : sizeof v;
		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}

static randombytes_implementation rng_impl = {
	.implementation_name = rng_name,
	.random = rng_random,
	.buf = rng_buf,
};

#define RESET_SEED UINT64_C(0x72782d66757a7a31) /* "rx-fuzz1" */

/* ---- the world ---- */

static fw_t world;
static int built;
static store_t *live;
static uint8_t *template_data;
static size_t template_len;
static const uint8_t data_key[RX_DATA_KEY_LEN] = "rx-fuzz data key, test only!!!!";
static const store_options_t store_opt = {.map_size = 64u << 20, .data_key = data_key};

static void die(const char *what, int code)
{
	fprintf(stderr, "fuzz_world: %s (%s)\n", what, rx_err_name((rx_err_t)code));
	abort();
}

#define MUST(call, what)                          \
	do {                                      \
		rx_err_t e_ = (call);             \
		if (e_ != RX_OK)                  \
			die((what), (int)e_);     \
	} while (0)

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void cleanup(void)
{
	store_close(&live);
	if (world.dir[0])
		nftw(world.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(template_data);
	template_data = NULL;
	free(world.retry.data);
	world.retry.data = NULL;
	free(world.retry_dispense.data);
	world.retry_dispense.data = NULL;
	free(world.retry_part.data);
	world.retry_part.data = NULL;
}

void fw_signed_free(Rx__Signed *s)
{
	free(s->body.data);
	free(s->signature.data);
	rx__signed__init(s);
}

void fw_sign(rx_sign_ctx_t ctx, const rx_keypair_t *kp, const ProtobufCMessage *m, Rx__Signed *out)
{
	rx__signed__init(out);
	out->body.len = protobuf_c_message_get_packed_size(m);
	out->body.data = malloc(out->body.len ? out->body.len : 1);
	out->signature.data = malloc(RX_SIG_LEN);
	out->signature.len = RX_SIG_LEN;
	if (out->body.data == NULL || out->signature.data == NULL)
		die("out of memory", RX_SYSTEM);
	protobuf_c_message_pack(m, out->body.data);
	MUST(rx_sign(ctx, kp->sk, out->body.data, out->body.len, out->signature.data), "sign");
}

void fw_assertion(const rx_keypair_t *card, int purpose, const char *institution, int64_t at,
		  uint8_t n, Rx__Signed *out)
{
	Rx__CardAssertion a = RX__CARD_ASSERTION__INIT;
	uint8_t nonce[16];
	memset(nonce, n, sizeof nonce);
	a.version = 1;
	a.purpose = (Rx__Purpose)purpose;
	a.institution_code = (char *)institution;
	a.at = at;
	a.nonce.data = nonce;
	a.nonce.len = sizeof nonce;
	a.card_key.data = (uint8_t *)card->pk;
	a.card_key.len = RX_KEY_LEN;
	fw_sign(RX_SIGN_CARD, card, &a.base, out);
}

/* Real NHI price-list rows (deploy/data/drugs-jp-sample.csv). */
static const struct {
	const char *code, *name;
} drugs[] = {
	{"2171022F2025", "ノルバスク錠５ｍｇ"},
	{"1149019F1560", "ロキソニン錠６０ｍｇ"},
	{"2189015F1023", "リピトール錠５ｍｇ"},
	{"2325003F1024", "ガスター錠１０ｍｇ"},
};

static void item(Rx__Item *it, size_t i)
{
	rx__item__init(it);
	it->drug_code = (char *)drugs[i % 4].code;
	it->name = (char *)drugs[i % 4].name;
	it->dose = (char *)"1 tablet";
	it->unit = (char *)"tablet";
	it->usage = (char *)"once daily after breakfast";
	it->days = 28;
	it->quantity = 28;
}

void fw_prescription(const fw_t *w, const rx_keypair_t *card, int64_t issued_at, int days,
		     uint32_t uses, size_t items, const char *notes, fw_rx_t *out)
{
	Rx__Prescription *p = &out->p;
	const rx_keypair_t *kp = &w->keys[FW_PRESCRIBER].kp;
	if (items > RX_MAX_ITEMS)
		items = RX_MAX_ITEMS;
	rx__prescription__init(p);
	for (size_t i = 0; i < items; i++) {
		item(&out->item[i], i);
		out->items[i] = &out->item[i];
	}
	p->version = RX_DOC_VERSION;
	p->prescriber_key.data = (uint8_t *)kp->pk;
	p->prescriber_key.len = RX_KEY_LEN;
	p->institution_code = (char *)w->keys[FW_PRESCRIBER].institution;
	p->issued_at = issued_at;
	p->valid_until = rx_valid_until(issued_at, days);
	p->uses = uses;
	p->n_items = items;
	p->items = out->items;
	p->notes = (char *)(notes ? notes : "");
	p->patient_card.data = (uint8_t *)card->pk;
	p->patient_card.len = RX_KEY_LEN;
}

void fw_dispense(const rx_keypair_t *pharmacy, const char *id, uint32_t use, fw_rec_t *out)
{
	Rx__DispenseRecord *d = &out->d;
	rx__dispense_record__init(d);
	item(&out->item, 0);
	rx__line__init(&out->line);
	out->line.item = 1;
	out->line.outcome = RX__OUTCOME__AS_WRITTEN;
	out->line.handed = &out->item;
	out->lines[0] = &out->line;
	d->version = RX_DOC_VERSION;
	d->prescription_id = (char *)id;
	d->use = use;
	d->pharmacy_key.data = (uint8_t *)pharmacy->pk;
	d->pharmacy_key.len = RX_KEY_LEN;
	d->n_lines = 1;
	d->lines = out->lines;
	d->notes = (char *)"";
}

void fw_part(const rx_keypair_t *pharmacy, const char *id, uint32_t part, fw_part_t *out)
{
	Rx__DispenseRecord *d = &out->d;
	size_t first = part == 1 ? 0 : 1; /* the first item a line names */
	rx__dispense_record__init(d);
	for (size_t i = first; i < 2; i++) {
		Rx__Line *l = &out->line[i - first];
		item(&out->item[i - first], i);
		rx__line__init(l);
		l->item = (uint32_t)i + 1;
		l->outcome = RX__OUTCOME__AS_WRITTEN;
		l->handed = &out->item[i - first];
		out->lines[i - first] = l;
	}
	if (part == 1) {
		out->line[1].outcome = RX__OUTCOME__PARTIAL;
		out->line[1].reason = RX__LINE_REASON__OUT_OF_STOCK;
		out->item[1].quantity = 10;
	} else {
		out->item[0].quantity = 18;
	}
	d->version = RX_DOC_VERSION;
	d->prescription_id = (char *)id;
	d->pharmacy_key.data = (uint8_t *)pharmacy->pk;
	d->pharmacy_key.len = RX_KEY_LEN;
	d->n_lines = 2 - first;
	d->lines = out->lines;
	d->notes = (char *)"";
	d->part = part;
}

void fw_call(Rx__Call *call, uint8_t rid[RX_REQUEST_ID_LEN], uint8_t n, int op)
{
	rx__call__init(call);
	memset(rid, n, RX_REQUEST_ID_LEN);
	call->request_id.data = rid;
	call->request_id.len = RX_REQUEST_ID_LEN;
	call->op = (Rx__Op)op;
}

store_buf_t fw_request(const rx_keypair_t *kp, const Rx__Call *call, const ProtobufCMessage *doc)
{
	store_buf_t out = {0};
	MUST(rxc_frame(kp, call, doc, &out.data, &out.len), "sign request");
	return out;
}

store_buf_t fw_pack(const ProtobufCMessage *m)
{
	store_buf_t out;
	out.len = protobuf_c_message_get_packed_size(m);
	if ((out.data = malloc(out.len ? out.len : 1)) == NULL)
		die("out of memory", RX_SYSTEM);
	protobuf_c_message_pack(m, out.data);
	return out;
}

store_buf_t fw_bind(const ProtobufCMessage *doc, const store_buf_t *call)
{
	uint8_t h[RX_HASH_LEN];
	ProtobufCBinaryData named = {RX_HASH_LEN, h};
	rx_hash(call->data, call->len, h);
	/* A shallow copy with call_hash set, as rxc_frame binds a document. */
	if (doc->descriptor == &rx__prescription__descriptor) {
		Rx__Prescription p = *(const Rx__Prescription *)doc;
		p.call_hash = named;
		return fw_pack(&p.base);
	}
	if (doc->descriptor != &rx__dispense_record__descriptor)
		die("fw_bind: not a prescription or dispense record", RX_INVALID);
	Rx__DispenseRecord d = *(const Rx__DispenseRecord *)doc;
	d.call_hash = named;
	return fw_pack(&d.base);
}

static int given(const store_buf_t *b)
{
	return b && b->len > 0;
}

store_buf_t fw_envelope(const rx_keypair_t *kp, const store_buf_t *call, const store_buf_t *prescription,
			const store_buf_t *dispense)
{
	Rx__Request req = RX__REQUEST__INIT;
	uint8_t sig[RX_SIG_LEN];
	/* What rxd verifies the request signature over (proto/README 5.4, step 7). */
	const store_buf_t *signed_bytes = given(prescription) ? prescription : given(dispense) ? dispense : call;
	rx_sign_ctx_t ctx = given(prescription) ? RX_SIGN_PRESCRIPTION
			    : given(dispense)   ? RX_SIGN_DISPENSE
						: RX_SIGN_CALL;
	MUST(rx_sign(ctx, kp->sk, signed_bytes->data, signed_bytes->len, sig), "sign envelope");
	req.key.data = (uint8_t *)kp->pk;
	req.key.len = RX_KEY_LEN;
	req.call.data = call->data;
	req.call.len = call->len;
	req.signature.data = sig;
	req.signature.len = RX_SIG_LEN;
	if (given(prescription)) {
		req.prescription.data = prescription->data;
		req.prescription.len = prescription->len;
	}
	if (given(dispense)) {
		req.dispense.data = dispense->data;
		req.dispense.len = dispense->len;
	}
	return fw_pack(&req.base);
}

const fw_key_t *fw_key(const uint8_t *pk, size_t len)
{
	if (pk == NULL || len != RX_KEY_LEN)
		return NULL;
	for (int i = 0; i < FW_NKEYS; i++)
		if (memcmp(world.keys[i].kp.pk, pk, RX_KEY_LEN) == 0)
			return &world.keys[i];
	return NULL;
}

const char *fw_peer(const uint8_t *pk, size_t len)
{
	const fw_key_t *k = fw_key(pk, len);
	return k ? k->institution : "CLINIC-1";
}

rx_err_t fw_dispatch(store_t *s, const store_buf_t *frame, int64_t now, Rx__Receipt **receipt)
{
	static int debug = -1;
	dispatch_t d = {.store = s, .key = &world.broker};
	dispatch_log_t log;
	store_buf_t reply = {0};
	const char *peer = "CLINIC-1";
	Rx__Request *req = rx__request__unpack(NULL, frame->len, frame->data);
	if (req) {
		peer = fw_peer(req->key.data, req->key.len);
		rx__request__free_unpacked(req, NULL);
	}
	if (receipt)
		*receipt = NULL;
	if (dispatch_request(&d, peer, frame->data, frame->len, now, &reply, &log) != RX_OK)
		return RX_SYSTEM;
	Rx__Reply *r = rx__reply__unpack(NULL, reply.len, reply.data);
	store_buf_free(&reply);
	if (r == NULL)
		return RX_SYSTEM;
	rx_err_t status = (rx_err_t)r->status;
	if (debug < 0)
		debug = getenv("FW_DEBUG") != NULL;
	if (debug)
		fprintf(stderr, "fw_dispatch: %s %s\n", rx_err_name(status), r->message);
	if (status == RX_OK && receipt)
		*receipt = rx__receipt__unpack(NULL, r->receipt.len, r->receipt.data);
	rx__reply__free_unpacked(r, NULL);
	return status;
}

rx_err_t fw_admin(store_t *s, const uint8_t *frame, size_t len)
{
	static metrics_t metrics;
	admin_t a = {.store = s,
		     .key = &world.broker,
		     .curve_key = "rx-fuzz-curve-key-is-not-a-real-one-000",
		     .started_at = FW_NOW - 3600,
		     .requests = 42,
		     .dir = world.work,
		     .metrics = &metrics};
	store_buf_t reply = {0};
	rx_err_t status;
	int op;
	metrics_init(&metrics, FW_NOW - 3600);
	if (admin_request(&a, frame, len, FW_NOW, &reply, &status, &op) != RX_OK)
		return RX_SYSTEM;
	store_buf_free(&reply);
	return status;
}

/* ---- building it ---- */

static uint8_t step; /* request ids and nonces of the world's own requests */

/* One request of the world's history, which must end as expected. */
static Rx__Receipt *history(store_t *s, const rx_keypair_t *kp, Rx__Call *call,
			    const ProtobufCMessage *doc, int64_t now, rx_err_t want, const char *what)
{
	Rx__Receipt *rc = NULL;
	/* Reseeded per step: one store change that draws more randomness moves
	 * only its own step's ids, not every one after it. */
	rng_seed(RESET_SEED ^ step);
	store_buf_t frame = fw_request(kp, call, doc);
	rx_err_t got = fw_dispatch(s, &frame, now, &rc);
	/* The last one is kept: a retry of it is a seed. */
	free(world.retry.data);
	world.retry = frame;
	world.retry_rid = step;
	if (got != want)
		die(what, got);
	return rc;
}

/* no_change: item 1 carries the prescriber's no_change mark (5.10). */
static void submit_items(store_t *s, int which, const rx_keypair_t *card, int64_t now, int days,
			 uint32_t uses, size_t items, int no_change)
{
	Rx__Call call;
	fw_rx_t p;
	Rx__Signed a;
	uint8_t rid[RX_REQUEST_ID_LEN];
	char notes[32];
	fw_call(&call, rid, ++step, RX_OP_SUBMIT);
	/* The notes make each body unique (its call_hash alone would too). */
	snprintf(notes, sizeof notes, "world prescription %d", which);
	fw_prescription(&world, card, now - 60, days, uses, items, notes, &p);
	p.item[0].no_change = no_change != 0;
	fw_assertion(card, RX__PURPOSE__PURPOSE_ISSUE, "CLINIC-1", now, step, &a);
	call.card = &a;
	Rx__Receipt *rc = history(s, &world.keys[FW_PRESCRIBER].kp, &call, &p.p.base, now, RX_OK,
				  "world: submit");
	if (rc == NULL || strlen(rc->prescription_id) != RX_ID_LEN ||
	    strlen(rc->access_code) != RX_ACCESS_CODE_LEN)
		die("world: submit receipt", RX_INVALID);
	memcpy(world.rx[which], rc->prescription_id, RX_ID_LEN + 1);
	memcpy(world.code[which], rc->access_code, RX_ACCESS_CODE_LEN + 1);
	rx__receipt__free_unpacked(rc, NULL);
	fw_signed_free(&a);
}

static void submit(store_t *s, int which, const rx_keypair_t *card, int64_t now, int days, uint32_t uses)
{
	submit_items(s, which, card, now, days, uses, 1, 0);
}

/* A CLAIM by FW_PHARMACY with the patient's card (FW_CARD, or card). */
static void claim_with(store_t *s, int which, int card, int64_t now)
{
	Rx__Call call;
	Rx__Signed a;
	uint8_t rid[RX_REQUEST_ID_LEN];
	fw_call(&call, rid, ++step, RX_OP_CLAIM);
	call.prescription_id = world.rx[which];
	fw_assertion(&world.keys[card].kp, RX__PURPOSE__PURPOSE_DISPENSE, "PHARM-1", now, step, &a);
	call.card = &a;
	Rx__Receipt *rc = history(s, &world.keys[FW_PHARMACY].kp, &call, NULL, now, RX_OK, "world: claim");
	if (rc == NULL || rc->claim_token.len != RX_TOKEN_LEN)
		die("world: claim receipt", RX_INVALID);
	memcpy(world.token[which], rc->claim_token.data, RX_TOKEN_LEN);
	rx__receipt__free_unpacked(rc, NULL);
	fw_signed_free(&a);
}

static void claim(store_t *s, int which, int64_t now)
{
	claim_with(s, which, FW_CARD, now);
}

static void dispense(store_t *s, int which, int64_t now)
{
	Rx__Call call;
	fw_rec_t r;
	uint8_t rid[RX_REQUEST_ID_LEN];
	fw_call(&call, rid, ++step, RX_OP_DISPENSE);
	call.prescription_id = world.rx[which];
	call.claim_token.data = world.token[which];
	call.claim_token.len = RX_TOKEN_LEN;
	fw_dispense(&world.keys[FW_PHARMACY].kp, world.rx[which], 0, &r);
	Rx__Receipt *rc = history(s, &world.keys[FW_PHARMACY].kp, &call, &r.d.base, now, RX_OK,
				  "world: dispense");
	rx__receipt__free_unpacked(rc, NULL);
	/* Kept: a retry of it is a seed. */
	free(world.retry_dispense.data);
	world.retry_dispense.len = world.retry.len;
	if ((world.retry_dispense.data = malloc(world.retry.len)) == NULL)
		die("out of memory", RX_SYSTEM);
	memcpy(world.retry_dispense.data, world.retry.data, world.retry.len);
}

/* FW_RX_PARTIAL's part 1 (fw_part), under its claim. */
static void dispense_part(store_t *s, int64_t now)
{
	Rx__Call call;
	fw_part_t r;
	uint8_t rid[RX_REQUEST_ID_LEN];
	fw_call(&call, rid, ++step, RX_OP_DISPENSE);
	call.prescription_id = world.rx[FW_RX_PARTIAL];
	call.claim_token.data = world.token[FW_RX_PARTIAL];
	call.claim_token.len = RX_TOKEN_LEN;
	fw_part(&world.keys[FW_PHARMACY].kp, world.rx[FW_RX_PARTIAL], 1, &r);
	Rx__Receipt *rc = history(s, &world.keys[FW_PHARMACY].kp, &call, &r.d.base, now, RX_OK,
				  "world: part 1");
	if (rc == NULL || rc->state != RX__STATE__PARTIALLY_DISPENSED)
		die("world: part 1 receipt", RX_INVALID);
	rx__receipt__free_unpacked(rc, NULL);
	/* Kept: a retry of it is a seed. */
	free(world.retry_part.data);
	world.retry_part.len = world.retry.len;
	if ((world.retry_part.data = malloc(world.retry.len)) == NULL)
		die("out of memory", RX_SYSTEM);
	memcpy(world.retry_part.data, world.retry.data, world.retry.len);
}

/* Item 1 as FW_AGREED_DRUG, the one change the world's inquiries propose
 * and its answer agrees to. */
typedef struct {
	Rx__Change change, *changes[1];
	Rx__Item to;
} agreed_t;

static void agreed_init(agreed_t *g)
{
	rx__item__init(&g->to);
	g->to.drug_code = (char *)FW_AGREED_DRUG;
	g->to.name = (char *)"ノルバスク錠２．５ｍｇ";
	g->to.dose = (char *)"1 tablet";
	g->to.unit = (char *)"tablet";
	g->to.usage = (char *)"once daily after breakfast";
	g->to.days = 28;
	g->to.quantity = 28;
	rx__change__init(&g->change);
	g->change.item = 1;
	g->change.to = &g->to;
	g->changes[0] = &g->change;
}

/* INQUIRE by FW_PHARMACY under its claim, proposing the agreed change: it
 * must come back inquiry 1, open. */
static void inquire(store_t *s, int which, int64_t now)
{
	Rx__Call call;
	Rx__Inquiry q = RX__INQUIRY__INIT;
	agreed_t g;
	uint8_t rid[RX_REQUEST_ID_LEN];
	agreed_init(&g);
	q.reason = RX__INQUIRY_REASON__INQUIRY_DOSE;
	q.text = (char *)"5 mg for an 82-year-old with low blood pressure: 2.5 mg?";
	q.n_proposed = 1;
	q.proposed = g.changes;
	fw_call(&call, rid, ++step, RX_OP_INQUIRE);
	call.prescription_id = world.rx[which];
	call.claim_token.data = world.token[which];
	call.claim_token.len = RX_TOKEN_LEN;
	call.inquiry = &q;
	Rx__Receipt *rc = history(s, &world.keys[FW_PHARMACY].kp, &call, NULL, now, RX_OK, "world: inquire");
	if (rc == NULL || rc->inquiry != 1 || rc->inquiry_open != 1)
		die("world: inquire receipt", RX_INVALID);
	rx__receipt__free_unpacked(rc, NULL);
}

/* INQUIRY_REPLY by FW_PRESCRIBER to inquiry 1: ANSWER_ACCEPT, agreeing to
 * the change it proposed. */
static void accept(store_t *s, int which, int64_t now)
{
	Rx__Call call;
	Rx__InquiryReply a = RX__INQUIRY_REPLY__INIT;
	agreed_t g;
	uint8_t rid[RX_REQUEST_ID_LEN];
	agreed_init(&g);
	a.inquiry = 1;
	a.answer = RX__ANSWER__ANSWER_ACCEPT;
	a.text = (char *)"yes, 2.5 mg";
	a.n_agreed = 1;
	a.agreed = g.changes;
	fw_call(&call, rid, ++step, RX_OP_INQUIRY_REPLY);
	call.prescription_id = world.rx[which];
	call.inquiry_reply = &a;
	Rx__Receipt *rc = history(s, &world.keys[FW_PRESCRIBER].kp, &call, NULL, now, RX_OK,
				  "world: inquiry reply");
	if (rc == NULL || rc->inquiry_open != 0)
		die("world: inquiry reply receipt", RX_INVALID);
	rx__receipt__free_unpacked(rc, NULL);
}

static void cancel(store_t *s, int which, int64_t now)
{
	Rx__Call call;
	uint8_t rid[RX_REQUEST_ID_LEN];
	fw_call(&call, rid, ++step, RX_OP_CANCEL);
	call.prescription_id = world.rx[which];
	Rx__Receipt *rc = history(s, &world.keys[FW_PRESCRIBER].kp, &call, NULL, now, RX_OK, "world: cancel");
	rx__receipt__free_unpacked(rc, NULL);
}

/* A well-formed access code that is not the prescription's. */
static void wrong_code(char out[RX_ACCESS_CODE_LEN + 1])
{
	char raw[11] = "0000000000";
	raw[10] = rx_check37(raw, 10);
	snprintf(out, RX_ACCESS_CODE_LEN + 1, "%.4s-%.4s-%.3s", raw, raw + 4, raw + 8);
}

/* A pharmacy's LIST with the patient's card at now: a card assertion the
 * store has recorded, at a time the fuzzers' requests (FW_NOW) still
 * accept, for a seed that presents it again (nonces are kept by time and
 * nonce together). */
static void list_with_card(store_t *s, int64_t now)
{
	Rx__Call call;
	Rx__Signed a;
	uint8_t rid[RX_REQUEST_ID_LEN];
	fw_call(&call, rid, ++step, RX_OP_LIST);
	fw_assertion(&world.keys[FW_CARD].kp, RX__PURPOSE__PURPOSE_DISPENSE, "PHARM-1", now, step, &a);
	call.card = &a;
	Rx__Receipt *rc = history(s, &world.keys[FW_PHARMACY].kp, &call, NULL, now, RX_OK, "world: list");
	world.card_nonce = step;
	if (rc)
		rx__receipt__free_unpacked(rc, NULL);
	fw_signed_free(&a);
}

static void lock_code(store_t *s, int which, int64_t now)
{
	char code[RX_ACCESS_CODE_LEN + 1];
	wrong_code(code);
	for (int i = 0; i < STORE_MAX_CODE_FAILURES; i++) {
		Rx__Call call;
		uint8_t rid[RX_REQUEST_ID_LEN];
		fw_call(&call, rid, ++step, RX_OP_CLAIM);
		call.prescription_id = world.rx[which];
		call.access_code = code;
		(void)history(s, &world.keys[FW_PHARMACY].kp, &call, NULL, now, RX_BAD_ACCESS_CODE,
			      "world: wrong code");
	}
}

static void keypair(rx_keypair_t *kp, uint8_t n)
{
	uint8_t seed[RX_SEED_LEN];
	memset(seed, n, sizeof seed);
	rx_keypair_from_seed(seed, kp);
}

static void institution(store_t *s, const char *code, int kind, uint8_t n)
{
	store_institution_t in;
	memset(&in, 0, sizeof in);
	snprintf(in.code, sizeof in.code, "%s", code);
	in.kind = kind;
	snprintf(in.name, sizeof in.name, "fuzz %s", code);
	memset(in.curve_key, n, sizeof in.curve_key);
	in.added_at = FW_NOW - 86400 * 30;
	MUST(store_institution_add(s, &in), "world: institution");
}

/* Register a key with its institution (by default the one its connection is). */
static void key(store_t *s, int which, int role, const char *institution)
{
	store_key_t k;
	memset(&k, 0, sizeof k);
	memcpy(k.key, world.keys[which].kp.pk, RX_KEY_LEN);
	k.role = role;
	snprintf(k.institution, sizeof k.institution, "%s",
		 institution ? institution : world.keys[which].institution);
	snprintf(k.name, sizeof k.name, "fuzz key %d", which);
	k.added_at = FW_NOW - 86400 * 30;
	MUST(store_key_add(s, &k), "world: key");
}

static void build(void)
{
	static const char *const inst[FW_NKEYS] = {
		[FW_PRESCRIBER] = "CLINIC-1",   [FW_PRESCRIBER_REVOKED] = "CLINIC-1",
		[FW_PRESCRIBER_OTHER] = "CLINIC-2", [FW_PHARMACY] = "PHARM-1",
		[FW_PHARMACY_OTHER] = "PHARM-2", [FW_PHARMACY_SHUT] = "PHARM-X",
		[FW_CARD] = "PORTAL-1",         [FW_CARD_REVOKED] = "PORTAL-1",
		[FW_CARD_OTHER] = "PORTAL-1",   [FW_STRANGER] = "CLINIC-1",
		[FW_STOLEN] = "CLINIC-1",       [FW_NO_SUCH_PEER] = "CLINIC-9",
	};
	static const uint8_t pseudonym_key[32] = "rx-fuzz pseudonym key, test!!!!";
	const int64_t then = FW_NOW - 3600, long_ago = FW_NOW - 3 * 86400, recent = FW_NOW - 60;
	char path[400], mynumber[13] = "12345678901";
	store_t *s = NULL;
	int created;

	for (int i = 0; i < FW_NKEYS; i++) {
		keypair(&world.keys[i].kp, (uint8_t)(0x10 + i));
		world.keys[i].institution = inst[i];
	}
	keypair(&world.broker, 0xb0);
	mynumber[11] = (char)('0' + rx_mynumber_check_digit(mynumber));
	MUST(rx_patient_id_derive(pseudonym_key, mynumber, world.patient), "world: patient id");
	memcpy(mynumber, "98765432109", 11);
	mynumber[11] = (char)('0' + rx_mynumber_check_digit(mynumber));
	MUST(rx_patient_id_derive(pseudonym_key, mynumber, world.patient_other), "world: patient id");

	const char *tmp = getenv("TMPDIR");
	snprintf(world.dir, sizeof world.dir, "%s/rx-fuzz.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(world.dir) == NULL) {
		world.dir[0] = '\0';
		die("world: mkdtemp", RX_SYSTEM);
	}
	atexit(cleanup);
	snprintf(path, sizeof path, "%s/build", world.dir);
	snprintf(world.work, sizeof world.work, "%s/work", world.dir);
	if (mkdir(path, 0700) != 0 || mkdir(world.work, 0700) != 0)
		die("world: mkdir", RX_SYSTEM);
	rng_seed(RESET_SEED);
	MUST(store_open(&s, path, &store_opt), "world: store_open");

	institution(s, "CLINIC-1", STORE_CLINIC, 1);
	institution(s, "CLINIC-2", STORE_CLINIC, 2);
	institution(s, "PHARM-1", STORE_PHARMACY, 3);
	institution(s, "PHARM-2", STORE_PHARMACY, 4);
	institution(s, "PHARM-X", STORE_PHARMACY, 5);
	institution(s, "PORTAL-1", STORE_PORTAL, 6);
	key(s, FW_PRESCRIBER, RX_ROLE_PRESCRIBER, NULL);
	key(s, FW_PRESCRIBER_REVOKED, RX_ROLE_PRESCRIBER, NULL);
	key(s, FW_PRESCRIBER_OTHER, RX_ROLE_PRESCRIBER, NULL);
	key(s, FW_PHARMACY, RX_ROLE_PHARMACY, NULL);
	key(s, FW_PHARMACY_OTHER, RX_ROLE_PHARMACY, NULL);
	key(s, FW_PHARMACY_SHUT, RX_ROLE_PHARMACY, NULL);
	key(s, FW_STOLEN, RX_ROLE_PRESCRIBER, "CLINIC-2");
	key(s, FW_NO_SUCH_PEER, RX_ROLE_PRESCRIBER, "CLINIC-1");
	MUST(store_key_revoke(s, world.keys[FW_PRESCRIBER_REVOKED].kp.pk, FW_NOW - 86400), "world: revoke key");
	MUST(store_institution_revoke(s, "PHARM-X", FW_NOW - 86400), "world: revoke institution");
	MUST(store_patient_enroll(s, world.patient, FW_NOW - 86400 * 30, &created), "world: enroll");
	MUST(store_patient_enroll(s, world.patient_other, FW_NOW - 86400 * 30, &created), "world: enroll");
	MUST(store_card_enroll(s, world.keys[FW_CARD_REVOKED].kp.pk, world.patient, FW_NOW - 86400 * 30),
	     "world: card");
	MUST(store_card_revoke(s, world.keys[FW_CARD_REVOKED].kp.pk, FW_NOW - 86400 * 20), "world: card revoke");
	MUST(store_card_enroll(s, world.keys[FW_CARD].kp.pk, world.patient, FW_NOW - 86400 * 20), "world: card");
	MUST(store_card_enroll(s, world.keys[FW_CARD_OTHER].kp.pk, world.patient_other, FW_NOW - 86400 * 30),
	     "world: card");

	/* The expired one first: the log's clock only moves forward. */
	submit(s, FW_RX_EXPIRED, &world.keys[FW_CARD].kp, long_ago, 2, 1);
	submit(s, FW_RX_EXPIRED_CLAIMED, &world.keys[FW_CARD].kp, long_ago, 2, 1);
	claim(s, FW_RX_EXPIRED_CLAIMED, long_ago);
	submit(s, FW_RX_ISSUED, &world.keys[FW_CARD].kp, then, 4, 1);
	submit(s, FW_RX_CLAIMED, &world.keys[FW_CARD].kp, then, 4, 1);
	claim(s, FW_RX_CLAIMED, then);
	submit(s, FW_RX_REFILL, &world.keys[FW_CARD].kp, then, 14, 3);
	claim(s, FW_RX_REFILL, then);
	submit(s, FW_RX_DISPENSED, &world.keys[FW_CARD].kp, then, 4, 1);
	claim(s, FW_RX_DISPENSED, then);
	dispense(s, FW_RX_DISPENSED, then);
	submit(s, FW_RX_CANCELLED, &world.keys[FW_CARD].kp, then, 4, 1);
	cancel(s, FW_RX_CANCELLED, then);
	submit(s, FW_RX_CANCEL_PENDING, &world.keys[FW_CARD].kp, then, 4, 1);
	claim(s, FW_RX_CANCEL_PENDING, then);
	submit(s, FW_RX_LOCKED, &world.keys[FW_CARD].kp, then, 4, 1);
	lock_code(s, FW_RX_LOCKED, then);
	submit(s, FW_RX_OTHER_PATIENT, &world.keys[FW_CARD_OTHER].kp, then, 4, 1);
	submit_items(s, FW_RX_PARTIAL, &world.keys[FW_CARD].kp, then, 4, 1, 2, 0);
	claim(s, FW_RX_PARTIAL, then);
	dispense_part(s, then);
	list_with_card(s, recent);
	/* Last before the inquiries, so that world.retry is its frame. */
	cancel(s, FW_RX_CANCEL_PENDING, then);

	/* The inquiries (5.14), after everything else: each step reseeds the
	 * random numbers by its own number, so the steps before keep their ids,
	 * tokens and nonces, and the seeds about them their bytes.  Patient 2's,
	 * so that patient 1's lists keep their counts.  world.retry stays the
	 * CANCEL above.  At the LIST's time: the log's clock has reached it, and
	 * a card assertion older than the clock is stale. */
	store_buf_t retry = world.retry;
	uint8_t retry_rid = world.retry_rid;
	world.retry = (store_buf_t){0};
	submit_items(s, FW_RX_INQUIRING, &world.keys[FW_CARD_OTHER].kp, recent, 4, 1, 1, 1);
	claim_with(s, FW_RX_INQUIRING, FW_CARD_OTHER, recent);
	inquire(s, FW_RX_INQUIRING, recent);
	submit_items(s, FW_RX_AGREED, &world.keys[FW_CARD_OTHER].kp, recent, 4, 1, 1, 1);
	claim_with(s, FW_RX_AGREED, FW_CARD_OTHER, recent);
	inquire(s, FW_RX_AGREED, recent);
	accept(s, FW_RX_AGREED, recent);
	free(world.retry.data);
	world.retry = retry;
	world.retry_rid = retry_rid;

	/* The template: a compacted copy, put back before every input. */
	uint64_t bytes;
	snprintf(path, sizeof path, "%s/template", world.dir);
	MUST(store_backup(s, path, &bytes), "world: template");
	store_close(&s);
	snprintf(path, sizeof path, "%s/template/data.mdb", world.dir);
	FILE *f = fopen(path, "rb");
	if (f == NULL || (template_data = malloc(bytes ? bytes : 1)) == NULL ||
	    fread(template_data, 1, bytes, f) != bytes)
		die("world: read template", RX_SYSTEM);
	fclose(f);
	template_len = bytes;
}

const fw_t *fw_get(void)
{
	if (!built) {
		/* Before sodium_init, as libsodium requires. */
		if (randombytes_set_implementation(&rng_impl) != 0)
			die("randombytes_set_implementation", RX_SYSTEM);
		MUST(rx_crypto_init(), "rx_crypto_init");
		build();
		built = 1;
	}
	return &world;
}

store_t *fw_reset(void)
{
	char path[400];
	fw_get();
	store_close(&live);
	snprintf(path, sizeof path, "%s/data.mdb", world.work);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, template_data, template_len) != (ssize_t)template_len || close(fd) != 0)
		die("world: restore template", RX_SYSTEM);
	rng_seed(RESET_SEED);
	MUST(store_open(&live, world.work, &store_opt), "world: reopen");
	return live;
}
