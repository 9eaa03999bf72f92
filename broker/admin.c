/* admin: key registry, enrollment and stats for rxctl (see admin.h). */
#include "admin.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "rx.pb-c.h"
#include "rx_check.h"
#include "rx_drugs.h"
#include "rx_ids.h"
#include "wire.h"

static rx_err_t pack(const Rx__AdminReply *r, store_buf_t *out)
{
	out->len = rx__admin_reply__get_packed_size(r);
	if ((out->data = malloc(out->len ? out->len : 1)) == NULL)
		return RX_SYSTEM;
	rx__admin_reply__pack(r, out->data);
	return RX_OK;
}

/* The day's security events, for AUDIT_REPORT. */
typedef struct {
	char names[64][32];
	uint64_t counts[64];
	int n;
} tally_t;

typedef struct {
	tally_t refusals, actions;
	uint64_t entries, revocations, locked, bad_codes;
} report_t;

static void tally(tally_t *t, const char *name)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->names[i], name) == 0) {
			t->counts[i]++;
			return;
		}
	if (t->n < 64) {
		snprintf(t->names[t->n], sizeof t->names[0], "%s", name);
		t->counts[t->n++] = 1;
	}
}

static int report_entry(void *arg, const store_audit_t *e)
{
	report_t *r = arg;
	r->entries++;
	if (e->outcome != RX_OK)
		tally(&r->refusals, rx_err_name((rx_err_t)e->outcome));
	if (!e->has_actor)
		tally(&r->actions, e->action);
	if (strstr(e->action, "REVOKE"))
		r->revocations++;
	if (e->outcome == RX_BAD_ACCESS_CODE)
		r->bad_codes++;
	if (e->outcome == RX_BAD_ACCESS_CODE && strstr(e->detail, "locked"))
		r->locked++;
	return 0;
}

/* Start of a Japan day "YYYY-MM-DD" in unix seconds; -1 if malformed. */
static int64_t jst_day(const char *day)
{
	int y, m, d;
	char extra;
	if (sscanf(day, "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	/* days from civil (Howard Hinnant's algorithm) */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;
	return days * 86400 - 9 * 3600;
}

/* Copy the key file from to a new file to (mode 0600, fsync'd). */
static int copy_file(const char *from, const char *to)
{
	char buf[4096];
	FILE *in = fopen(from, "rb");
	if (in == NULL)
		return -1;
	int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (out == NULL) {
		if (fd >= 0)
			close(fd);
		fclose(in);
		return -1;
	}
	size_t n;
	int ok = 1;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		ok &= fwrite(buf, 1, n, out) == n;
	fclose(in);
	ok &= fflush(out) == 0 && fsync(fileno(out)) == 0;
	ok &= fclose(out) == 0;
	return ok ? 0 : -1;
}

static uint64_t dir_bytes(const char *dir)
{
	uint64_t total = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4200];
	struct stat st;
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (e->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return total;
}

/* Refuse the admin request: set the reply's status and message and jump to
 * packing it. */
#define GOTO_REPLY(code, text)       \
	do {                         \
		r.status = (Rx__Status)(code); \
		r.message = (char *)(text); \
		goto reply;          \
	} while (0)

/* The requests whose work is long and read-only: whole walks of the
 * prescriptions or of the audit log, and the copy of the store. */
static int is_job_op(int op)
{
	return op == RX__ADMIN_OP__BACKUP || op == RX__ADMIN_OP__AUDIT_VERIFY ||
	       op == RX__ADMIN_OP__AUDIT_REPORT || op == RX__ADMIN_OP__RX_SHOW ||
	       op == RX__ADMIN_OP__RX_LIST;
}

int admin_is_job(const uint8_t *frame, size_t len)
{
	if (len == 0 || len > RX_MAX_FRAME)
		return 0;
	Rx__AdminRequest *q = rx__admin_request__unpack(NULL, len, frame);
	int job = q && is_job_op((int)q->op);
	if (q)
		rx__admin_request__free_unpacked(q, NULL);
	return job;
}

/* Record an operator action now (audit NULL: on the loop thread) or leave
 * it in *audit for admin_job_done (a job, off the loop, writes nothing). */
static rx_err_t operator_action(const admin_t *a, admin_audit_t *audit, int64_t now,
				const char *action, const char *id, const char *patient,
				const char *detail)
{
	if (audit == NULL)
		return store_audit_operator(a->store, now, action, id, patient, detail);
	snprintf(audit->action, sizeof audit->action, "%s", action);
	snprintf(audit->id, sizeof audit->id, "%s", id ? id : "");
	snprintf(audit->patient, sizeof audit->patient, "%s", patient ? patient : "");
	snprintf(audit->detail, sizeof audit->detail, "%s", detail ? detail : "");
	return RX_OK;
}

static rx_err_t handle(const admin_t *a, const uint8_t *frame, size_t len, int64_t now,
		       store_buf_t *reply, rx_err_t *status, int *op, admin_audit_t *audit);

rx_err_t admin_refusal(rx_err_t code, const char *why, store_buf_t *reply)
{
	Rx__AdminReply r = RX__ADMIN_REPLY__INIT;
	r.status = (Rx__Status)(rx_err_is_wire((int)code) ? code : RX_UNAVAILABLE);
	r.message = (char *)why;
	return pack(&r, reply);
}

rx_err_t admin_request(const admin_t *a, const uint8_t *frame, size_t len, int64_t now,
		       store_buf_t *reply, rx_err_t *status, int *op)
{
	return handle(a, frame, len, now, reply, status, op, NULL);
}

rx_err_t admin_job(const admin_t *a, const uint8_t *frame, size_t len, int64_t now,
		   store_buf_t *reply, rx_err_t *status, int *op, admin_audit_t *audit)
{
	memset(audit, 0, sizeof *audit);
	return handle(a, frame, len, now, reply, status, op, audit);
}

rx_err_t admin_job_done(const admin_t *a, const admin_audit_t *audit, int64_t now,
			store_buf_t *reply, rx_err_t *status)
{
	if (audit->action[0] == '\0' || *status != RX_OK)
		return RX_OK;
	rx_err_t err = store_audit_operator(a->store, now, audit->action,
					    audit->id[0] ? audit->id : NULL,
					    audit->patient[0] ? audit->patient : NULL,
					    audit->detail[0] ? audit->detail : NULL);
	if (err == RX_OK)
		return RX_OK;
	/* Unaudited, the job's result is not given out. */
	Rx__AdminReply r = RX__ADMIN_REPLY__INIT;
	r.status = (Rx__Status)RX_UNAVAILABLE;
	r.message = (char *)"storage error writing the audit log";
	store_buf_free(reply);
	*status = RX_UNAVAILABLE;
	return pack(&r, reply);
}

static rx_err_t handle(const admin_t *a, const uint8_t *frame, size_t len, int64_t now,
		       store_buf_t *reply, rx_err_t *status, int *op, admin_audit_t *audit)
{
	Rx__AdminReply r = RX__ADMIN_REPLY__INIT;
	Rx__AdminRequest *q = NULL;
	store_key_t k, *keys = NULL;
	Rx__KeyInfo **ptrs = NULL;
	store_institution_t inst, *insts = NULL;
	Rx__InstitutionInfo **iptrs = NULL;
	store_card_t *cards = NULL;
	Rx__CardInfo **cptrs = NULL;
	store_audit_t *entries = NULL;
	Rx__AuditInfo **aptrs = NULL;
	store_rx_t *rxs = NULL, one;
	Rx__Summary **sptrs = NULL;
	store_buf_t body = {0}, sig = {0};
	Rx__Signed signed_rx = RX__SIGNED__INIT;
	Rx__AuditVerdict verdict = RX__AUDIT_VERDICT__INIT;
	Rx__Report rep = RX__REPORT__INIT;
	Rx__Report__RefusalsEntry *refs = NULL, **refp = NULL;
	Rx__Report__OperatorActionsEntry *acts = NULL, **actp = NULL;
	report_t *tallies = NULL;
	char *text = NULL;
	Rx__Stats st = RX__STATS__INIT;
	char pid[RX_PATIENT_ID_LEN + 1], msgbuf[256];
	rx_drug_row_t *rows = NULL;
	store_drug_t *drugs = NULL;
	Rx__DrugInfo **dptrs = NULL;
	size_t n = 0;
	rx_err_t err;

	*op = 0;
	if (len == 0 || len > RX_MAX_FRAME ||
	    (q = rx__admin_request__unpack(NULL, len, frame)) == NULL)
		GOTO_REPLY(RX_INVALID, "not a valid rx.AdminRequest protobuf");
	*op = (int)q->op;

	switch (q->op) {
	/* KEY_ADD key{key, role, institution_code, name}: register a signing key.
	 * Refusals: INVALID, CONFLICT (already registered). */
	case RX__ADMIN_OP__KEY_ADD:
		if (q->key == NULL || q->key->key.len != RX_KEY_LEN)
			GOTO_REPLY(RX_INVALID, "key must be 32 bytes");
		if (q->key->role != RX__ROLE__PRESCRIBER && q->key->role != RX__ROLE__PHARMACY)
			GOTO_REPLY(RX_INVALID, "role must be prescriber or pharmacy");
		if (rx_institution_valid(q->key->institution_code) != RX_OK)
			GOTO_REPLY(RX_INVALID, "institution code must be 1..32 of [0-9A-Za-z-]");
		if (rx_check_text(q->key->name, RX_NAME_MAX, 1) != RX_OK)
			GOTO_REPLY(RX_INVALID, "name must be 1..128 bytes of UTF-8 text");
		memset(&k, 0, sizeof k);
		memcpy(k.key, q->key->key.data, RX_KEY_LEN);
		k.role = (int)q->key->role;
		strcpy(k.institution, q->key->institution_code);
		strcpy(k.name, q->key->name);
		k.added_at = now;
		if ((err = store_key_add(a->store, &k)) != RX_OK)
			GOTO_REPLY(err, err == RX_CONFLICT	   ? "this key is already registered"
				    : err == RX_NOT_FOUND ? "register the institution first (institution add)"
				    : err == RX_INVALID	   ? "prescriber keys belong to clinics, pharmacy keys to pharmacies"
							   : "storage error");
		break;
	/* INSTITUTION_ADD institution{code, kind, name, curve_key}: register a
	 * clinic or pharmacy and the CurveZMQ key its connections present.
	 * Refusals: INVALID, CONFLICT (code or curve key taken). */
	case RX__ADMIN_OP__INSTITUTION_ADD: {
		const Rx__InstitutionInfo *ii = q->institution;
		if (ii == NULL || rx_institution_valid(ii->code) != RX_OK)
			GOTO_REPLY(RX_INVALID, "institution code must be 1..32 of [0-9A-Za-z-]");
		if (ii->kind != RX__INSTITUTION_KIND__CLINIC && ii->kind != RX__INSTITUTION_KIND__PHARMACY_SITE &&
		    ii->kind != RX__INSTITUTION_KIND__PORTAL)
			GOTO_REPLY(RX_INVALID, "kind must be clinic, pharmacy or portal");
		if (rx_check_text(ii->name, RX_NAME_MAX, 1) != RX_OK)
			GOTO_REPLY(RX_INVALID, "name must be 1..128 bytes of UTF-8 text");
		if (ii->curve_key.len != 32)
			GOTO_REPLY(RX_INVALID, "curve key must be 32 bytes (40 characters of Z85)");
		memset(&inst, 0, sizeof inst);
		strcpy(inst.code, ii->code);
		inst.kind = (int)ii->kind;
		strcpy(inst.name, ii->name);
		memcpy(inst.curve_key, ii->curve_key.data, 32);
		inst.added_at = now;
		if ((err = store_institution_add(a->store, &inst)) != RX_OK)
			GOTO_REPLY(err, err == RX_CONFLICT ? "this code or curve key is already registered"
						       : "storage error");
		break;
	}
	/* INSTITUTION_REVOKE institution{code}: its connections are refused from
	 * now on (new ones by ZAP, open ones at their next request). */
	case RX__ADMIN_OP__INSTITUTION_REVOKE:
		if (q->institution == NULL || rx_institution_valid(q->institution->code) != RX_OK)
			GOTO_REPLY(RX_INVALID, "institution code must be 1..32 of [0-9A-Za-z-]");
		if ((err = store_institution_revoke(a->store, q->institution->code, now)) != RX_OK)
			GOTO_REPLY(err, err == RX_NOT_FOUND ? "no such institution" : "storage error");
		break;
	case RX__ADMIN_OP__INSTITUTION_LIST:
		if ((err = store_institution_list(a->store, &insts, &n)) != RX_OK)
			GOTO_REPLY(err, "storage error");
		if ((iptrs = wire_institution_infos(insts, n)) == NULL)
			GOTO_REPLY(RX_UNAVAILABLE, "out of memory");
		r.n_institutions = n;
		r.institutions = iptrs;
		break;
	/* KEY_REVOKE key{key}: refusals NOT_FOUND, INVALID. */
	case RX__ADMIN_OP__KEY_REVOKE:
		if (q->key == NULL || q->key->key.len != RX_KEY_LEN)
			GOTO_REPLY(RX_INVALID, "key must be 32 bytes");
		if ((err = store_key_revoke(a->store, q->key->key.data, now)) != RX_OK)
			GOTO_REPLY(err, err == RX_NOT_FOUND ? "no such key" : "storage error");
		break;
	/* KEY_LIST: every registered key. */
	case RX__ADMIN_OP__KEY_LIST:
		if ((err = store_key_list(a->store, &keys, &n)) != RX_OK)
			GOTO_REPLY(err, "storage error");
		if ((ptrs = wire_key_infos(keys, n)) == NULL)
			GOTO_REPLY(RX_UNAVAILABLE, "out of memory");
		r.n_keys = n;
		r.keys = ptrs;
		break;
	/* PATIENT_ENROLL patient_id: the pseudonym rxctl derived; rxd never
	 * sees a My Number.  Refusals: INVALID. */
	case RX__ADMIN_OP__PATIENT_ENROLL: {
		int created = 0;
		if (rx_patient_id_parse(q->patient_id, pid) != RX_OK)
			GOTO_REPLY(RX_INVALID, "patient id is malformed");
		if ((err = store_patient_enroll(a->store, pid, now, &created)) != RX_OK)
			GOTO_REPLY(err, "storage error");
		r.patient_id = pid;
		r.created = created;
		break;
	}
	/* CARD_ENROLL card patient_id: bind a patient's card.  Refusals:
	 * INVALID, NOT_FOUND (patient not enrolled), CONFLICT (card seen before). */
	case RX__ADMIN_OP__CARD_ENROLL:
		if (q->card.len != RX_KEY_LEN)
			GOTO_REPLY(RX_INVALID, "card key must be 32 bytes");
		if (rx_patient_id_parse(q->patient_id, pid) != RX_OK)
			GOTO_REPLY(RX_INVALID, "patient id is malformed");
		if ((err = store_card_enroll(a->store, q->card.data, pid, now)) != RX_OK)
			GOTO_REPLY(err, err == RX_NOT_FOUND  ? "the patient is not enrolled"
				    : err == RX_CONFLICT ? "this card was enrolled before (a re-issued card has a new key)"
							 : "storage error");
		r.patient_id = pid;
		break;
	/* CARD_REVOKE card: a lost card stops working at once. */
	case RX__ADMIN_OP__CARD_REVOKE:
		if (q->card.len != RX_KEY_LEN)
			GOTO_REPLY(RX_INVALID, "card key must be 32 bytes");
		if ((err = store_card_revoke(a->store, q->card.data, now)) != RX_OK)
			GOTO_REPLY(err, err == RX_NOT_FOUND ? "no such card" : "storage error");
		break;
	case RX__ADMIN_OP__CARD_LIST:
		if ((err = store_card_list(a->store, &cards, &n)) != RX_OK)
			GOTO_REPLY(err, "storage error");
		if ((cptrs = wire_card_infos(cards, n)) == NULL)
			GOTO_REPLY(RX_UNAVAILABLE, "out of memory");
		r.n_cards = n;
		r.cards = cptrs;
		break;
	/* RX_UNLOCK prescription_id: code access works again after 5 wrong codes. */
	case RX__ADMIN_OP__RX_UNLOCK: {
		char id[RX_ID_LEN + 1];
		if (rx_rxid_parse(q->prescription_id, id) != RX_OK)
			GOTO_REPLY(RX_INVALID, "prescription id is malformed or its check character is wrong");
		if ((err = store_rx_unlock(a->store, id, now)) != RX_OK)
			GOTO_REPLY(err, err == RX_NOT_FOUND ? "no prescription has this id" : "storage error");
		break;
	}
	/* AUDIT_VERIFY: walk the chain; the verdict is in the reply. */
	case RX__ADMIN_OP__AUDIT_VERIFY: {
		store_verdict_t v;
		if ((err = store_audit_verify(a->store, a->key->pk, &v)) != RX_OK)
			GOTO_REPLY(err, "storage error reading the audit log");
		verdict.ok = v.ok;
		verdict.checked = v.checked;
		verdict.first_bad = v.first_bad;
		verdict.why = (char *)(v.why ? v.why : "");
		verdict.signed_seq = v.signed_seq;
		verdict.signed_at = v.signed_at;
		r.verdict = &verdict;
		break;
	}
	/* AUDIT_TAIL count / AUDIT_PATIENT patient_id / RX_SHOW id: entries. */
	case RX__ADMIN_OP__AUDIT_TAIL:
	case RX__ADMIN_OP__AUDIT_PATIENT:
	case RX__ADMIN_OP__RX_SHOW: {
		char id[RX_ID_LEN + 1];
		if (q->op == RX__ADMIN_OP__AUDIT_TAIL) {
			err = store_audit_tail(a->store, q->count ? (q->count > 10000 ? 10000 : q->count) : 20,
					       &entries, &n);
		} else if (q->op == RX__ADMIN_OP__AUDIT_PATIENT) {
			if (rx_patient_id_parse(q->patient_id, pid) != RX_OK)
				GOTO_REPLY(RX_INVALID, "patient id is malformed or its check character is wrong");
			err = store_audit_patient(a->store, pid, 10000, &entries, &n);
		} else {
			if (rx_rxid_parse(q->prescription_id, id) != RX_OK)
				GOTO_REPLY(RX_INVALID, "prescription id is malformed or its check character is wrong");
			if ((err = store_rx_get(a->store, id, now, &one, q->body ? &body : NULL,
						q->body ? &sig : NULL)) != RX_OK)
				GOTO_REPLY(err, err == RX_NOT_FOUND ? "no prescription has this id" : "storage error");
			if ((sptrs = wire_summaries(&one, 1)) == NULL)
				GOTO_REPLY(RX_UNAVAILABLE, "out of memory");
			r.n_prescriptions = 1;
			r.prescriptions = sptrs;
			r.patient_id = one.patient_id;
			if (q->body) {
				/* Reading a body is itself an access to patient data. */
				if ((err = operator_action(a, audit, now, "RX_SHOW_BODY", id, one.patient_id,
							   NULL)) != RX_OK)
					GOTO_REPLY(err, "storage error writing the audit log");
				signed_rx.body.data = body.data;
				signed_rx.body.len = body.len;
				signed_rx.signature.data = sig.data;
				signed_rx.signature.len = sig.len;
				r.prescription = &signed_rx;
			}
			err = store_audit_rx(a->store, id, &entries, &n);
		}
		if (err != RX_OK)
			GOTO_REPLY(err, err == RX_INVALID ? "malformed request" : "storage error reading the audit log");
		if ((aptrs = wire_audit_infos(entries, n)) == NULL)
			GOTO_REPLY(RX_UNAVAILABLE, "out of memory");
		r.n_audit = n;
		r.audit = aptrs;
		break;
	}
	/* AUDIT_REPORT day: the day's security-relevant events (Japan time). */
	case RX__ADMIN_OP__AUDIT_REPORT: {
		int64_t from = jst_day(q->day);
		if (from < 0)
			GOTO_REPLY(RX_INVALID, "day must be YYYY-MM-DD");
		if ((tallies = calloc(1, sizeof *tallies)) == NULL)
			GOTO_REPLY(RX_UNAVAILABLE, "out of memory");
		if ((err = store_audit_each(a->store, from, from + 86400, report_entry, tallies)) != RX_OK)
			GOTO_REPLY(err, "storage error reading the audit log");
		refs = calloc(64, sizeof *refs);
		refp = calloc(64, sizeof *refp);
		acts = calloc(64, sizeof *acts);
		actp = calloc(64, sizeof *actp);
		if (!refs || !refp || !acts || !actp)
			GOTO_REPLY(RX_UNAVAILABLE, "out of memory");
		for (int i = 0; i < tallies->refusals.n; i++) {
			rx__report__refusals_entry__init(&refs[i]);
			refs[i].key = tallies->refusals.names[i];
			refs[i].value = tallies->refusals.counts[i];
			refp[i] = &refs[i];
		}
		for (int i = 0; i < tallies->actions.n; i++) {
			rx__report__operator_actions_entry__init(&acts[i]);
			acts[i].key = tallies->actions.names[i];
			acts[i].value = tallies->actions.counts[i];
			actp[i] = &acts[i];
		}
		rep.day = q->day;
		rep.entries = tallies->entries;
		rep.n_refusals = (size_t)tallies->refusals.n;
		rep.refusals = refp;
		rep.n_operator_actions = (size_t)tallies->actions.n;
		rep.operator_actions = actp;
		rep.revocations = tallies->revocations;
		rep.locked_codes = tallies->locked;
		rep.bad_codes = tallies->bad_codes;
		r.report = &rep;
		break;
	}
	/* RX_LIST state: prescriptions in that state (at most 10000). */
	case RX__ADMIN_OP__RX_LIST:
		if (q->state < RX__STATE__ISSUED || q->state > RX__STATE__EXPIRED_STATE)
			GOTO_REPLY(RX_INVALID, "state must be ISSUED, CLAIMED, DISPENSED, CANCELLED or EXPIRED");
		if ((err = store_rx_list(a->store, (int)q->state, now, 10000, &rxs, &n)) != RX_OK)
			GOTO_REPLY(err, "storage error");
		if ((sptrs = wire_summaries(rxs, n)) == NULL)
			GOTO_REPLY(RX_UNAVAILABLE, "out of memory");
		r.n_prescriptions = n;
		r.prescriptions = sptrs;
		break;
	/* RX_RELEASE id reason: take back a claim stuck at a pharmacy. */
	case RX__ADMIN_OP__RX_RELEASE: {
		char id[RX_ID_LEN + 1];
		if (rx_rxid_parse(q->prescription_id, id) != RX_OK)
			GOTO_REPLY(RX_INVALID, "prescription id is malformed or its check character is wrong");
		if (rx_check_text(q->reason, 200, 1) != RX_OK)
			GOTO_REPLY(RX_INVALID, "a reason (1..200 bytes of text) is required; it is audited");
		if ((err = store_rx_release(a->store, id, now, q->reason)) != RX_OK)
			GOTO_REPLY(err, err == RX_NOT_FOUND ? "no prescription has this id"
				    : err == RX_INVALID ? "this prescription is not claimed"
							: "storage error");
		break;
	}
	/* EXPIRE: the expiry sweep, now. */
	case RX__ADMIN_OP__EXPIRE: {
		uint64_t count = 0;
		if ((err = store_expire(a->store, now, &count)) != RX_OK)
			GOTO_REPLY(err, "storage error");
		r.expired = count;
		break;
	}
	/* BACKUP path [with_pseudonym_key]: a hot, compacted copy of the store
	 * plus the key files without which it cannot be read; the pseudonym key
	 * only when asked, since with it a copy re-identifies every patient.
	 * Audited.  Refusals: INVALID, CONFLICT, UNAVAILABLE. */
	case RX__ADMIN_OP__BACKUP: {
		static const char *const keys[] = {"data.key", "broker.key", "broker.curve",
						   "broker.curve.pub"};
		uint64_t bytes = 0;
		char from[4200], to[4200], detail[1100];
		if (q->path[0] != '/' || rx_check_text(q->path, 1024, 1) != RX_OK)
			GOTO_REPLY(RX_INVALID, "the backup destination must be an absolute path");
		if ((err = store_backup(a->store, q->path, &bytes)) != RX_OK)
			GOTO_REPLY(err, err == RX_CONFLICT ? "the destination already holds a store"
						       : "the copy failed (is the destination writable?)");
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
			snprintf(from, sizeof from, "%s/%s", a->dir, keys[i]);
			snprintf(to, sizeof to, "%s/%s", q->path, keys[i]);
			if (copy_file(from, to) != 0)
				GOTO_REPLY(RX_UNAVAILABLE, "the store was copied but a key file was not");
		}
		snprintf(to, sizeof to, "%s/pseudonym.key", q->path);
		if (q->with_pseudonym_key && (a->pseudonym_key == NULL || copy_file(a->pseudonym_key, to) != 0))
			GOTO_REPLY(RX_UNAVAILABLE, "the store and its keys were copied but the pseudonym key was not");
		snprintf(detail, sizeof detail, "%s%s", q->path,
			 q->with_pseudonym_key ? " (with the pseudonym key)" : "");
		if ((err = operator_action(a, audit, now, "BACKUP", NULL, NULL, detail)) != RX_OK)
			GOTO_REPLY(err, "storage error writing the audit log");
		r.backup_bytes = bytes;
		break;
	}
	/* DRUGS_LOAD load_id drugs [load_commit load_rows]: one part of a new drug
	 * master; the last part replaces the master with every part of the load
	 * in one transaction (audited).  Refusals: INVALID (a bad row, named by
	 * its place in the part; a row count that does not add up), CONFLICT (a
	 * code twice in one load). */
	case RX__ADMIN_OP__DRUGS_LOAD: {
		uint64_t count = 0;
		size_t bad = 0;
		const char *why = NULL;
		if (q->load_id.len != 16)
			GOTO_REPLY(RX_INVALID, "load_id must be 16 bytes");
		if ((rows = calloc(q->n_drugs ? q->n_drugs : 1, sizeof *rows)) == NULL)
			GOTO_REPLY(RX_UNAVAILABLE, "out of memory");
		for (size_t i = 0; i < q->n_drugs; i++) {
			const Rx__DrugInfo *di = q->drugs[i];
			rows[i] = (rx_drug_row_t){di->code, di->name_ja, di->name_en, di->ingredient,
						  di->strength, di->unit, di->dosage_form};
			if (rx_drug_row_check(&rows[i], &why) != RX_OK) {
				snprintf(msgbuf, sizeof msgbuf, "row %zu of this part: %s", i + 1, why);
				GOTO_REPLY(RX_INVALID, msgbuf);
			}
		}
		err = store_drugs_load(a->store, q->load_id.data, rows, q->n_drugs, q->load_commit,
				       q->load_rows, now, &count, &bad);
		if (err == RX_CONFLICT) {
			snprintf(msgbuf, sizeof msgbuf, "drug code %s appears twice in this list",
				 rows[bad].code);
			GOTO_REPLY(err, msgbuf);
		}
		if (err == RX_INVALID) {
			snprintf(msgbuf, sizeof msgbuf,
				 "the load does not hold the %u rows announced: a part is missing or another "
				 "load started meanwhile; nothing was replaced, run it again",
				 (unsigned)q->load_rows);
			GOTO_REPLY(err, msgbuf);
		}
		if (err != RX_OK)
			GOTO_REPLY(err, "storage error");
		r.drugs_count = count;
		break;
	}
	/* DRUGS_SHOW drug_code: a drug (a whole code), the drugs under a code
	 * prefix (4..11 characters, at most 200), or with no code just the
	 * master's size.  Refusals: INVALID, NOT_FOUND. */
	case RX__ADMIN_OP__DRUGS_SHOW: {
		size_t len = strlen(q->drug_code);
		if (len && (len < 4 || len > RX_DRUG_CODE_LEN ||
			    strspn(q->drug_code, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != len))
			GOTO_REPLY(RX_INVALID, "a drug code, or a prefix of 4..11 of its characters (0-9, A-Z)");
		if ((err = store_drugs_info(a->store, &r.drugs_count, &r.drugs_loaded_at)) != RX_OK)
			GOTO_REPLY(err, "storage error");
		if (len == 0)
			break;
		if ((err = store_drugs_find(a->store, q->drug_code, 200, &drugs, &n)) != RX_OK)
			GOTO_REPLY(err, "storage error");
		if (n == 0)
			GOTO_REPLY(RX_NOT_FOUND, r.drugs_count ? "no drug in the master has this code"
							   : "the drug master is empty (rxctl drugs load FILE.csv)");
		if ((dptrs = wire_drug_infos(drugs, n)) == NULL)
			GOTO_REPLY(RX_UNAVAILABLE, "out of memory");
		r.n_drugs = n;
		r.drugs = dptrs;
		break;
	}
	/* METRICS: Prometheus text. */
	case RX__ADMIN_OP__METRICS: {
		store_stats_t s;
		if ((err = store_stats(a->store, now, &s)) != RX_OK)
			GOTO_REPLY(err, "storage error");
		if (a->metrics == NULL || (text = metrics_render(a->metrics, &s, now)) == NULL)
			GOTO_REPLY(RX_UNAVAILABLE, "out of memory");
		r.metrics = text;
		break;
	}
	/* STATS: counts, map use, uptime. */
	case RX__ADMIN_OP__STATS: {
		store_stats_t s;
		if ((err = store_stats(a->store, now, &s)) != RX_OK)
			GOTO_REPLY(err, "storage error");
		st.version = (char *)RX_VERSION;
		st.broker_key.data = (uint8_t *)a->key->pk;
		st.broker_key.len = RX_KEY_LEN;
		st.started_at = a->started_at;
		st.requests = a->requests;
		st.prescriptions = s.prescriptions;
		st.issued = s.by_state[RX_STATE_ISSUED];
		st.claimed = s.by_state[RX_STATE_CLAIMED];
		st.dispensed = s.by_state[RX_STATE_DISPENSED];
		st.cancelled = s.by_state[RX_STATE_CANCELLED];
		st.expired = s.by_state[RX_STATE_EXPIRED];
		st.dispense_records = s.dispense_records;
		st.patients = s.patients;
		st.keys = s.keys;
		st.map_used = s.map_used;
		st.map_size = s.map_size;
		st.curve_key = (char *)(a->curve_key ? a->curve_key : "");
		st.pseudonym_key = (char *)(a->pseudonym_key ? a->pseudonym_key : "");
		st.institutions = s.institutions;
		st.cards = s.cards;
		st.audit_entries = s.audit_entries;
		st.notices_pending = s.notices;
		st.nominations = s.nominations;
		st.map_free = s.space.free;
		st.map_reserve = s.space.reserve;
		st.storage_full = s.space.nearly_full;
		st.replies_stored = s.replies;
		st.replies_prunable = s.replies_due;
		st.nonces_stored = s.nonces;
		st.nonces_prunable = s.nonces_due;
		st.data_dir_bytes = a->dir ? dir_bytes(a->dir) : 0;
		st.requests_per_second = a->metrics ? metrics_rate(a->metrics, now) : 0;
		r.stats = &st;
		break;
	}
	default:
		GOTO_REPLY(RX_INVALID, "unknown admin op");
	}
reply:
	/* Local codes (SYSTEM) never travel: the operator sees UNAVAILABLE. */
	if (!rx_err_is_wire((int)r.status))
		r.status = (Rx__Status)RX_UNAVAILABLE;
	*status = (rx_err_t)r.status;
	err = pack(&r, reply);
	free(ptrs);
	free(keys);
	free(iptrs);
	free(insts);
	free(cptrs);
	free(cards);
	free(aptrs);
	free(entries);
	free(sptrs);
	free(rxs);
	store_buf_free(&body);
	store_buf_free(&sig);
	free(refs);
	free(refp);
	free(acts);
	free(actp);
	free(tallies);
	free(text);
	free(rows);
	free(drugs);
	free(dptrs);
	if (q)
		rx__admin_request__free_unpacked(q, NULL);
	return err;
}
