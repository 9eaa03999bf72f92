/* front: the client side of rxd (see front.h). */
#include "front.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "frames.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "rx_ops.h"
#include "watchers.h"
#include "workers.h"

/* One request read from the client socket, and what became of it. */
typedef struct {
	zmq_msg_t parts[FRAMES_MAX];
	int n;
	int framed;            /* [identity][empty][Request] */
	int64_t t0;
	dispatch_prep_t prep;  /* filled by a verify worker */
	size_t frame_len;      /* bytes of its parts */
	size_t held;           /* bytes its decoding took (counted in decoded_in_flight) */
	rx_err_t err;
	store_buf_t reply;
	rx_err_t signed_ok;    /* reply_sign's result, by a signing worker */
	dispatch_log_t log;
} pending_t;

/* Requests read and not yet answered: enough to keep the verify workers busy
 * through a whole batch's commit. */
#define RING (4 * BATCH_MAX)

/* The client side of rxd: the requests between the socket and their
 * replies.  ring[k % RING] holds the k-th request read; those from
 * released to read-1 are in flight (with the workers, or in a batch). */
struct front {
	void *sock;
	const dispatch_t *d;
	admin_t *a;
	workers_t *w;
	workers_t *signers;    /* sign the receipts of a batch while it commits */
	pending_t ring[RING];
	uint64_t read, released;
	size_t frame_bytes;    /* of the requests read and not released */
};

/* What the requests in flight hold at most: their frames and what decoding
 * them took (each is also capped: RX_MAX_FRAME, DISPATCH_DECODE_MAX).  Past
 * it rxd stops reading, and clients wait in ZeroMQ's queues (ZMQ_RCVHWM
 * messages a connection), so a burst of big frames, signed or not, cannot
 * make rxd hold more than this. */
#define INFLIGHT_MAX ((size_t)32 << 20)
/* The largest request the store thread verifies itself when it has nothing
 * else to do (front_intake): a prescription's request is a few KiB. */
#define HERE_MAX ((size_t)16 << 10)
/* Bytes the verify workers' decoding holds for requests not yet released. */
static atomic_size_t decoded_in_flight;

/* A verify worker's part (any thread): decode and check signatures. */
static void prepare(void *item)
{
	pending_t *q = item;
	q->held = 0;
	if (q->framed) {
		dispatch_prepare(zmq_msg_data(&q->parts[2]), zmq_msg_size(&q->parts[2]), &q->prep);
		q->held = dispatch_prep_used(&q->prep);
		atomic_fetch_add(&decoded_in_flight, q->held);
	}
}

/* The ring is large and there is one: static storage, as it was in main. */
static front_t front;

/* A signing worker's part (any thread): the receipt of a reply the store
 * has kept, signed once the batch is applied (reply.h).  It runs while the
 * batch's fsync does, on the cores the store thread leaves, instead of on
 * the store thread between the requests of a batch. */
static void sign(void *item)
{
	pending_t *q = item;
	q->signed_ok = reply_sign(front.d->key, &q->reply);
}

/* May another request be read? */
int front_room(const front_t *f)
{
	return f->read - f->released < RING &&
	       f->frame_bytes + atomic_load(&decoded_in_flight) < INFLIGHT_MAX;
}

/* A request leaves the ring: what it held is free again. */
static void release(front_t *f, pending_t *q)
{
	atomic_fetch_sub(&decoded_in_flight, q->held);
	f->frame_bytes -= q->frame_len;
	q->held = q->frame_len = 0;
}

/* Read every request waiting (while there is room) and hand each to the
 * verify workers. */
void front_intake(front_t *f)
{
	while (front_room(f)) {
		pending_t *q = &f->ring[f->read % RING];
		q->n = frames_recv(f->sock, q->parts, FRAMES_MAX);
		if (q->n <= 0)
			return;
		q->t0 = now_us();
		f->a->requests++;
		q->framed = q->n == 3 && zmq_msg_size(&q->parts[1]) == 0;
		q->frame_len = 0;
		for (int i = 0; i < q->n && i < FRAMES_MAX; i++)
			q->frame_len += zmq_msg_size(&q->parts[i]);
		f->frame_bytes += q->frame_len;
		q->held = 0;
		memset(&q->prep, 0, sizeof q->prep);
		/* A small request alone (nothing in flight: no batch, nothing
		 * with the workers) is verified here: the store thread would only
		 * wait for it, and the hop to a worker and back costs about what
		 * its verifies do.  The next ones, if they came together, go to
		 * the workers as ever, and so does a large one: its decoding could
		 * keep the thread from the other sockets for longer. */
		int alone = front_idle(f) && q->frame_len <= HERE_MAX;
		if ((!alone || workers_push_here(f->w, q) != RX_OK) &&
		    workers_push(f->w, q) != RX_OK) { /* cannot be: the ring is the bound */
			f->frame_bytes -= q->frame_len;
			frames_close(q->parts, q->n, FRAMES_MAX);
			return;
		}
		f->read++;
	}
}

/* ---- watching pharmacies (watchers.h) ----
 * Routes to gone connections are found out: the client socket is
 * ZMQ_ROUTER_MANDATORY (a send to an unknown routing id fails instead of
 * vanishing) and ZeroMQ heartbeats close connections that stop answering,
 * so a push to a dead watcher fails and the watcher is dropped. */
#define BACKLOG_MAX 256
#define WATCHERS_MAX 4096 /* watching connections, of every institution */
static watchers_t *watching;

/* Send one notice frame to watcher w; 0 if the connection is gone or full. */
static int push_to(void *sock, const watcher_t *w, const store_buf_t *frame)
{
	if (zmq_send(sock, w->id, w->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		return 0;
	zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	return zmq_send(sock, frame->data, frame->len, ZMQ_DONTWAIT) >= 0;
}

/* Push n to every connection watching its pharmacy (only to only, if not
 * NULL).  A connection a push cannot reach is forgotten.  How many got it. */
static int push_notice(void *sock, const dispatch_t *d, const store_notice_t *n, const watcher_t *only)
{
	store_buf_t frame = {0};
	int sent = 0;
	if (reply_notice(d->key, n, &frame) != RX_OK)
		return 0;
	for (size_t i = 0; i < watchers_count(watching);) {
		watcher_t *w = watchers_at(watching, i);
		if (strcmp(w->code, n->pharmacy) != 0 || (only && w != only)) {
			i++;
		} else if (push_to(sock, w, &frame)) {
			sent++;
			i++;
		} else {
			watchers_remove_at(watching, i);
		}
		/* Removing moves the last watcher into slot i, where only points:
		 * with only, one look is all there is. */
		if (only && w == only)
			break;
	}
	store_buf_free(&frame);
	if (sent)
		log_line("op=NOTICE seq=%llu to=%s rx=%s kind=%s", (unsigned long long)n->seq, n->pharmacy,
			 n->id,
			 rx_notice_kind_name(n->kind));
	return sent;
}

/* A pharmacy's WATCH was answered OK: register its connection, before the
 * reply goes (a WATCH that cannot be registered is refused, never answered
 * OK with no pushes to follow). */
static rx_err_t watch_register(const zmq_msg_t *identity, const char *code, watcher_t **w)
{
	int fresh;
	rx_err_t err = watchers_add(watching, zmq_msg_data((zmq_msg_t *)identity),
				    zmq_msg_size((zmq_msg_t *)identity), code, now_sec(), w, &fresh);
	if (err == RX_OK && fresh)
		log_line("event=watch to=%s watchers=%zu", code, watchers_count(watching));
	return err;
}

/* Send what is waiting for a pharmacy that just WATCHed on connection w. */
static void push_backlog(void *sock, const dispatch_t *d, watcher_t *w)
{
	store_notice_t *list = NULL;
	size_t n = 0;
	char code[RX_INSTITUTION_MAX + 1];
	snprintf(code, sizeof code, "%s", w->code);
	if (store_notices(d->store, code, 0, BACKLOG_MAX, &list, &n) != RX_OK)
		return;
	/* Once a push fails, w is forgotten (its slot reused): the rest waits
	 * for the next WATCH. */
	for (size_t i = 0; i < n && push_notice(sock, d, &list[i], w) > 0; i++)
		;
	free(list);
}

/* A WATCH from a connection already watching is a heartbeat: the connect
 * was audited, the heartbeat is not (else every pharmacy would add an
 * audit entry every 30 s, forever). */
static void heartbeat(pending_t *q, const char *peer)
{
	const Rx__Call *call = q->prep.call;
	q->prep.watching = peer && call && call->op == RX__OP__WATCH &&
			   watchers_has(watching, zmq_msg_data(&q->parts[0]), zmq_msg_size(&q->parts[0]),
					peer, now_sec());
}

/* Replace q's reply with a refusal (code, why), naming its request id. */
static void refuse_instead(pending_t *q, rx_err_t code, const char *why)
{
	uint8_t rid[RX_REQUEST_ID_LEN];
	int has_rid = rx_unhex(q->log.request_id, rid, sizeof rid) == RX_OK;
	store_buf_free(&q->reply);
	q->log.status = code;
	q->log.why = why;
	q->log.nnotices = 0;
	q->log.watcher[0] = '\0';
	q->err = reply_refusal(has_rid ? rid : NULL, has_rid ? sizeof rid : 0, code, why, &q->reply);
}

/* A WATCH answered OK by the store whose connection could not be
 * registered: its reply becomes the refusal (a WATCH's reply is never
 * stored, so nothing else said otherwise). */
static void watch_refused(pending_t *q, rx_err_t err)
{
	if (err == RX_WATCHERS_FULL)
		refuse_instead(q, err, "every watching slot is taken by one connection of each institution; WATCH again later");
	else if (err != RX_OK)
		refuse_instead(q, RX_INVALID, "this connection's routing id cannot be registered");
}

/* Does this reply depend on the open batch?  Everything the store
 * evaluated inside it does: a change, a read that recorded a card's nonce
 * or a code attempt, a refusal caused by a sibling's change, even a plain
 * read (it saw the siblings' changes).  A retry answered from what was
 * committed before the batch, and a refusal made before the store was
 * asked, do not. */
static int in_batch(const pending_t *q)
{
	return q->err == RX_OK && q->log.applied && !q->log.replayed;
}

/* The batch did not commit, so nothing of it happened: a reply evaluated
 * inside it may state only what is durable.  A plain read is evaluated
 * again, alone, against what is committed (a pharmacist can still look while
 * the disk fails); every other reply becomes UNAVAILABLE. */
static void batch_failed(const dispatch_t *d, pending_t *q)
{
	store_buf_free(&q->reply);
	if (q->log.plain_read) {
		const char *peer = zmq_msg_gets(&q->parts[2], "User-Id");
		dispatch_prepare(zmq_msg_data(&q->parts[2]), zmq_msg_size(&q->parts[2]), &q->prep);
		heartbeat(q, peer);
		q->err = dispatch_apply(d, peer, &q->prep, now_sec(), &q->reply, &q->log);
		if (q->err == RX_OK && reply_sign(d->key, &q->reply) != RX_OK)
			refuse_instead(q, RX_UNAVAILABLE, "the receipt could not be signed");
		return;
	}
	refuse_instead(q, RX_UNAVAILABLE, "storage error committing the batch");
}

/* One log line per request, written with one write(2). */
static void log_request(const pending_t *q, int n, long long us, long long commit_us)
{
	const dispatch_log_t *log = &q->log;
	const char *op = log->op ? rx_op_name(log->op) : "-";
	const char *rid = log->request_id[0] ? log->request_id : "-";
	const char *rx = log->id[0] ? log->id : "-";
	if (log->why)
		log_line("op=%s status=%s latency_us=%lld rid=%s rx=%s batch=%d commit_us=%lld why=\"%s\"",
			 op, rx_err_name(log->status), us, rid, rx, n, commit_us, log->why);
	else
		log_line("op=%s status=%s latency_us=%lld rid=%s rx=%s batch=%d commit_us=%lld%s%s", op,
			 rx_err_name(log->status), us, rid, rx, n, commit_us,
			 log->replayed || log->batch_replay ? " replayed=1" : "",
			 log->audit_lost ? " audit=lost" : "");
}

/* Group commit: take every request the workers have finished, in the order
 * they arrived (up to BATCH_MAX), apply each in its own nested transaction
 * of one batch, commit the batch once (one fsync), and only then send the
 * replies.  If the commit fails, no reply evaluated in the batch is sent as
 * it was (batch_failed): nothing unwritten is acknowledged or told.  If the
 * batch cannot even begin, each request commits alone (store_change_commit without
 * a batch) and its reply already says what became of it.  Returns how many
 * requests the batch held (0: none was ready). */
int front_serve_batch(front_t *f)
{
	pending_t *batch[BATCH_MAX];
	int n = 0;
	pending_t *q;
	while (n < BATCH_MAX && (q = workers_pop(f->w)) != NULL)
		batch[n++] = q;
	if (n == 0)
		return 0;
	int batched = store_batch_begin(f->d->store) == RX_OK;
	for (int i = 0; i < n; i++) {
		q = batch[i];
		q->reply.data = NULL;
		q->reply.len = 0;
		if (!q->framed) {
			memset(&q->log, 0, sizeof q->log);
			q->log.status = RX_INVALID;
			q->log.why = "expected frames [empty delimiter][request]";
			q->err = reply_refusal(NULL, 0, q->log.status, q->log.why, &q->reply);
		} else {
			/* The institution ZAP admitted this connection as (CURVE). */
			const char *peer = zmq_msg_gets(&q->parts[2], "User-Id");
			heartbeat(q, peer);
			q->err = dispatch_apply(f->d, peer, &q->prep, now_sec(), &q->reply, &q->log);
		}
	}
	/* What arrived meanwhile goes to the workers now, so that they verify
	 * it while this batch's fsync runs; so do the receipts to sign. */
	front_intake(f);
	for (int i = 0; i < n; i++) {
		q = batch[i];
		q->signed_ok = RX_OK;
		if (q->err == RX_OK && workers_push(f->signers, q) != RX_OK)
			sign(q); /* cannot be: the pool holds a batch */
	}
	int64_t c0 = now_us();
	rx_err_t committed = batched ? store_batch_end(f->d->store) : RX_OK;
	long long commit_us = (long long)(now_us() - c0);
	if (batched && committed == RX_OK && f->a->metrics)
		metrics_commit(f->a->metrics, commit_us, n);
	/* Every reply back from the signers before any is touched again. */
	while (workers_wait(f->signers) != NULL)
		;
	for (int i = 0; i < n; i++) {
		q = batch[i];
		watcher_t *w = NULL;
		if (committed != RX_OK && in_batch(q))
			batch_failed(f->d, q);
		else if (q->err == RX_OK && q->signed_ok != RX_OK)
			/* Committed, and kept: a resend of the same bytes gets it. */
			refuse_instead(q, RX_UNAVAILABLE, "the receipt could not be signed; resend the same request for it");
		if (q->err == RX_OK && q->log.status == RX_OK && q->log.watcher[0])
			watch_refused(q, watch_register(&q->parts[0], q->log.watcher, &w));
		if (q->err == RX_OK)
			frames_send_reply(f->sock, &q->parts[0], &q->reply);
		if (q->err == RX_OK && q->log.status == RX_OK) {
			for (size_t j = 0; j < q->log.nnotices; j++)
				push_notice(f->sock, f->d, &q->log.notices[j], NULL);
			if (w)
				push_backlog(f->sock, f->d, w);
		}
		store_buf_free(&q->reply);
		frames_close(q->parts, q->n, FRAMES_MAX);
		release(f, q);
		long long us = (long long)(now_us() - q->t0);
		if (f->a->metrics)
			metrics_request(f->a->metrics, q->log.op, q->log.status, us, now_sec());
		log_request(q, n, us, commit_us);
	}
	/* Batches leave the ring in the order they entered it. */
	f->released += (uint64_t)n;
	return n;
}

rx_err_t front_new(front_t **out, void *sock, const dispatch_t *d, admin_t *a, int nverify)
{
	front_t *f = &front;
	f->sock = sock;
	f->d = d;
	f->a = a;
	rx_err_t err = workers_new(&f->w, nverify, RING, prepare);
	if (err == RX_OK && (err = workers_new(&f->signers, nverify, BATCH_MAX, sign)) != RX_OK)
		workers_destroy(&f->w);
	if (err != RX_OK)
		return err;
	*out = f;
	return RX_OK;
}

void front_destroy(front_t **fp)
{
	front_t *f = *fp;
	if (f == NULL)
		return;
	workers_destroy(&f->w);
	workers_destroy(&f->signers);
	for (; f->released < f->read; f->released++) {
		pending_t *q = &f->ring[f->released % RING];
		dispatch_prep_free(&q->prep);
		frames_close(q->parts, q->n, FRAMES_MAX);
		release(f, q);
	}
	*fp = NULL;
}

rx_err_t front_watchers_new(void)
{
	return watchers_new(&watching, WATCHERS_MAX);
}

void front_watchers_destroy(void)
{
	watchers_destroy(&watching);
}

int front_workers_fd(const front_t *f)
{
	return workers_fd(f->w);
}

void front_workers_clear(front_t *f)
{
	workers_clear(f->w);
}

int front_idle(const front_t *f)
{
	return f->read == f->released;
}
