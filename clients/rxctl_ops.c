/* rxctl's operator commands: how rxd and its prescriptions are doing and
 * what the operator may do about it.  status (stats), rx show|list|release|
 * unlock, audit verify|tail|patient|report, expire, backup and metrics.
 * Each handler is a row of the table in rxctl.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "rx_ids.h"
#include "rxctl.h"

/* status | stats: rxd's own figures, then the drug master's size. */
int rxctl_status(const rxctl_t *c, int op, char **args, int nargs)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	char msg[512];
	(void)args;
	(void)nargs;
	q.op = (Rx__AdminOp)op;
	rx_err_t err = rxctl_admin_call(c, &q, &r, msg, sizeof msg);
	if (err != RX_OK || r->stats == NULL) {
		int code = rxctl_finish(c, NULL, err == RX_OK ? RX_SYSTEM : err, msg, NULL);
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
	json_object_set_new(json_object_get(o, "by_state"), "PARTIALLY_DISPENSED",
			    json_integer((json_int_t)s->partially_dispensed));
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
		 "prescriptions     %llu  (issued %llu, claimed %llu, partially dispensed %llu, dispensed %llu, cancelled %llu, expired %llu)\n"
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
		 (unsigned long long)s->claimed, (unsigned long long)s->partially_dispensed,
		 (unsigned long long)s->dispensed,
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
	if (rxctl_admin_call(c, &dq, &dr, msg, sizeof msg) == RX_OK) {
		size_t used = strlen(human);
		json_object_set_new(o, "drugs", json_integer((json_int_t)dr->drugs_count));
		snprintf(human + used, sizeof human - used, "drug master       %llu drugs%s\n",
			 (unsigned long long)dr->drugs_count,
			 dr->drugs_count ? "" : " (duplicate-medication check off)");
	}
	if (dr)
		rx__admin_reply__free_unpacked(dr, NULL);
	int code = rxctl_finish(c, o, RX_OK, NULL, human);
	rx__admin_reply__free_unpacked(r, NULL);
	return code;
}

/* One audit entry as a table row and as JSON. */
static void audit_row(const rxctl_t *c, const Rx__AuditInfo *e, json_t *arr)
{
	char t[32], actor[2 * RX_KEY_LEN + 1] = "";
	cli_time(e->at, t);
	if (e->actor_key.len == RX_KEY_LEN)
		rx_hex(e->actor_key.data, RX_KEY_LEN, actor);
	const char *outcome = rx_err_name((rx_err_t)e->outcome);
	if (!c->json)
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

static void audit_header(const rxctl_t *c)
{
	if (!c->json)
		printf("%6s  %-25s  %-18s  %-18s  %-12s  %-14s  %-18s  %s\n", "SEQ", "TIME", "ACTION",
		       "OUTCOME", "INSTITUTION", "PRESCRIPTION", "PATIENT", "DETAIL");
}

/* audit verify | tail [-n N] | patient --patient PID | report --day DAY */
int rxctl_audit(const rxctl_t *c, int op, char **args, int nargs)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	char human[512];
	(void)args;
	(void)nargs;
	q.op = (Rx__AdminOp)op;
	if (op == RX__ADMIN_OP__AUDIT_TAIL) {
		q.count = c->count;
	} else if (op == RX__ADMIN_OP__AUDIT_PATIENT) {
		if (c->patient == NULL)
			return rxctl_failf(c, RX_INVALID, "--patient PID is required");
		q.patient_id = (char *)c->patient;
	} else if (op == RX__ADMIN_OP__AUDIT_REPORT) {
		if (c->day == NULL)
			return rxctl_failf(c, RX_INVALID, "--day YYYY-MM-DD is required");
		q.day = (char *)c->day;
	}
	int code = rxctl_call_or_finish(c, &q, &r);
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
			if (c->json) {
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
		return rxctl_finish(c, o, RX_OK, NULL, human);
	}
	if (q.op == RX__ADMIN_OP__AUDIT_REPORT && r->report) {
		const Rx__Report *rp = r->report;
		json_t *refusals = json_object(), *actions = json_object();
		if (!c->json)
			printf("security report for %s (Japan time): %llu audit entries\n", rp->day,
			       (unsigned long long)rp->entries);
		for (size_t i = 0; i < rp->n_refusals; i++) {
			json_object_set_new(refusals, rp->refusals[i]->key, json_integer((json_int_t)rp->refusals[i]->value));
			if (!c->json)
				printf("  refused %-20s %llu\n", rp->refusals[i]->key,
				       (unsigned long long)rp->refusals[i]->value);
		}
		for (size_t i = 0; i < rp->n_operator_actions; i++) {
			json_object_set_new(actions, rp->operator_actions[i]->key,
					    json_integer((json_int_t)rp->operator_actions[i]->value));
			if (!c->json)
				printf("  operator %-19s %llu\n", rp->operator_actions[i]->key,
				       (unsigned long long)rp->operator_actions[i]->value);
		}
		if (!c->json)
			printf("  revocations %llu, wrong access codes %llu, codes locked %llu\n",
			       (unsigned long long)rp->revocations, (unsigned long long)rp->bad_codes,
			       (unsigned long long)rp->locked_codes);
		json_t *o = json_pack("{s:s, s:I, s:o, s:o, s:I, s:I, s:I}", "day", rp->day, "entries",
				      (json_int_t)rp->entries, "refusals", refusals, "operator_actions",
				      actions, "revocations", (json_int_t)rp->revocations, "bad_access_codes",
				      (json_int_t)rp->bad_codes, "locked_codes", (json_int_t)rp->locked_codes);
		rx__admin_reply__free_unpacked(r, NULL);
		return rxctl_finish(c, o, RX_OK, NULL, NULL);
	}
	json_t *arr = json_array();
	audit_header(c);
	for (size_t i = 0; i < r->n_audit; i++)
		audit_row(c, r->audit[i], arr);
	rx__admin_reply__free_unpacked(r, NULL);
	return rxctl_finish(c, json_pack("{s:o}", "entries", arr), RX_OK, NULL, NULL);
}

static int state_parse(const char *s)
{
	for (int st = RX_STATE_ISSUED; st <= RX_STATE_LAST; st++)
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
int rxctl_rx(const rxctl_t *c, int op, char **args, int nargs)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	char human[256];
	const char *id = nargs ? args[0] : NULL;
	int body = c->body;
	q.op = (Rx__AdminOp)op;
	if (op == RX__ADMIN_OP__RX_SHOW) {
		q.prescription_id = (char *)id;
		q.body = body;
	} else if (op == RX__ADMIN_OP__RX_LIST) {
		if (!(q.state = (Rx__State)state_parse(c->state)))
			return rxctl_failf(c, RX_INVALID, "--state must be ISSUED, CLAIMED, PARTIALLY_DISPENSED, DISPENSED, CANCELLED or EXPIRED");
	} else {
		if (!c->force || c->reason == NULL)
			return rxctl_failf(c, RX_INVALID, "rx release takes a claim away from a pharmacy: say --force "
						 "and give --reason TEXT (it is audited)");
		q.prescription_id = (char *)id;
		q.reason = (char *)c->reason;
	}
	int code = rxctl_call_or_finish(c, &q, &r);
	if (code >= 0)
		return code;
	if (q.op == RX__ADMIN_OP__RX_RELEASE) {
		rx__admin_reply__free_unpacked(r, NULL);
		snprintf(human, sizeof human, "claim on %s released by the operator (audited)\n", id);
		return rxctl_finish(c, json_pack("{s:s, s:b}", "id", id, "released", 1), RX_OK, NULL, human);
	}
	json_t *o;
	if (q.op == RX__ADMIN_OP__RX_LIST) {
		json_t *arr = json_array();
		if (!c->json)
			printf("%-14s  %-9s  %-4s  %-25s  %s\n", "ID", "STATE", "LEFT", "VALID UNTIL", "INSTITUTION");
		for (size_t i = 0; i < r->n_prescriptions; i++) {
			const Rx__Summary *x = r->prescriptions[i];
			char v[32];
			cli_time(x->valid_until, v);
			if (!c->json)
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
		if (!c->json && x) {
			char v[32];
			cli_time(x->valid_until, v);
			printf("prescription %s: %s%s, %u of %u uses left, valid until %s, from %s, patient %s\n",
			       x->prescription_id, rx_state_name(x->state),
			       x->cancel_pending ? " (cancel pending)" : "", x->uses_left, x->uses, v,
			       x->institution_code, r->patient_id);
			printf("history:\n");
		}
		audit_header(c);
		for (size_t i = 0; i < r->n_audit; i++)
			audit_row(c, r->audit[i], hist);
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
				if (!c->json) {
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
	return rxctl_finish(c, o, RX_OK, NULL, NULL);
}

/* expire | backup DEST | backup --verify DEST (no rxd: rxctl_verify.c) | metrics | health */
int rxctl_ops(const rxctl_t *c, int op, char **args, int nargs)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	char human[9000], abs[4096];
	const char *dest = nargs ? args[0] : NULL;
	int with_pseudonym = c->with_pseudonym_key;
	if (op == RX__ADMIN_OP__BACKUP && c->verify)
		return rxctl_backup_verify(c, dest);
	if (c->verify)
		return rxctl_failf(c, RX_INVALID, "--verify goes with backup: rxctl backup --verify DEST");
	q.op = (Rx__AdminOp)op;
	if (op == RX__ADMIN_OP__BACKUP) {
		/* rxd runs elsewhere in the file system's eyes: give it a full path. */
		if (dest[0] != '/') {
			if (getcwd(abs, sizeof abs) == NULL || strlen(abs) + strlen(dest) + 2 > sizeof abs)
				return rxctl_failf(c, RX_SYSTEM, "cannot make %s an absolute path", dest);
			strcat(abs, "/");
			strcat(abs, dest);
			dest = abs;
		}
		q.path = (char *)dest;
		q.with_pseudonym_key = with_pseudonym;
	}
	int code = rxctl_call_or_finish(c, &q, &r);
	if (code >= 0)
		return code;
	json_t *o;
	if (q.op == RX__ADMIN_OP__HEALTH) {
		snprintf(human, sizeof human, "health: ok, a commit and its flush in %.2f ms\n",
			 (double)r->commit_us / 1000.0);
		o = json_pack("{s:b, s:I}", "healthy", 1, "commit_us", (json_int_t)r->commit_us);
	} else if (q.op == RX__ADMIN_OP__EXPIRE) {
		snprintf(human, sizeof human, "%llu prescriptions expired\n", (unsigned long long)r->expired);
		o = json_pack("{s:I}", "expired", (json_int_t)r->expired);
	} else if (q.op == RX__ADMIN_OP__METRICS) {
		if (!c->json)
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
	return rxctl_finish(c, o, RX_OK, NULL, human[0] ? human : NULL);
}

/* rx unlock ID: code access works again after 5 wrong access codes. */
int rxctl_unlock(const rxctl_t *c, int op, char **args, int nargs)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	const char *id = args[0];
	(void)nargs;
	q.op = (Rx__AdminOp)op;
	q.prescription_id = (char *)id;
	int code = rxctl_call_or_finish(c, &q, &r);
	if (code >= 0)
		return code;
	rx__admin_reply__free_unpacked(r, NULL);
	return rxctl_finish(c, json_pack("{s:s, s:b}", "id", id, "unlocked", 1), RX_OK, NULL,
			    "access-code use unlocked\n");
}

