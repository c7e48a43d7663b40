/*
 * api.h - plumbing shared by the operator API's handlers (/api/...).
 *
 * Every /api/ request goes through api_route_run(): who it is (401), a rate
 * limit (429: API_RATE_PER_MINUTE per operator, API_AUTH_FAILURES_PER_MINUTE
 * per client address for requests without a valid credential), the role
 * the endpoint needs (403), the CSRF token of a console session (403), and
 * the audit of reads that show patient data, before anything else is looked
 * at, also for unknown paths (api_area). Replies are JSON; errors are
 * {"error": {"code": word, "message": text}}.
 *
 * Credentials: a bearer token from OPERATOR_TOKENS (automation; admin), a
 * bearer token of an operator account, or the console's session cookie.
 * The last two are checked against PostgreSQL on every request, so
 * api_route_run may call the route's handler later, once the database has
 * answered. Which role each route needs is in its struct http_route, so the
 * handlers themselves start with an admitted operator.
 */
#ifndef CARENAV_HANDLERS_API_H
#define CARENAV_HANDLERS_API_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "attrs.h"
#include "http_reply.h"
#include "optoken.h"

struct api;
struct config;

/* The operator api_route_run admitted, valid until the next request is admitted. */
struct api_who {
	char name[OPTOKEN_MAX_NAME + 1];
	enum api_role role;
	bool session;        /* signed in with the console's cookie (else a bearer token) */
	char csrf[65];       /* the session's X-CSRF-Token ("" for tokens) */
	char language[3];    /* "en" or "es" */
};

/* Parses OPERATOR_TOKENS (already validated by config_load) and sets up the rate limit. */
struct api *api_new(const struct config *cfg);
void api_free(struct api *api);

/*
 * Runs an operator route: admits the request for route->need and calls
 * route->operator_handler with the operator's name, at once or once the
 * database has answered; or answers 401, 403, 429 or 503 itself.
 */
void api_route_run(struct evhttp_request *req, struct http_ctx *ctx, const struct http_route *route);
/* The operator admitted last. */
const struct api_who *api_who(const struct http_ctx *ctx);
/* "viewer", "responder", "admin". */
const char *api_role_name(enum api_role role);
/*
 * Counts a request without a valid credential against its client address;
 * false after answering 429 when the address has used up its allowance.
 */
bool api_count_failure(struct evhttp_request *req, struct http_ctx *ctx) CN_MUSTCHECK;
/* The session cookie's value when the request carries a well-formed one, else NULL (borrowed). */
const char *api_session_cookie(struct evhttp_request *req, char buf[65]);

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
	const char *what;     /* static: a read's name, logged when the database fails it */
	const char *missing;  /* static: a read's 404 message when it finds nothing, or NULL */
};

/* Starts an asynchronous answer (http_hold); pair with api_call_end after replying. */
struct api_call *api_call_new(struct evhttp_request *req, struct http_ctx *ctx,
    const char *operator_name);
void api_call_end(struct api_call *call);
/*
 * api_call_new for a read whose one value is a JSON document, answered by
 * api_doc_done. what and missing are static strings (see struct api_call).
 */
struct api_call *api_call_doc(struct evhttp_request *req, struct http_ctx *ctx, const char *operator_name,
    const char *what, const char *missing);
/*
 * The db_result_cb of an api_call_doc read: 200 with the document; 404 with
 * call->missing when it is NULL (unless missing is NULL); 503 on a database
 * error. Ends the call.
 */
void api_doc_done(const PGresult *res, const char *error, void *arg);
/*
 * The result word (the one value) of an action's statement, or NULL after
 * answering: 503 on a database error (logged as what), 404 with missing
 * when the word is "not_found" (unless missing is NULL).
 */
const char *api_action_result(struct api_call *call, const PGresult *res, const char *error, const char *what,
    const char *missing);

#endif
