/* rx_types: the protocol's shared vocabulary: sizes, limits, states, roles
 * and operations.  Values equal the rx.proto enums (checked in rx_check.c). */
#ifndef RX_TYPES_H
#define RX_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define RX_KEY_LEN 32          /* Ed25519 public key */
#define RX_SECRET_LEN 64       /* libsodium Ed25519 secret key */
#define RX_SEED_LEN 32
#define RX_SIG_LEN 64
#define RX_HASH_LEN 32         /* BLAKE2b-256 */
#define RX_REQUEST_ID_LEN 16
#define RX_TOKEN_LEN 16        /* claim token */

#define RX_ID_LEN 14           /* "XXXX-XXXX-XXXX", last character a check */
#define RX_PATIENT_ID_LEN 18   /* "P" + 16 base32 + check character */
#define RX_INSTITUTION_MAX 32
#define RX_NAME_MAX 128

#define RX_MAX_ITEMS 32
#define RX_MAX_USES 3
/* Dispense records a use keeps: its current one and up to 15 an AMEND or
 * WITHDRAW replaced (proto/README 5.12). */
#define RX_USE_RECORDS 16
/* Parts a use may be handed over in (proto/README 5.13): the open ones are
 * kept among the use's records, beside the current one. */
#define RX_MAX_PARTS 8
/* Inquiries a prescription keeps (proto/README 5.14). */
#define RX_MAX_INQUIRIES 16
#define RX_MAX_VALID_DAYS 31
#define RX_DEFAULT_VALID_DAYS 4
#define RX_MAX_FRAME (256 * 1024) /* largest request or reply frame */
#define RX_DOC_VERSION 2       /* Prescription and DispenseRecord since protocol v2 */
#define RX_PRESCRIPTION_CALL_HASH_FIELD 12 /* Prescription.call_hash's field number */

typedef enum {
	RX_OP_SUBMIT = 1,
	RX_OP_CLAIM = 2,
	RX_OP_RELEASE = 3,
	RX_OP_DISPENSE = 4,
	RX_OP_CANCEL = 5,
	RX_OP_STATUS = 6,
	RX_OP_LIST = 7,
	RX_OP_LOG = 8,
	RX_OP_NOMINATE = 9,
	RX_OP_WATCH = 10,
	RX_OP_ACK = 11,
	RX_OP_AMEND = 12,
	RX_OP_WITHDRAW = 13,
	RX_OP_PATIENT_LIST = 14,
	RX_OP_PATIENT_STATUS = 15,
	RX_OP_INQUIRE = 16,
	RX_OP_INQUIRY_REPLY = 17,
	RX_OP_LAST = RX_OP_INQUIRY_REPLY /* ops are 1..RX_OP_LAST: size tables by it */
} rx_op_t;

typedef enum {
	RX_STATE_ISSUED = 1,
	RX_STATE_CLAIMED = 2,
	RX_STATE_DISPENSED = 3,
	RX_STATE_CANCELLED = 4,
	RX_STATE_EXPIRED = 5,
	RX_STATE_PARTIAL = 6, /* part of the claimed use handed over, the rest owed */
	RX_STATE_LAST = RX_STATE_PARTIAL /* states are 1..RX_STATE_LAST */
} rx_state_t;

typedef enum {
	RX_ROLE_PRESCRIBER = 1,
	RX_ROLE_PHARMACY = 2
} rx_role_t;

/* Static names ("ISSUED", "pharmacy"); "?" outside the enum.  Ops have
 * theirs in rx_ops.h, with everything else known about them. */
const char *rx_state_name(int state);
const char *rx_role_name(int role);
/* A notice's kind as clients print it ("new", "cancel", "inquiry",
 * "inquiry_reply", "dispensed", "amended", "withdrawn", "expired"). */
const char *rx_notice_kind_name(int kind);
/* Parse "prescriber" / "pharmacy"; 0 if neither. */
int rx_role_parse(const char *s);

#endif
