/* rx-clinic: what a clinic's EMR adapter does: submit a signed prescription,
 * cancel it, look at its status.
 *
 *   rx-clinic [--broker EP] --key FILE submit RX.json [--request-id HEX32]
 *   rx-clinic [--broker EP] --key FILE cancel ID [--request-id HEX32]
 *   rx-clinic [--broker EP] --key FILE status ID */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "rx_check.h"
#include "rx_ids.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: rx-clinic [--broker EP] --key FILE COMMAND\n"
		   "  submit RX.json [--request-id HEX32]  sign and submit a prescription\n"
		   "  cancel ID [--request-id HEX32]       cancel a prescription you issued\n"
		   "  status ID                            state of a prescription you issued\n"
		   "options: --broker EP (default " CLI_DEFAULT_BROKER "), --broker-key HEX (pin the\n"
		   "broker's receipt key), --timeout SECONDS (default 4.5 s)\n");
}

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

static int submit(rxc_t *c, const rx_keypair_t *kp, const char *path, const uint8_t *rid,
		  const char *broker)
{
	char msg[512], pid[RX_PATIENT_ID_LEN + 1];
	long long days, uses;
	json_t *j = cli_read_json(path, msg, sizeof msg);
	if (j == NULL)
		return cli_fail("%s", msg);

	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	json_t *v = json_object_get(j, "patient_id");
	if (!json_is_string(v)) {
		json_decref(j);
		return cli_fail("%s: \"patient_id\" (from rxctl patient enroll) is required", path);
	}
	/* Accept the id as a person typed it; the broker judges what is left. */
	p.patient_id = rx_patient_id_parse(json_string_value(v), pid) == RX_OK
			       ? pid
			       : (char *)json_string_value(v);
	if (get_int(j, "valid_days", RX_DEFAULT_VALID_DAYS, &days) || days < 1 || days > 366 ||
	    get_int(j, "uses", 1, &uses) || uses < 0 || uses > 1000) {
		json_decref(j);
		return cli_fail("%s: \"valid_days\" and \"uses\" must be small whole numbers", path);
	}
	v = json_object_get(j, "notes");
	if (v && !json_is_string(v)) {
		json_decref(j);
		return cli_fail("%s: \"notes\" must be a string", path);
	}
	p.notes = v ? (char *)json_string_value(v) : (char *)"";
	v = json_object_get(j, "institution_code");
	if (v && json_is_string(v))
		p.institution_code = (char *)json_string_value(v);
	if (cli_items_from_json(json_object_get(j, "items"), &p.items, &p.n_items, msg, sizeof msg)) {
		json_decref(j);
		return cli_fail("%s: %s", path, msg);
	}
	p.version = 1;
	p.prescriber_key.data = (uint8_t *)kp->pk;
	p.prescriber_key.len = RX_KEY_LEN;
	p.issued_at = (int64_t)time(NULL);
	p.valid_until = rx_valid_until(p.issued_at, (int)days);
	p.uses = (uint32_t)uses;

	Rx__Signed sp;
	rxc_result_t r;
	if (rxc_sign_prescription(kp, &p, &sp) != RX_OK) {
		cli_items_free(p.items, p.n_items);
		json_decref(j);
		return cli_fail("out of memory");
	}
	rxc_submit(c, rid, &sp, &r);
	int code = cli_print_result(&r, NULL, broker, NULL);
	rxc_signed_free(&sp);
	cli_items_free(p.items, p.n_items);
	json_decref(j);
	return code;
}

int main(int argc, char **argv)
{
	cli_conn_t conn = CLI_CONN_INIT;
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, CLI_CONN_LETTERS "h", opts, NULL)) != -1) {
		if (cli_conn_option(&conn, ch, optarg))
			continue;
		usage(ch == 'h' ? stdout : stderr);
		return ch == 'h' ? 0 : 1;
	}
	int nargs = argc - optind;
	char **args = argv + optind;
	if (nargs != 2 || (strcmp(args[0], "submit") && strcmp(args[0], "cancel") &&
			   strcmp(args[0], "status"))) {
		usage(stderr);
		return cli_fail("expected: submit RX.json | cancel ID | status ID");
	}

	rx_keypair_t kp;
	uint8_t rid[RX_REQUEST_ID_LEN];
	rxc_t *c;
	int code = cli_connect(&conn, &kp, rid, &c);
	if (code >= 0)
		return code;
	rxc_result_t r;
	if (strcmp(args[0], "submit") == 0) {
		code = submit(c, &kp, args[1], rid, conn.broker);
	} else {
		if (strcmp(args[0], "cancel") == 0)
			rxc_cancel(c, rid, args[1], &r);
		else
			rxc_status(c, args[1], &r);
		code = cli_print_result(&r, NULL, conn.broker, args[1]);
	}
	rxc_destroy(&c);
	return code;
}
