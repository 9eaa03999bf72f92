/* rx-clinic: what a clinic's EMR adapter does: submit a signed prescription
 * for the patient whose card is in the reader, cancel it, look at it.
 *
 *   rx-clinic CONN --card FILE --institution CODE submit RX.json [--slip FILE] [--override REASON]
 *             [--request-id HEX32]
 *   rx-clinic CONN cancel ID [--request-id HEX32]
 *   rx-clinic CONN status ID
 * CONN: [--broker EP] --key FILE --curve-key FILE --server-key Z85|FILE */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "rx_check.h"
#include "rx_ids.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: rx-clinic [--broker EP] --key FILE --curve-key FILE --server-key Z85 COMMAND\n"
		   "  submit RX.json --card FILE --institution CODE [--slip FILE] [--request-id HEX32]\n"
		   "                                       sign and submit a prescription for the card's\n"
		   "                                       patient; --slip writes the patient's slip\n"
		   "                                       (id and access code) to FILE, mode 0600\n"
		   "      --override REASON                prescribe although the patient already takes an\n"
		   "                                       ingredient (after DUPLICATE_MEDICATION); the\n"
		   "                                       reason is signed with the prescription\n"
		   "  cancel ID [--request-id HEX32]       cancel a prescription you issued\n"
		   "  status ID                            state of a prescription you issued\n"
		   "options: --broker EP (default " CLI_DEFAULT_BROKER "), --broker-key HEX (pin the\n"
		   "broker's receipt key), --timeout SECONDS (default 4.5 s), --receipt FILE (keep the\n"
		   "signed receipt, mode 0600)\n");
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

/* The patient's slip: what a patient without a card needs at the pharmacy.
 * It holds the access code, so it is written to a private file, never
 * printed. */
static int write_slip(const char *path, const Rx__Receipt *rc)
{
	char t[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	cli_time(rc->valid_until, t);
	int ok = fprintf(f,
			 "electronic prescription\n"
			 "  prescription id  %s\n"
			 "  access code      %s\n"
			 "  valid until      %s\n"
			 "Show this slip at any pharmacy if you have no My Number Card.\n",
			 rc->prescription_id, rc->access_code, t) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int submit(rxc_t *c, const rx_keypair_t *kp, const cli_conn_t *conn, const char *path,
		  const char *slip, const char *override, const uint8_t *rid)
{
	char msg[512], pid[RX_PATIENT_ID_LEN + 1], unused[64];
	long long days, uses;
	rxc_proof_t proof;
	Rx__Signed card;
	if (conn->card_file == NULL)
		return cli_fail("submit needs the patient's card: --card FILE --institution CODE");
	int code = cli_proof(conn, RX__PURPOSE__PURPOSE_ISSUE, &proof, &card, unused);
	if (code >= 0)
		return code;
	json_t *j = cli_read_json(path, msg, sizeof msg);
	if (j == NULL) {
		rxc_signed_free(&card);
		return cli_fail("%s", msg);
	}

	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	/* The card names the patient; a patient id in RX.json is checked
	 * against it by the broker.  Accept it as a person typed it. */
	json_t *v = json_object_get(j, "patient_id");
	if (json_is_string(v))
		p.patient_id = rx_patient_id_parse(json_string_value(v), pid) == RX_OK
				       ? pid
				       : (char *)json_string_value(v);
	Rx__CardAssertion *a = rx__card_assertion__unpack(NULL, card.body.len, card.body.data);
	if (a == NULL) {
		rxc_signed_free(&card);
		json_decref(j);
		return cli_fail("out of memory");
	}
	uint8_t card_key[RX_KEY_LEN];
	memcpy(card_key, a->card_key.data, RX_KEY_LEN);
	rx__card_assertion__free_unpacked(a, NULL);
	p.patient_card.data = card_key;
	p.patient_card.len = RX_KEY_LEN;
	if (get_int(j, "valid_days", RX_DEFAULT_VALID_DAYS, &days) || days < 1 || days > 366 ||
	    get_int(j, "uses", 1, &uses) || uses < 0 || uses > 1000) {
		rxc_signed_free(&card);
		json_decref(j);
		return cli_fail("%s: \"valid_days\" and \"uses\" must be small whole numbers", path);
	}
	v = json_object_get(j, "notes");
	if (v && !json_is_string(v)) {
		rxc_signed_free(&card);
		json_decref(j);
		return cli_fail("%s: \"notes\" must be a string", path);
	}
	p.notes = v ? (char *)json_string_value(v) : (char *)"";
	v = json_object_get(j, "institution_code");
	if (v && json_is_string(v))
		p.institution_code = (char *)json_string_value(v);
	if (cli_items_from_json(json_object_get(j, "items"), &p.items, &p.n_items, msg, sizeof msg)) {
		rxc_signed_free(&card);
		json_decref(j);
		return cli_fail("%s: %s", path, msg);
	}
	p.version = 1;
	p.prescriber_key.data = (uint8_t *)kp->pk;
	p.prescriber_key.len = RX_KEY_LEN;
	p.issued_at = (int64_t)time(NULL);
	p.valid_until = rx_valid_until(p.issued_at, (int)days);
	p.uses = (uint32_t)uses;
	p.override_reason = (char *)(override ? override : "");

	Rx__Signed sp;
	rxc_result_t r;
	if (rxc_sign_prescription(kp, &p, &sp) != RX_OK) {
		rxc_signed_free(&card);
		cli_items_free(p.items, p.n_items);
		json_decref(j);
		return cli_fail("out of memory");
	}
	rxc_submit(c, rid, &sp, &card, &r);
	json_t *extra = NULL;
	if (r.status == RX_OK && slip) {
		if (write_slip(slip, r.receipt) != 0) {
			fprintf(stderr, "rx-clinic: could not write the slip to %s\n", slip);
			extra = json_pack("{s:b}", "slip_written", 0);
		} else {
			extra = json_pack("{s:s}", "slip", slip);
		}
	}
	code = cli_print_result(&r, extra, conn->broker, NULL);
	rxc_signed_free(&sp);
	rxc_signed_free(&card);
	cli_items_free(p.items, p.n_items);
	json_decref(j);
	return code;
}

int main(int argc, char **argv)
{
	cli_conn_t conn = CLI_CONN_INIT;
	const char *slip = NULL, *override = NULL;
	static const struct option opts[] = {
		CLI_CONN_OPTIONS,
		{"slip", required_argument, NULL, 300},
		{"override", required_argument, NULL, 301},
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
			override = optarg;
			continue;
		}
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
		code = submit(c, &kp, &conn, args[1], slip, override, rid);
	} else {
		if (strcmp(args[0], "cancel") == 0)
			rxc_cancel(c, rid, args[1], &r);
		else
			rxc_status(c, args[1], NULL, &r);
		code = cli_print_result(&r, NULL, conn.broker, args[1]);
	}
	rxc_destroy(&c);
	return code;
}
