/* bench_pg: the PostgreSQL comparison (see bench_pg.h). */
#include "bench_pg.h"
#include "bench_limits.h"

#include <errno.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BODY_LEN 600 /* about a signed prescription's size */
#define MAX_PG_CLIENTS 256

struct bench_pg {
	char dir[512], bindir[512], conninfo[700];
	int started;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Run argv (as the postgres user when we are root), output to log;
 * its exit status, or -1. */
static int run_as_pg(char *const argv[], const char *log)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (geteuid() == 0) {
			struct passwd *pw = getpwnam("postgres");
			if (pw == NULL || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
				_exit(126);
		}
		/* Opened as the user the server runs as: pg_ctl appends to it. */
		FILE *f = fopen(log, "a");
		if (f) {
			dup2(fileno(f), 1);
			dup2(fileno(f), 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	return ok ? 0 : -1;
}

int bench_pg_start(bench_pg_t **out, const char *parent, const char *bindir, char *why,
		   size_t whylen)
{
	bench_pg_t *pg = calloc(1, sizeof *pg);
	char path[600], log[600], opts[800], data[600];
	*out = NULL;
	if (pg == NULL)
		return -1;
	if (bindir)
		snprintf(pg->bindir, sizeof pg->bindir, "%s", bindir);
	else {
		FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
		if (p == NULL || fgets(pg->bindir, sizeof pg->bindir, p) == NULL)
			snprintf(pg->bindir, sizeof pg->bindir, "/usr/lib/postgresql/15/bin");
		if (p)
			pclose(p);
		pg->bindir[strcspn(pg->bindir, "\n")] = '\0';
	}
	snprintf(pg->dir, sizeof pg->dir, "%s/rx-bench-pg.XXXXXX", parent);
	if (mkdtemp(pg->dir) == NULL) {
		snprintf(why, whylen, "cannot create a dir in %s", parent);
		free(pg);
		return -1;
	}
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("postgres");
		if (pw == NULL || chown(pg->dir, pw->pw_uid, pw->pw_gid) != 0) {
			snprintf(why, whylen, "running as root and no postgres user to run PostgreSQL as");
			bench_pg_destroy(&pg);
			return -1;
		}
	}
	*out = pg;
	snprintf(log, sizeof log, "%s/pg.log", pg->dir);
	snprintf(data, sizeof data, "%s/data", pg->dir);
	snprintf(path, sizeof path, "%s/initdb", pg->bindir);
	char *initdb[] = {path, "-D", data, "-U", "bench", "-A", "trust", "-E", "UTF8", "--no-sync", NULL};
	if (run_as_pg(initdb, log) != 0) {
		snprintf(why, whylen, "initdb failed (see %s)", log);
		return -1;
	}
	/* Unix socket only, in the cluster's dir; durability as shipped. */
	snprintf(opts, sizeof opts,
		 "-k %s -c listen_addresses= -c fsync=on -c synchronous_commit=on "
		 "-c max_connections=300 -c shared_buffers=128MB",
		 pg->dir);
	snprintf(path, sizeof path, "%s/pg_ctl", pg->bindir);
	char *start[] = {path, "-D", data, "-l", log, "-o", opts, "-w", "start", NULL};
	if (run_as_pg(start, log) != 0) {
		snprintf(why, whylen, "pg_ctl start failed (see %s)", log);
		return -1;
	}
	pg->started = 1;
	snprintf(pg->conninfo, sizeof pg->conninfo, "host=%s user=bench dbname=postgres", pg->dir);
	PGconn *c = PQconnectdb(pg->conninfo);
	int ok = PQstatus(c) == CONNECTION_OK &&
		 exec_ok(c, "CREATE TABLE rx (id bigserial PRIMARY KEY, patient text NOT NULL, "
			    "state int NOT NULL, body bytea NOT NULL, token bytea)") == 0 &&
		 exec_ok(c, "CREATE INDEX rx_issued ON rx (id) WHERE state = 1") == 0 &&
		 exec_ok(c, "CREATE TABLE dispense (rx_id bigint PRIMARY KEY REFERENCES rx, "
			    "record bytea NOT NULL)") == 0;
	if (!ok)
		snprintf(why, whylen, "cannot create the tables: %s", PQerrorMessage(c));
	PQfinish(c);
	return ok ? 0 : -1;
}

void bench_pg_destroy(bench_pg_t **pgp)
{
	bench_pg_t *pg = pgp ? *pgp : NULL;
	if (pg == NULL)
		return;
	if (pg->started) {
		char path[600], data[600], log[600];
		snprintf(path, sizeof path, "%s/pg_ctl", pg->bindir);
		snprintf(data, sizeof data, "%s/data", pg->dir);
		snprintf(log, sizeof log, "%s/pg.log", pg->dir);
		char *stop[] = {path, "-D", data, "-m", "immediate", "-w", "stop", NULL};
		(void)run_as_pg(stop, log);
	}
	nftw(pg->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(pg);
	*pgp = NULL;
}

typedef struct {
	bench_pg_t *pg;
	const bench_pg_tier_t *tier; /* NULL: raw */
	int client, pairs;
	int64_t deadline;
	pthread_barrier_t *go;
	uint32_t *lat;
	size_t nlat, cap;
	uint64_t errors, verifies; /* verifies: of the units recorded */
	int ran_out, bad_connect;
	int64_t end;
} pgw_t;

static void record(pgw_t *w, int64_t t0)
{
	if (w->nlat == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		uint32_t *n = realloc(w->lat, cap * sizeof *n);
		if (n == NULL)
			return;
		w->lat = n;
		w->cap = cap;
	}
	w->lat[w->nlat++] = (uint32_t)((now_ns() - t0) / 1000);
}

/* The tier's verification of request step of unit k into *n; 0 if it held
 * (or there is no tier). */
static int tier_ok(pgw_t *w, uint64_t k, bench_pg_step_t step, const uint8_t *token, int *n)
{
	if (w->tier == NULL)
		return 0;
	int v = w->tier->verify(w->tier->ctx, w->client, k, step, token);
	if (v < 0) {
		w->errors++;
		return -1;
	}
	*n += v;
	return 0;
}

static void *pg_work(void *p)
{
	pgw_t *w = p;
	uint8_t body[BODY_LEN], token[16];
	uint64_t k = 0;
	PGconn *c = PQconnectdb(w->pg->conninfo);
	int ok = PQstatus(c) == CONNECTION_OK;
	if (ok) {
		PGresult *r = PQprepare(c, "submit",
					"INSERT INTO rx (patient, state, body) VALUES ($1, 1, $2)", 2, NULL);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		r = PQprepare(c, "claim",
			      "UPDATE rx SET state = 2, token = $1 WHERE id = (SELECT id FROM rx "
			      "WHERE state = 1 LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
			      1, NULL);
		ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		/* The state change and the record are one transaction, as in rxd. */
		r = PQprepare(c, "dispense",
			      "WITH d AS (UPDATE rx SET state = 3 WHERE id = $1 AND state = 2 AND "
			      "token = $2 RETURNING id) INSERT INTO dispense SELECT id, $3 FROM d",
			      3, NULL);
		ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
	}
	w->bad_connect = !ok;
	pthread_barrier_wait(w->go);
	randombytes_buf(body, sizeof body);
	for (; ok && now_ns() < w->deadline; k++) {
		int64_t t0 = now_ns();
		int nv = 0;
		if (!w->pairs) {
			if (tier_ok(w, k, BENCH_PG_SUBMIT, NULL, &nv) != 0)
				continue;
			const char *vals[2] = {"P0000000000000000A", (const char *)body};
			int lens[2] = {0, BODY_LEN}, fmts[2] = {0, 1};
			PGresult *r = PQexecPrepared(c, "submit", 2, vals, lens, fmts, 0);
			if (PQresultStatus(r) == PGRES_COMMAND_OK) {
				record(w, t0);
				w->verifies += (uint64_t)nv;
			} else
				w->errors++;
			PQclear(r);
			continue;
		}
		if (tier_ok(w, k, BENCH_PG_CLAIM, NULL, &nv) != 0)
			continue;
		randombytes_buf(token, sizeof token);
		const char *cv[1] = {(const char *)token};
		int cl[1] = {sizeof token}, cf[1] = {1};
		PGresult *r = PQexecPrepared(c, "claim", 1, cv, cl, cf, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			w->errors++;
			PQclear(r);
			continue;
		}
		if (PQntuples(r) == 0) {
			PQclear(r);
			w->ran_out = 1;
			break;
		}
		char id[32];
		snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		/* The claim is taken and stays taken: as in rxd, a DISPENSE whose
		 * signatures fail leaves the prescription claimed. */
		if (tier_ok(w, k, BENCH_PG_DISPENSE, token, &nv) != 0)
			continue;
		const char *dv[3] = {id, (const char *)token, (const char *)body};
		int dl[3] = {0, sizeof token, BODY_LEN}, df[3] = {0, 1, 1};
		r = PQexecPrepared(c, "dispense", 3, dv, dl, df, 0);
		if (PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdTuples(r), "1") == 0) {
			record(w, t0);
			w->verifies += (uint64_t)nv;
		} else
			w->errors++;
		PQclear(r);
	}
	w->end = now_ns();
	PQfinish(c);
	return NULL;
}

static int run(bench_pg_t *pg, int clients, int seconds, int pairs, const bench_pg_tier_t *tier,
	       bench_pg_result_t *out)
{
	pthread_t th[MAX_PG_CLIENTS];
	pgw_t w[MAX_PG_CLIENTS];
	pthread_barrier_t go;
	if (clients < 1 || clients > MAX_PG_CLIENTS)
		return -1;
	memset(out, 0, sizeof *out);
	memset(w, 0, sizeof w);
	pthread_barrier_init(&go, NULL, (unsigned)clients + 1);
	for (int i = 0; i < clients; i++) {
		w[i].pg = pg;
		w[i].tier = tier;
		w[i].client = i;
		w[i].pairs = pairs;
		w[i].go = &go;
		w[i].deadline = INT64_MAX;
		if (pthread_create(&th[i], NULL, pg_work, &w[i]) != 0)
			return -1;
	}
	int64_t t0 = now_ns();
	for (int i = 0; i < clients; i++)
		w[i].deadline = t0 + (int64_t)seconds * 1000000000;
	pthread_barrier_wait(&go);
	t0 = now_ns();
	int64_t end = t0;
	size_t n = 0;
	uint64_t verifies = 0;
	int bad = 0;
	for (int i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
		n += w[i].nlat;
		verifies += w[i].verifies;
		out->errors += w[i].errors;
		out->ran_out |= w[i].ran_out;
		bad |= w[i].bad_connect;
		if (w[i].end > end)
			end = w[i].end;
	}
	pthread_barrier_destroy(&go);
	uint32_t *all = malloc((n ? n : 1) * sizeof *all);
	size_t k = 0;
	for (int i = 0; i < clients; i++) {
		if (all)
			memcpy(all + k, w[i].lat, w[i].nlat * sizeof *all);
		k += w[i].nlat;
		free(w[i].lat);
	}
	if (all == NULL || bad) {
		free(all);
		return -1;
	}
	bench_sort_us(all, n);
	out->units = n;
	out->secs = (double)(end - t0) / 1e9;
	out->per_second = out->secs > 0 ? (double)n / out->secs : 0;
	if (n) {
		out->verifies_per_unit = (double)verifies / (double)n;
		out->p50 = bench_pct_ms(all, n, 0.50);
		out->p99 = bench_pct_ms(all, n, 0.99);
		out->p999 = bench_pct_ms(all, n, 0.999);
	}
	free(all);
	return 0;
}

int bench_pg_submit(bench_pg_t *pg, int clients, int seconds, const bench_pg_tier_t *tier,
		    bench_pg_result_t *out)
{
	PGconn *c = PQconnectdb(pg->conninfo);
	int ok = PQstatus(c) == CONNECTION_OK && exec_ok(c, "TRUNCATE dispense, rx RESTART IDENTITY") == 0;
	PQfinish(c);
	if (!ok)
		return -1;
	return run(pg, clients, seconds, 0, tier, out);
}

int bench_pg_claim_dispense(bench_pg_t *pg, int clients, int seconds, const bench_pg_tier_t *tier,
			    bench_pg_result_t *out)
{
	/* Enough ISSUED rows for any pace this machine allows, written
	 * before the clock starts. */
	char sql[300];
	PGconn *c = PQconnectdb(pg->conninfo);
	snprintf(sql, sizeof sql,
		 "INSERT INTO rx (patient, state, body) SELECT 'P0000000000000000A', 1, "
		 "decode(repeat('ab', %d), 'hex') FROM generate_series(1, %d)",
		 BODY_LEN, seconds * 20000);
	int ok = PQstatus(c) == CONNECTION_OK && exec_ok(c, sql) == 0 && exec_ok(c, "VACUUM ANALYZE rx") == 0;
	PQfinish(c);
	if (!ok)
		return -1;
	return run(pg, clients, seconds, 1, tier, out);
}
