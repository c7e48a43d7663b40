/*
 * http_client.c - libcurl multi interface driven by libevent. See http_client.h.
 *
 * The glue follows libcurl's hiperfifo example: curl tells us which sockets
 * to watch (http_client_socket_cb) and when to call it back
 * (http_client_timer_cb); we tell curl what happened with
 * curl_multi_socket_action and then collect finished transfers.
 */
#include "http_client.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

/* Provider answers are small JSON documents; anything bigger is cut. */
#define HTTP_CLIENT_MAX_RESPONSE (64 * 1024)
/*
 * Finished easy handles kept for the next transfers. A new handle allocates
 * libcurl's buffers (16 KiB and more) that its cleanup frees again: per reply
 * sent, that churn was a tenth of the gateway's CPU at load. curl_easy_reset
 * clears the options and keeps the buffers.
 */
#define HTTP_CLIENT_IDLE_HANDLES 64

struct http_client {
	struct event_base *base;
	CURLM *multi;
	struct event timer;        /* curl's single timeout */
	size_t active;             /* transfers started, not yet finished */
	TAILQ_HEAD(, http_call) calls;  /* those transfers */
	CURL *idle[HTTP_CLIENT_IDLE_HANDLES];  /* finished handles, reset, for reuse */
	size_t nidle;
};

/* One transfer: owns its easy handle, headers, body copy and response buffer. */
struct http_call {
	TAILQ_ENTRY(http_call) entry;
	struct http_client *client;
	CURL *easy;
	struct curl_slist *headers;
	char *body;                /* owned copy of the request body */
	char *resp;                /* owned, NUL-terminated */
	size_t resp_len;
	char errbuf[CURL_ERROR_SIZE];
	char retry_after[64];      /* the last response's Retry-After value, or "" */
	http_client_done_cb *done;
	void *arg;
};

/* A socket curl asked us to watch. */
struct http_sock {
	struct http_client *client;
	curl_socket_t fd;
	struct event ev;
};

static void
http_call_free(struct http_call *call)
{
	struct http_client *client = call->client;

	curl_slist_free_all(call->headers);
	if (client->nidle < HTTP_CLIENT_IDLE_HANDLES) {
		curl_easy_reset(call->easy);
		client->idle[client->nidle++] = call->easy;
	} else {
		curl_easy_cleanup(call->easy);
	}
	free(call->body);
	free(call->resp);
	free(call);
}

static void
http_client_check_done(struct http_client *client)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(client->multi, &left)) != NULL) {
		struct http_call *call;
		struct http_response resp = { 0 };

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
		if (msg->data.result == CURLE_OK) {
			curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &resp.status);
		} else {
			resp.status = 0;
			resp.error = call->errbuf[0] ? call->errbuf : curl_easy_strerror(msg->data.result);
		}
		resp.body = call->resp ? call->resp : "";
		resp.body_len = call->resp_len;
		resp.retry_after = call->retry_after[0] != '\0' ? call->retry_after : NULL;
		curl_multi_remove_handle(client->multi, call->easy);
		TAILQ_REMOVE(&client->calls, call, entry);
		client->active--;
		call->done(&resp, call->arg);
		http_call_free(call);
	}
}

static void
http_client_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *client = arg;
	int running, action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(client->multi, fd, action, &running);
	http_client_check_done(client);
}

static void
http_client_timeout_timer(evutil_socket_t fd, short what, void *arg)
{
	struct http_client *client = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_client_check_done(client);
}

static int
http_client_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_client *client = userp;
	struct http_sock *sock = socketp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sock != NULL) {
			event_del(&sock->ev);
			free(sock);
			curl_multi_assign(client->multi, fd, NULL);
		}
		return 0;
	}
	if (sock == NULL) {
		sock = xcalloc(1, sizeof *sock);
		sock->client = client;
		sock->fd = fd;
		curl_multi_assign(client->multi, fd, sock);
	} else {
		event_del(&sock->ev);
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	event_assign(&sock->ev, client->base, fd, kind, http_client_event_cb, client);
	event_add(&sock->ev, NULL);
	return 0;
}

static int
http_client_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *client = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(&client->timer);
		return 0;
	}
	tv = timeutil_tv(timeout_ms);
	evtimer_add(&client->timer, &tv);
	return 0;
}

static size_t
http_call_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_call *call = userp;
	size_t n = size * nmemb, room = HTTP_CLIENT_MAX_RESPONSE - call->resp_len;

	if (n > room)
		n = room;
	call->resp = xrealloc(call->resp, call->resp_len + n + 1);
	memcpy(call->resp + call->resp_len, data, n);
	call->resp_len += n;
	call->resp[call->resp_len] = '\0';
	return size * nmemb;
}

/* Keeps the Retry-After header; a new status line (after a 100 or a redirect) forgets it. */
static size_t
http_call_header_cb(char *data, size_t size, size_t nitems, void *userp)
{
	struct http_call *call = userp;
	size_t n = size * nitems, name = sizeof "Retry-After:" - 1, len;
	const char *v;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
		call->retry_after[0] = '\0';
	if (n <= name || strncasecmp(data, "Retry-After:", name) != 0)
		return n;
	v = data + name;
	len = n - name;
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	if (len >= sizeof call->retry_after)
		len = sizeof call->retry_after - 1;
	memcpy(call->retry_after, v, len);
	call->retry_after[len] = '\0';
	return n;
}

bool
http_client_url_ok(const char *url)
{
	return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

struct http_client *
http_client_new(struct event_base *base, long keep_alive)
{
	struct http_client *client = xcalloc(1, sizeof *client);

	client->base = base;
	client->multi = curl_multi_init();
	if (client->multi == NULL)
		fatalx("http_client: curl_multi_init failed");
	evtimer_assign(&client->timer, base, http_client_timeout_timer, client);
	TAILQ_INIT(&client->calls);
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION, http_client_socket_cb);
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION, http_client_timer_cb);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
	/*
	 * libcurl's own limit is four times the transfers in progress: as a burst
	 * of replies finishes, the cache shrinks with it and closes connections
	 * the next burst opens again (74 new connections per 1,000 texts at the
	 * gateway's limit, each a handshake and a dozen system calls).
	 */
	curl_multi_setopt(client->multi, CURLMOPT_MAXCONNECTS, keep_alive);
	return client;
}

void
http_client_free(struct http_client *client)
{
	struct http_call *call;
	struct http_response resp = { .status = 0, .error = "shutting down", .body = "" };

	if (client == NULL)
		return;
	while ((call = TAILQ_FIRST(&client->calls)) != NULL) {
		TAILQ_REMOVE(&client->calls, call, entry);
		curl_multi_remove_handle(client->multi, call->easy);
		call->done(&resp, call->arg);
		http_call_free(call);
	}
	evtimer_del(&client->timer);
	while (client->nidle > 0)
		curl_easy_cleanup(client->idle[--client->nidle]);
	curl_multi_cleanup(client->multi);
	free(client);
}

/* Starts a GET (post false, the body ignored) or a POST. */
static void
http_client_start(struct http_client *client, const struct http_request *req, bool post,
    http_client_done_cb *done, void *arg)
{
	struct http_call *call = xcalloc(1, sizeof *call);
	char *ctype;

	call->client = client;
	call->done = done;
	call->arg = arg;
	call->easy = client->nidle > 0 ? client->idle[--client->nidle] : curl_easy_init();
	if (call->easy == NULL)
		fatalx("http_client: curl_easy_init failed");
	if (post) {
		call->body = xmalloc(req->body_len + 1);  /* exactly body_len bytes go out */
		memcpy(call->body, req->body, req->body_len);
		call->body[req->body_len] = '\0';
		ctype = xasprintf("Content-Type: %s", req->content_type);
		call->headers = curl_slist_append(NULL, ctype);
		free(ctype);
		/* No "Expect: 100-continue" round trip for small bodies. */
		call->headers = curl_slist_append(call->headers, "Expect:");
		curl_easy_setopt(call->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(call->easy, CURLOPT_POSTFIELDS, call->body);
		curl_easy_setopt(call->easy, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
		curl_easy_setopt(call->easy, CURLOPT_HTTPHEADER, call->headers);
	} else {
		curl_easy_setopt(call->easy, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(call->easy, CURLOPT_URL, req->url);
	curl_easy_setopt(call->easy, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(call->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(call->easy, CURLOPT_WRITEFUNCTION, http_call_write_cb);
	curl_easy_setopt(call->easy, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(call->easy, CURLOPT_HEADERFUNCTION, http_call_header_cb);
	curl_easy_setopt(call->easy, CURLOPT_HEADERDATA, call);
	curl_easy_setopt(call->easy, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(call->easy, CURLOPT_PRIVATE, call);
	curl_easy_setopt(call->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (req->userpwd != NULL) {
		curl_easy_setopt(call->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(call->easy, CURLOPT_USERPWD, req->userpwd);
	}
	client->active++;
	TAILQ_INSERT_TAIL(&client->calls, call, entry);
	if (curl_multi_add_handle(client->multi, call->easy) != CURLM_OK)
		fatalx("http_client: curl_multi_add_handle failed");
}

void
http_client_post(struct http_client *client, const struct http_request *req,
    http_client_done_cb *done, void *arg)
{
	http_client_start(client, req, true, done, arg);
}

void
http_client_get(struct http_client *client, const struct http_request *req,
    http_client_done_cb *done, void *arg)
{
	http_client_start(client, req, false, done, arg);
}

size_t
http_client_active(const struct http_client *client)
{
	return client->active;
}
