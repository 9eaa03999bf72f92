/* test_store: the prescription state machine and its durability, against a
 * real LMDB environment (store/store.c).  Every test opens its own store in
 * its own directory, inside the forked test process, and closes it. */
#include <check.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "rx_check.h"
#include "rx.pb-c.h"
#include "rx_crypto.h"
#include "rx_ids.h"
#include "store.h"
#include "testutil.h"
#include "rx_ops.h"

#define DAY 86400
#define T0 (1764547200 + 600) /* 2025-12-01 09:10 JST */
#define INST "1312345678"
#define INST_OTHER "2712345678"

typedef struct {
	char dir[TU_PATH_MAX];
	store_t *s;
	uint8_t doc[RX_KEY_LEN];       /* prescriber at INST */
	uint8_t doc2[RX_KEY_LEN];      /* another prescriber at INST */
	uint8_t doc_far[RX_KEY_LEN];   /* a prescriber at INST_OTHER */
	uint8_t revoked[RX_KEY_LEN];   /* a prescriber whose key was revoked */
	uint8_t pharm[RX_KEY_LEN];     /* pharmacy X */
	uint8_t pharm2[RX_KEY_LEN];    /* pharmacy Y */
	uint8_t stranger[RX_KEY_LEN];  /* never registered */
	char patient[RX_PATIENT_ID_LEN + 1];
	char patient2[RX_PATIENT_ID_LEN + 1];
	char unenrolled[RX_PATIENT_ID_LEN + 1];
	uint8_t card[RX_KEY_LEN];      /* patient's card */
	uint8_t card2[RX_KEY_LEN];     /* patient2's card */
	uint8_t lost[RX_KEY_LEN];      /* patient's earlier card, revoked */
	store_rx_t seen[16];           /* what the last LIST returned */
	size_t nseen;
	int calls;      /* reply builder calls */
	int fail_reply; /* make the reply builder refuse */
} world_t;

/* One request's bytes; the change points into it. */
typedef struct {
	store_change_t c;
	uint8_t request_id[RX_REQUEST_ID_LEN];
	uint8_t call_hash[RX_HASH_LEN];
	uint8_t body[48];
	uint8_t sig[RX_SIG_LEN];
	uint8_t token[RX_TOKEN_LEN];
	char id[RX_ID_LEN + 1];
	store_assertion_t assertion;
	uint8_t nonce[16];
} call_t;

static void new_key(uint8_t pk[RX_KEY_LEN])
{
	uint8_t sk[RX_SECRET_LEN];
	crypto_sign_keypair(pk, sk);
	sodium_memzero(sk, sizeof sk);
}

static void add_key(world_t *w, const uint8_t *pk, int role, const char *inst, const char *name)
{
	store_key_t k;
	memset(&k, 0, sizeof k);
	memcpy(k.key, pk, RX_KEY_LEN);
	k.role = role;
	snprintf(k.institution, sizeof k.institution, "%s", inst);
	snprintf(k.name, sizeof k.name, "%s", name);
	k.added_at = T0 - DAY;
	ck_assert_int_eq(store_key_add(w->s, &k), RX_OK);
}

static void patient_id(const char *mynumber, char out[RX_PATIENT_ID_LEN + 1])
{
	uint8_t key[32];
	memset(key, 0x42, sizeof key);
	ck_assert_int_eq(rx_patient_id_derive(key, mynumber, out), RX_OK);
}

/* The world of the running test (one per forked test process). */
static world_t *cur;

/* The institution a known key's connection authenticates as. */
static const char *peer_of(const uint8_t *key)
{
	if (key == cur->doc_far)
		return INST_OTHER;
	if (key == cur->pharm)
		return "P-0001";
	if (key == cur->pharm2)
		return "P-0002";
	return INST;
}

static void add_institution(world_t *w, const char *code, int kind)
{
	store_institution_t in;
	memset(&in, 0, sizeof in);
	snprintf(in.code, sizeof in.code, "%s", code);
	in.kind = kind;
	snprintf(in.name, sizeof in.name, "institution %s", code);
	randombytes_buf(in.curve_key, sizeof in.curve_key);
	in.added_at = T0 - DAY;
	ck_assert_int_eq(store_institution_add(w->s, &in), RX_OK);
}

/* The data key every test store is sealed with. */
static const uint8_t test_data_key[RX_DATA_KEY_LEN] = {
	0x6b, 0x65, 0x79, 0x20, 0x66, 0x6f, 0x72, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x73, 0x74, 0x6f,
	0x72, 0x65, 0x73, 0x20, 0x6f, 0x6e, 0x6c, 0x79, 0x2c, 0x20, 0x6e, 0x6f, 0x74, 0x20, 0x61, 0x21};
static const store_options_t test_opt = {.map_size = 16u << 20, .data_key = test_data_key};

static void store_open_in(world_t *w)
{
	store_options_t opt = test_opt;
	ck_assert_int_eq(store_open(&w->s, w->dir, &opt), RX_OK);
	ck_assert_ptr_nonnull(w->s);
}

/* A store with registered keys and two enrolled patients. */
static void world_open(world_t *w)
{
	int created = -1;
	memset(w, 0, sizeof *w);
	cur = w;
	tu_subdir(w->dir);
	store_open_in(w);
	add_institution(w, INST, STORE_CLINIC);
	add_institution(w, INST_OTHER, STORE_CLINIC);
	add_institution(w, "P-0001", STORE_PHARMACY);
	add_institution(w, "P-0002", STORE_PHARMACY);
	new_key(w->doc);
	new_key(w->doc2);
	new_key(w->doc_far);
	new_key(w->revoked);
	new_key(w->pharm);
	new_key(w->pharm2);
	new_key(w->stranger);
	add_key(w, w->doc, RX_ROLE_PRESCRIBER, INST, "Dr. Sato");
	add_key(w, w->doc2, RX_ROLE_PRESCRIBER, INST, "Dr. Suzuki");
	add_key(w, w->doc_far, RX_ROLE_PRESCRIBER, INST_OTHER, "Dr. Tanaka");
	add_key(w, w->revoked, RX_ROLE_PRESCRIBER, INST, "Dr. Former");
	ck_assert_int_eq(store_key_revoke(w->s, w->revoked, T0 - 3600), RX_OK);
	add_key(w, w->pharm, RX_ROLE_PHARMACY, "P-0001", "Sakura Pharmacy");
	add_key(w, w->pharm2, RX_ROLE_PHARMACY, "P-0002", "Momiji Pharmacy");

	patient_id("123456789018", w->patient);
	patient_id("000000000019", w->patient2);
	patient_id("999999999996", w->unenrolled);
	ck_assert_int_eq(rx_mynumber_valid("000000000019"), RX_OK);
	ck_assert_int_eq(rx_mynumber_valid("999999999996"), RX_OK);
	ck_assert_int_eq(store_patient_enroll(w->s, w->patient, T0 - DAY, &created), RX_OK);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(store_patient_enroll(w->s, w->patient2, T0 - DAY, &created), RX_OK);
	ck_assert_int_eq(created, 1);
	new_key(w->card);
	new_key(w->card2);
	new_key(w->lost);
	ck_assert_int_eq(store_card_enroll(w->s, w->card, w->patient, T0 - DAY), RX_OK);
	ck_assert_int_eq(store_card_enroll(w->s, w->card2, w->patient2, T0 - DAY), RX_OK);
	ck_assert_int_eq(store_card_enroll(w->s, w->lost, w->patient, T0 - 2 * DAY), RX_OK);
	ck_assert_int_eq(store_card_revoke(w->s, w->lost, T0 - DAY), RX_OK);
}

static void world_close(world_t *w)
{
	store_close(&w->s);
	ck_assert_ptr_null(w->s);
}

/* The reply builder: some bytes naming the change, numbered by call. */
static rx_err_t build_reply(void *arg, const store_change_t *c, const store_outcome_t *o,
			    store_buf_t *reply)
{
	world_t *w = arg;
	char text[160];
	w->calls++;
	if (c->op == RX_OP_LIST) {
		w->nseen = o->n < 16 ? o->n : 16;
		if (w->nseen)
			memcpy(w->seen, o->list, w->nseen * sizeof *o->list);
	}
	if (w->fail_reply)
		return RX_SYSTEM;
	int n = snprintf(text, sizeof text, "reply #%d: %s %s -> %s use %u", w->calls,
			 rx_op_name(c->op), o->rx.id, rx_state_name(o->rx.state), o->use);
	reply->data = malloc((size_t)n);
	if (reply->data == NULL)
		return RX_SYSTEM;
	memcpy(reply->data, text, (size_t)n);
	reply->len = (size_t)n;
	return RX_OK;
}

/* A fresh request (new request id, call hash, body and signature). */
static store_change_t *mk(call_t *k, int op, const uint8_t *actor, const char *id, int64_t now)
{
	memset(k, 0, sizeof *k);
	randombytes_buf(k->request_id, sizeof k->request_id);
	randombytes_buf(k->call_hash, sizeof k->call_hash);
	randombytes_buf(k->body, sizeof k->body);
	randombytes_buf(k->sig, sizeof k->sig);
	store_change_t *c = &k->c;
	c->op = op;
	c->actor = actor;
	c->peer = peer_of(actor);
	c->request_id = k->request_id;
	c->call_hash = k->call_hash;
	c->now = now;
	if (id) {
		snprintf(k->id, sizeof k->id, "%s", id);
		c->id = k->id;
	}
	c->claim_token = k->token;
	c->body = k->body;
	c->body_len = sizeof k->body;
	c->signature = k->sig;
	/* The patient's card, as the reader at the counter would present it,
	 * for the ops that take one; a test may change or drop it. */
	if (op == RX_OP_SUBMIT || op == RX_OP_CLAIM || op == RX_OP_LIST) {
		randombytes_buf(k->nonce, sizeof k->nonce);
		k->assertion.card = cur->card;
		k->assertion.at = now;
		k->assertion.nonce = k->nonce;
		k->assertion.purpose = op == RX_OP_SUBMIT ? STORE_PURPOSE_ISSUE
				       : actor == cur->pharm || actor == cur->pharm2 ? STORE_PURPOSE_DISPENSE
										     : STORE_PURPOSE_VIEW;
		c->card = &k->assertion;
	}
	return c;
}

static store_change_t *mk_submit(call_t *k, const uint8_t *doc, const char *patient, uint32_t uses,
				 int64_t now)
{
	store_change_t *c = mk(k, RX_OP_SUBMIT, doc, NULL, now);
	c->patient_id = patient;
	c->new_access_code = "ABCD-EFGH-JK5";
	if (strcmp(patient, cur->patient2) == 0)
		k->assertion.card = cur->card2;
	c->institution = INST;
	c->issued_at = now;
	c->valid_until = rx_valid_until(now, RX_DEFAULT_VALID_DAYS);
	c->uses = uses;
	return c;
}

/* The store's request path as rxd's dispatch runs it: begin, build the
 * reply (build_reply), then commit it with the change, or abort if it could
 * not be built.  On a refusal *reply is empty. */
static rx_err_t change(world_t *w, const store_change_t *c, store_outcome_t *out, store_buf_t *reply)
{
	store_pending_t *pending = NULL;
	rx_err_t err = store_change_begin(w->s, c, out, reply, &pending);
	if (err != RX_OK || pending == NULL)
		return err;
	err = build_reply(w, c, out, reply);
	err = err == RX_OK ? store_change_commit(&pending, reply)
			   : store_change_abort(&pending, err, "could not build the reply");
	ck_assert_ptr_null(pending);
	if (err != RX_OK)
		store_buf_free(reply);
	return err;
}

/* Apply c; the reply is checked for sanity and freed.  A refusal must say
 * why, must not call the builder and must return no reply. */
static rx_err_t apply(world_t *w, const store_change_t *c, store_outcome_t *out)
{
	store_buf_t reply = {(uint8_t *)"junk", 4};
	int calls = w->calls;
	rx_err_t err = change(w, c, out, &reply);
	if (err == RX_OK) {
		ck_assert_ptr_nonnull(reply.data);
		ck_assert_uint_gt(reply.len, 0);
		ck_assert_int_eq(w->calls, calls + (out->replayed ? 0 : 1));
	} else {
		ck_assert_msg(out->why != NULL && out->why[0], "refusal %s without a reason",
			      rx_err_name(err));
		ck_assert_ptr_null(reply.data);
		ck_assert_uint_eq(reply.len, 0);
	}
	store_buf_free(&reply);
	return err;
}

/* Apply c and keep the reply bytes (caller frees). */
static rx_err_t apply_reply(world_t *w, const store_change_t *c, store_outcome_t *out,
			    store_buf_t *reply)
{
	return change(w, c, out, reply);
}

static void submit(world_t *w, const uint8_t *doc, const char *patient, uint32_t uses, int64_t now,
		   char id[RX_ID_LEN + 1])
{
	call_t k;
	store_outcome_t out;
	ck_assert_int_eq(apply(w, mk_submit(&k, doc, patient, uses, now), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	memcpy(id, out.rx.id, RX_ID_LEN + 1);
}

static void claim(world_t *w, const uint8_t *pharm, const char *id, int64_t now,
		  uint8_t token[RX_TOKEN_LEN])
{
	call_t k;
	store_outcome_t out;
	ck_assert_int_eq(apply(w, mk(&k, RX_OP_CLAIM, pharm, id, now), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	memcpy(token, out.rx.claim_token, RX_TOKEN_LEN);
}

static store_change_t *mk_tok(call_t *k, int op, const uint8_t *actor, const char *id,
			      const uint8_t token[RX_TOKEN_LEN], int64_t now)
{
	store_change_t *c = mk(k, op, actor, id, now);
	memcpy(k->token, token, RX_TOKEN_LEN);
	return c;
}

static const uint8_t zero_token[RX_TOKEN_LEN];

/* The state as the operator sees it (actor is who would ask; the operator's
 * read needs no proof, and never shows a claim token). */
static store_rx_t status_of(world_t *w, const uint8_t *actor, const char *id, int64_t now)
{
	store_rx_t rx;
	(void)actor;
	ck_assert_int_eq(store_rx_get(w->s, id, now, &rx, NULL, NULL), RX_OK);
	ck_assert_mem_eq(rx.claim_token, zero_token, RX_TOKEN_LEN);
	return rx;
}

static store_stats_t stats_of(world_t *w, int64_t now)
{
	store_stats_t st;
	ck_assert_int_eq(store_stats(w->s, now, &st), RX_OK);
	return st;
}


/* ---- submit ---- */

START_TEST(submit_issues)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	world_open(&w);

	store_change_t *c = mk_submit(&k, w.doc, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 0);
	ck_assert_ptr_null(out.why);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	ck_assert_int_eq(rx_rxid_parse(out.rx.id, id), RX_OK);
	ck_assert_str_eq(id, out.rx.id);
	ck_assert_uint_eq(out.rx.uses, 1);
	ck_assert_uint_eq(out.rx.uses_left, 1);
	ck_assert_str_eq(out.rx.patient_id, w.patient);
	ck_assert_str_eq(out.rx.institution, INST);
	ck_assert_mem_eq(out.rx.prescriber, w.doc, RX_KEY_LEN);
	ck_assert_int_eq(out.rx.issued_at, T0);
	ck_assert_int_eq(out.rx.valid_until, rx_valid_until(T0, 4));
	ck_assert_int_eq(out.rx.created_at, T0);
	ck_assert_int_eq(out.rx.cancel_pending, 0);
	uint8_t h[RX_HASH_LEN];
	rx_hash(k.body, sizeof k.body, h);
	ck_assert_mem_eq(out.rx.body_hash, h, RX_HASH_LEN);

	/* The signed bytes come back verbatim. */
	store_rx_t rx;
	store_buf_t body = {0}, sig = {0};
	const char *why = NULL;
	ck_assert_int_eq(store_status(w.s, w.doc, peer_of(w.doc), id, T0, &rx, &body, &sig, &why), RX_OK);
	ck_assert_uint_eq(body.len, sizeof k.body);
	ck_assert_mem_eq(body.data, k.body, sizeof k.body);
	ck_assert_uint_eq(sig.len, RX_SIG_LEN);
	ck_assert_mem_eq(sig.data, k.sig, RX_SIG_LEN);
	ck_assert_int_eq(rx.state, RX_STATE_ISSUED);
	store_buf_free(&body);
	store_buf_free(&sig);
	ck_assert_ptr_null(body.data);

	store_stats_t st = stats_of(&w, T0);
	ck_assert_uint_eq(st.prescriptions, 1);
	ck_assert_uint_eq(st.by_state[RX_STATE_ISSUED], 1);
	ck_assert_uint_eq(st.patients, 2);
	ck_assert_uint_eq(st.keys, 6);
	ck_assert_uint_eq(st.dispense_records, 0);

	/* An empty institution is the key's own. */
	c = mk_submit(&k, w.doc_far, w.patient, 1, T0);
	c->institution = "";
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_str_eq(out.rx.institution, INST_OTHER);
	ck_assert_str_ne(out.rx.id, id);
	world_close(&w);
}
END_TEST

START_TEST(retry_returns_stored_reply)
{
	world_t w;
	call_t k, k2;
	store_outcome_t out;
	store_buf_t first = {0}, again = {0};
	world_open(&w);

	store_change_t *c = mk_submit(&k, w.doc, w.patient, 1, T0);
	ck_assert_int_eq(apply_reply(&w, c, &out, &first), RX_OK);
	ck_assert_int_eq(w.calls, 1);
	char id[RX_ID_LEN + 1];
	memcpy(id, out.rx.id, sizeof id);

	/* the same request again, a minute later */
	c->now = T0 + 60;
	ck_assert_int_eq(apply_reply(&w, c, &out, &again), RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_int_eq(w.calls, 1);
	ck_assert_uint_eq(again.len, first.len);
	ck_assert_mem_eq(again.data, first.data, first.len);
	store_buf_free(&again);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 1);

	/* ... still, after the prescription has moved on and the key is revoked */
	uint8_t token[RX_TOKEN_LEN];
	claim(&w, w.pharm, id, T0 + 120, token);
	ck_assert_int_eq(store_key_revoke(w.s, w.doc, T0 + 180), RX_OK);
	c->now = T0 + 240;
	ck_assert_int_eq(apply_reply(&w, c, &out, &again), RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_mem_eq(again.data, first.data, first.len);
	store_buf_free(&again);
	/* but a new request from the revoked key is refused */
	ck_assert_int_eq(apply(&w, mk(&k2, RX_OP_CANCEL, w.doc, id, T0 + 240), &out), RX_KEY_REVOKED);

	/* A pharmacy's claim retried returns the original claim reply too. */
	store_change_t *cl = mk(&k2, RX_OP_RELEASE, w.pharm, id, T0 + 300);
	memcpy(k2.token, token, RX_TOKEN_LEN);
	ck_assert_int_eq(apply_reply(&w, cl, &out, &again), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	store_buf_free(&first);
	first = again;
	again.data = NULL;
	int calls = w.calls;
	ck_assert_int_eq(apply_reply(&w, cl, &out, &again), RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_int_eq(w.calls, calls);
	ck_assert_mem_eq(again.data, first.data, first.len);
	store_buf_free(&again);
	store_buf_free(&first);
	world_close(&w);
}
END_TEST

/* Stored replies live STORE_REPLY_KEEP, then the sweep prunes them (with
 * card nonces no assertion can reuse); a retry after that is evaluated
 * again, and exactly-once still holds. */
START_TEST(replies_pruned_after_their_lifetime)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	uint64_t replies, due, nonces, ndue, pr, pn;
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);
	claim(&w, w.pharm, id, T0 + 1, token);
	store_change_t *d = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 2);
	d->use = 1;
	ck_assert_int_eq(apply(&w, d, &out), RX_OK);
	ck_assert_int_eq(apply(&w, d, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 1);

	ck_assert_int_eq(store_prunable(w.s, T0 + 3, &replies, &due, &nonces, &ndue), RX_OK);
	ck_assert_uint_eq(replies, 3);
	ck_assert_uint_eq(due, 0);
	ck_assert_uint_eq(nonces, 2);
	ck_assert_int_eq(store_prune(w.s, T0 + 3, 100, &pr, &pn), RX_OK);
	ck_assert_uint_eq(pr, 0);
	/* Just before the lifetime ends nothing goes; after it, all of it, a
	 * bounded slice at a time. */
	const int64_t end = T0 + 2 + STORE_REPLY_KEEP;
	ck_assert_int_eq(store_prunable(w.s, end - 3, &replies, &due, &nonces, &ndue), RX_OK);
	ck_assert_uint_eq(due, 0);
	ck_assert_int_eq(store_prunable(w.s, end + 1, &replies, &due, &nonces, &ndue), RX_OK);
	ck_assert_uint_eq(due, 3);
	ck_assert_uint_eq(ndue, 2);
	ck_assert_int_eq(store_prune(w.s, end + 1, 2, &pr, &pn), RX_OK);
	ck_assert_uint_eq(pr, 2);
	ck_assert_uint_eq(pn, 2);
	ck_assert_int_eq(store_prune(w.s, end + 1, 2, &pr, &pn), RX_OK);
	ck_assert_uint_eq(pr, 1);
	ck_assert_uint_eq(pn, 0);
	ck_assert_int_eq(store_prunable(w.s, end + 1, &replies, &due, &nonces, &ndue), RX_OK);
	ck_assert_uint_eq(replies, 0);
	ck_assert_uint_eq(nonces, 0);
	/* The same DISPENSE again: no stored reply now, and the use was
	 * dispensed once. */
	d->now = end + 2;
	ck_assert_int_eq(apply(&w, d, &out), RX_ALREADY_DISPENSED);
	store_space_t sp;
	ck_assert_int_eq(store_space(w.s, &sp), RX_OK);
	ck_assert_uint_gt(sp.map_size, 0);
	ck_assert_uint_gt(sp.high_water, 0);
	ck_assert_uint_eq(sp.used + sp.free, sp.high_water);
	ck_assert_uint_eq(sp.reserve, sp.map_size / 8);
	ck_assert_int_eq(sp.nearly_full, 0);
	world_close(&w);
}
END_TEST

/* store_replay: the read-only lookup the broker makes before its clock checks. */
START_TEST(replay_lookup)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	store_buf_t first = {0}, again = {0};
	uint8_t other_hash[RX_HASH_LEN];
	world_open(&w);

	store_change_t *c = mk_submit(&k, w.doc, w.patient, 1, T0);
	/* Not yet a retry. */
	ck_assert_int_eq(store_replay(w.s, c->actor, c->peer, c->request_id, c->call_hash, &out, &again),
			 RX_NOT_FOUND);
	ck_assert_ptr_null(again.data);
	ck_assert_int_eq(apply_reply(&w, c, &out, &first), RX_OK);
	/* Now it is: the same bytes as stored, without calling the builder. */
	int calls = w.calls;
	ck_assert_int_eq(store_replay(w.s, c->actor, c->peer, c->request_id, c->call_hash, &out, &again),
			 RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_int_eq(w.calls, calls);
	ck_assert_uint_eq(again.len, first.len);
	ck_assert_mem_eq(again.data, first.data, first.len);
	store_buf_free(&again);
	/* Other bytes under the same request id conflict; another caller's same
	 * request id is none of this one's business. */
	memcpy(other_hash, c->call_hash, RX_HASH_LEN);
	other_hash[0] ^= 1;
	ck_assert_int_eq(store_replay(w.s, c->actor, c->peer, c->request_id, other_hash, &out, &again),
			 RX_CONFLICT);
	ck_assert_ptr_nonnull(out.why);
	ck_assert_ptr_null(again.data);
	ck_assert_int_eq(store_replay(w.s, w.doc2, c->peer, c->request_id, c->call_hash, &out, &again),
			 RX_NOT_FOUND);
	/* The same key through another institution's connection is refused
	 * before its stored reply is looked up. */
	ck_assert_int_eq(store_replay(w.s, c->actor, INST_OTHER, c->request_id, c->call_hash, &out,
				      &again),
			 RX_PERMISSION_DENIED);
	ck_assert_ptr_null(again.data);
	ck_assert_int_eq(store_replay(w.s, c->actor, NULL, c->request_id, c->call_hash, &out, &again),
			 RX_PERMISSION_DENIED);
	store_buf_free(&first);
	world_close(&w);
}
END_TEST

START_TEST(request_id_reuse_conflicts)
{
	world_t w;
	call_t k, k2;
	store_outcome_t out;
	world_open(&w);

	store_change_t *c = mk_submit(&k, w.doc, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	int calls = w.calls;

	/* same caller, same request id, other call bytes */
	store_change_t *c2 = mk_submit(&k2, w.doc, w.patient, 1, T0);
	memcpy(k2.request_id, k.request_id, RX_REQUEST_ID_LEN);
	ck_assert_int_eq(apply(&w, c2, &out), RX_CONFLICT);
	ck_assert_int_eq(out.replayed, 0);
	ck_assert_int_eq(w.calls, calls);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 1);

	/* A request id is the caller's own: another key may use the same one. */
	c2 = mk_submit(&k2, w.doc2, w.patient, 1, T0);
	memcpy(k2.request_id, k.request_id, RX_REQUEST_ID_LEN);
	memcpy(k2.call_hash, k.call_hash, RX_HASH_LEN);
	ck_assert_int_eq(apply(&w, c2, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 0);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 2);
	world_close(&w);
}
END_TEST

START_TEST(resubmitted_body_conflicts)
{
	world_t w;
	call_t k, k2;
	store_outcome_t out;
	world_open(&w);

	ck_assert_int_eq(apply(&w, mk_submit(&k, w.doc, w.patient, 1, T0), &out), RX_OK);
	/* the same signed prescription under a new request id */
	store_change_t *c2 = mk_submit(&k2, w.doc, w.patient, 1, T0 + 5);
	memcpy(k2.body, k.body, sizeof k.body);
	memcpy(k2.sig, k.sig, sizeof k.sig);
	ck_assert_int_eq(apply(&w, c2, &out), RX_CONFLICT);
	/* ... even by another prescriber who got hold of the bytes */
	c2 = mk_submit(&k2, w.doc2, w.patient, 1, T0 + 5);
	memcpy(k2.body, k.body, sizeof k.body);
	ck_assert_int_eq(apply(&w, c2, &out), RX_CONFLICT);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 1);
	world_close(&w);
}
END_TEST

START_TEST(submit_refusals)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	store_change_t *c;
	world_open(&w);

	c = mk_submit(&k, w.stranger, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_UNKNOWN_KEY);
	c = mk_submit(&k, w.revoked, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_KEY_REVOKED);
	c = mk_submit(&k, w.pharm, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED);
	c = mk_submit(&k, w.doc, w.patient, 1, T0);
	c->institution = INST_OTHER;
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED);
	c = mk_submit(&k, w.doc_far, w.patient, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED); /* names INST */
	/* Filed under the card's patient: naming another is a mismatch. */
	c = mk_submit(&k, w.doc, w.unenrolled, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_ASSERTION_MISMATCH);
	c = mk_submit(&k, w.doc, w.patient2, 1, T0);
	k.assertion.card = w.card;
	ck_assert_int_eq(apply(&w, c, &out), RX_ASSERTION_MISMATCH);
	/* No card, no prescription. */
	c = mk_submit(&k, w.doc, w.patient, 1, T0);
	c->card = NULL;
	ck_assert_int_eq(apply(&w, c, &out), RX_INVALID);
	ck_assert_int_eq(w.calls, 0);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 0);

	/* A refused request id is not burnt: the corrected request may reuse it. */
	c = mk_submit(&k, w.doc, w.unenrolled, 1, T0);
	ck_assert_int_eq(apply(&w, c, &out), RX_ASSERTION_MISMATCH);
	c->patient_id = w.patient;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 0);
	world_close(&w);
}
END_TEST

START_TEST(reply_failure_changes_nothing)
{
	world_t w;
	call_t k, k2;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	w.fail_reply = 1;
	store_change_t *c = mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 10);
	store_buf_t reply = {0};
	ck_assert_int_eq(change(&w, c, &out, &reply), RX_SYSTEM);
	ck_assert_ptr_null(reply.data);
	ck_assert_int_eq(status_of(&w, w.pharm, id, T0 + 10).state, RX_STATE_ISSUED);
	ck_assert_int_eq(apply(&w, mk_submit(&k2, w.doc, w.patient, 1, T0), &out), RX_SYSTEM);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, 1);

	/* nothing was stored under the request id either */
	w.fail_reply = 0;
	int calls = w.calls;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_int_eq(out.replayed, 0);
	ck_assert_int_eq(w.calls, calls + 1);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	world_close(&w);
}
END_TEST

/* ---- claim and release ---- */

START_TEST(claim_and_release)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN], token2[RX_TOKEN_LEN];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	/* prescribers do not claim */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.doc, id, T0 + 5), &out), RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.stranger, id, T0 + 5), &out), RX_UNKNOWN_KEY);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 10), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	ck_assert_uint_eq(out.use, 1);
	ck_assert_mem_eq(out.rx.claimer, w.pharm, RX_KEY_LEN);
	ck_assert_mem_ne(out.rx.claim_token, zero_token, RX_TOKEN_LEN);
	ck_assert_int_eq(out.rx.updated_at, T0 + 10);
	memcpy(token, out.rx.claim_token, RX_TOKEN_LEN);

	/* another pharmacy */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm2, id, T0 + 20), &out),
			 RX_ALREADY_CLAIMED);
	/* the holder again, with a new request id: the same claim back */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 30), &out), RX_OK);
	ck_assert_int_eq(out.replayed, 0);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	ck_assert_mem_eq(out.rx.claim_token, token, RX_TOKEN_LEN);

	/* release: wrong token, other pharmacy with the right token, the prescriber */
	memcpy(token2, token, sizeof token2);
	token2[0] ^= 1;
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, token2, T0 + 40), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, zero_token, T0 + 40), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm2, id, token, T0 + 40), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.doc, id, token, T0 + 40), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(status_of(&w, w.pharm, id, T0 + 40).state, RX_STATE_CLAIMED);

	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, token, T0 + 50), &out),
			 RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	ck_assert_mem_eq(out.rx.claim_token, zero_token, RX_TOKEN_LEN);
	uint8_t zero_key[RX_KEY_LEN] = {0};
	ck_assert_mem_eq(out.rx.claimer, zero_key, RX_KEY_LEN);

	/* released: a second release is refused, the old token is dead */
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, token, T0 + 55), &out),
			 RX_PERMISSION_DENIED);

	/* now the other pharmacy may claim, and gets a token of its own */
	claim(&w, w.pharm2, id, T0 + 60, token2);
	ck_assert_mem_ne(token2, token, RX_TOKEN_LEN);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 70), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm2, id, token, T0 + 70), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(status_of(&w, w.pharm, id, T0 + 70).state, RX_STATE_CLAIMED);
	world_close(&w);
}
END_TEST

/* ---- dispense ---- */

START_TEST(dispense_once)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	store_change_t *c;
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	/* not claimed */
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, zero_token, T0 + 5), &out),
			 RX_PERMISSION_DENIED);
	claim(&w, w.pharm, id, T0 + 10, token);

	/* the record names a use other than the one claimed */
	static const uint32_t wrong[] = {2, 3, 4, 255, 256 + 1};
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 20);
		c->use = wrong[i];
		ck_assert_msg(apply(&w, c, &out) == RX_INVALID, "use %u", wrong[i]);
	}
	ck_assert_uint_eq(stats_of(&w, T0).dispense_records, 0);

	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 30);
	c->use = 1;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_DISPENSED);
	ck_assert_uint_eq(out.rx.uses_left, 0);
	ck_assert_uint_eq(out.use, 1);
	ck_assert_mem_eq(out.rx.claim_token, zero_token, RX_TOKEN_LEN);
	store_stats_t st = stats_of(&w, T0 + 30);
	ck_assert_uint_eq(st.dispense_records, 1);
	ck_assert_uint_eq(st.by_state[RX_STATE_DISPENSED], 1);
	ck_assert_uint_eq(st.by_state[RX_STATE_CLAIMED], 0);

	/* a second dispense under a new request id, with and without a use */
	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 40);
	c->use = 1;
	ck_assert_int_eq(apply(&w, c, &out), RX_ALREADY_DISPENSED);
	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 40);
	ck_assert_int_eq(apply(&w, c, &out), RX_ALREADY_DISPENSED);
	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm2, id, zero_token, T0 + 40);
	ck_assert_int_eq(apply(&w, c, &out), RX_ALREADY_DISPENSED);
	ck_assert_uint_eq(stats_of(&w, T0).dispense_records, 1);

	/* and nothing else moves it */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 50), &out),
			 RX_ALREADY_DISPENSED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm2, id, T0 + 50), &out),
			 RX_ALREADY_DISPENSED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, token, T0 + 50), &out),
			 RX_ALREADY_DISPENSED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, T0 + 50), &out),
			 RX_ALREADY_DISPENSED);
	/* nor does expiry change what happened */
	ck_assert_int_eq(status_of(&w, w.doc, id, T0 + 40 * DAY).state, RX_STATE_DISPENSED);
	world_close(&w);
}
END_TEST

START_TEST(dispense_use_zero_means_claimed)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	world_open(&w);
	submit(&w, w.doc, w.patient, 2, T0, id);
	claim(&w, w.pharm, id, T0 + 10, token);
	store_change_t *c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 20);
	c->use = 0;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_uint_eq(out.use, 1);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	claim(&w, w.pharm, id, T0 + 30, token);
	c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 40);
	c->use = 0;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_uint_eq(out.use, 2);
	ck_assert_int_eq(out.rx.state, RX_STATE_DISPENSED);
	ck_assert_uint_eq(stats_of(&w, T0).dispense_records, 2);
	world_close(&w);
}
END_TEST

START_TEST(refill_three_uses)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	store_change_t *c;
	const uint8_t *who[3];
	world_open(&w);
	who[0] = w.pharm;
	who[1] = w.pharm2;
	who[2] = w.pharm;
	submit(&w, w.doc, w.patient, 3, T0, id);

	for (uint32_t use = 1; use <= 3; use++) {
		int64_t t = T0 + (int64_t)use * 3600;
		ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, who[use - 1], id, t), &out), RX_OK);
		ck_assert_uint_eq(out.use, use);
		memcpy(token, out.rx.claim_token, RX_TOKEN_LEN);
		/* a use already dispensed cannot be named again */
		if (use > 1) {
			c = mk_tok(&k, RX_OP_DISPENSE, who[use - 1], id, token, t + 1);
			c->use = use - 1;
			ck_assert_int_eq(apply(&w, c, &out), RX_ALREADY_DISPENSED);
		}
		c = mk_tok(&k, RX_OP_DISPENSE, who[use - 1], id, token, t + 2);
		c->use = use;
		ck_assert_int_eq(apply(&w, c, &out), RX_OK);
		ck_assert_uint_eq(out.use, use);
		ck_assert_uint_eq(out.rx.uses_left, 3 - use);
		ck_assert_int_eq(out.rx.state, use < 3 ? RX_STATE_ISSUED : RX_STATE_DISPENSED);
		ck_assert_uint_eq(stats_of(&w, t).dispense_records, use);
	}
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 5 * 3600), &out),
			 RX_ALREADY_DISPENSED);
	ck_assert_uint_eq(stats_of(&w, T0).dispense_records, 3);
	world_close(&w);
}
END_TEST

/* ---- cancel ---- */

START_TEST(cancel_issued)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc2, id, T0 + 5), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc_far, id, T0 + 5), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.pharm, id, T0 + 5), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.revoked, id, T0 + 5), &out),
			 RX_KEY_REVOKED);
	ck_assert_int_eq(status_of(&w, w.doc, id, T0 + 5).state, RX_STATE_ISSUED);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, T0 + 10), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CANCELLED);
	ck_assert_int_eq(out.rx.cancel_pending, 0);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 20), &out), RX_CANCELLED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, T0 + 20), &out), RX_CANCELLED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, zero_token, T0 + 20), &out),
			 RX_CANCELLED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, zero_token, T0 + 20), &out),
			 RX_CANCELLED);
	/* cancelled stays cancelled past expiry */
	ck_assert_int_eq(status_of(&w, w.doc, id, T0 + 40 * DAY).state, RX_STATE_CANCELLED);
	ck_assert_uint_eq(stats_of(&w, T0).by_state[RX_STATE_CANCELLED], 1);
	world_close(&w);
}
END_TEST

START_TEST(cancel_while_claimed)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);
	claim(&w, w.pharm, id, T0 + 10, token);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, T0 + 20), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	ck_assert_int_eq(out.rx.cancel_pending, 1);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, T0 + 25), &out), RX_CANCELLED);

	/* the claimer may not dispense; nobody may claim */
	store_change_t *c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 30);
	c->use = 1;
	ck_assert_int_eq(apply(&w, c, &out), RX_CANCELLED);
	ck_assert_uint_eq(stats_of(&w, T0).dispense_records, 0);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm2, id, T0 + 30), &out), RX_CANCELLED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 30), &out), RX_CANCELLED);
	/* only the claimer's release completes it */
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm2, id, token, T0 + 35), &out),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id, token, T0 + 40), &out),
			 RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CANCELLED);
	ck_assert_int_eq(out.rx.cancel_pending, 0);
	ck_assert_int_eq(status_of(&w, w.doc, id, T0 + 50).state, RX_STATE_CANCELLED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 50), &out), RX_CANCELLED);
	world_close(&w);
}
END_TEST

/* ---- expiry ---- */

START_TEST(expiry)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1], id2[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);
	submit(&w, w.doc, w.patient, 1, T0, id2);
	const int64_t until = rx_valid_until(T0, RX_DEFAULT_VALID_DAYS);

	/* the last second of validity still works, the first after does not */
	claim(&w, w.pharm, id2, until - 1, token);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, until), &out), RX_EXPIRED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, until + DAY), &out), RX_EXPIRED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, until), &out), RX_EXPIRED);

	store_rx_t rx = status_of(&w, w.doc, id, until);
	ck_assert_int_eq(rx.state, RX_STATE_EXPIRED);
	ck_assert_int_eq(status_of(&w, w.doc, id, until - 1).state, RX_STATE_ISSUED);

	/* claimed, then expired: no dispense, but the claimer may release */
	ck_assert_int_eq(status_of(&w, w.pharm, id2, until).state, RX_STATE_EXPIRED);
	store_change_t *c = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id2, token, until);
	c->use = 1;
	ck_assert_int_eq(apply(&w, c, &out), RX_EXPIRED);
	ck_assert_uint_eq(stats_of(&w, until).dispense_records, 0);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, id2, token, until + 60), &out),
			 RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_EXPIRED);

	store_stats_t st = stats_of(&w, until);
	ck_assert_uint_eq(st.by_state[RX_STATE_EXPIRED], 2);
	ck_assert_uint_eq(st.by_state[RX_STATE_ISSUED], 0);
	st = stats_of(&w, until - 1);
	ck_assert_uint_eq(st.by_state[RX_STATE_ISSUED], 2);
	world_close(&w);
}
END_TEST

START_TEST(unknown_id_not_found)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1], other[RX_ID_LEN + 1];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);
	do
		rx_rxid_new(other);
	while (strcmp(other, id) == 0);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, other, T0), &out), RX_NOT_FOUND);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, other, zero_token, T0), &out),
			 RX_NOT_FOUND);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, other, zero_token, T0), &out),
			 RX_NOT_FOUND);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, other, T0), &out), RX_NOT_FOUND);
	store_rx_t rx;
	const char *why = NULL;
	ck_assert_int_eq(store_status(w.s, w.pharm, peer_of(w.pharm), other, T0, &rx, NULL, NULL, &why), RX_NOT_FOUND);
	ck_assert_ptr_nonnull(why);
	/* and a key check comes first: strangers learn nothing */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.stranger, other, T0), &out), RX_UNKNOWN_KEY);
	ck_assert_int_eq(store_status(w.s, w.stranger, peer_of(w.stranger), id, T0, &rx, NULL, NULL, &why), RX_UNKNOWN_KEY);
	ck_assert_int_eq(store_status(w.s, w.revoked, peer_of(w.revoked), id, T0, &rx, NULL, NULL, &why), RX_KEY_REVOKED);
	world_close(&w);
}
END_TEST

/* ---- status and list ---- */

START_TEST(status_permissions)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	store_rx_t rx;
	store_buf_t body = {0};
	const char *why = NULL;
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);
	claim(&w, w.pharm, id, T0 + 10, token);

	ck_assert_int_eq(store_status(w.s, w.doc2, peer_of(w.doc2), id, T0 + 20, &rx, &body, NULL, &why),
			 RX_PERMISSION_DENIED);
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_null(body.data);
	ck_assert_int_eq(store_status(w.s, w.doc_far, peer_of(w.doc_far), id, T0 + 20, &rx, NULL, NULL, &why),
			 RX_PERMISSION_DENIED);

	/* the claim token is for the claimer's eyes only; another pharmacy
	 * needs the patient's card or code even to look */
	ck_assert_int_eq(store_status(w.s, w.pharm, "P-0001", id, T0 + 20, &rx, NULL, NULL, &why), RX_OK);
	ck_assert_int_eq(rx.state, RX_STATE_CLAIMED);
	ck_assert_mem_eq(rx.claim_token, token, RX_TOKEN_LEN);
	ck_assert_int_eq(store_status(w.s, w.pharm2, "P-0002", id, T0 + 20, &rx, NULL, NULL, &why),
			 RX_PERMISSION_DENIED);
	ck_assert_int_eq(store_status(w.s, w.doc, INST, id, T0 + 20, &rx, NULL, NULL, &why), RX_OK);
	ck_assert_int_eq(rx.state, RX_STATE_CLAIMED);
	ck_assert_mem_eq(rx.claimer, w.pharm, RX_KEY_LEN);
	ck_assert_mem_eq(rx.claim_token, zero_token, RX_TOKEN_LEN);
	world_close(&w);
}
END_TEST

/* LIST by actor with card (NULL: none) at now; the result in w->seen. */
static rx_err_t list_with(world_t *w, const uint8_t *actor, const uint8_t *card, int64_t now)
{
	call_t k;
	store_outcome_t out;
	store_change_t *c = mk(&k, RX_OP_LIST, actor, NULL, now);
	if (card)
		k.assertion.card = card;
	else
		c->card = NULL;
	c->patient_id = "";
	w->nseen = 0;
	return apply(w, c, &out);
}

START_TEST(list_open_only)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char issued[RX_ID_LEN + 1], claimed[RX_ID_LEN + 1], dispensed[RX_ID_LEN + 1];
	char cancelled[RX_ID_LEN + 1], expired[RX_ID_LEN + 1], elsewhere[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	store_rx_t *list = NULL;
	size_t n = 99;
	const char *why = NULL;
	world_open(&w);

	/* one that expires at the end of today (1 day), the rest in 4 days */
	call_t ke;
	store_change_t *c = mk_submit(&ke, w.doc, w.patient, 1, T0);
	c->valid_until = rx_valid_until(T0, 1);
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	memcpy(expired, out.rx.id, sizeof expired);
	submit(&w, w.doc, w.patient, 1, T0, issued);
	submit(&w, w.doc, w.patient, 1, T0, claimed);
	submit(&w, w.doc2, w.patient, 1, T0, dispensed);
	submit(&w, w.doc, w.patient, 1, T0, cancelled);
	submit(&w, w.doc, w.patient2, 1, T0, elsewhere);
	claim(&w, w.pharm, claimed, T0 + 10, token);
	claim(&w, w.pharm, dispensed, T0 + 10, token);
	store_change_t *d = mk_tok(&k, RX_OP_DISPENSE, w.pharm, dispensed, token, T0 + 20);
	d->use = 1;
	ck_assert_int_eq(apply(&w, d, &out), RX_OK);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, cancelled, T0 + 30), &out), RX_OK);

	/* before the short one expired it was listed; a prescriber sees it too */
	ck_assert_int_eq(list_with(&w, w.doc, w.card, T0 + 40), RX_OK);
	ck_assert_uint_eq(w.nseen, 3);

	const int64_t later = rx_valid_until(T0, 1); /* the short one just expired */
	ck_assert_int_eq(list_with(&w, w.pharm2, w.card, later), RX_OK);
	ck_assert_uint_eq(w.nseen, 2);
	int seen_issued = 0, seen_claimed = 0;
	for (size_t i = 0; i < w.nseen; i++) {
		ck_assert_str_eq(w.seen[i].patient_id, w.patient);
		ck_assert_mem_eq(w.seen[i].claim_token, zero_token, RX_TOKEN_LEN);
		if (strcmp(w.seen[i].id, issued) == 0) {
			seen_issued++;
			ck_assert_int_eq(w.seen[i].state, RX_STATE_ISSUED);
		} else if (strcmp(w.seen[i].id, claimed) == 0) {
			seen_claimed++;
			ck_assert_int_eq(w.seen[i].state, RX_STATE_CLAIMED);
		}
	}
	ck_assert_int_eq(seen_issued, 1);
	ck_assert_int_eq(seen_claimed, 1);

	/* the claimer does not learn its token from LIST either */
	ck_assert_int_eq(list_with(&w, w.pharm, w.card, later), RX_OK);
	for (size_t i = 0; i < w.nseen; i++)
		ck_assert_mem_eq(w.seen[i].claim_token, zero_token, RX_TOKEN_LEN);

	/* the other patient's, by their card, at another clinic */
	ck_assert_int_eq(list_with(&w, w.doc_far, w.card2, later), RX_OK);
	ck_assert_uint_eq(w.nseen, 1);
	ck_assert_str_eq(w.seen[0].id, elsewhere);

	ck_assert_int_eq(list_with(&w, w.stranger, w.card, T0), RX_UNKNOWN_KEY);
	ck_assert_int_eq(list_with(&w, w.revoked, w.card, T0), RX_KEY_REVOKED);
	/* no card: no list */
	ck_assert_int_eq(list_with(&w, w.pharm, NULL, T0), RX_PERMISSION_DENIED);
	(void)why;
	(void)list;
	(void)n;
	world_close(&w);
}
END_TEST

/* ---- the patient's card and the slip's access code ---- */

START_TEST(cards_and_assertions)
{
	world_t w;
	call_t k, k2;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	/* A card nobody enrolled, and the patient's lost card. */
	store_change_t *c = mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 10);
	uint8_t stray[RX_KEY_LEN];
	new_key(stray);
	k.assertion.card = stray;
	ck_assert_int_eq(apply(&w, c, &out), RX_CARD_UNKNOWN);
	k.assertion.card = w.lost;
	ck_assert_int_eq(apply(&w, c, &out), RX_CARD_REVOKED);
	/* Another patient's card; the right card for the wrong purpose. */
	k.assertion.card = w.card2;
	ck_assert_int_eq(apply(&w, c, &out), RX_ASSERTION_MISMATCH);
	k.assertion.card = w.card;
	k.assertion.purpose = STORE_PURPOSE_ISSUE;
	ck_assert_int_eq(apply(&w, c, &out), RX_ASSERTION_MISMATCH);
	/* A refused request used up nothing: the same assertion still works. */
	k.assertion.purpose = STORE_PURPOSE_DISPENSE;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	/* The same assertion (its signed time and nonce) under a new request id
	 * is a replay. */
	store_change_t *c2 = mk(&k2, RX_OP_LIST, w.pharm, NULL, T0 + 11);
	c2->patient_id = "";
	memcpy(k2.nonce, k.nonce, sizeof k.nonce);
	k2.assertion.at = k.assertion.at;
	ck_assert_int_eq(apply(&w, c2, &out), RX_ASSERTION_REPLAYED);
	/* Nonces older than any assertion rxd accepts are forgotten, and an
	 * assertion older than them is refused as stale... */
	ck_assert_int_eq(list_with(&w, w.pharm, w.card, T0 + 11 + 601), RX_OK);
	c2 = mk(&k2, RX_OP_LIST, w.pharm, NULL, T0 + 11 + 602);
	c2->patient_id = "";
	memcpy(k2.nonce, k.nonce, sizeof k.nonce);
	k2.assertion.at = k.assertion.at;
	ck_assert_int_eq(apply(&w, c2, &out), RX_ASSERTION_STALE);
	/* ...even when the clock is stepped back so far that the broker's own
	 * clock check (within 300 s) lets the old assertion through: the nonces
	 * were pruned by the time already seen, not by the clock now. */
	c2 = mk(&k2, RX_OP_LIST, w.pharm, NULL, T0 + 20);
	c2->patient_id = "";
	memcpy(k2.nonce, k.nonce, sizeof k.nonce);
	k2.assertion.at = k.assertion.at;
	ck_assert_int_eq(apply(&w, c2, &out), RX_ASSERTION_STALE);

	/* The card registry. */
	char nobody[RX_PATIENT_ID_LEN + 1];
	patient_id("999999999996", nobody);
	ck_assert_int_eq(store_card_enroll(w.s, stray, nobody, T0), RX_NOT_FOUND);
	ck_assert_int_eq(store_card_enroll(w.s, w.lost, w.patient, T0), RX_CONFLICT);
	ck_assert_int_eq(store_card_revoke(w.s, stray, T0), RX_NOT_FOUND);
	store_card_t *cards;
	size_t n;
	ck_assert_int_eq(store_card_list(w.s, &cards, &n), RX_OK);
	ck_assert_uint_eq(n, 3);
	int revoked = 0;
	for (size_t i = 0; i < n; i++)
		revoked += cards[i].revoked;
	ck_assert_int_eq(revoked, 1);
	free(cards);
	ck_assert_uint_eq(stats_of(&w, T0).cards, 3);
	world_close(&w);
}
END_TEST

/* A CLAIM (or STATUS, LIST) by access code instead of a card. */
static store_change_t *by_code(call_t *k, int op, const uint8_t *pharm, const char *id,
			       const char *code, int64_t now)
{
	store_change_t *c = mk(k, op, pharm, id, now);
	c->card = NULL;
	c->access_code = code;
	c->patient_id = "";
	return c;
}

START_TEST(access_codes)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	const char *right = "ABCD-EFGH-JK5", *wrong = "ABCD-EFGH-JK6";
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	/* The right code lets a pharmacy look and list without the card. */
	ck_assert_int_eq(apply(&w, by_code(&k, RX_OP_STATUS, w.pharm2, id, right, T0 + 1), &out), RX_OK);
	ck_assert_int_eq(apply(&w, by_code(&k, RX_OP_LIST, w.pharm2, id, right, T0 + 2), &out), RX_OK);
	ck_assert_uint_eq(w.nseen, 1);
	ck_assert_str_eq(w.seen[0].id, id);
	/* No proof at all: refused. */
	store_change_t *c = by_code(&k, RX_OP_CLAIM, w.pharm2, id, right, T0 + 3);
	c->access_code = NULL;
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED);

	/* Four wrong codes are refused and counted; the fifth locks. */
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(apply(&w, by_code(&k, RX_OP_CLAIM, w.pharm2, id, wrong, T0 + 10 + i), &out),
				 RX_BAD_ACCESS_CODE);
	ck_assert_ptr_nonnull(strstr(out.why, "locked"));
	/* Locked, even for the right code, and the lock survives a restart. */
	store_close(&w.s);
	store_open_in(&w);
	ck_assert_int_eq(apply(&w, by_code(&k, RX_OP_CLAIM, w.pharm2, id, right, T0 + 20), &out),
			 RX_ACCESS_LOCKED);
	/* The card still works: the lock is on the code only. */
	c = mk(&k, RX_OP_LIST, w.pharm, NULL, T0 + 21);
	c->patient_id = "";
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	ck_assert_uint_eq(w.nseen, 1);
	/* The operator unlocks; the right code claims. */
	ck_assert_int_eq(store_rx_unlock(w.s, id, T0 + 30), RX_OK);
	ck_assert_int_eq(apply(&w, by_code(&k, RX_OP_CLAIM, w.pharm2, id, right, T0 + 31), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	ck_assert_int_eq(store_rx_unlock(w.s, "0000-0000-0000", T0), RX_NOT_FOUND);
	world_close(&w);
}
END_TEST

/* ---- institutions: the connection and the key must agree ---- */

START_TEST(institutions)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	store_institution_t in, got;
	char id[RX_ID_LEN + 1];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	/* A prescriber key used through a pharmacy's (or another clinic's)
	 * connection is refused, as is a request with no authenticated peer. */
	store_change_t *c = mk(&k, RX_OP_CANCEL, w.doc, id, T0);
	c->peer = "P-0001";
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED);
	c->peer = INST_OTHER;
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED);
	c->peer = NULL;
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED);
	store_rx_t rx;
	const char *why;
	ck_assert_int_eq(store_status(w.s, w.pharm, "P-0002", id, T0, &rx, NULL, NULL, &why),
			 RX_PERMISSION_DENIED);

	/* Revoking the institution stops its keys at their next request. */
	ck_assert_int_eq(store_institution_revoke(w.s, "P-0001", T0), RX_OK);
	ck_assert_int_eq(store_status(w.s, w.pharm, "P-0001", id, T0, &rx, NULL, NULL, &why),
			 RX_KEY_REVOKED);
	ck_assert_int_eq(store_institution_revoke(w.s, "P-0001", T0 + 9), RX_OK);
	ck_assert_int_eq(store_institution_revoke(w.s, "NOPE", T0), RX_NOT_FOUND);

	/* Codes and curve keys are each taken once; lookup by curve key. */
	memset(&in, 0, sizeof in);
	snprintf(in.code, sizeof in.code, "P-0003");
	in.kind = STORE_PHARMACY;
	snprintf(in.name, sizeof in.name, "Kaede Pharmacy");
	randombytes_buf(in.curve_key, sizeof in.curve_key);
	ck_assert_int_eq(store_institution_add(w.s, &in), RX_OK);
	ck_assert_int_eq(store_institution_add(w.s, &in), RX_CONFLICT);
	snprintf(in.code, sizeof in.code, "P-0004");
	ck_assert_int_eq(store_institution_add(w.s, &in), RX_CONFLICT);
	ck_assert_int_eq(store_institution_by_curve(w.s, in.curve_key, &got), RX_OK);
	ck_assert_str_eq(got.code, "P-0003");
	ck_assert_str_eq(got.name, "Kaede Pharmacy");
	in.curve_key[0] ^= 1;
	ck_assert_int_eq(store_institution_by_curve(w.s, in.curve_key, &got), RX_NOT_FOUND);
	store_institution_t *list;
	size_t n;
	ck_assert_int_eq(store_institution_list(w.s, &list, &n), RX_OK);
	ck_assert_uint_eq(n, 5);
	int revoked = 0;
	for (size_t i = 0; i < n; i++)
		revoked += list[i].revoked;
	ck_assert_int_eq(revoked, 1);
	free(list);
	ck_assert_uint_eq(stats_of(&w, T0).institutions, 5);
	world_close(&w);
}
END_TEST

/* ---- keys and patients ---- */

START_TEST(keys)
{
	world_t w;
	store_key_t k, got;
	world_open(&w);

	/* adding a registered key again is a conflict and changes nothing */
	memset(&k, 0, sizeof k);
	memcpy(k.key, w.doc, RX_KEY_LEN);
	k.role = RX_ROLE_PHARMACY;
	snprintf(k.institution, sizeof k.institution, "P-0001");
	ck_assert_int_eq(store_key_add(w.s, &k), RX_CONFLICT);
	ck_assert_int_eq(store_key_get(w.s, w.doc, &got), RX_OK);
	ck_assert_int_eq(got.role, RX_ROLE_PRESCRIBER);
	ck_assert_str_eq(got.institution, INST);
	ck_assert_str_eq(got.name, "Dr. Sato");
	ck_assert_int_eq(got.revoked, 0);
	ck_assert_int_eq(got.added_at, T0 - DAY);

	ck_assert_int_eq(store_key_get(w.s, w.stranger, &got), RX_NOT_FOUND);
	ck_assert_int_eq(store_key_revoke(w.s, w.stranger, T0), RX_NOT_FOUND);
	ck_assert_int_eq(store_key_get(w.s, w.stranger, &got), RX_NOT_FOUND);

	/* revoking twice keeps the first time */
	ck_assert_int_eq(store_key_revoke(w.s, w.pharm, T0), RX_OK);
	ck_assert_int_eq(store_key_revoke(w.s, w.pharm, T0 + 100), RX_OK);
	ck_assert_int_eq(store_key_get(w.s, w.pharm, &got), RX_OK);
	ck_assert_int_eq(got.revoked, 1);
	ck_assert_int_eq(got.revoked_at, T0);
	/* and a revoked key cannot be re-added */
	memset(&k, 0, sizeof k);
	memcpy(k.key, w.pharm, RX_KEY_LEN);
	k.role = RX_ROLE_PHARMACY;
	snprintf(k.institution, sizeof k.institution, "P-0001");
	ck_assert_int_eq(store_key_add(w.s, &k), RX_CONFLICT);
	/* a key needs a registered institution of the kind its role fits */
	uint8_t fresh[RX_KEY_LEN];
	new_key(fresh);
	memcpy(k.key, fresh, RX_KEY_LEN);
	snprintf(k.institution, sizeof k.institution, "EVIL");
	ck_assert_int_eq(store_key_add(w.s, &k), RX_NOT_FOUND);
	snprintf(k.institution, sizeof k.institution, "%s", INST);
	ck_assert_int_eq(store_key_add(w.s, &k), RX_INVALID);
	k.role = RX_ROLE_PRESCRIBER;
	snprintf(k.institution, sizeof k.institution, "P-0002");
	ck_assert_int_eq(store_key_add(w.s, &k), RX_INVALID);

	store_key_t *list = NULL;
	size_t n = 0;
	ck_assert_int_eq(store_key_list(w.s, &list, &n), RX_OK);
	ck_assert_uint_eq(n, 6);
	int revoked = 0, found_doc = 0;
	for (size_t i = 0; i < n; i++) {
		revoked += list[i].revoked;
		found_doc += memcmp(list[i].key, w.doc, RX_KEY_LEN) == 0;
	}
	ck_assert_int_eq(revoked, 2);
	ck_assert_int_eq(found_doc, 1);
	free(list);
	ck_assert_uint_eq(stats_of(&w, T0).keys, 6);
	world_close(&w);
}
END_TEST

START_TEST(enroll_twice)
{
	world_t w;
	int created = -1;
	world_open(&w);
	ck_assert_int_eq(store_patient_enroll(w.s, w.patient, T0, &created), RX_OK);
	ck_assert_int_eq(created, 0);
	ck_assert_uint_eq(stats_of(&w, T0).patients, 2);
	ck_assert_int_eq(store_patient_enroll(w.s, w.unenrolled, T0, &created), RX_OK);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(store_patient_enroll(w.s, w.unenrolled, T0, &created), RX_OK);
	ck_assert_int_eq(created, 0);
	ck_assert_uint_eq(stats_of(&w, T0).patients, 3);
	world_close(&w);
}
END_TEST

/* ---- durability ---- */

START_TEST(survives_reopen)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	store_buf_t first = {0}, again = {0};
	char id[RX_ID_LEN + 1], id2[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	world_open(&w);

	store_change_t *c = mk(&k, RX_OP_CLAIM, w.pharm, NULL, T0 + 10);
	submit(&w, w.doc, w.patient, 2, T0, id);
	submit(&w, w.doc, w.patient, 1, T0, id2);
	c->id = id;
	ck_assert_int_eq(apply_reply(&w, c, &out, &first), RX_OK);
	memcpy(token, out.rx.claim_token, RX_TOKEN_LEN);
	call_t kc;
	ck_assert_int_eq(apply(&w, mk(&kc, RX_OP_CANCEL, w.doc, id2, T0 + 20), &out), RX_OK);
	store_stats_t before = stats_of(&w, T0 + 30);

	store_close(&w.s);
	store_close(&w.s); /* closing twice is harmless */
	store_open_in(&w);

	store_rx_t rx;
	const char *why;
	ck_assert_int_eq(store_status(w.s, w.pharm, "P-0001", id, T0 + 30, &rx, NULL, NULL, &why), RX_OK);
	ck_assert_int_eq(rx.state, RX_STATE_CLAIMED);
	ck_assert_mem_eq(rx.claim_token, token, RX_TOKEN_LEN);
	ck_assert_uint_eq(rx.uses_left, 2);
	ck_assert_int_eq(status_of(&w, w.doc, id2, T0 + 30).state, RX_STATE_CANCELLED);
	store_stats_t after = stats_of(&w, T0 + 30);
	ck_assert_uint_eq(after.prescriptions, before.prescriptions);
	ck_assert_uint_eq(after.keys, before.keys);
	ck_assert_uint_eq(after.patients, before.patients);
	ck_assert_mem_eq(after.by_state, before.by_state, sizeof after.by_state);

	/* the stored reply survived too */
	int calls = w.calls;
	ck_assert_int_eq(apply_reply(&w, c, &out, &again), RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_int_eq(w.calls, calls);
	ck_assert_uint_eq(again.len, first.len);
	ck_assert_mem_eq(again.data, first.data, first.len);
	store_buf_free(&first);
	store_buf_free(&again);

	/* and the state machine carries on from where it was */
	store_key_t key;
	ck_assert_int_eq(store_key_get(w.s, w.revoked, &key), RX_OK);
	ck_assert_int_eq(key.revoked, 1);
	int created = -1;
	ck_assert_int_eq(store_patient_enroll(w.s, w.patient, T0, &created), RX_OK);
	ck_assert_int_eq(created, 0);
	store_change_t *d = mk_tok(&k, RX_OP_DISPENSE, w.pharm, id, token, T0 + 40);
	d->use = 1;
	ck_assert_int_eq(apply(&w, d, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	ck_assert_uint_eq(out.rx.uses_left, 1);
	world_close(&w);

	store_open_in(&w);
	ck_assert_uint_eq(stats_of(&w, T0).dispense_records, 1);
	ck_assert_uint_eq(status_of(&w, w.pharm, id, T0 + 50).uses_left, 1);
	world_close(&w);
}
END_TEST

START_TEST(open_refuses)
{
	char dir[TU_PATH_MAX], path[256];
	store_t *s = (store_t *)&s;
	tu_subdir(dir);

	snprintf(path, sizeof path, "%s/missing", dir);
	ck_assert_int_eq(store_open(&s, path, &test_opt), RX_SYSTEM);
	ck_assert_ptr_null(s);
	/* No data key, no store: nothing is ever written in clear. */
	s = (store_t *)&s;
	ck_assert_int_eq(store_open(&s, dir, NULL), RX_INVALID);
	ck_assert_ptr_null(s);

	/* A store written by a future format is refused, not misread. */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint32_t future = 3;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 16), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
	MDB_val k = {6, (void *)"format"}, v = {sizeof future, &future};
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	s = (store_t *)&s;
	ck_assert_int_eq(store_open(&s, dir, &test_opt), RX_INVALID);
	ck_assert_ptr_null(s);
}
END_TEST

/* Key checks: recorded on first sight, matched after, a differing value
 * refused with nothing recorded (not even the new ones beside it), replaced
 * only when asked; they survive a reopen. */
START_TEST(key_checks)
{
	char dir[TU_PATH_MAX];
	store_t *s;
	store_key_check_t c[2] = {{.name = "data.key"}, {.name = "broker.key"}};
	memset(c[0].value, 1, sizeof c[0].value);
	memset(c[1].value, 2, sizeof c[1].value);
	tu_subdir(dir);
	ck_assert_int_eq(store_open(&s, dir, &test_opt), RX_OK);
	ck_assert_int_eq(store_key_checks(s, c, 1), RX_OK);
	ck_assert_int_eq(c[0].outcome, STORE_KEY_RECORDED);
	ck_assert_int_eq(store_key_checks(s, c, 1), RX_OK);
	ck_assert_int_eq(c[0].outcome, STORE_KEY_MATCHED);
	store_close(&s);

	ck_assert_int_eq(store_open(&s, dir, &test_opt), RX_OK);
	c[0].value[31] ^= 1;
	ck_assert_int_eq(store_key_checks(s, c, 2), RX_CONFLICT);
	ck_assert_int_eq(c[0].outcome, STORE_KEY_MISMATCHED);
	c[0].value[31] ^= 1;
	/* broker.key was not recorded by the refused call */
	ck_assert_int_eq(store_key_checks(s, c, 2), RX_OK);
	ck_assert_int_eq(c[0].outcome, STORE_KEY_MATCHED);
	ck_assert_int_eq(c[1].outcome, STORE_KEY_RECORDED);
	/* a deliberate replacement */
	c[1].value[0] = 9;
	c[1].replace = 1;
	ck_assert_int_eq(store_key_checks(s, c + 1, 1), RX_OK);
	ck_assert_int_eq(c[1].outcome, STORE_KEY_REPLACED);
	c[1].replace = 0;
	ck_assert_int_eq(store_key_checks(s, c + 1, 1), RX_OK);
	ck_assert_int_eq(c[1].outcome, STORE_KEY_MATCHED);
	c[1].value[0] = 2;
	ck_assert_int_eq(store_key_checks(s, c + 1, 1), RX_CONFLICT);
	store_close(&s);
}
END_TEST

/* Sealed values: the body is not on disk in clear; a value moved to another
 * key, or read with another data key, does not open. */
START_TEST(values_are_sealed)
{
	world_t w;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1];
	call_t k;
	store_outcome_t out;
	world_open(&w);
	store_change_t *c = mk_submit(&k, w.doc, w.patient, 1, T0);
	memcpy(k.body, "DISTINCTIVE-BODY-BYTES-0123456789abcdef01234567", sizeof k.body);
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	memcpy(a, out.rx.id, sizeof a);
	submit(&w, w.doc, w.patient, 1, T0, b);
	store_close(&w.s);

	/* Scan the LMDB file for the body and the patient id. */
	char path[300];
	snprintf(path, sizeof path, "%s/data.mdb", w.dir);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	static uint8_t file[1 << 20];
	size_t n = fread(file, 1, sizeof file, f);
	fclose(f);
	ck_assert_uint_gt(n, 0);
	ck_assert_ptr_null(memmem(file, n, "DISTINCTIVE-BODY", 16));
	ck_assert_ptr_null(memmem(file, n, k.sig, 16));

	/* Copy prescription a's sealed value over b's key. */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 16), 0);
	ck_assert_int_eq(mdb_env_open(env, w.dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "rx", 0, &dbi), 0);
	MDB_val ka = {RX_ID_LEN, a}, kb = {RX_ID_LEN, b}, v;
	ck_assert_int_eq(mdb_get(txn, dbi, &ka, &v), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &kb, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	store_open_in(&w);
	store_rx_t rx;
	const char *why;
	ck_assert_int_eq(store_status(w.s, w.doc, peer_of(w.doc), a, T0, &rx, NULL, NULL, &why), RX_OK);
	ck_assert_int_eq(store_status(w.s, w.doc, peer_of(w.doc), b, T0, &rx, NULL, NULL, &why), RX_UNAVAILABLE);
	/* One damaged record is not a wrong data key (no audit head signed yet). */
	int which = -1;
	uint8_t broker[RX_KEY_LEN] = {0};
	ck_assert_int_eq(store_keys_probe(w.s, broker, &which), RX_OK);
	ck_assert_int_eq(which, 0);
	store_close(&w.s);

	/* Another data key opens nothing. */
	uint8_t other[RX_DATA_KEY_LEN] = {1};
	store_options_t o = {.map_size = 16u << 20, .data_key = other};
	ck_assert_int_eq(store_open(&w.s, w.dir, &o), RX_OK);
	ck_assert_int_eq(store_status(w.s, w.doc, peer_of(w.doc), a, T0, &rx, NULL, NULL, &why), RX_UNAVAILABLE);
	/* and the probe says so before anything is served */
	ck_assert_int_eq(store_keys_probe(w.s, broker, &which), RX_CONFLICT);
	ck_assert_int_eq(which, STORE_PROBE_DATA_KEY);
	world_close(&w);
}
END_TEST

/* ---- the drug master and the duplicate-medication check ---- */

/* Real rows of the price list (deploy/data/drugs-jp.csv). */
static const rx_drug_row_t master_rows[] = {
	{"2171022F1029", "ノルバスク錠２．５ｍｇ", "Amlodipine besilate 2.5 mg tablet", "amlodipine besilate",
	 "２．５ｍｇ", "錠", "tablet"},
	{"2171022F2025", "ノルバスク錠５ｍｇ", "Amlodipine besilate 5 mg tablet", "amlodipine besilate",
	 "５ｍｇ", "錠", "tablet"},
	{"2149117F1025", "ミカムロ配合錠ＡＰ", "Telmisartan / amlodipine besilate combination tablet AP",
	 "telmisartan / amlodipine besilate", "", "錠", "tablet"},
	{"1139005F1023", "エクセグラン錠１００ｍｇ", "Zonisamide 100 mg tablet", "zonisamide", "１００ｍｇ",
	 "錠", "tablet"},
	{"1169015F2022", "トレリーフＯＤ錠２５ｍｇ", "Zonisamide 25 mg orally disintegrating tablet",
	 "zonisamide", "２５ｍｇ", "錠", "tablet"},
	{"2456001F1019", "プレドニゾロン錠", "Prednisolone 5 mg tablet", "prednisolone", "５ｍｇ", "錠",
	 "tablet"},
	{"2456002B1062", "プレドニゾロン散「タケダ」１％", "Prednisolone 1% powder", "prednisolone", "１％",
	 "ｇ", "powder"},
	{"2189017F1022", "クレストール錠２．５ｍｇ", "Rosuvastatin calcium 2.5 mg tablet",
	 "rosuvastatin calcium", "２．５ｍｇ", "錠", "tablet"},
	{"2325003F1024", "ガスター錠１０ｍｇ", "Famotidine 10 mg tablet", "famotidine", "１０ｍｇ", "錠",
	 "tablet"},
};
#define NROWS (sizeof master_rows / sizeof master_rows[0])
/* Well formed (right check digit) but not in master_rows. */
#define AMLODIPINE_UNLISTED "2171022F1282"
#define BROTIZOLAM_UNLISTED "1124009F1223"

static void load_master(world_t *w, int64_t now)
{
	uint8_t load_id[16];
	uint64_t count = 0;
	size_t bad = 0;
	randombytes_buf(load_id, sizeof load_id);
	ck_assert_int_eq(store_drugs_load(w->s, load_id, master_rows, NROWS, 1, NROWS, now, &count, &bad),
			 RX_OK);
	ck_assert_uint_eq(count, NROWS);
}

typedef struct {
	const char *code;
	uint32_t days;
} drug_t;

/* A request whose body is a real rx.Prescription or rx.DispenseRecord (the
 * store reads them back; it does not verify signatures, the broker does). */
typedef struct {
	call_t k;
	uint8_t body[4096];
	store_item_t items[RX_MAX_ITEMS];
} rx_call_t;

static size_t pack_items(const drug_t *d, size_t n, Rx__Item *its, Rx__Item **ptrs)
{
	for (size_t i = 0; i < n; i++) {
		rx__item__init(&its[i]);
		its[i].drug_code = (char *)d[i].code;
		its[i].name = (char *)"test drug";
		its[i].dose = (char *)"1 tablet";
		its[i].unit = (char *)"tablet";
		its[i].usage = (char *)"once daily";
		its[i].days = d[i].days;
		its[i].quantity = d[i].days;
		ptrs[i] = &its[i];
	}
	return n;
}

/* SUBMIT by doc of these drugs for patient, with an override reason or NULL. */
static store_change_t *mk_drugs(rx_call_t *x, const char *patient, const drug_t *d, size_t n,
				const char *override, int64_t now)
{
	Rx__Item its[RX_MAX_ITEMS], *ptrs[RX_MAX_ITEMS];
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	char notes[32];
	store_change_t *c = mk_submit(&x->k, cur->doc, patient, 1, now);
	p.version = 1;
	p.n_items = pack_items(d, n, its, ptrs);
	p.items = ptrs;
	p.issued_at = now;
	snprintf(notes, sizeof notes, "%u", (unsigned)randombytes_random()); /* a new body each time */
	p.notes = notes;
	p.override_reason = (char *)(override ? override : "");
	ck_assert_uint_le(rx__prescription__get_packed_size(&p), sizeof x->body);
	c->body = x->body;
	c->body_len = rx__prescription__pack(&p, x->body);
	for (size_t i = 0; i < n; i++)
		x->items[i] = (store_item_t){d[i].code, d[i].days};
	c->items = x->items;
	c->n_items = n;
	c->override_reason = override;
	return c;
}

/* Prescribe (overriding whatever is found) and return the id. */
static void prescribe(world_t *w, const drug_t *d, size_t n, int64_t now, char id[RX_ID_LEN + 1])
{
	rx_call_t x;
	store_outcome_t out;
	ck_assert_int_eq(apply(w, mk_drugs(&x, w->patient, d, n, "test: known duplicate", now), &out), RX_OK);
	memcpy(id, out.rx.id, RX_ID_LEN + 1);
}

/* Claim and dispense id as prescribed (d) at now. */
static void hand_over(world_t *w, const char *id, const drug_t *d, size_t n, int64_t now)
{
	rx_call_t x;
	store_outcome_t out;
	uint8_t token[RX_TOKEN_LEN];
	Rx__Item its[RX_MAX_ITEMS], *ptrs[RX_MAX_ITEMS];
	Rx__DispenseRecord rec = RX__DISPENSE_RECORD__INIT;
	claim(w, w->pharm, id, now, token);
	store_change_t *c = mk_tok(&x.k, RX_OP_DISPENSE, w->pharm, id, token, now);
	rec.version = 1;
	rec.prescription_id = (char *)id;
	rec.n_items = pack_items(d, n, its, ptrs);
	rec.items = ptrs;
	c->body = x.body;
	c->body_len = rx__dispense_record__pack(&rec, x.body);
	ck_assert_int_eq(apply(w, c, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_DISPENSED);
}

static const store_warning_t *finding(const store_outcome_t *o, int kind, uint32_t item,
				      const char *other_id)
{
	for (size_t i = 0; i < o->nwarnings; i++)
		if (o->warnings[i].kind == kind && o->warnings[i].item == item &&
		    (other_id == NULL || strcmp(o->warnings[i].other_id, other_id) == 0))
			return &o->warnings[i];
	return NULL;
}

static size_t count_kind(const store_outcome_t *o, int kind)
{
	size_t n = 0;
	for (size_t i = 0; i < o->nwarnings; i++)
		n += o->warnings[i].kind == kind;
	return n;
}

/* Submit d for the patient at now without an override: refused
 * DUPLICATE_MEDICATION with a finding for item against prescription other,
 * naming ingredient, overlapping by overlap days; the finding. */
static const store_warning_t *refused_duplicate(world_t *w, const drug_t *d, size_t n, int64_t now,
						 uint32_t item, const char *other, const char *ingredient,
						 uint32_t overlap, store_outcome_t *out)
{
	rx_call_t x;
	ck_assert_int_eq(apply(w, mk_drugs(&x, w->patient, d, n, NULL, now), out), RX_DUPLICATE_MEDICATION);
	const store_warning_t *f = finding(out, STORE_WARN_DUPLICATE, item, other);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->ingredient, ingredient);
	ck_assert_uint_eq(f->overlap_days, overlap);
	ck_assert_ptr_nonnull(strstr(f->message, other));
	return f;
}

/* The newest audit entry. */
static store_audit_t last_entry(world_t *w)
{
	store_audit_t *e = NULL, copy;
	size_t n = 0;
	ck_assert_int_eq(store_audit_tail(w->s, 1, &e, &n), RX_OK);
	ck_assert_uint_eq(n, 1);
	copy = e[0];
	free(e);
	return copy;
}

START_TEST(drug_master_loads_in_parts)
{
	world_t w;
	uint8_t a[16], b[16];
	uint64_t count = 0, size = 0;
	int64_t at = 0;
	size_t bad = 0, n = 0;
	store_drug_t *found = NULL;
	world_open(&w);
	randombytes_buf(a, sizeof a);
	randombytes_buf(b, sizeof b);
	ck_assert_int_eq(store_drugs_info(w.s, &size, &at), RX_OK);
	ck_assert_uint_eq(size, 0);
	ck_assert_int_eq(at, 0);

	/* Two parts; nothing changes before the last one commits. */
	ck_assert_int_eq(store_drugs_load(w.s, a, master_rows, 4, 0, 0, T0, &count, &bad), RX_OK);
	ck_assert_int_eq(store_drugs_info(w.s, &size, &at), RX_OK);
	ck_assert_uint_eq(size, 0);
	/* The last part announces another total: refused, nothing replaced. */
	ck_assert_int_eq(store_drugs_load(w.s, a, master_rows + 4, NROWS - 4, 1, NROWS + 1, T0, &count, &bad),
			 RX_INVALID);
	ck_assert_int_eq(store_drugs_load(w.s, a, master_rows + 4, NROWS - 4, 1, NROWS, T0, &count, &bad),
			 RX_OK);
	ck_assert_uint_eq(count, NROWS);
	ck_assert_int_eq(store_drugs_info(w.s, &size, &at), RX_OK);
	ck_assert_uint_eq(size, NROWS);
	ck_assert_int_eq(at, T0);
	store_audit_t e = last_entry(&w);
	ck_assert_str_eq(e.action, "DRUGS_LOAD");
	ck_assert_int_eq(e.has_actor, 0);
	ck_assert_str_eq(e.detail, "9 drugs");

	/* A code, and a prefix. */
	ck_assert_int_eq(store_drugs_find(w.s, "2149117F1025", 10, &found, &n), RX_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(found[0].ingredient, "telmisartan / amlodipine besilate");
	ck_assert_str_eq(found[0].name_ja, "ミカムロ配合錠ＡＰ");
	free(found);
	ck_assert_int_eq(store_drugs_find(w.s, "2171022", 10, &found, &n), RX_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(found[0].code, "2171022F1029");
	ck_assert_str_eq(found[1].code, "2171022F2025");
	free(found);
	ck_assert_int_eq(store_drugs_find(w.s, AMLODIPINE_UNLISTED, 10, &found, &n), RX_OK);
	ck_assert_uint_eq(n, 0);
	free(found);

	/* A code twice in one load, even across parts: CONFLICT naming the row. */
	rx_drug_row_t twice[3] = {master_rows[0], master_rows[1], master_rows[0]};
	ck_assert_int_eq(store_drugs_load(w.s, b, twice, 3, 1, 3, T0, &count, &bad), RX_CONFLICT);
	ck_assert_uint_eq(bad, 2);
	ck_assert_int_eq(store_drugs_load(w.s, b, master_rows, 2, 0, 0, T0, &count, &bad), RX_OK);
	ck_assert_int_eq(store_drugs_load(w.s, b, master_rows + 1, 1, 1, 3, T0, &count, &bad), RX_CONFLICT);
	ck_assert_uint_eq(bad, 0);

	/* Another load starting drops an interrupted one's parts: its commit
	 * does not add up, and the master is untouched. */
	ck_assert_int_eq(store_drugs_load(w.s, a, master_rows, 3, 0, 0, T0, &count, &bad), RX_OK);
	ck_assert_int_eq(store_drugs_load(w.s, b, master_rows + 3, 2, 0, 0, T0, &count, &bad), RX_OK);
	ck_assert_int_eq(store_drugs_load(w.s, a, master_rows + 5, 1, 1, 6, T0, &count, &bad), RX_INVALID);
	ck_assert_int_eq(store_drugs_info(w.s, &size, &at), RX_OK);
	ck_assert_uint_eq(size, NROWS);

	/* A smaller list replaces the whole master. */
	randombytes_buf(a, sizeof a);
	ck_assert_int_eq(store_drugs_load(w.s, a, master_rows, 2, 1, 2, T0 + 60, &count, &bad), RX_OK);
	ck_assert_int_eq(store_drugs_info(w.s, &size, &at), RX_OK);
	ck_assert_uint_eq(size, 2);
	ck_assert_int_eq(at, T0 + 60);
	ck_assert_int_eq(store_drugs_find(w.s, "2149117", 10, &found, &n), RX_OK);
	ck_assert_uint_eq(n, 0);
	free(found);
	world_close(&w);
}
END_TEST

START_TEST(duplicate_refused_then_overridden)
{
	world_t w;
	rx_call_t x;
	store_outcome_t out;
	char first[RX_ID_LEN + 1], id[RX_ID_LEN + 1];
	static const drug_t amlo25[] = {{"2171022F1029", 28}}, amlo5[] = {{"2189017F1022", 14}, {"2171022F2025", 14}};
	world_open(&w);

	/* Without a master the check is off: the same drug twice is accepted. */
	prescribe(&w, amlo25, 1, T0, first);
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient, amlo25, 1, NULL, T0), &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 0);
	ck_assert_int_eq(apply(&w, mk(&x.k, RX_OP_CANCEL, w.doc, out.rx.id, T0), &out), RX_OK);

	load_master(&w, T0);
	uint64_t before = stats_of(&w, T0).prescriptions;
	/* Amlodipine 5 mg while amlodipine 2.5 mg is open: the same 7-character prefix. */
	/* 14 days overlap: the shorter of 14 and 28. */
	const store_warning_t *f = refused_duplicate(&w, amlo5, 2, T0 + 60, 1, first, "amlodipine", 14, &out);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, before); /* nothing was filed */
	ck_assert_uint_eq(out.nwarnings, 1);
	ck_assert_str_eq(f->drug_code, "2171022F2025");
	ck_assert_str_eq(f->other_code, "2171022F1029");
	ck_assert_ptr_nonnull(strstr(f->message, "amlodipine"));
	store_audit_t e = last_entry(&w);
	ck_assert_str_eq(e.action, "SUBMIT");
	ck_assert_int_eq(e.outcome, RX_DUPLICATE_MEDICATION);
	ck_assert_str_eq(e.patient, w.patient);

	/* Another patient's medicines are not this patient's. */
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient2, amlo5, 2, NULL, T0 + 60), &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 0);

	/* Resubmitted with a reason: accepted, the findings kept, the override audited. */
	static const char reason[] = "switching from 2.5 mg: the old prescription will not be filled";
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient, amlo5, 2, reason, T0 + 120), &out), RX_OK);
	memcpy(id, out.rx.id, sizeof id);
	ck_assert_uint_eq(out.nwarnings, 1);
	ck_assert_ptr_nonnull(finding(&out, STORE_WARN_DUPLICATE, 1, first));
	e = last_entry(&w);
	ck_assert_str_eq(e.action, "SUBMIT");
	ck_assert_int_eq(e.outcome, RX_OK);
	ck_assert_str_eq(e.id, id);
	ck_assert_ptr_nonnull(strstr(e.detail, "overridden"));
	/* The reason itself stays in the sealed, signed body, out of the clear-text log. */
	ck_assert_ptr_null(strstr(e.detail, "switching"));
	store_buf_t body = {0};
	store_rx_t rx;
	ck_assert_int_eq(store_rx_get(w.s, id, T0 + 120, &rx, &body, NULL), RX_OK);
	Rx__Prescription *p = rx__prescription__unpack(NULL, body.len, body.data);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->override_reason, reason);
	rx__prescription__free_unpacked(p, NULL);
	store_buf_free(&body);
	world_close(&w);
}
END_TEST

START_TEST(one_ingredient_under_two_classes)
{
	world_t w;
	store_outcome_t out;
	char zoni[RX_ID_LEN + 1], pred[RX_ID_LEN + 1];
	/* Zonisamide as an antiepileptic (1139005) and as an anti-Parkinson drug
	 * (1169015); prednisolone tablets (2456001) and powder (2456002). */
	static const drug_t epilepsy[] = {{"1139005F1023", 30}}, parkinson[] = {{"1169015F2022", 14}},
			    tablets[] = {{"2456001F1019", 7}}, powder[] = {{"2456002B1062", 10}};
	world_open(&w);
	load_master(&w, T0);
	prescribe(&w, epilepsy, 1, T0, zoni);
	prescribe(&w, tablets, 1, T0, pred);
	const store_warning_t *f =
		refused_duplicate(&w, parkinson, 1, T0 + 60, 0, zoni, "zonisamide", 14, &out);
	ck_assert_str_eq(f->other_code, "1139005F1023");
	ck_assert_uint_eq(out.nwarnings, 1);
	refused_duplicate(&w, powder, 1, T0 + 60, 0, pred, "prednisolone", 7, &out);
	world_close(&w);
}
END_TEST

START_TEST(combination_tablet_contains_what_is_taken)
{
	world_t w;
	store_outcome_t out;
	char amlo[RX_ID_LEN + 1];
	static const drug_t alone[] = {{"2171022F2025", 28}}, combo[] = {{"2149117F1025", 30}};
	world_open(&w);
	load_master(&w, T0);
	/* Amlodipine dispensed for 28 days; 10 days later the telmisartan/amlodipine
	 * combination would add amlodipine again while it has 18 days and an hour
	 * to run. */
	prescribe(&w, alone, 1, T0, amlo);
	hand_over(&w, amlo, alone, 1, T0 + 3600);
	/* 19 days: a started day counts. */
	const store_warning_t *f =
		refused_duplicate(&w, combo, 1, T0 + 10 * DAY, 0, amlo, "amlodipine", 19, &out);
	ck_assert_str_eq(f->drug_code, "2149117F1025");
	ck_assert_str_eq(f->other_code, "2171022F2025");
	/* And the other way round: amlodipine while the combination runs. */
	char combo_id[RX_ID_LEN + 1];
	prescribe(&w, combo, 1, T0 + 10 * DAY, combo_id);
	refused_duplicate(&w, alone, 1, T0 + 10 * DAY + 60, 0, combo_id, "amlodipine", 28, &out);
	world_close(&w);
}
END_TEST

START_TEST(days_of_supply_run_out)
{
	world_t w;
	rx_call_t x;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	static const drug_t two_weeks[] = {{"2325003F1024", 14}};
	world_open(&w);
	load_master(&w, T0);
	prescribe(&w, two_weeks, 1, T0, id);
	hand_over(&w, id, two_weeks, 1, T0 + 600);
	/* The last second of the supply still overlaps, by one day... */
	const int64_t end = T0 + 600 + 14 * DAY;
	refused_duplicate(&w, two_weeks, 1, end - 1, 0, id, "famotidine", 1, &out);
	/* ...the first second after it does not. */
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient, two_weeks, 1, NULL, end), &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 0);
	world_close(&w);
}
END_TEST

START_TEST(closed_prescriptions_ignored)
{
	world_t w;
	rx_call_t x;
	store_outcome_t out;
	char cancelled[RX_ID_LEN + 1], expired[RX_ID_LEN + 1], pending[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	static const drug_t famo[] = {{"2325003F1024", 28}};
	world_open(&w);
	load_master(&w, T0);
	/* Issued 5 days ago with the default validity of 4 days: expired, never
	 * dispensed.  (First: a card's time never goes back past the nonces kept.) */
	prescribe(&w, famo, 1, T0 - 5 * DAY, expired);
	prescribe(&w, famo, 1, T0, cancelled);
	ck_assert_int_eq(apply(&w, mk(&x.k, RX_OP_CANCEL, w.doc, cancelled, T0 + 1), &out), RX_OK);
	/* Claimed, then cancelled by the prescriber: the cancel is pending. */
	prescribe(&w, famo, 1, T0, pending);
	claim(&w, w.pharm, pending, T0 + 2, token);
	ck_assert_int_eq(apply(&w, mk(&x.k, RX_OP_CANCEL, w.doc, pending, T0 + 3), &out), RX_OK);
	ck_assert_int_eq(out.rx.cancel_pending, 1);
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient, famo, 1, NULL, T0 + 60), &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 0);
	world_close(&w);
}
END_TEST

START_TEST(unknown_drug_warns)
{
	world_t w;
	rx_call_t x;
	store_outcome_t out;
	char amlo[RX_ID_LEN + 1];
	static const drug_t unlisted[] = {{BROTIZOLAM_UNLISTED, 14}},
			    known[] = {{"2171022F2025", 28}},
			    same_prefix[] = {{"2189017F1022", 14}, {AMLODIPINE_UNLISTED, 14}};
	world_open(&w);
	load_master(&w, T0);
	/* A code the master does not know: accepted, with a warning. */
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient, unlisted, 1, NULL, T0), &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 1);
	const store_warning_t *f = finding(&out, STORE_WARN_UNKNOWN_DRUG, 0, "");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->drug_code, BROTIZOLAM_UNLISTED);
	ck_assert_ptr_nonnull(strstr(f->message, "not in the drug master"));
	store_audit_t e = last_entry(&w);
	ck_assert_int_eq(e.outcome, RX_OK);
	ck_assert_str_eq(e.detail, "");
	/* Unknown, but its code prefix is amlodipine's: still a duplicate, and
	 * the ingredient is named from the master's row of the other. */
	prescribe(&w, known, 1, T0, amlo);
	refused_duplicate(&w, same_prefix, 2, T0 + 60, 1, amlo, "amlodipine", 14, &out);
	ck_assert_uint_eq(count_kind(&out, STORE_WARN_UNKNOWN_DRUG), 1);
	ck_assert_ptr_nonnull(finding(&out, STORE_WARN_UNKNOWN_DRUG, 1, ""));
	ck_assert_uint_eq(count_kind(&out, STORE_WARN_DUPLICATE), 1);
	world_close(&w);
}
END_TEST

START_TEST(claim_carries_warnings)
{
	world_t w;
	rx_call_t x;
	store_outcome_t out;
	store_buf_t first = {0}, again = {0};
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1];
	static const drug_t amlo[] = {{"2171022F2025", 28}}, combo[] = {{"2149117F1025", 28}};
	world_open(&w);
	load_master(&w, T0);
	prescribe(&w, amlo, 1, T0, a);
	prescribe(&w, combo, 1, T0 + 60, b); /* overridden at the clinic */
	/* The pharmacist claiming b is told about a, and the claim goes through. */
	store_change_t *c = mk(&x.k, RX_OP_CLAIM, w.pharm, b, T0 + 120);
	ck_assert_int_eq(apply_reply(&w, c, &out, &first), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	const store_warning_t *f = finding(&out, STORE_WARN_DUPLICATE, 0, a);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->ingredient, "amlodipine");
	ck_assert_uint_eq(f->overlap_days, 28);
	store_audit_t e = last_entry(&w);
	ck_assert_str_eq(e.action, "CLAIM");
	ck_assert_int_eq(e.outcome, RX_OK);
	ck_assert_ptr_nonnull(strstr(e.detail, "duplicate-medication warnings"));
	/* A retry gets the stored reply, warnings and all. */
	ck_assert_int_eq(apply_reply(&w, c, &out, &again), RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_uint_eq(again.len, first.len);
	ck_assert_mem_eq(again.data, first.data, first.len);
	store_buf_free(&first);
	store_buf_free(&again);
	/* Claiming a: b is open too. */
	uint8_t token[RX_TOKEN_LEN];
	claim(&w, w.pharm2, a, T0 + 180, token);
	ck_assert_int_eq(apply(&w, mk(&x.k, RX_OP_CLAIM, w.pharm2, a, T0 + 181), &out), RX_OK);
	ck_assert_ptr_nonnull(finding(&out, STORE_WARN_DUPLICATE, 0, b));
	world_close(&w);
}
END_TEST

/* ---- counts by state and the expiry index ---- */

/* stats' counts against a walk of every prescription (store_rx_list reads
 * each record and asks its effective state), the way stats used to count. */
static void counts_match_walk(world_t *w, int64_t now)
{
	store_stats_t st = stats_of(w, now);
	uint64_t total = 0;
	for (int state = RX_STATE_ISSUED; state <= RX_STATE_EXPIRED; state++) {
		store_rx_t *list = NULL;
		size_t n = 0;
		ck_assert_int_eq(store_rx_list(w->s, state, now, 1000, &list, &n), RX_OK);
		ck_assert_msg(st.by_state[state] == n, "%s: stats say %llu, a walk finds %zu",
			      rx_state_name(state), (unsigned long long)st.by_state[state], n);
		total += n;
		free(list);
	}
	ck_assert_uint_eq(st.prescriptions, total);
}

static void expect_counts(world_t *w, int64_t now, uint64_t issued, uint64_t claimed,
			  uint64_t dispensed, uint64_t cancelled, uint64_t expired)
{
	store_stats_t st = stats_of(w, now);
	ck_assert_uint_eq(st.by_state[RX_STATE_ISSUED], issued);
	ck_assert_uint_eq(st.by_state[RX_STATE_CLAIMED], claimed);
	ck_assert_uint_eq(st.by_state[RX_STATE_DISPENSED], dispensed);
	ck_assert_uint_eq(st.by_state[RX_STATE_CANCELLED], cancelled);
	ck_assert_uint_eq(st.by_state[RX_STATE_EXPIRED], expired);
	counts_match_walk(w, now);
}

/* Every change moves its prescription's count in its own transaction:
 * submit, claim, release, dispense (last use and refill), cancel (and a
 * cancel pending completed by a release), the operator's release, the
 * sweep; and the counts survive a reopen. */
START_TEST(counts_follow_every_change)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1], c[RX_ID_LEN + 1], d[RX_ID_LEN + 1],
		e[RX_ID_LEN + 1], f[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN], tf[RX_TOKEN_LEN];
	uint64_t n = 0;
	world_open(&w);
	expect_counts(&w, T0, 0, 0, 0, 0, 0);
	submit(&w, w.doc, w.patient, 1, T0, a);
	submit(&w, w.doc, w.patient, 1, T0, b);
	submit(&w, w.doc, w.patient, 1, T0, c);
	submit(&w, w.doc, w.patient, 1, T0, d);
	submit(&w, w.doc, w.patient, 1, T0, e);
	submit(&w, w.doc, w.patient, 2, T0, f);
	expect_counts(&w, T0, 6, 0, 0, 0, 0);

	claim(&w, w.pharm, a, T0 + 10, token);
	expect_counts(&w, T0 + 10, 5, 1, 0, 0, 0);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, a, token, T0 + 20), &out), RX_OK);
	expect_counts(&w, T0 + 20, 5, 0, 1, 0, 0);
	/* a refill's first use: CLAIMED -> ISSUED */
	claim(&w, w.pharm, f, T0 + 21, tf);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, f, tf, T0 + 22), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	expect_counts(&w, T0 + 22, 5, 0, 1, 0, 0);

	claim(&w, w.pharm, b, T0 + 30, token);
	expect_counts(&w, T0 + 30, 4, 1, 1, 0, 0);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm, b, token, T0 + 40), &out), RX_OK);
	expect_counts(&w, T0 + 40, 5, 0, 1, 0, 0);

	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, c, T0 + 50), &out), RX_OK);
	expect_counts(&w, T0 + 50, 4, 0, 1, 1, 0);
	/* a refused change moves nothing */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, c, T0 + 51), &out), RX_CANCELLED);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, a, T0 + 52), &out), RX_ALREADY_DISPENSED);
	expect_counts(&w, T0 + 52, 4, 0, 1, 1, 0);

	/* cancel while claimed: pending (still CLAIMED), then the operator's
	 * release completes the cancel */
	claim(&w, w.pharm, d, T0 + 60, token);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, d, T0 + 61), &out), RX_OK);
	expect_counts(&w, T0 + 61, 3, 1, 1, 1, 0);
	ck_assert_int_eq(store_rx_release(w.s, d, T0 + 62, "pharmacy closed"), RX_OK);
	expect_counts(&w, T0 + 62, 3, 0, 1, 2, 0);

	/* the operator's release of a plain claim */
	claim(&w, w.pharm, e, T0 + 70, token);
	expect_counts(&w, T0 + 70, 2, 1, 1, 2, 0);
	ck_assert_int_eq(store_rx_release(w.s, e, T0 + 71, "pharmacy closed"), RX_OK);
	expect_counts(&w, T0 + 71, 3, 0, 1, 2, 0);

	/* past valid_until: EXPIRED before the sweep (as every read says), and
	 * after it, which writes them EXPIRED */
	claim(&w, w.pharm, e, T0 + 80, token);
	const int64_t until = rx_valid_until(T0, RX_DEFAULT_VALID_DAYS);
	expect_counts(&w, until - 1, 2, 1, 1, 2, 0);
	expect_counts(&w, until, 0, 0, 1, 2, 3);
	ck_assert_int_eq(store_expire(w.s, until, &n), RX_OK);
	ck_assert_uint_eq(n, 3);
	expect_counts(&w, until, 0, 0, 1, 2, 3);
	/* asked about an earlier time afterwards, the stored state stands */
	expect_counts(&w, until - 1, 0, 0, 1, 2, 3);

	store_close(&w.s);
	store_open_in(&w);
	expect_counts(&w, until, 0, 0, 1, 2, 3);
	world_close(&w);
}
END_TEST

/* In a group commit, a change refused after it wrote (here: its reply could
 * not be built) takes its count with its nested transaction; the others'
 * counts commit with the batch. */
START_TEST(counts_in_a_batch)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, a);

	ck_assert_int_eq(store_batch_begin(w.s), RX_OK);
	submit(&w, w.doc, w.patient, 1, T0 + 1, b);
	w.fail_reply = 1;
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, a, T0 + 2), &out), RX_SYSTEM);
	ck_assert_int_eq(apply(&w, mk_submit(&k, w.doc, w.patient, 1, T0 + 3), &out), RX_SYSTEM);
	w.fail_reply = 0;
	claim(&w, w.pharm, b, T0 + 4, token);
	ck_assert_int_eq(store_batch_end(w.s), RX_OK);
	expect_counts(&w, T0 + 4, 1, 1, 0, 0, 0);
	ck_assert_int_eq(status_of(&w, w.doc, a, T0 + 4).state, RX_STATE_ISSUED);

	store_close(&w.s);
	store_open_in(&w);
	expect_counts(&w, T0 + 4, 1, 1, 0, 0, 0);
	world_close(&w);
}
END_TEST

static int has_action(world_t *w, const char *id, const char *action)
{
	store_audit_t *log = NULL;
	size_t n = 0;
	int found = 0;
	ck_assert_int_eq(store_audit_rx(w->s, id, &log, &n), RX_OK);
	for (size_t i = 0; i < n; i++)
		found += strcmp(log[i].action, action) == 0;
	free(log);
	return found;
}

/* The sweep reaches what is due through the index, in time order, and only
 * that; it passes a dispensed or cancelled one's entry without writing, and
 * audits each expiry. */
START_TEST(sweep_uses_the_index)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1], c[RX_ID_LEN + 1], d[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	uint64_t n = 99;
	world_open(&w);
	/* In time order: a card's assertion is never older than what the store
	 * has already seen (cards_and_assertions). */
	submit(&w, w.doc, w.patient, 1, T0, a);           /* expires first */
	submit(&w, w.doc, w.patient, 1, T0, b);           /* dispensed before */
	claim(&w, w.pharm, b, T0 + 10, token);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, b, token, T0 + 20), &out), RX_OK);
	submit(&w, w.doc, w.patient, 1, T0 + DAY, c);     /* a day later */
	submit(&w, w.doc, w.patient, 1, T0 + 2 * DAY, d); /* cancelled */
	const int64_t u0 = rx_valid_until(T0, RX_DEFAULT_VALID_DAYS),
		      u1 = rx_valid_until(T0 + DAY, RX_DEFAULT_VALID_DAYS),
		      u2 = rx_valid_until(T0 + 2 * DAY, RX_DEFAULT_VALID_DAYS);
	ck_assert_int_lt(u0, u1);
	ck_assert_int_lt(u1, u2);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, d, T0 + 2 * DAY + 30), &out), RX_OK);

	ck_assert_int_eq(store_expire(w.s, u0 - 1, &n), RX_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_expire(w.s, u0, &n), RX_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(status_of(&w, w.doc, a, u0 - 1).state, RX_STATE_EXPIRED); /* stored now */
	ck_assert_int_eq(status_of(&w, w.doc, b, u0).state, RX_STATE_DISPENSED);
	ck_assert_int_eq(has_action(&w, a, "EXPIRE"), 1);
	ck_assert_int_eq(has_action(&w, b, "EXPIRE"), 0);
	ck_assert_int_eq(store_expire(w.s, u0, &n), RX_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(status_of(&w, w.doc, c, u1 - 1).state, RX_STATE_ISSUED);

	ck_assert_int_eq(store_expire(w.s, u2 + DAY, &n), RX_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(has_action(&w, c, "EXPIRE"), 1);
	ck_assert_int_eq(has_action(&w, a, "EXPIRE"), 1);
	ck_assert_int_eq(status_of(&w, w.doc, d, u2 + DAY).state, RX_STATE_CANCELLED);
	ck_assert_int_eq(has_action(&w, d, "EXPIRE"), 0);
	expect_counts(&w, u2 + DAY, 0, 0, 1, 1, 2);
	world_close(&w);
}
END_TEST

/* A store written before the counts and the expiry index (format 1) gets
 * both at open: the counts are right and the sweep finds what is due. */
START_TEST(format_1_store_upgrades)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1], c[RX_ID_LEN + 1], d[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN], td[RX_TOKEN_LEN];
	uint64_t n = 0;
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, a);
	submit(&w, w.doc, w.patient, 1, T0, b);
	submit(&w, w.doc, w.patient, 1, T0, c);
	submit(&w, w.doc, w.patient, 1, T0, d);
	claim(&w, w.pharm, b, T0 + 10, token);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, c, T0 + 20), &out), RX_OK);
	claim(&w, w.pharm, d, T0 + 30, td);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_DISPENSE, w.pharm, d, td, T0 + 40), &out), RX_OK);
	store_close(&w.s);

	/* Make it format 1: no counts record, no expiry index. */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, idx;
	uint32_t one = 1;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 32), 0);
	ck_assert_int_eq(mdb_env_open(env, w.dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "rx_expiry", 0, &idx), 0);
	ck_assert_int_eq(mdb_drop(txn, idx, 1), 0);
	MDB_val key = {9, (void *)"rx_counts"}, fk = {6, (void *)"format"}, fv = {sizeof one, &one};
	ck_assert_int_eq(mdb_del(txn, meta, &key, NULL), 0);
	ck_assert_int_eq(mdb_put(txn, meta, &fk, &fv, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	store_open_in(&w);
	expect_counts(&w, T0 + 40, 1, 1, 1, 1, 0);
	const int64_t until = rx_valid_until(T0, RX_DEFAULT_VALID_DAYS);
	ck_assert_int_eq(store_expire(w.s, until, &n), RX_OK);
	ck_assert_uint_eq(n, 2);
	expect_counts(&w, until, 0, 0, 1, 1, 2);
	ck_assert_int_eq(has_action(&w, a, "EXPIRE"), 1);
	ck_assert_int_eq(has_action(&w, b, "EXPIRE"), 1);
	store_close(&w.s);

	/* The format is 2 now: a build that knows only 1 refuses the store
	 * rather than let its counts and index go stale. */
	uint32_t f = 0;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 32), 0);
	ck_assert_int_eq(mdb_env_open(env, w.dir, MDB_RDONLY, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	ck_assert_int_eq(mdb_get(txn, meta, &fk, &fv), 0);
	ck_assert_uint_eq(fv.mv_size, sizeof f);
	memcpy(&f, fv.mv_data, sizeof f);
	ck_assert_uint_eq(f, 2);
	mdb_txn_abort(txn);
	mdb_env_close(env);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("submit");
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, submit_issues);
	tcase_add_test(tc, retry_returns_stored_reply);
	tcase_add_test(tc, replay_lookup);
	tcase_add_test(tc, replies_pruned_after_their_lifetime);
	tcase_add_test(tc, values_are_sealed);
	tcase_add_test(tc, institutions);
	tcase_add_test(tc, cards_and_assertions);
	tcase_add_test(tc, access_codes);
	tcase_add_test(tc, request_id_reuse_conflicts);
	tcase_add_test(tc, resubmitted_body_conflicts);
	tcase_add_test(tc, submit_refusals);
	tcase_add_test(tc, reply_failure_changes_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifecycle");
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, claim_and_release);
	tcase_add_test(tc, dispense_once);
	tcase_add_test(tc, dispense_use_zero_means_claimed);
	tcase_add_test(tc, refill_three_uses);
	tcase_add_test(tc, cancel_issued);
	tcase_add_test(tc, cancel_while_claimed);
	tcase_add_test(tc, expiry);
	tcase_add_test(tc, unknown_id_not_found);
	suite_add_tcase(s, tc);

	tc = tcase_create("read");
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, status_permissions);
	tcase_add_test(tc, list_open_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("registry");
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, keys);
	tcase_add_test(tc, enroll_twice);
	suite_add_tcase(s, tc);

	tc = tcase_create("durability");
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, survives_reopen);
	tcase_add_test(tc, open_refuses);
	tcase_add_test(tc, key_checks);
	suite_add_tcase(s, tc);

	tc = tcase_create("drugs");
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, drug_master_loads_in_parts);
	tcase_add_test(tc, duplicate_refused_then_overridden);
	tcase_add_test(tc, one_ingredient_under_two_classes);
	tcase_add_test(tc, combination_tablet_contains_what_is_taken);
	tcase_add_test(tc, days_of_supply_run_out);
	tcase_add_test(tc, closed_prescriptions_ignored);
	tcase_add_test(tc, unknown_drug_warns);
	tcase_add_test(tc, claim_carries_warnings);
	suite_add_tcase(s, tc);

	tc = tcase_create("counts");
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, counts_follow_every_change);
	tcase_add_test(tc, counts_in_a_batch);
	tcase_add_test(tc, sweep_uses_the_index);
	tcase_add_test(tc, format_1_store_upgrades);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (rx_crypto_init() != RX_OK)
		return EXIT_FAILURE;
	return tu_run(store_suite());
}
