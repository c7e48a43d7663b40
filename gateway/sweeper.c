/*
 * sweeper.c - a worker's sweep timer: periodic runs, kicks, one run at a
 * time. See sweeper.h.
 */
#include "sweeper.h"

#include <event2/event.h>

#include "timeutil.h"

static void
sweeper_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sweeper *sw = arg;

	(void)fd;
	(void)what;
	if (sw->stopped)
		return;
	if (sw->busy) {
		sw->again = true;
		return;
	}
	sw->busy = true;
	if (!sw->run(sw->arg))
		sw->busy = false;
}

void
sweeper_init(struct sweeper *sw, struct event_base *base, int64_t every_ms, sweeper_run_cb *run, void *arg)
{
	*sw = (struct sweeper){ .run = run, .arg = arg, .ticking = every_ms > 0 };
	event_assign(&sw->kick, base, -1, 0, sweeper_timer, sw);
	if (sw->ticking)
		timeutil_every(&sw->tick, base, every_ms, sweeper_timer, sw);
}

void
sweeper_kick(struct sweeper *sw)
{
	/* An event already active stays one activation: the kicks coalesce. */
	if (!sw->stopped)
		event_active(&sw->kick, EV_TIMEOUT, 1);
}

void
sweeper_kick_in(struct sweeper *sw, int64_t ms)
{
	struct timeval tv = timeutil_tv(ms);

	if (!sw->stopped)
		event_add(&sw->kick, &tv);
}

void
sweeper_done(struct sweeper *sw)
{
	sw->busy = false;
	if (sw->again) {
		sw->again = false;
		sweeper_kick(sw);
	}
}

void
sweeper_stop(struct sweeper *sw)
{
	sw->stopped = true;
	if (sw->ticking)
		event_del(&sw->tick);
	event_del(&sw->kick);
}
