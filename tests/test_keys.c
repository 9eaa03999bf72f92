/* Integration: rxd's keys against the real binary.  Once a store exists, a
 * key file that is missing or replaced stops rxd (exit 3, the file named,
 * the restore steps given), and putting the original back brings rxd up with
 * every prescription readable and every patient id unchanged.  A store from
 * before key checks gets them recorded on its first start; a pseudonym key
 * left in the data dir is moved out.  The pseudonym key lives where it is
 * configured, never in the data dir, and BACKUP copies it only when asked. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rx_ids.h"
#include "testutil.h"

#define MY_NUMBER "123456789018"

static char out[1 << 16];

typedef struct {
	harness_t h;
	rx_keypair_t doc, ph, card;
	char patient[RX_PATIENT_ID_LEN + 1];
	char id[RX_ID_LEN + 1]; /* one prescription, submitted before any key trouble */
} world_t;

static void world_up(world_t *w)
{
	harness_rx_t sp;
	Rx__Signed card;
	rxc_result_t r;
	memset(w, 0, sizeof *w);
	ck_assert_msg(harness_start(&w->h, 0) == 0, "rxd did not start (is $RXD set?)");
	ck_assert_int_eq(harness_key(&w->h, &w->doc, RX_ROLE_PRESCRIBER, "1312345678"), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph, RX_ROLE_PHARMACY, "1398765432"), 0);
	ck_assert_int_eq(harness_enroll(&w->h, MY_NUMBER, w->patient), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient, &w->card), 0);
	rxc_t *c = harness_client(&w->h, NULL, &w->doc, 0);
	harness_prescription(&w->doc, "", 1, 0, 0, "keys test", &sp);
	harness_assertion(&w->h, &w->card, &w->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	ck_assert_int_eq(rxc_submit(c, NULL, &sp.p, &card, &r), RX_OK);
	strcpy(w->id, r.receipt->prescription_id);
	rxc_result_free(&r);
	rxc_signed_free(&card);
	rxc_destroy(&c);
}

/* The data is intact: the prescription reads (sealed under data.key, the
 * receipt signed by broker.key, over broker.curve) and the same My Number
 * gives the same patient id, already enrolled. */
static void assert_intact(world_t *w)
{
	rxc_result_t r;
	char pid[RX_PATIENT_ID_LEN + 1];
	rxc_t *c = harness_client(&w->h, NULL, &w->doc, 0);
	ck_assert_int_eq(rxc_status(c, w->id, NULL, &r), RX_OK);
	rxc_result_free(&r);
	rxc_destroy(&c);
	ck_assert_int_eq(harness_enroll(&w->h, MY_NUMBER, pid), 0);
	ck_assert_str_eq(pid, w->patient);
}

/* Run rxd on dir (with --pseudonym-key pk unless NULL, and flag value
 * unless NULL) and expect it to stop by itself; its stderr into err.
 * Returns the exit status, or -1 if it was still running after 10 s (then
 * killed). */
static int run_rxd_with(const char *dir, const char *pk, const char *flag, const char *value,
			char *err, size_t cap)
{
	char log[300];
	snprintf(log, sizeof log, "%s.stderr", dir);
	unlink(log);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		char *argv[10] = {getenv("RXD"), "--data", (char *)dir, "--listen", "tcp://127.0.0.1:*"};
		int a = 5;
		if (pk) {
			argv[a++] = "--pseudonym-key";
			argv[a++] = (char *)pk;
		}
		if (flag) {
			argv[a++] = (char *)flag;
			argv[a++] = (char *)value;
		}
		argv[a] = NULL;
		execv(argv[0], argv);
		_exit(127);
	}
	int status = 0, rc;
	int64_t deadline = harness_ms() + 10000;
	while ((rc = (int)waitpid(pid, &status, WNOHANG)) == 0 && harness_ms() < deadline)
		nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
	if (rc == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	FILE *f = fopen(log, "r");
	size_t n = f ? fread(err, 1, cap - 1, f) : 0;
	err[n] = '\0';
	if (f)
		fclose(f);
	unlink(log);
	return rc == 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run_rxd(const char *dir, const char *pk, char *err, size_t cap)
{
	return run_rxd_with(dir, pk, NULL, NULL, err, cap);
}

static void key_path(world_t *w, const char *name, char *out, size_t cap)
{
	if (strcmp(name, "pseudonym.key") == 0)
		ck_assert_int_eq(harness_pseudonym_path(&w->h, out, cap), 0);
	else
		snprintf(out, cap, "%s/%s", w->h.dir, name);
}

static const char *const key_names[] = {"data.key", "broker.key", "broker.curve", "pseudonym.key"};

/* Each key file in turn: gone, rxd refuses naming it; back, rxd starts
 * with the data intact. */
START_TEST(missing_key_refused_then_restored)
{
	world_t w;
	char path[600], aside[700], err[8192];
	world_up(&w);
	for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++) {
		ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
		key_path(&w, key_names[i], path, sizeof path);
		snprintf(aside, sizeof aside, "%s.aside", w.h.dir);
		ck_assert_int_eq(rename(path, aside), 0);
		ck_assert_int_eq(run_rxd(w.h.dir, NULL, err, sizeof err), 3);
		ck_assert_msg(strstr(err, path) && strstr(err, "is missing") && strstr(err, "Restore it"),
			      "%s: %s", key_names[i], err);
		/* and it made none in its place */
		ck_assert_int_eq(access(path, F_OK), -1);
		ck_assert_int_eq(rename(aside, path), 0);
		ck_assert_msg(harness_restart(&w.h) == 0, "%s restored, rxd did not start", key_names[i]);
		assert_intact(&w);
	}
	harness_cleanup(&w.h);
}
END_TEST

/* Each key file in turn replaced by a valid key of its kind (one a careless
 * restore could bring): refused, naming it; the original back, rxd starts. */
START_TEST(replaced_key_refused_then_restored)
{
	world_t w;
	char path[600], aside[700], err[8192];
	world_up(&w);
	for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++) {
		ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
		key_path(&w, key_names[i], path, sizeof path);
		snprintf(aside, sizeof aside, "%s.aside", w.h.dir);
		ck_assert_int_eq(rename(path, aside), 0);
		if (strcmp(key_names[i], "broker.curve") == 0) {
			rx_curve_t other;
			ck_assert_int_eq(rx_curve_create(path, &other), RX_OK);
		} else {
			rx_keypair_t other;
			ck_assert_int_eq(rx_key_create(path, &other), RX_OK);
		}
		ck_assert_int_eq(run_rxd(w.h.dir, NULL, err, sizeof err), 3);
		ck_assert_msg(strstr(err, path) && strstr(err, "not the key") && strstr(err, "Restore it"),
			      "%s: %s", key_names[i], err);
		ck_assert_int_eq(rename(aside, path), 0);
		ck_assert_msg(harness_restart(&w.h) == 0, "%s restored, rxd did not start", key_names[i]);
		assert_intact(&w);
	}
	/* A damaged key file is no key either. */
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	key_path(&w, "data.key", path, sizeof path);
	snprintf(aside, sizeof aside, "%s.aside", w.h.dir);
	ck_assert_int_eq(rename(path, aside), 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_eq(write(fd, "not hex\n", 8), 8);
	close(fd);
	ck_assert_int_eq(run_rxd(w.h.dir, NULL, err, sizeof err), 3);
	ck_assert_msg(strstr(err, path) && strstr(err, "not a key file"), "%s", err);
	ck_assert_int_eq(rename(aside, path), 0);
	ck_assert_int_eq(harness_restart(&w.h), 0);
	assert_intact(&w);
	harness_cleanup(&w.h);
}
END_TEST

/* Delete every key_check/ entry of a stopped broker's meta database: the
 * store as an rxd from before key checks left it.  How many there were. */
static int forget_checks(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	MDB_cursor *cur;
	MDB_val k, v;
	int removed = 0;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 32);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	ck_assert_int_eq(mdb_cursor_open(txn, meta, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
		if (k.mv_size > 10 && memcmp(k.mv_data, "key_check/", 10) == 0) {
			ck_assert_int_eq(mdb_cursor_del(cur, 0), 0);
			removed++;
		}
	mdb_cursor_close(cur);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	return removed;
}

static int log_has(const harness_t *h, const char *needle)
{
	char path[300], buf[1 << 16];
	snprintf(path, sizeof path, "%s/rxd.log", h->dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, needle) != NULL;
}

/* An upgrade: a store without check values and the pseudonym key in the
 * data dir, as before.  rxd moves the key out, records the checks (and says
 * so), and from then on holds the keys to them. */
START_TEST(upgrade_records_checks_and_moves_the_pseudonym_key)
{
	world_t w;
	char path[600], legacy[600], keydir[600], err[8192];
	struct stat st;
	world_up(&w);
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	ck_assert_int_eq(forget_checks(w.h.dir), 4);
	/* Without check values, another data key or broker key is still caught
	 * by what they sealed and signed (SIGTERM signed the audit head). */
	static const char *const tried[] = {"data.key", "broker.key"};
	for (size_t i = 0; i < 2; i++) {
		char file[600], aside[700];
		rx_keypair_t other;
		key_path(&w, tried[i], file, sizeof file);
		snprintf(aside, sizeof aside, "%s.aside", w.h.dir);
		ck_assert_int_eq(rename(file, aside), 0);
		ck_assert_int_eq(rx_key_create(file, &other), RX_OK);
		ck_assert_int_eq(run_rxd(w.h.dir, NULL, err, sizeof err), 3);
		ck_assert_msg(strstr(err, file) && strstr(err, "not the key"), "%s: %s", tried[i], err);
		ck_assert_int_eq(rename(aside, file), 0);
	}
	ck_assert_int_eq(forget_checks(w.h.dir), 0); /* the refusals recorded nothing */
	key_path(&w, "pseudonym.key", path, sizeof path);
	snprintf(legacy, sizeof legacy, "%s/pseudonym.key", w.h.dir);
	ck_assert_int_eq(rename(path, legacy), 0);
	snprintf(keydir, sizeof keydir, "%s-keys", w.h.dir);
	ck_assert_int_eq(rmdir(keydir), 0);

	ck_assert_int_eq(harness_restart(&w.h), 0);
	ck_assert(log_has(&w.h, "event=key_checks_recorded keys=data.key,broker.key,broker.curve,pseudonym.key"));
	ck_assert(log_has(&w.h, "event=pseudonym_key_moved"));
	ck_assert_int_eq(access(legacy, F_OK), -1);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(keydir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	assert_intact(&w);

	/* The checks now hold: another data key is refused. */
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	char data_key[600], aside[700];
	key_path(&w, "data.key", data_key, sizeof data_key);
	snprintf(aside, sizeof aside, "%s.aside", w.h.dir);
	ck_assert_int_eq(rename(data_key, aside), 0);
	rx_keypair_t other;
	ck_assert_int_eq(rx_key_create(data_key, &other), RX_OK);
	ck_assert_int_eq(run_rxd(w.h.dir, NULL, err, sizeof err), 3);
	ck_assert_msg(strstr(err, data_key), "%s", err);
	ck_assert_int_eq(rename(aside, data_key), 0);

	/* An old pseudonym.key in the data dir that is not the one outside:
	 * a person must choose; rxd names both and touches neither. */
	ck_assert_int_eq(rx_key_create(legacy, &other), RX_OK);
	ck_assert_int_eq(run_rxd(w.h.dir, NULL, err, sizeof err), 3);
	ck_assert_msg(strstr(err, legacy) && strstr(err, path) && strstr(err, "different"), "%s", err);
	ck_assert_int_eq(access(legacy, F_OK), 0);
	/* The same key in both places: the old copy goes. */
	ck_assert_int_eq(unlink(legacy), 0);
	rx_keypair_t same;
	ck_assert_int_eq(rx_key_load(path, &same), RX_OK);
	ck_assert_int_eq(rx_key_write(legacy, &same), RX_OK);
	ck_assert_int_eq(harness_restart(&w.h), 0);
	ck_assert_int_eq(access(legacy, F_OK), -1);
	assert_intact(&w);
	harness_cleanup(&w.h);
}
END_TEST

/* A lost key without any copy: only pseudonym.key and broker.curve may be
 * made anew, only when the file is really gone, on the operator's word;
 * the store's check follows, the audit log records it, and what was stored
 * before stays readable. */
START_TEST(lost_key_replaced_only_when_asked)
{
	world_t w;
	char path[600], err[8192], pub_before[64] = "", pub_after[64] = "";
	world_up(&w);
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	ck_assert_int_eq(run_rxd_with(w.h.dir, NULL, "--replace-lost-key", "data.key", err, sizeof err), 1);
	ck_assert_msg(strstr(err, "data.key cannot be replaced"), "%s", err);
	ck_assert_int_eq(run_rxd_with(w.h.dir, NULL, "--replace-lost-key", "broker.key", err, sizeof err), 1);
	ck_assert_int_eq(run_rxd_with(w.h.dir, NULL, "--replace-lost-key", "nonsense", err, sizeof err), 1);
	/* The file is there: not lost, nothing replaced. */
	ck_assert_int_eq(run_rxd_with(w.h.dir, NULL, "--replace-lost-key", "pseudonym.key", err, sizeof err), 1);
	ck_assert_msg(strstr(err, "not lost"), "%s", err);
	key_path(&w, "pseudonym.key", path, sizeof path);
	rx_keypair_t before, after;
	ck_assert_int_eq(rx_key_load(path, &before), RX_OK);

	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(run_rxd(w.h.dir, NULL, err, sizeof err), 3);
	ck_assert_msg(strstr(err, "--replace-lost-key pseudonym.key"), "%s", err);
	snprintf(w.h.replace_key, sizeof w.h.replace_key, "pseudonym.key");
	ck_assert_int_eq(harness_restart(&w.h), 0);
	ck_assert(log_has(&w.h, "event=key_replaced key=pseudonym.key"));
	ck_assert_int_eq(rx_key_load(path, &after), RX_OK);
	ck_assert(memcmp(before.pk, after.pk, RX_KEY_LEN) != 0);
	ck_assert_int_eq(harness_rxctl(&w.h, out, sizeof out, "audit tail -n 3"), 0);
	ck_assert_msg(strstr(out, "KEY_REPLACED"), "%s", out);
	/* The old enrolment and prescription stay; the same My Number now
	 * derives another id, enrolled as new. */
	rxc_result_t r;
	rxc_t *c = harness_client(&w.h, NULL, &w.doc, 0);
	ck_assert_int_eq(rxc_status(c, w.id, NULL, &r), RX_OK);
	rxc_result_free(&r);
	rxc_destroy(&c);
	ck_assert_int_eq(harness_rxctl(&w.h, out, sizeof out, "patient enroll --my-number %s", MY_NUMBER), 0);
	ck_assert_msg(strstr(out, "\"created\":true") && !strstr(out, w.patient), "%s", out);
	/* From now on the new key is the store's: a plain restart works. */
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	w.h.replace_key[0] = '\0';
	ck_assert_int_eq(harness_restart(&w.h), 0);

	/* broker.curve: clients need the new public half. */
	FILE *f;
	snprintf(path, sizeof path, "%s/broker.curve.pub", w.h.dir);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(pub_before, sizeof pub_before, f));
	fclose(f);
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	key_path(&w, "broker.curve", path, sizeof path);
	ck_assert_int_eq(unlink(path), 0);
	snprintf(w.h.replace_key, sizeof w.h.replace_key, "broker.curve");
	ck_assert_int_eq(harness_restart(&w.h), 0);
	w.h.replace_key[0] = '\0';
	snprintf(path, sizeof path, "%s/broker.curve.pub", w.h.dir);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(pub_after, sizeof pub_after, f));
	fclose(f);
	ck_assert_str_ne(pub_before, pub_after);
	c = harness_client(&w.h, NULL, &w.doc, 0); /* with the new server key */
	ck_assert_int_eq(rxc_status(c, w.id, NULL, &r), RX_OK);
	rxc_result_free(&r);
	rxc_destroy(&c);
	harness_cleanup(&w.h);
}
END_TEST

static int same_file(const char *a, const char *b)
{
	rx_keypair_t x, y;
	return rx_key_load(a, &x) == RX_OK && rx_key_load(b, &y) == RX_OK &&
	       memcmp(x.pk, y.pk, RX_KEY_LEN) == 0;
}


/* BACKUP leaves the pseudonym key out unless asked; either copy restores. */
START_TEST(backup_copies_the_pseudonym_key_only_when_asked)
{
	world_t w;
	char plain[400], with[400], path[600], copied[600], err[8192];
	world_up(&w);
	snprintf(plain, sizeof plain, "%s/backup-plain", w.h.dir);
	snprintf(with, sizeof with, "%s/backup-with", w.h.dir);
	ck_assert_int_eq(harness_rxctl(&w.h, out, sizeof out, "backup '%s'", plain), 0);
	ck_assert_msg(strstr(out, "\"pseudonym_key\":false"), "%s", out);
	ck_assert_int_eq(harness_rxctl(&w.h, out, sizeof out, "backup '%s' --with-pseudonym-key", with), 0);
	ck_assert_msg(strstr(out, "\"pseudonym_key\":true"), "%s", out);
	ck_assert_int_eq(harness_rxctl(&w.h, out, sizeof out, "audit tail -n 2"), 0);
	ck_assert_msg(strstr(out, "(with the pseudonym key)"), "%s", out);

	/* Without: no pseudonym key anywhere in the copy. */
	snprintf(copied, sizeof copied, "%s/pseudonym.key", plain);
	ck_assert_int_eq(access(copied, F_OK), -1);
	snprintf(copied, sizeof copied, "%s/data.key", plain);
	ck_assert_int_eq(access(copied, F_OK), 0);
	snprintf(copied, sizeof copied, "%s/data.mdb", plain);
	ck_assert_int_eq(access(copied, F_OK), 0);
	/* With: the key, the same one, mode 0600. */
	struct stat st;
	key_path(&w, "pseudonym.key", path, sizeof path);
	snprintf(copied, sizeof copied, "%s/pseudonym.key", with);
	ck_assert_int_eq(stat(copied, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert(same_file(path, copied));

	/* Restore the plain one: refused until its pseudonym key is put back
	 * from the offline copy; then the data is there. */
	harness_t r;
	char want[600];
	ck_assert_int_eq(rx_pseudonym_key_default(plain, want, sizeof want), RX_OK);
	ck_assert_int_eq(run_rxd(plain, NULL, err, sizeof err), 3);
	ck_assert_msg(strstr(err, want) && strstr(err, "offline copy"), "%s", err);
	ck_assert_int_eq(harness_copy_pseudonym_key(&w.h, plain), 0);
	ck_assert_int_eq(harness_start_in(&r, plain), 0);
	Rx__Stats s;
	ck_assert_int_eq(harness_stats(&r, &s), 0);
	ck_assert_uint_eq(s.prescriptions, 1);
	ck_assert_uint_eq(s.patients, 1);
	harness_stop(&r, SIGTERM);

	/* Restore the one with the key: rxd moves it out of the data dir. */
	ck_assert_int_eq(harness_start_in(&r, with), 0);
	ck_assert_int_eq(access(copied, F_OK), -1);
	ck_assert_int_eq(rx_pseudonym_key_default(with, want, sizeof want), RX_OK);
	ck_assert(same_file(path, want));
	char pid[RX_PATIENT_ID_LEN + 1];
	ck_assert_int_eq(harness_enroll(&r, MY_NUMBER, pid), 0);
	ck_assert_str_eq(pid, w.patient);
	harness_stop(&r, SIGTERM);
	harness_cleanup(&w.h);
}
END_TEST

/* --pseudonym-key: rxd makes and checks the key there and nowhere else,
 * and rxctl patient enroll finds it through rxd. */
START_TEST(configured_pseudonym_key_path)
{
	char top[64] = "/tmp/rx-test-pk.XXXXXX", path[300], other[300], err[8192];
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(path, sizeof path, "%s/secrets/pseudonym.key", top);
	harness_t h;
	ck_assert_int_eq(harness_start_keyed(&h, path), 0);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	snprintf(other, sizeof other, "%s/pseudonym.key", h.dir);
	ck_assert_int_eq(access(other, F_OK), -1);
	snprintf(other, sizeof other, "%s-keys", h.dir);
	ck_assert_int_eq(access(other, F_OK), -1);

	/* rxctl derives with the key rxd reports, unasked. */
	rx_keypair_t pk;
	char want[RX_PATIENT_ID_LEN + 1];
	ck_assert_int_eq(rx_key_load(path, &pk), RX_OK);
	ck_assert_int_eq(rx_patient_id_derive(pk.sk, MY_NUMBER, want), RX_OK);
	ck_assert_int_eq(harness_rxctl(&h, out, sizeof out, "patient enroll --my-number %s", MY_NUMBER), 0);
	ck_assert_msg(strstr(out, want), "%s", out);
	/* and with --pseudonym-key naming a file that is not there, it fails
	 * rather than derive with nothing */
	ck_assert_int_ne(harness_rxctl(&h, out, sizeof out, "patient enroll --my-number %s "
						       "--pseudonym-key '%s/none'", MY_NUMBER, top), 0);
	ck_assert_int_eq(harness_stop(&h, SIGTERM), 0);

	/* Without the flag, the store's pseudonym key is missing: refused. */
	ck_assert_int_eq(run_rxd(h.dir, NULL, err, sizeof err), 3);
	ck_assert_msg(strstr(err, "pseudonym.key is missing"), "%s", err);

	/* A path inside the data dir is refused (and nothing is made there). */
	snprintf(other, sizeof other, "%s/sub/pseudonym.key", h.dir);
	ck_assert_int_eq(run_rxd(h.dir, other, err, sizeof err), 1);
	ck_assert_msg(strstr(err, "outside the data dir"), "%s", err);
	/* A directory others may enter is refused. */
	snprintf(other, sizeof other, "%s/secrets", top);
	ck_assert_int_eq(chmod(other, 0755), 0);
	ck_assert_int_eq(run_rxd(h.dir, path, err, sizeof err), 1);
	ck_assert_msg(strstr(err, "chmod 700"), "%s", err);
	ck_assert_int_eq(chmod(other, 0700), 0);
	ck_assert_int_eq(harness_restart(&h), 0);
	harness_cleanup(&h);
	ck_assert_int_eq(tu_rmtree(top), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_create("keys");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, missing_key_refused_then_restored);
	tcase_add_test(tc, replaced_key_refused_then_restored);
	tcase_add_test(tc, upgrade_records_checks_and_moves_the_pseudonym_key);
	tcase_add_test(tc, lost_key_replaced_only_when_asked);
	tcase_add_test(tc, backup_copies_the_pseudonym_key_only_when_asked);
	tcase_add_test(tc, configured_pseudonym_key_path);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
