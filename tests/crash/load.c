/* load: clinic and pharmacy threads (see load.h). */
#include "load.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "journal.h"
#include "rx_check.h"
#include "rxclient.h"

typedef struct {
	crash_world_t *w;
	crash_client_t *me;
	void *zctx;
	conn_t conn;
	journal_t j;
	uint64_t rng;
	unsigned long made;           /* prescriptions made, for unique notes */
	char mine[64][RX_ID_LEN + 1]; /* a clinic's recent prescriptions */
	int nmine;
} client_t;

/* The answer to one request. */
typedef struct {
	int status;           /* the reply's status; -1 undecodable or unverified; -2 no reply */
	Rx__Receipt *receipt; /* OK: decoded, the broker's signature verified */
} answer_t;

static client_t clients[CRASH_MAX_CLIENTS];

/* xorshift64*: the workload's choices, reproducible from the seed. */
static uint32_t rnd(client_t *c, uint32_t n)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return (uint32_t)((c->rng * 0x2545F4914F6CDD1DULL) >> 32) % n;
}

static int stopping(crash_world_t *w)
{
	return __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) || __atomic_load_n(&w->abort, __ATOMIC_ACQUIRE);
}

static void fail_journal(crash_world_t *w)
{
	pthread_mutex_lock(&w->mu);
	w->journal_errors++;
	/* A run whose journals are incomplete cannot be checked. */
	__atomic_store_n(&w->abort, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&w->progress);
	pthread_mutex_unlock(&w->mu);
}

/* conn_other_fn: a late reply to an earlier request of this client. */
static void late(void *arg, const uint8_t *reply, size_t len)
{
	client_t *c = arg;
	Rx__Reply *r = rx__reply__unpack(NULL, len, reply);
	if (r && r->request_id.len == RX_REQUEST_ID_LEN &&
	    journal_late(&c->j, r->request_id.data, reply, len) != 0)
		fail_journal(c->w);
	if (r)
		rx__reply__free_unpacked(r, NULL);
}

/* Decode a reply; on OK also its receipt, whose signature must verify and
 * which must answer this request. */
static void decode(client_t *c, int op, const uint8_t *rid, const uint8_t *buf, size_t len, answer_t *a)
{
	Rx__Reply *r = rx__reply__unpack(NULL, len, buf);
	a->status = -1;
	a->receipt = NULL;
	if (r == NULL || !rx_err_is_wire((int)r->status))
		goto out;
	if (r->status != RX__STATUS__OK) {
		a->status = (int)r->status;
		goto out;
	}
	Rx__Receipt *rc = r->receipt.len ? rx__receipt__unpack(NULL, r->receipt.len, r->receipt.data) : NULL;
	if (rc && rc->broker_key.len == RX_KEY_LEN && r->receipt_signature.len == RX_SIG_LEN &&
	    rx_verify(RX_SIGN_RECEIPT, rc->broker_key.data, r->receipt.data, r->receipt.len,
		      r->receipt_signature.data) == RX_OK &&
	    rc->request_id.len == RX_REQUEST_ID_LEN &&
	    memcmp(rc->request_id.data, rid, RX_REQUEST_ID_LEN) == 0 && (int)rc->op == op) {
		a->status = RX_OK;
		a->receipt = rc;
	} else if (rc) {
		rx__receipt__free_unpacked(rc, NULL);
	}
out:
	if (r)
		rx__reply__free_unpacked(r, NULL);
	if (a->status == -1) {
		pthread_mutex_lock(&c->w->mu);
		c->w->bad_replies++;
		pthread_mutex_unlock(&c->w->mu);
	}
}

static void answer_free(answer_t *a)
{
	if (a->receipt)
		rx__receipt__free_unpacked(a->receipt, NULL);
	a->receipt = NULL;
}

/* One request: a fresh request id, the frame built once (doc: the SUBMIT's
 * prescription or the DISPENSE's record, signed with the call in it, or
 * NULL), journaled, sent (and resent, the same bytes) until answered, the
 * reply journaled. */
static void request(client_t *c, Rx__Call *call, const ProtobufCMessage *doc, const char *rxid,
		    answer_t *a)
{
	crash_world_t *w = c->w;
	uint8_t rid[RX_REQUEST_ID_LEN], *frame = NULL, *reply = NULL;
	size_t flen = 0, rlen = 0;
	int sends = 0;

	a->status = -2;
	a->receipt = NULL;
	rxc_request_id(rid);
	call->request_id.data = rid;
	call->request_id.len = sizeof rid;
	if (conn_frame(&c->me->key, call, doc, &frame, &flen) != 0) {
		fail_journal(w);
		return;
	}
	int op = (int)call->op;
	int epoch0 = __atomic_load_n(&w->epoch, __ATOMIC_ACQUIRE);
	if (journal_sent(&c->j, op, rid, rxid, epoch0) != 0) {
		fail_journal(w);
		free(frame);
		return;
	}
	if (conn_exchange(&c->conn, frame, flen, rid, &reply, &rlen, &sends, late, c) != 0) {
		if (journal_lost(&c->j, op, rid, rxid, sends) != 0)
			fail_journal(w);
		free(frame);
		return;
	}
	int epoch1 = __atomic_load_n(&w->epoch, __ATOMIC_ACQUIRE);
	decode(c, op, rid, reply, rlen, a);
	const char *id = rxid;
	if (op == RX_OP_SUBMIT && a->status == RX_OK)
		id = a->receipt->prescription_id;
	if (journal_reply(&c->j, op, rid, id, sends, epoch0, epoch1, a->status,
			  a->status == RX_OK ? frame : NULL, flen, reply, rlen) != 0)
		fail_journal(w);
	free(frame);
	free(reply);
	pthread_mutex_lock(&w->mu);
	w->acks++;
	pthread_cond_broadcast(&w->progress);
	pthread_mutex_unlock(&w->mu);
}

/* One real item: amlodipine 5 mg (NHI code 2171022F2025). */
static void norvasc(Rx__Item *it)
{
	rx__item__init(it);
	it->drug_code = (char *)"2171022F2025";
	it->name = (char *)"Norvasc 5 mg tablet";
	it->dose = (char *)"1 tablet";
	it->unit = (char *)"tablet";
	it->usage = (char *)"once daily after breakfast";
	/* A week's supply: a refill's next use opens at once (it opens 7 days
	 * before the supply runs out, proto/README 5.11), so tests on the real
	 * clock can dispense every use. */
	it->days = 7;
	it->quantity = 7;
}

/* ---- the pool of prescriptions the pharmacies work on ---- */

static void pool_add(crash_world_t *w, const char *id, int patient, int clinic)
{
	pthread_mutex_lock(&w->mu);
	crash_rx_t *e = &w->pool[w->pooled % CRASH_POOL];
	snprintf(e->id, sizeof e->id, "%s", id);
	e->patient = patient;
	e->clinic = clinic;
	e->closed = 0;
	w->pooled++;
	pthread_cond_broadcast(&w->progress);
	pthread_mutex_unlock(&w->mu);
}

static void pool_close(crash_world_t *w, const char *id)
{
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < CRASH_POOL; i++)
		if (strcmp(w->pool[i].id, id) == 0)
			w->pool[i].closed = 1;
	pthread_mutex_unlock(&w->mu);
}

/* A random open prescription among the newest few (so that pharmacies race
 * for the same ones); waits, with a deadline it renews, until there is one
 * or the run stops.  1 if *out was set. */
static int pool_pick(client_t *c, crash_rx_t *out)
{
	crash_world_t *w = c->w;
	int got = 0;
	pthread_mutex_lock(&w->mu);
	while (!got && !w->stop && !w->abort) {
		int cand[12], n = 0;
		for (long k = w->pooled - 1; k >= 0 && k >= w->pooled - 12; k--)
			if (!w->pool[k % CRASH_POOL].closed)
				cand[n++] = (int)(k % CRASH_POOL);
		if (n > 0) {
			*out = w->pool[cand[rnd(c, (uint32_t)n)]];
			got = 1;
			break;
		}
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until); /* progress waits on the monotonic clock */
		until.tv_nsec += 200 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->progress, &w->mu, &until);
	}
	pthread_mutex_unlock(&w->mu);
	return got;
}

/* ---- a clinic ---- */

static void submit(client_t *c)
{
	crash_world_t *w = c->w;
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	Rx__Item it, *items[1] = {&it};
	Rx__Signed card;
	Rx__Call call = RX__CALL__INIT;
	answer_t a;
	char notes[96];
	int patient = (int)rnd(c, (uint32_t)w->npatients);
	int64_t now = (int64_t)time(NULL);

	norvasc(&it);
	/* Unique notes make every body unique (the broker refuses a body twice;
	 * its call_hash, over a fresh request id, would too). */
	snprintf(notes, sizeof notes, "crash %s %lu %08x", c->me->name, ++c->made, randombytes_random());
	p.version = RX_DOC_VERSION;
	p.patient_id = (char *)"";
	p.prescriber_key.data = c->me->key.pk;
	p.prescriber_key.len = RX_KEY_LEN;
	p.issued_at = now;
	p.valid_until = rx_valid_until(now, 4);
	p.uses = 1 + rnd(c, 3);
	p.n_items = 1;
	p.items = items;
	p.notes = notes;
	if (rxc_card_assertion(&w->card[patient], RX__PURPOSE__PURPOSE_ISSUE, c->me->institution, now,
			       &card) != RX_OK)
		return;
	call.op = RX__OP__SUBMIT;
	call.card = &card;
	request(c, &call, &p.base, NULL, &a);
	if (a.status == RX_OK) {
		const char *id = a.receipt->prescription_id;
		pool_add(w, id, patient, c->me->index);
		snprintf(c->mine[c->nmine % 64], RX_ID_LEN + 1, "%s", id);
		c->nmine++;
	}
	answer_free(&a);
	rxc_signed_free(&card);
}

static void cancel(client_t *c)
{
	Rx__Call call = RX__CALL__INIT;
	answer_t a;
	char id[RX_ID_LEN + 1];
	int have = c->nmine < 64 ? c->nmine : 64;
	snprintf(id, sizeof id, "%s", c->mine[rnd(c, (uint32_t)have)]);
	call.op = RX__OP__CANCEL;
	call.prescription_id = id;
	request(c, &call, NULL, id, &a);
	if (a.status == RX_OK && a.receipt->state == RX__STATE__CANCELLED_STATE)
		pool_close(c->w, id);
	answer_free(&a);
}

static void clinic(client_t *c)
{
	while (!stopping(c->w)) {
		if (c->nmine == 0 || rnd(c, 10) < 8)
			submit(c);
		else
			cancel(c);
	}
}

/* ---- a pharmacy ---- */

static void release(client_t *c, const char *id, const uint8_t *token, answer_t *a)
{
	Rx__Call call = RX__CALL__INIT;
	call.op = RX__OP__RELEASE;
	call.prescription_id = (char *)id;
	call.claim_token.data = (uint8_t *)token;
	call.claim_token.len = RX_TOKEN_LEN;
	request(c, &call, NULL, id, a);
}

/* A dispense record of use for one of the three ops that carry one, signed
 * bound to its call (its request id too), once: every resend, across
 * restarts, carries the same frame.  DISPENSE: under token, the lines.
 * AMEND: the same lines, a new note, replacing the record whose body hash
 * is replaces.  WITHDRAW: no lines, reason NOT_COLLECTED, replacing it
 * too. */
static void record(client_t *c, int op, const char *id, const uint8_t *token, uint32_t use,
		   const uint8_t *replaces, answer_t *a)
{
	Rx__DispenseRecord d = RX__DISPENSE_RECORD__INIT;
	Rx__Item it;
	Rx__Line line = RX__LINE__INIT, *lines[1] = {&line};
	Rx__Call call = RX__CALL__INIT;

	norvasc(&it);
	line.item = 1;
	line.outcome = RX__OUTCOME__AS_WRITTEN;
	line.handed = &it;
	d.version = RX_DOC_VERSION;
	d.prescription_id = (char *)id;
	d.use = use;
	d.pharmacy_key.data = c->me->key.pk;
	d.pharmacy_key.len = RX_KEY_LEN;
	d.n_lines = op == RX_OP_WITHDRAW ? 0 : 1;
	d.lines = lines;
	d.notes = (char *)(op == RX_OP_AMEND	  ? "corrected: the patient's own pill box"
			   : op == RX_OP_WITHDRAW ? "not collected"
						  : "");
	if (op != RX_OP_DISPENSE) {
		d.replaces.data = (uint8_t *)replaces;
		d.replaces.len = RX_HASH_LEN;
	}
	if (op == RX_OP_WITHDRAW)
		d.withdraw_reason = RX__WITHDRAW_REASON__NOT_COLLECTED;
	call.op = (Rx__Op)op;
	call.prescription_id = (char *)id;
	if (op == RX_OP_DISPENSE) {
		call.claim_token.data = (uint8_t *)token;
		call.claim_token.len = RX_TOKEN_LEN;
	}
	request(c, &call, &d.base, id, a);
}

static void dispense(client_t *c, const char *id, const uint8_t *token, uint32_t use, answer_t *a)
{
	record(c, RX_OP_DISPENSE, id, token, use, NULL, a);
}

/* After a record of id was acknowledged (b: its OK receipt, a DISPENSE's or
 * an AMEND's, which this frees), as a pharmacist who finds a mistake might:
 * one time in five correct it (AMEND, replacing it by the receipt's body
 * hash), one in five take it back (WITHDRAW, NOT_COLLECTED) and dispense
 * the use again under the claim token the withdrawal's receipt gives; else,
 * a quarter of the time, send a second dispense of the same use (a new
 * request, which must be refused).  A few steps at most: a use keeps at
 * most 16 records.
 *
 * Any use just dispensed may be withdrawn, so another pharmacy may hold the
 * claim of the next use, or the prescriber have cancelled, in between: rxd
 * refuses the WITHDRAW then (ALREADY_CLAIMED, CANCELLED; README.md,
 * "Found", on the rxd that did not); --last-use-only withdraws only a
 * prescription's last use. */
static void follow_up(client_t *c, const char *id, uint8_t token[RX_TOKEN_LEN], answer_t *b)
{
	crash_world_t *w = c->w;
	uint8_t latest[RX_HASH_LEN];
	answer_t x;

	for (int step = 0; step < 4; step++) {
		uint32_t use = b->receipt->use;
		int last_use = b->receipt->state == RX__STATE__DISPENSED;
		if (last_use)
			pool_close(w, id);
		if (b->receipt->body_hash.len != RX_HASH_LEN)
			break;
		memcpy(latest, b->receipt->body_hash.data, RX_HASH_LEN);
		answer_free(b);
		uint32_t pick = stopping(w) ? 8 : rnd(c, 20); /* 8: nothing more */
		if (pick < 4) {
			record(c, RX_OP_AMEND, id, NULL, use, latest, b);
			if (b->status != RX_OK)
				break;
			continue;
		}
		if (pick >= 8 || (!last_use && w->last_use_only)) {
			/* The same use again, as a confused pharmacy system would. */
			if (pick >= 15) {
				dispense(c, id, token, use, &x);
				answer_free(&x);
			}
			return;
		}
		record(c, RX_OP_WITHDRAW, id, NULL, use, latest, &x);
		if (x.status != RX_OK || x.receipt->claim_token.len != RX_TOKEN_LEN) {
			answer_free(&x);
			return;
		}
		/* The use is back, claimed by us under a new token. */
		memcpy(token, x.receipt->claim_token.data, RX_TOKEN_LEN);
		use = x.receipt->use;
		answer_free(&x);
		dispense(c, id, token, use, b);
		if (b->status == RX_CANCELLED) {
			answer_free(b);
			release(c, id, token, &x);
			answer_free(&x);
			pool_close(w, id);
			return;
		}
		if (b->status != RX_OK)
			break;
	}
	if (b->status == RX_OK && b->receipt->state == RX__STATE__DISPENSED)
		pool_close(w, id);
	answer_free(b);
}

static void pharmacy_round(client_t *c)
{
	crash_world_t *w = c->w;
	crash_rx_t e;
	Rx__Signed card;
	Rx__Call call = RX__CALL__INIT;
	answer_t a, b;
	uint8_t token[RX_TOKEN_LEN];

	if (!pool_pick(c, &e))
		return;
	if (rxc_card_assertion(&w->card[e.patient], RX__PURPOSE__PURPOSE_DISPENSE, c->me->institution,
			       (int64_t)time(NULL), &card) != RX_OK)
		return;
	call.op = RX__OP__CLAIM;
	call.prescription_id = e.id;
	call.card = &card;
	request(c, &call, NULL, e.id, &a);
	rxc_signed_free(&card);

	if (a.status == RX_OK && a.receipt->claim_token.len == RX_TOKEN_LEN) {
		uint32_t use = a.receipt->use;
		memcpy(token, a.receipt->claim_token.data, RX_TOKEN_LEN);
		answer_free(&a);
		if (rnd(c, 10) < 2) {
			release(c, e.id, token, &b);
			answer_free(&b);
			return;
		}
		dispense(c, e.id, token, use, &b);
		if (b.status == RX_OK) {
			follow_up(c, e.id, token, &b);
		} else if (b.status == RX_CANCELLED) {
			/* Cancelled while we held it: give it back, it becomes CANCELLED. */
			answer_free(&b);
			release(c, e.id, token, &b);
			answer_free(&b);
			pool_close(w, e.id);
		} else {
			answer_free(&b);
		}
		return;
	}
	if (a.status == RX_ALREADY_DISPENSED || a.status == RX_CANCELLED) {
		pool_close(w, e.id);
	} else if (a.status == RX_ALREADY_CLAIMED && rnd(c, 4) == 0) {
		/* Another pharmacy holds it: a dispense with a token we made up. */
		randombytes_buf(token, sizeof token);
		dispense(c, e.id, token, 0, &b);
		answer_free(&b);
	}
	answer_free(&a);
}

static void *run(void *arg)
{
	client_t *c = arg;
	if (c->me->kind == CRASH_CLINIC)
		clinic(c);
	else
		while (!stopping(c->w))
			pharmacy_round(c);
	return NULL;
}

int load_start(crash_world_t *w, void *zctx, pthread_t *threads)
{
	int started = 0;
	for (int i = 0; i < w->nclients; i++) {
		client_t *c = &clients[i];
		char path[600];
		memset(c, 0, sizeof *c);
		c->w = w;
		c->me = &w->client[i];
		c->zctx = zctx;
		c->rng = w->seed * 0x9E3779B97F4A7C15ULL + (uint64_t)i * 0xD1B54A32D192ED03ULL + 1;
		snprintf(path, sizeof path, "%s/%s.log", w->journals, c->me->name);
		if (journal_open(&c->j, path) != 0)
			goto fail;
		if (conn_open(&c->conn, zctx, w->h.endpoint, &c->me->curve, w->h.server_key, w->resend_ms,
			      w->give_up_ms) != 0) {
			journal_close(&c->j);
			goto fail;
		}
		c->conn.abort = &w->abort;
		if (pthread_create(&threads[i], NULL, run, c) != 0) {
			conn_close(&c->conn);
			journal_close(&c->j);
			goto fail;
		}
		started++;
	}
	return 0;
fail:
	__atomic_store_n(&w->abort, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < started; i++) {
		pthread_join(threads[i], NULL);
		conn_close(&clients[i].conn);
		journal_close(&clients[i].j);
	}
	return -1;
}

void load_stop(crash_world_t *w, pthread_t *threads)
{
	pthread_mutex_lock(&w->mu);
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&w->progress);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nclients; i++) {
		pthread_join(threads[i], NULL);
		conn_close(&clients[i].conn);
		journal_close(&clients[i].j);
	}
}
