/* test_vectors: the protocol's worked test vectors (tests/VECTOR.md and
 * proto/README.md, "Test vectors"), recomputed from their seeds and checked
 * against the document itself.  Part of the crypto suite (test_crypto.c). */
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
/* ---- the protocol test vector (tests/VECTOR.md) ---- */

static const char VEC_SEED[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char VEC_PK[] = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char VEC_PATIENT[] = "P408CSTDA65G3Z60K3";
static const int64_t VEC_ISSUED_AT = 1764547200;  /* 2025-12-01 09:00 JST */
static const int64_t VEC_VALID_UNTIL = 1764860400; /* 2025-12-05 00:00 JST */
static const char VEC_CONTEXT[] = "rx-exchange v1 prescription";
static const char VEC_MSG[] =
	"08011212503430384353544441363547335a36304b331a2003a107bff3ce10be1d70dd18e74bc09967"
	"e4d6309ba50d5f1ddc8664125531b8220a313331323334353637382880b5b3c90630f0c3c6c9063801"
	"42570a0c32313731303232463130323912154e6f727661736320322e35206d67207461626c65741a08"
	"31207461626c657422067461626c65742a1a6f6e6365206461696c7920616674657220627265616b66"
	"617374301c381c";
static const char VEC_SIG[] =
	"ec620a1073c2044aa570d6c0048d0f364fe00b420206fc396517ac5b00f95edea5e36980af1df7464a"
	"1be7f8c54fc3aaefaa44ed64c6f00e8bc457b39bc29400";

START_TEST(protocol_vector)
{
	uint8_t seed[RX_SEED_LEN], pkey[32], sig[RX_SIG_LEN];
	char hex[1024], pid[RX_PATIENT_ID_LEN + 1];
	rx_keypair_t kp;

	for (int i = 0; i < RX_SEED_LEN; i++)
		seed[i] = (uint8_t)i;
	rx_hex(seed, sizeof seed, hex);
	ck_assert_str_eq(hex, VEC_SEED);
	rx_keypair_from_seed(seed, &kp);
	rx_hex(kp.pk, RX_KEY_LEN, hex);
	ck_assert_str_eq(hex, VEC_PK);

	memset(pkey, 0x42, sizeof pkey);
	ck_assert_int_eq(rx_patient_id_derive(pkey, "123456789018", pid), RX_OK);
	ck_assert_str_eq(pid, VEC_PATIENT);
	ck_assert_int_eq(rx_valid_until(VEC_ISSUED_AT, 4), VEC_VALID_UNTIL);
	ck_assert_str_eq(rx_sign_context(RX_SIGN_PRESCRIPTION), VEC_CONTEXT);

	Rx__Item it = RX__ITEM__INIT;
	it.drug_code = "2171022F1029";
	it.name = "Norvasc 2.5 mg tablet";
	it.dose = "1 tablet";
	it.unit = "tablet";
	it.usage = "once daily after breakfast";
	it.days = 28;
	it.quantity = 28;
	Rx__Item *items[1] = {&it};
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	p.version = 1;
	p.patient_id = pid;
	p.prescriber_key.data = kp.pk;
	p.prescriber_key.len = RX_KEY_LEN;
	p.institution_code = "1312345678";
	p.issued_at = VEC_ISSUED_AT;
	p.valid_until = rx_valid_until(p.issued_at, 4);
	p.uses = 1;
	p.n_items = 1;
	p.items = items;
	p.notes = "";

	const char *why = NULL;
	ck_assert_int_eq(rx_check_prescription(&p, VEC_ISSUED_AT, &why), RX_OK);

	size_t len = rx__prescription__get_packed_size(&p);
	ck_assert_uint_eq(len, (sizeof VEC_MSG - 1) / 2);
	uint8_t *msg = malloc(len);
	ck_assert_ptr_nonnull(msg);
	ck_assert_uint_eq(rx__prescription__pack(&p, msg), len);
	ck_assert_uint_lt(2 * len + 1, sizeof hex);
	rx_hex(msg, len, hex);
	ck_assert_str_eq(hex, VEC_MSG);

	ck_assert_int_eq(rx_sign(RX_SIGN_PRESCRIPTION, kp.sk, msg, len, sig), RX_OK);
	rx_hex(sig, sizeof sig, hex);
	ck_assert_str_eq(hex, VEC_SIG);
	free(msg);

	/* The hard-coded bytes and signature verify on their own ... */
	uint8_t vmsg[(sizeof VEC_MSG - 1) / 2], vsig[RX_SIG_LEN], vpk[RX_KEY_LEN];
	ck_assert_int_eq(rx_unhex(VEC_MSG, vmsg, sizeof vmsg), RX_OK);
	ck_assert_int_eq(rx_unhex(VEC_SIG, vsig, sizeof vsig), RX_OK);
	ck_assert_int_eq(rx_unhex(VEC_PK, vpk, sizeof vpk), RX_OK);
	ck_assert_int_eq(rx_verify(RX_SIGN_PRESCRIPTION, vpk, vmsg, sizeof vmsg, vsig), RX_OK);
	/* ... under that context only ... */
	ck_assert_int_eq(rx_verify(RX_SIGN_DISPENSE, vpk, vmsg, sizeof vmsg, vsig), RX_BAD_SIGNATURE);
	ck_assert_int_eq(rx_verify(RX_SIGN_CALL, vpk, vmsg, sizeof vmsg, vsig), RX_BAD_SIGNATURE);
	ck_assert_int_ne(crypto_sign_verify_detached(vsig, vmsg, sizeof vmsg, vpk), 0);
	/* ... and decode back to the prescription. */
	Rx__Prescription *d = rx__prescription__unpack(NULL, sizeof vmsg, vmsg);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->patient_id, VEC_PATIENT);
	ck_assert_int_eq(d->valid_until, VEC_VALID_UNTIL);
	ck_assert_uint_eq(d->n_items, 1);
	ck_assert_str_eq(d->items[0]->name, "Norvasc 2.5 mg tablet");
	rx__prescription__free_unpacked(d, NULL);
}
END_TEST

/* ---- more protocol vectors (proto/README.md, "Test vectors") ----
 * Fixed seeds and bytes; every expected value was produced once by this
 * code, checked with an independent implementation (hand-written protobuf
 * encoding, Python's hashlib BLAKE2b and the cryptography package's
 * Ed25519), and frozen here and in the document.  The test rebuilds each value,
 * checks it byte for byte, verifies the frozen signatures over the frozen
 * bytes, and checks that the document still holds every frozen value. */

static const char V_PH_SEED[] = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
static const char V_CARD_SEED[] = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";
static const char V_BROKER_SEED[] = "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f";
static const char V_DATA_KEY[] = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
static const char V_RID[] = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";
static const char V_NONCE[] = "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
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
static const char V_DISP_MSG[] =
	"0801120e374b334d2d395158522d324234361801222029acbae141bccaf0b22e1a94d34d0bc7361e52"
	"6d0bfe12c89794bc9322966dd732570a0c32313731303232463130323912154e6f727661736320322e"
	"35206d67207461626c65741a0831207461626c657422067461626c65742a1a6f6e6365206461696c79"
	"20616674657220627265616b66617374301c381c";
static const char V_DISP_SIG[] =
	"306c6f372811b9f7ede5bd55fd505d1a145f7d460024b442566ef1aae0cd719ab2649bc502190df557"
	"8d00965362f8968482e652abfdd027fb52aa52f7bd2309";
static const char V_DISP_PRE[] =
	"0000000100000000692cf6a031333938373635343332009e422800d44161e039dd5bf55b7231c376ef"
	"888d621b878f31a097b760d6867c306c6f372811b9f7ede5bd55fd505d1a145f7d460024b442566ef1"
	"aae0cd719ab2649bc502190df5578d00965362f8968482e652abfdd027fb52aa52f7bd2309";
static const char V_DISPENSES_HASH[] = "8bda5ae04a96ffd397a9452a55474534b44a40125ffd06f713b163bc0a3e0a50";
static const char V_BODY_HASH[] = "72f254727ad80cf1026c9ad7e5fd076418761659d1eca2fbacb9e4cf0363ac58";
static const char V_RECEIPT_MSG[] =
	"0a20174553b456dddfc6908ecab1c101fe6ab21e2baa0617795b7d43a63482993fd51210a0a1a2a3a4"
	"a5a6a7a8a9aaabacadaeaf180620b089b4c9062a0e374b334d2d395158522d324234363003522072f2"
	"54727ad80cf1026c9ad7e5fd076418761659d1eca2fbacb9e4cf0363ac585a2029acbae141bccaf0b2"
	"2e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd778f0c3c6c90682010a313331323334353637"
	"38880101900180b5b3c906c201208bda5ae04a96ffd397a9452a55474534b44a40125ffd06f713b163"
	"bc0a3e0a50";
static const char V_RECEIPT_SIG[] =
	"1faf7f96c421accc70f0688777c9d017935949b6704ab780ba1b7195350e35756cd11d51838eacde43"
	"86d7fcc3270b63c5abfb056018e1a4caea4bfe7edeee00";
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
	/* under that context only */
	for (int c = RX_SIGN_PRESCRIPTION; c <= RX_SIGN_NOTICE; c++)
		if (c != (int)ctx)
			ck_assert_int_eq(rx_verify((rx_sign_ctx_t)c, kp->pk, framed + clen + 1, n, vsig),
					 RX_BAD_SIGNATURE);
	free(framed);
}

static void seed_pair(const char *hex, unsigned first, rx_keypair_t *kp)
{
	uint8_t seed[RX_SEED_LEN];
	seq_bytes(seed, sizeof seed, first);
	hex_is("seed", seed, sizeof seed, hex);
	rx_keypair_from_seed(seed, kp);
}

START_TEST(card_call_dispense_receipt_notice_vectors)
{
	rx_keypair_t ph, card, broker, doc;
	uint8_t rid[16], nonce[16], h[RX_HASH_LEN];
	size_t clen, calllen, dlen, rlen, nlen;

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

	/* The card assertion the pharmacy's reader makes. */
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

	/* The pharmacy's STATUS call carrying it. */
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
	uint8_t *callb = packed(&call.base, &calllen);
	hex_is("call", callb, calllen, V_CALL_MSG);
	sig_is("call signature", RX_SIGN_CALL, &ph, callb, calllen, V_CALL_MSG, V_CALL_SIG);

	/* The dispense record of use 1, and the dispenses_hash of STATUS. */
	Rx__Item it = RX__ITEM__INIT;
	it.drug_code = "2171022F1029";
	it.name = "Norvasc 2.5 mg tablet";
	it.dose = "1 tablet";
	it.unit = "tablet";
	it.usage = "once daily after breakfast";
	it.days = 28;
	it.quantity = 28;
	Rx__Item *items[1] = {&it};
	Rx__DispenseRecord d = RX__DISPENSE_RECORD__INIT;
	d.version = 1;
	d.prescription_id = (char *)V_RXID;
	d.use = 1;
	d.pharmacy_key.data = ph.pk;
	d.pharmacy_key.len = RX_KEY_LEN;
	d.n_items = 1;
	d.items = items;
	ck_assert_int_eq(rx_check_dispense(&d, &why), RX_OK);
	uint8_t *db = packed(&d.base, &dlen);
	hex_is("dispense record", db, dlen, V_DISP_MSG);
	uint8_t dsig[RX_SIG_LEN];
	ck_assert_int_eq(rx_sign(RX_SIGN_DISPENSE, ph.sk, db, dlen, dsig), RX_OK);
	sig_is("dispense signature", RX_SIGN_DISPENSE, &ph, db, dlen, V_DISP_MSG, V_DISP_SIG);
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
	hex_is("dispenses_hash input", pre, sizeof pre, V_DISP_PRE);
	uint8_t dh[RX_HASH_LEN];
	rx_hash(pre, sizeof pre, h);
	/* ... is what the code hashes. */
	rx_dispenses_hash(infos, 1, dh);
	ck_assert_mem_eq(dh, h, RX_HASH_LEN);
	hex_is("dispenses_hash", dh, sizeof dh, V_DISPENSES_HASH);

	/* The broker's receipt for that STATUS. */
	uint8_t body[(sizeof VEC_MSG - 1) / 2], bh[RX_HASH_LEN];
	ck_assert_int_eq(rx_unhex(VEC_MSG, body, sizeof body), RX_OK);
	rx_hash(body, sizeof body, bh);
	hex_is("body hash", bh, sizeof bh, V_BODY_HASH);
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
	hex_is("receipt", rb, rlen, V_RECEIPT_MSG);
	sig_is("receipt signature", RX_SIGN_RECEIPT, &broker, rb, rlen, V_RECEIPT_MSG, V_RECEIPT_SIG);

	/* A pushed notice of a new prescription for a nominated pharmacy. */
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
		VEC_SEED, VEC_PK, VEC_PATIENT, VEC_MSG, VEC_SIG, V_PH_SEED, V_CARD_SEED,
		V_BROKER_SEED, V_DATA_KEY, V_RID, V_NONCE, V_PH_PK, V_CARD_PK, V_BROKER_PK,
		V_CARD_MSG, V_CARD_SIG, V_CALL_MSG, V_CALL_SIG, V_DISP_MSG, V_DISP_SIG, V_DISP_PRE,
		V_DISPENSES_HASH, V_BODY_HASH, V_RECEIPT_MSG, V_RECEIPT_SIG, V_NOTICE_MSG,
		V_NOTICE_SIG, V_CODE_KEY, V_CODE_HASH,
	};
	for (size_t i = 0; i < sizeof frozen / sizeof frozen[0]; i++)
		ck_assert_msg(frozen[i][0] && strstr(doc, frozen[i]) != NULL,
			      "proto/README.md lacks test vector value %s", frozen[i]);
}
END_TEST

TCase *vectors_tcase(void)
{
	TCase *tc = tcase_create("vector");
	tcase_add_test(tc, protocol_vector);
	tcase_add_test(tc, card_call_dispense_receipt_notice_vectors);
	tcase_add_test(tc, access_code_hash_vector);
	tcase_add_test(tc, vectors_are_in_the_document);
	return tc;
}
