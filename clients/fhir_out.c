/* fhir_out: a STATUS reply (the receipt, the verified prescription and its
 * dispense records) as a FHIR R4 Bundle of MedicationRequests and
 * MedicationDispenses (fhir_bundle, fhir_print_status; see fhir.h and
 * docs/FHIR.md).  A resource's id is derived from the prescription id
 * (resource_urn), so it is the same in every Bundle of that prescription. */
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

static const char *request_status(const Rx__Receipt *rc)
{
	switch (rc->state) {
	case RX__STATE__ISSUED:
	case RX__STATE__CLAIMED:
		return "active";
	case RX__STATE__DISPENSED:
		return "completed";
	case RX__STATE__CANCELLED_STATE:
		return rc->uses_left == rc->uses ? "cancelled" : "stopped";
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

json_t *fhir_bundle(const char *id, const Rx__Receipt *rc, const Rx__Prescription *p,
		    Rx__DispenseInfo *const *infos, Rx__DispenseRecord *const *records, size_t n)
{
	char t[32], end[32], rid[48], patient_urn[46], urn[46];
	char (*req_urn)[46] = calloc(p->n_items ? p->n_items : 1, sizeof *req_urn);
	json_t *entries = json_array(), *patient = json_pack("{s:s}", "resourceType", "Patient");
	if (req_urn == NULL || entries == NULL || patient == NULL) {
		free(req_urn);
		json_decref(entries);
		json_decref(patient);
		return NULL;
	}
	if (p->patient_id[0])
		json_object_set_new(patient, "identifier",
				    json_pack("[{s:s, s:s}]", "system", FHIR_SYSTEM_PATIENT, "value",
					      p->patient_id));
	json_array_append_new(entries, entry_of(id, "patient", patient, patient_urn));

	cli_time(p->issued_at, t);
	validity_end(p->valid_until, end);
	for (size_t i = 0; i < p->n_items; i++) {
		const Rx__Item *it = p->items[i];
		json_t *dr = json_pack("{s:{s:s, s:s}, s:I, s:{s:I, s:s}, s:o}", "validityPeriod", "start",
				       t, "end", end, "numberOfRepeatsAllowed",
				       (json_int_t)(p->uses ? p->uses - 1 : 0), "quantity", "value",
				       (json_int_t)it->quantity, "unit", it->unit,
				       "expectedSupplyDuration", days_json(it->days));
		json_t *mr = json_pack(
			"{s:s, s:{s:s, s:s}, s:s, s:s, s:o, s:{s:s}, s:s, s:o, s:[o], s:o}", "resourceType",
			"MedicationRequest", "groupIdentifier", "system", FHIR_SYSTEM_PRESCRIPTION,
			"value", id, "status", request_status(rc), "intent", "order",
			"medicationCodeableConcept", medication_json(it), "subject", "reference",
			patient_urn, "authoredOn", t, "requester", org_ref(rc->institution_code),
			"dosageInstruction", dosage_json(it), "dispenseRequest", dr);
		if (mr == NULL)
			goto fail;
		if (rc->state == RX__STATE__EXPIRED_STATE)
			json_object_set_new(mr, "statusReason", json_pack("{s:s}", "text", "expired"));
		if (p->notes[0])
			json_object_set_new(mr, "note", json_pack("[{s:s}]", "text", p->notes));
		snprintf(rid, sizeof rid, "request-%zu", i + 1);
		json_array_append_new(entries, entry_of(id, rid, mr, req_urn[i]));
	}

	/* One MedicationDispense per item handed over at each use. */
	for (size_t u = 0; u < n; u++) {
		const Rx__DispenseRecord *d = records[u];
		cli_time(infos[u]->at, t);
		for (size_t k = 0; k < d->n_items; k++) {
			const Rx__Item *it = d->items[k];
			/* The request of the same drug; by its place if substituted. */
			size_t m = k < p->n_items ? k : 0;
			for (size_t j = 0; j < p->n_items; j++)
				if (strcmp(p->items[j]->drug_code, it->drug_code) == 0) {
					m = j;
					break;
				}
			json_t *md = json_pack(
				"{s:s, s:s, s:o, s:{s:s}, s:[{s:o}], s:[{s:s, s:{s:s, s:s}}], s:{s:I, s:s},"
				" s:o, s:s, s:[o]}",
				"resourceType", "MedicationDispense", "status", "completed",
				"medicationCodeableConcept", medication_json(it), "subject", "reference",
				patient_urn, "performer", "actor", org_ref(infos[u]->institution_code),
				"authorizingPrescription", "reference", req_urn[m], "identifier", "system",
				FHIR_SYSTEM_PRESCRIPTION, "value", id, "quantity",
				"value", (json_int_t)it->quantity, "unit", it->unit, "daysSupply",
				days_json(it->days), "whenHandedOver", t, "dosageInstruction",
				dosage_json(it));
			if (md == NULL)
				goto fail;
			if (d->notes[0])
				json_object_set_new(md, "note", json_pack("[{s:s}]", "text", d->notes));
			snprintf(rid, sizeof rid, "dispense-%u-%zu", infos[u]->use, k + 1);
			json_array_append_new(entries, entry_of(id, rid, md, urn));
		}
	}
	free(req_urn);
	cli_time(rc->at, t);
	return json_pack("{s:s, s:s, s:s, s:o}", "resourceType", "Bundle", "type", "collection",
			 "timestamp", t, "entry", entries);
fail:
	free(req_urn);
	json_decref(entries);
	return NULL;
}

int fhir_print_status(rxc_result_t *r, const char *broker, const char *id)
{
	if (r->status != RX_OK || r->prescription == NULL)
		return cli_print_result(r, NULL, broker, id);
	json_t *b = fhir_bundle(r->receipt->prescription_id, r->receipt, r->prescription,
				r->reply->dispenses, r->dispenses, r->n_dispenses);
	char *s = b ? json_dumps(b, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
	json_decref(b);
	rxc_result_free(r);
	if (s == NULL)
		return cli_fail("out of memory");
	puts(s);
	free(s);
	return fflush(stdout) == 0 ? 0 : 1;
}
