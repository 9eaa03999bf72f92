/* bench_run: the timed loop.
 *
 * Each client thread keeps up to its window of units in flight over its
 * two CurveZMQ connections (the clinic's for SUBMIT and STATUS, the
 * pharmacy's for CLAIM and DISPENSE), sending the frames bench_jobs signed
 * and timing each unit from its first request to its last reply.  The
 * clients decode replies but do not verify the broker's receipt signatures
 * (rxclient does; a benchmark need not).  bench_run gathers their figures,
 * with what rxd spent meanwhile (CPU, bytes written). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zmq.h>

#include "bench_int.h"
#include "bench_limits.h"
#include "rxclient_int.h"

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
	size_t len;
	uint8_t *frame = bench_jobs_dispense_frame(w->B, s->job, token, s->rid, &len);
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
		w->made[w->nmade].by = j->by;
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
		w->dispensed[w->ndispensed].by = j->by;
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
		bench_die("%s", "out of memory");
	pthread_barrier_wait(w->go);
	bench_t *B = w->B;
	int inflight = 0, dry = 0;
	int64_t next_start = now_ns();
	for (;;) {
		for (int i = 0; i < w->window && !dry && now_ns() < w->deadline_ns; i++) {
			slot_t *s = &slots[i];
			if (s->job)
				continue;
			if (w->pace_ns && now_ns() < next_start)
				break;
			size_t at = atomic_fetch_add(&B->next, 1);
			if (at >= B->nqueue) {
				dry = 1;
				break;
			}
			job_t *j = B->queue[at];
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
		int more = !dry && now_ns() < w->deadline_ns;
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
	w->exhausted = dry;
	w->end_ns = now_ns();
	return NULL;
}

result_t bench_run(bench_t *B, int nw, int seconds, const char *name, const char *unit)
{
	pthread_t th[MAX_CLIENTS];
	pthread_barrier_t go;
	result_t r = {.name = name, .unit = unit};
	pthread_barrier_init(&go, NULL, (unsigned)nw + 1);
	double cpu0 = bench_rxd_cpu(&B->rxd), self0 = self_cpu();
	long long wr0 = bench_rxd_written(&B->rxd), log0 = bench_rxd_log_size(&B->rxd);
	for (int i = 0; i < nw; i++) {
		worker_t *w = &B->w[i];
		w->go = &go;
		w->nlat = w->nmade = w->ndispensed = 0;
		w->n_submit = w->n_pair = w->n_status = w->n_bad = 0;
		w->exhausted = 0;
		if (pthread_create(&th[i], NULL, work, w) != 0)
			bench_die("%s", "cannot start a client thread");
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
	r.ncommits = bench_rxd_commits(&B->rxd, log0, bench_rxd_log_size(&B->rxd), r.commit_ms, r.inside_ms);
	uint32_t *all = malloc((nlat ? nlat : 1) * sizeof *all);
	if (all == NULL)
		bench_die("%s", "out of memory");
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
		bench_jobs_release(w);
	}
	bench_sort_us(all, n);
	r.units = n;
	r.rate = r.secs > 0 ? (double)n / r.secs : 0;
	r.p50 = bench_pct_ms(all, n, 0.50);
	r.p99 = bench_pct_ms(all, n, 0.99);
	r.p999 = bench_pct_ms(all, n, 0.999);
	free(all);
	return r;
}

size_t bench_run_jobs_for(double rate, int seconds, int nw)
{
	double want = rate * seconds * 2.5 / nw + 100;
	double cap = (double)MAX_JOBS_PER_PHASE / nw;
	return (size_t)(want < cap ? want : cap);
}

void bench_run_fill_pool(bench_t *B, size_t n, double rate)
{
	while (B->npool < n) {
		size_t need = n - B->npool, per = need / (size_t)B->nworkers + 1;
		size_t cap = bench_run_jobs_for(rate, 10, B->nworkers);
		if (per > cap)
			per = cap;
		bench_jobs_prepare(B, B->nworkers, per, bench_choose_submit);
		result_t r = bench_run(B, B->nworkers, 0, "fill", "req");
		if (r.errors)
			bench_die("%s", "submits failed while filling the pool");
	}
}

void bench_run_preload_to(bench_t *B, long n)
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
		bench_jobs_prepare(B, B->nworkers, per, bench_choose_submit);
		result_t r = bench_run(B, B->nworkers, 0, "preload", "req");
		if (r.errors)
			bench_die("%s", "preload submits failed");
		fprintf(stderr, "rx-bench: %ld stored (%.0f/s, %.1f KiB written a submit)\n", B->stored,
			r.rate, r.kib_per_req);
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	fprintf(stderr, "rx-bench: preload took %.1f s (%.0f submits/s with the signing)\n", secs,
		(double)(B->stored - from) / secs);
}
