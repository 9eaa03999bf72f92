/* bench_rxd: a real rxd for rx-bench, on a temp data dir and a kernel-picked
 * loopback port, with one clinic, one pharmacy, their keys, and patients with
 * enrolled cards, all registered through the admin socket, and what rxd
 * costs while it runs (CPU, bytes written, memory).
 *
 * Starting and stopping rxd is tests/rxd_fixture's, as for the test suites:
 * a benchmark that dies never leaves a broker behind. */
#ifndef BENCH_RXD_H
#define BENCH_RXD_H

#include <stdint.h>
#include <sys/types.h>

#include "rx_crypto.h"
#include "rx_types.h"

#define BENCH_MAX_PATIENTS 64
#define BENCH_MAX_KEYS 256 /* a prescriber and a pharmacist key per client */

typedef struct {
	pid_t pid;
	char dir[512];                /* the data dir (created here, or the one given) */
	int reused;                   /* dir was given: an existing store, kept */
	char endpoint[256];           /* from DIR/rxd.endpoint */
	uint8_t server_key[32];       /* rxd's CurveZMQ public key */
	char clinic_code[RX_INSTITUTION_MAX + 1], pharmacy_code[RX_INSTITUTION_MAX + 1];
	rx_curve_t clinic_curve, pharmacy_curve;
	/* Each client its own keys, as each clinic and pharmacy has: the
	 * broker keeps a caller's stored replies in a range of their own. */
	rx_keypair_t prescriber[BENCH_MAX_KEYS], pharmacist[BENCH_MAX_KEYS];
	int nkeys;
	int npatients;
	char patient[BENCH_MAX_PATIENTS][RX_PATIENT_ID_LEN + 1];
	rx_keypair_t card[BENCH_MAX_PATIENTS];
} bench_rxd_t;

/* Start rxd (the program at rxd_path) on a new data dir inside parent (or,
 * if data is not NULL, on that existing one), its log in DIR/rxd.log, with
 * an LMDB map of map_mib MiB (0: rxd's default) and, if metrics is not
 * NULL, --metrics metrics, and wait until its admin socket answers.  0 on
 * success; -1 with why set. */
int bench_rxd_start(bench_rxd_t *b, const char *rxd_path, const char *parent, const char *data,
		    long map_mib, const char *metrics, char *why, size_t whylen);
/* Register the clinic, the pharmacy, nkeys prescriber and nkeys pharmacy
 * keys, and npatients patients each with a card.  0 on success; -1 with why
 * set. */
int bench_rxd_populate(bench_rxd_t *b, int npatients, int nkeys, char *why, size_t whylen);
/* rxd's CPU time so far (user + system), in seconds; -1 if unknown. */
double bench_rxd_cpu(const bench_rxd_t *b);
/* Bytes rxd has handed to write(2) and friends so far (wchar in
 * /proc/PID/io: LMDB's page writes, and its log); -1 if unknown. */
long long bench_rxd_written(const bench_rxd_t *b);
/* How far rxd's log (DIR/rxd.log) has grown, in bytes; -1 if unknown. */
long long bench_rxd_log_size(const bench_rxd_t *b);
/* What rxd's log (its lines over the log's bytes from..to) says of the
 * requests it answered OK: in commit, the commit each waited on
 * (commit_us), and in inside, its time in rxd from read to reply sent
 * (latency_us); each median, 99th percentile and most, in ms.  The disk's
 * part and rxd's part of the latency a client sees.  How many lines were
 * read; 0 if none (the figures then zeros). */
size_t bench_rxd_commits(const bench_rxd_t *b, long long from, long long to, double commit[3],
			 double inside[3]);
/* rxd's resident memory in KiB (RssAnon: outside LMDB's file-backed map). */
long bench_rxd_rss_anon_kib(const bench_rxd_t *b);
/* SIGTERM and reap; the exit status as waitpid gives it. */
int bench_rxd_stop(bench_rxd_t *b);
/* Remove the data dir. */
void bench_rxd_remove(bench_rxd_t *b);

#endif
