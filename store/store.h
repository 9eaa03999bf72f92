/* store: durable state of rx-exchange in LMDB.  Knows nothing of sockets.
 *
 * Sensitive values (prescription bodies and records, dispense records,
 * stored replies) are encrypted at rest under the data key; indexes hold
 * only pseudonyms, ids and hashes.
 *
 * Every change is one LMDB write transaction, committed with fsync before the
 * function returns RX_OK: once it has, the change survives a crash.  A change
 * is a compare-and-set on the prescription's stored state, and the reply the
 * caller will send is stored in the same transaction, keyed by (caller key,
 * request id), so a retried request gets the original bytes back.
 *
 * The store is used from one thread at a time per handle, with one
 * exception: the read-only calls marked "any thread" below (long operator
 * work) each run in their own read transaction and may run on other threads
 * while the store thread goes on (the environment is opened MDB_NOTLS); they
 * must return before store_close.  Functions return
 * RX_OK or a code of rx_err_t; storage failures (disk full, I/O error, map
 * full) are RX_UNAVAILABLE and leave nothing half-done. */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "rx_drugs.h"
#include "rx_err.h"
#include "rx_types.h"

typedef struct store store_t;

#define RX_DATA_KEY_LEN 32

typedef struct {
	uint64_t map_size;        /* bytes; 0 means 1 GiB */
	const uint8_t *data_key;  /* RX_DATA_KEY_LEN bytes, required: prescriptions,
				   * dispense records and stored replies are sealed
				   * with it (XChaCha20-Poly1305); copied */
	uint32_t amend_days;      /* AMEND and WITHDRAW until the end of this many
				   * Japan days after the dispense's; 0 means 1 */
	int read_only;            /* 1: open an existing store (a backup's copy)
				   * without writing a byte of it: see store_open */
	uint32_t guard_merge_at;  /* resubmission guards kept in memory before
				   * they are merged into the store together
				   * (store/guard.c); 0 means 4096 */
	uint32_t guard_merge_chunk; /* how many of them one write transaction
				   * merges; 0 means 256 */
} store_options_t;

/* A heap buffer owned by whoever holds it; release with store_buf_free. */
typedef struct {
	uint8_t *data;
	size_t len;
} store_buf_t;

void store_buf_free(store_buf_t *b);

#define STORE_CLINIC 1
#define STORE_PHARMACY 2
#define STORE_PORTAL 3

/* A clinic or pharmacy and the CurveZMQ key its connections present. */
typedef struct {
	char code[RX_INSTITUTION_MAX + 1];
	int kind; /* STORE_CLINIC or STORE_PHARMACY */
	char name[RX_NAME_MAX + 1];
	uint8_t curve_key[32];
	int revoked;
	int64_t added_at, revoked_at;
} store_institution_t;

typedef struct {
	uint8_t key[RX_KEY_LEN];
	int role; /* rx_role_t */
	char institution[RX_INSTITUTION_MAX + 1];
	char name[RX_NAME_MAX + 1];
	int revoked;
	int64_t added_at, revoked_at;
} store_key_t;

/* A prescription's metadata (never its body).  state is the effective state
 * at the time asked: ISSUED or CLAIMED past valid_until reads EXPIRED. */
typedef struct {
	char id[RX_ID_LEN + 1];
	int state; /* rx_state_t */
	uint32_t uses, uses_left;
	int cancel_pending;
	int cancel_reason;          /* rx.CancelReason the prescriber gave (0: none) */
	int inquiry_open;           /* an inquiry waits for the prescriber (5.14) */
	uint8_t claimer[RX_KEY_LEN];
	uint8_t claim_token[RX_TOKEN_LEN];
	char patient_id[RX_PATIENT_ID_LEN + 1];
	uint8_t prescriber[RX_KEY_LEN];
	char institution[RX_INSTITUTION_MAX + 1];
	int64_t issued_at, valid_until, created_at, updated_at;
	int64_t opens_at;           /* the current use may not be dispensed before (0: no bound) */
	uint8_t body_hash[RX_HASH_LEN];
} store_rx_t;

/* A patient's card assertion whose signature, time and institution the
 * broker has checked; the store checks the card, the purpose and the nonce. */
typedef struct {
	const uint8_t *card;        /* RX_KEY_LEN: the card's public key */
	int purpose;                /* 1 issue, 2 dispense, 3 view */
	int64_t at;
	const uint8_t *nonce;       /* 16 bytes: (at, nonce) is accepted once */
} store_assertion_t;

#define STORE_PURPOSE_ISSUE 1
#define STORE_PURPOSE_DISPENSE 2
#define STORE_PURPOSE_VIEW 3
#define STORE_PURPOSE_NOMINATE 4
#define STORE_MAX_CODE_FAILURES 5

/* An item of a prescription as the duplicate-medication check sees it. */
typedef struct {
	const char *drug_code; /* 12 characters, check digit valid */
	uint32_t days;         /* days of supply, 1..365 */
} store_item_t;

/* DISPENSE: one line of the record (rx.Line): what became of the prescribed
 * item in its place.  rx_check_dispense has checked the line on its own. */
#define STORE_LINE_AS_WRITTEN 1    /* rx.Outcome */
#define STORE_LINE_SUBSTITUTED 2
#define STORE_LINE_NOT_DISPENSED 3
#define STORE_LINE_PARTIAL 4       /* less than owed handed over, the rest owed (5.13) */
typedef struct {
	uint32_t item;         /* the prescribed item, 1..n */
	int outcome;
	const char *drug_code; /* the product handed over; "" if none */
	uint32_t quantity;     /* units handed over; 0 if none */
	int reason;            /* rx.LineReason */
} store_line_t;

/* One finding of the duplicate-medication check (rx.Warning). */
#define STORE_WARN_DUPLICATE 1    /* DUPLICATE_INGREDIENT */
#define STORE_WARN_UNKNOWN_DRUG 2 /* UNKNOWN_DRUG */
#define STORE_MAX_WARNINGS 64     /* findings past this many are not reported */
typedef struct {
	int kind;
	uint32_t item;                          /* index of the item, from 0 */
	char drug_code[RX_DRUG_CODE_LEN + 1];
	char other_id[RX_ID_LEN + 1];           /* "" for UNKNOWN_DRUG */
	char other_code[RX_DRUG_CODE_LEN + 1];
	char ingredient[RX_INGREDIENT_MAX + 1]; /* normalised; "" if unknown */
	uint32_t overlap_days;
	char message[256];
} store_warning_t;

/* One request, as the broker has verified it.  Pointers are borrowed for
 * the duration of the call. */
typedef struct {
	int op;                     /* any rx_op_t */
	const uint8_t *actor;       /* caller's key, RX_KEY_LEN, signature checked */
	const char *peer;           /* institution the connection authenticated as */
	const uint8_t *request_id;  /* RX_REQUEST_ID_LEN */
	const uint8_t *call_hash;   /* RX_HASH_LEN, hash of the signed call bytes */
	int64_t now;
	const char *id;             /* canonical prescription id (all but SUBMIT; LIST
				     * with an access code) */
	const uint8_t *claim_token; /* RELEASE, DISPENSE: RX_TOKEN_LEN */
	/* Proof that the patient is present: a card assertion, or the access code
	 * from the slip (canonical), or neither. */
	const store_assertion_t *card;
	const char *access_code;
	/* SUBMIT: the prescription's fields as signed in body, checked by
	 * rx_check_prescription (the guard against the same prescription
	 * submitted twice is keyed by issued_at and content_hash); patient_id may be ""
	 * (the card's patient is used).  LIST: the patient id the caller named,
	 * or "". */
	const char *patient_id;
	const char *institution;    /* as signed; "" means the key's own */
	int64_t issued_at, valid_until;
	uint32_t uses;
	/* SUBMIT: signed prescription; DISPENSE: signed dispense record */
	const uint8_t *body;
	size_t body_len;
	const uint8_t *signature;   /* RX_SIG_LEN */
	/* SUBMIT: the hash of body without its call_hash: the same prescription
	 * sent again under another request id (so bound to another call) has
	 * the same content hash, and is refused as already submitted. */
	const uint8_t *content_hash; /* RX_HASH_LEN */
	uint32_t use;               /* DISPENSE: the use the record names, 0: the claimed one */
	const char *new_access_code; /* SUBMIT: the code for the slip (canonical) */
	const char *pharmacy;       /* NOMINATE: the pharmacy's code, "" to remove */
	const uint64_t *acks;       /* ACK: the notice seqs handled */
	size_t nacks;               /* 1..STORE_MAX_ACKS */
	/* SUBMIT: the items' codes and days, for the duplicate-medication check,
	 * and the prescriber's override reason (NULL or "" for none). */
	const store_item_t *items;
	size_t n_items;
	const char *override_reason;
	int divided;                /* SUBMIT: uses are a divided prescription's parts
				     * (part_days), not refills */
	/* DISPENSE, AMEND: the record's lines, one per prescribed item (proto/README 5.10),
	 * or, in a part after the first, one per item still owed (5.13). */
	const store_line_t *lines;
	size_t n_lines;
	uint32_t part;              /* DISPENSE: the record's part, 0 for a whole use */
	int64_t from, until;        /* PATIENT_LIST: issued in [from, until); 0: unbounded */
	int cancel_reason;          /* CANCEL: rx.CancelReason, 0 if not stated */
	uint32_t inquiry;           /* DISPENSE, AMEND: the inquiry whose agreed changes the
				     * record follows (0: none; 5.14).  INQUIRY and
				     * INQUIRY_REPLY carry their signed call in body */
	const uint8_t *replaces;    /* AMEND, WITHDRAW: RX_HASH_LEN, the record replaced */
	int heartbeat;              /* WATCH: the connection already watches; its
				     * first WATCH was audited, this one is not */
} store_change_t;

#define STORE_MAX_ACKS 256
/* A clinic is told what became of its prescriptions while one of its
 * prescribers has WATCHed within this many days (5.9). */
#define STORE_WATCH_DAYS 30
#define STORE_PATIENT_LIST_MAX 500 /* PATIENT_LIST: the newest this many in the range */
#define STORE_NOTICE_NEW 1
#define STORE_NOTICE_CANCEL 2
#define STORE_NOTICE_INQUIRY 3       /* to the issuing clinic (5.14) */
#define STORE_NOTICE_INQUIRY_REPLY 4 /* to the asking pharmacy */
#define STORE_NOTICE_DISPENSED 5     /* to the issuing clinic: a use (or a part of it) dispensed */
#define STORE_NOTICE_AMENDED 6       /* ... its record amended */
#define STORE_NOTICE_WITHDRAWN 7     /* ... its dispense withdrawn */
#define STORE_NOTICE_EXPIRED 8       /* ... the prescription expired unclaimed */

/* A notice for a pharmacy: kept until it ACKs the seq. */
typedef struct {
	uint64_t seq;
	int kind;                   /* STORE_NOTICE_* */
	char pharmacy[RX_INSTITUTION_MAX + 1];
	char id[RX_ID_LEN + 1];
	char patient_id[RX_PATIENT_ID_LEN + 1];
	char institution[RX_INSTITUTION_MAX + 1]; /* the prescriber's */
	int64_t at;
	int state;                  /* rx_state_t then */
	int cancel_pending;
	int cancel_reason;          /* rx.CancelReason, for a cancel */
	uint32_t inquiry;           /* STORE_NOTICE_INQUIRY, _INQUIRY_REPLY: its number */
	uint32_t use, part;         /* _DISPENSED, _AMENDED, _WITHDRAWN: the use and part */
} store_notice_t;
/* STATUS: one dispense record, as stored (see store_outcome_t): of each use
 * its records in order, the last current, the others superseded (amended
 * or withdrawn since, proto/README 5.12). */
#define STORE_USE_RECORDS RX_USE_RECORDS
typedef struct {
	uint32_t use;                              /* 1..uses */
	int superseded;
	int64_t at;                                /* when it was committed */
	char institution[RX_INSTITUTION_MAX + 1]; /* the pharmacy key's institution */
	const uint8_t *body, *signature;           /* the pharmacy's signed record */
	size_t body_len;
} store_dispense_t;
/* STATUS: one inquiry and its answer (proto/README 5.14), as stored. */
typedef struct {
	uint32_t number;                           /* 1, 2, ... */
	const uint8_t *call, *signature;           /* the pharmacy's signed call */
	size_t call_len;
	const uint8_t *pharmacy_key;               /* RX_KEY_LEN */
	int64_t at;
	char institution[RX_INSTITUTION_MAX + 1]; /* the pharmacy's */
	const uint8_t *reply, *reply_signature;    /* the prescriber's signed call; NULL while open */
	size_t reply_len;
	const uint8_t *prescriber_key;             /* RX_KEY_LEN, or NULL while open */
	int64_t replied_at;
} store_inquiry_t;

typedef struct {
	store_rx_t rx;   /* the prescription after the change */
	uint32_t use;    /* CLAIM: the use claimed; DISPENSE: the use dispensed */
	const char *why; /* on refusal: a static reason, or why_text; safe to log */
	char why_text[160]; /* a reason naming an item (never a code or a patient) */
	int replayed;    /* RX_OK from a retry: the stored reply was returned */
	int commit;      /* a refusal whose bookkeeping (code attempts) was kept */
	int audit_lost;  /* a plain read answered although its audit entry failed */
	/* For the reply builder only (valid while it runs): STATUS's signed
	 * prescription, LIST's prescriptions. */
	const uint8_t *body, *signature;
	size_t body_len;
	const store_rx_t *list;
	size_t n;
	const struct store_audit *log; /* LOG: the patient's entries, oldest first */
	size_t nlog;
	/* Notices this change queued (SUBMIT for a nominated pharmacy; CANCEL
	 * for the claimer's and the notified pharmacy), to push once committed. */
	store_notice_t notices[2];
	size_t nnotices;
	uint32_t count;             /* WATCH: notices waiting; ACK: notices removed */
	char pharmacy[RX_INSTITUTION_MAX + 1]; /* NOMINATE: the nomination now */
	const store_dispense_t *dispenses; /* STATUS: one per dispensed use, in use order */
	size_t ndispenses;
	const store_inquiry_t *inquiries;  /* STATUS: every inquiry, in order (5.14) */
	size_t ninquiries;
	uint32_t inquiry;                  /* INQUIRY, INQUIRY_REPLY: the inquiry's number */
	/* SUBMIT, CLAIM: what the duplicate-medication check found, valid after
	 * the call too (a DUPLICATE_MEDICATION refusal carries them).  Last:
	 * the rest is zeroed per request and these only as they are added
	 * (change.c's outcome_clear). */
	store_warning_t warnings[STORE_MAX_WARNINGS];
	size_t nwarnings;
} store_outcome_t;

/* A change made but not yet committed: between store_change_begin and
 * store_change_commit or store_change_abort (store_int.h has its parts). */
typedef struct store_pending store_pending_t;

/* Open (creating if needed) the store in directory dir.  Caller owns *out
 * and releases it with store_close.  RX_SYSTEM if it cannot be opened;
 * RX_INVALID if the data on disk has a format this build does not know, or
 * is not an LMDB environment at all.
 *
 * With opt->read_only the store must exist, and nothing in dir is written:
 * data.mdb is mapped read-only (MDB_RDONLY), nothing is created, upgraded or
 * indexed, and every write call fails RX_UNAVAILABLE; store_key_checks only
 * compares.  If dir holds no lock.mdb it is opened MDB_NOLOCK, so none is
 * created: LMDB's lock file only coordinates readers with a writer, and a
 * backup's copy has none (never open a copy this way while an rxd writes
 * to it: rxd holds its lock.mdb, and then it is used).  For a backup's
 * check (rxctl backup --verify), from one thread.  Read-only adds:
 *   RX_NOT_FOUND  dir holds no data.mdb
 *   RX_INVALID    also: data.mdb lacks one of the store's databases, or
 *                 has a format that must be upgraded by rxd first */
rx_err_t store_open(store_t **out, const char *dir, const store_options_t *opt) RX_MUST_CHECK;
void store_close(store_t **s);

/* ---- key checks ----
 * The store keeps a check value of every key it was written with, in meta
 * under "key_check/NAME", so that a lost key is never silently replaced: a
 * new data key would leave every sealed record unreadable, a new pseudonym
 * key would give every patient a new id. */
#define STORE_KEY_CHECK_LEN 32

enum { STORE_KEY_MATCHED = 1, STORE_KEY_RECORDED, STORE_KEY_MISMATCHED, STORE_KEY_REPLACED,
       STORE_KEY_UNRECORDED };

typedef struct {
	const char *name;                   /* the key file's name, "data.key" (borrowed) */
	uint8_t value[STORE_KEY_CHECK_LEN]; /* its check value, never the key itself */
	int replace;                        /* in: a deliberate new key: record value over
					     * the one held (STORE_KEY_REPLACED) */
	int outcome;                        /* out: STORE_KEY_MATCHED, _RECORDED, _MISMATCHED,
					     * _REPLACED, _UNRECORDED (read-only) */
} store_key_check_t;

/* Compare each of the n check values with the one the store holds under its
 * name; record those the store has none of yet (a new store, or one from
 * before key checks), all in one transaction.
 *   RX_OK          every key matched, was recorded or replaced (committed)
 *   RX_CONFLICT    at least one MISMATCHED: nothing was recorded
 *   RX_UNAVAILABLE storage error: nothing was recorded
 * checks is the caller's; each outcome is set on RX_OK and RX_CONFLICT.
 * On a store opened read-only nothing is recorded or replaced: a value the
 * store has none of is STORE_KEY_UNRECORDED (store_keys_probe is then the
 * only check of that key), replace is ignored, and RX_OK means every key the
 * store holds a value of matched. */
rx_err_t store_key_checks(store_t *s, store_key_check_t *checks, size_t n) RX_MUST_CHECK;

/* Do the keys fit what the store already holds, check values or not (a
 * store from before them records whatever keys it meets first)?  The data
 * key it was opened with must open one of the first 8 prescriptions, and
 * broker_pk must verify the audit head signed last; either may be absent.
 *   RX_OK          they fit (or there is nothing to try them on)
 *   RX_CONFLICT    *which is STORE_PROBE_DATA_KEY or STORE_PROBE_BROKER_KEY
 *   RX_UNAVAILABLE storage error */
enum { STORE_PROBE_DATA_KEY = 1, STORE_PROBE_BROKER_KEY };
rx_err_t store_keys_probe(store_t *s, const uint8_t broker_pk[RX_KEY_LEN], int *which) RX_MUST_CHECK;

/* Apply a request: the one request path for every op, in three calls.
 *
 *   store_change_begin   checks and makes the change, in a transaction
 *                        nested in the batch's; *out says what it did
 *   (the caller builds and signs the reply from *out)
 *   store_change_commit  keeps the reply with the change (a retry gets the
 *                        same bytes) and commits it into the batch
 *   store_change_abort   the reply could not be built: undo and record
 *                        the refusal
 *
 * No other change may begin in between.  begin returns:
 *   RX_OK, *pending set    the change is made; out's pointers (body, list,
 *                          log, dispenses) hold until commit or abort,
 *                          and *out must stay where it is until then
 *   RX_OK, *pending NULL   a retried request (same caller, request id and
 *                          call hash): *reply holds the reply stored the
 *                          first time (out->replayed; the caller frees it)
 *   a refusal              out->why says why; nothing changed, except that
 *                          a wrong or locked access code is counted and
 *                          every code attempt recorded, and the refusal is
 *                          in the audit log
 * commit returns RX_OK or a storage refusal (out->why; the change is
 * undone and the reply must not be sent); abort returns err, or
 * UNAVAILABLE if the refusal could not be recorded.  Both free *pending
 * and set it to NULL.  A change, and a read that used a card or an access
 * code, keeps its reply; a plain read writes only its audit entry.
 * Outside a batch each commit is its own synced transaction.
 *
 * STATUS gives the reply builder the prescription's dispense records too
 * (uses 1..uses - uses_left); one that cannot be read is UNAVAILABLE.
 * Who may: SUBMIT a prescriber with the patient's card (purpose issue);
 * CLAIM a pharmacy with the card (dispense) or the access code; STATUS the
 * issuer, the claimer, a pharmacy that dispensed it, or with the card or the
 * code; LIST with the card (a pharmacy: dispense; a prescriber: issue or
 * view) or with a prescription id and its code; RELEASE and DISPENSE the
 * claimer with its token; CANCEL the issuer.  A pharmacy the patient
 * nominated may CLAIM and STATUS the patient's prescriptions without proof.
 * NOMINATE: the patient's card (purpose nominate) signing through a portal;
 * WATCH and ACK: a pharmacy, for its own institution's notices.
 * Refusals: CONFLICT, UNKNOWN_KEY, KEY_REVOKED, PERMISSION_DENIED, NOT_FOUND,
 * ALREADY_CLAIMED, ALREADY_DISPENSED, CANCELLED, EXPIRED, INVALID,
 * CARD_UNKNOWN, CARD_REVOKED, ASSERTION_REPLAYED, ASSERTION_MISMATCH,
 * BAD_ACCESS_CODE, ACCESS_LOCKED, UNAVAILABLE, DUPLICATE_MEDICATION.
 * Duplicate medication: while the drug master holds any row, SUBMIT and
 * CLAIM compare the items with the patient's other open prescriptions and
 * the dispenses whose days of supply still run (drugs.h has the rule) and
 * put the findings in out->warnings.  A SUBMIT with a duplicate and no
 * override reason is refused DUPLICATE_MEDICATION; with one it is accepted
 * and its audit entry says so.  A CLAIM is never refused for it. */
rx_err_t store_change_begin(store_t *s, const store_change_t *c, store_outcome_t *out,
			    store_buf_t *reply, store_pending_t **pending) RX_MUST_CHECK;
rx_err_t store_change_commit(store_pending_t **pending, const store_buf_t *reply) RX_MUST_CHECK;
rx_err_t store_change_abort(store_pending_t **pending, rx_err_t err, const char *why) RX_MUST_CHECK;

/* Group commit.  Between store_batch_begin and store_batch_end every
 * store_change_begin runs in a transaction nested in one batch transaction: it
 * sees the changes before it, a refusal discards only its own, and none of
 * them is durable until store_batch_end has returned RX_OK (one commit, one
 * fsync for the whole batch).  If store_batch_end fails, nothing of the
 * batch happened: the caller must not acknowledge any of it.  No other write
 * (admin, sweep) may start while a batch is open.  RX_INVALID if misused. */
rx_err_t store_batch_begin(store_t *s) RX_MUST_CHECK;
rx_err_t store_batch_end(store_t *s) RX_MUST_CHECK;

/* The stored reply for a retried request, without a write transaction:
 * RX_OK (reply filled, out->replayed set), RX_CONFLICT (the request id was
 * used for other bytes), RX_NOT_FOUND (not a retry), or RX_UNAVAILABLE.
 * The caller is authorised first: a registered key used through another
 * institution's connection (peer) is RX_PERMISSION_DENIED before any stored
 * reply is looked up (store_change_begin then refuses it the same way, audited),
 * and a reply is answered only through a connection of the institution it
 * was earned through (else RX_NOT_FOUND: the request is no retry of this
 * caller's).  The
 * broker asks this before checks whose outcome moves with the clock, so a
 * retry gets its original reply however late it comes; store_change_begin
 * checks again inside its transaction. */
rx_err_t store_replay(store_t *s, const uint8_t actor[RX_KEY_LEN], const char *peer,
		      const uint8_t request_id[RX_REQUEST_ID_LEN], const uint8_t call_hash[RX_HASH_LEN],
		      store_outcome_t *out, store_buf_t *reply) RX_MUST_CHECK;

/* Every request names its caller twice: the signing key (actor) and the
 * institution whose CurveZMQ key the connection authenticated with (peer).
 * The key must belong to that institution (else PERMISSION_DENIED), and the
 * institution must not be revoked (KEY_REVOKED). */

/* A prescription's state for a caller who needs no proof (its issuer, its
 * claimer, a pharmacy that dispensed it); for the operator's tools and the
 * tests.  On RX_OK the caller owns body and sig (the prescriber's signed
 * bytes); either may be NULL if not wanted. */
rx_err_t store_status(store_t *s, const uint8_t actor[RX_KEY_LEN], const char *peer,
		      const char *id, int64_t now,
		      store_rx_t *out, store_buf_t *body, store_buf_t *sig,
		      const char **why) RX_MUST_CHECK;


/* Institutions.  add: RX_CONFLICT if the code or the curve key is taken. */
rx_err_t store_institution_add(store_t *s, const store_institution_t *in) RX_MUST_CHECK;
/* RX_NOT_FOUND if unknown; revoking twice keeps the first time. */
rx_err_t store_institution_revoke(store_t *s, const char *code, int64_t now) RX_MUST_CHECK;
/* All institutions; caller owns *out (free()). */
rx_err_t store_institution_list(store_t *s, store_institution_t **out, size_t *n) RX_MUST_CHECK;
/* The institution presenting this CurveZMQ key (revoked ones too: the
 * caller decides); RX_NOT_FOUND if none. */
rx_err_t store_institution_by_curve(store_t *s, const uint8_t curve_key[32],
				    store_institution_t *out) RX_MUST_CHECK;

/* Any thread.  A prescription's metadata for the operator (no access
 * checks; the claim token is never returned), and its signed body if
 * body/sig are not NULL (the caller owns them).  NOT_FOUND if no such
 * prescription. */
rx_err_t store_rx_get(store_t *s, const char *id, int64_t now, store_rx_t *out, store_buf_t *body,
		      store_buf_t *sig) RX_MUST_CHECK;

/* Keys.  add: RX_CONFLICT if the key is already registered, RX_NOT_FOUND if
 * its institution is not, RX_INVALID if the institution's kind does not fit
 * the role (prescribers belong to clinics, pharmacy keys to pharmacies). */
rx_err_t store_key_add(store_t *s, const store_key_t *k) RX_MUST_CHECK;
rx_err_t store_key_get(store_t *s, const uint8_t key[RX_KEY_LEN], store_key_t *out) RX_MUST_CHECK;
/* RX_NOT_FOUND if unknown; revoking a revoked key is RX_OK and keeps the
 * first revocation time. */
rx_err_t store_key_revoke(store_t *s, const uint8_t key[RX_KEY_LEN], int64_t now) RX_MUST_CHECK;
/* All keys; caller owns *out (free()). */
rx_err_t store_key_list(store_t *s, store_key_t **out, size_t *n) RX_MUST_CHECK;

/* Cards.  enroll: bind a card to an enrolled patient (NOT_FOUND if the
 * patient is not; CONFLICT if the card was ever enrolled, even if revoked:
 * a re-issued card has a new key).  revoke: NOT_FOUND if unknown. */
typedef struct {
	uint8_t card[RX_KEY_LEN];
	char patient_id[RX_PATIENT_ID_LEN + 1];
	int revoked;
	int64_t enrolled_at, revoked_at;
} store_card_t;

rx_err_t store_card_enroll(store_t *s, const uint8_t card[RX_KEY_LEN], const char *patient_id,
			   int64_t now) RX_MUST_CHECK;
rx_err_t store_card_revoke(store_t *s, const uint8_t card[RX_KEY_LEN], int64_t now) RX_MUST_CHECK;
/* All cards; caller owns *out (free()). */
rx_err_t store_card_list(store_t *s, store_card_t **out, size_t *n) RX_MUST_CHECK;

/* Any thread.  Prescriptions in a state (effective at now), at most max;
 * caller owns *out (free()).  For the operator. */
rx_err_t store_rx_list(store_t *s, int state, int64_t now, size_t max, store_rx_t **out,
		       size_t *n) RX_MUST_CHECK;
/* Take back a claim stuck at a pharmacy (closed, gone): CLAIMED -> ISSUED, or
 * CANCELLED if a cancel was pending.  Audited with the operator's reason.
 * NOT_FOUND; PARTLY_DISPENSED if part of it was handed over; INVALID if it is not claimed. */
rx_err_t store_rx_release(store_t *s, const char *id, int64_t now, const char *reason) RX_MUST_CHECK;
/* The expiry sweep: ISSUED or CLAIMED past valid_until become EXPIRED (a
 * claim on one is dropped), each audited.  *count: how many.  It finds them
 * through an index by valid_until, so its cost is that of what is due, not
 * of the store's size; it passes at most STORE_EXPIRE_MAX index entries in
 * one call (one transaction), leaving the rest to the next call. */
#define STORE_EXPIRE_MAX 10000
rx_err_t store_expire(store_t *s, int64_t now, uint64_t *count) RX_MUST_CHECK;
/* Any thread.  A consistent, compacted copy of the LMDB environment into
 * directory dest (created mode 0700 if missing; refused with CONFLICT if it
 * already holds a store), taken while serving.  *bytes: the copy's size. */
rx_err_t store_backup(store_t *s, const char *dest, uint64_t *bytes) RX_MUST_CHECK;
/* Store thread.  One durable commit (meta "health_at" = now), for a cluster
 * monitor: a store that can no longer commit (a full map, a dead disk, a
 * file system gone read-only) fails here as a request would.  The commit
 * waits for the writer lock, so it also stalls while a group commit does. */
rx_err_t store_health(store_t *s, int64_t now) RX_MUST_CHECK;

/* A pharmacy's unacknowledged notices with seq > after, oldest first, at
 * most max; caller owns *out (free()). */
rx_err_t store_notices(store_t *s, const char *pharmacy, uint64_t after, size_t max,
		       store_notice_t **out, size_t *n) RX_MUST_CHECK;

/* Clear a prescription's access-code lock and failure count (operator).
 * NOT_FOUND if no such prescription. */
rx_err_t store_rx_unlock(store_t *s, const char *id, int64_t now) RX_MUST_CHECK;

/* Enroll a patient id (a pseudonym, never a My Number).  *created is 1 if
 * new, 0 if it was enrolled before; either way RX_OK. */
rx_err_t store_patient_enroll(store_t *s, const char *patient_id, int64_t now,
			      int *created) RX_MUST_CHECK;

/* ---- the audit log (see audit.h) ---- */

typedef struct store_audit {
	uint64_t seq;
	int64_t at;
	uint8_t actor[RX_KEY_LEN];
	int has_actor;                /* 0: the operator */
	char institution[RX_INSTITUTION_MAX + 1];
	char action[24];
	char id[RX_ID_LEN + 1];
	char patient[RX_PATIENT_ID_LEN + 1];
	int outcome;                  /* rx_err_t */
	char detail[128];
} store_audit_t;

typedef struct store_verdict {
	int ok;
	uint64_t checked;             /* entries walked */
	uint64_t first_bad;           /* seq of the first broken entry, 0 if ok */
	const char *why;              /* static */
	uint64_t signed_seq;          /* the last head the broker signed (0: never) */
	int64_t signed_at;
} store_verdict_t;

/* Any thread.  Walk the chain from the first entry; v says whether it holds
 * and, if not, the first entry that breaks it.  RX_OK whatever the verdict. */
rx_err_t store_audit_verify(store_t *s, const uint8_t broker_pk[RX_KEY_LEN],
			    store_verdict_t *v) RX_MUST_CHECK;
/* The last n entries, oldest first; caller owns *out (free()). */
rx_err_t store_audit_tail(store_t *s, size_t n, store_audit_t **out, size_t *count) RX_MUST_CHECK;
/* A patient's entries, newest last, at most max (the newest); caller owns *out. */
rx_err_t store_audit_patient(store_t *s, const char *patient, size_t max, store_audit_t **out,
			     size_t *count) RX_MUST_CHECK;
/* Any thread.  A prescription's history (its entries, oldest first); caller
 * owns *out. */
rx_err_t store_audit_rx(store_t *s, const char *id, store_audit_t **out, size_t *count) RX_MUST_CHECK;
/* Any thread.  Call fn for every entry with from <= at < to, in order; fn
 * returns 0 to go on. */
typedef int (*store_audit_fn)(void *arg, const store_audit_t *e);
rx_err_t store_audit_each(store_t *s, int64_t from, int64_t to, store_audit_fn fn,
			  void *arg) RX_MUST_CHECK;
/* Sign the chain head with the broker's key if it moved since last signed
 * (rxd does so every minute and at shutdown).  *signed_now says if it did. */
rx_err_t store_audit_sign(store_t *s, const uint8_t pk[RX_KEY_LEN], const uint8_t sk[RX_SECRET_LEN],
			  int64_t now, int *signed_now) RX_MUST_CHECK;
/* Record an operator action (rx show --body, backups, ...) that changes no
 * other state. */
rx_err_t store_audit_operator(store_t *s, int64_t now, const char *action, const char *id,
			      const char *patient, const char *detail) RX_MUST_CHECK;

/* ---- the drug master ---- */

typedef struct {
	char code[RX_DRUG_CODE_LEN + 1];
	char name_ja[201], name_en[201];
	char ingredient[RX_INGREDIENT_MAX + 1];
	char strength[101], unit[33], dosage_form[33];
	int no_refill;
} store_drug_t;

/* One part of a new drug master, rows checked by rx_drug_row_check.  Parts
 * are kept aside under load_id (16 bytes); a part with another load_id
 * than the one being assembled starts over (an interrupted load is
 * dropped).  With commit, the last part's rows are added and, if the load
 * then has expected rows in all, the master is replaced by it in the same
 * transaction, audited as the operator's DRUGS_LOAD; *count is then the
 * master's size.  Refusals: CONFLICT (a code twice in one load; *bad is the
 * index in rows of the second), INVALID (commit with another number of rows
 * than were sent), NOT_FOUND (commit of a load that is not being assembled:
 * another load started since), UNAVAILABLE. */
rx_err_t store_drugs_load(store_t *s, const uint8_t load_id[16], const rx_drug_row_t *rows, size_t n,
			  int commit, uint64_t expected, int64_t now, uint64_t *count,
			  size_t *bad) RX_MUST_CHECK;
/* The rows whose code starts with prefix (a whole code: that one), in code
 * order, at most max; caller owns *out (free()).  RX_OK with *n 0 if none. */
rx_err_t store_drugs_find(store_t *s, const char *prefix, size_t max, store_drug_t **out,
			  size_t *n) RX_MUST_CHECK;
/* Rows in the master, and when it was last replaced (0: never). */
rx_err_t store_drugs_info(store_t *s, uint64_t *count, int64_t *loaded_at) RX_MUST_CHECK;

/* Space in the map.  high_water is how far into the map LMDB has ever
 * written, free what its free list holds for reuse (counted at most once a
 * second), used the difference.  The store is nearly_full when the untouched
 * tail of the map (map_size - high_water) is below the reserve (an eighth of
 * the map, at least 64 KiB); store_change_begin then refuses everything but
 * finishing claimed prescriptions (STORAGE_FULL). */
typedef struct {
	uint64_t map_size, high_water, free, used, reserve; /* bytes */
	int nearly_full;
	uint64_t page_size;   /* the page size */
} store_space_t;

rx_err_t store_space(store_t *s, store_space_t *out) RX_MUST_CHECK;

/* How long a stored reply is kept for a retry: the longest validity a
 * prescription can have, and two weeks more.  A retry after that is
 * evaluated again (exactly-once holds without it: a dispensed use is
 * written once, a signed prescription filed once). */
#define STORE_REPLY_KEEP ((int64_t)(RX_MAX_VALID_DAYS + 14) * 86400)

/* The sweep's pruning: stored replies older than STORE_REPLY_KEEP at now
 * and card nonces older than any assertion still accepted, at most max of
 * each in one transaction (so the store thread is never held long); the
 * counts removed into *replies, *nonces.  A caller sees more is left when
 * a count equals max.  RX_UNAVAILABLE on a storage error (nothing
 * removed). */
rx_err_t store_prune(store_t *s, int64_t now, size_t max, uint64_t *replies,
		     uint64_t *nonces) RX_MUST_CHECK;
/* Stored replies and card nonces kept, and how many of them store_prune
 * would remove at now. */
rx_err_t store_prunable(store_t *s, int64_t now, uint64_t *replies, uint64_t *replies_due,
			uint64_t *nonces, uint64_t *nonces_due) RX_MUST_CHECK;

typedef struct {
	uint64_t prescriptions;
	uint64_t by_state[RX_STATE_LAST + 1]; /* indexed by rx_state_t */
	uint64_t dispense_records;
	uint64_t patients;
	uint64_t keys;
	uint64_t map_used, map_size; /* bytes */
	uint64_t institutions;
	uint64_t cards;
	uint64_t audit_entries;
	uint64_t notices;             /* pushed notices not yet acknowledged */
	uint64_t nominations;
	/* Space (map_used above is space.high_water) and what the sweep prunes:
	 * stored replies and card nonces kept, and how many are due (counted up
	 * to STORE_PRUNABLE_COUNTED: more means the sweep is behind). */
	store_space_t space;
	uint64_t replies, replies_due, nonces, nonces_due;
} store_stats_t;
#define STORE_PRUNABLE_COUNTED 20000

/* Counts for rxctl stats and the metrics, without walking the store: the
 * entry counts are LMDB's, and by_state is each prescription's state as
 * every read reports it at now (ISSUED or CLAIMED past valid_until is
 * EXPIRED), from counts of the stored states that every change keeps in its
 * own transaction (so a refused change or a failed batch leaves them as
 * they were), corrected for the prescriptions past valid_until that the
 * sweep has not expired yet: only those are read (the expiry index up to
 * now; in rxd, whose sweep runs every minute, about a minute's worth).
 * prescriptions is every stored one, whatever its state. */
rx_err_t store_stats(store_t *s, int64_t now, store_stats_t *out) RX_MUST_CHECK;

#endif
