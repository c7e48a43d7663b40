/*
 * provider_twilio.h - Twilio's webhook fields, shared with the sandbox
 * provider, which takes the same form (carenav-sim posts it) but
 * authenticates it its own way.
 */
#ifndef CARENAV_GATEWAY_PROVIDER_TWILIO_H
#define CARENAV_GATEWAY_PROVIDER_TWILIO_H

#include "provider.h"

/* Reads an inbound SMS from a Twilio-format form POST; checks no signature. */
enum provider_parse provider_twilio_read_inbound(const struct provider_request *req,
    struct provider_message *out, char **cause);
/* Reads a delivery report from a Twilio-format form POST; checks no signature. */
enum provider_parse provider_twilio_read_status(const struct provider_request *req,
    struct provider_report *out, char **cause);

#endif
