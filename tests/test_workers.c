/* workers: items come back in the order they went in, each run once, with
 * and without threads, popped or waited for, or run on the caller's thread
 * when the pool is empty; a full queue refuses; destroy finishes what is
 * held. */
#include <check.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>

#include "workers.h"

typedef struct {
	uint64_t n;      /* the item's own number */
	uint64_t work;   /* how many rounds fn spins: varies, so threads finish out of order */
	uint64_t result;
	int runs;
} item_t;

static void fn(void *p)
{
	item_t *it = p;
	uint64_t x = it->n + 1;
	for (uint64_t i = 0; i < it->work; i++)
		x = x * 6364136223846793005u + 1442695040888963407u;
	it->result = x | 1; /* never 0: 0 means fn did not run */
	it->runs++;
}

/* Pop until k items came back, waiting on the descriptor between tries. */
static void drain(workers_t *w, item_t *items, uint64_t *k, uint64_t upto)
{
	while (*k < upto) {
		workers_clear(w);
		item_t *it;
		while ((it = workers_pop(w)) != NULL) {
			ck_assert_ptr_eq(it, &items[*k]);
			ck_assert_int_eq(it->runs, 1);
			ck_assert_uint_ne(it->result, 0);
			(*k)++;
		}
		if (*k < upto) {
			struct pollfd pf = {workers_fd(w), POLLIN, 0};
			ck_assert_int_ge(poll(&pf, 1, 10000), 1);
		}
	}
}

static void in_order(int nthreads)
{
	enum { N = 5000, CAP = 64 };
	item_t *items = calloc(N, sizeof *items);
	workers_t *w = NULL;
	ck_assert_ptr_nonnull(items);
	ck_assert_int_eq(workers_new(&w, nthreads, CAP, fn), RX_OK);
	uint64_t pushed = 0, popped = 0;
	for (uint64_t i = 0; i < N; i++) {
		items[i].n = i;
		items[i].work = (i * 7919) % 2000;
	}
	while (popped < N) {
		while (pushed < N && workers_queued(w) < CAP)
			ck_assert_int_eq(workers_push(w, &items[pushed++]), RX_OK);
		if (pushed < N) /* the queue is full: one more is refused */
			ck_assert_int_eq(workers_push(w, &items[pushed]), RX_CONFLICT);
		drain(w, items, &popped, popped + 1);
	}
	ck_assert_ptr_null(workers_pop(w));
	ck_assert_uint_eq(workers_queued(w), 0);
	workers_destroy(&w);
	ck_assert_ptr_null(w);
	free(items);
}

START_TEST(order_with_threads)
{
	in_order(4);
}
END_TEST

START_TEST(order_without_threads)
{
	in_order(0);
}
END_TEST

START_TEST(destroy_with_items_out)
{
	item_t items[16] = {0};
	workers_t *w = NULL;
	ck_assert_int_eq(workers_new(&w, 2, 16, fn), RX_OK);
	for (int i = 0; i < 16; i++) {
		items[i].work = 100000;
		ck_assert_int_eq(workers_push(w, &items[i]), RX_OK);
	}
	workers_destroy(&w);
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(items[i].runs, 1);
	ck_assert_int_eq(workers_new(&w, WORKERS_MAX + 1, 16, fn), RX_INVALID);
	ck_assert_int_eq(workers_new(&w, 1, 0, fn), RX_INVALID);
}
END_TEST

/* workers_wait gives every item back in order, each once fn is done with
 * it, waiting as long as fn takes; NULL once none is out. */
static void waited(int nthreads)
{
	enum { N = 48 };
	item_t items[N] = {0};
	workers_t *w = NULL;
	ck_assert_int_eq(workers_new(&w, nthreads, N, fn), RX_OK);
	ck_assert_ptr_null(workers_wait(w));
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			items[i] = (item_t){.n = (uint64_t)i, .work = (uint64_t)(N - i) * 20000};
			ck_assert_int_eq(workers_push(w, &items[i]), RX_OK);
		}
		for (int i = 0; i < N; i++) {
			item_t *it = workers_wait(w);
			ck_assert_ptr_eq(it, &items[i]);
			ck_assert_int_eq(it->runs, 1);
			ck_assert_uint_ne(it->result, 0);
		}
		ck_assert_ptr_null(workers_wait(w));
		ck_assert_uint_eq(workers_queued(w), 0);
	}
	workers_destroy(&w);
}

START_TEST(wait_with_threads)
{
	waited(2);
}
END_TEST

START_TEST(wait_without_threads)
{
	waited(0);
}
END_TEST

/* workers_push_here runs fn before it returns, only when nothing is out,
 * and the threads neither run that item again nor lose their place. */
static void here(int nthreads)
{
	enum { N = 32 };
	item_t items[N] = {0}, alone = {.n = 99};
	workers_t *w = NULL;
	ck_assert_int_eq(workers_new(&w, nthreads, N, fn), RX_OK);
	for (int round = 0; round < 3; round++) {
		alone.runs = 0;
		alone.result = 0;
		for (int i = 0; i < N - 1; i++)
			items[i] = (item_t){.n = (uint64_t)i, .work = (uint64_t)(N - i) * 5000};
		ck_assert_int_eq(workers_push_here(w, &alone), RX_OK);
		ck_assert_int_eq(alone.runs, 1); /* already run, on this thread */
		/* Something is out: refused, not run, and the queue is as it was. */
		ck_assert_int_eq(workers_push_here(w, &items[0]), RX_CONFLICT);
		ck_assert_int_eq(items[0].runs, 0);
		ck_assert_uint_eq(workers_queued(w), 1);
		for (int i = 0; i < N - 1; i++)
			ck_assert_int_eq(workers_push(w, &items[i]), RX_OK);
		ck_assert_ptr_eq(workers_pop(w), &alone); /* first, without waiting */
		for (int i = 0; i < N - 1; i++) {
			item_t *it = workers_wait(w);
			ck_assert_ptr_eq(it, &items[i]);
			ck_assert_int_eq(it->runs, 1);
		}
		ck_assert_ptr_null(workers_wait(w));
		ck_assert_int_eq(alone.runs, 1); /* no thread ran it again */
	}
	workers_destroy(&w);
}

START_TEST(here_with_threads)
{
	here(2);
}
END_TEST

START_TEST(here_without_threads)
{
	here(0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("workers");
	TCase *tc = tcase_create("workers");
	tcase_add_test(tc, order_with_threads);
	tcase_add_test(tc, order_without_threads);
	tcase_add_test(tc, destroy_with_items_out);
	tcase_add_test(tc, wait_with_threads);
	tcase_add_test(tc, wait_without_threads);
	tcase_add_test(tc, here_with_threads);
	tcase_add_test(tc, here_without_threads);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
