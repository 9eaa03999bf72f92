/* jobs: long operator requests off the store thread (see jobs.h). */
#include "jobs.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

typedef struct {
	jobs_t *pool;
	int busy;            /* started, not yet collected */
	int index;
	pthread_t thread;
	uint8_t identity[256];
	size_t idlen;
	uint8_t *frame;
	size_t len;
	int64_t now, t0_ms;
	/* written by the job's thread; read by the loop after the join */
	rx_err_t err, status;
	int op;
	store_buf_t reply;
	admin_audit_t audit;
} slot_t;

struct jobs {
	void *ctx;
	const admin_t *a;
	void *pull;            /* finished jobs' slot numbers arrive here */
	char endpoint[64];
	slot_t slots[JOBS_MAX];
	size_t running;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

rx_err_t jobs_new(jobs_t **out, void *ctx, const admin_t *a)
{
	jobs_t *j = calloc(1, sizeof *j);
	*out = NULL;
	if (j == NULL)
		return RX_SYSTEM;
	j->ctx = ctx;
	j->a = a;
	/* One endpoint per pool: tests may run several rxd-like loops in one
	 * process some day; the address costs nothing. */
	snprintf(j->endpoint, sizeof j->endpoint, "inproc://rxd-jobs-%p", (void *)j);
	j->pull = zmq_socket(ctx, ZMQ_PULL);
	if (j->pull == NULL || zmq_bind(j->pull, j->endpoint) != 0) {
		if (j->pull)
			zmq_close(j->pull);
		free(j);
		return RX_SYSTEM;
	}
	for (int i = 0; i < JOBS_MAX; i++) {
		j->slots[i].pool = j;
		j->slots[i].index = i;
	}
	*out = j;
	return RX_OK;
}

void *jobs_socket(jobs_t *j)
{
	return j->pull;
}

size_t jobs_running(const jobs_t *j)
{
	return j->running;
}

/* A job's thread: the work, then one byte (its slot) to the loop on a
 * socket of its own. */
static void *run(void *arg)
{
	slot_t *sl = arg;
	sl->err = admin_job(sl->pool->a, sl->frame, sl->len, sl->now, &sl->reply, &sl->status, &sl->op,
			    &sl->audit);
	void *push = zmq_socket(sl->pool->ctx, ZMQ_PUSH);
	uint8_t index = (uint8_t)sl->index;
	/* The loop is waiting for this byte: it must not be dropped at close. */
	int linger = -1;
	if (push) {
		zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
		if (zmq_connect(push, sl->pool->endpoint) == 0)
			zmq_send(push, &index, 1, 0);
		zmq_close(push);
	}
	return NULL;
}

rx_err_t jobs_start(jobs_t *j, const void *identity, size_t idlen, const uint8_t *frame, size_t len,
		    int64_t now)
{
	slot_t *sl = NULL;
	/* An older rxctl resends every second: the same bytes from the same
	 * connection join the job already running, whose reply answers both. */
	for (int i = 0; i < JOBS_MAX; i++) {
		const slot_t *b = &j->slots[i];
		if (b->busy && b->idlen == idlen && b->len == len && memcmp(b->identity, identity, idlen) == 0 &&
		    memcmp(b->frame, frame, len) == 0)
			return RX_OK;
	}
	for (int i = 0; i < JOBS_MAX && sl == NULL; i++)
		if (!j->slots[i].busy)
			sl = &j->slots[i];
	if (sl == NULL || idlen > sizeof sl->identity)
		return RX_UNAVAILABLE;
	if ((sl->frame = malloc(len ? len : 1)) == NULL)
		return RX_UNAVAILABLE;
	memcpy(sl->frame, frame, len);
	sl->len = len;
	memcpy(sl->identity, identity, idlen);
	sl->idlen = idlen;
	sl->now = now;
	sl->t0_ms = mono_ms();
	sl->reply = (store_buf_t){0};
	sl->err = RX_SYSTEM;
	sl->status = RX_UNAVAILABLE;
	sl->op = 0;
	/* SIGTERM and SIGINT are the loop's (rxd.c): the job's thread, and the
	 * copy thread LMDB starts from it, inherit them blocked. */
	sigset_t stop_signals, mask;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &mask);
	int rc = pthread_create(&sl->thread, NULL, run, sl);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	if (rc != 0) {
		free(sl->frame);
		sl->frame = NULL;
		return RX_UNAVAILABLE;
	}
	sl->busy = 1;
	j->running++;
	return RX_OK;
}

/* Join a finished job and free what it held but its reply. */
static slot_t *collect(jobs_t *j, int index)
{
	if (index < 0 || index >= JOBS_MAX || !j->slots[index].busy)
		return NULL;
	slot_t *sl = &j->slots[index];
	pthread_join(sl->thread, NULL);
	free(sl->frame);
	sl->frame = NULL;
	sl->busy = 0;
	j->running--;
	return sl;
}

int jobs_next(jobs_t *j, int64_t now, jobs_result_t *r)
{
	uint8_t index;
	memset(r, 0, sizeof *r);
	if (zmq_recv(j->pull, &index, 1, ZMQ_DONTWAIT) != 1)
		return 0;
	slot_t *sl = collect(j, index);
	if (sl == NULL)
		return 0;
	memcpy(r->identity, sl->identity, sl->idlen);
	r->idlen = sl->idlen;
	r->reply = sl->reply;
	r->status = sl->status;
	r->op = sl->op;
	r->ms = mono_ms() - sl->t0_ms;
	sl->reply = (store_buf_t){0};
	if (sl->err != RX_OK ||
	    admin_job_done(j->a, &sl->audit, now, &r->reply, &r->status) != RX_OK) {
		store_buf_free(&r->reply);
		r->failed = 1;
	}
	return 1;
}

void jobs_destroy(jobs_t **jp)
{
	jobs_t *j = *jp;
	if (j == NULL)
		return;
	for (int i = 0; i < JOBS_MAX; i++)
		if (j->slots[i].busy) {
			slot_t *sl = collect(j, i);
			store_buf_free(&sl->reply);
		}
	zmq_close(j->pull);
	free(j);
	*jp = NULL;
}
