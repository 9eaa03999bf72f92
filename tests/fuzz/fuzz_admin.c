/* fuzz_admin: the operator's requests (admin_request) against the fuzz
 * world's store, put back before every input (see fuzz_world.h).  The input
 * is one admin frame.
 *
 * BACKUP is left out: it writes a copy of the store to whatever absolute
 * path the request names, and a fuzzer must not scatter directories over
 * the machine.  The integration suite covers it. */
#include "fuzz_world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > RX_MAX_FRAME)
		return 0;
	/* admin_request decodes the same bytes with the same library, so it
	 * sees the same op. */
	Rx__AdminRequest *q = size ? rx__admin_request__unpack(NULL, size, data) : NULL;
	int backup = q && q->op == RX__ADMIN_OP__BACKUP;
	if (q)
		rx__admin_request__free_unpacked(q, NULL);
	if (backup)
		return 0;
	(void)fw_admin(fw_reset(), data, size);
	return 0;
}
