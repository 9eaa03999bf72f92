/* rxctl: the operator's tool.  Talks to rxd over the admin socket in the data
 * dir (ipc://DIR/admin.sock, mode 0600).
 *
 *   rxctl [--data DIR] [--json] key add --role prescriber|pharmacy --institution CODE --name NAME PUBKEY_HEX
 *   rxctl [--data DIR] [--json] key list
 *   rxctl [--data DIR] [--json] key revoke PUBKEY_HEX
 *   rxctl [--data DIR] [--json] patient enroll --my-number NNNNNNNNNNNN|-
 *   rxctl [--data DIR] [--json] stats
 *
 * The My Number never leaves this process: rxctl derives the patient id
 * (a keyed hash with DIR/pseudonym.key) and sends only that. */
#include <getopt.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "rx_ids.h"

static int as_json;

static void usage(FILE *f)
{
	fprintf(f, "usage: rxctl [--data DIR] [--json] COMMAND\n"
		   "  key add --role prescriber|pharmacy --institution CODE --name NAME PUBKEY_HEX\n"
		   "  key list\n"
		   "  key revoke PUBKEY_HEX\n"
		   "  patient enroll --my-number NNNNNNNNNNNN   (or - to read it from stdin)\n"
		   "  institution add --code CODE --kind clinic|pharmacy --name NAME --curve-key Z85\n"
		   "  institution list\n"
		   "  institution revoke CODE\n"
		   "  card enroll --patient PID PUBKEY_HEX\n"
		   "  card revoke PUBKEY_HEX\n"
		   "  card list\n"
		   "  rx unlock ID        (code access after 5 wrong access codes)\n"
		   "  status | stats\n"
		   "DIR defaults to ./var/rx, the data dir of the rxd to talk to.\n");
}

/* Refusals and errors: JSON with --json, a line on stderr otherwise. */
static int finish(json_t *extra, rx_err_t status, const char *msg, const char *human)
{
	if (as_json)
		return cli_finish(extra, status, msg);
	json_decref(extra);
	if (status == RX_OK) {
		if (human)
			fputs(human, stdout);
	} else {
		fprintf(stderr, "rxctl: %s: %s\n", rx_err_name(status), msg ? msg : rx_strerror(status));
	}
	return cli_exit_code(status);
}

static int failf(rx_err_t status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(rx_err_t status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return finish(NULL, status, msg, NULL);
}

/* One admin request and its reply; see rxc_admin. */
static rx_err_t admin_call(const char *dir, int timeout_s, const Rx__AdminRequest *q,
			   Rx__AdminReply **out, char *msg, size_t msglen)
{
	return rxc_admin(dir, timeout_s ? timeout_s * 1000 : CLI_DEFAULT_TIMEOUT_MS, q, out, msg,
			 msglen);
}

/* Send q.  A refusal or error is printed and its exit code returned; on OK
 * -1 is returned and *r is the caller's. */
static int call_or_finish(const char *dir, int timeout_s, const Rx__AdminRequest *q,
			  Rx__AdminReply **r)
{
	char msg[512];
	rx_err_t err = admin_call(dir, timeout_s, q, r, msg, sizeof msg);
	if (err == RX_OK)
		return -1;
	if (*r) {
		rx__admin_reply__free_unpacked(*r, NULL);
		*r = NULL;
	}
	return finish(NULL, err, msg, NULL);
}

static json_t *key_json(const Rx__KeyInfo *k)
{
	char t[32];
	json_t *o = json_object();
	json_object_set_new(o, "key", cli_hex(k->key.data, k->key.len));
	json_object_set_new(o, "role", json_string(rx_role_name(k->role)));
	json_object_set_new(o, "institution", json_string(k->institution_code));
	json_object_set_new(o, "name", json_string(k->name));
	json_object_set_new(o, "revoked", json_boolean(k->revoked));
	cli_time(k->added_at, t);
	json_object_set_new(o, "added_at", json_string(t));
	if (k->revoked) {
		cli_time(k->revoked_at, t);
		json_object_set_new(o, "revoked_at", json_string(t));
	}
	return o;
}

/* Read a My Number from stdin ("-") so it stays out of ps and shell history. */
static int read_number(char *out, size_t cap)
{
	if (fgets(out, (int)cap, stdin) == NULL)
		return -1;
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

static int enroll(const char *dir, int timeout_s, const char *arg)
{
	char number[64], pid[RX_PATIENT_ID_LEN + 1], msg[512], path[4096];
	rx_keypair_t pk;
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r;

	if (strcmp(arg, "-") == 0) {
		if (read_number(number, sizeof number))
			return failf(RX_SYSTEM, "no My Number on stdin");
	} else {
		snprintf(number, sizeof number, "%s", arg);
	}
	if (rx_mynumber_valid(number) != RX_OK) {
		sodium_memzero(number, sizeof number);
		return failf(RX_INVALID, "not a valid My Number (12 digits, last one a check digit)");
	}
	snprintf(path, sizeof path, "%s/pseudonym.key", dir);
	rx_err_t err = rx_key_load(path, &pk);
	if (err != RX_OK) {
		sodium_memzero(number, sizeof number);
		return failf(RX_SYSTEM, "cannot read %s (%s): start rxd on this data dir first",
			     path, rx_err_name(err));
	}
	/* The seed half of the secret is the pseudonym key. */
	err = rx_patient_id_derive(pk.sk, number, pid);
	sodium_memzero(number, sizeof number);
	sodium_memzero(&pk, sizeof pk);
	if (err != RX_OK)
		return failf(RX_INVALID, "not a valid My Number");
	q.op = RX__ADMIN_OP__PATIENT_ENROLL;
	q.patient_id = pid;
	err = admin_call(dir, timeout_s, &q, &r, msg, sizeof msg);
	int code;
	if (err == RX_OK) {
		char human[128];
		snprintf(human, sizeof human, "patient id %s (%s)\n", r->patient_id,
			 r->created ? "enrolled" : "already enrolled");
		code = finish(json_pack("{s:s, s:b}", "patient_id", r->patient_id, "created", r->created),
			      RX_OK, NULL, human);
	} else {
		code = finish(NULL, err, msg, NULL);
	}
	if (r)
		rx__admin_reply__free_unpacked(r, NULL);
	return code;
}

static int stats(const char *dir, int timeout_s)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r;
	char msg[512];
	q.op = RX__ADMIN_OP__STATS;
	rx_err_t err = admin_call(dir, timeout_s, &q, &r, msg, sizeof msg);
	if (err != RX_OK || r->stats == NULL) {
		int code = finish(NULL, err == RX_OK ? RX_SYSTEM : err, msg, NULL);
		if (r)
			rx__admin_reply__free_unpacked(r, NULL);
		return code;
	}
	const Rx__Stats *s = r->stats;
	char started[32], key[2 * RX_KEY_LEN + 1], human[2048];
	cli_time(s->started_at, started);
	rx_hex(s->broker_key.data, s->broker_key.len == RX_KEY_LEN ? RX_KEY_LEN : 0, key);
	long long up = (long long)time(NULL) - s->started_at;
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:I, "
		"s:I, s:I}",
		"version", s->version, "broker_key", key, "curve_key", s->curve_key, "started_at", started,
		"uptime_s",
		(json_int_t)up, "requests", (json_int_t)s->requests, "prescriptions",
		(json_int_t)s->prescriptions, "by_state", "ISSUED", (json_int_t)s->issued, "CLAIMED",
		(json_int_t)s->claimed, "DISPENSED", (json_int_t)s->dispensed, "CANCELLED",
		(json_int_t)s->cancelled, "EXPIRED", (json_int_t)s->expired, "dispense_records",
		(json_int_t)s->dispense_records, "patients", (json_int_t)s->patients, "keys",
		(json_int_t)s->keys, "map_used", (json_int_t)s->map_used, "map_size",
		(json_int_t)s->map_size, "institutions", (json_int_t)s->institutions, "cards",
		(json_int_t)s->cards);
	snprintf(human, sizeof human,
		 "rxd %s, up %llds (since %s)\n"
		 "broker key        %s\n"
		 "curve key (Z85)   %s\n"
		 "requests served   %llu\n"
		 "prescriptions     %llu  (issued %llu, claimed %llu, dispensed %llu, cancelled %llu, expired %llu)\n"
		 "dispense records  %llu\n"
		 "patients          %llu\n"
		 "institutions      %llu\n"
		 "keys              %llu\n"
		 "cards             %llu\n"
		 "LMDB map          %.1f of %.1f MiB used\n",
		 s->version, up, started, key, s->curve_key, (unsigned long long)s->requests,
		 (unsigned long long)s->prescriptions, (unsigned long long)s->issued,
		 (unsigned long long)s->claimed, (unsigned long long)s->dispensed,
		 (unsigned long long)s->cancelled, (unsigned long long)s->expired,
		 (unsigned long long)s->dispense_records, (unsigned long long)s->patients,
		 (unsigned long long)s->institutions, (unsigned long long)s->keys,
		 (unsigned long long)s->cards, s->map_used / 1048576.0, s->map_size / 1048576.0);
	int code = finish(o, RX_OK, NULL, human);
	rx__admin_reply__free_unpacked(r, NULL);
	return code;
}

static const char *kind_name(int kind)
{
	return kind == RX__INSTITUTION_KIND__CLINIC ? "clinic"
	       : kind == RX__INSTITUTION_KIND__PHARMACY_SITE ? "pharmacy"
							    : "?";
}

/* institution add --code CODE --kind clinic|pharmacy --name NAME --curve-key Z85
 * institution list
 * institution revoke CODE */
static int institutions(const char *dir, int timeout_s, int op, const char *code, const char *kind,
			const char *name, const char *curve)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__InstitutionInfo ii = RX__INSTITUTION_INFO__INIT;
	Rx__AdminReply *r = NULL;
	uint8_t ck[32];
	char human[512];

	q.op = (Rx__AdminOp)op;
	q.institution = &ii;
	ii.code = (char *)(code ? code : "");
	if (op == RX__ADMIN_OP__INSTITUTION_ADD) {
		if (code == NULL || kind == NULL || name == NULL || curve == NULL)
			return failf(RX_INVALID, "--code, --kind, --name and --curve-key are required");
		if (strcmp(kind, "clinic") == 0)
			ii.kind = RX__INSTITUTION_KIND__CLINIC;
		else if (strcmp(kind, "pharmacy") == 0)
			ii.kind = RX__INSTITUTION_KIND__PHARMACY_SITE;
		else
			return failf(RX_INVALID, "--kind must be clinic or pharmacy");
		if (rx_z85_decode(curve, ck) != RX_OK)
			return failf(RX_INVALID, "--curve-key must be 40 characters of Z85 (rx-keygen --curve prints it)");
		ii.name = (char *)name;
		ii.curve_key.data = ck;
		ii.curve_key.len = 32;
	}
	int code_rc = call_or_finish(dir, timeout_s, &q, &r);
	if (code_rc >= 0)
		return code_rc;
	if (op == RX__ADMIN_OP__INSTITUTION_LIST) {
		json_t *arr = json_array();
		if (!as_json)
			printf("%-12s  %-8s  %-8s  %-40s  %s\n", "CODE", "KIND", "STATUS", "CURVE KEY", "NAME");
		for (size_t i = 0; i < r->n_institutions; i++) {
			const Rx__InstitutionInfo *in = r->institutions[i];
			char z[RX_Z85_LEN + 1] = "", t[32];
			if (in->curve_key.len == 32)
				rx_z85_encode(in->curve_key.data, z);
			if (!as_json)
				printf("%-12s  %-8s  %-8s  %-40s  %s\n", in->code, kind_name(in->kind),
				       in->revoked ? "revoked" : "active", z, in->name);
			cli_time(in->added_at, t);
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "code", in->code, "kind",
					      kind_name(in->kind), "name", in->name, "curve_key", z,
					      "revoked", in->revoked, "added_at", t);
			json_array_append_new(arr, o);
		}
		code_rc = finish(json_pack("{s:o}", "institutions", arr), RX_OK, NULL, NULL);
	} else if (op == RX__ADMIN_OP__INSTITUTION_ADD) {
		snprintf(human, sizeof human, "registered %s %s (%s)\n", kind, code, name);
		code_rc = finish(json_pack("{s:s, s:s, s:s, s:s}", "code", code, "kind", kind, "name", name,
					   "curve_key", curve),
				 RX_OK, NULL, human);
	} else {
		snprintf(human, sizeof human, "revoked institution %s: its connections are refused\n", code);
		code_rc = finish(json_pack("{s:s, s:b}", "code", code, "revoked", 1), RX_OK, NULL, human);
	}
	rx__admin_reply__free_unpacked(r, NULL);
	return code_rc;
}

/* card enroll --patient PID PUBKEY_HEX | card revoke PUBKEY_HEX | card list */
static int cards(const char *dir, int timeout_s, int op, const char *hex, const char *patient)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	uint8_t card[RX_KEY_LEN];
	char human[256];

	q.op = (Rx__AdminOp)op;
	if (hex) {
		if (rx_unhex(hex, card, RX_KEY_LEN) != RX_OK)
			return failf(RX_INVALID, "PUBKEY_HEX must be 64 hex digits (rx-card new prints it)");
		q.card.data = card;
		q.card.len = RX_KEY_LEN;
	}
	if (op == RX__ADMIN_OP__CARD_ENROLL) {
		if (patient == NULL)
			return failf(RX_INVALID, "--patient PID is required");
		q.patient_id = (char *)patient;
	}
	int code = call_or_finish(dir, timeout_s, &q, &r);
	if (code >= 0)
		return code;
	if (op == RX__ADMIN_OP__CARD_LIST) {
		json_t *arr = json_array();
		if (!as_json)
			printf("%-64s  %-18s  %-8s  %s\n", "CARD", "PATIENT", "STATUS", "ENROLLED");
		for (size_t i = 0; i < r->n_cards; i++) {
			const Rx__CardInfo *ci = r->cards[i];
			char h[2 * RX_KEY_LEN + 1] = "", t[32];
			if (ci->card.len == RX_KEY_LEN)
				rx_hex(ci->card.data, RX_KEY_LEN, h);
			cli_time(ci->enrolled_at, t);
			if (!as_json)
				printf("%-64s  %-18s  %-8s  %s\n", h, ci->patient_id,
				       ci->revoked ? "revoked" : "active", t);
			json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:s}", "card", h, "patient_id",
							     ci->patient_id, "revoked", ci->revoked,
							     "enrolled_at", t));
		}
		code = finish(json_pack("{s:o}", "cards", arr), RX_OK, NULL, NULL);
	} else if (op == RX__ADMIN_OP__CARD_ENROLL) {
		snprintf(human, sizeof human, "card enrolled for patient %s\n", r->patient_id);
		code = finish(json_pack("{s:s, s:s}", "card", hex, "patient_id", r->patient_id), RX_OK, NULL,
			      human);
	} else {
		snprintf(human, sizeof human, "card revoked: it is refused from now on\n");
		code = finish(json_pack("{s:s, s:b}", "card", hex, "revoked", 1), RX_OK, NULL, human);
	}
	rx__admin_reply__free_unpacked(r, NULL);
	return code;
}

/* rx unlock ID: code access works again after 5 wrong access codes. */
static int unlock(const char *dir, int timeout_s, const char *id)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	q.op = RX__ADMIN_OP__RX_UNLOCK;
	q.prescription_id = (char *)id;
	int code = call_or_finish(dir, timeout_s, &q, &r);
	if (code >= 0)
		return code;
	rx__admin_reply__free_unpacked(r, NULL);
	return finish(json_pack("{s:s, s:b}", "id", id, "unlocked", 1), RX_OK, NULL,
		      "access-code use unlocked\n");
}

static int keys(const char *dir, int timeout_s, int op, const char *hex, const char *role,
		const char *inst, const char *name)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__KeyInfo ki = RX__KEY_INFO__INIT;
	Rx__AdminReply *r;
	uint8_t pk[RX_KEY_LEN];
	char msg[512];

	q.op = (Rx__AdminOp)op;
	if (hex) {
		if (rx_unhex(hex, pk, RX_KEY_LEN) != RX_OK)
			return failf(RX_INVALID, "PUBKEY_HEX must be 64 hex digits (rx-keygen prints it)");
		ki.key.data = pk;
		ki.key.len = RX_KEY_LEN;
		q.key = &ki;
	}
	if (op == RX__ADMIN_OP__KEY_ADD) {
		if (!(ki.role = (Rx__Role)rx_role_parse(role)))
			return failf(RX_INVALID, "--role must be prescriber or pharmacy");
		if (inst == NULL || name == NULL)
			return failf(RX_INVALID, "--institution CODE and --name NAME are required");
		ki.institution_code = (char *)inst;
		ki.name = (char *)name;
	}
	rx_err_t err = admin_call(dir, timeout_s, &q, &r, msg, sizeof msg);
	if (err != RX_OK) {
		int code = finish(NULL, err, msg, NULL);
		if (r)
			rx__admin_reply__free_unpacked(r, NULL);
		return code;
	}
	int code;
	char human[512];
	if (op == RX__ADMIN_OP__KEY_LIST) {
		json_t *arr = json_array();
		if (!as_json)
			printf("%-64s  %-10s  %-12s  %-8s  %s\n", "KEY", "ROLE", "INSTITUTION", "STATUS", "NAME");
		for (size_t i = 0; i < r->n_keys; i++) {
			const Rx__KeyInfo *k = r->keys[i];
			char h[2 * RX_KEY_LEN + 1] = "";
			if (k->key.len == RX_KEY_LEN)
				rx_hex(k->key.data, RX_KEY_LEN, h);
			if (!as_json)
				printf("%-64s  %-10s  %-12s  %-8s  %s\n", h, rx_role_name(k->role),
				       k->institution_code, k->revoked ? "revoked" : "active", k->name);
			json_array_append_new(arr, key_json(k));
		}
		code = finish(json_pack("{s:o}", "keys", arr), RX_OK, NULL, NULL);
	} else if (op == RX__ADMIN_OP__KEY_ADD) {
		snprintf(human, sizeof human, "registered %s key %s for institution %s\n", role, hex, inst);
		code = finish(json_pack("{s:s, s:s, s:s, s:s}", "key", hex, "role", role, "institution",
					inst, "name", name),
			      RX_OK, NULL, human);
	} else {
		snprintf(human, sizeof human, "revoked key %s\n", hex);
		code = finish(json_pack("{s:s, s:b}", "key", hex, "revoked", 1), RX_OK, NULL, human);
	}
	rx__admin_reply__free_unpacked(r, NULL);
	return code;
}

int main(int argc, char **argv)
{
	const char *dir = "./var/rx", *role = NULL, *inst = NULL, *name = NULL, *number = NULL,
		   *code = NULL, *kind = NULL, *curve = NULL, *patient = NULL;
	int timeout_s = 0;
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"role", required_argument, NULL, 'r'},
		{"institution", required_argument, NULL, 'i'},
		{"name", required_argument, NULL, 'n'},
		{"my-number", required_argument, NULL, 'm'},
		{"timeout", required_argument, NULL, 't'},
		{"code", required_argument, NULL, 'c'},
		{"kind", required_argument, NULL, 'k'},
		{"curve-key", required_argument, NULL, 'C'},
		{"patient", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "d:jr:i:n:m:t:c:k:C:P:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'j': as_json = 1; break;
		case 'r': role = optarg; break;
		case 'i': inst = optarg; break;
		case 'n': name = optarg; break;
		case 'm': number = optarg; break;
		case 't': timeout_s = atoi(optarg); break;
		case 'c': code = optarg; break;
		case 'k': kind = optarg; break;
		case 'C': curve = optarg; break;
		case 'P': patient = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (timeout_s < 0 || timeout_s > 3600)
		timeout_s = 0;
	if (rx_crypto_init() != RX_OK)
		return failf(RX_SYSTEM, "libsodium failed to initialise");
	int n = argc - optind;
	char **a = argv + optind;
#define IS(i, s) (n > (i) && strcmp(a[i], (s)) == 0)
	if ((IS(0, "stats") || IS(0, "status")) && n == 1)
		return stats(dir, timeout_s);
	if (IS(0, "card") && IS(1, "enroll") && n == 3)
		return cards(dir, timeout_s, RX__ADMIN_OP__CARD_ENROLL, a[2], patient);
	if (IS(0, "card") && IS(1, "revoke") && n == 3)
		return cards(dir, timeout_s, RX__ADMIN_OP__CARD_REVOKE, a[2], NULL);
	if (IS(0, "card") && IS(1, "list") && n == 2)
		return cards(dir, timeout_s, RX__ADMIN_OP__CARD_LIST, NULL, NULL);
	if (IS(0, "rx") && IS(1, "unlock") && n == 3)
		return unlock(dir, timeout_s, a[2]);
	if (IS(0, "institution") && IS(1, "add") && n == 2)
		return institutions(dir, timeout_s, RX__ADMIN_OP__INSTITUTION_ADD, code, kind, name, curve);
	if (IS(0, "institution") && IS(1, "list") && n == 2)
		return institutions(dir, timeout_s, RX__ADMIN_OP__INSTITUTION_LIST, NULL, NULL, NULL, NULL);
	if (IS(0, "institution") && IS(1, "revoke") && n == 3)
		return institutions(dir, timeout_s, RX__ADMIN_OP__INSTITUTION_REVOKE, a[2], NULL, NULL, NULL);
	if (IS(0, "patient") && IS(1, "enroll") && n == 2 && number)
		return enroll(dir, timeout_s, number);
	if (IS(0, "key") && IS(1, "add") && n == 3)
		return keys(dir, timeout_s, RX__ADMIN_OP__KEY_ADD, a[2], role, inst, name);
	if (IS(0, "key") && IS(1, "list") && n == 2)
		return keys(dir, timeout_s, RX__ADMIN_OP__KEY_LIST, NULL, NULL, NULL, NULL);
	if (IS(0, "key") && IS(1, "revoke") && n == 3)
		return keys(dir, timeout_s, RX__ADMIN_OP__KEY_REVOKE, a[2], NULL, NULL, NULL);
	usage(stderr);
	return 1;
}
