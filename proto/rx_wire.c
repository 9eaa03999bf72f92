/* rx_wire: protobuf's wire format, field by field (see rx_wire.h). */
#include "rx_wire.h"

/* One varint at *p (at most 10 bytes), advancing *p; 0 if cut short. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 63);
		if (!(b & 0x80))
			return 1;
	}
	return 0;
}

int rx_wire_next(const uint8_t **p, const uint8_t *end, rx_wire_field_t *f)
{
	uint64_t key, n;
	if (!varint(p, end, &key))
		return 0;
	f->number = key >> 3;
	f->type = (int)(key & 7);
	f->data = NULL;
	f->len = 0;
	switch (f->type) {
	case RX_WIRE_VARINT:
		return varint(p, end, &n);
	case RX_WIRE_I64:
	case RX_WIRE_I32:
		n = f->type == RX_WIRE_I64 ? 8 : 4;
		break;
	case RX_WIRE_LEN:
		if (!varint(p, end, &n))
			return 0;
		break;
	default:
		return 0;
	}
	if (n > (uint64_t)(end - *p))
		return 0;
	f->data = *p;
	f->len = (size_t)n;
	*p += n;
	return 1;
}
