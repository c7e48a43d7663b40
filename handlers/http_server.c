/*
 * http_server.c - evhttp setup, connection limits and routing. See http_server.h;
 * the helpers handlers use to read requests and answer are in http_reply.c.
 *
 * Limits are enforced before any handler runs: evhttp refuses headers past
 * 8 KiB, and bodies past MAX_BODY_BYTES get 413 here, so a handler never
 * sees an oversized request. A request whose length is ambiguous (two
 * Content-Length headers, or one beside Transfer-Encoding) gets 400 and
 * its connection is closed: evhttp reads the body by the first header it
 * finds, and a proxy in front may have read it by another, which is how
 * one request is smuggled inside another.
 *
 * Connections (http_server_admit): idle keep-alive connections are what a
 * cheap flood is made of, and the provider does not retry a 503, so at a
 * connection limit the oldest idle connection is closed to make room rather
 * than the newcomer refused. An idle connection is closed only when nothing
 * of a next request has arrived on it (evhttp's input buffer and, on Linux,
 * the kernel's last-receive time), so no request is cut short. Limits: per
 * client address (trusted proxies exempt), in all, and RESERVED_CONNECTIONS
 * that only webhooks and health checks may take when everything else is
 * busy. After an answer a connection gets HTTP_IDLE_TIMEOUT_S, not the 30 s
 * a request gets (trusted proxies keep 30 s: they pool and reuse their
 * connections). Refusals and closings are logged once per 10 s, counted.
 */
#include "http_server.h"

#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/queue.h>

#include "api.h"
#include "cidr.h"
#include "config.h"
#include "idmap.h"
#include "log.h"
#include "provider.h"
#include "stats.h"
#include "webhook_sms.h"
#include "xmalloc.h"

#define HTTP_MAX_HEADERS_BYTES 8192
#define HTTP_TIMEOUT_SECONDS 30

extern const struct http_route health_routes[];
extern const struct http_route api_routes[];
extern const struct http_route api_conversations_routes[];
extern const struct http_route api_escalations_routes[];
extern const struct http_route api_callbacks_routes[];
extern const struct http_route api_language_routes[];
extern const struct http_route api_login_routes[];
extern const struct http_route api_admin_routes[];
extern const struct http_route console_routes[];
extern const struct http_area api_area;

/*
 * Each handler file's routes, ending with { .method = NULL }. Provider
 * webhooks are not listed: each provider names its own paths (provider.c).
 */
static const struct http_route *const http_route_tables[] = {
	health_routes,
	api_routes,
	api_conversations_routes,
	api_escalations_routes,
	api_callbacks_routes,
	api_language_routes,
	api_login_routes,
	api_admin_routes,
	console_routes,
};

static const struct http_area *const http_areas[] = {
	&api_area,
};

/* At most one connection-limit warning per this many ms (the count says how many it stands for). */
#define HTTP_LIMIT_LOG_EVERY_MS 10000.0

/*
 * A connection that has sent a request. BUSY: a request is being answered
 * (evhttp reads the next one only after the reply). IDLE: answered, the
 * connection waits for the next request, and may be closed to make room.
 */
enum http_conn_state {
	HTTP_CONN_BUSY,     /* a request is being answered */
	HTTP_CONN_IDLE,     /* on srv->idle, oldest first */
	HTTP_CONN_READING,  /* was idle, but bytes of a next request arrived: not closed to make room */
};

struct http_conn {
	struct evhttp_connection *evcon;  /* borrowed: evhttp owns it and tells us when it goes */
	char addr[CIDR_ADDR_MAX];         /* the peer's address */
	bool trusted;                     /* a trusted proxy: no per-client cap, the long idle timeout */
	enum http_conn_state state;
	struct evbuffer_cb_entry *input_cb;  /* counts into bytes_since_reply; removed when evhttp frees evcon */
	uint64_t bytes_since_reply;       /* bytes evhttp has read from the socket since its last reply went out */
	TAILQ_ENTRY(http_conn) idle_entry;  /* on srv->idle while IDLE */
};

TAILQ_HEAD(http_conn_list, http_conn);

struct http_server {
	struct evhttp *http;
	struct evhttp_bound_socket *listener;  /* NULL once stopped */
	struct http_ctx *ctx;                  /* borrowed */
	int port;
	struct idmap *conns;                   /* evhttp_connection -> struct http_conn (owned) */
	struct http_conn_list idle;            /* IDLE connections, oldest first */
	struct cidr_list trusted;              /* TRUSTED_PROXIES; ctx->trusted_proxies points here */
	struct log_throttle refused_log;       /* 503s at a connection limit */
	struct log_throttle closed_log;        /* idle connections closed to make room */
};

static void
http_conn_unidle(struct http_server *srv, struct http_conn *c)
{
	if (c->state == HTTP_CONN_IDLE)
		TAILQ_REMOVE(&srv->idle, c, idle_entry);
}

/* A connection is forgotten when evhttp frees it (peer gone, timeout, or closed by us). */
static void
http_server_conn_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct http_server *srv = arg;
	struct http_conn *c = idmap_get(srv->conns, (int64_t)(intptr_t)evcon);
	struct bufferevent *bev;

	if (c == NULL)
		return;
	if (c->input_cb != NULL && (bev = evhttp_connection_get_bufferevent(evcon)) != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(bev), c->input_cb);
	http_conn_unidle(srv, c);
	idmap_remove(srv->conns, (int64_t)(intptr_t)evcon);
	free(c);
}

/* Counts what evhttp reads from the socket: no system call per request (TCP_INFO was one). */
static void
http_conn_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct http_conn *c = arg;

	(void)buf;
	c->bytes_since_reply += info->n_added;
}

/* The reply went out: the connection waits for its next request, on the short idle timeout. */
static void
http_server_request_done_cb(struct evhttp_request *req, void *arg)
{
	struct http_server *srv = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct http_conn *c = evcon ? idmap_get(srv->conns, (int64_t)(intptr_t)evcon) : NULL;

	if (c == NULL || c->state != HTTP_CONN_BUSY)
		return;
	c->state = HTTP_CONN_IDLE;
	c->bytes_since_reply = 0;
	TAILQ_INSERT_TAIL(&srv->idle, c, idle_entry);
	/* A proxy pools its connections and reuses them; closing them early only races its reuse. */
	if (!c->trusted)
		evhttp_connection_set_timeout(evcon, (int)srv->ctx->cfg->http_idle_timeout_s);
}

/*
 * True if nothing arrived on an idle connection since its last reply, so
 * closing it cannot cut a request short: evhttp read no byte since then
 * (it may have parsed a first line already and left its input buffer
 * empty) and the kernel holds none unread. (A count, not a time: a quiet
 * connection must not look busy, nor a newer one be closed in its place.)
 */
static bool
http_conn_quiet(const struct http_conn *c)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
	evutil_socket_t fd;
	int unread = 0;

	if (bev == NULL)
		return true;
	if (c->bytes_since_reply > 0 || evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		return false;
	fd = bufferevent_getfd(bev);
	return fd < 0 || ioctl(fd, FIONREAD, &unread) != 0 || unread == 0;
}

/*
 * Closes the oldest quiet idle connection (of addr only, unless NULL) to
 * make room for a newcomer from peer; false if there is none. Idle
 * connections found reading a new request are set aside (READING) rather
 * than cut. Logged at most once per HTTP_LIMIT_LOG_EVERY_MS, with a count.
 */
static bool
http_server_close_idle(struct http_server *srv, const char *addr, const char *peer, const char *why,
    double now_ms)
{
	unsigned long count;

	struct http_conn *c, *next;

	for (c = TAILQ_FIRST(&srv->idle); c != NULL; c = next) {
		next = TAILQ_NEXT(c, idle_entry);
		if (addr != NULL && strcmp(c->addr, addr) != 0)
			continue;
		if (!http_conn_quiet(c)) {
			TAILQ_REMOVE(&srv->idle, c, idle_entry);
			c->state = HTTP_CONN_READING;
			continue;
		}
		stats.connections_closed_idle++;
		if (log_throttle_due(&srv->closed_log, now_ms, HTTP_LIMIT_LOG_EVERY_MS, &count))
			log_warn("http: connection limit: %lu idle keep-alive connection(s) closed to make room "
			    "since the last such line (latest: %s; closed one from %s for a new one from %s; %zu open)",
			    count, why, c->addr, peer, idmap_count(srv->conns));
		/* Synchronous: the close callback frees c and forgets the connection. */
		evhttp_connection_free(c->evcon);
		return true;
	}
	return false;
}

struct http_addr_count {
	const char *addr;
	size_t n;
};

static void
http_server_count_addr_cb(int64_t id, void *value, void *arg)
{
	const struct http_conn *c = value;
	struct http_addr_count *count = arg;

	(void)id;
	if (strcmp(c->addr, count->addr) == 0)
		count->n++;
}

/* Connections open from addr (a scan: it runs once per new connection, not per request). */
static size_t
http_server_count_addr(const struct http_server *srv, const char *addr)
{
	struct http_addr_count count = { addr, 0 };

	idmap_foreach(srv->conns, http_server_count_addr_cb, &count);
	return count.n;
}

static bool
http_server_refuse(struct http_server *srv, struct evhttp_request *req, const char *peer, const char *why,
    double now_ms)
{
	unsigned long count;

	stats.connections_refused++;
	if (log_throttle_due(&srv->refused_log, now_ms, HTTP_LIMIT_LOG_EVERY_MS, &count))
		log_warn("http: connection limit: %lu new connection(s) refused with 503, no idle one to close, "
		    "since the last such line (latest: %s from %s; %zu open, MAX_CONNECTIONS=%lld, MAX_CONNECTIONS_PER_CLIENT=%lld)", count,
		    why, peer, idmap_count(srv->conns), srv->ctx->cfg->max_connections,
		    srv->ctx->cfg->max_connections_per_client);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	http_reply_text(req, 503, "too many connections; retry");
	return false;
}

/* Provider webhooks and health checks may use the RESERVED_CONNECTIONS. */
static bool
http_path_reserved(const struct http_server *srv, const char *path)
{
	bool is_status;

	return provider_for_path(srv->ctx->cfg->sms_provider, path, &is_status) != NULL ||
	    strcmp(path, "/healthz") == 0 ||
	    strcmp(path, "/readyz") == 0;
}

/*
 * Counts connections from their first request (libevent 2.1 has no
 * accept-time hook) and admits or refuses a new one. A client address may
 * hold MAX_CONNECTIONS_PER_CLIENT (trusted proxies: any number), and all
 * together MAX_CONNECTIONS, of which the last RESERVED_CONNECTIONS only for
 * provider webhooks and health checks. At a limit, the oldest idle
 * keep-alive connection (of that address, for the per-client cap) is closed
 * to make room; only when none is idle does the newcomer get 503. So a
 * flood of idle connections cannot lock the provider out: it costs the
 * flooder its own oldest connections.
 */
static bool
http_server_admit(struct http_server *srv, struct evhttp_request *req, const char *path)
{
	const struct config *cfg = srv->ctx->cfg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	int64_t key = (int64_t)(intptr_t)evcon;
	struct http_conn *c;
	struct bufferevent *bev;
	char *peer = NULL;
	ev_uint16_t port = 0;
	double now_ms = stats_now_ms();
	long long reserved = cfg->reserved_connections, limit;
	bool trusted;

	if (evcon == NULL)
		return true;
	if ((c = idmap_get(srv->conns, key)) != NULL) {
		http_conn_unidle(srv, c);
		c->state = HTTP_CONN_BUSY;
		evhttp_connection_set_timeout(evcon, HTTP_TIMEOUT_SECONDS);
		evhttp_request_set_on_complete_cb(req, http_server_request_done_cb, srv);
		return true;
	}
	evhttp_connection_get_peer(evcon, &peer, &port);
	if (peer == NULL)
		peer = "?";
	trusted = cidr_list_match(&srv->trusted, peer);
	if (!trusted && cfg->max_connections_per_client > 0 &&
	    http_server_count_addr(srv, peer) >= (size_t)cfg->max_connections_per_client &&
	    !http_server_close_idle(srv, peer, peer, "MAX_CONNECTIONS_PER_CLIENT reached", now_ms))
		return http_server_refuse(srv, req, peer, "MAX_CONNECTIONS_PER_CLIENT reached", now_ms);
	/* At most half the connections are reserved, whatever RESERVED_CONNECTIONS says. */
	if (reserved > cfg->max_connections / 2)
		reserved = cfg->max_connections / 2;
	limit = cfg->max_connections - (http_path_reserved(srv, path) ? 0 : reserved);
	while (idmap_count(srv->conns) >= (size_t)limit) {
		if (!http_server_close_idle(srv, NULL, peer, "MAX_CONNECTIONS reached", now_ms))
			return http_server_refuse(srv, req, peer, "MAX_CONNECTIONS reached", now_ms);
	}
	c = xcalloc(1, sizeof *c);
	c->evcon = evcon;
	snprintf(c->addr, sizeof c->addr, "%s", peer);
	c->trusted = trusted;
	c->state = HTTP_CONN_BUSY;
	if ((bev = evhttp_connection_get_bufferevent(evcon)) != NULL)
		c->input_cb = evbuffer_add_cb(bufferevent_get_input(bev), http_conn_input_cb, c);
	idmap_put(srv->conns, key, c);
	evhttp_connection_set_closecb(evcon, http_server_conn_closed_cb, srv);
	evhttp_request_set_on_complete_cb(req, http_server_request_done_cb, srv);
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

/* The route for method and path, or NULL; *path_known says whether any route matches the path. */
static const struct http_route *
http_route_find(const char *method, const char *path, bool *path_known)
{
	*path_known = false;
	for (size_t t = 0; t < sizeof http_route_tables / sizeof http_route_tables[0]; t++) {
		for (const struct http_route *r = http_route_tables[t]; r->method != NULL; r++) {
			if (!http_route_match(r->path, path))
				continue;
			*path_known = true;
			if (strcmp(r->method, method) == 0)
				return r;
		}
	}
	return NULL;
}

/* "GET, POST": the methods the routes matching path take (evhttp lets only these two reach us). */
static void
http_allowed_methods(const char *path, char *buf, size_t size)
{
	static const char *const methods[] = { "GET", "POST" };
	size_t n = 0;
	bool known;

	buf[0] = '\0';
	for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
		if (http_route_find(methods[m], path, &known) != NULL)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", methods[m]);
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
	const struct http_route *route;
	bool path_known, is_status;
	char allow[64];

	if (path == NULL || path[0] == '\0')
		path = "/";
	if (!http_server_admit(srv, req, path))
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
	if ((route = http_route_find(method, path, &path_known)) != NULL) {
		/* An operator route runs once the API has admitted the operator with the role it needs. */
		if (route->operator_handler != NULL)
			api_route_run(req, srv->ctx, route);
		else
			route->handler(req, srv->ctx);
	} else if (path_known) {
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
	TAILQ_INIT(&srv->idle);
	/* config_load validated it; a failure here is a broken invariant. */
	if (!cidr_list_parse(cfg->trusted_proxies, &srv->trusted, cause))
		fatalx("http: TRUSTED_PROXIES: %s", *cause);
	ctx->trusted_proxies = &srv->trusted;
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
		cidr_list_clear(&srv->trusted);
		api_free(ctx->api);
		ctx->api = NULL;
		ctx->trusted_proxies = NULL;
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
	log_info("http: listening on %s:%d (MAX_CONNECTIONS=%lld, MAX_CONNECTIONS_PER_CLIENT=%lld, "
	    "HTTP_IDLE_TIMEOUT_S=%lld, %zu trusted prox%s)", cfg->http_host, srv->port, cfg->max_connections,
	    cfg->max_connections_per_client, cfg->http_idle_timeout_s, srv->trusted.n,
	    srv->trusted.n == 1 ? "y" : "ies");
	return srv;
}

static void
http_server_conn_free_cb(int64_t id, void *value, void *arg)
{
	(void)id;
	(void)arg;
	free(value);
}

void
http_server_free(struct http_server *srv)
{
	if (srv == NULL)
		return;
	evhttp_free(srv->http);
	/* After evhttp_free: its close callbacks still use the map; free what they did not. */
	idmap_foreach(srv->conns, http_server_conn_free_cb, NULL);
	idmap_free(srv->conns);
	cidr_list_clear(&srv->trusted);
	api_free(srv->ctx->api);
	srv->ctx->api = NULL;
	srv->ctx->trusted_proxies = NULL;
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
