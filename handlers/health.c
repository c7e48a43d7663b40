/*
 * health.c - liveness and readiness probes for load balancers and systemd,
 * and the Prometheus metrics.
 *
 * /healthz answers while the process runs its loop; /readyz only while a
 * database connection is open, so a balancer stops sending webhooks to a
 * gateway that could not store them. /metrics is this process's counters
 * and latency histogram, its local gauges (spool, sends in flight), and
 * the database-wide gauges (outbox depth and age, open escalations and the
 * oldest unacknowledged one, staff on call now) read with one query per scrape, then the
 * escalations opened by reason and the time-to-acknowledge histogram
 * (carenav_metrics_escalations, from the table). When the
 * database is down those are left out rather than reported as zero, and
 * carenav_database_up says why.
 */
#include "http_reply.h"

#include <event2/http.h>
#include <stdlib.h>

#include "db.h"
#include "intake.h"
#include "outbox.h"
#include "stats.h"
#include "store.h"
#include "xmalloc.h"

/* One scrape waiting for the database gauges. */
struct health_scrape {
	struct evhttp_request *req;
	struct http_ctx *ctx;
	char *text;  /* owned: what is ready so far */
};

/* Everything that needs no database: counters, histogram, local gauges. */
static char *
health_local(struct http_ctx *ctx)
{
	char *counters = stats_format();
	char *text = xasprintf("%s"
	    "# HELP carenav_database_up 1 while a database connection is open\n"
	    "# TYPE carenav_database_up gauge\ncarenav_database_up %d\n"
	    "# HELP carenav_spool_messages Inbound SMS in the local spool, waiting for the database\n"
	    "# TYPE carenav_spool_messages gauge\ncarenav_spool_messages %zu\n"
	    "# HELP carenav_outbox_in_flight Outbound SMS being sent by this process\n"
	    "# TYPE carenav_outbox_in_flight gauge\ncarenav_outbox_in_flight %zu\n"
	    "# HELP carenav_database_queries_pending Queries queued or running in this process's pool\n"
	    "# TYPE carenav_database_queries_pending gauge\ncarenav_database_queries_pending %zu\n",
	    counters, db_is_up(ctx->db) ? 1 : 0, intake_spooled(ctx->intake),
	    outbox_in_flight(ctx->outbox), db_pending(ctx->db));

	free(counters);
	return text;
}

static void
health_gauge(char **out, const char *name, const char *help, const char *value)
{
	char *next = xasprintf("%s# HELP %s %s\n# TYPE %s gauge\n%s %s\n", *out, name, help, name, name,
	    value);

	free(*out);
	*out = next;
}

/* The escalation metrics came (or not): append them and answer. */
static void
health_escalations_done(const PGresult *res, const char *error, void *arg)
{
	struct health_scrape *scrape = arg;

	http_release(scrape->ctx);
	if (error == NULL && PQntuples(res) == 1) {
		char *next = xasprintf("%s%s", scrape->text, PQgetvalue(res, 0, 0));

		free(scrape->text);
		scrape->text = next;
	}
	http_reply_body(scrape->req, 200, "text/plain; version=0.0.4", scrape->text);
	free(scrape->text);
	free(scrape);
}

static void
health_metrics_done(const PGresult *res, const char *error, void *arg)
{
	struct health_scrape *scrape = arg;
	char *text = health_local(scrape->ctx);

	if (error == NULL && PQntuples(res) == 1) {
		health_gauge(&text, "carenav_outbox_pending", "Outbound SMS waiting to be sent (all gateways)",
		    PQgetvalue(res, 0, 0));
		health_gauge(&text, "carenav_outbox_oldest_pending_seconds",
		    "Age of the oldest outbound SMS waiting to be sent (0 = none)", PQgetvalue(res, 0, 1));
		health_gauge(&text, "carenav_escalations_open", "Escalations not yet acknowledged by staff",
		    PQgetvalue(res, 0, 2));
		health_gauge(&text, "carenav_escalations_oldest_unacknowledged_seconds",
		    "Age of the oldest unacknowledged escalation (0 = none)", PQgetvalue(res, 0, 3));
		health_gauge(&text, "carenav_escalations_acknowledged",
		    "Escalations acknowledged but not yet resolved", PQgetvalue(res, 0, 4));
		health_gauge(&text, "carenav_inbound_unanswered",
		    "Stored inbound SMS whose dialogue step has not committed yet", PQgetvalue(res, 0, 5));
		health_gauge(&text, "carenav_staff_unreachable",
		    "Active staff whose pages the provider refused for good (carenav staff list)",
		    PQgetvalue(res, 0, 6));
		health_gauge(&text, "carenav_oncall_staff",
		    "Active staff with an on-call shift (any tier) covering now", PQgetvalue(res, 0, 7));
	}
	scrape->text = text;
	if (error != NULL) {
		health_escalations_done(NULL, error, scrape);
		return;
	}
	/* Still held: released when the second answer comes. */
	store_metrics_escalations(scrape->ctx->db, health_escalations_done, scrape);
}

static void
health_healthz(struct evhttp_request *req, struct http_ctx *ctx)
{
	(void)ctx;
	http_reply_text(req, 200, "ok");
}

static void
health_readyz(struct evhttp_request *req, struct http_ctx *ctx)
{
	if (db_is_up(ctx->db))
		http_reply_text(req, 200, "ready");
	else
		http_reply_text(req, 503, "database unavailable");
}

static void
health_metrics(struct evhttp_request *req, struct http_ctx *ctx)
{
	struct health_scrape *scrape;
	char *text;

	if (!db_is_up(ctx->db)) {
		text = health_local(ctx);
		http_reply_body(req, 200, "text/plain; version=0.0.4", text);
		free(text);
		return;
	}
	scrape = xcalloc(1, sizeof *scrape);
	scrape->req = req;
	scrape->ctx = ctx;
	http_hold(ctx);
	store_metrics_gauges(ctx->db, health_metrics_done, scrape);
}

const struct http_route health_metrics_route = { "GET", "/metrics", health_metrics };
const struct http_route health_healthz_route = { "GET", "/healthz", health_healthz };
const struct http_route health_readyz_route = { "GET", "/readyz", health_readyz };
