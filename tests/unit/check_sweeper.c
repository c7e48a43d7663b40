/*
 * check_sweeper.c - the workers' sweep timer: kicks of one loop iteration
 * make one run, a run never starts while one is in flight (a kick meanwhile
 * runs once more after it), ticks repeat, a delayed kick waits, and a
 * stopped sweeper runs nothing.
 */
#include <check.h>
#include <event2/event.h>
#include <stdbool.h>

#include "check_run.h"
#include "sweeper.h"

/* A worker whose runs are counted; busy: each run stays in flight until sweeper_done. */
static struct worker {
	struct event_base *base;
	struct sweeper sw;
	int runs;
	bool busy;
} w;

static bool
worker_run(void *arg)
{
	struct worker *wk = arg;

	wk->runs++;
	return wk->busy;
}

/* The test's worker, ticking every every_ms (0: never). */
static void
worker_start(int64_t every_ms, bool busy)
{
	w = (struct worker){ .base = event_base_new(), .busy = busy };
	sweeper_init(&w.sw, w.base, every_ms, worker_run, &w);
}

static void
worker_end(void)
{
	sweeper_stop(&w.sw);
	event_base_free(w.base);
}

/* One loop iteration, or the loop for ms milliseconds; then the runs so far. */
static int
runs_after(int ms)
{
	struct timeval tv = { 0, ms * 1000 };

	if (ms == 0) {
		event_base_loop(w.base, EVLOOP_NONBLOCK);
	} else {
		event_base_loopexit(w.base, &tv);
		event_base_dispatch(w.base);
	}
	return w.runs;
}

/* A busy worker (worker_start) kicked once: its first run is in flight. */
static void
worker_start_run(int64_t every_ms)
{
	worker_start(every_ms, true);
	sweeper_kick(&w.sw);
	ck_assert_int_eq(runs_after(0), 1);
}

START_TEST(test_kicks_coalesce)
{
	worker_start(0, false);
	sweeper_kick(&w.sw);
	sweeper_kick(&w.sw);
	sweeper_kick(&w.sw);
	ck_assert_int_eq(w.runs, 0);  /* never inside sweeper_kick */
	ck_assert_int_eq(runs_after(0), 1);
	ck_assert(!w.sw.busy);
	sweeper_kick(&w.sw);
	ck_assert_int_eq(runs_after(0), 2);
	worker_end();
}
END_TEST

START_TEST(test_one_run_at_a_time)
{
	worker_start_run(0);
	ck_assert(w.sw.busy);
	sweeper_kick(&w.sw);
	sweeper_kick(&w.sw);
	ck_assert_int_eq(runs_after(0), 1);  /* held until the run in flight is done */
	sweeper_done(&w.sw);
	ck_assert(!w.sw.busy);
	ck_assert_int_eq(runs_after(0), 2);  /* the kicks meanwhile: one more run */
	sweeper_done(&w.sw);
	ck_assert_int_eq(runs_after(0), 2);  /* nothing asked for during that one */
	worker_end();
}
END_TEST

START_TEST(test_ticks_repeat)
{
	worker_start(10, false);
	ck_assert_int_eq(runs_after(0), 0);  /* the first run waits for a tick */
	ck_assert_int_ge(runs_after(500), 2);  /* about 50; 2 even on a loaded machine */
	worker_end();
}
END_TEST

START_TEST(test_kick_in_waits)
{
	worker_start(0, false);
	sweeper_kick_in(&w.sw, 30);
	ck_assert_int_eq(runs_after(0), 0);
	ck_assert_int_eq(runs_after(200), 1);
	worker_end();
}
END_TEST

START_TEST(test_stopped_runs_nothing)
{
	worker_start_run(10);
	sweeper_kick(&w.sw);
	sweeper_stop(&w.sw);
	ck_assert(w.sw.stopped);
	ck_assert(w.sw.busy);  /* the run in flight still ends with sweeper_done */
	sweeper_done(&w.sw);
	sweeper_kick(&w.sw);
	sweeper_kick_in(&w.sw, 0);
	/* No ticks, no kicks, not the run asked for while the last one was in flight. */
	ck_assert_int_eq(runs_after(50), 1);
	worker_end();
}
END_TEST

CHECK_RUN_MAIN("sweeper", 10, test_kicks_coalesce, test_one_run_at_a_time, test_ticks_repeat,
    test_kick_in_waits, test_stopped_runs_nothing)
