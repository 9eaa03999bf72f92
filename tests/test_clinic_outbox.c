/* Integration: the clinic outbox against the real rxd, cut off mid-run.
 *
 * Prescriptions are submitted through the outbox while rxd serves, rxd is
 * killed so the next ones are queued, rxd is restarted on the same data
 * dir, and the queue is flushed; then rxd itself is asked (LIST with the
 * patient's card, and its counters) whether every queued prescription
 * arrived exactly once.  One request reaches rxd and is committed but its
 * reply is lost (it stays queued): the flush resends it and rxd answers
 * from its stored reply.  The same story runs through the rx-clinic binary
 * ($RX_CLINIC), with two flushes racing on one outbox, and a queued submit
 * whose card assertion went stale. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "harness.h"
#include "outbox.h"
#include "rx_ids.h"
#include "testutil.h"

typedef struct {
	harness_t h;
	rx_keypair_t doc, card;
	char patient[RX_PATIENT_ID_LEN + 1];
	rxc_t *c; /* the clinic's client: short timeout, so a cut broker shows quickly */
} world_t;

static void world_up(world_t *w)
{
	memset(w, 0, sizeof *w);
	ck_assert_msg(harness_start(&w->h, 0) == 0, "rxd did not start (is $RXD set?)");
	ck_assert_int_eq(harness_key(&w->h, &w->doc, RX_ROLE_PRESCRIBER, "1312345678"), 0);
	ck_assert_int_eq(harness_enroll(&w->h, "123456789018", w->patient), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient, &w->card), 0);
	rxc_options_t o = {.timeout_ms = 1000, .resend_ms = 250};
	harness_curve_options(&w->h, &w->doc, &o);
	ck_assert_int_eq(rxc_new(&w->c, NULL, w->h.endpoint, &w->doc, &o), RX_OK);
}

static void world_down(world_t *w)
{
	rxc_destroy(&w->c);
	harness_cleanup(&w->h);
}

/* The signed SUBMIT frame for a new prescription (notes: tag) with the
 * patient's card presented at the clinic at time at. */
static uint8_t *submit_frame(world_t *w, const char *tag, int64_t at, size_t *len)
{
	harness_rx_t sp;
	Rx__Signed card;
	Rx__Call call;
	uint8_t rid[RX_REQUEST_ID_LEN], *frame;
	harness_prescription(&w->doc, w->patient, 1, 0, 0, tag, &sp);
	ck_assert_int_eq(rxc_card_assertion(&w->card, RX__PURPOSE__PURPOSE_ISSUE,
					    harness_institution_of(&w->h, &w->doc), at, &card),
			 RX_OK);
	rxc_request_id(rid);
	rxc_submit_fill(&call, rid, &card);
	ck_assert_int_eq(rxc_frame(&w->doc, &call, &sp.p.base, &frame, len), RX_OK);
	rxc_signed_free(&card);
	return frame;
}

/* The ids rxd lists as the patient's open prescriptions, asked with the
 * card (a prescriber viewing); returns how many. */
static size_t open_ids(world_t *w, char ids[][RX_ID_LEN + 1], size_t max)
{
	Rx__Signed card;
	rxc_result_t r;
	ck_assert_int_eq(rxc_card_assertion(&w->card, RX__PURPOSE__PURPOSE_VIEW,
					    harness_institution_of(&w->h, &w->doc), (int64_t)time(NULL),
					    &card),
			 RX_OK);
	rxc_proof_t proof = {.card = &card};
	rxc_t *c = harness_client(&w->h, NULL, &w->doc, 0);
	ck_assert_int_eq(rxc_list(c, NULL, NULL, &proof, &r), RX_OK);
	size_t n = r.receipt->n_prescriptions;
	ck_assert_uint_le(n, max);
	for (size_t i = 0; i < n; i++)
		snprintf(ids[i], RX_ID_LEN + 1, "%s", r.receipt->prescriptions[i]->prescription_id);
	rxc_result_free(&r);
	rxc_destroy(&c);
	rxc_signed_free(&card);
	return n;
}

static int count_id(char ids[][RX_ID_LEN + 1], size_t n, const char *id)
{
	int k = 0;
	for (size_t i = 0; i < n; i++)
		k += strcmp(ids[i], id) == 0;
	return k;
}

static uint64_t prescriptions_in_rxd(world_t *w)
{
	Rx__Stats s;
	ck_assert_int_eq(harness_stats(&w->h, &s), 0);
	return s.prescriptions;
}

/* What a flush saw: the prescription id of each settled entry, by seq. */
#define MAXQ 16
typedef struct {
	int calls;
	uint64_t seq[MAXQ];
	rx_err_t status[MAXQ];
	char id[MAXQ][RX_ID_LEN + 1];
	uint8_t receipt_hash[MAXQ][RX_HASH_LEN];
} seen_t;

static void record(const rxc_outbox_entry_t *e, const rxc_result_t *r, void *arg)
{
	seen_t *s = arg;
	ck_assert_int_lt(s->calls, MAXQ);
	int i = s->calls++;
	s->seq[i] = e->seq;
	s->status[i] = r->status;
	s->id[i][0] = '\0';
	if (r->status == RX_OK) {
		snprintf(s->id[i], sizeof s->id[i], "%s", r->receipt->prescription_id);
		rx_hash(r->reply->receipt.data, r->reply->receipt.len, s->receipt_hash[i]);
	}
}

/* A new tagged SUBMIT through the outbox, the card presented now. */
static rx_err_t send_tagged(world_t *w, rxc_outbox_t *ob, const char *tag, rxc_result_t *r,
			    uint64_t *seq, int *queued)
{
	size_t len;
	uint8_t *f = submit_frame(w, tag, (int64_t)time(NULL), &len);
	rx_err_t err = rxc_outbox_send(ob, w->c, f, len, NULL, NULL, NULL, NULL, r, seq, queued);
	free(f);
	return err;
}

START_TEST(library_queue_survives_a_cut_broker)
{
	world_t w;
	char dir[TU_PATH_MAX], msg[256], tag[32];
	char delivered[MAXQ][RX_ID_LEN + 1];
	int ndelivered = 0;
	rxc_outbox_t *ob;
	rxc_result_t r;
	uint64_t seq;
	int queued;
	size_t len, np, nf;

	world_up(&w);
	tu_subdir(dir);
	ck_assert_int_eq(rxc_outbox_open(&ob, dir, RXC_OUTBOX_LOCK, msg, sizeof msg), RX_OK);

	/* rxd up: straight through, nothing stays queued. */
	for (int i = 0; i < 3; i++) {
		snprintf(tag, sizeof tag, "up-%d", i);
		ck_assert_int_eq(send_tagged(&w, ob, tag, &r, &seq, &queued), RX_OK);
		ck_assert_int_eq(queued, 0);
		strcpy(delivered[ndelivered++], r.receipt->prescription_id);
		rxc_result_free(&r);
	}
	ck_assert_int_eq(rxc_outbox_count(ob, &np, &nf), RX_OK);
	ck_assert_uint_eq(np, 0);

	/* A request that reached rxd and was committed, whose reply was lost:
	 * queued first (as rxc_outbox_send does), delivered, and the process
	 * died before it could drop it. */
	uint8_t *lost = submit_frame(&w, "reply-lost", (int64_t)time(NULL), &len);
	size_t lost_len = len;
	uint64_t lost_seq;
	ck_assert_int_eq(rxc_outbox_put(ob, lost, lost_len, NULL, NULL, &lost_seq), RX_OK);
	ck_assert_int_eq(rxc_call_frame(w.c, lost, lost_len, &r), RX_OK);
	char lost_id[RX_ID_LEN + 1];
	uint8_t lost_hash[RX_HASH_LEN];
	strcpy(lost_id, r.receipt->prescription_id);
	rx_hash(r.reply->receipt.data, r.reply->receipt.len, lost_hash);
	rxc_result_free(&r);
	free(lost);

	/* The broker is cut off mid-run. */
	ck_assert_int_eq(WTERMSIG(harness_stop(&w.h, SIGKILL)), SIGKILL);
	uint64_t first_seq = 0;
	for (int i = 0; i < 4; i++) {
		snprintf(tag, sizeof tag, "cut-%d", i);
		ck_assert_int_eq(send_tagged(&w, ob, tag, &r, &seq, &queued), RX_UNREACHABLE);
		ck_assert_int_eq(queued, 1);
		ck_assert_uint_gt(seq, lost_seq);
		if (first_seq == 0)
			first_seq = seq;
		rxc_result_free(&r);
	}
	/* And a cancel of a delivered one, queued behind them. */
	Rx__Call call;
	uint8_t rid[RX_REQUEST_ID_LEN], *f;
	rxc_request_id(rid);
	rxc_cancel_fill(&call, rid, delivered[0], RX__CANCEL_REASON__CANCEL_DUPLICATE);
	ck_assert_int_eq(rxc_frame(&w.doc, &call, NULL, &f, &len), RX_OK);
	ck_assert_int_eq(rxc_outbox_send(ob, w.c, f, len, NULL, NULL, NULL, NULL, &r, &seq, &queued),
			 RX_UNREACHABLE);
	ck_assert_int_eq(queued, 1);
	rxc_result_free(&r);
	free(f);
	ck_assert_int_eq(rxc_outbox_count(ob, &np, &nf), RX_OK);
	ck_assert_uint_eq(np, 6); /* the lost one, 4 submits, the cancel */

	/* A flush while rxd is still down keeps everything, in place. */
	seen_t seen = {0};
	ck_assert_int_eq(rxc_outbox_flush(ob, w.c, record, &seen, msg, sizeof msg), RX_UNREACHABLE);
	ck_assert_int_eq(seen.calls, 0);
	ck_assert_ptr_nonnull(strstr(msg, "not delivered"));
	ck_assert_int_eq(rxc_outbox_count(ob, &np, &nf), RX_OK);
	ck_assert_uint_eq(np, 6);

	/* The outbox outlives its process. */
	rxc_outbox_close(&ob);
	ck_assert_int_eq(harness_restart(&w.h), 0);
	ck_assert_int_eq(rxc_outbox_open(&ob, dir, RXC_OUTBOX_LOCK, msg, sizeof msg), RX_OK);
	ck_assert_int_eq(rxc_outbox_flush(ob, w.c, record, &seen, msg, sizeof msg), RX_OK);
	ck_assert_int_eq(seen.calls, 6);
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(seen.status[i], RX_OK);
		if (i > 0)
			ck_assert_uint_gt(seen.seq[i], seen.seq[i - 1]); /* in order */
	}
	/* The lost reply comes back byte for byte: the same prescription. */
	ck_assert_uint_eq(seen.seq[0], lost_seq);
	ck_assert_str_eq(seen.id[0], lost_id);
	ck_assert_mem_eq(seen.receipt_hash[0], lost_hash, RX_HASH_LEN);
	ck_assert_uint_eq(seen.seq[1], first_seq);
	strcpy(delivered[ndelivered++], lost_id);
	for (int i = 1; i < 5; i++)
		strcpy(delivered[ndelivered++], seen.id[i]);
	ck_assert_str_eq(seen.id[5], delivered[0]); /* the cancel */
	ck_assert_int_eq(rxc_outbox_count(ob, &np, &nf), RX_OK);
	ck_assert_uint_eq(np, 0);
	ck_assert_uint_eq(nf, 0);

	/* A second flush has nothing left to send. */
	seen.calls = 0;
	ck_assert_int_eq(rxc_outbox_flush(ob, w.c, record, &seen, msg, sizeof msg), RX_OK);
	ck_assert_int_eq(seen.calls, 0);
	rxc_outbox_close(&ob);

	/* rxd's word: 8 prescriptions, every one once; the cancelled one is
	 * no longer open, the other 7 are, once each. */
	ck_assert_uint_eq(prescriptions_in_rxd(&w), 8);
	char ids[32][RX_ID_LEN + 1];
	size_t n = open_ids(&w, ids, 32);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(count_id(ids, n, delivered[0]), 0);
	for (int i = 1; i < ndelivered; i++)
		ck_assert_msg(count_id(ids, n, delivered[i]) == 1, "%s listed %d times", delivered[i],
			      count_id(ids, n, delivered[i]));
	world_down(&w);
}
END_TEST

/* ---- the rx-clinic binary ---- */

/* The prescription file, with a tag in its notes. */
static void rx_json(harness_clinic_files_t *f, const char *tag)
{
	char text[512];
	snprintf(text, sizeof text,
		 "{\"valid_days\": 4, \"uses\": 1, \"notes\": \"%s\", \"items\": [{\"drug_code\": "
		 "\"2171022F2025\", \"name\": \"Norvasc 5 mg tablet\", \"dose\": \"1 tablet\", "
		 "\"usage\": \"once daily\", \"days\": 28, \"quantity\": 28, \"unit\": \"tablet\"}]}",
		 tag);
	harness_write_file(f->rx, text);
}

/* Start rx-clinic CONN --outbox DIR ARGS... (args NULL-terminated) with
 * stdout into a pipe (*fd) and stderr to /dev/null. */
static pid_t clinic_start(world_t *w, harness_clinic_files_t *f, int *fd, const char *const *args)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		const char *argv[32] = {getenv("RX_CLINIC"), "--broker", w->h.endpoint, "--key", f->key,
					"--curve-key", f->curve, "--server-key", f->server,
					"--timeout", "1", "--outbox", f->outbox};
		int n = 13;
		while (*args && n < 31)
			argv[n++] = *args++;
		argv[n] = NULL;
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

/* Read everything, wait for the exit; returns the exit code. */
static int clinic_finish(pid_t pid, int fd, char *out, size_t outlen)
{
	size_t n = 0;
	ssize_t k;
	while (n + 1 < outlen && (k = read(fd, out + n, outlen - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(fd);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Run rx-clinic with one command (and its argument, or NULL). */
static int clinic(world_t *w, harness_clinic_files_t *f, char *out, size_t outlen, const char *cmd, const char *arg)
{
	int fd;
	const char *args[] = {cmd, arg, NULL};
	pid_t pid = clinic_start(w, f, &fd, args);
	return clinic_finish(pid, fd, out, outlen);
}

/* rx-clinic submit of a tagged prescription with the card in the reader,
 * its slip to DIR/TAG.slip. */
static int clinic_submit(world_t *w, harness_clinic_files_t *f, const char *tag, char *out, size_t outlen)
{
	char slip[TU_PATH_MAX + 32], card[TU_PATH_MAX + 32], inst[64];
	int fd;
	snprintf(slip, sizeof slip, "--slip=%s/%s.slip", f->dir, tag);
	snprintf(card, sizeof card, "--card=%s", f->card);
	snprintf(inst, sizeof inst, "--institution=%s", f->institution);
	rx_json(f, tag);
	const char *args[] = {card, inst, slip, "submit", f->rx, NULL};
	pid_t pid = clinic_start(w, f, &fd, args);
	return clinic_finish(pid, fd, out, outlen);
}

/* The last line of out. */
static const char *last_line(const char *out)
{
	size_t n = strlen(out);
	while (n > 0 && out[n - 1] == '\n')
		n--;
	while (n > 0 && out[n - 1] != '\n')
		n--;
	return out + n;
}

/* How many lines of out contain s. */
static int lines_with(const char *out, const char *s)
{
	int n = 0;
	for (const char *l = out; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		char line[8192];
		snprintf(line, sizeof line, "%.*s", (int)len, l);
		n += strstr(line, s) != NULL;
		l = end ? end + 1 : NULL;
	}
	return n;
}

/* A string field of the last line with it ("key":"value"), into v. */
static int field(const char *out, const char *key, char *v, size_t vlen)
{
	char pat[64];
	const char *p = NULL, *q;
	snprintf(pat, sizeof pat, "\"%s\":\"", key);
	for (q = strstr(out, pat); q; q = strstr(q + 1, pat))
		p = q;
	if (p == NULL)
		return -1;
	p += strlen(pat);
	size_t n = strcspn(p, "\"");
	snprintf(v, vlen, "%.*s", (int)n, p);
	return 0;
}

START_TEST(cli_outbox_end_to_end)
{
	world_t w;
	harness_clinic_files_t f;
	char out[16384], id[64];
	char ids[32][RX_ID_LEN + 1], mine[8][RX_ID_LEN + 1];
	int nmine = 0;

	world_up(&w);
	tu_subdir(f.dir);
	harness_clinic_files(&w.h, &w.doc, &w.card, &f);

	/* rxd up: an ordinary submit, through the outbox. */
	ck_assert_int_eq(clinic_submit(&w, &f, "a", out, sizeof out), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"status\":\"OK\""));
	ck_assert_int_eq(field(out, "id", id, sizeof id), 0);
	strcpy(mine[nmine++], id);
	struct stat st;
	ck_assert_int_eq(stat(f.outbox, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);

	/* Cut: the next two are queued, and say so. */
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	ck_assert_int_eq(clinic_submit(&w, &f, "b", out, sizeof out), 1);
	ck_assert_ptr_nonnull(strstr(out, "\"status\":\"UNREACHABLE\""));
	ck_assert_ptr_nonnull(strstr(out, "\"queued\":true"));
	ck_assert_ptr_nonnull(strstr(out, "\"outbox\":2"));
	ck_assert_ptr_nonnull(strstr(out, "card assertion"));
	ck_assert_int_eq(clinic_submit(&w, &f, "c", out, sizeof out), 1);
	ck_assert_ptr_nonnull(strstr(out, "\"queued\":true"));
	ck_assert_ptr_nonnull(strstr(out, "\"outbox\":3"));
	char slip[TU_PATH_MAX + 16];
	snprintf(slip, sizeof slip, "%s/b.slip", f.dir);
	ck_assert_int_ne(access(slip, F_OK), 0);

	/* pending lists them, without secrets (no body, no access code). */
	ck_assert_int_eq(clinic(&w, &f, out, sizeof out, "pending", NULL), 0);
	ck_assert_int_eq(lines_with(out, "\"op\":\"SUBMIT\""), 1);
	ck_assert_ptr_nonnull(strstr(out, "\"outbox\":2"));
	ck_assert_ptr_nonnull(strstr(out, "\"outbox\":3"));
	ck_assert_ptr_nonnull(strstr(out, "\"card_assertion_stale\":false"));
	ck_assert_ptr_null(strstr(out, "Norvasc"));
	ck_assert_ptr_null(strstr(out, "access_code"));

	/* Back up: flush delivers both, in order, and writes their slips. */
	ck_assert_int_eq(harness_restart(&w.h), 0);
	ck_assert_int_eq(clinic(&w, &f, out, sizeof out, "flush", NULL), 0);
	ck_assert_int_eq(lines_with(out, "\"status\":\"OK\""), 3); /* 2 entries + summary */
	ck_assert_ptr_nonnull(strstr(out, "\"delivered\":2"));
	ck_assert_ptr_nonnull(strstr(out, "\"pending\":0"));
	ck_assert(strstr(out, "\"outbox\":2,") < strstr(out, "\"outbox\":3,"));
	harness_slip_id(&f, "b", mine[nmine++]);
	harness_slip_id(&f, "c", mine[nmine++]);

	/* Cut again; queue three; two flushes race on the outbox: each entry
	 * is delivered by exactly one of them. */
	ck_assert_int_eq(harness_stop(&w.h, SIGKILL) & 0x7f, SIGKILL);
	ck_assert_int_eq(clinic_submit(&w, &f, "d", out, sizeof out), 1);
	ck_assert_int_eq(clinic_submit(&w, &f, "e", out, sizeof out), 1);
	ck_assert_int_eq(clinic_submit(&w, &f, "f", out, sizeof out), 1);
	ck_assert_int_eq(harness_restart(&w.h), 0);
	int fd1, fd2;
	const char *flush[] = {"flush", NULL};
	pid_t p1 = clinic_start(&w, &f, &fd1, flush);
	pid_t p2 = clinic_start(&w, &f, &fd2, flush);
	char out2[16384];
	ck_assert_int_eq(clinic_finish(p1, fd1, out, sizeof out), 0);
	ck_assert_int_eq(clinic_finish(p2, fd2, out2, sizeof out2), 0);
	ck_assert_int_eq(lines_with(out, "\"op\":\"SUBMIT\"") + lines_with(out2, "\"op\":\"SUBMIT\""), 3);
	for (int e = 4; e <= 6; e++) {
		char pat[32];
		snprintf(pat, sizeof pat, "\"outbox\":%d,", e);
		ck_assert_int_eq(lines_with(out, pat) + lines_with(out2, pat), 1);
	}
	harness_slip_id(&f, "d", mine[nmine++]);
	harness_slip_id(&f, "e", mine[nmine++]);
	harness_slip_id(&f, "f", mine[nmine++]);

	/* Any command with the outbox flushes first: one queued while rxd is
	 * down goes out ahead of a later status. */
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);
	ck_assert_int_eq(clinic_submit(&w, &f, "g", out, sizeof out), 1);
	ck_assert_int_eq(harness_restart(&w.h), 0);
	ck_assert_int_eq(clinic(&w, &f, out, sizeof out, "status", mine[0]), 0);
	ck_assert_int_eq(lines_with(out, "\"outbox\":7,"), 1);
	ck_assert_ptr_null(strstr(last_line(out), "\"outbox\""));
	ck_assert_ptr_nonnull(strstr(last_line(out), "\"state\":\"ISSUED\""));
	harness_slip_id(&f, "g", mine[nmine++]);

	/* A queued submit whose card assertion went stale (made 400 s ago, as
	 * if the broker had been away that long): rxd refuses it, nothing is
	 * prescribed, the line and `pending` tell the clinic what to do. */
	rxc_outbox_t *ob;
	char msg[256];
	size_t len;
	uint64_t seq;
	ck_assert_int_eq(rxc_outbox_open(&ob, f.outbox, 0, msg, sizeof msg), RX_OK);
	uint8_t *fr = submit_frame(&w, "stale", (int64_t)time(NULL) - 400, &len);
	ck_assert_int_eq(rxc_outbox_put(ob, fr, len, NULL, NULL, &seq), RX_OK);
	free(fr);
	rxc_outbox_close(&ob);
	ck_assert_int_eq(clinic(&w, &f, out, sizeof out, "flush", NULL), 2);
	ck_assert_ptr_nonnull(strstr(out, "\"status\":\"ASSERTION_STALE\""));
	ck_assert_ptr_nonnull(strstr(out, "present"));
	ck_assert_ptr_nonnull(strstr(out, "\"refused\":1"));
	ck_assert_int_eq(clinic(&w, &f, out, sizeof out, "pending", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"pending\":[]"));
	ck_assert_ptr_nonnull(strstr(out, "\"code\":\"ASSERTION_STALE\""));
	ck_assert_ptr_nonnull(strstr(out, "\"advice\""));

	/* rxd's word: the 7 submits (a..g), each exactly once; the stale one
	 * never became a prescription. */
	ck_assert_int_eq(nmine, 7);
	ck_assert_uint_eq(prescriptions_in_rxd(&w), 7);
	size_t n = open_ids(&w, ids, 32);
	ck_assert_uint_eq(n, 7);
	for (int i = 0; i < nmine; i++)
		ck_assert_msg(count_id(ids, n, mine[i]) == 1, "%s listed %d times", mine[i],
			      count_id(ids, n, mine[i]));
	world_down(&w);
}
END_TEST

/* A dir others may enter is refused before anything is sent or kept. */
START_TEST(cli_refuses_an_open_outbox)
{
	world_t w;
	harness_clinic_files_t f;
	char out[4096];
	world_up(&w);
	tu_subdir(f.dir);
	harness_clinic_files(&w.h, &w.doc, &w.card, &f);
	ck_assert_int_eq(mkdir(f.outbox, 0755), 0);
	ck_assert_int_eq(chmod(f.outbox, 0755), 0);
	ck_assert_int_eq(clinic_submit(&w, &f, "open", out, sizeof out), 1);
	ck_assert_ptr_nonnull(strstr(out, "chmod 700"));
	ck_assert_uint_eq(prescriptions_in_rxd(&w), 0);
	ck_assert_int_eq(clinic(&w, &f, out, sizeof out, "pending", NULL), 1);
	ck_assert_int_eq(clinic(&w, &f, out, sizeof out, "flush", NULL), 1);
	world_down(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("clinic-outbox");
	TCase *tc = tcase_create("clinic-outbox");
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, library_queue_survives_a_cut_broker);
	tcase_add_test(tc, cli_outbox_end_to_end);
	tcase_add_test(tc, cli_refuses_an_open_outbox);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
