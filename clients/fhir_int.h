/* fhir_int: what the FHIR reader (fhir_in.c) and writer (fhir_out.c) share.
 * Internal to the fhir library; callers use fhir.h. */
#ifndef FHIR_INT_H
#define FHIR_INT_H

#include <jansson.h>
#include <stdint.h>

/* Japan time's offset from UTC: a FHIR date names a day in Japan time. */
#define FHIR_JST (9 * 3600)

/* A JSON number with no fraction (28 or 28.0), as an integer: 1 with *out
 * set, or 0 if v is not one. */
static inline int fhir_whole_number(const json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 1;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d >= -1e15 && d <= 1e15 && d == (double)(int64_t)d) {
			*out = (int64_t)d;
			return 1;
		}
	}
	return 0;
}

#endif
