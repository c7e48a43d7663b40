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

#endif
