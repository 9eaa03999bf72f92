/* watchers: the bounded table of watching connections (see watchers.h). */
#include "watchers.h"

#include <stdlib.h>
#include <string.h>

struct watchers {
	size_t n, cap;
	uint64_t next_order;
	watcher_t slot[];
};

rx_err_t watchers_new(watchers_t **out, size_t cap)
{
	*out = NULL;
	if (cap == 0)
		return RX_INVALID;
	watchers_t *w = calloc(1, sizeof *w + cap * sizeof w->slot[0]);
	if (w == NULL)
		return RX_SYSTEM;
	w->cap = cap;
	*out = w;
	return RX_OK;
}

void watchers_destroy(watchers_t **w)
{
	if (w) {
		free(*w);
		*w = NULL;
	}
}

size_t watchers_count(const watchers_t *w)
{
	return w->n;
}

watcher_t *watchers_at(watchers_t *w, size_t i)
{
	return i < w->n ? &w->slot[i] : NULL;
}

void watchers_remove_at(watchers_t *w, size_t i)
{
	if (i < w->n)
		w->slot[i] = w->slot[--w->n];
}

static int same(const watcher_t *x, const uint8_t *id, size_t idlen)
{
	return x->idlen == idlen && memcmp(x->id, id, idlen) == 0;
}

int watchers_has(const watchers_t *w, const uint8_t *id, size_t idlen, const char *code, int64_t now)
{
	for (size_t i = 0; i < w->n; i++)
		if (same(&w->slot[i], id, idlen))
			return strcmp(w->slot[i].code, code) == 0 && w->slot[i].seen >= now - WATCHERS_TTL;
	return 0;
}

/* The oldest watcher of code (or of anyone if code is NULL); how many code
 * holds into *held. */
static size_t oldest_of(const watchers_t *w, const char *code, size_t *held)
{
	size_t best = w->n;
	*held = 0;
	for (size_t i = 0; i < w->n; i++) {
		if (strcmp(w->slot[i].code, code) != 0)
			continue;
		++*held;
		if (best == w->n || w->slot[i].order < w->slot[best].order)
			best = i;
	}
	return best;
}

/* The table is full: the oldest watcher of the institution holding the
 * most slots, if it holds more than one; w->n if there is none.  Quadratic,
 * but only on a full table, which takes hundreds of institutions. */
static size_t victim(const watchers_t *w)
{
	size_t best = w->n, most = 1;
	for (size_t i = 0; i < w->n; i++) {
		size_t held, o = oldest_of(w, w->slot[i].code, &held);
		if (held > most || (held == most && held > 1 && w->slot[o].order < w->slot[best].order)) {
			most = held;
			best = o;
		}
	}
	return best;
}

rx_err_t watchers_add(watchers_t *w, const uint8_t *id, size_t idlen, const char *code, int64_t now,
		      watcher_t **out, int *fresh)
{
	size_t i, held;
	*out = NULL;
	*fresh = 0;
	if (idlen == 0 || idlen > WATCHERS_ID_MAX)
		return RX_INVALID;
	for (i = 0; i < w->n; i++)
		if (w->slot[i].seen < now - WATCHERS_TTL)
			watchers_remove_at(w, i--);
	for (i = 0; i < w->n && !same(&w->slot[i], id, idlen); i++)
		;
	if (i < w->n && strcmp(w->slot[i].code, code) == 0) {
		w->slot[i].seen = now; /* a heartbeat */
		*out = &w->slot[i];
		return RX_OK;
	}
	/* A connection watches one institution: the one its key belongs to. */
	if (i < w->n)
		watchers_remove_at(w, i);
	size_t old = oldest_of(w, code, &held);
	if (held >= WATCHERS_PER_INSTITUTION)
		watchers_remove_at(w, old);
	else if (w->n == w->cap) {
		size_t v = victim(w);
		if (v == w->n)
			return RX_WATCHERS_FULL;
		watchers_remove_at(w, v);
	}
	watcher_t *x = &w->slot[w->n++];
	memcpy(x->id, id, idlen);
	x->idlen = idlen;
	size_t clen = strlen(code);
	if (clen > RX_INSTITUTION_MAX)
		clen = RX_INSTITUTION_MAX;
	memcpy(x->code, code, clen);
	x->code[clen] = '\0';
	x->order = ++w->next_order;
	x->seen = now;
	*out = x;
	*fresh = 1;
	return RX_OK;
}
