/* bench_peer: the PostgreSQL peer of rx-bench --vs-postgres, raw and with
 * the application tier a national operator would put in front of it.
 *
 * The tier verifies, per request, exactly the signatures rxd verifies for
 * it (broker/dispatch.c, dispatch_prepare; proto/README.md section 5.4),
 * protocol v2's one per signer: SUBMIT the prescriber's over the
 * prescription (Request.prescription, which names the call by its
 * call_hash) and the card assertion's: 2; CLAIM the pharmacy's over the
 * call and the card assertion's: 2; DISPENSE the pharmacy's over the
 * dispense record (Request.dispense, naming the call): 1.  It decodes what
 * it must to find them, as rxd does, checks each over the bytes as they
 * came, and, as rxd does before it decodes the call, that a signed document
 * names this call (and is the one its op carries, by the caller's key).
 * The frames are the ones rxd gets: signed before the clock by bench_jobs
 * (a DISPENSE in the loop, as the rxd clients sign theirs), each client
 * cycling through its own.  Nothing else of rxd's checks (time, registry,
 * state) is done: they cost little beside Ed25519. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_int.h"
#include "bench_pg.h"
#include "rx_check.h"

/* Pre-signed units per client, cycled: a verify costs the same whether or
 * not the bytes were verified before (nothing is cached). */
#define PEER_JOBS 1024

/* What each request costs the tier, and rxd: signatures verified. */
enum { VERIFIES_SUBMIT = 2, VERIFIES_CLAIM = 2, VERIFIES_DISPENSE = 1 };

static int is_signed(const Rx__Signed *s)
{
	return s && s->body.len > 0 && s->signature.len == RX_SIG_LEN;
}

/* The document req's one signature covers, if any, as dispatch_prepare
 * decodes it: 0 if there is none or it names req's call (its call_hash is
 * the hash of Request.call) and its signer is the caller; -1 if not. */
static int document_named(const Rx__Request *req, rx_sign_ctx_t ctx)
{
	const ProtobufCBinaryData *named = NULL, *signer = NULL;
	Rx__Prescription *p = NULL;
	Rx__DispenseRecord *rec = NULL;
	uint8_t h[RX_HASH_LEN];
	int ok = -1;
	if (ctx == RX_SIGN_CALL)
		return 0;
	if (ctx == RX_SIGN_PRESCRIPTION &&
	    (p = rx__prescription__unpack(NULL, req->prescription.len, req->prescription.data))) {
		named = &p->call_hash;
		signer = &p->prescriber_key;
	}
	if (ctx == RX_SIGN_DISPENSE &&
	    (rec = rx__dispense_record__unpack(NULL, req->dispense.len, req->dispense.data))) {
		named = &rec->call_hash;
		signer = &rec->pharmacy_key;
	}
	rx_hash(req->call.data, req->call.len, h);
	if (named && named->len == RX_HASH_LEN && memcmp(named->data, h, RX_HASH_LEN) == 0 &&
	    signer->len == RX_KEY_LEN && memcmp(signer->data, req->key.data, RX_KEY_LEN) == 0)
		ok = 0;
	if (rec)
		rx__dispense_record__free_unpacked(rec, NULL);
	if (p)
		rx__prescription__free_unpacked(p, NULL);
	return ok;
}

/* The signatures rxd verifies of frame, in dispatch_prepare's order (the
 * request's one signature, over the document a SUBMIT or DISPENSE carries,
 * else over the call; then the card assertion's, if the call has one): how
 * many held, or -1 if one did not (or the frame is not one rxd would go on
 * with: a document that names another call, a SUBMIT without its
 * prescription, ...). */
static int verify_frame(const uint8_t *frame, size_t len)
{
	int n = -1;
	Rx__Request *req = rx__request__unpack(NULL, len, frame);
	Rx__Call *call = NULL;
	Rx__CardAssertion *card = NULL;
	if (req == NULL || req->key.len != RX_KEY_LEN || req->signature.len != RX_SIG_LEN || req->call.len == 0)
		goto done;
	rx_sign_ctx_t ctx;
	const ProtobufCBinaryData *signed_bytes = rx_request_signed(req, &ctx);
	if (rx_verify(ctx, req->key.data, signed_bytes->data, signed_bytes->len, req->signature.data) != RX_OK ||
	    document_named(req, ctx) != 0 ||
	    (call = rx__call__unpack(NULL, req->call.len, req->call.data)) == NULL)
		goto done;
	/* The one document its op carries, and no other (step 9a). */
	if ((req->prescription.len > 0) != (call->op == RX__OP__SUBMIT) ||
	    (req->dispense.len > 0) != (call->op == RX__OP__DISPENSE))
		goto done;
	n = 1;
	if (call->card) {
		if (!is_signed(call->card) ||
		    (card = rx__card_assertion__unpack(NULL, call->card->body.len, call->card->body.data)) == NULL ||
		    card->card_key.len != RX_KEY_LEN ||
		    rx_verify(RX_SIGN_CARD, card->card_key.data, call->card->body.data, call->card->body.len,
			      call->card->signature.data) != RX_OK)
			n = -1;
		else
			n++;
	}
done:
	if (card)
		rx__card_assertion__free_unpacked(card, NULL);
	if (call)
		rx__call__free_unpacked(call, NULL);
	if (req)
		rx__request__free_unpacked(req, NULL);
	return n;
}

/* The tier's callback (bench_pg_tier_t): ctx is the bench, client a worker. */
static int tier_verify(void *ctx, int client, uint64_t k, bench_pg_step_t step, const uint8_t token[16])
{
	const bench_t *B = ctx;
	const worker_t *w = &B->w[client];
	const job_t *j = &w->jobs[k % w->njobs];
	if (step != BENCH_PG_DISPENSE)
		return verify_frame(j->frame, j->len);
	uint8_t rid[RX_REQUEST_ID_LEN];
	size_t len;
	uint8_t *frame = bench_jobs_dispense_frame(B, j, token, rid, &len);
	int n = frame ? verify_frame(frame, len) : -1;
	free(frame);
	return n;
}

/* Sign PEER_JOBS units of kind (JOB_SUBMIT or JOB_PAIR) per client, and
 * check one as the tier will: it must verify what rxd verifies. */
static void prepare(bench_t *B, int kind)
{
	size_t need = (size_t)B->nworkers * PEER_JOBS;
	/* Pairs claim prescriptions rxd stored (the dispensed ones, again and
	 * again: only their bytes matter here). */
	for (size_t i = 0; kind == JOB_PAIR && B->npool < need && B->ndone > 0; i++)
		B->pool[B->npool++] = B->done[i % B->ndone];
	bench_jobs_prepare(B, B->nworkers, PEER_JOBS, kind == JOB_PAIR ? bench_choose_pair : bench_choose_submit);
	const job_t *j = &B->w[0].jobs[0];
	uint8_t token[RX_TOKEN_LEN] = {0};
	int want = kind == JOB_PAIR ? VERIFIES_CLAIM : VERIFIES_SUBMIT;
	if (j->kind != kind || verify_frame(j->frame, j->len) != want ||
	    (kind == JOB_PAIR && tier_verify(B, 0, 0, BENCH_PG_DISPENSE, token) != VERIFIES_DISPENSE))
		bench_die("%s", "the PostgreSQL peer's tier does not verify what rxd verifies");
}

static void unprepare(bench_t *B)
{
	for (int i = 0; i < B->nworkers; i++)
		bench_jobs_release(&B->w[i]);
}

static void keep(pg_row_t *row, const bench_pg_result_t *r)
{
	*row = (pg_row_t){.rate = r->per_second, .p50 = r->p50, .p99 = r->p99, .p999 = r->p999,
			  .verifies_per_unit = r->verifies_per_unit, .errors = r->errors,
			  .ran_out = r->ran_out};
}

void bench_peer_run(bench_t *B, pg_figures_t *out)
{
	const options_t *o = &B->opt;
	bench_pg_t *pg = NULL;
	bench_pg_tier_t tier = {.verify = tier_verify, .ctx = B};
	bench_pg_result_t r;
	int ok = 0;
	fprintf(stderr, "rx-bench: PostgreSQL...\n");
	if (bench_pg_start(&pg, o->dir, getenv("RX_PG_BINDIR"), out->why, sizeof out->why) != 0)
		goto done;
	if (bench_pg_submit(pg, o->clients, o->seconds, NULL, &r) != 0)
		goto done;
	keep(&out->row[PG_SUBMIT], &r);
	if (bench_pg_claim_dispense(pg, o->clients, o->seconds, NULL, &r) != 0)
		goto done;
	keep(&out->row[PG_PAIRS], &r);
	fprintf(stderr, "rx-bench: PostgreSQL with verification...\n");
	prepare(B, JOB_SUBMIT);
	ok = bench_pg_submit(pg, o->clients, o->seconds, &tier, &r) == 0;
	unprepare(B);
	if (!ok)
		goto done;
	keep(&out->row[PG_SUBMIT_VERIFIED], &r);
	prepare(B, JOB_PAIR);
	ok = bench_pg_claim_dispense(pg, o->clients, o->seconds, &tier, &r) == 0;
	unprepare(B);
	if (!ok)
		goto done;
	keep(&out->row[PG_PAIRS_VERIFIED], &r);
	out->have = 1;
done:
	if (!out->have && out->why[0] == '\0')
		snprintf(out->why, sizeof out->why, "a workload failed");
	bench_pg_destroy(&pg);
}
