/* store_world: the store tests' shared fixture (see store_world.h).  The
 * reply builder lives here, and every call of the store's request path
 * (change: store_change_begin, the reply, store_change_commit or _abort). */
#include "store_world.h"

#include <lmdb.h>

/* ---- the scratch directory (testutil.h's static is this file's) ---- */

TCase *world_tcase(const char *name)
{
	TCase *tc = tcase_create(name);
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	return tc;
}

void world_subdir(char out[TU_PATH_MAX])
{
	tu_subdir(out);
}

/* ---- the world ---- */

void new_key(uint8_t pk[RX_KEY_LEN])
{
	uint8_t sk[RX_SECRET_LEN];
	crypto_sign_keypair(pk, sk);
	sodium_memzero(sk, sizeof sk);
}

static void add_key(world_t *w, const uint8_t *pk, int role, const char *inst, const char *name)
{
	store_key_t k;
	memset(&k, 0, sizeof k);
	memcpy(k.key, pk, RX_KEY_LEN);
	k.role = role;
	snprintf(k.institution, sizeof k.institution, "%s", inst);
	snprintf(k.name, sizeof k.name, "%s", name);
	k.added_at = T0 - DAY;
	ck_assert_int_eq(store_key_add(w->s, &k), RX_OK);
}

void patient_id(const char *mynumber, char out[RX_PATIENT_ID_LEN + 1])
{
	uint8_t key[32];
	memset(key, 0x42, sizeof key);
	ck_assert_int_eq(rx_patient_id_derive(key, mynumber, out), RX_OK);
}

/* The world of the running test (one per forked test process). */
world_t *world_current;

/* The institution a known key's connection authenticates as. */
const char *peer_of(const uint8_t *key)
{
	if (key == world_current->doc_far)
		return INST_OTHER;
	if (key == world_current->pharm)
		return "P-0001";
	if (key == world_current->pharm2)
		return "P-0002";
	return INST;
}

static void add_institution(world_t *w, const char *code, int kind)
{
	store_institution_t in;
	memset(&in, 0, sizeof in);
	snprintf(in.code, sizeof in.code, "%s", code);
	in.kind = kind;
	snprintf(in.name, sizeof in.name, "institution %s", code);
	randombytes_buf(in.curve_key, sizeof in.curve_key);
	in.added_at = T0 - DAY;
	ck_assert_int_eq(store_institution_add(w->s, &in), RX_OK);
}

/* The data key every test store is sealed with. */
static const uint8_t test_data_key[RX_DATA_KEY_LEN] = {
	0x6b, 0x65, 0x79, 0x20, 0x66, 0x6f, 0x72, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x73, 0x74, 0x6f,
	0x72, 0x65, 0x73, 0x20, 0x6f, 0x6e, 0x6c, 0x79, 0x2c, 0x20, 0x6e, 0x6f, 0x74, 0x20, 0x61, 0x21};
const store_options_t test_opt = {.map_size = 16u << 20, .data_key = test_data_key};

void store_open_in(world_t *w)
{
	store_options_t opt = test_opt;
	opt.guard_merge_at = w->guard_merge_at;
	opt.guard_merge_chunk = w->guard_merge_chunk;
	ck_assert_int_eq(store_open(&w->s, w->dir, &opt), RX_OK);
	ck_assert_ptr_nonnull(w->s);
}

/* A store with registered keys and two enrolled patients. */
void world_open(world_t *w)
{
	int created = -1;
	memset(w, 0, sizeof *w);
	world_current = w;
	tu_subdir(w->dir);
	store_open_in(w);
	add_institution(w, INST, STORE_CLINIC);
	add_institution(w, INST_OTHER, STORE_CLINIC);
	add_institution(w, "P-0001", STORE_PHARMACY);
	add_institution(w, "P-0002", STORE_PHARMACY);
	new_key(w->doc);
	new_key(w->doc2);
	new_key(w->doc_far);
	new_key(w->revoked);
	new_key(w->pharm);
	new_key(w->pharm2);
	new_key(w->stranger);
	add_key(w, w->doc, RX_ROLE_PRESCRIBER, INST, "Dr. Sato");
	add_key(w, w->doc2, RX_ROLE_PRESCRIBER, INST, "Dr. Suzuki");
	add_key(w, w->doc_far, RX_ROLE_PRESCRIBER, INST_OTHER, "Dr. Tanaka");
	add_key(w, w->revoked, RX_ROLE_PRESCRIBER, INST, "Dr. Former");
	ck_assert_int_eq(store_key_revoke(w->s, w->revoked, T0 - 3600), RX_OK);
	add_key(w, w->pharm, RX_ROLE_PHARMACY, "P-0001", "Sakura Pharmacy");
	add_key(w, w->pharm2, RX_ROLE_PHARMACY, "P-0002", "Momiji Pharmacy");

	patient_id("123456789018", w->patient);
	patient_id("000000000019", w->patient2);
	patient_id("999999999996", w->unenrolled);
	ck_assert_int_eq(rx_mynumber_valid("000000000019"), RX_OK);
	ck_assert_int_eq(rx_mynumber_valid("999999999996"), RX_OK);
	ck_assert_int_eq(store_patient_enroll(w->s, w->patient, T0 - DAY, &created), RX_OK);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(store_patient_enroll(w->s, w->patient2, T0 - DAY, &created), RX_OK);
	ck_assert_int_eq(created, 1);
	new_key(w->card);
	new_key(w->card2);
	new_key(w->lost);
	ck_assert_int_eq(store_card_enroll(w->s, w->card, w->patient, T0 - DAY), RX_OK);
	ck_assert_int_eq(store_card_enroll(w->s, w->card2, w->patient2, T0 - DAY), RX_OK);
	ck_assert_int_eq(store_card_enroll(w->s, w->lost, w->patient, T0 - 2 * DAY), RX_OK);
	ck_assert_int_eq(store_card_revoke(w->s, w->lost, T0 - DAY), RX_OK);
}

void world_close(world_t *w)
{
	store_close(&w->s);
	ck_assert_ptr_null(w->s);
}

/* The reply builder: some bytes naming the change, numbered by call. */
static rx_err_t build_reply(void *arg, const store_change_t *c, const store_outcome_t *o,
			    store_buf_t *reply)
{
	world_t *w = arg;
	char text[160];
	w->calls++;
	if (c->op == RX_OP_LIST) {
		w->nseen = o->n < 16 ? o->n : 16;
		if (w->nseen)
			memcpy(w->seen, o->list, w->nseen * sizeof *o->list);
	}
	if (c->op == RX_OP_STATUS) {
		w->nrecords = o->ndispenses < 16 ? o->ndispenses : 16;
		for (size_t i = 0; i < w->nrecords; i++) {
			w->records[i].use = o->dispenses[i].use;
			w->records[i].superseded = o->dispenses[i].superseded;
			rx_hash(o->dispenses[i].body, o->dispenses[i].body_len, w->records[i].hash);
		}
	}
	if (w->fail_reply)
		return RX_SYSTEM;
	int n = snprintf(text, sizeof text, "reply #%d: %s %s -> %s use %u", w->calls,
			 rx_op_name(c->op), o->rx.id, rx_state_name(o->rx.state), o->use);
	reply->data = malloc((size_t)n);
	if (reply->data == NULL)
		return RX_SYSTEM;
	memcpy(reply->data, text, (size_t)n);
	reply->len = (size_t)n;
	return RX_OK;
}

/* The prescribed item of every world prescription, and the DISPENSE line
 * that hands it over as written. */
#define WORLD_DRUG "2171022F1029"
static const store_line_t as_written = {.item = 1, .outcome = STORE_LINE_AS_WRITTEN, .drug_code = WORLD_DRUG};

/* body: a prescription of WORLD_DRUG, exactly WORLD_BODY_LEN bytes, made
 * unique by random notes that pad it to that length. */
static void world_body(uint8_t body[WORLD_BODY_LEN])
{
	Rx__Item it = RX__ITEM__INIT, *items[1] = {&it};
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	char notes[WORLD_BODY_LEN];
	uint8_t r[WORLD_BODY_LEN / 2];
	it.drug_code = (char *)WORLD_DRUG;
	it.name = (char *)"Norvasc 2.5 mg tablet";
	it.days = it.quantity = 7; /* a refill's next use opens at once (5.11) */
	p.version = RX_DOC_VERSION;
	p.n_items = 1;
	p.items = items;
	p.notes = (char *)"";
	size_t base = rx__prescription__get_packed_size(&p);
	size_t pad = WORLD_BODY_LEN - base - 2; /* the notes' tag and one-byte length */
	randombytes_buf(r, sizeof r);
	for (size_t i = 0; i < pad; i++)
		notes[i] = "0123456789abcdef"[(r[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	notes[pad] = '\0';
	p.notes = notes;
	ck_assert_uint_eq(rx__prescription__get_packed_size(&p), WORLD_BODY_LEN);
	rx__prescription__pack(&p, body);
}

/* A fresh request (new request id, call hash, body and signature). */
store_change_t *mk(call_t *k, int op, const uint8_t *actor, const char *id, int64_t now)
{
	memset(k, 0, sizeof *k);
	randombytes_buf(k->request_id, sizeof k->request_id);
	randombytes_buf(k->call_hash, sizeof k->call_hash);
	if (op == RX_OP_SUBMIT)
		world_body(k->body);
	else
		randombytes_buf(k->body, sizeof k->body);
	randombytes_buf(k->sig, sizeof k->sig);
	store_change_t *c = &k->c;
	c->op = op;
	c->actor = actor;
	c->peer = peer_of(actor);
	c->request_id = k->request_id;
	c->call_hash = k->call_hash;
	c->now = now;
	if (id) {
		snprintf(k->id, sizeof k->id, "%s", id);
		c->id = k->id;
	}
	c->claim_token = k->token;
	c->body = k->body;
	c->body_len = sizeof k->body;
	c->signature = k->sig;
	if (op == RX_OP_DISPENSE) {
		c->lines = &as_written;
		c->n_lines = 1;
	}
	/* The patient's card, as the reader at the counter would present it,
	 * for the ops that take one; a test may change or drop it. */
	if (op == RX_OP_SUBMIT || op == RX_OP_CLAIM || op == RX_OP_LIST) {
		randombytes_buf(k->nonce, sizeof k->nonce);
		k->assertion.card = world_current->card;
		k->assertion.at = now;
		k->assertion.nonce = k->nonce;
		const world_t *w = world_current;
		k->assertion.purpose = op == RX_OP_SUBMIT ? STORE_PURPOSE_ISSUE
				       : actor == w->pharm || actor == w->pharm2 ? STORE_PURPOSE_DISPENSE
										 : STORE_PURPOSE_VIEW;
		c->card = &k->assertion;
	}
	return c;
}

store_change_t *mk_submit(call_t *k, const uint8_t *doc, const char *patient, uint32_t uses,
			  int64_t now)
{
	store_change_t *c = mk(k, RX_OP_SUBMIT, doc, NULL, now);
	c->patient_id = patient;
	c->new_access_code = "ABCD-EFGH-JK5";
	if (strcmp(patient, world_current->patient2) == 0)
		k->assertion.card = world_current->card2;
	c->institution = INST;
	c->issued_at = now;
	c->valid_until = rx_valid_until(now, RX_DEFAULT_VALID_DAYS);
	c->uses = uses;
	return c;
}

/* The store's request path as rxd's dispatch runs it: begin, build the
 * reply (build_reply), then commit it with the change, or abort if it could
 * not be built.  On a refusal *reply is empty. */
static rx_err_t change(world_t *w, const store_change_t *given, store_outcome_t *out,
		       store_buf_t *reply)
{
	/* The prescription's content hash, as dispatch takes it (the body's
	 * hash without its call_hash field; the store takes it so again from
	 * the stored body at open): the same body, the same prescription.
	 * The change lives until commit or abort. */
	store_change_t copy = *given, *c = &copy;
	uint8_t content[RX_HASH_LEN];
	if (c->body && !c->content_hash) {
		if (rx_hash_without_field(c->body, c->body_len, RX_PRESCRIPTION_CALL_HASH_FIELD,
					  content) != RX_OK)
			rx_hash(c->body, c->body_len, content);
		c->content_hash = content;
	}
	store_pending_t *pending = NULL;
	rx_err_t err = store_change_begin(w->s, c, out, reply, &pending);
	if (err != RX_OK || pending == NULL)
		return err;
	err = build_reply(w, c, out, reply);
	err = err == RX_OK ? store_change_commit(&pending, reply)
			   : store_change_abort(&pending, err, "could not build the reply");
	ck_assert_ptr_null(pending);
	if (err != RX_OK)
		store_buf_free(reply);
	return err;
}

/* Apply c; the reply is checked for sanity and freed.  A refusal must say
 * why, must not call the builder and must return no reply. */
rx_err_t apply(world_t *w, const store_change_t *c, store_outcome_t *out)
{
	store_buf_t reply = {(uint8_t *)"junk", 4};
	int calls = w->calls;
	rx_err_t err = change(w, c, out, &reply);
	if (err == RX_OK) {
		ck_assert_ptr_nonnull(reply.data);
		ck_assert_uint_gt(reply.len, 0);
		ck_assert_int_eq(w->calls, calls + (out->replayed ? 0 : 1));
	} else {
		ck_assert_msg(out->why != NULL && out->why[0], "refusal %s without a reason",
			      rx_err_name(err));
		ck_assert_ptr_null(reply.data);
		ck_assert_uint_eq(reply.len, 0);
	}
	store_buf_free(&reply);
	return err;
}

/* Apply c and keep the reply bytes (caller frees). */
rx_err_t apply_reply(world_t *w, const store_change_t *c, store_outcome_t *out,
		     store_buf_t *reply)
{
	return change(w, c, out, reply);
}

/* Apply c with the reply builder made to fail; w->fail_reply restored. */
rx_err_t world_change_failing_reply(world_t *w, const store_change_t *c, store_outcome_t *out,
				    store_buf_t *reply)
{
	int was = w->fail_reply;
	w->fail_reply = 1;
	rx_err_t err = change(w, c, out, reply);
	w->fail_reply = was;
	return err;
}

void submit(world_t *w, const uint8_t *doc, const char *patient, uint32_t uses, int64_t now,
	    char id[RX_ID_LEN + 1])
{
	call_t k;
	store_outcome_t out;
	ck_assert_int_eq(apply(w, mk_submit(&k, doc, patient, uses, now), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	memcpy(id, out.rx.id, RX_ID_LEN + 1);
}

void claim(world_t *w, const uint8_t *pharm, const char *id, int64_t now,
	   uint8_t token[RX_TOKEN_LEN])
{
	call_t k;
	store_outcome_t out;
	ck_assert_int_eq(apply(w, mk(&k, RX_OP_CLAIM, pharm, id, now), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	memcpy(token, out.rx.claim_token, RX_TOKEN_LEN);
}

store_change_t *mk_tok(call_t *k, int op, const uint8_t *actor, const char *id,
		       const uint8_t token[RX_TOKEN_LEN], int64_t now)
{
	store_change_t *c = mk(k, op, actor, id, now);
	memcpy(k->token, token, RX_TOKEN_LEN);
	return c;
}

const uint8_t zero_token[RX_TOKEN_LEN] = {0};

/* The state as the operator sees it (actor is who would ask; the operator's
 * read needs no proof, and never shows a claim token). */
store_rx_t status_of(world_t *w, const uint8_t *actor, const char *id, int64_t now)
{
	store_rx_t rx;
	(void)actor;
	ck_assert_int_eq(store_rx_get(w->s, id, now, &rx, NULL, NULL), RX_OK);
	ck_assert_mem_eq(rx.claim_token, zero_token, RX_TOKEN_LEN);
	return rx;
}

store_stats_t stats_of(world_t *w, int64_t now)
{
	store_stats_t st;
	ck_assert_int_eq(store_stats(w->s, now, &st), RX_OK);
	return st;
}

/* LIST by actor with card (NULL: none) at now; the result in w->seen. */
rx_err_t list_with(world_t *w, const uint8_t *actor, const uint8_t *card, int64_t now)
{
	call_t k;
	store_outcome_t out;
	store_change_t *c = mk(&k, RX_OP_LIST, actor, NULL, now);
	if (card)
		k.assertion.card = card;
	else
		c->card = NULL;
	c->patient_id = "";
	w->nseen = 0;
	return apply(w, c, &out);
}

/* stats' counts against a walk of every prescription (store_rx_list reads
 * each record and asks its effective state), the way stats used to count. */
static void counts_match_walk(world_t *w, int64_t now)
{
	store_stats_t st = stats_of(w, now);
	uint64_t total = 0;
	for (int state = RX_STATE_ISSUED; state <= RX_STATE_LAST; state++) {
		store_rx_t *list = NULL;
		size_t n = 0;
		ck_assert_int_eq(store_rx_list(w->s, state, now, 1000, &list, &n), RX_OK);
		ck_assert_msg(st.by_state[state] == n, "%s: stats say %llu, a walk finds %zu",
			      rx_state_name(state), (unsigned long long)st.by_state[state], n);
		total += n;
		free(list);
	}
	ck_assert_uint_eq(st.prescriptions, total);
}

void expect_counts(world_t *w, int64_t now, uint64_t issued, uint64_t claimed,
		   uint64_t dispensed, uint64_t cancelled, uint64_t expired)
{
	store_stats_t st = stats_of(w, now);
	ck_assert_uint_eq(st.by_state[RX_STATE_ISSUED], issued);
	ck_assert_uint_eq(st.by_state[RX_STATE_CLAIMED], claimed);
	ck_assert_uint_eq(st.by_state[RX_STATE_DISPENSED], dispensed);
	ck_assert_uint_eq(st.by_state[RX_STATE_CANCELLED], cancelled);
	ck_assert_uint_eq(st.by_state[RX_STATE_EXPIRED], expired);
	counts_match_walk(w, now);
}

/* See store_world.h. */
size_t world_raw_keys(const char *dir, const char *name, uint8_t keys[][64], size_t *sizes,
		       size_t max)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 32), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, name, 0, &dbi), 0);
	ck_assert_int_eq(mdb_cursor_open(txn, dbi, &cur), 0);
	for (int op = MDB_FIRST; n < max && mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
		ck_assert_uint_le(k.mv_size, 64);
		memcpy(keys[n], k.mv_data, k.mv_size);
		sizes[n++] = k.mv_size;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

int has_action(world_t *w, const char *id, const char *action)
{
	store_audit_t *log = NULL;
	size_t n = 0;
	int found = 0;
	ck_assert_int_eq(store_audit_rx(w->s, id, &log, &n), RX_OK);
	for (size_t i = 0; i < n; i++)
		found += strcmp(log[i].action, action) == 0;
	free(log);
	return found;
}

size_t world_rx_key(const char *id, uint8_t key[RX_ID_LEN])
{
	uint8_t pk[RX_ID_PERM_KEY_LEN];
	rx_id_perm_key(test_opt.data_key, pk);
	uint64_t seq = rx_id_unpermute(pk, rx_rxid_value(id));
	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)(seq >> (56 - 8 * i));
	return 8;
}

/* Seal plain under (dbname, key) as the store does (env.c: version byte,
 * 24-byte nonce, XChaCha20-Poly1305 with the name, a zero and the key as
 * additional data); out holds plen + 41 bytes. */
static void seal_as_store(const char *dbname, const uint8_t *key, size_t klen, const uint8_t *plain,
			  size_t plen, uint8_t *out)
{
	uint8_t ad[64 + 64];
	size_t n = strlen(dbname) + 1;
	memcpy(ad, dbname, n);
	memcpy(ad + n, key, klen);
	out[0] = 1;
	randombytes_buf(out + 1, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 25, NULL, plain, plen, ad, n + klen, NULL,
						   out + 1, test_opt.data_key);
}

static size_t open_as_store(const char *dbname, const uint8_t *key, size_t klen, const MDB_val *v,
			    uint8_t *plain)
{
	uint8_t ad[64 + 64];
	unsigned long long plen = 0;
	size_t n = strlen(dbname) + 1;
	memcpy(ad, dbname, n);
	memcpy(ad + n, key, klen);
	const uint8_t *in = v->mv_data;
	ck_assert_int_eq(crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, in + 25,
								    v->mv_size - 25, ad, n + klen,
								    in + 1, test_opt.data_key),
			 0);
	return (size_t)plen;
}

void world_refile_under_ids(const char *dir)
{
	enum { MAX = 64 };
	uint8_t keys[MAX][64], pk[RX_ID_PERM_KEY_LEN];
	size_t sizes[MAX], n = world_raw_keys(dir, "rx", keys, sizes, MAX);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi rx, meta;
	uint32_t three = 3;
	ck_assert_uint_lt(n, MAX);
	rx_id_perm_key(test_opt.data_key, pk);
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 32), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "rx", 0, &rx), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	for (size_t i = 0; i < n; i++) {
		if (keys[i][0] != 0) /* filed under an id already */
			continue;
		uint64_t seq = 0;
		for (int b = 0; b < 8; b++)
			seq = seq << 8 | keys[i][b];
		char id[RX_ID_LEN + 1];
		rx_rxid_of_seq(pk, seq, id);
		uint8_t nk[64];
		size_t nklen = RX_ID_LEN + sizes[i] - 8;
		memcpy(nk, id, RX_ID_LEN);
		memcpy(nk + RX_ID_LEN, keys[i] + 8, sizes[i] - 8);
		MDB_val k = {sizes[i], keys[i]}, v;
		ck_assert_int_eq(mdb_get(txn, rx, &k, &v), 0);
		/* the record and a dispense row are sealed, a code tried is not */
		const char *sealed = sizes[i] == 8 ? "rx" : sizes[i] == 9 ? "dispenses" : NULL;
		uint8_t *buf = malloc(v.mv_size + 64), *plain = malloc(v.mv_size);
		size_t blen = v.mv_size;
		if (sealed) {
			size_t plen = open_as_store(sealed, keys[i], sizes[i], &v, plain);
			seal_as_store(sealed, nk, nklen, plain, plen, buf);
			blen = plen + 41;
		} else {
			memcpy(buf, v.mv_data, v.mv_size);
		}
		MDB_val nkv = {nklen, nk}, nv = {blen, buf};
		ck_assert_int_eq(mdb_del(txn, rx, &k, NULL), 0);
		ck_assert_int_eq(mdb_put(txn, rx, &nkv, &nv, MDB_NOOVERWRITE), 0);
		free(buf);
		free(plain);
	}
	MDB_val sk = {6, (void *)"rx_seq"}, fk = {6, (void *)"format"}, fv = {sizeof three, &three};
	int rc = mdb_del(txn, meta, &sk, NULL);
	ck_assert(rc == 0 || rc == MDB_NOTFOUND);
	ck_assert_int_eq(mdb_put(txn, meta, &fk, &fv, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}
