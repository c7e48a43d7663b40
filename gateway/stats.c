/*
 * stats.c - process-wide counters. See stats.h.
 */
#include "stats.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

struct stats stats;

char *
stats_format(void)
{
	char *out = xstrdup(""), *next;

#define X(field, name, help)                                                            \
	next = xasprintf("%s# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", out, name, help, \
	    name, name, stats.field);                                                       \
	free(out);                                                                          \
	out = next;
	STATS_COUNTER_LIST(X)
#undef X
	return out;
}
