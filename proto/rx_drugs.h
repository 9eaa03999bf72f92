/* rx_drugs: the drug master's row format and ingredient names, shared by
 * rxctl (which reads the CSV), rxd (which checks every row it is sent) and
 * the store (which compares ingredients in the duplicate-medication check).
 *
 * A row has the columns of deploy/data/drugs-jp.csv:
 *   yj_code,name_ja,name_en,ingredient,strength,unit,dosage_form[,no_refill]
 * no_refill (optional; "1", or "0" or empty): the drug may not be on a
 * refill prescription (a statutory limit on its days; a patch).
 * Nothing here allocates. */
#ifndef RX_DRUGS_H
#define RX_DRUGS_H

#include <stddef.h>

#include "rx_err.h"

#define RX_DRUG_CODE_LEN 12
#define RX_DRUG_PREFIX_LEN 7     /* class + route + ingredient: "same ingredient" */
#define RX_INGREDIENT_MAX 200    /* bytes of an ingredient as listed, and of a component */
#define RX_MAX_COMPONENTS 8      /* ingredients of one combination product */
#define RX_DRUG_CSV_HEADER "yj_code,name_ja,name_en,ingredient,strength,unit,dosage_form"
#define RX_DRUG_CSV_HEADER_REFILL RX_DRUG_CSV_HEADER ",no_refill"
#define RX_DRUG_LINE_MAX 4096    /* longest CSV line rxctl accepts */

/* One row; the strings are borrowed (from the parsed line, or a message). */
typedef struct {
	const char *code, *name_ja, *name_en, *ingredient, *strength, *unit, *dosage_form;
	const char *no_refill; /* "1", or "0", "" or NULL */
} rx_drug_row_t;

/* Is the row's no_refill column set? */
int rx_drug_no_refill(const rx_drug_row_t *row);

/* RX_OK if line (without its line ending; a UTF-8 BOM is allowed) is one of
 * the headers above. */
rx_err_t rx_drug_csv_header(const char *line) RX_MUST_CHECK;

/* Split one CSV line (without its line ending) into the seven fields, or
 * eight with no_refill, in place: line is modified and row points into it.  Fields may be quoted as
 * in RFC 4180 ("a, b" and "say ""x"""), not spanning lines.  RX_INVALID with
 * a static reason in *why if the line is not seven or eight fields; the fields'
 * content is checked by rx_drug_row_check. */
rx_err_t rx_drug_csv_split(char *line, rx_drug_row_t *row, const char **why) RX_MUST_CHECK;

/* Is this row fit for the master?  The code must be a valid NHI code; name_ja
 * and ingredient are required; every field is UTF-8 text within its limit.
 * RX_INVALID with a static reason naming the field. */
rx_err_t rx_drug_row_check(const rx_drug_row_t *row, const char **why) RX_MUST_CHECK;

/* The ingredients of a listed ingredient name, normalised so that one
 * ingredient compares equal whatever salt or hydrate it is listed as, alone
 * or inside a combination:
 *   - split at '/', '+' and '・' (a combination product lists each part);
 *   - ASCII lower case, runs of white space made one space, trimmed;
 *   - while more than one word is left, a last word naming a salt's
 *     counter-ion or a hydrate is dropped ("amlodipine besilate" -> "amlodipine",
 *     "dapagliflozin propylene glycolate hydrate" -> "dapagliflozin"); the first
 *     word is never dropped, so "magnesium oxide" stays itself.  Ester and
 *     prodrug parts (cilexetil, medoxomil, pivoxil) are kept: they are part of
 *     the molecule.  The word list is in rx_drugs.c and proto/README.md.
 * Writes up to max components (each at most RX_INGREDIENT_MAX bytes, longer
 * ones cut) into out, without duplicates; returns how many. */
size_t rx_ingredient_components(const char *ingredient, char out[][RX_INGREDIENT_MAX + 1],
				size_t max);

#endif
