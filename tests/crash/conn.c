/* conn: send the same bytes until answered (see conn.h). */
#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "crash.h"

/* c->sock: a new socket connecting to endpoint. */
static int dial(conn_t *c, void *zctx, const char *endpoint, const rx_curve_t *curve,
		const uint8_t server_key[32])
{
	int linger = 0, one = 1;
	if ((c->sock = zmq_socket(zctx, ZMQ_DEALER)) == NULL)
		return -1;
	zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, server_key, 32);
	zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, curve->pk, 32);
	zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, curve->sk, 32);
	/* Queue only on a live connection: a copy is never parked on the pipe
	 * of a broker that was killed, it waits for the restarted one. */
	zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &one, sizeof one);
	if (zmq_connect(c->sock, endpoint) != 0) {
		conn_close(c);
		return -1;
	}
	return 0;
}

int conn_open(conn_t *c, void *zctx, const char *endpoint, const rx_curve_t *curve,
	      const uint8_t server_key[32], int resend_ms, int give_up_ms)
{
	memset(c, 0, sizeof *c);
	c->resend_ms = resend_ms;
	c->give_up_ms = give_up_ms;
	return dial(c, zctx, endpoint, curve, server_key);
}

int conn_follow(conn_t *c, conn_route_t *route, void *zctx, const rx_curve_t *curve)
{
	c->route = route;
	c->zctx = zctx;
	c->curve = *curve;
	c->node = __atomic_load_n(&route->node, __ATOMIC_ACQUIRE);
	return 0;
}

/* The route moved to another node: a socket to its endpoint instead. */
static int reroute(conn_t *c)
{
	char endpoint[256];
	uint8_t server_key[32];
	pthread_mutex_lock(&c->route->mu);
	int node = c->route->node;
	memcpy(endpoint, c->route->endpoint, sizeof endpoint);
	memcpy(server_key, c->route->server_key, sizeof server_key);
	pthread_mutex_unlock(&c->route->mu);
	conn_close(c);
	if (dial(c, c->zctx, endpoint, &c->curve, server_key) != 0)
		return -1;
	c->node = node;
	return 0;
}

void conn_close(conn_t *c)
{
	if (c->sock)
		zmq_close(c->sock);
	c->sock = NULL;
}

/* The request id a reply names: 1 if it is rid or empty (ours), 0 if
 * another's, -1 if the reply does not decode. */
static int names(const uint8_t *buf, size_t len, const uint8_t rid[RX_REQUEST_ID_LEN])
{
	Rx__Reply *r = rx__reply__unpack(NULL, len, buf);
	if (r == NULL)
		return -1;
	int ours = r->request_id.len == 0 || (r->request_id.len == RX_REQUEST_ID_LEN &&
					      memcmp(r->request_id.data, rid, RX_REQUEST_ID_LEN) == 0);
	rx__reply__free_unpacked(r, NULL);
	return ours;
}

int conn_exchange(conn_t *c, const uint8_t *frame, size_t len, const uint8_t rid[RX_REQUEST_ID_LEN],
		  uint8_t **reply, size_t *reply_len, int *sends, conn_other_fn other, void *arg)
{
	int64_t give_up = crash_ms() + c->give_up_ms, next_send = 0;
	int pending = 1;

	*sends = 0;
	*reply = NULL;
	*reply_len = 0;
	for (;;) {
		int64_t now = crash_ms();
		if (now >= give_up || (c->abort && __atomic_load_n(c->abort, __ATOMIC_ACQUIRE)))
			return -1;
		/* A failover: the copies sent to the old node are lost with it;
		 * the survivor gets the same bytes now. */
		if (c->route && __atomic_load_n(&c->route->node, __ATOMIC_ACQUIRE) != c->node) {
			if (reroute(c) != 0)
				return -1;
			pending = 1;
		}
		if (!pending && now >= next_send)
			pending = 1;
		zmq_pollitem_t it = {c->sock, 0, (short)(ZMQ_POLLIN | (pending ? ZMQ_POLLOUT : 0)), 0};
		int64_t wait = give_up - now;
		if (!pending && next_send - now < wait)
			wait = next_send - now;
		if (wait > 100)
			wait = 100; /* look at *abort now and then */
		if (c->route && wait > 20)
			wait = 20; /* and soon at the route after a failover */
		if (zmq_poll(&it, 1, (long)wait) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			return -1;
		}
		if (pending && (it.revents & ZMQ_POLLOUT)) {
			if (zmq_send(c->sock, "", 0, ZMQ_DONTWAIT | ZMQ_SNDMORE) == 0 &&
			    zmq_send(c->sock, frame, len, ZMQ_DONTWAIT) == (int)len) {
				pending = 0;
				next_send = crash_ms() + c->resend_ms;
				(*sends)++;
			}
		}
		if (!(it.revents & ZMQ_POLLIN))
			continue;
		/* The whole message; the payload is its last frame. */
		uint8_t *buf = NULL;
		size_t blen = 0;
		int more = 1;
		while (more) {
			zmq_msg_t m;
			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, c->sock, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&m);
				break;
			}
			more = zmq_msg_more(&m);
			if (!more) {
				blen = zmq_msg_size(&m);
				if ((buf = malloc(blen ? blen : 1)) != NULL)
					memcpy(buf, zmq_msg_data(&m), blen);
			}
			zmq_msg_close(&m);
		}
		if (buf == NULL)
			continue;
		/* A reply that does not decode is returned too: the caller
		 * journals it and the checker reports it. */
		if (names(buf, blen, rid) != 0) {
			*reply = buf;
			*reply_len = blen;
			return 0;
		}
		if (other)
			other(arg, buf, blen);
		free(buf);
	}
}

int conn_frame(const rx_keypair_t *kp, const Rx__Call *call, const ProtobufCMessage *doc,
	       uint8_t **frame, size_t *len)
{
	/* The one way a Call becomes a signed Request frame: rxclient's. */
	*frame = NULL;
	return rxc_frame(kp, call, doc, frame, len) == RX_OK ? 0 : -1;
}
