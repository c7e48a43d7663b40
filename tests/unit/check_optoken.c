/*
 * check_optoken.c - OPERATOR_TOKENS parsing and the per-address rate limit
 * (both pure: no environment, no clock).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "unit_helpers.h"
#include "optoken.h"
#include "ratelimit.h"

static void
parse_fails(const char *spec, const char *want)
{
	struct optoken_list list;
	char *cause = NULL;
	bool ok = optoken_parse(spec, &list, &cause);

	ck_assert_msg(cause == NULL || strstr(cause, "0123456789abcdef") == NULL, "a token in the cause: %s", cause);
	unit_assert_refused(ok, spec, cause, want);
}

START_TEST(test_parse)
{
	struct optoken_list list;
	char *cause = NULL;

	ck_assert(optoken_parse("", &list, &cause));
	ck_assert_uint_eq(list.n, 0);
	ck_assert(optoken_parse("alice:0123456789abcdef,night_desk-2:fedcba9876543210XYZ", &list, &cause));
	ck_assert_uint_eq(list.n, 2);
	ck_assert_str_eq(list.items[0].name, "alice");
	ck_assert_str_eq(list.items[0].value, "0123456789abcdef");
	ck_assert_str_eq(list.items[1].name, "night_desk-2");
	optoken_list_clear(&list);
	parse_fails("alice", "not name:token");
	parse_fails("Alice:0123456789abcdef", "name");
	parse_fails(":0123456789abcdef", "name");
	parse_fails("alice:short", "at least 16");
	parse_fails("alice:0123456789abcdef,", "entry 2 is empty");
	parse_fails("alice:0123456789abc def", "at least 16");
	parse_fails("alice:0123456789abcdef,alice:0123456789abcdeg", "repeats");
	parse_fails("alice:0123456789abcdef,bob:0123456789abcdef", "repeats");
}
END_TEST

START_TEST(test_rate)
{
	struct ratelimit *rl = ratelimit_new(60, 2);
	int retry = 0;

	/* 60 a minute: a burst of 60, then one a second. */
	for (int i = 0; i < 60; i++)
		ck_assert(ratelimit_take(rl, "10.0.0.1", 1000, &retry));
	ck_assert(!ratelimit_take(rl, "10.0.0.1", 1000, &retry));
	ck_assert_int_eq(retry, 1);
	ck_assert(ratelimit_take(rl, "10.0.0.2", 1000, &retry));
	ck_assert(ratelimit_take(rl, "10.0.0.1", 2000, &retry));
	ck_assert(!ratelimit_take(rl, "10.0.0.1", 2000, &retry));
	/* The table is full: a third address shares the overflow bucket. */
	ck_assert_uint_eq(ratelimit_keys(rl), 2);
	ck_assert(ratelimit_take(rl, "10.0.0.3", 2000, &retry));
	ck_assert_uint_eq(ratelimit_keys(rl), 2);
	/* A minute later both are idle and dropped when room is needed. */
	ck_assert(ratelimit_take(rl, "10.0.0.4", 70000, &retry));
	ck_assert_uint_le(ratelimit_keys(rl), 2);
	ratelimit_free(rl);
	rl = ratelimit_new(0, 4);
	for (int i = 0; i < 1000; i++)
		ck_assert(ratelimit_take(rl, "x", 0, &retry));
	ratelimit_free(rl);
}
END_TEST

CHECK_RUN_MAIN("optoken", 30, test_parse, test_rate)
