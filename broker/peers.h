/* peers: the admin connections open now, by descriptor, as the admin
 * socket's monitor reports them.  rxd closes the admin socket only once they
 * hung up (or a bound passed): rxctl's socket (ZMQ_IMMEDIATE) throws away a
 * reply it has received but not yet read when the connection drops, so
 * closing right after the last reply (a job's, at SIGTERM) loses it whenever
 * the client's thread is a little late.  A connection accepted before the
 * monitor started is not known and not waited for.  Loop thread only. */
#ifndef PEERS_H
#define PEERS_H

#define PEERS_MAX 64

typedef struct {
	void *events;       /* PAIR: the monitor's events; NULL if not watching */
	int fd[PEERS_MAX];  /* open connections (the first PEERS_MAX) */
	int n;
} peers_t;

/* Start watching admin (a socket of ctx); logged and left unwatched if the
 * monitor cannot start.  p->events is then the socket to poll. */
void peers_watch(peers_t *p, void *ctx, void *admin);
/* Take every waiting event: an accept adds its descriptor, a disconnect
 * removes it. */
void peers_update(peers_t *p);
/* At the stop: wait until the peers hung up, for at most ms, then stop
 * watching. */
void peers_wait_gone(peers_t *p, void *admin, int ms);

#endif
