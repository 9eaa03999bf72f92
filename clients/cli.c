/* cli: shared helpers of the command-line tools (see cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <sodium.h>

#include "cli_int.h"
#include "rx_check.h"
#include "rx_ids.h"
#include "rx_types.h"

/* --receipt FILE: where to keep the broker's signed receipt.  The receipt
 * may hold the access code and the patient id, so it goes to a private file,
 * never to stdout. */
static const char *receipt_path;

int cli_exit_code(rx_err_t err)
{
	if (err == RX_OK)
		return 0;
	return rx_err_is_wire((int)err) ? 2 : 1;
}

int cli_finish(json_t *extra, rx_err_t status, const char *msg)
{
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string(rx_err_name(status)));
	if (status != RX_OK)
		json_object_set_new(o, "message", json_string(msg ? msg : rx_strerror(status)));
	if (extra) {
		json_object_update_missing(o, extra);
		json_decref(extra);
	}
	char *s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	if (s) {
		puts(s);
		free(s);
	}
	fflush(stdout);
	json_decref(o);
	if (status != RX_OK && msg)
		fprintf(stderr, "%s: %s\n", rx_err_name(status), msg);
	return cli_exit_code(status);
}

int cli_fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return cli_finish(NULL, RX_SYSTEM, msg);
}

int cli_load_key(const char *path, rx_keypair_t *kp, char *msg, size_t msglen)
{
	if (path == NULL) {
		snprintf(msg, msglen, "--key FILE is required (make one with rx-keygen)");
		return -1;
	}
	switch (rx_key_load(path, kp)) {
	case RX_OK:
		return 0;
	case RX_NOT_FOUND:
		snprintf(msg, msglen, "key file %s does not exist", path);
		break;
	case RX_PERMISSION_DENIED:
		snprintf(msg, msglen, "key file %s is readable by others; chmod 600 it", path);
		break;
	case RX_INVALID:
		snprintf(msg, msglen, "key file %s is not an rx key (64 hex digits)", path);
		break;
	default:
		snprintf(msg, msglen, "cannot read key file %s", path);
	}
	return -1;
}

int cli_request_id(const char *hex, uint8_t rid[RX_REQUEST_ID_LEN])
{
	if (hex == NULL) {
		rxc_request_id(rid);
		return 0;
	}
	return rx_unhex(hex, rid, RX_REQUEST_ID_LEN) == RX_OK ? 0 : -1;
}

void cli_time(int64_t t, char out[32])
{
	time_t jst = (time_t)(t + 9 * 3600);
	struct tm tm;
	gmtime_r(&jst, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S+09:00", &tm);
}

json_t *cli_hex(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);
	if (h == NULL)
		return json_null();
	rx_hex(p, n, h);
	json_t *s = json_string(h);
	free(h);
	return s;
}

const char *cli_str_field(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The prescriber's marks (proto/README 5.10): one table for reading and
 * printing them. */
static const struct {
	const char *key;
	size_t offset;
} marks[] = {
	{"no_change", offsetof(Rx__Item, no_change)},
	{"medical_necessity", offsetof(Rx__Item, medical_necessity)},
	{"no_form_change", offsetof(Rx__Item, no_form_change)},
	{"no_strength_change", offsetof(Rx__Item, no_strength_change)},
};
#define NMARKS (sizeof marks / sizeof marks[0])

static protobuf_c_boolean *mark(Rx__Item *it, size_t k)
{
	return (protobuf_c_boolean *)((char *)it + marks[k].offset);
}

static int mark_set(const Rx__Item *it, size_t k)
{
	return *(const protobuf_c_boolean *)((const char *)it + marks[k].offset) != 0;
}

static int has_marks(const Rx__Item *it)
{
	int any = 0;
	for (size_t k = 0; k < NMARKS; k++)
		any |= mark_set(it, k);
	return any;
}

/* One item from object o into *it (strings into o); what names it in msg
 * ("item 2", "line 1: \"handed\"").  0, or -1 with msg set. */
int cli_item_from_json(json_t *o, const char *what, Rx__Item *it, char *msg, size_t msglen)
{
	static const char *const names[] = {"drug_code", "name", "dose", "unit", "usage"};
	json_t *days = json_object_get(o, "days"), *qty = json_object_get(o, "quantity");
	const char *v[5];
	rx__item__init(it);
	if (!json_is_object(o)) {
		snprintf(msg, msglen, "%s must be an object", what);
		return -1;
	}
	for (int f = 0; f < 5; f++) {
		if ((v[f] = cli_str_field(o, names[f])) == NULL) {
			snprintf(msg, msglen, "%s needs a string \"%s\"", what, names[f]);
			return -1;
		}
	}
	if (!json_is_integer(days) || !json_is_integer(qty) || json_integer_value(days) < 0 ||
	    json_integer_value(qty) < 0 || json_integer_value(days) > UINT32_MAX ||
	    json_integer_value(qty) > UINT32_MAX) {
		snprintf(msg, msglen, "%s needs whole numbers \"days\" and \"quantity\"", what);
		return -1;
	}
	for (size_t k = 0; k < NMARKS; k++) {
		json_t *m = json_object_get(o, marks[k].key);
		if (m && !json_is_boolean(m)) {
			snprintf(msg, msglen, "%s: \"%s\" must be true or false", what, marks[k].key);
			return -1;
		}
		*mark(it, k) = json_is_true(m);
	}
	if (it->medical_necessity && !it->no_change) {
		snprintf(msg, msglen, "%s: \"medical_necessity\" (変更不可（医療上必要）) goes only with "
				      "\"no_change\": true", what);
		return -1;
	}
	it->drug_code = (char *)v[0];
	it->name = (char *)v[1];
	it->dose = (char *)v[2];
	it->unit = (char *)v[3];
	it->usage = (char *)v[4];
	it->days = (uint32_t)json_integer_value(days);
	it->quantity = (uint32_t)json_integer_value(qty);
	return 0;
}

int cli_items_from_json(json_t *arr, Rx__Item ***items, size_t *n, char *msg, size_t msglen)
{
	size_t count = json_array_size(arr);
	*items = NULL;
	*n = 0;
	if (!json_is_array(arr) || count == 0) {
		snprintf(msg, msglen, "\"items\" must be a non-empty array");
		return -1;
	}
	*items = calloc(count, sizeof **items);
	if (*items == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		char what[32];
		snprintf(what, sizeof what, "item %zu", i + 1);
		Rx__Item *it = malloc(sizeof *it);
		if (it == NULL)
			snprintf(msg, msglen, "out of memory");
		(*items)[i] = it;
		if (it == NULL || cli_item_from_json(json_array_get(arr, i), what, it, msg, msglen)) {
			cli_items_free(*items, count);
			*items = NULL;
			return -1;
		}
	}
	*n = count;
	return 0;
}

void cli_items_free(Rx__Item **items, size_t n)
{
	if (items == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

json_t *cli_item_to_json(const Rx__Item *it)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "drug_code", it->drug_code, "name",
			      it->name, "dose", it->dose, "unit", it->unit, "usage", it->usage, "days",
			      (json_int_t)it->days, "quantity", (json_int_t)it->quantity);
	for (size_t k = 0; o && k < NMARKS; k++)
		if (mark_set(it, k))
			json_object_set_new(o, marks[k].key, json_true());
	return o;
}

json_t *cli_items_to_json(Rx__Item *const *items, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, cli_item_to_json(items[i]));
	return a;
}

/* ---- dispense lines (proto/README 2.5, 5.10) ---- */

/* The words RECORD.json and the status output use for the wire's enums. */
static const char *const outcome_names[] = {
	[RX__OUTCOME__AS_WRITTEN] = "as_written",
	[RX__OUTCOME__SUBSTITUTED] = "substituted",
	[RX__OUTCOME__NOT_DISPENSED] = "not_dispensed",
	[RX__OUTCOME__PARTIAL] = "partial",
};
static const char *const reason_names[] = {
	[RX__LINE_REASON__GENERIC] = "generic",
	[RX__LINE_REASON__OUT_OF_STOCK] = "out_of_stock",
	[RX__LINE_REASON__PATIENT_REQUEST] = "patient_request",
	[RX__LINE_REASON__INQUIRY] = "inquiry",
	[RX__LINE_REASON__PATIENT_DECLINED] = "patient_declined",
	[RX__LINE_REASON__LEFTOVER] = "leftover",
	[RX__LINE_REASON__OTHER_REASON] = "other",
};
/* Why a dispense was withdrawn (proto/README 5.12): rx-pharmacy withdraw
 * --reason reads these words and the status output prints them. */
static const char *const withdraw_names[] = {
	[RX__WITHDRAW_REASON__DISPENSED_IN_ERROR] = "dispensed_in_error",
	[RX__WITHDRAW_REASON__NOT_COLLECTED] = "not_collected",
	[RX__WITHDRAW_REASON__RECORDED_IN_ERROR] = "recorded_in_error",
	[RX__WITHDRAW_REASON__OTHER_WITHDRAWAL] = "other",
};
#define NOUTCOMES (sizeof outcome_names / sizeof outcome_names[0])
#define NREASONS (sizeof reason_names / sizeof reason_names[0])
#define NWITHDRAW (sizeof withdraw_names / sizeof withdraw_names[0])

/* Which reasons each outcome takes, as a bit per LineReason, and the words
 * for the pharmacist (the rule is rx_check's, proto/README 2.5). */
static const struct {
	unsigned allowed;
	const char *says;
} outcome_reasons[] = {
	[RX__OUTCOME__AS_WRITTEN] = {1u << RX__LINE_REASON__REASON_NONE | 1u << RX__LINE_REASON__PATIENT_REQUEST,
				     "an as_written line takes no \"reason\", or \"patient_request\""},
	[RX__OUTCOME__SUBSTITUTED] = {1u << RX__LINE_REASON__GENERIC | 1u << RX__LINE_REASON__OUT_OF_STOCK |
					      1u << RX__LINE_REASON__PATIENT_REQUEST |
					      1u << RX__LINE_REASON__INQUIRY,
				      "a substituted line needs a \"reason\": \"generic\", \"out_of_stock\", "
				      "\"patient_request\" or \"inquiry\""},
	[RX__OUTCOME__NOT_DISPENSED] = {1u << RX__LINE_REASON__OUT_OF_STOCK | 1u << RX__LINE_REASON__INQUIRY |
						1u << RX__LINE_REASON__PATIENT_DECLINED |
						1u << RX__LINE_REASON__LEFTOVER |
						1u << RX__LINE_REASON__OTHER_REASON,
					"a not_dispensed line needs a \"reason\": \"out_of_stock\", \"inquiry\", "
					"\"patient_declined\", \"leftover\" or \"other\""},
	[RX__OUTCOME__PARTIAL] = {1u << RX__LINE_REASON__OUT_OF_STOCK | 1u << RX__LINE_REASON__PATIENT_REQUEST |
					  1u << RX__LINE_REASON__OTHER_REASON,
				  "a partial line needs a \"reason\": \"out_of_stock\", \"patient_request\" or "
				  "\"other\""},
};

/* The enum value named s in names (n of them, gaps NULL), or -1. */
int cli_enum_of(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *cli_enum_name(const char *const *names, size_t n, int v)
{
	return v >= 0 && (size_t)v < n && names[v] ? names[v] : "unknown";
}

int cli_withdraw_reason(const char *s)
{
	int v = cli_enum_of(withdraw_names, NWITHDRAW, s);
	return v > 0 ? v : 0;
}

static const char *const cancel_names[] = {
	[RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR] = "prescribing_error",
	[RX__CANCEL_REASON__CANCEL_PATIENT_REQUEST] = "patient_request",
	[RX__CANCEL_REASON__CANCEL_THERAPY_CHANGED] = "therapy_changed",
	[RX__CANCEL_REASON__CANCEL_DUPLICATE] = "duplicate",
	[RX__CANCEL_REASON__CANCEL_OTHER] = "other",
};
#define NCANCEL (sizeof cancel_names / sizeof cancel_names[0])

int cli_cancel_reason(const char *s)
{
	int v = cli_enum_of(cancel_names, NCANCEL, s);
	return v > 0 ? v : 0;
}

const char *cli_cancel_reason_name(int reason)
{
	return reason > 0 && (size_t)reason < NCANCEL ? cancel_names[reason] : "not_stated";
}

/* Line i of the file (o) onto its prescribed item's line l, which holds
 * that item as written (rxc_lines_as_written).  0, or -1 with msg set. */
static int line_from_json(json_t *o, size_t i, const Rx__Item *prescribed, Rx__Line *l, char *msg,
			  size_t msglen)
{
	const char *s = cli_str_field(o, "outcome");
	json_t *reason = json_object_get(o, "reason"), *handed = json_object_get(o, "handed");
	int outcome = cli_enum_of(outcome_names, NOUTCOMES, s), why = RX__LINE_REASON__REASON_NONE;
	if (outcome < 0) {
		snprintf(msg, msglen, "line %zu: \"outcome\" must be \"as_written\", \"substituted\", "
				      "\"not_dispensed\" or \"partial\"", i + 1);
		return -1;
	}
	if (reason && (why = cli_enum_of(reason_names, NREASONS, json_string_value(reason))) < 0) {
		snprintf(msg, msglen, "line %zu: \"reason\" must be one of \"generic\", \"out_of_stock\", "
				      "\"patient_request\", \"inquiry\", \"patient_declined\", \"leftover\", "
				      "\"other\"", i + 1);
		return -1;
	}
	if (!(outcome_reasons[outcome].allowed & 1u << why)) {
		snprintf(msg, msglen, "line %zu: %s", i + 1, outcome_reasons[outcome].says);
		return -1;
	}
	l->outcome = (Rx__Outcome)outcome;
	l->reason = (Rx__LineReason)why;
	if (outcome == RX__OUTCOME__NOT_DISPENSED) {
		if (handed) {
			snprintf(msg, msglen, "line %zu: a not_dispensed line hands nothing over: no \"handed\"",
				 i + 1);
			return -1;
		}
		l->handed = NULL; /* its storage is the line's own (rxc_lines_free) */
		return 0;
	}
	if (handed == NULL) {
		if (outcome == RX__OUTCOME__AS_WRITTEN)
			return 0; /* the prescribed item, as rxc_lines_as_written made it */
		snprintf(msg, msglen, "line %zu: a %s line needs \"handed\": the product handed over", i + 1,
			 outcome_names[outcome]);
		return -1;
	}
	char what[48];
	const char *field, *bad;
	Rx__Item it;
	snprintf(what, sizeof what, "line %zu: \"handed\"", i + 1);
	if (cli_item_from_json(handed, what, &it, msg, msglen))
		return -1;
	if (has_marks(&it)) {
		snprintf(msg, msglen, "line %zu: \"handed\" carries no marks (no_change, medical_necessity, "
				      "no_form_change, no_strength_change): they are the prescriber's", i + 1);
		return -1;
	}
	if (rx_check_item(&it, &field, &bad) != RX_OK) {
		snprintf(msg, msglen, "line %zu: \"handed\": %s", i + 1, bad);
		return -1;
	}
	int same = strcmp(it.drug_code, prescribed->drug_code) == 0;
	if (outcome == RX__OUTCOME__AS_WRITTEN && !same) {
		snprintf(msg, msglen, "line %zu: an as_written line hands over the prescribed product %s; "
				      "another product is \"substituted\"", i + 1, prescribed->drug_code);
		return -1;
	}
	if (outcome == RX__OUTCOME__SUBSTITUTED && same) {
		snprintf(msg, msglen, "line %zu: \"handed\" is the prescribed product %s itself: that line "
				      "is \"as_written\"", i + 1, prescribed->drug_code);
		return -1;
	}
	*l->handed = it;
	return 0;
}

int cli_line_reason(const char *s)
{
	int v = cli_enum_of(reason_names, NREASONS, s);
	return v > 0 ? v : 0;
}

uint32_t cli_days_of(const Rx__Item *it, uint32_t qty)
{
	if (it->quantity == 0 || qty >= it->quantity)
		return it->days;
	uint64_t d = (uint64_t)it->days * qty / it->quantity;
	return d ? (uint32_t)d : 1;
}

/* What is owed of item k (from 0) of p: owed's, or (NULL) all of it. */
static uint32_t owe(const Rx__Prescription *p, const uint32_t *owed, size_t k)
{
	return owed ? owed[k] : p->items[k]->quantity;
}

int cli_lines_from_json(json_t *arr, const Rx__Prescription *p, const uint32_t *owed, uint32_t part,
			Rx__Line ***lines, size_t *n, char *msg, size_t msglen)
{
	size_t count = json_array_size(arr), nl = 0, handed = 0, partial = 0, kept = 0, *from = NULL;
	Rx__Line **l = NULL;
	*lines = NULL;
	*n = 0;
	if (!json_is_array(arr) || count == 0) {
		snprintf(msg, msglen, "\"lines\" must be a non-empty array: one line per prescribed item");
		return -1;
	}
	/* Every line starts as its item handed over as written (what is still
	 * owed of it, in a later part); the file says what else became of it.
	 * from[k]: the file's line for item k, from 1. */
	if (rxc_lines_as_written(p, &l, &nl) != RX_OK || (from = calloc(nl ? nl : 1, sizeof *from)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto fail;
	}
	for (size_t k = 0; owed && k < nl; k++) {
		if (owed[k] && owed[k] < p->items[k]->quantity) {
			l[k]->handed->days = cli_days_of(p->items[k], owed[k]);
			l[k]->handed->quantity = owed[k];
		}
	}
	for (size_t i = 0; i < count; i++) {
		json_t *o = json_array_get(arr, i), *item = json_object_get(o, "item");
		if (!json_is_object(o)) {
			snprintf(msg, msglen, "line %zu must be an object", i + 1);
			goto fail;
		}
		if (!json_is_integer(item) || json_integer_value(item) < 1 ||
		    (size_t)json_integer_value(item) > nl) {
			snprintf(msg, msglen, "line %zu: \"item\" must be the number of a prescribed item, 1..%zu",
				 i + 1, nl);
			goto fail;
		}
		size_t k = (size_t)json_integer_value(item) - 1;
		if (owe(p, owed, k) == 0) {
			snprintf(msg, msglen, "line %zu: nothing of item %zu is owed now: a part lists only the "
					      "items still owed", i + 1, k + 1);
			goto fail;
		}
		if (from[k]) {
			snprintf(msg, msglen, "line %zu: item %zu already has line %zu", i + 1, k + 1, from[k]);
			goto fail;
		}
		from[k] = i + 1;
		if (line_from_json(o, i, p->items[k], l[k], msg, msglen))
			goto fail;
		if (l[k]->outcome == RX__OUTCOME__PARTIAL && l[k]->handed->quantity >= owe(p, owed, k)) {
			snprintf(msg, msglen, "line %zu: a partial line hands over less than the %u units of item "
					      "%zu still owed; all of them is \"as_written\" or \"substituted\"",
				 i + 1, owe(p, owed, k), k + 1);
			goto fail;
		}
		handed += l[k]->outcome != RX__OUTCOME__NOT_DISPENSED;
		partial += l[k]->outcome == RX__OUTCOME__PARTIAL;
	}
	/* A line left out is an error, not "as written": the record is the
	 * pharmacist's signed account of every item (still owed). */
	for (size_t k = 0; k < nl; k++) {
		if (from[k] || owe(p, owed, k) == 0)
			continue;
		if (part < 2)
			snprintf(msg, msglen, "item %zu (%s) has no line: list every prescribed item, "
					      "\"outcome\": \"as_written\" if it was handed over as prescribed",
				 k + 1, p->items[k]->drug_code);
		else
			snprintf(msg, msglen, "item %zu (%s) is still owed %u units and has no line: a part "
					      "lists every item still owed", k + 1, p->items[k]->drug_code, owe(p, owed, k));
		goto fail;
	}
	/* The rules of parts (proto/README 5.13), said before anything is signed. */
	int broken = 1;
	if (handed == 0 && part < 2)
		snprintf(msg, msglen, "every line is not_dispensed: with nothing handed over, release the "
				      "claim instead");
	else if (partial && part == 0)
		snprintf(msg, msglen, "a record with a partial line leaves items owed: it is a part, "
				      "numbered (\"part\": 1, or --part 1, for the first)");
	else if (!partial && part == 1)
		snprintf(msg, msglen, "part 1 leaves an item owed: mark it \"partial\" (a use handed over at "
				      "once is no part: leave \"part\" out)");
	else if (partial && part >= RX_MAX_PARTS)
		snprintf(msg, msglen, "a use is handed over in at most %d parts: part %d leaves nothing owed",
			 RX_MAX_PARTS, RX_MAX_PARTS);
	else
		broken = 0;
	if (broken)
		goto fail;
	/* The lines of the items owed, in the prescription's order; the others
	 * (and l itself) go back to rxc_lines_free. */
	Rx__Line **keep = calloc(nl ? nl : 1, sizeof *keep);
	size_t dropped = 0;
	if (keep == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto fail;
	}
	for (size_t k = 0; k < nl; k++) {
		if (owe(p, owed, k))
			keep[kept++] = l[k];
		else
			l[dropped++] = l[k];
	}
	rxc_lines_free(l, dropped);
	free(from);
	*lines = keep;
	*n = kept;
	return 0;
fail:
	free(from);
	rxc_lines_free(l, nl);
	return -1;
}

json_t *cli_lines_to_json(Rx__Line *const *lines, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		const Rx__Line *l = lines[i];
		json_t *o = json_pack("{s:I, s:s}", "item", (json_int_t)l->item, "outcome",
				      cli_enum_name(outcome_names, NOUTCOMES, (int)l->outcome));
		if (l->reason != RX__LINE_REASON__REASON_NONE)
			json_object_set_new(o, "reason", json_string(cli_enum_name(reason_names, NREASONS, (int)l->reason)));
		if (l->handed)
			json_object_set_new(o, "handed", cli_item_to_json(l->handed));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *cli_prescription_json(const Rx__Prescription *p)
{
	char t[32];
	cli_time(p->issued_at, t);
	json_t *o = json_pack("{s:s, s:s, s:o, s:s}", "patient_id", p->patient_id, "issued_at", t, "items",
			      cli_items_to_json(p->items, p->n_items), "notes", p->notes);
	/* A divided prescription: each part's days, in the order of its uses. */
	if (o && p->n_part_days) {
		json_t *a = json_array();
		for (size_t i = 0; i < p->n_part_days; i++)
			json_array_append_new(a, json_integer(p->part_days[i]));
		json_object_set_new(o, "part_days", a);
	}
	return o;
}

json_t *cli_dispenses_json(const rxc_result_t *r)
{
	json_t *a = json_array();
	char t[32];
	for (size_t i = 0; i < r->n_dispenses; i++) {
		const Rx__DispenseRecord *d = r->dispenses[i];
		/* rxc_status keeps them in the reply's order, its use and time checked. */
		const Rx__DispenseInfo *x = r->reply && i < r->reply->n_dispenses ? r->reply->dispenses[i] : NULL;
		json_t *o = json_object();
		if (x) {
			cli_time(x->at, t);
			json_object_set_new(o, "use", json_integer(x->use));
			/* a part of a use handed over in parts (proto/README 5.13) */
			if (d->part)
				json_object_set_new(o, "part", json_integer(d->part));
			json_object_set_new(o, "at", json_string(t));
			json_object_set_new(o, "institution", json_string(x->institution_code));
			/* amended or withdrawn since: kept, no longer the use's record */
			if (x->superseded)
				json_object_set_new(o, "superseded", json_true());
		}
		if (d->replaces.len)
			json_object_set_new(o, "replaces", cli_hex(d->replaces.data, d->replaces.len));
		if (d->withdraw_reason) /* a withdrawal gives the use back: it has no lines */
			json_object_set_new(o, "withdrawn", json_string(cli_enum_name(withdraw_names, NWITHDRAW,
										  (int)d->withdraw_reason)));
		else if (d->n_lines || d->n_items == 0)
			json_object_set_new(o, "lines", cli_lines_to_json(d->lines, d->n_lines));
		else /* stored before lines: what was handed over, item by item */
			json_object_set_new(o, "items", cli_items_to_json(d->items, d->n_items));
		json_object_set_new(o, "notes", json_string(d->notes));
		json_array_append_new(a, o);
	}
	return a;
}

/* The duplicate-medication check's findings, as the pharmacist or the
 * prescriber reads them. */
static json_t *warnings_json(Rx__Warning *const *w, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		const char *kind = w[i]->kind == RX__WARNING_KIND__DUPLICATE_INGREDIENT ? "DUPLICATE_INGREDIENT"
				   : w[i]->kind == RX__WARNING_KIND__UNKNOWN_DRUG	 ? "UNKNOWN_DRUG"
										 : "UNKNOWN";
		json_t *o = json_pack("{s:s, s:I, s:s}", "kind", kind, "item", (json_int_t)w[i]->item,
				      "drug_code", w[i]->drug_code);
		if (w[i]->kind == RX__WARNING_KIND__DUPLICATE_INGREDIENT) {
			json_object_set_new(o, "other_prescription_id", json_string(w[i]->other_prescription_id));
			json_object_set_new(o, "other_drug_code", json_string(w[i]->other_drug_code));
			json_object_set_new(o, "ingredient", json_string(w[i]->ingredient));
			json_object_set_new(o, "overlap_days", json_integer(w[i]->overlap_days));
		}
		json_object_set_new(o, "message", json_string(w[i]->message));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *cli_result_json(const rxc_result_t *r)
{
	json_t *o = json_object();
	char t[32];
	json_object_set_new(o, "request_id", cli_hex(r->request_id, RX_REQUEST_ID_LEN));
	/* DUPLICATE_MEDICATION: what was found, so the prescriber can decide. */
	if (r->status != RX_OK && r->reply && r->reply->n_warnings)
		json_object_set_new(o, "warnings", warnings_json(r->reply->warnings, r->reply->n_warnings));
	if (r->status != RX_OK || r->receipt == NULL)
		return o;
	const Rx__Receipt *rc = r->receipt;
	if (rc->prescription_id[0])
		json_object_set_new(o, "id", json_string(rc->prescription_id));
	if (rc->state)
		json_object_set_new(o, "state", json_string(rx_state_name(rc->state)));
	if (rc->prescription_id[0]) {
		json_object_set_new(o, "uses_left", json_integer(rc->uses_left));
		json_object_set_new(o, "cancel_pending", json_boolean(rc->cancel_pending));
		if (rc->cancel_reason) /* cancelled, or being cancelled: why */
			json_object_set_new(o, "cancel_reason",
					    json_string(cli_cancel_reason_name((int)rc->cancel_reason)));
	}
	if (rc->valid_until) {
		cli_time(rc->valid_until, t);
		json_object_set_new(o, "valid_until", json_string(t));
	}
	/* A later use of a refill or divided prescription: its window opens then. */
	if (rc->opens_at) {
		cli_time(rc->opens_at, t);
		json_object_set_new(o, "opens_at", json_string(t));
	}
	if (rc->uses)
		json_object_set_new(o, "uses", json_integer(rc->uses));
	if (rc->issued_at) {
		cli_time(rc->issued_at, t);
		json_object_set_new(o, "issued_at", json_string(t));
	}
	if (rc->institution_code[0])
		json_object_set_new(o, "institution", json_string(rc->institution_code));
	if (rc->patient_id[0])
		json_object_set_new(o, "patient_id", json_string(rc->patient_id));
	if (rc->claim_token.len == RX_TOKEN_LEN)
		json_object_set_new(o, "claim", cli_hex(rc->claim_token.data, RX_TOKEN_LEN));
	if (rc->use)
		json_object_set_new(o, "use", json_integer(rc->use));
	/* INQUIRE, INQUIRY_REPLY: the inquiry's number; whether one waits. */
	if (rc->inquiry)
		json_object_set_new(o, "inquiry", json_integer(rc->inquiry));
	if (rc->prescription_id[0])
		json_object_set_new(o, "inquiry_open", json_boolean(rc->inquiry_open));
	cli_time(rc->at, t);
	json_object_set_new(o, "at", json_string(t));
	json_object_set_new(o, "broker_key", cli_hex(rc->broker_key.data, rc->broker_key.len));
	uint8_t h[RX_HASH_LEN];
	rx_hash(r->reply->receipt.data, r->reply->receipt.len, h);
	json_object_set_new(o, "receipt_hash", cli_hex(h, RX_HASH_LEN));
	json_object_set_new(o, "receipt_signature",
			    cli_hex(r->reply->receipt_signature.data, r->reply->receipt_signature.len));
	if (rc->n_warnings)
		json_object_set_new(o, "warnings", warnings_json(rc->warnings, rc->n_warnings));
	return o;
}

json_t *cli_read_json(const char *path, char *msg, size_t msglen)
{
	json_error_t e;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL)
		snprintf(msg, msglen, "%s:%d: %s", path, e.line, e.text);
	else if (!json_is_object(j)) {
		snprintf(msg, msglen, "%s: expected a JSON object", path);
		json_decref(j);
		j = NULL;
	}
	return j;
}

const char *cli_receipt_path(void)
{
	return receipt_path;
}

int cli_write_receipt(const rxc_result_t *r, const char *path)
{
	if (path == NULL || r->status != RX_OK || r->reply == NULL)
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	char *rc = malloc(2 * r->reply->receipt.len + 1), sig[2 * RX_SIG_LEN + 1] = "",
	     key[2 * RX_KEY_LEN + 1] = "";
	if (rc == NULL) {
		fclose(f);
		return -1;
	}
	rx_hex(r->reply->receipt.data, r->reply->receipt.len, rc);
	if (r->reply->receipt_signature.len == RX_SIG_LEN)
		rx_hex(r->reply->receipt_signature.data, RX_SIG_LEN, sig);
	if (r->receipt && r->receipt->broker_key.len == RX_KEY_LEN)
		rx_hex(r->receipt->broker_key.data, RX_KEY_LEN, key);
	int ok = fprintf(f, "receipt = %s\nsignature = %s\nbroker_key = %s\n", rc, sig, key) > 0;
	free(rc);
	return fclose(f) == 0 && ok ? 0 : -1;
}

int cli_proof(const cli_conn_t *o, int purpose, rxc_proof_t *proof, Rx__Signed *card, char code[64])
{
	memset(proof, 0, sizeof *proof);
	code[0] = '\0';
	if (o->card_file && o->access_code)
		return cli_fail("give --card or --access-code, not both");
	if (o->card_file) {
		rx_keypair_t kp;
		char msg[512];
		if (o->institution == NULL)
			return cli_fail("--card needs --institution CODE: where the card reader is");
		if (cli_load_key(o->card_file, &kp, msg, sizeof msg))
			return cli_fail("card: %s", msg);
		rx_err_t err = rxc_card_assertion(&kp, purpose, o->institution, (int64_t)time(NULL), card);
		sodium_memzero(&kp, sizeof kp);
		if (err != RX_OK)
			return cli_fail("out of memory");
		proof->card = card;
	} else if (o->access_code) {
		/* "-": read it from stdin, so it is in no process list. */
		if (strcmp(o->access_code, "-") == 0) {
			if (fgets(code, 64, stdin) == NULL)
				return cli_fail("no access code on stdin");
			code[strcspn(code, "\r\n")] = '\0';
		} else {
			snprintf(code, 64, "%s", o->access_code);
		}
		proof->access_code = code;
	}
	return -1;
}

int cli_print_result(rxc_result_t *r, json_t *extra, const char *broker, const char *id)
{
	if (cli_write_receipt(r, receipt_path) != 0)
		fprintf(stderr, "warning: could not write the receipt to %s\n", receipt_path);
	json_t *o = cli_result_json(r);
	char canon[RX_ID_LEN + 1];
	/* A refusal still names the prescription it was about. */
	if (id && json_object_get(o, "id") == NULL)
		json_object_set_new(o, "id", json_string(rx_rxid_parse(id, canon) == RX_OK ? canon : id));
	if (extra) {
		json_object_update(o, extra);
		json_decref(extra);
	}
	if (r->status == RX_UNREACHABLE)
		snprintf(r->message, sizeof r->message,
			 strchr(broker, ',')
				 ? "no broker at %s answered in time (is rxd running on one of these "
				   "nodes, and this institution's curve key registered?)"
				 : "the broker at %s did not answer in time (is rxd running, and this "
				   "institution's curve key registered?)",
			 broker);
	int code = cli_finish(o, r->status, r->message);
	rxc_result_free(r);
	return code;
}

int cli_conn_option(cli_conn_t *o, int ch, const char *arg)
{
	switch (ch) {
	case 256: o->card_file = arg; return 1;
	case 257: o->institution = arg; return 1;
	case 258: o->access_code = arg; return 1;
	case 259: receipt_path = arg; return 1;
	case 'b': o->broker = arg; return 1;
	case 'k': o->keyfile = arg; return 1;
	case 'r': o->rid_hex = arg; return 1;
	case 'p': o->pin_hex = arg; return 1;
	case 't': o->timeout_s = atoi(arg) > 0 ? atoi(arg) : -1; return 1;
	case 'C': o->curve_file = arg; return 1;
	case 'S': o->server_key = arg; return 1;
	default: return 0;
	}
}

/* The broker's CurveZMQ key: 40 characters of Z85, or a file holding them
 * (DATA/broker.curve.pub). */
static int server_key(const char *arg, uint8_t out[32])
{
	char line[128];
	if (rx_z85_decode(arg, out) == RX_OK)
		return 0;
	FILE *f = fopen(arg, "r");
	if (f == NULL)
		return -1;
	int ok = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return ok && rx_z85_decode(line, out) == RX_OK ? 0 : -1;
}

int cli_connect(const cli_conn_t *o, rx_keypair_t *kp, uint8_t rid[RX_REQUEST_ID_LEN], rxc_t **c)
{
	char msg[512];
	uint8_t pin[RX_KEY_LEN], srv[32];
	rx_curve_t curve;
	if (cli_load_key(o->keyfile, kp, msg, sizeof msg))
		return cli_fail("%s", msg);
	if (cli_request_id(o->rid_hex, rid))
		return cli_fail("--request-id must be 32 hex digits");
	if (o->pin_hex && rx_unhex(o->pin_hex, pin, RX_KEY_LEN) != RX_OK)
		return cli_fail("--broker-key must be 64 hex digits");
	if (o->timeout_s < 0 || o->timeout_s > 3600)
		return cli_fail("--timeout must be 1..3600 seconds");
	if (rxc_endpoints_check(o->broker, msg, sizeof msg) != RX_OK)
		return cli_fail("--broker: %s", msg);
	if (o->curve_file == NULL || o->server_key == NULL)
		return cli_fail("--curve-key FILE (the institution's, from rx-keygen --curve) and "
				"--server-key Z85 (rxd's, in DATA/broker.curve.pub) are required");
	switch (rx_curve_load(o->curve_file, &curve)) {
	case RX_OK:
		break;
	case RX_PERMISSION_DENIED:
		return cli_fail("curve key file %s is readable by others; chmod 600 it", o->curve_file);
	case RX_NOT_FOUND:
		return cli_fail("curve key file %s does not exist", o->curve_file);
	default:
		return cli_fail("%s is not a curve key file (rx-keygen --curve makes one)", o->curve_file);
	}
	if (server_key(o->server_key, srv) != 0)
		return cli_fail("--server-key must be rxd's CurveZMQ public key: 40 characters of Z85 "
				"or a file holding them");
	rxc_options_t ro = {.timeout_ms = o->timeout_s ? o->timeout_s * 1000 : CLI_DEFAULT_TIMEOUT_MS,
			    .broker_key = o->pin_hex ? pin : NULL,
			    .curve = &curve,
			    .server_key = srv};
	rx_err_t err = rxc_new(c, NULL, o->broker, kp, &ro);
	sodium_memzero(&curve, sizeof curve);
	if (err != RX_OK)
		return cli_fail("cannot connect to %s: libzmq refused an endpoint (a host name may "
				"hold only letters, digits, '-' and '.'; an ipc:// path at most 107 bytes)",
				o->broker);
	return -1;
}
