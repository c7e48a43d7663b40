/*
 * backoff.c - exponential backoff with jitter (PURE). See backoff.h.
 */
#include "backoff.h"

int64_t
backoff_delay_ms(int attempt, int64_t base_ms, int64_t max_ms, uint32_t random)
{
	int64_t delay = base_ms, half;

	for (int i = 1; i < attempt && delay < max_ms; i++)
		delay *= 2;
	if (delay > max_ms)
		delay = max_ms;
	half = delay / 2;
	return half + (int64_t)(random % (uint64_t)(delay - half + 1));
}
