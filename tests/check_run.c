/*
 * check_run.c - runs a test program's Check tests. See check_run.h.
 */
#include "check_run.h"

#include <stdlib.h>

int
check_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
check_run_case(const char *name, TCase *tc)
{
	Suite *s = suite_create(name);

	suite_add_tcase(s, tc);
	return check_run_suite(s);
}

void
check_run_add(TCase *tc, const TTest *const *tests, size_t ntests)
{
	for (size_t i = 0; i < ntests; i++)
		tcase_add_test(tc, tests[i]);
}

int
check_run(const char *name, int timeout_s, const TTest *const *tests, size_t ntests)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout_s);
	check_run_add(tc, tests, ntests);
	return check_run_case(name, tc);
}
