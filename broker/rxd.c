/* rxd: the rx-exchange broker: flags, boot, loop, drain.
 *
 * Flags and the config file (config.h) give the data dir, the endpoints and
 * the thread counts; boot locks the data dir, loads the keys (keys.h), opens
 * the store and binds the sockets.  The thread running main is the store
 * thread: it alone writes to the store and answers on the sockets, in one
 * poll loop over the client endpoint (--listen, CURVE, admitted by zap.h),
 * the admin socket (ipc://DIR/admin.sock, mode 0600), the ZAP handler, the
 * verify workers' and the jobs' wake-ups and the metrics endpoint (http.h).
 * Verify threads decode client requests and check their signatures; the
 * store thread applies them in group commits and replies only after the
 * fsync (front.h).  Long operator requests (backup, audit walks) run as
 * jobs on threads of their own (jobs.h) and come back through the loop;
 * other admin requests and the minute's chores run on the store thread.
 * SIGTERM or SIGINT: stop accepting, answer what already arrived (for up to
 * two seconds), let the running jobs finish, sign the audit head, stop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "admin.h"
#include "config.h"
#include "dispatch.h"
#include "frames.h"
#include "front.h"
#include "http.h"
#include "jobs.h"
#include "keys.h"
#include "log.h"
#include "rx.pb-c.h"
#include "workers.h"
#include "zap.h"

/* rxd's exit status when a key file is missing or is not the store's: not
 * a failure a restart can cure (deploy/rxd.service does not retry it). */
#define EXIT_KEYS 3

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: rxd [--config FILE] [--data DIR] [--listen ENDPOINT] [--map-size MIB] [--metrics EP]\n"
		   "           [--verify-threads N] [--pseudonym-key FILE] [--replace-lost-key NAME]\n"
		   "  --config FILE      read settings from FILE first: `key = value` lines with\n"
		   "                     keys data, listen, map_size_mib, metrics, verify_threads,\n"
		   "                     pseudonym_key; # starts a comment line\n"
		   "  --data DIR         data directory (default ./var/rx), created mode 0700\n"
		   "  --pseudonym-key FILE  the pseudonym key, outside the data dir (default\n"
		   "                     DIR-keys/pseudonym.key; its directory created mode 0700)\n"
		   "  --replace-lost-key pseudonym.key|broker.curve\n"
		   "                     make a new key for one whose file is lost and has no copy\n"
		   "                     anywhere (audited); never data.key or broker.key\n"
		   "  --listen ENDPOINT  client endpoint (default tcp://127.0.0.1:5570)\n"
		   "  --map-size MIB     LMDB map size in MiB (default 1024)\n"
		   "  --metrics EP       serve Prometheus metrics over plain HTTP, without\n"
		   "                     authentication, at EP: PORT or :PORT listen on 127.0.0.1\n"
		   "                     only; HOST:PORT (or tcp://HOST:PORT) on HOST, which for\n"
		   "                     any but a loopback address is a deliberate exposure\n"
		   "  --verify-threads N threads checking signatures (default one per core; 0: none,\n"
		   "                     the store thread checks them itself)\n"
		   "A flag overrides the same setting in FILE.  The admin socket is\n"
		   "ipc://DIR/admin.sock; the bound endpoint is written to DIR/rxd.endpoint.\n"
		   "Exit status 3: a key file is missing or does not match the store (the message\n"
		   "names the file and how to restore it); 1: any other failure to start.\n");
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

static void log_admin(int op, rx_err_t status, long long job_ms)
{
	/* The schema names every op, those added later too. */
	const ProtobufCEnumValue *name =
		op > 0 ? protobuf_c_enum_descriptor_get_value(&rx__admin_op__descriptor, op) : NULL;
	if (job_ms >= 0)
		log_line("admin_op=%s status=%s job_ms=%lld", name ? name->name : "-", rx_err_name(status),
			 job_ms);
	else
		log_line("admin_op=%s status=%s", name ? name->name : "-", rx_err_name(status));
}

/* Send the replies of the jobs that finished (jobs.h). */
static void serve_jobs(void *sock, jobs_t *jobs)
{
	jobs_result_t r;
	while (jobs_next(jobs, now_sec(), &r)) {
		if (!r.failed && zmq_send(sock, r.identity, r.idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
			zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
			zmq_send(sock, r.reply.data, r.reply.len, ZMQ_DONTWAIT);
		}
		store_buf_free(&r.reply);
		log_admin(r.op, r.failed ? RX_UNAVAILABLE : r.status, (long long)r.ms);
	}
}

static void serve_admin(void *sock, const admin_t *a, jobs_t *jobs)
{
	zmq_msg_t parts[FRAMES_MAX];
	store_buf_t reply = {0};
	rx_err_t status = RX_INVALID;
	int op = 0;
	int n = frames_recv(sock, parts, FRAMES_MAX);
	if (n <= 0)
		return;
	/* Bad framing is answered like any bad request: an empty frame is no
	 * valid AdminRequest, so admin_request refuses it with INVALID. */
	int framed = n == 3 && zmq_msg_size(&parts[1]) == 0;
	rx_err_t err;
	if (framed && admin_is_job(zmq_msg_data(&parts[2]), zmq_msg_size(&parts[2]))) {
		/* Its reply comes back through serve_jobs. */
		if (jobs_start(jobs, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), zmq_msg_data(&parts[2]),
			       zmq_msg_size(&parts[2]), now_sec()) == RX_OK) {
			frames_close(parts, n, FRAMES_MAX);
			return;
		}
		status = RX_UNAVAILABLE;
		err = admin_refusal(status, "too many long operator requests are running; try again",
				    &reply);
	} else {
		err = admin_request(a, framed ? zmq_msg_data(&parts[2]) : NULL,
				    framed ? zmq_msg_size(&parts[2]) : 0, now_sec(), &reply, &status, &op);
	}
	if (err == RX_OK)
		frames_send_reply(sock, &parts[0], &reply);
	store_buf_free(&reply);
	frames_close(parts, n, FRAMES_MAX);
	log_admin(op, status, -1);
}

/* What rxd does every minute besides serving. */
#define PRUNE_MAX 20000
static void chores(store_t *store, const rx_keypair_t *key)
{
	int signed_now = 0;
	uint64_t expired = 0;
	if (store_audit_sign(store, key->pk, key->sk, now_sec(), &signed_now) != RX_OK)
		log_line("event=audit_sign_failed");
	if (store_expire(store, now_sec(), &expired) != RX_OK)
		log_line("event=expire_failed");
	else if (expired)
		log_line("event=expired count=%llu", (unsigned long long)expired);
	/* Stored replies past their lifetime and old card nonces: a bounded
	 * slice a minute, so a backlog never holds the loop for long. */
	uint64_t replies = 0, nonces = 0;
	if (store_prune(store, now_sec(), PRUNE_MAX, &replies, &nonces) != RX_OK)
		log_line("event=prune_failed");
	else if (replies || nonces)
		log_line("event=pruned replies=%llu nonces=%llu", (unsigned long long)replies,
			 (unsigned long long)nonces);
}

int main(int argc, char **argv)
{
	/* Flags are only noted here and applied after the config file, so that
	 * a flag wins wherever it stands on the command line. */
	const char *config_path = NULL, *flag_data = NULL, *flag_listen = NULL, *flag_map = NULL,
		   *flag_metrics = NULL, *flag_verify = NULL, *flag_pseudonym = NULL, *replace = NULL;
	rxd_config_t cfg;
	char why[2048]; /* a key refusal: the file, why, and the restore steps */
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"data", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"map-size", required_argument, NULL, 'm'},
		{"metrics", required_argument, NULL, 'M'},
		{"verify-threads", required_argument, NULL, 'V'},
		{"pseudonym-key", required_argument, NULL, 'P'},
		{"replace-lost-key", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:d:l:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'd':
			flag_data = optarg;
			break;
		case 'l':
			flag_listen = optarg;
			break;
		case 'm':
			flag_map = optarg;
			break;
		case 'M':
			flag_metrics = optarg;
			break;
		case 'V':
			flag_verify = optarg;
			break;
		case 'P':
			flag_pseudonym = optarg;
			break;
		case 'R':
			replace = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (replace && !keys_replaceable(replace, why, sizeof why)) {
		fprintf(stderr, "rxd: %s\n", why);
		return 1;
	}
	config_defaults(&cfg);
	if (config_path && config_load(config_path, &cfg, why, sizeof why) != RX_OK) {
		fprintf(stderr, "rxd: %s\n", why);
		return 1;
	}
	if (flag_data && config_set(&cfg, "data", flag_data, why, sizeof why) != RX_OK) {
		fprintf(stderr, "rxd: --data %s\n", why);
		return 1;
	}
	if (flag_listen && config_set(&cfg, "listen", flag_listen, why, sizeof why) != RX_OK) {
		fprintf(stderr, "rxd: --listen %s\n", why);
		return 1;
	}
	if (flag_verify && config_set(&cfg, "verify_threads", flag_verify, why, sizeof why) != RX_OK) {
		fprintf(stderr, "rxd: --verify-threads %s\n", why);
		return 1;
	}
	if (flag_metrics && config_set(&cfg, "metrics", flag_metrics, why, sizeof why) != RX_OK) {
		fprintf(stderr, "rxd: --metrics %s\n", why);
		return 1;
	}
	if (flag_map && config_set(&cfg, "map_size_mib", flag_map, why, sizeof why) != RX_OK) {
		fprintf(stderr, "rxd: --map-size %s\n", why);
		return 1;
	}
	if (flag_pseudonym && config_set(&cfg, "pseudonym_key", flag_pseudonym, why, sizeof why) != RX_OK) {
		fprintf(stderr, "rxd: --pseudonym-key %s\n", why);
		return 1;
	}
	const char *dir = cfg.data, *listen = cfg.listen;
	if (cfg.pseudonym_key[0] == '\0' &&
	    rx_pseudonym_key_default(dir, cfg.pseudonym_key, sizeof cfg.pseudonym_key) != RX_OK) {
		fprintf(stderr, "rxd: data dir %s has no sibling for the pseudonym key: give "
				"--pseudonym-key FILE\n", dir);
		return 1;
	}

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
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 077)) {
		fprintf(stderr, "rxd: data dir %s must be a directory only its owner can read "
				"(chmod 700 %s)\n", dir, dir);
		return 1;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/rxd.lock", dir);
	int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "rxd: another rxd is using %s (or it cannot be locked)\n", dir);
		return 1;
	}
	if (ftruncate(lock, 0) == 0)
		dprintf(lock, "%d\n", (int)getpid());

	/* Keys are made only with a new store: once data.mdb exists, a missing
	 * key file or one that is not the store's stops rxd (exit 3), since a
	 * new key would silently strand what the old one sealed, signed or
	 * derived. */
	char note[1024];
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	int have_store = access(path, F_OK) == 0;
	rx_err_t err = keys_place_pseudonym(dir, cfg.pseudonym_key, note, sizeof note, why, sizeof why);
	if (err != RX_OK) {
		fprintf(stderr, "rxd: %s\n", why);
		return err == RX_CONFLICT ? EXIT_KEYS : 1;
	}
	if (note[0])
		log_line("event=pseudonym_key_moved note=\"%s\"", note);
	keys_t keys;
	if ((err = keys_load(dir, cfg.pseudonym_key, have_store, replace, &keys, why, sizeof why)) != RX_OK) {
		fprintf(stderr, "rxd: %s\n", why);
		return err == RX_NOT_FOUND || err == RX_INVALID ? EXIT_KEYS : 1;
	}
	rx_keypair_t key = keys.broker;

	store_t *store = NULL;
	store_options_t so = {.map_size = cfg.map_size_mib << 20, .data_key = keys.data.sk};
	err = store_open(&store, dir, &so);
	if (err != RX_OK) {
		keys_wipe(&keys);
		fprintf(stderr, "rxd: cannot open the store in %s: %s\n", dir,
			err == RX_INVALID ? "unknown data format" : "LMDB error");
		return 1;
	}
	store_key_check_t checks[KEYS_COUNT];
	keys_checks(&keys, checks);
	/* What the keys sealed and signed is tried too: a store from before
	 * check values would otherwise record whatever keys it met first. */
	int probe = 0;
	err = store_keys_probe(store, keys.broker.pk, &probe);
	if (err == RX_CONFLICT) {
		const char *name = probe == STORE_PROBE_DATA_KEY ? "data.key" : "broker.key";
		for (int i = 0; i < KEYS_COUNT; i++)
			checks[i].outcome = strcmp(checks[i].name, name) == 0 ? STORE_KEY_MISMATCHED : 0;
	}
	if (err == RX_OK)
		err = store_key_checks(store, checks, KEYS_COUNT);
	char recorded[128] = "";
	const char *replaced = NULL;
	for (int i = 0; i < KEYS_COUNT; i++) {
		if (err == RX_CONFLICT && checks[i].outcome == STORE_KEY_MISMATCHED) {
			keys_mismatch(dir, cfg.pseudonym_key, checks[i].name, why, sizeof why);
			fprintf(stderr, "rxd: %s\n", why);
		}
		if (err == RX_OK && checks[i].outcome == STORE_KEY_REPLACED)
			replaced = checks[i].name;
		if (err == RX_OK && checks[i].outcome == STORE_KEY_RECORDED)
			snprintf(recorded + strlen(recorded), sizeof recorded - strlen(recorded), "%s%s",
				 recorded[0] ? "," : "", checks[i].name);
	}
	if (err != RX_OK) {
		keys_wipe(&keys);
		store_close(&store);
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
		if (store_audit_operator(store, now_sec(), "KEY_REPLACED", NULL, NULL, note) != RX_OK)
			log_line("event=audit_failed action=KEY_REPLACED");
	}

	/* The broker's CurveZMQ key pair; institutions' clients need its public
	 * half, which is also written to broker.curve.pub and shown by rxctl. */
	rx_curve_t curve = keys.curve;
	char curve_pub[RX_Z85_LEN + 1];
	keys_wipe(&keys);
	rx_z85_encode(curve.pk, curve_pub);
	snprintf(path, sizeof path, "%s/broker.curve.pub", dir);
	FILE *pf = fopen(path, "w");
	if (pf == NULL || fprintf(pf, "%s\n", curve_pub) < 0 || fclose(pf) != 0) {
		fprintf(stderr, "rxd: cannot write %s\n", path);
		return 1;
	}

	void *ctx = zmq_ctx_new();
	/* Two I/O threads: CurveZMQ handshakes of new connections (a connect
	 * flood) must not starve the encryption of established ones. */
	zmq_ctx_set(ctx, ZMQ_IO_THREADS, 2);
	/* The ZAP handler is bound before any other socket, so no connection
	 * is ever admitted without it. */
	void *zap = zmq_socket(ctx, ZMQ_REP);
	if (zmq_bind(zap, "inproc://zeromq.zap.01") != 0) {
		fprintf(stderr, "rxd: cannot start the ZAP handler: %s\n", zmq_strerror(zmq_errno()));
		return 1;
	}
	void *front = zmq_socket(ctx, ZMQ_ROUTER), *admin_sock = zmq_socket(ctx, ZMQ_ROUTER);
	int one = 1;
	zmq_setsockopt(front, ZMQ_CURVE_SERVER, &one, sizeof one);
	zmq_setsockopt(front, ZMQ_CURVE_SECRETKEY, curve.sk, 32);
	zmq_setsockopt(front, ZMQ_ZAP_DOMAIN, "rx", 2);
	sodium_memzero(&curve, sizeof curve);
	/* Cap sizes before anything is unpacked; a bigger frame drops the peer. */
	int64_t maxmsg = 2 * RX_MAX_FRAME;
	int linger = 1000;
	zmq_setsockopt(front, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
	zmq_setsockopt(admin_sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
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
	zmq_setsockopt(admin_sock, ZMQ_LINGER, &linger, sizeof linger);
	if (zmq_bind(front, listen) != 0) {
		fprintf(stderr, "rxd: cannot listen on %s: %s\n", listen, zmq_strerror(zmq_errno()));
		return 1;
	}
	char admin_ep[4200];
	snprintf(path, sizeof path, "%s/admin.sock", dir);
	unlink(path); /* a stale socket from a killed rxd; the lock says none runs */
	snprintf(admin_ep, sizeof admin_ep, "ipc://%s", path);
	if (zmq_bind(admin_sock, admin_ep) != 0 || chmod(path, 0600) != 0) {
		fprintf(stderr, "rxd: cannot bind the admin socket %s: %s\n", admin_ep,
			zmq_strerror(zmq_errno()));
		return 1;
	}
	char bound[1024];
	size_t blen = sizeof bound;
	zmq_getsockopt(front, ZMQ_LAST_ENDPOINT, bound, &blen);
	snprintf(path, sizeof path, "%s/rxd.endpoint", dir);
	FILE *ef = fopen(path, "w");
	if (ef) {
		fprintf(ef, "%s\n", bound);
		fclose(ef);
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char pkhex[2 * RX_KEY_LEN + 1];
	rx_hex(key.pk, RX_KEY_LEN, pkhex);
	dispatch_t d = {.store = store, .key = &key};
	static metrics_t metrics;
	metrics_init(&metrics, now_sec());
	admin_t a = {.store = store, .key = &key, .curve_key = curve_pub, .started_at = now_sec(),
		     .dir = dir, .pseudonym_key = cfg.pseudonym_key, .metrics = &metrics};
	void *msock = NULL;
	if (cfg.metrics[0]) {
		msock = zmq_socket(ctx, ZMQ_STREAM);
		if (msock == NULL || zmq_bind(msock, cfg.metrics) != 0) {
			fprintf(stderr, "rxd: cannot serve metrics on %s: %s\n", cfg.metrics,
				zmq_strerror(zmq_errno()));
			return 1;
		}
	}

	/* Signature checks run on a pool of verify workers, one per core unless
	 * told otherwise; this thread keeps the sockets and the store. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nverify = cfg.verify_threads >= 0 ? cfg.verify_threads
		      : ncpu < 1 ? 1 : ncpu > WORKERS_MAX ? WORKERS_MAX : (int)ncpu;
	front_t *f = NULL;
	if (front_new(&f, front, &d, &a, nverify) != RX_OK) {
		fprintf(stderr, "rxd: cannot start %d verify threads\n", nverify);
		return 1;
	}
	if (front_watchers_new() != RX_OK) {
		fprintf(stderr, "rxd: out of memory\n");
		return 1;
	}
	jobs_t *jobs = NULL;
	if (jobs_new(&jobs, ctx, &a) != RX_OK) {
		fprintf(stderr, "rxd: cannot start the operator jobs' socket\n");
		return 1;
	}
	log_line("event=ready version=%s listen=%s admin=%s broker_key=%s curve_key=%s pid=%d "
		 "config=%s map_size_mib=%llu verify_threads=%d",
		 RX_VERSION, bound, admin_ep, pkhex, curve_pub, (int)getpid(),
		 config_path ? config_path : "-", cfg.map_size_mib, nverify);

	enum { P_FRONT, P_ADMIN, P_ZAP, P_DONE, P_JOBS, P_METRICS };
	zmq_pollitem_t items[] = {{front, 0, ZMQ_POLLIN, 0},
				  {admin_sock, 0, ZMQ_POLLIN, 0},
				  {zap, 0, ZMQ_POLLIN, 0},
				  {NULL, front_workers_fd(f), ZMQ_POLLIN, 0},
				  {jobs_socket(jobs), 0, ZMQ_POLLIN, 0},
				  {msock, 0, ZMQ_POLLIN, 0}};
	int64_t next_chores = now_sec() + 60, next_trim = now_sec() + 5;
	long wait_ms = 1000;
	while (!stopping) {
		/* A full ring stops reading: clients wait in ZeroMQ's queues. */
		items[P_FRONT].events = front_room(f) ? ZMQ_POLLIN : 0;
		int rc = zmq_poll(items, msock ? 6 : 5, wait_ms);
		/* Give freed heap back to the system: requests allocate and free
		 * in many sizes, on several threads, and glibc keeps what it freed, so
		 * without this the resident size creeps up under steady load. */
		if (now_sec() >= next_trim) {
			next_trim = now_sec() + 5;
			malloc_trim(0);
		}
		/* Every minute: sign the audit head if it moved; expire what is due. */
		if (now_sec() >= next_chores) {
			next_chores = now_sec() + 60;
			chores(store, &key);
		}
		if (rc < 0) {
			if (zmq_errno() == EINTR)
				continue;
			log_line("event=poll_error error=\"%s\"", zmq_strerror(zmq_errno()));
			break;
		}
		if (items[P_FRONT].revents & ZMQ_POLLIN)
			front_intake(f);
		if (items[P_DONE].revents & ZMQ_POLLIN)
			front_workers_clear(f);
		/* A few batches, then the other sockets get their turn; if the
		 * last batch was full more may be ready: do not sleep then. */
		int full = 0;
		for (int i = 0; i < 4 && (full = front_serve_batch(f) == BATCH_MAX); i++)
			;
		wait_ms = full ? 0 : 1000;
		if (items[P_ADMIN].revents & ZMQ_POLLIN)
			serve_admin(admin_sock, &a, jobs);
		if (items[P_JOBS].revents & ZMQ_POLLIN)
			serve_jobs(admin_sock, jobs);
		/* Handshakes are cheap to answer and every waiting one holds a
		 * half-open connection: answer all that are waiting (up to a bound). */
		for (int i = 0; i < 1024 && (items[P_ZAP].revents & ZMQ_POLLIN); i++) {
			int ev = 0;
			size_t evlen = sizeof ev;
			zap_serve(zap, store, &metrics);
			zmq_getsockopt(zap, ZMQ_EVENTS, &ev, &evlen);
			if (!(ev & ZMQ_POLLIN))
				break;
		}
		if (msock && (items[P_METRICS].revents & ZMQ_POLLIN))
			http_serve_metrics(msock, &a);
	}

	/* Stop accepting, answer what already arrived (for up to two seconds),
	 * then sign the audit head: all within systemd's stop timeout. */
	log_line("event=stopping requests=%llu", (unsigned long long)a.requests);
	zmq_unbind(front, bound);
	int64_t drain_until = now_us() + 2000000;
	while (now_us() < drain_until) {
		front_intake(f);
		front_workers_clear(f);
		front_serve_batch(f);
		if (front_idle(f)) {
			zmq_pollitem_t it = {front, 0, ZMQ_POLLIN, 0};
			if (zmq_poll(&it, 1, 0) <= 0 || !(it.revents & ZMQ_POLLIN))
				break;
			continue;
		}
		/* Requests with the workers: wait for one to be done. */
		zmq_pollitem_t done = {NULL, front_workers_fd(f), ZMQ_POLLIN, 0};
		zmq_poll(&done, 1, 100);
	}
	/* What is still unanswered is dropped (its client resends). */
	front_destroy(&f);
	/* A job in progress (a backup) is let finish, its reply sent and its
	 * action audited, before the store closes under it. */
	if (jobs_running(jobs))
		log_line("event=stopping_waits jobs=%zu", jobs_running(jobs));
	while (jobs_running(jobs)) {
		zmq_pollitem_t it = {jobs_socket(jobs), 0, ZMQ_POLLIN, 0};
		zmq_poll(&it, 1, 1000);
		serve_jobs(admin_sock, jobs);
	}
	jobs_destroy(&jobs);
	front_watchers_destroy();
	int signed_now = 0;
	if (store_audit_sign(store, key.pk, key.sk, now_sec(), &signed_now) != RX_OK)
		log_line("event=audit_sign_failed");
	else if (signed_now)
		log_line("event=audit_head_signed");
	if (msock)
		zmq_close(msock);
	zmq_close(front);
	zmq_close(admin_sock);
	zmq_close(zap);
	zmq_ctx_term(ctx);
	store_close(&store);
	snprintf(path, sizeof path, "%s/rxd.endpoint", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/admin.sock", dir);
	unlink(path);
	sodium_memzero(&key, sizeof key);
	close(lock);
	log_line("event=stopped");
	return 0;
}
