/* bench_report: rx-bench's figures as a table on stdout and, with --json,
 * as a JSON file: each rxd figure beside the machine's limits, as a ratio
 * of what those limits allow for the unit's cost. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "bench_int.h"

/* The synced-commit rate the ratios use: the mean of before and after. */
static double lmdb1_of(const limits_t *L)
{
	return L->lmdb1_after > 0 ? (L->lmdb1 + L->lmdb1_after) / 2 : L->lmdb1;
}

void bench_report_cpu_model(char *out, size_t len)
{
	char line[256];
	snprintf(out, len, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "model name", 10) == 0) {
			char *c = strchr(line, ':');
			if (c) {
				c += 2;
				c[strcspn(c, "\n")] = '\0';
				snprintf(out, len, "%s", c);
			}
			break;
		}
	fclose(f);
}

/* The bound a limit puts on units/s, given what one unit costs of it. */
static double bound(double limit, double per_unit)
{
	return limit > 0 && per_unit > 0 ? limit / per_unit : 0;
}

/* A workload's rate as a fraction of what each limit allows (0: unknown). */
typedef struct {
	double lmdb1, lmdb100, verify, zmq;
} ratios_t;

static double ratio(double rate, double bound_rate)
{
	return bound_rate > 0 ? rate / bound_rate : 0;
}

static ratios_t ratios(const limits_t *L, const result_t *r)
{
	double zl = L->zmq_curve > 0 ? L->zmq_curve : L->zmq;
	return (ratios_t){ratio(r->rate, bound(lmdb1_of(L), r->commits)),
			  ratio(r->rate, bound(L->lmdb100 * 100, r->commits)),
			  ratio(r->rate, bound(L->verify, r->verifies)), ratio(r->rate, bound(zl, r->trips))};
}

/* Per unit of work: LMDB commits (writes: one record each, as if committed
 * on its own; rxd's group commit shares one fsync among a batch, so the
 * 100-per-commit records rate is the tighter bound), signatures rxd verifies
 * (protocol v2, one per signer: SUBMIT the prescriber's over the
 * prescription, which names the call, and the card's; CLAIM the pharmacy's
 * over the call and the card's; DISPENSE the pharmacy's over the record;
 * STATUS the caller's over the call) and round trips. */
void bench_report_costs(result_t *r)
{
	double u = (double)(r->submits + r->pairs + r->statuses);
	if (r->per_request)
		u += (double)r->pairs;
	if (u == 0)
		return;
	r->commits = (r->submits + 2.0 * r->pairs + r->statuses) / u;
	r->verifies = (2.0 * r->submits + 3.0 * r->pairs + r->statuses) / u;
	r->trips = (r->submits + 2.0 * r->pairs + r->statuses) / u;
}

static const char *fmt_rate(double v, char *buf, size_t len)
{
	if (v <= 0)
		snprintf(buf, len, "-");
	else if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.1f", v);
	return buf;
}

void bench_report_print(const report_t *R)
{
	const options_t *o = R->opt;
	const limits_t *L = &R->limits;
	const result_t *res = R->res;
	char a[32], b[32];
	printf("rx-bench: %ld cores, %s; load average %.2f at start\n", R->ncpu, R->model, R->load);
	printf("rxd over tcp loopback with CurveZMQ, sync commits, every signature verified; "
	       "%d clients, %d s per workload; %ld prescriptions stored at the start of the workloads\n\n",
	       o->clients, o->seconds, R->stored);
	printf("machine limits (same libraries, this process)\n");
	printf("  %-44s %12s /s\n", "Ed25519 verifies, all cores", fmt_rate(L->verify, a, sizeof a));
	printf("  %-44s %12s /s  (%s /s after the workloads)\n", "LMDB synced commits, 1 record each",
	       fmt_rate(L->lmdb1, a, sizeof a), fmt_rate(L->lmdb1_after, b, sizeof b));
	printf("  %-44s %12.2f ms (p99 %.2f; after the workloads %.2f, p99 %.2f)\n",
	       "  one commit's time, median", L->lmdb1_ms[0], L->lmdb1_ms[1], L->lmdb1_after_ms[0],
	       L->lmdb1_after_ms[1]);
	printf("  %-44s %12s /s  (%s records/s)\n", "LMDB synced commits, 100 records each",
	       fmt_rate(L->lmdb100, a, sizeof a), fmt_rate(L->lmdb100 * 100, b, sizeof b));
	printf("  %-44s %12s /s  (one's time, median %.2f ms)\n", "one page written and fdatasync'd",
	       fmt_rate(L->sync1, a, sizeof a), L->sync1_ms);
	printf("  %-44s %12s /s\n", "ZeroMQ round trips, pipelined, plain", fmt_rate(L->zmq, a, sizeof a));
	printf("  %-44s %12s /s\n", "ZeroMQ round trips, pipelined, CURVE",
	       fmt_rate(L->zmq_curve, a, sizeof a));
	printf("  %-44s %12.2f ms\n\n", "  one at a time, CURVE: one's time, median", L->zmq_curve_1_ms);
	printf("%-20s %10s %-7s %7s %7s %8s %7s %7s %6s %5s  %s\n", "workload", "throughput", "", "p50 ms",
	       "p99 ms", "p99.9 ms", "rxd cpu", "KiB/req", "errors", "", "ratio to limit: 1/commit 100/commit Ed25519 CURVE-rt");
	for (int i = 0; i < NWL; i++) {
		const result_t *r = &res[i];
		ratios_t q = ratios(L, r);
		if (r->skipped)
			continue;
		printf("%-20s %10s %-7s %7.2f %7.2f %8.2f %6.0f%% %7.1f %6llu %5s  %8.2f %10.3f %7.3f %8.4f\n",
		       r->name, fmt_rate(r->rate, a, sizeof a), r->unit, r->p50, r->p99, r->p999,
		       r->rxd_cpu * 100, r->kib_per_req, (unsigned long long)r->errors, r->exhausted ? "short" : "",
		       q.lmdb1, q.lmdb100, q.verify, q.zmq);
	}
	printf("\nratios: throughput / (limit / cost per unit).  Cost per unit: a write (SUBMIT, CLAIM,\n"
	       "DISPENSE; STATUS too, for its audit entry) is one LMDB record; signatures verified:\n"
	       "SUBMIT 2, CLAIM 2, DISPENSE 1, STATUS 1 (one per signer); one round trip per request.\n"
	       "1/commit: each write fsync'd alone (mean of the two measurements); 100/commit: writes\n"
	       "grouped 100 to an fsync, which rxd's group commit can approach.  rxd cpu: cores' worth\n"
	       "of its CPU time.\n"
	       "KiB/req: bytes rxd wrote per request (LMDB's dirty pages at each commit, and its log).\n");
	printf("single client: one request at a time with a 1 ms pause; its LMDB commit alone takes "
	       "%.2f ms (1 / commits per second).\n",
	       lmdb1_of(L) > 0 ? 1000.0 / lmdb1_of(L) : 0);
	/* What an idle SUBMIT cannot do without, each at its median here: a
	 * CurveZMQ round trip, a one-record commit, two verifies on one core. */
	double verify_ms = L->verify > 0 ? 2 * 1000.0 * (double)R->ncpu / L->verify : 0;
	printf("  its floor: a CURVE round trip %.2f + a one-record commit %.2f + two verifies %.2f\n"
	       "  = %.2f ms (medians), before rxd decodes, stores, signs or hands over anything.\n",
	       L->zmq_curve_1_ms, L->lmdb1_ms[0], verify_ms, L->zmq_curve_1_ms + L->lmdb1_ms[0] + verify_ms);
	/* LMDB's synced commit waits for two writes in turn (its pages, then
	 * its meta page); a store whose commit were one synced append would
	 * wait for one: the floor no LMDB commit can reach. */
	if (L->sync1 > 0)
		printf("  with one synced page (%.2f) for the commit instead, as a log's append would be:\n"
		       "  %.2f ms; LMDB's commit is two synced writes in turn, its pages and then its meta page.\n",
		       L->sync1_ms, L->zmq_curve_1_ms + L->sync1_ms + verify_ms);
	printf("half peak: a request waits for the commit in flight, then its own; one commit of one\n"
	       "record takes %.2f ms at p99 on this disk (the larger of the two measurements).\n",
	       L->lmdb1_ms[1] > L->lmdb1_after_ms[1] ? L->lmdb1_ms[1] : L->lmdb1_after_ms[1]);
	printf("rxd's own log, the requests it answered OK (ms): the commit each waited on, and its\n"
	       "time inside rxd, read to reply sent; the rest of a client's latency is the client's,\n"
	       "ZeroMQ's and the kernel's\n");
	for (int i = 0; i < NWL; i++) {
		const result_t *r = &res[i];
		if (!r->skipped && r->ncommits)
			printf("  %-20s commit p50 %5.2f p99 %6.2f max %7.2f; in rxd p50 %5.2f p99 %6.2f max %7.2f\n",
			       r->name, r->commit_ms[0], r->commit_ms[1], r->commit_ms[2], r->inside_ms[0],
			       r->inside_ms[1], r->inside_ms[2]);
	}
	printf("rxd resident anonymous memory at the end: %ld KiB\n", R->rss_kib);
	if (o->vs_postgres && !R->pg.have)
		printf("\nPostgreSQL: not measured: %s\n", R->pg.why);
	if (R->pg.have) {
		printf("\nPostgreSQL: 1 row per prescription, FOR UPDATE SKIP LOCKED claims, fsync and "
		       "synchronous_commit on; same clients (one request at a time each), same seconds.\n"
		       "pg: no signatures checked.  pg+verify: each client first verifies what rxd verifies "
		       "of each request (the same signed frames), then runs the same SQL\n");
		for (int i = 0; i < PG_ROWS; i++) {
			const pg_row_t *p = &R->pg.row[i];
			char name[32];
			/* Within the name column: the raw rows as they always were. */
			snprintf(name, sizeof name, "%s", i == PG_SUBMIT ? "pg submit"
							  : i == PG_PAIRS ? "pg claim+dispense"
							  : i == PG_SUBMIT_VERIFIED ? "pg+verify submit"
										    : "pg+verify pairs");
			printf("%-20s %10s %-7s %7.2f %7.2f %8.2f %7s %7s %6llu %5s  %.1f verifies/unit, "
			       "rxd / this row = %.2f\n",
			       name, fmt_rate(p->rate, a, sizeof a), i % 2 ? "pairs/s" : "req/s", p->p50, p->p99,
			       p->p999, "", "", (unsigned long long)p->errors, p->ran_out ? "short" : "",
			       p->verifies_per_unit, p->rate > 0 ? res[i % 2].rate / p->rate : 0);
		}
	}
	if (R->scale.stored) {
		printf("\nscale: stored at the start    %14ld %14ld   ratio\n", R->scale.stored, R->stored);
		for (int i = 0; i < 2; i++)
			if (!res[i].skipped && R->scale.small[i].units)
				printf("       %-22s %14s %14s   %.2f\n", res[i].name,
				       fmt_rate(R->scale.small[i].rate, a, sizeof a), fmt_rate(res[i].rate, b, sizeof b),
				       R->scale.small[i].rate > 0 ? res[i].rate / R->scale.small[i].rate : 0);
	}
	for (int i = 0; i < NWL; i++)
		if (res[i].exhausted)
			printf("short: %s ran out of pre-signed requests before its time was up\n",
			       res[i].name);
}

int bench_report_json(const char *path, const report_t *R)
{
	const options_t *o = R->opt;
	const limits_t *L = &R->limits;
	const result_t *res = R->res;
	json_t *root = json_object(), *lim = json_object(), *wl = json_array();
	json_object_set_new(root, "machine",
			    json_pack("{s:i, s:s, s:f}", "cores", (int)R->ncpu, "model", R->model,
				      "load_average", R->load));
	json_object_set_new(root, "settings",
			    json_pack("{s:i, s:i, s:I, s:I, s:i}", "seconds", o->seconds, "clients",
				      o->clients, "preload", (json_int_t)o->preload,
				      "stored_at_start", (json_int_t)R->stored, "patients", o->patients));
	json_object_set_new(lim, "ed25519_verifies_per_s", json_real(L->verify));
	json_object_set_new(lim, "lmdb_commits_per_s_1_record", json_real(L->lmdb1));
	json_object_set_new(lim, "lmdb_commits_per_s_1_record_after", json_real(L->lmdb1_after));
	json_object_set_new(lim, "lmdb_commit_ms_1_record",
			    json_pack("{s:f, s:f}", "p50", L->lmdb1_ms[0], "p99", L->lmdb1_ms[1]));
	json_object_set_new(lim, "lmdb_commit_ms_1_record_after",
			    json_pack("{s:f, s:f}", "p50", L->lmdb1_after_ms[0], "p99", L->lmdb1_after_ms[1]));
	json_object_set_new(lim, "lmdb_commits_per_s_100_records", json_real(L->lmdb100));
	json_object_set_new(lim, "lmdb_records_per_s_100_per_commit", json_real(L->lmdb100 * 100));
	json_object_set_new(lim, "page_syncs_per_s", json_real(L->sync1));
	json_object_set_new(lim, "page_sync_ms_p50", json_real(L->sync1_ms));
	json_object_set_new(lim, "zmq_round_trips_per_s", json_real(L->zmq));
	json_object_set_new(lim, "zmq_curve_round_trips_per_s", json_real(L->zmq_curve));
	json_object_set_new(lim, "zmq_curve_round_trip_ms_1_in_flight", json_real(L->zmq_curve_1_ms));
	json_object_set_new(root, "limits", lim);
	for (int i = 0; i < NWL; i++) {
		const result_t *r = &res[i];
		ratios_t q = ratios(L, r);
		if (r->skipped)
			continue;
		json_t *x = json_pack(
			"{s:s, s:s, s:f, s:I, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:b}",
			"name", r->name, "unit", r->unit, "seconds", r->secs, "units", (json_int_t)r->units,
			"per_second", r->rate, "p50_ms", r->p50, "p99_ms", r->p99, "p999_ms", r->p999,
			"submits", (json_int_t)r->submits, "pairs", (json_int_t)r->pairs, "statuses",
			(json_int_t)r->statuses, "errors", (json_int_t)r->errors, "rxd_cpu_cores",
			r->rxd_cpu, "bench_cpu_cores", r->bench_cpu, "rxd_kib_written_per_request",
			r->kib_per_req, "ran_short", r->exhausted);
		json_object_set_new(x, "ratio",
				    json_pack("{s:f, s:f, s:f, s:f}", "lmdb_commits_1_record", q.lmdb1,
					      "lmdb_records_100_per_commit", q.lmdb100, "ed25519_verifies",
					      q.verify, "zmq_round_trips", q.zmq));
		if (r->ncommits) {
			json_object_set_new(x, "rxd_commit_ms",
					    json_pack("{s:f, s:f, s:f}", "p50", r->commit_ms[0], "p99",
						      r->commit_ms[1], "max", r->commit_ms[2]));
			json_object_set_new(x, "rxd_inside_ms",
					    json_pack("{s:f, s:f, s:f}", "p50", r->inside_ms[0], "p99",
						      r->inside_ms[1], "max", r->inside_ms[2]));
		}
		json_array_append_new(wl, x);
	}
	json_object_set_new(root, "workloads", wl);
	json_object_set_new(root, "rxd_rss_anon_kib", json_integer(R->rss_kib));
	if (R->scale.stored)
		json_object_set_new(root, "scale",
				    json_pack("{s:I, s:f, s:f, s:I, s:f, s:f}", "small_stored",
					      (json_int_t)R->scale.stored, "small_submit_per_second",
					      R->scale.small[0].rate, "small_pairs_per_second", R->scale.small[1].rate,
					      "stored", (json_int_t)R->stored, "submit_per_second", res[0].rate,
					      "pairs_per_second", res[1].rate));
	if (R->pg.have) {
		json_t *pg = json_array();
		for (int i = 0; i < PG_ROWS; i++) {
			const pg_row_t *p = &R->pg.row[i];
			json_array_append_new(
				pg, json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:I, s:b, s:f}", "name",
					      i % 2 ? "claim+dispense" : "submit", "verifies_per_unit",
					      p->verifies_per_unit, "per_second", p->rate, "p50_ms", p->p50,
					      "p99_ms", p->p99, "p999_ms", p->p999, "errors", (json_int_t)p->errors,
					      "ran_short", p->ran_out, "rxd_over_postgres",
					      p->rate > 0 ? res[i % 2].rate / p->rate : 0));
		}
		json_object_set_new(root, "postgres", pg);
	}
	int rc = json_dump_file(root, path, JSON_INDENT(2));
	json_decref(root);
	return rc;
}
