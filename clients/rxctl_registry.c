/* rxctl's registry commands: who may talk to rxd and as whom.  Signing keys
 * (key add|list|revoke), institutions and their transport keys (institution
 * add|list|revoke), patients' cards (card enroll|revoke|list) and patients
 * (patient enroll).  Each handler is a row of the table in rxctl.c.
 *
 * The My Number never leaves this process: rxctl derives the patient id
 * (a keyed hash with the pseudonym key, which lives outside the data dir:
 * where rxd says it checked it, or --pseudonym-key) and sends only that. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "rx_ids.h"
#include "rxctl.h"

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

/* Where the pseudonym key is: key_path if given, else where rxd says it
 * checked it at start (so rxd.conf's pseudonym_key needs no repeating
 * here), else the default beside dir. */
static rx_err_t pseudonym_path(const rxctl_t *c, const char *key_path, char *out, size_t cap)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	char msg[512];
	if (key_path)
		return snprintf(out, cap, "%s", key_path) < (int)cap ? RX_OK : RX_INVALID;
	q.op = RX__ADMIN_OP__STATS;
	rx_err_t err = rxctl_admin_call(c, &q, &r, msg, sizeof msg);
	if (err == RX_OK && r->stats && r->stats->pseudonym_key[0])
		err = snprintf(out, cap, "%s", r->stats->pseudonym_key) < (int)cap ? RX_OK : RX_INVALID;
	else
		err = rx_pseudonym_key_default(c->dir, out, cap);
	if (r)
		rx__admin_reply__free_unpacked(r, NULL);
	return err;
}

/* patient enroll --my-number NNNNNNNNNNNN|- [--pseudonym-key FILE]: the
 * number is checked and turned into the patient id here; a line without
 * --my-number gets the usage text. */
int rxctl_enroll(const rxctl_t *c, int op, char **args, int nargs)
{
	char number[64], pid[RX_PATIENT_ID_LEN + 1], path[4096];
	const char *arg = c->my_number;
	rx_keypair_t pk;
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;

	(void)args;
	(void)nargs;
	if (arg == NULL)
		return RXCTL_USAGE;

	if (strcmp(arg, "-") == 0) {
		if (read_number(number, sizeof number))
			return rxctl_failf(c, RX_SYSTEM, "no My Number on stdin");
	} else {
		snprintf(number, sizeof number, "%s", arg);
	}
	if (rx_mynumber_valid(number) != RX_OK) {
		sodium_memzero(number, sizeof number);
		return rxctl_failf(c, RX_INVALID, "not a valid My Number (12 digits, last one a check digit)");
	}
	rx_err_t err = pseudonym_path(c, c->pseudonym_key, path, sizeof path);
	if (err == RX_OK)
		err = rx_key_load(path, &pk);
	if (err != RX_OK) {
		sodium_memzero(number, sizeof number);
		return rxctl_failf(c, RX_SYSTEM,
				   "cannot read the pseudonym key %s (%s): start rxd on this data "
				   "dir first, or give --pseudonym-key FILE",
				   path, rx_err_name(err));
	}
	/* The seed half of the secret is the pseudonym key. */
	err = rx_patient_id_derive(pk.sk, number, pid);
	sodium_memzero(number, sizeof number);
	sodium_memzero(&pk, sizeof pk);
	if (err != RX_OK)
		return rxctl_failf(c, RX_INVALID, "not a valid My Number");
	q.op = (Rx__AdminOp)op;
	q.patient_id = pid;
	int code = rxctl_call_or_finish(c, &q, &r);
	if (code >= 0)
		return code;
	char human[128];
	snprintf(human, sizeof human, "patient id %s (%s)\n", r->patient_id,
		 r->created ? "enrolled" : "already enrolled");
	json_t *o = json_pack("{s:s, s:b}", "patient_id", r->patient_id, "created", r->created);
	code = rxctl_finish(c, o, RX_OK, NULL, human);
	rx__admin_reply__free_unpacked(r, NULL);
	return code;
}

static const char *kind_name(int kind)
{
	return kind == RX__INSTITUTION_KIND__CLINIC	     ? "clinic"
	       : kind == RX__INSTITUTION_KIND__PHARMACY_SITE ? "pharmacy"
	       : kind == RX__INSTITUTION_KIND__PORTAL	     ? "portal"
							     : "?";
}

/* institution add --code CODE --kind clinic|pharmacy --name NAME --curve-key Z85
 * institution list
 * institution revoke CODE */
int rxctl_institutions(const rxctl_t *c, int op, char **args, int nargs)
{
	/* Only add reads the options; revoke names its CODE as a word. */
	int add = op == RX__ADMIN_OP__INSTITUTION_ADD;
	const char *code = add ? c->code : nargs ? args[0] : NULL, *kind = add ? c->kind : NULL,
		   *name = add ? c->name : NULL, *curve = add ? c->curve_key : NULL;
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
			return rxctl_failf(c, RX_INVALID, "--code, --kind, --name and --curve-key are required");
		if (strcmp(kind, "clinic") == 0)
			ii.kind = RX__INSTITUTION_KIND__CLINIC;
		else if (strcmp(kind, "pharmacy") == 0)
			ii.kind = RX__INSTITUTION_KIND__PHARMACY_SITE;
		else if (strcmp(kind, "portal") == 0)
			ii.kind = RX__INSTITUTION_KIND__PORTAL;
		else
			return rxctl_failf(c, RX_INVALID, "--kind must be clinic, pharmacy or portal");
		if (rx_z85_decode(curve, ck) != RX_OK)
			return rxctl_failf(c, RX_INVALID, "--curve-key must be 40 characters of Z85 (rx-keygen --curve prints it)");
		ii.name = (char *)name;
		ii.curve_key.data = ck;
		ii.curve_key.len = 32;
	}
	int code_rc = rxctl_call_or_finish(c, &q, &r);
	if (code_rc >= 0)
		return code_rc;
	if (op == RX__ADMIN_OP__INSTITUTION_LIST) {
		json_t *arr = json_array();
		if (!c->json)
			printf("%-12s  %-8s  %-8s  %-40s  %s\n", "CODE", "KIND", "STATUS", "CURVE KEY", "NAME");
		for (size_t i = 0; i < r->n_institutions; i++) {
			const Rx__InstitutionInfo *in = r->institutions[i];
			char z[RX_Z85_LEN + 1] = "", t[32];
			if (in->curve_key.len == 32)
				rx_z85_encode(in->curve_key.data, z);
			if (!c->json)
				printf("%-12s  %-8s  %-8s  %-40s  %s\n", in->code, kind_name(in->kind),
				       in->revoked ? "revoked" : "active", z, in->name);
			cli_time(in->added_at, t);
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "code", in->code, "kind",
					      kind_name(in->kind), "name", in->name, "curve_key", z,
					      "revoked", in->revoked, "added_at", t);
			json_array_append_new(arr, o);
		}
		code_rc = rxctl_finish(c, json_pack("{s:o}", "institutions", arr), RX_OK, NULL, NULL);
	} else if (op == RX__ADMIN_OP__INSTITUTION_ADD) {
		snprintf(human, sizeof human, "registered %s %s (%s)\n", kind, code, name);
		code_rc = rxctl_finish(c,
				       json_pack("{s:s, s:s, s:s, s:s}", "code", code, "kind", kind,
						 "name", name, "curve_key", curve),
				       RX_OK, NULL, human);
	} else {
		snprintf(human, sizeof human, "revoked institution %s: its connections are refused\n", code);
		code_rc = rxctl_finish(c, json_pack("{s:s, s:b}", "code", code, "revoked", 1), RX_OK, NULL, human);
	}
	rx__admin_reply__free_unpacked(r, NULL);
	return code_rc;
}

/* card enroll --patient PID PUBKEY_HEX | card revoke PUBKEY_HEX | card list */
int rxctl_cards(const rxctl_t *c, int op, char **args, int nargs)
{
	const char *hex = nargs ? args[0] : NULL, *patient = c->patient;
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	uint8_t card[RX_KEY_LEN];
	char human[256];

	q.op = (Rx__AdminOp)op;
	if (hex) {
		if (rx_unhex(hex, card, RX_KEY_LEN) != RX_OK)
			return rxctl_failf(c, RX_INVALID, "PUBKEY_HEX must be 64 hex digits (rx-card new prints it)");
		q.card.data = card;
		q.card.len = RX_KEY_LEN;
	}
	if (op == RX__ADMIN_OP__CARD_ENROLL) {
		if (patient == NULL)
			return rxctl_failf(c, RX_INVALID, "--patient PID is required");
		q.patient_id = (char *)patient;
	}
	int code = rxctl_call_or_finish(c, &q, &r);
	if (code >= 0)
		return code;
	if (op == RX__ADMIN_OP__CARD_LIST) {
		json_t *arr = json_array();
		if (!c->json)
			printf("%-64s  %-18s  %-8s  %s\n", "CARD", "PATIENT", "STATUS", "ENROLLED");
		for (size_t i = 0; i < r->n_cards; i++) {
			const Rx__CardInfo *ci = r->cards[i];
			char h[2 * RX_KEY_LEN + 1] = "", t[32];
			if (ci->card.len == RX_KEY_LEN)
				rx_hex(ci->card.data, RX_KEY_LEN, h);
			cli_time(ci->enrolled_at, t);
			if (!c->json)
				printf("%-64s  %-18s  %-8s  %s\n", h, ci->patient_id,
				       ci->revoked ? "revoked" : "active", t);
			json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:s}", "card", h, "patient_id",
							     ci->patient_id, "revoked", ci->revoked,
							     "enrolled_at", t));
		}
		code = rxctl_finish(c, json_pack("{s:o}", "cards", arr), RX_OK, NULL, NULL);
	} else if (op == RX__ADMIN_OP__CARD_ENROLL) {
		snprintf(human, sizeof human, "card enrolled for patient %s\n", r->patient_id);
		code = rxctl_finish(
		    c, json_pack("{s:s, s:s}", "card", hex, "patient_id", r->patient_id), RX_OK,
		    NULL, human);
	} else {
		snprintf(human, sizeof human, "card revoked: it is refused from now on\n");
		code = rxctl_finish(c, json_pack("{s:s, s:b}", "card", hex, "revoked", 1), RX_OK, NULL, human);
	}
	rx__admin_reply__free_unpacked(r, NULL);
	return code;
}

/* key add --role R --institution CODE --name NAME PUBKEY_HEX | key list | key revoke PUBKEY_HEX */
int rxctl_keys(const rxctl_t *c, int op, char **args, int nargs)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__KeyInfo ki = RX__KEY_INFO__INIT;
	Rx__AdminReply *r = NULL;
	uint8_t pk[RX_KEY_LEN];
	const char *hex = nargs ? args[0] : NULL, *role = c->role, *inst = c->institution,
		   *name = c->name;

	q.op = (Rx__AdminOp)op;
	if (hex) {
		if (rx_unhex(hex, pk, RX_KEY_LEN) != RX_OK)
			return rxctl_failf(c, RX_INVALID, "PUBKEY_HEX must be 64 hex digits (rx-keygen prints it)");
		ki.key.data = pk;
		ki.key.len = RX_KEY_LEN;
		q.key = &ki;
	}
	if (op == RX__ADMIN_OP__KEY_ADD) {
		if (!(ki.role = (Rx__Role)rx_role_parse(role)))
			return rxctl_failf(c, RX_INVALID, "--role must be prescriber or pharmacy");
		if (inst == NULL || name == NULL)
			return rxctl_failf(c, RX_INVALID, "--institution CODE and --name NAME are required");
		ki.institution_code = (char *)inst;
		ki.name = (char *)name;
	}
	int code = rxctl_call_or_finish(c, &q, &r);
	if (code >= 0)
		return code;
	char human[512];
	if (op == RX__ADMIN_OP__KEY_LIST) {
		json_t *arr = json_array();
		if (!c->json)
			printf("%-64s  %-10s  %-12s  %-8s  %s\n", "KEY", "ROLE", "INSTITUTION", "STATUS", "NAME");
		for (size_t i = 0; i < r->n_keys; i++) {
			const Rx__KeyInfo *k = r->keys[i];
			char h[2 * RX_KEY_LEN + 1] = "";
			if (k->key.len == RX_KEY_LEN)
				rx_hex(k->key.data, RX_KEY_LEN, h);
			if (!c->json)
				printf("%-64s  %-10s  %-12s  %-8s  %s\n", h, rx_role_name(k->role),
				       k->institution_code, k->revoked ? "revoked" : "active", k->name);
			json_array_append_new(arr, key_json(k));
		}
		code = rxctl_finish(c, json_pack("{s:o}", "keys", arr), RX_OK, NULL, NULL);
	} else if (op == RX__ADMIN_OP__KEY_ADD) {
		snprintf(human, sizeof human, "registered %s key %s for institution %s\n", role, hex, inst);
		code = rxctl_finish(c,
				    json_pack("{s:s, s:s, s:s, s:s}", "key", hex, "role", role,
					      "institution", inst, "name", name),
				    RX_OK, NULL, human);
	} else {
		snprintf(human, sizeof human, "revoked key %s\n", hex);
		code = rxctl_finish(c, json_pack("{s:s, s:b}", "key", hex, "revoked", 1), RX_OK, NULL, human);
	}
	rx__admin_reply__free_unpacked(r, NULL);
	return code;
}

