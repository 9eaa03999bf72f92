/* rxclient_records: what a STATUS reply's signed records must be before
 * rxclient hands them on (proto/README 3.3 steps 8 and 8a): the pharmacies'
 * dispense records and the inquiries with their answers, each signed, of
 * this prescription, in order, and bound by the broker's receipt; and the
 * lines of a record that hands every item over as written. */
#include "rxclient_records.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rx_check.h"

/* See rxclient_records.h. */
rx_err_t rxc_fail(rxc_result_t *out, rx_err_t err, const char *msg)
{
	out->status = err;
	snprintf(out->message, sizeof out->message, "%s", msg);
	return err;
}

/* STATUS: every dispense record in the reply is a pharmacy's signed record
 * of this prescription, for the use the broker names, in use order; of each
 * use's records the last is current and those before it superseded
 * (amended or withdrawn, proto/README 5.12), but for parts that left items
 * owed (5.13); the current records that neither withdraw nor leave items
 * owed are as many as the signed receipt says were dispensed;
 * and the receipt's dispenses_hash covers them all with when and where each
 * was made (so nothing can be dropped, added or altered on the way). */
static rx_err_t verify_dispenses(const Rx__Receipt *rc, rxc_result_t *out)
{
	const Rx__Reply *r = out->reply;
	unsigned dispensed = 0;
	if (r->n_dispenses == 0)
		return rc->uses_left == rc->uses || (rc->op != RX__OP__STATUS && rc->op != RX__OP__PATIENT_STATUS)
			       ? RX_OK
			       : rxc_fail(out, RX_SYSTEM, "the reply lacks the prescription's dispense records");
	if ((rc->op != RX__OP__STATUS && rc->op != RX__OP__PATIENT_STATUS) || rc->uses_left > rc->uses ||
	    r->n_dispenses > (size_t)RX_MAX_USES * RX_USE_RECORDS)
		return rxc_fail(out, RX_SYSTEM, "the reply's dispense records do not match the uses dispensed");
	uint8_t h[RX_HASH_LEN];
	rx_dispenses_hash(r->dispenses, r->n_dispenses, h);
	if (rc->dispenses_hash.len != RX_HASH_LEN || sodium_memcmp(h, rc->dispenses_hash.data, RX_HASH_LEN) != 0)
		return rxc_fail(out, RX_SYSTEM, "the reply's dispense records are not the ones the receipt names");
	if ((out->dispenses = calloc(r->n_dispenses, sizeof *out->dispenses)) == NULL)
		return rxc_fail(out, RX_SYSTEM, "out of memory");
	for (size_t i = 0; i < r->n_dispenses; i++) {
		const Rx__DispenseInfo *x = r->dispenses[i];
		const Rx__Signed *s = x->record;
		Rx__DispenseRecord *d = s ? rx__dispense_record__unpack(NULL, s->body.len, s->body.data) : NULL;
		if (d == NULL)
			return rxc_fail(out, RX_SYSTEM, "a dispense record in the reply does not decode");
		out->dispenses[out->n_dispenses++] = d;
		if (d->pharmacy_key.len != RX_KEY_LEN || s->signature.len != RX_SIG_LEN ||
		    rx_verify(rx_doc_context(RX_SIGN_DISPENSE, d->version), d->pharmacy_key.data, s->body.data, s->body.len,
			      s->signature.data) != RX_OK)
			return rxc_fail(out, RX_SYSTEM, "a pharmacy's signature on a dispense record does not verify");
		const Rx__DispenseInfo *next = i + 1 < r->n_dispenses ? r->dispenses[i + 1] : NULL;
		int last_of_use = next == NULL || next->use != x->use;
		if (x->use < 1 || x->use > rc->uses || x->use > RX_MAX_USES || (next && next->use < x->use) ||
		    x->superseded != (!last_of_use && d->part == 0) || (d->use != 0 && d->use != x->use) ||
		    strcmp(d->prescription_id, rc->prescription_id) != 0)
			return rxc_fail(out, RX_SYSTEM, "a dispense record in the reply is not of this prescription's uses");
		int owing = 0;
		for (size_t l = 0; l < d->n_lines; l++)
			owing |= d->lines[l]->outcome == RX__OUTCOME__PARTIAL;
		dispensed += last_of_use && d->withdraw_reason == 0 && !owing;
	}
	if (dispensed != rc->uses - rc->uses_left)
		return rxc_fail(out, RX_SYSTEM, "the reply's dispense records do not match the uses dispensed");
	return RX_OK;
}

/* One signed call kept by the broker (an inquiry or its answer): signed
 * by key under the call context, a Call of op about prescription id.  The
 * decoded call, or NULL. */
static Rx__Call *verified_call(const Rx__Signed *s, ProtobufCBinaryData key, int op, const char *id)
{
	if (s == NULL || key.len != RX_KEY_LEN || s->signature.len != RX_SIG_LEN ||
	    rx_verify(RX_SIGN_CALL, key.data, s->body.data, s->body.len, s->signature.data) != RX_OK)
		return NULL;
	Rx__Call *c = rx__call__unpack(NULL, s->body.len, s->body.data);
	if (c && ((int)c->op != op || strcmp(c->prescription_id, id) != 0)) {
		rx__call__free_unpacked(c, NULL);
		c = NULL;
	}
	return c;
}

/* STATUS: each inquiry in the reply is a pharmacy's signed INQUIRE call of
 * this prescription, numbered 1, 2, ... in order, its answer (if any) a
 * signed INQUIRY_REPLY naming it, and the receipt's inquiries_hash covers
 * them all with their times and institutions (proto/README 3.3, 5.14). */
static rx_err_t verify_inquiries(const Rx__Receipt *rc, rxc_result_t *out)
{
	const Rx__Reply *r = out->reply;
	if (r->n_inquiries == 0)
		return rc->inquiries_hash.len == 0 ? RX_OK
						   : rxc_fail(out, RX_SYSTEM, "the reply lacks the prescription's inquiries");
	if (rc->op != RX__OP__STATUS && rc->op != RX__OP__PATIENT_STATUS)
		return rxc_fail(out, RX_SYSTEM, "only a STATUS carries inquiries");
	uint8_t h[RX_HASH_LEN];
	rx_inquiries_hash(r->inquiries, r->n_inquiries, h);
	if (rc->inquiries_hash.len != RX_HASH_LEN || sodium_memcmp(h, rc->inquiries_hash.data, RX_HASH_LEN) != 0)
		return rxc_fail(out, RX_SYSTEM, "the reply's inquiries are not the ones the receipt names");
	out->asked = calloc(r->n_inquiries, sizeof *out->asked);
	out->answered = calloc(r->n_inquiries, sizeof *out->answered);
	if (out->asked == NULL || out->answered == NULL)
		return rxc_fail(out, RX_SYSTEM, "out of memory");
	out->n_inquiries = r->n_inquiries;
	for (size_t i = 0; i < r->n_inquiries; i++) {
		const Rx__InquiryInfo *q = r->inquiries[i];
		Rx__Call *c = verified_call(q->call, q->pharmacy_key, RX__OP__INQUIRE, rc->prescription_id);
		out->asked[i] = c;
		int ok = c && c->inquiry && q->number == i + 1;
		if (ok && q->reply) {
			Rx__Call *a = verified_call(q->reply, q->prescriber_key, RX__OP__INQUIRY_REPLY,
						   rc->prescription_id);
			out->answered[i] = a;
			ok = a && a->inquiry_reply && a->inquiry_reply->inquiry == q->number;
		}
		if (!ok)
			return rxc_fail(out, RX_SYSTEM, "an inquiry or its answer in the reply does not verify");
	}
	return RX_OK;
}

/* See rxclient_records.h. */
rx_err_t rxc_check_records(const Rx__Receipt *rc, rxc_result_t *out)
{
	rx_err_t err = verify_dispenses(rc, out);
	return err == RX_OK ? verify_inquiries(rc, out) : err;
}

/* ---- building a record: every item as written (rxclient.h) ---- */

/* One allocation a line: the Line, then its handed Item. */
typedef struct {
	Rx__Line line;
	Rx__Item handed;
} line_t;

rx_err_t rxc_lines_as_written(const Rx__Prescription *p, Rx__Line ***lines, size_t *n)
{
	*lines = calloc(p->n_items ? p->n_items : 1, sizeof **lines);
	*n = 0;
	if (*lines == NULL)
		return RX_SYSTEM;
	for (size_t i = 0; i < p->n_items; i++) {
		line_t *l = malloc(sizeof *l);
		if (l == NULL) {
			rxc_lines_free(*lines, *n);
			*lines = NULL;
			*n = 0;
			return RX_SYSTEM;
		}
		rx__line__init(&l->line);
		l->handed = *p->items[i];
		l->handed.no_change = l->handed.medical_necessity = 0;
		l->handed.no_form_change = l->handed.no_strength_change = 0;
		l->line.item = (uint32_t)i + 1;
		l->line.outcome = RX__OUTCOME__AS_WRITTEN;
		l->line.handed = &l->handed;
		(*lines)[(*n)++] = &l->line;
	}
	return RX_OK;
}

void rxc_lines_free(Rx__Line **lines, size_t n)
{
	/* Each line is the first member of its line_t. */
	for (size_t i = 0; lines && i < n; i++)
		free(lines[i]);
	free(lines);
}
