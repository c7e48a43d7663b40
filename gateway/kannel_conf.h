/*
 * kannel_conf.h - what kannel.conf says about a sendsms-user (PURE).
 *
 * kannel.conf is groups of "key = value" lines, each group opened by
 * "group = <name>" and ended by a blank line; '#' starts a comment and a
 * value may be in double quotes. `carenav doctor` reads the sendsms-user
 * the gateway sends as: smsbox cuts a text into at most that user's
 * max-messages segments (Kannel's default: 1) and drops the rest, and only
 * joins them into one concatenated SMS with concatenation = true.
 */
#ifndef CARENAV_GATEWAY_KANNEL_CONF_H
#define CARENAV_GATEWAY_KANNEL_CONF_H

#include <stdbool.h>

/* One sendsms-user group. */
struct kannel_conf_user {
	long max_messages; /* its max-messages; -1 if the group does not set it (or not a number) */
	int concatenation; /* 1 true, 0 false, -1 not set */
};

/*
 * Finds in text (a whole kannel.conf) the sendsms-user group whose username
 * is username and fills *out; false if there is none. Does not follow
 * "include" lines.
 */
bool kannel_conf_sendsms_user(const char *text, const char *username, struct kannel_conf_user *out);

#endif
