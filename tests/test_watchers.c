/* Unit: the watcher table's bounds (broker/watchers.h). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "watchers.h"

static rx_err_t add(watchers_t *w, int conn, const char *code, int64_t now, int *fresh)
{
	uint8_t id[5] = {0, 0, 0, 0, 0};
	watcher_t *x;
	memcpy(id + 1, &conn, sizeof conn);
	return watchers_add(w, id, sizeof id, code, now, &x, fresh);
}

static int has(watchers_t *w, int conn, const char *code, int64_t now)
{
	uint8_t id[5] = {0, 0, 0, 0, 0};
	memcpy(id + 1, &conn, sizeof conn);
	return watchers_has(w, id, sizeof id, code, now);
}

START_TEST(per_institution_cap_evicts_its_oldest)
{
	watchers_t *w;
	int fresh;
	ck_assert_int_eq(watchers_new(&w, 64), RX_OK);
	for (int i = 0; i < WATCHERS_PER_INSTITUTION + 2; i++) {
		ck_assert_int_eq(add(w, i, "A", 100, &fresh), RX_OK);
		ck_assert_int_eq(fresh, 1);
	}
	ck_assert_uint_eq(watchers_count(w), WATCHERS_PER_INSTITUTION);
	ck_assert(!has(w, 0, "A", 100));
	ck_assert(!has(w, 1, "A", 100));
	ck_assert(has(w, 2, "A", 100));
	/* A heartbeat is no new watcher. */
	ck_assert_int_eq(add(w, 5, "A", 110, &fresh), RX_OK);
	ck_assert_int_eq(fresh, 0);
	ck_assert_uint_eq(watchers_count(w), WATCHERS_PER_INSTITUTION);
	watchers_destroy(&w);
	ck_assert_ptr_null(w);
}
END_TEST

START_TEST(full_table_takes_from_the_biggest_holder)
{
	watchers_t *w;
	int fresh;
	ck_assert_int_eq(watchers_new(&w, 4), RX_OK);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(add(w, i, "A", 100, &fresh), RX_OK);
	/* Full of A: B, C and D each take A's oldest. */
	ck_assert_int_eq(add(w, 10, "B", 100, &fresh), RX_OK);
	ck_assert(!has(w, 0, "A", 100));
	ck_assert_int_eq(add(w, 11, "C", 100, &fresh), RX_OK);
	ck_assert_int_eq(add(w, 12, "D", 100, &fresh), RX_OK);
	ck_assert(has(w, 3, "A", 100));
	/* One each: a fifth institution is refused, not silently dropped. */
	ck_assert_int_eq(add(w, 13, "E", 100, &fresh), RX_WATCHERS_FULL);
	ck_assert(!has(w, 13, "E", 100));
	/* A silent connection is forgotten after the TTL, making room. */
	ck_assert_int_eq(add(w, 10, "B", 150, &fresh), RX_OK);
	ck_assert_int_eq(add(w, 11, "C", 150, &fresh), RX_OK);
	ck_assert_int_eq(add(w, 12, "D", 150, &fresh), RX_OK);
	ck_assert_int_eq(add(w, 13, "E", 100 + WATCHERS_TTL + 1, &fresh), RX_OK);
	ck_assert(!has(w, 3, "A", 100 + WATCHERS_TTL + 1));
	watchers_destroy(&w);
}
END_TEST

START_TEST(bad_ids_and_moves)
{
	watchers_t *w;
	watcher_t *x;
	int fresh;
	uint8_t big[WATCHERS_ID_MAX + 1] = {0};
	ck_assert_int_eq(watchers_new(&w, 0), RX_INVALID);
	ck_assert_int_eq(watchers_new(&w, 2), RX_OK);
	ck_assert_int_eq(watchers_add(w, big, 0, "A", 1, &x, &fresh), RX_INVALID);
	ck_assert_int_eq(watchers_add(w, big, sizeof big, "A", 1, &x, &fresh), RX_INVALID);
	/* A connection watches one institution at a time. */
	ck_assert_int_eq(add(w, 1, "A", 1, &fresh), RX_OK);
	ck_assert_int_eq(add(w, 1, "B", 1, &fresh), RX_OK);
	ck_assert_int_eq(fresh, 1);
	ck_assert(!has(w, 1, "A", 1));
	ck_assert(has(w, 1, "B", 1));
	ck_assert_uint_eq(watchers_count(w), 1);
	watchers_remove_at(w, 0);
	ck_assert_uint_eq(watchers_count(w), 0);
	watchers_destroy(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("watchers");
	TCase *tc = tcase_create("watchers");
	tcase_add_test(tc, per_institution_cap_evicts_its_oldest);
	tcase_add_test(tc, full_table_takes_from_the_biggest_holder);
	tcase_add_test(tc, bad_ids_and_moves);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
