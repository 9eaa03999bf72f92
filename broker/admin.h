/* admin: the operator's requests on the local admin socket (rxctl).
 * The socket is ipc in the data dir with mode 0600, so only the broker's own
 * user reaches it; requests carry no signatures. */
#ifndef ADMIN_H
#define ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "rx_crypto.h"
#include "store.h"

typedef struct {
	store_t *store;           /* borrowed */
	const rx_keypair_t *key;  /* borrowed: broker key, shown by stats */
	const char *curve_key;    /* borrowed: the broker's CurveZMQ public key, Z85 */
	int64_t started_at;
	uint64_t requests;        /* client requests served so far */
	const char *dir;          /* borrowed: the data dir (backups copy its keys) */
	const char *pseudonym_key; /* borrowed: its path, outside dir (BACKUP copies it only when asked) */
	metrics_t *metrics;       /* borrowed */
} admin_t;

/* Handle one admin request frame.  On RX_OK *reply is the reply frame (the
 * caller owns it) and *status the outcome, for the log.  RX_SYSTEM only if
 * memory ran out. */
rx_err_t admin_request(const admin_t *a, const uint8_t *frame, size_t len, int64_t now,
		       store_buf_t *reply, rx_err_t *status, int *op) RX_MUST_CHECK;

/* Long operator work runs off the store thread (see jobs.h).  admin_is_job:
 * is this frame such a request (the ops marked job in admin.c's table of
 * ops: walks of the whole store or log, or its copy)?  A frame that does not
 * decode is not: admin_request refuses it on the loop. */
int admin_is_job(const uint8_t *frame, size_t len);

/* A refusal reply frame (the caller owns *reply).  RX_SYSTEM if memory ran
 * out. */
rx_err_t admin_refusal(rx_err_t code, const char *why, store_buf_t *reply) RX_MUST_CHECK;

/* An operator action a job leaves for the loop thread to audit. */
typedef struct {
	char action[24];                     /* "" for none */
	char id[RX_ID_LEN + 1];
	char patient[RX_PATIENT_ID_LEN + 1];
	char detail[1100];
} admin_audit_t;

/* admin_request for a job, on any thread: it only reads (its own read
 * transactions) and leaves in *audit what admin_job_done must record. */
rx_err_t admin_job(const admin_t *a, const uint8_t *frame, size_t len, int64_t now,
		   store_buf_t *reply, rx_err_t *status, int *op, admin_audit_t *audit) RX_MUST_CHECK;
/* On the loop thread, before the job's reply is sent: record its operator
 * action if it succeeded.  If that fails, *reply (still the caller's) is
 * replaced by an UNAVAILABLE refusal: what was not audited is not given out.
 * RX_SYSTEM only if memory ran out (*reply is then empty). */
rx_err_t admin_job_done(const admin_t *a, const admin_audit_t *audit, int64_t now,
			store_buf_t *reply, rx_err_t *status) RX_MUST_CHECK;

#endif
