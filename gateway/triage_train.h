/*
 * triage_train.h - trains the text model (triage_model.h) with liblinear.
 *
 * Why: the model must be rebuilt whenever a clinic adds labelled texts, by
 * one command, with the same output byte for byte for the same input, so a
 * changed model file in review always means changed data or code. Nothing
 * here reads files or the clock: the examples come in (cli_triage.c reads
 * them), the model text goes out.
 */
#ifndef CARENAV_GATEWAY_TRIAGE_TRAIN_H
#define CARENAV_GATEWAY_TRIAGE_TRAIN_H

#include <stddef.h>

#include "attrs.h"
#include "redflag.h"

struct triage_example {
	const char *text;           /* borrowed, NUL-terminated */
	enum triage_level level;    /* the label */
	const char *language;       /* "en" or "es" label; borrowed */
};

/*
 * Trains on the examples that are not held out (triage_model_heldout()):
 * 5-fold cross-validation picks the thresholds (see triage_train.c), then
 * the model is trained on all of them. Returns the model file text (caller
 * frees) and a human-readable summary in *summary (caller frees), or NULL
 * and *cause (caller frees) when there is too little data.
 */
char *triage_train(const struct triage_example *ex, size_t n, char **summary,
    char **cause) CN_MUSTCHECK;

#endif
