/* bench_pg: the same submit and claim+dispense workloads against a
 * throw-away PostgreSQL cluster, for comparison (rx-bench --vs-postgres).
 *
 * A prescription is a row; a claim is an UPDATE of the first ISSUED row
 * taken with FOR UPDATE SKIP LOCKED; a dispense updates the row and inserts
 * a dispense record in one transaction.  synchronous_commit and fsync are
 * on.  Raw, no signatures are checked (PostgreSQL does none), which flatters
 * PostgreSQL; given a tier (bench_pg_tier_t), each client thread first does
 * what an application tier in front of PostgreSQL would, before each
 * request's SQL, on the same cores.  Built only where libpq is found. */
#ifndef BENCH_PG_H
#define BENCH_PG_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_pg bench_pg_t;

/* Which request of a unit the tier is asked about. */
typedef enum { BENCH_PG_SUBMIT, BENCH_PG_CLAIM, BENCH_PG_DISPENSE } bench_pg_step_t;

/* The application tier: verify is called on client thread client (0 to
 * clients - 1) before the SQL of request step of its unit k (0, 1, ...);
 * token is the claim token the unit's CLAIM set (DISPENSE only, else NULL).
 * It returns how many signatures it verified, or -1 if one did not hold:
 * the unit then counts as an error and its SQL is not run.  It is called
 * from every client thread at once; ctx is the caller's. */
typedef struct {
	int (*verify)(void *ctx, int client, uint64_t k, bench_pg_step_t step,
		      const uint8_t token[16]);
	void *ctx;
} bench_pg_tier_t;

/* The figures of one workload: per_second is rows (submit) or pairs
 * (claim+dispense) per second; latencies in ms (a unit's from before its
 * first verification to its last commit). */
typedef struct {
	double secs, per_second, p50, p99, p999;
	double verifies_per_unit; /* what the tier verified per unit done (0: raw) */
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

/* clients connections for seconds each, each verifying through tier first
 * (NULL: raw).  A submit run starts from empty tables, so that a raw and a
 * verifying run meet the same store.  0 on success. */
int bench_pg_submit(bench_pg_t *pg, int clients, int seconds, const bench_pg_tier_t *tier,
		    bench_pg_result_t *out);
int bench_pg_claim_dispense(bench_pg_t *pg, int clients, int seconds, const bench_pg_tier_t *tier,
			    bench_pg_result_t *out);

#endif
