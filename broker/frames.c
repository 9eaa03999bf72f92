/* frames: see frames.h. */
#include "frames.h"

int frames_recv(void *sock, zmq_msg_t *parts, int max)
{
	int n = 0, more = 1;
	while (more) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		more = zmq_msg_more(&m);
		if (n < max)
			parts[n] = m;
		else
			zmq_msg_close(&m);
		n++;
	}
	return n;
}

void frames_close(zmq_msg_t *parts, int n, int max)
{
	for (int i = 0; i < n && i < max; i++)
		zmq_msg_close(&parts[i]);
}

/* Send [identity][empty][body]. */
void frames_send_reply(void *sock, zmq_msg_t *identity, const store_buf_t *body)
{
	zmq_msg_t id;
	zmq_msg_init(&id);
	zmq_msg_copy(&id, identity);
	if (zmq_msg_send(&id, sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&id);
		return;
	}
	zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(sock, body->data, body->len, ZMQ_DONTWAIT);
}
