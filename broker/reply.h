/* reply: what rxd answers and pushes, as reply frames (rx.Reply).
 *
 * A change the store made gets a receipt (reply_change), built only from
 * what the store says happened, and signed with the broker's key by
 * reply_sign once the store has it (off the store thread); a refusal
 * gets a status and a human message, and no receipt (reply_refusal); a
 * notice is pushed signed as a notice (reply_notice).  Every frame is heap
 * bytes the caller owns (store_buf_free).  No sockets, no store. */
#ifndef RXD_REPLY_H
#define RXD_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "rx_crypto.h"
#include "rx_err.h"
#include "store.h"

/* What a receipt says that the store does not know. */
typedef struct {
	uint8_t dispense_hash[RX_HASH_LEN]; /* DISPENSE: hash of the signed record */
	const char *access_code;            /* SUBMIT: the new code, for the slip */
} reply_extra_t;

/* The reply to a change the store has made (store_change_begin) and will
 * keep with it (store_change_commit): an OK reply around a receipt naming
 * key, filled from c and the outcome o (the prescription, claim token,
 * list, log or dispense records the op returns).  Its signature is left as
 * zeros, for reply_sign: the store keeps the reply so, and a replay of it
 * is signed again before it is sent. */
rx_err_t reply_change(const rx_keypair_t *key, const store_change_t *c, const store_outcome_t *o,
		      const reply_extra_t *x, store_buf_t *reply) RX_MUST_CHECK;

/* Sign, with key, the receipt of an OK reply whose signature is still
 * zeros (reply_change's, or one the store kept), in place.  Any other reply
 * (a refusal, one signed already) is left as it is; RX_SYSTEM if the bytes
 * do not walk or the receipt names another broker key.  Ed25519 is
 * deterministic: a kept reply signed again is the reply first sent, byte
 * for byte.  Touches nothing but reply: any thread may run it. */
rx_err_t reply_sign(const rx_keypair_t *key, store_buf_t *reply) RX_MUST_CHECK;

/* A refusal reply frame with no receipt (also used for bad framing);
 * request_id may be NULL (rid_len 0) when none could be read. */
rx_err_t reply_refusal(const uint8_t *request_id, size_t rid_len, rx_err_t status, const char *why,
		       store_buf_t *reply) RX_MUST_CHECK;

/* The same, carrying the duplicate-medication check's findings in o (a
 * DUPLICATE_MEDICATION refusal shows the prescriber what was found). */
rx_err_t reply_refusal_warned(const uint8_t *request_id, size_t rid_len, rx_err_t status,
			      const char *why, const store_outcome_t *o, store_buf_t *reply) RX_MUST_CHECK;

/* The frame pushing notice n to its pharmacy: a Reply with no request id
 * whose notice field is the serialized rx.Notice, signed with key. */
rx_err_t reply_notice(const rx_keypair_t *key, const store_notice_t *n,
		      store_buf_t *frame) RX_MUST_CHECK;

#endif
