/*
 * check_cidr.c - TRUSTED_PROXIES lists: parsing, matching (IPv4, IPv6,
 * IPv4-mapped), canonical forms and the "too broad" check doctor uses.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "unit_helpers.h"
#include "cidr.h"

/* The list a test parsed: what in_list matches against. */
static struct cidr_list list;

/* cidr_list_match on list, as the one-argument predicate unit_assert_yes_no takes. */
static bool
in_list(const char *addr)
{
	return cidr_list_match(&list, addr);
}

static void
parse_fails(const char *spec, const char *want)
{
	char *cause = NULL;
	bool ok = cidr_list_parse(spec, &list, &cause);

	unit_assert_refused(ok, spec, cause, want);
}

START_TEST(test_parse_and_match)
{
	char *cause = NULL;

	ck_assert(cidr_list_parse("", &list, &cause));
	ck_assert_uint_eq(list.n, 0);
	unit_assert_yes_no(in_list, "cidr_list_match", (const char *const[]){ NULL },
	    (const char *const[]){ "127.0.0.1", NULL });
	cidr_list_clear(&list);
	ck_assert(cidr_list_parse(" 10.1.0.0/16, 192.0.2.7 ,2001:db8::/32 ::ffff:198.51.100.0/120", &list, &cause));
	ck_assert_uint_eq(list.n, 4);
	unit_assert_yes_no(in_list, "cidr_list_match", (const char *const[]){ "10.1.255.3", "192.0.2.7",
		"2001:db8:1::5",
		/* A dual-stack listener reports IPv4 clients as IPv4-mapped IPv6. */
		"::ffff:10.1.2.3", "198.51.100.200", NULL },
	    (const char *const[]){ "10.2.0.1", "192.0.2.8", "2001:db9::5", "198.51.101.1", "not-an-address", "",
		NULL });
	cidr_list_clear(&list);
	/* Prefixes that are not byte-aligned. */
	ck_assert(cidr_list_parse("172.16.0.0/12", &list, &cause));
	unit_assert_yes_no(in_list, "cidr_list_match", (const char *const[]){ "172.31.255.255", NULL },
	    (const char *const[]){ "172.32.0.0", NULL });
	cidr_list_clear(&list);
	parse_fails("10.0.0.1/33", "bad prefix");
	parse_fails("10.0.0.1/", "bad prefix");
	parse_fails("10.0.0.1/-1", "bad prefix");
	parse_fails("::1/129", "bad prefix");
	parse_fails("10.0.0.0/8,example.org", "\"example.org\" is not an address");
	parse_fails("10.0.0.300", "not an address");
}
END_TEST

START_TEST(test_broad_and_canonical)
{
	char *cause = NULL, buf[64];

	ck_assert(cidr_list_parse("127.0.0.1,10.0.0.0/8,fd00::/16", &list, &cause));
	ck_assert_ptr_null(cidr_list_too_broad(&list, buf, sizeof buf));
	cidr_list_clear(&list);
	ck_assert(cidr_list_parse("127.0.0.1 0.0.0.0/0", &list, &cause));
	ck_assert_str_eq(cidr_list_too_broad(&list, buf, sizeof buf), "0.0.0.0/0");
	ck_assert(cidr_list_match(&list, "203.0.113.9"));
	cidr_list_clear(&list);
	ck_assert(cidr_list_parse("::/0", &list, &cause));
	ck_assert_str_eq(cidr_list_too_broad(&list, buf, sizeof buf), "::/0");
	cidr_list_clear(&list);
	ck_assert(cidr_canonical("::ffff:192.0.2.1", buf, sizeof buf));
	ck_assert_str_eq(buf, "192.0.2.1");
	ck_assert(cidr_canonical("2001:DB8:0:0::1", buf, sizeof buf));
	ck_assert_str_eq(buf, "2001:db8::1");
	ck_assert(!cidr_canonical("192.0.2.1:443", buf, sizeof buf));
	ck_assert(!cidr_canonical("", buf, sizeof buf));
}
END_TEST

CHECK_RUN_MAIN("cidr", 10, test_parse_and_match, test_broad_and_canonical)
