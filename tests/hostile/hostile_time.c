/* Hostile input, times: issue and validity dates, and card assertions, out of their
 * windows or at the ends of int64. */

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
};

const int hostile_rows_time_n =
	(int)(sizeof hostile_rows_time / sizeof hostile_rows_time[0]);
