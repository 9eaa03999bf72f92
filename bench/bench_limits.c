/* bench_limits: the machine's own limits (see bench_limits.h). */
#include "bench_limits.h"

#include <errno.h>
#include <ftw.h>
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "rx_crypto.h"

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- Ed25519 ---- */

typedef struct {
	size_t msg_len;
	int64_t until;
	uint64_t done;
	int bad;
} verify_arg_t;

static void *verify_loop(void *p)
{
	verify_arg_t *a = p;
	rx_keypair_t kp;
	uint8_t seed[RX_SEED_LEN], sig[RX_SIG_LEN];
	uint8_t *msg = malloc(a->msg_len);
	if (msg == NULL) {
		a->bad = 1;
		return NULL;
	}
	randombytes_buf(seed, sizeof seed);
	randombytes_buf(msg, a->msg_len);
	rx_keypair_from_seed(seed, &kp);
	if (rx_sign(RX_SIGN_CALL, kp.sk, msg, a->msg_len, sig) != RX_OK)
		a->bad = 1;
	/* rx_verify is what rxd calls: the context prefix and libsodium's
	 * verify, so the figure includes exactly rxd's per-signature work. */
	while (!a->bad) {
		for (int i = 0; i < 64; i++)
			if (rx_verify(RX_SIGN_CALL, kp.pk, msg, a->msg_len, sig) != RX_OK)
				a->bad = 1;
		a->done += 64;
		if (now_ns() >= a->until)
			break;
	}
	free(msg);
	return NULL;
}

double bench_limit_verify(int threads, size_t msg_len, int ms)
{
	pthread_t th[64];
	verify_arg_t args[64];
	if (threads < 1)
		threads = 1;
	if (threads > 64)
		threads = 64;
	int64_t t0 = now_ns();
	for (int i = 0; i < threads; i++) {
		args[i] = (verify_arg_t){.msg_len = msg_len, .until = t0 + (int64_t)ms * 1000000};
		if (pthread_create(&th[i], NULL, verify_loop, &args[i]) != 0)
			return -1;
	}
	uint64_t total = 0;
	int bad = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += args[i].done;
		bad |= args[i].bad;
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	return bad ? -1 : (double)total / secs;
}

/* ---- LMDB ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void bench_sort_us(uint32_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_u32);
}

double bench_pct_ms(const uint32_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)((double)n * p);
	if (i >= n)
		i = n - 1;
	return v[i] / 1000.0;
}

/* Commit times kept for the percentiles: a few seconds' worth. */
#define LMDB_SAMPLES 65536

double bench_limit_lmdb(const char *dir, int records_per_txn, size_t value_len, int ms,
			double ms_p50_p99[2])
{
	char path[512];
	MDB_env *env = NULL;
	MDB_dbi dbi;
	MDB_txn *txn;
	double rate = -1;
	uint64_t key = 0, commits = 0;
	uint8_t *val = calloc(1, value_len ? value_len : 1);
	uint32_t *took = malloc(LMDB_SAMPLES * sizeof *took);

	if (ms_p50_p99)
		ms_p50_p99[0] = ms_p50_p99[1] = 0;
	snprintf(path, sizeof path, "%s/lmdb-limit.XXXXXX", dir);
	if (val == NULL || took == NULL || mkdtemp(path) == NULL) {
		free(val);
		free(took);
		return -1;
	}
	randombytes_buf(val, value_len);
	/* The same flags as the store: no NOSYNC, no WRITEMAP. */
	if (mdb_env_create(&env) != 0 || mdb_env_set_mapsize(env, (size_t)1 << 30) != 0 ||
	    mdb_env_open(env, path, 0, 0600) != 0)
		goto fail;
	if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
		goto fail;
	if (mdb_dbi_open(txn, NULL, 0, &dbi) != 0 || mdb_txn_commit(txn) != 0)
		goto fail;
	int64_t t0 = now_ns(), until = t0 + (int64_t)ms * 1000000;
	while (now_ns() < until) {
		int64_t c0 = now_ns();
		if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
			goto fail;
		for (int i = 0; i < records_per_txn; i++) {
			uint64_t k = __builtin_bswap64(++key); /* big-endian: in key order */
			MDB_val mk = {sizeof k, &k}, mv = {value_len, val};
			if (mdb_put(txn, dbi, &mk, &mv, 0) != 0) {
				mdb_txn_abort(txn);
				goto fail;
			}
		}
		if (mdb_txn_commit(txn) != 0)
			goto fail;
		if (commits < LMDB_SAMPLES)
			took[commits] = (uint32_t)((now_ns() - c0) / 1000);
		commits++;
	}
	rate = (double)commits / ((double)(now_ns() - t0) / 1e9);
	if (ms_p50_p99) {
		size_t n = commits < LMDB_SAMPLES ? commits : LMDB_SAMPLES;
		bench_sort_us(took, n);
		ms_p50_p99[0] = bench_pct_ms(took, n, 0.50);
		ms_p50_p99[1] = bench_pct_ms(took, n, 0.99);
	}
fail:
	if (env)
		mdb_env_close(env);
	nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(val);
	free(took);
	return rate;
}

double bench_limit_sync(const char *dir, int ms, double *ms_p50)
{
	enum { PAGE = 4096, PAGES = 256 };
	char path[512];
	uint8_t page[PAGE];
	uint32_t *took = malloc(LMDB_SAMPLES * sizeof *took);
	uint64_t syncs = 0;
	double rate = -1;
	*ms_p50 = 0;
	snprintf(path, sizeof path, "%s/sync-limit.XXXXXX", dir);
	int fd = took ? mkstemp(path) : -1;
	if (fd < 0) {
		free(took);
		return -1;
	}
	randombytes_buf(page, sizeof page);
	for (int i = 0; i < PAGES; i++)
		if (pwrite(fd, page, PAGE, (off_t)i * PAGE) != PAGE)
			goto done;
	if (fsync(fd) != 0)
		goto done;
	int64_t t0 = now_ns(), until = t0 + (int64_t)ms * 1000000;
	while (now_ns() < until) {
		int64_t c0 = now_ns();
		page[0] = (uint8_t)syncs;
		/* A different page each time, as a log's tail or a free page would be. */
		if (pwrite(fd, page, PAGE, (off_t)(syncs % PAGES) * PAGE) != PAGE || fdatasync(fd) != 0)
			goto done;
		if (syncs < LMDB_SAMPLES)
			took[syncs] = (uint32_t)((now_ns() - c0) / 1000);
		syncs++;
	}
	rate = (double)syncs / ((double)(now_ns() - t0) / 1e9);
	size_t n = syncs < LMDB_SAMPLES ? syncs : LMDB_SAMPLES;
	bench_sort_us(took, n);
	*ms_p50 = bench_pct_ms(took, n, 0.50);
done:
	close(fd);
	unlink(path);
	free(took);
	return rate;
}

/* ---- ZeroMQ ---- */

typedef struct {
	void *router;
	volatile int stop;
} echo_arg_t;

static void *echo_loop(void *p)
{
	echo_arg_t *a = p;
	zmq_pollitem_t it = {a->router, 0, ZMQ_POLLIN, 0};
	while (!a->stop) {
		if (zmq_poll(&it, 1, 50) <= 0)
			continue;
		for (;;) {
			zmq_msg_t id, body;
			zmq_msg_init(&id);
			if (zmq_msg_recv(&id, a->router, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&id);
				break;
			}
			zmq_msg_init(&body);
			if (zmq_msg_recv(&body, a->router, 0) < 0) {
				zmq_msg_close(&id);
				zmq_msg_close(&body);
				break;
			}
			zmq_msg_send(&id, a->router, ZMQ_SNDMORE);
			zmq_msg_send(&body, a->router, 0);
		}
	}
	return NULL;
}

double bench_limit_zmq(int curve, size_t msg_len, int window, int ms, double *ms_p50)
{
	void *ctx = zmq_ctx_new();
	void *router = NULL, *dealer = NULL;
	char ep[256];
	size_t eplen = sizeof ep;
	int linger = 0, one = 1, hwm = 0;
	double rate = -1;
	pthread_t th;
	echo_arg_t arg = {0};
	uint8_t *msg = calloc(1, msg_len ? msg_len : 1);
	int started = 0;

	if (ctx == NULL || msg == NULL)
		goto out;
	router = zmq_socket(ctx, ZMQ_ROUTER);
	dealer = zmq_socket(ctx, ZMQ_DEALER);
	if (router == NULL || dealer == NULL)
		goto out;
	zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof hwm);
	zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof hwm);
	zmq_setsockopt(dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
	zmq_setsockopt(dealer, ZMQ_RCVHWM, &hwm, sizeof hwm);
	if (curve) {
		uint8_t spk[32], ssk[32], cpk[32], csk[32];
		crypto_box_keypair(spk, ssk);
		crypto_box_keypair(cpk, csk);
		zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one);
		zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, ssk, 32);
		zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, spk, 32);
		zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, cpk, 32);
		zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, csk, 32);
	}
	if (zmq_bind(router, "tcp://127.0.0.1:*") != 0 ||
	    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &eplen) != 0 || zmq_connect(dealer, ep) != 0)
		goto out;
	arg.router = router;
	if (pthread_create(&th, NULL, echo_loop, &arg) != 0)
		goto out;
	started = 1;
	randombytes_buf(msg, msg_len);
	/* One round trip first: the handshake is not part of the rate. */
	if (zmq_send(dealer, msg, msg_len, 0) < 0 || zmq_recv(dealer, msg, msg_len, 0) < 0)
		goto out;
	uint64_t sent = 0, got = 0;
	int64_t t0 = now_ns(), until = t0 + (int64_t)ms * 1000000;
	if (window == 1 && ms_p50) {
		/* One at a time, each timed. */
		size_t cap = 1 << 16, n = 0;
		uint32_t *us = malloc(cap * sizeof *us);
		while (us && n < cap && now_ns() < until) {
			int64_t s0 = now_ns();
			if (zmq_send(dealer, msg, msg_len, 0) < 0 || zmq_recv(dealer, msg, msg_len, 0) < 0)
				break;
			us[n++] = (uint32_t)((now_ns() - s0) / 1000);
		}
		bench_sort_us(us, n);
		*ms_p50 = bench_pct_ms(us, n, 0.5);
		rate = n ? (double)n / ((double)(now_ns() - t0) / 1e9) : -1;
		free(us);
		goto out;
	}
	while (now_ns() < until) {
		while (sent - got < (uint64_t)window && zmq_send(dealer, msg, msg_len, ZMQ_DONTWAIT) >= 0)
			sent++;
		if (zmq_recv(dealer, msg, msg_len, 0) >= 0)
			got++;
		while (zmq_recv(dealer, msg, msg_len, ZMQ_DONTWAIT) >= 0)
			got++;
	}
	rate = (double)got / ((double)(now_ns() - t0) / 1e9);
out:
	if (started) {
		arg.stop = 1;
		pthread_join(th, NULL);
	}
	if (dealer)
		zmq_close(dealer);
	if (router)
		zmq_close(router);
	if (ctx)
		zmq_ctx_term(ctx);
	free(msg);
	return rate;
}
