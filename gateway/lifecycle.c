/*
 * lifecycle.c - keeps the monthly partitions ahead of time, purges old
 * message bodies and the dialogue state of long-idle conversations
 * (RETENTION_DAYS), and trims the outbox of old rows no longer pending
 * (OUTBOX_KEEP_DAYS). See sql/functions/lifecycle.sql, sql/010_partitions.sql,
 * sql/011_retention_state.sql, sql/013_outbox_trim.sql and docs/data-lifecycle.md.
 *
 * One run: carenav_partitions_ensure(LIFECYCLE_MONTHS_AHEAD), then the
 * stages (enum lifecycle_stage) in order, each in batches until a batch
 * comes back short: with a retention set, carenav_retention_purge and
 * carenav_retention_clear_states; with OUTBOX_KEEP_DAYS set,
 * carenav_outbox_trim. Every gateway runs it; the SQL functions take a
 * transaction-scoped try-lock, so concurrent runs from other gateways
 * return at once with nothing done, and the work is idempotent anyway. Each batch is its own
 * short transaction, so a purge of a large backlog never holds locks long
 * and a crash mid-way loses nothing (the next run continues). `carenav
 * purge` is the same run, once (lifecycle_once).
 */
#include "lifecycle.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "stats.h"
#include "store.h"
#include "sweeper.h"
#include "xmalloc.h"

/* The first run waits this long after start, so startup traffic goes first. */
#define LIFECYCLE_FIRST_DELAY_MS 2000
/* A single run (lifecycle_once) looks this often whether the database is up, at most ..._TRIES times. */
#define LIFECYCLE_ONCE_POLL_MS 20
#define LIFECYCLE_ONCE_TRIES 1500

/* A run's stages after the partitions, in order. Each repeats while its batches come back full. */
enum lifecycle_stage {
	STAGE_PURGE,        /* message bodies older than RETENTION_DAYS blanked */
	STAGE_CLEAR,        /* dialogue states of conversations idle that long emptied */
	STAGE_TRIM,         /* outbox rows no longer pending, older than OUTBOX_KEEP_DAYS, deleted */
	STAGE_COUNT
};

static const char *const stage_what[STAGE_COUNT] = {
	"retention purge of message bodies", "clearing idle dialogue states", "trimming the outbox",
};

/* The /metrics counter of each stage. */
static uint64_t *const stage_counter[STAGE_COUNT] = {
	&stats.bodies_purged, &stats.states_cleared, &stats.outbox_trimmed,
};

struct lifecycle {
	struct db *db;                 /* borrowed */
	const struct config *cfg;      /* borrowed */
	struct sweeper sweeper;        /* kicked for the next run, busy while a run's query is in flight */
	enum lifecycle_stage stage;    /* the stage whose batch is in flight */
	int64_t created;               /* partitions this run created */
	int64_t done[STAGE_COUNT];     /* rows each stage handled in this run so far */
	lifecycle_done_cb *once_done;  /* a single run (lifecycle_once): called at its end; else NULL */
	void *once_arg;
	char *error;                   /* a single run: its first failure (owned), or NULL */
	int once_tries;                /* a single run: times the database was found down */
};

static void lifecycle_stage_done(const PGresult *res, const char *error, void *arg);

/* A failed step: logged by the worker; a single run reports its first one to its caller instead. */
static void
lifecycle_failed(struct lifecycle *lc, const char *what, const char *error)
{
	if (lc->once_done == NULL)
		log_warn("lifecycle: %s failed, retrying next run: %s", what, error);
	else if (lc->error == NULL)
		lc->error = xasprintf("%s: %s", what, error);
}

/* A run is over, or a single run gave up on the database: its totals logged, reported or the next run set. */
static void
lifecycle_finish(struct lifecycle *lc)
{
	if (lc->done[STAGE_PURGE] > 0 || lc->done[STAGE_CLEAR] > 0)
		log_info("lifecycle: purged=%" PRId64 " message bodies and cleared=%" PRId64 " dialogue states "
		    "older than %lld days", lc->done[STAGE_PURGE], lc->done[STAGE_CLEAR], lc->cfg->retention_days);
	if (lc->done[STAGE_TRIM] > 0)
		log_info("lifecycle: trimmed=%" PRId64 " outbox rows no longer pending, older than %lld days",
		    lc->done[STAGE_TRIM], lc->cfg->outbox_keep_days);
	if (lc->once_done != NULL) {
		struct lifecycle_totals totals = { lc->created, lc->done[STAGE_PURGE], lc->done[STAGE_CLEAR],
			lc->done[STAGE_TRIM] };

		lc->once_done(&totals, lc->error, lc->once_arg);
		return;
	}
	sweeper_kick_in(&lc->sweeper, lc->cfg->lifecycle_interval_s * 1000);
}

static bool
lifecycle_stage_enabled(const struct lifecycle *lc, enum lifecycle_stage stage)
{
	return stage == STAGE_TRIM ? lc->cfg->outbox_keep_days > 0 : lc->cfg->retention_days > 0;
}

/* Sends the next batch of the current stage, or of the next enabled one; finishes after the last. */
static void
lifecycle_run_stage(struct lifecycle *lc)
{
	while (lc->stage < STAGE_COUNT && !lifecycle_stage_enabled(lc, lc->stage))
		lc->stage++;
	if (lc->sweeper.stopped || lc->stage == STAGE_COUNT) {
		sweeper_done(&lc->sweeper);
		lifecycle_finish(lc);
		return;
	}
	switch (lc->stage) {
	case STAGE_PURGE:
		store_retention_purge(lc->db, lc->cfg->retention_days, LIFECYCLE_PURGE_BATCH, lifecycle_stage_done, lc);
		break;
	case STAGE_CLEAR:
		store_retention_clear_states(lc->db, lc->cfg->retention_days, lc->cfg->idle_reset_hours,
		    LIFECYCLE_PURGE_BATCH, lifecycle_stage_done, lc);
		break;
	case STAGE_TRIM:
		store_outbox_trim(lc->db, lc->cfg->outbox_keep_days, LIFECYCLE_PURGE_BATCH, lifecycle_stage_done, lc);
		break;
	case STAGE_COUNT:
		break;
	}
}

static void
lifecycle_stage_done(const PGresult *res, const char *error, void *arg)
{
	struct lifecycle *lc = arg;
	int64_t n;

	if (error != NULL) {
		/* The stages do not depend on each other: the next one still runs. */
		lifecycle_failed(lc, stage_what[lc->stage], error);
		lc->stage++;
		lifecycle_run_stage(lc);
		return;
	}
	n = store_col_int64(res, 0, 0);
	lc->done[lc->stage] += n;
	*stage_counter[lc->stage] += (uint64_t)n;
	if (n < LIFECYCLE_PURGE_BATCH)
		lc->stage++;  /* a short batch: nothing more to do in this stage for now */
	lifecycle_run_stage(lc);
}

static void
lifecycle_ensure_done(const PGresult *res, const char *error, void *arg)
{
	struct lifecycle *lc = arg;

	lc->created = 0;
	if (error != NULL)
		lifecycle_failed(lc, "creating partitions ahead", error);
	else if ((lc->created = store_col_int64(res, 0, 0)) > 0)
		log_info("lifecycle: created=%" PRId64 " monthly partitions", lc->created);
	lc->stage = STAGE_PURGE;
	memset(lc->done, 0, sizeof lc->done);
	lifecycle_run_stage(lc);
}

/* The sweeper's run: a run from the partitions on, or, with the database down, a later try. */
static bool
lifecycle_run(void *arg)
{
	struct lifecycle *lc = arg;

	if (!db_is_up(lc->db)) {
		if (lc->once_done == NULL) {
			sweeper_kick_in(&lc->sweeper, LIFECYCLE_FIRST_DELAY_MS);
		} else if (++lc->once_tries < LIFECYCLE_ONCE_TRIES) {
			sweeper_kick_in(&lc->sweeper, LIFECYCLE_ONCE_POLL_MS);
		} else {
			lifecycle_failed(lc, "connecting", "the database did not answer");
			lifecycle_finish(lc);
		}
		return false;
	}
	store_partitions_ensure(lc->db, LIFECYCLE_MONTHS_AHEAD, lifecycle_ensure_done, lc);
	return true;
}

/* The worker (done NULL) or a single run (done called at its end), its first run first_ms from now. */
static struct lifecycle *
lifecycle_start(struct event_base *base, struct db *db, const struct config *cfg, int64_t first_ms,
    lifecycle_done_cb *done, void *arg)
{
	struct lifecycle *lc = xcalloc(1, sizeof *lc);

	lc->db = db;
	lc->cfg = cfg;
	lc->once_done = done;
	lc->once_arg = arg;
	sweeper_init(&lc->sweeper, base, 0, lifecycle_run, lc);
	sweeper_kick_in(&lc->sweeper, first_ms);
	return lc;
}

struct lifecycle *
lifecycle_new(struct event_base *base, struct db *db, const struct config *cfg)
{
	return lifecycle_start(base, db, cfg, LIFECYCLE_FIRST_DELAY_MS, NULL, NULL);
}

struct lifecycle *
lifecycle_once(struct event_base *base, struct db *db, const struct config *cfg, lifecycle_done_cb *done,
    void *arg)
{
	return lifecycle_start(base, db, cfg, 0, done, arg);
}

void
lifecycle_stop(struct lifecycle *lc)
{
	sweeper_stop(&lc->sweeper);
}

bool
lifecycle_busy(const struct lifecycle *lc)
{
	return lc->sweeper.busy;
}

void
lifecycle_free(struct lifecycle *lc)
{
	if (lc == NULL)
		return;
	sweeper_stop(&lc->sweeper);
	free(lc->error);
	free(lc);
}
