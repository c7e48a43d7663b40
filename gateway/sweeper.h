/*
 * sweeper.h - the timer of a worker that sweeps (escalation rounds, the
 * outbox claim, the spool replay, the data lifecycle): it runs the worker's
 * callback every interval and soon after a kick, never two runs at once,
 * and stops cleanly.
 *
 * A run may go on after its callback returns (a query in flight): the
 * callback says so by returning true, and the worker calls sweeper_done at
 * the run's end. A tick or a kick that comes during a run makes one more
 * run right after it, so nothing asked for meanwhile waits a whole interval.
 * Runs always start from the event loop, never inside sweeper_kick.
 */
#ifndef CARENAV_GATEWAY_SWEEPER_H
#define CARENAV_GATEWAY_SWEEPER_H

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stdint.h>

/* Starts a run; true if it goes on after returning and ends with sweeper_done. */
typedef bool sweeper_run_cb(void *arg);

/* Embedded in its worker like a struct event (STYLE.md 4); the worker reads busy and stopped. */
struct sweeper {
	struct event tick;     /* persistent timer, when every_ms > 0 */
	struct event kick;     /* one-shot: sweeper_kick (active now) or sweeper_kick_in (a timeout) */
	bool ticking;          /* tick is assigned */
	sweeper_run_cb *run;
	void *arg;             /* borrowed */
	bool busy;             /* from a run's start until its sweeper_done */
	bool again;            /* ticked or kicked during the run: run once more after it */
	bool stopped;          /* sweeper_stop was called */
};

/*
 * Sets sw up to call run(arg) every every_ms (0: only when kicked). The
 * first run waits for a tick or a kick.
 */
void sweeper_init(struct sweeper *sw, struct event_base *base, int64_t every_ms, sweeper_run_cb *run,
    void *arg);
/* Runs soon (the kicks of one loop iteration make one run); during a run, once more after it. */
void sweeper_kick(struct sweeper *sw);
/* Runs in ms milliseconds (instead of any kick still pending). */
void sweeper_kick_in(struct sweeper *sw, int64_t ms);
/* The run its callback left going is over. */
void sweeper_done(struct sweeper *sw);
/*
 * No new runs, and kicks are ignored from now on; a run in flight still
 * ends with sweeper_done. Drops sw's events: call it before freeing sw.
 */
void sweeper_stop(struct sweeper *sw);

#endif
