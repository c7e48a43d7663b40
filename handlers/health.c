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
#include "log.h"
#include "outbox.h"
#include "stats.h"
#include "store.h"
#include "xmalloc.h"

/* The database-wide gauges: a column of store_gauges_sql each, with its metric's name and help. */
static const struct health_db_gauge {
	enum store_gauge_col col;
	const char *name;
	const char *help;
} health_db_gauges[] = {
	{ GAUGE_OUTBOX_PENDING, "carenav_outbox_pending", "Outbound SMS waiting to be sent (all gateways)" },
	{ GAUGE_OUTBOX_OLDEST_S, "carenav_outbox_oldest_pending_seconds",
	  "Age of the oldest outbound SMS waiting to be sent (0 = none)" },
	{ GAUGE_ESCALATIONS_OPEN, "carenav_escalations_open", "Escalations not yet acknowledged by staff" },
	{ GAUGE_ESCALATIONS_OLDEST_S, "carenav_escalations_oldest_unacknowledged_seconds",
	  "Age of the oldest unacknowledged escalation (0 = none)" },
	{ GAUGE_ESCALATIONS_ACKNOWLEDGED, "carenav_escalations_acknowledged",
	  "Escalations acknowledged but not yet resolved" },
	{ GAUGE_INBOUND_UNANSWERED, "carenav_inbound_unanswered",
	  "Stored inbound SMS whose dialogue step has not committed yet" },
	{ GAUGE_STAFF_UNREACHABLE, "carenav_staff_unreachable",
	  "Active staff whose pages the provider refused for good (carenav staff list)" },
	{ GAUGE_ONCALL_STAFF, "carenav_oncall_staff", "Active staff with an on-call shift (any tier) covering now" },
};

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
	const char *missing;
	int col[GAUGE_NCOLS];

	if (error == NULL && PQntuples(res) == 1) {
		if (!store_col_lookup(res, store_gauge_columns, col, &missing)) {
			log_warn("metrics: the gauges query has no column %s; database gauges left out", missing);
		} else {
			for (size_t i = 0; i < sizeof health_db_gauges / sizeof health_db_gauges[0]; i++)
				health_gauge(&text, health_db_gauges[i].name, health_db_gauges[i].help,
				    PQgetvalue(res, 0, col[health_db_gauges[i].col]));
		}
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

const struct http_route health_routes[] = {
	{ "GET", "/metrics", .handler = health_metrics },
	{ "GET", "/healthz", .handler = health_healthz },
	{ "GET", "/readyz", .handler = health_readyz },
	{ .method = NULL },
};
