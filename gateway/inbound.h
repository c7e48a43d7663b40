/*
 * inbound.h - runs the dialogue for stored inbound messages.
 *
 * The webhook only stores a message; this module answers it: for each
 * conversation with unprocessed messages it loads the oldest, runs one
 * dialogue step and commits the result, then takes the next, so one
 * patient's texts are answered one at a time in arrival order.
 */
#ifndef CARENAV_GATEWAY_INBOUND_H
#define CARENAV_GATEWAY_INBOUND_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct db;
struct escalation;
struct event_base;
struct flows;
struct inbound;
struct outbox;
struct triage;

struct inbound *inbound_new(struct event_base *base, struct db *db, struct outbox *outbox,
    struct escalation *escalation, struct flows *flows, const struct triage *triage,
    const struct config *cfg);
void inbound_free(struct inbound *in);
/* A message for this conversation was stored: process it soon. */
void inbound_kick(struct inbound *in, int64_t conversation_id);
/*
 * The same, with the conversation's step already loaded: row of res, its
 * columns col[STEP_*] (store.h), borrowed for the call; a NULL version
 * column (or res NULL) means not loaded. Used unless a job for the
 * conversation runs already.
 */
void inbound_kick_loaded(struct inbound *in, int64_t conversation_id, const PGresult *res, int row,
    const int *col);
/* Stops starting new steps; steps in flight finish. */
void inbound_stop(struct inbound *in);
/* Conversations being stepped right now, plus one while a sweep query is in flight. */
size_t inbound_active(const struct inbound *in);

#endif
