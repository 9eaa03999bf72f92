/* audit: the store's hash-chained audit log (internal to store/).
 *
 * Every request and every operator action appends one entry in the same
 * LMDB write transaction as what it records.  Entry n holds the BLAKE2b-256
 * of entry n-1's stored bytes, and meta "audit_head" holds the last seq and
 * the hash of its bytes, so altering or deleting any entry breaks the chain
 * at that entry (or at the head).  The broker signs the head from time to
 * time and at shutdown (meta "audit_signed"). */
#ifndef AUDIT_H
#define AUDIT_H

#include <lmdb.h>
#include <stdint.h>

#include "rx_err.h"
#include "rx_types.h"

typedef struct {
	MDB_dbi log;        /* seq (8, big-endian) -> AuditEntry */
	MDB_dbi by_patient; /* patient id + seq (8, big-endian) -> "" */
	MDB_dbi meta;       /* "audit_head", "audit_signed" */
} audit_dbs_t;

/* One event to record.  Strings may be NULL for none. */
typedef struct {
	int64_t at;
	const uint8_t *actor;    /* RX_KEY_LEN, or NULL for the operator */
	const char *institution;
	const char *action;
	const char *id;
	const char *patient;
	int outcome;             /* rx_err_t */
	const char *detail;
	int indexed_elsewhere;   /* the caller files the entry for the patient's
				  * log itself, not by_patient (store_int.h) */
} audit_event_t;

/* Append e inside txn, its seq into *seq if not NULL; returns an LMDB code
 * (0 on success). */
int audit_append(MDB_txn *txn, const audit_dbs_t *d, const audit_event_t *e, uint64_t *seq_out);

/* The chain head (0 and zeros if empty); an LMDB code. */
int audit_head(MDB_txn *txn, const audit_dbs_t *d, uint64_t *seq, uint8_t hash[RX_HASH_LEN]);

struct store_audit;
struct store_verdict;
/* Decode a stored entry; 0 if it does not decode. */
int audit_decode(const MDB_val *v, struct store_audit *out);
/* Walk the whole chain and check the signed head with broker_pk. */
/* 1 if the head the broker signed last (if any) verifies with pk, or if
 * none was signed yet; 0 if it is another key's. */
int audit_signed_by(MDB_txn *txn, const audit_dbs_t *d, const uint8_t pk[RX_KEY_LEN]);
int audit_verify(MDB_txn *txn, const audit_dbs_t *d, const uint8_t broker_pk[RX_KEY_LEN],
		 struct store_verdict *v);
/* Sign the head if it moved since it was last signed; an LMDB code. */
int audit_sign(MDB_txn *txn, const audit_dbs_t *d, const uint8_t pk[RX_KEY_LEN],
	       const uint8_t sk[RX_SECRET_LEN], int64_t now, int *signed_now);

#endif
