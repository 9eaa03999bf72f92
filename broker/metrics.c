/* metrics: counters and their Prometheus rendering (see metrics.h). */
#include "metrics.h"
#include "rx_ops.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds of the latency buckets, in seconds: an fsync'd commit is a
 * fraction of a millisecond to a few; a stuck disk is seconds. */
static const double bounds[METRICS_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
					       0.01,   0.025,   0.05,   0.1,   0.5,    1.0};

void metrics_init(metrics_t *m, int64_t now)
{
	memset(m, 0, sizeof *m);
	m->started_at = now;
}

/* The bucket a time in seconds falls in; METRICS_BUCKETS if above them all. */
static int bucket_of(double s)
{
	int b = 0;
	while (b < METRICS_BUCKETS && s > bounds[b])
		b++;
	return b;
}

void metrics_commit(metrics_t *m, int64_t commit_us, int requests)
{
	double s = (double)commit_us / 1e6;
	int b = bucket_of(s);
	if (b < METRICS_BUCKETS)
		m->commit_bucket[b]++;
	m->commit_count++;
	m->commit_requests += requests > 0 ? (uint64_t)requests : 0;
	m->commit_sum_s += s;
}

void metrics_request(metrics_t *m, int op, rx_err_t status, int64_t latency_us, int64_t now)
{
	if (op < 0 || op >= METRICS_OPS)
		op = 0;
	int code = rx_err_is_wire((int)status) ? (int)status : RX_UNAVAILABLE;
	m->requests[op][code]++;
	double s = (double)latency_us / 1e6;
	int b = bucket_of(s);
	if (b < METRICS_BUCKETS)
		m->latency_bucket[op][b]++;
	m->latency_count[op]++;
	m->latency_sum_s[op] += s;
	int slot = (int)(now % 60);
	if (m->slot_at[slot] != now) {
		m->slot_at[slot] = now;
		m->per_second[slot] = 0;
	}
	m->per_second[slot]++;
}

double metrics_rate(const metrics_t *m, int64_t now)
{
	uint64_t n = 0;
	for (int i = 0; i < 60; i++)
		if (m->slot_at[i] > now - 60 && m->slot_at[i] <= now)
			n += m->per_second[i];
	int64_t span = now - m->started_at < 60 ? now - m->started_at : 60;
	return span > 0 ? (double)n / (double)span : (double)n;
}

typedef struct {
	char *buf;
	size_t len, cap;
	int failed;
} text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_t *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = 1;
			return;
		}
		if (t->buf && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t ncap = t->cap ? t->cap * 2 : 8192;
		while (ncap < t->len + (size_t)n + 1)
			ncap *= 2;
		char *g = realloc(t->buf, ncap);
		if (g == NULL) {
			t->failed = 1;
			return;
		}
		t->buf = g;
		t->cap = ncap;
	}
}

char *metrics_render(const metrics_t *m, const store_stats_t *st, int64_t now)
{
	text_t t = {0};
	put(&t, "# HELP rx_requests_total Client requests by op and status.\n"
		"# TYPE rx_requests_total counter\n");
	for (int op = 0; op < METRICS_OPS; op++)
		for (int c = 0; c < METRICS_CODES; c++)
			if (m->requests[op][c])
				put(&t, "rx_requests_total{op=\"%s\",status=\"%s\"} %llu\n",
				    op ? rx_op_name(op) : "undecoded", rx_err_name((rx_err_t)c),
				    (unsigned long long)m->requests[op][c]);
	put(&t, "# HELP rx_refusals_total Refused client requests by code.\n"
		"# TYPE rx_refusals_total counter\n");
	for (int c = 1; c < METRICS_CODES; c++) {
		uint64_t n = 0;
		for (int op = 0; op < METRICS_OPS; op++)
			n += m->requests[op][c];
		put(&t, "rx_refusals_total{code=\"%s\"} %llu\n", rx_err_name((rx_err_t)c),
		    (unsigned long long)n);
	}
	put(&t, "# HELP rx_request_duration_seconds Time from receiving a request to its reply.\n"
		"# TYPE rx_request_duration_seconds histogram\n");
	for (int op = 0; op < METRICS_OPS; op++) {
		if (!m->latency_count[op])
			continue;
		const char *name = op ? rx_op_name(op) : "undecoded";
		uint64_t cum = 0;
		for (int b = 0; b < METRICS_BUCKETS; b++) {
			cum += m->latency_bucket[op][b];
			put(&t, "rx_request_duration_seconds_bucket{op=\"%s\",le=\"%g\"} %llu\n", name,
			    bounds[b], (unsigned long long)cum);
		}
		put(&t, "rx_request_duration_seconds_bucket{op=\"%s\",le=\"+Inf\"} %llu\n", name,
		    (unsigned long long)m->latency_count[op]);
		put(&t, "rx_request_duration_seconds_sum{op=\"%s\"} %.6f\n", name, m->latency_sum_s[op]);
		put(&t, "rx_request_duration_seconds_count{op=\"%s\"} %llu\n", name,
		    (unsigned long long)m->latency_count[op]);
	}
	put(&t, "# HELP rx_commit_duration_seconds Time to commit one batch of requests, its fsync "
		"included: the disk's part of every reply.\n"
		"# TYPE rx_commit_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (int b = 0; b < METRICS_BUCKETS; b++) {
		cum += m->commit_bucket[b];
		put(&t, "rx_commit_duration_seconds_bucket{le=\"%g\"} %llu\n", bounds[b],
		    (unsigned long long)cum);
	}
	put(&t, "rx_commit_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
		"rx_commit_duration_seconds_sum %.6f\nrx_commit_duration_seconds_count %llu\n"
		"# HELP rx_commit_requests_total Requests in the batches committed (over the count of "
		"commits: the mean batch).\n# TYPE rx_commit_requests_total counter\n"
		"rx_commit_requests_total %llu\n",
	    (unsigned long long)m->commit_count, m->commit_sum_s, (unsigned long long)m->commit_count,
	    (unsigned long long)m->commit_requests);
	put(&t, "# HELP rx_lmdb_map_used_bytes LMDB map in use.\n# TYPE rx_lmdb_map_used_bytes gauge\n"
		"rx_lmdb_map_used_bytes %llu\n"
		"# HELP rx_lmdb_map_size_bytes LMDB map size.\n# TYPE rx_lmdb_map_size_bytes gauge\n"
		"rx_lmdb_map_size_bytes %llu\n"
		"# HELP rx_audit_entries Entries in the audit log.\n# TYPE rx_audit_entries gauge\n"
		"rx_audit_entries %llu\n"
		"# HELP rx_notices_pending Pushed notices no pharmacy has acknowledged.\n"
		"# TYPE rx_notices_pending gauge\n"
		"rx_notices_pending %llu\n"
		"# HELP rx_prescriptions Prescriptions by state.\n# TYPE rx_prescriptions gauge\n",
	    (unsigned long long)st->map_used, (unsigned long long)st->map_size,
	    (unsigned long long)st->audit_entries, (unsigned long long)st->notices);
	put(&t, "# HELP rx_lmdb_map_free_bytes LMDB pages free for reuse (pruning gives them back).\n"
		"# TYPE rx_lmdb_map_free_bytes gauge\nrx_lmdb_map_free_bytes %llu\n"
		"# HELP rx_lmdb_reserve_bytes The dispensing reserve: past it only finishing claimed prescriptions goes on.\n"
		"# TYPE rx_lmdb_reserve_bytes gauge\nrx_lmdb_reserve_bytes %llu\n"
		"# HELP rx_storage_full 1 while the store is down to its dispensing reserve (STORAGE_FULL).\n"
		"# TYPE rx_storage_full gauge\nrx_storage_full %d\n"
		"# HELP rx_stored_replies Replies kept for retries, and those past their lifetime.\n"
		"# TYPE rx_stored_replies gauge\nrx_stored_replies{due=\"no\"} %llu\nrx_stored_replies{due=\"yes\"} %llu\n"
		"# HELP rx_card_nonces Card assertion nonces kept, and those too old to matter.\n"
		"# TYPE rx_card_nonces gauge\nrx_card_nonces{due=\"no\"} %llu\nrx_card_nonces{due=\"yes\"} %llu\n",
	    (unsigned long long)st->space.free, (unsigned long long)st->space.reserve,
	    st->space.nearly_full, (unsigned long long)(st->replies - st->replies_due),
	    (unsigned long long)st->replies_due, (unsigned long long)(st->nonces - st->nonces_due),
	    (unsigned long long)st->nonces_due);
	for (int s = RX_STATE_ISSUED; s <= RX_STATE_LAST; s++)
		put(&t, "rx_prescriptions{state=\"%s\"} %llu\n", rx_state_name(s),
		    (unsigned long long)st->by_state[s]);
	put(&t, "# HELP rx_dispense_records Dispense records stored.\n# TYPE rx_dispense_records gauge\n"
		"rx_dispense_records %llu\n"
		"# HELP rx_zap_total CurveZMQ handshakes by outcome.\n# TYPE rx_zap_total counter\n"
		"rx_zap_total{outcome=\"admit\"} %llu\nrx_zap_total{outcome=\"refuse\"} %llu\n"
		"# HELP rx_uptime_seconds Seconds since rxd started.\n# TYPE rx_uptime_seconds gauge\n"
		"rx_uptime_seconds %lld\n"
		"# HELP rx_heap_in_use_bytes Heap memory in use (malloc), outside LMDB's map.\n"
		"# TYPE rx_heap_in_use_bytes gauge\nrx_heap_in_use_bytes %zu\n",
	    (unsigned long long)st->dispense_records, (unsigned long long)m->zap_admitted,
	    (unsigned long long)m->zap_refused, (long long)(now - m->started_at), mallinfo2().uordblks);
	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}
