/*
 * lifecycle.h - the data lifecycle worker: monthly partitions made ahead of
 * time, message bodies purged after RETENTION_DAYS, sent outbox rows
 * deleted after OUTBOX_KEEP_DAYS.
 */
#ifndef CARENAV_GATEWAY_LIFECYCLE_H
#define CARENAV_GATEWAY_LIFECYCLE_H

#include <stdbool.h>

struct config;
struct db;
struct event_base;
struct lifecycle;

/* Months of partitions kept ready beyond the current one. */
#define LIFECYCLE_MONTHS_AHEAD 3
/* Rows purged, cleared or deleted per statement (one short transaction each). */
#define LIFECYCLE_PURGE_BATCH 5000

/* Starts the worker: first run shortly after start, then every LIFECYCLE_INTERVAL_S. */
struct lifecycle *lifecycle_new(struct event_base *base, struct db *db, const struct config *cfg);
void lifecycle_free(struct lifecycle *lc);
/* No new runs; one in flight finishes (a drain waits for lifecycle_busy to turn false). */
void lifecycle_stop(struct lifecycle *lc);
bool lifecycle_busy(const struct lifecycle *lc);

#endif
