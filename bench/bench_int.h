/* bench_int: what the parts of rx-bench share (not a library: one program).
 *
 *   rx-bench.c      flags, setting up rxd and the clients, the order of the
 *                   workloads (main)
 *   bench_jobs.c    the work, signed before the clock starts (but a
 *                   pair's DISPENSE: see there)
 *   bench_run.c     the timed loop: clients driving rxd, and their figures
 *   bench_report.c  the table and the JSON
 *   bench_peer.c    the PostgreSQL peer (bench_pg), raw and verifying
 *
 * A benchmark's own failures (out of memory, a thread that would not start,
 * a set-up request refused) end the program with a message (bench_die): its
 * figures would mean nothing. */
#ifndef BENCH_INT_H
#define BENCH_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_rxd.h"
#include "rx.pb-c.h"
#include "rxclient.h"

#define MAX_CLIENTS BENCH_MAX_KEYS
#define MAX_JOBS_PER_PHASE 400000 /* bounds the memory of pre-signed requests */
#define POOL_MAX 2000000

/* Workloads: submit, claim+dispense, mixed day, single client, submit at
 * half the submit peak. */
#define NWL 5
/* --preload beyond this also measures at this many stored. */
#define SCALE_SMALL 10000

enum { JOB_SUBMIT, JOB_PAIR, JOB_STATUS };

/* One pre-signed unit of work. */
typedef struct {
	int kind;
	int patient;             /* index of the patient (SUBMIT, PAIR) */
	char id[RX_ID_LEN + 1];  /* PAIR, STATUS */
	uint8_t *frame;          /* the signed Request: SUBMIT, CLAIM or STATUS */
	size_t len;
	uint8_t rid[RX_REQUEST_ID_LEN]; /* the request id inside frame */
	int has_rid;             /* rid was given before signing (bench_jobs_prepare) */
	int client;              /* the client that sends it: SUBMIT by its prescriber key,
				  * PAIR by its pharmacist key */
	int by;                  /* the client whose prescriber key submitted the
				  * prescription (SUBMIT: client; STATUS is signed by it) */
	uint32_t use;            /* PAIR: the use its dispense record names */
} job_t;

/* A prescription or dispense record as rxc_frame takes it: version 2,
 * unsigned (the request's one signature covers it, bound to its call).  The
 * message points into the struct: fill it where it stays, do not copy it.
 * Nothing is on the heap. */
typedef struct {
	Rx__Prescription p;
	Rx__Item item;
	Rx__Item *items[1];
} bench_rx_t;
typedef struct {
	Rx__DispenseRecord d;
	Rx__Item item;
	Rx__Line line;
	Rx__Line *lines[1];
} bench_rec_t;

/* An ISSUED prescription the pharmacies may claim. */
typedef struct {
	char id[RX_ID_LEN + 1];
	int patient;
	int by; /* the client whose prescriber key submitted it */
} pool_ent_t;

typedef struct {
	int seconds, clients, patients, window;
	long preload;
	const char *json, *rxd, *dir;
	const char *data, *metrics; /* --data, --metrics; NULL if not given */
	int keep, vs_postgres;
	unsigned workloads; /* bit i: run res[i] (submit, pairs, mixed, idle) */
} options_t;

typedef struct worker worker_t;

typedef struct {
	options_t opt;
	bench_rxd_t rxd;
	void *zctx;
	uint32_t use;              /* the use a first claim of a one-use prescription gets */
	uint64_t notes_seq;        /* makes every prescription distinct */
	pool_ent_t *pool;          /* ISSUED prescriptions, unclaimed */
	size_t npool;
	pool_ent_t *done;          /* dispensed ones (for STATUS) */
	size_t ndone;
	long stored;               /* prescriptions submitted so far */
	worker_t *w;
	int nworkers;
	/* The prepared jobs in the order they are handed out: each client takes
	 * the next when it has room, so requests leave in about this order
	 * whichever client is faster (their ids were given in it). */
	job_t **queue;
	size_t nqueue;
	_Atomic size_t next;
} bench_t;

struct worker {
	bench_t *B;
	rxc_t *clinic, *pharmacy;
	job_t *jobs; /* signed for this client (its keys); any client may send them */
	size_t njobs;
	uint32_t *lat; /* microseconds per unit (a request, or a claim+dispense pair) */
	size_t nlat;
	pool_ent_t *made; /* what its submits created */
	size_t nmade;
	pool_ent_t *dispensed;
	size_t ndispensed;
	uint64_t n_submit, n_pair, n_status, n_bad;
	rx_err_t last_bad;
	char last_msg[200];
	int exhausted;
	int64_t start_ns, deadline_ns, end_ns;
	int gap_us, window;
	int64_t pace_ns; /* >0: start a unit every pace_ns (open loop), latency from then */
	pthread_barrier_t *go;
};

/* One workload's figures. */
typedef struct {
	const char *name, *unit;
	double secs, rate, p50, p99, p999; /* rate: units/s; latencies in ms */
	uint64_t units, submits, pairs, statuses, errors;
	double rxd_cpu;   /* rxd's CPU over the run, in cores */
	double kib_per_req; /* what rxd wrote (LMDB pages, its log) per request */
	double commit_ms[3]; /* the commit each OK reply waited on (rxd's log): p50, p99, max */
	double inside_ms[3]; /* its time inside rxd, read to reply (rxd's log): the same */
	size_t ncommits;     /* lines those came from (0: not known) */
	double bench_cpu; /* ours, in cores */
	int exhausted;
	int per_request; /* rate counts requests, not units */
	int skipped;     /* not asked for (--workloads) */
	double commits, verifies, trips; /* per unit (or request), for the ratios */
} result_t;

typedef struct {
	double verify, lmdb1, lmdb100, zmq, zmq_curve;
	double lmdb1_after; /* measured again after the workloads: the disk drifts */
	double lmdb1_ms[2], lmdb1_after_ms[2]; /* one commit's time, p50 and p99 */
	double zmq_curve_1_ms; /* one CurveZMQ round trip at a time: its median */
	double sync1, sync1_ms; /* one page written and fdatasync'd: per second, median */
} limits_t;

/* PostgreSQL's figures, when asked for: raw, then with the application
 * tier's verification; row i % 2 is the peer of res[i % 2]. */
enum { PG_SUBMIT, PG_PAIRS, PG_SUBMIT_VERIFIED, PG_PAIRS_VERIFIED, PG_ROWS };
typedef struct {
	double rate, p50, p99, p999; /* units/s; ms */
	double verifies_per_unit;    /* signatures verified per unit done (0: raw) */
	uint64_t errors;
	int ran_out;
} pg_row_t;

typedef struct {
	int have;
	pg_row_t row[PG_ROWS];
	char why[300];
} pg_figures_t;

/* Everything the report says, gathered by main. */
typedef struct {
	const options_t *opt;
	limits_t limits;
	result_t res[NWL];
	char model[128]; /* the CPU's */
	long ncpu;
	double load;     /* load average at the start */
	long stored;     /* prescriptions stored at the start of the workloads */
	long rss_kib;    /* rxd's anonymous resident memory at the end */
	pg_figures_t pg;
	/* With a big --preload: submit and claim+dispense at SCALE_SMALL stored. */
	struct {
		long stored; /* 0: not measured */
		result_t small[2];
	} scale;
} report_t;

/* rx-bench.c: "rx-bench: " fmt (with arg) on stderr, and exit 1. */
void bench_die(const char *fmt, const char *arg) __attribute__((noreturn));

/* ---- bench_jobs.c: signing, before the clock starts ---- */

/* Which kind job k of a worker is. */
typedef int (*bench_choose_fn)(size_t k);
int bench_choose_submit(size_t k);
int bench_choose_pair(size_t k);
/* A mixed day: 70% submit, 25% claim+dispense, 5% status. */
int bench_choose_mixed(size_t k);

/* A one-use prescription of one item by client by's prescriber for
 * patient, issued at now, into out (unsigned: rxc_submit or rxc_frame signs
 * it). */
void bench_jobs_prescription(const bench_t *B, int by, int patient, const char *notes, int64_t now,
			     bench_rx_t *out);
/* The dispense record of pair j by its client's pharmacist, into out (unsigned:
 * rxc_dispense or rxc_frame signs it). */
void bench_jobs_record(const bench_t *B, const job_t *j, bench_rec_t *out);
/* Make j the claim+dispense pair of e: its CLAIM signed.  0 on success. */
int bench_jobs_sign_pair(bench_t *B, job_t *j, const pool_ent_t *e);
void bench_jobs_free(job_t *j);
/* Give each of the first nw workers per_worker jobs drawn by choose (from
 * B's pools: a PAIR takes a prescription out of B->pool), and sign them all
 * on every core. */
void bench_jobs_prepare(bench_t *B, int nw, size_t per_worker, bench_choose_fn choose);
/* Free what bench_jobs_prepare gave w (its jobs, whether run or not, and
 * the arrays its results went to); w can be prepared again. */
void bench_jobs_release(worker_t *w);
/* The signed Request frame for call by kp (doc: a SUBMIT's prescription or
 * a DISPENSE's record, bound to the call and signed with it; else NULL), as
 * rxc_frame makes it.  Heap; NULL if memory ran out. */
uint8_t *bench_jobs_frame(const rx_keypair_t *kp, const Rx__Call *call, const ProtobufCMessage *doc,
			  size_t *len);
/* The DISPENSE of pair j, with the claim token its CLAIM returned and a new
 * request id (written to rid), its dispense record signed by B's pharmacist
 * bound to that call: what a client signs in the timed loop (one Ed25519
 * signature).  Heap; NULL if memory ran out. */
uint8_t *bench_jobs_dispense_frame(const bench_t *B, const job_t *j, const uint8_t token[RX_TOKEN_LEN],
				   uint8_t rid[RX_REQUEST_ID_LEN], size_t *len);

/* ---- bench_run.c: the timed loop ---- */

/* Run the jobs prepared for the first nw workers for at most seconds
 * (0: until done), collect what they made, free the jobs.  Returns the
 * figures (latency sorted). */
result_t bench_run(bench_t *B, int nw, int seconds, const char *name, const char *unit);
/* Jobs per client for a run expected to do rate units/s for seconds, with
 * room to spare, within the memory bound. */
size_t bench_run_jobs_for(double rate, int seconds, int nw);
/* Submit (untimed) until at least n prescriptions wait in the pool. */
void bench_run_fill_pool(bench_t *B, size_t n, double rate);
/* Submit (untimed, pipelined like every workload) until n prescriptions
 * are stored. */
void bench_run_preload_to(bench_t *B, long n);

/* ---- bench_peer.c (built only where libpq is found) ---- */

/* Start a throw-away PostgreSQL cluster and run submit and claim+dispense
 * against it from B's clients for B's seconds each: raw, then each client
 * verifying first what rxd verifies (signed here, before the clock, into
 * B's workers' jobs, freed after).  Into out; out->have 0 and out->why set
 * if it could not. */
void bench_peer_run(bench_t *B, pg_figures_t *out);

/* ---- bench_report.c ---- */

/* The CPU's model name from /proc/cpuinfo into out ("unknown" if none). */
void bench_report_cpu_model(char *out, size_t len);
/* Fill r's per-unit costs (commits, verifies, round trips) for the ratios. */
void bench_report_costs(result_t *r);
void bench_report_print(const report_t *R);
/* The report as JSON into path; 0 on success. */
int bench_report_json(const char *path, const report_t *R);

#endif
