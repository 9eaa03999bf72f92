/* store/change.c: the request path, one change at a time.
 *
 * store_change_begin runs a request's checks and its step, in a
 * transaction nested in the batch's, and stops short of the reply; the
 * broker builds and signs the reply from the outcome; store_change_commit
 * keeps that reply with the change (a retry is answered with the same
 * bytes) and commits it into the batch, or store_change_abort undoes it.
 * So the store never calls up into the broker, and a request reads top to
 * bottom in the broker's dispatch.
 *
 * Begin's order is proto/README 5.4's from step I on: the key used through
 * its own institution (I, before anything is looked up for the caller); a
 * retry answered from its stored reply (R); past the reserve, only what
 * finishes a claim (F); the caller's key and card; then the op's step from
 * the table below.  A refusal is recorded in the audit log (with a wrong
 * code's count and attempt) before it is returned: it, too, states only
 * what is durable once the batch commits. */
#include "store_int.h"

#include <lmdb.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "records.pb-c.h"
#include "rx_ops.h"

/* Each op's step, run once the caller is known.  Adding an op is one row
 * in rx_ops.c and one here. */
static const st_step_fn steps[RX_OP_LAST + 1] = {
	[RX_OP_SUBMIT] = st_submit,     /* rx.c */
	[RX_OP_CLAIM] = st_claim,       /* rx.c */
	[RX_OP_RELEASE] = st_release,   /* rx.c */
	[RX_OP_DISPENSE] = st_dispense, /* rx.c */
	[RX_OP_CANCEL] = st_cancel,     /* rx.c */
	[RX_OP_STATUS] = st_status,     /* rx.c */
	[RX_OP_LIST] = st_list,         /* patients.c */
	[RX_OP_LOG] = st_log,           /* patients.c */
	[RX_OP_PATIENT_LIST] = st_patient_list,     /* patients.c */
	[RX_OP_PATIENT_STATUS] = st_patient_status, /* patients.c */
	[RX_OP_INQUIRE] = st_inquiry,               /* inquiries.c */
	[RX_OP_INQUIRY_REPLY] = st_inquiry_reply,   /* inquiries.c */
	[RX_OP_NOMINATE] = st_nominate, /* notices.c */
	[RX_OP_WATCH] = st_watch_ack,   /* notices.c */
	[RX_OP_ACK] = st_watch_ack,     /* notices.c */
	[RX_OP_AMEND] = st_amend,       /* rx.c */
	[RX_OP_WITHDRAW] = st_withdraw, /* rx.c */
};

/* The key of a stored reply: the request id, then the caller's key (format
 * 5).  Request ids grow with time (UUIDv7, proto/README 4.1), so new replies
 * append at the end of requests whoever the caller; led by the caller, as
 * before, each caller's replies had a range of their own, and with
 * thousands of callers each reply landed on a random page. */
static void reply_key(uint8_t rkey[RX_KEY_LEN + RX_REQUEST_ID_LEN], const uint8_t *actor,
		      const uint8_t *request_id)
{
	memcpy(rkey, request_id, RX_REQUEST_ID_LEN);
	memcpy(rkey + RX_REQUEST_ID_LEN, actor, RX_KEY_LEN);
}

/* An outcome as new, but for its findings: a request's path zeroes the
 * outcome twice (replay, then begin), and the findings are 32 KiB of it
 * that drugs_check zeroes one by one as it adds them (nwarnings says how
 * many hold anything). */
_Static_assert(offsetof(store_outcome_t, nwarnings) + sizeof(size_t) == sizeof(store_outcome_t),
	       "outcome_clear zeroes up to warnings: nwarnings must be the outcome's last field");
static void outcome_clear(store_outcome_t *out)
{
	memset(out, 0, offsetof(store_outcome_t, warnings));
	out->nwarnings = 0;
}

/* A retry returns what was sent the first time, even if the key has been
 * revoked or the prescription has moved on since.  RX_NOT_FOUND if this
 * (request id, caller) has no stored reply.  A store from before format 5
 * may still keep one under (caller, request id). */
static rx_err_t replay(MDB_txn *txn, store_t *s, const uint8_t rkey[RX_KEY_LEN + RX_REQUEST_ID_LEN],
		       const char *peer, const uint8_t call_hash[RX_HASH_LEN], store_outcome_t *out,
		       store_buf_t *reply)
{
	uint8_t old[RX_KEY_LEN + RX_REQUEST_ID_LEN];
	MDB_val k = val(rkey, RX_KEY_LEN + RX_REQUEST_ID_LEN), v;
	int rc = mdb_get(txn, s->requests, &k, &v);
	if (rc == MDB_NOTFOUND && s->old_replies) {
		memcpy(old, rkey + RX_REQUEST_ID_LEN, RX_KEY_LEN);
		memcpy(old + RX_KEY_LEN, rkey, RX_REQUEST_ID_LEN);
		k = val(old, sizeof old);
		rc = mdb_get(txn, s->requests, &k, &v);
	}
	if (rc != 0) {
		out->why = rc == MDB_NOTFOUND ? NULL : "storage error";
		return from_mdb(rc);
	}
	Rxstore__RequestRow *row = (Rxstore__RequestRow *)st_open_sealed(
		s, "requests", &k, &v, &rxstore__request_row__descriptor);
	rx_err_t err = RX_UNAVAILABLE;
	out->why = "storage error reading a stored reply";
	if (row && row->call_hash.len == RX_HASH_LEN) {
		if (row->institution[0] && (peer == NULL || strcmp(row->institution, peer) != 0)) {
			/* Earned through another institution's connection: not a
			 * retry of this caller's (the key check refuses key callers
			 * before this; a card's resend goes on to its own checks). */
			err = RX_NOT_FOUND;
			out->why = NULL;
		} else if (sodium_memcmp(row->call_hash.data, call_hash, RX_HASH_LEN) != 0) {
			err = RX_CONFLICT;
			out->why = "this request id was already used for a different request";
		} else if ((reply->data = malloc(row->reply.len ? row->reply.len : 1))) {
			memcpy(reply->data, row->reply.data, row->reply.len);
			reply->len = row->reply.len;
			err = RX_OK;
			out->why = NULL;
			out->replayed = 1;
		}
	}
	if (row)
		rxstore__request_row__free_unpacked(row, NULL);
	return err;
}

/* See store.h. */
rx_err_t store_replay(store_t *s, const uint8_t actor[RX_KEY_LEN], const char *peer,
		      const uint8_t request_id[RX_REQUEST_ID_LEN], const uint8_t call_hash[RX_HASH_LEN],
		      store_outcome_t *out, store_buf_t *reply)
{
	MDB_txn *txn;
	uint8_t rkey[RX_KEY_LEN + RX_REQUEST_ID_LEN];
	outcome_clear(out);
	reply->data = NULL;
	reply->len = 0;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		out->why = "storage unavailable";
		return from_mdb(rc);
	}
	reply_key(rkey, actor, request_id);
	store_key_t k;
	int known;
	rx_err_t err = st_check_institution(txn, s, actor, peer, &k, &known, out);
	if (err == RX_OK)
		err = replay(txn, s, rkey, peer, call_hash, out, reply);
	mdb_txn_abort(txn);
	return err;
}

/* Past the reserve only what finishes a claimed prescription goes on:
 * DISPENSE, RELEASE, and CANCEL (of a claimed one, checked where its state
 * is known).  Everything else, reads and refusals included (each would add
 * an audit entry), is refused first, and not audited. */
static int finishing(const store_change_t *c)
{
	return c->op == RX_OP_DISPENSE || c->op == RX_OP_RELEASE || c->op == RX_OP_CANCEL;
}

/* The audit entry for a request: who (key and connection), what, on whose
 * prescription, and how it ended.  For the patient's log it is filed
 * beside the prescription's record in rx when there is one (beside; not a
 * SUBMIT's, whose entry shares its page with the patient's new
 * prescription: store_int.h), else by patient. */
static int audit_request(MDB_txn *txn, store_t *s, const store_change_t *c, rx_err_t outcome,
			 const char *why, const char *id, const char *patient, int beside)
{
	uint64_t seq;
	beside = beside && c->op != RX_OP_SUBMIT && id && id[0] && patient && patient[0];
	audit_event_t e = {
		.at = c->now,
		.actor = c->actor,
		.institution = c->peer,
		.action = rx_op_name(c->op),
		.id = id,
		.patient = patient,
		.outcome = outcome,
		.detail = why,
		.indexed_elsewhere = beside,
	};
	int rc = audit_append(txn, &s->audit, &e, &seq);
	return rc != 0 || !beside ? rc : st_rx_log_put(txn, s, id, seq);
}

/* Free what the change holds, and what out pointed into. */
static void pending_free(store_pending_t *ch)
{
	store_outcome_t *out = ch->out;
	if (ch->txn)
		mdb_txn_abort(ch->txn);
	if (ch->stored)
		rxstore__rx_record__free_unpacked(ch->stored, NULL);
	st_free_dispenses(ch);
	st_free_inquiries(ch);
	free(ch->list);
	free(ch->log);
	out->body = out->signature = NULL;
	out->list = NULL;
	out->log = NULL;
	out->dispenses = NULL;
	out->ndispenses = 0;
	free(ch);
}

/* A change refused with err (out->why says why), at whatever step: undo it
 * but for what a refusal leaves behind, the audit log's record of it and,
 * for a refused access code, the count and the record of the attempt; then
 * free it.  Returns the refusal, or UNAVAILABLE if that record could not be
 * kept (a refusal, too, states only what is durable). */
static rx_err_t change_fail(store_pending_t *ch, rx_err_t err)
{
	store_t *s = ch->s;
	const store_change_t *c = ch->c;
	store_outcome_t *out = ch->out;
	int rc;

	if (ch->txn && !out->commit) {
		mdb_txn_abort(ch->txn);
		ch->txn = NULL;
	}
	/* Past the reserve a refusal is recorded only for what finishes a claim:
	 * a flood of refusals must not spend the room a DISPENSE needs.  (Step F
	 * refused everything else before any code attempt could be counted;
	 * should one be, it is not sent unrecorded.) */
	int record = finishing(c) || !st_map_nearly_full(s);
	if (!record && out->commit) {
		err = RX_UNAVAILABLE;
		out->why = "storage reached its dispensing reserve: the attempt could not be recorded";
	}
	if (err != RX_UNAVAILABLE && err != RX_SYSTEM && err != RX_STORAGE_FULL && record &&
	    (ch->txn || mdb_txn_begin(s->env, s->batch, 0, &ch->txn) == 0)) {
		const char *whose = ch->stored ? ch->stored->patient_id : ch->patient;
		/* A code's count lives in the record (out->commit: only after
		 * the record was read). */
		rc = 0;
		if (out->commit && ch->dirty && ch->stored)
			rc = st_put_rx(ch->txn, s, ch->id, ch->r, (int)ch->stored->state);
		if (rc == 0)
			rc = audit_request(ch->txn, s, c, err, out->why, c->id ? c->id : ch->id, whose,
					   ch->stored != NULL);
		if (rc == 0)
			rc = mdb_txn_commit(ch->txn);
		else
			mdb_txn_abort(ch->txn);
		ch->txn = NULL;
		if (rc != 0) {
			err = from_mdb(rc);
			out->why = out->commit ? "storage error recording the attempt"
					       : "storage error recording the refusal";
		}
	}
	pending_free(ch);
	return err;
}

/* See store.h. */
rx_err_t store_change_begin(store_t *s, const store_change_t *c, store_outcome_t *out,
			    store_buf_t *reply, store_pending_t **pending)
{
	const rx_op_info_t *info = rx_op_info(c->op);
	Rxstore__RxRecord fresh = RXSTORE__RX_RECORD__INIT;
	store_pending_t *ch;
	rx_err_t err;
	int rc;

	outcome_clear(out);
	reply->data = NULL;
	reply->len = 0;
	*pending = NULL;
	if (info == NULL || steps[c->op] == NULL)
		RETURN_REFUSAL(RX_INVALID, "unknown op");
	if ((ch = calloc(1, sizeof *ch)) == NULL)
		RETURN_REFUSAL(RX_SYSTEM, "out of memory");
	ch->s = s;
	ch->c = c;
	ch->out = out;
	ch->fresh = fresh;
	ch->r = &ch->fresh;
	ch->dirty = info->rewrites_rx;
	/* In a batch, a nested transaction: its changes join the batch's, which
	 * one commit makes durable; a refusal discards only its own. */
	ch->top = s->batch == NULL;
	if ((rc = mdb_txn_begin(s->env, s->batch, 0, &ch->txn)) != 0) {
		free(ch);
		RETURN_REFUSAL(from_mdb(rc), "storage unavailable");
	}
	reply_key(ch->rkey, c->actor, c->request_id);

	/* I: authorise before looking anything up for the caller; a refusal
	 * here is audited like any other. */
	if ((err = st_check_institution(ch->txn, s, c->actor, c->peer, &ch->actor, &ch->known, out)) !=
	    RX_OK)
		return change_fail(ch, err);
	/* R: a retry is answered with what was sent the first time. */
	if ((err = replay(ch->txn, s, ch->rkey, c->peer, c->call_hash, out, reply)) != RX_NOT_FOUND) {
		pending_free(ch);
		return err;
	}
	/* F */
	if (!finishing(c) && st_map_nearly_full(s)) {
		out->why = "storage reached its dispensing reserve: only dispensing, releasing or cancelling claimed prescriptions is accepted";
		return change_fail(ch, RX_STORAGE_FULL);
	}
	/* The caller: a key of a role the op allows, and the patient's card if
	 * one is presented.  A card that signs the request itself (LOG,
	 * NOMINATE) is checked by its step (st_portal_card). */
	if (!(info->callers & RX_CALLER_CARD)) {
		unsigned mask = info->callers & (RX_CALLER_PRESCRIBER | RX_CALLER_PHARMACY);
		if ((err = st_check_actor(ch->txn, s, c->actor, c->peer, mask, &ch->actor, ch->known,
					  out)) != RX_OK)
			return change_fail(ch, err);
		if (c->card) {
			if ((err = st_use_card(ch)) != RX_OK)
				return change_fail(ch, err);
			ch->wrote = 1;
		}
	}
	if ((err = steps[c->op](ch)) != RX_OK)
		return change_fail(ch, err);

	if (ch->dirty) {
		ch->r->updated_at = c->now;
		if ((rc = st_put_rx(ch->txn, s, ch->id, ch->r,
				    ch->stored ? (int)ch->stored->state : 0)) != 0) {
			out->why = "storage error writing the prescription";
			return change_fail(ch, from_mdb(rc));
		}
	}
	if (ch->id[0])
		st_rx_from_record(ch->id, ch->r, c->now, &out->rx);
	if (c->op == RX_OP_STATUS && memcmp(out->rx.claimer, c->actor, RX_KEY_LEN) != 0)
		memset(out->rx.claim_token, 0, RX_TOKEN_LEN); /* the claimer's secret */
	*pending = ch;
	return RX_OK;
}

/* See store.h. */
rx_err_t store_change_commit(store_pending_t **pending, const store_buf_t *reply)
{
	store_pending_t *ch = *pending;
	store_t *s = ch->s;
	const store_change_t *c = ch->c;
	store_outcome_t *out = ch->out;
	/* A plain read changes nothing and its reply is not kept; but it read
	 * patient data, so its audit entry is committed like any other. */
	int plain = rx_op_is_read(c->op) && !ch->wrote;
	int rc;

	*pending = NULL;
	if (!plain) {
		Rxstore__RequestRow row = RXSTORE__REQUEST_ROW__INIT;
		uint8_t tkey[8 + sizeof ch->rkey];
		row.version = 1;
		set_bytes(&row.call_hash, (uint8_t *)c->call_hash, RX_HASH_LEN);
		row.at = c->now;
		row.institution = (char *)(c->peer ? c->peer : "");
		set_bytes(&row.reply, reply->data, reply->len);
		be64(tkey, c->now);
		memcpy(tkey + 8, ch->rkey, sizeof ch->rkey);
		MDB_val k = val(ch->rkey, sizeof ch->rkey), tk = val(tkey, sizeof tkey), none = val("", 0);
		if ((rc = st_put_sealed(s, ch->txn, s->requests, "requests", &k, &row.base,
					MDB_NOOVERWRITE)) != 0 ||
		    (rc = mdb_put(ch->txn, s->requests_at, &tk, &none, 0)) != 0) {
			out->why = "storage error writing the reply";
			return change_fail(ch, from_mdb(rc));
		}
	}
	rc = c->heartbeat && c->op == RX_OP_WATCH
		     ? 0
		     : audit_request(ch->txn, s, c, RX_OK, ch->detail, ch->id, out->rx.patient_id,
				     ch->stored != NULL);
	if (rc != 0 && !plain) {
		out->why = "storage error writing the audit log";
		return change_fail(ch, from_mdb(rc));
	}
	/* A plain read is answered even when the disk refuses its audit entry:
	 * a pharmacist must see a prescription while storage is failing.  The
	 * broker's log records the read instead (out->audit_lost). */
	if (plain) {
		if (rc == 0)
			rc = mdb_txn_commit(ch->txn);
		else
			mdb_txn_abort(ch->txn);
		out->audit_lost = rc != 0;
		rc = 0;
	} else {
		/* Outside a batch this commit is the durable one: the guards
		 * follow it as they follow a batch's (guard.c). */
		if (ch->top)
			st_guard_begin(s, ch->txn);
		rc = mdb_txn_commit(ch->txn);
		if (ch->top)
			st_guard_end(s, rc == 0);
	}
	ch->txn = NULL;
	if (rc != 0) {
		out->why = "storage error committing the change";
		return change_fail(ch, from_mdb(rc));
	}
	if (c->op == RX_OP_SUBMIT && ch->seq)
		st_guard_add(s, c->issued_at, c->content_hash, ch->seq);
	pending_free(ch);
	return RX_OK;
}

/* See store.h. */
rx_err_t store_change_abort(store_pending_t **pending, rx_err_t err, const char *why)
{
	store_pending_t *ch = *pending;
	*pending = NULL;
	ch->out->why = why;
	return change_fail(ch, err);
}
