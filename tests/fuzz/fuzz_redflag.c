/*
 * fuzz_redflag.c - libFuzzer target: the red-flag matcher on any text, with
 * the production phrase data (the file named by REDFLAG_PHRASES).
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redflag.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct redflag_rules *rules;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("REDFLAG_PHRASES");
	char *text, *cause = NULL;
	FILE *f;
	long n;

	(void)argc;
	(void)argv;
	f = path ? fopen(path, "rb") : NULL;
	if (f == NULL) {
		fprintf(stderr, "fuzz_redflag: set REDFLAG_PHRASES to sql/triage/phrases.json\n");
		abort();
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc((size_t)n + 1);
	if (fread(text, 1, (size_t)n, f) != (size_t)n)
		abort();
	fclose(f);
	rules = redflag_rules_load(text, (size_t)n, &cause);
	if (rules == NULL) {
		fprintf(stderr, "fuzz_redflag: %s\n", cause);
		abort();
	}
	free(text);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct redflag_result res;

	redflag_scan(rules, (const char *)data, size, &res);
	assert(res.level == TRIAGE_NONE || res.level == TRIAGE_SEE_DOCTOR || res.level == TRIAGE_EMERGENCY);
	assert(res.nreasons <= REDFLAG_MAX_REASONS);
	assert(strlen(res.matched) < sizeof res.matched);
	return 0;
}
