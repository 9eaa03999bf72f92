/* store/guard.c: the resubmission guard (proto/README 5.5: a prescription
 * with the issued_at and content hash of one submitted before is
 * CONFLICT), kept so that a SUBMIT writes no random page for it.
 *
 * rx_hash, keyed issued_at + hash, holds the guard of every prescription
 * numbered up to meta "rx_hash_merged".  The ones after it are found in
 * memory, in a table built at open from their records; once the table holds
 * merge_at of them they are put into rx_hash together, in key order, and
 * the mark moves.  Why: issued_at is in seconds, and within a second the
 * hash is random, so at thousands of SUBMITs a second a new entry landed on
 * a page of its own (48 of the 114 leaf pages one commit of 64 SUBMITs
 * wrote, measured under rx-bench); merged thousands at a time they fill
 * whole pages at the tree's end.
 *
 * A merge is put in merge_chunk entries a write transaction, in key order,
 * so that no one batch pays for all of it (4,096 puts and ~100 pages in one
 * commit held up the replies of the batch that carried it: rx-bench's p99
 * at half the peak, README "Performance, fourth pass"); the chunks follow
 * one another through the sorted keys, so a page is still written about
 * once a merge.  The mark moves with the last chunk: until then the merged
 * entries are in rx_hash and in memory both, and an open rebuilds them all
 * (putting one again into rx_hash changes nothing).
 *
 * The table follows the transactions: an entry is added once its SUBMIT is
 * in the open transaction, dropped again if that transaction does not
 * commit; merged entries leave it only when the merge has committed.  So a
 * lookup sees exactly what the transaction it runs in would see in
 * rx_hash.  A store of format 4 or before had every guard in rx_hash: its
 * mark starts at its last prescription. */
#include "store_int.h"

#include <errno.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "records.pb-c.h"
#include "rx_crypto.h"

#define MERGE_AT 4096 /* a merge writes ~100 full pages; the table ~200 KiB */
#define MERGE_CHUNK 256 /* a merge is 16 write transactions' work */

/* The table's slot: SipHash under a key of this process, since the hash is
 * of bodies a caller writes, who could otherwise pick many with one slot. */
static size_t slot_of(const st_guard_t *g, int64_t at, const uint8_t *hash)
{
	uint8_t in[8 + RX_HASH_LEN], out[crypto_shorthash_BYTES];
	uint64_t h;
	be64(in, at);
	memcpy(in + 8, hash, RX_HASH_LEN);
	crypto_shorthash(out, in, sizeof in, g->slot_key);
	memcpy(&h, out, sizeof h);
	return (size_t)(h & (g->nslot - 1));
}

static int same(const st_guard_ent_t *e, int64_t at, const uint8_t *hash)
{
	return e->issued_at == at && memcmp(e->hash, hash, RX_HASH_LEN) == 0;
}

/* Index every entry again into a table of at least 2 * want + 2 slots; a
 * table never shrinks, so dropping entries cannot fail. */
static int reindex(st_guard_t *g, size_t want)
{
	size_t nslot = g->nslot ? g->nslot : 64;
	while (nslot < 2 * want + 2)
		nslot *= 2;
	if (nslot != g->nslot) {
		uint32_t *slot = calloc(nslot, sizeof *slot);
		if (slot == NULL)
			return ENOMEM;
		free(g->slot);
		g->slot = slot;
		g->nslot = nslot;
	} else {
		memset(g->slot, 0, nslot * sizeof *g->slot);
	}
	for (size_t i = 0; i < g->n; i++) {
		size_t j = slot_of(g, g->ent[i].issued_at, g->ent[i].hash);
		while (g->slot[j])
			j = (j + 1) & (g->nslot - 1);
		g->slot[j] = (uint32_t)(i + 1);
	}
	return 0;
}

/* Room for one more entry, so that adding it cannot fail. */
static int reserve(st_guard_t *g)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 1024;
		st_guard_ent_t *ent = realloc(g->ent, cap * sizeof *ent);
		if (ent == NULL)
			return ENOMEM;
		g->ent = ent;
		g->cap = cap;
	}
	return 2 * (g->n + 1) + 2 > g->nslot ? reindex(g, g->n + 1) : 0;
}

/* After reserve. */
static void add(st_guard_t *g, int64_t at, const uint8_t *hash, uint64_t seq)
{
	st_guard_ent_t *e = &g->ent[g->n++];
	e->issued_at = at;
	memcpy(e->hash, hash, RX_HASH_LEN);
	e->seq = seq;
	size_t j = slot_of(g, at, hash);
	while (g->slot[j])
		j = (j + 1) & (g->nslot - 1);
	g->slot[j] = (uint32_t)g->n;
}

/* Keep entries [from, to) only.  Cannot fail: the table is big enough. */
static void keep(st_guard_t *g, size_t from, size_t to)
{
	memmove(g->ent, g->ent + from, (to - from) * sizeof *g->ent);
	g->n = to - from;
	(void)reindex(g, g->n);
}

static int cmp_key(const void *a, const void *b)
{
	const st_guard_ent_t *x = a, *y = b;
	if (x->issued_at != y->issued_at)
		return x->issued_at < y->issued_at ? -1 : 1;
	return memcmp(x->hash, y->hash, RX_HASH_LEN);
}

static void guard_key(uint8_t key[8 + RX_HASH_LEN], int64_t at, const uint8_t *hash)
{
	be64(key, at);
	memcpy(key + 8, hash, RX_HASH_LEN);
}

/* See store_int.h. */
int st_guard_open(MDB_txn *txn, store_t *s, uint32_t format, uint32_t merge_at,
		  uint32_t merge_chunk)
{
	st_guard_t *g = &s->guard;
	uint64_t last = 0, mark = 0;
	int rc;
	memset(g, 0, sizeof *g);
	g->merge_at = merge_at ? merge_at : MERGE_AT;
	g->merge_chunk = merge_chunk ? merge_chunk : MERGE_CHUNK;
	randombytes_buf(g->slot_key, sizeof g->slot_key);
	if ((rc = st_rows_count(txn, s, "rx_seq", &last)) != 0)
		return rc;
	MDB_val k = val("rx_hash_merged", 14), v;
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND && format > 0 && format < 5) {
		mark = last; /* every guard of before is in rx_hash */
		v = val(&mark, sizeof mark);
		if (!s->read_only && (rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
			return rc;
	} else if (rc == MDB_NOTFOUND) {
		mark = 0; /* a new store */
	} else if (rc != 0) {
		return rc;
	} else if (v.mv_size != sizeof mark) {
		return MDB_CORRUPTED;
	} else {
		memcpy(&mark, v.mv_data, sizeof mark);
	}
	g->merged = mark;
	if ((rc = reindex(g, 0)) != 0 || s->read_only)
		return rc;
	/* The prescriptions after the mark: their guards from their records. */
	for (uint64_t seq = mark + 1; seq <= last; seq++) {
		char id[RX_ID_LEN + 1];
		Rxstore__RxRecord *r;
		uint8_t hash[RX_HASH_LEN];
		rx_rxid_of_seq(s->id_key, seq, id);
		rx_err_t err = st_get_rx(txn, s, id, &r);
		if (err == RX_SYSTEM)
			return ENOMEM;
		/* A number passed over (st_rx_key) has no record.  One that does
		 * not open (damaged, or this is the wrong data key, which
		 * store_keys_probe reports before rxd serves) has no guard: the
		 * store still opens, as it did when the guard was in rx_hash,
		 * and that record is refused wherever it is read. */
		if (err != RX_OK)
			continue;
		int ok = rx_hash_without_field(r->body.data, r->body.len, RX_PRESCRIPTION_CALL_HASH_FIELD,
					       hash) == RX_OK;
		int64_t at = r->issued_at;
		rxstore__rx_record__free_unpacked(r, NULL);
		/* A body that does not parse was refused by dispatch before the
		 * store saw it: the same bytes cannot come back as a SUBMIT. */
		if (!ok)
			continue;
		if ((rc = reserve(g)) != 0)
			return rc;
		add(g, at, hash, seq);
	}
	g->next_merge = g->merge_at;
	return 0;
}

/* See store_int.h. */
void st_guard_close(store_t *s)
{
	free(s->guard.sorted);
	free(s->guard.ent);
	free(s->guard.slot);
	memset(&s->guard, 0, sizeof s->guard);
}

/* See store_int.h. */
int st_guard_find(MDB_txn *txn, store_t *s, int64_t issued_at, const uint8_t hash[RX_HASH_LEN])
{
	const st_guard_t *g = &s->guard;
	if (g->nslot) {
		for (size_t j = slot_of(g, issued_at, hash); g->slot[j]; j = (j + 1) & (g->nslot - 1))
			if (same(&g->ent[g->slot[j] - 1], issued_at, hash))
				return MDB_KEYEXIST;
	}
	/* Merged, and (format 2) keyed by the hash alone. */
	uint8_t key[8 + RX_HASH_LEN];
	guard_key(key, issued_at, hash);
	MDB_val keys[2] = {val(key, sizeof key), val(key + 8, RX_HASH_LEN)}, v;
	for (int i = 0; i < 2; i++) {
		int rc = mdb_get(txn, s->rx_hash, &keys[i], &v);
		if (rc == 0)
			return MDB_KEYEXIST;
		if (rc != MDB_NOTFOUND)
			return rc;
	}
	return 0;
}

/* See store_int.h. */
int st_guard_reserve(store_t *s)
{
	return reserve(&s->guard);
}

/* See store_int.h. */
void st_guard_add(store_t *s, int64_t issued_at, const uint8_t hash[RX_HASH_LEN], uint64_t seq)
{
	add(&s->guard, issued_at, hash, seq);
}

/* The merge in progress is given up (its entries stay in memory, their
 * puts so far in rx_hash) and tried again once another merge_at gathered. */
static void give_up(st_guard_t *g)
{
	free(g->sorted);
	g->sorted = NULL;
	g->nsorted = g->put = 0;
	g->next_merge = g->n + g->merge_at;
}

/* See store_int.h. */
void st_guard_begin(store_t *s, MDB_txn *txn)
{
	st_guard_t *g = &s->guard;
	MDB_txn *sub;
	g->mark = g->n;
	g->putting = 0;
	/* Not past the dispensing reserve: the guards stay in memory (and in
	 * their records) until there is room. */
	if (s->read_only || (g->sorted == NULL && g->n < g->next_merge) || st_map_nearly_full(s))
		return;
	if (g->sorted == NULL) {
		if ((g->sorted = malloc(g->n * sizeof *g->sorted)) == NULL) {
			give_up(g);
			return;
		}
		memcpy(g->sorted, g->ent, g->n * sizeof *g->sorted);
		qsort(g->sorted, g->n, sizeof *g->sorted, cmp_key);
		g->nsorted = g->n;
		g->put = 0;
	}
	/* In a transaction of its own within txn: a chunk that fails leaves
	 * txn as it was. */
	if (mdb_txn_begin(s->env, txn, 0, &sub) != 0)
		return;
	size_t end = g->put + g->merge_chunk < g->nsorted ? g->put + g->merge_chunk : g->nsorted;
	int rc = 0;
	for (size_t i = g->put; rc == 0 && i < end; i++) {
		uint8_t key[8 + RX_HASH_LEN];
		char id[RX_ID_LEN + 1];
		guard_key(key, g->sorted[i].issued_at, g->sorted[i].hash);
		rx_rxid_of_seq(s->id_key, g->sorted[i].seq, id);
		MDB_val k = val(key, sizeof key), v = val(id, RX_ID_LEN);
		rc = mdb_put(sub, s->rx_hash, &k, &v, 0);
	}
	if (rc == 0 && end == g->nsorted) {
		uint64_t mark = g->merged;
		for (size_t i = 0; i < g->nsorted; i++)
			if (g->sorted[i].seq > mark)
				mark = g->sorted[i].seq;
		MDB_val mk = val("rx_hash_merged", 14), mv = val(&mark, sizeof mark);
		rc = mdb_put(sub, s->meta, &mk, &mv, 0);
		g->pending_mark = mark;
	}
	if (rc == 0 && mdb_txn_commit(sub) == 0) {
		g->putting = end - g->put;
	} else {
		if (rc != 0)
			mdb_txn_abort(sub);
		give_up(g);
	}
}

/* See store_int.h. */
void st_guard_end(store_t *s, int committed)
{
	st_guard_t *g = &s->guard;
	size_t putting = g->putting;
	g->putting = 0;
	if (!committed) {
		if (g->mark < g->n)
			keep(g, 0, g->mark);
		return;
	}
	if (putting == 0)
		return;
	g->put += putting;
	if (g->put < g->nsorted)
		return;
	/* The last chunk committed, and the mark with it. */
	g->merged = g->pending_mark;
	keep(g, g->nsorted, g->n);
	free(g->sorted);
	g->sorted = NULL;
	g->nsorted = g->put = 0;
	g->next_merge = g->merge_at;
}
