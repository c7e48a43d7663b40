/*
 * http_reply.c - reading a request and sending its answer: the helpers every
 * handler uses. See http_reply.h.
 */
#include "http_reply.h"

#include <sys/queue.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cidr.h"
#include "xmalloc.h"

/* Longest number "{id}" accepts: 18 digits always fit in an int64. */
#define HTTP_ID_MAX_DIGITS 18

size_t
http_id_len(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	if (n == 0 || n > HTTP_ID_MAX_DIGITS || s[0] == '0')
		return 0;
	return n;
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

const char *
http_client_address(struct evhttp_request *req, const struct http_ctx *ctx, char *buf, size_t size)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct evkeyval *h;
	char *peer = NULL, *all, *comma;
	ev_uint16_t port = 0;
	size_t len = 0;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	if (peer == NULL || !cidr_canonical(peer, buf, size)) {
		snprintf(buf, size, "%s", peer != NULL ? peer : "?");
		return buf;
	}
	if (ctx->trusted_proxies == NULL || !cidr_list_match(ctx->trusted_proxies, peer))
		return buf;
	/* Every X-Forwarded-For line in order: a proxy adds its own line after the client's. */
	all = xstrdup("");
	TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next) {
		if (strcasecmp(h->key, "X-Forwarded-For") == 0) {
			size_t n = strlen(h->value);

			all = xrealloc(all, len + n + 2);
			memcpy(all + len, h->value, n);
			all[len + n] = ',';
			all[len + n + 1] = '\0';
			len += n + 1;
		}
	}
	/* From the right (the hops our proxies wrote), skip trusted proxies; the first other is the client. */
	for (;;) {
		char hop[CIDR_ADDR_MAX], *item;
		size_t n;

		comma = strrchr(all, ',');
		item = comma != NULL ? comma + 1 : all;
		item += strspn(item, " \t");
		n = strcspn(item, " \t");
		item[n] = '\0';
		if (*item != '\0') {
			/* Not an address: stop at the last good hop (a trusted proxy's word). */
			if (!cidr_canonical(item, hop, sizeof hop))
				break;
			snprintf(buf, size, "%s", hop);
			if (!cidr_list_match(ctx->trusted_proxies, hop))
				break;
		}
		if (comma == NULL)
			break;
		*comma = '\0';
	}
	free(all);
	return buf;
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
