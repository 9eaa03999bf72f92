/* drugs: the drug master and the duplicate-medication rule (see drugs.h). */
#include "drugs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.pb-c.h"

#define LOAD_ID_KEY "drugs_load_id"
#define LOADED_AT_KEY "drugs_loaded_at"

static MDB_val key_of(const char *s)
{
	MDB_val k = {strlen(s), (void *)s};
	return k;
}

int drugs_active(MDB_txn *txn, const drugs_dbs_t *d)
{
	MDB_stat st;
	return mdb_stat(txn, d->master, &st) == 0 && st.ms_entries > 0;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* Decode a master row; NULL if it does not (the caller frees it). */
static Rxstore__DrugRecord *decode(const MDB_val *v)
{
	Rxstore__DrugRecord *r = rxstore__drug_record__unpack(NULL, v->mv_size, v->mv_data);
	if (r && r->version != 1) {
		rxstore__drug_record__free_unpacked(r, NULL);
		r = NULL;
	}
	return r;
}

/* ---- the rule ---- */

/* A code's normalised ingredients, if the master knows the code. */
typedef struct {
	int known;
	size_t n;
	char comp[RX_MAX_COMPONENTS][RX_INGREDIENT_MAX + 1];
} names_t;

/* What the master says of a product: its ingredients and strength. */
typedef struct {
	names_t names;
	char strength[RX_INGREDIENT_MAX + 1];
	int no_refill;
} product_t;

static rx_err_t product_of(MDB_txn *txn, const drugs_dbs_t *d, const char *code, product_t *p)
{
	MDB_val k = key_of(code), v;
	memset(p, 0, sizeof *p);
	int rc = mdb_get(txn, d->master, &k, &v);
	if (rc == MDB_NOTFOUND)
		return RX_OK;
	if (rc != 0)
		return RX_UNAVAILABLE;
	Rxstore__DrugRecord *r = decode(&v);
	if (r == NULL)
		return RX_UNAVAILABLE;
	p->names.n = rx_ingredient_components(r->ingredient, p->names.comp, RX_MAX_COMPONENTS);
	p->names.known = p->names.n > 0;
	copy_text(p->strength, sizeof p->strength, r->strength);
	p->no_refill = r->no_refill;
	rxstore__drug_record__free_unpacked(r, NULL);
	return RX_OK;
}

static rx_err_t names_of(MDB_txn *txn, const drugs_dbs_t *d, const char *code, names_t *out)
{
	product_t p;
	rx_err_t err = product_of(txn, d, code, &p);
	*out = p.names;
	return err;
}

/* The first ingredient a and b share, or NULL. */
static const char *shared(const names_t *a, const names_t *b)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (strcmp(a->comp[i], b->comp[j]) == 0)
				return a->comp[i];
	return NULL;
}

static void duplicate_message(store_warning_t *w)
{
	/* A very long ingredient name is cut here; the structured fields are whole. */
	if (w->ingredient[0])
		snprintf(w->message, sizeof w->message,
			     "%s and %s (prescription %s) both contain %.120s: %u days overlap", w->drug_code,
			     w->other_code, w->other_id, w->ingredient, w->overlap_days);
	else
		snprintf(w->message, sizeof w->message,
			     "%s and %s (prescription %s) have the same ingredient code %.7s: %u days overlap",
			     w->drug_code, w->other_code, w->other_id, w->drug_code, w->overlap_days);
}

/* Record a duplicate: one finding per (item, prescription, code), with the
 * longest overlap seen. */
static void add_duplicate(store_warning_t *out, size_t max, size_t *nout, uint32_t item,
			  const char *code, const drugs_taken_t *t, const char *ingredient, uint32_t overlap)
{
	for (size_t i = 0; i < *nout; i++) {
		store_warning_t *w = &out[i];
		if (w->kind == STORE_WARN_DUPLICATE && w->item == item && strcmp(w->other_id, t->id) == 0 &&
		    strcmp(w->other_code, t->code) == 0) {
			if (overlap > w->overlap_days) {
				w->overlap_days = overlap;
				duplicate_message(w);
			}
			return;
		}
	}
	if (*nout >= max)
		return;
	store_warning_t *w = &out[(*nout)++];
	memset(w, 0, sizeof *w);
	w->kind = STORE_WARN_DUPLICATE;
	w->item = item;
	copy_text(w->drug_code, sizeof w->drug_code, code);
	copy_text(w->other_id, sizeof w->other_id, t->id);
	copy_text(w->other_code, sizeof w->other_code, t->code);
	copy_text(w->ingredient, sizeof w->ingredient, ingredient);
	w->overlap_days = overlap;
	duplicate_message(w);
}

rx_err_t drugs_check(MDB_txn *txn, const drugs_dbs_t *d, const store_item_t *items, size_t n,
		     const drugs_taken_t *taken, size_t ntaken, store_warning_t *out, size_t max,
		     size_t *nout)
{
	names_t *mine = calloc(n ? n : 1, sizeof *mine), *other = malloc(sizeof *other);
	rx_err_t err = RX_OK;
	*nout = 0;
	if (mine == NULL || other == NULL) {
		free(mine);
		free(other);
		return RX_SYSTEM;
	}
	for (size_t i = 0; i < n && err == RX_OK; i++) {
		if ((err = names_of(txn, d, items[i].drug_code, &mine[i])) != RX_OK || mine[i].known ||
		    *nout >= max)
			continue;
		store_warning_t *w = &out[(*nout)++];
		memset(w, 0, sizeof *w);
		w->kind = STORE_WARN_UNKNOWN_DRUG;
		w->item = (uint32_t)i;
		copy_text(w->drug_code, sizeof w->drug_code, items[i].drug_code);
		snprintf(w->message, sizeof w->message,
			 "%s is not in the drug master: it was compared by its code prefix only",
			 w->drug_code);
	}
	for (size_t t = 0; t < ntaken && err == RX_OK; t++) {
		if ((err = names_of(txn, d, taken[t].code, other)) != RX_OK)
			break;
		for (size_t i = 0; i < n; i++) {
			const char *common = mine[i].known && other->known ? shared(&mine[i], other) : NULL;
			int same_prefix = strlen(items[i].drug_code) >= RX_DRUG_PREFIX_LEN &&
					  strncmp(items[i].drug_code, taken[t].code, RX_DRUG_PREFIX_LEN) == 0;
			if (common == NULL && !same_prefix)
				continue;
			if (common == NULL) /* the code says so; name the ingredient if either row is known */
				common = mine[i].known ? mine[i].comp[0] : other->known ? other->comp[0] : "";
			uint32_t overlap = items[i].days < taken[t].days_left ? items[i].days
									    : taken[t].days_left;
			add_duplicate(out, max, nout, (uint32_t)i, items[i].drug_code, &taken[t], common,
				      overlap);
		}
	}
	free(mine);
	free(other);
	return err;
}

/* ---- substitution (proto/README 5.10) ---- */

/* Every ingredient of a is one of b's (components are listed once each). */
static int within(const names_t *a, const names_t *b)
{
	for (size_t i = 0; i < a->n; i++) {
		size_t j = 0;
		while (j < b->n && strcmp(a->comp[i], b->comp[j]) != 0)
			j++;
		if (j == b->n)
			return 0;
	}
	return 1;
}

rx_err_t drugs_substitution(MDB_txn *txn, const drugs_dbs_t *d, uint32_t item, const char *prescribed,
			    unsigned marks, const char *handed, char *why, size_t whycap,
			    store_warning_t *out, size_t max, size_t *nout)
{
	product_t *p = calloc(2, sizeof *p); /* unknown to the master until read */
	rx_err_t err = RX_OK;
	if (p == NULL)
		return RX_SYSTEM;
	int active = drugs_active(txn, d);
	if (active && ((err = product_of(txn, d, prescribed, &p[0])) != RX_OK ||
		       (err = product_of(txn, d, handed, &p[1])) != RX_OK))
		goto done;
	/* One ingredient part of the code, or the same ingredients by the master
	 * (one ingredient listed under two classes; a combination's generic). */
	int same_ingredients = strncmp(prescribed, handed, RX_DRUG_PREFIX_LEN) == 0 ||
			       (p[0].names.known && p[1].names.known && within(&p[0].names, &p[1].names) &&
				within(&p[1].names, &p[0].names));
	/* The code's dosage-form letter (its 8th character). */
	int same_form = prescribed[RX_DRUG_PREFIX_LEN] == handed[RX_DRUG_PREFIX_LEN];
	/* The master's strengths when it lists both (a combination lists none),
	 * else the code's strength number within one ingredient and form. */
	int same_strength = p[0].strength[0] && p[1].strength[0]
				    ? strcmp(p[0].strength, p[1].strength) == 0
				    : strncmp(prescribed, handed, RX_DRUG_PREFIX_LEN + 2) == 0;
	if (marks & DRUGS_NO_CHANGE) {
		snprintf(why, whycap, "item %u is marked no change (変更不可%s): only the prescribed product "
				      "may be handed over", item + 1,
			 marks & DRUGS_MEDICAL_NECESSITY ? "（医療上必要）" : "");
		err = RX_SUBSTITUTION_NOT_ALLOWED;
	} else if (!same_ingredients) {
		snprintf(why, whycap, "item %u: the product handed over is not shown to have the prescribed "
				      "ingredient(s), by its code or the drug master", item + 1);
		err = RX_DIFFERENT_INGREDIENT;
	} else if ((marks & DRUGS_NO_FORM_CHANGE) && !same_form) {
		snprintf(why, whycap, "item %u is marked no change of dosage form (剤形変更不可)", item + 1);
		err = RX_SUBSTITUTION_NOT_ALLOWED;
	} else if ((marks & DRUGS_NO_STRENGTH_CHANGE) && !(same_form && same_strength)) {
		snprintf(why, whycap, "item %u is marked no change of strength (含量規格変更不可)", item + 1);
		err = RX_SUBSTITUTION_NOT_ALLOWED;
	} else if (active && !p[1].names.known && *nout < max) {
		store_warning_t *w = &out[(*nout)++];
		memset(w, 0, sizeof *w);
		w->kind = STORE_WARN_UNKNOWN_DRUG;
		w->item = item;
		copy_text(w->drug_code, sizeof w->drug_code, handed);
		snprintf(w->message, sizeof w->message,
			 "%s is not in the drug master: its ingredient was compared by its code only", handed);
	}
done:
	free(p);
	return err;
}

rx_err_t drugs_refillable(MDB_txn *txn, const drugs_dbs_t *d, const store_item_t *items, size_t n,
			  char *why, size_t whycap)
{
	product_t p;
	for (size_t i = 0; i < n; i++) {
		if (product_of(txn, d, items[i].drug_code, &p) != RX_OK)
			return RX_UNAVAILABLE;
		if (p.no_refill) {
			snprintf(why, whycap, "item %zu may not be on a refill prescription (the drug master "
					      "marks it no_refill: a statutory limit on its days, or a patch)", i + 1);
			return RX_NOT_REFILLABLE;
		}
	}
	return RX_OK;
}

/* ---- loading ---- */

static int put_row(MDB_txn *txn, MDB_dbi dbi, const rx_drug_row_t *row, unsigned flags)
{
	Rxstore__DrugRecord r = RXSTORE__DRUG_RECORD__INIT;
	r.version = 1;
	r.name_ja = (char *)row->name_ja;
	r.name_en = (char *)row->name_en;
	r.ingredient = (char *)row->ingredient;
	r.strength = (char *)row->strength;
	r.unit = (char *)row->unit;
	r.dosage_form = (char *)row->dosage_form;
	r.no_refill = rx_drug_no_refill(row);
	MDB_val k = {strlen(row->code), (void *)row->code},
		v = {rxstore__drug_record__get_packed_size(&r), NULL};
	int rc = mdb_put(txn, dbi, &k, &v, flags | MDB_RESERVE);
	if (rc == 0)
		rxstore__drug_record__pack(&r, v.mv_data);
	return rc;
}

/* Move the staged rows into the master, which they replace. */
static int swap_in(MDB_txn *txn, const drugs_dbs_t *d)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_drop(txn, d->master, 0);
	if (rc != 0 || (rc = mdb_cursor_open(txn, d->staging, &cur)) != 0)
		return rc;
	/* Staged rows come out in key order: appending is the cheap put. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if ((rc = mdb_put(txn, d->master, &k, &v, MDB_APPEND)) != 0)
			break;
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;
	return mdb_drop(txn, d->staging, 0);
}

rx_err_t drugs_load(MDB_txn *txn, const drugs_dbs_t *d, const uint8_t load_id[16],
		    const rx_drug_row_t *rows, size_t n, int commit, uint64_t expected, int64_t now,
		    uint64_t *count, size_t *bad)
{
	MDB_val k = key_of(LOAD_ID_KEY), v;
	MDB_stat st;
	int rc = mdb_get(txn, d->meta, &k, &v);
	*count = 0;
	*bad = 0;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return RX_UNAVAILABLE;
	/* Another load's parts (an interrupted one) are dropped: one load at a time. */
	if (rc == MDB_NOTFOUND || v.mv_size != 16 || memcmp(v.mv_data, load_id, 16) != 0) {
		MDB_val id = {16, (void *)load_id};
		if (mdb_drop(txn, d->staging, 0) != 0 || mdb_put(txn, d->meta, &k, &id, 0) != 0)
			return RX_UNAVAILABLE;
	}
	for (size_t i = 0; i < n; i++) {
		rc = put_row(txn, d->staging, &rows[i], MDB_NOOVERWRITE);
		if (rc == MDB_KEYEXIST) {
			*bad = i;
			return RX_CONFLICT;
		}
		if (rc != 0)
			return RX_UNAVAILABLE;
	}
	if (!commit)
		return RX_OK;
	if (mdb_stat(txn, d->staging, &st) != 0)
		return RX_UNAVAILABLE;
	if (st.ms_entries != expected)
		return RX_INVALID;
	uint8_t at[8];
	for (int i = 7, t = 0; i >= 0; i--, t += 8)
		at[i] = (uint8_t)((uint64_t)now >> t);
	MDB_val ak = key_of(LOADED_AT_KEY), av = {sizeof at, at};
	if (swap_in(txn, d) != 0 || mdb_del(txn, d->meta, &k, NULL) != 0 ||
	    mdb_put(txn, d->meta, &ak, &av, 0) != 0)
		return RX_UNAVAILABLE;
	*count = expected;
	return RX_OK;
}

/* ---- reading ---- */

static void drug_from(const MDB_val *k, const Rxstore__DrugRecord *r, store_drug_t *o)
{
	memset(o, 0, sizeof *o);
	size_t n = k->mv_size < RX_DRUG_CODE_LEN ? k->mv_size : RX_DRUG_CODE_LEN;
	memcpy(o->code, k->mv_data, n);
	copy_text(o->name_ja, sizeof o->name_ja, r->name_ja);
	copy_text(o->name_en, sizeof o->name_en, r->name_en);
	copy_text(o->ingredient, sizeof o->ingredient, r->ingredient);
	copy_text(o->strength, sizeof o->strength, r->strength);
	copy_text(o->unit, sizeof o->unit, r->unit);
	copy_text(o->dosage_form, sizeof o->dosage_form, r->dosage_form);
	o->no_refill = r->no_refill;
}

rx_err_t drugs_find(MDB_txn *txn, const drugs_dbs_t *d, const char *prefix, size_t max,
		    store_drug_t **out, size_t *n)
{
	MDB_cursor *cur;
	size_t plen = strlen(prefix), cap = 0;
	MDB_val k = {plen, (void *)prefix}, v;
	rx_err_t err = RX_OK;
	int rc;
	*out = NULL;
	*n = 0;
	if (plen == 0 || mdb_cursor_open(txn, d->master, &cur) != 0)
		return plen == 0 ? RX_INVALID : RX_UNAVAILABLE;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && *n < max && k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		Rxstore__DrugRecord *r = decode(&v);
		if (r == NULL) {
			err = RX_UNAVAILABLE;
			break;
		}
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			store_drug_t *g = realloc(*out, ncap * sizeof **out);
			if (g == NULL) {
				rxstore__drug_record__free_unpacked(r, NULL);
				err = RX_SYSTEM;
				break;
			}
			*out = g;
			cap = ncap;
		}
		drug_from(&k, r, &(*out)[(*n)++]);
		rxstore__drug_record__free_unpacked(r, NULL);
	}
	mdb_cursor_close(cur);
	if (err != RX_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}

rx_err_t drugs_info(MDB_txn *txn, const drugs_dbs_t *d, uint64_t *count, int64_t *loaded_at)
{
	MDB_stat st;
	MDB_val k = key_of(LOADED_AT_KEY), v;
	*count = 0;
	*loaded_at = 0;
	if (mdb_stat(txn, d->master, &st) != 0)
		return RX_UNAVAILABLE;
	*count = st.ms_entries;
	int rc = mdb_get(txn, d->meta, &k, &v);
	if (rc == 0 && v.mv_size == 8) {
		uint64_t t = 0;
		for (int i = 0; i < 8; i++)
			t = t << 8 | ((const uint8_t *)v.mv_data)[i];
		*loaded_at = (int64_t)t;
	} else if (rc != 0 && rc != MDB_NOTFOUND) {
		return RX_UNAVAILABLE;
	}
	return RX_OK;
}
