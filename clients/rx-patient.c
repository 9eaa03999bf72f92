/* rx-patient: what a patient sees through a patient portal (Japan's is
 * Mynaportal): who touched their prescriptions, when, and how it ended.
 * The card proves who asks; no operator is involved.
 *
 *   rx-patient [--broker EP[,EP...]] --curve-key FILE --server-key Z85 --card FILE --institution CODE log
 *   rx-patient ... nominate PHARMACY | nominate --remove
 *   rx-patient ... list [--from DAY] [--until DAY] [--table]
 *   rx-patient ... show ID [--table | --fhir]
 * --curve-key is the portal's registered CurveZMQ key pair, --institution its code. */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fhir.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: rx-patient [--broker EP[,EP...]] --curve-key FILE --server-key Z85 --card FILE "
		   "--institution CODE COMMAND\n"
		   "  log                   every access to the patient's prescriptions: who, when, what\n"
		   "  nominate PHARMACY     send new prescriptions to this pharmacy (its institution code)\n"
		   "  nominate --remove     stop sending them to the nominated pharmacy\n"
		   "  list [--from DAY] [--until DAY] [--table]\n"
		   "                        the patient's prescriptions, every state, newest first;\n"
		   "                        DAY is a Japan date YYYY-MM-DD, both ends included\n"
		   "  show ID [--table | --fhir]\n"
		   "                        one of them: what was prescribed and what each pharmacy\n"
		   "                        handed over, when (--fhir: a FHIR R4 Bundle)\n"
		   "JSON by default; --table prints a readable table instead.\n"
		   "--curve-key and --institution are the patient portal's; --card the patient's.\n");
}

/* The unix time a Japan date (YYYY-MM-DD) starts, plus days; -1 if day is
 * not one. */
static int64_t jst_day(const char *day, int days)
{
	int y, m, d;
	char tail;
	if (sscanf(day, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1970 || m < 1 || m > 12 || d < 1 ||
	    d > 31)
		return -1;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
	time_t t = timegm(&tm);
	struct tm back;
	gmtime_r(&t, &back);
	if (back.tm_mday != d) /* 2026-02-30 */
		return -1;
	return (int64_t)t - 9 * 3600 + (int64_t)days * 86400;
}

/* The Japan date of t, YYYY-MM-DD. */
static void jst_date(int64_t t, char out[16])
{
	time_t jst = (time_t)(t + 9 * 3600);
	struct tm tm;
	gmtime_r(&jst, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

/* The patient's prescriptions, as JSON (an array of summaries) or a table. */
static int list(rxc_t *c, const Rx__Signed *card, int64_t from, int64_t until, int table, const char *broker)
{
	rxc_result_t r;
	json_t *arr = json_array();
	char t[32];
	rxc_patient_list(c, card, from, until, &r);
	if (r.status == RX_OK && table) {
		printf("%-10s  %-14s  %-19s  %-12s  %s\n", "issued", "id", "state", "clinic", "uses left");
		for (size_t i = 0; i < r.receipt->n_prescriptions; i++) {
			const Rx__Summary *s = r.receipt->prescriptions[i];
			char day[16];
			jst_date(s->issued_at, day);
			printf("%-10s  %-14s  %-19s  %-12s  %u of %u%s\n", day, s->prescription_id,
			       rx_state_name(s->state), s->institution_code, s->uses_left, s->uses,
			       s->cancel_pending ? " (being cancelled)" : "");
		}
		if (r.receipt->n_prescriptions == 0)
			printf("(none)\n");
		json_decref(arr);
		rxc_result_free(&r);
		return 0;
	}
	if (r.status == RX_OK)
		for (size_t i = 0; i < r.receipt->n_prescriptions; i++) {
			const Rx__Summary *s = r.receipt->prescriptions[i];
			char issued[32];
			cli_time(s->issued_at, issued);
			cli_time(s->valid_until, t);
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:b}", "id",
							     s->prescription_id, "state", rx_state_name(s->state),
							     "issued_at", issued, "uses", (int)s->uses, "uses_left",
							     (int)s->uses_left, "valid_until", t, "institution",
							     s->institution_code, "cancel_pending",
							     (int)s->cancel_pending));
			if (s->cancel_reason)
				json_object_set_new(json_array_get(arr, json_array_size(arr) - 1), "cancel_reason",
						    json_string(cli_cancel_reason_name((int)s->cancel_reason)));
		}
	json_t *extra = json_pack("{s:o}", "prescriptions", arr);
	if (r.status == RX_OK && r.receipt->patient_id[0])
		json_object_set_new(extra, "patient_id", json_string(r.receipt->patient_id));
	return cli_print_result(&r, extra, broker, NULL);
}

/* One item, as the table shows it. */
static void item_line(const char *lead, const Rx__Item *it)
{
	printf("%s%s  %s  %s, %u days, %u %s%s\n", lead, it->drug_code, it->name, it->usage, it->days,
	       it->quantity, it->unit, it->no_change ? "  (no change: 変更不可)" : "");
}

/* One of the patient's prescriptions, as a table: what was prescribed,
 * then each dispense record and what it handed over. */
static void show_table(const rxc_result_t *r)
{
	const Rx__Receipt *rc = r->receipt;
	const Rx__Prescription *p = r->prescription;
	char day[16];
	jst_date(rc->issued_at, day);
	printf("prescription %s, issued %s by %s: %s, %u of %u uses left\n", rc->prescription_id, day,
	       rc->institution_code, rx_state_name(rc->state), rc->uses_left, rc->uses);
	for (size_t i = 0; p && i < p->n_items; i++) {
		char lead[32];
		snprintf(lead, sizeof lead, "  %zu. ", i + 1);
		item_line(lead, p->items[i]);
	}
	for (size_t i = 0; i < r->n_dispenses; i++) {
		const Rx__DispenseRecord *d = r->dispenses[i];
		const Rx__DispenseInfo *x = r->reply->dispenses[i];
		jst_date(x->at, day);
		printf("use %u, %s at %s%s%s\n", x->use, day, x->institution_code,
		       d->withdraw_reason ? ": withdrawn" : "", x->superseded ? " (since corrected)" : "");
		for (size_t l = 0; l < d->n_lines; l++) {
			const Rx__Line *line = d->lines[l];
			char lead[48];
			snprintf(lead, sizeof lead, "  item %u %s: ", line->item,
				 line->outcome == RX__OUTCOME__SUBSTITUTED ? "substituted"
				 : line->outcome == RX__OUTCOME__NOT_DISPENSED ? "not dispensed"
				 : line->outcome == RX__OUTCOME__PARTIAL ? "in part, the rest owed"
									 : "as written");
			if (line->handed)
				item_line(lead, line->handed);
			else
				printf("%s\n", lead);
		}
	}
}

int main(int argc, char **argv)
{
	cli_conn_t conn = CLI_CONN_INIT;
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{"remove", no_argument, NULL, 'R'},
		{"table", no_argument, NULL, 'T'},
		{"fhir", no_argument, NULL, 'F'},
		{"from", required_argument, NULL, 'f'},
		{"until", required_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	int ch, remove = 0, table = 0, fhir = 0;
	const char *from = NULL, *until = NULL;
	while ((ch = getopt_long(argc, argv, CLI_CONN_LETTERS "h", opts, NULL)) != -1) {
		if (cli_conn_option(&conn, ch, optarg))
			continue;
		if (ch == 'R' || ch == 'T' || ch == 'F') {
			*(ch == 'R' ? &remove : ch == 'T' ? &table : &fhir) = 1;
			continue;
		}
		if (ch == 'f' || ch == 'u') {
			*(ch == 'f' ? &from : &until) = optarg;
			continue;
		}
		usage(ch == 'h' ? stdout : stderr);
		return ch == 'h' ? 0 : 1;
	}
	int nargs = argc - optind;
	const char *cmd = nargs > 0 ? argv[optind] : "";
	int nominating = strcmp(cmd, "nominate") == 0 && ((nargs == 2 && !remove) || (nargs == 1 && remove));
	int listing = strcmp(cmd, "list") == 0 && nargs == 1;
	int showing = strcmp(cmd, "show") == 0 && nargs == 2;
	if ((!nominating && !listing && !showing && !(strcmp(cmd, "log") == 0 && nargs == 1)) ||
	    (remove && !nominating) || ((from || until) && !listing) || (table && !listing && !showing) ||
	    (fhir && (!showing || table))) {
		usage(stderr);
		return cli_fail("expected: log | nominate PHARMACY | nominate --remove | list [--from DAY] "
				"[--until DAY] [--table] | show ID [--table | --fhir]");
	}
	int64_t t_from = from ? jst_day(from, 0) : 0, t_until = until ? jst_day(until, 1) : 0;
	if (t_from < 0 || t_until < 0)
		return cli_fail("--from and --until take a date, YYYY-MM-DD (Japan time)");
	if (conn.card_file == NULL)
		return cli_fail("--card FILE (the patient's card) and --institution CODE (the portal's) are required");
	/* The card signs the request itself: it is the caller. */
	conn.keyfile = conn.card_file;
	rx_keypair_t card;
	uint8_t rid[RX_REQUEST_ID_LEN];
	rxc_t *c;
	int code = cli_connect(&conn, &card, rid, &c);
	if (code >= 0)
		return code;
	rxc_proof_t proof;
	Rx__Signed assertion;
	char unused[64];
	if ((code = cli_proof(&conn, nominating ? RX__PURPOSE__PURPOSE_NOMINATE : RX__PURPOSE__PURPOSE_VIEW,
			      &proof, &assertion, unused)) >= 0) {
		rxc_destroy(&c);
		return code;
	}
	rxc_result_t r;
	if (nominating) {
		rxc_nominate(c, &assertion, remove ? "" : argv[optind + 1], &r);
		json_t *extra = NULL;
		if (r.status == RX_OK)
			extra = json_pack("{s:s, s:s*}", "patient_id", r.receipt->patient_id, "nominated",
					  r.receipt->pharmacy_code[0] ? r.receipt->pharmacy_code : NULL);
		code = cli_print_result(&r, extra, conn.broker, NULL);
		rxc_signed_free(&assertion);
		sodium_memzero(&card, sizeof card);
		rxc_destroy(&c);
		return code;
	}
	if (listing || showing) {
		if (listing) {
			code = list(c, &assertion, t_from, t_until, table, conn.broker);
		} else {
			rxc_patient_status(c, &assertion, argv[optind + 1], &r);
			json_t *extra = NULL;
			if (table && r.status == RX_OK) {
				show_table(&r);
				rxc_result_free(&r);
				code = 0;
			} else if (fhir) {
				code = fhir_print_status(&r, conn.broker, argv[optind + 1]);
			} else {
				if (r.status == RX_OK && r.prescription)
					extra = json_pack("{s:o, s:o, s:o}", "prescription",
							  cli_prescription_json(r.prescription), "dispenses",
							  cli_dispenses_json(&r), "inquiries", cli_inquiries_json(&r));
				code = cli_print_result(&r, extra, conn.broker, argv[optind + 1]);
			}
		}
		rxc_signed_free(&assertion);
		sodium_memzero(&card, sizeof card);
		rxc_destroy(&c);
		return code;
	}
	json_t *entries = json_array();
	rxc_log(c, &assertion, &r);
	if (r.status == RX_OK) {
		for (size_t i = 0; i < r.receipt->n_log; i++) {
			const Rx__AuditInfo *e = r.receipt->log[i];
			char t[32];
			cli_time(e->at, t);
			json_array_append_new(entries,
					      json_pack("{s:s, s:s, s:s, s:s, s:s}", "at", t, "institution",
							e->institution_code[0] ? e->institution_code : "(operator)",
							"action", e->action, "id", e->prescription_id, "outcome",
							rx_err_name((rx_err_t)e->outcome)));
		}
	}
	json_t *extra = json_pack("{s:o}", "entries", entries);
	if (r.status == RX_OK && r.receipt->patient_id[0])
		json_object_set_new(extra, "patient_id", json_string(r.receipt->patient_id));
	code = cli_print_result(&r, extra, conn.broker, NULL);
	rxc_signed_free(&assertion);
	sodium_memzero(&card, sizeof card);
	rxc_destroy(&c);
	return code;
}
