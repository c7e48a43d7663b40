/*
 * ratelimit.h - per-client token buckets (PURE: time is an argument).
 *
 * Each key (a client address, or an operator's name) has a bucket of `per_minute` requests that
 * refills continuously. The table holds at most `max_keys` keys; idle keys
 * (full buckets) are dropped when it fills, and if it is still full every
 * new key shares one overflow bucket, so a flood of addresses costs bounded
 * memory and still gets limited.
 */
#ifndef CARENAV_GATEWAY_RATELIMIT_H
#define CARENAV_GATEWAY_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* per_minute 0 means unlimited. */
struct ratelimit *ratelimit_new(long long per_minute, size_t max_keys);
void ratelimit_free(struct ratelimit *rl);
/*
 * Takes one request for key at now_ms: true if allowed; false if over the
 * limit, with *retry_after_s the seconds until one request is allowed again.
 */
bool ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s);
/* Keys tracked now (for tests). */
size_t ratelimit_keys(const struct ratelimit *rl);

/*
 * One global token bucket of per_sec tokens a second, holding at most one
 * second's worth (the outbox's OUTBOUND_RATE_PER_SEC). Plain struct so its
 * owner embeds it.
 */
struct ratelimit_rate {
	int64_t per_sec;  /* 0 = unlimited */
	int64_t milli;    /* tokens * 1000, at most per_sec * 1000 */
	int64_t last_ms;  /* when milli was last brought up to date */
};

/* A full bucket at now_ms. */
void ratelimit_rate_init(struct ratelimit_rate *r, long long per_sec, int64_t now_ms);
/* Takes one token at now_ms: true; or false with *wait_ms (>= 1) until there is one. */
bool ratelimit_rate_take(struct ratelimit_rate *r, int64_t now_ms, int64_t *wait_ms);

#endif
