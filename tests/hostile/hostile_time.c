/* Hostile input, times: issue and validity dates, and card assertions, out of their
 * windows or at the ends of int64; and the date range of a patient's own
 * list (Call.from and Call.until, step 20a and 5.6): on other ops, negative,
 * backwards, at its edges. */

#include "hostile.h"

/* ---- times ---- */

static void presc_times(hx_t *x, frames_t *f, int64_t issued_at, int64_t valid_until)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.issued_at = issued_at;
	ps.p.valid_until = valid_until;
	submit_presc(x, f, &ps);
}

static void b_issued_10y_ago(hx_t *x, frames_t *f)
{
	int64_t t = x->now - 3650 * 86400LL;
	presc_times(x, f, t, t + 86400);
}

static void b_issued_2d_ago(hx_t *x, frames_t *f)
{
	int64_t t = x->now - 2 * 86400;
	presc_times(x, f, t, t + 10 * 86400);
}

static void b_issued_in_1h(hx_t *x, frames_t *f)
{
	int64_t t = x->now + 3600;
	presc_times(x, f, t, t + 86400);
}

static void b_issued_in_10y(hx_t *x, frames_t *f)
{
	int64_t t = x->now + 3650 * 86400LL;
	presc_times(x, f, t, t + 86400);
}

static void b_issued_int64_min(hx_t *x, frames_t *f)
{
	presc_times(x, f, INT64_MIN, x->now + 86400);
}

static void b_issued_int64_max(hx_t *x, frames_t *f)
{
	presc_times(x, f, INT64_MAX, INT64_MAX);
}

static void b_valid_int64_max(hx_t *x, frames_t *f)
{
	presc_times(x, f, x->now, INT64_MAX);
}

static void b_valid_32_days(hx_t *x, frames_t *f)
{
	presc_times(x, f, x->now, x->now + 32 * 86400);
}

static void b_valid_before_issued(hx_t *x, frames_t *f)
{
	presc_times(x, f, x->now, x->now - 1);
}

static void b_valid_until_passed(hx_t *x, frames_t *f)
{
	presc_times(x, f, x->now - 7200, x->now - 3600);
}

static void b_card_1h_ago(hx_t *x, frames_t *f)
{
	list_card_at(x, f, RX__PURPOSE__PURPOSE_DISPENSE, x->now - 3600);
}

static void b_card_in_1h(hx_t *x, frames_t *f)
{
	list_card_at(x, f, RX__PURPOSE__PURPOSE_DISPENSE, x->now + 3600);
}

static void b_card_int64_min(hx_t *x, frames_t *f)
{
	list_card_at(x, f, RX__PURPOSE__PURPOSE_DISPENSE, INT64_MIN);
}

static void b_card_int64_max(hx_t *x, frames_t *f)
{
	list_card_at(x, f, RX__PURPOSE__PURPOSE_DISPENSE, INT64_MAX);
}

static void b_card_at_zero(hx_t *x, frames_t *f)
{
	list_card_at(x, f, RX__PURPOSE__PURPOSE_DISPENSE, 0);
}

/* ---- a date range (Call.from, Call.until: 2.3, step 20a; 5.6) ---- */

/* Only PATIENT_LIST takes one: doc's STATUS of his own (no proof needed). */
static void b_range_on_status(hx_t *x, frames_t *f)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	c.from = x->now - 3600;
	send_call(x, f, &x->doc, &c);
}

/* The pharmacy's LIST by card, with an end. */
static void b_range_on_list(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	good_card(x, AS_PH, &card);
	call_init(x, &c, RX_OP_LIST);
	c.card = &card;
	c.until = x->now;
	send_call(x, f, &x->ph, &c);
}

/* The patient's own read of one prescription, and of their log. */
static void b_range_on_patient_status(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	patient_call(x, &c, RX_OP_PATIENT_STATUS, x->id, &card);
	c.from = 1;
	c.until = x->now + 1;
	send_call(x, f, &x->card, &c);
}

static void b_range_on_log(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	patient_call(x, &c, RX_OP_LOG, NULL, &card);
	c.from = x->issued;
	send_call(x, f, &x->card, &c);
}

static void b_list_from_negative(hx_t *x, frames_t *f)
{
	patient_list(x, f, -1, 0);
}

static void b_list_from_int64_min(hx_t *x, frames_t *f)
{
	patient_list(x, f, INT64_MIN, x->now);
}

static void b_list_until_negative(hx_t *x, frames_t *f)
{
	patient_list(x, f, 0, -x->now);
}

static void b_list_until_before_from(hx_t *x, frames_t *f)
{
	patient_list(x, f, x->now, x->issued - 1);
}

static void b_list_until_is_from(hx_t *x, frames_t *f)
{
	patient_list(x, f, x->issued, x->issued);
}

/* A stale assertion (C4) with a good range. */
static void b_list_card_1h_ago(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	Rx__Signed card;
	Rx__Call c;
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_VIEW, PORTAL_CODE);
	a.at = x->now - 3600;
	sign_msg(x, &x->card, RX_SIGN_CARD, &a.base, &card);
	call_init(x, &c, RX_OP_PATIENT_LIST);
	c.card = &card;
	c.from = x->issued;
	send_call(x, f, &x->card, &c);
}

/* The ranges that hold, each reply checked against its range
 * (check_patient_list): no bound (the one list that grows with the
 * passes' prescriptions: its stored reply, too); from alone, the last
 * minute; from inclusive and until exclusive, at x->issued (nothing is
 * older); only after now; at the end of int64. */
static void b_list_unbounded(hx_t *x, frames_t *f)
{
	patient_list(x, f, 0, 0);
}

static void b_list_last_minute(hx_t *x, frames_t *f)
{
	patient_list(x, f, x->now - 60, 0);
}

static void b_list_second_of_issue(hx_t *x, frames_t *f)
{
	patient_list(x, f, x->issued, x->issued + 1);
}

static void b_list_until_issued(hx_t *x, frames_t *f)
{
	patient_list(x, f, 0, x->issued);
}

static void b_list_after_now(hx_t *x, frames_t *f)
{
	patient_list(x, f, x->now + 86400, 0);
}

static void b_list_int64_max(hx_t *x, frames_t *f)
{
	patient_list(x, f, INT64_MAX - 1, INT64_MAX);
}

const row_t hostile_rows_time[] = {
	ROW("time", issued_10y_ago, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", issued_2d_ago, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", issued_in_1h, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", issued_in_10y, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", issued_int64_min, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", issued_int64_max, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", valid_int64_max, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", valid_32_days, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", valid_before_issued, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("time", valid_until_passed, AS_DOC, RX_EXPIRED, RID_ECHO),
	ROW("time", card_1h_ago, AS_PH, RX_ASSERTION_STALE, RID_ECHO),
	ROW("time", card_in_1h, AS_PH, RX_ASSERTION_STALE, RID_ECHO),
	ROW("time", card_int64_min, AS_PH, RX_ASSERTION_STALE, RID_ECHO),
	ROW("time", card_int64_max, AS_PH, RX_ASSERTION_STALE, RID_ECHO),
	ROW("time", card_at_zero, AS_PH, RX_ASSERTION_STALE, RID_ECHO),
	ROW("range", range_on_status, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("range", range_on_list, AS_PH, RX_INVALID, RID_ECHO),
	ROW("range", range_on_patient_status, AS_CARD, RX_INVALID, RID_ECHO),
	ROW("range", range_on_log, AS_CARD, RX_INVALID, RID_ECHO),
	ROW("range", list_from_negative, AS_CARD, RX_INVALID, RID_ECHO),
	ROW("range", list_from_int64_min, AS_CARD, RX_INVALID, RID_ECHO),
	ROW("range", list_until_negative, AS_CARD, RX_INVALID, RID_ECHO),
	ROW("range", list_until_before_from, AS_CARD, RX_INVALID, RID_ECHO),
	ROW("range", list_until_is_from, AS_CARD, RX_INVALID, RID_ECHO),
	ROW("range", list_card_1h_ago, AS_CARD, RX_ASSERTION_STALE, RID_ECHO),
	ROW("range", list_unbounded, AS_CARD, RX_OK, RID_ECHO),
	ROW("range", list_last_minute, AS_CARD, RX_OK, RID_ECHO),
	ROW("range", list_second_of_issue, AS_CARD, RX_OK, RID_ECHO),
	ROW("range", list_until_issued, AS_CARD, RX_OK, RID_ECHO),
	ROW("range", list_after_now, AS_CARD, RX_OK, RID_ECHO),
	ROW("range", list_int64_max, AS_CARD, RX_OK, RID_ECHO),
};

const int hostile_rows_time_n =
	(int)(sizeof hostile_rows_time / sizeof hostile_rows_time[0]);
