/* boot: rxd from its command line to ready to serve (see boot.h). */
#include "boot.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "keys.h"
#include "log.h"
#include "rx.pb-c.h"

/* A file in the data dir: the dir, a slash and a short name. */
#define PATH_CAP (sizeof ((rxd_config_t *)0)->data + 32)

static void usage(FILE *f)
{
	fprintf(f, "usage: rxd [--config FILE] [--data DIR] [--listen ENDPOINT] [--map-size MIB] [--metrics EP]\n"
		   "           [--verify-threads N] [--pseudonym-key FILE] [--replace-lost-key NAME]\n"
		   "  --config FILE      read settings from FILE first: `key = value` lines with\n"
		   "                     keys data, listen, map_size_mib, metrics, verify_threads,\n"
		   "                     pseudonym_key, amend_days; # starts a comment line\n"
		   "  --data DIR         data directory (default ./var/rx), created mode 0700\n"
		   "  --pseudonym-key FILE  the pseudonym key, outside the data dir (default\n"
		   "                     DIR-keys/pseudonym.key; its directory created mode 0700)\n"
		   "  --amend-days N     a dispense may be amended or withdrawn until the end of\n"
		   "                     the Nth Japan day after its own, 1..7 (default 1)\n"
		   "  --replace-lost-key pseudonym.key|broker.curve\n"
		   "                     make a new key for one whose file is lost and has no copy\n"
		   "                     anywhere (audited); never data.key or broker.key\n"
		   "  --listen ENDPOINT  client endpoint (default tcp://127.0.0.1:5570)\n"
		   "  --map-size MIB     LMDB map size in MiB (default 1024)\n"
		   "  --metrics EP       serve Prometheus metrics over plain HTTP, without\n"
		   "                     authentication, at EP: PORT or :PORT listen on 127.0.0.1\n"
		   "                     only; HOST:PORT (or tcp://HOST:PORT) on HOST, which for\n"
		   "                     any but a loopback address is a deliberate exposure\n"
		   "  --verify-threads N threads checking signatures, and as many signing receipts\n"
		   "                     (default one per core; 0: none, the store thread does both)\n"
		   "A flag overrides the same setting in FILE.  The admin socket is\n"
		   "ipc://DIR/admin.sock; the bound endpoint is written to DIR/rxd.endpoint.\n"
		   "Exit status 3: a key file is missing or does not match the store (the message\n"
		   "names the file and how to restore it); 1: any other failure to start.\n");
}

/* See boot.h.  Flags are only noted while parsing and applied after the
 * config file, so that a flag wins wherever it stands on the command line. */
int boot_flags(rxd_t *r, int argc, char **argv)
{
	/* A flag that sets a config key: the flag's name, the key, the value. */
	struct {
		const char *flag, *key, *value;
	} set[] = {
		{"--data", "data", NULL},
		{"--listen", "listen", NULL},
		{"--verify-threads", "verify_threads", NULL},
		{"--metrics", "metrics", NULL},
		{"--map-size", "map_size_mib", NULL},
		{"--pseudonym-key", "pseudonym_key", NULL},
		{"--amend-days", "amend_days", NULL},
	};
	enum { S_DATA, S_LISTEN, S_VERIFY, S_METRICS, S_MAP, S_PSEUDONYM, S_AMEND, S_N };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"data", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"map-size", required_argument, NULL, 'm'},
		{"metrics", required_argument, NULL, 'M'},
		{"verify-threads", required_argument, NULL, 'V'},
		{"pseudonym-key", required_argument, NULL, 'P'},
		{"replace-lost-key", required_argument, NULL, 'R'},
		{"amend-days", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char why[2048];
	int c;
	while ((c = getopt_long(argc, argv, "c:d:l:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			r->config_path = optarg;
			break;
		case 'd':
			set[S_DATA].value = optarg;
			break;
		case 'l':
			set[S_LISTEN].value = optarg;
			break;
		case 'm':
			set[S_MAP].value = optarg;
			break;
		case 'M':
			set[S_METRICS].value = optarg;
			break;
		case 'V':
			set[S_VERIFY].value = optarg;
			break;
		case 'P':
			set[S_PSEUDONYM].value = optarg;
			break;
		case 'R':
			r->replace = optarg;
			break;
		case 'A':
			set[S_AMEND].value = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (r->replace && !keys_replaceable(r->replace, why, sizeof why)) {
		fprintf(stderr, "rxd: %s\n", why);
		return 1;
	}
	config_defaults(&r->cfg);
	if (r->config_path && config_load(r->config_path, &r->cfg, why, sizeof why) != RX_OK) {
		fprintf(stderr, "rxd: %s\n", why);
		return 1;
	}
	for (int i = 0; i < S_N; i++)
		if (set[i].value && config_set(&r->cfg, set[i].key, set[i].value, why, sizeof why) != RX_OK) {
			fprintf(stderr, "rxd: %s %s\n", set[i].flag, why);
			return 1;
		}
	if (r->cfg.pseudonym_key[0] == '\0' &&
	    rx_pseudonym_key_default(r->cfg.data, r->cfg.pseudonym_key, sizeof r->cfg.pseudonym_key) !=
		    RX_OK) {
		fprintf(stderr, "rxd: data dir %s has no sibling for the pseudonym key: give "
				"--pseudonym-key FILE\n", r->cfg.data);
		return 1;
	}
	return 0;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *dir)
{
	char buf[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* See boot.h. */
int boot_data_dir(rxd_t *r)
{
	const char *dir = r->cfg.data;
	char path[PATH_CAP];
	struct stat st;

	/* Everything rxd creates (LMDB files, keys, the admin socket) is private. */
	umask(077);
	if (rx_crypto_init() != RX_OK) {
		fprintf(stderr, "rxd: libsodium failed to initialise\n");
		return 1;
	}
	if (make_dirs(dir) != 0) {
		fprintf(stderr, "rxd: cannot create data dir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	/* The data dir holds the keys and the only copy of every prescription:
	 * refuse to run if anyone but its owner can look inside. */
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 077)) {
		fprintf(stderr, "rxd: data dir %s must be a directory only its owner can read "
				"(chmod 700 %s)\n", dir, dir);
		return 1;
	}
	snprintf(path, sizeof path, "%s/rxd.lock", dir);
	r->lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (r->lock < 0 || flock(r->lock, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "rxd: another rxd is using %s (or it cannot be locked)\n", dir);
		return 1;
	}
	if (ftruncate(r->lock, 0) == 0)
		dprintf(r->lock, "%d\n", (int)getpid());
	return 0;
}

/* The keys against what the store recorded of them (store_key_checks),
 * and what they sealed and signed (store_keys_probe): a store from before
 * check values would otherwise record whatever keys it met first. */
static int check_keys(rxd_t *r, const keys_t *keys, int have_store)
{
	const char *dir = r->cfg.data;
	store_key_check_t checks[KEYS_COUNT];
	char why[2048], note[1024], recorded[128] = "";
	const char *replaced = NULL;
	int probe = 0;

	keys_checks(keys, checks);
	rx_err_t err = store_keys_probe(r->store, keys->broker.pk, &probe);
	if (err == RX_CONFLICT) {
		const char *name = probe == STORE_PROBE_DATA_KEY ? "data.key" : "broker.key";
		for (int i = 0; i < KEYS_COUNT; i++)
			checks[i].outcome = strcmp(checks[i].name, name) == 0 ? STORE_KEY_MISMATCHED : 0;
	}
	if (err == RX_OK)
		err = store_key_checks(r->store, checks, KEYS_COUNT);
	for (int i = 0; i < KEYS_COUNT; i++) {
		if (err == RX_CONFLICT && checks[i].outcome == STORE_KEY_MISMATCHED) {
			keys_mismatch(dir, r->cfg.pseudonym_key, checks[i].name, why, sizeof why);
			fprintf(stderr, "rxd: %s\n", why);
		}
		if (err == RX_OK && checks[i].outcome == STORE_KEY_REPLACED)
			replaced = checks[i].name;
		if (err == RX_OK && checks[i].outcome == STORE_KEY_RECORDED)
			snprintf(recorded + strlen(recorded), sizeof recorded - strlen(recorded), "%s%s",
				 recorded[0] ? "," : "", checks[i].name);
	}
	if (err != RX_OK) {
		if (err != RX_CONFLICT)
			fprintf(stderr, "rxd: cannot read or record the key check values in %s: LMDB error\n", dir);
		return err == RX_CONFLICT ? EXIT_KEYS : 1;
	}
	/* A store from before key checks learns them from the keys it runs
	 * with now: the operator should know that this start vouched for them. */
	if (recorded[0])
		log_line("event=key_checks_recorded keys=%s why=\"%s\"", recorded,
			 have_store ? "store from before key checks: recorded from the key files present now"
				    : "new store");
	/* The operator chose a new key for a lost one: say so where auditors look. */
	if (replaced) {
		snprintf(note, sizeof note, "%s was lost; a new one was made (rxd --replace-lost-key)",
			 replaced);
		log_line("event=key_replaced key=%s", replaced);
		if (store_audit_operator(r->store, now_sec(), "KEY_REPLACED", NULL, NULL, note) != RX_OK)
			log_line("event=audit_failed action=KEY_REPLACED");
	}
	return 0;
}

/* See boot.h.  Keys are made only with a new store: once data.mdb exists, a
 * missing key file or one that is not the store's stops rxd (EXIT_KEYS),
 * since a new key would silently strand what the old one sealed, signed or
 * derived. */
int boot_keys_and_store(rxd_t *r)
{
	const char *dir = r->cfg.data;
	char path[PATH_CAP], why[2048], note[1024];
	keys_t keys;
	int status;

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	int have_store = access(path, F_OK) == 0;
	rx_err_t err = keys_place_pseudonym(dir, r->cfg.pseudonym_key, note, sizeof note, why, sizeof why);
	if (err != RX_OK) {
		fprintf(stderr, "rxd: %s\n", why);
		return err == RX_CONFLICT ? EXIT_KEYS : 1;
	}
	if (note[0])
		log_line("event=pseudonym_key_moved note=\"%s\"", note);
	if ((err = keys_load(dir, r->cfg.pseudonym_key, have_store, r->replace, &keys, why, sizeof why)) !=
	    RX_OK) {
		fprintf(stderr, "rxd: %s\n", why);
		return err == RX_NOT_FOUND || err == RX_INVALID ? EXIT_KEYS : 1;
	}
	store_options_t so = {.map_size = r->cfg.map_size_mib << 20, .data_key = keys.data.sk,
			      .amend_days = r->cfg.amend_days};
	if ((err = store_open(&r->store, dir, &so)) != RX_OK) {
		keys_wipe(&keys);
		fprintf(stderr, "rxd: cannot open the store in %s: %s\n", dir,
			err == RX_INVALID ? "unknown data format" : "LMDB error");
		return 1;
	}
	if ((status = check_keys(r, &keys, have_store)) != 0) {
		keys_wipe(&keys);
		store_close(&r->store);
		return status;
	}
	r->key = keys.broker;
	r->curve = keys.curve;
	keys_wipe(&keys);

	/* Institutions' clients need the CurveZMQ public key: it is written to
	 * broker.curve.pub and shown by rxctl. */
	rx_z85_encode(r->curve.pk, r->curve_pub);
	snprintf(path, sizeof path, "%s/broker.curve.pub", dir);
	FILE *pf = fopen(path, "w");
	if (pf == NULL || fprintf(pf, "%s\n", r->curve_pub) < 0 || fclose(pf) != 0) {
		fprintf(stderr, "rxd: cannot write %s\n", path);
		return 1;
	}
	return 0;
}

/* See boot.h. */
int boot_sockets(rxd_t *r)
{
	const char *dir = r->cfg.data;
	char path[PATH_CAP];

	r->ctx = zmq_ctx_new();
	/* Two I/O threads: CurveZMQ handshakes of new connections (a connect
	 * flood) must not starve the encryption of established ones. */
	zmq_ctx_set(r->ctx, ZMQ_IO_THREADS, 2);
	/* The ZAP handler is bound before any other socket, so no connection
	 * is ever admitted without it. */
	r->zap = zmq_socket(r->ctx, ZMQ_REP);
	if (zmq_bind(r->zap, "inproc://zeromq.zap.01") != 0) {
		fprintf(stderr, "rxd: cannot start the ZAP handler: %s\n", zmq_strerror(zmq_errno()));
		return 1;
	}
	void *front = r->front = zmq_socket(r->ctx, ZMQ_ROUTER);
	void *admin = r->admin = zmq_socket(r->ctx, ZMQ_ROUTER);
	int one = 1;
	zmq_setsockopt(front, ZMQ_CURVE_SERVER, &one, sizeof one);
	zmq_setsockopt(front, ZMQ_CURVE_SECRETKEY, r->curve.sk, 32);
	zmq_setsockopt(front, ZMQ_ZAP_DOMAIN, "rx", 2);
	sodium_memzero(&r->curve, sizeof r->curve);
	/* Cap sizes before anything is unpacked; a bigger frame drops the peer. */
	int64_t maxmsg = 2 * RX_MAX_FRAME;
	int linger = 1000;
	zmq_setsockopt(front, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
	zmq_setsockopt(admin, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
	zmq_setsockopt(front, ZMQ_LINGER, &linger, sizeof linger);
	/* Per connection, at most this many requests wait in ZeroMQ's queue
	 * while rxd is not reading (INFLIGHT_MAX); a pipelining client's window
	 * (rx-bench: 16) fits. */
	int hwm = 64;
	zmq_setsockopt(front, ZMQ_RCVHWM, &hwm, sizeof hwm);
	/* A reply or notice to a gone connection fails instead of vanishing,
	 * and heartbeats find connections that went silent without closing. */
	int ivl = 10000, ttl = 30000;
	zmq_setsockopt(front, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
	zmq_setsockopt(front, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
	zmq_setsockopt(front, ZMQ_HEARTBEAT_TIMEOUT, &ttl, sizeof ttl);
	zmq_setsockopt(admin, ZMQ_LINGER, &linger, sizeof linger);
	if (zmq_bind(front, r->cfg.listen) != 0) {
		fprintf(stderr, "rxd: cannot listen on %s: %s\n", r->cfg.listen, zmq_strerror(zmq_errno()));
		return 1;
	}
	snprintf(path, sizeof path, "%s/admin.sock", dir);
	unlink(path); /* a stale socket from a killed rxd; the lock says none runs */
	snprintf(r->admin_ep, sizeof r->admin_ep, "ipc://%s", path);
	if (zmq_bind(admin, r->admin_ep) != 0 || chmod(path, 0600) != 0) {
		fprintf(stderr, "rxd: cannot bind the admin socket %s: %s\n", r->admin_ep,
			zmq_strerror(zmq_errno()));
		return 1;
	}
	size_t blen = sizeof r->bound;
	zmq_getsockopt(front, ZMQ_LAST_ENDPOINT, r->bound, &blen);
	snprintf(path, sizeof path, "%s/rxd.endpoint", dir);
	FILE *ef = fopen(path, "w");
	if (ef) {
		fprintf(ef, "%s\n", r->bound);
		fclose(ef);
	}
	if (r->cfg.metrics[0]) {
		r->metrics = zmq_socket(r->ctx, ZMQ_STREAM);
		if (r->metrics == NULL || zmq_bind(r->metrics, r->cfg.metrics) != 0) {
			fprintf(stderr, "rxd: cannot serve metrics on %s: %s\n", r->cfg.metrics,
				zmq_strerror(zmq_errno()));
			return 1;
		}
	}
	return 0;
}

/* See boot.h. */
void boot_shutdown(rxd_t *r)
{
	char path[PATH_CAP];
	if (r->metrics)
		zmq_close(r->metrics);
	zmq_close(r->front);
	zmq_close(r->admin);
	zmq_close(r->zap);
	zmq_ctx_term(r->ctx);
	store_close(&r->store);
	snprintf(path, sizeof path, "%s/rxd.endpoint", r->cfg.data);
	unlink(path);
	snprintf(path, sizeof path, "%s/admin.sock", r->cfg.data);
	unlink(path);
	sodium_memzero(&r->key, sizeof r->key);
	close(r->lock);
}
