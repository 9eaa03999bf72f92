/* rx_check: content rules for prescriptions and dispense records. */
#include "rx_check.h"

#include <sodium.h>
#include <string.h>

#include "rx_ids.h"
#include "rx_types.h"
#include "rx_wire.h"

_Static_assert((int)RX_OP_SUBMIT == RX__OP__SUBMIT && (int)RX_OP_LIST == RX__OP__LIST &&
		       (int)RX_OP_LOG == RX__OP__LOG && (int)RX_OP_ACK == RX__OP__ACK &&
		       (int)RX_OP_PATIENT_STATUS == RX__OP__PATIENT_STATUS &&
		       (int)RX_OP_INQUIRY_REPLY == RX__OP__INQUIRY_REPLY,
	       "op");
_Static_assert((int)RX_STATE_ISSUED == RX__STATE__ISSUED &&
		       (int)RX_STATE_CLAIMED == RX__STATE__CLAIMED &&
		       (int)RX_STATE_DISPENSED == RX__STATE__DISPENSED &&
		       (int)RX_STATE_CANCELLED == RX__STATE__CANCELLED_STATE &&
		       (int)RX_STATE_EXPIRED == RX__STATE__EXPIRED_STATE &&
		       (int)RX_STATE_PARTIAL == RX__STATE__PARTIALLY_DISPENSED,
	       "state");
_Static_assert((int)RX_ROLE_PRESCRIBER == RX__ROLE__PRESCRIBER &&
		       (int)RX_ROLE_PHARMACY == RX__ROLE__PHARMACY,
	       "role");

const char *rx_state_name(int state)
{
	static const char *const n[] = {"?", "ISSUED", "CLAIMED", "DISPENSED", "CANCELLED",
					"EXPIRED", "PARTIALLY_DISPENSED"};
	return state > 0 && state <= RX_STATE_LAST ? n[state] : "?";
}

const char *rx_notice_kind_name(int kind)
{
	static const char *const n[] = {"?", "new", "cancel", "inquiry", "inquiry_reply", "dispensed",
					"amended", "withdrawn", "expired"};
	return kind > 0 && (size_t)kind < sizeof n / sizeof n[0] ? n[kind] : "?";
}

const char *rx_role_name(int role)
{
	return role == RX_ROLE_PRESCRIBER ? "prescriber" : role == RX_ROLE_PHARMACY ? "pharmacy" : "?";
}

int rx_role_parse(const char *s)
{
	if (s && strcmp(s, "prescriber") == 0)
		return RX_ROLE_PRESCRIBER;
	if (s && strcmp(s, "pharmacy") == 0)
		return RX_ROLE_PHARMACY;
	return 0;
}

rx_err_t rx_check_text(const char *s, size_t max, int required)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s ? strlen(s) : 0;
	if (n == 0)
		return required ? RX_INVALID : RX_OK;
	if (n > max)
		return RX_INVALID;
	while (*p) {
		unsigned c = *p, len, cp;
		if (c < 0x80) {
			if (c < 0x20 && c != '\n' && c != '\t')
				return RX_INVALID;
			if (c == 0x7f)
				return RX_INVALID;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07;
		else
			return RX_INVALID;
		for (unsigned i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return RX_INVALID;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return RX_INVALID;
		/* C1 controls: U+009B is a one-character terminal escape (CSI). */
		if (cp >= 0x80 && cp <= 0x9f)
			return RX_INVALID;
		/* Bidirectional overrides and isolates can make a pharmacist read a
		 * dose other than the one signed ("Trojan Source"). */
		if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			return RX_INVALID;
		p += len;
	}
	return RX_OK;
}

rx_err_t rx_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf, *end = buf + len;
	rx_wire_field_t w;
	while (p < end) {
		if (!rx_wire_next(&p, end, &w) || w.number > UINT32_MAX)
			return RX_INVALID;
		if (w.type != RX_WIRE_LEN)
			continue;
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field(desc, (unsigned)w.number);
		if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(w.data, 0, w.len))
			return RX_INVALID;
		/* The schema nests at most two deep (Prescription, Item). */
		if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
		    rx_check_strings(f->descriptor, w.data, w.len) != RX_OK)
			return RX_INVALID;
	}
	return RX_OK;
}

/* Characters (code points) of valid UTF-8 text: the bytes that start one. */
static size_t characters(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

#define FAIL(code, text)            \
	do {                        \
		*why = (text);      \
		return (code);      \
	} while (0)

#define FAIL_FIELD(name, text)      \
	do {                        \
		*field = (name);    \
		FAIL(RX_INVALID, text); \
	} while (0)

rx_err_t rx_check_item(const Rx__Item *it, const char **field, const char **why)
{
	if (rx_drug_code_valid(it->drug_code) != RX_OK)
		FAIL_FIELD("drug_code", "an item's drug code is not a valid 12-character NHI code");
	if (rx_check_text(it->name, 200, 1) != RX_OK)
		FAIL_FIELD("name", "an item's name is missing, too long or not UTF-8 text");
	if (rx_check_text(it->dose, 100, 1) != RX_OK)
		FAIL_FIELD("dose", "an item's dose is missing, too long or not UTF-8 text");
	if (rx_check_text(it->unit, 32, 1) != RX_OK)
		FAIL_FIELD("unit", "an item's unit is missing, too long or not UTF-8 text");
	if (rx_check_text(it->usage, 400, 1) != RX_OK)
		FAIL_FIELD("usage", "an item's usage is missing, too long or not UTF-8 text");
	if (it->days < 1 || it->days > 365)
		FAIL_FIELD("days", "an item's days must be 1..365");
	if (it->quantity < 1 || it->quantity > 100000)
		FAIL_FIELD("quantity", "an item's quantity must be 1..100000");
	if (it->medical_necessity && !it->no_change)
		FAIL_FIELD("medical_necessity", "an item's medical_necessity needs its no_change mark");
	return RX_OK;
}

static rx_err_t check_items(Rx__Item **items, size_t n, const char **why)
{
	const char *field;
	if (n == 0)
		FAIL(RX_INVALID, "at least one item is required");
	if (n > RX_MAX_ITEMS)
		FAIL(RX_INVALID, "more than 32 items");
	for (size_t i = 0; i < n; i++) {
		rx_err_t err = rx_check_item(items[i], &field, why);
		if (err != RX_OK)
			return err;
	}
	return RX_OK;
}

/* One line of a dispense record, on its own (the broker matches it to the
 * prescribed item): which reasons go with which outcome is proto/README 5.10. */
static rx_err_t check_line(const Rx__Line *l, const char **why)
{
	const char *field;
	switch (l->outcome) {
	case RX__OUTCOME__AS_WRITTEN:
		if (l->reason != RX__LINE_REASON__REASON_NONE && l->reason != RX__LINE_REASON__PATIENT_REQUEST)
			FAIL(RX_INVALID, "an item handed over as written has no reason but PATIENT_REQUEST");
		break;
	case RX__OUTCOME__SUBSTITUTED:
		if (l->reason != RX__LINE_REASON__GENERIC && l->reason != RX__LINE_REASON__OUT_OF_STOCK &&
		    l->reason != RX__LINE_REASON__PATIENT_REQUEST && l->reason != RX__LINE_REASON__INQUIRY)
			FAIL(RX_INVALID, "a substituted item needs its reason: GENERIC, OUT_OF_STOCK, "
					 "PATIENT_REQUEST or INQUIRY");
		break;
	case RX__OUTCOME__NOT_DISPENSED:
		if (l->handed)
			FAIL(RX_INVALID, "an item not dispensed has no handed item");
		if (l->reason != RX__LINE_REASON__OUT_OF_STOCK && l->reason != RX__LINE_REASON__INQUIRY &&
		    l->reason != RX__LINE_REASON__PATIENT_DECLINED && l->reason != RX__LINE_REASON__LEFTOVER &&
		    l->reason != RX__LINE_REASON__OTHER_REASON)
			FAIL(RX_INVALID, "an item not dispensed needs its reason: OUT_OF_STOCK, INQUIRY, "
					 "PATIENT_DECLINED, LEFTOVER or OTHER_REASON");
		return RX_OK;
	case RX__OUTCOME__PARTIAL:
		if (l->reason != RX__LINE_REASON__OUT_OF_STOCK && l->reason != RX__LINE_REASON__PATIENT_REQUEST &&
		    l->reason != RX__LINE_REASON__OTHER_REASON)
			FAIL(RX_INVALID, "an item handed over in part needs its reason: OUT_OF_STOCK, "
					 "PATIENT_REQUEST or OTHER_REASON");
		break;
	default:
		FAIL(RX_INVALID, "a line's outcome must be AS_WRITTEN, SUBSTITUTED, NOT_DISPENSED or PARTIAL");
	}
	if (l->handed == NULL)
		FAIL(RX_INVALID, "a line handed over needs its handed item");
	rx_err_t err = rx_check_item(l->handed, &field, why);
	if (err != RX_OK)
		return err;
	if (l->handed->no_change || l->handed->no_form_change || l->handed->no_strength_change)
		FAIL(RX_INVALID, "a handed item carries no substitution marks");
	return RX_OK;
}

/* A record's lines: the prescribed items 1..n in order, or (a part after
 * the first, 5.13) the items still owed, in order; a part that leaves
 * nothing owed is the last, and the last part may close what is owed with
 * nothing handed over. */
static rx_err_t check_lines(Rx__Line **lines, size_t n, uint32_t part, const char **why)
{
	size_t handed = 0, partial = 0;
	if (n == 0)
		FAIL(RX_INVALID, "a dispense record needs one line per prescribed item");
	if (n > RX_MAX_ITEMS)
		FAIL(RX_INVALID, "more than 32 lines");
	for (size_t i = 0; i < n; i++) {
		if (part < 2 ? lines[i]->item != i + 1
			     : lines[i]->item < 1 || lines[i]->item > RX_MAX_ITEMS ||
				       (i && lines[i]->item <= lines[i - 1]->item))
			FAIL(RX_INVALID, part < 2 ? "a dispense record's lines must name the prescribed items "
						    "1..n in order"
						  : "a part's lines must name the items still owed, in order");
		rx_err_t err = check_line(lines[i], why);
		if (err != RX_OK)
			return err;
		handed += lines[i]->outcome != RX__OUTCOME__NOT_DISPENSED;
		partial += lines[i]->outcome == RX__OUTCOME__PARTIAL;
	}
	if (handed == 0 && part < 2)
		FAIL(RX_INVALID, "a dispense hands over at least one item (nothing to hand over: RELEASE "
				 "the claim)");
	if (partial && part == 0)
		FAIL(RX_INVALID, "a record that leaves items owed is a part: part 1, 2, ...");
	if (!partial && part == 1)
		FAIL(RX_INVALID, "part 1 leaves an item owed (a use handed over at once is part 0)");
	if (partial && part == RX_MAX_PARTS)
		FAIL(RX_INVALID, "a use is handed over in at most 8 parts: the last leaves nothing owed");
	return RX_OK;
}

const ProtobufCBinaryData *rx_request_signed(const Rx__Request *req, rx_sign_ctx_t *ctx)
{
	if (req->prescription.len) {
		*ctx = RX_SIGN_PRESCRIPTION;
		return &req->prescription;
	}
	if (req->dispense.len) {
		*ctx = RX_SIGN_DISPENSE;
		return &req->dispense;
	}
	*ctx = RX_SIGN_CALL;
	return &req->call;
}

rx_err_t rx_check_prescription(const Rx__Prescription *p, int64_t now, const char **why)
{
	char pid[RX_PATIENT_ID_LEN + 1];
	if (p->version != RX_DOC_VERSION)
		FAIL(RX_INVALID, "unsupported prescription version (protocol v2 prescriptions are version 2)");
	/* The patient comes from the card assertion; a patient id in the body,
	 * if any, must be canonical (the broker checks it is the card's). */
	if (p->patient_id[0] &&
	    (rx_patient_id_parse(p->patient_id, pid) != RX_OK || strcmp(pid, p->patient_id) != 0))
		FAIL(RX_INVALID, "patient id is not a canonical patient id");
	if (p->patient_card.len != 0 && p->patient_card.len != RX_KEY_LEN)
		FAIL(RX_INVALID, "patient card must be 32 bytes");
	if (p->prescriber_key.len != RX_KEY_LEN)
		FAIL(RX_INVALID, "prescriber key must be 32 bytes");
	/* Empty: the broker fills in the key's registered institution. */
	if (p->institution_code[0] && rx_institution_valid(p->institution_code) != RX_OK)
		FAIL(RX_INVALID, "institution code is malformed");
	if (p->issued_at > now + RX_CLOCK_SKEW)
		FAIL(RX_INVALID, "issued_at is in the future");
	if (p->issued_at < now - RX_MAX_SUBMIT_AGE)
		FAIL(RX_INVALID, "issued_at is more than a day in the past");
	if (p->valid_until <= p->issued_at ||
	    p->valid_until > p->issued_at + (int64_t)RX_MAX_VALID_DAYS * 86400)
		FAIL(RX_INVALID, "valid_until must fall within 31 days of issued_at");
	if (p->uses < 1 || p->uses > RX_MAX_USES)
		FAIL(RX_INVALID, "uses must be 1..3");
	if (p->n_part_days && (p->n_part_days < 2 || p->n_part_days != p->uses))
		FAIL(RX_INVALID, "part_days, when given, holds each use's days: 2..3 of them, as many as uses");
	for (size_t i = 0; i < p->n_part_days; i++)
		if (p->part_days[i] < 1 || p->part_days[i] > 365)
			FAIL(RX_INVALID, "each of part_days must be 1..365");
	if (rx_check_text(p->notes, RX_MAX_NOTES, 0) != RX_OK)
		FAIL(RX_INVALID, "notes are too long or not UTF-8 text");
	if (rx_check_text(p->override_reason, 4 * RX_OVERRIDE_MAX, 0) != RX_OK ||
	    characters(p->override_reason) > RX_OVERRIDE_MAX)
		FAIL(RX_INVALID, "override_reason must be at most 500 characters of UTF-8 text");
	if (p->override_reason[0] && p->override_reason[strspn(p->override_reason, " \t\n")] == '\0')
		FAIL(RX_INVALID, "override_reason is blank: say why the duplicate is prescribed");
	rx_err_t err = check_items(p->items, p->n_items, why);
	if (err != RX_OK)
		return err;
	if (p->valid_until <= now)
		FAIL(RX_EXPIRED, "valid_until has already passed");
	return RX_OK;
}

rx_err_t rx_check_assertion(const Rx__CardAssertion *a, const char **why)
{
	if (a->version != 1)
		FAIL(RX_INVALID, "unsupported card assertion version");
	if (a->purpose < RX__PURPOSE__PURPOSE_ISSUE || a->purpose > RX__PURPOSE__PURPOSE_NOMINATE)
		FAIL(RX_INVALID, "card assertion purpose must be issue, dispense, view or nominate");
	if (rx_institution_valid(a->institution_code) != RX_OK)
		FAIL(RX_INVALID, "card assertion institution code is malformed");
	if (a->nonce.len != 16)
		FAIL(RX_INVALID, "card assertion nonce must be 16 bytes");
	if (a->card_key.len != RX_KEY_LEN)
		FAIL(RX_INVALID, "card key must be 32 bytes");
	return RX_OK;
}

rx_err_t rx_check_dispense(const Rx__DispenseRecord *d, const char **why)
{
	return rx_check_dispense_op(d, RX_OP_DISPENSE, why);
}

rx_err_t rx_check_dispense_op(const Rx__DispenseRecord *d, int op, const char **why)
{
	char id[RX_ID_LEN + 1];
	if (d->version != RX_DOC_VERSION)
		FAIL(RX_INVALID, "unsupported dispense record version (protocol v2 records are version 2)");
	if (rx_rxid_parse(d->prescription_id, id) != RX_OK || strcmp(id, d->prescription_id) != 0)
		FAIL(RX_INVALID, "dispense record's prescription id is malformed");
	if (d->use > RX_MAX_USES)
		FAIL(RX_INVALID, "dispense record's use must be 0..3");
	if (d->pharmacy_key.len != RX_KEY_LEN)
		FAIL(RX_INVALID, "pharmacy key must be 32 bytes");
	if (rx_check_text(d->notes, 2000, 0) != RX_OK)
		FAIL(RX_INVALID, "notes are too long or not UTF-8 text");
	if (d->n_items)
		FAIL(RX_INVALID, "a dispense record accounts for each prescribed item in lines; items is "
				 "for records stored before them");
	if (op == RX_OP_DISPENSE && (d->replaces.len || d->withdraw_reason))
		FAIL(RX_INVALID, "a DISPENSE replaces no record: replaces and withdraw_reason are for "
				 "AMEND and WITHDRAW");
	if (op != RX_OP_DISPENSE && d->replaces.len != RX_HASH_LEN)
		FAIL(RX_INVALID, "an AMEND or WITHDRAW names the record it replaces: replaces is 32 bytes");
	if (op == RX_OP_AMEND && d->withdraw_reason)
		FAIL(RX_INVALID, "an AMEND is no withdrawal: withdraw_reason must be unset");
	if (d->part > RX_MAX_PARTS || (op != RX_OP_DISPENSE && d->part))
		FAIL(RX_INVALID, "part is 0..8, and 0 in an AMEND or WITHDRAW (a use handed over in parts "
				 "is not amended)");
	if (op == RX_OP_WITHDRAW) {
		if (d->withdraw_reason < RX__WITHDRAW_REASON__DISPENSED_IN_ERROR ||
		    d->withdraw_reason > RX__WITHDRAW_REASON__OTHER_WITHDRAWAL)
			FAIL(RX_INVALID, "a WITHDRAW needs its reason: DISPENSED_IN_ERROR, NOT_COLLECTED, "
					 "RECORDED_IN_ERROR or OTHER_WITHDRAWAL");
		if (d->n_lines)
			FAIL(RX_INVALID, "a withdrawal hands nothing over: it has no lines");
		return RX_OK;
	}
	return check_lines(d->lines, d->n_lines, d->part, why);
}

uint32_t rx_use_days(const Rx__Prescription *p, uint32_t use)
{
	if (use >= 1 && use <= p->n_part_days)
		return p->part_days[use - 1];
	uint32_t days = 0;
	for (size_t i = 0; i < p->n_items; i++)
		if (p->items[i]->days > days)
			days = p->items[i]->days;
	return days;
}

void rx_next_window(int64_t at, uint32_t days, int64_t *opens, int64_t *until)
{
	int64_t due = rx_valid_until(at, (int)days); /* the start of the day it runs out */
	*opens = due - (int64_t)RX_REFILL_SLACK_DAYS * 86400;
	*until = due + (int64_t)(RX_REFILL_SLACK_DAYS + 1) * 86400;
}

int64_t rx_valid_until(int64_t issued_at, int days)
{
	const int64_t jst = 9 * 3600; /* Japan has no daylight saving time */
	int64_t day_start = ((issued_at + jst) / 86400) * 86400 - jst;
	return day_start + (int64_t)days * 86400;
}

void rx_dispenses_hash(Rx__DispenseInfo *const *d, size_t n, uint8_t out[RX_HASH_LEN])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, RX_HASH_LEN);
	for (size_t i = 0; i < n; i++) {
		uint8_t head[12], h[RX_HASH_LEN];
		uint64_t at = (uint64_t)d[i]->at;
		for (int b = 0; b < 4; b++)
			head[b] = (uint8_t)(d[i]->use >> (24 - 8 * b));
		for (int b = 0; b < 8; b++)
			head[4 + b] = (uint8_t)(at >> (56 - 8 * b));
		crypto_generichash_update(&st, head, sizeof head);
		const char *inst = d[i]->institution_code ? d[i]->institution_code : "";
		crypto_generichash_update(&st, (const uint8_t *)inst, strlen(inst) + 1);
		const Rx__Signed *r = d[i]->record;
		crypto_generichash(h, sizeof h, r ? r->body.data : NULL, r ? r->body.len : 0, NULL, 0);
		crypto_generichash_update(&st, h, sizeof h);
		if (r && r->signature.len)
			crypto_generichash_update(&st, r->signature.data, r->signature.len);
	}
	crypto_generichash_final(&st, out, RX_HASH_LEN);
}

/* ---- the inquiry (proto/README 5.14) ---- */

/* Changes to prescribed items: item numbers 1..32 rising, each to an item
 * valid as handed over (no marks) or to nothing. */
static rx_err_t check_changes(Rx__Change **ch, size_t n, const char **why)
{
	const char *field;
	if (n > RX_MAX_ITEMS)
		FAIL(RX_INVALID, "more than 32 changes");
	for (size_t i = 0; i < n; i++) {
		if (ch[i]->item < 1 || ch[i]->item > RX_MAX_ITEMS || (i && ch[i]->item <= ch[i - 1]->item))
			FAIL(RX_INVALID, "changes name prescribed items 1..32, each once, in order");
		if (ch[i]->to == NULL)
			continue;
		rx_err_t err = rx_check_item(ch[i]->to, &field, why);
		if (err != RX_OK)
			return err;
		if (ch[i]->to->no_change || ch[i]->to->no_form_change || ch[i]->to->no_strength_change ||
		    ch[i]->to->medical_necessity)
			FAIL(RX_INVALID, "a changed item carries no substitution marks");
	}
	return RX_OK;
}

rx_err_t rx_check_inquiry(const Rx__Inquiry *q, int64_t now, const char **why)
{
	if (q->reason < RX__INQUIRY_REASON__INQUIRY_DOSE || q->reason > RX__INQUIRY_REASON__INQUIRY_OTHER)
		FAIL(RX_INVALID, "an inquiry needs its reason, 1..7");
	if (rx_check_text(q->text, 2000, 1) != RX_OK)
		FAIL(RX_INVALID, "an inquiry's text is missing, too long or not UTF-8 text");
	rx_err_t err = check_changes(q->proposed, q->n_proposed, why);
	if (err != RX_OK)
		return err;
	if (!q->by_phone) {
		if (q->phoned[0] || q->phoned_at || q->outcome || q->n_agreed)
			FAIL(RX_INVALID, "who was phoned, when and what was agreed are for an inquiry settled by "
					 "telephone (by_phone)");
		return RX_OK;
	}
	if (rx_check_text(q->phoned, 200, 1) != RX_OK)
		FAIL(RX_INVALID, "an inquiry settled by telephone names who was called (1..200 bytes of text)");
	if (q->phoned_at <= 0 || q->phoned_at > now + RX_CLOCK_SKEW)
		FAIL(RX_INVALID, "an inquiry settled by telephone says when the call was, not in the future");
	if (q->outcome < RX__ANSWER__ANSWER_ACCEPT || q->outcome > RX__ANSWER__ANSWER_KEEP)
		FAIL(RX_INVALID, "a telephone outcome is ACCEPT or KEEP (a cancel is the prescriber's CANCEL)");
	if ((q->outcome == RX__ANSWER__ANSWER_ACCEPT) != (q->n_agreed > 0))
		FAIL(RX_INVALID, "an accepted outcome names its agreed changes, and only it");
	return check_changes(q->agreed, q->n_agreed, why);
}

rx_err_t rx_check_inquiry_reply(const Rx__InquiryReply *a, const char **why)
{
	if (a->inquiry < 1 || a->inquiry > RX_MAX_INQUIRIES)
		FAIL(RX_INVALID, "an answer names its inquiry, 1..16");
	if (a->answer < RX__ANSWER__ANSWER_ACCEPT || a->answer > RX__ANSWER__ANSWER_CANCEL)
		FAIL(RX_INVALID, "an answer is ACCEPT, KEEP or CANCEL");
	if (rx_check_text(a->text, 2000, 0) != RX_OK)
		FAIL(RX_INVALID, "an answer's text is too long or not UTF-8 text");
	if ((a->answer == RX__ANSWER__ANSWER_ACCEPT) != (a->n_agreed > 0))
		FAIL(RX_INVALID, "ACCEPT names the agreed changes, and only ACCEPT does");
	if ((a->answer == RX__ANSWER__ANSWER_CANCEL) !=
	    (a->cancel_reason >= RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR &&
	     a->cancel_reason <= RX__CANCEL_REASON__CANCEL_OTHER))
		FAIL(RX_INVALID, "CANCEL gives its cancel reason, 1..5, and only CANCEL does");
	return check_changes(a->agreed, a->n_agreed, why);
}

/* One signed call (or none) into st: the hash of its bytes, its signature
 * and its signer's key, each in full or zeros. */
static void hash_signed(crypto_generichash_state *st, const Rx__Signed *s, ProtobufCBinaryData key)
{
	uint8_t h[RX_HASH_LEN] = {0}, sig[RX_SIG_LEN] = {0}, k[RX_KEY_LEN] = {0};
	if (s && s->body.len)
		crypto_generichash(h, sizeof h, s->body.data, s->body.len, NULL, 0);
	if (s && s->signature.len == RX_SIG_LEN)
		memcpy(sig, s->signature.data, RX_SIG_LEN);
	if (key.len == RX_KEY_LEN)
		memcpy(k, key.data, RX_KEY_LEN);
	crypto_generichash_update(st, h, sizeof h);
	crypto_generichash_update(st, sig, sizeof sig);
	crypto_generichash_update(st, k, sizeof k);
}

void rx_inquiries_hash(Rx__InquiryInfo *const *q, size_t n, uint8_t out[RX_HASH_LEN])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, RX_HASH_LEN);
	for (size_t i = 0; i < n; i++) {
		uint8_t head[20];
		uint64_t at = (uint64_t)q[i]->at, replied = (uint64_t)q[i]->replied_at;
		for (int b = 0; b < 4; b++)
			head[b] = (uint8_t)(q[i]->number >> (24 - 8 * b));
		for (int b = 0; b < 8; b++) {
			head[4 + b] = (uint8_t)(at >> (56 - 8 * b));
			head[12 + b] = (uint8_t)(replied >> (56 - 8 * b));
		}
		crypto_generichash_update(&st, head, sizeof head);
		const char *inst = q[i]->institution_code ? q[i]->institution_code : "";
		crypto_generichash_update(&st, (const uint8_t *)inst, strlen(inst) + 1);
		hash_signed(&st, q[i]->call, q[i]->pharmacy_key);
		hash_signed(&st, q[i]->reply, q[i]->prescriber_key);
	}
	crypto_generichash_final(&st, out, RX_HASH_LEN);
}
