/*
 * check_oncall.c - on-call resolution across shift boundaries and time
 * zones, the alert ladder, and ACK parsing.
 */
#include <check.h>
#include <stdlib.h>

#include "check_run.h"
#include "unit_helpers.h"
#include "ack.h"
#include "oncall.h"

#define HOUR (3600 * 1000LL)
/* 2026-11-27T00:00:00Z */
#define DAY0 1795737600000LL

/*
 * Shifts as a clinic in New York (UTC-5 in November) and a backup in
 * Madrid (UTC+1) would enter them, turned into instants:
 *   Ana   primary 08:00-20:00 New York  = 13:00-01:00Z
 *   Ben   primary 20:00-08:00 New York  = 01:00-13:00Z (next day)
 *   Carla backup  09:00-21:00 Madrid    = 08:00-20:00Z
 *   Dev   backup  21:00-09:00 Madrid    = 20:00-08:00Z (next day)
 */
static const struct oncall_shift shifts[] = {
	{ 1, ONCALL_PRIMARY, DAY0 + 13 * HOUR, DAY0 + 25 * HOUR, false },  /* Ana */
	{ 2, ONCALL_PRIMARY, DAY0 + 25 * HOUR, DAY0 + 37 * HOUR, false },  /* Ben */
	{ 3, ONCALL_BACKUP, DAY0 + 8 * HOUR, DAY0 + 20 * HOUR, false },    /* Carla */
	{ 4, ONCALL_BACKUP, DAY0 + 20 * HOUR, DAY0 + 32 * HOUR, false },   /* Dev */
};
#define NSHIFTS (sizeof shifts / sizeof shifts[0])

static int64_t
primary_at(int64_t t)
{
	int64_t out[4];
	size_t n = oncall_on_duty(shifts, NSHIFTS, t, ONCALL_PRIMARY, out, 4);

	return n == 0 ? 0 : out[0];
}

START_TEST(test_shift_boundaries)
{
	/* Start is inclusive, end exclusive: exactly one primary at the handover. */
	ck_assert_int_eq(primary_at(DAY0 + 13 * HOUR - 1), 0);
	ck_assert_int_eq(primary_at(DAY0 + 13 * HOUR), 1);
	ck_assert_int_eq(primary_at(DAY0 + 25 * HOUR - 1), 1);
	ck_assert_int_eq(primary_at(DAY0 + 25 * HOUR), 2);
	ck_assert_int_eq(primary_at(DAY0 + 37 * HOUR - 1), 2);
	ck_assert_int_eq(primary_at(DAY0 + 37 * HOUR), 0);
}
END_TEST

START_TEST(test_time_zones_and_tiers)
{
	int64_t out[8];
	/* 19:30 in New York = 00:30Z the next day: Ana (New York day) and Dev (Madrid night). */
	int64_t t = DAY0 + 24 * HOUR + 30 * 60 * 1000;

	ck_assert_uint_eq(oncall_on_duty(shifts, NSHIFTS, t, ONCALL_PRIMARY, out, 8), 1);
	ck_assert_int_eq(out[0], 1);
	ck_assert_uint_eq(oncall_on_duty(shifts, NSHIFTS, t, ONCALL_BACKUP, out, 8), 1);
	ck_assert_int_eq(out[0], 4);
	/* 08:00Z the next day: Dev's Madrid night has ended and no backup is entered for that day; */
	/* 08:00Z on the first day (09:00 Madrid): Carla's shift has just begun. */
	t = DAY0 + 32 * HOUR;
	ck_assert_uint_eq(oncall_on_duty(shifts, NSHIFTS, t, ONCALL_BACKUP, out, 8), 0);
	t = DAY0 + 8 * HOUR;
	ck_assert_uint_eq(oncall_on_duty(shifts, NSHIFTS, t, ONCALL_BACKUP, out, 8), 1);
	ck_assert_int_eq(out[0], 3);
}
END_TEST

START_TEST(test_ladder)
{
	int64_t out[8];
	int64_t t = DAY0 + 14 * HOUR;  /* Ana primary, Carla backup */

	ck_assert_uint_eq(oncall_targets(shifts, NSHIFTS, t, 1, out, 8), 1);
	ck_assert_int_eq(out[0], 1);
	ck_assert_uint_eq(oncall_targets(shifts, NSHIFTS, t, 2, out, 8), 1);
	ck_assert_int_eq(out[0], 3);
	for (int step = 3; step < 6; step++) {
		ck_assert_uint_eq(oncall_targets(shifts, NSHIFTS, t, step, out, 8), 2);
		ck_assert_int_eq(out[0], 1);
		ck_assert_int_eq(out[1], 3);
	}
	/* Nobody on call before any shift. */
	ck_assert_uint_eq(oncall_targets(shifts, NSHIFTS, DAY0, 1, out, 8), 0);
	ck_assert_uint_eq(oncall_targets(shifts, NSHIFTS, DAY0, 3, out, 8), 0);
	/* The output bound is respected. */
	ck_assert_uint_eq(oncall_targets(shifts, NSHIFTS, t, 3, out, 1), 1);
}
END_TEST

START_TEST(test_unreachable_skipped)
{
	struct oncall_shift s[] = {
		{ 1, ONCALL_PRIMARY, 0, 1000, true },
		{ 2, ONCALL_BACKUP, 0, 1000, false },
		{ 3, ONCALL_BACKUP, 0, 1000, false },
	};
	int64_t out[8];

	/* A dead primary number: round 1 already goes to the reachable backups. */
	ck_assert_uint_eq(oncall_targets(s, 3, 10, 1, out, 8), 2);
	ck_assert_int_eq(out[0], 2);
	ck_assert_int_eq(out[1], 3);
	/* Every later round leaves the dead number out. */
	ck_assert_uint_eq(oncall_targets(s, 3, 10, 4, out, 8), 2);
	ck_assert_int_eq(out[0], 2);
	/* Nobody reachable: everyone on call is tried anyway. */
	s[1].unreachable = s[2].unreachable = true;
	ck_assert_uint_eq(oncall_targets(s, 3, 10, 2, out, 8), 3);
	/* A round whose tier is empty goes to who is on call (no primary: the backups). */
	s[0].unreachable = s[1].unreachable = s[2].unreachable = false;
	ck_assert_uint_eq(oncall_targets(s + 1, 2, 10, 1, out, 8), 2);
}
END_TEST

START_TEST(test_overlap_and_duplicates)
{
	static const struct oncall_shift s[] = {
		{ 7, ONCALL_PRIMARY, 100, 300, false },
		{ 5, ONCALL_PRIMARY, 50, 200, false },
		{ 7, ONCALL_PRIMARY, 150, 400, false },  /* the same person twice */
		{ 9, ONCALL_BACKUP, 0, 1000, false },
	};
	int64_t out[8];

	/* Earlier start first, whatever the input order; each person once. */
	ck_assert_uint_eq(oncall_on_duty(s, 4, 160, ONCALL_PRIMARY, out, 8), 2);
	ck_assert_int_eq(out[0], 5);
	ck_assert_int_eq(out[1], 7);
	ck_assert_uint_eq(oncall_targets(s, 4, 160, 3, out, 8), 3);
	ck_assert_int_eq(out[2], 9);
	ck_assert_int_eq(oncall_tier_parse("backup"), ONCALL_BACKUP);
	ck_assert_int_eq(oncall_tier_parse("boss"), -1);
}
END_TEST

START_TEST(test_ack_parse)
{
	static const struct {
		const char *text;
		int ok;
		const char *code;
	} cases[] = {
		{ "ACK", 1, "" }, { "ack", 1, "" }, { "  Ack.", 1, "" }, { "ACK 4821", 1, "4821" },
		{ "ack4821", 1, "4821" }, { "Ack #4821", 1, "4821" }, { "ACK: 4821!", 1, "4821" },
		{ "acknowledged 4821", 1, "4821" }, { "Acknowledge", 1, "" }, { "OK 4821", 1, "4821" },
		{ "ok", 0, "" }, { "okay", 0, "" }, { "ACK 12345678", 0, "" }, { "ack that", 0, "" },
		{ "back pain", 0, "" }, { "acking", 0, "" }, { "", 0, "" }, { "4821", 0, "" },
		{ "ACK 48 21", 0, "" },
	};
	char code[ACK_CODE_MAX];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool ok = ack_parse(cases[i].text, code);

		ck_assert_msg(ok == (bool)cases[i].ok, "\"%s\": got %d", cases[i].text, ok);
		if (ok)
			ck_assert_str_eq(code, cases[i].code);
	}
}
END_TEST

/* A bare ACK takes an alert only where ACK_BARE_ALLOWED=1; by default the code is required. */
START_TEST(test_ack_classify)
{
	static const struct {
		const char *text;
		enum ack_kind strict, lenient;  /* ACK_BARE_ALLOWED=0, =1 */
		const char *code;
	} cases[] = {
		{ "ACK", ACK_CODE_REQUIRED, ACK_BARE, "" },
		{ "  ack. ", ACK_CODE_REQUIRED, ACK_BARE, "" },
		{ "Acknowledged", ACK_CODE_REQUIRED, ACK_BARE, "" },
		{ "ACK 9176", ACK_CODED, ACK_CODED, "9176" },
		{ "ok 9176", ACK_CODED, ACK_CODED, "9176" },
		{ "ack #0042", ACK_CODED, ACK_CODED, "0042" },
		{ "ok", ACK_NONE, ACK_NONE, "" },
		{ "who is on call?", ACK_NONE, ACK_NONE, "" },
		{ "ACK 12345678", ACK_NONE, ACK_NONE, "" },
	};
	char code[ACK_CODE_MAX];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum ack_kind k = ack_classify(cases[i].text, false, code);

		ck_assert_msg(k == cases[i].strict, "\"%s\" strict: got %s", cases[i].text, ack_kind_name(k));
		if (k != ACK_NONE)
			ck_assert_str_eq(code, cases[i].code);
		k = ack_classify(cases[i].text, true, code);
		ck_assert_msg(k == cases[i].lenient, "\"%s\" lenient: got %s", cases[i].text, ack_kind_name(k));
		if (k != ACK_NONE)
			ck_assert_str_eq(code, cases[i].code);
	}
	ck_assert_str_eq(ack_kind_name(ACK_CODE_REQUIRED), "code_required");
}
END_TEST

/* oncall_local_parse as a yes/no predicate. */
static bool
local_time_parses(const char *text)
{
	struct oncall_local t;

	return oncall_local_parse(text, &t);
}

START_TEST(test_local_times_and_zones)
{
	struct oncall_local t, u;
	char buf[20];

	ck_assert(oncall_local_parse("2028-02-29 23:59", &t));
	oncall_local_add_days(&t, 1);
	oncall_local_format(&t, buf, sizeof buf);
	ck_assert_str_eq(buf, "2028-03-01 23:59");
	oncall_local_add_days(&t, -61);
	oncall_local_format(&t, buf, sizeof buf);
	ck_assert_str_eq(buf, "2027-12-31 23:59");
	ck_assert(oncall_local_parse("2027-12-31T08:00", &u));
	ck_assert_int_gt(oncall_local_cmp(&t, &u), 0);
	ck_assert_int_eq(oncall_local_cmp(&t, &t), 0);
	/* Dates that do not exist, and anything not quite the format. */
	unit_assert_yes_no(local_time_parses, "oncall_local_parse", (const char *const[]){ NULL },
	    (const char *const[]){ "2027-02-29 08:00", "2026-13-01 08:00", "2026-12-01 24:00", "2026-12-01 8:00",
		"2026-12-01 08:00:00", "tomorrow", NULL });
	/* IANA names only. */
	unit_assert_yes_no(oncall_zone_name_ok, "oncall_zone_name_ok", (const char *const[]){
		"UTC", "America/Chicago", "America/Argentina/Buenos_Aires", "Etc/GMT+5", NULL },
	    (const char *const[]){
		"CST", "EST5EDT", "America/../etc/passwd", "/etc/localtime", "posix/America/Chicago",
		"America/Chi cago", "", NULL });
}
END_TEST

START_TEST(test_gaps)
{
	static const struct oncall_shift s[] = {
		{ 1, ONCALL_PRIMARY, 100, 200, false },
		{ 2, ONCALL_PRIMARY, 150, 300, false },
		{ 3, ONCALL_BACKUP, 300, 350, false },
		{ 1, ONCALL_PRIMARY, 400, 500, false },
	};
	struct oncall_gap g[8];

	/* 0-100 nobody, 300-350 backup only, 350-400 nobody, 500-600 nobody. */
	ck_assert_uint_eq(oncall_gaps(s, 4, 0, 600, g, 8), 4);
	ck_assert(g[0].start_ms == 0 && g[0].end_ms == 100 && !g[0].backup_on);
	ck_assert(g[1].start_ms == 300 && g[1].end_ms == 350 && g[1].backup_on);
	ck_assert(g[2].start_ms == 350 && g[2].end_ms == 400 && !g[2].backup_on);
	ck_assert(g[3].start_ms == 500 && g[3].end_ms == 600 && !g[3].backup_on);
	/* Within one shift: no gap; the bound on out is respected. */
	ck_assert_uint_eq(oncall_gaps(s, 4, 120, 290, g, 8), 0);
	ck_assert_uint_eq(oncall_gaps(s, 4, 0, 600, g, 1), 4);
	ck_assert(oncall_overlap(&s[0], &s[1]));
	ck_assert(!oncall_overlap(&s[1], &s[2]));  /* end is exclusive */
}
END_TEST

CHECK_RUN_MAIN("oncall", 30, test_shift_boundaries, test_time_zones_and_tiers, test_ladder,
    test_overlap_and_duplicates, test_unreachable_skipped, test_ack_parse, test_ack_classify,
    test_local_times_and_zones, test_gaps)
