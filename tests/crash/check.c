/* check: the history checker (see check.h). */
#include "check.h"

#include <lmdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "conn.h"
#include "failover.h"
#include "journal.h"
#include "records.pb-c.h"
#include "rx_check.h"
#include "rxclient.h"
#include "rx_ids.h"
#include "rx_ops.h"
#include "seal.h"

#define MAX_PRINTED 40 /* violations printed; all are counted */

/* Count (and print) one violation of kind about prescription id (or NULL). */
static void violation(check_report_t *rep, violation_kind_t kind, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void violation(check_report_t *rep, violation_kind_t kind, const char *id, const char *fmt, ...)
{
	rep->by_kind[kind]++;
	if (rep->nnamed < CHECK_NAMED) {
		rep->named[rep->nnamed].kind = kind;
		snprintf(rep->named[rep->nnamed].id, sizeof rep->named[rep->nnamed].id, "%s", id ? id : "");
		rep->nnamed++;
	}
	if (rep->violations++ < MAX_PRINTED) {
		va_list ap;
		va_start(ap, fmt);
		fputs("crash: VIOLATION: ", stdout);
		vprintf(fmt, ap);
		fputc('\n', stdout);
		va_end(ap);
		fflush(stdout);
	} else if (rep->violations == MAX_PRINTED + 1) {
		puts("crash: (further violations counted, not printed)");
	}
}

/* ---- what the journals say, per request ---- */

/* What the first reply of r said, decoded again from its bytes. */
typedef struct {
	int status;           /* -1: does not decode */
	Rx__Receipt *receipt; /* OK with a verified receipt that answers r */
} decoded_t;

static int ok_expected(int op, int status)
{
	switch (op) {
	case RX_OP_SUBMIT:
		return status == RX_OK;
	case RX_OP_RELEASE:
		/* tried on purpose while part of a use is owed (proto/README 5.13) */
		return status == RX_OK || status == RX_PARTLY_DISPENSED;
	case RX_OP_CLAIM:
		return status == RX_OK || status == RX_ALREADY_CLAIMED || status == RX_ALREADY_DISPENSED ||
		       status == RX_CANCELLED;
	case RX_OP_DISPENSE:
		/* second dispenses, parts sent again under a new request id and
		 * made-up tokens are refused on purpose */
		/* ... and a record citing an inquiry with a change it did not
		 * agree to (5.14) */
		return status == RX_OK || status == RX_ALREADY_DISPENSED || status == RX_PERMISSION_DENIED ||
		       status == RX_CANCELLED || status == RX_INQUIRY_PENDING || status == RX_NOT_AGREED;
	case RX_OP_INQUIRE:
		/* a second open one on purpose; the prescriber's cancel pending;
		 * the 17th (5.14: 16 kept) */
		return status == RX_OK || status == RX_INQUIRY_PENDING || status == RX_CANCELLED ||
		       status == RX_INVALID;
	case RX_OP_INQUIRY_REPLY:
		/* sent again under a new request id after an unknown outcome, or
		 * the inquiry closed by the prescriber's own cancel */
		return status == RX_OK || status == RX_INVALID;
	case RX_OP_CANCEL:
		return status == RX_OK || status == RX_ALREADY_DISPENSED || status == RX_CANCELLED;
	case RX_OP_AMEND:
		/* sent right after the pharmacy's own record was acknowledged, or
		 * while it hands the next use over in parts: only another
		 * pharmacy's dispense of the next use in between (a refill) makes
		 * it no longer the latest; a use handed over in parts is amended
		 * on purpose (5.13) */
		return status == RX_OK || status == RX_PERMISSION_DENIED || status == RX_NOT_LATEST ||
		       status == RX_PARTLY_DISPENSED;
	case RX_OP_WITHDRAW:
		/* ... and a withdrawal also while another pharmacy claims the next
		 * use, or hands it over in parts, or after the prescriber cancelled
		 * (proto/README 5.12, 5.13) */
		return status == RX_OK || status == RX_PERMISSION_DENIED || status == RX_NOT_LATEST ||
		       status == RX_ALREADY_CLAIMED || status == RX_CANCELLED || status == RX_PARTLY_DISPENSED;
	default:
		return 0;
	}
}

static void decode_reply(const crash_world_t *w, const jreq_t *r, uint8_t broker_key[RX_KEY_LEN],
			 int *have_broker_key, decoded_t *d)
{
	d->status = -1;
	d->receipt = NULL;
	Rx__Reply *rep = rx__reply__unpack(NULL, r->reply_len, r->reply);
	if (rep == NULL || !rx_err_is_wire((int)rep->status))
		goto out;
	if (rep->status != RX__STATUS__OK) {
		d->status = (int)rep->status;
		goto out;
	}
	Rx__Receipt *rc = rx__receipt__unpack(NULL, rep->receipt.len, rep->receipt.data);
	if (rc == NULL || rc->broker_key.len != RX_KEY_LEN || rep->receipt_signature.len != RX_SIG_LEN ||
	    rx_verify(RX_SIGN_RECEIPT, rc->broker_key.data, rep->receipt.data, rep->receipt.len,
		      rep->receipt_signature.data) != RX_OK ||
	    rc->request_id.len != RX_REQUEST_ID_LEN ||
	    memcmp(rc->request_id.data, r->rid, RX_REQUEST_ID_LEN) != 0 || (int)rc->op != r->op ||
	    rc->caller_key.len != RX_KEY_LEN ||
	    memcmp(rc->caller_key.data, w->client[r->client].key.pk, RX_KEY_LEN) != 0) {
		if (rc)
			rx__receipt__free_unpacked(rc, NULL);
		goto out;
	}
	/* One broker key signs every receipt, across every restart. */
	if (!*have_broker_key) {
		memcpy(broker_key, rc->broker_key.data, RX_KEY_LEN);
		*have_broker_key = 1;
	} else if (memcmp(broker_key, rc->broker_key.data, RX_KEY_LEN) != 0) {
		rx__receipt__free_unpacked(rc, NULL);
		goto out;
	}
	d->status = RX_OK;
	d->receipt = rc;
out:
	if (rep)
		rx__reply__free_unpacked(rep, NULL);
}

/* The ops that change a prescription: those the audit log's replay and the
 * count of accepted changes follow. */
static int is_change(int op)
{
	return (op >= RX_OP_SUBMIT && op <= RX_OP_CANCEL) || op == RX_OP_AMEND || op == RX_OP_WITHDRAW ||
	       op == RX_OP_INQUIRE || op == RX_OP_INQUIRY_REPLY;
}

/* 1 if the OK receipt rc of SUBMIT, DISPENSE, AMEND or WITHDRAW r names the
 * document r's journaled frame carries (protocol v2: the receipt's
 * body_hash is the hash of the signed prescription or dispense record,
 * whose call_hash binds this very call): the reply is to these bytes, not
 * to another document sent under the same request id.  Other ops: 1. */
static int names_document(const jreq_t *r, const Rx__Receipt *rc)
{
	uint8_t h[RX_HASH_LEN];
	int ok = 0;
	if (rx_op_info(r->op) == NULL || rx_op_info(r->op)->doc == RX_DOC_NONE)
		return 1;
	Rx__Request *req = r->frame ? rx__request__unpack(NULL, r->frame_len, r->frame) : NULL;
	if (req) {
		const ProtobufCBinaryData *doc = r->op == RX_OP_SUBMIT ? &req->prescription : &req->dispense;
		rx_hash(doc->data, doc->len, h);
		ok = doc->len > 0 && rc->body_hash.len == RX_HASH_LEN &&
		     memcmp(rc->body_hash.data, h, RX_HASH_LEN) == 0;
		rx__request__free_unpacked(req, NULL);
	}
	return ok;
}

/* ---- prescriptions ---- */

#define CHECK_ITEMS 4 /* items whose quantities the parts are checked against (the workload's: 1 or 2) */
#define CHECK_CODE 16   /* an NHI drug code (12 characters) and its NUL */
#define CHECK_CHANGES 4 /* agreed changes kept per inquiry (the workload's: 1) */

typedef struct {
	char id[RX_ID_LEN + 1];
	int stored;                       /* a key in "rx" */
	int issuer;                       /* client of its SUBMIT OK audit entry; -1 none */
	int submits_acked;                /* acknowledged SUBMITs that named it */
	uint8_t submit_hash[RX_HASH_LEN]; /* body hash of that receipt */
	unsigned uses_mask;               /* dispense keys: bit u for use u */
	size_t rec_head;                  /* its dispense records (index + 1 into drecs_t) */
	int unopened;                     /* one of them did not open or decode */
	/* Per use, records of each kind (K_DISPENSE ..): in the store, and
	 * accepted by the audit log */
	int kept[RX_MAX_USES + 1][3], accepted[RX_MAX_USES + 1][3];
	size_t entry_head, entry_tail;    /* audit entries naming it (index + 1), in seq order */
	size_t req_head;                  /* journal requests naming it (index + 1) */
	int status_ok;                    /* the issuer's STATUS answered OK */
	int state, uses, uses_left, cancel_pending;
	uint8_t body_hash[RX_HASH_LEN];
	int n_items;                      /* prescribed items, as STATUS's prescription says */
	uint32_t quantity[CHECK_ITEMS];   /* the units of each (the first CHECK_ITEMS) */
	char code[CHECK_ITEMS][CHECK_CODE]; /* the product of each, and its marks (5.10) */
	uint8_t no_change[CHECK_ITEMS], no_form[CHECK_ITEMS], no_strength[CHECK_ITEMS];
	/* Its inquiries as the store keeps them (5.14), by number: the hash of
	 * the pharmacy's signed call and of the prescriber's answer. */
	struct {
		uint8_t stored, replied, by_phone, outcome, answer; /* outcome: a telephone one's */
		uint8_t call[RX_HASH_LEN], reply[RX_HASH_LEN];
		/* the changes agreed (an ACCEPT by telephone or answered): the
		 * item and the product to hand over instead ("" none: not to
		 * dispense it) */
		uint8_t agreed, nagreed;
		struct {
			uint32_t item;
			char code[CHECK_CODE];
		} change[CHECK_CHANGES];
	} inq[RX_MAX_INQUIRIES + 1];
	int inq_top; /* the highest number stored */
} rxrec_t;

typedef struct {
	rxrec_t *v;
	size_t n, cap;
	size_t *slot;
	size_t nslots;
} rxset_t;

static uint64_t id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL;
	for (int i = 0; i < RX_ID_LEN; i++)
		h = (h ^ (uint8_t)id[i]) * 1099511628211ULL;
	return h;
}

static int rxset_grow(rxset_t *s)
{
	size_t want = s->nslots ? 2 * s->nslots : 4096;
	size_t *slot = calloc(want, sizeof *slot);
	if (slot == NULL)
		return -1;
	for (size_t k = 0; k < s->n; k++) {
		size_t i = id_hash(s->v[k].id) & (want - 1);
		while (slot[i])
			i = (i + 1) & (want - 1);
		slot[i] = k + 1;
	}
	free(s->slot);
	s->slot = slot;
	s->nslots = want;
	return 0;
}

/* The record for id, made if new (NULL only when memory runs out). */
static rxrec_t *rx_get(rxset_t *s, const char *id)
{
	if (2 * (s->n + 1) > s->nslots && rxset_grow(s) != 0)
		return NULL;
	size_t i = id_hash(id) & (s->nslots - 1);
	for (; s->slot[i]; i = (i + 1) & (s->nslots - 1))
		if (memcmp(s->v[s->slot[i] - 1].id, id, RX_ID_LEN) == 0)
			return &s->v[s->slot[i] - 1];
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		rxrec_t *p = realloc(s->v, cap * sizeof *p);
		if (p == NULL)
			return NULL;
		s->v = p;
		s->cap = cap;
	}
	rxrec_t *r = &s->v[s->n];
	memset(r, 0, sizeof *r);
	memcpy(r->id, id, RX_ID_LEN);
	r->issuer = -1;
	s->slot[i] = ++s->n;
	return r;
}

/* ---- dispense records, as read from LMDB ---- */

#define CHAIN_MAX 16 /* records a use keeps: the current one and 15 replaced (proto/README 5.12) */

enum { K_DISPENSE = 0, K_AMEND = 1, K_WITHDRAW = 2 };

/* One dispense record: a use's current record (n = 0, key prescription +
 * use) or its replaced record n (1..15, key prescription + use + n). */
typedef struct {
	uint8_t use, n;
	uint8_t opened; /* it opened with the data key, decodes and verifies */
	uint8_t kind;   /* K_*: a withdrawal has withdraw_reason, an amend replaces */
	int actor;      /* the client whose key signed it; -2 a key of nobody's */
	uint8_t hash[RX_HASH_LEN];     /* of its body (a receipt's body_hash) */
	uint8_t replaces[RX_HASH_LEN]; /* AMEND, WITHDRAW */
	size_t next; /* the next record of the same prescription (index + 1) */
	/* A use handed over in parts (proto/README 5.13): the record's part
	 * (0 the whole use) as its body and its row say, whether a line is
	 * PARTIAL (it leaves items owed), and its lines. */
	uint8_t part, row_part, owing, nlines;
	uint8_t inquiry; /* the inquiry it cites (5.14), 0 none */
	struct {
		uint32_t item, outcome, quantity, reason;
		char code[CHECK_CODE]; /* the product handed over, "" none */
	} line[CHECK_ITEMS];
} drec_t;

/* A part that left items owed: kept before the use's current record. */
static int open_part(const drec_t *d)
{
	return d->kind == K_DISPENSE && d->part > 0 && d->owing;
}

typedef struct {
	drec_t *v;
	size_t n, cap;
} drecs_t;

static const char *const kind_name[3] = {"DISPENSE", "AMEND", "WITHDRAW"};

static int kind_of_op(int op)
{
	return op == RX_OP_AMEND ? K_AMEND : op == RX_OP_WITHDRAW ? K_WITHDRAW : K_DISPENSE;
}

/* "current record", "replaced record 3" or (a part, 5.13) "kept record
 * 3", for messages. */
static const char *where(const drec_t *d, char buf[32])
{
	if (d->n == 0)
		return "current record";
	snprintf(buf, 32, "%s record %u", d->kind == K_DISPENSE && d->part ? "kept" : "replaced", d->n);
	return buf;
}

/* The records of use u of r in the order they were made: the replaced ones
 * by n, then the current one; how many into seq.  *gap: the first n
 * missing below the highest kept, 0 if none. */
static int use_records(const drecs_t *ds, const rxrec_t *r, unsigned u, const drec_t *seq[CHAIN_MAX],
		       int *gap)
{
	const drec_t *kept[CHAIN_MAX] = {0}, *cur = NULL;
	int top = 0, n = 0;
	*gap = 0;
	for (size_t i = r->rec_head; i; i = ds->v[i - 1].next) {
		const drec_t *d = &ds->v[i - 1];
		if (d->use != u)
			continue;
		if (d->n == 0) {
			cur = d;
		} else {
			kept[d->n] = d;
			top = d->n > top ? d->n : top;
		}
	}
	for (int k = 1; k <= top; k++) {
		if (kept[k])
			seq[n++] = kept[k];
		else if (*gap == 0)
			*gap = k;
	}
	if (cur)
		seq[n++] = cur;
	return n;
}

/* ---- the audit log, as read from LMDB ---- */

typedef struct {
	uint64_t seq;
	int op;    /* RX_OP_* of the action, 0 for any other action */
	int actor; /* the client whose key it names; -1 none (the operator), -2 a key of nobody's */
	int outcome;
	size_t next; /* the next entry of the same prescription (index + 1) */
} entry_t;

typedef struct {
	entry_t *v;
	size_t n, cap;
	long total; /* all entries, those naming no prescription too */
} entries_t;

static int actor_of(const crash_world_t *w, const ProtobufCBinaryData *key)
{
	if (key->len == 0)
		return -1;
	for (int c = 0; c < w->nclients; c++)
		if (key->len == RX_KEY_LEN && memcmp(key->data, w->client[c].key.pk, RX_KEY_LEN) == 0)
			return c;
	return -2;
}

/* The id permutation's key of the store in dir (from DATA/data.key). */
static int perm_key(const char *dir, uint8_t pk[RX_ID_PERM_KEY_LEN])
{
	char path[600];
	rx_keypair_t data;
	snprintf(path, sizeof path, "%s/data.key", dir);
	if (rx_key_load(path, &data) != RX_OK) {
		printf("crash: cannot read %s\n", path);
		return -1;
	}
	rx_id_perm_key(data.sk, pk);
	sodium_memzero(&data, sizeof data);
	return 0;
}

int crash_rx_key(const char *dir, const char *id, uint8_t key[8])
{
	uint8_t pk[RX_ID_PERM_KEY_LEN];
	if (perm_key(dir, pk) != 0)
		return -1;
	uint64_t seq = rx_id_unpermute(pk, rx_rxid_value(id));
	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)(seq >> (56 - 8 * i));
	return 0;
}

/* The prescription a key of "rx" belongs to: its number (8 bytes,
 * big-endian, since store format 4; the id is the number under the store's
 * permutation, keyed from DATA/data.key) or its id (14 characters, before),
 * into id; the length of that prefix, 0 if it is neither. */
static size_t row_id(const MDB_val *k, const uint8_t pk[RX_ID_PERM_KEY_LEN], char id[RX_ID_LEN + 1])
{
	const uint8_t *kb = k->mv_data;
	if (k->mv_size >= 8 && kb[0] == 0) {
		uint64_t seq = 0;
		for (int i = 0; i < 8; i++)
			seq = seq << 8 | kb[i];
		rx_rxid_of_seq(pk, seq, id);
		return 8;
	}
	if (k->mv_size < RX_ID_LEN)
		return 0;
	memcpy(id, kb, RX_ID_LEN);
	id[RX_ID_LEN] = '\0';
	return RX_ID_LEN;
}

/* What read_store reads with. */
typedef struct {
	const crash_world_t *w;
	rxset_t *rxs;
	drecs_t *ds;
	uint8_t pk[RX_ID_PERM_KEY_LEN]; /* the id permutation's key */
	uint8_t dk[SEAL_KEY_LEN];       /* the data key: dispense rows are sealed */
	check_report_t *rep;
} reader_t;

/* The lines of rec into d (at most CHECK_ITEMS: the caller checks). */
static void lines_of(const Rx__DispenseRecord *rec, drec_t *d)
{
	d->nlines = (uint8_t)(rec->n_lines < CHECK_ITEMS ? rec->n_lines : CHECK_ITEMS);
	for (size_t i = 0; i < d->nlines; i++) {
		const Rx__Line *l = rec->lines[i];
		d->line[i].item = l->item;
		d->line[i].outcome = (uint32_t)l->outcome;
		d->line[i].quantity = l->handed ? l->handed->quantity : 0;
		d->line[i].reason = (uint32_t)l->reason;
		snprintf(d->line[i].code, sizeof d->line[i].code, "%s",
			 l->handed && l->handed->drug_code ? l->handed->drug_code : "");
		d->owing |= l->outcome == RX__OUTCOME__PARTIAL;
	}
}

/* Open and decode the sealed dispense row v under k into d, checking that
 * its body is a dispense record of prescription id and use, signed by the
 * key it names; NULL if so, else what is wrong. */
static const char *open_record(reader_t *rd, const MDB_val *k, const MDB_val *v, const char *id, drec_t *d)
{
	uint8_t *plain = NULL;
	size_t plen = 0;
	Rxstore__DispenseRow *row = NULL;
	Rx__DispenseRecord *rec = NULL;
	const char *bad = NULL;

	if (seal_open(rd->dk, "dispenses", k->mv_data, k->mv_size, v->mv_data, v->mv_size, &plain, &plen) != 0)
		bad = "does not open with the data key (altered, or made for another key)";
	else if ((row = rxstore__dispense_row__unpack(NULL, plen, plain)) == NULL ||
		 row->pharmacy_key.len != RX_KEY_LEN || row->signature.len != RX_SIG_LEN)
		bad = "does not decode as a dispense row";
	else if ((rec = rx__dispense_record__unpack(NULL, row->body.len, row->body.data)) == NULL)
		bad = "holds a body that does not decode as a dispense record";
	else if (rec->pharmacy_key.len != RX_KEY_LEN ||
		 memcmp(rec->pharmacy_key.data, row->pharmacy_key.data, RX_KEY_LEN) != 0 ||
		 rx_verify(rx_doc_context(RX_SIGN_DISPENSE, rec->version), rec->pharmacy_key.data,
			   row->body.data, row->body.len, row->signature.data) != RX_OK)
		bad = "is not signed by the pharmacy key it names";
	else if (strcmp(rec->prescription_id, id) != 0 || (rec->use != 0 && rec->use != d->use))
		bad = "names another prescription or use";
	else if (rec->withdraw_reason ? rec->replaces.len != RX_HASH_LEN || rec->n_lines != 0
				      : rec->replaces.len != 0 && rec->replaces.len != RX_HASH_LEN)
		bad = "is neither a dispense, an amend nor a withdrawal";
	else if (rec->part > RX_MAX_PARTS || row->part > RX_MAX_PARTS || (rec->part && rec->replaces.len))
		bad = "is a part 9 or more, or a part that amends or withdraws";
	else if (rec->n_lines > CHECK_ITEMS)
		bad = "has more lines than this workload's prescriptions have items";
	if (bad == NULL) {
		d->opened = 1;
		d->kind = rec->withdraw_reason ? K_WITHDRAW : rec->replaces.len ? K_AMEND : K_DISPENSE;
		d->actor = actor_of(rd->w, &rec->pharmacy_key);
		rx_hash(row->body.data, row->body.len, d->hash);
		if (rec->replaces.len)
			memcpy(d->replaces, rec->replaces.data, RX_HASH_LEN);
		d->part = (uint8_t)rec->part;
		d->inquiry = (uint8_t)(rec->inquiry > 255 ? 255 : rec->inquiry);
		d->row_part = (uint8_t)row->part;
		lines_of(rec, d);
	}
	if (rec)
		rx__dispense_record__free_unpacked(rec, NULL);
	if (row)
		rxstore__dispense_row__free_unpacked(row, NULL);
	free(plain);
	return bad;
}

/* One dispense record, in "rx" or "dispenses": a use's current record (key
 * prescription + use: the use is marked dispensed) or one an AMEND or
 * WITHDRAW replaced (prescription + use + n), opened and kept in rd->ds;
 * -1 if memory runs out. */
static int dispense_row(reader_t *rd, const MDB_val *k, const MDB_val *v)
{
	char id[RX_ID_LEN + 1] = "", buf[32];
	const uint8_t *kb = k->mv_data;
	check_report_t *rep = rd->rep;
	size_t p = row_id(k, rd->pk, id);
	int kept = p && k->mv_size == p + 2;
	if (p == 0 || (k->mv_size != p + 1 && !kept) || kb[p] < 1 || kb[p] > RX_MAX_USES ||
	    (kept && (kb[p + 1] < 1 || kb[p + 1] >= CHAIN_MAX))) {
		violation(rep, V_DISPENSE_RECORDS, NULL,
			  "a dispense record's key is not a prescription, a use 1..3 and maybe a number 1..15 "
			  "(%zu bytes)",
			  k->mv_size);
		return 0;
	}
	rxrec_t *r = rx_get(rd->rxs, id);
	if (r == NULL)
		return -1;
	if (kept) {
		rep->records_kept++;
	} else {
		rep->dispense_records++;
		rep->records_current++;
		/* one key per use in a tree; a store of before format 3 has a second */
		if (r->uses_mask & (1u << kb[p]))
			violation(rep, V_CHAIN, id, "%s: use %u has two current records", id, kb[p]);
		r->uses_mask |= 1u << kb[p];
	}
	drecs_t *ds = rd->ds;
	if (ds->n == ds->cap) {
		size_t cap = ds->cap ? 2 * ds->cap : 16384;
		drec_t *grown = realloc(ds->v, cap * sizeof *grown);
		if (grown == NULL)
			return -1;
		ds->v = grown;
		ds->cap = cap;
	}
	drec_t *d = &ds->v[ds->n];
	memset(d, 0, sizeof *d);
	d->use = kb[p];
	d->n = kept ? kb[p + 1] : 0;
	d->actor = -2;
	const char *bad = open_record(rd, k, v, id, d);
	if (bad) {
		r->unopened = 1;
		violation(rep, V_DISPENSE_RECORDS, id, "%s: the %s of use %u %s", id, where(d, buf), d->use, bad);
	} else {
		rep->records_opened++;
	}
	d->next = r->rec_head;
	r->rec_head = ++ds->n;
	return 0;
}

/* An inquiry row (proto/README 5.14): in "rx" beside its prescription, key
 * the record's + INQUIRY_TAG + its number, sealed as "inquiries"; its
 * hashes into the prescription's record.  -1 if memory runs out. */
#define INQUIRY_TAG 0x80
static int inquiry_row(reader_t *rd, const MDB_val *k, const MDB_val *v, const char *id)
{
	uint8_t *plain = NULL;
	size_t plen = 0;
	unsigned n = ((const uint8_t *)k->mv_data)[k->mv_size - 1];
	rxrec_t *r = rx_get(rd->rxs, id);
	if (r == NULL)
		return -1;
	Rxstore__InquiryRow *row = NULL;
	Rx__Call *q = NULL, *a = NULL;
	if (seal_open(rd->dk, "inquiries", k->mv_data, k->mv_size, v->mv_data, v->mv_size, &plain, &plen) != 0 ||
	    (row = rxstore__inquiry_row__unpack(NULL, plen, plain)) == NULL || n < 1 || n > RX_MAX_INQUIRIES ||
	    row->number != n || (q = rx__call__unpack(NULL, row->call.len, row->call.data)) == NULL ||
	    q->inquiry == NULL || (int)q->op != RX_OP_INQUIRE ||
	    (row->reply.len && ((a = rx__call__unpack(NULL, row->reply.len, row->reply.data)) == NULL ||
				a->inquiry_reply == NULL || a->inquiry_reply->inquiry != n))) {
		violation(rd->rep, V_INQUIRY, id, "%s: inquiry row %u does not open, decode or name its number", id,
			  n);
	} else {
		rd->rep->inquiries_stored++;
		r->inq[n].stored = 1;
		r->inq[n].by_phone = q->inquiry->by_phone;
		r->inq[n].outcome = (uint8_t)q->inquiry->outcome;
		rx_hash(row->call.data, row->call.len, r->inq[n].call);
		rd->rep->inquiries_phoned += q->inquiry->by_phone;
		if (a) {
			r->inq[n].replied = 1;
			r->inq[n].answer = (uint8_t)a->inquiry_reply->answer;
			rx_hash(row->reply.data, row->reply.len, r->inq[n].reply);
			rd->rep->answers_stored++;
		}
		/* what the prescriber agreed to, if anything (5.14) */
		Rx__Change **ch = NULL;
		size_t nch = 0;
		if (q->inquiry->by_phone && q->inquiry->outcome == RX__ANSWER__ANSWER_ACCEPT) {
			ch = q->inquiry->agreed;
			nch = q->inquiry->n_agreed;
			r->inq[n].agreed = 1;
		} else if (a && a->inquiry_reply->answer == RX__ANSWER__ANSWER_ACCEPT) {
			ch = a->inquiry_reply->agreed;
			nch = a->inquiry_reply->n_agreed;
			r->inq[n].agreed = 1;
		}
		for (size_t i = 0; i < nch && i < CHECK_CHANGES; i++) {
			r->inq[n].change[i].item = ch[i]->item;
			snprintf(r->inq[n].change[i].code, CHECK_CODE, "%s",
				 ch[i]->to && ch[i]->to->drug_code ? ch[i]->to->drug_code : "");
		}
		r->inq[n].nagreed = (uint8_t)(nch < CHECK_CHANGES ? nch : CHECK_CHANGES);
		if ((int)n > r->inq_top)
			r->inq_top = (int)n;
	}
	if (a)
		rx__call__free_unpacked(a, NULL);
	if (q)
		rx__call__free_unpacked(q, NULL);
	if (row)
		rxstore__inquiry_row__free_unpacked(row, NULL);
	free(plain);
	return 0;
}

/* Read "rx" and "dispenses" keys and the audit log in one read transaction
 * of the live environment (LMDB readers never block its writer). */
static int read_store(const crash_world_t *w, rxset_t *rxs, drecs_t *ds, entries_t *es, check_report_t *rep)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi rx_db, disp_db, audit_db;
	MDB_val k, v;
	int rc, ret = -1;
	reader_t rd = {.w = w, .rxs = rxs, .ds = ds, .rep = rep};
	const uint8_t *pk = rd.pk;

	if (perm_key(w->h.dir, rd.pk) != 0)
		return -1;
	if (seal_key_load(w->h.dir, rd.dk) != 0) {
		printf("crash: cannot read %s/data.key\n", w->h.dir);
		return -1;
	}
	if (mdb_env_create(&env) != 0)
		return -1;
	mdb_env_set_maxdbs(env, 32);
	if ((rc = mdb_env_open(env, w->h.dir, MDB_RDONLY, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "rx", 0, &rx_db)) != 0 ||
	    (rc = mdb_dbi_open(txn, "dispenses", 0, &disp_db)) != 0 ||
	    (rc = mdb_dbi_open(txn, "audit", 0, &audit_db)) != 0) {
		printf("crash: cannot read the store in %s: %s\n", w->h.dir, mdb_strerror(rc));
		goto out;
	}

	/* rx holds each prescription's record (its id) and, since format 3,
	 * its dispense records beside it (id + use, and the ones an AMEND or
	 * WITHDRAW replaced: id + use + n), counted with those of "dispenses"
	 * below, the access codes tried on it (id + time + random) and its
	 * audit entries (id + seq). */
	if (mdb_cursor_open(txn, rx_db, &cur) != 0)
		goto out;
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		char id[RX_ID_LEN + 1] = "";
		size_t p = row_id(&k, pk, id);
		if (p && k.mv_size == p + 2 && ((const uint8_t *)k.mv_data)[p] == INQUIRY_TAG) {
			if (inquiry_row(&rd, &k, &v, id) != 0)
				goto out;
			continue;
		}
		if (p && (k.mv_size == p + 1 || k.mv_size == p + 2)) {
			if (dispense_row(&rd, &k, &v) != 0)
				goto out;
			continue;
		}
		if (p && k.mv_size == p + 8 + 4)
			continue; /* an access code tried on it */
		if (p && k.mv_size == p + 8)
			continue; /* an audit entry about it, for its patient's log */
		if (p == 0 || k.mv_size != p) {
			violation(rep, V_OTHER, NULL,
				  "a key of db \"rx\" is %zu bytes, not a prescription's number (8) or id (%d)",
				  k.mv_size, RX_ID_LEN);
			continue;
		}
		rxrec_t *r = rx_get(rxs, id);
		if (r == NULL)
			goto out;
		r->stored = 1;
		rep->stored_rx++;
	}
	mdb_cursor_close(cur);
	cur = NULL;

	if (mdb_cursor_open(txn, disp_db, &cur) != 0)
		goto out;
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
		if (dispense_row(&rd, &k, &v) != 0)
			goto out;
	mdb_cursor_close(cur);
	cur = NULL;

	/* The audit log in seq order (its keys are big-endian). */
	if (mdb_cursor_open(txn, audit_db, &cur) != 0)
		goto out;
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		es->total++;
		Rxstore__AuditEntry *e = rxstore__audit_entry__unpack(NULL, v.mv_size, v.mv_data);
		if (e == NULL) {
			violation(rep, V_AUDIT, NULL, "audit entry %ld does not decode", es->total);
			continue;
		}
		if (e->prescription_id[0] == '\0' || strlen(e->prescription_id) != RX_ID_LEN) {
			rxstore__audit_entry__free_unpacked(e, NULL);
			continue;
		}
		rxrec_t *r = rx_get(rxs, e->prescription_id);
		if (r != NULL && es->n == es->cap) {
			size_t cap = es->cap ? 2 * es->cap : 65536;
			entry_t *p = realloc(es->v, cap * sizeof *p);
			if (p != NULL) {
				es->v = p;
				es->cap = cap;
			}
		}
		if (r == NULL || es->n == es->cap) {
			rxstore__audit_entry__free_unpacked(e, NULL);
			goto out;
		}
		entry_t *en = &es->v[es->n++];
		en->seq = e->seq;
		en->op = 0;
		for (int op = RX_OP_SUBMIT; op <= RX_OP_LAST; op++)
			if (is_change(op) && strcmp(e->action, rx_op_name(op)) == 0)
				en->op = op;
		en->actor = actor_of(w, &e->actor_key);
		en->outcome = (int)e->outcome;
		en->next = 0;
		if (r->entry_tail)
			es->v[r->entry_tail - 1].next = es->n;
		else
			r->entry_head = es->n;
		r->entry_tail = es->n;
		if (en->op == RX_OP_SUBMIT && en->outcome == RX_OK) {
			if (r->issuer != -1)
				violation(rep, V_STATE, r->id, "%s: two SUBMIT entries accepted it", r->id);
			r->issuer = en->actor;
		}
		rxstore__audit_entry__free_unpacked(e, NULL);
	}
	ret = 0;
out:
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	sodium_memzero(rd.dk, sizeof rd.dk);
	return ret;
}

/* ---- talking to the restarted broker ---- */

/* A connection per client, as its institution. */
static int open_conns(const crash_world_t *w, void *zctx, conn_t *conns)
{
	for (int c = 0; c < w->nclients; c++)
		if (conn_open(&conns[c], zctx, w->h.endpoint, &w->client[c].curve, w->h.server_key, 1000,
			      w->give_up_ms) != 0) {
			while (c-- > 0)
				conn_close(&conns[c]);
			return -1;
		}
	return 0;
}

/* Re-send every acknowledged request's journaled bytes; the reply must be
 * the journaled one, byte for byte. */
static void resend_all(const journal_set_t *js, conn_t *conns, check_report_t *rep)
{
	for (size_t i = 0; i < js->n; i++) {
		const jreq_t *r = &js->req[i];
		uint8_t *reply;
		size_t len;
		int sends;
		if (r->outcome != JR_REPLIED || r->status != RX_OK || r->frame == NULL)
			continue;
		rep->replies_resent++;
		if (conn_exchange(&conns[r->client], r->frame, r->frame_len, r->rid, &reply, &len, &sends,
				  NULL, NULL) != 0) {
			violation(rep, V_REPLY, NULL, "no reply to the re-send of an acknowledged %s",
				  rx_op_name(r->op));
			continue;
		}
		if (len == r->reply_len && memcmp(reply, r->reply, len) == 0)
			rep->replies_identical++;
		else
			violation(rep, V_REPLY, NULL,
				  "the re-send of an acknowledged %s%s%s got another reply than the first "
				  "(%zu bytes, first %zu)",
				  rx_op_name(r->op), r->rxid[0] ? " of " : "", r->rxid, len, r->reply_len);
		free(reply);
	}
}

/* A STATUS reply's dispense list (proto/README 2.6, 5.12, 5.13) against
 * the records the store keeps for r: per use, in use order, the kept
 * records by n and then the current one, each superseded but the last of
 * its use and the parts that left items owed; and the receipt's
 * dispenses_hash over the list. */
static void status_list(const Rx__Reply *rp, const Rx__Receipt *rc, const drecs_t *ds, const rxrec_t *r,
			check_report_t *rep)
{
	size_t k = 0;
	int same = 1;
	for (unsigned u = 1; u <= RX_MAX_USES; u++) {
		const drec_t *seq[CHAIN_MAX];
		int gap, n = use_records(ds, r, u, seq, &gap);
		for (int i = 0; i < n; i++, k++) {
			const Rx__DispenseInfo *x = k < rp->n_dispenses ? rp->dispenses[k] : NULL;
			uint8_t h[RX_HASH_LEN];
			if (x == NULL || x->record == NULL || x->use != u ||
			    x->superseded != (i + 1 < n && !open_part(seq[i]))) {
				same = 0;
				continue;
			}
			rx_hash(x->record->body.data, x->record->body.len, h);
			same &= memcmp(h, seq[i]->hash, RX_HASH_LEN) == 0;
		}
	}
	if (k != rp->n_dispenses || !same)
		violation(rep, V_DISPENSE_RECORDS, r->id,
			  "%s: its STATUS lists %zu dispense records, not the %zu the store keeps for its uses "
			  "(in order, superseded but the last of each use and the parts that left items owed)",
			  r->id, rp->n_dispenses, k);
	else
		rep->status_lists++;
	if (rp->n_dispenses) {
		uint8_t h[RX_HASH_LEN];
		rx_dispenses_hash(rp->dispenses, rp->n_dispenses, h);
		if (rc->dispenses_hash.len != RX_HASH_LEN || memcmp(h, rc->dispenses_hash.data, RX_HASH_LEN) != 0)
			violation(rep, V_REPLY, r->id,
				  "%s: its STATUS receipt's dispenses_hash does not cover the records listed", r->id);
	}
}

/* STATUS of r by its issuer: state, uses and body hash into r; its
 * dispense list against the records the store keeps (ds). */
static void status_of(const crash_world_t *w, conn_t *conns, rxrec_t *r, const drecs_t *ds,
		      check_report_t *rep)
{
	Rx__Call call = RX__CALL__INIT;
	uint8_t rid[RX_REQUEST_ID_LEN], *frame, *reply;
	size_t flen, rlen;
	int sends;
	const crash_client_t *me = &w->client[r->issuer];

	rxc_request_id(rid);
	call.request_id.data = rid;
	call.request_id.len = sizeof rid;
	call.op = RX__OP__STATUS;
	call.prescription_id = r->id;
	if (conn_frame(&me->key, &call, NULL, &frame, &flen) != 0) {
		violation(rep, V_OTHER, r->id, "%s: could not build its STATUS", r->id);
		return;
	}
	rep->statuses++;
	int rc = conn_exchange(&conns[r->issuer], frame, flen, rid, &reply, &rlen, &sends, NULL, NULL);
	free(frame);
	if (rc != 0) {
		violation(rep, V_SUBMIT_LOST, r->id, "%s: no reply to its issuer's STATUS", r->id);
		return;
	}
	Rx__Reply *rp = rx__reply__unpack(NULL, rlen, reply);
	Rx__Receipt *rc2 = NULL;
	if (rp && rp->status == RX__STATUS__OK)
		rc2 = rx__receipt__unpack(NULL, rp->receipt.len, rp->receipt.data);
	if (rc2 && rc2->broker_key.len == RX_KEY_LEN && rp->receipt_signature.len == RX_SIG_LEN &&
	    rx_verify(RX_SIGN_RECEIPT, rc2->broker_key.data, rp->receipt.data, rp->receipt.len,
		      rp->receipt_signature.data) == RX_OK &&
	    rc2->body_hash.len == RX_HASH_LEN && strcmp(rc2->prescription_id, r->id) == 0) {
		r->status_ok = 1;
		r->state = (int)rc2->state;
		r->uses = (int)rc2->uses;
		r->uses_left = (int)rc2->uses_left;
		r->cancel_pending = rc2->cancel_pending;
		memcpy(r->body_hash, rc2->body_hash.data, RX_HASH_LEN);
		/* What each item prescribed, which the parts of a use are checked
		 * against. */
		Rx__Prescription *p = rp->prescription && rp->prescription->body.len
					      ? rx__prescription__unpack(NULL, rp->prescription->body.len,
									  rp->prescription->body.data)
					      : NULL;
		uint8_t ph[RX_HASH_LEN];
		if (p)
			rx_hash(rp->prescription->body.data, rp->prescription->body.len, ph);
		if (p && memcmp(ph, r->body_hash, RX_HASH_LEN) == 0) {
			r->n_items = (int)p->n_items;
			for (size_t i = 0; i < p->n_items && i < CHECK_ITEMS; i++) {
				const Rx__Item *it = p->items[i];
				r->quantity[i] = it->quantity;
				snprintf(r->code[i], CHECK_CODE, "%s", it->drug_code ? it->drug_code : "");
				r->no_change[i] = it->no_change || it->medical_necessity;
				r->no_form[i] = it->no_form_change;
				r->no_strength[i] = it->no_strength_change;
			}
		} else {
			r->n_items = -1;
			violation(rep, V_REPLY, r->id,
				  "%s: its STATUS carries no prescription that decodes and is the one its receipt "
				  "names",
				  r->id);
		}
		if (p)
			rx__prescription__free_unpacked(p, NULL);
		status_list(rp, rc2, ds, r, rep);
		/* its inquiries, as the store keeps them (5.14), bound to the
		 * receipt by inquiries_hash, each call signed by a pharmacy's
		 * key, each answer by the issuer's (what rxclient verifies) */
		uint8_t ih[RX_HASH_LEN];
		rx_inquiries_hash(rp->inquiries, rp->n_inquiries, ih);
		int same = (int)rp->n_inquiries == r->inq_top &&
			   (rp->n_inquiries == 0 ? rc2->inquiries_hash.len == 0
						 : rc2->inquiries_hash.len == RX_HASH_LEN &&
							   memcmp(ih, rc2->inquiries_hash.data, RX_HASH_LEN) == 0);
		for (size_t i = 0; same && i < rp->n_inquiries; i++) {
			const Rx__InquiryInfo *q = rp->inquiries[i];
			uint8_t h[RX_HASH_LEN], g[RX_HASH_LEN];
			int n = (int)i + 1;
			int asker = actor_of(w, &q->pharmacy_key);
			if (q->number != (uint32_t)n || q->call == NULL || asker < 0 ||
			    w->client[asker].kind != CRASH_PHARMACY || q->call->signature.len != RX_SIG_LEN ||
			    rx_verify(RX_SIGN_CALL, q->pharmacy_key.data, q->call->body.data, q->call->body.len,
				      q->call->signature.data) != RX_OK ||
			    (q->reply && q->reply->body.len &&
			     (actor_of(w, &q->prescriber_key) != r->issuer || q->reply->signature.len != RX_SIG_LEN ||
			      rx_verify(RX_SIGN_CALL, q->prescriber_key.data, q->reply->body.data, q->reply->body.len,
					q->reply->signature.data) != RX_OK))) {
				same = 0;
				break;
			}
			rx_hash(q->call->body.data, q->call->body.len, h);
			int answered = q->reply && q->reply->body.len;
			if (answered)
				rx_hash(q->reply->body.data, q->reply->body.len, g);
			same = memcmp(h, r->inq[n].call, RX_HASH_LEN) == 0 && answered == r->inq[n].replied &&
			       (!answered || memcmp(g, r->inq[n].reply, RX_HASH_LEN) == 0);
		}
		if (!same)
			violation(rep, V_INQUIRY, r->id,
				  "%s: its STATUS lists %zu inquiries that are not the %d the store keeps, signed "
				  "by their pharmacy and prescriber under its receipt's inquiries_hash",
				  r->id, rp->n_inquiries, r->inq_top);
		else
			rep->status_inquiries += r->inq_top > 0;
	} else {
		violation(rep, V_SUBMIT_LOST, r->id, "%s: its issuer's STATUS was answered %s", r->id,
			  rp ? rx_err_name((rx_err_t)rp->status) : "with bytes that do not decode");
	}
	if (rc2)
		rx__receipt__free_unpacked(rc2, NULL);
	if (rp)
		rx__reply__free_unpacked(rp, NULL);
	free(reply);
}

/* rxctl --json audit verify: 0 if the chain is whole; its entry count. */
static int audit_verify(const crash_world_t *w, check_report_t *rep)
{
	const char *rxctl = getenv("RXCTL");
	char cmd[1200], out[8192];
	if (rxctl == NULL) {
		violation(rep, V_AUDIT, NULL, "RXCTL is not set: the audit chain was not verified");
		return -1;
	}
	snprintf(cmd, sizeof cmd, "'%s' --data '%s' --json audit verify 2>&1", rxctl, w->h.dir);
	FILE *p = popen(cmd, "r");
	if (p == NULL) {
		violation(rep, V_AUDIT, NULL, "cannot run rxctl");
		return -1;
	}
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	const char *checked = strstr(out, "\"checked\":");
	if (checked)
		rep->audit_entries = atol(checked + 10);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strstr(out, "\"ok\":true") == NULL) {
		out[strcspn(out, "\n")] = '\0';
		violation(rep, V_AUDIT, NULL, "rxctl audit verify: %s", out);
		return -1;
	}
	return 0;
}

/* ---- which request each stored record came from ---- */

/* The document of a DISPENSE, AMEND or WITHDRAW request, as its journaled
 * frame carries it. */
typedef struct {
	uint8_t hash[RX_HASH_LEN]; /* of the record's body: a receipt's body_hash */
	size_t req;                /* index into the journal set */
	uint32_t use, part;        /* as the record says */
	int owing;                 /* a PARTIAL line: a part that leaves items owed */
	int stored;                /* a record of the store has this hash */
} sent_t;

static int sent_cmp(const void *a, const void *b)
{
	return memcmp(((const sent_t *)a)->hash, ((const sent_t *)b)->hash, RX_HASH_LEN);
}

static sent_t *sent_find(sent_t *v, size_t n, const uint8_t hash[RX_HASH_LEN])
{
	sent_t key;
	memcpy(key.hash, hash, RX_HASH_LEN);
	return bsearch(&key, v, n, sizeof *v, sent_cmp);
}

/* The state an OK reply's receipt reports; -1 if it has none. */
static int receipt_state(const jreq_t *q)
{
	int state = -1;
	Rx__Reply *rp = rx__reply__unpack(NULL, q->reply_len, q->reply);
	Rx__Receipt *rc = rp && rp->status == RX__STATUS__OK
				  ? rx__receipt__unpack(NULL, rp->receipt.len, rp->receipt.data)
				  : NULL;
	if (rc)
		state = (int)rc->state;
	if (rc)
		rx__receipt__free_unpacked(rc, NULL);
	if (rp)
		rx__reply__free_unpacked(rp, NULL);
	return state;
}

/* Every record the store keeps is the document of a request of the
 * pharmacy that signed it, naming its prescription, which it was told was
 * accepted or whose outcome it could not know (so the store keeps no part,
 * nor any record, that a client was told was refused or never sent); every
 * request acknowledged by a late reply only is stored; and of the parts
 * (proto/README 5.13): an acknowledged part's receipt says
 * PARTIALLY_DISPENSED exactly when it left items owed, and a part refused
 * ALREADY_DISPENSED was recorded (its use keeps that part, or is
 * complete).  Counts the parts sent, acknowledged, of unknown outcome. */
static int trace_records(const crash_world_t *w, const journal_set_t *js, rxset_t *rxs, const drecs_t *ds,
			 check_report_t *rep)
{
	sent_t *v = calloc(js->n ? js->n : 1, sizeof *v);
	size_t n = 0;
	char b1[32];
	if (v == NULL)
		return -1;
	for (size_t i = 0; i < js->n; i++) {
		const jreq_t *q = &js->req[i];
		if ((q->op != RX_OP_DISPENSE && q->op != RX_OP_AMEND && q->op != RX_OP_WITHDRAW) || q->frame == NULL)
			continue;
		Rx__Request *req = rx__request__unpack(NULL, q->frame_len, q->frame);
		Rx__DispenseRecord *rec =
			req && req->dispense.len
				? rx__dispense_record__unpack(NULL, req->dispense.len, req->dispense.data)
				: NULL;
		if (rec) {
			sent_t *x = &v[n++];
			rx_hash(req->dispense.data, req->dispense.len, x->hash);
			x->req = i;
			x->use = rec->use;
			x->part = rec->part;
			for (size_t k = 0; k < rec->n_lines; k++)
				x->owing |= rec->lines[k]->outcome == RX__OUTCOME__PARTIAL;
		} else {
			violation(rep, V_OTHER, q->rxid, "a journaled %s frame does not decode", rx_op_name(q->op));
		}
		if (rec)
			rx__dispense_record__free_unpacked(rec, NULL);
		if (req)
			rx__request__free_unpacked(req, NULL);
	}
	qsort(v, n, sizeof *v, sent_cmp);

	/* Each stored record, to the request that sent it. */
	for (size_t i = 0; i < rxs->n; i++) {
		const char *id = rxs->v[i].id;
		for (size_t e = rxs->v[i].rec_head; e; e = ds->v[e - 1].next) {
			const drec_t *d = &ds->v[e - 1];
			if (!d->opened)
				continue; /* a violation already */
			sent_t *x = sent_find(v, n, d->hash);
			if (x == NULL) {
				violation(rep, V_DISPENSE_RECORDS, id,
					  "%s: use %u: its %s (a %s%s) is the document of no request any client "
					  "sent",
					  id, d->use, where(d, b1), kind_name[d->kind], d->part ? ", a part" : "");
				continue;
			}
			const jreq_t *q = &js->req[x->req];
			x->stored = 1;
			if (q->client != d->actor || strcmp(q->rxid, id) != 0 || kind_of_op(q->op) != d->kind) {
				violation(rep, V_DISPENSE_RECORDS, id,
					  "%s: use %u: its %s is the document of a %s of %s by %s, not of this "
					  "prescription by its signer",
					  id, d->use, where(d, b1), rx_op_name(q->op), q->rxid,
					  w->client[q->client].name);
				continue;
			}
			rep->records_traced++;
			int told = (q->outcome == JR_REPLIED && q->status == RX_OK) || q->late_ok;
			int unknown = q->outcome != JR_REPLIED || (q->status != RX_OK && q->sends > 1);
			if (!told && !unknown)
				violation(rep, V_REFUSED_EFFECT, id,
					  "%s: use %u: its %s is the document of a %s%s that %s was told was "
					  "refused %s",
					  id, d->use, where(d, b1), rx_op_name(q->op), d->part ? " (a part)" : "",
					  w->client[q->client].name,
					  q->status < 0 ? "(undecodable)" : rx_err_name((rx_err_t)q->status));
		}
	}
	/* Each request, by what became of it. */
	for (size_t k = 0; k < n; k++) {
		const sent_t *x = &v[k];
		const jreq_t *q = &js->req[x->req];
		if (q->late_ok && !x->stored)
			violation(rep, V_DISPENSE_LOST, q->rxid,
				  "%s: %s acknowledged to %s by a late reply, but its record is not stored", q->rxid,
				  rx_op_name(q->op), w->client[q->client].name);
		if (q->op != RX_OP_DISPENSE || x->part == 0)
			continue;
		rep->parts_sent++;
		if (q->outcome != JR_REPLIED) {
			rep->parts_unknown++;
			rep->parts_unknown_took += x->stored;
		} else if (q->status == RX_OK) {
			int state = receipt_state(q);
			rep->parts_acked++;
			rep->parts_open_acked += x->owing;
			if ((state == RX_STATE_PARTIAL) != x->owing)
				violation(rep, V_REPLY, q->rxid,
					  "%s: the receipt of part %u, which %s items owed, says %s", q->rxid,
					  x->part, x->owing ? "left" : "left no", rx_state_name(state));
		} else if (q->status == RX_ALREADY_DISPENSED) {
			rxrec_t *r = strlen(q->rxid) == RX_ID_LEN ? rx_get(rxs, q->rxid) : NULL;
			const drec_t *seq[CHAIN_MAX];
			int gap, m = r && x->use >= 1 && x->use <= RX_MAX_USES ? use_records(ds, r, x->use, seq, &gap)
									      : 0,
				 recorded = 0;
			rep->parts_again++;
			for (int j = 0; j < m; j++)
				recorded |= seq[j]->n == 0 || (seq[j]->kind == K_DISPENSE && seq[j]->part == x->part);
			if (r && !recorded)
				violation(rep, V_PARTS, r->id,
					  "%s: part %u of use %u was refused ALREADY_DISPENSED, but the use keeps "
					  "no part %u and is not complete",
					  r->id, x->part, x->use, x->part);
		}
	}
	free(v);
	return 0;
}

/* ---- per prescription ---- */

enum { S_NONE = 0 };

/* A part's lines (proto/README 5.13) against what is owed of each item
 * before it (owed[i]: item i + 1; have: the prescribed quantities are
 * known): part 1 names every prescribed item, a later part the items still
 * owed, in increasing order; a PARTIAL line hands over at least 1 and less
 * than is owed, which it leaves owing; any other line settles the item,
 * handing over no more than is owed.  owed becomes what the part leaves. */
static void part_lines(const drec_t *d, const rxrec_t *r, unsigned u, uint32_t owed[CHECK_ITEMS], int have,
		       check_report_t *rep)
{
	char b1[32];
	size_t want = 0, k = 0;
	uint32_t prev = 0;
	for (int i = 0; have && i < r->n_items; i++)
		want += owed[i] > 0;
	for (int j = 0; j < d->nlines; j++) {
		uint32_t item = d->line[j].item, q = d->line[j].quantity, i = item - 1;
		if (item <= prev || item < 1 || item > CHECK_ITEMS || (have && (int)item > r->n_items) ||
		    (d->part == 1 && item != (uint32_t)j + 1)) {
			violation(rep, V_PARTS, r->id,
				  "%s: use %u: its %s (part %u) names item %u in line %d: not the prescribed "
				  "items in order",
				  r->id, u, where(d, b1), d->part, item, j + 1);
			return;
		}
		prev = item;
		if (!have)
			continue;
		k += owed[i] > 0;
		if (owed[i] == 0) {
			violation(rep, V_PARTS, r->id, "%s: use %u: part %u names item %u, which nothing is owed of",
				  r->id, u, d->part, item);
		} else if (d->line[j].outcome == RX__OUTCOME__PARTIAL) {
			if (q < 1 || q >= owed[i])
				violation(rep, V_PARTS, r->id,
					  "%s: use %u: part %u hands over %u of item %u in part, with %u owed",
					  r->id, u, d->part, q, item, owed[i]);
			owed[i] = q < owed[i] ? owed[i] - q : 0;
		} else {
			if (q > owed[i])
				violation(rep, V_PARTS, r->id,
					  "%s: use %u: part %u hands over %u of item %u, with only %u owed: more "
					  "than was prescribed",
					  r->id, u, d->part, q, item, owed[i]);
			owed[i] = 0;
		}
	}
	if (have && k != want)
		violation(rep, V_PARTS, r->id,
			  "%s: use %u: part %u names %zu of the %zu items owed, where it must name each",
			  r->id, u, d->part, k, want);
}

/* The records of each use of r form a chain (proto/README 5.12): a
 * DISPENSE first and after each withdrawal (a use is dispensed once at a
 * time), every other record an AMEND or WITHDRAW by the pharmacy whose
 * record it replaces, naming that record by its hash; no record twice (a
 * body both current and superseded); kept records numbered 1.. without a
 * gap (STATUS stops at one); a withdrawal is never current (it gave the
 * use back), and a use with kept records but no current one ends in a
 * withdrawal (else what replaced them is lost) or in a part that left
 * items owed.
 *
 * A use handed over in parts (5.13): parts 1..k once each and in order,
 * by one pharmacy, never amended nor withdrawn; every part but the last
 * leaves items owed and is kept (not current), the last completes the use
 * as its current record, or the use is still owed: it is then the
 * prescription's current use, PARTIALLY_DISPENSED, and (the other way
 * round) a PARTIALLY_DISPENSED prescription's current use ends in such a
 * part.  Each part's lines against what is owed (part_lines).  Counts each
 * use's records by kind into r->kept. */
static void check_chains(const drecs_t *ds, rxrec_t *r, check_report_t *rep)
{
	char b1[32], b2[32];
	int have = r->status_ok && r->n_items >= 1 && r->n_items <= CHECK_ITEMS;
	unsigned owed_use = r->status_ok && r->state == RX_STATE_PARTIAL ? (unsigned)(r->uses - r->uses_left + 1) : 0;
	for (unsigned u = 1; u <= RX_MAX_USES; u++) {
		const drec_t *seq[CHAIN_MAX];
		uint32_t owed[CHECK_ITEMS] = {0};
		int gap, n = use_records(ds, r, u, seq, &gap), parts = 0;
		if (gap)
			violation(rep, V_CHAIN, r->id,
				  "%s: use %u keeps replaced records after number %d but not %d itself", r->id, u,
				  gap, gap);
		if (n == 0 || r->unopened) {
			if (u == owed_use && !r->unopened)
				violation(rep, V_PARTS, r->id,
					  "%s: PARTIALLY_DISPENSED, but its use %u keeps no part", r->id, u);
			continue; /* what did not open is a violation already */
		}
		if (n > 1)
			rep->uses_chained++;
		for (int i = 0; i < n; i++) {
			const drec_t *d = seq[i], *prev = i ? seq[i - 1] : NULL;
			r->kept[u][d->kind]++;
			for (int j = 0; j < i; j++)
				if (memcmp(seq[j]->hash, d->hash, RX_HASH_LEN) == 0)
					violation(rep, V_CHAIN, r->id,
						  "%s: use %u: its %s is the same record as its %s: %s", r->id,
						  u, where(d, b1), where(seq[j], b2),
						  d->n == 0 ? "a record both current and superseded"
							    : "a record kept twice");
			if (d->kind == K_DISPENSE && d->part != d->row_part)
				violation(rep, V_PARTS, r->id,
					  "%s: use %u: its %s is part %u, but its row says part %u", r->id, u,
					  where(d, b1), d->part, d->row_part);
			if (prev && open_part(prev)) {
				/* only the next part follows a part that left items owed */
				if (d->kind != K_DISPENSE)
					violation(rep, V_PARTS, r->id,
						  "%s: use %u: its %s is %s %s of a use handed over in parts "
						  "(after part %u)",
						  r->id, u, where(d, b1), d->kind == K_AMEND ? "an" : "a",
						  kind_name[d->kind], prev->part);
				else if (d->part != prev->part + 1)
					violation(rep, V_PARTS, r->id,
						  "%s: use %u: its %s is %s%u after part %u: %s", r->id, u,
						  where(d, b1), d->part ? "part " : "a whole record, part ", d->part,
						  prev->part,
						  d->part && d->part <= prev->part
							  ? "a part recorded twice"
							  : "not the next part");
				if (d->kind == K_DISPENSE && d->actor != prev->actor)
					violation(rep, V_PARTS, r->id,
						  "%s: use %u: its %s (part %u) is by another pharmacy than part %u",
						  r->id, u, where(d, b1), d->part, prev->part);
			} else if (prev == NULL || prev->kind == K_WITHDRAW) {
				if (d->kind != K_DISPENSE)
					violation(rep, V_CHAIN, r->id,
						  "%s: use %u: its %s is %s %s %s, where only a DISPENSE can be",
						  r->id, u, where(d, b1), d->kind == K_AMEND ? "an" : "a",
						  kind_name[d->kind], prev ? "after a withdrawal" : "first");
				else if (d->part > 1)
					violation(rep, V_PARTS, r->id,
						  "%s: use %u: its %s is part %u, with no part before it", r->id, u,
						  where(d, b1), d->part);
			} else if (d->kind == K_DISPENSE) {
				violation(rep, V_CHAIN, r->id,
					  "%s: use %u: its %s is a second DISPENSE while the use was dispensed "
					  "(after its %s, no withdrawal between): the use dispensed twice",
					  r->id, u, where(d, b1), where(prev, b2));
			} else {
				if (prev->kind == K_DISPENSE && prev->part)
					violation(rep, V_PARTS, r->id,
						  "%s: use %u: its %s is %s %s of part %u: a use handed over in "
						  "parts is not amended nor withdrawn",
						  r->id, u, where(d, b1), d->kind == K_AMEND ? "an" : "a",
						  kind_name[d->kind], prev->part);
				if (memcmp(d->replaces, prev->hash, RX_HASH_LEN) != 0)
					violation(rep, V_CHAIN, r->id,
						  "%s: use %u: its %s (%s) replaces another record than its %s, "
						  "the one before it",
						  r->id, u, where(d, b1), kind_name[d->kind], where(prev, b2));
				if (d->actor != prev->actor)
					violation(rep, V_CHAIN, r->id,
						  "%s: use %u: its %s (%s) is by another pharmacy than its %s, "
						  "which it replaces",
						  r->id, u, where(d, b1), kind_name[d->kind], where(prev, b2));
			}
			if (d->kind != K_DISPENSE || d->part == 0) {
				if (d->kind == K_DISPENSE && d->owing)
					violation(rep, V_PARTS, r->id,
						  "%s: use %u: its %s is a whole use that leaves items owed", r->id, u,
						  where(d, b1));
				continue;
			}
			/* a part */
			rep->part_records++;
			parts++;
			if (d->part == 1)
				for (int k = 0; have && k < r->n_items; k++)
					owed[k] = r->quantity[k];
			part_lines(d, r, u, owed, have, rep);
			if (d->part == 1 && !d->owing)
				violation(rep, V_PARTS, r->id, "%s: use %u: part 1 leaves nothing owed", r->id, u);
			if (d->owing && d->n == 0)
				violation(rep, V_PARTS, r->id,
					  "%s: use %u: part %u leaves items owed, but is the use's current record "
					  "(the use counts as dispensed)",
					  r->id, u, d->part);
			else if (!d->owing && d->n != 0)
				violation(rep, V_PARTS, r->id,
					  "%s: use %u: part %u completes the use, but is kept as %s", r->id, u,
					  d->part, where(d, b1));
		}
		const drec_t *last = seq[n - 1];
		if (parts) {
			rep->uses_in_parts++;
			if (last->n == 0 && last->kind == K_DISPENSE && last->part) {
				rep->uses_completed++;
				for (int j = 0; j < last->nlines; j++)
					if (last->line[j].outcome == RX__OUTCOME__NOT_DISPENSED) {
						rep->uses_closed++;
						break;
					}
			}
		}
		if (last->n == 0 && last->kind == K_WITHDRAW)
			violation(rep, V_CHAIN, r->id,
				  "%s: use %u: a withdrawal is its current record (the use counts as dispensed)",
				  r->id, u);
		if (last->n != 0 && open_part(last)) {
			/* still owed; or the prescriber cancelled meanwhile and the
			 * pharmacy's RELEASE completed the cancel (5.13) */
			int cancelled = r->status_ok && r->state == RX_STATE_CANCELLED &&
					u == (unsigned)(r->uses - r->uses_left + 1);
			rep->uses_owed += !cancelled;
			rep->uses_cancelled += cancelled;
			if (r->status_ok && u != owed_use && !cancelled)
				violation(rep, V_PARTS, r->id,
					  "%s: use %u ends in part %u, which left items owed, but the prescription is "
					  "%s%s",
					  r->id, u, last->part, rx_state_name(r->state),
					  r->state == RX_STATE_PARTIAL || r->state == RX_STATE_CANCELLED
						  ? " in another use"
						  : "");
		} else if (u == owed_use) {
			violation(rep, V_PARTS, r->id,
				  "%s: PARTIALLY_DISPENSED, but its use %u ends in its %s, not in a part that "
				  "left items owed",
				  r->id, u, where(last, b1));
		} else if (last->n != 0 && last->kind != K_WITHDRAW) {
			violation(rep, V_CHAIN, r->id,
				  "%s: use %u has no current record, and its last one (%s, a %s) is no "
				  "withdrawal: the record that replaced it is lost",
				  r->id, u, where(last, b1), kind_name[last->kind]);
		}
	}
}

/* The DISPENSE-kind records of use u of r, in the order they were made:
 * the records its accepted DISPENSEs made, one each; how many into out. */
static int use_dispenses(const drecs_t *ds, const rxrec_t *r, unsigned u, const drec_t *out[CHAIN_MAX])
{
	const drec_t *seq[CHAIN_MAX];
	int gap, n = use_records(ds, r, u, seq, &gap), k = 0;
	for (int i = 0; i < n; i++)
		if (seq[i]->kind == K_DISPENSE)
			out[k++] = seq[i];
	return k;
}

/* Replay the accepted changes of r's audit history through the state
 * machine; the result must be what the broker reports, and the records
 * each use keeps what its accepted DISPENSEs, AMENDs and WITHDRAWs made.
 * The audit log does not say whether a DISPENSE was a part that left items
 * owed: the record it made does, the use's next DISPENSE record in ds (the
 * chains check that they are the accepted ones, in order). */
/* ---- what the prescriber agreed to (5.14) ---- */

/* 1 if handing over code for item i (from 0) of r is a change the item's
 * marks refuse, by the codes as proto/README 5.10 compares them without
 * a drug master: no_change any other product, no_form_change another
 * dosage-form letter (the 8th character), no_strength_change other first
 * 9 characters.  (The workload marks item 1 no_strength_change.) */
static int marks_refuse(const rxrec_t *r, uint32_t i, const char *code)
{
	const char *want = r->code[i];
	if (code[0] == 0 || strcmp(code, want) == 0)
		return 0;
	if (r->no_change[i])
		return 1;
	if (r->no_form[i] && (strlen(code) < 8 || strlen(want) < 8 || code[7] != want[7]))
		return 1;
	return r->no_strength[i] && strncmp(code, want, 9) != 0;
}

/* 1 if inquiry n of r, as the store keeps it, agreed to a change that
 * covers line k of d: the same item, handed over as the product agreed
 * to, or not dispensed when it agreed to none. */
static int covered(const rxrec_t *r, uint32_t n, const drec_t *d, int k)
{
	if (n < 1 || n > RX_MAX_INQUIRIES || !r->inq[n].stored || !r->inq[n].agreed)
		return 0;
	for (int c = 0; c < r->inq[n].nagreed; c++) {
		const char *to = r->inq[n].change[c].code;
		if (r->inq[n].change[c].item != d->line[k].item)
			continue;
		int none = d->line[k].outcome == RX__OUTCOME__NOT_DISPENSED;
		return to[0] == 0 ? none : !none && strcmp(to, d->line[k].code) == 0;
	}
	return 0;
}

/* Whether the record d (of r, whose STATUS gave its items) follows what
 * the prescriber agreed to: it cites no inquiry, or one agreed (ACCEPT by
 * telephone or answered); and every line with reason INQUIRY, or handing
 * over a product the item's marks refuse, is covered by a change the
 * cited inquiry agreed.  0 if so; else the line (from 1) that is not, or
 * -1 when the cited inquiry agreed to nothing.  *needed: lines that
 * needed an agreed change. */
static int not_agreed(const rxrec_t *r, const drec_t *d, int *needed)
{
	*needed = 0;
	if (d->inquiry && (d->inquiry > RX_MAX_INQUIRIES || !r->inq[d->inquiry].agreed))
		return -1;
	for (int k = 0; k < d->nlines; k++) {
		uint32_t i = d->line[k].item - 1;
		int needs = d->line[k].reason == RX__LINE_REASON__INQUIRY ||
			    (i < CHECK_ITEMS && (int)i < r->n_items && marks_refuse(r, i, d->line[k].code));
		if (!needs)
			continue;
		(*needed)++;
		if (!d->inquiry || !covered(r, d->inquiry, d, k))
			return k + 1;
	}
	return 0;
}

/* Every record r keeps follows what its prescriber agreed to (5.14). */
static void check_agreed(const drecs_t *ds, const rxrec_t *r, check_report_t *rep)
{
	char b1[32];
	if (r->n_items < 1 || r->n_items > CHECK_ITEMS)
		return;
	for (size_t e = r->rec_head; e; e = ds->v[e - 1].next) {
		const drec_t *d = &ds->v[e - 1];
		int needed, bad;
		if (!d->opened)
			continue;
		bad = not_agreed(r, d, &needed);
		if (bad < 0)
			violation(rep, V_NOT_AGREED, r->id,
				  "%s: use %u: its %s cites inquiry %u, which agreed to no change: it must have been "
				  "refused NOT_AGREED",
				  r->id, d->use, where(d, b1), d->inquiry);
		else if (bad > 0)
			violation(rep, V_NOT_AGREED, r->id,
				  "%s: use %u: its %s hands item %u over as %s (line %d), a change %s: it must have "
				  "been refused NOT_AGREED",
				  r->id, d->use, where(d, b1), d->line[bad - 1].item,
				  d->line[bad - 1].code[0] ? d->line[bad - 1].code : "nothing", bad,
				  d->inquiry ? "no change its cited inquiry agreed covers" : "citing no inquiry");
		else
			rep->changes_covered += needed;
	}
}

/* Every DISPENSE a pharmacy was told was refused NOT_AGREED (its first
 * reply, or a late one) cites an inquiry whose agreement, as the store
 * keeps it, does not cover its record, and its record is not kept; a
 * record of the same kind whose outcome the pharmacy could not know is
 * counted (check_agreed finds it if it was kept). */
static void check_refused_not_agreed(const journal_set_t *js, rxset_t *rxs, const drecs_t *ds,
				     check_report_t *rep)
{
	for (size_t i = 0; i < js->n; i++) {
		const jreq_t *q = &js->req[i];
		int refused = q->outcome == JR_REPLIED && q->status == RX_NOT_AGREED;
		int unknown = q->outcome != JR_REPLIED;
		if (q->op != RX_OP_DISPENSE || (!refused && !unknown) || q->frame == NULL ||
		    strlen(q->rxid) != RX_ID_LEN)
			continue;
		rxrec_t *r = rx_get(rxs, q->rxid);
		if (r == NULL || !r->stored || !r->status_ok || r->n_items < 1 || r->n_items > CHECK_ITEMS)
			continue;
		Rx__Request *req = rx__request__unpack(NULL, q->frame_len, q->frame);
		Rx__DispenseRecord *rec = req && req->dispense.len ? rx__dispense_record__unpack(
									   NULL, req->dispense.len, req->dispense.data)
								   : NULL;
		if (rec && rec->n_lines <= CHECK_ITEMS) {
			drec_t d;
			int needed;
			memset(&d, 0, sizeof d);
			d.inquiry = (uint8_t)(rec->inquiry > 255 ? 255 : rec->inquiry);
			lines_of(rec, &d);
			uint8_t h[RX_HASH_LEN];
			rx_hash(req->dispense.data, req->dispense.len, h);
			int kept = 0;
			for (size_t e = r->rec_head; e && !kept; e = ds->v[e - 1].next)
				kept = ds->v[e - 1].opened && memcmp(ds->v[e - 1].hash, h, RX_HASH_LEN) == 0;
			int bad = not_agreed(r, &d, &needed);
			if (refused) {
				rep->not_agreed_refused++;
				if (bad == 0)
					violation(rep, V_NOT_AGREED, r->id,
						  "%s: a DISPENSE of use %u citing inquiry %u was refused NOT_AGREED, "
						  "but that inquiry agreed to every change it makes",
						  r->id, rec->use, rec->inquiry);
				if (kept)
					violation(rep, V_NOT_AGREED, r->id,
						  "%s: a DISPENSE of use %u refused NOT_AGREED is kept as a record of it",
						  r->id, rec->use);
			} else if (bad != 0 && rec->inquiry) {
				rep->not_agreed_unknown++;
			}
		}
		if (rec)
			rx__dispense_record__free_unpacked(rec, NULL);
		if (req)
			rx__request__free_unpacked(req, NULL);
	}
}

static void replay(const entries_t *es, const drecs_t *ds, rxrec_t *r, check_report_t *rep)
{
	int state = S_NONE, claimer = -1, pending = 0, left = 0, done = 0, issuer = -1;
	int dispenser[RX_MAX_USES + 1] = {0}; /* the client that dispensed each use, last */
	int in_parts[RX_MAX_USES + 1] = {0};  /* the use was completed by a part */
	int made[RX_MAX_USES + 1] = {0};      /* DISPENSE records of each use replayed so far */
	const drec_t *recs[RX_MAX_USES + 1][CHAIN_MAX];
	int nrecs[RX_MAX_USES + 1] = {0};
	/* inquiries (5.14): asked so far, the open one, answered (ACCEPT...) */
	int asked = 0, open = 0, answered[RX_MAX_INQUIRIES + 1] = {0};
	char ibad[160];
	for (unsigned u = 1; u <= RX_MAX_USES; u++)
		nrecs[u] = use_dispenses(ds, r, u, recs[u]);
	for (size_t e = r->entry_head; e; e = es->v[e - 1].next) {
		const entry_t *en = &es->v[e - 1];
		if (en->op == RX_OP_INQUIRE && en->outcome == RX_INVALID) {
			/* the workload's INQUIREs are well formed: INVALID is the
			 * 17th (5.14), never one before */
			rep->inquiries_over++;
			if (asked < RX_MAX_INQUIRIES)
				violation(rep, V_INQUIRY, r->id,
					  "%s: audit entry %llu: INQUIRE refused INVALID with only %d inquiries "
					  "accepted before it: the limit is %d",
					  r->id, (unsigned long long)en->seq, asked, RX_MAX_INQUIRIES);
		}
		if (en->outcome != RX_OK || en->op == 0)
			continue;
		const char *bad = NULL;
		rep->changes_replayed++;
		switch (en->op) {
		case RX_OP_SUBMIT:
			if (state != S_NONE)
				bad = "accepted a second time";
			state = RX_STATE_ISSUED;
			left = r->uses;
			issuer = en->actor;
			break;
		case RX_OP_CLAIM:
			/* the holder claiming again gets its own claim back, also
			 * while it owes part of the use (5.13) */
			if (state == RX_STATE_ISSUED) {
				state = RX_STATE_CLAIMED;
				claimer = en->actor;
			} else if ((state != RX_STATE_CLAIMED && state != RX_STATE_PARTIAL) || claimer != en->actor ||
				   pending) {
				bad = (state == RX_STATE_CLAIMED || state == RX_STATE_PARTIAL) && claimer != en->actor
					      ? "claimed by a second pharmacy while another held the claim"
					      : "claimed when it could not be";
			}
			break;
		case RX_OP_RELEASE:
			if ((state != RX_STATE_CLAIMED && state != RX_STATE_PARTIAL) || claimer != en->actor)
				bad = "released by a pharmacy that did not hold the claim";
			else if (state == RX_STATE_PARTIAL && !pending)
				bad = "released while part of its use was owed, no cancel pending";
			state = pending ? RX_STATE_CANCELLED : RX_STATE_ISSUED;
			claimer = -1;
			pending = 0;
			break;
		case RX_OP_DISPENSE: {
			if ((state != RX_STATE_CLAIMED && state != RX_STATE_PARTIAL) || claimer != en->actor ||
			    pending || left <= 0)
				bad = "dispensed by a pharmacy that did not hold a claim it could dispense";
			if (done >= RX_MAX_USES) {
				bad = "dispensed a use after the last";
				break;
			}
			/* what the audit log accepted happened: follow it on */
			int u = done + 1;
			const drec_t *d = made[u] < nrecs[u] ? recs[u][made[u]] : NULL;
			made[u]++;
			r->accepted[u][K_DISPENSE]++;
			if (open && !bad) {
				snprintf(ibad, sizeof ibad, "accepted while inquiry %d waited for its answer", open);
				bad = ibad;
			}
			if (d && d->inquiry) {
				int i = d->inquiry;
				rep->dispenses_citing++;
				rep->parts_citing += d->part > 0;
				int agreed = i <= asked && i <= RX_MAX_INQUIRIES &&
					     ((r->inq[i].by_phone && r->inq[i].outcome == RX__ANSWER__ANSWER_ACCEPT) ||
					      answered[i] == RX__ANSWER__ANSWER_ACCEPT);
				if (!agreed && !bad) {
					snprintf(ibad, sizeof ibad,
						 "accepted a record citing inquiry %d before (or without) its ACCEPT", i);
					bad = ibad;
				}
			}
			if (d && open_part(d)) {
				/* part of the use handed over, the claim kept */
				state = RX_STATE_PARTIAL;
				break;
			}
			done++;
			dispenser[done] = en->actor;
			in_parts[done] = d && d->part;
			left--;
			state = left > 0 ? RX_STATE_ISSUED : RX_STATE_DISPENSED;
			claimer = -1;
			break;
		}
		case RX_OP_AMEND:
		case RX_OP_WITHDRAW:
			/* Only the current record of the latest dispensed use, by the
			 * pharmacy (here: the key) that dispensed it, and not of a
			 * use handed over in parts. */
			if (done < 1) {
				bad = "accepted with no use dispensed";
				break;
			}
			if (en->actor != dispenser[done])
				bad = "accepted from another than the pharmacy that dispensed the latest use";
			else if (in_parts[done])
				bad = "accepted for a use handed over in parts";
			r->accepted[done][kind_of_op(en->op)]++;
			if (en->op == RX_OP_AMEND) {
				rep->amends_while_owed += state == RX_STATE_PARTIAL;
				break;
			}
			/* The use is back, claimed by the caller (5.12): not over a
			 * cancel, nor over another pharmacy's claim, which would be
			 * taken from it unasked, nor while the next use is owed. */
			if (state == RX_STATE_CANCELLED)
				bad = "accepted after the prescriber had cancelled it: it is claimed again";
			else if (state == RX_STATE_PARTIAL)
				bad = "accepted while the next use was handed over in parts";
			else if (state == RX_STATE_CLAIMED && claimer != en->actor)
				bad = "accepted while another pharmacy held the claim, which it lost";
			done--;
			left++;
			state = RX_STATE_CLAIMED;
			claimer = en->actor;
			break;
		case RX_OP_INQUIRE:
			if ((state != RX_STATE_CLAIMED && state != RX_STATE_PARTIAL) || claimer != en->actor || pending)
				bad = "accepted from a pharmacy that did not hold a claim it could ask about";
			rep->inquiries_between += state == RX_STATE_PARTIAL;
			if (++asked > RX_MAX_INQUIRIES || !r->inq[asked].stored) {
				snprintf(ibad, sizeof ibad, "accepted, but the store keeps no inquiry %d", asked);
				violation(rep, V_INQUIRY, r->id, "%s: audit entry %llu: INQUIRE %s", r->id,
					  (unsigned long long)en->seq, ibad);
				break;
			}
			if (r->inq[asked].by_phone)
				break;
			if (open)
				bad = "opened a second inquiry while one was open";
			open = asked;
			break;
		case RX_OP_INQUIRY_REPLY:
			if (en->actor != issuer)
				bad = "answered by another than its prescriber";
			if (!open) {
				violation(rep, V_INQUIRY, r->id,
					  "%s: audit entry %llu: INQUIRY_REPLY accepted with no inquiry open (answered "
					  "twice?)",
					  r->id, (unsigned long long)en->seq);
				break;
			}
			if (!r->inq[open].replied) {
				violation(rep, V_INQUIRY, r->id,
					  "%s: audit entry %llu: INQUIRY_REPLY of inquiry %d accepted, but the store "
					  "keeps no answer to it",
					  r->id, (unsigned long long)en->seq, open);
			} else {
				answered[open] = r->inq[open].answer;
				if (r->inq[open].answer == RX__ANSWER__ANSWER_CANCEL) {
					/* as the issuer's CANCEL */
					if (state == RX_STATE_ISSUED)
						state = RX_STATE_CANCELLED;
					else if (state == RX_STATE_CLAIMED || state == RX_STATE_PARTIAL)
						pending = 1;
				}
			}
			open = 0;
			break;
		case RX_OP_CANCEL:
			open = 0; /* the inquiry is moot */
			if (en->actor != issuer)
				bad = "cancelled by another than its prescriber";
			if (state == RX_STATE_ISSUED)
				state = RX_STATE_CANCELLED;
			else if ((state == RX_STATE_CLAIMED || state == RX_STATE_PARTIAL) && !pending)
				pending = 1;
			else
				bad = "cancelled when it could not be";
			break;
		default:
			break;
		}
		if (bad)
			violation(rep, V_STATE, r->id, "%s: audit entry %llu: %s %s", r->id,
				  (unsigned long long)en->seq, rx_op_name(en->op), bad);
	}
	if (r->inq_top != asked)
		violation(rep, V_INQUIRY, r->id, "%s: the store keeps inquiries up to %d, the audit log accepted %d",
			  r->id, r->inq_top, asked);
	for (int i = 1; i <= r->inq_top; i++)
		if (!r->inq[i].stored)
			violation(rep, V_INQUIRY, r->id, "%s: inquiries 1..%d kept, but not %d", r->id, r->inq_top, i);
		else if (r->inq[i].replied && !answered[i])
			violation(rep, V_INQUIRY, r->id,
				  "%s: inquiry %d keeps an answer no accepted INQUIRY_REPLY gave", r->id, i);
	if (state != r->state || left != r->uses_left || pending != r->cancel_pending)
		violation(rep, V_STATE, r->id,
			  "%s: the broker says %s, uses left %d%s; its accepted changes say %s, %d%s", r->id,
			  rx_state_name(r->state), r->uses_left, r->cancel_pending ? ", cancel pending" : "",
			  rx_state_name(state), left, pending ? ", cancel pending" : "");
	unsigned want = 0;
	for (int u = 1; u <= done; u++)
		want |= 1u << u;
	if (r->uses_mask != want || done != r->uses - r->uses_left) {
		char uses[16] = "";
		for (int u = 1; u <= RX_MAX_USES; u++)
			if (r->uses_mask & (1u << u))
				snprintf(uses + strlen(uses), sizeof uses - strlen(uses), "%s%d",
					 uses[0] ? "," : "", u);
		violation(rep, V_DISPENSE_RECORDS, r->id,
			  "%s: current dispense records for uses {%s}, but %d uses dispensed by the accepted "
			  "changes and %d of %d uses gone",
			  r->id, uses, done, r->uses - r->uses_left, r->uses);
	}
	for (int u = 1; u <= RX_MAX_USES && !r->unopened; u++)
		if (memcmp(r->kept[u], r->accepted[u], sizeof r->kept[u]) != 0)
			violation(rep, V_DISPENSE_RECORDS, r->id,
				  "%s: use %d keeps %d DISPENSE, %d AMEND and %d WITHDRAW records; the audit "
				  "log accepted %d, %d and %d",
				  r->id, u, r->kept[u][K_DISPENSE], r->kept[u][K_AMEND], r->kept[u][K_WITHDRAW],
				  r->accepted[u][K_DISPENSE], r->accepted[u][K_AMEND],
				  r->accepted[u][K_WITHDRAW]);
	if (done)
		rep->dispensed_rx++;
}

/* The changes the audit log accepted against what the clients were told. */
static void compare_counts(const crash_world_t *w, const journal_set_t *js, const size_t *req_next,
			   const entries_t *es, const rxrec_t *r, check_report_t *rep)
{
	enum { OPS = RX_OP_LAST + 1 };
	static long audit_ok[CRASH_MAX_CLIENTS][OPS], audit_refused[CRASH_MAX_CLIENTS][OPS][RX_WIRE_LAST + 1];
	static long acked[CRASH_MAX_CLIENTS][OPS], maybe[CRASH_MAX_CLIENTS][OPS],
		told[CRASH_MAX_CLIENTS][OPS][RX_WIRE_LAST + 1];
	memset(audit_ok, 0, sizeof audit_ok);
	memset(audit_refused, 0, sizeof audit_refused);
	memset(acked, 0, sizeof acked);
	memset(maybe, 0, sizeof maybe);
	memset(told, 0, sizeof told);

	for (size_t e = r->entry_head; e; e = es->v[e - 1].next) {
		const entry_t *en = &es->v[e - 1];
		if (en->op == RX_OP_SUBMIT || !is_change(en->op))
			continue;
		if (en->actor < 0) {
			violation(rep, V_STATE, r->id, "%s: audit entry %llu: %s by a key no client holds",
				  r->id, (unsigned long long)en->seq, rx_op_name(en->op));
			continue;
		}
		if (en->outcome == RX_OK)
			audit_ok[en->actor][en->op]++;
		else if (en->outcome > 0 && en->outcome <= RX_WIRE_LAST)
			audit_refused[en->actor][en->op][en->outcome]++;
	}
	for (size_t i = r->req_head; i; i = req_next[i - 1]) {
		const jreq_t *q = &js->req[i - 1];
		if (q->op == RX_OP_SUBMIT || !is_change(q->op))
			continue;
		if (q->outcome != JR_REPLIED || q->late_ok) {
			/* Unknown, or refused and then (a duplicate copy) accepted. */
			if (q->late_ok)
				acked[q->client][q->op]++;
			else
				maybe[q->client][q->op]++;
			continue;
		}
		if (q->status == RX_OK) {
			acked[q->client][q->op]++;
		} else if (q->status > 0) {
			told[q->client][q->op][q->status]++;
			/* Copies of it sent before the refusal may be evaluated
			 * after it, and so may yet have been accepted. */
			if (q->sends > 1)
				maybe[q->client][q->op]++;
		}
	}
	for (int c = 0; c < w->nclients; c++)
		for (int op = RX_OP_CLAIM; op <= RX_OP_LAST; op++) {
			if (!is_change(op))
				continue;
			if (audit_ok[c][op] < acked[c][op])
				violation(
					rep, V_STATE, r->id,
					"%s: %s acknowledged %ld time(s) to %s, the audit log accepted it %ld time(s)",
					r->id, rx_op_name(op), acked[c][op], w->client[c].name,
					audit_ok[c][op]);
			if (audit_ok[c][op] > acked[c][op] + maybe[c][op])
				violation(rep, V_REFUSED_EFFECT, r->id,
					  "%s: the audit log accepted %ld %s by %s, which was told of %ld "
					  "(and %ld of unknown outcome): a refused request took effect",
					  r->id, audit_ok[c][op], rx_op_name(op), w->client[c].name,
					  acked[c][op], maybe[c][op]);
			for (int s = 1; s <= RX_WIRE_LAST; s++)
				if (audit_refused[c][op][s] < told[c][op][s])
					violation(
						rep, V_REFUSAL_UNRECORDED, r->id,
						"%s: %s was told %ld time(s) that %s was refused %s; the audit log "
						"recorded %ld",
						r->id, w->client[c].name, told[c][op][s], rx_op_name(op),
						rx_err_name((rx_err_t)s), audit_refused[c][op][s]);
		}
}

/* The failover drill (README "The failover drill"): a change acknowledged
 * by node j (the reply came by its socket: journaled as EPOCH1) was
 * committed and fsync'd before it replied, so before its freeze; every
 * copy a survivor k > j started on must hold its stored reply, as the
 * replica of DRBD protocol C does.  A request sent to an earlier node and
 * answered by node k was in hand at a failover: the copy k tells whether
 * the frozen node had committed it (the survivor answered from the stored
 * reply) or not (the survivor did it). */
static void check_copies(const crash_world_t *w, const journal_set_t *js, check_report_t *rep)
{
	rep->failovers = w->ncopies;
	for (size_t i = 0; i < js->n; i++) {
		const jreq_t *q = &js->req[i];
		if (q->outcome != JR_REPLIED)
			continue;
		int accepted = q->status == RX_OK && is_change(q->op);
		uint64_t key = failover_key(w->client[q->client].key.pk, q->rid);
		if (q->epoch1 > q->epoch0) {
			rep->in_hand++;
			if (accepted && q->epoch1 >= 1 && q->epoch1 <= w->ncopies) {
				if (failover_holds(&w->copies[q->epoch1 - 1], key))
					rep->in_hand_committed++;
				else
					rep->in_hand_done_after++;
			}
		}
		if (!accepted || q->epoch1 >= w->ncopies)
			continue;
		rep->acked_by_frozen++;
		int lost = 0;
		for (int k = q->epoch1 + 1; k <= w->ncopies && !lost; k++) {
			const crash_copy_t *c = &w->copies[k - 1];
			rep->copy_lookups++;
			if (!failover_holds(c, key)) {
				lost = 1;
				violation(rep, V_FAILOVER, q->rxid[0] ? q->rxid : NULL,
					  "%s%s%s acknowledged to %s by node %d is not in the copy survivor %d "
					  "started on%s: an acknowledged change lost by the failover",
					  rx_op_name(q->op), q->rxid[0] ? " of " : "", q->rxid,
					  w->client[q->client].name, q->epoch1, k,
					  c->stale ? " (the stale replica)" : "");
			}
		}
		rep->acked_in_copies += !lost;
	}
}

int check_history(crash_world_t *w, void *zctx, check_report_t *rep)
{
	journal_set_t js;
	rxset_t rxs = {0};
	drecs_t ds = {0};
	entries_t es = {0};
	size_t *req_next = NULL;
	conn_t conns[CRASH_MAX_CLIENTS];
	const char *names[CRASH_MAX_CLIENTS];
	char why[300];
	uint8_t broker_key[RX_KEY_LEN];
	int have_broker_key = 0, ret = -1, conns_open = 0;
	long submits_acked[CRASH_MAX_CLIENTS] = {0}, submits_maybe[CRASH_MAX_CLIENTS] = {0},
	     submits_stored[CRASH_MAX_CLIENTS] = {0};

	memset(rep, 0, sizeof *rep);
	for (int c = 0; c < w->nclients; c++)
		names[c] = w->client[c].name;
	if (journal_load(w->journals, names, w->nclients, &js, why, sizeof why) != 0) {
		printf("crash: %s\n", why);
		goto out;
	}
	rep->journal_lines = js.lines;
	if ((req_next = calloc(js.n ? js.n : 1, sizeof *req_next)) == NULL)
		goto out;

	/* 1. Each request as its journal tells it. */
	for (size_t i = 0; i < js.n; i++) {
		jreq_t *q = &js.req[i];
		rep->requests++;
		rep->late += q->late > 0;
		rep->late_ok += q->late_ok;
		if (q->outcome != JR_REPLIED) {
			rep->lost++;
			if (q->op == RX_OP_SUBMIT)
				submits_maybe[q->client]++;
		} else {
			decoded_t d;
			rep->replied++;
			rep->resent += q->sends > 1;
			rep->crossed_restart += q->sends > 1 && q->epoch1 > q->epoch0;
			if (q->late_differs)
				violation(
					rep, V_REPLY, NULL,
					"a late duplicate reply to an acknowledged %s differs from the first",
					rx_op_name(q->op));
			decode_reply(w, q, broker_key, &have_broker_key, &d);
			if (d.status != q->status && !(d.status == -1 && q->status == -1))
				violation(rep, V_REPLY, NULL,
					  "a journaled %s reply says %s but its bytes say %s",
					  rx_op_name(q->op),
					  q->status < 0 ? "undecodable" : rx_err_name((rx_err_t)q->status),
					  d.status < 0 ? "undecodable" : rx_err_name((rx_err_t)d.status));
			if (d.status < 0) {
				violation(rep, V_REPLY, NULL,
					  "a reply to %s does not decode, or its receipt does not verify or "
					  "answer the request",
					  rx_op_name(q->op));
			} else if (!ok_expected(q->op, d.status)) {
				violation(rep, V_REPLY, NULL,
					  "%s%s%s was refused %s, which this workload never provokes",
					  rx_op_name(q->op), q->rxid[0] ? " of " : "", q->rxid,
					  rx_err_name((rx_err_t)d.status));
			}
			if (d.receipt && !names_document(q, d.receipt))
				violation(rep, V_REPLY, NULL,
					  "the receipt of an acknowledged %s%s%s does not name the document its "
					  "frame carries",
					  rx_op_name(q->op), q->rxid[0] ? " of " : "", q->rxid);
			if (d.status == RX_OK) {
				rep->ok++;
			} else if (d.status > 0) {
				rep->refused++;
				if (q->op >= 1 && q->op <= RX_OP_LAST)
					rep->refusals[q->op][d.status]++;
				if (q->op == RX_OP_SUBMIT && (q->sends > 1 || q->late_ok))
					submits_maybe[q->client]++;
			}
			if (d.receipt && q->op == RX_OP_SUBMIT) {
				rxrec_t *r = strlen(d.receipt->prescription_id) == RX_ID_LEN
						     ? rx_get(&rxs, d.receipt->prescription_id)
						     : NULL;
				if (r == NULL || d.receipt->body_hash.len != RX_HASH_LEN) {
					violation(rep, V_REPLY, NULL,
						  "a SUBMIT receipt names no prescription or body hash");
				} else {
					r->submits_acked++;
					memcpy(r->submit_hash, d.receipt->body_hash.data, RX_HASH_LEN);
					rep->submits_acked++;
					submits_acked[q->client]++;
				}
			}
			if (d.receipt && q->op == RX_OP_DISPENSE)
				rep->dispenses_acked++;
			if (d.receipt && q->op == RX_OP_AMEND)
				rep->amends_acked++;
			if (d.receipt && (q->op == RX_OP_AMEND || q->op == RX_OP_WITHDRAW))
				rep->amends_crossed += q->sends > 1 && q->epoch1 > q->epoch0;
			if (d.receipt && q->op == RX_OP_WITHDRAW) {
				rep->withdraws_acked++;
				/* the use is back, claimed by the caller under a new token */
				if (d.receipt->claim_token.len != RX_TOKEN_LEN ||
				    d.receipt->state != RX__STATE__CLAIMED)
					violation(rep, V_REPLY, q->rxid,
						  "the receipt of an acknowledged WITHDRAW of %s has no claim "
						  "token, or says %s, not CLAIMED",
						  q->rxid, rx_state_name((int)d.receipt->state));
			}
			if (d.receipt)
				rx__receipt__free_unpacked(d.receipt, NULL);
		}
		if (q->rxid[0] && strlen(q->rxid) == RX_ID_LEN) {
			rxrec_t *r = rx_get(&rxs, q->rxid);
			if (r == NULL)
				goto out;
			req_next[i] = r->req_head;
			r->req_head = i + 1;
		}
	}

	/* 1a. After failovers, what each copy held. */
	if (w->ncopies)
		check_copies(w, &js, rep);

	/* 2. Re-send every acknowledged request to the restarted broker. */
	if (open_conns(w, zctx, conns) != 0) {
		printf("crash: cannot connect to rxd for the checks\n");
		goto out;
	}
	conns_open = 1;
	resend_all(&js, conns, rep);

	/* 3. What the store holds. */
	if (read_store(w, &rxs, &ds, &es, rep) != 0)
		goto out;

	/* 4. Each stored prescription, by its issuer's STATUS; each
	 * acknowledged one must be among them. */
	for (size_t i = 0; i < rxs.n; i++) {
		rxrec_t *r = &rxs.v[i];
		if (r->submits_acked > 1)
			violation(rep, V_SUBMIT_LOST, r->id, "%s: assigned by %d acknowledged SUBMITs", r->id,
				  r->submits_acked);
		if (!r->stored) {
			if (r->submits_acked)
				violation(rep, V_SUBMIT_LOST, r->id,
					  "%s: its SUBMIT was acknowledged but it is not stored", r->id);
			else if (r->uses_mask || r->rec_head)
				violation(rep, V_DISPENSE_RECORDS, r->id,
					  "%s: dispense records of a prescription that is not stored", r->id);
			else if (r->issuer != -1)
				violation(rep, V_SUBMIT_LOST, r->id,
					  "%s: the audit log accepted its SUBMIT but it is not stored",
					  r->id);
			continue;
		}
		if (r->issuer < 0) {
			violation(rep, V_STATE, r->id,
				  "%s: stored, but no accepted SUBMIT of a client's key is in the audit log",
				  r->id);
			continue;
		}
		submits_stored[r->issuer]++;
		if (!r->submits_acked)
			rep->stored_unacked++;
		status_of(w, conns, r, &ds, rep);
		if (r->submits_acked) {
			if (r->status_ok)
				rep->submits_found++;
			if (r->status_ok && memcmp(r->body_hash, r->submit_hash, RX_HASH_LEN) != 0)
				violation(rep, V_SUBMIT_LOST, r->id,
					  "%s: its STATUS names another body than its SUBMIT receipt", r->id);
		}
	}
	for (int c = 0; c < w->nclients; c++)
		if (submits_stored[c] < submits_acked[c] ||
		    submits_stored[c] > submits_acked[c] + submits_maybe[c])
			violation(
				rep, V_SUBMIT_LOST, NULL,
				"%s: %ld prescriptions stored as its submits; it was told of %ld (and %ld of "
				"unknown outcome)",
				w->client[c].name, submits_stored[c], submits_acked[c], submits_maybe[c]);

	/* 5. Every acknowledged DISPENSE, AMEND and WITHDRAW is a record of its
	 * use, of its kind: current, or replaced by a later one (whose link to
	 * it the chains check); a withdrawal is never current. */
	for (size_t i = 0; i < js.n; i++) {
		const jreq_t *q = &js.req[i];
		decoded_t d;
		if ((q->op != RX_OP_DISPENSE && q->op != RX_OP_AMEND && q->op != RX_OP_WITHDRAW) ||
		    q->outcome != JR_REPLIED || q->status != RX_OK)
			continue;
		decode_reply(w, q, broker_key, &have_broker_key, &d);
		if (d.receipt == NULL)
			continue;
		uint32_t use = d.receipt->use;
		uint8_t h[RX_HASH_LEN];
		int hashed = d.receipt->body_hash.len == RX_HASH_LEN;
		if (hashed)
			memcpy(h, d.receipt->body_hash.data, RX_HASH_LEN);
		rx__receipt__free_unpacked(d.receipt, NULL);
		rxrec_t *r = strlen(q->rxid) == RX_ID_LEN ? rx_get(&rxs, q->rxid) : NULL;
		if (r == NULL || !hashed || use < 1 || use > RX_MAX_USES) {
			violation(rep, V_DISPENSE_LOST, r ? r->id : NULL,
				  "an acknowledged %s names no prescription, use or record", rx_op_name(q->op));
			continue;
		}
		const drec_t *seq[CHAIN_MAX];
		int gap, n = use_records(&ds, r, use, seq, &gap), at = -1;
		for (int k = 0; k < n && at < 0; k++)
			if (memcmp(seq[k]->hash, h, RX_HASH_LEN) == 0)
				at = k;
		if (at < 0)
			violation(rep, V_DISPENSE_LOST, r->id,
				  "%s: %s of use %u acknowledged to %s, but its record is not among the %d the "
				  "use keeps",
				  r->id, rx_op_name(q->op), use, w->client[q->client].name, n);
		else if (seq[at]->kind != kind_of_op(q->op))
			violation(rep, V_DISPENSE_LOST, r->id,
				  "%s: %s of use %u acknowledged to %s, but its record is kept as a %s", r->id,
				  rx_op_name(q->op), use, w->client[q->client].name, kind_name[seq[at]->kind]);
		else if (q->op == RX_OP_DISPENSE && at > 0)
			rep->redispenses_acked++; /* after a withdrawal, as the chain says */
	}

	/* 5a. Inquiries (5.14): every acknowledged INQUIRE is kept as its
	 * inquiry, every acknowledged INQUIRY_REPLY as its answer (so an
	 * inquiry is answered once, as acknowledged); every inquiry and answer
	 * kept is the signed call of a request its client sent and was told
	 * was accepted, or whose outcome it could not know. */
	for (size_t i = 0; i < js.n; i++) {
		const jreq_t *q = &js.req[i];
		if (q->op != RX_OP_INQUIRE && q->op != RX_OP_INQUIRY_REPLY)
			continue;
		int reply = q->op == RX_OP_INQUIRY_REPLY;
		rxrec_t *r = strlen(q->rxid) == RX_ID_LEN ? rx_get(&rxs, q->rxid) : NULL;
		Rx__Request *req = q->frame ? rx__request__unpack(NULL, q->frame_len, q->frame) : NULL;
		uint8_t h[RX_HASH_LEN];
		if (r == NULL || req == NULL) {
			if (req)
				rx__request__free_unpacked(req, NULL);
			if (q->outcome == JR_REPLIED && q->status == RX_OK)
				violation(rep, V_INQUIRY, r ? r->id : NULL, "an acknowledged %s keeps no request bytes",
					  rx_op_name(q->op));
			continue;
		}
		rx_hash(req->call.data, req->call.len, h);
		rx__request__free_unpacked(req, NULL);
		int maybe = q->outcome != JR_REPLIED || q->late_ok || q->sends > 1 || q->status == RX_OK;
		for (int n = 1; n <= r->inq_top && maybe; n++)
			if (r->inq[n].stored && memcmp(reply ? r->inq[n].reply : r->inq[n].call, h, RX_HASH_LEN) == 0 &&
			    (!reply || r->inq[n].replied))
				r->inq[n].stored |= reply ? 4 : 2; /* traced */
		if (!reply && q->outcome == JR_REPLIED && q->status == RX_INVALID && r->inq_top != RX_MAX_INQUIRIES)
			violation(rep, V_INQUIRY, r->id,
				  "%s: an INQUIRE was refused INVALID to %s (the limit), but the store keeps %d "
				  "inquiries, not %d",
				  r->id, w->client[q->client].name, r->inq_top, RX_MAX_INQUIRIES);
		if (q->outcome != JR_REPLIED || q->status != RX_OK)
			continue;
		decoded_t d;
		decode_reply(w, q, broker_key, &have_broker_key, &d);
		if (d.receipt == NULL)
			continue;
		if (!reply)
			rep->inquiries_crossed += q->sends > 1 && q->epoch1 > q->epoch0;
		uint32_t n = d.receipt->inquiry;
		rx__receipt__free_unpacked(d.receipt, NULL);
		if (reply)
			rep->replies_acked++;
		else
			rep->inquiries_acked++;
		if (n < 1 || n > RX_MAX_INQUIRIES || !r->inq[n].stored)
			violation(rep, V_INQUIRY, r->id, "%s: %s of inquiry %u acknowledged to %s, but it is not kept",
				  r->id, rx_op_name(q->op), n, w->client[q->client].name);
		else if (reply ? !r->inq[n].replied || memcmp(r->inq[n].reply, h, RX_HASH_LEN) != 0
			       : memcmp(r->inq[n].call, h, RX_HASH_LEN) != 0)
			violation(rep, V_INQUIRY, r->id,
				  "%s: %s of inquiry %u acknowledged to %s, but inquiry %u keeps %s", r->id,
				  rx_op_name(q->op), n, w->client[q->client].name, n,
				  reply && !r->inq[n].replied ? "no answer" : "another call");
	}
	for (size_t i = 0; i < rxs.n; i++) {
		rxrec_t *r = &rxs.v[i];
		for (int n = 1; n <= r->inq_top; n++) {
			if (!r->inq[n].stored)
				continue;
			if (!(r->inq[n].stored & 2))
				violation(rep, V_INQUIRY, r->id,
					  "%s: inquiry %d is no INQUIRE a pharmacy was told was accepted or could not "
					  "know",
					  r->id, n);
			if (r->inq[n].replied && !(r->inq[n].stored & 4))
				violation(rep, V_INQUIRY, r->id,
					  "%s: the answer to inquiry %d is no INQUIRY_REPLY its clinic was told was "
					  "accepted or could not know",
					  r->id, n);
		}
	}
	rep->pending_refused = rep->refusals[RX_OP_DISPENSE][RX_INQUIRY_PENDING];

	/* 5b. Every stored record, to the request that sent it; the parts. */
	if (trace_records(w, &js, &rxs, &ds, rep) != 0)
		goto out;
	/* 5c. Refused NOT_AGREED: rightly, and without effect (5.14). */
	check_refused_not_agreed(&js, &rxs, &ds, rep);

	/* 6. Per prescription: the state machine, and refusals that stayed so. */
	for (size_t i = 0; i < rxs.n; i++) {
		rxrec_t *r = &rxs.v[i];
		if (!r->stored || r->issuer < 0)
			continue;
		check_chains(&ds, r, rep);
		if (r->status_ok) { /* (a failed STATUS is a violation already) */
			check_agreed(&ds, r, rep);
			replay(&es, &ds, r, rep);
		}
		rep->inquiry_limit_rx += r->inq_top == RX_MAX_INQUIRIES;
		compare_counts(w, &js, req_next, &es, r, rep);
	}

	/* 7. The audit chain. */
	(void)audit_verify(w, rep);
	ret = 0;
out:
	if (conns_open)
		for (int c = 0; c < w->nclients; c++)
			conn_close(&conns[c]);
	free(req_next);
	free(es.v);
	free(ds.v);
	free(rxs.v);
	free(rxs.slot);
	journal_set_free(&js);
	return ret;
}
