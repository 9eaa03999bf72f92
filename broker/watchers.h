/* watchers: the connections watching for pharmacies' notices.
 *
 * A pharmacy's WATCH registers its connection (the ROUTER routing id) for
 * its institution's notices, and it repeats WATCH as a heartbeat.  The table
 * is bounded, and no one institution can fill it for the others:
 *   - an institution holds at most WATCHERS_PER_INSTITUTION connections; one
 *     more evicts that institution's oldest;
 *   - when the whole table is full, a new connection evicts the oldest one
 *     of the institution holding the most, if that one holds more than one;
 *     only when every institution holds exactly one is it refused
 *     (RX_WATCHERS_FULL), so the pharmacy hears it instead of waiting for
 *     pushes that never come;
 *   - a connection silent for WATCHERS_TTL seconds is forgotten.
 * Notices stay in the store until ACKed, so an evicted or forgotten
 * connection loses nothing: it gets the backlog at its next WATCH.
 * One thread (rxd's loop) owns the table. */
#ifndef WATCHERS_H
#define WATCHERS_H

#include <stddef.h>
#include <stdint.h>

#include "rx_err.h"
#include "rx_types.h"

#define WATCHERS_PER_INSTITUTION 8
#define WATCHERS_TTL 90 /* seconds without a WATCH */
#define WATCHERS_ID_MAX 256

typedef struct {
	uint8_t id[WATCHERS_ID_MAX]; /* the connection's routing id */
	size_t idlen;
	char code[RX_INSTITUTION_MAX + 1];
	uint64_t order;              /* when it was registered: smaller is older */
	int64_t seen;                /* its last WATCH */
} watcher_t;

typedef struct watchers watchers_t;

/* A table of cap watchers.  Caller owns *out (watchers_destroy).
 * RX_SYSTEM if memory runs out, RX_INVALID if cap is 0. */
rx_err_t watchers_new(watchers_t **out, size_t cap) RX_MUST_CHECK;
void watchers_destroy(watchers_t **w);

/* Register (or refresh) connection id as watching code's notices at now.
 * On RX_OK *out is the watcher, borrowed until the table next changes, and
 * *fresh is 1 if the connection was not watching code before (a new
 * watch, not a heartbeat).  RX_WATCHERS_FULL as above; RX_INVALID for an
 * empty or too long id. */
rx_err_t watchers_add(watchers_t *w, const uint8_t *id, size_t idlen, const char *code, int64_t now,
		      watcher_t **out, int *fresh) RX_MUST_CHECK;
/* Is connection id watching code (and not silent past the TTL at now)? */
int watchers_has(const watchers_t *w, const uint8_t *id, size_t idlen, const char *code, int64_t now);

/* Walking the table: watchers_at(w, i) for i < watchers_count(w); the
 * watcher at i is borrowed until the table changes.  watchers_remove_at
 * moves the last one into slot i (so a walk that removes stays at i). */
size_t watchers_count(const watchers_t *w);
watcher_t *watchers_at(watchers_t *w, size_t i);
void watchers_remove_at(watchers_t *w, size_t i);

#endif
