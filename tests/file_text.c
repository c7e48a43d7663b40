/*
 * file_text.c - reading a whole file for a test. See file_text.h.
 */
#include "file_text.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
file_text_from(FILE *f, const char *path, size_t *len)
{
	char *buf;
	long n;

	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	ck_assert_msg(n >= 0, "cannot size %s", path);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_msg(fread(buf, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

char *
file_text_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");

	ck_assert_msg(f != NULL, "cannot open %s", path);
	return file_text_from(f, path, len);
}

char *
file_text_read_if_any(const char *path)
{
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		ck_assert_msg(errno == ENOENT, "cannot open %s: %s", path, strerror(errno));
		return strdup("");
	}
	return file_text_from(f, path, NULL);
}
