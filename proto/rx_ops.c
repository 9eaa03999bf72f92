/* rx_ops: the table of operations (see rx_ops.h). */
#include "rx_ops.h"

#include <stddef.h>

#define P RX_CALLER_PRESCRIBER
#define H RX_CALLER_PHARMACY
#define C RX_CALLER_CARD
#define NO RX_FIELD_NO
#define MAY RX_FIELD_MAY
#define MUST RX_FIELD_MUST

static const rx_op_info_t ops[RX_OP_LAST + 1] = {
	/*                  name        callers id   token card  code read rewrites doc */
	[RX_OP_SUBMIT] = {"SUBMIT", P, NO, NO, MUST, NO, 0, 1, RX_DOC_PRESCRIPTION},
	[RX_OP_CLAIM] = {"CLAIM", H, MUST, NO, MAY, MAY, 0, 1, RX_DOC_NONE},
	[RX_OP_RELEASE] = {"RELEASE", H, MUST, MUST, NO, NO, 0, 1, RX_DOC_NONE},
	[RX_OP_DISPENSE] = {"DISPENSE", H, MUST, MUST, NO, NO, 0, 1, RX_DOC_DISPENSE},
	[RX_OP_CANCEL] = {"CANCEL", P, MUST, NO, NO, NO, 0, 1, RX_DOC_NONE},
	[RX_OP_STATUS] = {"STATUS", P | H, MUST, NO, MAY, MAY, 1, 0, RX_DOC_NONE},
	[RX_OP_LIST] = {"LIST", P | H, MAY, NO, MAY, MAY, 1, 0, RX_DOC_NONE},
	[RX_OP_LOG] = {"LOG", C, NO, NO, MUST, NO, 1, 0, RX_DOC_NONE},
	[RX_OP_NOMINATE] = {"NOMINATE", C, NO, NO, MUST, NO, 0, 0, RX_DOC_NONE},
	[RX_OP_WATCH] = {"WATCH", P | H, NO, NO, NO, NO, 1, 0, RX_DOC_NONE},
	[RX_OP_ACK] = {"ACK", P | H, NO, NO, NO, NO, 0, 0, RX_DOC_NONE},
	/* the dispensing institution's own record: no claim, no proof (5.12) */
	[RX_OP_AMEND] = {"AMEND", H, MUST, NO, NO, NO, 0, 1, RX_DOC_DISPENSE},
	[RX_OP_WITHDRAW] = {"WITHDRAW", H, MUST, NO, NO, NO, 0, 1, RX_DOC_DISPENSE},
	/* a patient's own reads, signed by the card through a portal (5.6) */
	[RX_OP_PATIENT_LIST] = {"PATIENT_LIST", C, NO, NO, MUST, NO, 1, 0, RX_DOC_NONE},
	[RX_OP_PATIENT_STATUS] = {"PATIENT_STATUS", C, MUST, NO, MUST, NO, 1, 0, RX_DOC_NONE},
	/* the inquiry (疑義照会): the claim's holder asks, the issuer answers (5.14) */
	[RX_OP_INQUIRE] = {"INQUIRE", H, MUST, MUST, NO, NO, 0, 1, RX_DOC_NONE},
	[RX_OP_INQUIRY_REPLY] = {"INQUIRY_REPLY", P, MUST, NO, NO, NO, 0, 1, RX_DOC_NONE},
};

const rx_op_info_t *rx_op_info(int op)
{
	return op > 0 && op <= RX_OP_LAST ? &ops[op] : NULL;
}

const char *rx_op_name(int op)
{
	const rx_op_info_t *o = rx_op_info(op);
	return o ? o->name : "?";
}

int rx_op_is_read(int op)
{
	const rx_op_info_t *o = rx_op_info(op);
	return o ? o->read : 0;
}
