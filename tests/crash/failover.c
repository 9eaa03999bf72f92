/* failover: freeze, copy, read what the copy holds (see failover.h). */
#include "failover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int failover_freeze(pid_t pid, int timeout_ms, int *status)
{
	*status = 0;
	if (pid <= 0 || kill(pid, SIGSTOP) != 0)
		return -1;
	/* kill() only queues the signal: the threads stop one by one (a thread
	 * in fsync finishes it first), and the parent hears of the stop once
	 * the last one has.  Polled with a deadline. */
	for (int64_t deadline = crash_ms() + timeout_ms;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG | WUNTRACED);
		if (r == pid && WIFSTOPPED(st))
			return 0;
		if (r == pid) {
			*status = st;
			return 1;
		}
		if (crash_ms() >= deadline)
			return -1;
		nanosleep(&(struct timespec){0, 1000000L}, NULL);
	}
}

static int copy_file(const char *from, const char *to, mode_t mode, uint64_t *bytes)
{
	static char buf[1 << 20];
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, ret = -1;
	if (in < 0)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777)) < 0)
		goto done;
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto done;
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto done;
			off += w;
		}
		*bytes += (uint64_t)n;
	}
	ret = 0;
done:
	if (out >= 0 && close(out) != 0)
		ret = -1;
	close(in);
	return ret;
}

/* from's entries into to, which exists. */
static int copy_tree(const char *from, const char *to, uint64_t *bytes)
{
	DIR *d = opendir(from);
	if (d == NULL)
		return -1;
	int ret = 0;
	struct dirent *e;
	while (ret == 0 && (e = readdir(d)) != NULL) {
		char src[4200], dst[4200];
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(src, sizeof src, "%s/%s", from, e->d_name) >= sizeof src ||
		    (size_t)snprintf(dst, sizeof dst, "%s/%s", to, e->d_name) >= sizeof dst ||
		    lstat(src, &st) != 0) {
			ret = -1;
		} else if (S_ISDIR(st.st_mode)) {
			ret = mkdir(dst, st.st_mode & 07777) == 0 ? copy_tree(src, dst, bytes) : -1;
		} else if (S_ISREG(st.st_mode)) {
			ret = copy_file(src, dst, st.st_mode, bytes);
		}
		/* else a socket (admin.sock): an endpoint, not data */
	}
	closedir(d);
	return ret;
}

int failover_copy(const char *from, const char *to, uint64_t *bytes)
{
	char keys_from[4200], keys_to[4200];
	struct stat st;
	*bytes = 0;
	if (mkdir(to, 0700) != 0 || copy_tree(from, to, bytes) != 0)
		return -1;
	if ((size_t)snprintf(keys_from, sizeof keys_from, "%s-keys", from) >= sizeof keys_from ||
	    (size_t)snprintf(keys_to, sizeof keys_to, "%s-keys", to) >= sizeof keys_to)
		return -1;
	if (stat(keys_from, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	return mkdir(keys_to, 0700) == 0 ? copy_tree(keys_from, keys_to, bytes) : -1;
}

uint64_t failover_key(const uint8_t pk[RX_KEY_LEN], const uint8_t rid[RX_REQUEST_ID_LEN])
{
	static const uint8_t k[crypto_shorthash_KEYBYTES];
	uint8_t in[RX_KEY_LEN + RX_REQUEST_ID_LEN], out[crypto_shorthash_BYTES];
	uint64_t v;
	memcpy(in, pk, RX_KEY_LEN);
	memcpy(in + RX_KEY_LEN, rid, RX_REQUEST_ID_LEN);
	crypto_shorthash(out, in, sizeof in, k);
	memcpy(&v, out, sizeof v);
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int failover_ledger(const char *dir, crash_copy_t *c)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi dbi;
	MDB_stat st;
	MDB_val k, v;
	int ret = -1;

	c->keys = NULL;
	c->nkeys = 0;
	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_maxdbs(env, 32);
	/* No lock: the copy is ours alone until the survivor starts on it,
	 * and its lock.mdb stays the bytes the frozen node left. */
	if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 || mdb_dbi_open(txn, "requests", 0, &dbi) != 0 ||
	    mdb_stat(txn, dbi, &st) != 0 || mdb_cursor_open(txn, dbi, &cur) != 0)
		goto out;
	if ((c->keys = malloc((st.ms_entries ? st.ms_entries : 1) * sizeof *c->keys)) == NULL)
		goto out;
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		if (k.mv_size != RX_KEY_LEN + RX_REQUEST_ID_LEN || c->nkeys == st.ms_entries)
			goto out;
		const uint8_t *p = k.mv_data; /* request id, then the caller's key */
		c->keys[c->nkeys++] = failover_key(p + RX_REQUEST_ID_LEN, p);
	}
	qsort(c->keys, c->nkeys, sizeof *c->keys, cmp_u64);
	ret = 0;
out:
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	if (ret != 0)
		failover_copy_free(c);
	return ret;
}

void failover_copy_free(crash_copy_t *c)
{
	free(c->keys);
	c->keys = NULL;
	c->nkeys = 0;
}

int failover_holds(const crash_copy_t *c, uint64_t key)
{
	return c->nkeys && bsearch(&key, c->keys, c->nkeys, sizeof key, cmp_u64) != NULL;
}
