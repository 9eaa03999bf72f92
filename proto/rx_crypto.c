/* rx_crypto: signing contexts, hashes, hex and key files (see rx_crypto.h). */
#include "rx_crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rx_wire.h"

static const char *const contexts[] = {
	[RX_SIGN_PRESCRIPTION] = "rx-exchange v2 prescription",
	[RX_SIGN_DISPENSE] = "rx-exchange v2 dispense",
	[RX_SIGN_CALL] = "rx-exchange v1 call",
	[RX_SIGN_RECEIPT] = "rx-exchange v1 receipt",
	[RX_SIGN_CARD] = "rx-exchange v1 card assertion",
	[RX_SIGN_AUDIT] = "rx-exchange v1 audit head",
	[RX_SIGN_NOTICE] = "rx-exchange v1 notice",
	[RX_SIGN_PRESCRIPTION_V1] = "rx-exchange v1 prescription",
	[RX_SIGN_DISPENSE_V1] = "rx-exchange v1 dispense",
};

rx_err_t rx_crypto_init(void)
{
	return sodium_init() < 0 ? RX_SYSTEM : RX_OK;
}

const char *rx_sign_context(rx_sign_ctx_t ctx)
{
	return contexts[ctx];
}

rx_sign_ctx_t rx_doc_context(rx_sign_ctx_t ctx, uint32_t version)
{
	if (version != 1)
		return ctx;
	return ctx == RX_SIGN_PRESCRIPTION ? RX_SIGN_PRESCRIPTION_V1
	       : ctx == RX_SIGN_DISPENSE   ? RX_SIGN_DISPENSE_V1
					   : ctx;
}

/* Build context || 0x00 || msg.  Small messages use the caller's buffer so
 * the common request needs no allocation. */
static uint8_t *framed(rx_sign_ctx_t ctx, const uint8_t *msg, size_t len, uint8_t *stack,
		       size_t stack_len, size_t *out_len)
{
	size_t clen = strlen(contexts[ctx]) + 1;
	uint8_t *buf = stack;
	if (len > SIZE_MAX - clen)
		return NULL;
	*out_len = clen + len;
	if (*out_len > stack_len && (buf = malloc(*out_len)) == NULL)
		return NULL;
	memcpy(buf, contexts[ctx], clen);
	if (len)
		memcpy(buf + clen, msg, len);
	return buf;
}

rx_err_t rx_sign(rx_sign_ctx_t ctx, const uint8_t sk[RX_SECRET_LEN], const uint8_t *msg,
		 size_t len, uint8_t sig[RX_SIG_LEN])
{
	uint8_t stack[4096];
	size_t n;
	uint8_t *buf = framed(ctx, msg, len, stack, sizeof stack, &n);
	if (buf == NULL)
		return RX_SYSTEM;
	crypto_sign_detached(sig, NULL, buf, n, sk);
	if (buf != stack)
		free(buf);
	return RX_OK;
}

rx_err_t rx_verify(rx_sign_ctx_t ctx, const uint8_t pk[RX_KEY_LEN], const uint8_t *msg,
		   size_t len, const uint8_t sig[RX_SIG_LEN])
{
	uint8_t stack[4096];
	size_t n;
	uint8_t *buf = framed(ctx, msg, len, stack, sizeof stack, &n);
	if (buf == NULL)
		return RX_SYSTEM;
	int rc = crypto_sign_verify_detached(sig, buf, n, pk);
	if (buf != stack)
		free(buf);
	return rc == 0 ? RX_OK : RX_BAD_SIGNATURE;
}

void rx_hash(const uint8_t *msg, size_t len, uint8_t out[RX_HASH_LEN])
{
	crypto_generichash(out, RX_HASH_LEN, msg, len, NULL, 0);
}

rx_err_t rx_hash_without_field(const uint8_t *msg, size_t len, uint32_t field,
			       uint8_t out[RX_HASH_LEN])
{
	crypto_generichash_state st;
	const uint8_t *p = msg, *end = msg + len;
	rx_wire_field_t f;
	crypto_generichash_init(&st, NULL, 0, RX_HASH_LEN);
	while (p < end) {
		const uint8_t *start = p;
		if (!rx_wire_next(&p, end, &f))
			return RX_INVALID;
		if (f.number != field)
			crypto_generichash_update(&st, start, (unsigned long long)(p - start));
	}
	crypto_generichash_final(&st, out, RX_HASH_LEN);
	return RX_OK;
}

void rx_hex(const uint8_t *in, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

rx_err_t rx_unhex(const char *in, uint8_t *out, size_t n)
{
	size_t got = 0;
	const char *end = NULL;
	if (in == NULL || strlen(in) != 2 * n)
		return RX_INVALID;
	if (sodium_hex2bin(out, n, in, 2 * n, NULL, &got, &end) != 0 || got != n || *end != '\0')
		return RX_INVALID;
	return RX_OK;
}

void rx_keypair_from_seed(const uint8_t seed[RX_SEED_LEN], rx_keypair_t *kp)
{
	crypto_sign_seed_keypair(kp->pk, kp->sk, seed);
}

/* fsync the directory holding path. */
static int sync_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= sizeof dir)
		return -1;
	if (slash == NULL)
		strcpy(dir, ".");
	else if (n == 0)
		strcpy(dir, "/");
	else {
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Write text to a new file of mode 0600, fsync'd with its directory.
 * RX_CONFLICT if path exists, RX_SYSTEM on I/O failure (errno kept). */
static rx_err_t write_secret(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? RX_CONFLICT : RX_SYSTEM;
	ssize_t w = write(fd, text, len);
	int ok = w == (ssize_t)len && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) != 0)
		ok = 0;
	if (!ok) {
		unlink(path);
		errno = saved;
		return RX_SYSTEM;
	}
	/* The new name must survive a crash too: a lost pseudonym key would
	 * change every patient id, a lost broker key every receipt's signer. */
	return sync_parent(path) == 0 ? RX_OK : RX_SYSTEM;
}

rx_err_t rx_key_create(const char *path, rx_keypair_t *kp)
{
	uint8_t seed[RX_SEED_LEN];
	char line[2 * RX_SEED_LEN + 2];
	randombytes_buf(seed, sizeof seed);
	rx_keypair_from_seed(seed, kp);
	rx_hex(seed, sizeof seed, line);
	line[2 * RX_SEED_LEN] = '\n';
	rx_err_t err = write_secret(path, line, 2 * RX_SEED_LEN + 1);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(line, sizeof line);
	return err;
}

/* Read a small secret file into buf (terminated, trailing white space
 * dropped).  RX_NOT_FOUND, RX_PERMISSION_DENIED if group or others may read
 * it, RX_INVALID if it holds a NUL, RX_SYSTEM on I/O failure. */
static rx_err_t read_secret(const char *path, char *buf, size_t cap)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? RX_NOT_FOUND : RX_SYSTEM;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return RX_SYSTEM;
	}
	/* A secret others can read is no longer a secret: refuse it, as ssh does. */
	if (st.st_mode & 077) {
		close(fd);
		return RX_PERMISSION_DENIED;
	}
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return RX_SYSTEM;
	buf[n] = '\0';
	if (strlen(buf) != (size_t)n) { /* an embedded NUL: not our file */
		sodium_memzero(buf, cap);
		return RX_INVALID;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return RX_OK;
}

rx_err_t rx_key_load(const char *path, rx_keypair_t *kp)
{
	char buf[256];
	uint8_t seed[RX_SEED_LEN];
	rx_err_t err = read_secret(path, buf, sizeof buf);
	if (err != RX_OK)
		return err;
	if (rx_unhex(buf, seed, sizeof seed) != RX_OK)
		err = RX_INVALID;
	else
		rx_keypair_from_seed(seed, kp);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(buf, sizeof buf);
	return err;
}

rx_err_t rx_key_write(const char *path, const rx_keypair_t *kp)
{
	char line[2 * RX_SEED_LEN + 2];
	/* libsodium's Ed25519 secret is the seed followed by the public key. */
	rx_hex(kp->sk, RX_SEED_LEN, line);
	line[2 * RX_SEED_LEN] = '\n';
	rx_err_t err = write_secret(path, line, 2 * RX_SEED_LEN + 1);
	sodium_memzero(line, sizeof line);
	return err;
}

void rx_key_check_value(const uint8_t secret[32], const char *name, uint8_t out[RX_KEY_CHECK_LEN])
{
	static const char label[] = "rx-exchange key check v1";
	crypto_generichash_state st;
	crypto_generichash_init(&st, secret, 32, RX_KEY_CHECK_LEN);
	crypto_generichash_update(&st, (const uint8_t *)label, sizeof label); /* with its NUL */
	crypto_generichash_update(&st, (const uint8_t *)name, strlen(name));
	crypto_generichash_final(&st, out, RX_KEY_CHECK_LEN);
	sodium_memzero(&st, sizeof st);
}

rx_err_t rx_pseudonym_key_default(const char *data, char *out, size_t cap)
{
	size_t n = strlen(data);
	while (n > 0 && data[n - 1] == '/')
		n--;
	if (n == 0)
		return RX_INVALID;
	int w = snprintf(out, cap, "%.*s-keys/pseudonym.key", (int)n, data);
	return w < 0 || (size_t)w >= cap ? RX_INVALID : RX_OK;
}

rx_err_t rx_key_load_or_create(const char *path, rx_keypair_t *kp)
{
	rx_err_t err = rx_key_load(path, kp);
	if (err != RX_NOT_FOUND)
		return err;
	err = rx_key_create(path, kp);
	/* Lost a race with another process creating it: read theirs. */
	return err == RX_CONFLICT ? rx_key_load(path, kp) : err;
}

/* ---- Z85 and curve key files ---- */

static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

void rx_z85_encode(const uint8_t in[32], char out[RX_Z85_LEN + 1])
{
	for (int i = 0, o = 0; i < 32; i += 4) {
		uint32_t v = (uint32_t)in[i] << 24 | (uint32_t)in[i + 1] << 16 | (uint32_t)in[i + 2] << 8 |
			     in[i + 3];
		for (int d = 4; d >= 0; d--, v /= 85)
			out[o + d] = z85[v % 85];
		o += 5;
	}
	out[RX_Z85_LEN] = '\0';
}

rx_err_t rx_z85_decode(const char *in, uint8_t out[32])
{
	if (in == NULL || strlen(in) != RX_Z85_LEN)
		return RX_INVALID;
	for (int i = 0, o = 0; i < RX_Z85_LEN; i += 5, o += 4) {
		uint64_t v = 0;
		for (int d = 0; d < 5; d++) {
			const char *p = in[i + d] ? strchr(z85, in[i + d]) : NULL;
			if (p == NULL)
				return RX_INVALID;
			v = v * 85 + (uint64_t)(p - z85);
		}
		if (v > 0xffffffffu)
			return RX_INVALID;
		out[o] = (uint8_t)(v >> 24);
		out[o + 1] = (uint8_t)(v >> 16);
		out[o + 2] = (uint8_t)(v >> 8);
		out[o + 3] = (uint8_t)v;
	}
	return RX_OK;
}

rx_err_t rx_curve_create(const char *path, rx_curve_t *kp)
{
	char pub[RX_Z85_LEN + 1], sec[RX_Z85_LEN + 1], text[128];
	randombytes_buf(kp->sk, sizeof kp->sk);
	crypto_scalarmult_base(kp->pk, kp->sk);
	rx_z85_encode(kp->pk, pub);
	rx_z85_encode(kp->sk, sec);
	int n = snprintf(text, sizeof text, "public = %s\nsecret = %s\n", pub, sec);
	rx_err_t err = write_secret(path, text, (size_t)n);
	sodium_memzero(sec, sizeof sec);
	sodium_memzero(text, sizeof text);
	return err;
}

rx_err_t rx_curve_load(const char *path, rx_curve_t *kp)
{
	char buf[256], pub[RX_Z85_LEN + 1], sec[RX_Z85_LEN + 1];
	uint8_t check[32];
	rx_err_t err = read_secret(path, buf, sizeof buf);
	if (err != RX_OK)
		return err;
	if (sscanf(buf, "public = %40s\nsecret = %40s", pub, sec) != 2 ||
	    rx_z85_decode(pub, kp->pk) != RX_OK || rx_z85_decode(sec, kp->sk) != RX_OK)
		err = RX_INVALID;
	else if (crypto_scalarmult_base(check, kp->sk) != 0 || memcmp(check, kp->pk, 32) != 0)
		err = RX_INVALID;
	sodium_memzero(buf, sizeof buf);
	sodium_memzero(sec, sizeof sec);
	return err;
}

rx_err_t rx_curve_load_or_create(const char *path, rx_curve_t *kp)
{
	rx_err_t err = rx_curve_load(path, kp);
	if (err != RX_NOT_FOUND)
		return err;
	err = rx_curve_create(path, kp);
	return err == RX_CONFLICT ? rx_curve_load(path, kp) : err;
}
