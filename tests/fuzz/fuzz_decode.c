/* fuzz_decode: everything rxd does to a request frame before the store, with
 * no signature in the way: the envelope, the documents it carries
 * (Request.prescription, Request.dispense: protocol v2), the call, the card
 * assertion inside the call, the identifiers, the text checks and the
 * content checks (rx_check_*).  The input is one request frame. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rx.pb-c.h"
#include "rx_check.h"
#include "rx_crypto.h"
#include "rx_ids.h"
#include "rx_types.h"

#include "fuzz_world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Signed bytes the way dispatch unpacks them (any signature: none is
 * checked here). */
static void *unpack(const ProtobufCBinaryData *b, const ProtobufCMessageDescriptor *desc)
{
	if (b->len == 0 || b->len > RX_MAX_FRAME)
		return NULL;
	return protobuf_c_message_unpack(desc, NULL, b->len, b->data);
}

/* A card assertion inside the call, as a Signed. */
static void *body(const Rx__Signed *s, const ProtobufCMessageDescriptor *desc)
{
	return s ? unpack(&s->body, desc) : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;
	char id[RX_ID_LEN + 1], pid[RX_PATIENT_ID_LEN + 1], code[RX_ACCESS_CODE_LEN + 1];
	volatile rx_err_t sink = RX_OK;

	if (size == 0 || size > RX_MAX_FRAME)
		return 0;
	Rx__Request *req = rx__request__unpack(NULL, size, data);
	if (req == NULL)
		return 0;
	/* Packing what was unpacked must not fault either (rxd never re-packs a
	 * request, but the client library packs what callers build). */
	size_t n = rx__request__get_packed_size(req);
	uint8_t *again = malloc(n ? n : 1);
	if (again) {
		rx__request__pack(req, again);
		free(again);
	}
	/* The documents, where rxd decodes them (step 7a): with the text check
	 * and the content checks of step P, and their call_hash against the
	 * hash of the call bytes. */
	uint8_t h[RX_HASH_LEN];
	rx_hash(req->call.data, req->call.len, h);
	Rx__Prescription *p = unpack(&req->prescription, &rx__prescription__descriptor);
	if (p) {
		sink = rx_check_strings(&rx__prescription__descriptor, req->prescription.data,
					req->prescription.len);
		sink = rx_check_prescription(p, FW_NOW, &why);
		sink = p->call_hash.len == RX_HASH_LEN && memcmp(p->call_hash.data, h, RX_HASH_LEN) == 0
			       ? RX_OK
			       : RX_BAD_SIGNATURE;
		rx__prescription__free_unpacked(p, NULL);
	}
	Rx__DispenseRecord *d = unpack(&req->dispense, &rx__dispense_record__descriptor);
	if (d) {
		sink = rx_check_strings(&rx__dispense_record__descriptor, req->dispense.data, req->dispense.len);
		sink = rx_check_dispense(d, &why);
		sink = d->call_hash.len == RX_HASH_LEN && memcmp(d->call_hash.data, h, RX_HASH_LEN) == 0
			       ? RX_OK
			       : RX_BAD_SIGNATURE;
		rx__dispense_record__free_unpacked(d, NULL);
	}
	Rx__Call *call = unpack(&req->call, &rx__call__descriptor);
	if (call) {
		sink = rx_rxid_parse(call->prescription_id, id);
		sink = rx_access_code_parse(call->access_code, code);
		sink = rx_patient_id_parse(call->patient_id, pid);

		Rx__CardAssertion *a = body(call->card, &rx__card_assertion__descriptor);
		if (a) {
			sink = rx_check_assertion(a, &why);
			rx__card_assertion__free_unpacked(a, NULL);
		}
		rx__call__free_unpacked(call, NULL);
	}
	(void)sink;
	rx__request__free_unpacked(req, NULL);
	return 0;
}
