/*
 * outbox_gate.c - the global send cap and the country allow-list. See
 * outbox_gate.h.
 *
 * DESIGN. The cap is a token bucket of OUTBOUND_RATE_PER_SEC tokens (one
 * second's worth at most) per gateway process. A row over it is given the
 * next free slot of a schedule that advances by 1/rate per held row, so a
 * backlog comes back spread at the rate instead of all at once; a row
 * whose slot is taken by newer traffic is held again, later. Holding
 * undoes the claim's attempt count, so a long backlog never exhausts
 * OUTBOX_MAX_ATTEMPTS. If the hold query fails (database trouble) the rows
 * over the cap are sent (the cap is a guard against floods, not a
 * correctness rule, and an emergency text among them must not wait) and
 * those to a country not allowed are not: they stay leased and are
 * claimed again when the lease ends.
 */
#include "outbox_gate.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "phone.h"
#include "ratelimit.h"
#include "stats.h"
#include "store.h"
#include "xmalloc.h"

/* At most one log line per reason this often, with the count since the last. */
#define OUTBOX_GATE_LOG_EVERY_MS 10000

/* One held row. */
struct outbox_gate_item {
	int64_t id;
	void *job;       /* the outbox's, passed back to done */
	int64_t delay_ms; /* over the cap: back in the queue after this */
	char *refuse;    /* owned; not NULL: fail it for good with this reason */
};

/* The rows of one flush, while the database decides. */
struct outbox_gate_call {
	struct outbox_gate *gate;        /* borrowed: outlives its queries (the outbox drains first) */
	struct outbox_gate_item *items;  /* owned */
	size_t n;
	outbox_gate_done_cb *done;
	void *arg;
};

struct outbox_gate {
	struct db *db;                  /* borrowed */
	const struct config *cfg;       /* borrowed */
	char *countries;                /* owned; OUTBOUND_COUNTRIES as it applies */
	struct ratelimit_rate bucket;
	int64_t interval_ms;            /* 1000 / rate, at least 1 */
	int64_t next_slot_ms;           /* the schedule of held rows (stats_now_ms time) */
	struct outbox_gate_item *held;  /* owned: rows held since the last flush */
	size_t nheld, cap;
	uint64_t held_unlogged, refused_unlogged;
	int64_t held_logged_ms, refused_logged_ms;
};

struct outbox_gate *
outbox_gate_new(struct db *db, const struct config *cfg)
{
	struct outbox_gate *g = xcalloc(1, sizeof *g);
	int64_t now = (int64_t)stats_now_ms();

	g->db = db;
	g->cfg = cfg;
	g->countries = config_outbound_countries(cfg);
	ratelimit_rate_init(&g->bucket, cfg->outbound_rate_per_sec, now);
	g->interval_ms = cfg->outbound_rate_per_sec > 0 ? 1000 / cfg->outbound_rate_per_sec : 0;
	if (g->interval_ms < 1)
		g->interval_ms = 1;
	g->held_logged_ms = g->refused_logged_ms = now - OUTBOX_GATE_LOG_EVERY_MS;
	return g;
}

void
outbox_gate_free(struct outbox_gate *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->nheld; i++)
		free(g->held[i].refuse);
	free(g->held);
	free(g->countries);
	free(g);
}

static void
outbox_gate_hold(struct outbox_gate *g, int64_t id, void *job, int64_t delay_ms, char *refuse)
{
	if (g->nheld == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 16;
		g->held = xreallocarray(g->held, g->cap, sizeof *g->held);
	}
	g->held[g->nheld++] = (struct outbox_gate_item){ id, job, delay_ms, refuse };
}

/* Why a text may not go to this number, or NULL if it may (caller frees). */
static char *
outbox_gate_refusal(const struct outbox_gate *g, const char *to)
{
	char norm[PHONE_NORM_MAX];
	const char *why;

	if (!phone_normalize(to, (int)g->cfg->default_country_code, PHONE_FULL, norm, &why))
		return xasprintf("refused: the destination is not a phone number for SMS (%s)", why);
	if (!phone_country_allowed(norm, g->countries))
		return xasprintf("refused: destination country not in OUTBOUND_COUNTRIES=%s", g->countries);
	return NULL;
}

bool
outbox_gate_check(struct outbox_gate *g, int64_t outbox_id, const char *to, void *job)
{
	int64_t now = (int64_t)stats_now_ms(), wait_ms = 0, slot;
	char *refuse = outbox_gate_refusal(g, to);

	if (refuse != NULL) {
		outbox_gate_hold(g, outbox_id, job, 0, refuse);
		return false;
	}
	if (ratelimit_rate_take(&g->bucket, now, &wait_ms))
		return true;
	slot = now + wait_ms > g->next_slot_ms ? now + wait_ms : g->next_slot_ms;
	g->next_slot_ms = slot + g->interval_ms;
	outbox_gate_hold(g, outbox_id, job, slot - now, NULL);
	return false;
}

/* Counts what the gate did, and says so in the log at most every OUTBOX_GATE_LOG_EVERY_MS. */
static void
outbox_gate_note(struct outbox_gate *g, size_t held, size_t refused, size_t bypassed)
{
	int64_t now = (int64_t)stats_now_ms();

	stats.outbound_rate_held += held;
	stats.outbound_country_refused += refused;
	stats.outbound_failed += refused;  /* failed for good, like a provider's rejection */
	stats.outbound_gate_bypassed += bypassed;
	g->held_unlogged += held;
	g->refused_unlogged += refused;
	if (g->held_unlogged > 0 && now - g->held_logged_ms >= OUTBOX_GATE_LOG_EVERY_MS) {
		log_warn("outbox: OUTBOUND_RATE_PER_SEC=%lld reached: %" PRIu64 " text(s) held back for later "
		    "since the last report (emergency texts and staff alerts are never held)",
		    g->cfg->outbound_rate_per_sec, g->held_unlogged);
		g->held_unlogged = 0;
		g->held_logged_ms = now;
	}
	if (g->refused_unlogged > 0 && now - g->refused_logged_ms >= OUTBOX_GATE_LOG_EVERY_MS) {
		log_error("outbox: %" PRIu64 " text(s) refused for good since the last report: destination not "
		    "a number in OUTBOUND_COUNTRIES=%s (see messages.error)", g->refused_unlogged, g->countries);
		g->refused_unlogged = 0;
		g->refused_logged_ms = now;
	}
}

static void
outbox_gate_call_free(struct outbox_gate_call *call)
{
	for (size_t i = 0; i < call->n; i++)
		free(call->items[i].refuse);
	free(call->items);
	free(call);
}

static void
outbox_gate_flush_done(const PGresult *res, const char *error, void *arg)
{
	struct outbox_gate_call *call = arg;
	size_t held = 0, refused = 0, bypassed = 0;
	int rows = error == NULL ? PQntuples(res) : 0;

	if (error != NULL)
		log_warn("outbox: could not hold %zu text(s) at the send gate; sending those within "
		    "OUTBOUND_COUNTRIES anyway: %s", call->n, error);
	for (size_t i = 0; i < call->n; i++) {
		struct outbox_gate_item *it = &call->items[i];
		bool send = false;

		if (error != NULL) {
			send = it->refuse == NULL;
		} else {
			for (int r = 0; r < rows && !send; r++)
				send = store_col_int64(res, r, 0) == it->id;
			if (send)
				bypassed++;
			else if (it->refuse != NULL)
				refused++;
			else
				held++;
		}
		if (send && it->refuse != NULL)
			log_info("outbox: id=%" PRId64 " is urgent, sent although %s", it->id, it->refuse);
		call->done(it->job, send, call->arg);
	}
	outbox_gate_note(call->gate, held, refused, bypassed);
	outbox_gate_call_free(call);
}

void
outbox_gate_flush(struct outbox_gate *g, outbox_gate_done_cb *done, void *arg)
{
	struct outbox_gate_call *call;
	json_t *items;
	char *json;

	if (g->nheld == 0)
		return;
	items = json_array();
	for (size_t i = 0; i < g->nheld; i++) {
		const struct outbox_gate_item *it = &g->held[i];

		if (it->refuse != NULL)
			json_array_append_new(items, json_pack("{s:I, s:s}", "id", (json_int_t)it->id, "refuse",
			    it->refuse));
		else
			json_array_append_new(items, json_pack("{s:I, s:I}", "id", (json_int_t)it->id, "delay_ms",
			    (json_int_t)it->delay_ms));
	}
	json = json_dumps(items, JSON_COMPACT);
	json_decref(items);
	call = xcalloc(1, sizeof *call);
	call->gate = g;
	call->items = g->held;  /* taken: the gate starts a new list */
	call->n = g->nheld;
	call->done = done;
	call->arg = arg;
	g->held = NULL;
	g->nheld = g->cap = 0;
	store_outbox_hold(g->db, json, outbox_gate_flush_done, call);
	free(json);
}
