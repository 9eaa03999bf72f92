/* http: the Prometheus endpoint (--metrics) over a ZMQ_STREAM socket.
 *
 * Just enough HTTP/1.0: any request, whatever its method or path, is
 * answered with the metrics (200, text/plain version 0.0.4) or, if the
 * store cannot report or memory runs out, 503 with no body; then the
 * connection is closed.
 * There is no authentication: who can reach the endpoint reads the counts.
 * Nothing blocks: an answer a scraper does not take at once is dropped, so
 * a slow or gone scraper never holds the store thread. */
#ifndef HTTP_H
#define HTTP_H

#include "admin.h"

/* Answer what is waiting on sock, the ZMQ_STREAM socket bound to --metrics:
 * a request (its metrics from a->metrics and a->store), or a connect or
 * disconnect (nothing to answer). */
void http_serve_metrics(void *sock, const admin_t *a);

#endif
