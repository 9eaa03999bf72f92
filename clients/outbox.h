/* outbox: a clinic's unsent requests, kept in a local LMDB until rxd has
 * answered them.
 *
 * A state-changing request (SUBMIT, CANCEL) sent through the outbox is made
 * durable first (a synced LMDB commit), as the exact signed Request frame,
 * then sent.  A reply from rxd, OK or a refusal, settles it; no reply
 * (UNREACHABLE), or UNAVAILABLE (rxd could not store it, nothing changed),
 * leaves it queued, in order, for rxc_outbox_flush.  A resend is the same
 * bytes (request id, call, card assertion), so rxd answers one it already
 * applied with its stored reply: nothing is applied twice.
 *
 * What the broker's clock allows is not weakened: a SUBMIT's card assertion
 * is accepted within 300 s of it being made, so a submit that never reached
 * rxd and is flushed later than that comes back ASSERTION_STALE (the patient
 * must present the card again).  One that did reach rxd gets its stored
 * reply whenever it is resent.
 *
 * On disk, in DIR (mode 0700; a dir group or others may enter is refused):
 * data.mdb and lock.mdb (LMDB, mode 0600) and outbox.lock.  Tables:
 * "pending" and "failed", keyed by an 8-byte big-endian sequence number (so
 * a cursor walks them in the order queued), values an Entry
 * (clients/outbox.proto, with a format version); "meta" holds the next
 * sequence number.  The failed table keeps the last RXC_OUTBOX_FAILED_MAX
 * refusals (without their frames) for `rx-clinic pending`.
 *
 * Processes sharing an outbox: every change is an LMDB write transaction,
 * and a process that delivers holds an exclusive flock on DIR/outbox.lock
 * from open to close (RXC_OUTBOX_LOCK), so two flushes never interleave:
 * the second waits, then finds what the first left.  Listing takes no lock. */
#ifndef OUTBOX_H
#define OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "rx_err.h"
#include "rx_types.h"
#include "rxclient.h"

typedef struct rxc_outbox rxc_outbox_t;

#define RXC_OUTBOX_LOCK 1        /* open: wait for, and hold, the delivery lock */
#define RXC_OUTBOX_FAILED_MAX 100

/* Open (creating it, mode 0700, if absent) the outbox in dir.  Returns
 * RX_PERMISSION_DENIED if dir is not a directory only its owner may use,
 * RX_SYSTEM on any other failure; msg says which in either case.  Caller
 * owns *out (rxc_outbox_close). */
rx_err_t rxc_outbox_open(rxc_outbox_t **out, const char *dir, int flags, char *msg,
			 size_t msglen) RX_MUST_CHECK;
void rxc_outbox_close(rxc_outbox_t **ob);

/* One entry, pending or failed.  Owns slip, receipt and frame (heap or
 * NULL); release with rxc_outbox_entry_free. */
typedef struct {
	uint64_t seq;
	int op;          /* RX_OP_SUBMIT, RX_OP_CANCEL */
	int64_t created; /* when it was queued */
	uint8_t request_id[RX_REQUEST_ID_LEN];
	char prescription_id[64]; /* CANCEL: as the frame names it; else "" */
	char *slip, *receipt;     /* where to write them when OK, or NULL */
	uint8_t *frame;           /* pending: the signed Request; failed: NULL */
	size_t frame_len;
	rx_err_t status;          /* failed: the broker's refusal */
	char message[256];
	int64_t failed_at;
} rxc_outbox_entry_t;

void rxc_outbox_entry_free(rxc_outbox_entry_t *e);

/* Queue frame (from rxc_frame) at the end; slip and receipt (may be NULL)
 * are kept as given, so give absolute paths.  Durable on RX_OK; *seq is its
 * number.  RX_INVALID if frame is not a signed request (rxc_frame_parse),
 * RX_SYSTEM if it could not be written (disk or map full). */
rx_err_t rxc_outbox_put(rxc_outbox_t *ob, const uint8_t *frame, size_t len, const char *slip,
			const char *receipt, uint64_t *seq) RX_MUST_CHECK;

/* The oldest pending entry into *e (the caller's; rxc_outbox_entry_free).
 * RX_NOT_FOUND if none; RX_INVALID if its record does not decode or its
 * frame does not parse (e->seq is set, e->message says why); RX_SYSTEM on
 * a read failure. */
rx_err_t rxc_outbox_first(rxc_outbox_t *ob, rxc_outbox_entry_t *e) RX_MUST_CHECK;

/* Drop a pending entry (it was answered).  Durable on RX_OK; RX_NOT_FOUND if
 * there is none with seq. */
rx_err_t rxc_outbox_remove(rxc_outbox_t *ob, uint64_t seq) RX_MUST_CHECK;

/* Move a pending entry to the failed table with status and message, its
 * frame dropped, in one transaction; the oldest failed entries beyond
 * RXC_OUTBOX_FAILED_MAX go.  Durable on RX_OK. */
rx_err_t rxc_outbox_fail(rxc_outbox_t *ob, uint64_t seq, rx_err_t status,
			 const char *message) RX_MUST_CHECK;

/* How many entries each table holds. */
rx_err_t rxc_outbox_count(rxc_outbox_t *ob, size_t *pending, size_t *failed) RX_MUST_CHECK;

/* Call fn for each entry of a table (failed != 0: the failed one), oldest
 * first, in one read transaction; e is valid only during the call.  A record
 * that does not decode is visited with op 0 and status RX_SYSTEM.  fn
 * returning nonzero stops the walk. */
typedef int (*rxc_outbox_visit_t)(const rxc_outbox_entry_t *e, void *arg);
rx_err_t rxc_outbox_list(rxc_outbox_t *ob, int failed, rxc_outbox_visit_t fn,
			 void *arg) RX_MUST_CHECK;

/* Whether a result leaves an entry queued: no reply (UNREACHABLE), rxd
 * could not store it (UNAVAILABLE), or a reply that did not verify (SYSTEM:
 * it may or may not have been applied, and a resend will tell). */
int rxc_outbox_keeps(rx_err_t status);

/* Called with each entry the broker settled (r->status OK or a refusal), or
 * that is damaged (r->status RX_SYSTEM, not sent), before it leaves the
 * pending table; r is valid only during the call. */
typedef void (*rxc_outbox_done_t)(const rxc_outbox_entry_t *e, const rxc_result_t *r, void *arg);

/* Deliver the pending entries in order over c (ob opened with
 * RXC_OUTBOX_LOCK).  An OK removes the entry; a refusal moves it to the
 * failed table; a damaged entry too.  Stops at the first entry
 * rxc_outbox_keeps: returns that status with msg saying so and the entry
 * kept.  RX_OK when the pending table is empty; RX_SYSTEM if the outbox
 * itself fails (msg says why). */
rx_err_t rxc_outbox_flush(rxc_outbox_t *ob, rxc_t *c, rxc_outbox_done_t done, void *arg,
			  char *msg, size_t msglen) RX_MUST_CHECK;

/* Send a new request through the outbox (ob opened with RXC_OUTBOX_LOCK;
 * call rxc_outbox_flush first): the
 * frame is made durable, then sent unless earlier entries are still pending
 * (then it waits its turn, not sent: out->status RX_UNREACHABLE).  done (may
 * be NULL) sees a settled result before the entry is dropped.  *queued says
 * whether it stays pending, *seq is its number.  Returns out->status; if
 * the outbox cannot take it, RX_SYSTEM and nothing is sent.  out is the
 * caller's, as for rxc_call. */
rx_err_t rxc_outbox_send(rxc_outbox_t *ob, rxc_t *c, const uint8_t *frame, size_t len,
			 const char *slip, const char *receipt, rxc_outbox_done_t done, void *arg,
			 rxc_result_t *out, uint64_t *seq, int *queued);

#endif
