/* Hostile input, encoding: sizes around RX_MAX_FRAME and the socket's cap, malformed
 * protobuf, enum values outside the schema, request ids of the wrong length,
 * and documents in requests that do not carry them (v2, step 9a). */

#include "hostile.h"

/* ---- sizes: RX_MAX_FRAME, and the socket's cap of twice that ---- */

static void padded(hx_t *x, frames_t *f, size_t target)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	request_frames(x, f, pad_to(x, req, n, target), target);
}

static void b_frame_at_max(hx_t *x, frames_t *f)
{
	padded(x, f, RX_MAX_FRAME);
}

static void b_frame_over_max(hx_t *x, frames_t *f)
{
	padded(x, f, RX_MAX_FRAME + 1);
}

static void b_frame_under_cap(hx_t *x, frames_t *f)
{
	padded(x, f, 2 * RX_MAX_FRAME - 4096);
}

/* Not in the table: frames of 524256..524288 bytes, which proto/README.md
 * says are refused INVALID, are dropped like bigger ones: libzmq applies
 * ZMQ_MAXMSGSIZE to the CURVE-encrypted frame, 33 bytes longer.  The rows
 * keep clear of that band (frame_under_cap is 4 KiB below it). */
static void b_frame_over_cap(hx_t *x, frames_t *f)
{
	padded(x, f, 2 * RX_MAX_FRAME + 1);
}

static void b_frame_4x_cap(hx_t *x, frames_t *f)
{
	padded(x, f, 8 * RX_MAX_FRAME);
}

/* ---- protobuf encoding ---- */

static void raw_payload(hx_t *x, frames_t *f, const void *p, size_t n)
{
	request_frames(x, f, p, n);
}

static void b_garbage(hx_t *x, frames_t *f)
{
	raw_payload(x, f, "\x01\x02garbage", 9);
}

static void b_all_ff(hx_t *x, frames_t *f)
{
	uint8_t b[64];
	memset(b, 0xff, sizeof b);
	raw_payload(x, f, b, sizeof b);
}

static void b_truncated_by_one(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	raw_payload(x, f, req, n - 1);
}

static void b_truncated_half(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	raw_payload(x, f, req, n / 2);
}

static void b_dangling_varint(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	uint8_t *b = hx_alloc(x, n + 2);
	memcpy(b, req, n);
	b[n] = 0x0a; /* field 1, length-delimited, then a length cut short */
	b[n + 1] = 0x80;
	raw_payload(x, f, b, n + 2);
}

static void b_overlong_varint(hx_t *x, frames_t *f)
{
	static const uint8_t b[] = {0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
				    0x80, 0x80, 0x80, 0x80, 0x00, 'k'};
	raw_payload(x, f, b, sizeof b);
}

static void b_length_past_end(hx_t *x, frames_t *f)
{
	static const uint8_t b[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8};
	raw_payload(x, f, b, sizeof b);
}

/* Prefix a good request with a field of the wrong wire type. */
static void prefixed(hx_t *x, frames_t *f, const uint8_t *pre, size_t plen)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	uint8_t *b = hx_alloc(x, plen + n);
	memcpy(b, pre, plen);
	memcpy(b + plen, req, n);
	raw_payload(x, f, b, plen + n);
}

static void b_key_as_varint(hx_t *x, frames_t *f)
{
	prefixed(x, f, (const uint8_t *)"\x08\x01", 2);
}

static void b_call_as_fixed32(hx_t *x, frames_t *f)
{
	prefixed(x, f, (const uint8_t *)"\x15\x00\x00\x00\x00", 5);
}

static void b_signature_as_fixed64(hx_t *x, frames_t *f)
{
	prefixed(x, f, (const uint8_t *)"\x19\x01\x02\x03\x04\x05\x06\x07\x08", 9);
}

static void b_group_wire_type(hx_t *x, frames_t *f)
{
	prefixed(x, f, (const uint8_t *)"\x7b\x7c", 2); /* field 15: start and end group */
}

static void b_field_number_zero(hx_t *x, frames_t *f)
{
	prefixed(x, f, (const uint8_t *)"\x02\x00", 2);
}

/* Hand-made call bytes, signed by doc. */
void signed_call_bytes(hx_t *x, frames_t *f, const uint8_t *call, size_t clen)
{
	size_t n;
	uint8_t *req = signed_bytes(x, &x->doc, call, clen, &n);
	request_frames(x, f, req, n);
}

static void b_op_as_bytes(hx_t *x, frames_t *f)
{
	uint8_t b[64];
	size_t n = 0;
	b[n++] = 0x0a;
	b[n++] = 16;
	randombytes_buf(b + n, 16);
	n += 16;
	b[n++] = 0x12; /* op, length-delimited */
	b[n++] = 1;
	b[n++] = RX_OP_STATUS;
	signed_call_bytes(x, f, b, n);
}

static void b_request_id_as_varint(hx_t *x, frames_t *f)
{
	static const uint8_t b[] = {0x08, 0x05, 0x10, RX_OP_STATUS};
	signed_call_bytes(x, f, b, sizeof b);
}

static void b_no_call(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t sig[RX_SIG_LEN];
	randombytes_buf(sig, sizeof sig);
	uint8_t *req = pack_request(x, x->doc.pk, RX_KEY_LEN, NULL, 0, sig, RX_SIG_LEN, &n);
	raw_payload(x, f, req, n);
}

static void b_call_garbage(hx_t *x, frames_t *f)
{
	signed_call_bytes(x, f, (const uint8_t *)"\xff\xff\xff\xff", 4);
}

static void b_call_truncated(hx_t *x, frames_t *f)
{
	Rx__Call c;
	size_t clen;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id; /* the last field packed: cut inside it */
	uint8_t *call = pack_call(x, &c, &clen);
	signed_call_bytes(x, f, call, clen - 1);
}

/* 20000 unknown fields in the signed call: ignored (section 2), so this
 * good STATUS is answered OK; what it must not do is leak or stall. */
static void b_unknown_field_flood(hx_t *x, frames_t *f)
{
	Rx__Call c;
	size_t clen;
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	uint8_t *call = pack_call(x, &c, &clen);
	size_t extra = 20000 * 3, n = clen + extra;
	uint8_t *b = hx_alloc(x, n);
	memcpy(b, call, clen);
	for (size_t i = 0; i < 20000; i++) {
		b[clen + 3 * i] = 0xa0; /* field 100, varint */
		b[clen + 3 * i + 1] = 0x06;
		b[clen + 3 * i + 2] = 0x01;
	}
	ck_assert_uint_lt(n, RX_MAX_FRAME - 200);
	signed_call_bytes(x, f, b, n);
}

/* Request.key repeated 5000 times: protobuf keeps the last; still a good
 * request, and rxd must free every copy it decoded. */
static void b_repeated_key_field(hx_t *x, frames_t *f)
{
	size_t n;
	uint8_t *req = good_status(x, &n);
	size_t one = 2 + RX_KEY_LEN, total = 5000 * one + n;
	uint8_t *b = hx_alloc(x, total);
	for (size_t i = 0; i < 5000; i++) {
		b[i * one] = 0x0a;
		b[i * one + 1] = RX_KEY_LEN;
		memcpy(b + i * one + 2, x->doc.pk, RX_KEY_LEN);
	}
	memcpy(b + 5000 * one, req, n);
	raw_payload(x, f, b, total);
}

/* ---- enum values outside the schema ---- */

static void op_value(hx_t *x, frames_t *f, int op)
{
	Rx__Call c;
	call_init(x, &c, RX_OP_STATUS);
	c.op = (Rx__Op)op;
	c.prescription_id = x->id;
	send_call(x, f, &x->doc, &c);
}

static void b_op_99(hx_t *x, frames_t *f)
{
	op_value(x, f, 99);
}

static void b_op_none(hx_t *x, frames_t *f)
{
	op_value(x, f, 0);
}

static void b_op_negative(hx_t *x, frames_t *f)
{
	op_value(x, f, -1);
}

static void b_op_int32_max(hx_t *x, frames_t *f)
{
	op_value(x, f, INT32_MAX);
}

static void b_purpose_99(hx_t *x, frames_t *f)
{
	list_card_at(x, f, 99, x->now);
}

static void b_purpose_none(hx_t *x, frames_t *f)
{
	list_card_at(x, f, 0, x->now);
}

/* ---- request id length ---- */

static void rid_len(hx_t *x, frames_t *f, size_t len)
{
	Rx__Call c;
	uint8_t rid[32];
	call_init(x, &c, RX_OP_STATUS);
	randombytes_buf(rid, sizeof rid);
	c.request_id.data = rid;
	c.request_id.len = len;
	c.prescription_id = x->id;
	send_call(x, f, &x->doc, &c);
}

static void b_rid_15(hx_t *x, frames_t *f)
{
	rid_len(x, f, 15);
}

static void b_rid_17(hx_t *x, frames_t *f)
{
	rid_len(x, f, 17);
}

static void b_rid_empty(hx_t *x, frames_t *f)
{
	rid_len(x, f, 0);
}

/* ---- which document a request carries (v2, step 9a) ---- */

/* A packed dispense record of x->id, unsigned and bound to nothing: a
 * second document riding along. */
static uint8_t *stray_record(hx_t *x, size_t *len)
{
	record_t r;
	record_init(x, &r);
	*len = rx__dispense_record__get_packed_size(&r.d);
	uint8_t *b = hx_alloc(x, *len);
	rx__dispense_record__pack(&r.d, b);
	return b;
}

/* A good SUBMIT with a dispense record alongside in Request.dispense: the
 * signature (over the prescription) and the binding hold; INVALID at 9a. */
static void b_submit_with_both_documents(hx_t *x, frames_t *f)
{
	presc_t ps;
	size_t n;
	presc_init(x, &ps);
	uint8_t *rec = stray_record(x, &n);
	submit_doc(x, f, (doc_req_t){.msg = &ps.p.base, .other = rec, .nother = n});
}

/* A DISPENSE with both documents.  rxd takes Request.prescription as the
 * signed document whenever there is one, so here the pharmacy's one
 * signature is over a prescription bound to this call, its record
 * alongside: steps 7 and 7a hold, and 9a refuses it: INVALID. */
static void b_dispense_with_both_documents(hx_t *x, frames_t *f)
{
	presc_t ps;
	size_t n;
	presc_init(x, &ps);
	uint8_t *rec = stray_record(x, &n);
	dispense_doc(x, f, (doc_req_t){.msg = &ps.p.base, .in = IN_PRESCRIPTION, .other = rec,
				       .nother = n});
}

/* The other way round: the pharmacy's record, bound and signed, with an
 * unsigned prescription alongside.  The prescription is what a request
 * signature covers when there is one, and this one is not signed:
 * BAD_SIGNATURE at 7 (a smuggled document is never taken as signed). */
static void b_dispense_with_unsigned_prescription(hx_t *x, frames_t *f)
{
	presc_t ps;
	record_t r;
	presc_init(x, &ps);
	record_init(x, &r);
	size_t n = rx__prescription__get_packed_size(&ps.p);
	uint8_t *b = hx_alloc(x, n);
	rx__prescription__pack(&ps.p, b);
	dispense_doc(x, f, (doc_req_t){.msg = &r.d.base, .other = b, .nother = n});
}

/* A document, bound and signed, on ops that take none: INVALID at 9a. */
static void b_claim_with_prescription(hx_t *x, frames_t *f)
{
	presc_t ps;
	Rx__Call c;
	Rx__Signed card;
	presc_init(x, &ps);
	good_card(x, AS_PH, &card);
	call_init(x, &c, RX_OP_CLAIM);
	c.prescription_id = x->id;
	c.card = &card;
	send_doc(x, f, &(doc_req_t){.call = &c, .msg = &ps.p.base, .signer = &x->ph});
}

static void b_status_with_record(hx_t *x, frames_t *f)
{
	record_t r;
	Rx__Call c;
	record_init(x, &r);
	call_init(x, &c, RX_OP_STATUS);
	c.prescription_id = x->id;
	send_doc(x, f, &(doc_req_t){.call = &c, .msg = &r.d.base, .signer = &x->doc});
}

const row_t hostile_rows_encoding[] = {
	ROW("size", frame_at_max, AS_DOC, RX_OK, RID_ECHO),
	ROW("size", frame_over_max, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("size", frame_under_cap, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("size", frame_over_cap, AS_DOC, DROPPED, RID_EMPTY),
	ROW("size", frame_4x_cap, AS_DOC, DROPPED, RID_EMPTY),
	ROW("protobuf", garbage, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", all_ff, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", truncated_by_one, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", truncated_half, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", dangling_varint, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", overlong_varint, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", length_past_end, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", key_as_varint, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", call_as_fixed32, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", signature_as_fixed64, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", group_wire_type, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", field_number_zero, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", op_as_bytes, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", request_id_as_varint, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", no_call, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", call_garbage, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", call_truncated, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("protobuf", unknown_field_flood, AS_DOC, RX_OK, RID_ECHO),
	ROW("protobuf", repeated_key_field, AS_DOC, RX_OK, RID_ECHO),
	ROW("enum", op_99, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("enum", op_none, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("enum", op_negative, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("enum", op_int32_max, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("enum", purpose_99, AS_PH, RX_INVALID, RID_ECHO),
	ROW("enum", purpose_none, AS_PH, RX_INVALID, RID_ECHO),
	ROW("request id", rid_15, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("request id", rid_17, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("request id", rid_empty, AS_DOC, RX_INVALID, RID_EMPTY),
	ROW("document", submit_with_both_documents, AS_DOC, RX_INVALID, RID_ECHO),
	ROW("document", dispense_with_both_documents, AS_PH, RX_INVALID, RID_ECHO),
	ROW("document", dispense_with_unsigned_prescription, AS_PH, RX_BAD_SIGNATURE, RID_ECHO),
	ROW("document", claim_with_prescription, AS_PH, RX_INVALID, RID_ECHO),
	ROW("document", status_with_record, AS_DOC, RX_INVALID, RID_ECHO),
};

const int hostile_rows_encoding_n =
	(int)(sizeof hostile_rows_encoding / sizeof hostile_rows_encoding[0]);
