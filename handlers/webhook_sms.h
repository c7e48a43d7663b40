/*
 * webhook_sms.h - the providers' inbound SMS and delivery-report webhooks.
 */
#ifndef CARENAV_HANDLERS_WEBHOOK_SMS_H
#define CARENAV_HANDLERS_WEBHOOK_SMS_H

#include <stdbool.h>

#include "http_reply.h"

struct provider_ops;

/* Handles a request to one of ops's webhook paths (provider_for_path). */
void webhook_sms_handle(struct evhttp_request *req, struct http_ctx *ctx,
    const struct provider_ops *ops, const char *path, bool is_status);

#endif
