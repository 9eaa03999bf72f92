/* config: rxd's settings, from the built-in defaults, a config file
 * (--config FILE) and the command line, in that order of precedence
 * (a flag beats the file, the file beats the default).
 *
 * The file is text, one `key = value` per line.  Blank lines and lines
 * whose first non-blank character is `#` are ignored; a comment must be on a
 * line of its own.  Spaces and tabs around the key and the value are
 * dropped; the value is the rest of the line, without quoting.  An unknown
 * key, a line without `=`, an empty value, a bad value, a key set twice or a
 * line longer than CONFIG_LINE_MAX refuse the whole file, naming it and the
 * line.  Keys:
 *   data          data directory                     (default ./var/rx)
 *   listen        client endpoint, a ZeroMQ address  (default tcp://127.0.0.1:5570)
 *   map_size_mib  LMDB map size in MiB, 1..16777216  (default 1024)
 *   metrics       Prometheus endpoint (default none): PORT, :PORT or
 *                 tcp://:PORT listen on 127.0.0.1 only; HOST:PORT and
 *                 tcp://HOST:PORT on that host, which for anything but
 *                 loopback is a deliberate exposure (it has no authentication)
 *   verify_threads  threads checking signatures, 0..64; 0: on the store
 *                 thread itself              (default one per core)
 *   pseudonym_key the pseudonym key file, outside the data dir
 *                 (default DATA-keys/pseudonym.key, rx_pseudonym_key_default)
 *   amend_days    a dispense may be amended or withdrawn until the end of
 *                 this many Japan days after its own, 1..7 (default 1)
 * The file holds no secrets; error messages quote keys, never values. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

#include "rx_err.h"

#define CONFIG_LINE_MAX 8192
#define CONFIG_MAP_SIZE_MIB_MAX (1ull << 24)
#define CONFIG_VERIFY_THREADS_MAX 64

typedef struct {
	char data[4096];                 /* data directory, never empty */
	char listen[1024];               /* client endpoint, never empty */
	unsigned long long map_size_mib; /* 1..CONFIG_MAP_SIZE_MIB_MAX */
	char metrics[1024];              /* "" for none */
	int verify_threads;              /* 0..CONFIG_VERIFY_THREADS_MAX; -1: one per core */
	char pseudonym_key[4096];        /* "" for the default beside the data dir */
	unsigned amend_days;             /* 1..7 */
} rxd_config_t;

/* Fill *cfg with the built-in defaults. */
void config_defaults(rxd_config_t *cfg);

/* Set one key from its text, as a file line or a command-line flag gives it.
 * RX_OK, or RX_INVALID for an unknown key or a bad value (*cfg unchanged,
 * one sentence without file or line in err, which is always terminated when
 * errlen > 0). */
rx_err_t config_set(rxd_config_t *cfg, const char *key, const char *value, char *err,
		    size_t errlen) RX_MUST_CHECK;

/* Read the config file at path over *cfg: the keys it sets replace what
 * *cfg holds, the others are left as they are (so call config_defaults
 * first).  All or nothing: on any refusal *cfg is unchanged.
 *   RX_OK       the whole file was read and every line was valid
 *   RX_INVALID  a line is malformed or names an unknown key or a bad value;
 *               err says "PATH:LINE: why"
 *   RX_SYSTEM   the file cannot be opened or read, or memory ran out; err
 *               says "PATH: why"
 * err is caller-provided and always terminated when errlen > 0. */
rx_err_t config_load(const char *path, rxd_config_t *cfg, char *err, size_t errlen) RX_MUST_CHECK;

#endif
