/* wire: store records to wire messages, for the replies of the request path
 * (dispatch) and of the admin socket (admin).  One place for each record's
 * shape on the wire, so that a receipt's LOG and the operator's audit tail
 * show an entry the same way.
 *
 * The messages borrow: their strings and bytes point into the records they
 * were made from, which must outlive them (until the reply is packed). */
#ifndef WIRE_H
#define WIRE_H

#include <stddef.h>

#include "rx.pb-c.h"
#include "store.h"

/* The n records as a list of n messages, the form a repeated field takes:
 * list[i] points at the message for records[i].  The list and the messages
 * are one allocation, which the caller owns and frees with free(list).
 * NULL only if memory ran out (n == 0 gives an empty list, not NULL). */
Rx__Summary **wire_summaries(const store_rx_t *records, size_t n);
Rx__AuditInfo **wire_audit_infos(const store_audit_t *records, size_t n);
Rx__KeyInfo **wire_key_infos(const store_key_t *records, size_t n);
Rx__InstitutionInfo **wire_institution_infos(const store_institution_t *records, size_t n);
Rx__CardInfo **wire_card_infos(const store_card_t *records, size_t n);
/* The drugs with their ingredient split into components (rx_ingredient_
 * components); the components are in the same allocation. */
Rx__DrugInfo **wire_drug_infos(const store_drug_t *records, size_t n);

/* The store's counts into st (initialised here); the broker's own fields
 * (version, key, uptime, rates, data dir) are the caller's to set. */
void wire_stats(const store_stats_t *s, Rx__Stats *st);
/* The audit chain's verdict into v (initialised here). */
void wire_verdict(const store_verdict_t *verdict, Rx__AuditVerdict *v);

#endif
