/* fhir_out: a STATUS reply (the receipt, the verified prescription and its
 * dispense records) as a FHIR R4 Bundle of MedicationRequests and
 * MedicationDispenses (fhir_bundle, fhir_print_status; see fhir.h and
 * docs/FHIR.md).  A resource's id is derived from the prescription id
 * (resource_urn), so it is the same in every Bundle of that prescription;
 * an amended or withdrawn dispense keeps its resources' ids, their status
 * saying what became of them; a part's carry its number.  Each inquiry to
 * the prescriber is a Communication, its answer another (fhir_add_inquiries). */
#include "fhir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fhir_int.h"
#include "rx_crypto.h"

/* A stable urn:uuid for a resource of this prescription (BLAKE2b of the
 * prescription id and the resource's id; RFC 9562 version 8). */
static void resource_urn(const char *rxid, const char *rid, char out[46])
{
	uint8_t h[RX_HASH_LEN];
	char in[128];
	int n = snprintf(in, sizeof in, "%s/%s", rxid, rid);
	rx_hash((const uint8_t *)in, (size_t)n, h);
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x80);
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
	char hex[33];
	rx_hex(h, 16, hex);
	snprintf(out, 46, "urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
		 hex + 20);
}

/* The entry for res (taken over), with its id after its resourceType. */
static json_t *entry_of(const char *rxid, const char *rid, json_t *res, char urn[46])
{
	resource_urn(rxid, rid, urn);
	json_t *o = json_pack("{s:O, s:s}", "resourceType", json_object_get(res, "resourceType"), "id", rid);
	if (o)
		json_object_update(o, res);
	json_decref(res);
	return json_pack("{s:s, s:o}", "fullUrl", urn, "resource", o);
}

static json_t *medication_json(const Rx__Item *it)
{
	return json_pack("{s:[{s:s, s:s, s:s}], s:s}", "coding", "system", FHIR_SYSTEM_YJ, "code",
			 it->drug_code, "display", it->name, "text", it->name);
}

static json_t *days_json(uint32_t days)
{
	return json_pack("{s:I, s:s, s:s, s:s}", "value", (json_int_t)days, "unit", "d", "system",
			 FHIR_UCUM, "code", "d");
}

static json_t *org_ref(const char *code)
{
	return json_pack("{s:s, s:{s:s, s:s}}", "type", "Organization", "identifier", "system",
			 FHIR_SYSTEM_INSTITUTION, "value", code);
}

/* dosageInstruction[0]: the usage, and the dose as a quantity when it is
 * "NUMBER UNIT" (the form the reader makes). */
static json_t *dosage_json(const Rx__Item *it)
{
	json_t *d = json_pack("{s:s}", "text", it->usage);
	const char *sp = strchr(it->dose, ' ');
	char *end;
	double v = strtod(it->dose, &end);
	if (sp && end == sp && sp > it->dose && v > 0 && sp[1] && it->dose[0] >= '0' &&
	    it->dose[0] <= '9') {
		int64_t w;
		json_t *num = json_real(v);
		if (fhir_whole_number(num, &w)) {
			json_decref(num);
			num = json_integer(w);
		}
		json_object_set_new(d, "doseAndRate",
				    json_pack("[{s:{s:o, s:s}}]", "doseQuantity", "value", num, "unit", sp + 1));
	}
	return d;
}

/* The requests' status; parts: some use was handed over in part (5.13),
 * so a cancel stopped what had begun even if no use was completed. */
static const char *request_status(const Rx__Receipt *rc, int parts)
{
	switch (rc->state) {
	case RX__STATE__ISSUED:
	case RX__STATE__CLAIMED:
	case RX__STATE__PARTIALLY_DISPENSED: /* some of it is still owed */
		return "active";
	case RX__STATE__DISPENSED:
		return "completed";
	case RX__STATE__CANCELLED_STATE:
		return rc->uses_left == rc->uses && !parts ? "cancelled" : "stopped";
	case RX__STATE__EXPIRED_STATE:
		return "stopped";
	default:
		return "unknown";
	}
}

/* The last instant of validity as FHIR's inclusive end: a date when it ends
 * at midnight, Japan time. */
static void validity_end(int64_t valid_until, char out[32])
{
	cli_time(valid_until - 1, out);
	if ((valid_until + FHIR_JST) % 86400 == 0)
		out[10] = '\0';
}

/* The substitution-mark codes, read by fhir_in.c too (fhir_int.h). */
const fhir_mark_code_t fhir_marks[FHIR_MARK_CODES] = {
	{"no-change", "変更不可", FHIR_MARK_NO_CHANGE, FHIR_MARK_NO_CHANGE},
	{"no-change-medical-necessity", "変更不可（医療上必要）", FHIR_MARK_MEDICAL_NECESSITY,
	 FHIR_MARK_NO_CHANGE | FHIR_MARK_MEDICAL_NECESSITY},
	{"no-form-change", "剤形変更不可", FHIR_MARK_NO_FORM_CHANGE, FHIR_MARK_NO_FORM_CHANGE},
	{"no-strength-change", "含量規格変更不可", FHIR_MARK_NO_STRENGTH_CHANGE, FHIR_MARK_NO_STRENGTH_CHANGE},
};

/* What the resources of one Bundle refer to. */
typedef struct {
	const char *id; /* the prescription id */
	const Rx__Prescription *p;
	char patient_urn[46];
	char (*req_urn)[46]; /* the fullUrl of request i, one per item of p */
	int parts;           /* some dispense record is a part of a use (5.13) */
	json_t *entries;
} bundle_t;

/* Set key of *o to v (taken over).  If v is NULL (out of memory) or the set
 * fails, *o is freed and NULL: a resource is written whole or not at all. */
static void put(json_t **o, const char *key, json_t *v)
{
	if (*o == NULL || v == NULL) {
		json_decref(v);
		json_decref(*o);
		*o = NULL;
	} else if (json_object_set_new(*o, key, v) != 0) {
		json_decref(*o);
		*o = NULL;
	}
}

static json_t *coding(const char *system, const char *code, const char *display)
{
	return json_pack("{s:s, s:s, s:s}", "system", system, "code", code, "display", display);
}

/* A CodeableConcept of one coding, or two when the second system (not NULL)
 * has a code that means the same. */
static json_t *concept(const char *system, const char *code, const char *display,
		       const char *system2, const char *code2, const char *display2)
{
	json_t *c = json_pack("{s:[o]}", "coding", coding(system, code, display));
	if (c && system2 &&
	    json_array_append_new(json_object_get(c, "coding"), coding(system2, code2, display2)) != 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}

/* One coding of ours per mark in marks: the marks are independent, and a
 * reader needs each to rebuild the item exactly (docs/FHIR.md). */
static json_t *marks_concept(unsigned marks)
{
	json_t *codings = json_array();
	for (size_t i = 0; codings && i < FHIR_MARK_CODES; i++)
		if ((marks & fhir_marks[i].own) &&
		    json_array_append_new(codings, coding(FHIR_SYSTEM_SUBSTITUTION_MARK, fhir_marks[i].code,
							  fhir_marks[i].display)) != 0) {
			json_decref(codings);
			return NULL;
		}
	return json_pack("{s:o}", "coding", codings);
}

/* MedicationRequest.substitution: allowed with no mark; allowedBoolean false
 * for no change, the other marks it carries (medical necessity above all)
 * in reason; else the restrictions as allowedCodeableConcept. */
static json_t *request_substitution(const Rx__Item *it)
{
	unsigned m = fhir_item_marks(it), rest = m & ~(unsigned)FHIR_MARK_NO_CHANGE;
	if (m == 0)
		return json_pack("{s:b}", "allowedBoolean", 1);
	if (!(m & FHIR_MARK_NO_CHANGE))
		return json_pack("{s:o}", "allowedCodeableConcept", marks_concept(m));
	json_t *s = json_pack("{s:b}", "allowedBoolean", 0);
	if (rest)
		put(&s, "reason", marks_concept(rest));
	return s;
}

/* A divided prescription's parts as dispenseRequest.extension: one of ours
 * per part, in the order of its uses. */
static json_t *parts_json(const Rx__Prescription *p)
{
	json_t *a = json_array();
	for (size_t k = 0; a && k < p->n_part_days; k++)
		if (json_array_append_new(a, json_pack("{s:s, s:o}", "url", FHIR_EXT_PART_DAYS, "valueDuration",
						       days_json(p->part_days[k]))) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The MedicationRequest of item i. */
static json_t *request_json(const bundle_t *b, const Rx__Receipt *rc, size_t i, const char *authored,
			    const char *end)
{
	const Rx__Prescription *p = b->p;
	const Rx__Item *it = p->items[i];
	/* A refill's later uses are repeats; a divided prescription's are its
	 * parts, not repeats: FHIR counts a repeat as the whole quantity again. */
	uint32_t repeats = p->n_part_days || p->uses == 0 ? 0 : p->uses - 1;
	json_t *dr = json_pack("{s:{s:s, s:s}, s:I, s:{s:I, s:s}, s:o}", "validityPeriod", "start", authored,
			       "end", end, "numberOfRepeatsAllowed", (json_int_t)repeats,
			       "quantity", "value", (json_int_t)it->quantity, "unit", it->unit,
			       "expectedSupplyDuration", days_json(it->days));
	if (p->n_part_days)
		put(&dr, "extension", parts_json(p));
	json_t *mr = json_pack("{s:s, s:{s:s, s:s}, s:s, s:s, s:o, s:{s:s}, s:s, s:o, s:[o], s:o, s:o}",
			       "resourceType", "MedicationRequest", "groupIdentifier", "system",
			       FHIR_SYSTEM_PRESCRIPTION, "value", b->id, "status", request_status(rc, b->parts),
			       "intent", "order", "medicationCodeableConcept", medication_json(it),
			       "subject", "reference", b->patient_urn, "authoredOn", authored, "requester",
			       org_ref(rc->institution_code), "dosageInstruction", dosage_json(it),
			       "dispenseRequest", dr, "substitution", request_substitution(it));
	if (rc->state == RX__STATE__EXPIRED_STATE)
		put(&mr, "statusReason", json_pack("{s:s}", "text", "expired"));
	if (p->notes[0])
		put(&mr, "note", json_pack("[{s:s}]", "text", p->notes));
	return mr;
}

/* Our code for each LineReason, and HL7 v3 ActReason's where one means the
 * same: only OS (out of stock) does, and only for a substitution; v3 has no
 * patient's request, no inquiry, no leftover. */
static const struct {
	const char *code, *display, *v3, *v3_display;
} reasons[] = {
	[RX__LINE_REASON__GENERIC] = {"generic", "generic for the brand (後発医薬品への変更)", NULL},
	[RX__LINE_REASON__OUT_OF_STOCK] = {"out-of-stock", "out of stock (在庫なし)", "OS", "out of stock"},
	[RX__LINE_REASON__PATIENT_REQUEST] = {"patient-request", "the patient's request (患者希望)", NULL},
	[RX__LINE_REASON__INQUIRY] = {"inquiry", "agreed with the prescriber (疑義照会)", NULL},
	[RX__LINE_REASON__PATIENT_DECLINED] = {"patient-declined", "the patient did not want it", NULL},
	[RX__LINE_REASON__LEFTOVER] = {"leftover", "the patient has enough left (残薬)", NULL},
	[RX__LINE_REASON__OTHER_REASON] = {"other", "other: see the note", NULL},
};

/* A reason with a code: not REASON_NONE, nor a value this build does not
 * know (the record is signed; its reader may be older than its writer). */
static int has_reason(Rx__LineReason r)
{
	return (size_t)r < sizeof reasons / sizeof reasons[0] && reasons[r].code != NULL;
}

/* The concept of a reason that has_reason; v3: with the v3 code if there is one. */
static json_t *reason_concept(Rx__LineReason r, int v3)
{
	return concept(FHIR_SYSTEM_LINE_REASON, reasons[r].code, reasons[r].display,
		       v3 && reasons[r].v3 ? FHIR_SYSTEM_V3_ACT_REASON : NULL, reasons[r].v3,
		       reasons[r].v3_display);
}

/* MedicationDispense.substitution of a line handed over, prescribed its
 * item.  Type E, not G: in v3 G is one generic for another, and EC needs
 * the same strength and form, which a change under 5.10 need not keep.  A
 * PARTIAL line may hand over the prescribed product or another: its
 * handed code says which; its reason says why it is partial, not why
 * substituted, and is written in our extension instead (mark_part). */
static json_t *dispense_substitution(const Rx__Line *l, const Rx__Item *prescribed)
{
	int partial = l->outcome == RX__OUTCOME__PARTIAL;
	int swapped = partial ? strcmp(l->handed->drug_code, prescribed->drug_code) != 0
			      : l->outcome == RX__OUTCOME__SUBSTITUTED;
	json_t *s = json_pack("{s:b}", "wasSubstituted", swapped);
	if (swapped)
		put(&s, "type", concept(FHIR_SYSTEM_V3_SUBSTITUTION, "E", "equivalent", NULL, NULL, NULL));
	if (has_reason(l->reason) && !partial)
		put(&s, "reason", json_pack("[o]", reason_concept(l->reason, swapped)));
	return s;
}

/* What marks a MedicationDispense of a record that is a part (5.13): its
 * type, if it handed something over, by v3 ActPharmacySupplyType: the first
 * fill against the order (use 1's part 1) or a refill (any later fill),
 * complete (an item's whole supply, in part 1) or a part fill (a PARTIAL
 * line, or the rest of what was owed, in a later part); and our
 * extensions, the part and a PARTIAL line's reason.  A use handed over at
 * once writes none of these. */
static void mark_part(json_t **md, const Rx__DispenseInfo *info, const Rx__DispenseRecord *d,
		      const Rx__Line *l)
{
	static const char *const code[2][2] = {{"FFP", "FFC"}, {"RFP", "RFC"}};
	static const char *const display[2][2] = {{"First Fill - Part Fill", "First Fill - Complete"},
						  {"Refill - Part Fill", "Refill - Complete"}};
	int refill = !(info->use == 1 && d->part == 1);
	int complete = d->part == 1 && l->outcome != RX__OUTCOME__PARTIAL;
	if (l->outcome != RX__OUTCOME__NOT_DISPENSED)
		put(md, "type", concept(FHIR_SYSTEM_V3_ACT_CODE, code[refill][complete], display[refill][complete],
					NULL, NULL, NULL));
	json_t *ext = json_pack("[{s:s, s:I}]", "url", FHIR_EXT_DISPENSE_PART, "valueUnsignedInt",
				(json_int_t)d->part);
	if (ext && l->outcome == RX__OUTCOME__PARTIAL && has_reason(l->reason) &&
	    json_array_append_new(ext, json_pack("{s:s, s:o}", "url", FHIR_EXT_PARTIAL_REASON,
						 "valueCodeableConcept", reason_concept(l->reason, 0))) != 0) {
		json_decref(ext);
		ext = NULL;
	}
	put(md, "extension", ext);
}

/* One dispense record being written (proto/README 5.12): each of a use's
 * records is there, the last current, each before it superseded by the one
 * after it (an AMEND's correction or a WITHDRAW's withdrawal), but for the
 * parts of a use handed over in parts (5.13), which all stand. */
typedef struct {
	const Rx__DispenseRecord *d;
	const Rx__DispenseInfo *info;
	unsigned nth;                  /* its place among its use's records, from 1 */
	char when[32];                 /* when the dispense it records or corrects was committed */
	const Rx__DispenseRecord *by;  /* the record that superseded it; NULL if it stands */
	const Rx__DispenseInfo *by_info;
} record_t;

/* What a superseded record's MedicationDispenses become, by what superseded
 * it: an AMEND (row 0) or the WITHDRAW of each reason (docs/FHIR.md,
 * "Amended and withdrawn dispenses").  cancelled is FHIR's "not and will
 * never be picked up"; entered-in-error its "nullified": the broker no
 * longer counts the record. */
static const struct {
	const char *status, *code, *display;
} superseded_as[] = {
	[0] = {"entered-in-error", "amended", "corrected by a later record of the same dispense"},
	[RX__WITHDRAW_REASON__DISPENSED_IN_ERROR] = {"entered-in-error", "dispensed-in-error",
						     "withdrawn: handed over by mistake"},
	[RX__WITHDRAW_REASON__NOT_COLLECTED] = {"cancelled", "not-collected",
						"withdrawn: the patient did not collect it"},
	[RX__WITHDRAW_REASON__RECORDED_IN_ERROR] = {"entered-in-error", "recorded-in-error",
						    "withdrawn: recorded by mistake, nothing was handed over"},
	[RX__WITHDRAW_REASON__OTHER_WITHDRAWAL] = {"entered-in-error", "other-withdrawal",
						   "withdrawn: see the note"},
};

/* How rec was superseded: its row of superseded_as (a reason this build
 * does not know is read as OTHER_WITHDRAWAL: withdrawn all the same). */
static size_t superseded_row(const record_t *rec)
{
	Rx__WithdrawReason r = rec->by->withdraw_reason;
	if (r == RX__WITHDRAW_REASON__WITHDRAW_NONE)
		return 0;
	return (size_t)r < sizeof superseded_as / sizeof superseded_as[0] ? (size_t)r
									 : RX__WITHDRAW_REASON__OTHER_WITHDRAWAL;
}

/* What every MedicationDispense of a use says: med (the product handed
 * over, or the one prescribed if none was), who, for which request. */
static json_t *dispense_base(const bundle_t *b, const Rx__DispenseInfo *info, const char *status,
			     const Rx__Item *med, size_t request)
{
	return json_pack("{s:s, s:s, s:o, s:{s:s}, s:[{s:o}], s:[{s:s, s:{s:s, s:s}}]}", "resourceType",
			 "MedicationDispense", "status", status, "medicationCodeableConcept",
			 medication_json(med), "subject", "reference", b->patient_urn, "performer", "actor",
			 org_ref(info->institution_code), "authorizingPrescription", "reference",
			 b->req_urn[request], "identifier", "system", FHIR_SYSTEM_PRESCRIPTION, "value",
			 b->id);
}

/* A MedicationDispense of it handed over at when, for request. */
static json_t *handed_json(const bundle_t *b, const Rx__DispenseInfo *info, const Rx__Item *it,
			   size_t request, const char *when)
{
	json_t *md = dispense_base(b, info, "completed", it, request);
	put(&md, "quantity", json_pack("{s:I, s:s}", "value", (json_int_t)it->quantity, "unit", it->unit));
	put(&md, "daysSupply", days_json(it->days));
	put(&md, "whenHandedOver", json_string(when));
	put(&md, "dosageInstruction", json_pack("[o]", dosage_json(it)));
	return md;
}

/* md (of a superseded record) as what superseded it made it: its status
 * and why.  A line not dispensed stays declined when the dispense was only
 * not collected (still nothing was handed over for it); cancelled, the
 * product was prepared but never handed over (whenPrepared, not
 * whenHandedOver).  A withdrawal's notes go with what it withdrew. */
static void supersede(json_t **md, const record_t *rec)
{
	size_t row = superseded_row(rec);
	const char *was = json_string_value(json_object_get(*md, "status"));
	int cancelled = strcmp(superseded_as[row].status, "cancelled") == 0;
	if (!(cancelled && was && strcmp(was, "declined") == 0)) {
		put(md, "status", json_string(superseded_as[row].status));
		put(md, "statusReasonCodeableConcept",
		    concept(FHIR_SYSTEM_SUPERSEDED, superseded_as[row].code, superseded_as[row].display, NULL,
			    NULL, NULL));
	}
	json_t *handed = *md ? json_object_get(*md, "whenHandedOver") : NULL;
	if (cancelled && handed) {
		put(md, "whenPrepared", json_incref(handed));
		if (*md)
			json_object_del(*md, "whenHandedOver");
	}
	if (rec->by->withdraw_reason && rec->by->notes[0]) {
		char t[32];
		cli_time(rec->by_info->at, t);
		if (json_object_get(*md, "note") == NULL)
			put(md, "note", json_array());
		if (*md && json_array_append_new(json_object_get(*md, "note"),
						 json_pack("{s:s, s:s}", "time", t, "text", rec->by->notes)) != 0) {
			json_decref(*md);
			*md = NULL;
		}
	}
}

/* Add md (taken over) as the MedicationDispense of item or place n of rec,
 * with the record's notes: dispense-USE-N for a use's first record (its id
 * before any amendment, so a consumer holding it sees it superseded),
 * dispense-USE-N-rK for its K-th. */
static int add_dispense(bundle_t *b, const record_t *rec, size_t n, json_t *md)
{
	char rid[48], urn[46];
	if (rec->d->notes[0])
		put(&md, "note", json_pack("[{s:s}]", "text", rec->d->notes));
	if (rec->by && md)
		supersede(&md, rec);
	if (md == NULL)
		return -1;
	if (rec->d->part) /* a use handed over in parts: once, never amended */
		snprintf(rid, sizeof rid, "dispense-%u-%zu-p%u", rec->info->use, n, rec->d->part);
	else if (rec->nth <= 1)
		snprintf(rid, sizeof rid, "dispense-%u-%zu", rec->info->use, n);
	else
		snprintf(rid, sizeof rid, "dispense-%u-%zu-r%u", rec->info->use, n, rec->nth);
	return json_array_append_new(b->entries, entry_of(b->id, rid, md, urn));
}

/* A record stored before lines: one MedicationDispense per item handed
 * over, for the request of the same drug (by its place if substituted). */
static int item_dispenses(bundle_t *b, const record_t *rec)
{
	const Rx__Prescription *p = b->p;
	const Rx__DispenseRecord *d = rec->d;
	for (size_t k = 0; k < d->n_items; k++) {
		const Rx__Item *it = d->items[k];
		size_t m = k < p->n_items ? k : 0;
		for (size_t j = 0; j < p->n_items; j++)
			if (strcmp(p->items[j]->drug_code, it->drug_code) == 0) {
				m = j;
				break;
			}
		if (add_dispense(b, rec, k + 1, handed_json(b, rec->info, it, m, rec->when)) != 0)
			return -1;
	}
	return 0;
}

/* A record with lines: one MedicationDispense per line, completed with
 * its substitution (a PARTIAL line too: what it handed over was), or
 * declined with the reason (a FHIR consumer reads status, not the absence
 * of a resource); a part's marked as such (mark_part).  The broker accepts only lines
 * naming items 1..n, a handed item unless NOT_DISPENSED; any other line
 * is skipped rather than read out of bounds. */
static int line_dispenses(bundle_t *b, const record_t *rec)
{
	const Rx__DispenseRecord *d = rec->d;
	const Rx__DispenseInfo *info = rec->info;
	for (size_t k = 0; k < d->n_lines; k++) {
		const Rx__Line *l = d->lines[k];
		json_t *md;
		if (l->item < 1 || l->item > b->p->n_items)
			continue;
		if (l->outcome == RX__OUTCOME__NOT_DISPENSED) {
			md = dispense_base(b, info, "declined", b->p->items[l->item - 1], l->item - 1);
			if (has_reason(l->reason))
				put(&md, "statusReasonCodeableConcept", reason_concept(l->reason, 0));
		} else if (l->handed && (l->outcome == RX__OUTCOME__AS_WRITTEN ||
					 l->outcome == RX__OUTCOME__SUBSTITUTED ||
					 l->outcome == RX__OUTCOME__PARTIAL)) {
			md = handed_json(b, info, l->handed, l->item - 1, rec->when);
			put(&md, "substitution", dispense_substitution(l, b->p->items[l->item - 1]));
		} else {
			continue;
		}
		if (d->part)
			mark_part(&md, info, d, l);
		if (add_dispense(b, rec, l->item, md) != 0)
			return -1;
	}
	return 0;
}

json_t *fhir_bundle(const char *id, const Rx__Receipt *rc, const Rx__Prescription *p,
		    Rx__DispenseInfo *const *infos, Rx__DispenseRecord *const *records, size_t n)
{
	char t[32], end[32], rid[48];
	bundle_t b = {.id = id, .p = p};
	b.req_urn = calloc(p->n_items ? p->n_items : 1, sizeof *b.req_urn);
	b.entries = json_array();
	json_t *patient = json_pack("{s:s}", "resourceType", "Patient");
	if (b.req_urn == NULL || b.entries == NULL || patient == NULL) {
		json_decref(patient);
		goto fail;
	}
	if (p->patient_id[0])
		json_object_set_new(patient, "identifier",
				    json_pack("[{s:s, s:s}]", "system", FHIR_SYSTEM_PATIENT, "value",
					      p->patient_id));
	json_array_append_new(b.entries, entry_of(id, "patient", patient, b.patient_urn));
	for (size_t u = 0; u < n; u++)
		b.parts |= records[u]->part != 0;

	cli_time(p->issued_at, t);
	validity_end(p->valid_until, end);
	for (size_t i = 0; i < p->n_items; i++) {
		json_t *mr = request_json(&b, rc, i, t, end);
		if (mr == NULL)
			goto fail;
		snprintf(rid, sizeof rid, "request-%zu", i + 1);
		json_array_append_new(b.entries, entry_of(id, rid, mr, b.req_urn[i]));
	}

	/* A record has lines, or (stored before them) items, never both.  A
	 * use's records come together, in the order they were made; an
	 * amendment records the dispense it corrects, handed over when that
	 * was committed (a record without replaces); a withdrawal writes no
	 * resource of its own, only the fate of the record it withdrew. */
	record_t rec = {0};
	for (size_t u = 0; u < n; u++) {
		int same_use = rec.info && rec.info->use == infos[u]->use;
		rec.nth = same_use ? rec.nth + 1 : 1;
		if (!same_use || records[u]->replaces.len == 0)
			cli_time(infos[u]->at, rec.when);
		rec.d = records[u];
		rec.info = infos[u];
		/* superseded by the record after it; a part that left items owed is
		 * followed by the next part, which supersedes nothing (5.13) */
		rec.by = infos[u]->superseded && u + 1 < n && infos[u + 1]->use == infos[u]->use
				 ? records[u + 1]
				 : NULL;
		rec.by_info = rec.by ? infos[u + 1] : NULL;
		if (rec.d->withdraw_reason)
			continue;
		if ((rec.d->n_lines ? line_dispenses(&b, &rec) : item_dispenses(&b, &rec)) != 0)
			goto fail;
	}
	free(b.req_urn);
	cli_time(rc->at, t);
	return json_pack("{s:s, s:s, s:s, s:o}", "resourceType", "Bundle", "type", "collection",
			 "timestamp", t, "entry", b.entries);
fail:
	free(b.req_urn);
	json_decref(b.entries);
	return NULL;
}

/* ---- inquiries (疑義照会, proto/README 5.14; docs/FHIR.md "Inquiries") ---- */

static const char *const inquiry_codes[] = {
	[RX__INQUIRY_REASON__INQUIRY_DOSE] = "dose",
	[RX__INQUIRY_REASON__INQUIRY_INTERACTION] = "interaction",
	[RX__INQUIRY_REASON__INQUIRY_DUPLICATE] = "duplicate",
	[RX__INQUIRY_REASON__INQUIRY_LEFTOVER] = "leftover",
	[RX__INQUIRY_REASON__INQUIRY_OUT_OF_STOCK] = "out-of-stock",
	[RX__INQUIRY_REASON__INQUIRY_DOSAGE_FORM] = "dosage-form",
	[RX__INQUIRY_REASON__INQUIRY_OTHER] = "other",
};
static const char *const answer_codes[] = {
	[RX__ANSWER__ANSWER_ACCEPT] = "accept",
	[RX__ANSWER__ANSWER_KEEP] = "keep",
	[RX__ANSWER__ANSWER_CANCEL] = "cancel",
};
#define NINQUIRY_CODES (sizeof inquiry_codes / sizeof inquiry_codes[0])
#define NANSWER_CODES (sizeof answer_codes / sizeof answer_codes[0])

static const char *code_of(const char *const *codes, size_t n, int v)
{
	return v > 0 && (size_t)v < n && codes[v] ? codes[v] : "unknown";
}

/* text (if any), then each change as a payload string ("item 1:
 * 2171022F1029 ノルバスク錠２．５ｍｇ, ..." or "item 2: not to be
 * dispensed"). */
static json_t *payload_json(const char *text, Rx__Change *const *changes, size_t n)
{
	json_t *a = json_array();
	char buf[1024];
	if (a && text && text[0])
		json_array_append_new(a, json_pack("{s:s}", "contentString", text));
	for (size_t i = 0; a && i < n; i++) {
		const Rx__Item *to = changes[i]->to;
		if (to)
			snprintf(buf, sizeof buf, "item %u: %s %s, %s, %s, %u d, %u %s", changes[i]->item,
				 to->drug_code, to->name, to->dose, to->usage, to->days, to->quantity, to->unit);
		else
			snprintf(buf, sizeof buf, "item %u: not to be dispensed", changes[i]->item);
		json_array_append_new(a, json_pack("{s:s}", "contentString", buf));
	}
	return a;
}

/* basedOn: the MedicationRequests of the items the changes name, or all
 * n_items of them if none is named. */
static json_t *based_on(const char *id, size_t n_items, Rx__Change *const *changes, size_t n)
{
	json_t *a = json_array();
	char rid[48], urn[46];
	for (size_t i = 0; a && i < n_items; i++) {
		int named = n == 0;
		for (size_t k = 0; k < n; k++)
			named |= changes[k]->item == i + 1;
		if (!named)
			continue;
		snprintf(rid, sizeof rid, "request-%zu", i + 1);
		resource_urn(id, rid, urn);
		json_array_append_new(a, json_pack("{s:s}", "reference", urn));
	}
	return a;
}

/* What both Communications of an inquiry say: who to whom, when, about
 * which requests, for which prescription and patient. */
static json_t *communication(const char *id, const char *patient_urn, size_t n_items, const char *from,
			     const char *to, int64_t at, Rx__Change *const *changes, size_t n)
{
	char t[32];
	cli_time(at, t);
	return json_pack("{s:s, s:s, s:[{s:s, s:s}], s:o, s:{s:s}, s:s, s:[o], s:o}", "resourceType",
			 "Communication", "status", "completed", "identifier", "system", FHIR_SYSTEM_PRESCRIPTION,
			 "value", id, "basedOn", based_on(id, n_items, changes, n), "subject", "reference",
			 patient_urn, "sent", t, "recipient", org_ref(to), "sender", org_ref(from));
}

static json_t *phone_medium(void)
{
	return json_pack("[o]", concept(FHIR_PARTICIPATION_MODE, "PHONE", "telephone", NULL, NULL, NULL));
}

int fhir_add_inquiries(json_t *bundle, const char *id, const char *clinic, size_t n_items,
		       const rxc_result_t *r)
{
	json_t *entries = json_object_get(bundle, "entry");
	char patient_urn[46], rid[48], q_urn[46], a_urn[46];
	resource_urn(id, "patient", patient_urn);
	for (size_t i = 0; i < r->n_inquiries; i++) {
		const Rx__InquiryInfo *q = r->reply->inquiries[i];
		const Rx__Call *c = r->asked[i], *a = r->answered[i];
		const Rx__Inquiry *in = c ? c->inquiry : NULL;
		const Rx__InquiryReply *ans = a ? a->inquiry_reply : NULL;
		json_t *question = NULL, *answer = NULL;
		if (in == NULL)
			goto fail;
		/* The question: reason coded, the pharmacist's text and proposals
		 * in the payload. */
		question = communication(id, patient_urn, n_items, q->institution_code, clinic, q->at, in->proposed,
					 in->n_proposed);
		put(&question, "reasonCode",
		    json_pack("[o]", concept(FHIR_SYSTEM_INQUIRY_REASON,
					     code_of(inquiry_codes, NINQUIRY_CODES, (int)in->reason),
					     cli_inquiry_reason_name((int)in->reason), NULL, NULL, NULL)));
		put(&question, "payload", payload_json(in->text, in->proposed, in->n_proposed));
		if (in->by_phone)
			put(&question, "medium", phone_medium());
		if (question == NULL)
			goto fail;
		snprintf(rid, sizeof rid, "inquiry-%u", q->number);
		if (json_array_append_new(entries, entry_of(id, rid, question, q_urn)) != 0)
			goto fail;
		question = NULL;
		/* The answer: the prescriber's signed reply, or what the
		 * pharmacist recorded of the telephone call. */
		if (ans) {
			answer = communication(id, patient_urn, n_items, clinic, q->institution_code, q->replied_at,
					       ans->agreed, ans->n_agreed);
			put(&answer, "payload", payload_json(ans->text, ans->agreed, ans->n_agreed));
		} else if (in->by_phone) {
			answer = communication(id, patient_urn, n_items, clinic, q->institution_code, in->phoned_at,
					       in->agreed, in->n_agreed);
			char said[256];
			snprintf(said, sizeof said, "by telephone: %s", in->phoned);
			put(&answer, "payload", payload_json(said, in->agreed, in->n_agreed));
			put(&answer, "medium", phone_medium());
		}
		if (ans || in->by_phone) {
			int code = ans ? (int)ans->answer : (int)in->outcome;
			const char *word = code_of(answer_codes, NANSWER_CODES, code);
			put(&answer, "category", json_pack("[o]", concept(FHIR_SYSTEM_INQUIRY_ANSWER, word, word, NULL,
									   NULL, NULL)));
			put(&answer, "inResponseTo", json_pack("[{s:s}]", "reference", q_urn));
			if (answer == NULL)
				goto fail;
			snprintf(rid, sizeof rid, "inquiry-%u-answer", q->number);
			if (json_array_append_new(entries, entry_of(id, rid, answer, a_urn)) != 0)
				goto fail;
			answer = NULL;
		}
		continue;
	fail:
		json_decref(question);
		json_decref(answer);
		return -1;
	}
	return 0;
}

int fhir_print_status(rxc_result_t *r, const char *broker, const char *id)
{
	if (r->status != RX_OK || r->prescription == NULL)
		return cli_print_result(r, NULL, broker, id);
	json_t *b = fhir_bundle(r->receipt->prescription_id, r->receipt, r->prescription,
				r->reply->dispenses, r->dispenses, r->n_dispenses);
	if (b && fhir_add_inquiries(b, r->receipt->prescription_id, r->receipt->institution_code,
				    r->prescription->n_items, r) != 0) {
		json_decref(b);
		b = NULL;
	}
	char *s = b ? json_dumps(b, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
	json_decref(b);
	rxc_result_free(r);
	if (s == NULL)
		return cli_fail("out of memory");
	puts(s);
	free(s);
	return fflush(stdout) == 0 ? 0 : 1;
}
