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
		   "broker's receipt key), --timeout SECONDS (default 5)\n");
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
	int code = cli_print_result(&r, NULL, broker);
	rxc_signed_free(&sp);
	cli_items_free(p.items, p.n_items);
	json_decref(j);
	return code;
}

int main(int argc, char **argv)
{
	const char *broker = CLI_DEFAULT_BROKER, *keyfile = NULL, *rid_hex = NULL, *pin_hex = NULL;
	int timeout_s = 5;
	static const struct option opts[] = {
		{"broker", required_argument, NULL, 'b'},
		{"key", required_argument, NULL, 'k'},
		{"request-id", required_argument, NULL, 'r'},
		{"broker-key", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "b:k:r:p:t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'b': broker = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'r': rid_hex = optarg; break;
		case 'p': pin_hex = optarg; break;
		case 't': timeout_s = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	int nargs = argc - optind;
	char **args = argv + optind;
	if (nargs != 2 || (strcmp(args[0], "submit") && strcmp(args[0], "cancel") &&
			   strcmp(args[0], "status"))) {
		usage(stderr);
		return cli_fail("expected: submit RX.json | cancel ID | status ID");
	}

	rx_keypair_t kp;
	char msg[512];
	uint8_t rid[RX_REQUEST_ID_LEN], pin[RX_KEY_LEN];
	if (cli_load_key(keyfile, &kp, msg, sizeof msg))
		return cli_fail("%s", msg);
	if (cli_request_id(rid_hex, rid))
		return cli_fail("--request-id must be 32 hex digits");
	if (pin_hex && rx_unhex(pin_hex, pin, RX_KEY_LEN) != RX_OK)
		return cli_fail("--broker-key must be 64 hex digits");
	if (timeout_s < 1 || timeout_s > 3600)
		return cli_fail("--timeout must be 1..3600 seconds");

	rxc_t *c;
	rxc_options_t o = {.timeout_ms = timeout_s * 1000, .broker_key = pin_hex ? pin : NULL};
	if (rxc_new(&c, NULL, broker, &kp, &o) != RX_OK)
		return cli_fail("cannot use broker endpoint %s", broker);

	int code;
	rxc_result_t r;
	if (strcmp(args[0], "submit") == 0) {
		code = submit(c, &kp, args[1], rid, broker);
	} else {
		if (strcmp(args[0], "cancel") == 0)
			rxc_cancel(c, rid, args[1], &r);
		else
			rxc_status(c, args[1], &r);
		code = cli_print_result(&r, NULL, broker);
	}
	rxc_destroy(&c);
	return code;
}
