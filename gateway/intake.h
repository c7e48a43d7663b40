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

/*
 * Below INTAKE_LINGER_ITEMS waiting, an accept waits up to INTAKE_LINGER_MS
 * for more to share its transaction (issue #23: at 1,000 texts/s, with the
 * step commit's linger, PostgreSQL CPU per text fell from 0.91 to 0.53 ms
 * and commits per text from 0.49 to 0.22; the webhook's p99 stayed 20-30 ms).
 * Session 15, at 1,500 texts/s with the commits' and marks' lingers below
 * (bench/run --quick, two runs each): 24 items or 10 ms instead of 8 or 3
 * took PostgreSQL CPU per text from 0.36-0.54 to 0.25-0.32 ms and commits
 * per text from 0.20 to 0.07; the webhook's p50 went from 8-12 to 16-19 ms,
 * its p99 was 30-39 ms (18-104 ms before).
 */
#define INTAKE_LINGER_ITEMS 24
#define INTAKE_LINGER_MS 10

/*
 * Accepts in flight at once (batch_set_calls), given the pool's connections:
 * two from three connections up, leaving the dialogue's steps one at least.
 * With one, the webhooks' round trips (the 200s out, the next texts in) came
 * between one accept's end and the next one's start, and a closed loop of
 * webhooks kept neither PostgreSQL nor the gateway busy meanwhile (issue #23).
 */
size_t intake_accept_calls(long long pool_size);
/*
 * The key that keeps one conversation's accepts in order across those
 * calls (batch_add_keyed_take): its two numbers, cut at INTAKE_KEY_MAX (a
 * cut key only makes two conversations wait for each other).
 */
#define INTAKE_KEY_MAX 96
void intake_conversation_key(char *buf, size_t size, const char *from, const char *to);

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
