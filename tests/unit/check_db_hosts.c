/*
 * check_db_hosts.c - unit tests for the rotated host lists of a multi-host
 * DATABASE_URL (gateway/db_hosts.c).
 *
 * Environment: none.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "db_hosts.h"

/* The value of keyword in the arrays for an attempt beginning at host first, or NULL. */
static const char *
value_of(const struct db_hosts *h, size_t first, const char *keyword)
{
	const char *const *k = db_hosts_keywords(h);
	const char *const *v = db_hosts_values(h, first);

	for (size_t i = 0; k[i] != NULL; i++) {
		ck_assert_ptr_nonnull(v[i]);
		if (strcmp(k[i], keyword) == 0)
			return v[i];
	}
	return NULL;
}

static struct db_hosts *
parse(const char *conninfo)
{
	char *error = NULL;
	struct db_hosts *h = db_hosts_new(conninfo, &error);

	ck_assert_msg(h != NULL, "%s: %s", conninfo, error);
	return h;
}

/* What one keyword holds in the attempt that begins at host first (NULL: not there). */
struct rotation {
	size_t first;
	const char *keyword;
	const char *value;
};

/* Parses conninfo and asserts it names count hosts and holds each of want (ended by a NULL keyword). */
static void
assert_rotations(const char *conninfo, size_t count, const struct rotation *want)
{
	struct db_hosts *h = parse(conninfo);

	ck_assert_uint_eq(db_hosts_count(h), count);
	for (; want->keyword != NULL; want++) {
		const char *v = value_of(h, want->first, want->keyword);

		ck_assert_msg(want->value == NULL ? v == NULL : v != NULL && strcmp(v, want->value) == 0,
		    "%s: %s from host %zu is '%s', want '%s'", conninfo, want->keyword, want->first, v ? v : "(none)",
		    want->value ? want->value : "(none)");
	}
	db_hosts_free(h);
}

START_TEST(test_url_two_hosts_rotate_with_their_ports)
{
	assert_rotations("postgresql://carenav@10.0.0.1:6432,10.0.0.2:6433/carenav"
	    "?target_session_attrs=read-write&connect_timeout=2", 2, (const struct rotation[]){
		{ 0, "host", "10.0.0.1,10.0.0.2" }, { 0, "port", "6432,6433" },
		{ 1, "host", "10.0.0.2,10.0.0.1" }, { 1, "port", "6433,6432" },
		/* Past the end wraps around. */
		{ 2, "host", "10.0.0.1,10.0.0.2" },
		/* Every other setting is kept as written, in every rotation, but the
		 * read-write check, which the gateway makes itself (libpq: "any"). */
		{ 0, "dbname", "carenav" }, { 0, "user", "carenav" }, { 0, "connect_timeout", "2" },
		{ 0, "target_session_attrs", "any" },
		{ 1, "dbname", "carenav" }, { 1, "user", "carenav" }, { 1, "connect_timeout", "2" },
		{ 1, "target_session_attrs", "any" },
		{ 0, NULL, NULL } });
}
END_TEST

START_TEST(test_one_port_for_all_hosts_stays)
{
	assert_rotations("host=a,b,c port=5432 dbname=x", 3, (const struct rotation[]){
		{ 1, "host", "b,c,a" }, { 2, "host", "c,a,b" }, { 2, "port", "5432" }, { 0, NULL, NULL } });
}
END_TEST

START_TEST(test_hostaddr_lists_rotate_and_empty_entries_count)
{
	assert_rotations("hostaddr=127.0.0.1,127.0.0.2 port=1,2", 2, (const struct rotation[]){
		{ 1, "hostaddr", "127.0.0.2,127.0.0.1" }, { 1, "port", "2,1" }, { 0, NULL, NULL } });
	/* An empty entry is a host too (libpq's default socket). */
	assert_rotations("host=a,,b dbname=x", 3, (const struct rotation[]){
		{ 1, "host", ",b,a" }, { 2, "host", "b,a," }, { 0, NULL, NULL } });
}
END_TEST

START_TEST(test_single_host_is_one_and_never_changes)
{
	assert_rotations("host=/var/run/postgresql port=5433 dbname=carenav", 1, (const struct rotation[]){
		{ 0, "host", "/var/run/postgresql" }, { 7, "host", "/var/run/postgresql" }, { 0, "sslmode", NULL },
		/* Even unset, so that PGTARGETSESSIONATTRS cannot apply. */
		{ 0, "target_session_attrs", "any" },
		{ 0, NULL, NULL } });
}
END_TEST

START_TEST(test_find_the_host_reached)
{
	struct db_hosts *h = parse("postgresql://carenav@10.0.0.1:6432,10.0.0.2:6433,10.0.0.3:6432/carenav");

	/* Where a connection landed, whatever host its attempt started with. */
	ck_assert_uint_eq(db_hosts_find(h, "10.0.0.2", "6433"), 1);
	ck_assert_uint_eq(db_hosts_find(h, "10.0.0.3", "6432"), 2);
	ck_assert_uint_eq(db_hosts_find(h, "10.0.0.2", "6432"), 3);  /* not in the list */
	db_hosts_free(h);

	/* One port for all; an address given as hostaddr matches too. */
	h = parse("host=a,b hostaddr=127.0.0.1,127.0.0.2 port=5433");
	ck_assert_uint_eq(db_hosts_find(h, "b", "5433"), 1);
	ck_assert_uint_eq(db_hosts_find(h, "127.0.0.1", "5433"), 0);
	ck_assert_uint_eq(db_hosts_find(h, "b", "5432"), 2);
	db_hosts_free(h);

	/* No port written: any port matches. */
	h = parse("host=a,b");
	ck_assert_uint_eq(db_hosts_find(h, "b", "5432"), 1);
	db_hosts_free(h);
}
END_TEST

START_TEST(test_unparseable_conninfo_says_why)
{
	char *error = NULL;

	ck_assert_ptr_null(db_hosts_new("host=a bogus=1", &error));
	ck_assert_ptr_nonnull(strstr(error, "bogus"));
	ck_assert_ptr_null(strchr(error, '\n'));
	free(error);
}
END_TEST

CHECK_RUN_MAIN("db_hosts", 10, test_url_two_hosts_rotate_with_their_ports, test_one_port_for_all_hosts_stays,
    test_hostaddr_lists_rotate_and_empty_entries_count, test_single_host_is_one_and_never_changes,
    test_find_the_host_reached, test_unparseable_conninfo_says_why)
