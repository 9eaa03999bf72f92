/* fhir_int: what the FHIR reader (fhir_in.c) and writer (fhir_out.c) share.
 * Internal to the fhir library; callers use fhir.h. */
#ifndef FHIR_INT_H
#define FHIR_INT_H

#include <jansson.h>
#include <stdint.h>

#include "rx.pb-c.h"

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

/* An item's substitution marks as bits, so that a mark and its code are one
 * row of fhir_marks. */
enum {
	FHIR_MARK_NO_CHANGE = 1,
	FHIR_MARK_MEDICAL_NECESSITY = 2,
	FHIR_MARK_NO_FORM_CHANGE = 4,
	FHIR_MARK_NO_STRENGTH_CHANGE = 8,
};

/* One code of FHIR_SYSTEM_SUBSTITUTION_MARK: written when the item has the
 * mark own; read, it sets the marks sets (medical necessity is a kind of
 * no change, so its code sets both). */
typedef struct {
	const char *code, *display;
	unsigned own, sets;
} fhir_mark_code_t;

/* The table both directions read (defined in fhir_out.c). */
#define FHIR_MARK_CODES 4
extern const fhir_mark_code_t fhir_marks[FHIR_MARK_CODES];

static inline unsigned fhir_item_marks(const Rx__Item *it)
{
	return (it->no_change ? FHIR_MARK_NO_CHANGE : 0u) |
	       (it->medical_necessity ? FHIR_MARK_MEDICAL_NECESSITY : 0u) |
	       (it->no_form_change ? FHIR_MARK_NO_FORM_CHANGE : 0u) |
	       (it->no_strength_change ? FHIR_MARK_NO_STRENGTH_CHANGE : 0u);
}

static inline void fhir_set_item_marks(Rx__Item *it, unsigned marks)
{
	it->no_change = (marks & FHIR_MARK_NO_CHANGE) != 0;
	it->medical_necessity = (marks & FHIR_MARK_MEDICAL_NECESSITY) != 0;
	it->no_form_change = (marks & FHIR_MARK_NO_FORM_CHANGE) != 0;
	it->no_strength_change = (marks & FHIR_MARK_NO_STRENGTH_CHANGE) != 0;
}

#endif
