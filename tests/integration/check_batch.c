/*
 * check_batch.c - the group-commit engine (gateway/batch.c) with two calls
 * in flight, on a real PostgreSQL: a call goes out beside the one in flight,
 * but never with an item whose key (a conversation) is in it; that item
 * waits for the call to end, and so does the hold's turning it away. The
 * statement sleeps 0.3 s, so the calls overlap, and reports its transaction
 * and when it started and ended, so the test reads which item went in which
 * call and when.
 */
#include <check.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "db.h"
#include "harness.h"
#include "store.h"

/* Each item's transaction, and the call's start and end (epoch seconds). */
static const char probe_setup[] =
    "CREATE FUNCTION probe(p jsonb) RETURNS TABLE (ord integer, xid bigint, t0 double precision, "
    "t1 double precision) LANGUAGE plpgsql AS $$ "
    "DECLARE v_t0 double precision := extract(epoch FROM clock_timestamp())::double precision; "
    "BEGIN PERFORM pg_sleep(0.3); "
    "RETURN QUERY SELECT x.i::integer, txid_current(), v_t0, extract(epoch FROM clock_timestamp())::double precision "
    "FROM jsonb_array_elements(p) WITH ORDINALITY AS x (e, i); END $$";
static const char *const probe_columns[] = { "xid", "t0", "t1", NULL };
static const struct store_batch probe_fn = { "SELECT * FROM probe($1::jsonb)", probe_columns };

#define ITEMS_MAX 16

/* What one item's callback got, and in which order it came. */
struct probe_item {
	struct probe_test *t;
	const char *name;
	int order;          /* 1 for the first callback, ... 0: none yet */
	bool held;          /* turned away by the hold */
	long long xid;
	double t0, t1;
};

struct probe_test {
	struct event_base *base;
	struct db *db;
	struct batch *b;
	struct probe_item items[ITEMS_MAX];
	int nitems, ndone;
	bool hold;          /* what the hold answers */
	char *conninfo;     /* owned: its database */
	void (*wave)(struct probe_test *t);  /* the second wave's items */
};

static void
probe_item_done(const PGresult *res, int row, const int *col, const char *error, void *arg)
{
	struct probe_item *it = arg;

	it->order = ++it->t->ndone;
	if (error != NULL) {
		ck_assert_msg(res == NULL && strcmp(error, "held back") == 0, "%s: %s", it->name, error);
		it->held = true;
	} else {
		ck_assert_int_ge(row, 0);
		it->xid = store_col_int64(res, row, col[0]);
		it->t0 = strtod(PQgetvalue(res, row, col[1]), NULL);
		it->t1 = strtod(PQgetvalue(res, row, col[2]), NULL);
	}
	if (it->t->ndone == it->t->nitems)
		event_base_loopexit(it->t->base, NULL);
}

static bool
probe_hold(void *arg)
{
	return ((struct probe_test *)arg)->hold;
}

/* Adds an item named name with key (NULL: none); returns it. */
static struct probe_item *
probe_add(struct probe_test *t, const char *name, const char *key)
{
	struct probe_item *it = &t->items[t->nitems++];

	ck_assert_int_le(t->nitems, ITEMS_MAX);
	it->t = t;
	it->name = name;
	batch_add_keyed_take(t->b, key, json_pack("{s:s}", "name", name), probe_item_done, it);
	return it;
}

static void
probe_open(struct probe_test *t)
{
	PGconn *pg;

	memset(t, 0, sizeof *t);
	t->conninfo = harness_db_create_empty();
	pg = harness_db_connect(t->conninfo);
	harness_exec(pg, probe_setup);
	PQfinish(pg);
	t->base = event_base_new();
	t->db = db_new(t->base, t->conninfo, 3);
	t->b = batch_new(t->base, t->db, &probe_fn, NULL, 64, false);
	/* A second call once 4 wait; below that, up to 10 ms for more (the first wave is 4). */
	batch_set_linger(t->b, 4, 10);
	batch_set_calls(t->b, 2);
	batch_set_hold(t->b, probe_hold, t);
}

static void
probe_close(struct probe_test *t)
{
	batch_free(t->b);
	db_free(t->db);
	event_base_free(t->base);
	free(t->conninfo);
}

/* Runs the loop until every item's callback came (30 s at most). */
static void
probe_run(struct probe_test *t)
{
	struct timeval limit = { 30, 0 };

	event_base_loopexit(t->base, &limit);
	event_base_dispatch(t->base);
	ck_assert_msg(t->ndone == t->nitems, "%d of %d callbacks", t->ndone, t->nitems);
}

/* One test's batch, and the items the checks name. */
static struct probe_test probe;
static struct probe_item *a1, *a2, *b1;

/* The second wave, added 0.1 s into the first call. */
static void
second_wave_cb(evutil_socket_t fd, short what, void *arg)
{
	void (*wave)(struct probe_test *) = ((struct probe_test *)arg)->wave;

	(void)fd;
	(void)what;
	wave(arg);
}

/*
 * Opens t on a new database; the first call, a1 (key "a") and
 * three others, then wave 0.1 s into it; runs until every callback came.
 */
static void
probe_two_waves(struct probe_test *t, void (*wave)(struct probe_test *))
{
	struct timeval at = { 0, 100000 };

	probe_open(t);
	a1 = probe_add(t, "a1", "a");
	probe_add(t, "k1", "k1");
	probe_add(t, "k2", NULL);
	probe_add(t, "k3", "k3");
	t->wave = wave;
	event_base_once(t->base, -1, EV_TIMEOUT, second_wave_cb, t, &at);
	probe_run(t);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(t->items[i].xid == a1->xid, "%s not in the first call", t->items[i].name);
}

/* The second wave's items of other keys (and one of none). */
static void
wave_others(struct probe_test *t)
{
	probe_add(t, "k5", "k5");
	probe_add(t, "k6", "k6");
	probe_add(t, "k7", NULL);
}

static void
wave_keyed(struct probe_test *t)
{
	a2 = probe_add(t, "a2", "a");
	b1 = probe_add(t, "b1", "b");
	wave_others(t);
}

START_TEST(test_second_call_keeps_keys_apart)
{
	probe_two_waves(&probe, wave_keyed);
	/* The second wave went beside the first call, without a2. */
	ck_assert_msg(b1->xid != a1->xid && b1->t0 < a1->t1, "b1's call did not overlap a1's (%.3f, %.3f)",
	    b1->t0, a1->t1);
	for (int i = 5; i < 9; i++)
		ck_assert_msg(probe.items[i].xid == b1->xid, "%s not in the second call", probe.items[i].name);
	/* a2 waited for a1's call to end. */
	ck_assert_msg(a2->xid != a1->xid && a2->xid != b1->xid, "a2 went in a call with others");
	ck_assert_msg(a2->t0 >= a1->t1, "a2's call started at %.3f, before a1's ended at %.3f", a2->t0, a1->t1);
	ck_assert_int_gt(a2->order, a1->order);
	probe_close(&probe);
}
END_TEST

static void
wave_held(struct probe_test *t)
{
	t->hold = true;
	a2 = probe_add(t, "a2", "a");
	wave_others(t);
}

START_TEST(test_hold_waits_for_the_key_in_flight)
{
	probe_two_waves(&probe, wave_held);
	ck_assert_msg(!a1->held && a1->xid != 0, "a1 was not stored");
	/* The other keys were turned away at once, a2 only after a1's call ended. */
	for (int i = 5; i < 8; i++)
		ck_assert_msg(probe.items[i].held && probe.items[i].order < a1->order, "%s: held %d, callback %d (a1's %d)",
		    probe.items[i].name, probe.items[i].held, probe.items[i].order, a1->order);
	ck_assert_msg(a2->held && a2->order > a1->order, "a2: held %d, callback %d (a1's %d)", a2->held, a2->order,
	    a1->order);
	probe_close(&probe);
}
END_TEST

CHECK_RUN_MAIN("batch", 60, test_second_call_keeps_keys_apart, test_hold_waits_for_the_key_in_flight)
