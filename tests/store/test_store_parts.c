/* test_store_parts: a use handed over in parts (proto/README 5.13): the
 * owing state, exactly once per part, the claim kept, what closes a use,
 * and what may not be done to a use handed over in parts. */
#include "store_int.h" /* amend_days, as rxd.conf would set it */
#include "store_world.h"

#include "rx.pb-c.h"

#define AMLODIPINE "2171022F1029" /* Norvasc 2.5 mg */
#define AMLODIPINE_GENERIC "2171022F1010"
#define VALSARTAN "2149041F1020" /* Diovan 20 mg */
#define VALSARTAN_GENERIC "2149041F1012"

/* The drug master's rows for them (deploy/data/drugs-jp.csv's). */
static const rx_drug_row_t master[] = {
	{AMLODIPINE, "ノルバスク錠２．５ｍｇ", "Amlodipine besilate 2.5 mg tablet", "amlodipine besilate", "２．５ｍｇ",
	 "錠", "tablet", ""},
	{AMLODIPINE_GENERIC, "アムロジピンベシル酸塩２．５ｍｇ錠", "Amlodipine besilate 2.5 mg tablet",
	 "amlodipine besilate", "２．５ｍｇ", "錠", "tablet", ""},
	{VALSARTAN, "ディオバン錠２０ｍｇ", "Valsartan 20 mg tablet", "valsartan", "２０ｍｇ", "錠", "tablet", ""},
	{VALSARTAN_GENERIC, "バルサルタン２０ｍｇ錠", "Valsartan 20 mg tablet", "valsartan", "２０ｍｇ", "錠", "tablet",
	 ""},
};

static void load_master(world_t *w)
{
	uint8_t load_id[16];
	uint64_t count = 0;
	size_t bad = 0, n = sizeof master / sizeof master[0];
	randombytes_buf(load_id, sizeof load_id);
	ck_assert_int_eq(store_drugs_load(w->s, load_id, master, n, 1, n, T0, &count, &bad), RX_OK);
	ck_assert_uint_eq(count, n);
}

/* A request whose body is a real rx.Prescription or rx.DispenseRecord. */
typedef struct {
	call_t k;
	uint8_t body[4096];
	store_item_t items[2];
	store_line_t lines[2];
} big_call_t;

/* The two items every prescription here has: 14 of amlodipine, 28 of
 * valsartan (twice a day). */
static void two_items(Rx__Item its[2], Rx__Item *ptrs[2])
{
	static const char *const code[] = {AMLODIPINE, VALSARTAN};
	static const uint32_t qty[] = {14, 28};
	for (int i = 0; i < 2; i++) {
		rx__item__init(&its[i]);
		its[i].drug_code = (char *)code[i];
		its[i].name = (char *)"test drug";
		its[i].days = 14;
		its[i].quantity = qty[i];
		ptrs[i] = &its[i];
	}
}

/* SUBMIT by the world's prescriber of the two items, uses uses, with an
 * override of the duplicate check or not: the store's answer. */
static rx_err_t submit2(world_t *w, uint32_t uses, const char *override, int64_t now, store_outcome_t *out)
{
	big_call_t x;
	Rx__Item its[2], *ptrs[2];
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	char notes[32];
	store_change_t *c = mk_submit(&x.k, w->doc, w->patient, uses, now);
	two_items(its, ptrs);
	p.version = RX_DOC_VERSION;
	p.n_items = 2;
	p.items = ptrs;
	p.uses = uses;
	snprintf(notes, sizeof notes, "%u", (unsigned)randombytes_random());
	p.notes = notes;
	c->body = x.body;
	c->body_len = rx__prescription__pack(&p, x.body);
	for (int i = 0; i < 2; i++)
		x.items[i] = (store_item_t){ptrs[i]->drug_code, ptrs[i]->days};
	c->items = x.items;
	c->n_items = 2;
	c->override_reason = override;
	return apply(w, c, out);
}

/* submit2, overriding the duplicate check: the id. */
static void prescribe2(world_t *w, uint32_t uses, int64_t now, char id[RX_ID_LEN + 1])
{
	store_outcome_t out;
	ck_assert_int_eq(submit2(w, uses, "test: known duplicate", now, &out), RX_OK);
	memcpy(id, out.rx.id, RX_ID_LEN + 1);
}

/* One line of a record: item (1..2), outcome, the product and units handed
 * (NULL, 0 for NOT_DISPENSED). */
typedef struct {
	uint32_t item;
	int outcome;
	const char *code;
	uint32_t quantity;
} line_t;

/* DISPENSE by actor under token of part (0: the whole use) with these
 * lines. */
static rx_err_t hand(world_t *w, const uint8_t *actor, const char *id, const uint8_t *token, uint32_t part,
		     const line_t *ls, size_t n, int64_t now, store_outcome_t *out)
{
	big_call_t x;
	Rx__Item its[2], *ptrs[2];
	Rx__Line line[2], *lines[2];
	Rx__DispenseRecord rec = RX__DISPENSE_RECORD__INIT;
	store_change_t *c = mk_tok(&x.k, RX_OP_DISPENSE, actor, id, token, now);
	ck_assert_uint_le(n, 2);
	two_items(its, ptrs);
	for (size_t i = 0; i < n; i++) {
		rx__line__init(&line[i]);
		line[i].item = ls[i].item;
		line[i].outcome = (Rx__Outcome)ls[i].outcome;
		line[i].reason = ls[i].outcome == STORE_LINE_AS_WRITTEN	  ? 0
				 : ls[i].outcome == STORE_LINE_SUBSTITUTED ? RX__LINE_REASON__GENERIC
									   : RX__LINE_REASON__OUT_OF_STOCK;
		its[i].drug_code = (char *)(ls[i].code ? ls[i].code : "");
		its[i].quantity = ls[i].quantity;
		line[i].handed = ls[i].code ? ptrs[i] : NULL;
		lines[i] = &line[i];
		x.lines[i] = (store_line_t){.item = ls[i].item, .outcome = ls[i].outcome,
					    .drug_code = ls[i].code ? ls[i].code : "", .quantity = ls[i].quantity};
	}
	rec.version = RX_DOC_VERSION;
	rec.prescription_id = (char *)id;
	rec.part = part;
	rec.n_lines = n;
	rec.lines = lines;
	c->part = part;
	c->lines = x.lines;
	c->n_lines = n;
	c->body = x.body;
	c->body_len = rx__dispense_record__pack(&rec, x.body);
	return apply(w, c, out);
}

static rx_err_t release(world_t *w, const char *id, const uint8_t *token, int64_t now)
{
	call_t k;
	store_outcome_t out;
	return apply(w, mk_tok(&k, RX_OP_RELEASE, w->pharm, id, token, now), &out);
}

static rx_err_t op(world_t *w, int o, const uint8_t *actor, const char *id, int64_t now)
{
	call_t k;
	store_outcome_t out;
	return apply(w, mk(&k, o, actor, id, now), &out);
}

/* STATUS by the prescriber: the records and the state. */
static int status_records(world_t *w, const char *id, int64_t now)
{
	call_t k;
	store_outcome_t out;
	ck_assert_int_eq(apply(w, mk(&k, RX_OP_STATUS, w->doc, id, now), &out), RX_OK);
	return out.rx.state;
}

START_TEST(parts_owe_and_complete)
{
	world_t w;
	store_outcome_t out;
	uint8_t token[RX_TOKEN_LEN], other[RX_TOKEN_LEN];
	char id[RX_ID_LEN + 1];
	world_open(&w);
	load_master(&w);
	prescribe2(&w, 1, T0, id);
	claim(&w, w.pharm, id, T0 + 60, token);

	/* Part 1: all the amlodipine (a generic), 10 of the 28 valsartan. */
	const line_t p1[] = {{1, STORE_LINE_SUBSTITUTED, AMLODIPINE_GENERIC, 14},
			     {2, STORE_LINE_PARTIAL, VALSARTAN, 10}};
	/* A record that leaves items owed is a part: part 0 will not do
	 * (rx_check refuses it before the store; the store refuses it too). */
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 2, p1, 2, T0 + 100, &out), RX_INVALID);
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 1, p1, 2, T0 + 120, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_PARTIAL);
	ck_assert_uint_eq(out.use, 1);
	ck_assert_int_eq(status_of(&w, w.doc, id, T0 + 121).state, RX_STATE_PARTIAL);
	expect_counts(&w, T0 + 121, 0, 0, 0, 0, 0);
	ck_assert_uint_eq(stats_of(&w, T0 + 121).by_state[RX_STATE_PARTIAL], 1);

	/* No amend or withdraw of a part: the holder is told why, another
	 * pharmacy only that it may not. */
	uint8_t any[RX_HASH_LEN] = {0};
	call_t ka;
	store_change_t *am = mk(&ka, RX_OP_WITHDRAW, w.pharm, id, T0 + 125);
	am->replaces = any;
	ck_assert_int_eq(apply(&w, am, &out), RX_PARTLY_DISPENSED);
	am = mk(&ka, RX_OP_WITHDRAW, w.pharm2, id, T0 + 126);
	am->replaces = any;
	ck_assert_int_eq(apply(&w, am, &out), RX_PERMISSION_DENIED);

	/* The same part again under a new request id: exactly once. */
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 1, p1, 2, T0 + 130, &out), RX_ALREADY_DISPENSED);
	/* The claim stays with the pharmacy: not released, not taken. */
	ck_assert_int_eq(release(&w, id, token, T0 + 140), RX_PARTLY_DISPENSED);
	ck_assert_int_eq(op(&w, RX_OP_CLAIM, w.pharm2, id, T0 + 141), RX_ALREADY_CLAIMED);
	call_t k;
	ck_assert_int_eq(apply(&w, mk(&k, RX_OP_CLAIM, w.pharm, id, T0 + 142), &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_PARTIAL); /* its own claim back */
	memcpy(other, out.rx.claim_token, RX_TOKEN_LEN);
	ck_assert(memcmp(other, token, RX_TOKEN_LEN) == 0);

	/* Part 2 names only what is owed, in order, and at most what is. */
	const line_t both[] = {{1, STORE_LINE_AS_WRITTEN, AMLODIPINE, 14}, {2, STORE_LINE_AS_WRITTEN, VALSARTAN, 18}};
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 2, both, 2, T0 + 150, &out), RX_INVALID);
	const line_t too_much[] = {{2, STORE_LINE_PARTIAL, VALSARTAN, 18}};
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 2, too_much, 1, T0 + 151, &out), RX_INVALID);
	ck_assert_ptr_nonnull(strstr(out.why, "18 units still owed"));
	const line_t more[] = {{2, STORE_LINE_PARTIAL, VALSARTAN, 8}};
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 3, more, 1, T0 + 152, &out), RX_INVALID);
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 0, more, 1, T0 + 153, &out), RX_INVALID);

	/* Days later, past the prescription's validity: the owing use goes on. */
	int64_t later = T0 + 9 * DAY;
	ck_assert_int_eq(status_of(&w, w.doc, id, later).state, RX_STATE_PARTIAL);
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 2, more, 1, later, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_PARTIAL);
	const line_t over[] = {{2, STORE_LINE_AS_WRITTEN, VALSARTAN, 15}};
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 3, over, 1, later + 50, &out), RX_INVALID);
	ck_assert_ptr_nonnull(strstr(out.why, "only 10 are still owed"));
	const line_t rest[] = {{2, STORE_LINE_AS_WRITTEN, VALSARTAN, 10}};
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 3, rest, 1, later + 60, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_DISPENSED);
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 3, rest, 1, later + 70, &out), RX_ALREADY_DISPENSED);
	/* The prescription's log tells the parts from the last. */
	store_audit_t *log = NULL;
	size_t n = 0, open = 0, last = 0;
	ck_assert_int_eq(store_audit_rx(w.s, id, &log, &n), RX_OK);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(log[i].action, "DISPENSE") != 0 || log[i].outcome != RX_OK)
			continue;
		open += strcmp(log[i].detail, "a part: items still owed") == 0;
		last += strcmp(log[i].detail, "the last part: nothing owed") == 0;
	}
	free(log);
	ck_assert_uint_eq(open, 2);
	ck_assert_uint_eq(last, 1);
	expect_counts(&w, later + 70, 0, 0, 1, 0, 0);

	/* STATUS: the three records of use 1 in order, none superseded. */
	ck_assert_int_eq(status_records(&w, id, later + 80), RX_STATE_DISPENSED);
	ck_assert_uint_eq(w.nrecords, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_uint_eq(w.records[i].use, 1);
		ck_assert_int_eq(w.records[i].superseded, 0);
	}
	ck_assert_uint_eq(stats_of(&w, later + 80).dispense_records, 3);
	/* The amlodipine handed over in part 1 only is still taken: the
	 * duplicate check reads the parts as well as the current record. */
	ck_assert_int_eq(submit2(&w, 1, NULL, later + 90, &out), RX_DUPLICATE_MEDICATION);
	int amlodipine = 0;
	for (size_t i = 0; i < out.nwarnings; i++)
		amlodipine |= out.warnings[i].kind == STORE_WARN_DUPLICATE && out.warnings[i].item == 0 &&
			      strcmp(out.warnings[i].other_code, AMLODIPINE_GENERIC) == 0;
	ck_assert_msg(amlodipine, "the amlodipine of part 1 was not found");
	world_close(&w);
}
END_TEST

START_TEST(parts_closed_cancelled_and_final)
{
	world_t w;
	store_outcome_t out;
	uint8_t token[RX_TOKEN_LEN];
	char id[RX_ID_LEN + 1], id2[RX_ID_LEN + 1];
	world_open(&w);

	/* A use closed by its last part with what is owed not dispensed. */
	prescribe2(&w, 2, T0, id);
	claim(&w, w.pharm, id, T0 + 60, token);
	const line_t p1[] = {{1, STORE_LINE_PARTIAL, AMLODIPINE, 7}, {2, STORE_LINE_PARTIAL, VALSARTAN, 14}};
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 1, p1, 2, T0 + 120, &out), RX_OK);
	const line_t close[] = {{1, STORE_LINE_NOT_DISPENSED, NULL, 0}, {2, STORE_LINE_AS_WRITTEN, VALSARTAN, 14}};
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 2, close, 2, T0 + 2 * DAY, &out), RX_OK);
	/* a refill: use 2 is open in its window, from the day the use completed */
	ck_assert_int_eq(out.rx.state, RX_STATE_ISSUED);
	ck_assert_uint_eq(out.rx.uses_left, 1);
	/* The use's records stand as they are. */
	ck_assert_int_eq(status_records(&w, id, T0 + 2 * DAY + 10), RX_STATE_ISSUED);
	ck_assert_uint_eq(w.nrecords, 2);
	ck_assert_int_eq(w.records[0].superseded, 0);
	call_t k;
	uint8_t hash[RX_HASH_LEN];
	memcpy(hash, w.records[1].hash, RX_HASH_LEN);
	store_change_t *c = mk(&k, RX_OP_WITHDRAW, w.pharm, id, T0 + 2 * DAY + 20);
	c->replaces = hash;
	ck_assert_int_eq(apply(&w, c, &out), RX_PARTLY_DISPENSED);

	/* Cancelled while owed: the pharmacy cannot hand over more, and its
	 * release ends the cancel. */
	prescribe2(&w, 1, T0, id2);
	claim(&w, w.pharm, id2, T0 + 60, token);
	ck_assert_int_eq(hand(&w, w.pharm, id2, token, 1, p1, 2, T0 + 120, &out), RX_OK);
	ck_assert_int_eq(op(&w, RX_OP_CANCEL, w.doc, id2, T0 + 180), RX_OK);
	ck_assert_int_eq(status_of(&w, w.doc, id2, T0 + 181).state, RX_STATE_PARTIAL);
	ck_assert_int_eq(hand(&w, w.pharm, id2, token, 2, close, 2, T0 + 240, &out), RX_CANCELLED);
	ck_assert_int_eq(release(&w, id2, token, T0 + 300), RX_OK);
	ck_assert_int_eq(status_of(&w, w.doc, id2, T0 + 301).state, RX_STATE_CANCELLED);
	ck_assert_int_eq(status_records(&w, id2, T0 + 302), RX_STATE_CANCELLED);
	ck_assert_uint_eq(w.nrecords, 1); /* the part handed over stays on record */
	ck_assert_int_eq(w.records[0].superseded, 0);
	world_close(&w);
}
END_TEST

/* Operator restarts and the sweep leave an owing use as it is: its
 * record survives a reopen and it never expires. */
START_TEST(parts_survive_reopen_and_sweep)
{
	world_t w;
	store_outcome_t out;
	uint8_t token[RX_TOKEN_LEN];
	char id[RX_ID_LEN + 1];
	uint64_t expired = 0;
	world_open(&w);
	prescribe2(&w, 1, T0, id);
	claim(&w, w.pharm, id, T0 + 60, token);
	const line_t p1[] = {{1, STORE_LINE_AS_WRITTEN, AMLODIPINE, 14}, {2, STORE_LINE_PARTIAL, VALSARTAN, 1}};
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 1, p1, 2, T0 + 120, &out), RX_OK);
	store_close(&w.s);
	store_open_in(&w);
	ck_assert_int_eq(store_expire(w.s, T0 + 30 * DAY, &expired), RX_OK);
	ck_assert_uint_eq(expired, 0);
	ck_assert_int_eq(status_of(&w, w.doc, id, T0 + 30 * DAY).state, RX_STATE_PARTIAL);
	const line_t rest[] = {{2, STORE_LINE_SUBSTITUTED, VALSARTAN_GENERIC, 27}};
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 2, rest, 1, T0 + 30 * DAY, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_DISPENSED);
	world_close(&w);
}
END_TEST

/* AMEND (whole lines, item 1 a generic) of id's latest dispensed use,
 * replacing the record whose hash is replaces. */
static rx_err_t amend(world_t *w, const char *id, const uint8_t *replaces, int64_t now, store_outcome_t *out)
{
	big_call_t x;
	Rx__Item its[2], *ptrs[2];
	Rx__Line line[2], *lines[2];
	Rx__DispenseRecord rec = RX__DISPENSE_RECORD__INIT;
	store_change_t *c = mk(&x.k, RX_OP_AMEND, w->pharm, id, now);
	two_items(its, ptrs);
	its[0].drug_code = (char *)AMLODIPINE_GENERIC;
	for (int i = 0; i < 2; i++) {
		rx__line__init(&line[i]);
		line[i].item = (uint32_t)i + 1;
		line[i].outcome = i ? RX__OUTCOME__AS_WRITTEN : RX__OUTCOME__SUBSTITUTED;
		line[i].reason = i ? 0 : RX__LINE_REASON__GENERIC;
		line[i].handed = ptrs[i];
		lines[i] = &line[i];
		x.lines[i] = (store_line_t){.item = (uint32_t)i + 1, .outcome = (int)line[i].outcome,
					    .drug_code = its[i].drug_code, .quantity = its[i].quantity};
	}
	rec.version = RX_DOC_VERSION;
	rec.prescription_id = (char *)id;
	rec.replaces.data = (uint8_t *)replaces;
	rec.replaces.len = RX_HASH_LEN;
	rec.n_lines = 2;
	rec.lines = lines;
	c->lines = x.lines;
	c->n_lines = 2;
	c->replaces = replaces;
	c->body = x.body;
	c->body_len = rx__dispense_record__pack(&rec, x.body);
	return apply(w, c, out);
}

/* The previous use stays a whole use to amend while the next is owed: its
 * record accounts for every item, not for what the next use owes. */
START_TEST(amend_previous_use_while_owed)
{
	world_t w;
	store_outcome_t out;
	uint8_t token[RX_TOKEN_LEN], hash[RX_HASH_LEN];
	char id[RX_ID_LEN + 1];
	world_open(&w);
	w.s->amend_days = 7;
	prescribe2(&w, 2, T0, id);
	claim(&w, w.pharm, id, T0 + 60, token);
	const line_t whole[] = {{1, STORE_LINE_AS_WRITTEN, AMLODIPINE, 14}, {2, STORE_LINE_AS_WRITTEN, VALSARTAN, 28}};
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 0, whole, 2, T0 + 120, &out), RX_OK);
	ck_assert_int_eq(status_records(&w, id, T0 + 130), RX_STATE_ISSUED);
	memcpy(hash, w.records[0].hash, RX_HASH_LEN);
	/* use 2 opens 7 days before its 14 days of supply run out */
	int64_t t = T0 + 7 * DAY + 3600;
	claim(&w, w.pharm, id, t, token);
	const line_t p1[] = {{1, STORE_LINE_AS_WRITTEN, AMLODIPINE, 14}, {2, STORE_LINE_PARTIAL, VALSARTAN, 20}};
	ck_assert_int_eq(hand(&w, w.pharm, id, token, 1, p1, 2, t + 60, &out), RX_OK);
	ck_assert_int_eq(out.rx.state, RX_STATE_PARTIAL);
	ck_assert_int_eq(amend(&w, id, hash, t + 120, &out), RX_OK);
	ck_assert_uint_eq(out.use, 1);
	ck_assert_int_eq(out.rx.state, RX_STATE_PARTIAL);
	/* use 1: replaced and current; use 2: its open part */
	ck_assert_int_eq(status_records(&w, id, t + 130), RX_STATE_PARTIAL);
	ck_assert_uint_eq(w.nrecords, 3);
	ck_assert_int_eq(w.records[0].superseded, 1);
	ck_assert_int_eq(w.records[1].superseded, 0);
	ck_assert_uint_eq(w.records[2].use, 2);
	ck_assert_int_eq(w.records[2].superseded, 0);
	/* and the next use is not withdrawn from under its owing */
	memcpy(hash, w.records[1].hash, RX_HASH_LEN);
	call_t k;
	store_change_t *c = mk(&k, RX_OP_WITHDRAW, w.pharm, id, t + 140);
	c->replaces = hash;
	ck_assert_int_eq(apply(&w, c, &out), RX_PARTLY_DISPENSED);
	world_close(&w);
}
END_TEST

TCase *store_parts_tcase(void)
{
	TCase *tc = world_tcase("parts");
	tcase_add_test(tc, parts_owe_and_complete);
	tcase_add_test(tc, parts_closed_cancelled_and_final);
	tcase_add_test(tc, parts_survive_reopen_and_sweep);
	tcase_add_test(tc, amend_previous_use_while_owed);
	return tc;
}
