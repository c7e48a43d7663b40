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
#include "stats.h"

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
	char *text = stats_format();

	(void)ctx;
	http_reply_body(req, 200, "text/plain; version=0.0.4", text);
	free(text);
}

const struct http_route health_metrics_route = { "GET", "/metrics", health_metrics };
const struct http_route health_healthz_route = { "GET", "/healthz", health_healthz };
const struct http_route health_readyz_route = { "GET", "/readyz", health_readyz };
