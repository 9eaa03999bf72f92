/* fhir_read: reading FHIR's JSON so that every refusal names its path (see
 * fhir_read.h): the reader's refusals and paths, string members, FHIR dates
 * and times, references within a Bundle, modifier extensions.  What the
 * fields mean for a prescription is fhir_in.c's. */
#include "fhir_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fhir_int.h" /* FHIR_JST */
#include "rx_check.h"

/* ---- refusals and paths ---- */

/* See fhir_read.h. */
rx_err_t fhir_bad(fhir_ctx_t *x, const char *path, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	snprintf(x->msg, x->msglen, "%s: %s", path, why);
	return RX_INVALID;
}

/* See fhir_read.h. */
const char *fhir_quoted(const char *s, char buf[48])
{
	if (s && rx_check_text(s, 40, 1) == RX_OK)
		snprintf(buf, 48, "\"%s\"", s);
	else
		snprintf(buf, 48, "this value");
	return buf;
}

/* See fhir_read.h. */
const char *fhir_at(char *out, const char *path, const char *fmt, ...)
{
	char tail[FHIR_PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tail, sizeof tail, fmt, ap);
	va_end(ap);
	snprintf(out, FHIR_PATH_MAX, "%s%s", path, tail);
	return out;
}

/* See fhir_read.h. */
rx_err_t fhir_str_member(fhir_ctx_t *x, const json_t *o, const char *key, const char *path,
			 int required, const char **out)
{
	char p[FHIR_PATH_MAX];
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (v == NULL || (json_is_string(v) && json_string_length(v) == 0)) {
		if (required)
			return fhir_bad(x, fhir_at(p, path, ".%s", key), "required");
		return RX_OK;
	}
	if (!json_is_string(v))
		return fhir_bad(x, fhir_at(p, path, ".%s", key), "must be a string");
	*out = json_string_value(v);
	return RX_OK;
}

/* ---- date and time ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*out = *out * 10 + (s[i] - '0');
	}
	return 1;
}

/* See fhir_read.h. */
int fhir_parse_time(const char *s, int64_t *t, int *date_only)
{
	int y, mo, d, h, mi, se, zh, zm;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t n = strlen(s);
	if (n < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return 0;
	int64_t day = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400;
	if (n == 10) {
		*t = day - FHIR_JST;
		*date_only = 1;
		return 1;
	}
	if (n < 20 || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se) || h > 23 || mi > 59 ||
	    se > 60)
		return 0;
	const char *z = s + 19;
	if (*z == '.') {
		z++;
		if (*z < '0' || *z > '9')
			return 0;
		while (*z >= '0' && *z <= '9')
			z++;
	}
	int64_t offset;
	if (strcmp(z, "Z") == 0) {
		offset = 0;
	} else if ((z[0] == '+' || z[0] == '-') && strlen(z) == 6 && digits(z + 1, 2, &zh) &&
		   z[3] == ':' && digits(z + 4, 2, &zm) && zh <= 14 && zm <= 59) {
		offset = (zh * 3600 + zm * 60) * (z[0] == '-' ? -1 : 1);
	} else {
		return 0;
	}
	*t = day + h * 3600 + mi * 60 + (se > 59 ? 59 : se) - offset;
	*date_only = 0;
	return 1;
}

/* See fhir_read.h. */
int fhir_entry_is(const json_t *entry, const char *ref)
{
	const json_t *res = json_object_get(entry, "resource");
	const char *full = json_string_value(json_object_get(entry, "fullUrl"));
	const char *type = json_string_value(json_object_get(res, "resourceType"));
	const char *id = json_string_value(json_object_get(res, "id"));
	size_t fl = full ? strlen(full) : 0, rl = strlen(ref);
	if (full && strcmp(full, ref) == 0)
		return 1;
	if (full && fl > rl && full[fl - rl - 1] == '/' && strcmp(full + fl - rl, ref) == 0)
		return 1;
	if (type && id) {
		size_t tl = strlen(type);
		return rl == tl + 1 + strlen(id) && strncmp(ref, type, tl) == 0 && ref[tl] == '/' &&
		       strcmp(ref + tl + 1, id) == 0;
	}
	return 0;
}

/* See fhir_read.h. */
long fhir_resolve(const json_t *entries, const char *ref)
{
	for (size_t i = 0; i < json_array_size(entries); i++)
		if (fhir_entry_is(json_array_get(entries, i), ref))
			return (long)i;
	return -1;
}

/* See fhir_read.h. */
rx_err_t fhir_no_modifiers(fhir_ctx_t *x, const json_t *o, const char *path)
{
	char p[FHIR_PATH_MAX];
	if (json_object_get(o, "modifierExtension"))
		return fhir_bad(x, fhir_at(p, path, ".modifierExtension"),
			        "a modifier extension changes the meaning of the resource and cannot be carried");
	return RX_OK;
}
