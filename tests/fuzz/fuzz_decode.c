/* fuzz_decode: everything rxd does to a request frame before the store, with
 * no signature in the way: the envelope, the call, the signed bodies inside
 * it (prescription, dispense record, card assertion), the identifiers, and
 * the content checks (rx_check_*).  The input is one request frame. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "rx.pb-c.h"
#include "rx_check.h"
#include "rx_ids.h"
#include "rx_types.h"

#include "fuzz_world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A signed body the way dispatch unpacks it (any signature: none is checked
 * here). */
static void *body(const Rx__Signed *s, const ProtobufCMessageDescriptor *desc)
{
	if (s == NULL || s->body.len == 0 || s->body.len > RX_MAX_FRAME)
		return NULL;
	return protobuf_c_message_unpack(desc, NULL, s->body.len, s->body.data);
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
	Rx__Call *call = req->call.len ? rx__call__unpack(NULL, req->call.len, req->call.data) : NULL;
	if (call) {
		sink = rx_rxid_parse(call->prescription_id, id);
		sink = rx_access_code_parse(call->access_code, code);
		sink = rx_patient_id_parse(call->patient_id, pid);

		Rx__Prescription *p = body(call->prescription, &rx__prescription__descriptor);
		if (p) {
			sink = rx_check_prescription(p, FW_NOW, &why);
			rx__prescription__free_unpacked(p, NULL);
		}
		Rx__DispenseRecord *d = body(call->dispense, &rx__dispense_record__descriptor);
		if (d) {
			sink = rx_check_dispense(d, &why);
			rx__dispense_record__free_unpacked(d, NULL);
		}
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
