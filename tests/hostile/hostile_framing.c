/* Hostile input, framing: a request must come as exactly [identity][empty][payload]
 * (proto/README.md section 1). */

#include "hostile.h"

/* ---- framing (section 1: exactly [identity][empty][payload]) ---- */

static void b_empty_payload(hx_t *x, frames_t *f)
{
	(void)x;
	frame(x, f, "", 0);
	frame(x, f, "", 0);
}

static void b_one_frame(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	frame(x, f, req, n);
}

static void b_one_empty_frame(hx_t *x, frames_t *f)
{
	frame(x, f, "", 0);
}

static void b_nonempty_delimiter(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	frame(x, f, "x", 1);
	frame(x, f, req, n);
}

static void b_delimiter_last(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	frame(x, f, req, n);
	frame(x, f, "", 0);
}

static void b_three_frames(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	request_frames(x, f, req, n);
	frame(x, f, req, n);
}

static void b_two_delimiters(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	frame(x, f, "", 0);
	request_frames(x, f, req, n);
}

/* More parts than rxd keeps (it holds 4 and drops the rest). */
static void b_eleven_frames(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	frame(x, f, "", 0);
	for (int i = 0; i < 10; i++)
		frame(x, f, req, n);
}

const row_t hostile_rows_framing[] = {
	ROW("framing", empty_payload, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", one_frame, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", one_empty_frame, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", nonempty_delimiter, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", delimiter_last, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", three_frames, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", two_delimiters, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("framing", eleven_frames, AS_DOC, RX_INVALID, RID_EMPTY),
};

const int hostile_rows_framing_n =
	(int)(sizeof hostile_rows_framing / sizeof hostile_rows_framing[0]);
