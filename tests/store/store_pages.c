/* store-pages: which of the store's trees a request dirties, measured.
 *
 * Not a test: a measurement for issue #13 (an append-mostly store), run by
 * hand: `build/tests/store-pages [STORED [PATIENTS [BATCH]]]`.  It fills a
 * store in a scratch directory through the request path (store_change_*
 * in group commits, as rxd's store thread runs it) with STORED
 * prescriptions of PATIENTS patients (half of them claimed and dispensed),
 * then applies one batch of BATCH
 * SUBMITs, one of CLAIMs, one of DISPENSEs and one of CLAIMs by the slip's
 * access code, each one commit, and prints
 * per tree the leaf pages that commit wrote, per request, and what the
 * commit wrote in all (write(2) bytes of this process: LMDB's dirty pages,
 * branch pages and free list included, and its meta page).
 *
 * A leaf page is found from the pointers LMDB returns for each key and
 * value (the map is page-aligned): a read transaction held across the
 * batch keeps every page of before in place, so a page of after that
 * before did not have is one the batch wrote (copy-on-write).  A value too
 * big for its leaf lives on overflow pages, counted with the tree. */
#include <inttypes.h>
#include <lmdb.h>

#include "store_int.h"
#include "store_world.h"

#define MAX_TREES 24
#define BODY_LEN 700 /* about a signed prescription of two items */

typedef struct {
	const char *name;
	MDB_dbi dbi;
} tree_t;

typedef struct {
	uintptr_t *pages;
	size_t n, cap;
} pageset_t;

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

static void add_page(pageset_t *p, const void *ptr, size_t psize)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		p->pages = realloc(p->pages, p->cap * sizeof *p->pages);
		if (p->pages == NULL)
			abort();
	}
	p->pages[p->n++] = (uintptr_t)ptr / psize;
}

/* The pages holding tree t's keys and values in txn, sorted, unique. */
static void pages_of(MDB_txn *txn, MDB_dbi dbi, size_t psize, pageset_t *p)
{
	MDB_cursor *cur;
	MDB_val k, v;
	p->n = 0;
	if (mdb_cursor_open(txn, dbi, &cur) != 0)
		abort();
	for (int op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
		add_page(p, k.mv_data, psize);
		if (v.mv_size)
			add_page(p, v.mv_data, psize);
	}
	mdb_cursor_close(cur);
	if (p->n == 0)
		return;
	qsort(p->pages, p->n, sizeof *p->pages, cmp_ptr);
	size_t u = 1;
	for (size_t i = 1; i < p->n; i++)
		if (p->pages[i] != p->pages[u - 1])
			p->pages[u++] = p->pages[i];
	p->n = u;
}

/* Pages of after that before does not hold. */
static size_t new_pages(const pageset_t *before, const pageset_t *after)
{
	size_t n = 0, i = 0;
	for (size_t j = 0; j < after->n; j++) {
		while (i < before->n && before->pages[i] < after->pages[j])
			i++;
		n += !(i < before->n && before->pages[i] == after->pages[j]);
	}
	return n;
}

/* Bytes this process has passed to write(2) so far. */
static uint64_t wchar(void)
{
	char line[128];
	uint64_t v = 0;
	FILE *f = fopen("/proc/self/io", "r");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "wchar: %" SCNu64, &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static size_t trees_of(store_t *s, tree_t *t)
{
	tree_t all[] = {
		{"rx", s->rx},
		{"rx_patient", s->rx_patient},
		{"rx_hash", s->rx_hash},
		{"rx_expiry", s->rx_expiry},
		{"dispenses", s->dispenses},
		{"requests", s->requests},
		{"requests_at", s->requests_at},
		{"nonces", s->nonces},
		{"nonce_times", s->nonce_times},
		{"access_log", s->access_log},
		{"audit", s->audit.log},
		{"audit_patient", s->audit.by_patient},
		{"notices", s->notices},
		{"meta", s->meta},
	};
	size_t n = sizeof all / sizeof all[0];
	memcpy(t, all, sizeof all);
	return n;
}

typedef struct {
	world_t w;
	char (*patients)[RX_PATIENT_ID_LEN + 1];
	uint8_t (*cards)[RX_KEY_LEN];
	int npatients;
	uint8_t body[BODY_LEN];
	int64_t now;
	uint64_t ms; /* the last request id's millisecond */
} bench_world_t;

/* A CLAIM with the slip's access code instead of the patient's card. */
#define CLAIM_BY_CODE (-RX_OP_CLAIM)

/* One request of op on prescription id (SUBMIT: a new one for patient p),
 * as dispatch would hand it to the store, applied in the open batch. */
static rx_err_t one(bench_world_t *b, int op, int p, const char *id, const uint8_t *token,
		    store_outcome_t *out)
{
	call_t k;
	world_t *w = &b->w;
	store_change_t *c = op == RX_OP_SUBMIT ? mk_submit(&k, w->doc, b->patients[p], 1, b->now)
					       : mk(&k, op < 0 ? -op : op, w->pharm, id, b->now);
	if (op == CLAIM_BY_CODE) {
		c->card = NULL;
		c->access_code = "ABCD-EFGH-JK5"; /* mk_submit's */
		c->patient_id = "";
	}
	/* Request ids as the reference client makes them (UUIDv7: the
	 * millisecond first), so stored replies land as they do under rxd. */
	b->ms = b->ms > (uint64_t)b->now * 1000 ? b->ms + 1 : (uint64_t)b->now * 1000;
	for (int i = 0; i < 6; i++)
		k.request_id[i] = (uint8_t)(b->ms >> (40 - 8 * i));
	randombytes_buf(b->body, 16); /* every body its own hash */
	if (op == RX_OP_SUBMIT) {
		/* A prescription the store can read back at DISPENSE: the world's,
		 * its notes (field 9) given again, longer, to make BODY_LEN. */
		size_t n = BODY_LEN - WORLD_BODY_LEN - 3;
		memcpy(b->body, k.body, WORLD_BODY_LEN);
		b->body[WORLD_BODY_LEN] = 9 << 3 | 2;
		b->body[WORLD_BODY_LEN + 1] = (uint8_t)(n | 0x80);
		b->body[WORLD_BODY_LEN + 2] = (uint8_t)(n >> 7);
		for (size_t i = 0; i < n; i++)
			b->body[WORLD_BODY_LEN + 3 + i] = (uint8_t)"0123456789abcdef"[randombytes_uniform(16)];
	}
	c->body = b->body;
	c->body_len = sizeof b->body;
	if (c->card)
		k.assertion.card = b->cards[p];
	if (op == RX_OP_DISPENSE) {
		memcpy(k.token, token, RX_TOKEN_LEN);
		c->use = 1;
	}
	return apply(w, c, out);
}

/* Claim (by the slip's code) and dispense the odd-numbered prescriptions
 * of the fill, 64 to a commit, so dispense records are as many as a store holds in time (half
 * its prescriptions); the even ones stay for the measurement. */
static void fill_dispenses(bench_world_t *b, long stored, char (*ids)[RX_ID_LEN + 1],
			   const int *owner)
{
	uint8_t tokens[64][RX_TOKEN_LEN];
	store_outcome_t out;
	for (long from = 1; from < stored; from += 128) {
		static const int ops[] = {RX_OP_CLAIM, RX_OP_DISPENSE};
		for (int o = 0; o < 2; o++) {
			int op = ops[o] == RX_OP_CLAIM ? CLAIM_BY_CODE : ops[o];
			if (store_batch_begin(b->w.s) != RX_OK)
				abort();
			for (long i = from, j = 0; i < stored && j < 64; i += 2, j++) {
				if (one(b, op, owner[i], ids[i], tokens[j], &out) != RX_OK)
					abort();
				if (op == CLAIM_BY_CODE)
					memcpy(tokens[j], out.rx.claim_token, RX_TOKEN_LEN);
			}
			if (store_batch_end(b->w.s) != RX_OK)
				abort();
		}
	}
}

static void fill(bench_world_t *b, long stored, char (*ids)[RX_ID_LEN + 1], int *owner)
{
	store_outcome_t out;
	for (long i = 0; i < stored;) {
		if (store_batch_begin(b->w.s) != RX_OK)
			abort();
		for (int j = 0; j < 64 && i < stored; j++, i++) {
			int p = (int)(i % b->npatients);
			b->now = T0 + i / 1000; /* a thousand a second */
			if (one(b, RX_OP_SUBMIT, p, NULL, NULL, &out) != RX_OK)
				abort();
			memcpy(ids[i], out.rx.id, RX_ID_LEN + 1);
			owner[i] = p;
		}
		if (store_batch_end(b->w.s) != RX_OK)
			abort();
	}
}

/* Apply one batch of n requests of op and print what its commit wrote. */
static void measure(bench_world_t *b, const char *what, int op, long offset, int n,
		    char (*ids)[RX_ID_LEN + 1],
		    const int *owner, long stored, uint8_t (*tokens)[RX_TOKEN_LEN])
{
	tree_t t[MAX_TREES];
	pageset_t before[MAX_TREES] = {{0}}, after = {0};
	MDB_stat st;
	MDB_txn *r0, *r1;
	store_t *s = b->w.s;
	size_t nt = trees_of(s, t);
	mdb_env_stat(s->env, &st);
	size_t psize = st.ms_psize;
	store_outcome_t out;

	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r0) != 0)
		abort();
	for (size_t i = 0; i < nt; i++)
		pages_of(r0, t[i].dbi, psize, &before[i]);
	b->now += 1;
	if (store_batch_begin(s) != RX_OK)
		abort();
	for (int j = 0; j < n; j++) {
		/* The prescriptions of this measurement: spread over the store,
		 * among those the fill did not dispense (even-numbered). */
		long i = 2 * (long)(((uint64_t)j * 7919u + (uint64_t)offset) % (uint64_t)(stored / 2));
		rx_err_t err = one(b, op, owner[i], ids[i], tokens[j], &out);
		if (err != RX_OK) {
			fprintf(stderr, "store-pages: %s: %s (%s)\n", what, rx_err_name(err), out.why);
			abort();
		}
		if (op == RX_OP_CLAIM)
			memcpy(tokens[j], out.rx.claim_token, RX_TOKEN_LEN);
	}
	uint64_t w0 = wchar();
	if (store_batch_end(s) != RX_OK)
		abort();
	uint64_t written = wchar() - w0;
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r1) != 0)
		abort();
	printf("%s, %d in one commit, %ld stored, %d patients: %.2f pages (%.1f KiB) written a request\n",
	       what, n, stored, b->npatients, (double)written / psize / n, (double)written / 1024 / n);
	double leaves = 0;
	for (size_t i = 0; i < nt; i++) {
		pages_of(r1, t[i].dbi, psize, &after);
		size_t fresh = new_pages(&before[i], &after);
		MDB_stat ts;
		mdb_stat(r1, t[i].dbi, &ts);
		leaves += (double)fresh / n;
		if (fresh)
			printf("  %-14s %6.2f leaf pages a request   (%zu in the commit; tree: %" PRIu64
			       " entries, depth %u)\n",
			       t[i].name, (double)fresh / n, fresh, (uint64_t)ts.ms_entries, ts.ms_depth);
		free(before[i].pages);
	}
	printf("  %-14s %6.2f leaf pages a request; the rest of what was written: branch pages,\n"
	       "                 LMDB's free list and its meta page\n\n",
	       "all trees", leaves);
	free(after.pages);
	mdb_txn_abort(r1);
	mdb_txn_abort(r0);
}

static long stored = 100000;
static int npatients = 1000, batch = 32;

/* A Check test, so that the fixture's assertions have a test to fail. */
START_TEST(pages)
{
	bench_world_t *b = calloc(1, sizeof *b);
	char (*ids)[RX_ID_LEN + 1] = calloc((size_t)stored, sizeof *ids);
	int *owner = calloc((size_t)stored, sizeof *owner);
	uint8_t (*tokens)[RX_TOKEN_LEN] = calloc((size_t)batch, RX_TOKEN_LEN);
	ck_assert(b && ids && owner && tokens);
	b->patients = calloc((size_t)npatients, sizeof *b->patients);
	b->cards = calloc((size_t)npatients, sizeof *b->cards);
	ck_assert(b->patients && b->cards);
	b->npatients = npatients;
	world_open(&b->w);
	/* Room for the fill: about 4 KiB a prescription with its indexes. */
	store_close(&b->w.s);
	store_options_t opt = test_opt;
	opt.map_size = (size_t)(stored + 10000) * 4096 * 2;
	ck_assert_int_eq(store_open(&b->w.s, b->w.dir, &opt), RX_OK);
	for (int p = 0; p < npatients; p++) {
		uint8_t key[32] = {0};
		int created;
		memcpy(key, &p, sizeof p); /* a patient id of its own each */
		ck_assert_int_eq(rx_patient_id_derive(key, "123456789018", b->patients[p]), RX_OK);
		new_key(b->cards[p]);
		ck_assert_int_eq(store_patient_enroll(b->w.s, b->patients[p], T0 - DAY, &created), RX_OK);
		ck_assert_int_eq(store_card_enroll(b->w.s, b->cards[p], b->patients[p], T0 - DAY), RX_OK);
	}
	fill(b, stored, ids, owner);
	fill_dispenses(b, stored, ids, owner);
	measure(b, "SUBMIT", RX_OP_SUBMIT, 0, batch, ids, owner, stored, tokens);
	measure(b, "CLAIM", RX_OP_CLAIM, 0, batch, ids, owner, stored, tokens);
	measure(b, "DISPENSE", RX_OP_DISPENSE, 0, batch, ids, owner, stored, tokens);
	measure(b, "CLAIM by access code", CLAIM_BY_CODE, stored / 4, batch, ids, owner, stored,
		tokens);
	world_close(&b->w);
}
END_TEST

int main(int argc, char **argv)
{
	stored = argc > 1 ? atol(argv[1]) : stored;
	npatients = argc > 2 ? atoi(argv[2]) : npatients;
	batch = argc > 3 ? atoi(argv[3]) : batch;
	if (stored < batch || npatients < 1 || batch < 1 || batch > 4096 ||
	    rx_crypto_init() != RX_OK) {
		fprintf(stderr, "usage: store-pages [STORED [PATIENTS [BATCH]]]\n");
		return 2;
	}
	Suite *s = suite_create("store-pages");
	TCase *tc = world_tcase("pages");
	tcase_set_timeout(tc, 3600);
	tcase_add_test(tc, pages);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_SILENT);
	int failed = srunner_ntests_failed(sr);
	if (failed) {
		TestResult **r = srunner_failures(sr);
		fprintf(stderr, "store-pages: %s\n", tr_msg(r[0]));
		free(r);
	}
	srunner_free(sr);
	return failed ? 1 : 0;
}
