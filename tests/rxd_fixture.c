/* rxd_fixture: start and stop the real rxd (see rxd_fixture.h). */
#include "rxd_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rx.pb-c.h"
#include "rx_crypto.h"
#include "rxclient.h"

#define START_DEADLINE_MS 15000
#define POLL_MS 20
/* One STATS on the admin socket; a slow first answer is waited for, not
 * asked again. */
#define ADMIN_TIMEOUT_MS 5000

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static rx_err_t failed(rx_err_t err, char *why, size_t whylen, const char *what, const char *arg)
{
	snprintf(why, whylen, what, arg);
	return err;
}

static int given(const char *s)
{
	return s && s[0];
}

rx_err_t rxd_fixture_mkdtemp(char *dir, size_t cap, const char *parent, const char *prefix)
{
	if ((size_t)snprintf(dir, cap, "%s/%s.XXXXXX", parent, prefix) >= cap)
		return RX_SYSTEM;
	return mkdtemp(dir) ? RX_OK : RX_SYSTEM;
}

/* argv[a], argv[a + 1] = flag, value if the value is given; the next free a. */
static int add_flag(char **argv, int a, const char *flag, const char *value)
{
	if (!given(value))
		return a;
	argv[a] = (char *)flag;
	argv[a + 1] = (char *)value;
	return a + 2;
}

/* In the child: rxd with o's flags, stderr to log.  Never returns. */
static void exec_rxd(const rxd_fixture_opts_t *o, const char *log, pid_t parent)
{
	char *argv[16] = {(char *)o->rxd, "--data", (char *)o->dir, "--listen", (char *)o->listen};
	int a = 5;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* The parent died before prctl took hold: nobody would stop rxd. */
	if (getppid() != parent)
		_exit(127);
	if (given(o->preload)) {
		setenv("LD_PRELOAD", o->preload, 1);
		setenv("RX_FAULT_FILE", given(o->fault_file) ? o->fault_file : "", 1);
	}
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd >= 0)
		dup2(fd, 2);
	a = add_flag(argv, a, "--map-size", o->map_mib);
	a = add_flag(argv, a, "--metrics", o->metrics);
	a = add_flag(argv, a, "--verify-threads", o->verify_threads);
	a = add_flag(argv, a, "--pseudonym-key", o->pseudonym_key);
	a = add_flag(argv, a, "--replace-lost-key", o->replace_key);
	argv[a] = NULL;
	execv(o->rxd, argv);
	_exit(127);
}

/* The first line of path into line (cap bytes), without its newline; 0 if
 * there was a non-empty one. */
static int first_line(const char *path, char *line, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	int ok = fgets(line, (int)cap, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	line[strcspn(line, "\n")] = '\0';
	return line[0] ? 0 : -1;
}

/* One admin request; its code, with why set unless it is RX_OK. */
static rx_err_t admin(const char *dir, const Rx__AdminRequest *q, char *why, size_t whylen)
{
	Rx__AdminReply *r = NULL;
	char msg[256] = "";
	rx_err_t err = rxc_admin(dir, ADMIN_TIMEOUT_MS, q, &r, msg, sizeof msg);
	if (r)
		rx__admin_reply__free_unpacked(r, NULL);
	if (err != RX_OK)
		snprintf(why, whylen, "admin request refused: %s %s", rx_err_name(err), msg);
	return err;
}

static int admin_answers(const char *dir)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	char why[300];
	q.op = RX__ADMIN_OP__STATS;
	return admin(dir, &q, why, sizeof why) == RX_OK;
}

rx_err_t rxd_fixture_start(rxd_fixture_t *f, const rxd_fixture_opts_t *o, char *why, size_t whylen)
{
	char log[4200], path[4200], line[256];

	memset(f, 0, sizeof *f);
	if (!given(o->rxd) || !given(o->dir) || !given(o->listen))
		return failed(RX_SYSTEM, why, whylen, "%s", "no rxd, data dir or listen endpoint given");
	snprintf(log, sizeof log, "%s/rxd.log", o->dir);
	pid_t parent = getpid();
	f->pid = fork();
	if (f->pid < 0) {
		f->pid = 0;
		return failed(RX_SYSTEM, why, whylen, "%s", "fork failed");
	}
	if (f->pid == 0)
		exec_rxd(o, log, parent);

	/* Ready when the endpoint file is written and the admin socket answers. */
	snprintf(path, sizeof path, "%s/rxd.endpoint", o->dir);
	for (int64_t deadline = mono_ms() + START_DEADLINE_MS; f->endpoint[0] == '\0';) {
		int status;
		if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
			f->pid = 0;
			return failed(RX_UNREACHABLE, why, whylen, "rxd exited at start (see %s)", log);
		}
		if (first_line(path, line, sizeof line) == 0 && admin_answers(o->dir))
			snprintf(f->endpoint, sizeof f->endpoint, "%s", line);
		else if (mono_ms() >= deadline)
			return failed(RX_UNREACHABLE, why, whylen, "rxd did not come up within 15 s (see %s)",
				      log);
		else
			nanosleep(&(struct timespec){0, POLL_MS * 1000000L}, NULL);
	}
	snprintf(path, sizeof path, "%s/broker.curve.pub", o->dir);
	if (first_line(path, line, sizeof line) != 0 || rx_z85_decode(line, f->server_key) != RX_OK)
		return failed(RX_SYSTEM, why, whylen, "cannot read %s", path);
	return RX_OK;
}

int rxd_fixture_stop(pid_t *pid, int sig)
{
	int status = -1;
	if (*pid > 0) {
		kill(*pid, sig);
		while (waitpid(*pid, &status, 0) < 0 && errno == EINTR)
			;
		*pid = 0;
	}
	return status;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

rx_err_t rxd_fixture_remove(const char *dir)
{
	char keys[4200];
	struct stat st;
	int rc = nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(keys, sizeof keys, "%s-keys", dir);
	if (stat(keys, &st) == 0 && nftw(keys, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		rc = -1;
	return rc == 0 ? RX_OK : RX_SYSTEM;
}

rx_err_t rxd_fixture_add_institution(const char *dir, const char *code, int kind, const char *name,
				     rx_curve_t *curve, char *why, size_t whylen)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__InstitutionInfo ii = RX__INSTITUTION_INFO__INIT;
	randombytes_buf(curve->sk, sizeof curve->sk);
	crypto_scalarmult_base(curve->pk, curve->sk);
	ii.code = (char *)code;
	ii.kind = (Rx__InstitutionKind)kind;
	ii.name = (char *)name;
	ii.curve_key.data = curve->pk;
	ii.curve_key.len = sizeof curve->pk;
	q.op = RX__ADMIN_OP__INSTITUTION_ADD;
	q.institution = &ii;
	return admin(dir, &q, why, whylen);
}

static void new_keypair(rx_keypair_t *kp)
{
	uint8_t seed[RX_SEED_LEN];
	randombytes_buf(seed, sizeof seed);
	rx_keypair_from_seed(seed, kp);
	sodium_memzero(seed, sizeof seed);
}

rx_err_t rxd_fixture_add_key(const char *dir, int role, const char *institution, const char *name,
			     rx_keypair_t *kp, char *why, size_t whylen)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__KeyInfo ki = RX__KEY_INFO__INIT;
	new_keypair(kp);
	ki.key.data = kp->pk;
	ki.key.len = RX_KEY_LEN;
	ki.role = (Rx__Role)role;
	ki.institution_code = (char *)institution;
	ki.name = (char *)name;
	q.op = RX__ADMIN_OP__KEY_ADD;
	q.key = &ki;
	return admin(dir, &q, why, whylen);
}

rx_err_t rxd_fixture_add_card(const char *dir, const char *patient, rx_keypair_t *card, char *why,
			      size_t whylen)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	new_keypair(card);
	q.op = RX__ADMIN_OP__CARD_ENROLL;
	q.card.data = card->pk;
	q.card.len = RX_KEY_LEN;
	q.patient_id = (char *)patient;
	return admin(dir, &q, why, whylen);
}
