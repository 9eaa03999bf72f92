/* rxctl: the operator's tool.  Talks to rxd over the admin socket in the data
 * dir (ipc://DIR/admin.sock, mode 0600).
 *
 * This file holds main, the command table (one row per command: its words,
 * arguments, one line of help and its handler; the usage text is printed
 * from it) and what every command shares: the admin call and how a result
 * or a refusal is printed.  The commands live by concern in
 * rxctl_registry.c, rxctl_ops.c, rxctl_verify.c and rxctl_drugs.c (see
 * rxctl.h). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rxctl.h"

/* One row per command; dispatch and the usage text both read it, so adding
 * a command is one row and its handler. */
typedef struct {
	const char *name;     /* the words that select it: "key add" */
	const char *alias;    /* another name for the same command, or NULL */
	const char *synopsis; /* its arguments and options, for the usage text */
	const char *help;     /* for the usage text; "\n" continues it in its column */
	rxctl_run_fn *run;
	int op;		      /* the admin op the handler sends */
	int min_args, max_args; /* how many words may follow the name */
} command_t;

static const command_t commands[] = {
	{"key add", NULL, "--role prescriber|pharmacy --institution CODE --name NAME PUBKEY_HEX",
	 "register a prescriber's or pharmacy's key", rxctl_keys, RX__ADMIN_OP__KEY_ADD, 1, 1},
	{"key list", NULL, "", "the registered signing keys", rxctl_keys, RX__ADMIN_OP__KEY_LIST, 0, 0},
	{"key revoke", NULL, "PUBKEY_HEX", "the key is refused from now on", rxctl_keys,
	 RX__ADMIN_OP__KEY_REVOKE, 1, 1},
	{"patient enroll", NULL, "--my-number NNNNNNNNNNNN|- [--pseudonym-key FILE]",
	 "-: read the number from stdin; the pseudonym key\n"
	 "defaults to the one rxd checked at start", rxctl_enroll, RX__ADMIN_OP__PATIENT_ENROLL, 0, 0},
	{"institution add", NULL, "--code CODE --kind clinic|pharmacy|portal --name NAME --curve-key Z85",
	 "register a clinic, pharmacy or portal", rxctl_institutions,
	 RX__ADMIN_OP__INSTITUTION_ADD, 0, 0},
	{"institution list", NULL, "", "the registered institutions", rxctl_institutions,
	 RX__ADMIN_OP__INSTITUTION_LIST, 0, 0},
	{"institution revoke", NULL, "CODE", "its connections are refused from now on",
	 rxctl_institutions, RX__ADMIN_OP__INSTITUTION_REVOKE, 1, 1},
	{"card enroll", NULL, "--patient PID PUBKEY_HEX", "a patient's card", rxctl_cards,
	 RX__ADMIN_OP__CARD_ENROLL, 1, 1},
	{"card revoke", NULL, "PUBKEY_HEX", "the card is refused from now on", rxctl_cards,
	 RX__ADMIN_OP__CARD_REVOKE, 1, 1},
	{"card list", NULL, "", "the enrolled cards", rxctl_cards, RX__ADMIN_OP__CARD_LIST, 0, 0},
	{"rx show", NULL, "ID [--body]", "state and history (--body: the items, audited)", rxctl_rx,
	 RX__ADMIN_OP__RX_SHOW, 1, 1},
	/* A word after the options was always let through and ignored. */
	{"rx list", NULL, "--state S", "ISSUED CLAIMED PARTIALLY_DISPENSED DISPENSED CANCELLED EXPIRED", rxctl_rx,
	 RX__ADMIN_OP__RX_LIST, 0, 1},
	{"rx release", NULL, "ID --force --reason TEXT", "take back a stuck claim (audited)", rxctl_rx,
	 RX__ADMIN_OP__RX_RELEASE, 1, 1},
	{"rx unlock", NULL, "ID", "code access after 5 wrong access codes", rxctl_unlock,
	 RX__ADMIN_OP__RX_UNLOCK, 1, 1},
	{"audit verify", NULL, "", "check the chain and its signed head",
	 rxctl_audit, RX__ADMIN_OP__AUDIT_VERIFY, 0, 0},
	{"audit tail", NULL, "[-n N]", "the last N audit entries (20)", rxctl_audit,
	 RX__ADMIN_OP__AUDIT_TAIL, 0, 0},
	{"audit patient", NULL, "--patient PID", "a patient's audit entries", rxctl_audit,
	 RX__ADMIN_OP__AUDIT_PATIENT, 0, 0},
	{"audit report", NULL, "--day YYYY-MM-DD", "a day's security report (Japan time)", rxctl_audit,
	 RX__ADMIN_OP__AUDIT_REPORT, 0, 0},
	{"expire", NULL, "", "run the expiry sweep now", rxctl_ops, RX__ADMIN_OP__EXPIRE, 0, 0},
	/* --verify is rxctl_backup_verify's (rxctl_ops hands it over): no rxd. */
	{"backup", NULL, "DEST [--with-pseudonym-key] | --verify DEST",
	 "hot, compacted copy of the store and its keys;\n"
	 "the pseudonym key only with the flag.  --verify:\n"
	 "check a copy without rxd, read-only: its keys,\n"
	 "the whole audit chain and signed head, counts",
	 rxctl_ops, RX__ADMIN_OP__BACKUP, 1, 1},
	{"metrics", NULL, "", "Prometheus text", rxctl_ops, RX__ADMIN_OP__METRICS, 0, 0},
	{"drugs load", NULL, "FILE.csv", "replace the drug master\n"
	 "(columns of deploy/data/drugs-jp.csv)",
	 rxctl_drugs_load, RX__ADMIN_OP__DRUGS_LOAD, 1, 1},
	{"drugs show", NULL, "CODE|PREFIX", "a drug, or the drugs under a code\n"
	 "prefix (4..11 characters)",
	 rxctl_drugs_show, RX__ADMIN_OP__DRUGS_SHOW, 1, 1},
	{"drugs info", NULL, "", "the master's size; the duplicate\n"
	 "check is off while it is empty",
	 rxctl_drugs_show, RX__ADMIN_OP__DRUGS_SHOW, 0, 0},
	{"status", "stats", "", "rxd's figures, space, drug master",
	 rxctl_status, RX__ADMIN_OP__STATS, 0, 0},
	{"health", NULL, "", "one durable commit; exit 0 only if rxd\n"
	 "made it within --timeout (a cluster monitor)",
	 rxctl_ops, RX__ADMIN_OP__HEALTH, 0, 0},
};

/* A command word followed by words no row takes (rx show with no ID,
 * audit what) is refused as invalid with the group's forms, not answered
 * with the usage text. */
static const struct {
	const char *word;
	int min_n, max_n; /* how many words, the command word included */
	const char *forms;
} groups[] = {
	{"rx", 2, 3, "rx show ID [--body] | rx list --state S | rx release ID --force --reason TEXT | rx unlock ID"},
	{"audit", 2, 2, "audit verify | tail [-n N] | patient --patient PID | report --day YYYY-MM-DD"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define HELP_COLUMN 34

static void usage(FILE *f)
{
	fprintf(f, "usage: rxctl [--data DIR] [--json] COMMAND\n");
	for (size_t i = 0; i < COUNT(commands); i++) {
		const command_t *k = &commands[i];
		char left[160];
		snprintf(left, sizeof left, "%s%s%s%s%s", k->name, k->alias ? " | " : "",
			 k->alias ? k->alias : "", k->synopsis[0] ? " " : "", k->synopsis);
		/* A long synopsis has its help on the next line, in the same column. */
		if (strlen(left) + 2 < HELP_COLUMN)
			fprintf(f, "  %-*s", HELP_COLUMN - 2, left);
		else
			fprintf(f, "  %s\n%*s", left, HELP_COLUMN, "");
		for (const char *h = k->help; *h;) {
			size_t len = strcspn(h, "\n");
			fprintf(f, "%.*s\n", (int)len, h);
			h += len;
			if (*h == '\n' && *++h)
				fprintf(f, "%*s", HELP_COLUMN, "");
		}
	}
	fprintf(f, "DIR defaults to ./var/rx, the data dir of the rxd to talk to.\n");
}

/* How many of the words a[0..n) name is ("key add" = 2), or 0 if it is not them. */
static int words_of(const char *name, char **a, int n)
{
	int w = 0;
	for (const char *p = name; *p; w++) {
		size_t len = strcspn(p, " ");
		if (w >= n || strlen(a[w]) != len || strncmp(a[w], p, len) != 0)
			return 0;
		p += len;
		p += *p == ' ';
	}
	return w;
}

static int dispatch(const rxctl_t *c, char **a, int n)
{
	for (size_t i = 0; i < COUNT(commands); i++) {
		const command_t *k = &commands[i];
		int w = words_of(k->name, a, n);
		if (w == 0 && k->alias)
			w = words_of(k->alias, a, n);
		if (w && n - w >= k->min_args && n - w <= k->max_args)
			return k->run(c, k->op, a + w, n - w);
	}
	for (size_t i = 0; i < COUNT(groups); i++)
		if (n >= groups[i].min_n && n <= groups[i].max_n && strcmp(a[0], groups[i].word) == 0)
			return rxctl_failf(c, RX_INVALID, "%s", groups[i].forms);
	return RXCTL_USAGE;
}

int rxctl_finish(const rxctl_t *c, json_t *extra, rx_err_t status, const char *msg,
		 const char *human)
{
	if (c->json)
		return cli_finish(extra, status, msg);
	json_decref(extra);
	if (status == RX_OK) {
		if (human)
			fputs(human, stdout);
	} else {
		fprintf(stderr, "rxctl: %s: %s\n", rx_err_name(status), msg ? msg : rx_strerror(status));
	}
	return cli_exit_code(status);
}

int rxctl_failf(const rxctl_t *c, rx_err_t status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return rxctl_finish(c, NULL, status, msg, NULL);
}

rx_err_t rxctl_admin_call(const rxctl_t *c, const Rx__AdminRequest *q, Rx__AdminReply **out,
			  char *msg, size_t msglen)
{
	return rxc_admin(c->dir, c->timeout_s ? c->timeout_s * 1000 : CLI_DEFAULT_TIMEOUT_MS, q, out,
			 msg, msglen);
}

int rxctl_call_or_finish(const rxctl_t *c, const Rx__AdminRequest *q, Rx__AdminReply **r)
{
	char msg[512];
	rx_err_t err = rxctl_admin_call(c, q, r, msg, sizeof msg);
	if (err == RX_OK)
		return -1;
	if (*r) {
		rx__admin_reply__free_unpacked(*r, NULL);
		*r = NULL;
	}
	return rxctl_finish(c, NULL, err, msg, NULL);
}

int main(int argc, char **argv)
{
	rxctl_t c = {.dir = "./var/rx", .count = 20};
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"role", required_argument, NULL, 'r'},
		{"institution", required_argument, NULL, 'i'},
		{"name", required_argument, NULL, 'a'},
		{"my-number", required_argument, NULL, 'm'},
		{"timeout", required_argument, NULL, 't'},
		{"code", required_argument, NULL, 'c'},
		{"kind", required_argument, NULL, 'k'},
		{"curve-key", required_argument, NULL, 'C'},
		{"patient", required_argument, NULL, 'P'},
		{"count", required_argument, NULL, 'N'},
		{"day", required_argument, NULL, 'D'},
		{"state", required_argument, NULL, 'S'},
		{"reason", required_argument, NULL, 'R'},
		{"body", no_argument, NULL, 'B'},
		{"force", no_argument, NULL, 'F'},
		{"pseudonym-key", required_argument, NULL, 'K'},
		{"with-pseudonym-key", no_argument, NULL, 'W'},
		{"verify", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "d:jr:i:n:m:t:c:k:C:P:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
		case 'N': c.count = (unsigned)atoi(optarg); break;
		case 'd': c.dir = optarg; break;
		case 'j': c.json = 1; break;
		case 'r': c.role = optarg; break;
		case 'i': c.institution = optarg; break;
		case 'a': c.name = optarg; break;
		case 'D': c.day = optarg; break;
		case 'S': c.state = optarg; break;
		case 'R': c.reason = optarg; break;
		case 'B': c.body = 1; break;
		case 'F': c.force = 1; break;
		case 'K': c.pseudonym_key = optarg; break;
		case 'W': c.with_pseudonym_key = 1; break;
		case 'v': c.verify = 1; break;
		case 'm': c.my_number = optarg; break;
		case 't': c.timeout_s = atoi(optarg); break;
		case 'c': c.code = optarg; break;
		case 'k': c.kind = optarg; break;
		case 'C': c.curve_key = optarg; break;
		case 'P': c.patient = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (c.timeout_s < 0 || c.timeout_s > 3600)
		c.timeout_s = 0;
	if (rx_crypto_init() != RX_OK)
		return rxctl_failf(&c, RX_SYSTEM, "libsodium failed to initialise");
	int code = dispatch(&c, argv + optind, argc - optind);
	if (code == RXCTL_USAGE) {
		usage(stderr);
		return 1;
	}
	return code;
}
