/*
 * fuzz_flow.c - libFuzzer target: the flow-JSON loader, and the engine on
 * whatever flow loads (one step with the input's tail as the patient text).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cause = NULL;
	struct flow *flow = flow_load((const char *)data, size, &cause);
	struct engine_input in = { 0 };
	struct engine_result res;

	if (flow == NULL) {
		assert(cause != NULL);
		free(cause);
		return 0;
	}
	in.text = "no";
	in.len = 2;
	in.now_ms = 1795737600000LL;
	in.idle_reset_ms = 86400000LL;
	in.detected_lang = "en";
	engine_step(flow, NULL, &in, &res);
	engine_result_free(&res);
	flow_free(flow);
	return 0;
}
