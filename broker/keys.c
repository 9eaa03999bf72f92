/* keys: rxd's key files and their check against the store (see keys.h). */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	if (len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* One table: each key file, what losing it costs, where its copy is. */
static const struct {
	const char *name;
	const char *why;
} key_files[KEYS_COUNT] = {
	{"data.key", "every stored prescription, dispense record and stored reply is sealed with it: "
		     "under a new key they would all read as UNAVAILABLE"},
	{"broker.key", "receipts, notices and the audit head are signed with it: a new key would be "
		       "another broker to every clinic, pharmacy and auditor"},
	{"broker.curve", "every clinic and pharmacy pins its public half (broker.curve.pub): a new key "
			 "would lock them all out"},
	{"pseudonym.key", "patient ids are derived with it: a new key would give every patient a new id, "
			  "and new enrolments would not match the old ones"},
};

enum { K_DATA, K_BROKER, K_CURVE, K_PSEUDONYM };

static void key_path(const char *data_dir, const char *pseudonym_path, int i, char *out, size_t cap)
{
	if (i == K_PSEUDONYM)
		snprintf(out, cap, "%s", pseudonym_path);
	else
		snprintf(out, cap, "%s/%s", data_dir, key_files[i].name);
}

/* How to put key i back, as the operator will do it. */
static void restore_steps(int i, const char *path, char *buf, size_t len)
{
	if (i == K_PSEUDONYM)
		say(buf, len,
		    "Restore it: copy pseudonym.key from your offline copy of it (or from a backup made "
		    "with `rxctl backup --with-pseudonym-key`) to %s, `chmod 600` it, owned by rxd's user "
		    "in a directory of mode 0700, then start rxd again. Only if no copy exists anywhere: "
		    "`rxd --replace-lost-key pseudonym.key` makes a new one, and patients enrolled from "
		    "then on get ids that do not match their earlier ones.", path);
	else if (i == K_CURVE)
		say(buf, len,
		    "Restore it: copy broker.curve from your latest backup (the directory `rxctl backup "
		    "DEST` wrote) or from your offline copy to %s, `chmod 600` it, owned by rxd's user, "
		    "then start rxd again. Only if no copy exists anywhere: `rxd --replace-lost-key "
		    "broker.curve` makes a new one, and every clinic and pharmacy needs the new "
		    "broker.curve.pub.", path);
	else
		say(buf, len,
		    "Restore it: copy %s from your latest backup (the directory `rxctl backup DEST` wrote: "
		    "the key files lie beside its data.mdb) or from your offline copy to %s, `chmod 600` "
		    "it, owned by rxd's user, then start rxd again.", key_files[i].name, path);
}

static int index_of(const char *name)
{
	for (int i = 0; i < KEYS_COUNT; i++)
		if (strcmp(name, key_files[i].name) == 0)
			return i;
	return -1;
}

/* fsync a directory, so that a rename or an unlink in it survives a crash. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* realpath of dir, which may not exist yet (then its parent's, plus its
 * name).  0 on success. */
static int resolve(const char *dir, char out[PATH_MAX])
{
	char parent[PATH_MAX];
	if (realpath(dir, out) != NULL)
		return 0;
	if (errno != ENOENT || strlen(dir) >= sizeof parent)
		return -1;
	strcpy(parent, dir);
	char *slash = strrchr(parent, '/');
	const char *name = slash ? slash + 1 : parent;
	if (slash == parent)
		strcpy(parent, "/");
	else if (slash)
		*slash = '\0';
	else
		strcpy(parent, ".");
	char real[PATH_MAX];
	if (realpath(parent, real) == NULL)
		return -1;
	name = dir + (name - parent);
	if (snprintf(out, PATH_MAX, "%s/%s", real, name) >= PATH_MAX)
		return -1;
	return 0;
}

rx_err_t keys_place_pseudonym(const char *data_dir, const char *path, char *note, size_t notelen,
			      char *why, size_t whylen)
{
	char dir[PATH_MAX], real_dir[PATH_MAX], real_data[PATH_MAX], legacy[PATH_MAX + 32];
	struct stat st;
	say(note, notelen, "%s", "");
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= sizeof dir || (slash && slash[1] == '\0')) {
		say(why, whylen, "pseudonym key path %s must name a file", path);
		return RX_INVALID;
	}
	if (slash == NULL)
		strcpy(dir, ".");
	else if (n == 0)
		strcpy(dir, "/");
	else {
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	/* Inside the data dir?  Asked before anything is made there. */
	if (resolve(dir, real_dir) != 0 || realpath(data_dir, real_data) == NULL) {
		say(why, whylen, "cannot resolve %s or %s: %s", dir, data_dir, strerror(errno));
		return RX_SYSTEM;
	}
	size_t dn = strlen(real_data);
	if (strncmp(real_dir, real_data, dn) == 0 &&
	    (real_dir[dn] == '\0' || real_dir[dn] == '/' || strcmp(real_data, "/") == 0)) {
		say(why, whylen, "the pseudonym key %s must live outside the data dir %s, so that no "
				 "backup or copy of the data dir carries it (see README, backup and restore)",
		    path, data_dir);
		return RX_INVALID;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		say(why, whylen, "cannot create the pseudonym key's directory %s: %s", dir, strerror(errno));
		return RX_SYSTEM;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 077)) {
		say(why, whylen, "the pseudonym key's directory %s must be a directory only its owner can "
				 "enter (chmod 700 %s)", dir, dir);
		return RX_PERMISSION_DENIED;
	}

	/* An rxd from before this rule kept the key in the data dir.  Moving
	 * it is what the operator would do by hand; doing it here keeps the
	 * broker up at 3 a.m. and the log says what happened. */
	snprintf(legacy, sizeof legacy, "%s/pseudonym.key", data_dir);
	rx_keypair_t old, cur;
	rx_err_t err = rx_key_load(legacy, &old);
	if (err == RX_NOT_FOUND)
		return RX_OK;
	if (err != RX_OK) {
		say(why, whylen, "cannot read %s, left in the data dir by an earlier rxd (%s): it must be "
				 "mode 0600; rxd moves it to %s", legacy, rx_err_name(err), path);
		return err;
	}
	err = rx_key_load(path, &cur);
	if (err == RX_NOT_FOUND) {
		err = rx_key_write(path, &old);
		if (err != RX_OK) {
			say(why, whylen, "cannot move %s to %s: %s", legacy, path, strerror(errno));
			goto out;
		}
		say(note, notelen, "moved %s to %s (backups made before hold a copy: keep them as safe "
				   "as the key, or destroy their pseudonym.key)", legacy, path);
	} else if (err == RX_OK && sodium_memcmp(cur.pk, old.pk, RX_KEY_LEN) == 0) {
		say(note, notelen, "removed %s: %s holds the same key", legacy, path);
	} else if (err == RX_OK) {
		say(why, whylen,
		    "%s (left in the data dir by an earlier rxd) and %s hold different pseudonym keys; "
		    "only one is the store's. Move %s out of the way (mv %s %s.other) and start rxd: it "
		    "moves the old one in and checks it against the store. If it refuses that one, "
		    "the other was right: put %s.other back", legacy, path, path, path, path, path);
		err = RX_CONFLICT;
		goto out;
	} else {
		say(why, whylen, "cannot read %s (%s): it must be mode 0600", path, rx_err_name(err));
		goto out;
	}
	if (unlink(legacy) != 0 || sync_dir(data_dir) != 0) {
		say(why, whylen, "cannot remove %s after copying it to %s: %s", legacy, path,
		    strerror(errno));
		err = RX_SYSTEM;
		goto out;
	}
	err = RX_OK;
out:
	sodium_memzero(&old, sizeof old);
	sodium_memzero(&cur, sizeof cur);
	return err;
}

int keys_replaceable(const char *name, char *why, size_t whylen)
{
	int i = index_of(name);
	if (i == K_PSEUDONYM || i == K_CURVE)
		return 1;
	if (i < 0)
		say(why, whylen, "--replace-lost-key takes pseudonym.key or broker.curve, not %s", name);
	else
		say(why, whylen, "%s cannot be replaced: %s. Restore it from a backup; without one, the "
				 "store cannot be used", name, key_files[i].why);
	return 0;
}

rx_err_t keys_load(const char *data_dir, const char *pseudonym_path, int have_store,
		   const char *replace, keys_t *k, char *why, size_t whylen)
{
	char path[PATH_MAX + 32], steps[1024];
	rx_err_t err = RX_OK;
	memset(k, 0, sizeof *k);
	for (int i = 0; i < KEYS_COUNT && err == RX_OK; i++) {
		key_path(data_dir, pseudonym_path, i, path, sizeof path);
		rx_keypair_t *kp = i == K_DATA ? &k->data : i == K_BROKER ? &k->broker : &k->pseudonym;
		int replacing = replace && strcmp(replace, key_files[i].name) == 0;
		/* Loaded first: only a key whose file is gone is made anew. */
		int create = !have_store && !replacing;
		if (i == K_CURVE)
			err = create ? rx_curve_load_or_create(path, &k->curve) : rx_curve_load(path, &k->curve);
		else
			err = create ? rx_key_load_or_create(path, kp) : rx_key_load(path, kp);
		if (replacing && err == RX_OK) {
			say(why, whylen, "--replace-lost-key %s: %s is there, so it is not lost. The flag only "
					 "makes a key whose file is gone; move the file away first if you mean "
					 "to replace it", key_files[i].name, path);
			err = RX_CONFLICT;
			break;
		}
		if (replacing && err == RX_NOT_FOUND) {
			err = i == K_CURVE ? rx_curve_create(path, &k->curve) : rx_key_create(path, kp);
			k->replaced = key_files[i].name;
		}
		if (err == RX_OK)
			continue;
		restore_steps(i, path, steps, sizeof steps);
		if (err == RX_NOT_FOUND)
			say(why, whylen, "%s is missing, and %s/data.mdb holds a store written with it. rxd "
					 "will not make a new key: %s. %s", path, data_dir, key_files[i].why, steps);
		else if (err == RX_PERMISSION_DENIED)
			say(why, whylen, "%s may be read by others: it must be mode 0600 (chmod 600 %s)", path,
			    path);
		else if (err == RX_INVALID)
			say(why, whylen, "%s is not a key file (damaged?). %s", path, steps);
		else
			say(why, whylen, "cannot read or create %s: %s", path, strerror(errno));
	}
	if (err != RX_OK)
		keys_wipe(k);
	return err;
}

/* Key i's check value, as the store keeps it. */
static void check_value(const keys_t *k, int i, store_key_check_t *out)
{
	out->name = key_files[i].name;
	out->replace = k->replaced && strcmp(k->replaced, out->name) == 0;
	out->outcome = 0;
	if (i == K_DATA)
		rx_key_check_value(k->data.sk, key_files[K_DATA].name, out->value);
	else if (i == K_PSEUDONYM)
		rx_key_check_value(k->pseudonym.sk, key_files[K_PSEUDONYM].name, out->value);
	else if (i == K_BROKER)
		memcpy(out->value, k->broker.pk, RX_KEY_LEN);
	else
		memcpy(out->value, k->curve.pk, 32);
}

void keys_checks(const keys_t *k, store_key_check_t out[KEYS_COUNT])
{
	for (int i = 0; i < KEYS_COUNT; i++)
		check_value(k, i, &out[i]);
}

rx_err_t keys_load_copy(const char *dir, keys_t *k, store_key_check_t out[KEYS_COPY_COUNT], char *why,
			size_t whylen)
{
	static const int held[KEYS_COPY_COUNT] = {K_DATA, K_BROKER, K_CURVE};
	char path[PATH_MAX + 32];
	rx_err_t err = RX_OK;
	memset(k, 0, sizeof *k);
	for (int j = 0; j < KEYS_COPY_COUNT && err == RX_OK; j++) {
		int i = held[j];
		key_path(dir, "", i, path, sizeof path); /* never the pseudonym key */
		err = i == K_CURVE ? rx_curve_load(path, &k->curve)
				   : rx_key_load(path, i == K_DATA ? &k->data : &k->broker);
		if (err == RX_NOT_FOUND)
			say(why, whylen, "%s is missing: a backup holds it beside its data.mdb, and %s. "
					 "Without it the copy cannot be restored (rxd would refuse to start, "
					 "exit 3): take a new backup", path, key_files[i].why);
		else if (err == RX_PERMISSION_DENIED)
			say(why, whylen, "%s may be read by others: it must be mode 0600 (chmod 600 %s)", path,
			    path);
		else if (err == RX_INVALID)
			say(why, whylen, "%s is not a key file (damaged?): take a new backup", path);
		else if (err != RX_OK)
			say(why, whylen, "cannot read %s: %s", path, strerror(errno));
	}
	if (err != RX_OK) {
		keys_wipe(k);
		return err;
	}
	for (int j = 0; j < KEYS_COPY_COUNT; j++)
		check_value(k, held[j], &out[j]);
	return RX_OK;
}

void keys_mismatch(const char *data_dir, const char *pseudonym_path, const char *name, char *why,
		   size_t whylen)
{
	char path[PATH_MAX + 32], steps[1024];
	int i = index_of(name);
	if (i < 0) {
		say(why, whylen, "%s does not match the store in %s", name, data_dir);
		return;
	}
	key_path(data_dir, pseudonym_path, i, path, sizeof path);
	restore_steps(i, path, steps, sizeof steps);
	say(why, whylen, "%s is not the key the store in %s was written with (its check value in the "
			 "store, or what it sealed or signed there, says so). rxd will not run with "
			 "another key: %s. %s",
	    path, data_dir, key_files[i].why, steps);
}

void keys_wipe(keys_t *k)
{
	sodium_memzero(k, sizeof *k);
}
