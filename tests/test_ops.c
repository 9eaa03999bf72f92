/* Integration: the operator's side against a live rxd.  Every rxctl command
 * (the real binary, --json), the audit chain against tampering, a backup
 * taken under load and restored, SIGTERM with requests in flight, and the
 * drug master with the duplicate-medication check: the shipped list loaded
 * with rxctl (a bad file first, refused with its line numbers), a prescriber
 * refused DUPLICATE_MEDICATION with the findings and overriding with a
 * reason, the pharmacy's claim receipt carrying the warnings; and the real
 * rx-clinic and rx-pharmacy with substitution (issue #14): marks on the
 * prescribed items, dispense record files of lines, their local errors and
 * the broker's refusals, and both statuses showing what was handed over;
 * refill and divided prescriptions through the same CLIs (proto/README 5.11):
 * part_days submitted and both parts dispensed, the next use's window shown
 * (opens_at), and a refill's use 2 refused NOT_YET_DUE before it opens;
 * a dispense amended twice and withdrawn (proto/README 5.12) with
 * rx-pharmacy amend and withdraw, every record in both statuses and in FHIR,
 * the use dispensed again under the withdrawal's claim, and another
 * pharmacy refused; a use handed over in three parts (proto/README 5.13)
 * with rx-pharmacy, what is owed in both statuses, RELEASE refused
 * PARTLY_DISPENSED, every part in FHIR. */
#include <check.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "harness.h"
#include "rx_check.h"
#include "rx_ids.h"
#include "testutil.h"

typedef struct {
	harness_t h;
	rx_keypair_t doc, ph, card;
	char patient[RX_PATIENT_ID_LEN + 1];
	rxc_t *cdoc, *cph;
} world_t;

static void world_up(world_t *w)
{
	memset(w, 0, sizeof *w);
	ck_assert_msg(harness_start(&w->h, 0) == 0, "rxd did not start (is $RXD set?)");
	ck_assert_int_eq(harness_key(&w->h, &w->doc, RX_ROLE_PRESCRIBER, "1312345678"), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph, RX_ROLE_PHARMACY, "1398765432"), 0);
	ck_assert_int_eq(harness_enroll(&w->h, "123456789018", w->patient), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient, &w->card), 0);
	w->cdoc = harness_client(&w->h, NULL, &w->doc, 0);
	w->cph = harness_client(&w->h, NULL, &w->ph, 0);
}

static void world_down(world_t *w)
{
	rxc_destroy(&w->cdoc);
	rxc_destroy(&w->cph);
	harness_cleanup(&w->h);
}

/* Submit (valid_until 0: the default) with the card; the id into id. */
static rx_err_t submit(world_t *w, rxc_t *c, int64_t valid_until, char id[RX_ID_LEN + 1])
{
	harness_rx_t sp;
	Rx__Signed card;
	rxc_result_t r;
	char notes[48];
	snprintf(notes, sizeof notes, "ops-%u", (unsigned)randombytes_random());
	int64_t now = (int64_t)time(NULL);
	harness_prescription(&w->doc, "", 1, now, valid_until, notes, &sp);
	harness_assertion(&w->h, &w->card, &w->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	rx_err_t err = rxc_submit(c, NULL, &sp.p, &card, &r);
	if (err == RX_OK)
		strcpy(id, r.receipt->prescription_id);
	rxc_result_free(&r);
	rxc_signed_free(&card);
	return err;
}

static void claim(world_t *w, const char *id)
{
	Rx__Signed card;
	rxc_result_t r;
	harness_assertion(&w->h, &w->card, &w->ph, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	ck_assert_int_eq(rxc_claim(w->cph, NULL, id, &proof, &r), RX_OK);
	rxc_result_free(&r);
	rxc_signed_free(&card);
}

static char out[1 << 20];

/* The real rxctl on the broker's data dir (harness_rxctl); stdout into out. */
#define rxctl(h, ...) harness_rxctl((h), out, sizeof out, __VA_ARGS__)

#define HAS(s) (strstr(out, (s)) != NULL)

START_TEST(every_rxctl_command)
{
	world_t w;
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1], brief[RX_ID_LEN + 1], day[16];
	world_up(&w);
	ck_assert_int_eq(submit(&w, w.cdoc, 0, a), RX_OK);
	ck_assert_int_eq(submit(&w, w.cdoc, 0, b), RX_OK);
	claim(&w, a);
	int64_t now = (int64_t)time(NULL);
	ck_assert_int_eq(submit(&w, w.cdoc, now + 2, brief), RX_OK);

	ck_assert_int_eq(rxctl(&w.h, "status"), 0);
	ck_assert(HAS("\"status\":\"OK\"") && HAS("\"prescriptions\":3") && HAS("\"data_dir_bytes\"") &&
		  HAS("\"requests_per_second\"") && HAS("\"curve_key\""));
	/* health: a real commit; a frozen rxd fails it within --timeout (what a
	 * cluster monitor relies on), and a thawed one passes again. */
	ck_assert_int_eq(rxctl(&w.h, "health"), 0);
	ck_assert(HAS("\"healthy\":true") && HAS("\"commit_us\""));
	ck_assert_int_eq(kill(w.h.pid, SIGSTOP), 0);
	int frozen = rxctl(&w.h, "--timeout 1 health");
	ck_assert_int_eq(kill(w.h.pid, SIGCONT), 0);
	ck_assert_int_eq(frozen, 1);
	ck_assert(HAS("UNREACHABLE"));
	ck_assert_int_eq(rxctl(&w.h, "health"), 0);
	ck_assert_int_eq(rxctl(&w.h, "institution list"), 0);
	ck_assert(HAS("1312345678") && HAS("1398765432"));
	ck_assert_int_eq(rxctl(&w.h, "key list"), 0);
	ck_assert(HAS("\"role\":\"prescriber\"") && HAS("\"role\":\"pharmacy\""));
	ck_assert_int_eq(rxctl(&w.h, "card list"), 0);
	ck_assert(HAS(w.patient));

	/* rx show: state and history, the body only when asked (and audited). */
	ck_assert_int_eq(rxctl(&w.h, "rx show %s", a), 0);
	ck_assert(HAS("\"state\":\"CLAIMED\"") && HAS("\"action\":\"SUBMIT\"") && HAS("\"action\":\"CLAIM\""));
	ck_assert(!HAS("ノルバスク"));
	ck_assert_int_eq(rxctl(&w.h, "rx show %s --body", a), 0);
	ck_assert(HAS("ノルバスク"));
	char ghost[RX_ID_LEN + 1];
	rx_rxid_new(ghost);
	ck_assert_int_eq(rxctl(&w.h, "rx show %s", ghost), 2);
	ck_assert(HAS("\"status\":\"NOT_FOUND\""));
	ck_assert_int_eq(rxctl(&w.h, "rx show 0000-0000-0000"), 2);
	ck_assert(HAS("\"status\":\"INVALID\""));
	ck_assert_int_eq(rxctl(&w.h, "rx list --state CLAIMED"), 0);
	ck_assert(HAS(a) && !HAS(b));

	/* rx release: only with --force and a reason; audited. */
	ck_assert_int_eq(rxctl(&w.h, "rx release %s", a), 2);
	ck_assert_int_eq(rxctl(&w.h, "rx release %s --force --reason 'pharmacy closed for the night'", a), 0);
	ck_assert_int_eq(rxctl(&w.h, "rx release %s --force --reason again", a), 2);
	ck_assert(HAS("\"status\":\"INVALID\""));
	ck_assert_int_eq(rxctl(&w.h, "rx show %s", a), 0);
	ck_assert(HAS("\"state\":\"ISSUED\"") && HAS("pharmacy closed for the night"));

	/* expire: the short one, once its time has passed (polled, not slept). */
	int64_t deadline = harness_ms() + 10000;
	do
		ck_assert_int_eq(rxctl(&w.h, "expire"), 0);
	while (HAS("\"expired\":0") && harness_ms() < deadline);
	ck_assert(HAS("\"expired\":1"));
	ck_assert_int_eq(rxctl(&w.h, "rx list --state EXPIRED"), 0);
	ck_assert(HAS(brief));

	ck_assert_int_eq(rxctl(&w.h, "metrics"), 0);
	ck_assert(HAS("rx_requests_total{op=\\\"SUBMIT\\\",status=\\\"OK\\\"} 3") &&
		  HAS("rx_request_duration_seconds_bucket") && HAS("rx_audit_entries"));
	/* The group commits: some counted, holding the SUBMITs among others. */
	ck_assert(HAS("rx_commit_duration_seconds_bucket{le=\\\"+Inf\\\"}") &&
		  !HAS("rx_commit_duration_seconds_count 0\\n") && !HAS("rx_commit_requests_total 0\\n") &&
		  !HAS("rx_commit_requests_total 1\\n") && !HAS("rx_commit_requests_total 2\\n"));

	ck_assert_int_eq(rxctl(&w.h, "audit tail -n 3"), 0);
	ck_assert_int_eq((int)(strstr(out, "\"seq\"") != NULL), 1);
	int rows = 0;
	for (const char *p = out; (p = strstr(p, "\"seq\"")); p++)
		rows++;
	ck_assert_int_eq(rows, 3);
	ck_assert_int_eq(rxctl(&w.h, "audit patient --patient %s", w.patient), 0);
	ck_assert(HAS("\"action\":\"CARD_ENROLL\"") && HAS("\"action\":\"CLAIM\"") && HAS("\"action\":\"EXPIRE\""));
	time_t t = time(NULL) + 9 * 3600;
	strftime(day, sizeof day, "%Y-%m-%d", gmtime(&t));
	ck_assert_int_eq(rxctl(&w.h, "audit report --day %s", day), 0);
	ck_assert(HAS("\"RX_RELEASE\":1") && HAS("\"EXPIRE\":1"));
	ck_assert_int_eq(rxctl(&w.h, "audit report --day 2026-13-40"), 2);
	ck_assert_int_eq(rxctl(&w.h, "audit verify"), 0);
	ck_assert(HAS("\"ok\":true"));

	char dest[300];
	snprintf(dest, sizeof dest, "%s/backup", w.h.dir);
	ck_assert_int_eq(rxctl(&w.h, "backup %s", dest), 0);
	ck_assert(HAS("\"bytes\":"));
	ck_assert_int_eq(rxctl(&w.h, "backup %s", dest), 2); /* never over a store */
	world_down(&w);
}
END_TEST

/* ---- the audit chain against a test-only tamperer ---- */

/* Open the stopped broker's LMDB and alter or delete audit entry seq. */
static void tamper(const char *dir, uint64_t seq, int delete)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t key[8];
	for (int i = 7; i >= 0; i--)
		key[7 - i] = (uint8_t)(seq >> (8 * i));
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 32), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "audit", 0, &dbi), 0);
	MDB_val k = {8, key}, v;
	if (delete) {
		ck_assert_int_eq(mdb_del(txn, dbi, &k, NULL), 0);
	} else {
		ck_assert_int_eq(mdb_get(txn, dbi, &k, &v), 0);
		uint8_t copy[4096];
		ck_assert_uint_lt(v.mv_size, sizeof copy);
		memcpy(copy, v.mv_data, v.mv_size);
		/* One byte of the action's text ("CLAIM" becomes "CLAIN"): the
		 * entry still decodes; only the chain can tell. */
		uint8_t *p = memmem(copy, v.mv_size, "CLAIM", 5);
		ck_assert_ptr_nonnull(p);
		p[4] ^= 0x03;
		MDB_val nv = {v.mv_size, copy};
		ck_assert_int_eq(mdb_put(txn, dbi, &k, &nv, 0), 0);
	}
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* The seq of the first CLAIM entry, from `audit tail`. */
static uint64_t first_claim_seq(const harness_t *h)
{
	ck_assert_int_eq(rxctl(h, "audit tail -n 1000"), 0);
	const char *p = strstr(out, "\"action\":\"CLAIM\"");
	ck_assert_ptr_nonnull(p);
	while (p > out && strncmp(p, "{\"seq\":", 7) != 0)
		p--;
	return strtoull(p + 7, NULL, 10);
}

START_TEST(audit_detects_tampering)
{
	world_t w;
	char id[RX_ID_LEN + 1], copy[300], cmd[700];
	world_up(&w);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(submit(&w, w.cdoc, 0, id), RX_OK);
		claim(&w, id);
	}
	uint64_t seq = first_claim_seq(&w.h);
	ck_assert_int_eq(rxctl(&w.h, "audit verify"), 0);
	/* SIGTERM signs the head. */
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	snprintf(copy, sizeof copy, "%s.copy", w.h.dir);
	snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", w.h.dir, copy);
	ck_assert_int_eq(system(cmd), 0);
	/* The pseudonym key lives beside the data dir, not in it. */
	ck_assert_int_eq(harness_copy_pseudonym_key(&w.h, copy), 0);

	/* One byte of one entry. */
	tamper(w.h.dir, seq, 0);
	ck_assert_int_eq(harness_restart(&w.h), 0);
	ck_assert_int_eq(rxctl(&w.h, "audit verify"), 2);
	char want[64];
	snprintf(want, sizeof want, "\"first_bad\":%llu", (unsigned long long)seq);
	ck_assert_msg(HAS("\"status\":\"BROKEN\"") && HAS(want), "%s", out);
	harness_cleanup(&w.h);

	/* One entry deleted, in the copy. */
	harness_t h2;
	ck_assert_int_eq(harness_start_in(&h2, copy), 0);
	ck_assert_int_eq(rxctl(&h2, "audit verify"), 0);
	ck_assert(HAS("\"ok\":true"));
	ck_assert_int_eq(harness_stop(&h2, SIGTERM), 0);
	tamper(copy, seq + 1, 1);
	ck_assert_int_eq(harness_start_in(&h2, copy), 0);
	ck_assert_int_eq(rxctl(&h2, "audit verify"), 2);
	snprintf(want, sizeof want, "\"first_bad\":%llu", (unsigned long long)seq + 1);
	ck_assert_msg(HAS(want) && HAS("missing"), "%s", out);
	harness_cleanup(&h2);
	rxc_destroy(&w.cdoc);
	rxc_destroy(&w.cph);
}
END_TEST

/* ---- load: a clinic submitting as fast as rxd commits ---- */

typedef struct {
	world_t *w;
	volatile int stop;
	int timeout_ms;
	int acked, failures;
	char ids[20000][RX_ID_LEN + 1];
} load_t;

static void *load(void *arg)
{
	load_t *l = arg;
	rxc_options_t o = {.timeout_ms = l->timeout_ms ? l->timeout_ms : 20000, .resend_ms = 500};
	rxc_t *c;
	harness_curve_options(&l->w->h, &l->w->doc, &o);
	if (rxc_new(&c, NULL, l->w->h.endpoint, &l->w->doc, &o) != RX_OK) {
		l->failures++;
		return NULL;
	}
	while (!l->stop && l->acked < 20000) {
		char id[RX_ID_LEN + 1];
		rx_err_t err = submit(l->w, c, 0, id);
		if (err == RX_OK) {
			memcpy(l->ids[l->acked], id, sizeof id);
			__atomic_add_fetch(&l->acked, 1, __ATOMIC_SEQ_CST);
		} else if (err != RX_UNREACHABLE || !l->stop) {
			l->failures++;
			break;
		} else {
			break; /* rxd stopped under us: that is the test */
		}
	}
	rxc_destroy(&c);
	return NULL;
}

static void wait_for(load_t *l, int n)
{
	int64_t deadline = harness_ms() + 30000;
	while (__atomic_load_n(&l->acked, __ATOMIC_SEQ_CST) < n && harness_ms() < deadline && !l->failures)
		sched_yield();
	ck_assert_msg(l->acked >= n, "only %d acknowledged (failures %d)", l->acked, l->failures);
}

static int status_ok(rxc_t *c, const char *id)
{
	rxc_result_t r;
	rx_err_t err = rxc_status(c, id, NULL, &r);
	rxc_result_free(&r);
	return err == RX_OK;
}

START_TEST(backup_under_load_restores)
{
	static load_t l;
	world_t w;
	pthread_t th;
	char dest[300];
	world_up(&w);
	memset(&l, 0, sizeof l);
	l.w = &w;
	pthread_create(&th, NULL, load, &l);
	wait_for(&l, 20);
	int before = __atomic_load_n(&l.acked, __ATOMIC_SEQ_CST);
	snprintf(dest, sizeof dest, "%s/backup", w.h.dir);
	ck_assert_int_eq(rxctl(&w.h, "backup %s", dest), 0);
	wait_for(&l, before + 20); /* the load went on while the copy was taken */
	l.stop = 1;
	pthread_join(th, NULL);
	ck_assert_int_eq(l.failures, 0);

	/* Restore: a broker on the copy.  Everything acknowledged before the
	 * backup began is there; the chain is whole; the counts agree. */
	harness_t r;
	ck_assert_int_eq(harness_copy_pseudonym_key(&w.h, dest), 0); /* from the "offline copy" */
	ck_assert_int_eq(harness_start_in(&r, dest), 0);
	ck_assert_int_eq(rxctl(&r, "audit verify"), 0);
	ck_assert_msg(HAS("\"ok\":true"), "%s", out);
	r.inst[0] = w.h.inst[0]; /* the same institutions, keys and curve keys */
	memcpy(r.inst, w.h.inst, sizeof r.inst);
	r.ninst = w.h.ninst;
	memcpy(r.keys, w.h.keys, sizeof r.keys);
	r.nkeys = w.h.nkeys;
	rxc_t *c = harness_client(&r, NULL, &w.doc, 0);
	for (int i = 0; i < before; i++)
		ck_assert_msg(status_ok(c, l.ids[i]), "%s acknowledged before the backup is missing", l.ids[i]);
	Rx__Stats s;
	ck_assert_int_eq(harness_stats(&r, &s), 0);
	ck_assert_uint_ge(s.prescriptions, (uint64_t)before);
	ck_assert_uint_le(s.prescriptions, (uint64_t)l.acked + 1);
	rxc_destroy(&c);
	harness_stop(&r, SIGTERM);
	world_down(&w);
}
END_TEST

START_TEST(sigterm_with_requests_in_flight)
{
	static load_t l[2];
	world_t w;
	pthread_t th[2];
	world_up(&w);
	for (int i = 0; i < 2; i++) {
		memset(&l[i], 0, sizeof l[i]);
		l[i].w = &w;
		l[i].timeout_ms = 3000; /* the request in flight when rxd is gone */
		pthread_create(&th[i], NULL, load, &l[i]);
	}
	wait_for(&l[0], 15);
	wait_for(&l[1], 15);
	/* Each client has a request in flight: they submit back to back. */
	l[0].stop = l[1].stop = 1;
	int64_t t0 = harness_ms();
	int status = harness_stop(&w.h, SIGTERM);
	int64_t took = harness_ms() - t0;
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "rxd did not exit cleanly");
	ck_assert_msg(took < 5000, "rxd took %lld ms to stop", (long long)took);
	for (int i = 0; i < 2; i++) {
		l[i].stop = 1;
		pthread_join(th[i], NULL);
		ck_assert_int_eq(l[i].failures, 0);
	}
	ck_assert_int_eq(harness_restart(&w.h), 0);
	rxc_destroy(&w.cdoc);
	w.cdoc = harness_client(&w.h, NULL, &w.doc, 0);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < l[i].acked; j++)
			ck_assert_msg(status_ok(w.cdoc, l[i].ids[j]), "acknowledged %s lost", l[i].ids[j]);
	/* The head was signed on the way out, and the chain is whole. */
	ck_assert_int_eq(rxctl(&w.h, "audit verify"), 0);
	ck_assert_msg(HAS("\"ok\":true") && !HAS("\"signed_seq\":0"), "%s", out);
	world_down(&w);
}
END_TEST

/* A patient reads their own access log through the patient portal. */
START_TEST(patient_reads_own_log)
{
	world_t w;
	char id[RX_ID_LEN + 1];
	world_up(&w);
	ck_assert_int_eq(submit(&w, w.cdoc, 0, id), RX_OK);
	claim(&w, id);
	harness_inst_t *portal = harness_institution(&w.h, "PORTAL", 3);
	ck_assert_ptr_nonnull(portal);

	/* The card signs the call, through the portal's connection. */
	rxc_t *c = harness_client_curve(&w.h, NULL, &w.card, &portal->curve, 0);
	Rx__Signed a;
	rxc_result_t r;
	ck_assert_int_eq(rxc_card_assertion(&w.card, RX__PURPOSE__PURPOSE_VIEW, "PORTAL", (int64_t)time(NULL), &a),
			 RX_OK);
	ck_assert_int_eq(rxc_log(c, &a, &r), RX_OK);
	ck_assert_str_eq(r.receipt->patient_id, w.patient);
	int submits = 0, claims = 0;
	for (size_t i = 0; i < r.receipt->n_log; i++) {
		submits += strcmp(r.receipt->log[i]->action, "SUBMIT") == 0;
		claims += strcmp(r.receipt->log[i]->action, "CLAIM") == 0 &&
			  strcmp(r.receipt->log[i]->institution_code, "1398765432") == 0;
	}
	ck_assert_int_eq(submits, 1);
	ck_assert_int_eq(claims, 1);
	rxc_result_free(&r);
	/* The same assertion again: a replay. */
	ck_assert_int_eq(rxc_log(c, &a, &r), RX_ASSERTION_REPLAYED);
	rxc_result_free(&r);
	rxc_signed_free(&a);
	rxc_destroy(&c);

	/* Not through a pharmacy's connection. */
	c = harness_client_curve(&w.h, NULL, &w.card, &harness_institution(&w.h, "1398765432", 2)->curve, 0);
	ck_assert_int_eq(rxc_card_assertion(&w.card, RX__PURPOSE__PURPOSE_VIEW, "1398765432",
					    (int64_t)time(NULL), &a),
			 RX_OK);
	ck_assert_int_eq(rxc_log(c, &a, &r), RX_PERMISSION_DENIED);
	rxc_result_free(&r);
	rxc_signed_free(&a);
	rxc_destroy(&c);

	/* Another patient's card cannot read this log by presenting this card:
	 * the call must be signed by the card it presents. */
	rx_keypair_t other;
	char p2[RX_PATIENT_ID_LEN + 1];
	ck_assert_int_eq(harness_enroll(&w.h, "000000000019", p2), 0);
	ck_assert_int_eq(harness_card(&w.h, p2, &other), 0);
	c = harness_client_curve(&w.h, NULL, &other, &portal->curve, 0);
	ck_assert_int_eq(rxc_card_assertion(&w.card, RX__PURPOSE__PURPOSE_VIEW, "PORTAL", (int64_t)time(NULL), &a),
			 RX_OK);
	ck_assert_int_eq(rxc_log(c, &a, &r), RX_ASSERTION_MISMATCH);
	rxc_result_free(&r);
	rxc_signed_free(&a);
	rxc_destroy(&c);
	world_down(&w);
}
END_TEST

/* --metrics serves Prometheus text over HTTP. */
START_TEST(metrics_over_http)
{
	harness_t h;
	ck_assert_int_eq(harness_start_metrics(&h), 0);
	Rx__Stats st;
	ck_assert_int_eq(harness_stats(&h, &st), 0);
	unsigned port = (unsigned)atoi(strrchr(h.metrics, ':') + 1);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	const char *get = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
	ck_assert_int_eq(write(fd, get, strlen(get)), (ssize_t)strlen(get));
	size_t n = 0;
	ssize_t got;
	while (n < sizeof out - 1 && (got = read(fd, out + n, sizeof out - 1 - n)) > 0)
		n += (size_t)got;
	out[n] = '\0';
	close(fd);
	ck_assert_msg(HAS("HTTP/1.0 200 OK") && HAS("rx_lmdb_map_size_bytes") && HAS("rx_uptime_seconds"),
		      "%s", out);
	harness_cleanup(&h);
}
END_TEST

/* Every op 1..11 is counted under its own name: NOMINATE, WATCH and ACK
 * (after LOG in the enum) were once counted as "undecoded". */
START_TEST(metrics_count_every_op)
{
	world_t w;
	rxc_result_t r;
	Rx__Signed a;
	world_up(&w);
	harness_inst_t *portal = harness_institution(&w.h, "PORTAL", 3);
	ck_assert_ptr_nonnull(portal);
	rxc_t *cp = harness_client_curve(&w.h, NULL, &w.card, &portal->curve, 0);
	ck_assert_int_eq(rxc_card_assertion(&w.card, RX__PURPOSE__PURPOSE_NOMINATE, "PORTAL",
					    (int64_t)time(NULL), &a),
			 RX_OK);
	ck_assert_int_eq(rxc_nominate(cp, &a, "1398765432", &r), RX_OK);
	rxc_result_free(&r);
	rxc_signed_free(&a);
	rxc_destroy(&cp);
	ck_assert_int_eq(rxc_watch(w.cph, &r), RX_OK);
	rxc_result_free(&r);
	uint64_t seq = 1;
	ck_assert_int_eq(rxc_ack(w.cph, &seq, 1, &r), RX_OK);
	rxc_result_free(&r);

	ck_assert_int_eq(rxctl(&w.h, "metrics"), 0);
	ck_assert_msg(HAS("rx_requests_total{op=\\\"NOMINATE\\\",status=\\\"OK\\\"} 1") &&
			      HAS("rx_requests_total{op=\\\"WATCH\\\",status=\\\"OK\\\"} 1") &&
			      HAS("rx_requests_total{op=\\\"ACK\\\",status=\\\"OK\\\"} 1") &&
			      HAS("rx_request_duration_seconds_count{op=\\\"ACK\\\"} 1") &&
			      HAS("rx_storage_full 0") && HAS("rx_stored_replies{due=\\\"yes\\\"} 0") &&
			      HAS("rx_lmdb_reserve_bytes") &&
			      !HAS("undecoded"),
		      "%s", out);
	world_down(&w);
}
END_TEST

static int metrics_connect(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* Scrapers that hang up before the reply, and one that asks and never
 * reads, do not hold rxd: its store thread never blocks sending to them
 * (it once did, in zmq_send, for good), so a scrape and the admin socket
 * are still answered. */
START_TEST(metrics_scrapers_cannot_stall_rxd)
{
	harness_t h;
	const char *get = "GET /metrics HTTP/1.0\r\n\r\n";
	ck_assert_int_eq(harness_start_metrics(&h), 0);
	unsigned port = (unsigned)atoi(strrchr(h.metrics, ':') + 1);
	for (int i = 0; i < 300; i++) {
		int fd = metrics_connect(port);
		ck_assert_int_eq(write(fd, get, strlen(get)), (ssize_t)strlen(get));
		close(fd);
	}
	int lazy = metrics_connect(port);
	int small = 1024;
	setsockopt(lazy, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	ck_assert_int_eq(write(lazy, get, strlen(get)), (ssize_t)strlen(get));
	/* More of the same: rxd may have answered the first and closed by now
	 * (HTTP/1.0), and a write then fails with EPIPE; that must not be a
	 * SIGPIPE that kills this test. */
	for (int i = 1; i < 50; i++)
		(void)send(lazy, get, strlen(get), MSG_NOSIGNAL);

	int fd = metrics_connect(port);
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ck_assert_int_eq(write(fd, get, strlen(get)), (ssize_t)strlen(get));
	size_t n = 0;
	ssize_t got;
	while (n < sizeof out - 1 && (got = read(fd, out + n, sizeof out - 1 - n)) > 0)
		n += (size_t)got;
	out[n] = '\0';
	close(fd);
	ck_assert_msg(HAS("HTTP/1.0 200 OK") && HAS("rx_uptime_seconds"), "no scrape answered: %s", out);
	Rx__Stats st;
	ck_assert_int_eq(harness_stats(&h, &st), 0);
	close(lazy);
	harness_cleanup(&h);
}
END_TEST

/* ---- the drug master and the duplicate-medication check ---- */

typedef struct {
	const char *code, *name;
	uint32_t days;
} drug_t;

/* Submit these drugs for the card's patient, with an override reason or
 * NULL; the result is the caller's (rxc_result_free). */
static rx_err_t prescribe(world_t *w, const drug_t *d, size_t n, const char *override, rxc_result_t *r)
{
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	Rx__Item its[4], *ptrs[4];
	Rx__Signed card;
	char notes[32];
	ck_assert_uint_le(n, 4);
	for (size_t i = 0; i < n; i++) {
		rx__item__init(&its[i]);
		its[i].drug_code = (char *)d[i].code;
		its[i].name = (char *)d[i].name;
		its[i].dose = (char *)"1 tablet";
		its[i].unit = (char *)"tablet";
		its[i].usage = (char *)"once daily after breakfast";
		its[i].days = d[i].days;
		its[i].quantity = d[i].days;
		ptrs[i] = &its[i];
	}
	snprintf(notes, sizeof notes, "drugs-%u", (unsigned)randombytes_random());
	p.version = RX_DOC_VERSION;
	p.prescriber_key.data = w->doc.pk;
	p.prescriber_key.len = RX_KEY_LEN;
	p.issued_at = (int64_t)time(NULL);
	p.valid_until = rx_valid_until(p.issued_at, 4);
	p.uses = 1;
	p.n_items = n;
	p.items = ptrs;
	p.notes = notes;
	p.override_reason = (char *)(override ? override : "");
	harness_assertion(&w->h, &w->card, &w->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	rx_err_t err = rxc_submit(w->cdoc, NULL, &p, &card, r);
	rxc_signed_free(&card);
	return err;
}

static const drug_t amlodipine[] = {{"2171022F2025", "ノルバスク錠５ｍｇ", 28}};
static const drug_t combination[] = {{"2189017F1022", "クレストール錠２．５ｍｇ", 28},
				     {"2149117F1025", "ミカムロ配合錠ＡＰ", 28}};
/* A well-formed code (right check digit) that is on no price list. */
static const drug_t unlisted[] = {{"3999001F1018", "not on the list", 7}};

START_TEST(duplicate_refused_overridden_and_warned_at_claim)
{
	world_t w;
	rxc_result_t r;
	char bad[512], first[RX_ID_LEN + 1], combo[RX_ID_LEN + 1];
	world_up(&w);

	/* A bad file is refused whole, each bad line named; nothing is loaded. */
	snprintf(bad, sizeof bad, "%s/bad.csv", w.h.dir);
	FILE *f = fopen(bad, "w");
	ck_assert_ptr_nonnull(f);
	fputs("yj_code,name_ja,name_en,ingredient,strength,unit,dosage_form\n"
	      "2171022F2025,ノルバスク錠５ｍｇ,Amlodipine 5 mg,amlodipine besilate,５ｍｇ,錠,tablet\n"
	      "2171022F2020,wrong check digit,,amlodipine besilate,,錠,tablet\n",
	      f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rxctl(&w.h, "drugs load '%s'", bad), 2);
	ck_assert(HAS("\"status\":\"INVALID\"") && HAS("\"line\":3") && HAS("check digit") && !HAS("\"line\":2"));
	ck_assert_int_eq(rxctl(&w.h, "drugs info"), 0);
	ck_assert(HAS("\"drugs\":0") && HAS("\"check\":false"));

	/* Without a master the check is off: the same drug twice is accepted. */
	ck_assert_int_eq(prescribe(&w, amlodipine, 1, NULL, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->n_warnings, 0);
	rxc_result_free(&r);

	/* The shipped list. */
	ck_assert_int_eq(rxctl(&w.h, "drugs load '%s'", getenv("DRUGS_CSV")), 0);
	ck_assert(HAS("\"status\":\"OK\"") && HAS("\"drugs\":301"));
	ck_assert_int_eq(rxctl(&w.h, "drugs show 2149117F1025"), 0);
	ck_assert(HAS("\"components\":[\"telmisartan\",\"amlodipine\"]"));
	ck_assert_int_eq(rxctl(&w.h, "status"), 0);
	ck_assert(HAS("\"drugs\":301"));
	ck_assert_int_eq(rxctl(&w.h, "audit tail -n 30"), 0);
	ck_assert(HAS("\"action\":\"DRUGS_LOAD\"") && HAS("301 drugs"));

	/* The earlier amlodipine is open: a second one is a duplicate now. */
	ck_assert_int_eq(prescribe(&w, amlodipine, 1, NULL, &r), RX_DUPLICATE_MEDICATION);
	ck_assert_uint_eq(r.reply->n_warnings, 1);
	snprintf(first, sizeof first, "%s", r.reply->warnings[0]->other_prescription_id);
	rxc_result_free(&r);

	/* The combination tablet: refused, with the finding on the wire. */
	ck_assert_int_eq(prescribe(&w, combination, 2, NULL, &r), RX_DUPLICATE_MEDICATION);
	ck_assert_ptr_null(r.receipt);
	ck_assert_uint_eq(r.reply->n_warnings, 1);
	const Rx__Warning *wn = r.reply->warnings[0];
	ck_assert_int_eq(wn->kind, RX__WARNING_KIND__DUPLICATE_INGREDIENT);
	ck_assert_uint_eq(wn->item, 1);
	ck_assert_str_eq(wn->drug_code, "2149117F1025");
	ck_assert_str_eq(wn->other_prescription_id, first);
	ck_assert_str_eq(wn->other_drug_code, "2171022F2025");
	ck_assert_str_eq(wn->ingredient, "amlodipine");
	ck_assert_uint_eq(wn->overlap_days, 28);
	ck_assert_ptr_nonnull(strstr(r.message, "override"));
	rxc_result_free(&r);

	/* With a reason: accepted, the findings in the signed receipt. */
	ck_assert_int_eq(prescribe(&w, combination, 2, "stop amlodipine alone; combination from today", &r),
			 RX_OK);
	snprintf(combo, sizeof combo, "%s", r.receipt->prescription_id);
	ck_assert_uint_eq(r.receipt->n_warnings, 1);
	ck_assert_str_eq(r.receipt->warnings[0]->other_prescription_id, first);
	rxc_result_free(&r);
	ck_assert_int_eq(rxctl(&w.h, "rx show %s", combo), 0);
	ck_assert(HAS("overridden") && !HAS("stop amlodipine"));
	ck_assert_int_eq(rxctl(&w.h, "rx show %s --body", combo), 0);
	ck_assert(HAS("\"override_reason\":\"stop amlodipine alone; combination from today\""));

	/* The pharmacy claims it: never refused, the warnings on its receipt. */
	Rx__Signed card;
	harness_assertion(&w.h, &w.card, &w.ph, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	ck_assert_int_eq(rxc_claim(w.cph, NULL, combo, &proof, &r), RX_OK);
	ck_assert_uint_ge(r.receipt->n_warnings, 1);
	int found = 0;
	for (size_t i = 0; i < r.receipt->n_warnings; i++)
		found |= strcmp(r.receipt->warnings[i]->other_prescription_id, first) == 0 &&
			 strcmp(r.receipt->warnings[i]->ingredient, "amlodipine") == 0;
	ck_assert(found);
	rxc_result_free(&r);
	rxc_signed_free(&card);

	/* A code the master does not know: accepted with a warning. */
	ck_assert_int_eq(prescribe(&w, unlisted, 1, NULL, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->n_warnings, 1);
	ck_assert_int_eq(r.receipt->warnings[0]->kind, RX__WARNING_KIND__UNKNOWN_DRUG);
	ck_assert_str_eq(r.receipt->warnings[0]->drug_code, "3999001F1018");
	rxc_result_free(&r);

	/* The log says what happened, never what was prescribed or why. */
	char log[300];
	snprintf(log, sizeof log, "%s/rxd.log", w.h.dir);
	f = fopen(log, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(out, 1, sizeof out - 1, f);
	out[n] = '\0';
	fclose(f);
	ck_assert(HAS("status=DUPLICATE_MEDICATION") && HAS("admin_op=DRUGS_LOAD"));
	ck_assert(!HAS("amlodipine") && !HAS("2149117F1025") && !HAS("combination from today"));
	world_down(&w);
}
END_TEST

/* One admin request; its status (the reply is the caller's), -1 if none came. */
static int admin(world_t *w, const Rx__AdminRequest *q, Rx__AdminReply **r)
{
	if (harness_admin(&w->h, q, r) != 0)
		return -1;
	return (int)(*r)->status;
}

START_TEST(drugs_admin_refusals)
{
	world_t w;
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	Rx__DrugInfo d = RX__DRUG_INFO__INIT, *rows[1] = {&d};
	uint8_t load_id[16] = {1};
	world_up(&w);

	/* Rows from a hostile admin client are checked as rxctl checks them. */
	q.op = RX__ADMIN_OP__DRUGS_LOAD;
	q.drugs = rows;
	q.n_drugs = 1;
	q.load_commit = 1;
	q.load_rows = 1;
	d.code = (char *)"2171022F2025";
	d.name_ja = (char *)"ノルバスク錠５ｍｇ";
	d.ingredient = (char *)"amlodipine besilate";
	ck_assert_int_eq(admin(&w, &q, &r), RX_INVALID); /* no load id */
	rx__admin_reply__free_unpacked(r, NULL);
	q.load_id.data = load_id;
	q.load_id.len = sizeof load_id;
	d.code = (char *)"2171022F2020";
	ck_assert_int_eq(admin(&w, &q, &r), RX_INVALID);
	ck_assert_ptr_nonnull(strstr(r->message, "row 1"));
	rx__admin_reply__free_unpacked(r, NULL);
	d.code = (char *)"2171022F2025";
	d.ingredient = (char *)"";
	ck_assert_int_eq(admin(&w, &q, &r), RX_INVALID);
	rx__admin_reply__free_unpacked(r, NULL);
	d.ingredient = (char *)"amlodipine besilate";
	q.load_rows = 2; /* announces a row that never came */
	ck_assert_int_eq(admin(&w, &q, &r), RX_INVALID);
	rx__admin_reply__free_unpacked(r, NULL);
	/* The same code twice in one load. */
	Rx__DrugInfo *twice[2] = {&d, &d};
	q.drugs = twice;
	q.n_drugs = 2;
	load_id[0] = 2;
	ck_assert_int_eq(admin(&w, &q, &r), RX_CONFLICT);
	ck_assert_ptr_nonnull(strstr(r->message, "2171022F2025"));
	rx__admin_reply__free_unpacked(r, NULL);
	q.drugs = rows;
	q.n_drugs = 1;
	q.load_rows = 1;
	load_id[0] = 3;
	ck_assert_int_eq(admin(&w, &q, &r), RX_OK);
	ck_assert_uint_eq(r->drugs_count, 1);
	rx__admin_reply__free_unpacked(r, NULL);

	/* DRUGS_SHOW: a malformed code, a code not in the master. */
	Rx__AdminRequest s = RX__ADMIN_REQUEST__INIT;
	s.op = RX__ADMIN_OP__DRUGS_SHOW;
	static const char *const malformed[] = {"217", "2171022F20250", "2171022f2025", "2171 022"};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		s.drug_code = (char *)malformed[i];
		ck_assert_msg(admin(&w, &s, &r) == RX_INVALID, "%s", malformed[i]);
		rx__admin_reply__free_unpacked(r, NULL);
	}
	s.drug_code = (char *)"2149117F1025";
	ck_assert_int_eq(admin(&w, &s, &r), RX_NOT_FOUND);
	rx__admin_reply__free_unpacked(r, NULL);
	ck_assert_int_eq(rxctl(&w.h, "drugs show 2171"), 0);
	ck_assert(HAS("\"code\":\"2171022F2025\"") && HAS("\"components\":[\"amlodipine\"]"));
	world_down(&w);
}
END_TEST

/* ---- the CLIs: substitution marks and dispense lines (issue #14) ---- */

#define CLINIC "1312345678"
#define PHARMACY "1398765432"

/* Where the CLIs run: key files, curve files and JSON inside the data dir's
 * cli/ (removed with it), and rxd's curve key for --server-key. */
typedef struct {
	char dir[300];
	char server[RX_Z85_LEN + 1];
} cli_t;

static void cli_write(const cli_t *cl, const char *name, const char *text)
{
	char path[400];
	snprintf(path, sizeof path, "%s/%s", cl->dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
}

/* A key file (the seed, hex) for kp in cl's dir. */
static void cli_key_file(const cli_t *cl, const char *file, const rx_keypair_t *kp)
{
	char hex[2 * RX_SEED_LEN + 2];
	rx_hex(kp->sk, RX_SEED_LEN, hex); /* libsodium's secret key starts with the seed */
	strcat(hex, "\n");
	cli_write(cl, file, hex);
}

/* NAME.key for kp and NAME.curve, the curve key of institution code (kind
 * 1 a clinic, 2 a pharmacy; made if it is new), in cl's dir. */
static void cli_key_files(world_t *w, const cli_t *cl, const char *name, const rx_keypair_t *kp,
			  const char *code, int kind)
{
	char text[128], pub[RX_Z85_LEN + 1], sec[RX_Z85_LEN + 1], file[64];
	harness_inst_t *in = harness_institution(&w->h, code, kind);
	ck_assert_ptr_nonnull(in);
	snprintf(file, sizeof file, "%s.key", name);
	cli_key_file(cl, file, kp);
	rx_z85_encode(in->curve.pk, pub);
	rx_z85_encode(in->curve.sk, sec);
	snprintf(text, sizeof text, "public = %s\nsecret = %s\n", pub, sec);
	snprintf(file, sizeof file, "%s.curve", name);
	cli_write(cl, file, text);
}

static void cli_up(world_t *w, cli_t *cl)
{
	snprintf(cl->dir, sizeof cl->dir, "%s/cli", w->h.dir);
	ck_assert_int_eq(mkdir(cl->dir, 0700), 0);
	cli_key_files(w, cl, "doc", &w->doc, CLINIC, 1);
	cli_key_files(w, cl, "ph", &w->ph, PHARMACY, 2);
	cli_key_file(cl, "hanako.card", &w->card);
	rx_z85_encode(w->h.server_key, cl->server);
}

/* Run the real rx-clinic ("doc") or rx-pharmacy ("ph") in cl's dir with
 * who's connection options and args; stdout into out.  Its exit status. */
static int cli(const world_t *w, const cli_t *cl, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int cli(const world_t *w, const cli_t *cl, const char *who, const char *fmt, ...)
{
	char args[1024], cmd[4096];
	const char *tool = getenv(strcmp(who, "doc") == 0 ? "RX_CLINIC" : "RX_PHARMACY");
	va_list ap;
	ck_assert_msg(tool != NULL, "$RX_CLINIC and $RX_PHARMACY must name the CLIs");
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd,
		 "cd '%s' && '%s' --broker '%s' --key %s.key --curve-key %s.curve --server-key '%s' %s "
		 "2>/dev/null",
		 cl->dir, tool, w->h.endpoint, who, who, cl->server, args);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The string value of "key" in the compact JSON in out, into buf. */
static const char *field(const char *key, char *buf, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":\"", key);
	const char *p = strstr(out, pat), *e;
	ck_assert_msg(p != NULL, "no \"%s\" in %s", key, out);
	p += strlen(pat);
	e = strchr(p, '"');
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_lt((size_t)(e - p), cap);
	memcpy(buf, p, (size_t)(e - p));
	buf[e - p] = '\0';
	return buf;
}

#define ITEM(code, name, extra)                                                                  \
	"{\"drug_code\":\"" code "\",\"name\":\"" name "\",\"dose\":\"1 tablet\",\"unit\":\"tablet\"," \
	"\"usage\":\"once daily after breakfast\",\"days\":28,\"quantity\":28" extra "}"
#define NORVASC ITEM("2171022F1029", "ノルバスク錠２．５ｍｇ", ",\"no_strength_change\":true")
#define CRESTOR ITEM("2189017F1022", "クレストール錠２．５ｍｇ", ",\"no_change\":true,\"medical_necessity\":true")
#define AMLODIPINE ITEM("2171022F1010", "アムロジピンベシル酸塩２．５ｍｇ錠", "")
/* What the status of the dispense below must show, as printed (compact). */
#define LINE1 "{\"item\":1,\"outcome\":\"substituted\",\"reason\":\"generic\",\"handed\":" AMLODIPINE "}"
#define LINE2 "{\"item\":2,\"outcome\":\"as_written\",\"handed\":" ITEM("2189017F1022", "クレストール錠２．５ｍｇ", "") "}"

/* rx-clinic submit with marks, rx-pharmacy dispense from a record file of
 * lines (local errors for a file the pharmacist must fix, the broker's
 * SUBSTITUTION_NOT_ALLOWED and DIFFERENT_INGREDIENT with its message, a
 * generic substituted, an unknown product's warning), and both statuses
 * showing the marks and the lines. */
START_TEST(cli_dispense_lines)
{
	world_t w;
	cli_t cl;
	char id[RX_ID_LEN + 1], id2[RX_ID_LEN + 1], claim_tok[40], unknown[13] = "1149019F1990", want[512];
	world_up(&w);
	cli_up(&w, &cl);
	ck_assert_int_eq(rxctl(&w.h, "drugs load '%s'", getenv("DRUGS_CSV")), 0);

	/* Marks that cannot be: refused before anything is signed. */
	cli_write(&cl, "bad-mark.json", "{\"items\":[" ITEM("2171022F1029", "x", ",\"medical_necessity\":true") "]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit bad-mark.json"), 1);
	ck_assert_msg(HAS("item 1: \\\"medical_necessity\\\"") && HAS("no_change"), "%s", out);
	cli_write(&cl, "bad-mark2.json", "{\"items\":[" ITEM("2171022F1029", "x", ",\"no_change\":\"yes\"") "]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit bad-mark2.json"), 1);
	ck_assert_msg(HAS("\\\"no_change\\\" must be true or false"), "%s", out);

	cli_write(&cl, "rx.json", "{\"items\":[" NORVASC "," CRESTOR "]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit rx.json"), 0);
	field("id", id, sizeof id);
	ck_assert_int_eq(cli(&w, &cl, "doc", "status %s", id), 0);
	ck_assert_msg(HAS("\"items\":[" NORVASC "," CRESTOR "]") && HAS("\"dispenses\":[]"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "--card hanako.card --institution " PHARMACY " claim %s", id), 0);
	field("claim", claim_tok, sizeof claim_tok);

	/* Record files the pharmacist must fix: exit 1, the line named,
	 * nothing sent. */
	cli_write(&cl, "legacy.json", "{\"items\":[" AMLODIPINE "," CRESTOR "]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s legacy.json", id, claim_tok), 1);
	ck_assert_msg(HAS("\"status\":\"SYSTEM\"") && HAS("old record format") && HAS("\\\"lines\\\""), "%s", out);
	cli_write(&cl, "missing.json", "{\"lines\":[{\"item\":1,\"outcome\":\"substituted\",\"reason\":\"generic\","
				       "\"handed\":" AMLODIPINE "}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s missing.json", id, claim_tok), 1);
	ck_assert_msg(HAS("item 2 (2189017F1022) has no line"), "%s", out);
	cli_write(&cl, "twice.json", "{\"lines\":[{\"item\":1,\"outcome\":\"as_written\"},"
				     "{\"item\":1,\"outcome\":\"as_written\"}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s twice.json", id, claim_tok), 1);
	ck_assert_msg(HAS("line 2: item 1 already has line 1"), "%s", out);
	cli_write(&cl, "outcome.json", "{\"lines\":[{\"item\":1,\"outcome\":\"swapped\"},"
				       "{\"item\":2,\"outcome\":\"as_written\"}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s outcome.json", id, claim_tok), 1);
	ck_assert_msg(HAS("line 1: \\\"outcome\\\" must be"), "%s", out);
	cli_write(&cl, "noreason.json", "{\"lines\":[{\"item\":1,\"outcome\":\"as_written\"},"
					"{\"item\":2,\"outcome\":\"not_dispensed\"}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s noreason.json", id, claim_tok), 1);
	ck_assert_msg(HAS("line 2: a not_dispensed line needs a \\\"reason\\\""), "%s", out);
	cli_write(&cl, "broken.json", "{\"lines\": [");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s broken.json", id, claim_tok), 1);
	ck_assert_msg(HAS("broken.json:1"), "%s", out);

	/* The broker's refusals, with its message naming the item. */
	cli_write(&cl, "no-change.json", "{\"lines\":[{\"item\":1,\"outcome\":\"as_written\"},"
					 "{\"item\":2,\"outcome\":\"substituted\",\"reason\":\"generic\",\"handed\":"
					 ITEM("2189017F1014", "ロスバスタチンカルシウム２．５ｍｇ錠", "") "}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s no-change.json", id, claim_tok), 2);
	ck_assert_msg(HAS("\"status\":\"SUBSTITUTION_NOT_ALLOWED\"") && HAS("item 2"), "%s", out);
	cli_write(&cl, "other.json", "{\"lines\":[{\"item\":1,\"outcome\":\"substituted\",\"reason\":\"out_of_stock\","
				     "\"handed\":" ITEM("1149019F1013", "ロキソプロフェンナトリウム６０ｍｇ錠", "") "},"
				     "{\"item\":2,\"outcome\":\"as_written\"}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s other.json", id, claim_tok), 2);
	ck_assert_msg(HAS("\"status\":\"DIFFERENT_INGREDIENT\"") && HAS("item 1"), "%s", out);

	/* A generic for item 1 (same strength, as its mark asks), item 2 as
	 * written: accepted. */
	cli_write(&cl, "generic.json", "{\"lines\":[" LINE1 ",{\"item\":2,\"outcome\":\"as_written\"}],"
				       "\"notes\":\"generic for item 1\"}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s generic.json", id, claim_tok), 0);
	ck_assert_msg(HAS("\"status\":\"OK\"") && HAS("\"state\":\"DISPENSED\"") && HAS("\"use\":1") &&
			      !HAS("\"warnings\""),
		      "%s", out);

	/* Both sides, for the prescriber and the pharmacist: the items with
	 * their marks, the lines, the handed items without them. */
	snprintf(want, sizeof want, "\"lines\":[" LINE1 "," LINE2 "],\"notes\":\"generic for item 1\"");
	ck_assert_int_eq(cli(&w, &cl, "doc", "status %s", id), 0);
	ck_assert_msg(HAS("\"items\":[" NORVASC "," CRESTOR "]") && HAS("\"dispenses\":[{\"use\":1,") &&
			      HAS("\"institution\":\"" PHARMACY "\"") && HAS(want),
		      "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s", id), 0);
	ck_assert_msg(!HAS("\"lines\"") && !HAS("\"items\""), "without --body: %s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s --body", id), 0);
	ck_assert_msg(HAS("\"items\":[" NORVASC "," CRESTOR "]") && HAS(want), "%s", out);

	/* A substitute the master does not list: accepted, with its warning
	 * printed as a submit's are. */
	while (rx_drug_code_valid(unknown) != RX_OK)
		unknown[11]++;
	cli_write(&cl, "rx2.json", "{\"items\":[" ITEM("1149019F1560", "ロキソニン錠６０ｍｇ", "") "]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit rx2.json"), 0);
	field("id", id2, sizeof id2);
	ck_assert_int_eq(cli(&w, &cl, "ph", "--card hanako.card --institution " PHARMACY " claim %s", id2), 0);
	field("claim", claim_tok, sizeof claim_tok);
	snprintf(want, sizeof want,
		 "{\"lines\":[{\"item\":1,\"outcome\":\"substituted\",\"reason\":\"out_of_stock\",\"handed\":"
		 "{\"drug_code\":\"%s\",\"name\":\"loxoprofen 60 mg\",\"dose\":\"1 tablet\",\"unit\":\"tablet\","
		 "\"usage\":\"after meals\",\"days\":5,\"quantity\":15}}]}",
		 unknown);
	cli_write(&cl, "unknown.json", want);
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s unknown.json", id2, claim_tok), 0);
	snprintf(want, sizeof want, "\"warnings\":[{\"kind\":\"UNKNOWN_DRUG\",\"item\":0,\"drug_code\":\"%s\"",
		 unknown);
	ck_assert_msg(HAS("\"status\":\"OK\"") && HAS(want), "%s", out);
	world_down(&w);
}
END_TEST

/* The Japan date days after the one an ISO time printed by the CLIs names
 * ("2026-11-26T10:00:00+09:00": its first 10 characters), as YYYY-MM-DD. */
static void jst_date_plus(const char *iso, int days, char out[16])
{
	struct tm tm = {0};
	ck_assert_msg(sscanf(iso, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) == 3, "%s", iso);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm) + (time_t)days * 86400;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

#define ITEM_DAYS(code, name, days)                                                              \
	"{\"drug_code\":\"" code "\",\"name\":\"" name "\",\"dose\":\"1 tablet\",\"unit\":\"tablet\"," \
	"\"usage\":\"once daily after breakfast\",\"days\":" #days ",\"quantity\":" #days "}"

/* rx-clinic submit with "part_days" (local errors for one part, or "uses"
 * that disagree), both parts claimed and dispensed with rx-pharmacy, the
 * window of part 2 shown; a refill of 3 uses of 30 days whose use 2 is
 * refused NOT_YET_DUE right after use 1, naming the day it opens. */
START_TEST(cli_refill_and_divided)
{
	world_t w;
	cli_t cl;
	char id[RX_ID_LEN + 1], refill[RX_ID_LEN + 1], claim_tok[40], at[40], day[16], want[128];
	world_up(&w);
	cli_up(&w, &cl);

	/* Parts that cannot be: refused before anything is signed. */
	cli_write(&cl, "one-part.json", "{\"part_days\":[14],\"items\":[" ITEM_DAYS("2171022F2025", "ノルバスク錠５ｍｇ", 14) "]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit one-part.json"), 1);
	ck_assert_msg(HAS("\"status\":\"SYSTEM\"") && HAS("part_days") && HAS("2..3"), "%s", out);
	cli_write(&cl, "uses-parts.json", "{\"uses\":3,\"part_days\":[7,7],\"items\":["
					  ITEM_DAYS("2171022F2025", "ノルバスク錠５ｍｇ", 14) "]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit uses-parts.json"), 1);
	ck_assert_msg(HAS("\\\"uses\\\" is 3 but \\\"part_days\\\" has 2 parts"), "%s", out);
	cli_write(&cl, "zero-part.json", "{\"part_days\":[1,0],\"items\":[" ITEM_DAYS("2171022F2025", "ノルバスク錠５ｍｇ", 14) "]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit zero-part.json"), 1);
	ck_assert_msg(HAS("\\\"part_days\\\"[1] must be"), "%s", out);

	/* Divided in parts of 1 and 2 days: part 2 is due the day after part 1
	 * and opens 7 days before that, so at once on the real clock. */
	cli_write(&cl, "divided.json", "{\"part_days\":[1,2],\"items\":[" ITEM_DAYS("2171022F2025", "ノルバスク錠５ｍｇ", 3) "]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit divided.json"), 0);
	ck_assert_msg(HAS("\"uses\":2") && HAS("\"uses_left\":2") && !HAS("\"opens_at\""), "%s", out);
	field("id", id, sizeof id);
	ck_assert_int_eq(cli(&w, &cl, "doc", "status %s", id), 0);
	ck_assert_msg(HAS("\"part_days\":[1,2]"), "%s", out);
	for (int use = 1; use <= 2; use++) {
		ck_assert_int_eq(cli(&w, &cl, "ph", "--card hanako.card --institution " PHARMACY " claim %s", id), 0);
		snprintf(want, sizeof want, "\"use\":%d", use);
		ck_assert_msg(HAS(want), "%s", out);
		field("claim", claim_tok, sizeof claim_tok);
		ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s", id, claim_tok), 0);
		ck_assert_msg(HAS(want), "%s", out);
		if (use == 2)
			break;
		/* Part 2's window: from 7 days before the day after part 1's dispense. */
		ck_assert_msg(HAS("\"state\":\"ISSUED\"") && HAS("\"uses_left\":1"), "%s", out);
		field("at", at, sizeof at);
		jst_date_plus(at, 1 - RX_REFILL_SLACK_DAYS, day);
		ck_assert_int_eq(cli(&w, &cl, "ph", "--card hanako.card --institution " PHARMACY " status %s --body", id), 0);
		snprintf(want, sizeof want, "\"opens_at\":\"%sT00:00:00+09:00\"", day);
		ck_assert_msg(HAS(want) && HAS("\"part_days\":[1,2]"), "want %s: %s", want, out);
	}
	ck_assert_msg(HAS("\"state\":\"DISPENSED\"") && HAS("\"uses_left\":0"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "doc", "status %s", id), 0);
	ck_assert_msg(HAS("\"state\":\"DISPENSED\"") && HAS("\"dispenses\":[{\"use\":1,") && HAS("{\"use\":2,"),
		      "%s", out);

	/* A refill of 3 uses of 30 days: use 2 is due 30 days after use 1 and
	 * opens 7 days before; claimed at once it is refused, naming the day. */
	cli_write(&cl, "refill.json", "{\"uses\":3,\"items\":[" ITEM_DAYS("2189017F1022", "クレストール錠２．５ｍｇ", 30) "]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit refill.json"), 0);
	field("id", refill, sizeof refill);
	ck_assert_int_eq(cli(&w, &cl, "ph", "--card hanako.card --institution " PHARMACY " claim %s", refill), 0);
	field("claim", claim_tok, sizeof claim_tok);
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s", refill, claim_tok), 0);
	ck_assert_msg(HAS("\"use\":1") && HAS("\"uses_left\":2"), "%s", out);
	field("at", at, sizeof at);
	jst_date_plus(at, 30 - RX_REFILL_SLACK_DAYS, day);
	ck_assert_int_eq(cli(&w, &cl, "ph", "--card hanako.card --institution " PHARMACY " claim %s", refill), 2);
	snprintf(want, sizeof want, "use 2 of this prescription opens on %s (Japan time)", day);
	ck_assert_msg(HAS("\"status\":\"NOT_YET_DUE\"") && HAS(want), "want %s: %s", want, out);
	/* Where the pharmacist and the prescriber see when it opens. */
	snprintf(want, sizeof want, "\"opens_at\":\"%sT00:00:00+09:00\"", day);
	ck_assert_int_eq(cli(&w, &cl, "ph", "--card hanako.card --institution " PHARMACY " list"), 0);
	ck_assert_msg(HAS(refill) && HAS(want), "want %s: %s", want, out);
	ck_assert_int_eq(cli(&w, &cl, "doc", "status %s", refill), 0);
	ck_assert_msg(HAS(want) && HAS("\"state\":\"ISSUED\"") && !HAS("part_days"), "want %s: %s", want, out);
	world_down(&w);
}
END_TEST

/* How often needle occurs in out. */
static int count_of(const char *needle)
{
	int n = 0;
	for (const char *p = strstr(out, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The dispense records of id as the library verifies them (rxc_status by
 * c, a key that may read it): n of them, each record's replaces the hash of the
 * body before it in its use, or empty where a DISPENSE began it. */
static void assert_chain(rxc_t *c, const char *id, size_t n)
{
	rxc_result_t r;
	ck_assert_int_eq(rxc_status(c, id, NULL, &r), RX_OK);
	ck_assert_uint_eq(r.n_dispenses, n);
	for (size_t i = 0; i < n; i++) {
		const Rx__DispenseRecord *d = r.dispenses[i];
		if (i == 0 || r.dispenses[i - 1]->withdraw_reason) {
			ck_assert_uint_eq(d->replaces.len, 0);
			continue;
		}
		const Rx__Signed *prev = r.reply->dispenses[i - 1]->record;
		uint8_t h[RX_HASH_LEN];
		rx_hash(prev->body.data, prev->body.len, h);
		ck_assert_uint_eq(d->replaces.len, RX_HASH_LEN);
		ck_assert_msg(memcmp(d->replaces.data, h, RX_HASH_LEN) == 0, "record %zu replaces another", i + 1);
		ck_assert_uint_eq(d->use, r.reply->dispenses[i]->use);
	}
	rxc_result_free(&r);
}

#define OTHER_PHARMACY "1398765440"
/* Item 1 handed over as written: the prescribed item without its mark. */
#define ASW1 "{\"item\":1,\"outcome\":\"as_written\",\"handed\":" ITEM("2171022F1029", "ノルバスク錠２．５ｍｇ", "") "}"
#define LEFT2 "{\"item\":2,\"outcome\":\"not_dispensed\",\"reason\":\"leftover\"}"

/* rx-pharmacy amend and withdraw (issue #14, proto/README 5.12): local
 * errors first (nothing dispensed yet, a bad record file, a bad reason);
 * the dispense as written amended to a generic for item 1, then amended
 * again, each status listing every record with all but the last
 * superseded; withdrawn as not collected, the prescription CLAIMED by the
 * pharmacy under the new token, dispensed again with it; FHIR saying
 * entered-in-error and cancelled; another pharmacy's withdraw refused
 * PERMISSION_DENIED (at the STATUS without the patient, at the WITHDRAW
 * with the card) and another key of the same pharmacy allowed with the
 * card. */
START_TEST(cli_amend_and_withdraw)
{
	world_t w;
	cli_t cl;
	rx_keypair_t other, colleague;
	char id[RX_ID_LEN + 1], claim_tok[40], claim2[40], want[1024];
	world_up(&w);
	cli_up(&w, &cl);
	ck_assert_int_eq(rxctl(&w.h, "drugs load '%s'", getenv("DRUGS_CSV")), 0);
	ck_assert_int_eq(harness_key(&w.h, &other, RX_ROLE_PHARMACY, OTHER_PHARMACY), 0);
	cli_key_files(&w, &cl, "ph2", &other, OTHER_PHARMACY, 2);
	ck_assert_int_eq(harness_key(&w.h, &colleague, RX_ROLE_PHARMACY, PHARMACY), 0);
	cli_key_files(&w, &cl, "phb", &colleague, PHARMACY, 2);

	cli_write(&cl, "rx.json", "{\"items\":[" NORVASC "," CRESTOR "]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit rx.json"), 0);
	field("id", id, sizeof id);
	ck_assert_int_eq(cli(&w, &cl, "ph", "--card hanako.card --institution " PHARMACY " claim %s", id), 0);
	field("claim", claim_tok, sizeof claim_tok);

	/* Nothing dispensed yet: nothing to amend or withdraw, said locally. */
	cli_write(&cl, "generic.json", "{\"lines\":[" LINE1 ",{\"item\":2,\"outcome\":\"as_written\"}],"
				       "\"notes\":\"generic for item 1, not the brand\"}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "amend %s generic.json", id), 1);
	ck_assert_msg(HAS("\"status\":\"SYSTEM\"") && HAS("no use of") && HAS("dispense to amend"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "withdraw %s --reason not_collected", id), 1);
	ck_assert_msg(HAS("dispense to withdraw"), "%s", out);

	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s", id, claim_tok), 0);
	ck_assert_msg(HAS("\"state\":\"DISPENSED\"") && HAS("\"use\":1"), "%s", out);

	/* What the pharmacist must fix, and usage: exit 1, nothing sent. */
	cli_write(&cl, "missing.json", "{\"lines\":[" LINE1 "]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "amend %s missing.json", id), 1);
	ck_assert_msg(HAS("item 2 (2189017F1022) has no line"), "%s", out);
	cli_write(&cl, "broken.json", "{\"lines\": [");
	ck_assert_int_eq(cli(&w, &cl, "ph", "amend %s broken.json", id), 1);
	ck_assert_msg(HAS("broken.json:1"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "amend %s nosuch.json", id), 1);
	ck_assert_int_eq(cli(&w, &cl, "ph", "amend %s --claim %s generic.json", id, claim_tok), 1);
	ck_assert_int_eq(cli(&w, &cl, "ph", "withdraw %s --reason lost", id), 1);
	ck_assert_msg(HAS("--reason must be dispensed_in_error, not_collected, recorded_in_error or other"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "withdraw %s", id), 1);
	ck_assert_int_eq(cli(&w, &cl, "ph", "amend %s generic.json --notes x", id), 1);
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s --body", id), 0);
	ck_assert_msg(count_of("\"use\":1,") == 1 && !HAS("superseded"), "nothing changed: %s", out);

	/* Amended: a generic was handed over for item 1, not the brand. */
	ck_assert_int_eq(cli(&w, &cl, "ph", "amend %s generic.json", id), 0);
	ck_assert_msg(HAS("\"status\":\"OK\"") && HAS("\"state\":\"DISPENSED\"") && HAS("\"use\":1") &&
			      HAS("\"uses_left\":0") && !HAS("\"claim\""),
		      "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s --body", id), 0);
	ck_assert_msg(count_of("{\"use\":1,") == 2 && count_of("\"superseded\":true") == 1, "%s", out);
	ck_assert_msg(HAS("\"superseded\":true,\"lines\":[" ASW1 "," LINE2 "],\"notes\":\"\"}"), "%s", out);
	snprintf(want, sizeof want, "\"lines\":[" LINE1 "," LINE2 "],\"notes\":\"generic for item 1, not the brand\"}]");
	ck_assert_msg(HAS(want) && count_of("\"replaces\":\"") == 1, "%s", out);
	assert_chain(w.cph, id, 2);

	/* Amended again: item 2 was not handed over after all (enough left). */
	cli_write(&cl, "leftover.json", "{\"lines\":[" LINE1 "," LEFT2 "],\"notes\":\"item 2: enough left\"}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "amend %s leftover.json", id), 0);
	ck_assert_int_eq(cli(&w, &cl, "doc", "status %s", id), 0);
	ck_assert_msg(count_of("{\"use\":1,") == 3 && count_of("\"superseded\":true") == 2 &&
			      count_of("\"replaces\":\"") == 2 && HAS("\"state\":\"DISPENSED\""),
		      "%s", out);
	ck_assert_msg(HAS("\"lines\":[" LINE1 "," LEFT2 "],\"notes\":\"item 2: enough left\"}]"), "%s", out);
	assert_chain(w.cph, id, 3);

	/* Withdrawn: never collected.  The use is back, claimed by this
	 * pharmacy under the new token printed. */
	ck_assert_int_eq(cli(&w, &cl, "ph", "withdraw %s --reason not_collected --notes 'did not come back'", id), 0);
	ck_assert_msg(HAS("\"status\":\"OK\"") && HAS("\"state\":\"CLAIMED\"") && HAS("\"uses_left\":1") &&
			      HAS("\"use\":1"),
		      "%s", out);
	field("claim", claim2, sizeof claim2);
	ck_assert_uint_eq(strlen(claim2), 32);
	ck_assert_str_ne(claim2, claim_tok);
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s --body", id), 0);
	ck_assert_msg(HAS("\"state\":\"CLAIMED\"") && count_of("{\"use\":1,") == 4 &&
			      count_of("\"superseded\":true") == 3 &&
			      HAS("\"withdrawn\":\"not_collected\",\"notes\":\"did not come back\"}]"),
		      "%s", out);
	assert_chain(w.cph, id, 4);
	/* Nothing is dispensed now: nothing to withdraw again; the old token is dead. */
	ck_assert_int_eq(cli(&w, &cl, "ph", "withdraw %s --reason other", id), 1);
	ck_assert_msg(HAS("no use of") && HAS("dispense to withdraw"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s", id, claim_tok), 2);
	ck_assert_msg(HAS("\"status\":\"PERMISSION_DENIED\""), "%s", out);

	/* Dispensed again with the withdrawal's claim. */
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s", id, claim2), 0);
	ck_assert_msg(HAS("\"state\":\"DISPENSED\"") && HAS("\"use\":1") && HAS("\"uses_left\":0"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "doc", "status %s", id), 0);
	ck_assert_msg(count_of("{\"use\":1,") == 5 && count_of("\"superseded\":true") == 4 &&
			      count_of("\"withdrawn\"") == 1 && count_of("\"replaces\":\"") == 3,
		      "%s", out);
	assert_chain(w.cph, id, 5);

	/* FHIR: the first record's resources keep their ids, entered in error
	 * (amended); the second amendment's were not collected (cancelled, its
	 * item 2 still declined); the new dispense is completed. */
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s --fhir", id), 0);
	ck_assert_msg(HAS("\"id\":\"dispense-1-1\",\"status\":\"entered-in-error\"") &&
			      HAS("\"id\":\"dispense-1-1-r3\",\"status\":\"cancelled\"") &&
			      HAS("\"id\":\"dispense-1-2-r3\",\"status\":\"declined\"") &&
			      HAS("\"id\":\"dispense-1-1-r5\",\"status\":\"completed\"") &&
			      HAS("\"code\":\"not-collected\"") && HAS("\"text\":\"did not come back\"") &&
			      !HAS("dispense-1-1-r4"),
		      "%s", out);

	/* Another pharmacy: refused, and nothing changed.  Without the
	 * patient it may not even read the prescription; with the card it
	 * may, but not withdraw another pharmacy's dispense. */
	ck_assert_int_eq(cli(&w, &cl, "ph2", "withdraw %s --reason dispensed_in_error", id), 2);
	ck_assert_msg(HAS("\"status\":\"PERMISSION_DENIED\""), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph2", "--card hanako.card --institution " OTHER_PHARMACY
			     " withdraw %s --reason dispensed_in_error", id), 2);
	ck_assert_msg(HAS("\"status\":\"PERMISSION_DENIED\""), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph2", "--card hanako.card --institution " OTHER_PHARMACY
			     " amend %s generic.json", id), 2);
	ck_assert_msg(HAS("\"status\":\"PERMISSION_DENIED\""), "%s", out);
	assert_chain(w.cph, id, 5);
	ck_assert_int_eq(cli(&w, &cl, "doc", "status %s", id), 0);
	ck_assert_msg(HAS("\"state\":\"DISPENSED\"") && count_of("{\"use\":1,") == 5, "%s", out);

	/* Another key of the dispensing pharmacy may (it reads the status
	 * with the patient's card). */
	ck_assert_int_eq(cli(&w, &cl, "phb", "--card hanako.card --institution " PHARMACY
			     " amend %s generic.json", id), 0);
	ck_assert_msg(HAS("\"status\":\"OK\"") && HAS("\"state\":\"DISPENSED\""), "%s", out);
	rxc_t *cb = harness_client(&w.h, NULL, &colleague, 0);
	assert_chain(cb, id, 6); /* its record is the current one now */
	rxc_destroy(&cb);
	world_down(&w);
}
END_TEST

/* 10 tablets of item 1 (ノルバスク, marked no_strength_change): the prescribed
 * product, part of its 28. */
#define NORVASC10 "{\"drug_code\":\"2171022F1029\",\"name\":\"ノルバスク錠２．５ｍｇ\",\"dose\":\"1 tablet\"," \
		  "\"unit\":\"tablet\",\"usage\":\"once daily after breakfast\",\"days\":10,\"quantity\":10}"

/* The dispense records of id as the library verifies them: n parts of use
 * 1, numbered 1..n, none superseded, none replacing another. */
static void assert_parts(rxc_t *c, const char *id, size_t n)
{
	rxc_result_t r;
	ck_assert_int_eq(rxc_status(c, id, NULL, &r), RX_OK);
	ck_assert_uint_eq(r.n_dispenses, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(r.dispenses[i]->part, i + 1);
		ck_assert_uint_eq(r.dispenses[i]->replaces.len, 0);
		ck_assert_uint_eq(r.reply->dispenses[i]->use, 1);
		ck_assert(!r.reply->dispenses[i]->superseded);
	}
	rxc_result_free(&r);
}

/* rx-pharmacy dispensing in parts (proto/README 5.13): local errors first
 * (--owe without --part, a partial line in a record that is no part, part 1
 * without one, more than is owed); part 1 from a record file, 10 of item
 * 1's 28 (out of stock) and item 2 in full: PARTIALLY_DISPENSED, what is
 * owed printed by the dispense and by both statuses (item numbers and
 * quantities only without --body); RELEASE refused PARTLY_DISPENSED; a
 * record without its part number refused locally, part 1 sent again
 * ALREADY_DISPENSED, a part naming an item not owed refused locally, AMEND
 * refused; part 2 with --owe, 8 more; part 3 completes the use with the 10
 * owed; every part in both statuses and in FHIR; a part sent again after
 * completion ALREADY_DISPENSED and the completed use's AMEND refused
 * PARTLY_DISPENSED by the broker. */
START_TEST(cli_partial_fill)
{
	world_t w;
	cli_t cl;
	char id[RX_ID_LEN + 1], claim_tok[40], want[512];
	world_up(&w);
	cli_up(&w, &cl);
	ck_assert_int_eq(rxctl(&w.h, "drugs load '%s'", getenv("DRUGS_CSV")), 0);
	cli_write(&cl, "rx.json", "{\"items\":[" NORVASC "," CRESTOR "]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit rx.json"), 0);
	field("id", id, sizeof id);
	ck_assert_int_eq(cli(&w, &cl, "ph", "--card hanako.card --institution " PHARMACY " claim %s", id), 0);
	field("claim", claim_tok, sizeof claim_tok);

	/* What the pharmacist must fix: exit 1, nothing sent. */
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s --owe 1=10", id, claim_tok), 1);
	ck_assert_msg(HAS("--owe makes a part") && HAS("--part 1"), "%s", out);
	cli_write(&cl, "nopart.json", "{\"lines\":[{\"item\":1,\"outcome\":\"partial\",\"reason\":\"out_of_stock\","
				      "\"handed\":" NORVASC10 "},{\"item\":2,\"outcome\":\"as_written\"}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s nopart.json", id, claim_tok), 1);
	ck_assert_msg(HAS("\"status\":\"SYSTEM\"") && HAS("leaves items owed: it is a part"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s --part 1", id, claim_tok), 1);
	ck_assert_msg(HAS("--part 1 leaves an item owed"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s --part 1 --owe 1=28", id, claim_tok), 1);
	ck_assert_msg(HAS("28 units of item 1 are owed"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s --part 1 --owe 1=5 --reason generic", id, claim_tok), 1);
	ck_assert_msg(HAS("--reason with --owe must be"), "%s", out);
	cli_write(&cl, "noreason.json", "{\"part\":1,\"lines\":[{\"item\":1,\"outcome\":\"partial\",\"handed\":" NORVASC10 "},"
					"{\"item\":2,\"outcome\":\"as_written\"}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s noreason.json", id, claim_tok), 1);
	ck_assert_msg(HAS("line 1: a partial line needs a \\\"reason\\\""), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s", id), 0);
	ck_assert_msg(HAS("\"state\":\"CLAIMED\"") && !HAS("\"owed\""), "nothing sent: %s", out);

	/* Part 1: 10 of item 1 now, item 2 in full. */
	cli_write(&cl, "part1.json", "{\"part\":1,\"lines\":[{\"item\":2,\"outcome\":\"as_written\"},"
				     "{\"item\":1,\"outcome\":\"partial\",\"reason\":\"out_of_stock\",\"handed\":" NORVASC10 "}],"
				     "\"notes\":\"18 more tomorrow\"}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s part1.json", id, claim_tok), 0);
	ck_assert_msg(HAS("\"state\":\"PARTIALLY_DISPENSED\"") && HAS("\"uses_left\":1") && HAS("\"use\":1") &&
			      HAS("\"part\":1") && HAS("\"owed\":[{\"item\":1,\"quantity\":18,\"unit\":\"tablet\"}]"),
		      "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s", id), 0);
	ck_assert_msg(HAS("\"state\":\"PARTIALLY_DISPENSED\"") &&
			      HAS("\"parts\":1,\"owed\":[{\"item\":1,\"quantity\":18,\"unit\":\"tablet\"}]") &&
			      !HAS("2171022F1029"),
		      "without --body: %s", out);
	snprintf(want, sizeof want, "\"owed\":[{\"item\":1,\"drug_code\":\"2171022F1029\",\"name\":\"ノルバスク錠２．５ｍｇ\","
				    "\"quantity\":18,\"unit\":\"tablet\"}]");
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s --body", id), 0);
	ck_assert_msg(HAS(want) && HAS("{\"use\":1,\"part\":1,") &&
			      HAS("{\"item\":1,\"outcome\":\"partial\",\"reason\":\"out_of_stock\",\"handed\":" NORVASC10 "}") &&
			      !HAS("superseded"),
		      "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "doc", "status %s", id), 0);
	ck_assert_msg(HAS(want) && HAS("\"state\":\"PARTIALLY_DISPENSED\""), "%s", out);

	/* The claim stays: no release; no record but the next part. */
	ck_assert_int_eq(cli(&w, &cl, "ph", "release %s --claim %s", id, claim_tok), 2);
	ck_assert_msg(HAS("\"status\":\"PARTLY_DISPENSED\"") && HAS("\"message\":\"part of this use"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s", id, claim_tok), 1);
	ck_assert_msg(HAS("the next part, with --part 2"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s part1.json", id, claim_tok), 2);
	ck_assert_msg(HAS("\"status\":\"ALREADY_DISPENSED\"") && HAS("part 1 of this use was already recorded"), "%s", out);
	cli_write(&cl, "both.json", "{\"part\":2,\"lines\":[{\"item\":1,\"outcome\":\"as_written\"},"
				    "{\"item\":2,\"outcome\":\"as_written\"}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s both.json", id, claim_tok), 1);
	ck_assert_msg(HAS("line 2: nothing of item 2 is owed now"), "%s", out);
	cli_write(&cl, "whole.json", "{\"lines\":[{\"item\":1,\"outcome\":\"as_written\"},{\"item\":2,\"outcome\":\"as_written\"}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "amend %s whole.json", id), 1);
	ck_assert_msg(HAS("PARTIALLY_DISPENSED: a use handed over in parts is not amended"), "%s", out);

	/* Part 2: 8 more, still owing 10; part 3: the 10, and the use is done. */
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s --part 2 --owe 1=8 --notes 'still short'", id, claim_tok), 0);
	ck_assert_msg(HAS("\"state\":\"PARTIALLY_DISPENSED\"") && HAS("\"part\":2") &&
			      HAS("\"owed\":[{\"item\":1,\"quantity\":10,\"unit\":\"tablet\"}]"),
		      "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s --part 3", id, claim_tok), 0);
	ck_assert_msg(HAS("\"state\":\"DISPENSED\"") && HAS("\"uses_left\":0") && HAS("\"part\":3") && !HAS("\"owed\""),
		      "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "doc", "status %s", id), 0);
	ck_assert_msg(HAS("{\"use\":1,\"part\":1,") && HAS("{\"use\":1,\"part\":2,") && HAS("{\"use\":1,\"part\":3,") &&
			      !HAS("superseded") && !HAS("\"owed\"") && HAS("\"notes\":\"still short\"") &&
			      HAS("\"days\":8,\"quantity\":8}") && HAS("\"days\":10,\"quantity\":10}}],\"notes\":\"\""),
		      "%s", out);
	assert_parts(w.cph, id, 3);
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s --fhir", id), 0);
	ck_assert_msg(HAS("\"id\":\"dispense-1-1-p1\",\"status\":\"completed\"") &&
			      HAS("\"id\":\"dispense-1-2-p1\",\"status\":\"completed\"") &&
			      HAS("\"id\":\"dispense-1-1-p3\",\"status\":\"completed\"") && HAS("\"code\":\"FFP\"") &&
			      HAS("\"code\":\"FFC\"") && HAS("\"code\":\"RFP\"") &&
			      HAS("{\"url\":\"urn:rx-exchange:dispense-part\",\"valueUnsignedInt\":3}") &&
			      !HAS("dispense-1-2-p2") && !HAS("entered-in-error"),
		      "%s", out);

	/* Done: a part sent again is ALREADY_DISPENSED; the use is not amended. */
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s --part 3", id, claim_tok), 2);
	ck_assert_msg(HAS("\"status\":\"ALREADY_DISPENSED\""), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "amend %s whole.json", id), 2);
	ck_assert_msg(HAS("\"status\":\"PARTLY_DISPENSED\""), "%s", out);
	assert_parts(w.cph, id, 3);
	world_down(&w);
}
END_TEST

/* ---- the CLIs: an inquiry to the prescriber (疑義照会, proto/README 5.14) ---- */

#define NORVASC5 ITEM("2171022F2025", "ノルバスク錠５ｍｇ", ",\"no_change\":true")
#define NORVASC25 ITEM("2171022F1029", "ノルバスク錠２．５ｍｇ", "")
#define BISOPROLOL5 ITEM("2123016F2189", "メインテート錠５ｍｇ", "")
#define BISOPROLOL25 ITEM("2123016F1107", "メインテート錠２．５ｍｇ", "")

/* rx-pharmacy inquire (a file to fix: exit 1; the broker's INQUIRY_PENDING
 * for a second one and for the dispense meanwhile), rx-clinic inquiries
 * (the notice with what was asked), rx-clinic answer --accept, the
 * pharmacy's inquiry_reply notice, the dispense citing the inquiry (an
 * agreed change passes the no_change mark), and both statuses showing the
 * question and the answer. */
START_TEST(cli_inquiry_answered)
{
	world_t w;
	cli_t cl;
	char id[RX_ID_LEN + 1], claim_tok[40];
	world_up(&w);
	cli_up(&w, &cl);
	ck_assert_int_eq(rxctl(&w.h, "drugs load '%s'", getenv("DRUGS_CSV")), 0);
	cli_write(&cl, "rx.json", "{\"items\":[" NORVASC5 "]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit rx.json"), 0);
	field("id", id, sizeof id);
	ck_assert_int_eq(cli(&w, &cl, "ph", "--card hanako.card --institution " PHARMACY " claim %s", id), 0);
	field("claim", claim_tok, sizeof claim_tok);

	/* Files the pharmacist must fix: exit 1, nothing sent. */
	cli_write(&cl, "bad-reason.json", "{\"reason\":\"mood\",\"text\":\"x\"}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "inquire %s --claim %s bad-reason.json", id, claim_tok), 1);
	ck_assert_msg(HAS("\\\"reason\\\" must be dose"), "%s", out);
	cli_write(&cl, "bad-change.json", "{\"reason\":\"dose\",\"text\":\"x\",\"proposed\":[{\"item\":0,\"to\":null}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "inquire %s --claim %s bad-change.json", id, claim_tok), 1);
	ck_assert_msg(HAS("proposed 1 needs \\\"item\\\""), "%s", out);
	cli_write(&cl, "bad-phone.json", "{\"reason\":\"dose\",\"text\":\"x\",\"by_phone\":{\"who\":\"Dr. Sato\","
					 "\"at\":\"yesterday\",\"outcome\":\"keep\"}}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "inquire %s --claim %s bad-phone.json", id, claim_tok), 1);
	ck_assert_msg(HAS("\\\"by_phone\\\" needs \\\"at\\\""), "%s", out);

	cli_write(&cl, "inquiry.json", "{\"reason\":\"dose\",\"text\":\"pulse 52: 2.5 mg?\","
				       "\"proposed\":[{\"item\":1,\"to\":" NORVASC25 "}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "inquire %s --claim %s inquiry.json", id, claim_tok), 0);
	ck_assert_msg(HAS("\"inquiry\":1,") && HAS("\"inquiry_open\":true"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "inquire %s --claim %s inquiry.json", id, claim_tok), 2);
	ck_assert_msg(HAS("\"status\":\"INQUIRY_PENDING\""), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s", id, claim_tok), 2);
	ck_assert_msg(HAS("\"status\":\"INQUIRY_PENDING\""), "%s", out);

	/* The clinic is told, with what was asked. */
	ck_assert_int_eq(cli(&w, &cl, "doc", "inquiries --count 1"), 0);
	ck_assert_msg(HAS("\"kind\":\"inquiry\"") && HAS("\"inquiry\":1") && HAS(id) && HAS("\"reason\":\"dose\"") &&
			      HAS("\"text\":\"pulse 52: 2.5 mg?\"") &&
			      HAS("\"proposed\":[{\"item\":1,\"to\":" NORVASC25 "}]") && HAS("\"answer\":null"),
		      "%s", out);

	/* The answer: usage errors locally, then ACCEPT. */
	ck_assert_int_eq(cli(&w, &cl, "doc", "answer %s --keep", id), 1);
	ck_assert_int_eq(cli(&w, &cl, "doc", "answer %s --inquiry 1 --keep --cancel other", id), 1);
	ck_assert_int_eq(cli(&w, &cl, "doc", "answer %s --inquiry 1 --cancel mood", id), 1);
	cli_write(&cl, "answer.json", "{\"agreed\":[{\"item\":1,\"to\":" NORVASC25 "}]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "answer %s --inquiry 2 --accept answer.json", id), 2);
	ck_assert_msg(!HAS("\"status\":\"OK\""), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "doc", "answer %s --inquiry 1 --accept answer.json --text 'yes, 2.5 mg'", id), 0);
	ck_assert_msg(HAS("\"inquiry\":1,") && HAS("\"inquiry_open\":false"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "watch --count 1"), 0);
	ck_assert_msg(HAS("\"kind\":\"inquiry_reply\"") && HAS("\"inquiry\":1"), "%s", out);

	/* The agreed product, citing the inquiry: the no_change mark does not
	 * stop it. */
	cli_write(&cl, "record.json", "{\"inquiry\":\"one\",\"lines\":[{\"item\":1,\"outcome\":\"as_written\"}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s record.json", id, claim_tok), 1);
	ck_assert_msg(HAS("\\\"inquiry\\\" must be the number"), "%s", out);
	cli_write(&cl, "record.json", "{\"inquiry\":1,\"lines\":[{\"item\":1,\"outcome\":\"substituted\","
				      "\"reason\":\"inquiry\",\"handed\":" NORVASC25 "}]}");
	ck_assert_int_eq(cli(&w, &cl, "ph", "dispense %s --claim %s record.json", id, claim_tok), 0);
	ck_assert_msg(HAS("\"state\":\"DISPENSED\""), "%s", out);
	/* The clinic's other notices wait for rx-clinic watch. */
	ck_assert_int_eq(cli(&w, &cl, "doc", "watch --count 1"), 0);
	ck_assert_msg(HAS("\"kind\":\"dispensed\"") && HAS("\"use\":1") && HAS(id), "%s", out);
	/* with what was handed over: the agreed product, substituted */
	ck_assert_msg(HAS("\"record\":{") && HAS("\"outcome\":\"substituted\",\"reason\":\"inquiry\""), "%s", out);

	ck_assert_int_eq(cli(&w, &cl, "doc", "status %s", id), 0);
	ck_assert_msg(HAS("\"inquiries\":[{\"number\":1,") && HAS("\"institution\":\"" PHARMACY "\"") &&
			      HAS("\"reason\":\"dose\"") &&
			      HAS("\"answer\":{\"answer\":\"accept\",\"text\":\"yes, 2.5 mg\",\"agreed\":[{\"item\":1,"
				  "\"to\":" NORVASC25 "}]"),
		      "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s", id), 0);
	ck_assert_msg(HAS("\"inquiries\":[{\"number\":1,") && HAS("\"answer\":{\"answer\":\"accept\"") &&
			      !HAS("pulse 52") && !HAS("\"proposed\"") && !HAS("\"agreed\""),
		      "without --body: %s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s --body", id), 0);
	ck_assert_msg(HAS("\"text\":\"pulse 52: 2.5 mg?\"") && HAS("\"agreed\":[{\"item\":1,\"to\":" NORVASC25 "}]"),
		      "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "doc", "status %s --fhir", id), 0);
	ck_assert_msg(HAS("\"resourceType\":\"Communication\",\"id\":\"inquiry-1\"") &&
			      HAS("\"id\":\"inquiry-1-answer\"") && HAS("urn:rx-exchange:inquiry-reason"),
		      "%s", out);

	/* --accept-proposed: what the pharmacy proposed, read from STATUS;
	 * refused locally where nothing was proposed. */
	cli_write(&cl, "rx2.json", "{\"items\":[" BISOPROLOL5 "]}");
	cli_write(&cl, "inquiry2.json", "{\"reason\":\"dose\",\"text\":\"pulse 52\","
					"\"proposed\":[{\"item\":1,\"to\":" BISOPROLOL25 "}]}");
	ck_assert_int_eq(cli(&w, &cl, "doc", "--card hanako.card --institution " CLINIC " submit rx2.json"), 0);
	field("id", id, sizeof id);
	ck_assert_int_eq(cli(&w, &cl, "ph", "--card hanako.card --institution " PHARMACY " claim %s", id), 0);
	field("claim", claim_tok, sizeof claim_tok);
	ck_assert_int_eq(cli(&w, &cl, "doc", "answer %s --inquiry 1 --accept-proposed", id), 1);
	ck_assert_int_eq(cli(&w, &cl, "ph", "inquire %s --claim %s inquiry2.json", id, claim_tok), 0);
	ck_assert_int_eq(cli(&w, &cl, "doc", "answer %s --inquiry 1 --accept-proposed", id), 0);
	ck_assert_msg(HAS("\"inquiry_open\":false"), "%s", out);
	ck_assert_int_eq(cli(&w, &cl, "ph", "status %s --body", id), 0);
	ck_assert_msg(HAS("\"answer\":{\"answer\":\"accept\",\"text\":\"\",\"agreed\":[{\"item\":1,\"to\":" BISOPROLOL25
			  "}]"),
		      "%s", out);
	world_down(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ops");
	TCase *tc = tcase_create("ops");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_rxctl_command);
	tcase_add_test(tc, audit_detects_tampering);
	tcase_add_test(tc, backup_under_load_restores);
	tcase_add_test(tc, sigterm_with_requests_in_flight);
	tcase_add_test(tc, patient_reads_own_log);
	tcase_add_test(tc, metrics_over_http);
	tcase_add_test(tc, metrics_count_every_op);
	tcase_add_test(tc, metrics_scrapers_cannot_stall_rxd);
	tcase_add_test(tc, duplicate_refused_overridden_and_warned_at_claim);
	tcase_add_test(tc, drugs_admin_refusals);
	tcase_add_test(tc, cli_dispense_lines);
	tcase_add_test(tc, cli_refill_and_divided);
	tcase_add_test(tc, cli_amend_and_withdraw);
	tcase_add_test(tc, cli_partial_fill);
	tcase_add_test(tc, cli_inquiry_answered);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
