/* test_vectors: the protocol's worked test vectors (proto/README.md, "Test
 * vectors", protocol v2), recomputed from their seeds and checked against
 * the document itself.  Part of the crypto suite (test_crypto.c). */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rx.pb-c.h"
#include "rx_check.h"
#include "rx_crypto.h"
#include "rx_ids.h"
#include "test_vectors.h"

/* ---- fixed inputs (V1, V2) ----
 * Every expected value below was computed with an independent
 * implementation (protobuf encoded by hand, Python's hashlib BLAKE2b and the
 * cryptography package's Ed25519), and is frozen here and in the document.
 * The tests rebuild each value with the code rxd and rxclient use, check it
 * byte for byte, verify the frozen signatures over the frozen bytes, and
 * check that the document still holds every frozen value. */

static const char VEC_SEED[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char VEC_PK[] = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char VEC_PATIENT[] = "P408CSTDA65G3Z60K3";
static const int64_t VEC_ISSUED_AT = 1764547200;  /* 2025-12-01 09:00 JST */
static const int64_t VEC_VALID_UNTIL = 1764860400; /* 2025-12-05 00:00 JST */
static const char V_PH_SEED[] = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
static const char V_CARD_SEED[] = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";
static const char V_BROKER_SEED[] = "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f";
static const char V_DATA_KEY[] = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
static const char V_RID[] = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";   /* V4's STATUS */
static const char V_NONCE[] = "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"; /* V3's assertion */
static const char V1_RID[] = "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf";  /* V1's SUBMIT */
static const char V1_NONCE[] = "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"; /* V1's assertion */
static const char V5_RID[] = "e0e1e2e3e4e5e6e7e8e9eaebecedeeef";  /* V5's DISPENSE */
static const char V5_TOKEN[] = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"; /* its claim token */
static const char V_RXID[] = "7K3M-9QXR-2B46";
static const char V_CODE[] = "H4TK-9W2Q-XMW";
static const char V_CLINIC[] = "1312345678";
static const char V_PHARMACY[] = "1398765432";
static const int64_t V_CARD_AT = 1764550800;    /* 2025-12-01 10:00 JST */
static const int64_t V_DISPENSED_AT = 1764554400; /* 11:00 JST */
static const int64_t V_STATUS_AT = 1764558000;  /* 12:00 JST */
static const int64_t V_NOTICE_AT = 1764547260;  /* 09:01 JST */

static const char V_PH_PK[] = "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7";
static const char V_CARD_PK[] = "2543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d";
static const char V_BROKER_PK[] = "174553b456dddfc6908ecab1c101fe6ab21e2baa0617795b7d43a63482993fd5";

/* ---- V1: a SUBMIT (protocol v2) ---- */
static const char V1_CARD_MSG[] =
	"080110011a0a313331323334353637382080b5b3c9062a10d0d1d2d3d4d5d6d7d8d9dadbdcdddedf32"
	"202543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d";
static const char V1_CARD_SIG[] =
	"f3947ecd44de450e12eb565d01d309ee5159fa9c710d219598378ffc275cf421a94476c6ad197147c1"
	"85318593383a81e3fdba4734fa9921859a3e204aeeb301";
static const char V1_CALL_MSG[] =
	"0a10c0c1c2c3c4c5c6c7c8c9cacbcccdcecf1001428e010a4a080110011a0a31333132333435363738"
	"2080b5b3c9062a10d0d1d2d3d4d5d6d7d8d9dadbdcdddedf32202543b92ff1095511476adc8369db6d"
	"dc933665a11978dda1404ee1066ca9559d1240f3947ecd44de450e12eb565d01d309ee5159fa9c710d"
	"219598378ffc275cf421a94476c6ad197147c185318593383a81e3fdba4734fa9921859a3e204aeeb3"
	"01";
static const char V1_CALL_HASH[] = "f72aeb2613110fecb789d4e9baddb9edd169067d133150bd9f6bc715b175fd15";
static const char V1_RX_MSG[] =
	"08021212503430384353544441363547335a36304b331a2003a107bff3ce10be1d70dd18e74bc09967"
	"e4d6309ba50d5f1ddc8664125531b8220a313331323334353637382880b5b3c90630f0c3c6c9063801"
	"42570a0c32313731303232463130323912154e6f727661736320322e35206d67207461626c65741a08"
	"31207461626c657422067461626c65742a1a6f6e6365206461696c7920616674657220627265616b66"
	"617374301c381c52202543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d"
	"6220f72aeb2613110fecb789d4e9baddb9edd169067d133150bd9f6bc715b175fd15";
static const char V1_RX_SIG[] =
	"1180be027f66fb64a46441abe3135facc49336b467c9afbc43a548455875fa2b7a4d7dc02bd3976197"
	"e05e97b361248ffa52a3ac6f6cbd2f2dbab11433a7540e";
static const char V1_RX_HASH[] = "87cf6d7fb87e466bc3f69a4acef5c948ff140e771982d237b7470ab81321a858";
static const char V1_REQUEST[] =
	"0a2003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b812a5010a10c0c1"
	"c2c3c4c5c6c7c8c9cacbcccdcecf1001428e010a4a080110011a0a313331323334353637382080b5b3"
	"c9062a10d0d1d2d3d4d5d6d7d8d9dadbdcdddedf32202543b92ff1095511476adc8369db6ddc933665"
	"a11978dda1404ee1066ca9559d1240f3947ecd44de450e12eb565d01d309ee5159fa9c710d21959837"
	"8ffc275cf421a94476c6ad197147c185318593383a81e3fdba4734fa9921859a3e204aeeb3011a4011"
	"80be027f66fb64a46441abe3135facc49336b467c9afbc43a548455875fa2b7a4d7dc02bd3976197e0"
	"5e97b361248ffa52a3ac6f6cbd2f2dbab11433a7540e22ef0108021212503430384353544441363547"
	"335a36304b331a2003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b822"
	"0a313331323334353637382880b5b3c90630f0c3c6c906380142570a0c323137313032324631303239"
	"12154e6f727661736320322e35206d67207461626c65741a0831207461626c657422067461626c6574"
	"2a1a6f6e6365206461696c7920616674657220627265616b66617374301c381c52202543b92ff10955"
	"11476adc8369db6ddc933665a11978dda1404ee1066ca9559d6220f72aeb2613110fecb789d4e9badd"
	"b9edd169067d133150bd9f6bc715b175fd15";

/* A version-1 prescription and dispense record as stored before protocol
 * v2 (protocol v1's V1 and V5): STATUS still returns them, and they verify
 * under their v1 contexts. */
static const char V1_STORED_MSG[] =
	"08011212503430384353544441363547335a36304b331a2003a107bff3ce10be1d70dd18e74bc09967"
	"e4d6309ba50d5f1ddc8664125531b8220a313331323334353637382880b5b3c90630f0c3c6c9063801"
	"42570a0c32313731303232463130323912154e6f727661736320322e35206d67207461626c65741a08"
	"31207461626c657422067461626c65742a1a6f6e6365206461696c7920616674657220627265616b66"
	"617374301c381c";
static const char V1_STORED_SIG[] =
	"ec620a1073c2044aa570d6c0048d0f364fe00b420206fc396517ac5b00f95edea5e36980af1df7464a"
	"1be7f8c54fc3aaefaa44ed64c6f00e8bc457b39bc29400";
static const char V5_STORED_MSG[] =
	"0801120e374b334d2d395158522d324234361801222029acbae141bccaf0b22e1a94d34d0bc7361e52"
	"6d0bfe12c89794bc9322966dd732570a0c32313731303232463130323912154e6f727661736320322e"
	"35206d67207461626c65741a0831207461626c657422067461626c65742a1a6f6e6365206461696c79"
	"20616674657220627265616b66617374301c381c";
static const char V5_STORED_SIG[] =
	"306c6f372811b9f7ede5bd55fd505d1a145f7d460024b442566ef1aae0cd719ab2649bc502190df557"
	"8d00965362f8968482e652abfdd027fb52aa52f7bd2309";

/* ---- V3, V4: a card assertion and a STATUS call (unchanged by v2) ---- */
static const char V_CARD_MSG[] =
	"080110021a0a313339383736353433322090d1b3c9062a10b0b1b2b3b4b5b6b7b8b9babbbcbdbebf32"
	"202543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d";
static const char V_CARD_SIG[] =
	"10c57f246bfccb30c03c49320817baaedfa6fc60b67e5b169c6403332fb3537de18a2d2ec01433f162"
	"7ee3001b1237f2bdad91a8777eb9adf21eb31aa3911c0d";
static const char V_CALL_MSG[] =
	"0a10a0a1a2a3a4a5a6a7a8a9aaabacadaeaf10061a0e374b334d2d395158522d32423436428e010a4a"
	"080110021a0a313339383736353433322090d1b3c9062a10b0b1b2b3b4b5b6b7b8b9babbbcbdbebf32"
	"202543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d124010c57f246bfc"
	"cb30c03c49320817baaedfa6fc60b67e5b169c6403332fb3537de18a2d2ec01433f1627ee3001b1237"
	"f2bdad91a8777eb9adf21eb31aa3911c0d";
static const char V_CALL_SIG[] =
	"32f1677af186f7797ee3c5f5ccb7fbdae2df8cb553838435adcde6220706868ed32119111cff404ddb"
	"7d03f10c16617bc520af1c474eff8b175d63f21da6a400";

/* ---- V5, V6: a DISPENSE (protocol v2), dispenses_hash, a receipt ---- */
static const char V5_CALL_MSG[] =
	"0a10e0e1e2e3e4e5e6e7e8e9eaebecedeeef10041a0e374b334d2d395158522d324234362210f0f1f2"
	"f3f4f5f6f7f8f9fafbfcfdfeff";
static const char V5_CALL_HASH[] = "306df0c3bf7fc5345b67164e5f1fd3e1498cafa3f4af5602d443df1c2a8c6a14";
static const char V5_DISP_MSG[] =
	"0802120e374b334d2d395158522d324234361801222029acbae141bccaf0b22e1a94d34d0bc7361e52"
	"6d0bfe12c89794bc9322966dd74220306df0c3bf7fc5345b67164e5f1fd3e1498cafa3f4af5602d443"
	"df1c2a8c6a144a5d080110011a570a0c32313731303232463130323912154e6f727661736320322e35"
	"206d67207461626c65741a0831207461626c657422067461626c65742a1a6f6e6365206461696c7920"
	"616674657220627265616b66617374301c381c";
static const char V5_DISP_SIG[] =
	"3aa49db14eb57286a71bed4b652f789d641d26843d055143b20314df9ba166d9b19d00b3204c1dc906"
	"291b00902bdc6f8daec2e35624a4c3ff7d4b132715f605";
static const char V5_DISP_HASH[] = "b5bd79454eaf43ab16ae54eccbab47027bac6ee713fa93af34c3847ab32254bf";
static const char V5_REQUEST[] =
	"0a2029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd712360a10e0e1e2"
	"e3e4e5e6e7e8e9eaebecedeeef10041a0e374b334d2d395158522d324234362210f0f1f2f3f4f5f6f7"
	"f8f9fafbfcfdfeff1a403aa49db14eb57286a71bed4b652f789d641d26843d055143b20314df9ba166"
	"d9b19d00b3204c1dc906291b00902bdc6f8daec2e35624a4c3ff7d4b132715f6052ab7010802120e37"
	"4b334d2d395158522d324234361801222029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c8"
	"9794bc9322966dd74220306df0c3bf7fc5345b67164e5f1fd3e1498cafa3f4af5602d443df1c2a8c6a"
	"144a5d080110011a570a0c32313731303232463130323912154e6f727661736320322e35206d672074"
	"61626c65741a0831207461626c657422067461626c65742a1a6f6e6365206461696c79206166746572"
	"20627265616b66617374301c381c";
static const char V5_DISP_PRE[] =
	"0000000100000000692cf6a03133393837363534333200b5bd79454eaf43ab16ae54eccbab47027bac"
	"6ee713fa93af34c3847ab32254bf3aa49db14eb57286a71bed4b652f789d641d26843d055143b20314"
	"df9ba166d9b19d00b3204c1dc906291b00902bdc6f8daec2e35624a4c3ff7d4b132715f605";
static const char V5_DISPENSES_HASH[] = "ce149c97ad321c2bc03158bb8b5f4c281f961015dee946779fe6d92f682d8e34";
static const char V6_RECEIPT_MSG[] =
	"0a20174553b456dddfc6908ecab1c101fe6ab21e2baa0617795b7d43a63482993fd51210a0a1a2a3a4"
	"a5a6a7a8a9aaabacadaeaf180620b089b4c9062a0e374b334d2d395158522d324234363003522087cf"
	"6d7fb87e466bc3f69a4acef5c948ff140e771982d237b7470ab81321a8585a2029acbae141bccaf0b2"
	"2e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd778f0c3c6c90682010a313331323334353637"
	"38880101900180b5b3c906c20120ce149c97ad321c2bc03158bb8b5f4c281f961015dee946779fe6d9"
	"2f682d8e34";
static const char V6_RECEIPT_SIG[] =
	"21f64cf732942a2cd97655aeaa301321f6db435ea079ea41f1d97c8df8d3d7c0059cb4f97f02ee4baf"
	"3ed1142d8810aa19d48331dd9e6d80405d30d961ce7e09";

/* ---- V7, V8: a notice and the access-code hash (unchanged by v2) ---- */
static const char V_NOTICE_MSG[] =
	"080110011a0a31333938373635343332220e374b334d2d395158522d324234362a1250343038435354"
	"4441363547335a36304b33320a3133313233343536373838bcb5b3c90640015220174553b456dddfc6"
	"908ecab1c101fe6ab21e2baa0617795b7d43a63482993fd5";
static const char V_NOTICE_SIG[] =
	"cc06465ddda9343d4b8cb447e37b7f536b9e902cf9f0f4fd3f566ecd395ac9920f4b90da8352e567ab"
	"a189696abb8e3020ea28bef7847fb2d47ff89f6e528603";
static const char V_CODE_KEY[] = "219ff632964f995e52e9355b21dba6eab37a70b8bb01b58479f7d1b0f6177775";
static const char V_CODE_HASH[] = "b752b20b2a595ff68e832d0da88e77bae719e3f073b694a2984b975e567de8fa";

/* n bytes equal the frozen hex want (what names them in a failure). */
static void hex_is(const char *what, const uint8_t *b, size_t n, const char *want)
{
	static char h[4096];
	ck_assert_uint_lt(2 * n + 1, sizeof h);
	rx_hex(b, n, h);
	ck_assert_msg(strcmp(h, want) == 0, "%s: got %s", what, h);
}

/* Pack m into a heap buffer (*len bytes); the caller frees it. */
static uint8_t *packed(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(*len ? *len : 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(protobuf_c_message_pack(m, b), *len);
	return b;
}

/* The frozen hex as bytes, in a heap buffer (*len bytes); the caller frees it. */
static uint8_t *unhexed(const char *hex, size_t *len)
{
	*len = strlen(hex) / 2;
	uint8_t *b = malloc(*len ? *len : 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(rx_unhex(hex, b, *len), RX_OK);
	return b;
}

static void seq_bytes(uint8_t *b, size_t n, unsigned first)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(first + i);
}

/* Sign msg under ctx with kp, check against the frozen signature, and check
 * the frozen signature over the frozen bytes the way the document builds
 * it: context, one zero byte, the bytes, as a plain Ed25519 message. */
static void sig_is(const char *what, rx_sign_ctx_t ctx, const rx_keypair_t *kp, const uint8_t *msg,
		   size_t len, const char *want_msg, const char *want_sig)
{
	uint8_t sig[RX_SIG_LEN];
	ck_assert_int_eq(rx_sign(ctx, kp->sk, msg, len, sig), RX_OK);
	hex_is(what, sig, sizeof sig, want_sig);
	size_t n = (strlen(want_msg)) / 2, clen = strlen(rx_sign_context(ctx));
	uint8_t *framed = malloc(clen + 1 + n), vsig[RX_SIG_LEN];
	ck_assert_ptr_nonnull(framed);
	memcpy(framed, rx_sign_context(ctx), clen);
	framed[clen] = 0;
	ck_assert_int_eq(rx_unhex(want_msg, framed + clen + 1, n), RX_OK);
	ck_assert_int_eq(rx_unhex(want_sig, vsig, sizeof vsig), RX_OK);
	ck_assert_int_eq(crypto_sign_verify_detached(vsig, framed, clen + 1 + n, kp->pk), 0);
	ck_assert_int_eq(rx_verify(ctx, kp->pk, framed + clen + 1, n, vsig), RX_OK);
	/* under that context only (the v1 document contexts included) ... */
	for (int c = RX_SIGN_PRESCRIPTION; c <= RX_SIGN_DISPENSE_V1; c++)
		if (c != (int)ctx)
			ck_assert_int_eq(rx_verify((rx_sign_ctx_t)c, kp->pk, framed + clen + 1, n, vsig),
					 RX_BAD_SIGNATURE);
	/* ... and not as a plain Ed25519 signature of the bytes */
	ck_assert_int_ne(crypto_sign_verify_detached(vsig, framed + clen + 1, n, kp->pk), 0);
	free(framed);
}

static void seed_pair(const char *hex, unsigned first, rx_keypair_t *kp)
{
	uint8_t seed[RX_SEED_LEN];
	seq_bytes(seed, sizeof seed, first);
	hex_is("seed", seed, sizeof seed, hex);
	rx_keypair_from_seed(seed, kp);
}

/* The one item of every prescription and dispense record here. */
static void norvasc(Rx__Item *it)
{
	rx__item__init(it);
	it->drug_code = "2171022F1029";
	it->name = "Norvasc 2.5 mg tablet";
	it->dose = "1 tablet";
	it->unit = "tablet";
	it->usage = "once daily after breakfast";
	it->days = 28;
	it->quantity = 28;
}

/* A SUBMIT's or DISPENSE's Request: key, call, the one signature sig and the
 * document (ctx says which), packed, is the frozen want.  Then the frozen
 * bytes are checked as a verifier does (proto/README 5.4 steps 7 and 7a):
 * the signature holds over the document bytes under ctx with Request.key,
 * and the document's call_hash is the hash of Request.call, so a call
 * changed in one bit is no longer the call signed. */
static void bound_request_is(const char *what, rx_sign_ctx_t ctx, const rx_keypair_t *kp,
			     const uint8_t *call, size_t call_len, const uint8_t sig[RX_SIG_LEN],
			     const uint8_t *doc, size_t doc_len, const char *want)
{
	Rx__Request r = RX__REQUEST__INIT;
	r.key.data = (uint8_t *)kp->pk;
	r.key.len = RX_KEY_LEN;
	r.call.data = (uint8_t *)call;
	r.call.len = call_len;
	r.signature.data = (uint8_t *)sig;
	r.signature.len = RX_SIG_LEN;
	ProtobufCBinaryData *slot = ctx == RX_SIGN_PRESCRIPTION ? &r.prescription : &r.dispense;
	slot->data = (uint8_t *)doc;
	slot->len = doc_len;
	size_t len;
	uint8_t *b = packed(&r.base, &len);
	hex_is(what, b, len, want);
	free(b);

	b = unhexed(want, &len);
	Rx__Request *q = rx__request__unpack(NULL, len, b);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(q->key.len, RX_KEY_LEN);
	ck_assert_mem_eq(q->key.data, kp->pk, RX_KEY_LEN);
	ck_assert_uint_eq(q->signature.len, RX_SIG_LEN);
	const ProtobufCBinaryData *d = ctx == RX_SIGN_PRESCRIPTION ? &q->prescription : &q->dispense;
	const ProtobufCBinaryData *other = ctx == RX_SIGN_PRESCRIPTION ? &q->dispense : &q->prescription;
	ck_assert_uint_eq(other->len, 0);
	ck_assert_int_eq(rx_verify(ctx, q->key.data, d->data, d->len, q->signature.data), RX_OK);
	/* The signature is over the document, not over the call. */
	ck_assert_int_eq(rx_verify(RX_SIGN_CALL, q->key.data, q->call.data, q->call.len, q->signature.data),
			 RX_BAD_SIGNATURE);
	ProtobufCBinaryData named;
	Rx__Prescription *p = NULL;
	Rx__DispenseRecord *rec = NULL;
	if (ctx == RX_SIGN_PRESCRIPTION) {
		ck_assert_ptr_nonnull(p = rx__prescription__unpack(NULL, d->len, d->data));
		ck_assert_uint_eq(p->version, 2);
		ck_assert_mem_eq(p->prescriber_key.data, q->key.data, RX_KEY_LEN);
		named = p->call_hash;
	} else {
		ck_assert_ptr_nonnull(rec = rx__dispense_record__unpack(NULL, d->len, d->data));
		ck_assert_uint_eq(rec->version, 2);
		ck_assert_mem_eq(rec->pharmacy_key.data, q->key.data, RX_KEY_LEN);
		named = rec->call_hash;
	}
	uint8_t h[RX_HASH_LEN];
	ck_assert_uint_eq(named.len, RX_HASH_LEN);
	rx_hash(q->call.data, q->call.len, h);
	ck_assert_mem_eq(h, named.data, RX_HASH_LEN);
	q->call.data[q->call.len - 1] ^= 1;
	rx_hash(q->call.data, q->call.len, h);
	ck_assert_mem_ne(h, named.data, RX_HASH_LEN);
	if (p)
		rx__prescription__free_unpacked(p, NULL);
	if (rec)
		rx__dispense_record__free_unpacked(rec, NULL);
	rx__request__free_unpacked(q, NULL);
	free(b);
}

/* V1: the prescriber's SUBMIT.  The call carries the patient's card; the
 * prescription (version 2) names the call by its hash; the prescriber's one
 * signature is over the prescription. */
START_TEST(submit_vector)
{
	uint8_t pkey[32], rid[16], nonce[16], csig[RX_SIG_LEN], ch[RX_HASH_LEN], sig[RX_SIG_LEN],
		bh[RX_HASH_LEN];
	char pid[RX_PATIENT_ID_LEN + 1];
	rx_keypair_t doc, card;
	size_t alen, call_len, plen;
	const char *why = NULL;

	seed_pair(VEC_SEED, 0x00, &doc);
	hex_is("prescriber key", doc.pk, RX_KEY_LEN, VEC_PK);
	seed_pair(V_CARD_SEED, 0x40, &card);
	hex_is("card key", card.pk, RX_KEY_LEN, V_CARD_PK);
	memset(pkey, 0x42, sizeof pkey);
	ck_assert_int_eq(rx_patient_id_derive(pkey, "123456789018", pid), RX_OK);
	ck_assert_str_eq(pid, VEC_PATIENT);
	ck_assert_int_eq(rx_valid_until(VEC_ISSUED_AT, 4), VEC_VALID_UNTIL);
	ck_assert_str_eq(rx_sign_context(RX_SIGN_PRESCRIPTION), "rx-exchange v2 prescription");
	ck_assert_int_eq(RX_DOC_VERSION, 2);
	seq_bytes(rid, sizeof rid, 0xc0);
	hex_is("request id", rid, sizeof rid, V1_RID);
	seq_bytes(nonce, sizeof nonce, 0xd0);
	hex_is("nonce", nonce, sizeof nonce, V1_NONCE);

	/* The clinic's card reader: the patient is here, for a prescription. */
	Rx__CardAssertion a = RX__CARD_ASSERTION__INIT;
	a.version = 1;
	a.purpose = RX__PURPOSE__PURPOSE_ISSUE;
	a.institution_code = (char *)V_CLINIC;
	a.at = VEC_ISSUED_AT;
	a.nonce.data = nonce;
	a.nonce.len = sizeof nonce;
	a.card_key.data = card.pk;
	a.card_key.len = RX_KEY_LEN;
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_OK);
	uint8_t *ab = packed(&a.base, &alen);
	hex_is("SUBMIT card assertion", ab, alen, V1_CARD_MSG);
	ck_assert_int_eq(rx_sign(RX_SIGN_CARD, card.sk, ab, alen, csig), RX_OK);
	sig_is("SUBMIT card signature", RX_SIGN_CARD, &card, ab, alen, V1_CARD_MSG, V1_CARD_SIG);

	/* The SUBMIT call: request id, op and card; the prescription is not in it. */
	Rx__Signed sc = RX__SIGNED__INIT;
	sc.body.data = ab;
	sc.body.len = alen;
	sc.signature.data = csig;
	sc.signature.len = RX_SIG_LEN;
	Rx__Call call = RX__CALL__INIT;
	call.request_id.data = rid;
	call.request_id.len = sizeof rid;
	call.op = RX__OP__SUBMIT;
	call.card = &sc;
	uint8_t *cb = packed(&call.base, &call_len);
	hex_is("SUBMIT call", cb, call_len, V1_CALL_MSG);
	rx_hash(cb, call_len, ch);
	hex_is("SUBMIT call hash", ch, sizeof ch, V1_CALL_HASH);

	/* The prescription, bound to the card and to the call. */
	Rx__Item it, *items[1] = {&it};
	norvasc(&it);
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	p.version = RX_DOC_VERSION;
	p.patient_id = pid;
	p.prescriber_key.data = doc.pk;
	p.prescriber_key.len = RX_KEY_LEN;
	p.institution_code = (char *)V_CLINIC;
	p.issued_at = VEC_ISSUED_AT;
	p.valid_until = rx_valid_until(p.issued_at, 4);
	p.uses = 1;
	p.n_items = 1;
	p.items = items;
	p.notes = "";
	p.patient_card.data = card.pk;
	p.patient_card.len = RX_KEY_LEN;
	p.call_hash.data = ch;
	p.call_hash.len = RX_HASH_LEN;
	ck_assert_int_eq(rx_check_prescription(&p, VEC_ISSUED_AT, &why), RX_OK);
	uint8_t *pb = packed(&p.base, &plen);
	hex_is("prescription", pb, plen, V1_RX_MSG);
	rx_hash(pb, plen, bh);
	hex_is("prescription hash", bh, sizeof bh, V1_RX_HASH);
	ck_assert_int_eq(rx_sign(RX_SIGN_PRESCRIPTION, doc.sk, pb, plen, sig), RX_OK);
	sig_is("prescription signature", RX_SIGN_PRESCRIPTION, &doc, pb, plen, V1_RX_MSG, V1_RX_SIG);

	bound_request_is("SUBMIT request", RX_SIGN_PRESCRIPTION, &doc, cb, call_len, sig, pb, plen,
			 V1_REQUEST);

	/* The frozen prescription decodes back to what was written. */
	size_t n;
	uint8_t *fb = unhexed(V1_RX_MSG, &n);
	Rx__Prescription *d = rx__prescription__unpack(NULL, n, fb);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->patient_id, VEC_PATIENT);
	ck_assert_int_eq(d->valid_until, VEC_VALID_UNTIL);
	ck_assert_uint_eq(d->n_items, 1);
	ck_assert_str_eq(d->items[0]->name, "Norvasc 2.5 mg tablet");
	ck_assert_mem_eq(d->patient_card.data, card.pk, RX_KEY_LEN);
	rx__prescription__free_unpacked(d, NULL);
	free(fb);
	free(ab);
	free(cb);
	free(pb);
}
END_TEST

/* A version-1 document stored before v2 verifies under the context
 * rx_doc_context picks from its version, its v1 one, and under no other;
 * at SUBMIT or DISPENSE a version-1 document is refused. */
static void stored_v1_is(rx_sign_ctx_t ctx, rx_sign_ctx_t v1_ctx, const char *v1_name,
			 const rx_keypair_t *kp, const char *want_msg, const char *want_sig)
{
	size_t n;
	uint8_t *b = unhexed(want_msg, &n);
	uint32_t version;
	rx_err_t checked;
	const char *why = NULL;
	if (ctx == RX_SIGN_PRESCRIPTION) {
		Rx__Prescription *p = rx__prescription__unpack(NULL, n, b);
		ck_assert_ptr_nonnull(p);
		version = p->version;
		checked = rx_check_prescription(p, VEC_ISSUED_AT, &why);
		rx__prescription__free_unpacked(p, NULL);
	} else {
		Rx__DispenseRecord *d = rx__dispense_record__unpack(NULL, n, b);
		ck_assert_ptr_nonnull(d);
		version = d->version;
		checked = rx_check_dispense(d, &why);
		rx__dispense_record__free_unpacked(d, NULL);
	}
	ck_assert_uint_eq(version, 1);
	ck_assert_int_eq(checked, RX_INVALID);
	ck_assert_int_eq(rx_doc_context(ctx, version), v1_ctx);
	ck_assert_int_eq(rx_doc_context(ctx, RX_DOC_VERSION), ctx);
	ck_assert_str_eq(rx_sign_context(v1_ctx), v1_name);
	sig_is(v1_name, v1_ctx, kp, b, n, want_msg, want_sig);
	free(b);
}

START_TEST(stored_v1_document_vectors)
{
	rx_keypair_t doc, ph;
	seed_pair(VEC_SEED, 0x00, &doc);
	seed_pair(V_PH_SEED, 0x20, &ph);
	stored_v1_is(RX_SIGN_PRESCRIPTION, RX_SIGN_PRESCRIPTION_V1, "rx-exchange v1 prescription", &doc,
		     V1_STORED_MSG, V1_STORED_SIG);
	stored_v1_is(RX_SIGN_DISPENSE, RX_SIGN_DISPENSE_V1, "rx-exchange v1 dispense", &ph,
		     V5_STORED_MSG, V5_STORED_SIG);
}
END_TEST

START_TEST(card_call_dispense_receipt_notice_vectors)
{
	rx_keypair_t ph, card, broker, doc;
	uint8_t rid[16], nonce[16], drid[16], token[16], h[RX_HASH_LEN], dch[RX_HASH_LEN];
	size_t clen, call_len, dcall_len, dlen, rlen, nlen;

	seed_pair(V_PH_SEED, 0x20, &ph);
	seed_pair(V_CARD_SEED, 0x40, &card);
	seed_pair(V_BROKER_SEED, 0x60, &broker);
	seed_pair(VEC_SEED, 0x00, &doc);
	hex_is("pharmacy key", ph.pk, RX_KEY_LEN, V_PH_PK);
	hex_is("card key", card.pk, RX_KEY_LEN, V_CARD_PK);
	hex_is("broker key", broker.pk, RX_KEY_LEN, V_BROKER_PK);
	seq_bytes(rid, sizeof rid, 0xa0);
	hex_is("request id", rid, sizeof rid, V_RID);
	seq_bytes(nonce, sizeof nonce, 0xb0);
	hex_is("nonce", nonce, sizeof nonce, V_NONCE);
	seq_bytes(drid, sizeof drid, 0xe0);
	hex_is("DISPENSE request id", drid, sizeof drid, V5_RID);
	seq_bytes(token, sizeof token, 0xf0);
	hex_is("claim token", token, sizeof token, V5_TOKEN);

	/* V3: the card assertion the pharmacy's reader makes. */
	Rx__CardAssertion a = RX__CARD_ASSERTION__INIT;
	a.version = 1;
	a.purpose = RX__PURPOSE__PURPOSE_DISPENSE;
	a.institution_code = (char *)V_PHARMACY;
	a.at = V_CARD_AT;
	a.nonce.data = nonce;
	a.nonce.len = sizeof nonce;
	a.card_key.data = card.pk;
	a.card_key.len = RX_KEY_LEN;
	const char *why = NULL;
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_OK);
	uint8_t *cmsg = packed(&a.base, &clen);
	hex_is("card assertion", cmsg, clen, V_CARD_MSG);
	uint8_t csig[RX_SIG_LEN];
	ck_assert_int_eq(rx_sign(RX_SIGN_CARD, card.sk, cmsg, clen, csig), RX_OK);
	sig_is("card signature", RX_SIGN_CARD, &card, cmsg, clen, V_CARD_MSG, V_CARD_SIG);

	/* V4: the pharmacy's STATUS call carrying it, signed as a call. */
	Rx__Signed sc = RX__SIGNED__INIT;
	sc.body.data = cmsg;
	sc.body.len = clen;
	sc.signature.data = csig;
	sc.signature.len = RX_SIG_LEN;
	Rx__Call call = RX__CALL__INIT;
	call.request_id.data = rid;
	call.request_id.len = sizeof rid;
	call.op = RX__OP__STATUS;
	call.prescription_id = (char *)V_RXID;
	call.card = &sc;
	uint8_t *callb = packed(&call.base, &call_len);
	hex_is("call", callb, call_len, V_CALL_MSG);
	sig_is("call signature", RX_SIGN_CALL, &ph, callb, call_len, V_CALL_MSG, V_CALL_SIG);

	/* V5: the DISPENSE of use 1: its call, and the dispense record (version
	 * 2) naming that call, signed once by the pharmacy. */
	Rx__Call dcall = RX__CALL__INIT;
	dcall.request_id.data = drid;
	dcall.request_id.len = sizeof drid;
	dcall.op = RX__OP__DISPENSE;
	dcall.prescription_id = (char *)V_RXID;
	dcall.claim_token.data = token;
	dcall.claim_token.len = sizeof token;
	uint8_t *dcb = packed(&dcall.base, &dcall_len);
	hex_is("DISPENSE call", dcb, dcall_len, V5_CALL_MSG);
	rx_hash(dcb, dcall_len, dch);
	hex_is("DISPENSE call hash", dch, sizeof dch, V5_CALL_HASH);
	Rx__Item it;
	Rx__Line line = RX__LINE__INIT, *lines[1] = {&line};
	norvasc(&it);
	line.item = 1;
	line.outcome = RX__OUTCOME__AS_WRITTEN;
	line.handed = &it;
	Rx__DispenseRecord d = RX__DISPENSE_RECORD__INIT;
	d.version = RX_DOC_VERSION;
	d.prescription_id = (char *)V_RXID;
	d.use = 1;
	d.pharmacy_key.data = ph.pk;
	d.pharmacy_key.len = RX_KEY_LEN;
	d.n_lines = 1;
	d.lines = lines;
	d.call_hash.data = dch;
	d.call_hash.len = RX_HASH_LEN;
	ck_assert_int_eq(rx_check_dispense(&d, &why), RX_OK);
	uint8_t *db = packed(&d.base, &dlen);
	hex_is("dispense record", db, dlen, V5_DISP_MSG);
	uint8_t dsig[RX_SIG_LEN], dbh[RX_HASH_LEN];
	rx_hash(db, dlen, dbh);
	hex_is("dispense record hash", dbh, sizeof dbh, V5_DISP_HASH);
	ck_assert_int_eq(rx_sign(RX_SIGN_DISPENSE, ph.sk, db, dlen, dsig), RX_OK);
	sig_is("dispense signature", RX_SIGN_DISPENSE, &ph, db, dlen, V5_DISP_MSG, V5_DISP_SIG);
	bound_request_is("DISPENSE request", RX_SIGN_DISPENSE, &ph, dcb, dcall_len, dsig, db, dlen,
			 V5_REQUEST);

	/* The record as STATUS returns it, and the dispenses_hash. */
	Rx__Signed sd = RX__SIGNED__INIT;
	sd.body.data = db;
	sd.body.len = dlen;
	sd.signature.data = dsig;
	sd.signature.len = RX_SIG_LEN;
	Rx__DispenseInfo info = RX__DISPENSE_INFO__INIT;
	info.record = &sd;
	info.at = V_DISPENSED_AT;
	info.institution_code = (char *)V_PHARMACY;
	info.use = 1;
	Rx__DispenseInfo *infos[1] = {&info};
	/* What the document says is hashed, built by hand ... */
	uint8_t pre[4 + 8 + sizeof V_PHARMACY + RX_HASH_LEN + RX_SIG_LEN], *p = pre;
	*p++ = 0, *p++ = 0, *p++ = 0, *p++ = 1;
	for (int i = 7; i >= 0; i--)
		*p++ = (uint8_t)((uint64_t)V_DISPENSED_AT >> (8 * i));
	memcpy(p, V_PHARMACY, sizeof V_PHARMACY); /* with its NUL */
	p += sizeof V_PHARMACY;
	rx_hash(db, dlen, p);
	p += RX_HASH_LEN;
	memcpy(p, dsig, RX_SIG_LEN);
	p += RX_SIG_LEN;
	ck_assert_uint_eq((size_t)(p - pre), sizeof pre);
	hex_is("dispenses_hash input", pre, sizeof pre, V5_DISP_PRE);
	uint8_t dh[RX_HASH_LEN];
	rx_hash(pre, sizeof pre, h);
	/* ... is what the code hashes. */
	rx_dispenses_hash(infos, 1, dh);
	ck_assert_mem_eq(dh, h, RX_HASH_LEN);
	hex_is("dispenses_hash", dh, sizeof dh, V5_DISPENSES_HASH);

	/* V6: the broker's receipt for V4's STATUS; its body_hash names V1's
	 * prescription. */
	size_t bl;
	uint8_t *body = unhexed(V1_RX_MSG, &bl), bh[RX_HASH_LEN];
	rx_hash(body, bl, bh);
	hex_is("body hash", bh, sizeof bh, V1_RX_HASH);
	free(body);
	Rx__Receipt rc = RX__RECEIPT__INIT;
	rc.broker_key.data = broker.pk;
	rc.broker_key.len = RX_KEY_LEN;
	rc.request_id.data = rid;
	rc.request_id.len = sizeof rid;
	rc.op = RX__OP__STATUS;
	rc.at = V_STATUS_AT;
	rc.prescription_id = (char *)V_RXID;
	rc.state = RX__STATE__DISPENSED;
	rc.uses_left = 0;
	rc.body_hash.data = bh;
	rc.body_hash.len = RX_HASH_LEN;
	rc.caller_key.data = ph.pk;
	rc.caller_key.len = RX_KEY_LEN;
	rc.valid_until = VEC_VALID_UNTIL;
	rc.institution_code = (char *)V_CLINIC;
	rc.uses = 1;
	rc.issued_at = VEC_ISSUED_AT;
	rc.dispenses_hash.data = dh;
	rc.dispenses_hash.len = RX_HASH_LEN;
	uint8_t *rb = packed(&rc.base, &rlen);
	hex_is("receipt", rb, rlen, V6_RECEIPT_MSG);
	sig_is("receipt signature", RX_SIGN_RECEIPT, &broker, rb, rlen, V6_RECEIPT_MSG, V6_RECEIPT_SIG);

	/* V7: a pushed notice of a new prescription for a nominated pharmacy. */
	Rx__Notice n = RX__NOTICE__INIT;
	n.seq = 1;
	n.kind = RX__NOTICE_KIND__NOTICE_NEW;
	n.pharmacy_code = (char *)V_PHARMACY;
	n.prescription_id = (char *)V_RXID;
	n.patient_id = (char *)VEC_PATIENT;
	n.institution_code = (char *)V_CLINIC;
	n.at = V_NOTICE_AT;
	n.state = RX__STATE__ISSUED;
	n.broker_key.data = broker.pk;
	n.broker_key.len = RX_KEY_LEN;
	uint8_t *nb = packed(&n.base, &nlen);
	hex_is("notice", nb, nlen, V_NOTICE_MSG);
	sig_is("notice signature", RX_SIGN_NOTICE, &broker, nb, nlen, V_NOTICE_MSG, V_NOTICE_SIG);

	free(cmsg);
	free(callb);
	free(dcb);
	free(db);
	free(rb);
	free(nb);
}
END_TEST

START_TEST(access_code_hash_vector)
{
	uint8_t dk[32], ck[32], ck2[32], h[RX_HASH_LEN], h2[RX_HASH_LEN];
	char id[RX_ID_LEN + 1], code[RX_ACCESS_CODE_LEN + 1];
	seq_bytes(dk, sizeof dk, 0x80);
	hex_is("data key", dk, sizeof dk, V_DATA_KEY);
	/* rxd reads DATA/data.key as a key file and hands the store the first
	 * 32 bytes of libsodium's secret key: the seed itself. */
	rx_keypair_t kp;
	rx_keypair_from_seed(dk, &kp);
	ck_assert_mem_eq(kp.sk, dk, 32);

	rx_access_code_key(dk, ck);
	crypto_generichash(ck2, 32, (const uint8_t *)"rx-exchange access code key v1", 30, dk, 32);
	ck_assert_mem_eq(ck, ck2, 32);
	hex_is("code key", ck, sizeof ck, V_CODE_KEY);

	ck_assert_int_eq(rx_rxid_parse(V_RXID, id), RX_OK);
	ck_assert_int_eq(rx_access_code_parse(V_CODE, code), RX_OK);
	ck_assert_str_eq(id, V_RXID);
	ck_assert_str_eq(code, V_CODE);
	rx_access_code_hash(ck, id, code, h);
	uint8_t msg[RX_ID_LEN + RX_ACCESS_CODE_LEN];
	memcpy(msg, id, RX_ID_LEN);
	memcpy(msg + RX_ID_LEN, code, RX_ACCESS_CODE_LEN);
	crypto_generichash(h2, sizeof h2, msg, sizeof msg, ck, 32);
	ck_assert_mem_eq(h, h2, RX_HASH_LEN);
	hex_is("access code hash", h, sizeof h, V_CODE_HASH);
}
END_TEST

/* ---- V9: a WITHDRAW of V5's dispense (proto/README 5.12) ---- */
static const char V9_CALL_MSG[] = "0a10d0d1d2d3d4d5d6d7d8d9dadbdcdddedf100d1a0e374b334d2d395158522d32423436";
static const char V9_RECORD_MSG[] =
	"0802120e374b334d2d395158522d324234361801222029acbae141bccaf0b22e1a94d34d0bc7361e52"
	"6d0bfe12c89794bc9322966dd73a0d6e6f7420636f6c6c656374656442209b6c93212e17b02e30f5ae"
	"c3be5aebc8ec8d2c92f3a0cf016b3b367a46bfd50d5220b5bd79454eaf43ab16ae54eccbab47027bac"
	"6ee713fa93af34c3847ab32254bf5802";
static const char V9_RECORD_SIG[] =
	"f91e395f04346c02e7c042a81a25a8bdf7e76ad455b11f85549b0771c63b48d4315f623fba2f99f829"
	"6f9cca27cda78ee5f36a596904df936086109c77a7c50a";
static const char V9_REQUEST[] =
	"0a2029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd712240a10d0d1d2"
	"d3d4d5d6d7d8d9dadbdcdddedf100d1a0e374b334d2d395158522d324234361a40f91e395f04346c02"
	"e7c042a81a25a8bdf7e76ad455b11f85549b0771c63b48d4315f623fba2f99f8296f9cca27cda78ee5"
	"f36a596904df936086109c77a7c50a2a8b010802120e374b334d2d395158522d324234361801222029"
	"acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd73a0d6e6f7420636f6c6c"
	"656374656442209b6c93212e17b02e30f5aec3be5aebc8ec8d2c92f3a0cf016b3b367a46bfd50d5220"
	"b5bd79454eaf43ab16ae54eccbab47027bac6ee713fa93af34c3847ab32254bf5802";

START_TEST(withdraw_vector)
{
	rx_keypair_t ph;
	uint8_t rid[16], ch[RX_HASH_LEN];
	size_t call_len, rlen, hlen;
	seed_pair(V_PH_SEED, 0x20, &ph);
	seq_bytes(rid, sizeof rid, 0xd0);
	Rx__Call call = RX__CALL__INIT;
	call.request_id.data = rid;
	call.request_id.len = sizeof rid;
	call.op = RX__OP__WITHDRAW;
	call.prescription_id = (char *)V_RXID;
	uint8_t *cb = packed(&call.base, &call_len);
	hex_is("WITHDRAW call", cb, call_len, V9_CALL_MSG);
	rx_hash(cb, call_len, ch);
	uint8_t *replaced = unhexed(V5_DISP_HASH, &hlen);
	Rx__DispenseRecord d = RX__DISPENSE_RECORD__INIT;
	d.version = RX_DOC_VERSION;
	d.prescription_id = (char *)V_RXID;
	d.use = 1;
	d.pharmacy_key.data = ph.pk;
	d.pharmacy_key.len = RX_KEY_LEN;
	d.notes = (char *)"not collected";
	d.call_hash.data = ch;
	d.call_hash.len = RX_HASH_LEN;
	d.replaces.data = replaced;
	d.replaces.len = hlen;
	d.withdraw_reason = RX__WITHDRAW_REASON__NOT_COLLECTED;
	const char *why = NULL;
	ck_assert_int_eq(rx_check_dispense_op(&d, RX_OP_WITHDRAW, &why), RX_OK);
	ck_assert_int_eq(rx_check_dispense_op(&d, RX_OP_AMEND, &why), RX_INVALID);
	ck_assert_int_eq(rx_check_dispense_op(&d, RX_OP_DISPENSE, &why), RX_INVALID);
	uint8_t *rb = packed(&d.base, &rlen), sig[RX_SIG_LEN];
	hex_is("withdrawal", rb, rlen, V9_RECORD_MSG);
	ck_assert_int_eq(rx_sign(RX_SIGN_DISPENSE, ph.sk, rb, rlen, sig), RX_OK);
	sig_is("withdrawal signature", RX_SIGN_DISPENSE, &ph, rb, rlen, V9_RECORD_MSG, V9_RECORD_SIG);
	bound_request_is("WITHDRAW request", RX_SIGN_DISPENSE, &ph, cb, call_len, sig, rb, rlen, V9_REQUEST);
	free(cb);
	free(rb);
	free(replaced);
}
END_TEST

/* ---- V10: an INQUIRE and STATUS's inquiries_hash (proto/README 5.14) ---- */
static const char V10_CALL_MSG[] = "0a10e0e1e2e3e4e5e6e7e8e9eaebecedeeef10101a0e374b334d2d395158522d324234362210f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff7a240801122035206d6720666f7220616e2038322d796561722d6f6c643a20322e35206d673f";
static const char V10_CALL_SIG[] = "dec39759d534e4dea3f1c3aec8010d5d3086ea773d50c2b739a223048c628d0b79bb554f36fdec818dd41c0ee2f820599644fc4a65c15e310533cab103eb2e01";
static const char V10_INQUIRIES_HASH[] = "41f15b8e678251adca0eca2f6209f8955b4e909bc48f4ca31cf95fc89a08f823";
static const int64_t V10_AT = 1764556200; /* 11:30 JST */

START_TEST(inquiry_vector)
{
	rx_keypair_t ph;
	uint8_t rid[16], sig[RX_SIG_LEN], h[RX_HASH_LEN];
	size_t call_len, tlen;
	seed_pair(V_PH_SEED, 0x20, &ph);
	seq_bytes(rid, sizeof rid, 0xe0);
	uint8_t *token = unhexed(V5_TOKEN, &tlen);
	Rx__Inquiry q = RX__INQUIRY__INIT;
	q.reason = RX__INQUIRY_REASON__INQUIRY_DOSE;
	q.text = (char *)"5 mg for an 82-year-old: 2.5 mg?";
	const char *why = NULL;
	ck_assert_int_eq(rx_check_inquiry(&q, V10_AT, &why), RX_OK);
	Rx__Call call = RX__CALL__INIT;
	call.request_id.data = rid;
	call.request_id.len = sizeof rid;
	call.op = RX__OP__INQUIRE;
	call.prescription_id = (char *)V_RXID;
	call.claim_token.data = token;
	call.claim_token.len = tlen;
	call.inquiry = &q;
	uint8_t *cb = packed(&call.base, &call_len);
	hex_is("INQUIRE call", cb, call_len, V10_CALL_MSG);
	ck_assert_int_eq(rx_sign(RX_SIGN_CALL, ph.sk, cb, call_len, sig), RX_OK);
	sig_is("INQUIRE signature", RX_SIGN_CALL, &ph, cb, call_len, V10_CALL_MSG, V10_CALL_SIG);
	/* STATUS: that inquiry, open, as number 1. */
	Rx__Signed sc = RX__SIGNED__INIT;
	sc.body.data = cb;
	sc.body.len = call_len;
	sc.signature.data = sig;
	sc.signature.len = RX_SIG_LEN;
	Rx__InquiryInfo info = RX__INQUIRY_INFO__INIT, *infos[1] = {&info};
	info.number = 1;
	info.call = &sc;
	info.pharmacy_key.data = ph.pk;
	info.pharmacy_key.len = RX_KEY_LEN;
	info.at = V10_AT;
	info.institution_code = (char *)V_PHARMACY;
	rx_inquiries_hash(infos, 1, h);
	hex_is("inquiries_hash", h, sizeof h, V10_INQUIRIES_HASH);
	free(cb);
	free(token);
}
END_TEST

/* The document holds every frozen value above (white space ignored, so a
 * value broken over lines in a code block still counts). */
START_TEST(vectors_are_in_the_document)
{
	const char *path = getenv("RX_PROTO_README");
	ck_assert_msg(path != NULL, "RX_PROTO_README not set");
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	static char doc[1 << 20];
	size_t n = 0;
	int ch;
	while ((ch = fgetc(f)) != EOF && n + 1 < sizeof doc)
		if (ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r')
			doc[n++] = (char)ch;
	doc[n] = '\0';
	fclose(f);
	const char *const frozen[] = {
		VEC_SEED, VEC_PK, VEC_PATIENT, V_PH_SEED, V_CARD_SEED, V_BROKER_SEED, V_DATA_KEY,
		V_RID, V_NONCE, V1_RID, V1_NONCE, V5_RID, V5_TOKEN, V_PH_PK, V_CARD_PK, V_BROKER_PK,
		V1_CARD_MSG, V1_CARD_SIG, V1_CALL_MSG, V1_CALL_HASH, V1_RX_MSG, V1_RX_SIG,
		V1_RX_HASH, V1_REQUEST, V1_STORED_MSG, V1_STORED_SIG, V5_STORED_MSG, V5_STORED_SIG,
		V_CARD_MSG, V_CARD_SIG, V_CALL_MSG, V_CALL_SIG, V5_CALL_MSG, V5_CALL_HASH,
		V5_DISP_MSG, V5_DISP_SIG, V5_DISP_HASH, V5_REQUEST, V5_DISP_PRE, V5_DISPENSES_HASH,
		V6_RECEIPT_MSG, V6_RECEIPT_SIG, V_NOTICE_MSG, V_NOTICE_SIG, V_CODE_KEY, V_CODE_HASH,
		V9_CALL_MSG, V9_RECORD_MSG, V9_RECORD_SIG, V9_REQUEST, V10_CALL_MSG, V10_CALL_SIG,
		V10_INQUIRIES_HASH,
	};
	for (size_t i = 0; i < sizeof frozen / sizeof frozen[0]; i++)
		ck_assert_msg(frozen[i][0] && strstr(doc, frozen[i]) != NULL,
			      "proto/README.md lacks test vector value %s", frozen[i]);
}
END_TEST

TCase *vectors_tcase(void)
{
	TCase *tc = tcase_create("vector");
	tcase_add_test(tc, submit_vector);
	tcase_add_test(tc, stored_v1_document_vectors);
	tcase_add_test(tc, card_call_dispense_receipt_notice_vectors);
	tcase_add_test(tc, access_code_hash_vector);
	tcase_add_test(tc, withdraw_vector);
	tcase_add_test(tc, inquiry_vector);
	tcase_add_test(tc, vectors_are_in_the_document);
	return tc;
}
