/* seal: sealed values of the store (see seal.h). */
#include "seal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rx_crypto.h"

#define SEAL_VERSION 1
#define SEAL_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEAL_AD_MAX 600

int seal_key_load(const char *dir, uint8_t key[SEAL_KEY_LEN])
{
	char path[600];
	rx_keypair_t data;
	snprintf(path, sizeof path, "%s/data.key", dir);
	if (rx_key_load(path, &data) != RX_OK)
		return -1;
	/* The file holds the seed; the seed is the data key (proto/README 7). */
	memcpy(key, data.sk, SEAL_KEY_LEN);
	sodium_memzero(&data, sizeof data);
	return 0;
}

/* The additional data: dbname, a zero byte, the key; 0 if it is too long. */
static size_t additional(uint8_t ad[SEAL_AD_MAX], const char *dbname, const void *k, size_t klen)
{
	size_t n = strlen(dbname) + 1;
	if (n + klen > SEAL_AD_MAX)
		return 0;
	memcpy(ad, dbname, n);
	memcpy(ad + n, k, klen);
	return n + klen;
}

int seal_open(const uint8_t key[SEAL_KEY_LEN], const char *dbname, const void *k, size_t klen, const void *v,
	      size_t vlen, uint8_t **plain, size_t *plen)
{
	uint8_t ad[SEAL_AD_MAX];
	const uint8_t *in = v;
	size_t adlen = additional(ad, dbname, k, klen);
	unsigned long long n;
	*plain = NULL;
	*plen = 0;
	if (adlen == 0 || vlen < 1 + SEAL_NONCE + SEAL_TAG || in[0] != SEAL_VERSION)
		return -1;
	size_t clen = vlen - 1 - SEAL_NONCE;
	uint8_t *p = malloc(clen);
	if (p == NULL)
		return -1;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(p, &n, NULL, in + 1 + SEAL_NONCE, clen, ad, adlen, in + 1,
						       key) != 0) {
		free(p);
		return -1;
	}
	*plain = p;
	*plen = (size_t)n;
	return 0;
}

int seal_close(const uint8_t key[SEAL_KEY_LEN], const char *dbname, const void *k, size_t klen,
	       const uint8_t *plain, size_t plen, uint8_t **out, size_t *olen)
{
	uint8_t ad[SEAL_AD_MAX];
	size_t adlen = additional(ad, dbname, k, klen);
	*out = NULL;
	*olen = 0;
	uint8_t *o = adlen ? malloc(1 + SEAL_NONCE + plen + SEAL_TAG) : NULL;
	if (o == NULL)
		return -1;
	o[0] = SEAL_VERSION;
	randombytes_buf(o + 1, SEAL_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(o + 1 + SEAL_NONCE, NULL, plain, plen, ad, adlen, NULL, o + 1,
						   key);
	*out = o;
	*olen = 1 + SEAL_NONCE + plen + SEAL_TAG;
	return 0;
}
