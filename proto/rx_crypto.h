/* rx_crypto: what is signed and how, hashes, hex, and key files.
 *
 * Every signature is Ed25519 (libsodium, detached) over a context string,
 * one zero byte, then the exact bytes as they travel.  The context keeps a
 * signature made for one purpose from being valid for another (a signed
 * prescription can never pass as a signed request).  See proto/README.md. */
#ifndef RX_CRYPTO_H
#define RX_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "rx_err.h"
#include "rx_types.h"

/* A context names the protocol version in which what it signs last changed
 * meaning: since v2 a prescription or dispense record also names the call it
 * travels with (its call_hash), and is the request's one signature. */
typedef enum {
	RX_SIGN_PRESCRIPTION,    /* "rx-exchange v2 prescription" */
	RX_SIGN_DISPENSE,        /* "rx-exchange v2 dispense" */
	RX_SIGN_CALL,            /* "rx-exchange v1 call" */
	RX_SIGN_RECEIPT,         /* "rx-exchange v1 receipt" */
	RX_SIGN_CARD,            /* "rx-exchange v1 card assertion" */
	RX_SIGN_AUDIT,           /* "rx-exchange v1 audit head" */
	RX_SIGN_NOTICE,          /* "rx-exchange v1 notice" */
	RX_SIGN_PRESCRIPTION_V1, /* "rx-exchange v1 prescription": stored before v2 */
	RX_SIGN_DISPENSE_V1      /* "rx-exchange v1 dispense": stored before v2 */
} rx_sign_ctx_t;

typedef struct {
	uint8_t pk[RX_KEY_LEN];
	uint8_t sk[RX_SECRET_LEN];
} rx_keypair_t;

/* sodium_init(); RX_SYSTEM if libsodium cannot start. Safe to call twice. */
rx_err_t rx_crypto_init(void) RX_MUST_CHECK;

/* The context string for ctx (static). */
const char *rx_sign_context(rx_sign_ctx_t ctx);
/* The context a stored document (ctx RX_SIGN_PRESCRIPTION or
 * RX_SIGN_DISPENSE) of this version was signed under: version 1 documents,
 * stored before protocol v2, under their v1 context; any other, ctx.  A
 * verifier reads the version from the body it is about to verify. */
rx_sign_ctx_t rx_doc_context(rx_sign_ctx_t ctx, uint32_t version);

/* Sign msg under ctx.  RX_SYSTEM only if memory runs out. */
rx_err_t rx_sign(rx_sign_ctx_t ctx, const uint8_t sk[RX_SECRET_LEN], const uint8_t *msg,
		 size_t len, uint8_t sig[RX_SIG_LEN]) RX_MUST_CHECK;
/* RX_OK only if sig is pk's signature of msg under ctx; else RX_BAD_SIGNATURE. */
rx_err_t rx_verify(rx_sign_ctx_t ctx, const uint8_t pk[RX_KEY_LEN], const uint8_t *msg,
		   size_t len, const uint8_t sig[RX_SIG_LEN]) RX_MUST_CHECK;

/* BLAKE2b-256 of msg. */
void rx_hash(const uint8_t *msg, size_t len, uint8_t out[RX_HASH_LEN]);
/* BLAKE2b-256 of a serialized protobuf message's bytes with every
 * occurrence of field number `field` left out (each other field's bytes as
 * they travel, in their order): what a document says apart from the call it
 * is bound to (its call_hash).  RX_INVALID if msg does not walk as protobuf. */
rx_err_t rx_hash_without_field(const uint8_t *msg, size_t len, uint32_t field,
			       uint8_t out[RX_HASH_LEN]) RX_MUST_CHECK;

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void rx_hex(const uint8_t *in, size_t n, char *out);
/* Decode exactly n bytes from a hex string of exactly 2n digits. */
rx_err_t rx_unhex(const char *in, uint8_t *out, size_t n) RX_MUST_CHECK;

/* Key files hold the 32-byte seed as 64 hex digits and a newline, mode 0600. */
void rx_keypair_from_seed(const uint8_t seed[RX_SEED_LEN], rx_keypair_t *kp);
/* Make a new key pair and write it to path, which must not exist.
 * RX_CONFLICT if it exists, RX_SYSTEM on any other I/O failure (errno kept). */
rx_err_t rx_key_create(const char *path, rx_keypair_t *kp) RX_MUST_CHECK;
/* Read a key file.  RX_NOT_FOUND if absent, RX_PERMISSION_DENIED if group or
 * others may read it, RX_INVALID if malformed, RX_SYSTEM on I/O failure. */
rx_err_t rx_key_load(const char *path, rx_keypair_t *kp) RX_MUST_CHECK;
/* Load path, or create it if absent (rxd's own keys in the data dir). */
rx_err_t rx_key_load_or_create(const char *path, rx_keypair_t *kp) RX_MUST_CHECK;
/* Write kp's seed to path, which must not exist (moving a key file without
 * ever leaving a half-written one): as rx_key_create. */
rx_err_t rx_key_write(const char *path, const rx_keypair_t *kp) RX_MUST_CHECK;

/* A key's check value: BLAKE2b-256 keyed with the 32-byte secret over
 * "rx-exchange key check v1", a zero byte and name.  It tells whether a key
 * file is the one a store was written with, and reveals nothing of the key
 * (a keyed hash of a fixed label); name separates the keys' values. */
#define RX_KEY_CHECK_LEN 32
void rx_key_check_value(const uint8_t secret[32], const char *name, uint8_t out[RX_KEY_CHECK_LEN]);

/* The pseudonym key's default path for data dir data: a sibling directory,
 * "DATA-keys/pseudonym.key" (trailing slashes of data dropped), so that the
 * key never travels with a copy of the data dir.  RX_INVALID if data has no
 * parent to be a sibling in ("/") or out (cap bytes) is too small. */
rx_err_t rx_pseudonym_key_default(const char *data, char *out, size_t cap) RX_MUST_CHECK;

/* ---- CurveZMQ transport keys ----
 * Curve25519 key pairs as CurveZMQ uses them: 32-byte keys, shown in Z85
 * (40 characters).  A curve key file holds two lines, "public = Z85" and
 * "secret = Z85", mode 0600. */
#define RX_Z85_LEN 40

typedef struct {
	uint8_t pk[32];
	uint8_t sk[32];
} rx_curve_t;

/* Z85 (ZeroMQ RFC 32) of 32 bytes into out (41 bytes). */
void rx_z85_encode(const uint8_t in[32], char out[RX_Z85_LEN + 1]);
/* Decode exactly 40 Z85 characters; RX_INVALID otherwise. */
rx_err_t rx_z85_decode(const char *in, uint8_t out[32]) RX_MUST_CHECK;

/* Make a curve key pair and write it to path (must not exist): as rx_key_create. */
rx_err_t rx_curve_create(const char *path, rx_curve_t *kp) RX_MUST_CHECK;
/* Read a curve key file: as rx_key_load (also RX_INVALID if the public key
 * is not the secret's). */
rx_err_t rx_curve_load(const char *path, rx_curve_t *kp) RX_MUST_CHECK;
rx_err_t rx_curve_load_or_create(const char *path, rx_curve_t *kp) RX_MUST_CHECK;

#endif
