/* bench_pg: the same submit and claim+dispense workloads against a
 * throw-away PostgreSQL cluster, for comparison (rx-bench --vs-postgres).
 *
 * A prescription is a row; a claim is an UPDATE of the first ISSUED row
 * taken with FOR UPDATE SKIP LOCKED; a dispense updates the row and inserts
 * a dispense record in one transaction.  synchronous_commit and fsync are
 * on; no signatures are checked (PostgreSQL does none), so the comparison
 * flatters PostgreSQL.  Built only where libpq is found. */
#ifndef BENCH_PG_H
#define BENCH_PG_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_pg bench_pg_t;

/* The figures of one workload: per_second is rows (submit) or pairs
 * (claim+dispense) per second; latencies in ms. */
typedef struct {
	double secs, per_second, p50, p99, p999;
	uint64_t units, errors;
	int ran_out; /* claim+dispense found no ISSUED row before its time was up */
} bench_pg_result_t;

/* initdb and start a cluster in a new dir inside parent (as the postgres
 * user when run as root), binaries from bindir (NULL: pg_config --bindir,
 * else /usr/lib/postgresql/15/bin).  Caller owns *out (bench_pg_destroy).
 * 0 on success; -1 with why set. */
int bench_pg_start(bench_pg_t **out, const char *parent, const char *bindir, char *why,
		   size_t whylen);
/* Stop the cluster, remove its dir, free *pg and set it NULL. */
void bench_pg_destroy(bench_pg_t **pg);

/* clients connections for seconds each.  0 on success. */
int bench_pg_submit(bench_pg_t *pg, int clients, int seconds, bench_pg_result_t *out);
int bench_pg_claim_dispense(bench_pg_t *pg, int clients, int seconds, bench_pg_result_t *out);

#endif
