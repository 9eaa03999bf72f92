/* Unit: rxclient's checks of the dispense records in a STATUS reply.  A
 * stand-in broker (a ROUTER socket in a thread, signing real receipts with
 * its own key) answers one STATUS with a reply that is right, or wrong in
 * one way; rxclient must accept the first and refuse each of the others
 * (SYSTEM: the reply cannot be trusted). */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <zmq.h>

#include "rx_check.h"
#include "rx_ids.h"
#include "rxclient.h"
#include "testutil.h"

enum {
	GOOD,          /* one record for the one use dispensed */
	FLIPPED_BIT,   /* a bit of the pharmacy's signature flipped */
	WRONG_CONTEXT, /* the record signed as a prescription, not a dispense */
	DROPPED,       /* the receipt says one use went; no record */
	EXTRA,         /* no use went, yet a record */
	OTHER_RX,      /* a record of another prescription */
	SAME_USE_TWICE, /* two uses went; both records name use 1 */
	ALTERED_AT,    /* when it was dispensed changed after the broker signed */
	OTHER_PLACE,   /* where it was dispensed changed after the broker signed */
	V1_STORED,     /* documents stored before protocol v2: version 1, v1 contexts */
	V1_UNDER_V2,   /* a version-1 record signed under the v2 context */
	NMODES
};

static const char *const want[NMODES] = {
	NULL,
	"a pharmacy's signature on a dispense record does not verify",
	"a pharmacy's signature on a dispense record does not verify",
	"the reply lacks the prescription's dispense records",
	"the reply's dispense records do not match the uses dispensed",
	"a dispense record in the reply is not of this prescription's uses",
	"a dispense record in the reply is not of this prescription's uses",
	"the reply's dispense records are not the ones the receipt names",
	"the reply's dispense records are not the ones the receipt names",
	NULL,
	"a pharmacy's signature on a dispense record does not verify",
};

typedef struct {
	void *sock;
	int mode;
	char id[RX_ID_LEN + 1];
	rx_keypair_t broker, doc, ph;
} fake_t;

static Rx__Item item = RX__ITEM__INIT;
static Rx__Item *items[1] = {&item};

/* A stored document as rxd returns it: m's bytes and kp's signature under
 * ctx (heap; rxc_signed_free). */
static void sign_doc(const rx_keypair_t *kp, rx_sign_ctx_t ctx, const ProtobufCMessage *m,
		     Rx__Signed *out)
{
	rx__signed__init(out);
	out->body.len = protobuf_c_message_get_packed_size(m);
	out->body.data = malloc(out->body.len);
	out->signature.data = malloc(RX_SIG_LEN);
	out->signature.len = RX_SIG_LEN;
	ck_assert(out->body.data && out->signature.data);
	protobuf_c_message_pack(m, out->body.data);
	ck_assert_int_eq(rx_sign(ctx, kp->sk, out->body.data, out->body.len, out->signature.data), RX_OK);
}

static void sign_record(const fake_t *f, const char *id, uint32_t use, Rx__Signed *out)
{
	Rx__DispenseRecord d = RX__DISPENSE_RECORD__INIT;
	uint8_t call_hash[RX_HASH_LEN] = {7};
	d.version = f->mode == V1_STORED || f->mode == V1_UNDER_V2 ? 1 : RX_DOC_VERSION;
	if (d.version == RX_DOC_VERSION) {
		d.call_hash.data = call_hash;
		d.call_hash.len = RX_HASH_LEN;
	}
	d.prescription_id = (char *)id;
	d.use = use;
	d.pharmacy_key.data = (uint8_t *)f->ph.pk;
	d.pharmacy_key.len = RX_KEY_LEN;
	d.items = items;
	d.n_items = 1;
	sign_doc(&f->ph, f->mode == V1_STORED ? RX_SIGN_DISPENSE_V1 : RX_SIGN_DISPENSE, &d.base, out);
	if (f->mode == WRONG_CONTEXT)
		ck_assert_int_eq(rx_sign(RX_SIGN_PRESCRIPTION, f->ph.sk, out->body.data, out->body.len,
					 out->signature.data),
				 RX_OK);
	if (f->mode == FLIPPED_BIT)
		out->signature.data[17] ^= 0x04;
}

/* Answer one request as f->mode says. */
static void *serve(void *arg)
{
	fake_t *f = arg;
	zmq_msg_t part[3];
	for (int i = 0; i < 3; i++) {
		zmq_msg_init(&part[i]);
		ck_assert_int_ge(zmq_msg_recv(&part[i], f->sock, 0), 0);
	}
	Rx__Request *req = rx__request__unpack(NULL, zmq_msg_size(&part[2]), zmq_msg_data(&part[2]));
	ck_assert_ptr_nonnull(req);
	Rx__Call *call = rx__call__unpack(NULL, req->call.len, req->call.data);
	ck_assert_ptr_nonnull(call);

	/* The prescription, signed by its prescriber. */
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	Rx__Signed sp, recs[2];
	uint8_t hash[RX_HASH_LEN];
	p.version = f->mode == V1_STORED ? 1 : RX_DOC_VERSION;
	p.prescriber_key.data = (uint8_t *)f->doc.pk;
	p.prescriber_key.len = RX_KEY_LEN;
	p.uses = f->mode == SAME_USE_TWICE ? 3 : 2;
	p.items = items;
	p.n_items = 1;
	sign_doc(&f->doc, f->mode == V1_STORED ? RX_SIGN_PRESCRIPTION_V1 : RX_SIGN_PRESCRIPTION, &p.base,
		 &sp);
	rx_hash(sp.body.data, sp.body.len, hash);

	Rx__Reply r = RX__REPLY__INIT;
	Rx__DispenseInfo infos[2], *ptrs[2];
	char other[RX_ID_LEN + 1];
	rx_rxid_new(other);
	size_t n = f->mode == DROPPED ? 0 : f->mode == SAME_USE_TWICE ? 2 : 1;
	for (size_t i = 0; i < n; i++) {
		sign_record(f, f->mode == OTHER_RX ? other : f->id, 1, &recs[i]);
		rx__dispense_info__init(&infos[i]);
		infos[i].record = &recs[i];
		infos[i].at = 1772414100;
		infos[i].institution_code = (char *)"1398765432";
		infos[i].use = 1;
		ptrs[i] = &infos[i];
	}
	Rx__Receipt rc = RX__RECEIPT__INIT;
	rc.broker_key.data = f->broker.pk;
	rc.broker_key.len = RX_KEY_LEN;
	rc.request_id = call->request_id;
	rc.caller_key = req->key;
	rc.op = RX__OP__STATUS;
	rc.prescription_id = f->id;
	rc.state = RX__STATE__ISSUED;
	rc.uses = p.uses;
	rc.uses_left = f->mode == EXTRA ? 2 : 1;
	rc.body_hash.data = hash;
	rc.body_hash.len = RX_HASH_LEN;
	/* As rxd does: the receipt binds the records, when and where. */
	uint8_t dhash[RX_HASH_LEN];
	if (n) {
		rx_dispenses_hash(ptrs, n, dhash);
		rc.dispenses_hash.data = dhash;
		rc.dispenses_hash.len = RX_HASH_LEN;
	}
	size_t rlen = rx__receipt__get_packed_size(&rc);
	uint8_t *rbuf = malloc(rlen), sig[RX_SIG_LEN];
	rx__receipt__pack(&rc, rbuf);
	ck_assert_int_eq(rx_sign(RX_SIGN_RECEIPT, f->broker.sk, rbuf, rlen, sig), RX_OK);
	if (f->mode == ALTERED_AT)
		infos[0].at += 86400;
	if (f->mode == OTHER_PLACE)
		infos[0].institution_code = (char *)"1398765433";

	r.request_id = call->request_id;
	r.receipt.data = rbuf;
	r.receipt.len = rlen;
	r.receipt_signature.data = sig;
	r.receipt_signature.len = RX_SIG_LEN;
	r.prescription = &sp;
	r.dispenses = ptrs;
	r.n_dispenses = n;
	size_t len = rx__reply__get_packed_size(&r);
	uint8_t *buf = malloc(len);
	rx__reply__pack(&r, buf);
	zmq_msg_send(&part[0], f->sock, ZMQ_SNDMORE);
	zmq_send(f->sock, "", 0, ZMQ_SNDMORE);
	zmq_send(f->sock, buf, len, 0);

	free(buf);
	free(rbuf);
	for (size_t i = 0; i < n; i++)
		rxc_signed_free(&recs[i]);
	rxc_signed_free(&sp);
	rx__call__free_unpacked(call, NULL);
	rx__request__free_unpacked(req, NULL);
	zmq_msg_close(&part[1]);
	zmq_msg_close(&part[2]);
	return NULL;
}

START_TEST(status_reply_dispenses)
{
	fake_t f = {.mode = _i};
	uint8_t seed[RX_SEED_LEN];
	rx_keypair_t me;
	rxc_t *c;
	rxc_result_t r;
	pthread_t t;

	ck_assert_int_eq(rx_crypto_init(), RX_OK);
	item.drug_code = (char *)"2171022F2025";
	item.quantity = 28;
	item.days = 28;
	rx_keypair_t *keys[] = {&f.broker, &f.doc, &f.ph, &me};
	for (size_t i = 0; i < 4; i++) {
		randombytes_buf(seed, sizeof seed);
		rx_keypair_from_seed(seed, keys[i]);
	}
	rx_rxid_new(f.id);
	void *zctx = zmq_ctx_new();
	f.sock = zmq_socket(zctx, ZMQ_ROUTER);
	ck_assert_int_eq(zmq_bind(f.sock, "inproc://fake-broker"), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, serve, &f), 0);
	rxc_options_t o = {.timeout_ms = 5000, .broker_key = f.broker.pk};
	ck_assert_int_eq(rxc_new(&c, zctx, "inproc://fake-broker", &me, &o), RX_OK);

	rx_err_t err = rxc_status(c, f.id, NULL, &r);
	pthread_join(t, NULL);
	if (want[_i] == NULL) {
		ck_assert_msg(err == RX_OK, "%s", r.message);
		ck_assert_uint_eq(r.n_dispenses, 1);
		ck_assert_str_eq(r.dispenses[0]->prescription_id, f.id);
		ck_assert_str_eq(r.reply->dispenses[0]->institution_code, "1398765432");
	} else {
		ck_assert_int_eq(err, RX_SYSTEM);
		ck_assert_str_eq(r.message, want[_i]);
	}
	rxc_result_free(&r);
	rxc_destroy(&c);
	zmq_close(f.sock);
	zmq_ctx_term(zctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("status-reply");
	TCase *tc = tcase_create("dispenses");
	tcase_add_loop_test(tc, status_reply_dispenses, 0, NMODES);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
