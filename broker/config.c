/* config: reads rxd's `key = value` file and checks each value.  Owns the
 * file format and the defaults; rxd.c owns the command line and applies the
 * flags over what this module produced. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	KEY_DATA,
	KEY_LISTEN,
	KEY_MAP_SIZE_MIB,
	KEY_METRICS,
	KEY_VERIFY_THREADS,
	KEY_PSEUDONYM_KEY,
	KEY_AMEND_DAYS,
	KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {"data",	   "listen",	    "map_size_mib",
						 "metrics",	   "verify_threads", "pseudonym_key",
						 "amend_days"};

static void say(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void config_defaults(rxd_config_t *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->data, sizeof cfg->data, "%s", "./var/rx");
	snprintf(cfg->listen, sizeof cfg->listen, "%s", "tcp://127.0.0.1:5570");
	cfg->map_size_mib = 1024;
	cfg->verify_threads = -1;
	cfg->amend_days = 1;
}

static int key_index(const char *key)
{
	for (int k = 0; k < KEY_COUNT; k++)
		if (strcmp(key, key_names[k]) == 0)
			return k;
	return -1;
}

static rx_err_t set_text(char *dst, size_t size, const char *value, const char **why)
{
	size_t n = strlen(value);
	if (n == 0) {
		*why = "must not be empty";
		return RX_INVALID;
	}
	if (n >= size) {
		*why = "is too long";
		return RX_INVALID;
	}
	memcpy(dst, value, n + 1);
	return RX_OK;
}

/* The metrics endpoint, which answers anyone who reaches it without asking
 * who they are: PORT, :PORT, tcp://:PORT (no host) mean loopback,
 * tcp://127.0.0.1:PORT; HOST:PORT gets its tcp://.  Any other host
 * (tcp://0.0.0.0:9570, the wildcard, a monitoring network's address) is
 * taken as written: an exposure the operator chose by naming it. */
static rx_err_t set_metrics(rxd_config_t *cfg, const char *value, const char **why)
{
	const char *hostport = strncmp(value, "tcp://", 6) == 0 ? value + 6 : value;
	const char *colon = strrchr(hostport, ':');
	const char *port = colon ? colon + 1 : hostport;
	size_t hostlen = colon ? (size_t)(colon - hostport) : 0;
	size_t n = strspn(port, "0123456789");
	*why = "must be PORT, :PORT (both on 127.0.0.1), HOST:PORT or tcp://HOST:PORT";
	if (strstr(value, "://") && hostport == value)
		return RX_INVALID; /* ipc://, udp://...: ZMQ_STREAM speaks tcp only */
	if (n == 0 || n > 5 || port[n] != '\0' || atoi(port) < 1 || atoi(port) > 65535)
		return RX_INVALID;
	if (hostlen == 0)
		snprintf(cfg->metrics, sizeof cfg->metrics, "tcp://127.0.0.1:%s", port);
	else if (strlen(hostport) + 7 <= sizeof cfg->metrics)
		snprintf(cfg->metrics, sizeof cfg->metrics, "tcp://%s", hostport);
	else {
		*why = "is too long";
		return RX_INVALID;
	}
	return RX_OK;
}

/* Store value under key k.  On RX_INVALID, *why is a static sentence. */
static rx_err_t set_value(rxd_config_t *cfg, int k, const char *value, const char **why)
{
	switch (k) {
	case KEY_DATA:
		return set_text(cfg->data, sizeof cfg->data, value, why);
	case KEY_LISTEN:
		return set_text(cfg->listen, sizeof cfg->listen, value, why);
	case KEY_METRICS:
		if (value[0] == '\0') {
			*why = "must not be empty";
			return RX_INVALID;
		}
		return set_metrics(cfg, value, why);
	case KEY_PSEUDONYM_KEY:
		return set_text(cfg->pseudonym_key, sizeof cfg->pseudonym_key, value, why);
	case KEY_MAP_SIZE_MIB: {
		/* Digits only: strtoull alone would take "-1", " 7" and "0x10". */
		size_t n = strspn(value, "0123456789");
		unsigned long long v;
		char *end;
		*why = "must be a whole number of MiB from 1 to 16777216";
		if (n == 0 || value[n] != '\0' || n > 20)
			return RX_INVALID;
		errno = 0;
		v = strtoull(value, &end, 10);
		if (errno != 0 || *end != '\0' || v < 1 || v > CONFIG_MAP_SIZE_MIB_MAX)
			return RX_INVALID;
		cfg->map_size_mib = v;
		return RX_OK;
	}
	case KEY_AMEND_DAYS: {
		size_t n = strspn(value, "0123456789");
		*why = "must be a whole number of days from 1 to 7";
		if (n != 1 || value[n] != '\0' || value[0] < '1' || value[0] > '7')
			return RX_INVALID;
		cfg->amend_days = (unsigned)(value[0] - '0');
		return RX_OK;
	}
	case KEY_VERIFY_THREADS: {
		size_t n = strspn(value, "0123456789");
		*why = "must be a whole number of threads from 0 to 64";
		if (n == 0 || n > 2 || value[n] != '\0' || atoi(value) > CONFIG_VERIFY_THREADS_MAX)
			return RX_INVALID;
		cfg->verify_threads = atoi(value);
		return RX_OK;
	}
	default:
		*why = "unknown key";
		return RX_INVALID;
	}
}

rx_err_t config_set(rxd_config_t *cfg, const char *key, const char *value, char *err,
		    size_t errlen)
{
	const char *why = NULL;
	int k = key_index(key);
	if (k < 0) {
		say(err, errlen, "unknown key");
		return RX_INVALID;
	}
	if (set_value(cfg, k, value, &why) != RX_OK) {
		say(err, errlen, "%s", why);
		return RX_INVALID;
	}
	return RX_OK;
}

/* Read one line into buf (size CONFIG_LINE_MAX + 1), without its newline.
 * 1: a line; 0: end of file; -1: read error (errno); -2: the line is too
 * long; -3: the line holds a NUL byte. */
static int read_line(FILE *f, char *buf)
{
	size_t n = 0;
	int c;
	while ((c = getc(f)) != EOF && c != '\n') {
		if (c == '\0')
			return -3;
		if (n == CONFIG_LINE_MAX)
			return -2;
		buf[n++] = (char)c;
	}
	if (c == EOF && ferror(f))
		return -1;
	if (c == EOF && n == 0)
		return 0;
	buf[n] = '\0';
	return 1;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static char *trim(char *s)
{
	char *e;
	while (is_blank(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_blank(e[-1]))
		e--;
	*e = '\0';
	return s;
}

rx_err_t config_load(const char *path, rxd_config_t *cfg, char *err, size_t errlen)
{
	char line[CONFIG_LINE_MAX + 1];
	rxd_config_t next = *cfg; /* all or nothing: *cfg changes only on success */
	unsigned set_on[KEY_COUNT] = {0};
	unsigned lineno = 0;
	rx_err_t rc = RX_INVALID;
	FILE *f = fopen(path, "re");
	int got;

	if (!f) {
		say(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return RX_SYSTEM;
	}
	while ((got = read_line(f, line)) == 1) {
		char *key, *value, *eq;
		const char *why = NULL;
		int k;
		lineno++;
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		for (const char *p = key; *p; p++) {
			if ((unsigned char)*p < 0x20 && *p != '\t') {
				say(err, errlen, "%s:%u: control character in line", path, lineno);
				goto fail;
			}
		}
		eq = strchr(key, '=');
		if (!eq) {
			say(err, errlen, "%s:%u: expected `key = value`", path, lineno);
			goto fail;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		if (*key == '\0') {
			say(err, errlen, "%s:%u: missing key before `=`", path, lineno);
			goto fail;
		}
		k = key_index(key);
		if (k < 0) {
			say(err, errlen, "%s:%u: unknown key \"%.64s\" (known: data, listen, map_size_mib, metrics, verify_threads, pseudonym_key, amend_days)",
			    path, lineno, key);
			goto fail;
		}
		if (set_on[k]) {
			say(err, errlen, "%s:%u: %s is already set on line %u", path, lineno, key,
			    set_on[k]);
			goto fail;
		}
		/* `data = /srv/rx # state` would otherwise make a directory named
		 * "rx # state"; refuse rather than guess. */
		if (strstr(value, " #") || strstr(value, "\t#")) {
			say(err, errlen, "%s:%u: a comment must be on a line of its own", path, lineno);
			goto fail;
		}
		if (set_value(&next, k, value, &why) != RX_OK) {
			say(err, errlen, "%s:%u: %s %s", path, lineno, key, why);
			goto fail;
		}
		set_on[k] = lineno;
	}
	switch (got) {
	case 0:
		*cfg = next;
		rc = RX_OK;
		break;
	case -1:
		say(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		rc = RX_SYSTEM;
		break;
	case -2:
		say(err, errlen, "%s:%u: line longer than %d bytes", path, lineno + 1, CONFIG_LINE_MAX);
		break;
	default:
		say(err, errlen, "%s:%u: NUL byte in line", path, lineno + 1);
		break;
	}
fail:
	fclose(f);
	return rc;
}
