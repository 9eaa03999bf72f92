/* rxclient_ids: the ids a client makes, request ids (Call.request_id) and
 * card assertion nonces, both UUIDv7s (proto/README 4.1, 3.4). */
#include "rxclient.h"

#include <sodium.h>
#include <stdatomic.h>
#include <time.h>

/* A UUIDv7 (RFC 9562): the time leads, so the broker's index of stored
 * replies grows at its end (proto/README 4.1).  A card assertion's nonce is
 * made the same way (3.4): the broker files nonces under (at, nonce), and
 * within one second a random nonce would land on a random page of that
 * second's range.  Monotonic in this process (RFC 9562 6.2, method 1):
 * within a millisecond the 12 bits after the version count up from a random
 * start below 2048, so ids made one after another sort in that order (a
 * count past 4095 borrows the next millisecond); the 62 bits after the
 * variant stay random. */
static _Atomic uint64_t last_stamp; /* milliseconds << 12 | count, of the last id */

void rxc_request_id(uint8_t rid[RX_REQUEST_ID_LEN])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	randombytes_buf(rid, RX_REQUEST_ID_LEN);
	uint64_t fresh = ms << 12 | (uint64_t)(rid[6] & 0x07) << 8 | rid[7];
	uint64_t prev = atomic_load(&last_stamp), next;
	do
		next = fresh > prev ? fresh : prev + 1;
	while (!atomic_compare_exchange_weak(&last_stamp, &prev, next));
	ms = next >> 12;
	for (int i = 0; i < 6; i++)
		rid[i] = (uint8_t)(ms >> (40 - 8 * i));
	rid[6] = (uint8_t)(0x70 | ((next >> 8) & 0x0f));
	rid[7] = (uint8_t)(next & 0xff);
	rid[8] = (uint8_t)(0x80 | (rid[8] & 0x3f));
}
