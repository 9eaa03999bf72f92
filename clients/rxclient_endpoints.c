/* rxclient_endpoints: the broker endpoint list a client is given
 * (rxc_endpoints_check, rxclient.h; proto/README 1.2): at most
 * RXC_ENDPOINTS_MAX endpoints of one cluster, comma-separated, each
 * tcp://HOST:PORT or ipc://PATH, none twice.  Checked before any socket is
 * made, so a typo is named with its place in the list, not met as a
 * connection that never completes. */
#include "rxclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One endpoint, len bytes at ep (not NUL-ended), the n-th of the list;
 * RX_INVALID with msg set if it is not one a client can connect to. */
static rx_err_t check_one(const char *ep, size_t len, int n, char *msg, size_t msglen)
{
	char e[RXC_ENDPOINT_LEN + 1];
	if (len == 0) {
		snprintf(msg, msglen,
			 "broker endpoint %d is empty (a comma too many?); give several as "
			 "tcp://HOST:PORT,tcp://HOST:PORT",
			 n);
		return RX_INVALID;
	}
	if (len > RXC_ENDPOINT_LEN) {
		snprintf(msg, msglen, "broker endpoint %d is longer than %d characters", n,
			 RXC_ENDPOINT_LEN);
		return RX_INVALID;
	}
	memcpy(e, ep, len);
	e[len] = '\0';
	if (strcspn(e, " \t\r\n") != len) {
		snprintf(msg, msglen,
			 "broker endpoint %d (\"%s\") contains white space: separate endpoints with "
			 "a comma alone",
			 n, e);
		return RX_INVALID;
	}
	/* inproc: a stand-in broker in the same process (tests/test_status_reply). */
	const char *name = strncmp(e, "ipc://", 6) == 0      ? e + 6
			   : strncmp(e, "inproc://", 9) == 0 ? e + 9
							     : NULL;
	if (name) {
		if (*name)
			return RX_OK;
		snprintf(msg, msglen, "broker endpoint %d (%s) names no socket", n, e);
		return RX_INVALID;
	}
	if (strncmp(e, "tcp://", 6) != 0) {
		snprintf(msg, msglen, "broker endpoint %d (%s) is neither tcp://HOST:PORT nor ipc://PATH",
			 n, e);
		return RX_INVALID;
	}
	const char *host = e + 6, *colon = strrchr(host, ':');
	char *end = NULL;
	long port = colon ? strtol(colon + 1, &end, 10) : 0;
	if (colon == NULL || colon == host || colon[1] < '0' || colon[1] > '9' || *end != '\0' ||
	    port < 1 || port > 65535) {
		snprintf(msg, msglen, "broker endpoint %d (%s) is not tcp://HOST:PORT with a port 1..65535",
			 n, e);
		return RX_INVALID;
	}
	if (colon - host == 1 && host[0] == '*') {
		snprintf(msg, msglen,
			 "broker endpoint %d (%s) names no host: * is for rxd --listen; a client "
			 "connects to a host",
			 n, e);
		return RX_INVALID;
	}
	return RX_OK;
}

rx_err_t rxc_endpoints_check(const char *list, char *msg, size_t msglen)
{
	const char *starts[RXC_ENDPOINTS_MAX];
	size_t lens[RXC_ENDPOINTS_MAX];
	int n = 0;

	if (list == NULL || list[0] == '\0') {
		snprintf(msg, msglen, "no broker endpoint given");
		return RX_INVALID;
	}
	for (const char *p = list;; n++) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (n == RXC_ENDPOINTS_MAX) {
			snprintf(msg, msglen,
				 "more than %d broker endpoints: the list names the nodes of one "
				 "cluster",
				 RXC_ENDPOINTS_MAX);
			return RX_INVALID;
		}
		if (check_one(p, len, n + 1, msg, msglen) != RX_OK)
			return RX_INVALID;
		for (int i = 0; i < n; i++)
			if (lens[i] == len && memcmp(starts[i], p, len) == 0) {
				snprintf(msg, msglen, "broker endpoint %.*s is named twice", (int)len, p);
				return RX_INVALID;
			}
		starts[n] = p;
		lens[n] = len;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (msglen)
		msg[0] = '\0';
	return RX_OK;
}
