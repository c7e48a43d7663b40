/*
 * api_login.c - console sign-in and sign-out.
 *
 *   POST /api/login  {"name", "password", "totp"?}   a session cookie + its CSRF token
 *   POST /api/logout                                  ends the session
 *
 * The session id is 256 random bits in an HttpOnly, SameSite=Strict cookie
 * (Secure when PUBLIC_BASE_URL is https); only its SHA-256 is stored. The
 * CSRF token comes back in the JSON (and from GET /api/me): the console
 * sends it as X-CSRF-Token on every request that changes something, and
 * api_route_run refuses such a request with the cookie but without the token.
 *
 * Checking a password is deliberately slow (Argon2id, opauth.c) and runs
 * on the event loop: about a tenth of a second per attempt. Wrong attempts
 * count against the account (LOGIN_MAX_FAILURES, then locked for
 * LOGIN_LOCKOUT_S: that account only) and against the client address
 * (API_AUTH_FAILURES_PER_MINUTE), and are audited.
 */
#include "http_reply.h"

#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "cidr.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "opauth.h"
#include "store.h"
#include "store_api.h"
#include "xmalloc.h"

#define LOGIN_MAX_FIELD 256

struct login_call {
	struct evhttp_request *req;
	struct http_ctx *ctx;
	char *name;        /* owned */
	char *password;    /* owned; wiped before free */
	char *totp;        /* owned, or NULL */
	char sid[OPAUTH_HEX_MAX];   /* the new session's cookie value */
	char csrf[OPAUTH_HEX_MAX];
	char addr[CIDR_ADDR_MAX];
	char role[16];
	bool ok;
};

/* An Argon2id string of a random password, made once, for sign-ins to unknown names. */
static const char *
login_dummy_hash(void)
{
	static char hash[OPAUTH_HASH_MAX];
	char password[OPAUTH_HEX_MAX];

	if (hash[0] == '\0') {
		opauth_random_hex(password);
		if (!opauth_password_hash(password, hash))
			hash[0] = '\0';
	}
	return hash[0] != '\0' ? hash : NULL;
}

static void
login_free(struct login_call *c)
{
	http_release(c->ctx);
	free(c->name);
	if (c->password != NULL) {
		memset(c->password, 0, strlen(c->password));
		free(c->password);
	}
	free(c->totp);
	free(c);
}

static void
login_result_done(const PGresult *res, const char *error, void *arg)
{
	struct login_call *c = arg;
	const char *result = error ? NULL : store_col_text(res, 0, 0);
	char *cookie;

	if (error != NULL) {
		api_db_error(c->req, "sign-in", error);
	} else if (strcmp(result, "ok") == 0) {
		cookie = xasprintf("carenav_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", c->sid,
		    c->ctx->cfg->session_max_s, strncmp(c->ctx->cfg->public_base_url, "https://", 8) == 0 ?
		    "; Secure" : "");
		evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie", cookie);
		free(cookie);
		log_info("api: operator=%s signed in", c->name);
		api_reply_json(c->req, 200, json_pack("{s:s, s:s}", "operator", c->name, "csrf_token", c->csrf));
	} else if (strcmp(result, "locked") == 0) {
		api_error(c->req, 423, "locked", "too many failed sign-ins: this account is locked for a while "
		    "(an admin can unlock it with carenav operator reset)");
	} else if (api_count_failure(c->req, c->ctx)) {
		api_error(c->req, 401, "unauthorized", "wrong name, password or code");
	}
	login_free(c);
}

static void
login_get_done(const PGresult *res, const char *error, void *arg)
{
	struct login_call *c = arg;
	const char *status;
	char digest[OPAUTH_HEX_MAX];

	if (error != NULL) {
		api_db_error(c->req, "sign-in", error);
		login_free(c);
		return;
	}
	status = store_col_text(res, 0, 0);
	if (strcmp(status, "ok") == 0) {
		c->ok = opauth_password_verify(PQgetvalue(res, 0, 1), c->password);
		if (c->ok && !PQgetisnull(res, 0, 2))
			c->ok = opauth_totp_check(PQgetvalue(res, 0, 2), c->totp, time(NULL));
	} else if (strcmp(status, "unknown") == 0) {
		/* As slow as a real check, so the time taken does not tell which names exist. */
		(void)opauth_password_verify(login_dummy_hash(), c->password);
	}
	opauth_random_hex(c->sid);
	opauth_random_hex(c->csrf);
	opauth_sha256_hex(c->sid, digest);
	store_api_login_result(c->ctx->db, c->name, c->ok, c->ctx->cfg->login_max_failures,
	    c->ctx->cfg->login_lockout_s, digest, c->csrf, c->addr, login_result_done, c);
}

/* A string member of at most LOGIN_MAX_FIELD bytes, or NULL. */
static const char *
login_field(json_t *body, const char *key)
{
	json_t *v = json_object_get(body, key);
	const char *s = json_string_value(v);

	if (s == NULL || *s == '\0' || strlen(s) > LOGIN_MAX_FIELD || json_string_length(v) != strlen(s))
		return NULL;
	return s;
}

static void
login_post(struct evhttp_request *req, struct http_ctx *ctx)
{
	json_t *body = api_body_json(req);
	const char *name, *password, *totp;
	struct login_call *c;

	if (body == NULL)
		return;
	name = login_field(body, "name");
	password = login_field(body, "password");
	totp = login_field(body, "totp");
	if (name == NULL || password == NULL) {
		api_error(req, 422, "invalid_body", "name and password must be non-empty strings of at most 256 "
		    "bytes");
	} else {
		c = xcalloc(1, sizeof *c);
		c->req = req;
		c->ctx = ctx;
		c->name = xstrdup(name);
		c->password = xstrdup(password);
		c->totp = totp ? xstrdup(totp) : NULL;
		http_client_address(req, ctx, c->addr, sizeof c->addr);
		http_hold(ctx);
		store_api_login_get(ctx->db, c->name, login_get_done, c);
	}
	json_decref(body);
}

static void
logout_done(const PGresult *res, const char *error, void *arg)
{
	struct api_call *call = arg;

	(void)res;
	if (error != NULL) {
		api_db_error(call->req, "sign-out", error);
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(call->req), "Set-Cookie",
		    "carenav_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
		api_reply_json(call->req, 200, json_pack("{s:b}", "signed_out", 1));
	}
	api_call_end(call);
}

static void
logout_post(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	const char *cookie;
	char buf[65], digest[OPAUTH_HEX_MAX], addr[CIDR_ADDR_MAX];

	if (!api_who(ctx)->session || (cookie = api_session_cookie(req, buf)) == NULL) {
		api_error(req, 400, "no_session", "sign-out is for console sessions; tokens are revoked with "
		    "carenav operator revoke");
		return;
	}
	opauth_sha256_hex(cookie, digest);
	http_client_address(req, ctx, addr, sizeof addr);
	store_api_logout(ctx->db, digest, addr, logout_done, api_call_new(req, ctx, op));
}

const struct http_route api_login_routes[] = {
	{ "POST", "/api/login", .handler = login_post },
	{ "POST", "/api/logout", .need = API_VIEWER, .operator_handler = logout_post },
	{ .method = NULL },
};
