/*
 * timeutil.h - the wall clock in milliseconds and libevent timers set in milliseconds.
 *
 * Every module counts time in int64_t milliseconds; these are the one place that turns
 * that into (and out of) struct timeval.
 */
#ifndef CARENAV_GATEWAY_TIMEUTIL_H
#define CARENAV_GATEWAY_TIMEUTIL_H

#include <stdint.h>
#include <sys/time.h>

#include <event2/event.h>

/* Milliseconds since the epoch (wall clock, as stored in the database). */
int64_t timeutil_now_ms(void);
/* Microseconds on the monotonic clock: for intervals, never for stored times. */
uint64_t timeutil_mono_us(void);
/* A relative timeout of ms milliseconds (ms >= 0). */
struct timeval timeutil_tv(int64_t ms);
/* Assigns ev to fire cb every interval_ms milliseconds, and starts it. */
void timeutil_every(struct event *ev, struct event_base *base, int64_t interval_ms,
    event_callback_fn cb, void *arg);

#endif
