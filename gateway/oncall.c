/*
 * oncall.c - on-call resolution and the escalation ladder (PURE). See oncall.h.
 */
#include "oncall.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
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
oncall_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
oncall_month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && oncall_leap(y) ? 29 : days[m - 1];
}

static bool
oncall_digits(const char *p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return true;
}

bool
oncall_local_parse(const char *text, struct oncall_local *out)
{
	struct oncall_local t;

	/* Exactly "YYYY-MM-DD HH:MM": 16 characters. */
	if (text == NULL || strlen(text) != 16 || text[4] != '-' || text[7] != '-' ||
	    (text[10] != ' ' && text[10] != 'T') || text[13] != ':')
		return false;
	if (!oncall_digits(text, 4, &t.year) || !oncall_digits(text + 5, 2, &t.month) ||
	    !oncall_digits(text + 8, 2, &t.day) || !oncall_digits(text + 11, 2, &t.hour) ||
	    !oncall_digits(text + 14, 2, &t.minute))
		return false;
	if (t.year < 1970 || t.month < 1 || t.month > 12 || t.day < 1 ||
	    t.day > oncall_month_days(t.year, t.month) || t.hour > 23 || t.minute > 59)
		return false;
	*out = t;
	return true;
}

void
oncall_local_add_days(struct oncall_local *t, int days)
{
	for (; days > 0; days--) {
		if (++t->day > oncall_month_days(t->year, t->month)) {
			t->day = 1;
			if (++t->month > 12) {
				t->month = 1;
				t->year++;
			}
		}
	}
	for (; days < 0; days++) {
		if (--t->day < 1) {
			if (--t->month < 1) {
				t->month = 12;
				t->year--;
			}
			t->day = oncall_month_days(t->year, t->month);
		}
	}
}

int
oncall_local_cmp(const struct oncall_local *a, const struct oncall_local *b)
{
	const int av[] = { a->year, a->month, a->day, a->hour, a->minute };
	const int bv[] = { b->year, b->month, b->day, b->hour, b->minute };

	for (size_t i = 0; i < sizeof av / sizeof av[0]; i++) {
		if (av[i] != bv[i])
			return av[i] < bv[i] ? -1 : 1;
	}
	return 0;
}

void
oncall_local_format(const struct oncall_local *t, char *buf, size_t size)
{
	snprintf(buf, size, "%04d-%02d-%02d %02d:%02d", t->year, t->month, t->day, t->hour, t->minute);
}

bool
oncall_zone_name_ok(const char *name)
{
	size_t len = name == NULL ? 0 : strlen(name);
	bool slash = false;

	if (len == 0 || len > 64)
		return false;
	if (strcmp(name, "UTC") == 0)
		return true;
	if (name[0] == '/' || name[len - 1] == '/' || strstr(name, "//") != NULL || strstr(name, "..") != NULL)
		return false;
	/* "posix/..." and "right/..." are copies with other leap-second rules, not places. */
	if (strncmp(name, "posix/", 6) == 0 || strncmp(name, "right/", 6) == 0)
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '/')
			slash = true;
		else if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '+')
			return false;
	}
	/* The area is a word such as America or Europe, never a digit. */
	return slash && isupper((unsigned char)name[0]);
}

bool
oncall_overlap(const struct oncall_shift *a, const struct oncall_shift *b)
{
	return a->start_ms < b->end_ms && b->start_ms < a->end_ms;
}

static int
oncall_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

size_t
oncall_gaps(const struct oncall_shift *shifts, size_t n, int64_t from_ms, int64_t to_ms,
    struct oncall_gap *out, size_t max)
{
	int64_t *points;
	size_t np = 0, count = 0;

	if (to_ms <= from_ms)
		return 0;
	points = malloc((2 * n + 2) * sizeof *points);
	if (points == NULL)
		abort();
	points[np++] = from_ms;
	points[np++] = to_ms;
	for (size_t i = 0; i < n; i++) {
		if (shifts[i].start_ms > from_ms && shifts[i].start_ms < to_ms)
			points[np++] = shifts[i].start_ms;
		if (shifts[i].end_ms > from_ms && shifts[i].end_ms < to_ms)
			points[np++] = shifts[i].end_ms;
	}
	qsort(points, np, sizeof *points, oncall_cmp_i64);
	/* Between two neighbouring boundaries the cover cannot change. */
	for (size_t k = 0; k + 1 < np; k++) {
		int64_t a = points[k], b = points[k + 1];
		bool primary = false, backup = false;

		if (a == b)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (shifts[i].start_ms <= a && a < shifts[i].end_ms) {
				if (shifts[i].tier == ONCALL_PRIMARY)
					primary = true;
				else
					backup = true;
			}
		}
		if (primary)
			continue;
		if (count > 0 && count <= max && out[count - 1].end_ms == a && out[count - 1].backup_on == backup) {
			out[count - 1].end_ms = b;
			continue;
		}
		if (count < max) {
			out[count].start_ms = a;
			out[count].end_ms = b;
			out[count].backup_on = backup;
		}
		count++;
	}
	free(points);
	return count;
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
