/* harness: a real rxd for the Check suites, and talking to it (see harness.h);
 * starting and stopping it is rxd_fixture's. */
#include "harness.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rx_check.h"
#include "rx_ids.h"
#include "rxd_fixture.h"

int64_t harness_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Any free port on loopback, the kernel's choice. */
#define ANY_PORT "tcp://127.0.0.1:*"

static int admin_ok(harness_t *h, const Rx__AdminRequest *q);
static int start_faulty(harness_t *h, const char *shim);

/* Run rxd on h->dir with h's settings, listening on listen. */
static int spawn(harness_t *h, const char *listen)
{
	rxd_fixture_opts_t o = {.rxd = getenv("RXD"),
				.dir = h->dir,
				.listen = listen,
				.map_mib = h->map_mib,
				.metrics = h->metrics,
				.verify_threads = h->verify_threads,
				.pseudonym_key = h->pseudonym_key,
				.replace_key = h->replace_key,
				.preload = h->preload,
				.fault_file = h->fault_file};
	rxd_fixture_t f;
	char why[512];
	rx_err_t err = rxd_fixture_start(&f, &o, why, sizeof why);
	/* A child that never came up is still ours to stop (harness_cleanup). */
	h->pid = f.pid;
	if (err != RX_OK)
		return -1;
	snprintf(h->endpoint, sizeof h->endpoint, "%s", f.endpoint);
	memcpy(h->server_key, f.server_key, sizeof h->server_key);
	return 0;
}

/* h cleared, on a new temp dir, with libsodium started. */
static int fresh(harness_t *h)
{
	memset(h, 0, sizeof *h);
	if (rxd_fixture_mkdtemp(h->dir, sizeof h->dir, "/tmp", "rx-test") != RX_OK) {
		h->dir[0] = '\0';
		return -1;
	}
	return rx_crypto_init() == RX_OK ? 0 : -1;
}

int harness_start(harness_t *h, int map_mib)
{
	if (fresh(h) != 0)
		return -1;
	if (map_mib > 0)
		snprintf(h->map_mib, sizeof h->map_mib, "%d", map_mib);
	return spawn(h, ANY_PORT);
}

int harness_start_keyed(harness_t *h, const char *pseudonym_key)
{
	if (fresh(h) != 0)
		return -1;
	snprintf(h->pseudonym_key, sizeof h->pseudonym_key, "%s", pseudonym_key);
	return spawn(h, ANY_PORT);
}

int harness_pseudonym_path(const harness_t *h, char *path, size_t cap)
{
	if (h->pseudonym_key[0])
		return snprintf(path, cap, "%s", h->pseudonym_key) < (int)cap ? 0 : -1;
	return rx_pseudonym_key_default(h->dir, path, cap) == RX_OK ? 0 : -1;
}

int harness_copy_pseudonym_key(const harness_t *h, const char *dir)
{
	char from[600], to[600];
	rx_keypair_t kp;
	if (harness_pseudonym_path(h, from, sizeof from) != 0 ||
	    rx_pseudonym_key_default(dir, to, sizeof to) != RX_OK)
		return -1;
	*strrchr(to, '/') = '\0';
	if (mkdir(to, 0700) != 0 && errno != EEXIST)
		return -1;
	strcat(to, "/pseudonym.key");
	int rc = rx_key_load(from, &kp) == RX_OK && rx_key_write(to, &kp) == RX_OK ? 0 : -1;
	sodium_memzero(&kp, sizeof kp);
	return rc;
}

int harness_start_metrics(harness_t *h)
{
	if (fresh(h) != 0)
		return -1;
	/* A port the kernel just handed out; free again once closed. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	snprintf(h->metrics, sizeof h->metrics, "tcp://127.0.0.1:%u", ntohs(sa.sin_port));
	return spawn(h, ANY_PORT);
}

int harness_start_faulty_serial(harness_t *h, const char *shim)
{
	if (fresh(h) != 0)
		return -1;
	snprintf(h->verify_threads, sizeof h->verify_threads, "0");
	return start_faulty(h, shim);
}

int harness_start_faulty(harness_t *h, const char *shim)
{
	if (fresh(h) != 0)
		return -1;
	return start_faulty(h, shim);
}

/* On h's fresh dir, under the fault shim, the disk healthy at first. */
static int start_faulty(harness_t *h, const char *shim)
{
	snprintf(h->preload, sizeof h->preload, "%s", shim);
	/* The control file lives beside the data dir's files, not among the
	 * ones the shim watches. */
	snprintf(h->fault_file, sizeof h->fault_file, "%s/fault.ctl", h->dir);
	harness_fault(h, NULL);
	return spawn(h, ANY_PORT);
}

void harness_fault(harness_t *h, const char *mode)
{
	FILE *f = fopen(h->fault_file, "w");
	ck_assert_ptr_nonnull(f);
	if (mode)
		fputs(mode, f);
	ck_assert_int_eq(fclose(f), 0);
}

int harness_start_in(harness_t *h, const char *dir)
{
	memset(h, 0, sizeof *h);
	snprintf(h->dir, sizeof h->dir, "%s", dir);
	if (rx_crypto_init() != RX_OK)
		return -1;
	return spawn(h, ANY_PORT);
}

int harness_restart(harness_t *h)
{
	char path[300], ep[256];
	snprintf(ep, sizeof ep, "%s", h->endpoint);
	snprintf(path, sizeof path, "%s/rxd.endpoint", h->dir);
	unlink(path);
	return spawn(h, ep);
}

int harness_move(harness_t *h, const char *dir)
{
	char path[300];
	if ((size_t)snprintf(h->dir, sizeof h->dir, "%s", dir) >= sizeof h->dir)
		return -1;
	/* The frozen node's: ready means the survivor wrote its own. */
	snprintf(path, sizeof path, "%s/rxd.endpoint", h->dir);
	unlink(path);
	return spawn(h, ANY_PORT);
}

int harness_stop(harness_t *h, int sig)
{
	return rxd_fixture_stop(&h->pid, sig);
}

void harness_cleanup(harness_t *h)
{
	harness_stop(h, SIGKILL);
	if (h->dir[0] && getenv("RX_KEEP_TEST_DIRS") == NULL && rxd_fixture_remove(h->dir) != RX_OK)
		fprintf(stderr, "harness: could not remove %s (or %s-keys)\n", h->dir, h->dir);
}

rxc_t *harness_client_curve(harness_t *h, void *zctx, const rx_keypair_t *kp,
			    const rx_curve_t *curve, int timeout_ms)
{
	rxc_t *c = NULL;
	rxc_options_t o = {.timeout_ms = timeout_ms ? timeout_ms : 5000,
			   .resend_ms = 500,
			   .curve = curve,
			   .server_key = h->server_key};
	ck_assert_int_eq(rxc_new(&c, zctx, h->endpoint, kp, &o), RX_OK);
	return c;
}

/* The curve key pair kp's connections use: its institution's, or for a key
 * the harness never registered the first institution's, so the request
 * reaches rxd and rxd judges the key. */
static const rx_curve_t *curve_of(harness_t *h, const rx_keypair_t *kp)
{
	for (int i = 0; i < h->nkeys; i++)
		if (memcmp(h->keys[i].pk, kp->pk, RX_KEY_LEN) == 0)
			return &h->inst[h->keys[i].inst].curve;
	return h->ninst > 0 ? &h->inst[0].curve : NULL;
}

const char *harness_institution_of(harness_t *h, const rx_keypair_t *kp)
{
	for (int i = 0; i < h->nkeys; i++)
		if (memcmp(h->keys[i].pk, kp->pk, RX_KEY_LEN) == 0)
			return h->inst[h->keys[i].inst].code;
	return h->ninst > 0 ? h->inst[0].code : "";
}

void harness_assertion(harness_t *h, const rx_keypair_t *card, const rx_keypair_t *kp, int purpose,
		       Rx__Signed *out)
{
	ck_assert_int_eq(rxc_card_assertion(card, purpose, harness_institution_of(h, kp),
					    (int64_t)time(NULL), out),
			 RX_OK);
}

int harness_card(harness_t *h, const char *patient, rx_keypair_t *card)
{
	char why[300];
	return rxd_fixture_add_card(h->dir, patient, card, why, sizeof why) == RX_OK ? 0 : -1;
}

void harness_curve_options(harness_t *h, const rx_keypair_t *kp, rxc_options_t *o)
{
	o->curve = curve_of(h, kp);
	o->server_key = h->server_key;
}

rxc_t *harness_client(harness_t *h, void *zctx, const rx_keypair_t *kp, int timeout_ms)
{
	const rx_curve_t *curve = curve_of(h, kp);
	ck_assert_ptr_nonnull(curve);
	return harness_client_curve(h, zctx, kp, curve, timeout_ms);
}

harness_inst_t *harness_institution(harness_t *h, const char *code, int kind)
{
	for (int i = 0; i < h->ninst; i++)
		if (strcmp(h->inst[i].code, code) == 0)
			return &h->inst[i];
	if (h->ninst == HARNESS_MAX_INST)
		return NULL;
	harness_inst_t *in = &h->inst[h->ninst];
	char why[300];
	snprintf(in->code, sizeof in->code, "%s", code);
	in->kind = kind;
	if (rxd_fixture_add_institution(h->dir, in->code, kind, "test institution", &in->curve, why,
					sizeof why) != RX_OK)
		return NULL;
	h->ninst++;
	return in;
}

int harness_admin(harness_t *h, const Rx__AdminRequest *q, Rx__AdminReply **reply)
{
	char msg[256];
	/* A refusal is still a reply; the caller reads its status. */
	(void)rxc_admin(h->dir, 2000, q, reply, msg, sizeof msg);
	return *reply ? 0 : -1;
}

/* The admin request succeeded with OK. */
static int admin_ok(harness_t *h, const Rx__AdminRequest *q)
{
	Rx__AdminReply *r;
	if (harness_admin(h, q, &r) != 0)
		return -1;
	int ok = r->status == RX__STATUS__OK;
	rx__admin_reply__free_unpacked(r, NULL);
	return ok ? 0 : -1;
}

int harness_key(harness_t *h, rx_keypair_t *kp, int role, const char *institution)
{
	harness_inst_t *in = harness_institution(h, institution, role == RX_ROLE_PRESCRIBER ? 1 : 2);
	if (in == NULL || h->nkeys == HARNESS_MAX_KEYS)
		return -1;
	char why[300];
	if (rxd_fixture_add_key(h->dir, role, institution, "test key", kp, why, sizeof why) != RX_OK)
		return -1;
	memcpy(h->keys[h->nkeys].pk, kp->pk, RX_KEY_LEN);
	h->keys[h->nkeys].inst = (int)(in - h->inst);
	h->nkeys++;
	return 0;
}

int harness_revoke(harness_t *h, const rx_keypair_t *kp)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__KeyInfo ki = RX__KEY_INFO__INIT;
	ki.key.data = (uint8_t *)kp->pk;
	ki.key.len = RX_KEY_LEN;
	q.op = RX__ADMIN_OP__KEY_REVOKE;
	q.key = &ki;
	return admin_ok(h, &q);
}

int harness_enroll(harness_t *h, const char *mynumber, char pid[RX_PATIENT_ID_LEN + 1])
{
	char path[300];
	rx_keypair_t pk;
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	if (harness_pseudonym_path(h, path, sizeof path) != 0 || rx_key_load(path, &pk) != RX_OK || rx_patient_id_derive(pk.sk, mynumber, pid) != RX_OK)
		return -1;
	q.op = RX__ADMIN_OP__PATIENT_ENROLL;
	q.patient_id = pid;
	return admin_ok(h, &q);
}

int harness_stats(harness_t *h, Rx__Stats *out)
{
	Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
	Rx__AdminReply *r;
	q.op = RX__ADMIN_OP__STATS;
	if (harness_admin(h, &q, &r) != 0)
		return -1;
	int ok = r->status == RX__STATUS__OK && r->stats;
	if (ok) {
		*out = *r->stats;
		out->version = NULL;
		out->broker_key.data = NULL;
	}
	rx__admin_reply__free_unpacked(r, NULL);
	return ok ? 0 : -1;
}

int harness_rxctl(const harness_t *h, char *out, size_t cap, const char *fmt, ...)
{
	char args[1024], cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "'%s' --data '%s' --json %s 2>/dev/null", getenv("RXCTL"), h->dir, args);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* One real item: ノルバスク錠５ｍｇ (amlodipine 5 mg), NHI code 2171022F2025. */
static void norvasc(Rx__Item *it)
{
	rx__item__init(it);
	it->drug_code = (char *)"2171022F2025";
	it->name = (char *)"ノルバスク錠５ｍｇ";
	it->dose = (char *)"1 tablet";
	it->unit = (char *)"tablet";
	it->usage = (char *)"once daily after breakfast";
	/* A week's supply: a refill's next use opens at once (it opens 7 days
	 * before the supply runs out, proto/README 5.11), so tests on the real
	 * clock can dispense every use. */
	it->days = 7;
	it->quantity = 7;
}

void harness_prescription(const rx_keypair_t *kp, const char *patient, uint32_t uses,
			  int64_t issued_at, int64_t valid_until, const char *notes, harness_rx_t *out)
{
	Rx__Prescription *p = &out->p;
	rx__prescription__init(p);
	norvasc(&out->item);
	out->items[0] = &out->item;
	p->version = RX_DOC_VERSION;
	p->patient_id = (char *)patient;
	p->prescriber_key.data = (uint8_t *)kp->pk;
	p->prescriber_key.len = RX_KEY_LEN;
	p->issued_at = issued_at ? issued_at : (int64_t)time(NULL);
	p->valid_until = valid_until ? valid_until : rx_valid_until(p->issued_at, 4);
	p->uses = uses;
	p->n_items = 1;
	p->items = out->items;
	p->notes = (char *)(notes ? notes : "");
}

void harness_dispense_record(const rx_keypair_t *kp, const char *id, uint32_t use, harness_rec_t *out)
{
	Rx__DispenseRecord *d = &out->d;
	rx__dispense_record__init(d);
	norvasc(&out->item);
	rx__line__init(&out->line);
	out->line.item = 1;
	out->line.outcome = RX__OUTCOME__AS_WRITTEN;
	out->line.handed = &out->item;
	out->lines[0] = &out->line;
	d->version = RX_DOC_VERSION;
	d->prescription_id = (char *)id;
	d->use = use;
	d->pharmacy_key.data = (uint8_t *)kp->pk;
	d->pharmacy_key.len = RX_KEY_LEN;
	d->n_lines = 1;
	d->lines = out->lines;
	d->notes = (char *)"";
}

void harness_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void write_key(const char *path, const rx_keypair_t *kp)
{
	char hex[2 * RX_SEED_LEN + 2];
	rx_hex(kp->sk, RX_SEED_LEN, hex); /* the secret key begins with the seed */
	strcat(hex, "\n");
	harness_write_file(path, hex);
}

void harness_clinic_files(harness_t *h, const rx_keypair_t *doc, const rx_keypair_t *card,
			  harness_clinic_files_t *f)
{
	char text[256], pk[RX_Z85_LEN + 1], sk[RX_Z85_LEN + 1];
	snprintf(f->key, sizeof f->key, "%s/doc.key", f->dir);
	snprintf(f->curve, sizeof f->curve, "%s/clinic.curve", f->dir);
	snprintf(f->card, sizeof f->card, "%s/card.key", f->dir);
	snprintf(f->rx, sizeof f->rx, "%s/rx.json", f->dir);
	snprintf(f->outbox, sizeof f->outbox, "%s/outbox", f->dir);
	snprintf(f->server, sizeof f->server, "%s/broker.curve.pub", h->dir);
	f->institution = harness_institution_of(h, doc);
	write_key(f->key, doc);
	write_key(f->card, card);
	rxc_options_t o = {0};
	harness_curve_options(h, doc, &o);
	rx_z85_encode(o.curve->pk, pk);
	rx_z85_encode(o.curve->sk, sk);
	snprintf(text, sizeof text, "public = %s\nsecret = %s\n", pk, sk);
	harness_write_file(f->curve, text);
}

void harness_slip_id(const harness_clinic_files_t *f, const char *tag, char id[RX_ID_LEN + 1])
{
	char path[HARNESS_PATH_MAX + 32], buf[512] = "";
	snprintf(path, sizeof path, "%s/%s.slip", f->dir, tag);
	FILE *s = fopen(path, "r");
	ck_assert_msg(s != NULL, "no slip %s", path);
	ck_assert_uint_gt(fread(buf, 1, sizeof buf - 1, s), 0);
	fclose(s);
	ck_assert_ptr_nonnull(strstr(buf, "access code"));
	char *p = strstr(buf, "prescription id  ");
	ck_assert_ptr_nonnull(p);
	snprintf(id, RX_ID_LEN + 1, "%s", p + strlen("prescription id  "));
}
