/* rxctl's own header: what rxctl.c (main, the command table, the helpers)
 * shares with the files that hold the commands (rxctl_registry.c: keys,
 * institutions, cards, patients; rxctl_ops.c: status, prescriptions, audit,
 * expiry, backup, metrics; rxctl_verify.c: a backup's check; rxctl_drugs.c:
 * the drug master).  Not a library:
 * nothing outside rxctl includes it. */
#ifndef RXCTL_H
#define RXCTL_H

#include <jansson.h>
#include <stddef.h>

#include "cli.h"

/* What the command line said: the global flags and every --option any
 * command reads.  main fills it once; the commands only read it. */
typedef struct {
	const char *dir; /* --data DIR: the data dir of the rxd to talk to */
	int timeout_s;	 /* --timeout S; 0 = CLI_DEFAULT_TIMEOUT_MS */
	int json;	 /* --json: one JSON object on stdout instead of text */
	const char *role, *institution, *name, *my_number, *code, *kind, *curve_key, *patient, *day,
		*state, *reason, *pseudonym_key;
	unsigned count; /* -n/--count N for audit tail */
	int body, force, with_pseudonym_key, verify;
} rxctl_t;

/* A command's handler: op is its row's admin op, args the words after the
 * command's name (as many as its row allows).  Returns the exit code, or
 * RXCTL_USAGE for a command line it does not take (main prints the usage
 * text and exits 1). */
#define RXCTL_USAGE (-1)
typedef int rxctl_run_fn(const rxctl_t *c, int op, char **args, int nargs);

/* The handlers, one per concern; the table in rxctl.c names their rows. */
rxctl_run_fn rxctl_keys, rxctl_institutions, rxctl_cards, rxctl_enroll;
rxctl_run_fn rxctl_status, rxctl_rx, rxctl_unlock, rxctl_audit, rxctl_ops;
rxctl_run_fn rxctl_drugs_load, rxctl_drugs_show;

/* backup --verify DEST (rxctl_verify.c): check a backup's copy without rxd,
 * read-only.  Prints the result; returns the exit code: 0 sound, 2 not
 * (status BROKEN for the audit chain, else the code: NOT_FOUND, CONFLICT,
 * INVALID), 1 if it could not be checked. */
int rxctl_backup_verify(const rxctl_t *c, const char *dest);

/* Print a result or a refusal and return its exit code: with --json the
 * object extra (owned, may be NULL) plus status and msg; otherwise human on
 * stdout when OK, "rxctl: NAME: msg" on stderr when not. */
int rxctl_finish(const rxctl_t *c, json_t *extra, rx_err_t status, const char *msg,
		 const char *human);

/* rxctl_finish with no result and a formatted message. */
int rxctl_failf(const rxctl_t *c, rx_err_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One admin request and its reply (rxc_admin with --timeout).  On RX_OK the
 * caller owns *out (rx__admin_reply__free_unpacked); otherwise msg says why
 * and *out may still need freeing. */
rx_err_t rxctl_admin_call(const rxctl_t *c, const Rx__AdminRequest *q, Rx__AdminReply **out,
			  char *msg, size_t msglen);

/* Send q.  A refusal or error is printed and its exit code returned (>= 0);
 * on OK -1 is returned and *r is the caller's. */
int rxctl_call_or_finish(const rxctl_t *c, const Rx__AdminRequest *q, Rx__AdminReply **r);

#endif
