/*
 * provider.h - the one interface every SMS provider implements.
 *
 * A provider sends one message and says how it went. Adding a provider is
 * one new provider_<name>.c exporting a `const struct provider_ops` and one
 * line in the table in provider.c.
 */
#ifndef CARENAV_GATEWAY_PROVIDER_H
#define CARENAV_GATEWAY_PROVIDER_H

#include <stdbool.h>

#include "attrs.h"

struct config;
struct event_base;
struct http_client;

#define PROVIDER_RESULT_LIST(X)                                                \
	X(PROVIDER_SENT, "sent")         /* accepted by the provider: done */           \
	X(PROVIDER_RETRY, "retry")       /* temporary failure: try again after backoff */ \
	X(PROVIDER_REJECTED, "rejected") /* permanent failure: record, never retry */

enum provider_result {
#define X(id, name) id,
	PROVIDER_RESULT_LIST(X)
#undef X
};

const char *provider_result_name(enum provider_result result);

/* One SMS to send; all fields borrowed for the duration of send(). */
struct provider_sms {
	long long outbox_id;
	const char *to;
	const char *from;
	const char *body;   /* UTF-8 */
};

struct provider_outcome {
	enum provider_result result;
	const char *provider_sid;  /* the provider's message id when SENT, else NULL */
	const char *error;         /* why, when not SENT */
	long long retry_after_ms;  /* provider-requested delay (429 Retry-After), 0 = use backoff */
};

/* Called exactly once per send(), always from the event loop. */
typedef void provider_send_done_cb(const struct provider_outcome *outcome, void *arg);

/* What the provider needs from the gateway. */
struct provider_env {
	struct event_base *base;
	struct http_client *http;
	const struct config *cfg;
};

struct provider_ops {
	const char *name;  /* the SMS_PROVIDER value, also stored in messages.provider */
	/* Builds the provider's state; NULL + *cause on a setup error. */
	void *(*create)(const struct provider_env *env, char **cause);
	void (*destroy)(void *impl);
	void (*send)(void *impl, const struct provider_sms *sms, provider_send_done_cb *done, void *arg);
};

struct provider {
	const struct provider_ops *ops;  /* static */
	void *impl;                      /* owned by ops->destroy */
};

/* Creates the provider named by SMS_PROVIDER; false + *cause if unknown or misconfigured. */
bool provider_open(struct provider *p, const struct provider_env *env, char **cause) CN_MUSTCHECK;
void provider_close(struct provider *p);
void provider_send(struct provider *p, const struct provider_sms *sms, provider_send_done_cb *done,
    void *arg);

#endif
