/* workers: a pool of threads that run one function over items handed to it
 * in order, and hand them back in the same order once done.
 *
 * rxd gives each request to the pool for dispatch_prepare (decode, verify
 * every signature: pure work), while its store thread applies and commits
 * the requests before them; so signature checks run on every core and
 * overlap the batch's fsync; a second pool signs a batch's receipts while
 * it commits.  The threads run as SCHED_BATCH: their work is throughput,
 * and must not preempt the threads a reply waits on.  The pool knows
 * nothing of requests.
 *
 * One thread (the owner) pushes and pops; the pool's threads only run fn.
 * An item is the owner's memory: the pool borrows it from push until pop
 * returns it, and fn may touch it only then.  With 0 threads, push runs fn
 * itself (the order and the contract are the same). */
#ifndef WORKERS_H
#define WORKERS_H

#include <stddef.h>

#include "rx_err.h"

typedef struct workers workers_t;
typedef void (*workers_fn)(void *item);

/* Start nthreads threads (0..WORKERS_MAX) over a queue of capacity items.
 * Caller owns *out (workers_destroy).  RX_SYSTEM if threads, memory or the
 * wake-up descriptor cannot be had. */
#define WORKERS_MAX 64
rx_err_t workers_new(workers_t **out, int nthreads, size_t capacity, workers_fn fn) RX_MUST_CHECK;
/* Stop the threads (after the items they hold) and free the pool. */
void workers_destroy(workers_t **w);

/* Queue item; RX_CONFLICT if capacity items are already out (not popped). */
rx_err_t workers_push(workers_t *w, void *item) RX_MUST_CHECK;
/* Run fn on item on the calling thread now, and queue it done: for an
 * owner with nothing out and nothing else to do, to whom a thread's
 * wake-up and the wake-up back would cost more than fn saves.  RX_CONFLICT
 * (fn not run) unless the pool is empty, so the order is push order still. */
rx_err_t workers_push_here(workers_t *w, void *item) RX_MUST_CHECK;
/* The oldest item not yet popped, if fn has finished with it; else NULL
 * (also when a younger one is done: items come back in push order). */
void *workers_pop(workers_t *w);
/* The oldest item not yet popped, once fn has finished with it, waiting
 * for that if need be; NULL if no item is out.  For an owner that has
 * nothing else to do meanwhile (a pool whose fd it does not poll). */
void *workers_wait(workers_t *w);
/* Items pushed and not yet popped. */
size_t workers_queued(const workers_t *w);
/* A descriptor that polls readable when an item may have become ready to
 * pop; workers_clear empties it before the owner looks (so none is missed). */
int workers_fd(const workers_t *w);
void workers_clear(workers_t *w);

#endif
