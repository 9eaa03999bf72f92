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
	struct {
		char id[RX_ID_LEN + 1];
		uint32_t use;
		uint8_t hash[RX_HASH_LEN];
	} last[8]; /* a pharmacy's latest records of a whole use, a ring */
	int nlast;
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
	/* An INQUIRE's or INQUIRY_REPLY's signed call is what the store keeps
	 * of it (5.14): its bytes too, whatever the reply. */
	int keep = doc != NULL || op == RX_OP_INQUIRE || op == RX_OP_INQUIRY_REPLY;
	if (conn_exchange(&c->conn, frame, flen, rid, &reply, &rlen, &sends, late, c) != 0) {
		if (journal_lost(&c->j, op, rid, rxid, sends, keep ? frame : NULL, flen) != 0)
			fail_journal(w);
		free(frame);
		return;
	}
	/* After a failover, the node whose socket the reply came by: exactly
	 * which rxd acknowledged it (the checker looks for it in every copy a
	 * later survivor started on). */
	int epoch1 = w->failover ? c->conn.node : __atomic_load_n(&w->epoch, __ATOMIC_ACQUIRE);
	decode(c, op, rid, reply, rlen, a);
	const char *id = rxid;
	if (op == RX_OP_SUBMIT && a->status == RX_OK)
		id = a->receipt->prescription_id;
	/* The bytes of every request that carries a document, whatever its
	 * reply: the checker traces each stored record to the request that
	 * sent it. */
	if (journal_reply(&c->j, op, rid, id, sends, epoch0, epoch1, a->status,
			  a->status == RX_OK || keep ? frame : NULL, flen, reply, rlen) != 0)
		fail_journal(w);
	free(frame);
	free(reply);
	pthread_mutex_lock(&w->mu);
	w->acks++;
	pthread_cond_broadcast(&w->progress);
	pthread_mutex_unlock(&w->mu);
}

/* The products a prescription names, in its order: amlodipine 5 mg (NHI
 * code 2171022F2025), once a day; one prescription in three adds a second
 * product, twice a day (1124009F1010), so that a part after the first can
 * leave one item settled and name only the other (proto/README 5.13). */
#define CRASH_ITEMS 2
static const struct {
	const char *code, *name, *dose, *usage;
	uint32_t quantity;
} product[CRASH_ITEMS] = {
	{"2171022F2025", "Norvasc 5 mg tablet", "1 tablet", "once daily after breakfast", 7},
	{"1124009F1010", "twice-daily tablet", "1 tablet", "twice daily after meals", 14},
};

/* What an inquiry proposes and the prescriber may agree to for item 1
 * (proto/README 5.14): amlodipine 2.5 mg instead of 5 mg. */
#define AGREED_CODE "2171022F1029"
/* A change no inquiry of this workload agrees to: amlodipine 10 mg.  The
 * prescribed item 1 is marked no_strength_change, so the marks refuse
 * both strengths (5.10): only an agreed change lets 2.5 mg through, and a
 * record citing an inquiry that hands over 10 mg (reason INQUIRY) must be
 * refused NOT_AGREED (5.14). */
#define UNAGREED_CODE "2171022F3021"

static void agreed_item(Rx__Item *it);

/* Item k (from 0) as prescribed. */
static void item_of(int k, Rx__Item *it)
{
	rx__item__init(it);
	it->drug_code = (char *)product[k].code;
	it->name = (char *)product[k].name;
	it->dose = (char *)product[k].dose;
	it->unit = (char *)"tablet";
	it->usage = (char *)product[k].usage;
	/* A week's supply: a refill's next use opens at once (it opens 7 days
	 * before the supply runs out, proto/README 5.11), so tests on the real
	 * clock can dispense every use. */
	it->days = 7;
	it->quantity = product[k].quantity;
}

static void agreed_item(Rx__Item *it)
{
	item_of(0, it);
	it->drug_code = (char *)AGREED_CODE;
	it->name = (char *)"Norvasc 2.5 mg tablet";
}

/* ---- the pool of prescriptions the pharmacies work on ---- */

static void pool_add(crash_world_t *w, const char *id, int patient, int clinic, int items)
{
	pthread_mutex_lock(&w->mu);
	crash_rx_t *e = &w->pool[w->pooled % CRASH_POOL];
	snprintf(e->id, sizeof e->id, "%s", id);
	e->patient = patient;
	e->items = items;
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
	Rx__Item it[CRASH_ITEMS], *items[CRASH_ITEMS] = {&it[0], &it[1]};
	Rx__Signed card;
	Rx__Call call = RX__CALL__INIT;
	answer_t a;
	char notes[96];
	int patient = (int)rnd(c, (uint32_t)w->npatients);
	int64_t now = (int64_t)time(NULL);
	int n = rnd(c, 3) == 0 ? 2 : 1;

	for (int k = 0; k < n; k++)
		item_of(k, &it[k]);
	/* 含量規格変更不可 on item 1: a change of strength needs the
	 * prescriber's agreement (5.10, 5.14). */
	it[0].no_strength_change = 1;
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
	p.n_items = (size_t)n;
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
		pool_add(w, id, patient, c->me->index, n);
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

/* INQUIRY_REPLY to inquiry number of id: answer (ACCEPT: item 1 as
 * amlodipine 2.5 mg; CANCEL: a prescribing error). */
static void reply_inquiry(client_t *c, const char *id, uint32_t number, int answer, answer_t *a)
{
	Rx__InquiryReply r = RX__INQUIRY_REPLY__INIT;
	Rx__Change ch = RX__CHANGE__INIT, *chs[1] = {&ch};
	Rx__Item to;
	Rx__Call call = RX__CALL__INIT;
	agreed_item(&to);
	ch.item = 1;
	ch.to = &to;
	r.inquiry = number;
	r.answer = (Rx__Answer)answer;
	if (answer == RX__ANSWER__ANSWER_ACCEPT) {
		r.n_agreed = 1;
		r.agreed = chs;
	} else if (answer == RX__ANSWER__ANSWER_CANCEL) {
		r.cancel_reason = RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR;
	}
	call.op = RX__OP__INQUIRY_REPLY;
	call.prescription_id = (char *)id;
	call.inquiry_reply = &r;
	request(c, &call, NULL, id, a);
}

/* Answer one inquiry a pharmacy asked this clinic, if there is one: accept
 * the proposed change six times in ten, keep the prescription as written
 * three, cancel it one.  One time in four impatiently, as send_part does:
 * given up after a few milliseconds (outcome unknown), then the same answer
 * under a new request id, which the broker refuses INVALID (none open) if
 * the first copy took effect and accepts otherwise.  The pharmacy is told
 * what the broker took.  1 if one was answered. */
static int answer_asks(client_t *c)
{
	crash_world_t *w = c->w;
	crash_ask_t q;
	int slot = -1;
	answer_t a;
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < CRASH_ASKS && slot < 0; i++)
		if (w->ask[i].state == 1 && w->ask[i].clinic == c->me->index)
			slot = i;
	if (slot >= 0)
		q = w->ask[slot];
	pthread_mutex_unlock(&w->mu);
	if (slot < 0)
		return 0;
	uint32_t pick = rnd(c, 10);
	int answer = pick < 6 ? RX__ANSWER__ANSWER_ACCEPT : pick < 9 ? RX__ANSWER__ANSWER_KEEP : RX__ANSWER__ANSWER_CANCEL;
	int took;
	if (rnd(c, 4) == 0) {
		c->conn.give_up_ms = 1 + (int)rnd(c, 2);
		reply_inquiry(c, q.id, q.number, answer, &a);
		c->conn.give_up_ms = w->give_up_ms;
		if (a.status == -2) {
			reply_inquiry(c, q.id, q.number, answer, &a);
			took = a.status == RX_OK || a.status == RX_INVALID;
		} else {
			took = a.status == RX_OK;
		}
	} else {
		reply_inquiry(c, q.id, q.number, answer, &a);
		took = a.status == RX_OK;
	}
	if (took && answer == RX__ANSWER__ANSWER_CANCEL)
		pool_close(w, q.id);
	int acked = a.status == RX_OK;
	answer_free(&a);
	pthread_mutex_lock(&w->mu);
	w->answers_acked += acked;
	if (w->ask[slot].gen == q.gen && w->ask[slot].state == 1) {
		w->ask[slot].state = 2;
		w->ask[slot].answer = took ? answer : 0;
		pthread_cond_broadcast(&w->progress);
	}
	pthread_mutex_unlock(&w->mu);
	return 1;
}

static void clinic(client_t *c)
{
	while (!stopping(c->w)) {
		if (answer_asks(c))
			continue;
		if (c->nmine == 0 || rnd(c, 10) < 8)
			submit(c);
		else
			cancel(c);
	}
}

/* ---- a pharmacy ---- */

/* A prescription as a pharmacy holds it: its id, how many items it names,
 * the patient whose card claims it, and the claim: token and use. */
typedef struct {
	char id[RX_ID_LEN + 1];
	int items;
	int patient;
	int clinic; /* the issuing clinic's client index */
	uint8_t token[RX_TOKEN_LEN];
	uint32_t use;
} held_t;

/* The lines of a dispense record: the items it accounts for, in order,
 * what was done with each, the units handed over; part 0 is the whole
 * use. */
typedef struct {
	uint32_t part;
	uint32_t inquiry; /* the inquiry whose agreed change item 1 follows (5.14); 0 none */
	int unagreed;     /* a SUBSTITUTED line hands over 10 mg, which nobody agreed to */
	int n;
	struct {
		uint32_t item;
		Rx__Outcome outcome;
		uint32_t quantity;
	} line[CRASH_ITEMS];
} sheet_t;

/* The whole use: every item as written. */
static void whole_use(const held_t *h, sheet_t *s)
{
	s->part = 0;
	s->inquiry = 0;
	s->unagreed = 0;
	s->n = h->items;
	for (int k = 0; k < h->items; k++) {
		s->line[k].item = (uint32_t)k + 1;
		s->line[k].outcome = RX__OUTCOME__AS_WRITTEN;
		s->line[k].quantity = product[k].quantity;
	}
}

static void release(client_t *c, const held_t *h, answer_t *a)
{
	Rx__Call call = RX__CALL__INIT;
	call.op = RX__OP__RELEASE;
	call.prescription_id = (char *)h->id;
	call.claim_token.data = (uint8_t *)h->token;
	call.claim_token.len = RX_TOKEN_LEN;
	request(c, &call, NULL, h->id, a);
}

/* CLAIM h's prescription with its patient's card (a fresh assertion). */
static void claim(client_t *c, const held_t *h, answer_t *a)
{
	Rx__Signed card;
	Rx__Call call = RX__CALL__INIT;
	a->status = -2;
	a->receipt = NULL;
	if (rxc_card_assertion(&c->w->card[h->patient], RX__PURPOSE__PURPOSE_DISPENSE, c->me->institution,
			       (int64_t)time(NULL), &card) != RX_OK)
		return;
	call.op = RX__OP__CLAIM;
	call.prescription_id = (char *)h->id;
	call.card = &card;
	request(c, &call, NULL, h->id, a);
	rxc_signed_free(&card);
}

/* A dispense record of h's use for one of the three ops that carry one,
 * signed bound to its call (its request id too), once: every resend,
 * across restarts, carries the same frame.  DISPENSE: under h's claim
 * token, the lines of s.  AMEND: the lines of s (a whole use's, as the
 * record it replaces), a new note, replacing the record whose body hash is
 * replaces.  WITHDRAW (s NULL): no lines, reason NOT_COLLECTED, replacing
 * it too. */
static void record(client_t *c, int op, const held_t *h, const uint8_t *replaces, const sheet_t *s,
		   answer_t *a)
{
	Rx__DispenseRecord d = RX__DISPENSE_RECORD__INIT;
	Rx__Item handed[CRASH_ITEMS];
	Rx__Line line[CRASH_ITEMS], *lines[CRASH_ITEMS];
	Rx__Call call = RX__CALL__INIT;

	for (int k = 0; s && k < s->n; k++) {
		rx__line__init(&line[k]);
		line[k].item = s->line[k].item;
		line[k].outcome = s->line[k].outcome;
		if (s->line[k].outcome == RX__OUTCOME__NOT_DISPENSED) {
			line[k].reason = RX__LINE_REASON__OUT_OF_STOCK; /* the owing closed */
		} else if (s->line[k].outcome == RX__OUTCOME__SUBSTITUTED) {
			agreed_item(&handed[k]); /* as the inquiry s->inquiry agreed */
			if (s->unagreed) {
				handed[k].drug_code = (char *)UNAGREED_CODE;
				handed[k].name = (char *)"Norvasc 10 mg tablet";
			}
			/* all that is owed of it: a whole use's 7, or the rest
			 * after parts (5.13) */
			handed[k].quantity = s->line[k].quantity;
			line[k].handed = &handed[k];
			line[k].reason = RX__LINE_REASON__INQUIRY;
		} else {
			item_of((int)s->line[k].item - 1, &handed[k]);
			handed[k].quantity = s->line[k].quantity;
			line[k].handed = &handed[k];
			if (s->line[k].outcome == RX__OUTCOME__PARTIAL)
				line[k].reason = RX__LINE_REASON__OUT_OF_STOCK;
		}
		lines[k] = &line[k];
	}
	d.version = RX_DOC_VERSION;
	d.prescription_id = (char *)h->id;
	d.use = h->use;
	d.pharmacy_key.data = c->me->key.pk;
	d.pharmacy_key.len = RX_KEY_LEN;
	d.n_lines = s ? (size_t)s->n : 0;
	d.lines = lines;
	d.part = s ? s->part : 0;
	d.inquiry = s ? s->inquiry : 0;
	d.notes = (char *)(op == RX_OP_AMEND	  ? "corrected: the patient's own pill box"
			   : op == RX_OP_WITHDRAW ? "not collected"
			   : d.part		  ? "the rest is owed, or this part settles it"
						  : "");
	if (op != RX_OP_DISPENSE) {
		d.replaces.data = (uint8_t *)replaces;
		d.replaces.len = RX_HASH_LEN;
	}
	if (op == RX_OP_WITHDRAW)
		d.withdraw_reason = RX__WITHDRAW_REASON__NOT_COLLECTED;
	call.op = (Rx__Op)op;
	call.prescription_id = (char *)h->id;
	if (op == RX_OP_DISPENSE) {
		call.claim_token.data = (uint8_t *)h->token;
		call.claim_token.len = RX_TOKEN_LEN;
	}
	request(c, &call, &d.base, h->id, a);
}

static void dispense(client_t *c, const held_t *h, answer_t *a)
{
	sheet_t s;
	whole_use(h, &s);
	record(c, RX_OP_DISPENSE, h, NULL, &s, a);
}

/* Remember the record this client was just acknowledged for a whole use of
 * h (b: the OK receipt), so that an AMEND of it can be tried while the next
 * use is handed over in parts (in_parts). */
static void remember(client_t *c, const held_t *h, const answer_t *b)
{
	int n = (int)(sizeof c->last / sizeof c->last[0]), k = 0;
	if (b->status != RX_OK || b->receipt->body_hash.len != RX_HASH_LEN)
		return;
	while (k < n && !(strcmp(c->last[k].id, h->id) == 0 && c->last[k].use == b->receipt->use))
		k++;
	if (k == n)
		k = c->nlast++ % n;
	memcpy(c->last[k].id, h->id, RX_ID_LEN + 1);
	c->last[k].use = b->receipt->use;
	memcpy(c->last[k].hash, b->receipt->body_hash.data, RX_HASH_LEN);
}

/* After a record of h was acknowledged (b: its OK receipt, a DISPENSE's or
 * an AMEND's, which this frees), as a pharmacist who finds a mistake might:
 * one time in five correct it (AMEND, replacing it by the receipt's body
 * hash), one in five take it back (WITHDRAW, NOT_COLLECTED) and dispense
 * the use again under the claim token the withdrawal's receipt gives; else,
 * a quarter of the time, send a second dispense of the same use (a new
 * request, which must be refused).  A few steps at most: a use keeps at
 * most 16 records.  When it leaves a refill's record as it is, one time in
 * three it then claims the next use at once and hands it over in parts
 * (in_parts).
 *
 * Any use just dispensed may be withdrawn, so another pharmacy may hold the
 * claim of the next use, or the prescriber have cancelled, in between: rxd
 * refuses the WITHDRAW then (ALREADY_CLAIMED, CANCELLED; README.md,
 * "Found", on the rxd that did not; PARTLY_DISPENSED while that pharmacy
 * hands the next use over in parts); --last-use-only withdraws only a
 * prescription's last use. */
static void in_parts(client_t *c, held_t *h);
static void follow_up(client_t *c, held_t *h, answer_t *b)
{
	crash_world_t *w = c->w;
	uint8_t latest[RX_HASH_LEN];
	answer_t x;
	sheet_t s;

	whole_use(h, &s);
	for (int step = 0; step < 4; step++) {
		uint32_t use = b->receipt->use;
		int last_use = b->receipt->state == RX__STATE__DISPENSED;
		if (last_use)
			pool_close(w, h->id);
		if (b->receipt->body_hash.len != RX_HASH_LEN)
			break;
		remember(c, h, b);
		memcpy(latest, b->receipt->body_hash.data, RX_HASH_LEN);
		h->use = use;
		answer_free(b);
		uint32_t pick = stopping(w) ? 8 : rnd(c, 20); /* 8: nothing more */
		if (pick < 4) {
			record(c, RX_OP_AMEND, h, latest, &s, b);
			if (b->status != RX_OK)
				break;
			continue;
		}
		if (pick >= 8 || (!last_use && w->last_use_only)) {
			/* The same use again, as a confused pharmacy system would. */
			if (pick >= 15) {
				dispense(c, h, &x);
				answer_free(&x);
			}
			if (!last_use && pick < 12 && !stopping(w)) {
				/* The refill's next use, at once, in parts. */
				claim(c, h, &x);
				int mine = x.status == RX_OK && x.receipt->claim_token.len == RX_TOKEN_LEN;
				if (mine) {
					memcpy(h->token, x.receipt->claim_token.data, RX_TOKEN_LEN);
					h->use = x.receipt->use;
				}
				answer_free(&x);
				if (mine)
					in_parts(c, h);
				else if (x.status == RX_ALREADY_DISPENSED || x.status == RX_CANCELLED)
					pool_close(w, h->id);
			}
			return;
		}
		record(c, RX_OP_WITHDRAW, h, latest, NULL, &x);
		if (x.status != RX_OK || x.receipt->claim_token.len != RX_TOKEN_LEN) {
			answer_free(&x);
			return;
		}
		/* The use is back, claimed by us under a new token. */
		memcpy(h->token, x.receipt->claim_token.data, RX_TOKEN_LEN);
		h->use = x.receipt->use;
		answer_free(&x);
		dispense(c, h, b);
		if (b->status == RX_CANCELLED) {
			answer_free(b);
			release(c, h, &x);
			answer_free(&x);
			pool_close(w, h->id);
			return;
		}
		if (b->status != RX_OK)
			break;
	}
	if (b->status == RX_OK && b->receipt->state == RX__STATE__DISPENSED)
		pool_close(w, h->id);
	remember(c, h, b);
	answer_free(b);
}

/* ---- a use handed over in parts (proto/README 5.13) ---- */

/* The next part of h's use, owed[k] units of item k + 1 still owed: part 1
 * names every item and leaves one owing or both; a later part names only
 * the items still owed and, two times in three (always from part 4 on), is
 * the last: it hands over the rest or, one time in four, closes what is
 * owed as not dispensed; else it leaves some owing again.  1 if it leaves
 * items owed. */
static int next_part(client_t *c, const held_t *h, const uint32_t owed[CRASH_ITEMS], uint32_t part,
		     sheet_t *s)
{
	int last = part > 1 && (part >= 4 || rnd(c, 3) != 0);
	int close = last && rnd(c, 4) == 0, open = 0;
	s->part = part;
	s->inquiry = 0;
	s->unagreed = 0;
	s->n = 0;
	for (int k = 0; k < h->items; k++) {
		if (owed[k] == 0)
			continue;
		int later = 0; /* an item after this one that could be left owing */
		for (int j = k + 1; j < h->items; j++)
			later |= owed[j] >= 2;
		int i = s->n++;
		s->line[i].item = (uint32_t)k + 1;
		if (!last && owed[k] >= 2 && ((!open && !later) || rnd(c, 2) == 0)) {
			s->line[i].outcome = RX__OUTCOME__PARTIAL;
			s->line[i].quantity = 1 + rnd(c, owed[k] - 1);
			open = 1;
		} else if (close) {
			s->line[i].outcome = RX__OUTCOME__NOT_DISPENSED;
			s->line[i].quantity = 0;
		} else {
			s->line[i].outcome = RX__OUTCOME__AS_WRITTEN;
			s->line[i].quantity = owed[k];
		}
	}
	return open;
}

/* What is owed after part s was recorded. */
static void settle(const sheet_t *s, uint32_t owed[CRASH_ITEMS])
{
	for (int k = 0; k < s->n; k++) {
		uint32_t i = s->line[k].item - 1;
		owed[i] = s->line[k].outcome == RX__OUTCOME__PARTIAL ? owed[i] - s->line[k].quantity : 0;
	}
}

/* Part s of h's use.  One time in four the client is impatient: it gives
 * up after a few milliseconds, the outcome unknown (journaled so), and
 * sends the same lines again under a new request id, as a pharmacy system
 * whose reply was lost would: the broker takes the part once, the second
 * being ALREADY_DISPENSED if the first took effect (the first's copies may
 * also still arrive after the second).  The answer of the last request
 * sent into a; 1 if the part is recorded (OK, or ALREADY_DISPENSED after
 * an unknown outcome: only the holder of the claim can have recorded it). */
static int send_part(client_t *c, const held_t *h, const sheet_t *s, answer_t *a)
{
	if (rnd(c, 4) == 0) {
		c->conn.give_up_ms = 1 + (int)rnd(c, 2);
		record(c, RX_OP_DISPENSE, h, NULL, s, a);
		c->conn.give_up_ms = c->w->give_up_ms;
		if (a->status != -2)
			return a->status == RX_OK;
		record(c, RX_OP_DISPENSE, h, NULL, s, a);
		return a->status == RX_OK || a->status == RX_ALREADY_DISPENSED;
	}
	record(c, RX_OP_DISPENSE, h, NULL, s, a);
	return a->status == RX_OK;
}

/* After the part that completed h's use (a: its answer, freed here): one
 * time in five an AMEND of it (PARTLY_DISPENSED: a use handed over in
 * parts is not amended), one in five a whole dispense of the use
 * (ALREADY_DISPENSED). */
static void completed(client_t *c, const held_t *h, answer_t *a)
{
	uint8_t last[RX_HASH_LEN];
	answer_t x;
	sheet_t s;
	int hashed = a->status == RX_OK && a->receipt->body_hash.len == RX_HASH_LEN;
	if (a->status == RX_OK && a->receipt->state == RX__STATE__DISPENSED)
		pool_close(c->w, h->id);
	if (hashed)
		memcpy(last, a->receipt->body_hash.data, RX_HASH_LEN);
	answer_free(a);
	uint32_t pick = rnd(c, 5);
	whole_use(h, &s);
	if (pick == 0 && hashed)
		record(c, RX_OP_AMEND, h, last, &s, &x);
	else if (pick == 1)
		record(c, RX_OP_DISPENSE, h, NULL, &s, &x);
	else
		return;
	answer_free(&x);
}

/* What is owed of h's use, all of it handed over as written, as part
 * number part: a part that completes the use. */
static void rest_of(const held_t *h, const uint32_t owed[CRASH_ITEMS], uint32_t part, sheet_t *s)
{
	s->part = part;
	s->inquiry = 0;
	s->unagreed = 0;
	s->n = 0;
	for (int k = 0; k < h->items; k++)
		if (owed[k] > 0) {
			s->line[s->n].item = (uint32_t)k + 1;
			s->line[s->n].outcome = RX__OUTCOME__AS_WRITTEN;
			s->line[s->n].quantity = owed[k];
			s->n++;
		}
}

static int between_parts(client_t *c, held_t *h, const uint32_t owed[CRASH_ITEMS], uint32_t next,
			 uint32_t *cite);

/* Hand h's claimed use over in parts, each part sent as send_part does.
 * Between parts, now and then what must be refused or changes nothing: a
 * RELEASE (PARTLY_DISPENSED: only the prescriber's cancel ends the claim of
 * a use owed, and with one pending it is accepted: CANCELLED), the part
 * just recorded sent again under a new request id (ALREADY_DISPENSED), the
 * holder's CLAIM (its own claim back), an AMEND of the record this client
 * made of the previous use, if it has it (accepted: that use was whole;
 * its lines are checked against that use, not against what is owed now). */
static void in_parts(client_t *c, held_t *h)
{
	crash_world_t *w = c->w;
	uint32_t owed[CRASH_ITEMS] = {0};
	answer_t a, x;
	sheet_t s, whole;

	for (int k = 0; k < h->items; k++)
		owed[k] = product[k].quantity;
	uint32_t cite = 0; /* an inquiry between parts agreed to item 1 as 2.5 mg */
	whole_use(h, &whole);
	for (uint32_t part = 1; part <= RX_MAX_PARTS && !stopping(w); part++) {
		int open = next_part(c, h, owed, part, &s);
		if (cite && s.n > 0 && s.line[0].item == 1) {
			/* the rest of item 1 as the agreed product, citing it */
			s.inquiry = cite;
			s.line[0].outcome = RX__OUTCOME__SUBSTITUTED;
			s.line[0].quantity = owed[0];
			open = 0;
			for (int k = 1; k < s.n; k++)
				open |= s.line[k].outcome == RX__OUTCOME__PARTIAL;
		}
		cite = 0;
		int recorded = send_part(c, h, &s, &a);
		if (a.status == RX_CANCELLED) {
			/* Cancelled while we held it: give it back, it becomes CANCELLED. */
			answer_free(&a);
			release(c, h, &x);
			answer_free(&x);
			pool_close(w, h->id);
			return;
		}
		if (!recorded) {
			answer_free(&a);
			return;
		}
		settle(&s, owed);
		if (!open) {
			completed(c, h, &a);
			return;
		}
		answer_free(&a);
		uint32_t pick = rnd(c, 12);
		if (pick < 3) {
			release(c, h, &x);
			int cancelled = x.status == RX_OK;
			answer_free(&x);
			if (cancelled) {
				pool_close(w, h->id);
				return;
			}
		} else if (pick < 5) {
			record(c, RX_OP_DISPENSE, h, NULL, &s, &x);
			answer_free(&x);
		} else if (pick < 6) {
			claim(c, h, &x);
			answer_free(&x);
		} else if (pick < 8) {
			for (int k = 0; k < (int)(sizeof c->last / sizeof c->last[0]); k++)
				if (strcmp(c->last[k].id, h->id) == 0 && c->last[k].use + 1 == h->use) {
					held_t prev = *h;
					prev.use = c->last[k].use;
					record(c, RX_OP_AMEND, &prev, c->last[k].hash, &whole, &x);
					if (x.status == RX_OK && x.receipt->body_hash.len == RX_HASH_LEN)
						memcpy(c->last[k].hash, x.receipt->body_hash.data, RX_HASH_LEN);
					answer_free(&x);
					break;
				}
		}
		/* Now and then an inquiry about item 1 while it is owed (5.14
		 * between parts): the next part follows its answer. */
		if (owed[0] > 0 && rnd(c, 6) == 0 && !stopping(w) && between_parts(c, h, owed, part + 1, &cite) != 0)
			return;
	}
}

/* ---- an inquiry to the prescriber (proto/README 5.14) ---- */

/* INQUIRE about h's item 1 (its dose), proposing amlodipine 2.5 mg; by
 * telephone (phoned) with outcome, else open. */
static void inquire(client_t *c, const held_t *h, int phoned, int outcome, answer_t *a)
{
	Rx__Inquiry q = RX__INQUIRY__INIT;
	Rx__Change ch = RX__CHANGE__INIT, *chs[1] = {&ch};
	Rx__Item to;
	Rx__Call call = RX__CALL__INIT;
	agreed_item(&to);
	ch.item = 1;
	ch.to = &to;
	q.reason = RX__INQUIRY_REASON__INQUIRY_DOSE;
	q.text = (char *)"5 mg for an 82-year-old with low blood pressure: 2.5 mg?";
	if (phoned) {
		q.by_phone = 1;
		q.phoned = (char *)"the prescriber, by telephone";
		q.phoned_at = (int64_t)time(NULL) - 60;
		q.outcome = (Rx__Answer)outcome;
		if (outcome == RX__ANSWER__ANSWER_ACCEPT) {
			q.n_agreed = 1;
			q.agreed = chs;
		}
	} else {
		q.n_proposed = 1;
		q.proposed = chs;
	}
	call.op = RX__OP__INQUIRE;
	call.prescription_id = (char *)h->id;
	call.claim_token.data = (uint8_t *)h->token;
	call.claim_token.len = RX_TOKEN_LEN;
	call.inquiry = &q;
	request(c, &call, NULL, h->id, a);
}

/* A record of h citing inquiry number, which agreed to no such change
 * (5.14): base's lines with item 1's q units handed over as a change,
 * reason INQUIRY: 10 mg if the inquiry agreed to 2.5 mg (accepted), else
 * (kept as written) the 2.5 mg it proposed.  The marks refuse both
 * strengths, so only an agreed change would let it through: the broker
 * must refuse it NOT_AGREED and record nothing.  One time in four
 * impatiently, as send_part: given up after a few milliseconds, the
 * outcome unknown, then sent again under a new request id, which must be
 * refused too; either copy may still arrive after a kill. */
static void not_agreed(client_t *c, const held_t *h, const sheet_t *base, uint32_t number, int accepted,
		       uint32_t q)
{
	sheet_t s = *base;
	answer_t a;
	if (s.n < 1 || s.line[0].item != 1 || q == 0)
		return;
	s.inquiry = number;
	s.unagreed = accepted;
	s.line[0].outcome = RX__OUTCOME__SUBSTITUTED;
	s.line[0].quantity = q;
	if (rnd(c, 4) == 0) {
		c->conn.give_up_ms = 1 + (int)rnd(c, 2);
		record(c, RX_OP_DISPENSE, h, NULL, &s, &a);
		c->conn.give_up_ms = c->w->give_up_ms;
		if (a.status == -2)
			record(c, RX_OP_DISPENSE, h, NULL, &s, &a);
	} else {
		record(c, RX_OP_DISPENSE, h, NULL, &s, &a);
	}
	pthread_mutex_lock(&c->w->mu);
	c->w->not_agreed_told += a.status == RX_NOT_AGREED;
	pthread_mutex_unlock(&c->w->mu);
	answer_free(&a);
}

/* INQUIREs settled by telephone (never open), one after another until the
 * broker refuses one INVALID: a prescription keeps at most 16 inquiries
 * (5.14), whatever kills fall in between, and a copy of one resent across
 * a restart is the same inquiry, not another.  One time in eight
 * impatiently: given up after a few milliseconds and sent again under a
 * new request id (two inquiries if both took effect: the store must keep
 * what the audit log accepted).  At most 20 sent: the 17th must be
 * refused. */
static void to_the_limit(client_t *c, const held_t *h)
{
	answer_t a;
	for (int k = 0; k < 20 && !stopping(c->w); k++) {
		int outcome = rnd(c, 2) ? RX__ANSWER__ANSWER_KEEP : RX__ANSWER__ANSWER_ACCEPT;
		if (rnd(c, 8) == 0) {
			c->conn.give_up_ms = 1 + (int)rnd(c, 2);
			inquire(c, h, 1, outcome, &a);
			c->conn.give_up_ms = c->w->give_up_ms;
			if (a.status == -2)
				inquire(c, h, 1, outcome, &a);
		} else {
			inquire(c, h, 1, outcome, &a);
		}
		int st = a.status;
		answer_free(&a);
		if (st != RX_OK && st != -2)
			break; /* INVALID: 16 kept; CANCELLED: the prescriber's cancel pending */
	}
}

/* Post inquiry number of h to its clinic's thread and wait for the answer
 * the broker took (Rx__Answer; 0 none: the inquiry was closed otherwise);
 * -1 if the run stops first or nobody answers within 60 s. */
static int await_answer(client_t *c, const held_t *h, uint32_t number)
{
	crash_world_t *w = c->w;
	int slot = -1, answer = -1;
	int64_t until_ms = crash_ms() + 60000;
	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < CRASH_ASKS && slot < 0; i++)
		if (w->ask[i].state == 0)
			slot = i;
	if (slot < 0) {
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	crash_ask_t *q = &w->ask[slot];
	q->gen = ++w->asks;
	q->state = 1;
	q->clinic = h->clinic;
	memcpy(q->id, h->id, RX_ID_LEN + 1);
	q->number = number;
	q->answer = 0;
	pthread_cond_broadcast(&w->progress);
	while (q->state != 2 && !w->stop && !w->abort && crash_ms() < until_ms) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_nsec += 100 * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->progress, &w->mu, &t);
	}
	if (q->state == 2)
		answer = q->answer;
	q->state = 0;
	pthread_mutex_unlock(&w->mu);
	return answer;
}

/* Claimed h: before dispensing, ask the prescriber about item 1.  One time
 * in four the inquiry was settled by telephone (accepted or kept: never
 * pending); else it is open: a DISPENSE now must be refused
 * INQUIRY_PENDING, and so must, now and then, a second open INQUIRE; the
 * clinic's thread answers (answer_asks).  Then the use is dispensed: item 1
 * as the agreed amlodipine 2.5 mg (SUBSTITUTED, reason INQUIRY, citing the
 * inquiry) if the answer accepted the change, else as written; after a
 * cancelling answer the DISPENSE is CANCELLED and the claim released. */
static void with_inquiry(client_t *c, held_t *h)
{
	crash_world_t *w = c->w;
	answer_t a, x;
	sheet_t s;
	int phoned = rnd(c, 4) == 0;
	int answer = rnd(c, 3) ? RX__ANSWER__ANSWER_ACCEPT : RX__ANSWER__ANSWER_KEEP;

	whole_use(h, &s);
	inquire(c, h, phoned, answer, &a);
	uint32_t number = 0;
	if (a.status == RX_INVALID) {
		/* 16 kept (to_the_limit, or earlier uses): dispense as written */
		answer_free(&a);
		phoned = 1;
		answer = RX__ANSWER__ANSWER_KEEP;
	} else if (a.status != RX_OK) {
		int cancelled = a.status == RX_CANCELLED;
		answer_free(&a);
		if (cancelled) {
			release(c, h, &x);
			answer_free(&x);
			pool_close(w, h->id);
		}
		return;
	} else {
		number = a.receipt->inquiry;
		answer_free(&a);
	}
	if (!phoned) {
		dispense(c, h, &x); /* INQUIRY_PENDING */
		answer_free(&x);
		if (rnd(c, 3) == 0) {
			inquire(c, h, 0, 0, &x); /* INQUIRY_PENDING: one open at a time */
			answer_free(&x);
		}
		answer = await_answer(c, h, number);
		if (answer < 0)
			return;
	}
	/* One time in three, first a record citing it with a change it did
	 * not agree to (NOT_AGREED). */
	if (number && (answer == RX__ANSWER__ANSWER_ACCEPT || answer == RX__ANSWER__ANSWER_KEEP) && rnd(c, 3) == 0)
		not_agreed(c, h, &s, number, answer == RX__ANSWER__ANSWER_ACCEPT, product[0].quantity);
	if (answer == RX__ANSWER__ANSWER_ACCEPT) {
		s.inquiry = number;
		s.line[0].outcome = RX__OUTCOME__SUBSTITUTED;
	}
	record(c, RX_OP_DISPENSE, h, NULL, &s, &a);
	if (a.status == RX_OK) {
		follow_up(c, h, &a);
	} else if (a.status == RX_CANCELLED) {
		answer_free(&a);
		release(c, h, &x);
		answer_free(&x);
		pool_close(w, h->id);
	} else {
		answer_free(&a);
	}
}

/* Between parts of h's use (5.13), item 1 still owed (owed[0]): an
 * inquiry about it, by telephone one time in four (accepted or kept),
 * else open: the next part (number next) is refused INQUIRY_PENDING until
 * the clinic's thread answers.  After an ACCEPT the next part hands the
 * rest of item 1 over as the agreed 2.5 mg, citing it (*cite); after an
 * ACCEPT or KEEP, one time in three, first that part citing it with a
 * change it did not agree to (not_agreed: NOT_AGREED).  After a
 * cancelling answer the next part is CANCELLED and in_parts releases.  0
 * to go on with the next part, -1 when this handing over ends here
 * (cancelled and released, or no answer). */
static int between_parts(client_t *c, held_t *h, const uint32_t owed[CRASH_ITEMS], uint32_t next,
			 uint32_t *cite)
{
	answer_t a, x;
	sheet_t rest;
	int phoned = rnd(c, 4) == 0;
	int answer = rnd(c, 3) ? RX__ANSWER__ANSWER_ACCEPT : RX__ANSWER__ANSWER_KEEP;
	rest_of(h, owed, next, &rest);
	inquire(c, h, phoned, answer, &a);
	if (a.status != RX_OK) {
		int cancelled = a.status == RX_CANCELLED;
		answer_free(&a);
		if (!cancelled)
			return 0; /* INVALID: 16 kept; or no reply */
		release(c, h, &x);
		answer_free(&x);
		pool_close(c->w, h->id);
		return -1;
	}
	uint32_t number = a.receipt->inquiry;
	answer_free(&a);
	if (!phoned) {
		record(c, RX_OP_DISPENSE, h, NULL, &rest, &x); /* INQUIRY_PENDING */
		answer_free(&x);
		answer = await_answer(c, h, number);
		if (answer < 0)
			return -1;
	}
	if ((answer == RX__ANSWER__ANSWER_ACCEPT || answer == RX__ANSWER__ANSWER_KEEP) && rnd(c, 3) == 0)
		not_agreed(c, h, &rest, number, answer == RX__ANSWER__ANSWER_ACCEPT, owed[0]);
	if (answer == RX__ANSWER__ANSWER_ACCEPT)
		*cite = number;
	return 0;
}

static void pharmacy_round(client_t *c)
{
	crash_world_t *w = c->w;
	crash_rx_t e;
	answer_t a, b;
	held_t h;

	if (!pool_pick(c, &e))
		return;
	memset(&h, 0, sizeof h);
	memcpy(h.id, e.id, RX_ID_LEN + 1);
	h.items = e.items;
	h.clinic = e.clinic;
	h.patient = e.patient;
	claim(c, &h, &a);

	if (a.status == RX_OK && a.receipt->claim_token.len == RX_TOKEN_LEN) {
		h.use = a.receipt->use;
		memcpy(h.token, a.receipt->claim_token.data, RX_TOKEN_LEN);
		answer_free(&a);
		uint32_t pick = rnd(c, 10);
		if (pick < 2) {
			release(c, &h, &b);
			answer_free(&b);
			return;
		}
		if (pick < 4) {
			in_parts(c, &h);
			return;
		}
		if (pick < 6) {
			/* one in sixteen: the prescription's 16 inquiries, first */
			if (rnd(c, 16) == 0)
				to_the_limit(c, &h);
			with_inquiry(c, &h);
			return;
		}
		dispense(c, &h, &b);
		if (b.status == RX_OK) {
			follow_up(c, &h, &b);
		} else if (b.status == RX_CANCELLED) {
			/* Cancelled while we held it: give it back, it becomes CANCELLED. */
			answer_free(&b);
			release(c, &h, &b);
			answer_free(&b);
			pool_close(w, h.id);
		} else {
			answer_free(&b);
		}
		return;
	}
	if (a.status == RX_ALREADY_DISPENSED || a.status == RX_CANCELLED) {
		pool_close(w, h.id);
	} else if (a.status == RX_ALREADY_CLAIMED && rnd(c, 4) == 0) {
		/* Another pharmacy holds it: a dispense with a token we made up. */
		randombytes_buf(h.token, sizeof h.token);
		h.use = 0;
		dispense(c, &h, &b);
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
		if (w->failover && conn_follow(&c->conn, &w->route, zctx, &c->me->curve) != 0) {
			conn_close(&c->conn);
			journal_close(&c->j);
			goto fail;
		}
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
