/*
 * oncall.h - who is on call, and who an escalation step alerts (PURE).
 *
 * Shifts are absolute intervals [start, end) in ms since the epoch; local
 * times and time zones are turned into instants when a shift is entered
 * (carenav oncall add --tz), so nothing here needs a time zone database.
 */
#ifndef CARENAV_GATEWAY_ONCALL_H
#define CARENAV_GATEWAY_ONCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ONCALL_TIER_LIST(X)                                   \
	X(ONCALL_PRIMARY, "primary") /* alerted first */      \
	X(ONCALL_BACKUP, "backup")   /* alerted when primary does not ACK */

enum oncall_tier {
#define X(id, name) id,
	ONCALL_TIER_LIST(X)
#undef X
};

struct oncall_shift {
	int64_t staff_id;
	enum oncall_tier tier;
	int64_t start_ms;  /* inclusive */
	int64_t end_ms;    /* exclusive */
	bool unreachable;  /* the provider refused a page to this staff member for good */
};

/* Parses "primary"/"backup"; -1 if neither. */
int oncall_tier_parse(const char *name);
const char *oncall_tier_name(enum oncall_tier tier);

/*
 * Staff on duty at now_ms in tier, each once, in shift start order (the one
 * who came on duty first first). Writes at most max ids; returns how many.
 */
size_t oncall_on_duty(const struct oncall_shift *shifts, size_t n, int64_t now_ms,
    enum oncall_tier tier, int64_t *out, size_t max);

/*
 * Who alert round `step` (1 = the first) goes to: 1 the primary tier,
 * 2 the backup tier, 3 and every later round everyone on call. Staff marked
 * unreachable are skipped: when nobody reachable is left in the round's
 * tier, the round goes to everyone else on call who is reachable, and when
 * nobody on call is reachable, to everyone on call. Returns how many ids
 * were written; 0 means nobody is on call at all.
 */
size_t oncall_targets(const struct oncall_shift *shifts, size_t n, int64_t now_ms, int step,
    int64_t *out, size_t max);

/* A wall-clock time as a person types it, "YYYY-MM-DD HH:MM", no zone. */
struct oncall_local {
	int year, month, day;   /* month 1..12, day 1..days in that month */
	int hour, minute;       /* 0..23, 0..59 */
};

/*
 * Parses "YYYY-MM-DD HH:MM" (a 'T' instead of the space is fine). False
 * for anything else, including dates that do not exist (2027-02-30).
 */
bool oncall_local_parse(const char *text, struct oncall_local *out);
/* The same time `days` calendar days later (or earlier, if negative). */
void oncall_local_add_days(struct oncall_local *t, int days);
/* <0, 0, >0 as a is before, equal to or after b (as wall-clock times). */
int oncall_local_cmp(const struct oncall_local *a, const struct oncall_local *b);
/* "YYYY-MM-DD HH:MM" into buf (at least 17 bytes). */
void oncall_local_format(const struct oncall_local *t, char *buf, size_t size);

/*
 * True if name looks like an IANA zone name: "UTC", or Area/Location
 * ("America/Chicago", "America/Argentina/Buenos_Aires") made of letters,
 * digits, '_', '-', '+'. Abbreviations ("CST", "EST5EDT") are refused:
 * they say nothing about daylight saving where the clinic is. Whether
 * the zone exists is the time zone database's question, not this one's.
 */
bool oncall_zone_name_ok(const char *name);

/* A stretch of the schedule without a primary. */
struct oncall_gap {
	int64_t start_ms;  /* inclusive */
	int64_t end_ms;    /* exclusive */
	bool backup_on;    /* a backup covers all of it (else nobody is on call) */
};

/*
 * The stretches of [from_ms, to_ms) that no primary covers, in time order,
 * adjacent ones merged when their backup cover is the same. Writes at most
 * max; returns how many there are (may exceed max).
 */
size_t oncall_gaps(const struct oncall_shift *shifts, size_t n, int64_t from_ms, int64_t to_ms,
    struct oncall_gap *out, size_t max);

/* True if the two shifts share any instant. */
bool oncall_overlap(const struct oncall_shift *a, const struct oncall_shift *b);

#endif
