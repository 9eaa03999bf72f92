/* rx-card: a simulated My Number Card.  The real card's user certificate is
 * an key pair on the chip that signs for the holder; here it is a key file
 * (mode 0600) that the CLIs' --card option signs assertions with, as a card
 * reader at the counter would.
 *
 *   rx-card new OUT.card     make a card, print its public key (hex)
 *   rx-card show CARD        print a card's public key */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rx_crypto.h"

static int usage(FILE *f, int code)
{
	fprintf(f, "usage: rx-card new OUT.card | rx-card show CARD\n"
		   "A simulated My Number Card: new writes its key (mode 0600) and prints the public\n"
		   "key to enroll with `rxctl card enroll --patient PID PUBKEY_HEX`.\n");
	return code;
}

int main(int argc, char **argv)
{
	rx_keypair_t kp;
	char hex[2 * RX_KEY_LEN + 1];
	rx_err_t err;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return usage(stdout, 0);
	if (argc != 3 || (strcmp(argv[1], "new") && strcmp(argv[1], "show")))
		return usage(stderr, 1);
	if (rx_crypto_init() != RX_OK) {
		fprintf(stderr, "rx-card: libsodium failed to initialise\n");
		return 1;
	}
	if (strcmp(argv[1], "new") == 0) {
		err = rx_key_create(argv[2], &kp);
		if (err == RX_CONFLICT) {
			fprintf(stderr, "rx-card: %s already exists; not overwriting a card\n", argv[2]);
			return 1;
		}
		if (err != RX_OK) {
			fprintf(stderr, "rx-card: cannot write %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
	} else if ((err = rx_key_load(argv[2], &kp)) != RX_OK) {
		fprintf(stderr, "rx-card: cannot read %s (%s)\n", argv[2], rx_err_name(err));
		return 1;
	}
	rx_hex(kp.pk, RX_KEY_LEN, hex);
	puts(hex);
	return 0;
}
