/* check: the whole history of a crash run against the restarted broker.
 *
 * Reads every client's journal, then asks the running rxd (by the clients'
 * own connections, and rxctl for the audit chain) and reads its LMDB
 * read-only (keys of "rx" and "dispenses", which are plain, and the audit
 * log, which is in clear), and checks:
 *
 *  - every reply decodes; every OK receipt is signed by the broker and
 *    answers its request (a SUBMIT's or DISPENSE's names, by its body
 *    hash, the document in the journaled request bytes); every refusal is
 *    one the workload can provoke;
 *  - a deliberate re-send of every acknowledged request (its journaled bytes)
 *    gets the journaled reply byte for byte, as did any late duplicate;
 *  - every acknowledged SUBMIT is stored and its issuer's STATUS finds it,
 *    with the body hash of the submit receipt; no prescription is stored
 *    that no SUBMIT (acknowledged or of unknown outcome) could have made;
 *  - replaying the audit log's accepted changes of each prescription through
 *    the state machine never breaks a rule (one claimer at a time, only the
 *    claimer releases or dispenses, ...) and ends in the state the broker
 *    reports; its dispense records are exactly uses 1..n, n = uses - uses_left;
 *  - every dispense record in the store opens with the data key and
 *    verifies; the records of each use (the replaced ones an AMEND or
 *    WITHDRAW kept, prescription + use + n, then the current one,
 *    prescription + use) form a chain: a DISPENSE first and after each
 *    withdrawal, every other record an AMEND or WITHDRAW of the same
 *    pharmacy naming the one before it by its hash, no record twice (none
 *    both current and superseded), no withdrawal current, no gap in n;
 *    what each use keeps is what the audit log accepted for it, and the
 *    issuer's STATUS lists exactly these records, superseded but the last;
 *  - every acknowledged DISPENSE, AMEND and WITHDRAW is one of its use's
 *    records (so a use dispensed again after a withdrawal was dispensed
 *    once at a time), a withdrawal among the kept ones; every record the
 *    store keeps is the document of a request its pharmacy sent, one it
 *    was told was accepted or whose outcome it could not know;
 *  - a use handed over in parts (proto/README 5.13) keeps parts 1..k, each
 *    once, in order: every part but the last leaves items owed, is kept
 *    before the use's current record and is not superseded, the last
 *    completes the use as its current record, or the use is still owed and
 *    the prescription PARTIALLY_DISPENSED; each part names the items still
 *    owed, and what the parts hand over never exceeds what was prescribed;
 *    a part refused ALREADY_DISPENSED was recorded;
 *  - per prescription, client and op, the changes the audit log accepted are
 *    at least those acknowledged and at most those plus the requests whose
 *    outcome the client could not know: so no refused request took effect;
 *    every refusal a client was told of is in the audit log;
 *  - inquiries (proto/README 5.14): each prescription keeps inquiries
 *    1..k, k the INQUIREs the audit log accepted; each kept inquiry and
 *    answer is the signed call of a request its client sent (acknowledged
 *    or of unknown outcome); each acknowledged INQUIRE and INQUIRY_REPLY is
 *    kept as such (so an inquiry is answered once, as acknowledged); in
 *    audit order no DISPENSE is accepted while an inquiry is open, no
 *    second open inquiry, no answer with none open, and a record citing an
 *    inquiry only after its ACCEPT; STATUS lists the kept inquiries, signed
 *    and under its receipt's inquiries_hash; every kept line that the
 *    item's marks refuse, or with reason INQUIRY, is covered by a change
 *    its record's cited inquiry agreed; a DISPENSE refused NOT_AGREED cites
 *    an inquiry whose kept agreement does not cover it, and is not kept;
 *    an INQUIRE refused INVALID came when 16 were kept, never before;
 *  - rxctl audit verify finds the chain whole;
 *  - after failovers (rx-crash --failover): every change a node
 *    acknowledged is among the stored replies of every copy a later
 *    survivor started on (what a DRBD protocol C replica must hold). */
#ifndef CHECK_H
#define CHECK_H

#include "crash.h"

typedef enum {
	V_REPLY,              /* a reply that does not decode, verify or fit; a re-send answered otherwise */
	V_SUBMIT_LOST,        /* an acknowledged submit not stored, or not found by its issuer */
	V_DISPENSE_LOST,      /* an acknowledged dispense not stored, or acknowledged twice */
	V_DISPENSE_RECORDS,   /* dispense records that are not the accepted dispenses */
	V_CHAIN,              /* a use's records are not a chain (a record both current and superseded, ...) */
	V_STATE,              /* a broken rule of the state machine, or a final state that does not follow */
	V_REFUSED_EFFECT,     /* more changes accepted than told of or unknown: a refusal took effect */
	V_REFUSAL_UNRECORDED, /* a refusal a client was told of is not in the audit log */
	V_AUDIT,              /* the audit chain does not verify */
	V_PARTS,              /* a use's parts not 1..k once each, or handing over more than owed */
	V_INQUIRY,            /* inquiries not 1..k, not sent, lost, answered twice or otherwise (5.14) */
	V_NOT_AGREED,         /* a change no agreed change covers kept, or refused NOT_AGREED though agreed (5.14) */
	V_FAILOVER,           /* a change acknowledged before a failover missing from the survivor's copy */
	V_OTHER,
	V_KINDS
} violation_kind_t;

#define CHECK_NAMED 256

typedef struct {
	long journal_lines, requests, replied, ok, refused, lost, resent, crossed_restart, late, late_ok;
	long refusals[RX_OP_LAST + 1][RX_WIRE_LAST + 1]; /* by op and code */
	long submits_acked, submits_found, stored_rx, stored_unacked, statuses;
	long dispenses_acked, dispense_records, dispensed_rx;
	long amends_acked, withdraws_acked, redispenses_acked; /* redispenses: of a withdrawn use */
	long amends_crossed; /* acknowledged AMENDs and WITHDRAWs resent across a restart */
	long records_current, records_kept, records_opened; /* dispense rows in the store */
	long uses_chained;  /* uses with more than one record, their chain checked */
	long status_lists;  /* STATUS replies whose dispense list matched the store's records */
	long changes_replayed; /* accepted changes in the audit log, replayed */
	/* Uses handed over in parts (proto/README 5.13). */
	long parts_sent, parts_acked;           /* DISPENSEs of a part; acknowledged */
	long parts_open_acked;                  /* of them, leaving items owed */
	long parts_unknown, parts_unknown_took; /* of unknown outcome (the client gave up); of them stored */
	long parts_again;                       /* refused ALREADY_DISPENSED: recorded before */
	long part_records, uses_in_parts;       /* stored part records; uses with one */
	long uses_completed, uses_closed;       /* completed by a part; of them closing items not dispensed */
	long uses_owed, uses_cancelled;         /* still owed; owed when the prescriber's cancel ended the claim */
	long amends_while_owed;                 /* accepted AMENDs of a use while the next was owed */
	long inquiries_acked, replies_acked;      /* acknowledged INQUIREs, INQUIRY_REPLYs */
	long inquiries_stored, answers_stored;    /* inquiry rows in the store; of them answered */
	long inquiries_phoned, dispenses_citing;  /* settled by telephone; records citing an inquiry */
	long pending_refused;                     /* DISPENSE refused INQUIRY_PENDING */
	long status_inquiries;                    /* STATUS replies whose inquiries matched the store */
	long not_agreed_refused;   /* DISPENSEs refused NOT_AGREED, checked against the kept inquiry */
	long not_agreed_unknown;   /* records citing an inquiry that agreed no such change, outcome unknown */
	long changes_covered;      /* kept lines a change of marks refused or reason INQUIRY, each covered */
	long inquiry_limit_rx;     /* prescriptions keeping 16 inquiries */
	long inquiries_over;       /* INQUIREs refused INVALID (the 17th), as the audit log says */
	long inquiries_crossed;    /* acknowledged INQUIREs resent across a restart, kept once */
	long inquiries_between;    /* INQUIREs accepted while a use was owed in parts */
	long parts_citing;         /* part records citing an inquiry */
	long records_traced; /* stored records found to be the document of a client's request */
	long replies_resent, replies_identical;
	long audit_entries; /* as rxctl audit verify counted them */
	/* --failover: what the copies the survivors started on held. */
	long failovers;           /* copies */
	long acked_by_frozen;     /* accepted changes acknowledged by a node that was then frozen */
	long acked_in_copies;     /* of them found in every later copy */
	long copy_lookups;        /* (acknowledged change, later copy) pairs looked up */
	long in_hand;             /* requests sent to one node and answered by a later one */
	long in_hand_committed;   /* of them accepted changes the copy already held (answered from the stored reply) */
	long in_hand_done_after;  /* of them accepted changes the copy did not hold (done by the survivor) */
	long violations;
	long by_kind[V_KINDS];
	struct {
		violation_kind_t kind;
		char id[RX_ID_LEN + 1]; /* the prescription, "" if none */
	} named[CHECK_NAMED];           /* the first violations, for --tamper */
	int nnamed;
} check_report_t;

/* Check the run in w against the rxd now running on its data dir.  Prints
 * each violation as it is found; fills rep.  Returns 0 if the history could
 * be checked (rep->violations says how it went), -1 if not. */
int check_history(crash_world_t *w, void *zctx, check_report_t *rep) __attribute__((warn_unused_result));

/* The key prescription id's record has in "rx" of the store in dir (its
 * number, 8 bytes, under the permutation keyed from DATA/data.key); -1 if
 * the key file cannot be read. */
int crash_rx_key(const char *dir, const char *id, uint8_t key[8]);

#endif
