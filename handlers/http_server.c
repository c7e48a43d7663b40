/*
 * http_server.c - evhttp setup, routing and reply helpers. See http_server.h.
 *
 * Limits are enforced before any handler runs: evhttp refuses headers past
 * 8 KiB, and bodies past MAX_BODY_BYTES get 413 here, so a handler never
 * sees an oversized request. A request whose length is ambiguous (two
 * Content-Length headers, or one beside Transfer-Encoding) gets 400 and
 * its connection is closed: evhttp reads the body by the first header it
 * finds, and a proxy in front may have read it by another, which is how
 * one request is smuggled inside another.
 */
#include "http_server.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "api.h"
#include "config.h"
#include "idmap.h"
#include "log.h"
#include "provider.h"
#include "stats.h"
#include "webhook_sms.h"
#include "xmalloc.h"

#define HTTP_MAX_HEADERS_BYTES 8192
#define HTTP_TIMEOUT_SECONDS 30

extern const struct http_route health_healthz_route;
extern const struct http_route health_readyz_route;
extern const struct http_route health_metrics_route;
extern const struct http_route api_conversations_list_route;
extern const struct http_route api_conversations_get_route;
extern const struct http_route api_conversations_message_route;
extern const struct http_route api_conversations_handoff_route;
extern const struct http_route api_escalations_list_route;
extern const struct http_route api_escalations_ack_route;
extern const struct http_route api_escalations_resolve_route;
extern const struct http_route api_callbacks_list_route;
extern const struct http_route api_callbacks_done_route;
extern const struct http_route api_audit_route;
extern const struct http_route api_me_route;
extern const struct http_route console_root_route;
extern const struct http_route console_asset_route;
extern const struct http_area api_area;

/* Provider webhooks are not listed: each provider names its own paths (provider.c). */
static const struct http_route *const http_routes[] = {
	&health_healthz_route,
	&health_readyz_route,
	&health_metrics_route,
	&api_conversations_list_route,
	&api_conversations_get_route,
	&api_conversations_message_route,
	&api_conversations_handoff_route,
	&api_escalations_list_route,
	&api_escalations_ack_route,
	&api_escalations_resolve_route,
	&api_callbacks_list_route,
	&api_callbacks_done_route,
	&api_audit_route,
	&api_me_route,
	&console_root_route,
	&console_asset_route,
};

static const struct http_area *const http_areas[] = {
	&api_area,
};

/* Longest number "{id}" accepts: 18 digits always fit in an int64. */
#define HTTP_ID_MAX_DIGITS 18

struct http_server {
	struct evhttp *http;
	struct evhttp_bound_socket *listener;  /* NULL once stopped */
	struct http_ctx *ctx;                  /* borrowed */
	int port;
	struct idmap *conns;                   /* connections that have sent a request */
};

/* A connection is forgotten when evhttp frees it. */
static void
http_server_conn_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_server *srv = arg;

	idmap_remove(srv->conns, (int64_t)(intptr_t)evcon);
}

/*
 * Counts connections from their first request (libevent 2.1 has no
 * accept-time hook); past MAX_CONNECTIONS a new one gets 503 and is
 * closed. Idle connections that never send are dropped by the timeout.
 */
static bool
http_server_admit(struct http_server *srv, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	int64_t key = (int64_t)(intptr_t)evcon;

	if (evcon == NULL || idmap_get(srv->conns, key) != NULL)
		return true;
	if (idmap_count(srv->conns) >= (size_t)srv->ctx->cfg->max_connections) {
		stats.connections_refused++;
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		http_reply_text(req, 503, "too many connections; retry");
		return false;
	}
	idmap_put(srv->conns, key, srv);
	evhttp_connection_set_closecb(evcon, http_server_conn_closed_cb, srv);
	return true;
}

static const char *
http_method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	}
	return "?";
}

/* Length of the digit run at s if it is a positive number that "{id}" accepts, else 0. */
static size_t
http_id_len(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0 || n > HTTP_ID_MAX_DIGITS || s[0] == '0')
		return 0;
	return n;
}

/* True if path matches the route pattern (see struct http_route). */
static bool
http_route_match(const char *pattern, const char *path)
{
	while (*pattern != '\0') {
		if (pattern[0] == '*' && pattern[1] == '\0')
			return true;
		if (strncmp(pattern, "{id}", 4) == 0) {
			size_t n = http_id_len(path);

			if (n == 0 || (path[n] != '/' && path[n] != '\0'))
				return false;
			pattern += 4;
			path += n;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *path == '\0';
}

long long
http_path_id(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *p = uri ? evhttp_uri_get_path(uri) : NULL;

	while (p != NULL && (p = strchr(p, '/')) != NULL) {
		size_t n = http_id_len(++p);

		if (n > 0 && (p[n] == '/' || p[n] == '\0'))
			return strtoll(p, NULL, 10);
	}
	return 0;
}

/*
 * True if the request's framing is unambiguous: at most one Content-Length,
 * and none beside a Transfer-Encoding.
 */
static bool
http_framing_ok(struct evhttp_request *req)
{
	struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
	struct evkeyval *h;
	int lengths = 0, encodings = 0;

	TAILQ_FOREACH(h, headers, next) {
		if (strcasecmp(h->key, "Content-Length") == 0)
			lengths++;
		else if (strcasecmp(h->key, "Transfer-Encoding") == 0)
			encodings++;
	}
	return lengths <= 1 && (lengths == 0 || encodings == 0);
}

/* "GET, POST": the methods the routes matching path take (evhttp lets only these two reach us). */
static void
http_allowed_methods(const char *path, char *buf, size_t size)
{
	static const char *const methods[] = { "GET", "POST" };
	size_t n = 0;

	buf[0] = '\0';
	for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
		for (size_t i = 0; i < sizeof http_routes / sizeof http_routes[0]; i++) {
			if (strcmp(http_routes[i]->method, methods[m]) == 0 &&
			    http_route_match(http_routes[i]->path, path)) {
				n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", methods[m]);
				break;
			}
		}
	}
}

/* Answers a refused request: by its area's rules, or in plain text. */
static void
http_reject(struct evhttp_request *req, struct http_ctx *ctx, const char *path, int code,
    const char *message)
{
	for (size_t i = 0; i < sizeof http_areas / sizeof http_areas[0]; i++) {
		if (strncmp(path, http_areas[i]->prefix, strlen(http_areas[i]->prefix)) == 0) {
			http_areas[i]->reject(req, ctx, code, message);
			return;
		}
	}
	http_reply_text(req, code, message);
}

static void
http_server_dispatch_cb(struct evhttp_request *req, void *arg)
{
	struct http_server *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *method = http_method_name(evhttp_request_get_command(req));
	const struct provider_ops *ops;
	bool path_known = false, is_status;
	char allow[64];

	if (path == NULL || path[0] == '\0')
		path = "/";
	if (!http_server_admit(srv, req))
		return;
	if (!http_framing_ok(req)) {
		if (strncmp(path, "/sms/", 5) == 0)
			stats.inbound_rejected++;
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		http_reject(req, srv->ctx, path, 400, "ambiguous request length: more than one Content-Length, "
		    "or Content-Length with Transfer-Encoding");
		return;
	}
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) >
	    (size_t)srv->ctx->cfg->max_body_bytes) {
		http_reject(req, srv->ctx, path, 413, "request body too large");
		return;
	}
	/* Only the configured provider's webhooks exist; another's paths are 404 like any unknown path. */
	ops = provider_for_path(srv->ctx->cfg->sms_provider, path, &is_status);
	if (ops != NULL) {
		webhook_sms_handle(req, srv->ctx, ops, path, is_status);
		return;
	}
	for (size_t i = 0; i < sizeof http_routes / sizeof http_routes[0]; i++) {
		const struct http_route *r = http_routes[i];

		if (!http_route_match(r->path, path))
			continue;
		path_known = true;
		if (strcmp(r->method, method) == 0) {
			r->handler(req, srv->ctx);
			return;
		}
	}
	if (path_known) {
		http_allowed_methods(path, allow, sizeof allow);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
		http_reject(req, srv->ctx, path, 405, "method not allowed");
	} else
		http_reject(req, srv->ctx, path, 404, "not found");
}

struct http_server *
http_server_new(struct event_base *base, struct http_ctx *ctx, char **cause)
{
	struct http_server *srv = xcalloc(1, sizeof *srv);
	const struct config *cfg = ctx->cfg;
	evutil_socket_t fd;
	struct sockaddr_storage ss;
	ev_socklen_t sslen = sizeof ss;

	srv->ctx = ctx;
	srv->conns = idmap_new();
	ctx->api = api_new(cfg);
	srv->http = evhttp_new(base);
	/* Twice the body limit, so a slightly-too-large body reaches us and gets a clear 413. */
	evhttp_set_max_body_size(srv->http, (ev_ssize_t)cfg->max_body_bytes * 2);
	evhttp_set_max_headers_size(srv->http, HTTP_MAX_HEADERS_BYTES);
	evhttp_set_timeout(srv->http, HTTP_TIMEOUT_SECONDS);
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(srv->http, http_server_dispatch_cb, srv);
	srv->listener = evhttp_bind_socket_with_handle(srv->http, cfg->http_host, (ev_uint16_t)cfg->http_port);
	if (srv->listener == NULL) {
		*cause = xasprintf("cannot listen on %s:%lld", cfg->http_host, cfg->http_port);
		evhttp_free(srv->http);
		idmap_free(srv->conns);
		api_free(ctx->api);
		ctx->api = NULL;
		free(srv);
		return NULL;
	}
	fd = evhttp_bound_socket_get_fd(srv->listener);
	srv->port = (int)cfg->http_port;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET)
			srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			srv->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	log_info("http: listening on %s:%d", cfg->http_host, srv->port);
	return srv;
}

void
http_server_free(struct http_server *srv)
{
	if (srv == NULL)
		return;
	evhttp_free(srv->http);
	idmap_free(srv->conns);  /* after evhttp_free: its close callbacks still use it */
	api_free(srv->ctx->api);
	srv->ctx->api = NULL;
	free(srv);
}

void
http_server_stop_accepting(struct http_server *srv)
{
	if (srv->listener != NULL) {
		evhttp_del_accept_socket(srv->http, srv->listener);
		srv->listener = NULL;
	}
}

int
http_server_port(const struct http_server *srv)
{
	return srv->port;
}

void
http_hold(struct http_ctx *ctx)
{
	ctx->held++;
}

void
http_release(struct http_ctx *ctx)
{
	ctx->held--;
}

void
http_reply_body(struct evhttp_request *req, int code, const char *content_type, const char *body)
{
	struct evbuffer *out = evbuffer_new();
	const char *reason;

	switch (code) {
	case 200: reason = "OK"; break;
	case 201: reason = "Created"; break;
	case 301: reason = "Moved Permanently"; break;
	case 400: reason = "Bad Request"; break;
	case 401: reason = "Unauthorized"; break;
	case 403: reason = "Forbidden"; break;
	case 404: reason = "Not Found"; break;
	case 405: reason = "Method Not Allowed"; break;
	case 409: reason = "Conflict"; break;
	case 413: reason = "Payload Too Large"; break;
	case 415: reason = "Unsupported Media Type"; break;
	case 422: reason = "Unprocessable Entity"; break;
	case 429: reason = "Too Many Requests"; break;
	case 503: reason = "Service Unavailable"; break;
	default: reason = code < 400 ? "OK" : "Error"; break;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", content_type);
	evbuffer_add(out, body, strlen(body));
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

void
http_reply_text(struct evhttp_request *req, int code, const char *text)
{
	char *body = xasprintf("%s\n", text);

	http_reply_body(req, code, "text/plain; charset=utf-8", body);
	free(body);
}

const char *
http_request_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	char *data;

	/* One spare byte for the NUL; the buffer stays owned by the request. */
	evbuffer_add(in, "", 1);
	*len = evbuffer_get_length(in) - 1;
	data = (char *)evbuffer_pullup(in, -1);
	return data;
}

bool
http_content_type_is(struct evhttp_request *req, const char *mime)
{
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	size_t n = strlen(mime);

	if (ct == NULL)
		return false;
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, mime, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}
