/* Integration: the requests through a real rxd, one after another: a
 * prescription's life, every refusal code a client can provoke, the
 * dispensing reserve when storage is full, and retries that get their
 * original reply (across a restart too). */
#include <signal.h>
#include <stdio.h>

#include "broker_world.h"
#include "rxclient_int.h"

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
	ck_assert_int_eq(rxc_cancel(w.cdoc, NULL, id, RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR, &r), RX_OK);
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
	harness_rx_t sp;

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
	ck_assert_int_eq(SUBMIT(w.cph1, NULL, &sp.p, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	ck_assert_int_eq(rxc_cancel(w.cdoc2, NULL, id, RX__CANCEL_REASON__CANCEL_OTHER, &r), RX_PERMISSION_DENIED);
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
	ck_assert_int_eq(rxc_cancel(w.cdoc, NULL, id, RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR, &r), RX_OK);
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
	ck_assert_int_eq(rxc_submit(w.cdoc, rid, &sp.p, &card, &r), RX_OK);
	strcpy(id, r.receipt->prescription_id);
	rxc_result_free(&r);
	int64_t deadline = harness_ms() + 10000;
	while (state_of(w.cph1, id) != RX_STATE_EXPIRED && harness_ms() < deadline)
		nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL); /* poll, not hammer */
	ck_assert_int_eq(state_of(w.cph1, id), RX_STATE_EXPIRED);
	ck_assert_int_eq(CLAIM(w.cph1, NULL, id, &r), RX_EXPIRED);
	rxc_result_free(&r);
	/* A late retry of the submit still gets its original reply. */
	ck_assert_int_eq(rxc_submit(w.cdoc, rid, &sp.p, &card, &r), RX_OK);
	ck_assert_str_eq(r.receipt->prescription_id, id);
	rxc_result_free(&r);
	rxc_signed_free(&card);
	/* ...and a prescription already past its validity is refused at submit. */
	harness_prescription(&w.doc, w.patient, 1, now - 100, now - 10, "late", &sp);
	ck_assert_int_eq(SUBMIT(w.cdoc, NULL, &sp.p, &r), RX_EXPIRED);
	rxc_result_free(&r);

	/* The broker kept serving through all of it. */
	submit(&w, 1, id);
	world_down(&w);
}
END_TEST

/* Substitution through the broker (proto/README 5.10): the prescriber's
 * marks and the ingredient decide; a refusal names the item and leaves the
 * claim as it was; what was handed over is in the record STATUS returns. */
START_TEST(substitution_end_to_end)
{
	world_t w;
	char id[RX_ID_LEN + 1], marked[RX_ID_LEN + 1];
	uint8_t tok[RX_TOKEN_LEN], tok2[RX_TOKEN_LEN];
	rxc_result_t r;
	harness_rx_t sp;
	harness_rec_t rec;

	world_up(&w, 0);
	/* ノルバスク錠５ｍｇ marked no change (for medical necessity) */
	harness_prescription(&w.doc, w.patient, 1, 0, 0, "no change", &sp);
	sp.item.no_change = sp.item.medical_necessity = 1;
	ck_assert_int_eq(SUBMIT(w.cdoc, NULL, &sp.p, &r), RX_OK);
	strcpy(marked, r.receipt->prescription_id);
	rxc_result_free(&r);
	claim(w.cph1, marked, tok);
	harness_dispense_record(&w.ph1, marked, 0, &rec);
	rec.line.outcome = RX__OUTCOME__SUBSTITUTED;
	rec.line.reason = RX__LINE_REASON__GENERIC;
	rec.item.drug_code = (char *)"2171022F5067"; /* another strength's generic */
	ck_assert_int_eq(rxc_dispense(w.cph1, NULL, marked, tok, &rec.d, &r), RX_SUBSTITUTION_NOT_ALLOWED);
	ck_assert_ptr_nonnull(strstr(r.message, "item 1"));
	rxc_result_free(&r);
	ck_assert_int_eq(state_of(w.cph1, marked), RX_STATE_CLAIMED);
	/* as written it goes */
	harness_dispense_record(&w.ph1, marked, 0, &rec);
	ck_assert_int_eq(rxc_dispense(w.cph1, NULL, marked, tok, &rec.d, &r), RX_OK);
	rxc_result_free(&r);

	/* unmarked: a product of another ingredient is refused, the generic is not */
	submit(&w, 1, id);
	claim(w.cph1, id, tok2);
	harness_dispense_record(&w.ph1, id, 0, &rec);
	rec.line.outcome = RX__OUTCOME__SUBSTITUTED;
	rec.line.reason = RX__LINE_REASON__OUT_OF_STOCK;
	rec.item.drug_code = (char *)"2189015F1023"; /* atorvastatin */
	ck_assert_int_eq(rxc_dispense(w.cph1, NULL, id, tok2, &rec.d, &r), RX_DIFFERENT_INGREDIENT);
	ck_assert_ptr_nonnull(strstr(r.message, "item 1"));
	rxc_result_free(&r);
	rec.item.drug_code = (char *)"2171022F5067";
	ck_assert_int_eq(rxc_dispense(w.cph1, NULL, id, tok2, &rec.d, &r), RX_OK);
	rxc_result_free(&r);
	ck_assert_int_eq(look_as(w.cph1, &w.ph1, id, &r), RX_OK);
	ck_assert_uint_eq(r.reply->n_dispenses, 1);
	Rx__DispenseRecord *d = rx__dispense_record__unpack(NULL, r.reply->dispenses[0]->record->body.len,
							      r.reply->dispenses[0]->record->body.data);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->n_lines, 1);
	ck_assert_int_eq(d->lines[0]->outcome, RX__OUTCOME__SUBSTITUTED);
	ck_assert_int_eq(d->lines[0]->reason, RX__LINE_REASON__OUT_OF_STOCK);
	ck_assert_str_eq(d->lines[0]->handed->drug_code, "2171022F5067");
	rx__dispense_record__free_unpacked(d, NULL);
	rxc_result_free(&r);
	world_down(&w);
}
END_TEST

/* The hash of id's current record (the last STATUS lists), as the
 * dispensing pharmacy reads it: what an AMEND or WITHDRAW replaces. */
static void current_hash(world_t *w, const char *id, uint8_t h[RX_HASH_LEN])
{
	rxc_result_t r;
	ck_assert_int_eq(look_as(w->cph1, &w->ph1, id, &r), RX_OK);
	ck_assert_uint_gt(r.reply->n_dispenses, 0);
	const Rx__Signed *rec = r.reply->dispenses[r.reply->n_dispenses - 1]->record;
	rx_hash(rec->body.data, rec->body.len, h);
	rxc_result_free(&r);
}

/* AMEND and WITHDRAW through the broker (proto/README 5.12): the pharmacy
 * that dispensed corrects, then withdraws, its record; STATUS keeps every
 * record, superseded ones marked, all under the receipt's dispenses_hash
 * (which rxclient checks). */
START_TEST(amend_and_withdraw_end_to_end)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	uint8_t tok[RX_TOKEN_LEN], h[RX_HASH_LEN];
	rxc_result_t r;

	world_up(&w, 0);
	submit(&w, 1, id);
	claim(w.cph1, id, tok);
	ck_assert_int_eq(dispense(w.cph1, &w.ph1, id, tok, 0, NULL), RX_OK);
	current_hash(&w, id, h);

	/* another pharmacy may not; a record that is not the current one is not */
	harness_rec_t am;
	harness_dispense_record(&w.ph2, id, 1, &am);
	am.d.replaces.data = h;
	am.d.replaces.len = RX_HASH_LEN;
	am.line.outcome = RX__OUTCOME__SUBSTITUTED;
	am.line.reason = RX__LINE_REASON__GENERIC;
	am.item.drug_code = (char *)"2171022F5067";
	ck_assert_int_eq(rxc_amend(w.cph2, NULL, id, &am.d, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	harness_dispense_record(&w.ph1, id, 1, &am);
	uint8_t wrong[RX_HASH_LEN] = {0};
	am.d.replaces.data = wrong;
	am.d.replaces.len = RX_HASH_LEN;
	am.line.outcome = RX__OUTCOME__SUBSTITUTED;
	am.line.reason = RX__LINE_REASON__GENERIC;
	am.item.drug_code = (char *)"2171022F5067";
	ck_assert_int_eq(rxc_amend(w.cph1, NULL, id, &am.d, &r), RX_NOT_LATEST);
	rxc_result_free(&r);
	am.d.replaces.data = h;
	ck_assert_int_eq(rxc_amend(w.cph1, NULL, id, &am.d, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->use, 1);
	ck_assert_int_eq(r.receipt->state, RX__STATE__DISPENSED);
	rxc_result_free(&r);

	/* withdrawn: claimed again by the same pharmacy, under a new token */
	uint8_t h2[RX_HASH_LEN];
	current_hash(&w, id, h2);
	harness_rec_t wd;
	harness_dispense_record(&w.ph1, id, 1, &wd);
	wd.d.n_lines = 0;
	wd.d.replaces.data = h2;
	wd.d.replaces.len = RX_HASH_LEN;
	wd.d.withdraw_reason = RX__WITHDRAW_REASON__NOT_COLLECTED;
	wd.d.notes = (char *)"the patient did not come back for it";
	ck_assert_int_eq(rxc_withdraw(w.cph1, NULL, id, &wd.d, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__CLAIMED);
	ck_assert_uint_eq(r.receipt->uses_left, 1);
	ck_assert_uint_eq(r.receipt->claim_token.len, RX_TOKEN_LEN);
	memcpy(tok, r.receipt->claim_token.data, RX_TOKEN_LEN);
	rxc_result_free(&r);
	/* three records for use 1, the last (the withdrawal) current */
	ck_assert_int_eq(look_as(w.cph1, &w.ph1, id, &r), RX_OK);
	ck_assert_uint_eq(r.reply->n_dispenses, 3);
	ck_assert(r.reply->dispenses[0]->superseded && r.reply->dispenses[1]->superseded);
	ck_assert(!r.reply->dispenses[2]->superseded);
	rxc_result_free(&r);
	/* and dispensed again with the new claim */
	ck_assert_int_eq(dispense(w.cph1, &w.ph1, id, tok, 0, NULL), RX_OK);
	ck_assert_int_eq(look_as(w.cph1, &w.ph1, id, &r), RX_OK);
	ck_assert_uint_eq(r.reply->n_dispenses, 4);
	ck_assert(r.reply->dispenses[2]->superseded && !r.reply->dispenses[3]->superseded);
	rxc_result_free(&r);
	world_down(&w);
}
END_TEST

/* id's part (0: the whole use) by ph1: item 1 (7 prescribed) handed over
 * as written, quantity units of it, or PARTIAL (OUT_OF_STOCK) if partial. */
static void part_record(world_t *w, const char *id, uint32_t part, int partial, uint32_t quantity,
			harness_rec_t *rec)
{
	harness_dispense_record(&w->ph1, id, 0, rec);
	rec->d.part = part;
	rec->item.quantity = quantity;
	if (partial) {
		rec->line.outcome = RX__OUTCOME__PARTIAL;
		rec->line.reason = RX__LINE_REASON__OUT_OF_STOCK;
	}
}

/* id's records as STATUS lists them to ph1 (rxclient has verified them
 * against the receipt): how many, and the state. */
static size_t records_of(world_t *w, const char *id, int *state)
{
	rxc_result_t r;
	ck_assert_int_eq(look_as(w->cph1, &w->ph1, id, &r), RX_OK);
	size_t n = r.reply->n_dispenses;
	*state = r.receipt->state;
	rxc_result_free(&r);
	return n;
}

/* A use handed over in parts through the broker (proto/README 5.13): part 1
 * leaves units owed and keeps the claim (the holder's CLAIM returns it,
 * another pharmacy's is refused, RELEASE is refused); part 1 again is
 * ALREADY_DISPENSED under a new request id and the stored reply under its
 * own; part 2 completes the use; STATUS lists both parts, neither
 * superseded; the use's records stand (AMEND and WITHDRAW refused). */
START_TEST(partial_fill_end_to_end)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	uint8_t tok[RX_TOKEN_LEN], rid[RX_REQUEST_ID_LEN], h[RX_HASH_LEN];
	rxc_result_t a, r;
	harness_rec_t p1, p2, rec;
	int state;

	world_up(&w, 0);
	submit(&w, 1, id);
	claim(w.cph1, id, tok);

	/* part 1: 3 of the 7 units */
	part_record(&w, id, 1, 1, 3, &p1);
	rxc_request_id(rid);
	ck_assert_int_eq(rxc_dispense(w.cph1, rid, id, tok, &p1.d, &a), RX_OK);
	ck_assert_int_eq(a.receipt->state, RX__STATE__PARTIALLY_DISPENSED);
	ck_assert_uint_eq(a.receipt->use, 1);
	ck_assert_uint_eq(a.receipt->uses_left, 1);
	ck_assert_uint_eq(a.receipt->body_hash.len, RX_HASH_LEN);

	/* STATUS: the part, current and not superseded, verified by rxclient */
	ck_assert_int_eq(look_as(w.cph1, &w.ph1, id, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__PARTIALLY_DISPENSED);
	ck_assert_uint_eq(r.reply->n_dispenses, 1);
	ck_assert_uint_eq(r.reply->dispenses[0]->use, 1);
	ck_assert(!r.reply->dispenses[0]->superseded);
	const Rx__Signed *sr = r.reply->dispenses[0]->record;
	rx_hash(sr->body.data, sr->body.len, h);
	ck_assert_mem_eq(h, a.receipt->body_hash.data, RX_HASH_LEN);
	Rx__DispenseRecord *d = rx__dispense_record__unpack(NULL, sr->body.len, sr->body.data);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->part, 1);
	ck_assert_uint_eq(d->n_lines, 1);
	ck_assert_int_eq(d->lines[0]->outcome, RX__OUTCOME__PARTIAL);
	ck_assert_uint_eq(d->lines[0]->handed->quantity, 3);
	rx__dispense_record__free_unpacked(d, NULL);
	rxc_result_free(&r);
	ck_assert_int_eq(state_of(w.cdoc, id), RX_STATE_PARTIAL);

	/* the claim stays: the holder gets it back, another pharmacy does not */
	ck_assert_int_eq(CLAIM(w.cph1, NULL, id, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__PARTIALLY_DISPENSED);
	ck_assert_uint_eq(r.receipt->claim_token.len, RX_TOKEN_LEN);
	ck_assert_mem_eq(r.receipt->claim_token.data, tok, RX_TOKEN_LEN);
	rxc_result_free(&r);
	ck_assert_int_eq(CLAIM(w.cph2, NULL, id, &r), RX_ALREADY_CLAIMED);
	rxc_result_free(&r);
	ck_assert_int_eq(rxc_release(w.cph1, NULL, id, tok, &r), RX_PARTLY_DISPENSED);
	ck_assert_ptr_nonnull(r.reply);
	ck_assert_int_gt((int)strlen(r.message), 0);
	rxc_result_free(&r);
	ck_assert_int_eq(state_of(w.cdoc, id), RX_STATE_PARTIAL);
	/* The operator sees it among the partially dispensed, and cannot take
	 * its claim back: the rest is the pharmacy's to hand over. */
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *rep;
	q.op = RX__ADMIN_OP__RX_LIST;
	q.state = RX__STATE__PARTIALLY_DISPENSED;
	ck_assert_int_eq(harness_admin(&w.h, &q, &rep), 0);
	ck_assert_int_eq(rep->status, RX__STATUS__OK);
	ck_assert_uint_eq(rep->n_prescriptions, 1);
	ck_assert_str_eq(rep->prescriptions[0]->prescription_id, id);
	rx__admin_reply__free_unpacked(rep, NULL);
	q.op = RX__ADMIN_OP__RX_RELEASE;
	q.state = 0;
	q.prescription_id = id;
	q.reason = (char *)"pharmacy closed";
	ck_assert_int_eq(harness_admin(&w.h, &q, &rep), 0);
	ck_assert_int_eq(rep->status, RX__STATUS__PARTLY_DISPENSED);
	rx__admin_reply__free_unpacked(rep, NULL);

	/* exactly once per part: under a new request id refused, under its
	 * own the stored reply, byte for byte */
	ck_assert_int_eq(rxc_dispense(w.cph1, NULL, id, tok, &p1.d, &r), RX_ALREADY_DISPENSED);
	rxc_result_free(&r);
	ck_assert_int_eq(rxc_dispense(w.cph1, rid, id, tok, &p1.d, &r), RX_OK);
	ck_assert_uint_eq(r.reply->receipt.len, a.reply->receipt.len);
	ck_assert_mem_eq(r.reply->receipt.data, a.reply->receipt.data, a.reply->receipt.len);
	ck_assert_uint_eq(r.reply->receipt_signature.len, a.reply->receipt_signature.len);
	ck_assert_mem_eq(r.reply->receipt_signature.data, a.reply->receipt_signature.data,
			 a.reply->receipt_signature.len);
	rxc_result_free(&r);
	rxc_result_free(&a);
	ck_assert_uint_eq(records_of(&w, id, &state), 1);
	ck_assert_int_eq(state, RX__STATE__PARTIALLY_DISPENSED);

	/* part 2: the 4 units still owed, as written: the use is dispensed */
	part_record(&w, id, 2, 0, 4, &p2);
	ck_assert_int_eq(rxc_dispense(w.cph1, NULL, id, tok, &p2.d, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__DISPENSED);
	ck_assert_uint_eq(r.receipt->use, 1);
	ck_assert_uint_eq(r.receipt->uses_left, 0);
	rxc_result_free(&r);
	ck_assert_int_eq(look_as(w.cph1, &w.ph1, id, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__DISPENSED);
	ck_assert_uint_eq(r.reply->n_dispenses, 2);
	for (size_t i = 0; i < 2; i++) {
		ck_assert_uint_eq(r.reply->dispenses[i]->use, 1);
		ck_assert(!r.reply->dispenses[i]->superseded);
		sr = r.reply->dispenses[i]->record;
		d = rx__dispense_record__unpack(NULL, sr->body.len, sr->body.data);
		ck_assert_ptr_nonnull(d);
		ck_assert_uint_eq(d->part, i + 1);
		rx__dispense_record__free_unpacked(d, NULL);
	}
	rxc_result_free(&r);
	/* neither part again, nor a third */
	ck_assert_int_eq(rxc_dispense(w.cph1, NULL, id, tok, &p2.d, &r), RX_ALREADY_DISPENSED);
	rxc_result_free(&r);

	/* its records stand: the current one (part 2) is neither amended nor withdrawn */
	current_hash(&w, id, h);
	part_record(&w, id, 0, 0, 7, &rec);
	rec.d.replaces.data = h;
	rec.d.replaces.len = RX_HASH_LEN;
	ck_assert_int_eq(rxc_amend(w.cph1, NULL, id, &rec.d, &r), RX_PARTLY_DISPENSED);
	rxc_result_free(&r);
	harness_dispense_record(&w.ph1, id, 0, &rec);
	rec.d.n_lines = 0;
	rec.d.replaces.data = h;
	rec.d.replaces.len = RX_HASH_LEN;
	rec.d.withdraw_reason = RX__WITHDRAW_REASON__DISPENSED_IN_ERROR;
	ck_assert_int_eq(rxc_withdraw(w.cph1, NULL, id, &rec.d, &r), RX_PARTLY_DISPENSED);
	rxc_result_free(&r);
	ck_assert_uint_eq(records_of(&w, id, &state), 2);
	ck_assert_int_eq(state, RX__STATE__DISPENSED);

	Rx__Stats st;
	ck_assert_int_eq(harness_stats(&w.h, &st), 0);
	ck_assert_uint_eq(st.dispense_records, 2);
	ck_assert_uint_eq(st.dispensed, 1);
	ck_assert_uint_eq(st.partially_dispensed, 0);
	world_down(&w);
}
END_TEST

/* The prescriber's cancel reaches a use handed over in parts (proto/README
 * 5.1, 5.13): it is pending; the next part and the holder's CLAIM are
 * refused CANCELLED; the holder's RELEASE completes the cancel; the part
 * handed over stays on record. */
START_TEST(partial_fill_cancelled)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	uint8_t tok[RX_TOKEN_LEN];
	rxc_result_t r;
	harness_rec_t p1, p2;
	int state;

	world_up(&w, 0);
	submit(&w, 1, id);
	claim(w.cph1, id, tok);
	part_record(&w, id, 1, 1, 2, &p1);
	ck_assert_int_eq(rxc_dispense(w.cph1, NULL, id, tok, &p1.d, &r), RX_OK);
	rxc_result_free(&r);
	ck_assert_int_eq(rxc_cancel(w.cdoc, NULL, id, RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__PARTIALLY_DISPENSED);
	ck_assert(r.receipt->cancel_pending);
	rxc_result_free(&r);
	part_record(&w, id, 2, 0, 5, &p2);
	ck_assert_int_eq(rxc_dispense(w.cph1, NULL, id, tok, &p2.d, &r), RX_CANCELLED);
	rxc_result_free(&r);
	ck_assert_int_eq(CLAIM(w.cph1, NULL, id, &r), RX_CANCELLED);
	rxc_result_free(&r);
	ck_assert_int_eq(rxc_release(w.cph1, NULL, id, tok, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__CANCELLED_STATE);
	rxc_result_free(&r);
	ck_assert_uint_eq(records_of(&w, id, &state), 1);
	ck_assert_int_eq(state, RX__STATE__CANCELLED_STATE);
	Rx__Stats st;
	ck_assert_int_eq(harness_stats(&w.h, &st), 0);
	ck_assert_uint_eq(st.partially_dispensed, 0);
	ck_assert_uint_eq(st.cancelled, 1);
	ck_assert_uint_eq(st.dispense_records, 1);
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
		harness_rx_t sp;
		notes[0] = (char)('A' + i % 26);
		notes[1] = (char)('A' + i / 26 % 26);
		notes[2] = (char)('A' + i / 676 % 26);
		harness_prescription(&w.doc, w.patient, 1, 0, 0, notes, &sp);
		err = SUBMIT(w.cdoc, NULL, &sp.p, &r);
		ok += err == RX_OK;
		rxc_result_free(&r);
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
	harness_rx_t sp;
	rxc_result_t a, b;
	uint8_t rid[RX_REQUEST_ID_LEN], tok[RX_TOKEN_LEN];

	world_up(&w, 0);
	rxc_request_id(rid);
	harness_prescription(&w.doc, w.patient, 1, 0, 0, "retry", &sp);
	/* A retry resends the same bytes, the same card assertion included. */
	Rx__Signed card;
	harness_assertion(&w.h, &w.card, &w.doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	ck_assert_int_eq(rxc_submit(w.cdoc, rid, &sp.p, &card, &a), RX_OK);
	ck_assert_int_eq(rxc_submit(w.cdoc, rid, &sp.p, &card, &b), RX_OK);
	rxc_signed_free(&card);
	ck_assert_uint_eq(a.reply->receipt.len, b.reply->receipt.len);
	ck_assert_mem_eq(a.reply->receipt.data, b.reply->receipt.data, a.reply->receipt.len);
	char id[RX_ID_LEN + 1];
	strcpy(id, a.receipt->prescription_id);
	rxc_result_free(&a);
	rxc_result_free(&b);
	/* The same signed prescription under a new request id is not a second one. */
	ck_assert_int_eq(SUBMIT(w.cdoc, NULL, &sp.p, &a), RX_CONFLICT);
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
	harness_rec_t rec;
	harness_dispense_record(&w.ph1, id, 0, &rec);
	rxc_request_id(rid);
	ck_assert_int_eq(rxc_dispense(w.cph1, rid, id, tok, &rec.d, &a), RX_OK);
	ck_assert_int_eq(rxc_dispense(w.cph1, rid, id, tok, &rec.d, &b), RX_OK);
	ck_assert_mem_eq(a.reply->receipt.data, b.reply->receipt.data, a.reply->receipt.len);
	rxc_result_free(&a);
	rxc_result_free(&b);
	Rx__Stats s;
	ck_assert_int_eq(harness_stats(&w.h, &s), 0);
	ck_assert_uint_eq(s.dispense_records, 1);
	world_down(&w);
}
END_TEST

TCase *broker_requests_tcase(void)
{
	TCase *tc = world_tcase("requests");
	tcase_add_test(tc, lifecycle);
	tcase_add_test(tc, every_refusal);
	tcase_add_test(tc, substitution_end_to_end);
	tcase_add_test(tc, amend_and_withdraw_end_to_end);
	tcase_add_test(tc, partial_fill_end_to_end);
	tcase_add_test(tc, partial_fill_cancelled);
	tcase_add_test(tc, storage_full_keeps_room_to_dispense);
	tcase_add_test(tc, retries_get_the_original_reply);
	return tc;
}
