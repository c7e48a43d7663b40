/*
 * api_callbacks.c - call-back requests in the operator API.
 *
 *   GET  /api/callbacks?status=open|done|all&limit=   open ones first, oldest first
 *   POST /api/callbacks/{id}/done                      the clinic called the patient back
 */
#include "http_reply.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "store.h"
#include "store_api.h"
#include "xmalloc.h"

#define CB_DEFAULT_LIMIT 100
#define CB_MAX_LIMIT 500

static void
cb_list(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	char *status;
	long long limit;

	if (!api_query_int(req, "limit", CB_DEFAULT_LIMIT, 1, CB_MAX_LIMIT, &limit))
		return;
	status = api_query_get(req, "status");
	if (status == NULL || *status == '\0')
		store_api_callbacks(ctx->db, "open", (int)limit, api_doc_done, api_call_doc(req, ctx, op,
		    "callback read", NULL));
	else if (strcmp(status, "open") == 0 || strcmp(status, "done") == 0 || strcmp(status, "all") == 0)
		store_api_callbacks(ctx->db, strcmp(status, "all") == 0 ? "" : status, (int)limit,
		    api_doc_done, api_call_doc(req, ctx, op, "callback read", NULL));
	else
		api_error(req, 400, "invalid_parameter", "status must be open, done or all");
	free(status);
}

static void
cb_done_done(const PGresult *res, const char *error, void *arg)
{
	struct api_call *call = arg;
	const char *result = api_action_result(call, res, error, "callback done", "no such call-back request");

	if (result == NULL) {
		/* answered */
	} else if (strcmp(result, "ok") == 0) {
		char *by = xasprintf("operator:%s", call->operator_name);

		log_info("api: operator=%s marked callback=%lld done", call->operator_name, call->id);
		api_reply_json(call->req, 200, json_pack("{s:I, s:s, s:s}", "id", (json_int_t)call->id,
		    "status", "done", "by", by));
		free(by);
	} else {
		api_error(call->req, 409, "conflict", "the call-back request is already done");
	}
	api_call_end(call);
}

static void
cb_done(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	struct api_call *call;

	call = api_call_new(req, ctx, op);
	store_api_callback_done(ctx->db, call->id, op, cb_done_done, call);
}

const struct http_route api_callbacks_routes[] = {
	{ "GET", "/api/callbacks", .need = API_VIEWER, .operator_handler = cb_list },
	{ "POST", "/api/callbacks/{id}/done", .need = API_RESPONDER, .operator_handler = cb_done },
	{ .method = NULL },
};
