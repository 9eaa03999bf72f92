/* Integration: a patient reads their own prescriptions through a patient
 * portal (PATIENT_LIST, PATIENT_STATUS; proto/README 5.6): every state,
 * with a date range, one with what was dispensed, each read in the
 * patient's own access log; and what is refused. */
#include <check.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "rx_ids.h"

#define PHARMACY "1398765432"
#define CLINIC "1312345678"

typedef struct {
	harness_t h;
	rx_keypair_t doc, ph, card, card2;
	char patient[RX_PATIENT_ID_LEN + 1], patient2[RX_PATIENT_ID_LEN + 1];
	rxc_t *cdoc, *cph;
	harness_inst_t *portal;
} world_t;

static void world_up(world_t *w)
{
	memset(w, 0, sizeof *w);
	ck_assert_msg(harness_start(&w->h, 0) == 0, "rxd did not start (is $RXD set?)");
	ck_assert_int_eq(harness_key(&w->h, &w->doc, RX_ROLE_PRESCRIBER, CLINIC), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph, RX_ROLE_PHARMACY, PHARMACY), 0);
	ck_assert_int_eq(harness_enroll(&w->h, "123456789018", w->patient), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient, &w->card), 0);
	ck_assert_int_eq(harness_enroll(&w->h, "000000000019", w->patient2), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient2, &w->card2), 0);
	ck_assert_ptr_nonnull(w->portal = harness_institution(&w->h, "PORTAL", 3));
	w->cdoc = harness_client(&w->h, NULL, &w->doc, 0);
	w->cph = harness_client(&w->h, NULL, &w->ph, 0);
}

static void world_down(world_t *w)
{
	rxc_destroy(&w->cdoc);
	rxc_destroy(&w->cph);
	harness_cleanup(&w->h);
}

/* SUBMIT for the patient of card, issued at issued_at; the id. */
static void submit(world_t *w, const rx_keypair_t *card, int64_t issued_at, char id[RX_ID_LEN + 1])
{
	harness_rx_t sp;
	Rx__Signed a;
	rxc_result_t r;
	char notes[48];
	snprintf(notes, sizeof notes, "patient-%u", (unsigned)randombytes_random());
	harness_prescription(&w->doc, "", 1, issued_at, 0, notes, &sp);
	harness_assertion(&w->h, card, &w->doc, RX__PURPOSE__PURPOSE_ISSUE, &a);
	/* the duplicate check would refuse the second of the same drug */
	sp.p.override_reason = (char *)"test: the same drug again";
	ck_assert_int_eq(rxc_submit(w->cdoc, NULL, &sp.p, &a, &r), RX_OK);
	strcpy(id, r.receipt->prescription_id);
	rxc_result_free(&r);
	rxc_signed_free(&a);
}

/* The pharmacy claims id with the card and dispenses it as written. */
static void dispense(world_t *w, const char *id)
{
	Rx__Signed a;
	rxc_result_t r;
	harness_rec_t rec;
	uint8_t token[RX_TOKEN_LEN];
	harness_assertion(&w->h, &w->card, &w->ph, RX__PURPOSE__PURPOSE_DISPENSE, &a);
	rxc_proof_t proof = {.card = &a};
	ck_assert_int_eq(rxc_claim(w->cph, NULL, id, &proof, &r), RX_OK);
	memcpy(token, r.receipt->claim_token.data, RX_TOKEN_LEN);
	rxc_result_free(&r);
	rxc_signed_free(&a);
	harness_dispense_record(&w->ph, id, 0, &rec);
	ck_assert_int_eq(rxc_dispense(w->cph, NULL, id, token, &rec.d, &r), RX_OK);
	rxc_result_free(&r);
}

/* The patient's own call through the portal: signed by signer, presenting
 * card's assertion of purpose made at inst.  PATIENT_LIST if id is NULL. */
static rx_err_t own(world_t *w, const rx_keypair_t *signer, const rx_keypair_t *card, int purpose,
		    const char *inst, const char *id, int64_t from, int64_t until, rxc_result_t *r)
{
	harness_inst_t *via = strcmp(inst, "PORTAL") == 0 ? w->portal : harness_institution(&w->h, inst, 2);
	rxc_t *c = harness_client_curve(&w->h, NULL, signer, &via->curve, 0);
	Rx__Signed a;
	ck_assert_int_eq(rxc_card_assertion(card, purpose, inst, (int64_t)time(NULL), &a), RX_OK);
	rx_err_t err = id ? rxc_patient_status(c, &a, id, r) : rxc_patient_list(c, &a, from, until, r);
	rxc_signed_free(&a);
	rxc_destroy(&c);
	return err;
}

static rx_err_t own_list(world_t *w, int64_t from, int64_t until, rxc_result_t *r)
{
	return own(w, &w->card, &w->card, RX__PURPOSE__PURPOSE_VIEW, "PORTAL", NULL, from, until, r);
}

START_TEST(patient_reads_own_prescriptions)
{
	world_t w;
	rxc_result_t r;
	char old[RX_ID_LEN + 1], done[RX_ID_LEN + 1], gone[RX_ID_LEN + 1], theirs[RX_ID_LEN + 1];
	int64_t now = (int64_t)time(NULL);
	world_up(&w);
	submit(&w, &w.card, now - 3600, old);
	submit(&w, &w.card, now - 60, done);
	dispense(&w, done);
	submit(&w, &w.card, now - 30, gone);
	ck_assert_int_eq(rxc_cancel(w.cdoc, NULL, gone, RX__CANCEL_REASON__CANCEL_PATIENT_REQUEST, &r), RX_OK);
	rxc_result_free(&r);
	submit(&w, &w.card2, now - 10, theirs);

	/* Every state, newest first, none of another patient's. */
	ck_assert_int_eq(own_list(&w, 0, 0, &r), RX_OK);
	ck_assert_str_eq(r.receipt->patient_id, w.patient);
	ck_assert_uint_eq(r.receipt->n_prescriptions, 3);
	ck_assert_str_eq(r.receipt->prescriptions[0]->prescription_id, gone);
	ck_assert_int_eq(r.receipt->prescriptions[0]->state, RX__STATE__CANCELLED_STATE);
	ck_assert_str_eq(r.receipt->prescriptions[1]->prescription_id, done);
	ck_assert_int_eq(r.receipt->prescriptions[1]->state, RX__STATE__DISPENSED);
	ck_assert_str_eq(r.receipt->prescriptions[2]->prescription_id, old);
	ck_assert_int_eq(r.receipt->prescriptions[2]->state, RX__STATE__ISSUED);
	rxc_result_free(&r);
	/* A date range: issued in the last ten minutes; before the last hour. */
	ck_assert_int_eq(own_list(&w, now - 600, 0, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->n_prescriptions, 2);
	rxc_result_free(&r);
	ck_assert_int_eq(own_list(&w, 0, now - 600, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->n_prescriptions, 1);
	ck_assert_str_eq(r.receipt->prescriptions[0]->prescription_id, old);
	rxc_result_free(&r);

	/* One, with what was handed over: verified by the client as STATUS's. */
	ck_assert_int_eq(own(&w, &w.card, &w.card, RX__PURPOSE__PURPOSE_VIEW, "PORTAL", done, 0, 0, &r), RX_OK);
	ck_assert_ptr_nonnull(r.prescription);
	ck_assert_str_eq(r.receipt->prescription_id, done);
	ck_assert_uint_eq(r.n_dispenses, 1);
	ck_assert_int_eq(r.receipt->state, RX__STATE__DISPENSED);
	ck_assert_uint_eq(r.receipt->claim_token.len, 0);
	rxc_result_free(&r);

	/* Another patient's prescription reads as none, as an unknown id does. */
	ck_assert_int_eq(own(&w, &w.card, &w.card, RX__PURPOSE__PURPOSE_VIEW, "PORTAL", theirs, 0, 0, &r),
			 RX_NOT_FOUND);
	rxc_result_free(&r);
	/* ... and is told nothing through the logs either: the attempt is in
	 * the asking patient's own log, not in the other patient's. */
	{
		Rx__Signed a2;
		rxc_t *c2 = harness_client_curve(&w.h, NULL, &w.card2, &w.portal->curve, 0);
		ck_assert_int_eq(rxc_card_assertion(&w.card2, RX__PURPOSE__PURPOSE_VIEW, "PORTAL",
						    (int64_t)time(NULL), &a2),
				 RX_OK);
		ck_assert_int_eq(rxc_log(c2, &a2, &r), RX_OK);
		for (size_t i = 0; i < r.receipt->n_log; i++)
			ck_assert_msg(strcmp(r.receipt->log[i]->action, "PATIENT_STATUS") != 0,
				      "another patient's attempt is in this patient's log");
		rxc_result_free(&r);
		rxc_signed_free(&a2);
		rxc_destroy(&c2);
	}

	/* Each read is in the patient's own log. */
	Rx__Signed a;
	rxc_t *c = harness_client_curve(&w.h, NULL, &w.card, &w.portal->curve, 0);
	ck_assert_int_eq(rxc_card_assertion(&w.card, RX__PURPOSE__PURPOSE_VIEW, "PORTAL", (int64_t)time(NULL), &a),
			 RX_OK);
	ck_assert_int_eq(rxc_log(c, &a, &r), RX_OK);
	int lists = 0, reads = 0;
	for (size_t i = 0; i < r.receipt->n_log; i++) {
		lists += strcmp(r.receipt->log[i]->action, "PATIENT_LIST") == 0;
		reads += strcmp(r.receipt->log[i]->action, "PATIENT_STATUS") == 0 &&
			 strcmp(r.receipt->log[i]->prescription_id, done) == 0 &&
			 strcmp(r.receipt->log[i]->institution_code, "PORTAL") == 0;
	}
	ck_assert_int_eq(lists, 3);
	ck_assert_int_eq(reads, 1);
	rxc_result_free(&r);
	rxc_signed_free(&a);
	rxc_destroy(&c);
	world_down(&w);
}
END_TEST

START_TEST(patient_reads_refused)
{
	world_t w;
	rxc_result_t r;
	char id[RX_ID_LEN + 1];
	world_up(&w);
	submit(&w, &w.card, 0, id);
	/* The card's assertion must be for viewing. */
	ck_assert_int_eq(own(&w, &w.card, &w.card, RX__PURPOSE__PURPOSE_DISPENSE, "PORTAL", NULL, 0, 0, &r),
			 RX_ASSERTION_MISMATCH);
	rxc_result_free(&r);
	/* Only through a portal. */
	ck_assert_int_eq(own(&w, &w.card, &w.card, RX__PURPOSE__PURPOSE_VIEW, PHARMACY, id, 0, 0, &r),
			 RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	/* Signed by the card it presents. */
	ck_assert_int_eq(own(&w, &w.card2, &w.card, RX__PURPOSE__PURPOSE_VIEW, "PORTAL", id, 0, 0, &r),
			 RX_ASSERTION_MISMATCH);
	rxc_result_free(&r);
	/* A range runs forward. */
	ck_assert_int_eq(own_list(&w, 2000, 1000, &r), RX_INVALID);
	rxc_result_free(&r);
	/* An unknown id (well formed). */
	char unknown[RX_ID_LEN + 1];
	rx_rxid_new(unknown);
	ck_assert_int_eq(own(&w, &w.card, &w.card, RX__PURPOSE__PURPOSE_VIEW, "PORTAL", unknown, 0, 0, &r),
			 RX_NOT_FOUND);
	rxc_result_free(&r);
	/* A pharmacy's key is not the patient's, and not the portal's. */
	ck_assert_int_eq(own(&w, &w.ph, &w.card, RX__PURPOSE__PURPOSE_VIEW, "PORTAL", id, 0, 0, &r),
			 RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	world_down(&w);
}
END_TEST

/* Write text to dir/name. */
static void put_file(const char *dir, const char *name, const char *text)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0600), 0); /* the CLIs refuse a key file others can read */
}

/* The real rx-patient with the portal's connection and the card, args
 * after them; its stdout into out.  Its exit status. */
static int rx_patient(const world_t *w, char *out, size_t cap, const char *args)
{
	const char *tool = getenv("RX_PATIENT");
	char cmd[2048], server[RX_Z85_LEN + 1];
	ck_assert_msg(tool != NULL, "$RX_PATIENT must name rx-patient");
	rx_z85_encode(w->h.server_key, server);
	snprintf(cmd, sizeof cmd,
		 "cd '%s' && '%s' --broker '%s' --curve-key portal.curve --server-key '%s' --card p.card "
		 "--institution PORTAL %s 2>&1",
		 w->h.dir, tool, w->h.endpoint, server, args);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* rx-patient list and show: JSON, a readable table, FHIR. */
START_TEST(rx_patient_cli)
{
	world_t w;
	char id[RX_ID_LEN + 1], out[65536], text[256], pub[RX_Z85_LEN + 1], sec[RX_Z85_LEN + 1], hex[80],
		args[128];
	world_up(&w);
	submit(&w, &w.card, 0, id);
	dispense(&w, id);
	rx_z85_encode(w.portal->curve.pk, pub);
	rx_z85_encode(w.portal->curve.sk, sec);
	snprintf(text, sizeof text, "public = %s\nsecret = %s\n", pub, sec);
	put_file(w.h.dir, "portal.curve", text);
	rx_hex(w.card.sk, RX_SEED_LEN, hex); /* libsodium's secret key starts with the seed */
	strcat(hex, "\n");
	put_file(w.h.dir, "p.card", hex);

	int rc = rx_patient(&w, out, sizeof out, "list");
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, id) && strstr(out, "\"DISPENSED\""), "%s", out);
	ck_assert_int_eq(rx_patient(&w, out, sizeof out, "list --table"), 0);
	ck_assert_msg(strstr(out, "issued") && strstr(out, id) && strstr(out, "0 of 1"), "%s", out);
	ck_assert_int_eq(rx_patient(&w, out, sizeof out, "list --from 2000-01-01 --until 2000-01-02"), 0);
	ck_assert_msg(strstr(out, id) == NULL, "%s", out);
	ck_assert_int_eq(rx_patient(&w, out, sizeof out, "list --from 2026-02-30"), 1);
	snprintf(args, sizeof args, "show %s --table", id);
	ck_assert_int_eq(rx_patient(&w, out, sizeof out, args), 0);
	ck_assert_msg(strstr(out, "use 1,") && strstr(out, "item 1 as written") && strstr(out, PHARMACY), "%s",
		      out);
	snprintf(args, sizeof args, "show %s --fhir", id);
	ck_assert_int_eq(rx_patient(&w, out, sizeof out, args), 0);
	ck_assert_msg(strstr(out, "MedicationDispense") && strstr(out, "MedicationRequest"), "%s", out);
	snprintf(args, sizeof args, "show %s", id);
	ck_assert_int_eq(rx_patient(&w, out, sizeof out, args), 0);
	ck_assert_msg(strstr(out, "\"dispenses\"") && strstr(out, "\"prescription\""), "%s", out);
	/* A refusal: its code, exit status 2. */
	rx_rxid_new(id);
	snprintf(args, sizeof args, "show %s", id);
	ck_assert_int_eq(rx_patient(&w, out, sizeof out, args), 2);
	ck_assert_msg(strstr(out, "NOT_FOUND"), "%s", out);
	world_down(&w);
}
END_TEST

static Suite *patient_suite(void)
{
	Suite *s = suite_create("patient");
	TCase *tc = tcase_create("own");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, patient_reads_own_prescriptions);
	tcase_add_test(tc, patient_reads_refused);
	tcase_add_test(tc, rx_patient_cli);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (sodium_init() < 0)
		return EXIT_FAILURE;
	SRunner *sr = srunner_create(patient_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
