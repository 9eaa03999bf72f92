/* Integration: the drug master and the duplicate-medication check over the
 * real rxd.  The operator loads the shipped list with the real rxctl (a bad
 * file first, refused with its line numbers); a prescriber is refused
 * DUPLICATE_MEDICATION with the findings, overrides with a reason, and the
 * pharmacy's claim receipt carries the warnings. */
#include <check.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "harness.h"
#include "rx_check.h"
#include "rx_ids.h"
#include "testutil.h"

typedef struct {
	harness_t h;
	rx_keypair_t doc, ph, card;
	char patient[RX_PATIENT_ID_LEN + 1];
	rxc_t *cdoc, *cph;
} world_t;

static void world_up(world_t *w)
{
	memset(w, 0, sizeof *w);
	ck_assert_msg(harness_start(&w->h, 0) == 0, "rxd did not start (is $RXD set?)");
	ck_assert_int_eq(harness_key(&w->h, &w->doc, RX_ROLE_PRESCRIBER, "1312345678"), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph, RX_ROLE_PHARMACY, "1398765432"), 0);
	ck_assert_int_eq(harness_enroll(&w->h, "123456789018", w->patient), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient, &w->card), 0);
	w->cdoc = harness_client(&w->h, NULL, &w->doc, 0);
	w->cph = harness_client(&w->h, NULL, &w->ph, 0);
}

static void world_down(world_t *w)
{
	rxc_destroy(&w->cdoc);
	rxc_destroy(&w->cph);
	harness_cleanup(&w->h);
}

static char out[1 << 20];

/* Run the real rxctl on the broker's data dir with --json; stdout into out.
 * Returns its exit status. */
static int rxctl(const harness_t *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rxctl(const harness_t *h, const char *fmt, ...)
{
	char args[1024], cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "'%s' --data '%s' --json %s 2>/dev/null", getenv("RXCTL"), h->dir, args);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define HAS(s) (strstr(out, (s)) != NULL)

typedef struct {
	const char *code, *name;
	uint32_t days;
} drug_t;

/* Submit these drugs for the card's patient, with an override reason or
 * NULL; the result is the caller's (rxc_result_free). */
static rx_err_t prescribe(world_t *w, const drug_t *d, size_t n, const char *override, rxc_result_t *r)
{
	Rx__Prescription p = RX__PRESCRIPTION__INIT;
	Rx__Item its[4], *ptrs[4];
	Rx__Signed sp, card;
	char notes[32];
	ck_assert_uint_le(n, 4);
	for (size_t i = 0; i < n; i++) {
		rx__item__init(&its[i]);
		its[i].drug_code = (char *)d[i].code;
		its[i].name = (char *)d[i].name;
		its[i].dose = (char *)"1 tablet";
		its[i].unit = (char *)"tablet";
		its[i].usage = (char *)"once daily after breakfast";
		its[i].days = d[i].days;
		its[i].quantity = d[i].days;
		ptrs[i] = &its[i];
	}
	snprintf(notes, sizeof notes, "drugs-%u", (unsigned)randombytes_random());
	p.version = 1;
	p.prescriber_key.data = w->doc.pk;
	p.prescriber_key.len = RX_KEY_LEN;
	p.issued_at = (int64_t)time(NULL);
	p.valid_until = rx_valid_until(p.issued_at, 4);
	p.uses = 1;
	p.n_items = n;
	p.items = ptrs;
	p.notes = notes;
	p.override_reason = (char *)(override ? override : "");
	ck_assert_int_eq(rxc_sign_prescription(&w->doc, &p, &sp), RX_OK);
	harness_assertion(&w->h, &w->card, &w->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	rx_err_t err = rxc_submit(w->cdoc, NULL, &sp, &card, r);
	rxc_signed_free(&sp);
	rxc_signed_free(&card);
	return err;
}

static const drug_t amlodipine[] = {{"2171022F2025", "ノルバスク錠５ｍｇ", 28}};
static const drug_t combination[] = {{"2189017F1022", "クレストール錠２．５ｍｇ", 28},
				     {"2149117F1025", "ミカムロ配合錠ＡＰ", 28}};
/* A well-formed code (right check digit) that is on no price list. */
static const drug_t unlisted[] = {{"3999001F1018", "not on the list", 7}};

START_TEST(duplicate_refused_overridden_and_warned_at_claim)
{
	world_t w;
	rxc_result_t r;
	char bad[512], first[RX_ID_LEN + 1], combo[RX_ID_LEN + 1];
	world_up(&w);

	/* A bad file is refused whole, each bad line named; nothing is loaded. */
	snprintf(bad, sizeof bad, "%s/bad.csv", w.h.dir);
	FILE *f = fopen(bad, "w");
	ck_assert_ptr_nonnull(f);
	fputs("yj_code,name_ja,name_en,ingredient,strength,unit,dosage_form\n"
	      "2171022F2025,ノルバスク錠５ｍｇ,Amlodipine 5 mg,amlodipine besilate,５ｍｇ,錠,tablet\n"
	      "2171022F2020,wrong check digit,,amlodipine besilate,,錠,tablet\n",
	      f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rxctl(&w.h, "drugs load '%s'", bad), 2);
	ck_assert(HAS("\"status\":\"INVALID\"") && HAS("\"line\":3") && HAS("check digit") && !HAS("\"line\":2"));
	ck_assert_int_eq(rxctl(&w.h, "drugs info"), 0);
	ck_assert(HAS("\"drugs\":0") && HAS("\"check\":false"));

	/* Without a master the check is off: the same drug twice is accepted. */
	ck_assert_int_eq(prescribe(&w, amlodipine, 1, NULL, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->n_warnings, 0);
	rxc_result_free(&r);

	/* The shipped list. */
	ck_assert_int_eq(rxctl(&w.h, "drugs load '%s'", getenv("DRUGS_CSV")), 0);
	ck_assert(HAS("\"status\":\"OK\"") && HAS("\"drugs\":301"));
	ck_assert_int_eq(rxctl(&w.h, "drugs show 2149117F1025"), 0);
	ck_assert(HAS("\"components\":[\"telmisartan\",\"amlodipine\"]"));
	ck_assert_int_eq(rxctl(&w.h, "status"), 0);
	ck_assert(HAS("\"drugs\":301"));
	ck_assert_int_eq(rxctl(&w.h, "audit tail -n 30"), 0);
	ck_assert(HAS("\"action\":\"DRUGS_LOAD\"") && HAS("301 drugs"));

	/* The earlier amlodipine is open: a second one is a duplicate now. */
	ck_assert_int_eq(prescribe(&w, amlodipine, 1, NULL, &r), RX_DUPLICATE_MEDICATION);
	ck_assert_uint_eq(r.reply->n_warnings, 1);
	snprintf(first, sizeof first, "%s", r.reply->warnings[0]->other_prescription_id);
	rxc_result_free(&r);

	/* The combination tablet: refused, with the finding on the wire. */
	ck_assert_int_eq(prescribe(&w, combination, 2, NULL, &r), RX_DUPLICATE_MEDICATION);
	ck_assert_ptr_null(r.receipt);
	ck_assert_uint_eq(r.reply->n_warnings, 1);
	const Rx__Warning *wn = r.reply->warnings[0];
	ck_assert_int_eq(wn->kind, RX__WARNING_KIND__DUPLICATE_INGREDIENT);
	ck_assert_uint_eq(wn->item, 1);
	ck_assert_str_eq(wn->drug_code, "2149117F1025");
	ck_assert_str_eq(wn->other_prescription_id, first);
	ck_assert_str_eq(wn->other_drug_code, "2171022F2025");
	ck_assert_str_eq(wn->ingredient, "amlodipine");
	ck_assert_uint_eq(wn->overlap_days, 28);
	ck_assert_ptr_nonnull(strstr(r.message, "override"));
	rxc_result_free(&r);

	/* With a reason: accepted, the findings in the signed receipt. */
	ck_assert_int_eq(prescribe(&w, combination, 2, "stop amlodipine alone; combination from today", &r),
			 RX_OK);
	snprintf(combo, sizeof combo, "%s", r.receipt->prescription_id);
	ck_assert_uint_eq(r.receipt->n_warnings, 1);
	ck_assert_str_eq(r.receipt->warnings[0]->other_prescription_id, first);
	rxc_result_free(&r);
	ck_assert_int_eq(rxctl(&w.h, "rx show %s", combo), 0);
	ck_assert(HAS("overridden") && !HAS("stop amlodipine"));
	ck_assert_int_eq(rxctl(&w.h, "rx show %s --body", combo), 0);
	ck_assert(HAS("\"override_reason\":\"stop amlodipine alone; combination from today\""));

	/* The pharmacy claims it: never refused, the warnings on its receipt. */
	Rx__Signed card;
	harness_assertion(&w.h, &w.card, &w.ph, RX__PURPOSE__PURPOSE_DISPENSE, &card);
	rxc_proof_t proof = {.card = &card};
	ck_assert_int_eq(rxc_claim(w.cph, NULL, combo, &proof, &r), RX_OK);
	ck_assert_uint_ge(r.receipt->n_warnings, 1);
	int found = 0;
	for (size_t i = 0; i < r.receipt->n_warnings; i++)
		found |= strcmp(r.receipt->warnings[i]->other_prescription_id, first) == 0 &&
			 strcmp(r.receipt->warnings[i]->ingredient, "amlodipine") == 0;
	ck_assert(found);
	rxc_result_free(&r);
	rxc_signed_free(&card);

	/* A code the master does not know: accepted with a warning. */
	ck_assert_int_eq(prescribe(&w, unlisted, 1, NULL, &r), RX_OK);
	ck_assert_uint_eq(r.receipt->n_warnings, 1);
	ck_assert_int_eq(r.receipt->warnings[0]->kind, RX__WARNING_KIND__UNKNOWN_DRUG);
	ck_assert_str_eq(r.receipt->warnings[0]->drug_code, "3999001F1018");
	rxc_result_free(&r);

	/* The log says what happened, never what was prescribed or why. */
	char log[300];
	snprintf(log, sizeof log, "%s/rxd.log", w.h.dir);
	f = fopen(log, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(out, 1, sizeof out - 1, f);
	out[n] = '\0';
	fclose(f);
	ck_assert(HAS("status=DUPLICATE_MEDICATION") && HAS("admin_op=DRUGS_LOAD"));
	ck_assert(!HAS("amlodipine") && !HAS("2149117F1025") && !HAS("combination from today"));
	world_down(&w);
}
END_TEST

/* One admin request; its status (the reply is the caller's), -1 if none came. */
static int admin(world_t *w, const Rx__AdminRequest *q, Rx__AdminReply **r)
{
	if (harness_admin(&w->h, q, r) != 0)
		return -1;
	return (int)(*r)->status;
}

START_TEST(drugs_admin_refusals)
{
	world_t w;
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	Rx__DrugInfo d = RX__DRUG_INFO__INIT, *rows[1] = {&d};
	uint8_t load_id[16] = {1};
	world_up(&w);

	/* Rows from a hostile admin client are checked as rxctl checks them. */
	q.op = RX__ADMIN_OP__DRUGS_LOAD;
	q.drugs = rows;
	q.n_drugs = 1;
	q.load_commit = 1;
	q.load_rows = 1;
	d.code = (char *)"2171022F2025";
	d.name_ja = (char *)"ノルバスク錠５ｍｇ";
	d.ingredient = (char *)"amlodipine besilate";
	ck_assert_int_eq(admin(&w, &q, &r), RX_INVALID); /* no load id */
	rx__admin_reply__free_unpacked(r, NULL);
	q.load_id.data = load_id;
	q.load_id.len = sizeof load_id;
	d.code = (char *)"2171022F2020";
	ck_assert_int_eq(admin(&w, &q, &r), RX_INVALID);
	ck_assert_ptr_nonnull(strstr(r->message, "row 1"));
	rx__admin_reply__free_unpacked(r, NULL);
	d.code = (char *)"2171022F2025";
	d.ingredient = (char *)"";
	ck_assert_int_eq(admin(&w, &q, &r), RX_INVALID);
	rx__admin_reply__free_unpacked(r, NULL);
	d.ingredient = (char *)"amlodipine besilate";
	q.load_rows = 2; /* announces a row that never came */
	ck_assert_int_eq(admin(&w, &q, &r), RX_INVALID);
	rx__admin_reply__free_unpacked(r, NULL);
	/* The same code twice in one load. */
	Rx__DrugInfo *twice[2] = {&d, &d};
	q.drugs = twice;
	q.n_drugs = 2;
	load_id[0] = 2;
	ck_assert_int_eq(admin(&w, &q, &r), RX_CONFLICT);
	ck_assert_ptr_nonnull(strstr(r->message, "2171022F2025"));
	rx__admin_reply__free_unpacked(r, NULL);
	q.drugs = rows;
	q.n_drugs = 1;
	q.load_rows = 1;
	load_id[0] = 3;
	ck_assert_int_eq(admin(&w, &q, &r), RX_OK);
	ck_assert_uint_eq(r->drugs_count, 1);
	rx__admin_reply__free_unpacked(r, NULL);

	/* DRUGS_SHOW: a malformed code, a code not in the master. */
	Rx__AdminRequest s = RX__ADMIN_REQUEST__INIT;
	s.op = RX__ADMIN_OP__DRUGS_SHOW;
	static const char *const malformed[] = {"217", "2171022F20250", "2171022f2025", "2171 022"};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		s.drug_code = (char *)malformed[i];
		ck_assert_msg(admin(&w, &s, &r) == RX_INVALID, "%s", malformed[i]);
		rx__admin_reply__free_unpacked(r, NULL);
	}
	s.drug_code = (char *)"2149117F1025";
	ck_assert_int_eq(admin(&w, &s, &r), RX_NOT_FOUND);
	rx__admin_reply__free_unpacked(r, NULL);
	ck_assert_int_eq(rxctl(&w.h, "drugs show 2171"), 0);
	ck_assert(HAS("\"code\":\"2171022F2025\"") && HAS("\"components\":[\"amlodipine\"]"));
	world_down(&w);
}
END_TEST

static Suite *drugs_suite(void)
{
	Suite *s = suite_create("drugs");
	TCase *tc = tcase_create("drugs");
	tcase_add_test(tc, duplicate_refused_overridden_and_warned_at_claim);
	tcase_add_test(tc, drugs_admin_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (rx_crypto_init() != RX_OK)
		return EXIT_FAILURE;
	return tu_run(drugs_suite());
}
