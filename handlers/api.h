/*
 * api.h - plumbing shared by the operator API's handlers (/api/...).
 *
 * Every /api/ request goes through api_begin(): the bearer token
 * (OPERATOR_TOKENS, 401) and a rate limit (429: API_RATE_PER_MINUTE per
 * operator, API_AUTH_FAILURES_PER_MINUTE per client address for requests
 * without a valid token), before anything else is looked at, also for
 * unknown paths. Replies are
 * JSON; errors are {"error": {"code": word, "message": text}}.
 */
#ifndef CARENAV_HANDLERS_API_H
#define CARENAV_HANDLERS_API_H

#include <jansson.h>
#include <stdbool.h>

#include "attrs.h"
#include "http_server.h"
#include "optoken.h"

struct api;
struct config;

/* Parses OPERATOR_TOKENS (already validated by config_load) and sets up the rate limit. */
struct api *api_new(const struct config *cfg);
void api_free(struct api *api);

/*
 * Admits a request: the operator's name (borrowed from the api, valid until
 * api_free) or NULL once it has answered 429, 401 or 503 itself.
 */
const char *api_begin(struct evhttp_request *req, struct http_ctx *ctx) CN_MUSTCHECK;

/* Sends doc as the JSON answer; takes ownership of doc. */
void api_reply_json(struct evhttp_request *req, int code, json_t *doc);
/* Sends text, already a JSON document, as the answer. */
void api_reply_raw(struct evhttp_request *req, int code, const char *json_text);
/* Sends {"error": {"code": code_word, "message": message}}. */
void api_error(struct evhttp_request *req, int code, const char *code_word, const char *message);
/* The answer when a statement failed: 503, logged once here. */
void api_db_error(struct evhttp_request *req, const char *what, const char *error);

/* The decoded query parameter name (caller frees), or NULL when absent. */
char *api_query_get(struct evhttp_request *req, const char *name);
/*
 * Reads integer parameter name into *out (def when absent); answers 400
 * itself and returns false when it is not a whole number in [min, max].
 */
bool api_query_int(struct evhttp_request *req, const char *name, long long def, long long min,
    long long max, long long *out) CN_MUSTCHECK;
/*
 * The request body as a JSON object, or NULL after answering 415 (not
 * application/json) or 400 (not a JSON object). An empty body gives {}.
 */
json_t *api_body_json(struct evhttp_request *req) CN_MUSTCHECK;

/* A request waiting for the database; holds the server's drain count. */
struct api_call {
	struct evhttp_request *req;
	struct http_ctx *ctx;
	char operator_name[OPTOKEN_MAX_NAME + 1];
	long long id;  /* the path's {id}, 0 if none */
	char *text;    /* owned: a message body or note, or NULL */
	bool flag;     /* handoff: start (true) or end */
};

/* Starts an asynchronous answer (http_hold); pair with api_call_end after replying. */
struct api_call *api_call_new(struct evhttp_request *req, struct http_ctx *ctx,
    const char *operator_name);
void api_call_end(struct api_call *call);

#endif
