/* rxctl's drug-master commands: drugs load FILE.csv (checked here line by
 * line, then sent in parts), drugs show CODE|PREFIX and drugs info.  The
 * duplicate-medication check reads this master and is off while it is
 * empty.  Each handler is a row of the table in rxctl.c. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rx_drugs.h"
#include "rxctl.h"

#define DRUGS_FILE_MAX (64u << 20) /* a full list is about 3 MiB */
#define DRUGS_ROWS_MAX 200000      /* the full list has about 13,000 */
#define DRUGS_PART_BYTES (192u << 10) /* each part well inside an admin frame (256 KiB) */
#define DRUGS_ERRORS_SHOWN 20

typedef struct {
	rx_drug_row_t row;
	unsigned line;
} drug_line_t;

static int by_code(const void *a, const void *b)
{
	const drug_line_t *x = a, *y = b;
	int c = strcmp(x->row.code, y->row.code);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int by_line(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "line")),
		   y = json_integer_value(json_object_get(*(json_t *const *)b, "line"));
	return (x > y) - (x < y);
}

/* Read the whole file (at most DRUGS_FILE_MAX bytes) into a NUL-ended heap
 * buffer; NULL with msg set. */
static char *slurp(const char *path, size_t *len, char *msg, size_t msglen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	struct stat st;
	if (f == NULL || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "cannot read %s", path);
	} else if ((uint64_t)st.st_size > DRUGS_FILE_MAX) {
		snprintf(msg, msglen, "%s is larger than %u MiB", path, DRUGS_FILE_MAX >> 20);
	} else if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(msg, msglen, "out of memory");
	} else if ((*len = fread(buf, 1, (size_t)st.st_size, f)) != (size_t)st.st_size || ferror(f)) {
		snprintf(msg, msglen, "cannot read %s", path);
		free(buf);
		buf = NULL;
	} else {
		buf[*len] = '\0';
	}
	if (f)
		fclose(f);
	return buf;
}

/* Check every line of the CSV (header, fields, codes, duplicates); rows into
 * *rows (heap, pointing into buf).  Each bad line is appended to errs as
 * {"line", "reason"}; returns how many there were. */
static size_t parse_drugs(char *buf, size_t len, drug_line_t **rows, size_t *n, json_t *errs)
{
	size_t bad = 0, cap = 0;
	unsigned line = 0;
	char *p = buf, *end = buf + len;
	*rows = NULL;
	*n = 0;
#define BAD(ln, reason)                                                                        \
	do {                                                                                   \
		bad++;                                                                         \
		json_array_append_new(errs, json_pack("{s:I, s:s}", "line", (json_int_t)(ln),   \
						      "reason", (reason)));                     \
	} while (0)
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *text = p;
		size_t tlen = nl ? (size_t)(nl - p) : (size_t)(end - p);
		p = nl ? nl + 1 : end;
		line++;
		if (tlen && text[tlen - 1] == '\r')
			tlen--;
		text[tlen] = '\0';
		const char *why = NULL;
		if (line == 1) {
			if (rx_drug_csv_header(text) != RX_OK)
				BAD(line, "the header must be " RX_DRUG_CSV_HEADER);
			continue;
		}
		if (tlen == 0)
			continue; /* a blank line, as at the end of many files */
		if (memchr(text, '\0', tlen) != NULL) {
			BAD(line, "a NUL byte in the line");
			continue;
		}
		if (tlen > RX_DRUG_LINE_MAX) {
			BAD(line, "longer than 4096 bytes");
			continue;
		}
		if (*n == DRUGS_ROWS_MAX) {
			BAD(line, "more than 200000 rows");
			break;
		}
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			drug_line_t *g = realloc(*rows, ncap * sizeof **rows);
			if (g == NULL) {
				BAD(line, "out of memory");
				break;
			}
			*rows = g;
			cap = ncap;
		}
		drug_line_t *d = &(*rows)[*n];
		d->line = line;
		if (rx_drug_csv_split(text, &d->row, &why) != RX_OK ||
		    rx_drug_row_check(&d->row, &why) != RX_OK) {
			BAD(line, why);
			continue;
		}
		(*n)++;
	}
	if (line == 0)
		BAD(1, "the file is empty; the header must be " RX_DRUG_CSV_HEADER);
	else if (*n == 0 && bad == 0)
		BAD(line, "no rows after the header");
	/* A code twice: the later line is the bad one. */
	if (*n > 1) {
		drug_line_t *sorted = malloc(*n * sizeof *sorted);
		if (sorted == NULL) {
			BAD(0, "out of memory");
			return bad;
		}
		memcpy(sorted, *rows, *n * sizeof *sorted);
		qsort(sorted, *n, sizeof *sorted, by_code);
		for (size_t i = 1; i < *n; i++)
			if (strcmp(sorted[i].row.code, sorted[i - 1].row.code) == 0) {
				char reason[96];
				snprintf(reason, sizeof reason, "yj_code %s is also on line %u",
					 sorted[i].row.code, sorted[i - 1].line);
				BAD(sorted[i].line, reason);
			}
		free(sorted);
	}
#undef BAD
	/* Report in line order, duplicates included. */
	size_t ne = json_array_size(errs);
	json_t **sorted = malloc((ne ? ne : 1) * sizeof *sorted);
	if (sorted) {
		for (size_t i = 0; i < ne; i++)
			sorted[i] = json_incref(json_array_get(errs, i));
		qsort(sorted, ne, sizeof *sorted, by_line);
		json_array_clear(errs);
		for (size_t i = 0; i < ne; i++)
			json_array_append_new(errs, sorted[i]);
		free(sorted);
	}
	return bad;
}

static void drug_info(const rx_drug_row_t *row, Rx__DrugInfo *di)
{
	rx__drug_info__init(di);
	di->code = (char *)row->code;
	di->name_ja = (char *)row->name_ja;
	di->name_en = (char *)row->name_en;
	di->ingredient = (char *)row->ingredient;
	di->strength = (char *)row->strength;
	di->unit = (char *)row->unit;
	di->dosage_form = (char *)row->dosage_form;
	di->no_refill = rx_drug_no_refill(row);
}

/* drugs load FILE.csv: every row is checked here first, so a bad file is
 * refused with its line numbers before rxd is asked anything.  The rows then
 * travel in parts of at most 192 KiB (a full list is about 3 MiB, an admin
 * frame at most 256 KiB) under one random load id; the last part makes rxd
 * replace the master with the whole load in one transaction. */
int rxctl_drugs_load(const rxctl_t *c, int op, char **args, int nargs)
{
	const char *path = args[0];
	(void)nargs;
	char msg[512];
	size_t len = 0, n = 0, parts = 0;
	drug_line_t *rows = NULL;
	Rx__DrugInfo *infos = NULL, **ptrs = NULL;
	uint8_t load_id[16];
	char *buf = slurp(path, &len, msg, sizeof msg);
	if (buf == NULL)
		return rxctl_failf(c, RX_SYSTEM, "%s", msg);
	json_t *errs = json_array();
	size_t bad = parse_drugs(buf, len, &rows, &n, errs);
	if (bad) {
		if (!c->json)
			for (size_t i = 0; i < json_array_size(errs) && i < DRUGS_ERRORS_SHOWN; i++) {
				json_t *e = json_array_get(errs, i);
				fprintf(stderr, "%s:%lld: %s\n", path,
					(long long)json_integer_value(json_object_get(e, "line")),
					json_string_value(json_object_get(e, "reason")));
			}
		snprintf(msg, sizeof msg, "%zu bad row%s in %s; nothing was loaded", bad, bad == 1 ? "" : "s",
			 path);
		free(rows);
		free(buf);
		return rxctl_finish(c, json_pack("{s:o}", "errors", errs), RX_INVALID, msg, NULL);
	}
	json_decref(errs);
	infos = calloc(n, sizeof *infos);
	ptrs = calloc(n, sizeof *ptrs);
	if (infos == NULL || ptrs == NULL) {
		free(infos);
		free(ptrs);
		free(rows);
		free(buf);
		return rxctl_failf(c, RX_SYSTEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		drug_info(&rows[i].row, &infos[i]);
		ptrs[i] = &infos[i];
	}
	randombytes_buf(load_id, sizeof load_id);
	int code = -1;
	for (size_t first = 0; first < n && code < 0;) {
		Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
		Rx__AdminReply *r = NULL;
		size_t bytes = 0, count = 0;
		/* A row costs its size and at most 4 bytes of tag and length. */
		while (first + count < n &&
		       (count == 0 || bytes + rx__drug_info__get_packed_size(&infos[first + count]) + 4 <=
					      DRUGS_PART_BYTES))
			bytes += rx__drug_info__get_packed_size(&infos[first + count++]) + 4;
		q.op = (Rx__AdminOp)op;
		q.load_id.data = load_id;
		q.load_id.len = sizeof load_id;
		q.drugs = ptrs + first;
		q.n_drugs = count;
		first += count;
		parts++;
		if (first == n) {
			q.load_commit = 1;
			q.load_rows = (uint32_t)n;
		}
		code = rxctl_call_or_finish(c, &q, &r);
		if (code < 0 && q.load_commit) {
			char human[4300];
			snprintf(human, sizeof human, "drug master replaced: %llu drugs from %s (%zu part%s)\n",
				 (unsigned long long)r->drugs_count, path, parts, parts == 1 ? "" : "s");
			code = rxctl_finish(c,
					    json_pack("{s:I, s:s, s:I}", "drugs",
						      (json_int_t)r->drugs_count, "file", path,
						      "parts", (json_int_t)parts),
					    RX_OK, NULL, human);
		}
		if (r)
			rx__admin_reply__free_unpacked(r, NULL);
	}
	free(infos);
	free(ptrs);
	free(rows);
	free(buf);
	return code;
}

static json_t *drug_json(const Rx__DrugInfo *d)
{
	json_t *comps = json_array();
	for (size_t i = 0; i < d->n_components; i++)
		json_array_append_new(comps, json_string(d->components[i]));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:b}", "code", d->code, "name_ja",
			 d->name_ja, "name_en", d->name_en, "ingredient", d->ingredient, "strength",
			 d->strength, "unit", d->unit, "dosage_form", d->dosage_form, "components", comps,
			 "no_refill", d->no_refill);
}

/* drugs show CODE|PREFIX | drugs info */
int rxctl_drugs_show(const rxctl_t *c, int op, char **args, int nargs)
{
	const char *code = nargs ? args[0] : NULL;
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r = NULL;
	char human[256], t[32] = "";
	q.op = (Rx__AdminOp)op;
	q.drug_code = (char *)(code ? code : "");
	int rc = rxctl_call_or_finish(c, &q, &r);
	if (rc >= 0)
		return rc;
	if (r->drugs_loaded_at)
		cli_time(r->drugs_loaded_at, t);
	json_t *o;
	if (code == NULL) {
		if (r->drugs_count)
			snprintf(human, sizeof human,
				 "drug master: %llu drugs, loaded %s; the duplicate-medication check is on\n",
				 (unsigned long long)r->drugs_count, t);
		else
			snprintf(human, sizeof human, "drug master: empty; the duplicate-medication check is "
						      "off until one is loaded (rxctl drugs load FILE.csv)\n");
		o = json_pack("{s:I, s:s?, s:b}", "drugs", (json_int_t)r->drugs_count, "loaded_at",
			      t[0] ? t : NULL, "check", r->drugs_count > 0);
	} else {
		json_t *arr = json_array();
		for (size_t i = 0; i < r->n_drugs; i++) {
			const Rx__DrugInfo *d = r->drugs[i];
			if (!c->json) {
				printf("%s  %s\n    %s\n    ingredient %s (", d->code, d->name_ja, d->name_en,
				       d->ingredient);
				for (size_t c = 0; c < d->n_components; c++)
					printf("%s%s", c ? ", " : "", d->components[c]);
				printf(")\n    strength %s, unit %s, %s%s\n", d->strength[0] ? d->strength : "-",
				       d->unit[0] ? d->unit : "-", d->dosage_form[0] ? d->dosage_form : "-",
				       d->no_refill ? "; not on a refill prescription" : "");
			}
			json_array_append_new(arr, drug_json(d));
		}
		human[0] = '\0';
		o = json_pack("{s:o}", "drugs", arr);
	}
	rx__admin_reply__free_unpacked(r, NULL);
	return rxctl_finish(c, o, RX_OK, NULL, human[0] ? human : NULL);
}

