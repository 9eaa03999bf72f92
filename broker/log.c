/* log: see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int64_t now_sec(void)
{
	return (int64_t)time(NULL);
}

int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void log_line(const char *fmt, ...)
{
	/* One write(2) per line: lines from a busy broker stay whole, and a
	 * request costs one system call for its log, not three. */
	static time_t last;
	static char ts[32];
	char buf[1024];
	time_t t = time(NULL);
	va_list ap;
	if (t != last) {
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof ts, "ts=%Y-%m-%dT%H:%M:%SZ ", &tm);
		last = t;
	}
	size_t n = strlen(ts);
	memcpy(buf, ts, n);
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
	va_end(ap);
	n += m < 0 ? 0 : (size_t)m < sizeof buf - n - 1 ? (size_t)m : sizeof buf - n - 2;
	buf[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, buf, n);
	(void)w; /* nowhere to report a failing log */
}
