/* reply: an OK reply leaves reply_change with its receipt signature as
 * zeros (the store keeps it so); reply_sign signs that receipt in place
 * with the broker's key, as a client verifies it (proto/README 3.3), and
 * leaves every other reply as it is: a refusal, a reply signed already
 * (signing twice changes nothing); bytes it cannot walk, and a receipt
 * naming another broker key, are refused. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "reply.h"
#include "rx.pb-c.h"

static rx_keypair_t broker;

/* A copy of b's bytes, to compare b with after a call. */
static store_buf_t copied(const store_buf_t *b)
{
	store_buf_t c = {.data = malloc(b->len), .len = b->len};
	ck_assert_ptr_nonnull(c.data);
	memcpy(c.data, b->data, b->len);
	return c;
}

/* What reply_change packs for an OK reply: a receipt and a slot of zeros,
 * with other fields on both sides of it. */
static void unsigned_reply(store_buf_t *out)
{
	static const uint8_t zeros[RX_SIG_LEN];
	static uint8_t rid[RX_REQUEST_ID_LEN] = {1, 2, 3};
	Rx__Receipt rc = RX__RECEIPT__INIT;
	rc.request_id.data = rid;
	rc.request_id.len = sizeof rid;
	rc.broker_key.data = broker.pk;
	rc.broker_key.len = RX_KEY_LEN;
	rc.op = RX__OP__SUBMIT;
	rc.prescription_id = (char *)"WAJ7-ZB00-A8P7";
	rc.at = 1764720000;
	size_t n = rx__receipt__get_packed_size(&rc);
	uint8_t *buf = malloc(n);
	ck_assert_ptr_nonnull(buf);
	rx__receipt__pack(&rc, buf);
	Rx__Reply r = RX__REPLY__INIT;
	r.request_id = rc.request_id;
	r.status = RX__STATUS__OK;
	r.receipt.data = buf;
	r.receipt.len = n;
	r.receipt_signature.data = (uint8_t *)zeros;
	r.receipt_signature.len = RX_SIG_LEN;
	Rx__Signed sp = RX__SIGNED__INIT;
	uint8_t body[40] = {9}, sig[RX_SIG_LEN] = {7};
	sp.body.data = body;
	sp.body.len = sizeof body;
	sp.signature.data = sig;
	sp.signature.len = sizeof sig;
	r.prescription = &sp;
	out->len = rx__reply__get_packed_size(&r);
	out->data = malloc(out->len);
	ck_assert_ptr_nonnull(out->data);
	rx__reply__pack(&r, out->data);
	free(buf);
}

static Rx__Reply *decoded(const store_buf_t *b)
{
	Rx__Reply *r = rx__reply__unpack(NULL, b->len, b->data);
	ck_assert_ptr_nonnull(r);
	return r;
}

START_TEST(signs_the_receipt_in_place)
{
	store_buf_t b;
	unsigned_reply(&b);
	size_t len = b.len;
	ck_assert_int_eq(reply_sign(&broker, &b), RX_OK);
	ck_assert_uint_eq(b.len, len);
	Rx__Reply *r = decoded(&b);
	ck_assert_uint_eq(r->receipt_signature.len, RX_SIG_LEN);
	ck_assert_int_eq(rx_verify(RX_SIGN_RECEIPT, broker.pk, r->receipt.data, r->receipt.len,
				   r->receipt_signature.data),
			 RX_OK);
	ck_assert_uint_eq(r->prescription->body.len, 40);
	ck_assert_uint_eq(r->prescription->signature.data[0], 7);
	rx__reply__free_unpacked(r, NULL);

	/* Signed again, as a replay of a kept reply is: the same bytes. */
	store_buf_t first = copied(&b);
	ck_assert_int_eq(reply_sign(&broker, &b), RX_OK);
	ck_assert_mem_eq(b.data, first.data, b.len);
	store_buf_t again;
	unsigned_reply(&again);
	ck_assert_int_eq(reply_sign(&broker, &again), RX_OK);
	ck_assert_uint_eq(again.len, b.len);
	ck_assert_mem_eq(again.data, first.data, b.len);
	store_buf_free(&first);
	store_buf_free(&again);
	store_buf_free(&b);
}
END_TEST

START_TEST(leaves_other_replies)
{
	store_buf_t b, copy;
	ck_assert_int_eq(reply_refusal((const uint8_t *)"0123456789abcdef", 16, RX_NOT_FOUND, "no such", &b),
			 RX_OK);
	copy = copied(&b);
	ck_assert_int_eq(reply_sign(&broker, &b), RX_OK);
	ck_assert_uint_eq(b.len, copy.len);
	ck_assert_mem_eq(b.data, copy.data, b.len);
	store_buf_free(&b);
	store_buf_free(&copy);

	/* Signed already (a reply kept by an rxd that signed before keeping):
	 * left as it is, whatever key is asked to sign it now. */
	rx_keypair_t other;
	uint8_t seed[RX_SEED_LEN] = {42};
	rx_keypair_from_seed(seed, &other);
	unsigned_reply(&b);
	ck_assert_int_eq(reply_sign(&broker, &b), RX_OK);
	copy = copied(&b);
	ck_assert_int_eq(reply_sign(&other, &b), RX_OK);
	ck_assert_mem_eq(b.data, copy.data, b.len);
	store_buf_free(&copy);
	store_buf_free(&b);

	/* A receipt naming another broker key is not signed with this one. */
	unsigned_reply(&b);
	copy = copied(&b);
	ck_assert_int_eq(reply_sign(&other, &b), RX_SYSTEM);
	ck_assert_mem_eq(b.data, copy.data, b.len);
	store_buf_free(&copy);
	store_buf_free(&b);

	/* Cut short: not walked, not signed. */
	unsigned_reply(&b);
	b.len -= 3;
	ck_assert_int_eq(reply_sign(&broker, &b), RX_SYSTEM);
	store_buf_free(&b);
}
END_TEST

int main(void)
{
	uint8_t seed[RX_SEED_LEN] = {1};
	if (sodium_init() < 0)
		return 1;
	rx_keypair_from_seed(seed, &broker);
	Suite *s = suite_create("reply");
	TCase *tc = tcase_create("reply");
	tcase_add_test(tc, signs_the_receipt_in_place);
	tcase_add_test(tc, leaves_other_replies);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
