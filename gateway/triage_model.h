/*
 * triage_model.h - the statistical text classifier beside the phrase rules
 * (PURE).
 *
 * Why: the phrase rules (redflag.c) miss wordings nobody wrote a rule for.
 * A second, independent detector - logistic regression over hashed word
 * unigrams, bigrams and character 3-5-grams of the matcher's own normalised
 * words - catches some of those. It only ever raises a level (triage.c
 * combines the two), so it cannot hide an emergency the rules see.
 *
 * The model is data (sql/triage/model.txt, written by "carenav triage
 * train"), parsed once by triage_model_load() and then only read: one model
 * may be shared by any number of concurrent predictions. No I/O, no clock,
 * no randomness; training (which needs liblinear) is in triage_train.c.
 */
#ifndef CARENAV_GATEWAY_TRIAGE_MODEL_H
#define CARENAV_GATEWAY_TRIAGE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrs.h"
#include "redflag.h"

#define TRIAGE_MODEL_CLASSES 3      /* indexed by enum triage_level */
#define TRIAGE_FEAT_MAX 8192        /* hashed features kept per text */
#define TRIAGE_HASH_BITS 20         /* feature space: 2^20 hash buckets */
#define TRIAGE_SCALE_FLOOR 100      /* see triage_model_scale() */
#define TRIAGE_MODEL_MAGIC "carenav-triage-model 1"

/* One text's features: hashed ids, sorted, each with its count. */
struct triage_features {
	size_t n;                          /* entries used */
	uint32_t id[TRIAGE_FEAT_MAX];      /* hash bucket, ascending, unique */
	float count[TRIAGE_FEAT_MAX];      /* occurrences in the text */
};

/*
 * True for the fifth of all texts (by a hash of the exact bytes) that the
 * shipped model never trains on: the quality gate (check_triage_eval)
 * measures the combined detector on them. The same text is always in the
 * same split, however the data files grow.
 */
bool triage_model_heldout(const char *text, size_t len);

/* Cross-validation fold (0..4) of a text that is not held out. */
unsigned triage_model_fold(const char *text, size_t len);

/*
 * The factor a text's feature counts are multiplied by, given the sum of
 * their squares: 1 / sqrt(max(sumsq, floor)). Texts are scaled to unit
 * length, except that a short one (fewer than about floor features, i.e.
 * three or four words) is not blown up to the weight of a long one: it
 * carries less evidence, so its probabilities stay nearer the priors, and
 * "my back hurts" cannot look like a whole emergency story.
 */
double triage_model_scale(double sumsq, double floor);

/* Opaque parsed model; see triage_model.c. */
struct triage_model;

/*
 * Extracts the features of one text: word unigrams and bigrams (within a
 * sentence) and character 3-5-grams inside each word, all over the words as
 * redflag.c normalises them, leaving out the topic words every text here
 * shares ("back", "pain", "hurts", "espalda", "dolor"...). Any bytes are accepted; past TRIAGE_FEAT_MAX
 * the rest of the text is ignored.
 */
void triage_model_features(const char *text, size_t len,
    struct triage_features *out);

/* Parses model text; NULL + *cause (caller frees) on any defect. */
struct triage_model *triage_model_load(const char *text, size_t len,
    char **cause) CN_MUSTCHECK;

/* Frees a model; NULL is a no-op. */
void triage_model_free(struct triage_model *m);

/* Features with a weight in the model (for the startup log and tests). */
size_t triage_model_size(const struct triage_model *m);

/* Probability at or above which the model raises level (SEE_DOCTOR or EMERGENCY). */
double triage_model_threshold(const struct triage_model *m,
    enum triage_level level);

/*
 * Class probabilities of an extracted text (prob[level], summing to 1) and
 * the level the model raises: EMERGENCY when prob[EMERGENCY] reaches its
 * threshold, else SEE_DOCTOR when prob[SEE_DOCTOR] reaches its threshold,
 * else NONE.
 */
enum triage_level triage_model_predict(const struct triage_model *m,
    const struct triage_features *f, double prob[TRIAGE_MODEL_CLASSES]);

#endif
