/* rx-crash: kill rxd with SIGKILL at random moments under load, restart it,
 * and check that nothing acknowledged was lost and nothing was done twice;
 * with --failover, fail it over instead (freeze, copy, fence, survivor on
 * the copy at a new endpoint: failover.h).
 *
 *   rx-crash [--cycles N] [--clinics N] [--pharmacies N] [--patients N]
 *            [--max-kill-ms MS] [--seed N] [--keep] [--tamper] [--last-use-only]
 *            [--failover [--stale-replica]]
 *
 * Needs RXD (the rxd binary) and RXCTL (rxctl) in the environment; deploy/rx
 * crash and the meson test set both.  Exit 0 when every check passed, 1 on
 * any violation, 2 when the run itself failed (rxd would not start, the load
 * stalled).  See tests/crash/README.md. */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stddef.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "check.h"
#include "crash.h"
#include "failover.h"
#include "load.h"
#include "tamper.h"
#include "rx_ids.h"
#include "rxd_fixture.h"

int64_t crash_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static crash_world_t world;

/* Replies the load must have had before --tamper stops it. */
#define TAMPER_REPLIES 600
/* --stale-replica: replies the frozen node gives after the copy the
 * survivor starts on was taken (each accepted change among them is an
 * acknowledged one the stale replica lacks). */
#define STALE_REPLIES 50

static void usage(void)
{
	fprintf(stderr, "usage: rx-crash [--cycles N] [--clinics N] [--pharmacies N] [--patients N]\n"
	      "                [--max-kill-ms MS] [--seed N] [--keep] [--tamper] [--last-use-only]\n"
	      "                [--failover [--stale-replica]]\n"
	      "  --cycles N       SIGKILL and restart rxd N times under load (default 20)\n"
	      "  --clinics N      clinic clients (default 2)\n"
	      "  --pharmacies N   pharmacy clients (default 3)\n"
	      "  --patients N     patients with cards (default 4)\n"
	      "  --max-kill-ms MS kill at a random moment up to MS after the load resumed (default 300)\n"
	      "  --seed N         the workload's choices (default: random; printed)\n"
	      "  --keep           keep the run's directory (data dir, journals, rxd.log)\n"
	      "  --tamper         test the checker: damage the store and a journal after the run;\n"
	      "                   exit 0 only if the checker finds every fault\n"
	      "  --last-use-only  withdraw only a prescription's last use (by default any use\n"
	      "                   just dispensed, while another pharmacy may claim the next)\n"
	      "  --failover       each cycle a failover instead of a kill: freeze rxd (SIGSTOP),\n"
	      "                   copy its data dir, fence it (SIGKILL), start a survivor on the\n"
	      "                   copy at a new endpoint; the clients follow it\n"
	      "  --stale-replica  with --failover, test the drill: the last survivor starts on a\n"
	      "                   copy taken before the frozen node's last %d replies;\n"
	      "                   exit 0 only if the checker finds acknowledged changes lost\n"
	      "RXD and RXCTL name the rxd and rxctl binaries.\n",
	      STALE_REPLIES);
}

static int arg_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Wait until more than `beyond` replies were journaled: 1, or 0 at the
 * deadline or when the load gave up. */
static int wait_acks(crash_world_t *w, long beyond, int64_t timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	int rc = 0;
	while (w->acks <= beyond && !w->abort && rc == 0)
		rc = pthread_cond_timedwait(&w->progress, &w->mu, &until);
	int ok = w->acks > beyond;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

/* Wait until at least one INQUIRY_REPLY was acknowledged and one DISPENSE
 * refused NOT_AGREED (the faults --tamper plants in an answer and as a
 * refused record need one each), or timeout_ms passed. */
static int wait_answer(crash_world_t *w, int64_t timeout_ms)
{
	int64_t until = crash_ms() + timeout_ms;
	pthread_mutex_lock(&w->mu);
	while ((w->answers_acked == 0 || w->not_agreed_told == 0) && !w->abort && crash_ms() < until) {
		pthread_mutex_unlock(&w->mu);
		struct timespec nap = {0, 20 * 1000000L};
		nanosleep(&nap, NULL);
		pthread_mutex_lock(&w->mu);
	}
	int ok = w->answers_acked > 0 && w->not_agreed_told > 0;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

static long acks_now(crash_world_t *w)
{
	pthread_mutex_lock(&w->mu);
	long n = w->acks;
	pthread_mutex_unlock(&w->mu);
	return n;
}

/* What a failover took, for the figures. */
typedef struct {
	long freeze_ms;  /* SIGSTOP sent to every thread stopped */
	long copy_ms;    /* the data dir and its keys copied, the copy's stored replies read */
	long fence_ms;   /* SIGKILL to the frozen rxd reaped */
	uint64_t bytes;  /* copied */
	int died_alone;  /* rxd had ended before the freeze */
} taken_t;

/* The first half of a failover (README "The failover drill"): freeze the
 * serving rxd, copy its data dir byte for byte into work/node-N (what a
 * DRBD protocol C replica holds at that instant), read the stored replies
 * of the copy, and fence the frozen rxd (SIGKILL: it never runs again; its
 * dir is removed at the next failover).  stale: the planted fault
 * --stale-replica, the copy taken and then the frozen rxd let go on until
 * it gave STALE_REPLIES more replies, then frozen again and fenced: the
 * survivor's copy lacks what it acknowledged meanwhile, as a replica of
 * protocol A or B may.  The copy's path into copy.  0 on success. */
static int failover_take(crash_world_t *w, int stale, char copy[300], taken_t *t)
{
	crash_copy_t *c = &w->copies[w->ncopies];
	int node = w->ncopies + 1, status = 0;
	int64_t t0 = crash_ms();

	memset(t, 0, sizeof *t);
	memset(c, 0, sizeof *c);
	snprintf(copy, 300, "%s/node-%d", w->work, node);
	int fr = failover_freeze(w->h.pid, 15000, &status);
	if (fr < 0) {
		fprintf(stderr, "rx-crash: failover %d: rxd did not stop within 15 s of SIGSTOP\n", node);
		goto fail;
	}
	if (fr > 0) {
		/* It ended by itself: it writes nothing more either, so the
		 * drill goes on (and the run reports it). */
		w->h.pid = 0;
		t->died_alone = 1;
	}
	t->freeze_ms = (long)(crash_ms() - t0);
	int64_t t1 = crash_ms();
	if (failover_copy(w->h.dir, copy, &t->bytes) != 0) {
		fprintf(stderr, "rx-crash: failover %d: cannot copy %s to %s\n", node, w->h.dir, copy);
		goto fail;
	}
	if (stale && fr == 0) {
		long beyond = acks_now(w) + STALE_REPLIES;
		kill(w->h.pid, SIGCONT);
		if (!wait_acks(w, beyond, 30000) || failover_freeze(w->h.pid, 15000, &status) != 0) {
			fprintf(stderr, "rx-crash: failover %d: the stale replica's node did not go on, or stop\n",
				node);
			goto fail;
		}
		c->stale = 1;
	}
	c->node = node;
	if (failover_ledger(copy, c) != 0) {
		fprintf(stderr, "rx-crash: failover %d: cannot read the stored replies of %s\n", node, copy);
		goto fail;
	}
	w->ncopies++;
	t->copy_ms = (long)(crash_ms() - t1);
	int64_t t2 = crash_ms();
	if (!t->died_alone) {
		status = harness_stop(&w->h, SIGKILL);
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
			fprintf(stderr, "rx-crash: failover %d: the frozen rxd was not ended by SIGKILL (wait status %#x)\n",
				node, (unsigned)status);
			t->died_alone = 1;
		}
	}
	t->fence_ms = (long)(crash_ms() - t2);
	/* The node fenced at the failover before this one is gone for good. */
	if (node >= 2) {
		char prev[300];
		snprintf(prev, sizeof prev, node == 2 ? "%s/data" : "%s/node-%d", w->work, node - 2);
		if (rxd_fixture_remove(prev) != RX_OK)
			fprintf(stderr, "rx-crash: could not remove %s\n", prev);
	}
	return 0;
fail:
	/* A stopped rxd would never act on the SIGTERM the run ends with:
	 * SIGKILL reaches it stopped or not. */
	harness_stop(&w->h, SIGKILL);
	return -1;
}

/* The second half: the survivor on the copy, at a new free port, and the
 * clients' route moved to it.  0 once it serves. */
static int failover_start(crash_world_t *w, const char *copy)
{
	if (harness_move(&w->h, copy) != 0) {
		fprintf(stderr, "rx-crash: failover %d: the survivor did not start (see %s/rxd.log)\n", w->ncopies,
			copy);
		return -1;
	}
	/* The clients keep the broker's CurveZMQ key they were given (pinned,
	 * as in their configuration): the survivor must have the same, from
	 * the copy's broker.curve. */
	if (memcmp(w->route.server_key, w->h.server_key, sizeof w->route.server_key) != 0) {
		fprintf(stderr, "rx-crash: failover %d: the survivor's CurveZMQ key is not the one the clients know\n",
			w->ncopies);
		return -1;
	}
	pthread_mutex_lock(&w->route.mu);
	memcpy(w->route.endpoint, w->h.endpoint, sizeof w->route.endpoint);
	__atomic_store_n(&w->route.node, w->ncopies, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&w->route.mu);
	__atomic_store_n(&w->epoch, w->ncopies, __ATOMIC_RELEASE);
	return 0;
}

/* A valid My Number from 11 random digits and its check digit. */
static void my_number(char out[13])
{
	for (int i = 0; i < 11; i++)
		out[i] = (char)('0' + randombytes_uniform(10));
	out[11] = (char)('0' + rx_mynumber_check_digit(out));
	out[12] = '\0';
}

/* Register the institutions, keys, patients and cards of the run. */
static int populate(crash_world_t *w, int clinics, int pharmacies, int patients)
{
	for (int i = 0; i < clinics + pharmacies; i++) {
		crash_client_t *c = &w->client[i];
		int clinic = i < clinics;
		c->index = i;
		c->kind = clinic ? CRASH_CLINIC : CRASH_PHARMACY;
		snprintf(c->name, sizeof c->name, "%s-%d", clinic ? "clinic" : "pharmacy",
			 clinic ? i : i - clinics);
		snprintf(c->institution, sizeof c->institution, "CRASH-%s", c->name);
		if (harness_key(&w->h, &c->key, clinic ? RX_ROLE_PRESCRIBER : RX_ROLE_PHARMACY,
				c->institution) != 0)
			return -1;
		harness_inst_t *in = harness_institution(&w->h, c->institution, clinic ? 1 : 2);
		if (in == NULL)
			return -1;
		c->curve = in->curve;
	}
	w->nclients = clinics + pharmacies;
	for (int i = 0; i < patients; i++) {
		char mn[13];
		my_number(mn);
		if (harness_enroll(&w->h, mn, w->patient[i]) != 0 ||
		    harness_card(&w->h, w->patient[i], &w->card[i]) != 0)
			return -1;
	}
	w->npatients = patients;
	return 0;
}

/* Requests rxd's log shows answered from the stored replies so far; of
 * them AMENDs and WITHDRAWs into *amends. */
static long count_replays(const char *data, long *amends)
{
	char path[400], *line = NULL;
	size_t cap = 0;
	long n = 0;
	*amends = 0;
	snprintf(path, sizeof path, "%s/rxd.log", data);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (getline(&line, &cap, f) > 0)
		if (strstr(line, " replayed=1") != NULL) {
			n++;
			*amends += strstr(line, " op=AMEND ") != NULL || strstr(line, " op=WITHDRAW ") != NULL;
		}
	free(line);
	fclose(f);
	return n;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

static int cmp_taken(const void *a, const void *b, size_t off)
{
	long x = *(const long *)((const char *)a + off), y = *(const long *)((const char *)b + off);
	return x < y ? -1 : x > y;
}
static int by_freeze(const void *a, const void *b)
{
	return cmp_taken(a, b, offsetof(taken_t, freeze_ms));
}
static int by_copy(const void *a, const void *b)
{
	return cmp_taken(a, b, offsetof(taken_t, copy_ms));
}
static int by_fence(const void *a, const void *b)
{
	return cmp_taken(a, b, offsetof(taken_t, fence_ms));
}

/* The figures of the failovers: n of them during the load (t[n], the
 * last one before the checks, counted with them), back[] the freeze to
 * the survivor serving, sorted. */
static void print_failovers(const crash_world_t *w, taken_t *t, long n, int64_t load_ms, const long *back,
			    const check_report_t *rep)
{
	long all = n + 1;
	uint64_t bytes = t[n].bytes;
	qsort(t, (size_t)all, sizeof *t, by_freeze);
	long fr_med = t[all / 2].freeze_ms, fr_max = t[all - 1].freeze_ms;
	qsort(t, (size_t)all, sizeof *t, by_copy);
	long cp_med = t[all / 2].copy_ms, cp_max = t[all - 1].copy_ms;
	qsort(t, (size_t)all, sizeof *t, by_fence);
	printf("crash: %ld failovers in %.1f s of load, and one more before the checks: frozen (SIGSTOP, every "
	       "thread stopped) in %ld ms median, %ld ms max; data dir copied and its stored replies read in "
	       "%ld ms median, %ld ms max (the last copy %.1f MiB); fenced (SIGKILL reaped) in %ld ms median; "
	       "survivor serving on a new endpoint %ld ms median, %ld ms max after the freeze began\n",
	       n, load_ms / 1000.0, fr_med, fr_max, cp_med, cp_max, (double)bytes / (1024.0 * 1024.0),
	       t[all / 2].fence_ms, n ? back[n / 2] : 0, n ? back[n - 1] : 0);
	printf("crash: failover checks over %ld copies%s: accepted changes acknowledged by a node later frozen "
	       "%ld, found in every later copy %ld (%ld lookups); requests begun before a failover and answered "
	       "after it %ld: accepted changes the copy already held (committed before the freeze, answered "
	       "from the stored reply) %ld, done by the survivor %ld\n",
	       rep->failovers, w->stale_replica ? " (the last one stale, as asked)" : "", rep->acked_by_frozen,
	       rep->acked_in_copies, rep->copy_lookups, rep->in_hand, rep->in_hand_committed,
	       rep->in_hand_done_after);
}

/* --stale-replica: 0 if the checker found acknowledged changes the stale
 * copy lacks; prints what else it found. */
static int stale_found(const check_report_t *rep)
{
	long other = rep->violations - rep->by_kind[V_FAILOVER];
	printf("crash: stale replica: %ld acknowledged changes reported lost by the failover (%s); "
	       "%ld other violations besides (lost submits %ld, dispenses %ld, replies %ld, state %ld)\n",
	       rep->by_kind[V_FAILOVER], rep->by_kind[V_FAILOVER] ? "found" : "MISSED", other,
	       rep->by_kind[V_SUBMIT_LOST], rep->by_kind[V_DISPENSE_LOST], rep->by_kind[V_REPLY],
	       rep->by_kind[V_STATE]);
	return rep->by_kind[V_FAILOVER] > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	crash_world_t *w = &world;
	long cycles = 20, clinics = 2, pharmacies = 3, patients = 4, max_kill_ms = 300, seed = -1;
	int keep = getenv("RX_KEEP_TEST_DIRS") != NULL, failed = 0, tamper = 0;
	tamper_t faults;
	pthread_t threads[CRASH_MAX_CLIENTS];
	check_report_t rep;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long *dst = NULL, lo = 1, hi = 1000000;
		if (strcmp(a, "--keep") == 0) {
			keep = 1;
			continue;
		} else if (strcmp(a, "--tamper") == 0) {
			tamper = 1;
			continue;
		} else if (strcmp(a, "--failover") == 0) {
			w->failover = 1;
			continue;
		} else if (strcmp(a, "--stale-replica") == 0) {
			w->stale_replica = 1;
			continue;
		} else if (strcmp(a, "--last-use-only") == 0) {
			w->last_use_only = 1;
			continue;
		} else if (strcmp(a, "--cycles") == 0) {
			dst = &cycles;
		} else if (strcmp(a, "--clinics") == 0) {
			dst = &clinics;
			hi = CRASH_MAX_CLIENTS / 2;
		} else if (strcmp(a, "--pharmacies") == 0) {
			dst = &pharmacies;
			hi = CRASH_MAX_CLIENTS / 2;
		} else if (strcmp(a, "--patients") == 0) {
			dst = &patients;
			hi = CRASH_MAX_PATIENTS;
		} else if (strcmp(a, "--max-kill-ms") == 0) {
			dst = &max_kill_ms;
			lo = 0;
			hi = 60000;
		} else if (strcmp(a, "--seed") == 0) {
			dst = &seed;
			lo = 0;
			hi = 2147483647L;
		} else {
			usage();
			return a[0] == '-' && a[1] == 'h' ? 0 : 2;
		}
		if (v == NULL || arg_int(v, lo, hi, dst) != 0) {
			fprintf(stderr, "rx-crash: %s needs a number in %ld..%ld\n", a, lo, hi);
			return 2;
		}
		i++;
	}
	if (w->stale_replica && (!w->failover || tamper)) {
		fprintf(stderr, "rx-crash: --stale-replica goes with --failover, and not with --tamper\n");
		return 2;
	}
	if (getenv("RXD") == NULL || getenv("RXCTL") == NULL) {
		fprintf(stderr,
			"rx-crash: set RXD and RXCTL to the rxd and rxctl binaries (deploy/rx crash does)\n");
		return 2;
	}
	if (rx_crypto_init() != RX_OK)
		return 2;
	if (seed < 0)
		seed = (long)(randombytes_random() & 0x7fffffff);

	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->progress, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->route.mu, NULL);
	w->seed = (uint64_t)seed;
	w->resend_ms = 250;
	w->give_up_ms = 30000;

	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char data[300];
	snprintf(w->work, sizeof w->work, "%s/rx-crash.XXXXXX", tmp);
	if (mkdtemp(w->work) == NULL) {
		perror("rx-crash: mkdtemp");
		return 2;
	}
	if (snprintf(data, sizeof data, "%s/data", w->work) >= (int)sizeof data ||
	    snprintf(w->journals, sizeof w->journals, "%s/journal", w->work) >= (int)sizeof w->journals ||
	    mkdir(data, 0700) != 0 || mkdir(w->journals, 0700) != 0) {
		perror("rx-crash: mkdir");
		return 2;
	}

	int64_t t0 = crash_ms();
	/* rxd is forked from this (the main) thread only: PR_SET_PDEATHSIG
	 * fires when the forking thread ends, and this one ends last. */
	if (harness_start_in(&w->h, data) != 0 ||
	    populate(w, (int)clinics, (int)pharmacies, (int)patients) != 0) {
		fprintf(stderr, "rx-crash: rxd did not start, or the registrations failed (see %s/rxd.log)\n",
			data);
		harness_stop(&w->h, SIGKILL);
		return 2;
	}
	memcpy(w->route.endpoint, w->h.endpoint, sizeof w->route.endpoint);
	memcpy(w->route.server_key, w->h.server_key, sizeof w->route.server_key);
	printf("crash: %ld %s cycles, %ld clinics, %ld pharmacies, %ld patients, seed %ld, dir %s\n", cycles,
	       w->failover ? "failover" : "kill", clinics, pharmacies, patients, seed, w->work);
	fflush(stdout);

	void *zctx = zmq_ctx_new();
	if (zctx == NULL || load_start(w, zctx, threads) != 0) {
		fprintf(stderr, "rx-crash: cannot start the load\n");
		harness_stop(&w->h, SIGKILL);
		return 2;
	}

	long *restart_ms = calloc((size_t)cycles + 1, sizeof *restart_ms);
	taken_t *taken = w->failover ? calloc((size_t)cycles + 1, sizeof *taken) : NULL;
	w->copies = w->failover ? calloc((size_t)cycles + 1, sizeof *w->copies) : NULL;
	if (w->failover && (taken == NULL || w->copies == NULL)) {
		free(restart_ms);
		restart_ms = NULL;
	}
	long kills = 0, died_alone = 0;
	char copy[300];
	int64_t t_load = crash_ms();
	for (long cycle = 0; cycle < cycles && restart_ms; cycle++) {
		/* The load has resumed on this broker: now a random moment. */
		if (!wait_acks(w, acks_now(w), 30000)) {
			fprintf(stderr, "rx-crash: cycle %ld: no request was answered for 30 s\n", cycle + 1);
			failed = 2;
			break;
		}
		/* Not synchronisation: the random moment of the kill. */
		long us = (long)randombytes_uniform((uint32_t)max_kill_ms * 1000 + 1);
		struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
		nanosleep(&ts, NULL);

		int64_t t_kill = crash_ms();
		if (w->failover) {
			int stale = w->stale_replica && cycle == cycles - 1;
			if (failover_take(w, stale, copy, &taken[kills]) != 0 || failover_start(w, copy) != 0) {
				failed = 2;
				break;
			}
			died_alone += taken[kills].died_alone;
			restart_ms[cycle] = (long)(crash_ms() - t_kill);
			kills++;
			continue;
		}
		int status = harness_stop(&w->h, SIGKILL);
		__atomic_add_fetch(&w->epoch, 1, __ATOMIC_ACQ_REL);
		kills++;
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
			fprintf(stderr, "rx-crash: cycle %ld: rxd had ended by itself (wait status %#x)\n",
				cycle + 1, (unsigned)status);
			died_alone++;
		}
		if (harness_restart(&w->h) != 0) {
			fprintf(stderr, "rx-crash: cycle %ld: rxd did not come back (see %s/rxd.log)\n",
				cycle + 1, data);
			failed = 2;
			break;
		}
		restart_ms[cycle] = (long)(crash_ms() - t_kill);
	}
	if (!failed && !wait_acks(w, acks_now(w), 30000)) {
		fprintf(stderr, "rx-crash: no request was answered after the last restart\n");
		failed = 2;
	}
	/* --tamper needs a prescription for each of its faults (an acknowledged
	 * AMEND, a part that left items owed, ...): three kills can all fall
	 * in the first fraction of a second (114 requests in all, once), so
	 * the load goes on until it has answered enough. */
	if (!failed && tamper && !wait_acks(w, TAMPER_REPLIES, 30000)) {
		fprintf(stderr, "rx-crash: fewer than %d replies in 30 s: too few to tamper with\n", TAMPER_REPLIES);
		failed = 2;
	}
	if (!failed && tamper && !wait_answer(w, 30000)) {
		fprintf(stderr, "rx-crash: no INQUIRY_REPLY acknowledged, or no DISPENSE refused NOT_AGREED, in 30 s: "
				"nothing to tamper with\n");
		failed = 2;
	}
	if (failed)
		__atomic_store_n(&w->abort, 1, __ATOMIC_RELEASE);
	load_stop(w, threads);
	int64_t load_ms = crash_ms() - t_load;

	/* Once more, with no load: the checks see what a restart recovers. */
	long replays = 0, replayed_amends = 0;
	if (!failed && w->failover) {
		/* A last failover, the load stopped: the checks run on the
		 * survivor of a copy, and see every node's stored replies. */
		taken_t *t = &taken[kills];
		if (failover_take(w, 0, copy, t) != 0) {
			failed = 2;
		} else {
			died_alone += t->died_alone;
			if ((size_t)snprintf(w->h.dir, sizeof w->h.dir, "%s", copy) >= sizeof w->h.dir)
				failed = 2;
			replays = count_replays(copy, &replayed_amends);
			if (failed || (tamper && tamper_apply(w, &faults) != 0))
				failed = 2;
			else if (failover_start(w, copy) != 0)
				failed = 2;
		}
	} else if (!failed) {
		harness_stop(&w->h, SIGKILL);
		__atomic_add_fetch(&w->epoch, 1, __ATOMIC_ACQ_REL);
		replays = count_replays(data, &replayed_amends);
		if (tamper && tamper_apply(w, &faults) != 0) {
			failed = 2;
		} else if (harness_restart(&w->h) != 0) {
			fprintf(stderr, "rx-crash: rxd did not come back for the checks\n");
			failed = 2;
		}
	}
	if (!failed && (w->journal_errors || w->abort)) {
		fprintf(stderr, "rx-crash: a journal could not be written; the run cannot be checked\n");
		failed = 2;
	}

	int64_t t_check = crash_ms();
	if (!failed && check_history(w, zctx, &rep) != 0)
		failed = 2;
	int64_t check_ms = crash_ms() - t_check;
	int term = harness_stop(&w->h, SIGTERM);
	zmq_ctx_term(zctx);

	if (!failed) {
		long *sorted = restart_ms;
		qsort(sorted, (size_t)kills, sizeof *sorted, cmp_long);
		if (!(WIFEXITED(term) && WEXITSTATUS(term) == 0)) {
			printf("crash: VIOLATION: rxd did not stop cleanly on SIGTERM after the checks\n");
			rep.violations++;
		}
		if (died_alone) {
			printf("crash: VIOLATION: rxd ended by itself %ld times\n", died_alone);
			rep.violations++;
		}
		if (w->bad_replies) {
			printf("crash: VIOLATION: %ld replies did not decode or verify\n", w->bad_replies);
			rep.violations++;
		}
		if (w->failover)
			print_failovers(w, taken, kills, load_ms, sorted, &rep);
		else
			printf("crash: %ld kills with SIGKILL in %.1f s of load; back up in %ld ms median, %ld ms max\n",
			       kills, load_ms / 1000.0, kills ? sorted[kills / 2] : 0, kills ? sorted[kills - 1] : 0);
		const char *event = w->failover ? "failover" : "kill", *across = w->failover ? "failover" : "restart";
		printf("crash: requests the broker answered from its stored replies during the run "
		       "(committed before a %s, resent after it): %ld, of them AMEND or WITHDRAW %ld\n",
		       event, replays, replayed_amends);
		printf("crash: requests %ld: answered %ld (OK %ld, refused %ld), outcome unknown %ld; "
		       "resent after a timeout %ld (%ld across a %s), late duplicate replies %ld\n",
		       rep.requests, rep.replied, rep.ok, rep.refused, rep.lost, rep.resent,
		       rep.crossed_restart, across, rep.late);
		printf("crash: acknowledged submits %ld, found by their issuer's STATUS %ld; stored prescriptions %ld "
		       "(%ld from submits whose reply never came); STATUS checks %ld\n",
		       rep.submits_acked, rep.submits_found, rep.stored_rx, rep.stored_unacked, rep.statuses);
		printf("crash: acknowledged dispenses %ld (%ld of a withdrawn use), amends %ld, withdrawals %ld "
		       "(of these two, resent across a %s %ld); "
		       "current dispense records %ld in %ld prescriptions, each use once; replaced records kept "
		       "%ld; %ld of the %ld opened and verified; uses with a chain of records %ld; STATUS lists "
		       "matching the store %ld\n",
		       rep.dispenses_acked, rep.redispenses_acked, rep.amends_acked, rep.withdraws_acked, across,
		       rep.amends_crossed, rep.dispense_records, rep.dispensed_rx, rep.records_kept, rep.records_opened,
		       rep.records_current + rep.records_kept, rep.uses_chained, rep.status_lists);
		long late_amends = rep.refusals[RX_OP_AMEND][RX_PERMISSION_DENIED] +
				   rep.refusals[RX_OP_AMEND][RX_NOT_LATEST] +
				   rep.refusals[RX_OP_WITHDRAW][RX_PERMISSION_DENIED] +
				   rep.refusals[RX_OP_WITHDRAW][RX_NOT_LATEST];
		printf("crash: refusals checked not to have taken effect: CLAIM ALREADY_CLAIMED %ld, "
		       "DISPENSE ALREADY_DISPENSED %ld, DISPENSE PERMISSION_DENIED %ld, AMEND or WITHDRAW "
		       "PERMISSION_DENIED or NOT_LATEST %ld, other %ld\n",
		       rep.refusals[RX_OP_CLAIM][RX_ALREADY_CLAIMED],
		       rep.refusals[RX_OP_DISPENSE][RX_ALREADY_DISPENSED],
		       rep.refusals[RX_OP_DISPENSE][RX_PERMISSION_DENIED], late_amends,
		       rep.refused - rep.refusals[RX_OP_CLAIM][RX_ALREADY_CLAIMED] -
			       rep.refusals[RX_OP_DISPENSE][RX_ALREADY_DISPENSED] -
			       rep.refusals[RX_OP_DISPENSE][RX_PERMISSION_DENIED] - late_amends);
		printf("crash: parts (proto/README 5.13): DISPENSEs of a part %ld, acknowledged %ld (leaving items "
		       "owed %ld), of unknown outcome %ld (stored %ld; each sent again under a new request id), "
		       "refused ALREADY_DISPENSED %ld; part records %ld in %ld uses: completed %ld (closing items "
		       "not dispensed %ld), still owed %ld, owed until a cancel %ld\n",
		       rep.parts_sent, rep.parts_acked, rep.parts_open_acked, rep.parts_unknown, rep.parts_unknown_took,
		       rep.parts_again, rep.part_records, rep.uses_in_parts, rep.uses_completed, rep.uses_closed,
		       rep.uses_owed, rep.uses_cancelled);
		printf("crash: inquiries (proto/README 5.14): acknowledged INQUIRE %ld, INQUIRY_REPLY %ld (refused "
		       "INVALID %ld); kept %ld (by telephone %ld), answered %ld; DISPENSE refused INQUIRY_PENDING %ld, "
		       "INQUIRE %ld; records citing an inquiry %ld; STATUS inquiry lists matching the store %ld\n",
		       rep.inquiries_acked, rep.replies_acked, rep.refusals[RX_OP_INQUIRY_REPLY][RX_INVALID],
		       rep.inquiries_stored, rep.inquiries_phoned, rep.answers_stored, rep.pending_refused,
		       rep.refusals[RX_OP_INQUIRE][RX_INQUIRY_PENDING], rep.dispenses_citing, rep.status_inquiries);
		printf("crash: inquiries between parts %ld, parts citing one %ld; DISPENSE refused NOT_AGREED %ld, each "
		       "citing an inquiry whose kept agreement does not cover it, none kept (%ld more of unknown "
		       "outcome, none kept); kept lines a change of marks or reason INQUIRY, each covered by an agreed "
		       "change %ld; prescriptions keeping 16 inquiries %ld, INQUIRE refused INVALID (the 17th) %ld "
		       "(audit log %ld); acknowledged INQUIREs resent across a restart %ld, each kept once\n",
		       rep.inquiries_between, rep.parts_citing, rep.not_agreed_refused, rep.not_agreed_unknown,
		       rep.changes_covered, rep.inquiry_limit_rx, rep.refusals[RX_OP_INQUIRE][RX_INVALID],
		       rep.inquiries_over, rep.inquiries_crossed);
		printf("crash: RELEASE refused PARTLY_DISPENSED %ld, AMEND or WITHDRAW %ld; AMENDs accepted while the "
		       "next use was owed %ld; stored records traced to the request that sent them %ld of %ld\n",
		       rep.refusals[RX_OP_RELEASE][RX_PARTLY_DISPENSED],
		       rep.refusals[RX_OP_AMEND][RX_PARTLY_DISPENSED] +
			       rep.refusals[RX_OP_WITHDRAW][RX_PARTLY_DISPENSED],
		       rep.amends_while_owed, rep.records_traced, rep.records_opened);
		printf("crash: accepted changes replayed from the audit log %ld; acknowledged requests re-sent %ld, "
		       "identical replies %ld; audit chain verified over %ld entries\n",
		       rep.changes_replayed, rep.replies_resent, rep.replies_identical, rep.audit_entries);
		const char *verdict = rep.violations ? "FAILED" : "OK";
		if (tamper)
			verdict = "tampered, as asked";
		if (w->stale_replica)
			verdict = "a stale replica, as asked";
		printf("crash: %s: %ld violations; %.1f s in all (checks %.1f s)\n", verdict, rep.violations,
		       (crash_ms() - t0) / 1000.0, check_ms / 1000.0);
		if (tamper)
			failed = tamper_found(&faults, &rep) == 0 ? 0 : 1;
		else if (w->stale_replica)
			failed = stale_found(&rep) == 0 ? 0 : 1;
		else if (rep.violations)
			failed = 1;
	}
	free(restart_ms);
	free(taken);
	for (int i = 0; i < w->ncopies; i++)
		failover_copy_free(&w->copies[i]);
	free(w->copies);
	if (failed || keep) {
		printf("crash: kept %s\n", w->work);
	} else if (nftw(w->work, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		fprintf(stderr, "rx-crash: could not remove %s\n", w->work);
	}
	pthread_cond_destroy(&w->progress);
	pthread_mutex_destroy(&w->mu);
	return failed;
}
