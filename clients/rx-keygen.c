/* rx-keygen OUT.key: make an Ed25519 key pair for a prescriber or pharmacy.
 * Writes the secret (mode 0600, never overwriting) and prints the public key
 * in hex, which the operator registers with `rxctl key add`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rx_crypto.h"

int main(int argc, char **argv)
{
	rx_keypair_t kp;
	char hex[2 * RX_KEY_LEN + 1];

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: rx-keygen OUT.key\n"
				"Writes a new Ed25519 secret key to OUT.key (mode 0600) and prints\n"
				"its public key in hex.\n");
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 1;
	}
	if (rx_crypto_init() != RX_OK) {
		fprintf(stderr, "rx-keygen: libsodium failed to initialise\n");
		return 1;
	}
	rx_err_t err = rx_key_create(argv[1], &kp);
	if (err == RX_CONFLICT) {
		fprintf(stderr, "rx-keygen: %s already exists; not overwriting a key\n", argv[1]);
		return 1;
	}
	if (err != RX_OK) {
		fprintf(stderr, "rx-keygen: cannot write %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	rx_hex(kp.pk, RX_KEY_LEN, hex);
	puts(hex);
	return 0;
}
