/* bench_rxd: rx-bench's rxd, populated and watched (see bench_rxd.h). */
#include "bench_rxd.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_limits.h"
#include "rx.pb-c.h"
#include "rx_ids.h"
#include "rxclient.h"
#include "rxd_fixture.h"

static int failed(char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s", what);
	return -1;
}

/* One admin request that must come back OK. */
static int admin_ok(bench_rxd_t *b, const Rx__AdminRequest *q, char *why, size_t whylen)
{
	Rx__AdminReply *r = NULL;
	char msg[256] = "";
	rx_err_t err = rxc_admin(b->dir, 5000, q, &r, msg, sizeof msg);
	if (r)
		rx__admin_reply__free_unpacked(r, NULL);
	if (err != RX_OK) {
		snprintf(why, whylen, "admin request refused: %s %s", rx_err_name(err), msg);
		return -1;
	}
	return 0;
}

int bench_rxd_start(bench_rxd_t *b, const char *rxd_path, const char *parent, const char *data,
		    long map_mib, const char *metrics, char *why, size_t whylen)
{
	char map[32] = "";
	rxd_fixture_t f;
	memset(b, 0, sizeof *b);
	if (data) {
		snprintf(b->dir, sizeof b->dir, "%s", data);
		b->reused = 1;
	} else if (rxd_fixture_mkdtemp(b->dir, sizeof b->dir, parent, "rx-bench") != RX_OK) {
		return failed(why, whylen, "cannot create the data dir");
	}
	if (map_mib > 0)
		snprintf(map, sizeof map, "%ld", map_mib);
	rxd_fixture_opts_t o = {.rxd = rxd_path,
				.dir = b->dir,
				.listen = "tcp://127.0.0.1:*",
				.map_mib = map,
				.metrics = metrics};
	rx_err_t err = rxd_fixture_start(&f, &o, why, whylen);
	/* One that never came up is still stopped by bench_rxd_stop. */
	b->pid = f.pid;
	if (err != RX_OK)
		return -1;
	snprintf(b->endpoint, sizeof b->endpoint, "%s", f.endpoint);
	memcpy(b->server_key, f.server_key, sizeof b->server_key);
	return 0;
}

int bench_rxd_populate(bench_rxd_t *b, int npatients, int nkeys, char *why, size_t whylen)
{
	char path[600];
	rx_keypair_t pseudonym;
	if (npatients < 1 || npatients > BENCH_MAX_PATIENTS)
		return failed(why, whylen, "patients out of range");
	if (nkeys < 1 || nkeys > BENCH_MAX_KEYS)
		return failed(why, whylen, "keys out of range");
	snprintf(b->clinic_code, sizeof b->clinic_code, "1312345678");
	snprintf(b->pharmacy_code, sizeof b->pharmacy_code, "1398765432");
	/* A store from an earlier run has those registered: new ones each run. */
	if (b->reused) {
		uint32_t r = randombytes_uniform(100000000);
		snprintf(b->clinic_code, sizeof b->clinic_code, "13%08u", (unsigned)r);
		snprintf(b->pharmacy_code, sizeof b->pharmacy_code, "P-%08u", (unsigned)r);
	}
	if (rxd_fixture_add_institution(b->dir, b->clinic_code, RX__INSTITUTION_KIND__CLINIC, "rx-bench",
					&b->clinic_curve, why, whylen) != RX_OK ||
	    rxd_fixture_add_institution(b->dir, b->pharmacy_code, RX__INSTITUTION_KIND__PHARMACY_SITE,
					"rx-bench", &b->pharmacy_curve, why, whylen) != RX_OK)
		return -1;
	for (int i = 0; i < nkeys; i++)
		if (rxd_fixture_add_key(b->dir, RX_ROLE_PRESCRIBER, b->clinic_code, "rx-bench",
					&b->prescriber[i], why, whylen) != RX_OK ||
		    rxd_fixture_add_key(b->dir, RX_ROLE_PHARMACY, b->pharmacy_code, "rx-bench",
					&b->pharmacist[i], why, whylen) != RX_OK)
			return -1;
	b->nkeys = nkeys;
	/* Patient ids are derived as rxctl does, inside the operator's side. */
	if (rx_pseudonym_key_default(b->dir, path, sizeof path) != RX_OK ||
	    rx_key_load(path, &pseudonym) != RX_OK)
		return failed(why, whylen, "cannot read DATA-keys/pseudonym.key");
	for (int i = 0; i < npatients; i++) {
		char mn[13];
		for (int d = 0; d < 11; d++)
			mn[d] = (char)('0' + randombytes_uniform(10));
		mn[11] = (char)('0' + rx_mynumber_check_digit(mn));
		mn[12] = '\0';
		if (rx_patient_id_derive(pseudonym.sk, mn, b->patient[i]) != RX_OK)
			return failed(why, whylen, "cannot derive a patient id");
		Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
		q.op = RX__ADMIN_OP__PATIENT_ENROLL;
		q.patient_id = b->patient[i];
		if (admin_ok(b, &q, why, whylen) != 0 ||
		    rxd_fixture_add_card(b->dir, b->patient[i], &b->card[i], why, whylen) != RX_OK)
			return -1;
	}
	sodium_memzero(&pseudonym, sizeof pseudonym);
	b->npatients = npatients;
	return 0;
}

double bench_rxd_cpu(const bench_rxd_t *b)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)b->pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name, which may hold spaces: state is 3rd,
	 * utime 14th, stime 15th. */
	char *p = strrchr(buf, ')');
	unsigned long ut, st;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The number after "key:" on its line of /proc/PID/file; -1 if none. */
static long long proc_value(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	long long n = -1;
	size_t klen = strlen(key);
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':' &&
		    sscanf(line + klen + 1, "%lld", &n) == 1)
			break;
	fclose(f);
	return n;
}

long long bench_rxd_written(const bench_rxd_t *b)
{
	return proc_value(b->pid, "io", "wchar");
}

static void log_path(const bench_rxd_t *b, char *path, size_t len)
{
	snprintf(path, len, "%s/rxd.log", b->dir);
}

long long bench_rxd_log_size(const bench_rxd_t *b)
{
	char path[600];
	struct stat st;
	log_path(b, path, sizeof path);
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Sort n times in microseconds and give their median, p99 and most in ms. */
static void pcts(uint32_t *us, size_t n, double ms3[3])
{
	ms3[0] = ms3[1] = ms3[2] = 0;
	if (n == 0)
		return;
	bench_sort_us(us, n);
	ms3[0] = bench_pct_ms(us, n, 0.5);
	ms3[1] = bench_pct_ms(us, n, 0.99);
	ms3[2] = (double)us[n - 1] / 1000;
}

/* The number after key in line, clamped to 32 bits; 0 if absent. */
static int field_us(const char *line, const char *key, uint32_t *out)
{
	const char *c = strstr(line, key);
	long long v;
	if (c == NULL || sscanf(c + strlen(key), "%lld", &v) != 1)
		return 0;
	*out = v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	return 1;
}

size_t bench_rxd_commits(const bench_rxd_t *b, long long from, long long to, double commit[3],
			 double inside[3])
{
	char path[600], line[1024];
	size_t n = 0, cap = 1 << 16;
	uint32_t *c_us = malloc(cap * sizeof *c_us), *l_us = malloc(cap * sizeof *l_us);
	log_path(b, path, sizeof path);
	FILE *f = from >= 0 && to > from && c_us && l_us ? fopen(path, "r") : NULL;
	if (f && fseeko(f, (off_t)from, SEEK_SET) == 0) {
		while (ftello(f) < (off_t)to && fgets(line, sizeof line, f)) {
			uint32_t c, l;
			if (!strstr(line, " status=OK ") || !field_us(line, " commit_us=", &c) ||
			    !field_us(line, " latency_us=", &l))
				continue;
			if (n == cap) {
				uint32_t *m1 = realloc(c_us, 2 * cap * sizeof *c_us);
				if (m1)
					c_us = m1;
				uint32_t *m2 = m1 ? realloc(l_us, 2 * cap * sizeof *l_us) : NULL;
				if (m2)
					l_us = m2;
				if (m1 == NULL || m2 == NULL)
					break;
				cap *= 2;
			}
			c_us[n] = c;
			l_us[n++] = l;
		}
	}
	if (f)
		fclose(f);
	pcts(c_us, n, commit);
	pcts(l_us, n, inside);
	free(c_us);
	free(l_us);
	return n;
}

long bench_rxd_rss_anon_kib(const bench_rxd_t *b)
{
	return (long)proc_value(b->pid, "status", "RssAnon");
}

int bench_rxd_stop(bench_rxd_t *b)
{
	return rxd_fixture_stop(&b->pid, SIGTERM);
}

void bench_rxd_remove(bench_rxd_t *b)
{
	if (b->dir[0] && !b->reused)
		(void)rxd_fixture_remove(b->dir);
}
