/*
 * lifecycle.c - keeps the monthly partitions ahead of time, purges old
 * message bodies and the dialogue state of long-idle conversations
 * (RETENTION_DAYS), and trims the outbox of old rows no longer pending
 * (OUTBOX_KEEP_DAYS). See sql/010_partitions.sql, sql/011_retention_state.sql,
 * sql/013_outbox_trim.sql and docs/data-lifecycle.md.
 *
 * One run: carenav_partitions_ensure(LIFECYCLE_MONTHS_AHEAD), then, with a
 * retention set, carenav_retention_purge in batches until a batch comes back
 * short, then carenav_retention_clear_states the same way, then, with
 * OUTBOX_KEEP_DAYS set, carenav_outbox_trim the same way. Every gateway
 * runs it; the SQL functions take a transaction-scoped
 * try-lock, so concurrent runs from other gateways return at once with
 * nothing done, and the work is idempotent anyway. Each batch is its own
 * short transaction, so a purge of a large backlog never holds locks long
 * and a crash mid-way loses nothing (the next run continues).
 */
#include "lifecycle.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <inttypes.h>
#include <stdlib.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "stats.h"
#include "store.h"
#include "xmalloc.h"

/* The first run waits this long after start, so startup traffic goes first. */
#define LIFECYCLE_FIRST_DELAY_MS 2000

struct lifecycle {
	struct event_base *base;       /* borrowed */
	struct db *db;                 /* borrowed */
	const struct config *cfg;      /* borrowed */
	struct event timer;            /* next run */
	bool busy;                     /* a run's query is in flight */
	bool stopped;
	int64_t purged;                /* bodies blanked in this run so far */
	int64_t cleared;               /* dialogue states emptied in this run so far */
	int64_t trimmed;               /* outbox rows deleted in this run so far */
};

static void lifecycle_purge_next(struct lifecycle *lc);
static void lifecycle_clear_next(struct lifecycle *lc);
static void lifecycle_trim_next(struct lifecycle *lc);

static void
lifecycle_arm(struct lifecycle *lc, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	if (!lc->stopped)
		evtimer_add(&lc->timer, &tv);
}

static void
lifecycle_finish(struct lifecycle *lc)
{
	if (lc->purged > 0 || lc->cleared > 0)
		log_info("lifecycle: purged=%" PRId64 " message bodies and cleared=%" PRId64 " dialogue states "
		    "older than %lld days", lc->purged, lc->cleared, lc->cfg->retention_days);
	if (lc->trimmed > 0)
		log_info("lifecycle: trimmed=%" PRId64 " outbox rows no longer pending, older than %lld days",
		    lc->trimmed, lc->cfg->outbox_keep_days);
	lc->busy = false;
	lifecycle_arm(lc, lc->cfg->lifecycle_interval_s * 1000);
}

static void
lifecycle_purge_done(const PGresult *res, const char *error, void *arg)
{
	struct lifecycle *lc = arg;
	int64_t n;

	if (error != NULL) {
		log_warn("lifecycle: retention purge failed, retrying next run: %s", error);
		lifecycle_finish(lc);
		return;
	}
	n = store_col_int64(res, 0, 0);
	lc->purged += n;
	stats.bodies_purged += (uint64_t)n;
	if (lc->stopped)
		lifecycle_finish(lc);
	else if (n >= LIFECYCLE_PURGE_BATCH)
		lifecycle_purge_next(lc);
	else
		lifecycle_clear_next(lc);
}

static void
lifecycle_purge_next(struct lifecycle *lc)
{
	store_retention_purge(lc->db, lc->cfg->retention_days, LIFECYCLE_PURGE_BATCH, lifecycle_purge_done, lc);
}

static void
lifecycle_clear_done(const PGresult *res, const char *error, void *arg)
{
	struct lifecycle *lc = arg;
	int64_t n;

	if (error != NULL) {
		log_warn("lifecycle: clearing idle dialogue states failed, retrying next run: %s", error);
		lifecycle_finish(lc);
		return;
	}
	n = store_col_int64(res, 0, 0);
	lc->cleared += n;
	stats.states_cleared += (uint64_t)n;
	if (lc->stopped)
		lifecycle_finish(lc);
	else if (n >= LIFECYCLE_PURGE_BATCH)
		lifecycle_clear_next(lc);
	else
		lifecycle_trim_next(lc);
}

static void
lifecycle_clear_next(struct lifecycle *lc)
{
	store_retention_clear_states(lc->db, lc->cfg->retention_days, lc->cfg->idle_reset_hours,
	    LIFECYCLE_PURGE_BATCH, lifecycle_clear_done, lc);
}

static void
lifecycle_trim_done(const PGresult *res, const char *error, void *arg)
{
	struct lifecycle *lc = arg;
	int64_t n;

	if (error != NULL) {
		log_warn("lifecycle: trimming the outbox failed, retrying next run: %s", error);
		lifecycle_finish(lc);
		return;
	}
	n = store_col_int64(res, 0, 0);
	lc->trimmed += n;
	stats.outbox_trimmed += (uint64_t)n;
	if (n >= LIFECYCLE_PURGE_BATCH && !lc->stopped)
		lifecycle_trim_next(lc);
	else
		lifecycle_finish(lc);
}

/* The last stage: skipped (the run ends) when OUTBOX_KEEP_DAYS is 0. */
static void
lifecycle_trim_next(struct lifecycle *lc)
{
	if (lc->cfg->outbox_keep_days <= 0 || lc->stopped) {
		lifecycle_finish(lc);
		return;
	}
	store_outbox_trim(lc->db, lc->cfg->outbox_keep_days, LIFECYCLE_PURGE_BATCH, lifecycle_trim_done, lc);
}

static void
lifecycle_ensure_done(const PGresult *res, const char *error, void *arg)
{
	struct lifecycle *lc = arg;

	if (error != NULL)
		log_warn("lifecycle: could not create partitions ahead, retrying next run: %s", error);
	else if (store_col_int64(res, 0, 0) > 0)
		log_info("lifecycle: created=%" PRId64 " monthly partitions", store_col_int64(res, 0, 0));
	lc->purged = 0;
	lc->cleared = 0;
	lc->trimmed = 0;
	if (lc->stopped)
		lifecycle_finish(lc);
	else if (lc->cfg->retention_days > 0)
		lifecycle_purge_next(lc);
	else
		lifecycle_trim_next(lc);
}

static void
lifecycle_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lifecycle *lc = arg;

	(void)fd;
	(void)what;
	if (lc->stopped || lc->busy)
		return;
	if (!db_is_up(lc->db)) {
		lifecycle_arm(lc, LIFECYCLE_FIRST_DELAY_MS);
		return;
	}
	lc->busy = true;
	store_partitions_ensure(lc->db, LIFECYCLE_MONTHS_AHEAD, lifecycle_ensure_done, lc);
}

struct lifecycle *
lifecycle_new(struct event_base *base, struct db *db, const struct config *cfg)
{
	struct lifecycle *lc = xcalloc(1, sizeof *lc);

	lc->base = base;
	lc->db = db;
	lc->cfg = cfg;
	evtimer_assign(&lc->timer, base, lifecycle_timer, lc);
	lifecycle_arm(lc, LIFECYCLE_FIRST_DELAY_MS);
	return lc;
}

void
lifecycle_stop(struct lifecycle *lc)
{
	lc->stopped = true;
	evtimer_del(&lc->timer);
}

bool
lifecycle_busy(const struct lifecycle *lc)
{
	return lc->busy;
}

void
lifecycle_free(struct lifecycle *lc)
{
	if (lc == NULL)
		return;
	evtimer_del(&lc->timer);
	free(lc);
}
