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

#endif
