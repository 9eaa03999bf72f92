/* fuzz_dispatch: the whole request path, dispatch_request against a real
 * LMDB store (the fuzz world, put back before every input; see fuzz_world.h).
 *
 * The input is one request frame, dispatched twice at most, in one batch
 * (store_batch_begin/end) as rxd applies the requests it reads together:
 *  1. as it is, from the institution the request's key belongs to (what ZAP
 *     would have let through; CLINIC-1 for a key the world does not know);
 *  2. re-signed: a mutated request almost never carries a valid signature,
 *     and rxd rightly stops at BAD_SIGNATURE, which would hide everything
 *     after the signature checks from the fuzzer.  So where a signer is a
 *     key of the world, the harness signs the mutated bytes again in place
 *     and dispatches that too: the card assertion inside the call; then the
 *     document's call_hash (protocol v2: a SUBMIT's prescription or a
 *     DISPENSE's record names its call by hash) is made the hash of the call
 *     bytes again, where a 32-byte one sits in the document; then the
 *     request's one signature, by its key, over what rxd verifies (the
 *     prescription, else the dispense record, else the call).  The signed
 *     bytes themselves are never re-encoded, so the fuzzer keeps full
 *     control of them. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_world.h"
#include "rx_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Sign the card assertion inside the call again if its card is a key of
 * the world, overwriting the old signature where it sits in the call
 * bytes.  1 if anything changed. */
static int fix_card(const Rx__Signed *s, uint8_t *call, size_t len)
{
	uint8_t sig[RX_SIG_LEN];
	const fw_key_t *k = NULL;
	if (s == NULL || s->body.len == 0 || s->signature.len != RX_SIG_LEN)
		return 0;
	Rx__CardAssertion *a = rx__card_assertion__unpack(NULL, s->body.len, s->body.data);
	if (a) {
		k = fw_key(a->card_key.data, a->card_key.len);
		rx__card_assertion__free_unpacked(a, NULL);
	}
	if (k == NULL || rx_sign(RX_SIGN_CARD, k->kp.sk, s->body.data, s->body.len, sig) != RX_OK ||
	    memcmp(sig, s->signature.data, RX_SIG_LEN) == 0)
		return 0;
	uint8_t *at = memmem(call, len, s->signature.data, RX_SIG_LEN);
	if (at == NULL)
		return 0;
	memcpy(at, sig, RX_SIG_LEN);
	return 1;
}

/* Make the document's call_hash (doc: its own copy of the bytes) the hash
 * of call, where it sits.  1 if anything changed. */
static int fix_call_hash(rx_sign_ctx_t ctx, uint8_t *doc, size_t len, const uint8_t *call, size_t call_len)
{
	uint8_t h[RX_HASH_LEN];
	ProtobufCBinaryData named = {0, NULL};
	Rx__Prescription *p = NULL;
	Rx__DispenseRecord *d = NULL;
	int changed = 0;
	if (ctx == RX_SIGN_PRESCRIPTION && (p = rx__prescription__unpack(NULL, len, doc)))
		named = p->call_hash;
	if (ctx == RX_SIGN_DISPENSE && (d = rx__dispense_record__unpack(NULL, len, doc)))
		named = d->call_hash;
	rx_hash(call, call_len, h);
	if (named.len == RX_HASH_LEN && memcmp(named.data, h, RX_HASH_LEN) != 0) {
		uint8_t *at = memmem(doc, len, named.data, RX_HASH_LEN);
		if (at) {
			memcpy(at, h, RX_HASH_LEN);
			changed = 1;
		}
	}
	if (p)
		rx__prescription__free_unpacked(p, NULL);
	if (d)
		rx__dispense_record__free_unpacked(d, NULL);
	return changed;
}

/* The frame re-signed by the world's keys into *out; 0 if there is
 * nothing to re-sign (unknown caller, or every signature already good). */
static int resign(const uint8_t *data, size_t size, store_buf_t *out)
{
	Rx__Request *req = rx__request__unpack(NULL, size, data);
	const fw_key_t *caller;
	uint8_t sig[RX_SIG_LEN], *call = NULL, *doc = NULL;
	int changed = 0;

	if (req == NULL)
		return 0;
	/* An empty call is refused before any signature is looked at. */
	if (req->call.len == 0 || (caller = fw_key(req->key.data, req->key.len)) == NULL ||
	    (call = malloc(req->call.len + 1)) == NULL)
		goto done;
	memcpy(call, req->call.data, req->call.len);
	Rx__Call *c = rx__call__unpack(NULL, req->call.len, req->call.data);
	if (c) {
		changed |= fix_card(c->card, call, req->call.len);
		rx__call__free_unpacked(c, NULL);
	}
	/* The signed bytes, as dispatch_prepare chooses them. */
	rx_sign_ctx_t ctx;
	ProtobufCBinaryData *signed_bytes = (ProtobufCBinaryData *)rx_request_signed(req, &ctx);
	const uint8_t *msg = call;
	if (ctx != RX_SIGN_CALL) {
		if ((doc = malloc(signed_bytes->len)) == NULL)
			goto done;
		memcpy(doc, signed_bytes->data, signed_bytes->len);
		changed |= fix_call_hash(ctx, doc, signed_bytes->len, call, req->call.len);
		msg = doc;
	}
	if (rx_sign(ctx, caller->kp.sk, msg, signed_bytes->len, sig) != RX_OK)
		goto done;
	if (req->signature.len != RX_SIG_LEN || memcmp(sig, req->signature.data, RX_SIG_LEN) != 0)
		changed = 1;
	if (changed) {
		/* Only the envelope is packed anew; the call and the document go
		 * in byte for byte. */
		ProtobufCBinaryData was_call = req->call, was_sig = req->signature, was_doc = *signed_bytes;
		req->call.data = call;
		if (doc)
			signed_bytes->data = doc;
		req->signature.data = sig;
		req->signature.len = RX_SIG_LEN;
		out->len = rx__request__get_packed_size(req);
		if ((out->data = malloc(out->len ? out->len : 1)) == NULL)
			changed = 0;
		else
			rx__request__pack(req, out->data);
		/* The request's own buffers back, for free_unpacked. */
		*signed_bytes = was_doc;
		req->call = was_call;
		req->signature = was_sig;
	}
done:
	free(doc);
	free(call);
	rx__request__free_unpacked(req, NULL);
	return changed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	store_t *s = fw_reset();
	store_buf_t frame = {(uint8_t *)data, size}, signed_again = {0};

	/* The same cap rxd's socket applies (ZMQ_MAXMSGSIZE). */
	if (size > RX_MAX_FRAME)
		return 0;
	/* As rxd serves: the requests waiting at once applied in one batch
	 * (nested transactions), committed together; unbatched if it cannot open. */
	int batched = store_batch_begin(s) == RX_OK;
	(void)fw_dispatch(s, &frame, FW_NOW, NULL);
	if (resign(data, size, &signed_again)) {
		(void)fw_dispatch(s, &signed_again, FW_NOW, NULL);
		free(signed_again.data);
	}
	if (batched) {
		/* A failed commit only means nothing of the batch happened. */
		rx_err_t committed = store_batch_end(s);
		(void)committed;
	}
	return 0;
}
