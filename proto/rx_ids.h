/* rx_ids: the identifiers people read, type and check.
 *
 *  - My Number: 12 digits, the last a check digit (the national formula).
 *  - Prescription id: "XXXX-XXXX-XXXC", 11 random base32 characters and an
 *    ISO 7064 MOD 37-2 check character ('+' stands for 36, as in the NHS's
 *    prescription ids, so the id never holds a shell glob character).
 *  - Patient id: "P" + 16 base32 characters + MOD 37-2 check: a keyed BLAKE2b
 *    pseudonym of the My Number; the number itself cannot be recovered.
 *  - Drug code: the 12-character NHI price list code and its check digit.
 *  - Access code: "XXXX-XXXX-XXC", 10 random base32 characters (50 bits) and
 *    a MOD 37-2 check character, printed on the slip of a patient without a
 *    card and read aloud at the pharmacy.
 *
 * Functions that check return RX_OK or RX_INVALID and never allocate. */
#ifndef RX_IDS_H
#define RX_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "rx_err.h"
#include "rx_types.h"

/* Check digit for the first 11 digits of a My Number; -1 if not digits. */
int rx_mynumber_check_digit(const char *digits11);
/* RX_OK if s is exactly 12 ASCII digits with a correct check digit. */
rx_err_t rx_mynumber_valid(const char *s) RX_MUST_CHECK;

/* The MOD 37-2 check character for n characters of 0-9A-Z; 0 if any other. */
char rx_check37(const char *s, size_t n);

/* Make a new prescription id from fresh randomness into out (RX_ID_LEN+1). */
void rx_rxid_new(char out[RX_ID_LEN + 1]);
/* The id whose 11 data characters spell v (< 2^55, five bits a character,
 * most significant first), with its check character; and back: the value
 * of a canonical id (as rx_rxid_parse makes).  The broker picks v as a
 * keyed permutation of its record's sequence number (store/rxkey.c). */
#define RX_ID_VALUE_BITS 55
void rx_rxid_from_value(uint64_t v, char out[RX_ID_LEN + 1]);
uint64_t rx_rxid_value(const char id[RX_ID_LEN + 1]);

/* A keyed permutation of the 2^55 id values: a record's sequence number in,
 * the value its id spells out (and back).  Without the key, the ids of
 * consecutive records look like independent random values, so an id is as
 * hard to guess as a random one; with it, the broker files records in the
 * order they were made.  A Feistel network of RX_ID_ROUNDS rounds over 56
 * bits (two 28-bit halves, SipHash-2-4 keyed with key as the round
 * function), cycle-walked: a result of 2^55 or more is permuted again until
 * it is below (NIST SP 800-38G's FF1 is the same construction with AES).
 * x must be below 2^55. */
#define RX_ID_PERM_KEY_LEN 16
#define RX_ID_ROUNDS 10
uint64_t rx_id_permute(const uint8_t key[RX_ID_PERM_KEY_LEN], uint64_t x);
uint64_t rx_id_unpermute(const uint8_t key[RX_ID_PERM_KEY_LEN], uint64_t x);
/* The permutation's key, derived from the data dir's 32-byte data key (a
 * keyed BLAKE2b of a label, as rx_access_code_key): ids stay the same on a
 * copy of the data dir, and nothing without the data key can number them. */
void rx_id_perm_key(const uint8_t data_key[32], uint8_t out[RX_ID_PERM_KEY_LEN]);
/* The id of the record with sequence number seq (< 2^55). */
void rx_rxid_of_seq(const uint8_t key[RX_ID_PERM_KEY_LEN], uint64_t seq, char out[RX_ID_LEN + 1]);
/* Canonicalize what a person typed (any case, dashes or spaces anywhere)
 * into out; RX_INVALID on a wrong length, character or check character. */
rx_err_t rx_rxid_parse(const char *in, char out[RX_ID_LEN + 1]) RX_MUST_CHECK;

/* Derive the patient id for a valid My Number with the data dir's 32-byte
 * pseudonym key.  RX_INVALID if the number is not valid. */
rx_err_t rx_patient_id_derive(const uint8_t key[32], const char *mynumber,
			      char out[RX_PATIENT_ID_LEN + 1]) RX_MUST_CHECK;
/* Canonicalize and check a typed patient id (as rx_rxid_parse). */
rx_err_t rx_patient_id_parse(const char *in, char out[RX_PATIENT_ID_LEN + 1]) RX_MUST_CHECK;

#define RX_ACCESS_CODE_LEN 13
/* A new access code from fresh randomness. */
void rx_access_code_new(char out[RX_ACCESS_CODE_LEN + 1]);
/* Canonicalize a typed access code (as rx_rxid_parse); RX_INVALID if it is
 * not one (wrong length, character or check character). */
rx_err_t rx_access_code_parse(const char *in, char out[RX_ACCESS_CODE_LEN + 1]) RX_MUST_CHECK;
/* The key of the access-code hashes, from the 32-byte data key (the seed in
 * DATA/data.key): BLAKE2b-256 of "rx-exchange access code key v1" (30
 * bytes) keyed with the data key.  The store derives it once at open. */
void rx_access_code_key(const uint8_t data_key[32], uint8_t out[32]);
/* What the store keeps of a prescription's access code: BLAKE2b-256 of the
 * canonical id (RX_ID_LEN bytes) then the canonical code (its strlen)
 * keyed with code_key (rx_access_code_key).  See proto/README.md 4.7. */
void rx_access_code_hash(const uint8_t code_key[32], const char *id, const char *code,
			 uint8_t out[RX_HASH_LEN]);

/* RX_OK if code is a 12-character NHI drug code with a correct check digit. */
rx_err_t rx_drug_code_valid(const char *code) RX_MUST_CHECK;

/* RX_OK if s is 1..RX_INSTITUTION_MAX characters of [0-9A-Za-z-]. */
rx_err_t rx_institution_valid(const char *s) RX_MUST_CHECK;

#endif
