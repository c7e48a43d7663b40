/*
 * fuzz_triage_model.c - libFuzzer target: the text model's file parser on
 * any bytes, and both detectors (rules + the shipped model, the files named
 * by REDFLAG_PHRASES and TRIAGE_MODEL) on any text.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "triage.h"
#include "triage_model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct triage detectors;

static char *
fuzz_read(const char *env, size_t *len)
{
	const char *path = getenv(env);
	FILE *f = path ? fopen(path, "rb") : NULL;
	char *text;
	long n;

	if (f == NULL) {
		fprintf(stderr, "fuzz_triage_model: set %s\n", env);
		abort();
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc((size_t)n + 1);
	if (fread(text, 1, (size_t)n, f) != (size_t)n)
		abort();
	fclose(f);
	*len = (size_t)n;
	return text;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *text, *cause = NULL;
	size_t len;

	(void)argc;
	(void)argv;
	text = fuzz_read("REDFLAG_PHRASES", &len);
	detectors.rules = redflag_rules_load(text, len, &cause);
	free(text);
	text = fuzz_read("TRIAGE_MODEL", &len);
	detectors.model = triage_model_load(text, len, &cause);
	free(text);
	if (detectors.rules == NULL || detectors.model == NULL) {
		fprintf(stderr, "fuzz_triage_model: %s\n", cause);
		abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct triage_model *m;
	struct triage_result res;
	char *cause = NULL;

	m = triage_model_load((const char *)data, size, &cause);
	assert((m == NULL) != (cause == NULL));
	triage_model_free(m);
	free(cause);
	triage_scan(&detectors, (const char *)data, size, &res);
	assert(res.level >= TRIAGE_NONE && res.level <= TRIAGE_EMERGENCY);
	assert(res.nreasons <= REDFLAG_MAX_REASONS + 1);
	assert(res.p_emergency >= 0 && res.p_emergency <= 1);
	assert((res.detector == TRIAGE_BY_NONE) == (res.level == TRIAGE_NONE));
	return 0;
}
