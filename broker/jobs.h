/* jobs: long operator requests (admin_is_job: BACKUP, AUDIT_VERIFY,
 * AUDIT_REPORT, RX_SHOW, RX_LIST) each on a thread of its own, so that the
 * store thread goes on serving while one runs.
 *
 * A job only reads, through its own read transactions (admin_job).  It
 * hands its reply back to the loop through an inproc ZeroMQ socket that the
 * loop polls; the loop, which alone writes to the store and sends on the
 * admin ROUTER (ZeroMQ sockets are not thread-safe), records the job's
 * operator action (admin_job_done) and then sends the reply. */
#ifndef JOBS_H
#define JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "admin.h"
#include "rx_err.h"

typedef struct jobs jobs_t;

/* Jobs running at once; one more is refused UNAVAILABLE (try again). */
#define JOBS_MAX 4

/* The pool, on zmq context ctx, for admin a (both borrowed: they must
 * outlive jobs_destroy).  Caller owns *out.  RX_SYSTEM if the socket
 * cannot be made. */
rx_err_t jobs_new(jobs_t **out, void *ctx, const admin_t *a) RX_MUST_CHECK;
/* Wait for every running job to finish, drop their replies, free the pool.
 * rxd collects them first (jobs_next) so that none is lost at SIGTERM. */
void jobs_destroy(jobs_t **j);

/* The socket to poll for ZMQ_POLLIN: a job may have finished. */
void *jobs_socket(jobs_t *j);
/* Jobs started and not yet collected by jobs_next. */
size_t jobs_running(const jobs_t *j);

/* Start the request frame (len bytes, copied) as a job on a new thread; its
 * reply goes to the connection identity names (copied).  The same bytes from
 * the same connection while that job runs (a client's resend) join it:
 * RX_OK, and the one reply answers both.  RX_UNAVAILABLE if JOBS_MAX are
 * running or a thread cannot be had: the caller refuses it. */
rx_err_t jobs_start(jobs_t *j, const void *identity, size_t idlen, const uint8_t *frame, size_t len,
		    int64_t now) RX_MUST_CHECK;

/* A finished job, audited, for the loop to send. */
typedef struct {
	uint8_t identity[256];
	size_t idlen;
	store_buf_t reply;  /* the caller's once jobs_next returned it */
	rx_err_t status;    /* for the log */
	int op;
	int64_t ms;         /* how long the job ran */
	int failed;         /* no reply could be made (out of memory): reply is
			     * empty and the caller answers with a refusal of
			     * its own, made beforehand */
} jobs_result_t;

/* On the loop thread: take one finished job if one is, record its operator
 * action, and fill *r (release r->reply with store_buf_free).  1 if one
 * was ready, 0 if none. */
int jobs_next(jobs_t *j, int64_t now, jobs_result_t *r);

#endif
