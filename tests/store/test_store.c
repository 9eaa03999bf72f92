/* test_store: the store's unit tests, against a real LMDB environment
 * (store/).  One Check suite, one test case per file of this folder, each
 * mirroring a part of the store; the world they share is store_world.{h,c}.
 * Every test opens its own store in its own directory, inside the forked
 * test process, and closes it. */
#include "store_world.h"

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	suite_add_tcase(s, store_rx_tcase());
	suite_add_tcase(s, store_change_tcase());
	suite_add_tcase(s, store_proof_tcase());
	suite_add_tcase(s, store_registry_tcase());
	suite_add_tcase(s, store_env_tcase());
	suite_add_tcase(s, store_patients_tcase());
	suite_add_tcase(s, store_operator_tcase());
	suite_add_tcase(s, store_parts_tcase());
	return s;
}

int main(void)
{
	if (rx_crypto_init() != RX_OK)
		return EXIT_FAILURE;
	return tu_run(store_suite());
}
