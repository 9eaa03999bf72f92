/* rxctl: the operator's tool.  Talks to rxd over the admin socket in the data
 * dir (ipc://DIR/admin.sock, mode 0600).
 *
 *   rxctl [--data DIR] [--json] key add --role prescriber|pharmacy --institution CODE --name NAME PUBKEY_HEX
 *   rxctl [--data DIR] [--json] key list
 *   rxctl [--data DIR] [--json] key revoke PUBKEY_HEX
 *   rxctl [--data DIR] [--json] patient enroll --my-number NNNNNNNNNNNN|- [--pseudonym-key FILE]
 *   rxctl [--data DIR] [--json] stats
 *
 * The My Number never leaves this process: rxctl derives the patient id
 * (a keyed hash with the pseudonym key, which lives outside the data dir:
 * where rxd says it checked it, or --pseudonym-key) and sends only that. */
#include <getopt.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "rx_drugs.h"
#include "rx_ids.h"

static int as_json;

static void usage(FILE *f)
{
	fprintf(f, "usage: rxctl [--data DIR] [--json] COMMAND\n"
		   "  key add --role prescriber|pharmacy --institution CODE --name NAME PUBKEY_HEX\n"
		   "  key list\n"
		   "  key revoke PUBKEY_HEX\n"
		   "  patient enroll --my-number NNNNNNNNNNNN   (or - to read it from stdin)\n"
		   "                 [--pseudonym-key FILE]  (default: the key rxd checked at start)\n"
		   "  institution add --code CODE --kind clinic|pharmacy|portal --name NAME --curve-key Z85\n"
		   "  institution list\n"
		   "  institution revoke CODE\n"
		   "  card enroll --patient PID PUBKEY_HEX\n"
		   "  card revoke PUBKEY_HEX\n"
		   "  card list\n"
		   "  rx show ID [--body]             state and history (--body: the items, audited)\n"
		   "  rx list --state S               ISSUED CLAIMED DISPENSED CANCELLED EXPIRED\n"
		   "  rx release ID --force --reason TEXT   take back a stuck claim (audited)\n"
		   "  rx unlock ID                    code access after 5 wrong access codes\n"
		   "  audit verify | tail [-n N] | patient --patient PID | report --day YYYY-MM-DD\n"
		   "  expire                          run the expiry sweep now\n"
		   "  backup DEST [--with-pseudonym-key]  hot, compacted copy of the store and its keys;\n"
		   "                                  the pseudonym key only with the flag\n"
		   "  metrics                         Prometheus text\n"
		   "  drugs load FILE.csv             replace the drug master (columns of deploy/data/drugs-jp.csv)\n"
		   "  drugs show CODE|PREFIX          a drug, or the drugs under a code prefix (4..11 characters)\n"
		   "  drugs info                      the master's size; the duplicate check is off while empty\n"
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

/* Where the pseudonym key is: key_path if given, else where rxd says it
 * checked it at start (so rxd.conf's pseudonym_key needs no repeating
 * here), else the default beside dir. */
static rx_err_t pseudonym_path(const char *dir, int timeout_s, const char *key_path, char *out,
			       size_t cap)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	char msg[512];
	if (key_path)
		return snprintf(out, cap, "%s", key_path) < (int)cap ? RX_OK : RX_INVALID;
	q.op = RX__ADMIN_OP__STATS;
	rx_err_t err = admin_call(dir, timeout_s, &q, &r, msg, sizeof msg);
	if (err == RX_OK && r->stats && r->stats->pseudonym_key[0])
		err = snprintf(out, cap, "%s", r->stats->pseudonym_key) < (int)cap ? RX_OK : RX_INVALID;
	else
		err = rx_pseudonym_key_default(dir, out, cap);
	if (r)
		rx__admin_reply__free_unpacked(r, NULL);
	return err;
}

static int enroll(const char *dir, int timeout_s, const char *arg, const char *key_path)
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
	rx_err_t err = pseudonym_path(dir, timeout_s, key_path, path, sizeof path);
	if (err == RX_OK)
		err = rx_key_load(path, &pk);
	if (err != RX_OK) {
		sodium_memzero(number, sizeof number);
		return failf(RX_SYSTEM, "cannot read the pseudonym key %s (%s): start rxd on this data dir "
				       "first, or give --pseudonym-key FILE", path, rx_err_name(err));
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
		"s:I, s:I, s:I, s:f, s:I}",
		"version", s->version, "broker_key", key, "curve_key", s->curve_key, "started_at", started,
		"uptime_s",
		(json_int_t)up, "requests", (json_int_t)s->requests, "prescriptions",
		(json_int_t)s->prescriptions, "by_state", "ISSUED", (json_int_t)s->issued, "CLAIMED",
		(json_int_t)s->claimed, "DISPENSED", (json_int_t)s->dispensed, "CANCELLED",
		(json_int_t)s->cancelled, "EXPIRED", (json_int_t)s->expired, "dispense_records",
		(json_int_t)s->dispense_records, "patients", (json_int_t)s->patients, "keys",
		(json_int_t)s->keys, "map_used", (json_int_t)s->map_used, "map_size",
		(json_int_t)s->map_size, "institutions", (json_int_t)s->institutions, "cards",
		(json_int_t)s->cards, "data_dir_bytes", (json_int_t)s->data_dir_bytes,
		"requests_per_second", s->requests_per_second, "audit_entries",
		(json_int_t)s->audit_entries);
	json_object_set_new(o, "notices_pending", json_integer((json_int_t)s->notices_pending));
	json_object_set_new(o, "nominations", json_integer((json_int_t)s->nominations));
	json_object_set_new(o, "pseudonym_key", json_string(s->pseudonym_key));
	json_object_set_new(o, "space",
			    json_pack("{s:I, s:I, s:I, s:I, s:b}", "map_size", (json_int_t)s->map_size,
				      "high_water", (json_int_t)s->map_used, "free",
				      (json_int_t)s->map_free, "reserve", (json_int_t)s->map_reserve,
				      "storage_full", (int)s->storage_full));
	json_object_set_new(o, "prunable",
			    json_pack("{s:I, s:I, s:I, s:I}", "replies", (json_int_t)s->replies_stored,
				      "replies_due", (json_int_t)s->replies_prunable, "nonces",
				      (json_int_t)s->nonces_stored, "nonces_due",
				      (json_int_t)s->nonces_prunable));
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
		 "LMDB map          %.1f of %.1f MiB written (%.1f MiB of it free for reuse)\n"
		 "reserve           %.1f MiB for dispensing%s\n"
		 "prunable          %llu of %llu stored replies, %llu of %llu card nonces\n"
		 "data dir          %.1f MiB\n"
		 "requests/s        %.1f (last minute)\n"
		 "audit entries     %llu\n"
		 "notices pending   %llu  (nominations %llu)\n"
		 "pseudonym key     %s\n",
		 s->version, up, started, key, s->curve_key, (unsigned long long)s->requests,
		 (unsigned long long)s->prescriptions, (unsigned long long)s->issued,
		 (unsigned long long)s->claimed, (unsigned long long)s->dispensed,
		 (unsigned long long)s->cancelled, (unsigned long long)s->expired,
		 (unsigned long long)s->dispense_records, (unsigned long long)s->patients,
		 (unsigned long long)s->institutions, (unsigned long long)s->keys,
		 (unsigned long long)s->cards, s->map_used / 1048576.0, s->map_size / 1048576.0,
		 s->map_free / 1048576.0, s->map_reserve / 1048576.0,
		 s->storage_full ? "; REACHED: only dispensing goes on (STORAGE_FULL)" : "",
		 (unsigned long long)s->replies_prunable, (unsigned long long)s->replies_stored,
		 (unsigned long long)s->nonces_prunable, (unsigned long long)s->nonces_stored,
		 s->data_dir_bytes / 1048576.0, s->requests_per_second,
		 (unsigned long long)s->audit_entries, (unsigned long long)s->notices_pending,
		 (unsigned long long)s->nominations, s->pseudonym_key[0] ? s->pseudonym_key : "-");
	/* The drug master's size: the duplicate-medication check is off while it is empty. */
	Rx__AdminRequest dq = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *dr = NULL;
	dq.op = RX__ADMIN_OP__DRUGS_SHOW;
	if (admin_call(dir, timeout_s, &dq, &dr, msg, sizeof msg) == RX_OK) {
		size_t used = strlen(human);
		json_object_set_new(o, "drugs", json_integer((json_int_t)dr->drugs_count));
		snprintf(human + used, sizeof human - used, "drug master       %llu drugs%s\n",
			 (unsigned long long)dr->drugs_count,
			 dr->drugs_count ? "" : " (duplicate-medication check off)");
	}
	if (dr)
		rx__admin_reply__free_unpacked(dr, NULL);
	int code = finish(o, RX_OK, NULL, human);
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
		else if (strcmp(kind, "portal") == 0)
			ii.kind = RX__INSTITUTION_KIND__PORTAL;
		else
			return failf(RX_INVALID, "--kind must be clinic, pharmacy or portal");
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

/* One audit entry as a table row and as JSON. */
static void audit_row(const Rx__AuditInfo *e, json_t *arr)
{
	char t[32], actor[2 * RX_KEY_LEN + 1] = "";
	cli_time(e->at, t);
	if (e->actor_key.len == RX_KEY_LEN)
		rx_hex(e->actor_key.data, RX_KEY_LEN, actor);
	const char *outcome = rx_err_name((rx_err_t)e->outcome);
	if (!as_json)
		printf("%6llu  %s  %-18s  %-18s  %-12s  %-14s  %-18s  %s\n", (unsigned long long)e->seq, t,
		       e->action, outcome, e->institution_code[0] ? e->institution_code : "(operator)",
		       e->prescription_id[0] ? e->prescription_id : "-",
		       e->patient_id[0] ? e->patient_id : "-", e->detail);
	json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "seq",
					     (json_int_t)e->seq, "at", t, "actor", actor, "institution",
					     e->institution_code, "action", e->action, "outcome", outcome,
					     "id", e->prescription_id, "patient_id", e->patient_id,
					     "detail", e->detail));
}

static void audit_header(void)
{
	if (!as_json)
		printf("%6s  %-25s  %-18s  %-18s  %-12s  %-14s  %-18s  %s\n", "SEQ", "TIME", "ACTION",
		       "OUTCOME", "INSTITUTION", "PRESCRIPTION", "PATIENT", "DETAIL");
}

/* audit verify | tail [-n N] | patient --patient PID | report --day DAY */
static int audit(const char *dir, int timeout_s, const char *what, unsigned count,
		 const char *patient, const char *day)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	char human[512];
	if (strcmp(what, "verify") == 0)
		q.op = RX__ADMIN_OP__AUDIT_VERIFY;
	else if (strcmp(what, "tail") == 0) {
		q.op = RX__ADMIN_OP__AUDIT_TAIL;
		q.count = count;
	} else if (strcmp(what, "patient") == 0) {
		if (patient == NULL)
			return failf(RX_INVALID, "--patient PID is required");
		q.op = RX__ADMIN_OP__AUDIT_PATIENT;
		q.patient_id = (char *)patient;
	} else if (strcmp(what, "report") == 0) {
		if (day == NULL)
			return failf(RX_INVALID, "--day YYYY-MM-DD is required");
		q.op = RX__ADMIN_OP__AUDIT_REPORT;
		q.day = (char *)day;
	} else {
		return failf(RX_INVALID, "audit verify | tail [-n N] | patient --patient PID | report --day YYYY-MM-DD");
	}
	int code = call_or_finish(dir, timeout_s, &q, &r);
	if (code >= 0)
		return code;
	if (q.op == RX__ADMIN_OP__AUDIT_VERIFY && r->verdict) {
		const Rx__AuditVerdict *v = r->verdict;
		char t[32] = "never";
		if (v->signed_seq)
			cli_time(v->signed_at, t);
		json_t *o = json_pack("{s:b, s:I, s:I, s:s, s:I, s:s}", "ok", v->ok, "checked",
				      (json_int_t)v->checked, "first_bad", (json_int_t)v->first_bad, "why",
				      v->why, "signed_seq", (json_int_t)v->signed_seq, "signed_at", t);
		if (v->ok && v->signed_seq)
			snprintf(human, sizeof human,
				 "audit chain intact: %llu entries; the broker signed the head at entry %llu (%s)\n",
				 (unsigned long long)v->checked, (unsigned long long)v->signed_seq, t);
		else if (v->ok)
			snprintf(human, sizeof human,
				 "audit chain intact: %llu entries; the head is not signed yet (rxd signs it "
				 "every minute and when it stops)\n",
				 (unsigned long long)v->checked);
		else
			snprintf(human, sizeof human, "audit chain BROKEN at entry %llu: %s\n",
				 (unsigned long long)v->first_bad, v->why);
		int ok = v->ok;
		rx__admin_reply__free_unpacked(r, NULL);
		if (!ok) {
			/* A broken chain is an alarm, not a refusal: its own status, exit 2. */
			if (as_json) {
				json_object_set_new(o, "status", json_string("BROKEN"));
				char *d = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
				puts(d ? d : "{}");
				free(d);
			} else {
				fputs(human, stdout);
			}
			json_decref(o);
			return 2;
		}
		return finish(o, RX_OK, NULL, human);
	}
	if (q.op == RX__ADMIN_OP__AUDIT_REPORT && r->report) {
		const Rx__Report *rp = r->report;
		json_t *refusals = json_object(), *actions = json_object();
		if (!as_json)
			printf("security report for %s (Japan time): %llu audit entries\n", rp->day,
			       (unsigned long long)rp->entries);
		for (size_t i = 0; i < rp->n_refusals; i++) {
			json_object_set_new(refusals, rp->refusals[i]->key, json_integer((json_int_t)rp->refusals[i]->value));
			if (!as_json)
				printf("  refused %-20s %llu\n", rp->refusals[i]->key,
				       (unsigned long long)rp->refusals[i]->value);
		}
		for (size_t i = 0; i < rp->n_operator_actions; i++) {
			json_object_set_new(actions, rp->operator_actions[i]->key,
					    json_integer((json_int_t)rp->operator_actions[i]->value));
			if (!as_json)
				printf("  operator %-19s %llu\n", rp->operator_actions[i]->key,
				       (unsigned long long)rp->operator_actions[i]->value);
		}
		if (!as_json)
			printf("  revocations %llu, wrong access codes %llu, codes locked %llu\n",
			       (unsigned long long)rp->revocations, (unsigned long long)rp->bad_codes,
			       (unsigned long long)rp->locked_codes);
		json_t *o = json_pack("{s:s, s:I, s:o, s:o, s:I, s:I, s:I}", "day", rp->day, "entries",
				      (json_int_t)rp->entries, "refusals", refusals, "operator_actions",
				      actions, "revocations", (json_int_t)rp->revocations, "bad_access_codes",
				      (json_int_t)rp->bad_codes, "locked_codes", (json_int_t)rp->locked_codes);
		rx__admin_reply__free_unpacked(r, NULL);
		return finish(o, RX_OK, NULL, NULL);
	}
	json_t *arr = json_array();
	audit_header();
	for (size_t i = 0; i < r->n_audit; i++)
		audit_row(r->audit[i], arr);
	rx__admin_reply__free_unpacked(r, NULL);
	return finish(json_pack("{s:o}", "entries", arr), RX_OK, NULL, NULL);
}

static int state_parse(const char *s)
{
	for (int st = RX_STATE_ISSUED; st <= RX_STATE_EXPIRED; st++)
		if (s && strcasecmp(s, rx_state_name(st)) == 0)
			return st;
	return 0;
}

static json_t *summary_json(const Rx__Summary *x)
{
	char v[32], i[32];
	cli_time(x->valid_until, v);
	cli_time(x->issued_at, i);
	return json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:b}", "id", x->prescription_id, "state",
			 rx_state_name(x->state), "uses", (int)x->uses, "uses_left", (int)x->uses_left,
			 "issued_at", i, "valid_until", v, "institution", x->institution_code,
			 "cancel_pending", (int)x->cancel_pending);
}

/* rx show ID [--body] | rx list --state S | rx release ID --force --reason TEXT */
static int rx_cmd(const char *dir, int timeout_s, const char *what, const char *id, int body,
		  const char *state, int force, const char *reason)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	char human[256];
	if (strcmp(what, "show") == 0 && id) {
		q.op = RX__ADMIN_OP__RX_SHOW;
		q.prescription_id = (char *)id;
		q.body = body;
	} else if (strcmp(what, "list") == 0) {
		if (!(q.state = (Rx__State)state_parse(state)))
			return failf(RX_INVALID, "--state must be ISSUED, CLAIMED, DISPENSED, CANCELLED or EXPIRED");
		q.op = RX__ADMIN_OP__RX_LIST;
	} else if (strcmp(what, "release") == 0 && id) {
		if (!force || reason == NULL)
			return failf(RX_INVALID, "rx release takes a claim away from a pharmacy: say --force "
						 "and give --reason TEXT (it is audited)");
		q.op = RX__ADMIN_OP__RX_RELEASE;
		q.prescription_id = (char *)id;
		q.reason = (char *)reason;
	} else {
		return failf(RX_INVALID, "rx show ID [--body] | rx list --state S | rx release ID --force --reason TEXT | rx unlock ID");
	}
	int code = call_or_finish(dir, timeout_s, &q, &r);
	if (code >= 0)
		return code;
	if (q.op == RX__ADMIN_OP__RX_RELEASE) {
		rx__admin_reply__free_unpacked(r, NULL);
		snprintf(human, sizeof human, "claim on %s released by the operator (audited)\n", id);
		return finish(json_pack("{s:s, s:b}", "id", id, "released", 1), RX_OK, NULL, human);
	}
	json_t *o;
	if (q.op == RX__ADMIN_OP__RX_LIST) {
		json_t *arr = json_array();
		if (!as_json)
			printf("%-14s  %-9s  %-4s  %-25s  %s\n", "ID", "STATE", "LEFT", "VALID UNTIL", "INSTITUTION");
		for (size_t i = 0; i < r->n_prescriptions; i++) {
			const Rx__Summary *x = r->prescriptions[i];
			char v[32];
			cli_time(x->valid_until, v);
			if (!as_json)
				printf("%-14s  %-9s  %u/%u   %-25s  %s\n", x->prescription_id,
				       rx_state_name(x->state), x->uses_left, x->uses, v, x->institution_code);
			json_array_append_new(arr, summary_json(x));
		}
		o = json_pack("{s:o}", "prescriptions", arr);
	} else {
		const Rx__Summary *x = r->n_prescriptions ? r->prescriptions[0] : NULL;
		json_t *hist = json_array();
		o = x ? summary_json(x) : json_object();
		json_object_set_new(o, "patient_id", json_string(r->patient_id));
		if (!as_json && x) {
			char v[32];
			cli_time(x->valid_until, v);
			printf("prescription %s: %s%s, %u of %u uses left, valid until %s, from %s, patient %s\n",
			       x->prescription_id, rx_state_name(x->state),
			       x->cancel_pending ? " (cancel pending)" : "", x->uses_left, x->uses, v,
			       x->institution_code, r->patient_id);
			printf("history:\n");
		}
		audit_header();
		for (size_t i = 0; i < r->n_audit; i++)
			audit_row(r->audit[i], hist);
		json_object_set_new(o, "history", hist);
		if (body && r->prescription && r->prescription->body.len) {
			Rx__Prescription *p = rx__prescription__unpack(NULL, r->prescription->body.len,
								       r->prescription->body.data);
			if (p) {
				json_object_set_new(o, "items", cli_items_to_json(p->items, p->n_items));
				json_object_set_new(o, "notes", json_string(p->notes));
				/* Why a duplicate medication was prescribed anyway (the audit
				 * entry says that it was; the reason is part of the body). */
				if (p->override_reason[0])
					json_object_set_new(o, "override_reason", json_string(p->override_reason));
				if (!as_json) {
					printf("items:\n");
					for (size_t i = 0; i < p->n_items; i++)
						printf("  %s  %s  %s, %s, %u days, %u %s\n", p->items[i]->drug_code,
						       p->items[i]->name, p->items[i]->dose, p->items[i]->usage,
						       p->items[i]->days, p->items[i]->quantity, p->items[i]->unit);
					printf("notes: %s\n", p->notes);
					if (p->override_reason[0])
						printf("duplicate medication overridden: %s\n", p->override_reason);
				}
				rx__prescription__free_unpacked(p, NULL);
			}
		}
	}
	rx__admin_reply__free_unpacked(r, NULL);
	return finish(o, RX_OK, NULL, NULL);
}

/* expire | backup DEST | metrics */
static int ops(const char *dir, int timeout_s, const char *what, const char *dest,
	       int with_pseudonym)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	char human[9000], abs[4096];
	if (strcmp(what, "expire") == 0)
		q.op = RX__ADMIN_OP__EXPIRE;
	else if (strcmp(what, "metrics") == 0)
		q.op = RX__ADMIN_OP__METRICS;
	else {
		/* rxd runs elsewhere in the file system's eyes: give it a full path. */
		if (dest[0] != '/') {
			if (getcwd(abs, sizeof abs) == NULL || strlen(abs) + strlen(dest) + 2 > sizeof abs)
				return failf(RX_SYSTEM, "cannot make %s an absolute path", dest);
			strcat(abs, "/");
			strcat(abs, dest);
			dest = abs;
		}
		q.op = RX__ADMIN_OP__BACKUP;
		q.path = (char *)dest;
		q.with_pseudonym_key = with_pseudonym;
	}
	int code = call_or_finish(dir, timeout_s, &q, &r);
	if (code >= 0)
		return code;
	json_t *o;
	if (q.op == RX__ADMIN_OP__EXPIRE) {
		snprintf(human, sizeof human, "%llu prescriptions expired\n", (unsigned long long)r->expired);
		o = json_pack("{s:I}", "expired", (json_int_t)r->expired);
	} else if (q.op == RX__ADMIN_OP__METRICS) {
		if (!as_json)
			fputs(r->metrics, stdout);
		human[0] = '\0';
		o = json_pack("{s:s}", "metrics", r->metrics);
	} else {
		if (with_pseudonym)
			snprintf(human, sizeof human,
				 "backup written to %s (%llu bytes of store, and its key files, the pseudonym "
				 "key too: keep this copy as safe as the key): restore by pointing rxd --data "
				 "at it\n", dest, (unsigned long long)r->backup_bytes);
		else {
			char keyed[4200];
			if (rx_pseudonym_key_default(dest, keyed, sizeof keyed) != RX_OK)
				snprintf(keyed, sizeof keyed, "rxd's --pseudonym-key path");
			snprintf(human, sizeof human,
				 "backup written to %s (%llu bytes of store, and its key files but not the "
				 "pseudonym key): to restore, put the pseudonym key's offline copy at %s and "
				 "point rxd --data at it\n", dest, (unsigned long long)r->backup_bytes, keyed);
		}
		o = json_pack("{s:s, s:I, s:b}", "backup", dest, "bytes", (json_int_t)r->backup_bytes,
			      "pseudonym_key", with_pseudonym);
	}
	rx__admin_reply__free_unpacked(r, NULL);
	return finish(o, RX_OK, NULL, human[0] ? human : NULL);
}

/* ---- drugs load FILE.csv | drugs show CODE | drugs info ---- */

#define DRUGS_FILE_MAX (64u << 20) /* a full list is about 3 MiB */
#define DRUGS_ROWS_MAX 200000      /* the full list has about 13,000 */
#define DRUGS_PART_BYTES (192u << 10) /* each part well inside an admin frame (256 KiB) */
#define DRUGS_ERRORS_SHOWN 20

typedef struct {
	rx_drug_row_t row;
	unsigned line;
} drug_line_t;

static int by_code(const void *a, const void *b)
{
	const drug_line_t *x = a, *y = b;
	int c = strcmp(x->row.code, y->row.code);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int by_line(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "line")),
		   y = json_integer_value(json_object_get(*(json_t *const *)b, "line"));
	return (x > y) - (x < y);
}

/* Read the whole file (at most DRUGS_FILE_MAX bytes) into a NUL-ended heap
 * buffer; NULL with msg set. */
static char *slurp(const char *path, size_t *len, char *msg, size_t msglen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	struct stat st;
	if (f == NULL || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "cannot read %s", path);
	} else if ((uint64_t)st.st_size > DRUGS_FILE_MAX) {
		snprintf(msg, msglen, "%s is larger than %u MiB", path, DRUGS_FILE_MAX >> 20);
	} else if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(msg, msglen, "out of memory");
	} else if ((*len = fread(buf, 1, (size_t)st.st_size, f)) != (size_t)st.st_size || ferror(f)) {
		snprintf(msg, msglen, "cannot read %s", path);
		free(buf);
		buf = NULL;
	} else {
		buf[*len] = '\0';
	}
	if (f)
		fclose(f);
	return buf;
}

/* Check every line of the CSV (header, fields, codes, duplicates); rows into
 * *rows (heap, pointing into buf).  Each bad line is appended to errs as
 * {"line", "reason"}; returns how many there were. */
static size_t parse_drugs(char *buf, size_t len, drug_line_t **rows, size_t *n, json_t *errs)
{
	size_t bad = 0, cap = 0;
	unsigned line = 0;
	char *p = buf, *end = buf + len;
	*rows = NULL;
	*n = 0;
#define BAD(ln, reason)                                                                        \
	do {                                                                                   \
		bad++;                                                                         \
		json_array_append_new(errs, json_pack("{s:I, s:s}", "line", (json_int_t)(ln),   \
						      "reason", (reason)));                     \
	} while (0)
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *text = p;
		size_t tlen = nl ? (size_t)(nl - p) : (size_t)(end - p);
		p = nl ? nl + 1 : end;
		line++;
		if (tlen && text[tlen - 1] == '\r')
			tlen--;
		text[tlen] = '\0';
		const char *why = NULL;
		if (line == 1) {
			if (rx_drug_csv_header(text) != RX_OK)
				BAD(line, "the header must be " RX_DRUG_CSV_HEADER);
			continue;
		}
		if (tlen == 0)
			continue; /* a blank line, as at the end of many files */
		if (memchr(text, '\0', tlen) != NULL) {
			BAD(line, "a NUL byte in the line");
			continue;
		}
		if (tlen > RX_DRUG_LINE_MAX) {
			BAD(line, "longer than 4096 bytes");
			continue;
		}
		if (*n == DRUGS_ROWS_MAX) {
			BAD(line, "more than 200000 rows");
			break;
		}
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			drug_line_t *g = realloc(*rows, ncap * sizeof **rows);
			if (g == NULL) {
				BAD(line, "out of memory");
				break;
			}
			*rows = g;
			cap = ncap;
		}
		drug_line_t *d = &(*rows)[*n];
		d->line = line;
		if (rx_drug_csv_split(text, &d->row, &why) != RX_OK ||
		    rx_drug_row_check(&d->row, &why) != RX_OK) {
			BAD(line, why);
			continue;
		}
		(*n)++;
	}
	if (line == 0)
		BAD(1, "the file is empty; the header must be " RX_DRUG_CSV_HEADER);
	else if (*n == 0 && bad == 0)
		BAD(line, "no rows after the header");
	/* A code twice: the later line is the bad one. */
	if (*n > 1) {
		drug_line_t *sorted = malloc(*n * sizeof *sorted);
		if (sorted == NULL) {
			BAD(0, "out of memory");
			return bad;
		}
		memcpy(sorted, *rows, *n * sizeof *sorted);
		qsort(sorted, *n, sizeof *sorted, by_code);
		for (size_t i = 1; i < *n; i++)
			if (strcmp(sorted[i].row.code, sorted[i - 1].row.code) == 0) {
				char reason[96];
				snprintf(reason, sizeof reason, "yj_code %s is also on line %u",
					 sorted[i].row.code, sorted[i - 1].line);
				BAD(sorted[i].line, reason);
			}
		free(sorted);
	}
#undef BAD
	/* Report in line order, duplicates included. */
	size_t ne = json_array_size(errs);
	json_t **sorted = malloc((ne ? ne : 1) * sizeof *sorted);
	if (sorted) {
		for (size_t i = 0; i < ne; i++)
			sorted[i] = json_incref(json_array_get(errs, i));
		qsort(sorted, ne, sizeof *sorted, by_line);
		json_array_clear(errs);
		for (size_t i = 0; i < ne; i++)
			json_array_append_new(errs, sorted[i]);
		free(sorted);
	}
	return bad;
}

static void drug_info(const rx_drug_row_t *row, Rx__DrugInfo *di)
{
	rx__drug_info__init(di);
	di->code = (char *)row->code;
	di->name_ja = (char *)row->name_ja;
	di->name_en = (char *)row->name_en;
	di->ingredient = (char *)row->ingredient;
	di->strength = (char *)row->strength;
	di->unit = (char *)row->unit;
	di->dosage_form = (char *)row->dosage_form;
}

/* drugs load FILE.csv: every row is checked here first, so a bad file is
 * refused with its line numbers before rxd is asked anything.  The rows then
 * travel in parts of at most 192 KiB (a full list is about 3 MiB, an admin
 * frame at most 256 KiB) under one random load id; the last part makes rxd
 * replace the master with the whole load in one transaction. */
static int drugs_load_cmd(const char *dir, int timeout_s, const char *path)
{
	char msg[512];
	size_t len = 0, n = 0, parts = 0;
	drug_line_t *rows = NULL;
	Rx__DrugInfo *infos = NULL, **ptrs = NULL;
	uint8_t load_id[16];
	char *buf = slurp(path, &len, msg, sizeof msg);
	if (buf == NULL)
		return failf(RX_SYSTEM, "%s", msg);
	json_t *errs = json_array();
	size_t bad = parse_drugs(buf, len, &rows, &n, errs);
	if (bad) {
		if (!as_json)
			for (size_t i = 0; i < json_array_size(errs) && i < DRUGS_ERRORS_SHOWN; i++) {
				json_t *e = json_array_get(errs, i);
				fprintf(stderr, "%s:%lld: %s\n", path,
					(long long)json_integer_value(json_object_get(e, "line")),
					json_string_value(json_object_get(e, "reason")));
			}
		snprintf(msg, sizeof msg, "%zu bad row%s in %s; nothing was loaded", bad, bad == 1 ? "" : "s",
			 path);
		free(rows);
		free(buf);
		return finish(json_pack("{s:o}", "errors", errs), RX_INVALID, msg, NULL);
	}
	json_decref(errs);
	infos = calloc(n, sizeof *infos);
	ptrs = calloc(n, sizeof *ptrs);
	if (infos == NULL || ptrs == NULL) {
		free(infos);
		free(ptrs);
		free(rows);
		free(buf);
		return failf(RX_SYSTEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		drug_info(&rows[i].row, &infos[i]);
		ptrs[i] = &infos[i];
	}
	randombytes_buf(load_id, sizeof load_id);
	int code = -1;
	for (size_t first = 0; first < n && code < 0;) {
		Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
		Rx__AdminReply *r = NULL;
		size_t bytes = 0, count = 0;
		/* A row costs its size and at most 4 bytes of tag and length. */
		while (first + count < n &&
		       (count == 0 || bytes + rx__drug_info__get_packed_size(&infos[first + count]) + 4 <=
					      DRUGS_PART_BYTES))
			bytes += rx__drug_info__get_packed_size(&infos[first + count++]) + 4;
		q.op = RX__ADMIN_OP__DRUGS_LOAD;
		q.load_id.data = load_id;
		q.load_id.len = sizeof load_id;
		q.drugs = ptrs + first;
		q.n_drugs = count;
		first += count;
		parts++;
		if (first == n) {
			q.load_commit = 1;
			q.load_rows = (uint32_t)n;
		}
		code = call_or_finish(dir, timeout_s, &q, &r);
		if (code < 0 && q.load_commit) {
			char human[4300];
			snprintf(human, sizeof human, "drug master replaced: %llu drugs from %s (%zu part%s)\n",
				 (unsigned long long)r->drugs_count, path, parts, parts == 1 ? "" : "s");
			code = finish(json_pack("{s:I, s:s, s:I}", "drugs", (json_int_t)r->drugs_count, "file",
						path, "parts", (json_int_t)parts),
				      RX_OK, NULL, human);
		}
		if (r)
			rx__admin_reply__free_unpacked(r, NULL);
	}
	free(infos);
	free(ptrs);
	free(rows);
	free(buf);
	return code;
}

static json_t *drug_json(const Rx__DrugInfo *d)
{
	json_t *comps = json_array();
	for (size_t i = 0; i < d->n_components; i++)
		json_array_append_new(comps, json_string(d->components[i]));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "code", d->code, "name_ja", d->name_ja,
			 "name_en", d->name_en, "ingredient", d->ingredient, "strength", d->strength,
			 "unit", d->unit, "dosage_form", d->dosage_form, "components", comps);
}

/* drugs show CODE|PREFIX | drugs info */
static int drugs_show_cmd(const char *dir, int timeout_s, const char *code)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	char human[256], t[32] = "";
	q.op = RX__ADMIN_OP__DRUGS_SHOW;
	q.drug_code = (char *)(code ? code : "");
	int rc = call_or_finish(dir, timeout_s, &q, &r);
	if (rc >= 0)
		return rc;
	if (r->drugs_loaded_at)
		cli_time(r->drugs_loaded_at, t);
	json_t *o;
	if (code == NULL) {
		if (r->drugs_count)
			snprintf(human, sizeof human,
				 "drug master: %llu drugs, loaded %s; the duplicate-medication check is on\n",
				 (unsigned long long)r->drugs_count, t);
		else
			snprintf(human, sizeof human, "drug master: empty; the duplicate-medication check is "
						      "off until one is loaded (rxctl drugs load FILE.csv)\n");
		o = json_pack("{s:I, s:s?, s:b}", "drugs", (json_int_t)r->drugs_count, "loaded_at",
			      t[0] ? t : NULL, "check", r->drugs_count > 0);
	} else {
		json_t *arr = json_array();
		for (size_t i = 0; i < r->n_drugs; i++) {
			const Rx__DrugInfo *d = r->drugs[i];
			if (!as_json) {
				printf("%s  %s\n    %s\n    ingredient %s (", d->code, d->name_ja, d->name_en,
				       d->ingredient);
				for (size_t c = 0; c < d->n_components; c++)
					printf("%s%s", c ? ", " : "", d->components[c]);
				printf(")\n    strength %s, unit %s, %s\n", d->strength[0] ? d->strength : "-",
				       d->unit[0] ? d->unit : "-", d->dosage_form[0] ? d->dosage_form : "-");
			}
			json_array_append_new(arr, drug_json(d));
		}
		human[0] = '\0';
		o = json_pack("{s:o}", "drugs", arr);
	}
	rx__admin_reply__free_unpacked(r, NULL);
	return finish(o, RX_OK, NULL, human[0] ? human : NULL);
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
		   *code = NULL, *kind = NULL, *curve = NULL, *patient = NULL, *day = NULL, *state = NULL,
		   *reason = NULL, *key_path = NULL;
	unsigned count = 20;
	int body = 0, force = 0, with_pseudonym = 0;
	int timeout_s = 0;
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"role", required_argument, NULL, 'r'},
		{"institution", required_argument, NULL, 'i'},
		{"name", required_argument, NULL, 'a'},
		{"my-number", required_argument, NULL, 'm'},
		{"timeout", required_argument, NULL, 't'},
		{"code", required_argument, NULL, 'c'},
		{"kind", required_argument, NULL, 'k'},
		{"curve-key", required_argument, NULL, 'C'},
		{"patient", required_argument, NULL, 'P'},
		{"count", required_argument, NULL, 'N'},
		{"day", required_argument, NULL, 'D'},
		{"state", required_argument, NULL, 'S'},
		{"reason", required_argument, NULL, 'R'},
		{"body", no_argument, NULL, 'B'},
		{"force", no_argument, NULL, 'F'},
		{"pseudonym-key", required_argument, NULL, 'K'},
		{"with-pseudonym-key", no_argument, NULL, 'W'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "d:jr:i:n:m:t:c:k:C:P:h", opts, NULL)) != -1) {
		if (ch == 'n' || ch == 'N') {
			count = (unsigned)atoi(optarg);
			continue;
		}
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'j': as_json = 1; break;
		case 'r': role = optarg; break;
		case 'i': inst = optarg; break;
		case 'a': name = optarg; break;
		case 'D': day = optarg; break;
		case 'S': state = optarg; break;
		case 'R': reason = optarg; break;
		case 'B': body = 1; break;
		case 'F': force = 1; break;
		case 'K': key_path = optarg; break;
		case 'W': with_pseudonym = 1; break;
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
	if (IS(0, "rx") && n >= 2 && n <= 3)
		return rx_cmd(dir, timeout_s, a[1], n == 3 ? a[2] : NULL, body, state, force, reason);
	if (IS(0, "audit") && n == 2)
		return audit(dir, timeout_s, a[1], count, patient, day);
	if ((IS(0, "expire") || IS(0, "metrics")) && n == 1)
		return ops(dir, timeout_s, a[0], NULL, 0);
	if (IS(0, "backup") && n == 2)
		return ops(dir, timeout_s, a[0], a[1], with_pseudonym);
	if (IS(0, "drugs") && IS(1, "load") && n == 3)
		return drugs_load_cmd(dir, timeout_s, a[2]);
	if (IS(0, "drugs") && IS(1, "show") && n == 3)
		return drugs_show_cmd(dir, timeout_s, a[2]);
	if (IS(0, "drugs") && IS(1, "info") && n == 2)
		return drugs_show_cmd(dir, timeout_s, NULL);
	if (IS(0, "institution") && IS(1, "add") && n == 2)
		return institutions(dir, timeout_s, RX__ADMIN_OP__INSTITUTION_ADD, code, kind, name, curve);
	if (IS(0, "institution") && IS(1, "list") && n == 2)
		return institutions(dir, timeout_s, RX__ADMIN_OP__INSTITUTION_LIST, NULL, NULL, NULL, NULL);
	if (IS(0, "institution") && IS(1, "revoke") && n == 3)
		return institutions(dir, timeout_s, RX__ADMIN_OP__INSTITUTION_REVOKE, a[2], NULL, NULL, NULL);
	if (IS(0, "patient") && IS(1, "enroll") && n == 2 && number)
		return enroll(dir, timeout_s, number, key_path);
	if (IS(0, "key") && IS(1, "add") && n == 3)
		return keys(dir, timeout_s, RX__ADMIN_OP__KEY_ADD, a[2], role, inst, name);
	if (IS(0, "key") && IS(1, "list") && n == 2)
		return keys(dir, timeout_s, RX__ADMIN_OP__KEY_LIST, NULL, NULL, NULL, NULL);
	if (IS(0, "key") && IS(1, "revoke") && n == 3)
		return keys(dir, timeout_s, RX__ADMIN_OP__KEY_REVOKE, a[2], NULL, NULL, NULL);
	usage(stderr);
	return 1;
}
