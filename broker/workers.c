/* workers: the thread pool (see workers.h).
 *
 * A ring of items: the owner appends at tail and takes from head; threads
 * claim the next unclaimed one (next, under the mutex), run fn on it, and
 * mark it done.  The mutex orders push before claim; done[] (release, then
 * acquire in pop) orders fn's writes before the owner reads the item.  An
 * eventfd wakes the owner's poll loop after each item is done. */
#include "workers.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct workers {
	workers_fn fn;
	size_t cap;
	void **items;
	atomic_int *done;
	uint64_t head, tail, next; /* head, tail: owner only; next: under mu */
	pthread_mutex_t mu;
	pthread_cond_t more;
	int stopping;
	int nthreads;
	pthread_t th[WORKERS_MAX];
	int efd;
};

static void wake(workers_t *w)
{
	uint64_t one = 1;
	/* EAGAIN only if the counter is saturated: the owner will wake anyway. */
	while (write(w->efd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

static void *loop(void *arg)
{
	workers_t *w = arg;
	/* Throughput work (a verify, a signature: tens of microseconds each,
	 * thousands a second): SCHED_BATCH keeps the thread's share of the CPU
	 * but does not let its wake-ups preempt the threads a reply waits on
	 * (the store thread, ZeroMQ's I/O threads, clients on the same host).
	 * Should the kernel refuse, the thread runs as it would have. */
	struct sched_param sp = {0};
	(void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->next == w->tail && !w->stopping)
			pthread_cond_wait(&w->more, &w->mu);
		if (w->next == w->tail)
			break; /* stopping, and nothing left */
		uint64_t i = w->next++;
		pthread_mutex_unlock(&w->mu);
		w->fn(w->items[i % w->cap]);
		atomic_store_explicit(&w->done[i % w->cap], 1, memory_order_release);
		wake(w);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

rx_err_t workers_new(workers_t **out, int nthreads, size_t capacity, workers_fn fn)
{
	*out = NULL;
	if (nthreads < 0 || nthreads > WORKERS_MAX || capacity == 0)
		return RX_INVALID;
	workers_t *w = calloc(1, sizeof *w);
	if (w == NULL)
		return RX_SYSTEM;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->more, NULL);
	w->fn = fn;
	w->cap = capacity;
	w->items = calloc(capacity, sizeof *w->items);
	w->done = calloc(capacity, sizeof *w->done);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->items == NULL || w->done == NULL || w->efd < 0) {
		workers_destroy(&w);
		return RX_SYSTEM;
	}
	/* Signals (SIGTERM, SIGINT) are for the owner's loop, not the pool. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; w->nthreads < nthreads; w->nthreads++)
		if (pthread_create(&w->th[w->nthreads], NULL, loop, w) != 0)
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (w->nthreads < nthreads) {
		workers_destroy(&w);
		return RX_SYSTEM;
	}
	*out = w;
	return RX_OK;
}

void workers_destroy(workers_t **wp)
{
	workers_t *w = wp ? *wp : NULL;
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->more);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->th[i], NULL);
	pthread_cond_destroy(&w->more);
	pthread_mutex_destroy(&w->mu);
	if (w->efd >= 0)
		close(w->efd);
	free(w->items);
	free(w->done);
	free(w);
	*wp = NULL;
}

/* Run fn on item on the owner's thread and queue it done.  Only when no
 * thread can be running fn (there are none, or nothing is out): every
 * thread then waits for next != tail, and next moves with tail. */
static void run_here(workers_t *w, void *item)
{
	size_t k = (size_t)(w->tail % w->cap);
	w->items[k] = item;
	w->fn(item);
	atomic_store_explicit(&w->done[k], 1, memory_order_relaxed);
	pthread_mutex_lock(&w->mu);
	w->tail++;
	w->next = w->tail;
	pthread_mutex_unlock(&w->mu);
}

rx_err_t workers_push(workers_t *w, void *item)
{
	if (w->tail - w->head >= w->cap)
		return RX_CONFLICT;
	if (w->nthreads == 0) {
		run_here(w, item);
		wake(w);
		return RX_OK;
	}
	size_t k = (size_t)(w->tail % w->cap);
	w->items[k] = item;
	atomic_store_explicit(&w->done[k], 0, memory_order_relaxed);
	pthread_mutex_lock(&w->mu);
	w->tail++;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->mu);
	return RX_OK;
}

rx_err_t workers_push_here(workers_t *w, void *item)
{
	if (w->tail != w->head)
		return RX_CONFLICT;
	run_here(w, item);
	return RX_OK;
}

void *workers_pop(workers_t *w)
{
	if (w->head == w->tail)
		return NULL;
	size_t k = (size_t)(w->head % w->cap);
	if (!atomic_load_explicit(&w->done[k], memory_order_acquire))
		return NULL;
	w->head++;
	return w->items[k];
}

void *workers_wait(workers_t *w)
{
	while (w->head != w->tail) {
		workers_clear(w); /* before looking: a wake after this is kept */
		void *item = workers_pop(w);
		if (item)
			return item;
		struct pollfd pfd = {.fd = w->efd, .events = POLLIN};
		/* Should poll fail, this loop spins: it never gives back an
		 * item the pool may still be touching. */
		(void)poll(&pfd, 1, -1);
	}
	return NULL;
}

size_t workers_queued(const workers_t *w)
{
	return (size_t)(w->tail - w->head);
}

int workers_fd(const workers_t *w)
{
	return w->efd;
}

void workers_clear(workers_t *w)
{
	uint64_t n;
	while (read(w->efd, &n, sizeof n) < 0 && errno == EINTR)
		;
}
