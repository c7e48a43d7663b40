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
#include <stddef.h>

#include "attrs.h"
#include "segment.h"

struct config;
struct event_base;
struct form;
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
	const char *status;        /* when SENT: the provider's word for where the message is
	                              ("queued", "accepted", ...), or NULL for "sent" */
	const char *error;         /* why, when not SENT */
	long error_code;           /* the provider's own error code when not SENT, or 0 */
	long long retry_after_ms;  /* provider-requested delay (Retry-After on 429/503), 0 = use backoff */
};

/* Twilio's error code: the recipient has unsubscribed (STOP) from this sender. */
#define PROVIDER_ERROR_UNSUBSCRIBED 21610

/* Called exactly once per send(), always from the event loop. */
typedef void provider_send_done_cb(const struct provider_outcome *outcome, void *arg);

/* What the provider needs from the gateway. */
struct provider_env {
	struct event_base *base;
	struct http_client *http;
	const struct config *cfg;
};

typedef const char *provider_header_cb(void *arg, const char *name);

/* A webhook request as the HTTP layer received it; everything borrowed. */
struct provider_request {
	const char *method;        /* "GET" or "POST" */
	const char *path;          /* e.g. "/sms/inbound" */
	const char *query;         /* raw query string, or NULL */
	const char *body;          /* NUL-terminated */
	size_t body_len;
	const struct form *form;   /* the body if it is a form, else the query string, or NULL */
	bool form_is_body;         /* form came from an application/x-www-form-urlencoded body */
	provider_header_cb *header;  /* looks up a request header (case-insensitive) */
	void *header_arg;
	bool peer_loopback;        /* the TCP peer is this machine (127.0.0.0/8, ::1) */
};

/*
 * An inbound SMS as the provider reported it; strings borrowed from the
 * request, or from `owned` when the parser had to convert them (Kannel's
 * UTF-16 text). Release with provider_message_release().
 */
struct provider_message {
	const char *sid;    /* the provider's id for it: retries repeat it */
	const char *from;
	const char *to;
	const char *body;   /* UTF-8 */
	int num_media;
	const char *opt_out_type;  /* the provider recognised an opt-out keyword: "STOP", "START",
	                              "HELP" (Twilio's OptOutType), or NULL */
	char *owned;        /* owned: storage the parser allocated, or NULL */
};

/* A delivery report; strings borrowed from the request or static. */
struct provider_report {
	const char *sid;         /* the id the provider gave our message when it accepted it */
	const char *status;      /* carenav's name: queued, sent, delivered, undelivered, failed,
	                            or another of Twilio's (docs/api.md, "Delivery status") */
	const char *error_code;  /* the provider's, or "" */
};

#define PROVIDER_PARSE_LIST(X)                                                     \
	X(PROVIDER_PARSE_OK, 200)        /* usable */                                     \
	X(PROVIDER_PARSE_BAD, 400)       /* malformed or missing fields: *cause says which */ \
	X(PROVIDER_PARSE_METHOD, 405)    /* not the HTTP method this provider uses */     \
	X(PROVIDER_PARSE_MEDIA_TYPE, 415) /* not the content type this provider sends */   \
	X(PROVIDER_PARSE_FORBIDDEN, 403) /* signature or shared secret missing or wrong */

enum provider_parse {
#define X(id, status) id,
	PROVIDER_PARSE_LIST(X)
#undef X
};

/* Frees what a parser allocated for msg (the strings it points at go too). */
void provider_message_release(struct provider_message *msg);
/* The HTTP status that goes with a parse result. */
int provider_parse_status(enum provider_parse result);

struct provider_ops {
	const char *name;  /* the SMS_PROVIDER value, also stored in messages.provider */
	/* Builds the provider's state; NULL + *cause on a setup error. */
	void *(*create)(const struct provider_env *env, char **cause);
	void (*destroy)(void *impl);
	void (*send)(void *impl, const struct provider_sms *sms, provider_send_done_cb *done, void *arg);
	/*
	 * Webhooks the provider calls us on (NULL: none), and the one HTTP
	 * method each takes. Only the configured provider's (SMS_PROVIDER)
	 * exist: another provider's paths answer 404, so a forger cannot pick
	 * the provider whose check is weakest. verify, or else each parser,
	 * refuses (403) every request it cannot authenticate, also when no
	 * credential is set.
	 */
	const char *inbound_path;
	const char *status_path;
	const char *inbound_method;
	const char *status_method;
	const char *ok_content_type;  /* the answer the provider expects once we have the message */
	const char *ok_body;
	/* Authenticates a webhook before parse_inbound or parse_status reads it; NULL: they do it. */
	enum provider_parse (*verify)(const struct config *cfg, const struct provider_request *req,
	    char **cause);
	enum provider_parse (*parse_inbound)(const struct config *cfg, const struct provider_request *req,
	    struct provider_message *out, char **cause);
	enum provider_parse (*parse_status)(const struct config *cfg, const struct provider_request *req,
	    struct provider_report *out, char **cause);
};

struct provider {
	const struct provider_ops *ops;  /* static */
	void *impl;                      /* owned by ops->destroy */
};

/* The provider named name (an SMS_PROVIDER value), or NULL. */
const struct provider_ops *provider_find(const char *name);
/*
 * The provider named name if its inbound or status webhook is at path (sets
 * *is_status), else NULL: other providers' paths are not served.
 */
const struct provider_ops *provider_for_path(const char *name, const char *path, bool *is_status);
/* ops->verify's verdict on a webhook request, or PROVIDER_PARSE_OK when it has none. */
enum provider_parse provider_verify(const struct provider_ops *ops, const struct config *cfg,
    const struct provider_request *req, char **cause);
/*
 * Checks the secret a webhook request gave (NULL: it gave none) against the
 * configured one, in constant time so neither the secret's bytes nor its
 * length leak. FORBIDDEN with *cause "missing <name>" or "wrong <name>".
 */
enum provider_parse provider_secret_check(const char *secret, const char *given, const char *name,
    char **cause);
/* The HTTP method the provider's inbound or status webhook takes. */
const char *provider_path_method(const struct provider_ops *ops, bool is_status);
/*
 * True if the provider's inbound (or status) webhook would take a
 * well-formed request that carries no credential (no signature, no
 * secret) from a peer on loopback or elsewhere: an open door ("carenav
 * doctor" reports it). Nothing is stored.
 */
bool provider_webhook_open(const struct provider_ops *ops, const struct config *cfg, bool is_status,
    bool peer_loopback);
/* Creates the provider named by SMS_PROVIDER; false + *cause if unknown or misconfigured. */
bool provider_open(struct provider *p, const struct provider_env *env, char **cause) CN_MUSTCHECK;
void provider_close(struct provider *p);
void provider_send(struct provider *p, const struct provider_sms *sms, provider_send_done_cb *done,
    void *arg);

#define PROVIDER_TWILIO_MAX_CHARS 1600 /* Twilio's limit on one message body */

/* What one message may be with SMS_PROVIDER (longer replies are split, operator texts refused). */
void provider_limit(const struct config *cfg, struct segment_limit *out);

#endif
