/*
 * backoff.h - retry delays: exponential growth with jitter (PURE).
 *
 * Jitter keeps many messages that failed together from retrying together
 * and hammering a provider that is just coming back.
 */
#ifndef CARENAV_GATEWAY_BACKOFF_H
#define CARENAV_GATEWAY_BACKOFF_H

#include <stdint.h>

/*
 * Delay before retry number `attempt` (1 = the first retry): the capped
 * exponential base * 2^(attempt-1), then "equal jitter": half of it fixed,
 * half chosen by `random` (any uniformly random 32-bit value).
 */
int64_t backoff_delay_ms(int attempt, int64_t base_ms, int64_t max_ms, uint32_t random);
/*
 * The delay an HTTP Retry-After value asks for, in ms: either delay-seconds
 * ("120") or an HTTP-date ("Wed, 21 Oct 2026 07:28:00 GMT", and the two
 * obsolete forms RFC 9110 still accepts), against now_ms (ms since epoch).
 * Capped at max_ms. 0 when value is NULL, malformed or already past: then
 * the caller's own backoff applies.
 */
int64_t backoff_retry_after_ms(const char *value, int64_t now_ms, int64_t max_ms);

#endif
