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

#endif
