/* http: see http.h. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "frames.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

/* The Prometheus endpoint (--metrics): a ZMQ_STREAM socket speaking just
 * enough HTTP/1.0 to answer any request with the metrics and close. */
void http_serve_metrics(void *sock, const admin_t *a)
{
	zmq_msg_t parts[FRAMES_MAX];
	int n = frames_recv(sock, parts, FRAMES_MAX);
	if (n < 2) {
		frames_close(parts, n, FRAMES_MAX);
		return;
	}
	/* An empty frame is a connect or a disconnect, not a request. */
	if (zmq_msg_size(&parts[1]) > 0) {
		store_stats_t st;
		char *text = NULL;
		if (store_stats(a->store, now_sec(), &st) == RX_OK)
			text = metrics_render(a->metrics, &st, now_sec());
		char head[160];
		size_t body_len = text ? strlen(text) : 0;
		int hl = snprintf(head, sizeof head,
				  "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
				  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
				  text ? "200 OK" : "503 Service Unavailable", body_len);
		/* A ZMQ_STREAM message is exactly [identity][data]: one data frame. */
		char *resp = malloc((size_t)hl + body_len);
		if (resp) {
			memcpy(resp, head, (size_t)hl);
			if (body_len)
				memcpy(resp + hl, text, body_len);
			/* Never a blocking send: a scraper that hung up (its pipe
			 * closing) or does not read would hold the store thread
			 * in zmq_send for good; what cannot be queued is dropped. */
			if (zmq_send(sock, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]),
				     ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
				zmq_send(sock, resp, (size_t)hl + body_len, ZMQ_DONTWAIT);
			free(resp);
		}
		free(text);
		/* and close the connection: identity, then an empty frame */
		if (zmq_send(sock, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]),
			     ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
			zmq_send(sock, "", 0, ZMQ_DONTWAIT);
	}
	frames_close(parts, n, FRAMES_MAX);
}
