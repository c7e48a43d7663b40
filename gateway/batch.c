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
 *
 * A batch allowed several calls at once (batch_set_calls) sends another
 * beside those in flight once linger_items wait, and keeps its keys apart:
 * an item whose key is in a call in flight waits, in its place, for that
 * call to end; the hold turns it away only then. So the items of one key
 * reach the database, or the hold, in the order they were added, whichever
 * call ends first. A key is kept as its 64-bit FNV-1a hash: two keys with
 * the same hash only wait for each other.
 */
#include "batch.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/queue.h>

#include "db.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

TAILQ_HEAD(batch_call_list, batch_call);

struct batch_item {
	TAILQ_ENTRY(batch_item) entry;
	json_t *json;       /* owned */
	batch_item_cb *cb;
	void *arg;
	uint64_t key;       /* the hash of its key, 0 for none */
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
	struct batch_call_list calls;  /* in flight, oldest first */
	size_t ncalls;
	size_t max_calls;           /* in flight at once: 1 unless batch_set_calls */
	size_t nflying;             /* items in those calls */
	struct event kick;          /* deferred send */
	struct event linger;        /* send after linger_ms even if fewer than linger_items wait */
	struct timeval linger_tv;
	size_t linger_items;        /* 0: never linger */
	bool closing;               /* freed while a call was in flight */
	char *text;                 /* owned: the last call's items as JSON text, kept for the next */
	size_t text_size;           /* its allocation, the largest a call has needed */
};

struct batch_call {
	TAILQ_ENTRY(batch_call) entry;
	struct batch *b;
	struct batch_item **items;  /* owned array of n owned items */
	size_t n;
	uint64_t *keys;             /* owned: the items' keys, sorted (none: 0) */
	size_t nkeys;
};

static void batch_send(struct batch *b);

static void
batch_item_free(struct batch_item *it)
{
	json_decref(it->json);
	free(it);
}

static void
batch_call_free(struct batch_call *call)
{
	free(call->keys);
	free(call->items);
	free(call);
}

static void
batch_destroy(struct batch *b)
{
	free(b->extra);
	free(b->text);
	free(b);
}

/* 64-bit FNV-1a; never 0, which means no key. */
static uint64_t
batch_key_hash(const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h != 0 ? h : 1;
}

static int
batch_key_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* True if a call in flight has an item of this key: an item of it must wait for that call. */
static bool
batch_key_flying(const struct batch *b, uint64_t key)
{
	const struct batch_call *call;

	if (key == 0)
		return false;
	TAILQ_FOREACH(call, &b->calls, entry)
		if (bsearch(&key, call->keys, call->nkeys, sizeof *call->keys, batch_key_cmp) != NULL)
			return true;
	return false;
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
	if (b->ncalls >= b->max_calls || b->nwaiting == 0)
		return;
	/* Another call beside those in flight only once a batch's worth waits. */
	if (b->ncalls > 0 && b->nwaiting < b->linger_items)
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

	TAILQ_REMOVE(&b->calls, call, entry);
	b->ncalls--;
	b->nflying -= call->n;
	if (b->closing) {
		for (size_t i = 0; i < call->n; i++)
			batch_item_free(call->items[i]);
		batch_call_free(call);
		if (b->ncalls == 0)
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
		batch_call_free(call);
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
	batch_call_free(call);
	batch_schedule(b);
}

/*
 * The hold said no: every waiting item gets its callback now, in order, as
 * if the connection were lost; but not one whose key is in flight: should
 * that call fail, its items go to the hold first.
 */
static void
batch_turn_away(struct batch *b)
{
	struct batch_item *it, *next, *last = TAILQ_LAST(&b->waiting, batch_item_list);

	/* Only those waiting now: a callback may add items, which wait for the next send. */
	for (it = TAILQ_FIRST(&b->waiting); it != NULL; it = next) {
		next = it == last ? NULL : TAILQ_NEXT(it, entry);
		if (batch_key_flying(b, it->key))
			continue;
		TAILQ_REMOVE(&b->waiting, it, entry);
		b->nwaiting--;
		it->cb(NULL, -1, NULL, "held back", it->arg);
		batch_item_free(it);
	}
	/* Those left wait for their calls, whose ends send them (no spinning meanwhile). */
	if (b->ncalls == 0)
		batch_schedule(b);
}

static void
batch_send(struct batch *b)
{
	struct batch_call *call;
	struct batch_item *it, *next;
	json_t *array;
	const char *json;
	const char *params[2];
	size_t max;

	if (b->ncalls >= b->max_calls || b->nwaiting == 0)
		return;
	if (b->hold != NULL && b->hold(b->hold_arg)) {
		batch_turn_away(b);
		return;
	}
	max = TAILQ_FIRST(&b->waiting)->alone ? 1 : b->max_items;
	call = xcalloc(1, sizeof *call);
	call->b = b;
	call->items = xcalloc(b->nwaiting < max ? b->nwaiting : max, sizeof *call->items);
	/* In FIFO order, passing over the items whose key is in flight (they keep their place). */
	for (it = TAILQ_FIRST(&b->waiting); it != NULL && call->n < max; it = next) {
		next = TAILQ_NEXT(it, entry);
		if (it->alone && call->n > 0)
			break;
		if (batch_key_flying(b, it->key))
			continue;
		TAILQ_REMOVE(&b->waiting, it, entry);
		b->nwaiting--;
		call->items[call->n++] = it;
	}
	if (call->n == 0) {
		/* All of them wait for calls in flight, whose ends send them. */
		batch_call_free(call);
		return;
	}
	call->keys = xcalloc(call->n, sizeof *call->keys);
	array = json_array();
	for (size_t i = 0; i < call->n; i++) {
		if (call->items[i]->key != 0)
			call->keys[call->nkeys++] = call->items[i]->key;
		json_array_append(array, call->items[i]->json);
	}
	qsort(call->keys, call->nkeys, sizeof *call->keys, batch_key_cmp);
	json = batch_encode(b, array);
	json_decref(array);
	if (json == NULL) {
		log_error("batch: out of memory encoding %zu items", call->n);
		abort();
	}
	params[0] = json;
	params[1] = b->extra;
	TAILQ_INSERT_TAIL(&b->calls, call, entry);
	b->ncalls++;
	b->nflying += call->n;
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
	b->max_calls = 1;
	TAILQ_INIT(&b->waiting);
	TAILQ_INIT(&b->calls);
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
batch_set_calls(struct batch *b, size_t calls)
{
	b->max_calls = calls > 0 ? calls : 1;
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
	if (b->ncalls > 0) {
		b->closing = true;  /* the last batch_call_done frees it */
		return;
	}
	batch_destroy(b);
}

void
batch_add_take(struct batch *b, json_t *item, batch_item_cb *cb, void *arg)
{
	batch_add_keyed_take(b, NULL, item, cb, arg);
}

void
batch_add_keyed_take(struct batch *b, const char *key, json_t *item, batch_item_cb *cb, void *arg)
{
	struct batch_item *it = xcalloc(1, sizeof *it);

	/* A failed json_pack: a null element fails its call, then itself alone. */
	it->json = item != NULL ? item : json_null();
	it->cb = cb;
	it->arg = arg;
	it->key = key != NULL ? batch_key_hash(key) : 0;
	TAILQ_INSERT_TAIL(&b->waiting, it, entry);
	b->nwaiting++;
	batch_schedule(b);
}

size_t
batch_pending(const struct batch *b)
{
	return b->nwaiting + b->nflying;
}
