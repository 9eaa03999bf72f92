/* log: rxd's log lines and its two clocks, shared by every module of the
 * store thread (front, zap, http, rxd) so that there is one of each.
 *
 * log_line writes "ts=YYYY-MM-DDTHH:MM:SSZ " then the formatted text and a
 * newline to stderr with one write(2), so lines from a busy broker stay
 * whole; a line longer than 1 KiB is cut.  A failing write is not reported
 * (there is nowhere to report it).  It keeps the last timestamp it made, so
 * only one thread may call it: rxd's store thread. */
#ifndef LOG_H
#define LOG_H

#include <stdint.h>

void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Wall-clock seconds since the epoch: what is stored and audited. */
int64_t now_sec(void);
/* Monotonic microseconds: latencies only, never stored. */
int64_t now_us(void);

#endif
