/* fhir_read: reading FHIR's JSON so that every refusal names its path.
 * Internal to the FHIR reader (fhir_in.c); callers use fhir.h. */
#ifndef FHIR_READ_H
#define FHIR_READ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rx_err.h"

#define FHIR_PATH_MAX 160

/* One reading: where its refusal's message goes, and the time it reads at. */
typedef struct {
	char *msg;
	size_t msglen;
	int64_t now;
} fhir_ctx_t;

/* "path: why" into x's message; RX_INVALID. */
rx_err_t fhir_bad(fhir_ctx_t *x, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* path + suffix into out (FHIR_PATH_MAX bytes); out. */
const char *fhir_at(char *out, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A short input string safe to quote back in a message (it goes to a
 * terminal too), or a placeholder; buf. */
const char *fhir_quoted(const char *s, char buf[48]);
/* The string member key of o: RX_OK with *out (NULL if absent and
 * optional), or RX_INVALID if it is not a string, or required and absent or
 * empty. */
rx_err_t fhir_str_member(fhir_ctx_t *x, const json_t *o, const char *key, const char *path,
			 int required, const char **out);
/* RX_INVALID if o carries a modifierExtension: it would change the meaning
 * of the resource, and a Prescription cannot carry one. */
rx_err_t fhir_no_modifiers(fhir_ctx_t *x, const json_t *o, const char *path);

/* A FHIR date ("2026-05-01", the start of that day in Japan time,
 * *date_only = 1) or dateTime with seconds and a zone
 * ("2026-05-01T09:30:00+09:00", "...Z", fractions allowed).  0 if neither
 * (partial dates like "2026-05" included: they name no instant). */
int fhir_parse_time(const char *s, int64_t *t, int *date_only);

/* Whether the bundle entry is what ref names: its fullUrl, the end of its
 * fullUrl after a '/', or its resource's type/id. */
int fhir_entry_is(const json_t *entry, const char *ref);
/* The index of the bundle entry ref resolves to, or -1. */
long fhir_resolve(const json_t *entries, const char *ref);

#endif
