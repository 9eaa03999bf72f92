/* rxd: the rx-exchange broker: flags, boot, loop, drain.
 *
 * Flags and the config file (config.h) give the data dir, the endpoints and
 * the thread counts; boot (boot.h) locks the data dir, loads the keys
 * (keys.h), opens the store and binds the sockets.  The thread running main is the store
 * thread: it alone writes to the store and answers on the sockets, in one
 * poll loop over the client endpoint (--listen, CURVE, admitted by zap.h),
 * the admin socket (ipc://DIR/admin.sock, mode 0600), the ZAP handler, the
 * verify workers' and the jobs' wake-ups and the metrics endpoint (http.h).
 * Verify threads decode client requests and check their signatures; the
 * store thread applies them in group commits and replies only after the
 * fsync (front.h).  Long operator requests (backup, audit walks) run as
 * jobs on threads of their own (jobs.h) and come back through the loop;
 * other admin requests and the minute's chores run on the store thread.
 * SIGTERM or SIGINT (taken by this thread only): stop accepting, answer what
 * already arrived (for up to two seconds), let the running jobs finish, sign
 * the audit head, let the admin peers read their replies and hang up (for up
 * to two seconds), stop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
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
#include "boot.h"
#include "config.h"
#include "dispatch.h"
#include "frames.h"
#include "front.h"
#include "http.h"
#include "jobs.h"
#include "keys.h"
#include "log.h"
#include "peers.h"
#include "rx.pb-c.h"
#include "workers.h"
#include "zap.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
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

/* Send the replies of the jobs that finished (jobs.h).  A job whose reply
 * could not be made (memory ran out) is answered with unavailable, packed
 * at start: its client, which never resends a long request, would
 * otherwise wait out its whole timeout. */
static void serve_jobs(void *sock, jobs_t *jobs, const store_buf_t *unavailable)
{
	jobs_result_t r;
	while (jobs_next(jobs, now_sec(), &r)) {
		const store_buf_t *reply = r.failed ? unavailable : &r.reply;
		if (zmq_send(sock, r.identity, r.idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
			zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
			zmq_send(sock, reply->data, reply->len, ZMQ_DONTWAIT);
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
	static rxd_t r;
	int status;

	/* flags -> boot */
	if ((status = boot_flags(&r, argc, argv)) != 0 || (status = boot_data_dir(&r)) != 0 ||
	    (status = boot_keys_and_store(&r)) != 0 || (status = boot_sockets(&r)) != 0)
		return status;
	store_t *store = r.store;
	const rx_keypair_t *key = &r.key;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The stop signals are this thread's: blocked while it starts the verify
	 * workers, which inherit the mask (jobs block them likewise, jobs.c), so
	 * that the signal always breaks this thread's poll and never lands in a
	 * worker's blocking call.  ZeroMQ's threads block every signal. */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

	char pkhex[2 * RX_KEY_LEN + 1];
	rx_hex(key->pk, RX_KEY_LEN, pkhex);
	dispatch_t d = {.store = store, .key = key};
	static metrics_t metrics;
	metrics_init(&metrics, now_sec());
	admin_t a = {.store = store, .key = key, .curve_key = r.curve_pub, .started_at = now_sec(),
		     .dir = r.cfg.data, .pseudonym_key = r.cfg.pseudonym_key, .metrics = &metrics};

	/* Signature checks run on a pool of verify workers, one per core unless
	 * told otherwise; this thread keeps the sockets and the store. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nverify = r.cfg.verify_threads >= 0 ? r.cfg.verify_threads
		      : ncpu < 1 ? 1 : ncpu > WORKERS_MAX ? WORKERS_MAX : (int)ncpu;
	front_t *f = NULL;
	if (front_new(&f, r.front, &d, &a, nverify) != RX_OK) {
		fprintf(stderr, "rxd: cannot start %d verify threads\n", nverify);
		return 1;
	}
	if (front_watchers_new() != RX_OK) {
		fprintf(stderr, "rxd: out of memory\n");
		return 1;
	}
	jobs_t *jobs = NULL;
	if (jobs_new(&jobs, r.ctx, &a) != RX_OK) {
		fprintf(stderr, "rxd: cannot start the operator jobs' socket\n");
		return 1;
	}
	store_buf_t unavailable = {0};
	if (admin_refusal(RX_UNAVAILABLE, "rxd ran out of memory for the reply; try again", &unavailable) !=
	    RX_OK) {
		fprintf(stderr, "rxd: out of memory\n");
		return 1;
	}
	peers_t peers;
	peers_watch(&peers, r.ctx, r.admin);
	/* A stop signal that came while blocked is taken here. */
	pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
	log_line("event=ready version=%s listen=%s admin=%s broker_key=%s curve_key=%s pid=%d "
		 "config=%s map_size_mib=%llu verify_threads=%d",
		 RX_VERSION, r.bound, r.admin_ep, pkhex, r.curve_pub, (int)getpid(),
		 r.config_path ? r.config_path : "-", r.cfg.map_size_mib, nverify);

	/* loop */
	enum { P_FRONT, P_ADMIN, P_ZAP, P_DONE, P_JOBS, P_PEERS, P_METRICS };
	zmq_pollitem_t items[] = {{r.front, 0, ZMQ_POLLIN, 0},
				  {r.admin, 0, ZMQ_POLLIN, 0},
				  {r.zap, 0, ZMQ_POLLIN, 0},
				  {NULL, front_workers_fd(f), ZMQ_POLLIN, 0},
				  {jobs_socket(jobs), 0, ZMQ_POLLIN, 0},
				  /* not watching: fd -1, which poll skips */
				  {peers.events, -1, peers.events ? ZMQ_POLLIN : 0, 0},
				  {r.metrics, 0, ZMQ_POLLIN, 0}};
	int64_t next_chores = now_sec() + 60, next_trim = now_sec() + 5;
	long wait_ms = 1000;
	while (!stopping) {
		/* A full ring stops reading: clients wait in ZeroMQ's queues. */
		items[P_FRONT].events = front_room(f) ? ZMQ_POLLIN : 0;
		int rc = zmq_poll(items, r.metrics ? 7 : 6, wait_ms);
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
			chores(store, key);
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
			serve_admin(r.admin, &a, jobs);
		if (items[P_JOBS].revents & ZMQ_POLLIN)
			serve_jobs(r.admin, jobs, &unavailable);
		if (items[P_PEERS].revents & ZMQ_POLLIN)
			peers_update(&peers);
		/* Handshakes are cheap to answer and every waiting one holds a
		 * half-open connection: answer all that are waiting (up to a bound). */
		for (int i = 0; i < 1024 && (items[P_ZAP].revents & ZMQ_POLLIN); i++) {
			int ev = 0;
			size_t evlen = sizeof ev;
			zap_serve(r.zap, store, &metrics);
			zmq_getsockopt(r.zap, ZMQ_EVENTS, &ev, &evlen);
			if (!(ev & ZMQ_POLLIN))
				break;
		}
		if (r.metrics && (items[P_METRICS].revents & ZMQ_POLLIN))
			http_serve_metrics(r.metrics, &a);
	}

	/* drain: stop accepting, answer what already arrived (for up to two seconds),
	 * then sign the audit head: all within systemd's stop timeout. */
	log_line("event=stopping requests=%llu", (unsigned long long)a.requests);
	zmq_unbind(r.front, r.bound);
	int64_t drain_until = now_us() + 2000000;
	while (now_us() < drain_until) {
		front_intake(f);
		front_workers_clear(f);
		front_serve_batch(f);
		if (front_idle(f)) {
			zmq_pollitem_t it = {r.front, 0, ZMQ_POLLIN, 0};
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
		serve_jobs(r.admin, jobs, &unavailable);
	}
	jobs_destroy(&jobs);
	store_buf_free(&unavailable);
	front_watchers_destroy();
	int signed_now = 0;
	if (store_audit_sign(store, key->pk, key->sk, now_sec(), &signed_now) != RX_OK)
		log_line("event=audit_sign_failed");
	else if (signed_now)
		log_line("event=audit_head_signed");
	/* The last replies (a job's, just now) are read before the connections
	 * close (peers_t). */
	peers_wait_gone(&peers, r.admin, 2000);
	boot_shutdown(&r);
	log_line("event=stopped");
	return 0;
}
