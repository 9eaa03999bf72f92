/* rx_ops: the one table of operations.
 *
 * Every fact about an op that more than one place needs is a column here:
 * its name (logs, metrics, the audit action), who may call it, what the
 * call carries (a prescription id, a claim token, a card, the slip's access
 * code), whether it is a read, and whether it rewrites the prescription.
 * Dispatch checks the call's fields against it, the store authorises and
 * audits by it, rxd's front and the metrics name ops by it.  Adding an op
 * is one row in rx_ops.c plus its handler. */
#ifndef RX_OPS_H
#define RX_OPS_H

#include "rx_types.h"

/* Who may call an op (rx_op_t.callers). */
#define RX_CALLER_PRESCRIBER (1u << RX_ROLE_PRESCRIBER) /* a prescriber's key */
#define RX_CALLER_PHARMACY (1u << RX_ROLE_PHARMACY)     /* a pharmacy's key */
#define RX_CALLER_CARD (1u << 3) /* the patient's card itself, through a portal */

/* How an op takes a field of the call.  A card or an access code given to
 * an op that takes none is INVALID (dispatch); other fields it does not
 * take are not read. */
#define RX_FIELD_NO 0       /* not taken */
#define RX_FIELD_MAY 1      /* optional */
#define RX_FIELD_MUST 2     /* required */

typedef struct {
	const char *name;    /* "SUBMIT", ...: the wire's name, the audit action */
	unsigned callers;    /* RX_CALLER_* bits */
	int prescription_id; /* RX_FIELD_*: Call.prescription_id (LIST: MAY, and only
			      * with the access code) */
	int claim_token;     /* RX_FIELD_*: Call.claim_token */
	int card;            /* RX_FIELD_*: Call.card (a proof that the patient is present;
			      * MUST is checked by the op's own step, 5.4) */
	int access_code;     /* RX_FIELD_*: Call.access_code (the slip's proof, instead of a card) */
	int read;            /* changes no prescription and no registry (WATCH only
			      * registers the connection in rxd's memory): the store keeps
			      * no reply for one that used no card or code, and rxd
			      * evaluates such a plain read again if its batch fails */
	int rewrites_rx;     /* rewrites the prescription's record */
	int doc;             /* the document the Request carries (5.4 step 9a): RX_DOC_* */
} rx_op_info_t;

#define RX_DOC_NONE 0
#define RX_DOC_PRESCRIPTION 1 /* Request.prescription */
#define RX_DOC_DISPENSE 2     /* Request.dispense: a dispense record */

/* The row of op; NULL outside 1..RX_OP_LAST.  Static. */
const rx_op_info_t *rx_op_info(int op);

/* Static names ("CLAIM"); "?" outside 1..RX_OP_LAST. */
const char *rx_op_name(int op);
/* 1 if op is a read (the table's read column); 0 otherwise and outside. */
int rx_op_is_read(int op);

#endif
