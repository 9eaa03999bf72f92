/* Integration: clients fail over between the two nodes of a cluster
 * (issue #16, proto/README 1.2) without anyone reconfiguring them.
 *
 * To rxd a failover is a crash and a start on the same data dir, here at
 * another endpoint: rxd runs on a temp dir at endpoint A, is killed by PID
 * (SIGKILL), and starts again on the same dir at endpoint B (the same broker
 * keys, since they live in the dir).  The clients were given "A,B" from the
 * start and carry on: the same rxc_t makes new calls; a DISPENSE sent while
 * A was stopped, sitting unread in A's socket when A dies, is resent to B
 * and applied there once (the same frame again gets the same stored reply;
 * another request id gets ALREADY_DISPENSED); and rx-clinic --broker A,B
 * delivers what its outbox queued while no node answered, and a request
 * whose reply was lost in a failover gets its stored reply from the other
 * node.
 *
 * B's port is chosen at run time and held until B starts by a socket bound
 * to it that never listens: to a client it is a node that is down
 * (connections refused), and the kernel gives the port to nobody else.
 * Every wait is a poll with a deadline; every rxd is stopped by PID (and
 * dies with the test process if an assertion ends it: PR_SET_PDEATHSIG). */
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "harness.h"
#include "outbox.h"
#include "rx_ids.h"
#include "testutil.h"

#define CLINIC "1312345678"
#define PHARMACY "1398765432"
/* What a call may take across a failover on a loaded machine: rxd's start
 * and the client's reconnect (at most about 2.1 s) with room to spare.  A
 * deadline, not an expected time. */
#define FAILOVER_TIMEOUT_MS 60000

/* ---- ports ---- */

/* A loopback port held by a bound socket that never listens. */
typedef struct {
	int fd;
	char endpoint[256];
} port_t;

static void port_hold(port_t *p)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(p->fd, 0);
	ck_assert_int_eq(bind(p->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(p->fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(p->endpoint, sizeof p->endpoint, "tcp://127.0.0.1:%u", ntohs(sa.sin_port));
}

/* Hold the port of endpoint (tcp://127.0.0.1:PORT) of an rxd just killed,
 * until the next start there. */
static void port_hold_again(port_t *p, const char *endpoint)
{
	const char *colon = strrchr(endpoint, ':');
	ck_assert_ptr_nonnull(colon);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)atoi(colon + 1))};
	int one = 1;
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(p->fd, 0);
	/* rxd's listening socket has just closed; SO_REUSEADDR as rxd's own. */
	setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	ck_assert_msg(bind(p->fd, (struct sockaddr *)&sa, sizeof sa) == 0, "port of %s taken", endpoint);
	snprintf(p->endpoint, sizeof p->endpoint, "%s", endpoint);
}

static void port_release(port_t *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* ---- the world: one cluster, its data dir, a clinic and a pharmacy ---- */

typedef struct {
	harness_t h;           /* h.endpoint: where rxd serves now */
	char a[256], b[256];   /* the two nodes' endpoints */
	char list[520];        /* "A,B" */
	port_t held;           /* the endpoint nobody serves, held */
	rx_keypair_t doc, ph, card;
	char patient[RX_PATIENT_ID_LEN + 1];
} world_t;

static void world_up(world_t *w)
{
	memset(w, 0, sizeof *w);
	w->held.fd = -1;
	ck_assert_msg(harness_start(&w->h, 0) == 0, "rxd did not start (is $RXD set?)");
	ck_assert_int_eq(harness_key(&w->h, &w->doc, RX_ROLE_PRESCRIBER, CLINIC), 0);
	ck_assert_int_eq(harness_key(&w->h, &w->ph, RX_ROLE_PHARMACY, PHARMACY), 0);
	ck_assert_int_eq(harness_enroll(&w->h, "123456789018", w->patient), 0);
	ck_assert_int_eq(harness_card(&w->h, w->patient, &w->card), 0);
	snprintf(w->a, sizeof w->a, "%s", w->h.endpoint);
	port_hold(&w->held);
	snprintf(w->b, sizeof w->b, "%s", w->held.endpoint);
	snprintf(w->list, sizeof w->list, "%s,%s", w->a, w->b);
}

static void world_down(world_t *w)
{
	port_release(&w->held);
	harness_cleanup(&w->h);
}

/* The failover: the serving node dies (SIGKILL, reaped), and rxd starts on
 * the same data dir at the other endpoint, whose port is released just
 * before; the dead node's port is held from then on. */
static void fail_over(world_t *w)
{
	char dead[256];
	snprintf(dead, sizeof dead, "%s", w->h.endpoint);
	const char *next = strcmp(dead, w->a) == 0 ? w->b : w->a;
	ck_assert_int_eq(WTERMSIG(harness_stop(&w->h, SIGKILL)), SIGKILL);
	port_release(&w->held);
	port_hold_again(&w->held, dead);
	snprintf(w->h.endpoint, sizeof w->h.endpoint, "%s", next);
	ck_assert_msg(harness_restart(&w->h) == 0, "rxd did not start at %s on %s (see its rxd.log)",
		      next, w->h.dir);
	ck_assert_str_eq(w->h.endpoint, next);
}

/* A client of the cluster: every node's endpoint, one timeout for a call
 * across a failover. */
static rxc_t *cluster_client(world_t *w, const rx_keypair_t *kp)
{
	rxc_t *c = NULL;
	rxc_options_t o = {.timeout_ms = FAILOVER_TIMEOUT_MS, .resend_ms = 300};
	harness_curve_options(&w->h, kp, &o);
	ck_assert_int_eq(rxc_new(&c, NULL, w->list, kp, &o), RX_OK);
	return c;
}

static void submit(world_t *w, rxc_t *c, char id[RX_ID_LEN + 1])
{
	harness_rx_t sp;
	Rx__Signed card;
	rxc_result_t r;
	char notes[48];
	snprintf(notes, sizeof notes, "failover-%u", (unsigned)randombytes_random());
	harness_prescription(&w->doc, "", 1, (int64_t)time(NULL), 0, notes, &sp);
	harness_assertion(&w->h, &w->card, &w->doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	ck_assert_int_eq(rxc_submit(c, NULL, &sp.p, &card, &r), RX_OK);
	strcpy(id, r.receipt->prescription_id);
	rxc_result_free(&r);
	rxc_signed_free(&card);
}

static Rx__Stats stats(world_t *w)
{
	Rx__Stats s;
	ck_assert_int_eq(harness_stats(&w->h, &s), 0);
	return s;
}

/* Bytes waiting unread on the TCP connections accepted on the port of
 * endpoint (tcp://127.0.0.1:PORT), from /proc/net/tcp: what a stopped rxd
 * has been sent and not read. */
static unsigned long unread_at(const char *endpoint)
{
	unsigned port = (unsigned)atoi(strrchr(endpoint, ':') + 1);
	unsigned long total = 0;
	char line[512];
	FILE *f = fopen("/proc/net/tcp", "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f)) {
		unsigned lport, state;
		unsigned long txq, rxq;
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %lx:%lx", &lport, &state, &txq, &rxq) == 4 &&
		    lport == port && state == 1 /* ESTABLISHED */)
			total += rxq;
	}
	fclose(f);
	return total;
}

/* ---- the list ---- */

START_TEST(endpoint_lists_are_checked)
{
	char msg[512];
	rxc_t *c = NULL;
	const char *good[] = {"tcp://127.0.0.1:7400", "tcp://10.0.0.5:7400,tcp://10.0.0.6:7400",
			      "tcp://rx-a.example.jp:7400,tcp://[::1]:7400,ipc:///run/rxd/client.sock",
			      "tcp://h1:1,tcp://h2:2,tcp://h3:3,tcp://h4:4,tcp://h5:5,tcp://h6:6,"
			      "tcp://h7:7,tcp://h8:8"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		ck_assert_msg(rxc_endpoints_check(good[i], msg, sizeof msg) == RX_OK, "%s: %s", good[i], msg);
	struct {
		const char *list, *says;
	} bad[] = {
		{"", "no broker endpoint"},
		{"tcp://a:1,", "endpoint 2 is empty"},
		{",tcp://a:1", "endpoint 1 is empty"},
		{"tcp://a:1,,tcp://b:2", "endpoint 2 is empty"},
		{"tcp://a:1, tcp://b:2", "white space"},
		{"tcp://a:1,tcp://a:1", "named twice"},
		{"tcp://a:1,udp://b:2", "neither tcp://HOST:PORT nor ipc://PATH"},
		{"tcp://a", "port 1..65535"},
		{"tcp://a:0", "port 1..65535"},
		{"tcp://a:65536", "port 1..65535"},
		{"tcp://a:7400x", "port 1..65535"},
		{"tcp://:7400", "port 1..65535"},
		{"tcp://*:7400", "names no host"},
		{"ipc://", "names no socket"},
		{"tcp://a:1,inproc://", "names no socket"},
		{"tcp://h1:1,tcp://h2:2,tcp://h3:3,tcp://h4:4,tcp://h5:5,tcp://h6:6,tcp://h7:7,"
		 "tcp://h8:8,tcp://h9:9",
		 "more than 8"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ck_assert_msg(rxc_endpoints_check(bad[i].list, msg, sizeof msg) == RX_INVALID, "%s passed",
			      bad[i].list);
		ck_assert_msg(strstr(msg, bad[i].says) != NULL, "%s: \"%s\" does not say \"%s\"",
			      bad[i].list, msg, bad[i].says);
		ck_assert_int_eq(rxc_new(&c, NULL, bad[i].list, NULL, NULL), RX_INVALID);
		ck_assert_ptr_null(c);
	}
	char longer[RXC_ENDPOINT_LEN + 16];
	memset(longer, 'h', sizeof longer);
	memcpy(longer, "tcp://", 6);
	snprintf(longer + RXC_ENDPOINT_LEN - 4, 16, ":7400");
	ck_assert_int_eq(rxc_endpoints_check(longer, msg, sizeof msg), RX_INVALID);
	ck_assert_ptr_nonnull(strstr(msg, "longer than 255"));
	ck_assert_int_eq(rxc_endpoints_check(NULL, msg, sizeof msg), RX_INVALID);
	/* A list rxc_new takes: nothing answers there, and a call says so. */
	rxc_options_t o = {.timeout_ms = 300, .resend_ms = 100};
	ck_assert_int_eq(rxc_new(&c, NULL, "tcp://127.0.0.1:1,ipc:///nonexistent/rx.sock", NULL, &o), RX_OK);
	rxc_destroy(&c);
}
END_TEST

/* ---- the library across a failover ---- */

typedef struct {
	rxc_t *c;
	const uint8_t *frame;
	size_t len;
	rxc_result_t r;
} inflight_t;

static void *send_frame(void *arg)
{
	inflight_t *f = arg;
	rxc_call_frame(f->c, f->frame, f->len, &f->r);
	return NULL;
}

START_TEST(calls_fail_over_to_the_other_node)
{
	world_t w;
	char id[RX_ID_LEN + 1], id2[RX_ID_LEN + 1];
	rxc_result_t r;
	world_up(&w);
	rxc_t *clinic = cluster_client(&w, &w.doc);
	rxc_t *pharmacy = cluster_client(&w, &w.ph);

	/* Node A serves: calls go there. */
	submit(&w, clinic, id);
	Rx__Signed a;
	harness_assertion(&w.h, &w.card, &w.ph, RX__PURPOSE__PURPOSE_DISPENSE, &a);
	rxc_proof_t proof = {.card = &a};
	ck_assert_int_eq(rxc_claim(pharmacy, NULL, id, &proof, &r), RX_OK);
	uint8_t token[RX_TOKEN_LEN];
	memcpy(token, r.receipt->claim_token.data, RX_TOKEN_LEN);
	rxc_result_free(&r);
	rxc_signed_free(&a);

	/* The DISPENSE, as a frame kept for resending. */
	harness_rec_t rec;
	Rx__Call call = RX__CALL__INIT;
	uint8_t rid[RX_REQUEST_ID_LEN], *frame;
	size_t len;
	harness_dispense_record(&w.ph, id, 0, &rec);
	rxc_request_id(rid);
	call.request_id.data = rid;
	call.request_id.len = RX_REQUEST_ID_LEN;
	call.op = (Rx__Op)RX_OP_DISPENSE;
	call.prescription_id = id;
	call.claim_token.data = token;
	call.claim_token.len = RX_TOKEN_LEN;
	ck_assert_int_eq(rxc_frame(&w.ph, &call, &rec.d.base, &frame, &len), RX_OK);

	/* A stops answering; the DISPENSE goes out and waits, unread, in A's
	 * socket; A dies with it there and B takes over the data dir. */
	ck_assert_int_eq(kill(w.h.pid, SIGSTOP), 0);
	unsigned long before = unread_at(w.a);
	inflight_t f = {.c = pharmacy, .frame = frame, .len = len};
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, send_frame, &f), 0);
	int64_t deadline = harness_ms() + 20000;
	while (unread_at(w.a) < before + len && harness_ms() < deadline)
		nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
	ck_assert_msg(unread_at(w.a) >= before + len, "the DISPENSE never reached A's socket");
	fail_over(&w);
	ck_assert_int_eq(pthread_join(t, NULL), 0);

	/* The resend reached B: applied once, there. */
	ck_assert_msg(f.r.status == RX_OK, "in-flight DISPENSE: %s %s", rx_err_name(f.r.status),
		      f.r.message);
	ck_assert_str_eq(f.r.receipt->prescription_id, id);
	Rx__Stats s = stats(&w);
	ck_assert_uint_eq(s.dispense_records, 1);
	ck_assert_uint_eq(s.dispensed, 1);

	/* The same frame again: the same stored reply, byte for byte. */
	ck_assert_int_eq(rxc_call_frame(pharmacy, frame, len, &r), RX_OK);
	ck_assert_uint_eq(r.reply->receipt.len, f.r.reply->receipt.len);
	ck_assert_mem_eq(r.reply->receipt.data, f.r.reply->receipt.data, r.reply->receipt.len);
	ck_assert_mem_eq(r.reply->receipt_signature.data, f.r.reply->receipt_signature.data, RX_SIG_LEN);
	rxc_result_free(&r);
	rxc_result_free(&f.r);
	free(frame);
	/* Another request id for the same dispense: refused, not applied. */
	harness_dispense_record(&w.ph, id, 0, &rec);
	ck_assert_int_eq(rxc_dispense(pharmacy, NULL, id, token, &rec.d, &r), RX_ALREADY_DISPENSED);
	rxc_result_free(&r);
	ck_assert_uint_eq(stats(&w).dispense_records, 1);

	/* The clinic's client, connected to A until it died, carries on with
	 * B: a new call, and a read of what B holds. */
	submit(&w, clinic, id2);
	ck_assert_str_ne(id2, id);
	ck_assert_int_eq(rxc_status(clinic, id, NULL, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__DISPENSED);
	rxc_result_free(&r);
	ck_assert_uint_eq(stats(&w).prescriptions, 2);

	/* And back: B dies, A serves again, the same clients follow. */
	fail_over(&w);
	ck_assert_str_eq(w.h.endpoint, w.a);
	ck_assert_int_eq(rxc_status(pharmacy, id, NULL, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__DISPENSED);
	rxc_result_free(&r);
	ck_assert_int_eq(rxc_status(clinic, id2, NULL, &r), RX_OK);
	ck_assert_int_eq(r.receipt->state, RX__STATE__ISSUED);
	rxc_result_free(&r);
	rxc_destroy(&clinic);
	rxc_destroy(&pharmacy);
	world_down(&w);
}
END_TEST

/* ---- rx-clinic --broker A,B and its outbox ---- */

/* Run rx-clinic --broker broker --timeout timeout --outbox DIR ARGS...
 * (args NULL-terminated), stdout into out, stderr dropped; its exit code. */
static int clinic(harness_clinic_files_t *f, const char *broker, const char *timeout, char *out, size_t outlen,
		  const char *const *args)
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
		const char *argv[32] = {getenv("RX_CLINIC"), "--broker", broker, "--key", f->key,
					"--curve-key", f->curve, "--server-key", f->server,
					"--timeout", timeout, "--outbox", f->outbox};
		int n = 13;
		while (*args && n < 31)
			argv[n++] = *args++;
		argv[n] = NULL;
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t k;
	while (n + 1 < outlen && (k = read(p[0], out + n, outlen - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(p[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* rx-clinic submit of a tagged prescription with the card in the reader,
 * its slip to DIR/TAG.slip. */
static int clinic_submit(world_t *w, harness_clinic_files_t *f, const char *broker, const char *timeout,
			 const char *tag, char *out, size_t outlen)
{
	char slip[TU_PATH_MAX + 32], card[TU_PATH_MAX + 32], inst[64], text[512];
	(void)w;
	snprintf(slip, sizeof slip, "--slip=%s/%s.slip", f->dir, tag);
	snprintf(card, sizeof card, "--card=%s", f->card);
	snprintf(inst, sizeof inst, "--institution=%s", f->institution);
	snprintf(text, sizeof text,
		 "{\"valid_days\": 4, \"uses\": 1, \"notes\": \"%s\", \"items\": [{\"drug_code\": "
		 "\"2171022F2025\", \"name\": \"Norvasc 5 mg tablet\", \"dose\": \"1 tablet\", "
		 "\"usage\": \"once daily\", \"days\": 28, \"quantity\": 28, \"unit\": \"tablet\"}]}",
		 tag);
	harness_write_file(f->rx, text);
	const char *args[] = {card, inst, slip, "submit", f->rx, NULL};
	return clinic(f, broker, timeout, out, outlen, args);
}

/* How many of the patient's open prescriptions the serving node lists are
 * id (asked with the card, as a prescriber). */
static int listed(world_t *w, const char *id)
{
	Rx__Signed card;
	rxc_result_t r;
	int n = 0;
	harness_assertion(&w->h, &w->card, &w->doc, RX__PURPOSE__PURPOSE_VIEW, &card);
	rxc_proof_t proof = {.card = &card};
	rxc_t *c = harness_client(&w->h, NULL, &w->doc, 0);
	ck_assert_int_eq(rxc_list(c, NULL, NULL, &proof, &r), RX_OK);
	for (size_t i = 0; i < r.receipt->n_prescriptions; i++)
		n += strcmp(r.receipt->prescriptions[i]->prescription_id, id) == 0;
	rxc_result_free(&r);
	rxc_destroy(&c);
	rxc_signed_free(&card);
	return n;
}

START_TEST(cli_outbox_fails_over)
{
	world_t w;
	harness_clinic_files_t f;
	char out[16384], id[RX_ID_LEN + 1], queued[RX_ID_LEN + 1], lost_id[RX_ID_LEN + 1];
	const char *flush[] = {"flush", NULL};
	world_up(&w);
	tu_subdir(f.dir);
	harness_clinic_files(&w.h, &w.doc, &w.card, &f);

	/* A list --broker will not take, said before anything is sent. */
	char spaced[520], twice[520];
	snprintf(spaced, sizeof spaced, "%s, %s", w.a, w.b);
	snprintf(twice, sizeof twice, "%s,%s", w.a, w.a);
	ck_assert_int_eq(clinic_submit(&w, &f, spaced, "1", "x", out, sizeof out), 1);
	ck_assert_ptr_nonnull(strstr(out, "white space"));
	ck_assert_int_eq(clinic_submit(&w, &f, twice, "1", "x", out, sizeof out), 1);
	ck_assert_ptr_nonnull(strstr(out, "named twice"));
	ck_assert_uint_eq(stats(&w).prescriptions, 0);

	/* A serves: straight through. */
	ck_assert_int_eq(clinic_submit(&w, &f, w.list, "20", "a", out, sizeof out), 0);
	harness_slip_id(&f, "a", id);

	/* Neither node answers (A dead, B not yet up): queued, and said so. */
	ck_assert_int_eq(WTERMSIG(harness_stop(&w.h, SIGKILL)), SIGKILL);
	ck_assert_int_eq(clinic_submit(&w, &f, w.list, "1", "b", out, sizeof out), 1);
	ck_assert_ptr_nonnull(strstr(out, "\"queued\":true"));
	ck_assert_ptr_nonnull(strstr(out, "\"status\":\"UNREACHABLE\""));
	ck_assert_int_eq(clinic(&f, w.list, "1", out, sizeof out, flush), 1);
	ck_assert_ptr_nonnull(strstr(out, "no broker at"));
	ck_assert_ptr_nonnull(strstr(out, "\"pending\":1"));

	/* B takes over the data dir: the same command line delivers it there. */
	harness_t *h = &w.h;
	port_release(&w.held);
	port_hold_again(&w.held, w.a);
	snprintf(h->endpoint, sizeof h->endpoint, "%s", w.b);
	ck_assert_msg(harness_restart(h) == 0, "rxd did not start at %s", w.b);
	ck_assert_int_eq(clinic(&f, w.list, "20", out, sizeof out, flush), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"delivered\":1"));
	ck_assert_ptr_nonnull(strstr(out, "\"pending\":0"));
	harness_slip_id(&f, "b", queued);
	ck_assert_uint_eq(stats(&w).prescriptions, 2);
	ck_assert_int_eq(listed(&w, id), 1);
	ck_assert_int_eq(listed(&w, queued), 1);

	/* A request B applied whose reply was lost (a client died before it
	 * could drop it from its outbox): B dies, A serves again, and the
	 * flush resends the same frame to A, which answers from the store. */
	harness_rx_t sp;
	Rx__Signed card;
	Rx__Call call;
	uint8_t rid[RX_REQUEST_ID_LEN], *frame;
	size_t len;
	uint64_t seq;
	rxc_outbox_t *ob;
	rxc_result_t r;
	char msg[256];
	harness_prescription(&w.doc, w.patient, 1, 0, 0, "reply-lost", &sp);
	harness_assertion(&w.h, &w.card, &w.doc, RX__PURPOSE__PURPOSE_ISSUE, &card);
	rxc_request_id(rid);
	rxc_submit_fill(&call, rid, &card);
	ck_assert_int_eq(rxc_frame(&w.doc, &call, &sp.p.base, &frame, &len), RX_OK);
	rxc_signed_free(&card);
	ck_assert_int_eq(rxc_outbox_open(&ob, f.outbox, RXC_OUTBOX_LOCK, msg, sizeof msg), RX_OK);
	ck_assert_int_eq(rxc_outbox_put(ob, frame, len, NULL, NULL, &seq), RX_OK);
	rxc_outbox_close(&ob);
	rxc_t *c = harness_client(&w.h, NULL, &w.doc, 0);
	ck_assert_int_eq(rxc_call_frame(c, frame, len, &r), RX_OK);
	snprintf(lost_id, sizeof lost_id, "%s", r.receipt->prescription_id);
	rxc_result_free(&r);
	rxc_destroy(&c);
	free(frame);
	ck_assert_uint_eq(stats(&w).prescriptions, 3);

	fail_over(&w);
	ck_assert_str_eq(w.h.endpoint, w.a);
	ck_assert_int_eq(clinic(&f, w.list, "20", out, sizeof out, flush), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"delivered\":1"));
	char want[64];
	snprintf(want, sizeof want, "\"id\":\"%s\"", lost_id);
	ck_assert_msg(strstr(out, want) != NULL, "the flush did not get %s back: %s", lost_id, out);
	ck_assert_uint_eq(stats(&w).prescriptions, 3);
	ck_assert_int_eq(listed(&w, lost_id), 1);
	world_down(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("failover");
	TCase *tc = tcase_create("failover");
	tcase_add_unchecked_fixture(tc, tu_scratch_setup, tu_scratch_teardown);
	tcase_add_test(tc, endpoint_lists_are_checked);
	tcase_add_test(tc, calls_fail_over_to_the_other_node);
	tcase_add_test(tc, cli_outbox_fails_over);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
