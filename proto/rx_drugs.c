/* rx_drugs: drug master rows and ingredient normalisation (see rx_drugs.h). */
#include "rx_drugs.h"

#include <string.h>

#include "rx_check.h"
#include "rx_ids.h"

rx_err_t rx_drug_csv_header(const char *line)
{
	if (strncmp(line, "\xef\xbb\xbf", 3) == 0) /* a BOM, as spreadsheets write */
		line += 3;
	return strcmp(line, RX_DRUG_CSV_HEADER) == 0 || strcmp(line, RX_DRUG_CSV_HEADER_REFILL) == 0
		       ? RX_OK
		       : RX_INVALID;
}

rx_err_t rx_drug_csv_split(char *line, rx_drug_row_t *row, const char **why)
{
	const char **field[8] = {&row->code,	   &row->name_ja,     &row->name_en,
				 &row->ingredient, &row->strength,    &row->unit,
				 &row->dosage_form, &row->no_refill};
	row->no_refill = NULL;
	char *p = line;
	int n = 0;
	for (;;) {
		char *start = p, *out = p;
		if (n == 8) {
			*why = "more than 8 fields";
			return RX_INVALID;
		}
		if (*p == '"') {
			/* A quoted field: "" is one quote; it must end at a comma or the line's end. */
			p++;
			for (;;) {
				if (*p == '\0') {
					*why = "a quoted field is not closed";
					return RX_INVALID;
				}
				if (*p == '"' && p[1] == '"') {
					*out++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*out++ = *p++;
				}
			}
			if (*p != ',' && *p != '\0') {
				*why = "text after a quoted field's closing quote";
				return RX_INVALID;
			}
		} else {
			while (*p != ',' && *p != '\0') {
				if (*p == '"') {
					*why = "a quote inside an unquoted field";
					return RX_INVALID;
				}
				out++;
				p++;
			}
		}
		char end = *p;
		*out = '\0';
		*field[n++] = start;
		if (end == '\0')
			break;
		p++;
	}
	if (n < 7) {
		*why = "fewer than 7 fields";
		return RX_INVALID;
	}
	return RX_OK;
}

#define FAIL(text)              \
	do {                    \
		*why = (text);  \
		return RX_INVALID; \
	} while (0)

rx_err_t rx_drug_row_check(const rx_drug_row_t *r, const char **why)
{
	char parts[RX_MAX_COMPONENTS][RX_INGREDIENT_MAX + 1];
	if (rx_drug_code_valid(r->code) != RX_OK)
		FAIL("yj_code is not a 12-character NHI code with a correct check digit");
	if (rx_check_text(r->name_ja, 200, 1) != RX_OK)
		FAIL("name_ja is missing, longer than 200 bytes or not UTF-8 text");
	if (rx_check_text(r->name_en, 200, 0) != RX_OK)
		FAIL("name_en is longer than 200 bytes or not UTF-8 text");
	if (rx_check_text(r->ingredient, RX_INGREDIENT_MAX, 1) != RX_OK)
		FAIL("ingredient is missing, longer than 200 bytes or not UTF-8 text");
	if (rx_ingredient_components(r->ingredient, parts, RX_MAX_COMPONENTS) == 0)
		FAIL("ingredient names no ingredient");
	if (rx_check_text(r->strength, 100, 0) != RX_OK)
		FAIL("strength is longer than 100 bytes or not UTF-8 text");
	if (rx_check_text(r->unit, 32, 0) != RX_OK)
		FAIL("unit is longer than 32 bytes or not UTF-8 text");
	if (rx_check_text(r->dosage_form, 32, 0) != RX_OK)
		FAIL("dosage_form is longer than 32 bytes or not UTF-8 text");
	if (r->no_refill && r->no_refill[0] && strcmp(r->no_refill, "0") != 0 && strcmp(r->no_refill, "1") != 0)
		FAIL("no_refill must be 1, 0 or empty");
	return RX_OK;
}

int rx_drug_no_refill(const rx_drug_row_t *row)
{
	return row->no_refill && strcmp(row->no_refill, "1") == 0;
}

/* Last words that name a salt's counter-ion or a hydrate (JAN/INN modified
 * names), dropped so that one active moiety compares equal however it is
 * listed.  Anions that are themselves the drug's point (chloride, bromide,
 * oxide, carbonate) are not here: "sodium bicarbonate" is not "sodium
 * chloride". */
static const char *const salt_words[] = {
	"hydrate", "monohydrate", "dihydrate", "trihydrate", "tetrahydrate", "hemihydrate",
	"sesquihydrate", "anhydrous", "hydrochloride", "dihydrochloride", "hydrobromide",
	"besilate", "besylate", "mesilate", "mesylate", "tosilate", "tosylate", "esilate",
	"camsilate", "maleate", "fumarate", "tartrate", "bitartrate", "succinate", "citrate",
	"sulfate", "sulphate", "bisulfate", "phosphate", "acetate", "lactate", "gluconate",
	"nitrate", "malate", "oxalate", "pamoate", "embonate", "xinafoate", "glycolate",
	"propylene", "sodium", "disodium", "potassium", "dipotassium", "calcium", "magnesium",
	"meglumine", "tromethamine", "olamine", "erbumine",
};

static int is_salt_word(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof salt_words / sizeof salt_words[0]; i++)
		if (strlen(salt_words[i]) == n && memcmp(salt_words[i], w, n) == 0)
			return 1;
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Length of a component separator at p: '/', '+' or U+30FB '・'; 0 if none. */
static size_t separator(const char *p)
{
	if (*p == '/' || *p == '+')
		return 1;
	if (strncmp(p, "\xe3\x83\xbb", 3) == 0)
		return 3;
	return 0;
}

/* One component from [p, end) into out, normalised; its length. */
static size_t normalise(const char *p, const char *end, char out[RX_INGREDIENT_MAX + 1])
{
	size_t n = 0;
	int gap = 0;
	for (; p < end; p++) {
		if (is_space(*p)) {
			gap = n > 0;
			continue;
		}
		if (gap && n < RX_INGREDIENT_MAX)
			out[n++] = ' ';
		gap = 0;
		if (n < RX_INGREDIENT_MAX)
			out[n++] = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
	}
	out[n] = '\0';
	for (;;) {
		char *last = strrchr(out, ' ');
		if (last == NULL || !is_salt_word(last + 1, strlen(last + 1)))
			break;
		*last = '\0';
		n = (size_t)(last - out);
	}
	return n;
}

size_t rx_ingredient_components(const char *ingredient, char out[][RX_INGREDIENT_MAX + 1], size_t max)
{
	size_t count = 0;
	const char *p = ingredient ? ingredient : "";
	while (count < max) {
		const char *end = p;
		while (*end && separator(end) == 0)
			end++;
		if (normalise(p, end, out[count]) > 0) {
			size_t i;
			for (i = 0; i < count && strcmp(out[i], out[count]) != 0; i++)
				;
			if (i == count)
				count++;
		}
		if (*end == '\0')
			break;
		p = end + separator(end);
	}
	return count;
}
