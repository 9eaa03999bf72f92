/* rxctl backup --verify DEST: is a backup's copy sound, without rxd?
 *
 * The copy is checked as rxd would find it after a restore, with the
 * store's and the key module's own code, never a second verifier: the key
 * files beside data.mdb (keys_load_copy), the store opened read-only
 * (store_open with read_only: nothing in DEST is written, no lock.mdb is
 * made), the keys against the check values the store keeps of them
 * (store_key_checks) and against what they sealed and signed
 * (store_keys_probe), the whole audit chain and its signed head
 * (store_audit_verify, what `rxctl audit verify` runs inside rxd), and the
 * counts (store_stats).  Nothing it prints holds a key, a patient id or a
 * prescription body. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keys.h"
#include "rxctl.h"
#include "store.h"

/* A copy that is not sound: status (BROKEN for the audit chain, else a
 * code) and why, exit 2; 1 when it could not be checked (RX_SYSTEM). */
static int unsound(const rxctl_t *c, const char *dest, const char *status, rx_err_t code,
		   uint64_t first_bad, const char *why)
{
	if (c->json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "status", status, "message", why, "backup", dest);
		if (first_bad)
			json_object_set_new(o, "first_bad", json_integer((json_int_t)first_bad));
		char *d = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
		puts(d ? d : "{}");
		free(d);
		json_decref(o);
	} else {
		fprintf(stderr, "rxctl: %s: %s\n", status, why);
	}
	return code == RX_SYSTEM ? 1 : 2;
}

#define FAIL(code, ...)                                                                 \
	do {                                                                            \
		snprintf(why, sizeof why, __VA_ARGS__);                                 \
		code_ = unsound(c, dest, rx_err_name(code), (code), 0, why);             \
		goto out;                                                               \
	} while (0)

/* Is an rxd serving dest?  It holds rxd.lock exclusively while it runs. */
static int served_by_rxd(const char *dest)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/rxd.lock", dest);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

int rxctl_backup_verify(const rxctl_t *c, const char *dest)
{
	char path[4200], why[10000], written[32], signed_at[32] = "never", last_at[32] = "none";
	keys_t keys;
	store_key_check_t checks[KEYS_COPY_COUNT];
	store_t *s = NULL;
	struct stat st;
	int code_ = 0;

	memset(&keys, 0, sizeof keys);
	if (c->with_pseudonym_key)
		return rxctl_failf(c, RX_INVALID, "--verify reads a copy; --with-pseudonym-key is for taking one");
	if (stat(dest, &st) != 0 || !S_ISDIR(st.st_mode))
		FAIL(RX_NOT_FOUND, "%s is not a directory: no backup there", dest);
	snprintf(path, sizeof path, "%s/data.mdb", dest);
	if (stat(path, &st) != 0)
		FAIL(RX_NOT_FOUND, "%s holds no data.mdb: not a backup (or an unfinished one)", dest);
	if (served_by_rxd(dest))
		FAIL(RX_CONFLICT, "an rxd is serving %s: that is a live data dir, not a copy; check its "
				  "chain with `rxctl --data %s audit verify`", dest, dest);
	/* When the copy was written (LMDB's compacting copy writes data.mdb once). */
	int64_t now = (int64_t)time(NULL), at = (int64_t)st.st_mtime;
	cli_time(at, written);

	rx_err_t err = keys_load_copy(dest, &keys, checks, why, sizeof why);
	if (err != RX_OK) {
		code_ = unsound(c, dest, rx_err_name(err), err, 0, why);
		goto out;
	}
	store_options_t so = {.data_key = keys.data.sk, .read_only = 1};
	if ((err = store_open(&s, dest, &so)) != RX_OK) {
		if (err == RX_INVALID)
			FAIL(RX_INVALID, "%s is not an rx-exchange store: LMDB rejects it, or it lacks the "
					 "store's databases or has a format this rxctl does not know", path);
		FAIL(err, "cannot open the store in %s (read-only): %s", path, rx_strerror(err));
	}

	/* The keys against the check values the store keeps of them. */
	int broker_recorded = 0;
	err = store_key_checks(s, checks, KEYS_COPY_COUNT);
	if (err != RX_OK && err != RX_CONFLICT)
		FAIL(RX_SYSTEM, "cannot read the key check values in %s", path);
	for (int i = 0; i < KEYS_COPY_COUNT; i++) {
		if (checks[i].outcome == STORE_KEY_MISMATCHED)
			FAIL(RX_CONFLICT, "%s/%s is not the key the store in this copy was written with (its "
					  "check value in the store says so): a restore would stop rxd at "
					  "start (exit 3); take a new backup",
			     dest, checks[i].name);
		if (strcmp(checks[i].name, "broker.key") == 0)
			broker_recorded = checks[i].outcome == STORE_KEY_MATCHED;
	}
	/* ... and against what they sealed and signed. */
	int which = 0;
	err = store_keys_probe(s, keys.broker.pk, &which);
	if (err != RX_OK && err != RX_CONFLICT)
		FAIL(RX_SYSTEM, "cannot read the prescriptions or the audit head in %s", path);
	if (which == STORE_PROBE_DATA_KEY)
		FAIL(RX_CONFLICT, "%s/data.key opens none of the first prescriptions in the copy: it is "
				  "not their key, or the records are damaged; take a new backup", dest);
	/* A broker.key whose check value matched did not fail to sign the head:
	 * the signed head is damaged, and the chain's walk says so below. */
	if (which == STORE_PROBE_BROKER_KEY && !broker_recorded)
		FAIL(RX_CONFLICT, "%s/broker.key did not sign the copy's audit head: it is another "
				  "broker's key; take a new backup", dest);

	store_verdict_t v;
	if (store_audit_verify(s, keys.broker.pk, &v) != RX_OK)
		FAIL(RX_SYSTEM, "cannot read the audit log in %s", path);
	if (!v.ok) {
		snprintf(why, sizeof why, "the copy's audit chain is broken at entry %llu: %s",
			 (unsigned long long)v.first_bad, v.why);
		code_ = unsound(c, dest, "BROKEN", RX_INVALID, v.first_bad, why);
		goto out;
	}

	store_stats_t stats;
	store_audit_t *last = NULL;
	size_t nlast = 0;
	if (store_stats(s, now, &stats) != RX_OK || store_audit_tail(s, 1, &last, &nlast) != RX_OK)
		FAIL(RX_SYSTEM, "cannot count what %s holds", path);
	if (nlast)
		cli_time(last[0].at, last_at);
	free(last);
	if (v.signed_seq)
		cli_time(v.signed_at, signed_at);
	snprintf(path, sizeof path, "%s/pseudonym.key", dest);
	int with_pseudonym = access(path, F_OK) == 0;
	int64_t age = now > at ? now - at : 0;

	char signed_text[160], human[5000];
	if (v.signed_seq)
		snprintf(signed_text, sizeof signed_text, "head signed at entry %llu (%s) by its broker.key",
			 (unsigned long long)v.signed_seq, signed_at);
	else
		snprintf(signed_text, sizeof signed_text,
			 "head not signed yet (copied before rxd's first minute)");
	snprintf(human, sizeof human,
		 "backup %s is sound: %llu prescriptions, %llu audit entries, chain whole to entry "
		 "%llu, %s; written %s (%lld min ago)%s\n",
		 dest, (unsigned long long)stats.prescriptions, (unsigned long long)stats.audit_entries,
		 (unsigned long long)v.checked, signed_text, written, (long long)(age / 60),
		 with_pseudonym ? "; it holds the pseudonym key: guard it as the key itself" : "");
	json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:b}", "backup", dest,
			      "sound", 1, "prescriptions", (json_int_t)stats.prescriptions, "audit_entries",
			      (json_int_t)stats.audit_entries, "head_seq", (json_int_t)v.checked, "signed_seq",
			      (json_int_t)v.signed_seq, "signed_at", signed_at, "last_entry_at", last_at,
			      "written_at", written, "age_seconds", (json_int_t)age, "bytes",
			      (json_int_t)st.st_size, "pseudonym_key", with_pseudonym);
	code_ = rxctl_finish(c, o, RX_OK, NULL, human);
out:
	store_close(&s);
	keys_wipe(&keys);
	return code_;
}
