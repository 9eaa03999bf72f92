/* rxclient_records: the checks of a STATUS reply's records (see
 * rxclient_records.c); rxclient.c's, not part of the public API. */
#ifndef RXCLIENT_RECORDS_H
#define RXCLIENT_RECORDS_H

#include "rxclient.h"

/* Set out's status and message; returns err. */
rx_err_t rxc_fail(rxc_result_t *out, rx_err_t err, const char *msg);

/* The dispense records and inquiries of r (out->reply) against its receipt
 * rc; out->dispenses holds the decoded records.  RX_OK, or RX_SYSTEM with
 * out's message saying what does not hold. */
rx_err_t rxc_check_records(const Rx__Receipt *rc, rxc_result_t *out);

#endif
