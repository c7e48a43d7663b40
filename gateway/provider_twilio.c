/*
 * provider_twilio.c - Twilio's REST Messages API (and compatible services).
 *
 * POST {TWILIO_API_BASE}/2010-04-01/Accounts/{sid}/Messages.json with basic
 * auth and a form body. 2xx = accepted (the JSON answer carries the message
 * sid that delivery reports will name); 429, 5xx and transport errors are
 * temporary; any other 4xx is a permanent rejection (bad number, ...).
 */
#include "provider.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "form.h"
#include "http_client.h"
#include "log.h"
#include "xmalloc.h"

struct provider_twilio {
	struct http_client *http;  /* borrowed */
	char *url;                 /* owned: the Messages endpoint */
	char *userpwd;             /* owned: "sid:token" */
	char *status_callback;     /* owned: our /sms/status URL, or NULL */
	long timeout_ms;
};

struct provider_twilio_call {
	provider_send_done_cb *done;
	void *arg;
};

static void *
provider_twilio_create(const struct provider_env *env, char **cause)
{
	const struct config *cfg = env->cfg;
	struct provider_twilio *tw;
	size_t base_len = strlen(cfg->twilio_api_base);

	if (strncmp(cfg->twilio_api_base, "http://", 7) != 0 &&
	    strncmp(cfg->twilio_api_base, "https://", 8) != 0) {
		*cause = xasprintf("TWILIO_API_BASE must start with http:// or https://");
		return NULL;
	}
	tw = xcalloc(1, sizeof *tw);
	tw->http = env->http;
	/* Tolerate a trailing slash in the configured base. */
	if (base_len > 0 && cfg->twilio_api_base[base_len - 1] == '/')
		base_len--;
	tw->url = xasprintf("%.*s/2010-04-01/Accounts/%s/Messages.json", (int)base_len,
	    cfg->twilio_api_base, cfg->twilio_account_sid);
	tw->userpwd = xasprintf("%s:%s", cfg->twilio_account_sid, cfg->twilio_auth_token);
	if (cfg->public_base_url[0] != '\0')
		tw->status_callback = xasprintf("%s/sms/status", cfg->public_base_url);
	tw->timeout_ms = (long)cfg->provider_timeout_ms;
	return tw;
}

static void
provider_twilio_destroy(void *impl)
{
	struct provider_twilio *tw = impl;

	if (tw == NULL)
		return;
	free(tw->url);
	free(tw->userpwd);
	free(tw->status_callback);
	free(tw);
}

/* Twilio's error JSON is {"code": 21211, "message": "..."}; keep both for the record. */
static char *
provider_twilio_error_text(long status, json_t *doc)
{
	const char *message = json_string_value(json_object_get(doc, "message"));
	json_int_t code = json_integer_value(json_object_get(doc, "code"));

	if (message != NULL)
		return xasprintf("HTTP %ld: twilio error %lld: %.200s", status, (long long)code, message);
	return xasprintf("HTTP %ld", status);
}

static void
provider_twilio_done(const struct http_response *resp, void *arg)
{
	struct provider_twilio_call *call = arg;
	struct provider_outcome outcome = { 0 };
	json_t *doc = NULL;
	char *error = NULL;

	if (resp->status == 0) {
		outcome.result = PROVIDER_RETRY;
		error = xasprintf("no response: %s", resp->error);
	} else {
		doc = json_loadb(resp->body, resp->body_len, 0, NULL);
		if (resp->status >= 200 && resp->status < 300) {
			outcome.result = PROVIDER_SENT;
			outcome.provider_sid = json_string_value(json_object_get(doc, "sid"));
		} else {
			outcome.result = resp->status == 429 || resp->status >= 500 ? PROVIDER_RETRY
			                                                            : PROVIDER_REJECTED;
			error = provider_twilio_error_text(resp->status, doc);
		}
	}
	outcome.error = error;
	call->done(&outcome, call->arg);
	json_decref(doc);
	free(error);
	free(call);
}

static void
provider_twilio_send(void *impl, const struct provider_sms *sms, provider_send_done_cb *done,
    void *arg)
{
	struct provider_twilio *tw = impl;
	struct provider_twilio_call *call = xcalloc(1, sizeof *call);
	const char *kv[] = { "To", sms->to, "From", sms->from, "Body", sms->body,
		"StatusCallback", tw->status_callback };
	struct http_request req = { 0 };
	char *body = form_encode(kv, tw->status_callback ? 4 : 3);

	call->done = done;
	call->arg = arg;
	req.url = tw->url;
	req.content_type = "application/x-www-form-urlencoded";
	req.body = body;
	req.body_len = strlen(body);
	req.userpwd = tw->userpwd;
	req.timeout_ms = tw->timeout_ms;
	http_client_post(tw->http, &req, provider_twilio_done, call);
	free(body);
}

const struct provider_ops provider_twilio_ops = {
	.name = "twilio",
	.create = provider_twilio_create,
	.destroy = provider_twilio_destroy,
	.send = provider_twilio_send,
};
