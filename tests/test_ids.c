/* test_ids: My Number, prescription ids, patient ids, drug codes and
 * institution codes (proto/rx_ids.c).  Reference values here are computed
 * independently of the code under test wherever that is possible. */
#include <check.h>
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "rx_crypto.h"
#include "rx_ids.h"
#include "testutil.h"

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/* Every character a person could type in place of another. */
static const char typed[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+";

/* ---- My Number ---- */

/* The statutory formula, written out from its definition rather than from
 * rx_ids.c: P_n is the n-th digit counting leftwards from the check digit,
 * Q_n = n + 1 for n <= 6 and n - 5 for n >= 7; r = sum(P_n Q_n) mod 11;
 * the check digit is 0 if r <= 1, else 11 - r. */
static int ref_mynumber_check(const char *d)
{
	int sum = 0;
	for (int i = 0; i < 11; i++) {
		int n = 11 - i;
		int q = n <= 6 ? n + 1 : n - 5;
		sum += (d[i] - '0') * q;
	}
	int r = sum % 11;
	return r <= 1 ? 0 : 11 - r;
}

START_TEST(mynumber_known_values)
{
	ck_assert_int_eq(rx_mynumber_valid("123456789018"), RX_OK);
	ck_assert_int_eq(rx_mynumber_valid("123456789011"), RX_INVALID);
	ck_assert_int_eq(rx_mynumber_check_digit("12345678901"), 8);
	ck_assert_int_eq(ref_mynumber_check("12345678901"), 8);
}
END_TEST

START_TEST(mynumber_wrong_length)
{
	ck_assert_int_eq(rx_mynumber_valid(NULL), RX_INVALID);
	ck_assert_int_eq(rx_mynumber_valid(""), RX_INVALID);
	ck_assert_int_eq(rx_mynumber_valid("12345678901"), RX_INVALID);
	ck_assert_int_eq(rx_mynumber_valid("1234567890180"), RX_INVALID);
	ck_assert_int_eq(rx_mynumber_valid("0123456789018"), RX_INVALID);
	/* The same digits with the separators people write. */
	ck_assert_int_eq(rx_mynumber_valid("1234 5678 9018"), RX_INVALID);
	ck_assert_int_eq(rx_mynumber_valid("1234-5678-9018"), RX_INVALID);
}
END_TEST

START_TEST(mynumber_non_digits)
{
	static const char *const bad[] = {
		"12345678901a", "a23456789018", "1234567890 8", "12345678901\n",
		"+23456789018", "-23456789018", "12345678901/", "12345678901:",
		"１23456789018", /* full-width 1: also a wrong byte length */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(rx_mynumber_valid(bad[i]) == RX_INVALID, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(rx_mynumber_check_digit("1234567890a"), -1);
	ck_assert_int_eq(rx_mynumber_check_digit("a2345678901"), -1);
	/* A short string stops at its NUL instead of being read past it. */
	ck_assert_int_eq(rx_mynumber_check_digit("1234"), -1);
	ck_assert_int_eq(rx_mynumber_check_digit(""), -1);
}
END_TEST

START_TEST(mynumber_every_wrong_last_digit)
{
	char s[13] = "123456789018";
	for (char d = '0'; d <= '9'; d++) {
		s[11] = d;
		ck_assert_msg(rx_mynumber_valid(s) == (d == '8' ? RX_OK : RX_INVALID), "%s", s);
	}
}
END_TEST

/* Random numbers: the code agrees with the reference formula, and every
 * wrong check digit is refused. */
START_TEST(mynumber_random_against_reference)
{
	char s[13];
	for (int n = 0; n < 5000; n++) {
		for (int i = 0; i < 11; i++)
			s[i] = (char)('0' + randombytes_uniform(10));
		s[12] = '\0';
		int ref = ref_mynumber_check(s);
		ck_assert_int_eq(rx_mynumber_check_digit(s), ref);
		for (int d = 0; d <= 9; d++) {
			s[11] = (char)('0' + d);
			ck_assert_msg(rx_mynumber_valid(s) == (d == ref ? RX_OK : RX_INVALID), "%s", s);
		}
	}
}
END_TEST

/* ---- prescription ids ---- */

START_TEST(check37_iso_example)
{
	/* The worked example of ISO 7064 MOD 37-2: G123498654321 -> H. */
	ck_assert_int_eq(rx_check37("G123498654321", 13), 'H');
	ck_assert_int_eq(rx_check37("G12349865432a", 13), 0);
	ck_assert_int_eq(rx_check37("G1234-8654321", 13), 0);
}
END_TEST

static void raw_of(const char id[RX_ID_LEN + 1], char raw[13])
{
	size_t n = 0;
	for (const char *p = id; *p; p++)
		if (*p != '-')
			raw[n++] = *p;
	ck_assert_uint_eq(n, 12);
	raw[12] = '\0';
}

START_TEST(rxid_new_parses_back)
{
	char id[RX_ID_LEN + 1], out[RX_ID_LEN + 1];
	for (int n = 0; n < 2000; n++) {
		rx_rxid_new(id);
		ck_assert_uint_eq(strlen(id), RX_ID_LEN);
		ck_assert_int_eq(id[4], '-');
		ck_assert_int_eq(id[9], '-');
		for (int i = 0; i < RX_ID_LEN - 1; i++)
			if (i != 4 && i != 9)
				ck_assert_msg(strchr(b32, id[i]) != NULL, "%s", id);
		ck_assert_msg(strchr(typed, id[RX_ID_LEN - 1]) != NULL, "%s", id);
		memset(out, 'x', sizeof out);
		ck_assert_int_eq(rx_rxid_parse(id, out), RX_OK);
		ck_assert_str_eq(out, id);
	}
}
END_TEST

START_TEST(rxid_new_is_random)
{
	enum { N = 512 };
	static char ids[N][RX_ID_LEN + 1];
	for (int i = 0; i < N; i++) {
		rx_rxid_new(ids[i]);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(ids[i], ids[j]);
	}
}
END_TEST

START_TEST(rxid_canonicalizes)
{
	char id[RX_ID_LEN + 1], raw[13], typed_in[64], out[RX_ID_LEN + 1];
	for (int n = 0; n < 200; n++) {
		rx_rxid_new(id);
		raw_of(id, raw);

		/* lower case, no dashes */
		for (int i = 0; i < 12; i++)
			typed_in[i] = (char)tolower((unsigned char)raw[i]);
		typed_in[12] = '\0';
		ck_assert_int_eq(rx_rxid_parse(typed_in, out), RX_OK);
		ck_assert_str_eq(out, id);

		/* spaces instead of dashes, and a stray dash */
		snprintf(typed_in, sizeof typed_in, "%.4s %.4s -%.4s", raw, raw + 4, raw + 8);
		ck_assert_int_eq(rx_rxid_parse(typed_in, out), RX_OK);
		ck_assert_str_eq(out, id);
	}
}
END_TEST

START_TEST(rxid_refuses_malformed)
{
	char out[RX_ID_LEN + 1], raw[16], in[32];

	ck_assert_int_eq(rx_rxid_parse(NULL, out), RX_INVALID);
	ck_assert_int_eq(rx_rxid_parse("", out), RX_INVALID);
	ck_assert_int_eq(rx_rxid_parse("----", out), RX_INVALID);

	/* A correct check character over characters outside Crockford's set. */
	static const char *const bodies[] = {"ILOU0000000", "0000000000I", "0000O000000",
					     "000000000U0", "L0000000000"};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		memcpy(raw, bodies[i], 11);
		raw[11] = rx_check37(raw, 11);
		raw[12] = '\0';
		ck_assert_int_ne(raw[11], 0);
		ck_assert_msg(rx_rxid_parse(raw, out) == RX_INVALID, "accepted %s", raw);
	}

	/* Lengths one short and one long, with a correct check character. */
	memcpy(raw, "0123456789", 10);
	raw[10] = rx_check37(raw, 10);
	raw[11] = '\0';
	ck_assert_int_eq(rx_rxid_parse(raw, out), RX_INVALID);
	memcpy(raw, "0123456789AB", 12);
	raw[12] = rx_check37(raw, 12);
	raw[13] = '\0';
	ck_assert_int_eq(rx_rxid_parse(raw, out), RX_INVALID);

	/* Separators other than dash and space. */
	char id[RX_ID_LEN + 1];
	rx_rxid_new(id);
	snprintf(in, sizeof in, "%.4s_%.4s_%.4s", id, id + 5, id + 10);
	ck_assert_int_eq(rx_rxid_parse(in, out), RX_INVALID);
	snprintf(in, sizeof in, "%s\n", id);
	ck_assert_int_eq(rx_rxid_parse(in, out), RX_INVALID);
}
END_TEST

/* '+' is a check character (value 36) and must parse, in either case. */
START_TEST(rxid_plus_check_character)
{
	char raw[13], out[RX_ID_LEN + 1];
	int found = 0;
	for (int n = 0; n < 100000 && !found; n++) {
		for (int i = 0; i < 11; i++)
			raw[i] = b32[randombytes_uniform(32)];
		raw[11] = rx_check37(raw, 11);
		raw[12] = '\0';
		found = raw[11] == '+';
	}
	ck_assert_msg(found, "no id with check character '+' in 100000 tries");
	ck_assert_int_eq(rx_rxid_parse(raw, out), RX_OK);
	ck_assert_int_eq(out[RX_ID_LEN - 1], '+');
	raw[11] = '0';
	ck_assert_int_eq(rx_rxid_parse(raw, out), RX_INVALID);
}
END_TEST

/* MOD 37-2 detects every single substitution: for each id, try every other
 * character of 0-9A-Z+ at every one of the 12 positions. */
START_TEST(rxid_every_substitution_detected)
{
	char id[RX_ID_LEN + 1], raw[13], bad[13], out[RX_ID_LEN + 1];
	for (int n = 0; n < 300; n++) {
		rx_rxid_new(id);
		raw_of(id, raw);
		for (int pos = 0; pos < 12; pos++) {
			for (const char *c = typed; *c; c++) {
				if (*c == raw[pos])
					continue;
				memcpy(bad, raw, sizeof bad);
				bad[pos] = *c;
				ck_assert_msg(rx_rxid_parse(bad, out) == RX_INVALID,
					      "substitution %s -> %s accepted", raw, bad);
			}
		}
	}
}
END_TEST

/* ... and every transposition of two differing adjacent characters, the
 * check character included, and across the dash of the printed form. */
START_TEST(rxid_every_transposition_detected)
{
	char id[RX_ID_LEN + 1], raw[13], bad[13], out[RX_ID_LEN + 1];
	for (int n = 0; n < 2000; n++) {
		rx_rxid_new(id);
		raw_of(id, raw);
		for (int pos = 0; pos < 11; pos++) {
			if (raw[pos] == raw[pos + 1])
				continue;
			memcpy(bad, raw, sizeof bad);
			bad[pos] = raw[pos + 1];
			bad[pos + 1] = raw[pos];
			ck_assert_msg(rx_rxid_parse(bad, out) == RX_INVALID,
				      "transposition %s -> %s accepted", raw, bad);
		}
		/* printed form: swap the characters either side of each dash */
		for (int dash = 4; dash <= 9; dash += 5) {
			char printed[RX_ID_LEN + 1];
			memcpy(printed, id, sizeof printed);
			if (printed[dash - 1] == printed[dash + 1])
				continue;
			printed[dash - 1] = id[dash + 1];
			printed[dash + 1] = id[dash - 1];
			ck_assert_msg(rx_rxid_parse(printed, out) == RX_INVALID,
				      "transposition %s -> %s accepted", id, printed);
		}
	}
}
END_TEST

/* ---- patient ids ---- */

static const char *const MYNUMBER = "123456789018";

static void random_mynumber(char s[13])
{
	for (int i = 0; i < 11; i++)
		s[i] = (char)('0' + randombytes_uniform(10));
	s[11] = (char)('0' + ref_mynumber_check(s));
	s[12] = '\0';
}

/* Every 55-bit value spells a valid id, and the id spells its value back. */
START_TEST(rxid_value_round_trip)
{
	const uint64_t top = (1ull << RX_ID_VALUE_BITS) - 1;
	uint64_t edge[] = {0, 1, 31, 32, top - 1, top};
	char id[RX_ID_LEN + 1], again[RX_ID_LEN + 1];
	for (size_t i = 0; i < 10006; i++) {
		uint64_t v = i < 6 ? edge[i] : (randombytes_random() | (uint64_t)randombytes_random() << 32) & top;
		rx_rxid_from_value(v, id);
		ck_assert_int_eq(rx_rxid_parse(id, again), RX_OK);
		ck_assert_str_eq(id, again);
		ck_assert_uint_eq(rx_rxid_value(id), v);
	}
	rx_rxid_from_value(0, id);
	ck_assert_str_eq(id, "0000-0000-0001"); /* (38 - 0) mod 37 = 1 */
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The ids of records 0, 1, 2, ...: a permutation (each undone, none twice,
 * all below 2^55), keyed, and spread like random values; frozen known
 * answers for key 00..0f (proto/README 4.2). */
START_TEST(id_permutation)
{
	enum { N = 100000 };
	uint8_t key[RX_ID_PERM_KEY_LEN], other[RX_ID_PERM_KEY_LEN];
	for (int i = 0; i < RX_ID_PERM_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	memcpy(other, key, sizeof other);
	other[0] ^= 1;
	uint64_t *v = malloc(N * sizeof *v);
	unsigned buckets[32] = {0};
	size_t same = 0;
	ck_assert_ptr_nonnull(v);
	for (uint64_t x = 0; x < N; x++) {
		v[x] = rx_id_permute(key, x);
		ck_assert_uint_lt(v[x], 1ull << RX_ID_VALUE_BITS);
		ck_assert_uint_eq(rx_id_unpermute(key, v[x]), x);
		buckets[v[x] >> (RX_ID_VALUE_BITS - 5)]++;
		same += rx_id_permute(other, x) == v[x];
	}
	ck_assert_uint_eq(same, 0);
	for (int b = 0; b < 32; b++) /* N/32 = 3125 expected in each */
		ck_assert_msg(buckets[b] > 2800 && buckets[b] < 3450, "bucket %d: %u", b, buckets[b]);
	qsort(v, N, sizeof *v, cmp_u64);
	for (size_t i = 1; i < N; i++)
		ck_assert_uint_ne(v[i - 1], v[i]);
	/* Random values far from the sequence undo too. */
	for (int i = 0; i < 1000; i++) {
		uint64_t y = (randombytes_random() | (uint64_t)randombytes_random() << 32) &
			     ((1ull << RX_ID_VALUE_BITS) - 1);
		ck_assert_uint_eq(rx_id_permute(key, rx_id_unpermute(key, y)), y);
	}
	/* Known answers, also computed by a separate Python implementation
	 * (SipHash-2-4 written from its paper). */
	static const struct {
		uint64_t value;
		const char *id;
	} known[3] = {{5562072271075877ull, "4Y2N-KEYX-EH5N"},
		      {26743652908704279ull, "QR36-QNSX-8GQK"},
		      {11286226099536084ull, "A0RR-D4R9-06M4"}};
	char id[RX_ID_LEN + 1];
	for (uint64_t x = 0; x < 3; x++) {
		ck_assert_uint_eq(rx_id_permute(key, x), known[x].value);
		rx_rxid_from_value(known[x].value, id);
		ck_assert_str_eq(id, known[x].id);
	}
	free(v);
}
END_TEST

START_TEST(patient_known_answer)
{
	/* Computed independently (Python hashlib.blake2b, digest_size=10,
	 * key=32 x 0x42, over "rx-exchange patient v1:123456789018"; then
	 * Crockford base32 and ISO 7064 MOD 37-2). */
	uint8_t key[32];
	char pid[RX_PATIENT_ID_LEN + 1];
	memset(key, 0x42, sizeof key);
	ck_assert_int_eq(rx_patient_id_derive(key, MYNUMBER, pid), RX_OK);
	ck_assert_str_eq(pid, "P408CSTDA65G3Z60K3");
}
END_TEST

START_TEST(patient_deterministic_and_distinct)
{
	uint8_t k1[32], k2[32];
	char a[RX_PATIENT_ID_LEN + 1], b[RX_PATIENT_ID_LEN + 1], other[13];
	char out[RX_PATIENT_ID_LEN + 1];
	for (int n = 0; n < 200; n++) {
		randombytes_buf(k1, sizeof k1);
		memcpy(k2, k1, sizeof k2);
		k2[randombytes_uniform(32)] ^= (uint8_t)(1u << randombytes_uniform(8));

		ck_assert_int_eq(rx_patient_id_derive(k1, MYNUMBER, a), RX_OK);
		ck_assert_int_eq(rx_patient_id_derive(k1, MYNUMBER, b), RX_OK);
		ck_assert_str_eq(a, b);
		ck_assert_uint_eq(strlen(a), RX_PATIENT_ID_LEN);
		ck_assert_int_eq(a[0], 'P');
		for (int i = 1; i < 17; i++)
			ck_assert_msg(strchr(b32, a[i]) != NULL, "%s", a);

		/* the id parses back as itself */
		ck_assert_int_eq(rx_patient_id_parse(a, out), RX_OK);
		ck_assert_str_eq(out, a);

		/* another key, one bit apart */
		ck_assert_int_eq(rx_patient_id_derive(k2, MYNUMBER, b), RX_OK);
		ck_assert_str_ne(a, b);

		/* another number, same key */
		do
			random_mynumber(other);
		while (strcmp(other, MYNUMBER) == 0);
		ck_assert_int_eq(rx_patient_id_derive(k1, other, b), RX_OK);
		ck_assert_str_ne(a, b);
	}
}
END_TEST

START_TEST(patient_parse_canonicalizes)
{
	uint8_t key[32];
	char pid[RX_PATIENT_ID_LEN + 1], in[64], out[RX_PATIENT_ID_LEN + 1];
	memset(key, 0x42, sizeof key);
	ck_assert_int_eq(rx_patient_id_derive(key, MYNUMBER, pid), RX_OK);

	for (int i = 0; pid[i]; i++)
		in[i] = (char)tolower((unsigned char)pid[i]);
	in[RX_PATIENT_ID_LEN] = '\0';
	ck_assert_int_eq(rx_patient_id_parse(in, out), RX_OK);
	ck_assert_str_eq(out, pid);

	snprintf(in, sizeof in, "%.1s-%.4s %.4s-%.4s-%.5s", pid, pid + 1, pid + 5, pid + 9, pid + 13);
	ck_assert_int_eq(rx_patient_id_parse(in, out), RX_OK);
	ck_assert_str_eq(out, pid);

	ck_assert_int_eq(rx_patient_id_parse(NULL, out), RX_INVALID);
	ck_assert_int_eq(rx_patient_id_parse("", out), RX_INVALID);
	snprintf(in, sizeof in, "%.17s", pid); /* one short */
	ck_assert_int_eq(rx_patient_id_parse(in, out), RX_INVALID);
	snprintf(in, sizeof in, "%s0", pid); /* one long */
	ck_assert_int_eq(rx_patient_id_parse(in, out), RX_INVALID);
}
END_TEST

START_TEST(patient_every_substitution_detected)
{
	uint8_t key[32];
	char pid[RX_PATIENT_ID_LEN + 1], bad[RX_PATIENT_ID_LEN + 1], out[RX_PATIENT_ID_LEN + 1];
	char number[13];
	for (int n = 0; n < 100; n++) {
		randombytes_buf(key, sizeof key);
		random_mynumber(number);
		ck_assert_int_eq(rx_patient_id_derive(key, number, pid), RX_OK);
		for (int pos = 0; pos < RX_PATIENT_ID_LEN; pos++) {
			for (const char *c = typed; *c; c++) {
				if (*c == pid[pos])
					continue;
				memcpy(bad, pid, sizeof bad);
				bad[pos] = *c;
				ck_assert_msg(rx_patient_id_parse(bad, out) == RX_INVALID,
					      "substitution %s -> %s accepted", pid, bad);
			}
		}
		for (int pos = 1; pos < RX_PATIENT_ID_LEN - 1; pos++) {
			if (pid[pos] == pid[pos + 1])
				continue;
			memcpy(bad, pid, sizeof bad);
			bad[pos] = pid[pos + 1];
			bad[pos + 1] = pid[pos];
			ck_assert_msg(rx_patient_id_parse(bad, out) == RX_INVALID,
				      "transposition %s -> %s accepted", pid, bad);
		}
	}
}
END_TEST

START_TEST(patient_refuses_invalid_mynumber)
{
	uint8_t key[32];
	char out[RX_PATIENT_ID_LEN + 1];
	memset(key, 0x42, sizeof key);
	static const char *const bad[] = {"123456789011", "12345678901", "1234567890188",
					  "12345678901a", "", "1234 5678 9018"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(rx_patient_id_derive(key, bad[i], out) == RX_INVALID, "accepted \"%s\"",
			      bad[i]);
	ck_assert_int_eq(rx_patient_id_derive(key, NULL, out), RX_INVALID);
}
END_TEST

/* ---- drug codes ---- */

static const char *const real_codes[] = {
	"2171022F1029", /* Norvasc 2.5 mg */
	"2171022F2025", /* Norvasc 5 mg */
	"1124009F1010", "1124009F1223", "1124009F2025", "1129009F1017",
	"1124003F2273", "2456001F1353", "3122007F2039", "2171022F1282",
};

/* The weighted sum modulo 11 behind the check digit, computed here from the
 * rule (weights 6,5,4,3,2,7,6,5,4,3,2; the letter counts as the low digit
 * of its EBCDIC code) rather than taken from rx_ids.c. */
static int ref_drug_remainder(const char *code)
{
	static const int w[11] = {6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
	static const char ebcdic_low[] = "123456789123456789"
					 "23456789"; /* A-I, J-R, S-Z */
	int sum = 0;
	for (int i = 0; i < 11; i++) {
		int v = code[i] >= 'A' && code[i] <= 'Z' ? ebcdic_low[code[i] - 'A'] - '0'
							  : code[i] - '0';
		sum += v * w[i];
	}
	return sum % 11;
}

START_TEST(drug_real_codes_valid)
{
	for (size_t i = 0; i < sizeof real_codes / sizeof real_codes[0]; i++) {
		ck_assert_msg(rx_drug_code_valid(real_codes[i]) == RX_OK, "%s refused", real_codes[i]);
		/* and the reference rule agrees: (11 - r) mod 11, 10 written 0 */
		int r = ref_drug_remainder(real_codes[i]);
		ck_assert_int_eq(real_codes[i][11] - '0', (11 - r) % 11 % 10);
	}
}
END_TEST

START_TEST(drug_wrong_check_digit)
{
	char code[13];
	for (size_t i = 0; i < sizeof real_codes / sizeof real_codes[0]; i++) {
		for (char d = '0'; d <= '9'; d++) {
			memcpy(code, real_codes[i], sizeof code);
			if (d == code[11])
				continue;
			code[11] = d;
			ck_assert_msg(rx_drug_code_valid(code) == RX_INVALID, "%s accepted", code);
		}
		memcpy(code, real_codes[i], sizeof code);
		code[11] = 'X';
		ck_assert_int_eq(rx_drug_code_valid(code), RX_INVALID);
	}
}
END_TEST

/* Any one digit changed in a code whose check digit is not 0 is refused.
 * For a check digit of 0 the scheme itself is blind where the new weighted
 * sum's remainder moves between 0 and 1 (both give check digit 0): those
 * and only those substitutions pass. */
START_TEST(drug_every_digit_substitution)
{
	char code[13];
	int blind = 0;
	for (size_t i = 0; i < sizeof real_codes / sizeof real_codes[0]; i++) {
		for (int pos = 0; pos < 11; pos++) {
			if (pos == 7)
				continue;
			for (char d = '0'; d <= '9'; d++) {
				memcpy(code, real_codes[i], sizeof code);
				if (d == code[pos])
					continue;
				code[pos] = d;
				int r = ref_drug_remainder(code);
				int undetectable = real_codes[i][11] == '0' && r <= 1;
				blind += undetectable;
				ck_assert_msg(rx_drug_code_valid(code) == (undetectable ? RX_OK : RX_INVALID),
					      "%s -> %s", real_codes[i], code);
			}
		}
	}
	/* 1124009F1010 (r = 0) is the only listed code with check digit 0; nine
	 * of its one-digit variants, 3124009F1010 among them, pass. */
	ck_assert_int_eq(blind, 9);
	ck_assert_int_eq(rx_drug_code_valid("3124009F1010"), RX_OK);
}
END_TEST

START_TEST(drug_form_letter)
{
	char code[13];
	/* The dosage-form letter must be a letter, and digits must be digits. */
	memcpy(code, "2171022F1029", sizeof code);
	code[7] = '6'; /* F counts as 6: the sum is the same, the shape is not */
	ck_assert_int_eq(rx_drug_code_valid(code), RX_INVALID);
	memcpy(code, "2171022F1029", sizeof code);
	code[7] = 'O'; /* O is EBCDIC D6, counts as 6 like F: a valid shape */
	ck_assert_int_eq(rx_drug_code_valid(code), RX_OK);
	for (int pos = 0; pos < 11; pos++) {
		if (pos == 7)
			continue;
		memcpy(code, "2171022F1029", sizeof code);
		code[pos] = 'A';
		ck_assert_msg(rx_drug_code_valid(code) == RX_INVALID, "%s", code);
	}
	for (char c = 'A'; c <= 'Z'; c++) {
		memcpy(code, "2171022F1029", sizeof code);
		code[7] = c;
		int r = ref_drug_remainder(code);
		rx_err_t want = (11 - r) % 11 % 10 == 9 ? RX_OK : RX_INVALID;
		ck_assert_msg(rx_drug_code_valid(code) == want, "%s", code);
	}
}
END_TEST

START_TEST(drug_malformed)
{
	static const char *const bad[] = {
		"2171022f1029",  /* lower-case form letter */
		"217102F1029",   /* 11 characters */
		"2171022F10290", /* 13 characters */
		"",
		" 2171022F1029",
		"2171022F1029\n",
		"2171022F102 ",
		"2171022+1029",
		"2171022F-029",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(rx_drug_code_valid(bad[i]) == RX_INVALID, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(rx_drug_code_valid(NULL), RX_INVALID);
}
END_TEST

/* ---- institution codes ---- */

START_TEST(institution_rules)
{
	static const char *const good[] = {"1312345678", "A", "abc-XYZ-09", "-",
					   "01234567890123456789012345678901"};
	static const char *const bad[] = {
		"", "012345678901234567890123456789012", "13 12345678", "1312345678\n",
		"13_12345678", "13.12345678", "1312/345678", "\xef\xbd\xb1" /* katakana */,
		"13123\t45678",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(rx_institution_valid(good[i]) == RX_OK, "refused \"%s\"", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(rx_institution_valid(bad[i]) == RX_INVALID, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(rx_institution_valid(NULL), RX_INVALID);
}
END_TEST

/* ---- access codes ---- */

START_TEST(access_codes)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	for (int n = 0; n < 200; n++) {
		char code[RX_ACCESS_CODE_LEN + 1], back[RX_ACCESS_CODE_LEN + 1], typo[32];
		rx_access_code_new(code);
		ck_assert_uint_eq(strlen(code), RX_ACCESS_CODE_LEN);
		ck_assert(code[4] == '-' && code[9] == '-');
		ck_assert_int_eq(rx_access_code_parse(code, back), RX_OK);
		ck_assert_str_eq(back, code);
		/* read aloud and typed back: lower case, no dashes, spaces */
		char loose[32];
		int j = 0;
		for (int i = 0; code[i]; i++)
			if (code[i] != '-')
				loose[j++] = (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] + 32 : code[i]);
		loose[j] = '\0';
		ck_assert_int_eq(rx_access_code_parse(loose, back), RX_OK);
		ck_assert_str_eq(back, code);
		/* every single substitution of a data character is caught */
		for (int i = 0; i < RX_ACCESS_CODE_LEN - 1; i++) {
			if (code[i] == '-')
				continue;
			for (const char *a = alphabet; *a; a++) {
				if (*a == code[i])
					continue;
				strcpy(typo, code);
				typo[i] = *a;
				ck_assert_msg(rx_access_code_parse(typo, back) == RX_INVALID, "%s accepted", typo);
			}
		}
	}
	char out[RX_ACCESS_CODE_LEN + 1];
	ck_assert_int_eq(rx_access_code_parse("", out), RX_INVALID);
	ck_assert_int_eq(rx_access_code_parse("ABCD-EFGH-J", out), RX_INVALID);
	ck_assert_int_eq(rx_access_code_parse("ABCD-EFGH-JK5X", out), RX_INVALID);
	ck_assert_int_eq(rx_access_code_parse("ABCD-EFGH-IK5", out), RX_INVALID); /* I is not base32 */
	ck_assert_int_eq(rx_access_code_parse(NULL, out), RX_INVALID);
}
END_TEST

static Suite *ids_suite(void)
{
	Suite *s = suite_create("ids");
	TCase *tc;

	tc = tcase_create("mynumber");
	tcase_add_test(tc, mynumber_known_values);
	tcase_add_test(tc, mynumber_wrong_length);
	tcase_add_test(tc, mynumber_non_digits);
	tcase_add_test(tc, mynumber_every_wrong_last_digit);
	tcase_add_test(tc, mynumber_random_against_reference);
	suite_add_tcase(s, tc);

	tc = tcase_create("rxid");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, check37_iso_example);
	tcase_add_test(tc, rxid_new_parses_back);
	tcase_add_test(tc, rxid_new_is_random);
	tcase_add_test(tc, rxid_canonicalizes);
	tcase_add_test(tc, rxid_refuses_malformed);
	tcase_add_test(tc, rxid_plus_check_character);
	tcase_add_test(tc, rxid_every_substitution_detected);
	tcase_add_test(tc, rxid_every_transposition_detected);
	tcase_add_test(tc, rxid_value_round_trip);
	tcase_add_test(tc, id_permutation);
	suite_add_tcase(s, tc);

	tc = tcase_create("patient");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, patient_known_answer);
	tcase_add_test(tc, patient_deterministic_and_distinct);
	tcase_add_test(tc, patient_parse_canonicalizes);
	tcase_add_test(tc, patient_every_substitution_detected);
	tcase_add_test(tc, patient_refuses_invalid_mynumber);
	suite_add_tcase(s, tc);

	tc = tcase_create("drug");
	tcase_add_test(tc, drug_real_codes_valid);
	tcase_add_test(tc, drug_wrong_check_digit);
	tcase_add_test(tc, drug_every_digit_substitution);
	tcase_add_test(tc, drug_form_letter);
	tcase_add_test(tc, drug_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("institution");
	tcase_add_test(tc, institution_rules);
	tcase_add_test(tc, access_codes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (rx_crypto_init() != RX_OK)
		return EXIT_FAILURE;
	return tu_run(ids_suite());
}
