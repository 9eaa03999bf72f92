/* clinic_outbox: rx-clinic's side of the outbox (--outbox DIR): what it
 * prints and writes when a request is queued, delivered or refused.  The
 * queue itself is clients/outbox.h.
 *
 * Output: every entry the outbox delivers or sets aside prints one JSON line
 * (the command's usual fields plus "outbox": its number, "op", "queued_at");
 * a command's own line comes last.  A request that could not be delivered
 * prints "queued": true with status UNREACHABLE (exit 1) or UNAVAILABLE
 * (exit 2). */
#ifndef CLINIC_OUTBOX_H
#define CLINIC_OUTBOX_H

#include "outbox.h"
#include "rx_crypto.h"
#include "rxclient.h"

/* One rx-clinic run's outbox: dir is NULL without --outbox. */
typedef struct {
	const char *dir;
	const char *broker; /* for messages */
	rxc_outbox_t *ob;   /* open from clinic_outbox_start to clinic_outbox_end */
} clinic_outbox_t;

/* Open the outbox (waiting for any other rx-clinic delivering from it) and
 * deliver what it holds, a line per entry.  flush_only: then print the
 * summary ("delivered", "refused", "pending") and return the exit code: 0 if
 * everything was delivered and accepted, 2 if the broker refused some, 1 if
 * it did not answer (the rest stays queued) or the outbox failed.
 * Otherwise return -1 to go on with the command (or an exit code if the
 * outbox cannot be opened).  Nothing to do without --outbox. */
int clinic_outbox_start(clinic_outbox_t *o, rxc_t *c, int flush_only);
void clinic_outbox_end(clinic_outbox_t *o);

/* `pending`: print the queued and the refused entries, without secrets (no
 * request bodies, no access codes).  Returns the exit code. */
int clinic_outbox_pending(const char *dir);

/* Send call (with doc, a SUBMIT's prescription, or NULL), signed once by
 * kp, through the outbox if there is one, and print the result; for an OK
 * SUBMIT write the patient's slip to slip (if not NULL).  id: the
 * prescription the call is about, for messages (or NULL).  Returns the exit
 * code. */
int clinic_send(clinic_outbox_t *o, rxc_t *c, const rx_keypair_t *kp, const Rx__Call *call,
		const ProtobufCMessage *doc, const char *slip, const char *id);

#endif
