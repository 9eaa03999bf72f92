/* bench_jobs: the work of a workload, signed before the clock starts.
 *
 * Everything a client sends is made here first (prescriptions, card
 * assertions, the calls themselves), on every core, so the timed clients
 * cost little CPU.  The one exception is the DISPENSE of a pair, which
 * carries the claim token the CLAIM's reply returns and so is signed in the
 * loop (bench_jobs_dispense_frame, called by bench_run.c and by the
 * PostgreSQL peer's tier, bench_peer.c): protocol v2 signs its dispense
 * record bound to that call, one signature, as v1 signed the call. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_int.h"
#include "rx_check.h"

uint8_t *bench_jobs_frame(const rx_keypair_t *kp, const Rx__Call *call, const ProtobufCMessage *doc,
			  size_t *len)
{
	uint8_t *frame = NULL;
	return rxc_frame(kp, call, doc, &frame, len) == RX_OK ? frame : NULL;
}

/* One real item: amlodipine 5 mg, as the tests use. */
static void norvasc(Rx__Item *it)
{
	rx__item__init(it);
	it->drug_code = (char *)"2171022F2025";
	it->name = (char *)"ノルバスク錠５ｍｇ";
	it->dose = (char *)"1 tablet";
	it->unit = (char *)"tablet";
	it->usage = (char *)"once daily after breakfast";
	it->days = 28;
	it->quantity = 28;
}

void bench_jobs_prescription(const bench_t *B, int by, int patient, const char *notes, int64_t now,
			     bench_rx_t *out)
{
	const bench_rxd_t *r = &B->rxd;
	Rx__Prescription *p = &out->p;
	rx__prescription__init(p);
	norvasc(&out->item);
	out->items[0] = &out->item;
	p->version = RX_DOC_VERSION;
	p->patient_id = (char *)r->patient[patient];
	p->prescriber_key.data = (uint8_t *)r->prescriber[by].pk;
	p->prescriber_key.len = RX_KEY_LEN;
	p->issued_at = now;
	p->valid_until = rx_valid_until(now, 4);
	p->uses = 1;
	p->n_items = 1;
	p->items = out->items;
	p->notes = (char *)notes;
}

void bench_jobs_record(const bench_t *B, const job_t *j, bench_rec_t *out)
{
	Rx__DispenseRecord *d = &out->d;
	rx__dispense_record__init(d);
	norvasc(&out->item);
	rx__line__init(&out->line);
	out->line.item = 1;
	out->line.outcome = RX__OUTCOME__AS_WRITTEN;
	out->line.handed = &out->item;
	out->lines[0] = &out->line;
	d->version = RX_DOC_VERSION;
	d->prescription_id = (char *)j->id;
	d->use = j->use;
	d->pharmacy_key.data = (uint8_t *)B->rxd.pharmacist[j->client].pk;
	d->pharmacy_key.len = RX_KEY_LEN;
	d->n_lines = 1;
	d->lines = out->lines;
	d->notes = (char *)"";
}

/* call for j: kind op, its request id kept in j->rid (given, or fresh;
 * call points into it). */
static void call_init(Rx__Call *call, job_t *j, int kind, Rx__Op op)
{
	rx__call__init(call);
	j->kind = kind;
	if (!j->has_rid)
		rxc_request_id(j->rid);
	call->request_id.data = j->rid;
	call->request_id.len = RX_REQUEST_ID_LEN;
	call->op = op;
}

static int sign_submit(bench_t *B, job_t *j, uint64_t seq)
{
	bench_rxd_t *r = &B->rxd;
	bench_rx_t rx;
	Rx__Signed card;
	Rx__Call call;
	char notes[48];
	int64_t now = (int64_t)time(NULL);

	call_init(&call, j, JOB_SUBMIT, RX__OP__SUBMIT);
	j->patient = (int)(seq % (uint64_t)r->npatients);
	snprintf(notes, sizeof notes, "rx-bench %llu", (unsigned long long)seq);
	j->by = j->client;
	bench_jobs_prescription(B, j->by, j->patient, notes, now, &rx);
	if (rxc_card_assertion(&r->card[j->patient], RX__PURPOSE__PURPOSE_ISSUE, r->clinic_code, now,
			       &card) != RX_OK)
		return -1;
	call.card = &card;
	j->frame = bench_jobs_frame(&r->prescriber[j->by], &call, &rx.p.base, &j->len);
	rxc_signed_free(&card);
	return j->frame ? 0 : -1;
}

uint8_t *bench_jobs_dispense_frame(const bench_t *B, const job_t *j, const uint8_t token[RX_TOKEN_LEN],
				   uint8_t rid[RX_REQUEST_ID_LEN], size_t *len)
{
	Rx__Call call = RX__CALL__INIT;
	bench_rec_t rec;
	rxc_request_id(rid);
	call.request_id.data = rid;
	call.request_id.len = RX_REQUEST_ID_LEN;
	call.op = RX__OP__DISPENSE;
	call.prescription_id = (char *)j->id;
	call.claim_token.data = (uint8_t *)token;
	call.claim_token.len = RX_TOKEN_LEN;
	bench_jobs_record(B, j, &rec);
	return bench_jobs_frame(&B->rxd.pharmacist[j->client], &call, &rec.d.base, len);
}

int bench_jobs_sign_pair(bench_t *B, job_t *j, const pool_ent_t *e)
{
	bench_rxd_t *r = &B->rxd;
	Rx__Signed card;
	Rx__Call call;

	call_init(&call, j, JOB_PAIR, RX__OP__CLAIM);
	j->patient = e->patient;
	j->by = e->by;
	memcpy(j->id, e->id, sizeof j->id);
	if (rxc_card_assertion(&r->card[e->patient], RX__PURPOSE__PURPOSE_DISPENSE, r->pharmacy_code,
			       (int64_t)time(NULL), &card) != RX_OK)
		return -1;
	call.prescription_id = j->id;
	call.card = &card;
	j->frame = bench_jobs_frame(&r->pharmacist[j->client], &call, NULL, &j->len);
	rxc_signed_free(&card);
	/* Its DISPENSE is signed in the loop, with the claim's token. */
	j->use = B->use;
	return j->frame ? 0 : -1;
}

static int sign_status(bench_t *B, job_t *j, const pool_ent_t *e)
{
	Rx__Call call;
	call_init(&call, j, JOB_STATUS, RX__OP__STATUS);
	memcpy(j->id, e->id, sizeof j->id);
	j->by = e->by; /* a prescriber looks only at what they issued */
	call.prescription_id = j->id;
	j->frame = bench_jobs_frame(&B->rxd.prescriber[j->by], &call, NULL, &j->len);
	return j->frame ? 0 : -1;
}

void bench_jobs_free(job_t *j)
{
	free(j->frame);
	j->frame = NULL;
}

void bench_jobs_release(worker_t *w)
{
	for (size_t k = 0; k < w->njobs; k++)
		bench_jobs_free(&w->jobs[k]);
	free(w->jobs);
	free(w->lat);
	free(w->made);
	free(w->dispensed);
	w->jobs = NULL;
	w->lat = NULL;
	w->made = w->dispensed = NULL;
	w->njobs = 0;
}

/* What the signing threads share: a flat list of jobs, each already told
 * its kind and input, signed in parallel on every core. */
typedef struct {
	bench_t *B;
	job_t **jobs;          /* jobs[i] points into some worker's array */
	const pool_ent_t **in; /* PAIR / STATUS input */
	uint64_t *seq;         /* SUBMIT sequence numbers */
	size_t n, next;
	pthread_mutex_t mu;
	int bad;
} signing_t;

static void *sign_loop(void *p)
{
	signing_t *s = p;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		size_t i = s->next, end = i + 256 < s->n ? i + 256 : s->n;
		s->next = end;
		pthread_mutex_unlock(&s->mu);
		if (i >= s->n)
			return NULL;
		for (; i < end; i++) {
			job_t *j = s->jobs[i];
			int rc = j->kind == JOB_SUBMIT ? sign_submit(s->B, j, s->seq[i])
				 : j->kind == JOB_PAIR ? bench_jobs_sign_pair(s->B, j, s->in[i])
						       : sign_status(s->B, j, s->in[i]);
			if (rc != 0)
				s->bad = 1;
		}
	}
}

static void sign_all(signing_t *s)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t th[64];
	int n = ncpu < 1 ? 1 : ncpu > 64 ? 64 : (int)ncpu;
	pthread_mutex_init(&s->mu, NULL);
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, sign_loop, s) != 0)
			bench_die("%s", "cannot start a signing thread");
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&s->mu);
	if (s->bad)
		bench_die("%s", "signing failed (out of memory?)");
}

int bench_choose_submit(size_t k)
{
	(void)k;
	return JOB_SUBMIT;
}

int bench_choose_pair(size_t k)
{
	(void)k;
	return JOB_PAIR;
}

int bench_choose_mixed(size_t k)
{
	(void)k;
	uint32_t r = randombytes_uniform(100);
	return r < 70 ? JOB_SUBMIT : r < 95 ? JOB_PAIR : JOB_STATUS;
}

void bench_jobs_prepare(bench_t *B, int nw, size_t per_worker, bench_choose_fn choose)
{
	size_t total = (size_t)nw * per_worker, n = 0;
	signing_t s = {.B = B};
	s.jobs = calloc(total, sizeof *s.jobs);
	s.in = calloc(total, sizeof *s.in);
	s.seq = calloc(total, sizeof *s.seq);
	if (s.jobs == NULL || s.in == NULL || s.seq == NULL)
		bench_die("%s", "out of memory");
	size_t ndone_used = 0;
	for (int w = 0; w < nw; w++) {
		worker_t *wk = &B->w[w];
		/* Results: a client may send more than its own share. */
		wk->jobs = calloc(per_worker, sizeof *wk->jobs);
		wk->lat = calloc(total, sizeof *wk->lat);
		wk->made = calloc(total, sizeof *wk->made);
		wk->dispensed = calloc(total, sizeof *wk->dispensed);
		if (!wk->jobs || !wk->lat || !wk->made || !wk->dispensed)
			bench_die("%s", "out of memory");
		wk->njobs = 0;
	}
	/* Listed in about the order the clients will send them (each client's
	 * k-th job, then the k+1-th), and given their request ids in that order
	 * before they are signed in parallel: a client that made its ids as it
	 * sent would send them in time order (UUIDv7s, proto/README 4.1).  The
	 * card nonces, made while signing, follow the list only roughly. */
	for (size_t k = 0; k < per_worker; k++) {
		for (int w = 0; w < nw; w++) {
			worker_t *wk = &B->w[w];
			int kind = choose(k);
			/* Without prescriptions to claim or look at, submit instead. */
			if (kind == JOB_PAIR && B->npool == 0)
				kind = JOB_SUBMIT;
			if (kind == JOB_STATUS && B->ndone == 0)
				kind = JOB_SUBMIT;
			job_t *j = &wk->jobs[wk->njobs++];
			j->kind = kind;
			j->client = w;
			rxc_request_id(j->rid);
			j->has_rid = 1;
			s.jobs[n] = j;
			if (kind == JOB_SUBMIT)
				s.seq[n] = B->notes_seq++;
			else if (kind == JOB_PAIR)
				s.in[n] = &B->pool[--B->npool];
			else
				s.in[n] = &B->done[ndone_used++ % B->ndone];
			n++;
		}
	}
	s.n = n;
	sign_all(&s);
	free(B->queue);
	B->queue = s.jobs; /* the order they are handed out */
	B->nqueue = n;
	atomic_store(&B->next, 0);
	free(s.in);
	free(s.seq);
}
