/* owed: what a use handed over in parts still owes (proto/README 5.13), as
 * the CLIs work it out from a verified STATUS: the prescribed quantities,
 * less what each part handed over.  A part's PARTIAL line leaves owed what
 * was owed less what it handed; every other line, and every item the part
 * does not name, leaves nothing (the broker's own rule).  rx-pharmacy
 * numbers the next part and checks its lines with it; both statuses print
 * it while a prescription is PARTIALLY_DISPENSED. */
#ifndef OWED_H
#define OWED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rx.pb-c.h"
#include "rx_types.h"
#include "rxclient.h"

typedef struct {
	uint32_t use;                /* the use handed over in parts (or to be): the one
				      * claimed, or the latest dispensed; 0 if none */
	uint32_t parts;              /* its parts read: 1..parts, in order */
	size_t n;                    /* the prescription's items */
	uint32_t owed[RX_MAX_ITEMS]; /* units of item k + 1 still owed after them */
} owed_t;

/* The parts of st's use (st: an OK, verified rxc_status result with its
 * prescription) numbered below before (0: all of them) into *o: with none,
 * every item owed in full and o->parts 0.  Part records the reply holds
 * out of order are not read. */
void owed_read(const rxc_result_t *st, uint32_t before, owed_t *o);

/* One more part: o after its lines (of the items o owes). */
void owed_apply(owed_t *o, Rx__Line *const *lines, size_t n);

/* What o owes of p's items, one object per item owed: "item" (from 1),
 * "quantity", "unit", and with body also "drug_code" and "name" (the
 * prescription's content is patient data).  Caller owns the array. */
json_t *owed_json(const owed_t *o, const Rx__Prescription *p, int body);

/* status: {"owed": owed_json(...)} for the use of r (an OK rxc_status
 * result) while it is PARTIALLY_DISPENSED; else NULL.  Caller owns it. */
json_t *owed_status_json(const rxc_result_t *r, int body);

/* RECORD.json "lines" for a part without a record file (rx-pharmacy
 * dispense --part N [--owe ITEM=QTY]...) into *lines: every item o still
 * owes handed over as written, but each of the n items in item[] (from 1)
 * partly: qty[] units of the prescribed product (its days in proportion),
 * the rest owed, for reason (cli_line_reason's word).  Returns 0 (the
 * caller owns *lines, its strings copied; cli_lines_from_json checks it as
 * any record), or -1 with msg naming the --owe that cannot be: an item the
 * prescription does not have, one named twice, one owed nothing now, a
 * QTY that is not less than what is owed. */
int owed_lines_json(const owed_t *o, const Rx__Prescription *p, const uint32_t *item,
		    const uint32_t *qty, size_t n, const char *reason, json_t **lines, char *msg,
		    size_t msglen);

#endif
