/* rx_wire: walking protobuf's wire format field by field, without decoding.
 *
 * For the few places that must look at bytes before (or instead of)
 * protobuf-c decoding them: reading a request id off a call that will not
 * be decoded, and refusing a NUL byte inside a string field (which
 * protobuf-c would let through).  Nothing is allocated. */
#ifndef RX_WIRE_H
#define RX_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum { RX_WIRE_VARINT = 0, RX_WIRE_I64 = 1, RX_WIRE_LEN = 2, RX_WIRE_I32 = 5 };

typedef struct {
	uint64_t number;     /* the field number, unchecked (may exceed 2^29) */
	int type;            /* RX_WIRE_*: how the value is encoded */
	const uint8_t *data; /* RX_WIRE_LEN: the value's bytes (borrowed) */
	size_t len;
} rx_wire_field_t;

/* Read the field at *p, advancing *p past it.  1 if one was read; 0 if the
 * bytes are cut short or use a wire type protobuf 3 does not (groups):
 * the caller treats the rest as undecodable.  Varints are at most 10 bytes. */
int rx_wire_next(const uint8_t **p, const uint8_t *end, rx_wire_field_t *f);

#endif
