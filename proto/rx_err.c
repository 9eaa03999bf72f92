/* rx_err: names and messages for the one error enum. */
#include "rx_err.h"
#include "rx.pb-c.h"

/* The wire enum and ours must never drift apart. */
_Static_assert((int)RX_OK == RX__STATUS__OK, "status");
_Static_assert((int)RX_INVALID == RX__STATUS__INVALID, "status");
_Static_assert((int)RX_BAD_SIGNATURE == RX__STATUS__BAD_SIGNATURE, "status");
_Static_assert((int)RX_UNKNOWN_KEY == RX__STATUS__UNKNOWN_KEY, "status");
_Static_assert((int)RX_KEY_REVOKED == RX__STATUS__KEY_REVOKED, "status");
_Static_assert((int)RX_PERMISSION_DENIED == RX__STATUS__PERMISSION_DENIED, "status");
_Static_assert((int)RX_NOT_FOUND == RX__STATUS__NOT_FOUND, "status");
_Static_assert((int)RX_ALREADY_CLAIMED == RX__STATUS__ALREADY_CLAIMED, "status");
_Static_assert((int)RX_ALREADY_DISPENSED == RX__STATUS__ALREADY_DISPENSED, "status");
_Static_assert((int)RX_CANCELLED == RX__STATUS__CANCELLED, "status");
_Static_assert((int)RX_EXPIRED == RX__STATUS__EXPIRED, "status");
_Static_assert((int)RX_CONFLICT == RX__STATUS__CONFLICT, "status");
_Static_assert((int)RX_UNAVAILABLE == RX__STATUS__UNAVAILABLE, "status");
_Static_assert((int)RX_CARD_UNKNOWN == RX__STATUS__CARD_UNKNOWN, "status");
_Static_assert((int)RX_CARD_REVOKED == RX__STATUS__CARD_REVOKED, "status");
_Static_assert((int)RX_ASSERTION_STALE == RX__STATUS__ASSERTION_STALE, "status");
_Static_assert((int)RX_ASSERTION_REPLAYED == RX__STATUS__ASSERTION_REPLAYED, "status");
_Static_assert((int)RX_ASSERTION_MISMATCH == RX__STATUS__ASSERTION_MISMATCH, "status");
_Static_assert((int)RX_ACCESS_LOCKED == RX__STATUS__ACCESS_LOCKED, "status");
_Static_assert((int)RX_BAD_ACCESS_CODE == RX__STATUS__BAD_ACCESS_CODE, "status");
_Static_assert((int)RX_DUPLICATE_MEDICATION == RX__STATUS__DUPLICATE_MEDICATION, "status");
_Static_assert((int)RX_WATCHERS_FULL == RX__STATUS__WATCHERS_FULL, "status");
_Static_assert((int)RX_STORAGE_FULL == RX__STATUS__STORAGE_FULL, "status");
_Static_assert((int)RX_SUBSTITUTION_NOT_ALLOWED == RX__STATUS__SUBSTITUTION_NOT_ALLOWED, "status");
_Static_assert((int)RX_DIFFERENT_INGREDIENT == RX__STATUS__DIFFERENT_INGREDIENT, "status");
_Static_assert((int)RX_NOT_YET_DUE == RX__STATUS__NOT_YET_DUE, "status");
_Static_assert((int)RX_NOT_REFILLABLE == RX__STATUS__NOT_REFILLABLE, "status");
_Static_assert((int)RX_NOT_LATEST == RX__STATUS__NOT_LATEST, "status");
_Static_assert((int)RX_AMEND_WINDOW_CLOSED == RX__STATUS__AMEND_WINDOW_CLOSED, "status");
_Static_assert((int)RX_PARTLY_DISPENSED == RX__STATUS__PARTLY_DISPENSED, "status");
_Static_assert((int)RX_NOT_AGREED == RX__STATUS__NOT_AGREED, "status");

static const struct {
	const char *name;
	const char *text;
} table[] = {
	[RX_OK] = {"OK", "success"},
	[RX_INVALID] = {"INVALID", "the request or its content is malformed"},
	[RX_BAD_SIGNATURE] = {"BAD_SIGNATURE", "a signature did not verify"},
	[RX_UNKNOWN_KEY] = {"UNKNOWN_KEY", "the signing key is not registered"},
	[RX_KEY_REVOKED] = {"KEY_REVOKED", "the signing key has been revoked"},
	[RX_PERMISSION_DENIED] = {"PERMISSION_DENIED", "this key may not do that"},
	[RX_NOT_FOUND] = {"NOT_FOUND", "no such prescription or patient"},
	[RX_ALREADY_CLAIMED] = {"ALREADY_CLAIMED", "another pharmacy has claimed this prescription"},
	[RX_ALREADY_DISPENSED] = {"ALREADY_DISPENSED", "this prescription has already been dispensed"},
	[RX_CANCELLED] = {"CANCELLED", "the prescriber cancelled this prescription"},
	[RX_EXPIRED] = {"EXPIRED", "this prescription is past its validity"},
	[RX_CONFLICT] = {"CONFLICT", "request id reused with different content"},
	[RX_UNAVAILABLE] = {"UNAVAILABLE", "the broker cannot accept changes now; retry later"},
	[RX_CARD_UNKNOWN] = {"CARD_UNKNOWN", "this card is not enrolled"},
	[RX_CARD_REVOKED] = {"CARD_REVOKED", "this card has been revoked"},
	[RX_ASSERTION_STALE] = {"ASSERTION_STALE", "the card assertion is too old or from the future"},
	[RX_ASSERTION_REPLAYED] = {"ASSERTION_REPLAYED", "this card assertion was already used"},
	[RX_ASSERTION_MISMATCH] = {"ASSERTION_MISMATCH", "the card assertion is for another purpose, institution or patient"},
	[RX_ACCESS_LOCKED] = {"ACCESS_LOCKED", "too many wrong access codes; an operator must unlock this prescription"},
	[RX_BAD_ACCESS_CODE] = {"BAD_ACCESS_CODE", "the access code does not match this prescription"},
	[RX_DUPLICATE_MEDICATION] = {"DUPLICATE_MEDICATION", "the patient already takes an ingredient of this prescription; resubmit with an override reason"},
	[RX_WATCHERS_FULL] = {"WATCHERS_FULL", "the broker cannot register another watching connection now; WATCH again later"},
	[RX_STORAGE_FULL] = {"STORAGE_FULL", "storage reached its dispensing reserve: only dispensing, releasing or cancelling claimed prescriptions is accepted"},
	[RX_SUBSTITUTION_NOT_ALLOWED] = {"SUBSTITUTION_NOT_ALLOWED", "the prescriber's marks on this item forbid handing over that product"},
	[RX_DIFFERENT_INGREDIENT] = {"DIFFERENT_INGREDIENT", "the product handed over is not shown to have the prescribed item's ingredient(s)"},
	[RX_NOT_YET_DUE] = {"NOT_YET_DUE", "the next use of this refill or divided prescription is not open yet"},
	[RX_NOT_REFILLABLE] = {"NOT_REFILLABLE", "an item may not be on a refill prescription (a statutory limit on its days, or a patch)"},
	[RX_NOT_LATEST] = {"NOT_LATEST", "only the current record of the latest dispensed use may be amended or withdrawn"},
	[RX_AMEND_WINDOW_CLOSED] = {"AMEND_WINDOW_CLOSED", "the time to amend or withdraw this dispense has passed"},
	[RX_PARTLY_DISPENSED] = {"PARTLY_DISPENSED", "part of this use has been handed over: its next part completes or closes it"},
	[RX_INQUIRY_PENDING] = {"INQUIRY_PENDING", "an inquiry to the prescriber waits for an answer"},
	[RX_NOT_AGREED] = {"NOT_AGREED", "the prescriber did not agree to this change"},
};

int rx_err_is_wire(int code)
{
	return code >= RX_OK && code <= RX_WIRE_LAST;
}

const char *rx_err_name(rx_err_t err)
{
	if (rx_err_is_wire((int)err))
		return table[err].name;
	if (err == RX_SYSTEM)
		return "SYSTEM";
	if (err == RX_UNREACHABLE)
		return "UNREACHABLE";
	return "UNKNOWN";
}

const char *rx_strerror(rx_err_t err)
{
	if (rx_err_is_wire((int)err))
		return table[err].text;
	if (err == RX_SYSTEM)
		return "a local system error occurred";
	if (err == RX_UNREACHABLE)
		return "the broker did not answer";
	return "unknown error";
}
