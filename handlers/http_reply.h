/*
 * http_reply.h - what an HTTP handler uses: the context it runs in, the
 * route and area entries it exports, and the helpers that read a request
 * and send its answer.
 *
 * The router (http_server.c) includes the handlers; the handlers include
 * only this file, so no handler depends on the router. Handlers that answer
 * after a database round trip call http_hold() first and http_reply_*()
 * later; the held count lets a shutdown wait for them.
 */
#ifndef CARENAV_HANDLERS_HTTP_REPLY_H
#define CARENAV_HANDLERS_HTTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

struct api;
struct cidr_list;
struct config;
struct db;
struct escalation;
struct evhttp_request;
struct flows;
struct inbound;
struct intake;
struct outbox;

/* What handlers may use; all borrowed from main. */
struct http_ctx {
	const struct config *cfg;
	struct db *db;
	struct inbound *inbound;
	struct intake *intake;
	struct outbox *outbox;
	struct escalation *escalation;
	struct flows *flows;
	size_t held;  /* requests waiting for an asynchronous answer */
	struct api *api;  /* owned by the http server: operator tokens and rate limit */
	const struct cidr_list *trusted_proxies;  /* owned by the http server: TRUSTED_PROXIES */
};

typedef void http_handler_cb(struct evhttp_request *req, struct http_ctx *ctx);
/* An operator API handler: runs once the operator op (borrowed) is admitted with the route's role. */
typedef void http_operator_cb(struct evhttp_request *req, struct http_ctx *ctx, const char *op);

/* What an operator may do; each includes the ones before it. */
enum api_role {
	API_VIEWER,     /* reads */
	API_RESPONDER,  /* + acknowledges, resolves, replies, takes over */
	API_ADMIN,      /* + operators, staff, on-call schedule, exports, the audit trail */
};

/*
 * path is an exact path, or a pattern: a "{id}" segment matches a positive
 * decimal number (read it with http_path_id), and a final "*" matches any
 * rest, also none ("/console/" + "*"). A route has either a handler, open to
 * all, or an operator_handler with the role it needs: the router has the
 * API admit the operator (api_route_run) before calling it, so the routes'
 * roles are the API's whole permission matrix.
 */
struct http_route {
	const char *method;  /* "GET", "POST" */
	const char *path;
	http_handler_cb *handler;             /* an open route, else NULL */
	enum api_role need;                   /* with operator_handler: the least role it takes */
	http_operator_cb *operator_handler;   /* an operator route, else NULL */
};

/* Answers a refused request (404, 405, 413) in an area's own way. */
typedef void http_reject_cb(struct evhttp_request *req, struct http_ctx *ctx, int code,
    const char *message);

/* A part of the URL space that answers its own errors (the JSON API). */
struct http_area {
	const char *prefix;  /* "/api/" */
	http_reject_cb *reject;
};

/* Length of the digit run at s if it is a positive number that "{id}" accepts, else 0. */
size_t http_id_len(const char *s);

/*
 * The client's address (canonical text, in buf): the connection's peer, or,
 * when the peer is one of TRUSTED_PROXIES, the address X-Forwarded-For
 * names: the rightmost hop that is not itself a trusted proxy. A client's
 * own X-Forwarded-For is believed only as far as a trusted proxy vouches.
 */
const char *http_client_address(struct evhttp_request *req, const struct http_ctx *ctx, char *buf,
    size_t size);
/* Marks req as answered later; pair with one http_reply_* call. */
void http_hold(struct http_ctx *ctx);
void http_release(struct http_ctx *ctx);
/* The first all-digit segment of the request's path (what "{id}" matched); 0 if none. */
long long http_path_id(struct evhttp_request *req);
/* Sends a plain-text answer (a newline is added). */
void http_reply_text(struct evhttp_request *req, int code, const char *text);
/* Sends body with the given content type. */
void http_reply_body(struct evhttp_request *req, int code, const char *content_type, const char *body);
/* The request body, NUL-terminated; *len excludes the NUL. */
const char *http_request_body(struct evhttp_request *req, size_t *len);
/* True if the request's Content-Type is mime (parameters such as charset ignored). */
bool http_content_type_is(struct evhttp_request *req, const char *mime);

#endif
