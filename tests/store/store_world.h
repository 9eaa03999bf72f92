/* store_world: the fixture the store's unit tests share (tests/store/).
 *
 * A world is one store in its own directory with registered institutions
 * and keys, two enrolled patients and their cards; a call_t is one request's
 * bytes.  Every test opens its own world inside the forked test process and
 * closes it.  store_world.c is the only file that calls store_change: a test
 * applies a change with apply, apply_reply or world_change_failing_reply, so
 * a change of the store's API is a change of this fixture only.
 *
 * The scratch directory: testutil.h keeps it in a static, one copy per
 * file, so a test case gets it from world_tcase and a test its own
 * directory from world_subdir, never from tu_scratch_setup or tu_subdir. */
#ifndef STORE_WORLD_H
#define STORE_WORLD_H

#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rx_check.h"
#include "rx_crypto.h"
#include "rx_ids.h"
#include "rx_ops.h"
#include "store.h"
#include "testutil.h"

#define DAY 86400
#define T0 (1764547200 + 600) /* 2025-12-01 09:10 JST */
#define INST "1312345678"
#define INST_OTHER "2712345678"

typedef struct {
	char dir[TU_PATH_MAX];
	store_t *s;
	uint8_t doc[RX_KEY_LEN];       /* prescriber at INST */
	uint8_t doc2[RX_KEY_LEN];      /* another prescriber at INST */
	uint8_t doc_far[RX_KEY_LEN];   /* a prescriber at INST_OTHER */
	uint8_t revoked[RX_KEY_LEN];   /* a prescriber whose key was revoked */
	uint8_t pharm[RX_KEY_LEN];     /* pharmacy X */
	uint8_t pharm2[RX_KEY_LEN];    /* pharmacy Y */
	uint8_t stranger[RX_KEY_LEN];  /* never registered */
	char patient[RX_PATIENT_ID_LEN + 1];
	char patient2[RX_PATIENT_ID_LEN + 1];
	char unenrolled[RX_PATIENT_ID_LEN + 1];
	uint8_t card[RX_KEY_LEN];      /* patient's card */
	uint8_t card2[RX_KEY_LEN];     /* patient2's card */
	uint8_t lost[RX_KEY_LEN];      /* patient's earlier card, revoked */
	store_rx_t seen[16];           /* what the last LIST returned */
	size_t nseen;
	/* what the last STATUS returned of the dispense records: use, and
	 * whether superseded, and the hash of each record's body */
	struct {
		uint32_t use;
		int superseded;
		uint8_t hash[RX_HASH_LEN];
	} records[16];
	size_t nrecords;
	int calls;      /* reply builder calls */
	int fail_reply; /* make the reply builder refuse */
	uint32_t guard_merge_at; /* store_options_t's, at the next store_open_in */
	uint32_t guard_merge_chunk; /* store_options_t's, at the next store_open_in */
} world_t;

/* Every request's body is this long: a SUBMIT's is a real prescription
 * (the store reads its items at DISPENSE), unique by its random notes. */
#define WORLD_BODY_LEN 160

/* One request's bytes; the change points into it. */
typedef struct {
	store_change_t c;
	uint8_t request_id[RX_REQUEST_ID_LEN];
	uint8_t call_hash[RX_HASH_LEN];
	uint8_t body[WORLD_BODY_LEN]; /* SUBMIT: a Prescription (world_body) */
	uint8_t sig[RX_SIG_LEN];
	uint8_t token[RX_TOKEN_LEN];
	char id[RX_ID_LEN + 1];
	store_assertion_t assertion;
	uint8_t nonce[16];
} call_t;

/* The world of the running test (one per forked test process), set by
 * world_open; mk reads its cards and keys. */
extern world_t *world_current;

/* The options every test store is opened with (its data key included). */
extern const store_options_t test_opt;

/* An all-zero claim token: no claim. */
extern const uint8_t zero_token[RX_TOKEN_LEN];

/* ---- the scratch directory ---- */

/* A test case named name whose tests have the scratch directory. */
TCase *world_tcase(const char *name);
/* A fresh empty directory inside the scratch directory, into out. */
void world_subdir(char out[TU_PATH_MAX]);

/* ---- the world ---- */

void new_key(uint8_t pk[RX_KEY_LEN]);
void patient_id(const char *mynumber, char out[RX_PATIENT_ID_LEN + 1]);
/* The institution a known key's connection authenticates as. */
const char *peer_of(const uint8_t *key);
/* (Re)open w's store in w->dir. */
void store_open_in(world_t *w);
/* A store with registered keys and two enrolled patients. */
void world_open(world_t *w);
void world_close(world_t *w);

/* ---- requests ---- */

/* A fresh request (new request id, call hash, body and signature); the
 * change lives in k. */
store_change_t *mk(call_t *k, int op, const uint8_t *actor, const char *id, int64_t now);
store_change_t *mk_submit(call_t *k, const uint8_t *doc, const char *patient, uint32_t uses,
			  int64_t now);
store_change_t *mk_tok(call_t *k, int op, const uint8_t *actor, const char *id,
		       const uint8_t token[RX_TOKEN_LEN], int64_t now);

/* ---- applying a change: the only callers of store_change ---- */

/* Apply c; the reply is checked for sanity and freed.  A refusal must say
 * why, must not call the builder and must return no reply. */
rx_err_t apply(world_t *w, const store_change_t *c, store_outcome_t *out);
/* Apply c and keep the reply bytes (caller frees). */
rx_err_t apply_reply(world_t *w, const store_change_t *c, store_outcome_t *out,
		     store_buf_t *reply);
/* Apply c with a reply builder that fails (as a broker that cannot build
 * its reply would): returns what the store returns, no reply bytes in
 * *reply.  w->fail_reply is as it was afterwards. */
rx_err_t world_change_failing_reply(world_t *w, const store_change_t *c, store_outcome_t *out,
				    store_buf_t *reply);

/* SUBMIT (id out) and CLAIM (token out), asserted to succeed. */
void submit(world_t *w, const uint8_t *doc, const char *patient, uint32_t uses, int64_t now,
	    char id[RX_ID_LEN + 1]);
void claim(world_t *w, const uint8_t *pharm, const char *id, int64_t now,
	   uint8_t token[RX_TOKEN_LEN]);
/* LIST by actor with card (NULL: none) at now; the result in w->seen. */
rx_err_t list_with(world_t *w, const uint8_t *actor, const uint8_t *card, int64_t now);

/* ---- reading back ---- */

/* The state as the operator sees it (actor is who would ask; the operator's
 * read needs no proof, and never shows a claim token). */
store_rx_t status_of(world_t *w, const uint8_t *actor, const char *id, int64_t now);
store_stats_t stats_of(world_t *w, int64_t now);
/* stats' counts by state are these, and match a walk of every prescription. */
void expect_counts(world_t *w, int64_t now, uint64_t issued, uint64_t claimed,
		   uint64_t dispensed, uint64_t cancelled, uint64_t expired);
/* How many of id's audit entries are action. */
int has_action(world_t *w, const char *id, const char *action);
/* The raw keys of tree name of the closed store in dir, in order, into
 * keys (each up to 64 bytes), their sizes into sizes; how many (up to
 * max).  For the tests of the stored layout. */
size_t world_raw_keys(const char *dir, const char *name, uint8_t keys[][64], size_t *sizes,
		      size_t max);

/* The key prescription id's record has in rx (its rows beside it extend
 * it): its sequence number, 8 bytes, as the store numbers prescriptions
 * with test_opt's data key.  Returns the key's length. */
size_t world_rx_key(const char *id, uint8_t key[RX_ID_LEN]);

/* Refile every prescription of the closed store in dir as a store before
 * format 4 kept it: its record and the rows beside it in rx under its id
 * instead of its number (sealed values sealed again for their new key),
 * no "rx_seq", format 3. */
void world_refile_under_ids(const char *dir);

/* ---- the test cases, one per file ---- */

TCase *store_env_tcase(void);
TCase *store_registry_tcase(void);
TCase *store_rx_tcase(void);
TCase *store_change_tcase(void);
TCase *store_proof_tcase(void);
TCase *store_patients_tcase(void);
TCase *store_operator_tcase(void);
TCase *store_parts_tcase(void);

#endif
