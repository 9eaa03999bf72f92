/* rx_check: validation of decoded protocol content.  Everything a client
 * sends is hostile until these pass; each failure names its reason in *why
 * (a static string safe to log: it never quotes the content). */
#ifndef RX_CHECK_H
#define RX_CHECK_H

#include <stdint.h>

#include "rx.pb-c.h"
#include "rx_crypto.h"
#include "rx_err.h"
#include "rx_types.h"

/* How far a clinic's clock may run ahead of ours, and how old a prescription
 * may be when it first reaches the broker (an EMR queueing while offline). */
#define RX_CLOCK_SKEW 300
#define RX_MAX_SUBMIT_AGE (24 * 3600)
/* Longest Prescription.notes, in bytes. */
#define RX_MAX_NOTES 2000
/* A prescriber's reason for prescribing a duplicate medication anyway. */
#define RX_OVERRIDE_MAX 500 /* characters */

/* RX_OK if s is valid UTF-8 of at most max bytes with no control characters
 * other than newline and tab. */
rx_err_t rx_check_text(const char *s, size_t max, int required) RX_MUST_CHECK;

/* RX_OK if no string field of the message desc, as encoded in buf (already
 * decoded once, so well formed), holds a NUL byte; RX_INVALID otherwise.
 * protobuf-c ends a decoded string at its first NUL, so only the wire shows
 * the bytes after it: signed bytes that a C reader would check and show
 * shorter than another reader would.  Nested messages are walked; unknown
 * fields are not (they carry no type). */
rx_err_t rx_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
			  size_t len) RX_MUST_CHECK;

/* What a request's one signature covers (proto/README 2.2, 5.4 step 7),
 * read off the envelope alone: Request.prescription under the v2
 * prescription context if it is non-empty, else Request.dispense under the
 * v2 dispense context if non-empty, else Request.call under the call
 * context.  Sets *ctx; the bytes point into req. */
const ProtobufCBinaryData *rx_request_signed(const Rx__Request *req, rx_sign_ctx_t *ctx);

/* A prescription for submission at time now: RX_INVALID with a reason, or
 * RX_EXPIRED if valid_until has already passed. */
rx_err_t rx_check_prescription(const Rx__Prescription *p, int64_t now,
			       const char **why) RX_MUST_CHECK;

/* One item's content; on RX_INVALID *field names the Item field that
 * failed ("drug_code", "name", "dose", "unit", "usage", "days", "quantity"). */
rx_err_t rx_check_item(const Rx__Item *it, const char **field, const char **why) RX_MUST_CHECK;

/* A card assertion's form (its signature, time and use are the broker's). */
rx_err_t rx_check_assertion(const Rx__CardAssertion *a, const char **why) RX_MUST_CHECK;

/* A dispense record's own content (the broker matches it to the claim). */
rx_err_t rx_check_dispense(const Rx__DispenseRecord *d, const char **why) RX_MUST_CHECK;
/* The same for the record of op (DISPENSE, AMEND or WITHDRAW, proto/README
 * 5.12): DISPENSE replaces nothing; AMEND names the record it replaces;
 * WITHDRAW names it too, with a reason and no lines. */
rx_err_t rx_check_dispense_op(const Rx__DispenseRecord *d, int op, const char **why) RX_MUST_CHECK;

/* An inquiry (Call.inquiry) and an answer (Call.inquiry_reply) on their own
 * (proto/README 5.14): RX_OK or RX_INVALID with *why. */
rx_err_t rx_check_inquiry(const Rx__Inquiry *q, int64_t now, const char **why) RX_MUST_CHECK;
rx_err_t rx_check_inquiry_reply(const Rx__InquiryReply *a, const char **why) RX_MUST_CHECK;

/* Last instant of validity for a prescription issued at issued_at and valid
 * for days calendar days including the issue day, counted in Japan time. */
int64_t rx_valid_until(int64_t issued_at, int days);

/* A later use of a refill (リフィル) or divided (分割調剤) prescription opens
 * this many days before the previous use's supply runs out and lapses this
 * many days after (proto/README 5.11). */
#define RX_REFILL_SLACK_DAYS 7

/* Days of supply of use (from 1) of p: its part's days if p is divided,
 * else the longest of its items' days. */
uint32_t rx_use_days(const Rx__Prescription *p, uint32_t use);

/* The window of the use after one dispensed at at with days of supply: it
 * opens at the start of the Japan day RX_REFILL_SLACK_DAYS before the day
 * the supply runs out (at's day + days) and ends RX_REFILL_SLACK_DAYS days
 * after that day, at its end. */
void rx_next_window(int64_t at, uint32_t days, int64_t *opens, int64_t *until);

/* What Receipt.dispenses_hash binds: BLAKE2b-256 over, for each of a
 * STATUS reply's dispenses in order, use (4 bytes) and at (8 bytes) big-
 * endian, institution_code and a NUL, BLAKE2b-256 of the record's body, and
 * its 64-byte signature.  The broker signs it in the receipt; the client
 * recomputes it from Reply.dispenses. */
void rx_dispenses_hash(Rx__DispenseInfo *const *d, size_t n, uint8_t out[RX_HASH_LEN]);
/* Receipt.inquiries_hash of STATUS's inquiries (proto/README 2.6): BLAKE2b-256
 * over, for each in order, number (4 bytes), at and replied_at (8 bytes
 * each, big-endian), institution_code and a NUL, then for the call and the
 * reply each: the hash of its bytes, its signature and the signer's key
 * (zeros for a reply not given). */
void rx_inquiries_hash(Rx__InquiryInfo *const *q, size_t n, uint8_t out[RX_HASH_LEN]);

#endif
