/* journal: write and read the clients' journals (see journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rx.pb-c.h"
#include "rx_crypto.h"
#include "rx_err.h"
#include "rx_ops.h"

int journal_op_parse(const char *s)
{
	for (int op = RX_OP_SUBMIT; op <= RX_OP_LAST; op++)
		if (strcmp(s, rx_op_name(op)) == 0)
			return op;
	return 0;
}

int journal_status_parse(const char *s)
{
	for (int st = RX_OK; st <= RX_WIRE_LAST; st++)
		if (strcmp(s, rx_err_name((rx_err_t)st)) == 0)
			return st;
	if (strcmp(s, "UNDECODABLE") == 0)
		return -1;
	return -2;
}

int journal_open(journal_t *j, const char *path)
{
	memset(j, 0, sizeof *j);
	j->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	return j->fd >= 0 ? 0 : -1;
}

void journal_close(journal_t *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	free(j->line);
	j->line = NULL;
	j->cap = 0;
}

/* Room for need more bytes in the line buffer. */
static int room(journal_t *j, size_t need)
{
	if (need <= j->cap)
		return 0;
	size_t cap = j->cap ? j->cap : 4096;
	while (cap < need)
		cap *= 2;
	char *p = realloc(j->line, cap);
	if (p == NULL)
		return -1;
	j->line = p;
	j->cap = cap;
	return 0;
}

/* Write the line whole (one write: O_APPEND keeps lines apart), then sync. */
static int put(journal_t *j, size_t len, int sync)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(j->fd, j->line + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return sync ? fdatasync(j->fd) : 0;
}

static const char *or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

int journal_sent(journal_t *j, int op, const uint8_t rid[RX_REQUEST_ID_LEN], const char *rxid, int epoch)
{
	char hex[2 * RX_REQUEST_ID_LEN + 1];
	if (room(j, 128) != 0)
		return -1;
	rx_hex(rid, RX_REQUEST_ID_LEN, hex);
	int n = snprintf(j->line, j->cap, "S %s %s %s %d\n", rx_op_name(op), hex, or_dash(rxid), epoch);
	return n > 0 && (size_t)n < j->cap ? put(j, (size_t)n, 0) : -1;
}

int journal_reply(journal_t *j, int op, const uint8_t rid[RX_REQUEST_ID_LEN], const char *rxid, int sends,
		  int epoch0, int epoch1, int status, const uint8_t *frame, size_t flen, const uint8_t *reply,
		  size_t rlen)
{
	char hex[2 * RX_REQUEST_ID_LEN + 1];
	if (room(j, 2 * (flen + rlen) + 256) != 0)
		return -1;
	rx_hex(rid, RX_REQUEST_ID_LEN, hex);
	int n = snprintf(j->line, j->cap, "A %s %s %s %d %d %d %s ", rx_op_name(op), hex, or_dash(rxid),
			 sends, epoch0, epoch1, status < 0 ? "UNDECODABLE" : rx_err_name((rx_err_t)status));
	if (n <= 0)
		return -1;
	size_t len = (size_t)n;
	if (frame) {
		rx_hex(frame, flen, j->line + len);
		len += 2 * flen;
	} else {
		j->line[len++] = '-';
	}
	j->line[len++] = ' ';
	rx_hex(reply, rlen, j->line + len);
	len += 2 * rlen;
	j->line[len++] = '\n';
	return put(j, len, 1);
}

int journal_late(journal_t *j, const uint8_t rid[RX_REQUEST_ID_LEN], const uint8_t *reply, size_t rlen)
{
	char hex[2 * RX_REQUEST_ID_LEN + 1];
	if (room(j, 2 * rlen + 64) != 0)
		return -1;
	rx_hex(rid, RX_REQUEST_ID_LEN, hex);
	int n = snprintf(j->line, j->cap, "L %s ", hex);
	if (n <= 0)
		return -1;
	size_t len = (size_t)n;
	rx_hex(reply, rlen, j->line + len);
	len += 2 * rlen;
	j->line[len++] = '\n';
	return put(j, len, 1);
}

int journal_lost(journal_t *j, int op, const uint8_t rid[RX_REQUEST_ID_LEN], const char *rxid, int sends,
		 const uint8_t *frame, size_t flen)
{
	char hex[2 * RX_REQUEST_ID_LEN + 1];
	if (room(j, 2 * flen + 128) != 0)
		return -1;
	rx_hex(rid, RX_REQUEST_ID_LEN, hex);
	int n = snprintf(j->line, j->cap, "X %s %s %s %d ", rx_op_name(op), hex, or_dash(rxid), sends);
	if (n <= 0 || (size_t)n >= j->cap)
		return -1;
	size_t len = (size_t)n;
	if (frame) {
		rx_hex(frame, flen, j->line + len);
		len += 2 * flen;
	} else {
		j->line[len++] = '-';
	}
	j->line[len++] = '\n';
	return put(j, len, 1);
}

/* ---- reading ---- */

static uint64_t rid_hash(const uint8_t rid[RX_REQUEST_ID_LEN])
{
	uint64_t h;
	memcpy(&h, rid, sizeof h); /* request ids are random */
	return h;
}

jreq_t *journal_find(const journal_set_t *s, const uint8_t rid[RX_REQUEST_ID_LEN])
{
	if (s->nslots == 0)
		return NULL;
	for (size_t i = rid_hash(rid) & (s->nslots - 1);; i = (i + 1) & (s->nslots - 1)) {
		if (s->slot[i] == 0)
			return NULL;
		jreq_t *r = &s->req[s->slot[i] - 1];
		if (memcmp(r->rid, rid, RX_REQUEST_ID_LEN) == 0)
			return r;
	}
}

static int index_all(journal_set_t *s)
{
	size_t want = 1024;
	while (want < 2 * s->n + 2)
		want *= 2;
	free(s->slot);
	if ((s->slot = calloc(want, sizeof *s->slot)) == NULL)
		return -1;
	s->nslots = want;
	for (size_t k = 0; k < s->n; k++) {
		size_t i = rid_hash(s->req[k].rid) & (want - 1);
		while (s->slot[i])
			i = (i + 1) & (want - 1);
		s->slot[i] = k + 1;
	}
	return 0;
}

static jreq_t *add(journal_set_t *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		jreq_t *p = realloc(s->req, cap * sizeof *p);
		if (p == NULL)
			return NULL;
		s->req = p;
		s->cap = cap;
	}
	jreq_t *r = &s->req[s->n++];
	memset(r, 0, sizeof *r);
	return r;
}

/* Hex of any even length into a new buffer. */
static int unhex_dup(const char *hex, uint8_t **out, size_t *len)
{
	size_t n = strlen(hex);
	*out = NULL;
	*len = 0;
	if (n % 2 != 0)
		return -1;
	if ((*out = malloc(n / 2 ? n / 2 : 1)) == NULL)
		return -1;
	if (n && rx_unhex(hex, *out, n / 2) != RX_OK) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*len = n / 2;
	return 0;
}

static int parse_rxid(const char *s, char out[RX_ID_LEN + 1])
{
	if (strcmp(s, "-") == 0) {
		out[0] = '\0';
		return 0;
	}
	if (strlen(s) != RX_ID_LEN)
		return -1;
	memcpy(out, s, RX_ID_LEN + 1);
	return 0;
}

/* One line of client c's journal into s (requests so far indexed from
 * first, those of this journal). */
static int parse_line(journal_set_t *s, int c, char *line, size_t first, char *why, size_t whylen)
{
	char *save = NULL, *tok[12];
	int n = 0;
	for (char *t = strtok_r(line, " \n", &save); t && n < 12; t = strtok_r(NULL, " \n", &save))
		tok[n++] = t;
	if (n == 0)
		return 0;
	uint8_t rid[RX_REQUEST_ID_LEN];
	const char *ridhex = tok[0][0] == 'L' ? (n > 1 ? tok[1] : "") : (n > 2 ? tok[2] : "");
	if (strlen(ridhex) != 2 * RX_REQUEST_ID_LEN || rx_unhex(ridhex, rid, sizeof rid) != RX_OK) {
		snprintf(why, whylen, "a journal line has no valid request id");
		return -1;
	}
	/* Requests of this journal only (a client never sees another's).  A
	 * reply follows its S line closely: look back a little, and further
	 * only for a late reply. */
	jreq_t *r = NULL;
	size_t stop = tok[0][0] == 'S' ? s->n : tok[0][0] == 'L' || s->n - first < 64 ? first : s->n - 64;
	for (size_t k = s->n; k > stop; k--)
		if (memcmp(s->req[k - 1].rid, rid, sizeof rid) == 0) {
			r = &s->req[k - 1];
			break;
		}
	switch (tok[0][0]) {
	case 'S':
		if (n != 5 || r != NULL)
			break;
		if ((r = add(s)) == NULL)
			goto oom;
		memcpy(r->rid, rid, sizeof rid);
		r->client = c;
		r->op = journal_op_parse(tok[1]);
		r->outcome = JR_SENT;
		r->epoch0 = atoi(tok[4]);
		if (r->op == 0 || parse_rxid(tok[3], r->rxid) != 0)
			break;
		return 0;
	case 'A':
		if (n != 10 || r == NULL || r->outcome != JR_SENT)
			break;
		r->outcome = JR_REPLIED;
		if (parse_rxid(tok[3], r->rxid) != 0)
			break;
		r->sends = atoi(tok[4]);
		r->epoch0 = atoi(tok[5]);
		r->epoch1 = atoi(tok[6]);
		r->status = journal_status_parse(tok[7]);
		if (r->status < -1)
			break;
		if (strcmp(tok[8], "-") != 0 && unhex_dup(tok[8], &r->frame, &r->frame_len) != 0)
			break;
		if (unhex_dup(tok[9], &r->reply, &r->reply_len) != 0)
			break;
		return 0;
	case 'L': {
		uint8_t *buf;
		size_t len;
		if (n != 3 || r == NULL || unhex_dup(tok[2], &buf, &len) != 0)
			break;
		r->late++;
		Rx__Reply *rep = rx__reply__unpack(NULL, len, buf);
		/* accepted, though the client was told otherwise or gave up */
		if (rep && rep->status == RX__STATUS__OK && (r->outcome != JR_REPLIED || r->status != RX_OK))
			r->late_ok = 1;
		if (r->status == RX_OK && r->reply &&
		    (len != r->reply_len || memcmp(buf, r->reply, len) != 0))
			r->late_differs = 1;
		if (rep)
			rx__reply__free_unpacked(rep, NULL);
		free(buf);
		return 0;
	}
	case 'X':
		if (n != 6 || r == NULL || r->outcome != JR_SENT)
			break;
		r->outcome = JR_LOST;
		r->sends = atoi(tok[4]);
		if (strcmp(tok[5], "-") != 0 && unhex_dup(tok[5], &r->frame, &r->frame_len) != 0)
			break;
		return 0;
	default:
		break;
	}
	snprintf(why, whylen, "a journal line of client %d is malformed or out of order (%c)", c, tok[0][0]);
	return -1;
oom:
	snprintf(why, whylen, "out of memory reading the journals");
	return -1;
}

int journal_load(const char *dir, const char *const *names, int nclients, journal_set_t *out, char *why,
		 size_t whylen)
{
	memset(out, 0, sizeof *out);
	for (int c = 0; c < nclients; c++) {
		char path[600];
		snprintf(path, sizeof path, "%s/%s.log", dir, names[c]);
		FILE *f = fopen(path, "r");
		if (f == NULL) {
			snprintf(why, whylen, "cannot read %s: %s", path, strerror(errno));
			return -1;
		}
		char *line = NULL;
		size_t cap = 0, first = out->n;
		int rc = 0;
		while (rc == 0 && getline(&line, &cap, f) > 0) {
			out->lines++;
			rc = parse_line(out, c, line, first, why, whylen);
		}
		free(line);
		fclose(f);
		if (rc != 0)
			return -1;
	}
	if (index_all(out) != 0) {
		snprintf(why, whylen, "out of memory indexing the journals");
		return -1;
	}
	return 0;
}

void journal_set_free(journal_set_t *s)
{
	for (size_t k = 0; k < s->n; k++) {
		free(s->req[k].frame);
		free(s->req[k].reply);
	}
	free(s->req);
	free(s->slot);
	memset(s, 0, sizeof *s);
}
