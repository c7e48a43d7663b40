/*
 * phone.h - what the gateway accepts as a phone number or address, and its
 * one canonical form (PURE).
 *
 * Every number that enters (webhooks of every provider, the staff CLI,
 * ESCALATION_FALLBACK_NUMBER) goes through phone_normalize(), so one
 * patient is one number however the provider or a person wrote it:
 * "15551110003", "tel:+1 555 111 0003", "0015551110003" and
 * "+15551110003" are all "+15551110003" for a clinic in country code 1.
 */
#ifndef CARENAV_GATEWAY_PHONE_H
#define CARENAV_GATEWAY_PHONE_H

#include <stdbool.h>
#include <stddef.h>

/* Room for the longest normalised address: a channel prefix, "+" and 15 digits. */
#define PHONE_NORM_MAX 80

/*
 * True for an E.164 number ("+15551230001"), a national or short code
 * ("5551230001", "12345"), or a channel-prefixed address as providers send
 * them ("whatsapp:+1555..."); false for anything with spaces, controls or
 * other text, or longer than 64 bytes.
 */
bool phone_valid(const char *s);

/* What phone_normalize may keep besides a full number. */
enum phone_accept {
	PHONE_FULL,        /* only a number that normalises to E.164 */
	PHONE_FULL_OR_SHORT, /* also a short code of 3-6 digits, kept as is (a clinic's own short code) */
};

/*
 * Writes the canonical form of s into out (PHONE_NORM_MAX bytes) and
 * returns true; false with *why (a static English phrase) if s is not a
 * phone number. country_code is the clinic's calling code (1 = North
 * America) for numbers written without one.
 *   - "tel:" is dropped; another lowercase channel prefix ("whatsapp:") is
 *     kept in front of the normalised number.
 *   - Spaces, '-', '.', '(' and ')' between digits are dropped.
 *   - International: "+", "00", and "011" when country_code is 1.
 *   - National, country code 1: 10 digits, or "1" and 10 digits.
 *   - National, other codes: a leading trunk "0" is dropped and the code
 *     put in front; digits that already start with the code and are 10 or
 *     more long are taken as international without the "+" (as SMSCs
 *     report them).
 *   - The result has 7 to 15 digits after "+", the first not 0, and
 *     exactly 11 when it starts with "+1".
 */
bool phone_normalize(const char *s, int country_code, enum phone_accept accept, char *out,
    const char **why);

/* True if s is already canonical: "+" and 7-15 digits (no channel prefix). */
bool phone_is_e164(const char *s);

/*
 * True if the E.164 number e164 ("+..."; a channel prefix is skipped) is in
 * one of the countries of list: calling codes separated by commas
 * ("1,44"), or "*" for every country. Calling codes are a prefix code, so
 * "starts with" is exact.
 */
bool phone_country_allowed(const char *e164, const char *list);

/*
 * Checks a country list for OUTBOUND_COUNTRIES: "*" or calling codes of 1-3
 * digits, the first not 0, separated by commas (spaces allowed). "" is
 * valid (the caller decides what it means). False + *why otherwise.
 */
bool phone_country_list_valid(const char *list, const char **why);

#endif
