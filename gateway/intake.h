/*
 * intake.h - making an inbound SMS durable: PostgreSQL, or the local spool
 * when PostgreSQL cannot be reached; and replaying the spool afterwards.
 */
#ifndef CARENAV_GATEWAY_INTAKE_H
#define CARENAV_GATEWAY_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct db;
struct event_base;
struct inbound;
struct intake;
struct spool;
struct store_inbound;

#define INTAKE_RESULT_LIST(X)                                                        \
	X(INTAKE_STORED, "stored")         /* committed in PostgreSQL: answer 2xx */        \
	X(INTAKE_DUPLICATE, "duplicate")   /* a provider retry of a stored message: 2xx */  \
	X(INTAKE_SPOOLED, "spooled")       /* database down; fsync'd to the spool: 2xx */  \
	X(INTAKE_UNAVAILABLE, "unavailable") /* neither could take it: 503, the provider retries */

enum intake_result {
#define X(id, name) id,
	INTAKE_RESULT_LIST(X)
#undef X
};

const char *intake_result_name(enum intake_result result);

/* Called once, from the event loop; message_id is 0 unless STORED or DUPLICATE. */
typedef void intake_done_cb(enum intake_result result, int64_t message_id, void *arg);

/* spool may be NULL (no spooling: a database outage answers 503). */
struct intake *intake_new(struct event_base *base, struct db *db, struct inbound *inbound,
    struct spool *spool, const struct config *cfg);
void intake_free(struct intake *intake);
/*
 * Whether the database has its schema (the gateway may start before
 * PostgreSQL answers). Until then every message is spooled, and the spool
 * is not replayed.
 */
void intake_set_ready(struct intake *intake, bool ready);
/* Makes msg durable (all fields copied before this returns). */
void intake_accept(struct intake *intake, const struct store_inbound *msg, intake_done_cb *done,
    void *arg);
/* Records in the spool waiting for the database. */
size_t intake_spooled(const struct intake *intake);
/* True while a replay is committing spooled records. */
bool intake_replaying(const struct intake *intake);

#endif
