/* admin: the operator's requests on the admin socket (see admin.h).  One
 * handler per admin op and a table of them (ops[], at the end, with a line
 * per op naming what it does and what it refuses); handle() decodes the
 * frame, finds the op's row, calls its handler and packs the reply.  There
 * is no authorisation step: the socket's mode (0600) is the authorisation. */
#include "admin.h"

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

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

/* One admin request on its way to its reply.  The reply points into this
 * and into the heap memory held[] lists, all of it released only after the
 * reply is packed. */
typedef struct {
	const admin_t *a;
	const Rx__AdminRequest *q;
	int64_t now;
	admin_audit_t *audit; /* NULL on the loop thread; a job's operator action (operator_action) */
	/* The reply the handler fills.  A refusal goes out with what the handler
	 * had set before it (DRUGS_SHOW's count, RX_SHOW's summary). */
	Rx__AdminReply *r;
	const char *why; /* a refusal's message (refuse) */
	void *held[6];
	size_t nheld;
	char patient[RX_PATIENT_ID_LEN + 1]; /* PATIENT_ENROLL, CARD_ENROLL: the reply's patient_id */
	char message[256];                   /* a refusal's message when it names a row or a code */
	/* RX_SHOW: the prescription the summary points into, and its signed body */
	store_rx_t rx;
	store_buf_t body, sig;
	Rx__Signed prescription;
	/* the sub-message of AUDIT_VERIFY, AUDIT_REPORT, STATS */
	Rx__AuditVerdict verdict;
	Rx__Report report;
	Rx__Stats stats;
} call_t;

/* A handler's refusal: code with the message why (a literal, or c->message). */
static rx_err_t refuse(call_t *c, rx_err_t code, const char *why)
{
	c->why = why;
	return code;
}

/* RX_OK if the store said so, else its code refused with why. */
static rx_err_t refuse_on_error(call_t *c, rx_err_t err, const char *why)
{
	return err == RX_OK ? RX_OK : refuse(c, err, why);
}

/* Hold p (heap memory the reply points into, or NULL) until the reply is
 * packed; returns p. */
static void *keep(call_t *c, void *p)
{
	/* A programmer's error: a handler holds at most this many. */
	assert(c->nheld < sizeof c->held / sizeof c->held[0]);
	c->held[c->nheld++] = p;
	return p;
}

/* Record an operator action now (on the loop thread) or leave it in
 * c->audit for admin_job_done (a job, off the loop, writes nothing). */
static rx_err_t operator_action(call_t *c, const char *action, const char *id, const char *patient,
				const char *detail)
{
	admin_audit_t *audit = c->audit;
	if (audit == NULL)
		return store_audit_operator(c->a->store, c->now, action, id, patient, detail);
	snprintf(audit->action, sizeof audit->action, "%s", action);
	snprintf(audit->id, sizeof audit->id, "%s", id ? id : "");
	snprintf(audit->patient, sizeof audit->patient, "%s", patient ? patient : "");
	snprintf(audit->detail, sizeof audit->detail, "%s", detail ? detail : "");
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

/* ---- the handlers, in the order of the AdminOp enum; each returns RX_OK
 * or a refusal's code (refuse) ---- */

static rx_err_t key_add(call_t *c)
{
	const Rx__KeyInfo *ki = c->q->key;
	store_key_t k;
	if (ki == NULL || ki->key.len != RX_KEY_LEN)
		return refuse(c, RX_INVALID, "key must be 32 bytes");
	if (ki->role != RX__ROLE__PRESCRIBER && ki->role != RX__ROLE__PHARMACY)
		return refuse(c, RX_INVALID, "role must be prescriber or pharmacy");
	if (rx_institution_valid(ki->institution_code) != RX_OK)
		return refuse(c, RX_INVALID, "institution code must be 1..32 of [0-9A-Za-z-]");
	if (rx_check_text(ki->name, RX_NAME_MAX, 1) != RX_OK)
		return refuse(c, RX_INVALID, "name must be 1..128 bytes of UTF-8 text");
	memset(&k, 0, sizeof k);
	memcpy(k.key, ki->key.data, RX_KEY_LEN);
	k.role = (int)ki->role;
	strcpy(k.institution, ki->institution_code);
	strcpy(k.name, ki->name);
	k.added_at = c->now;
	rx_err_t err = store_key_add(c->a->store, &k);
	return refuse_on_error(c, err,
			       err == RX_CONFLICT    ? "this key is already registered"
			       : err == RX_NOT_FOUND ? "register the institution first (institution add)"
			       : err == RX_INVALID   ? "prescriber keys belong to clinics, pharmacy keys to pharmacies"
						     : "storage error");
}

static rx_err_t key_list(call_t *c)
{
	store_key_t *keys = NULL;
	size_t n = 0;
	rx_err_t err = store_key_list(c->a->store, &keys, &n);
	keep(c, keys);
	if (err != RX_OK)
		return refuse(c, err, "storage error");
	if ((c->r->keys = keep(c, wire_key_infos(keys, n))) == NULL)
		return refuse(c, RX_UNAVAILABLE, "out of memory");
	c->r->n_keys = n;
	return RX_OK;
}

static rx_err_t key_revoke(call_t *c)
{
	if (c->q->key == NULL || c->q->key->key.len != RX_KEY_LEN)
		return refuse(c, RX_INVALID, "key must be 32 bytes");
	rx_err_t err = store_key_revoke(c->a->store, c->q->key->key.data, c->now);
	return refuse_on_error(c, err, err == RX_NOT_FOUND ? "no such key" : "storage error");
}

/* rxctl derived the pseudonym: rxd never sees a My Number. */
static rx_err_t patient_enroll(call_t *c)
{
	int created = 0;
	rx_err_t err;
	if (rx_patient_id_parse(c->q->patient_id, c->patient) != RX_OK)
		return refuse(c, RX_INVALID, "patient id is malformed");
	if ((err = store_patient_enroll(c->a->store, c->patient, c->now, &created)) != RX_OK)
		return refuse(c, err, "storage error");
	c->r->patient_id = c->patient;
	c->r->created = created;
	return RX_OK;
}

static rx_err_t stats(call_t *c)
{
	const admin_t *a = c->a;
	Rx__Stats *st = &c->stats;
	store_stats_t s;
	rx_err_t err;
	if ((err = store_stats(a->store, c->now, &s)) != RX_OK)
		return refuse(c, err, "storage error");
	wire_stats(&s, st);
	st->version = (char *)RX_VERSION;
	st->broker_key.data = (uint8_t *)a->key->pk;
	st->broker_key.len = RX_KEY_LEN;
	st->started_at = a->started_at;
	st->requests = a->requests;
	st->curve_key = (char *)(a->curve_key ? a->curve_key : "");
	st->pseudonym_key = (char *)(a->pseudonym_key ? a->pseudonym_key : "");
	st->data_dir_bytes = a->dir ? dir_bytes(a->dir) : 0;
	st->requests_per_second = a->metrics ? metrics_rate(a->metrics, c->now) : 0;
	c->r->stats = st;
	return RX_OK;
}

static rx_err_t institution_add(call_t *c)
{
	const Rx__InstitutionInfo *ii = c->q->institution;
	store_institution_t inst;
	if (ii == NULL || rx_institution_valid(ii->code) != RX_OK)
		return refuse(c, RX_INVALID, "institution code must be 1..32 of [0-9A-Za-z-]");
	if (ii->kind != RX__INSTITUTION_KIND__CLINIC && ii->kind != RX__INSTITUTION_KIND__PHARMACY_SITE &&
	    ii->kind != RX__INSTITUTION_KIND__PORTAL)
		return refuse(c, RX_INVALID, "kind must be clinic, pharmacy or portal");
	if (rx_check_text(ii->name, RX_NAME_MAX, 1) != RX_OK)
		return refuse(c, RX_INVALID, "name must be 1..128 bytes of UTF-8 text");
	if (ii->curve_key.len != 32)
		return refuse(c, RX_INVALID, "curve key must be 32 bytes (40 characters of Z85)");
	memset(&inst, 0, sizeof inst);
	strcpy(inst.code, ii->code);
	inst.kind = (int)ii->kind;
	strcpy(inst.name, ii->name);
	memcpy(inst.curve_key, ii->curve_key.data, 32);
	inst.added_at = c->now;
	rx_err_t err = store_institution_add(c->a->store, &inst);
	return refuse_on_error(c, err, err == RX_CONFLICT ? "this code or curve key is already registered"
							       : "storage error");
}

static rx_err_t institution_list(call_t *c)
{
	store_institution_t *insts = NULL;
	size_t n = 0;
	rx_err_t err = store_institution_list(c->a->store, &insts, &n);
	keep(c, insts);
	if (err != RX_OK)
		return refuse(c, err, "storage error");
	if ((c->r->institutions = keep(c, wire_institution_infos(insts, n))) == NULL)
		return refuse(c, RX_UNAVAILABLE, "out of memory");
	c->r->n_institutions = n;
	return RX_OK;
}

static rx_err_t institution_revoke(call_t *c)
{
	const Rx__InstitutionInfo *ii = c->q->institution;
	if (ii == NULL || rx_institution_valid(ii->code) != RX_OK)
		return refuse(c, RX_INVALID, "institution code must be 1..32 of [0-9A-Za-z-]");
	rx_err_t err = store_institution_revoke(c->a->store, ii->code, c->now);
	return refuse_on_error(c, err, err == RX_NOT_FOUND ? "no such institution" : "storage error");
}

static rx_err_t card_enroll(call_t *c)
{
	rx_err_t err;
	if (c->q->card.len != RX_KEY_LEN)
		return refuse(c, RX_INVALID, "card key must be 32 bytes");
	if (rx_patient_id_parse(c->q->patient_id, c->patient) != RX_OK)
		return refuse(c, RX_INVALID, "patient id is malformed");
	if ((err = store_card_enroll(c->a->store, c->q->card.data, c->patient, c->now)) != RX_OK)
		return refuse(c, err,
			      err == RX_NOT_FOUND  ? "the patient is not enrolled"
			      : err == RX_CONFLICT ? "this card was enrolled before (a re-issued card has a new key)"
						   : "storage error");
	c->r->patient_id = c->patient;
	return RX_OK;
}

static rx_err_t card_revoke(call_t *c)
{
	if (c->q->card.len != RX_KEY_LEN)
		return refuse(c, RX_INVALID, "card key must be 32 bytes");
	rx_err_t err = store_card_revoke(c->a->store, c->q->card.data, c->now);
	return refuse_on_error(c, err, err == RX_NOT_FOUND ? "no such card" : "storage error");
}

static rx_err_t card_list(call_t *c)
{
	store_card_t *cards = NULL;
	size_t n = 0;
	rx_err_t err = store_card_list(c->a->store, &cards, &n);
	keep(c, cards);
	if (err != RX_OK)
		return refuse(c, err, "storage error");
	if ((c->r->cards = keep(c, wire_card_infos(cards, n))) == NULL)
		return refuse(c, RX_UNAVAILABLE, "out of memory");
	c->r->n_cards = n;
	return RX_OK;
}

static rx_err_t rx_unlock(call_t *c)
{
	char id[RX_ID_LEN + 1];
	if (rx_rxid_parse(c->q->prescription_id, id) != RX_OK)
		return refuse(c, RX_INVALID, "prescription id is malformed or its check character is wrong");
	rx_err_t err = store_rx_unlock(c->a->store, id, c->now);
	return refuse_on_error(c, err, err == RX_NOT_FOUND ? "no prescription has this id" : "storage error");
}

static rx_err_t audit_verify(call_t *c)
{
	store_verdict_t v;
	rx_err_t err;
	if ((err = store_audit_verify(c->a->store, c->a->key->pk, &v)) != RX_OK)
		return refuse(c, err, "storage error reading the audit log");
	wire_verdict(&v, &c->verdict);
	c->r->verdict = &c->verdict;
	return RX_OK;
}

/* The reply's audit list from entries, which reading them (AUDIT_TAIL,
 * AUDIT_PATIENT, RX_SHOW) returned with err. */
static rx_err_t audit_list(call_t *c, rx_err_t err, store_audit_t *entries, size_t n)
{
	keep(c, entries);
	if (err != RX_OK)
		return refuse(c, err, err == RX_INVALID ? "malformed request" : "storage error reading the audit log");
	if ((c->r->audit = keep(c, wire_audit_infos(entries, n))) == NULL)
		return refuse(c, RX_UNAVAILABLE, "out of memory");
	c->r->n_audit = n;
	return RX_OK;
}

static rx_err_t audit_tail(call_t *c)
{
	store_audit_t *entries = NULL;
	size_t n = 0;
	rx_err_t err = store_audit_tail(c->a->store,
					c->q->count ? (c->q->count > 10000 ? 10000 : c->q->count) : 20,
					&entries, &n);
	return audit_list(c, err, entries, n);
}

static rx_err_t audit_patient(call_t *c)
{
	char pid[RX_PATIENT_ID_LEN + 1];
	store_audit_t *entries = NULL;
	size_t n = 0;
	if (rx_patient_id_parse(c->q->patient_id, pid) != RX_OK)
		return refuse(c, RX_INVALID, "patient id is malformed or its check character is wrong");
	rx_err_t err = store_audit_patient(c->a->store, pid, 10000, &entries, &n);
	return audit_list(c, err, entries, n);
}

static rx_err_t audit_report(call_t *c)
{
	Rx__Report *rep = &c->report;
	Rx__Report__RefusalsEntry *refs, **refp;
	Rx__Report__OperatorActionsEntry *acts, **actp;
	report_t *tallies;
	rx_err_t err;
	int64_t from = jst_day(c->q->day);
	if (from < 0)
		return refuse(c, RX_INVALID, "day must be YYYY-MM-DD");
	if ((tallies = keep(c, calloc(1, sizeof *tallies))) == NULL)
		return refuse(c, RX_UNAVAILABLE, "out of memory");
	if ((err = store_audit_each(c->a->store, from, from + 86400, report_entry, tallies)) != RX_OK)
		return refuse(c, err, "storage error reading the audit log");
	refs = keep(c, calloc(64, sizeof *refs));
	refp = keep(c, calloc(64, sizeof *refp));
	acts = keep(c, calloc(64, sizeof *acts));
	actp = keep(c, calloc(64, sizeof *actp));
	if (!refs || !refp || !acts || !actp)
		return refuse(c, RX_UNAVAILABLE, "out of memory");
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
	rx__report__init(rep);
	rep->day = c->q->day;
	rep->entries = tallies->entries;
	rep->n_refusals = (size_t)tallies->refusals.n;
	rep->refusals = refp;
	rep->n_operator_actions = (size_t)tallies->actions.n;
	rep->operator_actions = actp;
	rep->revocations = tallies->revocations;
	rep->locked_codes = tallies->locked;
	rep->bad_codes = tallies->bad_codes;
	c->r->report = rep;
	return RX_OK;
}

static rx_err_t rx_show(call_t *c)
{
	char id[RX_ID_LEN + 1];
	int body = c->q->body;
	store_audit_t *entries = NULL;
	size_t n = 0;
	rx_err_t err;
	if (rx_rxid_parse(c->q->prescription_id, id) != RX_OK)
		return refuse(c, RX_INVALID, "prescription id is malformed or its check character is wrong");
	if ((err = store_rx_get(c->a->store, id, c->now, &c->rx, body ? &c->body : NULL,
				body ? &c->sig : NULL)) != RX_OK)
		return refuse(c, err, err == RX_NOT_FOUND ? "no prescription has this id" : "storage error");
	if ((c->r->prescriptions = keep(c, wire_summaries(&c->rx, 1))) == NULL)
		return refuse(c, RX_UNAVAILABLE, "out of memory");
	c->r->n_prescriptions = 1;
	c->r->patient_id = c->rx.patient_id;
	if (body) {
		/* Reading a body is itself an access to patient data. */
		if ((err = operator_action(c, "RX_SHOW_BODY", id, c->rx.patient_id, NULL)) != RX_OK)
			return refuse(c, err, "storage error writing the audit log");
		rx__signed__init(&c->prescription);
		c->prescription.body.data = c->body.data;
		c->prescription.body.len = c->body.len;
		c->prescription.signature.data = c->sig.data;
		c->prescription.signature.len = c->sig.len;
		c->r->prescription = &c->prescription;
	}
	err = store_audit_rx(c->a->store, id, &entries, &n);
	return audit_list(c, err, entries, n);
}

static rx_err_t rx_list(call_t *c)
{
	store_rx_t *rxs = NULL;
	size_t n = 0;
	rx_err_t err;
	if (c->q->state < RX__STATE__ISSUED || c->q->state > RX__STATE__PARTIALLY_DISPENSED)
		return refuse(c, RX_INVALID, "state must be ISSUED, CLAIMED, PARTIALLY_DISPENSED, DISPENSED, CANCELLED or EXPIRED");
	err = store_rx_list(c->a->store, (int)c->q->state, c->now, 10000, &rxs, &n);
	keep(c, rxs);
	if (err != RX_OK)
		return refuse(c, err, "storage error");
	if ((c->r->prescriptions = keep(c, wire_summaries(rxs, n))) == NULL)
		return refuse(c, RX_UNAVAILABLE, "out of memory");
	c->r->n_prescriptions = n;
	return RX_OK;
}

static rx_err_t rx_release(call_t *c)
{
	char id[RX_ID_LEN + 1];
	if (rx_rxid_parse(c->q->prescription_id, id) != RX_OK)
		return refuse(c, RX_INVALID, "prescription id is malformed or its check character is wrong");
	if (rx_check_text(c->q->reason, 200, 1) != RX_OK)
		return refuse(c, RX_INVALID, "a reason (1..200 bytes of text) is required; it is audited");
	rx_err_t err = store_rx_release(c->a->store, id, c->now, c->q->reason);
	return refuse_on_error(c, err,
			       err == RX_NOT_FOUND ? "no prescription has this id"
			       : err == RX_INVALID ? "this prescription is not claimed"
			       : err == RX_PARTLY_DISPENSED
				       ? "part of this prescription has been handed over: its pharmacy completes it or closes what is owed"
				       : "storage error");
}

static rx_err_t expire(call_t *c)
{
	uint64_t count = 0;
	rx_err_t err;
	if ((err = store_expire(c->a->store, c->now, &count)) != RX_OK)
		return refuse(c, err, "storage error");
	c->r->expired = count;
	return RX_OK;
}

/* The pseudonym key is copied only when asked: with it a copy re-identifies
 * every patient. */
static rx_err_t backup(call_t *c)
{
	static const char *const key_files[] = {"data.key", "broker.key", "broker.curve",
						"broker.curve.pub"};
	const Rx__AdminRequest *q = c->q;
	uint64_t bytes = 0;
	char from[4200], to[4200], detail[1100];
	rx_err_t err;
	if (q->path[0] != '/' || rx_check_text(q->path, 1024, 1) != RX_OK)
		return refuse(c, RX_INVALID, "the backup destination must be an absolute path");
	if ((err = store_backup(c->a->store, q->path, &bytes)) != RX_OK)
		return refuse(c, err, err == RX_CONFLICT ? "the destination already holds a store"
						       : "the copy failed (is the destination writable?)");
	for (size_t i = 0; i < sizeof key_files / sizeof key_files[0]; i++) {
		snprintf(from, sizeof from, "%s/%s", c->a->dir, key_files[i]);
		snprintf(to, sizeof to, "%s/%s", q->path, key_files[i]);
		if (copy_file(from, to) != 0)
			return refuse(c, RX_UNAVAILABLE, "the store was copied but a key file was not");
	}
	snprintf(to, sizeof to, "%s/pseudonym.key", q->path);
	if (q->with_pseudonym_key && (c->a->pseudonym_key == NULL || copy_file(c->a->pseudonym_key, to) != 0))
		return refuse(c, RX_UNAVAILABLE, "the store and its keys were copied but the pseudonym key was not");
	snprintf(detail, sizeof detail, "%s%s", q->path, q->with_pseudonym_key ? " (with the pseudonym key)" : "");
	if ((err = operator_action(c, "BACKUP", NULL, NULL, detail)) != RX_OK)
		return refuse(c, err, "storage error writing the audit log");
	c->r->backup_bytes = bytes;
	return RX_OK;
}

/* A monitor's question: can rxd still make a request durable?  The commit
 * is a real one on the store thread, so a full map, a failing disk or a
 * read-only file system refuse it with the code a request would get. */
static rx_err_t health(call_t *c)
{
	struct timespec t0, t1;
	rx_err_t err;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((err = store_health(c->a->store, c->now)) != RX_OK)
		return refuse(c, err, "the store cannot commit");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	c->r->commit_us = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
	return RX_OK;
}

static rx_err_t metrics(call_t *c)
{
	store_stats_t s;
	char *text;
	rx_err_t err;
	if ((err = store_stats(c->a->store, c->now, &s)) != RX_OK)
		return refuse(c, err, "storage error");
	if (c->a->metrics == NULL || (text = keep(c, metrics_render(c->a->metrics, &s, c->now))) == NULL)
		return refuse(c, RX_UNAVAILABLE, "out of memory");
	c->r->metrics = text;
	return RX_OK;
}

/* The last part replaces the master with every part of the load in one
 * transaction, so a reader never sees half a master. */
static rx_err_t drugs_load(call_t *c)
{
	const Rx__AdminRequest *q = c->q;
	rx_drug_row_t *rows;
	uint64_t count = 0;
	size_t bad = 0;
	const char *why = NULL;
	rx_err_t err;
	if (q->load_id.len != 16)
		return refuse(c, RX_INVALID, "load_id must be 16 bytes");
	if ((rows = keep(c, calloc(q->n_drugs ? q->n_drugs : 1, sizeof *rows))) == NULL)
		return refuse(c, RX_UNAVAILABLE, "out of memory");
	for (size_t i = 0; i < q->n_drugs; i++) {
		const Rx__DrugInfo *di = q->drugs[i];
		rows[i] = (rx_drug_row_t){di->code,	   di->name_ja, di->name_en,
					  di->ingredient,  di->strength, di->unit,
					  di->dosage_form, di->no_refill ? "1" : ""};
		if (rx_drug_row_check(&rows[i], &why) != RX_OK) {
			snprintf(c->message, sizeof c->message, "row %zu of this part: %s", i + 1, why);
			return refuse(c, RX_INVALID, c->message);
		}
	}
	err = store_drugs_load(c->a->store, q->load_id.data, rows, q->n_drugs, q->load_commit, q->load_rows,
			       c->now, &count, &bad);
	if (err == RX_CONFLICT) {
		snprintf(c->message, sizeof c->message, "drug code %s appears twice in this list", rows[bad].code);
		return refuse(c, err, c->message);
	}
	if (err == RX_INVALID) {
		snprintf(c->message, sizeof c->message,
			 "the load does not hold the %u rows announced: a part is missing or another "
			 "load started meanwhile; nothing was replaced, run it again",
			 (unsigned)q->load_rows);
		return refuse(c, err, c->message);
	}
	if (err != RX_OK)
		return refuse(c, err, "storage error");
	c->r->drugs_count = count;
	return RX_OK;
}

static rx_err_t drugs_show(call_t *c)
{
	const char *code = c->q->drug_code;
	size_t len = strlen(code), n = 0;
	store_drug_t *drugs = NULL;
	rx_err_t err;
	if (len && (len < 4 || len > RX_DRUG_CODE_LEN ||
		    strspn(code, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != len))
		return refuse(c, RX_INVALID, "a drug code, or a prefix of 4..11 of its characters (0-9, A-Z)");
	if ((err = store_drugs_info(c->a->store, &c->r->drugs_count, &c->r->drugs_loaded_at)) != RX_OK)
		return refuse(c, err, "storage error");
	if (len == 0)
		return RX_OK;
	err = store_drugs_find(c->a->store, code, 200, &drugs, &n);
	keep(c, drugs);
	if (err != RX_OK)
		return refuse(c, err, "storage error");
	if (n == 0)
		return refuse(c, RX_NOT_FOUND, c->r->drugs_count ? "no drug in the master has this code"
								 : "the drug master is empty (rxctl drugs load FILE.csv)");
	if ((c->r->drugs = keep(c, wire_drug_infos(drugs, n))) == NULL)
		return refuse(c, RX_UNAVAILABLE, "out of memory");
	c->r->n_drugs = n;
	return RX_OK;
}

/* ---- the table ---- */

/* An admin op: its handler, and whether it runs as a job, off the loop
 * thread (see jobs.h): long and read-only, a walk of the prescriptions or
 * of the audit log, or the copy of the store. */
typedef struct {
	rx_err_t (*handle)(call_t *c);
	int job;
} admin_op_t;

/* One row per op, each with its request fields, what it does, and its
 * refusals beyond UNAVAILABLE (storage, memory).  Ops not here (ADMIN_NONE,
 * unknown numbers) are refused INVALID. */
static const admin_op_t ops[] = {
	/* KEY_ADD key{key role institution_code name}: a signing key.  INVALID, NOT_FOUND (institution), CONFLICT */
	[RX__ADMIN_OP__KEY_ADD] = {key_add, 0},
	/* KEY_LIST: every registered key. */
	[RX__ADMIN_OP__KEY_LIST] = {key_list, 0},
	/* KEY_REVOKE key{key}: the key signs nothing more.  INVALID, NOT_FOUND */
	[RX__ADMIN_OP__KEY_REVOKE] = {key_revoke, 0},
	/* PATIENT_ENROLL patient_id: enrol the pseudonym rxctl derived.  INVALID */
	[RX__ADMIN_OP__PATIENT_ENROLL] = {patient_enroll, 0},
	/* STATS: counts, map use, uptime. */
	[RX__ADMIN_OP__STATS] = {stats, 0},
	/* INSTITUTION_ADD institution{code kind name curve_key}: a clinic, pharmacy or portal.  INVALID, CONFLICT */
	[RX__ADMIN_OP__INSTITUTION_ADD] = {institution_add, 0},
	/* INSTITUTION_LIST: every registered institution. */
	[RX__ADMIN_OP__INSTITUTION_LIST] = {institution_list, 0},
	/* INSTITUTION_REVOKE institution{code}: its connections are refused from now on.  INVALID, NOT_FOUND */
	[RX__ADMIN_OP__INSTITUTION_REVOKE] = {institution_revoke, 0},
	/* CARD_ENROLL card patient_id: bind a card.  INVALID, NOT_FOUND (patient), CONFLICT (card seen before) */
	[RX__ADMIN_OP__CARD_ENROLL] = {card_enroll, 0},
	/* CARD_REVOKE card: a lost card stops working at once.  INVALID, NOT_FOUND */
	[RX__ADMIN_OP__CARD_REVOKE] = {card_revoke, 0},
	/* CARD_LIST: every enrolled card. */
	[RX__ADMIN_OP__CARD_LIST] = {card_list, 0},
	/* RX_UNLOCK prescription_id: code access works again after 5 wrong codes.  INVALID, NOT_FOUND */
	[RX__ADMIN_OP__RX_UNLOCK] = {rx_unlock, 0},
	/* AUDIT_VERIFY: walk the hash chain; the verdict is in the reply. */
	[RX__ADMIN_OP__AUDIT_VERIFY] = {audit_verify, 1},
	/* AUDIT_TAIL count: the last entries (default 20, at most 10000). */
	[RX__ADMIN_OP__AUDIT_TAIL] = {audit_tail, 0},
	/* AUDIT_PATIENT patient_id: a patient's entries (at most 10000).  INVALID */
	[RX__ADMIN_OP__AUDIT_PATIENT] = {audit_patient, 0},
	/* AUDIT_REPORT day: the day's security-relevant events (Japan time).  INVALID */
	[RX__ADMIN_OP__AUDIT_REPORT] = {audit_report, 1},
	/* RX_SHOW prescription_id [body]: summary, entries, signed body (audited).  INVALID, NOT_FOUND */
	[RX__ADMIN_OP__RX_SHOW] = {rx_show, 1},
	/* RX_LIST state: the prescriptions in that state (at most 10000).  INVALID */
	[RX__ADMIN_OP__RX_LIST] = {rx_list, 1},
	/* RX_RELEASE prescription_id reason: take back a stuck claim.  INVALID (also: not claimed), NOT_FOUND,
	 * PARTLY_DISPENSED */
	[RX__ADMIN_OP__RX_RELEASE] = {rx_release, 0},
	/* EXPIRE: the expiry sweep, now. */
	[RX__ADMIN_OP__EXPIRE] = {expire, 0},
	/* BACKUP path [with_pseudonym_key]: store and key files, hot (audited).  INVALID, CONFLICT */
	[RX__ADMIN_OP__BACKUP] = {backup, 1},
	/* METRICS: Prometheus text. */
	[RX__ADMIN_OP__METRICS] = {metrics, 0},
	/* DRUGS_LOAD load_id drugs [load_commit load_rows]: one part of a new drug master.  INVALID, CONFLICT */
	[RX__ADMIN_OP__DRUGS_LOAD] = {drugs_load, 0},
	/* DRUGS_SHOW drug_code: a drug, the drugs under a prefix (200), or the count.  INVALID, NOT_FOUND */
	[RX__ADMIN_OP__DRUGS_SHOW] = {drugs_show, 0},
	/* HEALTH: one durable commit on the store thread; commit_us.  UNAVAILABLE */
	[RX__ADMIN_OP__HEALTH] = {health, 0},
};

/* The row of op, or NULL if there is none. */
static const admin_op_t *lookup(int op)
{
	if (op < 0 || (size_t)op >= sizeof ops / sizeof ops[0] || ops[op].handle == NULL)
		return NULL;
	return &ops[op];
}

/* ---- the request path ---- */

int admin_is_job(const uint8_t *frame, size_t len)
{
	if (len == 0 || len > RX_MAX_FRAME)
		return 0;
	Rx__AdminRequest *q = rx__admin_request__unpack(NULL, len, frame);
	const admin_op_t *row = q ? lookup((int)q->op) : NULL;
	if (q)
		rx__admin_request__free_unpacked(q, NULL);
	return row && row->job;
}

rx_err_t admin_refusal(rx_err_t code, const char *why, store_buf_t *reply)
{
	Rx__AdminReply r = RX__ADMIN_REPLY__INIT;
	r.status = (Rx__Status)(rx_err_is_wire((int)code) ? code : RX_UNAVAILABLE);
	r.message = (char *)why;
	return pack(&r, reply);
}

/* Decode, find the op's row, run its handler, pack the reply. */
static rx_err_t handle(const admin_t *a, const uint8_t *frame, size_t len, int64_t now,
		       store_buf_t *reply, rx_err_t *status, int *op, admin_audit_t *audit)
{
	Rx__AdminReply r = RX__ADMIN_REPLY__INIT;
	Rx__AdminRequest *q = NULL;
	const admin_op_t *row;
	call_t c = {.a = a, .now = now, .audit = audit, .r = &r};
	rx_err_t code, err;

	*op = 0;
	if (len == 0 || len > RX_MAX_FRAME || (q = rx__admin_request__unpack(NULL, len, frame)) == NULL) {
		code = refuse(&c, RX_INVALID, "not a valid rx.AdminRequest protobuf");
	} else {
		*op = (int)q->op;
		c.q = q;
		code = (row = lookup(*op)) ? row->handle(&c) : refuse(&c, RX_INVALID, "unknown admin op");
	}
	if (code != RX_OK) {
		r.status = (Rx__Status)code;
		r.message = (char *)c.why;
	}
	/* Local codes (SYSTEM) never travel: the operator sees UNAVAILABLE. */
	if (!rx_err_is_wire((int)r.status))
		r.status = (Rx__Status)RX_UNAVAILABLE;
	*status = (rx_err_t)r.status;
	err = pack(&r, reply);
	for (size_t i = 0; i < c.nheld; i++)
		free(c.held[i]);
	store_buf_free(&c.body);
	store_buf_free(&c.sig);
	if (q)
		rx__admin_request__free_unpacked(q, NULL);
	return err;
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
	store_buf_free(reply);
	*status = RX_UNAVAILABLE;
	return admin_refusal(RX_UNAVAILABLE, "storage error writing the audit log", reply);
}
