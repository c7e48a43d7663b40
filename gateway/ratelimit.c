/*
 * ratelimit.c - token buckets per key (client address, operator). See ratelimit.h.
 *
 * Tokens are kept in thousandths so the refill (per_minute / 60000 per ms)
 * stays integral. The table is a flat array searched linearly: max_keys is
 * small (clinic consoles, not the internet) and a sweep to drop idle keys
 * only runs when the table is full.
 */
#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define RATELIMIT_KEY_MAX 64

struct ratelimit_bucket {
	char key[RATELIMIT_KEY_MAX];
	int64_t milli;     /* tokens * 1000 */
	int64_t last_ms;   /* when milli was last brought up to date */
};

struct ratelimit {
	int64_t capacity_milli;  /* per_minute * 1000; 0 = unlimited */
	struct ratelimit_bucket *buckets;  /* owned */
	size_t n, max;
	struct ratelimit_bucket overflow;  /* shared by keys that found no room */
};

struct ratelimit *
ratelimit_new(long long per_minute, size_t max_keys)
{
	struct ratelimit *rl = xcalloc(1, sizeof *rl);

	rl->capacity_milli = (int64_t)per_minute * 1000;
	rl->max = max_keys ? max_keys : 1;
	rl->buckets = xcalloc(rl->max, sizeof *rl->buckets);
	rl->overflow.milli = rl->capacity_milli;
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	free(rl->buckets);
	free(rl);
}

static void
ratelimit_refill(const struct ratelimit *rl, struct ratelimit_bucket *b, int64_t now_ms)
{
	int64_t elapsed = now_ms - b->last_ms;

	if (elapsed > 0) {
		/* capacity_milli per 60000 ms; capped so the product cannot overflow. */
		if (elapsed > 60000)
			elapsed = 60000;
		b->milli += rl->capacity_milli * elapsed / 60000;
		if (b->milli > rl->capacity_milli)
			b->milli = rl->capacity_milli;
	}
	b->last_ms = now_ms;
}

/* Drops keys whose buckets have refilled completely: they are idle. */
static void
ratelimit_sweep(struct ratelimit *rl, int64_t now_ms)
{
	size_t kept = 0;

	for (size_t i = 0; i < rl->n; i++) {
		ratelimit_refill(rl, &rl->buckets[i], now_ms);
		if (rl->buckets[i].milli < rl->capacity_milli)
			rl->buckets[kept++] = rl->buckets[i];
	}
	rl->n = kept;
}

static struct ratelimit_bucket *
ratelimit_find(struct ratelimit *rl, const char *key, int64_t now_ms)
{
	struct ratelimit_bucket *b;

	for (size_t i = 0; i < rl->n; i++) {
		if (strcmp(rl->buckets[i].key, key) == 0)
			return &rl->buckets[i];
	}
	if (rl->n == rl->max)
		ratelimit_sweep(rl, now_ms);
	if (rl->n == rl->max)
		return &rl->overflow;
	b = &rl->buckets[rl->n++];
	memset(b, 0, sizeof *b);
	strncpy(b->key, key, sizeof b->key - 1);
	b->milli = rl->capacity_milli;
	b->last_ms = now_ms;
	return b;
}

bool
ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s)
{
	struct ratelimit_bucket *b;

	if (rl->capacity_milli == 0)
		return true;
	b = ratelimit_find(rl, key, now_ms);
	ratelimit_refill(rl, b, now_ms);
	if (b->milli >= 1000) {
		b->milli -= 1000;
		return true;
	}
	/* Time until the bucket holds one whole token again, rounded up. */
	*retry_after_s = (int)(((1000 - b->milli) * 60000 / rl->capacity_milli + 999) / 1000);
	if (*retry_after_s < 1)
		*retry_after_s = 1;
	return false;
}

size_t
ratelimit_keys(const struct ratelimit *rl)
{
	return rl->n;
}

void
ratelimit_rate_init(struct ratelimit_rate *r, long long per_sec, int64_t now_ms)
{
	r->per_sec = per_sec;
	r->milli = (int64_t)per_sec * 1000;
	r->last_ms = now_ms;
}

bool
ratelimit_rate_take(struct ratelimit_rate *r, int64_t now_ms, int64_t *wait_ms)
{
	int64_t elapsed = now_ms - r->last_ms;

	if (r->per_sec == 0)
		return true;
	if (elapsed > 0) {
		/* per_sec tokens a second = per_sec thousandths a ms; a second refills it all. */
		if (elapsed > 1000)
			elapsed = 1000;
		r->milli += r->per_sec * elapsed;
		if (r->milli > r->per_sec * 1000)
			r->milli = r->per_sec * 1000;
	}
	r->last_ms = now_ms;
	if (r->milli >= 1000) {
		r->milli -= 1000;
		return true;
	}
	*wait_ms = (1000 - r->milli + r->per_sec - 1) / r->per_sec;
	if (*wait_ms < 1)
		*wait_ms = 1;
	return false;
}
