/* front: the client side of rxd, from the client socket to the replies.
 *
 * Requests are read from the client ROUTER socket (CURVE, admitted by
 * zap.h) while there is room: at most a ring of requests, and at most
 * 32 MiB of frames and of what decoding them took, in flight.  Past that
 * rxd stops reading and clients wait in ZeroMQ's queues, so a burst of big
 * frames cannot make rxd hold more.  Verify workers (workers.h) decode each
 * request and check its signatures on their own threads; the store thread
 * then applies them in the order they arrived, up to BATCH_MAX in one group
 * commit (one fsync), and only after the commit sends their replies and the
 * notices they caused to the pharmacies watching (watchers.h).  If the
 * commit fails, no reply evaluated in the batch is sent as it was: a plain
 * read is evaluated again against what is committed, anything else is
 * answered UNAVAILABLE.  Every request gets one log line (op= status=
 * latency_us= rid= rx= batch= commit_us=) and is counted in a->metrics.
 *
 * Every front_* call is the store thread's.  There is one front: its ring,
 * the bytes in flight and the watchers are the module's own storage. */
#ifndef FRONT_H
#define FRONT_H

#include "admin.h"
#include "dispatch.h"
#include "rx_err.h"

typedef struct front front_t;

/* Requests in one group commit.  A bigger batch shares one fsync among more
 * requests, but every reply in it waits for the last one's turn. */
#define BATCH_MAX 64

/* Serve the requests on sock (the client ROUTER socket, which stays the
 * caller's) with d, counting them in a (requests, metrics), with nverify
 * verify threads (0..WORKERS_MAX; 0: the store thread verifies).  *out is
 * the module's one front (front_destroy).  RX_SYSTEM if the threads cannot
 * be started. */
rx_err_t front_new(front_t **out, void *sock, const dispatch_t *d, admin_t *a,
		   int nverify) RX_MUST_CHECK;
/* Stop the verify threads (after the requests they hold) and drop every
 * request not yet answered (its client resends); sets *f NULL. */
void front_destroy(front_t **f);

/* The table of watching pharmacies' connections: made before the first
 * request is served (RX_SYSTEM if memory runs out), freed after the last. */
rx_err_t front_watchers_new(void) RX_MUST_CHECK;
void front_watchers_destroy(void);

/* May another request be read?  (Poll the socket only then.) */
int front_room(const front_t *f);
/* Read every request waiting on the socket, while there is room, and hand
 * each to the verify workers. */
void front_intake(front_t *f);
/* One group commit of the requests the workers have finished, replies and
 * notices sent after it.  Returns how many requests it held (0: none was
 * ready; BATCH_MAX: more may be ready). */
int front_serve_batch(front_t *f);
/* Polls readable when a worker may have finished a request;
 * front_workers_clear empties it before front_serve_batch looks. */
int front_workers_fd(const front_t *f);
void front_workers_clear(front_t *f);
/* Is every request read also answered? */
int front_idle(const front_t *f);

#endif
