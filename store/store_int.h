/* store_int.h: what the store's files share; not part of the API.
 *
 * struct store, the databases it holds, and the helpers every part of the
 * store needs.  Only the store's own .c files include it; everything else sees
 * store.h.
 *
 * Databases in one environment in the data dir:
 *   meta        "format" -> u32 2; "rx_counts" -> prescriptions by stored state
 *               (see st_counts_move), kept in the transaction of each change;
 *               "key_check/NAME" -> the check value (32) of key file NAME
 *               (store_key_checks); "requests_at" -> 1 once older stored
 *               replies are indexed by time
 *   keys        public key (32)             -> KeyRecord
 *   patients    patient id                  -> PatientRecord
 *   rx          prescription key            -> RxRecord (with the signed body).
 *               The key is the prescription's sequence number (8 bytes,
 *               big-endian; format 4), its id that number under the store's
 *               id permutation (rx_id_permute, keyed from the data key): new
 *               records append at the tree's end, ids stay as hard to guess
 *               as random ones.  Before format 4 the key was the id itself
 *               (14 ASCII characters, sorting after every number); such
 *               rows are read where they are (st_rx_key).  Below,
 *               "prescription id" in a key of rx means that key.
 *               And prescription id + use (u8) -> DispenseRow (format 3),
 *               the use's dispense record: beside its prescription's
 *               record, whose page the DISPENSE rewrites anyway.  The key
 *               can be written once, which is what makes a dispense
 *               exactly-once (a WITHDRAW deletes it: the use is open
 *               again).  And prescription id + use + n (u8, 1..15) ->
 *               DispenseRow: the records an AMEND or WITHDRAW replaced,
 *               and each withdrawal, in order ("rx_superseded").  And prescription id + time (8, big-endian) +
 *               random (4) -> AccessAttempt, every access code tried on it
 *               (format 3), beside the record a code CLAIM rewrites.  meta
 *               And prescription id + seq (8, big-endian) -> "": an audit
 *               entry about the prescription, for its patient's log
 *               (format 4; the SUBMIT's, and entries of before, are in
 *               audit_patient), beside the record the request rewrote or
 *               read anyway.
 *               "rx_dispensed", "rx_attempts" and "rx_logged" count these rows (u64), so
 *               the prescriptions are the tree's entries less them
 *   rx_patient  patient id -> prescription id (dupsort): written before
 *               format 3 only, still read (see audit_patient)
 *   rx_hash     issued_at (8, big-endian) + BLAKE2b of the signed body
 *               without its call_hash -> prescription id, refuses
 *               resubmits: the guards of the prescriptions numbered up to
 *               meta "rx_hash_merged", put in thousands at a time (format
 *               5; those after it are in memory, guard.c).  Format 2
 *               stores also hold keys of the hash alone, looked up too
 *   rx_expiry   valid_until (8, big-endian) + order (8, big-endian) +
 *               prescription id -> "", written at SUBMIT; the sweep walks it
 *               up to now and deletes what it passed.  valid_until is a day's
 *               end, shared by a day's prescriptions: order (the audit log's
 *               length at the SUBMIT) puts a new entry at the end of its
 *               day's run, not at a random place in it (format 3; format-2
 *               stores also hold keys without order, read too)
 *   dispenses   prescription id + use (u8)  -> DispenseRow: written before
 *               format 3 only, still read (and a use found here is taken)
 *   requests    request id + caller key     -> RequestRow (the reply sent), kept
 *               STORE_REPLY_KEEP seconds, then pruned by store_prune.
 *               Request ids lead (format 5): they grow with time, so new
 *               replies append whoever the caller.  Before format 5 the
 *               key was caller key + request id, still looked up in a
 *               store upgraded from before (meta "requests_old": the
 *               newest reply's time then; gone once the sweep has pruned
 *               every reply that old)
 *   requests_at time (8, big-endian) + the reply's key in requests -> "":
 *               the stored replies in time order, for pruning
 *   institutions  institution code          -> InstitutionRecord
 *   curve_keys  CurveZMQ public key (32)    -> institution code
 *   cards       card public key (32)        -> CardRecord (sealed: the binding)
 *   nonces      card assertion nonce (16)   -> its time; written before
 *               this version only, emptied as its entries age out
 *   nonce_times time (8, big-endian) + nonce -> "": an assertion (its
 *               signed time and nonce) is accepted once; pruned by time
 *   access_log  prescription id + time + random -> AccessAttempt: written
 *               before format 3 only (see rx), kept
 *   audit       seq (8, big-endian)         -> AuditEntry, hash-chained (audit.c)
 *   audit_patient patient id + seq          -> "", the patient's own log;
 *               and patient id + order (8, big-endian) + prescription id ->
 *               "", the patient's prescriptions, for LIST and the
 *               medication check (format 3).  order is the audit log's
 *               length at the SUBMIT, so the entry sits just before the
 *               SUBMIT's own audit entry: one page takes both, where the
 *               two trees each took a random page of their own.  The keys'
 *               lengths tell them apart.
 *   drugs       NHI drug code (12)          -> DrugRecord, the drug master (drugs.c)
 *   drugs_load  NHI drug code (12)          -> DrugRecord, a master being loaded in parts */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <string.h>

#include "audit.h"
#include "drugs.h"
#include "records.pb-c.h"
#include "rx.pb-c.h"
#include "rx_ids.h"
#include "store.h"

/* The resubmission guards of the prescriptions not yet merged into rx_hash
 * (guard.c). */
typedef struct {
	int64_t issued_at;
	uint8_t hash[RX_HASH_LEN]; /* of the body without its call_hash */
	uint64_t seq;              /* the prescription's number */
} st_guard_ent_t;

typedef struct {
	st_guard_ent_t *ent; /* in the order added */
	size_t n, cap;
	uint32_t *slot; /* open addressing over ent: index + 1, 0 empty */
	size_t nslot;   /* a power of two, more than twice n */
	uint8_t slot_key[16]; /* SipHash key of the slots, random per open */
	uint64_t merged, pending_mark; /* meta "rx_hash_merged", and as a merge sets it */
	size_t mark;                   /* n when the open write transaction began */
	size_t merge_at, next_merge;   /* merge when n reaches next_merge */
	/* A merge in progress: ent[0, nsorted) in key order, put into rx_hash
	 * merge_chunk at a time, one chunk a write transaction; the first put
	 * are committed, putting more by the open transaction. */
	st_guard_ent_t *sorted;
	size_t nsorted, put, putting, merge_chunk;
} st_guard_t;

struct store {
	MDB_env *env;
	MDB_txn *batch; /* the open group-commit transaction, or NULL */
	uint8_t data_key[RX_DATA_KEY_LEN];
	MDB_dbi meta, keys, patients, rx, rx_patient, rx_hash, rx_expiry, dispenses, requests;
	MDB_dbi institutions, curve_keys, cards, nonces, nonce_times, access_log;
	MDB_dbi nominations, notices, requests_at, watching;
	audit_dbs_t audit;
	drugs_dbs_t drugs;
	uint8_t code_key[32]; /* keys the access-code hashes; derived from data_key */
	uint8_t id_key[RX_ID_PERM_KEY_LEN]; /* numbers prescriptions into ids; from data_key */
	int legacy_ids; /* rx holds rows filed under ids, made before format 4 */
	int old_replies; /* requests may hold keys of before format 5 (caller first) */
	int64_t old_replies_until; /* ... stored no later than this (meta "requests_old") */
	int read_only;  /* opened with store_options_t.read_only: nothing is written */
	uint32_t amend_days; /* store_options_t's, 1 if it said 0 */
	/* The latest time a card assertion was checked at: nonces are pruned
	 * and assertions refused against it, not against the wall clock alone,
	 * so a clock stepped back cannot reopen replay of pruned nonces. */
	int64_t time_hw;
	st_guard_t guard;
	/* Pages on LMDB's free list, counted at most once a second (a walk of
	 * the free list): what pruning gave back, for the reserve's guard. */
	uint64_t free_pages;
	int64_t free_counted_us;
};

/* LMDB codes become ours here and nowhere else. */
static inline rx_err_t from_mdb(int rc)
{
	switch (rc) {
	case 0:
		return RX_OK;
	case MDB_NOTFOUND:
		return RX_NOT_FOUND;
	case MDB_KEYEXIST:
		return RX_CONFLICT;
	default: /* MDB_MAP_FULL, EIO, ENOSPC, corruption: refuse, keep serving */
		return RX_UNAVAILABLE;
	}
}

static inline MDB_val val(const void *p, size_t n)
{
	MDB_val v = {n, (void *)p};
	return v;
}

/* Times lead keys big-endian, so an index walks in time order. */
static inline void be64(uint8_t out[8], int64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)(v & 0xff);
}

/* Pack msg straight into the map (MDB_RESERVE): no intermediate buffer. */
static inline int put_msg(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, const ProtobufCMessage *msg,
			  unsigned flags)
{
	MDB_val v = {protobuf_c_message_get_packed_size(msg), NULL};
	int rc = mdb_put(txn, dbi, k, &v, flags | MDB_RESERVE);
	if (rc == 0)
		protobuf_c_message_pack(msg, v.mv_data);
	return rc;
}

/* The reverse of be64. */
static inline int64_t be64_get(const uint8_t in[8])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return (int64_t)v;
}

static inline void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Point a protobuf-c bytes field at n bytes of ours (not copied). */
static inline void set_bytes(ProtobufCBinaryData *b, uint8_t *p, size_t n)
{
	b->data = p;
	b->len = n;
}

/* Refuse: say why in the outcome (a variable named out in the calling
 * function) and return the code.  The caller, not this macro, decides what
 * a refusal leaves behind. */
#define RETURN_REFUSAL(code, text)  \
	do {                        \
		out->why = (text);  \
		return (code);      \
	} while (0)

static inline rx_err_t read_begin(store_t *s, MDB_txn **txn)
{
	return from_mdb(mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn)) == RX_OK ? RX_OK
										: RX_UNAVAILABLE;
}

/* A read transaction and a cursor on dbi in it, for a walk; on failure
 * neither is left open.  The caller closes the cursor, then aborts txn. */
static inline rx_err_t read_cursor(store_t *s, MDB_dbi dbi, MDB_txn **txn, MDB_cursor **cur)
{
	rx_err_t err = read_begin(s, txn);
	if (err != RX_OK)
		return err;
	int rc = mdb_cursor_open(*txn, dbi, cur);
	if (rc != 0) {
		mdb_txn_abort(*txn);
		return from_mdb(rc);
	}
	return RX_OK;
}

/* Run one small write (key registry, enrollment) as its own synced commit. */
static inline rx_err_t commit_or_abort(MDB_txn *txn, int rc)
{
	if (rc != 0) {
		mdb_txn_abort(txn);
		return from_mdb(rc);
	}
	return from_mdb(mdb_txn_commit(txn));
}

/* ---- sealed values (env.c) ----
 * Prescriptions, dispense records, stored replies and cards are encrypted
 * on disk, bound to their database and key: see st_put_sealed. */

/* Seal msg and put it under k in dbi (named dbname), with flags; an LMDB
 * code, or ENOMEM. */
int st_put_sealed(store_t *s, MDB_txn *txn, MDB_dbi dbi, const char *dbname, MDB_val *k,
		  const ProtobufCMessage *msg, unsigned flags);

/* Decrypt and decode a sealed value; NULL if it does not open (wrong key,
 * moved, altered) or does not decode.  The caller frees the message. */
ProtobufCMessage *st_open_sealed(store_t *s, const char *dbname, const MDB_val *k,
				 const MDB_val *v, const ProtobufCMessageDescriptor *desc);

/* ---- the registries (registry.c) ---- */

/* The key's record into *out; RX_NOT_FOUND if not registered,
 * RX_UNAVAILABLE if it does not decode. */
rx_err_t st_get_key(MDB_txn *txn, store_t *s, const uint8_t key[RX_KEY_LEN], store_key_t *out);

/* The institution's record into *out; RX_NOT_FOUND if code is empty, too
 * long or not registered, RX_UNAVAILABLE if it does not decode. */
rx_err_t st_get_institution(MDB_txn *txn, store_t *s, const char *code, store_institution_t *out);

/* ---- the audit log (auditlog.c) ---- */

/* An operator action, recorded in the transaction that makes it; an LMDB
 * code. */
int st_audit_operator(MDB_txn *txn, store_t *s, int64_t now, const char *action, const char *id,
		      const char *patient, const char *detail);

/* ---- space and pruning (space.c) ---- */

/* Nonces are kept this long (seconds) after the latest time an assertion
 * was checked at (time_hw): older than any assertion rxd still accepts. */
#define NONCE_KEEP (2 * 300)

/* Forget nonces older than any assertion rxd still accepts, up to max (a
 * few per request, so the cache stays small without a sweeper), counting
 * them in *pruned if not NULL; an LMDB code. */
int st_prune_nonces(MDB_txn *txn, store_t *s, size_t max, uint64_t *pruned);

/* Is the store down to its dispensing reserve (store_space)? */
int st_map_nearly_full(store_t *s);
/* The time of the oldest (op MDB_FIRST) or newest (MDB_LAST) stored reply,
 * from its requests_at entry, or MDB_NOTFOUND if none is kept (space.c). */
int st_reply_time(MDB_txn *txn, store_t *s, int op, int64_t *at);

/* ---- the resubmission guard (guard.c) ---- */
/* At open, in the open transaction (format: the store's format before this
 * open; merge_at: store_options_t's): the merged mark, and the guards after
 * it from their records.  LMDB codes. */
int st_guard_open(MDB_txn *txn, store_t *s, uint32_t format, uint32_t merge_at,
		  uint32_t merge_chunk);
void st_guard_close(store_t *s);
/* MDB_KEYEXIST if a prescription with this issued_at and content hash was
 * submitted (committed, or earlier in txn's batch), 0 if not, else an LMDB
 * code. */
int st_guard_find(MDB_txn *txn, store_t *s, int64_t issued_at, const uint8_t hash[RX_HASH_LEN]);
/* Room for one more guard (ENOMEM), taken before the SUBMIT commits so that
 * st_guard_add, once it has, cannot fail. */
int st_guard_reserve(store_t *s);
void st_guard_add(store_t *s, int64_t issued_at, const uint8_t hash[RX_HASH_LEN], uint64_t seq);
/* Around a top-level write transaction that changes prescriptions (a group
 * commit, or a change outside one): begin puts the next chunk of a merge
 * into rx_hash in it (starting a merge when enough guards have gathered);
 * end, told whether it committed, drops the merged ones once the last chunk
 * has committed, or those added since begin. */
void st_guard_begin(store_t *s, MDB_txn *txn);
void st_guard_end(store_t *s, int committed);

/* ---- prescriptions by stored state, and the expiry index (rx.c) ----
 * meta "rx_counts": a version byte (2), seven bytes of padding, then one
 * native u64 per rx_state_t (index 0 unused); version 1, written before
 * PARTIALLY_DISPENSED, has one u64 fewer and is read as its zero.  Every write that gives a
 * prescription a state moves its count in the same transaction, so a
 * nested transaction that is refused, or a batch that fails, takes its
 * counts with it. */
#define COUNTS_VERSION 2
#define COUNTS_N (RX_STATE_LAST + 1)
typedef struct {
	uint64_t by_state[COUNTS_N];
} counts_t;

/* Write the counts *c; an LMDB code. */
int st_counts_put(MDB_txn *txn, store_t *s, const counts_t *c);

/* A new store's counts: all zero; an LMDB code. */
int st_counts_init(MDB_txn *txn, store_t *s);

/* Index a prescription by when it expires; the sweep finds it there.
 * order: any number that grows with each new prescription (0 for those
 * indexed at an upgrade).  An LMDB code. */
int st_expiry_put(MDB_txn *txn, store_t *s, int64_t valid_until, uint64_t order, const char *id);

/* The prescription id of an rx_expiry key, into id; 0 if the key is
 * malformed.  Keys of format 2 (no order) and 3 are both read. */
int st_expiry_id(const MDB_val *k, char id[RX_ID_LEN + 1]);

/* The counts into *c; an LMDB code, MDB_CORRUPTED if they do not decode. */
int st_counts_get(MDB_txn *txn, store_t *s, counts_t *c);

/* One prescription went from state from (0: it is new) to state to; an
 * LMDB code. */
int st_counts_move(MDB_txn *txn, store_t *s, int from, int to);

/* ---- prescriptions (rx.c) ---- */

/* The state every read reports: ISSUED or CLAIMED past valid_until is
 * EXPIRED, whether or not the sweep has stored that yet. */
static inline int effective_state(const Rxstore__RxRecord *r, int64_t now)
{
	if ((r->state == RX_STATE_ISSUED || r->state == RX_STATE_CLAIMED) && now >= r->valid_until)
		return RX_STATE_EXPIRED;
	return (int)r->state;
}

/* Held by a pharmacy's claim: CLAIMED, or PARTIALLY_DISPENSED (part of the
 * claimed use handed over, the claim kept until the rest is). */
static inline int st_held(int state)
{
	return state == RX_STATE_CLAIMED || state == RX_STATE_PARTIAL;
}

/* A prescription's metadata, claim token included, into *o. */
void st_rx_from_record(const char *id, const Rxstore__RxRecord *r, int64_t now, store_rx_t *o);

/* Read and decode a prescription; the caller frees *rec with
 * rxstore__rx_record__free_unpacked.  RX_NOT_FOUND, or RX_UNAVAILABLE if it
 * does not open. */
rx_err_t st_get_rx(MDB_txn *txn, store_t *s, const char *id, Rxstore__RxRecord **rec);

/* Append a prescription's metadata (never its claim token) to a growing
 * array; RX_SYSTEM if memory runs out. */
rx_err_t st_push_rx(store_rx_t **list, size_t *n, size_t *cap, const char *id,
		    const Rxstore__RxRecord *r, int64_t now);

/* Copy d into a new heap buffer *b (the caller frees it with
 * store_buf_free); nothing if b is NULL; RX_SYSTEM if memory runs out. */
rx_err_t st_dup_buf(store_buf_t *b, ProtobufCBinaryData d);

/* Where prescription id's rows are kept in rx: its sequence number
 * (len 8), or, for a prescription made before format 4, its id (len
 * RX_ID_LEN); the rows beside the record extend this key.  A new
 * prescription's key is its number.  An LMDB code. */
typedef struct {
	uint8_t b[RX_ID_LEN];
	size_t len;
} st_rxkey_t;
int st_rx_key(MDB_txn *txn, store_t *s, const char *id, st_rxkey_t *k);
/* 1 if k is the key of a prescription's record in rx (not a row beside
 * it), with its id into id; else 0. */
int st_rx_key_id(const store_t *s, const MDB_val *k, char id[RX_ID_LEN + 1]);

/* Write prescription id's record r, sealed, and move the counts from the
 * state it had (from; 0: it is new) to r's: the one way a record is
 * written.  An LMDB code. */
int st_put_rx(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r, int from);

/* Forget the claim (claimer and token) of a record about to be written. */
void st_clear_claim(Rxstore__RxRecord *r);

/* ---- one request being applied (change.c) ----
 * What the steps of a change share, from the first check to the commit:
 * the request, its transaction (nested in the batch's), who the caller is,
 * the prescription as read and as changed, and what the reply is built
 * from.  store_change_begin allocates it and store_change_commit or
 * store_change_abort frees it; the pointers it puts in out (body, list,
 * log, dispenses) point into it.  Each step takes it whole instead of the
 * ten parameters it needs. */
struct store_pending {
	store_t *s;
	const store_change_t *c;
	store_outcome_t *out;               /* the caller's, until commit or abort */
	MDB_txn *txn;
	store_key_t actor;                  /* the caller's key, once st_check_actor passed */
	int known;                          /* actor holds a registered key's record */
	char patient[RX_PATIENT_ID_LEN + 1]; /* the card's patient, or "" */
	char id[RX_ID_LEN + 1];             /* the prescription, once known */
	Rxstore__RxRecord *stored;          /* as read (protobuf-c's), NULL if new */
	Rxstore__RxRecord fresh;            /* as changed: a shallow copy of stored */
	Rxstore__RxRecord *r;               /* &fresh */
	int dirty;                          /* r is to be written */
	int wrote;                          /* a nonce or a code attempt was written */
	const char *detail;                 /* the audit entry's detail if it stands */
	uint8_t rkey[RX_KEY_LEN + RX_REQUEST_ID_LEN]; /* stored reply's key: request id, caller */
	uint64_t seq;                       /* SUBMIT: the new prescription's number */
	int top;                            /* txn is no batch's: it commits itself */
	/* What r's fields point at while it is new or changed. */
	uint8_t token[RX_TOKEN_LEN], hash[RX_HASH_LEN], code[RX_HASH_LEN];
	char notified[RX_INSTITUTION_MAX + 1];
	uint32_t owed[RX_MAX_ITEMS];
	/* What the reply is built from (out points here). */
	store_rx_t *list, one;
	store_audit_t *log;
	Rxstore__DispenseRow *drows[RX_MAX_USES * STORE_USE_RECORDS];
	store_dispense_t disp[RX_MAX_USES * STORE_USE_RECORDS];
	size_t ndrows;
	Rxstore__InquiryRow *inq_rows[RX_MAX_INQUIRIES]; /* STATUS: what protobuf-c allocated */
	store_inquiry_t inq[RX_MAX_INQUIRIES];
	size_t ninq;
	/* DISPENSE, AMEND citing an inquiry: its agreed changes, read once by
	 * st_inquiry_cited (agreed points into agreed_call, protobuf-c's). */
	Rx__Call *agreed_call;
	Rx__Change **agreed;
	size_t nagreed;
};

/* A step of a change: RX_OK, or a refusal with ch->out->why. */
typedef rx_err_t (*st_step_fn)(store_pending_t *ch);

/* Read the prescription the request names (c->id) into ch->stored, ch->r,
 * ch->id.  NOT_FOUND, UNAVAILABLE. */
rx_err_t st_load_rx(store_pending_t *ch);

/* The uses dispensed so far, for STATUS's reply (rx.c). */
rx_err_t st_load_dispenses(store_pending_t *ch);
void st_free_dispenses(store_pending_t *ch);

/* The state machine (rx.c): each op's step, run once the caller is known
 * (ch->actor, ch->patient).  See store_change_begin for who may. */
rx_err_t st_submit(store_pending_t *ch);
rx_err_t st_claim(store_pending_t *ch);
rx_err_t st_status(store_pending_t *ch);
/* What STATUS returns of the prescription in ch->r, the caller shown to
 * be allowed: its body and every dispense record (PATIENT_STATUS too). */
rx_err_t st_status_body(store_pending_t *ch);
/* A patient's own reads (patients.c, proto/README 5.6). */
rx_err_t st_patient_list(store_pending_t *ch);
rx_err_t st_patient_status(store_pending_t *ch);
rx_err_t st_release(store_pending_t *ch);
rx_err_t st_dispense(store_pending_t *ch);
rx_err_t st_amend(store_pending_t *ch);
rx_err_t st_withdraw(store_pending_t *ch);
rx_err_t st_cancel(store_pending_t *ch);

/* ---- dispense records (dispenses.c) ---- */

/* The stored dispense row of (id, use) into *v, from rx or, written before
 * format 3, from dispenses; with k its key (in dkey).  An LMDB code:
 * MDB_NOTFOUND if the use has none. */
int st_get_dispense(MDB_txn *txn, store_t *s, const char *id, uint32_t use,
		    uint8_t dkey[RX_ID_LEN + 1], MDB_val *k, MDB_val *v);

/* ---- inquiries (inquiries.c, proto/README 5.14) ---- */

rx_err_t st_inquiry(store_pending_t *ch);
rx_err_t st_inquiry_reply(store_pending_t *ch);
/* STATUS: every inquiry of ch->r with its answer, into ch->inq (what
 * protobuf-c allocated kept for st_free_inquiries).  UNAVAILABLE if one
 * cannot be read. */
rx_err_t st_load_inquiries(store_pending_t *ch);
void st_free_inquiries(store_pending_t *ch);
/* DISPENSE, AMEND: the inquiry the record cites (c->inquiry, 0: none) has
 * agreed changes, else NOT_AGREED (they are kept in ch, freed with the
 * inquiries); and whether one of them covers line l of prescribed item
 * item (1..n): the product it agreed to, or not to dispense it. */
rx_err_t st_inquiry_cited(store_pending_t *ch);
int st_agreed(store_pending_t *ch, uint32_t item, const store_line_t *l);
/* Queue a notice of kind (STORE_NOTICE_INQUIRY, _INQUIRY_REPLY) about
 * inquiry number for institution to (notices.c); none if it is not
 * registered or is revoked.  A refusal only for a storage error. */
rx_err_t st_notify_inquiry(store_pending_t *ch, int kind, const char *to, uint32_t number);
/* Tell the issuing clinic of a dispense, an amend or a withdrawal (kind
 * STORE_NOTICE_DISPENSED, _AMENDED, _WITHDRAWN) of use (and part) of
 * ch->r (notices.c); nothing if the clinic is not registered, is revoked,
 * or does not watch (no WATCH in STORE_WATCH_DAYS: the notice would wait
 * for a reader that never comes).  A refusal only for a storage error. */
rx_err_t st_notify_clinic(store_pending_t *ch, int kind, uint32_t use, uint32_t part);
/* The sweep: tell the issuing clinic its prescription id (r, as it was)
 * expired unclaimed, if it watches (as st_notify_clinic); the notice
 * waits for the clinic's next WATCH.  An LMDB code. */
int st_notify_expired(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r, int64_t now);
/* The claim is held by the caller with its token (rx.c): else
 * PERMISSION_DENIED. */
rx_err_t st_check_claim(const store_change_t *c, const Rxstore__RxRecord *r, store_outcome_t *out);

/* Keep row, a part that leaves items owing, among the records of the use
 * (before its current one); an LMDB code, MDB_MAP_FULL if the use has no
 * room left for it and the record that completes it. */
int st_part_put(MDB_txn *txn, store_t *s, const char *id, uint32_t use, Rxstore__DispenseRow *row);

/* The use's next kept part after record number *n (start with *n = 0),
 * opened, with *n its number; NULL after the last.  The caller frees it. */
Rxstore__DispenseRow *st_part_row(MDB_txn *txn, store_t *s, const char *id, uint32_t use, uint32_t *n);

/* A DISPENSE's or AMEND's lines against the prescribed items of p
 * (proto/README 5.10), in dispenses.c: a refusal with ch->out->why, or RX_OK with
 * any UNKNOWN_DRUG findings in ch->out. */
rx_err_t st_check_lines(store_pending_t *ch, const Rx__Prescription *p);
/* DISPENSE, after st_check_lines: the units still owed after the caller's
 * lines into ch->owed (ch->r->owed points there), what its PARTIAL lines
 * left (5.13); 1 if any is (dispenses.c). */
int st_owed_after(store_pending_t *ch, const Rx__Prescription *p);

/* The dispense record of one use of a prescription, opened; NULL if that
 * use has none (or it cannot be read).  The caller frees it. */
Rxstore__DispenseRow *st_dispense_row(MDB_txn *txn, store_t *s, const char *id, uint32_t use);

/* The rows of a kind kept in rx beside the records, counted in meta
 * under name ("rx_dispensed", "rx_attempts", "rx_superseded"): the count
 * into *n (0 if none yet), or one more (st_rows_add), or delta more
 * (st_rows_add_n: a WITHDRAW takes a current dispense row away); and
 * "rx_parts", the open parts kept, and "rx_inquiries", the inquiries.  An LMDB
 * code. */
int st_rows_count(MDB_txn *txn, store_t *s, const char *name, uint64_t *n);
int st_rows_add(MDB_txn *txn, store_t *s, const char *name);
int st_rows_add_n(MDB_txn *txn, store_t *s, const char *name, int delta);

/* File audit entry seq for the patient's log beside prescription id's
 * record in rx (its key + seq, 8 bytes big-endian -> ""), counted as
 * "rx_logged".  An LMDB code. */
int st_rx_log_put(MDB_txn *txn, store_t *s, const char *id, uint64_t seq);
/* Call fn with the seq of each audit entry filed beside prescription id's
 * record, oldest first, until it returns non-zero (returned).  An LMDB code. */
int st_rx_log_each(MDB_txn *txn, store_t *s, const char *id, int (*fn)(uint64_t seq, void *arg),
		   void *arg);

/* Has actor dispensed some use of this prescription (with this claim
 * token, if token is not NULL)? */
int st_dispensed_by(MDB_txn *txn, store_t *s, const char *id, const Rxstore__RxRecord *r,
		    const uint8_t *actor, const uint8_t *token);

/* ---- proofs: the one place for access policy (proof.c) ---- */

/* A registered key is used only through its own institution's connection:
 * checked before anything is looked up for the caller.  RX_OK also for an
 * actor that is no registered key (a card; an unknown key is refused by
 * st_check_actor later); else PERMISSION_DENIED.  A registered key's
 * record into *k, and *known set to 1 (0 if it is none). */
rx_err_t st_check_institution(MDB_txn *txn, store_t *s, const uint8_t *actor, const char *peer,
			      store_key_t *k, int *known, store_outcome_t *out);

/* The caller's key must be registered, unrevoked, of a role in mask
 * (RX_CALLER_* bits), and used through its own unrevoked institution's
 * connection (peer).  Its record into *k; known: *k holds it already (read
 * by st_check_institution in this transaction), so it is not read again. */
rx_err_t st_check_actor(MDB_txn *txn, store_t *s, const uint8_t *actor, const char *peer,
			unsigned mask, store_key_t *k, int known, store_outcome_t *out);

/* The card presented (c->card): enrolled, unrevoked, for this purpose, its
 * assertion new (then recorded).  Its patient into ch->patient. */
rx_err_t st_use_card(store_pending_t *ch);

/* The patient's card signing the request itself through a patient
 * portal's connection (LOG, NOMINATE); then st_use_card. */
rx_err_t st_portal_card(store_pending_t *ch);

/* May the caller act on (CLAIM) or look at (STATUS, LIST by code) ch->r? */
rx_err_t st_may_access(store_pending_t *ch);

/* The slip's access code for prescription id, as the record keeps it. */
void st_code_hash(store_t *s, const char *id, const char *code, uint8_t out[RX_HASH_LEN]);

/* ---- a patient's prescriptions (patients.c) ---- */

/* File prescription id under its patient (audit_patient, see the list
 * above), order as st_expiry_put's.  An LMDB code. */
int st_patient_rx_put(MDB_txn *txn, store_t *s, const char *patient, uint64_t order,
		      const char *id);

rx_err_t st_list(store_pending_t *ch); /* LIST */
rx_err_t st_log(store_pending_t *ch);  /* LOG */

/* SUBMIT, CLAIM: the duplicate-medication check, into out->warnings. */
rx_err_t st_check_medication(store_pending_t *ch);

/* A patient's audit entries inside txn, the newest max, oldest first, into
 * a heap array the caller frees. */
/* Call fn with the id of each of the patient's prescriptions: those filed
 * before format 3 (rx_patient, in id order), then the others
 * (audit_patient, in the order submitted), until fn returns other than
 * RX_OK, which is then returned. */
typedef rx_err_t (*st_patient_id_fn)(MDB_txn *txn, store_t *s, const char *id, void *arg);
rx_err_t st_each_patient_id(MDB_txn *txn, store_t *s, const char *patient, st_patient_id_fn fn,
			    void *arg);

rx_err_t st_patient_entries(MDB_txn *txn, store_t *s, const char *patient, size_t max,
			    store_audit_t **out, size_t *count);

/* ---- nominations and notices (notices.c) ---- */

rx_err_t st_nominate(store_pending_t *ch);  /* NOMINATE */
rx_err_t st_watch_ack(store_pending_t *ch); /* WATCH, ACK */

/* After a SUBMIT that stands: tell the patient's nominated pharmacy. */
rx_err_t st_notify_submit(store_pending_t *ch);

/* After a CANCEL: tell the claimer and the pharmacy that was sent it. */
rx_err_t st_notify_cancel(store_pending_t *ch);

/* The patient's nominated pharmacy into code ("" if none). */
rx_err_t st_get_nomination(MDB_txn *txn, store_t *s, const char *patient,
			   char code[RX_INSTITUTION_MAX + 1]);

#endif
