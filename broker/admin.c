/* admin: key registry, enrollment and stats for rxctl (see admin.h). */
#include "admin.h"

#include <stdlib.h>
#include <string.h>

#include "rx.pb-c.h"
#include "rx_check.h"
#include "rx_ids.h"

static rx_err_t pack(const Rx__AdminReply *r, store_buf_t *out)
{
	out->len = rx__admin_reply__get_packed_size(r);
	if ((out->data = malloc(out->len ? out->len : 1)) == NULL)
		return RX_SYSTEM;
	rx__admin_reply__pack(r, out->data);
	return RX_OK;
}

static void key_info(const store_key_t *k, Rx__KeyInfo *ki)
{
	rx__key_info__init(ki);
	ki->key.data = (uint8_t *)k->key;
	ki->key.len = RX_KEY_LEN;
	ki->role = (Rx__Role)k->role;
	ki->institution_code = (char *)k->institution;
	ki->name = (char *)k->name;
	ki->revoked = k->revoked;
	ki->added_at = k->added_at;
	ki->revoked_at = k->revoked_at;
}

static void institution_info(const store_institution_t *in, Rx__InstitutionInfo *ii)
{
	rx__institution_info__init(ii);
	ii->code = (char *)in->code;
	ii->kind = (Rx__InstitutionKind)in->kind;
	ii->name = (char *)in->name;
	ii->curve_key.data = (uint8_t *)in->curve_key;
	ii->curve_key.len = 32;
	ii->revoked = in->revoked;
	ii->added_at = in->added_at;
	ii->revoked_at = in->revoked_at;
}

#define REFUSE(code, text)           \
	do {                         \
		r.status = (Rx__Status)(code); \
		r.message = (char *)(text); \
		goto reply;          \
	} while (0)

rx_err_t admin_request(const admin_t *a, const uint8_t *frame, size_t len, int64_t now,
		       store_buf_t *reply, rx_err_t *status, int *op)
{
	Rx__AdminReply r = RX__ADMIN_REPLY__INIT;
	Rx__AdminRequest *q = NULL;
	store_key_t k, *keys = NULL;
	Rx__KeyInfo *infos = NULL, **ptrs = NULL;
	store_institution_t inst, *insts = NULL;
	Rx__InstitutionInfo *iinfos = NULL, **iptrs = NULL;
	store_card_t *cards = NULL;
	Rx__CardInfo *cinfos = NULL, **cptrs = NULL;
	Rx__Stats st = RX__STATS__INIT;
	char pid[RX_PATIENT_ID_LEN + 1];
	size_t n = 0;
	rx_err_t err;

	*op = 0;
	if (len == 0 || len > RX_MAX_FRAME ||
	    (q = rx__admin_request__unpack(NULL, len, frame)) == NULL)
		REFUSE(RX_INVALID, "not a valid rx.AdminRequest protobuf");
	*op = (int)q->op;

	switch (q->op) {
	/* KEY_ADD key{key, role, institution_code, name}: register a signing key.
	 * Refusals: INVALID, CONFLICT (already registered). */
	case RX__ADMIN_OP__KEY_ADD:
		if (q->key == NULL || q->key->key.len != RX_KEY_LEN)
			REFUSE(RX_INVALID, "key must be 32 bytes");
		if (q->key->role != RX__ROLE__PRESCRIBER && q->key->role != RX__ROLE__PHARMACY)
			REFUSE(RX_INVALID, "role must be prescriber or pharmacy");
		if (rx_institution_valid(q->key->institution_code) != RX_OK)
			REFUSE(RX_INVALID, "institution code must be 1..32 of [0-9A-Za-z-]");
		if (rx_check_text(q->key->name, RX_NAME_MAX, 1) != RX_OK)
			REFUSE(RX_INVALID, "name must be 1..128 bytes of UTF-8 text");
		memset(&k, 0, sizeof k);
		memcpy(k.key, q->key->key.data, RX_KEY_LEN);
		k.role = (int)q->key->role;
		strcpy(k.institution, q->key->institution_code);
		strcpy(k.name, q->key->name);
		k.added_at = now;
		if ((err = store_key_add(a->store, &k)) != RX_OK)
			REFUSE(err, err == RX_CONFLICT	   ? "this key is already registered"
				    : err == RX_NOT_FOUND ? "register the institution first (institution add)"
				    : err == RX_INVALID	   ? "prescriber keys belong to clinics, pharmacy keys to pharmacies"
							   : "storage error");
		break;
	/* INSTITUTION_ADD institution{code, kind, name, curve_key}: register a
	 * clinic or pharmacy and the CurveZMQ key its connections present.
	 * Refusals: INVALID, CONFLICT (code or curve key taken). */
	case RX__ADMIN_OP__INSTITUTION_ADD: {
		const Rx__InstitutionInfo *ii = q->institution;
		if (ii == NULL || rx_institution_valid(ii->code) != RX_OK)
			REFUSE(RX_INVALID, "institution code must be 1..32 of [0-9A-Za-z-]");
		if (ii->kind != RX__INSTITUTION_KIND__CLINIC && ii->kind != RX__INSTITUTION_KIND__PHARMACY_SITE)
			REFUSE(RX_INVALID, "kind must be clinic or pharmacy");
		if (rx_check_text(ii->name, RX_NAME_MAX, 1) != RX_OK)
			REFUSE(RX_INVALID, "name must be 1..128 bytes of UTF-8 text");
		if (ii->curve_key.len != 32)
			REFUSE(RX_INVALID, "curve key must be 32 bytes (40 characters of Z85)");
		memset(&inst, 0, sizeof inst);
		strcpy(inst.code, ii->code);
		inst.kind = (int)ii->kind;
		strcpy(inst.name, ii->name);
		memcpy(inst.curve_key, ii->curve_key.data, 32);
		inst.added_at = now;
		if ((err = store_institution_add(a->store, &inst)) != RX_OK)
			REFUSE(err, err == RX_CONFLICT ? "this code or curve key is already registered"
						       : "storage error");
		break;
	}
	/* INSTITUTION_REVOKE institution{code}: its connections are refused from
	 * now on (new ones by ZAP, open ones at their next request). */
	case RX__ADMIN_OP__INSTITUTION_REVOKE:
		if (q->institution == NULL || rx_institution_valid(q->institution->code) != RX_OK)
			REFUSE(RX_INVALID, "institution code must be 1..32 of [0-9A-Za-z-]");
		if ((err = store_institution_revoke(a->store, q->institution->code, now)) != RX_OK)
			REFUSE(err, err == RX_NOT_FOUND ? "no such institution" : "storage error");
		break;
	case RX__ADMIN_OP__INSTITUTION_LIST:
		if ((err = store_institution_list(a->store, &insts, &n)) != RX_OK)
			REFUSE(err, "storage error");
		iinfos = calloc(n ? n : 1, sizeof *iinfos);
		iptrs = calloc(n ? n : 1, sizeof *iptrs);
		if (iinfos == NULL || iptrs == NULL)
			REFUSE(RX_UNAVAILABLE, "out of memory");
		for (size_t i = 0; i < n; i++) {
			institution_info(&insts[i], &iinfos[i]);
			iptrs[i] = &iinfos[i];
		}
		r.n_institutions = n;
		r.institutions = iptrs;
		break;
	/* KEY_REVOKE key{key}: refusals NOT_FOUND, INVALID. */
	case RX__ADMIN_OP__KEY_REVOKE:
		if (q->key == NULL || q->key->key.len != RX_KEY_LEN)
			REFUSE(RX_INVALID, "key must be 32 bytes");
		if ((err = store_key_revoke(a->store, q->key->key.data, now)) != RX_OK)
			REFUSE(err, err == RX_NOT_FOUND ? "no such key" : "storage error");
		break;
	/* KEY_LIST: every registered key. */
	case RX__ADMIN_OP__KEY_LIST:
		if ((err = store_key_list(a->store, &keys, &n)) != RX_OK)
			REFUSE(err, "storage error");
		infos = calloc(n ? n : 1, sizeof *infos);
		ptrs = calloc(n ? n : 1, sizeof *ptrs);
		if (infos == NULL || ptrs == NULL)
			REFUSE(RX_UNAVAILABLE, "out of memory");
		for (size_t i = 0; i < n; i++) {
			key_info(&keys[i], &infos[i]);
			ptrs[i] = &infos[i];
		}
		r.n_keys = n;
		r.keys = ptrs;
		break;
	/* PATIENT_ENROLL patient_id: the pseudonym rxctl derived; rxd never
	 * sees a My Number.  Refusals: INVALID. */
	case RX__ADMIN_OP__PATIENT_ENROLL: {
		int created = 0;
		if (rx_patient_id_parse(q->patient_id, pid) != RX_OK)
			REFUSE(RX_INVALID, "patient id is malformed");
		if ((err = store_patient_enroll(a->store, pid, now, &created)) != RX_OK)
			REFUSE(err, "storage error");
		r.patient_id = pid;
		r.created = created;
		break;
	}
	/* CARD_ENROLL card patient_id: bind a patient's card.  Refusals:
	 * INVALID, NOT_FOUND (patient not enrolled), CONFLICT (card seen before). */
	case RX__ADMIN_OP__CARD_ENROLL:
		if (q->card.len != RX_KEY_LEN)
			REFUSE(RX_INVALID, "card key must be 32 bytes");
		if (rx_patient_id_parse(q->patient_id, pid) != RX_OK)
			REFUSE(RX_INVALID, "patient id is malformed");
		if ((err = store_card_enroll(a->store, q->card.data, pid, now)) != RX_OK)
			REFUSE(err, err == RX_NOT_FOUND  ? "the patient is not enrolled"
				    : err == RX_CONFLICT ? "this card was enrolled before (a re-issued card has a new key)"
							 : "storage error");
		r.patient_id = pid;
		break;
	/* CARD_REVOKE card: a lost card stops working at once. */
	case RX__ADMIN_OP__CARD_REVOKE:
		if (q->card.len != RX_KEY_LEN)
			REFUSE(RX_INVALID, "card key must be 32 bytes");
		if ((err = store_card_revoke(a->store, q->card.data, now)) != RX_OK)
			REFUSE(err, err == RX_NOT_FOUND ? "no such card" : "storage error");
		break;
	case RX__ADMIN_OP__CARD_LIST:
		if ((err = store_card_list(a->store, &cards, &n)) != RX_OK)
			REFUSE(err, "storage error");
		cinfos = calloc(n ? n : 1, sizeof *cinfos);
		cptrs = calloc(n ? n : 1, sizeof *cptrs);
		if (cinfos == NULL || cptrs == NULL)
			REFUSE(RX_UNAVAILABLE, "out of memory");
		for (size_t i = 0; i < n; i++) {
			rx__card_info__init(&cinfos[i]);
			cinfos[i].card.data = cards[i].card;
			cinfos[i].card.len = RX_KEY_LEN;
			cinfos[i].patient_id = cards[i].patient_id;
			cinfos[i].revoked = cards[i].revoked;
			cinfos[i].enrolled_at = cards[i].enrolled_at;
			cinfos[i].revoked_at = cards[i].revoked_at;
			cptrs[i] = &cinfos[i];
		}
		r.n_cards = n;
		r.cards = cptrs;
		break;
	/* RX_UNLOCK prescription_id: code access works again after 5 wrong codes. */
	case RX__ADMIN_OP__RX_UNLOCK: {
		char id[RX_ID_LEN + 1];
		if (rx_rxid_parse(q->prescription_id, id) != RX_OK)
			REFUSE(RX_INVALID, "prescription id is malformed or its check character is wrong");
		if ((err = store_rx_unlock(a->store, id, now)) != RX_OK)
			REFUSE(err, err == RX_NOT_FOUND ? "no prescription has this id" : "storage error");
		break;
	}
	/* STATS: counts, map use, uptime. */
	case RX__ADMIN_OP__STATS: {
		store_stats_t s;
		if ((err = store_stats(a->store, now, &s)) != RX_OK)
			REFUSE(err, "storage error");
		st.version = (char *)RX_VERSION;
		st.broker_key.data = (uint8_t *)a->key->pk;
		st.broker_key.len = RX_KEY_LEN;
		st.started_at = a->started_at;
		st.requests = a->requests;
		st.prescriptions = s.prescriptions;
		st.issued = s.by_state[RX_STATE_ISSUED];
		st.claimed = s.by_state[RX_STATE_CLAIMED];
		st.dispensed = s.by_state[RX_STATE_DISPENSED];
		st.cancelled = s.by_state[RX_STATE_CANCELLED];
		st.expired = s.by_state[RX_STATE_EXPIRED];
		st.dispense_records = s.dispense_records;
		st.patients = s.patients;
		st.keys = s.keys;
		st.map_used = s.map_used;
		st.map_size = s.map_size;
		st.curve_key = (char *)(a->curve_key ? a->curve_key : "");
		st.institutions = s.institutions;
		st.cards = s.cards;
		r.stats = &st;
		break;
	}
	default:
		REFUSE(RX_INVALID, "unknown admin op");
	}
reply:
	*status = (rx_err_t)r.status;
	err = pack(&r, reply);
	free(infos);
	free(ptrs);
	free(keys);
	free(iinfos);
	free(iptrs);
	free(insts);
	free(cinfos);
	free(cptrs);
	free(cards);
	if (q)
		rx__admin_request__free_unpacked(q, NULL);
	return err;
}
