/* rx-patient: what a patient sees through a patient portal (Japan's is
 * Mynaportal): who touched their prescriptions, when, and how it ended.
 * The card proves who asks; no operator is involved.
 *
 *   rx-patient [--broker EP] --curve-key FILE --server-key Z85 --card FILE --institution CODE log
 *   rx-patient ... nominate PHARMACY | nominate --remove
 * --curve-key is the portal's registered CurveZMQ key pair, --institution its code. */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: rx-patient [--broker EP] --curve-key FILE --server-key Z85 --card FILE "
		   "--institution CODE COMMAND\n"
		   "  log                   every access to the patient's prescriptions: who, when, what\n"
		   "  nominate PHARMACY     send new prescriptions to this pharmacy (its institution code)\n"
		   "  nominate --remove     stop sending them to the nominated pharmacy\n"
		   "--curve-key and --institution are the patient portal's; --card the patient's.\n");
}

int main(int argc, char **argv)
{
	cli_conn_t conn = CLI_CONN_INIT;
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{"remove", no_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	int ch, remove = 0;
	while ((ch = getopt_long(argc, argv, CLI_CONN_LETTERS "h", opts, NULL)) != -1) {
		if (cli_conn_option(&conn, ch, optarg))
			continue;
		if (ch == 'R') {
			remove = 1;
			continue;
		}
		usage(ch == 'h' ? stdout : stderr);
		return ch == 'h' ? 0 : 1;
	}
	int nargs = argc - optind;
	const char *cmd = nargs > 0 ? argv[optind] : "";
	int nominating = strcmp(cmd, "nominate") == 0 && ((nargs == 2 && !remove) || (nargs == 1 && remove));
	if (!nominating && !(strcmp(cmd, "log") == 0 && nargs == 1 && !remove)) {
		usage(stderr);
		return cli_fail("expected: log | nominate PHARMACY | nominate --remove");
	}
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
