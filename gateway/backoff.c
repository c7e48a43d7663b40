/*
 * backoff.c - exponential backoff with jitter (PURE). See backoff.h.
 */
#include "backoff.h"

#include <string.h>
#include <time.h>

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

int64_t
backoff_retry_after_ms(const char *value, int64_t now_ms, int64_t max_ms)
{
	static const char *const formats[] = {
		"%a, %d %b %Y %H:%M:%S GMT",  /* IMF-fixdate, what servers send */
		"%A, %d-%b-%y %H:%M:%S GMT",  /* RFC 850 */
		"%a %b %e %H:%M:%S %Y",       /* asctime() */
	};
	int64_t ms = 0;

	if (value == NULL || value[0] == '\0')
		return 0;
	if (strspn(value, "0123456789") == strlen(value)) {
		/* Over 9 digits is over 30 years: the cap applies anyway. */
		if (strlen(value) > 9)
			return max_ms;
		for (const char *p = value; *p != '\0'; p++)
			ms = ms * 10 + (*p - '0');
		ms *= 1000;
	} else {
		for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
			struct tm tm;
			const char *end;

			memset(&tm, 0, sizeof tm);
			end = strptime(value, formats[i], &tm);
			if (end != NULL && *end == '\0') {
				ms = (int64_t)timegm(&tm) * 1000 - now_ms;
				break;
			}
		}
	}
	if (ms <= 0)
		return 0;
	return ms > max_ms ? max_ms : ms;
}
