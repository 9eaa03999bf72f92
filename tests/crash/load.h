/* load: the clinic and pharmacy threads that drive rxd during the run.
 *
 * A clinic submits prescriptions of one or two items (with a patient's
 * card) and now and then cancels one of its own.  A pharmacy claims a
 * recent prescription (racing the others for it), then releases or
 * dispenses it, whole or in parts (proto/README 5.13); sometimes it then
 * amends the record it was acknowledged, or withdraws it and dispenses the
 * use again under the withdrawal's claim token; sometimes it tries a second
 * dispense of what it just dispensed, a part again under a new request id,
 * a release or an amend of a use handed over in parts, or a dispense with a
 * claim token it does not hold, which must all be refused.  Some claims
 * are followed by an inquiry to the prescriber (proto/README 5.14): by
 * telephone, or open, a DISPENSE refused INQUIRY_PENDING until the issuing
 * clinic's thread answers it (accept a change of item 1, keep, cancel),
 * then a dispense following the agreed change; now and then between
 * parts too, first a record citing the inquiry with a change it did not
 * agree to (NOT_AGREED), or a prescription's 16 inquiries by telephone
 * until the 17th is refused INVALID.  Every request
 * is built once and resent with the same bytes until answered (conn.h),
 * but a part sent impatiently, which is given up after a few milliseconds
 * and sent again under a new request id; every reply is journaled
 * (journal.h) before the client acts on it. */
#ifndef LOAD_H
#define LOAD_H

#include <pthread.h>

#include "crash.h"

/* Start one thread per client of w (w->nclients), writing the journals in
 * w->journals.  0 on success; on failure no thread is left running. */
int load_start(crash_world_t *w, void *zctx, pthread_t *threads) __attribute__((warn_unused_result));
/* Ask the threads to finish the request in hand and stop, and wait for them. */
void load_stop(crash_world_t *w, pthread_t *threads);

#endif
