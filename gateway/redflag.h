/*
 * redflag.h - the red-flag / triage matcher run on every inbound SMS.
 *
 * Why: a patient texting about back pain may describe an emergency (the
 * article's "go to the emergency room if" list) or a reason to see a doctor
 * soon. The matcher decides which, so the daemon can answer "call 911" before
 * any dialogue logic runs. It is pure: no I/O, no clock, no randomness; the
 * phrase data (sql/triage/phrases.json) is compiled once by
 * redflag_rules_load() and then only read, so one rules object may be shared
 * by any number of concurrent scans.
 */
#ifndef CARENAV_GATEWAY_REDFLAG_H
#define CARENAV_GATEWAY_REDFLAG_H

#include <stdbool.h>
#include <stddef.h>

#include "attrs.h"

/* Triage outcome, ordered so that the higher value wins when several apply. */
#define TRIAGE_LEVELS(X)                                                       \
	X(TRIAGE_NONE, "none")             /* no red flag: dialogue continues */   \
	X(TRIAGE_SEE_DOCTOR, "see_doctor") /* recommend a doctor's visit soon */   \
	X(TRIAGE_EMERGENCY, "emergency")   /* tell the patient to call 911 now */

#define TRIAGE_ENUM_ITEM(name, text) name,
enum triage_level { TRIAGE_LEVELS(TRIAGE_ENUM_ITEM) };
#undef TRIAGE_ENUM_ITEM

/* Opaque compiled phrase data; see redflag.c. */
struct redflag_rules;

/* Parses and validates phrases.json text; NULL + *cause (caller frees) on error. */
struct redflag_rules *redflag_rules_load(const char *json_text, size_t len,
    char **cause) CN_MUSTCHECK;

/* Frees compiled rules; NULL is a no-op. */
void redflag_rules_free(struct redflag_rules *rules);

/* Number of rules in the compiled data (for tests and the operator API). */
size_t redflag_rules_count(const struct redflag_rules *rules);

/* Id of rule number i (0-based, file order), or NULL when out of range. */
const char *redflag_rule_id(const struct redflag_rules *rules, size_t i);

/* Level of rule number i, TRIAGE_NONE when out of range. */
enum triage_level redflag_rule_level(const struct redflag_rules *rules, size_t i);

#define REDFLAG_MAX_REASONS 8

struct redflag_result {
	enum triage_level level;   /* highest level of any rule that fired */
	const char *language;      /* "en" or "es", from lang_detect; static */
	size_t nreasons;           /* entries used in reasons */
	const char *reasons[REDFLAG_MAX_REASONS]; /* rule ids, borrowed from rules,
	                                             highest level first */
	char matched[160];         /* normalised words that triggered the top
	                              rule, NUL-terminated ASCII; "" if none */
};

/*
 * Scans one message. Never fails: any byte string (invalid UTF-8, binary,
 * empty, very long) is accepted; text need not be NUL-terminated.
 */
void redflag_scan(const struct redflag_rules *rules, const char *text,
    size_t len, struct redflag_result *out);

/* "none", "see_doctor" or "emergency"; "unknown" for out-of-range values. */
const char *triage_level_name(enum triage_level level);

/* Parses "none" / "see_doctor" / "emergency"; false if not one of them. */
bool triage_level_parse(const char *name, enum triage_level *out) CN_MUSTCHECK;

#endif
