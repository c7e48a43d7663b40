/*
 * http_client.h - outbound HTTP requests on the event loop (libcurl multi).
 *
 * libcurl's socket and timer callbacks are mapped onto libevent events, so
 * requests to SMS providers and staff webhooks never block the loop.
 */
#ifndef CARENAV_GATEWAY_HTTP_CLIENT_H
#define CARENAV_GATEWAY_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct http_client;

struct http_response {
	long status;         /* HTTP status, or 0 when no response arrived */
	const char *error;   /* transport error text when status is 0, else NULL */
	const char *body;    /* response body, NUL-terminated (borrowed) */
	size_t body_len;
	const char *retry_after;  /* the Retry-After header's value (borrowed), or NULL */
};

/* Called once per request from the event loop; the response is borrowed. */
typedef void http_client_done_cb(const struct http_response *resp, void *arg);

struct http_request {
	const char *url;
	const char *content_type;  /* POST only, e.g. "application/x-www-form-urlencoded" */
	const char *body;          /* POST only; copied */
	size_t body_len;
	const char *userpwd;       /* "user:password" for basic auth, or NULL */
	long timeout_ms;           /* whole request, connect to last byte */
};

/* True if url starts with http:// or https://, the schemes requests are sent to. */
bool http_client_url_ok(const char *url);
/*
 * keep_alive: how many idle connections to keep for reuse, at least as many
 * as the requests that can be in flight at once (OUTBOX_BATCH).
 */
struct http_client *http_client_new(struct event_base *base, long keep_alive);
/* Aborts requests in flight (their callbacks run with an error) and frees. */
void http_client_free(struct http_client *client);
/* Starts a POST; the callback always runs later, from the loop. */
void http_client_post(struct http_client *client, const struct http_request *req,
    http_client_done_cb *done, void *arg);
/* Starts a GET of req->url (content_type and body unused); the callback always runs later. */
void http_client_get(struct http_client *client, const struct http_request *req,
    http_client_done_cb *done, void *arg);
/* Requests in flight. */
size_t http_client_active(const struct http_client *client);

#endif
