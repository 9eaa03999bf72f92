/* rx-clinic: what a clinic's EMR adapter does: submit a signed prescription
 * for the patient whose card is in the reader, cancel it, look at it.
 *
 *   rx-clinic CONN --card FILE --institution CODE submit RX.json [--slip FILE] [--override REASON]
 *             [--request-id HEX32]
 *   rx-clinic CONN --card FILE --institution CODE submit --fhir BUNDLE.json [--slip FILE] ...
 *   rx-clinic CONN cancel ID [--request-id HEX32]
 *   rx-clinic CONN status ID [--fhir]
 *   rx-clinic CONN answer ID --inquiry N (--accept ANSWER.json | --accept-proposed | --keep |
 *             --cancel REASON) [--text TEXT]
 *   rx-clinic CONN inquiries [--count N]
 *   rx-clinic CONN watch [--count N]
 *   rx-clinic CONN --outbox DIR flush
 *   rx-clinic --outbox DIR pending
 * CONN: [--broker EP[,EP...]] --key FILE --curve-key FILE --server-key Z85|FILE
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
	fprintf(f, "usage: rx-clinic [--broker EP[,EP...]] --key FILE --curve-key FILE --server-key Z85 COMMAND\n"
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
		   "  answer ID --inquiry N (--accept FILE | --accept-proposed | --keep | --cancel R) [--text T]\n"
		   "                                       answer a pharmacy's inquiry (疑義照会):\n"
		   "                                       accept the changes in ANSWER.json\n"
		   "                                       ({\"agreed\": [...]}) or, --accept-proposed,\n"
		   "                                       those the pharmacy proposed; dispense as\n"
		   "                                       written (--keep); or\n"
		   "                                       cancel the prescription (REASON as for cancel)\n"
		   "  inquiries [--count N]                print this clinic's notices (inquiries from\n"
		   "                                       pharmacies, with their reason, text and\n"
		   "                                       proposed changes) as JSON lines, acknowledging\n"
		   "                                       each (the others wait for watch); runs\n"
		   "                                       until killed, or N notices\n"
		   "  watch [--count N]                    all of this clinic's notices: inquiries and\n"
		   "                                       what became of its prescriptions (dispensed,\n"
		   "                                       amended, withdrawn, expired unclaimed)\n");
	fprintf(f, "  flush                                (--outbox) deliver the queued requests\n"
		   "  pending                              (--outbox) list queued and refused requests\n"
		   "                                       (needs only --outbox)\n"
		   "options: --broker EP[,EP...] (default " CLI_DEFAULT_BROKER "; several: the nodes of\n"
		   "one cluster, proto/README 1.2), --broker-key HEX (pin the broker's receipt key),\n"
		   "--timeout SECONDS (default 4.5 s), --receipt FILE (keep the signed receipt, mode\n"
		   "0600), --outbox DIR (queue a submit or cancel the broker does not answer, and\n"
		   "deliver the queue first in every command)\n");
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

/* What answer was asked for on the command line. */
typedef struct {
	uint32_t inquiry;    /* --inquiry N */
	const char *accept;  /* --accept ANSWER.json */
	int proposed;        /* --accept-proposed */
	int keep;            /* --keep */
	const char *cancel;  /* --cancel REASON */
	const char *text;    /* --text */
} answer_args_t;

/* INQUIRY_REPLY ID: a prescriber of the issuing clinic answers inquiry N
 * (proto/README 5.14): ACCEPT with ANSWER.json's "agreed" changes, KEEP, or
 * CANCEL the prescription with a reason.  A file to fix is a local error;
 * the broker's refusals (NO_OPEN_INQUIRY, ...) come with their code. */
static int answer(rxc_t *c, const char *id, const answer_args_t *a, const uint8_t *rid, const char *broker)
{
	char msg[512];
	Rx__InquiryReply q = RX__INQUIRY_REPLY__INIT;
	rxc_result_t r;
	json_t *j = NULL;
	q.inquiry = a->inquiry;
	q.text = (char *)(a->text ? a->text : "");
	Rx__Call *asked = NULL;
	rxc_result_t st = {0};
	if (a->proposed) {
		/* What the pharmacy proposed, as its signed call says (verified by
		 * rxc_status). */
		if (rxc_status(c, id, NULL, &st) != RX_OK)
			return cli_print_result(&st, NULL, broker, id); /* frees st */
		for (size_t i = 0; i < st.reply->n_inquiries && asked == NULL; i++)
			if (st.reply->inquiries[i]->number == a->inquiry)
				asked = rx__call__unpack(NULL, st.reply->inquiries[i]->call->body.len,
							 st.reply->inquiries[i]->call->body.data);
		rxc_result_free(&st);
		if (asked == NULL || asked->inquiry == NULL || asked->inquiry->n_proposed == 0) {
			if (asked)
				rx__call__free_unpacked(asked, NULL);
			return cli_fail("%s has no inquiry %u proposing changes to accept: --accept ANSWER.json "
					"says what was agreed", id, a->inquiry);
		}
		q.agreed = asked->inquiry->proposed;
		q.n_agreed = asked->inquiry->n_proposed;
		q.answer = RX__ANSWER__ANSWER_ACCEPT;
	} else if (a->accept) {
		if ((j = cli_read_json(a->accept, msg, sizeof msg)) == NULL)
			return cli_fail("%s", msg);
		int bad = cli_changes_from_json(json_object_get(j, "agreed"), "agreed", &q.agreed, &q.n_agreed, msg,
						sizeof msg);
		if (bad || q.n_agreed == 0) {
			json_decref(j);
			return cli_fail("%s: %s", a->accept,
					bad ? msg : "\"agreed\" must list the agreed changes, e.g. "
						    "[{\"item\": 1, \"to\": {...}}]");
		}
		q.answer = RX__ANSWER__ANSWER_ACCEPT;
	} else if (a->keep) {
		q.answer = RX__ANSWER__ANSWER_KEEP;
	} else {
		q.answer = RX__ANSWER__ANSWER_CANCEL;
		q.cancel_reason = (Rx__CancelReason)cli_cancel_reason(a->cancel);
	}
	rxc_inquiry_reply(c, rid, id, &q, &r);
	int code = cli_print_result(&r, NULL, broker, id);
	if (asked)
		rx__call__free_unpacked(asked, NULL);
	else
		cli_changes_free(q.agreed, q.n_agreed);
	json_decref(j);
	return code;
}

/* A dispense notice's record, from the STATUS the issuer may read (the
 * pharmacy's signed record, verified): the last record of its use (for a
 * part, that part), as "record" on the notice's line: what was handed over,
 * substitutions and what is owed included (proto/README 5.9). */
static void dispense_detail(const rxc_result_t *r, const Rx__Notice *n, json_t *j)
{
	json_t *all = cli_dispenses_json(r), *pick = NULL, *x;
	size_t i;
	json_array_foreach(all, i, x) {
		json_t *part = json_object_get(x, "part");
		if (json_integer_value(json_object_get(x, "use")) == (json_int_t)n->use &&
		    (n->part == 0 || json_integer_value(part) == (json_int_t)n->part))
			pick = x;
	}
	if (pick)
		json_object_set(j, "record", pick);
	json_decref(all);
}

/* rx-clinic inquiries and watch: what the pharmacy asked, from the STATUS
 * the issuer may read (its signed call, verified), added to an inquiry
 * notice's line, and what a dispense handed over to a dispense notice's.
 * With only_inquiries (arg), the clinic's other notices (dispensed, ...)
 * are passed by, left for rx-clinic watch. */
static int inquiry_detail(rxc_t *c, const Rx__Notice *n, json_t *j, void *arg)
{
	int dispense = n->kind == RX__NOTICE_KIND__NOTICE_DISPENSED || n->kind == RX__NOTICE_KIND__NOTICE_AMENDED ||
		       n->kind == RX__NOTICE_KIND__NOTICE_WITHDRAWN;
	if (n->kind != RX__NOTICE_KIND__NOTICE_INQUIRY && n->kind != RX__NOTICE_KIND__NOTICE_INQUIRY_REPLY &&
	    !(dispense && !*(const int *)arg))
		return *(const int *)arg;
	rxc_result_t r;
	rxc_status(c, n->prescription_id, NULL, &r);
	if (dispense && r.status == RX_OK)
		dispense_detail(&r, n, j);
	for (size_t i = 0; r.status == RX_OK && i < r.reply->n_inquiries; i++) {
		if (r.reply->inquiries[i]->number != n->inquiry)
			continue;
		json_t *q = cli_inquiry_json(&r, i);
		static const char *const keys[] = {"reason", "text", "proposed", "by_phone", "answer"};
		for (size_t k = 0; q && k < sizeof keys / sizeof keys[0]; k++)
			if (json_object_get(q, keys[k]))
				json_object_set(j, keys[k], json_object_get(q, keys[k]));
		json_decref(q);
	}
	if (r.status != RX_OK)
		fprintf(stderr, "rx-clinic: inquiries: status of %s: %s (%s)\n", n->prescription_id,
			rx_err_name(r.status), r.message);
	rxc_result_free(&r);
	return 0;
}

int main(int argc, char **argv)
{
	cli_conn_t conn = CLI_CONN_INIT;
	const char *slip = NULL;
	int fhir = 0;
	long count = 0;
	answer_args_t aa = {0};
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{"slip", required_argument, NULL, 300},
		{"fhir", no_argument, NULL, 301},
		{"outbox", required_argument, NULL, 302},
		{"override", required_argument, NULL, 303},
		{"reason", required_argument, NULL, 304},
		{"inquiry", required_argument, NULL, 305},
		{"accept", required_argument, NULL, 306},
		{"keep", no_argument, NULL, 307},
		{"cancel", required_argument, NULL, 308},
		{"text", required_argument, NULL, 309},
		{"count", required_argument, NULL, 310},
		{"accept-proposed", no_argument, NULL, 311},
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
		if (ch >= 305 && ch <= 311) {
			char *end;
			long v = 0;
			if (ch == 305 || ch == 310) {
				v = strtol(optarg, &end, 10);
				if (*optarg < '0' || *optarg > '9' || *end || v < (ch == 305) || v > 1000000)
					return cli_fail("--%s must be a whole number%s", ch == 305 ? "inquiry" : "count",
							ch == 305 ? ", the inquiry's (1, 2, ...)" : "");
			}
			switch (ch) {
			case 305: aa.inquiry = (uint32_t)v; break;
			case 306: aa.accept = optarg; break;
			case 307: aa.keep = 1; break;
			case 308: aa.cancel = optarg; break;
			case 309: aa.text = optarg; break;
			case 311: aa.proposed = 1; break;
			default: count = v; break;
			}
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
	int only_inquiries = nargs == 1 && strcmp(args[0], "inquiries") == 0;
	int inquiries = only_inquiries || (nargs == 1 && strcmp(args[0], "watch") == 0);
	int answering = nargs == 2 && strcmp(args[0], "answer") == 0;
	if ((flush && outbox.dir == NULL) ||
	    (!flush && !inquiries &&
	     (nargs != 2 || (strcmp(args[0], "submit") && strcmp(args[0], "cancel") &&
			     strcmp(args[0], "status") && !answering)))) {
		usage(stderr);
		return cli_fail("expected: submit [--fhir] RX.json | cancel ID | status ID [--fhir] | "
				"answer ID --inquiry N (--accept ANSWER.json | --accept-proposed | --keep | --cancel REASON) | "
				"inquiries [--count N] | watch [--count N] | --outbox DIR flush | --outbox DIR pending");
	}
	if (answering && (aa.inquiry == 0 || (aa.accept != NULL) + aa.proposed + aa.keep + (aa.cancel != NULL) != 1))
		return cli_fail("answer needs --inquiry N and one of --accept ANSWER.json, --accept-proposed, --keep, "
				"--cancel REASON");
	if (answering && aa.cancel && cli_cancel_reason(aa.cancel) == 0)
		return cli_fail("--cancel must be prescribing_error, patient_request, therapy_changed, duplicate "
				"or other");
	if (!answering && (aa.inquiry || aa.accept || aa.proposed || aa.keep || aa.cancel || aa.text))
		return cli_fail("--inquiry, --accept, --accept-proposed, --keep, --cancel and --text go with answer");
	if (count && !inquiries)
		return cli_fail("--count goes with inquiries or watch");
	if (fhir && (inquiries || (strcmp(args[0], "submit") != 0 && strcmp(args[0], "status") != 0)))
		return cli_fail("--fhir goes with submit or status, not cancel");
	int why = cli_cancel_reason(reason);
	if (!flush && !inquiries && strcmp(args[0], "cancel") == 0 && why == 0)
		return cli_fail("cancel needs --reason: prescribing_error, patient_request, therapy_changed, "
				"duplicate or other");
	if (reason && (flush || inquiries || strcmp(args[0], "cancel") != 0))
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
	} else if (inquiries) {
		code = cli_watch(c, count, "rx-clinic", inquiry_detail, &only_inquiries);
	} else if (answering) {
		code = answer(c, args[1], &aa, rid, conn.broker);
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
			extra = json_pack("{s:o, s:o, s:o}", "prescription", cli_prescription_json(r.prescription),
					  "dispenses", cli_dispenses_json(&r), "inquiries", cli_inquiries_json(&r));
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
