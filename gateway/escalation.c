/*
 * escalation.c - alert rounds for open escalations. See escalation.h.
 *
 * DESIGN. One sweep at a time: (1) the due escalations and the newest flow
 * version (for the alert wording), (2) the shifts around now, (3) the flow,
 * then for each due escalation the next round's targets from oncall.c and
 * one carenav_escalation_advance call, which commits the alert SMS (outbox
 * priority 10, ahead of patient replies, exempt from opt-outs) and moves
 * next_due_at on by ESCALATION_ACK_TIMEOUT_S — only if the step is still
 * the one we saw, so two gateways never send one round twice. A round with
 * nobody on call alerts ESCALATION_FALLBACK_NUMBER and is logged at error
 * level. Staff webhooks are posted after the commit; they are best effort
 * and each result is recorded in the audit trail.
 *
 * Rounds advance on delivery (sql/017): a round is not due while one of
 * its pages is still queued, the provider accepting a page restarts the
 * clock, and a page refused for good marks the staff member unreachable
 * and makes the next round due at once; oncall_targets() skips unreachable
 * staff. The fallback number is registered as a staff member (role
 * 'fallback') when we start, so it can ACK by SMS and never gets the
 * patient dialogue; its pages carry its staff id like anyone's.
 */
#include "escalation.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "flow.h"
#include "flows.h"
#include "http_client.h"
#include "log.h"
#include "oncall.h"
#include "outbox.h"
#include "stats.h"
#include "store.h"
#include "sweeper.h"
#include "timeutil.h"
#include "xmalloc.h"

#define ESCALATION_BATCH 50
#define ESCALATION_MAX_TARGETS 64
/*
 * Surges (sql/017): a nurse paged less than this ago about another
 * escalation gets the next ones together after it (a quarter of the ACK
 * timeout, at most 15 s), and rounds due within this plus two sweeps of a
 * due one are paged with it, so the escalations of a surge stay aligned.
 */
#define ESCALATION_SURGE_DIVISOR 4
#define ESCALATION_SURGE_MAX_MS 15000

struct escalation {
	struct db *db;                /* borrowed */
	struct flows *flows;          /* borrowed */
	struct http_client *http;     /* borrowed */
	struct outbox *outbox;        /* borrowed */
	const struct config *cfg;     /* borrowed */
	struct sweeper sweeper;       /* one round at a time */
	size_t webhooks;              /* staff webhook posts in flight */
	bool fallback_asked;          /* carenav_fallback_staff in flight or done */
	bool fallback_inflight;       /* carenav_fallback_staff in flight */
	int64_t fallback_id;          /* ESCALATION_FALLBACK_NUMBER's staff id (0: none or not yet known) */
};

/* A staff member on a shift near now, as carenav_oncall_window returned them. */
struct escalation_staff {
	int64_t id;
	char *phone, *language, *webhook;  /* owned */
};

struct escalation_due {
	int64_t id;
	char code[16];
	int step;  /* rounds sent so far */
};

/* One sweep: what was due, who is on call, and how many commits are outstanding. */
struct escalation_round {
	struct escalation *esc;
	struct escalation_due *due;   /* owned */
	size_t ndue;
	int64_t flow_version_id;
	struct oncall_shift *shifts;  /* owned */
	struct escalation_staff *staff;  /* owned, parallel to shifts */
	size_t nshifts;
};

struct escalation_webhook {
	struct escalation *esc;
	int64_t escalation_id;
	int64_t staff_id;
};

static int64_t
escalation_surge_ms(const struct config *cfg)
{
	int64_t ms = cfg->escalation_ack_timeout_s * 1000 / ESCALATION_SURGE_DIVISOR;

	return ms < ESCALATION_SURGE_MAX_MS ? ms : ESCALATION_SURGE_MAX_MS;
}

static void
escalation_round_end(struct escalation_round *r)
{
	struct escalation *esc = r->esc;

	for (size_t i = 0; i < r->nshifts; i++) {
		free(r->staff[i].phone);
		free(r->staff[i].language);
		free(r->staff[i].webhook);
	}
	free(r->staff);
	free(r->shifts);
	free(r->due);
	free(r);
	sweeper_done(&esc->sweeper);
}

static const struct escalation_staff *
escalation_staff_find(const struct escalation_round *r, int64_t id)
{
	for (size_t i = 0; i < r->nshifts; i++) {
		if (r->staff[i].id == id)
			return &r->staff[i];
	}
	return NULL;
}

static void
escalation_event_done(const PGresult *res, const char *error, void *arg)
{
	(void)res;
	(void)arg;
	if (error != NULL)
		log_warn("escalation: could not record an audit event: %s", error);
}

static void
escalation_webhook_done(const struct http_response *resp, void *arg)
{
	struct escalation_webhook *w = arg;
	bool ok = resp->status >= 200 && resp->status < 300;
	char *detail = resp->status ? xasprintf("HTTP %ld", resp->status) :
	    xasprintf("no response: %s", resp->error);

	w->esc->webhooks--;
	if (!ok) {
		stats.webhook_alert_failed++;
		log_warn("escalation: id=%" PRId64 " staff webhook failed: %s", w->escalation_id, detail);
	}
	if (!w->esc->sweeper.stopped || ok)
		store_escalation_event(w->esc->db, w->escalation_id, ok ? "webhook_sent" : "webhook_failed",
		    w->staff_id, detail, escalation_event_done, NULL);
	free(detail);
	free(w);
}

/* Posts {"text": body} to each alerted staff member's webhook, if they have one. */
static void
escalation_post_webhooks(struct escalation_round *r, json_t *alerts)
{
	size_t i;
	json_t *a;

	json_array_foreach(alerts, i, a) {
		const struct escalation_staff *s = escalation_staff_find(r,
		    json_integer_value(json_object_get(a, "staff_id")));
		struct escalation_webhook *w;
		struct http_request req = { 0 };
		json_t *payload;
		char *body;

		if (s == NULL || s->webhook[0] == '\0')
			continue;
		payload = json_pack("{s:O}", "text", json_object_get(a, "body"));
		body = json_dumps(payload, JSON_COMPACT);
		json_decref(payload);
		w = xcalloc(1, sizeof *w);
		w->esc = r->esc;
		w->escalation_id = json_integer_value(json_object_get(a, "escalation_id"));
		w->staff_id = s->id;
		req.url = s->webhook;
		req.content_type = "application/json";
		req.body = body;
		req.body_len = strlen(body);
		req.timeout_ms = (long)r->esc->cfg->provider_timeout_ms;
		r->esc->webhooks++;
		http_client_post(r->esc->http, &req, escalation_webhook_done, w);
		free(body);
	}
}

static void
escalation_advance_done(const PGresult *res, const char *error, void *arg)
{
	struct escalation_round *r = arg;
	json_t *doc = NULL;

	if (error != NULL) {
		log_warn("escalation: %zu round(s) not committed, retrying next sweep: %s", r->ndue, error);
	} else {
		doc = json_loads(store_col_text(res, 0, 0), 0, NULL);
		if (strcmp(json_string_value(json_object_get(doc, "result")) ?
		    json_string_value(json_object_get(doc, "result")) : "", "ok") == 0) {
			stats.escalation_rounds += json_array_size(json_object_get(doc, "advanced"));
			outbox_kick(r->esc->outbox);
			escalation_post_webhooks(r, json_object_get(doc, "alerts"));
		}
		json_decref(doc);
	}
	escalation_round_end(r);
}

/* The round's alert list for one escalation. */
static json_t *
escalation_alerts_json(struct escalation_round *r, const struct escalation_due *d, int64_t now_ms)
{
	const struct config *cfg = r->esc->cfg;
	int64_t targets[ESCALATION_MAX_TARGETS];
	size_t n = oncall_targets(r->shifts, r->nshifts, now_ms, d->step + 1, targets,
	    ESCALATION_MAX_TARGETS);
	json_t *alerts = json_array();

	for (size_t i = 0; i < n; i++) {
		const struct escalation_staff *s = escalation_staff_find(r, targets[i]);

		json_array_append_new(alerts, json_pack("{s:I, s:s, s:s, s:b}", "staff_id", (json_int_t)s->id,
		    "phone", s->phone, "language", s->language, "fallback", 0));
	}
	if (n == 0) {
		stats.escalation_no_oncall++;
		log_error("escalation: %s round %d: NOBODY IS ON CALL%s", d->code, d->step + 1,
		    cfg->escalation_fallback_number[0] ? "; alerting the fallback number" :
		    " and ESCALATION_FALLBACK_NUMBER is not set");
		if (cfg->escalation_fallback_number[0] != '\0')
			json_array_append_new(alerts, json_pack("{s:o, s:s, s:s, s:b}", "staff_id",
			    r->esc->fallback_id ? json_integer(r->esc->fallback_id) : json_null(), "phone",
			    cfg->escalation_fallback_number, "language", "en", "fallback", 1));
	}
	return alerts;
}

static void
escalation_flow_ready(const struct flow *flow, const char *error, void *arg)
{
	struct escalation_round *r = arg;
	struct escalation *esc = r->esc;
	int64_t now_ms = timeutil_now_ms();
	char *template, *items_json;
	json_t *items;

	if (flow == NULL) {
		log_error("escalation: no flow for alert wording: %s", error);
		escalation_round_end(r);
		return;
	}
	template = flow_message_json(flow, FLOW_MSG_ALERT_STAFF);
	items = json_array();
	for (size_t i = 0; i < r->ndue; i++)
		json_array_append_new(items, json_pack("{s:I, s:i, s:o}", "id", (json_int_t)r->due[i].id,
		    "step", r->due[i].step, "alerts", escalation_alerts_json(r, &r->due[i], now_ms)));
	items_json = json_dumps(items, JSON_COMPACT);
	json_decref(items);
	/* One transaction for the sweep: a nurse due pages for several escalations gets one SMS. */
	store_escalation_advance_group(esc->db, items_json, template, esc->cfg->escalation_ack_timeout_s * 1000,
	    esc->cfg->sms_provider, escalation_surge_ms(esc->cfg), escalation_advance_done, r);
	free(items_json);
	free(template);
}

/*
 * A round step's rows: false, the failure logged and the round ended, on a database error or a result
 * without one of names (a schema this gateway does not know); else cols[] holds the columns' positions.
 */
static bool
escalation_round_columns(struct escalation_round *r, const PGresult *res, const char *error, const char *what,
    const char *const *names, int *cols)
{
	const char *missing;

	if (error != NULL)
		log_debug("escalation: %s failed: %s", what, error);
	else if (!store_col_lookup(res, names, cols, &missing))
		log_error("escalation: the %s has no column %s (a schema this gateway does not know)", what, missing);
	else
		return true;
	escalation_round_end(r);
	return false;
}

static void
escalation_window_done(const PGresult *res, const char *error, void *arg)
{
	struct escalation_round *r = arg;
	int n, col[SHIFT_NCOLS];

	if (!escalation_round_columns(r, res, error, "on-call lookup", store_shift_columns, col))
		return;
	n = PQntuples(res);
	r->shifts = xcalloc((size_t)n + 1, sizeof *r->shifts);
	r->staff = xcalloc((size_t)n + 1, sizeof *r->staff);
	for (int i = 0; i < n; i++) {
		int tier = oncall_tier_parse(store_col_text(res, i, col[SHIFT_TIER]));

		r->shifts[i].staff_id = store_col_int64(res, i, col[SHIFT_STAFF_ID]);
		r->shifts[i].tier = tier < 0 ? ONCALL_BACKUP : (enum oncall_tier)tier;
		r->shifts[i].start_ms = store_col_int64(res, i, col[SHIFT_START_MS]);
		r->shifts[i].end_ms = store_col_int64(res, i, col[SHIFT_END_MS]);
		r->shifts[i].unreachable = store_col_bool(res, i, col[SHIFT_UNREACHABLE]);
		r->staff[i].id = r->shifts[i].staff_id;
		r->staff[i].phone = xstrdup(store_col_text(res, i, col[SHIFT_PHONE]));
		r->staff[i].language = xstrdup(store_col_text(res, i, col[SHIFT_LANGUAGE]));
		r->staff[i].webhook = xstrdup(store_col_text(res, i, col[SHIFT_WEBHOOK]));
	}
	r->nshifts = (size_t)n;
	if (r->flow_version_id == 0) {
		log_error("escalation: no version of flow %s is loaded", r->esc->cfg->default_flow);
		escalation_round_end(r);
		return;
	}
	flows_get(r->esc->flows, r->flow_version_id, escalation_flow_ready, r);
}

static void
escalation_due_done(const PGresult *res, const char *error, void *arg)
{
	struct escalation_round *r = arg;
	int n, col[DUE_NCOLS];

	if (!escalation_round_columns(r, res, error, "due lookup", store_due_columns, col))
		return;
	if ((n = PQntuples(res)) == 0) {
		escalation_round_end(r);
		return;
	}
	r->due = xcalloc((size_t)n, sizeof *r->due);
	for (int i = 0; i < n; i++) {
		r->due[i].id = store_col_int64(res, i, col[DUE_ID]);
		snprintf(r->due[i].code, sizeof r->due[i].code, "%s", store_col_text(res, i, col[DUE_CODE]));
		r->due[i].step = (int)store_col_int64(res, i, col[DUE_STEP]);
	}
	r->ndue = (size_t)n;
	r->flow_version_id = store_col_int64(res, 0, col[DUE_LATEST_FLOW_VERSION_ID]);
	store_oncall_window(r->esc->db, escalation_window_done, r);
}

static void
escalation_fallback_done(const PGresult *res, const char *error, void *arg)
{
	struct escalation *esc = arg;

	esc->fallback_inflight = false;
	if (error != NULL) {
		esc->fallback_asked = false;  /* the next sweep asks again */
		log_debug("escalation: registering the fallback number failed: %s", error);
		return;
	}
	esc->fallback_id = PQgetisnull(res, 0, 0) ? 0 : store_col_int64(res, 0, 0);
}

/* The sweeper's run: one round, from the due lookup to escalation_round_end. */
static bool
escalation_sweep(void *arg)
{
	struct escalation *esc = arg;
	struct escalation_round *r = xcalloc(1, sizeof *r);

	if (!esc->fallback_asked) {
		esc->fallback_asked = esc->fallback_inflight = true;
		store_fallback_staff(esc->db, esc->cfg->escalation_fallback_number, escalation_fallback_done, esc);
	}
	r->esc = esc;
	store_escalation_due(esc->db, ESCALATION_BATCH, esc->cfg->default_flow,
	    escalation_surge_ms(esc->cfg) + 2 * esc->cfg->sweep_interval_ms, escalation_due_done, r);
	return true;
}

/* A page (or an emergency text) was refused for good: the next round may be due now. */
static void
escalation_refused_cb(void *arg)
{
	escalation_kick(arg);
}

struct escalation *
escalation_new(struct event_base *base, struct db *db, struct flows *flows, struct http_client *http,
    struct outbox *outbox, const struct config *cfg)
{
	struct escalation *esc = xcalloc(1, sizeof *esc);

	esc->db = db;
	esc->flows = flows;
	esc->http = http;
	esc->outbox = outbox;
	esc->cfg = cfg;
	sweeper_init(&esc->sweeper, base, cfg->sweep_interval_ms, escalation_sweep, esc);
	outbox_set_refused_cb(outbox, escalation_refused_cb, esc);
	escalation_kick(esc);
	return esc;
}

void
escalation_free(struct escalation *esc)
{
	if (esc == NULL)
		return;
	sweeper_stop(&esc->sweeper);
	outbox_set_refused_cb(esc->outbox, NULL, NULL);
	free(esc);
}

void
escalation_kick(struct escalation *esc)
{
	sweeper_kick(&esc->sweeper);
}

void
escalation_stop(struct escalation *esc)
{
	sweeper_stop(&esc->sweeper);
}

bool
escalation_busy(const struct escalation *esc)
{
	return esc->sweeper.busy || esc->webhooks > 0 || esc->fallback_inflight;
}
