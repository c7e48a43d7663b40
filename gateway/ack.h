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

/*
 * What a staff text asks for. A staff phone is known by caller ID only,
 * which can be forged, so by default an ACK must name the escalation's
 * code, which only the alerted phones were sent.
 */
#define ACK_KIND_LIST(X)                                                              \
	X(ACK_NONE, "none")            /* not an acknowledgement: answered with the staff help */ \
	X(ACK_CODED, "coded")          /* "ACK 4821": takes the open escalation with that code */ \
	X(ACK_BARE, "bare")            /* "ACK", allowed: takes the sender's one open alert, if one */ \
	X(ACK_CODE_REQUIRED, "code_required") /* "ACK", not allowed: asked to reply "ACK <code>" */

enum ack_kind {
#define X(id, name) id,
	ACK_KIND_LIST(X)
#undef X
};

const char *ack_kind_name(enum ack_kind kind);
/*
 * Classifies a staff text (ack_parse reads it; code gets its digits). A bare
 * ACK is ACK_BARE when bare_allowed (ACK_BARE_ALLOWED=1), else
 * ACK_CODE_REQUIRED.
 */
enum ack_kind ack_classify(const char *text, bool bare_allowed, char code[ACK_CODE_MAX]);

#endif
