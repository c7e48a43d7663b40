/*
 * ack.h - reading a staff member's acknowledgement text (PURE).
 */
#ifndef CARENAV_GATEWAY_ACK_H
#define CARENAV_GATEWAY_ACK_H

#include <stdbool.h>
#include <stddef.h>

#define ACK_CODE_MAX 8  /* digits kept, plus room for the NUL */

/*
 * True if text acknowledges an alert: "ACK", "ack 4821", "ACK4821",
 * "Ack #4821", "acknowledged 4821", "OK 4821" (a code is required after OK,
 * so "ok" alone stays a plain answer). code gets the digits, "" for a bare ACK.
 */
bool ack_parse(const char *text, char code[ACK_CODE_MAX]);

#endif
