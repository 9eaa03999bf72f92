/* metrics: what rxd counts about itself, in the Prometheus text format
 * (version 0.0.4): requests by op and status, a latency histogram per op,
 * refusals by code, the group commits' times, and what the store reports
 * (map use, counts, audit length).  One instance, updated by the serving
 * thread only. */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "rx_err.h"
#include "rx_types.h"
#include "store.h"

#define METRICS_OPS (RX_OP_LAST + 1)        /* index 0: did not decode */
#define METRICS_CODES (RX_WIRE_LAST + 1)
#define METRICS_BUCKETS 12

typedef struct {
	uint64_t requests[METRICS_OPS][METRICS_CODES];
	uint64_t latency_bucket[METRICS_OPS][METRICS_BUCKETS]; /* cumulative at render */
	uint64_t latency_count[METRICS_OPS];
	double latency_sum_s[METRICS_OPS];
	uint64_t commit_bucket[METRICS_BUCKETS]; /* batches committed, by time taken */
	uint64_t commit_count, commit_requests;
	double commit_sum_s;
	uint64_t zap_admitted, zap_refused;
	int64_t started_at;
	/* requests per second over the last minute: one slot a second */
	uint32_t per_second[60];
	int64_t slot_at[60];
} metrics_t;

void metrics_init(metrics_t *m, int64_t now);
/* One request: op (0 if it did not decode), status, latency. */
void metrics_request(metrics_t *m, int op, rx_err_t status, int64_t latency_us, int64_t now);
/* One batch committed (store_batch_end returned RX_OK): how long the
 * commit took, its fsync included, and how many requests the batch held. */
void metrics_commit(metrics_t *m, int64_t commit_us, int requests);
/* Requests per second over the last 60 s. */
double metrics_rate(const metrics_t *m, int64_t now);
/* Render everything as Prometheus text into a heap string the caller frees;
 * NULL if memory runs out. */
char *metrics_render(const metrics_t *m, const store_stats_t *st, int64_t now);

#endif
