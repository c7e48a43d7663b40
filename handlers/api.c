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
#include <sys/time.h>

#include "cidr.h"
#include "config.h"
#include "log.h"
#include "provider.h"
#include "ratelimit.h"
#include "segment.h"
#include "stats.h"
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
		api_digest(list.items[i].token, strlen(list.items[i].token), api->tokens[i].digest);
	}
	api->ntokens = list.n;
	optoken_list_clear(&list);
	api->operators = ratelimit_new(cfg->api_rate_per_minute, API_RATE_KEYS);
	api->failures = ratelimit_new(cfg->api_auth_failures_per_minute, API_RATE_KEYS);
	if (api->ntokens == 0)
		log_warn("api: OPERATOR_TOKENS is empty: the operator API and console refuse every request");
	else
		log_info("api: %zu operator token(s); %lld requests per minute per operator, %lld without a "
		    "valid token per client address", api->ntokens, cfg->api_rate_per_minute,
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

static int64_t
api_now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
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
api_begin(struct evhttp_request *req, struct http_ctx *ctx)
{
	struct api *api = ctx->api;
	const char *auth, *owner = NULL;
	char addr[CIDR_ADDR_MAX];
	int retry_after = 1;

	auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (api->ntokens > 0 && auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
		owner = api_token_owner(api, auth + 7);
	if (owner != NULL) {
		if (!ratelimit_take(api->operators, owner, api_now_ms(), &retry_after)) {
			api_refuse_rate(api, req, retry_after, owner, "operator");
			return NULL;
		}
		return owner;
	}
	stats.api_auth_failures++;
	http_client_address(req, ctx, addr, sizeof addr);
	if (!ratelimit_take(api->failures, addr, api_now_ms(), &retry_after)) {
		api_refuse_rate(api, req, retry_after, addr, "no valid token from");
		return NULL;
	}
	if (api->ntokens == 0) {
		api_error(req, 401, "api_disabled",
		    "the operator API is disabled: set OPERATOR_TOKENS on the gateway");
		return NULL;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
	    "Bearer realm=\"carenav\"");
	api_error(req, 401, "unauthorized", auth == NULL ?
	    "an operator token is required (Authorization: Bearer TOKEN)" :
	    "the operator token is not valid");
	return NULL;
}

/* The area hook: 404, 405 and 413 under /api/ only after the token is checked. */
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
	if (api_begin(req, ctx) != NULL) {
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

/* GET /api/me: who the token belongs to (the console shows it, and uses it to check a sign-in). */
static void
api_me(struct evhttp_request *req, struct http_ctx *ctx)
{
	const char *op = api_begin(req, ctx);
	struct segment_limit limit;

	if (op == NULL)
		return;
	/* What one text may be, so the console's counter says what the API will refuse. */
	provider_limit(ctx->cfg, &limit);
	api_reply_json(req, 200, json_pack("{s:s, s:{s:s, s:s, s:I, s:I}}", "operator", op, "sms",
	    "provider", ctx->cfg->sms_provider, "alphabet", ctx->cfg->sms_alphabet, "max_segments",
	    (json_int_t)limit.max_segments, "max_chars", (json_int_t)limit.max_chars));
}

const struct http_area api_area = { "/api/", api_reject };
const struct http_route api_me_route = { "GET", "/api/me", api_me };
