/* Integration: rxd under concurrency and crashes: pharmacies racing for
 * the same claim, and kill -9 mid-run losing nothing acknowledged. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <zmq.h>

#include "broker_world.h"

/* ---- 8 pharmacies race to claim each of 100 prescriptions ---- */

#define RACERS 8
#define ROUNDS 100

typedef struct {
	world_t *w;
	void *zctx;
	rx_keypair_t kp;
	pthread_barrier_t *start, *done;
	char (*ids)[RX_ID_LEN + 1];
	int wins[ROUNDS];
	int refused_other;
} racer_t;

static void *race(void *arg)
{
	racer_t *me = arg;
	rxc_options_t o = {.timeout_ms = 20000, .resend_ms = 2000};
	rxc_t *c;
	harness_curve_options(&me->w->h, &me->kp, &o);
	if (rxc_new(&c, me->zctx, me->w->h.endpoint, &me->kp, &o) != RX_OK)
		return NULL;
	for (int i = 0; i < ROUNDS; i++) {
		rxc_result_t r;
		pthread_barrier_wait(me->start);
		rx_err_t err = claim_as(c, &me->kp, NULL, me->ids[i], &r);
		me->wins[i] = err == RX_OK;
		if (err != RX_OK && err != RX_ALREADY_CLAIMED)
			me->refused_other++;
		rxc_result_free(&r);
		pthread_barrier_wait(me->done);
	}
	rxc_destroy(&c);
	return NULL;
}

START_TEST(claim_race_has_one_winner)
{
	world_t w;
	static char ids[ROUNDS][RX_ID_LEN + 1];
	racer_t racers[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t start, done;

	world_up(&w, 0);
	for (int i = 0; i < ROUNDS; i++)
		submit(&w, 1, ids[i]);
	void *zctx = zmq_ctx_new();
	pthread_barrier_init(&start, NULL, RACERS);
	pthread_barrier_init(&done, NULL, RACERS);
	for (int t = 0; t < RACERS; t++) {
		memset(&racers[t], 0, sizeof racers[t]);
		racers[t].w = &w;
		racers[t].zctx = zctx;
		racers[t].start = &start;
		racers[t].done = &done;
		racers[t].ids = ids;
		ck_assert_int_eq(harness_key(&w.h, &racers[t].kp, RX_ROLE_PHARMACY, "1350000000"), 0);
		pthread_create(&th[t], NULL, race, &racers[t]);
	}
	for (int t = 0; t < RACERS; t++)
		pthread_join(th[t], NULL);
	for (int i = 0; i < ROUNDS; i++) {
		int winners = 0;
		for (int t = 0; t < RACERS; t++)
			winners += racers[t].wins[i];
		ck_assert_msg(winners == 1, "prescription %d had %d winners", i, winners);
	}
	for (int t = 0; t < RACERS; t++)
		ck_assert_int_eq(racers[t].refused_other, 0);
	Rx__Stats s;
	ck_assert_int_eq(harness_stats(&w.h, &s), 0);
	ck_assert_uint_eq(s.claimed, ROUNDS);
	zmq_ctx_term(zctx);
	world_down(&w);
}
END_TEST

/* ---- kill -9 mid-run: every acknowledged change survives ---- */

typedef struct {
	world_t *w;
	volatile int stop;
	int acked;             /* completed submit+claim+dispense cycles */
	int acked_submit_only; /* the last cycle may stop after its submit */
	char ids[4096][RX_ID_LEN + 1];
	int failures;
} worker_t;

static void *work(void *arg)
{
	worker_t *k = arg;
	world_t *w = k->w;
	/* Long timeouts: requests in flight when rxd dies are resent, with the
	 * same request id, until the restarted rxd answers. */
	rxc_options_t od = {.timeout_ms = 30000, .resend_ms = 300}, op = od;
	rxc_t *doc, *ph;
	harness_curve_options(&w->h, &w->doc, &od);
	harness_curve_options(&w->h, &w->ph1, &op);
	if (rxc_new(&doc, NULL, w->h.endpoint, &w->doc, &od) != RX_OK ||
	    rxc_new(&ph, NULL, w->h.endpoint, &w->ph1, &op) != RX_OK) {
		k->failures++;
		return NULL;
	}
	while (!k->stop && k->acked < 4096) {
		harness_rx_t sp;
		harness_rec_t rec;
		rxc_result_t r;
		char notes[32], *id = k->ids[k->acked];
		uint8_t tok[RX_TOKEN_LEN];
		snprintf(notes, sizeof notes, "kill-%d-%u", k->acked, (unsigned)randombytes_random());
		harness_prescription(&w->doc, w->patient, 1, 0, 0, notes, &sp);
		rx_err_t err = submit_as(doc, &w->doc, NULL, &sp.p, &r);
		if (err != RX_OK) {
			k->failures++;
			rxc_result_free(&r);
			break;
		}
		strcpy(id, r.receipt->prescription_id);
		rxc_result_free(&r);
		k->acked_submit_only = 1;
		if (claim_as(ph, &w->ph1, NULL, id, &r) != RX_OK) {
			k->failures++;
			rxc_result_free(&r);
			break;
		}
		memcpy(tok, r.receipt->claim_token.data, RX_TOKEN_LEN);
		rxc_result_free(&r);
		harness_dispense_record(&w->ph1, id, 0, &rec);
		err = rxc_dispense(ph, NULL, id, tok, &rec.d, &r);
		rxc_result_free(&r);
		if (err != RX_OK) {
			k->failures++;
			break;
		}
		k->acked_submit_only = 0;
		__atomic_add_fetch(&k->acked, 1, __ATOMIC_SEQ_CST);
	}
	rxc_destroy(&doc);
	rxc_destroy(&ph);
	return NULL;
}

static void wait_acked(worker_t *k, int n)
{
	int64_t deadline = harness_ms() + 60000;
	while (__atomic_load_n(&k->acked, __ATOMIC_SEQ_CST) < n && harness_ms() < deadline &&
	       !k->failures)
		sched_yield();
	ck_assert_msg(k->acked >= n, "only %d cycles acknowledged (failures %d)", k->acked,
		      k->failures);
}

START_TEST(kill9_loses_nothing_acknowledged)
{
	static worker_t k;
	world_t w;
	pthread_t th;

	world_up(&w, 0);
	memset(&k, 0, sizeof k);
	k.w = &w;
	pthread_create(&th, NULL, work, &k);
	for (int cycle = 1; cycle <= 3; cycle++) {
		wait_acked(&k, cycle * 15);
		ck_assert_int_eq(WTERMSIG(harness_stop(&w.h, SIGKILL)), SIGKILL);
		ck_assert_int_eq(harness_restart(&w.h), 0);
	}
	wait_acked(&k, 60);
	k.stop = 1;
	pthread_join(th, NULL);
	ck_assert_int_eq(k.failures, 0);

	/* One more crash after the last acknowledgement, then check it all. */
	harness_stop(&w.h, SIGKILL);
	ck_assert_int_eq(harness_restart(&w.h), 0);
	for (int i = 0; i < k.acked; i++)
		ck_assert_int_eq(state_of(w.cph1, k.ids[i]), RX_STATE_DISPENSED);
	Rx__Stats s;
	ck_assert_int_eq(harness_stats(&w.h, &s), 0);
	ck_assert_uint_eq(s.dispense_records, (uint64_t)k.acked);
	ck_assert_uint_eq(s.dispensed, (uint64_t)k.acked);
	ck_assert_uint_eq(s.prescriptions, (uint64_t)(k.acked + k.acked_submit_only));
	world_down(&w);
}
END_TEST

TCase *broker_durability_tcase(void)
{
	TCase *tc = world_tcase("durability");
	tcase_add_test(tc, claim_race_has_one_winner);
	tcase_add_test(tc, kill9_loses_nothing_acknowledged);
	return tc;
}
