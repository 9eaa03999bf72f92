/* crash: the crash harness (see tests/crash/README.md).
 *
 * A controller runs the real rxd, lets clinic and pharmacy threads load it
 * (load.c), kills it with SIGKILL at random moments and restarts it on the
 * same data dir and endpoint, or (--failover) freezes it, copies its data
 * dir and starts a survivor on the copy at another endpoint (failover.c),
 * then checks the whole recorded history against what the last broker
 * holds (check.c).  Every client writes each reply
 * it got to its own fsync'd journal (journal.c); the checker reads those
 * files, never the clients' memory. */
#ifndef CRASH_H
#define CRASH_H

#include <pthread.h>
#include <stdint.h>

#include "conn.h"
#include "harness.h"

#define CRASH_MAX_CLIENTS 16
#define CRASH_MAX_PATIENTS 16

typedef enum { CRASH_CLINIC = 1, CRASH_PHARMACY = 2 } crash_kind_t;

/* One load client: a clinic's prescriber or a pharmacy, with its own
 * institution (and so its own CurveZMQ connection) and journal. */
typedef struct {
	int index;
	crash_kind_t kind;
	char name[32];        /* "clinic-0": the journal is journal/<name>.log */
	char institution[32]; /* its registered institution code */
	rx_keypair_t key;     /* its registered signing key */
	rx_curve_t curve;     /* its institution's CurveZMQ key pair */
} crash_client_t;

/* A prescription the pharmacies may work on (from an acknowledged SUBMIT). */
typedef struct {
	char id[RX_ID_LEN + 1];
	int patient;
	int clinic;
	int items;  /* prescribed items, 1 or 2 */
	int closed; /* dispensed or cancelled: nobody need try it again */
} crash_rx_t;

#define CRASH_POOL 256 /* the most recent prescriptions, a ring */

/* An inquiry a pharmacy opened (proto/README 5.14), waiting for the issuing
 * clinic's thread to answer it: the pharmacy's only way to the prescriber. */
typedef struct {
	unsigned long gen; /* which question this slot holds now */
	int state;         /* 0 free, 1 asked, 2 answered */
	int clinic;        /* the issuing clinic's client index */
	char id[RX_ID_LEN + 1];
	uint32_t number; /* the inquiry's number */
	int answer;      /* answered: Rx__Answer the broker took, 0 none (refused: closed by a cancel) */
} crash_ask_t;

#define CRASH_ASKS 32

/* A failover's copy of the frozen node's data dir (rx-crash --failover):
 * the stored replies it holds, as the survivor started on it.  The
 * controller reads it before the survivor starts; the checker then looks
 * there for every change a node before it acknowledged. */
typedef struct {
	int node;        /* the survivor started on it: 1, 2, ... */
	int stale;       /* the planted fault: taken before the frozen node's last acknowledgements */
	uint64_t *keys;  /* failover_key of each stored reply's caller key and request id, sorted */
	size_t nkeys;
} crash_copy_t;

typedef struct {
	harness_t h;        /* rxd: its pid, data dir, endpoint, server key */
	char work[256];     /* the run's directory */
	char journals[300]; /* work/journal */
	uint64_t seed;
	int resend_ms;  /* resend the same bytes after this long without a reply */
	int last_use_only; /* --last-use-only: withdraw only a prescription's last use */
	int give_up_ms; /* then give up: outcome unknown */
	/* --failover: each cycle freezes rxd, copies its data dir, fences it
	 * and starts a survivor on the copy at a new endpoint (failover.h). */
	int failover;
	int stale_replica;   /* --stale-replica: the last survivor starts on a copy from before
				the frozen node's last acknowledgements (a fault the checker must find) */
	conn_route_t route;  /* where the clients reach the broker */
	crash_copy_t *copies; /* one per failover, in order */
	int ncopies;

	int nclients;
	crash_client_t client[CRASH_MAX_CLIENTS];
	int npatients;
	char patient[CRASH_MAX_PATIENTS][RX_PATIENT_ID_LEN + 1];
	rx_keypair_t card[CRASH_MAX_PATIENTS];

	/* Shared with the load threads, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t progress; /* signalled on every journaled reply and pool change */
	long acks;               /* replies journaled so far */
	int epoch;               /* rxd kills so far (--failover: route.node) */
	int stop;                /* finish the request in hand, then exit */
	int abort;               /* give up at once (the run has failed) */
	long journal_errors;     /* a journal write or fsync failed */
	long bad_replies;        /* a reply that does not decode or verify */
	crash_rx_t pool[CRASH_POOL];
	long pooled; /* prescriptions added to the pool so far */
	crash_ask_t ask[CRASH_ASKS];
	unsigned long asks; /* questions posted so far */
	long answers_acked; /* INQUIRY_REPLYs acknowledged OK (--tamper waits for one) */
	long not_agreed_told; /* DISPENSEs refused NOT_AGREED (--tamper waits for one) */
} crash_world_t;

/* Milliseconds on the monotonic clock. */
int64_t crash_ms(void);

#endif
