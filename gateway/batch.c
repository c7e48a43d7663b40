/*
 * batch.c - group commit of small operations. See batch.h.
 *
 * DESIGN. Items wait in a FIFO; a deferred event (active at most once per
 * loop iteration) sends up to max_items of them as one query when no call
 * is in flight, and the call's completion sends the next. Items keep their
 * order: the SQL function sees them in the order they were added. An item
 * sent again alone after a refused call keeps its place at the head of the
 * FIFO. The call (struct batch_call) owns its items until its callback,
 * so freeing the batch while a call is in flight only marks it closing.
 * The hold (intake's spool) is asked just before a call would go out, so
 * items that waited behind a call whose items were spooled follow them
 * into the spool. A batch may linger (batch_set_linger): with fewer than
 * linger_items waiting it sends when the linger timer fires, started as
 * the first of them waits, or as soon as enough have joined.
 */
#include "batch.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdlib.h>
#include <sys/queue.h>

#include "db.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

struct batch_item {
	TAILQ_ENTRY(batch_item) entry;
	json_t *json;       /* owned */
	batch_item_cb *cb;
	void *arg;
	bool alone;         /* its last call was refused: send it by itself */
};
TAILQ_HEAD(batch_item_list, batch_item);

struct batch {
	struct db *db;              /* borrowed */
	const struct store_batch *fn;  /* borrowed, static */
	size_t ncols;               /* names in fn->columns */
	batch_hold_cb *hold;        /* or NULL */
	void *hold_arg;
	char *extra;                /* owned, or NULL */
	size_t max_items;
	bool urgent;
	struct batch_item_list waiting;
	size_t nwaiting;
	struct batch_call *call;    /* the call in flight, or NULL */
	struct event kick;          /* deferred send */
	struct event linger;        /* send after linger_ms even if fewer than linger_items wait */
	struct timeval linger_tv;
	size_t linger_items;        /* 0: never linger */
	bool closing;               /* freed while a call was in flight */
	char *text;                 /* owned: the last call's items as JSON text, kept for the next */
	size_t text_size;           /* its allocation, the largest a call has needed */
};

struct batch_call {
	struct batch *b;
	struct batch_item **items;  /* owned array of n owned items */
	size_t n;
};

static void batch_send(struct batch *b);

static void
batch_item_free(struct batch_item *it)
{
	json_decref(it->json);
	free(it);
}

static void
batch_destroy(struct batch *b)
{
	free(b->extra);
	free(b->text);
	free(b);
}

/*
 * The items as one JSON array, written into the batch's own buffer: one
 * pass into room the largest call so far needed, where json_dumps grows a
 * buffer in steps and then copies the result once more (about a fifth of
 * its time at load was those copies). NULL when jansson cannot encode them.
 */
static const char *
batch_encode(struct batch *b, const json_t *array)
{
	size_t need = json_dumpb(array, b->text, b->text_size, JSON_COMPACT);

	if (need == 0)
		return NULL;
	if (need >= b->text_size) {
		b->text_size = need + need / 2 + 1;
		b->text = xrealloc(b->text, b->text_size);
		if (json_dumpb(array, b->text, b->text_size, JSON_COMPACT) != need)
			return NULL;
	}
	b->text[need] = '\0';
	return b->text;
}

static void
batch_schedule(struct batch *b)
{
	if (b->call != NULL || b->nwaiting == 0)
		return;
	if (b->nwaiting < b->linger_items) {
		/* Few items: give more a moment to join (the linger timer sends them). */
		if (!evtimer_pending(&b->linger, NULL))
			evtimer_add(&b->linger, &b->linger_tv);
		return;
	}
	evtimer_del(&b->linger);
	if (!event_pending(&b->kick, EV_TIMEOUT, NULL))
		event_active(&b->kick, EV_TIMEOUT, 1);
}

static void
batch_call_done(const PGresult *res, const char *error, void *arg)
{
	struct batch_call *call = arg;
	struct batch *b = call->b;
	int *rows, *col = NULL, ord_col = -1;
	const char *missing = NULL;
	char *why = NULL;

	b->call = NULL;
	if (b->closing) {
		for (size_t i = 0; i < call->n; i++)
			batch_item_free(call->items[i]);
		free(call->items);
		free(call);
		batch_destroy(b);
		return;
	}
	if (error != NULL && res != NULL && call->n > 1) {
		/* Refused: each item again by itself, at the head of the queue, in order. */
		log_warn("batch: a call of %zu items was refused (%s); sending them one by one", call->n,
		    error);
		for (size_t i = call->n; i-- > 0;) {
			call->items[i]->alone = true;
			TAILQ_INSERT_HEAD(&b->waiting, call->items[i], entry);
			b->nwaiting++;
		}
		free(call->items);
		free(call);
		batch_schedule(b);
		return;
	}
	if (error == NULL) {
		col = xcalloc(b->ncols + 1, sizeof *col);
		if ((ord_col = PQfnumber(res, "ord")) < 0)
			missing = "ord";
		if (missing != NULL || !store_col_lookup(res, b->fn->columns, col, &missing)) {
			why = xasprintf("the database's result has no column %s (a schema this gateway does not "
			    "know)", missing);
			log_error("batch: %s: %s", b->fn->sql, why);
			error = why;
		}
	}
	rows = xcalloc(call->n, sizeof *rows);
	for (size_t i = 0; i < call->n; i++)
		rows[i] = -1;
	for (int r = 0; error == NULL && r < PQntuples(res); r++) {
		int64_t ord = store_col_int64(res, r, ord_col);

		if (ord >= 1 && (size_t)ord <= call->n)
			rows[ord - 1] = r;
	}
	/* The next call goes out from the loop; these callbacks may add items. */
	for (size_t i = 0; i < call->n; i++) {
		call->items[i]->cb(res, error == NULL ? rows[i] : -1, error == NULL ? col : NULL, error,
		    call->items[i]->arg);
		batch_item_free(call->items[i]);
	}
	free(why);
	free(col);
	free(rows);
	free(call->items);
	free(call);
	batch_schedule(b);
}

/* The hold said no: every waiting item gets its callback now, in order, as if the connection were lost. */
static void
batch_turn_away(struct batch *b)
{
	size_t n = b->nwaiting;
	struct batch_item *it;

	/* Only those waiting now: a callback may add items, which wait for the next send. */
	while (n-- > 0 && (it = TAILQ_FIRST(&b->waiting)) != NULL) {
		TAILQ_REMOVE(&b->waiting, it, entry);
		b->nwaiting--;
		it->cb(NULL, -1, NULL, "held back", it->arg);
		batch_item_free(it);
	}
	batch_schedule(b);
}

static void
batch_send(struct batch *b)
{
	struct batch_call *call;
	struct batch_item *it;
	json_t *array;
	const char *json;
	const char *params[2];
	size_t max;

	if (b->call != NULL || b->nwaiting == 0)
		return;
	if (b->hold != NULL && b->hold(b->hold_arg)) {
		batch_turn_away(b);
		return;
	}
	max = TAILQ_FIRST(&b->waiting)->alone ? 1 : b->max_items;
	call = xcalloc(1, sizeof *call);
	call->b = b;
	call->items = xcalloc(b->nwaiting < max ? b->nwaiting : max, sizeof *call->items);
	array = json_array();
	while (call->n < max && (it = TAILQ_FIRST(&b->waiting)) != NULL) {
		if (it->alone && call->n > 0)
			break;
		TAILQ_REMOVE(&b->waiting, it, entry);
		b->nwaiting--;
		call->items[call->n++] = it;
		json_array_append(array, it->json);
	}
	json = batch_encode(b, array);
	json_decref(array);
	if (json == NULL) {
		log_error("batch: out of memory encoding %zu items", call->n);
		abort();
	}
	params[0] = json;
	params[1] = b->extra;
	b->call = call;
	if (b->urgent)
		db_query_urgent(b->db, b->fn->sql, b->extra ? 2 : 1, params, batch_call_done, call);
	else
		db_query(b->db, b->fn->sql, b->extra ? 2 : 1, params, batch_call_done, call);
}

static void
batch_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	batch_send(arg);
}

struct batch *
batch_new(struct event_base *base, struct db *db, const struct store_batch *fn, const char *extra,
    size_t max_items, bool urgent)
{
	struct batch *b = xcalloc(1, sizeof *b);

	b->db = db;
	b->fn = fn;
	while (fn->columns[b->ncols] != NULL)
		b->ncols++;
	b->extra = extra ? xstrdup(extra) : NULL;
	b->max_items = max_items > 0 ? max_items : 1;
	b->urgent = urgent;
	TAILQ_INIT(&b->waiting);
	event_assign(&b->kick, base, -1, 0, batch_kick_cb, b);
	evtimer_assign(&b->linger, base, batch_kick_cb, b);
	return b;
}

void
batch_set_linger(struct batch *b, size_t items, int linger_ms)
{
	b->linger_items = linger_ms > 0 ? items : 0;
	b->linger_tv.tv_sec = linger_ms / 1000;
	b->linger_tv.tv_usec = (linger_ms % 1000) * 1000;
}

void
batch_set_hold(struct batch *b, batch_hold_cb *hold, void *arg)
{
	b->hold = hold;
	b->hold_arg = arg;
}

void
batch_free(struct batch *b)
{
	struct batch_item *it;

	if (b == NULL)
		return;
	event_del(&b->kick);
	event_del(&b->linger);
	while ((it = TAILQ_FIRST(&b->waiting)) != NULL) {
		TAILQ_REMOVE(&b->waiting, it, entry);
		batch_item_free(it);
	}
	b->nwaiting = 0;
	if (b->call != NULL) {
		b->closing = true;  /* batch_call_done frees it */
		return;
	}
	batch_destroy(b);
}

void
batch_add_take(struct batch *b, json_t *item, batch_item_cb *cb, void *arg)
{
	struct batch_item *it = xcalloc(1, sizeof *it);

	/* A failed json_pack: a null element fails its call, then itself alone. */
	it->json = item != NULL ? item : json_null();
	it->cb = cb;
	it->arg = arg;
	TAILQ_INSERT_TAIL(&b->waiting, it, entry);
	b->nwaiting++;
	batch_schedule(b);
}

size_t
batch_pending(const struct batch *b)
{
	return b->nwaiting + (b->call ? b->call->n : 0);
}
