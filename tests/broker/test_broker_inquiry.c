/* The pharmacist's inquiry to the prescriber (疑義照会, proto/README 5.14)
 * through the real rxd: DISPENSE waits for the answer, the clinic is told
 * and answers, the pharmacy is told, and the dispense record follows the
 * agreed change, which the prescriber's marks alone would refuse; an
 * inquiry settled by telephone; an answer that cancels. */
#include "broker_world.h"

#define NORVASC_25 "2171022F1029" /* the dose the prescriber agrees to */

/* An inquiry about item 1's dose, proposing NORVASC_25 (by telephone with
 * the outcome ACCEPT if phoned). */
typedef struct {
	Rx__Inquiry q;
	Rx__Change change, *changes[1];
	Rx__Item to;
} ask_t;

static void norvasc_25(Rx__Item *it)
{
	rx__item__init(it);
	it->drug_code = (char *)NORVASC_25;
	it->name = (char *)"ノルバスク錠２．５ｍｇ";
	it->dose = (char *)"1 tablet";
	it->unit = (char *)"tablet";
	it->usage = (char *)"once daily after breakfast";
	it->days = it->quantity = 7;
}

static void ask_init(ask_t *a, int phoned)
{
	rx__inquiry__init(&a->q);
	rx__change__init(&a->change);
	norvasc_25(&a->to);
	a->change.item = 1;
	a->change.to = &a->to;
	a->changes[0] = &a->change;
	a->q.reason = RX__INQUIRY_REASON__INQUIRY_DOSE;
	a->q.text = (char *)"5 mg for an 82-year-old with low blood pressure: 2.5 mg?";
	if (phoned) {
		a->q.by_phone = 1;
		a->q.phoned = (char *)"Dr. Sato, by telephone";
		a->q.phoned_at = (int64_t)time(NULL) - 60;
		a->q.outcome = RX__ANSWER__ANSWER_ACCEPT;
		a->q.n_agreed = 1;
		a->q.agreed = a->changes;
	} else {
		a->q.n_proposed = 1;
		a->q.proposed = a->changes;
	}
}

/* DISPENSE of item 1 as NORVASC_25, SUBSTITUTED for reason, following
 * inquiry (0: none). */
static rx_err_t dispense_25(world_t *w, const char *id, const uint8_t *token, int reason, uint32_t inquiry)
{
	harness_rec_t rec;
	rxc_result_t r;
	harness_dispense_record(&w->ph1, id, 0, &rec);
	norvasc_25(&rec.item);
	rec.line.outcome = RX__OUTCOME__SUBSTITUTED;
	rec.line.reason = (Rx__LineReason)reason;
	rec.d.inquiry = inquiry;
	rx_err_t err = rxc_dispense(w->cph1, NULL, id, token, &rec.d, &r);
	rxc_result_free(&r);
	return err;
}

/* A prescription marked 変更不可 (no change), claimed by ph1. */
static void marked_and_claimed(world_t *w, char id[RX_ID_LEN + 1], uint8_t token[RX_TOKEN_LEN])
{
	harness_rx_t sp;
	rxc_result_t r;
	char notes[48];
	snprintf(notes, sizeof notes, "inquiry-%u", (unsigned)randombytes_random());
	harness_prescription(&w->doc, "", 1, 0, 0, notes, &sp);
	sp.item.no_change = 1;
	ck_assert_int_eq(SUBMIT(w->cdoc, NULL, &sp.p, &r), RX_OK);
	strcpy(id, r.receipt->prescription_id);
	rxc_result_free(&r);
	claim(w->cph1, id, token);
}

static Rx__Notice *next_notice(rxc_t *c)
{
	Rx__Notice *n = NULL;
	ck_assert_int_eq(rxc_notice(c, 10000, &n), RX_OK);
	return n;
}

START_TEST(inquiry_answered_then_dispensed)
{
	world_t w;
	rxc_result_t r;
	char id[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	ask_t a;
	world_up(&w, 0);
	/* The clinic watches for its notices. */
	rxc_t *clinic = harness_client(&w.h, NULL, &w.doc, 0);
	ck_assert_int_eq(rxc_watch(clinic, &r), RX_OK);
	rxc_result_free(&r);
	marked_and_claimed(&w, id, token);

	ask_init(&a, 0);
	ck_assert_int_eq(rxc_inquire(w.cph1, NULL, id, token, &a.q, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->inquiry, 1);
	ck_assert(r.receipt->inquiry_open);
	rxc_result_free(&r);
	/* The clinic is told at once. */
	Rx__Notice *n = next_notice(clinic);
	ck_assert_int_eq(n->kind, RX__NOTICE_KIND__NOTICE_INQUIRY);
	ck_assert_str_eq(n->prescription_id, id);
	ck_assert_uint_eq(n->inquiry, 1);
	rx__notice__free_unpacked(n, NULL);

	/* Nothing is dispensed while it is open, and one inquiry at a time. */
	ck_assert_int_eq(dispense(w.cph1, &w.ph1, id, token, 0, NULL), RX_INQUIRY_PENDING);
	ck_assert_int_eq(rxc_inquire(w.cph1, NULL, id, token, &a.q, &r), RX_INQUIRY_PENDING);
	rxc_result_free(&r);
	/* Another pharmacy, without the claim, may not ask. */
	ck_assert_int_eq(rxc_inquire(w.cph2, NULL, id, token, &a.q, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);

	/* Only the issuing clinic answers, and only the open inquiry. */
	Rx__InquiryReply ans = RX__INQUIRY_REPLY__INIT;
	ans.inquiry = 1;
	ans.answer = RX__ANSWER__ANSWER_ACCEPT;
	ans.text = (char *)"yes, 2.5 mg";
	ans.n_agreed = 1;
	ans.agreed = a.changes;
	ck_assert_int_eq(rxc_inquiry_reply(w.cdoc2, NULL, id, &ans, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	ans.inquiry = 2;
	ck_assert_int_eq(rxc_inquiry_reply(w.cdoc, NULL, id, &ans, &r), RX_INVALID);
	rxc_result_free(&r);
	ans.inquiry = 1;
	ck_assert_int_eq(rxc_inquiry_reply(w.cdoc, NULL, id, &ans, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->inquiry, 1);
	ck_assert(!r.receipt->inquiry_open);
	rxc_result_free(&r);
	ck_assert_int_eq(rxc_inquiry_reply(w.cdoc, NULL, id, &ans, &r), RX_INVALID); /* answered */
	rxc_result_free(&r);
	/* The pharmacy is told. */
	ck_assert_int_eq(rxc_watch(w.cph1, &r), RX_OK);
	rxc_result_free(&r);
	n = next_notice(w.cph1);
	ck_assert_int_eq(n->kind, RX__NOTICE_KIND__NOTICE_INQUIRY_REPLY);
	ck_assert_uint_eq(n->inquiry, 1);
	rx__notice__free_unpacked(n, NULL);

	/* The marks forbid the change; the agreed change covers it, once cited. */
	ck_assert_int_eq(dispense_25(&w, id, token, RX__LINE_REASON__GENERIC, 0), RX_SUBSTITUTION_NOT_ALLOWED);
	ck_assert_int_eq(dispense_25(&w, id, token, RX__LINE_REASON__INQUIRY, 0), RX_NOT_AGREED);
	ck_assert_int_eq(dispense_25(&w, id, token, RX__LINE_REASON__INQUIRY, 2), RX_NOT_AGREED);
	ck_assert_int_eq(dispense_25(&w, id, token, RX__LINE_REASON__INQUIRY, 1), RX_OK);

	/* STATUS carries the inquiry and its answer, verified by rxclient. */
	ck_assert_int_eq(rxc_status(w.cdoc, id, NULL, &r), RX_OK);
	ck_assert_uint_eq(r.reply->n_inquiries, 1);
	ck_assert_ptr_nonnull(r.reply->inquiries[0]->reply);
	ck_assert_str_eq(r.reply->inquiries[0]->institution_code, "1398765432");
	ck_assert_int_eq(r.receipt->inquiries_hash.len, RX_HASH_LEN);
	rxc_result_free(&r);
	rxc_destroy(&clinic);
	world_down(&w);
}
END_TEST

START_TEST(inquiry_by_phone_and_cancel)
{
	world_t w;
	rxc_result_t r;
	char id[RX_ID_LEN + 1], id2[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN], token2[RX_TOKEN_LEN];
	ask_t a;
	world_up(&w, 0);
	/* Settled on the telephone: recorded, never pending, and followed. */
	marked_and_claimed(&w, id, token);
	ask_init(&a, 1);
	ck_assert_int_eq(rxc_inquire(w.cph1, NULL, id, token, &a.q, &r), RX_OK);
	ck_assert(!r.receipt->inquiry_open);
	rxc_result_free(&r);
	ck_assert_int_eq(dispense_25(&w, id, token, RX__LINE_REASON__INQUIRY, 1), RX_OK);
	ck_assert_int_eq(rxc_status(w.cph1, id, NULL, &r), RX_OK);
	ck_assert_uint_eq(r.reply->n_inquiries, 1);
	ck_assert_ptr_null(r.reply->inquiries[0]->reply);
	rxc_result_free(&r);

	/* An answer that cancels: the holder's release ends it. */
	marked_and_claimed(&w, id2, token2);
	ask_init(&a, 0);
	ck_assert_int_eq(rxc_inquire(w.cph1, NULL, id2, token2, &a.q, &r), RX_OK);
	rxc_result_free(&r);
	Rx__InquiryReply ans = RX__INQUIRY_REPLY__INIT;
	ans.inquiry = 1;
	ans.answer = RX__ANSWER__ANSWER_CANCEL;
	ans.cancel_reason = RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR;
	ck_assert_int_eq(rxc_inquiry_reply(w.cdoc, NULL, id2, &ans, &r), RX_OK);
	ck_assert(r.receipt->cancel_pending);
	ck_assert_int_eq(r.receipt->cancel_reason, RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR);
	rxc_result_free(&r);
	ck_assert_int_eq(dispense(w.cph1, &w.ph1, id2, token2, 0, NULL), RX_CANCELLED);
	ck_assert_int_eq(rxc_release(w.cph1, NULL, id2, token2, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__CANCELLED_STATE);
	rxc_result_free(&r);
	world_down(&w);
}
END_TEST

TCase *broker_inquiry_tcase(void)
{
	TCase *tc = world_tcase("inquiry");
	tcase_add_test(tc, inquiry_answered_then_dispensed);
	tcase_add_test(tc, inquiry_by_phone_and_cancel);
	return tc;
}
