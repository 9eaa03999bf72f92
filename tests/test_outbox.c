/* Unit: the clinic outbox (clients/outbox.c) on real LMDB files: order,
 * persistence across reopen, removal, the failed table and its cap, refused
 * directories, damaged records, and the delivery lock between processes. */
#include <check.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "outbox.h"
#include "rxclient.h"
#include "rx_types.h"
#include "testutil.h"

static rx_keypair_t kp;

/* A signed Request frame for op with a fresh request id (into rid). */
static uint8_t *make_frame(int op, const char *id, uint8_t rid[RX_REQUEST_ID_LEN], size_t *len)
{
	Rx__Call call = RX__CALL__INIT;
	uint8_t *frame;
	rxc_request_id(rid);
	call.request_id.data = rid;
	call.request_id.len = RX_REQUEST_ID_LEN;
	call.op = (Rx__Op)op;
	if (id)
		call.prescription_id = (char *)id;
	ck_assert_int_eq(rxc_frame(&kp, &call, NULL, &frame, len), RX_OK);
	return frame;
}

static rxc_outbox_t *open_ok(const char *dir, int flags)
{
	rxc_outbox_t *ob;
	char msg[256];
	rx_err_t err = rxc_outbox_open(&ob, dir, flags, msg, sizeof msg);
	ck_assert_msg(err == RX_OK, "open %s: %s", dir, msg);
	return ob;
}

static void setup(void)
{
	tu_scratch_setup();
	ck_assert_int_eq(rx_crypto_init(), RX_OK);
	uint8_t seed[RX_SEED_LEN];
	randombytes_buf(seed, sizeof seed);
	rx_keypair_from_seed(seed, &kp);
}

/* The request ids the outbox keeps are rxclient's: UUIDv7s (proto/README
 * 4.1), so the broker appends a caller's stored replies in time order. */
static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t id_ms(const uint8_t rid[RX_REQUEST_ID_LEN])
{
	uint64_t ms = 0;
	for (int i = 0; i < 6; i++)
		ms = ms << 8 | rid[i];
	return ms;
}

START_TEST(request_ids_are_uuidv7)
{
	uint8_t a[RX_REQUEST_ID_LEN], b[RX_REQUEST_ID_LEN], c[RX_REQUEST_ID_LEN];
	uint64_t before = now_ms();
	rxc_request_id(a);
	rxc_request_id(b);
	uint64_t after = now_ms();
	ck_assert_uint_eq(a[6] >> 4, 7);    /* version 7 */
	ck_assert_uint_eq(a[8] >> 6, 2);    /* variant 10 */
	ck_assert(id_ms(a) >= before && id_ms(a) <= after);
	ck_assert(memcmp(a, b, sizeof a) != 0); /* random bits differ within a millisecond */
	/* A later millisecond sorts after (the clock is polled, not slept on). */
	while (now_ms() <= after)
		;
	rxc_request_id(c);
	ck_assert_int_lt(memcmp(a, c, 6), 0);
}
END_TEST

START_TEST(order_persistence_removal)
{
	char dir[TU_PATH_MAX], sub[TU_PATH_MAX + 8];
	uint8_t rids[5][RX_REQUEST_ID_LEN];
	uint8_t *frames[5];
	size_t lens[5];
	uint64_t seq;
	rxc_outbox_entry_t e;

	tu_subdir(dir);
	/* Created if absent, private. */
	snprintf(sub, sizeof sub, "%s/box", dir);
	rxc_outbox_t *ob = open_ok(sub, RXC_OUTBOX_LOCK);
	ck_assert_int_eq(rxc_outbox_first(ob, &e), RX_NOT_FOUND);
	for (int i = 0; i < 5; i++) {
		frames[i] = make_frame(i == 3 ? RX_OP_CANCEL : RX_OP_SUBMIT, i == 3 ? "6WKB-26ZF-S6A5" : NULL,
				       rids[i], &lens[i]);
		ck_assert_int_eq(rxc_outbox_put(ob, frames[i], lens[i], i == 0 ? "/tmp/slip" : NULL,
						i == 1 ? "/tmp/receipt" : NULL, &seq),
				 RX_OK);
		ck_assert_uint_eq(seq, (uint64_t)i + 1);
	}
	rxc_outbox_close(&ob);
	ck_assert_ptr_null(ob);

	struct stat st;
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	char f[TU_PATH_MAX + 32];
	snprintf(f, sizeof f, "%s/data.mdb", sub);
	ck_assert_int_eq(stat(f, &st), 0);
	ck_assert_int_eq(st.st_mode & 077, 0);
	snprintf(f, sizeof f, "%s/outbox.lock", sub);
	ck_assert_int_eq(stat(f, &st), 0);
	ck_assert_int_eq(st.st_mode & 077, 0);

	/* Reopened (as after a crash or reboot): the same entries, in order,
	 * byte for byte. */
	ob = open_ok(sub, 0);
	size_t np, nf;
	ck_assert_int_eq(rxc_outbox_count(ob, &np, &nf), RX_OK);
	ck_assert_uint_eq(np, 5);
	ck_assert_uint_eq(nf, 0);
	int64_t now = (int64_t)time(NULL);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(rxc_outbox_first(ob, &e), RX_OK);
		ck_assert_uint_eq(e.seq, (uint64_t)i + 1);
		ck_assert_mem_eq(e.request_id, rids[i], RX_REQUEST_ID_LEN);
		ck_assert_uint_eq(e.frame_len, lens[i]);
		ck_assert_mem_eq(e.frame, frames[i], lens[i]);
		ck_assert_int_eq(e.op, i == 3 ? RX_OP_CANCEL : RX_OP_SUBMIT);
		ck_assert_str_eq(e.prescription_id, i == 3 ? "6WKB-26ZF-S6A5" : "");
		ck_assert(e.created <= now && e.created > now - 60);
		if (i == 0)
			ck_assert_str_eq(e.slip, "/tmp/slip");
		else
			ck_assert_ptr_null(e.slip);
		if (i == 1)
			ck_assert_str_eq(e.receipt, "/tmp/receipt");
		else
			ck_assert_ptr_null(e.receipt);
		ck_assert_int_eq(rxc_outbox_remove(ob, e.seq), RX_OK);
		ck_assert_int_eq(rxc_outbox_remove(ob, e.seq), RX_NOT_FOUND);
		rxc_outbox_entry_free(&e);
		free(frames[i]);
	}
	ck_assert_int_eq(rxc_outbox_first(ob, &e), RX_NOT_FOUND);
	/* Numbers are not reused after the table empties. */
	uint8_t rid[RX_REQUEST_ID_LEN];
	size_t len;
	uint8_t *fr = make_frame(RX_OP_SUBMIT, NULL, rid, &len);
	ck_assert_int_eq(rxc_outbox_put(ob, fr, len, NULL, NULL, &seq), RX_OK);
	ck_assert_uint_eq(seq, 6);
	/* Only a signed request goes in. */
	ck_assert_int_eq(rxc_outbox_put(ob, fr, len / 2, NULL, NULL, &seq), RX_INVALID);
	ck_assert_int_eq(rxc_outbox_put(ob, (const uint8_t *)"hello", 5, NULL, NULL, &seq), RX_INVALID);
	ck_assert_int_eq(rxc_outbox_count(ob, &np, &nf), RX_OK);
	ck_assert_uint_eq(np, 1);
	free(fr);
	rxc_outbox_close(&ob);
}
END_TEST

static int collect(const rxc_outbox_entry_t *e, void *arg)
{
	rxc_outbox_entry_t *out = arg;
	int i = 0;
	while (out[i].seq)
		i++;
	out[i] = *e;
	out[i].slip = out[i].receipt = NULL;
	out[i].frame = NULL;
	return 0;
}

START_TEST(failed_table_and_cap)
{
	char dir[TU_PATH_MAX];
	uint8_t rid[RX_REQUEST_ID_LEN], first_rid[RX_REQUEST_ID_LEN];
	size_t len, np, nf;
	uint64_t seq;

	tu_subdir(dir);
	rxc_outbox_t *ob = open_ok(dir, RXC_OUTBOX_LOCK);
	uint8_t *fr = make_frame(RX_OP_SUBMIT, NULL, first_rid, &len);
	ck_assert_int_eq(rxc_outbox_put(ob, fr, len, NULL, NULL, &seq), RX_OK);
	free(fr);
	ck_assert_int_eq(rxc_outbox_fail(ob, seq, RX_ASSERTION_STALE, "card assertion too old"), RX_OK);
	ck_assert_int_eq(rxc_outbox_fail(ob, seq, RX_ASSERTION_STALE, "again"), RX_NOT_FOUND);
	ck_assert_int_eq(rxc_outbox_count(ob, &np, &nf), RX_OK);
	ck_assert_uint_eq(np, 0);
	ck_assert_uint_eq(nf, 1);

	static rxc_outbox_entry_t seen[RXC_OUTBOX_FAILED_MAX + 1];
	memset(seen, 0, sizeof seen);
	ck_assert_int_eq(rxc_outbox_list(ob, 1, collect, seen), RX_OK);
	ck_assert_uint_eq(seen[0].seq, 1);
	ck_assert_int_eq(seen[0].status, RX_ASSERTION_STALE);
	ck_assert_str_eq(seen[0].message, "card assertion too old");
	ck_assert_mem_eq(seen[0].request_id, first_rid, RX_REQUEST_ID_LEN);
	ck_assert(seen[0].failed_at > 0);

	/* The failed table keeps the newest RXC_OUTBOX_FAILED_MAX. */
	for (int i = 0; i < RXC_OUTBOX_FAILED_MAX + 4; i++) {
		fr = make_frame(RX_OP_CANCEL, "6WKB-26ZF-S6A5", rid, &len);
		ck_assert_int_eq(rxc_outbox_put(ob, fr, len, NULL, NULL, &seq), RX_OK);
		free(fr);
		ck_assert_int_eq(rxc_outbox_fail(ob, seq, RX_NOT_FOUND, "no such prescription"), RX_OK);
	}
	ck_assert_int_eq(rxc_outbox_count(ob, &np, &nf), RX_OK);
	ck_assert_uint_eq(np, 0);
	ck_assert_uint_eq(nf, RXC_OUTBOX_FAILED_MAX);
	memset(seen, 0, sizeof seen);
	ck_assert_int_eq(rxc_outbox_list(ob, 1, collect, seen), RX_OK);
	ck_assert_uint_eq(seen[0].seq, 6); /* 1..5 went: 105 failed, 100 kept */
	ck_assert_uint_eq(seen[RXC_OUTBOX_FAILED_MAX - 1].seq, RXC_OUTBOX_FAILED_MAX + 5);
	ck_assert_int_eq(seen[0].op, RX_OP_CANCEL);
	rxc_outbox_close(&ob);
}
END_TEST

START_TEST(refuses_open_dirs)
{
	char dir[TU_PATH_MAX], sub[TU_PATH_MAX + 8], msg[256];
	rxc_outbox_t *ob;
	static const mode_t modes[] = {0750, 0705, 0770, 0701, 0777};

	tu_subdir(dir);
	snprintf(sub, sizeof sub, "%s/box", dir);
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		ck_assert_int_eq(mkdir(sub, 0700), 0);
		ck_assert_int_eq(chmod(sub, modes[i]), 0);
		ck_assert_int_eq(rxc_outbox_open(&ob, sub, RXC_OUTBOX_LOCK, msg, sizeof msg),
				 RX_PERMISSION_DENIED);
		ck_assert_ptr_null(ob);
		ck_assert_ptr_nonnull(strstr(msg, "chmod 700"));
		/* Nothing was written into it. */
		char f[TU_PATH_MAX + 32];
		snprintf(f, sizeof f, "%s/data.mdb", sub);
		ck_assert_int_ne(access(f, F_OK), 0);
		ck_assert_int_eq(rmdir(sub), 0);
	}
	/* A file is not an outbox. */
	int fd = open(sub, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(rxc_outbox_open(&ob, sub, 0, msg, sizeof msg), RX_PERMISSION_DENIED);
	unlink(sub);
	/* Nor is a path whose parent is missing. */
	snprintf(sub, sizeof sub, "%s/no/box", dir);
	ck_assert_int_eq(rxc_outbox_open(&ob, sub, 0, msg, sizeof msg), RX_SYSTEM);
	ck_assert_ptr_nonnull(strstr(msg, "cannot create"));
}
END_TEST

static int done_calls;
static rx_err_t done_status;

static void on_done(const rxc_outbox_entry_t *e, const rxc_result_t *r, void *arg)
{
	(void)e;
	(void)arg;
	done_calls++;
	done_status = r->status;
}

/* A record that does not decode, or holds a frame that is no request, is
 * set aside by a flush without being sent (c is NULL: sending would crash). */
START_TEST(damaged_entries_are_set_aside)
{
	char dir[TU_PATH_MAX], msg[256];
	uint8_t rid[RX_REQUEST_ID_LEN];
	size_t len, np, nf;
	uint64_t seq;
	rxc_outbox_entry_t e;

	tu_subdir(dir);
	rxc_outbox_t *ob = open_ok(dir, RXC_OUTBOX_LOCK);
	uint8_t *fr = make_frame(RX_OP_SUBMIT, NULL, rid, &len);
	ck_assert_int_eq(rxc_outbox_put(ob, fr, len, NULL, NULL, &seq), RX_OK);
	ck_assert_int_eq(rxc_outbox_put(ob, fr, len, NULL, NULL, &seq), RX_OK);
	free(fr);
	rxc_outbox_close(&ob);

	/* Damage them behind the module's back: entry 1 is garbage, entry 2
	 * is a valid record whose frame is cut short. */
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	uint8_t key[8] = {0, 0, 0, 0, 0, 0, 0, 1};
	ck_assert_int_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 4);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "pending", 0, &dbi), 0);
	k.mv_size = 8;
	k.mv_data = key;
	v.mv_size = 7;
	v.mv_data = "garbage";
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	key[7] = 2;
	ck_assert_int_eq(mdb_get(txn, dbi, &k, &v), 0);
	uint8_t *copy = malloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	/* The frame is the record's last field: overwrite its bytes with 0xff,
	 * a varint that never ends, so the record decodes but its frame does
	 * not. */
	ck_assert_uint_gt(v.mv_size, len);
	memset(copy + v.mv_size - len, 0xff, len);
	v.mv_data = copy;
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(copy);

	ob = open_ok(dir, RXC_OUTBOX_LOCK);
	ck_assert_int_eq(rxc_outbox_first(ob, &e), RX_INVALID);
	ck_assert_uint_eq(e.seq, 1);
	ck_assert_ptr_nonnull(strstr(e.message, "damaged"));
	done_calls = 0;
	ck_assert_int_eq(rxc_outbox_flush(ob, NULL, on_done, NULL, msg, sizeof msg), RX_OK);
	ck_assert_int_eq(done_calls, 2);
	ck_assert_int_eq(done_status, RX_SYSTEM);
	ck_assert_int_eq(rxc_outbox_count(ob, &np, &nf), RX_OK);
	ck_assert_uint_eq(np, 0);
	ck_assert_uint_eq(nf, 2);
	rxc_outbox_close(&ob);
}
END_TEST

/* Is pid waiting for a flock (a "->" line of /proc/locks)? */
static int waiting_for_lock(pid_t pid)
{
	char line[256], want[32];
	int found = 0;
	FILE *f = fopen("/proc/locks", "r");
	if (f == NULL)
		return 0;
	snprintf(want, sizeof want, " %d ", (int)pid);
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, "->") && strstr(line, "FLOCK") && strstr(line, want);
	fclose(f);
	return found;
}

/* Two processes delivering from one outbox take turns: the second waits
 * for the first to close, then sees what the first left. */
START_TEST(delivery_lock_serialises_processes)
{
	char dir[TU_PATH_MAX];
	uint8_t rid[RX_REQUEST_ID_LEN];
	size_t len;
	uint64_t seq;

	tu_subdir(dir);
	/* The child is forked before the parent opens, so it holds no copy of
	 * the parent's lock descriptor (a flock belongs to the open file, and
	 * a forked copy would keep it held). */
	int go[2];
	ck_assert_int_eq(pipe(go), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The child: as a second rx-clinic flushing, once the parent holds
		 * the lock. */
		rxc_outbox_t *mine;
		size_t np = 99, nf;
		char msg[256], b;
		close(go[1]);
		if (read(go[0], &b, 1) != 1 ||
		    rxc_outbox_open(&mine, dir, RXC_OUTBOX_LOCK, msg, sizeof msg) != RX_OK ||
		    rxc_outbox_count(mine, &np, &nf) != RX_OK)
			_exit(99);
		rxc_outbox_close(&mine);
		_exit((int)np);
	}
	close(go[0]);
	rxc_outbox_t *ob = open_ok(dir, RXC_OUTBOX_LOCK);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	/* Wait (deadline 10 s) until the child is blocked on the lock. */
	int64_t deadline = (int64_t)time(NULL) + 10;
	while (!waiting_for_lock(pid) && (int64_t)time(NULL) < deadline)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	int blocked = waiting_for_lock(pid);
	/* What the holder adds before letting go is what the child finds. */
	uint8_t *fr = make_frame(RX_OP_SUBMIT, NULL, rid, &len);
	ck_assert_int_eq(rxc_outbox_put(ob, fr, len, NULL, NULL, &seq), RX_OK);
	free(fr);
	rxc_outbox_close(&ob);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(blocked, "the second process did not wait for the delivery lock");
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 1);
	/* Listing takes no lock. */
	ob = open_ok(dir, RXC_OUTBOX_LOCK);
	rxc_outbox_t *lister = open_ok(dir, 0);
	rxc_outbox_close(&lister);
	rxc_outbox_close(&ob);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc = tcase_create("outbox");
	tcase_add_unchecked_fixture(tc, setup, tu_scratch_teardown);
	tcase_add_test(tc, order_persistence_removal);
	tcase_add_test(tc, failed_table_and_cap);
	tcase_add_test(tc, refuses_open_dirs);
	tcase_add_test(tc, damaged_entries_are_set_aside);
	tcase_add_test(tc, delivery_lock_serialises_processes);
	tcase_add_test(tc, request_ids_are_uuidv7);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
