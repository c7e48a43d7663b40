/*
 * metrics_check.c - asserting what the gateway's /metrics says. See
 * metrics_check.h.
 */
#include "metrics_check.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

void
metrics_check_has(int port, const char *const *want)
{
	char *metrics = NULL;

	ck_assert_int_eq(harness_get(port, "/metrics", &metrics), 200);
	for (; *want != NULL; want++)
		ck_assert_msg(strstr(metrics, *want) != NULL, "no %s in /metrics:\n%s", *want, metrics);
	free(metrics);
}
