/* Integration: the real rxd on a temp dir and a kernel-chosen port, driven
 * through the client library over real sockets. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "harness.h"
#include "rx_check.h"
#include "rx_ids.h"
#include "testutil.h"

/* One broker with a prescriber, a second prescriber, two pharmacies and an
 * enrolled patient, for the tests below. */
typedef struct {
	harness_t h;
	rx_keypair_t doc, doc2, ph1, ph2;
	char patient[RX_PATIENT_ID_LEN + 1];
	rx_keypair_t card; /* the patient's My Number Card */
	rxc_t *cdoc, *cdoc2, *cph1, *cph2;
} world_t;

/* The world of the running test (one per forked test process). */
static world_t *W;

/* The signing key behind one of the world's clients. */
static const rx_keypair_t *key_of(rxc_t *c)
{
	return c == W->cdoc ? &W->doc : c == W->cdoc2 ? &W->doc2 : c == W->cph1 ? &W->ph1 : &W->ph2;
}

/* SUBMIT with the patient's card in the reader at kp's clinic. */
static rx_err_t submit_as(rxc_t *c, const rx_keypair_t *kp, const uint8_t *rid, const Rx__Signed *sp,
			  rxc_result_t *r)
{
	Rx__Signed card;
	harness_assertion(&W->h, &W->card, kp, RX__PURPOSE__PURPOSE_ISSUE, &card);
	rx_err_t err = rxc_submit(c, rid, sp, &card, r);
	rxc_signed_free(&card);
	return err;
}

/* CLAIM, STATUS and LIST with the patient's card at kp's pharmacy. */
static rx_err_t claim_as(rxc_t *c, const rx_keypair_t *kp, const uint8_t *rid, const char *id,
			 rxc_result_t *r)
{
	Rx__Signed card;
	harness_assertion(&W->h, &W->card, kp, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	rx_err_t err = rxc_claim(c, rid, id, &proof, r);
	rxc_signed_free(&card);
	return err;
}

static rx_err_t look_as(rxc_t *c, const rx_keypair_t *kp, const char *id, rxc_result_t *r)
{
	Rx__Signed card;
	harness_assertion(&W->h, &W->card, kp, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	rx_err_t err = id ? rxc_status(c, id, &proof, r) : rxc_list(c, NULL, NULL, &proof, r);
	rxc_signed_free(&card);
	return err;
}

#define SUBMIT(c, rid, sp, r) submit_as((c), key_of(c), (rid), (sp), (r))
#define CLAIM(c, rid, id, r) claim_as((c), key_of(c), (rid), (id), (r))

static void world_up(world_t *w, int map_mib)
{
	memset(w, 0, sizeof *w);
	W = w;
	ck_assert_msg(harness_start(&w->h, map_mib) == 0, "rxd did not start (is $RXD set?)");
	ck_assert_int_eq(harness_key(&w->h, &w->doc, RX_ROLE_PRESCRIBER, "1312345678"), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->doc2, RX_ROLE_PRESCRIBER, "1300000001"), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph1, RX_ROLE_PHARMACY, "1398765432"), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph2, RX_ROLE_PHARMACY, "1311112222"), 0);
	ck_assert_int_eq(harness_enroll(&w->h, "123456789018", w->patient), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient, &w->card), 0);
	w->cdoc = harness_client(&w->h, NULL, &w->doc, 0);
	w->cdoc2 = harness_client(&w->h, NULL, &w->doc2, 0);
	w->cph1 = harness_client(&w->h, NULL, &w->ph1, 0);
	w->cph2 = harness_client(&w->h, NULL, &w->ph2, 0);
}

static void world_down(world_t *w)
{
	rxc_destroy(&w->cdoc);
	rxc_destroy(&w->cdoc2);
	rxc_destroy(&w->cph1);
	rxc_destroy(&w->cph2);
	harness_cleanup(&w->h);
}

/* Submit a prescription; its id into id.  Asserts OK. */
static void submit(world_t *w, uint32_t uses, char id[RX_ID_LEN + 1])
{
	Rx__Signed sp;
	rxc_result_t r;
	char notes[64];
	/* Distinct notes, so two submits are two prescriptions, not a resubmit. */
	snprintf(notes, sizeof notes, "n%u", (unsigned)randombytes_random());
	harness_prescription(&w->doc, w->patient, uses, 0, 0, notes, &sp);
	ck_assert_int_eq(SUBMIT(w->cdoc, NULL, &sp, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__ISSUED);
	ck_assert_str_eq(r.receipt->patient_id, w->patient);
	strcpy(id, r.receipt->prescription_id);
	ck_assert_int_eq(rx_rxid_parse(id, id), RX_OK);
	rxc_result_free(&r);
	rxc_signed_free(&sp);
}

static void claim(rxc_t *c, const char *id, uint8_t token[RX_TOKEN_LEN])
{
	rxc_result_t r;
	ck_assert_int_eq(CLAIM(c, NULL, id, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__CLAIMED);
	ck_assert_int_eq(r.receipt->claim_token.len, RX_TOKEN_LEN);
	memcpy(token, r.receipt->claim_token.data, RX_TOKEN_LEN);
	rxc_result_free(&r);
}

static rx_err_t dispense(rxc_t *c, const rx_keypair_t *kp, const char *id,
			 const uint8_t token[RX_TOKEN_LEN], uint32_t use, int *state)
{
	Rx__Signed rec;
	rxc_result_t r;
	harness_dispense_record(kp, id, use, &rec);
	rx_err_t err = rxc_dispense(c, NULL, id, token, &rec, &r);
	if (err == RX_OK && state)
		*state = r.receipt->state;
	rxc_result_free(&r);
	rxc_signed_free(&rec);
	return err;
}

/* The state as the issuer sees it (every test prescription is Dr. doc's). */
static int state_of(rxc_t *c, const char *id)
{
	rxc_result_t r;
	(void)c;
	ck_assert_int_eq(rxc_status(W->cdoc, id, NULL, &r), RX_OK);
	int s = r.receipt->state;
	rxc_result_free(&r);
	return s;
}

START_TEST(lifecycle)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	uint8_t tok[RX_TOKEN_LEN];
	rxc_result_t r;
	int st;

	world_up(&w, 0);
	submit(&w, 1, id);

	/* STATUS by the pharmacy carries the prescriber-signed body, verified. */
	ck_assert_int_eq(look_as(w.cph1, &w.ph1, id, &r), RX_OK);
	ck_assert_ptr_nonnull(r.prescription);
	ck_assert_str_eq(r.prescription->items[0]->drug_code, "2171022F2025");
	ck_assert_int_eq(r.receipt->uses_left, 1);
	rxc_result_free(&r);

	/* LIST shows it to a pharmacy. */
	ck_assert_int_eq(look_as(w.cph1, &w.ph1, NULL, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->n_prescriptions, 1);
	ck_assert_str_eq(r.receipt->prescriptions[0]->prescription_id, id);
	rxc_result_free(&r);

	claim(w.cph1, id, tok);
	ck_assert_int_eq(rxc_release(w.cph1, NULL, id, tok, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__ISSUED);
	rxc_result_free(&r);
	claim(w.cph2, id, tok);
	ck_assert_int_eq(dispense(w.cph2, &w.ph2, id, tok, 0, &st), RX_OK);
	ck_assert_int_eq(st, RX_STATE_DISPENSED);
	ck_assert_int_eq(state_of(w.cdoc, id), RX_STATE_DISPENSED);

	/* Dispensed ones leave the open list. */
	ck_assert_int_eq(look_as(w.cph1, &w.ph1, NULL, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->n_prescriptions, 0);
	rxc_result_free(&r);

	/* A refill of 3 uses: ISSUED after each dispense but the last. */
	submit(&w, 3, id);
	for (uint32_t use = 1; use <= 3; use++) {
		claim(w.cph1, id, tok);
		ck_assert_int_eq(dispense(w.cph1, &w.ph1, id, tok, use, &st), RX_OK);
		ck_assert_int_eq(st, use < 3 ? RX_STATE_ISSUED : RX_STATE_DISPENSED);
		/* The same claim dispensed again (a new request id): already done. */
		ck_assert_int_eq(dispense(w.cph1, &w.ph1, id, tok, 0, NULL), RX_ALREADY_DISPENSED);
	}
	Rx__Stats s;
	ck_assert_int_eq(harness_stats(&w.h, &s), 0);
	ck_assert_uint_eq(s.dispense_records, 4);
	ck_assert_uint_eq(s.dispensed, 2);

	/* Cancel while claimed: pending; the dispense is refused; release completes it. */
	submit(&w, 1, id);
	claim(w.cph1, id, tok);
	ck_assert_int_eq(rxc_cancel(w.cdoc, NULL, id, &r), RX_OK);
	ck_assert(r.receipt->cancel_pending);
	rxc_result_free(&r);
	ck_assert_int_eq(dispense(w.cph1, &w.ph1, id, tok, 0, NULL), RX_CANCELLED);
	ck_assert_int_eq(rxc_release(w.cph1, NULL, id, tok, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__CANCELLED_STATE);
	rxc_result_free(&r);
	world_down(&w);
}
END_TEST

/* Send a hand-made request; returns the broker's status. */
static rx_err_t raw_status(rxc_t *c, const void *frame, size_t len, int with_delimiter)
{
	uint8_t *rep = NULL;
	size_t rlen = 0;
	const void *frames[2] = {"", frame};
	size_t lens[2] = {0, len};
	rx_err_t err = with_delimiter ? rxc_raw(c, frames, lens, 2, &rep, &rlen)
				      : rxc_raw(c, frames + 1, lens + 1, 1, &rep, &rlen);
	ck_assert_int_eq(err, RX_OK);
	Rx__Reply *r = rx__reply__unpack(NULL, rlen, rep);
	ck_assert_ptr_nonnull(r);
	err = (rx_err_t)r->status;
	rx__reply__free_unpacked(r, NULL);
	free(rep);
	return err;
}

/* A signed CLAIM request for id with one byte of the signature flipped if asked. */
static size_t claim_frame(const rx_keypair_t *kp, const char *id, int flip, uint8_t *out)
{
	Rx__Call call = RX__CALL__INIT;
	Rx__Request req = RX__REQUEST__INIT;
	uint8_t rid[RX_REQUEST_ID_LEN], cbuf[256], sig[RX_SIG_LEN];
	rxc_request_id(rid);
	call.request_id.data = rid;
	call.request_id.len = sizeof rid;
	call.op = RX__OP__CLAIM;
	call.prescription_id = (char *)id;
	size_t n = rx__call__pack(&call, cbuf);
	ck_assert_int_eq(rx_sign(RX_SIGN_CALL, kp->sk, cbuf, n, sig), RX_OK);
	sig[7] ^= (uint8_t)flip;
	req.key.data = (uint8_t *)kp->pk;
	req.key.len = RX_KEY_LEN;
	req.call.data = cbuf;
	req.call.len = n;
	req.signature.data = sig;
	req.signature.len = RX_SIG_LEN;
	return rx__request__pack(&req, out);
}

START_TEST(every_refusal)
{
	world_t w;
	char id[RX_ID_LEN + 1], ghost[RX_ID_LEN + 1];
	uint8_t tok[RX_TOKEN_LEN], frame[512], rid[RX_REQUEST_ID_LEN];
	rxc_result_t r;
	Rx__Signed sp;

	world_up(&w, 0);
	submit(&w, 1, id);

	/* INVALID: garbage, bad framing, a typo in the id's check character. */
	ck_assert_int_eq(raw_status(w.cph1, "\x01\x02garbage", 9, 1), RX_INVALID);
	ck_assert_int_eq(raw_status(w.cph1, "x", 1, 0), RX_INVALID);
	char typo[RX_ID_LEN + 1];
	strcpy(typo, id);
	typo[0] = typo[0] == '2' ? '3' : '2';
	ck_assert_int_eq(CLAIM(w.cph1, NULL, typo, &r), RX_INVALID);
	rxc_result_free(&r);

	/* BAD_SIGNATURE: one flipped bit in the request signature. */
	size_t n = claim_frame(&w.ph1, id, 0x10, frame);
	ck_assert_int_eq(raw_status(w.cph1, frame, n, 1), RX_BAD_SIGNATURE);

	/* UNKNOWN_KEY and KEY_REVOKED. */
	rx_keypair_t stranger;
	uint8_t seed[RX_SEED_LEN];
	randombytes_buf(seed, sizeof seed);
	rx_keypair_from_seed(seed, &stranger);
	rxc_t *cs = harness_client(&w.h, NULL, &stranger, 0);
	ck_assert_int_eq(claim_as(cs, &stranger, NULL, id, &r), RX_UNKNOWN_KEY);
	rxc_result_free(&r);
	rxc_destroy(&cs);
	rx_keypair_t gone;
	ck_assert_int_eq(harness_key(&w.h, &gone, RX_ROLE_PHARMACY, "1399999999"), 0);
	ck_assert_int_eq(harness_revoke(&w.h, &gone), 0);
	cs = harness_client(&w.h, NULL, &gone, 0);
	ck_assert_int_eq(claim_as(cs, &gone, NULL, id, &r), RX_KEY_REVOKED);
	rxc_result_free(&r);
	rxc_destroy(&cs);

	/* PERMISSION_DENIED: a pharmacy submitting; another prescriber cancelling. */
	harness_prescription(&w.ph1, w.patient, 1, 0, 0, "pharmacy", &sp);
	ck_assert_int_eq(SUBMIT(w.cph1, NULL, &sp, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	rxc_signed_free(&sp);
	ck_assert_int_eq(rxc_cancel(w.cdoc2, NULL, id, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);

	/* NOT_FOUND: a well-formed id nobody issued; a patient nobody enrolled. */
	do
		rx_rxid_new(ghost);
	while (strcmp(ghost, id) == 0);
	ck_assert_int_eq(CLAIM(w.cph1, NULL, ghost, &r), RX_NOT_FOUND);
	rxc_result_free(&r);

	/* ALREADY_CLAIMED, then ALREADY_DISPENSED. */
	claim(w.cph1, id, tok);
	ck_assert_int_eq(CLAIM(w.cph2, NULL, id, &r), RX_ALREADY_CLAIMED);
	rxc_result_free(&r);
	ck_assert_int_eq(dispense(w.cph2, &w.ph2, id, tok, 0, NULL), RX_PERMISSION_DENIED);
	ck_assert_int_eq(dispense(w.cph1, &w.ph1, id, tok, 0, NULL), RX_OK);
	ck_assert_int_eq(dispense(w.cph1, &w.ph1, id, tok, 0, NULL), RX_ALREADY_DISPENSED);
	ck_assert_int_eq(CLAIM(w.cph2, NULL, id, &r), RX_ALREADY_DISPENSED);
	rxc_result_free(&r);

	/* CANCELLED. */
	submit(&w, 1, id);
	ck_assert_int_eq(rxc_cancel(w.cdoc, NULL, id, &r), RX_OK);
	rxc_result_free(&r);
	ck_assert_int_eq(CLAIM(w.cph1, NULL, id, &r), RX_CANCELLED);
	rxc_result_free(&r);

	/* CONFLICT: the same request id with different bytes. */
	rxc_request_id(rid);
	submit(&w, 1, id);
	ck_assert_int_eq(CLAIM(w.cph1, rid, id, &r), RX_OK);
	rxc_result_free(&r);
	submit(&w, 1, ghost);
	ck_assert_int_eq(CLAIM(w.cph1, rid, ghost, &r), RX_CONFLICT);
	rxc_result_free(&r);

	/* EXPIRED: valid for two more seconds; poll status until it reads EXPIRED. */
	int64_t now = (int64_t)time(NULL);
	harness_prescription(&w.doc, w.patient, 1, now, now + 2, "short", &sp);
	rxc_request_id(rid);
	Rx__Signed card; /* one assertion: a retry resends the same bytes */
	harness_assertion(&w.h, &w.card, &w.doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	ck_assert_int_eq(rxc_submit(w.cdoc, rid, &sp, &card, &r), RX_OK);
	strcpy(id, r.receipt->prescription_id);
	rxc_result_free(&r);
	int64_t deadline = harness_ms() + 10000;
	while (state_of(w.cph1, id) != RX_STATE_EXPIRED && harness_ms() < deadline)
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL); /* poll, not hammer */
	ck_assert_int_eq(state_of(w.cph1, id), RX_STATE_EXPIRED);
	ck_assert_int_eq(CLAIM(w.cph1, NULL, id, &r), RX_EXPIRED);
	rxc_result_free(&r);
	/* A late retry of the submit still gets its original reply. */
	ck_assert_int_eq(rxc_submit(w.cdoc, rid, &sp, &card, &r), RX_OK);
	ck_assert_str_eq(r.receipt->prescription_id, id);
	rxc_result_free(&r);
	rxc_signed_free(&sp);
	rxc_signed_free(&card);
	/* ...and a prescription already past its validity is refused at submit. */
	harness_prescription(&w.doc, w.patient, 1, now - 100, now - 10, "late", &sp);
	ck_assert_int_eq(SUBMIT(w.cdoc, NULL, &sp, &r), RX_EXPIRED);
	rxc_result_free(&r);
	rxc_signed_free(&sp);

	/* The broker kept serving through all of it. */
	submit(&w, 1, id);
	world_down(&w);
}
END_TEST

/* The dispensing reserve holds: once the map is down to its reserve, only
 * what finishes a claimed prescription goes on.  Submits, reads and
 * refusals are refused STORAGE_FULL without an audit entry, so a flood of
 * them cannot eat the room a DISPENSE needs. */
START_TEST(storage_full_keeps_room_to_dispense)
{
	world_t w;
	rxc_result_t r;
	char id[RX_ID_LEN + 1], other[RX_ID_LEN + 1], notes[2001];
	rx_err_t err = RX_OK;
	int ok = 0;

	/* A 1 MiB map fills after a few hundred large prescriptions. */
	world_up(&w, 1);
	submit(&w, 1, id);
	submit(&w, 1, other);
	uint8_t tok[RX_TOKEN_LEN];
	claim(w.cph1, id, tok);
	memset(notes, 'x', 2000);
	notes[2000] = '\0';
	for (int i = 0; i < 2000 && err == RX_OK; i++) {
		Rx__Signed sp;
		notes[0] = (char)('A' + i % 26);
		notes[1] = (char)('A' + i / 26 % 26);
		notes[2] = (char)('A' + i / 676 % 26);
		harness_prescription(&w.doc, w.patient, 1, 0, 0, notes, &sp);
		err = SUBMIT(w.cdoc, NULL, &sp, &r);
		ok += err == RX_OK;
		rxc_result_free(&r);
		rxc_signed_free(&sp);
	}
	ck_assert_int_eq(err, RX_STORAGE_FULL);
	ck_assert_int_gt(ok, 10);
	/* The operator sees why. */
	Rx__Stats s0;
	ck_assert_int_eq(harness_stats(&w.h, &s0), 0);
	ck_assert(s0.storage_full);
	ck_assert_uint_eq(s0.map_reserve, s0.map_size / 8);
	ck_assert_uint_gt(s0.map_used + s0.map_reserve, s0.map_size);
	ck_assert_uint_ge(s0.replies_stored, (uint64_t)ok);
	ck_assert_uint_eq(s0.replies_prunable, 0);
	/* A flood of reads and of refusals, which would each add an audit
	 * entry: all refused first. */
	rxc_proof_t wrong = {.access_code = "ABCD-EFGH-JK5"};
	for (int i = 0; i < 3000; i++) {
		ck_assert_int_eq(rxc_status(w.cph1, id, NULL, &r), RX_STORAGE_FULL);
		rxc_result_free(&r);
		ck_assert_int_eq(rxc_claim(w.cph2, NULL, other, &wrong, &r), RX_STORAGE_FULL);
		rxc_result_free(&r);
	}
	/* The claimed one is dispensed. */
	ck_assert_int_eq(dispense(w.cph1, &w.ph1, id, tok, 0, NULL), RX_OK);
	Rx__Stats s;
	ck_assert_int_eq(harness_stats(&w.h, &s), 0);
	ck_assert_uint_eq(s.prescriptions, (uint64_t)ok + 2);
	ck_assert_uint_eq(s.dispense_records, 1);
	world_down(&w);
}
END_TEST

START_TEST(retries_get_the_original_reply)
{
	world_t w;
	Rx__Signed sp;
	rxc_result_t a, b;
	uint8_t rid[RX_REQUEST_ID_LEN], tok[RX_TOKEN_LEN];

	world_up(&w, 0);
	rxc_request_id(rid);
	harness_prescription(&w.doc, w.patient, 1, 0, 0, "retry", &sp);
	/* A retry resends the same bytes, the same card assertion included. */
	Rx__Signed card;
	harness_assertion(&w.h, &w.card, &w.doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	ck_assert_int_eq(rxc_submit(w.cdoc, rid, &sp, &card, &a), RX_OK);
	ck_assert_int_eq(rxc_submit(w.cdoc, rid, &sp, &card, &b), RX_OK);
	rxc_signed_free(&card);
	ck_assert_uint_eq(a.reply->receipt.len, b.reply->receipt.len);
	ck_assert_mem_eq(a.reply->receipt.data, b.reply->receipt.data, a.reply->receipt.len);
	char id[RX_ID_LEN + 1];
	strcpy(id, a.receipt->prescription_id);
	rxc_result_free(&a);
	rxc_result_free(&b);
	/* The same signed prescription under a new request id is not a second one. */
	ck_assert_int_eq(SUBMIT(w.cdoc, NULL, &sp, &a), RX_CONFLICT);
	rxc_result_free(&a);

	/* A claim retried after a restart: same token, byte-identical receipt. */
	rxc_request_id(rid);
	harness_assertion(&w.h, &w.card, &w.ph1, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	ck_assert_int_eq(rxc_claim(w.cph1, rid, id, &proof, &a), RX_OK);
	memcpy(tok, a.receipt->claim_token.data, RX_TOKEN_LEN);
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	ck_assert_int_eq(harness_restart(&w.h), 0);
	ck_assert_int_eq(rxc_claim(w.cph1, rid, id, &proof, &b), RX_OK);
	rxc_signed_free(&card);
	ck_assert_mem_eq(b.receipt->claim_token.data, tok, RX_TOKEN_LEN);
	ck_assert_mem_eq(a.reply->receipt.data, b.reply->receipt.data, a.reply->receipt.len);
	rxc_result_free(&a);
	rxc_result_free(&b);

	/* A dispense retried: one record, both replies OK and identical. */
	Rx__Signed rec;
	harness_dispense_record(&w.ph1, id, 0, &rec);
	rxc_request_id(rid);
	ck_assert_int_eq(rxc_dispense(w.cph1, rid, id, tok, &rec, &a), RX_OK);
	ck_assert_int_eq(rxc_dispense(w.cph1, rid, id, tok, &rec, &b), RX_OK);
	ck_assert_mem_eq(a.reply->receipt.data, b.reply->receipt.data, a.reply->receipt.len);
	rxc_result_free(&a);
	rxc_result_free(&b);
	Rx__Stats s;
	ck_assert_int_eq(harness_stats(&w.h, &s), 0);
	ck_assert_uint_eq(s.dispense_records, 1);
	rxc_signed_free(&rec);
	rxc_signed_free(&sp);
	world_down(&w);
}
END_TEST

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
		Rx__Signed sp, rec;
		rxc_result_t r;
		char notes[32], *id = k->ids[k->acked];
		uint8_t tok[RX_TOKEN_LEN];
		snprintf(notes, sizeof notes, "kill-%d-%u", k->acked, (unsigned)randombytes_random());
		harness_prescription(&w->doc, w->patient, 1, 0, 0, notes, &sp);
		rx_err_t err = submit_as(doc, &w->doc, NULL, &sp, &r);
		rxc_signed_free(&sp);
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
		err = rxc_dispense(ph, NULL, id, tok, &rec, &r);
		rxc_signed_free(&rec);
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

/* Count lines of the test broker's log that contain needle. */
static int log_count(const harness_t *h, const char *needle)
{
	char path[300], line[1024];
	int n = 0;
	snprintf(path, sizeof path, "%s/rxd.log", h->dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* CurveZMQ and ZAP: an institution whose curve key is not registered never
 * gets a request through; a stolen signing key is useless through another
 * institution's connection; a revoked institution is shut out. */
START_TEST(transport_admits_only_registered_institutions)
{
	world_t w;
	rxc_result_t r;
	char id[RX_ID_LEN + 1];
	world_up(&w, 0);
	submit(&w, 1, id);
	/* No STATUS was asked before: any STATUS line in the log would be one
	 * of the shut-out clients' (rxd writes a line just after its reply, so
	 * counting all lines here would race with the submit's). */

	/* A registered pharmacy key, but a curve key rxd does not know. */
	rx_curve_t rogue;
	randombytes_buf(rogue.sk, 32);
	crypto_scalarmult_base(rogue.pk, rogue.sk);
	rxc_t *c = harness_client_curve(&w.h, NULL, &w.ph1, &rogue, 1500);
	ck_assert_int_eq(rxc_status(c, id, NULL, &r), RX_UNREACHABLE);
	rxc_result_free(&r);
	rxc_destroy(&c);
	/* ...nor without CurveZMQ at all. */
	rxc_options_t plain = {.timeout_ms = 1500};
	ck_assert_int_eq(rxc_new(&c, NULL, w.h.endpoint, &w.ph1, &plain), RX_OK);
	ck_assert_int_eq(rxc_status(c, id, NULL, &r), RX_UNREACHABLE);
	rxc_result_free(&r);
	rxc_destroy(&c);
	ck_assert_int_eq(log_count(&w.h, " op=STATUS"), 0);
	ck_assert_int_ge(log_count(&w.h, "zap=refuse"), 1);

	/* Dr. Sato's key, stolen and used through the other clinic's connection. */
	harness_inst_t *other = harness_institution(&w.h, "1300000001", 1);
	ck_assert_ptr_nonnull(other);
	c = harness_client_curve(&w.h, NULL, &w.doc, &other->curve, 0);
	ck_assert_int_eq(rxc_cancel(c, NULL, id, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	/* ...or through a pharmacy's. */
	rxc_destroy(&c);
	c = harness_client_curve(&w.h, NULL, &w.doc, &harness_institution(&w.h, "1398765432", 2)->curve, 0);
	ck_assert_int_eq(rxc_status(c, id, NULL, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	rxc_destroy(&c);
	ck_assert_int_eq(state_of(w.cdoc, id), RX_STATE_ISSUED);

	/* Revoke the pharmacy: its open connection is refused at the next
	 * request, and a new one is not admitted at all. */
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__InstitutionInfo ii = RX__INSTITUTION_INFO__INIT;
	Rx__AdminReply *rep;
	ii.code = (char *)"1398765432";
	q.op = RX__ADMIN_OP__INSTITUTION_REVOKE;
	q.institution = &ii;
	ck_assert_int_eq(harness_admin(&w.h, &q, &rep), 0);
	ck_assert_int_eq(rep->status, RX__STATUS__OK);
	rx__admin_reply__free_unpacked(rep, NULL);
	ck_assert_int_eq(rxc_status(w.cph1, id, NULL, &r), RX_KEY_REVOKED);
	rxc_result_free(&r);
	c = harness_client(&w.h, NULL, &w.ph1, 1500);
	ck_assert_int_eq(rxc_status(c, id, NULL, &r), RX_UNREACHABLE);
	rxc_result_free(&r);
	rxc_destroy(&c);
	world_down(&w);
}
END_TEST

/* A signed card assertion with every field chosen by the test. */
static void assertion(const rx_keypair_t *card, int purpose, const char *inst, int64_t at,
		      const uint8_t nonce[16], Rx__Signed *out)
{
	Rx__CardAssertion a = RX__CARD_ASSERTION__INIT;
	a.version = 1;
	a.purpose = (Rx__Purpose)purpose;
	a.institution_code = (char *)inst;
	a.at = at;
	a.nonce.data = (uint8_t *)nonce;
	a.nonce.len = 16;
	a.card_key.data = (uint8_t *)card->pk;
	a.card_key.len = RX_KEY_LEN;
	size_t n = rx__card_assertion__get_packed_size(&a);
	rx__signed__init(out);
	out->body.data = malloc(n);
	out->body.len = n;
	rx__card_assertion__pack(&a, out->body.data);
	out->signature.data = malloc(RX_SIG_LEN);
	out->signature.len = RX_SIG_LEN;
	ck_assert_int_eq(rx_sign(RX_SIGN_CARD, card->sk, out->body.data, n, out->signature.data), RX_OK);
}

static rx_err_t list_with(rxc_t *c, const Rx__Signed *card)
{
	rxc_result_t r;
	rxc_proof_t proof = {.card = card};
	rx_err_t err = rxc_list(c, NULL, NULL, &proof, &r);
	rxc_result_free(&r);
	return err;
}

/* Every card refusal over the real socket. */
START_TEST(card_refusals)
{
	world_t w;
	Rx__Signed a;
	uint8_t nonce[16];
	int64_t now = (int64_t)time(NULL);
	const char *here = "1398765432"; /* ph1's pharmacy */
	world_up(&w, 0);

	/* A card nobody enrolled. */
	rx_keypair_t stray;
	uint8_t seed[RX_SEED_LEN];
	randombytes_buf(seed, sizeof seed);
	rx_keypair_from_seed(seed, &stray);
	randombytes_buf(nonce, 16);
	assertion(&stray, RX__PURPOSE__PURPOSE_DISPENSE, here, now, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_CARD_UNKNOWN);
	rxc_signed_free(&a);

	/* Stale: six minutes off either way. */
	randombytes_buf(nonce, 16);
	assertion(&w.card, RX__PURPOSE__PURPOSE_DISPENSE, here, now - 360, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_ASSERTION_STALE);
	rxc_signed_free(&a);
	assertion(&w.card, RX__PURPOSE__PURPOSE_DISPENSE, here, now + 360, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_ASSERTION_STALE);
	rxc_signed_free(&a);

	/* Mismatch: made at another pharmacy; made for another purpose. */
	assertion(&w.card, RX__PURPOSE__PURPOSE_DISPENSE, "1311112222", now, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_ASSERTION_MISMATCH);
	rxc_signed_free(&a);
	assertion(&w.card, RX__PURPOSE__PURPOSE_ISSUE, here, now, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_ASSERTION_MISMATCH);
	rxc_signed_free(&a);

	/* A forged assertion: another key signed it. */
	assertion(&stray, RX__PURPOSE__PURPOSE_DISPENSE, here, now, nonce, &a);
	Rx__CardAssertion *body = rx__card_assertion__unpack(NULL, a.body.len, a.body.data);
	memcpy(body->card_key.data, w.card.pk, RX_KEY_LEN);
	rx__card_assertion__pack(body, a.body.data);
	rx__card_assertion__free_unpacked(body, NULL);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_BAD_SIGNATURE);
	rxc_signed_free(&a);

	/* The good one works once; the same assertion again is a replay. */
	assertion(&w.card, RX__PURPOSE__PURPOSE_DISPENSE, here, now, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_OK);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_ASSERTION_REPLAYED);
	rxc_signed_free(&a);

	/* A revoked (lost) card. */
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *rep;
	q.op = RX__ADMIN_OP__CARD_REVOKE;
	q.card.data = w.card.pk;
	q.card.len = RX_KEY_LEN;
	ck_assert_int_eq(harness_admin(&w.h, &q, &rep), 0);
	ck_assert_int_eq(rep->status, RX__STATUS__OK);
	rx__admin_reply__free_unpacked(rep, NULL);
	randombytes_buf(nonce, 16);
	assertion(&w.card, RX__PURPOSE__PURPOSE_DISPENSE, here, now, nonce, &a);
	ck_assert_int_eq(list_with(w.cph1, &a), RX_CARD_REVOKED);
	rxc_signed_free(&a);

	/* The re-issued card: the same patient id. */
	rx_keypair_t reissued;
	ck_assert_int_eq(harness_card(&w.h, w.patient, &reissued), 0);
	w.card = reissued;
	char id[RX_ID_LEN + 1];
	submit(&w, 1, id);
	rxc_result_t r;
	ck_assert_int_eq(look_as(w.cph1, &w.ph1, NULL, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->n_prescriptions, 1);
	ck_assert_str_eq(r.receipt->patient_id, w.patient);
	rxc_result_free(&r);
	world_down(&w);
}
END_TEST

/* The slip's access code: claim without the card; five wrong codes lock. */
START_TEST(access_code_path)
{
	world_t w;
	Rx__Signed sp;
	rxc_result_t r;
	char id[RX_ID_LEN + 1], code[RX_ACCESS_CODE_LEN + 1], wrong[RX_ACCESS_CODE_LEN + 1];
	world_up(&w, 0);
	harness_prescription(&w.doc, "", 1, 0, 0, "slip", &sp);
	ck_assert_int_eq(SUBMIT(w.cdoc, NULL, &sp, &r), RX_OK);
	strcpy(id, r.receipt->prescription_id);
	ck_assert_int_eq(rx_access_code_parse(r.receipt->access_code, code), RX_OK);
	ck_assert_str_eq(r.receipt->patient_id, w.patient);
	rxc_result_free(&r);
	rxc_signed_free(&sp);

	/* No card, no code: a pharmacy may not even look. */
	ck_assert_int_eq(rxc_status(w.cph2, id, NULL, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	rxc_proof_t right = {.access_code = code}, bad = {.access_code = wrong};
	/* A malformed code is INVALID (and not counted); a well-formed wrong
	 * one is BAD_ACCESS_CODE, five of them lock. */
	rxc_proof_t typo = {.access_code = "ABCD-EFGH-JK0"};
	ck_assert_int_eq(rxc_claim(w.cph2, NULL, id, &typo, &r), RX_INVALID);
	rxc_result_free(&r);
	do
		rx_access_code_new(wrong);
	while (strcmp(wrong, code) == 0);
	ck_assert_int_eq(rxc_list(w.cph2, NULL, id, &right, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->n_prescriptions, 1);
	rxc_result_free(&r);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(rxc_claim(w.cph2, NULL, id, &bad, &r), RX_BAD_ACCESS_CODE);
		rxc_result_free(&r);
	}
	ck_assert_int_eq(rxc_claim(w.cph2, NULL, id, &right, &r), RX_ACCESS_LOCKED);
	rxc_result_free(&r);
	/* The operator unlocks it; the right code claims. */
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *rep;
	q.op = RX__ADMIN_OP__RX_UNLOCK;
	q.prescription_id = id;
	ck_assert_int_eq(harness_admin(&w.h, &q, &rep), 0);
	ck_assert_int_eq(rep->status, RX__STATUS__OK);
	rx__admin_reply__free_unpacked(rep, NULL);
	ck_assert_int_eq(rxc_claim(w.cph2, NULL, id, &right, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__CLAIMED);
	rxc_result_free(&r);
	world_down(&w);
}
END_TEST

/* Nothing sensitive is on disk in clear: a distinctive drug name, the notes,
 * the My Number, the access code, the patient id. */
static int file_contains(const char *path, const void *needle, size_t n)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	static uint8_t buf[8 << 20];
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return memmem(buf, len, needle, n) != NULL;
}

START_TEST(no_clear_text_at_rest)
{
	world_t w;
	Rx__Signed sp;
	rxc_result_t r;
	char code[RX_ACCESS_CODE_LEN + 1], id[RX_ID_LEN + 1];
	world_up(&w, 0);
	harness_prescription(&w.doc, "", 1, 0, 0, "ZZ-DISTINCTIVE-NOTE-42", &sp);
	ck_assert_int_eq(SUBMIT(w.cdoc, NULL, &sp, &r), RX_OK);
	strcpy(code, r.receipt->access_code);
	strcpy(id, r.receipt->prescription_id);
	rxc_result_free(&r);
	rxc_signed_free(&sp);
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);

	char path[512];
	const char *needles[] = {"ZZ-DISTINCTIVE-NOTE-42", "ノルバスク", "123456789018", code,
				 w.patient};
	DIR *d = opendir(w.h.dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", w.h.dir, e->d_name);
		files++;
		for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++) {
			/* The patient id is the index key of their prescriptions: a
			 * pseudonym, allowed in the LMDB file only. */
			if (i == 4 && strcmp(e->d_name, "data.mdb") == 0)
				continue;
			ck_assert_msg(!file_contains(path, needles[i], strlen(needles[i])),
				      "%s holds needle %zu in clear text", e->d_name, i);
		}
	}
	closedir(d);
	ck_assert_int_ge(files, 5);
	/* The scan can see: the log does name the prescription id. */
	snprintf(path, sizeof path, "%s/rxd.log", w.h.dir);
	ck_assert(file_contains(path, id, strlen(id)));
	world_down(&w);
}
END_TEST

/* The admin socket is for the broker's own user: another user cannot reach
 * it (the socket is mode 0600 in a mode-0700 dir).  Needs root to become
 * another user; as any other user the test only checks the modes. */
START_TEST(admin_socket_is_private)
{
	harness_t h;
	char path[300];
	struct stat st;
	ck_assert_int_eq(harness_start(&h, 0), 0);
	snprintf(path, sizeof path, "%s/admin.sock", h.dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(h.dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0077, 0);
	if (geteuid() == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
			Rx__AdminReply *rep = NULL;
			char msg[256];
			q.op = RX__ADMIN_OP__STATS;
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(3);
			rx_err_t err = rxc_admin(h.dir, 1000, &q, &rep, msg, sizeof msg);
			_exit(err == RX_UNREACHABLE && rep == NULL ? 0 : 1);
		}
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "another user reached the admin socket (exit %d)", WEXITSTATUS(status));
	}
	harness_cleanup(&h);
}
END_TEST

/* rxd refuses a data dir that others can read, and a second rxd on a dir
 * already served. */
static int run_rxd(const char *dir)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 2);
		execl(getenv("RXD"), "rxd", "--data", dir, "--listen", "tcp://127.0.0.1:*", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	int64_t deadline = harness_ms() + 10000;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (harness_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(refuses_open_dir_and_second_broker)
{
	harness_t h;
	char dir[] = "/tmp/rx-open.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(run_rxd(dir), 1);
	ck_assert_int_eq(rmdir(dir), 0); /* and it wrote nothing there */

	ck_assert_int_eq(harness_start(&h, 0), 0);
	ck_assert_int_eq(run_rxd(h.dir), 1);
	Rx__Stats s;
	ck_assert_int_eq(harness_stats(&h, &s), 0); /* the first one still serves */
	harness_cleanup(&h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("broker");
	TCase *tc = tcase_create("integration");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, lifecycle);
	tcase_add_test(tc, every_refusal);
	tcase_add_test(tc, storage_full_keeps_room_to_dispense);
	tcase_add_test(tc, retries_get_the_original_reply);
	tcase_add_test(tc, claim_race_has_one_winner);
	tcase_add_test(tc, kill9_loses_nothing_acknowledged);
	tcase_add_test(tc, refuses_open_dir_and_second_broker);
	tcase_add_test(tc, transport_admits_only_registered_institutions);
	tcase_add_test(tc, card_refusals);
	tcase_add_test(tc, access_code_path);
	tcase_add_test(tc, no_clear_text_at_rest);
	tcase_add_test(tc, admin_socket_is_private);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
