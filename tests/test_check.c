/* test_check: content rules for prescriptions and dispense records, and the
 * validity arithmetic (proto/rx_check.c).  Each rule is broken on its own,
 * on an otherwise good message, so a refusal can only come from that rule. */
#include <check.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rx.pb-c.h"
#include "rx_check.h"
#include "rx_crypto.h"
#include "rx_drugs.h"
#include "rx_ids.h"
#include "testutil.h"
#include "rx_ops.h"

#define DAY 86400
#define ISSUED 1764547200 /* 2025-12-01 09:00 JST */
#define NOW (ISSUED + 600)

/* A good prescription and the storage it points into. */
typedef struct {
	Rx__Prescription p;
	Rx__Item item[RX_MAX_ITEMS + 1];
	Rx__Item *items[RX_MAX_ITEMS + 1];
	uint8_t key[RX_KEY_LEN];
	char patient[RX_PATIENT_ID_LEN + 1];
	char text[4096];
} rx_fixture_t;

static void good_item(Rx__Item *it)
{
	rx__item__init(it);
	it->drug_code = "2171022F1029";
	it->name = "ノルバスク錠2.5mg"; /* UTF-8, as an EMR would send it */
	it->dose = "1 tablet";
	it->unit = "tablet";
	it->usage = "once daily after breakfast";
	it->days = 28;
	it->quantity = 28;
}

static Rx__Prescription *good(rx_fixture_t *f)
{
	uint8_t pkey[32];
	memset(f, 0, sizeof *f);
	memset(pkey, 0x42, sizeof pkey);
	ck_assert_int_eq(rx_patient_id_derive(pkey, "123456789018", f->patient), RX_OK);
	randombytes_buf(f->key, sizeof f->key);
	for (int i = 0; i <= RX_MAX_ITEMS; i++) {
		good_item(&f->item[i]);
		f->items[i] = &f->item[i];
	}
	Rx__Prescription *p = &f->p;
	rx__prescription__init(p);
	p->version = RX_DOC_VERSION;
	p->patient_id = f->patient;
	p->prescriber_key.data = f->key;
	p->prescriber_key.len = RX_KEY_LEN;
	p->institution_code = "1312345678";
	p->issued_at = ISSUED;
	p->valid_until = rx_valid_until(ISSUED, RX_DEFAULT_VALID_DAYS);
	p->uses = 1;
	p->n_items = 1;
	p->items = f->items;
	p->notes = "";
	return p;
}

/* Check p at NOW: the code, and a reason whenever it is a refusal. */
static rx_err_t check_at(const Rx__Prescription *p, int64_t now)
{
	const char *why = NULL;
	rx_err_t err = rx_check_prescription(p, now, &why);
	if (err != RX_OK)
		ck_assert_msg(why != NULL && why[0] != '\0', "refusal %d without a reason", err);
	return err;
}

static rx_err_t check(const Rx__Prescription *p)
{
	return check_at(p, NOW);
}

/* ---- rx_check_text ---- */

static const char *const bad_text[] = {
	"\xc0\xaf",             /* overlong '/' (2 bytes) */
	"\xc1\xbf",             /* overlong (2 bytes) */
	"\xe0\x80\xaf",         /* overlong '/' (3 bytes) */
	"\xe0\x9f\xbf",         /* overlong U+07FF */
	"\xf0\x80\x80\xaf",     /* overlong '/' (4 bytes) */
	"\xf0\x8f\xbf\xbf",     /* overlong U+FFFF */
	"\xed\xa0\x80",         /* surrogate U+D800 */
	"\xed\xbf\xbf",         /* surrogate U+DFFF */
	"\xed\xa0\xbd\xed\xb8\x80", /* CESU-8 surrogate pair */
	"\xf4\x90\x80\x80",     /* U+110000 */
	"\xf5\x80\x80\x80",
	"\xf8\x88\x80\x80\x80", /* 5-byte form */
	"\xfe", "\xff",
	"\x80",                 /* lone continuation byte */
	"abc\xbf",
	"\xe3\x81",             /* truncated at end of string */
	"\xe3\x81" "a",         /* truncated before ASCII */
	"\xf0\x9f\x98",         /* truncated 4-byte */
	"\xc3",
	"tablet\x01",           /* C0 controls */
	"\x1b[31mred\x1b[0m",   /* terminal escape */
	"a\rb",
	"\x7f",                 /* DEL */
	"\xc2\x85",             /* U+0085 NEL, a C1 control */
	"\xc2\x9b" "31m",       /* U+009B CSI: a one-byte terminal escape */
	"\xc2\x80", "\xc2\x9f",
};

static const char *const good_text[] = {
	"tablet", "ノルバスク錠2.5mg", "line one\nline two", "a\tb", "\xc2\xa0" /* U+00A0 */,
	"\xf0\x9f\x92\x8a" /* U+1F48A pill */, "\xef\xbf\xbd" /* U+FFFD */,
	"\xf4\x8f\xbf\xbf" /* U+10FFFF */, "\xee\x80\x80" /* U+E000 */, "~",
};

START_TEST(text_rules)
{
	for (size_t i = 0; i < sizeof bad_text / sizeof bad_text[0]; i++)
		ck_assert_msg(rx_check_text(bad_text[i], 100, 1) == RX_INVALID, "accepted bad_text[%zu]",
			      i);
	for (size_t i = 0; i < sizeof good_text / sizeof good_text[0]; i++)
		ck_assert_msg(rx_check_text(good_text[i], 100, 1) == RX_OK, "refused good_text[%zu]", i);
	ck_assert_int_eq(rx_check_text("", 10, 1), RX_INVALID);
	ck_assert_int_eq(rx_check_text("", 10, 0), RX_OK);
	ck_assert_int_eq(rx_check_text(NULL, 10, 0), RX_OK);
	ck_assert_int_eq(rx_check_text(NULL, 10, 1), RX_INVALID);
	/* max counts bytes, not characters */
	ck_assert_int_eq(rx_check_text("0123456789", 10, 1), RX_OK);
	ck_assert_int_eq(rx_check_text("0123456789a", 10, 1), RX_INVALID);
	ck_assert_int_eq(rx_check_text("錠錠錠", 9, 1), RX_OK);
	ck_assert_int_eq(rx_check_text("錠錠錠", 8, 1), RX_INVALID);
	/* Bidi overrides (U+202E) and isolates (U+2066) would let the text shown
	 * differ from the text signed; the arrow U+2192 next to them is fine. */
	ck_assert_int_eq(rx_check_text("1 tablet \u202e yad a", 100, 1), RX_INVALID);
	ck_assert_int_eq(rx_check_text("x\u2066y", 100, 1), RX_INVALID);
	ck_assert_int_eq(rx_check_text("x\u2192y", 100, 1), RX_OK);
}
END_TEST

/* ---- prescriptions ---- */

START_TEST(good_prescription_passes)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	const char *why = "untouched";
	ck_assert_int_eq(rx_check_prescription(p, NOW, &why), RX_OK);
	p->uses = 3;
	p->n_items = RX_MAX_ITEMS;
	p->notes = "飲み忘れに注意\n(take with water)";
	ck_assert_int_eq(check(p), RX_OK);
}
END_TEST

START_TEST(version)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	/* Version 1 is what was stored before protocol v2: not submitted now. */
	static const uint32_t bad[] = {0, 1, 3, 0xffffffffu};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		p->version = bad[i];
		ck_assert_int_eq(check(p), RX_INVALID);
	}
}
END_TEST

START_TEST(patient_id)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	char alt[64];

	/* Empty: the patient comes from the card assertion. */
	p->patient_id = "";
	ck_assert_int_eq(check(p), RX_OK);
	p->patient_id = "123456789018"; /* a My Number is never a patient id */
	ck_assert_int_eq(check(p), RX_INVALID);

	/* parses, but is not the canonical form */
	for (int i = 0; f.patient[i]; i++)
		alt[i] = (char)(f.patient[i] | 0x20);
	alt[RX_PATIENT_ID_LEN] = '\0';
	p->patient_id = alt;
	ck_assert_int_eq(check(p), RX_INVALID);
	snprintf(alt, sizeof alt, "%.9s-%.9s", f.patient, f.patient + 9);
	ck_assert_int_eq(check(p), RX_INVALID);

	/* wrong check character */
	snprintf(alt, sizeof alt, "%s", f.patient);
	alt[RX_PATIENT_ID_LEN - 1] = alt[RX_PATIENT_ID_LEN - 1] == '0' ? '1' : '0';
	ck_assert_int_eq(check(p), RX_INVALID);
	/* one short */
	snprintf(alt, sizeof alt, "%.17s", f.patient);
	ck_assert_int_eq(check(p), RX_INVALID);

	p->patient_id = f.patient;
	ck_assert_int_eq(check(p), RX_OK);

	/* The card the prescription names is a 32-byte key, or absent. */
	uint8_t card[33] = {0};
	p->patient_card.data = card;
	p->patient_card.len = 31;
	ck_assert_int_eq(check(p), RX_INVALID);
	p->patient_card.len = 33;
	ck_assert_int_eq(check(p), RX_INVALID);
	p->patient_card.len = 32;
	ck_assert_int_eq(check(p), RX_OK);
	p->patient_card.len = 0;
	p->patient_card.data = NULL;
}
END_TEST

START_TEST(prescriber_key_length)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	static const size_t bad[] = {0, 1, 31, 33, 64};
	uint8_t big[64] = {0};
	p->prescriber_key.data = big;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		p->prescriber_key.len = bad[i];
		ck_assert_int_eq(check(p), RX_INVALID);
	}
}
END_TEST

START_TEST(institution)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	/* Empty: the broker fills it in from the key registry. */
	p->institution_code = "";
	ck_assert_int_eq(check(p), RX_OK);
	static const char *const bad[] = {"13 12345678", "1312345678\n", "13_1234", "1312345678;",
					  "012345678901234567890123456789012" /* 33 */};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		p->institution_code = (char *)bad[i];
		ck_assert_msg(check(p) == RX_INVALID, "accepted \"%s\"", bad[i]);
	}
	p->institution_code = "01234567890123456789012345678901"; /* 32 */
	ck_assert_int_eq(check(p), RX_OK);
}
END_TEST

START_TEST(issued_at_window)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	int64_t now = NOW;

	/* a clinic clock up to RX_CLOCK_SKEW ahead is tolerated, no more */
	p->issued_at = now + RX_CLOCK_SKEW;
	p->valid_until = rx_valid_until(p->issued_at, 4);
	ck_assert_int_eq(check_at(p, now), RX_OK);
	p->issued_at = now + RX_CLOCK_SKEW + 1;
	p->valid_until = rx_valid_until(p->issued_at, 4);
	ck_assert_int_eq(check_at(p, now), RX_INVALID);
	p->issued_at = now + 365 * DAY;
	p->valid_until = p->issued_at + DAY;
	ck_assert_int_eq(check_at(p, now), RX_INVALID);

	/* up to a day old, no older */
	p->issued_at = now - RX_MAX_SUBMIT_AGE;
	p->valid_until = rx_valid_until(p->issued_at, 4);
	ck_assert_int_eq(check_at(p, now), RX_OK);
	p->issued_at = now - RX_MAX_SUBMIT_AGE - 1;
	p->valid_until = rx_valid_until(p->issued_at, 4);
	ck_assert_int_eq(check_at(p, now), RX_INVALID);
	p->issued_at = 0;
	p->valid_until = DAY;
	ck_assert_int_eq(check_at(p, now), RX_INVALID);
	p->issued_at = -1;
	ck_assert_int_eq(check_at(p, now), RX_INVALID);
}
END_TEST

START_TEST(valid_until_window)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);

	p->valid_until = p->issued_at; /* empty window */
	ck_assert_int_eq(check(p), RX_INVALID);
	p->valid_until = p->issued_at - 1;
	ck_assert_int_eq(check(p), RX_INVALID);
	p->valid_until = 0;
	ck_assert_int_eq(check(p), RX_INVALID);

	/* the longest: 31 days including the issue day */
	p->valid_until = rx_valid_until(p->issued_at, RX_MAX_VALID_DAYS);
	ck_assert_int_eq(check(p), RX_OK);
	p->valid_until = p->issued_at + RX_MAX_VALID_DAYS * DAY;
	ck_assert_int_eq(check(p), RX_OK);
	/* more than 31 days after issue */
	p->valid_until = p->issued_at + RX_MAX_VALID_DAYS * DAY + 1;
	ck_assert_int_eq(check(p), RX_INVALID);
	p->valid_until = rx_valid_until(p->issued_at, RX_MAX_VALID_DAYS + 1);
	ck_assert_int_eq(check(p), RX_INVALID);
	p->valid_until = p->issued_at + 366 * DAY;
	ck_assert_int_eq(check(p), RX_INVALID);
	p->valid_until = INT64_MAX;
	ck_assert_int_eq(check(p), RX_INVALID);
}
END_TEST

START_TEST(expired)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	p->valid_until = p->issued_at + 3600;
	ck_assert_int_eq(check_at(p, p->valid_until - 1), RX_OK);
	/* valid_until is the first instant it is no longer valid */
	ck_assert_int_eq(check_at(p, p->valid_until), RX_EXPIRED);
	ck_assert_int_eq(check_at(p, p->valid_until + 7200), RX_EXPIRED);
	/* a malformed one is INVALID, expired or not */
	p->uses = 0;
	ck_assert_int_eq(check_at(p, p->valid_until), RX_INVALID);
}
END_TEST

START_TEST(uses)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	for (uint32_t u = 0; u <= 5; u++) {
		p->uses = u;
		ck_assert_msg(check(p) == (u >= 1 && u <= RX_MAX_USES ? RX_OK : RX_INVALID), "uses %u",
			      u);
	}
	p->uses = 0xffffffffu;
	ck_assert_int_eq(check(p), RX_INVALID);
}
END_TEST

/* Divided dispensing: one part's days per use, 2..3 of them (README 5.11). */
START_TEST(part_days)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	uint32_t parts[4] = {10, 20, 30, 40};
	p->part_days = parts;
	for (uint32_t n = 1; n <= 4; n++)
		for (uint32_t u = 1; u <= RX_MAX_USES; u++) {
			p->n_part_days = n;
			p->uses = u;
			ck_assert_msg(check(p) == (n >= 2 && n <= 3 && n == u ? RX_OK : RX_INVALID), "%u parts, %u uses",
				      n, u);
		}
	p->n_part_days = p->uses = 2;
	parts[1] = 0;
	ck_assert_int_eq(check(p), RX_INVALID);
	parts[1] = 366;
	ck_assert_int_eq(check(p), RX_INVALID);
	parts[1] = 365;
	ck_assert_int_eq(check(p), RX_OK);
	/* a use's days: its part's, else the longest item's */
	ck_assert_uint_eq(rx_use_days(p, 1), 10);
	ck_assert_uint_eq(rx_use_days(p, 2), 365);
	p->n_part_days = 0;
	ck_assert_uint_eq(rx_use_days(p, 2), p->items[0]->days);
}
END_TEST

/* A later use's window: 7 Japan days either side of the day the supply runs out. */
START_TEST(next_window_japan_days)
{
	/* dispensed 2026-11-26 23:30 JST (14:30 UTC) with 30 days: due on
	 * 2026-12-26 JST; open from 12-19 00:00 JST to 01-02 24:00 JST */
	const int64_t at = 1795703400, dec19 = 1797606000, jan03 = 1798902000;
	int64_t opens, until;
	rx_next_window(at, 30, &opens, &until);
	ck_assert_int_eq(opens, dec19);
	ck_assert_int_eq(until, jan03);
}
END_TEST

START_TEST(item_count)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	p->n_items = 0;
	ck_assert_int_eq(check(p), RX_INVALID);
	p->n_items = RX_MAX_ITEMS;
	ck_assert_int_eq(check(p), RX_OK);
	p->n_items = RX_MAX_ITEMS + 1;
	ck_assert_int_eq(check(p), RX_INVALID);
}
END_TEST

/* Each bad item, placed last of several, makes the whole thing INVALID. */
START_TEST(item_fields)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	p->n_items = 3;
	Rx__Item *it = &f.item[2];

	static const char *const bad_codes[] = {"2171022F1020", "2171022f1029", "217102F1029", "",
						"21710221F029", "2171022F10299"};
	for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++) {
		it->drug_code = (char *)bad_codes[i];
		ck_assert_msg(check(p) == RX_INVALID, "drug code \"%s\"", bad_codes[i]);
	}
	good_item(it);
	ck_assert_int_eq(check(p), RX_OK);

	/* required text fields, each empty, then each too long */
	struct {
		char **field;
		size_t max;
	} fields[] = {{&it->name, 200}, {&it->dose, 100}, {&it->unit, 32}, {&it->usage, 400}};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		char *saved = *fields[i].field;
		*fields[i].field = "";
		ck_assert_msg(check(p) == RX_INVALID, "empty field %zu", i);
		memset(f.text, 'x', fields[i].max);
		f.text[fields[i].max] = '\0';
		*fields[i].field = f.text;
		ck_assert_msg(check(p) == RX_OK, "field %zu at its limit", i);
		f.text[fields[i].max] = 'x';
		f.text[fields[i].max + 1] = '\0';
		ck_assert_msg(check(p) == RX_INVALID, "field %zu one over", i);
		for (size_t b = 0; b < sizeof bad_text / sizeof bad_text[0]; b++) {
			*fields[i].field = (char *)bad_text[b];
			ck_assert_msg(check(p) == RX_INVALID, "field %zu bad_text[%zu]", i, b);
		}
		*fields[i].field = saved;
	}
	ck_assert_int_eq(check(p), RX_OK);
}
END_TEST

START_TEST(item_days_quantity)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	Rx__Item *it = &f.item[0];
	static const struct {
		uint32_t v;
		rx_err_t days, qty;
	} cases[] = {
		{0, RX_INVALID, RX_INVALID}, {1, RX_OK, RX_OK},           {365, RX_OK, RX_OK},
		{366, RX_INVALID, RX_OK},    {100000, RX_INVALID, RX_OK}, {100001, RX_INVALID, RX_INVALID},
		{0xffffffffu, RX_INVALID, RX_INVALID},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		good_item(it);
		it->days = cases[i].v;
		ck_assert_msg(check(p) == cases[i].days, "days %u", cases[i].v);
		good_item(it);
		it->quantity = cases[i].v;
		ck_assert_msg(check(p) == cases[i].qty, "quantity %u", cases[i].v);
	}
}
END_TEST

START_TEST(notes)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	memset(f.text, 'n', 2000);
	f.text[2000] = '\0';
	p->notes = f.text;
	ck_assert_int_eq(check(p), RX_OK);
	f.text[2000] = 'n';
	f.text[2001] = '\0';
	ck_assert_int_eq(check(p), RX_INVALID);
	for (size_t b = 0; b < sizeof bad_text / sizeof bad_text[0]; b++) {
		p->notes = (char *)bad_text[b];
		ck_assert_msg(check(p) == RX_INVALID, "notes bad_text[%zu]", b);
	}
	p->notes = "take\twith\nwater";
	ck_assert_int_eq(check(p), RX_OK);
}
END_TEST

START_TEST(override_reason)
{
	rx_fixture_t f;
	Rx__Prescription *p = good(&f);
	p->override_reason = "";
	ck_assert_int_eq(check(p), RX_OK);
	p->override_reason = "switching to the combination tablet; the old prescription is cancelled";
	ck_assert_int_eq(check(p), RX_OK);
	/* 500 characters, counted as characters: 500 three-byte ones pass, 501 do not. */
	f.text[0] = '\0';
	for (int i = 0; i < 500; i++)
		strcat(f.text, "重");
	p->override_reason = f.text;
	ck_assert_int_eq(check(p), RX_OK);
	strcat(f.text, "重");
	ck_assert_int_eq(check(p), RX_INVALID);
	memset(f.text, 'r', 501);
	f.text[501] = '\0';
	ck_assert_int_eq(check(p), RX_INVALID);
	f.text[500] = '\0';
	ck_assert_int_eq(check(p), RX_OK);
	/* No reason is not a reason. */
	p->override_reason = " \t\n ";
	ck_assert_int_eq(check(p), RX_INVALID);
	for (size_t b = 0; b < sizeof bad_text / sizeof bad_text[0]; b++) {
		p->override_reason = (char *)bad_text[b];
		ck_assert_msg(check(p) == RX_INVALID, "override_reason bad_text[%zu]", b);
	}
}
END_TEST

/* ---- the drug master's rows and ingredient names (rx_drugs.c) ---- */

static size_t parts_of(const char *ingredient, char out[][RX_INGREDIENT_MAX + 1])
{
	return rx_ingredient_components(ingredient, out, RX_MAX_COMPONENTS);
}

START_TEST(ingredient_normalisation)
{
	char c[RX_MAX_COMPONENTS][RX_INGREDIENT_MAX + 1];
	static const struct {
		const char *listed, *as;
	} one[] = {
		{"amlodipine besilate", "amlodipine"},
		{"Amlodipine  Besilate ", "amlodipine"},
		{"loxoprofen sodium hydrate", "loxoprofen"},
		{"dapagliflozin propylene glycolate hydrate", "dapagliflozin"},
		{"esomeprazole magnesium hydrate", "esomeprazole"},
		{"cefcapene pivoxil hydrochloride hydrate", "cefcapene pivoxil"}, /* the ester stays */
		{"candesartan cilexetil", "candesartan cilexetil"},
		{"magnesium oxide", "magnesium oxide"},	  /* the first word is never dropped */
		{"warfarin potassium", "warfarin"},
		{"zonisamide", "zonisamide"},
		{"sodium", "sodium"},
	};
	for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
		ck_assert_msg(parts_of(one[i].listed, c) == 1, "%s", one[i].listed);
		ck_assert_str_eq(c[0], one[i].as);
	}
	/* A combination: each part, normalised; the amlodipine inside matches amlodipine alone. */
	ck_assert_uint_eq(parts_of("telmisartan / amlodipine besilate", c), 2);
	ck_assert_str_eq(c[0], "telmisartan");
	ck_assert_str_eq(c[1], "amlodipine");
	ck_assert_uint_eq(parts_of("a+b・c/ a ", c), 3);
	ck_assert_str_eq(c[2], "c");
	/* Nothing named. */
	ck_assert_uint_eq(parts_of("", c), 0);
	ck_assert_uint_eq(parts_of(" / ", c), 0);
	/* At most max parts. */
	ck_assert_uint_eq(rx_ingredient_components("a/b/c", c, 2), 2);
}
END_TEST

START_TEST(drug_csv_rows)
{
	char line[512];
	rx_drug_row_t r;
	const char *why = NULL;
	ck_assert_int_eq(rx_drug_csv_header(RX_DRUG_CSV_HEADER), RX_OK);
	ck_assert_int_eq(rx_drug_csv_header("\xef\xbb\xbf" RX_DRUG_CSV_HEADER), RX_OK);
	ck_assert_int_eq(rx_drug_csv_header("yj_code,name_ja"), RX_INVALID);
	ck_assert_int_eq(rx_drug_csv_header(RX_DRUG_CSV_HEADER_REFILL), RX_OK);
	ck_assert_int_eq(rx_drug_csv_header(RX_DRUG_CSV_HEADER ",refill"), RX_INVALID);

	/* the eighth column: no_refill */
	strcpy(line, "1124009F1010,ブロチゾラム０．２５ｍｇ錠,Brotizolam,brotizolam,0.25mg,錠,tablet,1");
	ck_assert_int_eq(rx_drug_csv_split(line, &r, &why), RX_OK);
	ck_assert_int_eq(rx_drug_row_check(&r, &why), RX_OK);
	ck_assert(rx_drug_no_refill(&r));
	strcpy(line, "1124009F1010,ブロチゾラム０．２５ｍｇ錠,Brotizolam,brotizolam,0.25mg,錠,tablet,");
	ck_assert_int_eq(rx_drug_csv_split(line, &r, &why), RX_OK);
	ck_assert_int_eq(rx_drug_row_check(&r, &why), RX_OK);
	ck_assert(!rx_drug_no_refill(&r));
	strcpy(line, "1124009F1010,ブロチゾラム０．２５ｍｇ錠,Brotizolam,brotizolam,0.25mg,錠,tablet,yes");
	ck_assert_int_eq(rx_drug_csv_split(line, &r, &why), RX_OK);
	ck_assert_int_eq(rx_drug_row_check(&r, &why), RX_INVALID);

	strcpy(line, "2149117F1025,ミカムロ配合錠ＡＰ,\"Telmisartan, AP \"\"combo\"\"\",telmisartan / amlodipine besilate,,錠,tablet");
	ck_assert_int_eq(rx_drug_csv_split(line, &r, &why), RX_OK);
	ck_assert_str_eq(r.code, "2149117F1025");
	ck_assert_str_eq(r.name_en, "Telmisartan, AP \"combo\"");
	ck_assert_str_eq(r.strength, "");
	ck_assert_str_eq(r.dosage_form, "tablet");
	ck_assert_int_eq(rx_drug_row_check(&r, &why), RX_OK);

	static const char *const bad_lines[] = {
		"2149117F1025,a,b,c,d,e",	   /* 6 fields */
		"2149117F1025,a,b,c,d,e,f,1,g", /* 9 */
		"2149117F1025,\"a,b,c,d,e,f",  /* an open quote */
		"2149117F1025,\"a\"x,b,c,d,e,f", /* text after the closing quote */
		"2149117F1025,a\"b,b,c,d,e,f", /* a quote inside */
	};
	for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
		strcpy(line, bad_lines[i]);
		why = NULL;
		ck_assert_msg(rx_drug_csv_split(line, &r, &why) == RX_INVALID, "%s", bad_lines[i]);
		ck_assert_ptr_nonnull(why);
	}
	static const char *const bad_rows[] = {
		"2149117F1020,a,b,c,d,e,f",	  /* wrong check digit */
		"2149117f1025,a,b,c,d,e,f",	  /* lower case */
		"2149117F1025,,b,c,d,e,f",	  /* no name_ja */
		"2149117F1025,a,b,,d,e,f",	  /* no ingredient */
		"2149117F1025,a,b, / ,d,e,f",	  /* an ingredient naming nothing */
		"2149117F1025,a,b,c,d,e,\x1b[2J", /* a terminal escape */
	};
	for (size_t i = 0; i < sizeof bad_rows / sizeof bad_rows[0]; i++) {
		strcpy(line, bad_rows[i]);
		why = NULL;
		ck_assert_int_eq(rx_drug_csv_split(line, &r, &why), RX_OK);
		ck_assert_ptr_null(r.no_refill); /* seven fields: no eighth */
		ck_assert_msg(rx_drug_row_check(&r, &why) == RX_INVALID, "%s", bad_rows[i]);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

/* ---- dispense records ---- */

typedef struct {
	Rx__DispenseRecord d;
	Rx__Item item[RX_MAX_ITEMS + 1];
	Rx__Item *items[RX_MAX_ITEMS + 1];
	Rx__Line line[RX_MAX_ITEMS + 1];
	Rx__Line *lines[RX_MAX_ITEMS + 1];
	uint8_t key[RX_KEY_LEN];
	char id[RX_ID_LEN + 1];
	char text[4096];
} dispense_fixture_t;

static Rx__DispenseRecord *good_dispense(dispense_fixture_t *f)
{
	memset(f, 0, sizeof *f);
	randombytes_buf(f->key, sizeof f->key);
	rx_rxid_new(f->id);
	for (int i = 0; i <= RX_MAX_ITEMS; i++) {
		good_item(&f->item[i]);
		f->items[i] = &f->item[i];
		rx__line__init(&f->line[i]);
		f->line[i].item = (uint32_t)i + 1;
		f->line[i].outcome = RX__OUTCOME__AS_WRITTEN;
		f->line[i].handed = &f->item[i];
		f->lines[i] = &f->line[i];
	}
	Rx__DispenseRecord *d = &f->d;
	rx__dispense_record__init(d);
	d->version = RX_DOC_VERSION;
	d->prescription_id = f->id;
	d->use = 1;
	d->pharmacy_key.data = f->key;
	d->pharmacy_key.len = RX_KEY_LEN;
	d->n_lines = 1;
	d->lines = f->lines;
	d->notes = "";
	return d;
}

static rx_err_t dcheck(const Rx__DispenseRecord *d)
{
	const char *why = NULL;
	rx_err_t err = rx_check_dispense(d, &why);
	if (err != RX_OK)
		ck_assert_msg(why != NULL && why[0] != '\0', "refusal %d without a reason", err);
	return err;
}

START_TEST(dispense_good)
{
	dispense_fixture_t f;
	Rx__DispenseRecord *d = good_dispense(&f);
	ck_assert_int_eq(dcheck(d), RX_OK);
	d->use = RX_MAX_USES;
	d->n_lines = RX_MAX_ITEMS;
	d->notes = "generic substituted\n後発品に変更";
	ck_assert_int_eq(dcheck(d), RX_OK);
}
END_TEST

/* A line's outcome, handed item and reason go together (proto/README 2.5). */
START_TEST(dispense_lines)
{
	dispense_fixture_t f;
	Rx__DispenseRecord *d;
	static const struct {
		Rx__Outcome outcome;
		Rx__LineReason reason;
		int handed, ok;
	} rows[] = {
		{RX__OUTCOME__AS_WRITTEN, RX__LINE_REASON__REASON_NONE, 1, 1},
		{RX__OUTCOME__AS_WRITTEN, RX__LINE_REASON__PATIENT_REQUEST, 1, 1},
		{RX__OUTCOME__AS_WRITTEN, RX__LINE_REASON__GENERIC, 1, 0},
		{RX__OUTCOME__AS_WRITTEN, RX__LINE_REASON__LEFTOVER, 1, 0},
		{RX__OUTCOME__AS_WRITTEN, RX__LINE_REASON__REASON_NONE, 0, 0},
		{RX__OUTCOME__SUBSTITUTED, RX__LINE_REASON__GENERIC, 1, 1},
		{RX__OUTCOME__SUBSTITUTED, RX__LINE_REASON__OUT_OF_STOCK, 1, 1},
		{RX__OUTCOME__SUBSTITUTED, RX__LINE_REASON__PATIENT_REQUEST, 1, 1},
		{RX__OUTCOME__SUBSTITUTED, RX__LINE_REASON__INQUIRY, 1, 1},
		{RX__OUTCOME__SUBSTITUTED, RX__LINE_REASON__REASON_NONE, 1, 0},
		{RX__OUTCOME__SUBSTITUTED, RX__LINE_REASON__LEFTOVER, 1, 0},
		{RX__OUTCOME__SUBSTITUTED, RX__LINE_REASON__GENERIC, 0, 0},
		{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__LEFTOVER, 0, 1},
		{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__OUT_OF_STOCK, 0, 1},
		{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__PATIENT_DECLINED, 0, 1},
		{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__INQUIRY, 0, 1},
		{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__OTHER_REASON, 0, 1},
		{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__REASON_NONE, 0, 0},
		{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__GENERIC, 0, 0},
		{RX__OUTCOME__NOT_DISPENSED, RX__LINE_REASON__LEFTOVER, 1, 0},
		{RX__OUTCOME__OUTCOME_NONE, RX__LINE_REASON__REASON_NONE, 1, 0},
		/* PARTIAL, with any reason, is a part's (dispense_parts) */
		{RX__OUTCOME__PARTIAL, RX__LINE_REASON__OUT_OF_STOCK, 1, 0},
		{(Rx__Outcome)5, RX__LINE_REASON__REASON_NONE, 1, 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		d = good_dispense(&f);
		d->n_lines = 2; /* the first stays as written: something is handed over */
		f.line[1].outcome = rows[i].outcome;
		f.line[1].reason = rows[i].reason;
		f.line[1].handed = rows[i].handed ? &f.item[1] : NULL;
		ck_assert_msg((dcheck(d) == RX_OK) == rows[i].ok, "row %zu", i);
	}

	/* nothing handed over at all: release the claim instead */
	d = good_dispense(&f);
	f.line[0].outcome = RX__OUTCOME__NOT_DISPENSED;
	f.line[0].reason = RX__LINE_REASON__LEFTOVER;
	f.line[0].handed = NULL;
	ck_assert_int_eq(dcheck(d), RX_INVALID);

	/* lines name the items 1..n in order */
	d = good_dispense(&f);
	d->n_lines = 3;
	f.line[2].item = 2;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	f.line[2].item = 4;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	f.line[2].item = 3;
	ck_assert_int_eq(dcheck(d), RX_OK);
	f.line[0].item = 0;
	ck_assert_int_eq(dcheck(d), RX_INVALID);

	/* a handed item carries no marks, and must be a valid item */
	d = good_dispense(&f);
	f.item[0].no_change = 1;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	good_item(&f.item[0]);
	f.item[0].no_form_change = 1;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	good_item(&f.item[0]);
	f.item[0].no_strength_change = 1;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	good_item(&f.item[0]);
	f.item[0].days = 0;
	ck_assert_int_eq(dcheck(d), RX_INVALID);

	/* the items of records stored before lines are not accepted now */
	d = good_dispense(&f);
	d->n_items = 1;
	d->items = f.items;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
}
END_TEST

/* rx_check_dispense_op of op on d, with its reason checked as dcheck does. */
static rx_err_t dcheck_op(const Rx__DispenseRecord *d, int op)
{
	const char *why = NULL;
	rx_err_t err = rx_check_dispense_op(d, op, &why);
	if (err != RX_OK)
		ck_assert_msg(why != NULL && why[0] != '\0', "refusal %d without a reason", err);
	return err;
}

/* A good part 1 of two items: item 1 as written, item 2 handed over in
 * part (PARTIAL, out of stock). */
static Rx__DispenseRecord *good_part(dispense_fixture_t *f)
{
	Rx__DispenseRecord *d = good_dispense(f);
	d->n_lines = 2;
	d->part = 1;
	f->line[1].outcome = RX__OUTCOME__PARTIAL;
	f->line[1].reason = RX__LINE_REASON__OUT_OF_STOCK;
	f->item[1].quantity = 10;
	return d;
}

/* Partial fills (proto/README 5.13), the content rules: a PARTIAL line's
 * reasons and handed item; PARTIAL only in a part, part 1 has one, part 8
 * has none; part is 0..8, and 0 in an AMEND or WITHDRAW; a later part's
 * lines name items in increasing order (the items still owed: the store's
 * to check) and may hand nothing over. */
START_TEST(dispense_parts)
{
	dispense_fixture_t f;
	Rx__DispenseRecord *d;
	uint8_t replaced[RX_HASH_LEN] = {1};

	d = good_part(&f);
	ck_assert_int_eq(dcheck(d), RX_OK);

	/* a PARTIAL line's reason says why the rest is owed */
	static const struct {
		Rx__LineReason reason;
		int ok;
	} reasons[] = {
		{RX__LINE_REASON__OUT_OF_STOCK, 1},     {RX__LINE_REASON__PATIENT_REQUEST, 1},
		{RX__LINE_REASON__OTHER_REASON, 1},     {RX__LINE_REASON__REASON_NONE, 0},
		{RX__LINE_REASON__GENERIC, 0},          {RX__LINE_REASON__INQUIRY, 0},
		{RX__LINE_REASON__PATIENT_DECLINED, 0}, {RX__LINE_REASON__LEFTOVER, 0},
		{(Rx__LineReason)8, 0},                 {(Rx__LineReason)99, 0},
	};
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
		d = good_part(&f);
		f.line[1].reason = reasons[i].reason;
		ck_assert_msg((dcheck(d) == RX_OK) == reasons[i].ok, "reason %d", (int)reasons[i].reason);
	}

	/* it hands something over: a valid item with no marks, at least 1 unit */
	d = good_part(&f);
	f.line[1].handed = NULL;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	d = good_part(&f);
	f.item[1].quantity = 0;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	d = good_part(&f);
	f.item[1].no_change = 1;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	/* ... of the prescribed product or of another (the store judges which) */
	d = good_part(&f);
	f.item[1].drug_code = "2171022F1010";
	ck_assert_int_eq(dcheck(d), RX_OK);

	/* a record that leaves items owed is a part; part 1 leaves one */
	d = good_part(&f);
	d->part = 0;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	d = good_part(&f);
	f.line[1].outcome = RX__OUTCOME__AS_WRITTEN;
	f.line[1].reason = RX__LINE_REASON__REASON_NONE;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	d->part = 0; /* the same lines as a whole use */
	ck_assert_int_eq(dcheck(d), RX_OK);
	/* part 1 with nothing but the part handed over, or with an item not dispensed */
	d = good_part(&f);
	f.line[0].outcome = RX__OUTCOME__NOT_DISPENSED;
	f.line[0].reason = RX__LINE_REASON__LEFTOVER;
	f.line[0].handed = NULL;
	ck_assert_int_eq(dcheck(d), RX_OK);
	/* every line PARTIAL */
	d = good_part(&f);
	f.line[0] = f.line[1];
	f.line[0].item = 1;
	f.line[0].handed = &f.item[0];
	ck_assert_int_eq(dcheck(d), RX_OK);

	/* parts 1..8; the last leaves nothing owed */
	for (uint32_t part = 1; part <= RX_MAX_PARTS + 2; part++) {
		d = good_part(&f);
		d->part = part;
		ck_assert_msg((dcheck(d) == RX_OK) == (part < RX_MAX_PARTS), "part %u with a PARTIAL line", part);
		f.line[1].outcome = RX__OUTCOME__AS_WRITTEN;
		f.line[1].reason = RX__LINE_REASON__REASON_NONE;
		ck_assert_msg((dcheck(d) == RX_OK) == (part >= 2 && part <= RX_MAX_PARTS),
			      "part %u without one", part);
	}
	d = good_part(&f);
	d->part = 0xffffffffu;
	ck_assert_int_eq(dcheck(d), RX_INVALID);

	/* part 1's lines are items 1..n in order, as a whole record's */
	d = good_part(&f);
	f.line[0].item = 2;
	f.line[1].item = 1;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	d = good_part(&f);
	d->n_lines = 1;
	f.line[0] = f.line[1];
	f.line[0].handed = &f.item[1];
	ck_assert_int_eq(dcheck(d), RX_INVALID); /* item 2 alone */
	f.line[0].item = 1;
	ck_assert_int_eq(dcheck(d), RX_OK);

	/* a later part names the items still owed: increasing, 1..32, gaps allowed */
	static const struct {
		uint32_t a, b;
		int ok;
	} later[] = {
		{1, 2, 1}, {2, 5, 1}, {31, RX_MAX_ITEMS, 1}, {2, 1, 0},
		{3, 3, 0}, {0, 1, 0}, {1, RX_MAX_ITEMS + 1, 0},
	};
	for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
		d = good_part(&f);
		d->part = 2;
		f.line[0].item = later[i].a;
		f.line[1].item = later[i].b;
		ck_assert_msg((dcheck(d) == RX_OK) == later[i].ok, "part 2 items %u, %u", later[i].a,
			      later[i].b);
	}
	/* ... and may close what is owed with nothing handed over */
	d = good_part(&f);
	d->part = 2;
	d->n_lines = 1;
	f.line[0].item = 2;
	f.line[0].outcome = RX__OUTCOME__NOT_DISPENSED;
	f.line[0].reason = RX__LINE_REASON__PATIENT_DECLINED;
	f.line[0].handed = NULL;
	ck_assert_int_eq(dcheck(d), RX_OK);
	d->part = 1;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	/* ... but has a line */
	d = good_part(&f);
	d->part = 3;
	d->n_lines = 0;
	ck_assert_int_eq(dcheck(d), RX_INVALID);

	/* AMEND and WITHDRAW: a use handed over in parts is not amended */
	d = good_dispense(&f);
	d->replaces.data = replaced;
	d->replaces.len = RX_HASH_LEN;
	ck_assert_int_eq(dcheck_op(d, RX_OP_AMEND), RX_OK);
	for (uint32_t part = 1; part <= RX_MAX_PARTS; part++) {
		d->part = part;
		ck_assert_msg(dcheck_op(d, RX_OP_AMEND) == RX_INVALID, "AMEND part %u", part);
	}
	d = good_part(&f);
	d->replaces.data = replaced;
	d->replaces.len = RX_HASH_LEN;
	ck_assert_int_eq(dcheck_op(d, RX_OP_AMEND), RX_INVALID);
	d->part = 0; /* an amended record leaves nothing owed */
	ck_assert_int_eq(dcheck_op(d, RX_OP_AMEND), RX_INVALID);
	d = good_dispense(&f);
	d->n_lines = 0;
	d->replaces.data = replaced;
	d->replaces.len = RX_HASH_LEN;
	d->withdraw_reason = RX__WITHDRAW_REASON__DISPENSED_IN_ERROR;
	ck_assert_int_eq(dcheck_op(d, RX_OP_WITHDRAW), RX_OK);
	d->part = 1;
	ck_assert_int_eq(dcheck_op(d, RX_OP_WITHDRAW), RX_INVALID);
}
END_TEST

/* medical_necessity qualifies a no_change mark and needs one. */
START_TEST(item_marks)
{
	Rx__Item it;
	const char *field = NULL, *why = NULL;
	good_item(&it);
	it.no_form_change = it.no_strength_change = 1;
	ck_assert_int_eq(rx_check_item(&it, &field, &why), RX_OK);
	it.medical_necessity = 1;
	ck_assert_int_eq(rx_check_item(&it, &field, &why), RX_INVALID);
	ck_assert_str_eq(field, "medical_necessity");
	it.no_change = 1;
	ck_assert_int_eq(rx_check_item(&it, &field, &why), RX_OK);
}
END_TEST

START_TEST(dispense_rules)
{
	dispense_fixture_t f;
	Rx__DispenseRecord *d;
	char alt[64];

	d = good_dispense(&f);
	d->version = 0;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	d->version = 1; /* stored before protocol v2: not dispensed now */
	ck_assert_int_eq(dcheck(d), RX_INVALID);

	/* the prescription id must be canonical */
	d = good_dispense(&f);
	for (int i = 0; f.id[i]; i++)
		alt[i] = (char)(f.id[i] >= 'A' && f.id[i] <= 'Z' ? f.id[i] | 0x20 : f.id[i]);
	alt[RX_ID_LEN] = '\0';
	d->prescription_id = alt;
	ck_assert_int_eq(dcheck(d), strcmp(alt, f.id) == 0 ? RX_OK : RX_INVALID);
	snprintf(alt, sizeof alt, "%.4s%.4s%.4s", f.id, f.id + 5, f.id + 10);
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	snprintf(alt, sizeof alt, "%s", f.id);
	alt[RX_ID_LEN - 1] = alt[RX_ID_LEN - 1] == '0' ? '1' : '0';
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	d->prescription_id = "";
	ck_assert_int_eq(dcheck(d), RX_INVALID);

	d = good_dispense(&f);
	d->use = 0xffffffffu;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	for (uint32_t u = 0; u <= 5; u++) {
		d->use = u;
		/* 0 names "the use I claimed"; the store resolves it */
		ck_assert_msg(dcheck(d) == (u <= RX_MAX_USES ? RX_OK : RX_INVALID), "use %u", u);
	}

	d = good_dispense(&f);
	d->pharmacy_key.len = 31;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	d->pharmacy_key.len = 0;
	ck_assert_int_eq(dcheck(d), RX_INVALID);

	d = good_dispense(&f);
	d->n_lines = 0;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	d->n_lines = RX_MAX_ITEMS + 1;
	ck_assert_int_eq(dcheck(d), RX_INVALID);

	d = good_dispense(&f);
	f.item[0].drug_code = "2171022F1028";
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	good_item(&f.item[0]);
	f.item[0].quantity = 0;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	good_item(&f.item[0]);
	f.item[0].name = "";
	ck_assert_int_eq(dcheck(d), RX_INVALID);

	d = good_dispense(&f);
	memset(f.text, 'n', 2001);
	f.text[2001] = '\0';
	d->notes = f.text;
	ck_assert_int_eq(dcheck(d), RX_INVALID);
	for (size_t b = 0; b < sizeof bad_text / sizeof bad_text[0]; b++) {
		d->notes = (char *)bad_text[b];
		ck_assert_msg(dcheck(d) == RX_INVALID, "notes bad_text[%zu]", b);
	}
}
END_TEST

/* ---- validity in Japan time ---- */

START_TEST(valid_until_japan_days)
{
	/* 2026-11-26 10:00 JST = 01:00 UTC; four days including the 26th end
	 * at 2026-11-30 00:00 JST = 2026-11-29 15:00 UTC. */
	const int64_t nov26_1000 = 1795654800, nov30_0000 = 1795964400;
	ck_assert_int_eq(rx_valid_until(nov26_1000, 4), nov30_0000);

	/* every instant of the 26th (JST) gives the same answer */
	const int64_t nov26_0000 = nov26_1000 - 10 * 3600;
	ck_assert_int_eq(rx_valid_until(nov26_0000, 4), nov30_0000);
	ck_assert_int_eq(rx_valid_until(nov26_0000 + 23 * 3600 + 59 * 60, 4), nov30_0000); /* 23:59 */
	ck_assert_int_eq(rx_valid_until(nov26_0000 + DAY - 1, 4), nov30_0000); /* 23:59:59 */
	/* ... including 09:00 JST, which is UTC midnight */
	ck_assert_int_eq(rx_valid_until(nov26_0000 + 9 * 3600, 4), nov30_0000);
	ck_assert_int_eq(rx_valid_until(nov26_0000 + 9 * 3600 - 1, 4), nov30_0000);
	/* the first second of the 27th starts the count again */
	ck_assert_int_eq(rx_valid_until(nov26_0000 + DAY, 4), nov30_0000 + DAY);

	/* one day: valid until the end of the issue day */
	ck_assert_int_eq(rx_valid_until(nov26_0000 + 23 * 3600 + 59 * 60, 1), nov26_0000 + DAY);
	/* the test vector's */
	ck_assert_int_eq(rx_valid_until(ISSUED, 4), 1764860400);
	/* across a year end: 2026-12-30 12:00 JST + 4 days -> 2027-01-03 00:00 JST */
	ck_assert_int_eq(rx_valid_until(1798599600, 4), 1798902000);
}
END_TEST

/* ---- card assertions (form only; signature, time and use are the broker's) ---- */

START_TEST(assertion_rules)
{
	Rx__CardAssertion a = RX__CARD_ASSERTION__INIT;
	uint8_t nonce[17] = {0}, key[33] = {0};
	const char *why = NULL;
	a.version = 1;
	a.purpose = RX__PURPOSE__PURPOSE_DISPENSE;
	a.institution_code = "1398765432";
	a.at = 1764547200;
	a.nonce.data = nonce;
	a.nonce.len = 16;
	a.card_key.data = key;
	a.card_key.len = 32;
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_OK);
	a.version = 2;
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_INVALID);
	a.version = 1;
	a.purpose = RX__PURPOSE__PURPOSE_NONE;
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_INVALID);
	a.purpose = (Rx__Purpose)5; /* one past PURPOSE_NOMINATE */
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_INVALID);
	a.purpose = RX__PURPOSE__PURPOSE_VIEW;
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_OK);
	a.institution_code = "";
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_INVALID);
	a.institution_code = "13 98";
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_INVALID);
	a.institution_code = "1398765432";
	a.nonce.len = 15;
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_INVALID);
	a.nonce.len = 17;
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_INVALID);
	a.nonce.len = 16;
	a.card_key.len = 31;
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_INVALID);
	a.card_key.len = 33;
	ck_assert_int_eq(rx_check_assertion(&a, &why), RX_INVALID);
	ck_assert_ptr_nonnull(why);
}
END_TEST

/* The op names and the one list of reads (rx_op_is_read), for every op. */
START_TEST(op_names_and_reads)
{
	static const char *const names[] = {"SUBMIT", "CLAIM",  "RELEASE",  "DISPENSE",
					    "CANCEL", "STATUS", "LIST",     "LOG",
					    "NOMINATE", "WATCH", "ACK",      "AMEND",
					    "WITHDRAW", "PATIENT_LIST", "PATIENT_STATUS", "INQUIRE",
					    "INQUIRY_REPLY"};
	ck_assert_int_eq(RX_OP_LAST, (int)(sizeof names / sizeof names[0]));
	for (int op = 1; op <= RX_OP_LAST; op++) {
		ck_assert_str_eq(rx_op_name(op), names[op - 1]);
		int read = op == RX_OP_STATUS || op == RX_OP_LIST || op == RX_OP_LOG || op == RX_OP_WATCH ||
			   op == RX_OP_PATIENT_LIST || op == RX_OP_PATIENT_STATUS;
		ck_assert_msg(rx_op_is_read(op) == read, "%s", names[op - 1]);
	}
	/* Every op has a row with callers; nothing outside. */
	for (int op = 1; op <= RX_OP_LAST; op++) {
		const rx_op_info_t *o = rx_op_info(op);
		ck_assert_ptr_nonnull(o);
		ck_assert_uint_ne(o->callers, 0);
		ck_assert_msg(!(o->read && o->rewrites_rx), "%s both reads and rewrites", o->name);
	}
	ck_assert_ptr_null(rx_op_info(0));
	ck_assert_ptr_null(rx_op_info(RX_OP_LAST + 1));
	ck_assert_str_eq(rx_op_name(0), "?");
	ck_assert_str_eq(rx_op_name(RX_OP_LAST + 1), "?");
	ck_assert_int_eq(rx_op_is_read(0), 0);
	ck_assert_int_eq(rx_op_is_read(RX_OP_LAST + 1), 0);
}
END_TEST

/* ---- the inquiry and its answer (proto/README 5.14) ---- */

/* A good inquiry: a dose question proposing one change, not by telephone;
 * or, phoned, settled on the telephone with that change agreed. */
typedef struct {
	Rx__Inquiry q;
	Rx__InquiryReply a;
	Rx__Change change[RX_MAX_ITEMS + 1], *changes[RX_MAX_ITEMS + 1];
	Rx__Item to[RX_MAX_ITEMS + 1];
	char text[2100];
} ask_fixture_t;

static void ask_good(ask_fixture_t *f, int phoned)
{
	memset(f, 0, sizeof *f);
	for (int i = 0; i <= RX_MAX_ITEMS; i++) {
		good_item(&f->to[i]);
		rx__change__init(&f->change[i]);
		f->change[i].item = (uint32_t)i + 1;
		f->change[i].to = &f->to[i];
		f->changes[i] = &f->change[i];
	}
	rx__inquiry__init(&f->q);
	f->q.reason = RX__INQUIRY_REASON__INQUIRY_DOSE;
	f->q.text = "5 mg for an 82-year-old: 2.5 mg?";
	if (phoned) {
		f->q.by_phone = 1;
		f->q.phoned = "Dr. Sato";
		f->q.phoned_at = NOW - 60;
		f->q.outcome = RX__ANSWER__ANSWER_ACCEPT;
		f->q.n_agreed = 1;
		f->q.agreed = f->changes;
	} else {
		f->q.n_proposed = 1;
		f->q.proposed = f->changes;
	}
	rx__inquiry_reply__init(&f->a);
	f->a.inquiry = 1;
	f->a.answer = RX__ANSWER__ANSWER_ACCEPT;
	f->a.text = "yes, 2.5 mg";
	f->a.n_agreed = 1;
	f->a.agreed = f->changes;
}

static rx_err_t ask(const ask_fixture_t *f)
{
	const char *why = NULL;
	rx_err_t err = rx_check_inquiry(&f->q, NOW, &why);
	if (err != RX_OK)
		ck_assert_msg(why != NULL && why[0] != '\0', "refusal %d without a reason", err);
	return err;
}

static rx_err_t answer(const ask_fixture_t *f)
{
	const char *why = NULL;
	rx_err_t err = rx_check_inquiry_reply(&f->a, &why);
	if (err != RX_OK)
		ck_assert_msg(why != NULL && why[0] != '\0', "refusal %d without a reason", err);
	return err;
}

START_TEST(inquiry_reason_and_text)
{
	ask_fixture_t f;
	ask_good(&f, 0);
	ck_assert_int_eq(ask(&f), RX_OK);
	int64_t reasons[] = {0, 8, -1, 1000};
	for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++) {
		f.q.reason = (Rx__InquiryReason)reasons[i];
		ck_assert_int_eq(ask(&f), RX_INVALID);
	}
	for (int r = 1; r <= 7; r++) {
		f.q.reason = (Rx__InquiryReason)r;
		ck_assert_int_eq(ask(&f), RX_OK);
	}
	f.q.text = "";
	ck_assert_int_eq(ask(&f), RX_INVALID);
	memset(f.text, 'a', 2000);
	f.text[2000] = '\0';
	f.q.text = f.text;
	ck_assert_int_eq(ask(&f), RX_OK);
	f.text[2000] = 'a';
	f.text[2001] = '\0';
	ck_assert_int_eq(ask(&f), RX_INVALID);
	f.q.text = "a\x01z";
	ck_assert_int_eq(ask(&f), RX_INVALID);
	f.q.text = "\xc3\x28"; /* not UTF-8 */
	ck_assert_int_eq(ask(&f), RX_INVALID);
	/* No proposal at all is a question alone. */
	ask_good(&f, 0);
	f.q.n_proposed = 0;
	ck_assert_int_eq(ask(&f), RX_OK);
}
END_TEST

/* The changes' rules, the same for proposed, agreed (phoned) and an
 * answer's agreed. */
static void changes_rules(ask_fixture_t *f, size_t *n, rx_err_t (*run)(const ask_fixture_t *))
{
	*n = RX_MAX_ITEMS;
	ck_assert_int_eq(run(f), RX_OK);
	*n = RX_MAX_ITEMS + 1;
	ck_assert_int_eq(run(f), RX_INVALID);
	*n = 2;
	f->change[1].item = 1; /* not rising */
	ck_assert_int_eq(run(f), RX_INVALID);
	f->change[1].item = 0;
	ck_assert_int_eq(run(f), RX_INVALID);
	f->change[1].item = 2;
	f->change[0].item = 0; /* item 0 */
	ck_assert_int_eq(run(f), RX_INVALID);
	f->change[0].item = 1;
	f->change[1].item = RX_MAX_ITEMS + 1;
	ck_assert_int_eq(run(f), RX_INVALID);
	f->change[1].item = RX_MAX_ITEMS;
	ck_assert_int_eq(run(f), RX_OK);
	f->change[1].to = NULL; /* not to be dispensed */
	ck_assert_int_eq(run(f), RX_OK);
	f->change[1].to = &f->to[1];
	f->to[1].drug_code = "";
	ck_assert_int_eq(run(f), RX_INVALID);
	good_item(&f->to[1]);
	f->to[1].quantity = 0;
	ck_assert_int_eq(run(f), RX_INVALID);
	good_item(&f->to[1]);
	for (int m = 0; m < 4; m++) {
		good_item(&f->to[1]);
		if (m == 0)
			f->to[1].no_change = 1;
		else if (m == 1)
			f->to[1].no_form_change = 1;
		else if (m == 2)
			f->to[1].no_strength_change = 1;
		else
			f->to[1].medical_necessity = 1;
		ck_assert_int_eq(run(f), RX_INVALID);
	}
	good_item(&f->to[1]);
	ck_assert_int_eq(run(f), RX_OK);
}

START_TEST(inquiry_changes)
{
	ask_fixture_t f;
	ask_good(&f, 0);
	changes_rules(&f, &f.q.n_proposed, ask);
	ask_good(&f, 1);
	changes_rules(&f, &f.q.n_agreed, ask);
	ask_good(&f, 0);
	changes_rules(&f, &f.a.n_agreed, answer);
}
END_TEST

START_TEST(inquiry_by_phone)
{
	ask_fixture_t f;
	/* Without by_phone, none of the telephone's fields. */
	ask_good(&f, 0);
	f.q.phoned = "Dr. Sato";
	ck_assert_int_eq(ask(&f), RX_INVALID);
	ask_good(&f, 0);
	f.q.phoned_at = NOW - 60;
	ck_assert_int_eq(ask(&f), RX_INVALID);
	ask_good(&f, 0);
	f.q.outcome = RX__ANSWER__ANSWER_KEEP;
	ck_assert_int_eq(ask(&f), RX_INVALID);
	ask_good(&f, 0);
	f.q.n_agreed = 1;
	f.q.agreed = f.changes;
	ck_assert_int_eq(ask(&f), RX_INVALID);

	/* By telephone: who, 1..200 bytes of text. */
	ask_good(&f, 1);
	ck_assert_int_eq(ask(&f), RX_OK);
	f.q.phoned = "";
	ck_assert_int_eq(ask(&f), RX_INVALID);
	memset(f.text, 'b', 200);
	f.text[200] = '\0';
	f.q.phoned = f.text;
	ck_assert_int_eq(ask(&f), RX_OK);
	f.text[200] = 'b';
	f.text[201] = '\0';
	ck_assert_int_eq(ask(&f), RX_INVALID);
	f.q.phoned = "Dr.\x7fSato";
	ck_assert_int_eq(ask(&f), RX_INVALID);

	/* When: > 0, not beyond now + the clock skew. */
	ask_good(&f, 1);
	f.q.phoned_at = 0;
	ck_assert_int_eq(ask(&f), RX_INVALID);
	f.q.phoned_at = -1;
	ck_assert_int_eq(ask(&f), RX_INVALID);
	f.q.phoned_at = INT64_MIN;
	ck_assert_int_eq(ask(&f), RX_INVALID);
	f.q.phoned_at = 1;
	ck_assert_int_eq(ask(&f), RX_OK);
	f.q.phoned_at = NOW + RX_CLOCK_SKEW;
	ck_assert_int_eq(ask(&f), RX_OK);
	f.q.phoned_at = NOW + RX_CLOCK_SKEW + 1;
	ck_assert_int_eq(ask(&f), RX_INVALID);
	f.q.phoned_at = INT64_MAX;
	ck_assert_int_eq(ask(&f), RX_INVALID);

	/* The outcome: ACCEPT (with agreed changes) or KEEP (without). */
	ask_good(&f, 1);
	f.q.outcome = RX__ANSWER__ANSWER_NONE;
	ck_assert_int_eq(ask(&f), RX_INVALID);
	f.q.outcome = RX__ANSWER__ANSWER_CANCEL;
	ck_assert_int_eq(ask(&f), RX_INVALID);
	f.q.outcome = (Rx__Answer)4;
	ck_assert_int_eq(ask(&f), RX_INVALID);
	f.q.outcome = (Rx__Answer)-1;
	ck_assert_int_eq(ask(&f), RX_INVALID);
	f.q.outcome = RX__ANSWER__ANSWER_KEEP; /* with agreed changes */
	ck_assert_int_eq(ask(&f), RX_INVALID);
	f.q.n_agreed = 0;
	ck_assert_int_eq(ask(&f), RX_OK);
	f.q.outcome = RX__ANSWER__ANSWER_ACCEPT; /* without */
	ck_assert_int_eq(ask(&f), RX_INVALID);
	/* Proposed beside a phoned outcome: its own rules, nothing more. */
	ask_good(&f, 1);
	f.q.n_proposed = 1;
	f.q.proposed = f.changes;
	ck_assert_int_eq(ask(&f), RX_OK);
}
END_TEST

START_TEST(inquiry_reply_rules)
{
	ask_fixture_t f;
	ask_good(&f, 0);
	ck_assert_int_eq(answer(&f), RX_OK);
	/* The inquiry's number: 1..16. */
	f.a.inquiry = 0;
	ck_assert_int_eq(answer(&f), RX_INVALID);
	f.a.inquiry = RX_MAX_INQUIRIES;
	ck_assert_int_eq(answer(&f), RX_OK);
	f.a.inquiry = RX_MAX_INQUIRIES + 1;
	ck_assert_int_eq(answer(&f), RX_INVALID);
	f.a.inquiry = UINT32_MAX;
	ck_assert_int_eq(answer(&f), RX_INVALID);
	f.a.inquiry = 1;
	/* The answer: 1..3. */
	int64_t bad[] = {0, 4, -1};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		f.a.answer = (Rx__Answer)bad[i];
		ck_assert_int_eq(answer(&f), RX_INVALID);
	}
	/* The text: optional, at most 2000 bytes of text. */
	ask_good(&f, 0);
	f.a.text = "";
	ck_assert_int_eq(answer(&f), RX_OK);
	memset(f.text, 'c', 2000);
	f.text[2000] = '\0';
	f.a.text = f.text;
	ck_assert_int_eq(answer(&f), RX_OK);
	f.text[2000] = 'c';
	f.text[2001] = '\0';
	ck_assert_int_eq(answer(&f), RX_INVALID);
	f.a.text = "\xff";
	ck_assert_int_eq(answer(&f), RX_INVALID);
	/* Agreed changes iff ACCEPT. */
	ask_good(&f, 0);
	f.a.n_agreed = 0;
	ck_assert_int_eq(answer(&f), RX_INVALID);
	ask_good(&f, 0);
	f.a.answer = RX__ANSWER__ANSWER_KEEP;
	ck_assert_int_eq(answer(&f), RX_INVALID);
	f.a.n_agreed = 0;
	ck_assert_int_eq(answer(&f), RX_OK);
	/* A cancel reason 1..5 iff CANCEL. */
	f.a.cancel_reason = RX__CANCEL_REASON__CANCEL_OTHER;
	ck_assert_int_eq(answer(&f), RX_INVALID);
	f.a.answer = RX__ANSWER__ANSWER_CANCEL;
	for (int r = 1; r <= 5; r++) {
		f.a.cancel_reason = (Rx__CancelReason)r;
		ck_assert_int_eq(answer(&f), RX_OK);
	}
	int64_t reasons[] = {0, 6, -1};
	for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++) {
		f.a.cancel_reason = (Rx__CancelReason)reasons[i];
		ck_assert_int_eq(answer(&f), RX_INVALID);
	}
	f.a.cancel_reason = RX__CANCEL_REASON__CANCEL_DUPLICATE;
	f.a.n_agreed = 1; /* a cancel agrees to no change */
	f.a.agreed = f.changes;
	ck_assert_int_eq(answer(&f), RX_INVALID);
	ask_good(&f, 0);
	f.a.cancel_reason = RX__CANCEL_REASON__CANCEL_PRESCRIBING_ERROR; /* on ACCEPT */
	ck_assert_int_eq(answer(&f), RX_INVALID);
}
END_TEST

static Suite *check_suite(void)
{
	Suite *s = suite_create("check");
	TCase *tc;

	tc = tcase_create("text");
	tcase_add_test(tc, text_rules);
	tcase_add_test(tc, op_names_and_reads);
	suite_add_tcase(s, tc);

	tc = tcase_create("prescription");
	tcase_add_test(tc, good_prescription_passes);
	tcase_add_test(tc, version);
	tcase_add_test(tc, patient_id);
	tcase_add_test(tc, prescriber_key_length);
	tcase_add_test(tc, institution);
	tcase_add_test(tc, issued_at_window);
	tcase_add_test(tc, valid_until_window);
	tcase_add_test(tc, expired);
	tcase_add_test(tc, uses);
	tcase_add_test(tc, item_count);
	tcase_add_test(tc, item_fields);
	tcase_add_test(tc, item_days_quantity);
	tcase_add_test(tc, notes);
	tcase_add_test(tc, override_reason);
	suite_add_tcase(s, tc);

	tc = tcase_create("drugs");
	tcase_add_test(tc, ingredient_normalisation);
	tcase_add_test(tc, drug_csv_rows);
	suite_add_tcase(s, tc);

	tc = tcase_create("dispense");
	tcase_add_test(tc, dispense_good);
	tcase_add_test(tc, dispense_rules);
	tcase_add_test(tc, dispense_lines);
	tcase_add_test(tc, dispense_parts);
	tcase_add_test(tc, item_marks);
	tcase_add_test(tc, part_days);
	tcase_add_test(tc, next_window_japan_days);
	suite_add_tcase(s, tc);

	tc = tcase_create("valid_until");
	tcase_add_test(tc, valid_until_japan_days);
	tcase_add_test(tc, assertion_rules);
	suite_add_tcase(s, tc);

	tc = tcase_create("inquiry");
	tcase_add_test(tc, inquiry_reason_and_text);
	tcase_add_test(tc, inquiry_changes);
	tcase_add_test(tc, inquiry_by_phone);
	tcase_add_test(tc, inquiry_reply_rules);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (rx_crypto_init() != RX_OK)
		return EXIT_FAILURE;
	return tu_run(check_suite());
}
