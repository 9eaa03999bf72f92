/* bench_limits: what this machine can do at best with the libraries rxd
 * uses, measured in-process so rx-bench can say how close rxd comes.
 *
 * Each function runs its loop for about ms milliseconds and returns a rate
 * per second, or a negative value if the library refused to start (the
 * caller prints it as unmeasured).  None of them touches rxd. */
#ifndef BENCH_LIMITS_H
#define BENCH_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* libsodium Ed25519 verifies per second over msg_len-byte messages, summed
 * over threads threads (each verifying its own signature). */
double bench_limit_verify(int threads, size_t msg_len, int ms);

/* LMDB write transactions committed per second with full sync (rxd's
 * setting), records_per_txn puts of value_len bytes each, in a new
 * environment created (and removed) inside dir.  Records/s is the result
 * times records_per_txn.  If ms_p50_p99 is not NULL it gets one commit's
 * time in milliseconds, median and 99th percentile: the disk's own tail,
 * which every durable reply waits on. */
double bench_limit_lmdb(const char *dir, int records_per_txn, size_t value_len, int ms,
			double ms_p50_p99[2]);

/* One 4 KiB page written in place and fdatasync'd, in a file of its own
 * inside dir (written in full first, so no write grows it): the least any
 * durable reply waits for on this disk.  Returns syncs per second; *ms_p50
 * gets one's time, median.  LMDB's synced commit is two of these at least
 * (its pages, then its meta page), which is why it is measured beside it. */
double bench_limit_sync(const char *dir, int ms, double *ms_p50);

/* ZeroMQ DEALER -> ROUTER echo round trips per second over tcp loopback,
 * window messages of msg_len bytes in flight; with curve, both ends use
 * CurveZMQ (no ZAP handler).  With window 1 and ms_p50 not NULL, *ms_p50
 * gets one round trip's time, median, in milliseconds: what a client
 * waiting for each reply pays before the broker does anything. */
double bench_limit_zmq(int curve, size_t msg_len, int window, int ms, double *ms_p50);

/* Sort n latencies in microseconds; the p quantile (0..1) of sorted ones,
 * in milliseconds (0 if none).  Every latency rx-bench prints is read so. */
void bench_sort_us(uint32_t *v, size_t n);
double bench_pct_ms(const uint32_t *v, size_t n, double p);

#endif
