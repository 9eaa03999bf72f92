/* outbox: the clinic's local queue of signed requests (see outbox.h). */
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "outbox.pb-c.h"

#define ENTRY_VERSION 1
/* Room for a few hundred requests at the largest frame rxd takes (256 KiB);
 * a typical one is 1-2 KiB.  The file grows only as it is used. */
#define MAP_SIZE ((size_t)256 << 20)

struct rxc_outbox {
	MDB_env *env;
	MDB_dbi pending, failed, meta;
	int lock_fd; /* DIR/outbox.lock, flocked, or -1 */
};

static void put_be64(uint8_t k[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		k[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t k[8])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | k[i];
	return v;
}

rx_err_t rxc_outbox_open(rxc_outbox_t **out, const char *dir, int flags, char *msg, size_t msglen)
{
	rxc_outbox_t *ob = calloc(1, sizeof *ob);
	MDB_txn *txn = NULL;
	struct stat st;
	char path[4096];
	int rc;

	*out = NULL;
	if (ob == NULL) {
		snprintf(msg, msglen, "out of memory");
		return RX_SYSTEM;
	}
	ob->lock_fd = -1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(msg, msglen, "cannot create outbox dir %s: %s", dir, strerror(errno));
		free(ob);
		return RX_SYSTEM;
	}
	/* It holds signed prescriptions and card assertions: private, like
	 * rxd's data dir. */
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 077)) {
		snprintf(msg, msglen, "outbox %s must be a directory only its owner can use (chmod 700 %s)",
			 dir, dir);
		free(ob);
		return RX_PERMISSION_DENIED;
	}
	if (snprintf(path, sizeof path, "%s/outbox.lock", dir) >= (int)sizeof path) {
		snprintf(msg, msglen, "outbox path too long");
		free(ob);
		return RX_SYSTEM;
	}
	if (flags & RXC_OUTBOX_LOCK) {
		/* Waits while another process delivers; each of its sends ends
		 * within its timeout. */
		int locked = -1;
		ob->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		while (ob->lock_fd >= 0 && (locked = flock(ob->lock_fd, LOCK_EX)) != 0 && errno == EINTR)
			;
		if (locked != 0) {
			snprintf(msg, msglen, "cannot lock %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	if ((rc = mdb_env_create(&ob->env)) != 0)
		goto lmdb_fail;
	mdb_env_set_maxdbs(ob->env, 4);
	mdb_env_set_mapsize(ob->env, MAP_SIZE);
	/* No MDB_NOSYNC: a commit is on disk before the CLI says "queued". */
	if ((rc = mdb_env_open(ob->env, dir, 0, 0600)) != 0 ||
	    (rc = mdb_txn_begin(ob->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "pending", MDB_CREATE, &ob->pending)) != 0 ||
	    (rc = mdb_dbi_open(txn, "failed", MDB_CREATE, &ob->failed)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &ob->meta)) != 0)
		goto lmdb_fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto lmdb_fail;
	*out = ob;
	return RX_OK;
lmdb_fail:
	snprintf(msg, msglen, "cannot open the outbox in %s: %s", dir, mdb_strerror(rc));
fail:
	if (txn)
		mdb_txn_abort(txn);
	rxc_outbox_close(&ob);
	return RX_SYSTEM;
}

void rxc_outbox_close(rxc_outbox_t **obp)
{
	rxc_outbox_t *ob = obp ? *obp : NULL;
	if (ob == NULL)
		return;
	if (ob->env)
		mdb_env_close(ob->env);
	if (ob->lock_fd >= 0)
		close(ob->lock_fd); /* releases the flock */
	free(ob);
	*obp = NULL;
}

void rxc_outbox_entry_free(rxc_outbox_entry_t *e)
{
	free(e->slip);
	free(e->receipt);
	free(e->frame);
	e->slip = e->receipt = NULL;
	e->frame = NULL;
	e->frame_len = 0;
}

static char *dup_or_null(const char *s)
{
	return s && s[0] ? strdup(s) : NULL;
}

/* Decode a stored record into e (seq already set).  RX_INVALID if it is not
 * one this version wrote; RX_SYSTEM if memory runs out. */
static rx_err_t decode(const MDB_val *v, int with_frame, rxc_outbox_entry_t *e)
{
	Rxoutbox__Entry *r = rxoutbox__entry__unpack(NULL, v->mv_size, v->mv_data);
	rx_err_t err = RX_INVALID;
	if (r == NULL || r->version != ENTRY_VERSION || r->request_id.len != RX_REQUEST_ID_LEN) {
		snprintf(e->message, sizeof e->message, "outbox entry %llu is damaged or of an unknown version",
			 (unsigned long long)e->seq);
		goto done;
	}
	e->op = r->op;
	e->created = r->created;
	memcpy(e->request_id, r->request_id.data, RX_REQUEST_ID_LEN);
	snprintf(e->prescription_id, sizeof e->prescription_id, "%s", r->prescription_id);
	e->status = (rx_err_t)r->status;
	snprintf(e->message, sizeof e->message, "%s", r->message);
	e->failed_at = r->failed_at;
	err = RX_SYSTEM;
	if ((r->slip_path[0] && (e->slip = dup_or_null(r->slip_path)) == NULL) ||
	    (r->receipt_path[0] && (e->receipt = dup_or_null(r->receipt_path)) == NULL))
		goto done;
	if (with_frame && r->frame.len) {
		if ((e->frame = malloc(r->frame.len)) == NULL)
			goto done;
		memcpy(e->frame, r->frame.data, r->frame.len);
		e->frame_len = r->frame.len;
	}
	err = RX_OK;
done:
	if (r)
		rxoutbox__entry__free_unpacked(r, NULL);
	if (err != RX_OK)
		rxc_outbox_entry_free(e);
	return err;
}

/* Encode e as a record (a frame of its own if frame is not NULL) into a
 * heap buffer the caller frees. */
static rx_err_t encode(const rxc_outbox_entry_t *e, const uint8_t *frame, size_t frame_len,
		       MDB_val *v)
{
	Rxoutbox__Entry r = RXOUTBOX__ENTRY__INIT;
	r.version = ENTRY_VERSION;
	r.op = e->op;
	r.created = e->created;
	r.request_id.data = (uint8_t *)e->request_id;
	r.request_id.len = RX_REQUEST_ID_LEN;
	r.prescription_id = (char *)e->prescription_id;
	r.slip_path = e->slip ? e->slip : (char *)"";
	r.receipt_path = e->receipt ? e->receipt : (char *)"";
	r.frame.data = (uint8_t *)frame;
	r.frame.len = frame ? frame_len : 0;
	r.status = (int32_t)e->status;
	r.message = (char *)e->message;
	r.failed_at = e->failed_at;
	v->mv_size = rxoutbox__entry__get_packed_size(&r);
	if ((v->mv_data = malloc(v->mv_size ? v->mv_size : 1)) == NULL)
		return RX_SYSTEM;
	rxoutbox__entry__pack(&r, v->mv_data);
	return RX_OK;
}

/* Commit txn; RX_SYSTEM (and aborted) if it fails. */
static rx_err_t finish(MDB_txn *txn, int rc)
{
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc == MDB_NOTFOUND ? RX_NOT_FOUND : RX_SYSTEM;
	}
	return mdb_txn_commit(txn) == 0 ? RX_OK : RX_SYSTEM;
}

rx_err_t rxc_outbox_put(rxc_outbox_t *ob, const uint8_t *frame, size_t len, const char *slip,
			const char *receipt, uint64_t *seq)
{
	rxc_outbox_entry_t e;
	uint8_t key[RX_KEY_LEN], k[8];
	MDB_txn *txn;
	MDB_val kv = {sizeof k, k}, v, next_key = {4, "next"}, next;
	int rc;

	memset(&e, 0, sizeof e);
	if (rxc_frame_parse(frame, len, key, e.request_id, &e.op, e.prescription_id,
			    sizeof e.prescription_id) != RX_OK)
		return RX_INVALID;
	e.created = (int64_t)time(NULL);
	e.slip = (char *)slip;
	e.receipt = (char *)receipt;
	if (encode(&e, frame, len, &v) != RX_OK)
		return RX_SYSTEM;
	if (mdb_txn_begin(ob->env, NULL, 0, &txn) != 0) {
		free(v.mv_data);
		return RX_SYSTEM;
	}
	/* Numbers are never reused, so a failed entry keeps its own. */
	e.seq = 1;
	rc = mdb_get(txn, ob->meta, &next_key, &next);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	else if (rc == 0 && next.mv_size != 8)
		rc = MDB_CORRUPTED;
	else if (rc == 0)
		e.seq = get_be64(next.mv_data);
	put_be64(k, e.seq);
	if (rc == 0)
		rc = mdb_put(txn, ob->pending, &kv, &v, MDB_NOOVERWRITE);
	put_be64(k, e.seq + 1);
	next.mv_size = 8;
	next.mv_data = k;
	if (rc == 0)
		rc = mdb_put(txn, ob->meta, &next_key, &next, 0);
	free(v.mv_data);
	rx_err_t err = finish(txn, rc);
	if (err == RX_OK)
		*seq = e.seq;
	return err == RX_NOT_FOUND ? RX_SYSTEM : err;
}

rx_err_t rxc_outbox_first(rxc_outbox_t *ob, rxc_outbox_entry_t *e)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t key[RX_KEY_LEN], rid[RX_REQUEST_ID_LEN];
	int op;

	memset(e, 0, sizeof *e);
	if (mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn) != 0)
		return RX_SYSTEM;
	if (mdb_cursor_open(txn, ob->pending, &cur) != 0) {
		mdb_txn_abort(txn);
		return RX_SYSTEM;
	}
	int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	rx_err_t err = rc == MDB_NOTFOUND ? RX_NOT_FOUND : RX_SYSTEM;
	if (rc == 0 && k.mv_size != 8) {
		/* A key this module never wrote: no number to report or remove it by. */
		err = RX_SYSTEM;
	} else if (rc == 0) {
		e->seq = get_be64(k.mv_data);
		err = decode(&v, 1, e);
		/* The frame is what gets sent: it must say what the record says. */
		if (err == RX_OK &&
		    (rxc_frame_parse(e->frame, e->frame_len, key, rid, &op, NULL, 0) != RX_OK ||
		     memcmp(rid, e->request_id, RX_REQUEST_ID_LEN) != 0 || op != e->op)) {
			rxc_outbox_entry_free(e);
			snprintf(e->message, sizeof e->message,
				 "outbox entry %llu holds no request it can resend",
				 (unsigned long long)e->seq);
			err = RX_INVALID;
		}
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

rx_err_t rxc_outbox_remove(rxc_outbox_t *ob, uint64_t seq)
{
	MDB_txn *txn;
	uint8_t k[8];
	MDB_val kv = {sizeof k, k};
	put_be64(k, seq);
	if (mdb_txn_begin(ob->env, NULL, 0, &txn) != 0)
		return RX_SYSTEM;
	return finish(txn, mdb_del(txn, ob->pending, &kv, NULL));
}

rx_err_t rxc_outbox_fail(rxc_outbox_t *ob, uint64_t seq, rx_err_t status, const char *message)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_stat st;
	uint8_t k[8];
	MDB_val kv = {sizeof k, k}, v, nv;
	rxc_outbox_entry_t e;
	int rc;

	memset(&e, 0, sizeof e);
	put_be64(k, seq);
	e.seq = seq;
	if (mdb_txn_begin(ob->env, NULL, 0, &txn) != 0)
		return RX_SYSTEM;
	if ((rc = mdb_get(txn, ob->pending, &kv, &v)) != 0)
		return finish(txn, rc);
	/* A damaged record moves too, with what could be read of it (nothing). */
	if (decode(&v, 0, &e) == RX_SYSTEM)
		return finish(txn, ENOMEM);
	e.status = status;
	snprintf(e.message, sizeof e.message, "%s", message ? message : "");
	e.failed_at = (int64_t)time(NULL);
	rx_err_t err = encode(&e, NULL, 0, &nv);
	rxc_outbox_entry_free(&e);
	if (err != RX_OK)
		return finish(txn, ENOMEM);
	rc = mdb_del(txn, ob->pending, &kv, NULL);
	if (rc == 0)
		rc = mdb_put(txn, ob->failed, &kv, &nv, 0);
	free(nv.mv_data);
	/* Keep the failed table small: the newest RXC_OUTBOX_FAILED_MAX. */
	if (rc == 0 && (rc = mdb_stat(txn, ob->failed, &st)) == 0 &&
	    st.ms_entries > RXC_OUTBOX_FAILED_MAX && (rc = mdb_cursor_open(txn, ob->failed, &cur)) == 0) {
		size_t extra = st.ms_entries - RXC_OUTBOX_FAILED_MAX;
		while (rc == 0 && extra-- > 0 && (rc = mdb_cursor_get(cur, &kv, &v, MDB_FIRST)) == 0)
			rc = mdb_cursor_del(cur, 0);
		mdb_cursor_close(cur);
	}
	return finish(txn, rc);
}

rx_err_t rxc_outbox_count(rxc_outbox_t *ob, size_t *pending, size_t *failed)
{
	MDB_txn *txn;
	MDB_stat a, b;
	if (mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn) != 0)
		return RX_SYSTEM;
	int rc = mdb_stat(txn, ob->pending, &a);
	if (rc == 0)
		rc = mdb_stat(txn, ob->failed, &b);
	mdb_txn_abort(txn);
	if (rc != 0)
		return RX_SYSTEM;
	*pending = a.ms_entries;
	*failed = b.ms_entries;
	return RX_OK;
}

rx_err_t rxc_outbox_list(rxc_outbox_t *ob, int failed, rxc_outbox_visit_t fn, void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;
	if (mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn) != 0)
		return RX_SYSTEM;
	if (mdb_cursor_open(txn, failed ? ob->failed : ob->pending, &cur) != 0) {
		mdb_txn_abort(txn);
		return RX_SYSTEM;
	}
	rx_err_t err = RX_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		rxc_outbox_entry_t e;
		memset(&e, 0, sizeof e);
		e.seq = k.mv_size == 8 ? get_be64(k.mv_data) : 0;
		rx_err_t d = decode(&v, 0, &e);
		if (d == RX_SYSTEM) {
			err = RX_SYSTEM;
			break;
		}
		if (d != RX_OK) {
			e.op = 0;
			e.status = RX_SYSTEM;
		}
		int stop = fn(&e, arg);
		rxc_outbox_entry_free(&e);
		if (stop)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		err = RX_SYSTEM;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

int rxc_outbox_keeps(rx_err_t status)
{
	return status == RX_UNREACHABLE || status == RX_UNAVAILABLE || status == RX_SYSTEM;
}

/* Settle an entry after a reply: tell done, then drop it (OK, or a refusal
 * the caller reports itself) or move it to the failed table (a refusal
 * nobody else will see, or a damaged entry). */
static rx_err_t settle(rxc_outbox_t *ob, const rxc_outbox_entry_t *e, const rxc_result_t *r,
		       int keep_refusal, rxc_outbox_done_t done, void *arg)
{
	if (done)
		done(e, r, arg);
	return r->status == RX_OK || !keep_refusal ? rxc_outbox_remove(ob, e->seq)
						   : rxc_outbox_fail(ob, e->seq, r->status, r->message);
}

rx_err_t rxc_outbox_flush(rxc_outbox_t *ob, rxc_t *c, rxc_outbox_done_t done, void *arg, char *msg,
			  size_t msglen)
{
	for (;;) {
		rxc_outbox_entry_t e;
		rxc_result_t r;
		rx_err_t err = rxc_outbox_first(ob, &e);
		if (err == RX_NOT_FOUND)
			return RX_OK;
		if (err == RX_INVALID) {
			/* Not sendable: set it aside rather than block the queue. */
			memset(&r, 0, sizeof r);
			r.status = RX_SYSTEM;
			snprintf(r.message, sizeof r.message, "%s", e.message);
			err = settle(ob, &e, &r, 1, done, arg);
		} else if (err == RX_OK) {
			rxc_call_frame(c, e.frame, e.frame_len, &r);
			if (rxc_outbox_keeps(r.status)) {
				snprintf(msg, msglen, "outbox entry %llu not delivered: %s",
					 (unsigned long long)e.seq, r.message);
				err = r.status;
				rxc_result_free(&r);
				rxc_outbox_entry_free(&e);
				return err;
			}
			err = settle(ob, &e, &r, 1, done, arg);
			rxc_result_free(&r);
		}
		rxc_outbox_entry_free(&e);
		if (err != RX_OK) {
			snprintf(msg, msglen, "the outbox cannot be read or written");
			return RX_SYSTEM;
		}
	}
}

rx_err_t rxc_outbox_send(rxc_outbox_t *ob, rxc_t *c, const uint8_t *frame, size_t len,
			 const char *slip, const char *receipt, rxc_outbox_done_t done, void *arg,
			 rxc_result_t *out, uint64_t *seq, int *queued)
{
	rxc_outbox_entry_t e;
	size_t pending = 0, failed;
	uint8_t key[RX_KEY_LEN];

	memset(out, 0, sizeof *out);
	memset(&e, 0, sizeof e);
	*queued = 0;
	*seq = 0;
	if (rxc_frame_parse(frame, len, key, out->request_id, &e.op, e.prescription_id,
			    sizeof e.prescription_id) != RX_OK) {
		out->status = RX_SYSTEM;
		snprintf(out->message, sizeof out->message, "not a signed rx-exchange request");
		return out->status;
	}
	if (rxc_outbox_count(ob, &pending, &failed) != RX_OK ||
	    rxc_outbox_put(ob, frame, len, slip, receipt, seq) != RX_OK) {
		out->status = RX_SYSTEM;
		snprintf(out->message, sizeof out->message,
			 "the outbox cannot take the request (disk full?); nothing was sent");
		return out->status;
	}
	*queued = 1;
	/* Order: what was queued before goes first (rxc_outbox_flush). */
	if (pending > 0) {
		out->status = RX_UNREACHABLE;
		snprintf(out->message, sizeof out->message,
			 "not sent: %zu earlier request%s in the outbox not yet delivered", pending,
			 pending == 1 ? " is" : "s are");
		return out->status;
	}
	rxc_call_frame(c, frame, len, out);
	if (rxc_outbox_keeps(out->status))
		return out->status;
	e.seq = *seq;
	memcpy(e.request_id, out->request_id, RX_REQUEST_ID_LEN);
	e.slip = (char *)slip;
	e.receipt = (char *)receipt;
	/* Answered; if the outbox cannot record that, the entry is resent
	 * later and answered from rxd's stored reply: harmless. */
	if (settle(ob, &e, out, 0, done, arg) == RX_OK)
		*queued = 0;
	return out->status;
}
