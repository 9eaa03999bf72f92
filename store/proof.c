/* store/proof.c: who may do what, the one place for access policy.
 *
 * A request names its caller twice, by the key that signed it and by the
 * institution its connection authenticated as; both must agree and be in
 * good standing (st_check_institution, st_check_actor).  The patient is
 * present by their card (st_use_card: enrolled, unrevoked, for this
 * purpose, its assertion used once) or by the slip's access code
 * (check_code: five wrong codes lock it, every attempt is kept).  Which of
 * these a prescription's reader needs is st_may_access's to say. */
#include "store_int.h"

#include <lmdb.h>
#include <sodium.h>
#include <string.h>

#include "records.pb-c.h"
#include "rx_ids.h"
#include "rx_ops.h"

/* See store_int.h. */
rx_err_t st_check_actor(MDB_txn *txn, store_t *s, const uint8_t *actor, const char *peer,
			unsigned mask, store_key_t *k, int known, store_outcome_t *out)
{
	rx_err_t err = known ? RX_OK : st_get_key(txn, s, actor, k);
	if (err == RX_NOT_FOUND)
		RETURN_REFUSAL(RX_UNKNOWN_KEY, "the signing key is not registered");
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the key registry");
	if (k->revoked)
		RETURN_REFUSAL(RX_KEY_REVOKED, "the signing key has been revoked");
	if (!(mask & (1u << k->role)))
		RETURN_REFUSAL(RX_PERMISSION_DENIED, k->role == RX_ROLE_PHARMACY
						     ? "a pharmacy key may not do this"
						     : "a prescriber key may not do this");
	/* A stolen signing key is useless through another institution's
	 * connection: the transport key and the signing key must agree. */
	if (peer == NULL || strcmp(peer, k->institution) != 0)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "this key belongs to another institution than this connection's");
	store_institution_t inst;
	err = st_get_institution(txn, s, peer, &inst);
	if (err == RX_NOT_FOUND)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "the connection's institution is not registered");
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the institution registry");
	if (inst.revoked)
		RETURN_REFUSAL(RX_KEY_REVOKED, "the institution has been revoked");
	return RX_OK;
}



/* See store_int.h.  For a card signing itself (st_portal_card) ch->actor
 * is all zero: no key's role is involved. */
rx_err_t st_use_card(store_pending_t *ch)
{
	MDB_txn *txn = ch->txn;
	store_t *s = ch->s;
	const store_change_t *c = ch->c;
	const store_key_t *actor = &ch->actor;
	char *patient = ch->patient;
	store_outcome_t *out = ch->out;
	const store_assertion_t *a = c->card;
	MDB_val k = val(a->card, RX_KEY_LEN), v;
	int rc = mdb_get(txn, s->cards, &k, &v);
	if (rc == MDB_NOTFOUND)
		RETURN_REFUSAL(RX_CARD_UNKNOWN, "this card is not enrolled");
	if (rc != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error reading the card registry");
	Rxstore__CardRecord *card =
		(Rxstore__CardRecord *)st_open_sealed(s, "cards", &k, &v, &rxstore__card_record__descriptor);
	if (card == NULL)
		RETURN_REFUSAL(RX_UNAVAILABLE, "a card record cannot be read");
	int revoked = card->revoked;
	copy_str(patient, RX_PATIENT_ID_LEN + 1, card->patient_id);
	rxstore__card_record__free_unpacked(card, NULL);
	if (revoked)
		RETURN_REFUSAL(RX_CARD_REVOKED, "this card has been revoked");

	int fits;
	if (c->op == RX_OP_SUBMIT)
		fits = a->purpose == STORE_PURPOSE_ISSUE;
	else if (c->op == RX_OP_LOG || c->op == RX_OP_PATIENT_LIST || c->op == RX_OP_PATIENT_STATUS)
		fits = a->purpose == STORE_PURPOSE_VIEW;
	else if (c->op == RX_OP_NOMINATE)
		fits = a->purpose == STORE_PURPOSE_NOMINATE;
	else if (actor->role == RX_ROLE_PHARMACY)
		fits = a->purpose == STORE_PURPOSE_DISPENSE;
	else
		fits = a->purpose == STORE_PURPOSE_ISSUE || a->purpose == STORE_PURPOSE_VIEW;
	if (!fits)
		RETURN_REFUSAL(RX_ASSERTION_MISMATCH, "the card assertion was made for another purpose");

	/* The card signed its time with the nonce, so the same assertion always
	 * comes back under the same (time, nonce) key: one index, in time
	 * order, both refuses replays and prunes, and a new entry lands at its
	 * end instead of on a random page (earlier versions also kept a nonces
	 * index, which st_prune_nonces empties). */
	uint8_t tkey[24];
	MDB_val none = val("", 0);
	if (c->now > s->time_hw)
		s->time_hw = c->now;
	/* Older than the nonces still kept: it could be a replay of a pruned
	 * one (the clock was stepped back since). */
	if (a->at < s->time_hw - NONCE_KEEP)
		RETURN_REFUSAL(RX_ASSERTION_STALE, "the card assertion is older than the broker's clock has already been");
	be64(tkey, a->at);
	memcpy(tkey + 8, a->nonce, 16);
	MDB_val tk = val(tkey, sizeof tkey);
	if ((rc = mdb_put(txn, s->nonce_times, &tk, &none, MDB_NOOVERWRITE)) == MDB_KEYEXIST)
		RETURN_REFUSAL(RX_ASSERTION_REPLAYED, "this card assertion was already used");
	if (rc != 0 || (rc = st_prune_nonces(txn, s, 16, NULL)) != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error recording the card assertion");
	return RX_OK;
}

/* See store_int.h. */
void st_code_hash(store_t *s, const char *id, const char *code, uint8_t out[RX_HASH_LEN])
{
	rx_access_code_hash(s->code_key, id, code, out);
}

/* Record one access-code attempt; every one is kept, beside the
 * prescription's record in rx (store_int.h), whose page a code CLAIM
 * rewrites anyway. */
static int log_attempt(MDB_txn *txn, store_t *s, const store_change_t *c, const char *id, int ok)
{
	uint8_t key[RX_ID_LEN + 8 + 4];
	st_rxkey_t rk;
	int rc = st_rx_key(txn, s, id, &rk);
	if (rc != 0)
		return rc;
	memcpy(key, rk.b, rk.len);
	be64(key + rk.len, c->now);
	randombytes_buf(key + rk.len + 8, 4);
	Rxstore__AccessAttempt a = RXSTORE__ACCESS_ATTEMPT__INIT;
	a.version = 1;
	a.at = c->now;
	a.pharmacy_key.data = (uint8_t *)c->actor;
	a.pharmacy_key.len = RX_KEY_LEN;
	a.institution_code = (char *)(c->peer ? c->peer : "");
	a.ok = ok;
	MDB_val k = val(key, rk.len + 8 + 4);
	rc = put_msg(txn, s->rx, &k, &a.base, 0);
	return rc != 0 ? rc : st_rows_add(txn, s, "rx_attempts");
}

/* The slip's code for ch->r.  A wrong code counts against the prescription;
 * the fifth locks code access to it until an operator unlocks it.
 * Refusals set out->commit: the count and the record of the attempt are
 * kept although the request is refused.  ch->dirty is set when the record
 * changed. */
static rx_err_t check_code(store_pending_t *ch)
{
	const store_change_t *c = ch->c;
	Rxstore__RxRecord *r = ch->r;
	store_outcome_t *out = ch->out;
	uint8_t h[RX_HASH_LEN];
	int rc;
	if (r->code_locked) {
		if ((rc = log_attempt(ch->txn, ch->s, c, ch->id, 0)) != 0)
			RETURN_REFUSAL(from_mdb(rc), "storage error recording the attempt");
		out->commit = 1;
		RETURN_REFUSAL(RX_ACCESS_LOCKED, "code access to this prescription is locked; an operator must unlock it");
	}
	st_code_hash(ch->s, ch->id, c->access_code, h);
	int ok = r->access_hash.len == RX_HASH_LEN && sodium_memcmp(h, r->access_hash.data, RX_HASH_LEN) == 0;
	if ((rc = log_attempt(ch->txn, ch->s, c, ch->id, ok)) != 0)
		RETURN_REFUSAL(from_mdb(rc), "storage error recording the attempt");
	if (ok)
		return RX_OK;
	r->code_failures++;
	if (r->code_failures >= STORE_MAX_CODE_FAILURES)
		r->code_locked = 1;
	ch->dirty = 1;
	out->commit = 1;
	RETURN_REFUSAL(RX_BAD_ACCESS_CODE, r->code_locked ? "wrong access code; code access is now locked"
						  : "wrong access code");
}

/* See store_int.h.  ch->patient: the card's patient if a card was used,
 * else "".  Without proof: the issuer may look; the claimer may look and
 * claim again; a pharmacy that dispensed it may look; the patient's
 * nominated pharmacy may look and claim.  With the card: the card's patient
 * must be the prescription's.  With the code: it must be right. */
rx_err_t st_may_access(store_pending_t *ch)
{
	const store_change_t *c = ch->c;
	const Rxstore__RxRecord *r = ch->r;
	store_outcome_t *out = ch->out;
	int claimer = st_held((int)r->state) && r->claimer_key.len == RX_KEY_LEN &&
		      memcmp(r->claimer_key.data, c->actor, RX_KEY_LEN) == 0;
	if (ch->patient[0]) {
		if (strcmp(ch->patient, r->patient_id) != 0)
			RETURN_REFUSAL(RX_ASSERTION_MISMATCH, "the card is another patient's");
		return RX_OK;
	}
	if (c->access_code) {
		rx_err_t err = check_code(ch);
		/* Every attempt is kept, even when the request is refused later. */
		ch->wrote = 1;
		out->commit = 1;
		return err;
	}
	if (ch->actor.role == RX_ROLE_PRESCRIBER) {
		if (memcmp(r->prescriber_key.data, c->actor, RX_KEY_LEN) == 0 && c->op == RX_OP_STATUS)
			return RX_OK;
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "a prescriber may only look at prescriptions they issued");
	}
	if (claimer || (c->op == RX_OP_STATUS && st_dispensed_by(ch->txn, ch->s, ch->id, r, c->actor, NULL)))
		return RX_OK;
	/* The patient chose this pharmacy with their card: it may prepare the
	 * medicine before they come in. */
	char nominated[RX_INSTITUTION_MAX + 1];
	rx_err_t err = st_get_nomination(ch->txn, ch->s, r->patient_id, nominated);
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the patient's nomination");
	if (nominated[0] && strcmp(nominated, ch->actor.institution) == 0)
		return RX_OK;
	RETURN_REFUSAL(RX_PERMISSION_DENIED, "present the patient's card or the access code on the slip");
}

/* See store_int.h. */
rx_err_t st_check_institution(MDB_txn *txn, store_t *s, const uint8_t *actor, const char *peer,
			      store_key_t *k, int *known, store_outcome_t *out)
{
	rx_err_t err = st_get_key(txn, s, actor, k);
	*known = err == RX_OK;
	if (err == RX_NOT_FOUND)
		return RX_OK;
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the key registry");
	if (peer == NULL || strcmp(peer, k->institution) != 0)
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "this key belongs to another institution than this connection's");
	return RX_OK;
}

/* See store_int.h.  Refusals: PERMISSION_DENIED (not a portal's
 * connection), KEY_REVOKED (portal revoked), INVALID (no card),
 * ASSERTION_MISMATCH (signed by another card), and the card's own. */
rx_err_t st_portal_card(store_pending_t *ch)
{
	const store_change_t *c = ch->c;
	store_outcome_t *out = ch->out;
	store_institution_t inst;
	rx_err_t err = c->peer ? st_get_institution(ch->txn, ch->s, c->peer, &inst) : RX_NOT_FOUND;
	if (err == RX_NOT_FOUND || (err == RX_OK && inst.kind != STORE_PORTAL))
		RETURN_REFUSAL(RX_PERMISSION_DENIED, "a patient's own requests come through a patient portal");
	if (err != RX_OK)
		RETURN_REFUSAL(err, "storage error reading the institution registry");
	if (inst.revoked)
		RETURN_REFUSAL(RX_KEY_REVOKED, "the portal has been revoked");
	if (c->card == NULL)
		RETURN_REFUSAL(RX_INVALID, c->op == RX_OP_NOMINATE
					   ? "NOMINATE needs the patient's card assertion (purpose nominate)"
					   : "a patient's read needs the patient's card assertion (purpose view)");
	if (memcmp(c->card->card, c->actor, RX_KEY_LEN) != 0)
		RETURN_REFUSAL(RX_ASSERTION_MISMATCH, "the request must be signed by the card it presents");
	memset(&ch->actor, 0, sizeof ch->actor);
	return st_use_card(ch);
}
