/*
 * api_language.c - an operator chooses the console's language.
 *
 *   POST /api/me/language  {"language": "en"|"es"}   {"operator", "language", "changed"}
 *
 * For the operator who sends it (any role; a session needs its CSRF token,
 * as for every change). The change is audited (operator_language) by
 * carenav_operator_language_set (sql/functions/operators.sql), which
 * also says which languages exist: 422 for any other. OPERATOR_TOKENS
 * names have no account to keep a language in: 409.
 */
#include "http_reply.h"

#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cidr.h"
#include "db.h"
#include "log.h"
#include "store.h"
#include "store_api.h"
#include "xmalloc.h"

#define LANGUAGE_MAX 16

static void
language_done(const PGresult *res, const char *error, void *arg)
{
	struct api_call *call = arg;
	const char *result = api_action_result(call, res, error, "language change", NULL);

	if (result == NULL) {
		/* answered */
	} else if (strcmp(result, "unknown_language") == 0) {
		api_error(call->req, 422, "invalid_body", "language must be en or es");
	} else if (strcmp(result, "not_found") == 0) {
		api_error(call->req, 409, "no_account", "an OPERATOR_TOKENS name has no account to keep a "
		    "language in; the console stays in English");
	} else {
		if (strcmp(result, "ok") == 0)
			log_info("api: operator=%s console language %s", call->operator_name, call->text);
		api_reply_json(call->req, 200, json_pack("{s:s, s:s, s:b}", "operator", call->operator_name,
		    "language", call->text, "changed", strcmp(result, "ok") == 0));
	}
	api_call_end(call);
}

static void
language_post(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	const char *lang;
	char addr[CIDR_ADDR_MAX];
	struct api_call *call;
	json_t *body, *jlang;

	if ((body = api_body_json(req)) == NULL)
		return;
	jlang = json_object_get(body, "language");
	lang = json_string_value(jlang);
	if (lang == NULL || *lang == '\0' || strlen(lang) > LANGUAGE_MAX || json_string_length(jlang) != strlen(lang)) {
		api_error(req, 422, "invalid_body", "language must be en or es");
	} else {
		call = api_call_new(req, ctx, op);
		call->text = xstrdup(lang);
		http_client_address(req, ctx, addr, sizeof addr);
		store_api_operator_language(ctx->db, call->operator_name, call->text, addr, language_done, call);
	}
	json_decref(body);
}

const struct http_route api_language_routes[] = {
	{ "POST", "/api/me/language", .need = API_VIEWER, .operator_handler = language_post },
	{ .method = NULL },
};
