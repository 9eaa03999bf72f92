/* wire: store records to wire messages (see wire.h). */
#include "wire.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#include "rx_drugs.h"

/* One zeroed allocation: n pointers, then (aligned for any type) n
 * messages of size bytes each; *messages gets the first message.  A list
 * and its messages live and die together, so one free() releases both. */
static void *list_alloc(size_t n, size_t size, void **messages)
{
	if (n > SIZE_MAX / 2 / (size + sizeof(void *)))
		return NULL;
	size_t head = n * sizeof(void *);
	head = (head + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t);
	char *block = calloc(1, head + n * size ? head + n * size : 1);
	if (block == NULL)
		return NULL;
	*messages = block + head;
	return block;
}

/* NAME(records, n), for wire.h: the list of n messages of type T, made in
 * elements of element_t (T itself, or a struct that begins with a T and
 * holds what it points to) by fill(&records[i], &element[i]). */
#define WIRE_LIST(NAME, T, element_t, record_t, fill)                      \
	T **NAME(const record_t *records, size_t n)                         \
	{                                                                   \
		void *messages;                                             \
		T **list = list_alloc(n, sizeof(element_t), &messages);     \
		if (list == NULL)                                           \
			return NULL;                                        \
		element_t *m = messages;                                    \
		for (size_t i = 0; i < n; i++) {                            \
			fill(&records[i], &m[i]);                           \
			list[i] = (T *)&m[i];                               \
		}                                                           \
		return list;                                                \
	}

static void summary(const store_rx_t *x, Rx__Summary *sm)
{
	rx__summary__init(sm);
	sm->prescription_id = (char *)x->id;
	sm->state = (Rx__State)x->state;
	sm->uses = x->uses;
	sm->uses_left = x->uses_left;
	sm->issued_at = x->issued_at;
	sm->valid_until = x->valid_until;
	sm->opens_at = x->opens_at;
	sm->institution_code = (char *)x->institution;
	sm->cancel_pending = x->cancel_pending;
	sm->cancel_reason = (Rx__CancelReason)x->cancel_reason;
}


static void audit_info(const store_audit_t *e, Rx__AuditInfo *ai)
{
	rx__audit_info__init(ai);
	ai->seq = e->seq;
	ai->at = e->at;
	if (e->has_actor) {
		ai->actor_key.data = (uint8_t *)e->actor;
		ai->actor_key.len = RX_KEY_LEN;
	}
	ai->institution_code = (char *)e->institution;
	ai->action = (char *)e->action;
	ai->prescription_id = (char *)e->id;
	ai->patient_id = (char *)e->patient;
	/* A local code (SYSTEM) in the log travels as UNAVAILABLE. */
	ai->outcome = (Rx__Status)(rx_err_is_wire(e->outcome) ? e->outcome : RX_UNAVAILABLE);
	ai->detail = (char *)e->detail;
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


static void card_info(const store_card_t *c, Rx__CardInfo *ci)
{
	rx__card_info__init(ci);
	ci->card.data = (uint8_t *)c->card;
	ci->card.len = RX_KEY_LEN;
	ci->patient_id = (char *)c->patient_id;
	ci->revoked = c->revoked;
	ci->enrolled_at = c->enrolled_at;
	ci->revoked_at = c->revoked_at;
}


/* A drug's message and the components it points to, kept together. */
typedef struct {
	Rx__DrugInfo info;
	char *components[RX_MAX_COMPONENTS];
	char names[RX_MAX_COMPONENTS][RX_INGREDIENT_MAX + 1];
} drug_message_t;

static void drug_info(const store_drug_t *dr, drug_message_t *dm)
{
	Rx__DrugInfo *di = &dm->info;
	rx__drug_info__init(di);
	di->code = (char *)dr->code;
	di->name_ja = (char *)dr->name_ja;
	di->name_en = (char *)dr->name_en;
	di->ingredient = (char *)dr->ingredient;
	di->strength = (char *)dr->strength;
	di->unit = (char *)dr->unit;
	di->dosage_form = (char *)dr->dosage_form;
	di->no_refill = dr->no_refill;
	di->n_components = rx_ingredient_components(dr->ingredient, dm->names, RX_MAX_COMPONENTS);
	di->components = dm->components;
	for (size_t c = 0; c < di->n_components; c++)
		di->components[c] = dm->names[c];
}

void wire_stats(const store_stats_t *s, Rx__Stats *st)
{
	rx__stats__init(st);
	st->prescriptions = s->prescriptions;
	st->issued = s->by_state[RX_STATE_ISSUED];
	st->claimed = s->by_state[RX_STATE_CLAIMED];
	st->dispensed = s->by_state[RX_STATE_DISPENSED];
	st->cancelled = s->by_state[RX_STATE_CANCELLED];
	st->expired = s->by_state[RX_STATE_EXPIRED];
	st->partially_dispensed = s->by_state[RX_STATE_PARTIAL];
	st->dispense_records = s->dispense_records;
	st->patients = s->patients;
	st->keys = s->keys;
	st->map_used = s->map_used;
	st->map_size = s->map_size;
	st->institutions = s->institutions;
	st->cards = s->cards;
	st->audit_entries = s->audit_entries;
	st->notices_pending = s->notices;
	st->nominations = s->nominations;
	st->map_free = s->space.free;
	st->map_reserve = s->space.reserve;
	st->storage_full = s->space.nearly_full;
	st->replies_stored = s->replies;
	st->replies_prunable = s->replies_due;
	st->nonces_stored = s->nonces;
	st->nonces_prunable = s->nonces_due;
}

void wire_verdict(const store_verdict_t *verdict, Rx__AuditVerdict *v)
{
	rx__audit_verdict__init(v);
	v->ok = verdict->ok;
	v->checked = verdict->checked;
	v->first_bad = verdict->first_bad;
	v->why = (char *)(verdict->why ? verdict->why : "");
	v->signed_seq = verdict->signed_seq;
	v->signed_at = verdict->signed_at;
}

WIRE_LIST(wire_summaries, Rx__Summary, Rx__Summary, store_rx_t, summary)
WIRE_LIST(wire_audit_infos, Rx__AuditInfo, Rx__AuditInfo, store_audit_t, audit_info)
WIRE_LIST(wire_key_infos, Rx__KeyInfo, Rx__KeyInfo, store_key_t, key_info)
WIRE_LIST(wire_institution_infos, Rx__InstitutionInfo, Rx__InstitutionInfo, store_institution_t,
	  institution_info)
WIRE_LIST(wire_card_infos, Rx__CardInfo, Rx__CardInfo, store_card_t, card_info)
WIRE_LIST(wire_drug_infos, Rx__DrugInfo, drug_message_t, store_drug_t, drug_info)
