/* boot: rxd from its command line to ready to serve.
 *
 * In order: flags and the config file (a flag wins wherever it stands),
 * the data dir (private, locked against a second rxd), the keys and the
 * store (a key that is not the store's stops rxd, EXIT_KEYS), then the
 * sockets (ZAP first, so no connection is admitted without it).  Each step
 * says on stderr why it failed and returns the exit status to stop with; 0
 * means go on.  boot_shutdown undoes what the steps did. */
#ifndef RXD_BOOT_H
#define RXD_BOOT_H

#include "config.h"
#include "rx_crypto.h"
#include "store.h"

/* rxd's exit status when a key file is missing or is not the store's: not
 * a failure a restart can cure (deploy/rxd.service does not retry it). */
#define EXIT_KEYS 3

typedef struct {
	rxd_config_t cfg;
	const char *config_path;  /* --config, or NULL */
	const char *replace;      /* --replace-lost-key NAME, or NULL */
	int lock;                 /* DIR/rxd.lock, held (flock) while rxd runs */
	store_t *store;
	rx_keypair_t key;         /* the broker's signing key */
	rx_curve_t curve;         /* its CurveZMQ key pair; the secret half is
				   * wiped once the client socket has it */
	char curve_pub[RX_Z85_LEN + 1];
	void *ctx;
	void *zap;                /* inproc://zeromq.zap.01 (zap.h) */
	void *front;              /* clients: ROUTER, CURVE server */
	void *admin;              /* ipc://DIR/admin.sock, mode 0600 */
	void *metrics;            /* the HTTP endpoint (http.h), NULL if not served */
	char bound[1024];         /* the client endpoint as bound (a port 0 resolved) */
	char admin_ep[4200];
} rxd_t;

/* Flags over the config file into r->cfg; --help prints the usage and
 * exits 0. */
int boot_flags(rxd_t *r, int argc, char **argv);

/* Create the data dir (0700), refuse one others can read, take its lock. */
int boot_data_dir(rxd_t *r);

/* Load (or, with a new store, make) the keys, open the store and check the
 * keys against what the store recorded of them. */
int boot_keys_and_store(rxd_t *r);

/* The ZeroMQ context and every socket, bound; DIR/rxd.endpoint written. */
int boot_sockets(rxd_t *r);

/* Close the sockets and the store, remove the endpoint files, wipe the
 * key, release the lock. */
void boot_shutdown(rxd_t *r);

#endif
