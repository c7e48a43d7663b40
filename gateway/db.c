/*
 * db.c - asynchronous libpq connection pool. See db.h.
 *
 * Each connection is a small state machine (db_conn_set_state logs every
 * move): DOWN -> CONNECTING -> CHECKING -> IDLE <-> BUSY, and back to DOWN
 * on any error, from where a retry timer reconnects with backoff. One
 * libevent event per connection is re-armed for read or write as libpq asks
 * (STYLE §6).
 *
 * CHECKING asks a new connection whether it takes writes, and a query
 * that fails because the server became read-only or is shutting down drops
 * its connection like a lost socket (its caller spools or retries). With a
 * multi-host DATABASE_URL, a connection that reached a read-only server makes the
 * next attempts start at the next host (db_hosts.h says why libpq's own
 * target_session_attrs is not enough behind a pooler).
 *
 * Queries wait in one FIFO and go to whichever connection is idle; urgent
 * ones (a webhook's accept, which a provider is waiting on) go ahead of the
 * others, in FIFO order among themselves, and one idle connection is kept
 * for them (while two or more are open), so a backlog of dialogue steps
 * never delays a 200. If every
 * connection is down and the retry that the query triggers fails too, the
 * queued queries fail at once with "database unavailable", so callers can
 * answer 503 or spool instead of waiting for an outage to end.
 *
 * Every query is one statement in its own transaction. When PostgreSQL
 * rolls one back to break a deadlock or a serialization conflict (40P01,
 * 40001), nothing of it remains, so it runs again on the same connection,
 * up to DB_ROLLED_BACK_RETRIES times, before its caller hears of it: an
 * operator's ACK that met a 'sent' mark taking the same rows in the other
 * order got a 503 instead of its answer.
 */
#include "db.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/time.h>

#include "db_hosts.h"
#include "log.h"
#include "stats.h"
#include "timeutil.h"
#include "xmalloc.h"

#define DB_RETRY_MIN_MS 100
#define DB_RETRY_MAX_MS 5000
#define DB_ROLLED_BACK_RETRIES 3

#define DB_CONN_STATE_LIST(X)                                          \
	X(DB_CONN_DOWN, "down")             /* no socket; retry timer armed */ \
	X(DB_CONN_CONNECTING, "connecting") /* PQconnectPoll in progress */     \
	X(DB_CONN_CHECKING, "checking")     /* open; does it take writes? */    \
	X(DB_CONN_IDLE, "idle")             /* open, waiting for a query */     \
	X(DB_CONN_BUSY, "busy")             /* one query sent, result pending */

enum db_conn_state {
#define X(id, name) id,
	DB_CONN_STATE_LIST(X)
#undef X
};

static const char *const db_conn_state_names[] = {
#define X(id, name) [id] = name,
	DB_CONN_STATE_LIST(X)
#undef X
};

struct db_query {
	TAILQ_ENTRY(db_query) entry;
	const char *sql;  /* borrowed, static */
	int nparams;
	char **params;    /* owned copies; NULL entries are SQL NULL */
	db_result_cb *cb;
	void *arg;
	bool urgent;      /* may take the connection kept for urgent queries */
	int rolled_back;  /* times PostgreSQL rolled it back to break a deadlock or conflict */
};

TAILQ_HEAD(db_query_list, db_query);

struct db_conn {
	struct db *db;             /* the pool that owns this connection */
	size_t index;              /* position in the pool, for logs */
	PGconn *pg;                /* owned; NULL when DOWN */
	enum db_conn_state state;
	struct event io;           /* socket readiness, re-armed as needed */
	struct event retry;        /* reconnect timer while DOWN */
	bool io_added;
	int failures;              /* failed connects since the last query that worked, for backoff */
	bool was_open;             /* has been IDLE since its last failure: a failure now is a loss */
	size_t first_host;         /* where this connection's attempt began in the host list */
	struct db_query *current;  /* owned; the query in flight when BUSY */
	PGresult *result;          /* owned; last result of the current query */
};

struct db {
	struct event_base *base;
	char *conninfo;            /* owned */
	struct db_hosts *hosts;    /* owned; NULL when libpq cannot parse conninfo */
	size_t first_host;         /* the host the next connection attempt begins with */
	struct timeval last_forced; /* when a query last made a DOWN connection retry at once */
	struct db_conn *conns;     /* owned array of nconns */
	size_t nconns;
	struct db_query_list queue;
	struct db_query *last_urgent;  /* the last urgent query in queue, or NULL: urgent ones lead */
	size_t nqueued;
	struct event fail_queue;   /* fails the queue from the loop when all connections are down */
};

static void db_conn_connect(struct db_conn *c);
static void db_dispatch(struct db *db);

static void
db_conn_set_state(struct db_conn *c, enum db_conn_state state)
{
	log_debug("db: conn %zu %s -> %s", c->index, db_conn_state_names[c->state],
	    db_conn_state_names[state]);
	c->state = state;
}

static void
db_query_free(struct db_query *q)
{
	for (int i = 0; i < q->nparams; i++)
		free(q->params[i]);
	free(q->params);
	free(q);
}

/* Takes the first query off the queue, or NULL. */
static struct db_query *
db_queue_pop(struct db *db)
{
	struct db_query *q = TAILQ_FIRST(&db->queue);

	if (q == NULL)
		return NULL;
	TAILQ_REMOVE(&db->queue, q, entry);
	db->nqueued--;
	if (db->last_urgent == q)
		db->last_urgent = NULL;
	return q;
}

static void
db_query_finish(struct db_query *q, const PGresult *res, const char *error)
{
	q->cb(res, error, q->arg);
	db_query_free(q);
}

static bool
db_any_conn_in(const struct db *db, enum db_conn_state a, enum db_conn_state b)
{
	for (size_t i = 0; i < db->nconns; i++) {
		if (db->conns[i].state == a || db->conns[i].state == b)
			return true;
	}
	return false;
}

static void
db_fail_queue_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db *db = arg;
	struct db_query *q;

	(void)fd;
	(void)what;
	if (db_any_conn_in(db, DB_CONN_IDLE, DB_CONN_BUSY) ||
	    db_any_conn_in(db, DB_CONN_CONNECTING, DB_CONN_CHECKING))
		return;
	while ((q = db_queue_pop(db)) != NULL)
		db_query_finish(q, NULL, "database unavailable");
}

static void db_conn_event_cb(evutil_socket_t fd, short what, void *arg);

/* Waits for the socket to become readable and/or writable, as libpq asked. */
static void
db_conn_arm(struct db_conn *c, short what)
{
	if (c->io_added)
		event_del(&c->io);
	/* Re-assigned every time: the socket can change while connecting. */
	event_assign(&c->io, c->db->base, PQsocket(c->pg), what, db_conn_event_cb, c);
	event_add(&c->io, NULL);
	c->io_added = true;
}

/* Drops the connection, fails its query, and schedules a reconnect. */
static void
db_conn_fail(struct db_conn *c, const char *why)
{
	struct db_query *q = c->current;
	char *reason = xstrdup(why);
	int64_t delay = DB_RETRY_MIN_MS;
	struct timeval tv;

	/* libpq messages end in a newline; keep log lines whole. */
	reason[strcspn(reason, "\n")] = '\0';
	if (c->failures == 0 && c->was_open) {
		stats.db_connections_lost++;
		log_warn("db: connection %zu lost: %s", c->index, reason);
	} else if (c->failures == 0) {
		log_warn("db: connection %zu cannot connect: %s", c->index, reason);
	} else {
		log_debug("db: connection %zu retry failed: %s", c->index, reason);
	}
	c->was_open = false;
	if (c->io_added) {
		event_del(&c->io);
		c->io_added = false;
	}
	PQfinish(c->pg);
	c->pg = NULL;
	PQclear(c->result);
	c->result = NULL;
	c->current = NULL;
	db_conn_set_state(c, DB_CONN_DOWN);

	for (int i = 0; i < c->failures && delay < DB_RETRY_MAX_MS; i++)
		delay *= 2;
	if (delay > DB_RETRY_MAX_MS)
		delay = DB_RETRY_MAX_MS;
	c->failures++;
	tv = timeutil_tv(delay);
	evtimer_add(&c->retry, &tv);

	if (q != NULL)
		db_query_finish(q, NULL, reason);
	free(reason);
	/* From the loop, not here: the caller may be inside db_query. */
	event_active(&c->db->fail_queue, EV_TIMEOUT, 1);
}

/* Sends what libpq buffered for the statement just queued, then waits for its results. */
static void
db_conn_flush(struct db_conn *c)
{
	int flushed = PQflush(c->pg);

	if (flushed < 0)
		db_conn_fail(c, PQerrorMessage(c->pg));
	else
		db_conn_arm(c, flushed == 1 ? EV_READ | EV_WRITE : EV_READ);
}

static void
db_notice_cb(void *arg, const char *message)
{
	(void)arg;
	log_debug("db: notice: %s", message);
}

static void
db_conn_poll_connect(struct db_conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		db_conn_arm(c, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		db_conn_arm(c, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(c->pg, 1) != 0) {
			db_conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
		PQsetNoticeProcessor(c->pg, db_notice_cb, NULL);
		db_conn_set_state(c, DB_CONN_CHECKING);
		if (!PQsendQuery(c->pg, "SHOW transaction_read_only")) {
			db_conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
		db_conn_flush(c);
		break;
	default:
		db_conn_fail(c, PQerrorMessage(c->pg));
		break;
	}
}

/* The host this connection reached takes no writes: later attempts begin at the one after it. */
static void
db_conn_skip_host(struct db_conn *c)
{
	struct db *db = c->db;
	size_t reached;

	/* Only if no other connection has moved on already. */
	if (db->hosts == NULL || db->first_host != c->first_host)
		return;
	reached = db_hosts_find(db->hosts, PQhost(c->pg), PQport(c->pg));
	if (reached == db_hosts_count(db->hosts))
		reached = c->first_host;
	db->first_host = (reached + 1) % db_hosts_count(db->hosts);
}

/* The new connection answered whether it takes writes: use it, or try elsewhere. */
static void
db_conn_check_done(struct db_conn *c)
{
	PGresult *res = c->result;
	bool writable = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "off") == 0;

	if (!writable) {
		char *why = xasprintf("%s:%s is read-only (a standby) or did not answer; the next attempt starts at "
		    "the next host",
		    PQhost(c->pg), PQport(c->pg));

		db_conn_skip_host(c);
		db_conn_fail(c, why);
		free(why);
		return;
	}
	PQclear(res);
	c->result = NULL;
	if (c->failures > 0) {
		stats.db_reconnects++;
		log_info("db: connection %zu re-established (%s:%s)", c->index, PQhost(c->pg), PQport(c->pg));
	}
	/* failures is reset by the first query that works: a server that takes the
	 * connection but refuses every statement still gets the backoff. */
	c->was_open = true;
	db_conn_set_state(c, DB_CONN_IDLE);
	db_conn_arm(c, EV_READ);
	db_dispatch(c->db);
}

/*
 * True when a statement failed because of the server, not the statement:
 * the connection broke, the server became a standby (25006,
 * read_only_sql_transaction), or it is shutting down or starting
 * (57P01-57P03). Nothing of that statement was committed.
 */
static bool
db_conn_server_gone(const struct db_conn *c, const PGresult *res)
{
	const char *sqlstate = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return PQstatus(c->pg) == CONNECTION_BAD ||
	    (sqlstate != NULL && (strcmp(sqlstate, "25006") == 0 || strncmp(sqlstate, "57P0", 4) == 0));
}

static void
db_conn_connect(struct db_conn *c)
{
	struct db *db = c->db;

	c->first_host = db->first_host;
	c->pg = db->hosts != NULL ?
	    PQconnectStartParams(db_hosts_keywords(db->hosts), db_hosts_values(db->hosts, c->first_host), 0) :
	    PQconnectStart(db->conninfo);
	if (c->pg == NULL) {
		log_error("db: out of memory starting a connection");
		abort();
	}
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		db_conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	db_conn_set_state(c, DB_CONN_CONNECTING);
	db_conn_arm(c, EV_WRITE);
}

static void
db_conn_retry_timer(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state == DB_CONN_DOWN)
		db_conn_connect(c);
}

static void db_conn_send(struct db_conn *c, struct db_query *q);

/* True when PostgreSQL rolled the statement back to break a deadlock or a serialization conflict. */
static bool
db_rolled_back(const PGresult *res)
{
	const char *sqlstate = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return sqlstate != NULL && (strcmp(sqlstate, "40P01") == 0 || strcmp(sqlstate, "40001") == 0);
}

/* The current query's results are all in: hand them over, take the next. */
static void
db_conn_query_done(struct db_conn *c)
{
	struct db_query *q = c->current;
	PGresult *res = c->result;
	const char *error = NULL;

	if (db_conn_server_gone(c, res)) {
		const char *sqlstate = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		char *why = xstrdup(res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));

		if (sqlstate != NULL && strcmp(sqlstate, "25006") == 0)
			db_conn_skip_host(c);
		db_conn_fail(c, why);  /* the query's caller sees a lost connection */
		free(why);
		return;
	}
	c->current = NULL;
	c->result = NULL;
	db_conn_set_state(c, DB_CONN_IDLE);
	db_conn_arm(c, EV_READ);
	if (res == NULL)
		error = "no result";
	else if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
		error = PQresultErrorMessage(res);
	else
		c->failures = 0;  /* the server works: the next loss starts the backoff afresh */
	if (error != NULL && db_rolled_back(res) && q->rolled_back < DB_ROLLED_BACK_RETRIES) {
		q->rolled_back++;
		log_warn("db: statement rolled back by PostgreSQL, running it again (%d of %d): %s", q->rolled_back,
		    DB_ROLLED_BACK_RETRIES, error);
		PQclear(res);
		db_conn_send(c, q);
		return;
	}
	db_query_finish(q, res, error);
	PQclear(res);
	db_dispatch(c->db);
}

static void
db_conn_read_results(struct db_conn *c)
{
	if (!PQconsumeInput(c->pg)) {
		db_conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	while (!PQisBusy(c->pg)) {
		PGresult *res = PQgetResult(c->pg);

		if (res == NULL) {
			if (c->state == DB_CONN_CHECKING)
				db_conn_check_done(c);
			else
				db_conn_query_done(c);
			return;
		}
		/* A single statement yields one result; keep the last to be safe. */
		PQclear(c->result);
		c->result = res;
	}
	db_conn_arm(c, EV_READ);
}

static void
db_conn_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *c = arg;
	int flushed;

	(void)fd;
	c->io_added = false;
	switch (c->state) {
	case DB_CONN_CONNECTING:
		db_conn_poll_connect(c);
		break;
	case DB_CONN_CHECKING:
	case DB_CONN_BUSY:
		if (what & EV_WRITE) {
			flushed = PQflush(c->pg);
			if (flushed < 0) {
				db_conn_fail(c, PQerrorMessage(c->pg));
				return;
			}
			if (flushed == 1) {
				db_conn_arm(c, EV_READ | EV_WRITE);
				return;
			}
		}
		db_conn_read_results(c);
		break;
	case DB_CONN_IDLE:
		/* Readable while idle: the server closed, or sent a notice. */
		if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD) {
			db_conn_fail(c, PQerrorMessage(c->pg));
			return;
		}
		db_conn_arm(c, EV_READ);
		break;
	case DB_CONN_DOWN:
		break;
	}
}

static void
db_conn_send(struct db_conn *c, struct db_query *q)
{
	c->current = q;
	db_conn_set_state(c, DB_CONN_BUSY);
	if (!PQsendQueryParams(c->pg, q->sql, q->nparams, NULL, (const char *const *)q->params,
	    NULL, NULL, 0)) {
		db_conn_fail(c, PQerrorMessage(c->pg));
		return;
	}
	db_conn_flush(c);
}

static void
db_dispatch(struct db *db)
{
	size_t idle = 0, open = 0;

	for (size_t i = 0; i < db->nconns; i++) {
		idle += db->conns[i].state == DB_CONN_IDLE;
		open += db->conns[i].state == DB_CONN_IDLE || db->conns[i].state == DB_CONN_BUSY;
	}
	for (size_t i = 0; i < db->nconns && !TAILQ_EMPTY(&db->queue); i++) {
		struct db_conn *c = &db->conns[i];
		struct db_query *q;

		if (c->state != DB_CONN_IDLE)
			continue;
		/* The last idle connection waits for an urgent query. */
		if (!TAILQ_FIRST(&db->queue)->urgent && idle < 2 && open > 1)
			return;
		q = db_queue_pop(db);
		idle--;
		db_conn_send(c, q);
	}
}

struct db *
db_new(struct event_base *base, const char *conninfo, size_t nconns)
{
	struct db *db = xcalloc(1, sizeof *db);
	char *error;

	db->base = base;
	db->conninfo = xstrdup(conninfo);
	db->hosts = db_hosts_new(conninfo, &error);
	if (db->hosts == NULL) {
		log_error("db: DATABASE_URL: %s", error);
		free(error);
	}
	db->nconns = nconns;
	db->conns = xcalloc(nconns, sizeof *db->conns);
	TAILQ_INIT(&db->queue);
	event_assign(&db->fail_queue, base, -1, 0, db_fail_queue_cb, db);
	for (size_t i = 0; i < nconns; i++) {
		struct db_conn *c = &db->conns[i];

		c->db = db;
		c->index = i;
		c->state = DB_CONN_DOWN;
		evtimer_assign(&c->retry, base, db_conn_retry_timer, c);
		db_conn_connect(c);
	}
	return db;
}

void
db_free(struct db *db)
{
	struct db_query *q;

	if (db == NULL)
		return;
	for (size_t i = 0; i < db->nconns; i++) {
		struct db_conn *c = &db->conns[i];

		if (c->io_added)
			event_del(&c->io);
		evtimer_del(&c->retry);
		if (c->current != NULL)
			db_query_finish(c->current, NULL, "database pool closed");
		PQclear(c->result);
		PQfinish(c->pg);
	}
	while ((q = db_queue_pop(db)) != NULL)
		db_query_finish(q, NULL, "database pool closed");
	event_del(&db->fail_queue);
	free(db->conns);
	db_hosts_free(db->hosts);
	free(db->conninfo);
	free(db);
}

/* True, and noted, when no query forced a retry in the last DB_RETRY_MIN_MS. */
static bool
db_may_force_retry(struct db *db)
{
	struct timeval now, since;

	event_base_gettimeofday_cached(db->base, &now);
	timersub(&now, &db->last_forced, &since);
	if (since.tv_sec == 0 && since.tv_usec < DB_RETRY_MIN_MS * 1000)
		return false;
	db->last_forced = now;
	return true;
}

static void
db_enqueue(struct db *db, bool urgent, const char *sql, int nparams, const char *const *params,
    db_result_cb *cb, void *arg)
{
	struct db_query *q = xcalloc(1, sizeof *q);

	q->sql = sql;
	q->nparams = nparams;
	q->params = xcalloc((size_t)(nparams > 0 ? nparams : 1), sizeof *q->params);
	for (int i = 0; i < nparams; i++)
		q->params[i] = params[i] ? xstrdup(params[i]) : NULL;
	q->cb = cb;
	q->arg = arg;
	q->urgent = urgent;
	if (!urgent) {
		TAILQ_INSERT_TAIL(&db->queue, q, entry);
	} else {
		if (db->last_urgent != NULL)
			TAILQ_INSERT_AFTER(&db->queue, db->last_urgent, q, entry);
		else
			TAILQ_INSERT_HEAD(&db->queue, q, entry);
		db->last_urgent = q;
	}
	db->nqueued++;

	if (db_any_conn_in(db, DB_CONN_IDLE, DB_CONN_BUSY) ||
	    db_any_conn_in(db, DB_CONN_CONNECTING, DB_CONN_CHECKING)) {
		db_dispatch(db);
		return;
	}
	/*
	 * Everything is down: retry one connection now rather than at its
	 * backoff, at most every DB_RETRY_MIN_MS; in between, fail what waits
	 * at once (callers spool), as a failed retry would.
	 */
	if (!db_may_force_retry(db)) {
		event_active(&db->fail_queue, EV_TIMEOUT, 1);
		return;
	}
	for (size_t i = 0; i < db->nconns; i++) {
		if (db->conns[i].state == DB_CONN_DOWN) {
			evtimer_del(&db->conns[i].retry);
			event_active(&db->conns[i].retry, EV_TIMEOUT, 1);
			return;
		}
	}
}

void
db_query(struct db *db, const char *sql, int nparams, const char *const *params,
    db_result_cb *cb, void *arg)
{
	db_enqueue(db, false, sql, nparams, params, cb, arg);
}

void
db_query_urgent(struct db *db, const char *sql, int nparams, const char *const *params,
    db_result_cb *cb, void *arg)
{
	db_enqueue(db, true, sql, nparams, params, cb, arg);
}

bool
db_is_up(const struct db *db)
{
	return db_any_conn_in(db, DB_CONN_IDLE, DB_CONN_BUSY);
}

size_t
db_pending(const struct db *db)
{
	size_t n = db->nqueued;

	for (size_t i = 0; i < db->nconns; i++)
		n += db->conns[i].state == DB_CONN_BUSY;
	return n;
}
