/*
 * lifecycle.h - the data lifecycle worker: monthly partitions made ahead of
 * time, message bodies purged after RETENTION_DAYS, sent outbox rows
 * deleted after OUTBOX_KEEP_DAYS.
 */
#ifndef CARENAV_GATEWAY_LIFECYCLE_H
#define CARENAV_GATEWAY_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

struct config;
struct db;
struct event_base;
struct lifecycle;

/* Months of partitions kept ready beyond the current one. */
#define LIFECYCLE_MONTHS_AHEAD 3
/* Rows purged, cleared or deleted per statement (one short transaction each). */
#define LIFECYCLE_PURGE_BATCH 5000

/* What one run did. */
struct lifecycle_totals {
	int64_t partitions_created;
	int64_t bodies_purged;    /* 0 with RETENTION_DAYS=0 (the stage is off) */
	int64_t states_cleared;   /* likewise */
	int64_t outbox_trimmed;   /* 0 with OUTBOX_KEEP_DAYS=0 */
};

/* The end of a run started by lifecycle_once; error: the first step that failed, or NULL. */
typedef void lifecycle_done_cb(const struct lifecycle_totals *totals, const char *error, void *arg);

/* Starts the worker: first run shortly after start, then every LIFECYCLE_INTERVAL_S. */
struct lifecycle *lifecycle_new(struct event_base *base, struct db *db, const struct config *cfg);
/*
 * One run, at once and not repeated (carenav purge); done is called from
 * the loop when it ends. A step that fails does not stop the others.
 */
struct lifecycle *lifecycle_once(struct event_base *base, struct db *db, const struct config *cfg,
    lifecycle_done_cb *done, void *arg);
void lifecycle_free(struct lifecycle *lc);
/* No new runs; one in flight finishes (a drain waits for lifecycle_busy to turn false). */
void lifecycle_stop(struct lifecycle *lc);
bool lifecycle_busy(const struct lifecycle *lc);

#endif
