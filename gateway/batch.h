/*
 * batch.h - group commit: many small database operations as one statement.
 *
 * A batch sends the items added to it as ONE call of a set-returning SQL
 * function taking a jsonb array ($1), so N operations cost one round trip
 * and one transaction (one WAL flush) instead of N. One call is in flight
 * at a time (unless batch_set_calls); items added meanwhile wait for the
 * next one, so the batch size follows the load and a lone item goes out at
 * the end of the current event-loop iteration. Each result row starts
 * with ord, the item's 1-based position in the array; an item gets its row,
 * or row -1 if the function returned none for it. Columns are read by name:
 * the batch looks the function's columns up once per result and hands each
 * item their indexes.
 *
 * If PostgreSQL refuses a call of several items (one bad item, a deadlock),
 * each item is sent again alone, so one item never fails the others. If
 * the connection is lost, every item of the call gets the error.
 *
 * A batch may have more calls in flight (batch_set_calls); then items added
 * with a key (batch_add_keyed_take: a conversation) never go in two calls
 * at once: those of one key reach the database in the order they were added.
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
struct store_batch;

/*
 * Called once per item. On success error is NULL, row is the item's row in
 * res (or -1: none) and col[i] the index in res of fn->columns[i]; on
 * failure error says why, col is NULL, and res is the failed result, or
 * NULL when the connection was lost (or the batch's hold turned it away).
 * res and col are borrowed.
 */
typedef void batch_item_cb(const PGresult *res, int row, const int *col, const char *error, void *arg);

/*
 * True to keep the waiting items from the database: each then gets its
 * callback at once, as if the connection were lost (intake: the spool has
 * records, so newer texts must queue behind them).
 */
typedef bool batch_hold_cb(void *arg);

/*
 * fn: the statement (static), taking the jsonb array as $1 and, when extra
 * is not NULL, extra as $2 (copied). At most max_items go in one call;
 * urgent calls go ahead of other queries in the pool (db_query_urgent).
 */
struct batch *batch_new(struct event_base *base, struct db *db, const struct store_batch *fn,
    const char *extra, size_t max_items, bool urgent);
/*
 * Group commit at low load: while fewer than items wait (and no call is in
 * flight), wait up to linger_ms for more before sending them. Only for
 * work nobody waits on (the 'sent' marks): it adds up to linger_ms to each
 * call at low load, and saves a transaction per item joined. linger_ms 0: never (the default).
 */
void batch_set_linger(struct batch *b, size_t items, int linger_ms);
/*
 * Up to calls in flight at once (1 by default): another call goes out
 * beside those in flight once linger_items (batch_set_linger) wait, so the
 * calls stay full. For a batch whose round trip, not the database's work,
 * bounds its rate (intake's accepts: see intake.c).
 */
void batch_set_calls(struct batch *b, size_t calls);
/* Asks hold before each call goes out (NULL: never held). */
void batch_set_hold(struct batch *b, batch_hold_cb *hold, void *arg);
/* Frees it; a call still in flight frees its items when it ends, calling no callbacks. */
void batch_free(struct batch *b);
/* Queues one item; takes ownership of item (a JSON object) even on error. */
void batch_add_take(struct batch *b, json_t *item, batch_item_cb *cb, void *arg);
/*
 * The same for an item of key (copied as a hash; NULL: none): while a call
 * in flight has an item of that key, it waits, and so does the hold's turn
 * for it (batch_set_hold): one key's items keep their order, whichever call
 * ends first.
 */
void batch_add_keyed_take(struct batch *b, const char *key, json_t *item, batch_item_cb *cb, void *arg);
/* Items waiting or in flight. */
size_t batch_pending(const struct batch *b);

#endif
