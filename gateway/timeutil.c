/*
 * timeutil.c - the wall clock in milliseconds and libevent timers set in milliseconds.
 */
#include "timeutil.h"

#include <time.h>

int64_t
timeutil_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

uint64_t
timeutil_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct timeval
timeutil_tv(int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	return tv;
}

void
timeutil_every(struct event *ev, struct event_base *base, int64_t interval_ms, event_callback_fn cb,
    void *arg)
{
	struct timeval tv = timeutil_tv(interval_ms);

	event_assign(ev, base, -1, EV_PERSIST, cb, arg);
	event_add(ev, &tv);
}
