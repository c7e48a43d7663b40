/*
 * unit_helpers.c - helpers several unit tests share. See unit_helpers.h.
 */
#include "unit_helpers.h"

#include <check.h>
#include <stdio.h>
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

char *
unit_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	ck_assert_msg(n >= 0, "cannot size %s", path);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_msg(fread(buf, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

void
unit_assert_refused(bool ok, const char *input, char *cause, const char *want)
{
	ck_assert_msg(!ok, "accepted: %s", input);
	ck_assert_msg(cause != NULL && strstr(cause, want) != NULL, "%s: cause '%s', want '%s'", input,
	    cause ? cause : "(null)", want);
	free(cause);
}
