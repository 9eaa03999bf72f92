/* tamper: a test of the checker itself (rx-crash --tamper).
 *
 * With rxd stopped after the run, it makes eight faults the checker must
 * find, each on its own prescription: deletes the stored record of an
 * acknowledged submit, deletes the dispense record of an acknowledged
 * dispense, adds a dispense record nobody made, copies the record an
 * acknowledged AMEND replaced (or a withdrawal since, the use dispensed
 * again) over the use's current record (sealed again for that key, as rxd
 * would write it: a record both current and superseded), copies an acknowledged part that left items owed after the
 * use's last kept record (sealed again for its key: the part stored twice,
 * proto/README 5.13), alters one byte of an audit entry, and rewrites one
 * pharmacy's journal so that a CLAIM the broker accepted reads as refused
 * (what "a refused request took effect" looks like), and removes the
 * answer an acknowledged INQUIRY_REPLY gave from its inquiry's row (sealed
 * again: an acknowledged answer lost, proto/README 5.14), and makes the
 * record of a DISPENSE refused NOT_AGREED (it cites an inquiry that agreed
 * to no such change) its use's current record, as if it had taken effect
 * (sealed for that key, with the request's own signature: only what it
 * says gives it away).  A checker that reports all nine is not vacuous. */
#ifndef TAMPER_H
#define TAMPER_H

#include "check.h"
#include "crash.h"

typedef struct {
	char submit_lost[RX_ID_LEN + 1];    /* its "rx" record deleted */
	char dispense_lost[RX_ID_LEN + 1];  /* one of its dispense records deleted */
	char dispense_extra[RX_ID_LEN + 1]; /* a dispense record added */
	char claim_refused[RX_ID_LEN + 1];  /* an accepted CLAIM journaled as refused */
	char superseded[RX_ID_LEN + 1];     /* a replaced record copied over the current one */
	uint32_t superseded_use;            /* of this use */
	char part_twice[RX_ID_LEN + 1];     /* a part that left items owed, stored again */
	uint32_t part_use, part;            /* of this use, its number */
	uint8_t part_hash[RX_HASH_LEN];     /* its body hash, as its receipt gave it */
	char unanswered[RX_ID_LEN + 1];     /* an acknowledged answer removed from its inquiry */
	uint32_t inquiry;                   /* that inquiry's number */
	char not_agreed[RX_ID_LEN + 1];     /* a DISPENSE refused NOT_AGREED made its use's current record */
	uint32_t not_agreed_use;            /* of this use */
	int audit_altered;                  /* one audit entry altered */
} tamper_t;

/* Make the faults in w's data dir and journals; rxd must be stopped and the
 * load finished.  0 when all nine were made. */
int tamper_apply(const crash_world_t *w, tamper_t *t) __attribute__((warn_unused_result));

/* 0 if the report names each fault as a violation of its kind; prints
 * which were found. */
int tamper_found(const tamper_t *t, const check_report_t *rep);

#endif
