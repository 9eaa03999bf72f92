/* Integration: a failing disk.  rxd runs under the fault shim (tests/faults)
 * and the test makes LMDB's writes and syncs fail with EIO or ENOSPC at
 * chosen moments: rxd answers UNAVAILABLE, acknowledges nothing it did not
 * commit, keeps serving reads, and resumes writes when the fault clears,
 * with the data intact. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "testutil.h"

typedef struct {
	harness_t h;
	rx_keypair_t doc, ph, card;
	char patient[RX_PATIENT_ID_LEN + 1];
	rxc_t *cdoc, *cph;
} world_t;

static rx_err_t submit(world_t *w, char id[RX_ID_LEN + 1])
{
	Rx__Signed sp, card;
	rxc_result_t r;
	char notes[48];
	snprintf(notes, sizeof notes, "fault-%u", (unsigned)randombytes_random());
	harness_prescription(&w->doc, "", 1, 0, 0, notes, &sp);
	harness_assertion(&w->h, &w->card, &w->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	rx_err_t err = rxc_submit(w->cdoc, NULL, &sp, &card, &r);
	if (err == RX_OK)
		strcpy(id, r.receipt->prescription_id);
	rxc_result_free(&r);
	rxc_signed_free(&sp);
	rxc_signed_free(&card);
	return err;
}

static rx_err_t claim(world_t *w, const char *id, uint8_t token[RX_TOKEN_LEN])
{
	Rx__Signed card;
	rxc_result_t r;
	harness_assertion(&w->h, &w->card, &w->ph, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	rx_err_t err = rxc_claim(w->cph, NULL, id, &proof, &r);
	if (err == RX_OK)
		memcpy(token, r.receipt->claim_token.data, RX_TOKEN_LEN);
	rxc_result_free(&r);
	rxc_signed_free(&card);
	return err;
}

static int state_of(world_t *w, const char *id)
{
	rxc_result_t r;
	rx_err_t err = rxc_status(w->cdoc, id, NULL, &r);
	int s = err == RX_OK ? (int)r.receipt->state : -(int)err;
	rxc_result_free(&r);
	return s;
}

static void fault_cycle(const char *mode)
{
	world_t w;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1], c[RX_ID_LEN + 1];
	uint8_t tok[RX_TOKEN_LEN];
	const char *shim = getenv("RX_FAULT_SHIM");
	ck_assert_ptr_nonnull(shim);
	memset(&w, 0, sizeof w);
	ck_assert_int_eq(harness_start_faulty(&w.h, shim), 0);
	ck_assert_int_eq(harness_key(&w.h, &w.doc, RX_ROLE_PRESCRIBER, "1312345678"), 0);
	ck_assert_int_eq(harness_key(&w.h, &w.ph, RX_ROLE_PHARMACY, "1398765432"), 0);
	ck_assert_int_eq(harness_enroll(&w.h, "123456789018", w.patient), 0);
	ck_assert_int_eq(harness_card(&w.h, w.patient, &w.card), 0);
	w.cdoc = harness_client(&w.h, NULL, &w.doc, 0);
	w.cph = harness_client(&w.h, NULL, &w.ph, 0);
	ck_assert_int_eq(submit(&w, a), RX_OK);

	/* The disk fails: changes are refused, nothing is acknowledged... */
	harness_fault(&w.h, mode);
	ck_assert_int_eq(submit(&w, b), RX_UNAVAILABLE);
	ck_assert_int_eq(claim(&w, a, tok), RX_UNAVAILABLE);
	/* ...but reads are still served. */
	ck_assert_int_eq(state_of(&w, a), RX_STATE_ISSUED);
	Rx__Stats st;
	ck_assert_int_eq(harness_stats(&w.h, &st), 0);
	ck_assert_uint_eq(st.prescriptions, 1);

	/* The fault clears: writes resume, the data is intact. */
	harness_fault(&w.h, NULL);
	ck_assert_int_eq(submit(&w, c), RX_OK);
	ck_assert_int_eq(claim(&w, a, tok), RX_OK);
	Rx__Signed rec;
	rxc_result_t r;
	harness_dispense_record(&w.ph, a, 0, &rec);
	ck_assert_int_eq(rxc_dispense(w.cph, NULL, a, tok, &rec, &r), RX_OK);
	rxc_result_free(&r);
	rxc_signed_free(&rec);

	/* And after a restart on a healthy disk, exactly what was acknowledged. */
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	w.h.preload[0] = '\0';
	ck_assert_int_eq(harness_restart(&w.h), 0);
	rxc_destroy(&w.cdoc);
	w.cdoc = harness_client(&w.h, NULL, &w.doc, 0);
	ck_assert_int_eq(state_of(&w, a), RX_STATE_DISPENSED);
	ck_assert_int_eq(state_of(&w, c), RX_STATE_ISSUED);
	ck_assert_int_eq(harness_stats(&w.h, &st), 0);
	ck_assert_uint_eq(st.prescriptions, 2);
	ck_assert_uint_eq(st.dispense_records, 1);
	rxc_destroy(&w.cdoc);
	rxc_destroy(&w.cph);
	harness_cleanup(&w.h);
}

/* ---- long operator work beside the requests ---- */

/* A BACKUP sent from a thread of the test, as rxctl would send it. */
typedef struct {
	const char *dir, *dest;
	Rx__AdminReply *reply;
	int done;
} backup_call_t;

static void *backup_thread(void *arg)
{
	backup_call_t *b = arg;
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	char msg[256];
	q.op = RX__ADMIN_OP__BACKUP;
	q.path = (char *)b->dest;
	(void)rxc_admin(b->dir, 60000, &q, &b->reply, msg, sizeof msg);
	__atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Hold the copy into dest mid-write (the shim's HOLD), start the backup and
 * return once the shim says a write of the copy is held. */
static void start_held_backup(world_t *w, backup_call_t *b, pthread_t *t, const char *dest)
{
	char hold[400], mark[400];
	snprintf(hold, sizeof hold, "HOLD %s/", dest);
	snprintf(mark, sizeof mark, "%s.held", w->h.fault_file);
	unlink(mark);
	harness_fault(&w->h, hold);
	*b = (backup_call_t){.dir = w->h.dir, .dest = dest};
	ck_assert_int_eq(pthread_create(t, NULL, backup_thread, b), 0);
	int64_t deadline = harness_ms() + 30000;
	while (access(mark, F_OK) != 0) {
		ck_assert_msg(harness_ms() < deadline, "the backup never started writing its copy");
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int backups_audited(world_t *w)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	int n = 0;
	q.op = RX__ADMIN_OP__AUDIT_TAIL;
	q.count = 100;
	ck_assert_int_eq(harness_admin(&w->h, &q, &r), 0);
	ck_assert_int_eq(r->status, RX__STATUS__OK);
	for (size_t i = 0; i < r->n_audit; i++)
		n += strcmp(r->audit[i]->action, "BACKUP") == 0;
	rx__admin_reply__free_unpacked(r, NULL);
	return n;
}

/* A backup runs on a thread of its own: while its copy is held mid-write,
 * rxd takes submits, answers reads, stats and another long request (an
 * audit verify); once let go, the backup is answered and audited.  And a
 * SIGTERM during a backup lets it finish and answers it before rxd stops. */
START_TEST(backup_runs_beside_requests)
{
	world_t w;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1], dest[300], dest2[300], path[400];
	backup_call_t call;
	pthread_t t;
	const char *shim = getenv("RX_FAULT_SHIM");
	ck_assert_ptr_nonnull(shim);
	memset(&w, 0, sizeof w);
	ck_assert_int_eq(harness_start_faulty(&w.h, shim), 0);
	ck_assert_int_eq(harness_key(&w.h, &w.doc, RX_ROLE_PRESCRIBER, "1312345678"), 0);
	ck_assert_int_eq(harness_key(&w.h, &w.ph, RX_ROLE_PHARMACY, "1398765432"), 0);
	ck_assert_int_eq(harness_enroll(&w.h, "123456789018", w.patient), 0);
	ck_assert_int_eq(harness_card(&w.h, w.patient, &w.card), 0);
	w.cdoc = harness_client(&w.h, NULL, &w.doc, 0);
	w.cph = harness_client(&w.h, NULL, &w.ph, 0);
	ck_assert_int_eq(submit(&w, a), RX_OK);

	snprintf(dest, sizeof dest, "%s/bk", w.h.dir);
	start_held_backup(&w, &call, &t, dest);
	ck_assert_int_eq(submit(&w, b), RX_OK);
	ck_assert_int_eq(state_of(&w, a), RX_STATE_ISSUED);
	ck_assert_int_eq(state_of(&w, b), RX_STATE_ISSUED);
	Rx__Stats st;
	ck_assert_int_eq(harness_stats(&w.h, &st), 0);
	ck_assert_uint_eq(st.prescriptions, 2);
	ck_assert_uint_eq(st.issued, 2);
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	q.op = RX__ADMIN_OP__AUDIT_VERIFY;
	ck_assert_int_eq(harness_admin(&w.h, &q, &r), 0);
	ck_assert_int_eq(r->status, RX__STATUS__OK);
	ck_assert_int_eq(r->verdict->ok, 1);
	rx__admin_reply__free_unpacked(r, NULL);
	/* all of that while the copy was still held */
	ck_assert_int_eq(__atomic_load_n(&call.done, __ATOMIC_SEQ_CST), 0);
	ck_assert_int_eq(backups_audited(&w), 0);

	harness_fault(&w.h, NULL);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_ptr_nonnull(call.reply);
	ck_assert_int_eq(call.reply->status, RX__STATUS__OK);
	ck_assert_uint_gt(call.reply->backup_bytes, 0);
	rx__admin_reply__free_unpacked(call.reply, NULL);
	ck_assert_int_eq(backups_audited(&w), 1);

	/* SIGTERM while a backup is held: rxd waits for it, answers it, stops. */
	snprintf(dest2, sizeof dest2, "%s/bk2", w.h.dir);
	start_held_backup(&w, &call, &t, dest2);
	ck_assert_int_eq(kill(w.h.pid, SIGTERM), 0);
	harness_fault(&w.h, NULL);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_ptr_nonnull(call.reply);
	ck_assert_int_eq(call.reply->status, RX__STATUS__OK);
	rx__admin_reply__free_unpacked(call.reply, NULL);
	int status = harness_stop(&w.h, SIGTERM);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(path, sizeof path, "%s/data.mdb", dest2);
	ck_assert_int_eq(access(path, R_OK), 0);
	w.h.preload[0] = '\0';
	ck_assert_int_eq(harness_restart(&w.h), 0);
	ck_assert_int_eq(backups_audited(&w), 2);
	rxc_destroy(&w.cdoc);
	rxc_destroy(&w.cph);
	harness_cleanup(&w.h);
}
END_TEST

START_TEST(disk_fails_with_eio)
{
	fault_cycle("EIO");
}
END_TEST

START_TEST(disk_is_full)
{
	fault_cycle("ENOSPC");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("faults");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, disk_fails_with_eio);
	tcase_add_test(tc, disk_is_full);
	tcase_add_test(tc, backup_runs_beside_requests);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
