/*
 * triage.c - combines the phrase rules and the text model. See triage.h.
 *
 * The combination is a plain OR per level: the result is the higher of the
 * two verdicts, so the model can raise a level the rules missed but never
 * lower one they found. Staff read the detector in the alert: a rule names
 * itself in reasons[] (its id) and quotes the matched words; the model adds
 * the reason "text_model" and, when it alone fired, says so in words in
 * matched[] with its probability.
 */
#include "triage.h"

#include <stdio.h>
#include <string.h>

#include "enum_name.h"

void
triage_scan(const struct triage *t, const char *text, size_t len,
    struct triage_result *out)
{
	struct redflag_result rf;
	struct triage_features f;
	double prob[TRIAGE_MODEL_CLASSES] = { 0 };
	bool rules_hit, model_hit;

	memset(out, 0, sizeof *out);
	redflag_scan(t->rules, text, len, &rf);
	out->rules_level = rf.level;
	out->language = rf.language;
	out->model_level = TRIAGE_NONE;
	if (t->model != NULL) {
		triage_model_features(text, len, &f);
		out->model_level = triage_model_predict(t->model, &f, prob);
		out->p_emergency = prob[TRIAGE_EMERGENCY];
		out->p_see_doctor = prob[TRIAGE_SEE_DOCTOR];
	}
	out->level = rf.level > out->model_level ? rf.level : out->model_level;
	rules_hit = out->level != TRIAGE_NONE && rf.level == out->level;
	model_hit = out->level != TRIAGE_NONE && out->model_level == out->level;
	out->detector = rules_hit && model_hit ? TRIAGE_BY_BOTH : rules_hit ? TRIAGE_BY_RULES :
	    model_hit ? TRIAGE_BY_MODEL : TRIAGE_BY_NONE;
	if (model_hit && !rules_hit)
		out->reasons[out->nreasons++] = TRIAGE_MODEL_REASON;
	for (size_t i = 0; i < rf.nreasons; i++)
		out->reasons[out->nreasons++] = rf.reasons[i];
	if (model_hit && rules_hit)
		out->reasons[out->nreasons++] = TRIAGE_MODEL_REASON;
	if (rules_hit)
		memcpy(out->matched, rf.matched, sizeof out->matched);
	else if (model_hit)
		snprintf(out->matched, sizeof out->matched, "flagged by the text model (%s probability %.2f)",
		    out->level == TRIAGE_EMERGENCY ? "emergency" : "see-doctor",
		    out->level == TRIAGE_EMERGENCY ? out->p_emergency : out->p_see_doctor);
}

/* The name of a detector outcome ("rules"), for logs and the stored triage. */
CN_ENUM_NAME(triage_detector_name, enum triage_detector, TRIAGE_DETECTORS)
