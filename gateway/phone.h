/*
 * phone.h - what the gateway accepts as a phone number or address (PURE).
 */
#ifndef CARENAV_GATEWAY_PHONE_H
#define CARENAV_GATEWAY_PHONE_H

#include <stdbool.h>

/*
 * True for an E.164 number ("+15551230001"), a national or short code
 * ("5551230001", "12345"), or a channel-prefixed address as providers send
 * them ("whatsapp:+1555..."); false for anything with spaces, controls or
 * other text, or longer than 64 bytes.
 */
bool phone_valid(const char *s);

#endif
