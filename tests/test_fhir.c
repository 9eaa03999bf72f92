/* Unit: the FHIR mapping (clients/fhir_in.c, clients/fhir_out.c) from the
 * sample bundles in tests/data/fhir, both directions.  Each unmappable bundle must be refused
 * INVALID with the JSON path of its one defect. */
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

int main(void)
{
	Suite *s = suite_create("fhir");
	TCase *tc = tcase_create("mapping");
	tcase_add_test(tc, good_transaction_bundle);
	tcase_add_test(tc, good_collection_bundle);
	tcase_add_loop_test(tc, unmappable_bundles, 0, (int)(sizeof refused / sizeof refused[0]));
	tcase_add_test(tc, authored_on_must_be_now);
	tcase_add_test(tc, status_bundle_round_trip);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
