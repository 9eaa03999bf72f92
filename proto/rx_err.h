/* rx_err: the one error enum of rx-exchange.
 *
 * Codes 0..22 are the wire's rx.Status (rx.proto) and are printed by every
 * CLI by name.  Codes from RX_SYSTEM up never travel on the wire: they say
 * why this process could not do its part (I/O, memory, an unreachable broker).
 * Library errors (LMDB, libzmq, errno) are translated into these at the
 * module that calls the library, never passed upward raw. */
#ifndef RX_ERR_H
#define RX_ERR_H

#define RX_MUST_CHECK __attribute__((warn_unused_result))

typedef enum {
	RX_OK = 0,
	RX_INVALID = 1,
	RX_BAD_SIGNATURE = 2,
	RX_UNKNOWN_KEY = 3,
	RX_KEY_REVOKED = 4,
	RX_PERMISSION_DENIED = 5,
	RX_NOT_FOUND = 6,
	RX_ALREADY_CLAIMED = 7,
	RX_ALREADY_DISPENSED = 8,
	RX_CANCELLED = 9,
	RX_EXPIRED = 10,
	RX_CONFLICT = 11,
	RX_UNAVAILABLE = 12,
	RX_CARD_UNKNOWN = 13,
	RX_CARD_REVOKED = 14,
	RX_ASSERTION_STALE = 15,
	RX_ASSERTION_REPLAYED = 16,
	RX_ASSERTION_MISMATCH = 17,
	RX_ACCESS_LOCKED = 18,
	RX_BAD_ACCESS_CODE = 19,
	RX_DUPLICATE_MEDICATION = 20,
	RX_WATCHERS_FULL = 21,
	RX_STORAGE_FULL = 22,
	RX_SUBSTITUTION_NOT_ALLOWED = 23,
	RX_DIFFERENT_INGREDIENT = 24,
	RX_NOT_YET_DUE = 25,
	RX_NOT_REFILLABLE = 26,
	RX_NOT_LATEST = 27,
	RX_AMEND_WINDOW_CLOSED = 28,
	RX_PARTLY_DISPENSED = 29,
	RX_INQUIRY_PENDING = 30,
	RX_NOT_AGREED = 31,
	RX_WIRE_LAST = RX_NOT_AGREED,

	/* local only */
	RX_SYSTEM = 100,     /* I/O, memory or library failure in this process */
	RX_UNREACHABLE = 101 /* the broker did not answer in time */
} rx_err_t;

/* The code's name as on the wire and in CLI output ("ALREADY_CLAIMED").
 * Returns a static string; "UNKNOWN" for a value outside the enum. */
const char *rx_err_name(rx_err_t err);

/* One human sentence for the code.  Static string. */
const char *rx_strerror(rx_err_t err);

/* True for the codes that may travel on the wire. */
int rx_err_is_wire(int code);

#endif
