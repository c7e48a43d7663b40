/*
 * db.h - asynchronous PostgreSQL access on the event loop (libpq).
 *
 * A small pool of connections, each running one statement at a time, fed
 * from one FIFO of queries. Nothing here blocks: connects use
 * PQconnectStart/PQconnectPoll and queries PQsendQueryParams, driven by
 * libevent. Lost connections are re-established with backoff.
 */
#ifndef CARENAV_GATEWAY_DB_H
#define CARENAV_GATEWAY_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct db;

/*
 * Called once per query. On success error is NULL and res holds the
 * statement's result; on failure error says why and res is the failed
 * result, or NULL when the connection was lost or the database is down.
 * res is borrowed: it is cleared after the callback returns.
 */
typedef void db_result_cb(const PGresult *res, const char *error, void *arg);

/* Starts connecting nconns connections to conninfo. */
struct db *db_new(struct event_base *base, const char *conninfo, size_t nconns);
/* Closes every connection; queued queries get their callback with an error. */
void db_free(struct db *db);
/*
 * Queues one statement. sql must stay valid until the callback (use string
 * literals); params are copied, NULL is SQL NULL. The callback always runs
 * later from the event loop, never from inside this call.
 */
void db_query(struct db *db, const char *sql, int nparams, const char *const *params,
    db_result_cb *cb, void *arg);
/*
 * As db_query, but queued ahead of every query that is not urgent (FIFO
 * among urgent ones). For work a client is waiting on; keep it to few
 * queries in flight, or the others starve.
 */
void db_query_urgent(struct db *db, const char *sql, int nparams, const char *const *params,
    db_result_cb *cb, void *arg);
/* True while at least one connection is open. */
bool db_is_up(const struct db *db);
/* Queries queued or running. */
size_t db_pending(const struct db *db);

#endif
