/*
 * check_run.h - how every test program (unit and integration) runs its
 * Check tests and turns the outcome into main()'s exit status.
 */
#ifndef CARENAV_TESTS_CHECK_RUN_H
#define CARENAV_TESTS_CHECK_RUN_H

#include <check.h>
#include <stddef.h>

/* Runs s (each test in its own forked process unless CK_FORK=no); frees it. */
int check_run_suite(Suite *s);
/* Runs tc as the one case of a suite named name (check_run_suite). */
int check_run_case(const char *name, TCase *tc);
/* Adds tests to tc, in order. */
void check_run_add(TCase *tc, const TTest *const *tests, size_t ntests);
/* Runs tests as one suite and case named name, each with a timeout of timeout_s seconds. */
int check_run(const char *name, int timeout_s, const TTest *const *tests, size_t ntests);

/* The tests listed as the (tests, ntests) arguments of check_run and check_run_add. */
#define CHECK_RUN_LIST(...)                                                                     \
	(const TTest *const[]){__VA_ARGS__},                                                   \
	    sizeof((const TTest *const[]){__VA_ARGS__}) / sizeof(const TTest *)
/* check_run_add with the tests listed: CHECK_RUN_ADD(tc, test_parse, test_match); */
#define CHECK_RUN_ADD(tc, ...) check_run_add((tc), CHECK_RUN_LIST(__VA_ARGS__))
/*
 * check_run over the tests listed after the timeout, for a main() that does
 * more: status = CHECK_RUN("failover", 400, test_mid_stream);
 */
#define CHECK_RUN(name, timeout_s, ...) check_run((name), (timeout_s), CHECK_RUN_LIST(__VA_ARGS__))
/* A test program's whole main(): CHECK_RUN_MAIN("cidr", 10, test_parse, test_match) */
#define CHECK_RUN_MAIN(name, timeout_s, ...)                                                    \
	int main(void)                                                                         \
	{                                                                                      \
		return CHECK_RUN((name), (timeout_s), __VA_ARGS__);                            \
	}

#endif
