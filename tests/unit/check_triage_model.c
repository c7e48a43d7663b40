/*
 * check_triage_model.c - unit tests for the text model (triage_model.c) and
 * the one place the two detectors are combined (triage.c).
 *
 * Environment (paths relative to the working directory):
 *   REDFLAG_PHRASES  phrase data (default: sql/triage/phrases.json)
 *   TRIAGE_MODEL     the shipped model (default: sql/triage/model.txt)
 *
 * Why: the model must see words exactly as the phrase matcher does, must
 * refuse a damaged file rather than run as a weaker detector, and the
 * combination must be an OR that says which detector fired; each is pinned
 * here with a hand-written model whose weights are known.
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "file_text.h"
#include "redflag.h"
#include "triage.h"
#include "triage_files.h"
#include "triage_model.h"
#include "unit_helpers.h"

static bool
same_features(const char *a, const char *b)
{
	static struct triage_features fa, fb;

	triage_model_features(a, strlen(a), &fa);
	triage_model_features(b, strlen(b), &fb);
	return fa.n == fb.n && memcmp(fa.id, fb.id, fa.n * sizeof fa.id[0]) == 0 &&
	    memcmp(fa.count, fb.count, fa.n * sizeof fa.count[0]) == 0;
}

/* The matcher's normaliser, not a second one: case, accents, apostrophes, letter runs. */
START_TEST(test_features_normalised)
{
	static struct triage_features f;

	ck_assert(same_features("VÓMITO y FIEBRE", "vomito y fiebre"));
	ck_assert(same_features("Can\xe2\x80\x99t pee", "cant pee"));
	ck_assert(same_features("sooooo dizzy", "soo dizzy"));
	ck_assert(!same_features("cant pee", "pee cant"));  /* bigrams keep order */
	ck_assert(!same_features("fever?", "fever"));       /* a question is a feature */
	/* topic words every text shares are not evidence */
	ck_assert(same_features("back pain, fever since this morning", "fever since this morning"));
	ck_assert(same_features("me duele la espalda y tengo fiebre", "me la y tengo fiebre"));
	/* "feel. sick" has no bigram across the full stop; "feel sick" has one. */
	triage_model_features("feel sick", 9, &f);
	{
		size_t n_joined = f.n;

		triage_model_features("feel. sick", 10, &f);
		ck_assert_uint_eq(f.n + 1, n_joined);
	}
	for (size_t i = 1; i < f.n; i++)
		ck_assert_uint_gt(f.id[i], f.id[i - 1]);
	triage_model_features(NULL, 5, &f);
	ck_assert_uint_eq(f.n, 0);
}
END_TEST

/* True when every feature of b is among those of a. */
static bool
features_include(const char *a, const char *b)
{
	static struct triage_features fa, fb;
	size_t i, j = 0;

	triage_model_features(a, strlen(a), &fa);
	triage_model_features(b, strlen(b), &fb);
	for (i = 0; i < fb.n; i++) {
		while (j < fa.n && fa.id[j] < fb.id[i])
			j++;
		if (j == fa.n || fa.id[j] != fb.id[i])
			return false;
	}
	return true;
}

/*
 * A word a negation denies is a feature of its own ("sin fiebre" has no
 * feature of "fiebre"), for five words of its clause; a comma, a full stop
 * or "but" / "pero" ends the denial, and "cant" is no negation ("cant pee"
 * reports a symptom).
 */
START_TEST(test_features_negation)
{
	static struct triage_features f, g;
	size_t i, j;

	triage_model_features("sin fiebre", 10, &f);
	triage_model_features("fiebre", 6, &g);
	for (i = 0; i < g.n; i++) {
		for (j = 0; j < f.n; j++)
			ck_assert_uint_ne(f.id[j], g.id[i]);
	}
	ck_assert(!features_include("not nauseous", "nauseous"));
	ck_assert(!features_include("no tengo ganas de vomitar", "vomitar"));
	ck_assert(features_include("no fever, vomiting", "vomiting"));
	ck_assert(features_include("no fever. vomiting", "vomiting"));
	ck_assert(features_include("no fever but vomiting", "vomiting"));
	ck_assert(features_include("no fever pero vomito", "vomito"));
	ck_assert(!features_include("not one two three four fever", "fever"));
	ck_assert(features_include("not one two three four five fever", "fever"));
	ck_assert(features_include("i cant pee", "pee"));
}
END_TEST

/* Distinct features of a text. */
static size_t
nfeatures(const char *text)
{
	static struct triage_features f;

	triage_model_features(text, strlen(text), &f);
	return f.n;
}

/* Features the two texts share. */
static size_t
common_features(const char *a, const char *b)
{
	static struct triage_features fa, fb;
	size_t i = 0, j = 0, n = 0;

	triage_model_features(a, strlen(a), &fa);
	triage_model_features(b, strlen(b), &fb);
	while (i < fa.n && j < fb.n) {
		if (fa.id[i] == fb.id[j]) {
			n++;
			i++;
			j++;
		} else if (fa.id[i] < fb.id[j]) {
			i++;
		} else {
			j++;
		}
	}
	return n;
}

/*
 * Round 6. A body temperature is a feature of its band: "37.2" and "98.6"
 * share exactly that one, "37.2" and "38.5" nothing. The words of a
 * sentence that says something is over get a second feature each: joining
 * "dizzy" to the sentence "it passed" adds its bigram and its mark; joining
 * it to "it passed out" (no resolution) only the bigram. "Estoy bien
 * mareada" is no resolution; "ya estoy bien" at the end of a clause is.
 */
START_TEST(test_features_marks)
{
	ck_assert_uint_eq(common_features("37.2", "98.6"), 1);
	ck_assert_uint_eq(common_features("38.5", "101.2"), 1);
	ck_assert_uint_eq(common_features("37.2", "38.5"), 0);
	ck_assert_uint_eq(common_features("im 25", "38.5"), 0);
	ck_assert(features_include("i was dizzy but that passed", "i was dizzy"));
	ck_assert_uint_eq(nfeatures("dizzy, it passed"), nfeatures("dizzy. it passed") + 2);
	ck_assert_uint_eq(nfeatures("dizzy, it passed out"), nfeatures("dizzy. it passed out") + 1);
	ck_assert_uint_eq(nfeatures("mareo, se me quito"), nfeatures("mareo. se me quito") + 2);
	ck_assert_uint_eq(nfeatures("vomite, ya estoy bien"), nfeatures("vomite. ya estoy bien") + 2);
	ck_assert_uint_eq(nfeatures("vomite, estoy bien mareada"), nfeatures("vomite. estoy bien mareada") + 1);
	ck_assert_uint_eq(nfeatures("numb, its gone numb"), nfeatures("numb. its gone numb") + 1);
	ck_assert_uint_eq(nfeatures("threw up, its gone"), nfeatures("threw up. its gone") + 3);
}
END_TEST

/* Hostile input: binary, invalid UTF-8, far more text than TRIAGE_FEAT_MAX. */
START_TEST(test_features_hostile)
{
	static struct triage_features f;
	size_t n = 200000;
	char *buf = malloc(n);

	for (size_t i = 0; i < n; i++)
		buf[i] = (char)((i * 2654435761u) >> 13);
	triage_model_features(buf, n, &f);
	ck_assert_uint_le(f.n, TRIAGE_FEAT_MAX);
	ck_assert_uint_gt(f.n, 0);
	free(buf);
}
END_TEST

/* A model in which every feature of "zzqx" pushes hard to emergency. */
static char *
marker_model(void)
{
	static struct triage_features f;
	size_t cap = 1 << 16, len = 0;
	char *s = malloc(cap);

	triage_model_features("zzqx", 4, &f);
	len += (size_t)snprintf(s + len, cap - len, "%s\n# test model\nhash_bits %d\nscale_floor 0\nthreshold_emergency 0.5\n"
	    "threshold_see_doctor 0.5\nweights %zu\nbias 2 -2 -4\n", TRIAGE_MODEL_MAGIC, TRIAGE_HASH_BITS, f.n);
	for (size_t i = 0; i < f.n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%u -4 0 12\n", f.id[i]);
	snprintf(s + len, cap - len, "end\n");
	return s;
}

START_TEST(test_model_predict)
{
	static struct triage_features f;
	char *text = marker_model(), *cause = NULL;
	struct triage_model *m = triage_model_load(text, strlen(text), &cause);
	double p[TRIAGE_MODEL_CLASSES];

	ck_assert_msg(m != NULL, "%s", cause ? cause : "?");
	ck_assert_double_eq_tol(triage_model_threshold(m, TRIAGE_EMERGENCY), 0.5, 1e-9);
	triage_model_features("ZZQX", 4, &f);
	ck_assert_int_eq(triage_model_predict(m, &f, p), TRIAGE_EMERGENCY);
	ck_assert_double_gt(p[TRIAGE_EMERGENCY], 0.8);
	ck_assert_double_eq_tol(p[0] + p[1] + p[2], 1.0, 1e-9);
	triage_model_features("my back is sore", 15, &f);  /* no known feature: bias only */
	ck_assert_int_eq(triage_model_predict(m, &f, p), TRIAGE_NONE);
	ck_assert_double_lt(p[TRIAGE_EMERGENCY], 0.1);
	triage_model_free(m);
	triage_model_free(NULL);
	free(text);
}
END_TEST

/* The OR, the detector and the words staff read in the alert. */
START_TEST(test_combined)
{
	char *text, *cause = NULL;
	struct redflag_rules *rules;
	struct triage_model *m;
	struct triage t;
	struct triage_result r;

	rules = triage_files_rules();
	text = marker_model();
	m = triage_model_load(text, strlen(text), &cause);
	ck_assert_ptr_nonnull(m);
	free(text);
	t.rules = rules;
	t.model = m;

	triage_scan(&t, "my back hurts zzqx", 18, &r);
	ck_assert_int_eq(r.level, TRIAGE_EMERGENCY);
	ck_assert_int_eq(r.rules_level, TRIAGE_NONE);
	ck_assert_int_eq(r.detector, TRIAGE_BY_MODEL);
	ck_assert_str_eq(triage_detector_name(r.detector), "model");
	ck_assert_uint_eq(r.nreasons, 1);
	ck_assert_str_eq(r.reasons[0], TRIAGE_MODEL_REASON);
	ck_assert_msg(strncmp(r.matched, "flagged by the text model (emergency probability 0.", 51) == 0,
	    "matched: %s", r.matched);

	triage_scan(&t, "i cant pee at all", 17, &r);
	ck_assert_int_eq(r.level, TRIAGE_EMERGENCY);
	ck_assert_int_eq(r.detector, TRIAGE_BY_RULES);
	ck_assert_int_eq(r.model_level, TRIAGE_NONE);
	ck_assert_uint_ge(r.nreasons, 1);
	for (size_t i = 0; i < r.nreasons; i++)
		ck_assert_str_ne(r.reasons[i], TRIAGE_MODEL_REASON);
	ck_assert_str_ne(r.matched, "");
	ck_assert(strstr(r.matched, "text model") == NULL);

	triage_scan(&t, "i cant pee at all zzqx", 22, &r);
	ck_assert_int_eq(r.detector, TRIAGE_BY_BOTH);
	ck_assert_str_eq(r.reasons[r.nreasons - 1], TRIAGE_MODEL_REASON);
	ck_assert_str_ne(r.reasons[0], TRIAGE_MODEL_REASON);

	/* The model never lowers the rules' level, and without a model the rules decide alone. */
	t.model = NULL;
	triage_scan(&t, "my back hurts zzqx", 18, &r);
	ck_assert_int_eq(r.level, TRIAGE_NONE);
	ck_assert_int_eq(r.detector, TRIAGE_BY_NONE);
	ck_assert_uint_eq(r.nreasons, 0);
	ck_assert_double_eq(r.p_emergency, 0);
	ck_assert_str_eq(r.language, "en");
	triage_scan(&t, "no puedo orinar", 15, &r);
	ck_assert_str_eq(r.language, "es");

	triage_model_free(m);
	redflag_rules_free(rules);
}
END_TEST

static void
expect_refused(const char *text, const char *needle)
{
	char *cause = NULL;
	struct triage_model *m = triage_model_load(text, strlen(text), &cause);
	bool accepted = m != NULL;

	triage_model_free(m);  /* one accepted by mistake fails the test below, not the leak check */
	unit_assert_refused(accepted, text, cause, needle);
}

START_TEST(test_load_refuses)
{
	const char *path = triage_files_path("TRIAGE_MODEL", "sql/triage/model.txt");
	char *text, *cause = NULL, *cut;
	const char *good;
	size_t len;
	struct triage_model *m;

#define HEAD TRIAGE_MODEL_MAGIC "\nhash_bits 20\nscale_floor 0\nthreshold_emergency 0.5\nthreshold_see_doctor 0.5\n"
	expect_refused("", "not a carenav triage model");
	expect_refused("carenav-triage-model 2\n", "not a carenav triage model");
	expect_refused(TRIAGE_MODEL_MAGIC "\nhash_bits 18\n", "retrain");
	expect_refused(TRIAGE_MODEL_MAGIC "\nhash_bits 20\nthreshold_emergency 0.5\n", "scale_floor");
	expect_refused(TRIAGE_MODEL_MAGIC "\nhash_bits 20\nscale_floor 0\nthreshold_emergency 1.5\n", "threshold_emergency");
	expect_refused(HEAD "weights 2\nbias 0 0 0\n5 1 1 1\n3 1 1 1\nend\n", "line 9: expected \"ID W W W\"");
	expect_refused(HEAD "weights 1\nbias 0 0\n", "bias");
	expect_refused(HEAD "weights 1\nbias 0 0 0\n5 1 1 nan\nend\n", "line 8");
	expect_refused(HEAD "weights 1\nbias 0 0 0\n1048576 1 1 1\nend\n", "below 2^hash_bits");
	expect_refused(HEAD "weights 1\nbias 0 0 0\n5 1 1 1\n", "truncated");
	expect_refused(HEAD "weights 1\nbias 0 0 0\n5 1 1 1\nend\nmore\n", "nothing after");
	good = HEAD "weights 1\nbias 0 0 0\n5 1 1 1\nend\n";
	m = triage_model_load(good, strlen(good), &cause);
	ck_assert_msg(m != NULL, "%s", cause ? cause : "?");
	ck_assert_uint_eq(triage_model_size(m), 1);
	triage_model_free(m);
#undef HEAD

	/* The shipped model loads; cut anywhere, it is refused. */
	text = file_text_read(path, &len);
	m = triage_model_load(text, len, &cause);
	ck_assert_msg(m != NULL, "%s: %s", path, cause ? cause : "?");
	ck_assert_uint_gt(triage_model_size(m), 1000);
	ck_assert_double_gt(triage_model_threshold(m, TRIAGE_EMERGENCY), 0);
	ck_assert_double_le(triage_model_threshold(m, TRIAGE_EMERGENCY), 1);
	triage_model_free(m);
	/* every cut but the final newline's alone ("end" is still whole) */
	for (size_t at = 1; at + 1 < len; at += len / 7) {
		cut = strndup(text, at);
		m = triage_model_load(cut, at, &cause);
		ck_assert_msg(m == NULL, "accepted %s cut at byte %zu", path, at);
		free(cause);
		free(cut);
	}
	free(text);
}
END_TEST

/* A short text is not scaled up to the weight of a long one. */
START_TEST(test_scale)
{
	ck_assert_double_eq_tol(triage_model_scale(4, 0), 0.5, 1e-12);
	ck_assert_double_eq_tol(triage_model_scale(4, 100), 0.1, 1e-12);
	ck_assert_double_eq_tol(triage_model_scale(400, 100), 0.05, 1e-12);
	ck_assert_double_eq(triage_model_scale(0, 0), 0);
}
END_TEST

/*
 * The commonest texts a back-pain line gets - plain pain, no red flag, or
 * red flags denied - must not set off the shipped model (none of these is in
 * the training data).
 */
START_TEST(test_shipped_plain_texts)
{
	static const char *const plain[] = {
		"hey my back really hurts", "my lower back is killing me", "i hurt my back lifting",
		"my back aches", "hello, back pain", "my back is sore after gardening",
		"me duele bastante la espalda", "hola me duele mucho la espalda", "back pain since this morning",
		"tengo dolor de espalda desde ayer",
		/* denied symptoms (round 5: negated words are features of their own) */
		"not dizzy at all, only my back", "i am not throwing up and not dizzy",
		"no chest pain no trouble breathing just back ache",
		"no tengo fiebre ni vomito, solo me duele la espalda", "sin mareos ni nauseas, nomas la espalda",
	};
	static struct triage_features f;
	struct triage_model *m = triage_files_model();
	double p[TRIAGE_MODEL_CLASSES];

	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		triage_model_features(plain[i], strlen(plain[i]), &f);
		ck_assert_msg(triage_model_predict(m, &f, p) != TRIAGE_EMERGENCY,
		    "\"%s\": emergency probability %.3f", plain[i], p[TRIAGE_EMERGENCY]);
	}
	triage_model_free(m);
}
END_TEST

/* Held-out and fold membership depend on the text alone. */
START_TEST(test_splits)
{
	size_t held = 0, n = 5000;
	char buf[32];

	for (size_t i = 0; i < n; i++) {
		snprintf(buf, sizeof buf, "text %zu", i);
		held += triage_model_heldout(buf, strlen(buf));
		ck_assert_uint_lt(triage_model_fold(buf, strlen(buf)), 5);
		ck_assert_int_eq(triage_model_heldout(buf, strlen(buf)), triage_model_heldout(buf, strlen(buf)));
	}
	ck_assert_msg(held > n / 5 - n / 25 && held < n / 5 + n / 25, "held out %zu of %zu", held, n);
}
END_TEST

int
main(void)
{
	const TTest *const tests[] = {
		test_features_normalised,
		test_features_negation,
		test_features_marks,
		test_features_hostile,
		test_model_predict,
		test_combined,
		test_load_refuses,
		test_splits,
		test_scale,
		test_shipped_plain_texts,
	};

	return check_run("triage_model", 60, tests, sizeof tests / sizeof tests[0]);
}
