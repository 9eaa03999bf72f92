/* Unit: the FHIR mapping (clients/fhir_in.c, clients/fhir_out.c) from the
 * sample bundles in tests/data/fhir, both directions.  Each unmappable bundle must be refused
 * INVALID with the JSON path of its one defect.  Substitution (docs/FHIR.md): every valid
 * set of an item's marks goes out and comes back exactly, contradictory or uncarriable
 * substitution input is refused, and a dispense record's lines become one
 * MedicationDispense each.  Refills and divided prescriptions (proto/README 5.11):
 * uses as numberOfRepeatsAllowed, parts as our part-days extension, both ways, and a
 * refill that is also divided, or parts that disagree, refused.  Amended and
 * withdrawn dispenses (proto/README 5.12): every record written, the
 * superseded ones entered-in-error or cancelled with our reason, as
 * docs/FHIR.md maps each withdrawal reason.  Partial fills (proto/README
 * 5.13): every part's MedicationDispenses stand, marked with the part, the
 * v3 supply type and why a line was partial.  Inquiries (proto/README
 * 5.14): a Communication each, their answers inResponseTo them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fhir.h"
#include "rx_check.h"
#include "rx_ids.h"
#include "testutil.h"

/* good.json: authored 2026-03-02T10:15:00+09:00, valid through 2026-03-05. */
#define AUTHORED 1772414100
#define VALID_UNTIL 1772722800 /* 2026-03-06T00:00:00+09:00 */
#define NOW (AUTHORED + 600)

static json_t *load(const char *name)
{
	char path[512];
	json_error_t e;
	snprintf(path, sizeof path, "%s/%s", getenv("FHIR_DATA"), name);
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	ck_assert_msg(j != NULL, "%s:%d: %s", path, e.line, e.text);
	return j;
}

/* Map name at time now; the status, the message in msg. */
static rx_err_t map(const char *name, int64_t now, Rx__Prescription *p, char msg[512])
{
	json_t *j = load(name);
	rx__prescription__init(p);
	rx_err_t err = fhir_to_prescription(j, now, p, msg, 512);
	json_decref(j);
	return err;
}

static void assert_item(const Rx__Item *it, const char *code, const char *dose, const char *unit,
			const char *usage, uint32_t days, uint32_t qty)
{
	ck_assert_str_eq(it->drug_code, code);
	ck_assert_str_eq(it->dose, dose);
	ck_assert_str_eq(it->unit, unit);
	ck_assert_str_eq(it->usage, usage);
	ck_assert_uint_eq(it->days, days);
	ck_assert_uint_eq(it->quantity, qty);
}

START_TEST(good_transaction_bundle)
{
	Rx__Prescription p;
	char msg[512];
	ck_assert_int_eq(map("good.json", NOW, &p, msg), RX_OK);
	ck_assert_uint_eq(p.n_items, 2);
	assert_item(p.items[0], "2171022F2025", "1 tablet", "tablet", "once daily after breakfast", 28, 28);
	ck_assert_str_eq(p.items[0]->name, "ノルバスク錠５ｍｇ (amlodipine 5 mg)");
	/* 4 wk of supply; no doseAndRate */
	assert_item(p.items[1], "2189017F1022", FHIR_DOSE_AS_DIRECTED, "tablet", "once daily after dinner",
		    28, 28);
	ck_assert_uint_eq(p.uses, 2); /* one repeat allowed */
	ck_assert_int_eq(p.issued_at, AUTHORED);
	ck_assert_int_eq(p.valid_until, VALID_UNTIL);
	/* The pseudonym as typed, canonical; the same note twice is one. */
	ck_assert_str_eq(p.patient_id, "PMAD51MZHSNM9325FD");
	ck_assert_str_eq(p.notes, "generic substitution allowed\ncheck liver function next visit");

	/* What the broker will check passes. */
	uint8_t key[RX_KEY_LEN] = {1};
	const char *why = NULL;
	p.version = RX_DOC_VERSION;
	p.prescriber_key.data = key;
	p.prescriber_key.len = RX_KEY_LEN;
	ck_assert_msg(rx_check_prescription(&p, NOW, &why) == RX_OK, "%s", why);
	fhir_prescription_free(&p);
	ck_assert_ptr_null(p.items);
}
END_TEST

START_TEST(good_collection_bundle)
{
	Rx__Prescription p;
	char msg[512];
	ck_assert_int_eq(map("good-collection.json", NOW, &p, msg), RX_OK);
	ck_assert_uint_eq(p.n_items, 1);
	/* The price-list system, the name from text, 2 wk, 14.0 tablets. */
	assert_item(p.items[0], "1124009F1223", FHIR_DOSE_AS_DIRECTED, "錠",
		    "one tablet at bedtime when needed", 14, 14);
	ck_assert_str_eq(p.items[0]->name, "レンドルミン錠０．２５ｍｇ");
	ck_assert_uint_eq(p.uses, 1);
	ck_assert_int_eq(p.issued_at, NOW); /* no authoredOn: now */
	ck_assert_int_eq(p.valid_until, rx_valid_until(NOW, RX_DEFAULT_VALID_DAYS));
	ck_assert_str_eq(p.patient_id, "");
	ck_assert_str_eq(p.notes, "");
	fhir_prescription_free(&p);
}
END_TEST

static const struct {
	const char *file, *want; /* want: the message's start (the path) */
} refused[] = {
	{"not-bundle.json", "resourceType: must be \"Bundle\""},
	{"wrong-type.json", "type: must be \"collection\" or \"transaction\""},
	{"missing-code.json", "entry[1].resource.medicationCodeableConcept.coding[1].code: required"},
	{"no-drug-coding.json", "entry[1].resource.medicationCodeableConcept.coding: no coding with system "
				"urn:oid:1.2.392.100495.20.1.73"},
	{"bad-check-digit.json", "entry[1].resource.medicationCodeableConcept.coding[1].code: not a "
				 "12-character drug code with a valid check digit"},
	{"quantity-zero.json", "entry[2].resource.dispenseRequest.quantity.value: must be a positive integer"},
	{"quantity-fraction.json",
	 "entry[2].resource.dispenseRequest.quantity.value: must be a positive integer"},
	{"patient-mismatch.json", "entry[2].resource.subject.reference: names another patient"},
	{"two-patients.json", "entry[4].resource: a Patient the MedicationRequests are not about"},
	{"duration-unit.json",
	 "entry[1].resource.dispenseRequest.expectedSupplyDuration.code: unsupported unit \"mo\""},
	{"repeats-mismatch.json", "entry[2].resource.dispenseRequest.numberOfRepeatsAllowed: differs"},
	{"too-many-repeats.json", "entry[1].resource.dispenseRequest.numberOfRepeatsAllowed: at most 2"},
	{"validity-mismatch.json", "entry[2].resource.dispenseRequest.validityPeriod.end: differs"},
	{"bad-patient-id.json", "entry[0].resource.identifier[1].value: not an rx-exchange patient id"},
	{"two-dosages.json", "entry[1].resource.dosageInstruction[1]: only one dosage instruction"},
};

START_TEST(unmappable_bundles)
{
	Rx__Prescription p;
	char msg[512];
	rx_err_t err = map(refused[_i].file, NOW, &p, msg);
	ck_assert_msg(err == RX_INVALID, "%s: %s (%s)", refused[_i].file, rx_err_name(err), msg);
	ck_assert_msg(strncmp(msg, refused[_i].want, strlen(refused[_i].want)) == 0, "%s: got \"%s\"",
		      refused[_i].file, msg);
	ck_assert_ptr_null(p.items); /* nothing left to free */
}
END_TEST

START_TEST(authored_on_must_be_now)
{
	Rx__Prescription p;
	char msg[512];
	ck_assert_int_eq(map("good.json", AUTHORED + 2 * 86400, &p, msg), RX_INVALID);
	ck_assert_str_eq(msg, "entry[1].resource.authoredOn: is more than a day in the past: the broker "
			      "refuses such a prescription");
	ck_assert_int_eq(map("good.json", AUTHORED - 3600, &p, msg), RX_INVALID);
	ck_assert_str_eq(msg, "entry[1].resource.authoredOn: is in the future");
}
END_TEST

/* The parts of a STATUS reply: a receipt, two dispensed uses of p. */
typedef struct {
	Rx__Receipt rc;
	Rx__Item items[2], *iptr[2];
	Rx__DispenseRecord rec[2];
	Rx__DispenseInfo info[2], *infos[2];
	Rx__DispenseRecord *recs[2];
} reply_t;

static void make_reply(reply_t *r, const Rx__Prescription *p, const char *id)
{
	memset(r, 0, sizeof *r);
	rx__receipt__init(&r->rc);
	r->rc.prescription_id = (char *)id;
	r->rc.state = RX__STATE__DISPENSED;
	r->rc.uses = p->uses;
	r->rc.uses_left = 0;
	r->rc.at = AUTHORED + 3 * 3600;
	r->rc.institution_code = (char *)"1312345678";
	for (int u = 0; u < 2; u++) {
		/* The first item, 14 handed over at each use. */
		r->items[u] = *p->items[0];
		r->items[u].quantity = 14;
		r->items[u].days = 14;
		r->iptr[u] = &r->items[u];
		rx__dispense_record__init(&r->rec[u]);
		r->rec[u].prescription_id = (char *)id;
		r->rec[u].use = (uint32_t)u + 1;
		r->rec[u].items = &r->iptr[u];
		r->rec[u].n_items = 1;
		r->rec[u].notes = (char *)(u ? "" : "split pack");
		rx__dispense_info__init(&r->info[u]);
		r->info[u].at = AUTHORED + 3600 * (u + 1);
		r->info[u].institution_code = (char *)"1398765432";
		r->info[u].use = (uint32_t)u + 1;
		r->infos[u] = &r->info[u];
		r->recs[u] = &r->rec[u];
	}
}

static json_t *of_type(json_t *bundle, const char *type, size_t nth)
{
	json_t *e;
	size_t i;
	json_array_foreach(json_object_get(bundle, "entry"), i, e)
	{
		json_t *res = json_object_get(e, "resource");
		if (strcmp(json_string_value(json_object_get(res, "resourceType")), type) == 0 && nth-- == 0)
			return res;
	}
	return NULL;
}

static const char *str_at(json_t *o, const char *path)
{
	json_t *v = json_object_get(o, path);
	return json_is_string(v) ? json_string_value(v) : "";
}

START_TEST(status_bundle_round_trip)
{
	Rx__Prescription p, back;
	reply_t r;
	char msg[512];
	const char *id = "6WKB-26ZF-S6A5";
	ck_assert_int_eq(map("good.json", NOW, &p, msg), RX_OK);
	make_reply(&r, &p, id);
	json_t *b = fhir_bundle(id, &r.rc, &p, r.infos, r.recs, 2);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(str_at(b, "resourceType"), "Bundle");

	/* The requests: completed, and read back they are the prescription. */
	json_t *mr = of_type(b, "MedicationRequest", 0);
	ck_assert_ptr_nonnull(mr);
	ck_assert_ptr_nonnull(of_type(b, "MedicationRequest", 1));
	ck_assert_ptr_null(of_type(b, "MedicationRequest", 2));
	ck_assert_str_eq(str_at(mr, "status"), "completed");
	ck_assert_str_eq(str_at(json_object_get(mr, "groupIdentifier"), "value"), id);
	ck_assert_str_eq(str_at(mr, "authoredOn"), "2026-03-02T10:15:00+09:00");
	json_t *dr = json_object_get(mr, "dispenseRequest");
	ck_assert_str_eq(str_at(json_object_get(dr, "validityPeriod"), "end"), "2026-03-05");
	ck_assert_int_eq(json_integer_value(json_object_get(dr, "numberOfRepeatsAllowed")), 1);
	json_object_set_new(mr, "status", json_string("active"));
	json_object_set_new(of_type(b, "MedicationRequest", 1), "status", json_string("active"));
	rx__prescription__init(&back);
	ck_assert_msg(fhir_to_prescription(b, NOW, &back, msg, sizeof msg) == RX_OK, "%s", msg);
	ck_assert_uint_eq(back.n_items, p.n_items);
	for (size_t i = 0; i < p.n_items; i++) {
		const Rx__Item *a = p.items[i];
		assert_item(back.items[i], a->drug_code, a->dose, a->unit, a->usage, a->days, a->quantity);
		ck_assert_str_eq(back.items[i]->name, a->name);
	}
	ck_assert_uint_eq(back.uses, p.uses);
	ck_assert_int_eq(back.issued_at, p.issued_at);
	ck_assert_int_eq(back.valid_until, p.valid_until);
	ck_assert_str_eq(back.notes, p.notes);
	ck_assert_str_eq(back.patient_id, p.patient_id);
	fhir_prescription_free(&back);

	/* One MedicationDispense per item handed over at each use. */
	for (int u = 0; u < 2; u++) {
		json_t *md = of_type(b, "MedicationDispense", (size_t)u);
		ck_assert_ptr_nonnull(md);
		ck_assert_str_eq(str_at(md, "status"), "completed");
		ck_assert_str_eq(str_at(md, "whenHandedOver"),
				 u ? "2026-03-02T12:15:00+09:00" : "2026-03-02T11:15:00+09:00");
		ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(md, "quantity"), "value")), 14);
		ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(md, "daysSupply"), "value")), 14);
		json_t *coding = json_array_get(
			json_object_get(json_object_get(md, "medicationCodeableConcept"), "coding"), 0);
		ck_assert_str_eq(str_at(coding, "system"), FHIR_SYSTEM_YJ);
		ck_assert_str_eq(str_at(coding, "code"), "2171022F2025");
		json_t *actor = json_object_get(json_array_get(json_object_get(md, "performer"), 0), "actor");
		ck_assert_str_eq(str_at(json_object_get(actor, "identifier"), "value"), "1398765432");
		json_t *auth = json_array_get(json_object_get(md, "authorizingPrescription"), 0);
		ck_assert_str_eq(str_at(json_object_get(auth, "identifier"), "value"), id);
		/* ... and its reference is the first request's fullUrl */
		json_t *e0 = json_array_get(json_object_get(b, "entry"), 1);
		ck_assert_str_eq(str_at(auth, "reference"), str_at(e0, "fullUrl"));
	}
	ck_assert_ptr_null(of_type(b, "MedicationDispense", 2));
	json_decref(b);
	fhir_prescription_free(&p);
}
END_TEST

/* ---- substitution (proto/README 5.10; docs/FHIR.md "Substitution") ---- */

#define MARKS_SYSTEM FHIR_SYSTEM_SUBSTITUTION_MARK

/* The i-th of the 12 valid mark sets (bit 0 no_change, 1 medical_necessity,
 * 2 no_form_change, 3 no_strength_change; medical necessity only with no
 * change). */
static unsigned valid_marks(int i)
{
	for (unsigned m = 0; m < 16; m++)
		if (!((m & 2) && !(m & 1)) && i-- == 0)
			return m;
	ck_abort_msg("no valid mark set %d", i);
	return 0;
}

static void set_marks(Rx__Item *it, unsigned m)
{
	it->no_change = (m & 1) != 0;
	it->medical_necessity = (m & 2) != 0;
	it->no_form_change = (m & 4) != 0;
	it->no_strength_change = (m & 8) != 0;
}

static unsigned marks_of(const Rx__Item *it)
{
	return (it->no_change ? 1u : 0u) | (it->medical_necessity ? 2u : 0u) |
	       (it->no_form_change ? 4u : 0u) | (it->no_strength_change ? 8u : 0u);
}

/* The codes of a CodeableConcept's codings of system, joined by ","; the
 * number of codings of other systems. */
static size_t codes_of(const json_t *cc, const char *system, char out[256])
{
	json_t *c;
	size_t j, others = 0;
	out[0] = '\0';
	ck_assert_ptr_nonnull(cc);
	json_array_foreach(json_object_get(cc, "coding"), j, c)
	{
		if (strcmp(str_at(c, "system"), system) != 0) {
			others++;
			continue;
		}
		if (out[0])
			strcat(out, ",");
		strcat(out, str_at(c, "code"));
	}
	return others;
}

/* What docs/FHIR.md says m becomes, written out independently of the code. */
static void assert_request_substitution(const json_t *sub, unsigned m)
{
	static const char *const rest[] = {"no-change-medical-necessity", "no-form-change",
					   "no-strength-change"};
	char want[256] = "", got[256];
	for (int b = 1; b < 4; b++)
		if (m & (1u << b)) {
			if (want[0])
				strcat(want, ",");
			strcat(want, rest[b - 1]);
		}
	ck_assert_ptr_nonnull(sub);
	if (m == 0) {
		ck_assert(json_is_true(json_object_get(sub, "allowedBoolean")));
		ck_assert_uint_eq(json_object_size(sub), 1);
	} else if (m & 1) {
		ck_assert(json_is_false(json_object_get(sub, "allowedBoolean")));
		ck_assert_ptr_null(json_object_get(sub, "allowedCodeableConcept"));
		if (want[0]) {
			ck_assert_uint_eq(codes_of(json_object_get(sub, "reason"), MARKS_SYSTEM, got), 0);
			ck_assert_str_eq(got, want);
		} else {
			ck_assert_ptr_null(json_object_get(sub, "reason"));
		}
	} else {
		ck_assert_ptr_null(json_object_get(sub, "allowedBoolean"));
		ck_assert_ptr_null(json_object_get(sub, "reason"));
		ck_assert_uint_eq(codes_of(json_object_get(sub, "allowedCodeableConcept"), MARKS_SYSTEM, got), 0);
		ck_assert_str_eq(got, want);
	}
}

/* Every valid mark set on item 1 (another on item 2) goes out as documented
 * and reads back exactly. */
START_TEST(marks_round_trip)
{
	Rx__Prescription p, back;
	reply_t r;
	char msg[512];
	const char *id = "6WKB-26ZF-S6A5";
	unsigned m = valid_marks(_i), other = valid_marks((_i + 5) % 12);
	ck_assert_int_eq(map("good.json", NOW, &p, msg), RX_OK);
	ck_assert_uint_eq(marks_of(p.items[0]) | marks_of(p.items[1]), 0); /* good.json: none */
	set_marks(p.items[0], m);
	set_marks(p.items[1], other);
	make_reply(&r, &p, id);
	json_t *b = fhir_bundle(id, &r.rc, &p, r.infos, r.recs, 0);
	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < 2; i++) {
		json_t *mr = of_type(b, "MedicationRequest", i);
		assert_request_substitution(json_object_get(mr, "substitution"), i ? other : m);
		json_object_set_new(mr, "status", json_string("active"));
	}
	rx__prescription__init(&back);
	ck_assert_msg(fhir_to_prescription(b, NOW, &back, msg, sizeof msg) == RX_OK, "%s", msg);
	ck_assert_uint_eq(marks_of(back.items[0]), m);
	ck_assert_uint_eq(marks_of(back.items[1]), other);
	fhir_prescription_free(&back);
	json_decref(b);
	fhir_prescription_free(&p);
}
END_TEST

/* good.json with entry[2]'s substitution set to sub (JSON text; NULL:
 * removed), mapped at NOW. */
static rx_err_t map_substitution(const char *sub, Rx__Prescription *p, char msg[512])
{
	json_error_t e;
	json_t *b = load("good.json");
	json_t *mr = json_object_get(json_array_get(json_object_get(b, "entry"), 2), "resource");
	json_object_del(mr, "substitution");
	if (sub) {
		json_t *v = json_loads(sub, 0, &e);
		ck_assert_msg(v != NULL, "%s: %s", sub, e.text);
		json_object_set_new(mr, "substitution", v);
	}
	rx__prescription__init(p);
	rx_err_t err = fhir_to_prescription(b, NOW, p, msg, 512);
	json_decref(b);
	return err;
}

#define MARK(code) "{\"system\": \"" MARKS_SYSTEM "\", \"code\": \"" code "\"}"

/* What other senders may write that our writer does not, read as documented. */
static const struct {
	const char *sub;
	unsigned marks;
} accepted[] = {
	{NULL, 0},
	{"{\"allowedBoolean\": true}", 0},
	{"{\"allowedBoolean\": false}", 1},
	{"{\"allowedBoolean\": false, \"reason\": {\"coding\": [" MARK("no-change") "]}}", 1},
	{"{\"allowedCodeableConcept\": {\"coding\": [" MARK("no-change-medical-necessity") "]}}", 3},
	{"{\"allowedCodeableConcept\": {\"coding\": [" MARK("no-change") ", " MARK("no-strength-change") "],"
	 " \"text\": \"変更不可\"}}",
	 9},
};

START_TEST(substitution_accepted)
{
	Rx__Prescription p;
	char msg[512];
	rx_err_t err = map_substitution(accepted[_i].sub, &p, msg);
	ck_assert_msg(err == RX_OK, "%s: %s", accepted[_i].sub, msg);
	ck_assert_uint_eq(marks_of(p.items[1]), accepted[_i].marks);
	ck_assert_uint_eq(marks_of(p.items[0]), 0); /* the other entry's item untouched */
	fhir_prescription_free(&p);
}
END_TEST

#define AT "entry[2].resource.substitution"
static const struct {
	const char *sub, *want;
} contradictory[] = {
	/* the refusal the issue asks for: allowed, yet marked */
	{"{\"allowedBoolean\": true, \"reason\": {\"coding\": [" MARK("no-change-medical-necessity") "]}}",
	 AT ".reason: contradicts allowedBoolean true"},
	{"{\"allowedBoolean\": true, \"reason\": {\"coding\": [" MARK("no-form-change") "]}}",
	 AT ".reason: contradicts allowedBoolean true"},
	{"{\"allowedBoolean\": true, \"allowedCodeableConcept\": {\"coding\": [" MARK("no-form-change") "]}}",
	 AT ": allowedBoolean and allowedCodeableConcept together"},
	{"{\"allowedCodeableConcept\": {\"coding\": [" MARK("no-form-change") "]}, \"reason\": {\"coding\": ["
	 MARK("no-change-medical-necessity") "]}}",
	 AT ".reason: cannot be carried with allowedCodeableConcept"},
	{"{\"reason\": {\"coding\": [" MARK("no-change") "]}}",
	 AT ": required: allowedBoolean or allowedCodeableConcept"},
	{"{\"allowedBoolean\": \"false\"}", AT ".allowedBoolean: must be true or false"},
	{"[{\"allowedBoolean\": false}]", AT ": must be an object"},
	/* what our codes cannot say is refused, not dropped */
	{"{\"allowedCodeableConcept\": {\"coding\": [{\"system\": \"" FHIR_SYSTEM_V3_SUBSTITUTION
	 "\", \"code\": \"N\"}]}}",
	 AT ".allowedCodeableConcept.coding[0].system: cannot be carried"},
	{"{\"allowedCodeableConcept\": {\"coding\": [" MARK("no-form-change") ", " MARK("generic-only") "]}}",
	 AT ".allowedCodeableConcept.coding[1].code: unknown code \"generic-only\""},
	{"{\"allowedCodeableConcept\": {\"text\": \"no generic\"}}",
	 AT ".allowedCodeableConcept.coding: required"},
	{"{\"allowedBoolean\": false, \"reason\": {\"text\": \"the brand works better\"}}",
	 AT ".reason.coding: required"},
	{"{\"allowedBoolean\": false, \"reason\": {\"coding\": [{\"system\": \"" FHIR_SYSTEM_V3_ACT_REASON
	 "\", \"code\": \"THERCHAR\"}]}}",
	 AT ".reason.coding[0].system: cannot be carried"},
	{"{\"allowedBoolean\": false, \"modifierExtension\": [{\"url\": \"x\"}]}",
	 AT ".modifierExtension: a modifier extension"},
};

START_TEST(substitution_refused)
{
	Rx__Prescription p;
	char msg[512];
	rx_err_t err = map_substitution(contradictory[_i].sub, &p, msg);
	ck_assert_msg(err == RX_INVALID, "%s: %s (%s)", contradictory[_i].sub, rx_err_name(err), msg);
	ck_assert_msg(strncmp(msg, contradictory[_i].want, strlen(contradictory[_i].want)) == 0,
		      "%s: got \"%s\"", contradictory[_i].sub, msg);
	ck_assert_ptr_null(p.items);
}
END_TEST

/* The prescription of good.json with a third item, and use 1 dispensed
 * with lines: item 1 as written, item 2 substituted by a generic, item 3
 * not dispensed (leftover).  Use 2 stays a record stored before lines. */
typedef struct {
	Rx__Prescription p, q;
	Rx__Item third, *three[3];
	Rx__Item handed[2];
	Rx__Line line[3], *lines[3];
	reply_t r;
} lines_world_t;

static void lines_world(lines_world_t *w, const char *id)
{
	char msg[512];
	ck_assert_int_eq(map("good.json", NOW, &w->p, msg), RX_OK);
	w->third = *w->p.items[1];
	w->third.drug_code = (char *)"1124009F1223";
	w->third.name = (char *)"レンドルミン錠０．２５ｍｇ";
	w->three[0] = w->p.items[0];
	w->three[1] = w->p.items[1];
	w->three[2] = &w->third;
	w->q = w->p;
	w->q.items = w->three;
	w->q.n_items = 3;
	make_reply(&w->r, &w->q, id);

	for (int k = 0; k < 3; k++) {
		rx__line__init(&w->line[k]);
		w->line[k].item = (uint32_t)k + 1;
		w->lines[k] = &w->line[k];
	}
	w->handed[0] = *w->p.items[0];
	w->line[0].outcome = RX__OUTCOME__AS_WRITTEN;
	w->line[0].handed = &w->handed[0];
	w->handed[1] = *w->p.items[1];
	w->handed[1].drug_code = (char *)"2189017F1111";
	w->handed[1].name = (char *)"ロスバスタチン錠２．５ｍｇ「科研」";
	w->handed[1].quantity = 30; /* what was handed, not what was asked */
	w->line[1].outcome = RX__OUTCOME__SUBSTITUTED;
	w->line[1].reason = RX__LINE_REASON__GENERIC;
	w->line[1].handed = &w->handed[1];
	w->line[2].outcome = RX__OUTCOME__NOT_DISPENSED;
	w->line[2].reason = RX__LINE_REASON__LEFTOVER;
	w->r.rec[0].items = NULL;
	w->r.rec[0].n_items = 0;
	w->r.rec[0].lines = w->lines;
	w->r.rec[0].n_lines = 3;
}

static json_t *by_id(json_t *bundle, const char *rid)
{
	json_t *e;
	size_t i;
	json_array_foreach(json_object_get(bundle, "entry"), i, e)
	{
		json_t *res = json_object_get(e, "resource");
		if (strcmp(str_at(res, "id"), rid) == 0)
			return res;
	}
	return NULL;
}

static const char *fullurl_of(json_t *bundle, const char *rid)
{
	json_t *e;
	size_t i;
	json_array_foreach(json_object_get(bundle, "entry"), i, e)
	{
		if (strcmp(str_at(json_object_get(e, "resource"), "id"), rid) == 0)
			return str_at(e, "fullUrl");
	}
	return "";
}

/* A MedicationDispense read back into a line, as docs/FHIR.md says a
 * consumer reads it: the outcome from status and wasSubstituted, the reason
 * from our code, the product from the medication. */
typedef struct {
	Rx__Outcome outcome;
	char reason[256], code[16];
	json_int_t quantity;
} read_line_t;

static read_line_t read_line(json_t *md)
{
	read_line_t l = {0};
	json_t *sub = json_object_get(md, "substitution"), *why;
	if (strcmp(str_at(md, "status"), "declined") == 0) {
		l.outcome = RX__OUTCOME__NOT_DISPENSED;
		ck_assert_ptr_null(sub);
		ck_assert_ptr_null(json_object_get(md, "whenHandedOver"));
		ck_assert_ptr_null(json_object_get(md, "quantity"));
		why = json_object_get(md, "statusReasonCodeableConcept");
	} else {
		ck_assert_str_eq(str_at(md, "status"), "completed");
		ck_assert_ptr_nonnull(sub);
		l.outcome = json_is_true(json_object_get(sub, "wasSubstituted")) ? RX__OUTCOME__SUBSTITUTED
										 : RX__OUTCOME__AS_WRITTEN;
		ck_assert(json_is_boolean(json_object_get(sub, "wasSubstituted")));
		l.quantity = json_integer_value(json_object_get(json_object_get(md, "quantity"), "value"));
		why = json_array_get(json_object_get(sub, "reason"), 0);
	}
	if (why)
		codes_of(why, FHIR_SYSTEM_LINE_REASON, l.reason);
	json_t *coding = json_array_get(
		json_object_get(json_object_get(md, "medicationCodeableConcept"), "coding"), 0);
	snprintf(l.code, sizeof l.code, "%s", str_at(coding, "code"));
	return l;
}

START_TEST(dispense_lines_out)
{
	lines_world_t w;
	const char *id = "6WKB-26ZF-S6A5";
	lines_world(&w, id);
	json_t *b = fhir_bundle(id, &w.r.rc, &w.q, w.r.infos, w.r.recs, 2);
	ck_assert_ptr_nonnull(b);

	/* One MedicationDispense per line, named by the item it accounts for. */
	static const struct {
		Rx__Outcome outcome;
		const char *reason, *code;
		json_int_t quantity;
	} want[3] = {
		{RX__OUTCOME__AS_WRITTEN, "", "2171022F2025", 28},
		{RX__OUTCOME__SUBSTITUTED, "generic", "2189017F1111", 30},
		{RX__OUTCOME__NOT_DISPENSED, "leftover", "1124009F1223", 0}, /* the prescribed drug */
	};
	for (int k = 0; k < 3; k++) {
		char rid[32], req[32];
		snprintf(rid, sizeof rid, "dispense-1-%d", k + 1);
		snprintf(req, sizeof req, "request-%d", k + 1);
		json_t *md = by_id(b, rid);
		ck_assert_msg(md != NULL, "%s missing", rid);
		read_line_t l = read_line(md);
		ck_assert_int_eq(l.outcome, want[k].outcome);
		ck_assert_str_eq(l.reason, want[k].reason);
		ck_assert_str_eq(l.code, want[k].code);
		ck_assert_int_eq(l.quantity, want[k].quantity);
		json_t *auth = json_array_get(json_object_get(md, "authorizingPrescription"), 0);
		ck_assert_str_eq(str_at(auth, "reference"), fullurl_of(b, req));
		json_t *actor = json_object_get(json_array_get(json_object_get(md, "performer"), 0), "actor");
		ck_assert_str_eq(str_at(json_object_get(actor, "identifier"), "value"), "1398765432");
		ck_assert_str_eq(str_at(json_array_get(json_object_get(md, "note"), 0), "text"), "split pack");
	}
	ck_assert_ptr_null(by_id(b, "dispense-1-4"));

	/* The substitution's type: E (equivalent), not G (a generic for a generic). */
	json_t *sub = json_object_get(by_id(b, "dispense-1-2"), "substitution");
	char codes[256];
	ck_assert_uint_eq(codes_of(json_object_get(sub, "type"), FHIR_SYSTEM_V3_SUBSTITUTION, codes), 0);
	ck_assert_str_eq(codes, "E");
	ck_assert_ptr_null(json_object_get(json_object_get(by_id(b, "dispense-1-1"), "substitution"), "type"));
	ck_assert_str_eq(str_at(by_id(b, "dispense-1-1"), "whenHandedOver"), "2026-03-02T11:15:00+09:00");

	/* Use 2, stored before lines: today's output, no substitution claimed. */
	json_t *old = by_id(b, "dispense-2-1");
	ck_assert_ptr_nonnull(old);
	ck_assert_str_eq(str_at(old, "status"), "completed");
	ck_assert_ptr_null(json_object_get(old, "substitution"));
	ck_assert_ptr_null(by_id(b, "dispense-2-2"));
	json_decref(b);
	fhir_prescription_free(&w.p);
}
END_TEST

/* Every reason a line may carry, by outcome (proto/README 2.5): our code,
 * and v3 ActReason's OS only for a substitution because of stock. */
static const struct {
	Rx__Outcome outcome;
	Rx__LineReason reason;
	const char *code, *v3;
} reason_cases[] = {
	{RX__OUTCOME__AS_WRITTEN, RX__LINE_REASON__REASON_NONE, "", NULL},
	{RX__OUTCOME__AS_WRITTEN, RX__LINE_REASON__PATIENT_REQUEST, "patient-request", NULL},
	{RX__OUTCOME__SUBSTITUTED, RX__LINE_REASON__GENERIC, "generic", NULL},
	{RX__OUTCOME__SUBSTITUTED, RX__LINE_REASON__OUT_OF_STOCK, "out-of-stock", "OS"},
	{RX__OUTCOME__SUBSTITUTED, RX__LINE_REASON__PATIENT_REQUEST, "patient-request", NULL},
	{RX__OUTCOME__SUBSTITUTED, RX__LINE_REASON__INQUIRY, "inquiry", NULL},
	{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__OUT_OF_STOCK, "out-of-stock", NULL},
	{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__INQUIRY, "inquiry", NULL},
	{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__PATIENT_DECLINED, "patient-declined", NULL},
	{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__LEFTOVER, "leftover", NULL},
	{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__OTHER_REASON, "other", NULL},
};

START_TEST(dispense_line_reasons)
{
	lines_world_t w;
	const char *id = "6WKB-26ZF-S6A5";
	lines_world(&w, id);
	/* Line 2 takes the case; the outcome keeps its handed item or drops it. */
	w.line[1].outcome = reason_cases[_i].outcome;
	w.line[1].reason = reason_cases[_i].reason;
	if (w.line[1].outcome == RX__OUTCOME__NOT_DISPENSED)
		w.line[1].handed = NULL;
	json_t *b = fhir_bundle(id, &w.r.rc, &w.q, w.r.infos, w.r.recs, 1);
	json_t *md = by_id(b, "dispense-1-2");
	ck_assert_ptr_nonnull(md);
	read_line_t l = read_line(md);
	ck_assert_int_eq(l.outcome, reason_cases[_i].outcome);
	ck_assert_str_eq(l.reason, reason_cases[_i].code);
	/* the v3 code, where there is one, beside ours in the same concept */
	json_t *sub = json_object_get(md, "substitution");
	json_t *why = sub ? json_array_get(json_object_get(sub, "reason"), 0)
			  : json_object_get(md, "statusReasonCodeableConcept");
	json_t *v3 = json_array_get(json_object_get(why, "coding"), 1);
	if (reason_cases[_i].v3) {
		ck_assert_str_eq(str_at(v3, "system"), FHIR_SYSTEM_V3_ACT_REASON);
		ck_assert_str_eq(str_at(v3, "code"), reason_cases[_i].v3);
	} else {
		ck_assert_ptr_null(v3);
	}
	json_decref(b);
	fhir_prescription_free(&w.p);
}
END_TEST

/* ---- amended and withdrawn dispenses (proto/README 5.12; docs/FHIR.md) ---- */

/* Use 1 of lines_world's prescription as STATUS lists its records, in the
 * order they were made: lines_world's record (r0: item 3 not dispensed),
 * then whichever of an amendment (item 3 handed over after all), a
 * withdrawal and a dispense again the test puts after it.  Each at its own
 * time, an hour apart. */
typedef struct {
	lines_world_t w;
	Rx__DispenseRecord amended, withdrawal, again;
	Rx__Line line3, *alines[3];
	Rx__DispenseInfo info[4], *infos[4];
	Rx__DispenseRecord *recs[4];
	uint8_t hash[32];
	size_t n;
} history_t;

static void history(history_t *h, const char *id)
{
	memset(h, 0, sizeof *h);
	lines_world(&h->w, id);
	h->recs[0] = &h->w.r.rec[0];
	h->amended = h->w.r.rec[0];
	h->line3 = h->w.line[2];
	h->line3.outcome = RX__OUTCOME__AS_WRITTEN;
	h->line3.reason = RX__LINE_REASON__REASON_NONE;
	h->line3.handed = &h->w.third;
	h->alines[0] = &h->w.line[0];
	h->alines[1] = &h->w.line[1];
	h->alines[2] = &h->line3;
	h->amended.lines = h->alines;
	h->amended.notes = (char *)"item 3 handed over after all";
	memset(h->hash, 0xab, sizeof h->hash); /* what it names does not matter here */
	h->amended.replaces.data = h->hash;
	h->amended.replaces.len = sizeof h->hash;
	rx__dispense_record__init(&h->withdrawal);
	h->withdrawal.prescription_id = (char *)id;
	h->withdrawal.use = 1;
	h->withdrawal.replaces = h->amended.replaces;
	h->withdrawal.notes = (char *)"";
	h->again = h->w.r.rec[0]; /* dispensed again as first recorded */
	h->n = 1;
}

/* Put rec after the records so far, each at its time, the last current. */
static void append(history_t *h, Rx__DispenseRecord *rec)
{
	h->recs[h->n] = rec;
	h->n++;
	for (size_t i = 0; i < h->n; i++) {
		h->info[i] = h->w.r.info[0];
		h->info[i].at = AUTHORED + 3600 * (int64_t)(i + 1);
		h->info[i].superseded = i + 1 < h->n;
		h->infos[i] = &h->info[i];
	}
}

static json_t *history_bundle(history_t *h, const char *id)
{
	json_t *b = fhir_bundle(id, &h->w.r.rc, &h->w.q, h->infos, h->recs, h->n);
	ck_assert_ptr_nonnull(b);
	return b;
}

/* The resource rid has status, and as its statusReasonCodeableConcept only
 * why ("" none), a code of ours: why it was superseded, or "leftover", the
 * line's reason it was declined. */
static void assert_fate(json_t *b, const char *rid, const char *status, const char *why)
{
	char codes[256] = "";
	const char *system = strcmp(why, "leftover") == 0 ? FHIR_SYSTEM_LINE_REASON : FHIR_SYSTEM_SUPERSEDED;
	json_t *md = by_id(b, rid), *cc;
	ck_assert_msg(md != NULL, "%s missing", rid);
	ck_assert_msg(strcmp(str_at(md, "status"), status) == 0, "%s: %s, not %s", rid, str_at(md, "status"),
		      status);
	if ((cc = json_object_get(md, "statusReasonCodeableConcept")) != NULL)
		ck_assert_uint_eq(codes_of(cc, system, codes), 0);
	ck_assert_msg(strcmp(codes, why) == 0, "%s: reason %s, not %s", rid, codes, why);
}

/* Amended: the first record's resources keep their ids (a consumer holding
 * them sees them nullified), entered-in-error as "amended", its declined
 * line too (the whole record was wrong); the correction's are new
 * resources, current, handed over when the dispense was, not when it was
 * corrected. */
START_TEST(amended_dispense_out)
{
	history_t h;
	const char *id = "6WKB-26ZF-S6A5";
	history(&h, id);
	append(&h, &h.amended);
	json_t *b = history_bundle(&h, id);
	for (int k = 1; k <= 3; k++) {
		char rid[32];
		snprintf(rid, sizeof rid, "dispense-1-%d", k);
		assert_fate(b, rid, "entered-in-error", "amended");
		snprintf(rid, sizeof rid, "dispense-1-%d-r2", k);
		assert_fate(b, rid, "completed", "");
		ck_assert_str_eq(str_at(by_id(b, rid), "whenHandedOver"), "2026-03-02T11:15:00+09:00");
	}
	/* the wrong record as it was said, handed over then */
	ck_assert_str_eq(str_at(by_id(b, "dispense-1-1"), "whenHandedOver"), "2026-03-02T11:15:00+09:00");
	ck_assert_str_eq(str_at(json_array_get(json_object_get(by_id(b, "dispense-1-3-r2"), "note"), 0), "text"),
			 "item 3 handed over after all");
	ck_assert_ptr_null(by_id(b, "dispense-1-4"));
	ck_assert_ptr_null(by_id(b, "dispense-1-1-r3"));
	json_decref(b);
	fhir_prescription_free(&h.w.p);
}
END_TEST

/* What each withdrawal reason makes of the record it withdraws: its handed
 * lines, its declined line, and whether the product counts as handed over
 * (whenHandedOver) or only prepared (whenPrepared). */
static const struct {
	Rx__WithdrawReason reason;
	const char *handed, *declined, *code;
} withdrawals[] = {
	{RX__WITHDRAW_REASON__DISPENSED_IN_ERROR, "entered-in-error", "entered-in-error", "dispensed-in-error"},
	{RX__WITHDRAW_REASON__NOT_COLLECTED, "cancelled", "declined", "not-collected"},
	{RX__WITHDRAW_REASON__RECORDED_IN_ERROR, "entered-in-error", "entered-in-error", "recorded-in-error"},
	{RX__WITHDRAW_REASON__OTHER_WITHDRAWAL, "entered-in-error", "entered-in-error", "other-withdrawal"},
	{(Rx__WithdrawReason)9, "entered-in-error", "entered-in-error", "other-withdrawal"}, /* newer than us */
};

START_TEST(withdrawn_dispense_out)
{
	history_t h;
	const char *id = "6WKB-26ZF-S6A5";
	int cancelled = withdrawals[_i].reason == RX__WITHDRAW_REASON__NOT_COLLECTED;
	history(&h, id);
	h.withdrawal.withdraw_reason = withdrawals[_i].reason;
	h.withdrawal.notes = (char *)"the patient's daughter came instead";
	append(&h, &h.withdrawal);
	json_t *b = history_bundle(&h, id);
	assert_fate(b, "dispense-1-1", withdrawals[_i].handed, withdrawals[_i].code);
	assert_fate(b, "dispense-1-2", withdrawals[_i].handed, withdrawals[_i].code);
	assert_fate(b, "dispense-1-3", withdrawals[_i].declined, cancelled ? "leftover" : withdrawals[_i].code);
	json_t *md = by_id(b, "dispense-1-1");
	ck_assert_int_eq(json_object_get(md, "whenHandedOver") == NULL, cancelled);
	ck_assert_int_eq(json_object_get(md, "whenPrepared") != NULL, cancelled);
	if (cancelled)
		ck_assert_str_eq(str_at(md, "whenPrepared"), "2026-03-02T11:15:00+09:00");
	/* the record's notes, then the withdrawal's, with its time */
	json_t *notes = json_object_get(md, "note");
	ck_assert_uint_eq(json_array_size(notes), 2);
	ck_assert_str_eq(str_at(json_array_get(notes, 0), "text"), "split pack");
	ck_assert_str_eq(str_at(json_array_get(notes, 1), "text"), "the patient's daughter came instead");
	ck_assert_str_eq(str_at(json_array_get(notes, 1), "time"), "2026-03-02T12:15:00+09:00");
	/* a withdrawal is no dispense: no resource of its own */
	ck_assert_ptr_null(by_id(b, "dispense-1-1-r2"));
	ck_assert_ptr_null(by_id(b, "dispense-1-3-r2"));
	ck_assert_uint_eq(json_array_size(json_object_get(b, "entry")), 1 + 3 + 3); /* patient, requests, r1 */
	json_decref(b);
	fhir_prescription_free(&h.w.p);
}
END_TEST

/* Amended, the correction not collected, dispensed again: the ids follow
 * the records' places, the dispense again is handed over at its own time. */
START_TEST(withdrawn_and_dispensed_again_out)
{
	history_t h;
	const char *id = "6WKB-26ZF-S6A5";
	history(&h, id);
	h.withdrawal.withdraw_reason = RX__WITHDRAW_REASON__NOT_COLLECTED;
	append(&h, &h.amended);
	append(&h, &h.withdrawal);
	append(&h, &h.again);
	json_t *b = history_bundle(&h, id);
	assert_fate(b, "dispense-1-1", "entered-in-error", "amended");
	assert_fate(b, "dispense-1-3", "entered-in-error", "amended");
	assert_fate(b, "dispense-1-1-r2", "cancelled", "not-collected");
	assert_fate(b, "dispense-1-3-r2", "cancelled", "not-collected"); /* handed in the correction */
	assert_fate(b, "dispense-1-1-r4", "completed", "");
	assert_fate(b, "dispense-1-3-r4", "declined", "leftover");
	ck_assert_ptr_null(by_id(b, "dispense-1-1-r3"));
	ck_assert_str_eq(str_at(by_id(b, "dispense-1-1-r4"), "whenHandedOver"), "2026-03-02T14:15:00+09:00");
	/* no withdrawal notes: only the record's own */
	ck_assert_uint_eq(json_array_size(json_object_get(by_id(b, "dispense-1-1-r2"), "note")), 1);
	json_decref(b);
	fhir_prescription_free(&h.w.p);
}
END_TEST


/* ---- partial fills (proto/README 5.13; docs/FHIR.md "Partial fills") ---- */

/* The v3 ActPharmacySupplyType code of rid's type, "" if it has none. */
static const char *supply_type(json_t *b, const char *rid, char codes[256])
{
	json_t *type = json_object_get(by_id(b, rid), "type");
	codes[0] = '\0';
	if (type)
		ck_assert_uint_eq(codes_of(type, FHIR_SYSTEM_V3_ACT_CODE, codes), 0);
	return codes;
}

/* The part rid's extension names (0: none), and its partial reason into why. */
static json_int_t part_of(json_t *b, const char *rid, char why[256])
{
	json_t *e;
	size_t i;
	json_int_t part = 0;
	why[0] = '\0';
	json_array_foreach(json_object_get(by_id(b, rid), "extension"), i, e)
	{
		if (strcmp(str_at(e, "url"), FHIR_EXT_DISPENSE_PART) == 0)
			part = json_integer_value(json_object_get(e, "valueUnsignedInt"));
		else if (strcmp(str_at(e, "url"), FHIR_EXT_PARTIAL_REASON) == 0)
			codes_of(json_object_get(e, "valueCodeableConcept"), FHIR_SYSTEM_LINE_REASON, why);
	}
	return part;
}

/* Use 1 of lines_world's prescription handed over in three parts.  Part 1:
 * 10 of item 1 (out of stock), a generic for item 2 in full, 7 of another
 * product for item 3 (the patient's request); part 2: 5 more of item 1,
 * the rest of item 3 as written; part 3 closes item 1, not dispensed.
 * While PARTIALLY_DISPENSED the requests are active; every part's
 * MedicationDispenses stand (completed, none superseded), each with its
 * part, its supply type (first fill or refill, complete or part fill) and a
 * partial line's reason; cancelled then, the requests are stopped; the last
 * part closes item 1 declined, and the requests are completed. */
START_TEST(partial_fill_out)
{
	lines_world_t w;
	const char *id = "6WKB-26ZF-S6A5";
	char codes[256], why[256];
	lines_world(&w, id);
	Rx__Item h1 = *w.q.items[0], h3 = w.handed[1], h1b = *w.q.items[0], h3b = w.third;
	Rx__Line p1[3], p2[2], p3, *l1[3], *l2[2], *l3[1] = {&p3};
	Rx__DispenseRecord rec[3];
	Rx__DispenseInfo info[3], *infos[3];
	Rx__DispenseRecord *recs[3];
	h1.quantity = 10;
	h3.quantity = 7; /* another product for item 3: the generic of item 2's kind */
	h1b.quantity = 5;
	for (int k = 0; k < 3; k++) {
		p1[k] = w.line[k];
		l1[k] = &p1[k];
	}
	p1[0].outcome = RX__OUTCOME__PARTIAL;
	p1[0].reason = RX__LINE_REASON__OUT_OF_STOCK;
	p1[0].handed = &h1;
	p1[2].outcome = RX__OUTCOME__PARTIAL;
	p1[2].reason = RX__LINE_REASON__PATIENT_REQUEST;
	p1[2].handed = &h3;
	p2[0] = p1[0];
	p2[0].reason = RX__LINE_REASON__OTHER_REASON;
	p2[0].handed = &h1b;
	rx__line__init(&p2[1]);
	p2[1].item = 3;
	p2[1].outcome = RX__OUTCOME__AS_WRITTEN;
	p2[1].handed = &h3b;
	l2[0] = &p2[0];
	l2[1] = &p2[1];
	rx__line__init(&p3);
	p3.item = 1;
	p3.outcome = RX__OUTCOME__NOT_DISPENSED;
	p3.reason = RX__LINE_REASON__OUT_OF_STOCK;
	Rx__Line **lines[3] = {l1, l2, l3};
	size_t nlines[3] = {3, 2, 1};
	for (int k = 0; k < 3; k++) {
		rec[k] = w.r.rec[0];
		rec[k].part = (uint32_t)k + 1;
		rec[k].lines = lines[k];
		rec[k].n_lines = nlines[k];
		rec[k].notes = (char *)"";
		info[k] = w.r.info[0];
		info[k].at = AUTHORED + 86400 * k; /* a day apart */
		info[k].superseded = 0;           /* parts stand: none supersedes another */
		infos[k] = &info[k];
		recs[k] = &rec[k];
	}

	/* Two parts: something still owed. */
	w.r.rc.state = RX__STATE__PARTIALLY_DISPENSED;
	w.r.rc.uses_left = w.r.rc.uses;
	json_t *b = fhir_bundle(id, &w.r.rc, &w.q, infos, recs, 2);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(str_at(by_id(b, "request-1"), "status"), "active");
	static const struct {
		const char *rid, *type, *why;
		json_int_t part, quantity;
		int swapped;
	} want[] = {
		{"dispense-1-1-p1", "FFP", "out-of-stock", 1, 10, 0},
		{"dispense-1-2-p1", "FFC", "", 1, 30, 1},
		{"dispense-1-3-p1", "FFP", "patient-request", 1, 7, 1},
		{"dispense-1-1-p2", "RFP", "other", 2, 5, 0},
		{"dispense-1-3-p2", "RFP", "", 2, 28, 0},
	};
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		json_t *md = by_id(b, want[k].rid);
		ck_assert_msg(md != NULL, "%s missing", want[k].rid);
		ck_assert_str_eq(str_at(md, "status"), "completed");
		ck_assert_ptr_null(json_object_get(md, "statusReasonCodeableConcept"));
		ck_assert_msg(strcmp(supply_type(b, want[k].rid, codes), want[k].type) == 0, "%s: type %s",
			      want[k].rid, codes);
		ck_assert_int_eq(part_of(b, want[k].rid, why), want[k].part);
		ck_assert_msg(strcmp(why, want[k].why) == 0, "%s: partial reason %s", want[k].rid, why);
		ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(md, "quantity"), "value")),
				 want[k].quantity);
		json_t *sub = json_object_get(md, "substitution");
		ck_assert_int_eq(json_is_true(json_object_get(sub, "wasSubstituted")), want[k].swapped);
		/* a partial line's reason is why it is partial, not a substitution's */
		if (strcmp(want[k].rid, "dispense-1-2-p1") != 0)
			ck_assert_ptr_null(json_object_get(sub, "reason"));
	}
	ck_assert_str_eq(str_at(by_id(b, "dispense-1-1-p2"), "whenHandedOver"), "2026-03-03T10:15:00+09:00");
	ck_assert_ptr_null(by_id(b, "dispense-1-1"));
	ck_assert_ptr_null(by_id(b, "dispense-1-2-p2"));
	json_decref(b);

	/* Cancelled then (the claim released on the prescriber's cancel): what
	 * was begun is stopped, not cancelled; the parts still stand. */
	w.r.rc.state = RX__STATE__CANCELLED_STATE;
	b = fhir_bundle(id, &w.r.rc, &w.q, infos, recs, 2);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(str_at(by_id(b, "request-1"), "status"), "stopped");
	ck_assert_str_eq(str_at(by_id(b, "dispense-1-1-p2"), "status"), "completed");
	json_decref(b);

	/* The last part closes item 1: declined, still marked a part; done. */
	w.r.rc.state = RX__STATE__DISPENSED;
	w.r.rc.uses_left = w.r.rc.uses - 1;
	b = fhir_bundle(id, &w.r.rc, &w.q, infos, recs, 3);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(str_at(by_id(b, "dispense-1-1-p3"), "status"), "declined");
	codes_of(json_object_get(by_id(b, "dispense-1-1-p3"), "statusReasonCodeableConcept"),
		 FHIR_SYSTEM_LINE_REASON, codes);
	ck_assert_str_eq(codes, "out-of-stock");
	ck_assert_str_eq(supply_type(b, "dispense-1-1-p3", codes), "");
	ck_assert_int_eq(part_of(b, "dispense-1-1-p3", why), 3);
	ck_assert_str_eq(str_at(by_id(b, "dispense-1-1-p1"), "status"), "completed");
	ck_assert_str_eq(str_at(by_id(b, "request-1"), "status"), "completed");
	json_decref(b);
	fhir_prescription_free(&w.p);
}
END_TEST
/* ---- refills and divided prescriptions (proto/README 5.11; docs/FHIR.md) ---- */

#define PARTS FHIR_EXT_PART_DAYS

/* How a prescription's uses may be planned, and what docs/FHIR.md says the
 * requests' dispenseRequest then holds: numberOfRepeatsAllowed, and the days
 * of the part-days extensions in order ("" none). */
static const struct {
	uint32_t uses, parts[3];
	size_t nparts;
	json_int_t repeats;
	const char *ext;
} plans[] = {
	{1, {0}, 0, 0, ""},
	{2, {0}, 0, 1, ""},
	{3, {0}, 0, 2, ""},
	{2, {10, 20}, 2, 0, "10,20"},
	{3, {7, 14, 28}, 3, 0, "7,14,28"},
	{3, {365, 1, 30}, 3, 0, "365,1,30"},
};

/* The days of the part-days extensions of dr, "a,b,c", checking each is
 * written as docs/FHIR.md says: a valueDuration of UCUM days. */
static void parts_of(const json_t *dr, char out[64])
{
	json_t *e;
	size_t j;
	out[0] = '\0';
	json_array_foreach(json_object_get(dr, "extension"), j, e)
	{
		json_t *d = json_object_get(e, "valueDuration");
		ck_assert_str_eq(str_at(e, "url"), PARTS);
		ck_assert_str_eq(str_at(d, "system"), FHIR_UCUM);
		ck_assert_str_eq(str_at(d, "code"), "d");
		snprintf(out + strlen(out), 64 - strlen(out), "%s%lld", out[0] ? "," : "",
			 (long long)json_integer_value(json_object_get(d, "value")));
	}
}

START_TEST(plan_round_trip)
{
	Rx__Prescription p, back;
	reply_t r;
	char msg[512], ext[64];
	const char *id = "6WKB-26ZF-S6A5";
	uint32_t parts[3];
	ck_assert_int_eq(map("good.json", NOW, &p, msg), RX_OK);
	memcpy(parts, plans[_i].parts, sizeof parts);
	p.uses = plans[_i].uses;
	p.part_days = plans[_i].nparts ? parts : NULL;
	p.n_part_days = plans[_i].nparts;
	make_reply(&r, &p, id);
	json_t *b = fhir_bundle(id, &r.rc, &p, r.infos, r.recs, 0);
	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < 2; i++) {
		json_t *mr = of_type(b, "MedicationRequest", i);
		json_t *dr = json_object_get(mr, "dispenseRequest");
		ck_assert_int_eq(json_integer_value(json_object_get(dr, "numberOfRepeatsAllowed")),
				 plans[_i].repeats);
		parts_of(dr, ext);
		ck_assert_str_eq(ext, plans[_i].ext);
		/* the items' own days of supply are still theirs */
		ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(dr, "expectedSupplyDuration"),
								     "value")),
				 p.items[i]->days);
		json_object_set_new(mr, "status", json_string("active"));
	}
	rx__prescription__init(&back);
	ck_assert_msg(fhir_to_prescription(b, NOW, &back, msg, sizeof msg) == RX_OK, "%s", msg);
	ck_assert_uint_eq(back.uses, plans[_i].uses);
	ck_assert_uint_eq(back.n_part_days, plans[_i].nparts);
	for (size_t k = 0; k < plans[_i].nparts; k++)
		ck_assert_uint_eq(back.part_days[k], plans[_i].parts[k]);
	/* ... and the broker's content rules take what was read. */
	uint8_t key[RX_KEY_LEN] = {1};
	const char *why = NULL;
	back.version = RX_DOC_VERSION;
	back.prescriber_key.data = key;
	back.prescriber_key.len = RX_KEY_LEN;
	ck_assert_msg(rx_check_prescription(&back, NOW, &why) == RX_OK, "%s", why);
	back.prescriber_key.data = NULL;
	back.prescriber_key.len = 0;
	fhir_prescription_free(&back);
	ck_assert_ptr_null(back.part_days);
	json_decref(b);
	p.part_days = NULL;
	p.n_part_days = 0;
	fhir_prescription_free(&p);
}
END_TEST

/* good.json with the members of set1 (JSON object text) put into entry[1]'s
 * dispenseRequest and those of set2 into entry[2]'s (NULL: set1's); a null
 * member removes the key.  Mapped at NOW. */
static rx_err_t map_dispense(const char *set1, const char *set2, Rx__Prescription *p, char msg[512])
{
	json_error_t e;
	json_t *b = load("good.json");
	for (size_t i = 1; i <= 2; i++) {
		const char *set = i == 2 && set2 ? set2 : set1;
		json_t *dr = json_object_get(json_object_get(json_array_get(json_object_get(b, "entry"), i),
							     "resource"),
					     "dispenseRequest");
		json_t *v = json_loads(set, 0, &e), *m;
		const char *k;
		ck_assert_msg(v != NULL, "%s: %s", set, e.text);
		json_object_foreach(v, k, m)
		{
			if (json_is_null(m))
				json_object_del(dr, k);
			else
				json_object_set(dr, k, m);
		}
		json_decref(v);
	}
	rx__prescription__init(p);
	rx_err_t err = fhir_to_prescription(b, NOW, p, msg, 512);
	json_decref(b);
	return err;
}

#define PART(days, unit) "{\"url\": \"" PARTS "\", \"valueDuration\": {\"value\": " #days ", \"unit\": \"" unit "\"}}"
#define NO_REPEATS "\"numberOfRepeatsAllowed\": null"

/* What other senders may write: weeks, repeats 0 said outright, other
 * extensions beside ours. */
static const struct {
	const char *set;
	uint32_t uses, parts[3];
} divided[] = {
	{"{" NO_REPEATS ", \"extension\": [" PART(14, "d") ", " PART(14, "days") "]}", 2, {14, 14}},
	{"{\"numberOfRepeatsAllowed\": 0, \"extension\": [" PART(2, "wk") ", " PART(1, "d") ", " PART(30, "日") "]}",
	 3, {14, 1, 30}},
	{"{" NO_REPEATS ", \"extension\": [{\"url\": \"http://example.org/other\", \"valueString\": \"x\"}, "
	 PART(10, "d") ", " PART(20, "d") "]}",
	 2, {10, 20}},
};

START_TEST(divided_accepted)
{
	Rx__Prescription p;
	char msg[512];
	rx_err_t err = map_dispense(divided[_i].set, NULL, &p, msg);
	ck_assert_msg(err == RX_OK, "%s: %s", divided[_i].set, msg);
	ck_assert_uint_eq(p.uses, divided[_i].uses);
	ck_assert_uint_eq(p.n_part_days, divided[_i].uses);
	for (size_t k = 0; k < p.n_part_days; k++)
		ck_assert_uint_eq(p.part_days[k], divided[_i].parts[k]);
	ck_assert_uint_eq(p.items[0]->days, 28); /* the items keep their own days */
	fhir_prescription_free(&p);
}
END_TEST

#define DR1 "entry[1].resource.dispenseRequest"
#define DR2 "entry[2].resource.dispenseRequest"
static const struct {
	const char *set1, *set2, *want;
} undivided[] = {
	/* a refill that is also divided: good.json allows one repeat */
	{"{\"extension\": [" PART(14, "d") ", " PART(14, "d") "]}", NULL,
	 DR1 ".numberOfRepeatsAllowed: a divided prescription (its parts in extension " PARTS
	     ") is not refilled as well"},
	{"{" NO_REPEATS ", \"extension\": [" PART(28, "d") "]}", NULL,
	 DR1 ".extension[0]: one part is the whole prescription"},
	{"{" NO_REPEATS ", \"extension\": [" PART(28, "d") ", {\"url\": \"http://example.org/x\"}]}", NULL,
	 DR1 ".extension[0]: one part is the whole prescription"},
	/* a huge number of weeks is no overflow, just too long */
	{"{" NO_REPEATS ", \"extension\": [" PART(14, "d") ", " PART(9223372036854775807, "wk") "]}", NULL,
	 DR1 ".extension[1].valueDuration.value: a part's days of supply must be 1..365"},
	{"{" NO_REPEATS ", \"extension\": [" PART(7, "d") ", " PART(7, "d") ", " PART(7, "d") ", " PART(7, "d") "]}",
	 NULL, DR1 ".extension[3]: a divided prescription has at most 3 parts"},
	{"{" NO_REPEATS ", \"extension\": [{\"url\": \"" PARTS "\", \"valueUnsignedInt\": 14}, " PART(14, "d") "]}",
	 NULL, DR1 ".extension[0]: required: valueDuration"},
	{"{" NO_REPEATS ", \"extension\": [" PART(14, "d") ", " PART(0, "d") "]}", NULL,
	 DR1 ".extension[1].valueDuration.value: must be a positive integer"},
	{"{" NO_REPEATS ", \"extension\": [" PART(14, "d") ", " PART(53, "wk") "]}", NULL,
	 DR1 ".extension[1].valueDuration.value: a part's days of supply must be 1..365"},
	{"{" NO_REPEATS ", \"extension\": [" PART(14, "d") ", " PART(1, "mo") "]}", NULL,
	 DR1 ".extension[1].valueDuration.unit: unsupported unit \"mo\""},
	{"{" NO_REPEATS ", \"extension\": [{\"url\": \"urn:rx-exchange:parts\", \"valueDuration\": {}}]}", NULL,
	 DR1 ".extension[0].url: unknown extension \"urn:rx-exchange:parts\""},
	{"{" NO_REPEATS ", \"extension\": {\"url\": \"" PARTS "\"}}", NULL, DR1 ".extension: must be an array"},
	/* the parts are per prescription */
	{"{" NO_REPEATS ", \"extension\": [" PART(14, "d") ", " PART(14, "d") "]}",
	 "{" NO_REPEATS ", \"extension\": [" PART(14, "d") ", " PART(21, "d") "]}",
	 DR2 ".extension: differs from entry 0's"},
	{"{" NO_REPEATS ", \"extension\": [" PART(14, "d") ", " PART(14, "d") "]}", "{" NO_REPEATS "}",
	 DR2 ".extension: differs from entry 0's"},
	/* what FHIR has for schedules, and the broker computes itself */
	{"{\"dispenseInterval\": {\"value\": 28, \"unit\": \"d\"}}", NULL,
	 DR1 ".dispenseInterval: cannot be carried: the broker opens each later use"},
	{"{\"initialFill\": {\"duration\": {\"value\": 14, \"unit\": \"d\"}}}", NULL,
	 DR1 ".initialFill: cannot be carried: a divided prescription"},
};

START_TEST(divided_refused)
{
	Rx__Prescription p;
	char msg[512];
	rx_err_t err = map_dispense(undivided[_i].set1, undivided[_i].set2, &p, msg);
	ck_assert_msg(err == RX_INVALID, "%s: %s (%s)", undivided[_i].set1, rx_err_name(err), msg);
	ck_assert_msg(strncmp(msg, undivided[_i].want, strlen(undivided[_i].want)) == 0, "%s: got \"%s\"",
		      undivided[_i].set1, msg);
	ck_assert_ptr_null(p.items);
	ck_assert_ptr_null(p.part_days);
}
END_TEST

/* The sample a clinic's EMR can start from: two items, in two parts. */
START_TEST(divided_sample_bundle)
{
	Rx__Prescription p;
	char msg[512];
	ck_assert_msg(map("good-divided.json", NOW, &p, msg) == RX_OK, "%s", msg);
	ck_assert_uint_eq(p.uses, 2);
	ck_assert_uint_eq(p.n_part_days, 2);
	ck_assert_uint_eq(p.part_days[0], 14);
	ck_assert_uint_eq(p.part_days[1], 14);
	fhir_prescription_free(&p);
}
END_TEST

/* ---- inquiries (proto/README 5.14; docs/FHIR.md "Inquiries") ---- */

/* The fullUrl of the nth resource of type in bundle, or "". */
static const char *url_of(json_t *bundle, const char *type, size_t nth)
{
	json_t *e;
	size_t i;
	json_array_foreach(json_object_get(bundle, "entry"), i, e)
	{
		json_t *res = json_object_get(e, "resource");
		if (strcmp(str_at(res, "resourceType"), type) == 0 && nth-- == 0)
			return str_at(e, "fullUrl");
	}
	return "";
}

/* The code of system in concept c, or "". */
static const char *code_in(json_t *c, const char *system)
{
	json_t *coding;
	size_t i;
	json_array_foreach(json_object_get(c, "coding"), i, coding)
		if (strcmp(str_at(coding, "system"), system) == 0)
			return str_at(coding, "code");
	return "";
}

/* Inquiry 1 (dose, proposing another product for item 2) answered accept by
 * the prescriber, inquiry 2 settled by telephone (keep): four
 * Communications, each basedOn the requests it is about, the answers
 * inResponseTo their questions, the reasons and answers in our code
 * systems, the telephone as the medium. */
START_TEST(inquiries_out)
{
	Rx__Prescription p;
	reply_t r;
	char msg[512];
	const char *id = "6WKB-26ZF-S6A5";
	ck_assert_int_eq(map("good.json", NOW, &p, msg), RX_OK);
	make_reply(&r, &p, id);

	Rx__Item other = *p.items[1];
	other.drug_code = (char *)"2171022F1029";
	Rx__Change ch = RX__CHANGE__INIT, *chs[1] = {&ch};
	ch.item = 2;
	ch.to = &other;
	Rx__Inquiry q1 = RX__INQUIRY__INIT, q2 = RX__INQUIRY__INIT;
	q1.reason = RX__INQUIRY_REASON__INQUIRY_DOSE;
	q1.text = (char *)"pulse 52: 2.5 mg?";
	q1.proposed = chs;
	q1.n_proposed = 1;
	Rx__InquiryReply a1 = RX__INQUIRY_REPLY__INIT;
	a1.inquiry = 1;
	a1.answer = RX__ANSWER__ANSWER_ACCEPT;
	a1.text = (char *)"yes";
	a1.agreed = chs;
	a1.n_agreed = 1;
	q2.reason = RX__INQUIRY_REASON__INQUIRY_LEFTOVER;
	q2.text = (char *)"she has 10 left";
	q2.by_phone = 1;
	q2.phoned = (char *)"Dr. Sato";
	q2.phoned_at = AUTHORED + 7200;
	q2.outcome = RX__ANSWER__ANSWER_KEEP;
	/* As rxc_status hands them over: the signed calls, decoded. */
	Rx__Call c_1 = RX__CALL__INIT, c_1a = RX__CALL__INIT, c_2 = RX__CALL__INIT;
	c_1.inquiry = &q1;
	c_1a.inquiry_reply = &a1;
	c_2.inquiry = &q2;
	Rx__Call *asked[2] = {&c_1, &c_2}, *answered[2] = {&c_1a, NULL};
	Rx__InquiryInfo i1 = RX__INQUIRY_INFO__INIT, i2 = RX__INQUIRY_INFO__INIT, *infos[2] = {&i1, &i2};
	i1.number = 1;
	i1.at = AUTHORED + 3600;
	i1.institution_code = (char *)"1398765432";
	i1.replied_at = AUTHORED + 5400;
	i2.number = 2;
	i2.at = AUTHORED + 7300;
	i2.institution_code = (char *)"1398765432";
	Rx__Reply reply = RX__REPLY__INIT;
	reply.inquiries = infos;
	reply.n_inquiries = 2;
	rxc_result_t res = {.reply = &reply, .asked = asked, .answered = answered, .n_inquiries = 2};

	json_t *b = fhir_bundle(id, &r.rc, &p, r.infos, r.recs, 0);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(fhir_add_inquiries(b, id, "1312345678", p.n_items, &res), 0);
	json_t *c1 = of_type(b, "Communication", 0), *c1a = of_type(b, "Communication", 1),
	       *c2 = of_type(b, "Communication", 2), *c2a = of_type(b, "Communication", 3);
	ck_assert_ptr_nonnull(c2a);
	ck_assert_ptr_null(of_type(b, "Communication", 4));

	/* The question: from the pharmacy to the clinic, about item 2. */
	ck_assert_str_eq(str_at(c1, "id"), "inquiry-1");
	ck_assert_str_eq(str_at(c1, "status"), "completed");
	ck_assert_str_eq(str_at(c1, "sent"), "2026-03-02T11:15:00+09:00");
	ck_assert_str_eq(code_in(json_array_get(json_object_get(c1, "reasonCode"), 0), FHIR_SYSTEM_INQUIRY_REASON), "dose");
	ck_assert_uint_eq(json_array_size(json_object_get(c1, "basedOn")), 1);
	ck_assert_str_eq(str_at(json_array_get(json_object_get(c1, "basedOn"), 0), "reference"),
			 url_of(b, "MedicationRequest", 1));
	ck_assert_str_eq(str_at(json_object_get(json_object_get(c1, "sender"), "identifier"), "value"), "1398765432");
	ck_assert_str_eq(str_at(json_object_get(json_array_get(json_object_get(c1, "recipient"), 0), "identifier"),
				"value"),
			 "1312345678");
	ck_assert_str_eq(str_at(json_array_get(json_object_get(c1, "payload"), 0), "contentString"), "pulse 52: 2.5 mg?");
	ck_assert_msg(strncmp(str_at(json_array_get(json_object_get(c1, "payload"), 1), "contentString"),
			      "item 2: 2171022F1029 ", 21) == 0,
		      "%s", str_at(json_array_get(json_object_get(c1, "payload"), 1), "contentString"));
	ck_assert_str_eq(str_at(json_object_get(c1, "subject"), "reference"), url_of(b, "Patient", 0));

	/* The answer: from the clinic, in response to it, accept. */
	ck_assert_str_eq(str_at(c1a, "id"), "inquiry-1-answer");
	ck_assert_str_eq(str_at(json_array_get(json_object_get(c1a, "inResponseTo"), 0), "reference"),
			 url_of(b, "Communication", 0));
	ck_assert_str_eq(code_in(json_array_get(json_object_get(c1a, "category"), 0), FHIR_SYSTEM_INQUIRY_ANSWER),
			 "accept");
	ck_assert_str_eq(str_at(json_object_get(json_object_get(c1a, "sender"), "identifier"), "value"), "1312345678");
	ck_assert_str_eq(str_at(c1a, "sent"), "2026-03-02T11:45:00+09:00");
	ck_assert_ptr_null(json_object_get(c1a, "medium"));

	/* By telephone: no proposal, so about every request; the answer the
	 * pharmacist recorded, keep. */
	ck_assert_str_eq(code_in(json_array_get(json_object_get(c2, "reasonCode"), 0), FHIR_SYSTEM_INQUIRY_REASON),
			 "leftover");
	ck_assert_uint_eq(json_array_size(json_object_get(c2, "basedOn")), p.n_items);
	ck_assert_str_eq(code_in(json_array_get(json_object_get(c2, "medium"), 0), FHIR_PARTICIPATION_MODE), "PHONE");
	ck_assert_str_eq(code_in(json_array_get(json_object_get(c2a, "category"), 0), FHIR_SYSTEM_INQUIRY_ANSWER),
			 "keep");
	ck_assert_str_eq(code_in(json_array_get(json_object_get(c2a, "medium"), 0), FHIR_PARTICIPATION_MODE), "PHONE");
	ck_assert_str_eq(str_at(c2a, "sent"), "2026-03-02T12:15:00+09:00");
	ck_assert_str_eq(str_at(json_array_get(json_object_get(c2a, "inResponseTo"), 0), "reference"),
			 url_of(b, "Communication", 2));

	/* An inquiry without its question is refused, not written half. */
	asked[1] = NULL;
	json_t *b2 = fhir_bundle(id, &r.rc, &p, r.infos, r.recs, 0);
	ck_assert_int_eq(fhir_add_inquiries(b2, id, "1312345678", p.n_items, &res), -1);
	json_decref(b2);

	json_decref(b);
	fhir_prescription_free(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fhir");
	TCase *tc = tcase_create("mapping");
	tcase_add_test(tc, good_transaction_bundle);
	tcase_add_test(tc, good_collection_bundle);
	tcase_add_loop_test(tc, unmappable_bundles, 0, (int)(sizeof refused / sizeof refused[0]));
	tcase_add_test(tc, authored_on_must_be_now);
	tcase_add_test(tc, status_bundle_round_trip);
	tcase_add_loop_test(tc, marks_round_trip, 0, 12);
	tcase_add_loop_test(tc, substitution_accepted, 0, (int)(sizeof accepted / sizeof accepted[0]));
	tcase_add_loop_test(tc, substitution_refused, 0, (int)(sizeof contradictory / sizeof contradictory[0]));
	tcase_add_test(tc, dispense_lines_out);
	tcase_add_loop_test(tc, dispense_line_reasons, 0, (int)(sizeof reason_cases / sizeof reason_cases[0]));
	tcase_add_test(tc, amended_dispense_out);
	tcase_add_loop_test(tc, withdrawn_dispense_out, 0, (int)(sizeof withdrawals / sizeof withdrawals[0]));
	tcase_add_test(tc, withdrawn_and_dispensed_again_out);
	tcase_add_test(tc, partial_fill_out);
	tcase_add_loop_test(tc, plan_round_trip, 0, (int)(sizeof plans / sizeof plans[0]));
	tcase_add_loop_test(tc, divided_accepted, 0, (int)(sizeof divided / sizeof divided[0]));
	tcase_add_loop_test(tc, divided_refused, 0, (int)(sizeof undivided / sizeof undivided[0]));
	tcase_add_test(tc, divided_sample_bundle);
	tcase_add_test(tc, inquiries_out);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
