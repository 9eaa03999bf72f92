/* broker_world: the fixture the broker's integration tests share
 * (tests/broker/): one rxd on a temp dir and a kernel-chosen port (through
 * tests/harness.h) with a prescriber, a second prescriber, two pharmacies
 * and an enrolled patient with their card, and the requests the tests make
 * with them.  Every test brings its own world up inside the forked test
 * process and takes it down. */
#ifndef BROKER_WORLD_H
#define BROKER_WORLD_H

#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "rx_check.h"
#include "rx_ids.h"

/* One broker with a prescriber, a second prescriber, two pharmacies and an
 * enrolled patient, for the tests. */
typedef struct {
	harness_t h;
	rx_keypair_t doc, doc2, ph1, ph2;
	char patient[RX_PATIENT_ID_LEN + 1];
	rx_keypair_t card; /* the patient's My Number Card */
	rxc_t *cdoc, *cdoc2, *cph1, *cph2;
} world_t;

/* A test case named name, with the broker tests' timeout. */
TCase *world_tcase(const char *name);

/* Start rxd (map_mib: its map size, 0 for the default) with w's keys,
 * patient, card and clients; w becomes the running test's world. */
void world_up(world_t *w, int map_mib);
void world_down(world_t *w);

/* The signing key behind one of the world's clients. */
const rx_keypair_t *key_of(rxc_t *c);

/* SUBMIT with the patient's card in the reader at kp's clinic. */
rx_err_t submit_as(rxc_t *c, const rx_keypair_t *kp, const uint8_t *rid, const Rx__Prescription *sp,
		   rxc_result_t *r);
/* CLAIM, STATUS (id) and LIST (id NULL) with the patient's card at kp's
 * pharmacy. */
rx_err_t claim_as(rxc_t *c, const rx_keypair_t *kp, const uint8_t *rid, const char *id,
		  rxc_result_t *r);
rx_err_t look_as(rxc_t *c, const rx_keypair_t *kp, const char *id, rxc_result_t *r);

#define SUBMIT(c, rid, sp, r) submit_as((c), key_of(c), (rid), (sp), (r))
#define CLAIM(c, rid, id, r) claim_as((c), key_of(c), (rid), (id), (r))

/* Submit a prescription; its id into id.  Asserts OK. */
void submit(world_t *w, uint32_t uses, char id[RX_ID_LEN + 1]);
/* Claim id; its claim token into token.  Asserts OK. */
void claim(rxc_t *c, const char *id, uint8_t token[RX_TOKEN_LEN]);
/* DISPENSE id's use (0: the one claimed) with kp's dispense record; the
 * state after it into *state if asked. */
rx_err_t dispense(rxc_t *c, const rx_keypair_t *kp, const char *id,
		  const uint8_t token[RX_TOKEN_LEN], uint32_t use, int *state);
/* The state as the issuer sees it (every test prescription is Dr. doc's). */
int state_of(rxc_t *c, const char *id);

/* ---- the test cases, one per file ---- */

TCase *broker_requests_tcase(void);
TCase *broker_durability_tcase(void);
TCase *broker_access_tcase(void);
TCase *broker_host_tcase(void);
TCase *broker_inquiry_tcase(void);

#endif
