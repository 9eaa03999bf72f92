/* journal: each load client's record of what it sent and what it was told.
 *
 * One text file per client, one line per record, appended with a single
 * write(2); a line recording a reply (or giving up) is fdatasync'd before the
 * client goes on, so what the checker reads is what the client acted on.
 *
 *   S OP RID RXID EPOCH                      about to send a new request
 *   A OP RID RXID SENDS EPOCH0 EPOCH1 STATUS FRAME|- REPLY
 *                                            its first reply; FRAME (the exact
 *                                            request bytes) is kept for OK replies
 *                                            and for every request carrying a document
 *   L RID REPLY                              a later reply naming an earlier request
 *   X OP RID RXID SENDS FRAME|-              gave up waiting: outcome unknown (FRAME
 *                                            as for A)
 *
 * OP and STATUS are names (SUBMIT .. WITHDRAW, ALREADY_CLAIMED), RID, FRAME
 * and REPLY lower-case hex, RXID a prescription id or "-" (for an A of a
 * SUBMIT: the id the receipt assigned), EPOCH the number of rxd kills so far
 * when it was sent (EPOCH0) or answered (EPOCH1); with --failover the
 * failovers so far when it was sent, and EPOCH1 exactly the node whose
 * socket the reply came by (0 the first rxd, n the survivor of failover n).  What a DISPENSE, AMEND or
 * WITHDRAW was told is all in its A line: the frame carries the signed
 * record (an AMEND's or WITHDRAW's names the record it replaces), the
 * receipt its use and body hash, and a WITHDRAW's the new claim token.
 * Every SUBMIT, DISPENSE, AMEND and WITHDRAW keeps its frame, refused or
 * of unknown outcome too, so the checker can tell which request each
 * stored record came from (a DISPENSE's frame also says which part of a
 * use it is, proto/README 5.13). */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "rx_types.h"

typedef struct {
	int fd;
	char *line;
	size_t cap;
} journal_t;

/* Create path (it must not exist).  0 on success. */
int journal_open(journal_t *j, const char *path) __attribute__((warn_unused_result));
void journal_close(journal_t *j);

/* Each returns 0 once the line is written (and, for all but S, synced). */
int journal_sent(journal_t *j, int op, const uint8_t rid[RX_REQUEST_ID_LEN], const char *rxid, int epoch)
	__attribute__((warn_unused_result));
int journal_reply(journal_t *j, int op, const uint8_t rid[RX_REQUEST_ID_LEN], const char *rxid, int sends,
		  int epoch0, int epoch1, int status, const uint8_t *frame, size_t flen, const uint8_t *reply,
		  size_t rlen) __attribute__((warn_unused_result));
int journal_late(journal_t *j, const uint8_t rid[RX_REQUEST_ID_LEN], const uint8_t *reply, size_t rlen)
	__attribute__((warn_unused_result));
int journal_lost(journal_t *j, int op, const uint8_t rid[RX_REQUEST_ID_LEN], const char *rxid, int sends,
		 const uint8_t *frame, size_t flen) __attribute__((warn_unused_result));

/* ---- reading them back (the checker) ---- */

enum { JR_SENT = 0, JR_REPLIED = 1, JR_LOST = 2 };

/* One request, as the journals tell it. */
typedef struct {
	uint8_t rid[RX_REQUEST_ID_LEN];
	int client; /* index of the journal's client */
	int op;
	char rxid[RX_ID_LEN + 1]; /* the prescription it named (SUBMIT: the id assigned), "" if none */
	int outcome;              /* JR_* */
	int status;               /* the first reply's status as journaled */
	int sends, epoch0, epoch1;
	uint8_t *frame; /* the exact request bytes: OK replies, and requests carrying a document */
	size_t frame_len;
	uint8_t *reply; /* the first reply, as received */
	size_t reply_len;
	int late;         /* later replies naming it */
	int late_ok;      /* one of them was OK although the first was not, or never came */
	int late_differs; /* one of them differs from a first reply that was OK */
} jreq_t;

typedef struct {
	jreq_t *req;
	size_t n, cap;
	size_t *slot; /* open addressing on the request id: index + 1, 0 empty */
	size_t nslots;
	long lines;
} journal_set_t;

/* Read the journal of each named client (dir/<name>.log; names[i] is client
 * i).  On failure returns -1 with why set; the set is freed either way by
 * journal_set_free. */
int journal_load(const char *dir, const char *const *names, int nclients, journal_set_t *out, char *why,
		 size_t whylen) __attribute__((warn_unused_result));
jreq_t *journal_find(const journal_set_t *s, const uint8_t rid[RX_REQUEST_ID_LEN]);
void journal_set_free(journal_set_t *s);

/* "SUBMIT" .. "WITHDRAW" and back; 0 if unknown. */
int journal_op_parse(const char *s);
/* A status name ("OK", "ALREADY_CLAIMED") and back; -1 if unknown. */
int journal_status_parse(const char *s);

#endif
