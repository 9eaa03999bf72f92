/* rx_ids: check digits and identifier formats (see rx_ids.h). */
#include "rx_ids.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

/* Crockford's base32: no I, L, O or U, so ids are not misread aloud. */
static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int rx_mynumber_check_digit(const char *d)
{
	int sum = 0;
	/* Read left to right, so a short string stops at its NUL. */
	for (int i = 0; i < 11; i++) {
		if (d[i] < '0' || d[i] > '9')
			return -1;
		int n = 11 - i; /* position counted from the right */
		int q = n <= 6 ? n + 1 : n - 5;
		sum += (d[i] - '0') * q;
	}
	int r = sum % 11;
	return r <= 1 ? 0 : 11 - r;
}

rx_err_t rx_mynumber_valid(const char *s)
{
	if (s == NULL || strlen(s) != 12)
		return RX_INVALID;
	for (int i = 0; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return RX_INVALID;
	return rx_mynumber_check_digit(s) == s[11] - '0' ? RX_OK : RX_INVALID;
}

static int value37(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return -1;
}

char rx_check37(const char *s, size_t n)
{
	static const char sym[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+";
	int p = 0;
	for (size_t i = 0; i < n; i++) {
		int v = value37(s[i]);
		if (v < 0)
			return 0;
		p = ((p + v) * 2) % 37;
	}
	return sym[(38 - p) % 37];
}

/* Copy in to out upper-cased, dropping dashes and spaces; 0 if the result
 * would not be exactly want characters. */
static int squeeze(const char *in, char *out, size_t want)
{
	size_t n = 0;
	if (in == NULL)
		return 0;
	for (; *in; in++) {
		if (*in == '-' || *in == ' ')
			continue;
		if (n == want)
			return 0;
		out[n++] = (char)toupper((unsigned char)*in);
	}
	out[n] = '\0';
	return n == want;
}

static int all_b32(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(b32, s[i]) == NULL)
			return 0;
	return 1;
}

/* raw's n characters in groups of four joined by '-', NUL-terminated. */
static void group4(const char *raw, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && i % 4 == 0)
			out[o++] = '-';
		out[o++] = raw[i];
	}
	out[o] = '\0';
}

/* n random base-32 characters into raw, then their check character. */
static void random_b32(char *raw, size_t n)
{
	uint8_t rnd[16];
	randombytes_buf(rnd, n);
	for (size_t i = 0; i < n; i++)
		raw[i] = b32[rnd[i] & 31];
	raw[n] = rx_check37(raw, n);
	sodium_memzero(rnd, sizeof rnd);
}

void rx_rxid_new(char out[RX_ID_LEN + 1])
{
	char raw[12];
	random_b32(raw, 11);
	group4(raw, 12, out);
}

void rx_rxid_from_value(uint64_t v, char out[RX_ID_LEN + 1])
{
	char raw[12];
	for (int i = 10; i >= 0; i--, v >>= 5)
		raw[i] = b32[v & 31];
	raw[11] = rx_check37(raw, 11);
	group4(raw, 12, out);
}

uint64_t rx_rxid_value(const char id[RX_ID_LEN + 1])
{
	uint64_t v = 0;
	for (size_t i = 0; id[i]; i++) {
		const char *at = id[i] == '-' ? NULL : strchr(b32, id[i]);
		if (at && i < RX_ID_LEN - 1) /* the last is the check character */
			v = (v << 5) | (uint64_t)(at - b32);
	}
	return v;
}

#define HALF_BITS 28
#define HALF_MASK ((1u << HALF_BITS) - 1)

/* Round i's function of one half: SipHash-2-4 of (i, half), 28 bits. */
static uint32_t round_f(const uint8_t key[RX_ID_PERM_KEY_LEN], unsigned i, uint32_t half)
{
	uint8_t in[5] = {(uint8_t)i, (uint8_t)(half >> 24), (uint8_t)(half >> 16),
			 (uint8_t)(half >> 8), (uint8_t)half};
	uint8_t out[crypto_shorthash_siphash24_BYTES];
	crypto_shorthash_siphash24(out, in, sizeof in, key);
	return ((uint32_t)out[0] << 24 | (uint32_t)out[1] << 16 | (uint32_t)out[2] << 8 | out[3]) &
	       HALF_MASK;
}

static uint64_t feistel(const uint8_t key[RX_ID_PERM_KEY_LEN], uint64_t x, int inverse)
{
	uint32_t l = (uint32_t)(x >> HALF_BITS) & HALF_MASK, r = (uint32_t)x & HALF_MASK;
	for (unsigned n = 0; n < RX_ID_ROUNDS; n++) {
		if (!inverse) { /* (l, r) -> (r, l ^ F(r)) */
			uint32_t t = l ^ round_f(key, n, r);
			l = r;
			r = t;
		} else { /* undo round ROUNDS-1-n: (l, r) -> (r ^ F(l), l) */
			uint32_t t = r ^ round_f(key, RX_ID_ROUNDS - 1 - n, l);
			r = l;
			l = t;
		}
	}
	return (uint64_t)l << HALF_BITS | r;
}

/* The network permutes 2^56 values; walking the cycle of x until it comes
 * back below 2^55 permutes the 2^55 (about two steps on average). */
static uint64_t walk(const uint8_t key[RX_ID_PERM_KEY_LEN], uint64_t x, int inverse)
{
	do
		x = feistel(key, x, inverse);
	while (x >> RX_ID_VALUE_BITS);
	return x;
}

uint64_t rx_id_permute(const uint8_t key[RX_ID_PERM_KEY_LEN], uint64_t x)
{
	return walk(key, x, 0);
}

uint64_t rx_id_unpermute(const uint8_t key[RX_ID_PERM_KEY_LEN], uint64_t x)
{
	return walk(key, x, 1);
}

void rx_id_perm_key(const uint8_t data_key[32], uint8_t out[RX_ID_PERM_KEY_LEN])
{
	static const char label[] = "rx-exchange id permutation v1";
	crypto_generichash(out, RX_ID_PERM_KEY_LEN, (const uint8_t *)label, sizeof label - 1,
			   data_key, 32);
}

void rx_rxid_of_seq(const uint8_t key[RX_ID_PERM_KEY_LEN], uint64_t seq, char out[RX_ID_LEN + 1])
{
	rx_rxid_from_value(rx_id_permute(key, seq), out);
}

rx_err_t rx_rxid_parse(const char *in, char out[RX_ID_LEN + 1])
{
	char raw[13];
	if (!squeeze(in, raw, 12) || !all_b32(raw, 11) || rx_check37(raw, 11) != raw[11])
		return RX_INVALID;
	group4(raw, 12, out);
	return RX_OK;
}

void rx_access_code_new(char out[RX_ACCESS_CODE_LEN + 1])
{
	char raw[11];
	random_b32(raw, 10);
	group4(raw, 11, out);
	sodium_memzero(raw, sizeof raw);
}

rx_err_t rx_access_code_parse(const char *in, char out[RX_ACCESS_CODE_LEN + 1])
{
	char raw[12];
	if (!squeeze(in, raw, 11) || !all_b32(raw, 10) || rx_check37(raw, 10) != raw[10])
		return RX_INVALID;
	group4(raw, 11, out);
	return RX_OK;
}

rx_err_t rx_patient_id_derive(const uint8_t key[32], const char *mynumber,
			      char out[RX_PATIENT_ID_LEN + 1])
{
	static const char domain[] = "rx-exchange patient v1:";
	uint8_t msg[sizeof domain - 1 + 12];
	uint8_t h[10];

	if (rx_mynumber_valid(mynumber) != RX_OK)
		return RX_INVALID;
	memcpy(msg, domain, sizeof domain - 1);
	memcpy(msg + sizeof domain - 1, mynumber, 12);
	crypto_generichash(h, sizeof h, msg, sizeof msg, key, 32);
	sodium_memzero(msg, sizeof msg);

	/* 80 bits: a national population of 1.3e8 collides with odds ~1e-8. */
	out[0] = 'P';
	for (int i = 0; i < 16; i++) {
		int bit = i * 5, v = 0;
		for (int b = 0; b < 5; b++, bit++)
			v = (v << 1) | ((h[bit / 8] >> (7 - bit % 8)) & 1);
		out[1 + i] = b32[v];
	}
	out[17] = rx_check37(out + 1, 16);
	out[18] = '\0';
	return RX_OK;
}

rx_err_t rx_patient_id_parse(const char *in, char out[RX_PATIENT_ID_LEN + 1])
{
	if (!squeeze(in, out, RX_PATIENT_ID_LEN) || out[0] != 'P' || !all_b32(out + 1, 16) ||
	    rx_check37(out + 1, 16) != out[17])
		return RX_INVALID;
	return RX_OK;
}

/* Digit value of a code character for the check digit: A-I 1-9, J-R 1-9,
 * S-Z 2-9 (the low digit of the letter's EBCDIC code; see data/README.md). */
static int drug_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'I')
		return c - 'A' + 1;
	if (c >= 'J' && c <= 'R')
		return c - 'J' + 1;
	if (c >= 'S' && c <= 'Z')
		return c - 'S' + 2;
	return -1;
}

rx_err_t rx_drug_code_valid(const char *code)
{
	static const int w[11] = {6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
	int sum = 0;
	if (code == NULL || strlen(code) != 12)
		return RX_INVALID;
	for (int i = 0; i < 11; i++) {
		int v = drug_value(code[i]);
		/* Positions 1-7 and 9-11 are digits; 8 is the dosage-form letter. */
		if (v < 0 || ((i == 7) != (code[i] >= 'A' && code[i] <= 'Z')))
			return RX_INVALID;
		sum += v * w[i];
	}
	int check = (11 - sum % 11) % 11 % 10;
	return code[11] == '0' + check ? RX_OK : RX_INVALID;
}

rx_err_t rx_institution_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > RX_INSTITUTION_MAX)
		return RX_INVALID;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return RX_INVALID;
	return RX_OK;
}

void rx_access_code_key(const uint8_t data_key[32], uint8_t out[32])
{
	static const char label[] = "rx-exchange access code key v1";
	crypto_generichash(out, 32, (const uint8_t *)label, sizeof label - 1, data_key, 32);
}

void rx_access_code_hash(const uint8_t code_key[32], const char *id, const char *code,
			 uint8_t out[RX_HASH_LEN])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, code_key, 32, RX_HASH_LEN);
	crypto_generichash_update(&st, (const uint8_t *)id, RX_ID_LEN);
	crypto_generichash_update(&st, (const uint8_t *)code, strlen(code));
	crypto_generichash_final(&st, out, RX_HASH_LEN);
}
