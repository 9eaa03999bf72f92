/* rxd_fixture: run the real rxd for a test or a benchmark, and stop it.
 *
 * The one place that starts rxd as a child process, for the integration
 * suites and the crash harness (through tests/harness) and for rx-bench
 * (through bench/bench_rxd).  rxd runs on a data dir the caller made
 * (rxd_fixture_mkdtemp, or an existing store), listens where the caller
 * says (tcp://127.0.0.1:* lets the kernel pick a free port), and appends
 * its stderr to DIR/rxd.log.  Start returns once rxd has written
 * DIR/rxd.endpoint and its admin socket answers a STATS: polled with a
 * deadline, never a fixed sleep.  The child gets PR_SET_PDEATHSIG, so a
 * test or a benchmark that dies never leaves a broker behind.  Once it
 * serves, the rxd_fixture_add_* calls register what a run needs (an
 * institution, a key, a card) on its admin socket, each with a new key pair.
 *
 * It knows nothing of Check: a failure is a code and a reason, never an
 * assertion, so a benchmark can use it as well as a test. */
#ifndef RXD_FIXTURE_H
#define RXD_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rx_crypto.h"
#include "rx_err.h"

/* How to run rxd.  Every string may be NULL or "" for "not given" (rxd's
 * default); all are borrowed for the duration of rxd_fixture_start. */
typedef struct {
	const char *rxd;            /* the program (required) */
	const char *dir;            /* --data, an existing directory (required) */
	const char *listen;         /* --listen (required) */
	const char *map_mib;        /* --map-size, in MiB */
	const char *metrics;        /* --metrics endpoint */
	const char *verify_threads; /* --verify-threads */
	const char *pseudonym_key;  /* --pseudonym-key */
	const char *replace_key;    /* --replace-lost-key NAME */
	/* LD_PRELOAD for rxd alone (the fault shim, tests/faults), with
	 * RX_FAULT_FILE set to fault_file beside it. */
	const char *preload, *fault_file;
} rxd_fixture_opts_t;

/* An rxd that came up. */
typedef struct {
	pid_t pid;
	char endpoint[256];     /* the bound endpoint, from DIR/rxd.endpoint */
	uint8_t server_key[32]; /* rxd's CurveZMQ public key (DIR/broker.curve.pub) */
} rxd_fixture_t;

/* Make a new empty directory PARENT/PREFIX.XXXXXX (mode 0700) into dir
 * (cap bytes).  RX_OK, or RX_SYSTEM with dir undefined. */
rx_err_t rxd_fixture_mkdtemp(char *dir, size_t cap, const char *parent,
			     const char *prefix) RX_MUST_CHECK;

/* Start rxd as o says and wait, at most 15 s, until it serves.  RX_OK with
 * *f filled.  Otherwise why (whylen bytes) says what went wrong: RX_SYSTEM
 * if rxd could not be started or its key read, RX_UNREACHABLE if it exited
 * (reaped: f->pid is 0) or did not answer in time (its log says why).  A
 * child still running has its pid in f->pid even then: the caller stops it
 * (rxd_fixture_stop), as after a success. */
rx_err_t rxd_fixture_start(rxd_fixture_t *f, const rxd_fixture_opts_t *o, char *why,
			   size_t whylen) RX_MUST_CHECK;

/* Send sig to the rxd *pid (if *pid > 0) and reap it; *pid becomes 0.
 * Returns the exit status as waitpid gives it, -1 if there was none. */
int rxd_fixture_stop(pid_t *pid, int sig);

/* Remove the data dir dir and, if it exists, the pseudonym key's default
 * directory beside it (DIR-keys, rxd's default).  RX_OK if everything went. */
rx_err_t rxd_fixture_remove(const char *dir);

/* Register on the admin socket of the rxd serving dir, each with a new key
 * pair into the caller's memory: an institution of kind (Rx__InstitutionKind)
 * with its CurveZMQ key pair *curve; a signing key *kp of role for
 * institution; a card *card for an enrolled patient.  name labels the
 * record.  RX_OK, or the refusal's code (RX_UNREACHABLE if rxd did not
 * answer) with why (whylen bytes) set. */
rx_err_t rxd_fixture_add_institution(const char *dir, const char *code, int kind, const char *name,
				     rx_curve_t *curve, char *why, size_t whylen) RX_MUST_CHECK;
rx_err_t rxd_fixture_add_key(const char *dir, int role, const char *institution, const char *name,
			     rx_keypair_t *kp, char *why, size_t whylen) RX_MUST_CHECK;
rx_err_t rxd_fixture_add_card(const char *dir, const char *patient, rx_keypair_t *card, char *why,
			      size_t whylen) RX_MUST_CHECK;

#endif
