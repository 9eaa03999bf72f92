/* Hostile input, text and counts: invalid UTF-8, controls, bidi overrides, embedded
 * NULs and over-long fields (section 2.5), and item counts out of bounds;
 * and the content rules of a document's other fields (a dispense record's
 * lines, AMEND and WITHDRAW, partial fills, divided dispensing). */

#include "hostile.h"

/* ---- text (section 2.5: UTF-8, no controls, no bidi overrides) ---- */

static void b_text_overlong_2(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xc0\xaf 5 mg");
}

static void b_text_overlong_3(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xe0\x80\xaf 5 mg");
}

static void b_text_overlong_4(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xf0\x80\x80\xaf 5 mg");
}

static void b_text_surrogate(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xed\xa0\x80 5 mg");
}

static void b_text_truncated(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc 5 mg \xe3\x81");
}

static void b_text_above_max(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xf4\x90\x80\x80 5 mg");
}

static void b_text_lone_continuation(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \x80 5 mg");
}

static void b_text_five_byte(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xf8\x88\x80\x80\x80 5 mg");
}

static void b_text_escape(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \x1b[2J 5 mg");
}

static void b_text_del(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \x7f 5 mg");
}

static void b_text_c1_csi(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xc2\x9b" "2J 5 mg");
}

static void b_text_bidi_override(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc \xe2\x80\xae" "gm 05");
}

static void b_text_carriage_return(hx_t *x, frames_t *f)
{
	submit_name(x, f, "Norvasc 5 mg\r10 mg");
}

/* A NUL inside a string: protobuf-c ends the decoded string there, so
 * the signed bytes would say more than what a C reader checks and shows
 * ("Norvasc 5 mg" to one pharmacy system, "Norvasc 5 mg\0 x 100 tablets"
 * to another).  The marker is long enough never to match random key bytes. */
#define NUL_MARK "#NUL#"

static void patch_nul(uint8_t *buf, size_t len)
{
	uint8_t *m = memmem(buf, len, NUL_MARK, strlen(NUL_MARK));
	ck_assert_ptr_nonnull(m);
	*m = 0;
}

/* Submit ps with its NUL_MARK made a NUL byte: patched in the bound
 * document before it is signed, so only the NUL is wrong. */
static void submit_nul(hx_t *x, frames_t *f, presc_t *ps)
{
	submit_doc(x, f, (doc_req_t){.msg = &ps->p.base, .patch = patch_nul});
}

static void b_text_embedded_nul(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.it.name = (char *)"Norvasc 5 mg" NUL_MARK " x 100 tablets";
	submit_nul(x, f, &ps);
}

static void b_notes_embedded_nul(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.notes = (char *)NUL_MARK "double the dose";
	submit_nul(x, f, &ps);
}

static void b_record_notes_nul(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.notes = (char *)"generic" NUL_MARK " substituted";
	dispense_doc(x, f, (doc_req_t){.msg = &r.d.base, .patch = patch_nul});
}

/* The pharmacy's code, a NUL, more: equal to the connection's in C. */
static void b_card_institution_nul(hx_t *x, frames_t *f)
{
	Rx__CardAssertion a;
	Rx__Signed card;
	char *inst = hx_alloc(x, 64);
	snprintf(inst, 64, "%s" NUL_MARK, inst_of(x, AS_PH));
	card_init(x, &a, &x->card, RX__PURPOSE__PURPOSE_DISPENSE, inst);
	sign_msg(x, &x->card, RX_SIGN_CARD, &a.base, &card);
	patch_nul(card.body.data, card.body.len);
	resign(&x->card, RX_SIGN_CARD, &card);
	list_card(x, f, &card);
}

/* A prescription id, a NUL, more: the id alone canonicalizes. */
static void b_rxid_embedded_nul(hx_t *x, frames_t *f)
{
	Rx__Call c;
	size_t clen;
	char *id = hx_alloc(x, 64);
	snprintf(id, 64, "%s" NUL_MARK, x->id);
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = id;
	uint8_t *call = pack_call(x, &c, &clen);
	patch_nul(call, clen);
	signed_call_bytes(x, f, call, clen);
}

static void b_notes_2001(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	char *notes = hx_alloc(x, 2002);
	memset(notes, 'n', 2001);
	ps.p.notes = notes;
	submit_presc(x, f, &ps);
}

static void b_empty_required_text(hx_t *x, frames_t *f)
{
	submit_name(x, f, "");
}

static void b_drug_code_check(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.it.drug_code = (char *)"2171022F2020";
	submit_presc(x, f, &ps);
}

/* override_reason (the prescriber's reason to prescribe a duplicate medication):
 * 501 characters, blank, a control character, a NUL inside. */

static void submit_override(hx_t *x, frames_t *f, const char *why)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.override_reason = (char *)why;
	submit_presc(x, f, &ps);
}

static void b_override_501(hx_t *x, frames_t *f)
{
	char *why = hx_alloc(x, 3 * 501 + 1);
	why[0] = '\0';
	for (int i = 0; i < 501; i++)
		strcat(why, "重");
	submit_override(x, f, why);
}

static void b_override_blank(hx_t *x, frames_t *f)
{
	submit_override(x, f, "  \n ");
}

static void b_override_escape(hx_t *x, frames_t *f)
{
	submit_override(x, f, "known duplicate \x1b[2J");
}

static void b_override_nul(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.p.override_reason = (char *)"known" NUL_MARK " duplicate";
	submit_nul(x, f, &ps);
}

static void b_dispense_notes_invalid(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.notes = (char *)"generic \xed\xbf\xbf substituted";
	dispense_record(x, f, &r);
}

/* ---- counts ---- */

static void presc_items(hx_t *x, frames_t *f, size_t n, int compact)
{
	presc_t ps;
	presc_init(x, &ps);
	if (compact) { /* short text, so thousands fit under the frame cap */
		ps.it.name = (char *)"N";
		ps.it.dose = (char *)"1";
		ps.it.unit = (char *)"t";
		ps.it.usage = (char *)"u";
	}
	Rx__Item **items = hx_alloc(x, (n ? n : 1) * sizeof *items);
	for (size_t i = 0; i < n; i++)
		items[i] = &ps.it;
	ps.p.items = items;
	ps.p.n_items = n;
	submit_presc(x, f, &ps);
	ck_assert_uint_lt(f->len[f->n - 1], RX_MAX_FRAME);
}

static void b_items_0(hx_t *x, frames_t *f)
{
	presc_items(x, f, 0, 0);
}

static void b_items_33(hx_t *x, frames_t *f)
{
	presc_items(x, f, 33, 0);
}

static void b_items_4000(hx_t *x, frames_t *f)
{
	presc_items(x, f, 4000, 1);
}

static void b_dispense_lines_33(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	Rx__Line *l = hx_alloc(x, 33 * sizeof *l);
	Rx__Line **lines = hx_alloc(x, 33 * sizeof *lines);
	for (size_t i = 0; i < 33; i++) {
		l[i] = r.line;
		l[i].item = (uint32_t)i + 1;
		lines[i] = &l[i];
	}
	r.d.lines = lines;
	r.d.n_lines = 33;
	dispense_record(x, f, &r);
}

/* ---- a dispense record's lines (proto/README 2.5) ---- */

/* The record's form before lines: what was handed over as bare items. */
static void b_dispense_legacy_items(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	Rx__Item **items = hx_alloc(x, sizeof *items);
	items[0] = &r.it;
	r.d.items = items;
	r.d.n_items = 1;
	dispense_record(x, f, &r);
}

static void b_dispense_no_lines(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.n_lines = 0;
	dispense_record(x, f, &r);
}

static void b_line_item_0(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.line.item = 0;
	dispense_record(x, f, &r);
}

static void b_line_outcome_99(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.line.outcome = (Rx__Outcome)99;
	dispense_record(x, f, &r);
}

static void b_line_handed_with_mark(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.it.no_change = 1;
	dispense_record(x, f, &r);
}

static void b_line_substituted_no_reason(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.line.outcome = RX__OUTCOME__SUBSTITUTED;
	dispense_record(x, f, &r);
}

/* Nothing handed over at all: a claim with nothing to dispense is released. */
static void b_line_only_not_dispensed(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.line.outcome = RX__OUTCOME__NOT_DISPENSED;
	r.line.reason = RX__LINE_REASON__LEFTOVER;
	r.line.handed = NULL;
	dispense_record(x, f, &r);
}

static void b_line_not_dispensed_but_handed(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.line.outcome = RX__OUTCOME__NOT_DISPENSED;
	r.line.reason = RX__LINE_REASON__OUT_OF_STOCK;
	dispense_record(x, f, &r);
}

static void b_line_reason_99(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.line.reason = (Rx__LineReason)99;
	dispense_record(x, f, &r);
}

/* ---- AMEND and WITHDRAW (proto/README 2.5, 5.12): content by op ---- */

/* r sent as the record of op on x->id, with no claim token. */
static void redo_record(hx_t *x, frames_t *f, record_t *r, int op)
{
	Rx__Call c;
	call_init(x, &c, op);
	c.prescription_id = x->id;
	dispense_doc(x, f, (doc_req_t){.msg = &r->d.base, .call = &c});
}

static void b_amend_without_replaces(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	redo_record(x, f, &r, RX_OP_AMEND);
}

static void b_amend_with_withdraw_reason(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.replaces.data = hx_alloc(x, RX_HASH_LEN);
	r.d.replaces.len = RX_HASH_LEN;
	r.d.withdraw_reason = RX__WITHDRAW_REASON__NOT_COLLECTED;
	redo_record(x, f, &r, RX_OP_AMEND);
}

static void b_withdraw_with_lines(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.replaces.data = hx_alloc(x, RX_HASH_LEN);
	r.d.replaces.len = RX_HASH_LEN;
	r.d.withdraw_reason = RX__WITHDRAW_REASON__NOT_COLLECTED;
	redo_record(x, f, &r, RX_OP_WITHDRAW);
}

static void b_withdraw_without_reason(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.n_lines = 0;
	r.d.replaces.data = hx_alloc(x, RX_HASH_LEN);
	r.d.replaces.len = RX_HASH_LEN;
	redo_record(x, f, &r, RX_OP_WITHDRAW);
}

static void b_withdraw_replaces_31(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.n_lines = 0;
	r.d.replaces.data = hx_alloc(x, RX_HASH_LEN);
	r.d.replaces.len = RX_HASH_LEN - 1;
	r.d.withdraw_reason = RX__WITHDRAW_REASON__DISPENSED_IN_ERROR;
	redo_record(x, f, &r, RX_OP_WITHDRAW);
}

static void b_dispense_with_replaces(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.replaces.data = hx_alloc(x, RX_HASH_LEN);
	r.d.replaces.len = RX_HASH_LEN;
	dispense_record(x, f, &r);
}

/* ---- partial fills (proto/README 5.13): a record's content ---- */

/* x->id's record (nothing is claimed: the content is refused first) as
 * part part, its one line PARTIAL (10 of the 28 units) for reason. */
static void partial_record(hx_t *x, frames_t *f, uint32_t part, int reason)
{
	record_t r;
	record_init(x, &r);
	r.d.part = part;
	r.line.outcome = RX__OUTCOME__PARTIAL;
	r.line.reason = (Rx__LineReason)reason;
	r.it.quantity = 10;
	dispense_record(x, f, &r);
}

/* GENERIC explains a substitution, not why the rest is owed. */
static void b_partial_reason_generic(hx_t *x, frames_t *f)
{
	partial_record(x, f, 1, RX__LINE_REASON__GENERIC);
}

static void b_partial_no_reason(hx_t *x, frames_t *f)
{
	partial_record(x, f, 1, RX__LINE_REASON__REASON_NONE);
}

static void b_partial_without_handed(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.part = 1;
	r.line.outcome = RX__OUTCOME__PARTIAL;
	r.line.reason = RX__LINE_REASON__OUT_OF_STOCK;
	r.line.handed = NULL;
	dispense_record(x, f, &r);
}

/* A record that leaves units owed is a part, not the whole use. */
static void b_partial_in_part_0(hx_t *x, frames_t *f)
{
	partial_record(x, f, 0, RX__LINE_REASON__OUT_OF_STOCK);
}

/* Part 8 is the last: it leaves nothing owed. */
static void b_partial_in_part_8(hx_t *x, frames_t *f)
{
	partial_record(x, f, 8, RX__LINE_REASON__OUT_OF_STOCK);
}

/* A use handed over at once is part 0, not part 1. */
static void b_part_1_without_partial(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.part = 1;
	dispense_record(x, f, &r);
}

static void b_part_9(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.part = 9;
	dispense_record(x, f, &r);
}

static void b_part_4294967295(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.part = 0xffffffffu;
	dispense_record(x, f, &r);
}

/* A use handed over in parts is not amended: part has no place in an AMEND. */
static void b_amend_with_part(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.part = 2;
	r.d.replaces.data = hx_alloc(x, RX_HASH_LEN);
	r.d.replaces.len = RX_HASH_LEN;
	redo_record(x, f, &r, RX_OP_AMEND);
}

/* ... nor an amended record leaves units owed. */
static void b_amend_with_partial(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.line.outcome = RX__OUTCOME__PARTIAL;
	r.line.reason = RX__LINE_REASON__OUT_OF_STOCK;
	r.it.quantity = 10;
	r.d.replaces.data = hx_alloc(x, RX_HASH_LEN);
	r.d.replaces.len = RX_HASH_LEN;
	redo_record(x, f, &r, RX_OP_AMEND);
}

static void b_withdraw_with_part(hx_t *x, frames_t *f)
{
	record_t r;
	record_init(x, &r);
	r.d.n_lines = 0;
	r.d.part = 1;
	r.d.replaces.data = hx_alloc(x, RX_HASH_LEN);
	r.d.replaces.len = RX_HASH_LEN;
	r.d.withdraw_reason = RX__WITHDRAW_REASON__DISPENSED_IN_ERROR;
	redo_record(x, f, &r, RX_OP_WITHDRAW);
}

/* Divided dispensing (proto/README 5.11): one part's days per use. */
static void b_parts_one(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	uint32_t *parts = hx_alloc(x, sizeof *parts);
	parts[0] = 10;
	ps.p.part_days = parts;
	ps.p.n_part_days = 1;
	submit_presc(x, f, &ps);
}

static void b_parts_not_uses(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	uint32_t *parts = hx_alloc(x, 2 * sizeof *parts);
	parts[0] = parts[1] = 10;
	ps.p.part_days = parts;
	ps.p.n_part_days = 2;
	ps.p.uses = 3;
	submit_presc(x, f, &ps);
}

static void b_parts_zero_days(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	uint32_t *parts = hx_alloc(x, 2 * sizeof *parts);
	parts[0] = 10;
	parts[1] = 0;
	ps.p.part_days = parts;
	ps.p.n_part_days = 2;
	ps.p.uses = 2;
	submit_presc(x, f, &ps);
}

static void b_item_necessity_without_no_change(hx_t *x, frames_t *f)
{
	presc_t ps;
	presc_init(x, &ps);
	ps.it.medical_necessity = 1;
	submit_presc(x, f, &ps);
}

const row_t hostile_rows_text[] = {
	ROW("text", text_overlong_2, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_overlong_3, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_overlong_4, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_surrogate, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_truncated, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_above_max, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_lone_continuation, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_five_byte, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_escape, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_del, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_c1_csi, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_bidi_override, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_carriage_return, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", text_embedded_nul, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", notes_embedded_nul, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", record_notes_nul, AS_PH, RX_INVALID, RID_ECHO),
	ROW("text", card_institution_nul, AS_PH, RX_INVALID, RID_ECHO),
	ROW("text", rxid_embedded_nul, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", notes_2001, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", empty_required_text, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", drug_code_check, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", override_501, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", override_blank, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", override_escape, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", override_nul, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("text", dispense_notes_invalid, AS_PH, RX_INVALID, RID_ECHO),
	ROW("count", items_0, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("count", items_33, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("count", items_4000, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("count", dispense_lines_33, AS_PH, RX_INVALID, RID_ECHO),
	ROW("lines", dispense_legacy_items, AS_PH, RX_INVALID, RID_ECHO),
	ROW("lines", dispense_no_lines, AS_PH, RX_INVALID, RID_ECHO),
	ROW("lines", line_item_0, AS_PH, RX_INVALID, RID_ECHO),
	ROW("lines", line_outcome_99, AS_PH, RX_INVALID, RID_ECHO),
	ROW("lines", line_handed_with_mark, AS_PH, RX_INVALID, RID_ECHO),
	ROW("lines", line_substituted_no_reason, AS_PH, RX_INVALID, RID_ECHO),
	ROW("lines", line_only_not_dispensed, AS_PH, RX_INVALID, RID_ECHO),
	ROW("lines", line_not_dispensed_but_handed, AS_PH, RX_INVALID, RID_ECHO),
	ROW("lines", line_reason_99, AS_PH, RX_INVALID, RID_ECHO),
	ROW("lines", item_necessity_without_no_change, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("amend", amend_without_replaces, AS_PH, RX_INVALID, RID_ECHO),
	ROW("amend", amend_with_withdraw_reason, AS_PH, RX_INVALID, RID_ECHO),
	ROW("amend", withdraw_with_lines, AS_PH, RX_INVALID, RID_ECHO),
	ROW("amend", withdraw_without_reason, AS_PH, RX_INVALID, RID_ECHO),
	ROW("amend", withdraw_replaces_31, AS_PH, RX_INVALID, RID_ECHO),
	ROW("amend", dispense_with_replaces, AS_PH, RX_INVALID, RID_ECHO),
	ROW("partial", partial_reason_generic, AS_PH, RX_INVALID, RID_ECHO),
	ROW("partial", partial_no_reason, AS_PH, RX_INVALID, RID_ECHO),
	ROW("partial", partial_without_handed, AS_PH, RX_INVALID, RID_ECHO),
	ROW("partial", partial_in_part_0, AS_PH, RX_INVALID, RID_ECHO),
	ROW("partial", partial_in_part_8, AS_PH, RX_INVALID, RID_ECHO),
	ROW("partial", part_1_without_partial, AS_PH, RX_INVALID, RID_ECHO),
	ROW("partial", part_9, AS_PH, RX_INVALID, RID_ECHO),
	ROW("partial", part_4294967295, AS_PH, RX_INVALID, RID_ECHO),
	ROW("partial", amend_with_part, AS_PH, RX_INVALID, RID_ECHO),
	ROW("partial", amend_with_partial, AS_PH, RX_INVALID, RID_ECHO),
	ROW("partial", withdraw_with_part, AS_PH, RX_INVALID, RID_ECHO),
	ROW("parts", parts_one, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("parts", parts_not_uses, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("parts", parts_zero_days, AS_DOC, RX_INVALID, RID_ECHO),
};

const int hostile_rows_text_n =
	(int)(sizeof hostile_rows_text / sizeof hostile_rows_text[0]);
