/*
 * fuzz_redflag.c - libFuzzer target: the red-flag matcher on any text, with
 * the production phrase data (the file named by REDFLAG_PHRASES).
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_data.h"
#include "redflag.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct redflag_rules *rules;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	rules = fuzz_data_rules("fuzz_redflag");
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
