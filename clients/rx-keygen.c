/* rx-keygen OUT.key: make an Ed25519 key pair for a prescriber or pharmacy.
 * Writes the secret (mode 0600, never overwriting) and prints the public key
 * in hex, which the operator registers with `rxctl key add`.
 * rx-keygen --curve OUT: make an institution's CurveZMQ key pair, print the
 * public key in Z85 for `rxctl institution add --curve-key`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rx_crypto.h"

int main(int argc, char **argv)
{
	rx_keypair_t kp;
	rx_curve_t curve;
	char hex[2 * RX_KEY_LEN + 1];
	int want_curve = argc == 3 && strcmp(argv[1], "--curve") == 0;
	const char *out = argv[argc - 1];

	if ((argc != 2 && !want_curve) || out[0] == '-') {
		fprintf(stderr, "usage: rx-keygen OUT.key | rx-keygen --curve OUT.curve\n"
				"Writes a new Ed25519 signing key to OUT.key (mode 0600) and prints its\n"
				"public key in hex; with --curve, an institution's CurveZMQ key pair,\n"
				"printing its public key in Z85.\n");
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 1;
	}
	if (rx_crypto_init() != RX_OK) {
		fprintf(stderr, "rx-keygen: libsodium failed to initialise\n");
		return 1;
	}
	rx_err_t err = want_curve ? rx_curve_create(out, &curve) : rx_key_create(out, &kp);
	if (err == RX_CONFLICT) {
		fprintf(stderr, "rx-keygen: %s already exists; not overwriting a key\n", out);
		return 1;
	}
	if (err != RX_OK) {
		fprintf(stderr, "rx-keygen: cannot write %s: %s\n", out, strerror(errno));
		return 1;
	}
	if (want_curve) {
		char z[RX_Z85_LEN + 1];
		rx_z85_encode(curve.pk, z);
		puts(z);
		return 0;
	}
	rx_hex(kp.pk, RX_KEY_LEN, hex);
	puts(hex);
	return 0;
}
