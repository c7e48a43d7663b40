/*
 * outbox.h - the worker that sends queued SMS through the provider.
 *
 * Rows are claimed from the outbox table with a lease, sent, and marked sent,
 * retried with backoff, or failed. It runs on a sweep timer and whenever
 * outbox_kick() says new rows were committed.
 */
#ifndef CARENAV_GATEWAY_OUTBOX_H
#define CARENAV_GATEWAY_OUTBOX_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * At low load a 'sent' mark waits up to OUTBOX_SENT_LINGER_MS for others
 * to share its transaction while fewer than OUTBOX_SENT_LINGER_ITEMS wait
 * (issue #23: at 300 texts/s a mark of one or two items cost a call and a
 * commit each). Nobody waits on a mark; the conversation's next reply, which
 * the mark hands over, leaves that much later.
 */
#define OUTBOX_SENT_LINGER_ITEMS 64
#define OUTBOX_SENT_LINGER_MS 50

struct config;
struct db;
struct event_base;
struct outbox;
struct provider;

struct outbox *outbox_new(struct event_base *base, struct db *db, struct provider *provider,
    const struct config *cfg);
void outbox_free(struct outbox *ob);
/* Looks for sendable rows now instead of at the next sweep. */
void outbox_kick(struct outbox *ob);
/*
 * Calls cb(arg) each time the provider's refusal of an urgent row (a page,
 * an emergency text) has been recorded: the escalation sweep can page the
 * next tier now rather than at its next tick. NULL cb: none.
 */
typedef void outbox_refused_cb(void *arg);
void outbox_set_refused_cb(struct outbox *ob, outbox_refused_cb *cb, void *arg);
/* Stops claiming new rows; sends in flight still finish and are recorded. */
void outbox_stop(struct outbox *ob);
/* Rows claimed and not yet recorded as sent/retried/failed, plus a claim query in flight. */
size_t outbox_in_flight(const struct outbox *ob);
/*
 * A reply another statement leased for this gateway (the step commit's
 * hand-over): row row of res, its claim columns at col[CLAIM_*]. Sent as a
 * claimed row would be, once a provider slot is free.
 */
void outbox_take(struct outbox *ob, const PGresult *res, int row, const int *col);
/* The lease of an ordinary reply from its claim until its outcome is recorded. */
int64_t outbox_lease_ms(const struct config *cfg);

#endif
