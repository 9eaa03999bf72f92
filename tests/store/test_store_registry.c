/* The registries (store/registry.c): institutions, keys and patients. */

#include "store_world.h"

/* ---- institutions: the connection and the key must agree ---- */

START_TEST(institutions)
{
	world_t w;
	call_t k;
	store_outcome_t out;
	store_institution_t in, got;
	char id[RX_ID_LEN + 1];
	world_open(&w);
	submit(&w, w.doc, w.patient, 1, T0, id);

	/* A prescriber key used through a pharmacy's (or another clinic's)
	 * connection is refused, as is a request with no authenticated peer. */
	store_change_t *c = mk(&k, RX_OP_CANCEL, w.doc, id, T0);
	c->peer = "P-0001";
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED);
	c->peer = INST_OTHER;
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED);
	c->peer = NULL;
	ck_assert_int_eq(apply(&w, c, &out), RX_PERMISSION_DENIED);
	store_rx_t rx;
	const char *why;
	ck_assert_int_eq(store_status(w.s, w.pharm, "P-0002", id, T0, &rx, NULL, NULL, &why),
			 RX_PERMISSION_DENIED);

	/* Revoking the institution stops its keys at their next request. */
	ck_assert_int_eq(store_institution_revoke(w.s, "P-0001", T0), RX_OK);
	ck_assert_int_eq(store_status(w.s, w.pharm, "P-0001", id, T0, &rx, NULL, NULL, &why),
			 RX_KEY_REVOKED);
	ck_assert_int_eq(store_institution_revoke(w.s, "P-0001", T0 + 9), RX_OK);
	ck_assert_int_eq(store_institution_revoke(w.s, "NOPE", T0), RX_NOT_FOUND);

	/* Codes and curve keys are each taken once; lookup by curve key. */
	memset(&in, 0, sizeof in);
	snprintf(in.code, sizeof in.code, "P-0003");
	in.kind = STORE_PHARMACY;
	snprintf(in.name, sizeof in.name, "Kaede Pharmacy");
	randombytes_buf(in.curve_key, sizeof in.curve_key);
	ck_assert_int_eq(store_institution_add(w.s, &in), RX_OK);
	ck_assert_int_eq(store_institution_add(w.s, &in), RX_CONFLICT);
	snprintf(in.code, sizeof in.code, "P-0004");
	ck_assert_int_eq(store_institution_add(w.s, &in), RX_CONFLICT);
	ck_assert_int_eq(store_institution_by_curve(w.s, in.curve_key, &got), RX_OK);
	ck_assert_str_eq(got.code, "P-0003");
	ck_assert_str_eq(got.name, "Kaede Pharmacy");
	in.curve_key[0] ^= 1;
	ck_assert_int_eq(store_institution_by_curve(w.s, in.curve_key, &got), RX_NOT_FOUND);
	store_institution_t *list;
	size_t n;
	ck_assert_int_eq(store_institution_list(w.s, &list, &n), RX_OK);
	ck_assert_uint_eq(n, 5);
	int revoked = 0;
	for (size_t i = 0; i < n; i++)
		revoked += list[i].revoked;
	ck_assert_int_eq(revoked, 1);
	free(list);
	ck_assert_uint_eq(stats_of(&w, T0).institutions, 5);
	world_close(&w);
}
END_TEST

/* ---- keys and patients ---- */

START_TEST(keys)
{
	world_t w;
	store_key_t k, got;
	world_open(&w);

	/* adding a registered key again is a conflict and changes nothing */
	memset(&k, 0, sizeof k);
	memcpy(k.key, w.doc, RX_KEY_LEN);
	k.role = RX_ROLE_PHARMACY;
	snprintf(k.institution, sizeof k.institution, "P-0001");
	ck_assert_int_eq(store_key_add(w.s, &k), RX_CONFLICT);
	ck_assert_int_eq(store_key_get(w.s, w.doc, &got), RX_OK);
	ck_assert_int_eq(got.role, RX_ROLE_PRESCRIBER);
	ck_assert_str_eq(got.institution, INST);
	ck_assert_str_eq(got.name, "Dr. Sato");
	ck_assert_int_eq(got.revoked, 0);
	ck_assert_int_eq(got.added_at, T0 - DAY);

	ck_assert_int_eq(store_key_get(w.s, w.stranger, &got), RX_NOT_FOUND);
	ck_assert_int_eq(store_key_revoke(w.s, w.stranger, T0), RX_NOT_FOUND);
	ck_assert_int_eq(store_key_get(w.s, w.stranger, &got), RX_NOT_FOUND);

	/* revoking twice keeps the first time */
	ck_assert_int_eq(store_key_revoke(w.s, w.pharm, T0), RX_OK);
	ck_assert_int_eq(store_key_revoke(w.s, w.pharm, T0 + 100), RX_OK);
	ck_assert_int_eq(store_key_get(w.s, w.pharm, &got), RX_OK);
	ck_assert_int_eq(got.revoked, 1);
	ck_assert_int_eq(got.revoked_at, T0);
	/* and a revoked key cannot be re-added */
	memset(&k, 0, sizeof k);
	memcpy(k.key, w.pharm, RX_KEY_LEN);
	k.role = RX_ROLE_PHARMACY;
	snprintf(k.institution, sizeof k.institution, "P-0001");
	ck_assert_int_eq(store_key_add(w.s, &k), RX_CONFLICT);
	/* a key needs a registered institution of the kind its role fits */
	uint8_t fresh[RX_KEY_LEN];
	new_key(fresh);
	memcpy(k.key, fresh, RX_KEY_LEN);
	snprintf(k.institution, sizeof k.institution, "EVIL");
	ck_assert_int_eq(store_key_add(w.s, &k), RX_NOT_FOUND);
	snprintf(k.institution, sizeof k.institution, "%s", INST);
	ck_assert_int_eq(store_key_add(w.s, &k), RX_INVALID);
	k.role = RX_ROLE_PRESCRIBER;
	snprintf(k.institution, sizeof k.institution, "P-0002");
	ck_assert_int_eq(store_key_add(w.s, &k), RX_INVALID);

	store_key_t *list = NULL;
	size_t n = 0;
	ck_assert_int_eq(store_key_list(w.s, &list, &n), RX_OK);
	ck_assert_uint_eq(n, 6);
	int revoked = 0, found_doc = 0;
	for (size_t i = 0; i < n; i++) {
		revoked += list[i].revoked;
		found_doc += memcmp(list[i].key, w.doc, RX_KEY_LEN) == 0;
	}
	ck_assert_int_eq(revoked, 2);
	ck_assert_int_eq(found_doc, 1);
	free(list);
	ck_assert_uint_eq(stats_of(&w, T0).keys, 6);
	world_close(&w);
}
END_TEST

START_TEST(enroll_twice)
{
	world_t w;
	int created = -1;
	world_open(&w);
	ck_assert_int_eq(store_patient_enroll(w.s, w.patient, T0, &created), RX_OK);
	ck_assert_int_eq(created, 0);
	ck_assert_uint_eq(stats_of(&w, T0).patients, 2);
	ck_assert_int_eq(store_patient_enroll(w.s, w.unenrolled, T0, &created), RX_OK);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(store_patient_enroll(w.s, w.unenrolled, T0, &created), RX_OK);
	ck_assert_int_eq(created, 0);
	ck_assert_uint_eq(stats_of(&w, T0).patients, 3);
	world_close(&w);
}
END_TEST

TCase *store_registry_tcase(void)
{
	TCase *tc = world_tcase("registry");
	tcase_add_test(tc, institutions);
	tcase_add_test(tc, keys);
	tcase_add_test(tc, enroll_twice);
	return tc;
}
