/* peers: the admin socket's open connections (see peers.h). */
#include "peers.h"

#include <stdint.h>
#include <string.h>
#include <zmq.h>

#include "log.h"

#define PEERS_EP "inproc://rxd-admin-peers"

void peers_watch(peers_t *p, void *ctx, void *admin)
{
	/* Unbounded: the monitor sends blocking, from the I/O thread. */
	int zero = 0;
	p->n = 0;
	p->events = NULL;
	if (zmq_socket_monitor(admin, PEERS_EP, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0)
		goto fail;
	if ((p->events = zmq_socket(ctx, ZMQ_PAIR)) == NULL)
		goto fail;
	zmq_setsockopt(p->events, ZMQ_RCVHWM, &zero, sizeof zero);
	zmq_setsockopt(p->events, ZMQ_LINGER, &zero, sizeof zero);
	if (zmq_connect(p->events, PEERS_EP) == 0)
		return;
fail:
	log_line("event=admin_peers_unwatched error=\"%s\"", zmq_strerror(zmq_errno()));
	if (p->events)
		zmq_close(p->events);
	p->events = NULL;
	zmq_socket_monitor(admin, NULL, 0);
}

/* Take every waiting event: an accept adds its descriptor, a disconnect
 * removes it. */
void peers_update(peers_t *p)
{
	for (;;) {
		zmq_msg_t m;
		uint16_t event = 0;
		uint32_t fd = 0;
		zmq_msg_init(&m);
		if (p->events == NULL || zmq_msg_recv(&m, p->events, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return;
		}
		/* v1 events: the event and a value (here the descriptor) in the
		 * first frame, the endpoint in the second */
		if (zmq_msg_size(&m) == sizeof event + sizeof fd) {
			memcpy(&event, zmq_msg_data(&m), sizeof event);
			memcpy(&fd, (uint8_t *)zmq_msg_data(&m) + sizeof event, sizeof fd);
		}
		while (zmq_msg_more(&m) && zmq_msg_recv(&m, p->events, ZMQ_DONTWAIT) >= 0)
			;
		zmq_msg_close(&m);
		if (event == ZMQ_EVENT_ACCEPTED && p->n < PEERS_MAX) {
			p->fd[p->n++] = (int)fd;
		} else if (event == ZMQ_EVENT_DISCONNECTED) {
			for (int i = 0; i < p->n; i++)
				if (p->fd[i] == (int)fd) {
					p->fd[i] = p->fd[--p->n];
					break;
				}
		}
	}
}

/* At the stop: wait until the admin peers hung up, for at most ms, then
 * stop watching. */
void peers_wait_gone(peers_t *p, void *admin, int ms)
{
	int64_t until = now_us() + (int64_t)ms * 1000;
	peers_update(p);
	if (p->n)
		log_line("event=stopping_waits admin_peers=%d", p->n);
	while (p->n && now_us() < until) {
		zmq_pollitem_t it = {p->events, 0, ZMQ_POLLIN, 0};
		zmq_poll(&it, 1, 100);
		peers_update(p);
	}
	if (p->n)
		log_line("event=admin_peers_left count=%d", p->n);
	if (p->events) {
		zmq_socket_monitor(admin, NULL, 0);
		zmq_close(p->events);
		p->events = NULL;
	}
}
