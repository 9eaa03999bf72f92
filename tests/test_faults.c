/* Integration: a failing disk.  rxd runs under the fault shim (tests/faults)
 * and the test makes LMDB's writes and syncs fail with EIO or ENOSPC at
 * chosen moments: rxd answers UNAVAILABLE, acknowledges nothing it did not
 * commit, keeps serving reads, and resumes writes when the fault clears,
 * with the data intact. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>
#include <unistd.h>

#include "harness.h"
#include "rx_ids.h"
#include "rxclient_int.h"
#include "testutil.h"

typedef struct {
	harness_t h;
	rx_keypair_t doc, ph, card;
	char patient[RX_PATIENT_ID_LEN + 1];
	rxc_t *cdoc, *cph;
} world_t;

static rx_err_t submit(world_t *w, char id[RX_ID_LEN + 1])
{
	harness_rx_t sp;
	Rx__Signed card;
	rxc_result_t r;
	char notes[48];
	snprintf(notes, sizeof notes, "fault-%u", (unsigned)randombytes_random());
	harness_prescription(&w->doc, "", 1, 0, 0, notes, &sp);
	harness_assertion(&w->h, &w->card, &w->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	rx_err_t err = rxc_submit(w->cdoc, NULL, &sp.p, &card, &r);
	if (err == RX_OK)
		strcpy(id, r.receipt->prescription_id);
	rxc_result_free(&r);
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

/* ---- replies of a batch that does not commit ----
 * A batch is what rxd read in one turn.  To put several requests in one,
 * rxd runs with no verify threads (it checks each request as it reads it)
 * and is stopped (SIGSTOP) while they are sent; rxd's log line of each
 * request says how big its batch was, so a run where they did not share
 * one is tried again rather than trusted. */

typedef struct {
	uint8_t *frame;
	size_t len;
	uint8_t rid[RX_REQUEST_ID_LEN];
} frame_t;

/* The frame of a call by kp about prescription id (op, and what the op needs). */
static void call_frame(const rx_keypair_t *kp, int op, const char *id, const uint8_t *token,
		       const Rx__Signed *card, const char *code, const Rx__DispenseRecord *record,
		       frame_t *f)
{
	Rx__Call call = RX__CALL__INIT;
	rxc_request_id(f->rid);
	call.request_id.data = f->rid;
	call.request_id.len = RX_REQUEST_ID_LEN;
	call.op = (Rx__Op)op;
	call.prescription_id = (char *)id;
	if (token) {
		call.claim_token.data = (uint8_t *)token;
		call.claim_token.len = RX_TOKEN_LEN;
	}
	call.card = (Rx__Signed *)card;
	call.access_code = (char *)(code ? code : "");
	ck_assert_int_eq(rxc_frame(kp, &call, record ? &record->base : NULL, &f->frame, &f->len), RX_OK);
}

/* The batch size rxd logged for the request with this id; 0 if none yet. */
static int logged_batch(const harness_t *h, const uint8_t rid[RX_REQUEST_ID_LEN])
{
	char path[300], hex[2 * RX_REQUEST_ID_LEN + 1], line[1200], want[64];
	int n = 0;
	rx_hex(rid, RX_REQUEST_ID_LEN, hex);
	snprintf(want, sizeof want, "rid=%s ", hex);
	snprintf(path, sizeof path, "%s/rxd.log", h->dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f)) {
		const char *b = strstr(line, " batch=");
		if (strstr(line, want) && b)
			n = atoi(b + 7);
	}
	fclose(f);
	return n;
}

/* Send n frames on c while rxd is stopped, then let it go and take the n
 * replies (decoded, in the order sent).  1 if rxd logged them all in one
 * batch of n. */
static int send_together(world_t *w, rxc_t *c, frame_t *f, int n, Rx__Reply **replies)
{
	/* The connection is up (its CurveZMQ handshake done) before rxd stops:
	 * a socket with ZMQ_IMMEDIATE queues nothing until then. */
	zmq_pollitem_t it = {rxc_socket(c), 0, ZMQ_POLLOUT, 0};
	ck_assert_int_eq(zmq_poll(&it, 1, 10000), 1);
	ck_assert_int_eq(kill(w->h.pid, SIGSTOP), 0);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(rxc_send_frame(c, f[i].frame, f[i].len), RX_OK);
	/* Time for the frames to reach rxd's socket buffer; if they do not,
	 * the run does not count (see above), so this is no synchronisation. */
	struct timespec ts = {0, 100 * 1000000L};
	nanosleep(&ts, NULL);
	ck_assert_int_eq(kill(w->h.pid, SIGCONT), 0);
	for (int i = 0; i < n; i++) {
		uint8_t *buf;
		size_t len;
		ck_assert_int_eq(rxc_recv_frame(c, 10000, &buf, &len), RX_OK);
		Rx__Reply *r = rx__reply__unpack(NULL, len, buf);
		free(buf);
		ck_assert_ptr_nonnull(r);
		int k = 0;
		while (k < n && !(r->request_id.len == RX_REQUEST_ID_LEN &&
				  memcmp(r->request_id.data, f[k].rid, RX_REQUEST_ID_LEN) == 0))
			k++;
		ck_assert_int_lt(k, n);
		replies[k] = r;
	}
	int together = 1;
	for (int i = 0; i < n; i++) {
		int64_t deadline = harness_ms() + 5000;
		int b;
		while ((b = logged_batch(&w->h, f[i].rid)) == 0 && harness_ms() < deadline)
			;
		together &= b == n;
	}
	return together;
}

static void frames_free(frame_t *f, Rx__Reply **r, int n)
{
	for (int i = 0; i < n; i++) {
		free(f[i].frame);
		if (r[i])
			rx__reply__free_unpacked(r[i], NULL);
		r[i] = NULL;
	}
}

static Rx__Receipt *receipt_of(const Rx__Reply *r)
{
	return rx__receipt__unpack(NULL, r->receipt.len, r->receipt.data);
}

static void world_start_serial(world_t *w)
{
	const char *shim = getenv("RX_FAULT_SHIM");
	ck_assert_ptr_nonnull(shim);
	memset(w, 0, sizeof *w);
	ck_assert_int_eq(harness_start_faulty_serial(&w->h, shim), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->doc, RX_ROLE_PRESCRIBER, "1312345678"), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph, RX_ROLE_PHARMACY, "1398765432"), 0);
	ck_assert_int_eq(harness_enroll(&w->h, "123456789018", w->patient), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient, &w->card), 0);
	w->cdoc = harness_client(&w->h, NULL, &w->doc, 0);
	w->cph = harness_client(&w->h, NULL, &w->ph, 0);
}

static void world_stop(world_t *w)
{
	rxc_destroy(&w->cdoc);
	rxc_destroy(&w->cph);
	harness_cleanup(&w->h);
}

#define TRIES 20

/* CLAIM then STATUS, pipelined, and the commit fails: the STATUS was
 * authorised only by the claim that was rolled back, so it must not say
 * CLAIMED (nor show the body): it is evaluated again against what is
 * committed, where this pharmacy has no claim. */
START_TEST(claim_status_rolled_back)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	int together = 0;
	world_start_serial(&w);
	for (int t = 0; t < TRIES && !together; t++) {
		frame_t f[2];
		Rx__Reply *r[2] = {NULL, NULL};
		Rx__Signed card;
		ck_assert_int_eq(submit(&w, id), RX_OK);
		harness_assertion(&w.h, &w.card, &w.ph, RX__PURPOSE__PURPOSE_DISPENSE, &card);
		call_frame(&w.ph, RX_OP_CLAIM, id, NULL, &card, NULL, NULL, &f[0]);
		call_frame(&w.ph, RX_OP_STATUS, id, NULL, NULL, NULL, NULL, &f[1]);
		rxc_signed_free(&card);
		harness_fault(&w.h, "EIO");
		together = send_together(&w, w.cph, f, 2, r);
		harness_fault(&w.h, NULL);
		ck_assert_int_eq(r[0]->status, RX_UNAVAILABLE);
		/* Evaluated again on committed state it is refused, and with the
		 * disk still failing that refusal cannot be recorded either. */
		ck_assert_int_eq(r[1]->status, RX_UNAVAILABLE);
		ck_assert_ptr_null(r[1]->prescription);
		ck_assert_uint_eq(r[1]->receipt.len, 0);
		frames_free(f, r, 2);
		ck_assert_int_eq(state_of(&w, id), RX_STATE_ISSUED);
	}
	ck_assert_msg(together, "rxd never applied the two requests in one batch");
	world_stop(&w);
}
END_TEST

/* A new prescription claimed by the pharmacy, then its DISPENSE and a
 * second request of op (STATUS, or the same DISPENSE under a new request
 * id) sent together while the disk fails.  The record into *rec (the
 * caller frees it), 1 if the two shared a batch. */
static int dispense_and(world_t *w, int op, char id[RX_ID_LEN + 1], uint8_t tok[RX_TOKEN_LEN],
			harness_rec_t *rec, frame_t f[2], Rx__Reply *r[2])
{
	ck_assert_int_eq(submit(w, id), RX_OK);
	ck_assert_int_eq(claim(w, id, tok), RX_OK);
	harness_dispense_record(&w->ph, id, 0, rec);
	call_frame(&w->ph, RX_OP_DISPENSE, id, tok, NULL, NULL, &rec->d, &f[0]);
	if (op == RX_OP_DISPENSE)
		call_frame(&w->ph, RX_OP_DISPENSE, id, tok, NULL, NULL, &rec->d, &f[1]);
	else
		call_frame(&w->ph, op, id, NULL, NULL, NULL, NULL, &f[1]);
	harness_fault(&w->h, "EIO");
	int together = send_together(w, w->cph, f, 2, r);
	harness_fault(&w->h, NULL);
	return together;
}

/* DISPENSE then STATUS by the claimer, and the commit fails: the STATUS
 * must not sign a DISPENSED state or show a dispense record that does not
 * exist; evaluated again, it says CLAIMED with no dispense. */
START_TEST(dispense_status_rolled_back)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	uint8_t tok[RX_TOKEN_LEN];
	int together = 0;
	world_start_serial(&w);
	for (int t = 0; t < TRIES && !together; t++) {
		frame_t f[2];
		Rx__Reply *r[2] = {NULL, NULL};
		harness_rec_t rec;
		together = dispense_and(&w, RX_OP_STATUS, id, tok, &rec, f, r);
		ck_assert_int_eq(r[0]->status, RX_UNAVAILABLE);
		ck_assert_int_eq(r[1]->status, RX_OK);
		Rx__Receipt *rc = receipt_of(r[1]);
		ck_assert_ptr_nonnull(rc);
		ck_assert_int_eq(rc->state, RX__STATE__CLAIMED);
		ck_assert_uint_eq(rc->uses_left, 1);
		ck_assert_uint_eq(r[1]->n_dispenses, 0);
		rx__receipt__free_unpacked(rc, NULL);
		frames_free(f, r, 2);
		ck_assert_int_eq(state_of(&w, id), RX_STATE_CLAIMED);
	}
	ck_assert_msg(together, "rxd never applied the two requests in one batch");
	world_stop(&w);
}
END_TEST

/* Two DISPENSEs of one claim in one batch, and the commit fails: the
 * second's ALREADY_DISPENSED was caused by the first, which never happened,
 * so it is UNAVAILABLE too; afterwards the prescription can be dispensed. */
START_TEST(refusal_by_rolled_back_sibling)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	uint8_t tok[RX_TOKEN_LEN];
	int together = 0;
	world_start_serial(&w);
	for (int t = 0; t < TRIES && !together; t++) {
		frame_t f[2];
		Rx__Reply *r[2] = {NULL, NULL};
		harness_rec_t rec;
		together = dispense_and(&w, RX_OP_DISPENSE, id, tok, &rec, f, r);
		ck_assert_int_eq(r[0]->status, RX_UNAVAILABLE);
		ck_assert_int_eq(r[1]->status, RX_UNAVAILABLE);
		frames_free(f, r, 2);
		rxc_result_t res;
		ck_assert_int_eq(rxc_dispense(w.cph, NULL, id, tok, &rec.d, &res), RX_OK);
		rxc_result_free(&res);
		ck_assert_int_eq(state_of(&w, id), RX_STATE_DISPENSED);
	}
	ck_assert_msg(together, "rxd never applied the two requests in one batch");
	world_stop(&w);
}
END_TEST

/* A code attempt, a lock and a card's nonce are security records: a
 * request whose record the disk refused is UNAVAILABLE, never answered.
 * Wrong codes on a failing disk count nothing (they were not answered);
 * on a healthy one the fifth locks, and the lock holds. */
START_TEST(security_records_durable)
{
	world_t w;
	char id[RX_ID_LEN + 1], code[RX_ACCESS_CODE_LEN + 1], wrong[RX_ACCESS_CODE_LEN + 1];
	rxc_result_t r;
	world_start_serial(&w);
	/* A submit with its slip: the code. */
	{
		harness_rx_t sp;
	Rx__Signed card;
		harness_prescription(&w.doc, "", 1, 0, 0, "code-fault", &sp);
		harness_assertion(&w.h, &w.card, &w.doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
		ck_assert_int_eq(rxc_submit(w.cdoc, NULL, &sp.p, &card, &r), RX_OK);
		snprintf(id, sizeof id, "%s", r.receipt->prescription_id);
		snprintf(code, sizeof code, "%s", r.receipt->access_code);
		rxc_result_free(&r);
		rxc_signed_free(&card);
	}
	do
		rx_access_code_new(wrong);
	while (strcmp(wrong, code) == 0);
	rxc_proof_t bad = {.access_code = wrong}, good = {.access_code = code};

	harness_fault(&w.h, "EIO");
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(rxc_claim(w.cph, NULL, id, &bad, &r), RX_UNAVAILABLE);
		rxc_result_free(&r);
	}
	/* A card's STATUS: its nonce cannot be stored, so no answer. */
	Rx__Signed card;
	harness_assertion(&w.h, &w.card, &w.ph, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t byc = {.card = &card};
	ck_assert_int_eq(rxc_status(w.cph, id, &byc, &r), RX_UNAVAILABLE);
	ck_assert_ptr_null(r.receipt);
	rxc_result_free(&r);
	harness_fault(&w.h, NULL);

	/* Healthy: the same assertion is answered once (its nonce was never
	 * stored), then refused as the replay it is. */
	ck_assert_int_eq(rxc_status(w.cph, id, &byc, &r), RX_OK);
	rxc_result_free(&r);
	ck_assert_int_eq(rxc_status(w.cph, id, &byc, &r), RX_ASSERTION_REPLAYED);
	rxc_result_free(&r);
	rxc_signed_free(&card);
	for (int i = 1; i <= 5; i++) { /* the fifth wrong code locks */
		ck_assert_int_eq(rxc_claim(w.cph, NULL, id, &bad, &r), RX_BAD_ACCESS_CODE);
		rxc_result_free(&r);
	}
	/* Locked: a failing disk does not open it... */
	harness_fault(&w.h, "EIO");
	ck_assert_int_eq(rxc_claim(w.cph, NULL, id, &good, &r), RX_UNAVAILABLE);
	rxc_result_free(&r);
	harness_fault(&w.h, NULL);
	/* ...nor does anything else. */
	ck_assert_int_eq(rxc_claim(w.cph, NULL, id, &good, &r), RX_ACCESS_LOCKED);
	rxc_result_free(&r);
	world_stop(&w);
}
END_TEST

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
	/* ...and the cluster's monitor sees it: rxd answers, but cannot commit. */
	char out[1024];
	ck_assert_int_eq(harness_rxctl(&w.h, out, sizeof out, "health"), 2);
	ck_assert_msg(strstr(out, "UNAVAILABLE") != NULL, "health: %s", out);
	/* ...but reads are still served. */
	ck_assert_int_eq(state_of(&w, a), RX_STATE_ISSUED);
	Rx__Stats st;
	ck_assert_int_eq(harness_stats(&w.h, &st), 0);
	ck_assert_uint_eq(st.prescriptions, 1);

	/* The fault clears: writes resume, the data is intact. */
	harness_fault(&w.h, NULL);
	ck_assert_int_eq(harness_rxctl(&w.h, out, sizeof out, "health"), 0);
	ck_assert_int_eq(submit(&w, c), RX_OK);
	ck_assert_int_eq(claim(&w, a, tok), RX_OK);
	harness_rec_t rec;
	rxc_result_t r;
	harness_dispense_record(&w.ph, a, 0, &rec);
	ck_assert_int_eq(rxc_dispense(w.cph, NULL, a, tok, &rec.d, &r), RX_OK);
	rxc_result_free(&r);

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
	char msg[256];  /* rxc_admin's message: why there is no reply */
} backup_call_t;

static void *backup_thread(void *arg)
{
	backup_call_t *b = arg;
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	q.op = RX__ADMIN_OP__BACKUP;
	q.path = (char *)b->dest;
	(void)rxc_admin(b->dir, 60000, &q, &b->reply, b->msg, sizeof b->msg);
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
	ck_assert_msg(call.reply != NULL, "no reply to the backup (%s); see %s/rxd.log", call.msg, w.h.dir);
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
	ck_assert_msg(call.reply != NULL, "no reply to the backup at SIGTERM (%s); see %s/rxd.log", call.msg,
		      w.h.dir);
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

/* Does rxd's log (the harness's DIR/rxd.log) hold needle? */
static int log_has(const harness_t *h, const char *needle)
{
	char path[400], line[1024];
	int found = 0;
	snprintf(path, sizeof path, "%s/rxd.log", h->dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* The last reply before the stop reaches a client that reads it late.  An
 * admin client as rxctl makes it (a DEALER with ZMQ_IMMEDIATE) loses a reply
 * it has received but not yet read if the connection drops first: so rxd
 * keeps its end open until the client hung up.  The client here reads the
 * backup's reply only well after rxd sent it, as a thread of a loaded
 * machine may; rxd once exited at once and the reply was lost. */
START_TEST(stop_waits_for_admin_reader)
{
	harness_t h;
	char dest[300], hold[400], mark[400], ep[400];
	const char *shim = getenv("RX_FAULT_SHIM");
	ck_assert_ptr_nonnull(shim);
	ck_assert_int_eq(harness_start_faulty(&h, shim), 0);
	snprintf(dest, sizeof dest, "%s/bk", h.dir);
	snprintf(hold, sizeof hold, "HOLD %s/", dest);
	snprintf(mark, sizeof mark, "%s.held", h.fault_file);
	unlink(mark);
	harness_fault(&h, hold);

	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_DEALER);
	int one = 1, zero = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(s, ZMQ_IMMEDIATE, &one, sizeof one);
	snprintf(ep, sizeof ep, "ipc://%s/admin.sock", h.dir);
	ck_assert_int_eq(zmq_connect(s, ep), 0);
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	q.op = RX__ADMIN_OP__BACKUP;
	q.path = dest;
	uint8_t frame[512];
	size_t len = rx__admin_request__pack(&q, frame);
	zmq_pollitem_t out = {s, 0, ZMQ_POLLOUT, 0};
	ck_assert_int_eq(zmq_poll(&out, 1, 10000), 1);
	ck_assert_int_eq(zmq_send(s, "", 0, ZMQ_SNDMORE), 0);
	ck_assert_int_eq(zmq_send(s, frame, len, 0), (int)len);

	int64_t deadline = harness_ms() + 30000;
	while (access(mark, F_OK) != 0) {
		ck_assert_msg(harness_ms() < deadline, "the backup never started writing its copy");
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	ck_assert_int_eq(kill(h.pid, SIGTERM), 0);
	harness_fault(&h, NULL);
	/* rxd has sent the reply once it logged it; the client looks only later */
	while (!log_has(&h, "admin_op=BACKUP")) {
		ck_assert_msg(harness_ms() < deadline, "rxd never answered the backup (see %s/rxd.log)", h.dir);
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	struct timespec late = {0, 300 * 1000 * 1000};
	nanosleep(&late, NULL);

	zmq_pollitem_t in = {s, 0, ZMQ_POLLIN, 0};
	ck_assert_msg(zmq_poll(&in, 1, 5000) == 1, "the backup's reply was lost at the stop (see %s/rxd.log)",
		      h.dir);
	zmq_msg_t m;
	zmq_msg_init(&m);
	do
		ck_assert_int_ge(zmq_msg_recv(&m, s, 0), 0);
	while (zmq_msg_more(&m));
	Rx__AdminReply *r = rx__admin_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, RX__STATUS__OK);
	rx__admin_reply__free_unpacked(r, NULL);
	zmq_msg_close(&m);
	zmq_close(s);
	zmq_ctx_term(ctx);
	/* the client hung up: rxd stops without waiting out its bound */
	int status = harness_stop(&h, SIGTERM);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(!log_has(&h, "event=admin_peers_left"));
	harness_cleanup(&h);
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
	tcase_add_test(tc, claim_status_rolled_back);
	tcase_add_test(tc, dispense_status_rolled_back);
	tcase_add_test(tc, refusal_by_rolled_back_sibling);
	tcase_add_test(tc, security_records_durable);
	tcase_add_test(tc, backup_runs_beside_requests);
	tcase_add_test(tc, stop_waits_for_admin_reader);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
