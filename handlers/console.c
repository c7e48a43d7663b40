/*
 * console.c - serves the operator console (web/console/, compiled in).
 *
 *   GET /console    redirects to /console/
 *   GET /console/   index.html; GET /console/NAME one asset
 *
 * Assets are looked up by name in the embedded table, never on disk, and a
 * name may hold only [A-Za-z0-9._-] and not start with a dot, so no request
 * can reach another file. The console is static: it asks the operator for
 * their token and calls /api/ with it, so these routes need no auth. A
 * strict Content-Security-Policy allows only our own scripts and styles.
 */
#include "http_reply.h"

#include <event2/http.h>
#include <stdbool.h>
#include <string.h>

#include "embedded.h"

#define CONSOLE_PREFIX "/console/"
#define CONSOLE_MAX_NAME 64

struct console_type {
	const char *ext;
	const char *mime;
};

static const struct console_type console_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".json", "application/json" },
	{ ".txt", "text/plain; charset=utf-8" },
};

static bool
console_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CONSOLE_MAX_NAME || name[0] == '.')
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static const char *
console_mime(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof console_types / sizeof console_types[0]; i++) {
		size_t e = strlen(console_types[i].ext);

		if (n > e && strcmp(name + n - e, console_types[i].ext) == 0)
			return console_types[i].mime;
	}
	return "application/octet-stream";
}

static void
console_asset(struct evhttp_request *req, struct http_ctx *ctx)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL, *name;
	const struct embedded_file *f;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	(void)ctx;
	name = path != NULL ? path + strlen(CONSOLE_PREFIX) : "";
	if (*name == '\0')
		name = "index.html";
	if (!console_name_valid(name) || (f = embedded_find(embedded_console, name)) == NULL) {
		http_reply_text(req, 404, "not found");
		return;
	}
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; script-src 'self'; "
	    "style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
	    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
	http_reply_body(req, 200, console_mime(name), f->data);
}

static void
console_root(struct evhttp_request *req, struct http_ctx *ctx)
{
	(void)ctx;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location", CONSOLE_PREFIX);
	http_reply_text(req, 301, "moved to " CONSOLE_PREFIX);
}

const struct http_route console_routes[] = {
	{ "GET", "/console", .handler = console_root },
	{ "GET", CONSOLE_PREFIX "*", .handler = console_asset },
	{ .method = NULL },
};
