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

#include "fuzz_data.h"
#include "triage.h"
#include "triage_model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct triage detectors;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *text, *cause = NULL;
	size_t len;

	(void)argc;
	(void)argv;
	detectors.rules = fuzz_data_rules("fuzz_triage_model");
	text = fuzz_data_read("fuzz_triage_model", "TRIAGE_MODEL", &len);
	detectors.model = triage_model_load(text, len, &cause);
	free(text);
	if (detectors.model == NULL) {
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
