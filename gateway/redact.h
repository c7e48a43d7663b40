/*
 * redact.h - keeps numbers and message text out of what a provider says
 * about a failed send, before it is logged or stored (PURE).
 *
 * A provider's error text is not ours: Twilio's messages quote the number
 * ("The 'To' number +1555... is not a valid phone number") and some quote
 * the text sent. What carenav keeps of it (outbox.last_error,
 * messages.error, the log line) is the provider's status and code as it
 * gave them plus its message with every run of 7 or more digits masked,
 * any stretch copied from the message body replaced by "[message text]",
 * and the whole cut to a bounded length.
 */
#ifndef CARENAV_GATEWAY_REDACT_H
#define CARENAV_GATEWAY_REDACT_H

#include <stddef.h>

/* Longest error text kept, in bytes (before the "..." that marks a cut). */
#define REDACT_ERROR_MAX 200

/*
 * Masks every run of 7 or more digits in s, in place, keeping its last
 * four: "+15551230001" -> "+*******0001". Shorter runs (error codes such
 * as 21610, HTTP statuses) stay readable.
 */
void redact_digits(char *s);

/*
 * The provider's error text made safe to log and store: body stretches of
 * 12 or more bytes (the whole body if shorter) replaced, digits masked,
 * cut to REDACT_ERROR_MAX at a UTF-8 boundary, control bytes made spaces.
 * body may be NULL. Returns a new string (caller frees).
 */
char *redact_provider_error(const char *error, const char *body);

#endif
