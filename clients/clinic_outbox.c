/* clinic_outbox: rx-clinic's outbox commands and output (see clinic_outbox.h). */
#include "clinic_outbox.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "rx_check.h"
#include "rx_types.h"
#include "rx_ops.h"

/* How long rxd accepts a card assertion after it was made (proto/README.md
 * 3.4, C4).  The assertion is made just before the entry is queued. */
#define ASSERTION_WINDOW 300

/* The patient's slip: what a patient without a card needs at the pharmacy.
 * It holds the access code, so it is written to a private file, never
 * printed. */
static int write_slip(const char *path, const Rx__Receipt *rc)
{
	char t[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	cli_time(rc->valid_until, t);
	int ok = fprintf(f,
			 "electronic prescription\n"
			 "  prescription id  %s\n"
			 "  access code      %s\n"
			 "  valid until      %s\n"
			 "Show this slip at any pharmacy if you have no My Number Card.\n",
			 rc->prescription_id, rc->access_code, t) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* What the user must do about a refused queued entry, beyond rxd's reason. */
static const char *advice(int op, rx_err_t status)
{
	if (op == RX_OP_SUBMIT && status == RX_ASSERTION_STALE)
		return "the patient's card assertion in this queued submit is older than the 5 minutes "
		       "rxd accepts, so nothing was prescribed: the patient must present the card "
		       "again (submit anew with the card in the reader)";
	if (status == RX_SYSTEM)
		return "this outbox entry could not be read and was set aside, not sent";
	return NULL;
}

static void set_time(json_t *o, const char *k, int64_t t)
{
	char s[32];
	cli_time(t, s);
	json_object_set_new(o, k, json_string(s));
}

/* The fields every line about an entry has; no secrets. */
static json_t *entry_json(const rxc_outbox_entry_t *e)
{
	json_t *o = json_object();
	json_object_set_new(o, "outbox", json_integer((json_int_t)e->seq));
	json_object_set_new(o, "op", json_string(e->op ? rx_op_name(e->op) : "?"));
	json_object_set_new(o, "request_id", cli_hex(e->request_id, RX_REQUEST_ID_LEN));
	if (e->prescription_id[0])
		json_object_set_new(o, "id", json_string(e->prescription_id));
	set_time(o, "queued_at", e->created);
	return o;
}

typedef struct {
	int flushing;   /* print a line per entry, keep receipts */
	json_t *extra;  /* otherwise: the slip's fate, for the command's own line */
	int delivered, refused;
	rx_err_t first_refusal;
} done_ctx_t;

/* An entry was answered (or set aside): write its slip and receipt, and
 * while flushing print its line. */
static void on_done(const rxc_outbox_entry_t *e, const rxc_result_t *r, void *arg)
{
	done_ctx_t *x = arg;
	json_t *extra = json_object();
	if (r->status == RX_OK && e->op == RX_OP_SUBMIT && e->slip && r->receipt) {
		if (write_slip(e->slip, r->receipt) != 0) {
			fprintf(stderr, "rx-clinic: could not write the slip to %s\n", e->slip);
			json_object_set_new(extra, "slip_written", json_false());
		} else {
			json_object_set_new(extra, "slip", json_string(e->slip));
		}
	}
	if (!x->flushing) {
		x->extra = extra;
		return;
	}
	if (cli_write_receipt(r, e->receipt) != 0)
		fprintf(stderr, "warning: could not write the receipt to %s\n", e->receipt);
	if (r->status == RX_OK) {
		x->delivered++;
	} else if (x->refused++ == 0) {
		x->first_refusal = r->status;
	}
	json_t *o = cli_result_json(r), *fields = entry_json(e);
	json_object_update_missing(o, fields);
	json_object_update(o, extra);
	json_decref(fields);
	json_decref(extra);
	char msg[sizeof r->message + 300];
	const char *hint = advice(e->op, r->status);
	snprintf(msg, sizeof msg, "%s%s%s", r->message, hint ? ": " : "", hint ? hint : "");
	cli_finish(o, r->status, msg);
}

int clinic_outbox_start(clinic_outbox_t *o, rxc_t *c, int flush_only)
{
	char msg[512];
	size_t pending = 0, failed = 0;
	done_ctx_t x = {.flushing = 1};

	if (o->dir == NULL)
		return -1;
	rx_err_t err = rxc_outbox_open(&o->ob, o->dir, RXC_OUTBOX_LOCK, msg, sizeof msg);
	if (err != RX_OK)
		return cli_finish(NULL, err == RX_PERMISSION_DENIED ? RX_SYSTEM : err, msg);
	err = rxc_outbox_flush(o->ob, c, on_done, &x, msg, sizeof msg);
	if (!flush_only)
		return -1;
	if (rxc_outbox_count(o->ob, &pending, &failed) != RX_OK)
		return cli_fail("cannot read the outbox in %s", o->dir);
	json_t *sum = json_pack("{s:s, s:i, s:i, s:I}", "outbox_dir", o->dir, "delivered", x.delivered,
				"refused", x.refused, "pending", (json_int_t)pending);
	if (err == RX_UNREACHABLE) {
		char full[1024];
		snprintf(full, sizeof full,
			 strchr(o->broker, ',') ? "no broker at %s answered; %zu request%s stay%s queued: %s"
						: "the broker at %s did not answer; %zu request%s stay%s queued: %s",
			 o->broker,
			 pending, pending == 1 ? "" : "s", pending == 1 ? "s" : "", msg);
		return cli_finish(sum, err, full);
	}
	if (err != RX_OK)
		return cli_finish(sum, err, msg);
	if (x.refused) {
		snprintf(msg, sizeof msg,
			 "%d queued request%s refused by the broker (see the lines above; "
			 "`rx-clinic --outbox %s pending` keeps the last %d)",
			 x.refused, x.refused == 1 ? " was" : "s were", o->dir, RXC_OUTBOX_FAILED_MAX);
		return cli_finish(sum, x.first_refusal, msg);
	}
	return cli_finish(sum, RX_OK, NULL);
}

void clinic_outbox_end(clinic_outbox_t *o)
{
	rxc_outbox_close(&o->ob);
}

typedef struct {
	json_t *list;
	int failed; /* walking the failed table */
} list_ctx_t;

static int list_one(const rxc_outbox_entry_t *e, void *arg)
{
	list_ctx_t *x = arg;
	json_t *o = entry_json(e);
	if (!x->failed) {
		if (e->op == RX_OP_SUBMIT) {
			set_time(o, "card_assertion_until", e->created + ASSERTION_WINDOW);
			json_object_set_new(o, "card_assertion_stale",
					    json_boolean((int64_t)time(NULL) > e->created + ASSERTION_WINDOW));
		}
		if (e->slip)
			json_object_set_new(o, "slip", json_string(e->slip));
	} else {
		const char *hint = advice(e->op, e->status);
		set_time(o, "failed_at", e->failed_at);
		json_object_set_new(o, "code", json_string(rx_err_name(e->status)));
		json_object_set_new(o, "message", json_string(e->message));
		if (hint)
			json_object_set_new(o, "advice", json_string(hint));
	}
	json_array_append_new(x->list, o);
	return 0;
}

int clinic_outbox_pending(const char *dir)
{
	rxc_outbox_t *ob;
	char msg[512];
	rx_err_t err = rxc_outbox_open(&ob, dir, 0, msg, sizeof msg);
	if (err != RX_OK)
		return cli_finish(NULL, err == RX_PERMISSION_DENIED ? RX_SYSTEM : err, msg);
	json_t *pending = json_array(), *failed = json_array();
	list_ctx_t p = {pending, 0}, f = {failed, 1};
	if (rxc_outbox_list(ob, 0, list_one, &p) != RX_OK ||
	    rxc_outbox_list(ob, 1, list_one, &f) != RX_OK) {
		json_decref(pending);
		json_decref(failed);
		rxc_outbox_close(&ob);
		return cli_fail("cannot read the outbox in %s", dir);
	}
	rxc_outbox_close(&ob);
	return cli_finish(json_pack("{s:s, s:o, s:o}", "outbox_dir", dir, "pending", pending, "failed",
				    failed),
			  RX_OK, NULL);
}

/* path as an absolute path, so a flush from another directory finds it. */
static const char *absolute(const char *path, char out[PATH_MAX])
{
	char cwd[PATH_MAX];
	if (path == NULL || path[0] == '/')
		return path;
	if (getcwd(cwd, sizeof cwd) == NULL ||
	    snprintf(out, PATH_MAX, "%s/%s", cwd, path) >= PATH_MAX)
		return NULL;
	return out;
}

int clinic_send(clinic_outbox_t *o, rxc_t *c, const rx_keypair_t *kp, const Rx__Call *call,
		const ProtobufCMessage *doc, const char *slip, const char *id)
{
	done_ctx_t x = {0};
	rxc_outbox_entry_t e;
	rxc_result_t r;
	uint8_t *frame;
	size_t len;
	uint64_t seq = 0;
	int queued = 0;
	char slip_abs[PATH_MAX], receipt_abs[PATH_MAX];

	if (o->ob == NULL) {
		/* No outbox: send, and on OK write the slip as a delivered entry would. */
		memset(&e, 0, sizeof e);
		e.op = (int)call->op;
		e.slip = (char *)slip;
		rxc_call_doc(c, call, doc, &r);
		on_done(&e, &r, &x);
		return cli_print_result(&r, x.extra, o->broker, id);
	}
	const char *sp = absolute(slip, slip_abs), *rp = absolute(cli_receipt_path(), receipt_abs);
	if ((slip && sp == NULL) || (cli_receipt_path() && rp == NULL))
		return cli_fail("--slip and --receipt paths must fit in %d characters", PATH_MAX);
	if (rxc_frame(kp, call, doc, &frame, &len) != RX_OK)
		return cli_fail("out of memory");
	rxc_outbox_send(o->ob, c, frame, len, sp, rp, on_done, &x, &r, &seq, &queued);
	free(frame);
	if (!queued)
		return cli_print_result(&r, x.extra, o->broker, id);

	/* Queued: say so, and until when a queued SUBMIT can still succeed. */
	char msg[1024], until[32];
	int64_t now = (int64_t)time(NULL);
	json_t *out = cli_result_json(&r);
	json_object_set_new(out, "queued", json_true());
	json_object_set_new(out, "outbox", json_integer((json_int_t)seq));
	json_object_set_new(out, "outbox_dir", json_string(o->dir));
	if (id)
		json_object_set_new(out, "id", json_string(id));
	int n = snprintf(msg, sizeof msg,
			 "%s (broker %s); the request is queued in %s as entry %llu and is sent "
			 "again, byte for byte, by `rx-clinic --outbox %s flush` or the next "
			 "rx-clinic command with this outbox",
			 r.message, o->broker, o->dir, (unsigned long long)seq, o->dir);
	if ((int)call->op == RX_OP_SUBMIT) {
		cli_time(now + ASSERTION_WINDOW, until);
		set_time(out, "card_assertion_until", now + ASSERTION_WINDOW);
		snprintf(msg + n, sizeof msg - (size_t)n,
			 ". rxd accepts the patient's card assertion in it until about %s; delivered "
			 "later, it is refused ASSERTION_STALE and the patient must present the card again",
			 until);
	}
	json_decref(x.extra);
	int code = cli_finish(out, r.status, msg);
	rxc_result_free(&r);
	return code;
}
