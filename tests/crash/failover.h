/* failover: the steps of rx-crash --failover (tests/crash/README.md,
 * "The failover drill").
 *
 * Two nodes under Pacemaker with the data dir on DRBD protocol C: a write
 * completes on the active node only once both disks have it, so when the
 * active node dies the standby's disk holds every commit rxd acknowledged.
 * To rxd the failover is a crash and a start on the same bytes elsewhere.
 * The drill makes exactly that on one machine: freeze rxd (SIGSTOP: no
 * more writes, no clean shutdown), copy its whole data dir byte for byte
 * (what the replica holds at that instant), fence it (SIGKILL: it never
 * runs again on its dir), and start a survivor on the copy at another
 * endpoint.  This module is those steps; crash.c drives them, check.c
 * checks what the copies held. */
#ifndef FAILOVER_H
#define FAILOVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crash.h"

/* Stop rxd pid with SIGSTOP and wait (polled, at most timeout_ms) until
 * the kernel reports it stopped, which it does once every thread has
 * stopped.  0 when frozen; -1 on timeout (still ours to kill); 1 if it had
 * ended (reaped: *status is its wait status). */
int failover_freeze(pid_t pid, int timeout_ms, int *status) __attribute__((warn_unused_result));

/* Copy the directory from into the new directory to (mode 0700): every
 * regular file byte for byte, with its mode, and every subdirectory;
 * sockets (admin.sock) are not data and are left out.  If from-keys
 * exists (rxd's default place for the pseudonym key, beside the data
 * dir) it is copied to to-keys.  Bytes copied into *bytes.  0 on success. */
int failover_copy(const char *from, const char *to, uint64_t *bytes) __attribute__((warn_unused_result));

/* The stored replies of the store in dir (db "requests", keyed by caller
 * key + request id), read without a lock (nobody has that copy open yet)
 * into c->keys (heap memory, c's: failover_copy_free), sorted.  0 on
 * success. */
int failover_ledger(const char *dir, crash_copy_t *c) __attribute__((warn_unused_result));
void failover_copy_free(crash_copy_t *c);

/* The ledger's key for a request of caller key pk with request id rid. */
uint64_t failover_key(const uint8_t pk[RX_KEY_LEN], const uint8_t rid[RX_REQUEST_ID_LEN]);
/* 1 if c holds a stored reply of that key. */
int failover_holds(const crash_copy_t *c, uint64_t key);

#endif
