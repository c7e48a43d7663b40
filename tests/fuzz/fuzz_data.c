/*
 * fuzz_data.c - a fuzz target's data files. See fuzz_data.h.
 */
#include "fuzz_data.h"

#include <stdio.h>
#include <stdlib.h>

char *
fuzz_data_read(const char *target, const char *env, size_t *len)
{
	const char *path = getenv(env);
	FILE *f = path ? fopen(path, "rb") : NULL;
	char *text;
	long n;

	if (f == NULL) {
		fprintf(stderr, "%s: set %s to a readable file\n", target, env);
		abort();
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc((size_t)n + 1);
	if (n < 0 || text == NULL || fread(text, 1, (size_t)n, f) != (size_t)n)
		abort();
	fclose(f);
	text[n] = '\0';
	*len = (size_t)n;
	return text;
}

struct redflag_rules *
fuzz_data_rules(const char *target)
{
	char *cause = NULL;
	size_t len;
	char *text = fuzz_data_read(target, "REDFLAG_PHRASES", &len);
	struct redflag_rules *rules = redflag_rules_load(text, len, &cause);

	if (rules == NULL) {
		fprintf(stderr, "%s: %s\n", target, cause);
		abort();
	}
	free(text);
	return rules;
}
