/* test_crypto: signing contexts, hashes, hex, key files (proto/rx_crypto.c);
 * with the protocol's worked test vectors (test_vectors.c), the crypto suite. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rx.pb-c.h"
#include "rx_check.h"
#include "rx_crypto.h"
#include "rx_ids.h"
#include "test_vectors.h"
#include "testutil.h"

static const rx_sign_ctx_t all_ctx[] = {RX_SIGN_PRESCRIPTION, RX_SIGN_DISPENSE, RX_SIGN_CALL,
					RX_SIGN_RECEIPT,      RX_SIGN_CARD,     RX_SIGN_AUDIT,
					RX_SIGN_NOTICE};
#define N_CTX ((int)(sizeof all_ctx / sizeof all_ctx[0]))

static void fresh_keypair(rx_keypair_t *kp)
{
	crypto_sign_keypair(kp->pk, kp->sk);
}

/* ---- signatures ---- */

START_TEST(context_strings)
{
	ck_assert_str_eq(rx_sign_context(RX_SIGN_PRESCRIPTION), "rx-exchange v2 prescription");
	ck_assert_str_eq(rx_sign_context(RX_SIGN_DISPENSE), "rx-exchange v2 dispense");
	ck_assert_str_eq(rx_sign_context(RX_SIGN_CALL), "rx-exchange v1 call");
	ck_assert_str_eq(rx_sign_context(RX_SIGN_RECEIPT), "rx-exchange v1 receipt");
	ck_assert_str_eq(rx_sign_context(RX_SIGN_CARD), "rx-exchange v1 card assertion");
	ck_assert_str_eq(rx_sign_context(RX_SIGN_AUDIT), "rx-exchange v1 audit head");
	ck_assert_str_eq(rx_sign_context(RX_SIGN_NOTICE), "rx-exchange v1 notice");
	ck_assert_str_eq(rx_sign_context(RX_SIGN_PRESCRIPTION_V1), "rx-exchange v1 prescription");
	ck_assert_str_eq(rx_sign_context(RX_SIGN_DISPENSE_V1), "rx-exchange v1 dispense");
	/* A stored document's context follows its version. */
	ck_assert_int_eq(rx_doc_context(RX_SIGN_PRESCRIPTION, 1), RX_SIGN_PRESCRIPTION_V1);
	ck_assert_int_eq(rx_doc_context(RX_SIGN_PRESCRIPTION, 2), RX_SIGN_PRESCRIPTION);
	ck_assert_int_eq(rx_doc_context(RX_SIGN_DISPENSE, 1), RX_SIGN_DISPENSE_V1);
	ck_assert_int_eq(rx_doc_context(RX_SIGN_DISPENSE, 2), RX_SIGN_DISPENSE);
	ck_assert_int_eq(rx_doc_context(RX_SIGN_CALL, 1), RX_SIGN_CALL);
}
END_TEST

/* What a document says apart from the call it is bound to: the same
 * content bound to two calls hashes the same, wherever the field travels. */
START_TEST(hash_without_field)
{
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	uint8_t h1[RX_HASH_LEN] = {1}, h2[RX_HASH_LEN] = {2}, a[RX_HASH_LEN], b[RX_HASH_LEN],
		none[RX_HASH_LEN], buf[256];
	p.version = RX_DOC_VERSION;
	p.notes = (char *)"same content";
	size_t n0 = rx__prescription__pack(&p, buf);
	ck_assert_int_eq(rx_hash_without_field(buf, n0, RX_PRESCRIPTION_CALL_HASH_FIELD, none), RX_OK);
	p.call_hash.data = h1;
	p.call_hash.len = RX_HASH_LEN;
	size_t n1 = rx__prescription__pack(&p, buf);
	ck_assert_int_eq(rx_hash_without_field(buf, n1, RX_PRESCRIPTION_CALL_HASH_FIELD, a), RX_OK);
	p.call_hash.data = h2;
	size_t n2 = rx__prescription__pack(&p, buf);
	ck_assert_int_eq(rx_hash_without_field(buf, n2, RX_PRESCRIPTION_CALL_HASH_FIELD, b), RX_OK);
	ck_assert_mem_eq(a, b, RX_HASH_LEN);
	ck_assert_mem_eq(a, none, RX_HASH_LEN);
	/* Another encoder may put the field first: the hash is the same. */
	uint8_t moved[256];
	memcpy(moved, buf + n0, n2 - n0);
	memcpy(moved + (n2 - n0), buf, n0);
	ck_assert_int_eq(rx_hash_without_field(moved, n2, RX_PRESCRIPTION_CALL_HASH_FIELD, b), RX_OK);
	ck_assert_mem_eq(a, b, RX_HASH_LEN);
	/* Other content differs; bytes that do not walk are refused. */
	p.notes = (char *)"other content";
	size_t n3 = rx__prescription__pack(&p, buf);
	ck_assert_int_eq(rx_hash_without_field(buf, n3, RX_PRESCRIPTION_CALL_HASH_FIELD, b), RX_OK);
	ck_assert_mem_ne(a, b, RX_HASH_LEN);
	ck_assert_int_eq(rx_hash_without_field((const uint8_t *)"\x0a\x05" "ab", 4,
					       RX_PRESCRIPTION_CALL_HASH_FIELD, b),
			 RX_INVALID);
}
END_TEST

/* Loop test over every context. */
START_TEST(sign_verify_each_context)
{
	rx_sign_ctx_t ctx = all_ctx[_i];
	rx_keypair_t kp;
	uint8_t msg[100], sig[RX_SIG_LEN];
	fresh_keypair(&kp);
	randombytes_buf(msg, sizeof msg);
	ck_assert_int_eq(rx_sign(ctx, kp.sk, msg, sizeof msg, sig), RX_OK);
	ck_assert_int_eq(rx_verify(ctx, kp.pk, msg, sizeof msg, sig), RX_OK);

	/* The framing is exactly context || 0x00 || message (see rx_crypto.h):
	 * an independent signer over those bytes makes the same signature. */
	const char *c = rx_sign_context(ctx);
	size_t clen = strlen(c) + 1;
	uint8_t framed[256], ref[RX_SIG_LEN];
	memcpy(framed, c, clen);
	memcpy(framed + clen, msg, sizeof msg);
	crypto_sign_detached(ref, NULL, framed, clen + sizeof msg, kp.sk);
	ck_assert_mem_eq(sig, ref, RX_SIG_LEN);

	/* Empty message. */
	ck_assert_int_eq(rx_sign(ctx, kp.sk, NULL, 0, sig), RX_OK);
	ck_assert_int_eq(rx_verify(ctx, kp.pk, NULL, 0, sig), RX_OK);
	ck_assert_int_eq(rx_verify(ctx, kp.pk, msg, 1, sig), RX_BAD_SIGNATURE);
}
END_TEST

START_TEST(signature_bound_to_context)
{
	rx_keypair_t kp;
	uint8_t msg[48], sig[RX_SIG_LEN];
	fresh_keypair(&kp);
	randombytes_buf(msg, sizeof msg);
	for (int i = 0; i < N_CTX; i++) {
		ck_assert_int_eq(rx_sign(all_ctx[i], kp.sk, msg, sizeof msg, sig), RX_OK);
		for (int j = 0; j < N_CTX; j++)
			ck_assert_int_eq(rx_verify(all_ctx[j], kp.pk, msg, sizeof msg, sig),
					 i == j ? RX_OK : RX_BAD_SIGNATURE);
		/* nor is it a plain Ed25519 signature of the message */
		ck_assert_int_ne(crypto_sign_verify_detached(sig, msg, sizeof msg, kp.pk), 0);
	}
}
END_TEST

START_TEST(every_signature_bit_flip_fails)
{
	rx_keypair_t kp;
	uint8_t msg[64], sig[RX_SIG_LEN], bad[RX_SIG_LEN];
	fresh_keypair(&kp);
	randombytes_buf(msg, sizeof msg);
	ck_assert_int_eq(rx_sign(RX_SIGN_CALL, kp.sk, msg, sizeof msg, sig), RX_OK);
	for (int bit = 0; bit < RX_SIG_LEN * 8; bit++) {
		memcpy(bad, sig, sizeof bad);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(rx_verify(RX_SIGN_CALL, kp.pk, msg, sizeof msg, bad) == RX_BAD_SIGNATURE,
			      "signature with bit %d flipped verified", bit);
	}
	ck_assert_int_eq(rx_verify(RX_SIGN_CALL, kp.pk, msg, sizeof msg, sig), RX_OK);
}
END_TEST

/* Messages above the 4 KiB stack buffer take the heap path. */
START_TEST(every_message_bit_flip_fails)
{
	static const size_t sizes[] = {1, 64, 4096 - 20, 4096, 70000};
	rx_keypair_t kp;
	uint8_t sig[RX_SIG_LEN];
	fresh_keypair(&kp);
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		size_t len = sizes[s];
		uint8_t *msg = malloc(len + 1);
		ck_assert_ptr_nonnull(msg);
		randombytes_buf(msg, len + 1);
		ck_assert_int_eq(rx_sign(RX_SIGN_PRESCRIPTION, kp.sk, msg, len, sig), RX_OK);
		ck_assert_int_eq(rx_verify(RX_SIGN_PRESCRIPTION, kp.pk, msg, len, sig), RX_OK);
		/* every bit of short messages; ~300 spread over the long ones */
		size_t bits = len * 8, step = len <= 64 ? 1 : bits / 300 + 1;
		for (size_t bit = 0; bit < bits; bit += step) {
			msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			ck_assert_msg(rx_verify(RX_SIGN_PRESCRIPTION, kp.pk, msg, len, sig) ==
					      RX_BAD_SIGNATURE,
				      "len %zu bit %zu", len, bit);
			msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		/* last bit too, then truncated and extended */
		msg[len - 1] ^= 0x80;
		ck_assert_int_eq(rx_verify(RX_SIGN_PRESCRIPTION, kp.pk, msg, len, sig), RX_BAD_SIGNATURE);
		msg[len - 1] ^= 0x80;
		ck_assert_int_eq(rx_verify(RX_SIGN_PRESCRIPTION, kp.pk, msg, len - 1, sig),
				 RX_BAD_SIGNATURE);
		ck_assert_int_eq(rx_verify(RX_SIGN_PRESCRIPTION, kp.pk, msg, len + 1, sig),
				 RX_BAD_SIGNATURE);
		free(msg);
	}
}
END_TEST

START_TEST(wrong_and_degenerate_keys_fail)
{
	rx_keypair_t kp, other;
	uint8_t msg[32], sig[RX_SIG_LEN], zero_pk[RX_KEY_LEN] = {0}, zero_sig[RX_SIG_LEN] = {0};
	fresh_keypair(&kp);
	fresh_keypair(&other);
	randombytes_buf(msg, sizeof msg);
	ck_assert_int_eq(rx_sign(RX_SIGN_DISPENSE, kp.sk, msg, sizeof msg, sig), RX_OK);
	ck_assert_int_eq(rx_verify(RX_SIGN_DISPENSE, other.pk, msg, sizeof msg, sig), RX_BAD_SIGNATURE);
	ck_assert_int_eq(rx_verify(RX_SIGN_DISPENSE, zero_pk, msg, sizeof msg, sig), RX_BAD_SIGNATURE);
	ck_assert_int_eq(rx_verify(RX_SIGN_DISPENSE, zero_pk, msg, sizeof msg, zero_sig),
			 RX_BAD_SIGNATURE);
	ck_assert_int_eq(rx_verify(RX_SIGN_DISPENSE, kp.pk, msg, sizeof msg, zero_sig),
			 RX_BAD_SIGNATURE);
	/* The identity point (small order) as a key, with the all-zero
	 * signature that would satisfy a verifier that does not refuse it. */
	uint8_t identity[RX_KEY_LEN] = {1};
	ck_assert_int_eq(rx_verify(RX_SIGN_DISPENSE, identity, msg, sizeof msg, zero_sig),
			 RX_BAD_SIGNATURE);
}
END_TEST

/* ---- hashes and hex ---- */

START_TEST(hash_known_answers)
{
	uint8_t h[RX_HASH_LEN];
	char hex[2 * RX_HASH_LEN + 1];
	rx_hash(NULL, 0, h);
	rx_hex(h, sizeof h, hex);
	ck_assert_str_eq(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	rx_hash((const uint8_t *)"abc", 3, h);
	rx_hex(h, sizeof h, hex);
	ck_assert_str_eq(hex, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}
END_TEST

START_TEST(hex_round_trip)
{
	uint8_t all[256], back[256];
	char hex[2 * 256 + 1];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	rx_hex(all, sizeof all, hex);
	ck_assert_uint_eq(strlen(hex), 512);
	ck_assert_int_eq(strncmp(hex, "000102", 6), 0);
	ck_assert_str_eq(hex + 500, "fafbfcfdfeff");
	for (const char *p = hex; *p; p++)
		ck_assert_msg(strchr("0123456789abcdef", *p) != NULL, "not lower-case hex");
	ck_assert_int_eq(rx_unhex(hex, back, sizeof back), RX_OK);
	ck_assert_mem_eq(all, back, sizeof all);

	/* Upper case decodes to the same bytes. */
	uint8_t two[2];
	ck_assert_int_eq(rx_unhex("ABcd", two, 2), RX_OK);
	ck_assert_uint_eq(two[0], 0xab);
	ck_assert_uint_eq(two[1], 0xcd);
	ck_assert_int_eq(rx_unhex("", two, 0), RX_OK);
}
END_TEST

START_TEST(unhex_refuses)
{
	uint8_t out[4];
	static const char *const bad4[] = {
		"0011223",    /* odd length */
		"001122334",  /* odd, one long */
		"001122",     /* 3 bytes for 4 */
		"0011223344", /* 5 bytes for 4 */
		"0011g233",   /* non-hex */
		"0011 233",   /* space inside */
		"00:1:2233",
		"0x112233",
		"00112233\n",
		" 0112233",
		"001122\xc3\xa9", /* UTF-8 e-acute */
	};
	for (size_t i = 0; i < sizeof bad4 / sizeof bad4[0]; i++)
		ck_assert_msg(rx_unhex(bad4[i], out, sizeof out) == RX_INVALID, "accepted \"%s\"",
			      bad4[i]);
	ck_assert_int_eq(rx_unhex(NULL, out, sizeof out), RX_INVALID);
	ck_assert_int_eq(rx_unhex("00112233", out, sizeof out), RX_OK);
}
END_TEST

/* ---- key files ---- */

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0); /* whatever the umask */
	ck_assert_int_eq(close(fd), 0);
}

START_TEST(key_create_and_load)
{
	char dir[TU_PATH_MAX], path[256], text[256];
	rx_keypair_t kp, loaded, again;
	struct stat st;
	tu_subdir(dir);
	snprintf(path, sizeof path, "%s/rx.key", dir);

	ck_assert_int_eq(rx_key_create(path, &kp), RX_OK);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg(S_ISREG(st.st_mode), "not a regular file");
	ck_assert_uint_eq(st.st_mode & 07777, 0600);

	/* 64 hex digits and a newline, and the key pair is the seed's. */
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	ck_assert_uint_eq(n, 65);
	ck_assert_int_eq(text[64], '\n');
	text[64] = '\0';
	uint8_t seed[RX_SEED_LEN];
	ck_assert_int_eq(rx_unhex(text, seed, sizeof seed), RX_OK);
	rx_keypair_from_seed(seed, &again);
	ck_assert_mem_eq(again.pk, kp.pk, RX_KEY_LEN);
	ck_assert_mem_eq(again.sk, kp.sk, RX_SECRET_LEN);

	memset(&loaded, 0, sizeof loaded);
	ck_assert_int_eq(rx_key_load(path, &loaded), RX_OK);
	ck_assert_mem_eq(loaded.pk, kp.pk, RX_KEY_LEN);
	ck_assert_mem_eq(loaded.sk, kp.sk, RX_SECRET_LEN);

	/* A loaded key signs what the created one verifies. */
	uint8_t sig[RX_SIG_LEN];
	ck_assert_int_eq(rx_sign(RX_SIGN_CALL, loaded.sk, (const uint8_t *)"x", 1, sig), RX_OK);
	ck_assert_int_eq(rx_verify(RX_SIGN_CALL, kp.pk, (const uint8_t *)"x", 1, sig), RX_OK);

	/* Two created keys differ. */
	snprintf(path, sizeof path, "%s/other.key", dir);
	ck_assert_int_eq(rx_key_create(path, &again), RX_OK);
	ck_assert_mem_ne(again.pk, kp.pk, RX_KEY_LEN);
}
END_TEST

START_TEST(key_create_refuses_overwrite)
{
	char dir[TU_PATH_MAX], path[256];
	rx_keypair_t kp, second, loaded;
	tu_subdir(dir);
	snprintf(path, sizeof path, "%s/rx.key", dir);
	ck_assert_int_eq(rx_key_create(path, &kp), RX_OK);
	ck_assert_int_eq(rx_key_create(path, &second), RX_CONFLICT);
	/* the first key is still the one on disk */
	ck_assert_int_eq(rx_key_load(path, &loaded), RX_OK);
	ck_assert_mem_eq(loaded.pk, kp.pk, RX_KEY_LEN);

	/* Nor through a symlink to a missing file (O_EXCL). */
	char link[256], target[256];
	snprintf(link, sizeof link, "%s/link.key", dir);
	snprintf(target, sizeof target, "%s/target.key", dir);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(rx_key_create(link, &second), RX_CONFLICT);
	ck_assert_int_eq(access(target, F_OK), -1);

	/* A directory that does not exist is a system error, not a conflict. */
	snprintf(path, sizeof path, "%s/no/such/dir.key", dir);
	ck_assert_int_eq(rx_key_create(path, &second), RX_SYSTEM);
}
END_TEST

START_TEST(key_load_refuses_readable_by_others)
{
	char dir[TU_PATH_MAX], path[256];
	rx_keypair_t kp, loaded;
	tu_subdir(dir);
	snprintf(path, sizeof path, "%s/rx.key", dir);
	ck_assert_int_eq(rx_key_create(path, &kp), RX_OK);
	static const mode_t modes[] = {0644, 0640, 0604, 0660, 0602};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		ck_assert_int_eq(chmod(path, modes[i]), 0);
		ck_assert_msg(rx_key_load(path, &loaded) == RX_PERMISSION_DENIED, "mode %o loaded",
			      (unsigned)modes[i]);
	}
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(rx_key_load(path, &loaded), RX_OK);
	ck_assert_mem_eq(loaded.pk, kp.pk, RX_KEY_LEN);
}
END_TEST

START_TEST(key_load_missing_and_garbage)
{
	char dir[TU_PATH_MAX], path[256];
	rx_keypair_t loaded;
	tu_subdir(dir);
	snprintf(path, sizeof path, "%s/missing.key", dir);
	ck_assert_int_eq(rx_key_load(path, &loaded), RX_NOT_FOUND);

	static const char *const garbage[] = {
		"",
		"\n",
		"hello, world\n",
		/* 63 and 65 hex digits */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0\n",
		/* right length, one non-hex digit */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
		/* two keys */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		/* a PEM file is not our format */
		"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
		"-----END PRIVATE KEY-----\n",
	};
	for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
		snprintf(path, sizeof path, "%s/garbage%zu.key", dir, i);
		write_file(path, garbage[i], 0600);
		ck_assert_msg(rx_key_load(path, &loaded) == RX_INVALID, "garbage %zu loaded", i);
	}

	/* A valid key followed by a NUL and more bytes is not a key file. */
	static const char nul[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
				  "\0junk";
	snprintf(path, sizeof path, "%s/nul.key", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(nul, 1, sizeof nul - 1, f), sizeof nul - 1);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(rx_key_load(path, &loaded), RX_INVALID);

	/* The documented format loads, with or without a trailing newline. */
	snprintf(path, sizeof path, "%s/good.key", dir);
	write_file(path, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0600);
	ck_assert_int_eq(rx_key_load(path, &loaded), RX_OK);
	char hex[2 * RX_KEY_LEN + 1];
	rx_hex(loaded.pk, RX_KEY_LEN, hex);
	ck_assert_str_eq(hex, "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
}
END_TEST

START_TEST(key_load_or_create)
{
	char dir[TU_PATH_MAX], path[256];
	rx_keypair_t first, second;
	tu_subdir(dir);
	snprintf(path, sizeof path, "%s/broker.key", dir);
	ck_assert_int_eq(rx_key_load_or_create(path, &first), RX_OK);
	ck_assert_int_eq(rx_key_load_or_create(path, &second), RX_OK);
	ck_assert_mem_eq(first.pk, second.pk, RX_KEY_LEN);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(rx_key_load_or_create(path, &second), RX_PERMISSION_DENIED);
}
END_TEST


/* ---- Z85 and CurveZMQ key files ---- */

/* The key pairs of libzmq's and czmq's CURVE examples: decoding a secret
 * and deriving its public key must give the published public key. */
START_TEST(z85_known_keys)
{
	static const char *const pairs[][2] = {
		{"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs", "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"},
		{"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"},
	};
	for (size_t i = 0; i < 2; i++) {
		uint8_t sk[32], pk[32];
		char out[RX_Z85_LEN + 1];
		ck_assert_int_eq(rx_z85_decode(pairs[i][0], sk), RX_OK);
		rx_z85_encode(sk, out);
		ck_assert_str_eq(out, pairs[i][0]);
		ck_assert_int_eq(crypto_scalarmult_base(pk, sk), 0);
		rx_z85_encode(pk, out);
		ck_assert_str_eq(out, pairs[i][1]);
	}
	uint8_t b[32];
	ck_assert_int_eq(rx_z85_decode("", b), RX_INVALID);
	ck_assert_int_eq(rx_z85_decode("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI", b), RX_INVALID);
	ck_assert_int_eq(rx_z85_decode("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID0", b), RX_INVALID);
	ck_assert_int_eq(rx_z85_decode("Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI~", b), RX_INVALID);
	/* "#####" is 85^5 - 1, more than 32 bits */
	ck_assert_int_eq(rx_z85_decode("#####w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", b), RX_INVALID);
}
END_TEST

START_TEST(curve_files)
{
	char dir[TU_PATH_MAX], path[256], text[256];
	rx_curve_t kp, loaded;
	tu_subdir(dir);
	snprintf(path, sizeof path, "%s/clinic.curve", dir);
	ck_assert_int_eq(rx_curve_create(path, &kp), RX_OK);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(rx_curve_create(path, &loaded), RX_CONFLICT);
	ck_assert_int_eq(rx_curve_load(path, &loaded), RX_OK);
	ck_assert_mem_eq(loaded.pk, kp.pk, 32);
	ck_assert_mem_eq(loaded.sk, kp.sk, 32);

	/* A public key that is not the secret's is refused. */
	char pub[RX_Z85_LEN + 1], sec[RX_Z85_LEN + 1];
	rx_z85_encode(kp.sk, sec);
	kp.pk[0] ^= 1;
	rx_z85_encode(kp.pk, pub);
	snprintf(path, sizeof path, "%s/mismatch.curve", dir);
	snprintf(text, sizeof text, "public = %s\nsecret = %s\n", pub, sec);
	write_file(path, text, 0600);
	ck_assert_int_eq(rx_curve_load(path, &loaded), RX_INVALID);
	/* Readable by others: refused. */
	snprintf(path, sizeof path, "%s/open.curve", dir);
	ck_assert_int_eq(rx_curve_create(path, &kp), RX_OK);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(rx_curve_load(path, &loaded), RX_PERMISSION_DENIED);
	snprintf(path, sizeof path, "%s/none.curve", dir);
	ck_assert_int_eq(rx_curve_load(path, &loaded), RX_NOT_FOUND);
	ck_assert_int_eq(rx_curve_load_or_create(path, &kp), RX_OK);
	ck_assert_int_eq(rx_curve_load_or_create(path, &loaded), RX_OK);
	ck_assert_mem_eq(loaded.pk, kp.pk, 32);
}
END_TEST

/* A key's check value: keyed by the key, separated by name, not the key. */
START_TEST(key_check_values)
{
	uint8_t a[32], b[32], v1[RX_KEY_CHECK_LEN], v2[RX_KEY_CHECK_LEN], v3[RX_KEY_CHECK_LEN];
	memset(a, 7, sizeof a);
	memcpy(b, a, sizeof b);
	b[31] ^= 1;
	rx_key_check_value(a, "data.key", v1);
	rx_key_check_value(a, "data.key", v2);
	ck_assert_mem_eq(v1, v2, sizeof v1);
	rx_key_check_value(b, "data.key", v2);
	ck_assert(memcmp(v1, v2, sizeof v1) != 0);
	rx_key_check_value(a, "pseudonym.key", v3);
	ck_assert(memcmp(v1, v3, sizeof v1) != 0);
	ck_assert(memcmp(v1, a, sizeof a) != 0);
	char out[64];
	ck_assert_int_eq(rx_pseudonym_key_default("/var/lib/rx", out, sizeof out), RX_OK);
	ck_assert_str_eq(out, "/var/lib/rx-keys/pseudonym.key");
	ck_assert_int_eq(rx_pseudonym_key_default("./var/rx//", out, sizeof out), RX_OK);
	ck_assert_str_eq(out, "./var/rx-keys/pseudonym.key");
	ck_assert_int_eq(rx_pseudonym_key_default("/", out, sizeof out), RX_INVALID);
	ck_assert_int_eq(rx_pseudonym_key_default("", out, sizeof out), RX_INVALID);
	ck_assert_int_eq(rx_pseudonym_key_default("/a/very/long/data/directory/name", out, 20), RX_INVALID);
}
END_TEST

static Suite *crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc;

	tc = tcase_create("sign");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, context_strings);
	tcase_add_test(tc, hash_without_field);
	tcase_add_loop_test(tc, sign_verify_each_context, 0, N_CTX);
	tcase_add_test(tc, signature_bound_to_context);
	tcase_add_test(tc, every_signature_bit_flip_fails);
	tcase_add_test(tc, every_message_bit_flip_fails);
	tcase_add_test(tc, wrong_and_degenerate_keys_fail);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash_hex");
	tcase_add_test(tc, hash_known_answers);
	tcase_add_test(tc, hex_round_trip);
	tcase_add_test(tc, unhex_refuses);
	suite_add_tcase(s, tc);

	tc = tcase_create("keyfile");
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, key_create_and_load);
	tcase_add_test(tc, key_create_refuses_overwrite);
	tcase_add_test(tc, key_load_refuses_readable_by_others);
	tcase_add_test(tc, key_load_missing_and_garbage);
	tcase_add_test(tc, key_load_or_create);
	tcase_add_test(tc, z85_known_keys);
	tcase_add_test(tc, curve_files);
	tcase_add_test(tc, key_check_values);
	suite_add_tcase(s, tc);

	suite_add_tcase(s, vectors_tcase());
	return s;
}

int main(void)
{
	if (rx_crypto_init() != RX_OK)
		return EXIT_FAILURE;
	return tu_run(crypto_suite());
}
