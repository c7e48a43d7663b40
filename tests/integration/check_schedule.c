/*
 * check_schedule.c - the staff register and on-call schedule through the
 * real "carenav staff|oncall" commands on a real database: every mistake a
 * clinic made in #19 is refused with a plain message naming the field and
 * writes nothing; remove, edit and check work; no PostgreSQL text leaks.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "xmalloc.h"

#define ANA "+15554000001"
#define BEN "+15554000002"
#define CARLA "+15554000003"

struct sched {
	char *conninfo;
	PGconn *pg;
	struct harness_gw gw;
	char *day1;   /* tomorrow (UTC), "YYYY-MM-DD" */
	char *day2;   /* the day after */
	char *keep[32];  /* strings made for one test, freed with it */
	size_t nkeep;
};

static void
sched_init(struct sched *s)
{
	memset(s, 0, sizeof *s);
	s->conninfo = harness_db_create();
	harness_gw_init(&s->gw, s->conninfo, NULL);
	ck_assert_int_eq(harness_gw_cli(&s->gw, NULL, "migrate", NULL), 0);
	s->pg = harness_db_connect(s->conninfo);
	s->day1 = harness_query_text(s->pg, "SELECT to_char(now() AT TIME ZONE 'UTC' + interval '1 day', 'YYYY-MM-DD')");
	s->day2 = harness_query_text(s->pg, "SELECT to_char(now() AT TIME ZONE 'UTC' + interval '2 days', 'YYYY-MM-DD')");
	ck_assert_int_eq(harness_gw_cli(&s->gw, NULL, "staff", "add", "--name", "Ana", "--phone", ANA, NULL), 0);
	ck_assert_int_eq(harness_gw_cli(&s->gw, NULL, "staff", "add", "--name", "Ben", "--phone", BEN,
	    "--language", "es", NULL), 0);
	ck_assert_int_eq(harness_gw_cli(&s->gw, NULL, "staff", "add", "--name", "Carla", "--phone", CARLA, NULL), 0);
}

static void
sched_free(struct sched *s)
{
	PQfinish(s->pg);
	harness_gw_free(&s->gw);
	free(s->day1);
	free(s->day2);
	for (size_t i = 0; i < s->nkeep; i++)
		free(s->keep[i]);
	free(s->conninfo);
}

static char *
keep(struct sched *s, char *str)
{
	ck_assert_uint_lt(s->nkeep, sizeof s->keep / sizeof s->keep[0]);
	s->keep[s->nkeep++] = str;
	return str;
}

/* "YYYY-MM-DD HH:MM" on day (kept until sched_free). */
#define at(day, hhmm) keep(&s, xasprintf("%s %s", (day), (hhmm)))
#define sql_text(q) keep(&s, harness_query_text(s.pg, (q)))

/* A refused command: non-zero, the message has `words`, nothing of PostgreSQL's own text. */
static void
refused(char *out, int rc, const char *words)
{
	ck_assert_msg(rc != 0, "accepted: %s", out);
	ck_assert_msg(out != NULL && strstr(out, words) != NULL, "want \"%s\" in: %s", words, out);
	ck_assert_msg(strstr(out, "ERROR") == NULL && strstr(out, "portal") == NULL &&
	    strstr(out, "syntax for type") == NULL && strstr(out, "violates") == NULL, "raw SQL error: %s", out);
	free(out);
}

static long long
shifts(struct sched *s)
{
	return harness_query_int(s->pg, "SELECT count(*) FROM oncall_shifts");
}

START_TEST(test_staff_register)
{
	struct sched s;
	char *out = NULL;
	int rc;

	sched_init(&s);
	/* staff add on an existing number: refused, Ben keeps his name and language. */
	rc = harness_gw_cli(&s.gw, &out, "staff", "add", "--name", "Benjamin", "--phone", BEN, NULL);
	refused(out, rc, "already registered to Ben");
	ck_assert_int_eq(harness_query_int(s.pg, "SELECT count(*) FROM staff WHERE phone = '" BEN "' "
	    "AND name = 'Ben' AND language = 'es'"), 1);

	/* staff edit changes what is asked, nothing else. */
	ck_assert_int_eq(harness_gw_cli(&s.gw, &out, "staff", "edit", BEN, "--language", "en", NULL), 0);
	free(out);
	ck_assert_int_eq(harness_query_int(s.pg, "SELECT count(*) FROM staff WHERE phone = '" BEN "' "
	    "AND name = 'Ben' AND language = 'en'"), 1);
	ck_assert_int_eq(harness_gw_cli(&s.gw, &out, "staff", "edit", BEN, "--name", "Ben Ortiz", "--phone",
	    "+15554000009", NULL), 0);
	free(out);
	ck_assert_int_eq(harness_query_int(s.pg, "SELECT count(*) FROM staff WHERE phone = '+15554000009' "
	    "AND name = 'Ben Ortiz'"), 1);
	rc = harness_gw_cli(&s.gw, &out, "staff", "edit", "+15554000009", "--phone", ANA, NULL);
	refused(out, rc, "--phone: " ANA " already belongs to Ana");
	rc = harness_gw_cli(&s.gw, &out, "staff", "edit", "+15554000009", "--language", "fr", NULL);
	refused(out, rc, "--language must be en or es");
	rc = harness_gw_cli(&s.gw, &out, "staff", "edit", "+15559999999", "--name", "X", NULL);
	refused(out, rc, "no active staff member has phone +15559999999");
	rc = harness_gw_cli(&s.gw, &out, "staff", "edit", ANA, NULL);
	refused(out, rc, "needs something to change");
	rc = harness_gw_cli(&s.gw, &out, "staff", "add", "--name", "Dee", "--phone", "555 12", NULL);
	refused(out, rc, "is not a phone number");
	/* A removed number can be added again (re-added, new details). */
	ck_assert_int_eq(harness_gw_cli(&s.gw, NULL, "staff", "remove", CARLA, NULL), 0);
	harness_gw_cli_expect(&s.gw, 0, "re-added", "staff", "add", "--name", "Carla R", "--phone", CARLA,
	    NULL);
	sched_free(&s);
}
END_TEST

START_TEST(test_oncall_refusals)
{
	struct sched s;
	char *out = NULL, *f, *t;
	int rc;

	sched_init(&s);
	f = at(s.day1, "08:00");
	t = at(s.day1, "20:00");

	/* --from equal to --to is not a 24-hour shift. */
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", ANA, "--tier", "primary", "--from", f, "--to", f, NULL);
	refused(out, rc, "--from and --to are the same time");
	/* Not a date: says how to write one, no PostgreSQL parse error. */
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", ANA, "--tier", "primary", "--from",
	    "2026-13-01 08:00", "--to", t, NULL);
	refused(out, rc, "--from: \"2026-13-01 08:00\" is not a date and time");
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", ANA, "--tier", "primary", "--from", "tomorrow",
	    "--to", t, NULL);
	refused(out, rc, "YYYY-MM-DD HH:MM");
	/* Abbreviations and unknown zones. */
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", ANA, "--tier", "primary", "--from", f, "--to", t,
	    "--tz", "CST", NULL);
	refused(out, rc, "--tz: \"CST\" is not a time zone name");
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", ANA, "--tier", "primary", "--from", f, "--to", t,
	    "--tz", "America/Springfield", NULL);
	refused(out, rc, "--tz: no time zone is called \"America/Springfield\"");
	/* A local time the clocks skip (Chicago, 14 March 2027, 02:00 -> 03:00). */
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", ANA, "--tier", "primary", "--from",
	    "2027-03-14 02:30", "--to", "2027-03-14 09:00", "--tz", "America/Chicago", NULL);
	refused(out, rc, "--from: 2027-03-14 02:30 does not exist in America/Chicago");
	/* One they pass twice (7 November 2027, 02:00 -> 01:00) needs --fold. */
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", ANA, "--tier", "primary", "--from",
	    "2027-11-07 01:30", "--to", "2027-11-07 09:00", "--tz", "America/Chicago", NULL);
	refused(out, rc, "--from: 2027-11-07 01:30 happens twice in America/Chicago");
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", ANA, "--tier", "primary", "--from",
	    "2027-11-07 01:30", "--to", "2027-11-07 09:00", "--tz", "America/Chicago", "--fold", "sideways", NULL);
	refused(out, rc, "--fold must be earlier or later");
	/* A shift in 2020. */
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", ANA, "--tier", "primary", "--from",
	    "2020-03-02 08:00", "--to", "2020-03-02 20:00", NULL);
	refused(out, rc, "is already over");
	/* Unknown person, bad tier, bad --days. */
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", "+15559999999", "--tier", "primary", "--from", f,
	    "--to", t, NULL);
	refused(out, rc, "--phone: no active staff member has phone +15559999999");
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", ANA, "--tier", "boss", "--from", f, "--to", t, NULL);
	refused(out, rc, "--tier must be primary or backup");
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", ANA, "--tier", "primary", "--from", f, "--to", t,
	    "--days", "0", NULL);
	refused(out, rc, "--days must be");
	ck_assert_int_eq(shifts(&s), 0);

	/* The fold chosen: 01:30 CST (later) is 07:30Z, not 06:30Z. */
	ck_assert_msg(harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", CARLA, "--tier", "backup", "--from",
	    "2027-11-07 01:30", "--to", "2027-11-07 09:00", "--tz", "America/Chicago", "--fold", "later", NULL) == 0,
	    "%s", out);
	free(out);
	ck_assert_int_eq(harness_query_int(s.pg, "SELECT count(*) FROM oncall_shifts WHERE "
	    "starts_at = '2027-11-07 07:30+00' AND ends_at = '2027-11-07 15:00+00'"), 1);

	/* The same person primary and backup at once. */
	ck_assert_int_eq(harness_gw_cli(&s.gw, NULL, "oncall", "add", "--phone", ANA, "--tier", "primary",
	    "--from", f, "--to", t, NULL), 0);
	rc = harness_gw_cli(&s.gw, &out, "oncall", "add", "--phone", ANA, "--tier", "backup", "--from",
	    at(s.day1, "12:00"), "--to", at(s.day1, "22:00"), NULL);
	refused(out, rc, "the same person cannot be primary and backup at once");
	/* Two primaries at once is allowed, with a warning. */
	harness_gw_cli_expect(&s.gw, 0, "warning: Ana is also primary then", "oncall", "add", "--phone", BEN,
	    "--tier", "primary", "--from", at(s.day1, "18:00"), "--to", at(s.day2, "08:00"), NULL);
	ck_assert_int_eq(shifts(&s), 3);
	sched_free(&s);
}
END_TEST

START_TEST(test_oncall_edit_remove_check)
{
	struct sched s;
	char *out = NULL, *id, *ben;
	int rc;

	sched_init(&s);
	/*
	 * Ana primary from an hour ago until tomorrow 20:00 UTC (so she covers tomorrow 08:00
	 * whatever the hour the test runs); Ben backup the day after; Carla nothing.
	 */
	ck_assert_int_eq(harness_gw_cli(&s.gw, NULL, "oncall", "add", "--phone", ANA, "--tier", "primary", "--from",
	    sql_text("SELECT to_char(now() AT TIME ZONE 'UTC' - interval '1 hour', 'YYYY-MM-DD HH24:MI')"),
	    "--to", at(s.day1, "20:00"), NULL), 0);
	ck_assert_int_eq(harness_gw_cli(&s.gw, NULL, "oncall", "add", "--phone", BEN, "--tier", "backup", "--from",
	    at(s.day2, "08:00"), "--to", at(s.day2, "20:00"), NULL), 0);
	ben = sql_text("SELECT o.id FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id "
	    "WHERE s.name = 'Ben'");

	/* A gap with nobody, one with only the backup: oncall check and doctor both say so. */
	rc = harness_gw_cli(&s.gw, &out, "oncall", "check", NULL);
	ck_assert_msg(rc == 1 && strstr(out, "warning: nobody is on call from") && strstr(out, "warning: no primary from"),
	    "%s", out);
	free(out);
	harness_gw_cli(&s.gw, &out, "doctor", NULL);
	ck_assert_msg(strstr(out, "on-call: nobody is on call from") != NULL, "%s", out);
	free(out);

	/* Edit: Ben becomes primary; then back-to-back with nothing changed but the tier. */
	ck_assert_msg(harness_gw_cli(&s.gw, &out, "oncall", "edit", ben, "--tier", "primary", NULL) == 0, "%s", out);
	free(out);
	ck_assert_int_eq(harness_query_int(s.pg, "SELECT count(*) FROM oncall_shifts WHERE tier = 'primary'"), 2);
	/* Edit refusals: to the same time, onto Ana's own shift as backup, unknown id, bad id. */
	rc = harness_gw_cli(&s.gw, &out, "oncall", "edit", ben, "--to", at(s.day2, "08:00"), NULL);
	refused(out, rc, "--from and --to are the same time");
	rc = harness_gw_cli(&s.gw, &out, "oncall", "edit", ben, "--phone", ANA, "--from", at(s.day1, "08:00"),
	    "--tier", "backup", NULL);
	refused(out, rc, "the same person cannot be primary and backup at once");
	rc = harness_gw_cli(&s.gw, &out, "oncall", "edit", "999999", "--tier", "backup", NULL);
	refused(out, rc, "there is no shift 999999");
	rc = harness_gw_cli(&s.gw, &out, "oncall", "edit", ben, "--days", "3", NULL);
	refused(out, rc, "--days is for oncall add");
	ck_assert_int_eq(harness_query_int(s.pg, "SELECT count(*) FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id "
	    "WHERE s.name = 'Ben' AND o.tier = 'primary'"), 1);

	/* Remove. */
	rc = harness_gw_cli(&s.gw, &out, "oncall", "remove", "abc", NULL);
	refused(out, rc, "usage: oncall remove ID");
	rc = harness_gw_cli(&s.gw, &out, "oncall", "remove", "999999", NULL);
	refused(out, rc, "there is no shift 999999");
	ck_assert_msg(harness_gw_cli(&s.gw, &out, "oncall", "remove", ben, NULL) == 0, "%s", out);
	ck_assert_msg(strstr(out, "removed shift") && strstr(out, "Ben"), "%s", out);
	free(out);
	ck_assert_int_eq(shifts(&s), 1);
	id = sql_text("SELECT id FROM oncall_shifts");
	ck_assert_int_eq(harness_gw_cli(&s.gw, NULL, "oncall", "remove", id, NULL), 0);
	ck_assert_int_eq(shifts(&s), 0);
	sched_free(&s);
}
END_TEST

CHECK_RUN_MAIN("schedule", 120, test_staff_register, test_oncall_refusals, test_oncall_edit_remove_check)
