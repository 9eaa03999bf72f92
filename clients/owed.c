/* owed: what a use handed over in parts still owes (see owed.h). */
#include "owed.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

void owed_apply(owed_t *o, Rx__Line *const *lines, size_t n)
{
	uint32_t after[RX_MAX_ITEMS] = {0};
	for (size_t j = 0; j < n; j++) {
		const Rx__Line *l = lines[j];
		if (l->item < 1 || l->item > o->n || l->outcome != RX__OUTCOME__PARTIAL || l->handed == NULL)
			continue;
		uint32_t was = o->owed[l->item - 1];
		after[l->item - 1] = was > l->handed->quantity ? was - l->handed->quantity : 0;
	}
	memcpy(o->owed, after, sizeof after);
}

void owed_read(const rxc_result_t *st, uint32_t before, owed_t *o)
{
	const Rx__Prescription *p = st->prescription;
	const Rx__Receipt *rc = st->receipt;
	memset(o, 0, sizeof *o);
	o->n = p->n_items < RX_MAX_ITEMS ? p->n_items : RX_MAX_ITEMS;
	for (size_t k = 0; k < o->n; k++)
		o->owed[k] = p->items[k]->quantity;
	/* Parts are of the use the pharmacy holds (a use being handed over in
	 * parts is not counted dispensed yet), or else of the latest dispensed
	 * one, whose last part a resent record would repeat. */
	uint32_t done = rc->uses_left <= rc->uses ? rc->uses - rc->uses_left : 0;
	int held = rc->state == RX__STATE__CLAIMED || rc->state == RX__STATE__PARTIALLY_DISPENSED;
	o->use = held ? done + 1 : done;
	for (size_t i = 0; o->use && i < st->n_dispenses && st->reply && i < st->reply->n_dispenses; i++) {
		const Rx__DispenseRecord *d = st->dispenses[i];
		const Rx__DispenseInfo *x = st->reply->dispenses[i];
		if (x->use != o->use || x->superseded || d->part != o->parts + 1 || (before && d->part >= before))
			continue;
		owed_apply(o, d->lines, d->n_lines);
		o->parts = d->part;
	}
}

json_t *owed_json(const owed_t *o, const Rx__Prescription *p, int body)
{
	json_t *a = json_array();
	for (size_t k = 0; a && k < o->n; k++) {
		const Rx__Item *it = p->items[k];
		json_t *e;
		if (o->owed[k] == 0)
			continue;
		if (body)
			e = json_pack("{s:I, s:s, s:s, s:I, s:s}", "item", (json_int_t)k + 1, "drug_code",
				      it->drug_code, "name", it->name, "quantity", (json_int_t)o->owed[k], "unit",
				      it->unit);
		else
			e = json_pack("{s:I, s:I, s:s}", "item", (json_int_t)k + 1, "quantity",
				      (json_int_t)o->owed[k], "unit", it->unit);
		if (json_array_append_new(a, e) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

json_t *owed_status_json(const rxc_result_t *r, int body)
{
	owed_t o;
	if (r->status != RX_OK || r->receipt == NULL || r->prescription == NULL ||
	    r->receipt->state != RX__STATE__PARTIALLY_DISPENSED)
		return NULL;
	owed_read(r, 0, &o);
	return json_pack("{s:I, s:o}", "parts", (json_int_t)o.parts, "owed", owed_json(&o, r->prescription, body));
}

int owed_lines_json(const owed_t *o, const Rx__Prescription *p, const uint32_t *item,
		    const uint32_t *qty, size_t n, const char *reason, json_t **lines, char *msg,
		    size_t msglen)
{
	size_t which[RX_MAX_ITEMS] = {0}; /* item k's place in item[], from 1; 0 if not there */
	*lines = NULL;
	for (size_t j = 0; j < n; j++) {
		size_t k = item[j] - 1;
		if (item[j] < 1 || item[j] > o->n) {
			snprintf(msg, msglen, "--owe %u=%u: the prescription has no item %u (items 1..%zu)", item[j],
				 qty[j], item[j], o->n);
			return -1;
		}
		if (which[k]) {
			snprintf(msg, msglen, "--owe %u=%u: item %u is named twice", item[j], qty[j], item[j]);
			return -1;
		}
		if (o->owed[k] == 0) {
			snprintf(msg, msglen, "--owe %u=%u: nothing of item %u is owed now", item[j], qty[j], item[j]);
			return -1;
		}
		if (qty[j] < 1 || qty[j] >= o->owed[k]) {
			snprintf(msg, msglen, "--owe %u=%u: %u units of item %u are owed: a part hands over 1..%u "
					      "of them (all of them: leave the item out of --owe)",
				 item[j], qty[j], o->owed[k], item[j], o->owed[k] - 1);
			return -1;
		}
		which[k] = j + 1;
	}
	json_t *a = json_array();
	for (size_t k = 0; a && k < o->n; k++) {
		const Rx__Item *it = p->items[k];
		json_t *line;
		if (o->owed[k] == 0)
			continue;
		if (which[k] == 0) {
			line = json_pack("{s:I, s:s}", "item", (json_int_t)k + 1, "outcome", "as_written");
		} else {
			uint32_t q = qty[which[k] - 1];
			line = json_pack("{s:I, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:I, s:I}}", "item",
					 (json_int_t)k + 1, "outcome", "partial", "reason", reason, "handed",
					 "drug_code", it->drug_code, "name", it->name, "dose", it->dose, "unit",
					 it->unit, "usage", it->usage, "days", (json_int_t)cli_days_of(it, q),
					 "quantity", (json_int_t)q);
		}
		if (json_array_append_new(a, line) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	if (a == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	*lines = a;
	return 0;
}
