/* fhir: HL7 FHIR R4 at the edges of rx-exchange (docs/FHIR.md is the
 * mapping, field by field).
 *
 * In: a Bundle (type collection or transaction) with one MedicationRequest
 * per item becomes the Prescription a clinic signs (rx-clinic submit
 * --fhir), substitution marks included.  Out: a STATUS reply, the
 * prescription and its dispense records, becomes a Bundle of
 * MedicationRequests and MedicationDispenses (status --fhir), one
 * MedicationDispense per line of a record (per item of a record stored
 * before lines), an amended or withdrawn record's entered-in-error or
 * cancelled, a part's marked with its number.  There is no FHIR reader for dispense records.  Nothing
 * is guessed: what cannot be carried faithfully is refused with the JSON
 * path of the problem, before anything is signed. */
#ifndef FHIR_H
#define FHIR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rx.pb-c.h"
#include "rx_err.h"
#include "rxclient.h"

/* The drug code's coding system: the YJ code, as JP Core slices
 * medicationCodeableConcept.coding.  On input the MHLW price-list code
 * system (薬価基準収載医薬品コード, same 12 characters and check digit) is
 * accepted too when no YJ coding is given. */
#define FHIR_SYSTEM_YJ "urn:oid:1.2.392.100495.20.1.73"
#define FHIR_SYSTEM_PRICE_LIST "urn:oid:1.2.392.100495.20.1.72"
/* rx-exchange's own identifiers: the patient pseudonym, the prescription
 * id and institution codes. */
#define FHIR_SYSTEM_PATIENT "urn:rx-exchange:patient-id"
#define FHIR_SYSTEM_PRESCRIPTION "urn:rx-exchange:prescription-id"
#define FHIR_SYSTEM_INSTITUTION "urn:rx-exchange:institution-code"
#define FHIR_UCUM "http://unitsofmeasure.org"
/* rx-exchange's own codes (docs/FHIR.md lists them): the prescriber's
 * substitution marks on an item (MedicationRequest.substitution), and why a
 * dispensed line was substituted or not dispensed (MedicationDispense). */
#define FHIR_SYSTEM_SUBSTITUTION_MARK "urn:rx-exchange:substitution-mark"
#define FHIR_SYSTEM_LINE_REASON "urn:rx-exchange:line-reason"
/* Ours too: why a MedicationDispense is entered-in-error or cancelled (its
 * record amended, or withdrawn for a reason; proto/README 5.12). */
#define FHIR_SYSTEM_SUPERSEDED "urn:rx-exchange:superseded"
/* Our extension on MedicationRequest.dispenseRequest: one per part of a
 * divided prescription (分割調剤, Prescription.part_days), in order, each a
 * valueDuration of days (docs/FHIR.md "Refills and divided prescriptions"). */
#define FHIR_EXT_PART_DAYS "urn:rx-exchange:part-days"
/* Our extensions on a MedicationDispense of a use handed over in parts
 * (proto/README 5.13): the part it was handed over in (valueUnsignedInt),
 * and on one that left some owed, why (valueCodeableConcept, a line
 * reason); docs/FHIR.md "Partial fills". */
#define FHIR_EXT_DISPENSE_PART "urn:rx-exchange:dispense-part"
#define FHIR_EXT_PARTIAL_REASON "urn:rx-exchange:partial-reason"
/* Ours: why a pharmacy asked the prescriber (疑義照会, proto/README 5.14),
 * and what the prescriber answered; HL7 v3 ParticipationMode for an
 * inquiry settled by telephone (docs/FHIR.md "Inquiries"). */
#define FHIR_SYSTEM_INQUIRY_REASON "urn:rx-exchange:inquiry-reason"
#define FHIR_SYSTEM_INQUIRY_ANSWER "urn:rx-exchange:inquiry-answer"
#define FHIR_PARTICIPATION_MODE "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
/* HL7 v3 codes written beside ours where one means the same, and v3
 * ActPharmacySupplyType (ActCode) for the MedicationDispenses of a part. */
#define FHIR_SYSTEM_V3_SUBSTITUTION "http://terminology.hl7.org/CodeSystem/v3-substanceAdminSubstitution"
#define FHIR_SYSTEM_V3_ACT_REASON "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#define FHIR_SYSTEM_V3_ACT_CODE "http://terminology.hl7.org/CodeSystem/v3-ActCode"
/* Item.dose when a MedicationRequest gives no doseAndRate (and back). */
#define FHIR_DOSE_AS_DIRECTED "as directed"

/* Map bundle to a prescription to be submitted at time now.  Sets
 * patient_id ("" unless a Patient in the bundle carries the pseudonym),
 * issued_at, valid_until, uses, part_days (a divided prescription), items
 * (with their substitution marks) and notes of *p and leaves its other
 * fields alone.  RX_OK: those strings, part_days and items are heap memory
 * owned by *p until fhir_prescription_free.  RX_INVALID: msg is "PATH: reason" (PATH a
 * JSON path into the bundle, e.g. entry[2].resource.dispenseRequest) and
 * *p holds nothing to free.  RX_SYSTEM: out of memory. */
rx_err_t fhir_to_prescription(const json_t *bundle, int64_t now, Rx__Prescription *p, char *msg,
			      size_t msglen) RX_MUST_CHECK;

/* Free what fhir_to_prescription put into p (and reset those fields).
 * p's part_days must be NULL or fhir_to_prescription's. */
void fhir_prescription_free(Rx__Prescription *p);

/* The Bundle for prescription id as a STATUS told it: rc the receipt, p the
 * verified prescription, infos and records the n dispense records (records[i]
 * decoded from infos[i]) in the reply's order: each use's records together,
 * the last current, each before it superseded by the next (proto/README
 * 5.12).  Caller owns the result; NULL if out of memory. */
json_t *fhir_bundle(const char *id, const Rx__Receipt *rc, const Rx__Prescription *p,
		    Rx__DispenseInfo *const *infos, Rx__DispenseRecord *const *records, size_t n);

/* Add to bundle (fhir_bundle's, for prescription id issued by institution
 * clinic with n_items items) the n inquiries of a verified STATUS
 * (Reply.inquiries, proto/README 5.14): each a Communication from the
 * pharmacy to the clinic (reasonCode in urn:rx-exchange:inquiry-reason,
 * the text and proposed changes as payload, basedOn the MedicationRequests
 * the changes name), its answer (the prescriber's, or one agreed by
 * telephone) a Communication inResponseTo it (category in
 * urn:rx-exchange:inquiry-answer).  docs/FHIR.md "Inquiries".  r is a
 * verified STATUS (rxc_status decoded the calls).  0, or -1 if out of
 * memory (bundle then holds the inquiries before it). */
int fhir_add_inquiries(json_t *bundle, const char *id, const char *clinic, size_t n_items,
		       const rxc_result_t *r);

/* status ID --fhir: on OK print fhir_bundle of r on stdout (the Bundle is
 * the whole output), else the usual JSON of the refusal.  Frees r; returns
 * the exit code (cli_print_result's). */
int fhir_print_status(rxc_result_t *r, const char *broker, const char *id);

#endif
