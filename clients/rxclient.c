/* rxclient: calls, transport and reply verification (see rxclient.h); the
 * endpoint list in rxclient_endpoints.c, records in rxclient_records.c. */
#include "rxclient.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zmq.h>

#include "rx_check.h"
#include "rxclient_int.h"
#include "rxclient_records.h"

#define NOTICE_QUEUE 256

struct rxc {
	void *zctx;
	int own_ctx;
	void *sock;
	rx_keypair_t kp;
	int timeout_ms, resend_ms;
	uint8_t pinned[RX_KEY_LEN];
	int has_pin;
	uint8_t seen[RX_KEY_LEN]; /* the broker key of the last verified receipt */
	int has_seen;
	/* Notices pushed while a call waited for its reply, oldest first. */
	uint8_t *queued[NOTICE_QUEUE];
	size_t queued_len[NOTICE_QUEUE];
	int nqueued;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How the connection to each node is kept (proto/README 1.2), the same for
 * one endpoint or several.  A node that refuses or is down is tried again
 * after 100 ms, then at doubling intervals up to 2 s (libzmq adds up to
 * 100 ms of jitter and starts again at 100 ms after a connection that was
 * up): a node that comes up is found within about 2.1 s, and a dead one
 * gets one attempt every 2 s from each client, not ten.  A connect() that
 * hears nothing (a powered-off host drops the SYN) is abandoned after 3 s
 * and retried, rather than left to the kernel's two minutes.  A ZMTP PING
 * every 5 s, and no traffic for 15 s after one, drops a connection whose
 * node vanished without closing it (power lost, a network cut): otherwise
 * libzmq keeps it "complete" until TCP gives up, minutes later, and the
 * DEALER's round robin would keep queueing every other resend into it. */
#define RECONNECT_IVL_MS 100
#define RECONNECT_IVL_MAX_MS 2000
#define CONNECT_TIMEOUT_MS 3000
#define HEARTBEAT_IVL_MS 5000
#define HEARTBEAT_TIMEOUT_MS 15000

static void set_int(void *sock, int option, int value)
{
	zmq_setsockopt(sock, option, &value, sizeof value);
}

rx_err_t rxc_new(rxc_t **out, void *zctx, const char *endpoint, const rx_keypair_t *kp,
		 const rxc_options_t *opt)
{
	rxc_t *c;
	char msg[RXC_ENDPOINT_LEN + 200], ep[RXC_ENDPOINT_LEN + 1];

	*out = NULL;
	if (rxc_endpoints_check(endpoint, msg, sizeof msg) != RX_OK)
		return RX_INVALID;
	c = calloc(1, sizeof *c);
	if (c == NULL || rx_crypto_init() != RX_OK) {
		free(c);
		return RX_SYSTEM;
	}
	if (kp)
		c->kp = *kp;
	c->timeout_ms = opt && opt->timeout_ms > 0 ? opt->timeout_ms : 5000;
	c->resend_ms = opt && opt->resend_ms > 0 ? opt->resend_ms : 1000;
	if (opt && opt->broker_key) {
		memcpy(c->pinned, opt->broker_key, RX_KEY_LEN);
		c->has_pin = 1;
	}
	c->zctx = zctx;
	if (c->zctx == NULL) {
		c->zctx = zmq_ctx_new();
		c->own_ctx = 1;
	}
	if (c->zctx == NULL || (c->sock = zmq_socket(c->zctx, ZMQ_DEALER)) == NULL) {
		rxc_destroy(&c);
		return RX_SYSTEM;
	}
	set_int(c->sock, ZMQ_LINGER, 0);
	if (opt && opt->curve && opt->server_key) {
		zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, opt->server_key, 32);
		zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, opt->curve->pk, 32);
		zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, opt->curve->sk, 32);
	}
	/* Queue only on a live connection, so an absent broker is noticed, and
	 * with several endpoints a request (and each resend) goes only to a
	 * node whose handshake completed: the one that serves.  A connection
	 * that drops takes what was queued on it along (libzmq terminates its
	 * pipe); the next resend goes to whichever node is up. */
	set_int(c->sock, ZMQ_IMMEDIATE, 1);
	set_int(c->sock, ZMQ_RECONNECT_IVL, RECONNECT_IVL_MS);
	set_int(c->sock, ZMQ_RECONNECT_IVL_MAX, RECONNECT_IVL_MAX_MS);
	set_int(c->sock, ZMQ_CONNECT_TIMEOUT, CONNECT_TIMEOUT_MS);
	set_int(c->sock, ZMQ_HEARTBEAT_IVL, HEARTBEAT_IVL_MS);
	set_int(c->sock, ZMQ_HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS);
	for (const char *p = endpoint;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		memcpy(ep, p, len); /* rxc_endpoints_check: len <= RXC_ENDPOINT_LEN */
		ep[len] = '\0';
		if (zmq_connect(c->sock, ep) != 0) {
			rxc_destroy(&c);
			return RX_INVALID;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*out = c;
	return RX_OK;
}

void rxc_destroy(rxc_t **cp)
{
	rxc_t *c = cp ? *cp : NULL;
	if (c == NULL)
		return;
	if (c->sock)
		zmq_close(c->sock);
	if (c->own_ctx && c->zctx)
		zmq_ctx_term(c->zctx);
	sodium_memzero(&c->kp, sizeof c->kp);
	for (int i = 0; i < c->nqueued; i++)
		free(c->queued[i]);
	free(c);
	*cp = NULL;
}

void rxc_result_free(rxc_result_t *r)
{
	if (r->reply)
		rx__reply__free_unpacked(r->reply, NULL);
	if (r->receipt)
		rx__receipt__free_unpacked(r->receipt, NULL);
	if (r->prescription)
		rx__prescription__free_unpacked(r->prescription, NULL);
	for (size_t i = 0; i < r->n_dispenses; i++)
		rx__dispense_record__free_unpacked(r->dispenses[i], NULL);
	free(r->dispenses);
	for (size_t i = 0; i < r->n_inquiries; i++) {
		if (r->asked[i])
			rx__call__free_unpacked(r->asked[i], NULL);
		if (r->answered[i])
			rx__call__free_unpacked(r->answered[i], NULL);
	}
	free(r->asked);
	free(r->answered);
	r->asked = r->answered = NULL;
	r->n_inquiries = 0;
	r->reply = NULL;
	r->receipt = NULL;
	r->prescription = NULL;
	r->dispenses = NULL;
	r->n_dispenses = 0;
}

static rx_err_t sign_msg(const rx_keypair_t *kp, rx_sign_ctx_t ctx, const ProtobufCMessage *m,
			 Rx__Signed *out)
{
	rx__signed__init(out);
	out->body.len = protobuf_c_message_get_packed_size(m);
	out->body.data = malloc(out->body.len ? out->body.len : 1);
	out->signature.data = malloc(RX_SIG_LEN);
	out->signature.len = RX_SIG_LEN;
	if (out->body.data == NULL || out->signature.data == NULL) {
		rxc_signed_free(out);
		return RX_SYSTEM;
	}
	protobuf_c_message_pack(m, out->body.data);
	rx_err_t err = rx_sign(ctx, kp->sk, out->body.data, out->body.len, out->signature.data);
	if (err != RX_OK)
		rxc_signed_free(out);
	return err;
}

void rxc_signed_free(Rx__Signed *s)
{
	free(s->body.data);
	free(s->signature.data);
	s->body.data = s->signature.data = NULL;
	s->body.len = s->signature.len = 0;
}

/* What accept() says of a message: not ours, the reply, or a pushed notice. */
enum { NOT_OURS, OURS, NOTICE };

/* Take one whole waiting message; its payload is its last frame, copied
 * to *buf (heap).  1 if one was taken. */
static int take_reply(void *sock, uint8_t **buf, size_t *blen)
{
	zmq_msg_t m;
	int more = 1, got = 0;
	while (more) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		more = zmq_msg_more(&m);
		if (!more) {
			*blen = zmq_msg_size(&m);
			*buf = malloc(*blen ? *blen : 1);
			if (*buf)
				memcpy(*buf, zmq_msg_data(&m), *blen);
			got = *buf != NULL;
		}
		zmq_msg_close(&m);
	}
	return got;
}

/* Send frames whenever the socket can take them, resending every resend_ms,
 * until a reply frame arrives that accept() says is OURS (any, without
 * accept), or timeout.  NOTICEs are kept for rxc_notice. */
static rx_err_t exchange(rxc_t *c, const void *const *frames, const size_t *lens, int n,
			 int (*accept)(const uint8_t *, size_t, const void *), const void *arg,
			 uint8_t **reply, size_t *reply_len)
{
	int64_t deadline = mono_ms() + c->timeout_ms, next_send = 0;
	int pending = 1;

	for (;;) {
		int64_t now = mono_ms();
		if (now >= deadline)
			return RX_UNREACHABLE;
		if (!pending && now >= next_send)
			pending = 1;
		zmq_pollitem_t it = {c->sock, 0, (short)(ZMQ_POLLIN | (pending ? ZMQ_POLLOUT : 0)), 0};
		int64_t wait = deadline - now;
		if (!pending && next_send - now < wait)
			wait = next_send - now;
		if (zmq_poll(&it, 1, (long)wait) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			return RX_SYSTEM;
		}
		if (pending && (it.revents & ZMQ_POLLOUT)) {
			int i, ok = 1;
			for (i = 0; i < n && ok; i++)
				ok = zmq_send(c->sock, frames[i], lens[i],
					      ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0)) >= 0;
			if (ok) {
				pending = 0;
				next_send = mono_ms() + c->resend_ms;
			}
		}
		if (!(it.revents & ZMQ_POLLIN))
			continue;
		uint8_t *buf = NULL;
		size_t blen = 0;
		int got = take_reply(c->sock, &buf, &blen);
		int verdict = !got ? NOT_OURS : accept ? accept(buf, blen, arg) : OURS;
		if (verdict == NOTICE) {
			/* Not a reply: keep it for rxc_notice (unACKed ones come again). */
			if (c->nqueued < NOTICE_QUEUE) {
				c->queued[c->nqueued] = buf;
				c->queued_len[c->nqueued++] = blen;
			} else {
				free(buf);
			}
			continue;
		}
		if (verdict == OURS) {
			*reply = buf;
			*reply_len = blen;
			return RX_OK;
		}
		free(buf); /* a late reply to an earlier request: not ours */
	}
}

rx_err_t rxc_raw(rxc_t *c, const void *const *frames, const size_t *lens, int n, uint8_t **reply,
		 size_t *reply_len)
{
	return exchange(c, frames, lens, n, NULL, NULL, reply, reply_len);
}

rx_err_t rxc_send_frame(rxc_t *c, const uint8_t *frame, size_t len)
{
	zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLOUT, 0};
	if (zmq_poll(&it, 1, c->timeout_ms) <= 0 || !(it.revents & ZMQ_POLLOUT))
		return RX_UNREACHABLE;
	if (zmq_send(c->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(c->sock, frame, len, ZMQ_DONTWAIT) < 0)
		return RX_UNREACHABLE;
	return RX_OK;
}

rx_err_t rxc_recv_frame(rxc_t *c, int timeout_ms, uint8_t **reply, size_t *reply_len)
{
	zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
	*reply = NULL;
	*reply_len = 0;
	if (zmq_poll(&it, 1, timeout_ms) <= 0 || !(it.revents & ZMQ_POLLIN))
		return RX_UNREACHABLE;
	return take_reply(c->sock, reply, reply_len) ? RX_OK : RX_UNREACHABLE;
}

void *rxc_socket(rxc_t *c)
{
	return c->sock;
}

/* OURS: a reply that answers this request id, or a framing refusal that
 * names none; NOTICE: a pushed notice (it names none either). */
static int for_request(const uint8_t *buf, size_t len, const void *rid)
{
	Rx__Reply *r = rx__reply__unpack(NULL, len, buf);
	int verdict = r == NULL ? NOT_OURS
		      : r->notice.len > 0 ? NOTICE
		      : r->request_id.len == 0 || (r->request_id.len == RX_REQUEST_ID_LEN &&
						     memcmp(r->request_id.data, rid, RX_REQUEST_ID_LEN) == 0)
			      ? OURS
			      : NOT_OURS;
	if (r)
		rx__reply__free_unpacked(r, NULL);
	return verdict;
}

/* What a reply must answer: the request id, op and signing key of the
 * request sent. */
typedef struct {
	const uint8_t *request_id; /* RX_REQUEST_ID_LEN */
	int op;
	const uint8_t *key; /* RX_KEY_LEN */
	const uint8_t *body_hash; /* SUBMIT, DISPENSE: hash of the document sent; else NULL */
} sent_t;

/* Check an OK reply: the receipt is signed by the broker (pinned if asked),
 * answers this request from this caller, and any prescription in it is the
 * prescriber's signed one whose hash the receipt names. */
static rx_err_t verify_ok(rxc_t *c, const sent_t *sent, rxc_result_t *out)
{
	Rx__Reply *r = out->reply;
	Rx__Receipt *rc;
	if (r->receipt_signature.len != RX_SIG_LEN || r->receipt.len == 0 ||
	    (rc = rx__receipt__unpack(NULL, r->receipt.len, r->receipt.data)) == NULL)
		return rxc_fail(out, RX_SYSTEM, "the broker's reply has no valid receipt");
	out->receipt = rc;
	if (rc->broker_key.len != RX_KEY_LEN ||
	    rx_verify(RX_SIGN_RECEIPT, rc->broker_key.data, r->receipt.data, r->receipt.len,
		      r->receipt_signature.data) != RX_OK)
		return rxc_fail(out, RX_SYSTEM, "the broker's receipt signature does not verify");
	if (c->has_pin && memcmp(rc->broker_key.data, c->pinned, RX_KEY_LEN) != 0)
		return rxc_fail(out, RX_SYSTEM, "the receipt is signed by a broker key other than the pinned one");
	memcpy(c->seen, rc->broker_key.data, RX_KEY_LEN);
	c->has_seen = 1;
	if (rc->request_id.len != RX_REQUEST_ID_LEN ||
	    memcmp(rc->request_id.data, sent->request_id, RX_REQUEST_ID_LEN) != 0 ||
	    rc->caller_key.len != RX_KEY_LEN || memcmp(rc->caller_key.data, sent->key, RX_KEY_LEN) != 0 ||
	    (int)rc->op != sent->op)
		return rxc_fail(out, RX_SYSTEM, "the receipt does not answer this request");
	if (sent->body_hash && (rc->body_hash.len != RX_HASH_LEN ||
				memcmp(rc->body_hash.data, sent->body_hash, RX_HASH_LEN) != 0))
		return rxc_fail(out, RX_SYSTEM, "the receipt names another document than the one sent");
	if (r->prescription && r->prescription->body.len) {
		const Rx__Signed *sp = r->prescription;
		uint8_t h[RX_HASH_LEN];
		Rx__Prescription *p = rx__prescription__unpack(NULL, sp->body.len, sp->body.data);
		if (p == NULL)
			return rxc_fail(out, RX_SYSTEM, "the prescription in the reply does not decode");
		out->prescription = p;
		rx_hash(sp->body.data, sp->body.len, h);
		if (p->prescriber_key.len != RX_KEY_LEN || sp->signature.len != RX_SIG_LEN ||
		    rx_verify(rx_doc_context(RX_SIGN_PRESCRIPTION, p->version), p->prescriber_key.data,
			      sp->body.data, sp->body.len, sp->signature.data) != RX_OK)
			return rxc_fail(out, RX_SYSTEM, "the prescriber's signature on the prescription does not verify");
		if (rc->body_hash.len != RX_HASH_LEN || memcmp(rc->body_hash.data, h, RX_HASH_LEN) != 0)
			return rxc_fail(out, RX_SYSTEM, "the prescription is not the one the receipt names");
	}
	if (rxc_check_records(rc, out) != RX_OK)
		return out->status;
	out->status = RX_OK;
	return RX_OK;
}

/* Pack m into a new buffer (heap; NULL if memory runs out). */
static uint8_t *packed(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(*len ? *len : 1);
	if (b)
		protobuf_c_message_pack(m, b);
	return b;
}

/* The document doc bound to the call whose hash is h: doc packed with its
 * call_hash set (a shallow copy; doc itself is not changed).  Sets *ctx. */
static uint8_t *bound_doc(const ProtobufCMessage *doc, const uint8_t h[RX_HASH_LEN],
			  rx_sign_ctx_t *ctx, size_t *len)
{
	ProtobufCBinaryData ch = {RX_HASH_LEN, (uint8_t *)h};
	if (doc->descriptor == &rx__prescription__descriptor) {
		Rx__Prescription p = *(const Rx__Prescription *)doc;
		p.call_hash = ch;
		*ctx = RX_SIGN_PRESCRIPTION;
		return packed(&p.base, len);
	}
	if (doc->descriptor == &rx__dispense_record__descriptor) {
		Rx__DispenseRecord d = *(const Rx__DispenseRecord *)doc;
		d.call_hash = ch;
		*ctx = RX_SIGN_DISPENSE;
		return packed(&d.base, len);
	}
	return NULL;
}

rx_err_t rxc_frame_hashed(const rx_keypair_t *kp, const Rx__Call *call, const ProtobufCMessage *doc,
			  uint8_t **frame, size_t *len, uint8_t body_hash[RX_HASH_LEN])
{
	Rx__Request req = RX__REQUEST__INIT;
	uint8_t sig[RX_SIG_LEN], h[RX_HASH_LEN];
	size_t clen, dlen = 0;
	uint8_t *cbuf = packed(&call->base, &clen), *dbuf = NULL;
	rx_sign_ctx_t ctx = RX_SIGN_CALL;
	rx_err_t err = RX_SYSTEM;

	*frame = NULL;
	*len = 0;
	if (cbuf == NULL)
		return RX_SYSTEM;
	if (doc) {
		rx_hash(cbuf, clen, h);
		if ((dbuf = bound_doc(doc, h, &ctx, &dlen)) == NULL)
			goto done;
		if (body_hash)
			rx_hash(dbuf, dlen, body_hash);
	}
	if (rx_sign(ctx, kp->sk, doc ? dbuf : cbuf, doc ? dlen : clen, sig) != RX_OK)
		goto done;
	req.key.data = (uint8_t *)kp->pk;
	req.key.len = RX_KEY_LEN;
	req.call.data = cbuf;
	req.call.len = clen;
	req.signature.data = sig;
	req.signature.len = RX_SIG_LEN;
	ProtobufCBinaryData *slot = ctx == RX_SIGN_PRESCRIPTION ? &req.prescription
				    : ctx == RX_SIGN_DISPENSE	  ? &req.dispense
								  : NULL;
	if (slot) {
		slot->data = dbuf;
		slot->len = dlen;
	}
	err = (*frame = packed(&req.base, len)) ? RX_OK : RX_SYSTEM;
done:
	free(dbuf);
	free(cbuf);
	return err;
}

rx_err_t rxc_frame(const rx_keypair_t *kp, const Rx__Call *call, const ProtobufCMessage *doc,
		   uint8_t **frame, size_t *len)
{
	return rxc_frame_hashed(kp, call, doc, frame, len, NULL);
}

/* Send one Request frame, wait for its reply and verify it against sent. */
static rx_err_t deliver(rxc_t *c, const uint8_t *frame, size_t flen, const sent_t *sent,
			rxc_result_t *out)
{
	uint8_t *buf = NULL;
	size_t blen = 0;
	const void *frames[2] = {"", frame};
	size_t lens[2] = {0, flen};
	rx_err_t err = exchange(c, frames, lens, 2, for_request, sent->request_id, &buf, &blen);
	if (err == RX_UNREACHABLE) {
		snprintf(out->message, sizeof out->message, "no reply from the broker within %d ms",
			 c->timeout_ms);
		out->status = err;
		return err;
	}
	if (err != RX_OK)
		return rxc_fail(out, err, "transport error talking to the broker");
	out->reply = rx__reply__unpack(NULL, blen, buf);
	free(buf);
	if (out->reply == NULL)
		return rxc_fail(out, RX_SYSTEM, "the broker's reply does not decode");
	if (!rx_err_is_wire((int)out->reply->status))
		return rxc_fail(out, RX_SYSTEM, "the broker replied with an unknown status");
	if (out->reply->status != RX__STATUS__OK) {
		out->status = (rx_err_t)out->reply->status;
		snprintf(out->message, sizeof out->message, "%s",
			 out->reply->message[0] ? out->reply->message : rx_strerror(out->status));
		return out->status;
	}
	return verify_ok(c, sent, out);
}

rx_err_t rxc_call_doc(rxc_t *c, const Rx__Call *call, const ProtobufCMessage *doc,
		     rxc_result_t *out)
{
	uint8_t *frame, h[RX_HASH_LEN];
	size_t flen;

	memset(out, 0, sizeof *out);
	if (call->request_id.len != RX_REQUEST_ID_LEN)
		return rxc_fail(out, RX_SYSTEM, "a call needs a 16-byte request id");
	memcpy(out->request_id, call->request_id.data, RX_REQUEST_ID_LEN);
	if (rxc_frame_hashed(&c->kp, call, doc, &frame, &flen, h) != RX_OK)
		return rxc_fail(out, RX_SYSTEM, "out of memory");
	sent_t sent = {call->request_id.data, (int)call->op, c->kp.pk, doc ? h : NULL};
	rx_err_t err = deliver(c, frame, flen, &sent, out);
	free(frame);
	return err;
}

rx_err_t rxc_call(rxc_t *c, const Rx__Call *call, rxc_result_t *out)
{
	return rxc_call_doc(c, call, NULL, out);
}

rx_err_t rxc_frame_parse(const uint8_t *frame, size_t len, uint8_t key[RX_KEY_LEN],
			 uint8_t rid[RX_REQUEST_ID_LEN], int *op, char *id, size_t idlen)
{
	Rx__Request *req = rx__request__unpack(NULL, len, frame);
	Rx__Call *call = NULL;
	rx_err_t err = RX_INVALID;
	if (req == NULL || req->key.len != RX_KEY_LEN || req->signature.len != RX_SIG_LEN ||
	    (call = rx__call__unpack(NULL, req->call.len, req->call.data)) == NULL ||
	    call->request_id.len != RX_REQUEST_ID_LEN)
		goto done;
	memcpy(key, req->key.data, RX_KEY_LEN);
	memcpy(rid, call->request_id.data, RX_REQUEST_ID_LEN);
	*op = (int)call->op;
	if (id && idlen)
		snprintf(id, idlen, "%s", call->prescription_id);
	err = RX_OK;
done:
	if (call)
		rx__call__free_unpacked(call, NULL);
	if (req)
		rx__request__free_unpacked(req, NULL);
	return err;
}

rx_err_t rxc_call_frame(rxc_t *c, const uint8_t *frame, size_t len, rxc_result_t *out)
{
	uint8_t key[RX_KEY_LEN];
	sent_t sent = {out->request_id, 0, key, NULL};

	uint8_t h[RX_HASH_LEN];

	memset(out, 0, sizeof *out);
	if (rxc_frame_parse(frame, len, key, out->request_id, &sent.op, NULL, 0) != RX_OK)
		return rxc_fail(out, RX_SYSTEM, "the kept request is not a signed rx-exchange request");
	/* A kept SUBMIT or DISPENSE: its receipt must name the document in it. */
	Rx__Request *req = rx__request__unpack(NULL, len, frame);
	if (req && (req->prescription.len || req->dispense.len)) {
		const ProtobufCBinaryData *d = req->prescription.len ? &req->prescription : &req->dispense;
		rx_hash(d->data, d->len, h);
		sent.body_hash = h;
	}
	if (req)
		rx__request__free_unpacked(req, NULL);
	return deliver(c, frame, len, &sent, out);
}

rx_err_t rxc_card_assertion(const rx_keypair_t *card, int purpose, const char *institution,
			    int64_t at, Rx__Signed *out)
{
	Rx__CardAssertion a = RX__CARD_ASSERTION__INIT;
	uint8_t nonce[16];
	rxc_request_id(nonce); /* time-ordered, as request ids: proto/README 3.4 */
	a.version = 1;
	a.purpose = (Rx__Purpose)purpose;
	a.institution_code = (char *)institution;
	a.at = at;
	a.nonce.data = nonce;
	a.nonce.len = sizeof nonce;
	a.card_key.data = (uint8_t *)card->pk;
	a.card_key.len = RX_KEY_LEN;
	return sign_msg(card, RX_SIGN_CARD, &a.base, out);
}

typedef struct {
	int op;
	const char *id;
	const uint8_t *token;
	const char *patient;
	const ProtobufCMessage *doc; /* SUBMIT, DISPENSE */
	const rxc_proof_t *proof;
	const char *pharmacy;
	const uint64_t *acks;
	size_t nacks;
	int64_t from, until; /* PATIENT_LIST */
	int cancel_reason;   /* CANCEL: rx.CancelReason */
	const Rx__Inquiry *inquiry;           /* INQUIRE */
	const Rx__InquiryReply *inquiry_reply; /* INQUIRY_REPLY */
} call_args_t;

/* Fill call from a; it points into a and rid, which must outlive it. */
static void fill(Rx__Call *call, const uint8_t *rid, const call_args_t *a)
{
	rx__call__init(call);
	call->request_id.data = (uint8_t *)rid;
	call->request_id.len = RX_REQUEST_ID_LEN;
	call->op = (Rx__Op)a->op;
	if (a->id)
		call->prescription_id = (char *)a->id;
	if (a->token) {
		call->claim_token.data = (uint8_t *)a->token;
		call->claim_token.len = RX_TOKEN_LEN;
	}
	if (a->patient)
		call->patient_id = (char *)a->patient;
	if (a->pharmacy)
		call->pharmacy_code = (char *)a->pharmacy;
	call->ack = (uint64_t *)a->acks;
	call->n_ack = a->nacks;
	call->from = a->from;
	call->until = a->until;
	call->cancel_reason = (Rx__CancelReason)a->cancel_reason;
	call->inquiry = (Rx__Inquiry *)a->inquiry;
	call->inquiry_reply = (Rx__InquiryReply *)a->inquiry_reply;
	if (a->proof) {
		call->card = (Rx__Signed *)a->proof->card;
		if (a->proof->access_code)
			call->access_code = (char *)a->proof->access_code;
	}
}

static rx_err_t simple(rxc_t *c, const uint8_t *rid, const call_args_t *a, rxc_result_t *out)
{
	Rx__Call call;
	uint8_t fresh[RX_REQUEST_ID_LEN];
	if (rid == NULL) {
		rxc_request_id(fresh);
		rid = fresh;
	}
	fill(&call, rid, a);
	return rxc_call_doc(c, &call, a->doc, out);
}

void rxc_submit_fill(Rx__Call *call, const uint8_t rid[RX_REQUEST_ID_LEN], const Rx__Signed *card)
{
	/* fill copies the pointers out of the args, so these may die here. */
	fill(call, rid, &(call_args_t){.op = RX_OP_SUBMIT, .proof = &(rxc_proof_t){.card = card}});
}

void rxc_cancel_fill(Rx__Call *call, const uint8_t rid[RX_REQUEST_ID_LEN], const char *id, int reason)
{
	fill(call, rid, &(call_args_t){.op = RX_OP_CANCEL, .id = id});
	call->cancel_reason = (Rx__CancelReason)reason;
}

rx_err_t rxc_submit(rxc_t *c, const uint8_t *rid, const Rx__Prescription *prescription,
		    const Rx__Signed *card, rxc_result_t *out)
{
	rxc_proof_t proof = {.card = card};
	call_args_t a = {.op = RX_OP_SUBMIT, .doc = &prescription->base, .proof = &proof};
	return simple(c, rid, &a, out);
}

rx_err_t rxc_claim(rxc_t *c, const uint8_t *rid, const char *id, const rxc_proof_t *proof,
		   rxc_result_t *out)
{
	call_args_t a = {.op = RX_OP_CLAIM, .id = id, .proof = proof};
	return simple(c, rid, &a, out);
}

rx_err_t rxc_release(rxc_t *c, const uint8_t *rid, const char *id,
		     const uint8_t token[RX_TOKEN_LEN], rxc_result_t *out)
{
	call_args_t a = {.op = RX_OP_RELEASE, .id = id, .token = token};
	return simple(c, rid, &a, out);
}

rx_err_t rxc_dispense(rxc_t *c, const uint8_t *rid, const char *id,
		      const uint8_t token[RX_TOKEN_LEN], const Rx__DispenseRecord *record,
		      rxc_result_t *out)
{
	call_args_t a = {.op = RX_OP_DISPENSE, .id = id, .token = token, .doc = &record->base};
	return simple(c, rid, &a, out);
}

rx_err_t rxc_amend(rxc_t *c, const uint8_t *rid, const char *id, const Rx__DispenseRecord *record,
		   rxc_result_t *out)
{
	call_args_t a = {.op = RX_OP_AMEND, .id = id, .doc = &record->base};
	return simple(c, rid, &a, out);
}

rx_err_t rxc_withdraw(rxc_t *c, const uint8_t *rid, const char *id, const Rx__DispenseRecord *record,
		      rxc_result_t *out)
{
	call_args_t a = {.op = RX_OP_WITHDRAW, .id = id, .doc = &record->base};
	return simple(c, rid, &a, out);
}

rx_err_t rxc_cancel(rxc_t *c, const uint8_t *rid, const char *id, int reason, rxc_result_t *out)
{
	call_args_t a = {.op = RX_OP_CANCEL, .id = id, .cancel_reason = reason};
	return simple(c, rid, &a, out);
}

rx_err_t rxc_inquire(rxc_t *c, const uint8_t *rid, const char *id, const uint8_t token[RX_TOKEN_LEN],
		     const Rx__Inquiry *inquiry, rxc_result_t *out)
{
	call_args_t a = {.op = RX_OP_INQUIRE, .id = id, .token = token, .inquiry = inquiry};
	return simple(c, rid, &a, out);
}

rx_err_t rxc_inquiry_reply(rxc_t *c, const uint8_t *rid, const char *id, const Rx__InquiryReply *reply,
			   rxc_result_t *out)
{
	call_args_t a = {.op = RX_OP_INQUIRY_REPLY, .id = id, .inquiry_reply = reply};
	return simple(c, rid, &a, out);
}

rx_err_t rxc_status(rxc_t *c, const char *id, const rxc_proof_t *proof, rxc_result_t *out)
{
	call_args_t a = {.op = RX_OP_STATUS, .id = id, .proof = proof};
	return simple(c, NULL, &a, out);
}

rx_err_t rxc_log(rxc_t *c, const Rx__Signed *card, rxc_result_t *out)
{
	rxc_proof_t proof = {.card = card};
	call_args_t a = {.op = RX_OP_LOG, .proof = &proof};
	return simple(c, NULL, &a, out);
}

rx_err_t rxc_patient_list(rxc_t *c, const Rx__Signed *card, int64_t from, int64_t until, rxc_result_t *out)
{
	rxc_proof_t proof = {.card = card};
	call_args_t a = {.op = RX_OP_PATIENT_LIST, .proof = &proof, .from = from, .until = until};
	return simple(c, NULL, &a, out);
}

rx_err_t rxc_patient_status(rxc_t *c, const Rx__Signed *card, const char *id, rxc_result_t *out)
{
	rxc_proof_t proof = {.card = card};
	call_args_t a = {.op = RX_OP_PATIENT_STATUS, .id = id, .proof = &proof};
	return simple(c, NULL, &a, out);
}

rx_err_t rxc_list(rxc_t *c, const char *patient_id, const char *id, const rxc_proof_t *proof,
		  rxc_result_t *out)
{
	call_args_t a = {.op = RX_OP_LIST, .id = id, .patient = patient_id, .proof = proof};
	return simple(c, NULL, &a, out);
}

rx_err_t rxc_admin(const char *dir, int timeout_ms, const Rx__AdminRequest *q, Rx__AdminReply **out,
		   char *msg, size_t msglen)
{
	char path[4096], ep[4200];
	struct stat st;
	rxc_t *c;
	uint8_t *buf, *reply = NULL;
	size_t len = rx__admin_request__get_packed_size(q), rlen = 0;

	*out = NULL;
	snprintf(path, sizeof path, "%s/admin.sock", dir);
	if (stat(path, &st) != 0) {
		snprintf(msg, msglen, "no rxd is serving %s (it has no admin.sock)", dir);
		return RX_UNREACHABLE;
	}
	snprintf(ep, sizeof ep, "ipc://%s", path);
	/* No resends: the local socket loses nothing, and a long request (a
	 * backup, an audit walk) sent again would run again beside itself. */
	rxc_options_t o = {.timeout_ms = timeout_ms, .resend_ms = timeout_ms};
	if (rxc_new(&c, NULL, ep, NULL, &o) != RX_OK) {
		snprintf(msg, msglen, "cannot open the admin socket in %s", dir);
		return RX_SYSTEM;
	}
	if ((buf = malloc(len ? len : 1)) == NULL) {
		rxc_destroy(&c);
		return RX_SYSTEM;
	}
	rx__admin_request__pack(q, buf);
	const void *frames[2] = {"", buf};
	size_t lens[2] = {0, len};
	rx_err_t err = rxc_raw(c, frames, lens, 2, &reply, &rlen);
	free(buf);
	rxc_destroy(&c);
	if (err == RX_UNREACHABLE) {
		snprintf(msg, msglen, "rxd on %s did not answer within %d ms", dir, timeout_ms);
		return err;
	}
	if (err != RX_OK) {
		snprintf(msg, msglen, "error talking to rxd on %s", dir);
		return err;
	}
	*out = rx__admin_reply__unpack(NULL, rlen, reply);
	free(reply);
	if (*out == NULL || !rx_err_is_wire((int)(*out)->status)) {
		snprintf(msg, msglen, "rxd sent a reply rxctl cannot read");
		return RX_SYSTEM;
	}
	snprintf(msg, msglen, "%s", (*out)->message);
	return (rx_err_t)(*out)->status;
}

rx_err_t rxc_nominate(rxc_t *c, const Rx__Signed *card, const char *pharmacy, rxc_result_t *out)
{
	rxc_proof_t proof = {.card = card};
	call_args_t a = {.op = RX_OP_NOMINATE, .proof = &proof, .pharmacy = pharmacy ? pharmacy : ""};
	return simple(c, NULL, &a, out);
}

rx_err_t rxc_watch(rxc_t *c, rxc_result_t *out)
{
	call_args_t a = {.op = RX_OP_WATCH};
	return simple(c, NULL, &a, out);
}

rx_err_t rxc_ack(rxc_t *c, const uint64_t *seqs, size_t n, rxc_result_t *out)
{
	call_args_t a = {.op = RX_OP_ACK, .acks = seqs, .nacks = n};
	return simple(c, NULL, &a, out);
}

/* Decode and check one notice frame: signed by the pinned broker key, or
 * by the key of the last receipt this connection verified. */
static rx_err_t open_notice(rxc_t *c, const uint8_t *buf, size_t len, Rx__Notice **out)
{
	Rx__Reply *r = rx__reply__unpack(NULL, len, buf);
	Rx__Notice *n = NULL;
	rx_err_t err = RX_INVALID;
	if (r != NULL && r->notice.len > 0 &&
	    (n = rx__notice__unpack(NULL, r->notice.len, r->notice.data)) != NULL) {
		const uint8_t *want = c->has_pin ? c->pinned : c->has_seen ? c->seen : NULL;
		err = RX_BAD_SIGNATURE;
		if (want && n->broker_key.len == RX_KEY_LEN &&
		    memcmp(n->broker_key.data, want, RX_KEY_LEN) == 0 &&
		    r->notice_signature.len == RX_SIG_LEN &&
		    rx_verify(RX_SIGN_NOTICE, want, r->notice.data, r->notice.len,
			      r->notice_signature.data) == RX_OK)
			err = RX_OK;
	}
	if (r)
		rx__reply__free_unpacked(r, NULL);
	if (err != RX_OK && n)
		rx__notice__free_unpacked(n, NULL);
	*out = err == RX_OK ? n : NULL;
	return err;
}

rx_err_t rxc_notice(rxc_t *c, int timeout_ms, Rx__Notice **out)
{
	int64_t deadline = mono_ms() + timeout_ms;
	*out = NULL;
	for (;;) {
		uint8_t *buf = NULL;
		size_t len = 0;
		if (c->nqueued > 0) {
			buf = c->queued[0];
			len = c->queued_len[0];
			c->nqueued--;
			memmove(c->queued, c->queued + 1, (size_t)c->nqueued * sizeof c->queued[0]);
			memmove(c->queued_len, c->queued_len + 1, (size_t)c->nqueued * sizeof c->queued_len[0]);
		} else {
			int64_t now = mono_ms();
			if (now >= deadline)
				return RX_UNREACHABLE;
			zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
			int rc = zmq_poll(&it, 1, (long)(deadline - now));
			if (rc < 0 && zmq_errno() != EINTR)
				return RX_SYSTEM;
			if (rc <= 0 || !take_reply(c->sock, &buf, &len))
				continue;
		}
		rx_err_t err = open_notice(c, buf, len, out);
		free(buf);
		if (err != RX_INVALID) /* a stray late reply is INVALID here: skip it */
			return err;
	}
}
