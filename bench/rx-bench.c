/* rx-bench: how fast the real rxd is, and how close that comes to what the
 * machine can do.
 *
 * Starts rxd (durability on, every signature verified: its defaults) on a
 * temp data dir and tcp loopback, registers a clinic, a pharmacy, their
 * keys and patients with cards, then drives it from several client threads,
 * each with its own CurveZMQ connections (rxc_t).  Everything a client
 * signs is signed before the clock starts (prescriptions, card assertions,
 * the calls themselves, dispense records), so the clients cost little CPU;
 * the one exception is the DISPENSE call, which carries the claim token the
 * CLAIM reply just returned and so is signed in the loop (one Ed25519 sign).
 * The clients decode replies but do not verify the broker's receipt
 * signatures (rxclient does; a benchmark need not).
 *
 * Workloads: submit; claim+dispense pairs; a mixed day (70% submit, 25%
 * claim+dispense, 5% status); one client alone, one request at a time with
 * a 1 ms pause.  Before them it measures the machine's limits with the same
 * libraries (bench_limits.h) and prints each rxd figure as a ratio of them. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_limits.h"
#ifdef RX_BENCH_PG
#include "bench_pg.h"
#endif
#include "bench_rxd.h"
#include "rx_check.h"
#include "rxclient.h"

#define MAX_CLIENTS 256
#define MAX_JOBS_PER_PHASE 400000 /* bounds the memory of pre-signed requests */
#define POOL_MAX 2000000

enum { JOB_SUBMIT, JOB_PAIR, JOB_STATUS };

/* Workloads: submit, claim+dispense, mixed day, single client, submit at
 * half the submit peak. */
#define NWL 5
/* --preload beyond this also measures at this many stored. */
#define SCALE_SMALL 10000

/* One pre-signed unit of work. */
typedef struct {
	int kind;
	int patient;             /* index of the patient (SUBMIT, PAIR) */
	char id[RX_ID_LEN + 1];  /* PAIR, STATUS */
	uint8_t *frame;          /* the signed Request: SUBMIT, CLAIM or STATUS */
	size_t len;
	uint8_t rid[RX_REQUEST_ID_LEN]; /* the request id inside frame */
	Rx__Signed record;       /* PAIR: the dispense record, signed */
} job_t;

/* An ISSUED prescription the pharmacies may claim. */
typedef struct {
	char id[RX_ID_LEN + 1];
	int patient;
} pool_ent_t;

typedef struct {
	int seconds, clients, patients, window;
	long preload;
	const char *json, *rxd, *dir;
	const char *data, *metrics; /* --data, --metrics; NULL if not given */
	int keep, vs_postgres;
	unsigned workloads; /* bit i: run res[i] (submit, pairs, mixed, idle) */
} options_t;

typedef struct worker worker_t;

typedef struct {
	options_t opt;
	bench_rxd_t rxd;
	void *zctx;
	uint32_t use;              /* the use a first claim of a one-use prescription gets */
	uint64_t notes_seq;        /* makes every prescription distinct */
	pool_ent_t *pool;          /* ISSUED prescriptions, unclaimed */
	size_t npool;
	pool_ent_t *done;          /* dispensed ones (for STATUS) */
	size_t ndone;
	long stored;               /* prescriptions submitted so far */
	worker_t *w;
	int nworkers;
} bench_t;

struct worker {
	bench_t *B;
	rxc_t *clinic, *pharmacy;
	job_t *jobs;
	size_t njobs;
	uint32_t *lat; /* microseconds per unit (a request, or a claim+dispense pair) */
	size_t nlat;
	pool_ent_t *made; /* what its submits created */
	size_t nmade;
	pool_ent_t *dispensed;
	size_t ndispensed;
	uint64_t n_submit, n_pair, n_status, n_bad;
	rx_err_t last_bad;
	char last_msg[200];
	int exhausted;
	int64_t start_ns, deadline_ns, end_ns;
	int gap_us, window;
	int64_t pace_ns; /* >0: start a unit every pace_ns (open loop), latency from then */
	pthread_barrier_t *go;
};

/* One workload's figures. */
typedef struct {
	const char *name, *unit;
	double secs, rate, p50, p99, p999; /* rate: units/s; latencies in ms */
	uint64_t units, submits, pairs, statuses, errors;
	double rxd_cpu;   /* rxd's CPU over the run, in cores */
	double kib_per_req; /* what rxd wrote (LMDB pages, its log) per request */
	double bench_cpu; /* ours, in cores */
	int exhausted;
	int per_request; /* rate counts requests, not units */
	int skipped;     /* not asked for (--workloads) */
	double commits, verifies, trips; /* per unit (or request), for the ratios */
} result_t;

typedef struct {
	double verify, lmdb1, lmdb100, zmq, zmq_curve;
	double lmdb1_after; /* measured again after the workloads: the disk drifts */
} limits_t;

/* The synced-commit rate the ratios use: the mean of before and after. */
static double lmdb1_of(const limits_t *L)
{
	return L->lmdb1_after > 0 ? (L->lmdb1 + L->lmdb1_after) / 2 : L->lmdb1;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "rx-bench: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

/* ---- signing, before the clock starts ---- */

/* The signed Request frame for call by kp.  Heap; NULL if memory ran out. */
static uint8_t *call_frame(const rx_keypair_t *kp, const Rx__Call *call, size_t *len)
{
	uint8_t *frame = NULL;
	return rxc_frame(kp, call, &frame, len) == RX_OK ? frame : NULL;
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

static int sign_submit(bench_t *B, job_t *j, uint64_t seq)
{
	bench_rxd_t *r = &B->rxd;
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	Rx__Item it, *items[1] = {&it};
	Rx__Signed sp, card;
	Rx__Call call = RX__CALL__INIT;
	uint8_t rid[RX_REQUEST_ID_LEN];
	char notes[48];
	int64_t now = (int64_t)time(NULL);

	j->kind = JOB_SUBMIT;
	j->patient = (int)(seq % (uint64_t)r->npatients);
	norvasc(&it);
	snprintf(notes, sizeof notes, "rx-bench %llu", (unsigned long long)seq);
	p.version = 1;
	p.patient_id = r->patient[j->patient];
	p.prescriber_key.data = r->prescriber.pk;
	p.prescriber_key.len = RX_KEY_LEN;
	p.issued_at = now;
	p.valid_until = rx_valid_until(now, 4);
	p.uses = 1;
	p.n_items = 1;
	p.items = items;
	p.notes = notes;
	if (rxc_sign_prescription(&r->prescriber, &p, &sp) != RX_OK)
		return -1;
	if (rxc_card_assertion(&r->card[j->patient], RX__PURPOSE__PURPOSE_ISSUE, r->clinic_code, now,
			       &card) != RX_OK) {
		rxc_signed_free(&sp);
		return -1;
	}
	rxc_request_id(rid);
	memcpy(j->rid, rid, sizeof rid);
	call.request_id.data = rid;
	call.request_id.len = sizeof rid;
	call.op = RX__OP__SUBMIT;
	call.prescription = &sp;
	call.card = &card;
	j->frame = call_frame(&r->prescriber, &call, &j->len);
	rxc_signed_free(&sp);
	rxc_signed_free(&card);
	return j->frame ? 0 : -1;
}

static int sign_pair(bench_t *B, job_t *j, const pool_ent_t *e)
{
	bench_rxd_t *r = &B->rxd;
	Rx__Signed card;
	Rx__Call call = RX__CALL__INIT;
	Rx__DispenseRecord d = RX__DISPENSE_RECORD__INIT;
	Rx__Item it, *items[1] = {&it};
	uint8_t rid[RX_REQUEST_ID_LEN];

	j->kind = JOB_PAIR;
	j->patient = e->patient;
	memcpy(j->id, e->id, sizeof j->id);
	if (rxc_card_assertion(&r->card[e->patient], RX__PURPOSE__PURPOSE_DISPENSE, r->pharmacy_code,
			       (int64_t)time(NULL), &card) != RX_OK)
		return -1;
	rxc_request_id(rid);
	memcpy(j->rid, rid, sizeof rid);
	call.request_id.data = rid;
	call.request_id.len = sizeof rid;
	call.op = RX__OP__CLAIM;
	call.prescription_id = j->id;
	call.card = &card;
	j->frame = call_frame(&r->pharmacist, &call, &j->len);
	rxc_signed_free(&card);
	norvasc(&it);
	d.version = 1;
	d.prescription_id = j->id;
	d.use = B->use;
	d.pharmacy_key.data = r->pharmacist.pk;
	d.pharmacy_key.len = RX_KEY_LEN;
	d.n_items = 1;
	d.items = items;
	d.notes = (char *)"";
	if (rxc_sign_dispense(&r->pharmacist, &d, &j->record) != RX_OK)
		return -1;
	return j->frame ? 0 : -1;
}

static int sign_status(bench_t *B, job_t *j, const pool_ent_t *e)
{
	Rx__Call call = RX__CALL__INIT;
	uint8_t rid[RX_REQUEST_ID_LEN];
	j->kind = JOB_STATUS;
	memcpy(j->id, e->id, sizeof j->id);
	rxc_request_id(rid);
	memcpy(j->rid, rid, sizeof rid);
	call.request_id.data = rid;
	call.request_id.len = sizeof rid;
	call.op = RX__OP__STATUS;
	call.prescription_id = j->id;
	j->frame = call_frame(&B->rxd.prescriber, &call, &j->len);
	return j->frame ? 0 : -1;
}

static void job_free(job_t *j)
{
	free(j->frame);
	j->frame = NULL;
	if (j->kind == JOB_PAIR)
		rxc_signed_free(&j->record);
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
				 : j->kind == JOB_PAIR ? sign_pair(s->B, j, s->in[i])
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
			die("%s", "cannot start a signing thread");
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&s->mu);
	if (s->bad)
		die("%s", "signing failed (out of memory?)");
}

/* Give each of the first nw workers per_worker jobs drawn by choose(), and
 * sign them all.  choose returns the kind of job k of worker w. */
typedef int (*choose_fn)(size_t k);

static int choose_submit(size_t k)
{
	(void)k;
	return JOB_SUBMIT;
}

static int choose_pair(size_t k)
{
	(void)k;
	return JOB_PAIR;
}

/* A mixed day: 70% submit, 25% claim+dispense, 5% status. */
static int choose_mixed(size_t k)
{
	(void)k;
	uint32_t r = randombytes_uniform(100);
	return r < 70 ? JOB_SUBMIT : r < 95 ? JOB_PAIR : JOB_STATUS;
}

static void prepare(bench_t *B, int nw, size_t per_worker, choose_fn choose)
{
	size_t total = (size_t)nw * per_worker, n = 0;
	signing_t s = {.B = B};
	s.jobs = calloc(total, sizeof *s.jobs);
	s.in = calloc(total, sizeof *s.in);
	s.seq = calloc(total, sizeof *s.seq);
	if (s.jobs == NULL || s.in == NULL || s.seq == NULL)
		die("%s", "out of memory");
	size_t ndone_used = 0;
	for (int w = 0; w < nw; w++) {
		worker_t *wk = &B->w[w];
		wk->jobs = calloc(per_worker, sizeof *wk->jobs);
		wk->lat = calloc(per_worker, sizeof *wk->lat);
		wk->made = calloc(per_worker, sizeof *wk->made);
		wk->dispensed = calloc(per_worker, sizeof *wk->dispensed);
		if (!wk->jobs || !wk->lat || !wk->made || !wk->dispensed)
			die("%s", "out of memory");
		wk->njobs = 0;
		for (size_t k = 0; k < per_worker; k++) {
			int kind = choose(k);
			/* Without prescriptions to claim or look at, submit instead. */
			if (kind == JOB_PAIR && B->npool == 0)
				kind = JOB_SUBMIT;
			if (kind == JOB_STATUS && B->ndone == 0)
				kind = JOB_SUBMIT;
			job_t *j = &wk->jobs[wk->njobs++];
			j->kind = kind;
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
	free(s.jobs);
	free(s.in);
	free(s.seq);
}

/* ---- the timed loop ---- */

/* One unit of work in flight on a client's connection: the request id its
 * next reply names, and for a PAIR whether the CLAIM or the DISPENSE is out. */
typedef struct {
	job_t *job;      /* NULL: the slot is free */
	int dispensing;  /* PAIR: the DISPENSE (signed here) is out */
	uint8_t rid[RX_REQUEST_ID_LEN];
	int64_t t0;
} slot_t;

static rxc_t *conn_of(worker_t *w, const job_t *j)
{
	return j->kind == JOB_PAIR ? w->pharmacy : w->clinic;
}

static void failed(worker_t *w, rx_err_t err, const char *fmt, const char *arg)
{
	w->n_bad++;
	w->last_bad = err;
	snprintf(w->last_msg, sizeof w->last_msg, fmt, arg);
}

/* The DISPENSE for a PAIR whose CLAIM returned token: signed here, as the
 * token is the CLAIM's answer. */
static rx_err_t send_dispense(worker_t *w, slot_t *s, const uint8_t token[RX_TOKEN_LEN])
{
	Rx__Call call = RX__CALL__INIT;
	call.request_id.data = s->rid;
	call.request_id.len = RX_REQUEST_ID_LEN;
	call.op = RX__OP__DISPENSE;
	call.prescription_id = s->job->id;
	call.claim_token.data = (uint8_t *)token;
	call.claim_token.len = RX_TOKEN_LEN;
	call.dispense = &s->job->record;
	rxc_request_id(s->rid);
	size_t len;
	uint8_t *frame = call_frame(&w->B->rxd.pharmacist, &call, &len);
	if (frame == NULL)
		return RX_SYSTEM;
	rx_err_t err = rxc_send_frame(w->pharmacy, frame, len);
	free(frame);
	return err;
}

/* A reply arrived for slot s.  Returns 1 when the slot's unit is finished
 * (done or failed), 0 when a PAIR's DISPENSE went out. */
static int on_reply(worker_t *w, slot_t *s, const Rx__Reply *r)
{
	job_t *j = s->job;
	rx_err_t err = (rx_err_t)r->status;
	if (err != RX_OK) {
		failed(w, err, "%s", r->message);
		return 1;
	}
	Rx__Receipt *rc = rx__receipt__unpack(NULL, r->receipt.len, r->receipt.data);
	if (rc == NULL) {
		failed(w, RX_SYSTEM, "%s", "a reply without a receipt that decodes");
		return 1;
	}
	int finished = 1, ok = 1;
	if (j->kind == JOB_SUBMIT) {
		snprintf(w->made[w->nmade].id, sizeof w->made[0].id, "%s", rc->prescription_id);
		w->made[w->nmade++].patient = j->patient;
		w->n_submit++;
	} else if (j->kind == JOB_STATUS) {
		w->n_status++;
	} else if (!s->dispensing) {
		ok = 0;
		if (rc->claim_token.len != RX_TOKEN_LEN || rc->use != w->B->use)
			failed(w, RX_SYSTEM, "%s", "CLAIM receipt without a token or another use");
		else if ((err = send_dispense(w, s, rc->claim_token.data)) != RX_OK)
			failed(w, err, "DISPENSE not sent: %s", rx_err_name(err));
		else {
			s->dispensing = 1;
			finished = 0;
		}
	} else {
		memcpy(w->dispensed[w->ndispensed].id, j->id, sizeof j->id);
		w->dispensed[w->ndispensed++].patient = j->patient;
		w->n_pair++;
	}
	if (ok) {
		int64_t us = (now_ns() - s->t0) / 1000;
		w->lat[w->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	}
	rx__receipt__free_unpacked(rc, NULL);
	return finished;
}

/* Take one reply from connection c and hand it to the slot it answers. */
static int take_one(worker_t *w, rxc_t *c, slot_t *slots)
{
	uint8_t *buf;
	size_t len;
	if (rxc_recv_frame(c, 0, &buf, &len) != RX_OK)
		return 0;
	Rx__Reply *r = rx__reply__unpack(NULL, len, buf);
	free(buf);
	if (r == NULL) {
		failed(w, RX_SYSTEM, "%s", "a reply that does not decode");
		return 0;
	}
	int done = 0;
	for (int i = 0; i < w->window; i++) {
		slot_t *s = &slots[i];
		if (s->job && r->request_id.len == RX_REQUEST_ID_LEN &&
		    memcmp(r->request_id.data, s->rid, RX_REQUEST_ID_LEN) == 0) {
			if (on_reply(w, s, r)) {
				s->job = NULL;
				done = 1;
			}
			break;
		}
	}
	rx__reply__free_unpacked(r, NULL);
	return done;
}

/* A client: keeps up to window units in flight over its two connections
 * (the clinic's for SUBMIT and STATUS, the pharmacy's for CLAIM and
 * DISPENSE), starting new ones until its deadline, then waits for those
 * still out.  A unit's latency runs from its first request sent to its last
 * reply. */
static void *work(void *p)
{
	worker_t *w = p;
	slot_t *slots = calloc((size_t)w->window, sizeof *slots);
	if (slots == NULL)
		die("%s", "out of memory");
	pthread_barrier_wait(w->go);
	size_t k = 0;
	int inflight = 0;
	int64_t next_start = now_ns();
	for (;;) {
		for (int i = 0; i < w->window && k < w->njobs && now_ns() < w->deadline_ns; i++) {
			slot_t *s = &slots[i];
			if (s->job)
				continue;
			if (w->pace_ns && now_ns() < next_start)
				break;
			job_t *j = &w->jobs[k++];
			s->job = j;
			s->dispensing = 0;
			memcpy(s->rid, j->rid, RX_REQUEST_ID_LEN);
			/* Paced: latency counts from when the unit was due, so a
			 * broker that falls behind is not excused by the wait. */
			s->t0 = w->pace_ns ? next_start : now_ns();
			next_start += w->pace_ns;
			rx_err_t err = rxc_send_frame(conn_of(w, j), j->frame, j->len);
			if (err != RX_OK) {
				failed(w, err, "not sent: %s", rx_err_name(err));
				s->job = NULL;
				continue;
			}
			inflight++;
		}
		int more = k < w->njobs && now_ns() < w->deadline_ns;
		if (inflight == 0 && !(w->pace_ns && more))
			break;
		zmq_pollitem_t it[2] = {{rxc_socket(w->clinic), 0, ZMQ_POLLIN, 0},
					{rxc_socket(w->pharmacy), 0, ZMQ_POLLIN, 0}};
		/* No resends: a slow reply is measured; none in two minutes is lost. */
		/* Paced, with a slot free: sleep until the next unit is due,
		 * rounded up to a whole millisecond (never 0, or eight clients
		 * spinning would take the cores the broker needs; never
		 * negative, which is forever).  Otherwise: until a reply. */
		long wait_ms = 120000;
		int64_t now = now_ns();
		if (w->pace_ns && more && inflight < w->window)
			wait_ms = next_start > now ? (long)((next_start - now + 999999) / 1000000) : 1;
		int rc = zmq_poll(it, 2, wait_ms);
		if (rc == 0 && wait_ms < 120000)
			continue;
		if (rc < 0 && zmq_errno() == EINTR)
			continue;
		if (rc <= 0) {
			w->n_bad += (uint64_t)inflight;
			snprintf(w->last_msg, sizeof w->last_msg, "no reply within 120 s");
			break;
		}
		int finished = 0;
		for (int c = 0; c < 2; c++)
			if (it[c].revents & ZMQ_POLLIN)
				finished += take_one(w, c ? w->pharmacy : w->clinic, slots);
		inflight -= finished;
		if (finished && w->gap_us) {
			struct timespec ts = {0, (long)w->gap_us * 1000};
			nanosleep(&ts, NULL);
		}
	}
	free(slots);
	w->exhausted = k == w->njobs;
	w->end_ns = now_ns();
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(const uint32_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)((double)n * p);
	if (i >= n)
		i = n - 1;
	return v[i] / 1000.0;
}

/* Run the jobs prepared for the first nw workers for at most seconds
 * (0: until done), collect what they made, free the jobs.  Returns the
 * figures (latency sorted). */
static result_t run(bench_t *B, int nw, int seconds, const char *name, const char *unit)
{
	pthread_t th[MAX_CLIENTS];
	pthread_barrier_t go;
	result_t r = {.name = name, .unit = unit};
	pthread_barrier_init(&go, NULL, (unsigned)nw + 1);
	double cpu0 = bench_rxd_cpu(&B->rxd), self0 = self_cpu();
	long long wr0 = bench_rxd_written(&B->rxd);
	for (int i = 0; i < nw; i++) {
		worker_t *w = &B->w[i];
		w->go = &go;
		w->nlat = w->nmade = w->ndispensed = 0;
		w->n_submit = w->n_pair = w->n_status = w->n_bad = 0;
		w->exhausted = 0;
		if (pthread_create(&th[i], NULL, work, w) != 0)
			die("%s", "cannot start a client thread");
	}
	int64_t t0 = now_ns();
	for (int i = 0; i < nw; i++) {
		B->w[i].start_ns = t0;
		B->w[i].deadline_ns = seconds > 0 ? t0 + (int64_t)seconds * 1000000000 : INT64_MAX;
	}
	if (seconds > 0)
		fprintf(stderr, "rx-bench: %s: timed run\n", name);
	pthread_barrier_wait(&go);
	t0 = now_ns();
	int64_t t_end = t0;
	size_t nlat = 0;
	for (int i = 0; i < nw; i++) {
		pthread_join(th[i], NULL);
		worker_t *w = &B->w[i];
		if (w->end_ns > t_end)
			t_end = w->end_ns;
		nlat += w->nlat;
		r.submits += w->n_submit;
		r.pairs += w->n_pair;
		r.statuses += w->n_status;
		r.errors += w->n_bad;
		/* Running out of pre-signed work before the deadline shortens the
		 * run for that client: the figures are then flagged. */
		if (w->exhausted && seconds > 0)
			r.exhausted = 1;
		if (w->n_bad)
			fprintf(stderr, "rx-bench: %s: client %d: %llu failed, last: %s\n", name, i,
				(unsigned long long)w->n_bad, w->last_msg);
	}
	pthread_barrier_destroy(&go);
	r.secs = (double)(t_end - t0) / 1e9;
	r.rxd_cpu = (bench_rxd_cpu(&B->rxd) - cpu0) / r.secs;
	long long wr1 = bench_rxd_written(&B->rxd);
	double nreq = (double)(r.submits + 2 * r.pairs + r.statuses);
	r.kib_per_req = wr0 >= 0 && wr1 >= wr0 && nreq > 0 ? (double)(wr1 - wr0) / 1024 / nreq : 0;
	r.bench_cpu = (self_cpu() - self0) / r.secs;
	uint32_t *all = malloc((nlat ? nlat : 1) * sizeof *all);
	if (all == NULL)
		die("%s", "out of memory");
	size_t n = 0;
	for (int i = 0; i < nw; i++) {
		worker_t *w = &B->w[i];
		memcpy(all + n, w->lat, w->nlat * sizeof *all);
		n += w->nlat;
		/* New prescriptions feed the pharmacies; dispensed ones, STATUS. */
		for (size_t k = 0; k < w->nmade && B->npool < POOL_MAX; k++)
			B->pool[B->npool++] = w->made[k];
		for (size_t k = 0; k < w->ndispensed && B->ndone < POOL_MAX; k++)
			B->done[B->ndone++] = w->dispensed[k];
		B->stored += (long)w->nmade;
		/* Jobs handed out but never run are gone: a claim never sent
		 * leaves its prescription ISSUED, unused; that is fine. */
		for (size_t k = 0; k < w->njobs; k++)
			job_free(&w->jobs[k]);
		free(w->jobs);
		free(w->lat);
		free(w->made);
		free(w->dispensed);
		w->jobs = NULL;
		w->lat = NULL;
		w->made = w->dispensed = NULL;
		w->njobs = 0;
	}
	qsort(all, n, sizeof *all, cmp_u32);
	r.units = n;
	r.rate = r.secs > 0 ? (double)n / r.secs : 0;
	r.p50 = pct(all, n, 0.50);
	r.p99 = pct(all, n, 0.99);
	r.p999 = pct(all, n, 0.999);
	free(all);
	return r;
}

/* Jobs per client for a run expected to do rate units/s for seconds, with
 * room to spare, within the memory bound. */
static size_t jobs_for(double rate, int seconds, int nw)
{
	double want = rate * seconds * 2.5 / nw + 100;
	double cap = (double)MAX_JOBS_PER_PHASE / nw;
	return (size_t)(want < cap ? want : cap);
}

/* Submit (untimed) until at least n prescriptions wait in the pool. */
static void fill_pool(bench_t *B, size_t n, double rate)
{
	while (B->npool < n) {
		size_t need = n - B->npool, per = need / (size_t)B->nworkers + 1;
		size_t cap = jobs_for(rate, 10, B->nworkers);
		if (per > cap)
			per = cap;
		prepare(B, B->nworkers, per, choose_submit);
		result_t r = run(B, B->nworkers, 0, "fill", "req");
		if (r.errors)
			die("%s", "submits failed while filling the pool");
	}
}

/* Submit (untimed, pipelined like every workload) until n prescriptions
 * are stored. */
static void preload_to(bench_t *B, long n)
{
	if (B->stored >= n)
		return;
	fprintf(stderr, "rx-bench: preloading to %ld prescriptions...\n", n);
	int64_t t0 = now_ns();
	long from = B->stored;
	while (B->stored < n) {
		size_t per = (size_t)(n - B->stored) / (size_t)B->nworkers + 1;
		if (per > 20000)
			per = 20000;
		prepare(B, B->nworkers, per, choose_submit);
		result_t r = run(B, B->nworkers, 0, "preload", "req");
		if (r.errors)
			die("%s", "preload submits failed");
		fprintf(stderr, "rx-bench: %ld stored (%.0f/s, %.1f KiB written a submit)\n", B->stored,
			r.rate, r.kib_per_req);
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	fprintf(stderr, "rx-bench: preload took %.1f s (%.0f submits/s with the signing)\n", secs,
		(double)(B->stored - from) / secs);
}

/* ---- setup ---- */

static void default_rxd(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		snprintf(out, len, "rxd");
		return;
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	/* rx-bench lives in BUILD/bench, rxd in BUILD/broker. */
	if ((size_t)snprintf(out, len, "%.*s/../broker/rxd", (int)(len > 32 ? len - 32 : 0), self) >= len)
		snprintf(out, len, "rxd");
}

/* One whole lifecycle through the client library (receipts verified), to
 * prove the set-up and learn which use a first claim gets. */
static void sanity(bench_t *B)
{
	bench_rxd_t *r = &B->rxd;
	job_t j = {0};
	rxc_result_t res;
	Rx__Signed card;
	/* Through rxc_submit and friends, so the library checks the receipts. */
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	Rx__Item it, *items[1] = {&it};
	Rx__Signed sp;
	norvasc(&it);
	p.version = 1;
	p.patient_id = r->patient[0];
	p.prescriber_key.data = r->prescriber.pk;
	p.prescriber_key.len = RX_KEY_LEN;
	p.issued_at = (int64_t)time(NULL);
	p.valid_until = rx_valid_until(p.issued_at, 4);
	p.uses = 1;
	p.n_items = 1;
	p.items = items;
	p.notes = (char *)"rx-bench sanity";
	if (rxc_sign_prescription(&r->prescriber, &p, &sp) != RX_OK ||
	    rxc_card_assertion(&r->card[0], RX__PURPOSE__PURPOSE_ISSUE, r->clinic_code,
			       (int64_t)time(NULL), &card) != RX_OK)
		die("%s", "signing failed");
	worker_t *w = &B->w[0];
	if (rxc_submit(w->clinic, NULL, &sp, &card, &res) != RX_OK)
		die("SUBMIT refused: %s", res.message);
	rxc_signed_free(&sp);
	rxc_signed_free(&card);
	char id[RX_ID_LEN + 1];
	snprintf(id, sizeof id, "%s", res.receipt->prescription_id);
	rxc_result_free(&res);
	if (rxc_card_assertion(&r->card[0], RX__PURPOSE__PURPOSE_DISPENSE, r->pharmacy_code,
			       (int64_t)time(NULL), &card) != RX_OK)
		die("%s", "signing failed");
	rxc_proof_t proof = {.card = &card};
	if (rxc_claim(w->pharmacy, NULL, id, &proof, &res) != RX_OK)
		die("CLAIM refused: %s", res.message);
	rxc_signed_free(&card);
	B->use = res.receipt->use;
	uint8_t token[RX_TOKEN_LEN];
	memcpy(token, res.receipt->claim_token.data, RX_TOKEN_LEN);
	rxc_result_free(&res);
	pool_ent_t e = {.patient = 0};
	memcpy(e.id, id, sizeof e.id);
	if (sign_pair(B, &j, &e) != 0)
		die("%s", "signing failed");
	if (rxc_dispense(w->pharmacy, NULL, id, token, &j.record, &res) != RX_OK)
		die("DISPENSE refused: %s", res.message);
	rxc_result_free(&res);
	job_free(&j);
	B->done[B->ndone++] = e;
	B->stored++;
}

static int arg_num(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* "submit,pairs,mixed,idle" (any of them, any order) into a bit set. */
static int parse_workloads(const char *list, unsigned *out)
{
	static const char *const names[NWL] = {"submit", "pairs", "mixed", "idle", "half"};
	char buf[128];
	unsigned set = 0;
	if (strlen(list) >= sizeof buf)
		return -1;
	strcpy(buf, list);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int i = 0;
		while (i < NWL && strcmp(t, names[i]) != 0)
			i++;
		if (i == NWL)
			return -1;
		set |= 1u << i;
	}
	if (set == 0)
		return -1;
	*out = set;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rx-bench [--seconds N] [--clients N] [--window N] [--workloads L] [--preload N]\n"
		"                [--json FILE] [--rxd PATH] [--dir DIR] [--patients N] [--keep]\n"
		"                [--data DIR] [--metrics EP]\n"
		"  --seconds N   per workload (10; at most 240: card assertions go stale after 5 min)\n"
		"  --clients N   concurrent client threads (8)\n"
		"  --window N    requests each client keeps in flight on a connection (16);\n"
		"                the single-client workload always has one\n"
		"  --workloads L which workloads to run, comma-separated: submit,pairs,mixed,idle,half\n"
		"                (all; half: submits offered at a steady half of the submit peak)\n"
		"  --preload N   submit N prescriptions before the measured workloads (0); beyond\n"
		"                10000, submit and claim+dispense are also measured at 10000 first\n"
		"  --json FILE   also write the results as JSON\n"
		"  --rxd PATH    the rxd to run ($RXD, else BUILD/broker/rxd beside this program)\n"
		"  --dir DIR     where the temp data dir and LMDB test env go ($TMPDIR, else /tmp);\n"
		"                it should be the disk rxd would use: a tmpfs makes fsync free\n"
		"  --patients N  patients with cards (8)\n"
		"  --keep        keep the data dir (and rxd.log)\n"
		"  --data DIR    run rxd on this existing data dir (a store kept by --keep, with\n"
		"                its map size) instead of a new one; it is kept\n"
		"  --metrics EP  rxd serves its metrics at EP (as rxd --metrics), to scrape\n"
		"                while the workloads run\n"
		"  --vs-postgres also run submit and claim+dispense against a throw-away PostgreSQL\n"
		"                cluster (fsync and synchronous_commit on, no signatures checked)\n");
}

static void parse(int argc, char **argv, options_t *o)
{
	long v;
	*o = (options_t){.seconds = 10, .clients = 8, .patients = 8, .window = 16, .workloads = (1u << NWL) - 1};
	o->rxd = getenv("RXD");
	o->dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--keep") == 0) {
			o->keep = 1;
			continue;
		} else if (strcmp(a, "--vs-postgres") == 0) {
			o->vs_postgres = 1;
			continue;
		}
		if (val == NULL) {
			usage(stderr);
			exit(1);
		}
		i++;
		if (strcmp(a, "--seconds") == 0 && arg_num(val, 1, 240, &v) == 0)
			o->seconds = (int)v;
		else if (strcmp(a, "--clients") == 0 && arg_num(val, 1, MAX_CLIENTS, &v) == 0)
			o->clients = (int)v;
		else if (strcmp(a, "--preload") == 0 && arg_num(val, 0, 100000000, &v) == 0)
			o->preload = v;
		else if (strcmp(a, "--workloads") == 0 && parse_workloads(val, &o->workloads) == 0)
			;
		else if (strcmp(a, "--window") == 0 && arg_num(val, 1, 1024, &v) == 0)
			o->window = (int)v;
		else if (strcmp(a, "--patients") == 0 && arg_num(val, 1, BENCH_MAX_PATIENTS, &v) == 0)
			o->patients = (int)v;
		else if (strcmp(a, "--json") == 0)
			o->json = val;
		else if (strcmp(a, "--rxd") == 0)
			o->rxd = val;
		else if (strcmp(a, "--dir") == 0)
			o->dir = val;
		else if (strcmp(a, "--data") == 0)
			o->data = val;
		else if (strcmp(a, "--metrics") == 0)
			o->metrics = val;
		else {
			usage(stderr);
			exit(1);
		}
	}
}

/* ---- report ---- */

static void cpu_model(char *out, size_t len)
{
	char line[256];
	snprintf(out, len, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "model name", 10) == 0) {
			char *c = strchr(line, ':');
			if (c) {
				c += 2;
				c[strcspn(c, "\n")] = '\0';
				snprintf(out, len, "%s", c);
			}
			break;
		}
	fclose(f);
}

/* The bound a limit puts on units/s, given what one unit costs of it. */
static double bound(double limit, double per_unit)
{
	return limit > 0 && per_unit > 0 ? limit / per_unit : 0;
}

/* Per unit of work: LMDB commits (writes: one record each, as if committed
 * on its own; rxd's group commit shares one fsync among a batch, so the
 * 100-per-commit records rate is the tighter bound), signatures rxd verifies (SUBMIT: call,
 * prescription, card; CLAIM: call, card; DISPENSE: call, record; STATUS:
 * call) and round trips. */
static void costs(result_t *r)
{
	double u = (double)(r->submits + r->pairs + r->statuses);
	if (r->per_request)
		u += (double)r->pairs;
	if (u == 0)
		return;
	r->commits = (r->submits + 2.0 * r->pairs + r->statuses) / u;
	r->verifies = (3.0 * r->submits + 4.0 * r->pairs + r->statuses) / u;
	r->trips = (r->submits + 2.0 * r->pairs + r->statuses) / u;
}

static const char *fmt_rate(double v, char *buf, size_t len)
{
	if (v <= 0)
		snprintf(buf, len, "-");
	else if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.1f", v);
	return buf;
}

/* PostgreSQL's figures, when asked for: [0] submit, [1] claim+dispense. */
typedef struct {
	int have;
	double rate[2], p50[2], p99[2], p999[2];
	uint64_t errors[2];
	int ran_out[2];
	char why[300];
} pg_figures_t;

static pg_figures_t PG;

/* With a big --preload: submit and claim+dispense at SCALE_SMALL stored. */
static struct {
	long stored; /* 0: not measured */
	result_t small[2];
} SCALE;

static void print_table(const options_t *o, const limits_t *L, result_t *res, int nres,
			const char *model, long ncpu, double load, long stored, long rss_kib)
{
	char a[32], b[32];
	printf("rx-bench: %ld cores, %s; load average %.2f at start\n", ncpu, model, load);
	printf("rxd over tcp loopback with CurveZMQ, sync commits, every signature verified; "
	       "%d clients, %d s per workload; %ld prescriptions stored at the start of the workloads\n\n",
	       o->clients, o->seconds, stored);
	printf("machine limits (same libraries, this process)\n");
	printf("  %-44s %12s /s\n", "Ed25519 verifies, all cores", fmt_rate(L->verify, a, sizeof a));
	printf("  %-44s %12s /s  (%s /s after the workloads)\n", "LMDB synced commits, 1 record each",
	       fmt_rate(L->lmdb1, a, sizeof a), fmt_rate(L->lmdb1_after, b, sizeof b));
	printf("  %-44s %12s /s  (%s records/s)\n", "LMDB synced commits, 100 records each",
	       fmt_rate(L->lmdb100, a, sizeof a), fmt_rate(L->lmdb100 * 100, b, sizeof b));
	printf("  %-44s %12s /s\n", "ZeroMQ round trips, pipelined, plain", fmt_rate(L->zmq, a, sizeof a));
	printf("  %-44s %12s /s\n\n", "ZeroMQ round trips, pipelined, CURVE",
	       fmt_rate(L->zmq_curve, a, sizeof a));
	printf("%-20s %10s %-7s %7s %7s %8s %7s %7s %6s %5s  %s\n", "workload", "throughput", "", "p50 ms",
	       "p99 ms", "p99.9 ms", "rxd cpu", "KiB/req", "errors", "", "ratio to limit: 1/commit 100/commit Ed25519 CURVE-rt");
	for (int i = 0; i < nres; i++) {
		result_t *r = &res[i];
		double zl = L->zmq_curve > 0 ? L->zmq_curve : L->zmq;
		double bl = bound(lmdb1_of(L), r->commits), bb = bound(L->lmdb100 * 100, r->commits),
		       bv = bound(L->verify, r->verifies), bz = bound(zl, r->trips);
		if (r->skipped)
			continue;
		printf("%-20s %10s %-7s %7.2f %7.2f %8.2f %6.0f%% %7.1f %6llu %5s  %8.2f %10.3f %7.3f %8.4f\n",
		       r->name, fmt_rate(r->rate, a, sizeof a), r->unit, r->p50, r->p99, r->p999,
		       r->rxd_cpu * 100, r->kib_per_req, (unsigned long long)r->errors, r->exhausted ? "short" : "",
		       bl > 0 ? r->rate / bl : 0, bb > 0 ? r->rate / bb : 0, bv > 0 ? r->rate / bv : 0,
		       bz > 0 ? r->rate / bz : 0);
	}
	printf("\nratios: throughput / (limit / cost per unit).  Cost per unit: a write (SUBMIT, CLAIM,\n"
	       "DISPENSE; STATUS too, for its audit entry) is one LMDB record; signatures verified:\n"
	       "SUBMIT 3, CLAIM 2, DISPENSE 2, STATUS 1; one round trip per request.  1/commit: each\n"
	       "write fsync'd alone (mean of the two measurements); 100/commit: writes grouped 100 to\n"
	       "an fsync, which rxd's group commit can approach.  rxd cpu: cores' worth of its CPU time.\n"
	       "KiB/req: bytes rxd wrote per request (LMDB's dirty pages at each commit, and its log).\n");
	printf("single client: one request at a time with a 1 ms pause; its LMDB commit alone takes "
	       "%.2f ms (1 / commits per second).\n",
	       lmdb1_of(L) > 0 ? 1000.0 / lmdb1_of(L) : 0);
	printf("rxd resident anonymous memory at the end: %ld KiB\n", rss_kib);
	if (o->vs_postgres && !PG.have)
		printf("\nPostgreSQL: not measured: %s\n", PG.why);
	if (PG.have) {
		printf("\nPostgreSQL 1 row per prescription, FOR UPDATE SKIP LOCKED claims, fsync and "
		       "synchronous_commit on, no signatures checked; same clients, same seconds\n");
		for (int i = 0; i < 2; i++)
			printf("%-20s %10s %-7s %7.2f %7.2f %8.2f %7s %7s %6llu %5s  rxd / PostgreSQL = %.2f\n",
			       i ? "pg claim+dispense" : "pg submit", fmt_rate(PG.rate[i], a, sizeof a),
			       i ? "pairs/s" : "req/s", PG.p50[i], PG.p99[i], PG.p999[i], "", "",
			       (unsigned long long)PG.errors[i], PG.ran_out[i] ? "short" : "",
			       PG.rate[i] > 0 ? res[i].rate / PG.rate[i] : 0);
	}
	if (SCALE.stored) {
		printf("\nscale: stored at the start    %14ld %14ld   ratio\n", SCALE.stored, stored);
		for (int i = 0; i < 2; i++)
			if (!res[i].skipped && SCALE.small[i].units)
				printf("       %-22s %14s %14s   %.2f\n", res[i].name,
				       fmt_rate(SCALE.small[i].rate, a, sizeof a), fmt_rate(res[i].rate, b, sizeof b),
				       SCALE.small[i].rate > 0 ? res[i].rate / SCALE.small[i].rate : 0);
	}
	for (int i = 0; i < nres; i++)
		if (res[i].exhausted)
			printf("short: %s ran out of pre-signed requests before its time was up\n",
			       res[i].name);
}

static int write_json(const char *path, const options_t *o, const limits_t *L, result_t *res,
		      int nres, const char *model, long ncpu, double load, long stored, long rss_kib)
{
	json_t *root = json_object(), *lim = json_object(), *wl = json_array();
	json_object_set_new(root, "machine",
			    json_pack("{s:i, s:s, s:f}", "cores", (int)ncpu, "model", model,
				      "load_average", load));
	json_object_set_new(root, "settings",
			    json_pack("{s:i, s:i, s:I, s:I, s:i}", "seconds", o->seconds, "clients",
				      o->clients, "preload", (json_int_t)o->preload,
				      "stored_at_start", (json_int_t)stored, "patients", o->patients));
	json_object_set_new(lim, "ed25519_verifies_per_s", json_real(L->verify));
	json_object_set_new(lim, "lmdb_commits_per_s_1_record", json_real(L->lmdb1));
	json_object_set_new(lim, "lmdb_commits_per_s_1_record_after", json_real(L->lmdb1_after));
	json_object_set_new(lim, "lmdb_commits_per_s_100_records", json_real(L->lmdb100));
	json_object_set_new(lim, "lmdb_records_per_s_100_per_commit", json_real(L->lmdb100 * 100));
	json_object_set_new(lim, "zmq_round_trips_per_s", json_real(L->zmq));
	json_object_set_new(lim, "zmq_curve_round_trips_per_s", json_real(L->zmq_curve));
	json_object_set_new(root, "limits", lim);
	for (int i = 0; i < nres; i++) {
		result_t *r = &res[i];
		double zl = L->zmq_curve > 0 ? L->zmq_curve : L->zmq;
		double bl = bound(lmdb1_of(L), r->commits), bb = bound(L->lmdb100 * 100, r->commits),
		       bv = bound(L->verify, r->verifies), bz = bound(zl, r->trips);
		if (r->skipped)
			continue;
		json_t *x = json_pack(
			"{s:s, s:s, s:f, s:I, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:b}",
			"name", r->name, "unit", r->unit, "seconds", r->secs, "units", (json_int_t)r->units,
			"per_second", r->rate, "p50_ms", r->p50, "p99_ms", r->p99, "p999_ms", r->p999,
			"submits", (json_int_t)r->submits, "pairs", (json_int_t)r->pairs, "statuses",
			(json_int_t)r->statuses, "errors", (json_int_t)r->errors, "rxd_cpu_cores",
			r->rxd_cpu, "bench_cpu_cores", r->bench_cpu, "rxd_kib_written_per_request",
			r->kib_per_req, "ran_short", r->exhausted);
		json_object_set_new(x, "ratio",
				    json_pack("{s:f, s:f, s:f, s:f}", "lmdb_commits_1_record", bl > 0 ? r->rate / bl : 0,
					      "lmdb_records_100_per_commit", bb > 0 ? r->rate / bb : 0,
					      "ed25519_verifies", bv > 0 ? r->rate / bv : 0,
					      "zmq_round_trips", bz > 0 ? r->rate / bz : 0));
		json_array_append_new(wl, x);
	}
	json_object_set_new(root, "workloads", wl);
	json_object_set_new(root, "rxd_rss_anon_kib", json_integer(rss_kib));
	if (SCALE.stored)
		json_object_set_new(root, "scale",
				    json_pack("{s:I, s:f, s:f, s:I, s:f, s:f}", "small_stored",
					      (json_int_t)SCALE.stored, "small_submit_per_second",
					      SCALE.small[0].rate, "small_pairs_per_second", SCALE.small[1].rate,
					      "stored", (json_int_t)stored, "submit_per_second", res[0].rate,
					      "pairs_per_second", res[1].rate));
	if (PG.have) {
		json_t *pg = json_array();
		for (int i = 0; i < 2; i++)
			json_array_append_new(
				pg, json_pack("{s:s, s:f, s:f, s:f, s:f, s:I, s:b, s:f}", "name",
					      i ? "claim+dispense" : "submit", "per_second", PG.rate[i], "p50_ms",
					      PG.p50[i], "p99_ms", PG.p99[i], "p999_ms", PG.p999[i], "errors",
					      (json_int_t)PG.errors[i], "ran_short", PG.ran_out[i],
					      "rxd_over_postgres", PG.rate[i] > 0 ? res[i].rate / PG.rate[i] : 0));
		json_object_set_new(root, "postgres", pg);
	}
	int rc = json_dump_file(root, path, JSON_INDENT(2));
	json_decref(root);
	return rc;
}

int main(int argc, char **argv)
{
	bench_t B;
	char rxd_path[PATH_MAX], why[300], model[128];
	limits_t L = {0};
	result_t res[NWL];
	double load = 0;

	memset(&B, 0, sizeof B);
	parse(argc, argv, &B.opt);
	options_t *o = &B.opt;
	if (rx_crypto_init() != RX_OK)
		die("%s", "libsodium did not start");
	if (o->rxd)
		snprintf(rxd_path, sizeof rxd_path, "%s", o->rxd);
	else
		default_rxd(rxd_path, sizeof rxd_path);
	if (access(rxd_path, X_OK) != 0)
		die("no rxd at %s (give --rxd PATH or set RXD)", rxd_path);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_model(model, sizeof model);
	getloadavg(&load, 1);

	/* The machine first, with rxd not yet running. */
	int lim_ms = o->seconds < 2 ? 500 : 2000;
	fprintf(stderr, "rx-bench: measuring the machine's limits...\n");
	L.verify = bench_limit_verify((int)ncpu, 600, lim_ms);
	L.lmdb1 = bench_limit_lmdb(o->dir, 1, 512, lim_ms);
	L.lmdb100 = bench_limit_lmdb(o->dir, 100, 512, lim_ms);
	L.zmq = bench_limit_zmq(0, 600, 256, lim_ms);
	L.zmq_curve = bench_limit_zmq(1, 600, 256, lim_ms);

	fprintf(stderr, "rx-bench: starting %s...\n", rxd_path);
	/* A preloaded store needs room: about 3 KiB a prescription (its record,
	 * its stored reply, indexes, audit), with margin. */
	long map_mib = o->preload > 100000 ? 1024 + o->preload / 128 : 0;
	/* An existing store keeps what it has and gets a GiB to grow. */
	struct stat mst;
	char mdb[600];
	snprintf(mdb, sizeof mdb, "%s/data.mdb", o->data ? o->data : "");
	if (o->data && stat(mdb, &mst) == 0)
		map_mib += 1024 + (long)(mst.st_size >> 20);
	if (bench_rxd_start(&B.rxd, rxd_path, o->dir, o->data, map_mib, o->metrics, why, sizeof why) != 0 ||
	    bench_rxd_populate(&B.rxd, o->patients, why, sizeof why) != 0) {
		bench_rxd_stop(&B.rxd);
		if (!o->keep)
			bench_rxd_remove(&B.rxd);
		die("%s", why);
	}
	B.pool = calloc(POOL_MAX, sizeof *B.pool);
	B.done = calloc(POOL_MAX, sizeof *B.done);
	B.zctx = zmq_ctx_new();
	B.nworkers = o->clients;
	B.w = calloc((size_t)o->clients, sizeof *B.w);
	if (!B.pool || !B.done || !B.zctx || !B.w)
		die("%s", "out of memory");
	for (int i = 0; i < o->clients; i++) {
		worker_t *w = &B.w[i];
		/* No resends: a slow reply is measured, not retried. */
		rxc_options_t oc = {.timeout_ms = 120000, .resend_ms = 120000,
				    .curve = &B.rxd.clinic_curve, .server_key = B.rxd.server_key},
			      op = oc;
		op.curve = &B.rxd.pharmacy_curve;
		w->B = &B;
		w->window = o->window;
		if (rxc_new(&w->clinic, B.zctx, B.rxd.endpoint, &B.rxd.prescriber, &oc) != RX_OK ||
		    rxc_new(&w->pharmacy, B.zctx, B.rxd.endpoint, &B.rxd.pharmacist, &op) != RX_OK)
			die("%s", "cannot connect to rxd");
		/* The CurveZMQ handshakes now, not in the first timed request:
		 * a STATUS of a malformed id is refused without a write. */
		rxc_result_t r;
		(void)rxc_status(w->clinic, "0000-0000-000+", NULL, &r);
		rxc_result_free(&r);
		(void)rxc_status(w->pharmacy, "0000-0000-000+", NULL, &r);
		rxc_result_free(&r);
	}
	sanity(&B);

	/* A short calibration sizes how many requests to sign per workload. */
	prepare(&B, B.nworkers, 100, choose_submit);
	result_t cal = run(&B, B.nworkers, 1, "calibration", "req");
	if (cal.errors)
		die("%s", "submits fail; see above");
	double rate = cal.rate > 10 ? cal.rate : 10;
	fprintf(stderr, "rx-bench: calibration: %.0f submits/s\n", rate);

	/* With a big preload, submit and claim+dispense are measured first at
	 * SCALE_SMALL prescriptions stored, then again at the full preload. */
	if (o->preload > SCALE_SMALL && (o->workloads & 3u)) {
		preload_to(&B, SCALE_SMALL);
		SCALE.stored = B.stored;
		if (o->workloads & 1u) {
			fprintf(stderr, "rx-bench: submit at %ld stored...\n", B.stored);
			prepare(&B, B.nworkers, jobs_for(rate, o->seconds, B.nworkers), choose_submit);
			SCALE.small[0] = run(&B, B.nworkers, o->seconds, "submit", "req/s");
		}
		if (o->workloads & 2u) {
			fprintf(stderr, "rx-bench: claim+dispense at %ld stored...\n", B.stored);
			size_t per = jobs_for(rate / 2, o->seconds, B.nworkers);
			fill_pool(&B, per * (size_t)B.nworkers, rate);
			prepare(&B, B.nworkers, per, choose_pair);
			SCALE.small[1] = run(&B, B.nworkers, o->seconds, "claim+dispense", "pairs/s");
		}
	}
	preload_to(&B, o->preload);
	long stored = B.stored;

	static const char *const names[NWL] = {"submit", "claim+dispense", "mixed day",
					       "single client, idle", "submit, half peak"};
	for (int i = 0; i < NWL; i++)
		if (!(o->workloads & 1u << i))
			res[i] = (result_t){.name = names[i], .unit = "", .skipped = 1};
	if (o->workloads & 1u) {
		fprintf(stderr, "rx-bench: submit...\n");
		prepare(&B, B.nworkers, jobs_for(rate, o->seconds, B.nworkers), choose_submit);
		res[0] = run(&B, B.nworkers, o->seconds, names[0], "req/s");
		if (res[0].rate > rate)
			rate = res[0].rate;
	}
	size_t per;
	if (o->workloads & 2u) {
		fprintf(stderr, "rx-bench: claim+dispense...\n");
		/* A pair is two requests: about half the submit rate. */
		per = jobs_for(rate / 2, o->seconds, B.nworkers);
		fill_pool(&B, per * (size_t)B.nworkers, rate);
		prepare(&B, B.nworkers, per, choose_pair);
		res[1] = run(&B, B.nworkers, o->seconds, names[1], "pairs/s");
	}
	if (o->workloads & 4u) {
		fprintf(stderr, "rx-bench: mixed day...\n");
		per = jobs_for(rate, o->seconds, B.nworkers);
		fill_pool(&B, per * (size_t)B.nworkers / 3, rate);
		prepare(&B, B.nworkers, per, choose_mixed);
		res[2] = run(&B, B.nworkers, o->seconds, names[2], "req/s");
		/* Counted in requests (a pair is two); latency stays per unit. */
		res[2].per_request = 1;
		res[2].rate = (double)(res[2].submits + 2 * res[2].pairs + res[2].statuses) / res[2].secs;
	}
	if (o->workloads & 8u) {
		fprintf(stderr, "rx-bench: single client...\n");
		B.w[0].gap_us = 1000;
		B.w[0].window = 1;
		prepare(&B, 1, (size_t)o->seconds * 1000, choose_submit);
		res[3] = run(&B, 1, o->seconds, names[3], "req/s");
		res[3].exhausted = 0; /* paced: it is expected to finish early or on time */
		B.w[0].gap_us = 0;
		B.w[0].window = o->window;
	}
	if (o->workloads & 16u) {
		/* Half the submit peak (this run's, or the calibration's), offered
		 * at a steady pace whatever the replies do. */
		double peak = o->workloads & 1u ? res[0].rate : rate;
		int64_t pace = (int64_t)(1e9 * B.nworkers / (peak / 2 > 1 ? peak / 2 : 1));
		fprintf(stderr, "rx-bench: submit at half peak (%.0f/s)...\n", peak / 2);
		prepare(&B, B.nworkers, jobs_for(peak / 2, o->seconds, B.nworkers), choose_submit);
		for (int i = 0; i < B.nworkers; i++)
			B.w[i].pace_ns = pace;
		res[4] = run(&B, B.nworkers, o->seconds, names[4], "req/s");
		res[4].exhausted = 0; /* paced: it may finish its jobs on time */
		for (int i = 0; i < B.nworkers; i++)
			B.w[i].pace_ns = 0;
	}
	for (int i = 0; i < NWL; i++)
		costs(&res[i]);

	long rss = bench_rxd_rss_anon_kib(&B.rxd);
	L.lmdb1_after = bench_limit_lmdb(o->dir, 1, 512, lim_ms);
	for (int i = 0; i < o->clients; i++) {
		rxc_destroy(&B.w[i].clinic);
		rxc_destroy(&B.w[i].pharmacy);
	}
	zmq_ctx_term(B.zctx);
	int status = bench_rxd_stop(&B.rxd);
	if (o->keep)
		fprintf(stderr, "rx-bench: data dir kept: %s\n", B.rxd.dir);
	else
		bench_rxd_remove(&B.rxd);

	if (o->vs_postgres) {
#ifdef RX_BENCH_PG
		bench_pg_t *pg = NULL;
		bench_pg_result_t pr[2];
		fprintf(stderr, "rx-bench: PostgreSQL...\n");
		if (bench_pg_start(&pg, o->dir, getenv("RX_PG_BINDIR"), PG.why, sizeof PG.why) == 0 &&
		    bench_pg_submit(pg, o->clients, o->seconds, &pr[0]) == 0 &&
		    bench_pg_claim_dispense(pg, o->clients, o->seconds, &pr[1]) == 0) {
			PG.have = 1;
			for (int i = 0; i < 2; i++) {
				PG.rate[i] = pr[i].per_second;
				PG.p50[i] = pr[i].p50;
				PG.p99[i] = pr[i].p99;
				PG.p999[i] = pr[i].p999;
				PG.errors[i] = pr[i].errors;
				PG.ran_out[i] = pr[i].ran_out;
			}
		} else if (PG.why[0] == '\0')
			snprintf(PG.why, sizeof PG.why, "a workload failed");
		bench_pg_destroy(&pg);
#else
		snprintf(PG.why, sizeof PG.why, "rx-bench was built without libpq");
#endif
	}
	print_table(o, &L, res, NWL, model, ncpu, load, stored, rss);
	if (o->json && write_json(o->json, o, &L, res, NWL, model, ncpu, load, stored, rss) != 0)
		die("cannot write %s", o->json);
	uint64_t errors = 0;
	for (int i = 0; i < NWL; i++)
		errors += res[i].errors;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s", "rxd did not stop cleanly");
	free(B.pool);
	free(B.done);
	free(B.w);
	return errors ? 2 : 0;
}
