/*
 * oncall.c - on-call resolution and the escalation ladder (PURE). See oncall.h.
 */
#include "oncall.h"

#include <string.h>

static const char *const oncall_tier_names[] = {
#define X(id, name) [id] = name,
	ONCALL_TIER_LIST(X)
#undef X
};

int
oncall_tier_parse(const char *name)
{
	for (size_t i = 0; i < sizeof oncall_tier_names / sizeof oncall_tier_names[0]; i++) {
		if (strcmp(name, oncall_tier_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

const char *
oncall_tier_name(enum oncall_tier tier)
{
	return oncall_tier_names[tier];
}

static size_t
oncall_add_unique(int64_t *out, size_t count, size_t max, int64_t id)
{
	for (size_t i = 0; i < count; i++) {
		if (out[i] == id)
			return count;
	}
	if (count < max)
		out[count++] = id;
	return count;
}

size_t
oncall_on_duty(const struct oncall_shift *shifts, size_t n, int64_t now_ms, enum oncall_tier tier,
    int64_t *out, size_t max)
{
	size_t count = 0;
	int64_t last_start = INT64_MIN;

	/* Selection by start time, so the order never depends on the input order. */
	for (;;) {
		int64_t best_start = INT64_MAX;

		for (size_t i = 0; i < n; i++) {
			const struct oncall_shift *s = &shifts[i];

			if (s->tier == tier && s->start_ms <= now_ms && now_ms < s->end_ms &&
			    s->start_ms > last_start && s->start_ms < best_start)
				best_start = s->start_ms;
		}
		if (best_start == INT64_MAX)
			return count;
		for (size_t i = 0; i < n; i++) {
			const struct oncall_shift *s = &shifts[i];

			if (s->tier == tier && s->start_ms == best_start && s->start_ms <= now_ms &&
			    now_ms < s->end_ms)
				count = oncall_add_unique(out, count, max, s->staff_id);
		}
		last_start = best_start;
	}
}

/* The tiers of round `step`, reachable or not. */
static size_t
oncall_step_targets(const struct oncall_shift *shifts, size_t n, int64_t now_ms, int step, int64_t *out,
    size_t max)
{
	size_t count;

	if (step <= 1)
		return oncall_on_duty(shifts, n, now_ms, ONCALL_PRIMARY, out, max);
	if (step == 2)
		return oncall_on_duty(shifts, n, now_ms, ONCALL_BACKUP, out, max);
	count = oncall_on_duty(shifts, n, now_ms, ONCALL_PRIMARY, out, max);
	return count + oncall_on_duty(shifts, n, now_ms, ONCALL_BACKUP, out + count, max - count);
}

static bool
oncall_is_unreachable(const struct oncall_shift *shifts, size_t n, int64_t staff_id)
{
	for (size_t i = 0; i < n; i++) {
		if (shifts[i].staff_id == staff_id && shifts[i].unreachable)
			return true;
	}
	return false;
}

/* Keeps the reachable ids of out[0..count), in order; returns how many. */
static size_t
oncall_keep_reachable(const struct oncall_shift *shifts, size_t n, int64_t *out, size_t count)
{
	size_t kept = 0;

	for (size_t i = 0; i < count; i++) {
		if (!oncall_is_unreachable(shifts, n, out[i]))
			out[kept++] = out[i];
	}
	return kept;
}

size_t
oncall_targets(const struct oncall_shift *shifts, size_t n, int64_t now_ms, int step, int64_t *out,
    size_t max)
{
	size_t count = oncall_keep_reachable(shifts, n, out,
	    oncall_step_targets(shifts, n, now_ms, step, out, max));

	if (count > 0)
		return count;
	/* Nobody reachable in this round's tier: whoever else is on call and reachable... */
	count = oncall_keep_reachable(shifts, n, out, oncall_step_targets(shifts, n, now_ms, 3, out, max));
	if (count > 0)
		return count;
	/* ...else everyone on call, reachable or not: a refused number may work again. */
	return oncall_step_targets(shifts, n, now_ms, 3, out, max);
}
