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

#endif
