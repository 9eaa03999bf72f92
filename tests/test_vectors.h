/* test_vectors.h: the protocol's test vectors, a test case of the crypto
 * suite (test_vectors.c). */
#ifndef TEST_VECTORS_H
#define TEST_VECTORS_H

#include <check.h>

TCase *vectors_tcase(void);

#endif
