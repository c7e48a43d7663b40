/*
 * fuzz_form.c - libFuzzer target: the webhook form parser and encoder.
 * Any input must parse or be refused with a cause; whatever parses must
 * survive an encode/parse round trip unchanged.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form f, g;
	char *cause = NULL, *enc;
	const char **kv;

	if (!form_parse((const char *)data, size, &f, &cause)) {
		assert(cause != NULL);
		free(cause);
		return 0;
	}
	kv = calloc(2 * f.npairs + 1, sizeof *kv);
	for (size_t i = 0; i < f.npairs; i++) {
		kv[2 * i] = f.pairs[i].name;
		kv[2 * i + 1] = f.pairs[i].value;
	}
	enc = form_encode(kv, f.npairs);
	assert(form_parse(enc, strlen(enc), &g, &cause));
	assert(g.npairs == f.npairs);
	for (size_t i = 0; i < f.npairs; i++) {
		assert(strcmp(f.pairs[i].name, g.pairs[i].name) == 0);
		assert(strcmp(f.pairs[i].value, g.pairs[i].value) == 0);
	}
	form_free(&g);
	form_free(&f);
	free(enc);
	free(kv);
	return 0;
}
