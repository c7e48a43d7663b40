/*
 * triage_train.c - liblinear training of the text model. See triage_train.h.
 *
 * DESIGN. Determinism: examples are used in the order given (cli_triage.c
 * sorts the files), splits come from a hash of each text, the solver is
 * liblinear's L2R_LR (trust-region Newton: no random numbers), and numbers
 * are printed with fixed formats; so the same data gives the same file.
 *
 * Vocabulary: a hash bucket becomes a model feature when at least
 * TT_MIN_DF training texts have it; rarer ones (typos seen once) are left
 * out of training and, having no weight, out of prediction too.
 *
 * Thresholds: every training text gets an out-of-fold probability from a
 * model trained on the other four folds. The emergency threshold is the
 * lowest that keeps the model's OWN false alarms within budget - at most
 * TT_NONE_TO_ER of "none" texts and TT_SD_TO_ER of "see_doctor" texts
 * called emergency - placed halfway between the highest tolerated
 * non-emergency probability and the next emergency text above it. The
 * see_doctor threshold likewise keeps all of the model's alarms on "none"
 * texts within TT_NONE_TO_ANY. The budgets are the model's alone, so a
 * change of phrase rules needs no retraining; the combined false-alarm rate
 * is at most the rules' plus the model's.
 */
#include "triage_train.h"

#include <linear.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "triage_model.h"
#include "xmalloc.h"

#define TT_FOLDS 5
#define TT_MIN_DF 2
#define TT_C 16.0
#define TT_EPS 0.01
#define TT_NONE_TO_ER 0.01   /* share of "none" texts the model may call emergency */
#define TT_SD_TO_ER 0.02     /* share of "see_doctor" texts it may call emergency */
#define TT_NONE_TO_ANY 0.02  /* share of "none" texts it may raise at all */
#define TT_MIN_PER_LEVEL 5   /* training texts needed per level */

/* One example's features, compact. */
struct tt_doc {
	uint32_t *id;      /* owned, ascending */
	float *count;      /* owned */
	size_t n;
	enum triage_level level;
	unsigned fold;
	bool es;
	size_t ex;         /* index into the examples */
};

struct tt_buf {
	char *s;
	size_t len, cap;
};

static void CN_PRINTF(2, 3)
tt_printf(struct tt_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 64;
		b->s = xrealloc(b->s, b->cap);
	}
}

static void
tt_quiet(const char *s)
{
	(void)s;
}

static int
tt_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
tt_double_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x > y ? -1 : x < y;
}

/* Buckets seen in at least TT_MIN_DF of the selected docs, ascending. */
static uint32_t *
tt_vocab(const struct tt_doc *d, size_t nd, int skip_fold, size_t *nv)
{
	size_t total = 0, k = 0, n = 0, i, j;
	uint32_t *all, *v;

	for (i = 0; i < nd; i++)
		total += (int)d[i].fold == skip_fold ? 0 : d[i].n;
	all = xcalloc(total + 1, sizeof *all);
	for (i = 0; i < nd; i++) {
		if ((int)d[i].fold == skip_fold)
			continue;
		memcpy(all + k, d[i].id, d[i].n * sizeof *all);  /* unique within a doc */
		k += d[i].n;
	}
	qsort(all, total, sizeof *all, tt_u32_cmp);
	v = xcalloc(total + 1, sizeof *v);
	for (i = 0; i < total; i = j) {
		for (j = i; j < total && all[j] == all[i]; j++)
			;
		if (j - i >= TT_MIN_DF)
			v[n++] = all[i];
	}
	free(all);
	*nv = n;
	return v;
}

/*
 * Trains on every doc outside skip_fold (-1: all) and returns the model
 * text with the given thresholds and header comments.
 */
static char *
tt_train_text(const struct tt_doc *d, size_t nd, int skip_fold, double t_er, double t_sd,
    const char *comments, char **cause)
{
	struct problem prob = { 0 };
	struct parameter param = { 0 };
	struct model *model;
	struct feature_node *nodes, *x;
	uint32_t *vocab, *hit;
	size_t nv, l = 0, nnodes = 0, i, j;
	int cls[TRIAGE_MODEL_CLASSES];
	struct tt_buf b = { NULL, 0, 0 };
	const char *err;
	double norm;

	vocab = tt_vocab(d, nd, skip_fold, &nv);
	for (i = 0; i < nd; i++) {
		if ((int)d[i].fold != skip_fold) {
			l++;
			nnodes += d[i].n + 2;
		}
	}
	prob.l = (int)l;
	prob.n = (int)nv + 1;  /* + the bias feature */
	prob.bias = 1.0;
	prob.y = xcalloc(l, sizeof *prob.y);
	prob.x = xcalloc(l, sizeof *prob.x);
	nodes = xcalloc(nnodes, sizeof *nodes);
	x = nodes;
	l = 0;
	for (i = 0; i < nd; i++) {
		if ((int)d[i].fold == skip_fold)
			continue;
		prob.y[l] = (double)d[i].level;
		prob.x[l++] = x;
		norm = 0;
		for (j = 0; j < d[i].n; j++) {
			if (bsearch(&d[i].id[j], vocab, nv, sizeof *vocab, tt_u32_cmp) != NULL)
				norm += (double)d[i].count[j] * d[i].count[j];
		}
		norm = triage_model_scale(norm, TRIAGE_SCALE_FLOOR);
		for (j = 0; j < d[i].n; j++) {
			hit = bsearch(&d[i].id[j], vocab, nv, sizeof *vocab, tt_u32_cmp);
			if (hit == NULL)
				continue;
			x->index = (int)(hit - vocab) + 1;
			x->value = d[i].count[j] * norm;
			x++;
		}
		x->index = (int)nv + 1;
		x->value = prob.bias;
		x++;
		x->index = -1;
		x++;
	}
	param.solver_type = L2R_LR;
	param.C = TT_C;
	param.eps = TT_EPS;
	set_print_string_function(tt_quiet);
	if ((err = check_parameter(&prob, &param)) != NULL) {
		*cause = xasprintf("liblinear: %s", err);
		model = NULL;
		goto out;
	}
	model = train(&prob, &param);
	if (get_nr_class(model) != TRIAGE_MODEL_CLASSES) {
		*cause = xasprintf("the training texts hold %d levels, need all %d", get_nr_class(model),
		    TRIAGE_MODEL_CLASSES);
		goto out;
	}
	for (int k = 0; k < TRIAGE_MODEL_CLASSES; k++) {
		for (int c = 0; c < TRIAGE_MODEL_CLASSES; c++) {
			if (model->label[c] == k)
				cls[k] = c;
		}
	}
	tt_printf(&b, "%s\n%s", TRIAGE_MODEL_MAGIC, comments);
	tt_printf(&b, "hash_bits %d\nscale_floor %d\nthreshold_emergency %.4f\nthreshold_see_doctor %.4f\n"
	    "weights %zu\n", TRIAGE_HASH_BITS, TRIAGE_SCALE_FLOOR, t_er, t_sd, nv);
	tt_printf(&b, "bias %.6g %.6g %.6g\n", get_decfun_bias(model, cls[0]), get_decfun_bias(model, cls[1]),
	    get_decfun_bias(model, cls[2]));
	for (i = 0; i < nv; i++) {
		tt_printf(&b, "%u %.6g %.6g %.6g\n", vocab[i], get_decfun_coef(model, (int)i + 1, cls[0]),
		    get_decfun_coef(model, (int)i + 1, cls[1]), get_decfun_coef(model, (int)i + 1, cls[2]));
	}
	tt_printf(&b, "end\n");
out:
	if (model != NULL)
		free_and_destroy_model(&model);
	free(vocab);
	free(nodes);
	free(prob.x);
	free(prob.y);
	return b.s;
}

/*
 * The lowest threshold on score[] that lets at most budget of the negatives
 * reach it: halfway between the highest tolerated negative score and the
 * next positive above it (1.0 when no positive is above: never fire).
 */
static double
tt_threshold(const double *neg, size_t nneg, const double *pos, size_t npos, size_t budget)
{
	double *s = xcalloc(nneg + 1, sizeof *s), floor_v, best = 2.0;

	memcpy(s, neg, nneg * sizeof *s);
	qsort(s, nneg, sizeof *s, tt_double_desc);
	floor_v = budget < nneg ? s[budget] : 0.0;
	free(s);
	for (size_t i = 0; i < npos; i++) {
		if (pos[i] > floor_v && pos[i] < best)
			best = pos[i];
	}
	if (best > 1.0)
		return 1.0;
	return (floor_v + best) / 2;
}

static double
tt_ratio(size_t a, size_t b)
{
	return b == 0 ? 0.0 : (double)a / (double)b;
}

char *
triage_train(const struct triage_example *ex, size_t n, char **summary, char **cause)
{
	struct triage_features *f = xmalloc(sizeof *f);
	struct tt_doc *d = xcalloc(n + 1, sizeof *d);
	size_t nd = 0, held = 0, count[2][TRIAGE_MODEL_CLASSES] = { { 0 } };
	double (*p)[TRIAGE_MODEL_CLASSES], *neg, *pos, t_er, t_sd;
	size_t nneg, npos, i, k;
	size_t hit[2][TRIAGE_MODEL_CLASSES][TRIAGE_MODEL_CLASSES] = { { { 0 } } };
	struct triage_model *m;
	struct tt_buf com = { NULL, 0, 0 }, sum = { NULL, 0, 0 };
	char *text = NULL;

	*summary = NULL;
	*cause = NULL;
	for (i = 0; i < n; i++) {
		size_t len = strlen(ex[i].text);

		if (triage_model_heldout(ex[i].text, len)) {
			held++;
			continue;
		}
		triage_model_features(ex[i].text, len, f);
		d[nd].id = xcalloc(f->n + 1, sizeof *d[nd].id);
		d[nd].count = xcalloc(f->n + 1, sizeof *d[nd].count);
		memcpy(d[nd].id, f->id, f->n * sizeof *f->id);
		memcpy(d[nd].count, f->count, f->n * sizeof *f->count);
		d[nd].n = f->n;
		d[nd].level = ex[i].level;
		d[nd].fold = triage_model_fold(ex[i].text, len);
		d[nd].es = ex[i].language != NULL && strcmp(ex[i].language, "es") == 0;
		d[nd].ex = i;
		count[d[nd].es][d[nd].level]++;
		nd++;
	}
	for (k = 0; k < TRIAGE_MODEL_CLASSES; k++) {
		if (count[0][k] + count[1][k] < TT_MIN_PER_LEVEL) {
			*cause = xasprintf("only %zu training texts labelled %s; need at least %d",
			    count[0][k] + count[1][k], triage_level_name((enum triage_level)k), TT_MIN_PER_LEVEL);
			goto out;
		}
	}

	/* Out-of-fold probabilities. */
	p = xcalloc(nd + 1, sizeof *p);
	for (unsigned fold = 0; fold < TT_FOLDS; fold++) {
		char *mt = tt_train_text(d, nd, (int)fold, 0.5, 0.5, "", cause);

		if (mt == NULL)
			goto out_p;
		m = triage_model_load(mt, strlen(mt), cause);
		free(mt);
		if (m == NULL)
			goto out_p;
		for (i = 0; i < nd; i++) {
			if (d[i].fold != fold)
				continue;
			triage_model_features(ex[d[i].ex].text, strlen(ex[d[i].ex].text), f);
			(void)triage_model_predict(m, f, p[i]);
		}
		triage_model_free(m);
	}

	/* Thresholds (see DESIGN). */
	neg = xcalloc(nd + 1, sizeof *neg);
	pos = xcalloc(nd + 1, sizeof *pos);
	nneg = npos = 0;
	for (i = 0; i < nd; i++) {
		if (d[i].level == TRIAGE_EMERGENCY)
			pos[npos++] = p[i][TRIAGE_EMERGENCY];
	}
	{
		size_t nnone = count[0][TRIAGE_NONE] + count[1][TRIAGE_NONE];
		size_t nsd = count[0][TRIAGE_SEE_DOCTOR] + count[1][TRIAGE_SEE_DOCTOR];
		double t_none, t_sdoc;

		for (i = 0; i < nd; i++) {
			if (d[i].level == TRIAGE_NONE)
				neg[nneg++] = p[i][TRIAGE_EMERGENCY];
		}
		t_none = tt_threshold(neg, nneg, pos, npos, (size_t)floor(TT_NONE_TO_ER * (double)nnone));
		nneg = 0;
		for (i = 0; i < nd; i++) {
			if (d[i].level == TRIAGE_SEE_DOCTOR)
				neg[nneg++] = p[i][TRIAGE_EMERGENCY];
		}
		t_sdoc = tt_threshold(neg, nneg, pos, npos, (size_t)floor(TT_SD_TO_ER * (double)nsd));
		t_er = t_none > t_sdoc ? t_none : t_sdoc;

		/* see_doctor: the none texts not already called emergency share what is left. */
		size_t used = 0, budget;

		nneg = npos = 0;
		for (i = 0; i < nd; i++) {
			if (p[i][TRIAGE_EMERGENCY] >= t_er) {
				used += d[i].level == TRIAGE_NONE;
				continue;
			}
			if (d[i].level == TRIAGE_NONE)
				neg[nneg++] = p[i][TRIAGE_SEE_DOCTOR];
			else if (d[i].level == TRIAGE_SEE_DOCTOR)
				pos[npos++] = p[i][TRIAGE_SEE_DOCTOR];
		}
		budget = (size_t)floor(TT_NONE_TO_ANY * (double)nnone);
		budget = budget > used ? budget - used : 0;
		t_sd = tt_threshold(neg, nneg, pos, npos, budget);
	}
	free(neg);
	free(pos);

	/* Cross-validated figures of the model alone at these thresholds. */
	for (i = 0; i < nd; i++) {
		enum triage_level got = p[i][TRIAGE_EMERGENCY] >= t_er ? TRIAGE_EMERGENCY :
		    p[i][TRIAGE_SEE_DOCTOR] >= t_sd ? TRIAGE_SEE_DOCTOR : TRIAGE_NONE;

		hit[d[i].es][d[i].level][got]++;
	}
	tt_printf(&com, "# carenav triage text model: one-vs-rest logistic regression (liblinear L2R_LR, C=%g, eps=%g)\n"
	    "# features: word unigrams, word bigrams within a sentence, character 3-5-grams in words,\n"
	    "#   over redflag.c's normalised words, words within 5 after a negation (\"not\", \"sin\") kept apart,\n"
	    "#   a second feature for each word of a sentence that says something is over (\"it passed\"),\n"
	    "#   the band of a body temperature (normal / fever; a whole number with no fever,\n"
	    "#   thermometer or unit word in the message is one bare-number feature; fever words\n"
	    "#   in a message whose readings are all normal count as denied),\n"
	    "#   hashed into 2^%d buckets; kept when in >= %d texts;\n"
	    "#   counts scaled to unit length, short texts less (scale_floor)\n"
	    "# written by: carenav triage train (see docs/clinical-content.md); do not edit by hand\n"
	    "# trained on %zu texts (%zu more held out for check_triage_eval)\n",
	    TT_C, TT_EPS, TRIAGE_HASH_BITS, TT_MIN_DF, nd, held);
	tt_printf(&sum, "trained on %zu texts, %zu held out\n", nd, held);
	tt_printf(&com, "# thresholds from %d-fold cross-validation: model alone may call at most %g of none and "
	    "%g of see_doctor texts emergency, and raise at most %g of none texts\n",
	    TT_FOLDS, TT_NONE_TO_ER, TT_SD_TO_ER, TT_NONE_TO_ANY);
	tt_printf(&sum, "threshold_emergency %.4f, threshold_see_doctor %.4f\n", t_er, t_sd);
	for (int es = 0; es < 2; es++) {
		size_t *c = count[es];
		size_t (*h)[TRIAGE_MODEL_CLASSES] = hit[es];
		char line[400];

		snprintf(line, sizeof line, "%s: emergency recall %.3f (%zu/%zu), see_doctor recall %.3f (%zu/%zu), "
		    "none false alarms %.3f (%zu/%zu)", es ? "es" : "en",
		    tt_ratio(h[TRIAGE_EMERGENCY][TRIAGE_EMERGENCY], c[TRIAGE_EMERGENCY]),
		    h[TRIAGE_EMERGENCY][TRIAGE_EMERGENCY], c[TRIAGE_EMERGENCY],
		    tt_ratio(h[TRIAGE_SEE_DOCTOR][TRIAGE_SEE_DOCTOR], c[TRIAGE_SEE_DOCTOR]),
		    h[TRIAGE_SEE_DOCTOR][TRIAGE_SEE_DOCTOR], c[TRIAGE_SEE_DOCTOR],
		    tt_ratio(c[TRIAGE_NONE] - h[TRIAGE_NONE][TRIAGE_NONE], c[TRIAGE_NONE]),
		    c[TRIAGE_NONE] - h[TRIAGE_NONE][TRIAGE_NONE], c[TRIAGE_NONE]);
		tt_printf(&com, "# cross-validated, model alone, %s\n", line);
		tt_printf(&sum, "cross-validated, model alone, %s\n", line);
	}
	text = tt_train_text(d, nd, -1, t_er, t_sd, com.s, cause);
	if (text != NULL)
		*summary = sum.s;
	else
		free(sum.s);
	free(com.s);
out_p:
	free(p);
out:
	for (i = 0; i < nd; i++) {
		free(d[i].id);
		free(d[i].count);
	}
	free(d);
	free(f);
	return text;
}
