/* Integration: continuous off-site copies (issue #16).  `rxctl backup
 * --verify` on a copy a live rxd wrote: what it reports, that it writes
 * nothing in the copy, and a specific refusal for each damage (an audit
 * entry altered, the signed head's signature, a wrong or another broker's
 * key, a key file missing, a file that is not a store, no store at all);
 * and deploy/rx-backup, the script the systemd timer runs: three runs with
 * keep 2 leave the two newest copies, each verifying, and every file not
 * named like a copy; the off-site push; a copy that does not verify, or
 * that carries pseudonym.key, removed and the run failed.  Each rxd and
 * each script run is a child stopped and reaped by its PID. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "testutil.h"

typedef struct {
	harness_t h;
	rx_keypair_t doc, ph, card;
	char patient[RX_PATIENT_ID_LEN + 1];
	rxc_t *cdoc, *cph;
} world_t;

static void world_up(world_t *w)
{
	memset(w, 0, sizeof *w);
	ck_assert_msg(harness_start(&w->h, 0) == 0, "rxd did not start (is $RXD set?)");
	ck_assert_int_eq(harness_key(&w->h, &w->doc, RX_ROLE_PRESCRIBER, "1312345678"), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph, RX_ROLE_PHARMACY, "1398765432"), 0);
	ck_assert_int_eq(harness_enroll(&w->h, "123456789018", w->patient), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient, &w->card), 0);
	w->cdoc = harness_client(&w->h, NULL, &w->doc, 0);
	w->cph = harness_client(&w->h, NULL, &w->ph, 0);
}

static void world_down(world_t *w)
{
	rxc_destroy(&w->cdoc);
	rxc_destroy(&w->cph);
	harness_cleanup(&w->h);
}

/* After a restart on the same dir and endpoint, clients connect anew. */
static void world_restart(world_t *w)
{
	rxc_destroy(&w->cdoc);
	rxc_destroy(&w->cph);
	ck_assert_int_eq(harness_restart(&w->h), 0);
	w->cdoc = harness_client(&w->h, NULL, &w->doc, 0);
	w->cph = harness_client(&w->h, NULL, &w->ph, 0);
}

static void submit(world_t *w, char id[RX_ID_LEN + 1])
{
	harness_rx_t sp;
	Rx__Signed card;
	rxc_result_t r;
	char notes[48];
	snprintf(notes, sizeof notes, "backup-%u", (unsigned)randombytes_random());
	harness_prescription(&w->doc, "", 1, 0, 0, notes, &sp);
	harness_assertion(&w->h, &w->card, &w->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	ck_assert_int_eq(rxc_submit(w->cdoc, NULL, &sp.p, &card, &r), RX_OK);
	strcpy(id, r.receipt->prescription_id);
	rxc_result_free(&r);
	rxc_signed_free(&card);
}

static void claim(world_t *w, const char *id)
{
	Rx__Signed card;
	rxc_result_t r;
	harness_assertion(&w->h, &w->card, &w->ph, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	ck_assert_int_eq(rxc_claim(w->cph, NULL, id, &proof, &r), RX_OK);
	rxc_result_free(&r);
	rxc_signed_free(&card);
}

static char out[1 << 18];

#define rxctl(h, ...) harness_rxctl((h), out, sizeof out, __VA_ARGS__)
#define HAS(s) (strstr(out, (s)) != NULL)

/* A number after "key": in out, or -1. */
static long long field(const char *key)
{
	char k[64];
	snprintf(k, sizeof k, "\"%s\":", key);
	const char *p = strstr(out, k);
	return p ? strtoll(p + strlen(k), NULL, 10) : -1;
}

static void hash_file(const char *path, uint8_t h[crypto_generichash_BYTES])
{
	crypto_generichash_state st;
	uint8_t buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	crypto_generichash_init(&st, NULL, 0, sizeof(uint8_t[crypto_generichash_BYTES]));
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		crypto_generichash_update(&st, buf, n);
	fclose(f);
	crypto_generichash_final(&st, h, crypto_generichash_BYTES);
}

/* The names in dir, sorted, joined by spaces, into list; but for rx-backup's
 * lock file (there only where flock(1) is). */
static void names_in(const char *dir, char *list, size_t cap)
{
	struct dirent **e;
	int n = scandir(dir, &e, NULL, alphasort);
	ck_assert_int_ge(n, 0);
	list[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(e[i]->d_name, ".") != 0 && strcmp(e[i]->d_name, "..") != 0 &&
		    strcmp(e[i]->d_name, ".rx-backup.lock") != 0)
			snprintf(list + strlen(list), cap - strlen(list), "%s ", e[i]->d_name);
		free(e[i]);
	}
	free(e);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

/* A copy of the backup base at copy (cp -a, as an operator would). */
static void copy_of(const char *base, const char *copy)
{
	sh("rm -rf '%s' && cp -a '%s' '%s'", copy, base, copy);
}

/* ---- damaging a copy through LMDB's own write path ---- */

/* Open the copy's LMDB read-write (no lock file: nobody else has it open)
 * and hand db name's value under key to fn to rewrite in place. */
typedef void damage_fn(uint8_t *v, size_t n);

static void damage(const char *dir, const char *db, const void *key, size_t klen, damage_fn *fn)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t copy[4096];
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 32), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, MDB_NOLOCK, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
	MDB_val k = {klen, (void *)key}, v;
	ck_assert_int_eq(mdb_get(txn, dbi, &k, &v), 0);
	ck_assert_uint_lt(v.mv_size, sizeof copy);
	memcpy(copy, v.mv_data, v.mv_size);
	fn(copy, v.mv_size);
	MDB_val nv = {v.mv_size, copy};
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &nv, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* "CLAIM" becomes "CLAIN": the entry still decodes; only the chain can tell. */
static void alter_action(uint8_t *v, size_t n)
{
	uint8_t *p = memmem(v, n, "CLAIM", 5);
	ck_assert_ptr_nonnull(p);
	p[4] ^= 0x03;
}

/* Read a protobuf varint at v[*i] (n bytes in all); 0 if it runs off. */
static int varint_at(const uint8_t *v, size_t n, size_t *i, uint64_t *out)
{
	*out = 0;
	for (int shift = 0; *i < n && shift < 64; shift += 7) {
		uint8_t b = v[(*i)++];
		*out |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 1;
	}
	return 0;
}

/* One bit of the signed head's signature (AuditHead field 5), found by
 * walking the fields: a scan for a 64-byte length could stop in the random
 * bytes of the hash before it, and damage the head's framing instead. */
static void flip_signature(uint8_t *v, size_t n)
{
	size_t i = 0;
	uint64_t tag, len;
	while (i < n && varint_at(v, n, &i, &tag)) {
		if ((tag & 7) == 0) {
			ck_assert(varint_at(v, n, &i, &len));
		} else if ((tag & 7) == 2) {
			ck_assert(varint_at(v, n, &i, &len) && len <= n - i);
			if ((tag >> 3) == 5 && len == 64) {
				v[i + 20] ^= 0x10;
				return;
			}
			i += len;
		} else {
			ck_abort_msg("the signed head has a field of wire type %u", (unsigned)(tag & 7));
		}
	}
	ck_abort_msg("no 64-byte signature in the signed head");
}

/* The seq of the first CLAIM entry, from `audit tail`. */
static uint64_t first_claim_seq(const harness_t *h)
{
	ck_assert_int_eq(rxctl(h, "audit tail -n 1000"), 0);
	const char *p = strstr(out, "\"action\":\"CLAIM\"");
	ck_assert_ptr_nonnull(p);
	while (p > out && strncmp(p, "{\"seq\":", 7) != 0)
		p--;
	return strtoull(p + 7, NULL, 10);
}

/* ---- verify ---- */

START_TEST(verify_reports_what_a_copy_holds)
{
	world_t w;
	char id[RX_ID_LEN + 1], dest[300], path[400], before[2048], after[2048];
	uint8_t h0[crypto_generichash_BYTES], h1[crypto_generichash_BYTES];
	world_up(&w);
	for (int i = 0; i < 3; i++)
		submit(&w, id);
	claim(&w, id);
	/* SIGTERM signs the head; the copy then holds a signed head and entries
	 * after it, as any hot copy does. */
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	world_restart(&w);
	submit(&w, id);
	ck_assert_int_eq(rxctl(&w.h, "status"), 0);
	long long entries = field("audit_entries");
	ck_assert_int_gt(entries, 5);

	char scratch[TU_PATH_MAX];
	tu_subdir(scratch);
	snprintf(dest, sizeof dest, "%s/b1", scratch);
	ck_assert_int_eq(rxctl(&w.h, "backup %s", dest), 0);
	snprintf(path, sizeof path, "%s/data.mdb", dest);
	hash_file(path, h0);
	names_in(dest, before, sizeof before);
	ck_assert_str_eq(before, "broker.curve broker.curve.pub broker.key data.key data.mdb ");

	ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", dest), 0);
	ck_assert_msg(HAS("\"status\":\"OK\"") && HAS("\"sound\":true") && HAS("\"pseudonym_key\":false"),
		      "%s", out);
	ck_assert_int_eq(field("prescriptions"), 4);
	/* The backup's own entry comes after the copy. */
	ck_assert_int_eq(field("audit_entries"), entries);
	ck_assert_int_eq(field("head_seq"), entries);
	ck_assert_int_gt(field("signed_seq"), 0);
	ck_assert_int_lt(field("signed_seq"), entries);
	ck_assert_int_ge(field("age_seconds"), 0);
	ck_assert_int_lt(field("age_seconds"), 600);
	/* rxd is not needed: stopped, the copy still verifies. */
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	char cmd[800];
	snprintf(cmd, sizeof cmd, "'%s' backup --verify '%s' 2>&1", getenv("RXCTL"), dest);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_msg(HAS(" is sound: 4 prescriptions, ") && strchr(out, '\n') == out + n - 1, "%s", out);

	/* Nothing in the copy was written or made: no lock.mdb, the same bytes. */
	hash_file(path, h1);
	ck_assert_mem_eq(h0, h1, sizeof h0);
	names_in(dest, after, sizeof after);
	ck_assert_str_eq(after, before);
	world_down(&w);
}
END_TEST

START_TEST(verify_refuses_a_damaged_copy)
{
	world_t w;
	char id[RX_ID_LEN + 1], base[300], copy[300], path[400], want[160];
	world_up(&w);
	for (int i = 0; i < 3; i++) {
		submit(&w, id);
		claim(&w, id);
	}
	uint64_t seq = first_claim_seq(&w.h);
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0); /* a signed head */
	world_restart(&w);
	submit(&w, id);
	char scratch[TU_PATH_MAX];
	tu_subdir(scratch);
	snprintf(base, sizeof base, "%s/base", scratch);
	snprintf(copy, sizeof copy, "%s/copy", scratch);
	ck_assert_int_eq(rxctl(&w.h, "backup %s", base), 0);
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", base), 0);

	/* One byte of one audit entry. */
	copy_of(base, copy);
	uint8_t key[8];
	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)(seq >> (8 * (7 - i)));
	damage(copy, "audit", key, 8, alter_action);
	ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", copy), 2);
	snprintf(want, sizeof want, "broken at entry %llu:", (unsigned long long)seq);
	ck_assert_msg(HAS("\"status\":\"BROKEN\"") && HAS(want), "%s", out);
	ck_assert_int_eq(field("first_bad"), (long long)seq);

	/* The signed head's signature. */
	copy_of(base, copy);
	damage(copy, "meta", "audit_signed", 12, flip_signature);
	ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", copy), 2);
	ck_assert_msg(HAS("\"status\":\"BROKEN\"") && HAS("signature does not verify"), "%s", out);

	/* A data.key that is not the store's. */
	rx_keypair_t other;
	copy_of(base, copy);
	snprintf(path, sizeof path, "%s/data.key", copy);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rx_key_create(path, &other), RX_OK);
	ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", copy), 2);
	ck_assert_msg(HAS("\"status\":\"CONFLICT\"") && HAS("data.key is not the key"), "%s", out);

	/* Another broker's broker.key. */
	copy_of(base, copy);
	snprintf(path, sizeof path, "%s/broker.key", copy);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rx_key_create(path, &other), RX_OK);
	ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", copy), 2);
	ck_assert_msg(HAS("\"status\":\"CONFLICT\"") && HAS("broker.key is not the key"), "%s", out);

	/* broker.key missing. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", copy), 2);
	ck_assert_msg(HAS("\"status\":\"NOT_FOUND\"") && HAS("broker.key is missing"), "%s", out);

	/* data.mdb that LMDB rejects. */
	copy_of(base, copy);
	snprintf(path, sizeof path, "%s/data.mdb", copy);
	FILE *f = fopen(path, "r+b");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 8192; i++)
		fputc(0x5a, f);
	fclose(f);
	ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", copy), 2);
	ck_assert_msg(HAS("\"status\":\"INVALID\"") && HAS("not an rx-exchange store"), "%s", out);

	/* No store at all. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", copy), 2);
	ck_assert_msg(HAS("\"status\":\"NOT_FOUND\"") && HAS("no data.mdb"), "%s", out);

	/* And the copy nobody touched still verifies. */
	ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", base), 0);
	world_down(&w);
}
END_TEST

/* ---- deploy/rx-backup ---- */

typedef struct {
	const char *data, *dir, *keep, *push, *rxctl, *damage;
} run_t;

/* Run deploy/rx-backup with r's settings; its stdout and stderr into out.
 * The child dies with the test (PDEATHSIG) and after 120 s (alarm, kept
 * across exec); it is reaped here by its PID.  Returns its exit status. */
static int rx_backup(const run_t *r)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		setenv("RX_DATA", r->data, 1);
		setenv("RX_BACKUP_DIR", r->dir, 1);
		setenv("RX_BACKUP_KEEP", r->keep ? r->keep : "2", 1);
		setenv("RX_BACKUP_PUSH", r->push ? r->push : "", 1);
		/* The real rxctl for the stand-in, before RXCTL names the stand-in. */
		setenv("REAL_RXCTL", getenv("RXCTL"), 1);
		if (r->rxctl)
			setenv("RXCTL", r->rxctl, 1);
		setenv("FAKE_DAMAGE", r->damage ? r->damage : "", 1);
		alarm(120);
		execl(getenv("RX_BACKUP"), "rx-backup", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t got;
	while ((got = read(fds[0], out + n, sizeof out - 1 - n)) > 0 ||
	       (got < 0 && errno == EINTR))
		n += got > 0 ? (size_t)got : 0;
	out[n] = '\0';
	close(fds[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The copy a run named, "rxd-…", from its "rx-backup: DIR/rxd-…: is sound" line. */
static void copy_named(const char *dir, char name[64])
{
	char lead[400];
	snprintf(lead, sizeof lead, "rx-backup: %s/", dir);
	const char *p = strstr(out, lead);
	ck_assert_msg(p != NULL, "%s", out);
	p += strlen(lead);
	size_t len = strcspn(p, ":");
	ck_assert_uint_lt(len, 64);
	memcpy(name, p, len);
	name[len] = '\0';
	ck_assert_msg(strncmp(name, "rxd-", 4) == 0, "%s", out);
}

/* Is a pseudonym.key anywhere under dir? */
static int holds_pseudonym_key(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "find '%s' -name pseudonym.key | grep -q .", dir);
	return system(cmd) == 0;
}

START_TEST(rotation_keeps_the_newest_verified_copies)
{
	world_t w;
	char id[RX_ID_LEN + 1], dir[300], offsite[300], names[3][64], list[2048], want[1024], key[600];
	world_up(&w);
	/* rxd has a pseudonym key (beside the data dir): no run copies it. */
	ck_assert_int_eq(harness_pseudonym_path(&w.h, key, sizeof key), 0);
	ck_assert_int_eq(access(key, F_OK), 0);
	char scratch[TU_PATH_MAX];
	tu_subdir(scratch);
	snprintf(dir, sizeof dir, "%s/backups", scratch);
	snprintf(offsite, sizeof offsite, "%s/offsite", scratch);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(mkdir(offsite, 0700), 0);
	/* Not the script's: a note, a directory and a file named much like a copy. */
	sh("echo keep > '%s/notes.txt' && mkdir '%s/rxd-manual' && echo x > '%s/rxd-20000101T000000Z'",
	   dir, dir, dir);
	char push[400];
	snprintf(push, sizeof push, "cp -a \"$1\" '%s'/", offsite);
	run_t r = {.data = w.h.dir, .dir = dir, .keep = "2", .push = push};
	for (int i = 0; i < 3; i++) {
		submit(&w, id);
		ck_assert_msg(rx_backup(&r) == 0, "run %d: %s", i, out);
		copy_named(dir, names[i]);
		ck_assert_msg(strstr(out, "pushed") != NULL, "%s", out);
	}
	ck_assert_str_ne(names[0], names[1]);
	ck_assert_str_ne(names[1], names[2]);
	ck_assert_msg(strstr(out, "removing") && strstr(out, names[0]), "%s", out);
	/* The two newest, and everything that was not the script's, as it was. */
	names_in(dir, list, sizeof list);
	snprintf(want, sizeof want, "notes.txt rxd-20000101T000000Z %s %s rxd-manual ",
		 names[1], names[2]);
	ck_assert_str_eq(list, want);
	for (int i = 1; i < 3; i++) {
		char copy[400];
		snprintf(copy, sizeof copy, "%s/%s", dir, names[i]);
		ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", copy), 0);
		ck_assert_int_eq(field("prescriptions"), i + 1);
	}
	/* Off-site: each copy as it was verified. */
	names_in(offsite, list, sizeof list);
	snprintf(want, sizeof want, "%s %s %s ", names[0], names[1], names[2]);
	ck_assert_str_eq(list, want);
	char far[400];
	snprintf(far, sizeof far, "%s/%s", offsite, names[0]);
	ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", far), 0);
	ck_assert(!holds_pseudonym_key(dir) && !holds_pseudonym_key(offsite));
	world_down(&w);
}
END_TEST

START_TEST(rotation_refuses_a_bad_copy)
{
	world_t w;
	char id[RX_ID_LEN + 1], dir[300], fake[300], list[2048];
	world_up(&w);
	submit(&w, id);
	char scratch[TU_PATH_MAX];
	tu_subdir(scratch);
	snprintf(dir, sizeof dir, "%s/backups", scratch);
	/* A stand-in rxctl that damages the copy rxctl backup just made. */
	snprintf(fake, sizeof fake, "%s/rxctl-damaging", scratch);
	FILE *f = fopen(fake, "w");
	ck_assert_ptr_nonnull(f);
	fputs("#!/bin/sh\n"
	      "\"$REAL_RXCTL\" \"$@\" || exit $?\n"
	      "case \" $* \" in *\" --verify \"*) exit 0 ;; esac\n"
	      "for a; do last=$a; done\n"
	      "case $FAKE_DAMAGE in\n"
	      "broker) rm -f \"$last/broker.key\" ;;\n"
	      "pseudonym) echo not-a-key > \"$last/pseudonym.key\" ;;\n"
	      "esac\n",
	      f);
	fclose(f);
	ck_assert_int_eq(chmod(fake, 0700), 0);

	run_t r = {.data = w.h.dir, .dir = dir, .rxctl = fake, .damage = "broker"};
	ck_assert_int_eq(rx_backup(&r), 1);
	ck_assert_msg(strstr(out, "does not verify, so it was removed") && strstr(out, "broker.key is missing"),
		      "%s", out);
	names_in(dir, list, sizeof list);
	ck_assert_str_eq(list, "");

	r.damage = "pseudonym";
	ck_assert_int_eq(rx_backup(&r), 1);
	ck_assert_msg(strstr(out, "holds pseudonym.key"), "%s", out);
	names_in(dir, list, sizeof list);
	ck_assert_str_eq(list, "");

	/* Settings it refuses. */
	run_t zero = {.data = w.h.dir, .dir = dir, .keep = "0"};
	ck_assert_int_eq(rx_backup(&zero), 1);
	ck_assert_msg(strstr(out, "RX_BACKUP_KEEP"), "%s", out);
	char inside[300];
	snprintf(inside, sizeof inside, "%s/backups", w.h.dir);
	run_t within = {.data = w.h.dir, .dir = inside};
	ck_assert_int_eq(rx_backup(&within), 1);
	ck_assert_msg(strstr(out, "inside the data dir"), "%s", out);

	/* A failed push fails the run and keeps the verified copy. */
	run_t nopush = {.data = w.h.dir, .dir = dir, .push = "exit 3"};
	ck_assert_int_eq(rx_backup(&nopush), 1);
	ck_assert_msg(strstr(out, "off-site push failed"), "%s", out);
	char name[64], copy[400];
	copy_named(dir, name);
	snprintf(copy, sizeof copy, "%s/%s", dir, name);
	ck_assert_int_eq(rxctl(&w.h, "backup --verify %s", copy), 0);
	world_down(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backup");
	TCase *tc = tcase_create("backup");
	tcase_set_timeout(tc, 120);
	/* Copies and backup dirs in a scratch dir removed even when a test fails. */
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, verify_reports_what_a_copy_holds);
	tcase_add_test(tc, verify_refuses_a_damaged_copy);
	tcase_add_test(tc, rotation_keeps_the_newest_verified_copies);
	tcase_add_test(tc, rotation_refuses_a_bad_copy);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
