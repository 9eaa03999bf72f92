/* Integration: a patient nominates a pharmacy with their card; the pharmacy
 * watching over its own connection is pushed new prescriptions and cancels,
 * each kept until ACKed, so one that was offline (or whose broker was
 * killed) gets its backlog when it WATCHes again. */
#include <check.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "rx_ids.h"

#define PHARMACY "1398765432"
#define OTHER_PHARMACY "1398765433"
#define CLINIC "1312345678"

typedef struct {
	harness_t h;
	rx_keypair_t doc, ph, ph2, card;
	char patient[RX_PATIENT_ID_LEN + 1];
	rxc_t *cdoc;
	harness_inst_t *portal;
} world_t;

static void world_up(world_t *w)
{
	memset(w, 0, sizeof *w);
	ck_assert_msg(harness_start(&w->h, 0) == 0, "rxd did not start (is $RXD set?)");
	ck_assert_int_eq(harness_key(&w->h, &w->doc, RX_ROLE_PRESCRIBER, CLINIC), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph, RX_ROLE_PHARMACY, PHARMACY), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph2, RX_ROLE_PHARMACY, OTHER_PHARMACY), 0);
	ck_assert_int_eq(harness_enroll(&w->h, "123456789018", w->patient), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient, &w->card), 0);
	ck_assert_ptr_nonnull(w->portal = harness_institution(&w->h, "PORTAL", 3));
	w->cdoc = harness_client(&w->h, NULL, &w->doc, 0);
}

static void world_down(world_t *w)
{
	rxc_destroy(&w->cdoc);
	harness_cleanup(&w->h);
}

/* NOMINATE pharmacy ("" removes) with a card assertion of purpose, made at
 * the portal, through the portal's connection signed by signer. */
static rx_err_t nominate(world_t *w, const rx_keypair_t *signer, int purpose, const char *pharmacy)
{
	rxc_t *c = harness_client_curve(&w->h, NULL, signer, &w->portal->curve, 0);
	Rx__Signed a;
	rxc_result_t r;
	ck_assert_int_eq(rxc_card_assertion(&w->card, purpose, "PORTAL", (int64_t)time(NULL), &a), RX_OK);
	rx_err_t err = rxc_nominate(c, &a, pharmacy, &r);
	if (err == RX_OK) {
		ck_assert_str_eq(r.receipt->pharmacy_code, pharmacy);
		ck_assert_str_eq(r.receipt->patient_id, w->patient);
	}
	rxc_result_free(&r);
	rxc_signed_free(&a);
	rxc_destroy(&c);
	return err;
}

static void submit(world_t *w, char id[RX_ID_LEN + 1])
{
	harness_rx_t sp;
	Rx__Signed card;
	rxc_result_t r;
	char notes[48];
	snprintf(notes, sizeof notes, "notice-%u", (unsigned)randombytes_random());
	harness_prescription(&w->doc, "", 1, (int64_t)time(NULL), 0, notes, &sp);
	harness_assertion(&w->h, &w->card, &w->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	ck_assert_int_eq(rxc_submit(w->cdoc, NULL, &sp.p, &card, &r), RX_OK);
	strcpy(id, r.receipt->prescription_id);
	rxc_result_free(&r);
	rxc_signed_free(&card);
}

/* WATCH on c; returns how many notices wait. */
static uint32_t watch(rxc_t *c)
{
	rxc_result_t r;
	ck_assert_int_eq(rxc_watch(c, &r), RX_OK);
	uint32_t n = r.receipt->notices;
	rxc_result_free(&r);
	return n;
}

/* The next notice on c within 10 s (a deadline, not a timing claim). */
static Rx__Notice *next(rxc_t *c)
{
	Rx__Notice *n = NULL;
	ck_assert_int_eq(rxc_notice(c, 10000, &n), RX_OK);
	ck_assert_int_eq(n->broker_key.len, RX_KEY_LEN);
	return n;
}

static void ack(rxc_t *c, uint64_t seq, uint32_t removed)
{
	rxc_result_t r;
	ck_assert_int_eq(rxc_ack(c, &seq, 1, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->notices, removed);
	rxc_result_free(&r);
}

START_TEST(nominated_pharmacy_is_pushed_new_and_cancel)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	rxc_result_t r;
	world_up(&w);
	ck_assert_int_eq(nominate(&w, &w.card, RX__PURPOSE__PURPOSE_NOMINATE, PHARMACY), RX_OK);

	rxc_t *cph = harness_client(&w.h, NULL, &w.ph, 0);
	rxc_t *cph2 = harness_client(&w.h, NULL, &w.ph2, 0);
	ck_assert_uint_eq(watch(cph), 0);
	ck_assert_uint_eq(watch(cph2), 0);

	submit(&w, id);
	Rx__Notice *n = next(cph);
	ck_assert_int_eq(n->kind, RX__NOTICE_KIND__NOTICE_NEW);
	ck_assert_str_eq(n->prescription_id, id);
	ck_assert_str_eq(n->patient_id, w.patient);
	ck_assert_str_eq(n->pharmacy_code, PHARMACY);
	ck_assert_str_eq(n->institution_code, CLINIC);
	ck_assert_int_eq(n->state, RX__STATE__ISSUED);
	uint64_t seq_new = n->seq;
	rx__notice__free_unpacked(n, NULL);
	ack(cph, seq_new, 1);
	ack(cph, seq_new, 0); /* again: already done */

	/* The nominated pharmacy may claim without the card; another may not. */
	rxc_proof_t none = {0};
	ck_assert_int_eq(rxc_claim(cph2, NULL, id, &none, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	ck_assert_int_eq(rxc_claim(cph, NULL, id, &none, &r), RX_OK);
	rxc_result_free(&r);
	ck_assert_int_eq(rxc_status(cph, id, &none, &r), RX_OK);
	rxc_result_free(&r);

	/* The prescriber cancels the claimed prescription: the claimer hears. */
	int64_t t0 = harness_ms();
	ck_assert_int_eq(rxc_cancel(w.cdoc, NULL, id, RX__CANCEL_REASON__CANCEL_THERAPY_CHANGED, &r), RX_OK);
	ck_assert_int_eq(r.receipt->cancel_reason, RX__CANCEL_REASON__CANCEL_THERAPY_CHANGED);
	rxc_result_free(&r);
	n = next(cph);
	fprintf(stderr, "notices: cancel reached the claimer %lld ms after the cancel was sent\n",
		(long long)(harness_ms() - t0));
	ck_assert_int_eq(n->kind, RX__NOTICE_KIND__NOTICE_CANCEL);
	ck_assert_str_eq(n->prescription_id, id);
	ck_assert(n->cancel_pending);
	ck_assert_int_eq(n->cancel_reason, RX__CANCEL_REASON__CANCEL_THERAPY_CHANGED); /* why, for the pharmacist */
	ck_assert_uint_gt(n->seq, seq_new);
	ack(cph, n->seq, 1);
	rx__notice__free_unpacked(n, NULL);
	/* Nothing went to the other pharmacy. */
	ck_assert_uint_eq(watch(cph2), 0);
	Rx__Notice *none_n = NULL;
	ck_assert_int_eq(rxc_notice(cph2, 200, &none_n), RX_UNREACHABLE);
	ck_assert_uint_eq(watch(cph), 0);

	/* Un-nominated: a new prescription notifies no one, and the pharmacy
	 * needs the card again. */
	ck_assert_int_eq(nominate(&w, &w.card, RX__PURPOSE__PURPOSE_NOMINATE, ""), RX_OK);
	submit(&w, id);
	ck_assert_uint_eq(watch(cph), 0);
	ck_assert_int_eq(rxc_claim(cph, NULL, id, &none, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	rxc_destroy(&cph);
	rxc_destroy(&cph2);
	world_down(&w);
}
END_TEST

START_TEST(offline_pharmacy_gets_backlog_once_acked)
{
	world_t w;
	char ids[3][RX_ID_LEN + 1];
	world_up(&w);
	ck_assert_int_eq(nominate(&w, &w.card, RX__PURPOSE__PURPOSE_NOMINATE, PHARMACY), RX_OK);
	for (int i = 0; i < 3; i++)
		submit(&w, ids[i]);
	/* The broker dies; the notices were committed with the submits. */
	rxc_destroy(&w.cdoc);
	harness_stop(&w.h, SIGKILL);
	ck_assert_int_eq(harness_restart(&w.h), 0);

	rxc_t *cph = harness_client(&w.h, NULL, &w.ph, 0);
	ck_assert_uint_eq(watch(cph), 3);
	uint64_t last = 0;
	for (int i = 0; i < 3; i++) {
		Rx__Notice *n = next(cph);
		ck_assert_str_eq(n->prescription_id, ids[i]); /* in order */
		ck_assert_uint_gt(n->seq, last);
		last = n->seq;
		if (i < 2)
			ack(cph, n->seq, 1);
		rx__notice__free_unpacked(n, NULL);
	}
	rxc_destroy(&cph);

	/* Reconnected: the one not ACKed comes again, and only it. */
	cph = harness_client(&w.h, NULL, &w.ph, 0);
	ck_assert_uint_eq(watch(cph), 1);
	Rx__Notice *n = next(cph);
	ck_assert_str_eq(n->prescription_id, ids[2]);
	ck_assert_uint_eq(n->seq, last);
	/* Another pharmacy cannot ACK it away. */
	rxc_t *cph2 = harness_client(&w.h, NULL, &w.ph2, 0);
	ack(cph2, n->seq, 0);
	ack(cph, n->seq, 1);
	rx__notice__free_unpacked(n, NULL);
	ck_assert_uint_eq(watch(cph), 0);
	rxc_destroy(&cph);
	rxc_destroy(&cph2);
	world_down(&w);
}
END_TEST

/* A submit the duplicate-medication check refuses never stood: no notice. */
START_TEST(refused_submit_sends_no_notice)
{
	world_t w;
	char id[RX_ID_LEN + 1], out[4096];
	world_up(&w);
	ck_assert_int_eq(harness_rxctl(&w.h, out, sizeof out, "drugs load '%s'", getenv("DRUGS_CSV")), 0);
	ck_assert_int_eq(nominate(&w, &w.card, RX__PURPOSE__PURPOSE_NOMINATE, PHARMACY), RX_OK);
	submit(&w, id);
	harness_rx_t sp;
	Rx__Signed card;
	rxc_result_t r;
	harness_prescription(&w.doc, "", 1, (int64_t)time(NULL), 0, "the same item again", &sp);
	harness_assertion(&w.h, &w.card, &w.doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	ck_assert_int_eq(rxc_submit(w.cdoc, NULL, &sp.p, &card, &r), RX_DUPLICATE_MEDICATION);
	rxc_result_free(&r);
	rxc_signed_free(&card);
	rxc_t *cph = harness_client(&w.h, NULL, &w.ph, 0);
	ck_assert_uint_eq(watch(cph), 1);
	Rx__Notice *n = next(cph);
	ck_assert_str_eq(n->prescription_id, id);
	rx__notice__free_unpacked(n, NULL);
	rxc_destroy(&cph);
	world_down(&w);
}
END_TEST

/* How many audit entries of action WATCH the log's last 200 hold. */
static int watch_entries(world_t *w)
{
	static char out[1 << 20];
	ck_assert_int_eq(harness_rxctl(&w->h, out, sizeof out, "audit tail -n 200"), 0);
	int n = 0;
	for (const char *p = out; (p = strstr(p, "\"WATCH\"")) != NULL; p++)
		n++;
	return n;
}

/* One pharmacy cannot take the watcher table from the others: past 8
 * connections its oldest is evicted (it no longer hears pushes; notices
 * wait in the store for its next WATCH), while another pharmacy watching
 * still gets its notice.  A WATCH heartbeat is not a new audit entry. */
START_TEST(watchers_capped_per_pharmacy)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	enum { N = 9 }; /* one more than WATCHERS_PER_INSTITUTION */
	rxc_t *c[N];
	world_up(&w);
	ck_assert_int_eq(nominate(&w, &w.card, RX__PURPOSE__PURPOSE_NOMINATE, PHARMACY), RX_OK);
	int before = watch_entries(&w);
	for (int i = 0; i < N; i++) {
		c[i] = harness_client(&w.h, NULL, &w.ph, 0);
		ck_assert_uint_eq(watch(c[i]), 0);
	}
	ck_assert_int_eq(watch_entries(&w), before + N);
	ck_assert_uint_eq(watch(c[N - 1]), 0); /* a heartbeat */
	ck_assert_int_eq(watch_entries(&w), before + N);
	rxc_t *other = harness_client(&w.h, NULL, &w.ph2, 0);
	ck_assert_uint_eq(watch(other), 0);

	submit(&w, id);
	for (int i = 1; i < N; i++) {
		Rx__Notice *n = next(c[i]);
		ck_assert_str_eq(n->prescription_id, id);
		rx__notice__free_unpacked(n, NULL);
	}
	/* Pushed to the others in the same turn as to these: had c[0] been
	 * kept, its copy would be there already. */
	Rx__Notice *none = NULL;
	ck_assert_int_eq(rxc_notice(c[0], 300, &none), RX_UNREACHABLE);

	/* The other pharmacy is nominated now, and hears the next one. */
	ck_assert_int_eq(nominate(&w, &w.card, RX__PURPOSE__PURPOSE_NOMINATE, OTHER_PHARMACY), RX_OK);
	submit(&w, id);
	Rx__Notice *n = next(other);
	ck_assert_str_eq(n->prescription_id, id);
	ck_assert_str_eq(n->pharmacy_code, OTHER_PHARMACY);
	rx__notice__free_unpacked(n, NULL);
	/* The evicted connection WATCHes again and gets the backlog. */
	ck_assert_uint_eq(watch(c[0]), 1);
	n = next(c[0]);
	rx__notice__free_unpacked(n, NULL);
	for (int i = 0; i < N; i++)
		rxc_destroy(&c[i]);
	rxc_destroy(&other);
	world_down(&w);
}
END_TEST

START_TEST(refusals)
{
	world_t w;
	rxc_result_t r;
	world_up(&w);
	/* Only a pharmacy may be nominated, and it must exist. */
	ck_assert_int_eq(nominate(&w, &w.card, RX__PURPOSE__PURPOSE_NOMINATE, CLINIC), RX_INVALID);
	ck_assert_int_eq(nominate(&w, &w.card, RX__PURPOSE__PURPOSE_NOMINATE, "1399999999"), RX_NOT_FOUND);
	ck_assert_int_eq(nominate(&w, &w.card, RX__PURPOSE__PURPOSE_NOMINATE, "no spaces"), RX_INVALID);
	/* The assertion must be for nominating, and sign the request itself. */
	ck_assert_int_eq(nominate(&w, &w.card, RX__PURPOSE__PURPOSE_VIEW, PHARMACY), RX_ASSERTION_MISMATCH);
	rx_keypair_t other;
	char p2[RX_PATIENT_ID_LEN + 1];
	ck_assert_int_eq(harness_enroll(&w.h, "000000000019", p2), 0);
	ck_assert_int_eq(harness_card(&w.h, p2, &other), 0);
	ck_assert_int_eq(nominate(&w, &other, RX__PURPOSE__PURPOSE_NOMINATE, PHARMACY), RX_ASSERTION_MISMATCH);

	/* Not through a pharmacy's connection. */
	rxc_t *c = harness_client_curve(&w.h, NULL, &w.card, &harness_institution(&w.h, PHARMACY, 2)->curve, 0);
	Rx__Signed a;
	ck_assert_int_eq(rxc_card_assertion(&w.card, RX__PURPOSE__PURPOSE_NOMINATE, PHARMACY,
					    (int64_t)time(NULL), &a), RX_OK);
	ck_assert_int_eq(rxc_nominate(c, &a, PHARMACY, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	rxc_signed_free(&a);
	rxc_destroy(&c);

	/* A clinic watches its own notices too (the inquiries pharmacies send
	 * it, proto/README 5.14): none wait here, and an ACK of another
	 * institution's notice removes nothing. */
	ck_assert_int_eq(rxc_watch(w.cdoc, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->notices, 0);
	rxc_result_free(&r);
	uint64_t seq = 1;
	ck_assert_int_eq(rxc_ack(w.cdoc, &seq, 1, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->notices, 0);
	rxc_result_free(&r);
	rxc_t *cph = harness_client(&w.h, NULL, &w.ph, 0);
	ck_assert_int_eq(rxc_ack(cph, NULL, 0, &r), RX_INVALID);
	rxc_result_free(&r);
	uint64_t many[300] = {0};
	ck_assert_int_eq(rxc_ack(cph, many, 300, &r), RX_INVALID);
	rxc_result_free(&r);
	rxc_destroy(&cph);
	world_down(&w);
}
END_TEST

/* The prescriber is told (5.9): its clinic, watching, is pushed each
 * dispense of its prescription (with the use) and a withdrawal, each kept
 * until ACKed (the sweep's expiry notice: the store's tests). */
START_TEST(clinic_is_told_what_became_of_it)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	rxc_result_t r;
	world_up(&w);
	rxc_t *clinic = harness_client(&w.h, NULL, &w.doc, 0);
	rxc_t *cph = harness_client(&w.h, NULL, &w.ph, 0);
	ck_assert_uint_eq(watch(clinic), 0);
	submit(&w, id);

	Rx__Signed a;
	harness_assertion(&w.h, &w.card, &w.ph, RX__PURPOSE__PURPOSE_DISPENSE, &a);
	rxc_proof_t proof = {.card = &a};
	ck_assert_int_eq(rxc_claim(cph, NULL, id, &proof, &r), RX_OK);
	uint8_t token[RX_TOKEN_LEN];
	memcpy(token, r.receipt->claim_token.data, RX_TOKEN_LEN);
	rxc_result_free(&r);
	rxc_signed_free(&a);
	harness_rec_t rec;
	harness_dispense_record(&w.ph, id, 0, &rec);
	ck_assert_int_eq(rxc_dispense(cph, NULL, id, token, &rec.d, &r), RX_OK);
	rxc_result_free(&r);
	Rx__Notice *n = next(clinic);
	ck_assert_int_eq(n->kind, RX__NOTICE_KIND__NOTICE_DISPENSED);
	ck_assert_str_eq(n->prescription_id, id);
	ck_assert_str_eq(n->pharmacy_code, CLINIC); /* the recipient */
	ck_assert_uint_eq(n->use, 1);
	ck_assert_int_eq(n->state, RX__STATE__DISPENSED);
	ack(clinic, n->seq, 1);
	rx__notice__free_unpacked(n, NULL);

	/* The pharmacy takes it back the same day: the clinic hears. */
	ck_assert_int_eq(rxc_status(cph, id, NULL, &r), RX_OK);
	Rx__DispenseRecord wd = RX__DISPENSE_RECORD__INIT;
	uint8_t h[RX_HASH_LEN];
	rx_hash(r.reply->dispenses[0]->record->body.data, r.reply->dispenses[0]->record->body.len, h);
	rxc_result_free(&r);
	wd.version = RX_DOC_VERSION;
	wd.prescription_id = id;
	wd.pharmacy_key.data = w.ph.pk;
	wd.pharmacy_key.len = RX_KEY_LEN;
	wd.replaces.data = h;
	wd.replaces.len = RX_HASH_LEN;
	wd.withdraw_reason = RX__WITHDRAW_REASON__NOT_COLLECTED;
	ck_assert_int_eq(rxc_withdraw(cph, NULL, id, &wd, &r), RX_OK);
	rxc_result_free(&r);
	n = next(clinic);
	ck_assert_int_eq(n->kind, RX__NOTICE_KIND__NOTICE_WITHDRAWN);
	ck_assert_uint_eq(n->use, 1);
	ack(clinic, n->seq, 1);
	rx__notice__free_unpacked(n, NULL);

	rxc_destroy(&cph);
	rxc_destroy(&clinic);
	world_down(&w);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("notices");
	TCase *tc = tcase_create("notices");
	tcase_add_test(tc, nominated_pharmacy_is_pushed_new_and_cancel);
	tcase_add_test(tc, offline_pharmacy_gets_backlog_once_acked);
	tcase_add_test(tc, refused_submit_sends_no_notice);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, watchers_capped_per_pharmacy);
	tcase_add_test(tc, clinic_is_told_what_became_of_it);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
