/*
 * triage.h - the one place where the two emergency detectors are combined
 * (PURE).
 *
 * Why: the phrase rules (redflag.c) and the text model (triage_model.c) are
 * independent detectors; a text is an emergency when EITHER says so, and
 * likewise for see_doctor. The daemon (dialogue.c, inbound.c) and the CLI
 * (cli_triage.c) all call triage_scan(), so they can never disagree on how
 * the two verdicts combine.
 */
#ifndef CARENAV_GATEWAY_TRIAGE_H
#define CARENAV_GATEWAY_TRIAGE_H

#include <stddef.h>

#include "redflag.h"
#include "triage_model.h"

/* Which detector decided the level. */
#define TRIAGE_DETECTORS(X)                                                    \
	X(TRIAGE_BY_NONE, "none")   /* level none: neither detector fired */   \
	X(TRIAGE_BY_RULES, "rules") /* only the phrase rules reached the level */ \
	X(TRIAGE_BY_MODEL, "model") /* only the text model reached the level */ \
	X(TRIAGE_BY_BOTH, "both")   /* both reached the level */

#define TRIAGE_DETECTOR_ITEM(name, text) name,
enum triage_detector { TRIAGE_DETECTORS(TRIAGE_DETECTOR_ITEM) };
#undef TRIAGE_DETECTOR_ITEM

/* The reason id added to reasons[] when the model reached the level. */
#define TRIAGE_MODEL_REASON "text_model"

/* The detectors, loaded at the edge (main.c); both borrowed. */
struct triage {
	const struct redflag_rules *rules;  /* phrase rules; NULL = none fire */
	const struct triage_model *model;   /* text model; NULL = rules only */
};

struct triage_result {
	enum triage_level level;        /* the higher of the two verdicts */
	enum triage_detector detector;  /* who reached that level */
	enum triage_level rules_level;  /* the phrase rules' own verdict */
	enum triage_level model_level;  /* the model's own verdict (NONE without one) */
	double p_emergency;             /* the model's emergency probability, 0 without one */
	double p_see_doctor;            /* the model's see_doctor probability, 0 without one */
	const char *language;           /* "en" or "es"; static */
	size_t nreasons;                /* entries used in reasons */
	const char *reasons[REDFLAG_MAX_REASONS + 1]; /* rule ids (borrowed from
	                                   the rules), highest level first, and
	                                   TRIAGE_MODEL_REASON when the model
	                                   reached the level (first when it alone did) */
	char matched[160];              /* the rules' matched words, or when only the
	                                   model fired, "flagged by the text model (...)" */
};

/* Triages one text with both detectors. Never fails; any bytes are accepted. */
void triage_scan(const struct triage *t, const char *text, size_t len,
    struct triage_result *out);

/* "none", "rules", "model" or "both"; "unknown" for out-of-range values. */
const char *triage_detector_name(enum triage_detector d);

#endif
