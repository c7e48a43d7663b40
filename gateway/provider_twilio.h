/*
 * provider_twilio.h - Twilio's webhook fields, shared with the sandbox
 * provider, which takes the same form (carenav-sim posts it) but
 * authenticates it its own way.
 */
#ifndef CARENAV_GATEWAY_PROVIDER_TWILIO_H
#define CARENAV_GATEWAY_PROVIDER_TWILIO_H

#include "provider.h"

/* Reads an inbound SMS from a Twilio-format form POST; checks no signature. */
enum provider_parse provider_twilio_read_inbound(const struct config *cfg, const struct provider_request *req,
    struct provider_message *out, char **cause);
/* Reads a delivery report from a Twilio-format form POST; checks no signature. */
enum provider_parse provider_twilio_read_status(const struct config *cfg, const struct provider_request *req,
    struct provider_report *out, char **cause);

/*
 * The webhook half of a provider_ops that takes Twilio's form: its paths,
 * methods, readers and empty TwiML answer (replies go through the outbox,
 * not inline). Each such provider sets its own verify.
 */
#define PROVIDER_TWILIO_WEBHOOKS                                                        \
	.inbound_path = "/sms/inbound",                                                 \
	.status_path = "/sms/status",                                                   \
	.inbound_method = "POST",                                                       \
	.status_method = "POST",                                                        \
	.ok_content_type = "text/xml",                                                  \
	.ok_body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>", \
	.parse_inbound = provider_twilio_read_inbound,                                  \
	.parse_status = provider_twilio_read_status

#endif
