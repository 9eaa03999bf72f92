/* keys: rxd's key files, and the rule that a key is never silently replaced.
 *
 * In the data dir: broker.key (signs receipts, notices, the audit head),
 * data.key (seals records at rest), broker.curve (the CurveZMQ server key
 * every client pins).  Outside it: the pseudonym key (patient ids are
 * derived with it; only `rxctl patient enroll` uses it), so that neither a
 * backup nor a copy of the data dir carries what re-identifies patients.
 *
 * A fresh data dir (no data.mdb) gets new keys.  Once data.mdb exists a key
 * file that is missing, or that does not match the check value the store
 * keeps of it, stops rxd: every function here that refuses writes the
 * whole message for the operator (which file, why, how to restore it) into
 * the caller's why buffer.  No message holds key bytes. */
#ifndef KEYS_H
#define KEYS_H

#include <stddef.h>

#include "rx_crypto.h"
#include "store.h"

#define KEYS_COUNT 4

typedef struct {
	rx_keypair_t broker;    /* broker.key */
	rx_keypair_t data;      /* data.key: its seed is the store's data key */
	rx_keypair_t pseudonym; /* loaded to be checked against the store, then wiped */
	rx_curve_t curve;       /* broker.curve */
	const char *replaced;   /* the key made by keys_load's replace, or NULL */
} keys_t;

/* Make sure the pseudonym key's directory exists (created mode 0700),
 * is private (refused if group or others may enter it) and lies outside
 * data_dir; then move a pseudonym.key left in data_dir by an rxd from
 * before this rule to path (written and fsync'd first, then the old one
 * removed), or remove it if path already holds the same key.
 *   RX_OK                 ready; *note is "" or says what was moved (log it)
 *   RX_PERMISSION_DENIED  the directory or a key file is open to others
 *   RX_INVALID            path is inside data_dir
 *   RX_CONFLICT           both files exist and hold different keys
 *   RX_SYSTEM             I/O failure
 * note and why are the caller's, always terminated. */
rx_err_t keys_place_pseudonym(const char *data_dir, const char *path, char *note, size_t notelen,
			      char *why, size_t whylen) RX_MUST_CHECK;

/* Load the four keys into *k (the caller's; wipe with keys_wipe), creating
 * those missing only if have_store is 0, or the one named replace (NULL for
 * none; see keys_replaceable) whose file is lost: the operator's deliberate
 * choice, k->replaced then names it.
 *   RX_NOT_FOUND  have_store and a key file is missing: refuse to start
 *   RX_CONFLICT   replace names a key whose file is there
 *   RX_PERMISSION_DENIED, RX_INVALID (not a key file), RX_SYSTEM
 * On failure *k holds nothing secret. */
rx_err_t keys_load(const char *data_dir, const char *pseudonym_path, int have_store,
		   const char *replace, keys_t *k, char *why, size_t whylen) RX_MUST_CHECK;

/* May a lost key file be replaced by a new key (rxd --replace-lost-key)?
 * pseudonym.key (new enrolments get ids that do not match earlier ones)
 * and broker.curve (clients need the new broker.curve.pub) may; data.key and
 * broker.key may not: what they sealed and signed would be lost with them.
 * 1 if it may; else 0, with the reason in why. */
int keys_replaceable(const char *name, char *why, size_t whylen);

/* The check values of k's four keys, named by their files, for
 * store_key_checks: the two secret keys by rx_key_check_value, the two
 * whose public half is public anyway (broker.key, broker.curve) by it;
 * k->replaced's marked to replace the store's. */
void keys_checks(const keys_t *k, store_key_check_t out[KEYS_COUNT]);

/* The key files a backup holds beside its data.mdb (rxctl backup; see
 * admin.c): data.key, broker.key and broker.curve, never the pseudonym key.
 * keys_load_copy reads them from dir (creating none) into *k (the caller's;
 * wipe with keys_wipe; k->pseudonym stays zero) and their check values into
 * out, in that order, for store_key_checks on the copy.
 *   RX_NOT_FOUND, RX_PERMISSION_DENIED, RX_INVALID, RX_SYSTEM: why names the
 *   file and what its absence costs a restore
 * On failure *k holds nothing secret. */
#define KEYS_COPY_COUNT 3
rx_err_t keys_load_copy(const char *dir, keys_t *k, store_key_check_t out[KEYS_COPY_COUNT], char *why,
			size_t whylen) RX_MUST_CHECK;

/* The message for a key whose check value does not match the store. */
void keys_mismatch(const char *data_dir, const char *pseudonym_path, const char *name, char *why,
		   size_t whylen);

void keys_wipe(keys_t *k);

#endif
