/* zap: see zap.h. */
#include "zap.h"

#include <string.h>
#include <zmq.h>

#include "frames.h"
#include "log.h"

/* Request frames (RFC 27): version, request id, domain, address, identity,
 * mechanism, credentials (the 32-byte client key).  Reply: version, request
 * id, status code, status text, user id, metadata. */
void zap_serve(void *sock, store_t *store, metrics_t *m)
{
	zmq_msg_t parts[8];
	int n = frames_recv(sock, parts, 8);
	if (n <= 0)
		return;
	const char *code = "400", *text = "unknown key", *user = "";
	store_institution_t inst;
	if (n != 7 || zmq_msg_size(&parts[0]) != 3 || memcmp(zmq_msg_data(&parts[0]), "1.0", 3) != 0) {
		code = "500";
		text = "malformed ZAP request";
	} else if (zmq_msg_size(&parts[5]) != 5 || memcmp(zmq_msg_data(&parts[5]), "CURVE", 5) != 0 ||
		   zmq_msg_size(&parts[6]) != 32) {
		text = "CURVE required";
	} else {
		rx_err_t err = store_institution_by_curve(store, zmq_msg_data(&parts[6]), &inst);
		if (err == RX_OK && !inst.revoked) {
			code = "200";
			text = "OK";
			user = inst.code;
		} else if (err == RX_OK) {
			text = "institution revoked";
		} else if (err != RX_NOT_FOUND) {
			code = "300"; /* temporary: storage trouble */
			text = "registry unavailable";
		}
	}
	zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
	if (n >= 2)
		zmq_send(sock, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), ZMQ_SNDMORE);
	else
		zmq_send(sock, "", 0, ZMQ_SNDMORE);
	zmq_send(sock, code, 3, ZMQ_SNDMORE);
	zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(sock, "", 0, 0);
	frames_close(parts, n, 8);
	/* Who was refused matters to the operator; the key itself is not logged. */
	if (code[0] == '2')
		m->zap_admitted++;
	else
		m->zap_refused++;
	log_line("zap=%s institution=%s reason=\"%s\"", code[0] == '2' ? "admit" : "refuse",
		 user[0] ? user : "-", text);
}

