/* drugs: the drug master and the duplicate-medication rule (internal to
 * store/; store.h has the public API).
 *
 * The master maps a 12-character NHI code to its row (DrugRecord).  A new
 * master arrives in parts (an admin frame is capped at 256 KiB, a full list
 * is about 13,000 rows): the parts are kept in a staging database under the
 * load's id, and the last part swaps the staging rows in, in one
 * transaction, so a reader sees the old master or the new, never a mix.
 *
 * The rule: an item duplicates something the patient has when both name
 * the same ingredient: the same first 7 characters of the code (class,
 * route, ingredient), or a normalised ingredient in common according to the
 * master (rx_ingredient_components), which catches one ingredient listed
 * under two classes and the ingredients inside a combination product. */
#ifndef DRUGS_H
#define DRUGS_H

#include <lmdb.h>
#include <stdint.h>

#include "store.h"

typedef struct {
	MDB_dbi master;  /* code (12) -> DrugRecord */
	MDB_dbi staging; /* code (12) -> DrugRecord, the load being assembled */
	MDB_dbi meta;    /* "drugs_load_id" (16 bytes), "drugs_loaded_at" (8, big-endian) */
} drugs_dbs_t;

/* Something the patient has: an item of another open prescription, or of a
 * dispense whose days of supply still run. */
typedef struct {
	char id[RX_ID_LEN + 1];          /* the prescription it belongs to */
	char code[RX_DRUG_CODE_LEN + 1];
	uint32_t days_left;              /* days it still runs (all of them if not yet dispensed) */
} drugs_taken_t;

/* Does the master hold any row?  The check is off until one is loaded. */
int drugs_active(MDB_txn *txn, const drugs_dbs_t *d);

/* Compare items with taken; findings (duplicates, and items whose code the
 * master does not know) into out[0..max), one per (item, prescription,
 * code) with the longest overlap; *nout how many.  RX_SYSTEM if memory ran
 * out, RX_UNAVAILABLE on a storage error. */
rx_err_t drugs_check(MDB_txn *txn, const drugs_dbs_t *d, const store_item_t *items, size_t n,
		     const drugs_taken_t *taken, size_t ntaken, store_warning_t *out, size_t max,
		     size_t *nout) RX_MUST_CHECK;

/* The prescriber's marks on an item (rx.Item), for drugs_substitution. */
#define DRUGS_NO_CHANGE 1u
#define DRUGS_MEDICAL_NECESSITY 2u
#define DRUGS_NO_FORM_CHANGE 4u
#define DRUGS_NO_STRENGTH_CHANGE 8u

/* May the product handed (a well-formed code other than prescribed) stand
 * in for prescribed item number item (from 0) under its marks?  The rule is
 * proto/README 5.10: the same ingredient(s), by the code's ingredient part or
 * by the master, and no change a mark forbids.  RX_OK (an UNKNOWN_DRUG
 * finding into out if the master is loaded and does not list handed);
 * RX_SUBSTITUTION_NOT_ALLOWED or RX_DIFFERENT_INGREDIENT with a sentence
 * naming the item (not the codes: it is logged) in why; RX_UNAVAILABLE on a
 * storage error, RX_SYSTEM if memory ran out. */
rx_err_t drugs_substitution(MDB_txn *txn, const drugs_dbs_t *d, uint32_t item, const char *prescribed,
			    unsigned marks, const char *handed, char *why, size_t whycap,
			    store_warning_t *out, size_t max, size_t *nout) RX_MUST_CHECK;

/* May items be on a refill prescription?  RX_OK; RX_NOT_REFILLABLE with a
 * sentence naming the first item the master marks no_refill in why;
 * RX_UNAVAILABLE on a storage error. */
rx_err_t drugs_refillable(MDB_txn *txn, const drugs_dbs_t *d, const store_item_t *items, size_t n,
			  char *why, size_t whycap) RX_MUST_CHECK;

/* store_drugs_load inside txn (audit entry excepted); see store.h. */
rx_err_t drugs_load(MDB_txn *txn, const drugs_dbs_t *d, const uint8_t load_id[16],
		    const rx_drug_row_t *rows, size_t n, int commit, uint64_t expected, int64_t now,
		    uint64_t *count, size_t *bad) RX_MUST_CHECK;

/* store_drugs_find and store_drugs_info inside txn. */
rx_err_t drugs_find(MDB_txn *txn, const drugs_dbs_t *d, const char *prefix, size_t max,
		    store_drug_t **out, size_t *n) RX_MUST_CHECK;
rx_err_t drugs_info(MDB_txn *txn, const drugs_dbs_t *d, uint64_t *count,
		    int64_t *loaded_at) RX_MUST_CHECK;

#endif
