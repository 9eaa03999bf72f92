/* cli_talk: the conversations around a prescription in the command-line
 * tools (see cli.h): inquiries to the prescriber and their answers as JSON
 * (疑義照会, proto/README 5.14), and the WATCH/print/ACK loop of the
 * notices (5.9) that both rx-pharmacy and rx-clinic run. */
#include "cli.h"
#include "cli_int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rx_check.h"
#include "rx_types.h"

/* ---- inquiries to the prescriber (疑義照会, proto/README 5.14) ---- */

static const char *const inquiry_reason_names[] = {
	[RX__INQUIRY_REASON__INQUIRY_DOSE] = "dose",
	[RX__INQUIRY_REASON__INQUIRY_INTERACTION] = "interaction",
	[RX__INQUIRY_REASON__INQUIRY_DUPLICATE] = "duplicate",
	[RX__INQUIRY_REASON__INQUIRY_LEFTOVER] = "leftover",
	[RX__INQUIRY_REASON__INQUIRY_OUT_OF_STOCK] = "out_of_stock",
	[RX__INQUIRY_REASON__INQUIRY_DOSAGE_FORM] = "dosage_form",
	[RX__INQUIRY_REASON__INQUIRY_OTHER] = "other",
};
#define NINQUIRY (sizeof inquiry_reason_names / sizeof inquiry_reason_names[0])
static const char *const answer_names[] = {
	[RX__ANSWER__ANSWER_ACCEPT] = "accept",
	[RX__ANSWER__ANSWER_KEEP] = "keep",
	[RX__ANSWER__ANSWER_CANCEL] = "cancel",
};
#define NANSWERS (sizeof answer_names / sizeof answer_names[0])

int cli_inquiry_reason(const char *s)
{
	int v = cli_enum_of(inquiry_reason_names, NINQUIRY, s);
	return v > 0 ? v : 0;
}

const char *cli_inquiry_reason_name(int reason)
{
	return cli_enum_name(inquiry_reason_names, NINQUIRY, reason);
}

int cli_answer(const char *s)
{
	int v = cli_enum_of(answer_names, NANSWERS, s);
	return v > 0 ? v : 0;
}

/* "YYYY-MM-DDTHH:MM:SS" with "Z" or "+HH:MM"/"-HH:MM", or whole unix
 * seconds: 0 and *t, or -1. */
static int when_from_json(json_t *v, int64_t *t)
{
	if (json_is_integer(v)) {
		*t = json_integer_value(v);
		return *t > 0 ? 0 : -1;
	}
	const char *s = json_string_value(v);
	int y, mo, d, h, mi, se, n = 0, zh = 0, zm = 0;
	char sign = 0;
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 19)
		return -1;
	if (strcmp(s + 19, "Z") != 0 &&
	    (sscanf(s + 19, "%c%2d:%2d%n", &sign, &zh, &zm, &n) != 3 || n != 6 || (sign != '+' && sign != '-')))
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || zh > 14 || zm > 59)
		return -1;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = se};
	int64_t off = (int64_t)(zh * 3600 + zm * 60) * (sign == '-' ? -1 : 1);
	*t = (int64_t)timegm(&tm) - off;
	return 0;
}

int cli_changes_from_json(json_t *arr, const char *what, Rx__Change ***changes, size_t *n, char *msg,
			  size_t msglen)
{
	size_t count = json_array_size(arr);
	*changes = NULL;
	*n = 0;
	if (!json_is_array(arr) || count > RX_MAX_ITEMS) {
		snprintf(msg, msglen, "\"%s\" must be an array of at most %d changes", what, RX_MAX_ITEMS);
		return -1;
	}
	if (count && (*changes = calloc(count, sizeof **changes)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		json_t *o = json_array_get(arr, i), *item = json_object_get(o, "item"), *to = json_object_get(o, "to");
		char where[64];
		snprintf(where, sizeof where, "%s %zu: \"to\"", what, i + 1);
		Rx__Change *ch = calloc(1, sizeof *ch + sizeof(Rx__Item));
		(*changes)[i] = ch;
		*n = i + 1;
		if (ch == NULL) {
			snprintf(msg, msglen, "out of memory");
			goto fail;
		}
		rx__change__init(ch);
		if (!json_is_integer(item) || json_integer_value(item) < 1 || json_integer_value(item) > RX_MAX_ITEMS) {
			snprintf(msg, msglen, "%s %zu needs \"item\": the prescribed item's number, 1..%d", what,
				 i + 1, RX_MAX_ITEMS);
			goto fail;
		}
		ch->item = (uint32_t)json_integer_value(item);
		if (to == NULL) {
			snprintf(msg, msglen, "%s %zu needs \"to\": an item, or null (not to be dispensed)", what,
				 i + 1);
			goto fail;
		}
		if (!json_is_null(to)) {
			/* the item lives right after the change, freed with it */
			ch->to = (Rx__Item *)(ch + 1);
			if (cli_item_from_json(to, where, ch->to, msg, msglen))
				goto fail;
		}
	}
	return 0;
fail:
	cli_changes_free(*changes, *n);
	*changes = NULL;
	*n = 0;
	return -1;
}

void cli_changes_free(Rx__Change **changes, size_t n)
{
	if (changes == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(changes[i]);
	free(changes);
}

json_t *cli_changes_to_json(Rx__Change *const *changes, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:I, s:o}", "item", (json_int_t)changes[i]->item, "to",
						   changes[i]->to ? cli_item_to_json(changes[i]->to) : json_null()));
	return a;
}

int cli_inquiry_from_json(json_t *o, Rx__Inquiry *q, char *msg, size_t msglen)
{
	rx__inquiry__init(q);
	if (!json_is_object(o)) {
		snprintf(msg, msglen, "an inquiry is a JSON object: {\"reason\": ..., \"text\": ...}");
		return -1;
	}
	const char *reason = cli_str_field(o, "reason"), *text = cli_str_field(o, "text");
	if ((q->reason = (Rx__InquiryReason)cli_inquiry_reason(reason)) == 0) {
		snprintf(msg, msglen, "\"reason\" must be dose, interaction, duplicate, leftover, out_of_stock, "
				      "dosage_form or other");
		return -1;
	}
	if (text == NULL || text[0] == '\0') {
		snprintf(msg, msglen, "\"text\" must say what the pharmacist asks (a non-empty string)");
		return -1;
	}
	q->text = (char *)text;
	json_t *proposed = json_object_get(o, "proposed");
	if (proposed && cli_changes_from_json(proposed, "proposed", &q->proposed, &q->n_proposed, msg, msglen))
		return -1;
	json_t *phone = json_object_get(o, "by_phone");
	if (phone == NULL || json_is_null(phone))
		return 0;
	const char *who = cli_str_field(phone, "who"), *outcome = cli_str_field(phone, "outcome");
	int answer = cli_answer(outcome);
	q->by_phone = 1;
	if (!json_is_object(phone) || who == NULL || who[0] == '\0') {
		snprintf(msg, msglen, "\"by_phone\" needs \"who\": whom the pharmacist called");
		goto fail;
	}
	q->phoned = (char *)who;
	if (when_from_json(json_object_get(phone, "at"), &q->phoned_at)) {
		snprintf(msg, msglen, "\"by_phone\" needs \"at\": when, \"YYYY-MM-DDTHH:MM:SS+09:00\" or unix seconds");
		goto fail;
	}
	if (answer != RX__ANSWER__ANSWER_ACCEPT && answer != RX__ANSWER__ANSWER_KEEP) {
		snprintf(msg, msglen, "\"by_phone\" needs \"outcome\": \"accept\" or \"keep\"");
		goto fail;
	}
	q->outcome = (Rx__Answer)answer;
	json_t *agreed = json_object_get(phone, "agreed");
	if (answer == RX__ANSWER__ANSWER_ACCEPT &&
	    cli_changes_from_json(agreed, "agreed", &q->agreed, &q->n_agreed, msg, msglen))
		goto fail;
	if (answer == RX__ANSWER__ANSWER_ACCEPT && q->n_agreed == 0) {
		snprintf(msg, msglen, "\"by_phone\": \"outcome\": \"accept\" needs the \"agreed\" changes");
		goto fail;
	}
	if (answer == RX__ANSWER__ANSWER_KEEP && agreed && json_array_size(agreed)) {
		snprintf(msg, msglen, "\"by_phone\": \"outcome\": \"keep\" agrees no changes: drop \"agreed\"");
		goto fail;
	}
	return 0;
fail:
	cli_inquiry_clear(q);
	return -1;
}

void cli_inquiry_clear(Rx__Inquiry *q)
{
	cli_changes_free(q->proposed, q->n_proposed);
	cli_changes_free(q->agreed, q->n_agreed);
	q->proposed = q->agreed = NULL;
	q->n_proposed = q->n_agreed = 0;
}

json_t *cli_inquiry_json(const rxc_result_t *r, size_t i)
{
	char t[32];
	const Rx__InquiryInfo *q = r->reply->inquiries[i];
	const Rx__Call *a = i < r->n_inquiries ? r->answered[i] : NULL;
	const Rx__Inquiry *in = i < r->n_inquiries && r->asked[i] ? r->asked[i]->inquiry : NULL;
	cli_time(q->at, t);
	json_t *o = json_pack("{s:I, s:s, s:s}", "number", (json_int_t)q->number, "at", t, "institution",
			      q->institution_code);
	if (o && in) {
		json_object_set_new(o, "reason", json_string(cli_inquiry_reason_name((int)in->reason)));
		json_object_set_new(o, "text", json_string(in->text));
		json_object_set_new(o, "proposed", cli_changes_to_json(in->proposed, in->n_proposed));
		if (in->by_phone) {
			cli_time(in->phoned_at, t);
			json_object_set_new(o, "by_phone",
					    json_pack("{s:s, s:s, s:s, s:o}", "who", in->phoned, "at", t, "outcome",
						      cli_enum_name(answer_names, NANSWERS, (int)in->outcome), "agreed",
						      cli_changes_to_json(in->agreed, in->n_agreed)));
		}
	}
	if (o && a && a->inquiry_reply) {
		const Rx__InquiryReply *ar = a->inquiry_reply;
		cli_time(q->replied_at, t);
		json_t *ans = json_pack("{s:s, s:s, s:o, s:s}", "answer", cli_enum_name(answer_names, NANSWERS, (int)ar->answer),
					"text", ar->text, "agreed", cli_changes_to_json(ar->agreed, ar->n_agreed), "at", t);
		if (ans && ar->answer == RX__ANSWER__ANSWER_CANCEL)
			json_object_set_new(ans, "cancel_reason",
					    json_string(cli_cancel_reason_name((int)ar->cancel_reason)));
		json_object_set_new(o, "answer", ans);
	} else if (o) {
		json_object_set_new(o, "answer", json_null());
	}
	return o;
}

json_t *cli_inquiries_json(const rxc_result_t *r)
{
	json_t *arr = json_array();
	for (size_t i = 0; r->status == RX_OK && r->reply && i < r->reply->n_inquiries; i++)
		json_array_append_new(arr, cli_inquiry_json(r, i));
	return arr;
}

/* ---- notices (WATCH, ACK: proto/README 5.9, 5.14) ---- */

static const char *const notice_kinds[] = {
	[RX__NOTICE_KIND__NOTICE_NEW] = "new",
	[RX__NOTICE_KIND__NOTICE_CANCEL] = "cancel",
	[RX__NOTICE_KIND__NOTICE_INQUIRY] = "inquiry",
	[RX__NOTICE_KIND__NOTICE_INQUIRY_REPLY] = "inquiry_reply",
	[RX__NOTICE_KIND__NOTICE_DISPENSED] = "dispensed",
	[RX__NOTICE_KIND__NOTICE_AMENDED] = "amended",
	[RX__NOTICE_KIND__NOTICE_WITHDRAWN] = "withdrawn",
	[RX__NOTICE_KIND__NOTICE_EXPIRED] = "expired",
};
#define NKINDS (sizeof notice_kinds / sizeof notice_kinds[0])

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static json_t *notice_json(const Rx__Notice *n)
{
	char at[32];
	cli_time(n->at, at);
	json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "seq", (json_int_t)n->seq, "kind",
			      cli_enum_name(notice_kinds, NKINDS, (int)n->kind), "id", n->prescription_id, "patient_id",
			      n->patient_id, "institution", n->institution_code, "at", at, "state",
			      rx_state_name(n->state), "cancel_pending", (int)n->cancel_pending);
	/* a cancel says why the prescriber withdrew it */
	if (j && n->kind == RX__NOTICE_KIND__NOTICE_CANCEL)
		json_object_set_new(j, "reason", json_string(cli_cancel_reason_name((int)n->cancel_reason)));
	if (j && (n->kind == RX__NOTICE_KIND__NOTICE_INQUIRY || n->kind == RX__NOTICE_KIND__NOTICE_INQUIRY_REPLY))
		json_object_set_new(j, "inquiry", json_integer(n->inquiry));
	/* what became of a clinic's prescription: which use (and part) */
	if (j && n->use)
		json_object_set_new(j, "use", json_integer(n->use));
	if (j && n->part)
		json_object_set_new(j, "part", json_integer(n->part));
	return j;
}

int cli_watch(rxc_t *c, long count, const char *prog, cli_notice_fn more, void *arg)
{
	enum { RECENT = 4096, HEARTBEAT_MS = 30000 };
	static uint64_t recent[RECENT];
	size_t nrecent = 0;
	long printed = 0;
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stopping && (count == 0 || printed < count)) {
		rxc_result_t r;
		rxc_watch(c, &r);
		rx_err_t status = r.status;
		if (status != RX_OK) {
			/* What passes with time is waited out: a broker away, a disk
			 * failing or down to its reserve, a full watcher table. */
			int transient = status == RX_UNREACHABLE || status == RX_UNAVAILABLE ||
					status == RX_STORAGE_FULL || status == RX_WATCHERS_FULL;
			fprintf(stderr, "%s: watch: %s (%s)%s\n", prog, rx_err_name(status), r.message,
				transient ? "; retrying" : "");
			rxc_result_free(&r);
			if (!transient)
				return cli_exit_code(status);
			/* UNREACHABLE already waited its timeout; the others come back
			 * at once, so wait before asking again. */
			for (int i = 0; status != RX_UNREACHABLE && i < 10 && !stopping; i++) {
				struct timespec ts = {0, 500 * 1000000L};
				nanosleep(&ts, NULL);
			}
			continue;
		}
		rxc_result_free(&r);
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			struct timespec t1;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			long left = HEARTBEAT_MS - ((t1.tv_sec - t0.tv_sec) * 1000 +
						    (t1.tv_nsec - t0.tv_nsec) / 1000000);
			if (stopping || left <= 0 || (count && printed >= count))
				break;
			Rx__Notice *n;
			rx_err_t err = rxc_notice(c, left > 500 ? 500 : (int)left, &n);
			if (err == RX_BAD_SIGNATURE)
				fprintf(stderr, "%s: watch: dropped a notice whose broker signature does not verify\n",
					prog);
			if (err != RX_OK)
				continue;
			int seen = 0;
			for (size_t i = 0; i < nrecent && i < RECENT; i++)
				seen |= recent[i] == n->seq;
			/* Not this tool's to print: left un-ACKed for another. */
			json_t *j = seen ? NULL : notice_json(n);
			if (j && more && more(c, n, j, arg)) {
				json_decref(j);
				rx__notice__free_unpacked(n, NULL);
				continue;
			}
			if (!seen) {
				char *line = json_dumps(j, JSON_COMPACT);
				if (line)
					printf("%s\n", line);
				fflush(stdout);
				free(line);
				json_decref(j);
				recent[nrecent++ % RECENT] = n->seq;
				printed++;
			}
			/* Printed (or printed before): done with it. */
			uint64_t seq = n->seq;
			rx__notice__free_unpacked(n, NULL);
			rxc_ack(c, &seq, 1, &r);
			if (r.status != RX_OK)
				fprintf(stderr, "%s: watch: ack %llu: %s (it will come again)\n", prog,
					(unsigned long long)seq, rx_err_name(r.status));
			rxc_result_free(&r);
		}
	}
	return 0;
}
