/* harness: run the real rxd for integration tests.
 *
 * Each test starts its own rxd (path from $RXD) on a fresh temp data dir and
 * a port the kernel picks (tcp://127.0.0.1:*), waits until the admin socket
 * answers, and stops it by PID: through rxd_fixture, the one module that
 * runs rxd for tests and rx-bench alike (a test that dies mid-way never
 * leaves a broker behind).  What is the harness's own: the settings a suite
 * starts rxd with, the institutions, keys, patients and cards it registers,
 * clients for them, and Check assertions where a test cannot go on. */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdint.h>
#include <sys/types.h>

#include "rx.pb-c.h"
#include "rx_crypto.h"
#include "rx_types.h"
#include "rxclient.h"

#define HARNESS_MAX_INST 16
#define HARNESS_MAX_KEYS 64

/* An institution the harness registered, with its CurveZMQ key pair. */
typedef struct {
	char code[RX_INSTITUTION_MAX + 1];
	int kind; /* 1 clinic, 2 pharmacy */
	rx_curve_t curve;
} harness_inst_t;

typedef struct {
	pid_t pid;
	char dir[256];
	char endpoint[256];
	char map_mib[16];
	char metrics[64];       /* --metrics endpoint, "" for none (set before start) */
	char preload[512];      /* LD_PRELOAD for rxd, "" for none (set before start) */
	char fault_file[300];   /* RX_FAULT_FILE for the fault shim */
	char verify_threads[8]; /* --verify-threads, "" for rxd's default (set before start) */
	char pseudonym_key[300]; /* --pseudonym-key, "" for rxd's default (DIR-keys/) */
	char replace_key[32];   /* --replace-lost-key NAME, "" for none (set before a restart) */
	uint8_t server_key[32]; /* rxd's CurveZMQ public key */
	harness_inst_t inst[HARNESS_MAX_INST];
	int ninst;
	struct {
		uint8_t pk[RX_KEY_LEN];
		int inst;
	} keys[HARNESS_MAX_KEYS];
	int nkeys;
} harness_t;

/* Start rxd on a new temp dir (map_mib 0: default map size).  0 on success. */
int harness_start(harness_t *h, int map_mib);
/* The same, also serving Prometheus metrics on a free port (into h->metrics). */
int harness_start_metrics(harness_t *h);
/* Start rxd under the fault shim (tests/faults): writes and syncs of its LMDB
 * file fail while h->fault_file holds "EIO" or "ENOSPC" (harness_fault). */
int harness_start_faulty(harness_t *h, const char *shim);
/* The same with --verify-threads 0: the store thread checks each request
 * as it reads it, so requests sent while rxd was stopped (SIGSTOP) are
 * applied in one batch. */
int harness_start_faulty_serial(harness_t *h, const char *shim);
/* Set the disk's health: NULL or "" healthy, "EIO" or "ENOSPC" failing. */
void harness_fault(harness_t *h, const char *mode);
/* Start rxd on a new temp dir with --pseudonym-key path. */
int harness_start_keyed(harness_t *h, const char *pseudonym_key);
/* Where h's rxd keeps the pseudonym key (path, cap bytes).  0 on success. */
int harness_pseudonym_path(const harness_t *h, char *path, size_t cap);
/* Copy h's pseudonym key to where an rxd on data dir dir looks for it by
 * default (DIR-keys/pseudonym.key, the directory made mode 0700): the
 * restore step for a backup made without it.  0 on success. */
int harness_copy_pseudonym_key(const harness_t *h, const char *dir);
/* Start rxd on an existing data dir (a restored backup), any free port. */
int harness_start_in(harness_t *h, const char *dir);
/* Start again on the same dir and endpoint (after harness_stop). */
int harness_restart(harness_t *h);
/* Start on another data dir, a copy of h's with its DIR-keys beside it,
 * at a new free port, keeping h's registrations (after harness_stop): the
 * survivor of a failover (tests/crash).  h->dir becomes dir. */
int harness_move(harness_t *h, const char *dir);
/* Send sig and reap; returns the exit status as waitpid gives it. */
int harness_stop(harness_t *h, int sig);
/* Stop if running and remove the temp dir and its sibling DIR-keys. */
void harness_cleanup(harness_t *h);

/* A client for kp on this broker, connecting with its institution's
 * CurveZMQ key (timeout_ms 0: 5000). */
rxc_t *harness_client(harness_t *h, void *zctx, const rx_keypair_t *kp, int timeout_ms);
/* Set o's CurveZMQ fields for kp's institution (for callers making their
 * own rxc_new with other timeouts). */
void harness_curve_options(harness_t *h, const rx_keypair_t *kp, rxc_options_t *o);
/* The same with a CurveZMQ key pair of the caller's choice. */
rxc_t *harness_client_curve(harness_t *h, void *zctx, const rx_keypair_t *kp,
			    const rx_curve_t *curve, int timeout_ms);
/* The institution registered under code, registering it (with a new curve
 * key) if it is not yet; NULL on failure. */
harness_inst_t *harness_institution(harness_t *h, const char *code, int kind);

/* Admin request/reply over the admin socket; reply is the caller's. */
int harness_admin(harness_t *h, const Rx__AdminRequest *q, Rx__AdminReply **reply);
/* A new key pair, registered with role and institution (registered first
 * if new: a clinic for a prescriber, a pharmacy for a pharmacy key).  0 on
 * success. */
int harness_key(harness_t *h, rx_keypair_t *kp, int role, const char *institution);
int harness_revoke(harness_t *h, const rx_keypair_t *kp);
/* Enroll a My Number; its patient id into pid.  0 on success. */
int harness_enroll(harness_t *h, const char *mynumber, char pid[RX_PATIENT_ID_LEN + 1]);
/* A new simulated card for an enrolled patient, enrolled.  0 on success. */
int harness_card(harness_t *h, const char *patient, rx_keypair_t *card);
/* The institution whose connection kp uses (see harness_client). */
const char *harness_institution_of(harness_t *h, const rx_keypair_t *kp);
/* card's assertion for purpose, made now at kp's institution (heap memory:
 * rxc_signed_free). */
void harness_assertion(harness_t *h, const rx_keypair_t *card, const rx_keypair_t *kp, int purpose,
		       Rx__Signed *out);

/* Run the real rxctl ($RXCTL) on h's data dir with --json and the
 * arguments fmt makes (quote paths in it); its stdout into out (cap bytes,
 * NUL-ended), its stderr dropped.  Returns its exit status, -1 if it did not
 * exit. */
int harness_rxctl(const harness_t *h, char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Stats; 0 on success. */
int harness_stats(harness_t *h, Rx__Stats *out);

/* A prescription or dispense record as the tests send it: the message with
 * its one item (amlodipine), unsigned: rxc_submit / rxc_dispense (or
 * rxc_frame) sign it once, bound to its call.  The message points into the
 * struct: fill it where it stays, do not copy it.  Nothing is on the heap. */
typedef struct {
	Rx__Prescription p;
	Rx__Item item;
	Rx__Item *items[1];
} harness_rx_t;
typedef struct {
	Rx__DispenseRecord d;
	Rx__Item item;
	Rx__Line line;
	Rx__Line *lines[1];
} harness_rec_t;
/* A version-2 prescription by kp (its prescriber key) for patient; issued_at
 * 0: now, valid_until 0: the usual 4 days; notes NULL: none. */
void harness_prescription(const rx_keypair_t *kp, const char *patient, uint32_t uses,
			  int64_t issued_at, int64_t valid_until, const char *notes, harness_rx_t *out);
/* A version-2 dispense record by kp (its pharmacy key): the prescribed item
 * (harness_prescription's) handed over as written. */
void harness_dispense_record(const rx_keypair_t *kp, const char *id, uint32_t use, harness_rec_t *out);

/* Milliseconds on the monotonic clock. */
int64_t harness_ms(void);

/* The files a real rx-clinic binary is run with, in f->dir (the caller's
 * fresh dir, from tu_subdir; testutil.h's scratch is per test file): the
 * prescriber's and the card's keys, the clinic's CurveZMQ key pair, the
 * server key (the data dir's broker.curve.pub, the same for every node
 * started on a copy of it), and paths for a prescription and an outbox. */
#define HARNESS_PATH_MAX 128 /* testutil.h's TU_PATH_MAX */
typedef struct {
	char dir[HARNESS_PATH_MAX];
	char key[HARNESS_PATH_MAX + 16], curve[HARNESS_PATH_MAX + 16], card[HARNESS_PATH_MAX + 16];
	char server[300], rx[HARNESS_PATH_MAX + 16], outbox[HARNESS_PATH_MAX + 16];
	const char *institution;
} harness_clinic_files_t;

void harness_clinic_files(harness_t *h, const rx_keypair_t *doc, const rx_keypair_t *card,
			  harness_clinic_files_t *f);
/* Write text to path (mode 0600), failing the test if it cannot. */
void harness_write_file(const char *path, const char *text);
/* The prescription id on the slip f->dir/TAG.slip, into id. */
void harness_slip_id(const harness_clinic_files_t *f, const char *tag, char id[RX_ID_LEN + 1]);

#endif
