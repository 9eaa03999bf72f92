/* cli: what the command-line tools share: the JSON they print, exit codes,
 * key files, request ids, prescription items and times.
 *
 * Every client command prints exactly one JSON object on stdout with at
 * least "status"; exit 0 on OK, 2 on a refusal by the broker, 1 on anything
 * else (bad usage, unreadable file, unreachable broker). */
#ifndef CLI_H
#define CLI_H

#include <jansson.h>
#include <stdint.h>

#include "rx.pb-c.h"
#include "rx_crypto.h"
#include "rxclient.h"

#define CLI_DEFAULT_BROKER "tcp://127.0.0.1:5570"

/* The options rx-clinic and rx-pharmacy share. */
typedef struct {
	const char *broker, *keyfile, *rid_hex, *pin_hex;
	int timeout_s;
	const char *curve_file;  /* --curve-key FILE: the institution's CurveZMQ key pair */
	const char *server_key;  /* --server-key: the broker's CurveZMQ key, Z85 or a file holding it */
	const char *card_file;   /* --card FILE: the patient's card, as the reader holds it */
	const char *institution; /* --institution CODE: where the card reader is */
	const char *access_code; /* --access-code CODE|-: from the patient's slip */
} cli_conn_t;

/* Unless --timeout says otherwise, give up after 4.5 s, so an unreachable
 * broker is reported within 5 s. */
#define CLI_DEFAULT_TIMEOUT_MS 4500
#define CLI_CONN_INIT {CLI_DEFAULT_BROKER, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL}
/* getopt_long entries and short letters for the shared options. */
#define CLI_CONN_OPTIONS                                          \
	{"broker", required_argument, NULL, 'b'},                 \
	{"key", required_argument, NULL, 'k'},                    \
	{"request-id", required_argument, NULL, 'r'},             \
	{"broker-key", required_argument, NULL, 'p'},             \
	{"timeout", required_argument, NULL, 't'},                \
	{"curve-key", required_argument, NULL, 'C'},              \
	{"server-key", required_argument, NULL, 'S'},             \
	{"card", required_argument, NULL, 256},                   \
	{"institution", required_argument, NULL, 257},            \
	{"access-code", required_argument, NULL, 258},            \
	{"receipt", required_argument, NULL, 259}
#define CLI_CONN_LETTERS "b:k:r:p:t:C:S:"

/* Take a shared option; 1 if ch was one of them. */
int cli_conn_option(cli_conn_t *o, int ch, const char *arg);

/* Load the key, read --request-id and --broker-key, and connect.  Returns
 * -1 on success; otherwise it printed the error and returns the exit code.
 * On success the caller owns *c (rxc_destroy). */
int cli_connect(const cli_conn_t *o, rx_keypair_t *kp, uint8_t rid[RX_REQUEST_ID_LEN], rxc_t **c);

/* 0, 2 or 1 as above. */
int cli_exit_code(rx_err_t err);

/* Print {"status": NAME, "message": msg, ...extra} and return the exit code.
 * Takes ownership of extra (may be NULL).  With human != 0 (rxctl without
 * --json) print msg to stderr instead, if not OK. */
int cli_finish(json_t *extra, rx_err_t status, const char *msg);

/* Print a usage or local error as JSON (status "USAGE"/"SYSTEM"), exit 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Load a key file, with a message naming the problem on failure. */
int cli_load_key(const char *path, rx_keypair_t *kp, char *msg, size_t msglen);

/* --request-id HEX32, or a fresh one if hex is NULL.  0 on success. */
int cli_request_id(const char *hex, uint8_t rid[RX_REQUEST_ID_LEN]);

/* ISO 8601 in Japan time, e.g. "2026-11-30T00:00:00+09:00". */
void cli_time(int64_t t, char out[32]);

/* Hex string of n bytes as a new JSON string. */
json_t *cli_hex(const uint8_t *p, size_t n);

/* Items from JSON ([{"drug_code", "name", "dose", "unit", "usage", "days",
 * "quantity"}], each with the prescriber's marks (proto/README 5.10) as
 * optional booleans "no_change", "medical_necessity" (only with no_change),
 * "no_form_change", "no_strength_change"; other keys are ignored).  On
 * success *items is a heap array of heap Rx__Item the caller frees with
 * cli_items_free; strings point into the json, which must outlive them.
 * Returns 0, or -1 with msg set (naming the item, from 1). */
int cli_items_from_json(json_t *arr, Rx__Item ***items, size_t *n, char *msg, size_t msglen);
void cli_items_free(Rx__Item **items, size_t n);
/* The items as JSON, in the shape cli_items_from_json reads; a mark only
 * when it is set.  Caller owns the array. */
json_t *cli_items_to_json(Rx__Item *const *items, size_t n);

/* A dispense record's lines from RECORD.json's "lines" (README, rx-pharmacy
 * dispense): [{"item": K, "outcome": "as_written" | "substituted" |
 * "not_dispensed" | "partial", "reason": ..., "handed": {an item, no
 * marks}}], in any order, one line for every item of p (the prescription
 * being dispensed) that owed (NULL: every item in full) says is still owed:
 * all of them but in a part after the first (proto/README 5.13).  part is
 * the record's (0: the whole use).  An as_written line without "handed"
 * hands over the prescribed item, its marks cleared (what is owed of it,
 * its days in proportion, in a later part).  Checked here so a pharmacist
 * learns which line is wrong before anything is signed: each owed item
 * listed exactly once and no other, the outcome's reasons, handed present
 * unless not_dispensed, as_written the prescribed code and substituted
 * another, a partial line less than is owed; at least one line handed over
 * (but in a later part, which may close what is owed), a partial line only
 * in a part, part 1 with one, none in part 8.  (Whether a substitute is
 * allowed is the broker's: SUBSTITUTION_NOT_ALLOWED, DIFFERENT_INGREDIENT.)
 * On success the lines are in the prescription's order and the caller frees
 * them with rxc_lines_free; their strings point into arr and p, which must
 * outlive them.  Returns 0, or -1 with msg set. */
int cli_lines_from_json(json_t *arr, const Rx__Prescription *p, const uint32_t *owed, uint32_t part,
			Rx__Line ***lines, size_t *n, char *msg, size_t msglen);
/* The days of supply of qty units of it: its days in proportion (rounded
 * down, at least 1); its days if qty is all of it. */
uint32_t cli_days_of(const Rx__Item *it, uint32_t qty);
/* A line's reason from its word in RECORD.json ("out_of_stock", ...): the
 * Rx__LineReason, or 0 if s (may be NULL) is none of them. */
int cli_line_reason(const char *s);
/* A withdrawal's reason from its word ("dispensed_in_error",
 * "not_collected", "recorded_in_error", "other"): the Rx__WithdrawReason,
 * or 0 if s (may be NULL) is none of them. */
int cli_withdraw_reason(const char *s);
/* A cancel reason by its name (prescribing_error, patient_request,
 * therapy_changed, duplicate, other), 0 if s (may be NULL) is none; and
 * the name of one ("not_stated" for 0 or one this build does not know). */
int cli_cancel_reason(const char *s);
const char *cli_cancel_reason_name(int reason);
/* Lines as JSON, in the shape cli_lines_from_json reads ("reason" only if
 * there is one, "handed" only if something was).  Caller owns the array. */
json_t *cli_lines_to_json(Rx__Line *const *lines, size_t n);

/* A prescription as the pharmacist or its prescriber reads it: patient_id,
 * issued_at, items (with their marks), notes, and part_days if it is
 * divided.  Caller owns the object. */
json_t *cli_prescription_json(const Rx__Prescription *p);
/* STATUS: each dispense record of r, in the reply's order (use, the part
 * if it is one of a use handed over in parts, at, institution, and the
 * record's lines and notes; a record stored before lines has "items"
 * instead).  An amended or withdrawn record is there too,
 * "superseded": true (proto/README 5.12); a record that replaces another
 * has "replaces" (that record's hash, hex); a withdrawal has "withdrawn"
 * (its reason, as cli_withdraw_reason reads it) and no lines.  Caller owns
 * the array; empty if nothing was dispensed. */
json_t *cli_dispenses_json(const rxc_result_t *r);

/* The fields of an OK receipt (or just status and message on refusal) as
 * the JSON every client command prints; "opens_at" only when the receipt
 * bounds the current use's start. */
json_t *cli_result_json(const rxc_result_t *r);

/* The patient's proof from --card (an assertion for purpose, made now at
 * --institution) or --access-code (read from stdin if "-").  Returns -1 on
 * success (*card is heap memory then, rxc_signed_free; code holds the code
 * if one was given), or the exit code after printing the error. */
int cli_proof(const cli_conn_t *o, int purpose, rxc_proof_t *proof, Rx__Signed *card,
	      char code[64]);

/* Print the result of a call (cli_result_json plus extra, owned), naming
 * the endpoint if the broker did not answer and the prescription id (may be
 * NULL) even on a refusal; frees r; returns the exit code. */
int cli_print_result(rxc_result_t *r, json_t *extra, const char *broker, const char *id);

/* --receipt FILE as given, or NULL. */
const char *cli_receipt_path(void);

/* Keep an OK result's receipt, its signature and the broker's key in path
 * (mode 0600).  0 if written or nothing to write (path NULL, not OK). */
int cli_write_receipt(const rxc_result_t *r, const char *path);

/* Read a whole JSON file; NULL with msg set on failure. */
json_t *cli_read_json(const char *path, char *msg, size_t msglen);

/* ---- inquiries to the prescriber (疑義照会, proto/README 5.14) ---- */

/* An inquiry's reason by its word (dose, interaction, duplicate, leftover,
 * out_of_stock, dosage_form, other), 0 if s (may be NULL) is none; and the
 * word of one ("unknown" if this build does not know it).  An answer by its
 * word (accept, keep, cancel), 0 if none. */
int cli_inquiry_reason(const char *s);
const char *cli_inquiry_reason_name(int reason);
int cli_answer(const char *s);
/* Changes from JSON ([{"item": K, "to": {an item as in RX.json} | null}],
 * what names the array in msg): on success *changes is a heap array the
 * caller frees with cli_changes_free (each change owns its item; strings
 * point into arr, which must outlive them).  An empty array is 0 changes.
 * Returns 0, or -1 with msg set. */
int cli_changes_from_json(json_t *arr, const char *what, Rx__Change ***changes, size_t *n, char *msg,
			  size_t msglen);
void cli_changes_free(Rx__Change **changes, size_t n);
/* Changes as JSON, in the shape cli_changes_from_json reads.  Caller owns it. */
json_t *cli_changes_to_json(Rx__Change *const *changes, size_t n);
/* INQUIRY.json (README, rx-pharmacy inquire) into *q: "reason", "text",
 * optional "proposed" and "by_phone" {"who", "at", "outcome", "agreed"}.
 * Strings point into o, which must outlive q; the caller frees q's changes
 * with cli_inquiry_clear.  Returns 0, or -1 with msg set (nothing to free). */
int cli_inquiry_from_json(json_t *o, Rx__Inquiry *q, char *msg, size_t msglen);
void cli_inquiry_clear(Rx__Inquiry *q);
/* Inquiry i of a verified STATUS (rxc_status: r->reply->inquiries[i], its
 * calls decoded in r->asked and r->answered) as JSON: number, at,
 * institution, reason, text, proposed, by_phone (if settled by telephone),
 * and answer ({answer, text, agreed, at[, cancel_reason]} or null while
 * open).  Caller owns it.  cli_inquiries_json: all of r's, in order
 * (empty if none). */
json_t *cli_inquiry_json(const rxc_result_t *r, size_t i);
json_t *cli_inquiries_json(const rxc_result_t *r);

/* What a tool adds to a notice's JSON line before it is printed (c is the
 * watching connection, free for other requests; j the line, n borrowed):
 * 0 to print and ACK it, 1 to pass it by (not printed, not ACKed: it waits
 * for another watcher, and comes again with the next WATCH). */
typedef int (*cli_notice_fn)(rxc_t *c, const Rx__Notice *n, json_t *j, void *arg);
/* WATCH, then print each notice once as a JSON line (seq, kind: new,
 * cancel, inquiry, inquiry_reply, dispensed, amended, withdrawn or
 * expired, id, patient_id, institution, at, state, cancel_pending; a
 * cancel's reason, an inquiry's number, a dispense's use and part) with
 * what more adds (may be NULL), and ACK it.  A notice whose ACK is lost comes again
 * with the next WATCH (every 30 s, also the heartbeat), so recently printed
 * seqs are not printed twice.  Stops after count notices (0: never) or on
 * SIGINT/SIGTERM: returns 0, or the exit code of a refusal that time does
 * not mend (prog names the tool on stderr). */
int cli_watch(rxc_t *c, long count, const char *prog, cli_notice_fn more, void *arg);

#endif
