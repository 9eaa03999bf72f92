/* test_broker: integration tests of the real rxd on a temp dir and a
 * kernel-chosen port, driven through the client library over real sockets.
 * One Check suite, one test case per file of this folder; the world they
 * share is broker_world.{h,c}. */
#include "broker_world.h"
#include "testutil.h"

int main(void)
{
	Suite *s = suite_create("broker");
	suite_add_tcase(s, broker_requests_tcase());
	suite_add_tcase(s, broker_durability_tcase());
	suite_add_tcase(s, broker_access_tcase());
	suite_add_tcase(s, broker_host_tcase());
	suite_add_tcase(s, broker_inquiry_tcase());
	return tu_run(s);
}
