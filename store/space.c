/* space: the map's room and what gives it back.  store_space (the size,
 * the high-water mark, the free list and the dispensing reserve), the
 * reserve's guard for store_change_begin (st_map_nearly_full), and pruning: the
 * stored replies older than STORE_REPLY_KEEP and the assertion nonces
 * older than NONCE_KEEP (store_prune, store_prunable). */
#include "store_int.h"

#include <string.h>
#include <time.h>

/* ---- pruning ---- */

/* See store_int.h. */
int st_prune_nonces(MDB_txn *txn, store_t *s, size_t max, uint64_t *pruned)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t limit[8];
	int rc = mdb_cursor_open(txn, s->nonce_times, &cur);
	if (rc != 0)
		return rc;
	be64(limit, s->time_hw - NONCE_KEEP);
	for (size_t i = 0; i < max && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0; i++) {
		if (k.mv_size != 24 || memcmp(k.mv_data, limit, 8) >= 0)
			break;
		/* Earlier versions also indexed nonces alone: emptied as they age. */
		MDB_val nk = val((uint8_t *)k.mv_data + 8, 16);
		if ((rc = mdb_del(txn, s->nonces, &nk, NULL)) != 0 && rc != MDB_NOTFOUND)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		if (pruned)
			++*pruned;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* Remove up to max stored replies older than before, oldest first. */
static int prune_replies(MDB_txn *txn, store_t *s, int64_t before, size_t max, uint64_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, s->requests_at, &cur);
	if (rc != 0)
		return rc;
	while (*n < max && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
		if (k.mv_size != 8 + RX_KEY_LEN + RX_REQUEST_ID_LEN || be64_get(k.mv_data) >= before)
			break;
		MDB_val rk = val((uint8_t *)k.mv_data + 8, RX_KEY_LEN + RX_REQUEST_ID_LEN);
		if ((rc = mdb_del(txn, s->requests, &rk, NULL)) != 0 && rc != MDB_NOTFOUND)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		++*n;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

/* See store_int.h. */
int st_reply_time(MDB_txn *txn, store_t *s, int op, int64_t *at)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, s->requests_at, &cur);
	if (rc != 0)
		return rc;
	/* Every key leads with its time; one that did not would be kept forever. */
	if ((rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op)) == 0)
		*at = k.mv_size >= 8 ? be64_get(k.mv_data) : INT64_MAX;
	mdb_cursor_close(cur);
	return rc;
}

/* Once the sweep has pruned every stored reply keyed the old way (none is
 * left as old as meta "requests_old"), stop looking for them: the meta goes
 * with this transaction, *done says so for after its commit. */
static int forget_old_replies(MDB_txn *txn, store_t *s, int *done)
{
	int64_t oldest;
	*done = 0;
	if (!s->old_replies || s->old_replies_until == INT64_MAX)
		return 0;
	int rc = st_reply_time(txn, s, MDB_FIRST, &oldest);
	if (rc == 0 && oldest <= s->old_replies_until)
		return 0;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	MDB_val ok = val("requests_old", 12);
	if ((rc = mdb_del(txn, s->meta, &ok, NULL)) != 0 && rc != MDB_NOTFOUND)
		return rc;
	*done = 1;
	return 0;
}

/* Entries of a time-keyed index (8-byte big-endian time first) older than
 * before, counted up to max. */
static uint64_t count_before(MDB_txn *txn, MDB_dbi dbi, int64_t before, uint64_t max)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t n = 0;
	if (mdb_cursor_open(txn, dbi, &cur) != 0)
		return 0;
	for (int op = MDB_FIRST; n < max && mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
		if (k.mv_size < 8 || be64_get(k.mv_data) >= before)
			break;
		n++;
	}
	mdb_cursor_close(cur);
	return n;
}

rx_err_t store_prune(store_t *s, int64_t now, size_t max, uint64_t *replies, uint64_t *nonces)
{
	MDB_txn *txn;
	*replies = *nonces = 0;
	if (s->batch)
		return RX_INVALID;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return from_mdb(rc);
	if (now > s->time_hw)
		s->time_hw = now;
	int forgot = 0;
	if ((rc = prune_replies(txn, s, now - STORE_REPLY_KEEP, max, replies)) != 0 ||
	    (rc = st_prune_nonces(txn, s, max, nonces)) != 0 ||
	    (rc = forget_old_replies(txn, s, &forgot)) != 0) {
		mdb_txn_abort(txn);
		*replies = *nonces = 0;
		return from_mdb(rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		*replies = *nonces = 0;
	else if (forgot)
		s->old_replies = 0;
	return from_mdb(rc);
}

rx_err_t store_prunable(store_t *s, int64_t now, uint64_t *replies, uint64_t *replies_due,
			uint64_t *nonces, uint64_t *nonces_due)
{
	MDB_txn *txn;
	MDB_stat st;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return from_mdb(rc);
	*replies = mdb_stat(txn, s->requests, &st) == 0 ? st.ms_entries : 0;
	*nonces = mdb_stat(txn, s->nonce_times, &st) == 0 ? st.ms_entries : 0;
	/* Counted, not walked to the end: what one sweep would take. */
	*replies_due = count_before(txn, s->requests_at, now - STORE_REPLY_KEEP, STORE_PRUNABLE_COUNTED);
	*nonces_due = count_before(txn, s->nonce_times,
				   (now > s->time_hw ? now : s->time_hw) - NONCE_KEEP, STORE_PRUNABLE_COUNTED);
	mdb_txn_abort(txn);
	return RX_OK;
}

/* ---- space and the reserve ---- */

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Pages on the free list: each entry of LMDB's free DB (dbi 0) is a list of
 * page numbers whose first word is their count.  Read in a read
 * transaction (LMDB refuses a cursor on it in a write one). */
static uint64_t count_free_pages(store_t *s)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t n = 0;
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
		return 0;
	if (mdb_cursor_open(txn, 0, &cur) == 0) {
		while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
			if (v.mv_size >= sizeof(size_t)) {
				size_t c;
				memcpy(&c, v.mv_data, sizeof c);
				n += c;
			}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return n;
}

/* The map's size, high-water mark and reserve: no walk, cheap enough for
 * every request. */
static rx_err_t space_of(store_t *s, store_space_t *out)
{
	MDB_envinfo info;
	MDB_stat st;
	memset(out, 0, sizeof *out);
	if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
		return RX_UNAVAILABLE;
	out->map_size = info.me_mapsize;
	out->high_water = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
	out->reserve = out->map_size / 8 > 65536 ? out->map_size / 8 : 65536;
	/* Only the untouched tail of the map counts as room: the free list is
	 * LMDB's working space (every commit frees the pages it copied), and a
	 * record larger than half a page needs a contiguous run of pages, which
	 * a fragmented free list may not have.  What pruning frees is reused by
	 * later writes, so the tail is spent more slowly; it grows back only by
	 * a compacting copy (rxctl backup, restored) or a bigger map. */
	uint64_t tail = out->map_size > out->high_water ? out->map_size - out->high_water : 0;
	out->nearly_full = tail < out->reserve;
	out->page_size = st.ms_psize;
	return RX_OK;
}

rx_err_t store_space(store_t *s, store_space_t *out)
{
	rx_err_t err = space_of(s, out);
	if (err != RX_OK)
		return err;
	int64_t now = mono_us();
	if (s->free_counted_us == 0 || now - s->free_counted_us >= 1000000) {
		s->free_pages = count_free_pages(s);
		s->free_counted_us = now;
	}
	out->free = s->free_pages * out->page_size;
	if (out->free > out->high_water)
		out->free = out->high_water;
	out->used = out->high_water - out->free;
	return RX_OK;
}

/* See store_int.h. */
int st_map_nearly_full(store_t *s)
{
	store_space_t sp;
	return space_of(s, &sp) == RX_OK && sp.nearly_full;
}
