/* A patient's prescriptions (store/store.c's LIST and the duplicate-
 * medication check over them, store/drugs.c's drug master; patients.c once
 * the store is split): LIST shows the open ones only, a SUBMIT that adds an
 * ingredient already taken is refused unless overridden, a CLAIM carries
 * the warnings. */
#include "rx.pb-c.h"

#include "store_world.h"

/* ---- LIST ---- */

START_TEST(list_open_only)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char issued[RX_ID_LEN + 1], claimed[RX_ID_LEN + 1], dispensed[RX_ID_LEN + 1];
	char cancelled[RX_ID_LEN + 1], expired[RX_ID_LEN + 1], elsewhere[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	store_rx_t *list = NULL;
	size_t n = 99;
	const char *why = NULL;
	world_open(&w);

	/* one that expires at the end of today (1 day), the rest in 4 days */
	call_t ke;
	store_change_t *c = mk_submit(&ke, w.doc, w.patient, 1, T0);
	c->valid_until = rx_valid_until(T0, 1);
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	memcpy(expired, out.rx.id, sizeof expired);
	submit(&w, w.doc, w.patient, 1, T0, issued);
	submit(&w, w.doc, w.patient, 1, T0, claimed);
	submit(&w, w.doc2, w.patient, 1, T0, dispensed);
	submit(&w, w.doc, w.patient, 1, T0, cancelled);
	submit(&w, w.doc, w.patient2, 1, T0, elsewhere);
	claim(&w, w.pharm, claimed, T0 + 10, token);
	claim(&w, w.pharm, dispensed, T0 + 10, token);
	store_change_t *d = mk_tok(&k, RX_OP_DISPENSE, w.pharm, dispensed, token, T0 + 20);
	d->use = 1;
	ck_assert_int_eq(apply(&w, d, &out), RX_OK);
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, cancelled, T0 + 30), &out), RX_OK);

	/* before the short one expired it was listed; a prescriber sees it too */
	ck_assert_int_eq(list_with(&w, w.doc, w.card, T0 + 40), RX_OK);
	ck_assert_uint_eq(w.nseen, 3);

	const int64_t later = rx_valid_until(T0, 1); /* the short one just expired */
	ck_assert_int_eq(list_with(&w, w.pharm2, w.card, later), RX_OK);
	ck_assert_uint_eq(w.nseen, 2);
	int seen_issued = 0, seen_claimed = 0;
	for (size_t i = 0; i < w.nseen; i++) {
		ck_assert_str_eq(w.seen[i].patient_id, w.patient);
		ck_assert_mem_eq(w.seen[i].claim_token, zero_token, RX_TOKEN_LEN);
		if (strcmp(w.seen[i].id, issued) == 0) {
			seen_issued++;
			ck_assert_int_eq(w.seen[i].state, RX_STATE_ISSUED);
		} else if (strcmp(w.seen[i].id, claimed) == 0) {
			seen_claimed++;
			ck_assert_int_eq(w.seen[i].state, RX_STATE_CLAIMED);
		}
	}
	ck_assert_int_eq(seen_issued, 1);
	ck_assert_int_eq(seen_claimed, 1);

	/* the claimer does not learn its token from LIST either */
	ck_assert_int_eq(list_with(&w, w.pharm, w.card, later), RX_OK);
	for (size_t i = 0; i < w.nseen; i++)
		ck_assert_mem_eq(w.seen[i].claim_token, zero_token, RX_TOKEN_LEN);

	/* the other patient's, by their card, at another clinic */
	ck_assert_int_eq(list_with(&w, w.doc_far, w.card2, later), RX_OK);
	ck_assert_uint_eq(w.nseen, 1);
	ck_assert_str_eq(w.seen[0].id, elsewhere);

	ck_assert_int_eq(list_with(&w, w.stranger, w.card, T0), RX_UNKNOWN_KEY);
	ck_assert_int_eq(list_with(&w, w.revoked, w.card, T0), RX_KEY_REVOKED);
	/* no card: no list */
	ck_assert_int_eq(list_with(&w, w.pharm, NULL, T0), RX_PERMISSION_DENIED);
	(void)why;
	(void)list;
	(void)n;
	world_close(&w);
}
END_TEST

/* ---- the drug master and the duplicate-medication check ---- */

/* Real rows of the price list (deploy/data/drugs-jp.csv). */
static const rx_drug_row_t master_rows[] = {
	{"2171022F1029", "ノルバスク錠２．５ｍｇ", "Amlodipine besilate 2.5 mg tablet", "amlodipine besilate",
	 "２．５ｍｇ", "錠", "tablet", ""},
	{"2171022F2025", "ノルバスク錠５ｍｇ", "Amlodipine besilate 5 mg tablet", "amlodipine besilate",
	 "５ｍｇ", "錠", "tablet", ""},
	{"2149117F1025", "ミカムロ配合錠ＡＰ", "Telmisartan / amlodipine besilate combination tablet AP",
	 "telmisartan / amlodipine besilate", "", "錠", "tablet", ""},
	{"1139005F1023", "エクセグラン錠１００ｍｇ", "Zonisamide 100 mg tablet", "zonisamide", "１００ｍｇ",
	 "錠", "tablet", ""},
	{"1169015F2022", "トレリーフＯＤ錠２５ｍｇ", "Zonisamide 25 mg orally disintegrating tablet",
	 "zonisamide", "２５ｍｇ", "錠", "tablet", ""},
	{"2456001F1019", "プレドニゾロン錠", "Prednisolone 5 mg tablet", "prednisolone", "５ｍｇ", "錠",
	 "tablet", ""},
	{"2456002B1062", "プレドニゾロン散「タケダ」１％", "Prednisolone 1% powder", "prednisolone", "１％",
	 "ｇ", "powder", ""},
	{"2189017F1022", "クレストール錠２．５ｍｇ", "Rosuvastatin calcium 2.5 mg tablet",
	 "rosuvastatin calcium", "２．５ｍｇ", "錠", "tablet", ""},
	{"2325003F1024", "ガスター錠１０ｍｇ", "Famotidine 10 mg tablet", "famotidine", "１０ｍｇ", "錠",
	 "tablet", ""},
	/* generics and other strengths and forms, for substitution */
	{"2171022F1010", "アムロジピンベシル酸塩２．５ｍｇ錠", "Amlodipine besilate 2.5 mg tablet",
	 "amlodipine besilate", "２．５ｍｇ", "錠", "tablet", ""},
	{"2171022F5067", "アムロジピン錠１０ｍｇ「ツルハラ」", "Amlodipine besilate 10 mg tablet",
	 "amlodipine besilate", "１０ｍｇ", "錠", "tablet", ""},
	{"2171022F6047", "アムロジピンＯＤ錠１０ｍｇ「トーワ」",
	 "Amlodipine besilate 10 mg orally disintegrating tablet", "amlodipine besilate", "１０ｍｇ", "錠",
	 "tablet", ""},
	{"2149117F1033", "テラムロ配合錠ＡＰ「ＤＳＥＰ」", "Telmisartan / amlodipine besilate combination tablet AP",
	 "telmisartan / amlodipine besilate", "", "錠", "tablet", ""},
	{"2149117F2021", "ミカムロ配合錠ＢＰ", "Telmisartan / amlodipine besilate combination tablet BP",
	 "telmisartan / amlodipine besilate", "", "錠", "tablet", ""},
	/* a hypnotic with a statutory 30-day limit: never on a refill */
	{"1124009F1010", "ブロチゾラム０．２５ｍｇ錠", "Brotizolam 0.25 mg tablet", "brotizolam", "０．２５ｍｇ", "錠",
	 "tablet", "1"},
};
#define NROWS (sizeof master_rows / sizeof master_rows[0])
/* Well formed (right check digit) but not in master_rows. */
#define AMLODIPINE_UNLISTED "2171022F1282"
#define BROTIZOLAM_UNLISTED "1124009F1223"

static void load_master(world_t *w, int64_t now)
{
	uint8_t load_id[16];
	uint64_t count = 0;
	size_t bad = 0;
	randombytes_buf(load_id, sizeof load_id);
	ck_assert_int_eq(store_drugs_load(w->s, load_id, master_rows, NROWS, 1, NROWS, now, &count, &bad),
			 RX_OK);
	ck_assert_uint_eq(count, NROWS);
}

typedef struct {
	const char *code;
	uint32_t days;
} drug_t;

/* The prescriber's marks (rx.Item) pack_items puts on every item it packs:
 * set by substitute() around its SUBMIT, else none. */
enum { MARK_NO_CHANGE = 1, MARK_MEDICAL_NECESSITY = 2, MARK_NO_FORM_CHANGE = 4, MARK_NO_STRENGTH_CHANGE = 8 };
static unsigned packed_marks;

/* A request whose body is a real rx.Prescription or rx.DispenseRecord (the
 * store reads them back; it does not verify signatures, the broker does). */
typedef struct {
	call_t k;
	uint8_t body[4096];
	store_item_t items[RX_MAX_ITEMS];
} rx_call_t;

static size_t pack_items(const drug_t *d, size_t n, Rx__Item *its, Rx__Item **ptrs)
{
	for (size_t i = 0; i < n; i++) {
		rx__item__init(&its[i]);
		its[i].drug_code = (char *)d[i].code;
		its[i].name = (char *)"test drug";
		its[i].dose = (char *)"1 tablet";
		its[i].unit = (char *)"tablet";
		its[i].usage = (char *)"once daily";
		its[i].days = d[i].days;
		its[i].quantity = d[i].days;
		its[i].no_change = (packed_marks & MARK_NO_CHANGE) != 0;
		its[i].medical_necessity = (packed_marks & MARK_MEDICAL_NECESSITY) != 0;
		its[i].no_form_change = (packed_marks & MARK_NO_FORM_CHANGE) != 0;
		its[i].no_strength_change = (packed_marks & MARK_NO_STRENGTH_CHANGE) != 0;
		ptrs[i] = &its[i];
	}
	return n;
}

/* SUBMIT by doc of these drugs for patient, with an override reason or NULL. */
static store_change_t *mk_drugs(rx_call_t *x, const char *patient, const drug_t *d, size_t n,
				const char *override, int64_t now)
{
	Rx__Item its[RX_MAX_ITEMS], *ptrs[RX_MAX_ITEMS];
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	char notes[32];
	store_change_t *c = mk_submit(&x->k, world_current->doc, patient, 1, now);
	p.version = 1;
	p.n_items = pack_items(d, n, its, ptrs);
	p.items = ptrs;
	p.issued_at = now;
	snprintf(notes, sizeof notes, "%u", (unsigned)randombytes_random()); /* a new body each time */
	p.notes = notes;
	p.override_reason = (char *)(override ? override : "");
	ck_assert_uint_le(rx__prescription__get_packed_size(&p), sizeof x->body);
	c->body = x->body;
	c->body_len = rx__prescription__pack(&p, x->body);
	for (size_t i = 0; i < n; i++)
		x->items[i] = (store_item_t){d[i].code, d[i].days};
	c->items = x->items;
	c->n_items = n;
	c->override_reason = override;
	return c;
}

/* Prescribe (overriding whatever is found) and return the id. */
static void prescribe(world_t *w, const drug_t *d, size_t n, int64_t now, char id[RX_ID_LEN + 1])
{
	rx_call_t x;
	store_outcome_t out;
	ck_assert_int_eq(apply(w, mk_drugs(&x, w->patient, d, n, "test: known duplicate", now), &out), RX_OK);
	memcpy(id, out.rx.id, RX_ID_LEN + 1);
}

/* Claim and dispense id as prescribed (d) at now. */
static void hand_over(world_t *w, const char *id, const drug_t *d, size_t n, int64_t now)
{
	rx_call_t x;
	store_outcome_t out;
	uint8_t token[RX_TOKEN_LEN];
	Rx__Item its[RX_MAX_ITEMS], *ptrs[RX_MAX_ITEMS];
	Rx__Line line[RX_MAX_ITEMS], *lines[RX_MAX_ITEMS];
	store_line_t sl[RX_MAX_ITEMS];
	Rx__DispenseRecord rec = RX__DISPENSE_RECORD__INIT;
	claim(w, w->pharm, id, now, token);
	store_change_t *c = mk_tok(&x.k, RX_OP_DISPENSE, w->pharm, id, token, now);
	rec.version = RX_DOC_VERSION;
	rec.prescription_id = (char *)id;
	rec.n_lines = pack_items(d, n, its, ptrs);
	for (size_t i = 0; i < rec.n_lines; i++) {
		rx__line__init(&line[i]);
		line[i].item = (uint32_t)i + 1;
		line[i].outcome = RX__OUTCOME__AS_WRITTEN;
		line[i].handed = ptrs[i];
		lines[i] = &line[i];
		sl[i] = (store_line_t){.item = (uint32_t)i + 1, .outcome = STORE_LINE_AS_WRITTEN, .drug_code = d[i].code};
	}
	rec.lines = lines;
	c->lines = sl;
	c->n_lines = rec.n_lines;
	ck_assert_uint_le(rx__dispense_record__get_packed_size(&rec), sizeof x.body);
	c->body = x.body;
	c->body_len = rx__dispense_record__pack(&rec, x.body);
	ck_assert_int_eq(apply(w, c, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_DISPENSED);
}

static const store_warning_t *finding(const store_outcome_t *o, int kind, uint32_t item,
				      const char *other_id)
{
	for (size_t i = 0; i < o->nwarnings; i++)
		if (o->warnings[i].kind == kind && o->warnings[i].item == item &&
		    (other_id == NULL || strcmp(o->warnings[i].other_id, other_id) == 0))
			return &o->warnings[i];
	return NULL;
}

static size_t count_kind(const store_outcome_t *o, int kind)
{
	size_t n = 0;
	for (size_t i = 0; i < o->nwarnings; i++)
		n += o->warnings[i].kind == kind;
	return n;
}

/* Submit d for the patient at now without an override: refused
 * DUPLICATE_MEDICATION with a finding for item against prescription other,
 * naming ingredient, overlapping by overlap days; the finding. */
static const store_warning_t *refused_duplicate(world_t *w, const drug_t *d, size_t n, int64_t now,
						 uint32_t item, const char *other, const char *ingredient,
						 uint32_t overlap, store_outcome_t *out)
{
	rx_call_t x;
	ck_assert_int_eq(apply(w, mk_drugs(&x, w->patient, d, n, NULL, now), out), RX_DUPLICATE_MEDICATION);
	const store_warning_t *f = finding(out, STORE_WARN_DUPLICATE, item, other);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->ingredient, ingredient);
	ck_assert_uint_eq(f->overlap_days, overlap);
	ck_assert_ptr_nonnull(strstr(f->message, other));
	return f;
}

/* The newest audit entry. */
static store_audit_t last_entry(world_t *w)
{
	store_audit_t *e = NULL, copy;
	size_t n = 0;
	ck_assert_int_eq(store_audit_tail(w->s, 1, &e, &n), RX_OK);
	ck_assert_uint_eq(n, 1);
	copy = e[0];
	free(e);
	return copy;
}

START_TEST(drug_master_loads_in_parts)
{
	world_t w;
	uint8_t a[16], b[16];
	uint64_t count = 0, size = 0;
	int64_t at = 0;
	size_t bad = 0, n = 0;
	store_drug_t *found = NULL;
	world_open(&w);
	randombytes_buf(a, sizeof a);
	randombytes_buf(b, sizeof b);
	ck_assert_int_eq(store_drugs_info(w.s, &size, &at), RX_OK);
	ck_assert_uint_eq(size, 0);
	ck_assert_int_eq(at, 0);

	/* Two parts; nothing changes before the last one commits. */
	ck_assert_int_eq(store_drugs_load(w.s, a, master_rows, 4, 0, 0, T0, &count, &bad), RX_OK);
	ck_assert_int_eq(store_drugs_info(w.s, &size, &at), RX_OK);
	ck_assert_uint_eq(size, 0);
	/* The last part announces another total: refused, nothing replaced. */
	ck_assert_int_eq(store_drugs_load(w.s, a, master_rows + 4, NROWS - 4, 1, NROWS + 1, T0, &count, &bad),
			 RX_INVALID);
	ck_assert_int_eq(store_drugs_load(w.s, a, master_rows + 4, NROWS - 4, 1, NROWS, T0, &count, &bad),
			 RX_OK);
	ck_assert_uint_eq(count, NROWS);
	ck_assert_int_eq(store_drugs_info(w.s, &size, &at), RX_OK);
	ck_assert_uint_eq(size, NROWS);
	ck_assert_int_eq(at, T0);
	store_audit_t e = last_entry(&w);
	ck_assert_str_eq(e.action, "DRUGS_LOAD");
	ck_assert_int_eq(e.has_actor, 0);
	ck_assert_str_eq(e.detail, "15 drugs");

	/* A code, and a prefix. */
	ck_assert_int_eq(store_drugs_find(w.s, "2149117F1025", 10, &found, &n), RX_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(found[0].ingredient, "telmisartan / amlodipine besilate");
	ck_assert_str_eq(found[0].name_ja, "ミカムロ配合錠ＡＰ");
	free(found);
	ck_assert_int_eq(store_drugs_find(w.s, "2171022", 10, &found, &n), RX_OK);
	ck_assert_uint_eq(n, 5); /* in code order */
	ck_assert_str_eq(found[0].code, "2171022F1010");
	ck_assert_str_eq(found[1].code, "2171022F1029");
	ck_assert_str_eq(found[2].code, "2171022F2025");
	free(found);
	ck_assert_int_eq(store_drugs_find(w.s, AMLODIPINE_UNLISTED, 10, &found, &n), RX_OK);
	ck_assert_uint_eq(n, 0);
	free(found);

	/* A code twice in one load, even across parts: CONFLICT naming the row. */
	rx_drug_row_t twice[3] = {master_rows[0], master_rows[1], master_rows[0]};
	ck_assert_int_eq(store_drugs_load(w.s, b, twice, 3, 1, 3, T0, &count, &bad), RX_CONFLICT);
	ck_assert_uint_eq(bad, 2);
	ck_assert_int_eq(store_drugs_load(w.s, b, master_rows, 2, 0, 0, T0, &count, &bad), RX_OK);
	ck_assert_int_eq(store_drugs_load(w.s, b, master_rows + 1, 1, 1, 3, T0, &count, &bad), RX_CONFLICT);
	ck_assert_uint_eq(bad, 0);

	/* Another load starting drops an interrupted one's parts: its commit
	 * does not add up, and the master is untouched. */
	ck_assert_int_eq(store_drugs_load(w.s, a, master_rows, 3, 0, 0, T0, &count, &bad), RX_OK);
	ck_assert_int_eq(store_drugs_load(w.s, b, master_rows + 3, 2, 0, 0, T0, &count, &bad), RX_OK);
	ck_assert_int_eq(store_drugs_load(w.s, a, master_rows + 5, 1, 1, 6, T0, &count, &bad), RX_INVALID);
	ck_assert_int_eq(store_drugs_info(w.s, &size, &at), RX_OK);
	ck_assert_uint_eq(size, NROWS);

	/* A smaller list replaces the whole master. */
	randombytes_buf(a, sizeof a);
	ck_assert_int_eq(store_drugs_load(w.s, a, master_rows, 2, 1, 2, T0 + 60, &count, &bad), RX_OK);
	ck_assert_int_eq(store_drugs_info(w.s, &size, &at), RX_OK);
	ck_assert_uint_eq(size, 2);
	ck_assert_int_eq(at, T0 + 60);
	ck_assert_int_eq(store_drugs_find(w.s, "2149117", 10, &found, &n), RX_OK);
	ck_assert_uint_eq(n, 0);
	free(found);
	world_close(&w);
}
END_TEST

START_TEST(duplicate_refused_then_overridden)
{
	world_t w;
	rx_call_t x;
	store_outcome_t out;
	char first[RX_ID_LEN + 1], id[RX_ID_LEN + 1];
	static const drug_t amlo25[] = {{"2171022F1029", 28}}, amlo5[] = {{"2189017F1022", 14}, {"2171022F2025", 14}};
	world_open(&w);

	/* Without a master the check is off: the same drug twice is accepted. */
	prescribe(&w, amlo25, 1, T0, first);
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient, amlo25, 1, NULL, T0), &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 0);
	ck_assert_int_eq(apply(&w, mk(&x.k, RX_OP_CANCEL, w.doc, out.rx.id, T0), &out), RX_OK);

	load_master(&w, T0);
	uint64_t before = stats_of(&w, T0).prescriptions;
	/* Amlodipine 5 mg while amlodipine 2.5 mg is open: the same 7-character prefix. */
	/* 14 days overlap: the shorter of 14 and 28. */
	const store_warning_t *f = refused_duplicate(&w, amlo5, 2, T0 + 60, 1, first, "amlodipine", 14, &out);
	ck_assert_uint_eq(stats_of(&w, T0).prescriptions, before); /* nothing was filed */
	ck_assert_uint_eq(out.nwarnings, 1);
	ck_assert_str_eq(f->drug_code, "2171022F2025");
	ck_assert_str_eq(f->other_code, "2171022F1029");
	ck_assert_ptr_nonnull(strstr(f->message, "amlodipine"));
	store_audit_t e = last_entry(&w);
	ck_assert_str_eq(e.action, "SUBMIT");
	ck_assert_int_eq(e.outcome, RX_DUPLICATE_MEDICATION);
	ck_assert_str_eq(e.patient, w.patient);

	/* Another patient's medicines are not this patient's. */
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient2, amlo5, 2, NULL, T0 + 60), &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 0);

	/* Resubmitted with a reason: accepted, the findings kept, the override audited. */
	static const char reason[] = "switching from 2.5 mg: the old prescription will not be filled";
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient, amlo5, 2, reason, T0 + 120), &out), RX_OK);
	memcpy(id, out.rx.id, sizeof id);
	ck_assert_uint_eq(out.nwarnings, 1);
	ck_assert_ptr_nonnull(finding(&out, STORE_WARN_DUPLICATE, 1, first));
	e = last_entry(&w);
	ck_assert_str_eq(e.action, "SUBMIT");
	ck_assert_int_eq(e.outcome, RX_OK);
	ck_assert_str_eq(e.id, id);
	ck_assert_ptr_nonnull(strstr(e.detail, "overridden"));
	/* The reason itself stays in the sealed, signed body, out of the clear-text log. */
	ck_assert_ptr_null(strstr(e.detail, "switching"));
	store_buf_t body = {0};
	store_rx_t rx;
	ck_assert_int_eq(store_rx_get(w.s, id, T0 + 120, &rx, &body, NULL), RX_OK);
	Rx__Prescription *p = rx__prescription__unpack(NULL, body.len, body.data);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->override_reason, reason);
	rx__prescription__free_unpacked(p, NULL);
	store_buf_free(&body);
	world_close(&w);
}
END_TEST

START_TEST(one_ingredient_under_two_classes)
{
	world_t w;
	store_outcome_t out;
	char zoni[RX_ID_LEN + 1], pred[RX_ID_LEN + 1];
	/* Zonisamide as an antiepileptic (1139005) and as an anti-Parkinson drug
	 * (1169015); prednisolone tablets (2456001) and powder (2456002). */
	static const drug_t epilepsy[] = {{"1139005F1023", 30}}, parkinson[] = {{"1169015F2022", 14}},
			    tablets[] = {{"2456001F1019", 7}}, powder[] = {{"2456002B1062", 10}};
	world_open(&w);
	load_master(&w, T0);
	prescribe(&w, epilepsy, 1, T0, zoni);
	prescribe(&w, tablets, 1, T0, pred);
	const store_warning_t *f =
		refused_duplicate(&w, parkinson, 1, T0 + 60, 0, zoni, "zonisamide", 14, &out);
	ck_assert_str_eq(f->other_code, "1139005F1023");
	ck_assert_uint_eq(out.nwarnings, 1);
	refused_duplicate(&w, powder, 1, T0 + 60, 0, pred, "prednisolone", 7, &out);
	world_close(&w);
}
END_TEST

START_TEST(combination_tablet_contains_what_is_taken)
{
	world_t w;
	store_outcome_t out;
	char amlo[RX_ID_LEN + 1];
	static const drug_t alone[] = {{"2171022F2025", 28}}, combo[] = {{"2149117F1025", 30}};
	world_open(&w);
	load_master(&w, T0);
	/* Amlodipine dispensed for 28 days; 10 days later the telmisartan/amlodipine
	 * combination would add amlodipine again while it has 18 days and an hour
	 * to run. */
	prescribe(&w, alone, 1, T0, amlo);
	hand_over(&w, amlo, alone, 1, T0 + 3600);
	/* 19 days: a started day counts. */
	const store_warning_t *f =
		refused_duplicate(&w, combo, 1, T0 + 10 * DAY, 0, amlo, "amlodipine", 19, &out);
	ck_assert_str_eq(f->drug_code, "2149117F1025");
	ck_assert_str_eq(f->other_code, "2171022F2025");
	/* And the other way round: amlodipine while the combination runs. */
	char combo_id[RX_ID_LEN + 1];
	prescribe(&w, combo, 1, T0 + 10 * DAY, combo_id);
	refused_duplicate(&w, alone, 1, T0 + 10 * DAY + 60, 0, combo_id, "amlodipine", 28, &out);
	world_close(&w);
}
END_TEST

START_TEST(days_of_supply_run_out)
{
	world_t w;
	rx_call_t x;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	static const drug_t two_weeks[] = {{"2325003F1024", 14}};
	world_open(&w);
	load_master(&w, T0);
	prescribe(&w, two_weeks, 1, T0, id);
	hand_over(&w, id, two_weeks, 1, T0 + 600);
	/* The last second of the supply still overlaps, by one day... */
	const int64_t end = T0 + 600 + 14 * DAY;
	refused_duplicate(&w, two_weeks, 1, end - 1, 0, id, "famotidine", 1, &out);
	/* ...the first second after it does not. */
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient, two_weeks, 1, NULL, end), &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 0);
	world_close(&w);
}
END_TEST

START_TEST(closed_prescriptions_ignored)
{
	world_t w;
	rx_call_t x;
	store_outcome_t out;
	char cancelled[RX_ID_LEN + 1], expired[RX_ID_LEN + 1], pending[RX_ID_LEN + 1];
	uint8_t token[RX_TOKEN_LEN];
	static const drug_t famo[] = {{"2325003F1024", 28}};
	world_open(&w);
	load_master(&w, T0);
	/* Issued 5 days ago with the default validity of 4 days: expired, never
	 * dispensed.  (First: a card's time never goes back past the nonces kept.) */
	prescribe(&w, famo, 1, T0 - 5 * DAY, expired);
	prescribe(&w, famo, 1, T0, cancelled);
	ck_assert_int_eq(apply(&w, mk(&x.k, RX_OP_CANCEL, w.doc, cancelled, T0 + 1), &out), RX_OK);
	/* Claimed, then cancelled by the prescriber: the cancel is pending. */
	prescribe(&w, famo, 1, T0, pending);
	claim(&w, w.pharm, pending, T0 + 2, token);
	ck_assert_int_eq(apply(&w, mk(&x.k, RX_OP_CANCEL, w.doc, pending, T0 + 3), &out), RX_OK);
	ck_assert_int_eq(out.rx.cancel_pending, 1);
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient, famo, 1, NULL, T0 + 60), &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 0);
	world_close(&w);
}
END_TEST

START_TEST(unknown_drug_warns)
{
	world_t w;
	rx_call_t x;
	store_outcome_t out;
	char amlo[RX_ID_LEN + 1];
	static const drug_t unlisted[] = {{BROTIZOLAM_UNLISTED, 14}},
			    known[] = {{"2171022F2025", 28}},
			    same_prefix[] = {{"2189017F1022", 14}, {AMLODIPINE_UNLISTED, 14}};
	world_open(&w);
	load_master(&w, T0);
	/* A code the master does not know: accepted, with a warning. */
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient, unlisted, 1, NULL, T0), &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 1);
	const store_warning_t *f = finding(&out, STORE_WARN_UNKNOWN_DRUG, 0, "");
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->drug_code, BROTIZOLAM_UNLISTED);
	ck_assert_ptr_nonnull(strstr(f->message, "not in the drug master"));
	store_audit_t e = last_entry(&w);
	ck_assert_int_eq(e.outcome, RX_OK);
	ck_assert_str_eq(e.detail, "");
	/* Unknown, but its code prefix is amlodipine's: still a duplicate, and
	 * the ingredient is named from the master's row of the other. */
	prescribe(&w, known, 1, T0, amlo);
	refused_duplicate(&w, same_prefix, 2, T0 + 60, 1, amlo, "amlodipine", 14, &out);
	ck_assert_uint_eq(count_kind(&out, STORE_WARN_UNKNOWN_DRUG), 1);
	ck_assert_ptr_nonnull(finding(&out, STORE_WARN_UNKNOWN_DRUG, 1, ""));
	ck_assert_uint_eq(count_kind(&out, STORE_WARN_DUPLICATE), 1);
	world_close(&w);
}
END_TEST

START_TEST(claim_carries_warnings)
{
	world_t w;
	rx_call_t x;
	store_outcome_t out;
	store_buf_t first = {0}, again = {0};
	char a[RX_ID_LEN + 1], b[RX_ID_LEN + 1];
	static const drug_t amlo[] = {{"2171022F2025", 28}}, combo[] = {{"2149117F1025", 28}};
	world_open(&w);
	load_master(&w, T0);
	prescribe(&w, amlo, 1, T0, a);
	prescribe(&w, combo, 1, T0 + 60, b); /* overridden at the clinic */
	/* The pharmacist claiming b is told about a, and the claim goes through. */
	store_change_t *c = mk(&x.k, RX_OP_CLAIM, w.pharm, b, T0 + 120);
	ck_assert_int_eq(apply_reply(&w, c, &out, &first), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	const store_warning_t *f = finding(&out, STORE_WARN_DUPLICATE, 0, a);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->ingredient, "amlodipine");
	ck_assert_uint_eq(f->overlap_days, 28);
	store_audit_t e = last_entry(&w);
	ck_assert_str_eq(e.action, "CLAIM");
	ck_assert_int_eq(e.outcome, RX_OK);
	ck_assert_ptr_nonnull(strstr(e.detail, "duplicate-medication warnings"));
	/* A retry gets the stored reply, warnings and all. */
	ck_assert_int_eq(apply_reply(&w, c, &out, &again), RX_OK);
	ck_assert_int_eq(out.replayed, 1);
	ck_assert_uint_eq(again.len, first.len);
	ck_assert_mem_eq(again.data, first.data, first.len);
	store_buf_free(&first);
	store_buf_free(&again);
	/* Claiming a: b is open too. */
	uint8_t token[RX_TOKEN_LEN];
	claim(&w, w.pharm2, a, T0 + 180, token);
	ck_assert_int_eq(apply(&w, mk(&x.k, RX_OP_CLAIM, w.pharm2, a, T0 + 181), &out), RX_OK);
	ck_assert_ptr_nonnull(finding(&out, STORE_WARN_DUPLICATE, 0, b));
	world_close(&w);
}
END_TEST

/* ---- substitution (proto/README 5.10) ---- */

/* DISPENSE of prescription id (claimed here) with one line per prescribed
 * item of d: outcome[i] with handed code[i] (ignored for NOT_DISPENSED). */
static rx_err_t dispense_lines(world_t *w, const char *id, const drug_t *d, size_t n, const int *outcome,
			       const char *const *code, int64_t now, store_outcome_t *out)
{
	rx_call_t x;
	uint8_t token[RX_TOKEN_LEN];
	drug_t handed[RX_MAX_ITEMS];
	Rx__Item its[RX_MAX_ITEMS], *ptrs[RX_MAX_ITEMS];
	Rx__Line line[RX_MAX_ITEMS], *lines[RX_MAX_ITEMS];
	store_line_t sl[RX_MAX_ITEMS];
	Rx__DispenseRecord rec = RX__DISPENSE_RECORD__INIT;
	claim(w, w->pharm, id, now, token);
	store_change_t *c = mk_tok(&x.k, RX_OP_DISPENSE, w->pharm, id, token, now);
	for (size_t i = 0; i < n; i++)
		handed[i] = (drug_t){code[i], d[i].days};
	pack_items(handed, n, its, ptrs);
	for (size_t i = 0; i < n; i++) {
		int nd = outcome[i] == STORE_LINE_NOT_DISPENSED;
		rx__line__init(&line[i]);
		line[i].item = (uint32_t)i + 1;
		line[i].outcome = (Rx__Outcome)outcome[i];
		line[i].handed = nd ? NULL : ptrs[i];
		lines[i] = &line[i];
		sl[i] = (store_line_t){.item = (uint32_t)i + 1, .outcome = outcome[i], .drug_code = nd ? "" : code[i]};
	}
	rec.version = RX_DOC_VERSION;
	rec.prescription_id = (char *)id;
	rec.n_lines = n;
	rec.lines = lines;
	c->lines = sl;
	c->n_lines = n;
	c->body = x.body;
	c->body_len = rx__dispense_record__pack(&rec, x.body);
	return apply(w, c, out);
}

/* One item prescribed (code, marks), one product handed (SUBSTITUTED):
 * the store's answer; refused, the prescription is still claimed and the
 * reason names item 1. */
static rx_err_t substitute(world_t *w, const char *prescribed, unsigned marks, const char *handed,
			   store_outcome_t *out)
{
	char id[RX_ID_LEN + 1];
	const drug_t d[] = {{prescribed, 14}};
	const int subst[] = {STORE_LINE_SUBSTITUTED};
	packed_marks = marks;
	prescribe(w, d, 1, T0, id);
	packed_marks = 0;
	rx_err_t err = dispense_lines(w, id, d, 1, subst, &handed, T0 + 60, out);
	if (err != RX_OK) {
		ck_assert_int_eq(status_of(w, w->doc, id, T0 + 61).state, RX_STATE_CLAIMED);
		ck_assert_msg(strstr(out->why, "item 1") != NULL, "%s", out->why);
		ck_assert_ptr_null(strstr(out->why, handed)); /* codes stay out of the log */
	} else {
		ck_assert_int_eq(out->rx.state, RX_STATE_DISPENSED);
	}
	return err;
}

START_TEST(substitution_follows_the_marks)
{
	world_t w;
	store_outcome_t out;
	world_open(&w);
	load_master(&w, T0);
	/* Norvasc 2.5 mg for its generic: allowed unless marked no change. */
	ck_assert_int_eq(substitute(&w, "2171022F1029", 0, "2171022F1010", &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 0);
	ck_assert_int_eq(substitute(&w, "2171022F1029", MARK_NO_CHANGE, "2171022F1010", &out),
			 RX_SUBSTITUTION_NOT_ALLOWED);
	ck_assert_int_eq(substitute(&w, "2171022F1029", MARK_NO_CHANGE | MARK_MEDICAL_NECESSITY,
				    "2171022F1010", &out),
			 RX_SUBSTITUTION_NOT_ALLOWED);
	ck_assert_ptr_nonnull(strstr(out.why, "医療上必要"));
	/* Another strength: allowed, unless marked. */
	ck_assert_int_eq(substitute(&w, "2171022F1029", 0, "2171022F2025", &out), RX_OK);
	ck_assert_int_eq(substitute(&w, "2171022F1029", MARK_NO_STRENGTH_CHANGE, "2171022F2025", &out),
			 RX_SUBSTITUTION_NOT_ALLOWED);
	ck_assert_int_eq(substitute(&w, "2171022F1029", MARK_NO_FORM_CHANGE, "2171022F2025", &out), RX_OK);
	/* 10 mg tablet for a 10 mg OD tablet: the master's strengths are equal
	 * and the form letter (F) is too. */
	ck_assert_int_eq(substitute(&w, "2171022F5067", MARK_NO_STRENGTH_CHANGE | MARK_NO_FORM_CHANGE,
				    "2171022F6047", &out),
			 RX_OK);
	/* Prednisolone tablets for powder: one ingredient by the master (another
	 * ingredient code), another form. */
	ck_assert_int_eq(substitute(&w, "2456001F1019", 0, "2456002B1062", &out), RX_OK);
	ck_assert_int_eq(substitute(&w, "2456001F1019", MARK_NO_FORM_CHANGE, "2456002B1062", &out),
			 RX_SUBSTITUTION_NOT_ALLOWED);
	ck_assert_int_eq(substitute(&w, "2456001F1019", MARK_NO_STRENGTH_CHANGE, "2456002B1062", &out),
			 RX_SUBSTITUTION_NOT_ALLOWED);
	/* no_change is checked first, before the ingredient */
	ck_assert_int_eq(substitute(&w, "2171022F1029", MARK_NO_CHANGE, "2189017F1022", &out),
			 RX_SUBSTITUTION_NOT_ALLOWED);
	world_close(&w);
}
END_TEST

START_TEST(substitution_keeps_the_ingredients)
{
	world_t w;
	store_outcome_t out;
	world_open(&w);
	load_master(&w, T0);
	/* amlodipine for rosuvastatin, and a code of another ingredient the master
	 * does not list */
	ck_assert_int_eq(substitute(&w, "2171022F1029", 0, "2189017F1022", &out), RX_DIFFERENT_INGREDIENT);
	ck_assert_int_eq(substitute(&w, "2171022F1029", 0, BROTIZOLAM_UNLISTED, &out),
			 RX_DIFFERENT_INGREDIENT);
	/* the combination tablet's generic passes; amlodipine alone for the
	 * combination does not, nor the combination for amlodipine */
	ck_assert_int_eq(substitute(&w, "2149117F1025", 0, "2149117F1033", &out), RX_OK);
	ck_assert_int_eq(substitute(&w, "2149117F1025", 0, "2171022F2025", &out), RX_DIFFERENT_INGREDIENT);
	ck_assert_int_eq(substitute(&w, "2171022F2025", 0, "2149117F1025", &out), RX_DIFFERENT_INGREDIENT);
	/* AP for BP: the master lists no strength, so the code's strength number says */
	ck_assert_int_eq(substitute(&w, "2149117F1025", 0, "2149117F2021", &out), RX_OK);
	ck_assert_int_eq(substitute(&w, "2149117F1025", MARK_NO_STRENGTH_CHANGE, "2149117F2021", &out),
			 RX_SUBSTITUTION_NOT_ALLOWED);
	ck_assert_int_eq(substitute(&w, "2149117F1025", MARK_NO_STRENGTH_CHANGE, "2149117F1033", &out),
			 RX_OK);
	/* a well-formed amlodipine code the master does not list: accepted by
	 * its ingredient code, with a warning */
	ck_assert_int_eq(substitute(&w, "2171022F1029", 0, AMLODIPINE_UNLISTED, &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 1);
	ck_assert_int_eq(out.warnings[0].kind, STORE_WARN_UNKNOWN_DRUG);
	ck_assert_str_eq(out.warnings[0].drug_code, AMLODIPINE_UNLISTED);
	world_close(&w);
}
END_TEST

/* Without a drug master only the codes are compared. */
START_TEST(substitution_without_master)
{
	world_t w;
	store_outcome_t out;
	world_open(&w);
	ck_assert_int_eq(substitute(&w, "2171022F1029", 0, "2171022F1010", &out), RX_OK);
	ck_assert_uint_eq(out.nwarnings, 0);
	ck_assert_int_eq(substitute(&w, "2456001F1019", 0, "2456002B1062", &out), RX_DIFFERENT_INGREDIENT);
	ck_assert_int_eq(substitute(&w, "2171022F5067", MARK_NO_STRENGTH_CHANGE, "2171022F6047", &out),
			 RX_SUBSTITUTION_NOT_ALLOWED);
	world_close(&w);
}
END_TEST

/* The lines against the prescribed items: one each, outcomes that say
 * what was handed; only what was handed counts as taken. */
START_TEST(lines_account_for_each_item)
{
	world_t w;
	store_outcome_t out;
	char id[RX_ID_LEN + 1], later[RX_ID_LEN + 1];
	static const drug_t two[] = {{"2171022F1029", 28}, {"2325003F1024", 28}};
	static const char *const same[] = {"2171022F1029", "2325003F1024"};
	static const char *const other[] = {"2171022F1010", "2325003F1024"};
	world_open(&w);
	load_master(&w, T0);
	prescribe(&w, two, 2, T0, id);
	const int one[] = {STORE_LINE_AS_WRITTEN};
	ck_assert_int_eq(dispense_lines(&w, id, two, 1, one, same, T0 + 60, &out), RX_INVALID);
	const int asw[] = {STORE_LINE_AS_WRITTEN, STORE_LINE_AS_WRITTEN};
	ck_assert_int_eq(dispense_lines(&w, id, two, 2, asw, other, T0 + 60, &out), RX_INVALID);
	ck_assert_ptr_nonnull(strstr(out.why, "item 1"));
	const int sub2[] = {STORE_LINE_AS_WRITTEN, STORE_LINE_SUBSTITUTED};
	ck_assert_int_eq(dispense_lines(&w, id, two, 2, sub2, same, T0 + 60, &out), RX_INVALID);
	ck_assert_ptr_nonnull(strstr(out.why, "item 2"));
	ck_assert_int_eq(status_of(&w, w.doc, id, T0 + 61).state, RX_STATE_CLAIMED);
	/* amlodipine substituted, famotidine not dispensed (enough left) */
	const int mixed[] = {STORE_LINE_SUBSTITUTED, STORE_LINE_NOT_DISPENSED};
	ck_assert_int_eq(dispense_lines(&w, id, two, 2, mixed, other, T0 + 60, &out), RX_OK);
	/* amlodipine runs (the generic handed over), famotidine does not */
	static const drug_t famotidine[] = {{"2325003F1024", 7}}, amlodipine[] = {{"2171022F2025", 7}};
	rx_call_t x;
	ck_assert_int_eq(apply(&w, mk_drugs(&x, w.patient, famotidine, 1, NULL, T0 + DAY), &out), RX_OK);
	const store_warning_t *f =
		refused_duplicate(&w, amlodipine, 1, T0 + DAY, 0, id, "amlodipine", 7, &out);
	ck_assert_str_eq(f->other_code, "2171022F1010");
	(void)later;
	world_close(&w);
}
END_TEST

/* ---- refill and divided windows (proto/README 5.11) ---- */

/* SUBMIT at now of one item of days for uses uses (parts: NULL, or each
 * use's days, divided); its id into id. */
static void prescribe_uses(world_t *w, uint32_t days, uint32_t uses, const uint32_t *parts, int64_t now,
			   char id[RX_ID_LEN + 1])
{
	rx_call_t x;
	store_outcome_t out;
	const drug_t d[] = {{"2171022F1029", days}};
	Rx__Item its[1], *ptrs[1];
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	char notes[32];
	store_change_t *c = mk_submit(&x.k, w->doc, w->patient, uses, now);
	p.version = RX_DOC_VERSION;
	p.n_items = pack_items(d, 1, its, ptrs);
	p.items = ptrs;
	p.uses = uses;
	p.n_part_days = parts ? uses : 0;
	p.part_days = (uint32_t *)parts;
	p.issued_at = now;
	snprintf(notes, sizeof notes, "%u", (unsigned)randombytes_random());
	p.notes = notes;
	c->body = x.body;
	c->body_len = rx__prescription__pack(&p, x.body);
	ck_assert_int_eq(apply(w, c, &out), RX_OK);
	memcpy(id, out.rx.id, RX_ID_LEN + 1);
}

/* CLAIM id by the world's pharmacy at now: the store's answer. */
static rx_err_t claim_at(world_t *w, const char *id, int64_t now, store_outcome_t *out)
{
	call_t k;
	return apply(w, mk(&k, RX_OP_CLAIM, w->pharm, id, now), out);
}

START_TEST(refill_windows)
{
	world_t w;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	static const char *const same[] = {"2171022F1029"};
	static const drug_t d[] = {{"2171022F1029", 30}};
	const int asw[] = {STORE_LINE_AS_WRITTEN};
	world_open(&w);
	/* three uses of 30 days: 90 days in all, no 31-day cap on the whole */
	prescribe_uses(&w, 30, 3, NULL, T0, id);
	ck_assert_int_eq(dispense_lines(&w, id, d, 1, asw, same, T0 + 3600, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	/* use 2 is due 30 days after the first dispense's day: open 7 days
	 * either side of it */
	int64_t due = rx_valid_until(T0 + 3600, 30);
	ck_assert_int_eq(out.rx.opens_at, due - 7 * DAY);
	ck_assert_int_eq(out.rx.valid_until, due + 8 * DAY);
	ck_assert_int_eq(claim_at(&w, id, due - 7 * DAY - 1, &out), RX_NOT_YET_DUE);
	ck_assert_ptr_nonnull(strstr(out.why, "use 2"));
	ck_assert_ptr_nonnull(strstr(out.why, "opens on 2025-12-24"));
	/* dispensed on the last day of its window */
	int64_t last = due + 8 * DAY - 1;
	ck_assert_int_eq(dispense_lines(&w, id, d, 1, asw, same, last, &out), RX_OK);
	int64_t due3 = rx_valid_until(last, 30);
	ck_assert_int_eq(out.rx.opens_at, due3 - 7 * DAY);
	/* use 3 one day after its window: lapsed, and the sweep says so */
	ck_assert_int_eq(claim_at(&w, id, due3 + 8 * DAY, &out), RX_EXPIRED);
	ck_assert_ptr_nonnull(strstr(out.why, "use 3"));
	ck_assert_int_eq(status_of(&w, w.doc, id, due3 + 8 * DAY).state, RX_STATE_EXPIRED);
	ck_assert_int_eq(status_of(&w, w.doc, id, due3 + 8 * DAY - 1).state, RX_STATE_ISSUED);
	uint64_t n = 0;
	ck_assert_int_eq(store_expire(w.s, due3 + 8 * DAY, &n), RX_OK);
	ck_assert_uint_eq(n, 1);
	world_close(&w);
}
END_TEST

/* Divided dispensing: each part is due when the part before runs out. */
START_TEST(divided_parts)
{
	world_t w;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	static const uint32_t parts[] = {10, 20};
	static const char *const same[] = {"2171022F1029"};
	static const drug_t d[] = {{"2171022F1029", 30}};
	const int asw[] = {STORE_LINE_AS_WRITTEN};
	world_open(&w);
	prescribe_uses(&w, 30, 2, parts, T0, id);
	ck_assert_int_eq(dispense_lines(&w, id, d, 1, asw, same, T0 + DAY, &out), RX_OK);
	int64_t due = rx_valid_until(T0 + DAY, 10); /* the first part's 10 days */
	ck_assert_int_eq(out.rx.opens_at, due - 7 * DAY);
	ck_assert_int_eq(claim_at(&w, id, due - 7 * DAY - 1, &out), RX_NOT_YET_DUE);
	ck_assert_int_eq(dispense_lines(&w, id, d, 1, asw, same, due - 7 * DAY, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_DISPENSED);
	/* the first part within the prescription's validity, as any */
	int64_t t1 = due;
	prescribe_uses(&w, 30, 2, parts, t1, id);
	ck_assert_int_eq(claim_at(&w, id, rx_valid_until(t1, RX_DEFAULT_VALID_DAYS), &out), RX_EXPIRED);
	ck_assert_str_eq(out.why, "this prescription is past its validity");
	world_close(&w);
}
END_TEST

/* A drug the master marks no_refill is refused on a refill, not on a
 * single-use or divided prescription (proto/README 5.11). */
START_TEST(no_refill_drugs)
{
	world_t w;
	rx_call_t x;
	store_outcome_t out;
	static const drug_t d[] = {{"2171022F1029", 30}, {"1124009F1010", 30}};
	world_open(&w);
	load_master(&w, T0);
	store_change_t *c = mk_drugs(&x, w.patient, d, 2, NULL, T0);
	c->uses = 3;
	ck_assert_int_eq(apply(&w, c, &out), RX_NOT_REFILLABLE);
	ck_assert_ptr_nonnull(strstr(out.why, "item 2"));
	c = mk_drugs(&x, w.patient, d, 2, NULL, T0);
	c->uses = 2;
	c->divided = 1;
	ck_assert_int_eq(apply(&w, c, &out), RX_OK);
	c = mk_drugs(&x, w.patient, d, 1, NULL, T0);
	c->uses = 3;
	ck_assert_int_eq(apply(&w, c, &out), RX_DUPLICATE_MEDICATION); /* amlodipine, just prescribed */
	world_close(&w);
}
END_TEST

/* ---- amending and withdrawing a dispense (proto/README 5.12) ---- */

/* The records STATUS returns for id, read by its prescriber at now, into
 * w->records; how many. */
static size_t records_of(world_t *w, const char *id, int64_t now)
{
	call_t k;
	store_outcome_t out;
	ck_assert_int_eq(apply(w, mk(&k, RX_OP_STATUS, w->doc, id, now), &out), RX_OK);
	return w->nrecords;
}

/* AMEND (handing over code as item 1, a one-item prescription) or WITHDRAW
 * (code NULL) of id's use (0: the latest) by actor, replacing the record
 * whose hash is replaces. */
static rx_err_t redo_use(world_t *w, const uint8_t *actor, const char *id, uint32_t use,
			 const uint8_t *replaces, const char *code, int64_t now, store_outcome_t *out)
{
	rx_call_t x;
	Rx__Item it, *ptrs[1];
	Rx__Line line = RX__LINE__INIT, *lines[1] = {&line};
	Rx__DispenseRecord rec = RX__DISPENSE_RECORD__INIT;
	static store_line_t sl;
	const drug_t d[] = {{code ? code : "", 7}};
	store_change_t *c = mk(&x.k, code ? RX_OP_AMEND : RX_OP_WITHDRAW, actor, id, now);
	rec.version = RX_DOC_VERSION;
	rec.prescription_id = (char *)id;
	rec.use = use;
	c->use = use;
	rec.replaces.data = (uint8_t *)replaces;
	rec.replaces.len = RX_HASH_LEN;
	if (code) {
		pack_items(d, 1, &it, ptrs);
		line.item = 1;
		line.outcome = strcmp(code, "2171022F1029") == 0 ? RX__OUTCOME__AS_WRITTEN : RX__OUTCOME__SUBSTITUTED;
		line.reason = line.outcome == RX__OUTCOME__SUBSTITUTED ? RX__LINE_REASON__GENERIC : 0;
		line.handed = ptrs[0];
		rec.n_lines = 1;
		rec.lines = lines;
		sl = (store_line_t){.item = 1, .outcome = (int)line.outcome, .drug_code = code};
		c->lines = &sl;
		c->n_lines = 1;
	} else {
		rec.withdraw_reason = RX__WITHDRAW_REASON__NOT_COLLECTED;
		c->lines = NULL;
		c->n_lines = 0;
	}
	c->replaces = replaces;
	c->body = x.body;
	c->body_len = rx__dispense_record__pack(&rec, x.body);
	return apply(w, c, out);
}

static rx_err_t redo(world_t *w, const uint8_t *actor, const char *id, const uint8_t *replaces,
		     const char *code, int64_t now, store_outcome_t *out)
{
	return redo_use(w, actor, id, 0, replaces, code, now, out);
}

START_TEST(amend_and_withdraw)
{
	world_t w;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t first[RX_HASH_LEN], amended[RX_HASH_LEN], junk[RX_HASH_LEN] = {1};
	static const char *const same[] = {"2171022F1029"};
	static const drug_t d[] = {{"2171022F1029", 7}};
	const int asw[] = {STORE_LINE_AS_WRITTEN};
	world_open(&w);
	prescribe_uses(&w, 7, 2, NULL, T0, id);
	ck_assert_int_eq(dispense_lines(&w, id, d, 1, asw, same, T0 + 60, &out), RX_OK);
	ck_assert_uint_eq(records_of(&w, id, T0 + 61), 1);
	memcpy(first, w.records[0].hash, RX_HASH_LEN);

	/* only the institution that dispensed; only the current record */
	ck_assert_int_eq(redo(&w, w.pharm2, id, first, "2171022F1010", T0 + 70, &out), RX_PERMISSION_DENIED);
	ck_assert_int_eq(redo(&w, w.pharm, id, junk, "2171022F1010", T0 + 70, &out), RX_NOT_LATEST);
	/* an amend is checked as a dispense is */
	ck_assert_int_eq(redo(&w, w.pharm, id, first, "2189017F1022", T0 + 70, &out), RX_DIFFERENT_INGREDIENT);
	ck_assert_int_eq(redo(&w, w.pharm, id, first, "2171022F1010", T0 + 70, &out), RX_OK);
	ck_assert_uint_eq(out.use, 1);
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	ck_assert_uint_eq(records_of(&w, id, T0 + 71), 2);
	ck_assert_int_eq(w.records[0].superseded, 1);
	ck_assert_mem_eq(w.records[0].hash, first, RX_HASH_LEN);
	ck_assert_int_eq(w.records[1].superseded, 0);
	memcpy(amended, w.records[1].hash, RX_HASH_LEN);
	/* the superseded record is no longer the one to replace */
	ck_assert_int_eq(redo(&w, w.pharm, id, first, "2171022F1029", T0 + 80, &out), RX_NOT_LATEST);

	/* withdrawn: the use is back, claimed by the pharmacy with a new token */
	ck_assert_int_eq(redo(&w, w.pharm, id, amended, NULL, T0 + 90, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	ck_assert_uint_eq(out.rx.uses_left, 2);
	ck_assert_uint_eq(records_of(&w, id, T0 + 91), 3);
	ck_assert_int_eq(w.records[1].superseded, 1);
	ck_assert_int_eq(w.records[2].superseded, 0); /* the withdrawal */
	/* dispensed again (the same pharmacy claims its own claim back), then
	 * use 2: an amend of use 1 now races the second use and loses */
	ck_assert_int_eq(dispense_lines(&w, id, d, 1, asw, same, T0 + 100, &out), RX_OK);
	ck_assert_uint_eq(records_of(&w, id, T0 + 101), 4);
	memcpy(first, w.records[3].hash, RX_HASH_LEN);
	ck_assert_int_eq(w.records[2].superseded, 1);
	ck_assert_int_eq(dispense_lines(&w, id, d, 1, asw, same, T0 + 110, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_DISPENSED);
	ck_assert_int_eq(redo_use(&w, w.pharm, id, 1, first, "2171022F1010", T0 + 120, &out), RX_NOT_LATEST);
	/* use 2's record: amendable until the end of the next day (JST) */
	ck_assert_uint_eq(records_of(&w, id, T0 + 121), 5);
	memcpy(first, w.records[4].hash, RX_HASH_LEN);
	int64_t closes = rx_valid_until(T0 + 110, 2);
	ck_assert_int_eq(redo(&w, w.pharm, id, first, NULL, closes, &out), RX_AMEND_WINDOW_CLOSED);
	ck_assert_int_eq(redo(&w, w.pharm, id, first, NULL, closes - 1, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CLAIMED);
	ck_assert_uint_eq(out.rx.uses_left, 1);
	world_close(&w);
}
END_TEST

/* A WITHDRAW never takes a claim from another pharmacy, nor undoes a
 * cancel (found by the crash harness; proto/README 5.12). */
START_TEST(withdraw_respects_claims_and_cancels)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	char id[RX_ID_LEN + 1];
	uint8_t h[RX_HASH_LEN], token[RX_TOKEN_LEN];
	static const char *const same[] = {"2171022F1029"};
	static const drug_t d[] = {{"2171022F1029", 7}};
	const int asw[] = {STORE_LINE_AS_WRITTEN};
	world_open(&w);
	prescribe_uses(&w, 7, 2, NULL, T0, id);
	ck_assert_int_eq(dispense_lines(&w, id, d, 1, asw, same, T0 + 60, &out), RX_OK);
	ck_assert_uint_eq(records_of(&w, id, T0 + 61), 1);
	memcpy(h, w.records[0].hash, RX_HASH_LEN);
	/* another pharmacy claims use 2: the first may not take it back */
	claim(&w, w.pharm2, id, T0 + 70, token);
	ck_assert_int_eq(redo(&w, w.pharm, id, h, NULL, T0 + 80, &out), RX_ALREADY_CLAIMED);
	ck_assert_int_eq(status_of(&w, w.doc, id, T0 + 81).state, RX_STATE_CLAIMED);
	ck_assert_int_eq(apply(&w, mk_tok(&k, RX_OP_RELEASE, w.pharm2, id, token, T0 + 90), &out), RX_OK);
	/* cancelled: the record may be amended, not withdrawn */
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CANCEL, w.doc, id, T0 + 100), &out), RX_OK);
	ck_assert_int_eq(redo(&w, w.pharm, id, h, NULL, T0 + 110, &out), RX_CANCELLED);
	ck_assert_int_eq(redo(&w, w.pharm, id, h, "2171022F1010", T0 + 120, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_CANCELLED);
	world_close(&w);
}
END_TEST

TCase *store_patients_tcase(void)
{
	TCase *tc = world_tcase("patients");
	tcase_add_test(tc, list_open_only);
	tcase_add_test(tc, drug_master_loads_in_parts);
	tcase_add_test(tc, duplicate_refused_then_overridden);
	tcase_add_test(tc, one_ingredient_under_two_classes);
	tcase_add_test(tc, combination_tablet_contains_what_is_taken);
	tcase_add_test(tc, days_of_supply_run_out);
	tcase_add_test(tc, closed_prescriptions_ignored);
	tcase_add_test(tc, unknown_drug_warns);
	tcase_add_test(tc, claim_carries_warnings);
	tcase_add_test(tc, substitution_follows_the_marks);
	tcase_add_test(tc, substitution_keeps_the_ingredients);
	tcase_add_test(tc, substitution_without_master);
	tcase_add_test(tc, lines_account_for_each_item);
	tcase_add_test(tc, refill_windows);
	tcase_add_test(tc, divided_parts);
	tcase_add_test(tc, no_refill_drugs);
	tcase_add_test(tc, amend_and_withdraw);
	tcase_add_test(tc, withdraw_respects_claims_and_cancels);
	return tc;
}
