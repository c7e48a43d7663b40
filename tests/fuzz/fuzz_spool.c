/*
 * fuzz_spool.c - libFuzzer target: the spool reader. A damaged or torn
 * spool must never crash the replay, and the usable prefix it reports must
 * parse again to the same length.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
fuzz_spool_cb(const struct spool_record *rec, size_t end, void *arg)
{
	(void)end;
	(void)arg;
	assert(rec->provider && rec->sid && rec->from && rec->to && rec->body);
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t used = spool_parse((const char *)data, size, fuzz_spool_cb, NULL);

	assert(used <= size);
	assert(spool_parse((const char *)data, used, NULL, NULL) == used);
	return 0;
}
