/* fhir_in: a FHIR R4 Bundle into the Prescription a clinic signs
 * (fhir_to_prescription; see fhir.h and docs/FHIR.md).  The reader refuses
 * rather than drops: a field that would change what the patient gets (a
 * second dosage, an interval between refills, a modifier extension, a
 * refill that is also divided) and that a Prescription cannot carry is
 * INVALID, with its JSON path. */
#include "fhir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir_int.h"
#include "fhir_read.h"
#include "rx_check.h"
#include "rx_crypto.h"
#include "rx_ids.h"

/* ---- reading a Bundle ---- */

/* What dispenseRequest says about the whole prescription: the same in
 * every MedicationRequest. */
typedef struct {
	int64_t repeats;             /* numberOfRepeatsAllowed: a refill's uses after the first */
	int has_validity;
	int64_t valid_until;
	uint32_t parts[RX_MAX_USES]; /* a divided prescription's parts' days (FHIR_EXT_PART_DAYS) */
	size_t nparts;               /* 0: not divided */
} plan_t;

/* What every MedicationRequest of the bundle must agree on. */
typedef struct {
	int seen;
	const char *subject;
	int has_authored;
	int64_t authored;
	plan_t plan;
} shared_t;

/* medicationCodeableConcept: the code (YJ, else price-list system) and the
 * drug's name (the coding's display, else the concept's text). */
static rx_err_t read_medication(fhir_ctx_t *x, const json_t *res, const char *path, Rx__Item *it,
				char code_path[FHIR_PATH_MAX], char name_path[FHIR_PATH_MAX])
{
	char p[FHIR_PATH_MAX], cp[FHIR_PATH_MAX];
	const char *system, *code, *name;
	rx_err_t err;
	if (json_object_get(res, "medicationReference"))
		return fhir_bad(x, fhir_at(p, path, ".medicationReference"),
			        "cannot be mapped: give the drug as medicationCodeableConcept");
	const json_t *mc = json_object_get(res, "medicationCodeableConcept");
	fhir_at(cp, path, ".medicationCodeableConcept");
	if (!json_is_object(mc))
		return fhir_bad(x, cp, "required: the drug, coded with system %s", FHIR_SYSTEM_YJ);
	const json_t *codings = json_object_get(mc, "coding");
	if (codings && !json_is_array(codings))
		return fhir_bad(x, fhir_at(p, cp, ".coding"), "must be an array");
	long pick = -1;
	for (int pass = 0; pass < 2 && pick < 0; pass++) {
		const char *want = pass == 0 ? FHIR_SYSTEM_YJ : FHIR_SYSTEM_PRICE_LIST;
		for (size_t j = 0; j < json_array_size(codings) && pick < 0; j++) {
			system = json_string_value(json_object_get(json_array_get(codings, j), "system"));
			if (system && strcmp(system, want) == 0)
				pick = (long)j;
		}
	}
	if (pick < 0)
		return fhir_bad(x, fhir_at(p, cp, ".coding"),
			        "no coding with system %s (the 12-character YJ code) or %s", FHIR_SYSTEM_YJ,
			        FHIR_SYSTEM_PRICE_LIST);
	const json_t *c = json_array_get(codings, (size_t)pick);
	fhir_at(p, cp, ".coding[%ld]", pick);
	if ((err = fhir_str_member(x, c, "code", p, 1, &code)) != RX_OK)
		return err;
	fhir_at(code_path, p, ".code");
	if (rx_drug_code_valid(code) != RX_OK)
		return fhir_bad(x, code_path, "not a 12-character drug code with a valid check digit");
	if ((err = fhir_str_member(x, c, "display", p, 0, &name)) != RX_OK)
		return err;
	fhir_at(name_path, p, ".display");
	if (name == NULL) {
		if ((err = fhir_str_member(x, mc, "text", cp, 0, &name)) != RX_OK)
			return err;
		fhir_at(name_path, cp, ".text");
	}
	if (name == NULL)
		return fhir_bad(x, name_path, "the drug's name is required, here or in %s.coding[%ld].display",
			        cp, pick);
	it->drug_code = strdup(code);
	it->name = strdup(name);
	return RX_OK;
}

/* dosageInstruction[0]: its text is the usage; doseAndRate[0].doseQuantity
 * the dose ("as directed" without one). */
static rx_err_t read_dosage(fhir_ctx_t *x, const json_t *res, const char *path, Rx__Item *it,
			    char usage_path[FHIR_PATH_MAX], char dose_path[FHIR_PATH_MAX])
{
	char p[FHIR_PATH_MAX], dp[FHIR_PATH_MAX];
	const char *text, *unit;
	rx_err_t err;
	const json_t *ds = json_object_get(res, "dosageInstruction");
	if (!json_is_array(ds) || json_array_size(ds) == 0)
		return fhir_bad(x, fhir_at(p, path, ".dosageInstruction"),
			        "required: one dosage instruction whose text says how to take the drug");
	if (json_array_size(ds) > 1)
		return fhir_bad(x, fhir_at(p, path, ".dosageInstruction[1]"),
			        "only one dosage instruction per item can be mapped: put each in its own "
			        "MedicationRequest or say it all in dosageInstruction[0].text");
	const json_t *d = json_array_get(ds, 0);
	fhir_at(dp, path, ".dosageInstruction[0]");
	if (!json_is_object(d))
		return fhir_bad(x, dp, "must be an object");
	if ((err = fhir_no_modifiers(x, d, dp)) != RX_OK ||
	    (err = fhir_str_member(x, d, "text", dp, 1, &text)) != RX_OK)
		return err;
	fhir_at(usage_path, dp, ".text");
	it->usage = strdup(text);
	const json_t *dr = json_object_get(d, "doseAndRate");
	if (dr == NULL) {
		snprintf(dose_path, FHIR_PATH_MAX, "%s", dp);
		it->dose = strdup(FHIR_DOSE_AS_DIRECTED);
		return RX_OK;
	}
	if (!json_is_array(dr) || json_array_size(dr) != 1)
		return fhir_bad(x, fhir_at(p, dp, ".doseAndRate"), "must hold exactly one dose");
	const json_t *r0 = json_array_get(dr, 0), *dq = json_object_get(r0, "doseQuantity");
	fhir_at(p, dp, ".doseAndRate[0]");
	static const char *const other[] = {"doseRange", "rateRatio", "rateRange", "rateQuantity"};
	for (size_t k = 0; k < sizeof other / sizeof other[0]; k++)
		if (json_object_get(r0, other[k]))
			return fhir_bad(x, fhir_at(dose_path, p, ".%s", other[k]),
				        "only doseQuantity can be mapped: say ranges and rates in "
				        "dosageInstruction[0].text");
	fhir_at(dose_path, p, ".doseQuantity");
	const json_t *v = json_object_get(dq, "value");
	int64_t whole;
	char num[40];
	if (!json_is_object(dq))
		return fhir_bad(x, dose_path, "required");
	if (!json_is_number(v) || json_number_value(v) <= 0)
		return fhir_bad(x, fhir_at(p, dose_path, ".value"), "must be a positive number");
	if ((err = fhir_str_member(x, dq, "unit", dose_path, 1, &unit)) != RX_OK)
		return err;
	if (fhir_whole_number(v, &whole))
		snprintf(num, sizeof num, "%lld", (long long)whole);
	else
		snprintf(num, sizeof num, "%.15g", json_number_value(v));
	size_t n = strlen(num) + 1 + strlen(unit) + 1;
	if ((it->dose = malloc(n)) != NULL)
		snprintf(it->dose, n, "%s %s", num, unit);
	return RX_OK;
}

/* A Duration at path (dur, NULL if absent; what: what it gives, for the
 * message) as a number of days into *days: a positive whole value, its unit
 * days or weeks.  value_path: where the value is, for the caller's checks. */
static rx_err_t read_days(fhir_ctx_t *x, const json_t *dur, const char *path, const char *what,
			  int64_t *days, char value_path[FHIR_PATH_MAX])
{
	char up[FHIR_PATH_MAX], q[48];
	const char *unit, *code, *system;
	int64_t v;
	rx_err_t err;
	fhir_at(value_path, path, ".value");
	if (!json_is_object(dur))
		return fhir_bad(x, path, "required: %s", what);
	if (!fhir_whole_number(json_object_get(dur, "value"), &v) || v < 1)
		return fhir_bad(x, value_path, "must be a positive integer");
	if ((err = fhir_str_member(x, dur, "system", path, 0, &system)) != RX_OK ||
	    (err = fhir_str_member(x, dur, "code", path, 0, &code)) != RX_OK ||
	    (err = fhir_str_member(x, dur, "unit", path, 0, &unit)) != RX_OK)
		return err;
	/* A UCUM code is the unit's definition; the unit is for people. */
	const char *u = system && code && strcmp(system, FHIR_UCUM) == 0 ? code : unit;
	const char *field = u == code ? ".code" : ".unit";
	int per;
	if (u == NULL)
		return fhir_bad(x, fhir_at(up, path, ".unit"), "required: d (days) or wk (weeks)");
	if (!strcmp(u, "d") || !strcmp(u, "day") || !strcmp(u, "days") || !strcmp(u, "日"))
		per = 1;
	else if (!strcmp(u, "wk") || !strcmp(u, "week") || !strcmp(u, "weeks") || !strcmp(u, "週"))
		per = 7;
	else
		return fhir_bad(x, fhir_at(up, path, "%s", field),
			        "unsupported unit %s: only d (days) and wk (weeks) give days of supply",
			        fhir_quoted(u, q));
	/* Past a year is refused by the callers anyway: cap before multiplying. */
	*days = (v > 100000 ? 100000 : v) * per;
	return RX_OK;
}

/* dispenseRequest.extension: a divided prescription's parts (分割調剤), one
 * extension FHIR_EXT_PART_DAYS per part in the order of its uses, each a
 * valueDuration, into plan.  Other extensions are not read, but one in our
 * namespace that is not ours here is a mistake: refused, not dropped. */
static rx_err_t read_parts(fhir_ctx_t *x, const json_t *dr, const char *dp, plan_t *plan)
{
	char p[FHIR_PATH_MAX], dur[FHIR_PATH_MAX], vp[FHIR_PATH_MAX], q[48], last[FHIR_PATH_MAX] = "";
	const json_t *exts = json_object_get(dr, "extension");
	rx_err_t err;
	plan->nparts = 0;
	if (exts == NULL)
		return RX_OK;
	if (!json_is_array(exts))
		return fhir_bad(x, fhir_at(p, dp, ".extension"), "must be an array of Extensions");
	for (size_t j = 0; j < json_array_size(exts); j++) {
		const json_t *e = json_array_get(exts, j);
		const char *url = json_string_value(json_object_get(e, "url"));
		int64_t days;
		fhir_at(p, dp, ".extension[%zu]", j);
		if (url && strncmp(url, "urn:rx-exchange:", 16) == 0 && strcmp(url, FHIR_EXT_PART_DAYS) != 0)
			return fhir_bad(x, fhir_at(vp, p, ".url"),
					"unknown extension %s: the one rx-exchange reads here is %s",
					fhir_quoted(url, q), FHIR_EXT_PART_DAYS);
		if (url == NULL || strcmp(url, FHIR_EXT_PART_DAYS) != 0)
			continue;
		if (plan->nparts == RX_MAX_USES)
			return fhir_bad(x, p, "a divided prescription has at most %d parts", RX_MAX_USES);
		if (json_object_get(e, "valueDuration") == NULL)
			return fhir_bad(x, p, "required: valueDuration, the part's days of supply");
		if ((err = read_days(x, json_object_get(e, "valueDuration"), fhir_at(dur, p, ".valueDuration"),
				     "the part's days of supply", &days, vp)) != RX_OK)
			return err;
		/* 365: as an item's days (rx_check_item), and the broker's bound on a part */
		if (days > 365)
			return fhir_bad(x, vp, "a part's days of supply must be 1..365");
		plan->parts[plan->nparts++] = (uint32_t)days;
		memcpy(last, p, sizeof last);
	}
	if (plan->nparts == 1)
		return fhir_bad(x, last, "one part is the whole prescription: a divided prescription has 2..%d "
				"parts (leave the extension out)", RX_MAX_USES);
	return RX_OK;
}

/* dispenseRequest: quantity, days of supply, and the prescription-wide
 * repeats, parts and validity into plan (compared with the other entries
 * by the caller). */
static rx_err_t read_dispense_request(fhir_ctx_t *x, const json_t *res, const char *path, Rx__Item *it,
				      plan_t *plan, char qty_path[FHIR_PATH_MAX], char unit_path[FHIR_PATH_MAX],
				      char days_path[FHIR_PATH_MAX])
{
	char p[FHIR_PATH_MAX], dp[FHIR_PATH_MAX];
	const char *unit;
	int64_t v;
	rx_err_t err;
	const json_t *dr = json_object_get(res, "dispenseRequest");
	fhir_at(dp, path, ".dispenseRequest");
	if (!json_is_object(dr))
		return fhir_bad(x, dp, "required: the quantity and the days of supply");
	if ((err = fhir_no_modifiers(x, dr, dp)) != RX_OK)
		return err;
	if (json_object_get(dr, "initialFill"))
		return fhir_bad(x, fhir_at(p, dp, ".initialFill"),
			        "cannot be carried: a divided prescription (分割調剤) gives each part's days of "
			        "supply as an extension %s", FHIR_EXT_PART_DAYS);
	if (json_object_get(dr, "dispenseInterval"))
		return fhir_bad(x, fhir_at(p, dp, ".dispenseInterval"),
			        "cannot be carried: the broker opens each later use 7 days before the previous "
			        "use's supply runs out, not after an interval");

	const json_t *qty = json_object_get(dr, "quantity");
	fhir_at(qty_path, dp, ".quantity.value");
	if (!json_is_object(qty))
		return fhir_bad(x, fhir_at(p, dp, ".quantity"), "required: how much to hand over");
	if (!fhir_whole_number(json_object_get(qty, "value"), &v) || v < 1)
		return fhir_bad(x, qty_path, "must be a positive integer");
	it->quantity = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	if ((err = fhir_str_member(x, qty, "unit", fhir_at(p, dp, ".quantity"), 1, &unit)) != RX_OK)
		return err;
	fhir_at(unit_path, dp, ".quantity.unit");
	it->unit = strdup(unit);

	if ((err = read_days(x, json_object_get(dr, "expectedSupplyDuration"),
			     fhir_at(p, dp, ".expectedSupplyDuration"), "the days of supply", &v,
			     days_path)) != RX_OK)
		return err;
	it->days = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;

	const json_t *n = json_object_get(dr, "numberOfRepeatsAllowed");
	plan->repeats = 0;
	if (n && (!json_is_integer(n) || json_integer_value(n) < 0))
		return fhir_bad(x, fhir_at(p, dp, ".numberOfRepeatsAllowed"), "must be a non-negative integer");
	if (n)
		plan->repeats = json_integer_value(n);
	if (plan->repeats > RX_MAX_USES - 1)
		return fhir_bad(x, fhir_at(p, dp, ".numberOfRepeatsAllowed"),
			        "at most %d: a prescription may be used at most %d times", RX_MAX_USES - 1,
			        RX_MAX_USES);
	if ((err = read_parts(x, dr, dp, plan)) != RX_OK)
		return err;
	/* A repeat hands the whole quantity over again (FHIR: 30 tablets and 3
	 * repeats are 120 tablets); a part is a share of one supply.  Both at
	 * once is not a prescription rx-exchange can hold. */
	if (plan->nparts && plan->repeats)
		return fhir_bad(x, fhir_at(p, dp, ".numberOfRepeatsAllowed"),
			        "a divided prescription (its parts in extension %s) is not refilled as well: "
			        "give 0 or leave it out", FHIR_EXT_PART_DAYS);

	const json_t *vp = json_object_get(dr, "validityPeriod");
	const char *start, *end;
	int64_t t;
	int date_only;
	plan->has_validity = 0;
	if (vp == NULL)
		return RX_OK;
	fhir_at(p, dp, ".validityPeriod");
	if (!json_is_object(vp))
		return fhir_bad(x, p, "must be a Period");
	if ((err = fhir_str_member(x, vp, "start", p, 0, &start)) != RX_OK ||
	    (err = fhir_str_member(x, vp, "end", p, 0, &end)) != RX_OK)
		return err;
	if (start && !fhir_parse_time(start, &t, &date_only))
		return fhir_bad(x, fhir_at(dp, p, ".start"), "must be a date or a date-time with a time zone");
	if (start && t > x->now + RX_CLOCK_SKEW)
		return fhir_bad(x, fhir_at(dp, p, ".start"),
			        "a prescription valid only from a later day cannot be carried");
	if (end == NULL)
		return RX_OK;
	if (!fhir_parse_time(end, &t, &date_only))
		return fhir_bad(x, fhir_at(dp, p, ".end"), "must be a date or a date-time with a time zone");
	/* The end is inclusive: a date covers that whole day (Japan time). */
	plan->valid_until = date_only ? t + 86400 : t + 1;
	plan->has_validity = 1;
	return RX_OK;
}

/* The marks a CodeableConcept of our substitution-mark codes names (one
 * coding per mark), into *marks.  A coding of another system is refused:
 * we cannot tell whether it says more than ours. */
static rx_err_t read_marks(fhir_ctx_t *x, const json_t *cc, const char *path, unsigned *marks)
{
	char p[FHIR_PATH_MAX], q[48];
	const char *system, *code;
	rx_err_t err;
	const json_t *codings = json_object_get(cc, "coding");
	if (!json_is_object(cc))
		return fhir_bad(x, path, "must be a CodeableConcept");
	if (!json_is_array(codings) || json_array_size(codings) == 0)
		return fhir_bad(x, fhir_at(p, path, ".coding"),
			        "required: one coding of system %s per mark (say anything else in note)",
			        FHIR_SYSTEM_SUBSTITUTION_MARK);
	for (size_t j = 0; j < json_array_size(codings); j++) {
		const json_t *c = json_array_get(codings, j);
		char cp[FHIR_PATH_MAX];
		fhir_at(cp, path, ".coding[%zu]", j);
		if ((err = fhir_str_member(x, c, "system", cp, 1, &system)) != RX_OK)
			return err;
		if (strcmp(system, FHIR_SYSTEM_SUBSTITUTION_MARK) != 0)
			return fhir_bad(x, fhir_at(p, cp, ".system"),
				        "cannot be carried: only the codes of %s are (say anything else in note)",
				        FHIR_SYSTEM_SUBSTITUTION_MARK);
		if ((err = fhir_str_member(x, c, "code", cp, 1, &code)) != RX_OK)
			return err;
		size_t k = 0;
		while (k < FHIR_MARK_CODES && strcmp(code, fhir_marks[k].code) != 0)
			k++;
		if (k == FHIR_MARK_CODES) {
			char known[128] = "";
			for (size_t i = 0; i < FHIR_MARK_CODES; i++)
				snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
					 i ? ", " : "", fhir_marks[i].code);
			return fhir_bad(x, fhir_at(p, cp, ".code"), "unknown code %s: the codes are %s",
					fhir_quoted(code, q), known);
		}
		*marks |= fhir_marks[k].sets;
	}
	return RX_OK;
}

/* substitution: the item's marks.  Absent or allowedBoolean true: none;
 * false: no change, with the marks its reason names (medical necessity);
 * allowedCodeableConcept: the marks it names.  Contradictions and what our
 * codes cannot say are refused, never dropped: the marks bind the pharmacy. */
static rx_err_t read_substitution(fhir_ctx_t *x, const json_t *res, const char *path, Rx__Item *it,
				  char sub_path[FHIR_PATH_MAX])
{
	char p[FHIR_PATH_MAX];
	unsigned marks = 0, named = 0;
	rx_err_t err;
	const json_t *sub = json_object_get(res, "substitution");
	fhir_at(sub_path, path, ".substitution");
	if (sub == NULL)
		return RX_OK;
	if (!json_is_object(sub))
		return fhir_bad(x, sub_path, "must be an object");
	if ((err = fhir_no_modifiers(x, sub, sub_path)) != RX_OK)
		return err;
	const json_t *ab = json_object_get(sub, "allowedBoolean");
	const json_t *ac = json_object_get(sub, "allowedCodeableConcept");
	const json_t *reason = json_object_get(sub, "reason");
	if (ab && ac)
		return fhir_bad(x, sub_path, "allowedBoolean and allowedCodeableConcept together: give one");
	if (ab == NULL && ac == NULL)
		return fhir_bad(x, sub_path, "required: allowedBoolean or allowedCodeableConcept");
	if (ab && !json_is_boolean(ab))
		return fhir_bad(x, fhir_at(p, sub_path, ".allowedBoolean"), "must be true or false");
	if (ac && (err = read_marks(x, ac, fhir_at(p, sub_path, ".allowedCodeableConcept"), &marks)) != RX_OK)
		return err;
	if (reason && ac)
		return fhir_bad(x, fhir_at(p, sub_path, ".reason"),
			        "cannot be carried with allowedCodeableConcept: name every mark there");
	if (reason && (err = read_marks(x, reason, fhir_at(p, sub_path, ".reason"), &named)) != RX_OK)
		return err;
	if (json_is_true(ab) && named)
		return fhir_bad(x, fhir_at(p, sub_path, ".reason"),
			        "contradicts allowedBoolean true: a substitution mark restricts substitution");
	if (json_is_false(ab))
		marks = FHIR_MARK_NO_CHANGE | named;
	fhir_set_item_marks(it, marks);
	return RX_OK;
}

/* Map Rx__Item field names (rx_check_item) to where they came from. */
typedef struct {
	char code[FHIR_PATH_MAX], name[FHIR_PATH_MAX], dose[FHIR_PATH_MAX], unit[FHIR_PATH_MAX],
		usage[FHIR_PATH_MAX], days[FHIR_PATH_MAX], qty[FHIR_PATH_MAX], sub[FHIR_PATH_MAX];
} item_paths_t;

static const char *path_of(const item_paths_t *ip, const char *field)
{
	return !strcmp(field, "drug_code")  ? ip->code
	       : !strcmp(field, "name")     ? ip->name
	       : !strcmp(field, "dose")     ? ip->dose
	       : !strcmp(field, "unit")     ? ip->unit
	       : !strcmp(field, "usage")    ? ip->usage
	       : !strcmp(field, "days")     ? ip->days
	       : !strcmp(field, "quantity") ? ip->qty
					    : ip->sub; /* the marks */
}

static void item_free(Rx__Item *it)
{
	if (it == NULL)
		return;
	free(it->drug_code);
	free(it->name);
	free(it->dose);
	free(it->unit);
	free(it->usage);
	free(it);
}

/* Append text to the notes (once: the same note on every entry is one). */
static rx_err_t add_note(char **notes, const char *text)
{
	size_t have = *notes ? strlen(*notes) : 0, n = strlen(text);
	if (*notes) {
		for (const char *s = *notes; (s = strstr(s, text)) != NULL; s++)
			if ((s == *notes || s[-1] == '\n') && (s[n] == '\0' || s[n] == '\n'))
				return RX_OK;
	}
	char *m = realloc(*notes, have + (have ? 1 : 0) + n + 1);
	if (m == NULL)
		return RX_SYSTEM;
	if (have)
		m[have++] = '\n';
	memcpy(m + have, text, n + 1);
	*notes = m;
	return RX_OK;
}

/* One MedicationRequest: its item into *out, its shared fields into sh. */
static rx_err_t read_request(fhir_ctx_t *x, const json_t *entries, const json_t *res, const char *path,
			     shared_t *sh, char **notes, Rx__Item **out)
{
	char p[FHIR_PATH_MAX], q[48];
	const char *s, *ref;
	item_paths_t ip;
	plan_t plan = {0};
	int64_t authored = 0;
	int has_authored = 0, date_only;
	rx_err_t err;
	Rx__Item *it = calloc(1, sizeof *it);
	*out = NULL;
	if (it == NULL)
		return RX_SYSTEM;
	rx__item__init(it);
	it->drug_code = it->name = it->dose = it->unit = it->usage = NULL;

	if ((err = fhir_no_modifiers(x, res, path)) != RX_OK ||
	    (err = fhir_str_member(x, res, "status", path, 1, &s)) != RX_OK)
		goto fail;
	if (strcmp(s, "active") != 0) {
		err = fhir_bad(x, fhir_at(p, path, ".status"), "must be \"active\" to be issued, not %s",
			       fhir_quoted(s, q));
		goto fail;
	}
	if ((err = fhir_str_member(x, res, "intent", path, 1, &s)) != RX_OK)
		goto fail;
	if (strcmp(s, "order") != 0 && strcmp(s, "original-order") != 0) {
		err = fhir_bad(x, fhir_at(p, path, ".intent"), "must be \"order\" or \"original-order\", not %s",
			       fhir_quoted(s, q));
		goto fail;
	}
	if (json_is_true(json_object_get(res, "doNotPerform"))) {
		err = fhir_bad(x, fhir_at(p, path, ".doNotPerform"),
			       "a request not to give a drug is no prescription");
		goto fail;
	}

	/* The subject: one patient for the whole bundle. */
	const json_t *subj = json_object_get(res, "subject");
	if (!json_is_object(subj)) {
		err = fhir_bad(x, fhir_at(p, path, ".subject"), "required: a reference to the Patient");
		goto fail;
	}
	if ((err = fhir_str_member(x, subj, "reference", fhir_at(p, path, ".subject"), 1, &ref)) != RX_OK)
		goto fail;
	fhir_at(p, path, ".subject.reference");
	long target = fhir_resolve(entries, ref);
	const char *ttype = target < 0 ? NULL
				       : json_string_value(json_object_get(
						 json_object_get(json_array_get(entries, (size_t)target),
								 "resource"),
						 "resourceType"));
	if (target >= 0 ? (ttype == NULL || strcmp(ttype, "Patient") != 0)
			: strncmp(ref, "Patient/", 8) != 0) {
		err = fhir_bad(x, p, "must refer to a Patient");
		goto fail;
	}
	if (sh->seen && strcmp(ref, sh->subject) != 0) {
		err = fhir_bad(x, p,
			       "names another patient than entry 0's: a bundle is one patient's prescription");
		goto fail;
	}

	if ((err = read_medication(x, res, path, it, ip.code, ip.name)) != RX_OK ||
	    (err = read_dosage(x, res, path, it, ip.usage, ip.dose)) != RX_OK ||
	    (err = read_dispense_request(x, res, path, it, &plan, ip.qty, ip.unit, ip.days)) != RX_OK ||
	    (err = read_substitution(x, res, path, it, ip.sub)) != RX_OK)
		goto fail;
	if (it->drug_code == NULL || it->name == NULL || it->dose == NULL || it->unit == NULL ||
	    it->usage == NULL) {
		err = RX_SYSTEM;
		snprintf(x->msg, x->msglen, "out of memory");
		goto fail;
	}
	const char *field, *why;
	if (rx_check_item(it, &field, &why) != RX_OK) {
		err = fhir_bad(x, path_of(&ip, field), "%s", why);
		goto fail;
	}

	if ((err = fhir_str_member(x, res, "authoredOn", path, 0, &s)) != RX_OK)
		goto fail;
	fhir_at(p, path, ".authoredOn");
	if (s && (!fhir_parse_time(s, &authored, &date_only) || date_only)) {
		err = fhir_bad(x, p, "must be a date-time with seconds and a time zone");
		goto fail;
	}
	has_authored = s != NULL;
	if (has_authored && authored > x->now + RX_CLOCK_SKEW) {
		err = fhir_bad(x, p, "is in the future");
		goto fail;
	}
	if (has_authored && authored < x->now - RX_MAX_SUBMIT_AGE) {
		err = fhir_bad(x, p, "is more than a day in the past: the broker refuses such a prescription");
		goto fail;
	}

	const json_t *ns = json_object_get(res, "note");
	if (ns && !json_is_array(ns)) {
		err = fhir_bad(x, fhir_at(p, path, ".note"), "must be an array of Annotations");
		goto fail;
	}
	for (size_t k = 0; k < json_array_size(ns); k++) {
		char np[FHIR_PATH_MAX];
		if ((err = fhir_str_member(x, json_array_get(ns, k), "text",
					   fhir_at(np, path, ".note[%zu]", k), 1, &s)) != RX_OK)
			goto fail;
		if (add_note(notes, s) != RX_OK) {
			err = RX_SYSTEM;
			snprintf(x->msg, x->msglen, "out of memory");
			goto fail;
		}
		if (rx_check_text(*notes, RX_MAX_NOTES, 0) != RX_OK) {
			err = fhir_bad(x, fhir_at(np, path, ".note[%zu].text", k),
				       "the notes together must be UTF-8 text of at most %d bytes", RX_MAX_NOTES);
			goto fail;
		}
	}

	/* What the entries share must be the same in each. */
	if (!sh->seen) {
		sh->seen = 1;
		sh->subject = ref;
		sh->plan = plan;
		sh->has_authored = has_authored;
		sh->authored = authored;
	} else if (plan.repeats != sh->plan.repeats) {
		err = fhir_bad(x, fhir_at(p, path, ".dispenseRequest.numberOfRepeatsAllowed"),
			       "differs from entry 0's: refills are per prescription, the same for every item");
		goto fail;
	} else if (plan.nparts != sh->plan.nparts ||
		   memcmp(plan.parts, sh->plan.parts, plan.nparts * sizeof plan.parts[0]) != 0) {
		err = fhir_bad(x, fhir_at(p, path, ".dispenseRequest.extension"),
			       "differs from entry 0's: a divided prescription's parts (%s) are per "
			       "prescription, the same for every item", FHIR_EXT_PART_DAYS);
		goto fail;
	} else if (plan.has_validity != sh->plan.has_validity || plan.valid_until != sh->plan.valid_until) {
		err = fhir_bad(x, fhir_at(p, path, ".dispenseRequest.validityPeriod.end"),
			       "differs from entry 0's: the validity is per prescription");
		goto fail;
	} else if (has_authored != sh->has_authored || authored != sh->authored) {
		err = fhir_bad(x, fhir_at(p, path, ".authoredOn"),
			       "differs from entry 0's: a prescription is issued at one time");
		goto fail;
	}
	*out = it;
	return RX_OK;
fail:
	item_free(it);
	return err;
}

/* A Patient of the bundle: it must be the subject, and if it carries the
 * patient pseudonym that goes into pid (the broker checks it against the
 * card). */
static rx_err_t read_patient(fhir_ctx_t *x, const json_t *entry, const json_t *res, const char *path,
			     const shared_t *sh, char pid[RX_PATIENT_ID_LEN + 1])
{
	char p[FHIR_PATH_MAX], one[RX_PATIENT_ID_LEN + 1];
	if (!fhir_entry_is(entry, sh->subject))
		return fhir_bad(x, path,
			        "a Patient the MedicationRequests are not about: a bundle is one patient's "
			        "prescription");
	const json_t *ids = json_object_get(res, "identifier");
	for (size_t j = 0; j < json_array_size(ids); j++) {
		const json_t *id = json_array_get(ids, j);
		const char *system = json_string_value(json_object_get(id, "system"));
		const char *value = json_string_value(json_object_get(id, "value"));
		if (system == NULL || strcmp(system, FHIR_SYSTEM_PATIENT) != 0)
			continue;
		fhir_at(p, path, ".identifier[%zu].value", j);
		if (value == NULL || rx_patient_id_parse(value, one) != RX_OK)
			return fhir_bad(x, p,
					"not an rx-exchange patient id (P + 16 characters + check character)");
		if (pid[0] && strcmp(pid, one) != 0)
			return fhir_bad(x, p, "a second, different patient id");
		memcpy(pid, one, sizeof one);
	}
	return RX_OK;
}

void fhir_prescription_free(Rx__Prescription *p)
{
	for (size_t i = 0; p->items && i < p->n_items; i++)
		item_free(p->items[i]);
	free(p->items);
	free(p->notes);
	free(p->patient_id);
	free(p->part_days);
	p->items = NULL;
	p->n_items = 0;
	p->part_days = NULL;
	p->n_part_days = 0;
	p->notes = (char *)protobuf_c_empty_string;
	p->patient_id = (char *)protobuf_c_empty_string;
}

rx_err_t fhir_to_prescription(const json_t *bundle, int64_t now, Rx__Prescription *p, char *msg,
			      size_t msglen)
{
	fhir_ctx_t x = {msg, msglen, now};
	char path[FHIR_PATH_MAX], tp[FHIR_PATH_MAX], q[48], pid[RX_PATIENT_ID_LEN + 1] = "";
	const char *s;
	shared_t sh = {0};
	char *notes = NULL;
	Rx__Item **items = NULL;
	size_t n = 0;
	rx_err_t err;

	msg[0] = '\0';
	if (!json_is_object(bundle))
		return fhir_bad(&x, "$", "not a JSON object");
	if ((err = fhir_str_member(&x, bundle, "resourceType", "", 1, &s)) != RX_OK)
		return fhir_bad(&x, "resourceType", "must be \"Bundle\"");
	if (strcmp(s, "Bundle") != 0)
		return fhir_bad(&x, "resourceType", "must be \"Bundle\", not %s", fhir_quoted(s, q));
	if ((err = fhir_str_member(&x, bundle, "type", "", 1, &s)) != RX_OK)
		return fhir_bad(&x, "type", "must be \"collection\" or \"transaction\"");
	if (strcmp(s, "collection") != 0 && strcmp(s, "transaction") != 0)
		return fhir_bad(&x, "type", "must be \"collection\" or \"transaction\", not %s",
				fhir_quoted(s, q));
	const json_t *entries = json_object_get(bundle, "entry");
	if (!json_is_array(entries) || json_array_size(entries) == 0)
		return fhir_bad(&x, "entry", "must be a non-empty array");
	if ((items = calloc(RX_MAX_ITEMS, sizeof *items)) == NULL)
		return RX_SYSTEM;

	/* First the MedicationRequests (they name the subject), then the Patients. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < json_array_size(entries); i++) {
			const json_t *e = json_array_get(entries, i), *res = json_object_get(e, "resource");
			snprintf(path, sizeof path, "entry[%zu].resource", i);
			if (!json_is_object(res)) {
				err = fhir_bad(&x, path, "required: each entry holds a resource");
				goto fail;
			}
			const char *type = json_string_value(json_object_get(res, "resourceType"));
			if (type == NULL) {
				err = fhir_bad(&x, fhir_at(tp, path, ".resourceType"), "required");
				goto fail;
			}
			if (pass == 0 && strcmp(type, "MedicationRequest") == 0) {
				if (n == RX_MAX_ITEMS) {
					err = fhir_bad(&x, path, "more than %d MedicationRequests: at most %d items",
						       RX_MAX_ITEMS, RX_MAX_ITEMS);
					goto fail;
				}
				if ((err = read_request(&x, entries, res, path, &sh, &notes, &items[n])) != RX_OK)
					goto fail;
				n++;
			} else if (pass == 1 && strcmp(type, "Patient") == 0) {
				if ((err = read_patient(&x, e, res, path, &sh, pid)) != RX_OK)
					goto fail;
			}
		}
		if (pass == 0 && n == 0) {
			err = fhir_bad(&x, "entry", "no MedicationRequest: one per item is needed");
			goto fail;
		}
	}

	int64_t issued = sh.has_authored ? sh.authored : now;
	int64_t until = sh.plan.has_validity ? sh.plan.valid_until
					     : rx_valid_until(issued, RX_DEFAULT_VALID_DAYS);
	const char *vpath = "entry[0].resource.dispenseRequest.validityPeriod.end";
	if (until <= issued || until > issued + (int64_t)RX_MAX_VALID_DAYS * 86400) {
		err = fhir_bad(&x, vpath, "must fall after authoredOn and within %d days of it",
			       RX_MAX_VALID_DAYS);
		goto fail;
	}
	if (until <= now) {
		err = fhir_bad(&x, vpath, "has already passed");
		goto fail;
	}
	uint32_t *parts = NULL;
	if (sh.plan.nparts && (parts = malloc(sh.plan.nparts * sizeof *parts)) != NULL)
		memcpy(parts, sh.plan.parts, sh.plan.nparts * sizeof *parts);
	p->patient_id = strdup(pid);
	p->notes = strdup(notes ? notes : "");
	if (p->patient_id == NULL || p->notes == NULL || (sh.plan.nparts && parts == NULL)) {
		free(p->patient_id);
		free(p->notes);
		free(parts);
		p->patient_id = p->notes = (char *)protobuf_c_empty_string;
		err = RX_SYSTEM;
		snprintf(msg, msglen, "out of memory");
		goto fail;
	}
	free(notes);
	p->issued_at = issued;
	p->valid_until = until;
	/* A divided prescription's parts are its uses (proto/README 5.11). */
	p->part_days = parts;
	p->n_part_days = sh.plan.nparts;
	p->uses = sh.plan.nparts ? (uint32_t)sh.plan.nparts : (uint32_t)(1 + sh.plan.repeats);
	p->items = items;
	p->n_items = n;
	return RX_OK;
fail:
	for (size_t i = 0; i < n; i++)
		item_free(items[i]);
	free(items);
	free(notes);
	if (err == RX_SYSTEM && msg[0] == '\0')
		snprintf(msg, msglen, "out of memory");
	return err;
}
