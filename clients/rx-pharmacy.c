/* rx-pharmacy: what a pharmacy's system does: find the prescriptions of the
 * patient at the counter (by their card, or by the id and access code on
 * their slip), claim one, dispense it, at once or in parts (or release the
 * claim); correct or withdraw its latest dispense the same day or the next.
 *
 *   rx-pharmacy CONN list PROOF                (PROOF: --card FILE --institution CODE)
 *   rx-pharmacy CONN list ID --access-code CODE
 *   rx-pharmacy CONN claim ID PROOF|--access-code CODE [--request-id HEX32]
 *   rx-pharmacy CONN release ID --claim TOKEN [--request-id HEX32]
 *   rx-pharmacy CONN inquire ID --claim TOKEN INQUIRY.json [--request-id HEX32]
 *   rx-pharmacy CONN dispense ID --claim TOKEN [RECORD.json] [--part N] [--request-id HEX32]
 *   rx-pharmacy CONN dispense ID --claim TOKEN --part N [--owe ITEM=QTY]... [--reason R] [--notes T]
 *   rx-pharmacy CONN amend ID RECORD.json [PROOF] [--request-id HEX32]
 *   rx-pharmacy CONN withdraw ID --reason REASON [--notes TEXT] [PROOF] [--request-id HEX32]
 *   rx-pharmacy CONN status ID [--body | --fhir] [PROOF|--access-code CODE]
 *   rx-pharmacy CONN watch [--count N]
 * CONN: [--broker EP[,EP...]] --key FILE --curve-key FILE --server-key Z85|FILE */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fhir.h"
#include "owed.h"
#include "rx_ids.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: rx-pharmacy [--broker EP[,EP...]] --key FILE --curve-key FILE --server-key Z85 COMMAND\n"
		   "  list --card FILE --institution CODE      the card's patient's open prescriptions\n"
		   "  list ID --access-code CODE               that prescription, from the patient's slip\n"
		   "  claim ID (--card FILE --institution CODE | --access-code CODE) [--request-id HEX32]\n"
		   "                                           claim a prescription for this pharmacy\n"
		   "  release ID --claim TOKEN [--request-id]  give a claim back\n"
		   "  inquire ID --claim TOKEN INQUIRY.json [--request-id HEX32]\n"
		   "                                           ask the prescriber (疑義照会): \"reason\",\n"
		   "                                           \"text\", \"proposed\" changes; or record\n"
		   "                                           one settled \"by_phone\".  DISPENSE waits\n"
		   "                                           for the answer (INQUIRY_PENDING)\n"
		   "  dispense ID --claim TOKEN [RECORD.json] [--part N] [--request-id HEX32]\n");
	fprintf(f, "                                           record the dispense: every item as\n"
		   "                                           prescribed, or what RECORD.json's \"lines\"\n"
		   "                                           say became of each (substituted, ...)\n"
		   "  dispense ID --claim TOKEN --part N [--owe ITEM=QTY]... [--reason REASON] [--notes TEXT]\n"
		   "                                           a part of the use: QTY units of item\n"
		   "                                           ITEM handed over now, the rest owed\n"
		   "                                           (REASON out_of_stock, the default,\n"
		   "                                           patient_request or other); every other\n"
		   "                                           item still owed handed over in full.\n"
		   "                                           Part 1 needs an --owe; a later part\n"
		   "                                           without one completes the use.  Parts\n"
		   "                                           are numbered by you, 1, 2, ...: a part\n"
		   "                                           sent again is ALREADY_DISPENSED\n"
		   "  amend ID RECORD.json [--request-id HEX32]\n"
		   "                                           correct this pharmacy's record of the\n"
		   "                                           latest dispensed use (RECORD.json as for\n"
		   "                                           dispense), until the end of the next day\n"
		   "  withdraw ID --reason REASON [--notes TEXT] [--request-id HEX32]\n"
		   "                                           take that dispense back (REASON:\n"
		   "                                           dispensed_in_error, not_collected,\n"
		   "                                           recorded_in_error, other): the use is\n"
		   "                                           open again, claimed by this pharmacy\n"
		   "                                           under the new \"claim\" printed;\n"
		   "                                           amend and withdraw read the status first\n"
		   "                                           (another key of the pharmacy that\n"
		   "                                           dispensed: with --card or --access-code)\n"
		   "  status ID [--body | --fhir] [--card ... | --access-code CODE]\n"
		   "                                           state (a later use of a refill or divided\n"
		   "                                           prescription may not be claimed before\n"
		   "                                           opens_at: NOT_YET_DUE); --body also prints\n"
		   "                                           the items (and part_days) and\n"
		   "                                           each dispense's lines; while\n"
		   "                                           PARTIALLY_DISPENSED, what is owed;\n"
		   "                                           --fhir prints a FHIR R4 Bundle of the\n"
		   "                                           MedicationRequests and MedicationDispenses\n"
		   "  watch [--count N]                        print this pharmacy's notices (new\n"
		   "                                           prescriptions of patients who nominated it,\n"
		   "                                           cancels, answers to its inquiries) as JSON\n"
		   "                                           lines, acknowledging each;\n"
		   "                                           runs until killed, or N notices\n"
		   "--access-code - reads the code from stdin.  Options: --broker EP[,EP...] (default\n"
		   CLI_DEFAULT_BROKER "; several: the nodes of one cluster), --broker-key HEX (pin\n"
		   "the broker's receipt key), --timeout SECONDS (default 4.5 s), --receipt FILE (keep\n"
		   "the signed receipt, mode 0600)\n");
}

/* RECORD.json (dispense, amend): its shape first, as nothing need be asked
 * of the broker if it is wrong.  Returns -1 with *rec the file (the
 * caller's, json_decref) and *lines and *notes (NULL if absent) inside it,
 * and *part its "part" (-1 if absent: proto/README 5.13); else the exit
 * code after printing what to fix. */
static int read_record(const char *path, json_t **rec, json_t **lines, json_t **notes, long *part)
{
	char msg[512];
	int code = -1;
	if ((*rec = cli_read_json(path, msg, sizeof msg)) == NULL)
		return cli_fail("%s", msg);
	*notes = json_object_get(*rec, "notes");
	*lines = json_object_get(*rec, "lines");
	json_t *pj = json_object_get(*rec, "part");
	*part = pj ? (json_is_integer(pj) ? (long)json_integer_value(pj) : -2) : -1;
	if (json_object_get(*rec, "items"))
		code = cli_fail("%s: \"items\" is the old record format and is no longer accepted: "
				"say what became of each prescribed item in \"lines\" "
				"([{\"item\": 1, \"outcome\": \"as_written\"}, ...])", path);
	else if (*lines == NULL)
		code = cli_fail("%s: no \"lines\": one per prescribed item, e.g. "
				"[{\"item\": 1, \"outcome\": \"as_written\"}]", path);
	else if (*notes && !json_is_string(*notes))
		code = cli_fail("%s: \"notes\" must be a string", path);
	else if (json_object_get(*rec, "inquiry") &&
		 (!json_is_integer(json_object_get(*rec, "inquiry")) ||
		  json_integer_value(json_object_get(*rec, "inquiry")) < 0 ||
		  json_integer_value(json_object_get(*rec, "inquiry")) > UINT32_MAX))
		code = cli_fail("%s: \"inquiry\" must be the number of the inquiry whose agreed changes the "
				"record follows", path);
	else if (pj && (*part < 0 || *part > RX_MAX_PARTS))
		code = cli_fail("%s: \"part\" must be a whole number 0..%d (0: the whole use at once)", path,
				RX_MAX_PARTS);
	if (code >= 0) {
		json_decref(*rec);
		*rec = NULL;
	}
	return code;
}

/* What dispense was asked for on the command line. */
typedef struct {
	const char *record;                /* RECORD.json, or NULL */
	long part;                         /* --part N, -1 if not given */
	uint32_t owe_item[RX_MAX_ITEMS];   /* --owe ITEM=QTY, as given */
	uint32_t owe_qty[RX_MAX_ITEMS];
	size_t n_owe;
	const char *reason;                /* --reason for the --owe lines (NULL: out_of_stock) */
	const char *notes;                 /* --notes, without a record file */
} dispense_args_t;

/* DISPENSE ID: sign a record of what became of each prescribed item and
 * send it.  Without RECORD.json every item is handed over as written; with
 * it, its "lines" (cli_lines_from_json), "notes" and "part".  A part of a
 * use handed over in parts (proto/README 5.13) is numbered by the
 * pharmacist (--part or "part"), never guessed from the state: a part sent
 * again after a lost reply must come back ALREADY_DISPENSED, not become the
 * next part.  Its lines are checked against what was owed before it, as
 * STATUS's earlier parts say; --owe makes them without a file.  A record
 * the pharmacist must fix is a local error (exit 1) naming the line,
 * before anything is signed; the broker's refusals (SUBSTITUTION_NOT_ALLOWED,
 * DIFFERENT_INGREDIENT, ...) are printed with its message.  A part prints
 * its "part" and, while the use is PARTIALLY_DISPENSED, what it left
 * "owed". */
static int dispense(rxc_t *c, const rx_keypair_t *kp, const char *id, const uint8_t *token,
		    const dispense_args_t *a, const uint8_t *rid, const char *broker)
{
	rxc_result_t st = {0}, r;
	char msg[512];
	json_t *rec = NULL, *lines_json = NULL, *notes = NULL, *made = NULL, *extra = NULL;
	Rx__DispenseRecord d = RX__DISPENSE_RECORD__INIT;
	long part = a->part;
	owed_t all, before;
	int code;

	if (a->record) {
		long in_file;
		if ((code = read_record(a->record, &rec, &lines_json, &notes, &in_file)) >= 0)
			return code;
		if (in_file >= 0 && part >= 0 && in_file != part) {
			code = cli_fail("%s says \"part\": %ld but --part %ld was given", a->record, in_file, part);
			goto done;
		}
		if (in_file >= 0)
			part = in_file;
	}

	/* The record names the prescription (canonical id) and accounts for
	 * each of its items: the prescription comes from STATUS. */
	if (rxc_status(c, id, NULL, &st) != RX_OK) {
		code = cli_print_result(&st, NULL, broker, id); /* frees st */
		goto done;
	}
	if (st.prescription == NULL) {
		code = cli_fail("the broker's STATUS of %s carried no prescription to dispense", id);
		goto done;
	}
	owed_read(&st, 0, &all);
	if (st.receipt->state == RX__STATE__PARTIALLY_DISPENSED && part < 1) {
		code = cli_fail("part %u of use %u of %s was handed over last: number this record, the next "
				"part, with --part %u (or \"part\": %u in the record file)",
				all.parts, all.use, st.receipt->prescription_id, all.parts + 1, all.parts + 1);
		goto done;
	}
	if (part < 0)
		part = 0;
	if (part == 1 && !a->record && a->n_owe == 0) {
		code = cli_fail("--part 1 leaves an item owed: say what is handed over now with --owe ITEM=QTY");
		goto done;
	}
	/* What was owed before this part: everything, before the first. */
	owed_read(&st, part > 1 ? (uint32_t)part : 1, &before);
	if (!a->record && part &&
	    owed_lines_json(&before, st.prescription, a->owe_item, a->owe_qty, a->n_owe,
			    a->reason ? a->reason : "out_of_stock", &made, msg, sizeof msg)) {
		code = cli_fail("%s", msg);
		goto done;
	}
	if (made)
		lines_json = made;
	if (lines_json) {
		if (cli_lines_from_json(lines_json, st.prescription, before.owed, (uint32_t)part, &d.lines,
					&d.n_lines, msg, sizeof msg)) {
			code = cli_fail("%s: %s", a->record ? a->record : "--part/--owe", msg);
			goto done;
		}
	} else if (rxc_lines_as_written(st.prescription, &d.lines, &d.n_lines) != RX_OK) {
		code = cli_fail("out of memory");
		goto done;
	}
	d.version = RX_DOC_VERSION;
	d.prescription_id = st.receipt->prescription_id;
	d.pharmacy_key.data = (uint8_t *)kp->pk;
	d.pharmacy_key.len = RX_KEY_LEN;
	d.notes = notes ? (char *)json_string_value(notes) : a->notes ? (char *)a->notes : (char *)"";
	d.part = (uint32_t)part;
	/* the inquiry whose agreed changes it follows (proto/README 5.14) */
	d.inquiry = rec ? (uint32_t)json_integer_value(json_object_get(rec, "inquiry")) : 0;
	rxc_dispense(c, rid, d.prescription_id, token, &d, &r);
	if (part) {
		extra = json_pack("{s:I}", "part", (json_int_t)part);
		if (r.status == RX_OK && r.receipt && r.receipt->state == RX__STATE__PARTIALLY_DISPENSED) {
			owed_apply(&before, d.lines, d.n_lines);
			json_object_set_new(extra, "owed", owed_json(&before, st.prescription, 0));
		}
	}
	code = cli_print_result(&r, extra, broker, id);
done:
	rxc_lines_free(d.lines, d.n_lines);
	rxc_result_free(&st);
	json_decref(made);
	json_decref(rec);
	return code;
}

/* The record an AMEND or a WITHDRAW replaces (proto/README 5.12): the
 * current record of the latest dispensed use, the last the verified STATUS
 * st lists of use uses - uses_left (by its signed receipt).  Its place in
 * st's dispenses, or -1 if no use is dispensed now (none was, or the only
 * ones were withdrawn). */
static long latest_record(const rxc_result_t *st)
{
	const Rx__Receipt *rc = st->receipt;
	uint32_t use = rc->uses_left < rc->uses ? rc->uses - rc->uses_left : 0;
	long found = -1;
	for (size_t i = 0; use && i < st->n_dispenses && i < st->reply->n_dispenses; i++)
		if (st->reply->dispenses[i]->use == use)
			found = (long)i;
	/* rxc_status checked that the last of a use is current; a withdrawal
	 * is never the record of a dispensed use. */
	if (found >= 0 && (st->reply->dispenses[found]->superseded || st->dispenses[found]->withdraw_reason))
		return -1;
	return found;
}

/* AMEND ID RECORD.json (reason 0) or WITHDRAW ID --reason (reason a
 * Rx__WithdrawReason, notes its --notes or NULL): read the STATUS (with the
 * patient's proof if one was given: another key of the dispensing pharmacy
 * may need it), name the current record of the latest dispensed use in
 * replaces, sign and send.  The corrected record is checked as dispense
 * checks its own, before anything is signed; nothing dispensed now is a
 * local error.  Who may, and until when, is the broker's to say
 * (PERMISSION_DENIED, NOT_LATEST, AMEND_WINDOW_CLOSED).  A withdrawal's
 * receipt prints the new "claim": dispense again with it, or release it. */
static int replace(rxc_t *c, const rx_keypair_t *kp, const char *id, const char *record_path,
		   int reason, const char *notes_arg, const rxc_proof_t *proof, const uint8_t *rid,
		   const char *broker)
{
	rxc_result_t st = {0}, r;
	char msg[512];
	json_t *rec = NULL, *lines_json = NULL, *notes = NULL;
	Rx__DispenseRecord d = RX__DISPENSE_RECORD__INIT;
	uint8_t replaces[RX_HASH_LEN];
	int code;

	long part = -1;
	if (record_path && (code = read_record(record_path, &rec, &lines_json, &notes, &part)) >= 0)
		return code;
	if (part > 0) {
		json_decref(rec);
		return cli_fail("%s: \"part\": an amendment replaces the record of a use handed over at once "
				"(a use handed over in parts is not amended)", record_path);
	}
	if (rxc_status(c, id, proof, &st) != RX_OK) {
		code = cli_print_result(&st, NULL, broker, id); /* frees st */
		goto done;
	}
	long i = latest_record(&st);
	if (st.prescription == NULL || i < 0) {
		const char *verb = reason ? "withdraw" : "amend";
		if (st.prescription == NULL)
			code = cli_fail("the broker's STATUS of %s carried no prescription", id);
		else if (st.receipt->state == RX__STATE__PARTIALLY_DISPENSED)
			code = cli_fail("%s is PARTIALLY_DISPENSED: a use handed over in parts is not amended or "
					"withdrawn; dispense its next part", st.receipt->prescription_id);
		else
			code = cli_fail("no use of %s is dispensed now: there is no dispense to %s",
					st.receipt->prescription_id, verb);
		goto done;
	}
	const Rx__Signed *old = st.reply->dispenses[i]->record;
	rx_hash(old->body.data, old->body.len, replaces);
	if (record_path &&
	    cli_lines_from_json(lines_json, st.prescription, NULL, 0, &d.lines, &d.n_lines, msg, sizeof msg)) {
		code = cli_fail("%s: %s", record_path, msg);
		goto done;
	}
	d.version = RX_DOC_VERSION;
	d.prescription_id = st.receipt->prescription_id;
	d.use = st.reply->dispenses[i]->use;
	d.pharmacy_key.data = (uint8_t *)kp->pk;
	d.pharmacy_key.len = RX_KEY_LEN;
	d.replaces.data = replaces;
	d.replaces.len = RX_HASH_LEN;
	d.withdraw_reason = (Rx__WithdrawReason)reason;
	d.inquiry = rec ? (uint32_t)json_integer_value(json_object_get(rec, "inquiry")) : 0;
	d.notes = notes ? (char *)json_string_value(notes) : notes_arg ? (char *)notes_arg : (char *)"";
	if (reason)
		rxc_withdraw(c, rid, d.prescription_id, &d, &r);
	else
		rxc_amend(c, rid, d.prescription_id, &d, &r);
	code = cli_print_result(&r, NULL, broker, id);
done:
	rxc_lines_free(d.lines, d.n_lines);
	rxc_result_free(&st);
	json_decref(rec);
	return code;
}

/* INQUIRE ID --claim TOKEN INQUIRY.json: ask the prescriber (疑義照会,
 * proto/README 5.14), or record what was agreed on the telephone.  A file
 * the pharmacist must fix is a local error (exit 1) before anything is
 * signed; the broker's refusals (INQUIRY_PENDING, NOT_CLAIMED, ...) come
 * with its code.  The receipt prints the inquiry's number and whether it
 * is open. */
static int inquire(rxc_t *c, const char *id, const uint8_t *token, const char *path, const uint8_t *rid,
		   const char *broker)
{
	char msg[512];
	Rx__Inquiry q;
	rxc_result_t r;
	json_t *j = cli_read_json(path, msg, sizeof msg);
	if (j == NULL)
		return cli_fail("%s", msg);
	if (cli_inquiry_from_json(j, &q, msg, sizeof msg)) {
		json_decref(j);
		return cli_fail("%s: %s", path, msg);
	}
	rxc_inquire(c, rid, id, token, &q, &r);
	int code = cli_print_result(&r, NULL, broker, id);
	cli_inquiry_clear(&q);
	json_decref(j);
	return code;
}

static int list(rxc_t *c, const char *patient, const char *id, const rxc_proof_t *proof,
		const char *broker)
{
	rxc_result_t r;
	json_t *arr = json_array();
	char t[32];
	rxc_list(c, patient, id, proof, &r);
	if (r.status == RX_OK) {
		for (size_t i = 0; i < r.receipt->n_prescriptions; i++) {
			const Rx__Summary *s = r.receipt->prescriptions[i];
			cli_time(s->valid_until, t);
			json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:b}", "id", s->prescription_id,
					      "state", rx_state_name(s->state), "uses", (int)s->uses,
					      "uses_left", (int)s->uses_left, "valid_until", t, "institution",
					      s->institution_code, "cancel_pending", (int)s->cancel_pending);
			if (o && s->cancel_reason)
				json_object_set_new(o, "cancel_reason",
						    json_string(cli_cancel_reason_name((int)s->cancel_reason)));
			/* The next use of a refill or divided prescription is not open before. */
			if (o && s->opens_at) {
				cli_time(s->opens_at, t);
				json_object_set_new(o, "opens_at", json_string(t));
			}
			json_array_append_new(arr, o);
		}
	}
	return cli_print_result(&r, json_pack("{s:o}", "prescriptions", arr), broker, NULL);
}

/* s as a whole number 0..max into *out: 0, or -1 if it is not one. */
static int whole(const char *s, unsigned long max, uint32_t *out)
{
	char *end;
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* --owe ITEM=QTY into the next place of a: 0, or the exit code. */
static int owe_option(dispense_args_t *a, const char *arg)
{
	char item[16];
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : 0;
	if (a->n_owe == RX_MAX_ITEMS)
		return cli_fail("--owe: at most %d items", RX_MAX_ITEMS);
	if (eq == NULL || len == 0 || len >= sizeof item)
		return cli_fail("--owe %s: expected ITEM=QTY, e.g. --owe 2=10 (10 units of item 2 now)", arg);
	memcpy(item, arg, len);
	item[len] = '\0';
	if (whole(item, RX_MAX_ITEMS, &a->owe_item[a->n_owe]) || whole(eq + 1, UINT32_MAX, &a->owe_qty[a->n_owe]))
		return cli_fail("--owe %s: ITEM and QTY are whole numbers, e.g. --owe 2=10", arg);
	a->n_owe++;
	return 0;
}

int main(int argc, char **argv)
{
	cli_conn_t conn = CLI_CONN_INIT;
	const char *claim_hex = NULL, *patient = NULL, *reason_word = NULL, *notes = NULL;
	long count = 0;
	int want_body = 0, fhir = 0;
	dispense_args_t da = {.part = -1};
	uint32_t part;
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{"claim", required_argument, NULL, 'c'},
		{"patient", required_argument, NULL, 'P'},
		{"body", no_argument, NULL, 'B'},
		{"count", required_argument, NULL, 'n'},
		{"fhir", no_argument, NULL, 'F'},
		{"reason", required_argument, NULL, 300},
		{"notes", required_argument, NULL, 301},
		{"part", required_argument, NULL, 302},
		{"owe", required_argument, NULL, 303},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, CLI_CONN_LETTERS "c:P:BFn:h", opts, NULL)) != -1) {
		if (cli_conn_option(&conn, ch, optarg))
			continue;
		switch (ch) {
		case 'c': claim_hex = optarg; break;
		case 'P': patient = optarg; break;
		case 'B': want_body = 1; break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			if (count < 0)
				return cli_fail("--count must be 0 or more");
			break;
		case 'F': fhir = 1; break;
		case 300: reason_word = optarg; break;
		case 301: notes = optarg; break;
		case 302:
			if (whole(optarg, RX_MAX_PARTS, &part))
				return cli_fail("--part must be 0..%d (0: the whole use at once)", RX_MAX_PARTS);
			da.part = part;
			break;
		case 303:
			if (owe_option(&da, optarg))
				return 1;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	int nargs = argc - optind;
	char **args = argv + optind;
	const char *cmd = nargs > 0 ? args[0] : "";
	int ok = (strcmp(cmd, "list") == 0 && (nargs == 1 || nargs == 2)) ||
		 ((strcmp(cmd, "claim") == 0 || strcmp(cmd, "status") == 0) && nargs == 2) ||
		 (strcmp(cmd, "release") == 0 && nargs == 2 && claim_hex) ||
		 (strcmp(cmd, "inquire") == 0 && nargs == 3 && claim_hex) ||
		 (strcmp(cmd, "watch") == 0 && nargs == 1) ||
		 (strcmp(cmd, "dispense") == 0 && (nargs == 2 || nargs == 3) && claim_hex) ||
		 (strcmp(cmd, "amend") == 0 && nargs == 3 && !claim_hex) ||
		 (strcmp(cmd, "withdraw") == 0 && nargs == 2 && !claim_hex && reason_word);
	ok = ok && (!fhir || (strcmp(cmd, "status") == 0 && !want_body));
	int dispensing = strcmp(cmd, "dispense") == 0;
	/* --reason and --notes: a withdrawal's, or those of a part made without
	 * a record file (--owe's reason; the record's notes). */
	ok = ok && (strcmp(cmd, "withdraw") == 0 || (!reason_word && !notes) ||
		    (dispensing && nargs == 2 && (!reason_word || da.n_owe)));
	ok = ok && (dispensing || (da.part < 0 && da.n_owe == 0)) && (da.n_owe == 0 || nargs == 2);
	if (!ok) {
		usage(stderr);
		return cli_fail("expected: list --card FILE | list ID --access-code CODE | claim ID | "
				"release ID --claim TOKEN | inquire ID --claim TOKEN INQUIRY.json | dispense ID --claim TOKEN [RECORD.json] [--part N] | "
				"dispense ID --claim TOKEN --part N [--owe ITEM=QTY]... [--reason REASON] "
				"[--notes TEXT] | amend ID RECORD.json | withdraw ID --reason REASON [--notes TEXT] | "
				"status ID [--body | --fhir] | watch [--count N]");
	}
	if (da.n_owe && da.part < 0)
		return cli_fail("--owe makes a part of the use, the rest owed: number it with --part N "
				"(--part 1 for the first)");
	int reason = dispensing ? 0 : cli_withdraw_reason(reason_word);
	if (reason_word && !dispensing && reason == 0)
		return cli_fail("--reason must be dispensed_in_error, not_collected, recorded_in_error or other");
	int why = cli_line_reason(reason_word);
	if (reason_word && dispensing && why != RX__LINE_REASON__OUT_OF_STOCK &&
	    why != RX__LINE_REASON__PATIENT_REQUEST && why != RX__LINE_REASON__OTHER_REASON)
		return cli_fail("--reason with --owe must be out_of_stock, patient_request or other");
	da.record = nargs == 3 && dispensing ? args[2] : NULL;
	da.reason = reason_word;
	da.notes = notes;
	uint8_t token[RX_TOKEN_LEN];
	if (claim_hex && rx_unhex(claim_hex, token, RX_TOKEN_LEN) != RX_OK)
		return cli_fail("--claim must be the 32 hex digits the claim printed");

	rx_keypair_t kp;
	uint8_t rid[RX_REQUEST_ID_LEN];
	rxc_t *c;
	int code = cli_connect(&conn, &kp, rid, &c);
	if (code >= 0)
		return code;
	const char *broker = conn.broker;
	rxc_result_t r;
	rxc_proof_t proof;
	Rx__Signed card = RX__SIGNED__INIT;
	char access[64];
	code = cli_proof(&conn, RX__PURPOSE__PURPOSE_DISPENSE, &proof, &card, access);
	if (code >= 0) {
		rxc_destroy(&c);
		return code;
	}
	if (strcmp(cmd, "watch") == 0) {
		code = cli_watch(c, count, "rx-pharmacy", NULL, NULL);
	} else if (strcmp(cmd, "list") == 0) {
		code = list(c, patient, nargs == 2 ? args[1] : NULL, &proof, broker);
	} else if (strcmp(cmd, "claim") == 0) {
		rxc_claim(c, rid, args[1], &proof, &r);
		code = cli_print_result(&r, NULL, broker, args[1]);
	} else if (strcmp(cmd, "release") == 0) {
		rxc_release(c, rid, args[1], token, &r);
		code = cli_print_result(&r, NULL, broker, args[1]);
	} else if (strcmp(cmd, "inquire") == 0) {
		code = inquire(c, args[1], token, args[2], rid, broker);
	} else if (strcmp(cmd, "dispense") == 0) {
		code = dispense(c, &kp, args[1], token, &da, rid, broker);
	} else if (strcmp(cmd, "amend") == 0 || strcmp(cmd, "withdraw") == 0) {
		code = replace(c, &kp, args[1], reason ? NULL : args[2], reason, notes, &proof, rid, broker);
	} else if (fhir) {
		rxc_status(c, args[1], &proof, &r);
		code = fhir_print_status(&r, broker, args[1]);
	} else {
		rxc_status(c, args[1], &proof, &r);
		/* The body is patient data: printed only when asked for; without
		 * it, what a use handed over in parts owes is item numbers and
		 * quantities only. */
		json_t *extra = owed_status_json(&r, want_body);
		/* What was asked of the prescriber, and its answers (5.14);
		 * without --body, what was written and which products were
		 * named are left out, as the items are. */
		if (r.status == RX_OK && r.reply->n_inquiries) {
			json_t *inq = cli_inquiries_json(&r), *q;
			size_t i;
			json_array_foreach(inq, i, q) {
				static const char *const said[] = {"text", "proposed", "agreed"};
				json_t *parts[] = {q, json_object_get(q, "by_phone"), json_object_get(q, "answer")};
				for (size_t k = 0; !want_body && k < 3; k++)
					for (size_t m = 0; json_is_object(parts[k]) && m < 3; m++)
						json_object_del(parts[k], said[m]);
			}
			if (extra == NULL)
				extra = json_object();
			json_object_set_new(extra, "inquiries", inq);
		}
		if (want_body && r.status == RX_OK && r.prescription) {
			json_t *body = json_pack("{s:o, s:o}", "prescription", cli_prescription_json(r.prescription),
						 "dispenses", cli_dispenses_json(&r));
			if (extra && body)
				json_object_update(body, extra);
			json_decref(extra);
			extra = body;
		}
		code = cli_print_result(&r, extra, broker, args[1]);
	}
	if (proof.card)
		rxc_signed_free(&card);
	sodium_memzero(access, sizeof access);
	rxc_destroy(&c);
	return code;
}
