/* Hostile input, identifiers and tokens: prescription ids, claim tokens, access codes
 * and patient ids that are malformed, missing or misplaced, the
 * notices ops (ACK, NOMINATE, WATCH) with bad fields, and the ids a
 * patient's PATIENT_STATUS names (5.6): malformed, unknown, another
 * patient's. */

#include "hostile.h"

/* ---- identifiers and tokens ---- */

/* x->id with its check character changed. */
static char *bad_check(hx_t *x)
{
	char *id = hx_dup(x, x->id, sizeof x->id);
	char *last = &id[RX_ID_LEN - 1];
	*last = *last == '0' ? '1' : '0';
	return id;
}

static void b_rxid_bad_check(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_DOC, RX_OP_STATUS, bad_check(x), NULL, 0, NULL);
}

static void b_rxid_letter_o(hx_t *x, frames_t *f)
{
	char *id = hx_dup(x, x->id, sizeof x->id);
	id[0] = 'O'; /* not Crockford base32; never read as 0 */
	op_on(x, f, AS_DOC, RX_OP_STATUS, id, NULL, 0, NULL);
}

static void b_rxid_tab(hx_t *x, frames_t *f)
{
	char *id = hx_alloc(x, 32);
	snprintf(id, 32, "%.4s\t%s", x->id, x->id + 5);
	op_on(x, f, AS_DOC, RX_OP_STATUS, id, NULL, 0, NULL);
}

static void b_rxid_too_long(hx_t *x, frames_t *f)
{
	char *id = hx_alloc(x, 32);
	snprintf(id, 32, "%s0", x->id);
	op_on(x, f, AS_DOC, RX_OP_STATUS, id, NULL, 0, NULL);
}

static void b_rxid_missing(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_DOC, RX_OP_CANCEL, "", NULL, 0, NULL);
}

static void b_token_15(hx_t *x, frames_t *f)
{
	uint8_t tok[RX_TOKEN_LEN + 1] = {1};
	op_on(x, f, AS_PH, RX_OP_RELEASE, x->id, tok, 15, NULL);
}

static void b_token_17(hx_t *x, frames_t *f)
{
	uint8_t tok[RX_TOKEN_LEN + 1] = {1};
	op_on(x, f, AS_PH, RX_OP_RELEASE, x->id, tok, 17, NULL);
}

static void b_token_missing(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_PH, RX_OP_RELEASE, x->id, NULL, 0, NULL);
}

static void b_code_bad_check(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_PH, RX_OP_CLAIM, x->id, NULL, 0, "H4TK-9W2Q-XMX");
}

static void b_code_too_short(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_PH, RX_OP_CLAIM, x->id, NULL, 0, "H4TK-9W2Q-XM");
}

static void b_code_on_release(hx_t *x, frames_t *f)
{
	uint8_t tok[RX_TOKEN_LEN] = {1};
	op_on(x, f, AS_PH, RX_OP_RELEASE, x->id, tok, sizeof tok, "H4TK-9W2Q-XMW");
}

static void b_code_on_submit(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Signed card;
	Rx__Call c;
	presc_init(x, &ps);
	submit_call(x, &c, &card);
	c.access_code = (char *)"H4TK-9W2Q-XMW";
	submit_doc(x, f, (doc_req_t){.call = &c, .msg = &ps.p.base});
}

/* The notice and nomination fields on ops that do not take them, and out of
 * bounds on the ops that do. */
static void b_pharmacy_code_on_claim(hx_t *x, frames_t *f)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_CLAIM);
	c.prescription_id = x->id;
	c.pharmacy_code = (char *)"1398765432";
	send_call(x, f, &x->ph, &c);
}

static void b_ack_on_status(hx_t *x, frames_t *f)
{
	uint64_t seq = 1;
	Rx__Call c;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	c.ack = &seq;
	c.n_ack = 1;
	send_call(x, f, &x->ph, &c);
}

static void b_ack_none(hx_t *x, frames_t *f)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_ACK);
	send_call(x, f, &x->ph, &c);
}

static void b_ack_257(hx_t *x, frames_t *f)
{
	static uint64_t seqs[257];
	Rx__Call c;
	call_init(x, &c, RX_OP_ACK);
	c.ack = seqs;
	c.n_ack = 257;
	send_call(x, f, &x->ph, &c);
}

static void b_nominate_bad_code(hx_t *x, frames_t *f)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_NOMINATE);
	c.pharmacy_code = (char *)"no spaces allowed";
	send_call(x, f, &x->ph, &c);
}

/* An answer to an inquiry is the prescriber's (5.14): a pharmacy's key
 * is refused by its role.  (WATCH is a clinic's too since 5.14.) */
static void b_reply_as_pharmacy(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__InquiryReply a = RX__INQUIRY_REPLY__INIT;
	a.inquiry = 1;
	a.answer = RX__ANSWER__ANSWER_KEEP;
	call_init(x, &c, RX_OP_INQUIRY_REPLY);
	c.prescription_id = x->id;
	c.inquiry_reply = &a;
	send_call(x, f, &x->ph, &c);
}

static void b_list_id_without_code(hx_t *x, frames_t *f)
{
	op_on(x, f, AS_PH, RX_OP_LIST, x->id, NULL, 0, NULL);
}

static void b_list_bad_patient(hx_t *x, frames_t *f)
{
	Rx__Call c;
	Rx__Signed card;
	char *pid = hx_dup(x, x->patient, sizeof x->patient);
	pid[RX_PATIENT_ID_LEN - 1] = pid[RX_PATIENT_ID_LEN - 1] == '0' ? '1' : '0';
	good_card(x, AS_PH, &card);
	call_init(x, &c, RX_OP_LIST);
	c.card = &card;
	c.patient_id = pid;
	send_call(x, f, &x->ph, &c);
}

static void b_record_other_id(hx_t *x, frames_t *f)
{
	record_t r;
	char *other = hx_alloc(x, RX_ID_LEN + 1);
	do
		rx_rxid_new(other);
	while (strcmp(other, x->id) == 0);
	record_init(x, &r);
	r.d.prescription_id = other;
	dispense_record(x, f, &r);
}

static void b_record_id_lower_case(hx_t *x, frames_t *f)
{
	record_t r;
	char *id = hx_dup(x, x->id, sizeof x->id);
	for (char *p = id; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	record_init(x, &r);
	r.d.prescription_id = id;
	dispense_record(x, f, &r);
}

static void b_record_use_4(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.use = 4;
	dispense_record(x, f, &r);
}

/* No Request.dispense: the signature is over the call and holds; a
 * DISPENSE without its record is INVALID at 9a (v1: at P). */
static void b_dispense_without_record(hx_t *x, frames_t *f)
{
	uint8_t tok[RX_TOKEN_LEN] = {1};
	op_on(x, f, AS_PH, RX_OP_DISPENSE, x->id, tok, sizeof tok, NULL);
}

/* ---- the ids of a patient's own read (PATIENT_STATUS, 5.6) ---- */

static void b_patient_status_bad_check(hx_t *x, frames_t *f)
{
	patient_read(x, f, RX_OP_PATIENT_STATUS, bad_check(x));
}

static void b_patient_status_no_id(hx_t *x, frames_t *f)
{
	patient_read(x, f, RX_OP_PATIENT_STATUS, "");
}

/* Well formed, issued to nobody. */
static void b_patient_status_unknown_id(hx_t *x, frames_t *f)
{
	char *id = hx_alloc(x, RX_ID_LEN + 1);
	do
		rx_rxid_new(id);
	while (strcmp(id, x->id) == 0 || strcmp(id, x->part_id) == 0);
	patient_read(x, f, RX_OP_PATIENT_STATUS, id);
}

/* The second patient's card, through the portal, asks for x->id (the first
 * patient's): it reads as no prescription, as an unknown id does. */
static void b_patient_status_other_patient(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	Rx__Signed card;
	Rx__Call c;
	card_init(x, &a, &x->card2, RX__PURPOSE__PURPOSE_VIEW, PORTAL_CODE);
	sign_msg(x, &x->card2, RX_SIGN_CARD, &a.base, &card);
	call_init(x, &c, RX_OP_PATIENT_STATUS);
	c.prescription_id = x->id;
	c.card = &card;
	send_call(x, f, &x->card2, &c);
}

/* The id written in lower case with spaces: canonicalized (4.2), it is
 * x->id, and it is the patient's. */
static void b_patient_status_id_spelled(hx_t *x, frames_t *f)
{
	char *id = hx_alloc(x, 32);
	size_t n = 0;
	for (const char *p = x->id; *p; p++)
		id[n++] = *p == '-' ? ' ' : (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
	patient_read(x, f, RX_OP_PATIENT_STATUS, id);
}

/* An access code is the slip's proof for CLAIM, STATUS and LIST alone
 * (step 12): beside the card, well formed, on either read. */
static void patient_with_code(hx_t *x, frames_t *f, int op)
{
	Rx__Call c;
	Rx__Signed card;
	char *code = hx_alloc(x, RX_ACCESS_CODE_LEN + 1);
	rx_access_code_new(code);
	patient_call(x, &c, op, op == RX_OP_PATIENT_STATUS ? x->id : NULL, &card);
	c.access_code = code;
	send_call(x, f, &x->card, &c);
}

static void b_patient_status_access_code(hx_t *x, frames_t *f)
{
	patient_with_code(x, f, RX_OP_PATIENT_STATUS);
}

static void b_patient_list_access_code(hx_t *x, frames_t *f)
{
	patient_with_code(x, f, RX_OP_PATIENT_LIST);
}

const row_t hostile_rows_ids[] = {
	ROW("identifier", rxid_bad_check, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("identifier", rxid_letter_o, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("identifier", rxid_tab, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("identifier", rxid_too_long, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("identifier", rxid_missing, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("identifier", token_15, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", token_17, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", token_missing, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", code_bad_check, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", code_too_short, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", code_on_release, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", code_on_submit, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("notices", pharmacy_code_on_claim, AS_PH, RX_INVALID, RID_ECHO),
	ROW("notices", ack_on_status, AS_PH, RX_INVALID, RID_ECHO),
	ROW("notices", ack_none, AS_PH, RX_INVALID, RID_ECHO),
	ROW("notices", ack_257, AS_PH, RX_INVALID, RID_ECHO),
	ROW("notices", nominate_bad_code, AS_PH, RX_INVALID, RID_ECHO),
	ROW("notices", reply_as_pharmacy, AS_PH, RX_PERMISSION_DENIED, RID_ECHO),
	ROW("identifier", list_id_without_code, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", list_bad_patient, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", record_other_id, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", record_id_lower_case, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", record_use_4, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", dispense_without_record, AS_PH, RX_INVALID, RID_ECHO),
	ROW("identifier", patient_status_bad_check, AS_CARD, RX_INVALID, RID_ECHO),
	ROW("identifier", patient_status_no_id, AS_CARD, RX_INVALID, RID_ECHO),
	ROW("identifier", patient_status_unknown_id, AS_CARD, RX_NOT_FOUND, RID_ECHO),
	ROW("identifier", patient_status_other_patient, AS_CARD, RX_NOT_FOUND, RID_ECHO),
	ROW("identifier", patient_status_id_spelled, AS_CARD, RX_OK, RID_ECHO),
	ROW("identifier", patient_status_access_code, AS_CARD, RX_INVALID, RID_ECHO),
	ROW("identifier", patient_list_access_code, AS_CARD, RX_INVALID, RID_ECHO),
};

const int hostile_rows_ids_n =
	(int)(sizeof hostile_rows_ids / sizeof hostile_rows_ids[0]);
