/* rx-clinic: what a clinic's EMR adapter does: submit a signed prescription
 * for the patient whose card is in the reader, cancel it, look at it.
 *
 *   rx-clinic CONN --card FILE --institution CODE submit RX.json [--slip FILE] [--override REASON]
 *             [--request-id HEX32]
 *   rx-clinic CONN --card FILE --institution CODE submit --fhir BUNDLE.json [--slip FILE] ...
 *   rx-clinic CONN cancel ID [--request-id HEX32]
 *   rx-clinic CONN status ID [--fhir]
 *   rx-clinic CONN --outbox DIR flush
 *   rx-clinic --outbox DIR pending
 * CONN: [--broker EP] --key FILE --curve-key FILE --server-key Z85|FILE
 * With --outbox DIR, submit and cancel keep what the broker did not answer
 * for a later delivery (clinic_outbox.h). */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clinic_outbox.h"
#include "fhir.h"
#include "owed.h"
#include "rx_check.h"
#include "rx_ids.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: rx-clinic [--broker EP] --key FILE --curve-key FILE --server-key Z85 COMMAND\n"
		   "  submit RX.json --card FILE --institution CODE [--slip FILE] [--request-id HEX32]\n"
		   "                                       sign and submit a prescription for the card's\n"
		   "                                       patient; --slip writes the patient's slip\n"
		   "                                       (id and access code) to FILE, mode 0600; an\n"
		   "                                       item may carry substitution marks such as\n"
		   "                                       \"no_change\": true; \"uses\": 2..3 for a refill,\n"
		   "                                       or \"part_days\": [14, 14] for a divided one\n"
		   "                                       (README)\n"
		   "  submit --fhir BUNDLE.json ...        the same from an HL7 FHIR R4 Bundle of\n"
		   "                                       MedicationRequests (docs/FHIR.md)\n"
		   "      --override REASON                prescribe although the patient already takes an\n"
		   "                                       ingredient (after DUPLICATE_MEDICATION); the\n"
		   "                                       reason is signed with the prescription\n"
		   "  cancel ID --reason R [--request-id HEX32]\n"
		   "                                       cancel a prescription you issued; R is\n"
		   "                                       prescribing_error, patient_request,\n"
		   "                                       therapy_changed, duplicate or other (the\n"
		   "                                       pharmacy's cancel notice shows it)\n"
		   "  status ID [--fhir]                   state of a prescription you issued (a later\n"
		   "                                       use's window: opens_at, valid_until), its items\n"
		   "                                       and what each dispense (or part) handed over,\n"
		   "                                       what is owed while PARTIALLY_DISPENSED; --fhir:\n"
		   "                                       as a FHIR Bundle, with its dispenses\n"
		   "  flush                                (--outbox) deliver the queued requests\n"
		   "  pending                              (--outbox) list queued and refused requests\n"
		   "                                       (needs only --outbox)\n"
		   "options: --broker EP (default " CLI_DEFAULT_BROKER "), --broker-key HEX (pin the\n"
		   "broker's receipt key), --timeout SECONDS (default 4.5 s), --receipt FILE (keep the\n"
		   "signed receipt, mode 0600), --outbox DIR (queue a submit or cancel the broker\n"
		   "does not answer, and deliver the queue first in every command)\n");
}

/* --outbox DIR, and the outbox while it is open. */
static clinic_outbox_t outbox;
/* --override REASON: prescribe despite a duplicate medication (signed). */
static const char *override;
static const char *reason; /* cancel --reason */

static int get_int(json_t *o, const char *k, long long def, long long *out)
{
	json_t *v = json_object_get(o, k);
	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}

/* RX.json's "part_days" (divided dispensing, 分割調剤; proto/README 5.11)
 * into parts and p, and the uses it implies into *uses: absent, nothing;
 * else 2..RX_MAX_USES days of supply, one per use, so "uses" (had_uses) must
 * be their count if given.  0, or -1 with msg set. */
static int read_part_days(json_t *j, int had_uses, long long *uses, uint32_t parts[RX_MAX_USES],
			  Rx__Prescription *p, char *msg, size_t msglen)
{
	json_t *a = json_object_get(j, "part_days"), *v;
	size_t i, n = json_array_size(a);
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || n < 2 || n > RX_MAX_USES) {
		snprintf(msg, msglen, "\"part_days\" must be an array of 2..%d days of supply, one per "
				      "part of a divided prescription (分割調剤)", RX_MAX_USES);
		return -1;
	}
	json_array_foreach(a, i, v) {
		/* 365: rx_check_item's bound on an item's days, and the broker's on a part's */
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 365) {
			snprintf(msg, msglen, "\"part_days\"[%zu] must be a whole number of days, 1..365", i);
			return -1;
		}
		parts[i] = (uint32_t)json_integer_value(v);
	}
	/* Each part is dispensed as one use: the two counts are one fact. */
	if (had_uses && *uses != (long long)n) {
		snprintf(msg, msglen, "\"uses\" is %lld but \"part_days\" has %zu parts: a divided "
				      "prescription has one use per part (leave \"uses\" out)", *uses, n);
		return -1;
	}
	*uses = (long long)n;
	p->part_days = parts;
	p->n_part_days = n;
	return 0;
}

/* RX.json's content into p (strings point into j, part_days into parts,
 * items are the caller's: cli_items_free).  -1 on success, else the exit
 * code after printing why. */
static int from_rx_json(json_t *j, const char *path, Rx__Prescription *p,
			char pid[RX_PATIENT_ID_LEN + 1], uint32_t parts[RX_MAX_USES])
{
	char msg[512];
	long long days, uses;
	/* The card names the patient; a patient id in RX.json is checked
	 * against it by the broker.  Accept it as a person typed it. */
	json_t *v = json_object_get(j, "patient_id");
	if (json_is_string(v))
		p->patient_id = rx_patient_id_parse(json_string_value(v), pid) == RX_OK
					? pid
					: (char *)json_string_value(v);
	if (get_int(j, "valid_days", RX_DEFAULT_VALID_DAYS, &days) || days < 1 || days > 366 ||
	    get_int(j, "uses", 1, &uses) || uses < 0 || uses > 1000)
		return cli_fail("%s: \"valid_days\" and \"uses\" must be small whole numbers", path);
	if (read_part_days(j, json_object_get(j, "uses") != NULL, &uses, parts, p, msg, sizeof msg))
		return cli_fail("%s: %s", path, msg);
	v = json_object_get(j, "notes");
	if (v && !json_is_string(v))
		return cli_fail("%s: \"notes\" must be a string", path);
	p->notes = v ? (char *)json_string_value(v) : (char *)"";
	v = json_object_get(j, "institution_code");
	if (v && json_is_string(v))
		p->institution_code = (char *)json_string_value(v);
	if (cli_items_from_json(json_object_get(j, "items"), &p->items, &p->n_items, msg, sizeof msg))
		return cli_fail("%s: %s", path, msg);
	p->issued_at = (int64_t)time(NULL);
	p->valid_until = rx_valid_until(p->issued_at, (int)days);
	p->uses = (uint32_t)uses;
	return -1;
}

/* Sign p's content (from RX.json or a FHIR Bundle) for the card's patient,
 * submit it, write the slip and print the result. */
static int sign_and_submit(rxc_t *c, const rx_keypair_t *kp, const cli_conn_t *conn,
			   Rx__Prescription *p, const char *slip, const uint8_t *rid)
{
	char unused[64];
	rxc_proof_t proof;
	Rx__Signed card;
	int code = cli_proof(conn, RX__PURPOSE__PURPOSE_ISSUE, &proof, &card, unused);
	if (code >= 0)
		return code;
	Rx__CardAssertion *a = rx__card_assertion__unpack(NULL, card.body.len, card.body.data);
	if (a == NULL) {
		rxc_signed_free(&card);
		return cli_fail("out of memory");
	}
	uint8_t card_key[RX_KEY_LEN];
	memcpy(card_key, a->card_key.data, RX_KEY_LEN);
	rx__card_assertion__free_unpacked(a, NULL);
	p->patient_card.data = card_key;
	p->patient_card.len = RX_KEY_LEN;
	p->version = RX_DOC_VERSION;
	p->prescriber_key.data = (uint8_t *)kp->pk;
	p->prescriber_key.len = RX_KEY_LEN;
	p->override_reason = (char *)(override ? override : "");

	Rx__Call call;
	rxc_submit_fill(&call, rid, &card);
	code = clinic_send(&outbox, c, kp, &call, &p->base, slip, NULL);
	rxc_signed_free(&card);
	return code;
}

static int submit(rxc_t *c, const rx_keypair_t *kp, const cli_conn_t *conn, const char *path,
		  int fhir, const char *slip, const uint8_t *rid)
{
	char msg[512], pid[RX_PATIENT_ID_LEN + 1];
	uint32_t parts[RX_MAX_USES];
	int code;
	if (conn->card_file == NULL)
		return cli_fail("submit needs the patient's card: --card FILE --institution CODE");
	json_t *j = cli_read_json(path, msg, sizeof msg);
	if (j == NULL)
		return cli_fail("%s", msg);
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	if (fhir) {
		/* An unmappable bundle is refused here, with the JSON path of the
		 * problem, as the broker would refuse bad content: INVALID. */
		rx_err_t err = fhir_to_prescription(j, (int64_t)time(NULL), &p, msg, sizeof msg);
		if (err != RX_OK) {
			json_decref(j);
			return err == RX_INVALID ? cli_finish(NULL, RX_INVALID, msg) : cli_fail("%s", msg);
		}
		code = sign_and_submit(c, kp, conn, &p, slip, rid);
		fhir_prescription_free(&p);
	} else {
		if ((code = from_rx_json(j, path, &p, pid, parts)) < 0)
			code = sign_and_submit(c, kp, conn, &p, slip, rid);
		cli_items_free(p.items, p.n_items);
	}
	json_decref(j);
	return code;
}

int main(int argc, char **argv)
{
	cli_conn_t conn = CLI_CONN_INIT;
	const char *slip = NULL;
	int fhir = 0;
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{"slip", required_argument, NULL, 300},
		{"fhir", no_argument, NULL, 301},
		{"outbox", required_argument, NULL, 302},
		{"override", required_argument, NULL, 303},
		{"reason", required_argument, NULL, 304},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, CLI_CONN_LETTERS "h", opts, NULL)) != -1) {
		if (cli_conn_option(&conn, ch, optarg))
			continue;
		if (ch == 300) {
			slip = optarg;
			continue;
		}
		if (ch == 301) {
			fhir = 1;
			continue;
		}
		if (ch == 302) {
			outbox.dir = optarg;
			continue;
		}
		if (ch == 303) {
			override = optarg;
			continue;
		}
		if (ch == 304) {
			reason = optarg;
			continue;
		}
		usage(ch == 'h' ? stdout : stderr);
		return ch == 'h' ? 0 : 1;
	}
	int nargs = argc - optind;
	char **args = argv + optind;
	int flush = nargs == 1 && strcmp(args[0], "flush") == 0;
	if (nargs == 1 && strcmp(args[0], "pending") == 0 && outbox.dir)
		return clinic_outbox_pending(outbox.dir);
	if ((flush && outbox.dir == NULL) ||
	    (!flush && (nargs != 2 || (strcmp(args[0], "submit") && strcmp(args[0], "cancel") &&
				       strcmp(args[0], "status"))))) {
		usage(stderr);
		return cli_fail("expected: submit [--fhir] RX.json | cancel ID | status ID [--fhir] | "
				"--outbox DIR flush | --outbox DIR pending");
	}
	if (fhir && strcmp(args[0], "submit") != 0 && strcmp(args[0], "status") != 0)
		return cli_fail("--fhir goes with submit or status, not cancel");
	int why = cli_cancel_reason(reason);
	if (!flush && strcmp(args[0], "cancel") == 0 && why == 0)
		return cli_fail("cancel needs --reason: prescribing_error, patient_request, therapy_changed, "
				"duplicate or other");
	if (reason && (flush || strcmp(args[0], "cancel") != 0))
		return cli_fail("--reason goes with cancel");

	rx_keypair_t kp;
	uint8_t rid[RX_REQUEST_ID_LEN];
	rxc_t *c;
	int code = cli_connect(&conn, &kp, rid, &c);
	if (code >= 0)
		return code;
	outbox.broker = conn.broker;
	/* What was queued before goes first (all there is to flush). */
	code = clinic_outbox_start(&outbox, c, flush);
	if (code >= 0) {
		/* flushed, or the outbox would not open */
	} else if (strcmp(args[0], "submit") == 0) {
		code = submit(c, &kp, &conn, args[1], fhir, slip, rid);
	} else if (strcmp(args[0], "cancel") == 0) {
		Rx__Call call;
		rxc_cancel_fill(&call, rid, args[1], why);
		code = clinic_send(&outbox, c, &kp, &call, NULL, NULL, args[1]);
	} else {
		rxc_result_t r;
		json_t *extra = NULL;
		rxc_status(c, args[1], NULL, &r);
		/* Both sides: what was prescribed (with its marks), what became
		 * of each item at each dispensed use, and what a use handed over
		 * in parts still owes. */
		if (!fhir && r.status == RX_OK && r.prescription) {
			json_t *owed = owed_status_json(&r, 1);
			extra = json_pack("{s:o, s:o}", "prescription", cli_prescription_json(r.prescription),
					  "dispenses", cli_dispenses_json(&r));
			if (extra && owed)
				json_object_update(extra, owed);
			json_decref(owed);
		}
		code = fhir ? fhir_print_status(&r, conn.broker, args[1])
			    : cli_print_result(&r, extra, conn.broker, args[1]);
	}
	clinic_outbox_end(&outbox);
	rxc_destroy(&c);
	return code;
}
