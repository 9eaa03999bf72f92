/* testutil: scratch directories and small helpers shared by the unit suites.
 *
 * Every suite makes one scratch directory per test case in an unchecked
 * fixture (it runs in the parent, before fork) and removes it in the matching
 * teardown, so a test that fails half-way still leaves nothing behind in
 * /tmp.  A test makes its own subdirectory with tu_subdir(); it never shares
 * an LMDB environment with another test, and never opens one before fork. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TU_PATH_MAX 128 /* a directory from tu_subdir; files in it fit in 256 */

/* The test case's scratch directory; set by tu_scratch_setup. */
static char tu_scratch[64];

static inline void tu_scratch_setup(void)
{
	snprintf(tu_scratch, sizeof tu_scratch, "/tmp/rx-unit-XXXXXX");
	if (mkdtemp(tu_scratch) == NULL) {
		perror("mkdtemp");
		abort(); /* no scratch space: nothing in this suite can run */
	}
}

static inline int tu_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove a directory tree; returns 0 if everything went. */
static inline int tu_rmtree(const char *dir)
{
	return nftw(dir, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void tu_scratch_teardown(void)
{
	if (tu_scratch[0])
		tu_rmtree(tu_scratch);
	tu_scratch[0] = '\0';
}

/* A fresh empty directory inside the scratch directory, into out. */
static inline void tu_subdir(char out[TU_PATH_MAX])
{
	ck_assert_msg(tu_scratch[0] != '\0', "scratch fixture missing");
	snprintf(out, TU_PATH_MAX, "%s/t-XXXXXX", tu_scratch);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

/* Run a suite; exit status for meson (0 only if every test passed). */
static inline int tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
