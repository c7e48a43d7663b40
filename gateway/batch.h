/*
 * batch.h - group commit: many small database operations as one statement.
 *
 * A batch sends the items added to it as ONE call of a set-returning SQL
 * function taking a jsonb array ($1), so N operations cost one round trip
 * and one transaction (one WAL flush) instead of N. One call is in flight
 * at a time; items added meanwhile wait for the next one, so the batch size
 * follows the load and a lone item goes out at the end of the current
 * event-loop iteration. Each result row starts with ord, the item's 1-based
 * position in the array; an item gets its row, or row -1 if the function
 * returned none for it.
 *
 * If PostgreSQL refuses a call of several items (one bad item, a deadlock),
 * each item is sent again alone, so one item never fails the others. If
 * the connection is lost, every item of the call gets the error.
 */
#ifndef CARENAV_GATEWAY_BATCH_H
#define CARENAV_GATEWAY_BATCH_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct batch;
struct db;
struct event_base;

/*
 * Called once per item. On success error is NULL and row is the item's row
 * in res (or -1: none); on failure error says why and res is the failed
 * result, or NULL when the connection was lost. res is borrowed.
 */
typedef void batch_item_cb(const PGresult *res, int row, const char *error, void *arg);

/*
 * sql: a static statement taking the jsonb array as $1 and, when extra is
 * not NULL, extra as $2 (copied). At most max_items go in one call; urgent
 * calls go ahead of other queries in the pool (db_query_urgent).
 */
struct batch *batch_new(struct event_base *base, struct db *db, const char *sql, const char *extra,
    size_t max_items, bool urgent);
/* Frees it; a call still in flight frees its items when it ends, calling no callbacks. */
void batch_free(struct batch *b);
/* Queues one item; takes ownership of item (a JSON object) even on error. */
void batch_add_take(struct batch *b, json_t *item, batch_item_cb *cb, void *arg);
/* Items waiting or in flight. */
size_t batch_pending(const struct batch *b);

#endif
