/* rx-bench: how fast the real rxd is, and how close that comes to what the
 * machine can do.
 *
 * Starts rxd (durability on, every signature verified: its defaults) on a
 * temp data dir and tcp loopback, registers a clinic, a pharmacy, their
 * keys and patients with cards, then drives it from several client threads,
 * each with its own CurveZMQ connections (rxc_t).  Everything a client
 * signs is signed before the clock starts (prescriptions, card assertions,
 * the calls themselves), so the clients cost little CPU; the one exception
 * is the DISPENSE, whose call carries the claim token the CLAIM reply just
 * returned and so is signed in the loop (one Ed25519 sign: protocol v2
 * signs its dispense record, bound to the call).
 * The clients decode replies but do not verify the broker's receipt
 * signatures (rxclient does; a benchmark need not).
 *
 * Workloads: submit; claim+dispense pairs; a mixed day (70% submit, 25%
 * claim+dispense, 5% status); one client alone, one request at a time with
 * a 1 ms pause.  Before them it measures the machine's limits with the same
 * libraries (bench_limits.h) and prints each rxd figure as a ratio of them.
 *
 * This file: the flags, setting up rxd and the clients, and the order of
 * the workloads; the parts are named in bench_int.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_int.h"
#include "bench_limits.h"
#include "rx_check.h"
#include "rxclient_int.h"

void bench_die(const char *fmt, const char *arg)
{
	fprintf(stderr, "rx-bench: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

/* ---- setup ---- */

static void default_rxd(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		snprintf(out, len, "rxd");
		return;
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	/* rx-bench lives in BUILD/bench, rxd in BUILD/broker. */
	if ((size_t)snprintf(out, len, "%.*s/../broker/rxd", (int)(len > 32 ? len - 32 : 0), self) >= len)
		snprintf(out, len, "rxd");
}

/* One whole lifecycle through the client library (receipts verified), to
 * prove the set-up and learn which use a first claim gets. */
static void sanity(bench_t *B)
{
	bench_rxd_t *r = &B->rxd;
	job_t j = {0};
	rxc_result_t res;
	Rx__Signed card;
	/* Through rxc_submit and friends, so the library checks the receipts
	 * (they must name the documents sent). */
	bench_rx_t rx;
	bench_rec_t rec;
	bench_jobs_prescription(B, 0, 0, "rx-bench sanity", (int64_t)time(NULL), &rx);
	if (rxc_card_assertion(&r->card[0], RX__PURPOSE__PURPOSE_ISSUE, r->clinic_code,
			       (int64_t)time(NULL), &card) != RX_OK)
		bench_die("%s", "signing failed");
	worker_t *w = &B->w[0];
	if (rxc_submit(w->clinic, NULL, &rx.p, &card, &res) != RX_OK)
		bench_die("SUBMIT refused: %s", res.message);
	rxc_signed_free(&card);
	char id[RX_ID_LEN + 1];
	snprintf(id, sizeof id, "%s", res.receipt->prescription_id);
	rxc_result_free(&res);
	if (rxc_card_assertion(&r->card[0], RX__PURPOSE__PURPOSE_DISPENSE, r->pharmacy_code,
			       (int64_t)time(NULL), &card) != RX_OK)
		bench_die("%s", "signing failed");
	rxc_proof_t proof = {.card = &card};
	if (rxc_claim(w->pharmacy, NULL, id, &proof, &res) != RX_OK)
		bench_die("CLAIM refused: %s", res.message);
	rxc_signed_free(&card);
	B->use = res.receipt->use;
	uint8_t token[RX_TOKEN_LEN];
	memcpy(token, res.receipt->claim_token.data, RX_TOKEN_LEN);
	rxc_result_free(&res);
	pool_ent_t e = {.patient = 0};
	memcpy(e.id, id, sizeof e.id);
	if (bench_jobs_sign_pair(B, &j, &e) != 0)
		bench_die("%s", "signing failed");
	bench_jobs_record(B, &j, &rec);
	if (rxc_dispense(w->pharmacy, NULL, id, token, &rec.d, &res) != RX_OK)
		bench_die("DISPENSE refused: %s", res.message);
	rxc_result_free(&res);
	bench_jobs_free(&j);
	B->done[B->ndone++] = e;
	B->stored++;
}

static int arg_num(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* "submit,pairs,mixed,idle" (any of them, any order) into a bit set. */
static int parse_workloads(const char *list, unsigned *out)
{
	static const char *const names[NWL] = {"submit", "pairs", "mixed", "idle", "half"};
	char buf[128];
	unsigned set = 0;
	if (strlen(list) >= sizeof buf)
		return -1;
	strcpy(buf, list);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int i = 0;
		while (i < NWL && strcmp(t, names[i]) != 0)
			i++;
		if (i == NWL)
			return -1;
		set |= 1u << i;
	}
	if (set == 0)
		return -1;
	*out = set;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rx-bench [--seconds N] [--clients N] [--window N] [--workloads L] [--preload N]\n"
		"                [--json FILE] [--rxd PATH] [--dir DIR] [--patients N] [--keep]\n"
		"                [--data DIR] [--metrics EP]\n"
		"  --seconds N   per workload (10; at most 240: card assertions go stale after 5 min)\n"
		"  --clients N   concurrent client threads (8)\n"
		"  --window N    requests each client keeps in flight on a connection (16);\n"
		"                the single-client workload always has one\n"
		"  --workloads L which workloads to run, comma-separated: submit,pairs,mixed,idle,half\n"
		"                (all; half: submits offered at a steady half of the submit peak)\n"
		"  --preload N   submit N prescriptions before the measured workloads (0); beyond\n"
		"                10000, submit and claim+dispense are also measured at 10000 first\n"
		"  --json FILE   also write the results as JSON\n"
		"  --rxd PATH    the rxd to run ($RXD, else BUILD/broker/rxd beside this program)\n"
		"  --dir DIR     where the temp data dir and LMDB test env go ($TMPDIR, else /tmp);\n"
		"                it should be the disk rxd would use: a tmpfs makes fsync free\n"
		"  --patients N  patients with cards (8)\n"
		"  --keep        keep the data dir (and rxd.log)\n"
		"  --data DIR    run rxd on this existing data dir (a store kept by --keep, with\n"
		"                its map size) instead of a new one; it is kept\n"
		"  --metrics EP  rxd serves its metrics at EP (as rxd --metrics), to scrape\n"
		"                while the workloads run\n"
		"  --vs-postgres also run submit and claim+dispense against a throw-away PostgreSQL\n"
		"                cluster (fsync and synchronous_commit on): raw, no signatures checked,\n"
		"                and with its clients verifying first what rxd verifies per request\n");
}

static void parse(int argc, char **argv, options_t *o)
{
	long v;
	*o = (options_t){.seconds = 10, .clients = 8, .patients = 8, .window = 16, .workloads = (1u << NWL) - 1};
	o->rxd = getenv("RXD");
	o->dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--keep") == 0) {
			o->keep = 1;
			continue;
		} else if (strcmp(a, "--vs-postgres") == 0) {
			o->vs_postgres = 1;
			continue;
		}
		if (val == NULL) {
			usage(stderr);
			exit(1);
		}
		i++;
		if (strcmp(a, "--seconds") == 0 && arg_num(val, 1, 240, &v) == 0)
			o->seconds = (int)v;
		else if (strcmp(a, "--clients") == 0 && arg_num(val, 1, MAX_CLIENTS, &v) == 0)
			o->clients = (int)v;
		else if (strcmp(a, "--preload") == 0 && arg_num(val, 0, 100000000, &v) == 0)
			o->preload = v;
		else if (strcmp(a, "--workloads") == 0 && parse_workloads(val, &o->workloads) == 0)
			;
		else if (strcmp(a, "--window") == 0 && arg_num(val, 1, 1024, &v) == 0)
			o->window = (int)v;
		else if (strcmp(a, "--patients") == 0 && arg_num(val, 1, BENCH_MAX_PATIENTS, &v) == 0)
			o->patients = (int)v;
		else if (strcmp(a, "--json") == 0)
			o->json = val;
		else if (strcmp(a, "--rxd") == 0)
			o->rxd = val;
		else if (strcmp(a, "--dir") == 0)
			o->dir = val;
		else if (strcmp(a, "--data") == 0)
			o->data = val;
		else if (strcmp(a, "--metrics") == 0)
			o->metrics = val;
		else {
			usage(stderr);
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	bench_t B;
	char rxd_path[PATH_MAX], why[300];
	/* What the report says, gathered as the run goes. */
	static report_t R;
	limits_t *L = &R.limits;
	result_t *res = R.res;

	memset(&B, 0, sizeof B);
	parse(argc, argv, &B.opt);
	options_t *o = &B.opt;
	R.opt = o;
	if (rx_crypto_init() != RX_OK)
		bench_die("%s", "libsodium did not start");
	if (o->rxd)
		snprintf(rxd_path, sizeof rxd_path, "%s", o->rxd);
	else
		default_rxd(rxd_path, sizeof rxd_path);
	if (access(rxd_path, X_OK) != 0)
		bench_die("no rxd at %s (give --rxd PATH or set RXD)", rxd_path);
	R.ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bench_report_cpu_model(R.model, sizeof R.model);
	getloadavg(&R.load, 1);

	/* The machine first, with rxd not yet running. */
	int lim_ms = o->seconds < 2 ? 500 : 2000;
	fprintf(stderr, "rx-bench: measuring the machine's limits...\n");
	L->verify = bench_limit_verify((int)R.ncpu, 600, lim_ms);
	L->lmdb1 = bench_limit_lmdb(o->dir, 1, 512, lim_ms, L->lmdb1_ms);
	L->lmdb100 = bench_limit_lmdb(o->dir, 100, 512, lim_ms, NULL);
	L->sync1 = bench_limit_sync(o->dir, lim_ms / 2, &L->sync1_ms);
	L->zmq = bench_limit_zmq(0, 600, 256, lim_ms, NULL);
	L->zmq_curve = bench_limit_zmq(1, 600, 256, lim_ms, NULL);
	bench_limit_zmq(1, 600, 1, lim_ms / 2, &L->zmq_curve_1_ms);

	fprintf(stderr, "rx-bench: starting %s...\n", rxd_path);
	/* A preloaded store needs room: about 3 KiB a prescription (its record,
	 * its stored reply, indexes, audit), with margin. */
	long map_mib = o->preload > 100000 ? 1024 + o->preload / 128 : 0;
	/* An existing store keeps what it has and gets a GiB to grow. */
	struct stat mst;
	char mdb[600];
	snprintf(mdb, sizeof mdb, "%s/data.mdb", o->data ? o->data : "");
	if (o->data && stat(mdb, &mst) == 0)
		map_mib += 1024 + (long)(mst.st_size >> 20);
	if (bench_rxd_start(&B.rxd, rxd_path, o->dir, o->data, map_mib, o->metrics, why, sizeof why) != 0 ||
	    bench_rxd_populate(&B.rxd, o->patients, o->clients, why, sizeof why) != 0) {
		bench_rxd_stop(&B.rxd);
		if (!o->keep)
			bench_rxd_remove(&B.rxd);
		bench_die("%s", why);
	}
	B.pool = calloc(POOL_MAX, sizeof *B.pool);
	B.done = calloc(POOL_MAX, sizeof *B.done);
	B.zctx = zmq_ctx_new();
	B.nworkers = o->clients;
	B.w = calloc((size_t)o->clients, sizeof *B.w);
	if (!B.pool || !B.done || !B.zctx || !B.w)
		bench_die("%s", "out of memory");
	for (int i = 0; i < o->clients; i++) {
		worker_t *w = &B.w[i];
		/* No resends: a slow reply is measured, not retried. */
		rxc_options_t oc = {.timeout_ms = 120000, .resend_ms = 120000,
				    .curve = &B.rxd.clinic_curve, .server_key = B.rxd.server_key},
			      op = oc;
		op.curve = &B.rxd.pharmacy_curve;
		w->B = &B;
		w->window = o->window;
		if (rxc_new(&w->clinic, B.zctx, B.rxd.endpoint, &B.rxd.prescriber[i], &oc) != RX_OK ||
		    rxc_new(&w->pharmacy, B.zctx, B.rxd.endpoint, &B.rxd.pharmacist[i], &op) != RX_OK)
			bench_die("%s", "cannot connect to rxd");
		/* The CurveZMQ handshakes now, not in the first timed request:
		 * a STATUS of a malformed id is refused without a write. */
		rxc_result_t r;
		(void)rxc_status(w->clinic, "0000-0000-000+", NULL, &r);
		rxc_result_free(&r);
		(void)rxc_status(w->pharmacy, "0000-0000-000+", NULL, &r);
		rxc_result_free(&r);
	}
	sanity(&B);

	/* A short calibration sizes how many requests to sign per workload. */
	bench_jobs_prepare(&B, B.nworkers, 100, bench_choose_submit);
	result_t cal = bench_run(&B, B.nworkers, 1, "calibration", "req");
	if (cal.errors)
		bench_die("%s", "submits fail; see above");
	double rate = cal.rate > 10 ? cal.rate : 10;
	fprintf(stderr, "rx-bench: calibration: %.0f submits/s\n", rate);

	/* With a big preload, submit and claim+dispense are measured first at
	 * SCALE_SMALL prescriptions stored, then again at the full preload. */
	if (o->preload > SCALE_SMALL && (o->workloads & 3u)) {
		bench_run_preload_to(&B, SCALE_SMALL);
		R.scale.stored = B.stored;
		if (o->workloads & 1u) {
			fprintf(stderr, "rx-bench: submit at %ld stored...\n", B.stored);
			bench_jobs_prepare(&B, B.nworkers, bench_run_jobs_for(rate, o->seconds, B.nworkers), bench_choose_submit);
			R.scale.small[0] = bench_run(&B, B.nworkers, o->seconds, "submit", "req/s");
		}
		if (o->workloads & 2u) {
			fprintf(stderr, "rx-bench: claim+dispense at %ld stored...\n", B.stored);
			size_t per = bench_run_jobs_for(rate / 2, o->seconds, B.nworkers);
			bench_run_fill_pool(&B, per * (size_t)B.nworkers, rate);
			bench_jobs_prepare(&B, B.nworkers, per, bench_choose_pair);
			R.scale.small[1] = bench_run(&B, B.nworkers, o->seconds, "claim+dispense", "pairs/s");
		}
	}
	bench_run_preload_to(&B, o->preload);
	R.stored = B.stored;

	static const char *const names[NWL] = {"submit", "claim+dispense", "mixed day",
					       "single client, idle", "submit, half peak"};
	for (int i = 0; i < NWL; i++)
		if (!(o->workloads & 1u << i))
			res[i] = (result_t){.name = names[i], .unit = "", .skipped = 1};
	if (o->workloads & 1u) {
		fprintf(stderr, "rx-bench: submit...\n");
		bench_jobs_prepare(&B, B.nworkers, bench_run_jobs_for(rate, o->seconds, B.nworkers), bench_choose_submit);
		res[0] = bench_run(&B, B.nworkers, o->seconds, names[0], "req/s");
		if (res[0].rate > rate)
			rate = res[0].rate;
	}
	size_t per;
	if (o->workloads & 2u) {
		fprintf(stderr, "rx-bench: claim+dispense...\n");
		/* A pair is two requests: about half the submit rate. */
		per = bench_run_jobs_for(rate / 2, o->seconds, B.nworkers);
		bench_run_fill_pool(&B, per * (size_t)B.nworkers, rate);
		bench_jobs_prepare(&B, B.nworkers, per, bench_choose_pair);
		res[1] = bench_run(&B, B.nworkers, o->seconds, names[1], "pairs/s");
	}
	if (o->workloads & 4u) {
		fprintf(stderr, "rx-bench: mixed day...\n");
		per = bench_run_jobs_for(rate, o->seconds, B.nworkers);
		bench_run_fill_pool(&B, per * (size_t)B.nworkers / 3, rate);
		bench_jobs_prepare(&B, B.nworkers, per, bench_choose_mixed);
		res[2] = bench_run(&B, B.nworkers, o->seconds, names[2], "req/s");
		/* Counted in requests (a pair is two); latency stays per unit. */
		res[2].per_request = 1;
		res[2].rate = (double)(res[2].submits + 2 * res[2].pairs + res[2].statuses) / res[2].secs;
	}
	if (o->workloads & 8u) {
		fprintf(stderr, "rx-bench: single client...\n");
		B.w[0].gap_us = 1000;
		B.w[0].window = 1;
		bench_jobs_prepare(&B, 1, (size_t)o->seconds * 1000, bench_choose_submit);
		res[3] = bench_run(&B, 1, o->seconds, names[3], "req/s");
		res[3].exhausted = 0; /* paced: it is expected to finish early or on time */
		B.w[0].gap_us = 0;
		B.w[0].window = o->window;
	}
	if (o->workloads & 16u) {
		/* Half the submit peak (this run's, or the calibration's), offered
		 * at a steady pace whatever the replies do. */
		double peak = o->workloads & 1u ? res[0].rate : rate;
		int64_t pace = (int64_t)(1e9 * B.nworkers / (peak / 2 > 1 ? peak / 2 : 1));
		fprintf(stderr, "rx-bench: submit at half peak (%.0f/s)...\n", peak / 2);
		bench_jobs_prepare(&B, B.nworkers, bench_run_jobs_for(peak / 2, o->seconds, B.nworkers), bench_choose_submit);
		for (int i = 0; i < B.nworkers; i++)
			B.w[i].pace_ns = pace;
		res[4] = bench_run(&B, B.nworkers, o->seconds, names[4], "req/s");
		res[4].exhausted = 0; /* paced: it may finish its jobs on time */
		for (int i = 0; i < B.nworkers; i++)
			B.w[i].pace_ns = 0;
	}
	for (int i = 0; i < NWL; i++)
		bench_report_costs(&res[i]);

	R.rss_kib = bench_rxd_rss_anon_kib(&B.rxd);
	L->lmdb1_after = bench_limit_lmdb(o->dir, 1, 512, lim_ms, L->lmdb1_after_ms);
	for (int i = 0; i < o->clients; i++) {
		rxc_destroy(&B.w[i].clinic);
		rxc_destroy(&B.w[i].pharmacy);
	}
	zmq_ctx_term(B.zctx);
	int status = bench_rxd_stop(&B.rxd);
	if (o->keep)
		fprintf(stderr, "rx-bench: data dir kept: %s\n", B.rxd.dir);
	else
		bench_rxd_remove(&B.rxd);

	if (o->vs_postgres) {
#ifdef RX_BENCH_PG
		bench_peer_run(&B, &R.pg);
#else
		snprintf(R.pg.why, sizeof R.pg.why, "rx-bench was built without libpq");
#endif
	}
	bench_report_print(&R);
	if (o->json && bench_report_json(o->json, &R) != 0)
		bench_die("cannot write %s", o->json);
	uint64_t errors = 0;
	for (int i = 0; i < NWL; i++)
		errors += res[i].errors;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_die("%s", "rxd did not stop cleanly");
	free(B.queue);
	free(B.pool);
	free(B.done);
	free(B.w);
	return errors ? 2 : 0;
}
