/* Integration: FHIR at the edges, for real.  The real rx-clinic submits a
 * FHIR Bundle (tests/data/fhir/good.json, its times moved to now) to a real
 * rxd; the real rx-pharmacy claims and dispenses both uses; status --fhir
 * must then give back the MedicationRequests as submitted and one
 * MedicationDispense per line (each item, as written) at each use.  The
 * prescriber's substitution marks travel through rxd and back, and so do a
 * divided prescription's parts (good-divided.json, docs/FHIR.md); a use
 * handed over in parts is read back as its parts' MedicationDispenses. */
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "harness.h"
#include "rx_ids.h"
#include "testutil.h"

#define CLINIC "1312345678"
#define PHARMACY "1398765432"
#define OTHER_PHARMACY "1311112222"

typedef struct {
	harness_t h;
	char dir[TU_PATH_MAX];
	char patient[RX_PATIENT_ID_LEN + 1];
	char server[RX_Z85_LEN + 1];
} world_t;

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* kp's key file (its seed, as rx-keygen writes it) into dir/name. */
static void key_file(const world_t *w, const char *name, const rx_keypair_t *kp)
{
	char path[256], hex[2 * RX_SEED_LEN + 2];
	rx_hex(kp->sk, RX_SEED_LEN, hex); /* libsodium's secret key starts with the seed */
	strcat(hex, "\n");
	snprintf(path, sizeof path, "%s/%s", w->dir, name);
	write_file(path, hex);
}

static void curve_file(world_t *w, const char *name, const char *code, int kind)
{
	char path[256], text[128], pub[RX_Z85_LEN + 1], sec[RX_Z85_LEN + 1];
	harness_inst_t *in = harness_institution(&w->h, code, kind);
	ck_assert_ptr_nonnull(in);
	rx_z85_encode(in->curve.pk, pub);
	rx_z85_encode(in->curve.sk, sec);
	snprintf(text, sizeof text, "public = %s\nsecret = %s\n", pub, sec);
	snprintf(path, sizeof path, "%s/%s", w->dir, name);
	write_file(path, text);
}

static void world_up(world_t *w)
{
	rx_keypair_t doc, ph, ph2, card;
	memset(w, 0, sizeof *w);
	tu_subdir(w->dir);
	ck_assert_int_eq(harness_start(&w->h, 0), 0);
	ck_assert_int_eq(harness_key(&w->h, &doc, RX_ROLE_PRESCRIBER, CLINIC), 0);
	ck_assert_int_eq(harness_key(&w->h, &ph, RX_ROLE_PHARMACY, PHARMACY), 0);
	ck_assert_int_eq(harness_key(&w->h, &ph2, RX_ROLE_PHARMACY, OTHER_PHARMACY), 0);
	ck_assert_int_eq(harness_enroll(&w->h, "123456789018", w->patient), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient, &card), 0);
	key_file(w, "doc.key", &doc);
	key_file(w, "ph.key", &ph);
	key_file(w, "ph2.key", &ph2);
	key_file(w, "hanako.card", &card);
	curve_file(w, "clinic.curve", CLINIC, 1);
	curve_file(w, "pharmacy.curve", PHARMACY, 2);
	curve_file(w, "pharmacy2.curve", OTHER_PHARMACY, 2);
	rx_z85_encode(w->h.server_key, w->server);
}

static char out[1 << 20];

/* Run the real CLI (env var tool: its path) in w's dir with the connection
 * options of who ("doc", "ph", "ph2") and args; its stdout into out.
 * Returns its exit status. */
static int run(const world_t *w, const char *tool, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int run(const world_t *w, const char *tool, const char *who, const char *fmt, ...)
{
	char args[1024], cmd[4096];
	const char *curve = !strcmp(who, "doc") ? "clinic" : !strcmp(who, "ph") ? "pharmacy" : "pharmacy2";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd,
		 "cd '%s' && '%s' --broker '%s' --key %s.key --curve-key %s.curve --server-key '%s' %s "
		 "2>/dev/null",
		 w->dir, getenv(tool), w->h.endpoint, who, curve, w->server, args);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static json_t *parsed(void)
{
	json_error_t e;
	json_t *j = json_loads(out, 0, &e);
	ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, out);
	return j;
}

static const char *str_of(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void jst(int64_t t, char buf[32], int date_only)
{
	time_t x = (time_t)(t + 9 * 3600);
	struct tm tm;
	gmtime_r(&x, &tm);
	strftime(buf, 32, date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%S+09:00", &tm);
}

/* tests/data/fhir/NAME with its times moved to now and the patient's
 * pseudonym set to pid, written to w's dir as NAME. */
static void bundle_now(const world_t *w, const char *name, const char *pid)
{
	char path[512], now_s[32], start[32], end[32];
	json_error_t e;
	snprintf(path, sizeof path, "%s/%s", getenv("FHIR_DATA"), name);
	json_t *b = json_load_file(path, 0, &e), *entry;
	ck_assert_ptr_nonnull(b);
	int64_t now = (int64_t)time(NULL);
	jst(now, now_s, 0);
	jst(now, start, 1);
	jst(now + 3 * 86400, end, 1);
	size_t i;
	json_array_foreach(json_object_get(b, "entry"), i, entry)
	{
		json_t *res = json_object_get(entry, "resource");
		if (!strcmp(str_of(res, "resourceType"), "Patient")) {
			json_t *id = json_array_get(json_object_get(res, "identifier"), 1);
			json_object_set_new(id, "value", json_string(pid));
		} else if (!strcmp(str_of(res, "resourceType"), "MedicationRequest")) {
			json_t *vp = json_object_get(json_object_get(res, "dispenseRequest"), "validityPeriod");
			json_object_set_new(res, "authoredOn", json_string(now_s));
			json_object_set_new(vp, "start", json_string(start));
			json_object_set_new(vp, "end", json_string(end));
		}
	}
	snprintf(path, sizeof path, "%s/%s", w->dir, name);
	ck_assert_int_eq(json_dump_file(b, path, 0), 0);
	json_decref(b);
}

static json_t *resource(const json_t *bundle, const char *type, size_t nth)
{
	json_t *e;
	size_t i;
	json_array_foreach(json_object_get(bundle, "entry"), i, e)
	{
		json_t *res = json_object_get(e, "resource");
		if (!strcmp(str_of(res, "resourceType"), type) && nth-- == 0)
			return res;
	}
	return NULL;
}

static json_int_t int_at(const json_t *o, const char *k1, const char *k2)
{
	return json_integer_value(json_object_get(json_object_get(o, k1), k2));
}

static const char *code_of(const json_t *res)
{
	const json_t *c = json_array_get(
		json_object_get(json_object_get(res, "medicationCodeableConcept"), "coding"), 0);
	return str_of(c, "code");
}

/* Claim and dispense one use at the pharmacy (the card at its counter). */
static void claim_and_dispense(const world_t *w, const char *id, int use)
{
	char token[64];
	ck_assert_int_eq(run(w, "RX_PHARMACY", "ph", "--card hanako.card --institution %s claim %s",
			     PHARMACY, id),
			 0);
	json_t *j = parsed();
	snprintf(token, sizeof token, "%s", str_of(j, "claim"));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "use")), use);
	json_decref(j);
	ck_assert_int_eq(run(w, "RX_PHARMACY", "ph", "dispense %s --claim %s", id, token), 0);
	j = parsed();
	ck_assert_str_eq(str_of(j, "status"), "OK");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "use")), use);
	json_decref(j);
}

/* What status --fhir must show after the first of two uses: the requests
 * as submitted, still active, and two dispenses (two items at use 1). */
static void check_bundle(const char *id, int64_t t0)
{
	json_t *b = parsed();
	static const char *const codes[] = {"2171022F2025", "2189017F1022"};
	ck_assert_str_eq(str_of(b, "resourceType"), "Bundle");
	for (size_t i = 0; i < 2; i++) {
		json_t *mr = resource(b, "MedicationRequest", i);
		ck_assert_ptr_nonnull(mr);
		ck_assert_str_eq(code_of(mr), codes[i]);
		ck_assert_str_eq(str_of(mr, "status"), "active");
		ck_assert_str_eq(str_of(json_object_get(mr, "groupIdentifier"), "value"), id);
		json_t *dr = json_object_get(mr, "dispenseRequest");
		ck_assert_int_eq(int_at(dr, "quantity", "value"), 28);
		ck_assert_int_eq(int_at(dr, "expectedSupplyDuration", "value"), 28); /* 28 d; 4 wk */
		ck_assert_int_eq(json_integer_value(json_object_get(dr, "numberOfRepeatsAllowed")), 1);
	}
	ck_assert_ptr_null(resource(b, "MedicationRequest", 2));
	/* the patient's pseudonym, as the bundle named it */
	json_t *pt = resource(b, "Patient", 0);
	ck_assert_ptr_nonnull(pt);

	char lo[32], hi[32];
	jst(t0 - 1, lo, 0);
	jst((int64_t)time(NULL) + 1, hi, 0);
	for (size_t k = 0; k < 2; k++) {
		json_t *md = resource(b, "MedicationDispense", k);
		ck_assert_ptr_nonnull(md);
		ck_assert_str_eq(str_of(md, "status"), "completed");
		ck_assert_str_eq(code_of(md), codes[k % 2]);
		ck_assert_int_eq(int_at(md, "quantity", "value"), 28);
		ck_assert_int_eq(int_at(md, "daysSupply", "value"), 28);
		ck_assert_str_eq(str_of(json_object_get(md, "daysSupply"), "code"), "d");
		/* Japan time, between the submit and now (same format: compares as text) */
		const char *when = str_of(md, "whenHandedOver");
		ck_assert_msg(strcmp(when, lo) >= 0 && strcmp(when, hi) <= 0, "%s not in [%s, %s]", when, lo, hi);
		json_t *actor = json_object_get(json_array_get(json_object_get(md, "performer"), 0), "actor");
		ck_assert_str_eq(str_of(json_object_get(actor, "identifier"), "value"), PHARMACY);
		json_t *auth = json_array_get(json_object_get(md, "authorizingPrescription"), 0);
		ck_assert_str_eq(str_of(json_object_get(auth, "identifier"), "value"), id);
		/* a record with lines (each item as written), not one stored before them */
		json_t *sub = json_object_get(md, "substitution");
		ck_assert_ptr_nonnull(sub);
		ck_assert(json_is_false(json_object_get(sub, "wasSubstituted")));
	}
	ck_assert_ptr_null(resource(b, "MedicationDispense", 2));
	json_decref(b);
}

START_TEST(bundle_round_trip_over_rxd)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	int64_t t0 = (int64_t)time(NULL);
	world_up(&w);
	bundle_now(&w, "good.json", w.patient);

	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc",
			     "--card hanako.card --institution %s submit --fhir good.json", CLINIC),
			 0);
	json_t *j = parsed();
	ck_assert_str_eq(str_of(j, "status"), "OK");
	ck_assert_str_eq(str_of(j, "patient_id"), w.patient);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "uses")), 2);
	snprintf(id, sizeof id, "%s", str_of(j, "id"));
	json_decref(j);

	/* Before any dispense: the requests, active, and no dispense. */
	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc", "status %s --fhir", id), 0);
	j = parsed();
	ck_assert_str_eq(str_of(resource(j, "MedicationRequest", 0), "status"), "active");
	ck_assert_ptr_null(resource(j, "MedicationDispense", 0));
	json_decref(j);

	claim_and_dispense(&w, id, 1);
	/* the refill's second use is due when the 28 days run out (5.11) */
	ck_assert_int_eq(run(&w, "RX_PHARMACY", "ph", "--card hanako.card --institution %s claim %s",
			     PHARMACY, id),
			 2);
	j = parsed();
	ck_assert_str_eq(str_of(j, "status"), "NOT_YET_DUE");
	ck_assert_ptr_nonnull(strstr(str_of(j, "message"), "use 2 of this prescription opens on"));
	json_decref(j);

	/* The dispensing pharmacy, without proof, and the issuer see the same. */
	ck_assert_int_eq(run(&w, "RX_PHARMACY", "ph", "status %s --fhir", id), 0);
	check_bundle(id, t0);
	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc", "status %s --fhir", id), 0);
	check_bundle(id, t0);

	/* Another pharmacy without the card may not read it: the usual refusal. */
	ck_assert_int_eq(run(&w, "RX_PHARMACY", "ph2", "status %s --fhir", id), 2);
	j = parsed();
	ck_assert_str_eq(str_of(j, "status"), "PERMISSION_DENIED");
	json_decref(j);
	/* With the card it may, and sees the dispenses of the other pharmacy. */
	ck_assert_int_eq(run(&w, "RX_PHARMACY", "ph2", "--card hanako.card --institution %s status %s --fhir",
			     OTHER_PHARMACY, id),
			 0);
	check_bundle(id, t0);
	harness_cleanup(&w.h);
}
END_TEST

/* Set entry[i].resource.substitution of the bundle w's dir holds as name. */
static void set_substitution(const world_t *w, const char *name, size_t i, const char *sub)
{
	char path[512];
	json_error_t e;
	snprintf(path, sizeof path, "%s/%s", w->dir, name);
	json_t *b = json_load_file(path, 0, &e), *v = json_loads(sub, 0, &e);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(v);
	json_t *res = json_object_get(json_array_get(json_object_get(b, "entry"), i), "resource");
	ck_assert_int_eq(json_object_set_new(res, "substitution", v), 0);
	ck_assert_int_eq(json_dump_file(b, path, 0), 0);
	json_decref(b);
}

/* The prescriber's marks travel signed through rxd and come back as they
 * went in (docs/FHIR.md "Substitution"). */
START_TEST(marks_over_rxd)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	world_up(&w);
	bundle_now(&w, "good.json", w.patient);
	set_substitution(&w, "good.json", 1,
			 "{\"allowedBoolean\": false, \"reason\": {\"coding\": [{\"system\": "
			 "\"urn:rx-exchange:substitution-mark\", \"code\": \"no-change-medical-necessity\"}]}}");
	set_substitution(&w, "good.json", 2,
			 "{\"allowedCodeableConcept\": {\"coding\": [{\"system\": "
			 "\"urn:rx-exchange:substitution-mark\", \"code\": \"no-strength-change\"}]}}");
	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc",
			     "--card hanako.card --institution %s submit --fhir good.json", CLINIC),
			 0);
	json_t *j = parsed();
	snprintf(id, sizeof id, "%s", str_of(j, "id"));
	json_decref(j);

	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc", "status %s --fhir", id), 0);
	j = parsed();
	json_t *s1 = json_object_get(resource(j, "MedicationRequest", 0), "substitution");
	json_t *s2 = json_object_get(resource(j, "MedicationRequest", 1), "substitution");
	ck_assert(json_is_false(json_object_get(s1, "allowedBoolean")));
	json_t *c = json_array_get(json_object_get(json_object_get(s1, "reason"), "coding"), 0);
	ck_assert_str_eq(str_of(c, "code"), "no-change-medical-necessity");
	ck_assert_ptr_null(json_array_get(json_object_get(json_object_get(s1, "reason"), "coding"), 1));
	ck_assert_ptr_null(json_object_get(s2, "allowedBoolean"));
	c = json_array_get(json_object_get(json_object_get(s2, "allowedCodeableConcept"), "coding"), 0);
	ck_assert_str_eq(str_of(c, "code"), "no-strength-change");
	json_decref(j);

	/* Allowed and marked at once never leaves the clinic. */
	bundle_now(&w, "good.json", w.patient);
	set_substitution(&w, "good.json", 1,
			 "{\"allowedBoolean\": true, \"reason\": {\"coding\": [{\"system\": "
			 "\"urn:rx-exchange:substitution-mark\", \"code\": \"no-change\"}]}}");
	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc",
			     "--card hanako.card --institution %s submit --fhir good.json", CLINIC),
			 2);
	j = parsed();
	ck_assert_str_eq(str_of(j, "status"), "INVALID");
	ck_assert_str_eq(str_of(j, "message"),
			 "entry[1].resource.substitution.reason: contradicts allowedBoolean true: a "
			 "substitution mark restricts substitution");
	json_decref(j);
	harness_cleanup(&w.h);
}
END_TEST

START_TEST(refusals_over_rxd)
{
	world_t w;
	Rx__Stats st;
	world_up(&w);

	/* Another patient's pseudonym than the card's: the broker refuses. */
	bundle_now(&w, "good.json", "PQNQ3ZF91NR4PHBWH5");
	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc",
			     "--card hanako.card --institution %s submit --fhir good.json", CLINIC),
			 2);
	json_t *j = parsed();
	ck_assert_str_eq(str_of(j, "status"), "ASSERTION_MISMATCH");
	json_decref(j);

	/* An unmappable bundle never leaves the clinic: INVALID with the path. */
	bundle_now(&w, "quantity-zero.json", w.patient);
	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc",
			     "--card hanako.card --institution %s submit --fhir quantity-zero.json", CLINIC),
			 2);
	j = parsed();
	ck_assert_str_eq(str_of(j, "status"), "INVALID");
	ck_assert_str_eq(str_of(j, "message"),
			 "entry[2].resource.dispenseRequest.quantity.value: must be a positive integer");
	json_decref(j);
	ck_assert_int_eq(harness_stats(&w.h, &st), 0);
	ck_assert_uint_eq(st.prescriptions, 0);

	/* --fhir is no option of cancel. */
	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc", "cancel 6WKB-26ZF-S6A5 --fhir"), 1);
	harness_cleanup(&w.h);
}
END_TEST

/* A divided prescription's parts (our part-days extension) are signed,
 * travel through rxd and come back; each part is a use with its window. */
START_TEST(divided_over_rxd)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	world_up(&w);
	bundle_now(&w, "good-divided.json", w.patient);
	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc",
			     "--card hanako.card --institution %s submit --fhir good-divided.json", CLINIC),
			 0);
	json_t *j = parsed();
	ck_assert_int_eq(json_integer_value(json_object_get(j, "uses")), 2);
	snprintf(id, sizeof id, "%s", str_of(j, "id"));
	json_decref(j);

	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc", "status %s", id), 0);
	j = parsed();
	json_t *parts = json_object_get(json_object_get(j, "prescription"), "part_days");
	ck_assert_uint_eq(json_array_size(parts), 2);
	ck_assert_int_eq(json_integer_value(json_array_get(parts, 0)), 14);
	ck_assert_int_eq(json_integer_value(json_array_get(parts, 1)), 14);
	json_decref(j);

	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc", "status %s --fhir", id), 0);
	j = parsed();
	for (size_t i = 0; i < 2; i++) {
		json_t *dr = json_object_get(resource(j, "MedicationRequest", i), "dispenseRequest");
		json_t *ext = json_object_get(dr, "extension");
		ck_assert_int_eq(json_integer_value(json_object_get(dr, "numberOfRepeatsAllowed")), 0);
		ck_assert_uint_eq(json_array_size(ext), 2);
		for (size_t k = 0; k < 2; k++) {
			ck_assert_str_eq(str_of(json_array_get(ext, k), "url"), "urn:rx-exchange:part-days");
			ck_assert_int_eq(int_at(json_array_get(ext, k), "valueDuration", "value"), 14);
		}
	}
	json_decref(j);

	/* Part 2 is due 14 days after part 1: not open the same day. */
	claim_and_dispense(&w, id, 1);
	ck_assert_int_eq(run(&w, "RX_PHARMACY", "ph", "--card hanako.card --institution %s claim %s",
			     PHARMACY, id),
			 2);
	j = parsed();
	ck_assert_str_eq(str_of(j, "status"), "NOT_YET_DUE");
	json_decref(j);
	harness_cleanup(&w.h);
}
END_TEST

/* The MedicationDispense of bundle b with id rid (NULL if none). */
static json_t *dispense_of(const json_t *b, const char *rid)
{
	json_t *md;
	for (size_t i = 0; (md = resource(b, "MedicationDispense", i)) != NULL; i++)
		if (!strcmp(str_of(md, "id"), rid))
			return md;
	return NULL;
}

/* md's v3 supply type and the part of our extension. */
static void check_part(const json_t *md, const char *type, json_int_t part)
{
	json_t *c = json_array_get(json_object_get(json_object_get(md, "type"), "coding"), 0);
	json_t *e = json_array_get(json_object_get(md, "extension"), 0);
	ck_assert_str_eq(str_of(c, "system"), "http://terminology.hl7.org/CodeSystem/v3-ActCode");
	ck_assert_str_eq(str_of(c, "code"), type);
	ck_assert_str_eq(str_of(e, "url"), "urn:rx-exchange:dispense-part");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "valueUnsignedInt")), part);
}

/* Use 1 of good.json (a refill of 2 uses) handed over in two parts with
 * rx-pharmacy --part/--owe (proto/README 5.13), read by the prescriber as
 * FHIR: while 18 of item 2 are owed the requests stay active, part 1's
 * MedicationDispenses are completed, item 1 complete (FFC) and item 2 a
 * part fill (FFP, 10, our partial reason); part 2 hands over the 18 (RFP)
 * and the prescription is ISSUED for its next use. */
START_TEST(partial_fill_over_rxd)
{
	world_t w;
	char id[RX_ID_LEN + 1], token[64];
	world_up(&w);
	bundle_now(&w, "good.json", w.patient);
	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc", "--card hanako.card --institution %s submit --fhir good.json",
			     CLINIC),
			 0);
	json_t *j = parsed();
	snprintf(id, sizeof id, "%s", str_of(j, "id"));
	json_decref(j);
	ck_assert_int_eq(run(&w, "RX_PHARMACY", "ph", "--card hanako.card --institution %s claim %s", PHARMACY, id),
			 0);
	j = parsed();
	snprintf(token, sizeof token, "%s", str_of(j, "claim"));
	json_decref(j);
	ck_assert_int_eq(run(&w, "RX_PHARMACY", "ph", "dispense %s --claim %s --part 1 --owe 2=10", id, token), 0);
	j = parsed();
	ck_assert_str_eq(str_of(j, "state"), "PARTIALLY_DISPENSED");
	json_decref(j);

	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc", "status %s --fhir", id), 0);
	j = parsed();
	for (size_t i = 0; i < 2; i++)
		ck_assert_str_eq(str_of(resource(j, "MedicationRequest", i), "status"), "active");
	json_t *md1 = dispense_of(j, "dispense-1-1-p1"), *md2 = dispense_of(j, "dispense-1-2-p1");
	ck_assert_ptr_nonnull(md1);
	ck_assert_ptr_nonnull(md2);
	ck_assert_str_eq(str_of(md1, "status"), "completed");
	ck_assert_int_eq(int_at(md1, "quantity", "value"), 28);
	check_part(md1, "FFC", 1);
	ck_assert_str_eq(str_of(md2, "status"), "completed");
	ck_assert_int_eq(int_at(md2, "quantity", "value"), 10);
	ck_assert_int_eq(int_at(md2, "daysSupply", "value"), 10);
	check_part(md2, "FFP", 1);
	json_t *why = json_array_get(json_object_get(md2, "extension"), 1);
	ck_assert_str_eq(str_of(why, "url"), "urn:rx-exchange:partial-reason");
	ck_assert_str_eq(str_of(json_array_get(json_object_get(json_object_get(why, "valueCodeableConcept"), "coding"), 0),
				"code"),
			 "out-of-stock");
	ck_assert_ptr_null(resource(j, "MedicationDispense", 2));
	json_decref(j);

	ck_assert_int_eq(run(&w, "RX_PHARMACY", "ph", "dispense %s --claim %s --part 2", id, token), 0);
	j = parsed();
	ck_assert_str_eq(str_of(j, "state"), "ISSUED");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "uses_left")), 1);
	json_decref(j);
	ck_assert_int_eq(run(&w, "RX_CLINIC", "doc", "status %s --fhir", id), 0);
	j = parsed();
	json_t *md3 = dispense_of(j, "dispense-1-2-p2");
	ck_assert_ptr_nonnull(md3);
	ck_assert_str_eq(str_of(md3, "status"), "completed");
	ck_assert_int_eq(int_at(md3, "quantity", "value"), 18);
	check_part(md3, "RFP", 2);
	ck_assert_str_eq(str_of(dispense_of(j, "dispense-1-2-p1"), "status"), "completed");
	ck_assert_str_eq(str_of(resource(j, "MedicationRequest", 0), "status"), "active");
	ck_assert_ptr_null(resource(j, "MedicationDispense", 3));
	json_decref(j);
	harness_cleanup(&w.h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fhir-cli");
	TCase *tc = tcase_create("rxd");
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, bundle_round_trip_over_rxd);
	tcase_add_test(tc, refusals_over_rxd);
	tcase_add_test(tc, marks_over_rxd);
	tcase_add_test(tc, divided_over_rxd);
	tcase_add_test(tc, partial_fill_over_rxd);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
