/*
 * api_admin.c - the overview and exports of the operator API.
 *
 *   GET /api/overview?days=14                    per day: texts, conversations, red flags,
 *                                                escalations, call-backs, time to acknowledge
 *                                                (median, p90); open and in-progress counts now
 *   GET /api/export?kind=conversations|messages|escalations&from=YYYY-MM-DD&to=YYYY-MM-DD[&full=1]
 *                                                CSV (admin); numbers masked unless full=1
 *
 * Both are single SQL functions (sql/022_operators.sql). An export is
 * audited by api_route_run before it runs, and full=1 is audited as a reveal.
 * The export's day range is inclusive and in UTC; at most EXPORT_MAX_ROWS rows.
 */
#include "http_reply.h"

#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "cidr.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "store_api.h"
#include "xmalloc.h"

#define OVERVIEW_DEFAULT_DAYS 14
#define OVERVIEW_MAX_DAYS 90
#define EXPORT_DEFAULT_DAYS 30
#define EXPORT_MAX_ROWS 100000

static void
overview_get(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	long long days;

	if (!api_query_int(req, "days", OVERVIEW_DEFAULT_DAYS, 1, OVERVIEW_MAX_DAYS, &days))
		return;
	store_api_overview(ctx->db, days, api_doc_done, api_call_doc(req, ctx, op, "overview", NULL));
}

/* A calendar date "YYYY-MM-DD" that exists; def_days_ago (from today, UTC) when absent. */
static bool
export_date(const char *s, int def_days_ago, char out[11])
{
	struct tm tm = { 0 }, check;
	time_t t;
	char *end;

	if (s == NULL || *s == '\0') {
		t = time(NULL) - (time_t)def_days_ago * 86400;
		gmtime_r(&t, &tm);
		strftime(out, 11, "%Y-%m-%d", &tm);
		return true;
	}
	if (strlen(s) != 10 || (end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != '\0')
		return false;
	check = tm;
	if (timegm(&check) == (time_t)-1 || check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon)
		return false;
	memcpy(out, s, 10);
	out[10] = '\0';
	return true;
}

static void
export_done(const PGresult *res, const char *error, void *arg)
{
	struct api_call *call = arg;
	struct evkeyvalq *h = evhttp_request_get_output_headers(call->req);
	char *disposition;

	if (error != NULL) {
		api_db_error(call->req, "export", error);
	} else {
		disposition = xasprintf("attachment; filename=\"carenav-%s.csv\"", call->text);
		evhttp_add_header(h, "Content-Disposition", disposition);
		evhttp_add_header(h, "Cache-Control", "no-store");
		evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
		http_reply_body(call->req, 200, "text/csv; charset=utf-8", store_col_text(res, 0, 0));
		free(disposition);
	}
	api_call_end(call);
}

static void
export_get(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	char *kind, *from_s, *to_s, *full, from[11], to[11];
	struct api_call *call;

	kind = api_query_get(req, "kind");
	from_s = api_query_get(req, "from");
	to_s = api_query_get(req, "to");
	full = api_query_get(req, "full");
	if (kind == NULL || (strcmp(kind, "conversations") != 0 && strcmp(kind, "messages") != 0 &&
	    strcmp(kind, "escalations") != 0)) {
		api_error(req, 400, "invalid_parameter", "kind must be conversations, messages or escalations");
	} else if (!export_date(from_s, EXPORT_DEFAULT_DAYS, from) || !export_date(to_s, 0, to)) {
		api_error(req, 400, "invalid_parameter", "from and to must be dates (YYYY-MM-DD, UTC, inclusive)");
	} else if (strcmp(from, to) > 0) {
		api_error(req, 400, "invalid_parameter", "from must not be after to");
	} else if (full != NULL && strcmp(full, "0") != 0 && strcmp(full, "1") != 0) {
		api_error(req, 400, "invalid_parameter", "full must be 0 or 1");
	} else {
		call = api_call_new(req, ctx, op);
		call->text = xstrdup(kind);
		store_api_export(ctx->db, kind, from, to, full != NULL && strcmp(full, "1") == 0, EXPORT_MAX_ROWS,
		    export_done, call);
	}
	free(kind);
	free(from_s);
	free(to_s);
	free(full);
}

static void
operators_get(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	store_api_operators(ctx->db, api_doc_done, api_call_doc(req, ctx, op, "operators read", NULL));
}

static void
operator_disable_done(const PGresult *res, const char *error, void *arg)
{
	struct api_call *call = arg;
	const char *result = api_action_result(call, res, error, "operator disable", "no such operator");

	if (result != NULL) {
		if (strcmp(result, "ok") == 0)
			log_info("api: operator=%s disabled operator id=%lld", call->operator_name, call->id);
		api_reply_json(call->req, 200, json_pack("{s:I, s:s, s:b}", "id", (json_int_t)call->id, "state",
		    "disabled", "changed", strcmp(result, "ok") == 0));
	}
	api_call_end(call);
}

static void
operator_disable(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	char addr[CIDR_ADDR_MAX];
	struct api_call *call;

	call = api_call_new(req, ctx, op);
	http_client_address(req, ctx, addr, sizeof addr);
	store_api_operator_disable(ctx->db, call->id, op, addr, operator_disable_done, call);
}

const struct http_route api_admin_routes[] = {
	{ "GET", "/api/operators", .need = API_ADMIN, .operator_handler = operators_get },
	{ "POST", "/api/operators/{id}/disable", .need = API_ADMIN, .operator_handler = operator_disable },
	{ "GET", "/api/overview", .need = API_VIEWER, .operator_handler = overview_get },
	{ "GET", "/api/export", .need = API_ADMIN, .operator_handler = export_get },
	{ .method = NULL },
};
