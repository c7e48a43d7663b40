/*
 * health.c - liveness and readiness probes for load balancers and systemd.
 *
 * /healthz answers while the process runs its loop; /readyz only while a
 * database connection is open, so a balancer stops sending webhooks to a
 * gateway that could not store them. /metrics is the counters in
 * Prometheus text format.
 */
#include "http_server.h"

#include <stdlib.h>

#include "db.h"
#include "intake.h"
#include "outbox.h"
#include "stats.h"
#include "xmalloc.h"

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
	char *counters = stats_format();
	char *text = xasprintf("%s"
	    "# HELP carenav_database_up 1 while a database connection is open\n"
	    "# TYPE carenav_database_up gauge\ncarenav_database_up %d\n"
	    "# HELP carenav_spool_messages Inbound SMS in the local spool, waiting for the database\n"
	    "# TYPE carenav_spool_messages gauge\ncarenav_spool_messages %zu\n"
	    "# HELP carenav_outbox_in_flight Outbound SMS being sent by this process\n"
	    "# TYPE carenav_outbox_in_flight gauge\ncarenav_outbox_in_flight %zu\n",
	    counters, db_is_up(ctx->db) ? 1 : 0, intake_spooled(ctx->intake),
	    outbox_in_flight(ctx->outbox));

	http_reply_body(req, 200, "text/plain; version=0.0.4", text);
	free(counters);
	free(text);
}

const struct http_route health_metrics_route = { "GET", "/metrics", health_metrics };
const struct http_route health_healthz_route = { "GET", "/healthz", health_healthz };
const struct http_route health_readyz_route = { "GET", "/readyz", health_readyz };
