/*
 * unit_helpers.c - helpers several unit tests share. See unit_helpers.h.
 */
#include "unit_helpers.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const char *const *unit_env;

void
unit_env_set(const char *const *env)
{
	unit_env = env;
}

const char *
unit_env_get(const char *name)
{
	for (const char *const *p = unit_env; *p != NULL; p += 2) {
		if (strcmp(p[0], name) == 0)
			return p[1];
	}
	return NULL;
}

void
unit_assert_refused(bool ok, const char *input, char *cause, const char *want)
{
	ck_assert_msg(!ok, "accepted: %s", input);
	ck_assert_msg(cause != NULL && strstr(cause, want) != NULL, "%s: cause '%s', want '%s'", input,
	    cause ? cause : "(null)", want);
	free(cause);
}

void
unit_assert_yes_no(bool (*pred)(const char *), const char *name, const char *const *yes,
    const char *const *no)
{
	for (; *yes != NULL; yes++)
		ck_assert_msg(pred(*yes), "%s(\"%s\") is false, want true", name, *yes);
	for (; *no != NULL; no++)
		ck_assert_msg(!pred(*no), "%s(\"%s\") is true, want false", name, *no);
}
