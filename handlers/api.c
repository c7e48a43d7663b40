/*
 * api.c - authentication, rate limit and JSON replies of the operator API.
 * See api.h.
 *
 * Tokens are compared in constant time: the presented token and every
 * configured one are hashed with SHA-256 and the digests compared with
 * CRYPTO_memcmp against all tokens, without stopping at a match, so neither
 * the time taken nor the token's length tells an attacker anything.
 *
 * Rate limits come after the token check, in two separate sets of buckets,
 * so that nobody can spend someone else's allowance:
 * - an operator's requests count against that operator (API_RATE_PER_MINUTE
 *   per token), wherever they come from;
 * - requests without a valid token count against their client address
 *   (API_AUTH_FAILURES_PER_MINUTE), which throttles guessing and floods but
 *   never a valid operator, even one sharing the address. Tokens are at
 *   least 16 characters, so this bucket bounds the cost of a flood, not the
 *   odds of a guess.
 * The client address is the peer's, or X-Forwarded-For's when the peer is
 * one of TRUSTED_PROXIES (http_client_address), so clients behind the
 * shipped HAProxy get buckets of their own. A 429 is logged at most once a
 * minute, with how many it stands for.
 *
 * Operator accounts (sql/022_operators.sql): a bearer token that is not in
 * OPERATOR_TOKENS, or the console's session cookie, is hashed and looked up
 * with carenav_operator_auth on every request, so a disabled account, a
 * revoked or expired token or an ended session is refused from the next
 * request on, on every gateway. While the database answers, the request is
 * held; then the route's handler is called from the database's answer.
 * Only well-formed credentials reach the database.
 *
 * Reads that show patient data (a conversation with its full number, a
 * search, an export) are written to operator_actions before the handler
 * runs: no audit row, no data (503 instead). So is every request that may
 * change something ("request", "POST /api/..."), so each write attempt has
 * its client address next to the row the write's own SQL function adds.
 */
#include "api.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cidr.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "opauth.h"
#include "provider.h"
#include "ratelimit.h"
#include "segment.h"
#include "stats.h"
#include "store.h"
#include "store_api.h"
#include "timeutil.h"
#include "xmalloc.h"

/* Client addresses (and operators) tracked by a rate limit at most. */
#define API_RATE_KEYS 1024
#define API_DIGEST_LEN 32
/* At most one "rate limit" log line per this many ms. */
#define API_LIMIT_LOG_EVERY_MS 60000.0

struct api_token {
	char name[OPTOKEN_MAX_NAME + 1];
	unsigned char digest[API_DIGEST_LEN];  /* SHA-256 of the token; the token itself is not kept */
};

struct api {
	struct api_token *tokens;  /* owned */
	size_t ntokens;
	struct ratelimit *operators;  /* owned; keyed by operator name */
	struct ratelimit *failures;   /* owned; keyed by client address: requests without a valid token */
	struct log_throttle limited_log;  /* 429s */
	const struct config *cfg;         /* borrowed */
	struct api_who who;               /* the operator admitted last */
};

#define API_COOKIE "carenav_session"
#define API_TOKEN_LEN (sizeof OPAUTH_TOKEN_PREFIX - 1 + 64)

/* A request waiting for its credential check or its audit row. */
struct api_lookup {
	struct evhttp_request *req;
	struct http_ctx *ctx;
	enum api_role need;
	const struct http_route *route;  /* NULL: answer reject_code instead (an unknown path) */
	int reject_code;
	char *reject_msg;        /* owned */
	struct api_who who;
};

static void
api_digest(const char *data, size_t len, unsigned char out[API_DIGEST_LEN])
{
	unsigned int n = API_DIGEST_LEN;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
		fatalx("api: SHA-256 is not available");
}

struct api *
api_new(const struct config *cfg)
{
	struct api *api = xcalloc(1, sizeof *api);
	struct optoken_list list;
	char *cause = NULL;

	if (!optoken_parse(cfg->operator_tokens, &list, &cause))
		fatalx("%s", cause);
	api->tokens = xcalloc(list.n + 1, sizeof *api->tokens);
	for (size_t i = 0; i < list.n; i++) {
		snprintf(api->tokens[i].name, sizeof api->tokens[i].name, "%s", list.items[i].name);
		api_digest(list.items[i].value, strlen(list.items[i].value), api->tokens[i].digest);
	}
	api->ntokens = list.n;
	optoken_list_clear(&list);
	api->operators = ratelimit_new(cfg->api_rate_per_minute, API_RATE_KEYS);
	api->failures = ratelimit_new(cfg->api_auth_failures_per_minute, API_RATE_KEYS);
	api->cfg = cfg;
	if (!opauth_init())
		fatalx("api: libsodium or liboath could not start");
	log_info("api: %zu automation token(s) in OPERATOR_TOKENS, plus operator accounts "
	    "(carenav operator add); %lld requests per minute per operator, %lld without a valid "
	    "credential per client address", api->ntokens, cfg->api_rate_per_minute,
	    cfg->api_auth_failures_per_minute);
	return api;
}

void
api_free(struct api *api)
{
	if (api == NULL)
		return;
	ratelimit_free(api->operators);
	ratelimit_free(api->failures);
	free(api->tokens);
	free(api);
}

static void
api_common_headers(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
}

void
api_reply_raw(struct evhttp_request *req, int code, const char *json_text)
{
	api_common_headers(req);
	http_reply_body(req, code, "application/json", json_text);
}

void
api_reply_json(struct evhttp_request *req, int code, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);

	api_reply_raw(req, code, text ? text : "{}");
	free(text);
	json_decref(doc);
}

void
api_error(struct evhttp_request *req, int code, const char *code_word, const char *message)
{
	api_reply_json(req, code, json_pack("{s:{s:s, s:s}}", "error", "code", code_word, "message",
	    message));
}

void
api_db_error(struct evhttp_request *req, const char *what, const char *error)
{
	log_warn("api: %s failed: %s", what, error);
	api_error(req, 503, "unavailable", "the database is not available; try again shortly");
}

/* The operator whose token this is, or NULL; constant time in the token and its position. */
static const char *
api_token_owner(const struct api *api, const char *token)
{
	unsigned char digest[API_DIGEST_LEN];
	const char *owner = NULL;

	api_digest(token, strlen(token), digest);
	for (size_t i = 0; i < api->ntokens; i++) {
		bool same = CRYPTO_memcmp(digest, api->tokens[i].digest, API_DIGEST_LEN) == 0;

		owner = same ? api->tokens[i].name : owner;
	}
	return owner;
}

/* Answers 429 for a bucket that is empty; logged at most once a minute, with the count. */
static void
api_refuse_rate(struct api *api, struct evhttp_request *req, int retry_after, const char *who,
    const char *what)
{
	char value[16];
	unsigned long count;

	snprintf(value, sizeof value, "%d", retry_after);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", value);
	stats.api_rate_limited++;
	if (log_throttle_due(&api->limited_log, stats_now_ms(), API_LIMIT_LOG_EVERY_MS, &count))
		log_warn("api: rate limit: %lu request(s) refused with 429 since the last such line (at most one "
		    "a minute; latest: %s %s, retry in %d s)", count, what, who, retry_after);
	api_error(req, 429, "rate_limited", "too many requests; slow down and retry later");
}

const char *
api_role_name(enum api_role role)
{
	return role == API_ADMIN ? "admin" : role == API_RESPONDER ? "responder" : "viewer";
}

static enum api_role
api_role_parse(const char *s)
{
	return strcmp(s, "admin") == 0 ? API_ADMIN : strcmp(s, "responder") == 0 ? API_RESPONDER : API_VIEWER;
}

const struct api_who *
api_who(const struct http_ctx *ctx)
{
	return &ctx->api->who;
}

bool
api_count_failure(struct evhttp_request *req, struct http_ctx *ctx)
{
	char addr[CIDR_ADDR_MAX];
	int retry_after = 1;

	stats.api_auth_failures++;
	http_client_address(req, ctx, addr, sizeof addr);
	if (!ratelimit_take(ctx->api->failures, addr, timeutil_now_ms(), &retry_after)) {
		api_refuse_rate(ctx->api, req, retry_after, addr, "no valid credential from");
		return false;
	}
	return true;
}

static bool
api_is_hex64(const char *s, size_t len)
{
	return len == 64 && strspn(s, "0123456789abcdef") >= 64;
}

const char *
api_session_cookie(struct evhttp_request *req, char buf[65])
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie"), *p;
	size_t n = strlen(API_COOKIE);

	for (p = h; p != NULL && *p != '\0';) {
		while (*p == ' ' || *p == ';')
			p++;
		if (strncmp(p, API_COOKIE, n) == 0 && p[n] == '=') {
			size_t len = strcspn(p + n + 1, "; ");

			if (!api_is_hex64(p + n + 1, len))
				return NULL;
			memcpy(buf, p + n + 1, 64);
			buf[64] = '\0';
			return buf;
		}
		p = strchr(p, ';');
	}
	return NULL;
}

/* Answers 401 (after counting the failure against the client's address). */
static void
api_unauthorized(struct evhttp_request *req, struct http_ctx *ctx, const char *message)
{
	if (!api_count_failure(req, ctx))
		return;
	evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
	    "Bearer realm=\"carenav\"");
	api_error(req, 401, "unauthorized", message);
}

/* Copies the digits of q with all but the last four replaced by '*' (a number is never audited whole). */
static char *
api_mask_digits(const char *q)
{
	char *out = xstrdup(q);
	size_t digits = 0, seen = 0;

	for (const char *p = q; *p != '\0'; p++)
		digits += *p >= '0' && *p <= '9';
	for (char *p = out; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9' && ++seen + 4 <= digits)
			*p = '*';
	}
	return out;
}

/*
 * The audit row a request needs before its handler runs: a read that shows
 * patient data, or any request that may change something (its method and
 * path, so every write attempt has its client address; the write itself
 * adds its own row). *action and *detail (owned by the caller), *conv.
 * False if the request needs none.
 */
static bool
api_audit_spec(struct evhttp_request *req, const char **action, long long *conv, char **detail)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char *q, *kind, *from, *to, *full;

	*conv = 0;
	*detail = NULL;
	if (path == NULL)
		return false;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		if (strcmp(path, "/api/logout") == 0)
			return false;  /* audited as logout */
		*action = "request";
		*detail = xasprintf("%s %.200s", cmd == EVHTTP_REQ_POST ? "POST" : cmd == EVHTTP_REQ_PUT ? "PUT" :
		    cmd == EVHTTP_REQ_DELETE ? "DELETE" : cmd == EVHTTP_REQ_PATCH ? "PATCH" : "OTHER", path);
		if (strncmp(path, "/api/conversations/", 19) == 0)
			*conv = http_path_id(req);
		return true;
	}
	if (cmd != EVHTTP_REQ_GET)
		return false;
	if (strncmp(path, "/api/conversations/", 19) == 0 && path[19] != '\0' &&
	    strspn(path + 19, "0123456789") == strlen(path + 19)) {
		*action = "conversation_open";
		*conv = http_path_id(req);
		*detail = xstrdup("transcript and full number shown");
		return true;
	}
	if (strcmp(path, "/api/conversations") == 0) {
		q = api_query_get(req, "q");
		if (q == NULL || *q == '\0') {
			free(q);
			return false;
		}
		*action = "search";
		*detail = api_mask_digits(q);
		free(q);
		return true;
	}
	if (strcmp(path, "/api/export") == 0) {
		kind = api_query_get(req, "kind");
		from = api_query_get(req, "from");
		to = api_query_get(req, "to");
		full = api_query_get(req, "full");
		*action = full != NULL && strcmp(full, "1") == 0 ? "export_reveal" : "export";
		*detail = xasprintf("kind=%.40s from=%.40s to=%.40s%s", kind ? kind : "", from ? from : "",
		    to ? to : "", strcmp(*action, "export") == 0 ? "" : " with full numbers");
		free(kind);
		free(from);
		free(to);
		free(full);
		return true;
	}
	return false;
}

/* Hands a request whose checks finished asynchronously to its route's handler (or answers its reject). */
static void
api_lookup_resume(struct api_lookup *l)
{
	struct api *api = l->ctx->api;

	api->who = l->who;
	if (l->route == NULL) {
		api_error(l->req, l->reject_code, l->reject_code == 404 ? "not_found" :
		    l->reject_code == 405 ? "method_not_allowed" : l->reject_code == 413 ? "too_large" :
		    "bad_request", l->reject_msg);
	} else
		l->route->operator_handler(l->req, l->ctx, api->who.name);
}

static void
api_lookup_free(struct api_lookup *l)
{
	http_release(l->ctx);
	free(l->reject_msg);
	free(l);
}

static void
api_audit_done(const PGresult *res, const char *error, void *arg)
{
	struct api_lookup *l = arg;

	(void)res;
	if (error != NULL)
		api_db_error(l->req, "audit of a read", error);
	else
		api_lookup_resume(l);
	api_lookup_free(l);
}

enum api_admit { API_ADMIT_NOW, API_ADMIT_LATER, API_ADMIT_REFUSED };

/*
 * The checks after the credential: rate, role, CSRF, audit. LATER means
 * the audit row is being written and l (made here if NULL) resumes after.
 */
static enum api_admit
api_admit(struct evhttp_request *req, struct http_ctx *ctx, enum api_role need,
    const struct http_route *route, const struct api_who *who, struct api_lookup **lp)
{
	struct api *api = ctx->api;
	int retry_after = 1;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *action, *csrf;
	char addr[CIDR_ADDR_MAX], *detail, *msg;
	long long conv_id;
	struct api_lookup *l;

	if (!ratelimit_take(api->operators, who->name, timeutil_now_ms(), &retry_after)) {
		api_refuse_rate(api, req, retry_after, who->name, "operator");
		return API_ADMIT_REFUSED;
	}
	if (who->role < need) {
		msg = xasprintf("this needs the %s role; %s is %s", api_role_name(need), who->name,
		    api_role_name(who->role));
		api_error(req, 403, "forbidden", msg);
		free(msg);
		return API_ADMIT_REFUSED;
	}
	if (who->session && cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		csrf = evhttp_find_header(evhttp_request_get_input_headers(req), "X-CSRF-Token");
		if (csrf == NULL || strlen(csrf) != strlen(who->csrf) ||
		    CRYPTO_memcmp(csrf, who->csrf, strlen(who->csrf)) != 0) {
			api_error(req, 403, "csrf", "a signed-in request that changes something needs the "
			    "session's X-CSRF-Token header (GET /api/me gives it)");
			return API_ADMIT_REFUSED;
		}
	}
	if (!api_audit_spec(req, &action, &conv_id, &detail))
		return API_ADMIT_NOW;
	if ((l = *lp) == NULL) {
		l = *lp = xcalloc(1, sizeof *l);
		l->req = req;
		l->ctx = ctx;
		l->need = need;
		l->route = route;
		l->who = *who;
		http_hold(ctx);
	}
	http_client_address(req, ctx, addr, sizeof addr);
	store_api_audit_add(ctx->db, who->name, action, conv_id, detail, addr, api_audit_done, l);
	free(detail);
	return API_ADMIT_LATER;
}

static void
api_auth_done(const PGresult *res, const char *error, void *arg)
{
	struct api_lookup *l = arg;
	struct api_lookup *lp = l;

	if (error != NULL) {
		api_db_error(l->req, "operator lookup", error);
	} else if (PQntuples(res) == 0) {
		api_unauthorized(l->req, l->ctx, l->who.session ?
		    "the session has ended; sign in again" :
		    "the operator token is not valid (unknown, expired or revoked)");
	} else {
		snprintf(l->who.name, sizeof l->who.name, "%s", PQgetvalue(res, 0, 0));
		l->who.role = api_role_parse(PQgetvalue(res, 0, 1));
		snprintf(l->who.csrf, sizeof l->who.csrf, "%s", PQgetvalue(res, 0, 2));
		snprintf(l->who.language, sizeof l->who.language, "%s", PQgetvalue(res, 0, 3));
		if (l->route == NULL && l->reject_code != 0) {
			/* An unknown path: only the credential is checked, as for tokens. */
			api_lookup_resume(l);
		} else {
			switch (api_admit(l->req, l->ctx, l->need, l->route, &l->who, &lp)) {
			case API_ADMIT_NOW:
				api_lookup_resume(l);
				break;
			case API_ADMIT_LATER:
				return;  /* api_audit_done finishes it */
			case API_ADMIT_REFUSED:
				break;
			}
		}
	}
	api_lookup_free(l);
}

/* Starts the database check of a token or session; answers later. */
static void
api_lookup_start(struct evhttp_request *req, struct http_ctx *ctx, enum api_role need,
    const struct http_route *route, bool session, const char *secret, int reject_code, const char *reject_msg)
{
	struct api_lookup *l = xcalloc(1, sizeof *l);
	char digest[OPAUTH_HEX_MAX];

	l->req = req;
	l->ctx = ctx;
	l->need = need;
	l->route = route;
	l->who.session = session;
	l->reject_code = reject_code;
	l->reject_msg = reject_msg != NULL ? xstrdup(reject_msg) : NULL;
	opauth_sha256_hex(secret, digest);
	http_hold(ctx);
	store_api_operator_auth(ctx->db, session ? "session" : "token", digest, ctx->cfg->session_idle_s,
	    ctx->cfg->session_max_s, api_auth_done, l);
}

/* The shared start of api_route_run and api_reject: the operator, or NULL when answered or pending. */
static const char *
api_check(struct evhttp_request *req, struct http_ctx *ctx, enum api_role need, const struct http_route *route,
    int reject_code, const char *reject_msg)
{
	struct api *api = ctx->api;
	const char *auth, *owner = NULL, *bearer = NULL, *cookie;
	char cookie_buf[65];
	struct api_lookup *l = NULL;

	auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
		bearer = auth + 7;
	if (api->ntokens > 0 && bearer != NULL)
		owner = api_token_owner(api, bearer);
	if (owner != NULL) {
		memset(&api->who, 0, sizeof api->who);
		snprintf(api->who.name, sizeof api->who.name, "%s", owner);
		api->who.role = API_ADMIN;
		snprintf(api->who.language, sizeof api->who.language, "en");
		if (reject_code != 0) {
			int retry_after = 1;

			if (!ratelimit_take(api->operators, owner, timeutil_now_ms(), &retry_after)) {
				api_refuse_rate(api, req, retry_after, owner, "operator");
				return NULL;
			}
			return api->who.name;
		}
		switch (api_admit(req, ctx, need, route, &api->who, &l)) {
		case API_ADMIT_NOW:
			return api->who.name;
		case API_ADMIT_LATER:
		case API_ADMIT_REFUSED:
			return NULL;
		}
		return NULL;
	}
	if (bearer != NULL) {
		if (strlen(bearer) != API_TOKEN_LEN || strncmp(bearer, OPAUTH_TOKEN_PREFIX,
		    sizeof OPAUTH_TOKEN_PREFIX - 1) != 0 ||
		    !api_is_hex64(bearer + sizeof OPAUTH_TOKEN_PREFIX - 1, 64)) {
			api_unauthorized(req, ctx, "the operator token is not valid");
			return NULL;
		}
		api_lookup_start(req, ctx, need, route, false, bearer, reject_code, reject_msg);
	} else if ((cookie = api_session_cookie(req, cookie_buf)) != NULL) {
		api_lookup_start(req, ctx, need, route, true, cookie, reject_code, reject_msg);
	} else {
		api_unauthorized(req, ctx, auth == NULL ?
		    "sign in, or send an operator token (Authorization: Bearer TOKEN)" :
		    "the operator token is not valid");
		return NULL;
	}
	return NULL;
}

void
api_route_run(struct evhttp_request *req, struct http_ctx *ctx, const struct http_route *route)
{
	const char *op = api_check(req, ctx, route->need, route, 0, NULL);

	if (op != NULL)
		route->operator_handler(req, ctx, op);
}

/* The area hook: 404, 405 and 413 under /api/ only after the credential is checked. */
static void
api_reject(struct evhttp_request *req, struct http_ctx *ctx, int code, const char *message)
{
	const char *word = code == 404 ? "not_found" : code == 405 ? "method_not_allowed" :
	    code == 413 ? "too_large" : "bad_request";
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *a = evhttp_find_header(out, "Allow");
	char *allow = a != NULL ? xstrdup(a) : NULL;

	/* The methods a path takes are for those who may use it: not on a 401 or 429. */
	evhttp_remove_header(out, "Allow");
	if (api_check(req, ctx, API_VIEWER, NULL, code, message) != NULL) {
		if (allow != NULL)
			evhttp_add_header(out, "Allow", allow);
		api_error(req, code, word, message);
	}
	free(allow);
}

char *
api_query_get(struct evhttp_request *req, const char *name)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq kv;
	const char *v;
	char *out = NULL;

	if (query == NULL)
		return NULL;
	/* evhttp_parse_query_str initialises kv, also when it fails. */
	if (evhttp_parse_query_str(query, &kv) == 0 && (v = evhttp_find_header(&kv, name)) != NULL)
		out = xstrdup(v);
	evhttp_clear_headers(&kv);
	return out;
}

bool
api_query_int(struct evhttp_request *req, const char *name, long long def, long long min,
    long long max, long long *out)
{
	char *v = api_query_get(req, name), *end, *msg;
	long long n;
	bool valid;

	if (v == NULL || *v == '\0') {
		free(v);
		*out = def;
		return true;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	valid = errno == 0 && *end == '\0' && n >= min && n <= max;
	free(v);
	if (!valid) {
		msg = xasprintf("%s must be a whole number from %lld to %lld", name, min, max);
		api_error(req, 400, "invalid_parameter", msg);
		free(msg);
		return false;
	}
	*out = n;
	return true;
}

json_t *
api_body_json(struct evhttp_request *req)
{
	size_t len;
	const char *body = http_request_body(req, &len);
	json_t *doc;

	if (len == 0)
		return json_object();
	if (!http_content_type_is(req, "application/json")) {
		api_error(req, 415, "unsupported_media_type", "send the body as application/json");
		return NULL;
	}
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		api_error(req, 400, "invalid_json", "the body must be a JSON object");
		return NULL;
	}
	return doc;
}

struct api_call *
api_call_new(struct evhttp_request *req, struct http_ctx *ctx, const char *operator_name)
{
	struct api_call *call = xcalloc(1, sizeof *call);

	call->req = req;
	call->ctx = ctx;
	call->id = http_path_id(req);
	snprintf(call->operator_name, sizeof call->operator_name, "%s", operator_name);
	http_hold(ctx);
	return call;
}

void
api_call_end(struct api_call *call)
{
	http_release(call->ctx);
	free(call->text);
	free(call);
}

struct api_call *
api_call_doc(struct evhttp_request *req, struct http_ctx *ctx, const char *operator_name, const char *what,
    const char *missing)
{
	struct api_call *call = api_call_new(req, ctx, operator_name);

	call->what = what;
	call->missing = missing;
	return call;
}

void
api_doc_done(const PGresult *res, const char *error, void *arg)
{
	struct api_call *call = arg;

	if (error != NULL)
		api_db_error(call->req, call->what, error);
	else if (call->missing != NULL && PQgetisnull(res, 0, 0))
		api_error(call->req, 404, "not_found", call->missing);
	else
		api_reply_raw(call->req, 200, PQgetvalue(res, 0, 0));
	api_call_end(call);
}

const char *
api_action_result(struct api_call *call, const PGresult *res, const char *error, const char *what,
    const char *missing)
{
	const char *result;

	if (error != NULL) {
		api_db_error(call->req, what, error);
		return NULL;
	}
	result = store_col_text(res, 0, 0);
	if (missing != NULL && strcmp(result, "not_found") == 0) {
		api_error(call->req, 404, "not_found", missing);
		return NULL;
	}
	return result;
}

/* GET /api/me: who is signed in, their role and language, and a session's CSRF token. */
static void
api_me(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	const struct api_who *who = api_who(ctx);
	struct segment_limit limit;
	json_t *doc;

	/* What one text may be, so the console's counter says what the API will refuse. */
	provider_limit(ctx->cfg, &limit);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:I, s:I}}", "operator", op, "role",
	    api_role_name(who->role), "language", who->language, "via", who->session ? "session" : "token", "sms",
	    "provider", ctx->cfg->sms_provider, "alphabet", ctx->cfg->sms_alphabet, "max_segments",
	    (json_int_t)limit.max_segments, "max_chars", (json_int_t)limit.max_chars);
	if (who->session)
		json_object_set_new(doc, "csrf_token", json_string(who->csrf));
	api_reply_json(req, 200, doc);
}

const struct http_area api_area = { "/api/", api_reject };
const struct http_route api_routes[] = {
	{ "GET", "/api/me", .need = API_VIEWER, .operator_handler = api_me },
	{ .method = NULL },
};
