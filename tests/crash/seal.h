/* seal: the store's sealed values, as proto/README section 7 specifies
 * them, for the checker and the tamper test (which read and write the LMDB
 * files directly, without a store_t).
 *
 * A sealed value is one version byte (1), a random 24-byte nonce, then the
 * XChaCha20-Poly1305 ciphertext of the protobuf record with its tag; the
 * additional data is a database name, a zero byte, then the value's LMDB
 * key, so a value copied under another key does not open.  Dispense rows
 * are sealed under the name "dispenses" wherever they are kept (in "rx"
 * beside their prescription, store format 3 on).  The key is the 32-byte
 * seed in DATA/data.key. */
#ifndef CRASH_SEAL_H
#define CRASH_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_LEN 32

/* The data key of the store in dir (DATA/data.key) into key.  0 on success,
 * -1 if the file cannot be read. */
int seal_key_load(const char *dir, uint8_t key[SEAL_KEY_LEN]) __attribute__((warn_unused_result));

/* Open the value v (vlen bytes) stored under k (klen bytes) of a database
 * sealed as dbname.  On 0, *plain is a heap buffer of *plen bytes the caller
 * frees; -1 if it does not open (wrong key, moved, altered). */
int seal_open(const uint8_t key[SEAL_KEY_LEN], const char *dbname, const void *k, size_t klen, const void *v,
	      size_t vlen, uint8_t **plain, size_t *plen) __attribute__((warn_unused_result));

/* Seal plain (plen bytes) for key k of dbname, with a fresh nonce.  On 0,
 * *out is a heap buffer of *olen bytes the caller frees. */
int seal_close(const uint8_t key[SEAL_KEY_LEN], const char *dbname, const void *k, size_t klen,
	       const uint8_t *plain, size_t plen, uint8_t **out, size_t *olen) __attribute__((warn_unused_result));

#endif
